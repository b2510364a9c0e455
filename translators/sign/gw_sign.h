
/*
 * The signing layer: each vendor's request signature or token, as pure
 * functions of their inputs (time and secrets passed in).  It uses base.
 */


#ifndef _GW_SIGN_H_INCLUDED_
#define _GW_SIGN_H_INCLUDED_


#include <base/gw_base.h>


/* ---- signers ------------------------------------------------------- */

/*
 * NCP API Gateway signature v2: base64(HMAC-SHA256(secret,
 * METHOD " " URI-with-query "\n" timestamp "\n" access_key)).
 * out needs 45 bytes.
 */
void gw_sign_ncp_v2(const char *method, const char *uri,
    const char *timestamp, const char *access_key, const char *secret_key,
    char *out);

typedef struct {
    const char  *name;     /* as sent, any case */
    const char  *value;
} gw_bce_header_t;

/*
 * bce-auth-v1: writes the Authorization value into out (size bytes).
 * timestamp is UTC "yyyy-mm-ddThh:mm:ssZ"; query is the raw query string
 * ("" or NULL for none; "a=1&b=2", each key and value percent-decoded then
 * UriEncoded for the canonical form); the headers given are the ones
 * signed (signedHeaders lists them, lower-cased, sorted, ';'-joined;
 * headers with empty values are skipped). Returns GW_OK, or GW_ERROR when
 * out is too small or an input is malformed.
 */
gw_rc_t gw_sign_bce_v1(const char *method, const char *path,
    const char *query, const gw_bce_header_t *headers, size_t nheaders,
    const char *access_key, const char *secret_key, const char *timestamp,
    int expiration, char *out, size_t size);

/* "yyyy-mm-ddThh:mm:ssZ" for a unix time in seconds; out needs 21 bytes */
void gw_bce_timestamp(int64_t unix_seconds, char *out);

/* a Yandex service-account authorized key, parsed from its JSON file */
typedef struct {
    char        key_id[128];             /* "id" */
    char        service_account_id[128]; /* "service_account_id" */
    void       *pkey;                    /* EVP_PKEY *, from "private_key" */
} gw_yandex_key_t;

/* parses the authorized key JSON; err names what is wrong, never the key */
gw_rc_t gw_yandex_key_parse(const char *json, size_t len,
    gw_yandex_key_t *key, char *err, size_t errlen);
void gw_yandex_key_free(gw_yandex_key_t *key);

/*
 * A JWT for Yandex's IAM token exchange: header {"typ":"JWT","alg":"PS256",
 * "kid":key_id}, claims {"iss":service_account_id,"aud":aud,"iat":iat,
 * "exp":iat+ttl}, signed RSASSA-PSS SHA-256 with salt length = digest
 * length; base64url without padding.  0 < ttl <= 3600, iat >= 0.  On
 * GW_ERROR (bad input, out too small) out is "".
 */
gw_rc_t gw_jwt_ps256(const gw_yandex_key_t *key, const char *aud,
    int64_t iat, int ttl, char *out, size_t size);



#endif /* _GW_SIGN_H_INCLUDED_ */
