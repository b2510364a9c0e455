
/*
 * gw_crypto.c and gw_sign_ncp.c: RFC 4231, RFC 4648 and the NCP signature
 * vectors of vendor-apis.md 1.2.4.
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <core/gw_core.h>
#include <sign/gw_sign.h>


static void
hex_of(const unsigned char *in, size_t len, char *out)
{
    gw_hex(in, len, out);
}


static void
test_hmac_rfc4231(void **state)
{
    unsigned char  key[20], data[50], mac[32];
    char           hex[65];

    /* test case 1 */
    memset(key, 0x0b, 20);
    gw_hmac_sha256(key, 20, "Hi There", 8, mac);
    hex_of(mac, 32, hex);
    assert_string_equal(hex, "b0344c61d8db38535ca8afceaf0bf12b"
                             "881dc200c9833da726e9376c2e32cff7");

    /* test case 2 */
    gw_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac);
    hex_of(mac, 32, hex);
    assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c7"
                             "5a003f089d2739839dec58b964ec3843");

    /* test case 3 */
    memset(key, 0xaa, 20);
    memset(data, 0xdd, 50);
    gw_hmac_sha256(key, 20, data, 50, mac);
    hex_of(mac, 32, hex);
    assert_string_equal(hex, "773ea91e36800e46854db8ebd09181a7"
                             "2959098b3ef8c122d9635514ced565fe");
}


static void
test_hmac_rfc4231_long_key(void **state)
{
    unsigned char  key[131], mac[32];
    char           hex[65];

    /* test case 6: a key longer than the block is hashed first */
    memset(key, 0xaa, sizeof(key));
    gw_hmac_sha256(key, sizeof(key),
                   "Test Using Larger Than Block-Size Key - Hash Key First",
                   54, mac);
    hex_of(mac, 32, hex);
    assert_string_equal(hex, "60e431591ee0b67f0d8a26aacbf5b77f"
                             "8e0bc6213728c5140546040f0ee37f54");
}


/*
 * The keyed states of recent keys are cached: keys of every length around
 * the block size, more keys than the cache holds, each used again after
 * being evicted, must all match OpenSSL's own HMAC.
 */
static void
test_hmac_key_cache(void **state)
{
    size_t         round, i, len;
    unsigned int   n;
    unsigned char  key[70], msg[200], mac[32], want[32];

    for (i = 0; i < sizeof(msg); i++) {
        msg[i] = (unsigned char) (i * 7);
    }

    for (round = 0; round < 3; round++) {
        for (len = 0; len <= sizeof(key); len++) {
            memset(key, (int) (len + 1), sizeof(key));

            i = (len * 13) % sizeof(msg);

            gw_hmac_sha256(key, len, msg, i, mac);

            assert_non_null(HMAC(EVP_sha256(), key, (int) len, msg, i,
                                 want, &n));
            assert_int_equal(n, 32);
            assert_memory_equal(mac, want, 32);
        }
    }

    /* the same length, different bytes: never served from the cache */
    memset(key, 'a', 32);
    gw_hmac_sha256(key, 32, "m", 1, want);
    key[31] = 'b';
    gw_hmac_sha256(key, 32, "m", 1, mac);
    assert_memory_not_equal(mac, want, 32);
}


static void
test_sha256(void **state)
{
    unsigned char  md[32];
    char           hex[65];

    gw_sha256("abc", 3, md);
    hex_of(md, 32, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223"
                             "b00361a396177a9cb410ff61f20015ad");

    gw_sha256(NULL, 0, md);
    hex_of(md, 32, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb924"
                             "27ae41e4649b934ca495991b7852b855");
}


static void
test_hex(void **state)
{
    char                  out[9];
    static const unsigned char  in[] = { 0x00, 0xab, 0x7f, 0xff };

    gw_hex(in, 4, out);
    assert_string_equal(out, "00ab7fff");

    gw_hex(in, 0, out);
    assert_string_equal(out, "");
}


