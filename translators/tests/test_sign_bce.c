
/*
 * gw_sign_bce.c: the bce-auth-v1 vectors of vendor-apis.md 2.8.1 and
 * vectors produced by Baidu's own Python signer.
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <core/gw_core.h>
#include <sign/gw_sign.h>


#define AK32  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SK32  "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define NELTS(a)  (sizeof(a) / sizeof((a)[0]))


static void signing_key(const char *sk, const char *prefix, char *out);


/* the official BOS request of 2.8.1 */
static const gw_bce_header_t  bos_headers[] = {
    { "Host", "bj.bcebos.com" },
    { "Content-Type", "text/plain" },
    { "Content-Length", "8" },
    { "Content-Md5", "NFzcPqhviddjRNnSOGo4rw==" },
    { "x-bce-date", "2015-04-27T08:23:49Z" },
};

#define BOS_PATH   "/v1/test/myfolder/readme.txt"
#define BOS_QUERY  "partNumber=9&uploadId=a44cc9bab11cbd156984767aad637851"
#define BOS_TS     "2015-04-27T08:23:49Z"

static const gw_bce_header_t  qf_headers[] = {
    { "Host", "qianfan.baidubce.com" },
    { "x-bce-date", "2023-09-19T13:37:10Z" },
};


/* hex(HMAC-SHA256(sk, prefix)) straight from OpenSSL */

static void
signing_key(const char *sk, const char *prefix, char *out)
{
    unsigned int   len;
    unsigned char  mac[EVP_MAX_MD_SIZE];

    len = 0;
    assert_non_null(HMAC(EVP_sha256(), sk, (int) strlen(sk),
                         (const unsigned char *) prefix, strlen(prefix),
                         mac, &len));
    assert_int_equal(len, 32);
    gw_hex(mac, 32, out);
}


static void
test_signing_key(void **state)
{
    char  key[65];

    signing_key(SK32, "bce-auth-v1/" AK32 "/" BOS_TS "/1800", key);
    assert_string_equal(key, "1d5ce5f464064cbee060330d97321882"
                             "1825ac6952368a482a592e6615aef479");

    signing_key(SK32, "bce-auth-v1/" AK32 "/2023-09-19T13:37:10Z/300", key);
    assert_string_equal(key, "58da69de66397771802138d4d0ecbc2e"
                             "72fa5554fcf147c6117df82ce42163d1");
}


static void
test_official_vector(void **state)
{
    char         out[512];
    const char  *sig;

    assert_int_equal(gw_sign_bce_v1("PUT", BOS_PATH, BOS_QUERY, bos_headers,
                                    NELTS(bos_headers), AK32, SK32, BOS_TS,
                                    1800, out, sizeof(out)),
                     GW_OK);

    /* the documented default-set result ends in the same signature */
    sig = strrchr(out, '/');
    assert_non_null(sig);
    assert_string_equal(sig + 1, "d74a04362e6a848f5b39b15421cb4494"
                                 "27f419c95a480fd6b8cf9fc783e2999e");

    assert_string_equal(out,
        "bce-auth-v1/" AK32 "/" BOS_TS "/1800/"
        "content-length;content-md5;content-type;host;x-bce-date/"
        "d74a04362e6a848f5b39b15421cb449427f419c95a480fd6b8cf9fc783e2999e");
}


/*
 * The signing key of the last (secret, prefix) is kept: the same request
 * signed again, then with another secret and back, with the same
 * timestamp, must give the official signature each time with the right
 * secret, and another one with the other.
 */
static void
test_signing_key_kept(void **state)
{
    int          i;
    char         out[512], other[512];
    const char  *want = "d74a04362e6a848f5b39b15421cb4494"
                        "27f419c95a480fd6b8cf9fc783e2999e";

    for (i = 0; i < 2; i++) {
        assert_int_equal(gw_sign_bce_v1("PUT", BOS_PATH, BOS_QUERY,
                                        bos_headers, NELTS(bos_headers),
                                        AK32, SK32, BOS_TS, 1800,
                                        out, sizeof(out)),
                         GW_OK);
        assert_string_equal(strrchr(out, '/') + 1, want);

        assert_int_equal(gw_sign_bce_v1("PUT", BOS_PATH, BOS_QUERY,
                                        bos_headers, NELTS(bos_headers),
                                        AK32, "another-secret-key",
                                        BOS_TS, 1800, other, sizeof(other)),
                         GW_OK);
        assert_string_not_equal(strrchr(other, '/') + 1, want);
    }
}


