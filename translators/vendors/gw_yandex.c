
/*
 * Yandex Cloud Foundation Models tuning v1, over gRPC (Yandex documents
 * no REST mapping for it):
 *
 *   create   TuningService.Tune -> Operation (task id in its metadata)
 *   retrieve TuningService.Describe, then OperationService.Get while the
 *            task runs (steps) or TuningService.ListErrors if it failed
 *   list     TuningService.List (page tokens)
 *   cancel   TuningService.Cancel, then Describe
 *
 * Credentials: auth=api_key ("Authorization: Api-Key"), or auth=iam: an
 * IAM token got from a service-account authorized key with a PS256 JWT
 * at iam_endpoint, kept in the gateway's shared cache and refreshed
 * before it expires.
 *
 * Provider params: folder_id; auth; api_key or service_account_key;
 * iam_endpoint; operation_endpoint (default: the provider's endpoint);
 * list_page_size.  Every vendor value mapped is in a table below.
 *
 * Uploaded files (GW_OP_STAGE) become Yandex's text-to-text JSON lines,
 * staged through the Dataset API as Yandex's SDK does it: Create (a
 * draft), GetUploadDraftUrl, a PUT of the file to that presigned URL
 * through upload_endpoint (its host must be upload_host, default
 * storage.yandexcloud.net), Validate, then Describe at once and every
 * second after until the dataset is READY.  A failure after Create
 * deletes the draft.
 */


#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <core/gw_core.h>
#include <sign/gw_sign.h>

#include <google/rpc/status.pb-c.h>
#include <yandex/cloud/ai/dataset/v1/dataset_service.pb-c.h>
#include <yandex/cloud/ai/tuning/v1/tuning_service.pb-c.h>
#include <yandex/cloud/operation/operation_service.pb-c.h>


#define YX(name)    Yandex__Cloud__Ai__Tuning__V1__##name
#define yx(name)    yandex__cloud__ai__tuning__v1__##name
#define YXC(name)   YANDEX__CLOUD__AI__TUNING__V1__##name
#define YOP(name)   Yandex__Cloud__Operation__##name
#define yop(name)   yandex__cloud__operation__##name
#define YOPC(name)  YANDEX__CLOUD__OPERATION__##name

#define YDS(name)   Yandex__Cloud__Ai__Dataset__V1__##name
#define yds(name)   yandex__cloud__ai__dataset__v1__##name
#define YDSC(name)  YANDEX__CLOUD__AI__DATASET__V1__##name

#define GW_YX_TUNING     "/yandex.cloud.ai.tuning.v1.TuningService/"
#define GW_YX_OPERATION  "/yandex.cloud.operation.OperationService/"
#define GW_YX_IAM_PATH   "/iam/v1/tokens"
#define GW_YX_IAM_AUD    "https://iam.api.cloud.yandex.net/iam/v1/tokens"
#define GW_YX_OWNER      "ftgw-owner"
#define GW_YX_METADATA   "yandex.cloud.ai.tuning.v1.TuningMetadata"
#define GW_YX_DATASET    "/yandex.cloud.ai.dataset.v1.DatasetService/"
#define GW_YX_UPLOAD_HOST  "storage.yandexcloud.net"
#define GW_YX_POLL_MS      1000
#define GW_YX_POLLS_MAX    120      /* two minutes of validation */

/* Yandex requires these once the method is chosen: documented defaults */
#define GW_YX_LORA_RANK        8
#define GW_YX_LORA_ALPHA       16
#define GW_YX_VIRTUAL_TOKENS   20

/* the call an op made last, which its answer belongs to */
typedef enum {
    GW_YX_START = 0,
    GW_YX_TUNE,
    GW_YX_DESCRIBE,
    GW_YX_OPERATION_GET,
    GW_YX_LIST_ERRORS,
    GW_YX_CANCEL,
    GW_YX_LIST,
    GW_YX_DS_CREATE,
    GW_YX_DS_URL,
    GW_YX_DS_PUT,
    GW_YX_DS_VALIDATE,
    GW_YX_DS_DESCRIBE,
    GW_YX_DS_DELETE
} gw_yx_phase_t;


/*
 * What a Yandex op remembers between its calls (op->state): its sequence
 * depends on the answers, so it keeps a phase rather than counting steps.
 */
typedef struct {
    gw_yx_phase_t       phase;
    int                 authed;          /* credential holds the value */
    int                 iam_asked;       /* an IAM exchange is in flight */
    int                 retried;         /* once after UNAUTHENTICATED */
    int                 cancel_checked;  /* cancel: the owner was read */
    char                credential[2048];  /* the Authorization value */
    char                page_token[256];   /* list: the next page */
    /* stage: the draft dataset, and the error a failed one is deleted
     * for */
    char                dataset_id[64];
    int                 polls;
    gw_error_t          failure;
} gw_yx_state_t;


typedef struct {
    int                 value;
    const char         *name;
    gw_status_t         canonical;
} gw_yx_status_t;


/* a TuningRequest's params, built on the stack and packed at once */
typedef struct {
    YX(TextToTextCompletionTuningParams)             params;
    YX(TextToTextCompletionTuningParams__Scheduler)  scheduler;
    YX(TextToTextCompletionTuningParams__Optimizer)  optimizer;
    YX(TuningTypeLora)                               lora;
    YX(TuningTypePromptTune)                         prompt_tune;
    YX(SchedulerLinear)                              linear;
    YX(SchedulerConstant)                            constant;
    YX(SchedulerCosine)                              cosine;
    YX(OptimizerAdamw)                               adamw;
} gw_yx_params_t;


typedef struct {
    int                 code;
    const char         *name;
    int                 http;            /* what the client gets */
    const char         *type;
} gw_yx_code_t;


/*
 * TuningTask.Status -> OpenAI status.  Yandex documents the names only:
 * CREATED is the dataset check; DRAFT is not started; ARCHIVED and PAID
 * follow a success.  STATUS_UNSPECIFIED is decided by the operation.
 */
static const gw_yx_status_t  gw_yx_statuses[] = {
    { 0, "STATUS_UNSPECIFIED", GW_STATUS_QUEUED },
    { 1, "CREATED",            GW_STATUS_VALIDATING_FILES },
    { 2, "PENDING",            GW_STATUS_QUEUED },
    { 3, "IN_PROGRESS",        GW_STATUS_RUNNING },
    { 4, "COMPLETED",          GW_STATUS_SUCCEEDED },
    { 5, "FAILED",             GW_STATUS_FAILED },
    { 6, "CANCELED",           GW_STATUS_CANCELLED },
    { 7, "DRAFT",              GW_STATUS_QUEUED },
    { 8, "ARCHIVED",           GW_STATUS_SUCCEEDED },
    { 9, "PAID",               GW_STATUS_SUCCEEDED },
    { -1, NULL, 0 }
};


/*
 * google.rpc.Code -> the client's HTTP status.  As the reference table
 * says, except where the vendor's or the gateway credentials' failure is
 * not the client's: those are 502/503/504.
 */
static const gw_yx_code_t  gw_yx_codes[] = {
    { 0,  "OK",                  200, GW_TYPE_API },
    { 1,  "CANCELLED",           502, GW_TYPE_UPSTREAM },
    { 2,  "UNKNOWN",             502, GW_TYPE_UPSTREAM },
    { 3,  "INVALID_ARGUMENT",    400, GW_TYPE_INVALID },
    { 4,  "DEADLINE_EXCEEDED",   504, GW_TYPE_TIMEOUT },
    { 5,  "NOT_FOUND",           404, GW_TYPE_NOT_FOUND },
    { 6,  "ALREADY_EXISTS",      409, GW_TYPE_CONFLICT },
    { 7,  "PERMISSION_DENIED",   403, GW_TYPE_PERMISSION },
    { 8,  "RESOURCE_EXHAUSTED",  429, GW_TYPE_RATE_LIMIT },
    { 9,  "FAILED_PRECONDITION", 400, GW_TYPE_INVALID },
    { 10, "ABORTED",             409, GW_TYPE_CONFLICT },
    { 11, "OUT_OF_RANGE",        400, GW_TYPE_INVALID },
    { 12, "UNIMPLEMENTED",       501, GW_TYPE_API },
    { 13, "INTERNAL",            502, GW_TYPE_UPSTREAM },
    { 14, "UNAVAILABLE",         503, GW_TYPE_API },
    { 15, "DATA_LOSS",           502, GW_TYPE_UPSTREAM },
    { 16, "UNAUTHENTICATED",     502, GW_TYPE_UPSTREAM },
    { -1, NULL, 0, NULL }
};


static const gw_param_spec_t  gw_yx_param_specs[] = {
    { "folder_id", 0 },
    { "auth", 0 },
    { "api_key", 1 },
    { "service_account_key", 1 },
    { "iam_endpoint", 0 },
    { "operation_endpoint", 0 },
    { "list_page_size", 0 },
    { "upload_endpoint", 0 },
    { "upload_host", 0 },
    { NULL, 0 }
};


static gw_rc_t gw_yx_check_config(const gw_provider_t *p, char *err,
    size_t len);
static gw_step_t gw_yx_create(gw_op_t *op);
static gw_step_t gw_yx_create_steps(gw_op_t *op);
static gw_step_t gw_yx_retrieve(gw_op_t *op);
static gw_step_t gw_yx_retrieve_steps(gw_op_t *op);
static gw_step_t gw_yx_cancel(gw_op_t *op);
static gw_step_t gw_yx_cancel_steps(gw_op_t *op);
static gw_step_t gw_yx_list(gw_op_t *op);
static gw_step_t gw_yx_list_steps(gw_op_t *op);
static gw_step_t gw_yx_run(gw_op_t *op, gw_step_t (*steps)(gw_op_t *op));
static gw_step_t gw_yx_authorize(gw_op_t *op);
static gw_step_t gw_yx_iam_request(gw_op_t *op);
static gw_step_t gw_yx_iam_answer(gw_op_t *op);
static gw_step_t gw_yx_call(gw_op_t *op, const char *endpoint,
    const char *path, const ProtobufCMessage *msg, int phase);
