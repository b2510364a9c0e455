
/*
 * Fine-tuning gateway: Prometheus metrics.
 *
 *     ftgw_metrics_zone  1m;             (optional: the zone's size)
 *
 *     location = /metrics {
 *         ftgw_metrics;
 *     }
 *
 * Every worker counts into one shared-memory zone, so a scrape of any
 * worker sees them all.  A series is a family and its label values; the
 * values are configured names (clients, providers), the gateway's fixed
 * words (operations, answer classes, methods, outcomes), never a job id
 * or anything a client typed, so the number of series stays bounded by
 * the configuration.  Series live as long as the zone: a reload keeps
 * the counters, as Prometheus expects of counters.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_ftgw_module.h"
#include <gw_files.h>


#define NGX_HTTP_FTGW_BUCKETS   12          /* and +Inf */
#define NGX_HTTP_FTGW_LABELS    256         /* a series' labels, at most */


typedef enum {
    NGX_HTTP_FTGW_REQUESTS = 0,
    NGX_HTTP_FTGW_CALLS,
    NGX_HTTP_FTGW_CALL_SECONDS,
    NGX_HTTP_FTGW_IAM,
    NGX_HTTP_FTGW_FILES,
    NGX_HTTP_FTGW_FILE_BYTES,
    NGX_HTTP_FTGW_FAMILIES
} ngx_http_ftgw_family_e;


typedef struct {
    ngx_str_t                    name;
    ngx_str_t                    type;
    ngx_str_t                    help;
    const char                  *labels[4];     /* names, NULL-ended */
} ngx_http_ftgw_family_t;


typedef struct {
    ngx_rbtree_node_t            node;      /* key: crc32 of the series */
    ngx_queue_t                  queue;
    ngx_uint_t                   family;
    ngx_atomic_t                 value;     /* or a histogram's count */
    ngx_atomic_t                 sum_ms;    /* a histogram's sum */
    ngx_atomic_t                 buckets[NGX_HTTP_FTGW_BUCKETS];
    size_t                       len;
    u_char                       labels[1];
} ngx_http_ftgw_series_t;


/*
 * A worker's own map from a series' family and label values (their
 * addresses: configured names and static words, fixed for the cycle) to
 * the series in the zone, so that counting takes one atomic add and no
 * lock once a worker has seen the series.  Series are never freed.
 */
#define NGX_HTTP_FTGW_CACHE     256             /* a power of 2 */
#define NGX_HTTP_FTGW_PROBES    4

typedef struct {
    uintptr_t                    key[4];
    ngx_uint_t                   family;
    ngx_http_ftgw_series_t      *series;
} ngx_http_ftgw_cached_t;


typedef struct {
    ngx_rbtree_t                 rbtree;
    ngx_rbtree_node_t            sentinel;
    ngx_queue_t                  series;
    ngx_uint_t                   count;
    ngx_atomic_t                 dropped;   /* series the zone had no
                                               room for */
} ngx_http_ftgw_metrics_sh_t;


static ngx_int_t ngx_http_ftgw_metrics_zone_init(ngx_shm_zone_t *shm_zone,
    void *data);
static void ngx_http_ftgw_metrics_rbtree_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static ngx_http_ftgw_series_t *ngx_http_ftgw_series(ngx_shm_zone_t *zone,
    ngx_uint_t family, u_char *labels, size_t len);
static void ngx_http_ftgw_metrics_add_value(ngx_shm_zone_t *zone,
    ngx_uint_t family, u_char *labels, size_t len, ngx_atomic_int_t n);
static ngx_http_ftgw_series_t *ngx_http_ftgw_metrics_find(
    ngx_shm_zone_t *zone, ngx_uint_t family, const char **values);
static void ngx_http_ftgw_metrics_files_scan(ngx_shm_zone_t *zone,
    ngx_str_t *root);
static ngx_int_t ngx_http_ftgw_metrics_log(ngx_http_request_t *r);
static ngx_int_t ngx_http_ftgw_metrics_handler(ngx_http_request_t *r);
static u_char *ngx_http_ftgw_metrics_print(u_char *p,
    ngx_http_ftgw_metrics_sh_t *sh, ngx_uint_t family);
