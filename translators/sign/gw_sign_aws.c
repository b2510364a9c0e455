
/*
 * AWS Signature Version 4, header form.
 *
 * canonicalRequest = METHOD "\n" canonicalURI "\n" canonicalQuery "\n"
 *                    canonicalHeaders "\n" signedHeaders "\n" payloadHash
 * scope            = yyyymmdd "/" region "/" service "/aws4_request"
 * stringToSign     = "AWS4-HMAC-SHA256\n" amzDate "\n" scope "\n"
 *                    hex(SHA-256(canonicalRequest))
 * signingKey       = HMAC(HMAC(HMAC(HMAC("AWS4" sk, yyyymmdd), region),
 *                    service), "aws4_request")
 * Authorization    = "AWS4-HMAC-SHA256 Credential=" ak "/" scope
 *                    ", SignedHeaders=" signedHeaders
 *                    ", Signature=" hex(HMAC(signingKey, stringToSign))
 *
 * Checked against AWS's SigV4 test suite (as shipped in botocore) and the
 * S3 worked examples of sig-v4-header-based-auth.html (test_sign_aws.c).
 * As in gw_sign_bce.c, every work buffer is sized from the inputs and
 * allocated; nothing is truncated silently.
 */


#include <stdlib.h>
#include <string.h>

#include <sign/gw_sign.h>


#define GW_AWS_ALGORITHM      "AWS4-HMAC-SHA256"
#define GW_AWS_ALGORITHM_LEN  (sizeof(GW_AWS_ALGORITHM) - 1)
#define GW_AWS_TERMINATOR     "aws4_request"
#define GW_AWS_CREDENTIAL     " Credential="
#define GW_AWS_SIGNED         ", SignedHeaders="
#define GW_AWS_SIGNATURE      ", Signature="
#define GW_AWS_DATE_LEN       16
#define GW_AWS_DAY_LEN        8
#define GW_AWS_HEX_LEN        64

/* 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z */
#define GW_AWS_TIME_MIN       (-62167219200LL)
#define GW_AWS_TIME_MAX       253402300799LL

#define gw_aws_lit_len(s)     (sizeof(s) - 1)


/* one query parameter, UriEncoded "key=value" in the work storage */
typedef struct {
    const char    *data;
    size_t         key_len;     /* the key: data[0 .. key_len) */
    size_t         len;         /* the whole "key=value" */
} gw_aws_param_t;

/* one signed header: its name and value, trimmed, pointing into the input */
typedef struct {
    const char    *name;
    size_t         name_len;
    const char    *value;
    size_t         value_len;
    size_t         index;       /* the order given, kept among duplicates */
} gw_aws_hdr_t;


static gw_rc_t gw_aws_check(const char *method, const char *path,
    const char *payload_hash, const char *access_key, const char *secret_key,
    const char *region, const char *service, const char *amz_date);
static int gw_aws_payload_hash_ok(const char *s);
static int gw_aws_scope_part(const char *s);
static int gw_aws_tchar(unsigned char c);
static int gw_aws_unreserved(unsigned char c);
static int gw_aws_space(unsigned char c);
static int gw_aws_hexval(unsigned char c);
static unsigned char gw_aws_lower(unsigned char c);
static gw_rc_t gw_aws_reserve(size_t *total, size_t len, size_t mul,
    size_t add);
static char *gw_aws_encode(char *dst, unsigned char c);
static char *gw_aws_append(char *dst, const char *s, size_t len);
static gw_rc_t gw_aws_uri_s3(char **dst, const char *path);
static char *gw_aws_uri_normalised(char *dst, char *work, const char *path);
static gw_rc_t gw_aws_decode_encode(char **dst, const char *s, size_t len);
static gw_rc_t gw_aws_query(const char *query, char **pos,
    gw_aws_param_t *params, size_t *nparams);
