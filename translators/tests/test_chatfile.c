
/*
 * gw_chatfile.c: the OpenAI chat fine-tuning format, line by line.
 * Golden cases, each fed whole, in 1-byte chunks and in 7-byte chunks;
 * the UTF-8 checker against every 1-, 2- and 3-byte sequence.
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <base/gw_base.h>
#include <core/gw_chatfile.h>


#define GOOD  "{\"messages\":[{\"role\":\"system\",\"content\":\"s\"}," \
              "{\"role\":\"user\",\"content\":\"q\"}," \
              "{\"role\":\"assistant\",\"content\":\"a\"}]}\n"
#define GOOD10  GOOD GOOD GOOD GOOD GOOD GOOD GOOD GOOD GOOD GOOD
#define GOOD9   GOOD GOOD GOOD GOOD GOOD GOOD GOOD GOOD GOOD
#define S_GOOD_BAD  GOOD "bad\n" GOOD10


typedef struct {
    const char  *text;
    size_t       len;            /* 0: strlen */
    const char  *code;           /* NULL: valid */
    const char  *detail;         /* a part of it */
    int64_t      examples;       /* when valid */
} golden_t;


static const golden_t  golden[] = {
    { GOOD10, 0, NULL, NULL, 10 },
    /* blank lines, CRLF, a BOM, no final newline */
    { "\xef\xbb\xbf" GOOD "\n\r\n  \n" GOOD9 "{\"messages\":[{\"role\":"
      "\"user\",\"content\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"},"
      "{\"role\":\"assistant\",\"content\":\"b\",\"weight\":0}]}", 0,
      NULL, NULL, 11 },
    { "{\"messages\":[{\"role\":\"user\",\"content\":\"q\"},"
      "{\"role\":\"assistant\",\"content\":\"a\"}]}\r\n" GOOD9, 0, NULL,
      NULL, 10 },
    { "{\"messages\":[{\"role\":\"user\",\"content\":\"q\",\"name\":\"n\"},"
      "{\"role\":\"assistant\",\"content\":\"a\",\"weight\":1}],"
      "\"tools\":[]}\n" GOOD9, 0, NULL, NULL, 10 },

    { "", 0, "invalid_n_examples", "Training file has 0 example(s), but "
      "must have at least 10 examples.", 0 },
    { GOOD9, 0, "invalid_n_examples", "has 9 example(s)", 0 },
    { GOOD "\n\n", 0, "invalid_n_examples", "has 1 example(s)", 0 },

    { GOOD "not json\n" GOOD9, 0, "invalid_file_format",
      "Invalid file format. Line 2 cannot be parsed: it is not valid JSON.",
      0 },
    { GOOD GOOD "{\"messages\":[]", 0, "invalid_file_format",
      "Line 3 cannot be parsed", 0 },
    { "[1,2]\n", 0, "invalid_file_format", "Line 1 is not a JSON object.",
      0 },
    { "{\"prompt\":\"a\",\"completion\":\"b\"}\n", 0, "invalid_file_format",
      "Line 1 contains an extra \"prompt\".", 0 },
    { "{}\n", 0, "invalid_file_format", "Line 1 has no \"messages\".", 0 },
    { "{\"messages\":[]}\n", 0, "invalid_file_format",
      "Line 1: \"messages\" must be a non-empty array.", 0 },
    { "{\"messages\":{}}\n", 0, "invalid_file_format",
      "must be a non-empty array", 0 },
    { "{\"messages\":[1]}\n", 0, "invalid_file_format",
      "Line 1, message 1 is not an object.", 0 },
    { GOOD "{\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}\n", 0,
      "invalid_file_format", "Line 2 has no assistant message.", 0 },
    { "{\"messages\":[{\"content\":\"q\"}]}\n", 0, "invalid_file_format",
      "Line 1, message 1: \"role\" is missing.", 0 },
    { "{\"messages\":[{\"role\":\"user\",\"content\":\"q\"},"
      "{\"role\":\"tool\",\"content\":\"a\"}]}\n", 0, "invalid_file_format",
      "Line 1, message 2 has an unrecognized role \"tool\"", 0 },
    { "{\"messages\":[{\"role\":7,\"content\":\"q\"}]}\n", 0,
      "invalid_file_format", "\"role\" is missing", 0 },
    { "{\"messages\":[{\"role\":\"user\",\"content\":[\"q\"]}]}\n", 0,
      "invalid_file_format", "Line 1, message 1: \"content\" must be a "
      "string.", 0 },
    { "{\"messages\":[{\"role\":\"assistant\",\"content\":null}]}\n", 0,
      "invalid_file_format", "\"content\" must be a string", 0 },
    { "{\"messages\":[{\"role\":\"user\"}]}\n", 0, "invalid_file_format",
      "\"content\" must be a string", 0 },
    { "{\"messages\":[{\"role\":\"user\",\"content\":\"q\",\"x\":1}]}\n", 0,
      "invalid_file_format", "message 1 contains an extra \"x\"", 0 },
    { "{\"messages\":[{\"role\":\"user\",\"content\":\"q\",\"weight\":0}]}"
      "\n", 0, "invalid_file_format", "\"weight\" is 0 or 1", 0 },
    { "{\"messages\":[{\"role\":\"assistant\",\"content\":\"q\","
      "\"weight\":2}]}\n", 0, "invalid_file_format", "\"weight\" is 0 or 1",
      0 },
    { "{\"messages\":[{\"role\":\"user\",\"content\":\"q\",\"name\":1}]}\n",
      0, "invalid_file_format", "\"name\" must be a string", 0 },

    /* bad UTF-8: a lone continuation, overlong, a surrogate, truncated */
    { GOOD "{\"messages\":[{\"role\":\"user\",\"content\":\"\x80\"}]}\n", 0,
      "invalid_file_format", "Line 2 is not valid UTF-8 (byte 40).", 0 },
    { "{\"messages\":[{\"role\":\"user\",\"content\":\"\xc0\xaf\"}]}\n", 0,
      "invalid_file_format", "not valid UTF-8", 0 },
    { "{\"messages\":[{\"role\":\"user\",\"content\":\"\xed\xa0\x80\"}]}\n",
      0, "invalid_file_format", "not valid UTF-8", 0 },
    { "{\"messages\":[{\"role\":\"user\",\"content\":\"\xe2\x82\"}]}\n", 0,
      "invalid_file_format", "not valid UTF-8", 0 },
    { "{\"messages\":[{\"role\":\"user\",\"content\":\"\xff\"}]}\n", 0,
      "invalid_file_format", "not valid UTF-8", 0 },
    /* a NUL inside a line is not JSON */
    { "{\"messages\":[]}\0\n", 17, "invalid_file_format",
      "cannot be parsed", 0 },
};


