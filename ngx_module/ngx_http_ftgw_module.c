
/*
 * Fine-tuning gateway: directives and configuration.
 *
 *     ftgw_secret_file  /etc/nginx/ftgw/id.secret;   (one key a line)
 *     ftgw_client       demo /etc/nginx/ftgw/demo.key;
 *     ftgw_provider     clova kind=clova endpoint=/_ftgw/clova
 *                       auth=bearer api_key_file=...
 *                       storage_access_key_file=...
 *                       storage_secret_key_file=...;
 *
 *     location /v1/fine_tuning/ {
 *         ftgw_api  on;
 *     }
 *
 * Every "<name>_file=<path>" provider parameter is read at configuration
 * time and handed to the vendor as the secret parameter "<name>".
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_ftgw_module.h"


#define NGX_HTTP_FTGW_SECRET_MAX   65536


/* where a directive was written, for messages given after parsing */
typedef struct {
    ngx_str_t                    file;
    ngx_uint_t                   line;
} ngx_http_ftgw_site_t;


/* a server{} with "ftgw_api on", and where its first one is */
typedef struct {
    ngx_http_core_srv_conf_t    *cscf;
    ngx_http_ftgw_site_t         api;
} ngx_http_ftgw_server_t;


/* one location that a provider names, checked in one server */
typedef struct {
    gw_provider_t               *provider;
    ngx_http_ftgw_site_t        *site;
    ngx_http_ftgw_server_t      *server;
    const char                  *param;        /* "endpoint", ... */
    ngx_str_t                    uri;          /* "<endpoint>/" */
} ngx_http_ftgw_endpoint_t;


