
/*
 * Model routes: what a client's "model" means.  A route name is the
 * operator's (ftgw_route): it names a provider and a vendor model, with
 * defaults, for the clients it allows, so a client never changes when the
 * route moves to another vendor.  "<provider>/<vendor model>" names a
 * provider directly, where the configuration allows it.
 */


#include <math.h>
#include <stdio.h>

#include <core/gw_core.h>


static int gw_listed(char *const *list, size_t n, const char *name);
static const gw_provider_t *gw_routes_provider(const gw_gateway_t *gw,
    const char *name);
static const gw_model_route_t *gw_routes_find(const gw_gateway_t *gw,
    const char *name);
static gw_rc_t gw_route_apply(const gw_model_route_t *r,
    const gw_provider_t *p, gw_job_spec_t *spec, gw_error_t *err);
static gw_rc_t gw_route_check(const gw_gateway_t *gw,
    const gw_model_route_t *r, char *err, size_t len);


/* a NULL list allows everyone */
static int
gw_listed(char *const *list, size_t n, const char *name)
{
    size_t  i;

    if (list == NULL) {
        return 1;
    }

    for (i = 0; i < n; i++) {
        if (strcmp(list[i], name) == 0) {
            return 1;
        }
    }

    return 0;
}


static const gw_provider_t *
gw_routes_provider(const gw_gateway_t *gw, const char *name)
{
    size_t  i;

    for (i = 0; i < gw->nproviders; i++) {
        if (strcmp(gw->providers[i].name, name) == 0) {
            return &gw->providers[i];
        }
    }

    return NULL;
}


static const gw_model_route_t *
gw_routes_find(const gw_gateway_t *gw, const char *name)
{
    size_t  i;

    for (i = 0; i < gw->nroutes; i++) {
        if (strcmp(gw->routes[i].name, name) == 0) {
            return &gw->routes[i];
        }
    }

    return NULL;
}


int
gw_route_allows(const gw_gateway_t *gw, const gw_model_route_t *r,
    const gw_client_t *c)
{
    const gw_provider_t  *p;

    if (r->clients != NULL) {
        return gw_listed(r->clients, r->nclients, c->name);
    }

    p = gw_routes_provider(gw, r->provider);

    return p != NULL && gw_listed(p->clients, p->nclients, c->name);
}


int
gw_provider_allows(const gw_gateway_t *gw, const gw_provider_t *p,
    const gw_client_t *c)
{
    return !gw->routes_only && gw_listed(p->clients, p->nclients, c->name);
}


const gw_provider_t *
gw_route_resolve(const gw_gateway_t *gw, const gw_client_t *c,
    gw_job_spec_t *spec, gw_error_t *err)
{
    const gw_provider_t     *p;
    const gw_model_route_t  *r;

    r = NULL;

    if (spec->route != NULL) {
        r = gw_routes_find(gw, spec->route);

        /* a route the client may not use is one it cannot see */
        if (r == NULL || !gw_route_allows(gw, r, c)) {
            gw_error_set(err, 404, GW_TYPE_NOT_FOUND, "model",
                         "model_not_found", "The model '%s' does not exist "
                         "or you do not have access to it", spec->route);
            return NULL;
        }

        p = gw_routes_provider(gw, r->provider);

        spec->provider = gw_strdup(r->provider);
        spec->vendor_model = gw_strdup(r->model);

        if (p == NULL || spec->provider == NULL
            || spec->vendor_model == NULL)
        {
            gw_error_set(err, 503, GW_TYPE_API, NULL, "out_of_memory",
                         "The gateway is out of memory");
            return NULL;
        }

    } else {
        p = gw_routes_provider(gw, spec->provider);

        if (p == NULL) {
            gw_error_invalid(err, "model", "unknown_provider",
                             "No provider named '%.32s' is configured; "
                             "model must be a route or '<provider>/<vendor "
                             "model>'", spec->provider);
            return NULL;
        }

        if (!gw_provider_allows(gw, p, c)) {
            gw_error_set(err, 403, GW_TYPE_PERMISSION, "model",
                         "model_not_allowed", "This client may not use "
                         "provider '%s' directly: name one of its routes "
                         "(GET /v1/models)", p->name);
            return NULL;
        }
    }

    if (gw_route_apply(r, p, spec, err) != GW_OK) {
        return NULL;
    }

    return p;
}


/*
 * A route's defaults, and learning_rate_multiplier made an absolute rate
 * by the route's rate, as OpenAI's multiplies the base model's.  Without
 * a route rate the multiplier stays, and the vendor refuses it by name.
 */
