
/*
 * gw_multipart.c: the streaming multipart/form-data parser.  Every body is
 * fed whole, in 1-byte chunks and in every chunk size up to its length,
 * and must give the same parts and bytes each time; truncated bodies and
 * malformed ones are refused.
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <base/gw_multipart.h>


typedef struct {
    char    log[65536];
    size_t  len;
    int     stop_at_part;        /* 0: never */
    int     parts;
} rec_t;


static void
rec_put(rec_t *r, const char *s, size_t n)
{
    assert_true(r->len + n < sizeof(r->log));
    memcpy(r->log + r->len, s, n);
    r->len += n;
    r->log[r->len] = '\0';
}


static int
on_part(void *data, const char *name, const char *filename, int has)
{
    char    buf[1024];
    rec_t  *r = data;

    r->parts++;
    if (r->stop_at_part && r->parts == r->stop_at_part) {
        return -1;
    }

    snprintf(buf, sizeof(buf), "[%s|%s%s]", name, has ? "f=" : "",
             filename);
    rec_put(r, buf, strlen(buf));
    return 0;
}


static int
on_body(void *data, const char *p, size_t n)
{
    assert_true(n > 0);
    rec_put(data, p, n);
    return 0;
}


static int
on_end(void *data)
{
    rec_put(data, "<end>", 5);
    return 0;
}


/* feeds body in chunks of size step (0: whole); returns the final rc */
static gw_mp_rc_t
run(const char *ct, const char *body, size_t len, size_t step, rec_t *r,
    gw_mp_t *mp)
{
    size_t           i, n;
    gw_mp_rc_t       rc;
    gw_mp_handler_t  h = { on_part, on_body, on_end, r };

    memset(r->log, 0, 16);
    r->len = 0;
    r->parts = 0;

    rc = gw_mp_init(mp, ct, strlen(ct), &h);
    if (rc != GW_MP_OK) {
        return rc;
    }

    if (step == 0) {
        step = len ? len : 1;
    }

    for (i = 0; i < len; i += n) {
        n = (len - i < step) ? len - i : step;
        rc = gw_mp_feed(mp, body + i, n);

        if (rc == GW_MP_FAIL) {
            return rc;
        }
    }

    return gw_mp_finish(mp);
}


/* the same result in every chunk size */
static void
expect(const char *ct, const char *body, size_t len, gw_mp_rc_t want,
    const char *want_log, const char *want_err)
{
    size_t      step;
    rec_t      *r;
    gw_mp_t     mp;
    gw_mp_rc_t  rc;

    r = calloc(1, sizeof(rec_t));
    assert_non_null(r);

    for (step = 0; step <= len; step++) {
        rc = run(ct, body, len, step, r, &mp);

        if (rc != want) {
            fail_msg("step %zu: rc %d, want %d (%s)", step, rc, want,
                     mp.err);
        }

        if (want_log != NULL && strcmp(r->log, want_log) != 0) {
            fail_msg("step %zu: log \"%s\", want \"%s\"", step, r->log,
                     want_log);
        }

        if (want_err != NULL && strstr(mp.err, want_err) == NULL) {
            fail_msg("step %zu: error \"%s\", want \"%s\"", step, mp.err,
                     want_err);
        }
    }

    free(r);
}


#define CT   "multipart/form-data; boundary=b1"
#define S(s) s, sizeof(s) - 1


/* what httpx sends for client.files.create(file=..., purpose=...) */
static void
test_sdk_body(void **state)
{
    static const char  body[] =
        "--0123456789abcdef0123456789abcdef\r\n"
        "Content-Disposition: form-data; name=\"purpose\"\r\n"
        "\r\n"
        "fine-tune\r\n"
        "--0123456789abcdef0123456789abcdef\r\n"
        "Content-Disposition: form-data; name=\"file\"; "
        "filename=\"train.jsonl\"\r\n"
        "Content-Type: application/octet-stream\r\n"
        "\r\n"
        "{\"messages\":[]}\n{\"a\":1}\n\r\n"
        "--0123456789abcdef0123456789abcdef--\r\n";

    (void) state;

    expect("multipart/form-data; boundary=0123456789abcdef0123456789abcdef",
           S(body), GW_MP_DONE,
           "[purpose|]fine-tune<end>[file|f=train.jsonl]"
           "{\"messages\":[]}\n{\"a\":1}\n<end>", NULL);
}


static void
test_node_order_and_quoting(void **state)
{
    /* file first, a quoted boundary, an escaped quote in the filename */
    static const char  body[] =
        "--openai-abc\r\n"
        "content-disposition: form-data; filename=\"a\\\"b.jsonl\"; "
        "name=\"file\"\r\n"
        "\r\n"
        "x\r\n"
        "--openai-abc\r\n"
        "Content-Disposition: form-data; name=purpose\r\n"
        "\r\n"
        "fine-tune\r\n"
        "--openai-abc--";

    (void) state;

    expect("Multipart/Form-Data ; Boundary=\"openai-abc\"", S(body),
           GW_MP_DONE,
           "[file|f=a\"b.jsonl]x<end>[purpose|]fine-tune<end>", NULL);
}


