
/*
 * The exchange harness of the vendor tests (see check.h): requests built
 * from a client's name, vendor answers from fixtures, the calls and the
 * answers checked, and what a test kept freed after it.  A failure names
 * the test's file and line: the checks take them from the macros.
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <gw.h>

#include "check.h"


#define KEEP_MAX  2048


typedef struct {
    void   *p;
    void  (*release)(void *p);
} kept_t;


gw_gateway_t  gw;
const char   *want_rid;
int64_t       now_ms;

static const harness_t  *cfg;

static const gw_client_t  clients[] = {
    { "alice", KEY_ALICE, sizeof(KEY_ALICE) - 1, { 0 }, 0 },
    { "bob", KEY_BOB, sizeof(KEY_BOB) - 1, { 0 }, 0 }
};

static gw_exchange_t  *kept_ex[KEEP_MAX];
static size_t          nkept_ex;
static kept_t          kept[KEEP_MAX];
static size_t          nkept;


void
harness_use(const harness_t *h)
{
    cfg = h;
    want_rid = h->generated_id;
    now_ms = h->now_ms;

    gw.providers = h->providers;
    gw.nproviders = h->nproviders;
    gw.clients = clients;
    gw.nclients = sizeof(clients) / sizeof(clients[0]);
    use_keys(h->id_secret, NULL);
}


void
use_keys(const char *first, const char *second)
{
    static gw_id_key_t  keys[2];

    keys[0].data = (const unsigned char *) first;
    keys[0].len = strlen(first);
    gw.id_keys = keys;
    gw.nid_keys = 1;

    if (second != NULL) {
        keys[1].data = (const unsigned char *) second;
        keys[1].len = strlen(second);
        gw.nid_keys = 2;
    }
}


/* ---- per-test resources, freed by the teardown ------------------------ */

gw_exchange_t *
keep_ex(gw_exchange_t *ex)
{
    assert_non_null(ex);
    assert_true(nkept_ex < KEEP_MAX);
    kept_ex[nkept_ex++] = ex;
    return ex;
}


/* for a test whose helper made the exchange and returned its answer */
gw_exchange_t *
last_ex(void)
{
    assert_true(nkept_ex > 0);
    return kept_ex[nkept_ex - 1];
}


void *
keep_with(void *p, void (*release)(void *p))
{
    assert_non_null(p);
    assert_true(nkept < KEEP_MAX);
    kept[nkept].p = p;
    kept[nkept].release = release;
    nkept++;
    return p;
}


void *
keep_buf(void *p)
{
    return keep_with(p, free);
}


static void
json_release(void *p)
{
    cJSON_Delete(p);
}


cJSON *
keep_json(cJSON *j)
{
    return keep_with(j, json_release);
}


int
teardown(void **state)
{
    size_t  i, nex, n;

    /* emptied first: a crash in here must not free twice in the next test */
    nex = nkept_ex;
    n = nkept;
    nkept_ex = 0;
    nkept = 0;
    want_rid = cfg->generated_id;
    now_ms = cfg->now_ms;
    use_keys(cfg->id_secret, NULL);

    /* the exchanges first: what was fed to them is freed after them */
    for (i = 0; i < nex; i++) {
        gw_exchange_free(kept_ex[i]);
    }

    for (i = 0; i < n; i++) {
        kept[i].release(kept[i].p);
    }

    return (cfg->reset != NULL) ? cfg->reset(state) : 0;
}


/* ---- fixtures ---------------------------------------------------------- */

const char *
owner_seal(const char *client, const char *unique)
{
    return owner_seal_with(cfg->id_secret, client, unique);
}


const char *
owner_seal_with(const char *secret, const char *client, const char *unique)
{
    char            *out, msg[1024];
    size_t           n, i;
    unsigned int     len;
    unsigned char    mac[EVP_MAX_MD_SIZE];

    n = snprintf(msg, sizeof(msg), "owner%c%s%c%s", 0, client, 0, unique);
    assert_true(n < sizeof(msg));

    assert_non_null(HMAC(EVP_sha256(), secret, (int) strlen(secret),
                         (const unsigned char *) msg, n, mac, &len));

    out = keep_buf(malloc(13));
    for (i = 0; i < 6; i++) {
        snprintf(out + 2 * i, 3, "%02x", mac[i]);
    }

    return out;
}