static void
test_qianfan_vectors(void **state)
{
    char                          out[512];
    static const gw_bce_header_t  v1[] = {
        { "Content-Type", "application/json" },
        { "Host", "qianfan.baidubce.com" },
        { "x-bce-date", "2023-09-19T13:37:10Z" },
    };

    assert_int_equal(gw_sign_bce_v1("POST",
                                    "/wenxinworkshop/finetune/createJob",
                                    NULL, v1, NELTS(v1), AK32, SK32,
                                    "2023-09-19T13:37:10Z", 300,
                                    out, sizeof(out)),
                     GW_OK);
    assert_string_equal(out,
        "bce-auth-v1/" AK32 "/2023-09-19T13:37:10Z/300/"
        "content-type;host;x-bce-date/"
        "545c45204c3520be919cb1a5b7cf99a497c4fcfa658d22e18e2b98451f16015b");

    assert_int_equal(gw_sign_bce_v1("POST", "/v2/finetuning",
                                    "Action=CreateFineTuningJob",
                                    qf_headers, NELTS(qf_headers), AK32,
                                    SK32, "2023-09-19T13:37:10Z", 1800,
                                    out, sizeof(out)),
                     GW_OK);
    assert_string_equal(out,
        "bce-auth-v1/" AK32 "/2023-09-19T13:37:10Z/1800/host;x-bce-date/"
        "aa0b335a44141b2fd614c6c0a8f4af62ae8007faea43bd5f3650b3cbf73fd942");
}


/*
 * The next vectors were produced with bce-python-sdk's own signer
 * (/work/main/.venv), path encoded as its client does:
 *
 *   from baidubce.auth import bce_v1_signer
 *   from baidubce.auth.bce_credentials import BceCredentials
 *   from baidubce import utils
 *   bce_v1_signer.sign(BceCredentials(ak, sk), method,
 *       utils.normalize_string(path, False), headers, params,
 *       unix_ts, expiration, sorted_lower_case_header_names)
 *
 * with params given decoded (the C side gets the raw query string).
 */

static void
test_sdk_query_encoding(void **state)
{
    char                          out[512], out2[512];
    static const gw_bce_header_t  h[] = {
        { "Host", "bj.bcebos.com" },
        { "x-bce-date", "2015-04-27T08:23:49Z" },
    };
    static const char             expected[] =
        "bce-auth-v1/" AK32 "/2015-04-27T08:23:49Z/1800/host;x-bce-date/"
        "0869767d666657f490b6d35871f41a3ac4b1d9aa3e06f8b7c977625222f3f42a";

    /*
     * sign(..., b'GET', normalize_string('/v1/bucket/a b/\u00fc.txt', False),
     *      {b'Host': 'bj.bcebos.com', b'x-bce-date': '2015-04-27T08:23:49Z'},
     *      {b'z': b'last', b'prefix': b'dir/sub/', b'A': b'1',
     *       b'marker': b'a b', b'q': '\u4e2d\u6587'.encode(),
     *       b'empty': b'', b'flag': b'', b'plus': b'1+2',
     *       b'k*': b'x.y~z_-'},
     *      1430123029, 1800, [b'host', b'x-bce-date'])
     */
    assert_int_equal(gw_sign_bce_v1("GET", "/v1/bucket/a b/\xc3\xbc.txt",
                                    "z=last&prefix=dir%2Fsub%2F&A=1"
                                    "&marker=a%20b&q=%E4%B8%AD%E6%96%87"
                                    "&empty=&flag&plus=1+2&k%2A=x.y~z_-",
                                    h, NELTS(h), AK32, SK32, BOS_TS, 1800,
                                    out, sizeof(out)),
                     GW_OK);
    assert_string_equal(out, expected);

    /* order, escaping choices and empty parameters do not matter */
    assert_int_equal(gw_sign_bce_v1("GET", "/v1/bucket/a b/\xc3\xbc.txt",
                                    "&k*=x.y%7Ez_-&plus=1%2B2&flag="
                                    "&q=\xe4\xb8\xad\xe6\x96\x87&&empty"
                                    "&marker=a b&A=1&prefix=dir/sub/"
                                    "&z=%6c%61st&",
                                    h, NELTS(h), AK32, SK32, BOS_TS, 1800,
                                    out2, sizeof(out2)),
                     GW_OK);
    assert_string_equal(out2, expected);

    /* a differently decoded value changes the signature */
    assert_int_equal(gw_sign_bce_v1("GET", "/v1/bucket/a b/\xc3\xbc.txt",
                                    "z=last&prefix=dir%2Fsub%2F&A=1"
                                    "&marker=a%2520b&q=%E4%B8%AD%E6%96%87"
                                    "&empty=&flag&plus=1+2&k%2A=x.y~z_-",
                                    h, NELTS(h), AK32, SK32, BOS_TS, 1800,
                                    out2, sizeof(out2)),
                     GW_OK);
    assert_string_not_equal(out2, expected);

    /* so does the path: '/' is kept, anything else encoded */
    assert_int_equal(gw_sign_bce_v1("GET", "/v1/bucket/a%20b/\xc3\xbc.txt",
                                    "z=last&prefix=dir%2Fsub%2F&A=1"
                                    "&marker=a%20b&q=%E4%B8%AD%E6%96%87"
                                    "&empty=&flag&plus=1+2&k%2A=x.y~z_-",
                                    h, NELTS(h), AK32, SK32, BOS_TS, 1800,
                                    out2, sizeof(out2)),
                     GW_OK);
    assert_string_not_equal(out2, expected);
}


