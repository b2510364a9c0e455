
/*
 * One client request, from route to answer: client authentication, the
 * route, the canonical request, the vendor operation (a sequence of
 * calls stepped by the vendor's code) and the canonical answer.
 *
 * The list of jobs merges every provider by creation time behind one
 * cursor, the id of the last job returned; it only uses the vendors'
 * GW_OP_LIST step, so a new vendor plugs in without changing it.
 */


#include <sys/types.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <core/gw_core.h>
#include <gw_files.h>


#define GW_LIST_DEFAULT_LIMIT   20
#define GW_LIST_MAX_LIMIT       100
/* bounds the vendor pages one list request may read from one provider */
#define GW_LIST_MAX_PAGES       20


/* the answer of a list that a vendor cannot have entries in */
static const char  gw_empty_list[] =
    "{\"object\":\"list\",\"data\":[],\"has_more\":false}";


typedef struct {
    const char         *suffix;
    const char         *method;
    gw_op_kind_t        kind;
    int                 has_id;
} gw_route_t;


struct gw_exchange_s {
    gw_arena_t           *arena;     /* everything below, and what it holds */
    const gw_gateway_t   *gw;
    const gw_client_t    *client;
    char                  request_id[GW_REQUEST_ID_MAX + 1];
    int64_t               now_ms;

    gw_op_kind_t          kind;
    char                  job_id[GW_JOB_ID_MAX];
    char                  after[GW_JOB_ID_MAX];
    int64_t               limit;

    int                   models;    /* GET /v1/models: 1, .../{id}: 2 */
    int                   needs_body;
    int                   done;
    gw_result_t           result;

    gw_job_spec_t         spec;
    int                   has_spec;

    gw_vendor_response_t  resp;
    char                  retry_after[32];  /* of the last vendor answer */
    gw_op_t               op;

    /* DELETE of a staged file: what each provider staged, deleted */
    char                  file_id[GW_FILE_ID_MAX];
    cJSON                *unstaged;

    /* create: uploaded files staged to the vendor first (gw_stage.c) */
    gw_stager_t          *stager;
    gw_op_t               stage_op;      /* its provider is set while a
                                            staging call is in flight */

    /* list: one op per provider, stepped one provider after another */
    gw_op_t              *lists;
    size_t                nlists;
    size_t                current;
    gw_job_ref_t          cursor;
    int                   has_cursor;
    cJSON                *filter;    /* metadata[key]=value, or NULL */
    char                  dropped[512];  /* by a route: "seed, ..." */

    /* for gw_exchange_log_info() */
    int                   routed;    /* kind is a route's */
    char                  error_code[GW_NAME_MAX];
    char                  vendor_answer[16];  /* a failed one's status */
    int64_t               file_bytes;         /* the deleted file's */
};


static void gw_exchange_start(gw_exchange_t *ex, const gw_request_t *req);
static gw_next_t gw_exchange_advance(gw_exchange_t *ex, gw_call_t **call);
static void gw_exchange_fail(gw_exchange_t *ex, const gw_error_t *err);
static void gw_exchange_retry_after(gw_exchange_t *ex,
    const gw_vendor_response_t *resp);
static void gw_exchange_error(gw_exchange_t *ex, int status, const char *type,
    const char *param, const char *code, const char *message);
static void gw_exchange_answer(gw_exchange_t *ex, int status, cJSON *json);
static void gw_exchange_answer_text(gw_exchange_t *ex, int status,
    char *body, size_t len);
static void gw_exchange_request_id(gw_exchange_t *ex, const gw_request_t *req);
static int gw_exchange_route(gw_exchange_t *ex, const gw_request_t *req);
static int gw_exchange_query(gw_exchange_t *ex, const char *query,
    size_t len);
static int gw_exchange_filter(gw_exchange_t *ex, const char *query,
    size_t len);
static ssize_t gw_query_decode(const char *s, size_t n, char *out,
    size_t size);
static int gw_metadata_matches(const cJSON *filter, const cJSON *metadata);
static int gw_query_value(const char *query, size_t len, const char *name,
    char *out, size_t size);
static const gw_provider_t *gw_find_provider(const gw_gateway_t *gw,
    const char *name);
static int gw_op_init(gw_exchange_t *ex, gw_op_t *op, gw_op_kind_t kind,
    const gw_provider_t *p);
static int gw_exchange_start_job_op(gw_exchange_t *ex);
static void gw_exchange_start_create(gw_exchange_t *ex);
static int gw_exchange_route_models(gw_exchange_t *ex,
    const gw_request_t *req);
static void gw_exchange_models(gw_exchange_t *ex);
static int gw_exchange_note_dropped(gw_exchange_t *ex, gw_job_t *job);
static int gw_exchange_file_ids(gw_exchange_t *ex, gw_job_t *job);
static void gw_exchange_start_list(gw_exchange_t *ex);
static void gw_exchange_finish_job(gw_exchange_t *ex);
static void gw_exchange_finish_list(gw_exchange_t *ex);
static int gw_list_need_more(gw_exchange_t *ex, gw_op_t *op);
static int gw_list_add_unlisted(gw_exchange_t *ex, cJSON *json);
static int gw_list_visible(gw_exchange_t *ex, const gw_op_t *op,
    const gw_job_t *job);
static int gw_job_order(const gw_job_t *a, const char *pa, const gw_job_t *b,
    const char *pb);
static int gw_job_encode_id(gw_exchange_t *ex, const gw_op_t *op,
    const gw_job_t *job, char *id, size_t size);
static gw_next_t gw_exchange_step(gw_exchange_t *ex, gw_op_t *op,
    gw_call_t **call);
static gw_next_t gw_exchange_stage(gw_exchange_t *ex, gw_call_t **call);
static gw_next_t gw_exchange_unstage(gw_exchange_t *ex, gw_call_t **call);
static void gw_exchange_unstaged(gw_exchange_t *ex, gw_op_t *op, int ok);
static gw_exchange_t *gw_exchange_new(const gw_gateway_t *gw,
    const gw_request_t *req);


static const gw_route_t  gw_routes[] = {
    { "",             "POST", GW_OP_CREATE,      0 },
    { "",             "GET",  GW_OP_LIST,        0 },
    { "",             "GET",  GW_OP_RETRIEVE,    1 },
    { "/cancel",      "POST", GW_OP_CANCEL,      1 },
    { "/events",      "GET",  GW_OP_EVENTS,      1 },
    { "/checkpoints", "GET",  GW_OP_CHECKPOINTS, 1 },
    { NULL, NULL, 0, 0 }
};


/*
 * Each entry point makes the exchange's arena current while it runs: what
 * the translators allocate for this request comes from it.
 */

gw_exchange_t *
gw_exchange_create(const gw_gateway_t *gw, const gw_request_t *req)
{
    gw_arena_t     *prev;
    gw_exchange_t  *ex;

    ex = gw_exchange_new(gw, req);
    if (ex == NULL) {
        return NULL;
    }

    prev = gw_arena_use(ex->arena);
    gw_exchange_start(ex, req);
    gw_arena_use(prev);

    return ex;
}


/* an exchange in its own arena, nothing started */

static gw_exchange_t *
gw_exchange_new(const gw_gateway_t *gw, const gw_request_t *req)
{
    gw_arena_t     *arena, *prev;
    gw_exchange_t  *ex;

    arena = gw_arena_create(-1);
    if (arena == NULL) {
        return NULL;
    }

    prev = gw_arena_use(arena);

    ex = gw_malloc(sizeof(gw_exchange_t));

    if (ex != NULL) {
        memset(ex, 0, sizeof(gw_exchange_t));
        ex->arena = arena;
        ex->gw = gw;
        ex->now_ms = req->now_ms;
        ex->limit = GW_LIST_DEFAULT_LIMIT;
        gw_job_init(&ex->op.job);
    }

    gw_arena_use(prev);

    if (ex == NULL) {
        gw_arena_destroy(arena);
    }

    return ex;
}


