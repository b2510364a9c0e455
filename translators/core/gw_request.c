
/*
 * The canonical create request: the OpenAI fine-tuning create body plus
 * the "tuning" extension object, parsed into a gw_job_spec_t.
 *
 * Every JSON object of the request is described by a table of its keys
 * (gw_key_t): the key, its handler (that is, its type), where its value
 * goes, its flag, its range and options.  One walker, gw_spec_object(),
 * drives every table, so the rules of each field can be read in one place
 * and errors come in table order whatever the order of the client's keys.
 */


#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <core/gw_core.h>


#define GW_SPEC_KEYS_MAX   24          /* the largest key table */
#define GW_SPEC_PARAM_MAX  (GW_NAME_MAX * 2)
#define GW_SPEC_ECHO_MAX   64          /* bytes of client input echoed */
#define GW_SPEC_ECHO_SIZE  (GW_SPEC_ECHO_MAX + sizeof("..."))
#define GW_SPEC_TEXT_MAX   256         /* "must be ..." phrases */
/* 2^53: the integers that a JSON number holds exactly end here */
#define GW_SPEC_2_53       9007199254740992.0
#define GW_SPEC_INT_MAX    (GW_SPEC_2_53 - 1)
#define GW_SPEC_NOWHERE    ((size_t) -1)  /* validated, not stored */

#define gw_nelts(a)        (sizeof(a) / sizeof((a)[0]))
#define GW_SPEC(f)         offsetof(gw_job_spec_t, f)
#define GW_CTX(f)          offsetof(gw_parse_t, f)
#define GW_DS(f)           offsetof(gw_dataset_t, f)

/* gw_key_t.opts */
#define GW_K_REQUIRED      0x01
#define GW_K_NULL          0x02        /* null means absent */
#define GW_K_AUTO          0x04        /* "auto" means absent */
#define GW_K_GT            0x08        /* the lower bound is excluded */
#define GW_K_LT            0x10        /* the upper bound is excluded */


typedef struct gw_key_s     gw_key_t;
typedef struct gw_object_s  gw_object_t;


typedef struct {
    gw_job_spec_t        spec;
    /*
     * method.supervised.hyperparameters go here first, so that they can
     * be compared with the top-level hyperparameters at the end
     */
    gw_job_spec_t        method_hyper;
    gw_error_t          *err;
    unsigned             lora:1;          /* "tuning.lora" was given */
    unsigned             prompt:1;        /* "tuning.prompt_tuning" */
} gw_parse_t;


/* field: where the value goes (base + offset), NULL if nowhere */
typedef gw_rc_t (*gw_key_pt)(gw_parse_t *ctx, const gw_key_t *k,
    const cJSON *v, void *field, const char *param);


struct gw_key_s {
    const char          *name;
    gw_key_pt            handler;
    /* from the object's base; for an object, the base of its keys */
    size_t               offset;
    uint64_t             flag;            /* set in present with a value */
    unsigned             opts;            /* GW_K_* */
    double               min;             /* a number's range, a string's */
    double               max;             /*   length, an array's size */
    const void          *data;            /* see each handler */
};


struct gw_object_s {
    const gw_key_t      *keys;
    size_t               nkeys;
    /* checks across keys, after all of them */
    gw_rc_t            (*done)(gw_parse_t *ctx);
};


typedef struct {
    const char          *name;
    int                  value;
    int                  unsupported;     /* known, but not by us */
} gw_enum_t;


typedef struct {
    /* allowed besides ASCII letters and digits; NULL: UTF-8 text */
    const char          *extra;
    int                  space;           /* text: spaces allowed */
    const char          *prefix;          /* required prefix, or NULL */
    const char          *what;            /* for messages */
} gw_charset_t;


/* objects of string values: metadata, tuning.labels */
typedef struct {
    int                (*key_ok)(const char *key);
    const char          *key_what;        /* for messages */
    gw_key_t             value;           /* the rule for every value */
} gw_pairs_t;


static gw_rc_t gw_spec_json(const char *body, size_t len, cJSON **root,
    gw_error_t *err);
static int gw_spec_has_nul(const char *p, size_t len);
static void gw_spec_item_param(char *buf, size_t size, const char *param,
    size_t i);
static gw_rc_t gw_spec_object(gw_parse_t *ctx, const cJSON *obj,
    const gw_object_t *o, void *base, const char *path);
static size_t gw_spec_key_index(const gw_object_t *o, const char *name);
static gw_rc_t gw_spec_value(gw_parse_t *ctx, const gw_key_t *k,
    const cJSON *v, void *base, const char *param);
static gw_rc_t gw_spec_duplicate(gw_parse_t *ctx, const char *path,
    const char *name);

static gw_rc_t gw_spec_int(gw_parse_t *ctx, const gw_key_t *k,
    const cJSON *v, void *field, const char *param);
static gw_rc_t gw_spec_num(gw_parse_t *ctx, const gw_key_t *k,
    const cJSON *v, void *field, const char *param);
static gw_rc_t gw_spec_enum(gw_parse_t *ctx, const gw_key_t *k,
    const cJSON *v, void *field, const char *param);
static gw_rc_t gw_spec_str(gw_parse_t *ctx, const gw_key_t *k,
    const cJSON *v, void *field, const char *param);
static gw_rc_t gw_spec_obj(gw_parse_t *ctx, const gw_key_t *k,
    const cJSON *v, void *field, const char *param);
static gw_rc_t gw_spec_model(gw_parse_t *ctx, const gw_key_t *k,
    const cJSON *v, void *field, const char *param);
static gw_rc_t gw_spec_file(gw_parse_t *ctx, const gw_key_t *k,
    const cJSON *v, void *field, const char *param);
static gw_rc_t gw_spec_datasets(gw_parse_t *ctx, const gw_key_t *k,
    const cJSON *v, void *field, const char *param);
static gw_rc_t gw_spec_modules(gw_parse_t *ctx, const gw_key_t *k,
    const cJSON *v, void *field, const char *param);
static gw_rc_t gw_spec_pairs(gw_parse_t *ctx, const gw_key_t *k,
    const cJSON *v, void *field, const char *param);
static gw_rc_t gw_spec_pair(gw_parse_t *ctx, const gw_pairs_t *pr,
    const cJSON *obj, const cJSON *c, const char *param);
static gw_rc_t gw_spec_integrations(gw_parse_t *ctx, const gw_key_t *k,
    const cJSON *v, void *field, const char *param);

static gw_rc_t gw_spec_top_done(gw_parse_t *ctx);
static gw_rc_t gw_spec_merge_hyper(gw_parse_t *ctx);
static int gw_spec_merge_one(const gw_key_t *k, void *dst,
    const void *src);
static gw_rc_t gw_spec_tuning_done(gw_parse_t *ctx);
static gw_rc_t gw_spec_imply(gw_parse_t *ctx, gw_tuning_type_t t,
    const char *param, const char *name);
static gw_rc_t gw_spec_lora_done(gw_parse_t *ctx);
static gw_rc_t gw_spec_prompt_done(gw_parse_t *ctx);

static gw_rc_t gw_spec_int_fail(gw_parse_t *ctx, const gw_key_t *k,
    const char *param, const char *code);
static gw_rc_t gw_spec_num_fail(gw_parse_t *ctx, const gw_key_t *k,
    const char *param, const char *code);
static gw_rc_t gw_spec_str_fail(gw_parse_t *ctx, const gw_key_t *k,
    const char *param, const char *code);
static gw_rc_t gw_spec_enum_fail(gw_parse_t *ctx, const gw_key_t *k,
    const char *param, const char *code, const char *got);
static const char *gw_spec_nonauto_code(const gw_key_t *k,
    const cJSON *v);
static int gw_spec_is_auto(const gw_key_t *k, const cJSON *v);
static void gw_spec_range(const gw_key_t *k, char *buf, size_t size);
static void gw_spec_fmt(double d, char *buf, size_t size);
static int gw_spec_integral(double d);
static size_t gw_spec_size(const cJSON *v, size_t stop);
static size_t *gw_spec_count(gw_parse_t *ctx, const gw_dataset_t *list);
static int gw_spec_repeated(const cJSON *obj, const cJSON *c);
static int gw_spec_has_control(const cJSON *v);

static int gw_spec_text_ok(const gw_charset_t *cs, const char *s,
    size_t len, double min, double max);
static size_t gw_spec_char_len(const gw_charset_t *cs,
    const unsigned char *p, size_t left);
static size_t gw_utf8_len(const unsigned char *p, size_t left);
static int gw_spec_control(const char *s);
static int gw_spec_meta_key_ok(const char *key);
static int gw_spec_label_key_ok(const char *key);
static void gw_spec_echo(const char *s, char *buf);
static void gw_spec_join(char *buf, size_t size, const char *path,
    const char *name);
