
/*
 * The Yandex Cloud translator (Foundation Models tuning v1 over gRPC) end
 * to end, through the public exchange API (gw.h): what the vendor receives
 * for each client request (each gRPC message unframed and unpacked with
 * the generated protobuf-c code, every field checked), and what the
 * client gets back for each vendor answer (built here with the generated
 * pack functions and framed as gRPC).
 *
 * The gateway has two yandex providers: "yandex" (auth=api_key) and
 * "yciam" (auth=iam, with an authorized key around an RSA key generated
 * here, an IAM endpoint and an operation endpoint), so that the merged
 * list has two providers.  The shared cache (gw_cache_t) is a small table
 * here that does what the header comment of gw_cache_t says: a value is
 * used until its refresh time; after that one caller at a time is told to
 * fetch while the others keep using it, until it expires.
 *
 * A test that keeps an assertion of the correct behaviour against a known
 * defect of the code under test says so in a BUG comment.
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <google/rpc/status.pb-c.h>
#include <yandex/cloud/ai/tuning/v1/tuning_service.pb-c.h>
#include <yandex/cloud/operation/operation.pb-c.h>
#include <yandex/cloud/operation/operation_service.pb-c.h>

#include <gw.h>


#define V1              "/v1/fine_tuning/jobs"
#define TUNING          "/yandex.cloud.ai.tuning.v1.TuningService/"
#define OP_GET          "/yandex.cloud.operation.OperationService/Get"
#define IAM_EP          "/_iam"
#define IAM_PATH        "/iam/v1/tokens"
#define IAM_AUD         "https://iam.api.cloud.yandex.net/iam/v1/tokens"
#define OPS_EP          "/_ftgw/yc-ops"
#define TYPE_URL        "type.googleapis.com/"
#define MD_URL          TYPE_URL "yandex.cloud.ai.tuning.v1.TuningMetadata"
#define RESP_URL        TYPE_URL "yandex.cloud.ai.tuning.v1.TuningResponse"
#define OWNER_LABEL     "ftgw-owner"

#define NOW_MS          1700000000000LL     /* 2023-11-14T22:13:20Z */
#define NOW_S           1700000000LL
#define HOUR_MS         3600000LL
#define GEN_ID          "gen-req-0001"

#define KEY_ALICE       "sk-alice-9c1d7e3f5a2b4860"
#define KEY_BOB         "sk-bob-1f2e3d4c5b6a7980"

#define API_KEY         "AQVNyx-api-key-7c1e9a2b4d6f8e0a"
#define AUTH_KEY        "Api-Key " API_KEY
#define FOLDER          "b1gfolderapi0000001"
#define FOLDER_IAM      "b1gfolderiam0000002"
#define KEY_ID          "ajekeyid00000000001"
#define SA_ID           "ajeserviceacct00001"

#define TOKEN_SEED      "t1.9euelZqseeded.token-0000"
#define TOKEN_1         "t1.9euelZqfirst.token-0001"
#define TOKEN_2         "t1.9euelZqsecond.token-0002"
#define TOKEN_3         "t1.9euelZqthird.token-0003"
#define BEARER(t)       "Bearer " t

/* NOW + 12 h, as Yandex writes it (nanoseconds), and NOW + 21 h */
#define EXP_12H         "2023-11-15T10:13:20.481516203Z"
#define EXP_12H_MS      (NOW_MS + 12 * HOUR_MS)
#define EXP_21H         "2023-11-15T19:13:20Z"
#define EXP_21H_MS      (NOW_MS + 21 * HOUR_MS)

/* the vendor's times */
#define T_CREATED       1699990000LL
#define T_STARTED       1699990600LL
#define T_MODIFIED      1699995000LL
#define T_FINISHED      1699999000LL

/* an expected integer that is JSON null */
#define NUL             INT64_MIN

#define INV             "invalid_request_error"
#define NF              "not_found_error"
#define CONFLICT        "conflict_error"
#define PERM            "permission_error"
#define RATE            "rate_limit_error"
#define UPSTREAM        "upstream_error"
#define API             "api_error"
#define TIMEOUT         "timeout_error"

/* the generated names are long */
#define YT(name)        Yandex__Cloud__Ai__Tuning__V1__##name
#define YC(name)        YANDEX__CLOUD__AI__TUNING__V1__##name
#define yt(name)        yandex__cloud__ai__tuning__v1__##name
#define YO(name)        Yandex__Cloud__Operation__##name
#define YOC(name)       YANDEX__CLOUD__OPERATION__##name
#define yo(name)        yandex__cloud__operation__##name
#define ST(x)           YC(TUNING_TASK__STATUS__##x)
#define T2T(x)          YC(TEXT_TO_TEXT_COMPLETION_TUNING_PARAMS__##x)
#define ML(x)           YC(TEXT_CLASSIFICATION_MULTILABEL_PARAMS__##x)
#define MC(x)           YC(TEXT_CLASSIFICATION_MULTICLASS_PARAMS__##x)
#define PARAMS(x)       YC(TUNING_REQUEST__TUNING_PARAMS_##x)
#define DESC(x)         (&yandex__cloud__ai__tuning__v1__##x##__descriptor)
#define ODESC(x)        (&yandex__cloud__operation__##x##__descriptor)

typedef YT(TuningRequest)                  treq_t;
typedef YT(TuningRequest__WeightedDataset) wd_t;
typedef YT(TuningTask)                     task_t;


enum {
    P_YX = 0,           /* auth=api_key */
    P_YI = 1            /* auth=iam */
};


static gw_provider_t  providers[2];

static const gw_client_t  clients[] = {
    { "alice", KEY_ALICE, sizeof(KEY_ALICE) - 1 },
    { "bob", KEY_BOB, sizeof(KEY_BOB) - 1 }
};

static const unsigned char  id_secret[] =
    "yandex-suite-id-secret-0123456789abcdef-xyz";

static gw_gateway_t  gw;

/* what the vendor header x-client-request-id must hold */
static const char  *want_rid = GEN_ID;

/* the clock of the next exchange */
static int64_t  now_ms = NOW_MS;

