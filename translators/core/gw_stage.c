
/*
 * Uploaded files staged to a vendor: the Files API's chat file converted
 * to the vendor's dataset format, then put where the vendor reads
 * datasets by the vendor's GW_OP_STAGE, once per file and provider.
 *
 * The conversion streams: a bounded read of the source, its whole lines
 * parsed one at a time and their records written, so memory holds one
 * line and its records whatever the file's size, and the caller returns
 * to its event loop between steps.  The conversion runs to its end
 * before the first vendor call, so that data the vendor could not take
 * is refused (400, param training_file) with nothing created.
 *
 * A staged file is recorded beside it in the store, as
 * "<key>.staged-<provider>" holding the reference the create names; a
 * later create on the same file and provider names it again and stages
 * nothing.
 */


#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/evp.h>

#include <gw.h>
#include <gw_files.h>
#include <core/gw_core.h>
#include <core/gw_chatfile.h>


#define GW_CONVERT_READ    65536


struct gw_convert_s {
    const gw_stage_format_t  *fmt;
    const char               *param;
    int                       src;
    int                       dst;
    char                     *line;          /* the line being read */
    size_t                    len;
    size_t                    size;
    int64_t                   line_no;
    int64_t                   examples;
    int64_t                   records;
    int64_t                   written;
    int                       eof;
    EVP_MD_CTX               *sha;
    gw_out_t                  out;
};


typedef struct {
    gw_dataset_t             *ds;
    char                      key[2 * GW_FILE_KEY_LEN + 1];
    char                      param[96];
} gw_stage_item_t;


struct gw_stager_s {
    const gw_gateway_t       *gw;
    const gw_client_t        *client;
    const gw_provider_t      *provider;
    const gw_stage_format_t  *fmt;
    gw_stage_item_t           items[2 * GW_MAX_DATASETS];
    size_t                    nitems;
    size_t                    current;
    gw_convert_t             *cv;
    char                      tmp[GW_FILES_PATH_MAX];   /* converted file */
};


static gw_convert_t *gw_convert_create(const gw_stage_format_t *fmt,
    const char *src, const char *dst, const char *param, gw_error_t *err);
static int gw_convert_run(gw_convert_t *cv, size_t budget, gw_error_t *err);
static int gw_convert_keep(gw_convert_t *cv, const char *p, size_t n,
    gw_error_t *err);
static int gw_convert_line(gw_convert_t *cv, const char *p, size_t n,
    gw_error_t *err);
