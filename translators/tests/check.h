
/*
 * Checks shared by the exchange tests: JSON paths ("data.0.id") and
 * substrings, each failing with the caller's file and line and what it
 * got.  check.c is linked into every unit test.
 */


#ifndef _GW_TEST_CHECK_H_INCLUDED_
#define _GW_TEST_CHECK_H_INCLUDED_


#include <stdint.h>
#include <cjson/cJSON.h>

#include <gw.h>


/* an expected integer that is JSON null */
#define NUL                INT64_MIN


void check_fail(const char *file, int line, const char *fmt, ...);

const cJSON *jget(const cJSON *root, const char *path);
const char *jstr(const cJSON *root, const char *path);
void got_text(const cJSON *v, char *out, size_t size);

void jstr_eq(const cJSON *root, const char *path, const char *want,
    const char *file, int line);
void jint_eq(const cJSON *root, const char *path, int64_t want,
    const char *file, int line);
void jnum_eq(const cJSON *root, const char *path, double want,
    const char *file, int line);
void jbool_eq(const cJSON *root, const char *path, int want,
    const char *file, int line);
void jabsent(const cJSON *root, const char *path, const char *file,
    int line);
void str_has(const char *s, const char *part, const char *file, int line);
void str_lacks(const char *s, const char *part, const char *file, int line);

const char *header(const gw_call_t *call, const char *name);
void print_result(gw_exchange_t *ex);


#define JSTR(r, p, w)      jstr_eq(r, p, w, __FILE__, __LINE__)
#define JINT(r, p, w)      jint_eq(r, p, w, __FILE__, __LINE__)
#define JNUM(r, p, w)      jnum_eq(r, p, w, __FILE__, __LINE__)
#define JBOOL(r, p, w)     jbool_eq(r, p, w, __FILE__, __LINE__)
#define JABSENT(r, p)      jabsent(r, p, __FILE__, __LINE__)
#define HAS(s, part)       str_has(s, part, __FILE__, __LINE__)
#define LACKS(s, part)     str_lacks(s, part, __FILE__, __LINE__)


#endif /* _GW_TEST_CHECK_H_INCLUDED_ */