static int gw_yx_answer(gw_op_t *op, const uint8_t **data, size_t *len);
static void gw_yx_grpc_error(gw_op_t *op, int code, const char *msg,
    size_t len);
static void gw_yx_invalid_answer(gw_op_t *op, const char *what);
static int gw_yx_validate_metadata(gw_op_t *op);
static int gw_yx_label_text(const char *s, int key);
static const gw_yx_code_t *gw_yx_code(int code);
static int gw_yx_validate(gw_op_t *op);
static int64_t gw_yx_epoch_samples(const gw_job_spec_t *s);
static gw_step_t gw_yx_tune(gw_op_t *op);
static void gw_yx_params(const gw_job_spec_t *s, gw_yx_params_t *pm);
static int gw_yx_task_to_job(gw_op_t *op, const YX(TuningTask) *t,
    gw_job_t *job);
static int gw_yx_operation_to_job(gw_op_t *op, const YOP(Operation) *o,
    gw_job_t *job);
static int gw_yx_operation_answer(gw_op_t *op, const uint8_t *data,
    size_t len);
static const gw_yx_status_t *gw_yx_status(int value);
static char *gw_yx_model_of(const char *uri);
static gw_step_t gw_yx_stage(gw_op_t *op);
static gw_step_t gw_yx_unstage(gw_op_t *op);
static void gw_yx_ds_invalid(gw_op_t *op, const YDS(DatasetInfo) *d);
static int64_t gw_yx_emit(const gw_convo_t *c, gw_out_t *o, char *why,
    size_t len);


/*
 * Yandex's text-to-text dataset: a line an assistant message that is
 * trained on ("weight" not 0), the messages before it as the request
 */
static const gw_stage_format_t  gw_yx_format = {
    "Yandex Cloud",
    "jsonl",
    "application/jsonlines",
    NULL,
    0, NULL,
    1, "a dataset has at least one row",
    0,                          /* no limit on turns */
    1,                          /* an untrained reply stays as context */
    gw_yx_emit,
    "upload_endpoint"
};


const gw_vendor_t  gw_vendor_yandex = {
    "yandex",
    GW_F_VALIDATION_FILE | GW_F_SUFFIX | GW_F_SEED | GW_F_LEARNING_RATE
    | GW_F_TUNING_TYPE | GW_F_TASK_TYPE | GW_F_LORA_RANK | GW_F_LORA_ALPHA
    | GW_F_LORA_INIT | GW_F_LORA_TYPE | GW_F_VIRTUAL_TOKENS
    | GW_F_SCHEDULER | GW_F_SCHED_MIN_LR | GW_F_SCHED_WARMUP
    | GW_F_OPTIMIZER | GW_F_N_SAMPLES | GW_F_N_EPOCHS | GW_F_DATASET_WEIGHTS
    | GW_F_MULTI_DATASETS | GW_F_DESCRIPTION | GW_F_LABELS | GW_F_METADATA,
    gw_yx_param_specs,
    gw_yx_check_config,
    sizeof(gw_yx_state_t),
    {
        gw_yx_create,           /* GW_OP_CREATE */
        gw_yx_retrieve,         /* GW_OP_RETRIEVE */
        gw_yx_cancel,           /* GW_OP_CANCEL */
        gw_yx_list,             /* GW_OP_LIST */
        NULL,                   /* GW_OP_EVENTS: synthesised */
        NULL,                   /* GW_OP_CHECKPOINTS: none */
        gw_yx_stage,            /* GW_OP_STAGE: the Dataset API */
        gw_yx_unstage           /* GW_OP_UNSTAGE */
    },
    NULL,                       /* no model list: routes only */
    &gw_yx_format
};


static gw_rc_t
gw_yx_check_config(const gw_provider_t *p, char *err, size_t len)
{
    long              n;
    char             *end, kerr[128];
    const char       *auth, *v;
    gw_yandex_key_t   key;

    v = gw_provider_param(p, "folder_id");
    if (v == NULL || v[0] == '\0' || strpbrk(v, "/ \t") != NULL) {
        snprintf(err, len, "needs \"folder_id\" (the folder that holds "
                 "the models and tunings)");
        return GW_ERROR;
    }

    auth = gw_provider_param(p, "auth");
    if (auth == NULL) {
        auth = "api_key";
    }

    if (strcmp(auth, "api_key") == 0) {
        if (gw_provider_param(p, "api_key") == NULL) {
            snprintf(err, len, "auth=api_key needs \"api_key_file\"");
            return GW_ERROR;
        }

    } else if (strcmp(auth, "iam") == 0) {
        v = gw_provider_param(p, "service_account_key");
        if (v == NULL || gw_provider_param(p, "iam_endpoint") == NULL) {
            snprintf(err, len, "auth=iam needs \"service_account_key_file\" "
                     "and \"iam_endpoint\"");
            return GW_ERROR;
        }

        if (gw_yandex_key_parse(v, strlen(v), &key, kerr, sizeof(kerr))
            != GW_OK)
        {
            snprintf(err, len, "\"service_account_key_file\": %s", kerr);
            return GW_ERROR;
        }

        gw_yandex_key_free(&key);

        v = gw_provider_param(p, "iam_endpoint");
        if (v[0] != '/') {
            snprintf(err, len, "\"iam_endpoint\" must be an internal "
                     "location path");
            return GW_ERROR;
        }

    } else {
        snprintf(err, len, "\"auth\" must be \"api_key\" or \"iam\"");
        return GW_ERROR;
    }

    v = gw_provider_param(p, "upload_endpoint");
    if (v != NULL && v[0] != '/') {
        snprintf(err, len, "\"upload_endpoint\" must be an internal "
                 "location path");
        return GW_ERROR;
    }

    v = gw_provider_param(p, "upload_host");
    if (v != NULL && (v[0] == '\0' || strpbrk(v, "/ \t\r\n") != NULL)) {
        snprintf(err, len, "\"upload_host\" must be a host name, e.g. "
                 GW_YX_UPLOAD_HOST);
        return GW_ERROR;
    }

    v = gw_provider_param(p, "operation_endpoint");
    if (v != NULL && v[0] != '/') {
        snprintf(err, len, "\"operation_endpoint\" must be an internal "
                 "location path");
        return GW_ERROR;
    }

    v = gw_provider_param(p, "list_page_size");
    if (v != NULL) {
        n = strtol(v, &end, 10);
        if (*end != '\0' || n < 1 || n > 100) {
            snprintf(err, len, "\"list_page_size\" must be 1..100");
            return GW_ERROR;
        }
    }

    return GW_OK;
}



/* ---- credentials --------------------------------------------------- */


/*
 * Every op starts here: GW_STEP_DONE once the state's credential holds the
 * Authorization value, or the IAM exchange to make first.
 */
static gw_step_t
gw_yx_authorize(gw_op_t *op)
{
    const char     *auth;
    char            key[GW_NAME_MAX + 16];
    gw_yx_state_t  *st;

    st = op->state;

    if (st->authed) {
        return GW_STEP_DONE;
    }

    if (st->iam_asked) {
        return gw_yx_iam_answer(op);
    }

    auth = gw_provider_param(op->provider, "auth");

    if (auth == NULL || strcmp(auth, "api_key") == 0) {
        snprintf(st->credential, sizeof(st->credential), "Api-Key %s",
                 gw_provider_param(op->provider, "api_key"));
        st->authed = 1;
        return GW_STEP_DONE;
    }

    snprintf(key, sizeof(key), "yandex-iam:%s", op->provider->name);

    if (op->cache != NULL && op->cache->get != NULL
        && op->cache->get(op->cache->data, key, st->credential + 7,
                          sizeof(st->credential) - 7, op->now_ms))
    {
        memcpy(st->credential, "Bearer ", 7);
        st->authed = 1;
        return GW_STEP_DONE;
    }

    return gw_yx_iam_request(op);
}


static gw_step_t
gw_yx_iam_request(gw_op_t *op)
{
    char             *body, jwt[4096], err[128];
    cJSON            *b;
    const char       *json;
    gw_yandex_key_t   key;
    gw_yx_state_t    *st;

    st = op->state;

    json = gw_provider_param(op->provider, "service_account_key");

    if (gw_yandex_key_parse(json, strlen(json), &key, err, sizeof(err))
        != GW_OK)
    {
        gw_error_set(&op->err, 502, GW_TYPE_API, NULL, "iam_key_invalid",
                     "provider '%s': the service-account key is unusable",
                     op->provider->name);
        return GW_STEP_ERROR;
    }

    if (gw_jwt_ps256(&key, GW_YX_IAM_AUD, op->now_ms / 1000, 3600, jwt,
                     sizeof(jwt))
        != GW_OK)
    {
        gw_yandex_key_free(&key);
        gw_error_set(&op->err, 502, GW_TYPE_API, NULL, "iam_jwt_failed",
                     "provider '%s': the gateway could not sign the IAM "
                     "token request", op->provider->name);
        return GW_STEP_ERROR;
    }

    gw_yandex_key_free(&key);

    b = cJSON_CreateObject();
    if (b == NULL || cJSON_AddStringToObject(b, "jwt", jwt) == NULL) {
        gw_json_delete(b);
        gw_op_nomem(op);
        return GW_STEP_ERROR;
    }

    body = gw_json_print(b, &op->call.body_len);
    gw_json_delete(b);

    if (body == NULL) {
        gw_op_nomem(op);
        return GW_STEP_ERROR;
    }

    op->call.body = body;
    op->call.method = "POST";
    op->call.endpoint = gw_provider_param(op->provider, "iam_endpoint");
    op->call.path = GW_YX_IAM_PATH;
    op->call.auth = 1;
    gw_call_header(&op->call, "Content-Type", "application/json");

    st->iam_asked = 1;

    return GW_STEP_CALL;
}