const char *
sealed(const char *client, const char *unique)
{
    char  *out;

    out = keep_buf(malloc(strlen(unique) + 14));
    sprintf(out, "%s.%s", unique, owner_seal(client, unique));

    return out;
}


/* "{{seal:<client>:<unique>}}" in text: the seal */
char *
seals(const char *text)
{
    char        *p, *end, *colon, *out, client[64], unique[512];
    size_t       n;
    const char  *seal;

    while ((p = strstr(text, "{{seal:")) != NULL) {
        /* the first expansion copies: text is the caller's */
        end = strstr(p, "}}");
        colon = strchr(p + 7, ':');
        assert_non_null(end);
        assert_true(colon != NULL && colon < end);

        n = colon - (p + 7);
        assert_true(n < sizeof(client));
        memcpy(client, p + 7, n);
        client[n] = '\0';

        n = end - (colon + 1);
        assert_true(n < sizeof(unique));
        memcpy(unique, colon + 1, n);
        unique[n] = '\0';

        seal = owner_seal(client, unique);
        out = keep_buf(malloc(strlen(text) + 13));
        memcpy(out, text, p - text);
        strcpy(out + (p - text), seal);
        strcat(out, end + 2);
        text = out;
    }

    return (char *) text;
}


char *
load(const char *name)
{
    long    size;
    char   *buf, path[256];
    FILE   *f;

    assert_non_null(cfg->fixtures);
    snprintf(path, sizeof(path), "%s%s", cfg->fixtures, name);

    f = fopen(path, "rb");
    if (f == NULL) {
        print_error("cannot open %s (run from the repository root)\n", path);
        fail();
    }

    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, 0, SEEK_SET);

    buf = keep_buf(malloc(size + 1));
    assert_int_equal(fread(buf, 1, size, f), (size_t) size);
    buf[size] = '\0';
    fclose(f);

    return seals(buf);
}


/* a fixture with one field replaced, printed again */
char *
load_with(const char *name, const char *path, cJSON *value)
{
    char   *parent_path, *dot, *out;
    cJSON  *root, *parent;

    root = cJSON_Parse(load(name));
    assert_non_null(root);

    parent_path = keep_buf(strdup(path));
    dot = strrchr(parent_path, '.');
    assert_non_null(dot);
    *dot = '\0';

    parent = (cJSON *) jget(root, parent_path);
    assert_non_null(parent);
    assert_true(cJSON_ReplaceItemInObjectCaseSensitive(parent, dot + 1,
                                                       value));

    out = keep_buf(cJSON_PrintUnformatted(root));
    cJSON_Delete(root);

    return out;
}


/* needle in len bytes that need not be text (a gRPC message) */
const void *
mem_find(const void *hay, size_t len, const char *needle)
{
    size_t      i, n;
    const char  *h;

    h = hay;
    n = strlen(needle);

    for (i = 0; hay != NULL && n > 0 && i + n <= len; i++) {
        if (memcmp(h + i, needle, n) == 0) {
            return h + i;
        }
    }

    return NULL;
}


/* ---- driving an exchange ---------------------------------------------- */

gw_exchange_t *
ex_raw(const char *method, const char *path, const char *query,
    const char *auth, size_t auth_len, const char *rid, size_t rid_len)
{
    gw_request_t  req;

    memset(&req, 0, sizeof(req));
    req.method = method;
    req.method_len = strlen(method);
    req.path = path;
    req.path_len = strlen(path);
    req.query = query;
    req.query_len = query ? strlen(query) : 0;
    req.authorization = auth;
    req.authorization_len = auth_len;
    req.request_id = rid;
    req.request_id_len = rid_len;
    req.generated_request_id = cfg->generated_id;
    req.now_ms = now_ms;

    return keep_ex(gw_exchange_create(&gw, &req));
}


const char *
client_key(const char *client)
{
    size_t  i;

    for (i = 0; i < gw.nclients; i++) {
        if (strcmp(gw.clients[i].name, client) == 0) {
            return gw.clients[i].key;
        }
    }

    print_error("no client %s in the test's gateway\n", client);
    fail();

    return NULL;
}


gw_exchange_t *
ex_as(const char *client, const char *method, const char *path,
    const char *query)
{
    char  auth[128];

    snprintf(auth, sizeof(auth), "Bearer %s", client_key(client));

    return ex_raw(method, path, query, auth, strlen(auth), NULL, 0);
}