static void gw_spec_path(char *buf, size_t size, const char *path,
    const char *name);

static void gw_spec_init(gw_job_spec_t *spec);

static int gw_ref_scheme_ok(const char *s, size_t len);
static int gw_ref_part_ok(const char *s, size_t len);
static int gw_ref_path_ok(const char *s);


/* ---- the tables -------------------------------------------------------- */


static const gw_charset_t  gw_cs_name = {
    "_-", 0, NULL, "characters of [A-Za-z0-9_-]"
};

static const gw_charset_t  gw_cs_dotted = {
    "._-", 0, NULL, "characters of [A-Za-z0-9._-]"
};

static const gw_charset_t  gw_cs_model = {
    "._:@-", 0, NULL, "characters of [A-Za-z0-9._:@-]"
};

static const gw_charset_t  gw_cs_job = {
    "_-", 0, "ftjob-", "characters of [A-Za-z0-9_-] starting with \"ftjob-\""
};

static const gw_charset_t  gw_cs_text = {
    NULL, 1, NULL, "UTF-8 characters without control, bidirectional or "
    "line separator characters"
};

/* dataset references: vendors and the trainer split them on spaces */
static const gw_charset_t  gw_cs_ref = {
    NULL, 0, NULL, "UTF-8 characters without spaces, control, "
    "bidirectional or line separator characters"
};


static const gw_enum_t  gw_method_types[] = {
    { "supervised", 0, 0 },
    { "dpo", 0, 1 },
    { "reinforcement", 0, 1 },
    { NULL, 0, 0 }
};

static const gw_enum_t  gw_tuning_types[] = {
    { "lora", GW_TUNING_LORA, 0 },
    { "prompt_tuning", GW_TUNING_PROMPT, 0 },
    { "full", GW_TUNING_FULL, 0 },
    { NULL, 0, 0 }
};

static const gw_enum_t  gw_task_types[] = {
    { "generation", GW_TASK_GENERATION, 0 },
    { "classification", GW_TASK_CLASSIFICATION, 0 },
    { "classification_multiclass", GW_TASK_CLASSIFICATION_MULTICLASS, 0 },
    { "classification_multilabel", GW_TASK_CLASSIFICATION_MULTILABEL, 0 },
    { "embedding_pair", GW_TASK_EMBEDDING_PAIR, 0 },
    { "embedding_triplet", GW_TASK_EMBEDDING_TRIPLET, 0 },
    { NULL, 0, 0 }
};

static const gw_enum_t  gw_schedulers[] = {
    { "linear", GW_SCHED_LINEAR, 0 },
    { "constant", GW_SCHED_CONSTANT, 0 },
    { "cosine", GW_SCHED_COSINE, 0 },
    { NULL, 0, 0 }
};

static const gw_enum_t  gw_optimizers[] = {
    { "adamw", 0, 0 },
    { NULL, 0, 0 }
};


/*
 * The key tables.  Columns: key, handler (the type), offset of the value
 * from the object's base, flag, options, min, max (a number's range, a
 * string's length in characters, an array's size), handler data.
 * The order of a table is the order in which its errors are reported.
 */

/* hyperparameters, and method.supervised.hyperparameters */
static const gw_key_t  gw_hyper_keys[] = {
    { "n_epochs", gw_spec_int, GW_SPEC(n_epochs), GW_F_N_EPOCHS,
      GW_K_AUTO, 1, 1000, NULL },
    { "batch_size", gw_spec_int, GW_SPEC(batch_size), GW_F_BATCH_SIZE,
      GW_K_AUTO, 1, 65536, NULL },
    { "learning_rate_multiplier", gw_spec_num, GW_SPEC(lr_multiplier),
      GW_F_LR_MULTIPLIER, GW_K_AUTO | GW_K_GT, 0, 100, NULL }
};

static const gw_object_t  gw_hyper_object = {
    gw_hyper_keys, gw_nelts(gw_hyper_keys), NULL
};


/* method.supervised: its hyperparameters wait in method_hyper */
static const gw_key_t  gw_supervised_keys[] = {
    { "hyperparameters", gw_spec_obj, GW_CTX(method_hyper), 0,
      GW_K_NULL, 0, 0, &gw_hyper_object }
};

static const gw_object_t  gw_supervised_object = {
    gw_supervised_keys, gw_nelts(gw_supervised_keys), NULL
};


/* method: base is the gw_parse_t */
static const gw_key_t  gw_method_keys[] = {
    { "type", gw_spec_enum, GW_SPEC_NOWHERE, 0,
      GW_K_REQUIRED, 0, 0, gw_method_types },
    { "supervised", gw_spec_obj, 0, 0,
      GW_K_NULL, 0, 0, &gw_supervised_object }
};

static const gw_object_t  gw_method_object = {
    gw_method_keys, gw_nelts(gw_method_keys), NULL
};


/* tuning.lora */
static const gw_key_t  gw_module_key = {
    "target_modules[]", gw_spec_str, 0, 0, 0, 1, 64, &gw_cs_dotted
};

static const gw_key_t  gw_lora_keys[] = {
    { "rank", gw_spec_int, GW_SPEC(lora_rank), GW_F_LORA_RANK,
      0, 1, 1024, NULL },
    { "alpha", gw_spec_int, GW_SPEC(lora_alpha), GW_F_LORA_ALPHA,
      0, 1, 4096, NULL },
    { "dropout", gw_spec_num, GW_SPEC(lora_dropout), GW_F_LORA_DROPOUT,
      GW_K_LT, 0, 1, NULL },
    { "initialization", gw_spec_str, GW_SPEC(lora_init), GW_F_LORA_INIT,
      0, 1, 32, &gw_cs_name },
    { "type", gw_spec_str, GW_SPEC(lora_type), GW_F_LORA_TYPE,
      0, 1, 32, &gw_cs_name },
    { "target_modules", gw_spec_modules, GW_SPEC(lora_target_modules),
      GW_F_LORA_TARGET_MODULES, 0, 1, 64, &gw_module_key }
};

static const gw_object_t  gw_lora_object = {
    gw_lora_keys, gw_nelts(gw_lora_keys), gw_spec_lora_done
};


/* tuning.prompt_tuning */
static const gw_key_t  gw_prompt_keys[] = {
    { "virtual_tokens", gw_spec_int, GW_SPEC(virtual_tokens),
      GW_F_VIRTUAL_TOKENS, 0, 1, 10000, NULL }
};

static const gw_object_t  gw_prompt_object = {
    gw_prompt_keys, gw_nelts(gw_prompt_keys), gw_spec_prompt_done
};


/* tuning.scheduler */
static const gw_key_t  gw_scheduler_keys[] = {
    { "type", gw_spec_enum, GW_SPEC(scheduler), GW_F_SCHEDULER,
      GW_K_REQUIRED, 0, 0, gw_schedulers },
    { "min_lr", gw_spec_num, GW_SPEC(min_lr), GW_F_SCHED_MIN_LR,
      0, 0, HUGE_VAL, NULL },
    { "warmup_ratio", gw_spec_num, GW_SPEC(warmup_ratio), GW_F_SCHED_WARMUP,
      0, 0, 1, NULL }
};

static const gw_object_t  gw_scheduler_object = {
    gw_scheduler_keys, gw_nelts(gw_scheduler_keys), NULL
};


/* tuning.optimizer: "adamw" alone is every vendor's default, no flag */
static const gw_key_t  gw_optimizer_keys[] = {
    { "type", gw_spec_enum, GW_SPEC_NOWHERE, 0,
      GW_K_REQUIRED, 0, 0, gw_optimizers },
    { "beta1", gw_spec_num, GW_SPEC(beta1), GW_F_OPTIMIZER,
      GW_K_LT, 0, 1, NULL },
    { "beta2", gw_spec_num, GW_SPEC(beta2), GW_F_OPTIMIZER,
      GW_K_LT, 0, 1, NULL },
    { "eps", gw_spec_num, GW_SPEC(eps), GW_F_OPTIMIZER,
      GW_K_GT, 0, HUGE_VAL, NULL },
    { "weight_decay", gw_spec_num, GW_SPEC(weight_decay), GW_F_OPTIMIZER,
      0, 0, HUGE_VAL, NULL }
};

static const gw_object_t  gw_optimizer_object = {
    gw_optimizer_keys, gw_nelts(gw_optimizer_keys), NULL
};