/*
 * DELETE /v1/files/{id} of a file that was staged to vendors.  The file
 * leaves the store at once (its id is a 404 from now on); the exchange
 * then deletes what each provider staged (the vendor's GW_OP_UNSTAGE)
 * and answers OpenAI's deletion, with vendor.staged saying per provider
 * whether the vendor's copy went too.  *mine is 0, and NULL returned, for
 * any other request: the Files API's own code answers it.
 */
gw_exchange_t *
gw_exchange_unstage_create(const gw_gateway_t *gw, const gw_request_t *req,
    int *mine)
{
    char                  ref[512];
    size_t                i, n;
    int64_t               records;
    gw_file_t             f;
    gw_op_t              *op;
    gw_arena_t           *prev;
    gw_exchange_t        *ex;
    gw_files_req_t        fr;
    const gw_provider_t  *p;

    *mine = 0;

    if (gw->files_root == NULL || req->method_len != 6
        || memcmp(req->method, "DELETE", 6) != 0
        || gw_files_route(gw, req, &fr) != GW_FILES_DELETE
        || gw_store_get(gw->files_root, fr.client->name, fr.key, &f) != 0)
    {
        return NULL;
    }

    for (i = 0, n = 0; i < gw->nproviders; i++) {
        p = &gw->providers[i];
        n += (p->vendor != NULL && p->vendor->ops[GW_OP_UNSTAGE] != NULL
              && gw_store_staged_get(gw->files_root, fr.client->name,
                                     fr.key, p->name, ref, sizeof(ref),
                                     &records)
                 == 0);
    }

    if (n == 0) {
        return NULL;
    }

    *mine = 1;

    ex = gw_exchange_new(gw, req);
    if (ex == NULL) {
        return NULL;
    }

    prev = gw_arena_use(ex->arena);

    gw_exchange_request_id(ex, req);
    ex->client = fr.client;
    ex->kind = GW_OP_UNSTAGE;
    ex->routed = 1;
    ex->file_bytes = f.bytes;
    gw_copy(ex->file_id, sizeof(ex->file_id), fr.id);

    ex->lists = gw_calloc(n, sizeof(gw_op_t));
    ex->unstaged = cJSON_CreateArray();

    if (ex->lists == NULL || ex->unstaged == NULL) {
        gw_exchange_error(ex, 503, GW_TYPE_API, NULL, "out_of_memory",
                          "The gateway is out of memory");
        gw_arena_use(prev);
        return ex;
    }

    for (i = 0; i < gw->nproviders && ex->nlists < n; i++) {
        p = &gw->providers[i];

        if (p->vendor == NULL || p->vendor->ops[GW_OP_UNSTAGE] == NULL
            || gw_store_staged_get(gw->files_root, fr.client->name, fr.key,
                                   p->name, ref, sizeof(ref), &records)
               != 0)
        {
            continue;
        }

        op = &ex->lists[ex->nlists++];

        if (gw_op_init(ex, op, GW_OP_UNSTAGE, p) != 0) {
            gw_arena_use(prev);
            return ex;
        }

        gw_copy(op->stage.ref, sizeof(op->stage.ref), ref);
    }

    /* the file is gone for the client whatever the vendors answer */
    (void) gw_store_delete(gw->files_root, fr.client->name, fr.key);

    gw_arena_use(prev);

    return ex;
}


static void
gw_exchange_start(gw_exchange_t *ex, const gw_request_t *req)
{
    const gw_gateway_t  *gw = ex->gw;

    gw_exchange_request_id(ex, req);

    if (ex->done) {
        return;
    }

    ex->client = gw_client_authenticate(gw, req->authorization,
                                 req->authorization_len);

    if (ex->client == NULL) {
        gw_exchange_error(ex, 401, GW_TYPE_AUTH, NULL,
                          req->authorization ? "invalid_api_key"
                                             : "missing_api_key",
                          req->authorization
                          ? "Incorrect API key provided"
                          : "You didn't provide an API key: send "
                            "\"Authorization: Bearer <gateway key>\"");
        return;
    }

    if (gw_exchange_route_models(ex, req)) {
        if (!ex->done) {
            gw_exchange_models(ex);
        }

        return;
    }

    if (gw_exchange_route(ex, req) != 0) {
        return;
    }

    if (gw_exchange_query(ex, req->query, req->query_len) != 0) {
        return;
    }

    switch (ex->kind) {

    case GW_OP_CREATE:
        ex->needs_body = 1;
        break;

    case GW_OP_LIST:
        gw_exchange_start_list(ex);
        break;

    default:
        gw_exchange_start_job_op(ex);
        break;
    }
}


int
gw_exchange_needs_body(const gw_exchange_t *ex)
{
    return ex->needs_body && !ex->done;
}


void
gw_exchange_set_body(gw_exchange_t *ex, const char *body, size_t len)
{
    gw_arena_t  *prev;
    gw_error_t   err;

    ex->needs_body = 0;

    prev = gw_arena_use(ex->arena);

    if (gw_spec_parse(body, len, &ex->spec, &err) != GW_OK) {
        gw_exchange_fail(ex, &err);

    } else {
        ex->has_spec = 1;
        gw_exchange_start_create(ex);
    }

    gw_arena_use(prev);
}


void
gw_error_body_too_large(gw_error_t *err, size_t max)
{
    gw_error_set(err, 413, GW_TYPE_INVALID, NULL, "request_too_large",
                 "The request body exceeds the gateway's limit of %zu bytes",
                 max);
}


void
gw_error_limited(gw_error_t *err, int status)
{
    if (status == 429) {
        gw_error_set(err, 429, GW_TYPE_RATE_LIMIT, NULL,
                     "rate_limit_exceeded", "Too many requests from this "
                     "client: the gateway's rate limit was reached; retry "
                     "later");
        return;
    }

    gw_error_set(err, 503, GW_TYPE_API, NULL, "service_unavailable",
                 "The gateway is busy: retry later");
}


void
gw_exchange_body_too_large(gw_exchange_t *ex, size_t max)
{
    gw_error_t   err;
    gw_arena_t  *prev;

    ex->needs_body = 0;
    gw_error_body_too_large(&err, max);

    prev = gw_arena_use(ex->arena);
    gw_exchange_fail(ex, &err);
    gw_arena_use(prev);
}


int
gw_exchange_idempotency(gw_exchange_t *ex, const char *key, size_t key_len,
    const char *body, size_t body_len, unsigned char key_digest[32],
    unsigned char body_digest[32])
{
    size_t       i, n;
    char        *buf;
    gw_arena_t  *prev;

    prev = gw_arena_use(ex->arena);

    /* what Stripe and OpenAI accept: 1 to 255 visible ASCII characters */
    for (i = 0; i < key_len; i++) {
        if (key[i] <= 0x20 || key[i] >= 0x7f) {
            break;
        }
    }

    if (ex->done || ex->client == NULL || key_len == 0 || key_len > 255
        || i != key_len)
    {
        if (!ex->done) {
            ex->needs_body = 0;
            gw_exchange_error(ex, 400, GW_TYPE_INVALID, "Idempotency-Key",
                              "invalid_value", "Idempotency-Key must be 1 "
                              "to 255 visible ASCII characters");
        }

        gw_arena_use(prev);
        return -1;
    }

    /* the client's name and the key: one client cannot reach another's */
    n = strlen(ex->client->name);
    buf = gw_malloc(n + 1 + key_len);

    if (buf == NULL) {
        ex->needs_body = 0;
        gw_exchange_error(ex, 503, GW_TYPE_API, NULL, "out_of_memory",
                          "The gateway is out of memory");
        gw_arena_use(prev);
        return -1;
    }

    memcpy(buf, ex->client->name, n);
    buf[n] = '\0';
    memcpy(buf + n + 1, key, key_len);

    gw_sha256(buf, n + 1 + key_len, key_digest);
    gw_sha256(body, body_len, body_digest);

    gw_free(buf);
    gw_arena_use(prev);

    return 0;
}


