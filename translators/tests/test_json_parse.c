
/*
 * gw_json_parse.c against cJSON's own parser: the same tree from the same
 * text (the vendor fixtures, generated documents, mutated ones), RFC 8259
 * where cJSON is lenient, and trees that cJSON's functions change and free
 * as their own.  Tests run from the repo root.
 */


#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <gw.h>
#include <core/gw_core.h>
#include <sign/gw_sign.h>

#include "check.h"


#define FIXTURES  "translators/tests/fixtures/"


/* ---- tree comparison -------------------------------------------------- */

/* NULL if equal, else what differs first; links checked as cJSON keeps them */

static const char *
tree_diff(const cJSON *a, const cJSON *b)
{
    const char   *d;
    const cJSON  *ca, *cb;

    if ((a->type & 0xff) != (b->type & 0xff)) {
        return "type";
    }

    if ((a->string == NULL) != (b->string == NULL)
        || (a->string && strcmp(a->string, b->string) != 0))
    {
        return "key";
    }

    if ((a->valuestring == NULL) != (b->valuestring == NULL)
        || (a->valuestring && strcmp(a->valuestring, b->valuestring) != 0))
    {
        return "string value";
    }

    if (memcmp(&a->valuedouble, &b->valuedouble, sizeof(double)) != 0) {
        return "valuedouble";
    }

    if (a->valueint != b->valueint) {
        return "valueint";
    }

    ca = a->child;
    cb = b->child;

    if ((ca == NULL) != (cb == NULL)) {
        return "children";
    }

    if (ca == NULL) {
        return NULL;
    }

    if (ca->prev == NULL || cb->prev == NULL) {
        return "first child's prev";
    }

    for ( ;; ) {
        d = tree_diff(ca, cb);
        if (d != NULL) {
            return d;
        }

        if (ca->next != NULL && ca->next->prev != ca) {
            return "prev link";
        }

        if ((ca->next == NULL) != (cb->next == NULL)) {
            return "child count";
        }

        if (ca->next == NULL) {
            break;
        }

        ca = ca->next;
        cb = cb->next;
    }

    if (a->child->prev != ca) {
        return "first child's prev is not the last";
    }

    return NULL;
}


/* the two trees of text are the same; both are freed */

static void
same_and_free(cJSON *ours, cJSON *theirs, const char *text, size_t len)
{
    const char  *d;

    d = tree_diff(ours, theirs);
    if (d != NULL) {
        check_fail(__FILE__, __LINE__, "%s differs in %.*s", d,
                   (int) len, text);
    }

    cJSON_Delete(ours);
    cJSON_Delete(theirs);
}


/* both parsers accept text and build the same tree */

static void
same_tree(const char *text, size_t len)
{
    cJSON  *ours, *theirs;

    theirs = cJSON_ParseWithLength(text, len);
    ours = gw_json_parse(text, len, NULL);

    if (theirs == NULL || ours == NULL) {
        check_fail(__FILE__, __LINE__, "%s rejects %.*s",
                   theirs ? "gw_json_parse" : "cJSON", (int) len, text);
    }

    same_and_free(ours, theirs, text, len);
}


static void
rejects(const char *text, size_t len)
{
    cJSON  *ours;

    ours = gw_json_parse(text, len, NULL);

    if (ours != NULL) {
        check_fail(__FILE__, __LINE__, "accepted: %.*s", (int) len, text);
    }
}

#define REJECTS(lit)  rejects(lit, sizeof(lit) - 1)
#define SAME(lit)     same_tree(lit, sizeof(lit) - 1)


static char *
read_file(const char *path, size_t *len)
{
    FILE  *f;
    char  *buf;
    long   n;

    f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n >= 0);
    rewind(f);

    buf = malloc((size_t) n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t) n, f), (size_t) n);
    fclose(f);

    buf[n] = '\0';
    *len = (size_t) n;
    return buf;
}


/* ---- the vendor fixtures ---------------------------------------------- */