static int gw_aws_param_cmp(const void *a, const void *b);
static gw_rc_t gw_aws_headers(const gw_aws_header_t *headers,
    size_t nheaders, gw_aws_hdr_t *hdrs);
static int gw_aws_name_cmp(const gw_aws_hdr_t *a, const gw_aws_hdr_t *b);
static int gw_aws_hdr_cmp(const void *a, const void *b);
static char *gw_aws_value(char *dst, const char *v, size_t len);
static char *gw_aws_digits(char *p, int64_t v, int n);


/*
 * The path is the URI path as sent, already percent-encoded.
 *
 * s3 != 0: S3 signs the path un-normalised ("//" and dot segments are
 * part of the key) and URI-encoded once.  A path the caller encoded
 * with UriEncode, as it should, is used as is; any other spelling of the
 * same path is brought to that form (escapes decoded and the bytes
 * UriEncoded again, '/' kept, "%2F" kept escaped),
 * so that "/test$file.text" and "/test%24file.text" both sign as
 * "/test%24file.text", which is what S3 computes on its side (the PUT
 * example of sig-v4-header-based-auth.html sends the former and signs the
 * latter).  A bad '%' escape is malformed.
 *
 * s3 == 0: the other services sign the path normalised and encoded once
 * more, as the test suite (and botocore) does it: dot segments removed,
 * empty segments dropped (a trailing '/' kept), then every byte but
 * '/' and the unreserved ones %XX-encoded, '%' included.  Only what the
 * test suite checks is claimed here; the gateway itself signs S3 only.
 *
 * The query is the raw query string: split on '&' (empty parameters are
 * ignored), each key and value percent-decoded ('+' is a literal plus, as
 * in RFC 3986) and UriEncoded again, "key" alone is "key=", sorted by key
 * then value, byte order.
 *
 * Headers: names are trimmed, must be HTTP tokens and are lower-cased;
 * values are trimmed and each inner run of white space (folded lines
 * included) becomes one space; the values of a name given more than once
 * are joined with ',' in the order given.  An empty value is signed as
 * empty (AWS signs "name:").  At least one header is needed: an empty
 * SignedHeaders is not a valid Authorization.
 *
 * The method is signed as given (methods are case-sensitive).  Malformed:
 * a method that is not a token, a path not starting with '/', an access
 * key, region or service that is empty or holds anything but visible
 * ASCII other than '/' and ',', an amz_date not "yyyymmddThhmmssZ", a
 * payload_hash that is neither 64 lower-case hex digits nor a constant
 * such as "UNSIGNED-PAYLOAD" (upper-case letters, digits and a '-').  On any
 * error out is "".
 */

