
/*
 * The OpenAI chat fine-tuning format, checked line by line as a file
 * streams in (gw_chatfile.c).  Memory: one line, at most max_line bytes,
 * and the JSON tree of that line.
 */


#ifndef _GW_CHATFILE_H_INCLUDED_
#define _GW_CHATFILE_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define GW_CHAT_MIN_EXAMPLES   10            /* OpenAI's minimum */
#define GW_CHAT_LINE_MAX       (4 * 1024 * 1024)


typedef struct {
    char       *line;
    size_t      len;
    size_t      size;
    size_t      max_line;
    int64_t     line_no;         /* lines read so far */
    int64_t     examples;        /* valid non-blank lines */
    int64_t     bytes;
    int         overlong;        /* the current line passed max_line */
    int         failed;          /* detail says why; the rest is skipped */
    int         nomem;
    char        code[32];        /* "invalid_file_format", ... */
    char        detail[256];     /* OpenAI's status_details */
} gw_chat_check_t;


void gw_chat_check_init(gw_chat_check_t *c, size_t max_line);
void gw_chat_check_feed(gw_chat_check_t *c, const char *p, size_t n);
/* the file ended: the last line, then the example count */
void gw_chat_check_finish(gw_chat_check_t *c, int64_t min_examples);
void gw_chat_check_free(gw_chat_check_t *c);

/* 1 when [p, p + n) is valid UTF-8 (no overlong form, no surrogate) */
int gw_utf8_valid(const unsigned char *p, size_t n, size_t *bad_at);


#endif /* _GW_CHATFILE_H_INCLUDED_ */
