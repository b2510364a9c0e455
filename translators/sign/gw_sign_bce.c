
/*
 * Baidu AI Cloud request signature bce-auth-v1 (vendor-apis.md 2.8).
 *
 * prefix           = "bce-auth-v1/" ak "/" timestamp "/" expiration
 * signingKey       = hex(HMAC-SHA256(sk, prefix))
 * canonicalRequest = METHOD "\n" UriEncodeExceptSlash(path) "\n"
 *                    canonicalQuery "\n" canonicalHeaders
 * signature        = hex(HMAC-SHA256(signingKey, canonicalRequest))
 * Authorization    = prefix "/" signedHeaders "/" signature
 *
 * Every work buffer is sized from the inputs and allocated; nothing is
 * truncated silently.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sign/gw_sign.h>


#define GW_BCE_PREFIX         "bce-auth-v1/"
#define GW_BCE_PREFIX_LEN     (sizeof(GW_BCE_PREFIX) - 1)
#define GW_BCE_TIMESTAMP_LEN  20
#define GW_BCE_HEX_LEN        64

/* 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z */
#define GW_BCE_TIME_MIN       (-62167219200LL)
#define GW_BCE_TIME_MAX       253402300799LL


/* the canonical pieces, all pointing into one allocation */
typedef struct {
    char              **query;      /* "key=value", UriEncoded */
    size_t              nquery;
    char              **headers;    /* "name:value", UriEncoded */
    char              **names;      /* lower-cased signed header names */
    size_t              nheaders;
    char               *pos;        /* next free byte of the storage */
} gw_bce_work_t;


static void gw_bce_signing_key(const char *secret_key, const char *prefix,
    size_t prefix_len, char key[GW_BCE_HEX_LEN + 1]);
static gw_rc_t gw_bce_check(const char *method, const char *path,
    const char *access_key, const char *secret_key, const char *timestamp,
    int expiration);
static int gw_bce_tchar(unsigned char c);
static int gw_bce_unreserved(unsigned char c);
static int gw_bce_space(unsigned char c);
static int gw_bce_hexval(unsigned char c);
static gw_rc_t gw_bce_reserve(size_t *total, size_t len, size_t mul,
    size_t add);
static size_t gw_bce_encoded_len(const char *s, size_t len, int slash);
static char *gw_bce_encode(char *dst, const char *s, size_t len, int slash);
static gw_rc_t gw_bce_decode_encode(char **dst, const char *s, size_t len);
static gw_rc_t gw_bce_query(gw_bce_work_t *w, const char *query);
static gw_rc_t gw_bce_headers(gw_bce_work_t *w,
    const gw_bce_header_t *headers, size_t nheaders);
static int gw_bce_cmp(const void *a, const void *b);
static size_t gw_bce_joined_len(char **v, size_t n);
static char *gw_bce_join(char *dst, char **v, size_t n, char sep);
static char *gw_bce_digits(char *p, int64_t v, int n);


/*
 * The query is the raw query string as sent: each key and value is
 * percent-decoded ('+' is a literal plus, as in RFC 3986) and UriEncoded
 * again, so "a%20b", "a b" and "a%2520b" keep their meaning.  Empty
 * parameters ("a=1&&b=2") are ignored.  The path is the decoded path.
 *
 * A header with an empty (or blank) value is neither canonicalised nor
 * listed in signedHeaders.  Malformed: a header name that is not an HTTP
 * token or given twice, a bad '%' escape in the query, no header left to
 * sign (an empty signedHeaders field would mean "the default set" to the
 * server), a path not starting with '/', an access key holding '/', a
 * timestamp not in the "yyyy-mm-ddThh:mm:ssZ" form, a non-positive
 * expiration.  On any error out is "".
 */

