
/*
 * Fine-tuning gateway: the Files API (/v1/files).
 *
 * An upload's body goes to nginx's temp file (request_body_in_file_only),
 * so a worker never holds a file in memory.  The body is then read back
 * in steps of at most NGX_HTTP_FTGW_FILES_STEP bytes; each step feeds the
 * multipart parser, the store's tmp file, the hash and the format check
 * (translators/core/gw_files.c), then posts an event for the next one,
 * so the event loop serves other requests between steps.  A failure at
 * any point removes what the upload wrote: the store keeps no partial
 * file.  Content is sent from the stored file, as nginx sends static
 * files.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_ftgw_module.h"
#include <gw_files.h>


#define NGX_HTTP_FTGW_FILES_BUF    (64 * 1024)
#define NGX_HTTP_FTGW_FILES_STEP   (256 * 1024)
/* the multipart framing around the file: headers, purpose, delimiters */
#define NGX_HTTP_FTGW_FILES_SLACK  (64 * 1024)


typedef struct {
    ngx_http_ftgw_log_t  log;                   /* first */
    char                 file_id[GW_FILE_ID_MAX];       /* for the log */
    char                 error_code[GW_NAME_MAX];
    gw_files_req_t       fr;
    gw_upload_t         *upload;
    ngx_event_t          step;
    off_t                offset;
    u_char              *buf;
    int64_t              now_ms;
} ngx_http_ftgw_files_ctx_t;


static void ngx_http_ftgw_files_cleanup(void *data);
static void ngx_http_ftgw_files_body(ngx_http_request_t *r);
static void ngx_http_ftgw_files_step(ngx_event_t *ev);
static void ngx_http_ftgw_files_end(ngx_http_request_t *r,
    ngx_http_ftgw_files_ctx_t *ctx);
static ngx_int_t ngx_http_ftgw_files_content(ngx_http_request_t *r,
    ngx_http_ftgw_files_ctx_t *ctx);
static ngx_int_t ngx_http_ftgw_files_json(ngx_http_request_t *r,
    ngx_http_ftgw_files_ctx_t *ctx, ngx_uint_t status, char *body,
    size_t len);
static ngx_int_t ngx_http_ftgw_files_error(ngx_http_request_t *r,
    ngx_http_ftgw_files_ctx_t *ctx, const gw_error_t *err);
static ngx_int_t ngx_http_ftgw_files_request_id(ngx_http_request_t *r,
    ngx_http_ftgw_files_ctx_t *ctx);


static ngx_str_t  ngx_http_ftgw_files_json_type =
    ngx_string("application/json");
static ngx_str_t  ngx_http_ftgw_files_octet_type =
    ngx_string("application/octet-stream");


/* ftgw_files root=<dir> [max_size=<size>] */

char *
ngx_http_ftgw_files_directive(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_ftgw_main_conf_t *fmcf = conf;

    off_t        size;
    ngx_str_t   *value, s;
    ngx_uint_t   i;
    ngx_path_t  *path;

    if (fmcf->files_root.data != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;
    fmcf->files_max_size = 512 * 1024 * 1024;   /* OpenAI's per-file limit */

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "root=", 5) == 0) {
            s.data = value[i].data + 5;
            s.len = value[i].len - 5;

            if (s.len == 0) {
                goto invalid;
            }

            while (s.len > 1 && s.data[s.len - 1] == '/') {
                s.len--;
            }

            if (ngx_conf_full_name(cf->cycle, &s, 0) != NGX_OK) {
                return NGX_CONF_ERROR;
            }

            fmcf->files_root.data = ngx_pnalloc(cf->pool, s.len + 1);
            if (fmcf->files_root.data == NULL) {
                return NGX_CONF_ERROR;
            }

            ngx_memcpy(fmcf->files_root.data, s.data, s.len);
            fmcf->files_root.data[s.len] = '\0';
            fmcf->files_root.len = s.len;
            continue;
        }

        if (ngx_strncmp(value[i].data, "max_size=", 9) == 0) {
            s.data = value[i].data + 9;
            s.len = value[i].len - 9;

            size = ngx_parse_offset(&s);
            if (size == NGX_ERROR || size <= 0) {
                goto invalid;
            }

            fmcf->files_max_size = size;
            continue;
        }

        goto invalid;
    }

    if (fmcf->files_root.data == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ftgw_files\" needs \"root=<directory>\"");
        return NGX_CONF_ERROR;
    }

    /*
     * one of the cycle's paths, as client_body_temp_path is: the master
     * makes it at start and reload, owned by the workers' user, who write
     * the store
     */
    path = ngx_pcalloc(cf->pool, sizeof(ngx_path_t));
    if (path == NULL) {
        return NGX_CONF_ERROR;
    }

    path->name = fmcf->files_root;
    path->conf_file = cf->conf_file->file.name.data;
    path->line = cf->conf_file->line;

    if (ngx_add_path(cf, &path) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid \"ftgw_files\" parameter \"%V\": expected "
                       "root=<directory> [max_size=<size>]", &value[i]);
    return NGX_CONF_ERROR;
}


