
/*
 * The OpenAI chat fine-tuning format, line by line.
 *
 * Each non-blank line is one example: a JSON object with "messages", an
 * array of {"role", "content"[, "name"][, "weight"]} where role is
 * system, user or assistant, content is a string, and at least one
 * message is the assistant's.  The file must be UTF-8 and hold at least
 * GW_CHAT_MIN_EXAMPLES examples.  The first bad line stops the check, and
 * its reason is kept in OpenAI's words ("Invalid file format. Line 3,
 * message 2: ..."); the bytes still flow, so the caller can keep hashing
 * and storing them.
 */


#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <base/gw_base.h>
#include <core/gw_chatfile.h>


static void gw_chat_line(gw_chat_check_t *c, const char *p, size_t n);
static void gw_chat_fail(gw_chat_check_t *c, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int gw_chat_example(gw_chat_check_t *c, const cJSON *root);


void
gw_chat_check_init(gw_chat_check_t *c, size_t max_line)
{
    memset(c, 0, sizeof(gw_chat_check_t));
    c->max_line = max_line ? max_line : GW_CHAT_LINE_MAX;
}


void
gw_chat_check_free(gw_chat_check_t *c)
{
    free(c->line);
    c->line = NULL;
    c->size = 0;
    c->len = 0;
}


static void
gw_chat_fail(gw_chat_check_t *c, const char *code, const char *fmt, ...)
{
    va_list  ap;

    if (c->failed) {
        return;
    }

    c->failed = 1;
    snprintf(c->code, sizeof(c->code), "%s", code);

    va_start(ap, fmt);
    vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
    va_end(ap);

    gw_chat_check_free(c);
}


int
gw_utf8_valid(const unsigned char *p, size_t n, size_t *bad_at)
{
    size_t         i, k, len;
    unsigned int   cp, min;
    unsigned char  b;

    i = 0;

    while (i < n) {
        b = p[i];

        if (b < 0x80) {
            i++;
            continue;
        }

        if (b >= 0xc2 && b <= 0xdf) {
            len = 2; cp = b & 0x1f; min = 0x80;

        } else if (b >= 0xe0 && b <= 0xef) {
            len = 3; cp = b & 0x0f; min = 0x800;

        } else if (b >= 0xf0 && b <= 0xf4) {
            len = 4; cp = b & 0x07; min = 0x10000;

        } else {
            goto bad;
        }

        if (i + len > n) {
            goto bad;
        }

        for (k = 1; k < len; k++) {
            if ((p[i + k] & 0xc0) != 0x80) {
                goto bad;
            }

            cp = (cp << 6) | (p[i + k] & 0x3f);
        }

        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            goto bad;
        }

        i += len;
    }

    return 1;

bad:

    if (bad_at) {
        *bad_at = i;
    }

    return 0;
}


void
gw_chat_check_feed(gw_chat_check_t *c, const char *p, size_t n)
{
    char        *nl;
    size_t       take, size;
    const char  *end;

    c->bytes += n;
    end = p + n;

    while (p < end && !c->failed && !c->nomem) {
        nl = memchr(p, '\n', end - p);
        take = (nl ? (size_t) (nl - p) : (size_t) (end - p));

        if (!c->overlong) {
            if (c->len + take > c->max_line) {
                c->overlong = 1;

            } else {
                if (c->len + take > c->size) {
                    size = c->size ? c->size : 4096;

                    while (size < c->len + take) {
                        size *= 2;
                    }

                    if (size > c->max_line) {
                        size = c->max_line;
                    }

                    nl = realloc(c->line, size);
                    if (nl == NULL) {
                        c->nomem = 1;
                        return;
                    }

                    c->line = nl;
                    c->size = size;
                    nl = memchr(p, '\n', end - p);
                }

                /* an empty first line: no buffer yet, nothing to copy */
                if (take > 0) {
                    memcpy(c->line + c->len, p, take);
                    c->len += take;
                }
            }
        }

        p += take;

        if (nl == NULL) {
            break;
        }

        p++;                                    /* the '\n' */
        c->line_no++;

        if (c->overlong) {
            gw_chat_fail(c, "invalid_file_format", "Invalid file format. "
                         "Line %lld is longer than %zu bytes.",
                         (long long) c->line_no, c->max_line);
            return;
        }

        gw_chat_line(c, c->line, c->len);
        c->len = 0;
    }
}


void
gw_chat_check_finish(gw_chat_check_t *c, int64_t min_examples)
{
    if (!c->failed && !c->nomem) {
        if (c->overlong) {
            c->line_no++;
            gw_chat_fail(c, "invalid_file_format", "Invalid file format. "
                         "Line %lld is longer than %zu bytes.",
                         (long long) c->line_no, c->max_line);

        } else if (c->len > 0) {
            c->line_no++;
            gw_chat_line(c, c->line, c->len);
            c->len = 0;
        }
    }

    if (!c->failed && !c->nomem && c->examples < min_examples) {
        gw_chat_fail(c, "invalid_n_examples", "Training file has %lld "
                     "example(s), but must have at least %lld examples.",
                     (long long) c->examples, (long long) min_examples);
    }

    gw_chat_check_free(c);
}


