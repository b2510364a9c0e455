
/*
 * gw_jwt.c: Yandex authorized keys and PS256 JWTs, checked against
 * OpenSSL's own RSASSA-PSS verification with keys generated here.
 *
 * Cross-checked once outside this test (not needed to run it): tokens
 * made by gw_jwt_ps256 from RSA-2048 and RSA-4096 keys written by Python's
 * cryptography 50.0.2, with and without the "PLEASE DO NOT REMOVE THIS
 * LINE!" prefix, were accepted by PyJWT 2.15.1 (jwt.decode(token,
 * public_pem, algorithms=["PS256"], audience=AUD), same header and
 * claims) and by cryptography's PSS verify with salt_length=32; PyJWT
 * refused them under another key.
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <core/gw_core.h>
#include <sign/gw_sign.h>


#define AUD      "https://iam.api.cloud.yandex.net/iam/v1/tokens"
#define KEY_ID   "ajeabcdefghijklmnopq"
#define SA_ID    "ajesa0123456789abcde"
#define PREFIX   "PLEASE DO NOT REMOVE THIS LINE! Yandex.Cloud SA Key ID <" \
                 KEY_ID ">\n"
#define NELTS(a)  (sizeof(a) / sizeof((a)[0]))


typedef struct {
    EVP_PKEY   *rsa;          /* RSA-2048, the signer */
    EVP_PKEY   *other;        /* RSA-2048, a wrong key */
    EVP_PKEY   *ec;
    EVP_PKEY   *rsa1024;
    char       *pem;          /* PKCS#8 of rsa */
    char       *pub_pem;      /* SubjectPublicKeyInfo of rsa */
} keys_t;


static char *bio_string(BIO *bio);
static char *pem_private(EVP_PKEY *pkey);
static char *pem_public(EVP_PKEY *pkey);
static EVP_PKEY *read_public(const char *pem);
static char *key_json(const char *id, const char *sa_id, const char *pem,
    const char *prefix);
static void *b64_decode(const char *s, size_t len, size_t *out_len);
static void check_alphabet(const char *token);
static void split(const char *token, size_t *dot1, size_t *dot2);
static char *decode_part(const char *token, size_t from, size_t to);
static int verify(EVP_PKEY *pub, const char *token);
static void check_token(const char *token, EVP_PKEY *pub, int64_t iat,
    int ttl);
static char *compact_json(const char *pem);
static void parse_ok(const char *json, gw_yandex_key_t *key);
static void parse_fails(const keys_t *k, const char *json, const char *what);


static char *
bio_string(BIO *bio)
{
    char   *s, *data;
    long    len;

    len = BIO_get_mem_data(bio, &data);
    assert_true(len > 0);

    s = malloc((size_t) len + 1);
    assert_non_null(s);
    memcpy(s, data, (size_t) len);
    s[len] = '\0';

    return s;
}


static char *
pem_private(EVP_PKEY *pkey)
{
    BIO   *bio;
    char  *s;

    bio = BIO_new(BIO_s_mem());
    assert_non_null(bio);
    assert_int_equal(PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0,
                                              NULL, NULL),
                     1);
    s = bio_string(bio);
    BIO_free(bio);

    return s;
}


static char *
pem_public(EVP_PKEY *pkey)
{
    BIO   *bio;
    char  *s;

    bio = BIO_new(BIO_s_mem());
    assert_non_null(bio);
    assert_int_equal(PEM_write_bio_PUBKEY(bio, pkey), 1);
    s = bio_string(bio);
    BIO_free(bio);

    return s;
}


static EVP_PKEY *
read_public(const char *pem)
{
    BIO       *bio;
    EVP_PKEY  *pkey;

    bio = BIO_new_mem_buf(pem, -1);
    assert_non_null(bio);
    pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    assert_non_null(pkey);
    BIO_free(bio);

    return pkey;
}


/* an authorized key file as Yandex writes it; NULL leaves a field out */

