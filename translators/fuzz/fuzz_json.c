
/*
 * gw_json_parse() (base/gw_json_parse.c), three ways at once:
 *
 *   - against a small RFC 8259 recogniser written here: both accept or
 *     both reject every input;
 *   - against cJSON: what gw_json_parse() accepts, cJSON accepts too,
 *     and both trees print the same.
 *
 * Known, intended difference, excluded narrowly: cJSON is lenient where
 * gw_json_parse() keeps RFC 8259 (leading zeros, "1.", "+1", control
 * characters in strings, \u0000, whitespace other than the four, text
 * after the value ...; test_json_parse.c lists them), so an input that
 * only cJSON accepts must be one that the recogniser rejects.  Both
 * stop nesting at 1000 (GW_JSON_DEPTH_MAX, CJSON_NESTING_LIMIT), the
 * recogniser too.  Duplicate keys are kept by both, in order.  cJSON
 * 1.7.15 skips a byte order mark only when more than one byte follows it
 * (skip_utf8_bom() asks for index 4), so it refuses a BOM and a one-digit
 * number: those 4-byte inputs are not compared with cJSON.
 */


#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include <gw.h>
#include <base/gw_base.h>


#define DEPTH_MAX  1000


typedef struct {
    const unsigned char  *p;
    const unsigned char  *end;
    int                   depth;
} rfc_t;


static int rfc_value(rfc_t *r);


static void
rfc_ws(rfc_t *r)
{
    while (r->p < r->end
           && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n'
               || *r->p == '\r'))
    {
        r->p++;
    }
}


static int
rfc_hex4(rfc_t *r, unsigned *v)
{
    int       i;
    unsigned  c;

    *v = 0;

    for (i = 0; i < 4; i++) {
        if (r->p == r->end) {
            return 0;
        }

        c = *r->p++;

        if (c >= '0' && c <= '9') {
            c -= '0';
        } else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
            c = (c | 0x20) - 'a' + 10;
        } else {
            return 0;
        }

        *v = *v << 4 | c;
    }

    return 1;
}


static int
rfc_string(rfc_t *r)
{
    unsigned  c, u, lo;

    r->p++;                                         /* '"' */

    while (r->p < r->end) {
        c = *r->p++;

        if (c == '"') {
            return 1;
        }

        if (c < 0x20) {
            return 0;
        }

        if (c != '\\') {
            continue;
        }

        if (r->p == r->end) {
            return 0;
        }

        c = *r->p++;

        if (strchr("\"\\/bfnrt", (int) c) != NULL && c != 0) {
            continue;
        }

        if (c != 'u' || !rfc_hex4(r, &u)) {
            return 0;
        }

        /* \u0000 would cut a C string: refused (intended) */
        if (u == 0 || (u >= 0xdc00 && u <= 0xdfff)) {
            return 0;
        }

        if (u >= 0xd800 && u <= 0xdbff) {
            if (r->end - r->p < 2 || r->p[0] != '\\' || r->p[1] != 'u') {
                return 0;
            }

            r->p += 2;

            if (!rfc_hex4(r, &lo) || lo < 0xdc00 || lo > 0xdfff) {
                return 0;
            }
        }
    }

    return 0;
}


static int
rfc_digits(rfc_t *r)
{
    const unsigned char  *s;

    s = r->p;

    while (r->p < r->end && *r->p >= '0' && *r->p <= '9') {
        r->p++;
    }

    return r->p > s;
}


static int
rfc_number(rfc_t *r)
{
    if (*r->p == '-') {
        r->p++;
    }

    if (r->p < r->end && *r->p == '0') {
        r->p++;

    } else if (!rfc_digits(r)) {
        return 0;
    }

    if (r->p < r->end && *r->p == '.') {
        r->p++;

        if (!rfc_digits(r)) {
            return 0;
        }
    }

    if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
        r->p++;

        if (r->p < r->end && (*r->p == '+' || *r->p == '-')) {
            r->p++;
        }

        if (!rfc_digits(r)) {
            return 0;
        }
    }

    return 1;
}


static int
rfc_word(rfc_t *r, const char *w)
{
    size_t  n;

    n = strlen(w);

    if ((size_t) (r->end - r->p) < n || memcmp(r->p, w, n) != 0) {
        return 0;
    }

    r->p += n;
    return 1;
}


static int
rfc_container(rfc_t *r, int close)
{
    int  first;

    if (++r->depth > DEPTH_MAX) {
        return 0;
    }

    r->p++;
    rfc_ws(r);

    if (r->p < r->end && *r->p == close) {
        r->p++;
        r->depth--;
        return 1;
    }

    for (first = 1; ; first = 0) {
        if (!first) {
            rfc_ws(r);

            if (r->p == r->end) {
                return 0;
            }

            if (*r->p == close) {
                r->p++;
                r->depth--;
                return 1;
            }

            if (*r->p++ != ',') {
                return 0;
            }

            rfc_ws(r);
        }

        if (close == '}') {
            if (r->p == r->end || *r->p != '"' || !rfc_string(r)) {
                return 0;
            }

            rfc_ws(r);

            if (r->p == r->end || *r->p++ != ':') {
                return 0;
            }

            rfc_ws(r);
        }

        if (!rfc_value(r)) {
            return 0;
        }
    }
}


static int
rfc_value(rfc_t *r)
{
    if (r->p == r->end) {
        return 0;
    }

    switch (*r->p) {
    case '{':
        return rfc_container(r, '}');
    case '[':
        return rfc_container(r, ']');
    case '"':
        return rfc_string(r);
    case 't':
        return rfc_word(r, "true");
    case 'f':
        return rfc_word(r, "false");
    case 'n':
        return rfc_word(r, "null");
    default:
        if (*r->p == '-' || (*r->p >= '0' && *r->p <= '9')) {
            return rfc_number(r);
        }

        return 0;
    }
}


static int
rfc_accepts(const uint8_t *data, size_t size)
{
    rfc_t  r;

    r.p = data;
    r.end = data + size;
    r.depth = 0;

    if (size >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
        r.p += 3;                           /* a BOM, as both parsers */
    }

    rfc_ws(&r);

    if (!rfc_value(&r)) {
        return 0;
    }

    rfc_ws(&r);

    return r.p == r.end;
}


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    gw_mem_init();
    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int     rfc;
    char   *a, *b;
    cJSON  *ours, *theirs;

    ours = gw_json_parse((const char *) data, size, NULL);
    rfc = rfc_accepts(data, size);

    if ((ours != NULL) != rfc) {
        fprintf(stderr, "gw_json_parse %s, RFC 8259 %s: %.*s\n",
                ours ? "accepts" : "rejects", rfc ? "accepts" : "rejects",
                (int) size, (const char *) data);
        abort();
    }

    if (ours == NULL) {
        return 0;
    }

    if (size <= 4 && size >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
        gw_json_delete(ours);
        return 0;                           /* cJSON's BOM quirk, above */
    }

    theirs = cJSON_ParseWithLength((const char *) data, size);

    if (theirs == NULL) {
        fprintf(stderr, "only gw_json_parse accepts %.*s\n", (int) size,
                (const char *) data);
        abort();
    }

    a = cJSON_PrintUnformatted(ours);
    b = cJSON_PrintUnformatted(theirs);

    if (a == NULL || b == NULL || strcmp(a, b) != 0) {
        fprintf(stderr, "trees differ:\n%s\n%s\n", a ? a : "(null)",
                b ? b : "(null)");
        abort();
    }

    cJSON_free(a);
    cJSON_free(b);
    gw_json_delete(ours);
    cJSON_Delete(theirs);

    return 0;
}
