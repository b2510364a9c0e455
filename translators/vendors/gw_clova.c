
/*
 * NAVER CLOVA Studio tuning API v2.
 *
 *   create   POST   /tuning/v2/tasks
 *   retrieve GET    /tuning/v2/tasks/{taskId}
 *   list     GET    /tuning/v2/tasks?page=&size=
 *   cancel   GET, then DELETE /tuning/v2/tasks/{taskId} (CLOVA has no stop)
 *
 * Provider params: auth=bearer (api_key) or auth=apigw (access_key,
 * secret_key: API Gateway signature v2); storage_access_key and
 * storage_secret_key for the Object Storage bucket that holds datasets;
 * list_page_size (1..100, default 100).
 *
 * Uploaded files (GW_OP_STAGE) become CLOVA's CSV tuning dataset, put
 * into the provider's Object Storage bucket (S3-compatible, signed with
 * AWS Signature Version 4 and the storage keys): storage_endpoint (the
 * internal location), storage_bucket, storage_host (the Host signed and
 * sent, default kr.object.ncloudstorage.com), storage_region (default
 * kr-standard), storage_prefix (default "ftgw-files/").
 *
 * Every vendor value the gateway maps is in one of the tables below.
 */


#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <core/gw_core.h>
#include <sign/gw_sign.h>


#define GW_CLOVA_TASKS       "/tuning/v2/tasks"
#define GW_CLOVA_S3_HOST     "kr.object.ncloudstorage.com"
#define GW_CLOVA_S3_REGION   "kr-standard"
#define GW_CLOVA_S3_PREFIX   "ftgw-files/"


typedef struct {
    const char         *status;
    gw_status_t         canonical;
} gw_clova_status_t;


typedef struct {
    const char         *reason;          /* statusInfo.failureReason */
    const char         *code;            /* canonical job error code */
    const char         *description;
} gw_clova_failure_t;


typedef struct {
    const char         *code;            /* status.code or errorCode */
    int                 vendor_http;     /* what the vendor doc gives */
    int                 http;            /* what the client gets */
    const char         *type;
} gw_clova_error_t;


/* the task's status -> OpenAI status; no default: others are a 502 */
static const gw_clova_status_t  gw_clova_statuses[] = {
    { "WAIT",       GW_STATUS_QUEUED },
    { "RUNNING",    GW_STATUS_RUNNING },
    { "SUCCEEDED",  GW_STATUS_SUCCEEDED },
    { "FAILED",     GW_STATUS_FAILED },
    { NULL, 0 }
};


static const gw_clova_failure_t  gw_clova_failures[] = {
    { "file.extension", "invalid_training_file",
      "The dataset's file extension is not valid for this tuning type" },
    { "file.size", "invalid_training_file",
      "The dataset exceeds the vendor's size limit" },
    { "file.encoding", "invalid_training_file",
      "The dataset's character set is not supported (use UTF-8 with BOM)" },
    { "file.format", "invalid_training_file",
      "The dataset's format is invalid" },
    { "file.error", "training_file_unreadable",
      "The dataset could not be read during training" },
    { "file.noexist", "training_file_not_found",
      "The dataset file does not exist" },
    { "File not found", "training_file_not_found",
      "The dataset was not found in Object Storage" },
    { "resource.timeout", "resource_unavailable",
      "The vendor could not secure a GPU in time; retry later" },
    { "clops.error", "vendor_training_error",
      "The vendor's training platform (CLOps) failed during training" },
    { "train.unknown", "training_error",
      "Training failed for a reason other than the dataset" },
    { NULL, NULL, NULL }
};


/*
 * Error codes of the stream host ({"status":{"code"}}) and of the legacy
 * API Gateway ({"error":{"errorCode"}}).  A code that the client's own
 * request caused keeps the vendor's HTTP status; a failure of the vendor
 * or of the gateway's own credentials is a 502/503/504, so that the
 * client's SDK does not blame the client's key.
 */
static const gw_clova_error_t  gw_clova_errors[] = {
    { "40000", 400, 400, GW_TYPE_INVALID },
    { "40001", 400, 400, GW_TYPE_INVALID },
    { "40002", 400, 400, GW_TYPE_INVALID },
    { "40003", 400, 400, GW_TYPE_INVALID },
    { "40004", 400, 400, GW_TYPE_INVALID },
    { "40005", 400, 400, GW_TYPE_INVALID },
    { "40009", 400, 400, GW_TYPE_INVALID },
    { "40055", 400, 400, GW_TYPE_INVALID },
    { "40060", 400, 400, GW_TYPE_INVALID },
    { "40061", 400, 400, GW_TYPE_INVALID },
    { "40063", 400, 400, GW_TYPE_INVALID },
    { "40080", 400, 400, GW_TYPE_INVALID },
    { "40082", 400, 400, GW_TYPE_INVALID },
    { "40083", 400, 503, GW_TYPE_API },
    { "40084", 400, 400, GW_TYPE_INVALID },
    { "40100", 401, 502, GW_TYPE_UPSTREAM },
    { "40101", 401, 502, GW_TYPE_UPSTREAM },
    { "40102", 401, 502, GW_TYPE_UPSTREAM },
    { "40103", 401, 502, GW_TYPE_UPSTREAM },
    { "40104", 401, 502, GW_TYPE_UPSTREAM },
    { "40170", 401, 502, GW_TYPE_UPSTREAM },
    { "40300", 403, 403, GW_TYPE_PERMISSION },
    { "40301", 403, 404, GW_TYPE_NOT_FOUND },
    { "40400", 404, 404, GW_TYPE_NOT_FOUND },
    { "40600", 406, 502, GW_TYPE_UPSTREAM },
    { "40800", 408, 504, GW_TYPE_TIMEOUT },
    { "41300", 413, 413, GW_TYPE_INVALID },
    { "41500", 415, 502, GW_TYPE_UPSTREAM },
    { "41501", 415, 502, GW_TYPE_UPSTREAM },
    { "42400", 424, 502, GW_TYPE_UPSTREAM },
    { "42900", 429, 429, GW_TYPE_RATE_LIMIT },
    { "42901", 429, 429, GW_TYPE_RATE_LIMIT },
    { "42902", 429, 429, GW_TYPE_RATE_LIMIT },
    { "42903", 429, 429, GW_TYPE_RATE_LIMIT },
    { "50000", 500, 502, GW_TYPE_UPSTREAM },
    { "50100", 501, 502, GW_TYPE_UPSTREAM },
    { "50400", 504, 504, GW_TYPE_TIMEOUT },
    { NULL, 0, 0, NULL }
};


