
/*
 * Yandex Cloud IAM (vendor-apis.md 3.7): a service-account authorized key
 * and the PS256 JWT that is exchanged for an IAM token.
 *
 * header = {"typ":"JWT","alg":"PS256","kid":<key id>}
 * claims = {"iss":<service account id>,"aud":<aud>,"iat":<iat>,
 *           "exp":<iat + ttl>}
 * jwt    = b64url(header) "." b64url(claims) "." b64url(RSASSA-PSS(
 *          SHA-256, MGF1-SHA-256, salt length 32, the two first parts))
 *
 * OpenSSL failures are popped off the thread's error queue before
 * returning, so that they do not leak into later TLS calls of the caller.
 */


#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <sign/gw_sign.h>


#define GW_JWT_TTL_MAX       3600
#define GW_JWT_RSA_MIN_BITS  2048
#define GW_JWT_PEM_BEGIN     "-----BEGIN "

/* base64url without padding of n bytes, written without overflow */
#define gw_jwt_b64_len(n)    ((n) / 3 * 4 + ((n) % 3 * 4 + 2) / 3)


static void gw_jwt_err(char *err, size_t errlen, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static gw_rc_t gw_jwt_copy_id(const cJSON *root, const char *name,
    char *dst, size_t size, char *err, size_t errlen);
static gw_rc_t gw_jwt_load_key(const char *pem, EVP_PKEY **out, char *err,
    size_t errlen);
static int gw_jwt_no_passphrase(char *buf, int size, int rwflag, void *u);
static char *gw_jwt_header(const gw_yandex_key_t *key);
static char *gw_jwt_claims(const gw_yandex_key_t *key, const char *aud,
    int64_t iat, int ttl);
static gw_rc_t gw_jwt_sign(EVP_PKEY *pkey, const char *tbs, size_t len,
    unsigned char *sig, size_t *siglen);


/*
 * The authorized key file: {"id", "service_account_id", "private_key",
 * and others ("created_at", "key_algorithm", "public_key") ignored}.
 * private_key is a PEM PKCS#8 RSA key of at least 2048 bits; whatever
 * precedes its "-----BEGIN" line (Yandex writes a "PLEASE DO NOT REMOVE
 * THIS LINE!" line there) is skipped.  An encrypted key is refused.
 * On GW_ERROR key is zeroed and err says what is wrong, never quoting it.
 */

gw_rc_t
gw_yandex_key_parse(const char *json, size_t len, gw_yandex_key_t *key,
    char *err, size_t errlen)
{
    cJSON     *root, *pk;
    gw_rc_t    rc;
    EVP_PKEY  *pkey;

    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }

    if (key == NULL) {
        gw_jwt_err(err, errlen, "authorized key: no output");
        return GW_ERROR;
    }

    memset(key, 0, sizeof(*key));

    if (json == NULL || len == 0) {
        gw_jwt_err(err, errlen, "authorized key: empty");
        return GW_ERROR;
    }

    root = gw_json_parse(json, len, NULL);

    if (!cJSON_IsObject(root)) {
        gw_jwt_err(err, errlen, "authorized key: not a JSON object");
        gw_json_delete(root);
        return GW_ERROR;
    }

    rc = GW_ERROR;
    pk = gw_json_get(root, "private_key");

    if (gw_jwt_copy_id(root, "id", key->key_id, sizeof(key->key_id),
                       err, errlen)
           != GW_OK
        || gw_jwt_copy_id(root, "service_account_id",
                          key->service_account_id,
                          sizeof(key->service_account_id), err, errlen)
           != GW_OK)
    {
        goto done;
    }

    if (!cJSON_IsString(pk) || pk->valuestring == NULL
        || pk->valuestring[0] == '\0')
    {
        gw_jwt_err(err, errlen,
                   "authorized key: no \"private_key\" string");
        goto done;
    }

    if (gw_jwt_load_key(pk->valuestring, &pkey, err, errlen) != GW_OK) {
        goto done;
    }

    key->pkey = pkey;
    rc = GW_OK;

done:

    /* cJSON's copy of the key text is freed wiped */

    if (cJSON_IsString(pk) && pk->valuestring != NULL) {
        OPENSSL_cleanse(pk->valuestring, strlen(pk->valuestring));
    }

    gw_json_delete(root);

    if (rc != GW_OK) {
        gw_yandex_key_free(key);
    }

    return rc;
}