static u_char *ngx_http_ftgw_label(u_char *p, u_char *last, const char *name,
    const char *value, ngx_uint_t first);
static const char *ngx_http_ftgw_outcome(gw_vendor_response_t *resp);


static ngx_str_t  ngx_http_ftgw_metrics_name = ngx_string("ftgw_metrics");
static ngx_str_t  ngx_http_ftgw_metrics_type =
    ngx_string("text/plain; version=0.0.4; charset=utf-8");

static ngx_http_ftgw_family_t  ngx_http_ftgw_families[] = {
    { ngx_string("ftgw_requests_total"), ngx_string("counter"),
      ngx_string("Requests by client, provider, operation and answer "
                 "class."),
      { "client", "provider", "operation", "code" } },
    { ngx_string("ftgw_vendor_calls_total"), ngx_string("counter"),
      ngx_string("Vendor calls by provider, method and outcome."),
      { "provider", "method", "outcome", NULL } },
    { ngx_string("ftgw_vendor_call_duration_seconds"),
      ngx_string("histogram"),
      ngx_string("Vendor call latency by provider and method."),
      { "provider", "method", NULL, NULL } },
    { ngx_string("ftgw_iam_exchanges_total"), ngx_string("counter"),
      ngx_string("IAM token exchanges by provider and outcome."),
      { "provider", "outcome", NULL, NULL } },
    { ngx_string("ftgw_files_stored"), ngx_string("gauge"),
      ngx_string("Files in the store, by client."),
      { "client", NULL, NULL, NULL } },
    { ngx_string("ftgw_files_stored_bytes"), ngx_string("gauge"),
      ngx_string("Bytes of the files in the store, by client."),
      { "client", NULL, NULL, NULL } }
};

/* answer classes, by the status's first digit */
static const char  *ngx_http_ftgw_classes[] = {
    "0xx", "1xx", "2xx", "3xx", "4xx", "5xx", "6xx", "7xx", "8xx", "9xx"
};

static ngx_http_ftgw_cached_t  ngx_http_ftgw_cache[NGX_HTTP_FTGW_CACHE];
static ngx_cycle_t            *ngx_http_ftgw_cache_cycle;

/* upper bounds in milliseconds, printed as seconds */
static ngx_msec_t  ngx_http_ftgw_bounds[NGX_HTTP_FTGW_BUCKETS] = {
    5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000
};


/* ftgw_metrics: the location serves the exposition */

char *
ngx_http_ftgw_metrics_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_core_loc_conf_t   *clcf;
    ngx_http_ftgw_main_conf_t  *fmcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_ftgw_metrics_handler;

    fmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_ftgw_module);
    fmcf->metrics_served = 1;

    return NGX_CONF_OK;
}


/* the zone, where "ftgw_metrics" or "ftgw_metrics_zone" is given */
ngx_int_t
ngx_http_ftgw_metrics_add(ngx_conf_t *cf, ngx_http_ftgw_main_conf_t *fmcf)
{
    if (!fmcf->metrics_served && fmcf->metrics_size == NGX_CONF_UNSET_SIZE) {
        return NGX_OK;
    }

    if (fmcf->metrics_size == NGX_CONF_UNSET_SIZE) {
        fmcf->metrics_size = 1024 * 1024;
    }

    if (fmcf->metrics_size < 8 * ngx_pagesize) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ftgw_metrics_zone\" of %uz bytes is too small: "
                           "at least %uz", fmcf->metrics_size,
                           8 * ngx_pagesize);
        return NGX_ERROR;
    }

    fmcf->metrics = ngx_shared_memory_add(cf, &ngx_http_ftgw_metrics_name,
                                          fmcf->metrics_size,
                                          &ngx_http_ftgw_module);
    if (fmcf->metrics == NULL) {
        return NGX_ERROR;
    }

    fmcf->metrics->init = ngx_http_ftgw_metrics_zone_init;
    fmcf->metrics->data = fmcf;

    return NGX_OK;
}


/* postconfiguration: requests are counted once they are logged */
ngx_int_t
ngx_http_ftgw_metrics_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;
    ngx_http_ftgw_main_conf_t  *fmcf;

    fmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_ftgw_module);

    if (fmcf->metrics == NULL) {
        return NGX_OK;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_ftgw_metrics_log;

    return NGX_OK;
}


