
/*
 * The core layer: the canonical create request, the job object, job ids,
 * errors, the vendor operation and registry, and the exchange engine that
 * steps a vendor's operation.  It uses base, never a vendor: vendors
 * reach it through gw_vendor_t.
 */


#ifndef _GW_CORE_H_INCLUDED_
#define _GW_CORE_H_INCLUDED_


#include <base/gw_base.h>


/* ---- errors -------------------------------------------------------- */

/* fills err; fmt is printf-style; the message never holds secrets */
void gw_error_set(gw_error_t *err, int http_status, const char *type,
    const char *param, const char *code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7)))
#endif
    ;
void gw_error_invalid(gw_error_t *err, const char *param, const char *code,
    const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
/* {"error":{...}} as a malloc'd string */
char *gw_error_json(const gw_error_t *err);
/* replaces every occurrence of the provider's secret params by "[redacted]" */
void gw_redact(const gw_provider_t *p, char *text, size_t size);
/* a vendor's text into out: redacted whole, then cut on a UTF-8 boundary */
void gw_vendor_text(const gw_provider_t *p, const char *src, char *out,
    size_t size);

/* OpenAI error types */
#define GW_TYPE_INVALID      "invalid_request_error"
#define GW_TYPE_AUTH         "authentication_error"
#define GW_TYPE_PERMISSION   "permission_error"
#define GW_TYPE_NOT_FOUND    "not_found_error"
#define GW_TYPE_CONFLICT     "conflict_error"
#define GW_TYPE_RATE_LIMIT   "rate_limit_error"
#define GW_TYPE_QUOTA        "insufficient_quota"   /* OpenAI's, a 429 */
#define GW_TYPE_API          "api_error"
#define GW_TYPE_UPSTREAM     "upstream_error"
#define GW_TYPE_TIMEOUT      "timeout_error"


/* ---- the canonical create request ------------------------------------ */

typedef enum {
    GW_TUNING_UNSET = 0,
    GW_TUNING_LORA,
    GW_TUNING_PROMPT,
    GW_TUNING_FULL
} gw_tuning_type_t;


typedef enum {
    GW_TASK_UNSET = 0,
    GW_TASK_GENERATION,
    GW_TASK_CLASSIFICATION,              /* vendor's own default flavour */
    GW_TASK_CLASSIFICATION_MULTICLASS,
    GW_TASK_CLASSIFICATION_MULTILABEL,
    GW_TASK_EMBEDDING_PAIR,
    GW_TASK_EMBEDDING_TRIPLET
} gw_task_type_t;


typedef enum {
    GW_SCHED_UNSET = 0,
    GW_SCHED_LINEAR,
    GW_SCHED_CONSTANT,
    GW_SCHED_COSINE
} gw_scheduler_t;


/*
 * Every optional field of the create request has a flag.  A vendor
 * declares the flags it honours; any other present field is refused
 * with a 400 naming its param (gw_spec_check_supported), before any
 * vendor call.
 */
typedef enum {
    GW_F_VALIDATION_FILE      = 1ULL << 0,
    GW_F_SUFFIX               = 1ULL << 1,
    GW_F_SEED                 = 1ULL << 2,
    GW_F_N_EPOCHS             = 1ULL << 3,
    GW_F_BATCH_SIZE           = 1ULL << 4,
    GW_F_LR_MULTIPLIER        = 1ULL << 5,
    GW_F_METADATA             = 1ULL << 6,
    GW_F_INTEGRATIONS         = 1ULL << 7,
    GW_F_LEARNING_RATE        = 1ULL << 8,
    GW_F_TUNING_TYPE          = 1ULL << 9,
    GW_F_TASK_TYPE            = 1ULL << 10,
    GW_F_LORA_RANK            = 1ULL << 11,
    GW_F_LORA_ALPHA           = 1ULL << 12,
    GW_F_LORA_DROPOUT         = 1ULL << 13,
    GW_F_LORA_INIT            = 1ULL << 14,
    GW_F_LORA_TYPE            = 1ULL << 15,
    GW_F_LORA_TARGET_MODULES  = 1ULL << 16,
    GW_F_VIRTUAL_TOKENS       = 1ULL << 17,
    GW_F_SCHEDULER            = 1ULL << 18,
    GW_F_SCHED_MIN_LR         = 1ULL << 19,
    GW_F_SCHED_WARMUP         = 1ULL << 20,
    GW_F_OPTIMIZER            = 1ULL << 21,  /* beta1/2, eps, decay */
    GW_F_N_SAMPLES            = 1ULL << 22,
    GW_F_MAX_SEQ_LEN          = 1ULL << 23,
    GW_F_DATASET_WEIGHTS      = 1ULL << 24,
    GW_F_MULTI_DATASETS       = 1ULL << 25,
    GW_F_VALIDATION_SPLIT     = 1ULL << 26,
    GW_F_CONTINUE_FROM        = 1ULL << 27,
    GW_F_DESCRIPTION          = 1ULL << 28,
    GW_F_LABELS               = 1ULL << 29,
    GW_F_GPUS                 = 1ULL << 30
} gw_field_t;


typedef struct {
    char               *ref;             /* "s3://bucket/path", ... */
    double              weight;          /* NaN = unset */
    char               *file_id;         /* "file-…" staged as ref, or
                                            NULL */
    int64_t             records;         /* the staged dataset's rows (a
                                            vendor's n_samples an epoch),
                                            or 0: unknown */
} gw_dataset_t;


typedef struct {
    char               *route;           /* model without '/': a route */
    char               *provider;        /* from model "provider/vendor" */
    char               *vendor_model;
    const char         *learning_rate_param;  /* whence learning_rate */
    int                 drop_unsupported;     /* the route's choice */
    gw_dataset_t        train[GW_MAX_DATASETS];
    size_t              ntrain;
    gw_dataset_t        valid[GW_MAX_DATASETS];
    size_t              nvalid;
    char               *suffix;          /* job name */
    int64_t             seed;
    int64_t             n_epochs;
    int64_t             batch_size;
    double              lr_multiplier;
    double              learning_rate;   /* absolute */
    gw_tuning_type_t    tuning_type;
    gw_task_type_t      task_type;
    int64_t             lora_rank;
    int64_t             lora_alpha;
    double              lora_dropout;
    char               *lora_init;
    char               *lora_type;
    char              **lora_target_modules;
    size_t              nlora_target_modules;
    int64_t             virtual_tokens;
    gw_scheduler_t      scheduler;
    double              min_lr;
    double              warmup_ratio;
    double              beta1;
    double              beta2;
    double              eps;
    double              weight_decay;
    int64_t             n_samples;
    int64_t             max_seq_len;
    double              validation_split;
    int64_t             gpus;            /* GPUs per job (local engine) */
    int                 train_listed;    /* from tuning.training_datasets */
    int                 valid_listed;
    char               *continue_from;   /* canonical job id */
    char               *description;
    cJSON              *labels;          /* object of strings, or NULL */
    cJSON              *metadata;        /* object of strings, or NULL */
    uint64_t            present;         /* gw_field_t flags */
} gw_job_spec_t;


/*
 * Parses and validates a create body into spec (generic rules: JSON,
 * types, unknown fields, ranges every vendor shares, control characters).
 * On GW_ERROR err names the param.  gw_spec_free releases spec's fields.
 */
gw_rc_t gw_spec_parse(const char *body, size_t len, gw_job_spec_t *spec,
    gw_error_t *err);
void gw_spec_free(gw_job_spec_t *spec);
/* 400 for the first present field not in supported, naming its param */
gw_rc_t gw_spec_check_supported(const gw_job_spec_t *spec,
    uint64_t supported, const gw_provider_t *p, gw_error_t *err);
/*
 * A route's unsupported=drop: the present fields not in supported are
 * dropped (a vendor reads only the fields its flags name), and their
 * params written to names, ", "-separated.  The number dropped.
 */
size_t gw_spec_drop_unsupported(gw_job_spec_t *spec, uint64_t supported,
    char *names, size_t size);
const char *gw_field_param(gw_field_t f);


/* a dataset reference "scheme://bucket/path" split in place (malloc'd) */
typedef struct {
    char               *scheme;
    char               *bucket;
    char               *path;
} gw_dataset_ref_t;

gw_rc_t gw_dataset_ref_parse(const char *ref, gw_dataset_ref_t *out);
/* "training_file", or "tuning.training_datasets[i].ref" (buf) */
const char *gw_dataset_param(const gw_job_spec_t *spec, int validation,
    size_t i, char *buf, size_t size);
void gw_dataset_ref_free(gw_dataset_ref_t *r);
/*
 * "file-..." references of the Files API (gw_files.c): checked against the
 * client's store and staged for a provider with a dataset_root, whose
 * references they become; any other provider gets a 400 naming the param
 */
gw_rc_t gw_files_resolve(const gw_gateway_t *gw, const gw_client_t *client,
    const gw_provider_t *p, gw_job_spec_t *spec, gw_error_t *err);


/* ---- the canonical job --------------------------------------------- */

typedef struct {
    char               *vendor_id;       /* CLOVA task id, ... */
    char               *vendor_id2;      /* second id where a vendor has one */
    int64_t             created_at;      /* unix seconds */
    gw_status_t         status;
    char               *vendor_status;   /* raw */
    char               *vendor_model;
    char               *name;            /* vendor job name */
    char               *owner;           /* client tag from the name */
    int                 owner_sealed;    /* the tag's MAC holds: made by
                                            this gateway (gw_owner_mac) */
    char               *fine_tuned_model;
    char               *training_file;
    char               *validation_file;
    int64_t             finished_at;     /* GW_UNSET_INT = null */
    int64_t             estimated_finish;
    int64_t             trained_tokens;
    int64_t             n_epochs;
    int64_t             batch_size;
    double              learning_rate;
    int64_t             seed;
    /* progress, GW_UNSET_INT / NaN = unknown */
    int64_t             step;
    int64_t             total_steps;
    int64_t             epoch;
    int64_t             total_epochs;
    double              train_loss;
    double              percent;         /* 0..100, where a vendor says */
    int64_t             data_rows;
    int64_t             dataset_tokens;
    double              tokens_per_second;   /* training throughput */
    double              mfu;             /* model FLOPs utilisation, 0..1 */
    int64_t             updated_at;
    /* the job's error, for failed jobs */
    int                 has_error;
    char                error_code[GW_NAME_MAX];
    char                error_message[512];
    /* the vendor's own failure code, kept raw */
    char               *vendor_error_code;
    /* checkpoints: how many, and their path without the number */
    int64_t             checkpoints;
    char               *checkpoint_prefix;
    cJSON              *vendor_extra;    /* extra raw fields, or NULL */
    cJSON              *metadata;        /* OpenAI's, where the vendor
                                            keeps it; else NULL (null) */
} gw_job_t;

void gw_job_init(gw_job_t *job);
/*
 * Every string a vendor put into job (its raw status, names, codes,
 * messages, metadata and the whole vendor object, keys and values),
 * with the provider's secrets redacted, in place: no vendor text reaches
 * a client unredacted.  -1 when out of memory.
 */
int gw_job_redact(const gw_provider_t *p, gw_job_t *job);
/*
 * 1 when a vendor id of job holds one of p's secrets: an id is the job's
 * handle (it goes into the gateway's job id), so it is never redacted;
 * such a job is refused instead (502, and left out of lists)
 */
int gw_job_id_holds_secret(const gw_provider_t *p, const gw_job_t *job);
/*
 * Owner tags.  A job's vendor-side tag names its client and is sealed
 * with a MAC that only the gateway's secret makes: hex of
 * HMAC-SHA256(secret, "owner" 0 client 0 unique)[0..6), where unique is
 * the part of the job's name or tag that the vendor keeps with it.  A
 * job whose tag names a client but whose seal does not hold (planted
 * outside the gateway, or made by an earlier version) is never listed;
 * its gateway job id, which only the gateway mints, still reaches it.
 * New seals are made with the first key of op->owner_keys; a seal holds
 * when any of them made it.
 */
#define GW_OWNER_MAC_LEN  12

struct gw_op_s;

void gw_owner_mac(const struct gw_op_s *op, const char *client,
    size_t client_len, const char *unique, size_t unique_len, char *out);
/* sets job's owner to client, sealed when mac is client's over unique */
void gw_job_owner(gw_job_t *job, const struct gw_op_s *op,
    const char *client, size_t client_len, const char *unique,
    size_t unique_len, const char *mac, size_t mac_len);
/*
 * "<client>.<rest>.<mac>", a name sealed whole (CLOVA tasks): the owner
 * from a vendor job name, unless a vendor set it
 */
void gw_job_set_owner(const struct gw_op_s *op, gw_job_t *job);
/* appends ".<mac>" of (op's client, name) to name: 0, or -1 if too long */
int gw_owner_seal(const struct gw_op_s *op, char *name, size_t size);
void gw_job_free(gw_job_t *job);

const char *gw_status_name(gw_status_t s);

/*
 * The client-facing fine_tuning.job object.  id is the canonical job id,
 * provider the routing name; "model" becomes "<provider>/<vendor_model>".
 */
char *gw_job_print(const gw_job_t *job, const char *id,
    const gw_provider_t *p, const char *client, size_t *len);

/* checkpoints of a job (newest first), from checkpoints and prefix */
cJSON *gw_job_checkpoints_json(const gw_job_t *job, const char *id,
    const char *after, int64_t limit);

/* events synthesised from a job (newest first, as OpenAI lists them) */
cJSON *gw_job_events_json(const gw_job_t *job, const char *id,
    const char *after, int64_t limit);

/* the fine_tuning.job object (gw_job_print() into a writer) */
void gw_job_write(gw_out_t *o, const gw_job_t *job, const char *id,
    const gw_provider_t *p, const char *client);


/* ---- job ids ------------------------------------------------------- */

/*
 * "ftjob-" + base64url(payload || HMAC-SHA256(secret, client || payload)
 * truncated to 16 bytes).  payload: version, created_at, provider name,
 * vendor ids.  A tampered id, or another client's, fails to decode.
 */
typedef struct {
    char                provider[GW_NAME_MAX];
    char                vendor_id[256];
    char                vendor_id2[256];
    int64_t             created_at;
} gw_job_ref_t;

#define GW_JOB_ID_MAX  1024

gw_rc_t gw_job_id_encode(const gw_job_ref_t *ref, const char *client,
    const unsigned char *secret, size_t secret_len, char *out, size_t size);
gw_rc_t gw_job_id_decode(const char *id, size_t len, const char *client,
    const unsigned char *secret, size_t secret_len, gw_job_ref_t *ref);
/*
 * gw_job_id_decode() with each of keys in turn, so that ids signed with
 * a key that rotation moved down the list still decode
 */
gw_rc_t gw_job_id_verify(const char *id, size_t len, const char *client,
    const gw_id_key_t *keys, size_t nkeys, gw_job_ref_t *ref);


/* ---- vendors ------------------------------------------------------- */

typedef enum {
    GW_OP_CREATE = 0,
    GW_OP_RETRIEVE,
    GW_OP_CANCEL,
    GW_OP_LIST,
    GW_OP_EVENTS,
    GW_OP_CHECKPOINTS,
    GW_OP_STAGE,            /* an uploaded file, put where the vendor reads
                               datasets (gw_stage.c) */
    GW_OP_UNSTAGE           /* what was staged of a deleted file, deleted
                               (op->stage.ref) */
} gw_op_kind_t;


typedef enum {
    GW_STEP_CALL = 1,       /* op->call filled: send it, then step again */
    GW_STEP_DONE = 0,       /* op->job (or op->jobs for list) filled */
    GW_STEP_ERROR = -1      /* op->err filled */
} gw_step_t;


/*
 * One vendor operation in flight.  A vendor keeps what it must remember
 * between its calls in its own state struct, op->state, which the
 * exchange allocates zeroed (gw_vendor_t.state_size) from the request's
 * arena.
 */
typedef struct gw_op_s {
    gw_op_kind_t                 kind;
    const gw_provider_t         *provider;
    const gw_client_t           *client;
    const gw_id_key_t           *owner_keys;    /* [0] seals owner tags,
                                                   all verify seals */
    size_t                       nowner_keys;
    const gw_cache_t            *cache;
    const char                  *request_id;
    int64_t                      now_ms;
    int                          step;          /* 0 on the first call */
    const gw_vendor_response_t  *resp;          /* NULL on step 0 */
    gw_call_t                    call;
    gw_error_t                   err;

    const gw_job_spec_t         *spec;          /* create */
    char                         job_name[GW_NAME_MAX * 2];  /* create */
    gw_job_ref_t                 continue_ref;  /* tuning.continue_from */
    int                          has_continue;
    gw_job_ref_t                 ref;           /* retrieve, cancel */
    gw_job_t                     job;           /* result */

    /* list: the vendor appends a page of jobs and says if more exist */
    int64_t                      page;          /* vendor page, 0-based */
    int64_t                      page_size;
    gw_job_t                    *jobs;
    size_t                       njobs;
    int                          exhausted;

    /* stage: the converted file, and what the create is to name */
    struct {
        const char              *path;          /* the converted file */
        int64_t                  size;
        char                     sha256[65];    /* hex, of the file */
        char                     object[GW_NAME_MAX * 2];
                                                /* "<client>-<key>.<ext>" */
        int64_t                  records;       /* rows written */
        const char              *content_type;
        char                     ref[512];      /* out: "s3://b/<object>" */
    } stage;

    void                        *state;         /* the vendor's, or NULL */
} gw_op_t;


/* a provider parameter a vendor knows; secrets must come from files */
typedef struct {
    const char   *name;
    int           secret;
} gw_param_spec_t;


struct gw_vendor_s {
    const char   *kind;
    uint64_t      supported;        /* gw_field_t flags honoured */
    const gw_param_spec_t  *params; /* NULL-terminated */
    gw_rc_t     (*check_config)(const gw_provider_t *p, char *err,
                                size_t len);
    size_t        state_size;       /* of the vendor's op->state, or 0 */
    /* steps an op; NULL for ops the vendor lacks (answered 404/501) */
    gw_step_t   (*ops[GW_OP_UNSTAGE + 1])(gw_op_t *op);
    /* the i-th model a provider offers, into out: 0 past the last; NULL
     * for vendors that keep no list (GET /v1/models shows routes only) */
    int         (*model)(const gw_provider_t *p, size_t i, char *out,
                         size_t size);
    /* the dataset format uploaded files are converted to before
     * ops[GW_OP_STAGE] puts them, or NULL (only data the vendor holds) */
    const struct gw_stage_format_s  *stage_format;
};


/* ---- uploaded files staged to a vendor (gw_stage.c) ----------------- */

/*
 * One example of an OpenAI chat file, as turns: the user messages before
 * an assistant message, joined by "\n", and that message.  Messages after
 * the last assistant message train nothing and are left out.
 */
typedef struct {
    const char         *user;
    const char         *assistant;
    int                 weight;          /* the assistant's: 0 or 1 */
} gw_turn_t;


typedef struct {
    int64_t             index;           /* 0-based, in the file */
    int64_t             line;            /* 1-based, for errors */
    const char         *system;          /* "" when none */
    gw_turn_t          *turns;
    size_t              nturns;
    const cJSON        *messages;        /* the example's, as written */
} gw_convo_t;


/*
 * A vendor's dataset format.  emit() appends the records of one
 * conversation to o and returns how many, or -1 with why (a reason the
 * data cannot be expressed); it never writes a record the vendor would
 * refuse.  The limits are the vendor's documented ones; 0 is none.
 */
typedef struct gw_stage_format_s {
    const char         *vendor;          /* "CLOVA Studio", for messages */
    const char         *ext;             /* of the object: "csv" */
    const char         *content_type;
    const char         *header;          /* written first, or NULL */
    int64_t             min_examples;    /* conversations in the file */
    const char         *min_examples_reason;   /* the vendor's words */
    int64_t             min_records;     /* records written */
    const char         *min_records_reason;
    size_t              max_turns;       /* per conversation */
    int                 weight_zero;     /* 1: an untrained reply can stay
                                            as context */
    int64_t           (*emit)(const gw_convo_t *c, gw_out_t *o, char *why,
                              size_t len);
    const char         *needs_param;     /* without it, a provider stages
                                            nothing: its storage */
} gw_stage_format_t;


/* hex SHA-256 of no bytes, the payload hash of a body-less call */
#define GW_SHA256_EMPTY                                                     \
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* CSV: a field, quoted when it must be (RFC 4180) */
void gw_out_csv(gw_out_t *o, const char *s);

typedef struct gw_convert_s  gw_convert_t;

/*
 * Converts the chat file src into fmt at dst, in steps of about budget
 * input bytes, so that the caller returns to its event loop between
 * them.  step: 1 more to do, 0 done, -1 failed (err: a 400 naming param
 * when the data cannot be expressed, else a 503).  Memory: one line and
 * its records.
 */
gw_convert_t *gw_convert_open(const gw_stage_format_t *fmt, const char *src,
    const char *dst, const char *param, gw_error_t *err);
int gw_convert_step(gw_convert_t *cv, size_t budget, gw_error_t *err);
int64_t gw_convert_size(const gw_convert_t *cv);
int64_t gw_convert_records(const gw_convert_t *cv);
/* hex SHA-256 of what was written; out needs 65 bytes */
void gw_convert_sha256(const gw_convert_t *cv, char *out);
void gw_convert_close(gw_convert_t *cv);

/* the turns of one example (a parsed chat line): 0, or -1 with why */
int gw_convo_read(const gw_stage_format_t *fmt, const cJSON *example,
    int64_t index, gw_convo_t *c, char *why, size_t len);
void gw_convo_free(gw_convo_t *c);

/*
 * The staging of a create's uploaded files.  gw_stage_plan() looks up
 * each "file-..." dataset: one staged before for p is named at once
 * (spec's ref rewritten); *out then holds the rest, or is NULL when
 * nothing is left to stage.  gw_stage_work() converts the next file in
 * a bounded step (GW_STAGE_AGAIN), or fills op->stage for the vendor's
 * GW_OP_STAGE (GW_STAGE_PUT); gw_stage_put_done() records what op
 * staged and names it in spec.
 */
typedef struct gw_stager_s  gw_stager_t;

typedef enum {
    GW_STAGE_ERROR = -1,
    GW_STAGE_DONE = 0,
    GW_STAGE_AGAIN,
    GW_STAGE_PUT
} gw_stage_rc_t;

gw_rc_t gw_stage_plan(const gw_gateway_t *gw, const gw_client_t *client,
    const gw_provider_t *p, gw_job_spec_t *spec, gw_stager_t **out,
    gw_error_t *err);
gw_stage_rc_t gw_stage_work(gw_stager_t *st, gw_op_t *op, gw_error_t *err);
gw_rc_t gw_stage_put_done(gw_stager_t *st, const gw_op_t *op,
    gw_error_t *err);
void gw_stage_free(gw_stager_t *st);

/*
 * The staged records of a file: "<key>.staged-<provider>" beside it, one
 * line "<ref> <records>"
 */
int gw_store_staged_get(const char *root, const char *client,
    const char *key, const char *provider, char *ref, size_t size,
    int64_t *records);
int gw_store_staged_put(const char *root, const char *client,
    const char *key, const char *provider, const char *ref,
    int64_t records);


extern const gw_vendor_t  gw_vendor_clova;
extern const gw_vendor_t  gw_vendor_qianfan;
extern const gw_vendor_t  gw_vendor_yandex;
extern const gw_vendor_t  gw_vendor_slurm;

/* appends a job to op->jobs; takes ownership of job's fields */
gw_rc_t gw_op_push_job(gw_op_t *op, gw_job_t *job);
/* frees op's call body, job and jobs */
void gw_op_reset(gw_op_t *op);
/* the job read back is the caller's (else op->err is a 404): 1 or 0 */
int gw_op_owned(gw_op_t *op);
/* owned and still queued or running (else a 404 or a 409): 1 or 0 */
int gw_op_cancellable(gw_op_t *op);


/* ---- model routes (gw_routes.c) ------------------------------------ */

/*
 * The provider that serves spec's model for client c: a route's (spec's
 * provider and vendor model are then filled in, and the route's defaults
 * applied), or a provider named directly; NULL with err set (404
 * model_not_found, 403 model_not_allowed, 400 unknown_provider).
 */
const gw_provider_t *gw_route_resolve(const gw_gateway_t *gw,
    const gw_client_t *c, gw_job_spec_t *spec, gw_error_t *err);
int gw_route_allows(const gw_gateway_t *gw, const gw_model_route_t *r,
    const gw_client_t *c);
int gw_provider_allows(const gw_gateway_t *gw, const gw_provider_t *p,
    const gw_client_t *c);
/* the model list (id NULL) or one model the client may tune, or NULL */
cJSON *gw_models_json(const gw_gateway_t *gw, const gw_client_t *c,
    const char *id);
const gw_client_t *gw_client_by_name(const gw_gateway_t *gw,
    const char *name);
/*
 * Whether root ("/fine_tuning/jobs", "/files", "/models") is the API
 * route of path: the first of the three that stands in it as a whole
 * segment; the location before it is the operator's ("/v1").  At
 * *after, where the route's rest begins.
 */
int gw_api_root(const char *path, size_t len, const char *root,
    size_t *after);


/* ---- a vendor's answer, classified (gw_answer.c) ------------------- */

typedef struct {
    int                 http;            /* what the client gets */
    const char         *type;
} gw_answer_class_t;

/*
 * The client's status and type for a vendor's HTTP status, for an error
 * the vendor's own table does not name: 401/403 502, 404, 409, 429, 503
 * and 504 kept, anything else 502.
 */
gw_answer_class_t gw_answer_class(int vendor_status);
/* maps a transport failure of resp into op->err; returns 1 if it did */
int gw_op_transport_error(gw_op_t *op);
/* op->err for a body that is not the vendor's (what: "Qianfan JSON") */
void gw_op_unreadable(gw_op_t *op, const char *what);
/*
 * op->err for a storage's refusal of a staged dataset (store: "Object
 * Storage"; action: "upload" or "deletion"; code: the storage's own error
 * code, or NULL): overload, limits and timeouts as everywhere, anything
 * else 502 dataset_upload_failed or dataset_delete_failed
 */
void gw_op_storage_error(gw_op_t *op, const char *store, const char *action,
    const char *code);
/* op->err: 503 out_of_memory */
void gw_op_nomem(gw_op_t *op);
/*
 * A call's path (a, b and c joined; NULL parts are empty), query and
 * headers, copied into the exchange's arena.  A copy that fails, or a
 * header beyond GW_MAX_HEADERS, marks the call failed: the exchange
 * answers 503 out_of_memory instead of sending it.
 */
void gw_call_path(gw_call_t *call, const char *a, const char *b,
    const char *c);
void gw_call_query(gw_call_t *call, const char *query);
void gw_call_header(gw_call_t *call, const char *name, const char *value);
/* frees the call's body and copies; an empty call */
void gw_call_reset(gw_call_t *call);



#endif /* _GW_CORE_H_INCLUDED_ */
