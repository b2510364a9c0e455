
/*
 * JSON and string helpers.  Vendors send numbers both as JSON numbers and as
 * strings ("8", "1.0E-4"), so the readers accept both, strictly.
 */


#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <base/gw_base.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif


static int gw_out_reserve(gw_out_t *o, size_t n);
static int gw_out_uint(char *buf, uint64_t u);
static void gw_out_integer(gw_out_t *o, int64_t v);
static int gw_out_decimal(double d, char *buf);
static int gw_out_small_decimal(double d, char *buf);
static void gw_out_string(gw_out_t *o, const char *s);
static void gw_out_number(gw_out_t *o, double d);
static void gw_out_value(gw_out_t *o, const cJSON *v);


#define GW_JSON_ONES  UINT64_C(0x0101010101010101)

/* longer numeric strings are not numbers any vendor sends */
#define GW_NUM_STR_MAX  64


static int gw_parse_int_str(const char *s, int64_t *out);
static int gw_parse_num_str(const char *s, double *out);
static int gw_num_syntax_ok(const char *s);
static int gw_double_to_int(double d, int64_t *out);
static const char *gw_digits(const char *p, int n, int *out);
static int64_t gw_days_from_civil(int64_t y, int m, int d);
static int gw_days_in_month(int64_t y, int m);
static const char *gw_parse_tz(const char *p, int64_t *offset);


/*
 * cJSON_GetObjectItemCaseSensitive(), comparing the first byte before
 * strcmp(): a vendor object holds up to a hundred keys (a Slurm job), and
 * most differ from the one looked for in their first byte.
 */

cJSON *
gw_json_get(const cJSON *obj, const char *key)
{
    cJSON  *c;

    if (obj == NULL || key == NULL) {
        return NULL;
    }

    for (c = obj->child; c != NULL; c = c->next) {

        if (c->string == NULL) {
            return NULL;                            /* an array's items */
        }

        if (c->string[0] == key[0] && strcmp(c->string, key) == 0) {
            return c;
        }
    }

    return NULL;
}


const char *
gw_json_str(const cJSON *obj, const char *key)
{
    const cJSON  *item;

    item = gw_json_get(obj, key);

    if (!cJSON_IsString(item) || item->valuestring == NULL) {
        return NULL;
    }

    return item->valuestring;
}


int64_t
gw_json_int(const cJSON *obj, const char *key)
{
    double        d;
    int64_t       v;
    const cJSON  *item;

    item = gw_json_get(obj, key);

    if (cJSON_IsNumber(item)) {
        if (gw_double_to_int(item->valuedouble, &v)) {
            return v;
        }

        return GW_UNSET_INT;
    }

    if (!cJSON_IsString(item) || item->valuestring == NULL) {
        return GW_UNSET_INT;
    }

    /* exact for all 64-bit values; "8.0" falls back to the double path */
    if (gw_parse_int_str(item->valuestring, &v)) {
        return v;
    }

    if (gw_parse_num_str(item->valuestring, &d)
        && gw_double_to_int(d, &v))
    {
        return v;
    }

    return GW_UNSET_INT;
}


double
gw_json_num(const cJSON *obj, const char *key)
{
    double        d;
    const cJSON  *item;

    item = gw_json_get(obj, key);

    if (cJSON_IsNumber(item)) {
        d = item->valuedouble;
        return isfinite(d) ? d : GW_UNSET_NUM;
    }

    if (cJSON_IsString(item) && item->valuestring != NULL
        && gw_parse_num_str(item->valuestring, &d))
    {
        return d;
    }

    return GW_UNSET_NUM;
}


/* GW_UNSET_INT itself is never returned as a value */

static int
gw_double_to_int(double d, int64_t *out)
{
    int64_t  v;

    if (!(d > -9223372036854775808.0 && d < 9223372036854775808.0)) {
        return 0;
    }

    v = (int64_t) d;

    if ((double) v != d) {
        return 0;
    }

    *out = v;

    return 1;
}


/* [+-]?[0-9]+ exactly, within int64_t; no spaces, no hex */

