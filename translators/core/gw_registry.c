
/*
 * The vendor registry and the helpers that every vendor's operations
 * share: provider params, call headers, transport errors, job lists.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <core/gw_core.h>


static gw_rc_t gw_provider_check_params(const gw_provider_t *p, char *err,
    size_t len);


static const gw_vendor_t  *gw_vendors[] = {
    &gw_vendor_clova,
    &gw_vendor_qianfan,
    &gw_vendor_yandex,
    &gw_vendor_slurm,
    NULL
};


const gw_vendor_t *
gw_vendor_find(const char *kind)
{
    size_t  i;

    for (i = 0; gw_vendors[i] != NULL; i++) {
        if (strcmp(gw_vendors[i]->kind, kind) == 0) {
            return gw_vendors[i];
        }
    }

    return NULL;
}


gw_rc_t
gw_provider_check(const gw_provider_t *p, char *err, size_t len)
{
    if (p->vendor == NULL) {
        snprintf(err, len, "unknown provider kind");
        return GW_ERROR;
    }

    if (p->endpoint == NULL || p->endpoint[0] != '/'
        || strpbrk(p->endpoint, "?# \t") != NULL)
    {
        snprintf(err, len, "\"endpoint\" must be an internal location path "
                 "such as /_ftgw/%s", p->name);
        return GW_ERROR;
    }

    if (gw_provider_check_params(p, err, len) != GW_OK) {
        return GW_ERROR;
    }

    return p->vendor->check_config(p, err, len);
}


/*
 * Every parameter must be one the vendor knows (a typo is an error, not
 * a silently ignored setting), and a secret must come from a file.
 */
static gw_rc_t
gw_provider_check_params(const gw_provider_t *p, char *err, size_t len)
{
    size_t                  i;
    const gw_param_spec_t  *spec;

    for (i = 0; i < p->nparams; i++) {
        for (spec = p->vendor->params; spec->name != NULL; spec++) {
            if (strcmp(spec->name, p->params[i].name) == 0) {
                break;
            }
        }

        if (spec->name == NULL || (p->params[i].secret && !spec->secret)) {
            snprintf(err, len, "unknown parameter \"%s%s\" for kind %s",
                     p->params[i].name, p->params[i].secret ? "_file" : "",
                     p->vendor->kind);
            return GW_ERROR;
        }

        if (spec->secret && !p->params[i].secret) {
            snprintf(err, len, "\"%s\" is a secret: give it as "
                     "\"%s_file=<path>\"", spec->name, spec->name);
            return GW_ERROR;
        }
    }

    return GW_OK;
}


const char *
gw_provider_param(const gw_provider_t *p, const char *name)
{
    size_t  i;

    for (i = 0; i < p->nparams; i++) {
        if (strcmp(p->params[i].name, name) == 0) {
            return p->params[i].value;
        }
    }

    return NULL;
}


/*
 * a, b and c joined into the current arena (NULL parts are empty), and
 * kept in the call's list of copies, which gw_call_reset() frees.
 */
static char *
gw_call_join(gw_call_t *call, const char *a, const char *b, const char *c)
{
    char    *s;
    size_t   la, lb, lc;

    if (call->nowned == sizeof(call->owned) / sizeof(call->owned[0])) {
        return NULL;
    }

    la = a ? strlen(a) : 0;
    lb = b ? strlen(b) : 0;
    lc = c ? strlen(c) : 0;

    s = gw_malloc(la + lb + lc + 1);
    if (s == NULL) {
        return NULL;
    }

    /* memcpy() of NULL is undefined even for 0 bytes */
    if (la) {
        memcpy(s, a, la);
    }

    if (lb) {
        memcpy(s + la, b, lb);
    }

    if (lc) {
        memcpy(s + la + lb, c, lc);
    }

    s[la + lb + lc] = '\0';
    call->owned[call->nowned++] = s;

    return s;
}


void
gw_call_reset(gw_call_t *call)
{
    size_t  i;

    gw_free(call->body);

    for (i = 0; i < call->nowned; i++) {
        gw_free(call->owned[i]);
    }

    call->provider = NULL;
    call->endpoint = NULL;
    call->method = NULL;
    call->path = "";
    call->query = "";
    call->body = NULL;
    call->body_len = 0;
    call->body_file = NULL;
    call->delay_ms = 0;
    call->nheaders = 0;
    call->failed = 0;
    call->auth = 0;
    call->nowned = 0;
}


void
gw_call_path(gw_call_t *call, const char *a, const char *b, const char *c)
{
    char  *path;

    path = gw_call_join(call, a, b, c);
    call->path = path ? path : "";
    call->failed |= (path == NULL);
}


