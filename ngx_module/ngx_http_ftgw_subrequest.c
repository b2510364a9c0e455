
/*
 * Fine-tuning gateway: vendor calls as subrequests.
 *
 * A call goes to the provider's internal location (which holds
 * proxy_pass, so TLS, timeouts, keepalive and retries are nginx's own
 * directives) with its own method, body and a fresh header list: the
 * client's headers, its Authorization above all, never reach a vendor.
 *
 * The vendor's answer is captured by a body filter rather than by
 * NGX_HTTP_SUBREQUEST_IN_MEMORY: an answer larger than
 * ftgw_vendor_response_max is then flagged and discarded, where the
 * in-memory mode would drop the client's connection.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_ftgw_module.h"


typedef struct {
    const char         *name;
    ngx_str_t           method_name;
    ngx_uint_t          method;
} ngx_http_ftgw_method_t;


static ngx_int_t ngx_http_ftgw_call_done(ngx_http_request_t *r, void *data,
    ngx_int_t rc);
static void ngx_http_ftgw_vendor_headers(ngx_http_request_t *r,
    ngx_http_ftgw_ctx_t *ctx);
static ngx_int_t ngx_http_ftgw_call_body(ngx_http_request_t *r,
    ngx_http_request_t *sr, gw_call_t *call);
static ngx_int_t ngx_http_ftgw_call_file(ngx_http_request_t *r,
    ngx_http_request_t *sr, gw_call_t *call);
static ngx_int_t ngx_http_ftgw_call_headers(ngx_http_request_t *r,
    ngx_http_request_t *sr, gw_call_t *call);
static ngx_int_t ngx_http_ftgw_capture_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_int_t ngx_http_ftgw_capture(ngx_http_request_t *r,
    ngx_http_ftgw_ctx_t *ctx, ngx_buf_t *b);


static ngx_http_ftgw_method_t  ngx_http_ftgw_methods[] = {
    { "GET",    ngx_string("GET"),    NGX_HTTP_GET },
    { "POST",   ngx_string("POST"),   NGX_HTTP_POST },
    { "PUT",    ngx_string("PUT"),    NGX_HTTP_PUT },
    { "DELETE", ngx_string("DELETE"), NGX_HTTP_DELETE },
    { NULL, ngx_null_string, 0 }
};


static ngx_http_output_body_filter_pt  ngx_http_next_body_filter;


ngx_int_t
ngx_http_ftgw_call(ngx_http_request_t *r, ngx_http_ftgw_ctx_t *ctx,
    gw_call_t *call)
{
    u_char                       *p;
    size_t                        len;
    ngx_str_t                     uri, args;
    const char                   *endpoint;
    ngx_http_request_t           *sr;
    ngx_http_ftgw_method_t       *m;
    ngx_http_post_subrequest_t   *ps;

    for (m = ngx_http_ftgw_methods; m->name; m++) {
        if (ngx_strcmp(m->name, call->method) == 0) {
            break;
        }
    }

    /* for the metrics, whether or not the call goes out */
    ctx->call = call;
    ctx->call_start = ngx_current_msec;

    if (m->name == NULL) {
        return NGX_ERROR;
    }

    endpoint = call->endpoint ? call->endpoint : call->provider->endpoint;
    len = ngx_strlen(endpoint) + ngx_strlen(call->path);

    uri.data = ngx_pnalloc(r->pool, len);
    if (uri.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(uri.data, endpoint, ngx_strlen(endpoint));
    p = ngx_cpymem(p, call->path, ngx_strlen(call->path));
    uri.len = p - uri.data;

    args.len = ngx_strlen(call->query);
    args.data = ngx_pnalloc(r->pool, args.len + 1);
    if (args.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(args.data, call->query, args.len);

    ps = ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t));
    if (ps == NULL) {
        return NGX_ERROR;
    }

    ps->handler = ngx_http_ftgw_call_done;
    ps->data = ctx;

    ctx->done = 0;
    ctx->rc = 0;
    ctx->status = 0;
    ctx->body = NULL;
    ctx->body_len = 0;
    ctx->body_size = 0;
    ctx->too_large = 0;
    ctx->grpc_status = -1;
    ngx_str_null(&ctx->grpc_message);
    ngx_str_null(&ctx->retry_after);

    if (ngx_http_subrequest(r, &uri, args.len ? &args : NULL, &sr, ps,
                            NGX_HTTP_SUBREQUEST_WAITED)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    sr->method = m->method;
    sr->method_name = m->method_name;

    /*
     * A subrequest shares its parent's variables: the $content_length that
     * grpc_pass sends would otherwise be the one cached for an earlier call
     * of this request, and a call of another length would be cut short.
     */
    sr->variables[ctx->fmcf->content_length_index].valid = 0;
    sr->variables[ctx->fmcf->content_length_index].not_found = 0;

    if (ngx_http_ftgw_call_body(r, sr, call) != NGX_OK
        || ngx_http_ftgw_call_headers(r, sr, call) != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_http_set_ctx(sr, ctx, ngx_http_ftgw_module);

    ctx->subrequest = sr;

    return NGX_OK;
}


static ngx_int_t
ngx_http_ftgw_call_body(ngx_http_request_t *r, ngx_http_request_t *sr,
    gw_call_t *call)
{
    ngx_buf_t                *b;
    ngx_chain_t              *cl;
    ngx_http_request_body_t  *rb;

    /* never the client's body: a fresh one, empty for GET and DELETE */
    rb = ngx_pcalloc(r->pool, sizeof(ngx_http_request_body_t));
    if (rb == NULL) {
        return NGX_ERROR;
    }

    sr->request_body = rb;
    sr->headers_in.content_length = NULL;
    sr->headers_in.transfer_encoding = NULL;
    sr->headers_in.chunked = 0;
    sr->headers_in.content_length_n = -1;

    if (call->body_file != NULL) {
        return ngx_http_ftgw_call_file(r, sr, call);
    }

    if (call->body == NULL) {
        return NGX_OK;
    }

    b = ngx_create_temp_buf(r->pool, call->body_len ? call->body_len : 1);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->last = ngx_cpymem(b->pos, call->body, call->body_len);
    b->last_buf = 1;
    b->last_in_chain = 1;

    cl = ngx_alloc_chain_link(r->pool);
    if (cl == NULL) {
        return NGX_ERROR;
    }

    cl->buf = b;
    cl->next = NULL;

    rb->bufs = cl;
    rb->buf = b;

    sr->headers_in.content_length_n = call->body_len;

    return NGX_OK;
}


/*
 * A body from a file (a staged dataset): upstream sends it from the file
 * as it sends a client body that nginx buffered to disk, in
 * client_body_buffer_size reads or by sendfile, so the worker never holds
 * it whole.  The descriptor closes with the request's pool.
 */

static ngx_int_t
ngx_http_ftgw_call_file(ngx_http_request_t *r, ngx_http_request_t *sr,
    gw_call_t *call)
{
    ngx_buf_t                 *b;
    ngx_file_t                *file;
    ngx_chain_t               *cl;
    ngx_pool_cleanup_t        *cln;
    ngx_pool_cleanup_file_t   *clnf;

    file = ngx_pcalloc(r->pool, sizeof(ngx_file_t));
    b = ngx_calloc_buf(r->pool);
    cl = ngx_alloc_chain_link(r->pool);
    cln = ngx_pool_cleanup_add(r->pool, sizeof(ngx_pool_cleanup_file_t));

    if (file == NULL || b == NULL || cl == NULL || cln == NULL) {
        return NGX_ERROR;
    }

    /* the name outlives the exchange's copy: the pool's cleanup logs it */
    file->name.len = ngx_strlen(call->body_file);
    file->name.data = ngx_pnalloc(r->pool, file->name.len + 1);
    if (file->name.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(file->name.data, call->body_file, file->name.len + 1);
    file->log = r->connection->log;
    file->fd = ngx_open_file(file->name.data, NGX_FILE_RDONLY, NGX_FILE_OPEN,
                             0);

    if (file->fd == NGX_INVALID_FILE) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, ngx_errno,
                      ngx_open_file_n " \"%s\" failed", call->body_file);
        return NGX_ERROR;
    }

    cln->handler = ngx_pool_cleanup_file;
    clnf = cln->data;
    clnf->fd = file->fd;
    clnf->name = file->name.data;
    clnf->log = r->connection->log;

    b->in_file = 1;
    b->file = file;
    b->file_pos = 0;
    b->file_last = call->body_len;
    b->last_buf = 1;
    b->last_in_chain = 1;

    cl->buf = b;
    cl->next = NULL;

    sr->request_body->bufs = cl;
    sr->headers_in.content_length_n = call->body_len;

    return NGX_OK;
}