/* the service account's key: made once per run */
static EVP_PKEY  *rsa_key;
static EVP_PKEY  *rsa_pub;
static char      *key_json;
static char      *pem_chunk;        /* a line of the private key's PEM */


/* ---- the shared cache ------------------------------------------------- */

#define CACHE_MAX  8

typedef struct {
    int         used;
    char        key[128];
    char        value[4096];
    int64_t     refresh_at;
    int64_t     expires_at;
    int         refreshing;     /* a caller was sent to fetch */
} centry_t;

static centry_t  cache_tab[CACHE_MAX];
static int       cache_gets;
static int       cache_hits;
static int       cache_puts;
static centry_t  last_put;


static centry_t *
cache_find(const char *key, int create)
{
    size_t  i;

    for (i = 0; i < CACHE_MAX; i++) {
        if (cache_tab[i].used && strcmp(cache_tab[i].key, key) == 0) {
            return &cache_tab[i];
        }
    }

    if (!create) {
        return NULL;
    }

    for (i = 0; i < CACHE_MAX; i++) {
        if (!cache_tab[i].used) {
            memset(&cache_tab[i], 0, sizeof(centry_t));
            cache_tab[i].used = 1;
            snprintf(cache_tab[i].key, sizeof(cache_tab[i].key), "%s", key);
            return &cache_tab[i];
        }
    }

    return NULL;
}


/*
 * A value valid at now is copied out (1); none, or an expired one: the
 * caller fetches (0).  Past the refresh time, the first caller is sent
 * to fetch and the others keep the value until a put or its expiry.
 */
static int
cache_get(void *data, const char *key, char *out, size_t size,
    int64_t now)
{
    size_t     len;
    centry_t  *e;

    cache_gets++;

    if (data != (void *) cache_tab) {
        return 0;
    }

    e = cache_find(key, 0);

    if (e == NULL || now >= e->expires_at) {
        return 0;
    }

    if (now >= e->refresh_at && !e->refreshing) {
        e->refreshing = 1;
        return 0;
    }

    len = strlen(e->value);
    if (len + 1 > size) {
        return 0;
    }

    memcpy(out, e->value, len + 1);
    cache_hits++;

    return 1;
}


static void
cache_put(void *data, const char *key, const char *value,
    int64_t refresh_at, int64_t expires_at)
{
    centry_t  *e;

    cache_puts++;

    memset(&last_put, 0, sizeof(last_put));
    last_put.used = 1;
    snprintf(last_put.key, sizeof(last_put.key), "%s", key);
    snprintf(last_put.value, sizeof(last_put.value), "%s", value);
    last_put.refresh_at = refresh_at;
    last_put.expires_at = expires_at;

    if (data != (void *) cache_tab) {
        return;
    }

    e = cache_find(key, 1);
    if (e == NULL) {
        return;
    }

    snprintf(e->value, sizeof(e->value), "%s", value);
    e->refresh_at = refresh_at;
    e->expires_at = expires_at;
    e->refreshing = 0;
}


static void
cache_reset(void)
{
    memset(cache_tab, 0, sizeof(cache_tab));
    memset(&last_put, 0, sizeof(last_put));
    cache_gets = 0;
    cache_hits = 0;
    cache_puts = 0;
}


/* a token valid for 12 hours from NOW, as if another worker fetched it */
static void
cache_seed(const char *provider, const char *token)
{
    char       key[128];
    centry_t  *e;

    snprintf(key, sizeof(key), "yandex-iam:%s", provider);
    e = cache_find(key, 1);
    assert_non_null(e);
    snprintf(e->value, sizeof(e->value), "%s", token);
    e->refresh_at = NOW_MS + 9 * HOUR_MS;
    e->expires_at = EXP_12H_MS - 1000;
    e->refreshing = 0;
}


/* ---- per-test resources, freed by the teardown ------------------------ */

#define KEEP_MAX  1024

static gw_exchange_t     *kept_ex[KEEP_MAX];
static size_t             nkept_ex;
static void              *kept_buf[KEEP_MAX];
static size_t             nkept_buf;
static cJSON             *kept_json[KEEP_MAX];
static size_t             nkept_json;
static ProtobufCMessage  *kept_pb[KEEP_MAX];
static size_t             nkept_pb;


static gw_exchange_t *
keep_ex(gw_exchange_t *ex)
{
    assert_non_null(ex);
    assert_true(nkept_ex < KEEP_MAX);
    kept_ex[nkept_ex++] = ex;
    return ex;
}


static void *
keep_buf(void *p)
{
    assert_non_null(p);
    assert_true(nkept_buf < KEEP_MAX);
    kept_buf[nkept_buf++] = p;
    return p;
}


static cJSON *
keep_json(cJSON *j)
{
    assert_non_null(j);
    assert_true(nkept_json < KEEP_MAX);
    kept_json[nkept_json++] = j;
    return j;
}


static ProtobufCMessage *
keep_pb(ProtobufCMessage *m)
{
    assert_non_null(m);
    assert_true(nkept_pb < KEEP_MAX);
    kept_pb[nkept_pb++] = m;
    return m;
}


static int setup_gateway(void **state);


static int
teardown(void **state)
{
    size_t  i, nex, nbuf, njson, npb;

    /* emptied first: a crash in here must not free twice in the next test */
    nex = nkept_ex;
    nbuf = nkept_buf;
    njson = nkept_json;
    npb = nkept_pb;
    nkept_ex = 0;
    nkept_buf = 0;
    nkept_json = 0;
    nkept_pb = 0;
    want_rid = GEN_ID;
    now_ms = NOW_MS;

    for (i = 0; i < nex; i++) {
        gw_exchange_free(kept_ex[i]);
    }

    for (i = 0; i < nbuf; i++) {
        free(kept_buf[i]);
    }

    for (i = 0; i < njson; i++) {
        cJSON_Delete(kept_json[i]);
    }

    for (i = 0; i < npb; i++) {
        protobuf_c_message_free_unpacked(kept_pb[i], NULL);
    }

    /* a test may have changed the providers' params or the cache */
    return setup_gateway(state);
}