static int
gw_parse_int_str(const char *s, int64_t *out)
{
    int        neg;
    uint64_t   v, lim, digit;

    neg = 0;

    if (*s == '-' || *s == '+') {
        neg = (*s == '-');
        s++;
    }

    if (*s < '0' || *s > '9') {
        return 0;
    }

    /* the magnitude of INT64_MIN is unset anyway, so one limit serves */
    lim = (uint64_t) INT64_MAX;
    v = 0;

    for ( /* void */ ; *s >= '0' && *s <= '9'; s++) {
        digit = (uint64_t) (*s - '0');

        if (v > (lim - digit) / 10) {
            return 0;
        }

        v = v * 10 + digit;
    }

    if (*s != '\0') {
        return 0;
    }

    *out = neg ? -(int64_t) v : (int64_t) v;

    return 1;
}


/*
 * A JSON-like number, with an optional '+' and leading zeros allowed.
 * strtod() alone would also take spaces, hex, "inf" and "nan".
 */

static int
gw_num_syntax_ok(const char *s)
{
    int  digits;

    if (*s == '-' || *s == '+') {
        s++;
    }

    digits = 0;

    while (*s >= '0' && *s <= '9') {
        s++;
        digits++;
    }

    if (*s == '.') {
        s++;

        while (*s >= '0' && *s <= '9') {
            s++;
            digits++;
        }
    }

    if (digits == 0) {
        return 0;
    }

    if (*s == 'e' || *s == 'E') {
        s++;

        if (*s == '-' || *s == '+') {
            s++;
        }

        if (*s < '0' || *s > '9') {
            return 0;
        }

        while (*s >= '0' && *s <= '9') {
            s++;
        }
    }

    return *s == '\0';
}


static int
gw_parse_num_str(const char *s, double *out)
{
    int      ok;
    double   d;
    size_t   len;

    len = strlen(s);

    if (len > GW_NUM_STR_MAX || !gw_num_syntax_ok(s)) {
        return 0;
    }

    d = gw_strtod(s, len, &ok);

    if (!ok || !isfinite(d)) {
        return 0;
    }

    *out = d;

    return 1;
}


/*
 * strtod() of the n bytes at s, which need not end in a NUL, read with '.'
 * whatever the locale's decimal point; *ok: all n bytes were the number.
 */

double
gw_strtod(const char *s, size_t n, int *ok)
{
    char           buf[GW_NUM_STR_MAX + 1], *copy, *dot, *after;
    double         d;
    struct lconv  *lc;

    copy = (n < sizeof(buf)) ? buf : gw_malloc(n + 1);
    if (copy == NULL) {
        *ok = 0;
        return 0;
    }

    memcpy(copy, s, n);
    copy[n] = '\0';

    lc = localeconv();

    if (lc != NULL && lc->decimal_point != NULL
        && lc->decimal_point[0] != '\0' && lc->decimal_point[1] == '\0')
    {
        dot = memchr(copy, '.', n);
        if (dot != NULL) {
            *dot = lc->decimal_point[0];
        }
    }

    d = strtod(copy, &after);
    *ok = (after == copy + n);

    if (copy != buf) {
        gw_free(copy);
    }

    return d;
}


/* v in decimal and a NUL into buf (21 bytes hold any); returns the length */

size_t
gw_int_str(char *buf, int64_t v)
{
    size_t  n;

    n = 0;

    if (v < 0) {
        buf[n++] = '-';
    }

    /* -v of INT64_MIN overflows; its unsigned negation does not */
    n += gw_out_uint(buf + n, v < 0 ? -(uint64_t) v : (uint64_t) v);
    buf[n] = '\0';

    return n;
}


/*
 * snprintf(dst, size, "%s%s%s", a, b, c) without printf (which costs a few
 * hundred instructions a call): the parts, cut to size - 1 bytes, and a
 * NUL.  A NULL part is empty.  Returns the length before the cut.
 */

