
/*
 * A streaming multipart/form-data parser.
 *
 * The body is read as if a CRLF came before it, so that every delimiter,
 * the first one included, is "\r\n--" boundary.  The delimiter starts
 * with the only CR it holds (a boundary has no CR or LF), so a partial
 * match that fails is given back as content and the byte that broke it
 * is tried again from the start of the delimiter: no byte is held back
 * but the delimiter's own, which are known.  Whatever chunks the body
 * comes in, the callbacks see the same parts and the same bytes.
 */


#include <string.h>
#include <base/gw_multipart.h>


enum {
    GW_MP_S_PREAMBLE = 0,
    GW_MP_S_AFTER_DELIM,
    GW_MP_S_CLOSE,
    GW_MP_S_LWSP,
    GW_MP_S_AFTER_CR,
    GW_MP_S_HEADERS,
    GW_MP_S_BODY,
    GW_MP_S_DONE,
    GW_MP_S_FAILED
};


static gw_mp_rc_t gw_mp_fail(gw_mp_t *mp, const char *why);
static int gw_mp_headers(gw_mp_t *mp);
static int gw_mp_disposition(gw_mp_t *mp, const char *p, const char *end);
static const char *gw_mp_param(const char *p, const char *end, char *name,
    size_t nsize, char *value, size_t vsize, int *ok);
static int gw_mp_lower_eq(const char *p, size_t n, const char *lower);


static gw_mp_rc_t
gw_mp_fail(gw_mp_t *mp, const char *why)
{
    size_t  n;

    n = strlen(why);
    if (n >= sizeof(mp->err)) {
        n = sizeof(mp->err) - 1;
    }

    memcpy(mp->err, why, n);
    mp->err[n] = '\0';
    mp->state = GW_MP_S_FAILED;

    return GW_MP_FAIL;
}


static int
gw_mp_lower_eq(const char *p, size_t n, const char *lower)
{
    size_t  i;
    char    c;

    if (strlen(lower) != n) {
        return 0;
    }

    for (i = 0; i < n; i++) {
        c = p[i];
        if (c >= 'A' && c <= 'Z') {
            c = (char) (c - 'A' + 'a');
        }

        if (c != lower[i]) {
            return 0;
        }
    }

    return 1;
}


/*
 * One ";" parameter: token "=" (token | quoted-string).  Returns where it
 * ended; *ok = 0 for a malformed one.  Values longer than vsize - 1 are
 * malformed too.
 */

static const char *
gw_mp_param(const char *p, const char *end, char *name, size_t nsize,
    char *value, size_t vsize, int *ok)
{
    size_t  n;

    *ok = 0;

    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }

    n = 0;
    while (p < end && *p != '=' && *p != ';' && *p != ' ' && *p != '\t') {
        if (n + 1 >= nsize) {
            return p;
        }

        name[n++] = *p++;
    }

    name[n] = '\0';

    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }

    if (n == 0 || p == end || *p != '=') {
        return p;
    }

    p++;

    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }

    n = 0;

    if (p < end && *p == '"') {
        p++;

        for ( ;; ) {
            if (p == end) {
                return p;                       /* no closing quote */
            }

            if (*p == '"') {
                p++;
                break;
            }

            if (*p == '\\' && p + 1 < end) {
                p++;
            }

            if (n + 1 >= vsize) {
                return p;
            }

            value[n++] = *p++;
        }

    } else {
        while (p < end && *p != ';' && *p != ' ' && *p != '\t') {
            if (n + 1 >= vsize) {
                return p;
            }

            value[n++] = *p++;
        }
    }

    value[n] = '\0';

    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }

    if (p < end && *p != ';') {
        return p;
    }

    *ok = 1;

    return p;
}