static int gw_convert_write(gw_convert_t *cv, const char *p, size_t n);
static void gw_convert_refuse(gw_convert_t *cv, gw_error_t *err,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int gw_convo_turn(gw_convo_t *c, size_t *cap, const char *user,
    const char *assistant, int weight);
static char *gw_concat(char *a, const char *b);
static void gw_stage_unlink(gw_stager_t *st);


/* ---- conversations ------------------------------------------------- */


int
gw_convo_read(const gw_stage_format_t *fmt, const cJSON *example,
    int64_t index, gw_convo_t *c, char *why, size_t len)
{
    int           weight, started;
    char         *user, *system;
    size_t        cap, m;
    const char   *role, *content;
    const cJSON  *msg, *w;

    memset(c, 0, sizeof(gw_convo_t));
    c->index = index;
    c->messages = gw_json_get(example, "messages");

    if (gw_json_get(example, "tools") != NULL
        || gw_json_get(example, "functions") != NULL)
    {
        snprintf(why, len, "tool definitions cannot be expressed in %s's "
                 "dataset", fmt->vendor);
        return -1;
    }

    if (!cJSON_IsArray(c->messages) || c->messages->child == NULL) {
        snprintf(why, len, "no \"messages\"");
        return -1;
    }

    user = NULL;
    system = NULL;
    cap = 0;
    started = 0;
    m = 0;

    for (msg = c->messages->child; msg != NULL; msg = msg->next) {
        m++;
        role = gw_json_str(msg, "role");
        content = gw_json_str(msg, "content");

        if (role == NULL || content == NULL) {
            snprintf(why, len, "message %zu has no role or content", m);
            goto failed;
        }

        if (strcmp(role, "system") == 0) {
            /* one prompt for the conversation: only before it starts */
            if (started) {
                snprintf(why, len, "message %zu: a system message after "
                         "the conversation started cannot be expressed in "
                         "%s's dataset", m, fmt->vendor);
                goto failed;
            }

            system = system ? gw_concat(gw_concat(system, "\n"), content)
                            : gw_strdup(content);
            if (system == NULL) {
                goto nomem;
            }

            continue;
        }

        started = 1;

        if (strcmp(role, "user") != 0 && strcmp(role, "assistant") != 0) {
            snprintf(why, len, "message %zu: the role \"%.32s\" cannot be "
                     "expressed in %s's dataset", m, role, fmt->vendor);
            goto failed;
        }

        if (strcmp(role, "user") == 0) {
            user = user ? gw_concat(gw_concat(user, "\n"), content)
                        : gw_strdup(content);
            if (user == NULL) {
                goto nomem;
            }

            continue;
        }

        /* the assistant's reply ends a turn */
        w = gw_json_get(msg, "weight");
        weight = (w == NULL || w->valuedouble != 0) ? 1 : 0;

        if (user == NULL || user[0] == '\0') {
            snprintf(why, len, "message %zu: an assistant message without "
                     "a user message before it cannot be expressed in "
                     "%s's dataset", m, fmt->vendor);
            goto failed;
        }

        if (content[0] == '\0') {
            snprintf(why, len, "message %zu: an empty assistant message "
                     "cannot be expressed in %s's dataset", m, fmt->vendor);
            goto failed;
        }

        if (weight == 0 && !fmt->weight_zero) {
            snprintf(why, len, "message %zu: \"weight\": 0 (a reply not "
                     "trained on) cannot be expressed in %s's dataset", m,
                     fmt->vendor);
            goto failed;
        }

        if (gw_convo_turn(c, &cap, user, content, weight) != 0) {
            goto nomem;
        }

        user = NULL;     /* the turn owns it */

        if (fmt->max_turns && c->nturns > fmt->max_turns) {
            snprintf(why, len, "%zu turns or more, where %s takes at most "
                     "%zu", c->nturns, fmt->vendor, fmt->max_turns);
            goto failed;
        }
    }

    gw_free(user);
    user = NULL;

    if (c->nturns == 0) {
        snprintf(why, len, "no assistant message after a user message");
        goto failed;
    }

    c->system = system ? system : gw_strdup("");
    if (c->system == NULL) {
        gw_convo_free(c);
        snprintf(why, len, "out of memory");
        return -1;
    }

    return 0;

nomem:

    snprintf(why, len, "out of memory");

failed:

    gw_free(user);
    gw_free(system);
    gw_convo_free(c);

    return -1;
}


static int
gw_convo_turn(gw_convo_t *c, size_t *cap, const char *user,
    const char *assistant, int weight)
{
    gw_turn_t  *turns;

    if (c->nturns == *cap) {
        turns = gw_realloc(c->turns, (*cap ? *cap * 2 : 4)
                                     * sizeof(gw_turn_t));
        if (turns == NULL) {
            return -1;
        }

        c->turns = turns;
        *cap = *cap ? *cap * 2 : 4;
    }

    c->turns[c->nturns].user = user;
    c->turns[c->nturns].assistant = assistant;
    c->turns[c->nturns].weight = weight;
    c->nturns++;

    return 0;
}


void
gw_convo_free(gw_convo_t *c)
{
    size_t  i;

    for (i = 0; i < c->nturns; i++) {
        gw_free((char *) c->turns[i].user);
    }

    gw_free(c->turns);
    gw_free((char *) c->system);
    c->turns = NULL;
    c->nturns = 0;
    c->system = NULL;
}


/* a + b, a freed; NULL (a freed) when out of memory */

static char *
gw_concat(char *a, const char *b)
{
    char    *s;
    size_t   la, lb;

    if (a == NULL) {
        return NULL;
    }

    la = strlen(a);
    lb = strlen(b);

    s = gw_realloc(a, la + lb + 1);
    if (s == NULL) {
        gw_free(a);
        return NULL;
    }

    memcpy(s + la, b, lb + 1);

    return s;
}


/* CSV as RFC 4180 writes it: quoted when it holds , " CR or LF */

void
gw_out_csv(gw_out_t *o, const char *s)
{
    const char  *q;

    if (strpbrk(s, ",\"\r\n") == NULL) {
        gw_out_put(o, s, strlen(s));
        return;
    }

    gw_out_put(o, "\"", 1);

    while ((q = strchr(s, '"')) != NULL) {
        gw_out_put(o, s, q - s + 1);
        gw_out_put(o, "\"", 1);
        s = q + 1;
    }

    gw_out_put(o, s, strlen(s));
    gw_out_put(o, "\"", 1);
}


/* ---- the streaming conversion ------------------------------------- */


/*
 * The conversion allocates from malloc(), not from the exchange's arena,
 * where a freed line stays allocated until the request ends: its memory
 * then stays one line's whatever the file's size.
 */

gw_convert_t *
gw_convert_open(const gw_stage_format_t *fmt, const char *src,
    const char *dst, const char *param, gw_error_t *err)
{
    gw_arena_t    *prev;
    gw_convert_t  *cv;

    prev = gw_arena_use(NULL);
    cv = gw_convert_create(fmt, src, dst, param, err);
    gw_arena_use(prev);

    return cv;
}


static gw_convert_t *
gw_convert_create(const gw_stage_format_t *fmt, const char *src,
    const char *dst, const char *param, gw_error_t *err)
{
    gw_convert_t  *cv;

    cv = gw_calloc(1, sizeof(gw_convert_t));
    if (cv == NULL) {
        goto nomem;
    }

    cv->fmt = fmt;
    cv->param = param;
    cv->dst = -1;
    cv->src = open(src, O_RDONLY | O_CLOEXEC);
    cv->sha = EVP_MD_CTX_new();
    gw_out_init(&cv->out);

    if (cv->sha == NULL
        || EVP_DigestInit_ex(cv->sha, EVP_sha256(), NULL) != 1)
    {
        gw_convert_close(cv);
        goto nomem;
    }

    if (cv->src == -1) {
        gw_convert_close(cv);
        gw_error_set(err, 503, GW_TYPE_API, param, "file_staging_failed",
                     "%s: the uploaded file could not be read", param);
        return NULL;
    }

    cv->dst = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

    if (cv->dst == -1
        || (fmt->header != NULL
            && gw_convert_write(cv, fmt->header, strlen(fmt->header)) != 0))
    {
        gw_convert_close(cv);
        gw_error_set(err, 503, GW_TYPE_API, param, "file_staging_failed",
                     "%s: the file could not be converted for %s: the "
                     "gateway's store cannot be written", param,
                     fmt->vendor);
        return NULL;
    }

    return cv;

nomem:

    gw_error_set(err, 503, GW_TYPE_API, NULL, "out_of_memory",
                 "The gateway is out of memory");
    return NULL;
}


int
gw_convert_step(gw_convert_t *cv, size_t budget, gw_error_t *err)
{
    int          rc;
    gw_arena_t  *prev;

    prev = gw_arena_use(NULL);
    rc = gw_convert_run(cv, budget, err);
    gw_arena_use(prev);

    return rc;
}


static int
gw_convert_run(gw_convert_t *cv, size_t budget, gw_error_t *err)
{
    char     buf[GW_CONVERT_READ], *nl, *p;
    size_t   done;
    ssize_t  n;

    for (done = 0; done < budget && !cv->eof; done += (size_t) n) {

        n = read(cv->src, buf, sizeof(buf));

        if (n < 0) {
            if (errno == EINTR) {
                n = 0;
                continue;
            }

            goto io_failed;
        }

        if (n == 0) {
            cv->eof = 1;
            break;
        }

        p = buf;

        while ((nl = memchr(p, '\n', buf + n - p)) != NULL) {

            if (cv->len == 0) {
                /* a whole line in the buffer: no copy */
                if (gw_convert_line(cv, p, nl - p, err) != 0) {
                    return -1;
                }

            } else {
                if (gw_convert_keep(cv, p, nl - p, err) != 0
                    || gw_convert_line(cv, cv->line, cv->len, err) != 0)
                {
                    return -1;
                }

                cv->len = 0;
            }

            p = nl + 1;
        }

        /* the start of a line that goes on in the next read */
        if (p < buf + n && gw_convert_keep(cv, p, buf + n - p, err) != 0) {
            return -1;
        }
    }

    if (!cv->eof) {
        return 1;
    }

    /* the last line, without its newline */
    if (cv->len > 0) {
        if (gw_convert_line(cv, cv->line, cv->len, err) != 0) {
            return -1;
        }

        cv->len = 0;
    }

    if (cv->fmt->min_examples && cv->examples < cv->fmt->min_examples) {
        gw_error_invalid(err, cv->param, "invalid_training_file",
                         "%s: %lld examples, where %s needs at least %lld "
                         "(%s)", cv->param, (long long) cv->examples,
                         cv->fmt->vendor, (long long) cv->fmt->min_examples,
                         cv->fmt->min_examples_reason);
        return -1;
    }

    if (cv->fmt->min_records && cv->records < cv->fmt->min_records) {
        gw_error_invalid(err, cv->param, "invalid_training_file",
                         "%s: the file makes %lld records, where %s needs "
                         "at least %lld (%s)", cv->param,
                         (long long) cv->records, cv->fmt->vendor,
                         (long long) cv->fmt->min_records,
                         cv->fmt->min_records_reason);
        return -1;
    }

    /* no fsync(): the copy lives as long as this request, which reads it
     * back from the page cache; a sync would hold the event loop */
    return 0;

io_failed:

    gw_error_set(err, 503, GW_TYPE_API, cv->param, "file_staging_failed",
                 "%s: the file could not be converted for %s: the "
                 "gateway's store cannot be read or written", cv->param,
                 cv->fmt->vendor);
    return -1;
}


/* appends a piece of the line being read to cv->line */

static int
gw_convert_keep(gw_convert_t *cv, const char *p, size_t n, gw_error_t *err)
{
    char    *line;
    size_t   size;

    size = cv->len + n;

    if (size > GW_CHAT_LINE_MAX) {
        /* the upload's check refused such lines: the file changed */
        gw_error_set(err, 503, GW_TYPE_API, cv->param, "file_staging_failed",
                     "%s: the uploaded file could not be read", cv->param);
        return -1;
    }

    if (size > cv->size) {
        size = (size < 2 * cv->size) ? 2 * cv->size : size;

        line = gw_realloc(cv->line, size);
        if (line == NULL) {
            gw_error_set(err, 503, GW_TYPE_API, NULL, "out_of_memory",
                         "The gateway is out of memory");
            return -1;
        }

        cv->line = line;
        cv->size = size;
    }

    memcpy(cv->line + cv->len, p, n);
    cv->len += n;

    return 0;
}


static int
gw_convert_line(gw_convert_t *cv, const char *p, size_t n, gw_error_t *err)
{
    int          rc;
    char         why[256];
    size_t       i, len;
    cJSON       *example;
    int64_t      records;
    gw_convo_t   c;

    cv->line_no++;

    for (i = 0; i < n; i++) {
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r') {
            break;
        }
    }

    if (i == n) {
        return 0;                   /* blank lines are no examples */
    }

    example = gw_json_parse(p, n, NULL);

    if (example == NULL) {
        gw_convert_refuse(cv, err, "line %lld is not JSON",
                          (long long) cv->line_no);
        return -1;
    }

    rc = gw_convo_read(cv->fmt, example, cv->examples, &c, why, sizeof(why));

    if (rc == 0) {
        c.line = cv->line_no;
        cv->out.len = 0;
        cv->out.comma = 0;
        cv->out.after_key = 0;
        records = cv->fmt->emit(&c, &cv->out, why, sizeof(why));
        gw_convo_free(&c);

        if (records < 0) {
            rc = -1;

        } else if (cv->out.failed) {
            gw_json_delete(example);
            gw_error_set(err, 503, GW_TYPE_API, NULL, "out_of_memory",
                         "The gateway is out of memory");
            return -1;

        } else {
            cv->records += records;
        }
    }

    gw_json_delete(example);

    if (rc != 0) {
        gw_convert_refuse(cv, err, "line %lld: %s", (long long) cv->line_no,
                          why);
        return -1;
    }

    cv->examples++;
    len = cv->out.len;

    if (len > 0 && gw_convert_write(cv, cv->out.p, len) != 0) {
        gw_error_set(err, 503, GW_TYPE_API, cv->param, "file_staging_failed",
                     "%s: the file could not be converted for %s: the "
                     "gateway's store cannot be written", cv->param,
                     cv->fmt->vendor);
        return -1;
    }

    return 0;
}


