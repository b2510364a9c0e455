/*
 * The JSON 413, 429 and 503 in place of nginx's own HTML pages.
 *
 * nginx refuses a body over client_max_body_size itself: before the
 * module runs (a Content-Length over it) or while reading (a chunked
 * body that grows past it).  limit_req and limit_conn refuse a request
 * before it too (429 or 503, as limit_req_status and limit_conn_status
 * say).  nginx's answer is then its HTML error page, which an OpenAI SDK
 * cannot read.  In an ftgw_api location this header filter sends the
 * OpenAI error envelope instead: file_too_large for an upload to
 * /v1/files, request_too_large for any other large body,
 * rate_limit_exceeded for a 429 (which the SDKs retry), and
 * service_unavailable for a 503.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_ftgw_module.h"
#include <gw_files.h>


static ngx_int_t ngx_http_ftgw_error_page_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_ftgw_error_page_send(ngx_http_request_t *r,
    char *json, size_t len);


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;

static ngx_str_t  ngx_http_ftgw_error_page_type =
    ngx_string("application/json");


ngx_int_t
ngx_http_ftgw_error_page_init(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_ftgw_error_page_filter;

    return NGX_OK;
}


static ngx_int_t
ngx_http_ftgw_error_page_filter(ngx_http_request_t *r)
{
    char                       *json;
    size_t                      len;
    gw_error_t                  err;
    ngx_int_t                   rc;
    ngx_http_ftgw_loc_conf_t   *flcf;
    ngx_http_ftgw_main_conf_t  *fmcf;
    ngx_http_core_loc_conf_t   *clcf;

    /* only nginx's own page: err_status is set by the special response */
    if (r != r->main
        || (r->err_status != NGX_HTTP_REQUEST_ENTITY_TOO_LARGE
            && r->err_status != NGX_HTTP_TOO_MANY_REQUESTS
            && r->err_status != NGX_HTTP_SERVICE_UNAVAILABLE)
        || r->header_only)
    {
        return ngx_http_next_header_filter(r);
    }

    flcf = ngx_http_get_module_loc_conf(r, ngx_http_ftgw_module);

    if (!flcf->enable) {
        return ngx_http_next_header_filter(r);
    }

    fmcf = ngx_http_get_module_main_conf(r, ngx_http_ftgw_module);
    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (r->err_status != NGX_HTTP_REQUEST_ENTITY_TOO_LARGE) {
        gw_error_limited(&err, (int) r->err_status);

    } else if (fmcf->files_root.data != NULL
               && gw_files_path((char *) r->uri.data, r->uri.len))
    {
        ngx_http_ftgw_files_too_large(&err, fmcf);

    } else {
        gw_error_body_too_large(&err, clcf->client_max_body_size);
    }

    json = gw_files_error_json(&err, &len);
    if (json == NULL) {
        return ngx_http_next_header_filter(r);
    }

    rc = ngx_http_ftgw_error_page_send(r, json, len);
    gw_files_free(json);

    return rc;
}


/*
 * Sends the header and the envelope, then marks the request header-only,
 * so that the special response handler that called this filter does not
 * send its HTML page after them.
 */
static ngx_int_t
ngx_http_ftgw_error_page_send(ngx_http_request_t *r, char *json,
    size_t len)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->last = ngx_cpymem(b->pos, json, len);
    b->last_buf = 1;
    b->last_in_chain = 1;

    r->headers_out.content_type = ngx_http_ftgw_error_page_type;
    r->headers_out.content_type_len = ngx_http_ftgw_error_page_type.len;
    r->headers_out.content_type_lowcase = NULL;
    r->headers_out.content_length_n = len;

    if (r->headers_out.content_length) {
        r->headers_out.content_length->hash = 0;
        r->headers_out.content_length = NULL;
    }

    rc = ngx_http_next_header_filter(r);

    if (rc == NGX_ERROR || rc > NGX_OK) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    rc = ngx_http_output_filter(r, &out);

    r->header_only = 1;

    return rc;
}
