
/*
 * gw_sign_aws.c: AWS's SigV4 test suite and the S3 worked examples.
 *
 * The suite is the one botocore ships, tests/unit/auth/aws4_testsuite/
 * (boto/botocore 0e6e2404b85dc336dd2889814e089bde7d1a4c55; Apache-2.0,
 * "AWS Signature Version 4 Test Suite, Copyright 2019 Amazon.com, Inc."):
 * each case's .req gives the request, its .authz the Authorization value
 * expected.  Credentials AKIDEXAMPLE and
 * wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, region us-east-1, service
 * "service", X-Amz-Date 20150830T123600Z.
 *
 * The S3 examples are those of the S3 API reference, "Signature
 * Calculations for the Authorization Header: Transferring Payload in a
 * Single Chunk" (sig-v4-header-based-auth.html), with their published
 * signatures.
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <sign/gw_sign.h>


#define NELTS(a)  (sizeof(a) / sizeof((a)[0]))

#define SUITE_AK      "AKIDEXAMPLE"
#define SUITE_SK      "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define SUITE_DATE    "20150830T123600Z"
#define SUITE_PREFIX  "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/" \
                      "us-east-1/service/aws4_request, SignedHeaders="

#define S3_AK         "AKIAIOSFODNN7EXAMPLE"
#define S3_SK         "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define S3_DATE       "20130524T000000Z"
#define S3_HOST       "examplebucket.s3.amazonaws.com"
#define S3_PREFIX     "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/" \
                      "20130524/us-east-1/s3/aws4_request, SignedHeaders="

#define EMPTY_SHA256  "e3b0c44298fc1c149afbf4c8996fb924" \
                      "27ae41e4649b934ca495991b7852b855"
#define WELCOME_SHA256                                                        \
                      "44ce7dd67c959e0d3524ffac1771dfbb" \
                      "a87d2b6b4b4e99e42034a8b803f8b072"

#define UNRESERVED    "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ" \
                      "abcdefghijklmnopqrstuvwxyz"

#define STS_TOKEN                                                             \
    "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWs" \
    "KWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGd" \
    "eehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd" \
    "8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm" \
    "8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="

#define HOST          { "Host", "example.amazonaws.com" }
#define AMZ_DATE      { "X-Amz-Date", SUITE_DATE }


/* one case of the suite: its request and its .authz line's two fields */
typedef struct {
    const char            *name;
    const char            *method;
    const char            *path;
    const char            *query;
    gw_aws_header_t        headers[6];
    size_t                 nheaders;
    const char            *body;
    const char            *signed_headers;
    const char            *signature;
} suite_case_t;


