
/*
 * Fine-tuning gateway: Idempotency-Key on create, in shared memory.
 *
 * The first create with a key (per client) goes to the vendor; its answer
 * is kept for 24 hours and replayed to every retry with that key, so a
 * client that retries after a timeout gets its job, not a second paid
 * one.  A retry that comes while the first is still at the vendor finds
 * the key locked and waits for it (the handler polls), so concurrent
 * retries make one vendor job too.  Every worker sees one store.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_ftgw_module.h"


#define NGX_HTTP_FTGW_IDEM_TTL      86400     /* s: a kept answer */
#define NGX_HTTP_FTGW_IDEM_LOCK     300       /* s: a create in flight */


typedef struct {
    ngx_rbtree_node_t            node;       /* key: the digest's start */
    ngx_queue_t                  queue;      /* oldest first */
    u_char                       key[32];    /* SHA-256(client, key) */
    u_char                       body[32];   /* SHA-256(request body) */
    time_t                       expires;
    ngx_uint_t                   done;
    ngx_uint_t                   status;
    size_t                       len;
    u_char                      *answer;
} ngx_http_ftgw_idem_node_t;


typedef struct {
    ngx_rbtree_t                 rbtree;
    ngx_rbtree_node_t            sentinel;
    ngx_queue_t                  queue;
} ngx_http_ftgw_idem_sh_t;


typedef struct {
    ngx_http_ftgw_idem_sh_t     *sh;
    ngx_slab_pool_t             *shpool;
} ngx_http_ftgw_idem_zone_t;


static ngx_int_t ngx_http_ftgw_idem_init(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_http_ftgw_idem_node_t *ngx_http_ftgw_idem_find(
    ngx_http_ftgw_idem_zone_t *z, u_char *key);
static void ngx_http_ftgw_idem_free(ngx_http_ftgw_idem_zone_t *z,
    ngx_http_ftgw_idem_node_t *n);
static void ngx_http_ftgw_idem_expire(ngx_http_ftgw_idem_zone_t *z,
    ngx_uint_t all);
static void *ngx_http_ftgw_idem_alloc(ngx_http_ftgw_idem_zone_t *z,
    size_t size);


static ngx_str_t  ngx_http_ftgw_idem_name = ngx_string("ftgw_idempotency");


ngx_int_t
ngx_http_ftgw_idem_add(ngx_conf_t *cf, ngx_http_ftgw_main_conf_t *fmcf)
{
    ngx_http_ftgw_idem_zone_t  *z;

    if (fmcf->idem_size == NGX_CONF_UNSET_SIZE) {
        fmcf->idem_size = 4 * 1024 * 1024;
    }

    z = ngx_pcalloc(cf->pool, sizeof(ngx_http_ftgw_idem_zone_t));
    if (z == NULL) {
        return NGX_ERROR;
    }

    fmcf->idem = ngx_shared_memory_add(cf, &ngx_http_ftgw_idem_name,
                                       fmcf->idem_size,
                                       &ngx_http_ftgw_module);
    if (fmcf->idem == NULL) {
        return NGX_ERROR;
    }

    fmcf->idem->init = ngx_http_ftgw_idem_init;
    fmcf->idem->data = z;

    return NGX_OK;
}


static ngx_int_t
ngx_http_ftgw_idem_init(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_ftgw_idem_zone_t  *octx = data;

    ngx_http_ftgw_idem_zone_t  *z;

    z = shm_zone->data;

    /* a reload keeps the kept answers */
    if (octx != NULL) {
        z->sh = octx->sh;
        z->shpool = octx->shpool;
        return NGX_OK;
    }

    z->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        z->sh = z->shpool->data;
        return NGX_OK;
    }

    z->sh = ngx_slab_alloc(z->shpool, sizeof(ngx_http_ftgw_idem_sh_t));
    if (z->sh == NULL) {
        return NGX_ERROR;
    }

    z->shpool->data = z->sh;

    ngx_rbtree_init(&z->sh->rbtree, &z->sh->sentinel,
                    ngx_rbtree_insert_value);
    ngx_queue_init(&z->sh->queue);

    z->shpool->log_nomem = 0;

    return NGX_OK;
}


