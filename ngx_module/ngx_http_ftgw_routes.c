
/*
 * Model routes and who may use what (directives):
 *
 *     ftgw_route        support-bot provider=local model=tiny
 *                       [learning_rate=2e-4] [n_epochs=3] [batch_size=8]
 *                       [clients=alice,bob] [unsupported=drop|refuse];
 *     ftgw_routes_only  on | off;          (default off)
 *
 * and the clients= list of ftgw_provider.  The translators check the
 * routes against the providers and clients once all are read
 * (gw_routes_check(), from ngx_http_ftgw_routes_check()).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <math.h>
#include <stdlib.h>

#include "ngx_http_ftgw_module.h"


static ngx_int_t ngx_http_ftgw_route_param(ngx_conf_t *cf,
    gw_model_route_t *route, ngx_str_t *arg);
static ngx_int_t ngx_http_ftgw_route_number(ngx_conf_t *cf,
    gw_model_route_t *route, ngx_str_t *name, ngx_str_t *value);


char *
ngx_http_ftgw_route(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_ftgw_main_conf_t *fmcf = conf;

    ngx_str_t         *value;
    ngx_uint_t         i;
    gw_model_route_t  *route;

    value = cf->args->elts;

    route = ngx_array_push(fmcf->routes);
    if (route == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(route, sizeof(gw_model_route_t));

    route->name = ngx_http_ftgw_cstr(cf, value[1].data, value[1].len);
    if (route->name == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 2; i < cf->args->nelts; i++) {
        if (ngx_http_ftgw_route_param(cf, route, &value[i]) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    if (route->provider == NULL || route->model == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "ftgw_route \"%s\": provider= and model= are "
                           "required", route->name);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_ftgw_route_param(ngx_conf_t *cf, gw_model_route_t *route,
    ngx_str_t *arg)
{
    u_char     *eq;
    ngx_str_t   name, value;

    eq = ngx_strlchr(arg->data, arg->data + arg->len, '=');

    if (eq == NULL || eq == arg->data || eq + 1 == arg->data + arg->len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "ftgw_route \"%s\": invalid parameter \"%V\": "
                           "expected name=value", route->name, arg);
        return NGX_ERROR;
    }

    name.data = arg->data;
    name.len = eq - arg->data;
    value.data = eq + 1;
    value.len = arg->data + arg->len - value.data;

    if (name.len == 8 && ngx_strncmp(name.data, "provider", 8) == 0) {
        route->provider = ngx_http_ftgw_cstr(cf, value.data, value.len);
        return (route->provider == NULL) ? NGX_ERROR : NGX_OK;
    }

    if (name.len == 5 && ngx_strncmp(name.data, "model", 5) == 0) {
        route->model = ngx_http_ftgw_cstr(cf, value.data, value.len);
        return (route->model == NULL) ? NGX_ERROR : NGX_OK;
    }

    if (name.len == 7 && ngx_strncmp(name.data, "clients", 7) == 0) {
        return ngx_http_ftgw_client_list(cf, &value, &route->clients,
                                         &route->nclients);
    }

    /* what the vendor cannot honour: refused (the default) or dropped */
    if (name.len == 11 && ngx_strncmp(name.data, "unsupported", 11) == 0) {

        if (value.len == 4 && ngx_strncmp(value.data, "drop", 4) == 0) {
            route->drop_unsupported = 1;
            return NGX_OK;
        }

        if (value.len == 6 && ngx_strncmp(value.data, "refuse", 6) == 0) {
            route->drop_unsupported = 0;
            return NGX_OK;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "ftgw_route \"%s\": unsupported= must be \"drop\" "
                           "or \"refuse\"", route->name);
        return NGX_ERROR;
    }

    return ngx_http_ftgw_route_number(cf, route, &name, &value);
}


/* the route's defaults: learning_rate=, n_epochs=, batch_size= */
static ngx_int_t
ngx_http_ftgw_route_number(ngx_conf_t *cf, gw_model_route_t *route,
    ngx_str_t *name, ngx_str_t *value)
{
    char       *s, *end;
    double      d;
    ngx_int_t   n;

    if (name->len == 13
        && ngx_strncmp(name->data, "learning_rate", 13) == 0)
    {
        s = ngx_http_ftgw_cstr(cf, value->data, value->len);
        if (s == NULL) {
            return NGX_ERROR;
        }

        d = strtod(s, &end);

        /* gw_routes_check() says what range a rate must be in */
        if (*end != '\0' || !isfinite(d) || d <= 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "ftgw_route \"%s\": invalid learning_rate "
                               "\"%V\"", route->name, value);
            return NGX_ERROR;
        }

        route->learning_rate = d;
        return NGX_OK;
    }

    if ((name->len == 8 && ngx_strncmp(name->data, "n_epochs", 8) == 0)
        || (name->len == 10
            && ngx_strncmp(name->data, "batch_size", 10) == 0))
    {
        n = ngx_atoi(value->data, value->len);

        if (n <= 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "ftgw_route \"%s\": invalid %V \"%V\"",
                               route->name, name, value);
            return NGX_ERROR;
        }

        if (name->data[0] == 'n') {
            route->n_epochs = n;

        } else {
            route->batch_size = n;
        }

        return NGX_OK;
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "ftgw_route \"%s\": unknown parameter \"%V\"",
                       route->name, name);
    return NGX_ERROR;
}


/* "a,b,c": client names, checked against ftgw_client once all are read */
ngx_int_t
ngx_http_ftgw_client_list(ngx_conf_t *cf, ngx_str_t *value, char ***list,
    size_t *n)
{
    u_char      *p, *last, *comma;
    ngx_str_t    name;
    ngx_uint_t   i, count;

    last = value->data + value->len;
    count = 1;

    for (p = value->data; p < last; p++) {
        count += (*p == ',');
    }

    *list = ngx_pcalloc(cf->pool, count * sizeof(char *));
    if (*list == NULL) {
        return NGX_ERROR;
    }

    i = 0;

    for (p = value->data; p <= last; p = comma + 1) {
        comma = ngx_strlchr(p, last, ',');
        if (comma == NULL) {
            comma = last;
        }

        name.data = p;
        name.len = comma - p;

        if (ngx_http_ftgw_valid_name(&name) != NGX_OK) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid client name \"%V\" in \"clients=%V\"",
                               &name, value);
            return NGX_ERROR;
        }

        (*list)[i] = ngx_http_ftgw_cstr(cf, name.data, name.len);
        if ((*list)[i] == NULL) {
            return NGX_ERROR;
        }

        i++;
    }

    *n = count;

    return NGX_OK;
}


/* once every provider, client and route is read (init main conf) */
ngx_int_t
ngx_http_ftgw_routes_check(ngx_conf_t *cf, ngx_http_ftgw_main_conf_t *fmcf)
{
    char  err[256];

    fmcf->gw.routes = fmcf->routes->elts;
    fmcf->gw.nroutes = fmcf->routes->nelts;
    fmcf->gw.routes_only = (fmcf->routes_only == 1);
    fmcf->gw.loaded_at = (int64_t) ngx_time();

    if (gw_routes_check(&fmcf->gw, err, sizeof(err)) != GW_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "ftgw: %s", err);
        return NGX_ERROR;
    }

    return NGX_OK;
}