static const suite_case_t  suite[] = {

    { "get-vanilla", "GET", "/", NULL, { HOST, AMZ_DATE }, 2, "",
      "host;x-amz-date",
      "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31" },

    /* the botocore copy of this case has no query left */
    { "get-vanilla-query", "GET", "/", "", { HOST, AMZ_DATE }, 2, "",
      "host;x-amz-date",
      "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31" },

    { "get-vanilla-empty-query-key", "GET", "/", "Param1=value1",
      { HOST, AMZ_DATE }, 2, "", "host;x-amz-date",
      "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb" },

    { "get-vanilla-query-order-key-case", "GET", "/",
      "Param2=value2&Param1=value1", { HOST, AMZ_DATE }, 2, "",
      "host;x-amz-date",
      "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500" },

    { "get-vanilla-query-order-key", "GET", "/",
      "Param1=value2&Param1=Value1", { HOST, AMZ_DATE }, 2, "",
      "host;x-amz-date",
      "eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1" },

    { "get-vanilla-query-order-value", "GET", "/",
      "Param1=value2&Param1=value1", { HOST, AMZ_DATE }, 2, "",
      "host;x-amz-date",
      "5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694" },

    { "get-vanilla-query-order-encoded", "GET", "/",
      "Param-3=Value3&Param=Value2&%E1%88%B4=Value1", { HOST, AMZ_DATE }, 2,
      "", "host;x-amz-date",
      "371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac" },

    { "get-vanilla-query-unreserved", "GET", "/",
      UNRESERVED "=" UNRESERVED, { HOST, AMZ_DATE }, 2, "",
      "host;x-amz-date",
      "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197" },

    { "get-vanilla-utf8-query", "GET", "/", "\xe1\x88\xb4=bar",
      { HOST, AMZ_DATE }, 2, "", "host;x-amz-date",
      "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04" },

    /* the token of the .creq (the .req leaves it out) */
    { "get-vanilla-with-session-token", "GET", "/", NULL,
      { HOST, AMZ_DATE,
        { "X-Amz-Security-Token", "6e86291e8372ff2a2260956d9b8aae1d"
                                  "763fbf315fa00fa31553b73ebf194267" } },
      3, "", "host;x-amz-date;x-amz-security-token",
      "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8" },

    { "get-header-key-duplicate", "GET", "/", NULL,
      { HOST, { "My-Header1", "value2" }, { "My-Header1", "value2" },
        { "My-Header1", "value1" }, AMZ_DATE },
      5, "", "host;my-header1;x-amz-date",
      "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea" },

    /* the folded value as one string, its line breaks kept */
    { "get-header-value-multiline", "GET", "/", NULL,
      { HOST, { "My-Header1", "value1\n  value2\n     value3" }, AMZ_DATE },
      3, "", "host;my-header1;x-amz-date",
      "cfd34249e4b1c8d6b91ef74165d41a32e5fab3306300901bb65a51a73575eefd" },

    { "get-header-value-order", "GET", "/", NULL,
      { HOST, { "My-Header1", "value4" }, { "My-Header1", "value1" },
        { "My-Header1", "value3" }, { "My-Header1", "value2" }, AMZ_DATE },
      6, "", "host;my-header1;x-amz-date",
      "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01" },

    { "get-header-value-trim", "GET", "/", NULL,
      { HOST, { "My-Header1", " value1" },
        { "My-Header2", " \"a   b   c\"" }, AMZ_DATE },
      4, "", "host;my-header1;my-header2;x-amz-date",
      "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736" },

    { "get-unreserved", "GET", "/" UNRESERVED, NULL, { HOST, AMZ_DATE }, 2,
      "", "host;x-amz-date",
      "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f" },

    { "get-utf8", "GET", "/\xe1\x88\xb4", NULL, { HOST, AMZ_DATE }, 2, "",
      "host;x-amz-date",
      "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85" },

    { "post-header-key-case", "POST", "/", NULL, { HOST, AMZ_DATE }, 2, "",
      "host;x-amz-date",
      "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b" },

    { "post-header-key-sort", "POST", "/", NULL,
      { HOST, { "My-Header1", "value1" }, AMZ_DATE }, 3, "",
      "host;my-header1;x-amz-date",
      "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c" },

    { "post-header-value-case", "POST", "/", NULL,
      { HOST, { "My-Header1", "VALUE1" }, AMZ_DATE }, 3, "",
      "host;my-header1;x-amz-date",
      "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d" },

    /* the token added after signing: not signed */
    { "post-sts-header-after", "POST", "/", NULL, { HOST, AMZ_DATE }, 2, "",
      "host;x-amz-date",
      "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b" },

    { "post-sts-header-before", "POST", "/", NULL,
      { HOST, AMZ_DATE, { "X-Amz-Security-Token", STS_TOKEN } }, 3, "",
      "host;x-amz-date;x-amz-security-token",
      "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead" },

    { "post-vanilla", "POST", "/", NULL, { HOST, AMZ_DATE }, 2, "",
      "host;x-amz-date",
      "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b" },

    { "post-vanilla-query", "POST", "/", "Param1=value1",
      { HOST, AMZ_DATE }, 2, "", "host;x-amz-date",
      "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11" },

    { "post-vanilla-empty-query-value", "POST", "/", "Param1=value1",
      { HOST, AMZ_DATE }, 2, "", "host;x-amz-date",
      "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11" },

    { "post-x-www-form-urlencoded", "POST", "/", NULL,
      { { "Content-Type", "application/x-www-form-urlencoded" }, HOST,
        AMZ_DATE },
      3, "Param1=value1", "content-type;host;x-amz-date",
      "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a" },

    { "post-x-www-form-urlencoded-parameters", "POST", "/", NULL,
      { { "Content-Type",
          "application/x-www-form-urlencoded; charset=utf8" }, HOST,
        AMZ_DATE },
      3, "Param1=value1", "content-type;host;x-amz-date",
      "1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe" },

    /* normalize-path/ */

    { "get-relative-relative", "GET", "/example1/example2/../..", NULL,
      { HOST, AMZ_DATE }, 2, "", "host;x-amz-date",
      "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31" },

    { "get-relative", "GET", "/example/..", NULL, { HOST, AMZ_DATE }, 2, "",
      "host;x-amz-date",
      "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31" },

    { "get-slash-dot-slash", "GET", "/./", NULL, { HOST, AMZ_DATE }, 2, "",
      "host;x-amz-date",
      "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31" },

    { "get-slash-pointless-dot", "GET", "/./example", NULL,
      { HOST, AMZ_DATE }, 2, "", "host;x-amz-date",
      "ef75d96142cf21edca26f06005da7988e4f8dc83a165a80865db7089db637ec5" },

    { "get-slash", "GET", "//", NULL, { HOST, AMZ_DATE }, 2, "",
      "host;x-amz-date",
      "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31" },

    { "get-slashes", "GET", "//example//", NULL, { HOST, AMZ_DATE }, 2, "",
      "host;x-amz-date",
      "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84" },

    { "get-space", "GET", "/example space/", NULL, { HOST, AMZ_DATE }, 2,
      "", "host;x-amz-date",
      "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741" },

    { "get-special-character", "GET", "/example/$delete", NULL,
      { HOST, AMZ_DATE }, 2, "", "host;x-amz-date",
      "a853c9b21b528b19643d00910d35b83a10c366a10833ceefb45edd6c80e40f27" },
};


