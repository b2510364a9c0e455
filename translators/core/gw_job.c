
/*
 * The canonical job: its lifecycle, its OpenAI fine_tuning.job rendering,
 * and the events synthesised from it (vendors keep no event log the
 * gateway could pass through).
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <core/gw_core.h>


#define GW_EVENTS_MAX           3
#define GW_EVENTS_LIMIT         20
#define GW_EVENT_ID_PREFIX      "ftevent-"
#define GW_EVENT_ID_HEX         24
#define GW_EVENT_ID_LEN         (sizeof(GW_EVENT_ID_PREFIX) - 1            \
                                 + GW_EVENT_ID_HEX)


static int gw_add(cJSON *obj, const char *key, cJSON *item);
static int gw_add_str(cJSON *obj, const char *key, const char *s);
static int gw_add_int(cJSON *obj, const char *key, int64_t v);
static int gw_add_num(cJSON *obj, const char *key, double d);
static void gw_job_write_error(gw_out_t *o, const gw_job_t *job);
static void gw_job_write_model(gw_out_t *o, const gw_job_t *job,
    const gw_provider_t *p);
static void gw_job_write_int_or_auto(gw_out_t *o, int64_t v);
static void gw_job_write_hyperparameters(gw_out_t *o, const gw_job_t *job);
static void gw_job_write_vendor(gw_out_t *o, const gw_job_t *job,
    const gw_provider_t *p);
static void gw_job_write_extra(gw_out_t *o, const gw_job_t *job);
static int gw_same_key(const char *a, const char *b);
static void gw_owner_mac_key(const gw_id_key_t *key, const char *client,
    size_t client_len, const char *unique, size_t unique_len, char *out);
static int64_t gw_job_first_time(int64_t a, int64_t b, int64_t c);
static int gw_event_id(const char *job_id, const char *kind, char *out);
static cJSON *gw_event(const char *job_id, const char *kind, int64_t at,
    const char *level, const char *type, const char *message, cJSON *data);
static cJSON *gw_event_created(const gw_job_t *job, const char *id);
static int gw_event_has_metrics(const gw_job_t *job);
static cJSON *gw_event_metrics(const gw_job_t *job, const char *id);
static void gw_event_metrics_message(const gw_job_t *job, char *buf,
    size_t size);
static cJSON *gw_event_terminal(const gw_job_t *job, const char *id);
static cJSON *gw_event_failed(const gw_job_t *job, const char *id,
    int64_t at);
static cJSON *gw_events_page(cJSON **ev, size_t n, const char *after,
    int64_t limit);


void
gw_job_init(gw_job_t *job)
{
    memset(job, 0, sizeof(gw_job_t));

    job->vendor_id = NULL;
    job->vendor_id2 = NULL;
    job->created_at = GW_UNSET_INT;
    job->status = GW_STATUS_QUEUED;
    job->vendor_status = NULL;
    job->vendor_model = NULL;
    job->name = NULL;
    job->owner = NULL;
    job->owner_sealed = 0;
    job->fine_tuned_model = NULL;
    job->training_file = NULL;
    job->validation_file = NULL;
    job->finished_at = GW_UNSET_INT;
    job->estimated_finish = GW_UNSET_INT;
    job->trained_tokens = GW_UNSET_INT;
    job->n_epochs = GW_UNSET_INT;
    job->batch_size = GW_UNSET_INT;
    job->learning_rate = GW_UNSET_NUM;
    job->seed = GW_UNSET_INT;
    job->step = GW_UNSET_INT;
    job->total_steps = GW_UNSET_INT;
    job->epoch = GW_UNSET_INT;
    job->total_epochs = GW_UNSET_INT;
    job->train_loss = GW_UNSET_NUM;
    job->tokens_per_second = GW_UNSET_NUM;
    job->mfu = GW_UNSET_NUM;
    job->percent = GW_UNSET_NUM;
    job->data_rows = GW_UNSET_INT;
    job->dataset_tokens = GW_UNSET_INT;
    job->updated_at = GW_UNSET_INT;
    job->has_error = 0;
    job->vendor_error_code = NULL;
    job->checkpoints = 0;
    job->checkpoint_prefix = NULL;
    job->vendor_extra = NULL;
}


void
gw_job_free(gw_job_t *job)
{
    gw_free(job->vendor_id);
    gw_free(job->vendor_id2);
    gw_free(job->vendor_status);
    gw_free(job->vendor_model);
    gw_free(job->name);
    gw_free(job->owner);
    gw_free(job->fine_tuned_model);
    gw_free(job->training_file);
    gw_free(job->validation_file);
    gw_free(job->vendor_error_code);
    gw_free(job->checkpoint_prefix);
    gw_json_delete(job->vendor_extra);
    gw_json_delete(job->metadata);

    gw_job_init(job);
}


const char *
gw_status_name(gw_status_t s)
{
    switch (s) {

    case GW_STATUS_VALIDATING_FILES:
        return "validating_files";

    case GW_STATUS_QUEUED:
        return "queued";

    case GW_STATUS_RUNNING:
        return "running";

    case GW_STATUS_SUCCEEDED:
        return "succeeded";

    case GW_STATUS_FAILED:
        return "failed";

    case GW_STATUS_CANCELLED:
        return "cancelled";
    }

    /* only a corrupted value gets here */
    return "unknown";
}


