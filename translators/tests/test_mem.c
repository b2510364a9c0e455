
/*
 * gw_mem.c: the request arena behind gw_malloc() and gw_free().
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <gw.h>
#include <core/gw_core.h>
#include <sign/gw_sign.h>


static void
test_no_arena_is_malloc(void **state)
{
    char  *p;

    /* outside an exchange: plain malloc(), so free() takes it too */
    assert_null(gw_arena_use(NULL));

    p = gw_malloc(10);
    assert_non_null(p);
    memcpy(p, "123456789", 10);
    p = gw_realloc(p, 100);
    assert_string_equal(p, "123456789");
    free(p);
}


static void
test_bump_allocations(void **state)
{
    char        *a, *b, *c, *d;
    gw_arena_t  *arena;

    arena = gw_arena_create(1);
    assert_non_null(arena);
    assert_null(gw_arena_use(arena));

    a = gw_malloc(5);
    b = gw_malloc(17);
    assert_non_null(a);
    assert_non_null(b);
    assert_true(b > a);
    assert_int_equal((uintptr_t) a % 16, 0);
    assert_int_equal((uintptr_t) b % 16, 0);
    assert_int_equal(gw_arena_chunks(arena), 1);

    /* the most recent allocation is given back; an older one is not */
    gw_free(b);
    c = gw_malloc(17);
    assert_ptr_equal(c, b);
    gw_free(a);
    d = gw_malloc(1);
    assert_true(d > c);

    assert_ptr_equal(gw_arena_use(NULL), arena);
    gw_arena_destroy(arena);
}


static void
test_arena_realloc(void **state)
{
    char        *a, *b, *g;
    gw_arena_t  *arena;

    arena = gw_arena_create(1);
    gw_arena_use(arena);

    /* the last allocation grows in place */
    a = gw_malloc(8);
    memcpy(a, "abcdefg", 8);
    g = gw_realloc(a, 1000);
    assert_ptr_equal(g, a);
    assert_string_equal(g, "abcdefg");

    /* an older one moves, its bytes with it */
    b = gw_malloc(4);
    memcpy(b, "xyz", 4);
    g = gw_realloc(a, 2000);
    assert_ptr_not_equal(g, a);
    assert_string_equal(g, "abcdefg");
    assert_string_equal(b, "xyz");

    /* shrinking keeps the pointer */
    assert_ptr_equal(gw_realloc(b, 2), b);

    gw_arena_use(NULL);
    gw_arena_destroy(arena);
}


static void
test_arena_calloc(void **state)
{
    size_t          i;
    gw_arena_t     *arena;
    unsigned char  *p;

    arena = gw_arena_create(1);
    gw_arena_use(arena);

    /* dirty the memory that calloc then hands out again */
    p = gw_malloc(256);
    memset(p, 0xff, 256);
    gw_free(p);

    p = gw_calloc(16, 16);
    assert_non_null(p);
    for (i = 0; i < 256; i++) {
        assert_int_equal(p[i], 0);
    }

    assert_null(gw_calloc(SIZE_MAX / 2, 4));

    gw_arena_use(NULL);
    gw_arena_destroy(arena);
}


static void
test_chunks_and_large(void **state)
{
    int          i;
    char        *big, *p, *heap;
    gw_arena_t  *arena;

    heap = gw_malloc(32);       /* before the exchange: malloc() */

    arena = gw_arena_create(1);
    gw_arena_use(arena);

    for (i = 0; i < 2000; i++) {
        p = gw_malloc(100);
        assert_non_null(p);
        memset(p, i & 0xff, 100);
    }

    assert_true(gw_arena_chunks(arena) > 1);

    /* a large block is malloc()'s, and given back at once */
    big = gw_malloc(1 << 20);
    assert_non_null(big);
    memset(big, 1, 1 << 20);
    gw_free(big);

    /* memory from outside the arena is freed inside it */
    gw_free(heap);

    gw_arena_use(NULL);
    gw_arena_destroy(arena);
}


static void
test_large_blocks(void **state)
{
    char        *big, *other, *small;
    gw_arena_t  *arena;

    arena = gw_arena_create(1);
    gw_arena_use(arena);

    /* grown, shrunk into the chunks, or left for the arena to free */
    big = gw_malloc(100000);
    assert_non_null(big);
    memset(big, 'b', 100000);
    big = gw_realloc(big, 300000);
    assert_non_null(big);
    assert_int_equal(big[99999], 'b');

    other = gw_malloc(50000);
    assert_non_null(other);

    small = gw_realloc(big, 10);
    assert_non_null(small);
    assert_memory_equal(small, "bbbbbbbbbb", 10);

    other = gw_realloc(other, 70000);
    assert_non_null(other);
    other[69999] = 'x';

    /* not freed here: LeakSanitizer checks that the arena does */
    gw_arena_use(NULL);
    gw_arena_destroy(arena);
}


/* a tree in the arena is not walked to be freed; one outside it is */
static void
test_json_delete(void **state)
{
    char        *text;
    cJSON       *tree, *heap;
    gw_arena_t  *arena;

    gw_mem_init();

    heap = cJSON_CreateObject();     /* before the exchange: malloc() */
    assert_non_null(heap);

    arena = gw_arena_create(1);
    gw_arena_use(arena);

    text = gw_malloc(40000);
    assert_non_null(text);
    memset(text, 'a', 39999);
    text[39999] = '\0';

    tree = cJSON_CreateObject();
    assert_non_null(tree);
    assert_non_null(cJSON_AddStringToObject(tree, "long", text));
    assert_non_null(cJSON_AddNumberToObject(tree, "n", 1));
    gw_free(text);

    gw_json_delete(tree);
    gw_json_delete(heap);

    gw_arena_use(NULL);
    gw_arena_destroy(arena);

    cJSON_InitHooks(NULL);
}


static void
test_malloc_each(void **state)
{
    char        *p;
    gw_arena_t  *arena;

    /* the AddressSanitizer kind: every object is its own malloc() */
    arena = gw_arena_create(0);
    gw_arena_use(arena);

    p = gw_malloc(10);
    assert_non_null(p);
    gw_free(p);
    assert_int_equal(gw_arena_chunks(arena), 0);

    gw_arena_use(NULL);
    gw_arena_destroy(arena);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_no_arena_is_malloc),
        cmocka_unit_test(test_bump_allocations),
        cmocka_unit_test(test_arena_realloc),
        cmocka_unit_test(test_arena_calloc),
        cmocka_unit_test(test_chunks_and_large),
        cmocka_unit_test(test_large_blocks),
        cmocka_unit_test(test_json_delete),
        cmocka_unit_test(test_malloc_each),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
