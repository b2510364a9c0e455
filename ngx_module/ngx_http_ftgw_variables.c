
/*
 * Fine-tuning gateway: variables for log_format and map.
 *
 *     $ftgw_request_id $ftgw_client $ftgw_provider $ftgw_route
 *     $ftgw_operation
 *     $ftgw_job_id $ftgw_file_id $ftgw_vendor_status $ftgw_error_code
 *     $ftgw_vendor_calls $ftgw_vendor_time
 *
 * Each string is "not found" (a log line shows "-") where the request is
 * not the gateway's, or the value is unknown: the client of a request
 * whose key did not authenticate, the provider of a merged list.  The
 * two numbers are always found (0 where no vendor call was made), so
 * that a JSON log_format may print them bare.  None holds a
 * secret or client text that was not checked (see gw_log_info_t).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_ftgw_module.h"


static ngx_int_t ngx_http_ftgw_variable_info(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static const char *ngx_http_ftgw_variable_client(ngx_http_request_t *r);
static ngx_int_t ngx_http_ftgw_variable_calls(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_ftgw_variable_time(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


#define ngx_http_ftgw_info(field)  offsetof(gw_log_info_t, field)


static ngx_http_variable_t  ngx_http_ftgw_vars[] = {

    { ngx_string("ftgw_request_id"), NULL, ngx_http_ftgw_variable_info,
      ngx_http_ftgw_info(request_id), NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("ftgw_client"), NULL, ngx_http_ftgw_variable_info,
      ngx_http_ftgw_info(client), NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("ftgw_provider"), NULL, ngx_http_ftgw_variable_info,
      ngx_http_ftgw_info(provider), NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("ftgw_route"), NULL, ngx_http_ftgw_variable_info,
      ngx_http_ftgw_info(route), NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("ftgw_operation"), NULL, ngx_http_ftgw_variable_info,
      ngx_http_ftgw_info(operation), NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("ftgw_job_id"), NULL, ngx_http_ftgw_variable_info,
      ngx_http_ftgw_info(job_id), NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("ftgw_file_id"), NULL, ngx_http_ftgw_variable_info,
      ngx_http_ftgw_info(file_id), NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("ftgw_vendor_status"), NULL, ngx_http_ftgw_variable_info,
      ngx_http_ftgw_info(vendor_status), NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("ftgw_error_code"), NULL, ngx_http_ftgw_variable_info,
      ngx_http_ftgw_info(error_code), NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("ftgw_vendor_calls"), NULL, ngx_http_ftgw_variable_calls,
      0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("ftgw_vendor_time"), NULL, ngx_http_ftgw_variable_time,
      0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


ngx_int_t
ngx_http_ftgw_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_ftgw_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_ftgw_variable_info(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    const char           *value;
    ngx_http_ftgw_log_t  *log;

    log = ngx_http_ftgw_log_get(r);

    if (log != NULL) {
        value = *(const char **) ((char *) &log->info + data);

    } else if (data == ngx_http_ftgw_info(client)) {
        value = ngx_http_ftgw_variable_client(r);

    } else {
        value = NULL;
    }

    if (value == NULL || value[0] == '\0') {
        v->not_found = 1;
        return NGX_OK;
    }

    v->data = (u_char *) value;
    v->len = ngx_strlen(value);
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


/*
 * The client before the content handler has run: limit_req and
 * limit_conn key on it in their phases, which come first.  A key that
 * does not authenticate is no client (and no key for the limits).
 */
static const char *
ngx_http_ftgw_variable_client(ngx_http_request_t *r)
{
    ngx_table_elt_t            *h;
    const gw_client_t          *client;
    ngx_http_ftgw_loc_conf_t   *flcf;
    ngx_http_ftgw_main_conf_t  *fmcf;

    flcf = ngx_http_get_module_loc_conf(r, ngx_http_ftgw_module);
    h = r->headers_in.authorization;

    if (!flcf->enable || h == NULL) {
        return NULL;
    }

    fmcf = ngx_http_get_module_main_conf(r, ngx_http_ftgw_module);

    client = gw_client_authenticate(&fmcf->gw, (const char *) h->value.data,
                                    h->value.len);

    return (client != NULL) ? client->name : NULL;
}


static ngx_int_t
ngx_http_ftgw_variable_calls(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char               *p;
    ngx_http_ftgw_log_t  *log;

    log = ngx_http_ftgw_log_get(r);

    p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    v->data = p;
    v->len = ngx_sprintf(p, "%ui", log ? log->calls : 0) - p;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


/* seconds with milliseconds, as $upstream_response_time */
static ngx_int_t
ngx_http_ftgw_variable_time(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char               *p;
    ngx_msec_t            ms;
    ngx_http_ftgw_log_t  *log;

    log = ngx_http_ftgw_log_get(r);
    ms = log ? log->vendor_ms : 0;

    p = ngx_pnalloc(r->pool, NGX_TIME_T_LEN + 4);
    if (p == NULL) {
        return NGX_ERROR;
    }

    v->data = p;
    v->len = ngx_sprintf(p, "%T.%03M", (time_t) (ms / 1000), ms % 1000) - p;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}
