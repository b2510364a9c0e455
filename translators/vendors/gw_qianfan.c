
/*
 * Baidu Qianfan fine-tune API v1 (wenxinworkshop), every call a signed
 * POST with a JSON body:
 *
 *   create   createTask (the container) + createJob (the run) + jobDetail
 *   retrieve jobDetail {taskId, jobId}
 *   cancel   stopJob, then jobDetail
 *   list     none in v1: the merged list names the provider as unlisted
 *
 * v1 calls a container a "task" and a run a "job"; the canonical job is
 * the run, and its id carries both numbers.
 *
 * Provider params: access_key, secret_key (bce-auth-v1); host, the Host
 * that is signed (default qianfan.baidubce.com; the internal location
 * must send the same); signature_expiration (seconds, default 300).
 *
 * Uploaded files (GW_OP_STAGE) become Qianfan's SFT dataset (a JSON
 * array of turns a line), put into the provider's BOS bucket with a
 * bce-auth-v1 signed PUT and the same AK/SK: bos_endpoint (the internal
 * location), bos_bucket, bos_host (the Host signed and sent, default
 * bj.bcebos.com), bos_prefix (default "ftgw-files/").  The job then
 * names it as {"type": 2, "bosPath": "bos:/<bucket>/<path>"}.
 *
 * Every vendor value the gateway maps is in one of the tables below.
 */


#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <core/gw_core.h>
#include <sign/gw_sign.h>


#define GW_QF_PATH          "/wenxinworkshop/finetune/"
#define GW_QF_HOST          "qianfan.baidubce.com"
#define GW_QF_OWNER         "ftgw:"
#define GW_QF_BOS_HOST      "bj.bcebos.com"
#define GW_QF_BOS_PREFIX    "ftgw-files/"

/* the three peftType values, as indexes of a model's learning rates */
typedef enum {
    GW_QF_ALL = 0,
    GW_QF_PTUNING,
    GW_QF_LORA,
    GW_QF_NPEFT
} gw_qf_peft_t;


/* a learningRate range; max 0: the model does not take the method */
typedef struct {
    double              min;
    double              max;
    double              dflt;            /* sent when the client gives none */
} gw_qf_lr_t;


typedef struct {
    const char         *train_type;
    const char         *base_train_type;
    gw_qf_lr_t          lr[GW_QF_NPEFT]; /* by gw_qf_peft_t */
    int64_t             batch_min;       /* 0: batchSize must be absent */
    int64_t             batch_max;
    int                 max_seq_len_required;
} gw_qf_model_t;


/* what a create remembers between its calls (op->state) */
typedef struct {
    int64_t             task_id;         /* the container */
    int64_t             job_id;          /* the run */
} gw_qf_state_t;


typedef struct {
    const char         *status;          /* jobDetail trainStatus */
    gw_status_t         canonical;
} gw_qf_status_t;


typedef struct {
    const char         *code;            /* error_code, or BCE "code" */
    int                 http;            /* what the client gets */
    const char         *type;
    const char         *param;           /* on create, or NULL */
} gw_qf_error_t;


/*
 * The createJob rules of Qianfan's v1 doc (seed 002, "createJob"), per
 * trainType: its baseTrainType; for each peftType (ALL, P-tuning, LoRA)
 * the learningRate range, or none where the method is not offered; the
 * batchSize range; whether maxSeqLen is required.  The defaults lie in
 * their ranges: 3e-5 (the doc's own example) wherever it fits, else the
 * range's lower bound, since the doc names no default.
 */
#define GW_QF_NONE   { 0, 0, 0 }
#define GW_QF_STD    { 2e-7, 2e-4, 3e-5 }   /* "every other model" */
#define GW_QF_TURBO  { 1e-5, 4e-5, 3e-5 }   /* 0704 and 0725, ALL */
#define GW_QF_TLORA  { 3e-5, 1e-3, 3e-5 }   /* 0704 and 0725, LoRA */

static const gw_qf_model_t  gw_qf_models[] = {
    /*                                            ALL, P-tuning, LoRA */
    { "ERNIE-Bot-turbo-0516", "ERNIE-Bot-turbo",
      { GW_QF_STD, GW_QF_NONE, GW_QF_NONE }, 16, 64, 0 },
    { "ERNIE-Bot-turbo-0704", "ERNIE-Bot-turbo",
      { GW_QF_TURBO, { 0.003, 0.1, 0.003 }, GW_QF_TLORA }, 0, 0, 0 },
    { "ERNIE-Bot-turbo-0725", "ERNIE-Bot-turbo",
      { GW_QF_TURBO, GW_QF_NONE, GW_QF_TLORA }, 0, 0, 1 },
    { "Llama-2-7b", "Llama-2",
      { GW_QF_STD, GW_QF_STD, GW_QF_STD }, 4, 64, 0 },
    { "Llama-2-13b", "Llama-2",
      { GW_QF_STD, GW_QF_STD, GW_QF_STD }, 4, 64, 0 },
    { "BLOOMZ-7B", "BLOOMZ",
      { GW_QF_STD, GW_QF_STD, GW_QF_STD }, 4, 64, 0 },
    { "SQLCoder-7B", "SQLCoder",
      { GW_QF_STD, GW_QF_NONE, GW_QF_STD }, 4, 64, 0 },
    { "ChatGLM2-6B", "ChatGLM2",
      { GW_QF_STD, GW_QF_NONE, GW_QF_STD }, 4, 64, 0 },
    { "Baichuan2-13B", "Baichuan2",
      { { 1e-10, 2e-4, 3e-5 }, GW_QF_NONE, { 1e-10, 2e-4, 3e-5 } },
      4, 64, 0 },
    { NULL, NULL, { GW_QF_NONE, GW_QF_NONE, GW_QF_NONE }, 0, 0, 0 }
};


/* peftType as createJob names it, by gw_qf_peft_t */
static const char  *gw_qf_peft_names[GW_QF_NPEFT] = {
    "ALL", "P-tuning", "LoRA"
};


/* trainStatus -> OpenAI status; v1 has no waiting state */
static const gw_qf_status_t  gw_qf_statuses[] = {
    { "RUNNING",  GW_STATUS_RUNNING },
    { "FINISH",   GW_STATUS_SUCCEEDED },
    { "STOP",     GW_STATUS_CANCELLED },
    { "FAIL",     GW_STATUS_FAILED },
    { NULL, 0 }
};


/*
 * error_code of the v1 console, the inference codes that the same host
 * may answer, and BCE's common gateway codes.  Failures of the gateway's
 * own credentials or requests are 502: the client is not to blame.
 */