void
gw_exchange_replay(gw_exchange_t *ex, int status, const char *body,
    size_t len)
{
    char        *copy;
    gw_arena_t  *prev;

    prev = gw_arena_use(ex->arena);

    ex->needs_body = 0;
    copy = gw_malloc(len + 1);

    if (copy == NULL) {
        gw_exchange_error(ex, 503, GW_TYPE_API, NULL, "out_of_memory",
                          "The gateway is out of memory");
        gw_arena_use(prev);
        return;
    }

    memcpy(copy, body, len);
    copy[len] = '\0';

    gw_exchange_answer_text(ex, status, copy, len);
    gw_arena_use(prev);
}


void
gw_exchange_key_reused(gw_exchange_t *ex)
{
    gw_arena_t  *prev;

    prev = gw_arena_use(ex->arena);
    ex->needs_body = 0;
    gw_exchange_error(ex, 400, GW_TYPE_INVALID, "Idempotency-Key",
                      "idempotency_key_reused", "This Idempotency-Key was "
                      "used with another request body in the last 24 "
                      "hours: use a new key for a new job");
    gw_arena_use(prev);
}


int
gw_result_kept(const gw_result_t *res)
{
    /* 408, 409 and 429 may well pass on a retry: not kept */
    return (res->http_status >= 200 && res->http_status < 300)
           || (res->http_status >= 400 && res->http_status < 500
               && res->http_status != 408 && res->http_status != 409
               && res->http_status != 429);
}


gw_next_t
gw_exchange_next(gw_exchange_t *ex, gw_call_t **call)
{
    gw_next_t    rc;
    gw_arena_t  *prev;

    prev = gw_arena_use(ex->arena);
    rc = gw_exchange_advance(ex, call);
    gw_arena_use(prev);

    return rc;
}


static gw_next_t
gw_exchange_advance(gw_exchange_t *ex, gw_call_t **call)
{
    gw_op_t    *op;
    gw_next_t   rc;

    while (!ex->done) {

        if (ex->stager != NULL) {
            rc = gw_exchange_stage(ex, call);

            if (rc != GW_NEXT_DONE) {
                return rc;
            }

            continue;
        }

        if (ex->kind == GW_OP_UNSTAGE) {
            return gw_exchange_unstage(ex, call);
        }

        if (ex->kind != GW_OP_LIST) {
            return gw_exchange_step(ex, &ex->op, call);
        }

        if (ex->current == ex->nlists) {
            gw_exchange_finish_list(ex);
            break;
        }

        op = &ex->lists[ex->current];

        if (op->step == 0 && !gw_list_need_more(ex, op)) {
            ex->current++;
            continue;
        }

        if (gw_exchange_step(ex, op, call) == GW_NEXT_CALL) {
            return GW_NEXT_CALL;
        }

        /* a page is in: the next page starts a new vendor call sequence */
        op->step = 0;
        op->resp = NULL;
    }

    *call = NULL;
    return GW_NEXT_DONE;
}


static gw_next_t
gw_exchange_step(gw_exchange_t *ex, gw_op_t *op, gw_call_t **call)
{
    gw_step_t  rc;

    /* a fresh call; the header slots are written as they are used */
    gw_call_reset(&op->call);

    rc = op->provider->vendor->ops[op->kind](op);

    /* a call whose path, query or headers could not be copied */
    if (rc == GW_STEP_CALL && op->call.failed) {
        gw_op_nomem(op);
        rc = GW_STEP_ERROR;
    }

    switch (rc) {

    case GW_STEP_CALL:
        op->call.provider = op->provider;
        *call = &op->call;
        return GW_NEXT_CALL;

    case GW_STEP_ERROR:
        /* a vendor's code and text, whatever field they went into */
        gw_redact(op->provider, op->err.code, sizeof(op->err.code));
        gw_redact(op->provider, op->err.message, sizeof(op->err.message));
        gw_exchange_fail(ex, &op->err);
        break;

    default:
        if (ex->kind != GW_OP_LIST) {
            gw_exchange_finish_job(ex);
        }
        break;
    }

    *call = NULL;
    return GW_NEXT_DONE;
}


/*
 * The staging of a create's uploaded files, before its vendor op: a
 * bounded step of conversion (GW_NEXT_AGAIN, *call NULL), a call of the
 * vendor's GW_OP_STAGE, or GW_NEXT_DONE once every file is named in the
 * spec (ex->stager freed) or the exchange failed.
 */

static gw_next_t
gw_exchange_stage(gw_exchange_t *ex, gw_call_t **call)
{
    gw_op_t        *op;
    gw_step_t       rc;
    gw_error_t      err;
    gw_stage_rc_t   src;

    op = &ex->stage_op;
    *call = NULL;

    for ( ;; ) {

        if (op->provider == NULL) {
            src = gw_stage_work(ex->stager, op, &err);

            if (src == GW_STAGE_AGAIN) {
                return GW_NEXT_AGAIN;
            }

            if (src == GW_STAGE_DONE) {
                gw_stage_free(ex->stager);
                ex->stager = NULL;
                return GW_NEXT_DONE;
            }

            if (src == GW_STAGE_ERROR
                || gw_op_init(ex, op, GW_OP_STAGE, ex->op.provider) != 0)
            {
                if (src == GW_STAGE_ERROR) {
                    gw_exchange_fail(ex, &err);
                }

                gw_stage_free(ex->stager);
                ex->stager = NULL;
                return GW_NEXT_DONE;
            }
        }

        gw_call_reset(&op->call);
        rc = op->provider->vendor->ops[GW_OP_STAGE](op);

        if (rc == GW_STEP_CALL && op->call.failed) {
            gw_op_nomem(op);
            rc = GW_STEP_ERROR;
        }

        if (rc == GW_STEP_CALL) {
            op->call.provider = op->provider;
            *call = &op->call;
            return GW_NEXT_CALL;
        }

        if (rc == GW_STEP_DONE
            && gw_stage_put_done(ex->stager, op, &op->err) == GW_OK)
        {
            /* the next file, or the create */
            gw_op_reset(op);
            memset(op, 0, sizeof(gw_op_t));
            continue;
        }

        /* the vendor refused it: nothing was created */
        gw_redact(op->provider, op->err.code, sizeof(op->err.code));
        gw_redact(op->provider, op->err.message, sizeof(op->err.message));
        gw_exchange_fail(ex, &op->err);
        gw_stage_free(ex->stager);
        ex->stager = NULL;
        return GW_NEXT_DONE;
    }
}


/*
 * A deleted file's staged copies, one provider after another: a vendor's
 * refusal is reported in the answer, never fails the deletion
 */
static gw_next_t
gw_exchange_unstage(gw_exchange_t *ex, gw_call_t **call)
{
    char       *body;
    size_t      len;
    cJSON      *json, *vendor;
    gw_op_t    *op;
    gw_step_t   rc;

    *call = NULL;

    while (ex->current < ex->nlists) {
        op = &ex->lists[ex->current];

        gw_call_reset(&op->call);
        rc = op->provider->vendor->ops[GW_OP_UNSTAGE](op);

        if (rc == GW_STEP_CALL && op->call.failed) {
            gw_op_nomem(op);
            rc = GW_STEP_ERROR;
        }

        if (rc == GW_STEP_CALL) {
            op->call.provider = op->provider;
            *call = &op->call;
            return GW_NEXT_CALL;
        }

        gw_exchange_unstaged(ex, op, rc == GW_STEP_DONE);
        ex->current++;
    }

    body = gw_file_deleted_json(ex->file_id, &len);
    json = body ? gw_json_parse(body, len, NULL) : NULL;
    gw_files_free(body);

    vendor = cJSON_CreateObject();

    if (json == NULL || vendor == NULL
        || !cJSON_AddItemToObject(json, "vendor", vendor))
    {
        gw_json_delete(vendor);
        gw_json_delete(json);
        gw_exchange_error(ex, 503, GW_TYPE_API, NULL, "out_of_memory",
                          "The gateway is out of memory");
        return GW_NEXT_DONE;
    }

    cJSON_AddItemToObject(vendor, "staged", ex->unstaged);
    ex->unstaged = NULL;

    gw_exchange_answer(ex, 200, json);

    return GW_NEXT_DONE;
}


