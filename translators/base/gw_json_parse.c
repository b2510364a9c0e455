
/*
 * JSON text to a cJSON tree, in one pass over the text.
 *
 * Every vendor answer and every create body is parsed, and cJSON's own
 * parser spent about 46 instructions a byte on it: a second pass over each
 * string, localeconv() and a copy for strtod() at every number.  This one
 * builds the same tree (node types, key order, the next/prev links with
 * the first child's prev at the last, as cJSON_AddItemToArray() leaves
 * them), so cJSON's functions read and change it as their own, and
 * cJSON_Delete() frees it: every node and string comes from gw_malloc(),
 * the allocator cJSON is hooked to (gw_mem_init()).
 *
 * It reads RFC 8259 JSON and nothing else, where cJSON is lenient:
 *
 *   - whitespace is space, tab, LF and CR, not every byte up to 32;
 *   - numbers follow the grammar: no leading zeros, no "1." or "1e";
 *   - strings hold no raw control characters and no NUL, raw or \u0000
 *     (a C string would end there and drop the rest without a word);
 *   - a number of any length is read whole, not cut at 63 characters.
 *
 * A UTF-8 byte order mark is skipped, as cJSON does.  Nesting stops at
 * cJSON's limit, 1000 arrays and objects deep.
 */


#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <base/gw_base.h>


#define GW_JSON_DEPTH_MAX  1000

/* below 2^53 a decimal mantissa converts to a double exactly */
#define GW_JSON_EXACT_MAX  (UINT64_C(1) << 53)


typedef struct {
    const unsigned char  *p;
    const unsigned char  *end;
    int                   depth;
} gw_json_parser_t;


static int gw_json_value(gw_json_parser_t *jp, cJSON *item);
static int gw_json_literal(gw_json_parser_t *jp, cJSON *item,
    const char *word, int type);
static int gw_json_container(gw_json_parser_t *jp, cJSON *item);
static int gw_json_string(gw_json_parser_t *jp, char **out);
static char *gw_json_unescape(const unsigned char *s,
    const unsigned char *e);
static int gw_json_hex4(const unsigned char *p);
static int gw_json_number(gw_json_parser_t *jp, cJSON *item);
static cJSON *gw_json_node(void);
static void gw_json_append(cJSON *parent, cJSON *last, cJSON *item);


#define gw_json_skip_ws(jp)                                                   \
    while ((jp)->p < (jp)->end                                                \
           && (*(jp)->p == ' ' || *(jp)->p == '\n' || *(jp)->p == '\r'        \
               || *(jp)->p == '\t'))                                          \
    {                                                                         \
        (jp)->p++;                                                            \
    }


/*
 * end == NULL: the text must be one JSON value and whitespace; otherwise
 * *end is where the value ended, and the caller judges what follows.
 */

cJSON *
gw_json_parse(const char *text, size_t len, const char **end)
{
    cJSON             *root;
    gw_json_parser_t   jp;

    if (text == NULL || len == 0) {
        return NULL;
    }

    jp.p = (const unsigned char *) text;
    jp.end = jp.p + len;
    jp.depth = 0;

    if (len >= 3 && memcmp(jp.p, "\xEF\xBB\xBF", 3) == 0) {
        jp.p += 3;
    }

    root = gw_json_node();
    if (root == NULL) {
        return NULL;
    }

    gw_json_skip_ws(&jp);

    if (gw_json_value(&jp, root) != GW_OK) {
        gw_json_delete(root);
        return NULL;
    }

    if (end != NULL) {
        *end = (const char *) jp.p;
        return root;
    }

    gw_json_skip_ws(&jp);

    if (jp.p != jp.end) {
        gw_json_delete(root);
        return NULL;
    }

    return root;
}


static int
gw_json_value(gw_json_parser_t *jp, cJSON *item)
{
    if (jp->p == jp->end) {
        return GW_ERROR;
    }

    switch (*jp->p) {

    case '"':
        item->type = cJSON_String;
        return gw_json_string(jp, &item->valuestring);

    case '{':
    case '[':
        return gw_json_container(jp, item);

    case 't':
        return gw_json_literal(jp, item, "true", cJSON_True);

    case 'f':
        return gw_json_literal(jp, item, "false", cJSON_False);

    case 'n':
        return gw_json_literal(jp, item, "null", cJSON_NULL);

    default:
        return gw_json_number(jp, item);
    }
}


/* true, false or null: cJSON gives true a valueint of 1 */

static int
gw_json_literal(gw_json_parser_t *jp, cJSON *item, const char *word,
    int type)
{
    size_t  len;

    len = strlen(word);

    if ((size_t) (jp->end - jp->p) < len || memcmp(jp->p, word, len) != 0) {
        return GW_ERROR;
    }

    item->type = type;
    item->valueint = (type == cJSON_True);
    jp->p += len;

    return GW_OK;
}