gw_rc_t
gw_sign_bce_v1(const char *method, const char *path, const char *query,
    const gw_bce_header_t *headers, size_t nheaders, const char *access_key,
    const char *secret_key, const char *timestamp, int expiration, char *out,
    size_t size)
{
    char            *storage, *creq, *p;
    char           **vec;
    size_t           i, qlen, nq, cap, count, mlen, plen, qj, hj, sj;
    size_t           creq_len, prefix_len, need;
    gw_rc_t          rc;
    gw_bce_work_t    w;
    unsigned char    mac[32];
    char             key[GW_BCE_HEX_LEN + 1], expiry[24];

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

    if ((headers == NULL && nheaders > 0)
        || gw_bce_check(method, path, access_key, secret_key, timestamp,
                        expiration)
           != GW_OK)
    {
        return GW_ERROR;
    }

    /* sizes: an encoded byte takes at most 3, as does an escape "%XX" */

    qlen = strlen(query);
    nq = 1;

    for (i = 0; i < qlen; i++) {
        if (query[i] == '&') {
            nq++;
        }
    }

    cap = 0;

    if (gw_bce_reserve(&cap, qlen, 3, 1) != GW_OK
        || gw_bce_reserve(&cap, nq, 2, 0) != GW_OK)
    {
        return GW_ERROR;
    }

    for (i = 0; i < nheaders; i++) {
        if (headers[i].name == NULL || headers[i].value == NULL) {
            return GW_ERROR;
        }

        /* the entry "name:value" and the name alone, each with a NUL */

        if (gw_bce_reserve(&cap, strlen(headers[i].name), 4, 3) != GW_OK
            || gw_bce_reserve(&cap, strlen(headers[i].value), 3, 0)
               != GW_OK)
        {
            return GW_ERROR;
        }
    }

    count = 0;

    if (gw_bce_reserve(&count, nheaders, 2, nq) != GW_OK
        || count > SIZE_MAX / sizeof(char *))
    {
        return GW_ERROR;
    }

    vec = gw_malloc(count * sizeof(char *));
    storage = gw_malloc(cap);
    creq = NULL;
    rc = GW_ERROR;

    if (vec == NULL || storage == NULL) {
        goto done;
    }

    w.query = vec;
    w.nquery = 0;
    w.headers = vec + nq;
    w.names = vec + nq + nheaders;
    w.nheaders = 0;
    w.pos = storage;

    if (gw_bce_query(&w, query) != GW_OK
        || gw_bce_headers(&w, headers, nheaders) != GW_OK)
    {
        goto done;
    }

    /* the canonical request */

    mlen = strlen(method);
    plen = strlen(path);
    qj = gw_bce_joined_len(w.query, w.nquery);
    hj = gw_bce_joined_len(w.headers, w.nheaders);

    creq_len = 0;

    if (gw_bce_reserve(&creq_len, mlen, 1, 3) != GW_OK
        || gw_bce_reserve(&creq_len, gw_bce_encoded_len(path, plen, 1), 1, 0)
           != GW_OK
        || gw_bce_reserve(&creq_len, qj, 1, 0) != GW_OK
        || gw_bce_reserve(&creq_len, hj, 1, 1) != GW_OK)
    {
        goto done;
    }

    creq = gw_malloc(creq_len);
    if (creq == NULL) {
        goto done;
    }

    p = creq;

    for (i = 0; i < mlen; i++) {
        *p++ = (method[i] >= 'a' && method[i] <= 'z')
               ? (char) (method[i] - 'a' + 'A') : method[i];
    }

    *p++ = '\n';
    p = gw_bce_encode(p, path, plen, 1);
    *p++ = '\n';
    p = gw_bce_join(p, w.query, w.nquery, '&');
    *p++ = '\n';
    p = gw_bce_join(p, w.headers, w.nheaders, '\n');
    *p = '\0';

    creq_len = (size_t) (p - creq);

    /* the output: prefix "/" signedHeaders "/" signature */

    gw_int_str(expiry, expiration);

    sj = gw_bce_joined_len(w.names, w.nheaders);
    need = 0;

    if (gw_bce_reserve(&need, strlen(access_key), 1,
                       GW_BCE_PREFIX_LEN + 1 + GW_BCE_TIMESTAMP_LEN + 1)
           != GW_OK
        || gw_bce_reserve(&need, strlen(expiry), 1, 0) != GW_OK
        || gw_bce_reserve(&need, sj, 1, 1 + 1 + GW_BCE_HEX_LEN + 1) != GW_OK
        || need > size)
    {
        goto done;
    }

    p = out;
    memcpy(p, GW_BCE_PREFIX, GW_BCE_PREFIX_LEN);
    p += GW_BCE_PREFIX_LEN;
    memcpy(p, access_key, strlen(access_key));
    p += strlen(access_key);
    *p++ = '/';
    memcpy(p, timestamp, GW_BCE_TIMESTAMP_LEN);
    p += GW_BCE_TIMESTAMP_LEN;
    *p++ = '/';
    memcpy(p, expiry, strlen(expiry));
    p += strlen(expiry);

    prefix_len = (size_t) (p - out);

    gw_bce_signing_key(secret_key, out, prefix_len, key);

    gw_hmac_sha256(key, GW_BCE_HEX_LEN, creq, creq_len, mac);

    *p++ = '/';
    p = gw_bce_join(p, w.names, w.nheaders, ';');
    *p++ = '/';
    gw_hex(mac, sizeof(mac), p);

    rc = GW_OK;

done:

    if (rc != GW_OK) {
        out[0] = '\0';
    }

    if (creq != NULL) {
        memset(creq, 0, creq_len);
        gw_free(creq);
    }

    memset(key, 0, sizeof(key));

    gw_free(storage);
    gw_free(vec);

    return rc;
}