/* the legacy API Gateway's errorCode values */
static const gw_clova_error_t  gw_clova_gateway_errors[] = {
    { "100", 400, 400, GW_TYPE_INVALID },
    { "200", 401, 502, GW_TYPE_UPSTREAM },
    { "210", 401, 502, GW_TYPE_UPSTREAM },
    { "300", 404, 404, GW_TYPE_NOT_FOUND },
    { "400", 429, 429, GW_TYPE_RATE_LIMIT },
    { "410", 429, 429, GW_TYPE_RATE_LIMIT },
    { "420", 429, 429, GW_TYPE_RATE_LIMIT },
    { "430", 413, 413, GW_TYPE_INVALID },
    { "500", 503, 503, GW_TYPE_API },
    { "510", 504, 504, GW_TYPE_TIMEOUT },
    { "900", 500, 502, GW_TYPE_UPSTREAM },
    { NULL, 0, 0, NULL }
};


/* models the vendor documents as not tunable */
static const char  *gw_clova_untunable[] = {
    "HCX-005", "HCX-DASH-002", NULL
};


static gw_rc_t gw_clova_check_config(const gw_provider_t *p, char *err,
    size_t len);
static gw_step_t gw_clova_create(gw_op_t *op);
static gw_step_t gw_clova_retrieve(gw_op_t *op);
static gw_step_t gw_clova_cancel(gw_op_t *op);
static gw_step_t gw_clova_list(gw_op_t *op);
static int gw_clova_validate(gw_op_t *op);
static char *gw_clova_create_body(gw_op_t *op, size_t *len);
static void gw_clova_call(gw_op_t *op, const char *method, const char *path,
    const char *query);
static cJSON *gw_clova_result(gw_op_t *op);
static void gw_clova_vendor_error(gw_op_t *op, const cJSON *root);
static int gw_clova_task_to_job(gw_op_t *op, cJSON *task,
    gw_job_t *job);
static void gw_clova_weights_lost(gw_job_t *job);
static void gw_clova_failure(gw_op_t *op, const cJSON *info,
    gw_job_t *job);
static void gw_clova_progress(gw_op_t *op, const cJSON *info, gw_job_t *job);
static int gw_clova_task_id_valid(const char *id);
static gw_step_t gw_clova_stage(gw_op_t *op);
static gw_step_t gw_clova_unstage(gw_op_t *op);
static gw_step_t gw_clova_s3_call(gw_op_t *op, const char *method,
    const char *path, const char *sha256);
static const char *gw_clova_s3_code(const char *body, size_t len, char *out,
    size_t size);
static int64_t gw_clova_emit(const gw_convo_t *c, gw_out_t *o, char *why,
    size_t len);
static int gw_clova_storage_name_ok(const char *s, int slash);


/*
 * CLOVA's tuning dataset: one CSV row a turn, the conversation's system
 * prompt on each of its rows, C_ID and T_ID from 0 and consecutive
 */
static const gw_stage_format_t  gw_clova_format = {
    "CLOVA Studio",
    "csv",
    "text/csv; charset=utf-8",
    "System_Prompt,C_ID,T_ID,Text,Completion\r\n",
    0, NULL,
    100, "CLOVA Studio's tuning dataset has at least 100 rows",
    0,                          /* no limit on turns */
    0,                          /* every row is trained on */
    gw_clova_emit,
    "storage_endpoint"
};


static const gw_param_spec_t  gw_clova_params[] = {
    { "auth", 0 },
    { "api_key", 1 },
    { "access_key", 1 },
    { "secret_key", 1 },
    { "storage_access_key", 1 },
    { "storage_secret_key", 1 },
    { "storage_endpoint", 0 },
    { "storage_bucket", 0 },
    { "storage_host", 0 },
    { "storage_region", 0 },
    { "storage_prefix", 0 },
    { "list_page_size", 0 },
    { NULL, 0 }
};


const gw_vendor_t  gw_vendor_clova = {
    "clova",
    GW_F_SUFFIX | GW_F_N_EPOCHS | GW_F_LEARNING_RATE | GW_F_TUNING_TYPE
    | GW_F_TASK_TYPE | GW_F_LORA_RANK | GW_F_LORA_ALPHA
    | GW_F_VALIDATION_SPLIT,
    gw_clova_params,
    gw_clova_check_config,
    0,                          /* no state between calls */
    {
        gw_clova_create,        /* GW_OP_CREATE */
        gw_clova_retrieve,      /* GW_OP_RETRIEVE */
        gw_clova_cancel,        /* GW_OP_CANCEL */
        gw_clova_list,          /* GW_OP_LIST */
        NULL,                   /* GW_OP_EVENTS: synthesised */
        NULL,                   /* GW_OP_CHECKPOINTS: none */
        gw_clova_stage,         /* GW_OP_STAGE */
        gw_clova_unstage        /* GW_OP_UNSTAGE */
    },
    NULL,                       /* no model list: routes only */
    &gw_clova_format
};