/* an array or an object: its members, each linked to it as it is made */

static int
gw_json_container(gw_json_parser_t *jp, cJSON *item)
{
    int             object;
    char           *key;
    cJSON          *last, *child;
    unsigned char   close;

    if (++jp->depth > GW_JSON_DEPTH_MAX) {
        return GW_ERROR;
    }

    object = (*jp->p == '{');
    close = object ? '}' : ']';

    item->type = object ? cJSON_Object : cJSON_Array;
    jp->p++;
    gw_json_skip_ws(jp);

    if (jp->p < jp->end && *jp->p == close) {
        jp->p++;
        jp->depth--;
        return GW_OK;
    }

    last = NULL;

    for ( ;; ) {
        key = NULL;

        if (object) {
            if (jp->p == jp->end || *jp->p != '"'
                || gw_json_string(jp, &key) != GW_OK)
            {
                return GW_ERROR;
            }

            gw_json_skip_ws(jp);

            if (jp->p == jp->end || *jp->p != ':') {
                gw_free(key);
                return GW_ERROR;
            }

            jp->p++;
            gw_json_skip_ws(jp);
        }

        child = gw_json_node();
        if (child == NULL) {
            gw_free(key);
            return GW_ERROR;
        }

        /* linked first: a failure below leaves one tree to delete */
        child->string = key;
        gw_json_append(item, last, child);
        last = child;

        if (gw_json_value(jp, child) != GW_OK) {
            return GW_ERROR;
        }

        gw_json_skip_ws(jp);

        if (jp->p == jp->end) {
            return GW_ERROR;
        }

        if (*jp->p == close) {
            jp->p++;
            jp->depth--;
            return GW_OK;
        }

        if (*jp->p != ',') {
            return GW_ERROR;
        }

        jp->p++;
        gw_json_skip_ws(jp);
    }
}


/* a string without escapes, the common case, is copied in one piece */

static int
gw_json_string(gw_json_parser_t *jp, char **out)
{
    char                 *s;
    size_t                n;
    const unsigned char  *start, *q;

    start = jp->p + 1;                              /* after '"' */
    q = gw_json_plain_run(start, jp->end);

    if (q == jp->end) {
        return GW_ERROR;
    }

    if (*q == '"') {
        n = (size_t) (q - start);

        s = gw_malloc(n + 1);
        if (s == NULL) {
            return GW_ERROR;
        }

        memcpy(s, start, n);
        s[n] = '\0';

        *out = s;
        jp->p = q + 1;
        return GW_OK;
    }

    /* an escape, or a byte no string may hold: find the end first */

    while (q < jp->end && *q != '"') {

        if (*q == '\\') {
            q++;

            if (q == jp->end) {
                return GW_ERROR;
            }

        } else if (*q < 0x20) {
            return GW_ERROR;
        }

        q++;
    }

    if (q == jp->end) {
        return GW_ERROR;
    }

    s = gw_json_unescape(start, q);
    if (s == NULL) {
        return GW_ERROR;
    }

    *out = s;
    jp->p = q + 1;
    return GW_OK;
}


/*
 * [s, e) holds escapes; every escape is at least as long as the UTF-8 it
 * stands for, so the text's length bounds the result.
 */

static char *
gw_json_unescape(const unsigned char *s, const unsigned char *e)
{
    int             cp, lo;
    unsigned char  *out, *o;

    out = gw_malloc((size_t) (e - s) + 1);
    if (out == NULL) {
        return NULL;
    }

    o = out;

    while (s < e) {

        if (*s != '\\') {
            *o++ = *s++;
            continue;
        }

        s++;

        switch (*s++) {
        case '"':  *o++ = '"';  continue;
        case '\\': *o++ = '\\'; continue;
        case '/':  *o++ = '/';  continue;
        case 'b':  *o++ = '\b'; continue;
        case 'f':  *o++ = '\f'; continue;
        case 'n':  *o++ = '\n'; continue;
        case 'r':  *o++ = '\r'; continue;
        case 't':  *o++ = '\t'; continue;
        case 'u':  break;
        default:   goto failed;
        }

        if (e - s < 4 || (cp = gw_json_hex4(s)) <= 0) {
            goto failed;                            /* \u0000 included */
        }

        s += 4;

        if (cp >= 0xDC00 && cp <= 0xDFFF) {
            goto failed;                            /* a lone low half */
        }

        if (cp >= 0xD800 && cp <= 0xDBFF) {

            if (e - s < 6 || s[0] != '\\' || s[1] != 'u') {
                goto failed;
            }

            lo = gw_json_hex4(s + 2);

            if (lo < 0xDC00 || lo > 0xDFFF) {
                goto failed;
            }

            s += 6;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }

        if (cp < 0x80) {
            *o++ = (unsigned char) cp;

        } else if (cp < 0x800) {
            *o++ = (unsigned char) (0xC0 | (cp >> 6));
            *o++ = (unsigned char) (0x80 | (cp & 0x3F));

        } else if (cp < 0x10000) {
            *o++ = (unsigned char) (0xE0 | (cp >> 12));
            *o++ = (unsigned char) (0x80 | ((cp >> 6) & 0x3F));
            *o++ = (unsigned char) (0x80 | (cp & 0x3F));

        } else {
            *o++ = (unsigned char) (0xF0 | (cp >> 18));
            *o++ = (unsigned char) (0x80 | ((cp >> 12) & 0x3F));
            *o++ = (unsigned char) (0x80 | ((cp >> 6) & 0x3F));
            *o++ = (unsigned char) (0x80 | (cp & 0x3F));
        }
    }

    *o = '\0';

    return (char *) out;

failed:

    gw_free(out);
    return NULL;
}


