
/*
 * gw_keys.c: the keys of ftgw_secret_file, one a line, and the mistakes
 * nginx -t refuses, each naming its line.
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <gw.h>


#define K1  "1111111111111111111111111111111111111111111111111111111111111111"
#define K2  "2222222222222222222222222222222222222222222222222222222222222222"
#define K32 "abcdefghijklmnopqrstuvwxyz012345"


typedef struct {
    gw_id_key_t   keys[GW_KEYS_MAX];
    size_t        n;
    size_t        line;
    size_t        first;
} parsed_t;


static gw_keys_rc_t
parse(const char *text, parsed_t *p)
{
    memset(p, 0xa5, sizeof(parsed_t));

    return gw_keys_parse((const unsigned char *) text, strlen(text), p->keys,
                         &p->n, &p->line, &p->first);
}


static void
key_is(const parsed_t *p, size_t i, const char *want)
{
    assert_true(i < p->n);
    assert_int_equal(p->keys[i].len, strlen(want));
    assert_memory_equal(p->keys[i].data, want, strlen(want));
}


/* the format before rotation: the whole file, its newline stripped */
static void
test_one_key(void **state)
{
    parsed_t  p;

    (void) state;

    assert_int_equal(parse(K1, &p), GW_KEYS_OK);
    assert_int_equal(p.n, 1);
    key_is(&p, 0, K1);

    assert_int_equal(parse(K32, &p), GW_KEYS_OK);
    key_is(&p, 0, K32);

    /* spaces are part of a key, as they always were */
    assert_int_equal(parse(" " K32 " ", &p), GW_KEYS_OK);
    key_is(&p, 0, " " K32 " ");
}


static void
test_several_keys_in_order(void **state)
{
    parsed_t  p;

    (void) state;

    assert_int_equal(parse(K2 "\n" K1, &p), GW_KEYS_OK);
    assert_int_equal(p.n, 2);
    key_is(&p, 0, K2);
    key_is(&p, 1, K1);

    /* CRLF, comments, empty lines, a trailing newline */
    assert_int_equal(parse("# new, 2026-12\r\n" K2 "\r\n\r\n"
                           "# old: remove in January\n\n" K1 "\r\n\n", &p),
                     GW_KEYS_OK);
    assert_int_equal(p.n, 2);
    key_is(&p, 0, K2);
    key_is(&p, 1, K1);
}


static void
test_short_key_names_its_line(void **state)
{
    parsed_t  p;

    (void) state;

    assert_int_equal(parse("short", &p), GW_KEYS_SHORT);
    assert_int_equal(p.line, 1);

    /* 31 bytes, on line 4 */
    assert_int_equal(parse(K1 "\n# c\n\n" "abcdefghijklmnopqrstuvwxyz01234\n"
                           K2, &p), GW_KEYS_SHORT);
    assert_int_equal(p.line, 4);

    /* a '\r' does not count towards the 32 bytes */
    assert_int_equal(parse(K1 "\nabcdefghijklmnopqrstuvwxyz01234\r\n", &p),
                     GW_KEYS_SHORT);
    assert_int_equal(p.line, 2);
}


static void
test_duplicate_names_both_lines(void **state)
{
    parsed_t  p;

    (void) state;

    assert_int_equal(parse(K1 "\n" K2 "\n\n" K1 "\n", &p),
                     GW_KEYS_DUPLICATE);
    assert_int_equal(p.line, 4);
    assert_int_equal(p.first, 1);

    /* the same key with CRLF and LF endings */
    assert_int_equal(parse("#\n" K2 "\r\n" K2, &p), GW_KEYS_DUPLICATE);
    assert_int_equal(p.line, 3);
    assert_int_equal(p.first, 2);

    /* a key and a longer one that starts with it differ */
    assert_int_equal(parse(K32 "\n" K32 "6", &p), GW_KEYS_OK);
    assert_int_equal(p.n, 2);
}


static void
test_limit_and_none(void **state)
{
    size_t    i;
    char      text[GW_KEYS_MAX * 40 + 64];
    parsed_t  p;

    (void) state;

    text[0] = '\0';

    for (i = 0; i < GW_KEYS_MAX; i++) {
        sprintf(text + strlen(text), "%s%zu\n", K32, i);
    }

    assert_int_equal(parse(text, &p), GW_KEYS_OK);
    assert_int_equal(p.n, GW_KEYS_MAX);

    strcat(text, "# one more\n" K32 "x\n");
    assert_int_equal(parse(text, &p), GW_KEYS_TOO_MANY);
    assert_int_equal(p.line, GW_KEYS_MAX + 2);

    assert_int_equal(parse("", &p), GW_KEYS_NONE);
    assert_int_equal(p.n, 0);
    assert_int_equal(parse("# only a comment\n\n\r\n", &p), GW_KEYS_NONE);
    assert_int_equal(p.line, 0);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_one_key),
        cmocka_unit_test(test_several_keys_in_order),
        cmocka_unit_test(test_short_key_names_its_line),
        cmocka_unit_test(test_duplicate_names_both_lines),
        cmocka_unit_test(test_limit_and_none),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