static int
setup_gateway(void **state)
{
    const gw_vendor_t  *yandex;

    yandex = gw_vendor_find("yandex");
    if (yandex == NULL || key_json == NULL) {
        return -1;
    }

    memset(providers, 0, sizeof(providers));

    providers[P_YX].name = "yandex";
    providers[P_YX].vendor = yandex;
    providers[P_YX].endpoint = "/_ftgw/yandex";
    providers[P_YX].params[0] = (gw_param_t) { "folder_id", FOLDER, 0 };
    providers[P_YX].params[1] = (gw_param_t) { "api_key", API_KEY, 1 };
    providers[P_YX].nparams = 2;

    providers[P_YI].name = "yciam";
    providers[P_YI].vendor = yandex;
    providers[P_YI].endpoint = "/_ftgw/yciam";
    providers[P_YI].params[0] = (gw_param_t) { "folder_id", FOLDER_IAM, 0 };
    providers[P_YI].params[1] = (gw_param_t) { "auth", "iam", 0 };
    providers[P_YI].params[2] =
        (gw_param_t) { "service_account_key", key_json, 1 };
    providers[P_YI].params[3] = (gw_param_t) { "iam_endpoint", IAM_EP, 0 };
    providers[P_YI].params[4] =
        (gw_param_t) { "operation_endpoint", OPS_EP, 0 };
    providers[P_YI].nparams = 5;

    memset(&gw, 0, sizeof(gw));
    gw.providers = providers;
    gw.nproviders = 2;
    gw.clients = clients;
    gw.nclients = 2;
    gw.id_secret = id_secret;
    gw.id_secret_len = sizeof(id_secret) - 1;
    gw.cache.data = cache_tab;
    gw.cache.get = cache_get;
    gw.cache.put = cache_put;

    cache_reset();

    return 0;
}


/* ---- the service account's authorized key ----------------------------- */

static char *
bio_string(BIO *bio)
{
    char  *s, *data;
    long   len;

    len = BIO_get_mem_data(bio, &data);
    if (len <= 0) {
        return NULL;
    }

    s = malloc((size_t) len + 1);
    if (s == NULL) {
        return NULL;
    }

    memcpy(s, data, (size_t) len);
    s[len] = '\0';

    return s;
}


static int
setup_group(void **state)
{
    BIO    *bio;
    char   *priv, *pub, *full, *nl;
    cJSON  *j;
    size_t  n;

    rsa_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 2048);
    if (rsa_key == NULL) {
        return -1;
    }

    bio = BIO_new(BIO_s_mem());
    if (bio == NULL
        || PEM_write_bio_PrivateKey(bio, rsa_key, NULL, NULL, 0, NULL, NULL)
           != 1)
    {
        return -1;
    }

    priv = bio_string(bio);
    BIO_free(bio);

    bio = BIO_new(BIO_s_mem());
    if (bio == NULL || PEM_write_bio_PUBKEY(bio, rsa_key) != 1) {
        return -1;
    }

    pub = bio_string(bio);
    BIO_free(bio);

    if (priv == NULL || pub == NULL) {
        return -1;
    }

    /* the public half, read back from its PEM: what verifies the JWT */
    bio = BIO_new_mem_buf(pub, -1);
    rsa_pub = (bio != NULL) ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL)
                            : NULL;
    BIO_free(bio);

    if (rsa_pub == NULL) {
        return -1;
    }

    /* the second line of the PEM: key material that must never leak */
    nl = strchr(priv, '\n');
    if (nl == NULL) {
        return -1;
    }

    n = strcspn(nl + 1, "\n");
    pem_chunk = malloc(n + 1);
    if (pem_chunk == NULL) {
        return -1;
    }

    memcpy(pem_chunk, nl + 1, n);
    pem_chunk[n] = '\0';

    /* as Yandex writes it: a line before the PEM, ids, the public key */
    full = malloc(strlen(priv) + 128);
    if (full == NULL) {
        return -1;
    }

    snprintf(full, strlen(priv) + 128, "PLEASE DO NOT REMOVE THIS LINE! "
             "Yandex.Cloud SA Key ID %s\n%s", KEY_ID, priv);

    j = cJSON_CreateObject();
    if (j == NULL
        || cJSON_AddStringToObject(j, "id", KEY_ID) == NULL
        || cJSON_AddStringToObject(j, "service_account_id", SA_ID) == NULL
        || cJSON_AddStringToObject(j, "created_at",
                                   "2023-11-01T08:00:00.000000Z") == NULL
        || cJSON_AddStringToObject(j, "key_algorithm", "RSA_2048") == NULL
        || cJSON_AddStringToObject(j, "public_key", pub) == NULL
        || cJSON_AddStringToObject(j, "private_key", full) == NULL)
    {
        return -1;
    }

    key_json = cJSON_Print(j);
    cJSON_Delete(j);
    free(full);
    free(priv);
    free(pub);

    if (key_json == NULL) {
        return -1;
    }

    return setup_gateway(state);
}


static int
teardown_group(void **state)
{
    EVP_PKEY_free(rsa_key);
    EVP_PKEY_free(rsa_pub);
    free(key_json);
    free(pem_chunk);
    rsa_key = NULL;
    rsa_pub = NULL;
    key_json = NULL;
    pem_chunk = NULL;

    return 0;
}


/* ---- small checks with the caller's line ------------------------------ */

static void
check_fail(const char *file, int line, const char *fmt, ...)
{
    va_list  args;
    char     msg[2048];

    va_start(args, fmt);
    vsnprintf(msg, sizeof(msg), fmt, args);
    va_end(args);

    print_error("%s\n", msg);
    _fail(file, line);
}


static const cJSON *
jget(const cJSON *root, const char *path)
{
    char          buf[256], *seg, *save;
    const cJSON  *cur;

    snprintf(buf, sizeof(buf), "%s", path);
    cur = root;

    for (seg = strtok_r(buf, ".", &save);
         seg != NULL && cur != NULL;
         seg = strtok_r(NULL, ".", &save))
    {
        if (cJSON_IsArray(cur)) {
            cur = cJSON_GetArrayItem(cur, atoi(seg));

        } else {
            cur = cJSON_GetObjectItemCaseSensitive(cur, seg);
        }
    }

    return cur;
}