static char *
key_json(const char *id, const char *sa_id, const char *pem,
    const char *prefix)
{
    char    *s, *full;
    cJSON   *j;
    size_t   plen;

    j = cJSON_CreateObject();
    assert_non_null(j);

    if (id != NULL) {
        assert_non_null(cJSON_AddStringToObject(j, "id", id));
    }

    if (sa_id != NULL) {
        assert_non_null(cJSON_AddStringToObject(j, "service_account_id",
                                                sa_id));
    }

    assert_non_null(cJSON_AddStringToObject(j, "created_at",
                                            "2024-05-06T07:08:09Z"));
    assert_non_null(cJSON_AddStringToObject(j, "key_algorithm",
                                            "RSA_2048"));
    assert_non_null(cJSON_AddStringToObject(j, "public_key",
                                            "-----BEGIN PUBLIC KEY-----\n"
                                            "...\n"
                                            "-----END PUBLIC KEY-----\n"));

    if (pem != NULL) {
        prefix = (prefix != NULL) ? prefix : "";
        plen = strlen(prefix);
        full = malloc(plen + strlen(pem) + 1);
        assert_non_null(full);
        memcpy(full, prefix, plen);
        strcpy(full + plen, pem);
        assert_non_null(cJSON_AddStringToObject(j, "private_key", full));
        free(full);
    }

    s = cJSON_Print(j);
    assert_non_null(s);
    cJSON_Delete(j);

    return s;
}


static void *
b64_decode(const char *s, size_t len, size_t *out_len)
{
    long            n;
    unsigned char  *out;

    out = malloc(3 * len / 4 + 3);
    assert_non_null(out);

    n = gw_base64url_decode(s, len, out);
    assert_true(n >= 0);
    *out_len = (size_t) n;

    return out;
}


/* three base64url parts, no padding, nothing else */

static void
check_alphabet(const char *token)
{
    int          dots;
    const char  *p;

    dots = 0;

    for (p = token; *p != '\0'; p++) {
        if (*p == '.') {
            dots++;
            continue;
        }

        assert_true((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')
                    || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_');
    }

    assert_int_equal(dots, 2);
    assert_null(strchr(token, '='));
}


static void
split(const char *token, size_t *dot1, size_t *dot2)
{
    const char  *a, *b;

    a = strchr(token, '.');
    assert_non_null(a);
    b = strchr(a + 1, '.');
    assert_non_null(b);
    assert_null(strchr(b + 1, '.'));

    *dot1 = (size_t) (a - token);
    *dot2 = (size_t) (b - token);
    assert_true(*dot1 > 0 && *dot2 > *dot1 + 1 && token[*dot2 + 1] != '\0');
}


static char *
decode_part(const char *token, size_t from, size_t to)
{
    char    *s, *raw;
    size_t   n;

    raw = b64_decode(token + from, to - from, &n);
    s = malloc(n + 1);
    assert_non_null(s);
    memcpy(s, raw, n);
    s[n] = '\0';
    free(raw);

    return s;
}


/* RSASSA-PSS, SHA-256, salt length 32: 1 if the signature verifies */

static int
verify(EVP_PKEY *pub, const char *token)
{
    int             ok;
    size_t          dot1, dot2, siglen;
    EVP_MD_CTX     *md;
    EVP_PKEY_CTX   *pctx;
    unsigned char  *sig;

    split(token, &dot1, &dot2);
    sig = b64_decode(token + dot2 + 1, strlen(token + dot2 + 1), &siglen);

    md = EVP_MD_CTX_new();
    assert_non_null(md);
    assert_int_equal(EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL,
                                          pub),
                     1);
    assert_true(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING)
                > 0);
    assert_true(EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) > 0);
    assert_true(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) > 0);

    ok = EVP_DigestVerify(md, sig, siglen, (const unsigned char *) token,
                          dot2)
         == 1;

    EVP_MD_CTX_free(md);
    free(sig);
    ERR_clear_error();

    return ok;
}