void
gw_yandex_key_free(gw_yandex_key_t *key)
{
    if (key == NULL) {
        return;
    }

    EVP_PKEY_free(key->pkey);
    memset(key, 0, sizeof(*key));
}


static void
gw_jwt_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list  args;

    if (err == NULL || errlen == 0) {
        return;
    }

    va_start(args, fmt);
    vsnprintf(err, errlen, fmt, args);
    va_end(args);
}


/* a non-empty string without control characters that fits dst */

static gw_rc_t
gw_jwt_copy_id(const cJSON *root, const char *name, char *dst, size_t size,
    char *err, size_t errlen)
{
    size_t       i, n;
    const char  *s;

    s = gw_json_str(root, name);

    if (s == NULL || s[0] == '\0') {
        gw_jwt_err(err, errlen, "authorized key: no \"%s\" string", name);
        return GW_ERROR;
    }

    n = strlen(s);

    if (n >= size) {
        gw_jwt_err(err, errlen, "authorized key: \"%s\" longer than %zu bytes",
                   name, size - 1);
        return GW_ERROR;
    }

    for (i = 0; i < n; i++) {
        if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f) {
            gw_jwt_err(err, errlen,
                       "authorized key: \"%s\" has a control character",
                       name);
            return GW_ERROR;
        }
    }

    memcpy(dst, s, n + 1);

    return GW_OK;
}


static gw_rc_t
gw_jwt_load_key(const char *pem, EVP_PKEY **out, char *err, size_t errlen)
{
    int          bits;
    BIO         *bio;
    gw_rc_t      rc;
    EVP_PKEY    *pkey;
    const char  *begin;

    *out = NULL;

    begin = strstr(pem, GW_JWT_PEM_BEGIN);

    if (begin == NULL) {
        gw_jwt_err(err, errlen, "private_key: no PEM armour");
        return GW_ERROR;
    }

    ERR_set_mark();

    rc = GW_ERROR;
    bio = BIO_new_mem_buf(begin, -1);
    pkey = NULL;

    if (bio == NULL) {
        gw_jwt_err(err, errlen, "private_key: out of memory");
        goto done;
    }

    pkey = PEM_read_bio_PrivateKey(bio, NULL, gw_jwt_no_passphrase, NULL);

    if (pkey == NULL) {
        gw_jwt_err(err, errlen,
                   "private_key: not an unencrypted PEM private key");
        goto done;
    }

    if (!EVP_PKEY_is_a(pkey, "RSA")) {
        gw_jwt_err(err, errlen, "private_key: not an RSA key");
        goto done;
    }

    bits = EVP_PKEY_get_bits(pkey);

    if (bits < GW_JWT_RSA_MIN_BITS) {
        gw_jwt_err(err, errlen,
                   "private_key: RSA key of %d bits, at least %d needed",
                   bits, GW_JWT_RSA_MIN_BITS);
        goto done;
    }

    *out = pkey;
    pkey = NULL;
    rc = GW_OK;

done:

    EVP_PKEY_free(pkey);
    BIO_free(bio);
    ERR_pop_to_mark();

    return rc;
}


/* never prompt on a terminal for an encrypted key: refuse it */

static int
gw_jwt_no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void) buf;
    (void) size;
    (void) rwflag;
    (void) u;

    return -1;
}


/*
 * ttl is 1..3600 seconds; iat is unix seconds, not negative.  On GW_ERROR
 * (bad input, out too small, a signing failure) out is "".
 */

