
/*
 * gw_json.c and gw_error.c: number readers, ISO 8601, errors, redaction.
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>

#include <core/gw_core.h>
#include <sign/gw_sign.h>


/* cJSON allocations left before one fails; -1 = never */
static int  fail_countdown = -1;


static cJSON *
parse(const char *s)
{
    cJSON  *j;

    j = cJSON_Parse(s);
    assert_non_null(j);

    return j;
}


static void
test_json_str(void **state)
{
    cJSON  *j;

    j = parse("{\"a\":\"x\",\"b\":1,\"c\":null,\"A\":\"y\"}");

    assert_string_equal(gw_json_str(j, "a"), "x");
    assert_string_equal(gw_json_str(j, "A"), "y");
    assert_null(gw_json_str(j, "b"));
    assert_null(gw_json_str(j, "c"));
    assert_null(gw_json_str(j, "d"));
    assert_null(gw_json_str(NULL, "a"));

    cJSON_Delete(j);
}


static void
test_json_int(void **state)
{
    cJSON  *j;

    j = parse("{\"n\":8,\"neg\":-3,\"f\":8.0,\"half\":8.5,\"s\":\"8\","
              "\"sneg\":\"-12\",\"splus\":\"+7\",\"sf\":\"8.0\","
              "\"se\":\"1e3\",\"shalf\":\"2.5\",\"sbad\":\"8x\","
              "\"sspace\":\" 8\",\"sempty\":\"\",\"shex\":\"0x10\","
              "\"null\":null,\"t\":true,\"o\":{},\"big\":1e300,"
              "\"s64\":\"9223372036854775807\","
              "\"s65\":\"9223372036854775808\","
              "\"ts\":1692590826,\"zero\":0,\"sminus\":\"-\"}");

    assert_int_equal(gw_json_int(j, "n"), 8);
    assert_int_equal(gw_json_int(j, "neg"), -3);
    assert_int_equal(gw_json_int(j, "f"), 8);
    assert_true(gw_json_int(j, "half") == GW_UNSET_INT);
    assert_int_equal(gw_json_int(j, "s"), 8);
    assert_int_equal(gw_json_int(j, "sneg"), -12);
    assert_int_equal(gw_json_int(j, "splus"), 7);
    assert_int_equal(gw_json_int(j, "sf"), 8);
    assert_int_equal(gw_json_int(j, "se"), 1000);
    assert_true(gw_json_int(j, "shalf") == GW_UNSET_INT);
    assert_true(gw_json_int(j, "sbad") == GW_UNSET_INT);
    assert_true(gw_json_int(j, "sspace") == GW_UNSET_INT);
    assert_true(gw_json_int(j, "sempty") == GW_UNSET_INT);
    assert_true(gw_json_int(j, "shex") == GW_UNSET_INT);
    assert_true(gw_json_int(j, "null") == GW_UNSET_INT);
    assert_true(gw_json_int(j, "t") == GW_UNSET_INT);
    assert_true(gw_json_int(j, "o") == GW_UNSET_INT);
    assert_true(gw_json_int(j, "big") == GW_UNSET_INT);
    assert_true(gw_json_int(j, "s64") == INT64_MAX);
    assert_true(gw_json_int(j, "s65") == GW_UNSET_INT);
    assert_int_equal(gw_json_int(j, "ts"), 1692590826);
    assert_int_equal(gw_json_int(j, "zero"), 0);
    assert_true(gw_json_int(j, "sminus") == GW_UNSET_INT);
    assert_true(gw_json_int(j, "absent") == GW_UNSET_INT);
    assert_true(gw_json_int(NULL, "n") == GW_UNSET_INT);

    cJSON_Delete(j);
}