static void
check_token(const char *token, EVP_PKEY *pub, int64_t iat, int ttl)
{
    char    *header, *claims;
    char     want[512];
    cJSON   *got, *exp;
    size_t   dot1, dot2, siglen;
    void    *sig;

    check_alphabet(token);
    split(token, &dot1, &dot2);

    header = decode_part(token, 0, dot1);
    claims = decode_part(token, dot1 + 1, dot2);

    /* the exact bytes, key order included, and the same as JSON */

    assert_string_equal(header,
                        "{\"typ\":\"JWT\",\"alg\":\"PS256\",\"kid\":\""
                        KEY_ID "\"}");

    exp = cJSON_CreateObject();
    assert_non_null(exp);
    cJSON_AddStringToObject(exp, "typ", "JWT");
    cJSON_AddStringToObject(exp, "alg", "PS256");
    cJSON_AddStringToObject(exp, "kid", KEY_ID);
    got = cJSON_Parse(header);
    assert_non_null(got);
    assert_true(cJSON_Compare(got, exp, 1));
    cJSON_Delete(got);
    cJSON_Delete(exp);

    snprintf(want, sizeof(want),
             "{\"iss\":\"" SA_ID "\",\"aud\":\"" AUD "\",\"iat\":%lld,"
             "\"exp\":%lld}",
             (long long) iat, (long long) (iat + ttl));
    assert_string_equal(claims, want);

    exp = cJSON_CreateObject();
    assert_non_null(exp);
    cJSON_AddStringToObject(exp, "iss", SA_ID);
    cJSON_AddStringToObject(exp, "aud", AUD);
    cJSON_AddNumberToObject(exp, "iat", (double) iat);
    cJSON_AddNumberToObject(exp, "exp", (double) (iat + ttl));
    got = cJSON_Parse(claims);
    assert_non_null(got);
    assert_true(cJSON_Compare(got, exp, 1));
    cJSON_Delete(got);
    cJSON_Delete(exp);

    /* an RSA-2048 signature is 256 bytes */

    sig = b64_decode(token + dot2 + 1, strlen(token + dot2 + 1), &siglen);
    assert_int_equal(siglen, 256);
    free(sig);

    assert_true(verify(pub, token));

    free(header);
    free(claims);
}


/* one line, fields reordered, the PEM with CRLF line ends */

static char *
compact_json(const char *pem)
{
    char        *json, *p;
    const char  *s;

    json = malloc(strlen(pem) * 2 + 256);
    assert_non_null(json);

    p = json;
    p += sprintf(p, "{\"service_account_id\":\"" SA_ID "\","
                    "\"private_key\":\"PLEASE DO NOT REMOVE\\r\\n");

    for (s = pem; *s != '\0'; s++) {
        if (*s == '\n') {
            p += sprintf(p, "\\r\\n");

        } else {
            *p++ = *s;
        }
    }

    sprintf(p, "\",\"id\":\"" KEY_ID "\"}");

    return json;
}


static void
parse_ok(const char *json, gw_yandex_key_t *key)
{
    char  err[256];

    assert_int_equal(gw_yandex_key_parse(json, strlen(json), key, err,
                                         sizeof(err)),
                     GW_OK);
    assert_string_equal(key->key_id, KEY_ID);
    assert_string_equal(key->service_account_id, SA_ID);
    assert_non_null(key->pkey);
    assert_int_equal(ERR_peek_error(), 0);
}


/* refused, with a message that quotes nothing of the key */

