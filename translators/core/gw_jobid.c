
/*
 * Stateless, authenticated job ids.
 *
 * id = "ftjob-" base64url(payload || tag)
 * payload = version (1) | created_at (8, big-endian, signed)
 *           | len provider | len vendor_id | len vendor_id2
 * tag = HMAC-SHA256(secret, client || 0x00 || payload)[0..16)
 *
 * The client name is under the MAC, so one client's id does not decode
 * for another one, and the gateway needs no storage to map ids.  The
 * gateway signs with its first key and verifies with all (rotation).
 */


#include <string.h>
#include <core/gw_core.h>


#define GW_JOBID_PREFIX       "ftjob-"
#define GW_JOBID_PREFIX_LEN   (sizeof(GW_JOBID_PREFIX) - 1)
#define GW_JOBID_VERSION      1
#define GW_JOBID_TAG_LEN      16
#define GW_JOBID_STR_MAX      255
#define GW_JOBID_CLIENT_MAX   255

/* version, created_at and three length bytes */
#define GW_JOBID_FIXED_LEN    (1 + 8 + 3)
#define GW_JOBID_PAYLOAD_MAX  (GW_JOBID_FIXED_LEN + (GW_NAME_MAX - 1)        \
                               + 2 * GW_JOBID_STR_MAX)
/* a one-byte provider and vendor id, an empty second id */
#define GW_JOBID_PAYLOAD_MIN  (GW_JOBID_FIXED_LEN + 2)
#define GW_JOBID_RAW_MAX      (GW_JOBID_PAYLOAD_MAX + GW_JOBID_TAG_LEN)
#define GW_JOBID_RAW_MIN      (GW_JOBID_PAYLOAD_MIN + GW_JOBID_TAG_LEN)
#define GW_JOBID_B64_LEN(n)   (((n) * 4 + 2) / 3)


typedef struct {
    const unsigned char  *p;
    size_t                left;
} gw_jobid_reader_t;


static int gw_jobid_str_ok(const char *s, size_t len, size_t max,
    int empty_ok);
static size_t gw_jobid_put_str(unsigned char *p, const char *s);
static size_t gw_jobid_payload(const gw_job_ref_t *ref, unsigned char *buf);
static gw_rc_t gw_jobid_tag(const char *client, const unsigned char *secret,
    size_t secret_len, const unsigned char *payload, size_t len,
    unsigned char tag[GW_JOBID_TAG_LEN]);
static gw_rc_t gw_jobid_get_str(gw_jobid_reader_t *r, char *dst,
    size_t size, int empty_ok);
static gw_rc_t gw_jobid_parse(const unsigned char *payload, size_t len,
    gw_job_ref_t *ref);


/*
 * Decoded strings end up in vendor URL paths: refuse anything that could
 * change the path (separators, query, fragment, escapes, controls, spaces).
 */

static int
gw_jobid_str_ok(const char *s, size_t len, size_t max, int empty_ok)
{
    size_t         i;
    unsigned char  c;

    if (len > max || (len == 0 && !empty_ok)) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        if (c < 0x21 || c == 0x7f
            || c == '/' || c == '?' || c == '#' || c == '%')
        {
            return 0;
        }
    }

    return 1;
}


static size_t
gw_jobid_put_str(unsigned char *p, const char *s)
{
    size_t  len;

    len = strlen(s);
    p[0] = (unsigned char) len;
    memcpy(p + 1, s, len);

    return len + 1;
}


static size_t
gw_jobid_payload(const gw_job_ref_t *ref, unsigned char *buf)
{
    int        i;
    size_t     n;
    uint64_t   t;

    n = 0;
    buf[n++] = GW_JOBID_VERSION;

    t = (uint64_t) ref->created_at;

    for (i = 7; i >= 0; i--) {
        buf[n++] = (unsigned char) (t >> (i * 8));
    }

    n += gw_jobid_put_str(buf + n, ref->provider);
    n += gw_jobid_put_str(buf + n, ref->vendor_id);
    n += gw_jobid_put_str(buf + n, ref->vendor_id2);

    return n;
}


static gw_rc_t
gw_jobid_tag(const char *client, const unsigned char *secret,
    size_t secret_len, const unsigned char *payload, size_t len,
    unsigned char tag[GW_JOBID_TAG_LEN])
{
    size_t         clen;
    unsigned char  mac[32];
    unsigned char  msg[GW_JOBID_CLIENT_MAX + 1 + GW_JOBID_PAYLOAD_MAX];

    clen = strlen(client);

    if (clen > GW_JOBID_CLIENT_MAX || len > GW_JOBID_PAYLOAD_MAX) {
        return GW_ERROR;
    }

    memcpy(msg, client, clen);
    msg[clen] = 0x00;
    memcpy(msg + clen + 1, payload, len);

    gw_hmac_sha256(secret, secret_len, msg, clen + 1 + len, mac);

    memcpy(tag, mac, GW_JOBID_TAG_LEN);

    return GW_OK;
}