static void
got_text(const cJSON *v, char *buf, size_t size)
{
    char  *s;

    s = v ? cJSON_PrintUnformatted(v) : NULL;
    snprintf(buf, size, "%s", s ? s : "(absent)");
    free(s);
}


/* want NULL: the value is JSON null */
static void
jstr_eq(const cJSON *root, const char *path, const char *want,
    const char *file, int line)
{
    char          got[512];
    const cJSON  *v;

    v = jget(root, path);

    if (want == NULL ? cJSON_IsNull(v)
                     : (cJSON_IsString(v) && strcmp(v->valuestring, want)
                                             == 0))
    {
        return;
    }

    got_text(v, got, sizeof(got));
    check_fail(file, line, "%s: got %s, want \"%s\"", path, got,
               want ? want : "null");
}


/* want NUL: the value is JSON null */
static void
jint_eq(const cJSON *root, const char *path, int64_t want, const char *file,
    int line)
{
    char          got[256];
    const cJSON  *v;

    v = jget(root, path);

    if (want == NUL ? cJSON_IsNull(v)
                    : (cJSON_IsNumber(v) && v->valuedouble == (double) want))
    {
        return;
    }

    got_text(v, got, sizeof(got));
    check_fail(file, line, "%s: got %s, want %lld", path, got,
               (long long) want);
}


static int
near(double got, double want)
{
    double  d, m;

    d = got - want;
    m = (want < 0 ? -want : want) * 1e-12;

    return d <= m && -d <= m;
}


static void
jnum_eq(const cJSON *root, const char *path, double want, const char *file,
    int line)
{
    double        d;
    const cJSON  *v;

    v = jget(root, path);
    d = cJSON_IsNumber(v) ? v->valuedouble : -1e300;

    if (!near(d, want)) {
        check_fail(file, line, "%s: got %.17g, want %.17g", path, d, want);
    }
}


static void
str_has(const char *s, const char *part, const char *file, int line)
{
    if (s == NULL || strstr(s, part) == NULL) {
        check_fail(file, line, "\"%s\" does not contain \"%s\"",
                   s ? s : "(null)", part);
    }
}


static void
str_lacks(const char *s, const char *part, const char *file, int line)
{
    if (s != NULL && strstr(s, part) != NULL) {
        check_fail(file, line, "\"%s\" contains \"%s\"", s, part);
    }
}


static void
str_eq(const char *got, const char *want, const char *what,
    const char *file, int line)
{
    if (got == NULL || strcmp(got, want) != 0) {
        check_fail(file, line, "%s: got \"%s\", want \"%s\"", what,
                   got ? got : "(null)", want);
    }
}


static void
num_eq(double got, double want, const char *what, const char *file,
    int line)
{
    if (!near(got, want)) {
        check_fail(file, line, "%s: got %.17g, want %.17g", what, got, want);
    }
}


static void
int_eq(int64_t got, int64_t want, const char *what, const char *file,
    int line)
{
    if (got != want) {
        check_fail(file, line, "%s: got %lld, want %lld", what,
                   (long long) got, (long long) want);
    }
}


#define JSTR(r, p, w)      jstr_eq(r, p, w, __FILE__, __LINE__)
#define JINT(r, p, w)      jint_eq(r, p, w, __FILE__, __LINE__)
#define JNUM(r, p, w)      jnum_eq(r, p, w, __FILE__, __LINE__)
#define HAS(s, part)       str_has(s, part, __FILE__, __LINE__)
#define LACKS(s, part)     str_lacks(s, part, __FILE__, __LINE__)
#define STR(g, w)          str_eq(g, w, #g, __FILE__, __LINE__)
#define NUM(g, w)          num_eq(g, w, #g, __FILE__, __LINE__)
#define INT(g, w)          int_eq((int64_t) (g), (int64_t) (w), #g,     \
                                  __FILE__, __LINE__)


static const char *
jstr(const cJSON *root, const char *path)
{
    const cJSON  *v;

    v = jget(root, path);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}


static const void *
mem_find(const void *hay, size_t hlen, const char *needle)
{
    size_t      i, n;
    const char  *h;

    h = hay;
    n = strlen(needle);

    for (i = 0; hay != NULL && n > 0 && i + n <= hlen; i++) {
        if (memcmp(h + i, needle, n) == 0) {
            return h + i;
        }
    }

    return NULL;
}


/* ---- driving an exchange ---------------------------------------------- */

static gw_exchange_t *
ex_raw(const char *method, const char *path, const char *query,
    const char *auth, const char *rid)
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
    req.authorization_len = auth ? strlen(auth) : 0;
    req.request_id = rid;
    req.request_id_len = rid ? strlen(rid) : 0;
    req.generated_request_id = GEN_ID;
    req.now_ms = now_ms;

    return keep_ex(gw_exchange_create(&gw, &req));
}


static gw_exchange_t *
ex_as(const char *client, const char *method, const char *path,
    const char *query)
{
    char  auth[128];

    snprintf(auth, sizeof(auth), "Bearer %s",
             strcmp(client, "alice") == 0 ? KEY_ALICE : KEY_BOB);

    return ex_raw(method, path, query, auth, NULL);
}


static gw_exchange_t *
ex_create(const char *client, const char *body)
{
    gw_exchange_t  *ex;

    ex = ex_as(client, "POST", V1, NULL);
    assert_true(gw_exchange_needs_body(ex));
    gw_exchange_set_body(ex, body, strlen(body));
    assert_false(gw_exchange_needs_body(ex));

    return ex;
}


static gw_exchange_t *
ex_job(const char *client, const char *method, const char *id,
    const char *tail)
{
    char  path[1200];

    snprintf(path, sizeof(path), V1 "/%s%s", id, tail);

    return ex_as(client, method, path, NULL);
}


static const char *
header(const gw_call_t *call, const char *name)
{
    size_t  i;

    for (i = 0; i < call->nheaders; i++) {
        if (strcasecmp(call->headers[i].name, name) == 0) {
            return call->headers[i].value;
        }
    }

    return NULL;
}