static void
parse_fails(const keys_t *k, const char *json, const char *what)
{
    char             err[256], body[41];
    const char      *p;
    gw_yandex_key_t  key;

    memset(&key, 0x5a, sizeof(key));
    strcpy(err, "unchanged");

    assert_int_equal(gw_yandex_key_parse(json, strlen(json), &key, err,
                                         sizeof(err)),
                     GW_ERROR);
    assert_null(key.pkey);
    assert_string_equal(key.key_id, "");
    assert_string_equal(key.service_account_id, "");

    assert_true(err[0] != '\0' && strcmp(err, "unchanged") != 0);
    assert_non_null(strstr(err, what));
    assert_null(strstr(err, "BEGIN"));
    assert_null(strstr(err, "PLEASE"));

    /* the first base64 line of the key */
    p = strchr(k->pem, '\n');
    assert_non_null(p);
    memcpy(body, p + 1, 40);
    body[40] = '\0';
    assert_null(strstr(err, body));

    /* OpenSSL's error queue is left as it was */
    assert_int_equal(ERR_peek_error(), 0);

    /* no room for a message, or none wanted */
    assert_int_equal(gw_yandex_key_parse(json, strlen(json), &key, err, 1),
                     GW_ERROR);
    assert_string_equal(err, "");
    assert_int_equal(gw_yandex_key_parse(json, strlen(json), &key, NULL, 0),
                     GW_ERROR);
    assert_null(key.pkey);

    gw_yandex_key_free(&key);
}


static int
group_setup(void **state)
{
    keys_t  *k;

    k = calloc(1, sizeof(keys_t));
    if (k == NULL) {
        return -1;
    }

    k->rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 2048);
    k->other = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 2048);
    k->ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    k->rsa1024 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 1024);

    *state = k;

    if (k->rsa == NULL || k->other == NULL || k->ec == NULL
        || k->rsa1024 == NULL)
    {
        return -1;
    }

    k->pem = pem_private(k->rsa);
    k->pub_pem = pem_public(k->rsa);

    return 0;
}


static int
group_teardown(void **state)
{
    keys_t  *k;

    k = *state;

    EVP_PKEY_free(k->rsa);
    EVP_PKEY_free(k->other);
    EVP_PKEY_free(k->ec);
    EVP_PKEY_free(k->rsa1024);
    free(k->pem);
    free(k->pub_pem);
    free(k);

    return 0;
}


static void
test_parse_and_sign(void **state)
{
    char             *json, *bad, *other;
    char              token[2048];
    size_t            dot1, dot2, n;
    keys_t           *k;
    EVP_PKEY         *pub, *wrong;
    gw_yandex_key_t   key;

    k = *state;
    assert_non_null(strstr(k->pem, "-----BEGIN PRIVATE " "KEY-----"));

    json = key_json(KEY_ID, SA_ID, k->pem, NULL);
    parse_ok(json, &key);

    assert_int_equal(gw_jwt_ps256(&key, AUD, 1700000000, 3600, token,
                                  sizeof(token)),
                     GW_OK);
    assert_int_equal(ERR_peek_error(), 0);

    pub = read_public(k->pub_pem);
    check_token(token, pub, 1700000000, 3600);

    /* the wrong key */
    other = pem_public(k->other);
    wrong = read_public(other);
    free(other);
    assert_false(verify(wrong, token));

    /* a tampered payload: exp pushed by a second, signature kept */
    split(token, &dot1, &dot2);
    bad = malloc(strlen(token) + 16);
    assert_non_null(bad);
    memcpy(bad, token, dot1 + 1);
    n = gw_base64url((const unsigned char *)
                     "{\"iss\":\"" SA_ID "\",\"aud\":\"" AUD "\","
                     "\"iat\":1700000000,\"exp\":1700003601}",
                     strlen("{\"iss\":\"" SA_ID "\",\"aud\":\"" AUD "\","
                            "\"iat\":1700000000,\"exp\":1700003601}"),
                     bad + dot1 + 1);
    strcpy(bad + dot1 + 1 + n, token + dot2);
    assert_true(strcmp(bad, token) != 0);
    assert_false(verify(pub, bad));

    /* one flipped character of the claims, then of the signature */
    strcpy(bad, token);
    bad[dot1 + 3] = (bad[dot1 + 3] == 'A') ? 'B' : 'A';
    assert_false(verify(pub, bad));

    strcpy(bad, token);
    bad[dot2 + 5] = (bad[dot2 + 5] == 'A') ? 'B' : 'A';
    assert_false(verify(pub, bad));

    /* PSS is randomised: a second token differs and verifies too */
    assert_int_equal(gw_jwt_ps256(&key, AUD, 1700000000, 3600, bad,
                                  strlen(token) + 16),
                     GW_OK);
    assert_int_equal(strlen(bad), strlen(token));
    assert_memory_equal(bad, token, dot2);
    assert_true(strcmp(bad, token) != 0);
    assert_true(verify(pub, bad));

    free(bad);
    EVP_PKEY_free(wrong);
    EVP_PKEY_free(pub);
    free(json);

    gw_yandex_key_free(&key);
    assert_null(key.pkey);
    gw_yandex_key_free(&key);
    gw_yandex_key_free(NULL);
}


