
/*
 * The streaming multipart/form-data parser (base/gw_multipart.c): the
 * same body fed whole and in chunks whose sizes the input's first bytes
 * give ends with the same rc, the same parts and bytes, the same error.
 *
 * Input: flags (bit 0: the Content-Type is the body's first line, else
 * "multipart/form-data; boundary=b1"; bits 1-2: the part callback says
 * stop at that part, 0 never), FUZZ_NSIZES chunk sizes, the body.
 */


#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gw.h>
#include <base/gw_multipart.h>

#include "fuzz_chunks.h"


#define CT  "multipart/form-data; boundary=b1"


typedef struct {
    char    *log;
    size_t   len;
    size_t   size;
    int      parts;
    int      stop_at_part;
} rec_t;


static void
rec_put(rec_t *r, const char *s, size_t n)
{
    if (r->len + n + 1 > r->size) {
        r->size = (r->len + n + 1) * 2;
        r->log = realloc(r->log, r->size);

        if (r->log == NULL) {
            abort();
        }
    }

    memcpy(r->log + r->len, s, n);
    r->len += n;
    r->log[r->len] = '\0';
}


static int
on_part(void *data, const char *name, const char *filename, int has)
{
    char    buf[1024];
    rec_t  *r = data;

    r->parts++;

    if (r->stop_at_part && r->parts == r->stop_at_part) {
        return -1;
    }

    snprintf(buf, sizeof(buf), "[%s|%s%s]", name, has ? "f=" : "",
             filename);
    rec_put(r, buf, strlen(buf));
    return 0;
}


static int
on_body(void *data, const char *p, size_t n)
{
    if (n == 0) {
        fprintf(stderr, "an empty body callback\n");
        abort();
    }

    rec_put(data, p, n);
    return 0;
}


static int
on_end(void *data)
{
    rec_put(data, "<end>", 5);
    return 0;
}


/* chunks == NULL: the body whole */
static gw_mp_rc_t
run(const char *ct, size_t ct_len, const uint8_t *body, size_t len,
    fuzz_chunks_t *chunks, rec_t *r, gw_mp_t *mp)
{
    size_t           i, n;
    gw_mp_rc_t       rc;
    gw_mp_handler_t  h = { on_part, on_body, on_end, r };

    rc = gw_mp_init(mp, ct, ct_len, &h);
    if (rc != GW_MP_OK) {
        return rc;
    }

    for (i = 0; i < len; i += n) {
        n = chunks ? fuzz_chunk(chunks, len - i) : len - i;
        rc = gw_mp_feed(mp, (const char *) body + i, n);

        if (rc == GW_MP_FAIL) {
            return rc;
        }
    }

    return gw_mp_finish(mp);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int             rc1, rc2;
    rec_t           r1, r2;
    size_t          ct_len, len;
    const char     *ct;
    fuzz_chunks_t   chunks;
    const uint8_t  *body, *nl;
    static gw_mp_t  mp1, mp2;

    if (size < 1 + FUZZ_NSIZES) {
        return 0;
    }

    memset(&r1, 0, sizeof(rec_t));
    memset(&r2, 0, sizeof(rec_t));
    r1.stop_at_part = r2.stop_at_part = (data[0] >> 1) & 3;
    memcpy(chunks.sizes, data + 1, FUZZ_NSIZES);
    chunks.i = 0;

    body = data + 1 + FUZZ_NSIZES;
    len = size - 1 - FUZZ_NSIZES;
    ct = CT;
    ct_len = sizeof(CT) - 1;

    if (data[0] & 1) {
        nl = memchr(body, '\n', len);
        if (nl == NULL) {
            return 0;
        }

        ct = (const char *) body;
        ct_len = (size_t) (nl - body);
        len -= ct_len + 1;
        body = nl + 1;
    }

    rc1 = run(ct, ct_len, body, len, NULL, &r1, &mp1);
    rc2 = run(ct, ct_len, body, len, &chunks, &r2, &mp2);

    if (rc1 != rc2 || r1.len != r2.len
        || (r1.len && memcmp(r1.log, r2.log, r1.len) != 0)
        || (rc1 == GW_MP_FAIL && strcmp(mp1.err, mp2.err) != 0))
    {
        fprintf(stderr, "whole: %d %s\n%.*s\nchunked: %d %s\n%.*s\n",
                rc1, rc1 == GW_MP_FAIL ? mp1.err : "", (int) r1.len,
                r1.log ? r1.log : "", rc2, rc2 == GW_MP_FAIL ? mp2.err : "",
                (int) r2.len, r2.log ? r2.log : "");
        abort();
    }

    free(r1.log);
    free(r2.log);

    return 0;
}
