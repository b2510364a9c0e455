
/*
 * The client's request (core/gw_request.c through the exchange): byte 0
 * picks a create whose body is the rest of the input, or a list, events
 * or checkpoints request whose query string it is.  Vendor calls are
 * answered 500; the client's answer must be a JSON object.  The gateway
 * has a CLOVA provider and a Slurm one (the create bodies' "model").
 */


#include "fuzz_vendor.h"


static gw_provider_t  providers[2];
static gw_gateway_t   gw;


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    gw_mem_init();

    providers[0].name = "clova";
    providers[0].vendor = gw_vendor_find("clova");
    providers[0].endpoint = "/_ftgw/clova";
    providers[0].params[0] = (gw_param_t) { "auth", "bearer", 0 };
    providers[0].params[1] = (gw_param_t) { "api_key", "nv-key-1", 1 };
    providers[0].nparams = 2;

    providers[1].name = "local";
    providers[1].vendor = gw_vendor_find("slurm");
    providers[1].endpoint = "/_ftgw/local";
    providers[1].params[0] =
        (gw_param_t) { "models", "tiny:/srv/models/tiny", 0 };
    providers[1].params[1] = (gw_param_t) { "dataset_root", "/srv/data", 0 };
    providers[1].params[2] = (gw_param_t) { "output_root", "/srv/out", 0 };
    providers[1].params[3] =
        (gw_param_t) { "trainer", "/opt/venv/bin/ftgw-trainer", 0 };
    providers[1].nparams = 4;

    if (providers[0].vendor == NULL || providers[1].vendor == NULL) {
        abort();
    }

    fuzz_gateway(&gw, providers, 2);
    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                    op, calls;
    char                   id[GW_JOB_ID_MAX], path[GW_JOB_ID_MAX + 64];
    cJSON                 *json;
    gw_call_t             *call;
    gw_job_ref_t           ref;
    gw_request_t           req;
    gw_exchange_t         *ex;
    const gw_result_t     *res;
    gw_vendor_response_t   resp;

    static const char  auth[] = "Bearer " FUZZ_KEY;

    if (size < 1) {
        return 0;
    }

    op = data[0] % 4;

    memset(&ref, 0, sizeof(ref));
    strcpy(ref.provider, "clova");
    strcpy(ref.vendor_id, "czf9fbky");
    ref.created_at = FUZZ_NOW_MS / 1000;

    if (gw_job_id_encode(&ref, "alice", fuzz_id_secret,
                         sizeof(fuzz_id_secret) - 1, id, sizeof(id))
        != GW_OK)
    {
        abort();
    }

    memset(&req, 0, sizeof(req));
    req.method = (op == 0) ? "POST" : "GET";
    req.method_len = strlen(req.method);
    snprintf(path, sizeof(path), "/v1/fine_tuning/jobs%s%s%s",
             op >= 2 ? "/" : "", op >= 2 ? id : "",
             op == 2 ? "/events" : op == 3 ? "/checkpoints" : "");
    req.path = path;
    req.path_len = strlen(path);

    if (op != 0) {
        req.query = (const char *) data + 1;
        req.query_len = size - 1;
    }

    req.authorization = auth;
    req.authorization_len = sizeof(auth) - 1;
    req.generated_request_id = "fuzz-req-1";
    req.now_ms = FUZZ_NOW_MS;

    ex = gw_exchange_create(&gw, &req);
    if (ex == NULL) {
        abort();
    }

    if (gw_exchange_needs_body(ex)) {
        gw_exchange_set_body(ex, (const char *) data + 1, size - 1);
    }

    memset(&resp, 0, sizeof(resp));
    resp.transport = GW_TRANSPORT_OK;
    resp.status = 500;
    resp.body = "{}";
    resp.body_len = 2;
    resp.grpc_status = -1;

    for (calls = 0; gw_exchange_next(ex, &call) == GW_NEXT_CALL; calls++) {
        if (calls > FUZZ_CALLS_MAX) {
            fprintf(stderr, "the exchange calls on after a 500\n");
            abort();
        }

        gw_exchange_feed(ex, &resp);
    }

    res = gw_exchange_result(ex);

    if (res == NULL || res->body == NULL) {
        abort();
    }

    json = cJSON_ParseWithLength(res->body, res->body_len);

    if (json == NULL || !cJSON_IsObject(json)) {
        fprintf(stderr, "the answer is no JSON object: %.*s\n",
                (int) res->body_len, res->body);
        abort();
    }

    cJSON_Delete(json);
    gw_exchange_free(ex);

    return 0;
}