gw_mp_rc_t
gw_mp_init(gw_mp_t *mp, const char *content_type, size_t len,
    const gw_mp_handler_t *h)
{
    int          ok, found;
    size_t       i, n;
    const char  *p, *end, *semi;
    char         name[32], value[GW_MP_BOUNDARY_MAX + 2];

    memset(mp, 0, sizeof(gw_mp_t));
    mp->h = *h;

    if (content_type == NULL) {
        return gw_mp_fail(mp, "the body must be multipart/form-data");
    }

    p = content_type;
    end = content_type + len;

    semi = memchr(p, ';', len);
    n = (semi ? semi : end) - p;

    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t')) {
        n--;
    }

    if (!gw_mp_lower_eq(p, n, "multipart/form-data")) {
        return gw_mp_fail(mp, "the body must be multipart/form-data");
    }

    found = 0;
    p = semi;

    while (p != NULL && p < end) {
        p++;                                    /* the ';' */

        p = gw_mp_param(p, end, name, sizeof(name), value, sizeof(value),
                        &ok);
        if (!ok) {
            return gw_mp_fail(mp, "the Content-Type's parameters are "
                                  "malformed");
        }

        if (gw_mp_lower_eq(name, strlen(name), "boundary")) {
            n = strlen(value);

            if (n == 0 || n > GW_MP_BOUNDARY_MAX || value[n - 1] == ' ') {
                return gw_mp_fail(mp, "the multipart boundary is not valid");
            }

            for (i = 0; i < n; i++) {
                if (!((value[i] >= '0' && value[i] <= '9')
                      || (value[i] >= 'a' && value[i] <= 'z')
                      || (value[i] >= 'A' && value[i] <= 'Z')
                      || strchr("'()+_,-./:=? ", value[i]) != NULL))
                {
                    return gw_mp_fail(mp, "the multipart boundary is not "
                                          "valid");
                }
            }

            memcpy(mp->delim, "\r\n--", 4);
            memcpy(mp->delim + 4, value, n);
            mp->delim_len = 4 + n;
            mp->delim[mp->delim_len] = '\0';
            found = 1;
        }

        if (p == end) {
            break;
        }
    }

    if (!found) {
        return gw_mp_fail(mp, "the multipart body has no boundary");
    }

    /* as if a CRLF came first: "--boundary" at the very start matches */
    mp->state = GW_MP_S_PREAMBLE;
    mp->matched = 2;

    return GW_MP_OK;
}


static int
gw_mp_disposition(gw_mp_t *mp, const char *p, const char *end)
{
    int          ok, has_name;
    size_t       n;
    const char  *semi;
    char         pname[32], value[GW_MP_NAME_MAX];

    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }

    semi = memchr(p, ';', end - p);
    n = (semi ? semi : end) - p;

    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t')) {
        n--;
    }

    if (!gw_mp_lower_eq(p, n, "form-data")) {
        return -1;
    }

    has_name = 0;
    p = semi;

    while (p != NULL && p < end) {
        p++;

        p = gw_mp_param(p, end, pname, sizeof(pname), value, sizeof(value),
                        &ok);
        if (!ok) {
            return -1;
        }

        if (gw_mp_lower_eq(pname, strlen(pname), "name")) {
            memcpy(mp->name, value, strlen(value) + 1);
            has_name = 1;

        } else if (gw_mp_lower_eq(pname, strlen(pname), "filename")) {
            memcpy(mp->filename, value, strlen(value) + 1);
            mp->has_filename = 1;
        }

        /* filename* (RFC 7578 forbids it) and others are ignored */

        if (p == end) {
            break;
        }
    }

    return has_name ? 0 : -1;
}


/* the header block ends with an empty line: head holds it, CRLF included */

static int
gw_mp_headers(gw_mp_t *mp)
{
    int          disposition;
    const char  *p, *end, *eol, *colon;

    mp->name[0] = '\0';
    mp->filename[0] = '\0';
    mp->has_filename = 0;
    disposition = 0;

    p = mp->head;
    end = mp->head + mp->head_len - 2;          /* the empty line's CRLF */

    while (p < end) {
        eol = p;
        while (eol + 1 < end + 2 && !(eol[0] == '\r' && eol[1] == '\n')) {
            eol++;
        }

        colon = memchr(p, ':', eol - p);
        if (colon == NULL) {
            return -1;
        }

        if (gw_mp_lower_eq(p, colon - p, "content-disposition")) {
            if (disposition || gw_mp_disposition(mp, colon + 1, eol) != 0) {
                return -1;
            }

            disposition = 1;
        }

        p = eol + 2;
    }

    return disposition ? 0 : -1;
}