static gw_rc_t
sign_suite(const char *method, const char *path, const char *query,
    const gw_aws_header_t *h, size_t n, const char *hash, int s3,
    char *out, size_t size)
{
    return gw_sign_aws_v4(method, path, query, h, n, hash, SUITE_AK,
                          SUITE_SK, "us-east-1", "service", SUITE_DATE, s3,
                          out, size);
}


static gw_rc_t
sign_s3(const char *method, const char *path, const char *query,
    const gw_aws_header_t *h, size_t n, const char *hash, char *out,
    size_t size)
{
    return gw_sign_aws_v4(method, path, query, h, n, hash, S3_AK, S3_SK,
                          "us-east-1", "s3", S3_DATE, 1, out, size);
}


static void
test_suite(void **state)
{
    char                 out[1024], want[1024], hash[65];
    size_t               i;
    const suite_case_t  *c;

    for (i = 0; i < NELTS(suite); i++) {
        c = &suite[i];

        gw_aws_payload_hash(c->body, strlen(c->body), hash);

        strcpy(want, SUITE_PREFIX);
        strcat(want, c->signed_headers);
        strcat(want, ", Signature=");
        strcat(want, c->signature);

        if (sign_suite(c->method, c->path, c->query, c->headers,
                       c->nheaders, hash, 0, out, sizeof(out))
            != GW_OK)
        {
            fail_msg("%s: GW_ERROR", c->name);
        }

        if (strcmp(out, want) != 0) {
            fail_msg("%s:\n got  %s\n want %s", c->name, out, want);
        }
    }
}


/*
 * S3 signs the path as it is: the suite's cases whose path needs no
 * normalising give the same signatures, the others do not; a path spelled
 * otherwise than UriEncode would is signed in that form.
 */
static void
test_s3_path(void **state)
{
    char                          a[1024], b[1024];
    static const gw_aws_header_t  h[] = { HOST, AMZ_DATE };

#define SAME_S3(p1, p2)                                                       \
    assert_int_equal(sign_suite("GET", p1, NULL, h, 2, EMPTY_SHA256, 0, a,    \
                                sizeof(a)),                                   \
                     GW_OK);                                                  \
    assert_int_equal(sign_suite("GET", p2, NULL, h, 2, EMPTY_SHA256, 1, b,    \
                                sizeof(b)),                                   \
                     GW_OK);                                                  \
    assert_string_equal(a, b)

#define DIFF_S3(p1, p2)                                                       \
    assert_int_equal(sign_suite("GET", p1, NULL, h, 2, EMPTY_SHA256, 0, a,    \
                                sizeof(a)),                                   \
                     GW_OK);                                                  \
    assert_int_equal(sign_suite("GET", p2, NULL, h, 2, EMPTY_SHA256, 1, b,    \
                                sizeof(b)),                                   \
                     GW_OK);                                                  \
    assert_string_not_equal(a, b)

    SAME_S3("/", "/");
    SAME_S3("/" UNRESERVED, "/" UNRESERVED);
    SAME_S3("/\xe1\x88\xb4", "/\xe1\x88\xb4");
    SAME_S3("/\xe1\x88\xb4", "/%E1%88%B4");
    SAME_S3("/\xe1\x88\xb4", "/%e1%88%b4");
    SAME_S3("/example space/", "/example%20space/");
    SAME_S3("/example space/", "/example space/");
    SAME_S3("/example/$delete", "/example/%24delete");
    SAME_S3("/example/$delete", "/example/$delete");
    SAME_S3("/abc", "/%61%62c");

    /* not normalised */
    DIFF_S3("//", "//");
    DIFF_S3("//example//", "//example//");
    DIFF_S3("/example/..", "/example/..");
    DIFF_S3("/./example", "/./example");

    /* an escaped '/' is not a separator */
    DIFF_S3("/a/b", "/a%2Fb");

    /* the other services encode the path as sent once more */
    DIFF_S3("/example%20space/", "/example%20space/");

#undef SAME_S3
#undef DIFF_S3

    assert_int_equal(sign_suite("GET", "//example//", NULL, h, 2,
                                EMPTY_SHA256, 1, b, sizeof(b)),
                     GW_OK);
    assert_int_equal(sign_suite("GET", "/example/", NULL, h, 2,
                                EMPTY_SHA256, 1, a, sizeof(a)),
                     GW_OK);
    assert_string_not_equal(a, b);
}