/* ---- building blocks: each returns 0, or 1 when out of memory --------- */


/* takes item, even on failure */

static int
gw_add(cJSON *obj, const char *key, cJSON *item)
{
    if (item == NULL) {
        return 1;
    }

    /* key is a literal: the tree points at it instead of copying it */
    if (!cJSON_AddItemToObjectCS(obj, key, item)) {
        gw_json_delete(item);
        return 1;
    }

    return 0;
}


static int
gw_add_str(cJSON *obj, const char *key, const char *s)
{
    return gw_add(obj, key, (s != NULL) ? cJSON_CreateString(s)
                                        : cJSON_CreateNull());
}


static int
gw_add_int(cJSON *obj, const char *key, int64_t v)
{
    return gw_add(obj, key, (v != GW_UNSET_INT)
                            ? cJSON_CreateNumber((double) v)
                            : cJSON_CreateNull());
}


static int
gw_add_num(cJSON *obj, const char *key, double d)
{
    return gw_add(obj, key, gw_has_num(d) ? cJSON_CreateNumber(d)
                                          : cJSON_CreateNull());
}


/* ---- the fine_tuning.job object ---------------------------------------- */


/*
 * Written straight into the answer's buffer: a request's one job object
 * was built as a cJSON tree only to be printed, at about a third of the
 * gateway's instructions per request.
 */

char *
gw_job_print(const gw_job_t *job, const char *id, const gw_provider_t *p,
    const char *client, size_t *len)
{
    gw_out_t  o;

    gw_out_init(&o);
    gw_job_write(&o, job, id, p, client);

    return gw_out_done(&o, len);
}


