
/*
 * The base layer: memory (the request arena), JSON (parser, writer and
 * readers), strings and crypto helpers.  It includes nothing of the
 * translators' other layers; from include/gw.h it takes only the basic
 * types (gw_rc_t) and the declarations of gw_mem_init() and
 * gw_random_bytes(), which the public API exports.
 */


#ifndef _GW_BASE_H_INCLUDED_
#define _GW_BASE_H_INCLUDED_


#include <string.h>

#include <gw.h>
#include <cjson/cJSON.h>


#define GW_UNSET_INT     INT64_MIN
#define gw_has_num(d)    ((d) == (d))             /* NaN = unset */
#define GW_UNSET_NUM     (0.0 / 0.0)


/* a * b, or GW_UNSET_INT where a vendor's numbers would overflow it */

static inline int64_t
gw_mul(int64_t a, int64_t b)
{
    int64_t  r;

    return __builtin_mul_overflow(a, b, &r) ? GW_UNSET_INT : r;
}


/* ---- memory -------------------------------------------------------- */

/*
 * The translators allocate through these: from the current arena while an
 * exchange runs, from malloc() otherwise; gw_free() takes either.
 */
#define GW_ARENA_CHUNK   32768
/* larger blocks come from malloc(), listed in the arena */
#define GW_ARENA_LARGE   (GW_ARENA_CHUNK / 2)
#define GW_ARENA_ALIGN   16
/* the size of each allocation, kept in front of it for gw_realloc() */
#define GW_ARENA_HEADER  GW_ARENA_ALIGN

#define gw_arena_round(n)                                                     \
    (((n) + GW_ARENA_ALIGN - 1) & ~((size_t) GW_ARENA_ALIGN - 1))

typedef struct {
    char               *pos;
    char               *end;
} gw_arena_window_t;

/* the free space of the current chunk, while the current arena bumps */
extern gw_arena_window_t  *gw_arena_window;

void *gw_malloc_slow(size_t n);


/* a request allocates a few hundred small objects: a bump, inline */

static inline void *
gw_malloc(size_t n)
{
    char               *p;
    size_t              size;
    gw_arena_window_t  *w;

    w = gw_arena_window;
    size = GW_ARENA_HEADER + gw_arena_round(n);

    if (w == NULL || n > GW_ARENA_LARGE
        || size > (size_t) (w->end - w->pos))
    {
        return gw_malloc_slow(n);
    }

    p = w->pos;
    w->pos += size;
    *(size_t *) p = n;

    return p + GW_ARENA_HEADER;
}


void *gw_calloc(size_t n, size_t size);
void *gw_realloc(void *p, size_t n);
void gw_free(void *p);

typedef struct gw_arena_s  gw_arena_t;

/* bump: 1 bump allocator, 0 malloc() each object, -1 the build's default
 * (malloc() under AddressSanitizer) */
gw_arena_t *gw_arena_create(int bump);
void gw_arena_set_default(int bump);
void gw_arena_destroy(gw_arena_t *a);
/* makes a (or NULL) current; returns the arena current before */
gw_arena_t *gw_arena_use(gw_arena_t *a);
size_t gw_arena_chunks(const gw_arena_t *a);
/* cJSON_Delete(), or nothing for a tree that the current arena frees */
void gw_json_delete(cJSON *item);


/* ---- JSON helpers -------------------------------------------------- */

/*
 * RFC 8259 text to a cJSON tree (gw_json_parse.c); end == NULL: nothing but
 * whitespace may follow the value, else *end is where it ended
 */
cJSON *gw_json_parse(const char *text, size_t len, const char **end);

/* the first byte in [p, end) that a JSON string must escape, or end */
const unsigned char *gw_json_plain_run(const unsigned char *p,
    const unsigned char *end);