/* boundary-like bytes, lone CRs, CRLF-dense content inside a part */
static void
test_lookalikes(void **state)
{
    static const char  body[] =
        "preamble --b1 not at a line start\r\n"
        "--b1\r\n"
        "Content-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n"
        "\r\n"
        "\r\r\n\r\n-\r\n--\r\n--b\r\n--b2\r\n--b1x\r"
        "\r\n--b1  \r\n"
        "Content-Disposition: form-data; name=\"e\"\r\n"
        "\r\n"
        "\r\n--b1--\r\nepilogue --b1 ignored";

    (void) state;

    /* "--b1x" is not a delimiter: "x" is no CRLF, LWSP nor "--" */
    expect(CT, S(body), GW_MP_FAIL, NULL, "neither CRLF");
}


static void
test_crlf_dense_content(void **state)
{
    static const char  body[] =
        "\r\n--b1\r\n"                          /* CRLF before the first */
        "Content-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n"
        "\r\n"
        "\r\r\n\r\n-\r\n--\r\n--b\r\n--b2\r\n\r\r\r"
        "\r\n--b1 \t\r\n"                       /* LWSP after it */
        "Content-Disposition: form-data; name=\"e\"\r\n"
        "\r\n"
        "\r\n--b1--\r\nepilogue --b1 ignored";

    (void) state;

    expect(CT, S(body), GW_MP_DONE,
           "[file|f=f]\r\r\n\r\n-\r\n--\r\n--b\r\n--b2\r\n\r\r\r<end>"
           "[e|]<end>", NULL);
}


static void
test_binary_content(void **state)
{
    size_t   i, n;
    char    *body, *want;
    static const char  head[] =
        "--b1\r\nContent-Disposition: form-data; name=\"file\"; "
        "filename=\"bin\"\r\n\r\n";
    static const char  tail[] = "\r\n--b1--\r\n";

    (void) state;

    body = malloc(4096);
    want = malloc(4096);
    assert_non_null(body);
    assert_non_null(want);

    n = 0;
    memcpy(body, head, sizeof(head) - 1);
    n += sizeof(head) - 1;

    for (i = 0; i < 300; i++) {
        body[n++] = (char) (i * 7 + (i % 3 == 0 ? '\r' : 0));
    }

    memcpy(body + n, tail, sizeof(tail) - 1);

    strcpy(want, "[file|f=bin]");
    memcpy(want + 12, body + sizeof(head) - 1, 300);
    memcpy(want + 312, "<end>", 6);

    /* the log holds NULs: compare by running and checking length */
    {
        rec_t    *r = calloc(1, sizeof(rec_t));
        gw_mp_t   mp;
        size_t    step;

        for (step = 1; step < 40; step++) {
            assert_int_equal(run(CT, body, n + sizeof(tail) - 1, step, r,
                                 &mp), GW_MP_DONE);
            assert_int_equal(r->len, 317);
            assert_memory_equal(r->log, want, 317);
        }

        free(r);
    }

    free(body);
    free(want);
}


static void
test_truncated(void **state)
{
    static const char  full[] =
        "--b1\r\n"
        "Content-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n"
        "\r\n"
        "data\r\n"
        "--b1--\r\n";
    size_t  cut;

    (void) state;

    /* every cut before the close delimiter's last "-" is refused */
    for (cut = 0; cut < sizeof(full) - 1 - 2; cut++) {
        rec_t    *r = calloc(1, sizeof(rec_t));
        gw_mp_t   mp;

        if (run(CT, full, cut, 1, r, &mp) != GW_MP_FAIL) {
            fail_msg("a body cut at %zu was accepted", cut);
        }

        free(r);
    }

    expect(CT, S("--b1\r\nContent-Disposition: form-data; name=\"f\"\r\n"
                 "\r\ndata\r\n--b1"), GW_MP_FAIL, NULL, "truncated");
    expect(CT, S("--b1\r\nContent-Disposition: form-data; name=\"f\"\r\n"
                 "\r\ndata\r\n--b1-"), GW_MP_FAIL, NULL, "truncated");
    expect(CT, S("--b1\r\nContent-Disposition: form-data; name=\"f\"\r\n"
                 "\r\ndata\r\n"), GW_MP_FAIL, NULL, "truncated");
    expect(CT, S("no boundary at all"), GW_MP_FAIL, NULL, "no part");
    expect(CT, S(""), GW_MP_FAIL, NULL, "no part");

    /* the full body, with and without its final CRLF */
    expect(CT, S(full), GW_MP_DONE, "[file|f=f]data<end>", NULL);
    expect(CT, full, sizeof(full) - 3, GW_MP_DONE, "[file|f=f]data<end>",
           NULL);
}


