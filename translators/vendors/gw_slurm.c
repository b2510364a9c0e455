
/*
 * The local training engine: Slurm through slurmrestd (OpenAPI v0.0.38).
 *
 *   create   POST   /slurm/v0.0.38/job/submit (a batch script that runs
 *            the project's trainer on the job's spec)
 *   retrieve GET    /slurm/v0.0.38/job/{id}
 *   list     GET    /slurm/v0.0.38/jobs (the jobs this gateway submitted)
 *   cancel   GET, then DELETE /slurm/v0.0.38/job/{id}
 *
 * The trainer reports its progress in the job's comment (scontrol update
 * Comment=...), which slurmrestd returns with the job: a compact JSON
 * {"s":step,"S":steps,"e":epoch,"E":epochs,"l":loss,"v":val_loss,
 * "eta":unix,"c":checkpoints} or, on failure, {"err":reason,"msg":text}.
 *
 * Provider params: models ("name:dir,name:dir"), dataset_root,
 * output_root, trainer (the command), partition, gpus (a job's GPUs
 * unless it asks with tuning.gpus), max_gpus (the most it may ask; gpus by
 * default), user_name and user_token (X-SLURM-USER-* for sites with JWT
 * auth), time_limit (minutes).  Every Slurm value mapped is in a table
 * below.
 */


#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <core/gw_core.h>
#include <sign/gw_sign.h>


#define GW_SLURM_API       "/slurm/v0.0.38"
#define GW_SLURM_NAME      "ftgw."
#define GW_SLURM_PATH_MAX  600
/* the JSON of a job's metadata in its comment (trainer/spec.py) */
#define GW_SLURM_METADATA_MAX  760

/*
 * The batch script: the spec goes next to the outputs in a quoted
 * here-doc, and the trainer reports progress into the job's comment.
 * Arguments: output_dir, output_dir, spec, trainer, output_dir, output_dir.
 */


typedef struct {
    const char         *state;
    gw_status_t         canonical;
    const char         *error_code;      /* for failed states */
    const char         *error_message;
} gw_slurm_state_t;


/* job_state -> OpenAI status; others are a 502 */
static const gw_slurm_state_t  gw_slurm_states[] = {
    { "PENDING",       GW_STATUS_QUEUED, NULL, NULL },
    { "CONFIGURING",   GW_STATUS_QUEUED, NULL, NULL },
    { "REQUEUED",      GW_STATUS_QUEUED, NULL, NULL },
    { "SUSPENDED",     GW_STATUS_QUEUED, NULL, NULL },
    { "RUNNING",       GW_STATUS_RUNNING, NULL, NULL },
    { "COMPLETING",    GW_STATUS_RUNNING, NULL, NULL },
    { "COMPLETED",     GW_STATUS_SUCCEEDED, NULL, NULL },
    { "CANCELLED",     GW_STATUS_CANCELLED, NULL, NULL },
    { "FAILED",        GW_STATUS_FAILED, "training_error",
      "The training job failed" },
    { "TIMEOUT",       GW_STATUS_FAILED, "time_limit",
      "The training job reached its time limit" },
    { "NODE_FAIL",     GW_STATUS_FAILED, "node_failure",
      "A node of the training job failed" },
    { "OUT_OF_MEMORY", GW_STATUS_FAILED, "out_of_memory",
      "The training job ran out of memory" },
    { "PREEMPTED",     GW_STATUS_FAILED, "preempted",
      "The training job was preempted by the scheduler" },
    { "BOOT_FAIL",     GW_STATUS_FAILED, "node_failure",
      "The node of the training job failed to boot" },
    { "DEADLINE",      GW_STATUS_FAILED, "time_limit",
      "The training job missed its deadline" },
    { NULL, 0, NULL, NULL }
};


/* a failure reason of the trainer's last report ("err") */
typedef struct {
    const char         *reason;
    const char         *code;            /* canonical job error code */
    const char         *description;     /* when the trainer gives no msg */
} gw_slurm_failure_t;


/*
 * The trainer's failure reasons: CLOVA Studio's dataset reasons, word for
 * word (it validates datasets as CLOVA does), and its own codes.
 */
static const gw_slurm_failure_t  gw_slurm_failures[] = {
    { "file.noexist", "training_file_not_found",
      "The dataset file does not exist" },
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
    { "spec.invalid", "invalid_parameters",
      "The trainer refused the job's parameters" },
    { "model.noexist", "model_not_found",
      "The local model directory does not exist" },
    { "model.invalid", "invalid_model",
      "The local model could not be loaded" },
    { "resource.oom", "out_of_memory",
      "Training ran out of memory: lower the batch size or sequence "
      "length" },
    { "train.unknown", "training_error",
      "Training failed for a reason other than the dataset" },
    { "cancelled", "cancelled", "Training was cancelled" },
    { NULL, NULL, NULL }
};


/*
 * slurmrestd's error numbers that have an answer of their own; any other
 * is classified by its HTTP status (gw_answer_class)
 */
typedef struct {
    int64_t             number;
    int                 gpu_submit;      /* only for a submit with GPUs */
    int                 http;
    const char         *type;
    const char         *param;
} gw_slurm_error_t;


static const gw_slurm_error_t  gw_slurm_errors[] = {
    /* ESLURM_INVALID_JOB_ID: the job is not (or no longer) there */
    { 2017, 0, 404, GW_TYPE_NOT_FOUND, "id" },
    /*
     * ESLURM_REQUESTED_NODE_CONFIG_UNAVAILABLE on a submit asking for
     * GPUs: no node of the partition has that many (slurmrestd: 500)
     */
    { 2014, 1, 400, GW_TYPE_INVALID, "tuning.gpus" },
    { 0, 0, 0, NULL, NULL }
};


/*
 * state_reason of a PENDING job that Slurm will never start, or of a
 * FAILED one that it never started
 */
static const char  *gw_slurm_never_starts[] = {
    "PartitionConfig", "BadConstraints", "PartNodeLimit", "PartTimeLimit",
    "InvalidAccount", "InvalidQOS", NULL
};


static const gw_param_spec_t  gw_slurm_params[] = {
    { "models", 0 },
    { "dataset_root", 0 },
    { "output_root", 0 },
    { "trainer", 0 },
    { "partition", 0 },
    { "gpus", 0 },
    { "max_gpus", 0 },
    { "time_limit", 0 },
    { "user_name", 0 },
    { "user_token", 1 },
    { NULL, 0 }
};