static void
test_s3_examples(void **state)
{
    char                          out[1024];
    static const gw_aws_header_t  get_object[] = {
        { "Host", S3_HOST },
        { "Range", "bytes=0-9" },
        { "x-amz-content-sha256", EMPTY_SHA256 },
        { "x-amz-date", S3_DATE },
    };
    static const gw_aws_header_t  put_object[] = {
        { "Host", S3_HOST },
        { "Date", "Fri, 24 May 2013 00:00:00 GMT" },
        { "x-amz-date", S3_DATE },
        { "x-amz-storage-class", "REDUCED_REDUNDANCY" },
        { "x-amz-content-sha256", WELCOME_SHA256 },
    };
    static const gw_aws_header_t  get_bucket[] = {
        { "Host", S3_HOST },
        { "x-amz-date", S3_DATE },
        { "x-amz-content-sha256", EMPTY_SHA256 },
    };
    static const char             put_want[] =
        S3_PREFIX "date;host;x-amz-content-sha256;x-amz-date;"
        "x-amz-storage-class, Signature="
        "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd";
    static const char             lifecycle_want[] =
        S3_PREFIX "host;x-amz-content-sha256;x-amz-date, Signature="
        "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543";
    static const char             list_want[] =
        S3_PREFIX "host;x-amz-content-sha256;x-amz-date, Signature="
        "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7";

    /* GET Object, its first ten bytes */
    assert_int_equal(sign_s3("GET", "/test.txt", NULL, get_object,
                             NELTS(get_object), EMPTY_SHA256, out,
                             sizeof(out)),
                     GW_OK);
    assert_string_equal(out,
        S3_PREFIX "host;range;x-amz-content-sha256;x-amz-date, Signature="
        "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");

    /* PUT Object "Welcome to Amazon S3.", key "test$file.text" */
    assert_int_equal(sign_s3("PUT", "/test%24file.text", NULL, put_object,
                             NELTS(put_object), WELCOME_SHA256, out,
                             sizeof(out)),
                     GW_OK);
    assert_string_equal(out, put_want);

    assert_int_equal(sign_s3("PUT", "/test$file.text", "", put_object,
                             NELTS(put_object), WELCOME_SHA256, out,
                             sizeof(out)),
                     GW_OK);
    assert_string_equal(out, put_want);

    /* GET Bucket lifecycle */
    assert_int_equal(sign_s3("GET", "/", "lifecycle", get_bucket,
                             NELTS(get_bucket), EMPTY_SHA256, out,
                             sizeof(out)),
                     GW_OK);
    assert_string_equal(out, lifecycle_want);

    assert_int_equal(sign_s3("GET", "", "lifecycle=", get_bucket,
                             NELTS(get_bucket), EMPTY_SHA256, out,
                             sizeof(out)),
                     GW_OK);
    assert_string_equal(out, lifecycle_want);

    /* GET Bucket (list objects), in either order */
    assert_int_equal(sign_s3("GET", "/", "max-keys=2&prefix=J", get_bucket,
                             NELTS(get_bucket), EMPTY_SHA256, out,
                             sizeof(out)),
                     GW_OK);
    assert_string_equal(out, list_want);

    assert_int_equal(sign_s3("GET", "/", "prefix=J&max-keys=2", get_bucket,
                             NELTS(get_bucket), EMPTY_SHA256, out,
                             sizeof(out)),
                     GW_OK);
    assert_string_equal(out, list_want);

    assert_int_equal(sign_s3("GET", "/", "&prefix=%4A&&max-keys=2&",
                             get_bucket, NELTS(get_bucket), EMPTY_SHA256,
                             out, sizeof(out)),
                     GW_OK);
    assert_string_equal(out, list_want);
}


