
/*
 * Client-facing errors, and the redaction of secrets from vendor text.
 */


#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <core/gw_core.h>


#define GW_REDACTED      "[redacted]"
#define GW_REDACTED_LEN  (sizeof(GW_REDACTED) - 1)
/* shorter secrets would match ordinary words */
#define GW_REDACT_MIN    4


static void gw_error_copy(char *dst, size_t size, const char *src);
static void gw_utf8_trim(char *s);
static void gw_error_vset(gw_error_t *err, int http_status, const char *type,
    const char *param, const char *code, const char *fmt, va_list args);
static cJSON *gw_error_str_or_null(const char *s);
static size_t gw_redact_match(const gw_provider_t *p, const char *s);
static void gw_redact_put(char *dst, size_t *n, size_t room, const char *s,
    size_t len);


/*
 * A cut may split a multi-byte UTF-8 character (CLOVA messages are
 * Korean); drop the partial character so the JSON stays valid UTF-8.
 */

static void
gw_utf8_trim(char *s)
{
    size_t          len, i, need;
    unsigned char   c;

    len = strlen(s);
    i = len;

    /* back over at most three continuation bytes to the lead byte */
    while (i > 0 && len - i < 3
           && ((unsigned char) s[i - 1] & 0xc0) == 0x80)
    {
        i--;
    }

    if (i == 0) {
        return;
    }

    c = (unsigned char) s[i - 1];

    if (c < 0x80) {
        return;
    }

    need = (c >= 0xf0) ? 4 : (c >= 0xe0) ? 3 : (c >= 0xc0) ? 2 : 1;

    if (len - (i - 1) < need) {
        s[i - 1] = '\0';
    }
}


static void
gw_error_copy(char *dst, size_t size, const char *src)
{
    size_t  len;

    if (src == NULL) {
        dst[0] = '\0';
        return;
    }

    len = strlen(src);

    if (len >= size) {
        memcpy(dst, src, size - 1);
        dst[size - 1] = '\0';
        gw_utf8_trim(dst);
        return;
    }

    memcpy(dst, src, len + 1);
}


static void
gw_error_vset(gw_error_t *err, int http_status, const char *type,
    const char *param, const char *code, const char *fmt, va_list args)
{
    int  n;

    err->http_status = http_status;
    err->type = (type != NULL) ? type : GW_TYPE_API;

    gw_error_copy(err->param, sizeof(err->param), param);
    gw_error_copy(err->code, sizeof(err->code), code);

    n = vsnprintf(err->message, sizeof(err->message), fmt, args);

    if (n < 0) {
        err->message[0] = '\0';

    } else if ((size_t) n >= sizeof(err->message)) {
        gw_utf8_trim(err->message);
    }
}


void
gw_error_set(gw_error_t *err, int http_status, const char *type,
    const char *param, const char *code, const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    gw_error_vset(err, http_status, type, param, code, fmt, args);
    va_end(args);
}


void
gw_error_invalid(gw_error_t *err, const char *param, const char *code,
    const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    gw_error_vset(err, 400, GW_TYPE_INVALID, param, code, fmt, args);
    va_end(args);
}


static cJSON *
gw_error_str_or_null(const char *s)
{
    if (s == NULL || s[0] == '\0') {
        return cJSON_CreateNull();
    }

    return cJSON_CreateString(s);
}


char *
gw_error_json(const gw_error_t *err)
{
    char   *s;
    cJSON  *root, *obj, *item;

    root = cJSON_CreateObject();
    if (root == NULL) {
        return NULL;
    }

    obj = cJSON_AddObjectToObject(root, "error");
    if (obj == NULL) {
        goto failed;
    }

    item = cJSON_CreateString(err->message);
    if (item == NULL || !cJSON_AddItemToObject(obj, "message", item)) {
        gw_json_delete(item);
        goto failed;
    }

    item = cJSON_CreateString(err->type != NULL ? err->type : GW_TYPE_API);
    if (item == NULL || !cJSON_AddItemToObject(obj, "type", item)) {
        gw_json_delete(item);
        goto failed;
    }

    item = gw_error_str_or_null(err->param);
    if (item == NULL || !cJSON_AddItemToObject(obj, "param", item)) {
        gw_json_delete(item);
        goto failed;
    }

    item = gw_error_str_or_null(err->code);
    if (item == NULL || !cJSON_AddItemToObject(obj, "code", item)) {
        gw_json_delete(item);
        goto failed;
    }

    s = cJSON_PrintUnformatted(root);
    gw_json_delete(root);

    return s;

failed:

    gw_json_delete(root);

    return NULL;
}


/* ---- redaction --------------------------------------------------------- */


/* length of the longest secret starting at s, 0 if none */

static size_t
gw_redact_match(const gw_provider_t *p, const char *s)
{
    size_t             i, len, best;
    const gw_param_t  *param;

    best = 0;

    for (i = 0; i < p->nparams && i < GW_MAX_PARAMS; i++) {
        param = &p->params[i];

        if (!param->secret || param->value == NULL
            || param->value[0] != s[0])
        {
            continue;
        }

        len = strlen(param->value);

        if (len >= GW_REDACT_MIN && len > best
            && strncmp(s, param->value, len) == 0)
        {
            best = len;
        }
    }

    return best;
}


