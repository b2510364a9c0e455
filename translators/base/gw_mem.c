
/*
 * Memory of the translators: one arena per client request.
 *
 * A request builds and drops a few hundred small objects (cJSON nodes,
 * strings, the job record), all of which die with the request.  Through
 * malloc() and free() they cost about a third of the gateway's
 * instructions; from an arena they cost a pointer bump, and the whole
 * arena goes back in one step when the exchange is freed.
 *
 * The translators keep their malloc()/free() discipline, through
 * gw_malloc() and gw_free(), and the exchange makes its arena current for
 * the duration of each call into it.  gw_free() of arena memory does
 * nothing (or steps back over the most recent allocation); of anything
 * else, it frees.  So a pointer from either world may be freed in the
 * other, and code outside an exchange (configuration, unit tests) works
 * on plain malloc().  A large allocation comes from malloc(), so that a
 * request reading big vendor pages gives their memory back early, and is
 * listed in the arena, so that the arena frees it if nobody else does:
 * a tree built in the arena need not be walked to be freed
 * (gw_json_delete()).
 *
 * Under AddressSanitizer an arena allocates every object with malloc(),
 * so that the sanitizer sees each one; the unit tests also run with the
 * bump allocator (gw_arena_set_default()), where the sanitizer still
 * catches arena memory handed to free().
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <base/gw_base.h>


typedef struct gw_arena_chunk_s  gw_arena_chunk_t;

struct gw_arena_chunk_s {
    gw_arena_chunk_t  *next;
    char              *end;
    /* 16-byte aligned data follows */
};


/* in front of a large block; 32 bytes keep the block 16-byte aligned */

typedef struct gw_arena_large_s  gw_arena_large_t;

struct gw_arena_large_s {
    gw_arena_large_t  *next;
    gw_arena_large_t  *prev;
    size_t             size;
    size_t             unused;
};


struct gw_arena_s {
    gw_arena_window_t  win;        /* the current chunk's free space */
    int                bump;
    gw_arena_chunk_t  *chunks;     /* the current chunk first */
    gw_arena_large_t  *large;
};


static void *gw_arena_alloc(gw_arena_t *a, size_t n);
static void *gw_arena_alloc_large(gw_arena_t *a, size_t n);
static gw_arena_large_t *gw_arena_find_large(const gw_arena_t *a,
    const void *p);
static void gw_arena_link_large(gw_arena_t *a, gw_arena_large_t *l);
static void gw_arena_unlink_large(gw_arena_t *a, gw_arena_large_t *l);
static int gw_arena_owns(const gw_arena_t *a, const void *p);
static gw_arena_t *gw_arena_bumping(void);
static void *gw_mem_malloc(size_t n);


#if defined(__SANITIZE_ADDRESS__)
static int  gw_arena_bump_default = 0;
#else
static int  gw_arena_bump_default = 1;
#endif

static gw_arena_t        *gw_arena_current;
/* the current arena's free space if it bumps: gw_malloc()'s inline path */
gw_arena_window_t        *gw_arena_window;
/* one chunk kept for the next request: no malloc() of 32 KB per request */
static gw_arena_chunk_t  *gw_arena_spare;


#define gw_arena_data(c)                                                      \
    ((char *) (c) + gw_arena_round(sizeof(gw_arena_chunk_t)))


gw_arena_t *
gw_arena_create(int bump)
{
    gw_arena_t  *a;

    a = malloc(sizeof(gw_arena_t));
    if (a == NULL) {
        return NULL;
    }

    a->bump = bump < 0 ? gw_arena_bump_default : bump;
    a->win.pos = NULL;
    a->win.end = NULL;
    a->chunks = NULL;
    a->large = NULL;

    return a;
}


/* the unit tests run once with each kind */

void
gw_arena_set_default(int bump)
{
    gw_arena_bump_default = bump;
}