/* an item of tuning.training_datasets or validation_datasets */
static const gw_key_t  gw_dataset_keys[] = {
    { "ref", gw_spec_str, GW_DS(ref), 0,
      GW_K_REQUIRED, 1, 1024, &gw_cs_ref },
    { "weight", gw_spec_num, GW_DS(weight), GW_F_DATASET_WEIGHTS,
      GW_K_GT, 0, 1, NULL }
};

static const gw_object_t  gw_dataset_object = {
    gw_dataset_keys, gw_nelts(gw_dataset_keys), NULL
};


static const gw_pairs_t  gw_label_pairs = {
    gw_spec_label_key_ok, "[a-z][a-z0-9_-]{0,62}",
    { "", gw_spec_str, 0, 0, 0, 0, 63, &gw_cs_text }
};

static const gw_pairs_t  gw_metadata_pairs = {
    gw_spec_meta_key_ok, "1 to 64 UTF-8 characters without control "
    "characters",
    { "", gw_spec_str, 0, 0, 0, 0, 512, &gw_cs_text }
};


/* tuning: base is the spec */
static const gw_key_t  gw_tuning_keys[] = {
    { "learning_rate", gw_spec_num, GW_SPEC(learning_rate),
      GW_F_LEARNING_RATE, GW_K_GT, 0, 1, NULL },
    { "tuning_type", gw_spec_enum, GW_SPEC(tuning_type), GW_F_TUNING_TYPE,
      0, 0, 0, gw_tuning_types },
    { "task_type", gw_spec_enum, GW_SPEC(task_type), GW_F_TASK_TYPE,
      0, 0, 0, gw_task_types },
    { "lora", gw_spec_obj, 0, 0, 0, 0, 0, &gw_lora_object },
    { "prompt_tuning", gw_spec_obj, 0, 0, 0, 0, 0, &gw_prompt_object },
    { "scheduler", gw_spec_obj, 0, 0, 0, 0, 0, &gw_scheduler_object },
    { "optimizer", gw_spec_obj, 0, 0, 0, 0, 0, &gw_optimizer_object },
    { "n_samples", gw_spec_int, GW_SPEC(n_samples), GW_F_N_SAMPLES,
      0, 1, GW_SPEC_INT_MAX, NULL },
    { "max_seq_len", gw_spec_int, GW_SPEC(max_seq_len), GW_F_MAX_SEQ_LEN,
      0, 1, 1048576, NULL },
    { "training_datasets", gw_spec_datasets, GW_SPEC(train), 0,
      0, 1, GW_MAX_DATASETS, &gw_dataset_object },
    { "validation_datasets", gw_spec_datasets, GW_SPEC(valid),
      GW_F_VALIDATION_FILE, 0, 1, GW_MAX_DATASETS, &gw_dataset_object },
    { "validation_split", gw_spec_num, GW_SPEC(validation_split),
      GW_F_VALIDATION_SPLIT, GW_K_LT, 0, 1, NULL },
    /* min: the prefix and one character more */
    { "continue_from", gw_spec_str, GW_SPEC(continue_from),
      GW_F_CONTINUE_FROM, 0, sizeof("ftjob-"), GW_JOB_ID_MAX - 1,
      &gw_cs_job },
    { "description", gw_spec_str, GW_SPEC(description), GW_F_DESCRIPTION,
      0, 0, 1024, &gw_cs_text },
    { "labels", gw_spec_pairs, GW_SPEC(labels), GW_F_LABELS,
      0, 0, 64, &gw_label_pairs },
    { "gpus", gw_spec_int, GW_SPEC(gpus), GW_F_GPUS,
      0, 0, 1024, NULL }
};

static const gw_object_t  gw_tuning_object = {
    gw_tuning_keys, gw_nelts(gw_tuning_keys), gw_spec_tuning_done
};


/*
 * The request: base is the gw_parse_t.  The OpenAI file fields come
 * before "tuning", whose dataset lists check that they are unset.
 */
static const gw_key_t  gw_top_keys[] = {
    { "model", gw_spec_model, GW_CTX(spec), 0,
      GW_K_REQUIRED, 0, 0, NULL },
    /* null when tuning.training_datasets names the datasets */
    { "training_file", gw_spec_file, GW_CTX(spec.train), 0,
      GW_K_NULL, 1, 1024, &gw_cs_ref },
    { "validation_file", gw_spec_file, GW_CTX(spec.valid),
      GW_F_VALIDATION_FILE, GW_K_NULL, 1, 1024, &gw_cs_ref },
    { "hyperparameters", gw_spec_obj, GW_CTX(spec), 0,
      GW_K_NULL, 0, 0, &gw_hyper_object },
    { "method", gw_spec_obj, 0, 0, GW_K_NULL, 0, 0, &gw_method_object },
    { "suffix", gw_spec_str, GW_CTX(spec.suffix), GW_F_SUFFIX,
      GW_K_NULL, 1, 64, &gw_cs_dotted },
    { "seed", gw_spec_int, GW_CTX(spec.seed), GW_F_SEED,
      GW_K_NULL, 0, 2147483647, NULL },
    { "metadata", gw_spec_pairs, GW_CTX(spec.metadata), GW_F_METADATA,
      GW_K_NULL, 0, 16, &gw_metadata_pairs },
    { "integrations", gw_spec_integrations, GW_SPEC_NOWHERE,
      GW_F_INTEGRATIONS, GW_K_NULL, 0, 0, NULL },
    { "tuning", gw_spec_obj, GW_CTX(spec), 0,
      GW_K_NULL, 0, 0, &gw_tuning_object }
};

static const gw_object_t  gw_top_object = {
    gw_top_keys, gw_nelts(gw_top_keys), gw_spec_top_done
};


/* the walker's found[] holds one slot per key of the largest table */
typedef char gw_spec_keys_fit[(gw_nelts(gw_tuning_keys) <= GW_SPEC_KEYS_MAX
                               && gw_nelts(gw_top_keys) <= GW_SPEC_KEYS_MAX)
                              ? 1 : -1];

/* enum handlers store an int in the enum fields */
typedef char gw_spec_enum_fits[(sizeof(gw_tuning_type_t) == sizeof(int)
                                && sizeof(gw_task_type_t) == sizeof(int)
                                && sizeof(gw_scheduler_t) == sizeof(int))
                               ? 1 : -1];


/* each flag's canonical param, for gw_spec_check_supported() */
static const struct {
    uint64_t             flag;
    const char          *param;
} gw_field_params[] = {
    { GW_F_VALIDATION_FILE, "validation_file" },
    { GW_F_SUFFIX, "suffix" },
    { GW_F_SEED, "seed" },
    { GW_F_N_EPOCHS, "hyperparameters.n_epochs" },
    { GW_F_BATCH_SIZE, "hyperparameters.batch_size" },
    { GW_F_LR_MULTIPLIER, "hyperparameters.learning_rate_multiplier" },
    { GW_F_METADATA, "metadata" },
    { GW_F_INTEGRATIONS, "integrations" },
    { GW_F_LEARNING_RATE, "tuning.learning_rate" },
    { GW_F_TUNING_TYPE, "tuning.tuning_type" },
    { GW_F_TASK_TYPE, "tuning.task_type" },
    { GW_F_LORA_RANK, "tuning.lora.rank" },
    { GW_F_LORA_ALPHA, "tuning.lora.alpha" },
    { GW_F_LORA_DROPOUT, "tuning.lora.dropout" },
    { GW_F_LORA_INIT, "tuning.lora.initialization" },
    { GW_F_LORA_TYPE, "tuning.lora.type" },
    { GW_F_LORA_TARGET_MODULES, "tuning.lora.target_modules" },
    { GW_F_VIRTUAL_TOKENS, "tuning.prompt_tuning.virtual_tokens" },
    { GW_F_SCHEDULER, "tuning.scheduler" },
    { GW_F_SCHED_MIN_LR, "tuning.scheduler.min_lr" },
    { GW_F_SCHED_WARMUP, "tuning.scheduler.warmup_ratio" },
    { GW_F_OPTIMIZER, "tuning.optimizer" },
    { GW_F_N_SAMPLES, "tuning.n_samples" },
    { GW_F_MAX_SEQ_LEN, "tuning.max_seq_len" },
    { GW_F_DATASET_WEIGHTS, "tuning.training_datasets[].weight" },
    { GW_F_MULTI_DATASETS, "tuning.training_datasets" },
    { GW_F_VALIDATION_SPLIT, "tuning.validation_split" },
    { GW_F_CONTINUE_FROM, "tuning.continue_from" },
    { GW_F_DESCRIPTION, "tuning.description" },
    { GW_F_LABELS, "tuning.labels" },
    { GW_F_GPUS, "tuning.gpus" }
};