static gw_step_t
gw_yx_iam_answer(gw_op_t *op)
{
    char            key[GW_NAME_MAX + 16], text[200];
    cJSON          *root;
    int64_t         expires, now, refresh;
    const char     *token, *v;
    gw_yx_state_t  *st;

    st = op->state;

    st->iam_asked = 0;

    if (gw_op_transport_error(op)) {
        return GW_STEP_ERROR;
    }

    root = gw_json_parse(op->resp->body, op->resp->body_len, NULL);

    token = gw_json_str(root, "iamToken");
    expires = gw_parse_iso8601(gw_json_str(root, "expiresAt"));

    if (op->resp->status != 200 || token == NULL || expires == GW_UNSET_INT
        || strlen(token) + 8 > sizeof(st->credential)
        || strpbrk(token, "\r\n") != NULL)
    {
        v = gw_json_str(root, "message");
        gw_vendor_text(op->provider, v ? v : "no message", text,
                       sizeof(text));
        gw_json_delete(root);

        gw_error_set(&op->err, op->resp->status == 429 ? 429 : 502,
                     op->resp->status == 429 ? GW_TYPE_RATE_LIMIT
                                             : GW_TYPE_UPSTREAM,
                     NULL, "iam_exchange_failed", "provider '%s': the IAM "
                     "token exchange answered HTTP %d: %s",
                     op->provider->name, op->resp->status, text);
        return GW_STEP_ERROR;
    }

    snprintf(st->credential, sizeof(st->credential), "Bearer %s", token);
    gw_json_delete(root);

    /* refresh once three quarters of its life are gone, and never late */
    now = op->now_ms;
    expires *= 1000;
    refresh = now + (expires - now) * 3 / 4;

    if (op->cache != NULL && op->cache->put != NULL && expires > now) {
        snprintf(key, sizeof(key), "yandex-iam:%s", op->provider->name);
        op->cache->put(op->cache->data, key, st->credential + 7, refresh,
                       expires - 1000);
    }

    st->authed = 1;

    return GW_STEP_DONE;
}


/*
 * An IAM token that Yandex no longer takes (revoked, or the clocks
 * disagree) is dropped from the shared cache and the op starts again
 * once with a fresh one; every op is safe to repeat after a refusal.
 */
static gw_step_t
gw_yx_run(gw_op_t *op, gw_step_t (*steps)(gw_op_t *op))
{
    char            key[GW_NAME_MAX + 16];
    gw_step_t       rc;
    const char     *auth;
    gw_yx_state_t  *st;

    st = op->state;

    rc = steps(op);

    auth = gw_provider_param(op->provider, "auth");

    if (rc != GW_STEP_ERROR || st->retried
        || auth == NULL || strcmp(auth, "iam") != 0
        || strcmp(op->err.code, "UNAUTHENTICATED") != 0)
    {
        return rc;
    }

    if (op->cache != NULL && op->cache->put != NULL) {
        snprintf(key, sizeof(key), "yandex-iam:%s", op->provider->name);
        op->cache->put(op->cache->data, key, "", 0, 0);
    }

    st->retried = 1;
    st->authed = 0;
    st->phase = GW_YX_START;
    gw_job_free(&op->job);
    memset(&op->err, 0, sizeof(op->err));

    return steps(op);
}


/* ---- gRPC calls ---------------------------------------------------- */


/* a framed, uncompressed message to path, answered in phase */
static gw_step_t
gw_yx_call(gw_op_t *op, const char *endpoint, const char *path,
    const ProtobufCMessage *msg, int phase)
{
    size_t          len;
    uint8_t        *frame;
    gw_yx_state_t  *st;

    st = op->state;

    len = protobuf_c_message_get_packed_size(msg);

    frame = gw_malloc(len + 5);
    if (frame == NULL) {
        gw_op_nomem(op);
        return GW_STEP_ERROR;
    }

    frame[0] = 0;
    frame[1] = (uint8_t) (len >> 24);
    frame[2] = (uint8_t) (len >> 16);
    frame[3] = (uint8_t) (len >> 8);
    frame[4] = (uint8_t) len;
    protobuf_c_message_pack(msg, frame + 5);

    op->call.body = (char *) frame;
    op->call.body_len = len + 5;
    op->call.method = "POST";
    op->call.endpoint = endpoint;
    gw_call_path(&op->call, path, NULL, NULL);

    gw_call_header(&op->call, "Content-Type", "application/grpc");
    gw_call_header(&op->call, "TE", "trailers");
    gw_call_header(&op->call, "Authorization", st->credential);
    gw_call_header(&op->call, "x-client-request-id", op->request_id);

    st->phase = phase;

    return GW_STEP_CALL;
}


static const gw_yx_code_t *
gw_yx_code(int code)
{
    const gw_yx_code_t  *c;

    for (c = gw_yx_codes; c->name != NULL; c++) {
        if (c->code == code) {
            return c;
        }
    }

    return NULL;
}


/* grpc-message is percent-encoded (gRPC over HTTP/2) */
static void
gw_yx_grpc_error(gw_op_t *op, int code, const char *msg, size_t len)
{
    char                 raw[512], text[300], hex[3];
    size_t               i, n;
    const gw_yx_code_t  *c;

    n = 0;

    for (i = 0; msg != NULL && i < len && n + 1 < sizeof(raw); i++) {
        if (msg[i] == '%' && i + 2 < len
            && isxdigit((unsigned char) msg[i + 1])
            && isxdigit((unsigned char) msg[i + 2]))
        {
            hex[0] = msg[i + 1];
            hex[1] = msg[i + 2];
            hex[2] = '\0';
            raw[n++] = (char) strtol(hex, NULL, 16);
            i += 2;
            continue;
        }

        raw[n++] = msg[i];
    }

    raw[n] = '\0';
    gw_vendor_text(op->provider, n ? raw : "no message", text, sizeof(text));

    c = gw_yx_code(code);

    if (c == NULL || code == 0) {
        gw_error_set(&op->err, 502, GW_TYPE_UPSTREAM, NULL,
                     "invalid_vendor_response", "provider '%s' answered "
                     "gRPC status %d: %s", op->provider->name, code, text);
        return;
    }

    gw_error_set(&op->err, c->http, c->type, NULL, c->name,
                 "provider '%s' (Yandex Cloud) answered gRPC %d %s: %s",
                 op->provider->name, code, c->name, text);
}


static void
gw_yx_invalid_answer(gw_op_t *op, const char *what)
{
    gw_error_set(&op->err, 502, GW_TYPE_UPSTREAM, NULL,
                 "invalid_vendor_response", "provider '%s' answered %s",
                 op->provider->name, what);
}


/* the message of a successful gRPC answer, or -1 with op->err set */
static int
gw_yx_answer(gw_op_t *op, const uint8_t **data, size_t *len)
{
    size_t          n;
    const uint8_t  *b;

    if (gw_op_transport_error(op)) {
        return -1;
    }

    if (op->resp->grpc_status > 0) {
        gw_yx_grpc_error(op, op->resp->grpc_status, op->resp->grpc_message,
                         op->resp->grpc_message_len);
        return -1;
    }

    if (op->resp->grpc_status < 0) {
        /* no gRPC status: an HTTP error on the way (a proxy, a 503) */
        gw_op_unreadable(op, "no gRPC status");
        return -1;
    }

    b = (const uint8_t *) op->resp->body;

    if (op->resp->body_len < 5 || b[0] != 0) {
        gw_yx_invalid_answer(op, "no uncompressed gRPC message");
        return -1;
    }

    n = ((size_t) b[1] << 24) | ((size_t) b[2] << 16)
        | ((size_t) b[3] << 8) | b[4];

    if (n > op->resp->body_len - 5) {
        gw_yx_invalid_answer(op, "a truncated gRPC message");
        return -1;
    }

    *data = b + 5;
    *len = n;

    return 0;
}


/* ---- statuses and tasks -------------------------------------------- */


static const gw_yx_status_t *
gw_yx_status(int value)
{
    const gw_yx_status_t  *s;

    for (s = gw_yx_statuses; s->name != NULL; s++) {
        if (s->value == value) {
            return s;
        }
    }

    return NULL;
}


/* "gpt://<folder>/<model>/<version>" -> "<model>" or "<model>@<version>" */
static char *
gw_yx_model_of(const char *uri)
{
    char        buf[256];
    const char  *model, *version;

    if (uri == NULL || strncmp(uri, "gpt://", 6) != 0) {
        return NULL;
    }

    model = strchr(uri + 6, '/');
    if (model == NULL) {
        return NULL;
    }

    model++;
    version = strchr(model, '/');

    if (version == NULL || strcmp(version + 1, "latest") == 0) {
        snprintf(buf, sizeof(buf), "%.*s",
                 (int) (version ? (size_t) (version - model)
                                : strlen(model)), model);

    } else {
        snprintf(buf, sizeof(buf), "%.*s@%s", (int) (version - model),
                 model, version + 1);
    }

    return gw_strdup(buf);
}


