
/*
 * The vendor targets' driver: the fuzz input is a vendor's answer to one
 * operation of the public exchange API (gw.h), as the nginx glue drives
 * it.  Input: the operation (byte 0: create, retrieve, list, cancel,
 * events, checkpoints), the answer's HTTP status or gRPC status (byte 1),
 * then the body, given to every call the exchange makes (at most
 * FUZZ_CALLS_MAX).  The client's answer must be a JSON object with an
 * HTTP status, and never hold a provider's secret.
 *
 * A vendor id that holds a secret is refused (502) or left out of a
 * list: an id cannot be redacted (docs/testing.md#fuzzing, findings).
 */


#ifndef _FUZZ_VENDOR_H_INCLUDED_
#define _FUZZ_VENDOR_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include <gw.h>
#include <core/gw_core.h>


#define FUZZ_CALLS_MAX  8
#define FUZZ_KEY        "sk-alice-3b1f9e27c4d84a61"
#define FUZZ_NOW_MS     1700000000000LL


typedef struct {
    const char   *provider;      /* the routing name of the job */
    const char   *create_body;
    const char   *vendor_id;
    const char   *vendor_id2;
    int           grpc;          /* answers are gRPC frames */
    const char  **secrets;       /* NULL-terminated */
} fuzz_vendor_t;


static const unsigned char  fuzz_id_secret[] =
    "0123456789abcdef0123456789abcdef";

static const gw_id_key_t  fuzz_id_keys[] = {
    { fuzz_id_secret, sizeof(fuzz_id_secret) - 1 }
};

static const gw_client_t  fuzz_clients[] = {
    { "alice", FUZZ_KEY, sizeof(FUZZ_KEY) - 1, { 0 }, 0 }
};

static const int  fuzz_statuses[] = {
    200, 200, 200, 200, 201, 202, 204, 400, 401, 403, 404, 409, 413, 429,
    500, 502, 503, 504
};


static inline void
fuzz_gateway(gw_gateway_t *gw, const gw_provider_t *providers, size_t n)
{
    memset(gw, 0, sizeof(gw_gateway_t));
    gw->providers = providers;
    gw->nproviders = n;
    gw->clients = fuzz_clients;
    gw->nclients = 1;
    gw->id_keys = fuzz_id_keys;
    gw->nid_keys = 1;
    gw->loaded_at = FUZZ_NOW_MS / 1000;
}


/*
 * The one provider of a vendor target, named as its vendor kind, with
 * params (a NULL name ends them), and the gateway around it; aborts when
 * the kind is unknown.
 */
static inline void
fuzz_vendor_init(gw_gateway_t *gw, gw_provider_t *provider,
    const char *kind, const gw_param_t *params)
{
    static char  endpoint[64];

    gw_mem_init();

    snprintf(endpoint, sizeof(endpoint), "/_ftgw/%s", kind);

    memset(provider, 0, sizeof(gw_provider_t));
    provider->name = kind;
    provider->vendor = gw_vendor_find(kind);
    provider->endpoint = endpoint;

    for ( /* void */ ; params->name != NULL; params++) {
        provider->params[provider->nparams++] = *params;
    }

    if (provider->vendor == NULL) {
        abort();
    }

    fuzz_gateway(gw, provider, 1);
}


static inline const void *
fuzz_memmem(const void *hay, size_t len, const char *needle)
{
    size_t       n, i;
    const char  *h = hay;

    n = strlen(needle);

    for (i = 0; n <= len && i <= len - n; i++) {
        if (memcmp(h + i, needle, n) == 0) {
            return h + i;
        }
    }

    return NULL;
}


/*
 * 1 when a key or a string of the answer holds a secret.  The strings are
 * read decoded, as a client's JSON parser gives them: the escaped text
 * may hold a secret's bytes by chance ("\\n" then the secret without its
 * leading 'n', a first finding of fuzz_clova's long run) where no string
 * holds it.
 */
static inline int
fuzz_holds_secret(const cJSON *item, const char **secrets)
{
    const char   *str, **s;

    for ( ; item != NULL; item = item->next) {
        for (s = secrets; *s; s++) {
            str = item->string;
            if (str != NULL && fuzz_memmem(str, strlen(str), *s) != NULL) {
                return 1;
            }

            str = cJSON_IsString(item) ? item->valuestring : NULL;
            if (str != NULL && fuzz_memmem(str, strlen(str), *s) != NULL) {
                return 1;
            }
        }

        if (item->child != NULL && fuzz_holds_secret(item->child, secrets))
        {
            return 1;
        }
    }

    return 0;
}