static void
for_each_fixture(void (*fn)(const char *text, size_t len))
{
    /* the golden vendor answers, and slurmrestd's (111 keys a job) */
    static const char  *dirs[] = { FIXTURES "clova/", FIXTURES "qianfan/",
                                   "t/slurm/samples/" };

    DIR            *dir;
    char           *text, path[512];
    size_t          i, len, n;
    struct dirent  *e;

    n = 0;

    for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        dir = opendir(dirs[i]);
        assert_non_null(dir);

        while ((e = readdir(dir)) != NULL) {
            if (strstr(e->d_name, ".json") == NULL) {
                continue;
            }

            snprintf(path, sizeof(path), "%s%s", dirs[i], e->d_name);
            text = read_file(path, &len);
            fn(text, len);
            free(text);
            n++;
        }

        closedir(dir);
    }

    assert_true(n >= 90);
}


static void
test_fixtures_same_tree(void **state)
{
    for_each_fixture(same_tree);
}


/* gw_json_get() finds what cJSON_GetObjectItemCaseSensitive() finds */

static void
get_as_cjson(const cJSON *obj)
{
    char          other[64];
    const cJSON  *c;

    static const char  *absent[] = { "", "i", "id ", "ID", "zz", "status_" };

    for (c = obj->child; c != NULL; c = c->next) {
        if (c->string != NULL) {
            assert_ptr_equal(gw_json_get(obj, c->string),
                             cJSON_GetObjectItemCaseSensitive(obj, c->string));

            /* the same first byte, another key */
            snprintf(other, sizeof(other), "%sx", c->string);
            assert_ptr_equal(gw_json_get(obj, other),
                             cJSON_GetObjectItemCaseSensitive(obj, other));
        }

        get_as_cjson(c);
    }

    for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
        assert_ptr_equal(gw_json_get(obj, absent[i]),
                         cJSON_GetObjectItemCaseSensitive(obj, absent[i]));
    }
}


static void
get_in_fixture(const char *text, size_t len)
{
    cJSON  *v;

    v = gw_json_parse(text, len, NULL);
    assert_non_null(v);
    get_as_cjson(v);
    cJSON_Delete(v);
}


static void
test_get_as_cjson(void **state)
{
    cJSON  *v;

    for_each_fixture(get_in_fixture);

    /* arrays have no keys; NULL in, NULL out */
    v = gw_json_parse("[{\"a\":1},2]", 11, NULL);
    assert_non_null(v);
    assert_null(gw_json_get(v, "a"));
    assert_non_null(gw_json_get(v->child, "a"));
    assert_null(gw_json_get(NULL, "a"));
    assert_null(gw_json_get(v->child, NULL));
    cJSON_Delete(v);
}


/* every cut of a document fails cleanly: nothing leaks (LeakSanitizer) */

static void
every_prefix_fails(const char *text, size_t len)
{
    size_t  n, end;

    end = len;

    while (end > 0 && strchr(" \t\r\n", text[end - 1]) != NULL) {
        end--;
    }

    for (n = 1; n < end; n++) {
        if (gw_json_parse(text, n, NULL) != NULL) {
            check_fail(__FILE__, __LINE__, "a cut at %zu parsed", n);
        }
    }
}


static void
test_fixtures_cut(void **state)
{
    for_each_fixture(every_prefix_fails);
}


/* ---- generated documents ---------------------------------------------- */

static uint64_t  rng = 0x9E3779B97F4A7C15ull;

static uint32_t
rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t) (rng % n);
}


typedef struct {
    char    buf[8192];
    size_t  len;
} doc_t;


static void
put(doc_t *d, const char *fmt, ...)
{
    va_list  args;
    int      n;

    va_start(args, fmt);
    n = vsnprintf(d->buf + d->len, sizeof(d->buf) - d->len, fmt, args);
    va_end(args);

    assert_true(n >= 0 && (size_t) n < sizeof(d->buf) - d->len);
    d->len += (size_t) n;
}


static void gen_container(doc_t *d, int depth, int object);


static void
gen_ws(doc_t *d)
{
    static const char  *ws[] = { "", "", "", " ", "\n  ", "\t", "\r\n" };

    put(d, "%s", ws[rnd(7)]);
}


static void
gen_string(doc_t *d)
{
    static const char  *parts[] = {
        "a", "job", "ftjob-AQAB", "2026-01-15T10:00:00+0900", " ", "\\\"",
        "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t", "\\u00e9",
        "\\u4e2d", "\\uD83D\\uDE00", "\\u0041", "\xc3\xa9", "\xe4\xb8\xad",
        "\xf0\x9f\x98\x80", "\\u001f", "x", "0123456789abcdef"
    };

    uint32_t  i, n;

    put(d, "\"");

    for (i = 0, n = rnd(8); i < n; i++) {
        put(d, "%s", parts[rnd(sizeof(parts) / sizeof(parts[0]))]);
    }

    put(d, "\"");
}