gw_rc_t
gw_sign_aws_v4(const char *method, const char *path, const char *query,
    const gw_aws_header_t *headers, size_t nheaders,
    const char *payload_hash, const char *access_key, const char *secret_key,
    const char *region, const char *service, const char *amz_date, int s3,
    char *out, size_t size)
{
    char            *storage, *creq, *sts, *secret, *p, *pos, *scope;
    char            *signed_hdrs;
    size_t           i, j, plen, qlen, nq, nparams, cap, creq_cap, creq_len;
    size_t           mlen, klen, rlen, slen, aklen, phlen, sh_len, sts_len;
    size_t           scope_len, need, secret_len;
    gw_rc_t          rc;
    gw_aws_hdr_t    *hdrs;
    gw_aws_param_t  *params;
    unsigned char    k1[32], k2[32], mac[32];

    if (out == NULL || size == 0) {
        return GW_ERROR;
    }

    out[0] = '\0';

    if (path == NULL || path[0] == '\0') {
        path = "/";
    }

    if (query == NULL) {
        query = "";
    }

    if (headers == NULL || nheaders == 0
        || gw_aws_check(method, path, payload_hash, access_key, secret_key,
                        region, service, amz_date)
           != GW_OK)
    {
        return GW_ERROR;
    }

    mlen = strlen(method);
    plen = strlen(path);
    qlen = strlen(query);
    phlen = strlen(payload_hash);
    aklen = strlen(access_key);
    rlen = strlen(region);
    slen = strlen(service);

    nq = 1;

    for (i = 0; i < qlen; i++) {
        if (query[i] == '&') {
            nq++;
        }
    }

    /*
     * The storage: the encoded query parameters (a byte, raw or "%XX",
     * becomes at most 3; "key" alone gains a '=') and the normalised path
     * (no longer than the path, or "/").  The canonical request: method,
     * path encoded (3 a byte), the parameters joined ('&' each), the
     * header lines (name ':' value, the values of one name joined with
     * ','), the names again (';' each), the payload hash, 5 newlines and a
     * NUL.
     */

    cap = 0;
    creq_cap = 0;

    if (gw_aws_reserve(&cap, qlen, 3, 0) != GW_OK
        || gw_aws_reserve(&cap, nq, 1, 0) != GW_OK
        || gw_aws_reserve(&cap, plen, 1, 2) != GW_OK
        || gw_aws_reserve(&creq_cap, mlen, 1, 6) != GW_OK
        || gw_aws_reserve(&creq_cap, plen, 3, 3) != GW_OK
        || gw_aws_reserve(&creq_cap, qlen, 3, 0) != GW_OK
        || gw_aws_reserve(&creq_cap, nq, 2, 0) != GW_OK
        || gw_aws_reserve(&creq_cap, phlen, 1, 0) != GW_OK)
    {
        return GW_ERROR;
    }

    for (i = 0; i < nheaders; i++) {
        if (headers[i].name == NULL || headers[i].value == NULL) {
            return GW_ERROR;
        }

        if (gw_aws_reserve(&creq_cap, strlen(headers[i].name), 2, 3)
               != GW_OK
            || gw_aws_reserve(&creq_cap, strlen(headers[i].value), 1, 0)
               != GW_OK)
        {
            return GW_ERROR;
        }
    }

    if (nq > SIZE_MAX / sizeof(gw_aws_param_t)
        || nheaders > SIZE_MAX / sizeof(gw_aws_hdr_t))
    {
        return GW_ERROR;
    }

    params = gw_malloc(nq * sizeof(gw_aws_param_t));
    hdrs = gw_malloc(nheaders * sizeof(gw_aws_hdr_t));
    storage = gw_malloc(cap);
    creq = gw_malloc(creq_cap);
    sts = NULL;
    secret = NULL;
    secret_len = 0;
    rc = GW_ERROR;

    if (params == NULL || hdrs == NULL || storage == NULL || creq == NULL) {
        goto done;
    }

    pos = storage;
    nparams = 0;

    if (gw_aws_query(query, &pos, params, &nparams) != GW_OK
        || gw_aws_headers(headers, nheaders, hdrs) != GW_OK)
    {
        goto done;
    }

    /* the canonical request */

    p = gw_aws_append(creq, method, mlen);
    *p++ = '\n';

    if (s3) {
        if (gw_aws_uri_s3(&p, path) != GW_OK) {
            goto done;
        }

    } else {
        p = gw_aws_uri_normalised(p, pos, path);
    }

    *p++ = '\n';

    for (i = 0; i < nparams; i++) {
        if (i > 0) {
            *p++ = '&';
        }

        p = gw_aws_append(p, params[i].data, params[i].len);
    }

    *p++ = '\n';

    for (i = 0; i < nheaders; i = j) {
        klen = hdrs[i].name_len;

        for (j = 0; j < klen; j++) {
            *p++ = (char) gw_aws_lower((unsigned char) hdrs[i].name[j]);
        }

        *p++ = ':';
        p = gw_aws_value(p, hdrs[i].value, hdrs[i].value_len);

        for (j = i + 1;
             j < nheaders && gw_aws_name_cmp(&hdrs[i], &hdrs[j]) == 0;
             j++)
        {
            *p++ = ',';
            p = gw_aws_value(p, hdrs[j].value, hdrs[j].value_len);
        }

        *p++ = '\n';
    }

    *p++ = '\n';
    signed_hdrs = p;

    for (i = 0; i < nheaders; i++) {
        if (i > 0) {
            if (gw_aws_name_cmp(&hdrs[i - 1], &hdrs[i]) == 0) {
                continue;
            }

            *p++ = ';';
        }

        for (j = 0; j < hdrs[i].name_len; j++) {
            *p++ = (char) gw_aws_lower((unsigned char) hdrs[i].name[j]);
        }
    }

    sh_len = (size_t) (p - signed_hdrs);
    *p++ = '\n';
    p = gw_aws_append(p, payload_hash, phlen);
    *p = '\0';

    creq_len = (size_t) (p - creq);

    /* the output's size, before any key is derived */

    scope_len = 0;
    need = 0;

    if (gw_aws_reserve(&scope_len, rlen, 1,
                       GW_AWS_DAY_LEN + 1 + 1 + 1
                       + gw_aws_lit_len(GW_AWS_TERMINATOR))
           != GW_OK
        || gw_aws_reserve(&scope_len, slen, 1, 0) != GW_OK
        || gw_aws_reserve(&need, aklen, 1,
                          GW_AWS_ALGORITHM_LEN
                          + gw_aws_lit_len(GW_AWS_CREDENTIAL) + 1)
           != GW_OK
        || gw_aws_reserve(&need, scope_len, 1,
                          gw_aws_lit_len(GW_AWS_SIGNED)
                          + gw_aws_lit_len(GW_AWS_SIGNATURE)
                          + GW_AWS_HEX_LEN + 1)
           != GW_OK
        || gw_aws_reserve(&need, sh_len, 1, 0) != GW_OK
        || need > size)
    {
        goto done;
    }

    /* the string to sign, its scope written once and copied to out */

    sts_len = 0;

    if (gw_aws_reserve(&sts_len, scope_len, 1,
                       GW_AWS_ALGORITHM_LEN + 1 + GW_AWS_DATE_LEN + 1 + 1
                       + GW_AWS_HEX_LEN + 1)
        != GW_OK)
    {
        goto done;
    }

    sts = gw_malloc(sts_len);
    if (sts == NULL) {
        goto done;
    }

    gw_sha256(creq, creq_len, mac);

    p = gw_aws_append(sts, GW_AWS_ALGORITHM "\n", GW_AWS_ALGORITHM_LEN + 1);
    p = gw_aws_append(p, amz_date, GW_AWS_DATE_LEN);
    *p++ = '\n';
    scope = p;
    p = gw_aws_append(p, amz_date, GW_AWS_DAY_LEN);
    *p++ = '/';
    p = gw_aws_append(p, region, rlen);
    *p++ = '/';
    p = gw_aws_append(p, service, slen);
    *p++ = '/';
    p = gw_aws_append(p, GW_AWS_TERMINATOR,
                      gw_aws_lit_len(GW_AWS_TERMINATOR));
    *p++ = '\n';
    gw_hex(mac, sizeof(mac), p);
    p += GW_AWS_HEX_LEN;

    sts_len = (size_t) (p - sts);

    /* the signing key: "AWS4" sk, then the scope's parts in turn */

    secret_len = strlen(secret_key);

    if (secret_len > SIZE_MAX - 5) {
        goto done;
    }

    secret = gw_malloc(secret_len + 5);
    if (secret == NULL) {
        goto done;
    }

    memcpy(secret, "AWS4", 4);
    memcpy(secret + 4, secret_key, secret_len + 1);
    secret_len += 4;

    gw_hmac_sha256(secret, secret_len, amz_date, GW_AWS_DAY_LEN, k1);
    gw_hmac_sha256(k1, sizeof(k1), region, rlen, k2);
    gw_hmac_sha256(k2, sizeof(k2), service, slen, k1);
    gw_hmac_sha256(k1, sizeof(k1), GW_AWS_TERMINATOR,
                   gw_aws_lit_len(GW_AWS_TERMINATOR), k2);
    gw_hmac_sha256(k2, sizeof(k2), sts, sts_len, mac);

    /* the Authorization value */

    p = gw_aws_append(out, GW_AWS_ALGORITHM GW_AWS_CREDENTIAL,
                      GW_AWS_ALGORITHM_LEN
                      + gw_aws_lit_len(GW_AWS_CREDENTIAL));
    p = gw_aws_append(p, access_key, aklen);
    *p++ = '/';
    p = gw_aws_append(p, scope, scope_len);
    p = gw_aws_append(p, GW_AWS_SIGNED, gw_aws_lit_len(GW_AWS_SIGNED));
    p = gw_aws_append(p, signed_hdrs, sh_len);
    p = gw_aws_append(p, GW_AWS_SIGNATURE, gw_aws_lit_len(GW_AWS_SIGNATURE));
    gw_hex(mac, sizeof(mac), p);

    rc = GW_OK;

done:

    if (rc != GW_OK) {
        out[0] = '\0';
    }

    if (secret != NULL) {
        memset(secret, 0, secret_len);
        gw_free(secret);
    }

    memset(k1, 0, sizeof(k1));
    memset(k2, 0, sizeof(k2));
    memset(mac, 0, sizeof(mac));

    gw_free(sts);
    gw_free(creq);
    gw_free(storage);
    gw_free(hdrs);
    gw_free(params);

    return rc;
}