static void
gw_convert_refuse(gw_convert_t *cv, gw_error_t *err, const char *fmt, ...)
{
    char     reason[300];
    va_list  args;

    va_start(args, fmt);
    vsnprintf(reason, sizeof(reason), fmt, args);
    va_end(args);

    gw_error_invalid(err, cv->param, "invalid_training_file",
                     "%s cannot be staged to %s: %s", cv->param,
                     cv->fmt->vendor, reason);
}


static int
gw_convert_write(gw_convert_t *cv, const char *p, size_t n)
{
    ssize_t  w;

    if (EVP_DigestUpdate(cv->sha, p, n) != 1) {
        return -1;
    }

    while (n > 0) {
        w = write(cv->dst, p, n);

        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }

            return -1;
        }

        p += w;
        n -= (size_t) w;
        cv->written += w;
    }

    return 0;
}


int64_t
gw_convert_size(const gw_convert_t *cv)
{
    return cv->written;
}


int64_t
gw_convert_records(const gw_convert_t *cv)
{
    return cv->records;
}


void
gw_convert_sha256(const gw_convert_t *cv, char *out)
{
    unsigned int   len;
    unsigned char  md[EVP_MAX_MD_SIZE];
    EVP_MD_CTX    *copy;

    out[0] = '\0';

    copy = EVP_MD_CTX_new();

    if (copy != NULL && EVP_MD_CTX_copy_ex(copy, cv->sha) == 1
        && EVP_DigestFinal_ex(copy, md, &len) == 1 && len == 32)
    {
        gw_hex(md, 32, out);
    }

    EVP_MD_CTX_free(copy);
}