static void
test_sdk_headers(void **state)
{
    char                          out[512];
    static const gw_bce_header_t  h[] = {
        { "  HOST ", " qianfan.baidubce.com  " },
        { "Content-Type", "\tapplication/json; charset=utf-8" },
        { "X-Bce-Date", "2024-02-29T23:59:59Z" },
        { "X-Bce-Request-Id", "req 1/2" },
        { "content-md5", "  " },
    };

    /*
     * sign(BceCredentials('AKIDEXAMPLE0123', 'secretEXAMPLEkey/+='),
     *      b'POST', normalize_string('/v2/finetuning', False),
     *      {b'  HOST ': ' qianfan.baidubce.com  ',
     *       b'Content-Type': '\tapplication/json; charset=utf-8',
     *       b'X-Bce-Date': '2024-02-29T23:59:59Z',
     *       b'X-Bce-Request-Id': 'req 1/2', b'content-md5': '  '},
     *      {b'Action': b'DescribeFineTuningTasks'}, 1709251199, 300,
     *      [b'content-type', b'host', b'x-bce-date', b'x-bce-request-id'])
     */
    assert_int_equal(gw_sign_bce_v1("POST", "/v2/finetuning",
                                    "Action=DescribeFineTuningTasks",
                                    h, NELTS(h), "AKIDEXAMPLE0123",
                                    "secretEXAMPLEkey/+=",
                                    "2024-02-29T23:59:59Z", 300,
                                    out, sizeof(out)),
                     GW_OK);
    assert_string_equal(out,
        "bce-auth-v1/AKIDEXAMPLE0123/2024-02-29T23:59:59Z/300/"
        "content-type;host;x-bce-date;x-bce-request-id/"
        "04f91aebfcbfcacdeafde82df7085f16889f7fe0aac03f40b8ccb9fb4a07dfb3");
}


static void
test_authorization_param_dropped(void **state)
{
    char                          out[512];
    static const gw_bce_header_t  h[] = {
        { "Host", "bj.bcebos.com" },
    };
    static const char             expected[] =
        "bce-auth-v1/" AK32 "/2015-04-27T08:23:49Z/60/host/"
        "45515651364a1bb79a7a88c17e8f70585331d7192a3bb07b96f0c6b234ad7409";

    /*
     * sign(..., b'GET', b'/v1/bucket', {b'Host': 'bj.bcebos.com'},
     *      {b'maxKeys': b'10'}, 1430123029, 60, [b'host'])
     */
    assert_int_equal(gw_sign_bce_v1("GET", "/v1/bucket", "maxKeys=10", h, 1,
                                    AK32, SK32, BOS_TS, 60, out,
                                    sizeof(out)),
                     GW_OK);
    assert_string_equal(out, expected);

    assert_int_equal(gw_sign_bce_v1("GET", "/v1/bucket",
                                    "Authorization=bce-auth-v1%2Fx"
                                    "&maxKeys=10",
                                    h, 1, AK32, SK32, BOS_TS, 60, out,
                                    sizeof(out)),
                     GW_OK);
    assert_string_equal(out, expected);

    assert_int_equal(gw_sign_bce_v1("GET", "/v1/bucket",
                                    "maxKeys=10&AUTHORIZATION"
                                    "&%61uthorization=x",
                                    h, 1, AK32, SK32, BOS_TS, 60, out,
                                    sizeof(out)),
                     GW_OK);
    assert_string_equal(out, expected);

    /* a longer name is an ordinary parameter */
    assert_int_equal(gw_sign_bce_v1("GET", "/v1/bucket",
                                    "maxKeys=10&authorizations=x",
                                    h, 1, AK32, SK32, BOS_TS, 60, out,
                                    sizeof(out)),
                     GW_OK);
    assert_string_not_equal(out, expected);
}


