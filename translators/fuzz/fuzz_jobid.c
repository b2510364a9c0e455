
/*
 * Job ids and list cursors (core/gw_jobid.c; a cursor, "after", is a job
 * id): the input is decoded as an id as it comes, then read as a job
 * reference that is encoded and decoded again:
 *
 *   - decode(encode(ref)) == ref, for the client that encoded it;
 *   - another client's decode of the same id fails;
 *   - an id with one byte changed fails, or decodes to the same ref.
 *
 * Input: created_at (8 bytes, big-endian), then client, provider,
 * vendor id, vendor id 2 separated by '\n'; the whole input is also the
 * raw id.
 */


#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gw.h>
#include <core/gw_core.h>


static const unsigned char  secret[] = "0123456789abcdef0123456789abcdef";
#define SECRET_LEN  (sizeof(secret) - 1)


/* the next '\n'-separated field into out (NUL-terminated, cut at size) */
static void
field(const uint8_t **p, const uint8_t *end, char *out, size_t size)
{
    size_t  n;

    n = 0;

    while (*p < end && **p != '\n') {
        if (n + 1 < size) {
            out[n++] = (char) **p;
        }

        (*p)++;
    }

    if (*p < end) {
        (*p)++;
    }

    out[n] = '\0';
}


static int
same(const gw_job_ref_t *a, const gw_job_ref_t *b)
{
    return strcmp(a->provider, b->provider) == 0
           && strcmp(a->vendor_id, b->vendor_id) == 0
           && strcmp(a->vendor_id2, b->vendor_id2) == 0
           && a->created_at == b->created_at;
}


static void
fail(const char *what, const char *id)
{
    fprintf(stderr, "%s: %s\n", what, id);
    abort();
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int            i;
    char           client[128], id[GW_JOB_ID_MAX], bad[GW_JOB_ID_MAX];
    size_t         len;
    uint64_t       t;
    gw_job_ref_t   ref, back;
    const uint8_t  *p, *end;

    /* the bytes as an id, for two clients */
    (void) gw_job_id_decode((const char *) data, size, "alice", secret,
                            SECRET_LEN, &back);
    (void) gw_job_id_decode((const char *) data, size, "", secret,
                            SECRET_LEN, &back);

    if (size < 8) {
        return 0;
    }

    t = 0;
    for (i = 0; i < 8; i++) {
        t = t << 8 | data[i];
    }

    p = data + 8;
    end = data + size;

    memset(&ref, 0, sizeof(ref));
    ref.created_at = (int64_t) t;
    field(&p, end, client, sizeof(client));
    field(&p, end, ref.provider, sizeof(ref.provider));
    field(&p, end, ref.vendor_id, sizeof(ref.vendor_id));
    field(&p, end, ref.vendor_id2, sizeof(ref.vendor_id2));

    if (gw_job_id_encode(&ref, client, secret, SECRET_LEN, id, sizeof(id))
        != GW_OK)
    {
        return 0;
    }

    len = strlen(id);

    memset(&back, 0x5a, sizeof(back));

    if (gw_job_id_decode(id, len, client, secret, SECRET_LEN, &back)
        != GW_OK)
    {
        fail("an encoded id does not decode", id);
    }

    if (!same(&ref, &back)) {
        fail("decode(encode(ref)) != ref", id);
    }

    if (gw_job_id_decode(id, len, client[0] ? "" : "x", secret, SECRET_LEN,
                         &back)
        == GW_OK)
    {
        fail("another client decodes the id", id);
    }

    /* one byte changed, where the input's last byte says */
    memcpy(bad, id, len + 1);
    i = (int) (data[size - 1] % len);
    bad[i] = (char) (bad[i] ^ (data[size - 1] >> 1 | 1));

    if (gw_job_id_decode(bad, len, client, secret, SECRET_LEN, &back)
        == GW_OK && !same(&ref, &back))
    {
        fail("a changed id decodes to another ref", bad);
    }

    return 0;
}
