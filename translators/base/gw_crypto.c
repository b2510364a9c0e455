
/*
 * Hashing, HMAC, hex and base64 helpers over OpenSSL.
 */


/* SHA256_Init() and friends: see gw_hmac_sha256() for why */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <limits.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <base/gw_base.h>


static size_t gw_base64_encode(const unsigned char *in, size_t len,
    char *out, const char *alphabet, int pad);


static const char  gw_b64_std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char  gw_b64_url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";


/*
 * HMAC-SHA-256 over OpenSSL's low-level SHA-256: the gateway signs with a
 * handful of keys that never change (the job id secret, each provider's
 * vendor secret) or change once a second (bce-auth-v1's signing key).
 * OpenSSL 3's one-shot HMAC() fetches the digest, allocates a context and
 * hashes the padded key again on every call, about 20,000 instructions;
 * here the hashed ipad/opad states of recent keys are kept, so an HMAC
 * of a short message costs its compressions only.  The EVP interface has
 * no allocation-free way to copy a keyed state.  Like the rest of the
 * translators this is for one thread: nginx's event loop.
 */

#define GW_HMAC_KEYS   8
#define GW_HMAC_BLOCK  64

typedef struct {
    size_t          key_len;             /* 0: empty slot */
    unsigned char   key[GW_HMAC_BLOCK];  /* a longer key is not cached */
    SHA256_CTX      inner;
    SHA256_CTX      outer;
} gw_hmac_key_t;

static gw_hmac_key_t  gw_hmac_keys[GW_HMAC_KEYS];
static unsigned       gw_hmac_next;


static const gw_hmac_key_t *
gw_hmac_key(const unsigned char *key, size_t key_len, gw_hmac_key_t *tmp)
{
    size_t          i;
    gw_hmac_key_t  *k;
    unsigned char   pad[GW_HMAC_BLOCK];
    unsigned char   hashed[32];

    if (key_len > 0 && key_len <= GW_HMAC_BLOCK) {
        for (i = 0; i < GW_HMAC_KEYS; i++) {
            k = &gw_hmac_keys[i];

            if (k->key_len == key_len && memcmp(k->key, key, key_len) == 0) {
                return k;
            }
        }

        k = &gw_hmac_keys[gw_hmac_next++ % GW_HMAC_KEYS];

    } else {
        k = tmp;
    }

    /* RFC 2104: a key longer than the block is hashed first */
    if (key_len > GW_HMAC_BLOCK) {
        gw_sha256(key, key_len, hashed);
        key = hashed;
        key_len = 32;
        k->key_len = 0;

    } else {
        memcpy(k->key, key, key_len);
        k->key_len = key_len;
    }

    memset(pad, 0x36, sizeof(pad));
    for (i = 0; i < key_len; i++) {
        pad[i] ^= key[i];
    }

    SHA256_Init(&k->inner);
    SHA256_Update(&k->inner, pad, sizeof(pad));

    memset(pad, 0x5c, sizeof(pad));
    for (i = 0; i < key_len; i++) {
        pad[i] ^= key[i];
    }

    SHA256_Init(&k->outer);
    SHA256_Update(&k->outer, pad, sizeof(pad));

    OPENSSL_cleanse(pad, sizeof(pad));
    OPENSSL_cleanse(hashed, sizeof(hashed));

    return k;
}


void
gw_hmac_sha256(const void *key, size_t key_len, const void *data,
    size_t len, unsigned char out[32])
{
    SHA256_CTX            ctx;
    gw_hmac_key_t         tmp;
    unsigned char         inner[32];
    const gw_hmac_key_t  *k;

    if (key == NULL) {
        key = "";
        key_len = 0;
    }

    if (data == NULL) {
        data = "";
        len = 0;
    }

    k = gw_hmac_key(key, key_len, &tmp);

    ctx = k->inner;
    SHA256_Update(&ctx, data, len);
    SHA256_Final(inner, &ctx);

    ctx = k->outer;
    SHA256_Update(&ctx, inner, sizeof(inner));
    SHA256_Final(out, &ctx);

    OPENSSL_cleanse(&ctx, sizeof(ctx));
    OPENSSL_cleanse(inner, sizeof(inner));

    if (k == &tmp) {
        OPENSSL_cleanse(&tmp, sizeof(tmp));
    }
}