static gw_rc_t
gw_clova_check_config(const gw_provider_t *p, char *err, size_t len)
{
    long         size;
    char        *end;
    const char  *auth, *v;

    auth = gw_provider_param(p, "auth");
    if (auth == NULL) {
        auth = "bearer";
    }

    if (strcmp(auth, "bearer") == 0) {
        if (gw_provider_param(p, "api_key") == NULL) {
            snprintf(err, len, "auth=bearer needs \"api_key_file\"");
            return GW_ERROR;
        }

    } else if (strcmp(auth, "apigw") == 0) {
        if (gw_provider_param(p, "access_key") == NULL
            || gw_provider_param(p, "secret_key") == NULL)
        {
            snprintf(err, len, "auth=apigw needs \"access_key_file\" and "
                     "\"secret_key_file\"");
            return GW_ERROR;
        }

    } else {
        snprintf(err, len, "\"auth\" must be \"bearer\" or \"apigw\"");
        return GW_ERROR;
    }

    if (gw_provider_param(p, "storage_access_key") == NULL
        || gw_provider_param(p, "storage_secret_key") == NULL)
    {
        snprintf(err, len, "needs \"storage_access_key_file\" and "
                 "\"storage_secret_key_file\" (Object Storage keys)");
        return GW_ERROR;
    }

    v = gw_provider_param(p, "list_page_size");
    if (v != NULL) {
        size = strtol(v, &end, 10);
        if (*end != '\0' || size < 1 || size > 100) {
            snprintf(err, len, "\"list_page_size\" must be 1..100");
            return GW_ERROR;
        }
    }

    /* the names go into a signed path as they are: no escaping needed */
    v = gw_provider_param(p, "storage_bucket");
    if (gw_provider_param(p, "storage_endpoint") != NULL
        && (v == NULL || !gw_clova_storage_name_ok(v, 0)))
    {
        snprintf(err, len, "storage_endpoint= needs \"storage_bucket\", "
                 "a bucket name ([a-z0-9.-])");
        return GW_ERROR;
    }

    v = gw_provider_param(p, "storage_prefix");
    if (v != NULL && !gw_clova_storage_name_ok(v, 1)) {
        snprintf(err, len, "\"storage_prefix\" must be [A-Za-z0-9._/-]");
        return GW_ERROR;
    }

    return GW_OK;
}


static int
gw_clova_storage_name_ok(const char *s, int slash)
{
    for ( ; *s; s++) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')
              || *s == '.' || *s == '-'
              || (slash && ((*s >= 'A' && *s <= 'Z') || *s == '_'
                            || *s == '/'))))
        {
            return 0;
        }
    }

    return 1;
}


/* ---- outgoing calls ------------------------------------------------ */


static void
gw_clova_call(gw_op_t *op, const char *method, const char *path,
    const char *query)
{
    char                  uri[1100], ts[32], sig[64];
    const gw_provider_t  *p;
    const char           *auth;

    p = op->provider;

    op->call.method = method;
    gw_call_path(&op->call, path, NULL, NULL);
    gw_call_query(&op->call, query);

    if (op->call.body != NULL) {
        gw_call_header(&op->call, "Content-Type", "application/json");
    }

    gw_call_header(&op->call, "X-NCP-CLOVASTUDIO-REQUEST-ID",
                   op->request_id);

    auth = gw_provider_param(p, "auth");

    if (auth != NULL && strcmp(auth, "apigw") == 0) {
        /* the signed URI is the path and the raw query, as sent */
        gw_join(uri, sizeof(uri), op->call.path,
                op->call.query[0] ? "?" : "", op->call.query);
        snprintf(ts, sizeof(ts), "%" PRId64, op->now_ms);

        gw_sign_ncp_v2(method, uri, ts, gw_provider_param(p, "access_key"),
                       gw_provider_param(p, "secret_key"), sig);

        gw_call_header(&op->call, "X-NCP-APIGW-TIMESTAMP", ts);
        gw_call_header(&op->call, "X-NCP-IAM-ACCESS-KEY",
                       gw_provider_param(p, "access_key"));
        gw_call_header(&op->call, "X-NCP-APIGW-SIGNATURE-V2", sig);
        return;
    }

    gw_join(uri, sizeof(uri), "Bearer ", gw_provider_param(p, "api_key"),
            NULL);
    gw_call_header(&op->call, "Authorization", uri);
}


/*
 * The "result" of a successful answer (detached, owned by the caller),
 * or NULL with op->err set.  A successful DELETE has no result: an empty
 * object stands for it.
 */
static cJSON *
gw_clova_result(gw_op_t *op)
{
    cJSON        *root, *result;
    const char   *code;
    const cJSON  *status;

    if (gw_op_transport_error(op)) {
        return NULL;
    }

    root = gw_json_parse(op->resp->body, op->resp->body_len, NULL);

    if (root == NULL || !cJSON_IsObject(root)) {
        gw_json_delete(root);
        gw_op_unreadable(op, "a body that is not CLOVA JSON");
        return NULL;
    }

    status = gw_json_get(root, "status");
    code = gw_json_str(status, "code");

    if (op->resp->status / 100 != 2 || code == NULL
        || strcmp(code, "20000") != 0)
    {
        gw_clova_vendor_error(op, root);
        gw_json_delete(root);
        return NULL;
    }

    result = cJSON_DetachItemFromObjectCaseSensitive(root, "result");
    gw_json_delete(root);

    if (result == NULL) {
        result = cJSON_CreateObject();
        if (result == NULL) {
            gw_op_nomem(op);
        }
    }

    return result;
}