gw_rc_t
gw_job_id_encode(const gw_job_ref_t *ref, const char *client,
    const unsigned char *secret, size_t secret_len, char *out, size_t size)
{
    size_t         n, plen;
    gw_rc_t        rc;
    unsigned char  raw[GW_JOBID_RAW_MAX];

    if (client == NULL || secret == NULL || secret_len == 0
        || secret_len > INT32_MAX)
    {
        return GW_ERROR;
    }

    if (!gw_jobid_str_ok(ref->provider,
                         strnlen(ref->provider, sizeof(ref->provider)),
                         sizeof(ref->provider) - 1, 0)
        || !gw_jobid_str_ok(ref->vendor_id,
                            strnlen(ref->vendor_id, sizeof(ref->vendor_id)),
                            GW_JOBID_STR_MAX, 0)
        || !gw_jobid_str_ok(ref->vendor_id2,
                            strnlen(ref->vendor_id2, sizeof(ref->vendor_id2)),
                            GW_JOBID_STR_MAX, 1))
    {
        return GW_ERROR;
    }

    plen = gw_jobid_payload(ref, raw);

    rc = gw_jobid_tag(client, secret, secret_len, raw, plen, raw + plen);
    if (rc != GW_OK) {
        return rc;
    }

    n = plen + GW_JOBID_TAG_LEN;

    if (size < GW_JOBID_PREFIX_LEN + GW_JOBID_B64_LEN(n) + 1) {
        return GW_ERROR;
    }

    memcpy(out, GW_JOBID_PREFIX, GW_JOBID_PREFIX_LEN);
    gw_base64url(raw, n, out + GW_JOBID_PREFIX_LEN);

    return GW_OK;
}


gw_rc_t
gw_job_id_decode(const char *id, size_t len, const char *client,
    const unsigned char *secret, size_t secret_len, gw_job_ref_t *ref)
{
    long           n;
    size_t         b64_len, plen;
    unsigned char  tag[GW_JOBID_TAG_LEN];
    unsigned char  raw[GW_JOBID_B64_LEN(GW_JOBID_RAW_MAX) * 3 / 4 + 3];

    memset(ref, 0, sizeof(gw_job_ref_t));

    if (id == NULL || client == NULL || secret == NULL || secret_len == 0
        || secret_len > INT32_MAX)
    {
        return GW_ERROR;
    }

    if (len < GW_JOBID_PREFIX_LEN
        || memcmp(id, GW_JOBID_PREFIX, GW_JOBID_PREFIX_LEN) != 0)
    {
        return GW_ERROR;
    }

    b64_len = len - GW_JOBID_PREFIX_LEN;

    if (b64_len < GW_JOBID_B64_LEN(GW_JOBID_RAW_MIN)
        || b64_len > GW_JOBID_B64_LEN(GW_JOBID_RAW_MAX))
    {
        return GW_ERROR;
    }

    n = gw_base64url_decode(id + GW_JOBID_PREFIX_LEN, b64_len, raw);
    if (n < (long) GW_JOBID_RAW_MIN) {
        return GW_ERROR;
    }

    /* authenticate first: nothing unauthenticated is parsed */

    plen = (size_t) n - GW_JOBID_TAG_LEN;

    if (gw_jobid_tag(client, secret, secret_len, raw, plen, tag) != GW_OK
        || !gw_memeq_ct(tag, raw + plen, GW_JOBID_TAG_LEN))
    {
        return GW_ERROR;
    }

    if (gw_jobid_parse(raw, plen, ref) != GW_OK) {
        memset(ref, 0, sizeof(gw_job_ref_t));
        return GW_ERROR;
    }

    return GW_OK;
}


gw_rc_t
gw_job_id_verify(const char *id, size_t len, const char *client,
    const gw_id_key_t *keys, size_t nkeys, gw_job_ref_t *ref)
{
    size_t  i;

    memset(ref, 0, sizeof(gw_job_ref_t));

    for (i = 0; i < nkeys; i++) {
        if (gw_job_id_decode(id, len, client, keys[i].data, keys[i].len, ref)
            == GW_OK)
        {
            return GW_OK;
        }
    }

    return GW_ERROR;
}


static gw_rc_t
gw_jobid_parse(const unsigned char *payload, size_t len, gw_job_ref_t *ref)
{
    int                 i;
    uint64_t            t;
    gw_jobid_reader_t   r;

    if (len < GW_JOBID_FIXED_LEN || payload[0] != GW_JOBID_VERSION) {
        return GW_ERROR;
    }

    t = 0;

    for (i = 1; i <= 8; i++) {
        t = (t << 8) | payload[i];
    }

    /* two's complement without relying on implementation-defined casts */
    ref->created_at = (t <= INT64_MAX) ? (int64_t) t
                                       : -(int64_t) (~t) - 1;

    r.p = payload + 9;
    r.left = len - 9;

    if (gw_jobid_get_str(&r, ref->provider, sizeof(ref->provider), 0)
        != GW_OK
        || gw_jobid_get_str(&r, ref->vendor_id, sizeof(ref->vendor_id), 0)
           != GW_OK
        || gw_jobid_get_str(&r, ref->vendor_id2, sizeof(ref->vendor_id2), 1)
           != GW_OK)
    {
        return GW_ERROR;
    }

    /* trailing bytes mean a payload this version did not write */
    if (r.left != 0) {
        return GW_ERROR;
    }

    return GW_OK;
}


static gw_rc_t
gw_jobid_get_str(gw_jobid_reader_t *r, char *dst, size_t size, int empty_ok)
{
    size_t  n;

    if (r->left < 1) {
        return GW_ERROR;
    }

    n = r->p[0];
    r->p++;
    r->left--;

    if (n > r->left || n >= size
        || !gw_jobid_str_ok((const char *) r->p, n, size - 1, empty_ok))
    {
        return GW_ERROR;
    }

    memcpy(dst, r->p, n);
    dst[n] = '\0';

    r->p += n;
    r->left -= n;

    return GW_OK;
}