void
gw_job_write(gw_out_t *o, const gw_job_t *job, const char *id,
    const gw_provider_t *p, const char *client)
{
    gw_out_open(o, '{');

    gw_out_lkey(o, "id");
    gw_out_str(o, id);
    gw_out_lkey(o, "object");
    gw_out_str(o, "fine_tuning.job");
    gw_out_lkey(o, "created_at");
    gw_out_int(o, job->created_at);
    gw_out_lkey(o, "error");
    gw_job_write_error(o, job);
    gw_out_lkey(o, "fine_tuned_model");
    gw_out_str(o, job->fine_tuned_model);
    gw_out_lkey(o, "finished_at");
    gw_out_int(o, job->finished_at);
    gw_out_lkey(o, "hyperparameters");
    gw_job_write_hyperparameters(o, job);
    gw_out_lkey(o, "model");
    gw_job_write_model(o, job, p);
    gw_out_lkey(o, "organization_id");
    gw_out_str(o, client);
    gw_out_lkey(o, "result_files");
    gw_out_literal(o, "[]");
    gw_out_lkey(o, "seed");
    gw_out_int(o, job->seed);
    gw_out_lkey(o, "status");
    gw_out_str(o, gw_status_name(job->status));
    gw_out_lkey(o, "trained_tokens");
    gw_out_int(o, job->trained_tokens);
    gw_out_lkey(o, "training_file");
    gw_out_str(o, job->training_file);
    gw_out_lkey(o, "validation_file");
    gw_out_str(o, job->validation_file);
    gw_out_lkey(o, "estimated_finish");
    gw_out_int(o, job->estimated_finish);
    gw_out_lkey(o, "integrations");
    gw_out_literal(o, "[]");
    gw_out_lkey(o, "metadata");

    if (job->metadata != NULL) {
        gw_out_json(o, job->metadata);

    } else {
        gw_out_literal(o, "null");
    }

    /* method.supervised.hyperparameters repeats "hyperparameters" */
    gw_out_lkey(o, "method");
    gw_out_open(o, '{');
    gw_out_lkey(o, "type");
    gw_out_str(o, "supervised");
    gw_out_lkey(o, "supervised");
    gw_out_open(o, '{');
    gw_out_lkey(o, "hyperparameters");
    gw_job_write_hyperparameters(o, job);
    gw_out_close(o, '}');
    gw_out_close(o, '}');

    gw_out_lkey(o, "vendor");
    gw_job_write_vendor(o, job, p);

    gw_out_close(o, '}');
}


static void
gw_job_write_error(gw_out_t *o, const gw_job_t *job)
{
    if (!job->has_error) {
        gw_out_literal(o, "null");
        return;
    }

    gw_out_open(o, '{');
    gw_out_lkey(o, "code");
    gw_out_str(o, job->error_code);
    gw_out_lkey(o, "message");
    gw_out_str(o, job->error_message);
    gw_out_lkey(o, "param");
    gw_out_literal(o, "null");
    gw_out_close(o, '}');
}


/* "<provider>/<vendor model>", or the provider alone when it is unknown */

static void
gw_job_write_model(gw_out_t *o, const gw_job_t *job, const gw_provider_t *p)
{
    char    *model;
    size_t   plen, mlen;

    if (job->vendor_model == NULL) {
        gw_out_str(o, p->name);
        return;
    }

    plen = strlen(p->name);
    mlen = strlen(job->vendor_model);

    model = gw_malloc(plen + 1 + mlen + 1);
    if (model == NULL) {
        o->failed = 1;
        return;
    }

    memcpy(model, p->name, plen);
    model[plen] = '/';
    memcpy(model + plen + 1, job->vendor_model, mlen + 1);

    gw_out_str(o, model);
    gw_free(model);
}


static void
gw_job_write_int_or_auto(gw_out_t *o, int64_t v)
{
    if (v == GW_UNSET_INT) {
        gw_out_str(o, "auto");
        return;
    }

    gw_out_int(o, v);
}


static void
gw_job_write_hyperparameters(gw_out_t *o, const gw_job_t *job)
{
    gw_out_open(o, '{');
    gw_out_lkey(o, "n_epochs");
    gw_job_write_int_or_auto(o, job->n_epochs);
    gw_out_lkey(o, "batch_size");
    gw_job_write_int_or_auto(o, job->batch_size);
    /* vendors take an absolute rate, shown under "vendor" */
    gw_out_lkey(o, "learning_rate_multiplier");
    gw_out_str(o, "auto");
    gw_out_close(o, '}');
}


/* the gateway's own keys of "vendor": raw vendor fields never replace them */

static const char  *gw_job_vendor_keys[] = {
    "provider", "kind", "job_id", "secondary_id", "status", "name",
    "learning_rate", "error_code", "progress", NULL
};