static void
gw_clova_vendor_error(gw_op_t *op, const cJSON *root)
{
    int                      http;
    char                     message[300];
    const char              *code, *vmsg, *type, *param, *ccode;
    const cJSON             *obj;
    gw_answer_class_t        c;
    const gw_clova_error_t  *e, *table;

    obj = gw_json_get(root, "status");
    table = gw_clova_errors;
    code = gw_json_str(obj, "code");

    if (code == NULL) {
        obj = gw_json_get(root, "error");
        table = gw_clova_gateway_errors;
        code = gw_json_str(obj, "errorCode");
    }

    vmsg = gw_json_str(obj, "message");
    gw_vendor_text(op->provider, vmsg, message, sizeof(message));

    for (e = table; code != NULL && e->code != NULL; e++) {
        if (strcmp(e->code, code) == 0) {
            break;
        }
    }

    if (code != NULL && e->code != NULL) {
        http = e->http;
        type = e->type;

    } else {
        c = gw_answer_class(op->resp->status);
        http = c.http;
        type = c.type;
    }

    param = NULL;
    ccode = code ? code : "vendor_error";

    /* on create, 40400 "not found" is the dataset in Object Storage */
    if (op->kind == GW_OP_CREATE && code != NULL
        && strcmp(code, "40400") == 0)
    {
        http = 400;
        type = GW_TYPE_INVALID;
        param = "training_file";

    } else if (op->kind == GW_OP_CREATE && http == 400) {
        param = "model";
        if (code == NULL || strcmp(code, "40080") != 0) {
            param = NULL;
        }
    }

    gw_error_set(&op->err, http, type, param, ccode,
                 "provider '%s' (CLOVA Studio) answered HTTP %d, code %s: "
                 "%s", op->provider->name, op->resp->status,
                 code ? code : "none", message[0] ? message : "no message");
}


/* ---- the task object ----------------------------------------------- */