static gw_rc_t gw_slurm_check_config(const gw_provider_t *p, char *err,
    size_t len);
static void gw_slurm_failure(const char *reason, char *code,
    size_t code_size, char *text, size_t text_size);
static gw_step_t gw_slurm_create(gw_op_t *op);
static gw_step_t gw_slurm_retrieve(gw_op_t *op);
static gw_step_t gw_slurm_cancel(gw_op_t *op);
static gw_step_t gw_slurm_list(gw_op_t *op);
static gw_step_t gw_slurm_checkpoints(gw_op_t *op);
static void gw_slurm_call(gw_op_t *op, const char *method, const char *path);
static cJSON *gw_slurm_result(gw_op_t *op);
static int gw_slurm_job_to_job(gw_op_t *op, const cJSON *j, gw_job_t *job);
static void gw_slurm_progress(gw_op_t *op, const char *comment,
    gw_job_t *job);
static int gw_slurm_model_dir(const gw_provider_t *p, const char *name,
    char *out, size_t size);
static int gw_slurm_metadata_too_long(const gw_job_spec_t *s);
static int64_t gw_slurm_param_int(const gw_provider_t *p, const char *name,
    int64_t dflt);
static int64_t gw_slurm_gpus(const gw_op_t *op);
static int64_t gw_slurm_job_gpus(const char *tres);
static int gw_slurm_model_name(const gw_provider_t *p, size_t i, char *out,
    size_t size);
static int gw_slurm_path_ok(const char *s);
static int gw_slurm_name_parse(const gw_op_t *op, const char *name,
    gw_job_t *job);
static char *gw_slurm_spec(gw_op_t *op, const char *model_dir,
    const char *output_dir);
static char *gw_slurm_script(gw_op_t *op, const char *spec,
    const char *output_dir);
static char *gw_slurm_submit_body(gw_op_t *op, const char *spec,
    const char *output_dir);


const gw_vendor_t  gw_vendor_slurm = {
    "slurm",
    GW_F_VALIDATION_FILE | GW_F_SUFFIX | GW_F_SEED | GW_F_N_EPOCHS
    | GW_F_BATCH_SIZE | GW_F_LEARNING_RATE | GW_F_TUNING_TYPE
    | GW_F_TASK_TYPE | GW_F_LORA_RANK | GW_F_LORA_ALPHA | GW_F_LORA_DROPOUT
    | GW_F_LORA_INIT | GW_F_LORA_TARGET_MODULES | GW_F_VIRTUAL_TOKENS
    | GW_F_SCHEDULER | GW_F_SCHED_MIN_LR | GW_F_SCHED_WARMUP
    | GW_F_OPTIMIZER | GW_F_N_SAMPLES | GW_F_MAX_SEQ_LEN
    | GW_F_DATASET_WEIGHTS | GW_F_MULTI_DATASETS | GW_F_VALIDATION_SPLIT
    | GW_F_METADATA | GW_F_GPUS,
    gw_slurm_params,
    gw_slurm_check_config,
    0,                          /* no state between calls */
    {
        gw_slurm_create,        /* GW_OP_CREATE */
        gw_slurm_retrieve,      /* GW_OP_RETRIEVE */
        gw_slurm_cancel,        /* GW_OP_CANCEL */
        gw_slurm_list,          /* GW_OP_LIST */
        NULL,                   /* GW_OP_EVENTS: synthesised */
        gw_slurm_checkpoints,   /* GW_OP_CHECKPOINTS */
        NULL,                   /* GW_OP_STAGE: a link, by gw_files.c */
        NULL                    /* GW_OP_UNSTAGE: the link stays */
    },
    gw_slurm_model_name,        /* the names of models= */
    NULL                        /* uploaded files are read as they are */
};


/* absolute, no "..", no characters a shell or JSON would treat specially */
static int
gw_slurm_path_ok(const char *s)
{
    size_t  n;

    n = strlen(s);

    return s[0] == '/' && n < 400 && strstr(s, "..") == NULL
           && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                        "0123456789/._-") == n;
}