static void *ngx_http_ftgw_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_ftgw_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_ftgw_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_ftgw_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_ftgw_init(ngx_conf_t *cf);
static ngx_int_t ngx_http_ftgw_request_id_index(ngx_conf_t *cf);
static char *ngx_http_ftgw_secret_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_ftgw_client(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_ftgw_provider(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static gw_provider_t *ngx_http_ftgw_provider_add(ngx_conf_t *cf,
    ngx_http_ftgw_main_conf_t *fmcf, ngx_str_t *name);
static ngx_int_t ngx_http_ftgw_provider_param(ngx_conf_t *cf,
    gw_provider_t *p, ngx_str_t *arg, char **kind);
static ngx_int_t ngx_http_ftgw_provider_value(ngx_conf_t *cf,
    gw_param_t *param, ngx_str_t *name, ngx_str_t *value);
static ngx_int_t ngx_http_ftgw_provider_kind(ngx_conf_t *cf,
    gw_provider_t *p, char *kind);
static ngx_int_t ngx_http_ftgw_check_endpoints(ngx_conf_t *cf,
    ngx_http_ftgw_main_conf_t *fmcf);
static ngx_int_t ngx_http_ftgw_check_provider(ngx_conf_t *cf,
    ngx_http_ftgw_endpoint_t *ep);
static ngx_uint_t ngx_http_ftgw_names_location(gw_provider_t *p,
    gw_param_t *param);
static ngx_int_t ngx_http_ftgw_check_endpoint(ngx_conf_t *cf,
    ngx_http_ftgw_endpoint_t *ep, const char *endpoint);
static ngx_http_core_loc_conf_t *
    ngx_http_ftgw_find_prefix(ngx_http_core_loc_conf_t *pclcf, ngx_str_t *uri);
static ngx_http_core_loc_conf_t *
    ngx_http_ftgw_find_open(ngx_http_location_tree_node_t *node,
    ngx_str_t *uri);
static ngx_uint_t ngx_http_ftgw_under(ngx_http_core_loc_conf_t *clcf,
    ngx_str_t *uri);
static void ngx_http_ftgw_endpoint_error(ngx_conf_t *cf,
    ngx_http_ftgw_endpoint_t *ep, ngx_http_core_loc_conf_t *clcf);
static char *ngx_http_ftgw_api(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_ftgw_read_secret(ngx_conf_t *cf, ngx_str_t *path,
    ngx_str_t *secret);


static ngx_command_t  ngx_http_ftgw_commands[] = {

    { ngx_string("ftgw_secret_file"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_ftgw_secret_file,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ftgw_client"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_http_ftgw_client,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ftgw_provider"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_2MORE,
      ngx_http_ftgw_provider,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ftgw_route"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_2MORE,
      ngx_http_ftgw_route,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ftgw_routes_only"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_ftgw_main_conf_t, routes_only),
      NULL },

    { ngx_string("ftgw_idempotency_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_ftgw_main_conf_t, idem_size),
      NULL },

    { ngx_string("ftgw_files"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_ftgw_files_directive,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ftgw_metrics_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_ftgw_main_conf_t, metrics_size),
      NULL },

    { ngx_string("ftgw_metrics"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_ftgw_metrics_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ftgw_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_http_ftgw_api,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ftgw_loc_conf_t, enable),
      NULL },

    { ngx_string("ftgw_max_body_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ftgw_loc_conf_t, max_body_size),
      NULL },

    { ngx_string("ftgw_vendor_response_max"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ftgw_loc_conf_t, vendor_response_max),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_ftgw_module_ctx = {
    ngx_http_ftgw_add_variables,           /* preconfiguration */
    ngx_http_ftgw_init,                    /* postconfiguration */

    ngx_http_ftgw_create_main_conf,        /* create main configuration */
    ngx_http_ftgw_init_main_conf,          /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_ftgw_create_loc_conf,         /* create location configuration */
    ngx_http_ftgw_merge_loc_conf           /* merge location configuration */
};


ngx_module_t  ngx_http_ftgw_module = {
    NGX_MODULE_V1,
    &ngx_http_ftgw_module_ctx,             /* module context */
    ngx_http_ftgw_commands,                /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_ftgw_init_process,            /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_str_t  ngx_http_ftgw_request_id = ngx_string("request_id");
static ngx_str_t  ngx_http_ftgw_content_length =
    ngx_string("content_length");


static void *
ngx_http_ftgw_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_ftgw_main_conf_t  *fmcf;

    fmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_ftgw_main_conf_t));
    if (fmcf == NULL) {
        return NULL;
    }

    /* before the first cJSON object, so that every one is freed alike */
    gw_mem_init();

    fmcf->providers = ngx_array_create(cf->pool, 4, sizeof(gw_provider_t));
    if (fmcf->providers == NULL) {
        return NULL;
    }

    fmcf->clients = ngx_array_create(cf->pool, 4, sizeof(gw_client_t));
    if (fmcf->clients == NULL) {
        return NULL;
    }

    fmcf->routes = ngx_array_create(cf->pool, 4, sizeof(gw_model_route_t));
    if (fmcf->routes == NULL) {
        return NULL;
    }

    fmcf->routes_only = NGX_CONF_UNSET;
    fmcf->idem_size = NGX_CONF_UNSET_SIZE;
    fmcf->metrics_size = NGX_CONF_UNSET_SIZE;

    fmcf->sites = ngx_array_create(cf->pool, 4,
                                   sizeof(ngx_http_ftgw_site_t));
    if (fmcf->sites == NULL) {
        return NULL;
    }

    fmcf->servers = ngx_array_create(cf->pool, 1,
                                     sizeof(ngx_http_ftgw_server_t));
    if (fmcf->servers == NULL) {
        return NULL;
    }

    return fmcf;
}


static char *
ngx_http_ftgw_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_ftgw_main_conf_t *fmcf = conf;

    fmcf->gw.providers = fmcf->providers->elts;
    fmcf->gw.nproviders = fmcf->providers->nelts;
    fmcf->gw.clients = fmcf->clients->elts;
    fmcf->gw.nclients = fmcf->clients->nelts;
    fmcf->gw.id_keys = fmcf->id_keys;
    fmcf->gw.files_root = (const char *) fmcf->files_root.data;

    if ((fmcf->providers->nelts || fmcf->clients->nelts)
        && fmcf->gw.nid_keys == 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ftgw_secret_file\" is required with "
                           "\"ftgw_provider\" and \"ftgw_client\"");
        return NGX_CONF_ERROR;
    }

    if (ngx_http_ftgw_routes_check(cf, fmcf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_ftgw_tokens_add(cf, fmcf) != NGX_OK
        || ngx_http_ftgw_idem_add(cf, fmcf) != NGX_OK
        || ngx_http_ftgw_metrics_add(cf, fmcf) != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_ftgw_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_ftgw_loc_conf_t  *flcf;

    flcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_ftgw_loc_conf_t));
    if (flcf == NULL) {
        return NULL;
    }

    flcf->enable = NGX_CONF_UNSET;
    flcf->max_body_size = NGX_CONF_UNSET_SIZE;
    flcf->vendor_response_max = NGX_CONF_UNSET_SIZE;

    return flcf;
}


static char *
ngx_http_ftgw_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_ftgw_loc_conf_t *prev = parent;
    ngx_http_ftgw_loc_conf_t *conf = child;

    ngx_http_core_loc_conf_t   *clcf;
    ngx_http_ftgw_main_conf_t  *fmcf;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);
    ngx_conf_merge_size_value(conf->max_body_size, prev->max_body_size,
                              64 * 1024);
    ngx_conf_merge_size_value(conf->vendor_response_max,
                              prev->vendor_response_max, 1024 * 1024);

    if (!conf->enable) {
        return NGX_CONF_OK;
    }

    fmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_ftgw_module);

    if (fmcf->clients->nelts == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ftgw_api\" needs at least one \"ftgw_client\"");
        return NGX_CONF_ERROR;
    }

    /*
     * the core module merged first: keep every accepted body in one
     * memory buffer; client_max_body_size (1m by default) still bounds
     * what a chunked body may send before it is refused
     */
    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->client_body_buffer_size < conf->max_body_size) {
        clcf->client_body_buffer_size = conf->max_body_size;
    }

    ngx_http_ftgw_files_merge(cf, clcf);

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_ftgw_init(ngx_conf_t *cf)
{
    ngx_http_ftgw_main_conf_t  *fmcf;

    fmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_ftgw_module);

    if (ngx_http_ftgw_check_endpoints(cf, fmcf) != NGX_OK) {
        return NGX_ERROR;
    }

    fmcf->request_id_index = ngx_http_ftgw_request_id_index(cf);

    /* flushed before each vendor call: see ngx_http_ftgw_call() */
    fmcf->content_length_index = ngx_http_get_variable_index(cf,
                                               &ngx_http_ftgw_content_length);
    if (fmcf->content_length_index == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (ngx_http_ftgw_error_page_init(cf) != NGX_OK
        || ngx_http_ftgw_metrics_init(cf) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_ftgw_capture_init(cf);
}


/*
 * The index of $request_id where a directive names the variable (the
 * gateway then takes nginx's id, see ngx_http_ftgw_request_id()), or
 * NGX_DECLINED.  Looked up after the merges, which compile header values
 * such as proxy_set_header's.
 */
static ngx_int_t
ngx_http_ftgw_request_id_index(ngx_conf_t *cf)
{
    ngx_str_t                  *name;
    ngx_uint_t                  i;
    ngx_http_variable_t        *v;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    name = &ngx_http_ftgw_request_id;
    v = cmcf->variables.elts;

    for (i = 0; i < cmcf->variables.nelts; i++) {
        if (v[i].name.len == name->len
            && ngx_strncmp(v[i].name.data, name->data, name->len) == 0)
        {
            return i;
        }
    }

    return NGX_DECLINED;
}


static char *
ngx_http_ftgw_api(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_ftgw_loc_conf_t *flcf = conf;

    char                       *rv;
    ngx_uint_t                  i;
    ngx_http_ftgw_server_t     *server;
    ngx_http_core_srv_conf_t   *cscf;
    ngx_http_core_loc_conf_t   *clcf;
    ngx_http_ftgw_main_conf_t  *fmcf;

    rv = ngx_conf_set_flag_slot(cf, cmd, conf);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    if (!flcf->enable) {
        return NGX_CONF_OK;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_ftgw_handler;

    /* the server whose vendor locations ngx_http_ftgw_init() checks */
    fmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_ftgw_module);
    cscf = ngx_http_conf_get_module_srv_conf(cf, ngx_http_core_module);

    server = fmcf->servers->elts;

    for (i = 0; i < fmcf->servers->nelts; i++) {
        if (server[i].cscf == cscf) {
            return NGX_CONF_OK;
        }
    }

    server = ngx_array_push(fmcf->servers);
    if (server == NULL) {
        return NGX_CONF_ERROR;
    }

    server->cscf = cscf;
    server->api.file = cf->conf_file->file.name;
    server->api.line = cf->conf_file->line;

    return NGX_CONF_OK;
}


static char *
ngx_http_ftgw_secret_file(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_ftgw_main_conf_t *fmcf = conf;

    size_t         line, first;
    ngx_str_t     *value;
    gw_keys_rc_t   rc;

    if (fmcf->secret.data != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_http_ftgw_read_secret(cf, &value[1], &fmcf->secret) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    /* the file's content is never quoted: a message names its line only */
    rc = gw_keys_parse(fmcf->secret.data, fmcf->secret.len, fmcf->id_keys,
                       &fmcf->gw.nid_keys, &line, &first);

    switch (rc) {

    case GW_KEYS_OK:
        return NGX_CONF_OK;

    case GW_KEYS_NONE:
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "ftgw_secret_file: \"%V\" holds no key, only "
                           "comments and empty lines",
                           &value[1]);
        break;

    case GW_KEYS_SHORT:
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "ftgw_secret_file: \"%V\", line %uz: the key "
                           "holds fewer than %d bytes: use a random secret, "
                           "e.g. \"openssl rand -hex 32\"",
                           &value[1], line, GW_KEY_MIN);
        break;

    case GW_KEYS_DUPLICATE:
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "ftgw_secret_file: \"%V\", line %uz: the same key "
                           "as line %uz: give each key once",
                           &value[1], line, first);
        break;

    default: /* GW_KEYS_TOO_MANY */
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "ftgw_secret_file: \"%V\", line %uz: more than "
                           "%d keys: remove the oldest",
                           &value[1], line, GW_KEYS_MAX);
        break;
    }

    return NGX_CONF_ERROR;
}