static void
test_json_num(void **state)
{
    cJSON  *j;

    j = parse("{\"n\":0.5,\"i\":3,\"s\":\"1.0E-4\",\"s2\":\"2\","
              "\"s3\":\"-.5\",\"s4\":\"5.\",\"bad\":\"1.0E\","
              "\"bad2\":\"abc\",\"nan\":\"nan\",\"inf\":\"inf\","
              "\"hex\":\"0x1p3\",\"space\":\"1 \",\"huge\":\"1e999\","
              "\"dot\":\".\",\"null\":null,\"b\":false}");

    assert_true(gw_json_num(j, "n") == 0.5);
    assert_true(gw_json_num(j, "i") == 3.0);
    assert_true(gw_json_num(j, "s") == 1.0E-4);
    assert_true(gw_json_num(j, "s2") == 2.0);
    assert_true(gw_json_num(j, "s3") == -0.5);
    assert_true(gw_json_num(j, "s4") == 5.0);
    assert_false(gw_has_num(gw_json_num(j, "bad")));
    assert_false(gw_has_num(gw_json_num(j, "bad2")));
    assert_false(gw_has_num(gw_json_num(j, "nan")));
    assert_false(gw_has_num(gw_json_num(j, "inf")));
    assert_false(gw_has_num(gw_json_num(j, "hex")));
    assert_false(gw_has_num(gw_json_num(j, "space")));
    assert_false(gw_has_num(gw_json_num(j, "huge")));
    assert_false(gw_has_num(gw_json_num(j, "dot")));
    assert_false(gw_has_num(gw_json_num(j, "null")));
    assert_false(gw_has_num(gw_json_num(j, "b")));
    assert_false(gw_has_num(gw_json_num(j, "absent")));

    cJSON_Delete(j);
}


static void
test_strdup_print(void **state)
{
    char    *s;
    size_t   len;
    cJSON   *j;

    s = gw_strdup("abc");
    assert_string_equal(s, "abc");
    free(s);

    s = gw_strndup("abcdef", 3);
    assert_string_equal(s, "abc");
    free(s);

    s = gw_strndup("ab", 10);
    assert_string_equal(s, "ab");
    free(s);

    assert_null(gw_strdup(NULL));

    j = parse("{ \"a\" : [1, 2] }");
    s = gw_json_print(j, &len);
    assert_string_equal(s, "{\"a\":[1,2]}");
    assert_int_equal(len, 11);
    free(s);

    s = gw_json_print(j, NULL);
    assert_non_null(s);
    free(s);

    cJSON_Delete(j);
}