gw_mp_rc_t
gw_mp_feed(gw_mp_t *mp, const char *p, size_t n)
{
    char         c;
    size_t       i;
    const char  *q;

    i = 0;

    while (i < n) {

        switch (mp->state) {

        case GW_MP_S_PREAMBLE:
        case GW_MP_S_BODY:

            if (mp->matched == 0) {
                q = memchr(p + i, '\r', n - i);

                if (q == NULL) {
                    if (mp->state == GW_MP_S_BODY && mp->h.body
                        && mp->h.body(mp->h.data, p + i, n - i) != 0)
                    {
                        return gw_mp_fail(mp, "stopped");
                    }

                    return GW_MP_OK;
                }

                if (q > p + i && mp->state == GW_MP_S_BODY && mp->h.body
                    && mp->h.body(mp->h.data, p + i, q - (p + i)) != 0)
                {
                    return gw_mp_fail(mp, "stopped");
                }

                i = q - p + 1;
                mp->matched = 1;
                break;
            }

            if (p[i] == mp->delim[mp->matched]) {
                i++;
                mp->matched++;

                if (mp->matched == mp->delim_len) {
                    mp->matched = 0;

                    if (mp->state == GW_MP_S_BODY && mp->h.end
                        && mp->h.end(mp->h.data) != 0)
                    {
                        return gw_mp_fail(mp, "stopped");
                    }

                    mp->state = GW_MP_S_AFTER_DELIM;
                }

                break;
            }

            /* the partial match was content; try this byte again */
            if (mp->state == GW_MP_S_BODY && mp->h.body
                && mp->h.body(mp->h.data, mp->delim, mp->matched) != 0)
            {
                return gw_mp_fail(mp, "stopped");
            }

            mp->matched = 0;
            break;

        case GW_MP_S_AFTER_DELIM:
            c = p[i++];

            if (c == '-') {
                mp->state = GW_MP_S_CLOSE;

            } else if (c == '\r') {
                mp->state = GW_MP_S_AFTER_CR;

            } else if (c == ' ' || c == '\t') {
                mp->state = GW_MP_S_LWSP;

            } else {
                return gw_mp_fail(mp, "a multipart delimiter is followed "
                                      "by neither CRLF nor \"--\"");
            }

            break;

        case GW_MP_S_CLOSE:
            if (p[i++] != '-') {
                return gw_mp_fail(mp, "a multipart delimiter is followed "
                                      "by neither CRLF nor \"--\"");
            }

            mp->state = GW_MP_S_DONE;
            return GW_MP_DONE;

        case GW_MP_S_LWSP:
            c = p[i++];

            if (c == '\r') {
                mp->state = GW_MP_S_AFTER_CR;

            } else if (c != ' ' && c != '\t') {
                return gw_mp_fail(mp, "a multipart delimiter is followed "
                                      "by neither CRLF nor \"--\"");
            }

            break;

        case GW_MP_S_AFTER_CR:
            if (p[i++] != '\n') {
                return gw_mp_fail(mp, "a multipart delimiter is followed "
                                      "by neither CRLF nor \"--\"");
            }

            mp->state = GW_MP_S_HEADERS;
            mp->head_len = 0;
            break;

        case GW_MP_S_HEADERS:
            if (mp->head_len == sizeof(mp->head)) {
                return gw_mp_fail(mp, "a multipart part's headers are "
                                      "longer than 8 KB");
            }

            mp->head[mp->head_len++] = p[i++];

            if (mp->head_len >= 2
                && mp->head[mp->head_len - 2] == '\r'
                && mp->head[mp->head_len - 1] == '\n'
                && (mp->head_len == 2
                    || (mp->head_len >= 4
                        && mp->head[mp->head_len - 4] == '\r'
                        && mp->head[mp->head_len - 3] == '\n')))
            {
                if (gw_mp_headers(mp) != 0) {
                    return gw_mp_fail(mp, "a multipart part lacks a valid "
                                          "Content-Disposition: form-data; "
                                          "name=\"...\"");
                }

                mp->parts++;
                mp->state = GW_MP_S_BODY;
                mp->matched = 0;

                if (mp->h.part
                    && mp->h.part(mp->h.data, mp->name, mp->filename,
                                  mp->has_filename)
                       != 0)
                {
                    return gw_mp_fail(mp, "stopped");
                }
            }

            break;

        case GW_MP_S_DONE:
            return GW_MP_DONE;                  /* the epilogue is ignored */

        default:
            return GW_MP_FAIL;
        }
    }

    return mp->state == GW_MP_S_DONE ? GW_MP_DONE : GW_MP_OK;
}


gw_mp_rc_t
gw_mp_finish(gw_mp_t *mp)
{
    if (mp->state == GW_MP_S_DONE) {
        return GW_MP_DONE;
    }

    if (mp->state == GW_MP_S_FAILED) {
        return GW_MP_FAIL;
    }

    if (mp->state == GW_MP_S_PREAMBLE) {
        return gw_mp_fail(mp, "the multipart body has no part");
    }

    return gw_mp_fail(mp, "the multipart body is truncated: it ends before "
                          "its close delimiter");
}