/*
 * An ftgw_api location takes uploads up to max_size: nginx's own check of
 * client_max_body_size, made before the handler runs, would answer a
 * larger one in HTML
 */
void
ngx_http_ftgw_files_merge(ngx_conf_t *cf, ngx_http_core_loc_conf_t *clcf)
{
    ngx_http_ftgw_main_conf_t  *fmcf;

    fmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_ftgw_module);

    if (fmcf->files_root.data != NULL && clcf->client_max_body_size != 0
        && clcf->client_max_body_size
           < fmcf->files_max_size + NGX_HTTP_FTGW_FILES_SLACK)
    {
        clcf->client_max_body_size = fmcf->files_max_size
                                     + NGX_HTTP_FTGW_FILES_SLACK;
    }
}


/* 413 file_too_large, in the OpenAI envelope */
void
ngx_http_ftgw_files_too_large(gw_error_t *err,
    ngx_http_ftgw_main_conf_t *fmcf)
{
    ngx_memzero(err, sizeof(gw_error_t));
    err->http_status = NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
    err->type = "invalid_request_error";
    ngx_cpystrn((u_char *) err->param, (u_char *) "file",
                sizeof(err->param));
    ngx_cpystrn((u_char *) err->code, (u_char *) "file_too_large",
                sizeof(err->code));
    ngx_snprintf((u_char *) err->message, sizeof(err->message) - 1,
                 "File is too large: the limit is %O bytes.%Z",
                 fmcf->files_max_size);
}