static void
test_prefix_line(void **state)
{
    char             *json;
    char              token[2048];
    keys_t           *k;
    EVP_PKEY         *pub;
    gw_yandex_key_t   key;

    k = *state;

    json = key_json(KEY_ID, SA_ID, k->pem, PREFIX);
    assert_non_null(strstr(json, "PLEASE DO NOT REMOVE"));
    parse_ok(json, &key);

    assert_int_equal(gw_jwt_ps256(&key, AUD, 1715000000, 600, token,
                                  sizeof(token)),
                     GW_OK);

    pub = read_public(k->pub_pem);
    check_token(token, pub, 1715000000, 600);

    EVP_PKEY_free(pub);
    gw_yandex_key_free(&key);
    free(json);

    /* a compact file, as one line, and with CRLF line ends */

    json = compact_json(k->pem);
    parse_ok(json, &key);
    assert_int_equal(gw_jwt_ps256(&key, AUD, 1715000000, 600, token,
                                  sizeof(token)),
                     GW_OK);

    pub = read_public(k->pub_pem);
    check_token(token, pub, 1715000000, 600);

    EVP_PKEY_free(pub);
    gw_yandex_key_free(&key);
    free(json);
}


/* times are exact integers, beyond 2^31 and beyond a double's 2^53 */

static void
test_times(void **state)
{
    char             *json, *claims;
    char              token[2048];
    size_t            dot1, dot2;
    keys_t           *k;
    EVP_PKEY         *pub;
    gw_yandex_key_t   key;

    k = *state;

    json = key_json(KEY_ID, SA_ID, k->pem, NULL);
    parse_ok(json, &key);
    pub = read_public(k->pub_pem);

    assert_int_equal(gw_jwt_ps256(&key, AUD, 4102444800LL, 1, token,
                                  sizeof(token)),
                     GW_OK);
    check_token(token, pub, 4102444800LL, 1);

    assert_int_equal(gw_jwt_ps256(&key, AUD, 0, 3600, token,
                                  sizeof(token)),
                     GW_OK);
    check_token(token, pub, 0, 3600);

    assert_int_equal(gw_jwt_ps256(&key, AUD, 9007199254740993LL, 60, token,
                                  sizeof(token)),
                     GW_OK);
    split(token, &dot1, &dot2);
    claims = decode_part(token, dot1 + 1, dot2);
    assert_string_equal(claims,
                        "{\"iss\":\"" SA_ID "\",\"aud\":\"" AUD "\","
                        "\"iat\":9007199254740993,"
                        "\"exp\":9007199254741053}");
    assert_true(verify(pub, token));

    assert_int_equal(gw_jwt_ps256(&key, AUD, INT64_MAX - 3600, 3600, token,
                                  sizeof(token)),
                     GW_OK);
    assert_true(verify(pub, token));

    free(claims);
    EVP_PKEY_free(pub);
    gw_yandex_key_free(&key);
    free(json);
}