static void
test_bad_headers(void **state)
{
    (void) state;

    expect(CT, S("--b1\r\n\r\ndata\r\n--b1--"), GW_MP_FAIL, NULL,
           "Content-Disposition");
    expect(CT, S("--b1\r\nContent-Type: text/plain\r\n\r\nx\r\n--b1--"),
           GW_MP_FAIL, NULL, "Content-Disposition");
    expect(CT, S("--b1\r\nContent-Disposition: attachment; name=\"a\"\r\n"
                 "\r\nx\r\n--b1--"), GW_MP_FAIL, NULL,
           "Content-Disposition");
    expect(CT, S("--b1\r\nContent-Disposition: form-data; name=\"a\r\n"
                 "\r\nx\r\n--b1--"), GW_MP_FAIL, NULL,
           "Content-Disposition");
    expect(CT, S("--b1\r\nContent-Disposition: form-data\r\n"
                 "\r\nx\r\n--b1--"), GW_MP_FAIL, NULL,
           "Content-Disposition");
    expect(CT, S("--b1\r\nno colon here\r\n\r\nx\r\n--b1--"), GW_MP_FAIL,
           NULL, "Content-Disposition");
    expect(CT, S("--b1\r\nContent-Disposition: form-data; name=\"a\"\r\n"
                 "Content-Disposition: form-data; name=\"b\"\r\n"
                 "\r\nx\r\n--b1--"), GW_MP_FAIL, NULL,
           "Content-Disposition");
    expect(CT, S("--b1\rX"), GW_MP_FAIL, NULL, "neither");
    expect(CT, S("--b1-X"), GW_MP_FAIL, NULL, "neither");
}


static void
test_headers_limit(void **state)
{
    char    *body;
    size_t   n;
    rec_t   *r;
    gw_mp_t  mp;

    (void) state;

    body = malloc(20000);
    r = calloc(1, sizeof(rec_t));
    assert_non_null(body);
    assert_non_null(r);

    n = (size_t) sprintf(body, "--b1\r\nContent-Disposition: form-data; "
                         "name=\"a\"\r\nX-Pad: ");
    memset(body + n, 'p', 9000);
    n += 9000;
    n += (size_t) sprintf(body + n, "\r\n\r\nx\r\n--b1--");

    assert_int_equal(run(CT, body, n, 0, r, &mp), GW_MP_FAIL);
    assert_non_null(strstr(mp.err, "8 KB"));

    free(body);
    free(r);
}


static void
test_content_type(void **state)
{
    rec_t   *r;
    gw_mp_t  mp;
    char     b71[128];
    gw_mp_handler_t  h = { on_part, on_body, on_end, NULL };

    (void) state;

    r = calloc(1, sizeof(rec_t));
    h.data = r;

#define BAD_CT(ct, why)                                                     \
    assert_int_equal(gw_mp_init(&mp, ct, strlen(ct), &h), GW_MP_FAIL);      \
    assert_non_null(strstr(mp.err, why))

    BAD_CT("application/json", "multipart/form-data");
    BAD_CT("multipart/mixed; boundary=a", "multipart/form-data");
    BAD_CT("multipart/form-data", "no boundary");
    BAD_CT("multipart/form-data; charset=utf-8", "no boundary");
    BAD_CT("multipart/form-data; boundary=", "not valid");
    BAD_CT("multipart/form-data; boundary=\"\"", "not valid");
    BAD_CT("multipart/form-data; boundary=\"a b \"", "not valid");
    BAD_CT("multipart/form-data; boundary=a\x01", "not valid");
    BAD_CT("multipart/form-data; boundary=\"ab", "malformed");

    memset(b71, 'a', 71);
    strcpy(b71 + 71, "");
    {
        char  ct[200];

        sprintf(ct, "multipart/form-data; boundary=%s", b71);
        assert_int_equal(gw_mp_init(&mp, ct, strlen(ct), &h), GW_MP_FAIL);
        b71[70] = '\0';
        sprintf(ct, "multipart/form-data; boundary=%s", b71);
        assert_int_equal(gw_mp_init(&mp, ct, strlen(ct), &h), GW_MP_OK);
    }

    assert_int_equal(gw_mp_init(&mp, NULL, 0, &h), GW_MP_FAIL);

    free(r);
}


static void
test_callback_stops(void **state)
{
    rec_t   *r;
    gw_mp_t  mp;
    static const char  body[] =
        "--b1\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n"
        "--b1\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\ny\r\n"
        "--b1--";

    (void) state;

    r = calloc(1, sizeof(rec_t));
    r->stop_at_part = 2;
    assert_int_equal(run(CT, body, sizeof(body) - 1, 3, r, &mp),
                     GW_MP_FAIL);
    assert_string_equal(r->log, "[a|]x<end>");

    /* a failed parser stays failed */
    assert_int_equal(gw_mp_feed(&mp, "x", 1), GW_MP_FAIL);
    assert_int_equal(gw_mp_finish(&mp), GW_MP_FAIL);
    free(r);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_sdk_body),
        cmocka_unit_test(test_node_order_and_quoting),
        cmocka_unit_test(test_lookalikes),
        cmocka_unit_test(test_crlf_dense_content),
        cmocka_unit_test(test_binary_content),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_bad_headers),
        cmocka_unit_test(test_headers_limit),
        cmocka_unit_test(test_content_type),
        cmocka_unit_test(test_callback_stops),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