static void
test_base64_rfc4648(void **state)
{
    size_t       i, n;
    char         out[16];
    static const char  *vec[][2] = {
        { "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
        { "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
        { "foobar", "Zm9vYmFy" }
    };

    for (i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
        n = gw_base64((const unsigned char *) vec[i][0], strlen(vec[i][0]),
                      out);
        assert_string_equal(out, vec[i][1]);
        assert_int_equal(n, strlen(vec[i][1]));
    }
}


static void
test_base64url(void **state)
{
    size_t               n;
    char                 out[16];
    static const unsigned char  in[] = { 0xfb, 0xff, 0xbf };

    n = gw_base64(in, 2, out);
    assert_string_equal(out, "+/8=");
    assert_int_equal(n, 4);

    n = gw_base64url(in, 2, out);
    assert_string_equal(out, "-_8");
    assert_int_equal(n, 3);

    n = gw_base64url(in, 3, out);
    assert_string_equal(out, "-_-_");
    assert_int_equal(n, 4);

    n = gw_base64url((const unsigned char *) "f", 1, out);
    assert_string_equal(out, "Zg");
    assert_int_equal(n, 2);
}


static void
test_base64url_round_trip(void **state)
{
    long           n;
    size_t         len, i;
    unsigned char  in[200], back[200 + 3];
    char           enc[4 * 200 / 3 + 4];

    for (i = 0; i < sizeof(in); i++) {
        in[i] = (unsigned char) (i * 37 + 11);
    }

    for (len = 0; len <= sizeof(in); len++) {
        gw_base64url(in, len, enc);
        assert_null(strchr(enc, '='));

        n = gw_base64url_decode(enc, strlen(enc), back);
        assert_int_equal(n, (long) len);
        assert_memory_equal(in, back, len);
    }
}


static void
test_base64url_invalid(void **state)
{
    size_t               i;
    unsigned char        out[64];
    static const char   *bad[] = {
        "Z",            /* impossible length */
        "Zm9vY",        /* impossible length */
        "Zg==",         /* padding is not url-safe base64 */
        "Zm8=",
        "Zm+v",         /* standard alphabet */
        "Zm/v",
        "Zm 9v",
        "Zm.9",
        "Zh",           /* non-zero unused bits: not canonical */
        "Zm9",
        "Zm-",
        "\xc3\xa9\x41\x41"
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(gw_base64url_decode(bad[i], strlen(bad[i]), out),
                         -1);
    }

    /* an embedded NUL */
    assert_int_equal(gw_base64url_decode("Zm\0v", 4, out), -1);

    assert_int_equal(gw_base64url_decode("", 0, out), 0);
    assert_int_equal(gw_base64url_decode("Zm8", 3, out), 2);
    assert_memory_equal(out, "fo", 2);
}


static void
test_memeq_ct(void **state)
{
    assert_true(gw_memeq_ct("abcd", "abcd", 4));
    assert_false(gw_memeq_ct("abcd", "abce", 4));
    assert_false(gw_memeq_ct("xbcd", "abcd", 4));
    assert_true(gw_memeq_ct("a", "b", 0));
}


static void
test_ncp_v2_vectors(void **state)
{
    char  out[45];

    gw_sign_ncp_v2("GET", "/photos/puppy.jpg?query1=&query2",
                   "1700000000000", "ACCESS_KEY_ID", "ncp-secret-example",
                   out);
    assert_string_equal(out, "iPe1hFfjl7BPGhFZJGCY5XZgH6eWMwCWlSdSkKU+SPE=");

    gw_sign_ncp_v2("POST", "/tuning/v2/tasks", "1700000000000",
                   "ACCESS_KEY_ID", "SECRET_KEY", out);
    assert_string_equal(out, "4miyMWS4KVbiO/Azgvd67y7IbfnkqR4UiqJUX6301CI=");

    gw_sign_ncp_v2("GET", "/tuning/v2/tasks?page=0&size=20",
                   "1700000000000", "ACCESS_KEY_ID", "SECRET_KEY", out);
    assert_string_equal(out, "z7gIH8qm/RakiKZ/OeZUlfoSwRarnFK68MZqeDcA8ds=");
}


/* the string to sign of row 2, signed directly, agrees with the signer */

static void
test_ncp_v2_string_to_sign(void **state)
{
    unsigned char  mac[32];
    char           b64[45], out[45];
    static const char  sts[] = "POST /tuning/v2/tasks\n1700000000000\n"
                               "ACCESS_KEY_ID";

    gw_hmac_sha256("SECRET_KEY", 10, sts, sizeof(sts) - 1, mac);
    gw_base64(mac, 32, b64);

    gw_sign_ncp_v2("POST", "/tuning/v2/tasks", "1700000000000",
                   "ACCESS_KEY_ID", "SECRET_KEY", out);
    assert_string_equal(out, b64);
    assert_int_equal(strlen(out), 44);
}


/* a URI beyond the stack buffer takes the allocating path */

static void
test_ncp_v2_long_uri(void **state)
{
    char           *uri, *sts;
    size_t          n;
    unsigned char   mac[32];
    char            b64[45], out[45];

    n = 5000;
    uri = malloc(n + 1);
    sts = malloc(n + 64);
    assert_non_null(uri);
    assert_non_null(sts);

    memset(uri, 'a', n);
    uri[0] = '/';
    uri[n] = '\0';

    strcpy(sts, "GET ");
    strcat(sts, uri);
    strcat(sts, "\n1\nAK");

    gw_hmac_sha256("SK", 2, sts, strlen(sts), mac);
    gw_base64(mac, 32, b64);

    gw_sign_ncp_v2("GET", uri, "1", "AK", "SK", out);
    assert_string_equal(out, b64);

    free(uri);
    free(sts);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_hmac_rfc4231),
        cmocka_unit_test(test_hmac_rfc4231_long_key),
        cmocka_unit_test(test_hmac_key_cache),
        cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_base64_rfc4648),
        cmocka_unit_test(test_base64url),
        cmocka_unit_test(test_base64url_round_trip),
        cmocka_unit_test(test_base64url_invalid),
        cmocka_unit_test(test_memeq_ct),
        cmocka_unit_test(test_ncp_v2_vectors),
        cmocka_unit_test(test_ncp_v2_string_to_sign),
        cmocka_unit_test(test_ncp_v2_long_uri),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