void
gw_bce_timestamp(int64_t unix_seconds, char *out)
{
    char     *p;
    int64_t   days, secs, z, era, doe, yoe, doy, mp, y, m, d;

    if (unix_seconds < GW_BCE_TIME_MIN) {
        unix_seconds = GW_BCE_TIME_MIN;

    } else if (unix_seconds > GW_BCE_TIME_MAX) {
        unix_seconds = GW_BCE_TIME_MAX;
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

    p = gw_bce_digits(out, y, 4);
    *p++ = '-';
    p = gw_bce_digits(p, m, 2);
    *p++ = '-';
    p = gw_bce_digits(p, d, 2);
    *p++ = 'T';
    p = gw_bce_digits(p, secs / 3600, 2);
    *p++ = ':';
    p = gw_bce_digits(p, secs / 60 % 60, 2);
    *p++ = ':';
    p = gw_bce_digits(p, secs % 60, 2);
    *p++ = 'Z';
    *p = '\0';
}


static gw_rc_t
gw_bce_check(const char *method, const char *path, const char *access_key,
    const char *secret_key, const char *timestamp, int expiration)
{
    size_t                i;
    static const char     form[] = "dddd-dd-ddTdd:dd:ddZ";

    if (method == NULL || method[0] == '\0' || path[0] != '/'
        || access_key == NULL || access_key[0] == '\0'
        || strchr(access_key, '/') != NULL
        || secret_key == NULL || timestamp == NULL || expiration <= 0)
    {
        return GW_ERROR;
    }

    for (i = 0; method[i] != '\0'; i++) {
        if (!gw_bce_tchar((unsigned char) method[i])) {
            return GW_ERROR;
        }
    }

    if (strlen(timestamp) != GW_BCE_TIMESTAMP_LEN) {
        return GW_ERROR;
    }

    for (i = 0; i < GW_BCE_TIMESTAMP_LEN; i++) {
        if (form[i] != 'd') {
            if (timestamp[i] != form[i]) {
                return GW_ERROR;
            }

        } else if (timestamp[i] < '0' || timestamp[i] > '9') {
            return GW_ERROR;
        }
    }

    return GW_OK;
}


/* RFC 9110 token characters */

static int
gw_bce_tchar(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
           || (c >= '0' && c <= '9')
           || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}


static int
gw_bce_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
           || (c >= '0' && c <= '9')
           || c == '-' || c == '_' || c == '.' || c == '~';
}


/* what Python's bytes.strip() removes, as the SDK trims */

