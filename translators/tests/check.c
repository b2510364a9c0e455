
/*
 * Checks shared by the exchange tests (see check.h).
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cmocka.h>

#include <core/gw_core.h>
#include <sign/gw_sign.h>

#include "check.h"


/*
 * cJSON allocates through the gateway's hooks, as in the module: trees
 * from gw_json_parse() and from cJSON's own functions share an allocator.
 * GW_TEST_ARENA=bump runs a test as the release module runs: exchanges
 * allocate from the bump arena.  (The default under AddressSanitizer is
 * one malloc() per object.)
 */
__attribute__((constructor)) static void
check_arena_mode(void)
{
    const char  *mode;

    gw_mem_init();

    mode = getenv("GW_TEST_ARENA");

    if (mode != NULL && strcmp(mode, "bump") == 0) {
        gw_arena_set_default(1);
    }
}


void
check_fail(const char *file, int line, const char *fmt, ...)
{
    va_list  args;
    char     msg[4096];

    va_start(args, fmt);
    vsnprintf(msg, sizeof(msg), fmt, args);
    va_end(args);

    print_error("%s\n", msg);
    _fail(file, line);
}


/* a dotted path; a segment indexes an array where the value is one */
const cJSON *
jget(const cJSON *root, const char *path)
{
    char          buf[256], *seg, *save;
    const cJSON  *cur;

    snprintf(buf, sizeof(buf), "%s", path);
    cur = root;

    for (seg = strtok_r(buf, ".", &save);
         seg != NULL && cur != NULL;
         seg = strtok_r(NULL, ".", &save))
    {
        if (cJSON_IsArray(cur)) {
            cur = cJSON_GetArrayItem(cur, atoi(seg));

        } else {
            cur = cJSON_GetObjectItemCaseSensitive(cur, seg);
        }
    }

    return cur;
}


const char *
jstr(const cJSON *root, const char *path)
{
    const cJSON  *v;

    v = jget(root, path);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}


/* a value as text, freed before a check fails (it does not return) */
void
got_text(const cJSON *v, char *out, size_t size)
{
    char  *s;

    s = (v != NULL) ? cJSON_PrintUnformatted(v) : NULL;
    snprintf(out, size, "%s", (v == NULL) ? "(absent)" : s ? s : "?");
    free(s);
}


/* want NULL: the value is JSON null */
void
jstr_eq(const cJSON *root, const char *path, const char *want,
    const char *file, int line)
{
    char          got[1024];
    const cJSON  *v;

    v = jget(root, path);

    if (want != NULL) {
        want = seals(want);             /* "{{seal:<client>:<unique>}}" */
    }

    if (want == NULL ? cJSON_IsNull(v)
                     : (cJSON_IsString(v) && strcmp(v->valuestring, want)
                                             == 0))
    {
        return;
    }

    got_text(v, got, sizeof(got));
    check_fail(file, line, "%s: got %s, want \"%s\"", path, got,
               want ? want : "null");
}


/* want NUL: the value is JSON null */
void
jint_eq(const cJSON *root, const char *path, int64_t want, const char *file,
    int line)
{
    char          got[1024];
    const cJSON  *v;

    v = jget(root, path);

    if (want == NUL ? cJSON_IsNull(v)
                    : (cJSON_IsNumber(v) && v->valuedouble == (double) want))
    {
        return;
    }

    got_text(v, got, sizeof(got));
    check_fail(file, line, "%s: got %s, want %lld", path, got,
               (long long) want);
}


/* equal to 12 significant digits: the printer's exactness, not cJSON's */
void
jnum_eq(const cJSON *root, const char *path, double want, const char *file,
    int line)
{
    double        d, tol;
    const cJSON  *v;

    v = jget(root, path);
    d = cJSON_IsNumber(v) ? v->valuedouble : -1e300;
    tol = 1e-12 * (want < 0 ? -want : want);

    if (d - want > tol || want - d > tol) {
        check_fail(file, line, "%s: got %.17g, want %.17g", path, d, want);
    }
}


void
jbool_eq(const cJSON *root, const char *path, int want, const char *file,
    int line)
{
    const cJSON  *v;

    v = jget(root, path);

    if (!cJSON_IsBool(v) || (cJSON_IsTrue(v) != 0) != (want != 0)) {
        check_fail(file, line, "%s: want %s", path, want ? "true" : "false");
    }
}


void
jabsent(const cJSON *root, const char *path, const char *file, int line)
{
    char          got[1024];
    const cJSON  *v;

    v = jget(root, path);
    if (v == NULL) {
        return;
    }

    got_text(v, got, sizeof(got));
    check_fail(file, line, "%s: want absent, got %s", path, got);
}


void
str_has(const char *s, const char *part, const char *file, int line)
{
    if (s == NULL || strstr(s, part) == NULL) {
        check_fail(file, line, "\"%s\" does not contain \"%s\"",
                   s ? s : "(null)", part);
    }
}


void
str_lacks(const char *s, const char *part, const char *file, int line)
{
    if (s != NULL && strstr(s, part) != NULL) {
        check_fail(file, line, "\"%s\" contains \"%s\"", s, part);
    }
}


const char *
header(const gw_call_t *call, const char *name)
{
    size_t  i;

    for (i = 0; i < call->nheaders; i++) {
        if (strcasecmp(call->headers[i].name, name) == 0) {
            return call->headers[i].value;
        }
    }

    return NULL;
}


void
print_result(gw_exchange_t *ex)
{
    const gw_result_t  *r;

    r = gw_exchange_result(ex);
    print_error("exchange answered %d: %.*s\n", r->http_status,
                (int) r->body_len, r->body ? r->body : "");
}