/* {"provider", "deleted"[, "error": {"code", "message"}]}, redacted */
static void
gw_exchange_unstaged(gw_exchange_t *ex, gw_op_t *op, int ok)
{
    cJSON  *item, *error;

    item = cJSON_CreateObject();
    if (item == NULL) {
        return;
    }

    cJSON_AddStringToObject(item, "provider", op->provider->name);
    cJSON_AddBoolToObject(item, "deleted", ok);

    if (!ok) {
        gw_redact(op->provider, op->err.code, sizeof(op->err.code));
        gw_redact(op->provider, op->err.message, sizeof(op->err.message));

        error = cJSON_AddObjectToObject(item, "error");
        if (error != NULL) {
            cJSON_AddStringToObject(error, "code", op->err.code);
            cJSON_AddStringToObject(error, "message", op->err.message);
        }
    }

    cJSON_AddItemToArray(ex->unstaged, item);
}


void
gw_exchange_feed(gw_exchange_t *ex, const gw_vendor_response_t *resp)
{
    gw_op_t  *op;

    if (ex->stage_op.provider != NULL) {
        op = &ex->stage_op;

    } else {
        op = (ex->kind == GW_OP_LIST || ex->kind == GW_OP_UNSTAGE)
             ? &ex->lists[ex->current] : &ex->op;
    }

    ex->resp = *resp;
    op->resp = &ex->resp;
    op->step++;

    ex->vendor_answer[0] = '\0';

    if (resp->transport == GW_TRANSPORT_OK && resp->grpc_status > 0) {
        snprintf(ex->vendor_answer, sizeof(ex->vendor_answer), "grpc-%d",
                 resp->grpc_status);

    } else if (resp->transport == GW_TRANSPORT_OK
               && (resp->status < 200 || resp->status > 299))
    {
        snprintf(ex->vendor_answer, sizeof(ex->vendor_answer), "%d",
                 resp->status);
    }

    gw_exchange_retry_after(ex, resp);
}


const gw_result_t *
gw_exchange_result(gw_exchange_t *ex)
{
    gw_arena_t  *prev;

    if (!ex->done) {
        prev = gw_arena_use(ex->arena);
        gw_exchange_error(ex, 503, GW_TYPE_API, NULL, "incomplete",
                          "The gateway could not complete the request");
        gw_arena_use(prev);
    }

    return &ex->result;
}


static const char  *gw_op_names[] = {
    "create", "retrieve", "cancel", "list", "events", "checkpoints",
    "stage", "file_delete"
};


void
gw_exchange_log_info(gw_exchange_t *ex, gw_log_info_t *info)
{
    const gw_job_spec_t  *spec;

    memset(info, 0, sizeof(gw_log_info_t));

    info->request_id = ex->request_id;
    info->client = ex->client ? ex->client->name : NULL;
    info->operation = ex->models ? "models"
                      : ex->routed ? gw_op_names[ex->kind] : NULL;
    info->error_code = ex->error_code[0] ? ex->error_code : NULL;
    info->vendor_status = ex->vendor_answer[0] ? ex->vendor_answer : NULL;

    if (ex->kind == GW_OP_UNSTAGE) {
        info->file_id = ex->file_id;
        info->file_change = -1;
        info->file_bytes = ex->file_bytes;
        return;
    }

    if (ex->models || ex->kind == GW_OP_LIST) {
        return;
    }

    /* a job's provider once its id verified or its create was routed */
    if (ex->op.provider == NULL) {
        return;
    }

    info->provider = ex->op.provider->name;
    info->job_id = ex->job_id[0] ? ex->job_id : NULL;

    /* redacted once the answer is made */
    if (ex->done && ex->result.http_status < 300
        && ex->op.job.vendor_status != NULL)
    {
        info->vendor_status = ex->op.job.vendor_status;
    }

    if (ex->kind == GW_OP_CREATE && ex->has_spec) {
        spec = &ex->spec;
        info->route = spec->route;
        info->file_id = (spec->ntrain > 0) ? spec->train[0].file_id : NULL;
    }
}


void
gw_exchange_free(gw_exchange_t *ex)
{
    size_t       i;
    gw_arena_t  *arena, *prev;

    if (ex == NULL) {
        return;
    }

    /* the arena's objects need no freeing; what came from malloc() does */
    arena = ex->arena;
    prev = gw_arena_use(arena);

    gw_op_reset(&ex->op);
    gw_op_reset(&ex->stage_op);
    gw_stage_free(ex->stager);
    gw_json_delete(ex->filter);
    gw_json_delete(ex->unstaged);

    for (i = 0; i < ex->nlists; i++) {
        gw_op_reset(&ex->lists[i]);
    }

    gw_free(ex->lists);

    if (ex->has_spec) {
        gw_spec_free(&ex->spec);
    }

    gw_free(ex->result.body);
    gw_free(ex);

    gw_arena_use(prev == arena ? NULL : prev);
    gw_arena_destroy(arena);
}


/* ---- answers ------------------------------------------------------- */


static void
gw_exchange_fail(gw_exchange_t *ex, const gw_error_t *err)
{
    char  *body;

    ex->done = 1;
    ex->result.http_status = err->http_status;
    ex->result.request_id = ex->request_id;
    gw_copy(ex->error_code, sizeof(ex->error_code), err->code);

    body = gw_error_json(err);
    ex->result.body = body;
    ex->result.body_len = body ? strlen(body) : 0;

    if (body == NULL) {
        ex->result.http_status = 503;
    }

    /* the vendor's own word on when to retry, for the client's SDK */
    if ((ex->result.http_status == 429 || ex->result.http_status == 503)
        && ex->retry_after[0] != '\0')
    {
        ex->result.retry_after = ex->retry_after;
    }
}


/*
 * The last vendor answer's Retry-After, kept when it is a plain value:
 * delay-seconds or an HTTP-date (RFC 9110), nothing that could split a
 * header.
 */
static void
gw_exchange_retry_after(gw_exchange_t *ex, const gw_vendor_response_t *resp)
{
    char    c;
    size_t  i, n;

    ex->retry_after[0] = '\0';

    n = resp->retry_after_len;

    if (resp->retry_after == NULL || n == 0 || n >= sizeof(ex->retry_after)) {
        return;
    }

    for (i = 0; i < n; i++) {
        c = resp->retry_after[i];

        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z')
              || (c >= 'a' && c <= 'z') || c == ' ' || c == ',' || c == ':'))
        {
            return;
        }
    }

    memcpy(ex->retry_after, resp->retry_after, n);
    ex->retry_after[n] = '\0';
}


static void
gw_exchange_error(gw_exchange_t *ex, int status, const char *type,
    const char *param, const char *code, const char *message)
{
    gw_error_t  err;

    gw_error_set(&err, status, type, param, code, "%s", message);
    gw_exchange_fail(ex, &err);
}


static void
gw_exchange_answer(gw_exchange_t *ex, int status, cJSON *json)
{
    char    *body;
    size_t   len;

    len = 0;
    body = (json != NULL) ? gw_json_print(json, &len) : NULL;
    gw_json_delete(json);

    gw_exchange_answer_text(ex, status, body, len);
}


/* body: printed JSON the exchange now owns; NULL if it could not be */

static void
gw_exchange_answer_text(gw_exchange_t *ex, int status, char *body,
    size_t len)
{
    if (body == NULL) {
        gw_exchange_error(ex, 503, GW_TYPE_API, NULL, "out_of_memory",
                          "The gateway is out of memory");
        return;
    }

    ex->result.body = body;
    ex->result.body_len = len;
    ex->done = 1;
    ex->result.http_status = status;
    ex->result.request_id = ex->request_id;
}