/* the spec's fields by kind, for gw_spec_init() and gw_spec_free() */
static const size_t  gw_spec_ints[] = {
    GW_SPEC(seed), GW_SPEC(n_epochs), GW_SPEC(batch_size),
    GW_SPEC(lora_rank), GW_SPEC(lora_alpha), GW_SPEC(virtual_tokens),
    GW_SPEC(n_samples), GW_SPEC(max_seq_len), GW_SPEC(gpus)
};

static const size_t  gw_spec_nums[] = {
    GW_SPEC(lr_multiplier), GW_SPEC(learning_rate), GW_SPEC(lora_dropout),
    GW_SPEC(min_lr), GW_SPEC(warmup_ratio), GW_SPEC(beta1), GW_SPEC(beta2),
    GW_SPEC(eps), GW_SPEC(weight_decay), GW_SPEC(validation_split)
};

static const size_t  gw_spec_strs[] = {
    GW_SPEC(route), GW_SPEC(provider), GW_SPEC(vendor_model), GW_SPEC(suffix),
    GW_SPEC(lora_init), GW_SPEC(lora_type), GW_SPEC(continue_from),
    GW_SPEC(description)
};


/* ---- parsing ----------------------------------------------------------- */


gw_rc_t
gw_spec_parse(const char *body, size_t len, gw_job_spec_t *spec,
    gw_error_t *err)
{
    cJSON       *root;
    gw_rc_t      rc;
    gw_parse_t   ctx;

    gw_spec_init(spec);

    memset(&ctx, 0, sizeof(ctx));
    gw_spec_init(&ctx.spec);
    gw_spec_init(&ctx.method_hyper);
    ctx.err = err;

    rc = gw_spec_json(body, len, &root, err);
    if (rc != GW_OK) {
        return rc;
    }

    if (cJSON_IsObject(root)) {
        rc = gw_spec_object(&ctx, root, &gw_top_object, &ctx, "");

    } else {
        gw_error_invalid(err, NULL, "invalid_json",
                         "the request body must be a JSON object");
        rc = GW_ERROR;
    }

    gw_json_delete(root);

    if (rc != GW_OK) {
        gw_spec_free(&ctx.spec);

        if (rc == GW_NOMEM) {
            gw_error_set(err, 503, GW_TYPE_API, NULL, "out_of_memory",
                         "The gateway is out of memory");
        }

        return rc;
    }

    *spec = ctx.spec;

    return GW_OK;
}


/*
 * The whole buffer must be one JSON value: the parser stops after the
 * value, so that data after it gets a message of its own, and what follows
 * may only be whitespace.  Its failures include running out of memory,
 * reported as invalid JSON too: the parser does not tell them apart.
 */

