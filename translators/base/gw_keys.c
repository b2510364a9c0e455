
/*
 * The keys of ftgw_secret_file.  A file of one line is one key, as before
 * rotation existed; the first key signs and every key verifies.
 */


#include <base/gw_base.h>


static int gw_keys_same(const gw_id_key_t *a, const gw_id_key_t *b);


gw_keys_rc_t
gw_keys_parse(const unsigned char *text, size_t len,
    gw_id_key_t keys[GW_KEYS_MAX], size_t *nkeys, size_t *line,
    size_t *first)
{
    size_t                n, i, lineno, klen;
    size_t                lines[GW_KEYS_MAX];
    const unsigned char  *p, *end, *eol, *next;

    n = 0;
    lineno = 0;
    *nkeys = 0;
    *line = 0;
    *first = 0;

    p = text;
    end = text + len;

    while (p < end) {
        lineno++;

        eol = memchr(p, '\n', end - p);
        if (eol == NULL) {
            eol = end;
        }

        klen = eol - p;
        next = (eol < end) ? eol + 1 : end;

        /* CRLF files: the '\r' is the line's end, not the key's */
        if (klen > 0 && p[klen - 1] == '\r') {
            klen--;
        }

        if (klen == 0 || p[0] == '#') {
            p = next;
            continue;
        }

        *line = lineno;

        if (klen < GW_KEY_MIN) {
            return GW_KEYS_SHORT;
        }

        if (n == GW_KEYS_MAX) {
            return GW_KEYS_TOO_MANY;
        }

        keys[n].data = p;
        keys[n].len = klen;

        for (i = 0; i < n; i++) {
            if (gw_keys_same(&keys[i], &keys[n])) {
                *first = lines[i];
                return GW_KEYS_DUPLICATE;
            }
        }

        lines[n++] = lineno;
        p = next;
    }

    *line = 0;

    if (n == 0) {
        return GW_KEYS_NONE;
    }

    *nkeys = n;

    return GW_KEYS_OK;
}


static int
gw_keys_same(const gw_id_key_t *a, const gw_id_key_t *b)
{
    return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}
