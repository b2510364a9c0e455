
/*
 * Checks shared by the exchange tests: JSON paths ("data.0.id") and
 * substrings, each failing with the caller's file and line and what it
 * got (check.c, linked into every unit test); and the exchange harness
 * of the vendor tests (harness.c): each test file describes its gateway
 * in a harness_t, the harness drives exchanges through gw.h and frees
 * what a test kept.  Declared here, not in a header of its own, because
 * the build rebuilds the test library when check.h changes.
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


/* ---- the exchange harness (harness.c) --------------------------------- */

/* the gateway's clients in every exchange test: alice and bob */
#define KEY_ALICE          "sk-alice-3b1f9e27c4d84a61"
#define KEY_BOB            "sk-bob-8e2d6c1a9f0b4e73"


/*
 * What differs from one vendor test file to another.  The lists end with
 * NULL; the client keys count in both without being listed.
 */
typedef struct {
    gw_provider_t        *providers;      /* filled by reset */
    size_t                nproviders;
    const char           *id_secret;      /* the job ids' HMAC key */
    const char           *fixtures;       /* load()'s folder, with its '/' */
    const char           *generated_id;   /* the module's request id */
    int64_t               now_ms;         /* the clock each test starts at */
    const char          **secrets;        /* never in an answer */
    const char          **call_secrets;   /* never in a vendor call */
    /* the vendor's checks of a call to gw.providers[prov], or NULL */
    void                (*check_call)(const gw_call_t *call, int prov,
                                      const char *file, int line);
    /* after each test: the gateway again, as a test may change it */
    int                 (*reset)(void **state);
} harness_t;


/* a vendor's answer to a call, and the client's answer it becomes */
typedef struct {
    int                   vendor_http;
    const char           *body;           /* NULL: empty */
    int                   http;
    const char           *type;
    const char           *code;
} odd_answer_t;

/* a failed transport and the client's answer: one for every vendor */
typedef struct {
    gw_transport_t        transport;
    int                   http;
    const char           *type;
    const char           *code;
} transport_case_t;

extern const transport_case_t  transport_cases[];
extern const size_t            ntransport_cases;


/* an error code that expect_error() does not check */
#define ANY_CODE           "\x01any"


/* the providers, clients and id secret of harness_use()'s harness */
extern gw_gateway_t  gw;

/* a test's: want_rid the request id calls carry, now_ms its clock */
extern const char   *want_rid;
extern int64_t       now_ms;


void harness_use(const harness_t *h);
/*
 * The gateway's id keys for one test (the teardown puts back the
 * harness's id_secret alone): first signs, second (or NULL) verifies too,
 * as after a rotation
 */
void use_keys(const char *first, const char *second);
int teardown(void **state);

gw_exchange_t *keep_ex(gw_exchange_t *ex);
gw_exchange_t *last_ex(void);
void *keep_buf(void *p);
cJSON *keep_json(cJSON *j);
void *keep_with(void *p, void (*release)(void *p));

/*
 * Owner tags as the gateway seals them (docs/api.md#job-ids), computed
 * here with OpenSSL's HMAC, apart from the gateway's code: the 12 hex of
 * HMAC-SHA256(id secret, "owner" 0 client 0 unique)[0..6), and
 * "<unique>.<seal>".  load() expands "{{seal:<client>:<unique>}}" in a
 * fixture to the seal.
 */
const char *owner_seal(const char *client, const char *unique);
const char *owner_seal_with(const char *secret, const char *client,
    const char *unique);
const char *sealed(const char *client, const char *unique);
char *seals(const char *text);
/* a name as the gateway seals it, as a literal seals() expands */
#define SEALED(client, base)  base ".{{seal:" client ":" base "}}"
char *load(const char *name);
char *load_with(const char *name, const char *path, cJSON *value);
const void *mem_find(const void *hay, size_t len, const char *needle);

gw_exchange_t *ex_raw(const char *method, const char *path,
    const char *query, const char *auth, size_t auth_len, const char *rid,
    size_t rid_len);
const char *client_key(const char *client);
gw_exchange_t *ex_as(const char *client, const char *method,
    const char *path, const char *query);
gw_exchange_t *ex_create(const char *client, const char *body);
gw_exchange_t *ex_job(const char *client, const char *method,
    const char *id, const char *tail, const char *query);

gw_call_t *expect_call(gw_exchange_t *ex, int prov, const char *method,
    const char *path, const char *query, const char *file, int line);
void expect_done(gw_exchange_t *ex, const char *file, int line);
cJSON *finish(gw_exchange_t *ex, int status, const char *file, int line);
cJSON *expect_error(gw_exchange_t *ex, int status, const char *type,
    const char *param, const char *code, const char *file, int line);
void expect_dataset_param(gw_exchange_t *ex, const char *want,
    const char *file, int line);
void lacks_secrets(gw_exchange_t *ex, const char *file, int line);

void feed(gw_exchange_t *ex, int status, const char *body);
void feed_file(gw_exchange_t *ex, int status, const char *name);
void feed_transport(gw_exchange_t *ex, gw_transport_t t);

void body_json_eq(const gw_call_t *call, const cJSON *want,
    const char *what, const char *file, int line);
void assert_body_file(const gw_call_t *call, const char *golden,
    const char *file, int line);
void assert_body_text(const gw_call_t *call, const char *json,
    const char *file, int line);


#define EXPECT_CALL(ex, prov, m, p, q)                                      \
    expect_call(ex, prov, m, p, q, __FILE__, __LINE__)
#define EXPECT_DONE(ex)      expect_done(ex, __FILE__, __LINE__)
#define FINISH(ex, status)   finish(ex, status, __FILE__, __LINE__)
#define EXPECT_ERROR(ex, status, type, param, code)                         \
    expect_error(ex, status, type, param, code, __FILE__, __LINE__)
#define ASSERT_BODY(call, golden)                                           \
    assert_body_file(call, golden, __FILE__, __LINE__)
#define ASSERT_BODY_TEXT(call, json)                                        \
    assert_body_text(call, json, __FILE__, __LINE__)
/* cmocka's style: an assert_*() is a macro that knows its line */
#define assert_no_secret(ex) lacks_secrets(ex, __FILE__, __LINE__)


#endif /* _GW_TEST_CHECK_H_INCLUDED_ */