static const gw_qf_error_t  gw_qf_errors[] = {
    /* the createJob doc's table (seed 002), its meanings as comments */
    { "500000", 502, GW_TYPE_UPSTREAM, NULL },     /* internal error */
    { "500001", 400, GW_TYPE_INVALID, NULL },      /* param invalid */
    { "500002", 502, GW_TYPE_UPSTREAM, NULL },     /* auth failed, no access:
                                                      the gateway's key */
    { "510101", 400, GW_TYPE_INVALID, "training_file" },
                                    /* dataset entity count not enough, at
                                       least 32: the client's data */
    { "510102", 400, GW_TYPE_INVALID, "training_file" },  /* dataset config */
    { "510201", 409, GW_TYPE_CONFLICT, "suffix" }, /* task name exists */
    { "510202", 404, GW_TYPE_NOT_FOUND, "tuning.continue_from" },
                                                   /* task not exist */
    { "510203", 429, GW_TYPE_RATE_LIMIT, NULL },   /* task count over limit */
    { "510301", 404, GW_TYPE_NOT_FOUND, "tuning.continue_from" },
                                                   /* job (run) not exist */
    { "510302", 409, GW_TYPE_CONFLICT, NULL },     /* job status invalid */
    { "510401", 400, GW_TYPE_INVALID, "hyperparameters" },
                                                   /* train config error */
    { "510402", 429, GW_TYPE_RATE_LIMIT, NULL },   /* runs in training over
                                                      limit: retry later */
    { "510403", 429, GW_TYPE_QUOTA, NULL },        /* charge quota not
                                                      enough */
    { "510404", 400, GW_TYPE_INVALID, "tuning.continue_from" },
                                    /* the run does not support incremental
                                       training */
    /* inference-API codes the console host shares */
    { "1", 502, GW_TYPE_UPSTREAM, NULL },
    { "2", 503, GW_TYPE_API, NULL },
    { "4", 429, GW_TYPE_RATE_LIMIT, NULL },
    { "6", 502, GW_TYPE_UPSTREAM, NULL },
    { "14", 502, GW_TYPE_UPSTREAM, NULL },
    { "17", 429, GW_TYPE_RATE_LIMIT, NULL },
    { "18", 429, GW_TYPE_RATE_LIMIT, NULL },
    { "19", 429, GW_TYPE_RATE_LIMIT, NULL },
    { "110", 502, GW_TYPE_UPSTREAM, NULL },
    { "111", 502, GW_TYPE_UPSTREAM, NULL },
    { "336100", 503, GW_TYPE_API, NULL },
    { "336501", 429, GW_TYPE_RATE_LIMIT, NULL },
    { "336502", 429, GW_TYPE_RATE_LIMIT, NULL },
    /* BCE common errors: {"requestId","code","message"} */
    { "AccessDenied", 502, GW_TYPE_UPSTREAM, NULL },
    { "InvalidAccessKeyId", 502, GW_TYPE_UPSTREAM, NULL },
    { "SignatureDoesNotMatch", 502, GW_TYPE_UPSTREAM, NULL },
    { "RequestExpired", 502, GW_TYPE_UPSTREAM, NULL },
    { "InvalidHTTPAuthHeader", 502, GW_TYPE_UPSTREAM, NULL },
    { "OptInRequired", 502, GW_TYPE_UPSTREAM, NULL },
    { "InappropriateJSON", 502, GW_TYPE_UPSTREAM, NULL },
    { "MalformedJSON", 502, GW_TYPE_UPSTREAM, NULL },
    { "InvalidHTTPRequest", 502, GW_TYPE_UPSTREAM, NULL },
    { "InvalidURI", 502, GW_TYPE_UPSTREAM, NULL },
    { "InvalidVersion", 502, GW_TYPE_UPSTREAM, NULL },
    { "PreconditionFailed", 502, GW_TYPE_UPSTREAM, NULL },
    { "InternalError", 502, GW_TYPE_UPSTREAM, NULL },
    { NULL, 0, NULL, NULL }
};


static gw_rc_t gw_qf_check_config(const gw_provider_t *p, char *err,
    size_t len);
static gw_step_t gw_qf_create(gw_op_t *op);
static int64_t gw_qf_created_id(gw_op_t *op, const char *what);
static gw_step_t gw_qf_retrieve(gw_op_t *op);
static gw_step_t gw_qf_cancel(gw_op_t *op);
static const gw_qf_model_t *gw_qf_model(const char *train_type);
static int gw_qf_model_name(const gw_provider_t *p, size_t i, char *out,
    size_t size);
static gw_qf_peft_t gw_qf_method(const gw_op_t *op, const gw_qf_model_t *m);
static const gw_qf_model_t *gw_qf_validate(gw_op_t *op);
static int gw_qf_validate_run(gw_op_t *op, const gw_qf_model_t *m);
static int gw_qf_trainset(gw_op_t *op, gw_out_t *o);
static char *gw_qf_job_body(gw_op_t *op, int64_t task_id);
static void gw_qf_task_name(const gw_op_t *op, char *name, size_t size);
static size_t gw_qf_owner_tag(const gw_op_t *op, const char *unique,
    char *out, size_t size);
static char *gw_qf_task_body(gw_op_t *op);
static char *gw_qf_detail_body(int64_t task_id, int64_t job_id);
static int gw_qf_call(gw_op_t *op, const char *action, char *body);
static cJSON *gw_qf_result(gw_op_t *op);
static void gw_qf_vendor_error(gw_op_t *op, const cJSON *root);
static int gw_qf_detail_to_job(gw_op_t *op, const cJSON *d, gw_job_t *job);
static int64_t gw_qf_time(const char *s);
static int gw_qf_ids(const gw_op_t *op, int64_t *task_id, int64_t *job_id);
static gw_step_t gw_qf_stage(gw_op_t *op);
static gw_step_t gw_qf_unstage(gw_op_t *op);
static gw_step_t gw_qf_bos_call(gw_op_t *op, const char *method,
    const char *path, const char *content_type, const char *sha256);
static void gw_qf_bos_error(gw_op_t *op, const char *action);
static int64_t gw_qf_emit(const gw_convo_t *c, gw_out_t *o, char *why,
    size_t len);
static int gw_qf_bos_name_ok(const char *s, int slash);


/*
 * Qianfan's SFT dataset: a line a conversation, a JSON array of turns
 * {"prompt", "response": [["..."]]}, the system prompt on the first
 * turn; at least 32 conversations (510101), at most 150 turns each
 */
static const gw_stage_format_t  gw_qf_format = {
    "Qianfan",
    "jsonl",
    "application/json",
    NULL,
    32, "510101 dataset entity count not enough, at least 32",
    0, NULL,
    150,
    0,                          /* every turn is trained on */
    gw_qf_emit,
    "bos_endpoint"
};


static const gw_param_spec_t  gw_qf_params[] = {
    { "access_key", 1 },
    { "secret_key", 1 },
    { "host", 0 },
    { "signature_expiration", 0 },
    { "bos_endpoint", 0 },
    { "bos_bucket", 0 },
    { "bos_host", 0 },
    { "bos_prefix", 0 },
    { NULL, 0 }
};