void
gw_aws_date(int64_t unix_seconds, char *out)
{
    char     *p;
    int64_t   days, secs, z, era, doe, yoe, doy, mp, y, m, d;

    if (unix_seconds < GW_AWS_TIME_MIN) {
        unix_seconds = GW_AWS_TIME_MIN;

    } else if (unix_seconds > GW_AWS_TIME_MAX) {
        unix_seconds = GW_AWS_TIME_MAX;
    }

    days = unix_seconds / 86400;
    secs = unix_seconds % 86400;

    if (secs < 0) {
        secs += 86400;
        days--;
    }

    /* civil from days, H. Hinnant's algorithm */

    z = days + 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y = yoe + era * 400 + (m <= 2);

    p = gw_aws_digits(out, y, 4);
    p = gw_aws_digits(p, m, 2);
    p = gw_aws_digits(p, d, 2);
    *p++ = 'T';
    p = gw_aws_digits(p, secs / 3600, 2);
    p = gw_aws_digits(p, secs / 60 % 60, 2);
    p = gw_aws_digits(p, secs % 60, 2);
    *p++ = 'Z';
    *p = '\0';
}


/* data NULL hashes the empty body, whatever len says */

void
gw_aws_payload_hash(const void *data, size_t len, char *out)
{
    unsigned char  md[32];

    gw_sha256(data, data != NULL ? len : 0, md);
    gw_hex(md, sizeof(md), out);
}