ngx_int_t
ngx_http_ftgw_files_handler(ngx_http_request_t *r, gw_request_t *req)
{
    char                       *body;
    size_t                      len;
    ngx_int_t                   rc;
    gw_file_t                   f;
    gw_error_t                  err;
    gw_files_op_t               op;
    ngx_table_elt_t            *ct;
    ngx_pool_cleanup_t         *cln;
    ngx_http_ftgw_files_ctx_t  *ctx;
    ngx_http_ftgw_main_conf_t  *fmcf;

    fmcf = ngx_http_get_module_main_conf(r, ngx_http_ftgw_module);

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_ftgw_files_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    cln->handler = ngx_http_ftgw_files_cleanup;
    cln->data = ctx;

    ngx_http_set_ctx(r, ctx, ngx_http_ftgw_module);

    op = gw_files_route(&fmcf->gw, req, &ctx->fr);

    ctx->log.info.operation = gw_files_op_name(op);
    ctx->log.info.request_id = ctx->fr.request_id;

    if (ctx->fr.client != NULL) {
        ctx->log.info.client = ctx->fr.client->name;
    }

    /* an id that did not verify is the client's text: not logged */
    if (op != GW_FILES_ERROR && ctx->fr.id[0] != '\0') {
        ctx->log.info.file_id = ctx->fr.id;
    }

    if (op != GW_FILES_UPLOAD) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }
    }

    switch (op) {

    case GW_FILES_ERROR:
        return ngx_http_ftgw_files_error(r, ctx, &ctx->fr.err);

    case GW_FILES_LIST:
        body = gw_files_list_json(fmcf->gw.files_root, &ctx->fr, &len, &err);
        if (body == NULL) {
            return ngx_http_ftgw_files_error(r, ctx, &err);
        }

        return ngx_http_ftgw_files_json(r, ctx, NGX_HTTP_OK, body, len);

    case GW_FILES_RETRIEVE:
    case GW_FILES_DELETE:
        if (gw_store_get(fmcf->gw.files_root, ctx->fr.client->name,
                         ctx->fr.key, &f)
            != 0
            || (op == GW_FILES_DELETE
                && gw_store_delete(fmcf->gw.files_root,
                                   ctx->fr.client->name, ctx->fr.key)
                   != 0))
        {
            ngx_memzero(&err, sizeof(gw_error_t));
            err.http_status = NGX_HTTP_NOT_FOUND;
            err.type = "not_found_error";
            ngx_cpystrn((u_char *) err.param, (u_char *) "id",
                        sizeof(err.param));
            ngx_cpystrn((u_char *) err.code, (u_char *) "file_not_found",
                        sizeof(err.code));
            ngx_snprintf((u_char *) err.message, sizeof(err.message) - 1,
                         "No such File object: %s%Z", ctx->fr.id);
            return ngx_http_ftgw_files_error(r, ctx, &err);
        }

        if (op == GW_FILES_DELETE) {
            ctx->log.info.file_change = -1;
            ctx->log.info.file_bytes = f.bytes;
            body = gw_file_deleted_json(ctx->fr.id, &len);

        } else {
            /*
             * the id the client used: after a rotation the stored one
             * may be signed with another key
             */
            ngx_cpystrn((u_char *) f.id, (u_char *) ctx->fr.id,
                        sizeof(f.id));
            body = gw_file_json(&f, &len);
        }

        if (body == NULL) {
            return NGX_HTTP_SERVICE_UNAVAILABLE;
        }

        return ngx_http_ftgw_files_json(r, ctx, NGX_HTTP_OK, body, len);

    case GW_FILES_CONTENT:
        return ngx_http_ftgw_files_content(r, ctx);

    default: /* GW_FILES_UPLOAD */
        break;
    }

    /* a declared length over the limit is refused before reading */
    if (r->headers_in.content_length_n
        > fmcf->files_max_size + NGX_HTTP_FTGW_FILES_SLACK)
    {
        ngx_http_ftgw_files_too_large(&err, fmcf);

        r->keepalive = 0;
        r->lingering_close = 1;

        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_http_ftgw_files_error(r, ctx, &err);
    }

    ct = r->headers_in.content_type;

    if (gw_upload_check_type(ct ? (const char *) ct->value.data : NULL,
                             ct ? ct->value.len : 0, &err)
        != 0)
    {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_http_ftgw_files_error(r, ctx, &err);
    }

    ctx->buf = ngx_pnalloc(r->pool, NGX_HTTP_FTGW_FILES_BUF);
    if (ctx->buf == NULL) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    ctx->now_ms = req->now_ms;

    r->request_body_in_file_only = 1;
    r->request_body_in_clean_file = 1;
    r->request_body_file_log_level = 0;

    rc = ngx_http_read_client_request_body(r, ngx_http_ftgw_files_body);

    if (rc == NGX_HTTP_REQUEST_ENTITY_TOO_LARGE) {
        /* a chunked body over client_max_body_size */
        ngx_http_ftgw_files_too_large(&err, fmcf);

        r->keepalive = 0;
        r->lingering_close = 1;

        return ngx_http_ftgw_files_error(r, ctx, &err);
    }

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_ftgw_files_cleanup(void *data)
{
    ngx_http_ftgw_files_ctx_t  *ctx = data;

    if (ctx->step.posted) {
        ngx_delete_posted_event(&ctx->step);
    }

    /* an upload not finished: what it wrote is removed */
    gw_upload_abort(ctx->upload);
    ctx->upload = NULL;
}


static void
ngx_http_ftgw_files_body(ngx_http_request_t *r)
{
    gw_error_t                  err;
    ngx_table_elt_t            *ct;
    ngx_http_ftgw_files_ctx_t  *ctx;
    ngx_http_ftgw_main_conf_t  *fmcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_ftgw_module);
    fmcf = ngx_http_get_module_main_conf(r, ngx_http_ftgw_module);

    /* the store's tmp file, made once the whole body is on disk */
    ct = r->headers_in.content_type;

    ctx->upload = gw_upload_open(&fmcf->gw, &ctx->fr,
                                 ct ? (const char *) ct->value.data : NULL,
                                 ct ? ct->value.len : 0,
                                 fmcf->files_max_size, ctx->now_ms, &err);

    if (ctx->upload == NULL) {
        ngx_http_finalize_request(r, ngx_http_ftgw_files_error(r, ctx, &err));
        return;
    }

    ctx->step.handler = ngx_http_ftgw_files_step;
    ctx->step.data = r;
    ctx->step.log = r->connection->log;
    ctx->offset = 0;

    ngx_http_ftgw_files_step(&ctx->step);
}