/*
 * The files gauges start from what the store holds: counted here, by the
 * master, at start and on each reload (the store's root may have moved);
 * the workers then add and take away as files come and go.
 */
static ngx_int_t
ngx_http_ftgw_metrics_zone_init(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_ftgw_metrics_sh_t  *osh = data;

    ngx_slab_pool_t             *shpool;
    ngx_http_ftgw_main_conf_t   *fmcf;
    ngx_http_ftgw_metrics_sh_t  *sh;

    fmcf = shm_zone->data;
    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (osh) {
        sh = osh;

    } else if (shm_zone->shm.exists) {
        sh = shpool->data;

    } else {
        sh = ngx_slab_calloc(shpool, sizeof(ngx_http_ftgw_metrics_sh_t));
        if (sh == NULL) {
            return NGX_ERROR;
        }

        ngx_rbtree_init(&sh->rbtree, &sh->sentinel,
                        ngx_http_ftgw_metrics_rbtree_insert);
        ngx_queue_init(&sh->series);

        shpool->data = sh;
        shpool->log_nomem = 0;
    }

    shm_zone->data = sh;

    if (fmcf->files_root.data != NULL) {
        ngx_http_ftgw_metrics_files_scan(shm_zone, &fmcf->files_root);
    }

    return NGX_OK;
}