void
gw_arena_destroy(gw_arena_t *a)
{
    gw_arena_large_t  *l, *lnext;
    gw_arena_chunk_t  *c, *next;

    if (a == NULL) {
        return;
    }

    if (gw_arena_current == a) {
        gw_arena_current = NULL;
        gw_arena_window = NULL;
    }

    for (l = a->large; l; l = lnext) {
        lnext = l->next;
        free(l);
    }

    for (c = a->chunks; c; c = next) {
        next = c->next;

        if (gw_arena_spare == NULL
            && c->end == (char *) c + GW_ARENA_CHUNK)
        {
            gw_arena_spare = c;
            continue;
        }

        free(c);
    }

    free(a);
}


gw_arena_t *
gw_arena_use(gw_arena_t *a)
{
    gw_arena_t  *prev;

    prev = gw_arena_current;
    gw_arena_current = a;
    gw_arena_window = (a != NULL && a->bump) ? &a->win : NULL;

    return prev;
}


size_t
gw_arena_chunks(const gw_arena_t *a)
{
    size_t                   n;
    const gw_arena_chunk_t  *c;

    n = 0;

    for (c = a->chunks; c; c = c->next) {
        n++;
    }

    return n;
}


static void *
gw_arena_alloc(gw_arena_t *a, size_t n)
{
    char              *p;
    size_t             size;
    gw_arena_chunk_t  *c;

    size = GW_ARENA_HEADER + gw_arena_round(n);

    if (size > (size_t) (a->win.end - a->win.pos)) {

        if (gw_arena_spare != NULL) {
            c = gw_arena_spare;
            gw_arena_spare = NULL;

        } else {
            c = malloc(GW_ARENA_CHUNK);
            if (c == NULL) {
                return NULL;
            }

            c->end = (char *) c + GW_ARENA_CHUNK;
        }

        c->next = a->chunks;
        a->chunks = c;
        a->win.pos = gw_arena_data(c);
        a->win.end = c->end;
    }

    p = a->win.pos;
    a->win.pos += size;

    *(size_t *) p = n;

    return p + GW_ARENA_HEADER;
}


static void *
gw_arena_alloc_large(gw_arena_t *a, size_t n)
{
    gw_arena_large_t  *l;

    if (n > SIZE_MAX - sizeof(gw_arena_large_t)) {
        return NULL;
    }

    l = malloc(sizeof(gw_arena_large_t) + n);
    if (l == NULL) {
        return NULL;
    }

    l->size = n;
    gw_arena_link_large(a, l);

    return l + 1;
}


static void
gw_arena_link_large(gw_arena_t *a, gw_arena_large_t *l)
{
    l->prev = NULL;
    l->next = a->large;

    if (a->large != NULL) {
        a->large->prev = l;
    }

    a->large = l;
}


/* a request holds few large blocks: a list is enough */

static gw_arena_large_t *
gw_arena_find_large(const gw_arena_t *a, const void *p)
{
    gw_arena_large_t  *l;

    for (l = a->large; l; l = l->next) {
        if ((const void *) (l + 1) == p) {
            return l;
        }
    }

    return NULL;
}


static void
gw_arena_unlink_large(gw_arena_t *a, gw_arena_large_t *l)
{
    if (l->prev != NULL) {
        l->prev->next = l->next;

    } else {
        a->large = l->next;
    }

    if (l->next != NULL) {
        l->next->prev = l->prev;
    }
}


/* the current arena if it bumps; NULL: malloc() and free() as they are */

static gw_arena_t *
gw_arena_bumping(void)
{
    gw_arena_t  *a;

    a = gw_arena_current;

    return (a != NULL && a->bump) ? a : NULL;
}


static int
gw_arena_owns(const gw_arena_t *a, const void *p)
{
    const char              *cp = p;
    const gw_arena_chunk_t  *c;

    for (c = a->chunks; c; c = c->next) {
        if (cp > (const char *) c && cp < c->end) {
            return 1;
        }
    }

    return 0;
}


/* gw_malloc() (base/gw_base.h) when the chunk has no room, or no arena */