const gw_vendor_t  gw_vendor_qianfan = {
    "qianfan",
    GW_F_SUFFIX | GW_F_N_EPOCHS | GW_F_BATCH_SIZE | GW_F_LEARNING_RATE
    | GW_F_TUNING_TYPE | GW_F_TASK_TYPE | GW_F_MAX_SEQ_LEN
    | GW_F_VALIDATION_SPLIT | GW_F_MULTI_DATASETS | GW_F_CONTINUE_FROM
    | GW_F_DESCRIPTION,
    gw_qf_params,
    gw_qf_check_config,
    sizeof(gw_qf_state_t),
    {
        gw_qf_create,           /* GW_OP_CREATE */
        gw_qf_retrieve,         /* GW_OP_RETRIEVE */
        gw_qf_cancel,           /* GW_OP_CANCEL */
        NULL,                   /* GW_OP_LIST: v1 has none */
        NULL,                   /* GW_OP_EVENTS: synthesised */
        NULL,                   /* GW_OP_CHECKPOINTS: none */
        gw_qf_stage,            /* GW_OP_STAGE */
        gw_qf_unstage           /* GW_OP_UNSTAGE */
    },
    gw_qf_model_name,           /* the trainTypes of the table */
    &gw_qf_format
};


static gw_rc_t
gw_qf_check_config(const gw_provider_t *p, char *err, size_t len)
{
    long         n;
    char        *end;
    const char  *v;

    if (gw_provider_param(p, "access_key") == NULL
        || gw_provider_param(p, "secret_key") == NULL)
    {
        snprintf(err, len, "needs \"access_key_file\" and "
                 "\"secret_key_file\" (bce-auth-v1 AK/SK)");
        return GW_ERROR;
    }

    v = gw_provider_param(p, "signature_expiration");
    if (v != NULL) {
        n = strtol(v, &end, 10);
        if (*end != '\0' || n < 60 || n > 86400) {
            snprintf(err, len, "\"signature_expiration\" must be 60..86400 "
                     "seconds");
            return GW_ERROR;
        }
    }

    v = gw_provider_param(p, "host");
    if (v != NULL && (v[0] == '\0' || strpbrk(v, "/ \t\r\n") != NULL)) {
        snprintf(err, len, "\"host\" must be a host name, e.g. "
                 GW_QF_HOST);
        return GW_ERROR;
    }

    /* the names go into a signed path as they are: no escaping needed */
    v = gw_provider_param(p, "bos_bucket");
    if (gw_provider_param(p, "bos_endpoint") != NULL
        && (v == NULL || v[0] == '\0' || !gw_qf_bos_name_ok(v, 0)))
    {
        snprintf(err, len, "bos_endpoint= needs \"bos_bucket\", a bucket "
                 "name ([a-z0-9-])");
        return GW_ERROR;
    }

    v = gw_provider_param(p, "bos_prefix");
    if (v != NULL && !gw_qf_bos_name_ok(v, 1)) {
        snprintf(err, len, "\"bos_prefix\" must be [A-Za-z0-9._/-]");
        return GW_ERROR;
    }

    return GW_OK;
}


static int
gw_qf_bos_name_ok(const char *s, int slash)
{
    for ( ; *s; s++) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')
              || *s == '-'
              || (slash && ((*s >= 'A' && *s <= 'Z') || *s == '_'
                            || *s == '/' || *s == '.'))))
        {
            return 0;
        }
    }

    return 1;
}



/* ---- outgoing calls: signed POSTs ----------------------------------- */


static int
gw_qf_call(gw_op_t *op, const char *action, char *body)
{
    int                   expiration;
    char                  path[128], date[32], auth[512];
    const char           *host, *v;
    gw_bce_header_t       headers[3];
    const gw_provider_t  *p;

    if (body == NULL) {
        gw_op_nomem(op);
        return -1;
    }

    p = op->provider;
    op->call.body = body;
    op->call.body_len = strlen(body);

    host = gw_provider_param(p, "host");
    if (host == NULL) {
        host = GW_QF_HOST;
    }

    v = gw_provider_param(p, "signature_expiration");
    expiration = v ? atoi(v) : 300;

    gw_join(path, sizeof(path), GW_QF_PATH, action, NULL);
    gw_bce_timestamp(op->now_ms / 1000, date);

    /* what the Qianfan SDK signs: every header it sends */
    headers[0].name = "Content-Type";
    headers[0].value = "application/json";
    headers[1].name = "Host";
    headers[1].value = host;
    headers[2].name = "x-bce-date";
    headers[2].value = date;

    if (gw_sign_bce_v1("POST", path, NULL, headers, 3,
                       gw_provider_param(p, "access_key"),
                       gw_provider_param(p, "secret_key"), date, expiration,
                       auth, sizeof(auth))
        != GW_OK)
    {
        gw_error_set(&op->err, 502, GW_TYPE_API, NULL, "signing_failed",
                     "The gateway could not sign the request to provider "
                     "'%s'", p->name);
        return -1;
    }

    op->call.method = "POST";
    gw_call_path(&op->call, path, NULL, NULL);

    gw_call_header(&op->call, "Content-Type", "application/json");
    gw_call_header(&op->call, "x-bce-date", date);
    gw_call_header(&op->call, "Authorization", auth);
    gw_call_header(&op->call, "X-Request-Id", op->request_id);

    return 0;
}


/*
 * The "result" of a successful answer, detached, or NULL with op->err
 * set.  Qianfan answers console errors in the body, usually with 200.
 */
static cJSON *
gw_qf_result(gw_op_t *op)
{
    cJSON  *root, *result;

    if (gw_op_transport_error(op)) {
        return NULL;
    }

    root = gw_json_parse(op->resp->body, op->resp->body_len, NULL);

    if (root == NULL || !cJSON_IsObject(root)) {
        gw_json_delete(root);
        gw_op_unreadable(op, "a body that is not Qianfan JSON");
        return NULL;
    }

    if (op->resp->status / 100 != 2
        || gw_json_get(root, "error_code") != NULL
        || gw_json_get(root, "result") == NULL)
    {
        gw_qf_vendor_error(op, root);
        gw_json_delete(root);
        return NULL;
    }

    result = cJSON_DetachItemFromObjectCaseSensitive(root, "result");
    gw_json_delete(root);

    return result;
}