static void
ngx_http_ftgw_metrics_rbtree_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t       **p;
    ngx_http_ftgw_series_t   *s, *t;

    for ( ;; ) {

        if (node->key < temp->key) {
            p = &temp->left;

        } else if (node->key > temp->key) {
            p = &temp->right;

        } else {
            s = (ngx_http_ftgw_series_t *) node;
            t = (ngx_http_ftgw_series_t *) temp;

            p = (s->family < t->family
                 || (s->family == t->family
                     && ngx_memn2cmp(s->labels, t->labels, s->len, t->len)
                        < 0))
                ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}


/* the series, made if new; the caller holds the zone's lock */
static ngx_http_ftgw_series_t *
ngx_http_ftgw_series(ngx_shm_zone_t *zone, ngx_uint_t family, u_char *labels,
    size_t len)
{
    uint32_t                     hash;
    ngx_int_t                    rc;
    ngx_slab_pool_t             *shpool;
    ngx_rbtree_node_t           *node, *sentinel;
    ngx_http_ftgw_series_t      *s;
    ngx_http_ftgw_metrics_sh_t  *sh;

    sh = zone->data;
    shpool = (ngx_slab_pool_t *) zone->shm.addr;

    ngx_crc32_init(hash);
    ngx_crc32_update(&hash, (u_char *) &family, sizeof(family));
    ngx_crc32_update(&hash, labels, len);
    ngx_crc32_final(hash);

    node = sh->rbtree.root;
    sentinel = sh->rbtree.sentinel;

    while (node != sentinel) {

        if (hash != node->key) {
            node = (hash < node->key) ? node->left : node->right;
            continue;
        }

        s = (ngx_http_ftgw_series_t *) node;

        rc = (family < s->family) ? -1 : (family > s->family) ? 1
             : ngx_memn2cmp(labels, s->labels, len, s->len);

        if (rc == 0) {
            return s;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    s = ngx_slab_calloc_locked(shpool,
                               offsetof(ngx_http_ftgw_series_t, labels)
                               + len);
    if (s == NULL) {
        sh->dropped++;
        return NULL;
    }

    s->node.key = hash;
    s->family = family;
    s->len = len;
    ngx_memcpy(s->labels, labels, len);

    ngx_rbtree_insert(&sh->rbtree, &s->node);
    ngx_queue_insert_tail(&sh->series, &s->queue);
    sh->count++;

    return s;
}


static void
ngx_http_ftgw_metrics_add_value(ngx_shm_zone_t *zone, ngx_uint_t family,
    u_char *labels, size_t len, ngx_atomic_int_t n)
{
    ngx_slab_pool_t         *shpool;
    ngx_http_ftgw_series_t  *s;

    shpool = (ngx_slab_pool_t *) zone->shm.addr;

    ngx_shmtx_lock(&shpool->mutex);

    s = ngx_http_ftgw_series(zone, family, labels, len);

    if (s != NULL) {
        s->value += n;
    }

    ngx_shmtx_unlock(&shpool->mutex);
}


/*
 * The series of family whose label values are values (NULL: ""), from
 * the worker's map or else from the zone, made there if new; NULL when
 * the zone has no room.
 */
static ngx_http_ftgw_series_t *
ngx_http_ftgw_metrics_find(ngx_shm_zone_t *zone, ngx_uint_t family,
    const char **values)
{
    u_char                   labels[NGX_HTTP_FTGW_LABELS], *p;
    uintptr_t                key[4], hash;
    ngx_uint_t               i, n, slot;
    const char             **names;
    ngx_slab_pool_t         *shpool;
    ngx_http_ftgw_cached_t  *c;
    ngx_http_ftgw_series_t  *s;

    /* a reload in a single process: the addresses now mean other names */
    if (ngx_http_ftgw_cache_cycle != ngx_cycle) {
        ngx_memzero(ngx_http_ftgw_cache, sizeof(ngx_http_ftgw_cache));
        ngx_http_ftgw_cache_cycle = (ngx_cycle_t *) ngx_cycle;
    }

    names = ngx_http_ftgw_families[family].labels;
    hash = family;

    for (n = 0; n < 4; n++) {
        key[n] = (names[n] != NULL) ? (uintptr_t) values[n] : 0;
        hash = hash * 31 + (key[n] >> 3);
    }

    for (i = 0; i < NGX_HTTP_FTGW_PROBES; i++) {
        slot = (hash + i) & (NGX_HTTP_FTGW_CACHE - 1);
        c = &ngx_http_ftgw_cache[slot];

        if (c->series == NULL) {
            break;
        }

        if (c->family == family
            && ngx_memcmp(c->key, key, sizeof(key)) == 0)
        {
            return c->series;
        }
    }

    p = labels;

    for (n = 0; n < 4 && names[n] != NULL; n++) {
        p = ngx_http_ftgw_label(p, labels + sizeof(labels), names[n],
                                values[n], n == 0);
    }

    if (p == NULL) {
        return NULL;
    }

    shpool = (ngx_slab_pool_t *) zone->shm.addr;

    ngx_shmtx_lock(&shpool->mutex);
    s = ngx_http_ftgw_series(zone, family, labels, p - labels);
    ngx_shmtx_unlock(&shpool->mutex);

    if (s != NULL && i < NGX_HTTP_FTGW_PROBES) {
        c->family = family;
        ngx_memcpy(c->key, key, sizeof(key));
        c->series = s;
    }

    return s;
}


/* a request, counted when it is logged */
static ngx_int_t
ngx_http_ftgw_metrics_log(ngx_http_request_t *r)
{
    ngx_uint_t                  status;
    const char                 *values[4];
    gw_log_info_t              *info, none;
    ngx_http_ftgw_log_t        *log;
    ngx_http_ftgw_series_t     *s;
    ngx_http_ftgw_loc_conf_t   *flcf;
    ngx_http_ftgw_main_conf_t  *fmcf;

    if (r != r->main) {
        return NGX_OK;
    }

    log = ngx_http_ftgw_log_get(r);

    if (log == NULL) {
        /* one of ours that nginx answered before the handler ran */
        flcf = ngx_http_get_module_loc_conf(r, ngx_http_ftgw_module);

        if (!flcf->enable) {
            return NGX_OK;
        }

        ngx_memzero(&none, sizeof(gw_log_info_t));
        info = &none;

    } else {
        info = &log->info;
    }

    fmcf = ngx_http_get_module_main_conf(r, ngx_http_ftgw_module);

    status = r->err_status ? r->err_status : r->headers_out.status;

    values[0] = info->client;
    values[1] = info->provider;
    values[2] = info->operation;
    values[3] = ngx_http_ftgw_classes[ngx_min(status / 100, 9)];

    s = ngx_http_ftgw_metrics_find(fmcf->metrics, NGX_HTTP_FTGW_REQUESTS,
                                   values);
    if (s != NULL) {
        (void) ngx_atomic_fetch_add(&s->value, 1);
    }

    if (info->file_change == 0 || info->client == NULL) {
        return NGX_OK;
    }

    s = ngx_http_ftgw_metrics_find(fmcf->metrics, NGX_HTTP_FTGW_FILES,
                                   values);
    if (s != NULL) {
        (void) ngx_atomic_fetch_add(&s->value, info->file_change);
    }

    s = ngx_http_ftgw_metrics_find(fmcf->metrics, NGX_HTTP_FTGW_FILE_BYTES,
                                   values);
    if (s != NULL) {
        (void) ngx_atomic_fetch_add(&s->value, info->file_change
                                               * info->file_bytes);
    }

    return NGX_OK;
}


/*
 * A vendor call has ended (or could not start): the log's count and time,
 * and, where metrics are kept, its outcome and latency.
 */
void
ngx_http_ftgw_metrics_call(ngx_http_request_t *r, ngx_http_ftgw_ctx_t *ctx,
    gw_vendor_response_t *resp)
{
    gw_call_t               *call;
    ngx_uint_t               i;
    ngx_msec_t               ms;
    const char              *values[4];
    ngx_shm_zone_t          *zone;
    ngx_http_ftgw_series_t  *s;

    call = ctx->call;
    ms = ngx_current_msec - ctx->call_start;

    ctx->log.calls++;
    ctx->log.vendor_ms += ms;

    zone = ctx->fmcf->metrics;

    if (zone == NULL || call == NULL || call->provider == NULL) {
        return;
    }

    values[0] = call->provider->name;

    if (call->auth) {
        values[1] = ngx_http_ftgw_outcome(resp);

        s = ngx_http_ftgw_metrics_find(zone, NGX_HTTP_FTGW_IAM, values);
        if (s != NULL) {
            (void) ngx_atomic_fetch_add(&s->value, 1);
        }

        return;
    }

    values[1] = call->method;
    values[2] = ngx_http_ftgw_outcome(resp);

    s = ngx_http_ftgw_metrics_find(zone, NGX_HTTP_FTGW_CALLS, values);
    if (s != NULL) {
        (void) ngx_atomic_fetch_add(&s->value, 1);
    }

    s = ngx_http_ftgw_metrics_find(zone, NGX_HTTP_FTGW_CALL_SECONDS, values);
    if (s == NULL) {
        return;
    }

    /* the count first: a scrape in between never sees a bucket above it */
    (void) ngx_atomic_fetch_add(&s->value, 1);

    for (i = 0; i < NGX_HTTP_FTGW_BUCKETS; i++) {
        if (ms <= ngx_http_ftgw_bounds[i]) {
            (void) ngx_atomic_fetch_add(&s->buckets[i], 1);
            break;
        }
    }

    (void) ngx_atomic_fetch_add(&s->sum_ms, ms);
}


static const char *
ngx_http_ftgw_outcome(gw_vendor_response_t *resp)
{
    static const char  *classes[] = {
        "1xx", "1xx", "2xx", "3xx", "4xx", "5xx"
    };

    switch (resp->transport) {

    case GW_TRANSPORT_TIMEOUT:
        return "timeout";

    case GW_TRANSPORT_UNREACHABLE:
        return "unreachable";

    case GW_TRANSPORT_TOO_LARGE:
        return "too_large";

    default:
        break;
    }

    if (resp->grpc_status > 0) {
        return "grpc_error";
    }

    if (resp->status < 100 || resp->status > 599) {
        return "invalid";
    }

    return classes[resp->status / 100];
}


/*
 * name="value", escaped as the exposition format asks; NULL when the
 * labels do not fit (the series is then not counted) or p is NULL
 */
static u_char *
ngx_http_ftgw_label(u_char *p, u_char *last, const char *name,
    const char *value, ngx_uint_t first)
{
    u_char  c;

    if (p == NULL) {
        return NULL;
    }

    if (value == NULL) {
        value = "";
    }

    if (last - p < (ssize_t) (ngx_strlen(name) + 2 * ngx_strlen(value) + 4))
    {
        return NULL;
    }

    if (!first) {
        *p++ = ',';
    }

    p = ngx_cpymem(p, name, ngx_strlen(name));
    *p++ = '=';
    *p++ = '"';

    while ((c = (u_char) *value++) != '\0') {
        if (c == '\\' || c == '"') {
            *p++ = '\\';
            *p++ = c;

        } else if (c == '\n') {
            *p++ = '\\';
            *p++ = 'n';

        } else {
            *p++ = c;
        }
    }

    *p++ = '"';

    return p;
}


/*
 * "<root>/<client>/<key>.json" is a stored file, "<key>.jsonl" its
 * bytes: each client's count and bytes, replacing what the zone held.
 */
static void
ngx_http_ftgw_metrics_files_scan(ngx_shm_zone_t *zone, ngx_str_t *root)
{
    u_char                       labels[NGX_HTTP_FTGW_LABELS], *p;
    u_char                       name[33], file[NGX_MAX_PATH];
    size_t                       len;
    ngx_dir_t                    dir, sub;
    ngx_str_t                    client, path;
    ngx_queue_t                 *q;
    ngx_atomic_int_t             count, bytes;
    ngx_file_info_t              fi;
    ngx_slab_pool_t             *shpool;
    ngx_http_ftgw_series_t      *s;
    ngx_http_ftgw_metrics_sh_t  *sh;

    sh = zone->data;
    shpool = (ngx_slab_pool_t *) zone->shm.addr;

    ngx_shmtx_lock(&shpool->mutex);

    for (q = ngx_queue_head(&sh->series);
         q != ngx_queue_sentinel(&sh->series);
         q = ngx_queue_next(q))
    {
        s = ngx_queue_data(q, ngx_http_ftgw_series_t, queue);

        if (s->family == NGX_HTTP_FTGW_FILES
            || s->family == NGX_HTTP_FTGW_FILE_BYTES)
        {
            s->value = 0;
        }
    }

    ngx_shmtx_unlock(&shpool->mutex);

    if (ngx_open_dir(root, &dir) == NGX_ERROR) {
        return;
    }

    while (ngx_read_dir(&dir) == NGX_OK) {
        client.data = ngx_de_name(&dir);
        client.len = ngx_de_namelen(&dir);

        /* client names: 1 to 32 of [A-Za-z0-9_-]; ".tmp" is not one */
        if (ngx_http_ftgw_valid_name(&client) != NGX_OK) {
            continue;
        }

        ngx_cpystrn(name, client.data, sizeof(name));

        p = ngx_snprintf(file, sizeof(file) - 1, "%V/%s", root, name);
        *p = '\0';

        path.data = file;
        path.len = p - file;

        if (ngx_open_dir(&path, &sub) == NGX_ERROR) {
            continue;
        }

        count = 0;
        bytes = 0;

        while (ngx_read_dir(&sub) == NGX_OK) {
            len = ngx_de_namelen(&sub);

            if (len < 6
                || ngx_strncmp(ngx_de_name(&sub) + len - 5, ".json", 5) != 0
                || path.len + len + 3 > sizeof(file))
            {
                continue;
            }

            count++;

            /* "<key>.jsonl" beside it */
            p = ngx_sprintf(file + path.len, "/%*sl", len, ngx_de_name(&sub));
            *p = '\0';

            if (ngx_file_info(file, &fi) != NGX_FILE_ERROR) {
                bytes += (ngx_atomic_int_t) ngx_file_size(&fi);
            }
        }

        ngx_close_dir(&sub);

        if (count == 0) {
            continue;
        }

        p = ngx_http_ftgw_label(labels, labels + sizeof(labels), "client",
                                (char *) name, 1);

        ngx_http_ftgw_metrics_add_value(zone, NGX_HTTP_FTGW_FILES, labels,
                                        p - labels, count);
        ngx_http_ftgw_metrics_add_value(zone, NGX_HTTP_FTGW_FILE_BYTES,
                                        labels, p - labels, bytes);
    }

    ngx_close_dir(&dir);
}


/* GET /metrics: every series, family by family */
static ngx_int_t
ngx_http_ftgw_metrics_handler(ngx_http_request_t *r)
{
    size_t                       size;
    ngx_int_t                    rc;
    ngx_uint_t                   i;
    ngx_buf_t                   *b;
    ngx_chain_t                  out;
    ngx_shm_zone_t              *zone;
    ngx_slab_pool_t             *shpool;
    ngx_http_ftgw_metrics_sh_t  *sh;
    ngx_http_ftgw_main_conf_t   *fmcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    fmcf = ngx_http_get_module_main_conf(r, ngx_http_ftgw_module);
    zone = fmcf->metrics;
    sh = zone->data;
    shpool = (ngx_slab_pool_t *) zone->shm.addr;

    ngx_shmtx_lock(&shpool->mutex);

    /* a histogram prints its labels on bucket lines, +Inf, sum, count */
    size = 4096;

    for (i = 0; i < NGX_HTTP_FTGW_FAMILIES; i++) {
        size += 2 * ngx_http_ftgw_families[i].name.len
                + ngx_http_ftgw_families[i].help.len + 64;
    }

    size += sh->count * (NGX_HTTP_FTGW_BUCKETS + 3)
            * (NGX_HTTP_FTGW_LABELS + 128);

    b = ngx_create_temp_buf(r->pool, size);
    if (b == NULL) {
        ngx_shmtx_unlock(&shpool->mutex);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    for (i = 0; i < NGX_HTTP_FTGW_FAMILIES; i++) {
        b->last = ngx_http_ftgw_metrics_print(b->last, sh, i);
    }

    b->last = ngx_sprintf(b->last,
                          "# HELP ftgw_metrics_series_dropped_total Series "
                          "the metrics zone had no room for.\n"
                          "# TYPE ftgw_metrics_series_dropped_total "
                          "counter\n"
                          "ftgw_metrics_series_dropped_total %uA\n",
                          sh->dropped);

    ngx_shmtx_unlock(&shpool->mutex);

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_type = ngx_http_ftgw_metrics_type;
    r->headers_out.content_type_len = ngx_http_ftgw_metrics_type.len;
    r->headers_out.content_length_n = b->last - b->pos;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


static u_char *
ngx_http_ftgw_metrics_print(u_char *p, ngx_http_ftgw_metrics_sh_t *sh,
    ngx_uint_t family)
{
    ngx_uint_t               i;
    ngx_queue_t             *q;
    ngx_atomic_uint_t        n;
    ngx_http_ftgw_family_t  *f;
    ngx_http_ftgw_series_t  *s;

    f = &ngx_http_ftgw_families[family];

    p = ngx_sprintf(p, "# HELP %V %V\n# TYPE %V %V\n", &f->name, &f->help,
                    &f->name, &f->type);

    for (q = ngx_queue_head(&sh->series);
         q != ngx_queue_sentinel(&sh->series);
         q = ngx_queue_next(q))
    {
        s = ngx_queue_data(q, ngx_http_ftgw_series_t, queue);

        if (s->family != family) {
            continue;
        }

        if (family == NGX_HTTP_FTGW_FILES
            || family == NGX_HTTP_FTGW_FILE_BYTES)
        {
            p = ngx_sprintf(p, "%V{%*s} %A\n", &f->name, s->len, s->labels,
                            (ngx_atomic_int_t) s->value);
            continue;
        }

        if (family != NGX_HTTP_FTGW_CALL_SECONDS) {
            p = ngx_sprintf(p, "%V{%*s} %uA\n", &f->name, s->len, s->labels,
                            s->value);
            continue;
        }

        for (i = 0, n = 0; i < NGX_HTTP_FTGW_BUCKETS; i++) {
            n += s->buckets[i];
            p = ngx_sprintf(p, "%V_bucket{%*s,le=\"%M.%03M\"} %uA\n",
                            &f->name, s->len, s->labels,
                            ngx_http_ftgw_bounds[i] / 1000,
                            ngx_http_ftgw_bounds[i] % 1000, n);
        }

        p = ngx_sprintf(p, "%V_bucket{%*s,le=\"+Inf\"} %uA\n"
                        "%V_sum{%*s} %uA.%03uA\n"
                        "%V_count{%*s} %uA\n",
                        &f->name, s->len, s->labels, s->value,
                        &f->name, s->len, s->labels, s->sum_ms / 1000,
                        s->sum_ms % 1000,
                        &f->name, s->len, s->labels, s->value);
    }

    return p;
}