static ngx_int_t
ngx_http_ftgw_call_headers(ngx_http_request_t *r, ngx_http_request_t *sr,
    gw_call_t *call)
{
    size_t            len;
    ngx_uint_t        i;
    const char       *value;
    ngx_table_elt_t  *h;

    /* a new list: pushing onto the inherited one would corrupt the parent's */
    if (ngx_list_init(&sr->headers_in.headers, r->pool, GW_MAX_HEADERS + 1,
                      sizeof(ngx_table_elt_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    sr->headers_in.authorization = NULL;
    sr->headers_in.cookies.nelts = 0;
    sr->headers_in.te = NULL;

    for (i = 0; i < call->nheaders; i++) {
        h = ngx_list_push(&sr->headers_in.headers);
        if (h == NULL) {
            return NGX_ERROR;
        }

        len = ngx_strlen(call->headers[i].name);

        h->key.len = len;
        h->key.data = (u_char *) call->headers[i].name;

        h->lowcase_key = ngx_pnalloc(r->pool, len);
        if (h->lowcase_key == NULL) {
            return NGX_ERROR;
        }

        ngx_strlow(h->lowcase_key, h->key.data, len);
        h->hash = ngx_hash_key(h->lowcase_key, len);

        value = call->headers[i].value;

        h->value.len = ngx_strlen(value);
        h->value.data = ngx_pnalloc(r->pool, h->value.len);
        if (h->value.data == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(h->value.data, value, h->value.len);

        /* grpc_pass sends "te: trailers" from this pointer, not the list */
        if (len == 2 && ngx_strncmp(h->lowcase_key, "te", 2) == 0) {
            sr->headers_in.te = h;
        }
    }

    return NGX_OK;
}


/*
 * May run more than once for one subrequest (again after a special
 * response): the first call decides.  NGX_ERROR, which upstream gives
 * when a vendor breaks off after its header, would terminate the client's
 * request: it is recorded and replaced by NGX_OK.
 */
static ngx_int_t
ngx_http_ftgw_call_done(ngx_http_request_t *r, void *data, ngx_int_t rc)
{
    ngx_http_ftgw_ctx_t  *ctx = data;

    if (ctx->done || ctx->subrequest != r) {
        return (rc == NGX_ERROR) ? NGX_OK : rc;
    }

    ctx->done = 1;
    ctx->rc = rc;
    ctx->status = r->headers_out.status;

    ngx_http_ftgw_vendor_headers(r, ctx);

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "ftgw vendor call done rc:%i status:%ui body:%uz",
                   rc, ctx->status, ctx->body_len);

    return (rc == NGX_ERROR) ? NGX_OK : rc;
}


/*
 * gRPC answers carry their status in trailers, or in the headers of a
 * trailers-only answer: the trailers win.  Retry-After, for the client,
 * is a header.
 */
static void
ngx_http_ftgw_vendor_headers(ngx_http_request_t *r, ngx_http_ftgw_ctx_t *ctx)
{
    ngx_uint_t        i, k;
    ngx_list_t       *lists[2];
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    lists[0] = &r->headers_out.trailers;
    lists[1] = &r->headers_out.headers;

    for (k = 0; k < 2; k++) {
        if (lists[k]->part.elts == NULL) {
            continue;
        }

        part = &lists[k]->part;
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

            if (h[i].hash == 0) {
                continue;
            }

            if (ctx->grpc_status == -1
                && h[i].key.len == sizeof("grpc-status") - 1
                && ngx_strncasecmp(h[i].key.data, (u_char *) "grpc-status",
                                   h[i].key.len) == 0)
            {
                ctx->grpc_status = ngx_atoi(h[i].value.data, h[i].value.len);
                if (ctx->grpc_status == NGX_ERROR) {
                    ctx->grpc_status = 2;       /* UNKNOWN */
                }
            }

            if (ctx->grpc_message.data == NULL
                && h[i].key.len == sizeof("grpc-message") - 1
                && ngx_strncasecmp(h[i].key.data, (u_char *) "grpc-message",
                                   h[i].key.len) == 0)
            {
                ctx->grpc_message = h[i].value;
            }

            if (k == 1
                && h[i].key.len == sizeof("retry-after") - 1
                && ngx_strncasecmp(h[i].key.data, (u_char *) "retry-after",
                                   h[i].key.len) == 0)
            {
                ctx->retry_after = h[i].value;
            }
        }
    }
}


void
ngx_http_ftgw_response(ngx_http_ftgw_ctx_t *ctx, gw_vendor_response_t *resp)
{
    ngx_memzero(resp, sizeof(gw_vendor_response_t));

    resp->status = (int) ctx->status;
    resp->body = (const char *) ctx->body;
    resp->body_len = ctx->body_len;
    resp->grpc_status = (int) ctx->grpc_status;
    resp->grpc_message = (const char *) ctx->grpc_message.data;
    resp->grpc_message_len = ctx->grpc_message.len;
    resp->retry_after = (const char *) ctx->retry_after.data;
    resp->retry_after_len = ctx->retry_after.len;

    if (ctx->too_large) {
        resp->transport = GW_TRANSPORT_TOO_LARGE;

    } else if (ctx->rc == NGX_ERROR) {
        /* the vendor broke off mid-answer */
        resp->transport = GW_TRANSPORT_UNREACHABLE;

    } else if (ctx->status == 0 || ctx->rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        /* nginx answered for the vendor: no response came */
        resp->transport = (ctx->rc == NGX_HTTP_GATEWAY_TIME_OUT)
                          ? GW_TRANSPORT_TIMEOUT : GW_TRANSPORT_UNREACHABLE;
    }
}


ngx_int_t
ngx_http_ftgw_capture_init(ngx_conf_t *cf)
{
    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_ftgw_capture_filter;

    return NGX_OK;
}


static ngx_int_t
ngx_http_ftgw_capture_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_chain_t          *cl;
    ngx_http_ftgw_ctx_t  *ctx;

    if (r == r->main) {
        return ngx_http_next_body_filter(r, in);
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_ftgw_module);

    if (ctx == NULL || ctx->subrequest != r) {
        return ngx_http_next_body_filter(r, in);
    }

    for (cl = in; cl; cl = cl->next) {
        if (ngx_http_ftgw_capture(r, ctx, cl->buf) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* appends a buffer's data to the captured answer, consuming the buffer */
static ngx_int_t
ngx_http_ftgw_capture(ngx_http_request_t *r, ngx_http_ftgw_ctx_t *ctx,
    ngx_buf_t *b)
{
    u_char                    *p;
    size_t                     len, size;
    ngx_http_ftgw_loc_conf_t  *flcf;

    if (b->in_file && !ngx_buf_in_memory(b)) {
        /* proxy spilled to a temp file: far beyond what is accepted */
        ctx->too_large = 1;
        b->file_pos = b->file_last;
        return NGX_OK;
    }

    if (!ngx_buf_in_memory(b)) {
        return NGX_OK;
    }

    len = b->last - b->pos;
    b->pos = b->last;

    if (b->in_file) {
        b->file_pos = b->file_last;
    }

    if (len == 0 || ctx->too_large) {
        return NGX_OK;
    }

    flcf = ngx_http_get_module_loc_conf(r->main, ngx_http_ftgw_module);

    if (ctx->body_len + len > flcf->vendor_response_max) {
        ctx->too_large = 1;
        return NGX_OK;
    }

    if (ctx->body_len + len > ctx->body_size) {
        size = ngx_max(ctx->body_size * 2, ctx->body_len + len);
        size = ngx_max(size, 4096);
        size = ngx_min(size, flcf->vendor_response_max);

        p = ngx_pnalloc(r->main->pool, size);
        if (p == NULL) {
            return NGX_ERROR;
        }

        if (ctx->body_len) {
            ngx_memcpy(p, ctx->body, ctx->body_len);
        }

        ctx->body = p;
        ctx->body_size = size;
    }

    ngx_memcpy(ctx->body + ctx->body_len, b->pos - len, len);
    ctx->body_len += len;

    return NGX_OK;
}