void
gw_sha256(const void *data, size_t len, unsigned char out[32])
{
    SHA256_CTX  ctx;

    if (data == NULL) {
        data = "";
        len = 0;
    }

    /* SHA256() goes through EVP_Q_digest(): a fetch per call */
    SHA256_Init(&ctx);
    SHA256_Update(&ctx, data, len);
    SHA256_Final(out, &ctx);
}


int
gw_random_bytes(unsigned char *out, size_t len)
{
    return len <= INT_MAX && RAND_bytes(out, (int) len) == 1 ? 0 : -1;
}


void
gw_hex(const unsigned char *in, size_t len, char *out)
{
    size_t             i;
    static const char  hex[] = "0123456789abcdef";

    for (i = 0; i < len; i++) {
        out[2 * i] = hex[in[i] >> 4];
        out[2 * i + 1] = hex[in[i] & 0x0f];
    }

    out[2 * len] = '\0';
}


size_t
gw_base64(const unsigned char *in, size_t len, char *out)
{
    return gw_base64_encode(in, len, out, gw_b64_std, 1);
}


size_t
gw_base64url(const unsigned char *in, size_t len, char *out)
{
    return gw_base64_encode(in, len, out, gw_b64_url, 0);
}


static size_t
gw_base64_encode(const unsigned char *in, size_t len, char *out,
    const char *alphabet, int pad)
{
    char    *p;
    size_t   i;

    p = out;

    for (i = 0; i + 2 < len; i += 3) {
        *p++ = alphabet[in[i] >> 2];
        *p++ = alphabet[((in[i] & 0x03) << 4) | (in[i + 1] >> 4)];
        *p++ = alphabet[((in[i + 1] & 0x0f) << 2) | (in[i + 2] >> 6)];
        *p++ = alphabet[in[i + 2] & 0x3f];
    }

    if (len - i == 1) {
        *p++ = alphabet[in[i] >> 2];
        *p++ = alphabet[(in[i] & 0x03) << 4];

        if (pad) {
            *p++ = '=';
            *p++ = '=';
        }

    } else if (len - i == 2) {
        *p++ = alphabet[in[i] >> 2];
        *p++ = alphabet[((in[i] & 0x03) << 4) | (in[i + 1] >> 4)];
        *p++ = alphabet[(in[i + 1] & 0x0f) << 2];

        if (pad) {
            *p++ = '=';
        }
    }

    *p = '\0';

    return (size_t) (p - out);
}


/* the value of each base64url character, -1 for any other byte */

static const signed char  gw_base64url_values[256] = {
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62, -1, -1,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -1, -1, -1,
    -1,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14,
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1, 63,
    -1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1
};


/*
 * Only the canonical encoding is accepted: the unused low bits of the last
 * character must be zero.  Otherwise two ids would decode to the same bytes
 * and a one-character change of an id could pass its MAC check.
 */

long
gw_base64url_decode(const char *in, size_t len, unsigned char *out)
{
    int            v;
    size_t         i, n;
    unsigned int   acc, bits;

    if (len % 4 == 1 || len > (size_t) LONG_MAX / 3) {
        return -1;
    }

    acc = 0;
    bits = 0;
    n = 0;

    for (i = 0; i < len; i++) {
        v = gw_base64url_values[(unsigned char) in[i]];
        if (v < 0) {
            return -1;
        }

        acc = ((acc << 6) | (unsigned int) v) & 0xffffff;
        bits += 6;

        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char) (acc >> bits);
        }
    }

    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) {
        return -1;
    }

    return (long) n;
}


int
gw_memeq_ct(const void *a, const void *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}