static int
gw_yx_task_to_job(gw_op_t *op, const YX(TuningTask) *t, gw_job_t *job)
{
    size_t                 i;
    cJSON                 *labels;
    const char            *v, *dot, *name;
    const gw_yx_status_t  *s;

    s = gw_yx_status(t->status);

    if (t->task_id == NULL || t->task_id[0] == '\0') {
        gw_yx_invalid_answer(op, "a tuning task without an id");
        return -1;
    }

    if (s == NULL) {
        gw_error_set(&op->err, 502, GW_TYPE_UPSTREAM, NULL,
                     "unknown_vendor_status", "provider '%s' returned the "
                     "tuning status %d, which the gateway does not map",
                     op->provider->name, (int) t->status);
        return -1;
    }

    job->status = s->canonical;
    job->vendor_status = gw_strdup(s->name);
    job->vendor_id = gw_strdup(t->task_id);

    if (t->operation_id != NULL && t->operation_id[0] != '\0') {
        job->vendor_id2 = gw_strdup(t->operation_id);
    }

    job->vendor_model = gw_yx_model_of(t->source_model_uri);

    if (t->name != NULL && t->name[0] != '\0') {
        job->name = gw_strdup(t->name);
    }

    if (t->created_at != NULL) {
        job->created_at = t->created_at->seconds;
    }

    if (t->finished_at != NULL && job->status != GW_STATUS_RUNNING) {
        job->finished_at = t->finished_at->seconds;
    }

    if (t->target_model_uri != NULL && t->target_model_uri[0] != '\0') {
        job->fine_tuned_model = gw_strdup(t->target_model_uri);
    }

    if (job->status == GW_STATUS_FAILED) {
        job->has_error = 1;
        snprintf(job->error_code, sizeof(job->error_code), "training_error");
        snprintf(job->error_message, sizeof(job->error_message),
                 "Yandex reports the tuning as failed");
    }

    job->vendor_extra = cJSON_CreateObject();
    labels = cJSON_CreateObject();

    if (job->vendor_extra == NULL || labels == NULL) {
        gw_json_delete(labels);
        gw_op_nomem(op);
        return -1;
    }

    for (i = 0; i < t->n_labels; i++) {
        if (strcmp(t->labels[i]->key, GW_YX_OWNER) == 0) {
            /* two owner tags: planted, so nobody's (no client is "") */
            if (job->owner != NULL) {
                gw_job_owner(job, op, "", 0, "", 0, NULL, 0);
                continue;
            }

            /* "<client>.<mac>", sealed over the tuning's name */
            v = t->labels[i]->value;
            dot = strchr(v, '.');
            name = t->name ? t->name : "";

            gw_job_owner(job, op, v, dot ? (size_t) (dot - v) : strlen(v),
                         name, strlen(name), dot ? dot + 1 : NULL,
                         dot ? strlen(dot + 1) : 0);
            continue;
        }

        cJSON_AddStringToObject(labels, t->labels[i]->key,
                                t->labels[i]->value);
    }

    /* OpenAI's metadata is what Yandex labels are: all but the owner's */
    if (cJSON_GetArraySize(labels) > 0) {
        job->metadata = cJSON_Duplicate(labels, 1);
    }

    cJSON_AddItemToObject(job->vendor_extra, "labels", labels);
    cJSON_AddStringToObject(job->vendor_extra, "folder_id",
                            t->folder_id ? t->folder_id : "");
    cJSON_AddStringToObject(job->vendor_extra, "source_model_uri",
                            t->source_model_uri ? t->source_model_uri : "");

    if (t->description != NULL && t->description[0] != '\0') {
        cJSON_AddStringToObject(job->vendor_extra, "description",
                                t->description);
    }

    if (t->started_at != NULL) {
        cJSON_AddNumberToObject(job->vendor_extra, "started_at",
                                (double) t->started_at->seconds);
    }

    if (job->vendor_status == NULL || job->vendor_id == NULL) {
        gw_op_nomem(op);
        return -1;
    }

    return 0;
}


/* the Operation of Tune (or OperationService.Get): its metadata */
static int
gw_yx_operation_to_job(gw_op_t *op, const YOP(Operation) *o, gw_job_t *job)
{
    const gw_yx_status_t  *s;
    YX(TuningMetadata)    *md;

    if (o->metadata == NULL
        || strstr(o->metadata->type_url, GW_YX_METADATA) == NULL)
    {
        gw_yx_invalid_answer(op, "an operation without tuning metadata");
        return -1;
    }

    md = yx(tuning_metadata__unpack)(NULL, o->metadata->value.len,
                                     o->metadata->value.data);
    if (md == NULL) {
        gw_yx_invalid_answer(op, "undecodable tuning metadata");
        return -1;
    }

    s = gw_yx_status(md->status);

    if (md->tuning_task_id[0] == '\0' || s == NULL) {
        yx(tuning_metadata__free_unpacked)(md, NULL);
        gw_yx_invalid_answer(op, "tuning metadata without task or status");
        return -1;
    }

    if (job->vendor_id == NULL) {
        job->vendor_id = gw_strdup(md->tuning_task_id);
        job->vendor_id2 = gw_strdup(o->id);
        job->status = s->canonical;
        job->vendor_status = gw_strdup(s->name);

        if (o->created_at != NULL) {
            job->created_at = o->created_at->seconds;
        }
    }

    if (md->total_steps > 0) {
        job->step = md->current_step;
        job->total_steps = md->total_steps;
        job->percent = 100.0 * (double) md->current_step
                       / (double) md->total_steps;
    }

    if (o->modified_at != NULL) {
        job->updated_at = o->modified_at->seconds;
    }

    /* an unspecified task status is decided by the operation */
    if (job->vendor_status != NULL
        && strcmp(job->vendor_status, "STATUS_UNSPECIFIED") == 0)
    {
        job->status = !o->done ? GW_STATUS_RUNNING
            : o->result_case == YOPC(OPERATION__RESULT_ERROR)
              ? GW_STATUS_FAILED : GW_STATUS_SUCCEEDED;
    }

    if (o->done && o->result_case == YOPC(OPERATION__RESULT_RESPONSE)
        && o->response != NULL && job->fine_tuned_model == NULL)
    {
        YX(TuningResponse)  *tr;

        tr = yx(tuning_response__unpack)(NULL, o->response->value.len,
                                         o->response->value.data);
        if (tr != NULL) {
            if (tr->target_model_uri[0] != '\0') {
                job->fine_tuned_model = gw_strdup(tr->target_model_uri);
            }

            yx(tuning_response__free_unpacked)(tr, NULL);
        }
    }

    if (o->done && o->result_case == YOPC(OPERATION__RESULT_ERROR)
        && o->error != NULL)
    {
        job->has_error = 1;
        gw_copy(job->error_code, sizeof(job->error_code),
                gw_yx_code(o->error->code) ? gw_yx_code(o->error->code)->name
                                           : "training_error");
        gw_vendor_text(op->provider, o->error->message, job->error_message,
                       sizeof(job->error_message));
    }

    yx(tuning_metadata__free_unpacked)(md, NULL);

    if (job->vendor_id == NULL || job->vendor_status == NULL) {
        gw_op_nomem(op);
        return -1;
    }

    return 0;
}


/* an Operation answer (of Tune or OperationService.Get) into op->job */
static int
gw_yx_operation_answer(gw_op_t *op, const uint8_t *data, size_t len)
{
    int              rc;
    YOP(Operation)  *o;

    o = yop(operation__unpack)(NULL, len, data);
    if (o == NULL) {
        gw_yx_invalid_answer(op, "an undecodable operation");
        return -1;
    }

    rc = gw_yx_operation_to_job(op, o, &op->job);
    yop(operation__free_unpacked)(o, NULL);

    return rc;
}


/* ---- create -------------------------------------------------------- */


/*
 * OpenAI's metadata becomes Yandex labels, which hold the same key-value
 * pairs, where each pair fits Yandex's label rules (lower-case keys that
 * start with a letter, lower-case values, 63 characters each); else 400
 * naming the key.  A key also in tuning.labels must say the same.
 */
static int
gw_yx_validate_metadata(gw_op_t *op)
{
    char                  param[96];
    const cJSON          *m, *l;
    const gw_job_spec_t  *s;

    s = op->spec;

    if (s->metadata == NULL) {
        return 0;
    }

    cJSON_ArrayForEach(m, s->metadata) {
        gw_join(param, sizeof(param), "metadata.", m->string, NULL);

        if (!gw_yx_label_text(m->string, 1) || !cJSON_IsString(m)
            || !gw_yx_label_text(m->valuestring, 0)
            || strcmp(m->string, GW_YX_OWNER) == 0)
        {
            gw_error_invalid(&op->err, param, "invalid_value",
                             "Yandex keeps metadata as labels: keys of 1 to "
                             "63 of a-z, 0-9, '-' and '_' starting with a "
                             "letter (not \"" GW_YX_OWNER "\"), values of "
                             "at most 63 of a-z, 0-9, '-', '_', '.' and "
                             "'@'");
            return -1;
        }

        l = (s->labels != NULL) ? gw_json_get(s->labels, m->string) : NULL;

        if (l != NULL && (!cJSON_IsString(l)
                          || strcmp(l->valuestring, m->valuestring) != 0))
        {
            gw_error_invalid(&op->err, param, "conflicting_parameter",
                             "metadata and tuning.labels give this key "
                             "two values");
            return -1;
        }
    }

    return 0;
}


static int
gw_yx_label_text(const char *s, int key)
{
    size_t  n;

    n = strlen(s);

    if (n > 63 || (key && (n == 0 || s[0] < 'a' || s[0] > 'z'))) {
        return 0;
    }

    return strspn(s, key ? "abcdefghijklmnopqrstuvwxyz0123456789-_"
                         : "abcdefghijklmnopqrstuvwxyz0123456789-_.@")
           == n;
}


/*
 * n_epochs as Yandex's n_samples: the epochs times the rows of the
 * training datasets, known for files the gateway staged; 0 when no
 * n_epochs was given
 */
static int64_t
gw_yx_epoch_samples(const gw_job_spec_t *s)
{
    size_t   i;
    int64_t  rows;

    if (s->n_epochs == GW_UNSET_INT) {
        return 0;
    }

    rows = 0;

    for (i = 0; i < s->ntrain; i++) {
        rows += s->train[i].records;
    }

    return s->n_epochs * rows;
}