static void
test_payload_hash(void **state)
{
    char  hash[65];

    gw_aws_payload_hash("", 0, hash);
    assert_string_equal(hash, EMPTY_SHA256);

    gw_aws_payload_hash(NULL, 0, hash);
    assert_string_equal(hash, EMPTY_SHA256);

    gw_aws_payload_hash(NULL, 5, hash);
    assert_string_equal(hash, EMPTY_SHA256);

    gw_aws_payload_hash("Welcome to Amazon S3.", 21, hash);
    assert_string_equal(hash, WELCOME_SHA256);

    /* the suite's form body, as its .creq has it */
    gw_aws_payload_hash("Param1=value1", 13, hash);
    assert_string_equal(hash, "9095672bbd1f56dfc5b65f3e153adc87"
                              "31a4a654192329106275f4c7b24d0b6e");
}


/* the query: order, escaping and empty parameters do not matter; '+' does */

static void
test_query(void **state)
{
    char                          a[1024], b[1024];
    static const gw_aws_header_t  h[] = { HOST, AMZ_DATE };

    assert_int_equal(sign_suite("GET", "/", NULL, h, 2, EMPTY_SHA256, 0, a,
                                sizeof(a)),
                     GW_OK);
    assert_int_equal(sign_suite("GET", "/", "", h, 2, EMPTY_SHA256, 0, b,
                                sizeof(b)),
                     GW_OK);
    assert_string_equal(a, b);
    assert_string_equal(a, SUITE_PREFIX "host;x-amz-date, Signature="
        "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");

    assert_int_equal(sign_suite("GET", "/", "&&", h, 2, EMPTY_SHA256, 0, b,
                                sizeof(b)),
                     GW_OK);
    assert_string_equal(a, b);

    assert_int_equal(sign_suite("GET", "/", "a=b c&a-b=1&a=b%2Bc&x=%7E",
                                h, 2, EMPTY_SHA256, 0, a, sizeof(a)),
                     GW_OK);
    assert_int_equal(sign_suite("GET", "/", "x=~&a=b+c&a%2Db=1&a=b%20c",
                                h, 2, EMPTY_SHA256, 0, b, sizeof(b)),
                     GW_OK);
    assert_string_equal(a, b);

    /* "a=1" sorts before "a-b=1" (by key), not after (by string) */
    assert_int_equal(sign_suite("GET", "/", "a-b=1&a=1", h, 2,
                                EMPTY_SHA256, 0, a, sizeof(a)),
                     GW_OK);
    assert_int_equal(sign_suite("GET", "/", "a=1&a-b=1", h, 2,
                                EMPTY_SHA256, 0, b, sizeof(b)),
                     GW_OK);
    assert_string_equal(a, b);

    /* '+' is a plus, not a space */
    assert_int_equal(sign_suite("GET", "/", "a=b+c", h, 2, EMPTY_SHA256, 0,
                                a, sizeof(a)),
                     GW_OK);
    assert_int_equal(sign_suite("GET", "/", "a=b%20c", h, 2, EMPTY_SHA256,
                                0, b, sizeof(b)),
                     GW_OK);
    assert_string_not_equal(a, b);

    /* a key alone is "key=" */
    assert_int_equal(sign_suite("GET", "/", "k", h, 2, EMPTY_SHA256, 0, a,
                                sizeof(a)),
                     GW_OK);
    assert_int_equal(sign_suite("GET", "/", "k=", h, 2, EMPTY_SHA256, 0, b,
                                sizeof(b)),
                     GW_OK);
    assert_string_equal(a, b);
}


/* names in any case and order, blanks around names and values */

static void
test_header_case_and_trim(void **state)
{
    char                          a[1024], b[1024];
    static const gw_aws_header_t  h1[] = {
        { "x-amz-date", SUITE_DATE },
        { " HOST\t", "  example.amazonaws.com\t" },
        { "my-header1", "" },
    };
    static const gw_aws_header_t  h2[] = {
        { "Host", "example.amazonaws.com" },
        { "My-Header1", " \t" },
        { "X-Amz-Date", SUITE_DATE },
    };
    static const gw_aws_header_t  h3[] = {
        { "Host", "Example.amazonaws.com" },
        { "My-Header1", "" },
        { "X-Amz-Date", SUITE_DATE },
    };

    assert_int_equal(sign_suite("GET", "/", NULL, h1, 3, EMPTY_SHA256, 0, a,
                                sizeof(a)),
                     GW_OK);
    assert_int_equal(sign_suite("GET", "/", NULL, h2, 3, EMPTY_SHA256, 0, b,
                                sizeof(b)),
                     GW_OK);
    assert_string_equal(a, b);

    /* an empty value is signed, as "my-header1:" */
    assert_non_null(strstr(a, "SignedHeaders=host;my-header1;x-amz-date,"));

    /* the value's case is signed */
    assert_int_equal(sign_suite("GET", "/", NULL, h3, 3, EMPTY_SHA256, 0, b,
                                sizeof(b)),
                     GW_OK);
    assert_string_not_equal(a, b);
}