static void
print_result(gw_exchange_t *ex)
{
    const gw_result_t  *r;

    r = gw_exchange_result(ex);
    print_error("exchange answered %d: %.*s\n", r->http_status,
                (int) r->body_len, r->body ? r->body : "");
}


static gw_call_t *
next_call(gw_exchange_t *ex, int prov, const char *what, const char *file,
    int line)
{
    gw_call_t  *call;

    call = NULL;

    if (gw_exchange_next(ex, &call) != GW_NEXT_CALL || call == NULL) {
        print_result(ex);
        check_fail(file, line, "expected a vendor call %s", what);
    }

    if (call->provider != &providers[prov]) {
        check_fail(file, line, "call %s to provider %s, want %s", what,
                   call->provider ? call->provider->name : "(null)",
                   providers[prov].name);
    }

    if (call->method == NULL || strcmp(call->method, "POST") != 0
        || strcmp(call->query, "") != 0)
    {
        check_fail(file, line, "call %s: %s %s?%s, want POST without a "
                   "query", what, call->method ? call->method : "(null)",
                   call->path, call->query);
    }

    return call;
}


/* a gRPC call to path (at endpoint, NULL: the provider's) with auth */
static gw_call_t *
expect_grpc(gw_exchange_t *ex, int prov, const char *path,
    const char *endpoint, const char *auth, const char *file, int line)
{
    size_t          len;
    gw_call_t      *call;
    const char     *v;
    const uint8_t  *b;

    call = next_call(ex, prov, path, file, line);

    if (strcmp(call->path, path) != 0) {
        check_fail(file, line, "call to %s, want %s", call->path, path);
    }

    if (endpoint == NULL ? call->endpoint != NULL
        : (call->endpoint == NULL || strcmp(call->endpoint, endpoint) != 0))
    {
        check_fail(file, line, "%s: endpoint %s, want %s", path,
                   call->endpoint ? call->endpoint : "NULL",
                   endpoint ? endpoint : "NULL");
    }

    v = header(call, "Content-Type");
    if (v == NULL || strcmp(v, "application/grpc") != 0) {
        check_fail(file, line, "content-type: got %s", v ? v : "(none)");
    }

    v = header(call, "TE");
    if (v == NULL || strcmp(v, "trailers") != 0) {
        check_fail(file, line, "te: got %s", v ? v : "(none)");
    }

    v = header(call, "Authorization");
    if (v == NULL || strcmp(v, auth) != 0) {
        check_fail(file, line, "authorization: got %s, want %s",
                   v ? v : "(none)", auth);
    }

    v = header(call, "x-client-request-id");
    if (v == NULL || strcmp(v, want_rid) != 0) {
        check_fail(file, line, "x-client-request-id: got %s, want %s",
                   v ? v : "(none)", want_rid);
    }

    if (call->nheaders != 4) {
        check_fail(file, line, "%zu headers, want 4", call->nheaders);
    }

    /* one uncompressed length-prefixed message */
    b = (const uint8_t *) call->body;

    if (b == NULL || call->body_len < 5 || b[0] != 0) {
        check_fail(file, line, "%s: not a gRPC frame", path);
    }

    len = ((size_t) b[1] << 24) | ((size_t) b[2] << 16)
          | ((size_t) b[3] << 8) | b[4];

    if (len != call->body_len - 5) {
        check_fail(file, line, "%s: frame of %zu bytes in a body of %zu",
                   path, len, call->body_len);
    }

    if (mem_find(call->body, call->body_len, API_KEY) != NULL
        || mem_find(call->body, call->body_len, pem_chunk) != NULL)
    {
        check_fail(file, line, "%s: the message carries a secret", path);
    }

    return call;
}


/* the call's message, unpacked (freed by the teardown) */
static void *
unframe(const gw_call_t *call, const ProtobufCMessageDescriptor *d,
    const char *file, int line)
{
    ProtobufCMessage  *m;

    m = protobuf_c_message_unpack(d, NULL, call->body_len - 5,
                                  (const uint8_t *) call->body + 5);
    if (m == NULL) {
        check_fail(file, line, "%s: the message is not a %s", call->path,
                   d->name);
    }

    return keep_pb(m);
}


static void
expect_done(gw_exchange_t *ex, const char *file, int line)
{
    gw_call_t  *call;

    call = (gw_call_t *) &call;

    if (gw_exchange_next(ex, &call) != GW_NEXT_DONE || call != NULL) {
        check_fail(file, line, "expected no vendor call, got %s %s%s",
                   call ? call->method : "",
                   call && call->endpoint ? call->endpoint : "",
                   call ? call->path : "");
    }
}


static cJSON *
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

    /* never a secret in an answer */
    str_lacks(r->body, API_KEY, file, line);
    str_lacks(r->body, pem_chunk, file, line);
    str_lacks(r->body, "PRIVATE KEY", file, line);
    str_lacks(r->body, KEY_ALICE, file, line);
    str_lacks(r->body, KEY_BOB, file, line);

    json = cJSON_ParseWithLength(r->body, r->body_len);
    if (json == NULL) {
        check_fail(file, line, "the answer is not JSON: %s", r->body);
    }

    return keep_json(json);
}


static cJSON *
expect_error(gw_exchange_t *ex, int status, const char *type,
    const char *param, const char *code, const char *file, int line)
{
    cJSON       *json;
    const char  *msg;

    json = finish(ex, status, file, line);

    jstr_eq(json, "error.type", type, file, line);
    jstr_eq(json, "error.param", param, file, line);
    jstr_eq(json, "error.code", code, file, line);

    msg = jstr(json, "error.message");
    if (msg == NULL || msg[0] == '\0') {
        check_fail(file, line, "error.message is empty");
    }

    return json;
}


#define EXPECT_GRPC(ex, prov, method, auth)                                 \
    expect_grpc(ex, prov, TUNING method, NULL, auth, __FILE__, __LINE__)
#define EXPECT_OP_GET(ex, prov, endpoint, auth)                             \
    expect_grpc(ex, prov, OP_GET, endpoint, auth, __FILE__, __LINE__)