static void
gw_qf_vendor_error(gw_op_t *op, const cJSON *root)
{
    int                   http;
    char                  code[32], message[300], log_id[80];
    const char           *vmsg, *type, *param, *v;
    const cJSON          *ec, *lid;
    gw_answer_class_t     c;
    const gw_qf_error_t  *e;

    code[0] = '\0';
    ec = gw_json_get(root, "error_code");

    if (cJSON_IsNumber(ec)) {
        snprintf(code, sizeof(code), "%.0f", ec->valuedouble);
        vmsg = gw_json_str(root, "error_msg");

    } else {
        v = gw_json_str(root, "code");
        if (v != NULL) {
            snprintf(code, sizeof(code), "%.31s", v);
        }

        vmsg = gw_json_str(root, "message");
    }

    gw_vendor_text(op->provider, vmsg ? vmsg : "no message", message,
                   sizeof(message));

    log_id[0] = '\0';
    lid = gw_json_get(root, "log_id");
    if (lid == NULL) {
        lid = gw_json_get(root, "requestId");
    }

    if (cJSON_IsString(lid)) {
        snprintf(log_id, sizeof(log_id), "%.64s", lid->valuestring);

    } else if (cJSON_IsNumber(lid)) {
        snprintf(log_id, sizeof(log_id), "%.0f", lid->valuedouble);
    }

    for (e = gw_qf_errors; e->code != NULL; e++) {
        if (strcmp(e->code, code) == 0) {
            break;
        }
    }

    param = NULL;

    if (e->code != NULL) {
        http = e->http;
        type = e->type;

        if (op->kind == GW_OP_CREATE) {
            param = e->param;
        }

        /* on a run that exists, "not exist" is the job itself */
        if (op->kind != GW_OP_CREATE && http == 404) {
            param = "id";
        }

    } else {
        c = gw_answer_class(op->resp->status);
        http = c.http;
        type = c.type;

        if (http == 404 && op->kind != GW_OP_CREATE) {
            param = "id";
        }
    }

    gw_error_set(&op->err, http, type, param,
                 code[0] ? code : "vendor_error",
                 "provider '%s' (Qianfan) answered HTTP %d, error %s: %s%s%s%s",
                 op->provider->name, op->resp->status,
                 code[0] ? code : "none", message,
                 log_id[0] ? " (log_id " : "", log_id,
                 log_id[0] ? ")" : "");
}


/* ---- the run (jobDetail) ------------------------------------------ */


/* "2023-10-20 18:19:09", Beijing time; "0000-00-00 00:00:00" = none */
static int64_t
gw_qf_time(const char *s)
{
    char  buf[40];

    if (s == NULL || strncmp(s, "0000", 4) == 0 || strlen(s) > 25) {
        return GW_UNSET_INT;
    }

    gw_join(buf, sizeof(buf), s, "+08:00", NULL);
    return gw_parse_iso8601(buf);
}


static int
gw_qf_detail_to_job(gw_op_t *op, const cJSON *d, gw_job_t *job)
{
    char                   buf[160];
    size_t                 n;
    int64_t                task_id, job_id;
    const char            *status, *v, *dot;
    const gw_qf_status_t  *s;

    task_id = gw_json_int(d, "taskId");
    job_id = gw_json_int(d, "id");
    status = gw_json_str(d, "trainStatus");

    if (task_id == GW_UNSET_INT || job_id == GW_UNSET_INT || status == NULL)
    {
        gw_error_set(&op->err, 502, GW_TYPE_UPSTREAM, NULL,
                     "invalid_vendor_response", "provider '%s' returned a "
                     "run without ids and status", op->provider->name);
        return -1;
    }

    for (s = gw_qf_statuses; s->status != NULL; s++) {
        if (strcmp(s->status, status) == 0) {
            break;
        }
    }

    if (s->status == NULL) {
        gw_error_set(&op->err, 502, GW_TYPE_UPSTREAM, NULL,
                     "unknown_vendor_status", "provider '%s' returned the "
                     "run status '%.32s', which the gateway does not map",
                     op->provider->name, status);
        return -1;
    }

    job->status = s->canonical;
    job->vendor_status = gw_strdup(status);

    gw_int_str(buf, task_id);
    job->vendor_id = gw_strdup(buf);
    gw_int_str(buf, job_id);
    job->vendor_id2 = gw_strdup(buf);

    if ((v = gw_json_str(d, "trainType")) != NULL) {
        job->vendor_model = gw_strdup(v);
    }

    if ((v = gw_json_str(d, "taskName")) != NULL) {
        job->name = gw_strdup(v);
    }

    /*
     * the run's description carries its owner: "ftgw:<client>.<mac> ...",
     * sealed over its task's id
     */
    v = gw_json_str(d, "description");
    if (v != NULL && strncmp(v, GW_QF_OWNER, sizeof(GW_QF_OWNER) - 1) == 0) {
        v += sizeof(GW_QF_OWNER) - 1;
        n = strcspn(v, " ");
        dot = memchr(v, '.', n);
        gw_int_str(buf, task_id);

        gw_job_owner(job, op, v, dot ? (size_t) (dot - v) : n, buf,
                     strlen(buf), dot ? dot + 1 : NULL,
                     dot ? n - (dot + 1 - v) : 0);
    }

    job->created_at = gw_qf_time(gw_json_str(d, "startTime"));
    job->percent = gw_json_num(d, "progress");

    if (job->status != GW_STATUS_RUNNING) {
        job->finished_at = gw_qf_time(gw_json_str(d, "finishTime"));
    }

    if (job->status == GW_STATUS_SUCCEEDED) {
        snprintf(buf, sizeof(buf), "%s/tasks/%" PRId64 "/jobs/%" PRId64,
                 op->provider->name, task_id, job_id);
        job->fine_tuned_model = gw_strdup(buf);
    }

    if (job->status == GW_STATUS_FAILED) {
        /* v1's jobDetail has no failure reason */
        job->has_error = 1;
        snprintf(job->error_code, sizeof(job->error_code), "training_error");
        snprintf(job->error_message, sizeof(job->error_message),
                 "Qianfan reports the run as failed (FAIL); the v1 API "
                 "gives no reason: see its VisualDL link");
    }

    job->vendor_extra = cJSON_CreateObject();
    if (job->vendor_extra != NULL) {
        static const char  *keys[] = {
            "peftType", "trainMode", "version", "jobRunType", "runTime",
            "trainTime", "vdlLink", "increConfig", NULL
        };
        size_t              i;
        const cJSON        *item;

        for (i = 0; keys[i] != NULL; i++) {
            item = gw_json_get(d, keys[i]);
            if (item != NULL) {
                cJSON_AddItemToObject(job->vendor_extra, keys[i],
                                      cJSON_Duplicate(item, 1));
            }
        }
    }

    if (job->vendor_status == NULL || job->vendor_id == NULL
        || job->vendor_id2 == NULL)
    {
        gw_op_nomem(op);
        return -1;
    }

    return 0;
}


static int
gw_qf_ids(const gw_op_t *op, int64_t *task_id, int64_t *job_id)
{
    char  *end;

    *task_id = strtoll(op->ref.vendor_id, &end, 10);
    if (*end != '\0') {
        return -1;
    }

    *job_id = strtoll(op->ref.vendor_id2, &end, 10);
    return (*end != '\0') ? -1 : 0;
}


static char *
gw_qf_detail_body(int64_t task_id, int64_t job_id)
{
    char    buf[96], task[24], job[24];
    size_t  n;

    gw_int_str(task, task_id);
    gw_int_str(job, job_id);

    /* at most 71 bytes: the second part always fits */
    n = gw_join(buf, sizeof(buf), "{\"taskId\":", task, ",\"jobId\":");
    gw_join(buf + n, sizeof(buf) - n, job, "}", NULL);

    return gw_strdup(buf);
}