static char *
ngx_http_ftgw_client(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_ftgw_main_conf_t *fmcf = conf;

    ngx_str_t     *value, key;
    ngx_uint_t     i;
    gw_client_t   *client, *clients;

    value = cf->args->elts;

    if (ngx_http_ftgw_valid_name(&value[1]) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "ftgw_client: invalid name \"%V\": use 1 to 32 of "
                           "A-Z, a-z, 0-9, \"_\" and \"-\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    clients = fmcf->clients->elts;

    for (i = 0; i < fmcf->clients->nelts; i++) {
        if (ngx_strcmp(clients[i].name, value[1].data) == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "ftgw_client: duplicate client \"%V\"",
                               &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    if (ngx_http_ftgw_read_secret(cf, &value[2], &key) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (key.len < 16) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "ftgw_client: the key in \"%V\" is shorter "
                           "than 16 bytes",
                           &value[2]);
        return NGX_CONF_ERROR;
    }

    /* one key, two clients: it would authenticate as only one of them */
    for (i = 0; i < fmcf->clients->nelts; i++) {
        if (clients[i].key_len == key.len
            && ngx_memcmp(clients[i].key, key.data, key.len) == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "ftgw_client: \"%V\" has the same key as "
                               "\"%s\": give each client its own",
                               &value[1], clients[i].name);
            return NGX_CONF_ERROR;
        }
    }

    client = ngx_array_push(fmcf->clients);
    if (client == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(client, sizeof(gw_client_t));

    client->name = ngx_http_ftgw_cstr(cf, value[1].data, value[1].len);
    client->key = (const char *) key.data;
    client->key_len = key.len;

    gw_client_prepare(client);

    if (client->name == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_ftgw_provider(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_ftgw_main_conf_t *fmcf = conf;

    char           *kind;
    ngx_str_t      *value;
    ngx_uint_t      i;
    gw_provider_t  *p;

    value = cf->args->elts;

    p = ngx_http_ftgw_provider_add(cf, fmcf, &value[1]);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    kind = NULL;

    for (i = 2; i < cf->args->nelts; i++) {
        if (ngx_http_ftgw_provider_param(cf, p, &value[i], &kind) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    if (ngx_http_ftgw_provider_kind(cf, p, kind) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * A new provider with a valid, unused name, and where its directive is
 * written.
 */
static gw_provider_t *
ngx_http_ftgw_provider_add(ngx_conf_t *cf, ngx_http_ftgw_main_conf_t *fmcf,
    ngx_str_t *name)
{
    ngx_uint_t             i;
    gw_provider_t         *p, *providers;
    ngx_http_ftgw_site_t  *site;

    if (ngx_http_ftgw_valid_name(name) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "ftgw_provider: invalid name \"%V\": use 1 to 32 of "
                           "A-Z, a-z, 0-9, \"_\" and \"-\"", name);
        return NULL;
    }

    providers = fmcf->providers->elts;

    for (i = 0; i < fmcf->providers->nelts; i++) {
        if (ngx_strcmp(providers[i].name, name->data) == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "ftgw_provider: duplicate provider \"%V\"",
                               name);
            return NULL;
        }
    }

    p = ngx_array_push(fmcf->providers);
    site = ngx_array_push(fmcf->sites);

    if (p == NULL || site == NULL) {
        return NULL;
    }

    ngx_memzero(p, sizeof(gw_provider_t));

    site->file = cf->conf_file->file.name;
    site->line = cf->conf_file->line;

    p->name = ngx_http_ftgw_cstr(cf, name->data, name->len);
    if (p->name == NULL) {
        return NULL;
    }

    return p;
}


/*
 * One "name=value" argument: kind= and endpoint= are the provider's own,
 * any other is a parameter for the vendor.
 */
static ngx_int_t
ngx_http_ftgw_provider_param(ngx_conf_t *cf, gw_provider_t *p, ngx_str_t *arg,
    char **kind)
{
    u_char      *eq;
    ngx_str_t    name, value;
    gw_param_t  *param;

    eq = ngx_strlchr(arg->data, arg->data + arg->len, '=');

    if (eq == NULL || eq == arg->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "ftgw_provider: invalid parameter \"%V\": "
                           "expected name=value", arg);
        return NGX_ERROR;
    }

    name.data = arg->data;
    name.len = eq - arg->data;
    value.data = eq + 1;
    value.len = arg->data + arg->len - value.data;

    if (name.len == 4 && ngx_strncmp(name.data, "kind", 4) == 0) {
        *kind = ngx_http_ftgw_cstr(cf, value.data, value.len);
        return (*kind == NULL) ? NGX_ERROR : NGX_OK;
    }

    if (name.len == 8 && ngx_strncmp(name.data, "endpoint", 8) == 0) {
        p->endpoint = ngx_http_ftgw_cstr(cf, value.data, value.len);
        return (p->endpoint == NULL) ? NGX_ERROR : NGX_OK;
    }

    /* who may use the provider, directly or through its routes */
    if (name.len == 7 && ngx_strncmp(name.data, "clients", 7) == 0) {
        return ngx_http_ftgw_client_list(cf, &value, &p->clients,
                                         &p->nclients);
    }

    if (p->nparams == GW_MAX_PARAMS) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "ftgw_provider \"%s\": too many parameters",
                           p->name);
        return NGX_ERROR;
    }

    param = &p->params[p->nparams++];

    return ngx_http_ftgw_provider_value(cf, param, &name, &value);
}


/*
 * "<name>_file=<path>" is the secret "<name>", read from the file;
 * "<name>=<value>" is the plain parameter "<name>".
 */
static ngx_int_t
ngx_http_ftgw_provider_value(ngx_conf_t *cf, gw_param_t *param,
    ngx_str_t *name, ngx_str_t *value)
{
    ngx_str_t  content;

    if (name->len > 5
        && ngx_strncmp(name->data + name->len - 5, "_file", 5) == 0)
    {
        if (ngx_http_ftgw_read_secret(cf, value, &content) != NGX_OK) {
            return NGX_ERROR;
        }

        param->name = ngx_http_ftgw_cstr(cf, name->data, name->len - 5);
        param->value = (const char *) content.data;
        param->secret = 1;

    } else {
        param->name = ngx_http_ftgw_cstr(cf, name->data, name->len);
        param->value = ngx_http_ftgw_cstr(cf, value->data, value->len);
    }

    if (param->name == NULL || param->value == NULL) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* the vendor translator of kind=, which then checks its parameters */
static ngx_int_t
ngx_http_ftgw_provider_kind(ngx_conf_t *cf, gw_provider_t *p, char *kind)
{
    char  err[256];

    if (kind == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "ftgw_provider \"%s\": needs \"kind=\"", p->name);
        return NGX_ERROR;
    }

    p->vendor = gw_vendor_find(kind);

    if (p->vendor == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "ftgw_provider \"%s\": unknown kind \"%s\"",
                           p->name, kind);
        return NGX_ERROR;
    }

    if (gw_provider_check(p, err, sizeof(err)) != GW_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "ftgw_provider \"%s\": %s",
                           p->name, err);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * Every location that a provider names (endpoint=, and each parameter
 * "<name>_endpoint=", such as Yandex's iam_endpoint=) must be internal in
 * every server that has "ftgw_api on": a vendor location that a client
 * can reach is an open relay to the vendor.  Runs after the location
 * trees are built.
 */
static ngx_int_t
ngx_http_ftgw_check_endpoints(ngx_conf_t *cf, ngx_http_ftgw_main_conf_t *fmcf)
{
    ngx_uint_t                 i, k;
    gw_provider_t             *providers;
    ngx_http_ftgw_site_t      *sites;
    ngx_http_ftgw_server_t    *servers;
    ngx_http_ftgw_endpoint_t   ep;

    providers = fmcf->providers->elts;
    sites = fmcf->sites->elts;
    servers = fmcf->servers->elts;

    for (i = 0; i < fmcf->providers->nelts; i++) {
        for (k = 0; k < fmcf->servers->nelts; k++) {
            ep.provider = &providers[i];
            ep.site = &sites[i];
            ep.server = &servers[k];

            if (ngx_http_ftgw_check_provider(cf, &ep) != NGX_OK) {
                return NGX_ERROR;
            }
        }
    }

    return NGX_OK;
}


/* one provider's locations in one server */
static ngx_int_t
ngx_http_ftgw_check_provider(ngx_conf_t *cf, ngx_http_ftgw_endpoint_t *ep)
{
    ngx_uint_t      i;
    gw_param_t     *param;
    gw_provider_t  *p;

    p = ep->provider;

    ep->param = "endpoint";

    if (ngx_http_ftgw_check_endpoint(cf, ep, p->endpoint) != NGX_OK) {
        return NGX_ERROR;
    }

    for (i = 0; i < p->nparams; i++) {
        param = &p->params[i];

        if (!ngx_http_ftgw_names_location(p, param)) {
            continue;
        }

        ep->param = param->name;

        if (ngx_http_ftgw_check_endpoint(cf, ep, param->value) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * A plain parameter "<name>_endpoint=" names a location; of a parameter
 * given twice, the first one is used.
 */
static ngx_uint_t
ngx_http_ftgw_names_location(gw_provider_t *p, gw_param_t *param)
{
    size_t  len, suffix;

    len = ngx_strlen(param->name);
    suffix = sizeof("_endpoint") - 1;

    return !param->secret
           && len > suffix
           && ngx_strcmp(param->name + len - suffix, "_endpoint") == 0
           && gw_provider_param(p, param->name) == param->value;
}


/*
 * A vendor call goes to "<endpoint>/<vendor path>".  The prefix location
 * that nginx selects for it must exist and be internal, and so must every
 * exact or prefix location that names the endpoint or starts with
 * "<endpoint>/", since some vendor path may select it.
 */
static ngx_int_t
ngx_http_ftgw_check_endpoint(ngx_conf_t *cf, ngx_http_ftgw_endpoint_t *ep,
    const char *endpoint)
{
    size_t                     len;
    ngx_http_core_loc_conf_t  *clcf, *found;

    len = ngx_strlen(endpoint);

    ep->uri.len = len + 1;
    ep->uri.data = ngx_pnalloc(cf->temp_pool, len + 1);
    if (ep->uri.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(ep->uri.data, endpoint, len);
    ep->uri.data[len] = '/';

    clcf = ep->server->cscf->ctx->loc_conf[ngx_http_core_module.ctx_index];

    found = ngx_http_ftgw_find_prefix(clcf, &ep->uri);

    if (found == NULL || !found->internal) {
        ngx_http_ftgw_endpoint_error(cf, ep, found);
        return NGX_ERROR;
    }

    found = ngx_http_ftgw_find_open(clcf->static_locations, &ep->uri);

    if (found != NULL) {
        ngx_http_ftgw_endpoint_error(cf, ep, found);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * The prefix location that nginx selects for uri among pclcf's locations
 * and their nested ones: ngx_http_core_find_static_location()'s walk of
 * the location tree, less exact locations, which match one URI only.
 */
static ngx_http_core_loc_conf_t *
ngx_http_ftgw_find_prefix(ngx_http_core_loc_conf_t *pclcf, ngx_str_t *uri)
{
    u_char                         *name;
    size_t                          len, n;
    ngx_int_t                       rc;
    ngx_http_core_loc_conf_t       *clcf, *nested;
    ngx_http_location_tree_node_t  *node;

    clcf = NULL;
    node = pclcf->static_locations;
    name = uri->data;
    len = uri->len;

    while (node != NULL) {
        n = (len <= (size_t) node->len) ? len : node->len;

        rc = ngx_filename_cmp(name, node->name, n);

        if (rc != 0) {
            node = (rc < 0) ? node->left : node->right;
            continue;
        }

        if (len < (size_t) node->len) {
            node = node->left;
            continue;
        }

        if (node->inclusive == NULL) {
            /* exact only */
            node = (len > (size_t) node->len) ? node->right : NULL;
            continue;
        }

        clcf = node->inclusive;

        if (len == (size_t) node->len) {
            break;
        }

        node = node->tree;
        name += n;
        len -= n;
    }

    if (clcf == NULL) {
        return NULL;
    }

    nested = ngx_http_ftgw_find_prefix(clcf, uri);

    return (nested != NULL) ? nested : clcf;
}


/* an exact or prefix location under uri without "internal", or NULL */
static ngx_http_core_loc_conf_t *
ngx_http_ftgw_find_open(ngx_http_location_tree_node_t *node, ngx_str_t *uri)
{
    ngx_uint_t                 i;
    ngx_http_core_loc_conf_t  *clcf[2], *open;

    if (node == NULL) {
        return NULL;
    }

    clcf[0] = node->exact;
    clcf[1] = node->inclusive;

    for (i = 0; i < 2; i++) {
        if (clcf[i] == NULL) {
            continue;
        }

        if (!clcf[i]->internal && ngx_http_ftgw_under(clcf[i], uri)) {
            return clcf[i];
        }

        open = ngx_http_ftgw_find_open(clcf[i]->static_locations, uri);
        if (open != NULL) {
            return open;
        }
    }

    open = ngx_http_ftgw_find_open(node->left, uri);

    if (open == NULL) {
        open = ngx_http_ftgw_find_open(node->right, uri);
    }

    if (open == NULL) {
        open = ngx_http_ftgw_find_open(node->tree, uri);
    }

    return open;
}


/* the location's name is "<endpoint>" or starts with "<endpoint>/" */
static ngx_uint_t
ngx_http_ftgw_under(ngx_http_core_loc_conf_t *clcf, ngx_str_t *uri)
{
    ngx_str_t  *name;

    name = &clcf->name;

    if (name->len + 1 == uri->len) {
        return ngx_filename_cmp(name->data, uri->data, name->len) == 0;
    }

    return name->len >= uri->len
           && ngx_filename_cmp(name->data, uri->data, uri->len) == 0;
}


static void
ngx_http_ftgw_endpoint_error(ngx_conf_t *cf, ngx_http_ftgw_endpoint_t *ep,
    ngx_http_core_loc_conf_t *clcf)
{
    ngx_str_t                  endpoint;
    ngx_http_ftgw_site_t      *api;
    ngx_http_core_srv_conf_t  *cscf;

    endpoint.data = ep->uri.data;
    endpoint.len = ep->uri.len - 1;

    cscf = ep->server->cscf;
    api = &ep->server->api;

    if (clcf == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "ftgw_provider \"%s\": %s \"%V\" is not an internal "
                      "location in server \"%V\" (\"ftgw_api on\" at "
                      "%V:%ui): no location matches \"%V\" in %V:%ui",
                      ep->provider->name, ep->param, &endpoint,
                      &cscf->server_name, &api->file, api->line, &ep->uri,
                      &ep->site->file, ep->site->line);
        return;
    }

    ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                  "ftgw_provider \"%s\": %s \"%V\" is not an internal "
                  "location in server \"%V\" (\"ftgw_api on\" at %V:%ui): "
                  "location \"%s%V\" lacks \"internal\" in %V:%ui",
                  ep->provider->name, ep->param, &endpoint,
                  &cscf->server_name, &api->file, api->line,
                  clcf->exact_match ? "= " : "", &clcf->name,
                  &ep->site->file, ep->site->line);
}


/*
 * Reads a credential file whole at configuration time, without its
 * trailing newline.  Its content is never logged.
 */
static ngx_int_t
ngx_http_ftgw_read_secret(ngx_conf_t *cf, ngx_str_t *path, ngx_str_t *secret)
{
    ssize_t          n;
    ngx_str_t        name, *directive;
    ngx_file_t       file;
    ngx_file_info_t  fi;

    /* messages name the directive: "ftgw_client: open() ... failed" */
    directive = cf->args->elts;
    name = *path;

    if (ngx_conf_full_name(cf->cycle, &name, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_memzero(&file, sizeof(ngx_file_t));
    file.name = name;
    file.log = cf->log;

    file.fd = ngx_open_file(name.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (file.fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "%V: " ngx_open_file_n " \"%s\" failed",
                           directive, name.data);
        return NGX_ERROR;
    }

    n = NGX_ERROR;

    if (ngx_fd_info(file.fd, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "%V: " ngx_fd_info_n " \"%s\" failed",
                           directive, name.data);
        goto done;
    }

    if (ngx_file_size(&fi) > NGX_HTTP_FTGW_SECRET_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%V: \"%s\" is too large for a credential "
                           "file", directive, name.data);
        goto done;
    }

    secret->data = ngx_pnalloc(cf->pool, (size_t) ngx_file_size(&fi) + 1);
    if (secret->data == NULL) {
        goto done;
    }

    n = ngx_read_file(&file, secret->data, (size_t) ngx_file_size(&fi), 0);

    if (n == NGX_ERROR) {
        goto done;
    }

    while (n > 0 && (secret->data[n - 1] == '\n'
                     || secret->data[n - 1] == '\r'))
    {
        n--;
    }

    secret->data[n] = '\0';
    secret->len = n;

    if (n == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%V: \"%s\" is empty",
                           directive, name.data);
        n = NGX_ERROR;
    }

done:

    if (ngx_close_file(file.fd) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ALERT, cf->log, ngx_errno,
                      ngx_close_file_n " \"%s\" failed", name.data);
    }

    return (n == NGX_ERROR) ? NGX_ERROR : NGX_OK;
}


ngx_int_t
ngx_http_ftgw_valid_name(ngx_str_t *name)
{
    u_char      c;
    ngx_uint_t  i;

    if (name->len == 0 || name->len > 32) {
        return NGX_ERROR;
    }

    for (i = 0; i < name->len; i++) {
        c = name->data[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '_' || c == '-'))
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


char *
ngx_http_ftgw_cstr(ngx_conf_t *cf, u_char *data, size_t len)
{
    u_char  *s;

    s = ngx_pnalloc(cf->pool, len + 1);
    if (s == NULL) {
        return NULL;
    }

    ngx_memcpy(s, data, len);
    s[len] = '\0';

    return (char *) s;
}