/* strtod() of n bytes, '.' whatever the locale; *ok: all n were read */
double gw_strtod(const char *s, size_t n, int *ok);
/* cJSON_GetObjectItemCaseSensitive(), faster on objects of many keys */
cJSON *gw_json_get(const cJSON *obj, const char *key);
const char *gw_json_str(const cJSON *obj, const char *key);
/* integer from a number or a numeric string; GW_UNSET_INT if absent */
int64_t gw_json_int(const cJSON *obj, const char *key);
/* number or numeric string; NaN if absent */
double gw_json_num(const cJSON *obj, const char *key);
/* snprintf(dst, size, "%s%s%s", a, b, c) without printf; NULL is empty */
size_t gw_join(char *dst, size_t size, const char *a, const char *b,
    const char *c);
#define gw_copy(dst, size, s)  gw_join(dst, size, s, NULL, NULL)
/* 10^0 .. 10^22, the powers of ten a double holds exactly */
extern const double  gw_pow10[23];
/* snprintf(buf, 21, "%lld", v) without printf; returns the length */
size_t gw_int_str(char *buf, int64_t v);
char *gw_strdup(const char *s);
size_t gw_utf8_chars(const char *s);
char *gw_strndup(const char *s, size_t n);
/* printed JSON (unformatted), malloc'd */
char *gw_json_print(const cJSON *json, size_t *len);

/* JSON written without a tree: see gw_out_init() in gw_json.c */
typedef struct {
    char               *p;
    size_t              len;
    size_t              size;
    int                 failed;
    int                 comma;       /* a value was written at this level */
    int                 after_key;
} gw_out_t;

void gw_out_init(gw_out_t *o);
char *gw_out_done(gw_out_t *o, size_t *len);
void gw_out_grow(gw_out_t *o, const char *s, size_t n);


/* inline while the buffer has room: a constant n becomes a move, no call */

static inline void
gw_out_put(gw_out_t *o, const char *s, size_t n)
{
    if (o->len + n <= o->size && o->p != NULL) {
        memcpy(o->p + o->len, s, n);
        o->len += n;
        return;
    }

    gw_out_grow(o, s, n);
}


/* the comma before a value, unless it is the first or follows its key */

static inline void
gw_out_sep(gw_out_t *o)
{
    if (o->comma && !o->after_key) {
        gw_out_put(o, ",", 1);
    }

    o->comma = 1;
    o->after_key = 0;
}


static inline void
gw_out_key_quoted(gw_out_t *o, const char *quoted, size_t len)
{
    gw_out_sep(o);
    gw_out_put(o, quoted, len);
    o->after_key = 1;
}


void gw_out_key(gw_out_t *o, const char *key);
/* a literal key that needs no escape, quoted at compile time */
#define gw_out_lkey(o, key)                                                   \
    gw_out_key_quoted(o, "\"" key "\":", sizeof(key) + 2)
void gw_out_open(gw_out_t *o, char c);
void gw_out_close(gw_out_t *o, char c);
void gw_out_str(gw_out_t *o, const char *s);
void gw_out_int(gw_out_t *o, int64_t v);
void gw_out_num(gw_out_t *o, double d);
void gw_out_literal(gw_out_t *o, const char *text);   /* null, true, ... */
void gw_out_json(gw_out_t *o, const cJSON *v);

/* "2023-08-21T13:07:06+0900" (or with a colon, or Z) -> unix seconds */
int64_t gw_parse_iso8601(const char *s);


/* ---- crypto -------------------------------------------------------- */

/* the padded states of the 8 most recent keys are kept (one thread) */
void gw_hmac_sha256(const void *key, size_t key_len, const void *data,
    size_t len, unsigned char out[32]);
void gw_sha256(const void *data, size_t len, unsigned char out[32]);
void gw_hex(const unsigned char *in, size_t len, char *out);  /* 2*len+1 */
/* standard base64 with padding; out needs 4*((len+2)/3)+1 */
size_t gw_base64(const unsigned char *in, size_t len, char *out);
/* url-safe, no padding */
size_t gw_base64url(const unsigned char *in, size_t len, char *out);
/* -1 on a bad character; out needs 3*len/4+3 */
long gw_base64url_decode(const char *in, size_t len, unsigned char *out);
/* constant time for equal lengths */
int gw_memeq_ct(const void *a, const void *b, size_t len);



#endif /* _GW_BASE_H_INCLUDED_ */