void
gw_convert_close(gw_convert_t *cv)
{
    gw_arena_t  *prev;

    if (cv == NULL) {
        return;
    }

    prev = gw_arena_use(NULL);

    if (cv->src != -1) {
        (void) close(cv->src);
    }

    if (cv->dst != -1) {
        (void) close(cv->dst);
    }

    EVP_MD_CTX_free(cv->sha);
    gw_free(cv->out.p);
    gw_free(cv->line);
    gw_free(cv);

    gw_arena_use(prev);
}


/* ---- the staging of a create's files ------------------------------- */


#define GW_STAGE_BUDGET    (512 * 1024)    /* input bytes a step */


gw_rc_t
gw_stage_plan(const gw_gateway_t *gw, const gw_client_t *client,
    const gw_provider_t *p, gw_job_spec_t *spec, gw_stager_t **out,
    gw_error_t *err)
{
    char                      key[2 * GW_FILE_KEY_LEN + 1], param[96];
    size_t                    i, n;
    gw_file_t                 f;
    gw_stager_t              *st;
    gw_dataset_t             *ds;
    const char               *pname;
    const gw_stage_format_t  *fmt;

    *out = NULL;
    st = NULL;
    fmt = p->vendor->stage_format;
    n = spec->ntrain + spec->nvalid;

    for (i = 0; i < n; i++) {
        ds = (i < spec->ntrain) ? &spec->train[i]
                                : &spec->valid[i - spec->ntrain];

        if (ds->ref == NULL || strncmp(ds->ref, "file-", 5) != 0) {
            continue;
        }

        pname = gw_dataset_param(spec, i >= spec->ntrain,
                                 i < spec->ntrain ? i : i - spec->ntrain,
                                 param, sizeof(param));

        if (gw_files_lookup(gw, client, ds->ref, pname, key, &f, err)
            != GW_OK)
        {
            goto failed;
        }

        if (gw_provider_param(p, fmt->needs_param) == NULL) {
            gw_error_invalid(err, pname, "unsupported_value",
                             "%s: provider '%s' cannot take uploaded files: "
                             "it has no storage configured (%s=); give a "
                             "reference to data the vendor already holds",
                             pname, p->name, fmt->needs_param);
            goto failed;
        }

        /* the vendor's minimum, known from the upload's count */
        if (fmt->min_examples && f.examples < fmt->min_examples) {
            gw_error_invalid(err, pname, "invalid_training_file",
                             "%s: %lld examples, where %s needs at least "
                             "%lld (%s)", pname, (long long) f.examples,
                             fmt->vendor, (long long) fmt->min_examples,
                             fmt->min_examples_reason);
            goto failed;
        }

        if (st == NULL) {
            st = gw_calloc(1, sizeof(gw_stager_t));
            if (st == NULL) {
                gw_error_set(err, 503, GW_TYPE_API, NULL, "out_of_memory",
                             "The gateway is out of memory");
                return GW_ERROR;
            }

            st->gw = gw;
            st->client = client;
            st->provider = p;
            st->fmt = fmt;
        }

        st->items[st->nitems].ds = ds;
        gw_copy(st->items[st->nitems].key, sizeof(st->items[0].key), key);
        gw_copy(st->items[st->nitems].param, sizeof(st->items[0].param),
                pname);
        st->nitems++;
    }

    *out = st;
    return GW_OK;

failed:

    gw_stage_free(st);
    return GW_ERROR;
}