static gw_rc_t
gw_slurm_check_config(const gw_provider_t *p, char *err, size_t len)
{
    long         n;
    char        *end, dir[512];
    const char  *v, *item, *colon;
    size_t       k;

    static const char  *required[] = {
        "models", "dataset_root", "output_root", "trainer", "partition",
        NULL
    };
    static const char  *numbers[] = {
        "gpus", "max_gpus", "time_limit", NULL
    };

    for (k = 0; required[k] != NULL; k++) {
        if (gw_provider_param(p, required[k]) == NULL) {
            snprintf(err, len, "needs \"%s\"", required[k]);
            return GW_ERROR;
        }
    }

    if (!gw_slurm_path_ok(gw_provider_param(p, "dataset_root"))
        || !gw_slurm_path_ok(gw_provider_param(p, "output_root")))
    {
        snprintf(err, len, "\"dataset_root\" and \"output_root\" must be "
                 "absolute paths of A-Z, a-z, 0-9, '/', '.', '_', '-'");
        return GW_ERROR;
    }

    v = gw_provider_param(p, "models");

    for (item = v; *item != '\0'; item += k + (item[k] == ',')) {
        k = strcspn(item, ",");
        colon = memchr(item, ':', k);

        if (colon == NULL || colon == item
            || (size_t) (item + k - colon - 1) >= sizeof(dir))
        {
            snprintf(err, len, "\"models\" must be "
                     "\"name:/dir,name:/dir\"");
            return GW_ERROR;
        }

        memcpy(dir, colon + 1, item + k - colon - 1);
        dir[item + k - colon - 1] = '\0';

        if (!gw_slurm_path_ok(dir)) {
            snprintf(err, len, "\"models\": \"%s\" is not an absolute "
                     "path of safe characters", dir);
            return GW_ERROR;
        }
    }

    /* it goes into a bash script: plain words of safe characters only */
    v = gw_provider_param(p, "trainer");
    if (v[0] == '\0'
        || strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789 /._=+:,-") != strlen(v))
    {
        snprintf(err, len, "\"trainer\" must be a plain command of A-Z, "
                 "a-z, 0-9, spaces and /._=+:,- (no shell syntax)");
        return GW_ERROR;
    }

    v = gw_provider_param(p, "partition");
    if (v[0] == '\0'
        || strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789_-") != strlen(v))
    {
        snprintf(err, len, "\"partition\" is not a Slurm partition name");
        return GW_ERROR;
    }

    for (k = 0; numbers[k] != NULL; k++) {
        v = gw_provider_param(p, numbers[k]);
        if (v != NULL) {
            n = strtol(v, &end, 10);
            if (v[0] < '0' || v[0] > '9' || *end != '\0' || n < 0
                || n > 100000)
            {
                snprintf(err, len, "\"%s\" must be a number", numbers[k]);
                return GW_ERROR;
            }
        }
    }

    /* (a job's GPUs are tuning.gpus' range, 0 to 1024) */
    if (gw_slurm_param_int(p, "max_gpus", 0) > 1024
        || gw_slurm_param_int(p, "gpus", 0) > 1024)
    {
        snprintf(err, len, "\"gpus\" and \"max_gpus\" must be at most "
                 "1024");
        return GW_ERROR;
    }

    if (gw_slurm_param_int(p, "gpus", 0)
        > gw_slurm_param_int(p, "max_gpus", INT64_MAX))
    {
        snprintf(err, len, "\"gpus\" (the GPUs of a job that asks for "
                 "none) is above \"max_gpus\"");
        return GW_ERROR;
    }

    if ((gw_provider_param(p, "user_name") == NULL)
        != (gw_provider_param(p, "user_token") == NULL))
    {
        snprintf(err, len, "\"user_name\" and \"user_token_file\" go "
                 "together (JWT auth over TCP)");
        return GW_ERROR;
    }

    return GW_OK;
}


/* a number param (gw_slurm_check_config checked it), or dflt if unset */
static int64_t
gw_slurm_param_int(const gw_provider_t *p, const char *name, int64_t dflt)
{
    const char  *v;

    v = gw_provider_param(p, name);

    return (v != NULL) ? (int64_t) strtoll(v, NULL, 10) : dflt;
}


/* the GPUs of the job being created: tuning.gpus, else the provider's */
static int64_t
gw_slurm_gpus(const gw_op_t *op)
{
    if (op->spec != NULL && (op->spec->present & GW_F_GPUS)) {
        return op->spec->gpus;
    }

    return gw_slurm_param_int(op->provider, "gpus", 0);
}


/*
 * The GPUs a job holds on its node, from its "tres_per_node" (what
 * "gpus_per_node" became): "gres:gpu:2", or with a type
 * "gres:gpu:a100:2", among other TRES after commas; 0 when none
 */
static int64_t
gw_slurm_job_gpus(const char *tres)
{
    size_t       k, d;
    const char  *item, *count;

    for (item = tres; item != NULL && *item != '\0';
         item += k + (item[k] == ','))
    {
        k = strcspn(item, ",");

        if (k < sizeof("gres:gpu:") || memcmp(item, "gres:gpu:", 9) != 0) {
            continue;
        }

        /* the count is the last field */
        for (count = item + k; count[-1] != ':'; count--) {
            /* void */
        }

        d = item + k - count;

        if (d == 0 || d > 6 || strspn(count, "0123456789") < d) {
            continue;
        }

        return (int64_t) strtoll(count, NULL, 10);
    }

    return 0;
}


/* the i-th name of models= ("name:dir,..."), for GET /v1/models */
static int
gw_slurm_model_name(const gw_provider_t *p, size_t i, char *out, size_t size)
{
    size_t       k, n;
    const char  *item, *colon;

    n = 0;

    for (item = gw_provider_param(p, "models"); item != NULL && *item != '\0';
         item += k + (item[k] == ','))
    {
        k = strcspn(item, ",");
        colon = memchr(item, ':', k);

        if (colon == NULL) {
            continue;
        }

        if (n++ == i) {
            if ((size_t) (colon - item) >= size) {
                return 0;
            }

            memcpy(out, item, colon - item);
            out[colon - item] = '\0';
            return 1;
        }
    }

    return 0;
}


static int
gw_slurm_model_dir(const gw_provider_t *p, const char *name, char *out,
    size_t size)
{
    size_t       k, nlen;
    const char  *item, *colon;

    nlen = strlen(name);

    for (item = gw_provider_param(p, "models"); *item != '\0';
         item += k + (item[k] == ','))
    {
        k = strcspn(item, ",");
        colon = memchr(item, ':', k);

        if (colon != NULL && (size_t) (colon - item) == nlen
            && memcmp(item, name, nlen) == 0
            && (size_t) (item + k - colon) <= size)
        {
            memcpy(out, colon + 1, item + k - colon - 1);
            out[item + k - colon - 1] = '\0';
            return 0;
        }
    }

    return -1;
}


/* ---- calls ---------------------------------------------------------- */


static void
gw_slurm_call(gw_op_t *op, const char *method, const char *path)
{
    const char  *user;

    op->call.method = method;
    gw_call_path(&op->call, GW_SLURM_API, path, NULL);

    if (op->call.body != NULL) {
        gw_call_header(&op->call, "Content-Type", "application/json");
    }

    /* TCP with JWT auth; over the unix socket the peer's uid is the auth */
    user = gw_provider_param(op->provider, "user_name");
    if (user != NULL) {
        gw_call_header(&op->call, "X-SLURM-USER-NAME", user);
        gw_call_header(&op->call, "X-SLURM-USER-TOKEN",
                       gw_provider_param(op->provider, "user_token"));
    }
}


static cJSON *
gw_slurm_result(gw_op_t *op)
{
    int                      http;
    char                     text[300], hint[160];
    cJSON                   *root;
    int64_t                  number, gpus;
    const char              *v, *type, *param;
    const cJSON             *errors, *e;
    gw_answer_class_t        c;
    const gw_slurm_error_t  *m;

    if (gw_op_transport_error(op)) {
        return NULL;
    }

    root = gw_json_parse(op->resp->body, op->resp->body_len, NULL);

    if (root == NULL || !cJSON_IsObject(root)) {
        gw_json_delete(root);
        gw_op_unreadable(op, "a body that is not slurmrestd's JSON");
        return NULL;
    }

    errors = gw_json_get(root, "errors");
    e = cJSON_IsArray(errors) ? cJSON_GetArrayItem(errors, 0) : NULL;

    /*
     * A submit may answer 200 with a job_id and errors[] (a held job, a
     * partition not available now): the job exists, the errors are notes.
     */
    if (op->resp->status / 100 == 2
        && (e == NULL || gw_json_get(root, "job_id")))
    {
        return root;
    }

    /* "description" says which job and why; "error" is the generic text */
    v = gw_json_str(e, "description");
    if (v == NULL) {
        v = gw_json_str(e, "error");
    }

    gw_vendor_text(op->provider, v ? v : "no error text", text,
                   sizeof(text));
    /* submit errors carry error_code, job calls error_number */
    number = gw_json_int(e, "error_number");
    if (number == GW_UNSET_INT) {
        number = gw_json_int(e, "error_code");
    }

    /* the submit of a create asking for GPUs: the message says so */
    gpus = (op->kind == GW_OP_CREATE && op->step == 1) ? gw_slurm_gpus(op)
                                                        : 0;
    hint[0] = '\0';
    if (gpus > 0) {
        snprintf(hint, sizeof(hint), " (the job asked for %" PRId64 " GPU%s "
                 "on one node of partition '%.64s')", gpus,
                 gpus == 1 ? "" : "s",
                 gw_provider_param(op->provider, "partition"));
    }

    for (m = gw_slurm_errors; m->number != 0; m++) {
        if (m->number == number && (!m->gpu_submit || gpus > 0)) {
            break;
        }
    }

    c = gw_answer_class(op->resp->status);
    http = (m->number != 0) ? m->http : c.http;
    type = (m->number != 0) ? m->type : c.type;
    param = (m->number != 0) ? m->param : (http == 404 ? "id" : NULL);

    if (number != GW_UNSET_INT) {
        gw_error_set(&op->err, http, type, param, "", "provider '%s' "
                     "(slurmrestd) answered HTTP %d, error %" PRId64 ": "
                     "%s%s", op->provider->name, op->resp->status, number,
                     text, hint);
        snprintf(op->err.code, sizeof(op->err.code), "slurm_%" PRId64,
                 number);

    } else {
        gw_error_set(&op->err, http, type, param, "slurm_error",
                     "provider '%s' (slurmrestd) answered HTTP %d: %s%s",
                     op->provider->name, op->resp->status, text, hint);
    }

    gw_json_delete(root);
    return NULL;
}


/* ---- the job ---------------------------------------------------------- */


static void
gw_slurm_progress(gw_op_t *op, const char *comment, gw_job_t *job)
{
    char         code[64], desc[160];
    cJSON       *p;
    int64_t      v;
    const char  *err, *msg;

    if (comment == NULL || comment[0] != '{') {
        return;
    }

    p = gw_json_parse(comment, strlen(comment), NULL);
    if (p == NULL) {
        return;
    }

    /* the job's metadata rides in every report */
    if (cJSON_IsObject(gw_json_get(p, "md")) && job->metadata == NULL) {
        job->metadata = cJSON_Duplicate(gw_json_get(p, "md"), 1);
    }

    job->step = gw_json_int(p, "s");
    job->total_steps = gw_json_int(p, "S");
    job->epoch = gw_json_int(p, "e");
    job->total_epochs = gw_json_int(p, "E");
    job->train_loss = gw_json_num(p, "l");

    /* the trainer's throughput since its last report (docs/trainer.md) */
    job->tokens_per_second = gw_json_num(p, "tps");
    job->mfu = gw_json_num(p, "mfu");

    if (gw_has_num(job->tokens_per_second) && job->tokens_per_second < 0) {
        job->tokens_per_second = GW_UNSET_NUM;
    }

    if (gw_has_num(job->mfu) && (job->mfu < 0 || job->mfu > 1)) {
        job->mfu = GW_UNSET_NUM;
    }

    v = gw_json_int(p, "eta");
    if (v != GW_UNSET_INT && job->status == GW_STATUS_RUNNING) {
        job->estimated_finish = v;
    }

    v = gw_json_int(p, "c");
    if (v != GW_UNSET_INT && v >= 0) {
        job->checkpoints = v;
    }

    if (gw_has_num(gw_json_num(p, "v")) && job->vendor_extra != NULL) {
        cJSON_AddNumberToObject(job->vendor_extra, "validation_loss",
                                gw_json_num(p, "v"));
    }

    if (job->total_steps > 0 && job->step != GW_UNSET_INT) {
        job->percent = 100.0 * (double) job->step
                       / (double) job->total_steps;
    }

    err = gw_json_str(p, "err");
    msg = gw_json_str(p, "msg");

    /* the trainer's own reason beats the scheduler's "FAILED" */
    if (err != NULL && job->status == GW_STATUS_FAILED) {
        job->has_error = 1;
        job->vendor_error_code = gw_strdup(err);

        gw_slurm_failure(err, code, sizeof(code), desc, sizeof(desc));
        gw_copy(job->error_code, sizeof(job->error_code), code);
        gw_vendor_text(op->provider, msg ? msg : desc, job->error_message,
                       sizeof(job->error_message));
    }

    gw_json_delete(p);
}


/* the canonical code and text of a trainer's failure reason */
static void
gw_slurm_failure(const char *reason, char *code, size_t code_size,
    char *text, size_t text_size)
{
    const gw_slurm_failure_t  *f;

    for (f = gw_slurm_failures; f->reason != NULL; f++) {
        if (strcmp(f->reason, reason) == 0) {
            gw_copy(code, code_size, f->code);
            gw_copy(text, text_size, f->description);
            return;
        }
    }

    snprintf(code, code_size, "training_error");
    snprintf(text, text_size, "Training failed (%.64s)", reason);
}


static int
gw_slurm_job_to_job(gw_op_t *op, const cJSON *j, gw_job_t *job)
{
    char                     buf[600];
    size_t                   n;
    int64_t                  id, v;
    const char              *state, *name, *reason, *const *r;
    const gw_slurm_state_t  *s;

    id = gw_json_int(j, "job_id");
    state = gw_json_str(j, "job_state");
    name = gw_json_str(j, "name");

    if (id == GW_UNSET_INT || state == NULL) {
        gw_error_set(&op->err, 502, GW_TYPE_UPSTREAM, NULL,
                     "invalid_vendor_response", "provider '%s' returned a "
                     "job without id and state", op->provider->name);
        return -1;
    }

    for (s = gw_slurm_states; s->state != NULL; s++) {
        if (strcmp(s->state, state) == 0) {
            break;
        }
    }

    if (s->state == NULL) {
        gw_error_set(&op->err, 502, GW_TYPE_UPSTREAM, NULL,
                     "unknown_vendor_status", "provider '%s' returned the "
                     "job state '%.32s', which the gateway does not map",
                     op->provider->name, state);
        return -1;
    }

    job->status = s->canonical;
    job->vendor_status = gw_strdup(state);

    /*
     * A job Slurm will never start is failed, not queued for ever; and a
     * submit that slurmrestd refused for want of resources (2014, no
     * job_id) leaves a FAILED job (BadConstraints) that lists show
     */
    reason = gw_json_str(j, "state_reason");
    if ((job->status == GW_STATUS_QUEUED || job->status == GW_STATUS_FAILED)
        && reason != NULL)
    {
        for (r = gw_slurm_never_starts; *r != NULL; r++) {
            if (strcmp(*r, reason) == 0) {
                job->status = GW_STATUS_FAILED;
                job->has_error = 1;
                snprintf(job->error_code, sizeof(job->error_code),
                         "unschedulable");
                snprintf(job->error_message, sizeof(job->error_message),
                         "Slurm cannot run the job as asked (%s): check the "
                         "provider's partition and GPUs", reason);
                break;
            }
        }
    }

    gw_int_str(buf, id);
    job->vendor_id = gw_strdup(buf);

    /*
     * "ftgw.<client>.<model>.<suffix>-<ms>.<mac>", the model's dots
     * written as '~': owner and model from the name, the owner sealed.
     * Any other job is nobody's, so no client sees it (not even by a
     * name like "<client>.x").
     */
    if (name != NULL) {
        job->name = gw_strdup(name);
    }

    if (gw_slurm_name_parse(op, name, job) != 0) {
        job->owner = gw_strdup("");
    }

    v = gw_json_int(j, "submit_time");
    job->created_at = (v != GW_UNSET_INT && v > 0) ? v : GW_UNSET_INT;

    v = gw_json_int(j, "end_time");
    if (v != GW_UNSET_INT && v > 0 && job->status != GW_STATUS_RUNNING
        && job->status != GW_STATUS_QUEUED)
    {
        job->finished_at = v;
    }

    v = gw_json_int(j, "start_time");
    job->updated_at = (v != GW_UNSET_INT && v > 0) ? v : GW_UNSET_INT;

    if (s->error_code != NULL && !job->has_error) {
        job->has_error = 1;
        gw_copy(job->error_code, sizeof(job->error_code), s->error_code);
        gw_copy(job->error_message, sizeof(job->error_message),
                s->error_message);
    }

    job->vendor_extra = cJSON_CreateObject();

    gw_slurm_progress(op, gw_json_str(j, "comment"), job);

    if (name != NULL) {
        /* the trainer writes under output_root/<name>/ */
        n = gw_join(buf, sizeof(buf),
                    gw_provider_param(op->provider, "output_root"), "/", name);
        if (n < sizeof(buf)) {
            gw_copy(buf + n, sizeof(buf) - n, "/checkpoint-epoch-");
        }
        job->checkpoint_prefix = gw_strdup(buf);

        if (job->status == GW_STATUS_SUCCEEDED) {
            snprintf(buf, sizeof(buf), "%s/%s/final",
                     gw_provider_param(op->provider, "output_root"), name);
            job->fine_tuned_model = gw_strdup(buf);
        }
    }

    if (job->vendor_extra != NULL) {
        cJSON_AddStringToObject(job->vendor_extra, "partition",
                                gw_json_str(j, "partition")
                                ? gw_json_str(j, "partition") : "");
        cJSON_AddNumberToObject(job->vendor_extra, "gpus", (double)
                                gw_slurm_job_gpus(gw_json_str(j,
                                                  "tres_per_node")));
    }

    if (job->vendor_id == NULL || job->vendor_status == NULL) {
        gw_op_nomem(op);
        return -1;
    }

    return 0;
}


/* ---- create ------------------------------------------------------- */


/* the trainer's spec, written straight out: a tree would only be printed */

static char *
gw_slurm_spec(gw_op_t *op, const char *model_dir, const char *output_dir)
{
    char                  path[GW_SLURM_PATH_MAX];
    size_t                i;
    gw_out_t              o;
    const char           *root;
    const gw_job_spec_t  *s;

    s = op->spec;
    root = gw_provider_param(op->provider, "dataset_root");

    gw_out_init(&o);
    gw_out_open(&o, '{');

    gw_out_lkey(&o, "model_dir");
    gw_out_str(&o, model_dir);
    gw_out_lkey(&o, "output_dir");
    gw_out_str(&o, output_dir);

    gw_out_lkey(&o, "training_files");
    gw_out_open(&o, '[');

    for (i = 0; i < s->ntrain; i++) {
        snprintf(path, sizeof(path), "%s/%s", root, s->train[i].ref + 17);
        gw_out_open(&o, '{');
        gw_out_lkey(&o, "path");
        gw_out_str(&o, path);

        if (gw_has_num(s->train[i].weight)) {
            gw_out_lkey(&o, "weight");
            gw_out_num(&o, s->train[i].weight);
        }

        gw_out_close(&o, '}');
    }

    gw_out_close(&o, ']');

    if (s->nvalid > 0) {
        gw_out_lkey(&o, "validation_files");
        gw_out_open(&o, '[');

        for (i = 0; i < s->nvalid; i++) {
            snprintf(path, sizeof(path), "%s/%s", root,
                     s->valid[i].ref + 17);
            gw_out_open(&o, '{');
            gw_out_lkey(&o, "path");
            gw_out_str(&o, path);
            gw_out_close(&o, '}');
        }

        gw_out_close(&o, ']');
    }

    gw_out_lkey(&o, "tuning_type");
    gw_out_str(&o, s->tuning_type == GW_TUNING_FULL ? "full"
                   : s->tuning_type == GW_TUNING_PROMPT
                     ? "prompt_tuning" : "lora");

#define GW_SLURM_INT(key, v)                                                  \
    if ((v) != GW_UNSET_INT) {                                                \
        gw_out_lkey(&o, key);                                                 \
        gw_out_int(&o, v);                                                    \
    }
#define GW_SLURM_NUM(key, v)                                                  \
    if (gw_has_num(v)) {                                                      \
        gw_out_lkey(&o, key);                                                 \
        gw_out_num(&o, v);                                                    \
    }

    GW_SLURM_INT("n_epochs", s->n_epochs);
    GW_SLURM_INT("batch_size", s->batch_size);
    GW_SLURM_INT("seed", s->seed);
    GW_SLURM_INT("n_samples", s->n_samples);
    GW_SLURM_INT("max_seq_len", s->max_seq_len);
    GW_SLURM_NUM("learning_rate", s->learning_rate);
    GW_SLURM_NUM("validation_split", s->validation_split);

    /* the trainer repeats it in every report it writes into the comment */
    if (s->metadata != NULL) {
        gw_out_lkey(&o, "metadata");
        gw_out_json(&o, s->metadata);
    }

    if (s->tuning_type != GW_TUNING_FULL
        && s->tuning_type != GW_TUNING_PROMPT)
    {
        gw_out_lkey(&o, "lora");
        gw_out_open(&o, '{');
        GW_SLURM_INT("rank", s->lora_rank);
        GW_SLURM_INT("alpha", s->lora_alpha);
        GW_SLURM_NUM("dropout", s->lora_dropout);

        if (s->lora_init != NULL) {
            gw_out_lkey(&o, "initialization");
            gw_out_str(&o, s->lora_init);
        }

        if (s->nlora_target_modules > 0) {
            gw_out_lkey(&o, "target_modules");
            gw_out_open(&o, '[');

            for (i = 0; i < s->nlora_target_modules; i++) {
                gw_out_str(&o, s->lora_target_modules[i]);
            }

            gw_out_close(&o, ']');
        }

        gw_out_close(&o, '}');
    }

    if (s->tuning_type == GW_TUNING_PROMPT) {
        gw_out_lkey(&o, "prompt_tuning");
        gw_out_open(&o, '{');
        GW_SLURM_INT("virtual_tokens", s->virtual_tokens);
        gw_out_close(&o, '}');
    }

    if (s->scheduler != GW_SCHED_UNSET) {
        gw_out_lkey(&o, "scheduler");
        gw_out_open(&o, '{');
        gw_out_lkey(&o, "type");
        gw_out_str(&o, s->scheduler == GW_SCHED_LINEAR ? "linear"
                       : s->scheduler == GW_SCHED_COSINE
                         ? "cosine" : "constant");
        GW_SLURM_NUM("min_lr", s->min_lr);
        GW_SLURM_NUM("warmup_ratio", s->warmup_ratio);
        gw_out_close(&o, '}');
    }

    if (s->present & GW_F_OPTIMIZER) {
        gw_out_lkey(&o, "optimizer");
        gw_out_open(&o, '{');
        GW_SLURM_NUM("beta1", s->beta1);
        GW_SLURM_NUM("beta2", s->beta2);
        GW_SLURM_NUM("eps", s->eps);
        GW_SLURM_NUM("weight_decay", s->weight_decay);
        gw_out_close(&o, '}');
    }

#undef GW_SLURM_INT
#undef GW_SLURM_NUM

    gw_out_close(&o, '}');

    return gw_out_done(&o, NULL);
}


/*
 * The batch script, written piece by piece: the spec is a few kilobytes,
 * which printf() would copy a byte at a time, twice.
 */
static char *
gw_slurm_script(gw_op_t *op, const char *spec, const char *output_dir)
{
    char         gpus[24];
    gw_out_t     o;
    const char  *trainer;

    trainer = gw_provider_param(op->provider, "trainer");

    gw_out_init(&o);

#define gw_slurm_put(s)  gw_out_put(&o, s, strlen(s))

    /* the GPUs Slurm gives the job: more than one runs data-parallel */
    snprintf(gpus, sizeof(gpus), "%" PRId64, gw_slurm_gpus(op));

    gw_slurm_put("#!/bin/bash\nset -eu\nexport FTGW_GPUS=");
    gw_slurm_put(gpus);
    gw_slurm_put("\nmkdir -p ");
    gw_slurm_put(output_dir);
    gw_slurm_put("\ncat > ");
    gw_slurm_put(output_dir);
    gw_slurm_put("/spec.json <<'FTGW_SPEC'\n");
    gw_slurm_put(spec);
    gw_slurm_put("\nFTGW_SPEC\nexec ");
    gw_slurm_put(trainer);
    gw_slurm_put(" --spec ");
    gw_slurm_put(output_dir);
    gw_slurm_put("/spec.json --progress-file ");
    gw_slurm_put(output_dir);
    gw_slurm_put("/progress.json --progress-cmd "
                 "\"scontrol update JobId=$SLURM_JOB_ID Comment=\"\n");

#undef gw_slurm_put

    return gw_out_done(&o, NULL);
}


/*
 * The batch script writes the spec next to the outputs and runs the
 * trainer, which reports progress into the job's comment.  Every value
 * in it was checked to be shell-safe, and the spec is a quoted here-doc.
 */
static char *
gw_slurm_submit_body(gw_op_t *op, const char *spec, const char *output_dir)
{
    char        *script, *out, gres[64], *md, *comment;
    size_t       n;
    cJSON       *b, *job, *env;
    int64_t      gpus;
    const char  *v;

    script = gw_slurm_script(op, spec, output_dir);
    if (script == NULL) {
        return NULL;
    }

    b = cJSON_CreateObject();
    job = cJSON_AddObjectToObject(b, "job");
    env = cJSON_AddObjectToObject(job, "environment");

    if (b == NULL || job == NULL || env == NULL) {
        gw_json_delete(b);
        gw_free(script);
        return NULL;
    }

    cJSON_AddStringToObject(b, "script", script);
    gw_free(script);

    cJSON_AddStringToObject(job, "name", op->job_name);
    cJSON_AddStringToObject(job, "partition",
                            gw_provider_param(op->provider, "partition"));
    cJSON_AddStringToObject(job, "current_working_directory", "/tmp");

    /* the metadata is readable in the comment from the start, as the
     * trainer's reports carry it: {"md":{...}} */
    if (op->spec->metadata != NULL) {
        md = gw_json_print(op->spec->metadata, &n);
        comment = (md != NULL) ? gw_malloc(n + 8) : NULL;

        if (comment == NULL) {
            gw_free(md);
            gw_json_delete(b);
            return NULL;
        }

        gw_join(comment, n + 8, "{\"md\":", md, "}");
        cJSON_AddStringToObject(job, "comment", comment);
        gw_free(comment);
        gw_free(md);
    }
    cJSON_AddStringToObject(job, "standard_output", "/dev/null");
    cJSON_AddStringToObject(env, "PATH",
                            "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin");

    /*
     * v0.0.38 takes "gpus_per_node": "N" (the job then shows
     * "tres_per_node": "gres:gpu:N"); "gpu:N" would ask for N GPUs of a
     * type named "gpu" (refused, 2014), and "tres_per_node" is no key of
     * a submit (400).  One CPU per GPU, for a training process each:
     * "cpus_per_task" would turn more GPUs than a node has into a job
     * accepted and pending for ever (2015) where a node has fewer CPUs.
     */
    gpus = gw_slurm_gpus(op);
    if (gpus > 0) {
        snprintf(gres, sizeof(gres), "%" PRId64, gpus);
        cJSON_AddStringToObject(job, "gpus_per_node", gres);
        cJSON_AddNumberToObject(job, "cpus_per_gpu", 1);
    }

    v = gw_provider_param(op->provider, "time_limit");
    if (v != NULL) {
        cJSON_AddNumberToObject(job, "time_limit", (double) atol(v));
    }

    out = gw_json_print(b, NULL);
    gw_json_delete(b);

    return out;
}


/* the owner and the model of a job this gateway named; -1 if not one */
static int
gw_slurm_name_parse(const gw_op_t *op, const char *name, gw_job_t *job)
{
    char        *p;
    const char  *c, *dot, *last;

    if (name == NULL
        || strncmp(name, GW_SLURM_NAME, sizeof(GW_SLURM_NAME) - 1) != 0)
    {
        return -1;
    }

    c = name + sizeof(GW_SLURM_NAME) - 1;
    dot = strchr(c, '.');
    if (dot == NULL || dot == c) {
        return -1;
    }

    /* the seal after the last '.', over the name before it */
    last = strrchr(name, '.');
    gw_job_owner(job, op, c, dot - c, name, last - name, last + 1,
                 strlen(last + 1));
    c = dot + 1;
    dot = strchr(c, '.');
    job->vendor_model = dot ? gw_strndup(c, dot - c) : gw_strdup(c);

    for (p = job->vendor_model; p != NULL && *p != '\0'; p++) {
        if (*p == '~') {
            *p = '.';
        }
    }

    return 0;
}


/* the comment holds 1024 bytes: a report takes 200, the metadata the rest */
static int
gw_slurm_metadata_too_long(const gw_job_spec_t *s)
{
    char    *text;
    size_t   n;

    if (s->metadata == NULL) {
        return 0;
    }

    text = gw_json_print(s->metadata, &n);
    gw_free(text);

    return text == NULL || n > GW_SLURM_METADATA_MAX;
}


static gw_step_t
gw_slurm_create(gw_op_t *op)
{
    int                   n;
    char                 *spec, model_dir[512], output_dir[1024];
    char                  param[64];
    size_t                i;
    cJSON                *root;
    int64_t               id, max;
    const char           *ref;
    const gw_job_spec_t  *s;

    s = op->spec;

    if (op->step == 0) {
        if (gw_slurm_model_dir(op->provider, s->vendor_model, model_dir,
                               sizeof(model_dir))
            != 0)
        {
            gw_error_invalid(&op->err, "model", "unsupported_value",
                             "provider '%s' has no local model '%.64s'",
                             op->provider->name, s->vendor_model);
            return GW_STEP_ERROR;
        }

        if (s->task_type != GW_TASK_UNSET
            && s->task_type != GW_TASK_GENERATION)
        {
            gw_error_invalid(&op->err, "tuning.task_type",
                             "unsupported_value", "the local trainer tunes "
                             "for generation only");
            return GW_STEP_ERROR;
        }

        /* max_gpus=, else gpus=: a job may ask for fewer, not more */
        max = gw_slurm_param_int(op->provider, "max_gpus",
                                 gw_slurm_param_int(op->provider, "gpus",
                                                    0));

        if ((s->present & GW_F_GPUS) && s->gpus > max) {
            gw_error_invalid(&op->err, "tuning.gpus", "invalid_value",
                             "tuning.gpus must be at most %" PRId64 ": "
                             "provider '%s' gives a job at most %" PRId64
                             " GPU%s (%s)", max, op->provider->name, max,
                             max == 1 ? "" : "s",
                             gw_provider_param(op->provider, "max_gpus")
                             ? "max_gpus" : "gpus");
            return GW_STEP_ERROR;
        }

        if (gw_slurm_metadata_too_long(s)) {
            gw_error_invalid(&op->err, "metadata", "invalid_value",
                             "the local engine keeps metadata in the Slurm "
                             "job's comment: at most %d bytes of JSON",
                             GW_SLURM_METADATA_MAX);
            return GW_STEP_ERROR;
        }

        for (i = 0; i < s->ntrain + s->nvalid; i++) {
            ref = (i < s->ntrain) ? s->train[i].ref
                                  : s->valid[i - s->ntrain].ref;

            if (strncmp(ref, "local://datasets/", 17) != 0
                || ref[17] == '\0' || strstr(ref, "..") != NULL
                || strlen(gw_provider_param(op->provider, "dataset_root"))
                   + strlen(ref + 17) + 2 > GW_SLURM_PATH_MAX
                || strspn(ref + 17, "abcdefghijklmnopqrstuvwxyz"
                                    "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                    "0123456789/._-") != strlen(ref + 17))
            {
                gw_error_invalid(&op->err,
                                 gw_dataset_param(s, i >= s->ntrain,
                                                  i < s->ntrain
                                                  ? i : i - s->ntrain,
                                                  param, sizeof(param)),
                                 "invalid_value",
                                 "local datasets are \"local://datasets/"
                                 "<path under the dataset root>\"");
                return GW_STEP_ERROR;
            }
        }

        /*
         * "ftgw.<client>.<model>.<suffix or ft>-<ms>.<mac>": owner, model,
         * output
         */
        n = snprintf(op->job_name, sizeof(op->job_name),
                     GW_SLURM_NAME "%s.%s.%s-%" PRId64, op->client->name,
                     s->vendor_model, s->suffix ? s->suffix : "ft",
                     op->now_ms);

        if (n < 0 || (size_t) n >= sizeof(op->job_name)) {
            gw_error_invalid(&op->err, s->suffix ? "suffix" : "model",
                             "invalid_value", "the model name and suffix "
                             "are too long together for a job name");
            return GW_STEP_ERROR;
        }

        /* the model's dots would be read as the name's separators */
        for (i = sizeof(GW_SLURM_NAME) + strlen(op->client->name);
             i < sizeof(GW_SLURM_NAME) + strlen(op->client->name)
                 + strlen(s->vendor_model);
             i++)
        {
            if (op->job_name[i] == '.') {
                op->job_name[i] = '~';
            }
        }

        if (strspn(op->job_name, "abcdefghijklmnopqrstuvwxyz"
                                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                 "0123456789._~-") != strlen(op->job_name))
        {
            gw_error_invalid(&op->err, "model", "invalid_value",
                             "local model names are A-Z, a-z, 0-9, '.', "
                             "'_' and '-'");
            return GW_STEP_ERROR;
        }

        /* sealed: a job named so outside the gateway is nobody's */
        if (gw_owner_seal(op, op->job_name, sizeof(op->job_name)) != 0) {
            gw_error_invalid(&op->err, s->suffix ? "suffix" : "model",
                             "invalid_value", "the model name and suffix "
                             "are too long together for a job name");
            return GW_STEP_ERROR;
        }

        gw_join(output_dir, sizeof(output_dir),
                gw_provider_param(op->provider, "output_root"), "/",
                op->job_name);

        spec = gw_slurm_spec(op, model_dir, output_dir);
        if (spec == NULL) {
            gw_op_nomem(op);
            return GW_STEP_ERROR;
        }

        op->call.body = gw_slurm_submit_body(op, spec, output_dir);
        gw_free(spec);

        if (op->call.body == NULL) {
            gw_op_nomem(op);
            return GW_STEP_ERROR;
        }

        op->call.body_len = strlen(op->call.body);
        gw_slurm_call(op, "POST", "/job/submit");
        return GW_STEP_CALL;
    }

    if (op->step == 1) {
        root = gw_slurm_result(op);
        if (root == NULL) {
            return GW_STEP_ERROR;
        }

        id = gw_json_int(root, "job_id");
        gw_json_delete(root);

        if (id == GW_UNSET_INT || id <= 0) {
            gw_error_set(&op->err, 502, GW_TYPE_UPSTREAM, NULL,
                         "invalid_vendor_response", "provider '%s' "
                         "accepted the job without an id",
                         op->provider->name);
            return GW_STEP_ERROR;
        }

        gw_int_str(op->ref.vendor_id, id);
        gw_join(output_dir, sizeof(output_dir), "/job/", op->ref.vendor_id,
                NULL);
        gw_slurm_call(op, "GET", output_dir);
        return GW_STEP_CALL;
    }

    if (gw_slurm_retrieve(op) != GW_STEP_DONE) {
        return GW_STEP_ERROR;
    }

    op->job.training_file = gw_strdup(s->train[0].ref);

    if (op->job.metadata == NULL && s->metadata != NULL) {
        op->job.metadata = cJSON_Duplicate(s->metadata, 1);
    }

    if (s->nvalid > 0) {
        op->job.validation_file = gw_strdup(s->valid[0].ref);
    }

    op->job.n_epochs = s->n_epochs;
    op->job.batch_size = s->batch_size;
    op->job.learning_rate = s->learning_rate;
    op->job.seed = s->seed;

    return GW_STEP_DONE;
}


/* ---- retrieve, cancel, list, checkpoints ---------------------------- */


static gw_step_t
gw_slurm_retrieve(gw_op_t *op)
{
    char          path[300];
    cJSON        *root;
    const cJSON  *jobs, *j;

    if (op->step == 0) {
        gw_join(path, sizeof(path), "/job/", op->ref.vendor_id, NULL);
        gw_slurm_call(op, "GET", path);
        return GW_STEP_CALL;
    }

    root = gw_slurm_result(op);
    if (root == NULL) {
        return GW_STEP_ERROR;
    }

    jobs = gw_json_get(root, "jobs");
    j = cJSON_IsArray(jobs) ? cJSON_GetArrayItem(jobs, 0) : NULL;

    if (j == NULL) {
        gw_json_delete(root);
        gw_error_set(&op->err, 404, GW_TYPE_NOT_FOUND, "id", "job_not_found",
                     "Could not find the fine-tuning job");
        return GW_STEP_ERROR;
    }

    if (gw_slurm_job_to_job(op, j, &op->job) != 0) {
        gw_json_delete(root);
        return GW_STEP_ERROR;
    }

    gw_json_delete(root);
    return GW_STEP_DONE;
}


static gw_step_t
gw_slurm_cancel(gw_op_t *op)
{
    char    path[300];
    cJSON  *root;

    gw_join(path, sizeof(path), "/job/", op->ref.vendor_id, NULL);

    switch (op->step) {

    case 0:
        gw_slurm_call(op, "GET", path);
        return GW_STEP_CALL;

    case 1:
        if (gw_slurm_retrieve(op) != GW_STEP_DONE) {
            return GW_STEP_ERROR;
        }

        if (!gw_op_cancellable(op)) {
            return GW_STEP_ERROR;
        }

        gw_slurm_call(op, "DELETE", path);
        return GW_STEP_CALL;

    default:
        root = gw_slurm_result(op);
        if (root == NULL) {
            return GW_STEP_ERROR;
        }

        gw_json_delete(root);

        /* Slurm signals the job: it reports CANCELLED moments later */
        op->job.status = GW_STATUS_CANCELLED;
        op->job.finished_at = op->now_ms / 1000;
        op->job.estimated_finish = GW_UNSET_INT;

        return GW_STEP_DONE;
    }
}


static gw_step_t
gw_slurm_list(gw_op_t *op)
{
    cJSON        *root;
    gw_job_t      job;
    const char   *name;
    const cJSON  *jobs, *j;

    if (op->step == 0) {
        gw_slurm_call(op, "GET", "/jobs");
        return GW_STEP_CALL;
    }

    root = gw_slurm_result(op);
    if (root == NULL) {
        return GW_STEP_ERROR;
    }

    jobs = gw_json_get(root, "jobs");

    cJSON_ArrayForEach(j, jobs) {
        /* only the jobs this gateway submitted */
        name = gw_json_str(j, "name");
        if (name == NULL
            || strncmp(name, GW_SLURM_NAME, sizeof(GW_SLURM_NAME) - 1) != 0)
        {
            continue;
        }

        gw_job_init(&job);

        if (gw_slurm_job_to_job(op, j, &job) != 0
            || gw_op_push_job(op, &job) != GW_OK)
        {
            gw_job_free(&job);
            gw_json_delete(root);
            return GW_STEP_ERROR;
        }
    }

    /* slurmrestd answers every job in one page */
    op->exhausted = 1;
    op->page++;

    gw_json_delete(root);
    return GW_STEP_DONE;
}


/* one checkpoint per finished epoch: output_root/<name>/checkpoint-epoch-N */
static gw_step_t
gw_slurm_checkpoints(gw_op_t *op)
{
    return gw_slurm_retrieve(op);
}