gw_exchange_t *
ex_create(const char *client, const char *body)
{
    gw_exchange_t  *ex;

    ex = ex_as(client, "POST", "/v1/fine_tuning/jobs", NULL);
    assert_true(gw_exchange_needs_body(ex));
    gw_exchange_set_body(ex, body, strlen(body));
    assert_false(gw_exchange_needs_body(ex));

    return ex;
}


gw_exchange_t *
ex_job(const char *client, const char *method, const char *id,
    const char *tail, const char *query)
{
    char  path[1200];

    snprintf(path, sizeof(path), "/v1/fine_tuning/jobs/%s%s", id, tail);

    return ex_as(client, method, path, query);
}


/* ---- the calls and the answers ---------------------------------------- */

/* the first of secrets or of the client keys in the len bytes at s */
static const char *
secret_in(const char **secrets, const void *s, size_t len)
{
    size_t  i;

    for (i = 0; secrets != NULL && secrets[i] != NULL; i++) {
        if (mem_find(s, len, secrets[i]) != NULL) {
            return secrets[i];
        }
    }

    for (i = 0; i < gw.nclients; i++) {
        if (mem_find(s, len, gw.clients[i].key) != NULL) {
            return gw.clients[i].key;
        }
    }

    return NULL;
}


static void
check_call_secrets(const gw_call_t *call, const char *file, int line)
{
    size_t       i;
    const char  *v, *s;

    for (i = 0; i < call->nheaders; i++) {
        v = call->headers[i].value;
        s = secret_in(cfg->call_secrets, v, strlen(v));
        if (s != NULL) {
            check_fail(file, line, "header %s carries the secret \"%s\"",
                       call->headers[i].name, s);
        }
    }

    s = secret_in(cfg->call_secrets, call->body, call->body_len);
    if (s != NULL) {
        check_fail(file, line, "the body of %s carries the secret \"%s\"",
                   call->path, s);
    }
}


gw_call_t *
expect_call(gw_exchange_t *ex, int prov, const char *method,
    const char *path, const char *query, const char *file, int line)
{
    gw_call_t            *call;
    const gw_provider_t  *want;

    call = NULL;
    want = &gw.providers[prov];
    query = query ? query : "";

    if (gw_exchange_next(ex, &call) != GW_NEXT_CALL || call == NULL) {
        print_result(ex);
        check_fail(file, line, "expected a vendor call %s %s?%s", method,
                   path, query);
    }

    if (call->provider != want) {
        check_fail(file, line, "call to provider %s, want %s",
                   call->provider ? call->provider->name : "(null)",
                   want->name);
    }

    if (call->method == NULL || strcmp(call->method, method) != 0
        || strcmp(call->path, path) != 0 || strcmp(call->query, query) != 0)
    {
        check_fail(file, line, "call %s %s?%s, want %s %s?%s",
                   call->method ? call->method : "(null)", call->path,
                   call->query, method, path, query);
    }

    check_call_secrets(call, file, line);

    if (cfg->check_call != NULL) {
        cfg->check_call(call, prov, file, line);
    }

    return call;
}


void
expect_done(gw_exchange_t *ex, const char *file, int line)
{
    gw_call_t  *call;

    call = (gw_call_t *) &call;

    if (gw_exchange_next(ex, &call) != GW_NEXT_DONE || call != NULL) {
        check_fail(file, line, "expected no vendor call, got %s %s%s?%s",
                   call ? call->method : "",
                   call && call->endpoint ? call->endpoint : "",
                   call ? call->path : "", call ? call->query : "");
    }
}


void
lacks_secrets(gw_exchange_t *ex, const char *file, int line)
{
    const char         *s;
    const gw_result_t  *r;

    r = gw_exchange_result(ex);
    assert_non_null(r);

    s = secret_in(cfg->secrets, r->body, r->body ? strlen(r->body) : 0);
    if (s != NULL) {
        check_fail(file, line, "the answer holds the secret \"%s\": %s", s,
                   r->body);
    }
}


cJSON *
finish(gw_exchange_t *ex, int status, const char *file, int line)
{
    cJSON              *json;
    const gw_result_t  *r;

    expect_done(ex, file, line);

    r = gw_exchange_result(ex);
    assert_non_null(r);

    if (r->http_status != status) {
        check_fail(file, line, "HTTP %d, want %d: %.*s", r->http_status,
                   status, (int) r->body_len, r->body ? r->body : "");
    }

    assert_non_null(r->body);
    assert_int_equal(strlen(r->body), r->body_len);
    assert_non_null(r->request_id);

    lacks_secrets(ex, file, line);

    json = cJSON_ParseWithLength(r->body, r->body_len);
    if (json == NULL) {
        check_fail(file, line, "the answer is not JSON: %s", r->body);
    }

    return keep_json(json);
}