/* names ref in the dataset, keeping the client's file id for the answer */

static gw_rc_t
gw_stage_name(gw_stage_item_t *item, const char *ref, int64_t records,
    gw_error_t *err)
{
    char  *copy;

    copy = gw_strdup(ref);
    if (copy == NULL) {
        gw_error_set(err, 503, GW_TYPE_API, NULL, "out_of_memory",
                     "The gateway is out of memory");
        return GW_ERROR;
    }

    item->ds->file_id = item->ds->ref;
    item->ds->ref = copy;
    item->ds->records = records;

    return GW_OK;
}


gw_stage_rc_t
gw_stage_work(gw_stager_t *st, gw_op_t *op, gw_error_t *err)
{
    int               rc;
    char              src[GW_FILES_PATH_MAX], ref[512], rnd_hex[17];
    int64_t           records;
    unsigned char     rnd[8];
    const char       *root, *client;
    gw_stage_item_t  *item;

    root = st->gw->files_root;
    client = st->client->name;

    while (st->cv == NULL) {

        if (st->current == st->nitems) {
            return GW_STAGE_DONE;
        }

        item = &st->items[st->current];

        /* a file named twice in one create is staged once */
        if (gw_store_staged_get(root, client, item->key, st->provider->name,
                                ref, sizeof(ref), &records)
            == 0)
        {
            if (gw_stage_name(item, ref, records, err) != GW_OK) {
                return GW_STAGE_ERROR;
            }

            st->current++;
            continue;
        }

        if (gw_random_bytes(rnd, sizeof(rnd)) != 0
            || gw_store_content_path(root, client, item->key, src,
                                     sizeof(src))
               != 0)
        {
            goto failed;
        }

        gw_hex(rnd, sizeof(rnd), rnd_hex);

        rc = snprintf(st->tmp, sizeof(st->tmp), "%s/.tmp/stage-%s.%s", root,
                      rnd_hex, st->fmt->ext);
        if (rc < 0 || (size_t) rc >= sizeof(st->tmp)) {
            st->tmp[0] = '\0';
            goto failed;
        }

        st->cv = gw_convert_open(st->fmt, src, st->tmp, item->param, err);

        if (st->cv == NULL) {
            gw_stage_unlink(st);
            return GW_STAGE_ERROR;
        }
    }

    item = &st->items[st->current];

    rc = gw_convert_step(st->cv, GW_STAGE_BUDGET, err);

    if (rc < 0) {
        gw_convert_close(st->cv);
        st->cv = NULL;
        gw_stage_unlink(st);
        return GW_STAGE_ERROR;
    }

    if (rc > 0) {
        return GW_STAGE_AGAIN;
    }

    /* converted: the vendor's GW_OP_STAGE puts it */
    op->stage.path = st->tmp;
    op->stage.size = gw_convert_size(st->cv);
    op->stage.records = gw_convert_records(st->cv);
    gw_convert_sha256(st->cv, op->stage.sha256);
    op->stage.content_type = st->fmt->content_type;
    op->stage.ref[0] = '\0';
    (void) snprintf(op->stage.object, sizeof(op->stage.object), "%s-%s.%s",
                    client, item->key, st->fmt->ext);

    gw_convert_close(st->cv);
    st->cv = NULL;

    return GW_STAGE_PUT;

failed:

    gw_error_set(err, 503, GW_TYPE_API, st->items[st->current].param,
                 "file_staging_failed",
                 "%s: the file could not be converted for %s: the gateway's "
                 "store cannot be read or written",
                 st->items[st->current].param, st->fmt->vendor);
    return GW_STAGE_ERROR;
}