static void
gen_number(doc_t *d)
{
    static const char  *fixed[] = {
        "0", "-0", "1", "-1", "0.0001", "3e-05", "1.2345", "2147483647",
        "2147483648", "-2147483648", "-2147483649", "9007199254740992",
        "9007199254740993", "18446744073709551615", "1e22", "1e23",
        "1E+2", "1e-22", "1e-23", "0.1", "0.30000000000000004",
        "123456789012345678901", "1.7976931348623157e308", "5e-324",
        "1e400", "-1e400", "1e-400", "0.000001", "1.0E-4", "12.50",
        "4.9406564584124654e-324", "2.2250738585072011e-308"
    };

    switch (rnd(4)) {
    case 0:
        put(d, "%s", fixed[rnd(sizeof(fixed) / sizeof(fixed[0]))]);
        break;
    case 1:
        put(d, "%d", (int) rnd(2000000) - 1000000);
        break;
    case 2:
        put(d, "%s%u.%0*u", rnd(2) ? "-" : "", rnd(100000), (int) rnd(6) + 1,
            rnd(1000000));
        break;
    default:
        put(d, "%u.%ue%s%u", rnd(10), rnd(1000), rnd(2) ? "-" : "+",
            rnd(40));
        break;
    }
}


static void
gen_value(doc_t *d, int depth)
{
    uint32_t  kind;

    kind = (depth > 4) ? rnd(5) : rnd(7);

    switch (kind) {
    case 0:
        gen_string(d);
        break;
    case 1:
    case 2:
        gen_number(d);
        break;
    case 3:
        put(d, "%s", rnd(2) ? "true" : "false");
        break;
    case 4:
        put(d, "null");
        break;
    case 5:
        gen_container(d, depth, 0);
        break;
    default:
        gen_container(d, depth, 1);
        break;
    }
}


/* an array of up to 4 values, or an object of up to 5 members */

static void
gen_container(doc_t *d, int depth, int object)
{
    uint32_t  i, n;

    put(d, object ? "{" : "[");
    for (i = 0, n = rnd(object ? 6 : 5); i < n; i++) {
        gen_ws(d);
        if (i) {
            put(d, ",");
            gen_ws(d);
        }
        if (object) {
            gen_string(d);
            gen_ws(d);
            put(d, ":");
            gen_ws(d);
        }
        gen_value(d, depth + 1);
    }
    gen_ws(d);
    put(d, object ? "}" : "]");
}


static void
test_generated_same_tree(void **state)
{
    int    i;
    doc_t  d;

    for (i = 0; i < 20000; i++) {
        d.len = 0;
        gen_ws(&d);
        gen_value(&d, 0);
        gen_ws(&d);
        same_tree(d.buf, d.len);
    }
}


/*
 * A mutated document that gw_json_parse() accepts, cJSON accepts too, with
 * the same tree: the strict parser never reads text another way.
 */

static void
test_mutated_never_disagrees(void **state)
{
    int      i, m, accepted;
    char     text[8192];
    cJSON   *ours, *theirs;
    doc_t    d;
    size_t   len, at;

    static const char  bytes[] = "{}[]\":,\\0123456789-+.eEtrufalsn \t\r\n"
                                 "\x01\x7f\xc3";

    accepted = 0;

    for (i = 0; i < 20000; i++) {
        d.len = 0;
        gen_value(&d, 0);

        memcpy(text, d.buf, d.len);
        len = d.len;

        for (m = (int) rnd(3) + 1; m > 0 && len > 0; m--) {
            at = rnd((uint32_t) len);

            switch (rnd(3)) {
            case 0:                                 /* replace */
                text[at] = bytes[rnd(sizeof(bytes) - 1)];
                break;
            case 1:                                 /* delete */
                memmove(text + at, text + at + 1, len - at - 1);
                len--;
                break;
            default:                                /* insert */
                if (len + 1 < sizeof(text)) {
                    memmove(text + at + 1, text + at, len - at);
                    text[at] = bytes[rnd(sizeof(bytes) - 1)];
                    len++;
                }
                break;
            }
        }

        ours = gw_json_parse(text, len, NULL);
        if (ours == NULL) {
            continue;
        }

        accepted++;

        /* cJSON ignores what follows the value; gw_json_parse() did not */
        theirs = cJSON_ParseWithLength(text, len);

        if (theirs == NULL) {
            check_fail(__FILE__, __LINE__, "only gw_json_parse accepts %.*s",
                       (int) len, text);
        }

        same_and_free(ours, theirs, text, len);
    }

    /* the mutations leave some documents valid: the check did run */
    assert_true(accepted > 1000);
}