static void
check_one(const golden_t *g, size_t step)
{
    size_t           i, n, len;
    gw_chat_check_t  c;

    len = g->len ? g->len : strlen(g->text);

    gw_chat_check_init(&c, 0);

    if (step == 0) {
        step = len ? len : 1;
    }

    for (i = 0; i < len; i += n) {
        n = (len - i < step) ? len - i : step;
        gw_chat_check_feed(&c, g->text + i, n);
    }

    gw_chat_check_finish(&c, GW_CHAT_MIN_EXAMPLES);

    assert_false(c.nomem);
    assert_int_equal(c.bytes, len);

    if (g->code == NULL) {
        if (c.failed) {
            fail_msg("step %zu: \"%.60s\" refused: %s", step, g->text,
                     c.detail);
        }

        assert_int_equal(c.examples, g->examples);
        return;
    }

    if (!c.failed) {
        fail_msg("step %zu: \"%.60s\" accepted", step, g->text);
    }

    assert_string_equal(c.code, g->code);

    if (strstr(c.detail, g->detail) == NULL) {
        fail_msg("step %zu: detail \"%s\", want \"%s\"", step, c.detail,
                 g->detail);
    }

    assert_null(c.line);
}


static void
test_golden(void **state)
{
    size_t  i;

    (void) state;

    for (i = 0; i < sizeof(golden) / sizeof(golden[0]); i++) {
        check_one(&golden[i], 0);
        check_one(&golden[i], 1);
        check_one(&golden[i], 7);
    }
}


static void
test_long_line(void **state)
{
    char            *big;
    size_t           n;
    gw_chat_check_t  c;

    (void) state;

    /* a line over the limit is refused without being kept */
    big = malloc(100000);
    assert_non_null(big);
    memset(big, 'x', 100000);

    gw_chat_check_init(&c, 1000);
    gw_chat_check_feed(&c, GOOD, strlen(GOOD));
    for (n = 0; n < 20; n++) {
        gw_chat_check_feed(&c, big, 100000);
        assert_true(c.size <= 1000);
    }
    gw_chat_check_feed(&c, "\n", 1);
    gw_chat_check_finish(&c, 1);
    assert_true(c.failed);
    assert_string_equal(c.detail, "Invalid file format. Line 2 is longer "
                        "than 1000 bytes.");

    /* the same at the end of the file, with no newline */
    gw_chat_check_init(&c, 1000);
    gw_chat_check_feed(&c, big, 100000);
    gw_chat_check_finish(&c, 1);
    assert_true(c.failed);
    assert_string_equal(c.detail, "Invalid file format. Line 1 is longer "
                        "than 1000 bytes.");

    /* a long line under the limit is fine */
    gw_chat_check_init(&c, 200000);
    n = (size_t) sprintf(big, "{\"messages\":[{\"role\":\"assistant\","
                         "\"content\":\"");
    memset(big + n, 'a', 90000);
    n += 90000;
    memcpy(big + n, "\"}]}\n", 5);
    gw_chat_check_feed(&c, big, n + 5);
    gw_chat_check_finish(&c, 1);
    assert_false(c.failed);
    assert_int_equal(c.examples, 1);

    free(big);
}


