
/*
 * Fine-tuning gateway: the content handler.
 *
 * It reads the client body, then steps the request's exchange: each
 * vendor call is a subrequest; when one completes, the parent's write
 * event handler feeds its response back and takes the next step.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_ftgw_module.h"
#include <gw_files.h>


static void ngx_http_ftgw_cleanup(void *data);
static ngx_int_t ngx_http_ftgw_request(ngx_http_request_t *r,
    gw_request_t *req);
static ngx_int_t ngx_http_ftgw_request_id(ngx_http_request_t *r,
    gw_request_t *req);
static ngx_table_elt_t *ngx_http_ftgw_header(ngx_http_request_t *r,
    const char *name, size_t len);
static void ngx_http_ftgw_body_read(ngx_http_request_t *r);
static void ngx_http_ftgw_create(ngx_http_request_t *r, const char *body,
    size_t len);
static void ngx_http_ftgw_idem_step(ngx_http_request_t *r);
static void ngx_http_ftgw_idem_wake(ngx_event_t *ev);
static void ngx_http_ftgw_run(ngx_http_request_t *r);
static void ngx_http_ftgw_work(ngx_event_t *ev);
static void ngx_http_ftgw_delayed(ngx_event_t *ev);
static void ngx_http_ftgw_resume(ngx_http_request_t *r);
static ngx_int_t ngx_http_ftgw_send(ngx_http_request_t *r,
    ngx_http_ftgw_ctx_t *ctx);


static ngx_str_t  ngx_http_ftgw_json_type = ngx_string("application/json");
static ngx_str_t  ngx_http_ftgw_request_id_name = ngx_string("x-request-id");

static uint64_t   ngx_http_ftgw_id_prefix;
static uint64_t   ngx_http_ftgw_id_count;


ngx_int_t
ngx_http_ftgw_handler(ngx_http_request_t *r)
{
    int                         mine;
    ngx_int_t                   rc;
    gw_request_t                req;
    ngx_pool_cleanup_t         *cln;
    ngx_http_ftgw_ctx_t        *ctx;
    ngx_http_ftgw_loc_conf_t   *flcf;
    ngx_http_ftgw_main_conf_t  *fmcf;

    if (r != r->main) {
        return NGX_DECLINED;
    }

    fmcf = ngx_http_get_module_main_conf(r, ngx_http_ftgw_module);
    flcf = ngx_http_get_module_loc_conf(r, ngx_http_ftgw_module);

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_ftgw_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    ctx->fmcf = fmcf;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    if (ngx_http_ftgw_request(r, &req) != NGX_OK) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    /*
     * /v1/files: the Files API and its store (ngx_http_ftgw_files.c), but
     * the deletion of a file staged to vendors, which makes vendor calls
     */
    if (gw_files_path(req.path, req.path_len)) {
        ctx->exchange = gw_exchange_unstage_create(&fmcf->gw, &req, &mine);

        if (!mine) {
            return ngx_http_ftgw_files_handler(r, &req);
        }

    } else {
        ctx->exchange = gw_exchange_create(&fmcf->gw, &req);
    }

    if (ctx->exchange == NULL) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    ctx->log.exchange = ctx->exchange;

    cln->handler = ngx_http_ftgw_cleanup;
    cln->data = ctx;

    ngx_http_set_ctx(r, ctx, ngx_http_ftgw_module);

    /*
     * a declared length over the limit is refused before reading; as
     * nginx does for client_max_body_size, no "100 Continue" is sent,
     * so the client does not upload a body that is refused anyway
     */
    if (gw_exchange_needs_body(ctx->exchange)
        && r->headers_in.content_length_n > (off_t) flcf->max_body_size)
    {
        gw_exchange_body_too_large(ctx->exchange, flcf->max_body_size);
        r->expect_tested = 1;
        r->keepalive = 0;
        r->lingering_close = 1;
    }

    if (!gw_exchange_needs_body(ctx->exchange)) {
        rc = ngx_http_discard_request_body(r);

        if (rc != NGX_OK) {
            return rc;
        }

        r->main->count++;
        ngx_http_ftgw_run(r);
        return NGX_DONE;
    }

    r->request_body_in_single_buf = 1;

    rc = ngx_http_read_client_request_body(r, ngx_http_ftgw_body_read);

    if (rc == NGX_HTTP_REQUEST_ENTITY_TOO_LARGE) {
        /* a chunked body over the limit, found while reading */
        gw_exchange_body_too_large(ctx->exchange, flcf->max_body_size);
        r->keepalive = 0;
        r->lingering_close = 1;

        r->main->count++;
        ngx_http_ftgw_run(r);
        return NGX_DONE;
    }

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_ftgw_cleanup(void *data)
{
    ngx_http_ftgw_ctx_t  *ctx = data;

    if (ctx->idem_wait.timer_set) {
        ngx_del_timer(&ctx->idem_wait);
    }

    if (ctx->work.posted) {
        ngx_delete_posted_event(&ctx->work);
    }

    if (ctx->delay.timer_set) {
        ngx_del_timer(&ctx->delay);
    }

    /* a create that ends unanswered releases its key */
    ngx_http_ftgw_idem_abandon(ctx, ctx->fmcf);

    gw_exchange_free(ctx->exchange);
    ctx->exchange = NULL;
    ctx->log.exchange = NULL;
}