/* every number reads as strtod() reads it, bit for bit */

static void
test_numbers_as_strtod(void **state)
{
    int          i, digits, point, exp;
    char         text[64], mant[24];
    cJSON       *v;
    double       want;
    uint64_t     m;
    const char  *sign;

    for (i = 0; i < 300000; i++) {
        /* below 2^53 + 1 (the fast path's bound) and up to 19 digits */
        m = ((uint64_t) rnd(1u << 31) << 32 | rnd(1u << 31))
            % (i % 2 ? UINT64_C(9007199254740993)
                     : UINT64_C(10000000000000000000));

        digits = snprintf(mant, sizeof(mant), "%llu", (unsigned long long) m);
        point = 1 + (int) rnd((uint32_t) digits);   /* digits before '.' */
        exp = (int) rnd(81) - 40;
        sign = rnd(2) ? "-" : "";

        if (point == digits) {
            snprintf(text, sizeof(text), "%s%se%d", sign, mant, exp);

        } else {
            snprintf(text, sizeof(text), "%s%.*s.%se%d", sign, point, mant,
                     mant + point, exp);
        }

        want = strtod(text, NULL);
        v = gw_json_parse(text, strlen(text), NULL);

        if (v == NULL || memcmp(&v->valuedouble, &want, sizeof(double)) != 0)
        {
            check_fail(__FILE__, __LINE__, "%s: %.17g, strtod() %.17g", text,
                       v ? v->valuedouble : 0.0, want);
        }

        cJSON_Delete(v);
    }
}


/* ---- RFC 8259 where cJSON is lenient ---------------------------------- */

static void
test_strict_where_cjson_is_lenient(void **state)
{
    /* numbers */
    REJECTS("01");
    REJECTS("-01");
    REJECTS("1.");
    REJECTS("1.e5");
    REJECTS("1e");
    REJECTS("1e+");
    REJECTS("-");
    REJECTS("+1");
    REJECTS(".5");
    REJECTS("0x10");
    REJECTS("[1.5.3]");
    REJECTS("Infinity");
    REJECTS("NaN");

    /* whitespace is space, tab, LF, CR */
    REJECTS("\x0b{}");
    REJECTS("{\x01}");
    REJECTS("[1,\x0c" "2]");

    /* strings hold no raw control characters and no NUL */
    REJECTS("\"a\tb\"");
    REJECTS("\"a\nb\"");
    rejects("\"a\0b\"", 5);
    REJECTS("\"a\\u0000b\"");
    REJECTS("{\"k\\u0000\":1}");

    /* nothing but whitespace after the value */
    REJECTS("{} x");
    REJECTS("{}{}");
    REJECTS("nullx");
    REJECTS("1 2");
}


static void
test_rejects_malformed(void **state)
{
    REJECTS("");
    REJECTS(" ");
    REJECTS("{");
    REJECTS("}");
    REJECTS("[1,]");
    REJECTS("[,1]");
    REJECTS("{\"a\":1,}");
    REJECTS("{\"a\" 1}");
    REJECTS("{a:1}");
    REJECTS("{1:1}");
    REJECTS("\"abc");
    REJECTS("\"abc\\");
    REJECTS("\"\\x\"");
    REJECTS("\"\\u12\"");
    REJECTS("\"\\u12g4\"");
    REJECTS("\"\\uDE00\"");                         /* a lone low half */
    REJECTS("\"\\uD83D\"");                         /* a lone high half */
    REJECTS("\"\\uD83Dx\"");
    REJECTS("\"\\uD83D\\u0041\"");
    REJECTS("tru");
    REJECTS("nul");
    REJECTS("True");
    assert_null(gw_json_parse(NULL, 0, NULL));
}