/* ---- request id, authentication, route ----------------------------- */


static void
gw_exchange_request_id(gw_exchange_t *ex, const gw_request_t *req)
{
    size_t       i;
    const char  *id;

    id = req->generated_request_id ? req->generated_request_id : "";
    gw_copy(ex->request_id, sizeof(ex->request_id), id);

    if (req->request_id == NULL) {
        return;
    }

    /* it reaches a vendor header: a token of safe characters only */
    if (req->request_id_len == 0 || req->request_id_len > GW_REQUEST_ID_MAX) {
        goto invalid;
    }

    for (i = 0; i < req->request_id_len; i++) {
        if (!isalnum((unsigned char) req->request_id[i])
            && (req->request_id[i] == '\0'
                || strchr("._:-", req->request_id[i]) == NULL))
        {
            goto invalid;
        }
    }

    memcpy(ex->request_id, req->request_id, req->request_id_len);
    ex->request_id[req->request_id_len] = '\0';
    return;

invalid:

    gw_exchange_error(ex, 400, GW_TYPE_INVALID, "x-request-id",
                      "invalid_value",
                      "The X-Request-Id header must be 1 to 128 characters "
                      "of A-Z, a-z, 0-9, '.', '_', ':' and '-'");
}


void
gw_client_prepare(gw_client_t *client)
{
    gw_sha256(client->key, client->key_len, client->key_sha256);
    client->prepared = 1;
}


/*
 * GET /v1/models and /v1/models/{id}: 1 when the path is one of them
 * (ex->models set, or the exchange answered), else 0.
 */
static int
gw_exchange_route_models(gw_exchange_t *ex, const gw_request_t *req)
{
    size_t       n, at;
    const char  *end, *id;

    if (!gw_api_root(req->path, req->path_len, "/models", &at)) {
        return 0;
    }

    end = req->path + req->path_len;
    id = req->path + at;

    /* "/models", "/models/" or "/models/<id>" without another '/' */
    n = end - id;

    if (n > 1 && memchr(id + 1, '/', n - 1) != NULL) {
        return 0;
    }

    if (req->method_len != 3 || memcmp(req->method, "GET", 3) != 0) {
        gw_exchange_error(ex, 405, GW_TYPE_INVALID, NULL,
                          "method_not_allowed",
                          "This method is not allowed on this path");
        return 1;
    }

    ex->models = 1;

    if (n > 1) {
        if (n - 1 >= sizeof(ex->job_id)) {
            n = sizeof(ex->job_id);
        }

        memcpy(ex->job_id, id + 1, n - 1);
        ex->job_id[n - 1] = '\0';
        ex->models = 2;
    }

    return 1;
}


/* the routes and provider models this client may fine-tune */
static void
gw_exchange_models(gw_exchange_t *ex)
{
    cJSON  *json;

    json = gw_models_json(ex->gw, ex->client,
                          (ex->models == 2) ? ex->job_id : NULL);

    if (json != NULL) {
        gw_exchange_answer(ex, 200, json);
        return;
    }

    if (ex->models == 2) {
        gw_exchange_error(ex, 404, GW_TYPE_NOT_FOUND, "model",
                          "model_not_found", "The model does not exist or "
                          "you do not have access to it");
        return;
    }

    gw_exchange_error(ex, 503, GW_TYPE_API, NULL, "out_of_memory",
                      "The gateway is out of memory");
}


static int
gw_exchange_route(gw_exchange_t *ex, const gw_request_t *req)
{
    size_t             n, idlen, at;
    const char        *p, *end, *rest, *slash;
    const gw_route_t  *r;

    end = req->path + req->path_len;
    p = NULL;

    /* the location decides the prefix ("/v1/"); the route is the tail */
    if (gw_api_root(req->path, req->path_len, "/fine_tuning/jobs", &at)) {
        p = req->path + at;
    }

    if (p == NULL) {
        goto not_found;
    }

    idlen = 0;
    rest = p;

    if (p < end && p + 1 < end) {
        slash = memchr(p + 1, '/', end - p - 1);
        idlen = (slash ? slash : end) - (p + 1);
        rest = p + 1 + idlen;

        if (idlen >= sizeof(ex->job_id)) {
            goto job_not_found;
        }

        memcpy(ex->job_id, p + 1, idlen);
        ex->job_id[idlen] = '\0';

    } else if (p < end) {
        rest = end;     /* a trailing slash */
    }

    n = end - rest;

    for (r = gw_routes; r->suffix != NULL; r++) {
        if ((idlen > 0) != r->has_id || strlen(r->suffix) != n
            || memcmp(r->suffix, rest, n) != 0)
        {
            continue;
        }

        if (strlen(r->method) != req->method_len
            || memcmp(r->method, req->method, req->method_len) != 0)
        {
            continue;
        }

        ex->kind = r->kind;
        ex->routed = 1;
        return 0;
    }

    for (r = gw_routes; r->suffix != NULL; r++) {
        if ((idlen > 0) == r->has_id && strlen(r->suffix) == n
            && memcmp(r->suffix, rest, n) == 0)
        {
            gw_exchange_error(ex, 405, GW_TYPE_INVALID, NULL,
                              "method_not_allowed",
                              "This method is not allowed on this path");
            return -1;
        }
    }

not_found:

    gw_exchange_error(ex, 404, GW_TYPE_NOT_FOUND, NULL, "unknown_url",
                      "Unknown request URL: this gateway serves "
                      "/v1/fine_tuning/jobs");
    return -1;

job_not_found:

    gw_exchange_error(ex, 404, GW_TYPE_NOT_FOUND, "id", "job_not_found",
                      "Could not find the fine-tuning job");
    return -1;
}


static int
gw_exchange_query(gw_exchange_t *ex, const char *query, size_t len)
{
    int    rc;
    char   value[32], *end;
    long   limit;

    if (query == NULL || len == 0) {
        return 0;
    }

    rc = gw_query_value(query, len, "after", ex->after, sizeof(ex->after));
    if (rc < 0) {
        gw_exchange_error(ex, 400, GW_TYPE_INVALID, "after", "invalid_value",
                          "after must be a fine-tuning job or event id");
        return -1;
    }

    rc = gw_query_value(query, len, "limit", value, sizeof(value));
    if (rc > 0) {
        limit = strtol(value, &end, 10);

        /* digits only: strtol() would take "+5" and " 5" */
        if (*end != '\0' || value[0] == '\0'
            || strspn(value, "0123456789") != strlen(value) || limit < 1
            || limit > GW_LIST_MAX_LIMIT)
        {
            rc = -1;

        } else {
            ex->limit = limit;
        }
    }

    if (rc < 0) {
        gw_exchange_error(ex, 400, GW_TYPE_INVALID, "limit", "invalid_value",
                          "limit must be an integer from 1 to 100");
        return -1;
    }

    if (gw_query_value(query, len, "metadata", value, sizeof(value)) != 0) {
        return gw_exchange_filter(ex, query, len);
    }

    return 0;
}


/*
 * metadata[key]=value, as many as 16, each to hold on a listed job's
 * metadata; on the list only.  Keys and values are percent-decoded.
 */