static void
gw_job_write_vendor(gw_out_t *o, const gw_job_t *job, const gw_provider_t *p)
{
    gw_out_open(o, '{');

    gw_out_lkey(o, "provider");
    gw_out_str(o, p->name);
    gw_out_lkey(o, "kind");
    gw_out_str(o, p->vendor->kind);
    gw_out_lkey(o, "job_id");
    gw_out_str(o, job->vendor_id);

    if (job->vendor_id2 != NULL) {
        gw_out_lkey(o, "secondary_id");
        gw_out_str(o, job->vendor_id2);
    }

    gw_out_lkey(o, "status");
    gw_out_str(o, job->vendor_status);
    gw_out_lkey(o, "name");
    gw_out_str(o, job->name);
    gw_out_lkey(o, "learning_rate");
    gw_out_num(o, job->learning_rate);
    gw_out_lkey(o, "error_code");
    gw_out_str(o, job->vendor_error_code);

    gw_out_lkey(o, "progress");
    gw_out_open(o, '{');
    gw_out_lkey(o, "step");
    gw_out_int(o, job->step);
    gw_out_lkey(o, "total_steps");
    gw_out_int(o, job->total_steps);
    gw_out_lkey(o, "epoch");
    gw_out_int(o, job->epoch);
    gw_out_lkey(o, "total_epochs");
    gw_out_int(o, job->total_epochs);
    gw_out_lkey(o, "train_loss");
    gw_out_num(o, job->train_loss);
    gw_out_lkey(o, "percent");
    gw_out_num(o, job->percent);
    gw_out_lkey(o, "data_rows");
    gw_out_int(o, job->data_rows);
    gw_out_lkey(o, "dataset_tokens");
    gw_out_int(o, job->dataset_tokens);
    gw_out_lkey(o, "tokens_per_second");
    gw_out_num(o, job->tokens_per_second);
    gw_out_lkey(o, "mfu");
    gw_out_num(o, job->mfu);
    gw_out_lkey(o, "updated_at");
    gw_out_int(o, job->updated_at);
    gw_out_close(o, '}');

    gw_job_write_extra(o, job);

    gw_out_close(o, '}');
}


/* equal without case; the first bytes (as lower case) decide most pairs */

static int
gw_same_key(const char *a, const char *b)
{
    return (a[0] | 0x20) == (b[0] | 0x20) && strcasecmp(a, b) == 0;
}


/*
 * The vendor's raw fields, after the gateway's own keys: a key already
 * written (compared without case, as cJSON_HasObjectItem() does) is
 * skipped, so the first of two equal keys wins.
 */

static void
gw_job_write_extra(gw_out_t *o, const gw_job_t *job)
{
    size_t        i;
    const cJSON  *item, *prev;

    if (!cJSON_IsObject(job->vendor_extra)) {
        return;
    }

    cJSON_ArrayForEach(item, job->vendor_extra) {
        if (item->string == NULL) {
            continue;
        }

        for (i = 0; gw_job_vendor_keys[i] != NULL; i++) {
            if (gw_same_key(item->string, gw_job_vendor_keys[i])
                && (job->vendor_id2 != NULL
                    || strcmp(gw_job_vendor_keys[i], "secondary_id") != 0))
            {
                break;
            }
        }

        if (gw_job_vendor_keys[i] != NULL) {
            continue;
        }

        for (prev = job->vendor_extra->child; prev != item;
             prev = prev->next)
        {
            if (prev->string != NULL
                && gw_same_key(prev->string, item->string))
            {
                break;
            }
        }

        if (prev != item) {
            continue;
        }

        gw_out_key(o, item->string);
        gw_out_json(o, item);
    }
}


/* ---- events ------------------------------------------------------------ */


