
/*
 * gw_answer.c: the one classifier of a vendor's answer, the matrix that
 * docs/api.md#vendor-errors states, row by row.
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <gw.h>
#include <core/gw_core.h>


static const gw_provider_t  provider = { "acme", NULL, "/_ftgw/acme",
                                         { { NULL, NULL, 0 } }, 0, NULL, 0 };


/* an op that has had answer resp */
static void
op_with(gw_op_t *op, gw_vendor_response_t *resp, gw_transport_t t,
    int status)
{
    memset(op, 0, sizeof(gw_op_t));
    memset(resp, 0, sizeof(gw_vendor_response_t));

    resp->transport = t;
    resp->status = status;
    resp->grpc_status = -1;

    op->provider = &provider;
    op->resp = resp;
}


/* an error code the vendor's table lacks, by the vendor's HTTP status */
static void
test_class_of_status(void **state)
{
    size_t             i;
    gw_answer_class_t  c;

    static const struct {
        int          vendor;
        int          http;
        const char  *type;
    } rows[] = {
        { 200, 502, GW_TYPE_UPSTREAM },     /* an error inside a 2xx */
        { 400, 502, GW_TYPE_UPSTREAM },     /* a request the gateway built */
        { 401, 502, GW_TYPE_UPSTREAM },     /* the gateway's credentials */
        { 403, 502, GW_TYPE_UPSTREAM },
        { 404, 404, GW_TYPE_NOT_FOUND },
        { 408, 502, GW_TYPE_UPSTREAM },
        { 409, 409, GW_TYPE_CONFLICT },
        { 422, 502, GW_TYPE_UPSTREAM },
        { 429, 429, GW_TYPE_RATE_LIMIT },
        { 500, 502, GW_TYPE_UPSTREAM },
        { 501, 502, GW_TYPE_UPSTREAM },
        { 502, 502, GW_TYPE_UPSTREAM },
        { 503, 503, GW_TYPE_API },
        { 504, 504, GW_TYPE_TIMEOUT },
        { 599, 502, GW_TYPE_UPSTREAM },
        { 0, 502, GW_TYPE_UPSTREAM },
        { 1000, 502, GW_TYPE_UPSTREAM },    /* no HTTP status at all */
        { -1, 502, GW_TYPE_UPSTREAM },
    };

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        print_message("case: HTTP %d\n", rows[i].vendor);

        c = gw_answer_class(rows[i].vendor);
        assert_int_equal(c.http, rows[i].http);
        assert_string_equal(c.type, rows[i].type);
    }
}


static void
test_transport(void **state)
{
    size_t                i;
    gw_op_t               op;
    gw_vendor_response_t  resp;

    static const struct {
        gw_transport_t   t;
        int              ret;
        int              http;
        const char      *type;
        const char      *code;
    } rows[] = {
        { GW_TRANSPORT_OK, 0, 0, NULL, NULL },
        { GW_TRANSPORT_TIMEOUT, 1, 504, GW_TYPE_TIMEOUT, "vendor_timeout" },
        { GW_TRANSPORT_UNREACHABLE, 1, 502, GW_TYPE_UPSTREAM,
          "vendor_unreachable" },
        { GW_TRANSPORT_TOO_LARGE, 1, 502, GW_TYPE_UPSTREAM,
          "vendor_response_too_large" },
    };

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        print_message("case: transport %d\n", (int) rows[i].t);

        op_with(&op, &resp, rows[i].t, 200);
        assert_int_equal(gw_op_transport_error(&op), rows[i].ret);

        if (rows[i].ret == 0) {
            assert_int_equal(op.err.http_status, 0);
            continue;
        }

        assert_int_equal(op.err.http_status, rows[i].http);
        assert_string_equal(op.err.type, rows[i].type);
        assert_string_equal(op.err.code, rows[i].code);
        assert_non_null(strstr(op.err.message, "'acme'"));
    }
}


/* a body that is not the vendor's: only 429, 503 and 504 say anything */
static void
test_unreadable(void **state)
{
    size_t                i;
    gw_op_t               op;
    gw_vendor_response_t  resp;

    static const struct {
        int          vendor;
        int          http;
        const char  *type;
        const char  *code;
    } rows[] = {
        { 429, 429, GW_TYPE_RATE_LIMIT, "rate_limited" },
        { 503, 503, GW_TYPE_API, "vendor_unavailable" },
        { 504, 504, GW_TYPE_TIMEOUT, "vendor_timeout" },
        { 404, 502, GW_TYPE_UPSTREAM, "invalid_vendor_response" },
        { 401, 502, GW_TYPE_UPSTREAM, "invalid_vendor_response" },
        { 500, 502, GW_TYPE_UPSTREAM, "invalid_vendor_response" },
        { 200, 502, GW_TYPE_UPSTREAM, "invalid_vendor_response" },
    };

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        print_message("case: HTTP %d\n", rows[i].vendor);

        op_with(&op, &resp, GW_TRANSPORT_OK, rows[i].vendor);
        gw_op_unreadable(&op, "a page that is not JSON");

        assert_int_equal(op.err.http_status, rows[i].http);
        assert_string_equal(op.err.type, rows[i].type);
        assert_string_equal(op.err.code, rows[i].code);
        assert_string_equal(op.err.param, "");
        assert_non_null(strstr(op.err.message, "'acme'"));
    }

    /* the invalid answer says what it was */
    assert_non_null(strstr(op.err.message, "HTTP 200 with a page that is "
                                           "not JSON"));
}


static void
test_nomem(void **state)
{
    gw_op_t               op;
    gw_vendor_response_t  resp;

    op_with(&op, &resp, GW_TRANSPORT_OK, 200);
    gw_op_nomem(&op);

    assert_int_equal(op.err.http_status, 503);
    assert_string_equal(op.err.type, GW_TYPE_API);
    assert_string_equal(op.err.code, "out_of_memory");
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_class_of_status),
        cmocka_unit_test(test_transport),
        cmocka_unit_test(test_unreadable),
        cmocka_unit_test(test_nomem),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