static int
gw_clova_task_id_valid(const char *id)
{
    size_t  n;

    n = strlen(id);
    if (n == 0 || n > 64) {
        return 0;
    }

    return strspn(id, "abcdefghijklmnopqrstuvwxyz"
                      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == n;
}


static int
gw_clova_task_to_job(gw_op_t *op, cJSON *task, gw_job_t *job)
{
    int64_t                   epochs;
    cJSON                    *info;
    const char               *id, *status, *v;
    const gw_clova_status_t  *s;

    id = gw_json_str(task, "id");
    status = gw_json_str(task, "status");

    if (id == NULL || !gw_clova_task_id_valid(id) || status == NULL) {
        gw_error_set(&op->err, 502, GW_TYPE_UPSTREAM, NULL,
                     "invalid_vendor_response", "provider '%s' returned a "
                     "task without a valid id and status",
                     op->provider->name);
        return -1;
    }

    for (s = gw_clova_statuses; s->status != NULL; s++) {
        if (strcmp(s->status, status) == 0) {
            break;
        }
    }

    if (s->status == NULL) {
        gw_error_set(&op->err, 502, GW_TYPE_UPSTREAM, NULL,
                     "unknown_vendor_status", "provider '%s' returned the "
                     "task status '%.32s', which the gateway does not map",
                     op->provider->name, status);
        return -1;
    }

    job->status = s->canonical;
    job->vendor_id = gw_strdup(id);
    job->vendor_status = gw_strdup(status);

    if ((v = gw_json_str(task, "model")) != NULL) {
        job->vendor_model = gw_strdup(v);
    }

    if ((v = gw_json_str(task, "name")) != NULL) {
        job->name = gw_strdup(v);
    }

    job->created_at = gw_parse_iso8601(gw_json_str(task, "createdDate"));
    job->updated_at = gw_parse_iso8601(gw_json_str(task, "updatedDate"));

    epochs = gw_json_int(task, "trainEpochs");
    job->n_epochs = epochs;
    job->learning_rate = gw_json_num(task, "learningRate");

    info = gw_json_get(task, "statusInfo");
    if (!cJSON_IsObject(info)) {
        info = NULL;
    }

    gw_clova_progress(op, info, job);

    if (job->status == GW_STATUS_FAILED) {
        gw_clova_failure(op, info, job);
    }

    if (job->status == GW_STATUS_SUCCEEDED && info != NULL
        && cJSON_IsFalse(gw_json_get(info, "sendWeightSuccess")))
    {
        gw_clova_weights_lost(job);
    }

    if (job->status == GW_STATUS_SUCCEEDED) {
        char  model[256];

        /* a tuned CLOVA model is addressed by its task id */
        gw_join(model, sizeof(model), op->provider->name, "/tasks/", id);
        job->fine_tuned_model = gw_strdup(model);
    }

    job->vendor_extra = cJSON_CreateObject();
    if (job->vendor_extra != NULL) {
        if ((v = gw_json_str(task, "taskType")) != NULL) {
            cJSON_AddStringToObject(job->vendor_extra, "task_type", v);
        }

        if ((v = gw_json_str(task, "method")) != NULL) {
            cJSON_AddStringToObject(job->vendor_extra, "method", v);
        }

        /* API or WEB: whether the task was made by a call or the console */
        if ((v = gw_json_str(task, "createdClientType")) != NULL) {
            cJSON_AddStringToObject(job->vendor_extra, "created_client_type",
                                    v);
        }

        /* moved, not copied: the task tree is freed next */
        if (info != NULL) {
            cJSON_AddItemToObject(job->vendor_extra, "status_info",
                                  cJSON_DetachItemViaPointer(task, info));
        }
    }

    if (job->vendor_id == NULL || job->vendor_status == NULL) {
        gw_op_nomem(op);
        return -1;
    }

    return 0;
}


static void
gw_clova_progress(gw_op_t *op, const cJSON *info, gw_job_t *job)
{
    int64_t  tokens, estimated, epochs, left;

    if (info == NULL) {
        return;
    }

    job->step = gw_json_int(info, "currStep");
    job->total_steps = gw_json_int(info, "totalTrainSteps");
    job->epoch = gw_json_int(info, "currEpoch");
    job->total_epochs = gw_json_int(info, "totalTrainEpochs");
    job->train_loss = gw_json_num(info, "trainLoss");
    job->data_rows = gw_json_int(info, "dataRows");
    job->dataset_tokens = gw_json_int(info, "numOfTokens");

    if (job->status == GW_STATUS_SUCCEEDED
        || job->status == GW_STATUS_FAILED)
    {
        job->finished_at = gw_parse_iso8601(gw_json_str(info,
                                                        "endDatetime"));
        if (job->finished_at == GW_UNSET_INT) {
            job->finished_at = job->updated_at;
        }
    }

    /* tokens trained: the dataset's tokens once per epoch */
    tokens = job->dataset_tokens;
    epochs = (job->total_epochs != GW_UNSET_INT) ? job->total_epochs
                                                  : job->n_epochs;

    if (job->status == GW_STATUS_SUCCEEDED && tokens != GW_UNSET_INT
        && tokens >= 0 && epochs != GW_UNSET_INT && epochs > 0)
    {
        job->trained_tokens = gw_mul(tokens, epochs);
    }

    /* estimatedTime is the whole run in seconds: scale by what is left */
    estimated = gw_json_int(info, "estimatedTime");

    left = (job->step != GW_UNSET_INT && job->step >= 0
            && job->total_steps != GW_UNSET_INT && job->total_steps > 0
            && job->step <= job->total_steps && estimated != GW_UNSET_INT
            && estimated >= 0)
           ? gw_mul(estimated, job->total_steps - job->step) : GW_UNSET_INT;

    if (job->status == GW_STATUS_RUNNING && left != GW_UNSET_INT) {
        job->estimated_finish = op->now_ms / 1000 + left / job->total_steps;
    }
}


/*
 * A SUCCEEDED task whose weights CLOVA did not save (statusInfo.
 * sendWeightSuccess false) has no model that can be called: the client
 * gets a failed job, never a fine_tuned_model it cannot use.  The raw
 * status stays in vendor.status.
 */
static void
gw_clova_weights_lost(gw_job_t *job)
{
    job->status = GW_STATUS_FAILED;
    job->has_error = 1;
    gw_copy(job->error_code, sizeof(job->error_code), "weights_not_saved");
    gw_copy(job->error_message, sizeof(job->error_message),
            "Training finished but CLOVA Studio did not save the trained "
            "weights (statusInfo.sendWeightSuccess is false), so there is "
            "no model to call: train again");
}


static void
gw_clova_failure(gw_op_t *op, const cJSON *info, gw_job_t *job)
{
    char                       text[300], *vmsg;
    const char                *reason;
    const gw_clova_failure_t  *f;

    reason = gw_json_str(info, "failureReason");

    vmsg = NULL;
    if (gw_json_str(info, "message") != NULL) {
        gw_vendor_text(op->provider, gw_json_str(info, "message"), text,
                       sizeof(text));
        vmsg = text;
    }

    job->has_error = 1;

    if (reason == NULL) {
        snprintf(job->error_code, sizeof(job->error_code), "training_error");
        snprintf(job->error_message, sizeof(job->error_message),
                 "The vendor reported the task as failed without a reason");
        return;
    }

    job->vendor_error_code = gw_strdup(reason);

    for (f = gw_clova_failures; f->reason != NULL; f++) {
        if (strcmp(f->reason, reason) == 0) {
            break;
        }
    }

    if (f->reason == NULL) {
        snprintf(job->error_code, sizeof(job->error_code),
                 "vendor_training_error");
        snprintf(job->error_message, sizeof(job->error_message),
                 "Training failed (CLOVA failureReason %.64s)%s%s",
                 reason, vmsg ? ": " : "", vmsg ? vmsg : "");
        return;
    }

    gw_copy(job->error_code, sizeof(job->error_code), f->code);
    snprintf(job->error_message, sizeof(job->error_message),
             "%s (CLOVA failureReason %s)%s%s", f->description,
             f->reason, vmsg ? ": " : "", vmsg ? vmsg : "");
}


/* ---- create -------------------------------------------------------- */


static int
gw_clova_validate(gw_op_t *op)
{
    size_t                i;
    gw_dataset_ref_t      ref;
    const gw_job_spec_t  *s;

    s = op->spec;

    for (i = 0; gw_clova_untunable[i] != NULL; i++) {
        if (strcmp(s->vendor_model, gw_clova_untunable[i]) == 0) {
            gw_error_invalid(&op->err, "model", "unsupported_value",
                             "CLOVA Studio does not tune %s",
                             s->vendor_model);
            return -1;
        }
    }

    if (s->tuning_type != GW_TUNING_UNSET
        && s->tuning_type != GW_TUNING_LORA)
    {
        gw_error_invalid(&op->err, "tuning.tuning_type", "unsupported_value",
                         "CLOVA Studio tunes with LoRA (PEFT) only: "
                         "tuning.tuning_type must be \"lora\"");
        return -1;
    }

    if (s->task_type != GW_TASK_UNSET && s->task_type != GW_TASK_GENERATION
        && s->task_type != GW_TASK_CLASSIFICATION)
    {
        gw_error_invalid(&op->err, "tuning.task_type", "unsupported_value",
                         "CLOVA Studio supports tuning.task_type "
                         "\"generation\" and \"classification\"");
        return -1;
    }

    if (s->n_epochs != GW_UNSET_INT && (s->n_epochs < 1 || s->n_epochs > 20))
    {
        gw_error_invalid(&op->err, "hyperparameters.n_epochs",
                         "invalid_value", "CLOVA Studio trains 1 to 20 "
                         "epochs");
        return -1;
    }

    if (gw_has_num(s->learning_rate)
        && (s->learning_rate < 1e-6 || s->learning_rate > 1.0))
    {
        gw_error_invalid(&op->err, s->learning_rate_param, "invalid_value",
                         "CLOVA Studio accepts a learning rate from "
                         "1e-6 to 1");
        return -1;
    }

    if (s->lora_rank != GW_UNSET_INT
        && (s->lora_rank < 2 || s->lora_rank > 64))
    {
        gw_error_invalid(&op->err, "tuning.lora.rank", "invalid_value",
                         "CLOVA Studio accepts tuning.lora.rank from 2 "
                         "to 64");
        return -1;
    }

    if (s->lora_alpha != GW_UNSET_INT
        && (s->lora_alpha < 2 || s->lora_alpha > 512))
    {
        gw_error_invalid(&op->err, "tuning.lora.alpha", "invalid_value",
                         "CLOVA Studio accepts tuning.lora.alpha from 2 "
                         "to 512");
        return -1;
    }

    if (gw_has_num(s->validation_split)
        && (s->validation_split < 0.0 || s->validation_split > 0.1))
    {
        gw_error_invalid(&op->err, "tuning.validation_split",
                         "invalid_value", "CLOVA Studio accepts "
                         "tuning.validation_split from 0 to 0.1");
        return -1;
    }

    if (s->ntrain != 1 || gw_dataset_ref_parse(s->train[0].ref, &ref)
                          != GW_OK)
    {
        gw_error_invalid(&op->err, "training_file", "invalid_value",
                         "CLOVA Studio reads its dataset from Object "
                         "Storage: training_file must be "
                         "\"s3://<bucket>/<path>\"");
        return -1;
    }

    i = (strcmp(ref.scheme, "s3") == 0);
    gw_dataset_ref_free(&ref);

    if (!i) {
        gw_error_invalid(&op->err, "training_file", "invalid_value",
                         "CLOVA Studio reads its dataset from Object "
                         "Storage: training_file must be "
                         "\"s3://<bucket>/<path>\"");
        return -1;
    }

    return 0;
}


/* written straight into the body: a tree would only be printed */

static char *
gw_clova_create_body(gw_op_t *op, size_t *len)
{
    gw_out_t              o;
    const char           *key;
    gw_dataset_ref_t      ref;
    const gw_job_spec_t  *s;

    s = op->spec;

    if (gw_dataset_ref_parse(s->train[0].ref, &ref) != GW_OK) {
        return NULL;
    }

    gw_out_init(&o);
    gw_out_open(&o, '{');

    gw_out_lkey(&o, "name");
    gw_out_str(&o, op->job_name);
    gw_out_lkey(&o, "model");
    gw_out_str(&o, s->vendor_model);

    if (s->tuning_type == GW_TUNING_LORA) {
        gw_out_lkey(&o, "tuningType");
        gw_out_str(&o, "PEFT");
    }

    if (s->task_type != GW_TASK_UNSET) {
        gw_out_lkey(&o, "taskType");
        gw_out_str(&o, s->task_type == GW_TASK_GENERATION
                       ? "GENERATION" : "CLASSIFICATION");
    }

    if (s->n_epochs != GW_UNSET_INT) {
        gw_out_lkey(&o, "trainEpochs");
        gw_out_int(&o, s->n_epochs);
    }

    if (gw_has_num(s->learning_rate)) {
        gw_out_lkey(&o, "learningRate");
        gw_out_num(&o, s->learning_rate);
    }

    if (gw_has_num(s->validation_split)) {
        gw_out_lkey(&o, "validationSplitRatio");
        gw_out_num(&o, s->validation_split);
    }

    if (s->lora_rank != GW_UNSET_INT) {
        gw_out_lkey(&o, "loraR");
        gw_out_int(&o, s->lora_rank);
    }

    if (s->lora_alpha != GW_UNSET_INT) {
        gw_out_lkey(&o, "loraAlpha");
        gw_out_int(&o, s->lora_alpha);
    }

    gw_out_lkey(&o, "trainingDatasetFilePath");
    gw_out_str(&o, ref.path);
    gw_out_lkey(&o, "trainingDatasetBucket");
    gw_out_str(&o, ref.bucket);

    /* validated at configuration: never null here */
    key = gw_provider_param(op->provider, "storage_access_key");
    gw_out_lkey(&o, "trainingDatasetAccessKey");
    gw_out_str(&o, key);
    key = gw_provider_param(op->provider, "storage_secret_key");
    gw_out_lkey(&o, "trainingDatasetSecretKey");
    gw_out_str(&o, key);

    gw_out_close(&o, '}');

    gw_dataset_ref_free(&ref);

    return gw_out_done(&o, len);
}


/* the task of the answer, as op->job */
static gw_step_t
gw_clova_answered_job(gw_op_t *op)
{
    int     rc;
    cJSON  *task;

    task = gw_clova_result(op);
    if (task == NULL) {
        return GW_STEP_ERROR;
    }

    rc = gw_clova_task_to_job(op, task, &op->job);
    gw_json_delete(task);

    return (rc == 0) ? GW_STEP_DONE : GW_STEP_ERROR;
}


static gw_step_t
gw_clova_create(gw_op_t *op)
{
    if (op->step == 0) {
        if (gw_clova_validate(op) != 0) {
            return GW_STEP_ERROR;
        }

        op->call.body = gw_clova_create_body(op, &op->call.body_len);
        if (op->call.body == NULL) {
            gw_op_nomem(op);
            return GW_STEP_ERROR;
        }

        gw_clova_call(op, "POST", GW_CLOVA_TASKS, NULL);
        return GW_STEP_CALL;
    }

    if (gw_clova_answered_job(op) != GW_STEP_DONE) {
        return GW_STEP_ERROR;
    }

    op->job.training_file = gw_strdup(op->spec->train[0].ref);

    return GW_STEP_DONE;
}


/* ---- retrieve, cancel, list ---------------------------------------- */


static gw_step_t
gw_clova_retrieve(gw_op_t *op)
{
    char  path[512];

    if (op->step == 0) {
        gw_join(path, sizeof(path), GW_CLOVA_TASKS "/", op->ref.vendor_id,
                NULL);
        gw_clova_call(op, "GET", path, NULL);
        return GW_STEP_CALL;
    }

    return gw_clova_answered_job(op);
}


/*
 * CLOVA cannot stop a task, only delete it.  Cancel deletes a task that
 * is still WAIT or RUNNING (which stops it) and answers the job as
 * cancelled; a finished task is never deleted, since that would destroy
 * the tuned model or the failure record.
 */
static gw_step_t
gw_clova_cancel(gw_op_t *op)
{
    char    path[512];
    cJSON  *result;

    gw_join(path, sizeof(path), GW_CLOVA_TASKS "/", op->ref.vendor_id, NULL);

    switch (op->step) {

    case 0:
        gw_clova_call(op, "GET", path, NULL);
        return GW_STEP_CALL;

    case 1:
        if (gw_clova_retrieve(op) != GW_STEP_DONE) {
            return GW_STEP_ERROR;
        }

        /* never delete another client's task, nor a finished one */
        if (!gw_op_cancellable(op)) {
            return GW_STEP_ERROR;
        }

        gw_clova_call(op, "DELETE", path, NULL);
        return GW_STEP_CALL;

    default:
        result = gw_clova_result(op);
        if (result == NULL) {
            return GW_STEP_ERROR;
        }

        gw_json_delete(result);

        op->job.status = GW_STATUS_CANCELLED;
        op->job.finished_at = op->now_ms / 1000;
        op->job.estimated_finish = GW_UNSET_INT;

        if (op->job.vendor_extra != NULL) {
            cJSON_AddBoolToObject(op->job.vendor_extra, "deleted", 1);
        }

        return GW_STEP_DONE;
    }
}


static gw_step_t
gw_clova_list(gw_op_t *op)
{
    char          query[64];
    cJSON        *result, *task;
    int64_t       size, pages, number;
    gw_job_t      job;
    const char   *v;
    const cJSON  *content;

    v = gw_provider_param(op->provider, "list_page_size");
    size = v ? strtol(v, NULL, 10) : 100;

    if (op->step == 0) {
        snprintf(query, sizeof(query), "page=%" PRId64 "&size=%" PRId64,
                 op->page, size);
        gw_clova_call(op, "GET", GW_CLOVA_TASKS, query);
        return GW_STEP_CALL;
    }

    result = gw_clova_result(op);
    if (result == NULL) {
        return GW_STEP_ERROR;
    }

    content = gw_json_get(result, "content");
    pages = gw_json_int(result, "totalPages");
    number = gw_json_int(result, "number");

    if (!cJSON_IsArray(content)) {
        gw_json_delete(result);
        gw_error_set(&op->err, 502, GW_TYPE_UPSTREAM, NULL,
                     "invalid_vendor_response", "provider '%s' returned a "
                     "task list without content", op->provider->name);
        return GW_STEP_ERROR;
    }

    cJSON_ArrayForEach(task, content) {
        gw_job_init(&job);

        if (gw_clova_task_to_job(op, task, &job) != 0) {
            gw_job_free(&job);
            gw_json_delete(result);
            return GW_STEP_ERROR;
        }

        if (gw_op_push_job(op, &job) != GW_OK) {
            gw_json_delete(result);
            gw_op_nomem(op);
            return GW_STEP_ERROR;
        }
    }

    if (number == GW_UNSET_INT) {
        number = op->page;
    }

    /* the next page is ours to count: a vendor's "number" could loop */
    op->exhausted = cJSON_GetArraySize(content) == 0
                    || pages == GW_UNSET_INT || number + 1 >= pages
                    || number != op->page;
    op->page++;

    gw_json_delete(result);
    return GW_STEP_DONE;
}


/* ---- uploaded files: the dataset and its upload ------------------- */


static int64_t
gw_clova_emit(const gw_convo_t *c, gw_out_t *o, char *why, size_t len)
{
    char    num[24];
    size_t  i;

    for (i = 0; i < c->nturns; i++) {
        gw_out_csv(o, c->system);
        gw_out_put(o, ",", 1);
        gw_out_put(o, num, gw_int_str(num, c->index));
        gw_out_put(o, ",", 1);
        gw_out_put(o, num, gw_int_str(num, (int64_t) i));
        gw_out_put(o, ",", 1);
        gw_out_csv(o, c->turns[i].user);
        gw_out_put(o, ",", 1);
        gw_out_csv(o, c->turns[i].assistant);
        gw_out_put(o, "\r\n", 2);
    }

    return (int64_t) c->nturns;
}


/*
 * A call to the provider's Object Storage, signed with SigV4 over the
 * payload's SHA-256 (hex; that of nothing for a DELETE)
 */
static gw_step_t
gw_clova_s3_call(gw_op_t *op, const char *method, const char *path,
    const char *sha256)
{
    char                  date[17], auth[512], size[24];
    const char           *host, *region;
    gw_aws_header_t       headers[4];
    const gw_provider_t  *p;

    p = op->provider;
    host = gw_provider_param(p, "storage_host");
    region = gw_provider_param(p, "storage_region");

    gw_aws_date(op->now_ms / 1000, date);
    gw_int_str(size, (int64_t) op->call.body_len);

    headers[0].name = "Host";
    headers[0].value = host ? host : GW_CLOVA_S3_HOST;
    headers[1].name = "X-Amz-Content-SHA256";
    headers[1].value = sha256;
    headers[2].name = "X-Amz-Date";
    headers[2].value = date;
    headers[3].name = "Content-Length";
    headers[3].value = size;

    /* nginx sends no Content-Length without a body: it is not signed */
    if (gw_sign_aws_v4(method, path, "", headers,
                       op->call.body_file ? 4 : 3, sha256,
                       gw_provider_param(p, "storage_access_key"),
                       gw_provider_param(p, "storage_secret_key"),
                       region ? region : GW_CLOVA_S3_REGION, "s3", date, 1,
                       auth, sizeof(auth))
        != GW_OK)
    {
        gw_op_nomem(op);
        return GW_STEP_ERROR;
    }

    op->call.method = method;
    op->call.endpoint = gw_provider_param(p, "storage_endpoint");
    gw_call_path(&op->call, path, NULL, NULL);
    gw_call_header(&op->call, "X-Amz-Content-SHA256", sha256);
    gw_call_header(&op->call, "X-Amz-Date", date);
    gw_call_header(&op->call, "Authorization", auth);

    return GW_STEP_CALL;
}


/*
 * PUT /<bucket>/<prefix><object> to the provider's Object Storage, the
 * converted file as the body; the task then names the object
 * (trainingDatasetBucket, trainingDatasetFilePath)
 */
static gw_step_t
gw_clova_stage(gw_op_t *op)
{
    char                  path[512];
    const char           *bucket, *prefix, *code;
    const gw_provider_t  *p;

    p = op->provider;
    bucket = gw_provider_param(p, "storage_bucket");
    prefix = gw_provider_param(p, "storage_prefix");
    prefix = prefix ? prefix : GW_CLOVA_S3_PREFIX;

    if (op->step == 0) {
        if (snprintf(path, sizeof(path), "/%s/%s%s", bucket, prefix,
                     op->stage.object)
            >= (int) sizeof(path))
        {
            gw_op_nomem(op);
            return GW_STEP_ERROR;
        }

        op->call.body_file = op->stage.path;
        op->call.body_len = (size_t) op->stage.size;
        gw_call_header(&op->call, "Content-Type", op->stage.content_type);

        return gw_clova_s3_call(op, "PUT", path, op->stage.sha256);
    }

    if (gw_op_transport_error(op)) {
        return GW_STEP_ERROR;
    }

    /* S3 answers 200; other stores a 201 or a 204 */
    if (op->resp->status / 100 != 2) {
        code = gw_clova_s3_code(op->resp->body, op->resp->body_len,
                                path, sizeof(path));
        gw_op_storage_error(op, "Object Storage", "upload", code);
        return GW_STEP_ERROR;
    }

    snprintf(op->stage.ref, sizeof(op->stage.ref), "s3://%s/%s%s", bucket,
             prefix, op->stage.object);

    return GW_STEP_DONE;
}


/* DELETE of a staged object, op->stage.ref "s3://<bucket>/<path>" */
static gw_step_t
gw_clova_unstage(gw_op_t *op)
{
    char              path[600], code_buf[64];
    const char       *code;
    gw_dataset_ref_t  ref;

    if (op->step == 0) {
        if (gw_dataset_ref_parse(op->stage.ref, &ref) != GW_OK) {
            gw_op_nomem(op);
            return GW_STEP_ERROR;
        }

        snprintf(path, sizeof(path), "/%s/%s", ref.bucket, ref.path);
        gw_dataset_ref_free(&ref);

        return gw_clova_s3_call(op, "DELETE", path, GW_SHA256_EMPTY);
    }

    if (gw_op_transport_error(op)) {
        return GW_STEP_ERROR;
    }

    /* gone already is gone */
    if (op->resp->status / 100 != 2 && op->resp->status != 404) {
        code = gw_clova_s3_code(op->resp->body, op->resp->body_len,
                                code_buf, sizeof(code_buf));
        gw_op_storage_error(op, "Object Storage", "deletion", code);
        return GW_STEP_ERROR;
    }

    return GW_STEP_DONE;
}


/* S3's <Code> of an error body, when it is one: letters only */
static const char *
gw_clova_s3_code(const char *body, size_t len, char *out, size_t size)
{
    size_t       n;
    const char  *p, *end;

    if (body == NULL) {
        return NULL;
    }

    end = body + len;

    for (p = body; end - p > 6 && memcmp(p, "<Code>", 6) != 0; p++) {
        /* void */
    }

    if (end - p <= 6) {
        return NULL;
    }

    p += 6;

    for (n = 0; p + n < end && n + 1 < size
                && ((p[n] >= 'A' && p[n] <= 'Z')
                    || (p[n] >= 'a' && p[n] <= 'z'));
         n++)
    {
        out[n] = p[n];
    }

    if (n == 0 || p + n >= end || p[n] != '<') {
        return NULL;
    }

    out[n] = '\0';

    return out;
}