static void
test_iso8601(void **state)
{
    assert_int_equal(gw_parse_iso8601("2023-08-21T13:07:06+0900"),
                     1692590826);
    assert_int_equal(gw_parse_iso8601("2023-08-21T13:07:06+09:00"),
                     1692590826);
    assert_int_equal(gw_parse_iso8601("2023-08-21T04:07:06Z"), 1692590826);
    assert_int_equal(gw_parse_iso8601("2023-08-21T04:07:06.123Z"),
                     1692590826);
    assert_int_equal(gw_parse_iso8601("2023-08-21T13:07:06.999999+0900"),
                     1692590826);
    assert_int_equal(gw_parse_iso8601("2023-08-21T13:07:06+09"),
                     1692590826);
    assert_int_equal(gw_parse_iso8601("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(gw_parse_iso8601("1969-12-31T23:59:59Z"), -1);
    assert_int_equal(gw_parse_iso8601("2000-02-29T23:59:59-05:30"),
                     951888599);
    assert_int_equal(gw_parse_iso8601("1600-03-01T00:00:00Z"),
                     -11670912000LL);
    assert_int_equal(gw_parse_iso8601("2024-12-31T23:59:59+1400"),
                     1735639199);
    assert_int_equal(gw_parse_iso8601("9999-12-31T23:59:59Z"),
                     253402300799LL);
    assert_int_equal(gw_parse_iso8601("0001-01-01T00:00:00Z"),
                     -62135596800LL);
    assert_int_equal(gw_parse_iso8601("2016-12-31T23:59:60Z"), 1483228800);
    assert_int_equal(gw_parse_iso8601("2015-04-27 08:23:49Z"), 1430123029);
    assert_int_equal(gw_parse_iso8601("2015-04-27T08:23:49z"), 1430123029);
}


static void
test_iso8601_garbage(void **state)
{
    size_t              i;
    static const char  *bad[] = {
        "", "garbage", "2023", "2023-08-21", "2023-08-21T13:07:06",
        "2023-08-21T13:07:06+9", "2023-08-21T13:07:06+090",
        "2023-08-21T13:07:06+09:0", "2023-08-21T13:07:06+2400",
        "2023-08-21T13:07:06+0960", "2023-08-21T13:07:06Z ",
        " 2023-08-21T13:07:06Z", "2023-08-21T13:07:06.Z",
        "2023-8-21T13:07:06Z", "2023-08-21X13:07:06Z",
        "2023-13-21T13:07:06Z", "2023-00-21T13:07:06Z",
        "2023-02-29T13:07:06Z", "2023-04-31T13:07:06Z",
        "2023-08-00T13:07:06Z", "2023-08-21T24:00:00Z",
        "2023-08-21T13:60:06Z", "2023-08-21T13:07:61Z",
        "0000-00-00 00:00:00", "2023-08-21T13:07Z",
        "2023-08-21T13:07:06+09:00x", "2023-08-21T13:07:06UTC",
        "+2023-08-21T13:07:06Z", "2023-08-21T1a:07:06Z"
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (gw_parse_iso8601(bad[i]) != GW_UNSET_INT) {
            fail_msg("parsed: \"%s\"", bad[i]);
        }
    }

    assert_true(gw_parse_iso8601(NULL) == GW_UNSET_INT);
    assert_int_equal(gw_parse_iso8601("2024-02-29T00:00:00Z"), 1709164800);
}


static void
test_error_set(void **state)
{
    size_t      i;
    gw_error_t  err;
    char        big[600];

    gw_error_set(&err, 404, GW_TYPE_NOT_FOUND, NULL, "", "no job %s", "x");
    assert_int_equal(err.http_status, 404);
    assert_string_equal(err.type, "not_found_error");
    assert_string_equal(err.param, "");
    assert_string_equal(err.code, "");
    assert_string_equal(err.message, "no job x");

    gw_error_invalid(&err, "hyperparameters.n_epochs", "invalid_value",
                     "must be %d..%d", 1, 20);
    assert_int_equal(err.http_status, 400);
    assert_string_equal(err.type, GW_TYPE_INVALID);
    assert_string_equal(err.param, "hyperparameters.n_epochs");
    assert_string_equal(err.code, "invalid_value");
    assert_string_equal(err.message, "must be 1..20");

    /* truncation keeps whole UTF-8 characters: 3-byte Hangul, cut at 511 */
    memset(big, 0, sizeof(big));
    big[0] = 'a';
    big[1] = 'b';

    for (i = 2; i + 3 < sizeof(big); i += 3) {
        memcpy(big + i, "\xed\x95\x9c", 3);
    }

    gw_error_set(&err, 502, GW_TYPE_UPSTREAM, NULL, NULL, "%s", big);
    assert_true(strlen(err.message) < sizeof(err.message));
    assert_int_equal(strlen(err.message), 2 + 169 * 3);

    /* a message that fits whole is not touched */
    big[2 + 3 * 100] = '\0';
    gw_error_set(&err, 502, GW_TYPE_UPSTREAM, NULL, NULL, "%s", big);
    assert_string_equal(err.message, big);
}


static void
test_error_json(void **state)
{
    char        *s;
    cJSON       *got, *want;
    gw_error_t   err;

    gw_error_set(&err, 400, GW_TYPE_INVALID, "model", "model_not_found",
                 "The model \"%s\" does not exist", "x/y");
    s = gw_error_json(&err);
    assert_non_null(s);

    got = parse(s);
    want = parse("{\"error\":{\"message\":\"The model \\\"x/y\\\" does not "
                 "exist\",\"type\":\"invalid_request_error\","
                 "\"param\":\"model\",\"code\":\"model_not_found\"}}");
    assert_true(cJSON_Compare(got, want, 1));
    cJSON_Delete(got);
    cJSON_Delete(want);
    free(s);

    gw_error_set(&err, 500, GW_TYPE_API, NULL, NULL, "boom");
    s = gw_error_json(&err);
    assert_string_equal(s, "{\"error\":{\"message\":\"boom\","
                           "\"type\":\"api_error\",\"param\":null,"
                           "\"code\":null}}");
    free(s);
}


static void *
failing_malloc(size_t size)
{
    if (fail_countdown == 0) {
        return NULL;
    }

    if (fail_countdown > 0) {
        fail_countdown--;
    }

    return malloc(size);
}


static void
test_error_json_out_of_memory(void **state)
{
    int          n;
    char        *s;
    gw_error_t   err;
    cJSON_Hooks  hooks;

    hooks.malloc_fn = failing_malloc;
    hooks.free_fn = free;
    cJSON_InitHooks(&hooks);

    gw_error_set(&err, 400, GW_TYPE_INVALID, "p", "c", "m");

    for (n = 0; ; n++) {
        fail_countdown = n;
        s = gw_error_json(&err);

        if (s != NULL) {
            break;
        }
    }

    fail_countdown = -1;
    cJSON_InitHooks(NULL);

    assert_true(n > 5);
    assert_string_equal(s, "{\"error\":{\"message\":\"m\","
                           "\"type\":\"invalid_request_error\","
                           "\"param\":\"p\",\"code\":\"c\"}}");
    free(s);
}


static gw_provider_t *
provider(void)
{
    static gw_provider_t  p;

    memset(&p, 0, sizeof(p));
    p.name = "clova";
    p.params[0].name = "api_key";
    p.params[0].value = "nv-SECRETKEY123";
    p.params[0].secret = 1;
    p.params[1].name = "host";
    p.params[1].value = "clovastudio.stream.ntruss.com";
    p.params[1].secret = 0;
    p.params[2].name = "short";
    p.params[2].value = "abc";
    p.params[2].secret = 1;
    p.params[3].name = "sk";
    p.params[3].value = "nv-SECRETKEY123456";
    p.params[3].secret = 1;
    p.params[4].name = "token";
    p.params[4].value = "k3y!xy";
    p.params[4].secret = 1;
    p.nparams = 5;

    return &p;
}


static void
test_redact(void **state)
{
    gw_provider_t  *p;
    char            text[128], small[24];

    p = provider();

    strcpy(text, "bad key nv-SECRETKEY123 at clovastudio.stream.ntruss.com;"
                 " again nv-SECRETKEY123!");
    gw_redact(p, text, sizeof(text));
    assert_string_equal(text, "bad key [redacted] at "
                              "clovastudio.stream.ntruss.com; again "
                              "[redacted]!");

    /* the longer of two overlapping secrets wins; 3-byte ones are kept */
    strcpy(text, "x nv-SECRETKEY123456 abc nv-SECRETKEY1234");
    gw_redact(p, text, sizeof(text));
    assert_string_equal(text, "x [redacted] abc [redacted]4");

    strcpy(text, "nothing here");
    gw_redact(p, text, sizeof(text));
    assert_string_equal(text, "nothing here");

    /* a shrinking replacement */
    strcpy(small, "abcd nv-SECRETKEY123");
    gw_redact(p, small, sizeof(small));
    assert_string_equal(small, "abcd [redacted]");

    /* a secret at the very end */
    strcpy(text, "k3y!xy");
    gw_redact(p, text, sizeof(text));
    assert_string_equal(text, "[redacted]");

    gw_redact(p, NULL, 10);
    gw_redact(NULL, text, sizeof(text));
    assert_string_equal(text, "[redacted]");
}


/*
 * Replacing a short secret grows the text; the growth is cut at size, and
 * every secret is matched whole before the cut, so none is half-kept.
 */

static void
test_redact_growth(void **state)
{
    gw_provider_t  *p;
    char            text[24], one[1];

    p = provider();

    strcpy(text, "0123456789abcdef k3y!xy");
    assert_int_equal(strlen(text), sizeof(text) - 1);
    gw_redact(p, text, sizeof(text));
    assert_string_equal(text, "0123456789abcdef [redac");

    strcpy(text, "k3y!xy k3y!xy k3y!xy");
    gw_redact(p, text, sizeof(text));
    assert_string_equal(text, "[redacted] [redacted] [");
    assert_null(strstr(text, "k3y"));

    strcpy(text, "0123 k3y!xy 45 k3y!xy");
    gw_redact(p, text, sizeof(text));
    assert_string_equal(text, "0123 [redacted] 45 [red");

    /* a cut inside a multi-byte character drops the character */
    strcpy(text, "k3y!xy k3y!xy \xed\x95\x9c\xed\x95");
    gw_redact(p, text, sizeof(text));
    assert_string_equal(text, "[redacted] [redacted] ");

    one[0] = '\0';
    gw_redact(p, one, sizeof(one));
    assert_string_equal(one, "");
}



/*
 * gw_json_print is lossless: what it writes parses back to the very same
 * tree, every number to the same double (cJSON's own printer compares
 * doubles loosely and prints 0.30000000000000004 as 0.3).  Where cJSON
 * is exact, the bytes are the same as its.
 */
static int
same_tree(const cJSON *a, const cJSON *b)
{
    if ((a->type & 0xff) != (b->type & 0xff)) {
        return 0;
    }

    if ((a->string == NULL) != (b->string == NULL)
        || (a->string != NULL && strcmp(a->string, b->string) != 0))
    {
        return 0;
    }

    switch (a->type & 0xff) {

    case cJSON_Number:
        return a->valuedouble == b->valuedouble;

    case cJSON_String:
        return strcmp(a->valuestring, b->valuestring) == 0;

    case cJSON_Array:
    case cJSON_Object:
        for (a = a->child, b = b->child; a != NULL && b != NULL;
             a = a->next, b = b->next)
        {
            if (!same_tree(a, b)) {
                return 0;
            }
        }

        return a == NULL && b == NULL;

    default:
        return 1;
    }
}


static void
compare_printers(const cJSON *json, int bytes)
{
    char    *ours, *theirs;
    cJSON   *back;
    size_t   len;

    ours = gw_json_print(json, &len);
    theirs = cJSON_PrintUnformatted(json);

    assert_non_null(ours);
    assert_non_null(theirs);
    assert_int_equal(len, strlen(ours));

    back = cJSON_Parse(ours);
    assert_non_null(back);
    assert_true(same_tree(json, back));
    cJSON_Delete(back);

    if (bytes) {
        assert_string_equal(ours, theirs);
    }

    free(ours);
    cJSON_free(theirs);
}


/* the printf route of gw_json_print: "%1.15g", "%1.17g" where it is lossy */
static void
reference_number(double d, char *buf, size_t size)
{
    if (d > -1e15 && d < 1e15 && d == (double) (int64_t) d) {
        snprintf(buf, size, "%lld", (long long) d);
        return;
    }

    snprintf(buf, size, "%1.15g", d);

    if (strtod(buf, NULL) != d) {
        snprintf(buf, size, "%1.17g", d);
    }
}


static void
check_number(double d)
{
    char    *ours, want[64];
    cJSON   *json;

    json = cJSON_CreateNumber(d);
    assert_non_null(json);
    ours = gw_json_print(json, NULL);
    assert_non_null(ours);
    reference_number(d, want, sizeof(want));

    if (strcmp(ours, want) != 0) {
        fail_msg("%.17g: printed %s, printf writes %s", d, ours, want);
    }

    gw_free(ours);
    cJSON_Delete(json);
}


/*
 * Short decimals are written without printf: the digits must be printf's,
 * around every edge (exponent form below 1e-4 and from 1e15, 15
 * significant digits, values no short decimal names).
 */
static void
test_print_numbers(void **state)
{
    int          i, k;
    double       d;
    uint64_t     m, bits, x;
    static const double  edges[] = {
        1e-4, 9.9999999999999e-5, 0.00012, 1.2345, 0.0001, 0.1, 0.2, 0.3,
        2.5, 1e14 + 0.5, 999999999999999.9, 99999999999999.98, 1e15 - 1,
        123456.789, 0.30000000000000004, 3.141592653589793, 1.0 / 3,
        2.0 / 3, 1e-5, 3e-05, 2e-05, 1.5e-10, 1e-22, 1e-23, 9.99e-5,
        1e-100, 1.2345678901234e-7, 5e-324, 1.7976931348623157e308,
        4503599627370496.5, 0.1 + 0.7, 100.25, 33.333333333333336, 12345678.9
    };

    for (i = 0; i < (int) (sizeof(edges) / sizeof(edges[0])); i++) {
        check_number(edges[i]);
        check_number(-edges[i]);
    }

    /* m / 10^k for m of every length and k up to 18 */
    x = 88172645463325252ULL;

    for (i = 0; i < 20000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;

        m = x % 1000000000000000ULL;
        m /= (uint64_t) 1 << (x >> 59);
        k = (int) (x >> 40) % 19;

        d = (double) m;
        while (k-- > 0) {
            d /= 10;
        }

        check_number(d);
        check_number(-d);
        check_number(d * 7);

        /* any double between 1e-5 and 1e16 */
        bits = 0x3ec0000000000000ULL + x % 0x0480000000000000ULL;
        memcpy(&d, &bits, sizeof(d));
        check_number(d);

        /* short decimals below 1e-4, written with an exponent: 3e-05 */
        d = (double) (x % 100000 + 1);
        for (k = (int) (x >> 32) % 30 + 5; k > 0; k--) {
            d /= 10;
        }

        check_number(d);
        check_number(-d * 3);

        /* any double between 1e-30 and 1e-4 */
        bits = 0x39b0000000000000ULL + x % 0x0590000000000000ULL;
        memcpy(&d, &bits, sizeof(d));
        check_number(d);
    }
}


static void
test_print_matches_cjson(void **state)
{
    FILE          *f;
    char           path[512], *text;
    cJSON         *json;
    size_t         n, files;
    long           size;
    const char    *dirs[] = { "translators/tests/fixtures/clova",
                              "translators/tests/fixtures/qianfan",
                              "t/slurm/samples", NULL };
    static const char  *literal =
        "{\"a\":[0,-0,1,-1,42,1795448131,1795448131123,999999999999999,"
        "1e15,1e16,-1e16,0.1,1e-4,1.0E-4,2.5,0.30000000000000004,"
        "3.141592653589793,1e300,-2.2250738585072014e-308,123456.789],"
        "\"s\":\"q\\\"b\\\\s\\/ \\b\\f\\n\\r\\t\\u0001\\u001f\u00e9\u4e2d\","
        "\"n\":null,\"t\":true,\"f\":false,\"e\":{},\"l\":[],"
        "\"\\\"k\\\"\":[{\"x\":[[]]}]}";
    DIR            *d;
    struct dirent  *de;
    size_t          i;

    /* -0 and 0.30000000000000004: exact here, not byte-equal to cJSON */
    json = cJSON_Parse(literal);
    assert_non_null(json);
    compare_printers(json, 0);
    cJSON_Delete(json);

    files = 0;

    for (i = 0; dirs[i] != NULL; i++) {
        d = opendir(dirs[i]);
        if (d == NULL) {
            continue;
        }

        while ((de = readdir(d)) != NULL) {
            n = strlen(de->d_name);
            if (n < 6 || strcmp(de->d_name + n - 5, ".json") != 0) {
                continue;
            }

            snprintf(path, sizeof(path), "%s/%s", dirs[i], de->d_name);
            f = fopen(path, "rb");
            assert_non_null(f);
            fseek(f, 0, SEEK_END);
            size = ftell(f);
            fseek(f, 0, SEEK_SET);
            text = malloc(size + 1);
            assert_non_null(text);
            assert_int_equal(fread(text, 1, size, f), (size_t) size);
            text[size] = '\0';
            fclose(f);

            json = cJSON_Parse(text);
            free(text);

            if (json != NULL) {
                compare_printers(json, 1);
                cJSON_Delete(json);
                files++;
            }
        }

        closedir(d);
    }

    assert_true(files > 30);
}

/* gw_join(): what snprintf("%s%s%s") writes and returns, at every size */

static void
test_join_as_snprintf(void **state)
{
    char         got[32], want[32];
    size_t       size, n;
    int          i, wn;
    const char  *parts[][3] = {
        { "/tuning/v2/tasks/", "bx3k9w2q", NULL },
        { "Bearer ", "nv-0123456789", NULL },
        { "a", "", "bcd" },
        { NULL, NULL, NULL },
        { "", "?", "page=1&size=100" },
    };

    for (i = 0; i < (int) (sizeof(parts) / sizeof(parts[0])); i++) {
        for (size = 0; size <= sizeof(got); size++) {
            memset(got, 'x', sizeof(got));
            memset(want, 'x', sizeof(want));

            n = gw_join(got, size, parts[i][0], parts[i][1], parts[i][2]);
            wn = snprintf(want, size, "%s%s%s",
                          parts[i][0] ? parts[i][0] : "",
                          parts[i][1] ? parts[i][1] : "",
                          parts[i][2] ? parts[i][2] : "");

            assert_int_equal(n, (size_t) wn);
            assert_memory_equal(got, want, sizeof(got));
        }
    }
}


/* gw_int_str(): what "%lld" writes */

static void
test_int_str_as_printf(void **state)
{
    int       i;
    char      got[24], want[24];
    uint64_t  v;

    static const int64_t  edges[] = {
        0, 1, -1, 9, 10, 99, 100, -100, 1768442400, 999999999999999,
        1000000000000000, INT64_MAX, INT64_MIN, INT64_MIN + 1
    };

    for (i = 0; i < (int) (sizeof(edges) / sizeof(edges[0])); i++) {
        snprintf(want, sizeof(want), "%lld", (long long) edges[i]);
        assert_int_equal(gw_int_str(got, edges[i]), strlen(want));
        assert_string_equal(got, want);
    }

    for (v = 1, i = 0; i < 19; i++, v *= 10) {
        snprintf(want, sizeof(want), "%lld", (long long) (v - 1));
        gw_int_str(got, (int64_t) (v - 1));
        assert_string_equal(got, want);
    }
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_json_str),
        cmocka_unit_test(test_json_int),
        cmocka_unit_test(test_json_num),
        cmocka_unit_test(test_strdup_print),
        cmocka_unit_test(test_iso8601),
        cmocka_unit_test(test_iso8601_garbage),
        cmocka_unit_test(test_error_set),
        cmocka_unit_test(test_error_json),
        cmocka_unit_test(test_error_json_out_of_memory),
        cmocka_unit_test(test_redact),
        cmocka_unit_test(test_redact_growth),
        cmocka_unit_test(test_print_matches_cjson),
        cmocka_unit_test(test_print_numbers),
        cmocka_unit_test(test_join_as_snprintf),
        cmocka_unit_test(test_int_str_as_printf),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