static gw_rc_t
gw_route_apply(const gw_model_route_t *r, const gw_provider_t *p,
    gw_job_spec_t *spec, gw_error_t *err)
{
    double  base;

    base = (r != NULL) ? r->learning_rate : 0;

    if ((spec->present & GW_F_LR_MULTIPLIER) && base > 0) {

        if (spec->present & GW_F_LEARNING_RATE) {
            gw_error_invalid(err, "hyperparameters.learning_rate_multiplier",
                             "conflicting_parameter", "Give either "
                             "hyperparameters.learning_rate_multiplier or "
                             "tuning.learning_rate, not both");
            return GW_ERROR;
        }

        spec->learning_rate = base * spec->lr_multiplier;
        spec->learning_rate_param = "hyperparameters.learning_rate_multiplier";
        spec->present &= ~(uint64_t) GW_F_LR_MULTIPLIER;
        spec->present |= GW_F_LEARNING_RATE;

    } else if (base > 0 && !(spec->present & GW_F_LEARNING_RATE)
               && !(spec->present & GW_F_LR_MULTIPLIER))
    {
        /* the route's own rate: out of the vendor's range is its fault */
        spec->learning_rate = base;
        spec->learning_rate_param = "model";
        spec->present |= GW_F_LEARNING_RATE;
    }

    if (r == NULL) {
        return GW_OK;
    }

    spec->drop_unsupported = r->drop_unsupported;

    if (r->n_epochs > 0 && spec->n_epochs == GW_UNSET_INT) {
        spec->n_epochs = r->n_epochs;
        spec->present |= GW_F_N_EPOCHS;
    }

    if (r->batch_size > 0 && spec->batch_size == GW_UNSET_INT) {
        spec->batch_size = r->batch_size;
        spec->present |= GW_F_BATCH_SIZE;
    }

    return GW_OK;
}


/* ---- GET /v1/models ------------------------------------------------ */


static cJSON *
gw_model_object(const gw_gateway_t *gw, const char *id,
    const gw_provider_t *p, const char *vendor_model, const char *route)
{
    cJSON  *m, *v;

    m = cJSON_CreateObject();
    v = cJSON_CreateObject();

    if (m == NULL || v == NULL
        || cJSON_AddStringToObject(m, "id", id) == NULL
        || cJSON_AddStringToObject(m, "object", "model") == NULL
        || cJSON_AddNumberToObject(m, "created", (double) gw->loaded_at)
           == NULL
        || cJSON_AddStringToObject(m, "owned_by", p->name) == NULL
        || cJSON_AddStringToObject(v, "provider", p->name) == NULL
        || cJSON_AddStringToObject(v, "kind", p->vendor->kind) == NULL
        || cJSON_AddStringToObject(v, "model", vendor_model) == NULL
        || (route ? cJSON_AddStringToObject(v, "route", route)
                  : cJSON_AddNullToObject(v, "route")) == NULL)
    {
        gw_json_delete(m);
        gw_json_delete(v);
        return NULL;
    }

    cJSON_AddItemToObject(m, "vendor", v);

    return m;
}


/*
 * The models the client may fine-tune: its routes, then, where it may
 * name providers directly, the models of vendors that list theirs.  id
 * NULL: all, as a list; else that one model, or NULL.
 */
cJSON *
gw_models_json(const gw_gateway_t *gw, const gw_client_t *c, const char *id)
{
    char                     name[GW_NAME_MAX * 3], model[GW_NAME_MAX * 2];
    size_t                   i, k;
    cJSON                   *list, *data, *m;
    const gw_provider_t     *p;
    const gw_model_route_t  *r;

    list = cJSON_CreateObject();
    data = cJSON_CreateArray();

    if (list == NULL || data == NULL
        || cJSON_AddStringToObject(list, "object", "list") == NULL)
    {
        gw_json_delete(list);
        gw_json_delete(data);
        return NULL;
    }

    cJSON_AddItemToObject(list, "data", data);

    for (i = 0; i < gw->nroutes; i++) {
        r = &gw->routes[i];
        p = gw_routes_provider(gw, r->provider);

        if (p == NULL || !gw_route_allows(gw, r, c)
            || (id != NULL && strcmp(id, r->name) != 0))
        {
            continue;
        }

        m = gw_model_object(gw, r->name, p, r->model, r->name);
        if (m == NULL) {
            goto nomem;
        }

        cJSON_AddItemToArray(data, m);
    }

    for (i = 0; i < gw->nproviders; i++) {
        p = &gw->providers[i];

        if (!gw_provider_allows(gw, p, c) || p->vendor->model == NULL) {
            continue;
        }

        for (k = 0; p->vendor->model(p, k, model, sizeof(model)); k++) {
            gw_join(name, sizeof(name), p->name, "/", model);

            if (id != NULL && strcmp(id, name) != 0) {
                continue;
            }

            m = gw_model_object(gw, name, p, model, NULL);
            if (m == NULL) {
                goto nomem;
            }

            cJSON_AddItemToArray(data, m);
        }
    }

    if (id == NULL) {
        return list;
    }

    /* one model: the object itself */
    m = cJSON_DetachItemFromArray(data, 0);
    gw_json_delete(list);

    return m;

nomem:

    gw_json_delete(list);
    return NULL;
}


