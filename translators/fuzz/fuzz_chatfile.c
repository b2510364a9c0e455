
/*
 * The JSONL chat-format checker (core/gw_chatfile.c), which sees a file
 * as it streams: the same file fed whole and in chunks whose sizes the
 * input's first bytes give has the same verdict (failed, code, detail),
 * the same line, example and byte counts.
 *
 * Input: flags (bit 0: a 64-byte line limit, else the default; bits 1-7:
 * the minimum example count), FUZZ_NSIZES chunk sizes, the file.
 */


#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gw.h>
#include <core/gw_chatfile.h>

#include "fuzz_chunks.h"


static void
check(gw_chat_check_t *c, size_t max_line, int64_t min,
    const uint8_t *p, size_t len, fuzz_chunks_t *chunks)
{
    size_t  i, n;

    gw_chat_check_init(c, max_line);

    for (i = 0; i < len; i += n) {
        n = chunks ? fuzz_chunk(chunks, len - i) : len - i;
        gw_chat_check_feed(c, (const char *) p + i, n);
    }

    gw_chat_check_finish(c, min);
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
    size_t           max_line, len;
    int64_t          min;
    fuzz_chunks_t    chunks;
    gw_chat_check_t  a, b;
    const uint8_t   *file;

    if (size < 1 + FUZZ_NSIZES) {
        return 0;
    }

    max_line = (data[0] & 1) ? 64 : 0;
    min = data[0] >> 1;
    memcpy(chunks.sizes, data + 1, FUZZ_NSIZES);
    chunks.i = 0;
    file = data + 1 + FUZZ_NSIZES;
    len = size - 1 - FUZZ_NSIZES;

    check(&a, max_line, min, file, len, NULL);
    check(&b, max_line, min, file, len, &chunks);

    if (a.nomem || b.nomem) {
        fprintf(stderr, "out of memory\n");
        abort();
    }

    if (a.bytes != (int64_t) len || b.bytes != (int64_t) len) {
        fprintf(stderr, "bytes %lld, %lld of %zu\n", (long long) a.bytes,
                (long long) b.bytes, len);
        abort();
    }

    if (a.failed != b.failed || a.line_no != b.line_no
        || a.examples != b.examples
        || (a.failed && (strcmp(a.code, b.code) != 0
                         || strcmp(a.detail, b.detail) != 0)))
    {
        fprintf(stderr, "whole: failed %d line %lld examples %lld %s %s\n"
                "chunked: failed %d line %lld examples %lld %s %s\n",
                a.failed, (long long) a.line_no, (long long) a.examples,
                a.code, a.detail, b.failed, (long long) b.line_no,
                (long long) b.examples, b.code, b.detail);
        abort();
    }

    if (!a.failed && a.examples < min) {
        fprintf(stderr, "%lld examples accepted, minimum %lld\n",
                (long long) a.examples, (long long) min);
        abort();
    }

    gw_chat_check_free(&a);
    gw_chat_check_free(&b);

    return 0;
}