cJSON *
gw_job_events_json(const gw_job_t *job, const char *id, const char *after,
    int64_t limit)
{
    size_t   i, n;
    cJSON   *ev[GW_EVENTS_MAX], *list;

    if (id == NULL) {
        id = "";
    }

    n = 0;

    ev[n] = gw_event_created(job, id);
    if (ev[n++] == NULL) {
        goto failed;
    }

    if (gw_event_has_metrics(job)) {
        ev[n] = gw_event_metrics(job, id);
        if (ev[n++] == NULL) {
            goto failed;
        }
    }

    if (job->status == GW_STATUS_SUCCEEDED
        || job->status == GW_STATUS_FAILED
        || job->status == GW_STATUS_CANCELLED)
    {
        ev[n] = gw_event_terminal(job, id);
        if (ev[n++] == NULL) {
            goto failed;
        }
    }

    list = gw_events_page(ev, n, after, limit);

    for (i = 0; i < n; i++) {
        gw_json_delete(ev[i]);
    }

    return list;

failed:

    for (i = 0; i < n; i++) {
        gw_json_delete(ev[i]);
    }

    return NULL;
}


/*
 * ev is in chronological order; the page is newest first.  Events put in
 * the page are detached from ev (set to NULL) so the caller frees the rest.
 */

static cJSON *
gw_events_page(cJSON **ev, size_t n, const char *after, int64_t limit)
{
    size_t        j, start, count;
    cJSON        *list, *data;
    const char   *eid;

    if (limit <= 0) {
        limit = GW_EVENTS_LIMIT;
    }

    start = 0;

    if (after != NULL) {
        /* an unknown cursor gives an empty, final page */
        start = n;

        for (j = 0; j < n; j++) {
            eid = gw_json_str(ev[n - 1 - j], "id");

            if (eid != NULL && strcmp(eid, after) == 0) {
                start = j + 1;
                break;
            }
        }
    }

    count = n - start;

    if ((uint64_t) limit < count) {
        count = (size_t) limit;
    }

    list = cJSON_CreateObject();
    if (list == NULL) {
        return NULL;
    }

    data = cJSON_CreateArray();

    /* both run: gw_add() takes data even when "object" failed */
    if (gw_add_str(list, "object", "list") | gw_add(list, "data", data)) {
        gw_json_delete(list);
        return NULL;
    }

    for (j = start; j < start + count; j++) {
        if (!cJSON_AddItemToArray(data, ev[n - 1 - j])) {
            gw_json_delete(list);
            return NULL;
        }

        ev[n - 1 - j] = NULL;
    }

    if (gw_add(list, "has_more", cJSON_CreateBool(start + count < n))) {
        gw_json_delete(list);
        return NULL;
    }

    return list;
}


/* the first known of a, b, c */

static int64_t
gw_job_first_time(int64_t a, int64_t b, int64_t c)
{
    if (a != GW_UNSET_INT) {
        return a;
    }

    return (b != GW_UNSET_INT) ? b : c;
}


/* stable across polls, so "after" cursors keep working */

static int
gw_event_id(const char *job_id, const char *kind, char *out)
{
    char           *msg;
    size_t          ilen, klen;
    unsigned char   md[32];
    char            hex[65];

    ilen = strlen(job_id);
    klen = strlen(kind);

    msg = gw_malloc(ilen + 1 + klen);
    if (msg == NULL) {
        return 1;
    }

    memcpy(msg, job_id, ilen);
    msg[ilen] = ':';
    memcpy(msg + ilen + 1, kind, klen);

    gw_sha256(msg, ilen + 1 + klen, md);
    gw_free(msg);

    gw_hex(md, sizeof(md), hex);

    memcpy(out, GW_EVENT_ID_PREFIX, sizeof(GW_EVENT_ID_PREFIX) - 1);
    memcpy(out + sizeof(GW_EVENT_ID_PREFIX) - 1, hex, GW_EVENT_ID_HEX);
    out[GW_EVENT_ID_LEN] = '\0';

    return 0;
}


/* takes data, even on failure */