static ngx_int_t
ngx_http_ftgw_request(ngx_http_request_t *r, gw_request_t *req)
{
    ngx_time_t       *tp;
    ngx_table_elt_t  *h;

    ngx_memzero(req, sizeof(gw_request_t));

    req->method = (const char *) r->method_name.data;
    req->method_len = r->method_name.len;
    req->path = (const char *) r->uri.data;
    req->path_len = r->uri.len;
    req->query = (const char *) r->args.data;
    req->query_len = r->args.len;

    h = r->headers_in.authorization;
    if (h != NULL) {
        req->authorization = (const char *) h->value.data;
        req->authorization_len = h->value.len;
    }

    h = ngx_http_ftgw_header(r, "x-request-id", sizeof("x-request-id") - 1);
    if (h == NULL) {
        h = ngx_http_ftgw_header(r, "x-client-request-id",
                                 sizeof("x-client-request-id") - 1);
    }

    if (h != NULL) {
        req->request_id = (const char *) h->value.data;
        req->request_id_len = h->value.len;
    }

    if (ngx_http_ftgw_request_id(r, req) != NGX_OK) {
        return NGX_ERROR;
    }

    tp = ngx_timeofday();
    req->now_ms = (int64_t) tp->sec * 1000 + tp->msec;

    return NGX_OK;
}


/*
 * The id of a request whose client sent none (or an invalid one), 32 hex
 * digits.  Where the configuration names $request_id (a log_format, a
 * header, a map), it is nginx's own, read and never written, so that the
 * log names the same id.  Elsewhere no directive can see $request_id, and
 * a worker's random prefix and its request counter make ids as unique
 * without the 16 bytes that nginx draws from OpenSSL's DRBG for each
 * request (about 25,000 instructions).  Request ids are not secrets.
 */

static ngx_int_t
ngx_http_ftgw_request_id(ngx_http_request_t *r, gw_request_t *req)
{
    u_char                     *id;
    ngx_http_variable_value_t  *vv;
    ngx_http_ftgw_main_conf_t  *fmcf;

    fmcf = ngx_http_get_module_main_conf(r, ngx_http_ftgw_module);

    if (fmcf->request_id_index == NGX_DECLINED) {
        id = ngx_pnalloc(r->pool, 32 + 1);
        if (id == NULL) {
            return NGX_ERROR;
        }

        ngx_sprintf(id, "%016xL%016xL%Z", ngx_http_ftgw_id_prefix,
                    ++ngx_http_ftgw_id_count);

        req->generated_request_id = (const char *) id;

        return NGX_OK;
    }

    vv = ngx_http_get_indexed_variable(r, fmcf->request_id_index);
    if (vv == NULL || vv->not_found) {
        return NGX_ERROR;
    }

    id = ngx_pnalloc(r->pool, vv->len + 1);
    if (id == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(id, vv->data, vv->len);
    id[vv->len] = '\0';

    req->generated_request_id = (const char *) id;

    return NGX_OK;
}


ngx_int_t
ngx_http_ftgw_init_process(ngx_cycle_t *cycle)
{
    u_char  prefix[8];

    if (gw_random_bytes(prefix, sizeof(prefix)) != 0) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "ftgw: no random bytes for request ids");
        return NGX_ERROR;
    }

    ngx_memcpy(&ngx_http_ftgw_id_prefix, prefix, sizeof(prefix));
    ngx_http_ftgw_id_count = 0;

    return NGX_OK;
}


static ngx_table_elt_t *
ngx_http_ftgw_header(ngx_http_request_t *r, const char *name, size_t len)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == len
            && ngx_strncasecmp(h[i].key.data, (u_char *) name, len) == 0)
        {
            return &h[i];
        }
    }

    return NULL;
}