static void
test_out_too_small(void **state)
{
    char                          ref[1024], *out;
    size_t                        need;
    static const gw_aws_header_t  h[] = {
        { "Host", S3_HOST },
        { "x-amz-date", S3_DATE },
        { "x-amz-content-sha256", EMPTY_SHA256 },
    };

    assert_int_equal(sign_s3("GET", "/", "lifecycle", h, 3, EMPTY_SHA256,
                             ref, sizeof(ref)),
                     GW_OK);
    need = strlen(ref) + 1;

    /* exact heap sizes, so that ASan sees any write past the end */

    out = malloc(need);
    assert_non_null(out);
    assert_int_equal(sign_s3("GET", "/", "lifecycle", h, 3, EMPTY_SHA256,
                             out, need),
                     GW_OK);
    assert_string_equal(out, ref);
    free(out);

    out = malloc(need - 1);
    assert_non_null(out);
    assert_int_equal(sign_s3("GET", "/", "lifecycle", h, 3, EMPTY_SHA256,
                             out, need - 1),
                     GW_ERROR);
    assert_string_equal(out, "");
    free(out);

    out = malloc(1);
    assert_non_null(out);
    assert_int_equal(sign_s3("GET", "/", "lifecycle", h, 3, EMPTY_SHA256,
                             out, 1),
                     GW_ERROR);
    assert_string_equal(out, "");
    free(out);

    assert_int_equal(sign_s3("GET", "/", "lifecycle", h, 3, EMPTY_SHA256,
                             ref, 0),
                     GW_ERROR);
    assert_int_equal(sign_s3("GET", "/", "lifecycle", h, 3, EMPTY_SHA256,
                             NULL, 1024),
                     GW_ERROR);
}