static gw_rc_t
gw_aws_check(const char *method, const char *path, const char *payload_hash,
    const char *access_key, const char *secret_key, const char *region,
    const char *service, const char *amz_date)
{
    size_t              i;
    static const char   form[] = "ddddddddTddddddZ";

    if (method == NULL || method[0] == '\0' || path[0] != '/'
        || payload_hash == NULL || secret_key == NULL || amz_date == NULL
        || !gw_aws_scope_part(access_key) || !gw_aws_scope_part(region)
        || !gw_aws_scope_part(service))
    {
        return GW_ERROR;
    }

    for (i = 0; method[i] != '\0'; i++) {
        if (!gw_aws_tchar((unsigned char) method[i])) {
            return GW_ERROR;
        }
    }

    if (strlen(amz_date) != GW_AWS_DATE_LEN) {
        return GW_ERROR;
    }

    for (i = 0; i < GW_AWS_DATE_LEN; i++) {
        if (form[i] != 'd') {
            if (amz_date[i] != form[i]) {
                return GW_ERROR;
            }

        } else if (amz_date[i] < '0' || amz_date[i] > '9') {
            return GW_ERROR;
        }
    }

    if (!gw_aws_payload_hash_ok(payload_hash)) {
        return GW_ERROR;
    }

    return GW_OK;
}