#define UNFRAME(call, d)     unframe(call, d, __FILE__, __LINE__)
#define EXPECT_DONE(ex)      expect_done(ex, __FILE__, __LINE__)
#define FINISH(ex, status)   finish(ex, status, __FILE__, __LINE__)
#define EXPECT_ERROR(ex, status, type, param, code)                         \
    expect_error(ex, status, type, param, code, __FILE__, __LINE__)


/* ---- vendor answers --------------------------------------------------- */

static uint8_t *
pack(const ProtobufCMessage *m, size_t *len)
{
    uint8_t  *buf;

    *len = protobuf_c_message_get_packed_size(m);
    buf = keep_buf(malloc(*len + 1));
    assert_int_equal(protobuf_c_message_pack(m, buf), *len);

    return buf;
}


/* m as one gRPC length-prefixed message */
static uint8_t *
frame(const ProtobufCMessage *m, size_t *len)
{
    size_t    n;
    uint8_t  *buf;

    n = protobuf_c_message_get_packed_size(m);
    buf = keep_buf(malloc(n + 5));
    buf[0] = 0;
    buf[1] = (uint8_t) (n >> 24);
    buf[2] = (uint8_t) (n >> 16);
    buf[3] = (uint8_t) (n >> 8);
    buf[4] = (uint8_t) n;
    assert_int_equal(protobuf_c_message_pack(m, buf + 5), n);
    *len = n + 5;

    return buf;
}


static void
feed_bytes(gw_exchange_t *ex, const void *body, size_t len)
{
    gw_vendor_response_t  r;

    memset(&r, 0, sizeof(r));
    r.transport = GW_TRANSPORT_OK;
    r.status = 200;
    r.body = body;
    r.body_len = len;
    r.grpc_status = 0;

    gw_exchange_feed(ex, &r);
}


static void
feed_pb(gw_exchange_t *ex, const ProtobufCMessage *m)
{
    size_t    len;
    uint8_t  *buf;

    buf = frame(m, &len);
    feed_bytes(ex, buf, len);
}


/* a gRPC error status; msg is the percent-encoded grpc-message or NULL */
static void
feed_grpc_error(gw_exchange_t *ex, int code, const char *msg)
{
    gw_vendor_response_t  r;

    memset(&r, 0, sizeof(r));
    r.transport = GW_TRANSPORT_OK;
    r.status = 200;
    r.body = "";
    r.body_len = 0;
    r.grpc_status = code;
    r.grpc_message = msg;
    r.grpc_message_len = msg ? strlen(msg) : 0;

    gw_exchange_feed(ex, &r);
}


/* an HTTP answer without a gRPC status (a proxy, the IAM endpoint) */
static void
feed_http(gw_exchange_t *ex, int status, const char *body)
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


static void
feed_transport(gw_exchange_t *ex, gw_transport_t t)
{
    gw_vendor_response_t  r;

    memset(&r, 0, sizeof(r));
    r.transport = t;
    r.grpc_status = -1;

    gw_exchange_feed(ex, &r);
}


static void
feed_iam(gw_exchange_t *ex, const char *token, const char *expires)
{
    char  *body;

    body = keep_buf(malloc(512));
    snprintf(body, 512, "{\"iamToken\":\"%s\",\"expiresAt\":\"%s\"}",
             token, expires);

    feed_http(ex, 200, body);
}


/* a TuningTask and what it points to */
typedef struct {
    task_t                        task;
    YT(TuningTask__LabelsEntry)   label[3];
    YT(TuningTask__LabelsEntry)  *labelp[3];
    Google__Protobuf__Timestamp   created;
    Google__Protobuf__Timestamp   started;
    Google__Protobuf__Timestamp   finished;
} taskbuf_t;


/*
 * A task as Describe answers it: created at T_CREATED, from yandexgpt-lite
 * latest, owner (NULL: no owner label) and a "team" label.
 */
static task_t *
task_make(taskbuf_t *b, const char *id, const char *op_id, int status,
    const char *owner)
{
    size_t   n;
    task_t  *t;

    memset(b, 0, sizeof(taskbuf_t));
    t = &b->task;

    yt(tuning_task__init)(t);
    google__protobuf__timestamp__init(&b->created);
    google__protobuf__timestamp__init(&b->started);
    google__protobuf__timestamp__init(&b->finished);

    t->task_id = (char *) id;
    t->operation_id = (char *) (op_id ? op_id : "");
    t->status = status;
    t->folder_id = (char *) FOLDER;
    t->created_by = (char *) "aje1user";
    b->created.seconds = T_CREATED;
    t->created_at = &b->created;
    t->source_model_uri = (char *) "gpt://" FOLDER "/yandexgpt-lite/latest";
    t->name = (char *) "ftgw-1700000000";
    t->description = (char *) "";

    n = 0;

    if (owner != NULL) {
        yt(tuning_task__labels_entry__init)(&b->label[n]);
        b->label[n].key = (char *) OWNER_LABEL;
        b->label[n].value = (char *) owner;
        b->labelp[n] = &b->label[n];
        n++;
    }

    yt(tuning_task__labels_entry__init)(&b->label[n]);
    b->label[n].key = (char *) "team";
    b->label[n].value = (char *) "ml";
    b->labelp[n] = &b->label[n];
    n++;

    t->n_labels = n;
    t->labels = b->labelp;

    return t;
}


static void
task_times(taskbuf_t *b, int64_t started, int64_t finished)
{
    if (started) {
        b->started.seconds = started;
        b->task.started_at = &b->started;
    }

    if (finished) {
        b->finished.seconds = finished;
        b->task.finished_at = &b->finished;
    }
}


static void
feed_task(gw_exchange_t *ex, task_t *t)
{
    YT(DescribeTuningResponse)  d;

    yt(describe_tuning_response__init)(&d);
    d.tuning_task = t;
    feed_pb(ex, &d.base);
}


/* an Operation with Any(TuningMetadata), and its result */
typedef struct {
    YO(Operation)                op;
    Google__Protobuf__Any        md_any;
    Google__Protobuf__Any        resp_any;
    Google__Protobuf__Timestamp  created;
    Google__Protobuf__Timestamp  modified;
    Google__Rpc__Status          error;
    YT(TuningMetadata)           md;
    YT(TuningResponse)           resp;
} opbuf_t;