static void
test_parse_errors(void **state)
{
    char                *json, *pem, *enc, *pub, *garbage, *long_id;
    BIO                 *bio;
    char                 err[256];
    keys_t              *k;
    size_t               i;
    gw_yandex_key_t      key;
    static const char   *malformed[] = {
        "{", "[]", "null", "\"id\"", "{\"id\":\"a\",}", "  ",
    };

    k = *state;

    for (i = 0; i < NELTS(malformed); i++) {
        parse_fails(k, malformed[i], "not a JSON object");
    }

    /* a missing, empty, non-string, too long or unprintable id */

    json = key_json(NULL, SA_ID, k->pem, NULL);
    parse_fails(k, json, "\"id\"");
    free(json);

    json = key_json("", SA_ID, k->pem, NULL);
    parse_fails(k, json, "\"id\"");
    free(json);

    long_id = malloc(129);
    assert_non_null(long_id);
    memset(long_id, 'a', 128);
    long_id[128] = '\0';
    json = key_json(long_id, SA_ID, k->pem, NULL);
    parse_fails(k, json, "\"id\" longer than 127");
    free(json);

    json = key_json(KEY_ID, long_id, k->pem, NULL);
    parse_fails(k, json, "\"service_account_id\" longer than 127");
    free(json);

    /* 127 bytes fit */
    long_id[127] = '\0';
    json = key_json(long_id, long_id, k->pem, NULL);
    assert_int_equal(gw_yandex_key_parse(json, strlen(json), &key, err,
                                         sizeof(err)),
                     GW_OK);
    assert_string_equal(key.key_id, long_id);
    assert_string_equal(key.service_account_id, long_id);
    gw_yandex_key_free(&key);
    free(json);
    free(long_id);

    json = key_json("ab\ncd", SA_ID, k->pem, NULL);
    parse_fails(k, json, "control character");
    free(json);

    parse_fails(k, "{\"id\":42,\"service_account_id\":\"" SA_ID "\"}",
                "\"id\"");

    /* service_account_id */

    json = key_json(KEY_ID, NULL, k->pem, NULL);
    parse_fails(k, json, "\"service_account_id\"");
    free(json);

    /* private_key: absent, not a string, no PEM, not a key */

    json = key_json(KEY_ID, SA_ID, NULL, NULL);
    parse_fails(k, json, "\"private_key\"");
    free(json);

    parse_fails(k, "{\"id\":\"" KEY_ID "\",\"service_account_id\":\""
                SA_ID "\",\"private_key\":7}", "\"private_key\"");

    json = key_json(KEY_ID, SA_ID, "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", NULL);
    parse_fails(k, json, "private_key: no PEM");
    free(json);

    json = key_json(KEY_ID, SA_ID,
                    "-----BEGIN PRIVATE " "KEY-----\n"
                    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ\n"
                    "-----END PRIVATE KEY-----\n", PREFIX);
    parse_fails(k, json, "not an unencrypted PEM private key");
    free(json);

    garbage = strdup(k->pem);
    assert_non_null(garbage);
    garbage[100] = (garbage[100] == 'A') ? 'B' : 'A';
    garbage[200] = '*';
    json = key_json(KEY_ID, SA_ID, garbage, NULL);
    parse_fails(k, json, "not an unencrypted PEM private key");
    free(json);
    free(garbage);

    /* the public half alone */
    pub = pem_public(k->rsa);
    json = key_json(KEY_ID, SA_ID, pub, NULL);
    parse_fails(k, json, "not an unencrypted PEM private key");
    free(json);
    free(pub);

    /* encrypted: refused without asking for a passphrase */
    bio = BIO_new(BIO_s_mem());
    assert_non_null(bio);
    assert_int_equal(PEM_write_bio_PKCS8PrivateKey(bio, k->rsa,
                                                   EVP_aes_256_cbc(), "pw",
                                                   2, NULL, NULL),
                     1);
    enc = bio_string(bio);
    BIO_free(bio);
    assert_non_null(strstr(enc, "ENCRYPTED PRIVATE KEY"));
    json = key_json(KEY_ID, SA_ID, enc, NULL);
    parse_fails(k, json, "not an unencrypted PEM private key");
    free(json);
    free(enc);

    /* not RSA, or too short */

    pem = pem_private(k->ec);
    json = key_json(KEY_ID, SA_ID, pem, PREFIX);
    parse_fails(k, json, "not an RSA key");
    free(json);
    free(pem);

    pem = pem_private(k->rsa1024);
    json = key_json(KEY_ID, SA_ID, pem, NULL);
    parse_fails(k, json, "1024 bits, at least 2048");
    free(json);
    free(pem);

    /* no input, or no output */
    assert_int_equal(gw_yandex_key_parse(NULL, 0, &key, err, sizeof(err)),
                     GW_ERROR);
    assert_null(key.pkey);
    assert_int_equal(gw_yandex_key_parse("{}", 0, &key, err, sizeof(err)),
                     GW_ERROR);
    assert_int_equal(gw_yandex_key_parse("{}", 2, NULL, err, sizeof(err)),
                     GW_ERROR);
    assert_true(err[0] != '\0');
}