static gw_rc_t
gw_spec_json(const char *body, size_t len, cJSON **root, gw_error_t *err)
{
    const char  *end;

    *root = NULL;

    if (body == NULL || len == 0) {
        gw_error_invalid(err, NULL, "invalid_json",
                         "the request body is empty: a JSON object is "
                         "expected");
        return GW_ERROR;
    }

    if (gw_spec_has_nul(body, len)) {
        gw_error_invalid(err, NULL, "invalid_json",
                         "the request body holds a NUL character in a "
                         "string");
        return GW_ERROR;
    }

    end = NULL;
    *root = gw_json_parse(body, len, &end);

    if (*root == NULL) {
        gw_error_invalid(err, NULL, "invalid_json",
                         "the request body is not valid JSON");
        return GW_ERROR;
    }

    while (end < body + len
           && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
    {
        end++;
    }

    if (end != body + len) {
        gw_json_delete(*root);
        *root = NULL;
        gw_error_invalid(err, NULL, "invalid_json",
                         "the request body has data after the JSON value");
        return GW_ERROR;
    }

    return GW_OK;
}


/*
 * A C string cannot hold a NUL, raw or written "\u0000": the parser
 * refuses one, and strings are scanned for it first, so that the message
 * names it.  Outside strings a NUL is a syntax error.
 */

static int
gw_spec_has_nul(const char *p, size_t len)
{
    size_t  i;
    int     in;

    in = 0;

    for (i = 0; i < len; i++) {

        if (!in) {
            in = (p[i] == '"');
            continue;
        }

        if (p[i] == '\0') {
            return 1;
        }

        if (p[i] == '"') {
            in = 0;
            continue;
        }

        if (p[i] != '\\') {
            continue;
        }

        i++;

        if (i + 4 < len && p[i] == 'u' && memcmp(&p[i + 1], "0000", 4) == 0)
        {
            return 1;
        }
    }

    return 0;
}


/*
 * The walker.  The client's keys are first matched to the table (a repeated
 * key is refused: RFC 8259 leaves its meaning open), then the table is
 * processed in its order, then an unknown key is reported, then the
 * object's cross-key checks run.
 */

static gw_rc_t
gw_spec_object(gw_parse_t *ctx, const cJSON *obj, const gw_object_t *o,
    void *base, const char *path)
{
    char          param[GW_SPEC_PARAM_MAX];
    size_t        i;
    gw_rc_t       rc;
    const cJSON  *c, *unknown;
    const cJSON  *found[GW_SPEC_KEYS_MAX];

    memset(found, 0, sizeof(found));
    unknown = NULL;

    for (c = obj->child; c != NULL; c = c->next) {
        i = gw_spec_key_index(o, c->string);

        if (i == o->nkeys) {
            if (unknown == NULL) {
                unknown = c;
            }

            continue;
        }

        if (found[i] != NULL) {
            return gw_spec_duplicate(ctx, path, c->string);
        }

        found[i] = c;
    }

    for (i = 0; i < o->nkeys; i++) {
        gw_spec_join(param, sizeof(param), path, o->keys[i].name);

        rc = gw_spec_value(ctx, &o->keys[i], found[i], base, param);
        if (rc != GW_OK) {
            return rc;
        }
    }

    if (unknown != NULL) {
        gw_spec_path(param, sizeof(param), path,
                     unknown->string != NULL ? unknown->string : "");
        gw_error_invalid(ctx->err, param, "unknown_parameter",
                         "%s is not a known parameter", param);
        return GW_ERROR;
    }

    return (o->done != NULL) ? o->done(ctx) : GW_OK;
}


/* o->nkeys if unknown */

static size_t
gw_spec_key_index(const gw_object_t *o, const char *name)
{
    size_t  i;

    if (name == NULL) {
        return o->nkeys;
    }

    for (i = 0; i < o->nkeys; i++) {
        if (strcmp(o->keys[i].name, name) == 0) {
            break;
        }
    }

    return i;
}


static gw_rc_t
gw_spec_value(gw_parse_t *ctx, const gw_key_t *k, const cJSON *v,
    void *base, const char *param)
{
    void  *field;

    if (v == NULL) {
        if (k->opts & GW_K_REQUIRED) {
            gw_error_invalid(ctx->err, param, "missing_required_parameter",
                             "%s is required", param);
            return GW_ERROR;
        }

        return GW_OK;
    }

    if (cJSON_IsNull(v) && (k->opts & GW_K_NULL)) {
        return GW_OK;
    }

    field = (k->offset == GW_SPEC_NOWHERE) ? NULL
                                           : (char *) base + k->offset;

    return k->handler(ctx, k, v, field, param);
}


static gw_rc_t
gw_spec_duplicate(gw_parse_t *ctx, const char *path, const char *name)
{
    char  param[GW_SPEC_PARAM_MAX];

    gw_spec_path(param, sizeof(param), path, name != NULL ? name : "");
    gw_error_invalid(ctx->err, NULL, "invalid_json",
                     "the request body repeats the key %s", param);

    return GW_ERROR;
}


/* ---- handlers ---------------------------------------------------------- */


/* field: int64_t */

static gw_rc_t
gw_spec_int(gw_parse_t *ctx, const gw_key_t *k, const cJSON *v,
    void *field, const char *param)
{
    double  d;

    if (gw_spec_is_auto(k, v)) {
        return GW_OK;
    }

    if (!cJSON_IsNumber(v)) {
        return gw_spec_int_fail(ctx, k, param, gw_spec_nonauto_code(k, v));
    }

    d = v->valuedouble;

    if (!isfinite(d)) {
        return gw_spec_int_fail(ctx, k, param, "invalid_value");
    }

    if (!gw_spec_integral(d)) {
        return gw_spec_int_fail(ctx, k, param, "invalid_type");
    }

    if (d < k->min || d > k->max) {
        return gw_spec_int_fail(ctx, k, param, "invalid_value");
    }

    *(int64_t *) field = (int64_t) d;
    ctx->spec.present |= k->flag;

    return GW_OK;
}


/* field: double */

static gw_rc_t
gw_spec_num(gw_parse_t *ctx, const gw_key_t *k, const cJSON *v,
    void *field, const char *param)
{
    double  d;

    if (gw_spec_is_auto(k, v)) {
        return GW_OK;
    }

    if (!cJSON_IsNumber(v)) {
        return gw_spec_num_fail(ctx, k, param, gw_spec_nonauto_code(k, v));
    }

    d = v->valuedouble;

    if (!isfinite(d)
        || ((k->opts & GW_K_GT) ? d <= k->min : d < k->min)
        || ((k->opts & GW_K_LT) ? d >= k->max : d > k->max))
    {
        return gw_spec_num_fail(ctx, k, param, "invalid_value");
    }

    *(double *) field = d;
    ctx->spec.present |= k->flag;

    return GW_OK;
}


/* field: an enum type, or NULL to validate only; data: gw_enum_t[] */

static gw_rc_t
gw_spec_enum(gw_parse_t *ctx, const gw_key_t *k, const cJSON *v,
    void *field, const char *param)
{
    const gw_enum_t  *e;

    if (!cJSON_IsString(v)) {
        return gw_spec_enum_fail(ctx, k, param, "invalid_type", NULL);
    }

    for (e = k->data; e->name != NULL; e++) {
        if (strcmp(e->name, v->valuestring) == 0) {
            break;
        }
    }

    if (e->name == NULL) {
        return gw_spec_enum_fail(ctx, k, param, "invalid_value", NULL);
    }

    /* "dpo" is a real OpenAI method: say it is ours that lacks it */
    if (e->unsupported) {
        return gw_spec_enum_fail(ctx, k, param, "unsupported_value",
                                 e->name);
    }

    if (field != NULL) {
        *(int *) field = e->value;
    }

    ctx->spec.present |= k->flag;

    return GW_OK;
}


/* field: char *, or NULL to validate only; data: gw_charset_t */

static gw_rc_t
gw_spec_str(gw_parse_t *ctx, const gw_key_t *k, const cJSON *v,
    void *field, const char *param)
{
    char  *s;

    if (!cJSON_IsString(v)) {
        return gw_spec_str_fail(ctx, k, param, "invalid_type");
    }

    if (!gw_spec_text_ok(k->data, v->valuestring, strlen(v->valuestring),
                         k->min, k->max))
    {
        return gw_spec_str_fail(ctx, k, param, "invalid_value");
    }

    if (field != NULL) {
        s = gw_strdup(v->valuestring);
        if (s == NULL) {
            return GW_NOMEM;
        }

        gw_free(*(char **) field);
        *(char **) field = s;
    }

    ctx->spec.present |= k->flag;

    return GW_OK;
}


/* field: the base of the object's keys; data: gw_object_t */

static gw_rc_t
gw_spec_obj(gw_parse_t *ctx, const gw_key_t *k, const cJSON *v,
    void *field, const char *param)
{
    if (!cJSON_IsObject(v)) {
        gw_error_invalid(ctx->err, param, "invalid_type",
                         "%s must be an object", param);
        return GW_ERROR;
    }

    return gw_spec_object(ctx, v, k->data, field, param);
}


/* field: the spec; a route name, or "<provider>/<vendor model>" */

static gw_rc_t
gw_spec_model(gw_parse_t *ctx, const gw_key_t *k, const cJSON *v,
    void *field, const char *param)
{
    char           echo[GW_SPEC_ECHO_SIZE];
    const char    *s, *slash;
    gw_job_spec_t  *spec;

    spec = field;

    if (!cJSON_IsString(v)) {
        gw_error_invalid(ctx->err, param, "invalid_type",
                         "%s must be a string \"<provider>/<vendor model>\"",
                         param);
        return GW_ERROR;
    }

    s = v->valuestring;
    slash = strchr(s, '/');

    /* a name without '/' is a route, which the exchange resolves */
    if (slash == NULL && gw_spec_text_ok(&gw_cs_model, s, strlen(s), 1, 64)) {
        spec->route = gw_strdup(s);
        return spec->route ? GW_OK : GW_NOMEM;
    }

    /* '/' is not in the vendor model's set: a second one fails there */
    if (slash == NULL
        || !gw_spec_text_ok(&gw_cs_name, s, slash - s, 1, 32)
        || !gw_spec_text_ok(&gw_cs_model, slash + 1, strlen(slash + 1),
                            1, 128))
    {
        gw_spec_echo(s, echo);
        gw_error_invalid(ctx->err, param, "invalid_value",
                         "%s must be a route (1 to 64 characters of "
                         "[A-Za-z0-9._:@-]) or \"<provider>/<vendor "
                         "model>\", the provider 1 to 32 characters of "
                         "[A-Za-z0-9_-], the vendor model 1 to 128 "
                         "characters of [A-Za-z0-9._:@-]; got \"%s\"",
                         param, echo);
        return GW_ERROR;
    }

    spec->provider = gw_strndup(s, slash - s);
    if (spec->provider == NULL) {
        return GW_NOMEM;
    }

    spec->vendor_model = gw_strdup(slash + 1);
    if (spec->vendor_model == NULL) {
        return GW_NOMEM;
    }

    return GW_OK;
}


/* training_file, validation_file; field: spec.train or spec.valid */

static gw_rc_t
gw_spec_file(gw_parse_t *ctx, const gw_key_t *k, const cJSON *v,
    void *field, const char *param)
{
    gw_rc_t        rc;
    gw_dataset_t  *list;

    list = field;

    rc = gw_spec_str(ctx, k, v, &list[0].ref, param);
    if (rc != GW_OK) {
        return rc;
    }

    *gw_spec_count(ctx, list) = 1;

    return GW_OK;
}


/*
 * tuning.training_datasets, tuning.validation_datasets; field: spec.train
 * or spec.valid; data: gw_object_t of an item
 */

static gw_rc_t
gw_spec_datasets(gw_parse_t *ctx, const gw_key_t *k, const cJSON *v,
    void *field, const char *param)
{
    char           item_param[GW_SPEC_PARAM_MAX];
    size_t         i, n, *count;
    gw_rc_t        rc;
    const cJSON   *item;
    gw_dataset_t  *list;

    list = field;
    count = gw_spec_count(ctx, list);

    if (!cJSON_IsArray(v)) {
        gw_error_invalid(ctx->err, param, "invalid_type",
                         "%s must be an array of 1 to %d objects "
                         "{\"ref\", \"weight\"}", param, GW_MAX_DATASETS);
        return GW_ERROR;
    }

    /* the table processed the OpenAI file field already */
    if (*count > 0) {
        gw_error_invalid(ctx->err, param, "conflicting_parameter",
                         "%s cannot be given with %s", param,
                         list == ctx->spec.train ? "training_file"
                                                 : "validation_file");
        return GW_ERROR;
    }

    n = gw_spec_size(v, (size_t) k->max + 1);

    if (n < k->min || n > k->max) {
        gw_error_invalid(ctx->err, param, "invalid_value",
                         "%s must be an array of 1 to %d objects "
                         "{\"ref\", \"weight\"}", param, GW_MAX_DATASETS);
        return GW_ERROR;
    }

    if (list == ctx->spec.train) {
        ctx->spec.train_listed = 1;

    } else {
        ctx->spec.valid_listed = 1;
    }

    for (i = 0, item = v->child; item != NULL; i++, item = item->next) {
        gw_spec_item_param(item_param, sizeof(item_param), param, i);

        rc = gw_spec_obj(ctx, k, item, &list[i], item_param);
        if (rc != GW_OK) {
            return rc;
        }
    }

    *count = n;
    ctx->spec.present |= k->flag;

    if (n > 1) {
        ctx->spec.present |= GW_F_MULTI_DATASETS;
    }

    return GW_OK;
}


/* tuning.lora.target_modules; field: char **; data: an item's gw_key_t */

static gw_rc_t
gw_spec_modules(gw_parse_t *ctx, const gw_key_t *k, const cJSON *v,
    void *field, const char *param)
{
    char          item_param[GW_SPEC_PARAM_MAX];
    char        **list;
    size_t        i, n;
    gw_rc_t       rc;
    const cJSON  *item;

    n = cJSON_IsArray(v) ? gw_spec_size(v, (size_t) k->max + 1) : 0;

    if (!cJSON_IsArray(v) || n < k->min || n > k->max) {
        gw_error_invalid(ctx->err, param,
                         cJSON_IsArray(v) ? "invalid_value" : "invalid_type",
                         "%s must be an array of 1 to 64 strings of 1 to 64 "
                         "characters of [A-Za-z0-9._-]", param);
        return GW_ERROR;
    }

    list = gw_calloc(n, sizeof(char *));
    if (list == NULL) {
        return GW_NOMEM;
    }

    /* owned by the spec from here, so that every exit frees it */
    *(char ***) field = list;
    ctx->spec.nlora_target_modules = n;

    for (i = 0, item = v->child; item != NULL; i++, item = item->next) {
        gw_spec_item_param(item_param, sizeof(item_param), param, i);

        rc = gw_spec_str(ctx, k->data, item, &list[i], item_param);
        if (rc != GW_OK) {
            return rc;
        }
    }

    ctx->spec.present |= k->flag;

    return GW_OK;
}


/*
 * metadata, tuning.labels; field: cJSON * for a copy, or NULL; data:
 * gw_pairs_t.  An empty object holds nothing to honour: no flag.
 */

static gw_rc_t
gw_spec_pairs(gw_parse_t *ctx, const gw_key_t *k, const cJSON *v,
    void *field, const char *param)
{
    char                max[32];
    size_t              n;
    cJSON              *copy;
    gw_rc_t             rc;
    const cJSON        *c;
    const gw_pairs_t   *pr;

    pr = k->data;
    n = cJSON_IsObject(v) ? gw_spec_size(v, (size_t) k->max + 1) : 0;

    if (!cJSON_IsObject(v) || n > k->max) {
        gw_spec_fmt(k->max, max, sizeof(max));
        gw_error_invalid(ctx->err, param,
                         cJSON_IsObject(v) ? "invalid_value" : "invalid_type",
                         "%s must be an object of at most %s string values",
                         param, max);
        return GW_ERROR;
    }

    for (c = v->child; c != NULL; c = c->next) {
        rc = gw_spec_pair(ctx, pr, v, c, param);
        if (rc != GW_OK) {
            return rc;
        }
    }

    if (n == 0) {
        return GW_OK;
    }

    if (field != NULL) {
        copy = cJSON_Duplicate(v, 1);
        if (copy == NULL) {
            return GW_NOMEM;
        }

        gw_json_delete(*(cJSON **) field);
        *(cJSON **) field = copy;
    }

    ctx->spec.present |= k->flag;

    return GW_OK;
}


static gw_rc_t
gw_spec_pair(gw_parse_t *ctx, const gw_pairs_t *pr, const cJSON *obj,
    const cJSON *c, const char *param)
{
    char         echo[GW_SPEC_ECHO_SIZE];
    char         value_param[GW_SPEC_PARAM_MAX];
    const char  *key;

    key = (c->string != NULL) ? c->string : "";

    if (!pr->key_ok(key)) {
        gw_spec_echo(key, echo);
        gw_error_invalid(ctx->err, param, "invalid_value",
                         "%s keys must be %s; got \"%s\"", param,
                         pr->key_what, echo);
        return GW_ERROR;
    }

    if (gw_spec_repeated(obj, c)) {
        return gw_spec_duplicate(ctx, param, key);
    }

    gw_spec_path(value_param, sizeof(value_param), param, key);

    return gw_spec_str(ctx, &pr->value, c, NULL, value_param);
}


/* integrations: only refused or passed on, never read */

static gw_rc_t
gw_spec_integrations(gw_parse_t *ctx, const gw_key_t *k, const cJSON *v,
    void *field, const char *param)
{
    if (!cJSON_IsArray(v)) {
        gw_error_invalid(ctx->err, param, "invalid_type",
                         "%s must be an array", param);
        return GW_ERROR;
    }

    if (gw_spec_has_control(v)) {
        gw_error_invalid(ctx->err, param, "invalid_value",
                         "%s must not hold control characters", param);
        return GW_ERROR;
    }

    if (v->child != NULL) {
        ctx->spec.present |= k->flag;
    }

    return GW_OK;
}


/* ---- checks across keys ------------------------------------------------ */


static gw_rc_t
gw_spec_top_done(gw_parse_t *ctx)
{
    if (ctx->spec.ntrain == 0) {
        gw_error_invalid(ctx->err, "training_file",
                         "missing_required_parameter",
                         "training_file is required (or "
                         "tuning.training_datasets)");
        return GW_ERROR;
    }

    return gw_spec_merge_hyper(ctx);
}


/*
 * method.supervised.hyperparameters fill what the deprecated top-level
 * hyperparameters left unset; the same key with another value is refused.
 */

static gw_rc_t
gw_spec_merge_hyper(gw_parse_t *ctx)
{
    char             param[GW_SPEC_PARAM_MAX];
    size_t           i;
    const gw_key_t  *k;

    for (i = 0; i < gw_nelts(gw_hyper_keys); i++) {
        k = &gw_hyper_keys[i];

        if (!gw_spec_merge_one(k, (char *) &ctx->spec + k->offset,
                               (char *) &ctx->method_hyper + k->offset))
        {
            continue;
        }

        gw_spec_path(param, sizeof(param),
                     "method.supervised.hyperparameters", k->name);
        gw_error_invalid(ctx->err, param, "conflicting_parameter",
                         "%s conflicts with hyperparameters.%s: give one, "
                         "or the same value in both", param, k->name);
        return GW_ERROR;
    }

    return GW_OK;
}


/* 1 on a conflict */

static int
gw_spec_merge_one(const gw_key_t *k, void *dst, const void *src)
{
    double   *dd;
    int64_t  *di;

    if (k->handler == gw_spec_int) {
        di = dst;

        if (*(const int64_t *) src == GW_UNSET_INT) {
            return 0;
        }

        if (*di != GW_UNSET_INT && *di != *(const int64_t *) src) {
            return 1;
        }

        *di = *(const int64_t *) src;
        return 0;
    }

    dd = dst;

    if (!gw_has_num(*(const double *) src)) {
        return 0;
    }

    if (gw_has_num(*dd) && *dd != *(const double *) src) {
        return 1;
    }

    *dd = *(const double *) src;
    return 0;
}


static gw_rc_t
gw_spec_tuning_done(gw_parse_t *ctx)
{
    gw_rc_t  rc;

    if (ctx->lora && ctx->prompt) {
        gw_error_invalid(ctx->err, "tuning.prompt_tuning",
                         "conflicting_parameter",
                         "tuning.prompt_tuning cannot be given with "
                         "tuning.lora");
        return GW_ERROR;
    }

    if (ctx->lora) {
        rc = gw_spec_imply(ctx, GW_TUNING_LORA, "tuning.lora", "lora");
        if (rc != GW_OK) {
            return rc;
        }
    }

    if (ctx->prompt) {
        return gw_spec_imply(ctx, GW_TUNING_PROMPT, "tuning.prompt_tuning",
                             "prompt_tuning");
    }

    return GW_OK;
}


/* an options object implies its tuning type, without its flag */

static gw_rc_t
gw_spec_imply(gw_parse_t *ctx, gw_tuning_type_t t, const char *param,
    const char *name)
{
    if (ctx->spec.tuning_type == GW_TUNING_UNSET) {
        ctx->spec.tuning_type = t;
        return GW_OK;
    }

    if (ctx->spec.tuning_type == t) {
        return GW_OK;
    }

    gw_error_invalid(ctx->err, param, "conflicting_parameter",
                     "%s requires tuning.tuning_type \"%s\"", param, name);

    return GW_ERROR;
}


static gw_rc_t
gw_spec_lora_done(gw_parse_t *ctx)
{
    ctx->lora = 1;
    return GW_OK;
}


static gw_rc_t
gw_spec_prompt_done(gw_parse_t *ctx)
{
    ctx->prompt = 1;
    return GW_OK;
}


/* ---- messages ---------------------------------------------------------- */


static gw_rc_t
gw_spec_int_fail(gw_parse_t *ctx, const gw_key_t *k, const char *param,
    const char *code)
{
    char  range[GW_SPEC_TEXT_MAX];

    gw_spec_range(k, range, sizeof(range));
    gw_error_invalid(ctx->err, param, code, "%s must be %san integer %s",
                     param, (k->opts & GW_K_AUTO) ? "\"auto\" or " : "",
                     range);

    return GW_ERROR;
}


static gw_rc_t
gw_spec_num_fail(gw_parse_t *ctx, const gw_key_t *k, const char *param,
    const char *code)
{
    char  range[GW_SPEC_TEXT_MAX];

    gw_spec_range(k, range, sizeof(range));
    gw_error_invalid(ctx->err, param, code, "%s must be %sa number %s",
                     param, (k->opts & GW_K_AUTO) ? "\"auto\" or " : "",
                     range);

    return GW_ERROR;
}


static gw_rc_t
gw_spec_str_fail(gw_parse_t *ctx, const gw_key_t *k, const char *param,
    const char *code)
{
    char                 min[32], max[32];
    const gw_charset_t  *cs;

    cs = k->data;
    gw_spec_fmt(k->min, min, sizeof(min));
    gw_spec_fmt(k->max, max, sizeof(max));

    if (k->min <= 0) {
        gw_error_invalid(ctx->err, param, code,
                         "%s must be a string of at most %s %s",
                         param, max, cs->what);

    } else {
        gw_error_invalid(ctx->err, param, code,
                         "%s must be a string of %s to %s %s",
                         param, min, max, cs->what);
    }

    return GW_ERROR;
}


/* got: the client's known value that the gateway refuses, else NULL */

static gw_rc_t
gw_spec_enum_fail(gw_parse_t *ctx, const gw_key_t *k, const char *param,
    const char *code, const char *got)
{
    char              list[GW_SPEC_TEXT_MAX];
    size_t            n, used;
    const gw_enum_t  *e;

    n = 0;
    used = 0;
    list[0] = '\0';

    for (e = k->data; e->name != NULL; e++) {
        if (!e->unsupported && used < sizeof(list)) {
            used += snprintf(list + used, sizeof(list) - used, "%s\"%s\"",
                             n++ ? ", " : "", e->name);
        }
    }

    if (got != NULL) {
        gw_error_invalid(ctx->err, param, code,
                         "%s \"%s\" is not supported by this gateway; it "
                         "must be %s%s", param, got, n > 1 ? "one of " : "",
                         list);

    } else {
        gw_error_invalid(ctx->err, param, code, "%s must be %s%s",
                         param, n > 1 ? "one of " : "", list);
    }

    return GW_ERROR;
}


/* "auto" is a string: another string is a wrong value, not a wrong type */

static const char *
gw_spec_nonauto_code(const gw_key_t *k, const cJSON *v)
{
    return ((k->opts & GW_K_AUTO) && cJSON_IsString(v)) ? "invalid_value"
                                                        : "invalid_type";
}


static int
gw_spec_is_auto(const gw_key_t *k, const cJSON *v)
{
    return (k->opts & GW_K_AUTO) && cJSON_IsString(v)
           && strcmp(v->valuestring, "auto") == 0;
}


/* "between 1 and 1024", "> 0 and <= 1", ">= 0" */

static void
gw_spec_range(const gw_key_t *k, char *buf, size_t size)
{
    char         min[32], max[32];
    const char  *lo, *hi;

    gw_spec_fmt(k->min, min, sizeof(min));
    gw_spec_fmt(k->max, max, sizeof(max));

    lo = (k->opts & GW_K_GT) ? ">" : ">=";
    hi = (k->opts & GW_K_LT) ? "<" : "<=";

    if (!isfinite(k->max)) {
        snprintf(buf, size, "%s %s", lo, min);

    } else if (!(k->opts & (GW_K_GT | GW_K_LT))) {
        snprintf(buf, size, "between %s and %s", min, max);

    } else {
        snprintf(buf, size, "%s %s and %s %s", lo, min, hi, max);
    }
}


/* integers in full, not as %g's 1.04858e+06 */

static void
gw_spec_fmt(double d, char *buf, size_t size)
{
    if (gw_spec_integral(d) && d > -GW_SPEC_2_53 && d < GW_SPEC_2_53) {
        snprintf(buf, size, "%lld", (long long) d);

    } else {
        snprintf(buf, size, "%g", d);
    }
}


/* d is finite; past 2^53 every double is an integer, below the cast is */

static int
gw_spec_integral(double d)
{
    if (d >= GW_SPEC_2_53 || d <= -GW_SPEC_2_53) {
        return 1;
    }

    return (double) (int64_t) d == d;
}


/* the number of items of v, counting no further than stop */

static size_t
gw_spec_size(const cJSON *v, size_t stop)
{
    size_t        n;
    const cJSON  *c;

    n = 0;

    for (c = v->child; c != NULL && n < stop; c = c->next) {
        n++;
    }

    return n;
}


static size_t *
gw_spec_count(gw_parse_t *ctx, const gw_dataset_t *list)
{
    return (list == ctx->spec.train) ? &ctx->spec.ntrain
                                     : &ctx->spec.nvalid;
}


/* c's key appears before c in obj */

static int
gw_spec_repeated(const cJSON *obj, const cJSON *c)
{
    const cJSON  *p;

    for (p = obj->child; p != c; p = p->next) {
        if (p->string != NULL && strcmp(p->string, c->string) == 0) {
            return 1;
        }
    }

    return 0;
}


/* a key or a string anywhere inside v has a control character */

static int
gw_spec_has_control(const cJSON *v)
{
    const cJSON  *c;

    for (c = v->child; c != NULL; c = c->next) {
        if ((c->string != NULL && gw_spec_control(c->string))
            || (cJSON_IsString(c) && gw_spec_control(c->valuestring))
            || gw_spec_has_control(c))
        {
            return 1;
        }
    }

    return 0;
}


/* ---- characters -------------------------------------------------------- */


/* len bytes of s: cs's characters, min..max of them, after cs's prefix */

static int
gw_spec_text_ok(const gw_charset_t *cs, const char *s, size_t len,
    double min, double max)
{
    size_t  i, n, chars;

    if (cs->prefix != NULL
        && strncmp(s, cs->prefix, strlen(cs->prefix)) != 0)
    {
        return 0;
    }

    chars = 0;

    for (i = 0; i < len; i += n) {
        n = gw_spec_char_len(cs, (const unsigned char *) s + i, len - i);
        if (n == 0) {
            return 0;
        }

        chars++;
    }

    return chars >= min && chars <= max;
}


/* the bytes of the character at p if cs allows it, else 0 */

static size_t
gw_spec_char_len(const gw_charset_t *cs, const unsigned char *p,
    size_t left)
{
    if (cs->extra != NULL) {
        return ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
                || (*p >= '0' && *p <= '9')
                || (*p != '\0' && strchr(cs->extra, *p) != NULL));
    }

    if (*p < 0x20 || *p == 0x7f) {
        return 0;
    }

    if (*p == ' ') {
        return cs->space ? 1 : 0;
    }

    /*
     * U+2028-U+202E (line and paragraph separators, bidirectional
     * embeddings and overrides) and U+2066-U+2069 (isolates) can make
     * what an operator reads in a vendor console lie
     */
    if (left >= 3 && p[0] == 0xe2
        && ((p[1] == 0x80 && p[2] >= 0xa8 && p[2] <= 0xae)
            || (p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9)))
    {
        return 0;
    }

    return gw_utf8_len(p, left);
}