/* ---- create -------------------------------------------------------- */


static const gw_qf_model_t *
gw_qf_model(const char *train_type)
{
    const gw_qf_model_t  *m;

    for (m = gw_qf_models; m->train_type != NULL; m++) {
        if (strcmp(m->train_type, train_type) == 0) {
            return m;
        }
    }

    return NULL;
}


/* the i-th trainType, for GET /v1/models */
static int
gw_qf_model_name(const gw_provider_t *p, size_t i, char *out, size_t size)
{
    if (i >= sizeof(gw_qf_models) / sizeof(gw_qf_models[0]) - 1) {
        return 0;
    }

    gw_copy(out, size, gw_qf_models[i].train_type);
    return 1;
}


/*
 * The peftType of the run: the client's; else ALL for an incremental run,
 * whose base run Qianfan requires to be ALL and whose method it keeps;
 * else LoRA where the model offers it, else ALL.
 */
static gw_qf_peft_t
gw_qf_method(const gw_op_t *op, const gw_qf_model_t *m)
{
    switch (op->spec->tuning_type) {
    case GW_TUNING_FULL:
        return GW_QF_ALL;
    case GW_TUNING_PROMPT:
        return GW_QF_PTUNING;
    case GW_TUNING_LORA:
        return GW_QF_LORA;
    default:
        break;
    }

    if (op->has_continue || m->lr[GW_QF_LORA].max == 0) {
        return GW_QF_ALL;
    }

    return GW_QF_LORA;
}


static const gw_qf_model_t *
gw_qf_validate(gw_op_t *op)
{
    const gw_qf_model_t  *m;
    const gw_job_spec_t  *s;

    s = op->spec;

    m = gw_qf_model(s->vendor_model);
    if (m == NULL) {
        gw_error_invalid(&op->err, "model", "unsupported_value",
                         "Qianfan v1 does not tune '%.64s': use one of "
                         "ERNIE-Bot-turbo-0516/0704/0725, Llama-2-7b, "
                         "Llama-2-13b, BLOOMZ-7B, SQLCoder-7B, ChatGLM2-6B, "
                         "Baichuan2-13B", s->vendor_model);
        return NULL;
    }

    if (gw_qf_validate_run(op, m) != 0) {
        return NULL;
    }

    return m;
}


static int
gw_qf_validate_run(gw_op_t *op, const gw_qf_model_t *m)
{
    gw_qf_peft_t          peft;
    const gw_qf_lr_t     *lr;
    const gw_job_spec_t  *s;

    s = op->spec;

    if (s->task_type != GW_TASK_UNSET && s->task_type != GW_TASK_GENERATION)
    {
        gw_error_invalid(&op->err, "tuning.task_type", "unsupported_value",
                         "Qianfan v1 fine-tunes for generation only");
        return -1;
    }

    peft = gw_qf_method(op, m);
    lr = &m->lr[peft];

    if (lr->max == 0) {
        gw_error_invalid(&op->err, "tuning.tuning_type", "unsupported_value",
                         "%s does not support this tuning type (it allows%s"
                         "%s%s)", m->train_type,
                         m->lr[GW_QF_ALL].max ? " full" : "",
                         m->lr[GW_QF_PTUNING].max ? " prompt_tuning" : "",
                         m->lr[GW_QF_LORA].max ? " lora" : "");
        return -1;
    }

    if (s->n_epochs != GW_UNSET_INT && (s->n_epochs < 1 || s->n_epochs > 50))
    {
        gw_error_invalid(&op->err, "hyperparameters.n_epochs",
                         "invalid_value", "Qianfan trains 1 to 50 epochs");
        return -1;
    }

    if (gw_has_num(s->learning_rate)
        && (s->learning_rate < lr->min || s->learning_rate > lr->max))
    {
        gw_error_invalid(&op->err, s->learning_rate_param, "invalid_value",
                         "%s with peftType %s accepts a learning rate "
                         "from %g to %g", m->train_type,
                         gw_qf_peft_names[peft], lr->min, lr->max);
        return -1;
    }

    if (s->batch_size != GW_UNSET_INT && m->batch_min == 0) {
        gw_error_invalid(&op->err, "hyperparameters.batch_size",
                         "unsupported_parameter", "%s takes no batch size",
                         m->train_type);
        return -1;
    }

    if (s->batch_size != GW_UNSET_INT
        && (s->batch_size < m->batch_min || s->batch_size > m->batch_max))
    {
        gw_error_invalid(&op->err, "hyperparameters.batch_size",
                         "invalid_value", "%s accepts a batch size from %"
                         PRId64 " to %" PRId64, m->train_type, m->batch_min,
                         m->batch_max);
        return -1;
    }

    if (s->max_seq_len == GW_UNSET_INT && m->max_seq_len_required) {
        gw_error_invalid(&op->err, "tuning.max_seq_len",
                         "missing_required_parameter", "%s requires "
                         "tuning.max_seq_len (4096 or 8192)", m->train_type);
        return -1;
    }

    if (s->max_seq_len != GW_UNSET_INT && s->max_seq_len != 4096
        && s->max_seq_len != 8192)
    {
        gw_error_invalid(&op->err, "tuning.max_seq_len", "invalid_value",
                         "Qianfan accepts tuning.max_seq_len 4096 or 8192");
        return -1;
    }

    if (gw_has_num(s->validation_split)
        && (s->validation_split < 0.0 || s->validation_split > 0.5))
    {
        gw_error_invalid(&op->err, "tuning.validation_split",
                         "invalid_value", "Qianfan splits off 0 to 0.5 of "
                         "the dataset for validation");
        return -1;
    }

    if (op->spec->description != NULL
        && gw_utf8_chars(op->spec->description) > 400)
    {
        gw_error_invalid(&op->err, "tuning.description", "invalid_value",
                         "Qianfan keeps descriptions of up to 400 "
                         "characters");
        return -1;
    }

    if (op->spec->suffix != NULL
        && (strlen(op->spec->suffix) < 2 || strlen(op->spec->suffix) > 11))
    {
        gw_error_invalid(&op->err, "suffix", "invalid_value",
                         "Qianfan task names are short: suffix must be 2 "
                         "to 11 characters for this provider");
        return -1;
    }

    /* an incremental run joins its base run's task: nothing is named */
    if (op->has_continue && op->spec->suffix != NULL) {
        gw_error_invalid(&op->err, "suffix", "unsupported_parameter",
                         "An incremental Qianfan run joins the task of the "
                         "run it continues, whose name is kept: drop suffix");
        return -1;
    }

    if (op->has_continue && op->spec->description != NULL) {
        gw_error_invalid(&op->err, "tuning.description",
                         "unsupported_parameter", "An incremental Qianfan "
                         "run joins the task of the run it continues, whose "
                         "description is kept: drop tuning.description");
        return -1;
    }

    return 0;
}