static void
test_values(void **state)
{
    cJSON       *v;
    const char  *end;

    /* a byte order mark, as cJSON */
    v = gw_json_parse("\xEF\xBB\xBF{\"a\":1}", 10, NULL);
    assert_non_null(v);
    assert_int_equal(cJSON_GetObjectItem(v, "a")->valueint, 1);
    cJSON_Delete(v);

    /* -0 keeps its sign; big numbers saturate valueint as cJSON */
    v = gw_json_parse("[-0,1e400,-3e10,3e-05,2.5]", 26, NULL);
    assert_non_null(v);
    assert_true(signbit(cJSON_GetArrayItem(v, 0)->valuedouble));
    assert_true(isinf(cJSON_GetArrayItem(v, 1)->valuedouble));
    assert_int_equal(cJSON_GetArrayItem(v, 1)->valueint, INT32_MAX);
    assert_int_equal(cJSON_GetArrayItem(v, 2)->valueint, INT32_MIN);
    assert_true(cJSON_GetArrayItem(v, 3)->valuedouble == strtod("3e-05",
                                                                NULL));
    assert_int_equal(cJSON_GetArrayItem(v, 4)->valueint, 2);
    cJSON_Delete(v);

    /* longer than cJSON's 63 characters: read whole, as strtod() reads it */
    v = gw_json_parse("1234567890123456789012345678901234567890123456789012"
                      "345678901234567890.5e-3", 75, NULL);
    assert_non_null(v);
    assert_true(v->valuedouble
                == strtod("1234567890123456789012345678901234567890123456"
                          "789012345678901234567890.5e-3", NULL));
    cJSON_Delete(v);

    /* escapes to UTF-8 */
    v = gw_json_parse("\"\\u00e9\\u4e2d\\uD83D\\uDE00\\/\"", 28, NULL);
    assert_non_null(v);
    assert_string_equal(v->valuestring,
                        "\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80/");
    cJSON_Delete(v);

    /* end: where the value ended, the caller judges the rest */
    v = gw_json_parse("{\"a\":[]}  tail", 14, &end);
    assert_non_null(v);
    assert_string_equal(end, "  tail");
    cJSON_Delete(v);

    /* duplicate keys are kept in order, as cJSON keeps them */
    v = gw_json_parse("{\"a\":1,\"a\":2}", 13, NULL);
    assert_non_null(v);
    assert_int_equal(cJSON_GetObjectItem(v, "a")->valueint, 1);
    assert_int_equal(cJSON_GetArraySize(v), 2);
    cJSON_Delete(v);
}


/* cJSON's limit: 1000 arrays deep parse, 1001 do not */

static void
test_depth(void **state)
{
    char    text[2 * 1001];
    cJSON  *v;

    memset(text, '[', 1000);
    memset(text + 1000, ']', 1000);
    v = gw_json_parse(text, 2000, NULL);
    assert_non_null(v);
    cJSON_Delete(v);

    memset(text, '[', 1001);
    memset(text + 1001, ']', 1001);
    assert_null(gw_json_parse(text, 2002, NULL));
}


/* cJSON's functions change a parsed tree as one of their own */

static void
test_cjson_functions_on_the_tree(void **state)
{
    char   *printed;
    cJSON  *v, *arr, *item;

    v = gw_json_parse("{\"a\":[1,2],\"b\":\"x\",\"c\":null}", 28, NULL);
    assert_non_null(v);

    arr = cJSON_GetObjectItem(v, "a");
    assert_true(cJSON_AddItemToArray(arr, cJSON_CreateNumber(3)));
    item = cJSON_DetachItemFromObject(v, "b");
    assert_non_null(item);
    cJSON_Delete(item);
    cJSON_DeleteItemFromObject(v, "c");
    assert_true(cJSON_AddItemToObject(v, "d", cJSON_CreateTrue()));
    assert_true(cJSON_ReplaceItemInObject(v, "a", cJSON_CreateString("y")));

    printed = cJSON_PrintUnformatted(v);
    assert_string_equal(printed, "{\"a\":\"y\",\"d\":true}");
    free(printed);

    cJSON_Delete(v);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures_same_tree),
        cmocka_unit_test(test_fixtures_cut),
        cmocka_unit_test(test_get_as_cjson),
        cmocka_unit_test(test_generated_same_tree),
        cmocka_unit_test(test_mutated_never_disagrees),
        cmocka_unit_test(test_numbers_as_strtod),
        cmocka_unit_test(test_strict_where_cjson_is_lenient),
        cmocka_unit_test(test_rejects_malformed),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_cjson_functions_on_the_tree),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