/* the length of the well-formed UTF-8 sequence at p, else 0 */

static size_t
gw_utf8_len(const unsigned char *p, size_t left)
{
    size_t    i, n;
    uint32_t  cp, min;

    if (*p < 0x80) {
        return 1;
    }

    if (*p < 0xc2) {
        return 0;                       /* a continuation, or overlong */
    }

    if (*p < 0xe0) {
        n = 2;
        min = 0x80;

    } else if (*p < 0xf0) {
        n = 3;
        min = 0x800;

    } else if (*p < 0xf5) {
        n = 4;
        min = 0x10000;

    } else {
        return 0;
    }

    if (left < n) {
        return 0;
    }

    cp = *p & (0x3f >> (n - 1));

    for (i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }

        cp = (cp << 6) | (p[i] & 0x3f);
    }

    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0;
    }

    return n;
}


static int
gw_spec_control(const char *s)
{
    for ( /* void */ ; *s != '\0'; s++) {
        if ((unsigned char) *s < 0x20 || *s == 0x7f) {
            return 1;
        }
    }

    return 0;
}


static int
gw_spec_meta_key_ok(const char *key)
{
    return gw_spec_text_ok(&gw_cs_text, key, strlen(key), 1, 64);
}


/* [a-z][a-z0-9_-]{0,62}: what cloud label keys accept */