/*
 * Datasets: "qianfan://dataset/<version id>" (a platform dataset version,
 * type 1) or "bos://<bucket>/<path>" (the client's BOS, type 2).  1 with
 * the client's error set if one is neither.
 */
static int
gw_qf_trainset(gw_op_t *op, gw_out_t *o)
{
    char                 *end, bos[1100], param[64];
    size_t                i;
    int64_t               id;
    gw_dataset_ref_t      ref;
    const gw_job_spec_t  *s;

    s = op->spec;

    gw_out_lkey(o, "trainset");
    gw_out_open(o, '[');

    for (i = 0; i < s->ntrain; i++) {
        if (gw_dataset_ref_parse(s->train[i].ref, &ref) != GW_OK) {
            goto invalid;
        }

        if (strcmp(ref.scheme, "qianfan") == 0
            && strcmp(ref.bucket, "dataset") == 0)
        {
            /* ids travel as JSON numbers: at most 2^53, exactly */
            errno = 0;
            id = strtoll(ref.path, &end, 10);
            if (*end != '\0' || errno != 0 || id <= 0
                || id > 9007199254740992LL)
            {
                gw_dataset_ref_free(&ref);
                goto invalid;
            }

            gw_out_open(o, '{');
            gw_out_lkey(o, "type");
            gw_out_int(o, 1);
            gw_out_lkey(o, "id");
            gw_out_int(o, id);
            gw_out_close(o, '}');

        } else if (strcmp(ref.scheme, "bos") == 0) {
            snprintf(bos, sizeof(bos), "bos:/%s/%s", ref.bucket, ref.path);
            gw_out_open(o, '{');
            gw_out_lkey(o, "type");
            gw_out_int(o, 2);
            gw_out_lkey(o, "bosPath");
            gw_out_str(o, bos);
            gw_out_close(o, '}');

        } else {
            gw_dataset_ref_free(&ref);
            goto invalid;
        }

        gw_dataset_ref_free(&ref);
    }

    gw_out_close(o, ']');

    return 0;

invalid:

    gw_error_invalid(&op->err,
                     gw_dataset_param(s, 0, i, param, sizeof(param)),
                     "invalid_value",
                     "Qianfan datasets are \"qianfan://dataset/<version id>\""
                     " or \"bos://<bucket>/<path>\"");
    return 1;
}


/*
 * v1 cannot find a task by name, so each run gets its own container,
 * named from the suffix and a tag unique to this gateway's clock
 */
static void
gw_qf_task_name(const gw_op_t *op, char *name, size_t size)
{
    snprintf(name, size, "%s-%08" PRIx64,
             op->spec->suffix ? op->spec->suffix : "ftgw",
             (uint64_t) (op->now_ms & 0xffffffff));
}


/* "ftgw:<client>.<mac>", the owner sealed over unique */
static size_t
gw_qf_owner_tag(const gw_op_t *op, const char *unique, char *out,
    size_t size)
{
    char    mac[GW_OWNER_MAC_LEN + 1];
    size_t  n;

    gw_owner_mac(op, op->client->name, strlen(op->client->name), unique,
                 strlen(unique), mac);

    n = gw_join(out, size, GW_QF_OWNER, op->client->name, ".");

    return n + gw_join(out + n, size - n, mac, NULL, NULL);
}


static char *
gw_qf_task_body(gw_op_t *op)
{
    char      name[32], desc[1700];
    size_t    n;
    gw_out_t  o;

    gw_qf_task_name(op, name, sizeof(name));
    n = gw_qf_owner_tag(op, name, desc, sizeof(desc));

    if (op->spec->description != NULL && n < sizeof(desc)) {
        gw_join(desc + n, sizeof(desc) - n, " ", op->spec->description,
                NULL);
    }

    gw_out_init(&o);
    gw_out_open(&o, '{');
    gw_out_lkey(&o, "name");
    gw_out_str(&o, name);
    gw_out_lkey(&o, "description");
    gw_out_str(&o, desc);
    gw_out_close(&o, '}');

    return gw_out_done(&o, NULL);
}


static char *
gw_qf_job_body(gw_op_t *op, int64_t task_id)
{
    char                  desc[480], name[GW_NAME_MAX + 16];
    gw_out_t              o;
    gw_qf_peft_t          peft;
    const gw_qf_model_t  *m;
    const gw_job_spec_t  *s;

    s = op->spec;
    m = gw_qf_model(s->vendor_model);          /* validated before */
    peft = gw_qf_method(op, m);

    /* the run's tag, sealed over its container: known on every read */
    gw_int_str(name, task_id);
    gw_qf_owner_tag(op, name, desc, sizeof(desc));

    /* written straight into the body: a tree would only be printed */
    gw_out_init(&o);
    gw_out_open(&o, '{');
    gw_out_lkey(&o, "taskId");
    gw_out_int(&o, task_id);
    gw_out_lkey(&o, "description");
    gw_out_str(&o, desc);

    if (op->has_continue) {
        /* incremental training from an earlier run of this gateway */
        gw_out_lkey(&o, "jobRunType");
        gw_out_int(&o, 1);
        gw_out_lkey(&o, "increConfig");
        gw_out_open(&o, '{');
        gw_out_lkey(&o, "taskId");
        gw_out_int(&o, strtoll(op->continue_ref.vendor_id, NULL, 10));
        gw_out_lkey(&o, "jobId");
        gw_out_int(&o, strtoll(op->continue_ref.vendor_id2, NULL, 10));
        gw_out_close(&o, '}');

    } else {
        gw_out_lkey(&o, "jobRunType");
        gw_out_int(&o, 0);
        gw_out_lkey(&o, "baseTrainType");
        gw_out_str(&o, m->base_train_type);
        gw_out_lkey(&o, "trainType");
        gw_out_str(&o, m->train_type);
    }

    gw_out_lkey(&o, "trainMode");
    gw_out_str(&o, "SFT");

    /* an incremental run keeps its base run's method unless told */
    if (!op->has_continue || s->tuning_type != GW_TUNING_UNSET) {
        gw_out_lkey(&o, "peftType");
        gw_out_str(&o, gw_qf_peft_names[peft]);
    }

    /* epoch and learningRate are required: documented defaults */
    gw_out_lkey(&o, "trainConfig");
    gw_out_open(&o, '{');
    gw_out_lkey(&o, "epoch");
    gw_out_int(&o, s->n_epochs != GW_UNSET_INT ? s->n_epochs : 1);
    gw_out_lkey(&o, "learningRate");
    gw_out_num(&o, gw_has_num(s->learning_rate) ? s->learning_rate
                                                : m->lr[peft].dflt);

    if (s->batch_size != GW_UNSET_INT) {
        gw_out_lkey(&o, "batchSize");
        gw_out_int(&o, s->batch_size);
    }

    if (s->max_seq_len != GW_UNSET_INT) {
        gw_out_lkey(&o, "maxSeqLen");
        gw_out_int(&o, s->max_seq_len);
    }

    gw_out_close(&o, '}');

    if (gw_qf_trainset(op, &o) != 0) {
        /* the client's error is set; an empty body says so */
        gw_free(gw_out_done(&o, NULL));
        return gw_strdup("");
    }

    /* a percent: 0.29 * 100 is 28.999999999999996 in binary; the split
     * is a client's decimal, so two decimals of a percent are kept */
    gw_out_lkey(&o, "trainsetRate");
    gw_out_num(&o, gw_has_num(s->validation_split)
                   ? round(s->validation_split * 10000) / 100 : 0);
    gw_out_close(&o, '}');

    return gw_out_done(&o, NULL);
}


