
/*
 * Fine-tuning gateway: exchanged credentials (Yandex IAM tokens) in
 * shared memory, so that every worker uses one token and the exchange
 * happens once per token lifetime, not once per request or per worker.
 *
 * A token is used until its refresh time; after that, one caller at a
 * time is sent to fetch a new one while the others keep the old token,
 * which is still valid until it expires.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_ftgw_module.h"


#define NGX_HTTP_FTGW_TOKENS        32
#define NGX_HTTP_FTGW_TOKEN_KEY     96
#define NGX_HTTP_FTGW_TOKEN_VALUE   2048
/* how long one refreshing caller has before another is sent */
#define NGX_HTTP_FTGW_REFRESH_MS    10000


typedef struct {
    u_char                       key[NGX_HTTP_FTGW_TOKEN_KEY];
    u_char                       value[NGX_HTTP_FTGW_TOKEN_VALUE];
    int64_t                      refresh_at;
    int64_t                      expires_at;
    int64_t                      refreshing_until;
} ngx_http_ftgw_token_t;


typedef struct {
    ngx_http_ftgw_token_t        tokens[NGX_HTTP_FTGW_TOKENS];
} ngx_http_ftgw_tokens_sh_t;


static ngx_int_t ngx_http_ftgw_tokens_init(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_http_ftgw_token_t *ngx_http_ftgw_tokens_find(
    ngx_http_ftgw_tokens_sh_t *sh, const char *key, ngx_uint_t create);
static int ngx_http_ftgw_tokens_get(void *data, const char *key, char *out,
    size_t size, int64_t now);
static void ngx_http_ftgw_tokens_put(void *data, const char *key,
    const char *value, int64_t refresh_at, int64_t expires_at);


static ngx_str_t  ngx_http_ftgw_tokens_name = ngx_string("ftgw_tokens");


ngx_int_t
ngx_http_ftgw_tokens_add(ngx_conf_t *cf, ngx_http_ftgw_main_conf_t *fmcf)
{
    size_t  size;

    size = 8 * ngx_pagesize + sizeof(ngx_http_ftgw_tokens_sh_t);

    fmcf->tokens = ngx_shared_memory_add(cf, &ngx_http_ftgw_tokens_name,
                                         size, &ngx_http_ftgw_module);
    if (fmcf->tokens == NULL) {
        return NGX_ERROR;
    }

    fmcf->tokens->init = ngx_http_ftgw_tokens_init;
    fmcf->tokens->data = NULL;

    fmcf->gw.cache.data = fmcf->tokens;
    fmcf->gw.cache.get = ngx_http_ftgw_tokens_get;
    fmcf->gw.cache.put = ngx_http_ftgw_tokens_put;

    return NGX_OK;
}


static ngx_int_t
ngx_http_ftgw_tokens_init(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_slab_pool_t            *shpool;
    ngx_http_ftgw_tokens_sh_t  *sh;

    if (data) {
        /* a reload keeps the tokens of the previous cycle */
        shm_zone->data = data;
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        shm_zone->data = shpool->data;
        return NGX_OK;
    }

    sh = ngx_slab_calloc(shpool, sizeof(ngx_http_ftgw_tokens_sh_t));
    if (sh == NULL) {
        return NGX_ERROR;
    }

    shpool->data = sh;
    shm_zone->data = sh;

    return NGX_OK;
}


static ngx_http_ftgw_token_t *
ngx_http_ftgw_tokens_find(ngx_http_ftgw_tokens_sh_t *sh, const char *key,
    ngx_uint_t create)
{
    ngx_uint_t              i;
    ngx_http_ftgw_token_t  *empty;

    empty = NULL;

    for (i = 0; i < NGX_HTTP_FTGW_TOKENS; i++) {
        if (sh->tokens[i].key[0] == '\0') {
            if (empty == NULL) {
                empty = &sh->tokens[i];
            }

            continue;
        }

        if (ngx_strcmp(sh->tokens[i].key, key) == 0) {
            return &sh->tokens[i];
        }
    }

    if (!create || empty == NULL) {
        return NULL;
    }

    ngx_cpystrn(empty->key, (u_char *) key, NGX_HTTP_FTGW_TOKEN_KEY);

    return empty;
}


static int
ngx_http_ftgw_tokens_get(void *data, const char *key, char *out, size_t size,
    int64_t now)
{
    int                         found;
    ngx_shm_zone_t             *zone = data;
    ngx_slab_pool_t            *shpool;
    ngx_http_ftgw_token_t      *t;

    shpool = (ngx_slab_pool_t *) zone->shm.addr;
    found = 0;

    ngx_shmtx_lock(&shpool->mutex);

    t = ngx_http_ftgw_tokens_find(zone->data, key, 0);

    if (t != NULL && now < t->expires_at) {
        found = 1;

        if (now >= t->refresh_at && now >= t->refreshing_until) {
            /* this caller refreshes; the others keep the old token */
            t->refreshing_until = now + NGX_HTTP_FTGW_REFRESH_MS;
            found = 0;
        }
    }

    if (found) {
        ngx_cpystrn((u_char *) out, t->value, size);
    }

    ngx_shmtx_unlock(&shpool->mutex);

    return found;
}


static void
ngx_http_ftgw_tokens_put(void *data, const char *key, const char *value,
    int64_t refresh_at, int64_t expires_at)
{
    ngx_shm_zone_t         *zone = data;
    ngx_slab_pool_t        *shpool;
    ngx_http_ftgw_token_t  *t;

    if (ngx_strlen(value) >= NGX_HTTP_FTGW_TOKEN_VALUE
        || ngx_strlen(key) >= NGX_HTTP_FTGW_TOKEN_KEY)
    {
        return;
    }

    shpool = (ngx_slab_pool_t *) zone->shm.addr;

    ngx_shmtx_lock(&shpool->mutex);

    t = ngx_http_ftgw_tokens_find(zone->data, key, 1);

    if (t != NULL) {
        ngx_cpystrn(t->value, (u_char *) value, NGX_HTTP_FTGW_TOKEN_VALUE);
        t->refresh_at = refresh_at;
        t->expires_at = expires_at;
        t->refreshing_until = 0;
    }

    ngx_shmtx_unlock(&shpool->mutex);
}