/*
 * The hex SHA-256 of the body, lower case, or one of the constants AWS
 * defines in its place ("UNSIGNED-PAYLOAD", "STREAMING-...": upper case,
 * digits, each with a '-', so that an upper-case digest is not one).
 * Nothing else may reach the canonical request: a newline there would let
 * the value forge its lines.
 */

static int
gw_aws_payload_hash_ok(const char *s)
{
    int            hex, constant, dash;
    size_t         len;
    unsigned char  c;

    hex = 1;
    constant = 1;
    dash = 0;

    for (len = 0; s[len] != '\0'; len++) {
        c = (unsigned char) s[len];

        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            hex = 0;
        }

        if (c == '-') {
            dash = 1;

        } else if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) {
            constant = 0;
        }
    }

    return (hex && len == GW_AWS_HEX_LEN) || (constant && dash);
}


/*
 * The access key, region and service are written into the Credential
 * field, '/'-separated and ','-terminated: visible ASCII, neither of those.
 */

static int
gw_aws_scope_part(const char *s)
{
    if (s == NULL || s[0] == '\0') {
        return 0;
    }

    for ( /* void */ ; *s != '\0'; s++) {
        if (*s <= ' ' || *s > '~' || *s == '/' || *s == ',') {
            return 0;
        }
    }

    return 1;
}


/* RFC 9110 token characters */

static int
gw_aws_tchar(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
           || (c >= '0' && c <= '9')
           || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}


static int
gw_aws_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
           || (c >= '0' && c <= '9')
           || c == '-' || c == '_' || c == '.' || c == '~';
}


/* what botocore's str.split() takes for white space, in ASCII */

static int
gw_aws_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v'
           || c == '\f';
}


static int
gw_aws_hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    return -1;
}


static unsigned char
gw_aws_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char) (c - 'A' + 'a') : c;
}


/* *total += len * mul + add, or GW_ERROR on an overflow */

static gw_rc_t
gw_aws_reserve(size_t *total, size_t len, size_t mul, size_t add)
{
    size_t  n;

    if (len > (SIZE_MAX - add) / mul) {
        return GW_ERROR;
    }

    n = len * mul + add;

    if (n > SIZE_MAX - *total) {
        return GW_ERROR;
    }

    *total += n;

    return GW_OK;
}


/* UriEncode of one byte: unreserved as is, anything else "%XX" */

static char *
gw_aws_encode(char *dst, unsigned char c)
{
    static const char  hex[] = "0123456789ABCDEF";

    if (gw_aws_unreserved(c)) {
        *dst++ = (char) c;

    } else {
        *dst++ = '%';
        *dst++ = hex[c >> 4];
        *dst++ = hex[c & 0x0f];
    }

    return dst;
}


static char *
gw_aws_append(char *dst, const char *s, size_t len)
{
    memcpy(dst, s, len);

    return dst + len;
}


/* the S3 canonical URI: the path encoded once, whatever its spelling */

static gw_rc_t
gw_aws_uri_s3(char **dst, const char *path)
{
    int    hi, lo;
    char  *p;

    p = *dst;

    for ( /* void */ ; *path != '\0'; path++) {
        if (*path == '/') {
            *p++ = '/';

        } else if (*path != '%') {
            p = gw_aws_encode(p, (unsigned char) *path);

        } else {
            hi = gw_aws_hexval((unsigned char) path[1]);
            lo = (hi < 0) ? -1 : gw_aws_hexval((unsigned char) path[2]);

            if (lo < 0) {
                return GW_ERROR;
            }

            /* an escaped '/' stays escaped: it is part of a segment */
            p = gw_aws_encode(p, (unsigned char) (hi << 4 | lo));
            path += 2;
        }
    }

    *dst = p;

    return GW_OK;
}