static int
gw_yx_validate(gw_op_t *op)
{
    char                  param[64];
    size_t                i;
    const char           *key;
    const cJSON          *label;
    const gw_job_spec_t  *s;

    s = op->spec;

    if (s->task_type == GW_TASK_EMBEDDING_PAIR
        || s->task_type == GW_TASK_EMBEDDING_TRIPLET)
    {
        gw_error_invalid(&op->err, "tuning.task_type", "unsupported_value",
                         "Yandex has not implemented embedding tuning "
                         "(pair and triplet)");
        return -1;
    }

    if (s->tuning_type == GW_TUNING_FULL) {
        gw_error_invalid(&op->err, "tuning.tuning_type", "unsupported_value",
                         "Yandex tunes with LoRA or prompt tuning only");
        return -1;
    }

    /* Yandex counts samples, not epochs: known for uploaded files only */
    if (s->n_epochs != GW_UNSET_INT) {
        if (s->n_samples != GW_UNSET_INT) {
            gw_error_invalid(&op->err, "hyperparameters.n_epochs",
                             "conflicting_parameter", "hyperparameters."
                             "n_epochs cannot be given with "
                             "tuning.n_samples");
            return -1;
        }

        for (i = 0; i < s->ntrain; i++) {
            if (s->train[i].records <= 0) {
                gw_error_invalid(&op->err, "hyperparameters.n_epochs",
                                 "unsupported_parameter", "Yandex counts "
                                 "training samples, not epochs: "
                                 "hyperparameters.n_epochs needs uploaded "
                                 "training files (file-...), whose rows "
                                 "the gateway knows; for a dataset Yandex "
                                 "holds, give tuning.n_samples");
                return -1;
            }
        }
    }

    if (s->suffix != NULL
        && (strlen(s->suffix) < 3 || strchr(s->suffix, '.') != NULL))
    {
        gw_error_invalid(&op->err, "suffix", "invalid_value",
                         "Yandex tuning names are 3 to 100 of A-Z, a-z, "
                         "0-9, ' ', '_' and '-'");
        return -1;
    }

    if (s->description != NULL && strlen(s->description) > 1024) {
        gw_error_invalid(&op->err, "tuning.description", "invalid_value",
                         "tuning.description is too long for Yandex");
        return -1;
    }

    if (s->labels != NULL) {
        cJSON_ArrayForEach(label, s->labels) {
            key = label->string;
            if (key != NULL && strcmp(key, GW_YX_OWNER) == 0) {
                gw_error_invalid(&op->err, "tuning.labels", "invalid_value",
                                 "the label \"" GW_YX_OWNER "\" is the "
                                 "gateway's own");
                return -1;
            }
        }
    }

    if (gw_yx_validate_metadata(op) != 0) {
        return -1;
    }

    /* a constant schedule has no minimum: never drop it silently */
    if (s->scheduler == GW_SCHED_CONSTANT && gw_has_num(s->min_lr)) {
        gw_error_invalid(&op->err, "tuning.scheduler.min_lr",
                         "unsupported_parameter", "Yandex's constant "
                         "scheduler takes no min_lr");
        return -1;
    }

    for (i = 0; i < s->ntrain + s->nvalid; i++) {
        const char  *ref;

        ref = (i < s->ntrain) ? s->train[i].ref : s->valid[i - s->ntrain].ref;

        if (strncmp(ref, "yandex://dataset/", 17) != 0 || ref[17] == '\0'
            || strchr(ref + 17, '/') != NULL)
        {
            gw_error_invalid(&op->err,
                             gw_dataset_param(s, i >= s->ntrain,
                                              i < s->ntrain
                                              ? i : i - s->ntrain,
                                              param, sizeof(param)),
                             "invalid_value",
                             "Yandex datasets are \"yandex://dataset/"
                             "<dataset id>\"");
            return -1;
        }
    }

    return 0;
}


static void
gw_yx_params(const gw_job_spec_t *s, gw_yx_params_t *pm)
{
    YX(TextToTextCompletionTuningParams)  *p;

    p = &pm->params;

    yx(text_to_text_completion_tuning_params__init)(p);
    yx(text_to_text_completion_tuning_params__scheduler__init)(
                                                             &pm->scheduler);
    yx(text_to_text_completion_tuning_params__optimizer__init)(
                                                             &pm->optimizer);
    yx(tuning_type_lora__init)(&pm->lora);
    yx(tuning_type_prompt_tune__init)(&pm->prompt_tune);
    yx(scheduler_linear__init)(&pm->linear);
    yx(scheduler_constant__init)(&pm->constant);
    yx(scheduler_cosine__init)(&pm->cosine);
    yx(optimizer_adamw__init)(&pm->adamw);

    p->seed = (s->seed != GW_UNSET_INT) ? s->seed : 0;
    p->lr = gw_has_num(s->learning_rate) ? s->learning_rate : 0;
    p->n_samples = (s->n_samples != GW_UNSET_INT) ? s->n_samples
                   : gw_yx_epoch_samples(s);

    if (s->tuning_type == GW_TUNING_PROMPT) {
        pm->prompt_tune.virtual_tokens = (s->virtual_tokens != GW_UNSET_INT)
                                         ? s->virtual_tokens
                                         : GW_YX_VIRTUAL_TOKENS;
        p->tuning_type_case =
            YXC(TEXT_TO_TEXT_COMPLETION_TUNING_PARAMS__TUNING_TYPE_PROMPT_TUNE);
        p->prompt_tune = &pm->prompt_tune;

    } else if (s->tuning_type == GW_TUNING_LORA) {
        pm->lora.rank = (s->lora_rank != GW_UNSET_INT) ? s->lora_rank
                                                       : GW_YX_LORA_RANK;
        pm->lora.alpha = (s->lora_alpha != GW_UNSET_INT)
                         ? (double) s->lora_alpha : GW_YX_LORA_ALPHA;
        if (s->lora_init != NULL) {
            pm->lora.initialization = s->lora_init;
        }

        if (s->lora_type != NULL) {
            pm->lora.type = s->lora_type;
        }

        p->tuning_type_case =
            YXC(TEXT_TO_TEXT_COMPLETION_TUNING_PARAMS__TUNING_TYPE_LORA);
        p->lora = &pm->lora;
    }

    if (s->scheduler != GW_SCHED_UNSET) {
        switch (s->scheduler) {

        case GW_SCHED_LINEAR:
            pm->linear.min_lr = gw_has_num(s->min_lr) ? s->min_lr : 0;
            pm->scheduler.type_case =
             YXC(TEXT_TO_TEXT_COMPLETION_TUNING_PARAMS__SCHEDULER__TYPE_LINEAR);
            pm->scheduler.linear = &pm->linear;
            break;

        case GW_SCHED_COSINE:
            pm->cosine.min_lr = gw_has_num(s->min_lr) ? s->min_lr : 0;
            pm->scheduler.type_case =
             YXC(TEXT_TO_TEXT_COMPLETION_TUNING_PARAMS__SCHEDULER__TYPE_COSINE);
            pm->scheduler.cosine = &pm->cosine;
            break;

        default:
            pm->scheduler.type_case =
           YXC(TEXT_TO_TEXT_COMPLETION_TUNING_PARAMS__SCHEDULER__TYPE_CONSTANT);
            pm->scheduler.constant = &pm->constant;
            break;
        }

        pm->scheduler.warmup_ratio = gw_has_num(s->warmup_ratio)
                                     ? s->warmup_ratio : 0;
        p->scheduler = &pm->scheduler;
    }

    if (s->present & GW_F_OPTIMIZER) {
        pm->adamw.beta1 = gw_has_num(s->beta1) ? s->beta1 : 0;
        pm->adamw.beta2 = gw_has_num(s->beta2) ? s->beta2 : 0;
        pm->adamw.eps = gw_has_num(s->eps) ? s->eps : 0;
        pm->adamw.weight_decay = gw_has_num(s->weight_decay)
                                 ? s->weight_decay : 0;
        pm->optimizer.type_case =
            YXC(TEXT_TO_TEXT_COMPLETION_TUNING_PARAMS__OPTIMIZER__TYPE_ADAMW);
        pm->optimizer.adamw = &pm->adamw;
        p->optimizer = &pm->optimizer;
    }
}


/*
 * Tune: the TuningRequest lives on the stack until it is packed.  The
 * classification params share the text-to-text wire shape, so they are
 * built as text-to-text and re-read as their own type.
 */