/* one bounded step: up to NGX_HTTP_FTGW_FILES_STEP bytes of the body */

static void
ngx_http_ftgw_files_step(ngx_event_t *ev)
{
    ssize_t                     n;
    size_t                      budget;
    ngx_buf_t                  *b;
    ngx_chain_t                *cl;
    ngx_connection_t           *c;
    ngx_http_request_t         *r;
    ngx_http_request_body_t    *rb;
    ngx_http_ftgw_files_ctx_t  *ctx;

    r = ev->data;
    c = r->connection;
    ctx = ngx_http_get_module_ctx(r, ngx_http_ftgw_module);
    rb = r->request_body;

    if (rb == NULL) {
        ngx_http_ftgw_files_end(r, ctx);
        goto done;
    }

    if (rb->temp_file == NULL) {
        /* an empty body, or one nginx kept in memory */
        for (cl = rb->bufs; cl; cl = cl->next) {
            b = cl->buf;

            if (!b->in_file && b->last > b->pos
                && gw_upload_feed(ctx->upload, (const char *) b->pos,
                                  b->last - b->pos)
                   != 0)
            {
                break;
            }
        }

        ngx_http_ftgw_files_end(r, ctx);
        goto done;
    }

    for (budget = 0; budget < NGX_HTTP_FTGW_FILES_STEP; budget += n) {

        n = ngx_read_file(&rb->temp_file->file, ctx->buf,
                          NGX_HTTP_FTGW_FILES_BUF, ctx->offset);

        if (n == NGX_ERROR) {
            ngx_http_finalize_request(r, NGX_HTTP_SERVICE_UNAVAILABLE);
            goto done;
        }

        if (n == 0) {
            ngx_http_ftgw_files_end(r, ctx);
            goto done;
        }

        ctx->offset += n;

        if (gw_upload_feed(ctx->upload, (const char *) ctx->buf, n) != 0) {
            ngx_http_ftgw_files_end(r, ctx);
            goto done;
        }
    }

    /* more to read: let the event loop serve others first */
    ngx_post_event(&ctx->step, &ngx_posted_events);
    return;

done:

    ngx_http_run_posted_requests(c);
}


/* the body is read (or refused): the file in place, or nothing at all */

static void
ngx_http_ftgw_files_end(ngx_http_request_t *r, ngx_http_ftgw_files_ctx_t *ctx)
{
    char       *body;
    size_t      len;
    gw_file_t   f;
    gw_error_t  err;

    if (gw_upload_finish(ctx->upload, &f) != 0) {
        err = *gw_upload_error(ctx->upload);
        gw_upload_abort(ctx->upload);
        ctx->upload = NULL;

        ngx_http_finalize_request(r, ngx_http_ftgw_files_error(r, ctx, &err));
        return;
    }

    gw_upload_abort(ctx->upload);           /* frees; nothing left to undo */
    ctx->upload = NULL;

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "ftgw: client \"%s\" uploaded %s (%O bytes, %s)",
                  ctx->fr.client->name, f.id, (off_t) f.bytes,
                  f.status == GW_FILE_PROCESSED ? "processed" : "error");

    ngx_cpystrn((u_char *) ctx->file_id, (u_char *) f.id,
                sizeof(ctx->file_id));
    ctx->log.info.file_id = ctx->file_id;
    ctx->log.info.file_change = 1;
    ctx->log.info.file_bytes = f.bytes;

    body = gw_file_json(&f, &len);
    if (body == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_SERVICE_UNAVAILABLE);
        return;
    }

    ngx_http_finalize_request(r, ngx_http_ftgw_files_json(r, ctx,
                                                          NGX_HTTP_OK, body,
                                                          len));
}