/* the id of what createTask or createJob made, or GW_UNSET_INT */
static int64_t
gw_qf_created_id(gw_op_t *op, const char *what)
{
    cJSON    *result;
    int64_t   id;

    result = gw_qf_result(op);
    if (result == NULL) {
        return GW_UNSET_INT;
    }

    id = gw_json_int(result, "id");
    gw_json_delete(result);

    if (id == GW_UNSET_INT) {
        gw_error_set(&op->err, 502, GW_TYPE_UPSTREAM, NULL,
                     "invalid_vendor_response", "provider '%s' created a "
                     "%s without an id", op->provider->name, what);
    }

    return id;
}


static gw_step_t
gw_qf_create(gw_op_t *op)
{
    char                 *body;
    cJSON                *result;
    int64_t               id;
    gw_qf_state_t        *st;
    const gw_qf_model_t  *m;

    st = op->state;

    switch (op->step) {

    case 0:
        if (gw_qf_validate(op) == NULL) {
            return GW_STEP_ERROR;
        }

        /*
         * An incremental run joins the task of the run it continues, as
         * in the createJob doc's example (taskId = increConfig.taskId):
         * no container is made, and the next step reads the run's id.
         */
        if (op->has_continue) {
            st->task_id = strtoll(op->continue_ref.vendor_id, NULL, 10);
            op->step = 1;
        }

        /* the whole run body is checked before anything is made */
        body = gw_qf_job_body(op, st->task_id);
        if (body == NULL) {
            gw_op_nomem(op);
            return GW_STEP_ERROR;
        }

        if (body[0] == '\0') {
            gw_free(body);
            return GW_STEP_ERROR;
        }

        if (op->has_continue) {
            return gw_qf_call(op, "createJob", body) == 0
                   ? GW_STEP_CALL : GW_STEP_ERROR;
        }

        gw_free(body);

        return gw_qf_call(op, "createTask", gw_qf_task_body(op)) == 0
               ? GW_STEP_CALL : GW_STEP_ERROR;

    case 1:
        id = gw_qf_created_id(op, "task");
        if (id == GW_UNSET_INT) {
            return GW_STEP_ERROR;
        }

        st->task_id = id;

        return gw_qf_call(op, "createJob", gw_qf_job_body(op, id)) == 0
               ? GW_STEP_CALL : GW_STEP_ERROR;

    case 2:
        id = gw_qf_created_id(op, "run");
        if (id == GW_UNSET_INT) {
            return GW_STEP_ERROR;
        }

        st->job_id = id;

        return gw_qf_call(op, "jobDetail",
                          gw_qf_detail_body(st->task_id, id)) == 0
               ? GW_STEP_CALL : GW_STEP_ERROR;

    default:
        result = gw_qf_result(op);
        if (result == NULL) {
            return GW_STEP_ERROR;
        }

        if (gw_qf_detail_to_job(op, result, &op->job) != 0) {
            gw_json_delete(result);
            return GW_STEP_ERROR;
        }

        gw_json_delete(result);

        op->job.training_file = gw_strdup(op->spec->train[0].ref);
        op->job.n_epochs = op->spec->n_epochs != GW_UNSET_INT
                           ? op->spec->n_epochs : 1;
        m = gw_qf_model(op->spec->vendor_model);
        op->job.learning_rate = gw_has_num(op->spec->learning_rate)
                                ? op->spec->learning_rate
                                : m->lr[gw_qf_method(op, m)].dflt;
        op->job.batch_size = op->spec->batch_size;

        if (op->job.created_at == GW_UNSET_INT) {
            op->job.created_at = op->now_ms / 1000;
        }

        return GW_STEP_DONE;
    }
}


/* ---- retrieve, cancel ---------------------------------------------- */


static gw_step_t
gw_qf_retrieve(gw_op_t *op)
{
    cJSON    *result;
    int64_t   task_id, job_id;

    if (op->step == 0) {
        if (gw_qf_ids(op, &task_id, &job_id) != 0) {
            gw_error_set(&op->err, 404, GW_TYPE_NOT_FOUND, "id",
                         "job_not_found", "Could not find the fine-tuning "
                         "job");
            return GW_STEP_ERROR;
        }

        return gw_qf_call(op, "jobDetail",
                          gw_qf_detail_body(task_id, job_id)) == 0
               ? GW_STEP_CALL : GW_STEP_ERROR;
    }

    result = gw_qf_result(op);
    if (result == NULL) {
        return GW_STEP_ERROR;
    }

    if (gw_qf_detail_to_job(op, result, &op->job) != 0) {
        gw_json_delete(result);
        return GW_STEP_ERROR;
    }

    gw_json_delete(result);
    return GW_STEP_DONE;
}


/*
 * jobDetail (whose run is it?), stopJob, then jobDetail for the run as
 * it stands.  Once Qianfan has accepted the stop, the run is reported
 * cancelled even if jobDetail has not caught up yet (vendor.status keeps
 * what it said).
 */
static gw_step_t
gw_qf_cancel(gw_op_t *op)
{
    cJSON    *result;
    int64_t   task_id, job_id;

    if (gw_qf_ids(op, &task_id, &job_id) != 0) {
        gw_error_set(&op->err, 404, GW_TYPE_NOT_FOUND, "id", "job_not_found",
                     "Could not find the fine-tuning job");
        return GW_STEP_ERROR;
    }

    switch (op->step) {

    case 0:
        return gw_qf_call(op, "jobDetail",
                          gw_qf_detail_body(task_id, job_id)) == 0
               ? GW_STEP_CALL : GW_STEP_ERROR;

    case 1:
        op->step = 1;
        if (gw_qf_retrieve(op) != GW_STEP_DONE) {
            return GW_STEP_ERROR;
        }

        /* never stop a run on behalf of a client that does not own it */
        if (!gw_op_owned(op)) {
            return GW_STEP_ERROR;
        }

        gw_job_free(&op->job);

        return gw_qf_call(op, "stopJob",
                          gw_qf_detail_body(task_id, job_id)) == 0
               ? GW_STEP_CALL : GW_STEP_ERROR;

    case 2:
        /* 510302, a run that is not running, is a 409 by the table */
        result = gw_qf_result(op);
        if (result == NULL) {
            return GW_STEP_ERROR;
        }

        if (!cJSON_IsTrue(result)) {
            gw_json_delete(result);
            gw_error_set(&op->err, 502, GW_TYPE_UPSTREAM, NULL,
                         "vendor_refused", "provider '%s' did not accept "
                         "the stop", op->provider->name);
            return GW_STEP_ERROR;
        }

        gw_json_delete(result);

        return gw_qf_call(op, "jobDetail",
                          gw_qf_detail_body(task_id, job_id)) == 0
               ? GW_STEP_CALL : GW_STEP_ERROR;

    default:
        op->step = 1;
        if (gw_qf_retrieve(op) != GW_STEP_DONE) {
            return GW_STEP_ERROR;
        }

        if (op->job.status == GW_STATUS_RUNNING) {
            op->job.status = GW_STATUS_CANCELLED;
        }

        if (op->job.finished_at == GW_UNSET_INT) {
            op->job.finished_at = op->now_ms / 1000;
        }

        return GW_STEP_DONE;
    }
}