size_t
gw_join(char *dst, size_t size, const char *a, const char *b, const char *c)
{
    size_t       i, n, len, room;
    const char  *parts[3];

    parts[0] = a;
    parts[1] = b;
    parts[2] = c;

    len = 0;

    for (i = 0; i < 3; i++) {
        if (parts[i] == NULL) {
            continue;
        }

        n = strlen(parts[i]);

        if (len + 1 < size) {
            room = size - len - 1;
            memcpy(dst + len, parts[i], n < room ? n : room);
        }

        len += n;
    }

    if (size > 0) {
        dst[len < size ? len : size - 1] = '\0';
    }

    return len;
}


char *
gw_strdup(const char *s)
{
    if (s == NULL) {
        return NULL;
    }

    return gw_strndup(s, strlen(s));
}


/* like POSIX strndup(): stops at n bytes or at a NUL */

char *
gw_strndup(const char *s, size_t n)
{
    char    *p;
    size_t   len;

    if (s == NULL) {
        return NULL;
    }

    len = strnlen(s, n);

    p = gw_malloc(len + 1);
    if (p == NULL) {
        return NULL;
    }

    memcpy(p, s, len);
    p[len] = '\0';

    return p;
}


char *
gw_json_print(const cJSON *json, size_t *len)
{
    gw_out_t  o;

    gw_out_init(&o);

    if (json == NULL) {
        o.failed = 1;

    } else {
        gw_out_value(&o, json);
    }

    return gw_out_done(&o, len);
}


/*
 * The writer: JSON written straight into one buffer, for answers that
 * would otherwise be built as a cJSON tree only to be printed.  Commas
 * are the writer's: a value after a value gets one, a value after a key
 * does not.  Failures stick and come out of gw_out_done() as NULL.
 */

void
gw_out_init(gw_out_t *o)
{
    o->p = NULL;
    o->len = 0;
    o->size = 0;
    o->failed = 0;
    o->comma = 0;
    o->after_key = 0;
}


/* the text, NUL-terminated, owned by the caller; NULL if anything failed */

char *
gw_out_done(gw_out_t *o, size_t *len)
{
    gw_out_put(o, "", 1);

    if (o->failed) {
        gw_free(o->p);
        o->p = NULL;
        o->len = 1;
    }

    if (len != NULL) {
        *len = o->len - 1;
    }

    return o->p;
}


void
gw_out_key(gw_out_t *o, const char *key)
{
    gw_out_sep(o);
    gw_out_string(o, key);
    gw_out_put(o, ":", 1);
    o->after_key = 1;
}


/* a key written in full by gw_out_lkey(): "\"name\":" */

/* c: '{' or '[' */

void
gw_out_open(gw_out_t *o, char c)
{
    gw_out_sep(o);
    gw_out_put(o, &c, 1);
    o->comma = 0;
}


/* c: '}' or ']' */

void
gw_out_close(gw_out_t *o, char c)
{
    gw_out_put(o, &c, 1);
    o->comma = 1;
    o->after_key = 0;
}


/* NULL is null */

void
gw_out_str(gw_out_t *o, const char *s)
{
    gw_out_sep(o);

    if (s == NULL) {
        gw_out_put(o, "null", 4);
        return;
    }

    gw_out_string(o, s);
}


/* GW_UNSET_INT is null; written as a double, as cJSON would */

void
gw_out_int(gw_out_t *o, int64_t v)
{
    gw_out_sep(o);

    if (v == GW_UNSET_INT) {
        gw_out_put(o, "null", 4);
        return;
    }

    if (v > -1000000000000000 && v < 1000000000000000) {
        gw_out_integer(o, v);
        return;
    }

    gw_out_number(o, (double) v);
}


/* NaN (unset) is null */

void
gw_out_num(gw_out_t *o, double d)
{
    gw_out_sep(o);

    if (!gw_has_num(d)) {
        gw_out_put(o, "null", 4);
        return;
    }

    gw_out_number(o, d);
}


void
gw_out_literal(gw_out_t *o, const char *text)
{
    gw_out_sep(o);
    gw_out_put(o, text, strlen(text));
}


void
gw_out_json(gw_out_t *o, const cJSON *v)
{
    gw_out_sep(o);
    gw_out_value(o, v);
}