gw_rc_t
gw_stage_put_done(gw_stager_t *st, const gw_op_t *op, gw_error_t *err)
{
    gw_stage_item_t  *item;

    item = &st->items[st->current];

    gw_stage_unlink(st);

    /* a record that cannot be written costs a second staging later */
    (void) gw_store_staged_put(st->gw->files_root, st->client->name,
                               item->key, st->provider->name,
                               op->stage.ref, op->stage.records);

    if (gw_stage_name(item, op->stage.ref, op->stage.records, err)
        != GW_OK)
    {
        return GW_ERROR;
    }

    st->current++;

    return GW_OK;
}


static void
gw_stage_unlink(gw_stager_t *st)
{
    if (st->tmp[0] != '\0') {
        (void) unlink(st->tmp);
        st->tmp[0] = '\0';
    }
}


void
gw_stage_free(gw_stager_t *st)
{
    if (st == NULL) {
        return;
    }

    gw_convert_close(st->cv);
    gw_stage_unlink(st);
    gw_free(st);
}


/* ---- the staged records -------------------------------------------- */


static int
gw_staged_path(const char *root, const char *client, const char *key,
    const char *provider, char *path, size_t size)
{
    int  n;

    n = snprintf(path, size, "%s/%s/%s.staged-%s", root, client, key,
                 provider);

    return (n < 0 || (size_t) n >= size) ? -1 : 0;
}


