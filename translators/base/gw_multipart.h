
/*
 * A streaming multipart/form-data parser (RFC 2046 section 5.1.1,
 * RFC 7578).  Bytes go in as they come, in chunks of any size (one byte
 * is fine); it keeps no more than one part's header block (8 KB) and
 * calls back for each part's start, data and end.  A body that stops
 * before the close delimiter is truncated: gw_mp_finish() refuses it.
 */


#ifndef _GW_MULTIPART_H_INCLUDED_
#define _GW_MULTIPART_H_INCLUDED_


#include <stddef.h>


#define GW_MP_BOUNDARY_MAX   70
#define GW_MP_HEADERS_MAX    8192
#define GW_MP_NAME_MAX       256


typedef enum {
    GW_MP_OK = 0,            /* more input wanted */
    GW_MP_DONE = 1,          /* the close delimiter was read */
    GW_MP_FAIL = -1          /* malformed, or a callback said stop: err */
} gw_mp_rc_t;


typedef struct {
    /* a part's headers were read; name and filename ("" when absent) */
    int   (*part)(void *data, const char *name, const char *filename,
                  int has_filename);
    /* some of its content; called any number of times */
    int   (*body)(void *data, const char *p, size_t n);
    /* its content ended */
    int   (*end)(void *data);
    void   *data;
} gw_mp_handler_t;


typedef struct {
    int              state;
    /* "\r\n--" boundary */
    char             delim[4 + GW_MP_BOUNDARY_MAX + 1];
    size_t           delim_len;
    size_t           matched;        /* delimiter bytes matched so far */
    char             head[GW_MP_HEADERS_MAX];
    size_t           head_len;
    size_t           parts;
    char             name[GW_MP_NAME_MAX];
    char             filename[GW_MP_NAME_MAX];
    int              has_filename;
    char             err[128];
    gw_mp_handler_t  h;
} gw_mp_t;


/*
 * content_type: the request's Content-Type.  GW_MP_FAIL when it is not
 * multipart/form-data with a valid boundary (err says why).
 */
gw_mp_rc_t gw_mp_init(gw_mp_t *mp, const char *content_type, size_t len,
    const gw_mp_handler_t *h);
gw_mp_rc_t gw_mp_feed(gw_mp_t *mp, const char *p, size_t n);
/* the body ended: GW_MP_DONE, or GW_MP_FAIL for a truncated one */
gw_mp_rc_t gw_mp_finish(gw_mp_t *mp);


#endif /* _GW_MULTIPART_H_INCLUDED_ */