/*
 * The printer of gw_json_print(): cJSON's compact output, byte for byte,
 * written in one growing buffer.  cJSON prints every non-integral number
 * with sprintf() and reads it back with sscanf(); this one writes
 * integral numbers by hand and checks the short form with strtod().
 * gw_out_put() (base/gw_base.h) writes inline while the buffer has room.
 */

void
gw_out_grow(gw_out_t *o, const char *s, size_t n)
{
    if (gw_out_reserve(o, n)) {
        memcpy(o->p + o->len, s, n);
        o->len += n;
    }
}


/* room for n more bytes: 1, or 0 once anything failed */

static int
gw_out_reserve(gw_out_t *o, size_t n)
{
    char    *p;
    size_t   size;

    if (o->failed) {
        return 0;
    }

    if (o->len + n > o->size || o->p == NULL) {
        size = o->size ? o->size * 2 : 2048;
        while (size < o->len + n) {
            size *= 2;
        }

        p = gw_realloc(o->p, size);
        if (p == NULL) {
            o->failed = 1;
            return 0;
        }

        o->p = p;
        o->size = size;
    }

    return 1;
}


/* 1: the byte is written as it is; 0: escaped, or the end (NUL) */

#define GW_JSON_PLAIN16  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1

static const unsigned char  gw_json_plain[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,             /* 0x00 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,             /* 0x10 */
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,             /* 0x22 */
    GW_JSON_PLAIN16, GW_JSON_PLAIN16,                           /* 0x30 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,             /* 0x5c */
    GW_JSON_PLAIN16, GW_JSON_PLAIN16,                           /* 0x60 */
    GW_JSON_PLAIN16, GW_JSON_PLAIN16, GW_JSON_PLAIN16, GW_JSON_PLAIN16,
    GW_JSON_PLAIN16, GW_JSON_PLAIN16, GW_JSON_PLAIN16, GW_JSON_PLAIN16
};


/*
 * Whether any of the 8 bytes at p is '"', '\\' or below 0x20: a string is
 * scanned a word at a time.  (x - 0x01..) & ~x & 0x80.. is nonzero exactly
 * when a byte of x is zero; with 0x20.. when a byte is below 0x20.
 */

static inline uint64_t
gw_json_special8(const unsigned char *p)
{
    uint64_t  w, q, b;

    memcpy(&w, p, 8);

    q = w ^ (GW_JSON_ONES * '"');
    b = w ^ (GW_JSON_ONES * '\\');

    return (((q - GW_JSON_ONES) & ~q)
            | ((b - GW_JSON_ONES) & ~b)
            | ((w - GW_JSON_ONES * 0x20) & ~w))
           & (GW_JSON_ONES * 0x80);
}


#if defined(__SSE2__)

/* the same for 16 bytes, one bit a byte in memory order (every x86-64) */

static inline uint64_t
gw_json_special16(const unsigned char *p)
{
    __m128i  v, low;

    v = _mm_loadu_si128((const __m128i *) p);

    /* v <= 0x1f, unsigned, where max(v, 0x1f) is 0x1f */
    low = _mm_cmpeq_epi8(_mm_max_epu8(v, _mm_set1_epi8(0x1f)),
                         _mm_set1_epi8(0x1f));

    return (unsigned) _mm_movemask_epi8(
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                  _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
                     low));
}

#endif


/*
 * The first byte in [p, end) that a JSON string cannot hold as it is
 * ('"', '\\', below 0x20), or end: 16 bytes at a time, then 8, then one.
 * The parser finds a string's end with it.  (The writer's strings are
 * short and end at a NUL: it reads them a byte at a time.)
 */

const unsigned char *
gw_json_plain_run(const unsigned char *p, const unsigned char *end)
{
    uint64_t  special;

#if defined(__SSE2__)
    while (end - p >= 16) {
        special = gw_json_special16(p);

        if (special != 0) {
            return p + __builtin_ctz((unsigned) special);
        }

        p += 16;
    }
#endif

    while (end - p >= 8) {
        special = gw_json_special8(p);

        if (special != 0) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            /* the lowest flag is exact (flags above it may be a borrow's),
             * and on a little-endian machine its byte comes first */
            p += __builtin_ctzll(special) >> 3;
#endif
            break;
        }

        p += 8;
    }

    while (p < end && gw_json_plain[*p]) {
        p++;
    }

    return p;
}