static int
gw_bce_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v'
           || c == '\f';
}


static int
gw_bce_hexval(unsigned char c)
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


/* *total += len * mul + add, or GW_ERROR on an overflow */

static gw_rc_t
gw_bce_reserve(size_t *total, size_t len, size_t mul, size_t add)
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


static size_t
gw_bce_encoded_len(const char *s, size_t len, int slash)
{
    size_t          i, n;
    unsigned char   c;

    n = 0;

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];
        n += (gw_bce_unreserved(c) || (slash && c == '/')) ? 1 : 3;
    }

    return n;
}


/* UriEncode; with slash set, '/' is kept (UriEncodeExceptSlash) */

static char *
gw_bce_encode(char *dst, const char *s, size_t len, int slash)
{
    size_t              i;
    unsigned char       c;
    static const char   hex[] = "0123456789ABCDEF";

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        if (gw_bce_unreserved(c) || (slash && c == '/')) {
            *dst++ = (char) c;

        } else {
            *dst++ = '%';
            *dst++ = hex[c >> 4];
            *dst++ = hex[c & 0x0f];
        }
    }

    return dst;
}


/* percent-decodes s and UriEncodes the bytes at *dst, advancing it */

static gw_rc_t
gw_bce_decode_encode(char **dst, const char *s, size_t len)
{
    int     hi, lo;
    char    c;
    size_t  i;

    for (i = 0; i < len; i++) {
        c = s[i];

        if (c == '%') {
            if (len - i < 3) {
                return GW_ERROR;
            }

            hi = gw_bce_hexval((unsigned char) s[i + 1]);
            lo = gw_bce_hexval((unsigned char) s[i + 2]);

            if (hi < 0 || lo < 0) {
                return GW_ERROR;
            }

            c = (char) (hi << 4 | lo);
            i += 2;
        }

        *dst = gw_bce_encode(*dst, &c, 1, 0);
    }

    return GW_OK;
}


static gw_rc_t
gw_bce_query(gw_bce_work_t *w, const char *query)
{
    char        *entry;
    size_t       klen;
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

            entry = w->pos;

            if (gw_bce_decode_encode(&w->pos, p, (size_t) (eq - p))
                != GW_OK)
            {
                return GW_ERROR;
            }

            klen = (size_t) (w->pos - entry);
            *w->pos++ = '=';

            if (eq != end
                && gw_bce_decode_encode(&w->pos, eq + 1,
                                        (size_t) (end - eq - 1))
                   != GW_OK)
            {
                return GW_ERROR;
            }

            *w->pos++ = '\0';

            /* the encoded key equals the decoded one for letters only */

            if (klen == sizeof("authorization") - 1
                && strncasecmp(entry, "authorization", klen) == 0)
            {
                w->pos = entry;

            } else {
                w->query[w->nquery++] = entry;
            }
        }

        if (*end == '\0') {
            break;
        }

        p = end + 1;
    }

    qsort(w->query, w->nquery, sizeof(char *), gw_bce_cmp);

    return GW_OK;
}