static void
test_header_case_and_trim(void **state)
{
    char                          a[512], b[512];
    static const gw_bce_header_t  h1[] = {
        { "x-bce-date", "2023-09-19T13:37:10Z" },
        { "HOST", "  qianfan.baidubce.com\t" },
        { "X-Bce-Empty", "" },
    };
    static const gw_bce_header_t  h2[] = {
        { "Host", "Qianfan.baidubce.com" },
        { "x-bce-date", "2023-09-19T13:37:10Z" },
    };

    /* any case, any order, blanks around names and values */
    assert_int_equal(gw_sign_bce_v1("POST", "/v2/finetuning",
                                    "Action=CreateFineTuningJob",
                                    qf_headers, NELTS(qf_headers), AK32,
                                    SK32, "2023-09-19T13:37:10Z", 1800,
                                    a, sizeof(a)),
                     GW_OK);
    assert_int_equal(gw_sign_bce_v1("post", "/v2/finetuning",
                                    "Action=CreateFineTuningJob",
                                    h1, NELTS(h1), AK32, SK32,
                                    "2023-09-19T13:37:10Z", 1800,
                                    b, sizeof(b)),
                     GW_OK);
    assert_string_equal(a, b);

    /* the value's case is signed */
    assert_int_equal(gw_sign_bce_v1("POST", "/v2/finetuning",
                                    "Action=CreateFineTuningJob",
                                    h2, NELTS(h2), AK32, SK32,
                                    "2023-09-19T13:37:10Z", 1800,
                                    b, sizeof(b)),
                     GW_OK);
    assert_string_not_equal(a, b);
}


static void
test_no_query(void **state)
{
    char  a[512], b[512];

    assert_int_equal(gw_sign_bce_v1("GET", "/v1/x", NULL, qf_headers, 2,
                                    AK32, SK32, BOS_TS, 1800, a, sizeof(a)),
                     GW_OK);
    assert_int_equal(gw_sign_bce_v1("GET", "/v1/x", "", qf_headers, 2,
                                    AK32, SK32, BOS_TS, 1800, b, sizeof(b)),
                     GW_OK);
    assert_string_equal(a, b);

    /* an empty path is "/" */
    assert_int_equal(gw_sign_bce_v1("GET", "", NULL, qf_headers, 2,
                                    AK32, SK32, BOS_TS, 1800, a, sizeof(a)),
                     GW_OK);
    assert_int_equal(gw_sign_bce_v1("GET", "/", NULL, qf_headers, 2,
                                    AK32, SK32, BOS_TS, 1800, b, sizeof(b)),
                     GW_OK);
    assert_string_equal(a, b);
}


static void
test_out_too_small(void **state)
{
    char    ref[512], *out;
    size_t  need;

    assert_int_equal(gw_sign_bce_v1("PUT", BOS_PATH, BOS_QUERY, bos_headers,
                                    NELTS(bos_headers), AK32, SK32, BOS_TS,
                                    1800, ref, sizeof(ref)),
                     GW_OK);
    need = strlen(ref) + 1;

    /* exact heap sizes, so that ASan sees any write past the end */

    out = malloc(need);
    assert_non_null(out);
    assert_int_equal(gw_sign_bce_v1("PUT", BOS_PATH, BOS_QUERY, bos_headers,
                                    NELTS(bos_headers), AK32, SK32, BOS_TS,
                                    1800, out, need),
                     GW_OK);
    assert_string_equal(out, ref);
    free(out);

    out = malloc(need - 1);
    assert_non_null(out);
    assert_int_equal(gw_sign_bce_v1("PUT", BOS_PATH, BOS_QUERY, bos_headers,
                                    NELTS(bos_headers), AK32, SK32, BOS_TS,
                                    1800, out, need - 1),
                     GW_ERROR);
    assert_string_equal(out, "");
    free(out);

    out = malloc(1);
    assert_non_null(out);
    assert_int_equal(gw_sign_bce_v1("PUT", BOS_PATH, BOS_QUERY, bos_headers,
                                    NELTS(bos_headers), AK32, SK32, BOS_TS,
                                    1800, out, 1),
                     GW_ERROR);
    assert_string_equal(out, "");
    free(out);

    assert_int_equal(gw_sign_bce_v1("PUT", BOS_PATH, BOS_QUERY, bos_headers,
                                    NELTS(bos_headers), AK32, SK32, BOS_TS,
                                    1800, ref, 0),
                     GW_ERROR);
}