static YO(Operation) *
op_make(opbuf_t *b, const char *op_id, const char *task_id, int status)
{
    memset(b, 0, sizeof(opbuf_t));

    yo(operation__init)(&b->op);
    google__protobuf__any__init(&b->md_any);
    google__protobuf__any__init(&b->resp_any);
    google__protobuf__timestamp__init(&b->created);
    google__protobuf__timestamp__init(&b->modified);
    google__rpc__status__init(&b->error);
    yt(tuning_metadata__init)(&b->md);
    yt(tuning_response__init)(&b->resp);

    b->md.tuning_task_id = (char *) task_id;
    b->md.status = status;

    b->md_any.type_url = (char *) MD_URL;

    b->op.id = (char *) op_id;
    b->op.description = (char *) "Tune";
    b->created.seconds = T_CREATED;
    b->op.created_at = &b->created;
    b->op.created_by = (char *) "aje1user";
    b->modified.seconds = T_MODIFIED;
    b->op.modified_at = &b->modified;
    b->op.done = 0;
    b->op.metadata = &b->md_any;

    return &b->op;
}


static void
op_steps(opbuf_t *b, int64_t current, int64_t total)
{
    b->md.current_step = current;
    b->md.total_steps = total;
}


static void
op_error(opbuf_t *b, int code, const char *message)
{
    b->op.done = 1;
    b->error.code = code;
    b->error.message = (char *) message;
    b->op.result_case = YOC(OPERATION__RESULT_ERROR);
    b->op.error = &b->error;
}


static void
op_response(opbuf_t *b, int status, const char *target)
{
    b->op.done = 1;
    b->resp.tuning_task_id = b->md.tuning_task_id;
    b->resp.status = status;
    b->resp.target_model_uri = (char *) target;
    b->op.result_case = YOC(OPERATION__RESULT_RESPONSE);
    b->op.response = &b->resp_any;
}


/* the Any values are packed last, after the test's changes */
static void
feed_op(gw_exchange_t *ex, opbuf_t *b)
{
    size_t  len;

    if (b->md_any.value.data == NULL) {
        b->md_any.value.data = pack(&b->md.base, &len);
        b->md_any.value.len = len;
    }

    if (b->op.result_case == YOC(OPERATION__RESULT_RESPONSE)) {
        b->resp_any.type_url = (char *) RESP_URL;
        b->resp_any.value.data = pack(&b->resp.base, &len);
        b->resp_any.value.len = len;
    }

    feed_pb(ex, &b->op.base);
}


static void
feed_list(gw_exchange_t *ex, task_t **tasks, size_t n, const char *next)
{
    YT(ListTuningsResponse)  l;

    yt(list_tunings_response__init)(&l);
    l.n_tuning_tasks = n;
    l.tuning_tasks = tasks;
    l.next_page_token = (char *) (next ? next : "");
    feed_pb(ex, &l.base);
}


static void
feed_errors(gw_exchange_t *ex, const char **messages, size_t n)
{
    size_t                   i;
    YT(TuningError)          e[4];
    YT(TuningError)         *ep[4];
    YT(ListErrorsResponse)   l;

    assert_true(n <= 4);

    for (i = 0; i < n; i++) {
        yt(tuning_error__init)(&e[i]);
        e[i].tuning_task_id = (char *) "ftn1";
        e[i].message = (char *) messages[i];
        e[i].type = YC(TUNING_ERROR__TYPE__PUBLIC);
        ep[i] = &e[i];
    }

    yt(list_errors_response__init)(&l);
    l.n_tuning_error = n;
    l.tuning_error = ep;
    feed_pb(ex, &l.base);
}


/* ---- the IAM exchange ------------------------------------------------- */

/* base64url without padding, decoded; NULL on a bad character */
static unsigned char *
b64url_decode(const char *s, size_t len, size_t *out_len)
{
    int             got;
    char           *std;
    size_t          i, n, pad;
    unsigned char  *out;

    if (len % 4 == 1) {
        return NULL;
    }

    pad = (4 - len % 4) % 4;
    n = len + pad;
    std = keep_buf(malloc(n + 1));

    for (i = 0; i < len; i++) {
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z')
              || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'
              || s[i] == '_'))
        {
            return NULL;
        }

        std[i] = (s[i] == '-') ? '+' : (s[i] == '_') ? '/' : s[i];
    }

    for ( /* void */ ; i < n; i++) {
        std[i] = '=';
    }

    std[n] = '\0';

    out = keep_buf(malloc(n / 4 * 3 + 1));
    got = EVP_DecodeBlock(out, (unsigned char *) std, (int) n);

    if (got < 0 || (size_t) got < pad) {
        return NULL;
    }

    *out_len = (size_t) got - pad;
    out[*out_len] = '\0';

    return out;
}


/* a part of a JWT as JSON (freed by the teardown) */
static cJSON *
jwt_part(const char *s, size_t len, const char *file, int line)
{
    size_t          n;
    cJSON          *j;
    unsigned char  *raw;

    raw = b64url_decode(s, len, &n);
    if (raw == NULL) {
        check_fail(file, line, "a JWT part is not base64url: %.*s",
                   (int) len, s);
    }

    j = cJSON_ParseWithLength((const char *) raw, n);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        check_fail(file, line, "a JWT part is not a JSON object: %s", raw);
    }

    return keep_json(j);
}


/* RSASSA-PSS, SHA-256, MGF1-SHA-256, salt 32, checked with pub */
static int
jwt_verifies(EVP_PKEY *pub, const char *jwt)
{
    int             ok;
    size_t          siglen;
    const char     *dot;
    EVP_MD_CTX     *md;
    EVP_PKEY_CTX   *pctx;
    unsigned char  *sig;

    dot = strrchr(jwt, '.');
    if (dot == NULL) {
        return 0;
    }

    sig = b64url_decode(dot + 1, strlen(dot + 1), &siglen);
    if (sig == NULL) {
        return 0;
    }

    md = EVP_MD_CTX_new();
    if (md == NULL) {
        return 0;
    }

    pctx = NULL;
    ok = EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL, pub) == 1
         && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0
         && EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) > 0
         && EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) > 0
         && EVP_DigestVerify(md, sig, siglen, (const unsigned char *) jwt,
                             (size_t) (dot - jwt)) == 1;

    EVP_MD_CTX_free(md);
    ERR_clear_error();

    return ok;
}


