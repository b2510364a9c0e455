
/*
 * The chunk sizes of the streaming targets, driven by the input's first
 * bytes: sizes[i % FUZZ_NSIZES] + 1 bytes a feed, cycling.
 */


#ifndef _FUZZ_CHUNKS_H_INCLUDED_
#define _FUZZ_CHUNKS_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define FUZZ_NSIZES  4


typedef struct {
    uint8_t  sizes[FUZZ_NSIZES];
    size_t   i;
} fuzz_chunks_t;


static inline size_t
fuzz_chunk(fuzz_chunks_t *c, size_t left)
{
    size_t  n;

    /* mostly small chunks, now and then a large one */
    n = c->sizes[c->i++ % FUZZ_NSIZES];
    n = (n & 0x80) ? (size_t) (n & 0x7f) * 64 + 1 : (size_t) (n & 0x1f) + 1;

    return n < left ? n : left;
}


#endif /* _FUZZ_CHUNKS_H_INCLUDED_ */