static int
gw_exchange_filter(gw_exchange_t *ex, const char *query, size_t len)
{
    char         name[600], value[600];
    size_t       n;
    ssize_t      nl, vl;
    const char  *p, *end, *amp, *eq;

    if (ex->kind != GW_OP_LIST || ex->models) {
        gw_exchange_error(ex, 400, GW_TYPE_INVALID, "metadata",
                          "unsupported_parameter", "metadata filters only "
                          "GET /fine_tuning/jobs");
        return -1;
    }

    ex->filter = cJSON_CreateObject();
    if (ex->filter == NULL) {
        gw_exchange_error(ex, 503, GW_TYPE_API, NULL, "out_of_memory",
                          "The gateway is out of memory");
        return -1;
    }

    end = query + len;
    n = 0;

    for (p = query; p < end; p = amp + 1) {
        amp = memchr(p, '&', end - p);
        if (amp == NULL) {
            amp = end;
        }

        eq = memchr(p, '=', amp - p);
        nl = gw_query_decode(p, (eq ? eq : amp) - p, name, sizeof(name));

        if (nl < 8 || memcmp(name, "metadata", 8) != 0) {
            continue;
        }

        vl = eq ? gw_query_decode(eq + 1, amp - eq - 1, value, sizeof(value))
                : 0;

        /* metadata[<1 to 64 bytes>]=<at most 512 bytes> */
        if (nl < 11 || name[8] != '[' || name[nl - 1] != ']' || nl - 10 > 64
            || vl < 0 || vl > 512 || ++n > 16
            || memchr(name, '\0', nl) != NULL
            || memchr(value, '\0', vl) != NULL)
        {
            gw_exchange_error(ex, 400, GW_TYPE_INVALID, "metadata",
                              "invalid_value", "filter with at most 16 of "
                              "metadata[<key>]=<value>");
            return -1;
        }

        name[nl - 1] = '\0';
        value[vl] = '\0';

        if (cJSON_AddStringToObject(ex->filter, name + 9, value) == NULL) {
            gw_exchange_error(ex, 503, GW_TYPE_API, NULL, "out_of_memory",
                              "The gateway is out of memory");
            return -1;
        }
    }

    return 0;
}


/* percent-decoded s (n bytes) into out: its length, or -1 (malformed, too
 * long, or holding a NUL) */
static ssize_t
gw_query_decode(const char *s, size_t n, char *out, size_t size)
{
    char    hex[3];
    size_t  i, k;

    k = 0;

    for (i = 0; i < n; i++) {
        if (k + 1 >= size) {
            return -1;
        }

        if (s[i] == '%') {
            if (n - i < 3 || !isxdigit((unsigned char) s[i + 1])
                || !isxdigit((unsigned char) s[i + 2]))
            {
                return -1;
            }

            hex[0] = s[i + 1];
            hex[1] = s[i + 2];
            hex[2] = '\0';
            out[k] = (char) strtol(hex, NULL, 16);
            i += 2;

            /* %00 would cut the value short where it is read as a string */
            if (out[k++] == '\0') {
                return -1;
            }

            continue;
        }

        out[k++] = (s[i] == '+') ? ' ' : s[i];
    }

    out[k] = '\0';

    return (ssize_t) k;
}


/*
 * Finds name=value (or name[...]=value) in a raw query and percent-decodes
 * value into out.  Returns 1 if found, 0 if absent, -1 if malformed or
 * too long.
 */
static int
gw_query_value(const char *query, size_t len, const char *name, char *out,
    size_t size)
{
    size_t       nlen;
    const char  *p, *end, *amp, *v;

    nlen = strlen(name);
    end = query + len;

    for (p = query; p < end; p = amp + 1) {
        amp = memchr(p, '&', end - p);
        if (amp == NULL) {
            amp = end;
        }

        if ((size_t) (amp - p) < nlen || memcmp(p, name, nlen) != 0) {
            continue;
        }

        /* name[key]=value, its bracket raw or percent-encoded: found,
         * with a value no scalar parameter accepts */
        if (p + nlen < amp && (p[nlen] == '['
                               || (amp - p - nlen >= 3
                                   && strncasecmp(p + nlen, "%5b", 3) == 0)))
        {
            out[0] = '\0';
            return 1;
        }

        if (p + nlen < amp && p[nlen] != '=') {
            continue;
        }

        v = (p + nlen < amp) ? p + nlen + 1 : amp;

        return (gw_query_decode(v, amp - v, out, size) < 0) ? -1 : 1;
    }

    return 0;
}


/* ---- single-job operations ----------------------------------------- */


static const gw_provider_t *
gw_find_provider(const gw_gateway_t *gw, const char *name)
{
    size_t  i;

    for (i = 0; i < gw->nproviders; i++) {
        if (strcmp(gw->providers[i].name, name) == 0) {
            return &gw->providers[i];
        }
    }

    return NULL;
}


/* -1 (the exchange answered 503) when the vendor's state cannot be had */
static int
gw_op_init(gw_exchange_t *ex, gw_op_t *op, gw_op_kind_t kind,
    const gw_provider_t *p)
{
    op->kind = kind;
    op->provider = p;
    op->client = ex->client;
    op->owner_keys = ex->gw->id_keys;
    op->nowner_keys = ex->gw->nid_keys;
    op->cache = &ex->gw->cache;
    op->request_id = ex->request_id;
    op->now_ms = ex->now_ms;
    gw_job_init(&op->job);

    /* the vendor's own state, zeroed, freed with the exchange's arena */
    if (p->vendor->state_size != 0) {
        op->state = gw_calloc(1, p->vendor->state_size);

        if (op->state == NULL) {
            gw_exchange_error(ex, 503, GW_TYPE_API, NULL, "out_of_memory",
                              "The gateway is out of memory");
            return -1;
        }
    }

    return 0;
}


static int
gw_exchange_start_job_op(gw_exchange_t *ex)
{
    gw_op_kind_t          kind;
    const gw_provider_t  *p;

    p = NULL;

    if (gw_job_id_verify(ex->job_id, strlen(ex->job_id), ex->client->name,
                         ex->gw->id_keys, ex->gw->nid_keys, &ex->op.ref)
        == GW_OK)
    {
        p = gw_find_provider(ex->gw, ex->op.ref.provider);
    }

    if (p == NULL) {
        gw_exchange_error(ex, 404, GW_TYPE_NOT_FOUND, "id", "job_not_found",
                          "Could not find the fine-tuning job");
        return -1;
    }

    kind = ex->kind;

    if (kind == GW_OP_CHECKPOINTS && p->vendor->ops[kind] == NULL) {
        /* the vendor keeps no checkpoints: the truthful list is empty */
        gw_exchange_answer(ex, 200, gw_json_parse(gw_empty_list,
                           sizeof(gw_empty_list) - 1, NULL));
        return 0;
    }

    if (kind == GW_OP_EVENTS && p->vendor->ops[kind] == NULL) {
        kind = GW_OP_RETRIEVE;      /* events are synthesised from the job */
    }

    if (p->vendor->ops[kind] == NULL) {
        gw_exchange_error(ex, 501, GW_TYPE_API, NULL, "not_supported",
                          "This provider does not support the operation");
        return -1;
    }

    return gw_op_init(ex, &ex->op, kind, p);
}