static void
gw_out_string(gw_out_t *o, const char *s)
{
    char                 esc[8], *d;
    size_t               n;
    const unsigned char  *p, *run;

    /* most strings need no escape: written in one piece */
    for (p = (const unsigned char *) s; gw_json_plain[*p]; p++) {
        /* void */
    }

    if (*p == '\0') {
        n = p - (const unsigned char *) s;

        if (gw_out_reserve(o, n + 2)) {
            d = o->p + o->len;
            d[0] = '"';
            memcpy(d + 1, s, n);
            d[n + 1] = '"';
            o->len += n + 2;
        }

        return;
    }

    gw_out_put(o, "\"", 1);

    for (p = run = (const unsigned char *) s; /* void */ ; p++) {

        while (gw_json_plain[*p]) {
            p++;
        }

        if (*p == '\0') {
            break;
        }

        gw_out_put(o, (const char *) run, p - run);
        run = p + 1;

        switch (*p) {

        case '"':
            gw_out_put(o, "\\\"", 2);
            break;

        case '\\':
            gw_out_put(o, "\\\\", 2);
            break;

        case '\b':
            gw_out_put(o, "\\b", 2);
            break;

        case '\f':
            gw_out_put(o, "\\f", 2);
            break;

        case '\n':
            gw_out_put(o, "\\n", 2);
            break;

        case '\r':
            gw_out_put(o, "\\r", 2);
            break;

        case '\t':
            gw_out_put(o, "\\t", 2);
            break;

        default:
            snprintf(esc, sizeof(esc), "\\u%04x", *p);
            gw_out_put(o, esc, 6);
            break;
        }
    }

    gw_out_put(o, (const char *) run, p - run);
    gw_out_put(o, "\"", 1);
}


static void
gw_out_number(gw_out_t *o, double d)
{
    int     n;
    char    buf[32];
    double  back;

    if (d != d || d - d != 0) {
        gw_out_put(o, "null", 4);     /* NaN and infinities, as cJSON */
        return;
    }

    if (d > -1e15 && d < 1e15 && d == (double) (int64_t) d) {
        gw_out_integer(o, (int64_t) d);
        return;
    }

    n = gw_out_decimal(d, buf);
    if (n > 0) {
        gw_out_put(o, buf, (size_t) n);
        return;
    }

    n = snprintf(buf, sizeof(buf), "%1.15g", d);
    back = strtod(buf, NULL);

    if (back != d) {
        n = snprintf(buf, sizeof(buf), "%1.17g", d);
    }

    gw_out_put(o, buf, (size_t) n);
}


/* |v| below 10^15: the same digits as printf's %1.15g */

static void
gw_out_integer(gw_out_t *o, int64_t v)
{
    if (!gw_out_reserve(o, 21)) {
        return;
    }

    o->len += gw_int_str(o->p + o->len, v);
}


/* two digits at a time, from the right */

static const char  gw_out_digit_pairs[] =
    "0001020304050607080910111213141516171819"
    "2021222324252627282930313233343536373839"
    "4041424344454647484950515253545556575859"
    "6061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";


/* the decimal digits of u, not NUL-terminated; returns their count */

static int
gw_out_uint(char *buf, uint64_t u)
{
    int       n;
    char     *p;
    uint64_t  t;

    n = 1;

    for (t = u; t >= 10; t /= 10) {
        n++;
    }

    p = buf + n;

    while (u >= 100) {
        p -= 2;
        memcpy(p, &gw_out_digit_pairs[(u % 100) * 2], 2);
        u /= 100;
    }

    if (u >= 10) {
        memcpy(buf, &gw_out_digit_pairs[u * 2], 2);

    } else {
        *buf = (char) ('0' + u);
    }

    return n;
}


/* the powers of ten a double holds exactly */

const double  gw_pow10[23] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};


/*
 * What "%1.15g" writes for a short decimal (0.0001, 1.2345, 3e-05 is not
 * one), without printf: the smallest k for which m / 10^k is d again, m
 * an integer below 10^15.  Then m / 10^k is the decimal that strtod()
 * reads back as d, and the one that d rounds to at 15 digits, which %g
 * writes with its trailing zeros removed.  %g writes 1e-4 <= |d| < 1e15
 * without an exponent; outside that range, or with no such k, returns 0.
 */