/*
 * The canonical URI of the other services, as botocore's
 * remove_dot_segments() makes it: empty and "." segments dropped, ".."
 * drops the segment before (none above the root), a trailing '/' kept
 * when a segment is left; then every byte but '/' UriEncoded.  work holds
 * the normalised path (the path's length and 2).
 */

static char *
gw_aws_uri_normalised(char *dst, char *work, const char *path)
{
    char        *w;
    size_t       len;
    const char  *s, *end;

    w = work;
    s = path;

    while (*s != '\0') {
        if (*s == '/') {
            s++;
            continue;
        }

        end = strchr(s, '/');
        if (end == NULL) {
            end = s + strlen(s);
        }

        len = (size_t) (end - s);

        if (len == 2 && s[0] == '.' && s[1] == '.') {
            while (w > work && *--w != '/') {
                /* void */
            }

        } else if (len != 1 || s[0] != '.') {
            *w++ = '/';
            w = gw_aws_append(w, s, len);
        }

        s = end;
    }

    if (w == work) {
        *w++ = '/';

    } else if (path[strlen(path) - 1] == '/') {
        *w++ = '/';
    }

    for (s = work; s < w; s++) {
        if (*s == '/') {
            *dst++ = '/';

        } else {
            dst = gw_aws_encode(dst, (unsigned char) *s);
        }
    }

    return dst;
}


/* percent-decodes s and UriEncodes the bytes at *dst, advancing it */

static gw_rc_t
gw_aws_decode_encode(char **dst, const char *s, size_t len)
{
    int            hi, lo;
    size_t         i;
    unsigned char  c;

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        if (c == '%') {
            if (len - i < 3) {
                return GW_ERROR;
            }

            hi = gw_aws_hexval((unsigned char) s[i + 1]);
            lo = gw_aws_hexval((unsigned char) s[i + 2]);

            if (hi < 0 || lo < 0) {
                return GW_ERROR;
            }

            c = (unsigned char) (hi << 4 | lo);
            i += 2;
        }

        *dst = gw_aws_encode(*dst, c);
    }

    return GW_OK;
}


static gw_rc_t
gw_aws_query(const char *query, char **pos, gw_aws_param_t *params,
    size_t *nparams)
{
    char        *entry;
    const char  *p, *end, *eq;

    p = query;

    for ( ;; ) {
        end = strchr(p, '&');
        if (end == NULL) {
            end = p + strlen(p);
        }

        if (end != p) {
            eq = memchr(p, '=', (size_t) (end - p));
            if (eq == NULL) {
                eq = end;
            }

            entry = *pos;

            if (gw_aws_decode_encode(pos, p, (size_t) (eq - p)) != GW_OK) {
                return GW_ERROR;
            }

            params[*nparams].data = entry;
            params[*nparams].key_len = (size_t) (*pos - entry);

            *(*pos)++ = '=';

            if (eq != end
                && gw_aws_decode_encode(pos, eq + 1, (size_t) (end - eq - 1))
                   != GW_OK)
            {
                return GW_ERROR;
            }

            params[*nparams].len = (size_t) (*pos - entry);
            (*nparams)++;
        }

        if (*end == '\0') {
            break;
        }

        p = end + 1;
    }

    qsort(params, *nparams, sizeof(gw_aws_param_t), gw_aws_param_cmp);

    return GW_OK;
}


/*
 * By key, then by value, byte order.  Not the "key=value" strings as a
 * whole: '=' sorts after '-', so "a=1" would come after "a-b=2".
 */