/*
 * The state of ctx's key: NGX_OK (the key is this request's, locked: go
 * to the vendor), NGX_DONE (the kept answer was replayed into the
 * exchange), NGX_BUSY (another request holds the key: wait), NGX_DECLINED
 * (the key was used with another body: the exchange answered 400).
 */
ngx_int_t
ngx_http_ftgw_idem_check(ngx_http_request_t *r, ngx_http_ftgw_ctx_t *ctx)
{
    u_char                     *copy;
    size_t                      len;
    ngx_uint_t                  status;
    ngx_http_ftgw_idem_node_t  *n;
    ngx_http_ftgw_idem_zone_t  *z;
    ngx_http_ftgw_main_conf_t  *fmcf;

    fmcf = ngx_http_get_module_main_conf(r, ngx_http_ftgw_module);
    z = fmcf->idem->data;

    ngx_shmtx_lock(&z->shpool->mutex);

    ngx_http_ftgw_idem_expire(z, 0);

    n = ngx_http_ftgw_idem_find(z, ctx->idem_key);

    if (n == NULL) {
        n = ngx_http_ftgw_idem_alloc(z, sizeof(ngx_http_ftgw_idem_node_t));

        if (n == NULL) {
            ngx_shmtx_unlock(&z->shpool->mutex);
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "ftgw: the idempotency zone is full: this create "
                          "goes on without its key's protection");
            return NGX_OK;
        }

        ngx_memcpy(n->key, ctx->idem_key, 32);
        ngx_memcpy(n->body, ctx->idem_body, 32);
        ngx_memcpy(&n->node.key, n->key, sizeof(ngx_rbtree_key_t));
        n->expires = ngx_time() + NGX_HTTP_FTGW_IDEM_LOCK;
        n->done = 0;
        n->answer = NULL;
        n->len = 0;

        ngx_rbtree_insert(&z->sh->rbtree, &n->node);
        ngx_queue_insert_tail(&z->sh->queue, &n->queue);

        ngx_shmtx_unlock(&z->shpool->mutex);

        ctx->idem_owner = 1;
        return NGX_OK;
    }

    if (ngx_memcmp(n->body, ctx->idem_body, 32) != 0) {
        ngx_shmtx_unlock(&z->shpool->mutex);
        gw_exchange_key_reused(ctx->exchange);
        return NGX_DECLINED;
    }

    if (!n->done) {
        ngx_shmtx_unlock(&z->shpool->mutex);
        return NGX_BUSY;
    }

    /* copied out under the lock, replayed after it */
    status = n->status;
    len = n->len;
    copy = ngx_pnalloc(r->pool, len + 1);

    if (copy != NULL) {
        ngx_memcpy(copy, n->answer, len);
    }

    ngx_shmtx_unlock(&z->shpool->mutex);

    if (copy == NULL) {
        return NGX_ERROR;
    }

    gw_exchange_replay(ctx->exchange, (int) status, (const char *) copy,
                       len);

    return NGX_DONE;
}


/* the owner's answer: kept for the key's retries, or the key released */
void
ngx_http_ftgw_idem_finish(ngx_http_request_t *r, ngx_http_ftgw_ctx_t *ctx,
    const gw_result_t *res)
{
    u_char                     *answer;
    ngx_http_ftgw_idem_node_t  *n;
    ngx_http_ftgw_idem_zone_t  *z;
    ngx_http_ftgw_main_conf_t  *fmcf;

    if (!ctx->idem_owner) {
        return;
    }

    ctx->idem_owner = 0;

    fmcf = ngx_http_get_module_main_conf(r, ngx_http_ftgw_module);
    z = fmcf->idem->data;

    ngx_shmtx_lock(&z->shpool->mutex);

    n = ngx_http_ftgw_idem_find(z, ctx->idem_key);

    if (n == NULL || n->done) {
        ngx_shmtx_unlock(&z->shpool->mutex);
        return;
    }

    answer = NULL;

    if (gw_result_kept(res) && res->body != NULL) {
        answer = ngx_http_ftgw_idem_alloc(z, res->body_len ? res->body_len
                                                           : 1);
    }

    if (answer == NULL) {
        /* nothing to replay: the next retry goes to the vendor again */
        ngx_http_ftgw_idem_free(z, n);
        ngx_shmtx_unlock(&z->shpool->mutex);
        return;
    }

    ngx_memcpy(answer, res->body, res->body_len);

    n->answer = answer;
    n->len = res->body_len;
    n->status = res->http_status;
    n->done = 1;
    n->expires = ngx_time() + NGX_HTTP_FTGW_IDEM_TTL;

    /* the queue stays in expiry order: kept answers are the newest */
    ngx_queue_remove(&n->queue);
    ngx_queue_insert_tail(&z->sh->queue, &n->queue);

    ngx_shmtx_unlock(&z->shpool->mutex);
}