static void
gw_redact_put(char *dst, size_t *n, size_t room, const char *s, size_t len)
{
    if (len > room - *n) {
        len = room - *n;
    }

    memcpy(dst + *n, s, len);
    *n += len;
}


/*
 * One left-to-right pass over a copy, writing into text: every secret is
 * matched whole in the input before the output is cut to size, so a cut
 * never leaves the beginning of a secret behind.  Out of memory, the whole
 * text is dropped rather than risk leaking.
 */

void
gw_redact(const gw_provider_t *p, char *text, size_t size)
{
    char    *src;
    size_t   i, len, m, n, room;

    if (p == NULL || text == NULL || size == 0) {
        return;
    }

    len = strnlen(text, size - 1);
    text[len] = '\0';

    src = gw_malloc(len + 1);
    if (src == NULL) {
        gw_error_copy(text, size, GW_REDACTED);
        return;
    }

    memcpy(src, text, len + 1);

    room = size - 1;
    n = 0;
    i = 0;

    while (i < len && n < room) {
        m = gw_redact_match(p, src + i);

        if (m > 0) {
            gw_redact_put(text, &n, room, GW_REDACTED, GW_REDACTED_LEN);
            i += m;

        } else {
            text[n++] = src[i++];
        }
    }

    text[n] = '\0';

    if (i < len) {
        gw_utf8_trim(text);
    }

    gw_free(src);
}


/*
 * A vendor's text for a client: secrets are redacted over the whole text
 * first (a cut could split a secret and leave its head), then the text
 * is cut to size on a UTF-8 character boundary.
 */

void
gw_vendor_text(const gw_provider_t *p, const char *src, char *out,
    size_t size)
{
    char    *buf;
    size_t   len, cap;

    if (size == 0) {
        return;
    }

    if (src == NULL) {
        out[0] = '\0';
        return;
    }

    /* what lies past this never reaches out */
    len = strnlen(src, 8192);
    cap = len * 3 + 16;

    buf = gw_malloc(cap);
    if (buf == NULL) {
        gw_error_copy(out, size, GW_REDACTED);
        return;
    }

    memcpy(buf, src, len);
    buf[len] = '\0';

    gw_redact(p, buf, cap);

    len = strlen(buf);

    if (len < size) {
        memcpy(out, buf, len + 1);

    } else {
        memcpy(out, buf, size - 1);
        out[size - 1] = '\0';
        gw_utf8_trim(out);
    }

    gw_free(buf);
}


/* s with p's secrets redacted, into *s again when it changed */
static int
gw_redact_str(const gw_provider_t *p, char **s)
{
    char    *buf;
    size_t   len, cap;

    if (*s == NULL) {
        return 0;
    }

    /* each byte could start a match, each match grows to GW_REDACTED */
    len = strlen(*s);
    cap = len * GW_REDACTED_LEN + 1;

    buf = gw_malloc(cap);
    if (buf == NULL) {
        return -1;
    }

    memcpy(buf, *s, len + 1);
    gw_redact(p, buf, cap);

    if (strcmp(buf, *s) == 0) {
        gw_free(buf);
        return 0;
    }

    gw_free(*s);
    *s = buf;

    return 0;
}


/* strings of a vendor's JSON, keys and values, redacted in place */
static int
gw_redact_json(const gw_provider_t *p, cJSON *item)
{
    cJSON  *c;

    for (c = item; c != NULL; c = c->next) {
        if (gw_redact_str(p, &c->string) != 0) {
            return -1;
        }

        if (cJSON_IsString(c) && gw_redact_str(p, &c->valuestring) != 0) {
            return -1;
        }

        if (c->child != NULL && gw_redact_json(p, c->child) != 0) {
            return -1;
        }
    }

    return 0;
}


static int
gw_redact_holds(const gw_provider_t *p, const char *text)
{
    if (text == NULL) {
        return 0;
    }

    for ( /* void */ ; *text != '\0'; text++) {
        if (gw_redact_match(p, text) > 0) {
            return 1;
        }
    }

    return 0;
}


int
gw_job_id_holds_secret(const gw_provider_t *p, const gw_job_t *job)
{
    return gw_redact_holds(p, job->vendor_id)
           || gw_redact_holds(p, job->vendor_id2);
}


int
gw_job_redact(const gw_provider_t *p, gw_job_t *job)
{
    size_t   i;
    char   **s[] = {
        &job->vendor_status, &job->vendor_model, &job->name,
        &job->fine_tuned_model, &job->training_file, &job->validation_file,
        &job->vendor_error_code, &job->checkpoint_prefix
    };

    for (i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
        if (gw_redact_str(p, s[i]) != 0) {
            return -1;
        }
    }

    gw_redact(p, job->error_code, sizeof(job->error_code));
    gw_redact(p, job->error_message, sizeof(job->error_message));

    if (job->vendor_extra != NULL
        && gw_redact_json(p, job->vendor_extra->child) != 0)
    {
        return -1;
    }

    if (job->metadata != NULL
        && gw_redact_json(p, job->metadata->child) != 0)
    {
        return -1;
    }

    return 0;
}