static void
test_malformed(void **state)
{
    char                          out[1024];
    static const gw_aws_header_t  h[] = { HOST, AMZ_DATE };
    static const gw_aws_header_t  bad_name[] = { { "Bad Name", "a" } };
    static const gw_aws_header_t  colon[] = { { "a:b", "a" } };
    static const gw_aws_header_t  semicolon[] = { { "a;b", "a" } };
    static const gw_aws_header_t  blank_name[] = { { " \t", "a" } };
    static const gw_aws_header_t  null_name[] = { { NULL, "a" } };
    static const gw_aws_header_t  null_value[] = { { "Host", NULL } };

#define BAD(m, p, q, hd, n, ph, ak, sk, r, s, d)                              \
    assert_int_equal(gw_sign_aws_v4(m, p, q, hd, n, ph, ak, sk, r, s, d, 0,   \
                                    out, sizeof(out)),                        \
                     GW_ERROR);                                               \
    assert_string_equal(out, "");                                             \
    assert_int_equal(gw_sign_aws_v4(m, p, q, hd, n, ph, ak, sk, r, s, d, 1,   \
                                    out, sizeof(out)),                        \
                     GW_ERROR);                                               \
    assert_string_equal(out, "")

#define BAD_INPUT(m, p, q, hd, n, ph)                                         \
    BAD(m, p, q, hd, n, ph, SUITE_AK, SUITE_SK, "us-east-1", "service",       \
        SUITE_DATE)

#define BAD_SCOPE(ak, sk, r, s, d)                                            \
    BAD("GET", "/", NULL, h, 2, EMPTY_SHA256, ak, sk, r, s, d)

    /* the request */
    BAD_INPUT(NULL, "/", NULL, h, 2, EMPTY_SHA256);
    BAD_INPUT("", "/", NULL, h, 2, EMPTY_SHA256);
    BAD_INPUT("GE T", "/", NULL, h, 2, EMPTY_SHA256);
    BAD_INPUT("GET\n", "/", NULL, h, 2, EMPTY_SHA256);
    BAD_INPUT("GET", "x/", NULL, h, 2, EMPTY_SHA256);
    BAD_INPUT("GET", "/", "a=%zz", h, 2, EMPTY_SHA256);
    BAD_INPUT("GET", "/", "a=%4", h, 2, EMPTY_SHA256);
    BAD_INPUT("GET", "/", "a%=1", h, 2, EMPTY_SHA256);
    BAD_INPUT("GET", "/", "%", h, 2, EMPTY_SHA256);

    /* the headers */
    BAD_INPUT("GET", "/", NULL, NULL, 2, EMPTY_SHA256);
    BAD_INPUT("GET", "/", NULL, h, 0, EMPTY_SHA256);
    BAD_INPUT("GET", "/", NULL, bad_name, 1, EMPTY_SHA256);
    BAD_INPUT("GET", "/", NULL, colon, 1, EMPTY_SHA256);
    BAD_INPUT("GET", "/", NULL, semicolon, 1, EMPTY_SHA256);
    BAD_INPUT("GET", "/", NULL, blank_name, 1, EMPTY_SHA256);
    BAD_INPUT("GET", "/", NULL, null_name, 1, EMPTY_SHA256);
    BAD_INPUT("GET", "/", NULL, null_value, 1, EMPTY_SHA256);

    /* the payload hash */
    BAD_INPUT("GET", "/", NULL, h, 2, NULL);
    BAD_INPUT("GET", "/", NULL, h, 2, "");
    BAD_INPUT("GET", "/", NULL, h, 2, "e3b0c442");
    BAD_INPUT("GET", "/", NULL, h, 2,
              "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B"
              "7852B855");
    BAD_INPUT("GET", "/", NULL, h, 2,
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b"
              "7852b855a");
    BAD_INPUT("GET", "/", NULL, h, 2, "UNSIGNEDPAYLOAD");
    BAD_INPUT("GET", "/", NULL, h, 2,
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b"
              "7852b85g");
    BAD_INPUT("GET", "/", NULL, h, 2, "UNSIGNED-payload");
    BAD_INPUT("GET", "/", NULL, h, 2, "UNSIGNED-PAYLOAD\nx");

    /* the credential scope */
    BAD_SCOPE(NULL, SUITE_SK, "us-east-1", "service", SUITE_DATE);
    BAD_SCOPE("", SUITE_SK, "us-east-1", "service", SUITE_DATE);
    BAD_SCOPE("AK/ID", SUITE_SK, "us-east-1", "service", SUITE_DATE);
    BAD_SCOPE("AK,ID", SUITE_SK, "us-east-1", "service", SUITE_DATE);
    BAD_SCOPE("AK ID", SUITE_SK, "us-east-1", "service", SUITE_DATE);
    BAD_SCOPE(SUITE_AK, NULL, "us-east-1", "service", SUITE_DATE);
    BAD_SCOPE(SUITE_AK, SUITE_SK, NULL, "service", SUITE_DATE);
    BAD_SCOPE(SUITE_AK, SUITE_SK, "", "service", SUITE_DATE);
    BAD_SCOPE(SUITE_AK, SUITE_SK, "us/east", "service", SUITE_DATE);
    BAD_SCOPE(SUITE_AK, SUITE_SK, "us-east-1\n", "service", SUITE_DATE);
    BAD_SCOPE(SUITE_AK, SUITE_SK, "us-east-1", NULL, SUITE_DATE);
    BAD_SCOPE(SUITE_AK, SUITE_SK, "us-east-1", "", SUITE_DATE);
    BAD_SCOPE(SUITE_AK, SUITE_SK, "us-east-1", "s\xc3\xa9rvice",
              SUITE_DATE);

    /* the date */
    BAD_SCOPE(SUITE_AK, SUITE_SK, "us-east-1", "service", NULL);
    BAD_SCOPE(SUITE_AK, SUITE_SK, "us-east-1", "service", "");
    BAD_SCOPE(SUITE_AK, SUITE_SK, "us-east-1", "service",
              "20150830T123600");
    BAD_SCOPE(SUITE_AK, SUITE_SK, "us-east-1", "service",
              "20150830T123600Z0");
    BAD_SCOPE(SUITE_AK, SUITE_SK, "us-east-1", "service",
              "20150830 123600Z");
    BAD_SCOPE(SUITE_AK, SUITE_SK, "us-east-1", "service",
              "2015-08-30T12:36:00Z");
    BAD_SCOPE(SUITE_AK, SUITE_SK, "us-east-1", "service",
              "2O150830T123600Z");

    /* a bad escape in an S3 path */
    assert_int_equal(sign_suite("GET", "/a%zz", NULL, h, 2, EMPTY_SHA256,
                                1, out, sizeof(out)),
                     GW_ERROR);
    assert_string_equal(out, "");
    assert_int_equal(sign_suite("GET", "/a%2", NULL, h, 2, EMPTY_SHA256,
                                1, out, sizeof(out)),
                     GW_ERROR);
    assert_int_equal(sign_suite("GET", "/a%", NULL, h, 2, EMPTY_SHA256,
                                1, out, sizeof(out)),
                     GW_ERROR);

#undef BAD_SCOPE
#undef BAD_INPUT
#undef BAD

    /* what may be given otherwise */
    assert_int_equal(sign_suite("GET", NULL, NULL, h, 2, "UNSIGNED-PAYLOAD",
                                1, out, sizeof(out)),
                     GW_OK);
    assert_int_equal(sign_suite("GET", "", NULL, h, 2,
                                "STREAMING-UNSIGNED-PAYLOAD-TRAILER", 0, out,
                                sizeof(out)),
                     GW_OK);
    assert_int_equal(gw_sign_aws_v4("GET", "/", NULL, h, 2, EMPTY_SHA256,
                                    SUITE_AK, "", "us-east-1", "service",
                                    SUITE_DATE, 0, out, sizeof(out)),
                     GW_OK);
}