static int
gw_aws_param_cmp(const void *a, const void *b)
{
    int                    r;
    size_t                 n, la, lb;
    const gw_aws_param_t  *x, *y;

    x = a;
    y = b;

    n = (x->key_len < y->key_len) ? x->key_len : y->key_len;
    r = memcmp(x->data, y->data, n);

    if (r != 0) {
        return r;
    }

    if (x->key_len != y->key_len) {
        return (x->key_len < y->key_len) ? -1 : 1;
    }

    la = x->len - x->key_len;
    lb = y->len - y->key_len;
    n = (la < lb) ? la : lb;
    r = memcmp(x->data + x->key_len, y->data + y->key_len, n);

    if (r != 0) {
        return r;
    }

    return (la < lb) ? -1 : (la > lb);
}


static gw_rc_t
gw_aws_headers(const gw_aws_header_t *headers, size_t nheaders,
    gw_aws_hdr_t *hdrs)
{
    size_t       i, j, nlen, vlen;
    const char  *n, *v;

    for (i = 0; i < nheaders; i++) {
        n = headers[i].name;
        v = headers[i].value;

        while (gw_aws_space((unsigned char) *n)) {
            n++;
        }

        nlen = strlen(n);
        while (nlen > 0 && gw_aws_space((unsigned char) n[nlen - 1])) {
            nlen--;
        }

        if (nlen == 0) {
            return GW_ERROR;
        }

        for (j = 0; j < nlen; j++) {
            if (!gw_aws_tchar((unsigned char) n[j])) {
                return GW_ERROR;
            }
        }

        while (gw_aws_space((unsigned char) *v)) {
            v++;
        }

        vlen = strlen(v);
        while (vlen > 0 && gw_aws_space((unsigned char) v[vlen - 1])) {
            vlen--;
        }

        hdrs[i].name = n;
        hdrs[i].name_len = nlen;
        hdrs[i].value = v;
        hdrs[i].value_len = vlen;
        hdrs[i].index = i;
    }

    /* qsort() is not stable: the index keeps duplicates in their order */
    qsort(hdrs, nheaders, sizeof(gw_aws_hdr_t), gw_aws_hdr_cmp);

    return GW_OK;
}


/* the lower-cased names, byte order */

static int
gw_aws_name_cmp(const gw_aws_hdr_t *a, const gw_aws_hdr_t *b)
{
    size_t         i, n;
    unsigned char  ca, cb;

    n = (a->name_len < b->name_len) ? a->name_len : b->name_len;

    for (i = 0; i < n; i++) {
        ca = gw_aws_lower((unsigned char) a->name[i]);
        cb = gw_aws_lower((unsigned char) b->name[i]);

        if (ca != cb) {
            return (ca < cb) ? -1 : 1;
        }
    }

    if (a->name_len != b->name_len) {
        return (a->name_len < b->name_len) ? -1 : 1;
    }

    return 0;
}


static int
gw_aws_hdr_cmp(const void *a, const void *b)
{
    int                  r;
    const gw_aws_hdr_t  *x, *y;

    x = a;
    y = b;

    r = gw_aws_name_cmp(x, y);

    if (r != 0) {
        return r;
    }

    return (x->index < y->index) ? -1 : (x->index > y->index);
}


/* a trimmed value with each inner run of white space made one space */

static char *
gw_aws_value(char *dst, const char *v, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (!gw_aws_space((unsigned char) v[i])) {
            *dst++ = v[i];
            continue;
        }

        *dst++ = ' ';

        while (i + 1 < len && gw_aws_space((unsigned char) v[i + 1])) {
            i++;
        }
    }

    return dst;
}


/* v in exactly n decimal digits, zero-padded; 0 <= v < 10^n */

static char *
gw_aws_digits(char *p, int64_t v, int n)
{
    int  i;

    for (i = n - 1; i >= 0; i--) {
        p[i] = (char) ('0' + v % 10);
        v /= 10;
    }

    return p + n;
}