static int
gw_spec_label_key_ok(const char *key)
{
    size_t  i;

    if (!(key[0] >= 'a' && key[0] <= 'z')) {
        return 0;
    }

    for (i = 1; key[i] != '\0'; i++) {
        if (!((key[i] >= 'a' && key[i] <= 'z')
              || (key[i] >= '0' && key[i] <= '9')
              || key[i] == '_' || key[i] == '-'))
        {
            return 0;
        }
    }

    return i <= 63;
}


/*
 * Client input in a message: at most GW_SPEC_ECHO_MAX bytes, printable
 * ASCII only, so that it is short, and valid UTF-8 however it was cut.
 * buf holds GW_SPEC_ECHO_SIZE bytes.
 */

static void
gw_spec_echo(const char *s, char *buf)
{
    size_t  i;

    for (i = 0; s[i] != '\0' && i < GW_SPEC_ECHO_MAX; i++) {
        buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    }

    if (s[i] != '\0') {
        memcpy(&buf[i], "...", sizeof("..."));
        return;
    }

    buf[i] = '\0';
}


/* "path.name"; name may be the client's: it is echoed */

static void
gw_spec_path(char *buf, size_t size, const char *path, const char *name)
{
    char  echo[GW_SPEC_ECHO_SIZE];

    gw_spec_echo(name, echo);
    gw_spec_join(buf, size, path, echo);
}