static gw_step_t
gw_yx_tune(gw_op_t *op)
{
    char                                  uri[512], *model, *version;
    char                                  mac[GW_OWNER_MAC_LEN + 1];
    char                                  owner[GW_NAME_MAX + 16];
    size_t                                i, n, len;
    uint8_t                              *buf;
    gw_step_t                             rc;
    const cJSON                          *label;
    gw_yx_params_t                        pm;
    const gw_job_spec_t                  *s;
    YX(TuningRequest)                     req;
    YX(TuningRequest__WeightedDataset)    train[GW_MAX_DATASETS];
    YX(TuningRequest__WeightedDataset)    valid[GW_MAX_DATASETS];
    YX(TuningRequest__WeightedDataset)   *train_p[GW_MAX_DATASETS];
    YX(TuningRequest__WeightedDataset)   *valid_p[GW_MAX_DATASETS];
    /* the owner's, 64 of tuning.labels, 16 of metadata */
    YX(TuningRequest__LabelsEntry)        labels[81];
    YX(TuningRequest__LabelsEntry)       *labels_p[81];
    YX(TextClassificationMultilabelParams)  *multilabel;
    YX(TextClassificationMulticlassParams)  *multiclass;

    s = op->spec;

    yx(tuning_request__init)(&req);

    /* "<model>[@<version>]" -> gpt://<folder>/<model>/<version> */
    model = gw_strdup(s->vendor_model);
    if (model == NULL) {
        gw_op_nomem(op);
        return GW_STEP_ERROR;
    }

    version = strchr(model, '@');
    if (version != NULL) {
        *version++ = '\0';
    }

    snprintf(uri, sizeof(uri), "gpt://%s/%s/%s",
             gw_provider_param(op->provider, "folder_id"), model,
             version ? version : "latest");
    gw_free(model);

    req.base_model_uri = uri;

    for (i = 0; i < s->ntrain; i++) {
        yx(tuning_request__weighted_dataset__init)(&train[i]);
        train[i].dataset_id = s->train[i].ref + 17;
        train[i].weight = gw_has_num(s->train[i].weight)
                          ? s->train[i].weight : 1.0;
        train_p[i] = &train[i];
    }

    req.n_train_datasets = s->ntrain;
    req.train_datasets = train_p;

    for (i = 0; i < s->nvalid; i++) {
        yx(tuning_request__weighted_dataset__init)(&valid[i]);
        valid[i].dataset_id = s->valid[i].ref + 17;
        valid[i].weight = gw_has_num(s->valid[i].weight)
                          ? s->valid[i].weight : 1.0;
        valid_p[i] = &valid[i];
    }

    if (s->nvalid == 1) {
        req.validation_dataset = &valid[0];

    } else if (s->nvalid > 1) {
        req.n_validation_datasets = s->nvalid;
        req.validation_datasets = valid_p;
    }

    req.name = op->job_name;

    if (s->description != NULL) {
        req.description = s->description;
    }

    /*
     * the owner rides in a label (Yandex names allow no '.'), sealed over
     * the tuning's name: "<client>.<mac>"
     */
    gw_owner_mac(op, op->client->name, strlen(op->client->name),
                 op->job_name, strlen(op->job_name), mac);
    gw_join(owner, sizeof(owner), op->client->name, ".", mac);

    n = 0;
    yx(tuning_request__labels_entry__init)(&labels[n]);
    labels[n].key = (char *) GW_YX_OWNER;
    labels[n].value = owner;
    labels_p[n] = &labels[n];
    n++;

    if (s->labels != NULL) {
        cJSON_ArrayForEach(label, s->labels) {
            if (n == 65 || !cJSON_IsString(label)) {
                break;
            }

            yx(tuning_request__labels_entry__init)(&labels[n]);
            labels[n].key = label->string;
            labels[n].value = label->valuestring;
            labels_p[n] = &labels[n];
            n++;
        }
    }

    /* metadata: the same labels (one already in tuning.labels is there) */
    if (s->metadata != NULL) {
        cJSON_ArrayForEach(label, s->metadata) {
            if (n == 81 || !cJSON_IsString(label)) {
                break;
            }

            if (s->labels != NULL
                && gw_json_get(s->labels, label->string) != NULL)
            {
                continue;
            }

            yx(tuning_request__labels_entry__init)(&labels[n]);
            labels[n].key = label->string;
            labels[n].value = label->valuestring;
            labels_p[n] = &labels[n];
            n++;
        }
    }

    req.n_labels = n;
    req.labels = labels_p;

    gw_yx_params(s, &pm);

    multilabel = NULL;
    multiclass = NULL;
    buf = NULL;

    if (s->task_type == GW_TASK_UNSET || s->task_type == GW_TASK_GENERATION) {
        req.tuning_params_case =
            YXC(TUNING_REQUEST__TUNING_PARAMS_TEXT_TO_TEXT_COMPLETION);
        req.text_to_text_completion = &pm.params;

    } else {
        len = yx(text_to_text_completion_tuning_params__get_packed_size)(
                                                                 &pm.params);
        buf = gw_malloc(len ? len : 1);
        if (buf == NULL) {
            gw_op_nomem(op);
            return GW_STEP_ERROR;
        }

        yx(text_to_text_completion_tuning_params__pack)(&pm.params, buf);

        if (s->task_type == GW_TASK_CLASSIFICATION_MULTILABEL) {
            multilabel = yx(text_classification_multilabel_params__unpack)(
                                                               NULL, len, buf);
            req.tuning_params_case =
              YXC(TUNING_REQUEST__TUNING_PARAMS_TEXT_CLASSIFICATION_MULTILABEL);
            req.text_classification_multilabel = multilabel;

        } else {
            multiclass = yx(text_classification_multiclass_params__unpack)(
                                                               NULL, len, buf);
            req.tuning_params_case =
              YXC(TUNING_REQUEST__TUNING_PARAMS_TEXT_CLASSIFICATION_MULTICLASS);
            req.text_classification_multiclass = multiclass;
        }

        gw_free(buf);

        if (multilabel == NULL && multiclass == NULL) {
            gw_op_nomem(op);
            return GW_STEP_ERROR;
        }
    }

    rc = gw_yx_call(op, NULL, GW_YX_TUNING "Tune",
                    (const ProtobufCMessage *) &req, GW_YX_TUNE);

    if (multilabel != NULL) {
        yx(text_classification_multilabel_params__free_unpacked)(multilabel,
                                                                 NULL);
    }

    if (multiclass != NULL) {
        yx(text_classification_multiclass_params__free_unpacked)(multiclass,
                                                                 NULL);
    }

    return rc;
}


static gw_step_t
gw_yx_create_steps(gw_op_t *op)
{
    size_t          len;
    gw_step_t       rc;
    const uint8_t  *data;
    gw_yx_state_t  *st;

    st = op->state;

    if (st->phase == GW_YX_START) {
        if (gw_yx_validate(op) != 0) {
            return GW_STEP_ERROR;
        }

        /* Yandex names: 3..100 of [A-Za-z0-9 _-] */
        if (op->spec->suffix != NULL) {
            gw_copy(op->job_name, sizeof(op->job_name), op->spec->suffix);

        } else {
            snprintf(op->job_name, sizeof(op->job_name), "ftgw-%" PRId64,
                     op->now_ms / 1000);
        }
    }

    rc = gw_yx_authorize(op);
    if (rc != GW_STEP_DONE) {
        return rc;
    }

    if (st->phase != GW_YX_TUNE) {
        return gw_yx_tune(op);
    }

    if (gw_yx_answer(op, &data, &len) != 0) {
        /* on Tune, INVALID_ARGUMENT and NOT_FOUND are the client's input */
        if (op->err.http_status == 404) {
            op->err.http_status = 400;
            op->err.type = GW_TYPE_INVALID;
            snprintf(op->err.param, sizeof(op->err.param), "model");
        }

        return GW_STEP_ERROR;
    }

    if (gw_yx_operation_answer(op, data, len) != 0) {
        return GW_STEP_ERROR;
    }

    op->job.name = gw_strdup(op->job_name);
    op->job.owner = gw_strdup(op->client->name);
    op->job.owner_sealed = 1;
    op->job.vendor_model = gw_strdup(op->spec->vendor_model);
    op->job.training_file = gw_strdup(op->spec->train[0].ref);

    /* the Tune answer holds no labels: the metadata is what was sent */
    if (op->job.metadata == NULL && op->spec->metadata != NULL) {
        op->job.metadata = cJSON_Duplicate(op->spec->metadata, 1);
    }
    op->job.learning_rate = op->spec->learning_rate;
    op->job.seed = op->spec->seed;
    op->job.n_epochs = op->spec->n_epochs;

    if (op->spec->nvalid > 0) {
        op->job.validation_file = gw_strdup(op->spec->valid[0].ref);
    }

    return GW_STEP_DONE;
}


/* ---- retrieve, cancel, list ---------------------------------------- */


static gw_step_t
gw_yx_describe(gw_op_t *op)
{
    YX(DescribeTuningRequest)  req;

    yx(describe_tuning_request__init)(&req);
    req.tuning_task_id = op->ref.vendor_id;

    return gw_yx_call(op, NULL, GW_YX_TUNING "Describe",
                      (const ProtobufCMessage *) &req, GW_YX_DESCRIBE);
}


/* after Describe: steps from the live operation, or why it failed */
static gw_step_t
gw_yx_described(gw_op_t *op)
{
    size_t                       len;
    const char                  *endpoint;
    const uint8_t               *data;
    YOP(GetOperationRequest)     get;
    YX(ListErrorsRequest)        errors;
    YX(DescribeTuningResponse)  *d;

    if (gw_yx_answer(op, &data, &len) != 0) {
        return GW_STEP_ERROR;
    }

    d = yx(describe_tuning_response__unpack)(NULL, len, data);
    if (d == NULL || d->tuning_task == NULL) {
        if (d != NULL) {
            yx(describe_tuning_response__free_unpacked)(d, NULL);
        }

        gw_yx_invalid_answer(op, "an undecodable tuning task");
        return GW_STEP_ERROR;
    }

    if (gw_yx_task_to_job(op, d->tuning_task, &op->job) != 0) {
        yx(describe_tuning_response__free_unpacked)(d, NULL);
        return GW_STEP_ERROR;
    }

    yx(describe_tuning_response__free_unpacked)(d, NULL);

    if (op->kind == GW_OP_CANCEL) {
        return GW_STEP_DONE;
    }

    if (op->job.status == GW_STATUS_FAILED) {
        yx(list_errors_request__init)(&errors);
        errors.tuning_task_id = op->ref.vendor_id;

        return gw_yx_call(op, NULL, GW_YX_TUNING "ListErrors",
                          (const ProtobufCMessage *) &errors,
                          GW_YX_LIST_ERRORS);
    }

    if (op->job.vendor_id2 != NULL
        && (op->job.status == GW_STATUS_RUNNING
            || op->job.status == GW_STATUS_QUEUED
            || op->job.status == GW_STATUS_VALIDATING_FILES))
    {
        yop(get_operation_request__init)(&get);
        get.operation_id = op->job.vendor_id2;

        endpoint = gw_provider_param(op->provider, "operation_endpoint");

        return gw_yx_call(op, endpoint, GW_YX_OPERATION "Get",
                          (const ProtobufCMessage *) &get,
                          GW_YX_OPERATION_GET);
    }

    return GW_STEP_DONE;
}


static gw_step_t
gw_yx_operation_got(gw_op_t *op)
{
    size_t           len;
    const uint8_t   *data;

    if (gw_yx_answer(op, &data, &len) != 0) {
        /* operations expire after weeks: the task alone then answers */
        if (strcmp(op->err.code, "NOT_FOUND") == 0) {
            return GW_STEP_DONE;
        }

        return GW_STEP_ERROR;
    }

    if (gw_yx_operation_answer(op, data, len) != 0) {
        return GW_STEP_ERROR;
    }
    return GW_STEP_DONE;
}


static gw_step_t
gw_yx_errors_got(gw_op_t *op)
{
    char                     text[400];
    size_t                   i, len, used;
    const uint8_t           *data;
    YX(ListErrorsResponse)  *e;

    if (gw_yx_answer(op, &data, &len) != 0) {
        return GW_STEP_ERROR;
    }

    e = yx(list_errors_response__unpack)(NULL, len, data);
    if (e == NULL) {
        gw_yx_invalid_answer(op, "undecodable tuning errors");
        return GW_STEP_ERROR;
    }

    used = 0;
    op->job.error_message[0] = '\0';

    for (i = 0; i < e->n_tuning_error; i++) {
        gw_vendor_text(op->provider, e->tuning_error[i]->message, text,
                       sizeof(text));
        used += snprintf(op->job.error_message + used,
                         used < sizeof(op->job.error_message)
                         ? sizeof(op->job.error_message) - used : 0,
                         "%s%s", i ? "; " : "", text);
        if (used >= sizeof(op->job.error_message)) {
            break;
        }
    }

    if (op->job.error_message[0] == '\0') {
        snprintf(op->job.error_message, sizeof(op->job.error_message),
                 "Yandex reports the tuning as failed without details");
    }

    yx(list_errors_response__free_unpacked)(e, NULL);
    return GW_STEP_DONE;
}