static void
test_malformed(void **state)
{
    char                          out[512];
    static const gw_bce_header_t  dup[] = {
        { "Host", "a" },
        { "host ", "b" },
    };
    static const gw_bce_header_t  empty[] = {
        { "Host", "" },
        { "x-bce-date", " \t" },
    };
    static const gw_bce_header_t  bad_name[] = {
        { "Bad Name", "a" },
    };
    static const gw_bce_header_t  semicolon[] = {
        { "a;b", "a" },
    };
    static const gw_bce_header_t  blank_name[] = {
        { "  ", "a" },
    };
    static const gw_bce_header_t  null_value[] = {
        { "Host", NULL },
    };

#define BAD(m, p, q, h, n, ak, ts, exp)                                       \
    assert_int_equal(gw_sign_bce_v1(m, p, q, h, n, ak, SK32, ts, exp, out,    \
                                    sizeof(out)),                             \
                     GW_ERROR);                                               \
    assert_string_equal(out, "")

    BAD("GET", "/", "a=%zz", qf_headers, 2, AK32, BOS_TS, 1800);
    BAD("GET", "/", "a=%4", qf_headers, 2, AK32, BOS_TS, 1800);
    BAD("GET", "/", "a%=1", qf_headers, 2, AK32, BOS_TS, 1800);
    BAD("GET", "/", "authorization=%", qf_headers, 2, AK32, BOS_TS, 1800);
    BAD("GET", "v1/x", NULL, qf_headers, 2, AK32, BOS_TS, 1800);
    BAD(NULL, "/", NULL, qf_headers, 2, AK32, BOS_TS, 1800);
    BAD("", "/", NULL, qf_headers, 2, AK32, BOS_TS, 1800);
    BAD("GE T", "/", NULL, qf_headers, 2, AK32, BOS_TS, 1800);
    BAD("GET", "/", NULL, NULL, 2, AK32, BOS_TS, 1800);
    BAD("GET", "/", NULL, qf_headers, 0, AK32, BOS_TS, 1800);
    BAD("GET", "/", NULL, dup, 2, AK32, BOS_TS, 1800);
    BAD("GET", "/", NULL, empty, 2, AK32, BOS_TS, 1800);
    BAD("GET", "/", NULL, bad_name, 1, AK32, BOS_TS, 1800);
    BAD("GET", "/", NULL, semicolon, 1, AK32, BOS_TS, 1800);
    BAD("GET", "/", NULL, blank_name, 1, AK32, BOS_TS, 1800);
    BAD("GET", "/", NULL, null_value, 1, AK32, BOS_TS, 1800);
    BAD("GET", "/", NULL, qf_headers, 2, NULL, BOS_TS, 1800);
    BAD("GET", "/", NULL, qf_headers, 2, "", BOS_TS, 1800);
    BAD("GET", "/", NULL, qf_headers, 2, "a/b", BOS_TS, 1800);
    BAD("GET", "/", NULL, qf_headers, 2, AK32, NULL, 1800);
    BAD("GET", "/", NULL, qf_headers, 2, AK32, "2015-04-27 08:23:49Z", 1800);
    BAD("GET", "/", NULL, qf_headers, 2, AK32, "2015-04-27T08:23:49", 1800);
    BAD("GET", "/", NULL, qf_headers, 2, AK32, "2015-04-27T08:23:49Z0",
        1800);
    BAD("GET", "/", NULL, qf_headers, 2, AK32, "2015-O4-27T08:23:49Z", 1800);
    BAD("GET", "/", NULL, qf_headers, 2, AK32, BOS_TS, 0);
    BAD("GET", "/", NULL, qf_headers, 2, AK32, BOS_TS, -1);

#undef BAD

    assert_int_equal(gw_sign_bce_v1("GET", "/", NULL, qf_headers, 2, AK32,
                                    NULL, BOS_TS, 1800, out, sizeof(out)),
                     GW_ERROR);
    assert_int_equal(gw_sign_bce_v1("GET", "/", NULL, qf_headers, 2, AK32,
                                    SK32, BOS_TS, 1800, NULL, 512),
                     GW_ERROR);
}