/*
 * "path.name" for a name of the spec's own tables, which needs no echo:
 * built for every key of every object, so without snprintf()
 */

static void
gw_spec_join(char *buf, size_t size, const char *path, const char *name)
{
    size_t  plen, nlen;

    plen = strlen(path);
    nlen = strlen(name);

    if (plen + 1 + nlen >= size) {
        snprintf(buf, size, "%s%s%s", path, plen ? "." : "", name);
        return;
    }

    memcpy(buf, path, plen);

    if (plen) {
        buf[plen++] = '.';
    }

    memcpy(buf + plen, name, nlen + 1);
}


/* ---- the spec ---------------------------------------------------------- */


static void
gw_spec_init(gw_job_spec_t *spec)
{
    size_t  i;

    memset(spec, 0, sizeof(gw_job_spec_t));

    for (i = 0; i < gw_nelts(gw_spec_ints); i++) {
        *(int64_t *) ((char *) spec + gw_spec_ints[i]) = GW_UNSET_INT;
    }

    for (i = 0; i < gw_nelts(gw_spec_nums); i++) {
        *(double *) ((char *) spec + gw_spec_nums[i]) = GW_UNSET_NUM;
    }

    for (i = 0; i < GW_MAX_DATASETS; i++) {
        spec->train[i].weight = GW_UNSET_NUM;
        spec->valid[i].weight = GW_UNSET_NUM;
    }

    spec->learning_rate_param = "tuning.learning_rate";
}


void
gw_spec_free(gw_job_spec_t *spec)
{
    size_t  i;

    if (spec == NULL) {
        return;
    }

    for (i = 0; i < gw_nelts(gw_spec_strs); i++) {
        gw_free(*(char **) ((char *) spec + gw_spec_strs[i]));
    }

    /* every slot: a failed parse may have filled more than the count */
    for (i = 0; i < GW_MAX_DATASETS; i++) {
        gw_free(spec->train[i].ref);
        gw_free(spec->valid[i].ref);
        gw_free(spec->train[i].file_id);
        gw_free(spec->valid[i].file_id);
    }

    for (i = 0; i < spec->nlora_target_modules; i++) {
        gw_free(spec->lora_target_modules[i]);
    }

    gw_free(spec->lora_target_modules);
    gw_json_delete(spec->labels);
    gw_json_delete(spec->metadata);

    gw_spec_init(spec);
}


size_t
gw_spec_drop_unsupported(gw_job_spec_t *spec, uint64_t supported,
    char *names, size_t size)
{
    size_t       n, k;
    uint64_t     extra, flag;
    const char  *param;

    extra = spec->present & ~supported;
    names[0] = '\0';
    k = 0;

    for (n = 0; extra != 0; n++) {
        flag = extra & (~extra + 1);        /* the lowest bit */
        extra &= ~flag;
        spec->present &= ~flag;

        param = gw_field_param((gw_field_t) flag);
        k += gw_join(names + k, size - k, k ? ", " : "",
                     param ? param : "", NULL);

        if (k >= size) {
            k = size - 1;
        }
    }

    return n;
}


gw_rc_t
gw_spec_check_supported(const gw_job_spec_t *spec, uint64_t supported,
    const gw_provider_t *p, gw_error_t *err)
{
    uint64_t     extra, flag;
    const char  *param;

    extra = spec->present & ~supported;

    if (extra == 0) {
        return GW_OK;
    }

    flag = extra & (~extra + 1);        /* the lowest bit */

    param = gw_field_param((gw_field_t) flag);
    if (param == NULL) {
        param = "";
    }

    gw_error_set(err, 400, GW_TYPE_INVALID, param, "unsupported_parameter",
                 "provider '%s' (%s) does not support %s",
                 (p != NULL && p->name != NULL) ? p->name : "",
                 (p != NULL && p->vendor != NULL) ? p->vendor->kind : "",
                 param);

    return GW_ERROR;
}


const char *
gw_field_param(gw_field_t f)
{
    size_t  i;

    for (i = 0; i < gw_nelts(gw_field_params); i++) {
        if (gw_field_params[i].flag == (uint64_t) f) {
            return gw_field_params[i].param;
        }
    }

    return NULL;
}


/* ---- dataset references ------------------------------------------------ */


/* "scheme://bucket/path" */

gw_rc_t
gw_dataset_ref_parse(const char *ref, gw_dataset_ref_t *out)
{
    const char  *sep, *bucket, *slash;

    out->scheme = NULL;
    out->bucket = NULL;
    out->path = NULL;

    if (ref == NULL) {
        return GW_ERROR;
    }

    sep = strstr(ref, "://");
    if (sep == NULL || !gw_ref_scheme_ok(ref, sep - ref)) {
        return GW_ERROR;
    }

    bucket = sep + 3;

    slash = strchr(bucket, '/');
    if (slash == NULL || !gw_ref_part_ok(bucket, slash - bucket)
        || !gw_ref_path_ok(slash + 1))
    {
        return GW_ERROR;
    }

    out->scheme = gw_strndup(ref, sep - ref);
    out->bucket = gw_strndup(bucket, slash - bucket);
    out->path = gw_strdup(slash + 1);

    if (out->scheme == NULL || out->bucket == NULL || out->path == NULL) {
        gw_dataset_ref_free(out);
        return GW_NOMEM;
    }

    return GW_OK;
}


void
gw_dataset_ref_free(gw_dataset_ref_t *r)
{
    if (r == NULL) {
        return;
    }

    gw_free(r->scheme);
    gw_free(r->bucket);
    gw_free(r->path);

    r->scheme = NULL;
    r->bucket = NULL;
    r->path = NULL;
}


/* [a-z][a-z0-9+.-]{0,15} */

static int
gw_ref_scheme_ok(const char *s, size_t len)
{
    size_t  i;

    if (len == 0 || len > 16 || !(s[0] >= 'a' && s[0] <= 'z')) {
        return 0;
    }

    for (i = 1; i < len; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')
              || s[i] == '+' || s[i] == '.' || s[i] == '-'))
        {
            return 0;
        }
    }

    return 1;
}


/*
 * A bucket, or a segment of a path: not empty, not "..", no control
 * characters nor spaces (the spec's references have none either).
 */

static int
gw_ref_part_ok(const char *s, size_t len)
{
    size_t  i;

    if (len == 0 || (len == 2 && s[0] == '.' && s[1] == '.')) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if ((unsigned char) s[i] <= 0x20 || s[i] == 0x7f) {
            return 0;
        }
    }

    return 1;
}


/*
 * Segments split by '/'; an empty one is a leading '/' or a "//".  A
 * trailing '/' names a folder of files, so the last one may be empty.
 */

static int
gw_ref_path_ok(const char *s)
{
    const char  *slash;

    if (*s == '\0') {
        return 0;
    }

    for ( ;; ) {
        slash = strchr(s, '/');

        if (slash == NULL) {
            return *s == '\0' || gw_ref_part_ok(s, strlen(s));
        }

        if (!gw_ref_part_ok(s, slash - s)) {
            return 0;
        }

        s = slash + 1;
    }
}


/* the param that named dataset i: the OpenAI file field or a list item */
const char *
gw_dataset_param(const gw_job_spec_t *spec, int validation, size_t i,
    char *buf, size_t size)
{
    if (validation ? !spec->valid_listed : !spec->train_listed) {
        return validation ? "validation_file" : "training_file";
    }

    snprintf(buf, size, "tuning.%s_datasets[%zu].ref",
             validation ? "validation" : "training", i);

    return buf;
}


/* "param[i]", the name of an array item in errors, without snprintf() */

static void
gw_spec_item_param(char *buf, size_t size, const char *param, size_t i)
{
    char    index[24];
    size_t  n;

    index[0] = '[';
    n = 1 + gw_int_str(index + 1, (int64_t) i);
    index[n] = ']';
    index[n + 1] = '\0';

    gw_join(buf, size, param, index, NULL);
}