gw_rc_t
gw_jwt_ps256(const gw_yandex_key_t *key, const char *aud, int64_t iat,
    int ttl, char *out, size_t size)
{
    int             n;
    char           *header, *claims, *p;
    size_t          hlen, clen, slen, siglen, need;
    gw_rc_t         rc;
    unsigned char  *sig;

    if (out == NULL || size == 0) {
        return GW_ERROR;
    }

    out[0] = '\0';

    if (key == NULL || key->pkey == NULL || key->key_id[0] == '\0'
        || key->service_account_id[0] == '\0' || aud == NULL
        || aud[0] == '\0' || ttl <= 0 || ttl > GW_JWT_TTL_MAX || iat < 0
        || iat > INT64_MAX - ttl)
    {
        return GW_ERROR;
    }

    ERR_set_mark();

    rc = GW_ERROR;
    sig = NULL;
    header = gw_jwt_header(key);
    claims = gw_jwt_claims(key, aud, iat, ttl);

    if (header == NULL || claims == NULL) {
        goto done;
    }

    n = EVP_PKEY_get_size(key->pkey);
    if (n <= 0) {
        goto done;
    }

    slen = (size_t) n;
    hlen = strlen(header);
    clen = strlen(claims);

    need = gw_jwt_b64_len(hlen) + 1 + gw_jwt_b64_len(clen) + 1
           + gw_jwt_b64_len(slen) + 1;

    if (need > size) {
        goto done;
    }

    sig = gw_malloc(slen);
    if (sig == NULL) {
        goto done;
    }

    p = out;
    p += gw_base64url((const unsigned char *) header, hlen, p);
    *p++ = '.';
    p += gw_base64url((const unsigned char *) claims, clen, p);

    siglen = slen;

    if (gw_jwt_sign(key->pkey, out, (size_t) (p - out), sig, &siglen)
        != GW_OK
        || siglen > slen)
    {
        goto done;
    }

    *p++ = '.';
    gw_base64url(sig, siglen, p);

    rc = GW_OK;

done:

    if (rc != GW_OK) {
        out[0] = '\0';
    }

    ERR_pop_to_mark();

    gw_free(sig);
    cJSON_free(header);
    cJSON_free(claims);

    return rc;
}


static char *
gw_jwt_header(const gw_yandex_key_t *key)
{
    char   *s;
    cJSON  *h;

    s = NULL;
    h = cJSON_CreateObject();

    if (h != NULL
        && cJSON_AddStringToObject(h, "typ", "JWT") != NULL
        && cJSON_AddStringToObject(h, "alg", "PS256") != NULL
        && cJSON_AddStringToObject(h, "kid", key->key_id) != NULL)
    {
        s = cJSON_PrintUnformatted(h);
    }

    gw_json_delete(h);

    return s;
}


/* the times are raw integers: a double would round past 2^53 */

static char *
gw_jwt_claims(const gw_yandex_key_t *key, const char *aud, int64_t iat,
    int ttl)
{
    char   *s;
    cJSON  *c;
    char    iat_s[24], exp_s[24];

    snprintf(iat_s, sizeof(iat_s), "%" PRId64, iat);
    snprintf(exp_s, sizeof(exp_s), "%" PRId64, iat + ttl);

    s = NULL;
    c = cJSON_CreateObject();

    if (c != NULL
        && cJSON_AddStringToObject(c, "iss", key->service_account_id)
           != NULL
        && cJSON_AddStringToObject(c, "aud", aud) != NULL
        && cJSON_AddRawToObject(c, "iat", iat_s) != NULL
        && cJSON_AddRawToObject(c, "exp", exp_s) != NULL)
    {
        s = cJSON_PrintUnformatted(c);
    }

    gw_json_delete(c);

    return s;
}


/* RSASSA-PSS, SHA-256, MGF1 with SHA-256, salt length = 32 */

static gw_rc_t
gw_jwt_sign(EVP_PKEY *pkey, const char *tbs, size_t len,
    unsigned char *sig, size_t *siglen)
{
    gw_rc_t        rc;
    EVP_MD_CTX    *md;
    EVP_PKEY_CTX  *pctx;

    md = EVP_MD_CTX_new();
    if (md == NULL) {
        return GW_ERROR;
    }

    rc = GW_ERROR;
    pctx = NULL;

    /* pctx belongs to md and is freed with it */

    if (EVP_DigestSignInit(md, &pctx, EVP_sha256(), NULL, pkey) == 1
        && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0
        && EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) > 0
        && EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST)
           > 0
        && EVP_DigestSign(md, sig, siglen, (const unsigned char *) tbs, len)
           == 1)
    {
        rc = GW_OK;
    }

    EVP_MD_CTX_free(md);

    return rc;
}