static void
test_sign_errors(void **state)
{
    char             *json;
    char              token[2048], small[2048];
    size_t            len;
    keys_t           *k;
    gw_yandex_key_t   key, empty;

    k = *state;

    json = key_json(KEY_ID, SA_ID, k->pem, NULL);
    parse_ok(json, &key);

    assert_int_equal(gw_jwt_ps256(&key, AUD, 1700000000, 3600, token,
                                  sizeof(token)),
                     GW_OK);
    len = strlen(token);

#define SIGN_FAILS(k_, aud_, iat_, ttl_, out_, size_)                        \
    do {                                                                     \
        strcpy(small, "x");                                                  \
        assert_int_equal(gw_jwt_ps256(k_, aud_, iat_, ttl_, out_, size_),    \
                         GW_ERROR);                                          \
        if ((out_) != NULL && (size_t) (size_) > 0) {                        \
            assert_string_equal(out_, "");                                   \
        }                                                                    \
        assert_int_equal(ERR_peek_error(), 0);                               \
    } while (0)

    /* ttl out of 1..3600, iat negative or overflowing */
    SIGN_FAILS(&key, AUD, 1700000000, 3601, small, sizeof(small));
    SIGN_FAILS(&key, AUD, 1700000000, 0, small, sizeof(small));
    SIGN_FAILS(&key, AUD, 1700000000, -1, small, sizeof(small));
    SIGN_FAILS(&key, AUD, -1, 3600, small, sizeof(small));
    SIGN_FAILS(&key, AUD, INT64_MAX - 3599, 3600, small, sizeof(small));

    /* no audience, no key */
    SIGN_FAILS(&key, NULL, 1700000000, 3600, small, sizeof(small));
    SIGN_FAILS(&key, "", 1700000000, 3600, small, sizeof(small));
    SIGN_FAILS(NULL, AUD, 1700000000, 3600, small, sizeof(small));
    memset(&empty, 0, sizeof(empty));
    SIGN_FAILS(&empty, AUD, 1700000000, 3600, small, sizeof(small));

    /* out too small, by one byte and by much; none at all */
    SIGN_FAILS(&key, AUD, 1700000000, 3600, small, len);
    SIGN_FAILS(&key, AUD, 1700000000, 3600, small, 10);
    SIGN_FAILS(&key, AUD, 1700000000, 3600, small, 1);
    SIGN_FAILS(&key, AUD, 1700000000, 3600, NULL, sizeof(small));
    assert_int_equal(gw_jwt_ps256(&key, AUD, 1700000000, 3600, small, 0),
                     GW_ERROR);
    assert_string_equal(small, "x");

#undef SIGN_FAILS

    /* exactly enough */
    assert_int_equal(gw_jwt_ps256(&key, AUD, 1700000000, 3600, small,
                                  len + 1),
                     GW_OK);
    assert_int_equal(strlen(small), len);

    gw_yandex_key_free(&key);
    free(json);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_parse_and_sign),
        cmocka_unit_test(test_prefix_line),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_sign_errors),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