/* ---- configuration ------------------------------------------------- */


gw_rc_t
gw_routes_check(const gw_gateway_t *gw, char *err, size_t len)
{
    size_t  i, k;

    for (i = 0; i < gw->nproviders; i++) {
        for (k = 0; k < gw->providers[i].nclients; k++) {
            if (gw_client_by_name(gw, gw->providers[i].clients[k]) == NULL) {
                snprintf(err, len, "provider \"%s\" allows the client "
                         "\"%s\", which no ftgw_client declares",
                         gw->providers[i].name,
                         gw->providers[i].clients[k]);
                return GW_ERROR;
            }
        }
    }

    for (i = 0; i < gw->nroutes; i++) {
        if (gw_route_check(gw, &gw->routes[i], err, len) != GW_OK) {
            return GW_ERROR;
        }

        for (k = 0; k < i; k++) {
            if (strcmp(gw->routes[k].name, gw->routes[i].name) == 0) {
                snprintf(err, len, "route \"%s\" is declared twice",
                         gw->routes[i].name);
                return GW_ERROR;
            }
        }
    }

    return GW_OK;
}


/* a default the vendor could never honour would fail every job */
static gw_rc_t
gw_route_check(const gw_gateway_t *gw, const gw_model_route_t *r,
    char *err, size_t len)
{
    size_t                i;
    const gw_provider_t  *p;

    static const char  cs[] = "abcdefghijklmnopqrstuvwxyz"
                              "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:@-";

    if (r->name[0] == '\0' || strlen(r->name) > 64
        || strspn(r->name, cs) != strlen(r->name))
    {
        snprintf(err, len, "route \"%.64s\": a name is 1 to 64 characters "
                 "of [A-Za-z0-9._:@-]", r->name);
        return GW_ERROR;
    }

    p = gw_routes_provider(gw, r->provider);

    if (p == NULL) {
        snprintf(err, len, "route \"%s\" names the provider \"%.32s\", "
                 "which no ftgw_provider declares", r->name, r->provider);
        return GW_ERROR;
    }

    if (r->model[0] == '\0' || strlen(r->model) > 128
        || strspn(r->model, cs) != strlen(r->model))
    {
        snprintf(err, len, "route \"%s\": model= is 1 to 128 characters of "
                 "[A-Za-z0-9._:@-]", r->name);
        return GW_ERROR;
    }

    if ((r->learning_rate > 0
         && !(p->vendor->supported & GW_F_LEARNING_RATE))
        || (r->n_epochs > 0 && !(p->vendor->supported & GW_F_N_EPOCHS))
        || (r->batch_size > 0 && !(p->vendor->supported & GW_F_BATCH_SIZE)))
    {
        snprintf(err, len, "route \"%s\": provider \"%s\" (kind %s) cannot "
                 "take its default %s", r->name, p->name, p->vendor->kind,
                 (r->learning_rate > 0
                  && !(p->vendor->supported & GW_F_LEARNING_RATE))
                 ? "learning_rate"
                 : (r->n_epochs > 0
                    && !(p->vendor->supported & GW_F_N_EPOCHS))
                   ? "n_epochs" : "batch_size");
        return GW_ERROR;
    }

    if (r->learning_rate < 0 || !isfinite(r->learning_rate)
        || r->learning_rate > 1)
    {
        snprintf(err, len, "route \"%s\": learning_rate must be above 0 and "
                 "at most 1", r->name);
        return GW_ERROR;
    }

    for (i = 0; i < r->nclients; i++) {
        if (gw_client_by_name(gw, r->clients[i]) == NULL) {
            snprintf(err, len, "route \"%s\" allows the client \"%s\", "
                     "which no ftgw_client declares", r->name,
                     r->clients[i]);
            return GW_ERROR;
        }
    }

    return GW_OK;
}


const gw_client_t *
gw_client_by_name(const gw_gateway_t *gw, const char *name)
{
    size_t  i;

    for (i = 0; i < gw->nclients; i++) {
        if (strcmp(gw->clients[i].name, name) == 0) {
            return &gw->clients[i];
        }
    }

    return NULL;
}