static inline void
fuzz_vendor_run(const gw_gateway_t *gw, const fuzz_vendor_t *v,
    const uint8_t *data, size_t size)
{
    int                    op, calls;
    char                   id[GW_JOB_ID_MAX], path[GW_JOB_ID_MAX + 64];
    cJSON                 *json;
    const char            *method, *query;
    gw_call_t             *call;
    gw_job_ref_t           ref;
    gw_request_t           req;
    gw_exchange_t         *ex;
    const gw_result_t     *res;
    gw_vendor_response_t   resp;

    static const char  auth[] = "Bearer " FUZZ_KEY;

    if (size < 2) {
        return;
    }

    op = data[0] % 6;

    memset(&ref, 0, sizeof(ref));
    snprintf(ref.provider, sizeof(ref.provider), "%s", v->provider);
    snprintf(ref.vendor_id, sizeof(ref.vendor_id), "%s", v->vendor_id);
    snprintf(ref.vendor_id2, sizeof(ref.vendor_id2), "%s", v->vendor_id2);
    ref.created_at = FUZZ_NOW_MS / 1000 - 3600;

    if (gw_job_id_encode(&ref, "alice", fuzz_id_secret,
                         sizeof(fuzz_id_secret) - 1, id, sizeof(id))
        != GW_OK)
    {
        abort();
    }

    method = "GET";
    query = NULL;

    switch (op) {
    case 0:
        method = "POST";
        snprintf(path, sizeof(path), "/v1/fine_tuning/jobs");
        break;
    case 1:
        snprintf(path, sizeof(path), "/v1/fine_tuning/jobs/%s", id);
        break;
    case 2:
        snprintf(path, sizeof(path), "/v1/fine_tuning/jobs");
        query = (data[0] & 0x80) ? "limit=3" : NULL;
        break;
    case 3:
        method = "POST";
        snprintf(path, sizeof(path), "/v1/fine_tuning/jobs/%s/cancel", id);
        break;
    case 4:
        snprintf(path, sizeof(path), "/v1/fine_tuning/jobs/%s/events", id);
        break;
    default:
        snprintf(path, sizeof(path), "/v1/fine_tuning/jobs/%s/checkpoints",
                 id);
        break;
    }

    memset(&req, 0, sizeof(req));
    req.method = method;
    req.method_len = strlen(method);
    req.path = path;
    req.path_len = strlen(path);
    req.query = query;
    req.query_len = query ? strlen(query) : 0;
    req.authorization = auth;
    req.authorization_len = sizeof(auth) - 1;
    req.generated_request_id = "fuzz-req-1";
    req.now_ms = FUZZ_NOW_MS;

    ex = gw_exchange_create(gw, &req);
    if (ex == NULL) {
        abort();
    }

    if (gw_exchange_needs_body(ex)) {
        gw_exchange_set_body(ex, v->create_body, strlen(v->create_body));
    }

    memset(&resp, 0, sizeof(resp));
    resp.transport = GW_TRANSPORT_OK;
    resp.body = (const char *) data + 2;
    resp.body_len = size - 2;

    if (v->grpc) {
        resp.status = 200;
        /* mostly OK (0), else one of the 16 gRPC codes */
        resp.grpc_status = (data[1] < 128) ? 0 : data[1] % 17;
        resp.grpc_message = (resp.grpc_status != 0) ? "fuzz%20message"
                                                    : NULL;
        resp.grpc_message_len = resp.grpc_message ? 14 : 0;

    } else {
        resp.status = fuzz_statuses[data[1] % (sizeof(fuzz_statuses)
                                               / sizeof(int))];
        resp.grpc_status = -1;
    }

    for (calls = 0; gw_exchange_next(ex, &call) == GW_NEXT_CALL; calls++) {
        if (calls == FUZZ_CALLS_MAX) {
            resp.transport = GW_TRANSPORT_UNREACHABLE;
        }

        gw_exchange_feed(ex, &resp);

        if (calls > FUZZ_CALLS_MAX + 4) {
            fprintf(stderr, "the exchange calls on after a failure\n");
            abort();
        }
    }

    res = gw_exchange_result(ex);

    if (res == NULL || res->http_status < 200 || res->http_status > 599
        || res->body == NULL)
    {
        fprintf(stderr, "no answer\n");
        abort();
    }

    json = cJSON_ParseWithLength(res->body, res->body_len);

    if (json == NULL || !cJSON_IsObject(json)) {
        fprintf(stderr, "the answer is no JSON object: %.*s\n",
                (int) res->body_len, res->body);
        abort();
    }

    /* what the client reads: every key and string, decoded */
    if (fuzz_holds_secret(json, v->secrets)) {
        fprintf(stderr, "a secret in the answer: %.*s\n",
                (int) res->body_len, res->body);
        abort();
    }

    cJSON_Delete(json);

    gw_exchange_free(ex);
}


#endif /* _FUZZ_VENDOR_H_INCLUDED_ */