static gw_step_t
gw_yx_retrieve_steps(gw_op_t *op)
{
    gw_step_t       rc;
    gw_yx_state_t  *st;

    st = op->state;

    rc = gw_yx_authorize(op);
    if (rc != GW_STEP_DONE) {
        return rc;
    }

    switch (st->phase) {

    case GW_YX_START:
        return gw_yx_describe(op);

    case GW_YX_DESCRIBE:
        return gw_yx_described(op);

    case GW_YX_OPERATION_GET:
        return gw_yx_operation_got(op);

    default:
        return gw_yx_errors_got(op);
    }
}


/*
 * Cancel, then Describe.  Once Yandex has accepted the cancel, the task
 * is reported cancelled even if Describe has not caught up yet.
 */
static gw_step_t
gw_yx_cancel_steps(gw_op_t *op)
{
    size_t                    len;
    gw_step_t                 rc;
    const uint8_t            *data;
    YX(CancelTuningRequest)   req;
    gw_yx_state_t            *st;

    st = op->state;

    rc = gw_yx_authorize(op);
    if (rc != GW_STEP_DONE) {
        return rc;
    }

    switch (st->phase) {

    case GW_YX_START:
        /* whose task is it?  never cancel another client's */
        st->cancel_checked = 0;
        return gw_yx_describe(op);

    case GW_YX_CANCEL:
        if (gw_yx_answer(op, &data, &len) != 0) {
            /* a finished task: nothing left to cancel */
            if (strcmp(op->err.code, "FAILED_PRECONDITION") == 0) {
                op->err.http_status = 409;
                op->err.type = GW_TYPE_CONFLICT;
                snprintf(op->err.param, sizeof(op->err.param), "id");
            }

            return GW_STEP_ERROR;
        }

        return gw_yx_describe(op);

    case GW_YX_DESCRIBE:
        if (!st->cancel_checked) {
            st->cancel_checked = 1;

            if (gw_yx_described(op) != GW_STEP_DONE) {
                return GW_STEP_ERROR;
            }

            if (!gw_op_owned(op)) {
                return GW_STEP_ERROR;
            }

            gw_job_free(&op->job);

            yx(cancel_tuning_request__init)(&req);
            req.tuning_task_id = op->ref.vendor_id;

            return gw_yx_call(op, NULL, GW_YX_TUNING "Cancel",
                              (const ProtobufCMessage *) &req, GW_YX_CANCEL);
        }

        /* the Describe after the cancel */
        /* fall through */

    default:
        if (gw_yx_described(op) != GW_STEP_DONE) {
            return GW_STEP_ERROR;
        }

        if (op->job.status == GW_STATUS_RUNNING
            || op->job.status == GW_STATUS_QUEUED
            || op->job.status == GW_STATUS_VALIDATING_FILES)
        {
            op->job.status = GW_STATUS_CANCELLED;
            op->job.finished_at = op->now_ms / 1000;
        }

        return GW_STEP_DONE;
    }
}


static gw_step_t
gw_yx_list_steps(gw_op_t *op)
{
    size_t                    i, len;
    gw_job_t                  job;
    gw_step_t                 rc;
    const char               *v;
    const uint8_t            *data;
    YX(ListTuningsRequest)    req;
    YX(ListTuningsResponse)  *l;
    gw_yx_state_t            *st;

    st = op->state;

    rc = gw_yx_authorize(op);
    if (rc != GW_STEP_DONE) {
        return rc;
    }

    if (st->phase != GW_YX_LIST) {
        yx(list_tunings_request__init)(&req);
        req.folder_id = (char *) gw_provider_param(op->provider,
                                                   "folder_id");
        v = gw_provider_param(op->provider, "list_page_size");
        req.page_size = v ? strtol(v, NULL, 10) : 100;

        if (st->page_token[0] != '\0') {
            req.page_token = st->page_token;
        }

        return gw_yx_call(op, NULL, GW_YX_TUNING "List",
                          (const ProtobufCMessage *) &req, GW_YX_LIST);
    }

    /* the next page starts a new call sequence */
    st->phase = GW_YX_START;

    if (gw_yx_answer(op, &data, &len) != 0) {
        return GW_STEP_ERROR;
    }

    l = yx(list_tunings_response__unpack)(NULL, len, data);
    if (l == NULL) {
        gw_yx_invalid_answer(op, "an undecodable tuning list");
        return GW_STEP_ERROR;
    }

    for (i = 0; i < l->n_tuning_tasks; i++) {
        gw_job_init(&job);

        if (gw_yx_task_to_job(op, l->tuning_tasks[i], &job) != 0
            || gw_op_push_job(op, &job) != GW_OK)
        {
            gw_job_free(&job);
            yx(list_tunings_response__free_unpacked)(l, NULL);
            return GW_STEP_ERROR;
        }
    }

    if (strlen(l->next_page_token) >= sizeof(st->page_token)) {
        yx(list_tunings_response__free_unpacked)(l, NULL);
        gw_yx_invalid_answer(op, "a page token longer than the gateway "
                             "carries");
        return GW_STEP_ERROR;
    }

    if (l->next_page_token[0] == '\0') {
        op->exhausted = 1;

    } else {
        gw_copy(st->page_token, sizeof(st->page_token),
                l->next_page_token);
    }

    op->page++;

    yx(list_tunings_response__free_unpacked)(l, NULL);
    return GW_STEP_DONE;
}


static gw_step_t
gw_yx_create(gw_op_t *op)
{
    return gw_yx_run(op, gw_yx_create_steps);
}


static gw_step_t
gw_yx_retrieve(gw_op_t *op)
{
    return gw_yx_run(op, gw_yx_retrieve_steps);
}


static gw_step_t
gw_yx_cancel(gw_op_t *op)
{
    return gw_yx_run(op, gw_yx_cancel_steps);
}


static gw_step_t
gw_yx_list(gw_op_t *op)
{
    return gw_yx_run(op, gw_yx_list_steps);
}


/* ---- uploaded files: the Dataset API ------------------------------ */


static int64_t
gw_yx_emit(const gw_convo_t *c, gw_out_t *o, char *why, size_t len)
{
    int64_t       lines;
    const char   *role;
    const cJSON  *msg, *prior, *w;

    lines = 0;

    for (msg = c->messages->child; msg != NULL; msg = msg->next) {
        role = gw_json_str(msg, "role");
        w = gw_json_get(msg, "weight");

        if (strcmp(role, "assistant") != 0
            || (w != NULL && w->valuedouble == 0))
        {
            continue;
        }

        gw_out_open(o, '{');
        gw_out_lkey(o, "request");
        gw_out_open(o, '[');

        /*
         * one system message, first: the leading ones joined, as the
         * other vendors get them (fuzz_stage found two written as two)
         */
        if (c->system[0] != '\0') {
            gw_out_open(o, '{');
            gw_out_lkey(o, "role");
            gw_out_str(o, "system");
            gw_out_lkey(o, "text");
            gw_out_str(o, c->system);
            gw_out_close(o, '}');
        }

        for (prior = c->messages->child; prior != msg; prior = prior->next) {
            if (strcmp(gw_json_str(prior, "role"), "system") == 0) {
                continue;
            }

            gw_out_open(o, '{');
            gw_out_lkey(o, "role");
            gw_out_str(o, gw_json_str(prior, "role"));
            gw_out_lkey(o, "text");
            gw_out_str(o, gw_json_str(prior, "content"));
            gw_out_close(o, '}');
        }

        gw_out_close(o, ']');
        gw_out_lkey(o, "response");
        gw_out_str(o, gw_json_str(msg, "content"));
        gw_out_close(o, '}');
        gw_out_put(o, "\n", 1);

        /* the next line starts a new object */
        o->comma = 0;
        lines++;
    }

    return lines;
}


static gw_step_t
gw_yx_ds_create(gw_op_t *op)
{
    char                               name[64];
    YDS(CreateDatasetRequest)          req;
    YDS(CreateDatasetRequest__LabelsEntry)   owner, *labels[1];

    yds(create_dataset_request__init)(&req);
    yds(create_dataset_request__labels_entry__init)(&owner);

    /* "<client>-<file key>", at most 63: the object's name, no ext */
    snprintf(name, sizeof(name), "%.*s", (int) (strcspn(op->stage.object,
             ".")), op->stage.object);

    owner.key = GW_YX_OWNER;
    owner.value = (char *) op->client->name;
    labels[0] = &owner;

    req.name = name;
    req.folder_id = (char *) gw_provider_param(op->provider, "folder_id");
    req.task_type = "TextToTextGeneration";
    req.upload_format = "jsonlines";
    req.description = "staged by the fine-tuning gateway";
    req.n_labels = 1;
    req.labels = labels;

    return gw_yx_call(op, NULL, GW_YX_DATASET "Create",
                      &req.base, GW_YX_DS_CREATE);
}


/* a gRPC call on the draft dataset: GetUploadDraftUrl, Validate, ... */
static gw_step_t
gw_yx_ds_call(gw_op_t *op, const char *method, int phase)
{
    char            path[128];
    gw_step_t       rc;
    gw_yx_state_t  *st;

    YDS(GetUploadDraftUrlRequest)  url;
    YDS(ValidateDatasetRequest)    validate;
    YDS(DescribeDatasetRequest)    describe;
    YDS(DeleteDatasetRequest)      del;

    st = op->state;
    gw_join(path, sizeof(path), GW_YX_DATASET, method, NULL);

    switch (phase) {

    case GW_YX_DS_URL:
        yds(get_upload_draft_url_request__init)(&url);
        url.dataset_id = st->dataset_id;
        url.size_bytes = op->stage.size;
        return gw_yx_call(op, NULL, path, &url.base, phase);

    case GW_YX_DS_VALIDATE:
        yds(validate_dataset_request__init)(&validate);
        validate.dataset_id = st->dataset_id;
        return gw_yx_call(op, NULL, path, &validate.base, phase);

    case GW_YX_DS_DESCRIBE:
        yds(describe_dataset_request__init)(&describe);
        describe.dataset_id = st->dataset_id;
        rc = gw_yx_call(op, NULL, path, &describe.base, phase);

        /* a dataset may be ready at once; then a poll a second */
        op->call.delay_ms = st->polls ? GW_YX_POLL_MS : 0;
        return rc;

    default:
        yds(delete_dataset_request__init)(&del);
        del.dataset_id = st->dataset_id;
        return gw_yx_call(op, NULL, path, &del.base, GW_YX_DS_DELETE);
    }
}