/* inputs far beyond any fixed buffer: nothing is truncated */

static void
test_long_inputs(void **state)
{
    char             *query, *path, *value, *out, *p;
    size_t            i, n;
    gw_bce_header_t   h[3];

    n = 100000;

    query = malloc(n * 12 + 1);
    path = malloc(n + 2);
    value = malloc(n + 1);
    out = malloc(n + 512);
    assert_non_null(query);
    assert_non_null(path);
    assert_non_null(value);
    assert_non_null(out);

    p = query;
    for (i = 0; i < n; i++) {
        memcpy(p, i % 2 ? "%E4%B8&" : "k=v v&", i % 2 ? 7 : 6);
        p += i % 2 ? 7 : 6;
    }
    *p = '\0';

    path[0] = '/';
    memset(path + 1, ' ', n);
    path[n + 1] = '\0';

    memset(value, 'x', n);
    value[n] = '\0';

    h[0].name = "Host";
    h[0].value = "bj.bcebos.com";
    h[1].name = "x-bce-long";
    h[1].value = value;
    h[2].name = value;
    h[2].value = "y";

    assert_int_equal(gw_sign_bce_v1("GET", path, query, h, 3, AK32, SK32,
                                    BOS_TS, 1800, out, n + 512),
                     GW_OK);
    assert_int_equal(strncmp(out, "bce-auth-v1/" AK32 "/" BOS_TS "/1800/",
                             sizeof("bce-auth-v1/" AK32 "/" BOS_TS "/1800/")
                             - 1),
                     0);
    assert_int_equal(strlen(out),
                     sizeof("bce-auth-v1/" AK32 "/" BOS_TS "/1800/") - 1
                     + strlen("host;x-bce-long;") + n + 1 + 64);

    /* one byte short */
    assert_int_equal(gw_sign_bce_v1("GET", path, query, h, 3, AK32, SK32,
                                    BOS_TS, 1800, out, strlen(out)),
                     GW_ERROR);

    free(query);
    free(path);
    free(value);
    free(out);
}


static void
test_timestamp(void **state)
{
    int        i;
    char       out[21], ref[32];
    time_t     t;
    int64_t    v;
    struct tm  tm;

    gw_bce_timestamp(1430123029, out);
    assert_string_equal(out, "2015-04-27T08:23:49Z");

    gw_bce_timestamp(1695130630, out);
    assert_string_equal(out, "2023-09-19T13:37:10Z");

    gw_bce_timestamp(0, out);
    assert_string_equal(out, "1970-01-01T00:00:00Z");

    gw_bce_timestamp(-1, out);
    assert_string_equal(out, "1969-12-31T23:59:59Z");

    gw_bce_timestamp(951782400, out);
    assert_string_equal(out, "2000-02-29T00:00:00Z");

    gw_bce_timestamp(1709251199, out);
    assert_string_equal(out, "2024-02-29T23:59:59Z");

    /* clamped to the four-digit years */
    gw_bce_timestamp(INT64_MAX, out);
    assert_string_equal(out, "9999-12-31T23:59:59Z");

    gw_bce_timestamp(INT64_MIN, out);
    assert_string_equal(out, "0000-01-01T00:00:00Z");

    /* against the C library over 1900..2300 */
    for (i = 0; i < 4000; i++) {
        v = -2208988800LL + (int64_t) i * 3155695237LL % 12622780800LL;
        t = (time_t) v;
        assert_non_null(gmtime_r(&t, &tm));
        assert_int_not_equal(strftime(ref, sizeof(ref), "%Y-%m-%dT%H:%M:%SZ",
                                      &tm),
                             0);
        gw_bce_timestamp(v, out);
        assert_string_equal(out, ref);
    }
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_signing_key),
        cmocka_unit_test(test_official_vector),
        cmocka_unit_test(test_signing_key_kept),
        cmocka_unit_test(test_qianfan_vectors),
        cmocka_unit_test(test_sdk_query_encoding),
        cmocka_unit_test(test_sdk_headers),
        cmocka_unit_test(test_authorization_param_dropped),
        cmocka_unit_test(test_header_case_and_trim),
        cmocka_unit_test(test_no_query),
        cmocka_unit_test(test_out_too_small),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_long_inputs),
        cmocka_unit_test(test_timestamp),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