/* -1 unless four hex digits */

static int
gw_json_hex4(const unsigned char *p)
{
    int  i, v, c;

    v = 0;

    for (i = 0; i < 4; i++) {
        c = p[i];

        if (c >= '0' && c <= '9') {
            c -= '0';

        } else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
            c = (c | 0x20) - 'a' + 10;

        } else {
            return -1;
        }

        v = (v << 4) | c;
    }

    return v;
}


/*
 * A mantissa of at most 19 digits below 2^53 with a power of ten within
 * 10^22 converts exactly with one multiplication or division, which is
 * then correctly rounded (Clinger): that is every integer and every
 * decimal vendors send.  Anything else goes to strtod().
 */

static int
gw_json_number(gw_json_parser_t *jp, cJSON *item)
{
    int                   neg, digits, exp, eneg, e10, ok;
    double                d;
    uint64_t              m;
    const unsigned char  *p, *end, *start;

    p = jp->p;
    end = jp->end;
    start = p;

    neg = (*p == '-');
    p += neg;

    if (p == end || *p < '0' || *p > '9') {
        return GW_ERROR;
    }

    m = 0;
    digits = 0;
    exp = 0;

    if (*p == '0') {
        p++;

    } else {
        while (p < end && *p >= '0' && *p <= '9') {
            if (digits < 19) {
                m = m * 10 + (uint64_t) (*p - '0');
            } else {
                exp++;                              /* only for the limit */
            }

            digits++;
            p++;
        }
    }

    if (p < end && *p == '.') {
        p++;

        if (p == end || *p < '0' || *p > '9') {
            return GW_ERROR;
        }

        while (p < end && *p >= '0' && *p <= '9') {
            if (digits < 19) {
                m = m * 10 + (uint64_t) (*p - '0');
                exp--;
            }

            if (m != 0) {
                digits++;
            }

            p++;
        }
    }

    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        eneg = 0;

        if (p < end && (*p == '+' || *p == '-')) {
            eneg = (*p == '-');
            p++;
        }

        if (p == end || *p < '0' || *p > '9') {
            return GW_ERROR;
        }

        e10 = 0;

        while (p < end && *p >= '0' && *p <= '9') {
            if (e10 < 100000) {
                e10 = e10 * 10 + (*p - '0');
            }

            p++;
        }

        exp += eneg ? -e10 : e10;
    }

    if (digits <= 19 && m <= GW_JSON_EXACT_MAX && exp >= -22 && exp <= 22) {
        d = (double) m;
        d = (exp < 0) ? d / gw_pow10[-exp] : d * gw_pow10[exp];

        if (neg) {
            d = -d;
        }

    } else {
        d = gw_strtod((const char *) start, (size_t) (p - start), &ok);

        if (!ok) {
            return GW_ERROR;
        }
    }

    item->type = cJSON_Number;
    item->valuedouble = d;

    /* as cJSON: saturated */
    if (d >= INT_MAX) {
        item->valueint = INT_MAX;

    } else if (d <= (double) INT_MIN) {
        item->valueint = INT_MIN;

    } else {
        item->valueint = (int) d;
    }

    jp->p = p;
    return GW_OK;
}


static cJSON *
gw_json_node(void)
{
    cJSON  *item;

    item = gw_malloc(sizeof(cJSON));
    if (item != NULL) {
        memset(item, 0, sizeof(cJSON));
    }

    return item;
}


/* as cJSON_AddItemToArray(): the first child's prev is the last child */

static void
gw_json_append(cJSON *parent, cJSON *last, cJSON *item)
{
    if (last == NULL) {
        parent->child = item;

    } else {
        last->next = item;
        item->prev = last;
    }

    parent->child->prev = item;
}