cJSON *
expect_error(gw_exchange_t *ex, int status, const char *type,
    const char *param, const char *code, const char *file, int line)
{
    cJSON       *json;
    const char  *msg;

    json = finish(ex, status, file, line);

    jstr_eq(json, "error.type", type, file, line);
    jstr_eq(json, "error.param", param, file, line);

    if (code == NULL || strcmp(code, ANY_CODE) != 0) {
        jstr_eq(json, "error.code", code, file, line);
    }

    msg = jstr(json, "error.message");
    if (msg == NULL || msg[0] == '\0') {
        check_fail(file, line, "error.message is empty");
    }

    return json;
}


/*
 * A bad dataset is named by the field that carries it: "the full dotted
 * path of the field, with array indexes where they apply"
 * (docs/api-extensions.md), "tuning.training_datasets[i]" or its ".ref".
 */
void
expect_dataset_param(gw_exchange_t *ex, const char *want, const char *file,
    int line)
{
    cJSON       *json;
    const char  *param;

    json = finish(ex, 400, file, line);
    jstr_eq(json, "error.type", "invalid_request_error", file, line);
    jstr_eq(json, "error.code", "invalid_value", file, line);

    param = jstr(json, "error.param");

    if (param == NULL || strncmp(param, want, strlen(want)) != 0
        || (param[strlen(want)] != '\0'
            && strcmp(param + strlen(want), ".ref") != 0))
    {
        check_fail(file, line, "error.param: got %s, want %s[.ref]",
                   param ? param : "null", want);
    }
}


/* ---- vendor answers ---------------------------------------------------- */

/* the core answers a failed transport alike for every vendor */
const transport_case_t  transport_cases[] = {
    { GW_TRANSPORT_TIMEOUT, 504, "timeout_error", "vendor_timeout" },
    { GW_TRANSPORT_UNREACHABLE, 502, "upstream_error",
      "vendor_unreachable" },
    { GW_TRANSPORT_TOO_LARGE, 502, "upstream_error",
      "vendor_response_too_large" },
};

const size_t  ntransport_cases =
    sizeof(transport_cases) / sizeof(transport_cases[0]);


/* an HTTP answer, without a gRPC status */
void
feed(gw_exchange_t *ex, int status, const char *body)
{
    gw_vendor_response_t  r;

    memset(&r, 0, sizeof(r));
    r.transport = GW_TRANSPORT_OK;
    r.status = status;
    r.body = body;
    r.body_len = body ? strlen(body) : 0;
    r.grpc_status = -1;

    gw_exchange_feed(ex, &r);
}


void
feed_file(gw_exchange_t *ex, int status, const char *name)
{
    feed(ex, status, load(name));
}


void
feed_transport(gw_exchange_t *ex, gw_transport_t t)
{
    gw_vendor_response_t  r;

    memset(&r, 0, sizeof(r));
    r.transport = t;
    r.grpc_status = -1;

    gw_exchange_feed(ex, &r);
}


/* ---- request bodies ---------------------------------------------------- */

void
body_json_eq(const gw_call_t *call, const cJSON *want, const char *what,
    const char *file, int line)
{
    char   *got_text, *want_text;
    cJSON  *got;

    if (call->body == NULL) {
        check_fail(file, line, "the call has no body");
    }

    assert_int_equal(strlen(call->body), call->body_len);

    got = keep_json(cJSON_ParseWithLength(call->body, call->body_len));

    if (!cJSON_Compare(got, want, 1)) {
        got_text = cJSON_PrintUnformatted(got);
        want_text = cJSON_PrintUnformatted(want);
        print_error("got:  %s\nwant: %s\n", got_text, want_text);
        free(got_text);
        free(want_text);
        check_fail(file, line, "the vendor body differs from %s", what);
    }
}


void
assert_body_file(const gw_call_t *call, const char *golden,
    const char *file, int line)
{
    body_json_eq(call, keep_json(cJSON_Parse(load(golden))), golden, file,
                 line);
}


void
assert_body_text(const gw_call_t *call, const char *json, const char *file,
    int line)
{
    body_json_eq(call, keep_json(cJSON_Parse(json)), json, file, line);
}