void *
gw_malloc_slow(size_t n)
{
    gw_arena_t  *a;

    a = gw_arena_bumping();

    if (a == NULL) {
        return malloc(n ? n : 1);
    }

    if (n > GW_ARENA_LARGE) {
        return gw_arena_alloc_large(a, n);
    }

    return gw_arena_alloc(a, n);
}


void *
gw_calloc(size_t n, size_t size)
{
    void  *p;

    if (size != 0 && n > SIZE_MAX / size) {
        return NULL;
    }

    p = gw_malloc(n * size);
    if (p != NULL) {
        memset(p, 0, n * size);
    }

    return p;
}


void *
gw_realloc(void *p, size_t n)
{
    void              *q;
    size_t             old;
    gw_arena_t        *a;
    gw_arena_large_t  *l;

    if (p == NULL) {
        return gw_malloc(n);
    }

    a = gw_arena_bumping();

    if (a == NULL) {
        return realloc(p, n ? n : 1);
    }

    if (!gw_arena_owns(a, p)) {
        l = gw_arena_find_large(a, p);

        if (l == NULL) {
            return realloc(p, n ? n : 1);
        }

        /* shrunk to a small size: moved into the chunks */
        if (n <= GW_ARENA_LARGE || n > SIZE_MAX - sizeof(gw_arena_large_t)) {
            q = gw_malloc(n);
            if (q == NULL) {
                return NULL;
            }

            memcpy(q, p, n < l->size ? n : l->size);
            gw_arena_unlink_large(a, l);
            free(l);
            return q;
        }

        gw_arena_unlink_large(a, l);

        q = realloc(l, sizeof(gw_arena_large_t) + n);
        if (q == NULL) {
            gw_arena_link_large(a, l);      /* the old block is still valid */
            return NULL;
        }

        l = q;
        l->size = n;
        gw_arena_link_large(a, l);

        return l + 1;
    }

    old = *(size_t *) ((char *) p - GW_ARENA_HEADER);

    /* the most recent allocation grows in place while the chunk allows */
    if ((char *) p + gw_arena_round(old) == a->win.pos
        && gw_arena_round(n) <= (size_t) (a->win.end - (char *) p))
    {
        a->win.pos = (char *) p + gw_arena_round(n);
        *(size_t *) ((char *) p - GW_ARENA_HEADER) = n;
        return p;
    }

    if (n <= old) {
        return p;
    }

    q = gw_malloc(n);
    if (q == NULL) {
        return NULL;
    }

    memcpy(q, p, old);
    gw_free(p);

    return q;
}


void
gw_free(void *p)
{
    size_t             n;
    gw_arena_t        *a;
    gw_arena_large_t  *l;

    if (p == NULL) {
        return;
    }

    a = gw_arena_bumping();

    if (a == NULL) {
        free(p);
        return;
    }

    if (!gw_arena_owns(a, p)) {
        l = gw_arena_find_large(a, p);

        if (l != NULL) {
            gw_arena_unlink_large(a, l);
            p = l;
        }

        free(p);
        return;
    }

    /* the most recent allocation is given back: parsers free in order */
    n = *(size_t *) ((char *) p - GW_ARENA_HEADER);

    if ((char *) p + gw_arena_round(n) == a->win.pos) {
        a->win.pos = (char *) p - GW_ARENA_HEADER;
    }
}


/*
 * A tree whose root is in the current bump arena is the arena's, and the
 * arena gives all of it back at once: walking it to free each node would
 * cost as much as building it.
 */

void
gw_json_delete(cJSON *item)
{
    gw_arena_t  *a;

    a = gw_arena_bumping();

    if (item != NULL && a != NULL && gw_arena_owns(a, item)) {
        return;
    }

    cJSON_Delete(item);
}


static void *
gw_mem_malloc(size_t n)
{
    return gw_malloc(n);
}


/* cJSON allocates through the gateway's functions, so into the arena */

void
gw_mem_init(void)
{
    cJSON_Hooks  hooks;

    hooks.malloc_fn = gw_mem_malloc;
    hooks.free_fn = gw_free;

    cJSON_InitHooks(&hooks);
}