static cJSON *
gw_event(const char *job_id, const char *kind, int64_t at,
    const char *level, const char *type, const char *message, cJSON *data)
{
    int     failed;
    cJSON  *ev;
    char    eid[GW_EVENT_ID_LEN + 1];

    ev = cJSON_CreateObject();

    if (ev == NULL || data == NULL || gw_event_id(job_id, kind, eid)) {
        gw_json_delete(ev);
        gw_json_delete(data);
        return NULL;
    }

    failed = gw_add_str(ev, "id", eid);
    failed |= gw_add_str(ev, "object", "fine_tuning.job.event");
    failed |= gw_add_int(ev, "created_at", at);
    failed |= gw_add_str(ev, "level", level);
    failed |= gw_add_str(ev, "message", message);
    failed |= gw_add_str(ev, "type", type);
    failed |= gw_add(ev, "data", data);

    if (failed) {
        gw_json_delete(ev);
        return NULL;
    }

    return ev;
}


static cJSON *
gw_event_created(const gw_job_t *job, const char *id)
{
    return gw_event(id, "created", job->created_at, "info", "message",
                    "Fine-tuning job created", cJSON_CreateObject());
}


static int
gw_event_has_metrics(const gw_job_t *job)
{
    switch (job->status) {

    case GW_STATUS_RUNNING:
        return 1;

    case GW_STATUS_SUCCEEDED:
    case GW_STATUS_FAILED:
    case GW_STATUS_CANCELLED:
        return job->step != GW_UNSET_INT || job->total_steps != GW_UNSET_INT;

    default:
        return 0;
    }
}


static cJSON *
gw_event_metrics(const gw_job_t *job, const char *id)
{
    int     failed;
    cJSON  *data;
    char    msg[256];

    data = cJSON_CreateObject();
    if (data == NULL) {
        return NULL;
    }

    failed = gw_add_int(data, "step", job->step);
    failed |= gw_add_int(data, "total_steps", job->total_steps);
    failed |= gw_add_int(data, "epoch", job->epoch);
    failed |= gw_add_int(data, "total_epochs", job->total_epochs);
    failed |= gw_add_num(data, "train_loss", job->train_loss);

    if (failed) {
        gw_json_delete(data);
        return NULL;
    }

    gw_event_metrics_message(job, msg, sizeof(msg));

    return gw_event(id, "metrics",
                    gw_job_first_time(job->updated_at, job->created_at,
                                      GW_UNSET_INT),
                    "info", "metrics", msg, data);
}


/*
 * OpenAI's form, "Step 40/100: training loss=1.2345", with what is known:
 * the step (else the epoch), its total, then the loss.
 */

static void
gw_event_metrics_message(const gw_job_t *job, char *buf, size_t size)
{
    char  head[96];

    if (job->step != GW_UNSET_INT && job->total_steps != GW_UNSET_INT) {
        snprintf(head, sizeof(head), "Step %lld/%lld",
                 (long long) job->step, (long long) job->total_steps);

    } else if (job->step != GW_UNSET_INT) {
        snprintf(head, sizeof(head), "Step %lld", (long long) job->step);

    } else if (job->total_steps != GW_UNSET_INT) {
        snprintf(head, sizeof(head), "Step ?/%lld",
                 (long long) job->total_steps);

    } else if (job->epoch != GW_UNSET_INT
               && job->total_epochs != GW_UNSET_INT)
    {
        snprintf(head, sizeof(head), "Epoch %lld/%lld",
                 (long long) job->epoch, (long long) job->total_epochs);

    } else if (job->epoch != GW_UNSET_INT) {
        snprintf(head, sizeof(head), "Epoch %lld", (long long) job->epoch);

    } else {
        snprintf(head, sizeof(head), "Training in progress");
    }

    if (gw_has_num(job->train_loss)) {
        snprintf(buf, size, "%s: training loss=%.4f", head, job->train_loss);

    } else {
        gw_copy(buf, size, head);
    }
}


static cJSON *
gw_event_terminal(const gw_job_t *job, const char *id)
{
    int64_t  at;

    at = gw_job_first_time(job->finished_at, job->updated_at,
                           job->created_at);

    switch (job->status) {

    case GW_STATUS_SUCCEEDED:
        return gw_event(id, "succeeded", at, "info", "message",
                        "The job has successfully completed",
                        cJSON_CreateObject());

    case GW_STATUS_FAILED:
        return gw_event_failed(job, id, at);

    default:
        return gw_event(id, "cancelled", at, "info", "message",
                        "The job was cancelled", cJSON_CreateObject());
    }
}