/* inputs far beyond any fixed buffer: nothing is truncated */

static void
test_long_inputs(void **state)
{
    char             *query, *path, *value, *out, *p;
    size_t            i, n, prefix;
    gw_aws_header_t   h[4];

    n = 100000;

    query = malloc(n * 12 + 1);
    path = malloc(n * 2 + 2);
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

    for (i = 0; i < n; i++) {
        path[2 * i] = '/';
        path[2 * i + 1] = (i % 3 == 0) ? ' ' : '.';
    }
    path[2 * n] = '/';
    path[2 * n + 1] = '\0';

    memset(value, 'x', n);
    value[n] = '\0';

    h[0].name = "Host";
    h[0].value = "example.amazonaws.com";
    h[1].name = "x-amz-long";
    h[1].value = value;
    h[2].name = value;
    h[2].value = "y";
    h[3].name = "X-Amz-Date";
    h[3].value = SUITE_DATE;

    prefix = sizeof(SUITE_PREFIX) - 1;

    for (i = 0; i < 2; i++) {
        assert_int_equal(sign_suite("GET", path, query, h, 4, EMPTY_SHA256,
                                    (int) i, out, n + 512),
                         GW_OK);
        assert_int_equal(strncmp(out, SUITE_PREFIX "host;", prefix + 5), 0);
        assert_int_equal(strlen(out),
                         prefix + strlen("host;x-amz-date;x-amz-long;") + n
                         + strlen(", Signature=") + 64);

        /* one byte short */
        assert_int_equal(sign_suite("GET", path, query, h, 4, EMPTY_SHA256,
                                    (int) i, out, strlen(out)),
                         GW_ERROR);
        assert_string_equal(out, "");
    }

    free(query);
    free(path);
    free(value);
    free(out);
}


static void
test_date(void **state)
{
    int        i;
    char       out[17], ref[32];
    time_t     t;
    int64_t    v;
    struct tm  tm;

    gw_aws_date(1369353600, out);
    assert_string_equal(out, "20130524T000000Z");

    gw_aws_date(1440938160, out);
    assert_string_equal(out, SUITE_DATE);

    gw_aws_date(0, out);
    assert_string_equal(out, "19700101T000000Z");

    gw_aws_date(-1, out);
    assert_string_equal(out, "19691231T235959Z");

    gw_aws_date(951782400, out);
    assert_string_equal(out, "20000229T000000Z");

    gw_aws_date(1709251199, out);
    assert_string_equal(out, "20240229T235959Z");

    /* clamped to the four-digit years */
    gw_aws_date(INT64_MAX, out);
    assert_string_equal(out, "99991231T235959Z");

    gw_aws_date(INT64_MIN, out);
    assert_string_equal(out, "00000101T000000Z");

    /* against the C library over 1900..2300 */
    for (i = 0; i < 4000; i++) {
        v = -2208988800LL + (int64_t) i * 3155695237LL % 12622780800LL;
        t = (time_t) v;
        assert_non_null(gmtime_r(&t, &tm));
        assert_int_not_equal(strftime(ref, sizeof(ref), "%Y%m%dT%H%M%SZ",
                                      &tm),
                             0);
        gw_aws_date(v, out);
        assert_string_equal(out, ref);
    }
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_suite),
        cmocka_unit_test(test_s3_path),
        cmocka_unit_test(test_s3_examples),
        cmocka_unit_test(test_payload_hash),
        cmocka_unit_test(test_query),
        cmocka_unit_test(test_header_case_and_trim),
        cmocka_unit_test(test_out_too_small),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_long_inputs),
        cmocka_unit_test(test_date),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