static void
gw_exchange_start_create(gw_exchange_t *ex)
{
    char                  stamp[32];
    int64_t               t;
    gw_error_t            err;
    const gw_provider_t  *p;

    /* a route, or a provider named directly, and the route's defaults */
    p = gw_route_resolve(ex->gw, ex->client, &ex->spec, &err);

    if (p == NULL) {
        gw_exchange_fail(ex, &err);
        return;
    }

    /* a route may drop what its vendor cannot honour, and name it */
    if (ex->spec.drop_unsupported) {
        gw_spec_drop_unsupported(&ex->spec, p->vendor->supported,
                                 ex->dropped, sizeof(ex->dropped));
    }

    if (gw_spec_check_supported(&ex->spec, p->vendor->supported, p, &err)
        != GW_OK)
    {
        gw_exchange_fail(ex, &err);
        return;
    }

    /*
     * training and validation files uploaded to the Files API: staged to
     * a vendor that reads its own storage, linked for the local engine
     */
    if (p->vendor->stage_format != NULL) {
        if (gw_stage_plan(ex->gw, ex->client, p, &ex->spec, &ex->stager,
                          &err)
            != GW_OK)
        {
            gw_exchange_fail(ex, &err);
            return;
        }

    } else if (gw_files_resolve(ex->gw, ex->client, p, &ex->spec, &err)
               != GW_OK)
    {
        gw_exchange_fail(ex, &err);
        return;
    }

    if (gw_op_init(ex, &ex->op, GW_OP_CREATE, p) != 0) {
        return;
    }

    ex->op.spec = &ex->spec;

    /* continue_from names a job of this gateway: decoded here, once */
    if (ex->spec.continue_from != NULL) {
        if (gw_job_id_verify(ex->spec.continue_from,
                             strlen(ex->spec.continue_from),
                             ex->client->name, ex->gw->id_keys,
                             ex->gw->nid_keys, &ex->op.continue_ref)
            != GW_OK
            || strcmp(ex->op.continue_ref.provider, p->name) != 0)
        {
            gw_error_invalid(&err, "tuning.continue_from", "invalid_value",
                             "tuning.continue_from must be the id of an "
                             "earlier job of provider '%s' created by this "
                             "client", p->name);
            gw_exchange_fail(ex, &err);
            return;
        }

        ex->op.has_continue = 1;
    }

    /* the vendor job name carries its owner, "<client>.<suffix>.<mac>" */
    if (ex->spec.suffix != NULL) {
        gw_join(ex->op.job_name, sizeof(ex->op.job_name), ex->client->name,
                ".", ex->spec.suffix);

    } else {
        t = ex->now_ms / 1000;
        gw_int_str(stamp, t);
        gw_join(ex->op.job_name, sizeof(ex->op.job_name), ex->client->name,
                ".ft-", stamp);
    }

    if (gw_owner_seal(&ex->op, ex->op.job_name, sizeof(ex->op.job_name))
        != 0)
    {
        gw_error_invalid(&err, "suffix", "invalid_value",
                         "suffix is too long for a job name");
        gw_exchange_fail(ex, &err);
    }
}


static int
gw_job_encode_id(gw_exchange_t *ex, const gw_op_t *op, const gw_job_t *job,
    char *id, size_t size)
{
    gw_job_ref_t  ref;

    memset(&ref, 0, sizeof(ref));
    gw_copy(ref.provider, sizeof(ref.provider), op->provider->name);
    gw_copy(ref.vendor_id, sizeof(ref.vendor_id), job->vendor_id);
    gw_copy(ref.vendor_id2, sizeof(ref.vendor_id2), job->vendor_id2);
    ref.created_at = job->created_at;

    /* the first key signs: the newest, after a rotation */
    if (ex->gw->nid_keys == 0
        || gw_job_id_encode(&ref, ex->client->name, ex->gw->id_keys[0].data,
                            ex->gw->id_keys[0].len, id, size)
           != GW_OK)
    {
        gw_exchange_error(ex, 502, GW_TYPE_UPSTREAM, NULL,
                          "invalid_vendor_response",
                          "The provider returned a job id the gateway "
                          "cannot carry");
        return -1;
    }

    return 0;
}


/* the create answer's training and validation files: the client's ids */
static int
gw_exchange_file_ids(gw_exchange_t *ex, gw_job_t *job)
{
    char  **field[2];
    char   *id[2];
    size_t  i;

    field[0] = &job->training_file;
    id[0] = ex->spec.ntrain ? ex->spec.train[0].file_id : NULL;
    field[1] = &job->validation_file;
    id[1] = ex->spec.nvalid ? ex->spec.valid[0].file_id : NULL;

    for (i = 0; i < 2; i++) {
        if (id[i] == NULL) {
            continue;
        }

        gw_free(*field[i]);
        *field[i] = gw_strdup(id[i]);

        if (*field[i] == NULL) {
            gw_exchange_error(ex, 503, GW_TYPE_API, NULL, "out_of_memory",
                              "The gateway is out of memory");
            return -1;
        }
    }

    return 0;
}


/*
 * The fields a route's unsupported=drop dropped, said twice: in the
 * answer's Ftgw-Dropped-Params header and in vendor.dropped_params.
 */
static int
gw_exchange_note_dropped(gw_exchange_t *ex, gw_job_t *job)
{
    char        name[GW_NAME_MAX * 2];
    size_t      n;
    cJSON      *list;
    const char *p, *comma;

    if (job->vendor_extra == NULL) {
        job->vendor_extra = cJSON_CreateObject();
    }

    list = cJSON_CreateArray();

    if (job->vendor_extra == NULL || list == NULL) {
        gw_json_delete(list);
        gw_exchange_error(ex, 503, GW_TYPE_API, NULL, "out_of_memory",
                          "The gateway is out of memory");
        return -1;
    }

    for (p = ex->dropped; p != NULL; p = comma ? comma + 2 : NULL) {
        comma = strstr(p, ", ");
        n = comma ? (size_t) (comma - p) : strlen(p);
        n = (n < sizeof(name)) ? n : sizeof(name) - 1;

        memcpy(name, p, n);
        name[n] = '\0';
        cJSON_AddItemToArray(list, cJSON_CreateString(name));
    }

    cJSON_AddItemToObject(job->vendor_extra, "dropped_params", list);
    ex->result.dropped = ex->dropped;

    return 0;
}


static void
gw_exchange_finish_job(gw_exchange_t *ex)
{
    char       id[GW_JOB_ID_MAX], *body;
    size_t     len;
    cJSON     *json;
    gw_job_t  *job;

    job = &ex->op.job;
    gw_job_set_owner(&ex->op, job);

    if (gw_job_id_holds_secret(ex->op.provider, job)) {
        gw_exchange_error(ex, 502, GW_TYPE_UPSTREAM, NULL,
                          "invalid_vendor_response",
                          "The vendor answered a job id the gateway cannot "
                          "show");
        return;
    }

    if (gw_job_redact(ex->op.provider, job) != 0) {
        gw_exchange_error(ex, 503, GW_TYPE_API, NULL, "out_of_memory",
                          "The gateway is out of memory");
        return;
    }

    if (ex->kind != GW_OP_CREATE && job->owner != NULL
        && strcmp(job->owner, ex->client->name) != 0)
    {
        gw_exchange_error(ex, 404, GW_TYPE_NOT_FOUND, "id", "job_not_found",
                          "Could not find the fine-tuning job");
        return;
    }

    if (ex->kind == GW_OP_CREATE) {
        if (job->created_at == GW_UNSET_INT) {
            job->created_at = ex->now_ms / 1000;
        }

        /* an uploaded file is named by its id, not where it was staged */
        if (gw_exchange_file_ids(ex, job) != 0) {
            return;
        }

        if (gw_job_encode_id(ex, &ex->op, job, id, sizeof(id)) != 0) {
            return;
        }

        gw_copy(ex->job_id, sizeof(ex->job_id), id);

    } else {
        gw_copy(id, sizeof(id), ex->job_id);

        if (job->created_at == GW_UNSET_INT) {
            job->created_at = ex->op.ref.created_at;
        }
    }

    if (ex->kind == GW_OP_EVENTS) {
        json = gw_job_events_json(job, id, ex->after[0] ? ex->after : NULL,
                                  ex->limit);

    } else if (ex->kind == GW_OP_CHECKPOINTS) {
        json = gw_job_checkpoints_json(job, id,
                                       ex->after[0] ? ex->after : NULL,
                                       ex->limit);

    } else {
        if (ex->dropped[0] != '\0' && gw_exchange_note_dropped(ex, job) != 0)
        {
            return;
        }

        body = gw_job_print(job, id, ex->op.provider, ex->client->name,
                            &len);
        gw_exchange_answer_text(ex, 200, body, len);
        return;
    }

    gw_exchange_answer(ex, 200, json);
}


/* ---- the merged list ----------------------------------------------- */


