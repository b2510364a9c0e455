
/*
 * Yandex's IAM answer (vendors/gw_yandex.c, auth=iam): the token that a
 * service account's signed JWT is exchanged for.  Byte 0 picks the
 * operation (as fuzz_vendor.h), byte 1 the IAM answer's HTTP status, the
 * rest is the IAM answer's body.  The gRPC calls that follow are
 * answered NOT_FOUND.  No cache: every exchange fetches a token.  The
 * client's answer is a JSON object that does not hold the configured
 * key.  Not checked: parts of it (a PEM line, "PRIVATE KEY"), which the
 * gateway redacts only as a whole; an IAM answer that echoes such text
 * reaches the client in the error message (iam_exchange_failed) as it
 * came, which is no leak of the gateway's (the IAM service wrote it).
 */


#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "fuzz_vendor.h"


#define IAM_EP  "/_iam"


static gw_provider_t  providers[1];
static gw_gateway_t   gw;
static char           pem_line[128];     /* the PEM's second line */
static const char    *secrets[] = { NULL, NULL };   /* the key's JSON */


static char *
key_json(void)
{
    BIO       *bio;
    char      *pem, *out, *nl;
    long       len;
    size_t     n;
    cJSON     *j;
    EVP_PKEY  *key;

    key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 2048);
    bio = BIO_new(BIO_s_mem());

    if (key == NULL || bio == NULL
        || PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)
           != 1)
    {
        abort();
    }

    len = BIO_get_mem_data(bio, &pem);
    pem = strndup(pem, (size_t) len);
    BIO_free(bio);
    EVP_PKEY_free(key);

    if (pem == NULL || (nl = strchr(pem, '\n')) == NULL) {
        abort();
    }

    n = strcspn(nl + 1, "\n");
    if (n + 1 > sizeof(pem_line)) {
        abort();
    }

    memcpy(pem_line, nl + 1, n);

    j = cJSON_CreateObject();
    if (j == NULL
        || cJSON_AddStringToObject(j, "id", "ajekeyid00000000001") == NULL
        || cJSON_AddStringToObject(j, "service_account_id",
                                   "ajeserviceacct00001") == NULL
        || cJSON_AddStringToObject(j, "private_key", pem) == NULL)
    {
        abort();
    }

    out = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    free(pem);

    return out;
}


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    gw_mem_init();

    providers[0].name = "yciam";
    providers[0].vendor = gw_vendor_find("yandex");
    providers[0].endpoint = "/_ftgw/yciam";
    providers[0].params[0] =
        (gw_param_t) { "folder_id", "b1gfolderiam0000002", 0 };
    providers[0].params[1] = (gw_param_t) { "auth", "iam", 0 };
    secrets[0] = key_json();
    providers[0].params[2] =
        (gw_param_t) { "service_account_key", secrets[0], 1 };
    providers[0].params[3] = (gw_param_t) { "iam_endpoint", IAM_EP, 0 };
    providers[0].nparams = 4;

    if (providers[0].vendor == NULL) {
        abort();
    }

    fuzz_gateway(&gw, providers, 1);
    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                    calls;
    cJSON                 *json;
    gw_call_t             *call;
    gw_request_t           req;
    gw_exchange_t         *ex;
    const char           **s;
    const gw_result_t     *res;
    gw_vendor_response_t   iam, grpc;

    static const char  auth[] = "Bearer " FUZZ_KEY;
    static const char  body[] = "{\"model\":\"yciam/yandexgpt-lite\","
                                "\"training_file\":\"yandex://dataset/d\"}";

    if (size < 2) {
        return 0;
    }

    memset(&req, 0, sizeof(req));
    req.method = (data[0] & 1) ? "POST" : "GET";
    req.method_len = strlen(req.method);
    req.path = "/v1/fine_tuning/jobs";
    req.path_len = strlen(req.path);
    req.authorization = auth;
    req.authorization_len = sizeof(auth) - 1;
    req.generated_request_id = "fuzz-req-1";
    req.now_ms = FUZZ_NOW_MS;

    ex = gw_exchange_create(&gw, &req);
    if (ex == NULL) {
        abort();
    }

    if (gw_exchange_needs_body(ex)) {
        gw_exchange_set_body(ex, body, sizeof(body) - 1);
    }

    memset(&iam, 0, sizeof(iam));
    iam.transport = GW_TRANSPORT_OK;
    iam.status = fuzz_statuses[data[1] % (sizeof(fuzz_statuses)
                                          / sizeof(int))];
    iam.body = (const char *) data + 2;
    iam.body_len = size - 2;
    iam.grpc_status = -1;

    memset(&grpc, 0, sizeof(grpc));
    grpc.transport = GW_TRANSPORT_OK;
    grpc.status = 200;
    grpc.body = "";
    grpc.grpc_status = 5;
    grpc.grpc_message = "not%20found";
    grpc.grpc_message_len = 11;

    for (calls = 0; gw_exchange_next(ex, &call) == GW_NEXT_CALL; calls++) {
        if (calls > FUZZ_CALLS_MAX) {
            fprintf(stderr, "the exchange calls on\n");
            abort();
        }

        gw_exchange_feed(ex, (call->endpoint != NULL
                              && strcmp(call->endpoint, IAM_EP) == 0)
                             ? &iam : &grpc);
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

    for (s = secrets; *s; s++) {
        if (fuzz_memmem(res->body, res->body_len, *s) != NULL) {
            fprintf(stderr, "a secret in the answer: %.*s\n",
                    (int) res->body_len, res->body);
            abort();
        }
    }

    gw_exchange_free(ex);

    return 0;
}