static int
gw_out_decimal(double d, char *buf)
{
    int                  k, i;
    char                *p;
    double               a, m;
    uint64_t             u, frac, ip;
    a = (d < 0) ? -d : d;

    if (a > 0 && a < 1e-4) {
        return gw_out_small_decimal(d, buf);
    }

    if (!(a >= 1e-4 && a < 1e15)) {
        return 0;
    }

    for (k = 1; k < 20; k++) {
        m = a * gw_pow10[k];

        if (m >= 1e15) {
            return 0;
        }

        u = (uint64_t) (m + 0.5);

        if ((double) u / gw_pow10[k] != a) {
            continue;
        }

        ip = u / (uint64_t) gw_pow10[k];
        frac = u % (uint64_t) gw_pow10[k];

        p = buf;

        if (d < 0) {
            *p++ = '-';
        }

        p += gw_out_uint(p, ip);
        *p++ = '.';

        for (i = k - 1; i >= 0; i--) {
            p[i] = (char) ('0' + frac % 10);
            frac /= 10;
        }

        p += k;
        *p = '\0';

        return (int) (p - buf);
    }

    return 0;
}


/*
 * The same below 1e-4, where %g writes an exponent: 3e-05, 1.5e-10.  The
 * smallest k for which m / 10^k is d again, with 10^k exact (k <= 22),
 * gives the digits of m; the exponent follows from their count.
 */

static int
gw_out_small_decimal(double d, char *buf)
{
    int        k, n, e;
    char      *p, digits[24];
    double     a, m;
    uint64_t   u;

    a = (d < 0) ? -d : d;

    for (k = 5; k <= 22; k++) {
        m = a * gw_pow10[k];

        if (m >= 1e15) {
            return 0;
        }

        u = (uint64_t) (m + 0.5);

        if (u == 0 || (double) u / gw_pow10[k] != a) {
            continue;
        }

        n = gw_out_uint(digits, u);
        e = k - (n - 1);                            /* d = m.mmm e-e */

        p = buf;

        if (d < 0) {
            *p++ = '-';
        }

        *p++ = digits[0];

        if (n > 1) {
            *p++ = '.';
            memcpy(p, digits + 1, n - 1);
            p += n - 1;
        }

        *p++ = 'e';
        *p++ = '-';

        if (e >= 100) {
            *p++ = (char) ('0' + e / 100);
        }

        *p++ = (char) ('0' + e / 10 % 10);
        *p++ = (char) ('0' + e % 10);
        *p = '\0';

        return (int) (p - buf);
    }

    return 0;
}


static void
gw_out_value(gw_out_t *o, const cJSON *v)
{
    const cJSON  *c;

    switch (v->type & 0xff) {

    case cJSON_NULL:
        gw_out_put(o, "null", 4);
        break;

    case cJSON_False:
        gw_out_put(o, "false", 5);
        break;

    case cJSON_True:
        gw_out_put(o, "true", 4);
        break;

    case cJSON_Number:
        gw_out_number(o, v->valuedouble);
        break;

    case cJSON_String:
        gw_out_string(o, v->valuestring ? v->valuestring : "");
        break;

    case cJSON_Raw:
        if (v->valuestring != NULL) {
            gw_out_put(o, v->valuestring, strlen(v->valuestring));
        }
        break;

    case cJSON_Array:
    case cJSON_Object:
        gw_out_put(o, (v->type & cJSON_Array) ? "[" : "{", 1);

        for (c = v->child; c != NULL; c = c->next) {
            if (c != v->child) {
                gw_out_put(o, ",", 1);
            }

            if (v->type & cJSON_Object) {
                gw_out_string(o, c->string ? c->string : "");
                gw_out_put(o, ":", 1);
            }

            gw_out_value(o, c);
        }

        gw_out_put(o, (v->type & cJSON_Array) ? "]" : "}", 1);
        break;

    default:
        o->failed = 1;
        break;
    }
}