static void
ngx_http_ftgw_body_read(ngx_http_request_t *r)
{
    u_char                    *p;
    size_t                     len;
    ngx_buf_t                 *b;
    ngx_chain_t               *cl;
    ngx_http_ftgw_ctx_t       *ctx;
    ngx_http_ftgw_loc_conf_t  *flcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_ftgw_module);
    flcf = ngx_http_get_module_loc_conf(r, ngx_http_ftgw_module);

    if (r->request_body == NULL || r->request_body->temp_file) {
        gw_exchange_body_too_large(ctx->exchange, flcf->max_body_size);
        ngx_http_ftgw_run(r);
        return;
    }

    len = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        len += ngx_buf_size(cl->buf);
    }

    if (len > flcf->max_body_size) {
        gw_exchange_body_too_large(ctx->exchange, flcf->max_body_size);
        ngx_http_ftgw_run(r);
        return;
    }

    cl = r->request_body->bufs;

    if (cl != NULL && cl->next == NULL) {
        ngx_http_ftgw_create(r, (const char *) cl->buf->pos, len);
        return;
    }

    p = ngx_pnalloc(r->pool, len + 1);
    if (p == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_SERVICE_UNAVAILABLE);
        return;
    }

    len = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;
        p = ngx_cpymem(p, b->pos, b->last - b->pos);
        len += b->last - b->pos;
    }

    ngx_http_ftgw_create(r, (const char *) p - len, len);
}


/* the create body, read: through the key's lock when the client sent one */
static void
ngx_http_ftgw_create(ngx_http_request_t *r, const char *body, size_t len)
{
    ngx_table_elt_t      *h;
    ngx_http_ftgw_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_ftgw_module);
    ctx->create_body = body;
    ctx->create_len = len;

    h = ngx_http_ftgw_header(r, "idempotency-key",
                             sizeof("idempotency-key") - 1);

    if (h == NULL) {
        gw_exchange_set_body(ctx->exchange, body, len);
        ngx_http_ftgw_run(r);
        return;
    }

    if (gw_exchange_idempotency(ctx->exchange, (const char *) h->value.data,
                                h->value.len, body, len, ctx->idem_key,
                                ctx->idem_body)
        != 0)
    {
        ngx_http_ftgw_run(r);
        return;
    }

    ctx->idem_wait.handler = ngx_http_ftgw_idem_wake;
    ctx->idem_wait.data = r;
    ctx->idem_wait.log = r->connection->log;
    ctx->idem_wait.cancelable = 1;

    ngx_http_ftgw_idem_step(r);
}


static void
ngx_http_ftgw_idem_step(ngx_http_request_t *r)
{
    ngx_http_ftgw_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_ftgw_module);

    switch (ngx_http_ftgw_idem_check(r, ctx)) {

    case NGX_OK:
        gw_exchange_set_body(ctx->exchange, ctx->create_body,
                             ctx->create_len);
        break;

    case NGX_BUSY:
        /* the key's first request is still at the vendor: look again */
        ngx_add_timer(&ctx->idem_wait, 50);
        return;

    case NGX_ERROR:
        ngx_http_finalize_request(r, NGX_HTTP_SERVICE_UNAVAILABLE);
        return;

    default:
        /* NGX_DONE, NGX_DECLINED: the exchange has its answer */
        break;
    }

    ngx_http_ftgw_run(r);
}


static void
ngx_http_ftgw_idem_wake(ngx_event_t *ev)
{
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = ev->data;
    c = r->connection;

    ngx_http_ftgw_idem_step(r);
    ngx_http_run_posted_requests(c);
}


/*
 * Takes exchange steps until a vendor call is needed (then waits for the
 * subrequest) or the answer is ready (then sends it).
 */
static void
ngx_http_ftgw_run(ngx_http_request_t *r)
{
    gw_next_t              next;
    gw_call_t             *call;
    gw_vendor_response_t   resp;
    ngx_http_ftgw_ctx_t   *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_ftgw_module);

    for ( ;; ) {
        next = gw_exchange_next(ctx->exchange, &call);

        if (next == GW_NEXT_DONE) {
            break;
        }

        if (next == GW_NEXT_AGAIN) {
            /* a bounded piece of work done: other requests go first */
            ctx->work.handler = ngx_http_ftgw_work;
            ctx->work.data = r;
            ctx->work.log = r->connection->log;
            ngx_post_event(&ctx->work, &ngx_posted_events);
            return;
        }

        if (call->delay_ms > 0) {
            /* a poll: the call goes out when its timer fires */
            ctx->delayed = call;
            ctx->delay.handler = ngx_http_ftgw_delayed;
            ctx->delay.data = r;
            ctx->delay.log = r->connection->log;
            ngx_add_timer(&ctx->delay, (ngx_msec_t) call->delay_ms);
            r->write_event_handler = ngx_http_request_empty_handler;
            return;
        }

        if (ngx_http_ftgw_call(r, ctx, call) == NGX_OK) {
            r->write_event_handler = ngx_http_ftgw_resume;
            return;
        }

        /* the subrequest could not even be created */
        ngx_memzero(&resp, sizeof(gw_vendor_response_t));
        resp.transport = GW_TRANSPORT_UNREACHABLE;
        resp.grpc_status = -1;
        ngx_http_ftgw_metrics_call(r, ctx, &resp);
        gw_exchange_feed(ctx->exchange, &resp);
    }

    /* the answer the key's retries get */
    if (ctx->idem_owner) {
        ngx_http_ftgw_idem_finish(r, ctx, gw_exchange_result(ctx->exchange));
    }

    /* the answer is made: what the log and the metrics read is final */
    gw_exchange_log_info(ctx->exchange, &ctx->log.info);
    ctx->log.exchange = NULL;

    ngx_http_finalize_request(r, ngx_http_ftgw_send(r, ctx));
}