static void
gw_chat_line(gw_chat_check_t *c, const char *p, size_t n)
{
    int          ok;
    size_t       i, bad;
    cJSON       *root;
    gw_arena_t  *prev;

    /* a UTF-8 byte order mark on the first line, and CRLF line ends */
    if (c->line_no == 1 && n >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) {
        p += 3;
        n -= 3;
    }

    if (n > 0 && p[n - 1] == '\r') {
        n--;
    }

    for (i = 0; i < n; i++) {
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r') {
            break;
        }
    }

    if (i == n) {
        return;                                 /* a blank line */
    }

    if (!gw_utf8_valid((const unsigned char *) p, n, &bad)) {
        gw_chat_fail(c, "invalid_file_format", "Invalid file format. Line "
                     "%lld is not valid UTF-8 (byte %zu).",
                     (long long) c->line_no, bad + 1);
        return;
    }

    /* plain malloc()s: the tree is freed before the next line */
    prev = gw_arena_use(NULL);

    root = gw_json_parse(p, n, NULL);

    if (root == NULL) {
        gw_chat_fail(c, "invalid_file_format", "Invalid file format. Line "
                     "%lld cannot be parsed: it is not valid JSON.",
                     (long long) c->line_no);
        ok = 0;

    } else {
        ok = gw_chat_example(c, root);
        cJSON_Delete(root);
    }

    gw_arena_use(prev);

    if (ok) {
        c->examples++;
    }
}


static int
gw_chat_example(gw_chat_check_t *c, const cJSON *root)
{
    int           assistant;
    long long     line, m;
    const char   *role;
    const cJSON  *messages, *msg, *v, *k;

    line = (long long) c->line_no;

    if (!cJSON_IsObject(root)) {
        gw_chat_fail(c, "invalid_file_format", "Invalid file format. Line "
                     "%lld is not a JSON object.", line);
        return 0;
    }

    for (k = root->child; k != NULL; k = k->next) {
        if (strcmp(k->string, "messages") != 0
            && strcmp(k->string, "tools") != 0
            && strcmp(k->string, "parallel_tool_calls") != 0
            && strcmp(k->string, "functions") != 0)
        {
            gw_chat_fail(c, "invalid_file_format", "Invalid file format. "
                         "Line %lld contains an extra \"%.40s\".", line,
                         k->string);
            return 0;
        }
    }

    messages = gw_json_get(root, "messages");

    if (messages == NULL) {
        gw_chat_fail(c, "invalid_file_format", "Invalid file format. Line "
                     "%lld has no \"messages\".", line);
        return 0;
    }

    if (!cJSON_IsArray(messages) || messages->child == NULL) {
        gw_chat_fail(c, "invalid_file_format", "Invalid file format. Line "
                     "%lld: \"messages\" must be a non-empty array.", line);
        return 0;
    }

    assistant = 0;
    m = 0;

    for (msg = messages->child; msg != NULL; msg = msg->next) {
        m++;

        if (!cJSON_IsObject(msg)) {
            gw_chat_fail(c, "invalid_file_format", "Invalid file format. "
                         "Line %lld, message %lld is not an object.", line,
                         m);
            return 0;
        }

        for (k = msg->child; k != NULL; k = k->next) {
            if (strcmp(k->string, "role") != 0
                && strcmp(k->string, "content") != 0
                && strcmp(k->string, "name") != 0
                && strcmp(k->string, "weight") != 0)
            {
                gw_chat_fail(c, "invalid_file_format", "Invalid file "
                             "format. Line %lld, message %lld contains an "
                             "extra \"%.40s\".", line, m, k->string);
                return 0;
            }
        }

        role = gw_json_str(msg, "role");

        if (role == NULL) {
            gw_chat_fail(c, "invalid_file_format", "Invalid file format. "
                         "Line %lld, message %lld: \"role\" is missing.",
                         line, m);
            return 0;
        }

        if (strcmp(role, "assistant") == 0) {
            assistant = 1;

        } else if (strcmp(role, "system") != 0 && strcmp(role, "user") != 0)
        {
            gw_chat_fail(c, "invalid_file_format", "Invalid file format. "
                         "Line %lld, message %lld has an unrecognized role "
                         "\"%.40s\" (system, user or assistant).", line, m,
                         role);
            return 0;
        }

        v = gw_json_get(msg, "content");

        if (v == NULL || !cJSON_IsString(v)) {
            gw_chat_fail(c, "invalid_file_format", "Invalid file format. "
                         "Line %lld, message %lld: \"content\" must be a "
                         "string.", line, m);
            return 0;
        }

        v = gw_json_get(msg, "name");

        if (v != NULL && !cJSON_IsString(v)) {
            gw_chat_fail(c, "invalid_file_format", "Invalid file format. "
                         "Line %lld, message %lld: \"name\" must be a "
                         "string.", line, m);
            return 0;
        }

        v = gw_json_get(msg, "weight");

        if (v != NULL
            && (strcmp(role, "assistant") != 0 || !cJSON_IsNumber(v)
                || (v->valuedouble != 0 && v->valuedouble != 1)))
        {
            gw_chat_fail(c, "invalid_file_format", "Invalid file format. "
                         "Line %lld, message %lld: \"weight\" is 0 or 1, "
                         "on an assistant message only.", line, m);
            return 0;
        }
    }

    if (!assistant) {
        gw_chat_fail(c, "invalid_file_format", "Invalid file format. Line "
                     "%lld has no assistant message.", line);
        return 0;
    }

    return 1;
}
