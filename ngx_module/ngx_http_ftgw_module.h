
/*
 * Fine-tuning gateway: the OpenAI fine-tuning jobs API in front of
 * vendor tuning APIs.  The nginx glue: directives, the content handler,
 * and vendor calls as subrequests to internal proxy_pass locations.
 */


#ifndef _NGX_HTTP_FTGW_MODULE_H_INCLUDED_
#define _NGX_HTTP_FTGW_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <gw.h>


typedef struct {
    gw_gateway_t                 gw;
    ngx_shm_zone_t              *tokens;
    ngx_array_t                 *providers;     /* gw_provider_t */
    ngx_array_t                 *clients;       /* gw_client_t */
    ngx_array_t                 *routes;        /* gw_model_route_t */
    ngx_flag_t                   routes_only;
    ngx_shm_zone_t              *idem;          /* Idempotency-Key */
    size_t                       idem_size;
    ngx_array_t                 *sites;         /* one a provider */
    ngx_array_t                 *servers;       /* with "ftgw_api on" */
    ngx_str_t                    secret;        /* ftgw_secret_file */
    gw_id_key_t                  id_keys[GW_KEYS_MAX];  /* in secret */
    ngx_int_t                    request_id_index;  /* or NGX_DECLINED */
    ngx_int_t                    content_length_index;
    ngx_str_t                    files_root;        /* ftgw_files */
    off_t                        files_max_size;
    ngx_shm_zone_t              *metrics;       /* or NULL: none kept */
    size_t                       metrics_size;
    ngx_flag_t                   metrics_served;    /* "ftgw_metrics" */
} ngx_http_ftgw_main_conf_t;


typedef struct {
    ngx_flag_t                   enable;
    size_t                       max_body_size;
    size_t                       vendor_response_max;
} ngx_http_ftgw_loc_conf_t;


/*
 * What the log variables and the metrics read of a request: the first
 * member of each request context that this module sets (the jobs' and
 * the files'), so that either is read alike.
 */
typedef struct {
    gw_exchange_t               *exchange;      /* read when asked, or */
    gw_log_info_t                info;          /* as the files set it */
    ngx_uint_t                   calls;         /* vendor calls */
    ngx_msec_t                   vendor_ms;     /* their time, summed */
} ngx_http_ftgw_log_t;


typedef struct {
    ngx_http_ftgw_log_t          log;           /* first */
    gw_exchange_t               *exchange;
    ngx_http_ftgw_main_conf_t   *fmcf;

    /* the vendor call in flight */
    ngx_http_request_t          *subrequest;
    ngx_uint_t                   done;
    ngx_int_t                    rc;
    ngx_uint_t                   status;
    u_char                      *body;
    size_t                       body_len;
    size_t                       body_size;
    ngx_uint_t                   too_large;
    gw_call_t                   *call;
    ngx_msec_t                   call_start;
    ngx_int_t                    grpc_status;    /* -1: none */
    ngx_str_t                    grpc_message;
    ngx_str_t                    retry_after;

    /* Idempotency-Key on create */
    u_char                       idem_key[32];
    u_char                       idem_body[32];
    ngx_uint_t                   idem_owner;     /* holds the key's lock */
    ngx_event_t                  idem_wait;      /* another holds it */
    const char                  *create_body;    /* read, for the key */
    size_t                       create_len;

    /* the exchange's next bounded step, after the event loop has run */
    ngx_event_t                  work;
    /* a vendor call asked for later (a poll), and its timer */
    gw_call_t                   *delayed;
    ngx_event_t                  delay;
} ngx_http_ftgw_ctx_t;


ngx_int_t ngx_http_ftgw_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_ftgw_init_process(ngx_cycle_t *cycle);
ngx_int_t ngx_http_ftgw_call(ngx_http_request_t *r, ngx_http_ftgw_ctx_t *ctx,
    gw_call_t *call);
void ngx_http_ftgw_response(ngx_http_ftgw_ctx_t *ctx,
    gw_vendor_response_t *resp);
ngx_int_t ngx_http_ftgw_capture_init(ngx_conf_t *cf);
ngx_int_t ngx_http_ftgw_error_page_init(ngx_conf_t *cf);
ngx_int_t ngx_http_ftgw_tokens_add(ngx_conf_t *cf,
    ngx_http_ftgw_main_conf_t *fmcf);
char *ngx_http_ftgw_route(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
ngx_int_t ngx_http_ftgw_client_list(ngx_conf_t *cf, ngx_str_t *value,
    char ***list, size_t *n);
ngx_int_t ngx_http_ftgw_routes_check(ngx_conf_t *cf,
    ngx_http_ftgw_main_conf_t *fmcf);
ngx_int_t ngx_http_ftgw_idem_add(ngx_conf_t *cf,
    ngx_http_ftgw_main_conf_t *fmcf);
ngx_int_t ngx_http_ftgw_idem_check(ngx_http_request_t *r,
    ngx_http_ftgw_ctx_t *ctx);
void ngx_http_ftgw_idem_finish(ngx_http_request_t *r,
    ngx_http_ftgw_ctx_t *ctx, const gw_result_t *res);
void ngx_http_ftgw_idem_abandon(ngx_http_ftgw_ctx_t *ctx,
    ngx_http_ftgw_main_conf_t *fmcf);
ngx_int_t ngx_http_ftgw_valid_name(ngx_str_t *name);
char *ngx_http_ftgw_cstr(ngx_conf_t *cf, u_char *data, size_t len);
char *ngx_http_ftgw_files_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
void ngx_http_ftgw_files_too_large(gw_error_t *err,
    ngx_http_ftgw_main_conf_t *fmcf);
void ngx_http_ftgw_files_merge(ngx_conf_t *cf,
    ngx_http_core_loc_conf_t *clcf);
ngx_int_t ngx_http_ftgw_files_handler(ngx_http_request_t *r,
    gw_request_t *req);
ngx_int_t ngx_http_ftgw_add_variables(ngx_conf_t *cf);
ngx_http_ftgw_log_t *ngx_http_ftgw_log_get(ngx_http_request_t *r);
char *ngx_http_ftgw_metrics_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_ftgw_metrics_add(ngx_conf_t *cf,
    ngx_http_ftgw_main_conf_t *fmcf);
ngx_int_t ngx_http_ftgw_metrics_init(ngx_conf_t *cf);
void ngx_http_ftgw_metrics_call(ngx_http_request_t *r,
    ngx_http_ftgw_ctx_t *ctx, gw_vendor_response_t *resp);


extern ngx_module_t  ngx_http_ftgw_module;


#endif /* _NGX_HTTP_FTGW_MODULE_H_INCLUDED_ */