static void
ngx_http_ftgw_work(ngx_event_t *ev)
{
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = ev->data;
    c = r->connection;

    ngx_http_ftgw_run(r);
    ngx_http_run_posted_requests(c);
}


static void
ngx_http_ftgw_delayed(ngx_event_t *ev)
{
    gw_call_t              *call;
    ngx_connection_t       *c;
    ngx_http_request_t     *r;
    ngx_http_ftgw_ctx_t    *ctx;
    gw_vendor_response_t    resp;

    r = ev->data;
    c = r->connection;
    ctx = ngx_http_get_module_ctx(r, ngx_http_ftgw_module);

    call = ctx->delayed;
    ctx->delayed = NULL;

    if (ngx_http_ftgw_call(r, ctx, call) == NGX_OK) {
        r->write_event_handler = ngx_http_ftgw_resume;

    } else {
        ngx_memzero(&resp, sizeof(gw_vendor_response_t));
        resp.transport = GW_TRANSPORT_UNREACHABLE;
        resp.grpc_status = -1;
        ngx_http_ftgw_metrics_call(r, ctx, &resp);
        gw_exchange_feed(ctx->exchange, &resp);
        ngx_http_ftgw_run(r);
    }

    ngx_http_run_posted_requests(c);
}


static void
ngx_http_ftgw_resume(ngx_http_request_t *r)
{
    gw_vendor_response_t   resp;
    ngx_http_ftgw_ctx_t   *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_ftgw_module);

    if (ctx == NULL || ctx->subrequest == NULL || !ctx->done) {
        /* woken up before the vendor call completed */
        return;
    }

    ngx_http_ftgw_response(ctx, &resp);
    ctx->subrequest = NULL;

    ngx_http_ftgw_metrics_call(r, ctx, &resp);

    gw_exchange_feed(ctx->exchange, &resp);
    ngx_http_ftgw_run(r);
}


/* what the log variables and the metrics read, or NULL: not ours */
ngx_http_ftgw_log_t *
ngx_http_ftgw_log_get(ngx_http_request_t *r)
{
    ngx_http_ftgw_log_t  *log;

    log = ngx_http_get_module_ctx(r->main, ngx_http_ftgw_module);

    if (log != NULL && log->exchange != NULL) {
        gw_exchange_log_info(log->exchange, &log->info);
    }

    return log;
}


static ngx_int_t
ngx_http_ftgw_send(ngx_http_request_t *r, ngx_http_ftgw_ctx_t *ctx)
{
    size_t              len;
    ngx_int_t           rc;
    ngx_buf_t          *b;
    ngx_chain_t         out;
    ngx_table_elt_t    *h;
    const gw_result_t  *res;

    res = gw_exchange_result(ctx->exchange);

    r->headers_out.status = res->http_status;
    r->headers_out.content_type = ngx_http_ftgw_json_type;
    r->headers_out.content_type_len = ngx_http_ftgw_json_type.len;
    r->headers_out.content_length_n = res->body_len;

    if (res->request_id != NULL && res->request_id[0] != '\0') {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_ERROR;
        }

        len = ngx_strlen(res->request_id);

        h->hash = 1;
        h->key = ngx_http_ftgw_request_id_name;
        h->value.data = (u_char *) res->request_id;
        h->value.len = len;
    }

    /* the fields a route's unsupported=drop dropped, never silently */
    if (res->dropped != NULL) {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Ftgw-Dropped-Params");
        h->value.data = (u_char *) res->dropped;
        h->value.len = ngx_strlen(res->dropped);
    }

    /* the vendor's Retry-After on a 429 or 503, which SDKs honour */
    if (res->retry_after != NULL) {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Retry-After");
        h->value.data = (u_char *) res->retry_after;
        h->value.len = ngx_strlen(res->retry_after);
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    /* the body lives in the exchange until the pool cleanup frees it */
    b->pos = (u_char *) res->body;
    b->last = b->pos + res->body_len;
    b->memory = 1;
    b->last_buf = 1;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}