/* the draft is deleted, then the op fails with what op->err holds */
static gw_step_t
gw_yx_ds_abandon(gw_op_t *op)
{
    gw_yx_state_t  *st;

    st = op->state;
    st->failure = op->err;

    return gw_yx_ds_call(op, "Delete", GW_YX_DS_DELETE);
}


/*
 * The PUT to the upload URL: an https URL on upload_host, whose path and
 * query (the presigned signature) go through upload_endpoint as they are
 */
static gw_step_t
gw_yx_ds_put(gw_op_t *op, const char *url)
{
    char         plain[512];
    size_t       n;
    const char  *host, *path, *query, *p;

    host = gw_provider_param(op->provider, "upload_host");
    host = host ? host : GW_YX_UPLOAD_HOST;
    n = strlen(host);

    if (strncmp(url, "https://", 8) != 0 || strncmp(url + 8, host, n) != 0
        || url[8 + n] != '/')
    {
        gw_yx_invalid_answer(op, "an upload URL off its upload_host");
        return gw_yx_ds_abandon(op);
    }

    path = url + 8 + n;
    query = strchr(path, '?');

    if ((size_t) ((query ? query : path + strlen(path)) - path)
        >= sizeof(plain))
    {
        gw_yx_invalid_answer(op, "an upload URL too long");
        return gw_yx_ds_abandon(op);
    }

    /* nginx escapes a subrequest's path again: only plain characters */
    for (p = path; p < (query ? query : path + strlen(path)); p++) {
        if (!(isalnum((unsigned char) *p) || strchr("/-._~", *p) != NULL)) {
            gw_yx_invalid_answer(op, "an upload URL the gateway cannot "
                                 "send as it is");
            return gw_yx_ds_abandon(op);
        }
    }

    op->call.method = "PUT";
    op->call.endpoint = gw_provider_param(op->provider, "upload_endpoint");
    op->call.body_file = op->stage.path;
    op->call.body_len = (size_t) op->stage.size;

    if (query != NULL) {
        memcpy(plain, path, query - path);
        plain[query - path] = '\0';
        gw_call_path(&op->call, plain, NULL, NULL);
        gw_call_query(&op->call, query + 1);

    } else {
        gw_call_path(&op->call, path, NULL, NULL);
    }

    ((gw_yx_state_t *) op->state)->phase = GW_YX_DS_PUT;

    return GW_STEP_CALL;
}


static gw_step_t
gw_yx_stage_steps(gw_op_t *op)
{
    int                           status;
    size_t                        len;
    gw_step_t                     rc;
    const uint8_t                *data;
    gw_yx_state_t                *st;
    YDS(CreateDatasetResponse)    *created;
    YDS(GetUploadDraftUrlResponse)  *url;
    YDS(DescribeDatasetResponse)  *described;
    YOP(Operation)                *o;

    st = op->state;

    rc = gw_yx_authorize(op);
    if (rc != GW_STEP_DONE) {
        return rc;
    }

    if (st->phase == GW_YX_START) {
        return gw_yx_ds_create(op);
    }

    if (st->phase == GW_YX_DS_DELETE) {
        /* whatever the delete answered, the op failed for its reason */
        op->err = st->failure;
        return GW_STEP_ERROR;
    }

    if (st->phase == GW_YX_DS_PUT) {
        if (gw_op_transport_error(op)) {
            return gw_yx_ds_abandon(op);
        }

        if (op->resp->status / 100 != 2) {
            gw_op_storage_error(op, "Object Storage", "upload", NULL);
            return gw_yx_ds_abandon(op);
        }

        return gw_yx_ds_call(op, "Validate", GW_YX_DS_VALIDATE);
    }

    if (gw_yx_answer(op, &data, &len) != 0) {
        return st->dataset_id[0] ? gw_yx_ds_abandon(op) : GW_STEP_ERROR;
    }

    switch (st->phase) {

    case GW_YX_DS_CREATE:
        created = yds(create_dataset_response__unpack)(NULL, len, data);

        if (created == NULL || created->dataset_id == NULL
            || created->dataset_id[0] == '\0'
            || strlen(created->dataset_id) >= sizeof(st->dataset_id))
        {
            yds(create_dataset_response__free_unpacked)(created, NULL);
            gw_yx_invalid_answer(op, "a dataset without an id");
            return GW_STEP_ERROR;
        }

        gw_copy(st->dataset_id, sizeof(st->dataset_id), created->dataset_id);
        yds(create_dataset_response__free_unpacked)(created, NULL);

        return gw_yx_ds_call(op, "GetUploadDraftUrl", GW_YX_DS_URL);

    case GW_YX_DS_URL:
        url = yds(get_upload_draft_url_response__unpack)(NULL, len, data);

        if (url == NULL || url->upload_url == NULL) {
            yds(get_upload_draft_url_response__free_unpacked)(url, NULL);
            gw_yx_invalid_answer(op, "no upload URL");
            return gw_yx_ds_abandon(op);
        }

        rc = gw_yx_ds_put(op, url->upload_url);
        yds(get_upload_draft_url_response__free_unpacked)(url, NULL);
        return rc;

    case GW_YX_DS_VALIDATE:
        o = yop(operation__unpack)(NULL, len, data);

        if (o == NULL || o->result_case == YOPC(OPERATION__RESULT_ERROR)) {
            if (o != NULL && o->error != NULL) {
                gw_yx_grpc_error(op, o->error->code, o->error->message,
                                 o->error->message
                                 ? strlen(o->error->message) : 0);

            } else {
                gw_yx_invalid_answer(op, "no validation operation");
            }

            yop(operation__free_unpacked)(o, NULL);
            return gw_yx_ds_abandon(op);
        }

        yop(operation__free_unpacked)(o, NULL);
        return gw_yx_ds_call(op, "Describe", GW_YX_DS_DESCRIBE);

    default:
        described = yds(describe_dataset_response__unpack)(NULL, len, data);

        if (described == NULL || described->dataset == NULL) {
            yds(describe_dataset_response__free_unpacked)(described, NULL);
            gw_yx_invalid_answer(op, "no dataset");
            return gw_yx_ds_abandon(op);
        }

        status = described->dataset->status;

        if (status == YDSC(DATASET_INFO__STATUS__READY)) {
            yds(describe_dataset_response__free_unpacked)(described, NULL);
            snprintf(op->stage.ref, sizeof(op->stage.ref),
                     "yandex://dataset/%s", st->dataset_id);
            return GW_STEP_DONE;
        }

        if (status == YDSC(DATASET_INFO__STATUS__INVALID)) {
            gw_yx_ds_invalid(op, described->dataset);
            yds(describe_dataset_response__free_unpacked)(described, NULL);
            return gw_yx_ds_abandon(op);
        }

        yds(describe_dataset_response__free_unpacked)(described, NULL);

        if (++st->polls >= GW_YX_POLLS_MAX) {
            gw_error_set(&op->err, 504, GW_TYPE_TIMEOUT, NULL,
                         "vendor_timeout", "provider '%s' did not finish "
                         "validating the dataset in %d seconds",
                         op->provider->name,
                         GW_YX_POLLS_MAX * GW_YX_POLL_MS / 1000);
            return gw_yx_ds_abandon(op);
        }

        return gw_yx_ds_call(op, "Describe", GW_YX_DS_DESCRIBE);
    }
}


/*
 * Yandex found the converted data invalid: a 400 naming training_file
 * with its first reason (the converter writes what Yandex documents, so
 * this is a rule the gateway does not know)
 */
static void
gw_yx_ds_invalid(gw_op_t *op, const YDS(DatasetInfo) *d)
{
    char                         text[300];
    const YDS(ValidationError)  *e;

    e = d->n_validation_error ? d->validation_error[0] : NULL;

    gw_vendor_text(op->provider,
                   e && e->error_description && e->error_description[0]
                   ? e->error_description
                   : (e && e->error ? e->error : "no reason given"),
                   text, sizeof(text));

    gw_error_set(&op->err, 400, GW_TYPE_INVALID, "training_file",
                 "invalid_training_file", "training_file: Yandex Cloud "
                 "found the dataset invalid%s%lld: %s",
                 e && e->n_row_numbers ? " at row " : "",
                 e && e->n_row_numbers ? (long long) e->row_numbers[0] : 0LL,
                 text);
}


static gw_step_t
gw_yx_stage(gw_op_t *op)
{
    return gw_yx_run(op, gw_yx_stage_steps);
}


/* a deleted file's dataset, op->stage.ref "yandex://dataset/<id>" */
static gw_step_t
gw_yx_unstage_steps(gw_op_t *op)
{
    size_t          len;
    gw_step_t       rc;
    const uint8_t  *data;
    gw_yx_state_t  *st;

    st = op->state;

    rc = gw_yx_authorize(op);
    if (rc != GW_STEP_DONE) {
        return rc;
    }

    if (st->phase != GW_YX_DS_DELETE) {
        gw_copy(st->dataset_id, sizeof(st->dataset_id),
                op->stage.ref + sizeof("yandex://dataset/") - 1);
        return gw_yx_ds_call(op, "Delete", GW_YX_DS_DELETE);
    }

    /* gone already is gone */
    if (op->resp->transport == GW_TRANSPORT_OK
        && op->resp->grpc_status == 5)
    {
        return GW_STEP_DONE;
    }

    return gw_yx_answer(op, &data, &len) == 0 ? GW_STEP_DONE : GW_STEP_ERROR;
}


static gw_step_t
gw_yx_unstage(gw_op_t *op)
{
    return gw_yx_run(op, gw_yx_unstage_steps);
}