static gw_rc_t
gw_bce_headers(gw_bce_work_t *w, const gw_bce_header_t *headers,
    size_t nheaders)
{
    char        *name;
    size_t       i, j, nlen, vlen;
    const char  *n, *v;

    for (i = 0; i < nheaders; i++) {
        n = headers[i].name;
        v = headers[i].value;

        while (gw_bce_space((unsigned char) *n)) {
            n++;
        }

        nlen = strlen(n);
        while (nlen > 0 && gw_bce_space((unsigned char) n[nlen - 1])) {
            nlen--;
        }

        while (gw_bce_space((unsigned char) *v)) {
            v++;
        }

        vlen = strlen(v);
        while (vlen > 0 && gw_bce_space((unsigned char) v[vlen - 1])) {
            vlen--;
        }

        if (nlen == 0) {
            return GW_ERROR;
        }

        for (j = 0; j < nlen; j++) {
            if (!gw_bce_tchar((unsigned char) n[j])) {
                return GW_ERROR;
            }
        }

        if (vlen == 0) {
            continue;
        }

        name = w->pos;

        for (j = 0; j < nlen; j++) {
            name[j] = (n[j] >= 'A' && n[j] <= 'Z')
                      ? (char) (n[j] - 'A' + 'a') : n[j];
        }

        name[nlen] = '\0';
        w->pos += nlen + 1;

        w->headers[w->nheaders] = w->pos;
        w->names[w->nheaders] = name;
        w->nheaders++;

        w->pos = gw_bce_encode(w->pos, name, nlen, 0);
        *w->pos++ = ':';
        w->pos = gw_bce_encode(w->pos, v, vlen, 0);
        *w->pos++ = '\0';
    }

    if (w->nheaders == 0) {
        return GW_ERROR;
    }

    qsort(w->headers, w->nheaders, sizeof(char *), gw_bce_cmp);
    qsort(w->names, w->nheaders, sizeof(char *), gw_bce_cmp);

    for (i = 1; i < w->nheaders; i++) {
        if (strcmp(w->names[i - 1], w->names[i]) == 0) {
            return GW_ERROR;
        }
    }

    return GW_OK;
}


/* byte order: strcmp compares as unsigned char */

static int
gw_bce_cmp(const void *a, const void *b)
{
    return strcmp(*(char * const *) a, *(char * const *) b);
}


static size_t
gw_bce_joined_len(char **v, size_t n)
{
    size_t  i, len;

    len = (n > 0) ? n - 1 : 0;

    for (i = 0; i < n; i++) {
        len += strlen(v[i]);
    }

    return len;
}


static char *
gw_bce_join(char *dst, char **v, size_t n, char sep)
{
    size_t  i, len;

    for (i = 0; i < n; i++) {
        if (i > 0) {
            *dst++ = sep;
        }

        len = strlen(v[i]);
        memcpy(dst, v[i], len);
        dst += len;
    }

    return dst;
}


/* v in exactly n decimal digits, zero-padded; 0 <= v < 10^n */

static char *
gw_bce_digits(char *p, int64_t v, int n)
{
    int  i;

    for (i = n - 1; i >= 0; i--) {
        p[i] = (char) ('0' + v % 10);
        v /= 10;
    }

    return p + n;
}


/*
 * signingKey = hex(HMAC-SHA256(sk, prefix)).  The prefix changes once a
 * second (its timestamp), so the last key is kept: every call within that
 * second, a Qianfan create makes three, signs with it as it is.
 */

static struct {
    size_t  secret_len;
    char    secret[128];
    size_t  prefix_len;
    char    prefix[256];
    char    key[GW_BCE_HEX_LEN + 1];
} gw_bce_last;


static void
gw_bce_signing_key(const char *secret_key, const char *prefix,
    size_t prefix_len, char key[GW_BCE_HEX_LEN + 1])
{
    size_t         secret_len;
    unsigned char  mac[32];

    secret_len = strlen(secret_key);

    if (gw_bce_last.secret_len == secret_len
        && gw_bce_last.prefix_len == prefix_len
        && memcmp(gw_bce_last.prefix, prefix, prefix_len) == 0
        && memcmp(gw_bce_last.secret, secret_key, secret_len) == 0)
    {
        memcpy(key, gw_bce_last.key, GW_BCE_HEX_LEN + 1);
        return;
    }

    gw_hmac_sha256(secret_key, secret_len, prefix, prefix_len, mac);
    gw_hex(mac, sizeof(mac), key);

    if (secret_len < sizeof(gw_bce_last.secret)
        && prefix_len < sizeof(gw_bce_last.prefix))
    {
        gw_bce_last.secret_len = secret_len;
        memcpy(gw_bce_last.secret, secret_key, secret_len);
        gw_bce_last.prefix_len = prefix_len;
        memcpy(gw_bce_last.prefix, prefix, prefix_len);
        memcpy(gw_bce_last.key, key, GW_BCE_HEX_LEN + 1);
    }
}