/* a request that ends before its answer (the client went away) */
void
ngx_http_ftgw_idem_abandon(ngx_http_ftgw_ctx_t *ctx,
    ngx_http_ftgw_main_conf_t *fmcf)
{
    ngx_http_ftgw_idem_node_t  *n;
    ngx_http_ftgw_idem_zone_t  *z;

    if (!ctx->idem_owner) {
        return;
    }

    ctx->idem_owner = 0;
    z = fmcf->idem->data;

    ngx_shmtx_lock(&z->shpool->mutex);

    n = ngx_http_ftgw_idem_find(z, ctx->idem_key);

    if (n != NULL && !n->done) {
        ngx_http_ftgw_idem_free(z, n);
    }

    ngx_shmtx_unlock(&z->shpool->mutex);
}


/* under the lock; an expired node counts as absent, and goes */
static ngx_http_ftgw_idem_node_t *
ngx_http_ftgw_idem_find(ngx_http_ftgw_idem_zone_t *z, u_char *key)
{
    ngx_rbtree_key_t            k;
    ngx_rbtree_node_t          *node, *sentinel;
    ngx_http_ftgw_idem_node_t  *n;

    ngx_memcpy(&k, key, sizeof(ngx_rbtree_key_t));

    node = z->sh->rbtree.root;
    sentinel = z->sh->rbtree.sentinel;

    while (node != sentinel) {

        if (k != node->key) {
            node = (k < node->key) ? node->left : node->right;
            continue;
        }

        n = (ngx_http_ftgw_idem_node_t *) node;

        if (ngx_memcmp(n->key, key, 32) == 0) {
            if (n->expires <= ngx_time()) {
                ngx_http_ftgw_idem_free(z, n);
                return NULL;
            }

            return n;
        }

        /* equal start, another digest: the tree keeps them right */
        node = node->right;
    }

    return NULL;
}


static void
ngx_http_ftgw_idem_free(ngx_http_ftgw_idem_zone_t *z,
    ngx_http_ftgw_idem_node_t *n)
{
    ngx_rbtree_delete(&z->sh->rbtree, &n->node);
    ngx_queue_remove(&n->queue);

    if (n->answer != NULL) {
        ngx_slab_free_locked(z->shpool, n->answer);
    }

    ngx_slab_free_locked(z->shpool, n);
}


/* the expired from the oldest; all: also the oldest kept, to make room */
static void
ngx_http_ftgw_idem_expire(ngx_http_ftgw_idem_zone_t *z, ngx_uint_t all)
{
    ngx_uint_t                  i;
    ngx_queue_t                *q;
    ngx_http_ftgw_idem_node_t  *n;

    for (i = 0; i < 64 && !ngx_queue_empty(&z->sh->queue); i++) {
        q = ngx_queue_head(&z->sh->queue);
        n = ngx_queue_data(q, ngx_http_ftgw_idem_node_t, queue);

        /* a create in flight keeps its lock until it ends or expires */
        if (n->expires > ngx_time() && (!all || !n->done)) {
            return;
        }

        ngx_http_ftgw_idem_free(z, n);
    }
}


static void *
ngx_http_ftgw_idem_alloc(ngx_http_ftgw_idem_zone_t *z, size_t size)
{
    void  *p;

    p = ngx_slab_alloc_locked(z->shpool, size);

    if (p == NULL) {
        ngx_http_ftgw_idem_expire(z, 1);
        p = ngx_slab_alloc_locked(z->shpool, size);
    }

    return p;
}