/*
 * Empty lines before any line was kept (fuzz_chatfile found it): no line
 * buffer yet, and nothing copied into the missing one (memcpy() at NULL
 * + 0 is undefined; UBSan stops on it).
 */
static void
test_empty_first_lines(void **state)
{
    int              i;
    gw_chat_check_t  c;

    (void) state;

    gw_chat_check_init(&c, 0);
    gw_chat_check_feed(&c, "\n", 1);
    gw_chat_check_feed(&c, "\n\n", 2);
    assert_null(c.line);
    assert_false(c.failed);

    for (i = 0; i < GW_CHAT_MIN_EXAMPLES; i++) {
        gw_chat_check_feed(&c, GOOD, strlen(GOOD));
    }

    gw_chat_check_finish(&c, GW_CHAT_MIN_EXAMPLES);
    assert_false(c.failed);
    assert_int_equal(c.line_no, 3 + GW_CHAT_MIN_EXAMPLES);
    assert_int_equal(c.examples, GW_CHAT_MIN_EXAMPLES);
    gw_chat_check_free(&c);
}


/* after the first bad line the rest is only counted */
static void
test_first_error_kept(void **state)
{
    gw_chat_check_t  c;

    (void) state;

    gw_chat_check_init(&c, 0);
    gw_chat_check_feed(&c, S_GOOD_BAD, sizeof(S_GOOD_BAD) - 1);
    gw_chat_check_finish(&c, 10);
    assert_true(c.failed);
    assert_non_null(strstr(c.detail, "Line 2 "));
    assert_int_equal(c.bytes, sizeof(S_GOOD_BAD) - 1);
}


/* an independent decoder: is this 1-4 byte sequence one scalar value? */
static int
ref_valid(const unsigned char *p, size_t n)
{
    unsigned int  cp;

    if (n == 1) {
        return p[0] < 0x80;
    }

    if (n == 2) {
        if ((p[0] & 0xe0) != 0xc0 || (p[1] & 0xc0) != 0x80) {
            return 0;
        }

        cp = ((p[0] & 0x1fu) << 6) | (p[1] & 0x3fu);
        return cp >= 0x80;
    }

    if ((p[0] & 0xf0) != 0xe0 || (p[1] & 0xc0) != 0x80
        || (p[2] & 0xc0) != 0x80)
    {
        return 0;
    }

    cp = ((p[0] & 0x0fu) << 12) | ((p[1] & 0x3fu) << 6) | (p[2] & 0x3fu);
    return cp >= 0x800 && (cp < 0xd800 || cp > 0xdfff);
}


static void
test_utf8_exhaustive(void **state)
{
    unsigned int   a, b, c;
    unsigned char  s[4];

    (void) state;

    for (a = 0; a < 256; a++) {
        s[0] = (unsigned char) a;
        assert_int_equal(gw_utf8_valid(s, 1, NULL), ref_valid(s, 1));

        for (b = 0; b < 256; b++) {
            s[1] = (unsigned char) b;

            /* a 2-byte string is valid as one sequence or two ASCII */
            assert_int_equal(gw_utf8_valid(s, 2, NULL),
                             ref_valid(s, 2)
                             || (ref_valid(s, 1) && ref_valid(s + 1, 1)));

            if (a < 0xe0 || a > 0xef) {
                continue;
            }

            for (c = 0; c < 256; c++) {
                s[2] = (unsigned char) c;
                assert_int_equal(gw_utf8_valid(s, 3, NULL),
                                 ref_valid(s, 3));
            }
        }
    }

    /* 4 bytes: the edges */
    assert_true(gw_utf8_valid((const unsigned char *) "\xf0\x90\x80\x80", 4,
                              NULL));
    assert_true(gw_utf8_valid((const unsigned char *) "\xf4\x8f\xbf\xbf", 4,
                              NULL));
    assert_false(gw_utf8_valid((const unsigned char *) "\xf4\x90\x80\x80",
                               4, NULL));
    assert_false(gw_utf8_valid((const unsigned char *) "\xf0\x8f\xbf\xbf",
                               4, NULL));
    assert_false(gw_utf8_valid((const unsigned char *) "\xf5\x80\x80\x80",
                               4, NULL));
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_long_line),
        cmocka_unit_test(test_first_error_kept),
        cmocka_unit_test(test_empty_first_lines),
        cmocka_unit_test(test_utf8_exhaustive),
    };

    gw_mem_init();

    return cmocka_run_group_tests(tests, NULL, NULL);
}