static ngx_int_t
ngx_http_ftgw_files_content(ngx_http_request_t *r,
    ngx_http_ftgw_files_ctx_t *ctx)
{
    char                        path[GW_FILES_PATH_MAX];
    ngx_fd_t                    fd;
    ngx_int_t                   rc;
    ngx_buf_t                  *b;
    gw_file_t                   f;
    gw_error_t                  err;
    ngx_file_t                 *file;
    ngx_chain_t                 out;
    ngx_file_info_t             fi;
    ngx_pool_cleanup_t         *cln;
    ngx_pool_cleanup_file_t    *clnf;
    ngx_http_ftgw_main_conf_t  *fmcf;

    fmcf = ngx_http_get_module_main_conf(r, ngx_http_ftgw_module);

    fd = NGX_INVALID_FILE;

    if (gw_store_get(fmcf->gw.files_root, ctx->fr.client->name, ctx->fr.key,
                     &f)
        == 0
        && gw_store_content_path(fmcf->gw.files_root, ctx->fr.client->name,
                                 ctx->fr.key, path, sizeof(path))
           == 0)
    {
        fd = ngx_open_file(path, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    }

    if (fd == NGX_INVALID_FILE) {
        ngx_memzero(&err, sizeof(gw_error_t));
        err.http_status = NGX_HTTP_NOT_FOUND;
        err.type = "not_found_error";
        ngx_cpystrn((u_char *) err.param, (u_char *) "id", sizeof(err.param));
        ngx_cpystrn((u_char *) err.code, (u_char *) "file_not_found",
                    sizeof(err.code));
        ngx_snprintf((u_char *) err.message, sizeof(err.message) - 1,
                     "No such File object: %s%Z", ctx->fr.id);
        return ngx_http_ftgw_files_error(r, ctx, &err);
    }

    cln = ngx_pool_cleanup_add(r->pool, sizeof(ngx_pool_cleanup_file_t));
    if (cln == NULL) {
        ngx_close_file(fd);
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    cln->handler = ngx_pool_cleanup_file;
    clnf = cln->data;
    clnf->fd = fd;
    clnf->name = (u_char *) "ftgw file";
    clnf->log = r->pool->log;

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    if (ngx_http_ftgw_files_request_id(r, ctx) != NGX_OK) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_type = ngx_http_ftgw_files_octet_type;
    r->headers_out.content_type_len = ngx_http_ftgw_files_octet_type.len;
    r->headers_out.content_length_n = ngx_file_size(&fi);

    if (ngx_file_size(&fi) == 0) {
        r->header_only = 1;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    file = ngx_pcalloc(r->pool, sizeof(ngx_file_t));
    if (b == NULL || file == NULL) {
        return NGX_ERROR;
    }

    file->fd = fd;
    file->name.data = (u_char *) "ftgw file";
    file->name.len = sizeof("ftgw file") - 1;
    file->log = r->connection->log;
    file->directio = 0;

    b->file = file;
    b->file_pos = 0;
    b->file_last = ngx_file_size(&fi);
    b->in_file = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


static ngx_int_t
ngx_http_ftgw_files_request_id(ngx_http_request_t *r,
    ngx_http_ftgw_files_ctx_t *ctx)
{
    ngx_table_elt_t  *h;

    if (ctx->fr.request_id[0] == '\0') {
        return NGX_OK;
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "x-request-id");
    h->value.data = (u_char *) ctx->fr.request_id;
    h->value.len = ngx_strlen(ctx->fr.request_id);

    return NGX_OK;
}


static ngx_int_t
ngx_http_ftgw_files_error(ngx_http_request_t *r,
    ngx_http_ftgw_files_ctx_t *ctx, const gw_error_t *err)
{
    char    *body;
    size_t   len;

    if (err->code[0] != '\0') {
        ngx_cpystrn((u_char *) ctx->error_code, (u_char *) err->code,
                    sizeof(ctx->error_code));
        ctx->log.info.error_code = ctx->error_code;
    }

    body = gw_files_error_json(err, &len);
    if (body == NULL) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    return ngx_http_ftgw_files_json(r, ctx, err->http_status, body, len);
}


/* sends body (from gw_files_*: copied to the pool, then freed) */

static ngx_int_t
ngx_http_ftgw_files_json(ngx_http_request_t *r,
    ngx_http_ftgw_files_ctx_t *ctx, ngx_uint_t status, char *body,
    size_t len)
{
    u_char       *p;
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    p = ngx_pnalloc(r->pool, len ? len : 1);
    if (p == NULL) {
        gw_files_free(body);
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    ngx_memcpy(p, body, len);
    gw_files_free(body);

    if (ngx_http_ftgw_files_request_id(r, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    r->headers_out.status = status;
    r->headers_out.content_type = ngx_http_ftgw_files_json_type;
    r->headers_out.content_type_len = ngx_http_ftgw_files_json_type.len;
    r->headers_out.content_length_n = len;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = p;
    b->last = p + len;
    b->memory = 1;
    b->last_buf = 1;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}