/* ---- uploaded files: the dataset and its upload ------------------- */


static int64_t
gw_qf_emit(const gw_convo_t *c, gw_out_t *o, char *why, size_t len)
{
    size_t  i;

    gw_out_open(o, '[');

    for (i = 0; i < c->nturns; i++) {
        gw_out_open(o, '{');

        if (i == 0 && c->system[0] != '\0') {
            gw_out_lkey(o, "system");
            gw_out_str(o, c->system);
        }

        gw_out_lkey(o, "prompt");
        gw_out_str(o, c->turns[i].user);
        gw_out_lkey(o, "response");
        gw_out_open(o, '[');
        gw_out_open(o, '[');
        gw_out_str(o, c->turns[i].assistant);
        gw_out_close(o, ']');
        gw_out_close(o, ']');
        gw_out_close(o, '}');
    }

    gw_out_close(o, ']');
    gw_out_put(o, "\n", 1);

    return 1;
}


/*
 * A call to the provider's BOS, bce-auth-v1 signed with the provider's
 * AK/SK over the Host, the length, the type and the payload's SHA-256
 */
static gw_step_t
gw_qf_bos_call(gw_op_t *op, const char *method, const char *path,
    const char *content_type, const char *sha256)
{
    int                   expiration;
    char                  date[32], auth[512], size[24];
    const char           *host, *v;
    gw_bce_header_t       headers[5];
    const gw_provider_t  *p;

    p = op->provider;
    host = gw_provider_param(p, "bos_host");
    v = gw_provider_param(p, "signature_expiration");
    expiration = v ? atoi(v) : 300;

    gw_bce_timestamp(op->now_ms / 1000, date);
    gw_int_str(size, (int64_t) op->call.body_len);

    headers[0].name = "Host";
    headers[0].value = host ? host : GW_QF_BOS_HOST;
    headers[1].name = "Content-Length";
    headers[1].value = size;
    headers[2].name = "x-bce-date";
    headers[2].value = date;
    headers[3].name = "x-bce-content-sha256";
    headers[3].value = sha256;
    headers[4].name = "Content-Type";
    headers[4].value = content_type;

    /* without a body, neither a length nor a type is sent, nor signed */
    if (content_type == NULL) {
        headers[1] = headers[3];
    }

    if (gw_sign_bce_v1(method, path, NULL, headers, content_type ? 5 : 3,
                       gw_provider_param(p, "access_key"),
                       gw_provider_param(p, "secret_key"), date, expiration,
                       auth, sizeof(auth))
        != GW_OK)
    {
        gw_error_set(&op->err, 502, GW_TYPE_API, NULL, "signing_failed",
                     "The gateway could not sign the request to provider "
                     "'%s'", p->name);
        return GW_STEP_ERROR;
    }

    op->call.method = method;
    op->call.endpoint = gw_provider_param(p, "bos_endpoint");
    gw_call_path(&op->call, path, NULL, NULL);

    if (content_type != NULL) {
        gw_call_header(&op->call, "Content-Type", content_type);
    }

    gw_call_header(&op->call, "x-bce-date", date);
    gw_call_header(&op->call, "x-bce-content-sha256", sha256);
    gw_call_header(&op->call, "Authorization", auth);

    return GW_STEP_CALL;
}


/* op->err for a refusal of BOS: its errors are {"code", "message", ...} */
static void
gw_qf_bos_error(gw_op_t *op, const char *action)
{
    char         buf[65];
    cJSON       *root;
    const char  *code;

    root = gw_json_parse(op->resp->body, op->resp->body_len, NULL);
    code = gw_json_str(root, "code");

    if (code != NULL) {
        gw_copy(buf, sizeof(buf), code);
        code = buf;
    }

    gw_json_delete(root);
    gw_op_storage_error(op, "BOS", action, code);
}


/* PUT /<bucket>/<prefix><object> to the provider's BOS, the file as body */
static gw_step_t
gw_qf_stage(gw_op_t *op)
{
    char                  path[512];
    const char           *bucket, *prefix;
    const gw_provider_t  *p;

    p = op->provider;
    bucket = gw_provider_param(p, "bos_bucket");
    prefix = gw_provider_param(p, "bos_prefix");
    prefix = prefix ? prefix : GW_QF_BOS_PREFIX;

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

        return gw_qf_bos_call(op, "PUT", path, op->stage.content_type,
                              op->stage.sha256);
    }

    if (gw_op_transport_error(op)) {
        return GW_STEP_ERROR;
    }

    if (op->resp->status / 100 != 2) {
        gw_qf_bos_error(op, "upload");
        return GW_STEP_ERROR;
    }

    snprintf(op->stage.ref, sizeof(op->stage.ref), "bos://%s/%s%s", bucket,
             prefix, op->stage.object);

    return GW_STEP_DONE;
}


/* DELETE of a staged object, op->stage.ref "bos://<bucket>/<path>" */
static gw_step_t
gw_qf_unstage(gw_op_t *op)
{
    char              path[600];
    gw_dataset_ref_t  ref;

    if (op->step == 0) {
        if (gw_dataset_ref_parse(op->stage.ref, &ref) != GW_OK) {
            gw_op_nomem(op);
            return GW_STEP_ERROR;
        }

        snprintf(path, sizeof(path), "/%s/%s", ref.bucket, ref.path);
        gw_dataset_ref_free(&ref);

        return gw_qf_bos_call(op, "DELETE", path, NULL, GW_SHA256_EMPTY);
    }

    if (gw_op_transport_error(op)) {
        return GW_STEP_ERROR;
    }

    /* gone already is gone */
    if (op->resp->status / 100 != 2 && op->resp->status != 404) {
        gw_qf_bos_error(op, "deletion");
        return GW_STEP_ERROR;
    }

    return GW_STEP_DONE;
}