static void
check_jwt(const char *jwt, int64_t iat, const char *file, int line)
{
    cJSON       *h, *c;
    const char  *dot1, *dot2;

    dot1 = strchr(jwt, '.');
    dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;

    if (dot1 == NULL || dot2 == NULL || strchr(dot2 + 1, '.') != NULL
        || strchr(jwt, '=') != NULL)
    {
        check_fail(file, line, "not a compact JWT: %s", jwt);
    }

    h = jwt_part(jwt, dot1 - jwt, file, line);
    c = jwt_part(dot1 + 1, dot2 - dot1 - 1, file, line);

    jstr_eq(h, "typ", "JWT", file, line);
    jstr_eq(h, "alg", "PS256", file, line);
    jstr_eq(h, "kid", KEY_ID, file, line);
    int_eq(cJSON_GetArraySize(h), 3, "header keys", file, line);

    jstr_eq(c, "iss", SA_ID, file, line);
    jstr_eq(c, "aud", IAM_AUD, file, line);
    jint_eq(c, "iat", iat, file, line);
    jint_eq(c, "exp", iat + 3600, file, line);
    int_eq(cJSON_GetArraySize(c), 4, "claims", file, line);

    if (!jwt_verifies(rsa_pub, jwt)) {
        check_fail(file, line, "the JWT does not verify with the key's "
                   "public half");
    }
}


/* the IAM token exchange: POST {"jwt"} to the IAM endpoint */
static gw_call_t *
expect_iam(gw_exchange_t *ex, int prov, const char *file, int line)
{
    cJSON       *body;
    gw_call_t   *call;
    const char  *v;

    call = next_call(ex, prov, IAM_PATH, file, line);

    if (strcmp(call->path, IAM_PATH) != 0 || call->endpoint == NULL
        || strcmp(call->endpoint, IAM_EP) != 0)
    {
        check_fail(file, line, "call to %s%s, want " IAM_EP IAM_PATH,
                   call->endpoint ? call->endpoint : "(provider)",
                   call->path);
    }

    v = header(call, "Content-Type");
    if (v == NULL || strcmp(v, "application/json") != 0) {
        check_fail(file, line, "IAM content-type: got %s", v ? v : "(none)");
    }

    if (header(call, "Authorization") != NULL) {
        check_fail(file, line, "the IAM exchange carries an Authorization");
    }

    if (call->body == NULL || call->body_len != strlen(call->body)) {
        check_fail(file, line, "the IAM exchange has no JSON body");
    }

    LACKS(call->body, pem_chunk);
    LACKS(call->body, "PRIVATE KEY");

    body = keep_json(cJSON_ParseWithLength(call->body, call->body_len));

    if (!cJSON_IsObject(body) || cJSON_GetArraySize(body) != 1
        || jstr(body, "jwt") == NULL)
    {
        check_fail(file, line, "IAM body: got %s, want {\"jwt\": ...}",
                   call->body);
    }

    check_jwt(jstr(body, "jwt"), now_ms / 1000, file, line);

    return call;
}

#define EXPECT_IAM(ex, prov)  expect_iam(ex, prov, __FILE__, __LINE__)


/* ---- a job of each provider ------------------------------------------- */

#define MIN_BODY                                                            \
    "{\"model\":\"yandex/yandexgpt-lite\","                                 \
    "\"training_file\":\"yandex://dataset/fds1\"}"

#define MIN_BODY_IAM                                                        \
    "{\"model\":\"yciam/yandexgpt-lite\","                                  \
    "\"training_file\":\"yandex://dataset/fds1\"}"


/* the Authorization the provider's next call carries, from the cache */
static const char *
auth_of(int prov)
{
    static char       buf[4200];
    const centry_t   *e;

    if (prov == P_YX) {
        return AUTH_KEY;
    }

    e = cache_find("yandex-iam:yciam", 0);
    snprintf(buf, sizeof(buf), "Bearer %s", e ? e->value : "(none)");

    return buf;
}


/*
 * The id of task task_id (operation op_id) that client created through
 * prov.  An iam provider with nothing cached gets a seeded token.
 */
static void
mint(const char *client, int prov, const char *task_id, const char *op_id,
    char *out, size_t size)
{
    cJSON          *json;
    opbuf_t         ob;
    gw_exchange_t  *ex;

    if (prov == P_YI && cache_find("yandex-iam:yciam", 0) == NULL) {
        cache_seed("yciam", TOKEN_SEED);
    }

    ex = ex_create(client, prov == P_YX ? MIN_BODY : MIN_BODY_IAM);
    EXPECT_GRPC(ex, prov, "Tune", auth_of(prov));
    op_make(&ob, op_id, task_id, ST(CREATED));
    feed_op(ex, &ob);
    json = FINISH(ex, 200);

    assert_non_null(jstr(json, "id"));
    assert_true(strlen(jstr(json, "id")) < size);
    snprintf(out, size, "%s", jstr(json, "id"));
}


/* a create that passes validation: its TuningRequest */
static treq_t *
tune_request_of(const char *client, const char *body, const char *file,
    int line)
{
    gw_call_t      *call;
    gw_exchange_t  *ex;

    ex = ex_create(client, body);
    call = expect_grpc(ex, P_YX, TUNING "Tune", NULL, AUTH_KEY, file, line);

    return unframe(call, DESC(tuning_request), file, line);
}

#define TUNE_REQUEST(body)  tune_request_of("alice", body, __FILE__, __LINE__)


static const char *
label_of(const treq_t *r, const char *key)
{
    size_t  i;

    for (i = 0; i < r->n_labels; i++) {
        if (strcmp(r->labels[i]->key, key) == 0) {
            return r->labels[i]->value;
        }
    }

    return NULL;
}
