
/*
 * Hashing, HMAC, hex and base64 helpers over OpenSSL 3 one-shot calls.
 */


#include <limits.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <gw_core.h>


static size_t gw_base64_encode(const unsigned char *in, size_t len,
    char *out, const char *alphabet, int pad);
static int gw_base64url_value(unsigned char c);
static void gw_crypto_poison(unsigned char *out, size_t len);


static const char  gw_b64_std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char  gw_b64_url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";


void
gw_hmac_sha256(const void *key, size_t key_len, const void *data,
    size_t len, unsigned char out[32])
{
    unsigned int  out_len;

    /* OpenSSL treats a NULL key as "reuse the previous key": never pass one */
    if (key == NULL) {
        key = "";
        key_len = 0;
    }

    if (data == NULL) {
        data = "";
        len = 0;
    }

    out_len = 0;

    if (key_len > INT_MAX
        || HMAC(EVP_sha256(), key, (int) key_len, data, len, out, &out_len)
           == NULL
        || out_len != 32)
    {
        gw_crypto_poison(out, 32);
    }
}


void
gw_sha256(const void *data, size_t len, unsigned char out[32])
{
    unsigned int  out_len;

    if (data == NULL) {
        data = "";
        len = 0;
    }

    out_len = 0;

    if (EVP_Digest(data, len, out, &out_len, EVP_sha256(), NULL) != 1
        || out_len != 32)
    {
        gw_crypto_poison(out, 32);
    }
}


/*
 * The void interfaces cannot report a failure (only an allocation failure
 * inside OpenSSL can cause one).  A predictable output would let a forged
 * MAC match, so a failed digest becomes random bytes that match nothing.
 */

static void
gw_crypto_poison(unsigned char *out, size_t len)
{
    if (RAND_bytes(out, (int) len) != 1) {
        memset(out, 0xa5, len);
    }
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


static int
gw_base64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }

    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }

    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }

    if (c == '-') {
        return 62;
    }

    if (c == '_') {
        return 63;
    }

    return -1;
}


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
        v = gw_base64url_value((unsigned char) in[i]);
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