static cJSON *
gw_event_failed(const gw_job_t *job, const char *id, int64_t at)
{
    cJSON       *data;
    const char  *code, *text;
    char         msg[sizeof(job->error_code) + sizeof(job->error_message)
                     + 32];

    code = job->error_code;
    text = job->error_message;

    if (code[0] != '\0' && text[0] != '\0') {
        snprintf(msg, sizeof(msg), "The job failed: %s: %s", code, text);

    } else if (code[0] != '\0' || text[0] != '\0') {
        snprintf(msg, sizeof(msg), "The job failed: %s",
                 code[0] != '\0' ? code : text);

    } else {
        snprintf(msg, sizeof(msg), "The job failed");
    }

    data = cJSON_CreateObject();

    if (data != NULL
        && gw_add_str(data, "code", code[0] != '\0' ? code : NULL))
    {
        gw_json_delete(data);
        data = NULL;
    }

    return gw_event(id, "failed", at, "error", "message", msg, data);
}


/*
 * A job's checkpoints, newest first: checkpoint n (1-based) is at
 * "<prefix><n>", taken at the end of epoch n.
 */
cJSON *
gw_job_checkpoints_json(const gw_job_t *job, const char *id,
    const char *after, int64_t limit)
{
    int      started;
    char     cid[64], path[1100];
    cJSON   *list, *data, *c, *metrics;
    int64_t  n, count, step;
    unsigned char  digest[32];

    list = cJSON_CreateObject();
    data = cJSON_CreateArray();

    if (list == NULL || data == NULL) {
        gw_json_delete(list);
        gw_json_delete(data);
        return NULL;
    }

    cJSON_AddStringToObject(list, "object", "list");
    cJSON_AddItemToObject(list, "data", data);

    if (limit <= 0) {
        limit = 10;
    }

    count = 0;
    started = (after == NULL);

    for (n = (job->checkpoint_prefix ? job->checkpoints : 0); n > 0; n--) {
        snprintf(path, sizeof(path), "%s:%lld", id, (long long) n);
        gw_sha256(path, strlen(path), digest);
        gw_hex(digest, 12, cid + 7);
        memcpy(cid, "ftckpt-", 7);

        if (!started) {
            started = (strcmp(cid, after) == 0);
            continue;
        }

        if (count == limit) {
            break;
        }

        step = (job->total_steps > 0 && job->total_epochs > 0
                && gw_mul(n, job->total_steps) != GW_UNSET_INT)
               ? gw_mul(n, job->total_steps) / job->total_epochs : n;

        snprintf(path, sizeof(path), "%s%lld", job->checkpoint_prefix,
                 (long long) n);

        c = cJSON_CreateObject();
        metrics = cJSON_CreateObject();
        if (c == NULL || metrics == NULL) {
            gw_json_delete(c);
            gw_json_delete(metrics);
            gw_json_delete(list);
            return NULL;
        }

        cJSON_AddStringToObject(c, "id", cid);
        cJSON_AddStringToObject(c, "object", "fine_tuning.job.checkpoint");
        cJSON_AddNumberToObject(c, "created_at",
                                (double) (job->updated_at != GW_UNSET_INT
                                          ? job->updated_at
                                          : job->created_at));
        cJSON_AddStringToObject(c, "fine_tuned_model_checkpoint", path);
        cJSON_AddStringToObject(c, "fine_tuning_job_id", id);
        cJSON_AddNumberToObject(c, "step_number", (double) step);
        cJSON_AddNumberToObject(metrics, "step", (double) step);
        cJSON_AddItemToObject(c, "metrics", metrics);
        cJSON_AddItemToArray(data, c);
        count++;
    }

    cJSON_AddBoolToObject(list, "has_more", n > 0 && count == limit);

    if (cJSON_GetArraySize(data) > 0) {
        cJSON_AddStringToObject(list, "first_id",
            cJSON_GetObjectItem(cJSON_GetArrayItem(data, 0), "id")
                ->valuestring);
        cJSON_AddStringToObject(list, "last_id",
            cJSON_GetObjectItem(cJSON_GetArrayItem(data,
                cJSON_GetArraySize(data) - 1), "id")->valuestring);
    }

    return list;
}


