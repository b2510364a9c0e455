
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

typedef struct {
    const char  *name;     /* as sent, any case */
    const char  *value;
} gw_aws_header_t;

/*
 * AWS Signature Version 4, header form: writes the Authorization value
 * "AWS4-HMAC-SHA256 Credential=<ak>/<yyyymmdd>/<region>/<service>/
 * aws4_request, SignedHeaders=<h1;h2>, Signature=<64 hex>" into out (size
 * bytes).  amz_date is "yyyymmddThhmmssZ" (the X-Amz-Date header's value,
 * which the caller also sends and lists in headers); path is the URI path
 * as sent (already percent-encoded by the caller); query is the raw query
 * string ("" or NULL for none), canonicalised (split on '&', each key and
 * value percent-decoded then re-encoded with AWS's UriEncode, sorted by
 * key then value); headers are the headers signed (at least one): names
 * lower-cased, values trimmed and inner runs of white space collapsed,
 * sorted, duplicates of a name joined with ',' in the order given.
 * payload_hash is the hex SHA-256 of the body, or "UNSIGNED-PAYLOAD".
 * s3 != 0: the path is signed un-normalised, as S3 does (a path spelled
 * otherwise than UriEncode would is brought to that form: "$" as "%24");
 * s3 == 0: the path is normalised as AWS's test suite expects (dot
 * segments removed, '//' collapsed) and every byte but '/' URI-encoded
 * once more, to the extent that suite checks (the gateway uses s3 only).
 * Returns GW_OK, or GW_ERROR (out "") when out is too small or an input
 * is malformed.
 */
gw_rc_t gw_sign_aws_v4(const char *method, const char *path,
    const char *query, const gw_aws_header_t *headers, size_t nheaders,
    const char *payload_hash, const char *access_key, const char *secret_key,
    const char *region, const char *service, const char *amz_date, int s3,
    char *out, size_t size);

/* "yyyymmddThhmmssZ" for a unix time in seconds; out needs 17 bytes */
void gw_aws_date(int64_t unix_seconds, char *out);

/* hex SHA-256 of data; out needs 65 bytes (for payload_hash) */
void gw_aws_payload_hash(const void *data, size_t len, char *out);

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