int
gw_store_staged_get(const char *root, const char *client, const char *key,
    const char *provider, char *ref, size_t size, int64_t *records)
{
    int      fd;
    char     path[GW_FILES_PATH_MAX], *sp, *end;
    ssize_t  n;

    if (gw_staged_path(root, client, key, provider, path, sizeof(path))
        != 0)
    {
        return -1;
    }

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        return -1;
    }

    n = read(fd, ref, size - 1);
    (void) close(fd);

    /* one line, as written: anything else is no record */
    if (n <= 1 || ref[n - 1] != '\n' || memchr(ref, '\n', n - 1) != NULL) {
        return -1;
    }

    ref[n - 1] = '\0';

    sp = strrchr(ref, ' ');
    if (sp == NULL || sp == ref) {
        return -1;
    }

    *records = strtoll(sp + 1, &end, 10);
    if (*end != '\0' || end == sp + 1 || *records < 0) {
        return -1;
    }

    *sp = '\0';

    return 0;
}


int
gw_store_staged_put(const char *root, const char *client, const char *key,
    const char *provider, const char *ref, int64_t records)
{
    int            fd, n, rc;
    char           path[GW_FILES_PATH_MAX], tmp[GW_FILES_PATH_MAX];
    char           rnd_hex[17], line[600];
    size_t         len;
    unsigned char  rnd[8];

    if (gw_staged_path(root, client, key, provider, path, sizeof(path)) != 0
        || gw_random_bytes(rnd, sizeof(rnd)) != 0)
    {
        return -1;
    }

    gw_hex(rnd, sizeof(rnd), rnd_hex);

    n = snprintf(tmp, sizeof(tmp), "%s/.tmp/staged-%s", root, rnd_hex);
    if (n < 0 || (size_t) n >= sizeof(tmp)) {
        return -1;
    }

    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd == -1) {
        return -1;
    }

    n = snprintf(line, sizeof(line), "%s %lld\n", ref, (long long) records);
    len = (n > 0 && (size_t) n < sizeof(line)) ? (size_t) n : 0;
    rc = (len > 0 && write(fd, line, len) == (ssize_t) len) ? 0 : -1;

    if (close(fd) != 0) {
        rc = -1;
    }

    /* a reader sees the whole record or none */
    if (rc != 0 || rename(tmp, path) != 0) {
        (void) unlink(tmp);
        return -1;
    }

    return 0;
}


void
gw_store_staged_remove(const char *root, const char *client, const char *key)
{
    int             n;
    DIR            *dir;
    char            path[GW_FILES_PATH_MAX], prefix[64];
    size_t          len;
    struct dirent  *e;

    n = snprintf(path, sizeof(path), "%s/%s", root, client);
    if (n < 0 || (size_t) n >= sizeof(path)) {
        return;
    }

    dir = opendir(path);
    if (dir == NULL) {
        return;
    }

    len = gw_join(prefix, sizeof(prefix), key, ".staged-", NULL);

    while ((e = readdir(dir)) != NULL) {
        if (strncmp(e->d_name, prefix, len) != 0) {
            continue;
        }

        n = snprintf(path, sizeof(path), "%s/%s/%s", root, client,
                     e->d_name);
        if (n > 0 && (size_t) n < sizeof(path)) {
            (void) unlink(path);
        }
    }

    (void) closedir(dir);
}