/* ---- ISO 8601 -------------------------------------------------------- */


static const char *
gw_digits(const char *p, int n, int *out)
{
    int  i, v;

    v = 0;

    for (i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return NULL;
        }

        v = v * 10 + (p[i] - '0');
    }

    *out = v;

    return p + n;
}


/* days since 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant) */

static int64_t
gw_days_from_civil(int64_t y, int m, int d)
{
    int64_t  era, yoe, doy, doe;

    y -= (m <= 2);
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + doe - 719468;
}


static int
gw_days_in_month(int64_t y, int m)
{
    static const int  days[] = { 31, 28, 31, 30, 31, 30,
                                 31, 31, 30, 31, 30, 31 };

    if (m == 2 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))) {
        return 29;
    }

    return days[m - 1];
}


/* "Z", "+09", "+0900" or "+09:00"; offset in seconds east of UTC */

static const char *
gw_parse_tz(const char *p, int64_t *offset)
{
    int  sign, hh, mm;

    if (*p == 'Z' || *p == 'z') {
        *offset = 0;
        return p + 1;
    }

    if (*p != '+' && *p != '-') {
        return NULL;
    }

    sign = (*p == '-') ? -1 : 1;

    p = gw_digits(p + 1, 2, &hh);
    if (p == NULL) {
        return NULL;
    }

    mm = 0;

    if (*p == ':') {
        p = gw_digits(p + 1, 2, &mm);

    } else if (*p >= '0' && *p <= '9') {
        p = gw_digits(p, 2, &mm);
    }

    if (p == NULL || hh > 23 || mm > 59) {
        return NULL;
    }

    *offset = sign * (int64_t) (hh * 3600 + mm * 60);

    return p;
}


/*
 * "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HHMM|+HH:MM|+HH)".  The offset is
 * required: a time without one is ambiguous, and is answered unparsable.
 * Fractions are truncated.  No libc time function is used, so neither TZ
 * nor the locale matter.
 */

int64_t
gw_parse_iso8601(const char *s)
{
    int          year, mon, day, hh, mi, ss;
    int64_t      days, offset;
    const char  *p;

    if (s == NULL) {
        return GW_UNSET_INT;
    }

    p = gw_digits(s, 4, &year);
    if (p == NULL || *p++ != '-') {
        return GW_UNSET_INT;
    }

    p = gw_digits(p, 2, &mon);
    if (p == NULL || *p++ != '-') {
        return GW_UNSET_INT;
    }

    p = gw_digits(p, 2, &day);
    if (p == NULL || (*p != 'T' && *p != 't' && *p != ' ')) {
        return GW_UNSET_INT;
    }

    p = gw_digits(p + 1, 2, &hh);
    if (p == NULL || *p++ != ':') {
        return GW_UNSET_INT;
    }

    p = gw_digits(p, 2, &mi);
    if (p == NULL || *p++ != ':') {
        return GW_UNSET_INT;
    }

    p = gw_digits(p, 2, &ss);
    if (p == NULL) {
        return GW_UNSET_INT;
    }

    if (*p == '.' || *p == ',') {
        p++;

        if (*p < '0' || *p > '9') {
            return GW_UNSET_INT;
        }

        while (*p >= '0' && *p <= '9') {
            p++;
        }
    }

    p = gw_parse_tz(p, &offset);
    if (p == NULL || *p != '\0') {
        return GW_UNSET_INT;
    }

    /* second 60 is a leap second: it counts as the next minute's 0 */
    if (mon < 1 || mon > 12 || day < 1 || day > gw_days_in_month(year, mon)
        || hh > 23 || mi > 59 || ss > 60)
    {
        return GW_UNSET_INT;
    }

    days = gw_days_from_civil(year, mon, day);

    return days * 86400 + hh * 3600 + mi * 60 + ss - offset;
}


/* characters of a UTF-8 string (continuation bytes are not counted) */
size_t
gw_utf8_chars(const char *s)
{
    size_t  n;

    for (n = 0; *s != '\0'; s++) {
        if (((unsigned char) *s & 0xc0) != 0x80) {
            n++;
        }
    }

    return n;
}