void
gw_call_query(gw_call_t *call, const char *query)
{
    char  *q;

    q = gw_call_join(call, query, NULL, NULL);
    call->query = q ? q : "";
    call->failed |= (q == NULL);
}


void
gw_call_header(gw_call_t *call, const char *name, const char *value)
{
    char         *v;
    gw_header_t  *h;

    if (call->nheaders == GW_MAX_HEADERS) {
        call->failed = 1;
        return;
    }

    v = gw_call_join(call, value, NULL, NULL);
    if (v == NULL) {
        call->failed = 1;
        return;
    }

    h = &call->headers[call->nheaders++];
    h->name = name;
    h->value = v;
}


gw_rc_t
gw_op_push_job(gw_op_t *op, gw_job_t *job)
{
    gw_job_t  *jobs;

    jobs = gw_realloc(op->jobs, (op->njobs + 1) * sizeof(gw_job_t));
    if (jobs == NULL) {
        gw_job_free(job);
        return GW_NOMEM;
    }

    op->jobs = jobs;
    op->jobs[op->njobs++] = *job;
    gw_job_init(job);

    return GW_OK;
}


void
gw_op_reset(gw_op_t *op)
{
    size_t  i;

    gw_call_reset(&op->call);
    gw_job_free(&op->job);

    for (i = 0; i < op->njobs; i++) {
        gw_job_free(&op->jobs[i]);
    }

    gw_free(op->jobs);
    op->jobs = NULL;
    op->njobs = 0;

    gw_free(op->state);
    op->state = NULL;
}


/*
 * Before a step that changes a vendor's job (stop, cancel, delete): the
 * job read back must be the caller's, else 404 as if it did not exist.
 */
int
gw_op_owned(gw_op_t *op)
{
    gw_job_set_owner(op, &op->job);

    if (op->job.owner != NULL
        && strcmp(op->job.owner, op->client->name) == 0)
    {
        return 1;
    }

    gw_error_set(&op->err, 404, GW_TYPE_NOT_FOUND, "id", "job_not_found",
                 "Could not find the fine-tuning job");
    return 0;
}


/* ... and still queued or running, else a 409 that names its status */
int
gw_op_cancellable(gw_op_t *op)
{
    if (!gw_op_owned(op)) {
        return 0;
    }

    if (op->job.status == GW_STATUS_QUEUED
        || op->job.status == GW_STATUS_RUNNING)
    {
        return 1;
    }

    gw_error_set(&op->err, 409, GW_TYPE_CONFLICT, "id", "job_not_cancellable",
                 "The job has already finished (%s) and cannot be "
                 "cancelled", gw_status_name(op->job.status));
    return 0;
}


/*
 * Every client key is compared, in constant time, through its SHA-256
 * so that lengths leak nothing either.
 */
const gw_client_t *
gw_client_authenticate(const gw_gateway_t *gw, const char *auth, size_t len)
{
    size_t              i;
    unsigned char       given[32], key[32];
    const gw_client_t  *found;

    if (auth == NULL || len < 7 || strncasecmp(auth, "Bearer ", 7) != 0) {
        return NULL;
    }

    auth += 7;
    len -= 7;

    while (len > 0 && *auth == ' ') {
        auth++;
        len--;
    }

    gw_sha256(auth, len, given);
    found = NULL;

    for (i = 0; i < gw->nclients; i++) {
        if (gw->clients[i].prepared) {
            memcpy(key, gw->clients[i].key_sha256, sizeof(key));

        } else {
            gw_sha256(gw->clients[i].key, gw->clients[i].key_len, key);
        }

        if (gw_memeq_ct(given, key, sizeof(key)) && len > 0) {
            found = &gw->clients[i];
        }
    }

    return found;
}


int
gw_api_root(const char *path, size_t len, const char *root, size_t *after)
{
    size_t       i, k, n;
    const char  *r;

    static const char  *roots[] = {
        "/fine_tuning/jobs", "/files", "/models", NULL
    };

    for (i = 0; i < len; i++) {
        if (path[i] != '/') {
            continue;
        }

        for (k = 0; roots[k] != NULL; k++) {
            r = roots[k];
            n = strlen(r);

            if (i + n <= len && memcmp(path + i, r, n) == 0
                && (i + n == len || path[i + n] == '/'))
            {
                if (after != NULL) {
                    *after = i + n;
                }

                return strcmp(r, root) == 0;
            }
        }
    }

    return 0;
}