static void
gw_owner_mac_key(const gw_id_key_t *key, const char *client,
    size_t client_len, const char *unique, size_t unique_len, char *out)
{
    size_t         n;
    unsigned char  mac[32], msg[GW_NAME_MAX + 600];

    /* "owner" 0 client 0 unique: apart from job ids' and file ids' input */
    n = 0;
    memcpy(msg, "owner", 6);
    n += 6;

    client_len = client_len < GW_NAME_MAX ? client_len : GW_NAME_MAX;
    memcpy(msg + n, client, client_len);
    n += client_len;
    msg[n++] = '\0';

    unique_len = unique_len < 512 ? unique_len : 512;
    memcpy(msg + n, unique, unique_len);
    n += unique_len;

    gw_hmac_sha256(key->data, key->len, msg, n, mac);
    gw_hex(mac, GW_OWNER_MAC_LEN / 2, out);
}


void
gw_owner_mac(const gw_op_t *op, const char *client, size_t client_len,
    const char *unique, size_t unique_len, char *out)
{
    static const gw_id_key_t  none = { (const unsigned char *) "", 0 };

    gw_owner_mac_key(op->nowner_keys ? &op->owner_keys[0] : &none, client,
                     client_len, unique, unique_len, out);
}


void
gw_job_owner(gw_job_t *job, const gw_op_t *op, const char *client,
    size_t client_len, const char *unique, size_t unique_len,
    const char *mac, size_t mac_len)
{
    char    expect[GW_OWNER_MAC_LEN + 1];
    size_t  i;

    gw_free(job->owner);
    job->owner = gw_strndup(client, client_len);
    job->owner_sealed = 0;

    if (mac == NULL || mac_len != GW_OWNER_MAC_LEN) {
        return;
    }

    /* a seal made before a rotation holds while its key is listed */
    for (i = 0; i < op->nowner_keys; i++) {
        gw_owner_mac_key(&op->owner_keys[i], client, client_len, unique,
                         unique_len, expect);

        if (gw_memeq_ct(mac, expect, GW_OWNER_MAC_LEN)) {
            job->owner_sealed = 1;
            return;
        }
    }
}


/*
 * The owner of a vendor job named "<client>.<rest>.<mac>", unless a
 * vendor set it; a name without its seal ("<client>.<rest>", as earlier
 * versions named jobs) names an owner, unsealed
 */
void
gw_job_set_owner(const gw_op_t *op, gw_job_t *job)
{
    size_t       len;
    const char  *dot, *last;

    if (job->owner != NULL || job->name == NULL) {
        return;
    }

    dot = strchr(job->name, '.');
    if (dot == NULL || dot == job->name) {
        return;
    }

    len = strlen(job->name);
    last = strrchr(job->name, '.');

    if (last == dot) {
        gw_job_owner(job, op, job->name, dot - job->name, job->name, len,
                     NULL, 0);
        return;
    }

    gw_job_owner(job, op, job->name, dot - job->name, job->name,
                 last - job->name, last + 1, len - (last + 1 - job->name));
}


int
gw_owner_seal(const gw_op_t *op, char *name, size_t size)
{
    char    mac[GW_OWNER_MAC_LEN + 1];
    size_t  len;

    len = strlen(name);

    if (len + 1 + GW_OWNER_MAC_LEN + 1 > size) {
        return -1;
    }

    gw_owner_mac(op, op->client->name, strlen(op->client->name), name, len,
                 mac);

    name[len] = '.';
    memcpy(name + len + 1, mac, GW_OWNER_MAC_LEN + 1);

    return 0;
}