static void
gw_exchange_start_list(gw_exchange_t *ex)
{
    size_t  i;

    if (ex->after[0] != '\0') {
        if (gw_job_id_verify(ex->after, strlen(ex->after), ex->client->name,
                             ex->gw->id_keys, ex->gw->nid_keys, &ex->cursor)
            != GW_OK)
        {
            gw_exchange_error(ex, 400, GW_TYPE_INVALID, "after",
                              "invalid_cursor",
                              "after must be the id of a job returned by "
                              "this gateway to this client");
            return;
        }

        ex->has_cursor = 1;
    }

    ex->lists = gw_calloc(ex->gw->nproviders ? ex->gw->nproviders : 1,
                          sizeof(gw_op_t));
    if (ex->lists == NULL) {
        gw_exchange_error(ex, 503, GW_TYPE_API, NULL, "out_of_memory",
                          "The gateway is out of memory");
        return;
    }

    for (i = 0; i < ex->gw->nproviders; i++) {
        if (ex->gw->providers[i].vendor->ops[GW_OP_LIST] == NULL) {
            /* said in the answer's "unlisted_providers", never silently */
            continue;
        }

        if (gw_op_init(ex, &ex->lists[ex->nlists], GW_OP_LIST,
                       &ex->gw->providers[i])
            != 0)
        {
            return;
        }

        ex->lists[ex->nlists].page_size = ex->limit + 1;
        ex->nlists++;
    }
}


/*
 * The order of the list: newest first, ties broken by provider and
 * vendor id, so that the cursor is exact.  < 0 when a comes first.
 */
static int
gw_job_order(const gw_job_t *a, const char *pa, const gw_job_t *b,
    const char *pb)
{
    int  rc;

    if (a->created_at != b->created_at) {
        return (a->created_at > b->created_at) ? -1 : 1;
    }

    rc = strcmp(pa, pb);
    if (rc != 0) {
        return -rc;
    }

    return -strcmp(a->vendor_id ? a->vendor_id : "",
                   b->vendor_id ? b->vendor_id : "");
}


/* the client's own jobs that come after the cursor */
/* every key of filter, with the same value, in metadata */
static int
gw_metadata_matches(const cJSON *filter, const cJSON *metadata)
{
    const cJSON  *f, *m;

    cJSON_ArrayForEach(f, filter) {
        m = (metadata != NULL) ? gw_json_get(metadata, f->string) : NULL;

        if (!cJSON_IsString(m) || strcmp(m->valuestring, f->valuestring) != 0)
        {
            return 0;
        }
    }

    return 1;
}


static int
gw_list_visible(gw_exchange_t *ex, const gw_op_t *op, const gw_job_t *job)
{
    gw_job_t  cur;

    /* listed only under a tag this gateway sealed: it mints the job id */
    if (job->owner == NULL || !job->owner_sealed
        || strcmp(job->owner, ex->client->name) != 0)
    {
        return 0;
    }

    if (gw_job_id_holds_secret(op->provider, job)) {
        return 0;
    }

    if (ex->filter != NULL && !gw_metadata_matches(ex->filter, job->metadata))
    {
        return 0;
    }

    if (!ex->has_cursor) {
        return 1;
    }

    gw_job_init(&cur);
    cur.created_at = ex->cursor.created_at;
    cur.vendor_id = ex->cursor.vendor_id;

    return gw_job_order(job, op->provider->name, &cur,
                        ex->cursor.provider) > 0;
}


/*
 * Vendors list newest first, so a job not yet read is no newer than the
 * oldest read: the jobs strictly newer than that one are final, and once
 * limit + 1 of them are visible, more pages cannot change the answer.
 */
static int
gw_list_need_more(gw_exchange_t *ex, gw_op_t *op)
{
    size_t   i, n;
    int64_t  oldest;

    if (op->exhausted || op->page >= GW_LIST_MAX_PAGES) {
        return 0;
    }

    oldest = INT64_MAX;

    for (i = 0; i < op->njobs; i++) {
        if (op->jobs[i].created_at < oldest) {
            oldest = op->jobs[i].created_at;
        }
    }

    n = 0;

    for (i = 0; i < op->njobs; i++) {
        gw_job_set_owner(op, &op->jobs[i]);

        if (op->jobs[i].created_at > oldest) {
            n += gw_list_visible(ex, op, &op->jobs[i]);
        }
    }

    return n < (size_t) ex->limit + 1;
}


typedef struct {
    gw_job_t             *job;      /* redacted before it is printed */
    const gw_provider_t  *provider;
} gw_list_item_t;


static int
gw_list_item_cmp(const void *a, const void *b)
{
    const gw_list_item_t  *x = a, *y = b;

    return gw_job_order(x->job, x->provider->name, y->job, y->provider->name);
}


/*
 * Providers whose vendor cannot list jobs (Qianfan v1) are named in the
 * answer, so that a client never takes a partial list for a whole one.
 */
static int
gw_list_add_unlisted(gw_exchange_t *ex, cJSON *json)
{
    size_t   i;
    cJSON   *names, *name;

    names = NULL;

    for (i = 0; i < ex->gw->nproviders; i++) {
        if (ex->gw->providers[i].vendor->ops[GW_OP_LIST] != NULL) {
            continue;
        }

        if (names == NULL) {
            names = cJSON_AddArrayToObject(json, "unlisted_providers");
            if (names == NULL) {
                return -1;
            }
        }

        name = cJSON_CreateString(ex->gw->providers[i].name);
        if (name == NULL) {
            return -1;
        }

        cJSON_AddItemToArray(names, name);
    }

    return 0;
}


static void
gw_exchange_finish_list(gw_exchange_t *ex)
{
    char             id[GW_JOB_ID_MAX], *text;
    size_t           i, j, n, total;
    cJSON           *json, *data, *item;
    gw_op_t         *op;
    gw_list_item_t  *items;

    total = 0;
    for (i = 0; i < ex->nlists; i++) {
        total += ex->lists[i].njobs;
    }

    items = gw_calloc(total ? total : 1, sizeof(gw_list_item_t));
    json = cJSON_CreateObject();
    data = cJSON_CreateArray();

    if (items == NULL || json == NULL || data == NULL) {
        gw_free(items);
        gw_json_delete(json);
        gw_json_delete(data);
        gw_exchange_answer(ex, 200, NULL);
        return;
    }

    n = 0;

    for (i = 0; i < ex->nlists; i++) {
        op = &ex->lists[i];

        for (j = 0; j < op->njobs; j++) {
            gw_job_set_owner(op, &op->jobs[j]);

            if (gw_list_visible(ex, op, &op->jobs[j])) {
                items[n].job = &op->jobs[j];
                items[n].provider = op->provider;
                n++;
            }
        }
    }

    qsort(items, n, sizeof(gw_list_item_t), gw_list_item_cmp);

    cJSON_AddStringToObject(json, "object", "list");
    cJSON_AddItemToObject(json, "data", data);

    for (i = 0; i < n && i < (size_t) ex->limit; i++) {
        op = NULL;

        for (j = 0; j < ex->nlists; j++) {
            if (ex->lists[j].provider == items[i].provider) {
                op = &ex->lists[j];
            }
        }

        if (gw_job_encode_id(ex, op, items[i].job, id, sizeof(id)) != 0) {
            gw_free(items);
            gw_json_delete(json);
            return;
        }

        text = (gw_job_redact(items[i].provider, items[i].job) == 0)
               ? gw_job_print(items[i].job, id, items[i].provider,
                              ex->client->name, NULL)
               : NULL;
        item = (text != NULL) ? cJSON_CreateRaw(text) : NULL;
        gw_free(text);

        if (item == NULL) {
            gw_free(items);
            gw_json_delete(json);
            gw_exchange_answer(ex, 200, NULL);
            return;
        }

        cJSON_AddItemToArray(data, item);
    }

    cJSON_AddBoolToObject(json, "has_more", n > (size_t) ex->limit);
    gw_free(items);

    if (gw_list_add_unlisted(ex, json) != 0) {
        gw_json_delete(json);
        gw_exchange_answer(ex, 200, NULL);
        return;
    }

    gw_exchange_answer(ex, 200, json);
}
