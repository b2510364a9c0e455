
/*
 * The Baidu Qianfan translator (fine-tune API v1) end to end, through the
 * public exchange API (gw.h): what the vendor receives for each client
 * request (createTask + createJob + jobDetail, jobDetail, stopJob +
 * jobDetail), every signature recomputed here with OpenSSL, and what the
 * client gets back for each vendor answer.  Vendor answers and golden
 * request bodies are in translators/tests/fixtures/qianfan/ (tests run
 * from the repository root).
 *
 * The gateway has one qianfan provider and one clova provider, so that
 * the merged list has a provider that lists and one that cannot.
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <gw.h>

#include "check.h"


#define FIXTURES        "translators/tests/fixtures/qianfan/"
#define V1              "/v1/fine_tuning/jobs"
#define QF_PATH         "/wenxinworkshop/finetune/"
#define QF_HOST         "qianfan.baidubce.com"
#define CLOVA_TASKS     "/tuning/v2/tasks"

#define NOW_MS          1700000000000LL
#define NOW_S           1700000000LL
#define NOW_BCE         "2023-11-14T22:13:20Z"
/* the 8 hex digits of a task name: NOW_MS & 0xffffffff */
#define TAG             "cfe56800"
#define GEN_ID          "gen-req-0001"

#define QF_AK           "ALTAK-qf7d3e9a2b5c1f"
#define QF_SK           "qfsk-0a1b2c3d4e5f6a7b8c9d"
#define CLOVA_API_KEY   "nv-qfsuite-4c1d9e2f7a6b"
#define OBJ_AK          "OBJ-AK-qfsuite-11aa"
#define OBJ_SK          "OBJ-SK-qfsuite-22bb33cc"

/* the reference's Qianfan-shaped vector (vendor-apis.md 2.8.1) */
#define VEC_AK          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define VEC_SK          "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define VEC_TS          "2023-09-19T13:37:10Z"
#define VEC_MS          1695130630000LL
#define VEC_AUTH                                                            \
    "bce-auth-v1/" VEC_AK "/" VEC_TS "/300/content-type;host;x-bce-date/"   \
    "545c45204c3520be919cb1a5b7cf99a497c4fcfa658d22e18e2b98451f16015b"
#define VEC_KEY                                                             \
    "58da69de66397771802138d4d0ecbc2e72fa5554fcf147c6117df82ce42163d1"

/* the fixtures' Beijing times as unix seconds */
#define T_START         1697797149LL    /* 2023-10-20 18:19:09 +08:00 */
#define T_FINISH        1697824800LL    /* 2023-10-21 02:00:00 +08:00 */
#define T_STOP          1697805000LL    /* 2023-10-20 20:30:00 +08:00 */
#define T_FAIL          1697802310LL    /* 2023-10-20 19:45:10 +08:00 */
#define T_INCR          1700000001LL    /* 2023-11-15 06:13:21 +08:00 */

/* the clova list fixture's times */
#define T_CLOVA_A1      1692590400LL    /* 2023-08-21T13:00:00+0900 */
#define T_CLOVA_A2      1692586800LL    /* 2023-08-21T12:00:00+0900 */


#define INV             "invalid_request_error"
#define NF              "not_found_error"
#define CONFLICT        "conflict_error"
#define RATE            "rate_limit_error"
#define QUOTA           "insufficient_quota"
#define UPSTREAM        "upstream_error"
#define API             "api_error"
#define TIMEOUT         "timeout_error"

#define HAN             "\xe4\xb8\xad"  /* U+4E2D, 3 bytes in UTF-8 */


enum {
    P_QF = 0,
    P_CLOVA = 1
};


static gw_provider_t  providers[2];


static int
setup_gateway(void **state)
{
    const gw_vendor_t  *qianfan, *clova;

    qianfan = gw_vendor_find("qianfan");
    clova = gw_vendor_find("clova");
    if (qianfan == NULL || clova == NULL) {
        return -1;
    }

    memset(providers, 0, sizeof(providers));

    providers[P_QF].name = "qianfan";
    providers[P_QF].vendor = qianfan;
    providers[P_QF].endpoint = "/_ftgw/qianfan";
    providers[P_QF].params[0] = (gw_param_t) { "access_key", QF_AK, 1 };
    providers[P_QF].params[1] = (gw_param_t) { "secret_key", QF_SK, 1 };
    providers[P_QF].nparams = 2;

    providers[P_CLOVA].name = "clova";
    providers[P_CLOVA].vendor = clova;
    providers[P_CLOVA].endpoint = "/_ftgw/clova";
    providers[P_CLOVA].params[0] = (gw_param_t) { "auth", "bearer", 0 };
    providers[P_CLOVA].params[1] =
        (gw_param_t) { "api_key", CLOVA_API_KEY, 1 };
    providers[P_CLOVA].params[2] =
        (gw_param_t) { "storage_access_key", OBJ_AK, 1 };
    providers[P_CLOVA].params[3] =
        (gw_param_t) { "storage_secret_key", OBJ_SK, 1 };
    providers[P_CLOVA].nparams = 4;

    return 0;
}


/* ---- the signature, computed independently ---------------------------- */

static void
hmac_hex(const char *key, size_t key_len, const char *msg, char *out)
{
    size_t         i;
    unsigned int   len;
    unsigned char  mac[EVP_MAX_MD_SIZE];

    assert_non_null(HMAC(EVP_sha256(), key, (int) key_len,
                         (const unsigned char *) msg, strlen(msg), mac,
                         &len));
    assert_int_equal(len, 32);

    for (i = 0; i < len; i++) {
        snprintf(out + 2 * i, 3, "%02x", mac[i]);
    }
}


/* UriEncode: unreserved bytes kept, every other "%XX" in upper case */
static void
uri_encode(const char *s, char *out, size_t size)
{
    size_t  n;

    for (n = 0; *s != '\0' && n + 4 < size; s++) {
        if ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')
            || (*s >= '0' && *s <= '9') || strchr("-_.~", *s) != NULL)
        {
            out[n++] = *s;

        } else {
            snprintf(out + n, 4, "%%%02X", (unsigned char) *s);
            n += 3;
        }
    }

    out[n] = '\0';
}


/* what the Qianfan SDK signs: content-type, host and x-bce-date */
static void
bce_auth(const char *path, const char *host, const char *ts, int expiration,
    const char *ak, const char *sk, char *out, size_t size)
{
    char  prefix[256], key[65], creq[1024], sig[65], ehost[256], ets[64];

    snprintf(prefix, sizeof(prefix), "bce-auth-v1/%s/%s/%d", ak, ts,
             expiration);
    hmac_hex(sk, strlen(sk), prefix, key);

    uri_encode(host, ehost, sizeof(ehost));
    uri_encode(ts, ets, sizeof(ets));

    snprintf(creq, sizeof(creq), "POST\n%s\n\n"
             "content-type:application%%2Fjson\n"
             "host:%s\n"
             "x-bce-date:%s", path, ehost, ets);
    hmac_hex(key, 64, creq, sig);

    snprintf(out, size, "%s/content-type;host;x-bce-date/%s", prefix, sig);
}


/* "yyyy-mm-ddThh:mm:ssZ" of the libc's gmtime */
static void
utc_stamp(int64_t ms, char *out, size_t size)
{
    time_t     t;
    struct tm  tm;

    t = (time_t) (ms / 1000);
    assert_non_null(gmtime_r(&t, &tm));
    assert_true(strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm) > 0);
}


static const char *
qf_param(const char *name)
{
    size_t  i;

    for (i = 0; i < providers[P_QF].nparams; i++) {
        if (strcmp(providers[P_QF].params[i].name, name) == 0) {
            return providers[P_QF].params[i].value;
        }
    }

    return NULL;
}


/* ---- the calls' headers ----------------------------------------------- */

static void
check_qf_headers(const gw_call_t *call, const char *file, int line)
{
    int          expiration;
    char         want[512], ts[32];
    const char  *v, *host;

    v = header(call, "Content-Type");
    if (v == NULL || strcmp(v, "application/json") != 0) {
        check_fail(file, line, "Content-Type: got %s", v ? v : "(none)");
    }

    if (call->body == NULL || call->body_len != strlen(call->body)) {
        check_fail(file, line, "a Qianfan call without a JSON body");
    }

    utc_stamp(now_ms, ts, sizeof(ts));

    v = header(call, "x-bce-date");
    if (v == NULL || strcmp(v, ts) != 0) {
        check_fail(file, line, "x-bce-date: got %s, want %s",
                   v ? v : "(none)", ts);
    }

    host = qf_param("host");
    if (host == NULL) {
        host = QF_HOST;
    }

    v = qf_param("signature_expiration");
    expiration = v ? atoi(v) : 300;

    bce_auth(call->path, host, ts, expiration, qf_param("access_key"),
             qf_param("secret_key"), want, sizeof(want));

    v = header(call, "Authorization");
    if (v == NULL || strcmp(v, want) != 0) {
        check_fail(file, line, "Authorization for %s:\n got  %s\n want %s",
                   call->path, v ? v : "(none)", want);
    }
}


static void
check_headers(const gw_call_t *call, int prov, const char *file, int line)
{
    const char  *v;

    /* the access key id goes in Authorization, never in a body */
    if (call->body != NULL && strstr(call->body, QF_AK) != NULL) {
        check_fail(file, line, "the call's body carries a secret");
    }

    if (prov == P_CLOVA) {
        v = header(call, "Authorization");
        if (v == NULL || strcmp(v, "Bearer " CLOVA_API_KEY) != 0) {
            check_fail(file, line, "clova Authorization: got %s",
                       v ? v : "(none)");
        }

        return;
    }

    v = header(call, "X-Request-Id");
    if (v == NULL || strcmp(v, want_rid) != 0) {
        check_fail(file, line, "X-Request-Id: got %s, want %s",
                   v ? v : "(none)", want_rid);
    }

    check_qf_headers(call, file, line);
}


#define EXPECT_QF(ex, action)                                               \
    expect_call(ex, P_QF, "POST", QF_PATH action, "", __FILE__, __LINE__)

#define DETAIL_BODY     "{\"taskId\":17263,\"jobId\":6301}"


/* the client keys count too (harness.c) */
static const char *
secrets[] = {
    QF_AK, QF_SK, CLOVA_API_KEY, OBJ_AK, OBJ_SK, NULL
};

/* not the access key id: every Qianfan call's Authorization names it */
static const char *
call_secrets[] = {
    QF_SK, NULL
};


static const harness_t  harness = {
    .providers = providers,
    .nproviders = sizeof(providers) / sizeof(providers[0]),
    .id_secret = "qianfan-suite-id-secret-0123456789abcdef-xyz",
    .fixtures = FIXTURES,
    .generated_id = GEN_ID,
    .now_ms = NOW_MS,
    .secrets = secrets,
    .call_secrets = call_secrets,
    .check_call = check_headers,
    .reset = setup_gateway
};


/*
 * A create through its three calls: createTask (checked against
 * task_golden unless NULL), createJob (against job_golden unless NULL),
 * jobDetail of task 17263, run 6301 (answered with detail).
 */
static cJSON *
create_flow(const char *client, const char *body, const char *task_golden,
    const char *job_golden, const char *detail, const char *file, int line)
{
    gw_call_t      *call;
    gw_exchange_t  *ex;

    ex = ex_create(client, body);

    call = expect_call(ex, P_QF, "POST", QF_PATH "createTask", "", file,
                       line);
    if (task_golden != NULL) {
        assert_body_file(call, task_golden, file, line);
    }

    feed_file(ex, 200, "task_created.json");

    call = expect_call(ex, P_QF, "POST", QF_PATH "createJob", "", file,
                       line);
    if (job_golden != NULL) {
        assert_body_file(call, job_golden, file, line);
    }

    feed_file(ex, 200, "job_created.json");

    call = expect_call(ex, P_QF, "POST", QF_PATH "jobDetail", "", file,
                       line);
    assert_body_text(call, DETAIL_BODY, file, line);
    feed_file(ex, 200, detail);

    return finish(ex, 200, file, line);
}

#define CREATE_FLOW(client, body, task, job, detail)                        \
    create_flow(client, body, task, job, detail, __FILE__, __LINE__)


#define QF_MIN_BODY                                                         \
    "{\"model\":\"qianfan/Llama-2-7b\","                                \
    "\"training_file\":\"qianfan://dataset/1234\"}"


/* the id of a run (task 17263, run 6301) that client created */
static void
mint_id(const char *client, char *out, size_t size)
{
    cJSON  *json;

    json = CREATE_FLOW(client, QF_MIN_BODY, NULL, NULL,
                       strcmp(client, "alice") == 0 ? "detail_running.json"
                                                    : "detail_bob.json");

    assert_non_null(jstr(json, "id"));
    assert_true(strlen(jstr(json, "id")) < size);
    snprintf(out, size, "%s", jstr(json, "id"));
}


/* the id of a job of the clova provider */
static void
mint_clova_id(const char *client, char *out, size_t size)
{
    cJSON          *json;
    gw_exchange_t  *ex;

    ex = ex_create(client, "{\"model\":\"clova/HCX-003\","
                   "\"training_file\":\"s3://b/t.csv\"}");
    EXPECT_CALL(ex, P_CLOVA, "POST", CLOVA_TASKS, "");
    feed_file(ex, 200, "clova_task_created.json");
    json = FINISH(ex, 200);

    assert_non_null(jstr(json, "id"));
    assert_true(strlen(jstr(json, "id")) < size);
    snprintf(out, size, "%s", jstr(json, "id"));
}


/* a create that passes validation: its createJob body, parsed */
static cJSON *
job_body_of(const char *client, const char *body, const char *file,
    int line)
{
    gw_call_t      *call;
    gw_exchange_t  *ex;

    ex = ex_create(client, body);

    /* an incremental run joins its base run's task: no createTask */
    if (strstr(body, "\"continue_from\"") == NULL) {
        expect_call(ex, P_QF, "POST", QF_PATH "createTask", "", file, line);
        feed_file(ex, 200, "task_created.json");
    }

    call = expect_call(ex, P_QF, "POST", QF_PATH "createJob", "", file,
                       line);

    return keep_json(cJSON_ParseWithLength(call->body, call->body_len));
}

#define JOB_BODY(client, body)  job_body_of(client, body, __FILE__, __LINE__)


/* ---- configuration and the signer ------------------------------------- */

static void
test_provider_config(void **state)
{
    char           err[256];
    gw_provider_t  p;

    assert_non_null(gw_vendor_find("qianfan"));
    assert_int_equal(gw_provider_check(&providers[P_QF], err, sizeof(err)),
                     GW_OK);
    assert_int_equal(gw_provider_check(&providers[P_CLOVA], err,
                                       sizeof(err)), GW_OK);

    /* every optional param, at its bounds */
    p = providers[P_QF];
    p.params[2] = (gw_param_t) { "host", "qianfan.example.internal:8443",
                                 0 };
    p.params[3] = (gw_param_t) { "signature_expiration", "60", 0 };
    p.nparams = 4;
    assert_int_equal(gw_provider_check(&p, err, sizeof(err)), GW_OK);
    p.params[3].value = "86400";
    assert_int_equal(gw_provider_check(&p, err, sizeof(err)), GW_OK);

    /* out of range, not a number */
    p.params[3].value = "59";
    assert_int_equal(gw_provider_check(&p, err, sizeof(err)), GW_ERROR);
    p.params[3].value = "86401";
    assert_int_equal(gw_provider_check(&p, err, sizeof(err)), GW_ERROR);
    p.params[3].value = "300s";
    assert_int_equal(gw_provider_check(&p, err, sizeof(err)), GW_ERROR);
    p.params[3].value = "";
    assert_int_equal(gw_provider_check(&p, err, sizeof(err)), GW_ERROR);
    p.params[3].value = "300";

    /* a host is a name, not a URL */
    p.params[2].value = "https://qianfan.baidubce.com";
    assert_int_equal(gw_provider_check(&p, err, sizeof(err)), GW_ERROR);
    p.params[2].value = "";
    assert_int_equal(gw_provider_check(&p, err, sizeof(err)), GW_ERROR);
    p.params[2].value = "qianfan baidubce.com";
    assert_int_equal(gw_provider_check(&p, err, sizeof(err)), GW_ERROR);

    /* the keys are secrets from files, and both are needed */
    p = providers[P_QF];
    p.params[0].secret = 0;
    assert_int_equal(gw_provider_check(&p, err, sizeof(err)), GW_ERROR);
    HAS(err, "access_key_file");

    p = providers[P_QF];
    p.nparams = 1;
    assert_int_equal(gw_provider_check(&p, err, sizeof(err)), GW_ERROR);
    HAS(err, "secret_key_file");

    p = providers[P_QF];
    p.params[2] = (gw_param_t) { "api_key", "x", 1 };
    p.nparams = 3;
    assert_int_equal(gw_provider_check(&p, err, sizeof(err)), GW_ERROR);

    /* a secret never shows in a configuration error */
    LACKS(err, QF_AK);
    LACKS(err, QF_SK);
}


/* the test's signer against the reference's vectors (2.8.1) */
static void
test_signature_vectors(void **state)
{
    char  key[65], out[512];

    hmac_hex(VEC_SK, strlen(VEC_SK),
             "bce-auth-v1/" VEC_AK "/" VEC_TS "/300", key);
    assert_string_equal(key, VEC_KEY);

    bce_auth(QF_PATH "createJob", QF_HOST, VEC_TS, 300, VEC_AK, VEC_SK, out,
             sizeof(out));
    assert_string_equal(out, VEC_AUTH);

    uri_encode("2015-04-27T08:23:49Z", out, sizeof(out));
    assert_string_equal(out, "2015-04-27T08%3A23%3A49Z");

    utc_stamp(VEC_MS, out, sizeof(out));
    assert_string_equal(out, VEC_TS);
    utc_stamp(NOW_MS, out, sizeof(out));
    assert_string_equal(out, NOW_BCE);
}


/* the gateway's own Authorization for the vector's request, byte for byte */
static void
test_signature_gateway_vector(void **state)
{
    gw_call_t      *call;
    gw_exchange_t  *ex;

    providers[P_QF].params[0].value = VEC_AK;
    providers[P_QF].params[1].value = VEC_SK;
    now_ms = VEC_MS;

    ex = ex_create("alice", QF_MIN_BODY);
    call = EXPECT_QF(ex, "createTask");
    assert_string_equal(header(call, "x-bce-date"), VEC_TS);
    feed_file(ex, 200, "task_created.json");

    call = EXPECT_QF(ex, "createJob");
    assert_string_equal(header(call, "Authorization"), VEC_AUTH);
}


/* x-bce-date is the request's clock in UTC, to the second */
static void
test_signature_dates(void **state)
{
    size_t          i;
    gw_exchange_t  *ex;

    static const int64_t  clocks[] = {
        NOW_MS,
        NOW_MS + 999,                   /* the milliseconds are dropped */
        1709251199000LL,                /* 2024-02-29T23:59:59Z */
        1709251200000LL,                /* 2024-03-01T00:00:00Z */
        1704067199500LL,                /* 2023-12-31T23:59:59Z */
        946684800000LL,                 /* 2000-01-01T00:00:00Z */
        4102444800000LL                 /* 2100-01-01T00:00:00Z */
    };

    for (i = 0; i < sizeof(clocks) / sizeof(clocks[0]); i++) {
        print_message("case: %lld ms\n", (long long) clocks[i]);

        now_ms = clocks[i];
        ex = ex_create("alice", QF_MIN_BODY);
        EXPECT_QF(ex, "createTask");
        feed_file(ex, 200, "task_created.json");
        EXPECT_QF(ex, "createJob");
    }

    /* spot checks of the reference clock, not only the test's libc */
    now_ms = 1709251199000LL;
    ex = ex_create("alice", QF_MIN_BODY);
    assert_string_equal(header(EXPECT_QF(ex, "createTask"), "x-bce-date"),
                        "2024-02-29T23:59:59Z");
}


/* a configured host and expiration are what is signed */
static void
test_signature_host_and_expiration(void **state)
{
    char            id[1100];
    gw_call_t      *call;
    const char     *auth;
    gw_exchange_t  *ex;

    mint_id("alice", id, sizeof(id));

    providers[P_QF].params[2] =
        (gw_param_t) { "host", "qianfan.example.internal:8443", 0 };
    providers[P_QF].params[3] =
        (gw_param_t) { "signature_expiration", "1800", 0 };
    providers[P_QF].nparams = 4;

    ex = ex_job("alice", "GET", id, "", NULL);
    call = EXPECT_QF(ex, "jobDetail");

    auth = header(call, "Authorization");
    HAS(auth, "bce-auth-v1/" QF_AK "/" NOW_BCE "/1800/"
        "content-type;host;x-bce-date/");

    /* the default host would not verify */
    {
        char  other[512];

        bce_auth(call->path, QF_HOST, NOW_BCE, 1800, QF_AK, QF_SK, other,
                 sizeof(other));
        assert_string_not_equal(auth, other);
    }

    /* and the secret key is nowhere in the call */
    assert_null(strstr(auth, QF_SK));
}


/* ---- create: golden bodies --------------------------------------------- */

static void
test_create_full(void **state)
{
    cJSON       *json;
    const char  *id;

    json = CREATE_FLOW("alice",
        "{\"model\":\"qianfan/Llama-2-7b\","
        "\"training_file\":\"qianfan://dataset/1234\","
        "\"suffix\":\"flow-test\","
        "\"hyperparameters\":{\"n_epochs\":3,\"batch_size\":8},"
        "\"tuning\":{\"tuning_type\":\"full\",\"learning_rate\":1e-4,"
        "\"validation_split\":0.2,\"description\":\"nightly run\"}}",
        "create_task_flow.json", "create_job_full.json",
        "detail_running.json");

    id = jstr(json, "id");
    assert_non_null(id);
    assert_memory_equal(id, "ftjob-", 6);

    JSTR(json, "object", "fine_tuning.job");
    JSTR(json, "status", "running");
    JSTR(json, "model", "qianfan/Llama-2-7b");
    JSTR(json, "organization_id", "alice");
    JINT(json, "created_at", T_START);
    JINT(json, "finished_at", NUL);
    JSTR(json, "fine_tuned_model", NULL);
    JSTR(json, "training_file", "qianfan://dataset/1234");
    JSTR(json, "validation_file", NULL);
    assert_true(cJSON_IsNull(jget(json, "error")));
    JINT(json, "hyperparameters.n_epochs", 3);
    JSTR(json, "vendor.provider", "qianfan");
    JSTR(json, "vendor.kind", "qianfan");
    JSTR(json, "vendor.job_id", "17263");
    JSTR(json, "vendor.secondary_id", "6301");
    JSTR(json, "vendor.status", "RUNNING");
    JSTR(json, "vendor.name", "flow-test-" TAG);
    JNUM(json, "vendor.learning_rate", 1e-4);
    JNUM(json, "vendor.progress.percent", 51);
    JSTR(json, "vendor.peftType", "LoRA");

    assert_no_secret(last_ex());
}


/* hyperparameters in the create answer are the ones sent */
static void
test_create_answer_batch_size(void **state)
{
    cJSON  *json;

    json = CREATE_FLOW("alice",
        "{\"model\":\"qianfan/Llama-2-7b\","
        "\"training_file\":\"qianfan://dataset/1234\","
        "\"hyperparameters\":{\"n_epochs\":3,\"batch_size\":8}}",
        NULL, NULL, "detail_running.json");

    JINT(json, "hyperparameters.n_epochs", 3);

    /* Regression: gw_qianfan.c gw_qf_create(), the last step (about line
     * 1047), copies n_epochs and learning_rate from the spec into the
     * job but not batch_size: the gateway sends trainConfig.batchSize 8
     * and answers "hyperparameters": {"batch_size": "auto"}. */
    JINT(json, "hyperparameters.batch_size", 8);
}


static void
test_create_prompt_tuning_bos(void **state)
{
    cJSON  *json;

    json = CREATE_FLOW("alice",
        "{\"model\":\"qianfan/Llama-2-7b\","
        "\"training_file\":\"bos://my-bucket/data/train.jsonl\","
        "\"tuning\":{\"tuning_type\":\"prompt_tuning\"}}",
        "create_task_default.json", "create_job_ptuning.json",
        "detail_running.json");

    /* the documented defaults, also in the answer */
    JINT(json, "hyperparameters.n_epochs", 1);
    JNUM(json, "vendor.learning_rate", 3e-5);
    JSTR(json, "training_file", "bos://my-bucket/data/train.jsonl");
}


static void
test_create_lora_bob(void **state)
{
    cJSON  *json;

    json = CREATE_FLOW("bob",
        "{\"model\":\"qianfan/ChatGLM2-6B\","
        "\"training_file\":\"qianfan://dataset/77\",\"suffix\":\"bob-run\","
        "\"method\":{\"type\":\"supervised\",\"supervised\":"
        "{\"hyperparameters\":{\"n_epochs\":50,\"batch_size\":4}}},"
        "\"tuning\":{\"tuning_type\":\"lora\",\"learning_rate\":2e-4,"
        "\"validation_split\":0.5}}",
        "create_task_bob.json", "create_job_lora.json", "detail_bob.json");

    JSTR(json, "organization_id", "bob");
    JINT(json, "hyperparameters.n_epochs", 50);
}


static void
test_create_defaults(void **state)
{
    /* peftType unset: LoRA where the model has it */
    CREATE_FLOW("alice", QF_MIN_BODY, "create_task_default.json",
                "create_job_default_llama.json", "detail_running.json");

    /* ... else ALL (0516 is full tuning only) */
    CREATE_FLOW("alice",
        "{\"model\":\"qianfan/ERNIE-Bot-turbo-0516\","
        "\"training_file\":\"qianfan://dataset/1234\","
        "\"hyperparameters\":{\"batch_size\":16}}",
        "create_task_default.json", "create_job_default_0516.json",
        "detail_running.json");
}


static void
test_create_0725_max_seq_len(void **state)
{
    CREATE_FLOW("alice",
        "{\"model\":\"qianfan/ERNIE-Bot-turbo-0725\","
        "\"training_file\":\"qianfan://dataset/1234\","
        "\"hyperparameters\":{\"n_epochs\":2},"
        "\"tuning\":{\"max_seq_len\":8192,\"learning_rate\":1e-5,"
        "\"tuning_type\":\"full\",\"validation_split\":0.35}}",
        "create_task_default.json", "create_job_0725.json",
        "detail_running.json");
}


static void
test_create_several_datasets(void **state)
{
    cJSON  *json;

    json = CREATE_FLOW("alice",
        "{\"model\":\"qianfan/Baichuan2-13B\","
        "\"tuning\":{\"training_datasets\":["
        "{\"ref\":\"qianfan://dataset/11\"},"
        "{\"ref\":\"bos://b2/p/x.jsonl\"},"
        "{\"ref\":\"qianfan://dataset/12\"}]}}",
        "create_task_default.json", "create_job_datasets.json",
        "detail_running.json");

    JSTR(json, "training_file", "qianfan://dataset/11");
}


/* the longest suffix makes a 20-character task name, Qianfan's maximum */
static void
test_create_task_name(void **state)
{
    char            desc[64];
    size_t          i;
    gw_call_t      *call;
    const char     *name;
    const cJSON    *b;
    gw_exchange_t  *ex;

    ex = ex_create("alice",
        "{\"model\":\"qianfan/Llama-2-7b\","
        "\"training_file\":\"qianfan://dataset/1234\","
        "\"suffix\":\"abcdefghijk\"}");
    call = EXPECT_QF(ex, "createTask");
    ASSERT_BODY(call, "create_task_max_suffix.json");

    /* another clock, another tag: "<suffix>-<8 lower-case hex>" */
    now_ms = NOW_MS + 0x1234;
    ex = ex_create("alice",
        "{\"model\":\"qianfan/Llama-2-7b\","
        "\"training_file\":\"qianfan://dataset/1234\",\"suffix\":\"ab\"}");
    call = EXPECT_QF(ex, "createTask");
    b = keep_json(cJSON_Parse(call->body));
    name = jstr(b, "name");
    assert_non_null(name);
    assert_int_equal(strlen(name), 11);
    assert_memory_equal(name, "ab-", 3);

    for (i = 3; i < 11; i++) {
        assert_non_null(strchr("0123456789abcdef", name[i]));
    }

    assert_string_not_equal(name, "ab-" TAG);
    snprintf(desc, sizeof(desc), "ftgw:alice.%s", owner_seal("alice", name));
    JSTR(b, "description", desc);
}


/*
 * Incremental training from an earlier run of the same client.  Seed 002
 * (Qianfan v1 createJob, the incremental example): the new run is created
 * in the base run's task, "taskId" equal to "increConfig.taskId", so no
 * createTask is sent.
 */
static void
test_create_incremental(void **state)
{
    char            id[1100], body[1600];
    cJSON          *json;
    gw_call_t      *call;
    gw_exchange_t  *ex;

    mint_id("alice", id, sizeof(id));

    snprintf(body, sizeof(body),
             "{\"model\":\"qianfan/ERNIE-Bot-turbo-0725\","
             "\"training_file\":\"qianfan://dataset/1235\","
             "\"tuning\":{\"tuning_type\":\"full\",\"max_seq_len\":4096,"
             "\"continue_from\":\"%s\"}}", id);

    ex = ex_create("alice", body);
    call = EXPECT_QF(ex, "createJob");
    ASSERT_BODY(call, "create_job_incremental.json");
    feed_file(ex, 200, "job_created_2.json");

    call = EXPECT_QF(ex, "jobDetail");
    ASSERT_BODY_TEXT(call, "{\"taskId\":17263,\"jobId\":6302}");
    feed_file(ex, 200, "detail_incremental.json");

    json = FINISH(ex, 200);
    JSTR(json, "vendor.job_id", "17263");
    JSTR(json, "vendor.secondary_id", "6302");
    JINT(json, "vendor.version", 2);
    JINT(json, "vendor.jobRunType", 1);
    JINT(json, "vendor.increConfig.taskId", 17263);
    JINT(json, "vendor.increConfig.jobId", 6301);
    JINT(json, "created_at", T_INCR);
    assert_string_not_equal(jstr(json, "id"), id);

    /* the new id names the new run */
    ex = ex_job("alice", "GET", jstr(json, "id"), "", NULL);
    call = EXPECT_QF(ex, "jobDetail");
    ASSERT_BODY_TEXT(call, "{\"taskId\":17263,\"jobId\":6302}");
}


/*
 * An incremental run without tuning_type keeps its base run's method,
 * which Qianfan requires to be ALL: no peftType is sent and the rate is
 * checked against ALL's range.  It names no task, so suffix and
 * tuning.description, which would name one, are refused.
 */
static void
test_create_incremental_rules(void **state)
{
    char          id[1100], body[1600];
    const cJSON  *b;

    mint_id("alice", id, sizeof(id));

#define INCR(extra, tuning)                                                 \
    snprintf(body, sizeof(body),                                            \
             "{\"model\":\"qianfan/ERNIE-Bot-turbo-0704\","                \
             "\"training_file\":\"qianfan://dataset/1235\"" extra ","      \
             "\"tuning\":{\"continue_from\":\"%s\"" tuning "}}", id)

    INCR("", "");
    b = JOB_BODY("alice", body);
    JABSENT(b, "peftType");
    JINT(b, "taskId", 17263);
    JNUM(b, "trainConfig.learningRate", 3e-5);

    INCR("", ",\"learning_rate\":4e-5");
    JNUM(JOB_BODY("alice", body), "trainConfig.learningRate", 4e-5);

    /* 1e-3 is in LoRA's range, not in ALL's */
    INCR("", ",\"learning_rate\":1e-3");
    EXPECT_ERROR(ex_create("alice", body), 400, INV, "tuning.learning_rate",
                 "invalid_value");

    INCR(",\"suffix\":\"again\"", "");
    EXPECT_ERROR(ex_create("alice", body), 400, INV, "suffix",
                 "unsupported_parameter");

    INCR("", ",\"description\":\"second pass\"");
    EXPECT_ERROR(ex_create("alice", body), 400, INV, "tuning.description",
                 "unsupported_parameter");

#undef INCR
}


/*
 * Each model's base type and peftType, for each tuning type it allows.
 * Seed 002 (Qianfan v1 createJob, peftType): "ERNIE-Bot-turbo-0516: ALL
 * only; ERNIE-Bot-turbo-0725, SQLCoder-7B, ChatGLM2-6B and Baichuan2-13B:
 * ALL and LoRA only; all others: ALL, P-tuning and LoRA".
 */
static void
test_create_peft_per_model(void **state)
{
    size_t        i, j;
    char          body[512];
    const cJSON  *b;

    static const struct {
        const char  *model;
        const char  *base;
        const char  *extra;        /* what the model needs */
        const char  *unset;        /* peftType with tuning_type unset */
        const char  *allowed;      /* tuning types it takes */
    } models[] = {
        { "ERNIE-Bot-turbo-0516", "ERNIE-Bot-turbo", "", "ALL", "f" },
        { "ERNIE-Bot-turbo-0704", "ERNIE-Bot-turbo", "", "LoRA", "fpl" },
        { "ERNIE-Bot-turbo-0725", "ERNIE-Bot-turbo",
          ",\"max_seq_len\":4096", "LoRA", "fl" },
        { "Llama-2-7b", "Llama-2", "", "LoRA", "fpl" },
        { "Llama-2-13b", "Llama-2", "", "LoRA", "fpl" },
        { "BLOOMZ-7B", "BLOOMZ", "", "LoRA", "fpl" },
        { "SQLCoder-7B", "SQLCoder", "", "LoRA", "fl" },
        { "ChatGLM2-6B", "ChatGLM2", "", "LoRA", "fl" },
        { "Baichuan2-13B", "Baichuan2", "", "LoRA", "fl" },
    };
    static const struct {
        char         letter;
        const char  *type;
        const char  *peft;
    } types[] = {
        { 'f', "full", "ALL" },
        { 'p', "prompt_tuning", "P-tuning" },
        { 'l', "lora", "LoRA" },
    };

    for (i = 0; i < sizeof(models) / sizeof(models[0]); i++) {
        print_message("case: %s\n", models[i].model);

        snprintf(body, sizeof(body), "{\"model\":\"qianfan/%s\","
                 "\"training_file\":\"qianfan://dataset/1\","
                 "\"tuning\":{\"task_type\":\"generation\"%s}}",
                 models[i].model, models[i].extra);
        b = JOB_BODY("alice", body);

        JSTR(b, "baseTrainType", models[i].base);
        JSTR(b, "trainType", models[i].model);
        JSTR(b, "trainMode", "SFT");
        JSTR(b, "peftType", models[i].unset);
        JINT(b, "jobRunType", 0);
        JINT(b, "taskId", 17263);
        JABSENT(b, "increConfig");

        for (j = 0; j < sizeof(types) / sizeof(types[0]); j++) {
            snprintf(body, sizeof(body), "{\"model\":\"qianfan/%s\","
                     "\"training_file\":\"qianfan://dataset/1\","
                     "\"tuning\":{\"tuning_type\":\"%s\"%s}}",
                     models[i].model, types[j].type, models[i].extra);

            if (strchr(models[i].allowed, types[j].letter) == NULL) {
                EXPECT_ERROR(ex_create("alice", body), 400, INV,
                             "tuning.tuning_type", "unsupported_value");
                continue;
            }

            b = JOB_BODY("alice", body);
            JSTR(b, "peftType", types[j].peft);
        }
    }
}


/* models the seed does not list are refused before any call */
static void
test_create_unlisted_models(void **state)
{
    size_t          i;
    char            body[256];
    gw_exchange_t  *ex;

    static const char  *unlisted[] = {
        "ERNIE-Speed-8K", "CodeLlama-7B", "ERNIE-Bot-turbo-0922", "llama-2-7b"
    };

    for (i = 0; i < sizeof(unlisted) / sizeof(unlisted[0]); i++) {
        print_message("case: %s\n", unlisted[i]);

        snprintf(body, sizeof(body), "{\"model\":\"qianfan/%s\","
                 "\"training_file\":\"qianfan://dataset/1\"}", unlisted[i]);
        ex = ex_create("alice", body);
        EXPECT_ERROR(ex, 400, INV, "model", "unsupported_value");
    }
}


/* trainsetRate is the percent the client asked for */
static void
test_create_trainset_rate_exact(void **state)
{
    size_t        i;
    char          body[512];
    const cJSON  *b, *rate;

    static const struct {
        const char  *split;
        int          percent;
    } cases[] = {
        { "0", 0 }, { "0.1", 10 }, { "0.2", 20 }, { "0.25", 25 },
        { "0.07", 7 }, { "0.29", 29 }, { "0.5", 50 },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        print_message("case: validation_split %s\n", cases[i].split);

        snprintf(body, sizeof(body), "{\"model\":\"qianfan/Llama-2-7b\","
                 "\"training_file\":\"qianfan://dataset/1\","
                 "\"tuning\":{\"validation_split\":%s}}", cases[i].split);
        b = JOB_BODY("alice", body);

        rate = jget(b, "trainsetRate");
        assert_true(cJSON_IsNumber(rate));

        /* validation_split * 100 is 7.000000000000001 for 0.07 and
         * 28.999999999999996 for 0.29 in binary: the wire must carry the
         * whole percent (cJSON prints 15 significant digits today) */
        if (rate->valuedouble != (double) cases[i].percent) {
            check_fail(__FILE__, __LINE__, "trainsetRate %.17g, want %d",
                       rate->valuedouble, cases[i].percent);
        }
    }
}


/* ---- create: every rule refused before any vendor call ---------------- */

#define QB(model, rest)                                                     \
    "{\"model\":\"qianfan/" model "\","                                     \
    "\"training_file\":\"qianfan://dataset/1234\"" rest "}"

#define S12     "abcdefghijkl"
#define D40     "0123456789012345678901234567890123456789"
#define D400    D40 D40 D40 D40 D40 D40 D40 D40 D40 D40


typedef struct {
    const char  *what;
    const char  *body;
    const char  *param;
    const char  *code;
} create_bad_t;


static const create_bad_t  create_bad[] = {

    /* epochs: 1..50 */
    { "n_epochs 0", QB("Llama-2-7b",
                       ",\"hyperparameters\":{\"n_epochs\":0}"),
      "hyperparameters.n_epochs", "invalid_value" },
    { "n_epochs 51", QB("Llama-2-7b",
                        ",\"hyperparameters\":{\"n_epochs\":51}"),
      "hyperparameters.n_epochs", "invalid_value" },
    { "method n_epochs 51", QB("Llama-2-7b",
      ",\"method\":{\"type\":\"supervised\",\"supervised\":"
      "{\"hyperparameters\":{\"n_epochs\":51}}}"),
      "hyperparameters.n_epochs", "invalid_value" },

    /* maxSeqLen: required by 0725, 4096 or 8192 */
    { "0725 without max_seq_len", QB("ERNIE-Bot-turbo-0725", ""),
      "tuning.max_seq_len", "missing_required_parameter" },
    { "0725 max_seq_len 2048", QB("ERNIE-Bot-turbo-0725",
                                  ",\"tuning\":{\"max_seq_len\":2048}"),
      "tuning.max_seq_len", "invalid_value" },
    { "0725 max_seq_len 4095", QB("ERNIE-Bot-turbo-0725",
                                  ",\"tuning\":{\"max_seq_len\":4095}"),
      "tuning.max_seq_len", "invalid_value" },
    { "Llama max_seq_len 2048", QB("Llama-2-7b",
                                   ",\"tuning\":{\"max_seq_len\":2048}"),
      "tuning.max_seq_len", "invalid_value" },
    { "Llama max_seq_len 16384", QB("Llama-2-7b",
                                    ",\"tuning\":{\"max_seq_len\":16384}"),
      "tuning.max_seq_len", "invalid_value" },

    /* batch size: none for 0704/0725, [16,64] for 0516, [4,64] else */
    { "0704 batch_size", QB("ERNIE-Bot-turbo-0704",
                            ",\"hyperparameters\":{\"batch_size\":8}"),
      "hyperparameters.batch_size", "unsupported_parameter" },
    { "0725 batch_size", QB("ERNIE-Bot-turbo-0725",
                            ",\"hyperparameters\":{\"batch_size\":16},"
                            "\"tuning\":{\"max_seq_len\":4096}"),
      "hyperparameters.batch_size", "unsupported_parameter" },
    { "0516 batch_size 15", QB("ERNIE-Bot-turbo-0516",
                               ",\"hyperparameters\":{\"batch_size\":15}"),
      "hyperparameters.batch_size", "invalid_value" },
    { "0516 batch_size 65", QB("ERNIE-Bot-turbo-0516",
                               ",\"hyperparameters\":{\"batch_size\":65}"),
      "hyperparameters.batch_size", "invalid_value" },

    /* the tuning types a model does not have */
    { "0516 lora", QB("ERNIE-Bot-turbo-0516",
                      ",\"tuning\":{\"tuning_type\":\"lora\"}"),
      "tuning.tuning_type", "unsupported_value" },
    { "0516 prompt_tuning", QB("ERNIE-Bot-turbo-0516",
      ",\"tuning\":{\"tuning_type\":\"prompt_tuning\"}"),
      "tuning.tuning_type", "unsupported_value" },
    { "0725 prompt_tuning", QB("ERNIE-Bot-turbo-0725",
      ",\"tuning\":{\"tuning_type\":\"prompt_tuning\",\"max_seq_len\":4096}"),
      "tuning.tuning_type", "unsupported_value" },

    /* models v1 does not tune */
    { "unknown model", QB("ERNIE-Bot-4", ""), "model", "unsupported_value" },
    { "model in lower case", QB("ernie-speed-8k", ""),
      "model", "unsupported_value" },
    { "0922 (an increConfig base only)", QB("ERNIE-Bot-turbo-0922", ""),
      "model", "unsupported_value" },
    { "base type as model", QB("ERNIE-Bot-turbo", ""),
      "model", "unsupported_value" },

    /* generation only */
    { "task_type classification", QB("Llama-2-7b",
      ",\"tuning\":{\"task_type\":\"classification\"}"),
      "tuning.task_type", "unsupported_value" },
    { "task_type classification_multiclass", QB("Llama-2-7b",
      ",\"tuning\":{\"task_type\":\"classification_multiclass\"}"),
      "tuning.task_type", "unsupported_value" },
    { "task_type embedding_pair", QB("Llama-2-7b",
      ",\"tuning\":{\"task_type\":\"embedding_pair\"}"),
      "tuning.task_type", "unsupported_value" },

    /* trainsetRate 0..50 */
    { "validation_split 0.6", QB("Llama-2-7b",
      ",\"tuning\":{\"validation_split\":0.6}"),
      "tuning.validation_split", "invalid_value" },
    { "validation_split 0.51", QB("Llama-2-7b",
      ",\"tuning\":{\"validation_split\":0.51}"),
      "tuning.validation_split", "invalid_value" },

    /* the task name: 2..20 characters with the tag */
    { "suffix of 12", QB("Llama-2-7b", ",\"suffix\":\"" S12 "\""),
      "suffix", "invalid_value" },
    { "suffix of 1", QB("Llama-2-7b", ",\"suffix\":\"a\""),
      "suffix", "invalid_value" },

    /* the description, with the owner tag, within Qianfan's 500 */
    { "description of 401", QB("Llama-2-7b",
      ",\"tuning\":{\"description\":\"" D400 "x\"}"),
      "tuning.description", "invalid_value" },

    /* fields Qianfan v1 cannot honour */
    { "seed", QB("Llama-2-7b", ",\"seed\":42"),
      "seed", "unsupported_parameter" },
    { "validation_file", QB("Llama-2-7b",
      ",\"validation_file\":\"qianfan://dataset/9\""),
      "validation_file", "unsupported_parameter" },
    { "learning_rate_multiplier", QB("Llama-2-7b",
      ",\"hyperparameters\":{\"learning_rate_multiplier\":2}"),
      "hyperparameters.learning_rate_multiplier", "unsupported_parameter" },
    { "lora rank", QB("Llama-2-7b",
      ",\"tuning\":{\"lora\":{\"rank\":8}}"),
      "tuning.lora.rank", "unsupported_parameter" },
    { "virtual tokens", QB("Llama-2-7b",
      ",\"tuning\":{\"prompt_tuning\":{\"virtual_tokens\":20}}"),
      "tuning.prompt_tuning.virtual_tokens", "unsupported_parameter" },
    { "scheduler", QB("Llama-2-7b",
      ",\"tuning\":{\"scheduler\":{\"type\":\"cosine\"}}"),
      "tuning.scheduler", "unsupported_parameter" },
    { "labels", QB("Llama-2-7b",
      ",\"tuning\":{\"labels\":{\"team\":\"nlp\"}}"),
      "tuning.labels", "unsupported_parameter" },
    { "metadata", QB("Llama-2-7b", ",\"metadata\":{\"team\":\"nlp\"}"),
      "metadata", "unsupported_parameter" },

    /* dataset references */
    { "s3 dataset",
      "{\"model\":\"qianfan/Llama-2-7b\","
      "\"training_file\":\"s3://b/t.csv\"}",
      "training_file", "invalid_value" },
    { "gs dataset",
      "{\"model\":\"qianfan/Llama-2-7b\","
      "\"training_file\":\"gs://b/t.csv\"}",
      "training_file", "invalid_value" },
    { "an OpenAI file id that is none of this client's files",
      "{\"model\":\"qianfan/Llama-2-7b\","
      "\"training_file\":\"file-abc123\"}",
      "training_file", "file_not_found" },
    { "dataset id not a number",
      "{\"model\":\"qianfan/Llama-2-7b\","
      "\"training_file\":\"qianfan://dataset/abc\"}",
      "training_file", "invalid_value" },
    { "dataset id 0",
      "{\"model\":\"qianfan/Llama-2-7b\","
      "\"training_file\":\"qianfan://dataset/0\"}",
      "training_file", "invalid_value" },
    { "dataset id negative",
      "{\"model\":\"qianfan/Llama-2-7b\","
      "\"training_file\":\"qianfan://dataset/-12\"}",
      "training_file", "invalid_value" },
    { "dataset id with a tail",
      "{\"model\":\"qianfan/Llama-2-7b\","
      "\"training_file\":\"qianfan://dataset/12/x\"}",
      "training_file", "invalid_value" },
    { "qianfan ref that is not a dataset",
      "{\"model\":\"qianfan/Llama-2-7b\","
      "\"training_file\":\"qianfan://model/12\"}",
      "training_file", "invalid_value" },
    { "bos without a path",
      "{\"model\":\"qianfan/Llama-2-7b\","
      "\"training_file\":\"bos://bucket\"}",
      "training_file", "invalid_value" },
    { "dataset weight",
      "{\"model\":\"qianfan/Llama-2-7b\",\"tuning\":"
      "{\"training_datasets\":[{\"ref\":\"qianfan://dataset/1\","
      "\"weight\":0.5}]}}",
      "tuning.training_datasets[].weight", "unsupported_parameter" },
    { "no dataset", "{\"model\":\"qianfan/Llama-2-7b\"}",
      "training_file", "missing_required_parameter" },
};


static void
test_create_validation(void **state)
{
    size_t          i;
    gw_exchange_t  *ex;

    for (i = 0; i < sizeof(create_bad) / sizeof(create_bad[0]); i++) {
        print_message("case: %s\n", create_bad[i].what);

        ex = ex_create("alice", create_bad[i].body);
        EXPECT_ERROR(ex, 400, INV, create_bad[i].param, create_bad[i].code);
        assert_no_secret(ex);
    }
}


/* the other side of each bound: accepted, and sent as given */
static void
test_create_bounds_accepted(void **state)
{
    size_t        i;
    const cJSON  *b;

    static const struct {
        const char  *what;
        const char  *body;
        const char  *path;        /* in the createJob body, or NULL */
        double       value;
    } cases[] = {
        { "n_epochs 1", QB("Llama-2-7b",
                           ",\"hyperparameters\":{\"n_epochs\":1}"),
          "trainConfig.epoch", 1 },
        { "n_epochs 50", QB("Llama-2-7b",
                            ",\"hyperparameters\":{\"n_epochs\":50}"),
          "trainConfig.epoch", 50 },
        { "0725 max_seq_len 4096", QB("ERNIE-Bot-turbo-0725",
          ",\"tuning\":{\"max_seq_len\":4096}"),
          "trainConfig.maxSeqLen", 4096 },
        { "Llama max_seq_len 8192", QB("Llama-2-7b",
          ",\"tuning\":{\"max_seq_len\":8192}"),
          "trainConfig.maxSeqLen", 8192 },
        { "0516 batch 16", QB("ERNIE-Bot-turbo-0516",
                              ",\"hyperparameters\":{\"batch_size\":16}"),
          "trainConfig.batchSize", 16 },
        { "0516 batch 64", QB("ERNIE-Bot-turbo-0516",
                              ",\"hyperparameters\":{\"batch_size\":64}"),
          "trainConfig.batchSize", 64 },
        { "0725 full", QB("ERNIE-Bot-turbo-0725",
          ",\"tuning\":{\"max_seq_len\":4096,\"tuning_type\":\"full\"}"),
          NULL, 0 },
        { "validation_split 0.5", QB("Llama-2-7b",
          ",\"tuning\":{\"validation_split\":0.5}"), "trainsetRate", 50 },
        { "validation_split 0", QB("Llama-2-7b",
          ",\"tuning\":{\"validation_split\":0}"), "trainsetRate", 0 },
        { "suffix of 2", QB("Llama-2-7b", ",\"suffix\":\"ab\""),
          NULL, 0 },
        { "description of 400", QB("Llama-2-7b",
          ",\"tuning\":{\"description\":\"" D400 "\"}"), NULL, 0 },
        { "task_type generation", QB("Llama-2-7b",
          ",\"tuning\":{\"task_type\":\"generation\"}"), NULL, 0 },
        { "optimizer adamw alone", QB("Llama-2-7b",
          ",\"tuning\":{\"optimizer\":{\"type\":\"adamw\"}}"), NULL, 0 },
        { "auto hyperparameters", QB("Llama-2-7b",
          ",\"hyperparameters\":{\"n_epochs\":\"auto\","
          "\"batch_size\":\"auto\"}"), "trainConfig.epoch", 1 },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        print_message("case: %s\n", cases[i].what);

        b = JOB_BODY("alice", cases[i].body);

        if (cases[i].path != NULL) {
            JNUM(b, cases[i].path, cases[i].value);
        }
    }

    /* "auto" sends no batch size */
    JABSENT(b, "trainConfig.batchSize");

    /* the other models take [4, 64] */
    {
        size_t  j;
        char    body[512];

        static const char  *models[] = {
            "Llama-2-7b", "Llama-2-13b", "BLOOMZ-7B", "ChatGLM2-6B",
            "Baichuan2-13B", "SQLCoder-7B"
        };

        static const int    sizes[] = { 3, 4, 64, 65 };

        for (i = 0; i < sizeof(models) / sizeof(models[0]); i++) {
            for (j = 0; j < sizeof(sizes) / sizeof(sizes[0]); j++) {
                print_message("case: %s batch %d\n", models[i], sizes[j]);

                snprintf(body, sizeof(body), "{\"model\":\"qianfan/%s\","
                         "\"training_file\":\"qianfan://dataset/1\","
                         "\"hyperparameters\":{\"batch_size\":%d}}",
                         models[i], sizes[j]);

                if (sizes[j] < 4 || sizes[j] > 64) {
                    EXPECT_ERROR(ex_create("alice", body), 400, INV,
                                 "hyperparameters.batch_size",
                                 "invalid_value");
                    continue;
                }

                b = JOB_BODY("alice", body);
                JINT(b, "trainConfig.batchSize", sizes[j]);
            }
        }
    }
}


/*
 * Every cell of seed 002's learningRate table (Qianfan v1 createJob,
 * trainConfig.learningRate): ERNIE-Bot-turbo-0704 ALL [1e-5, 4e-5],
 * P-tuning [0.003, 0.1], LoRA [3e-5, 1e-3]; ERNIE-Bot-turbo-0725 ALL
 * [1e-5, 4e-5], LoRA [3e-5, 1e-3]; Baichuan2-13B [1e-10, 2e-4]; every
 * other model [2e-7, 2e-4].  Both bounds and the values just inside them
 * pass; just outside is a 400 naming tuning.learning_rate; without a rate
 * the default that is sent lies in the range of the method.
 */
static void
test_create_learning_rate_ranges(void **state)
{
    size_t        i, j;
    char          body[512];
    double        sent;
    const cJSON  *b;

    static const struct {
        const char  *model;
        const char  *type;         /* tuning_type */
        const char  *extra;
        double       min;
        double       max;
    } cells[] = {
        { "ERNIE-Bot-turbo-0516", "full", "", 2e-7, 2e-4 },
        { "ERNIE-Bot-turbo-0704", "full", "", 1e-5, 4e-5 },
        { "ERNIE-Bot-turbo-0704", "prompt_tuning", "", 0.003, 0.1 },
        { "ERNIE-Bot-turbo-0704", "lora", "", 3e-5, 1e-3 },
        { "ERNIE-Bot-turbo-0725", "full", ",\"max_seq_len\":4096",
          1e-5, 4e-5 },
        { "ERNIE-Bot-turbo-0725", "lora", ",\"max_seq_len\":4096",
          3e-5, 1e-3 },
        { "Llama-2-7b", "full", "", 2e-7, 2e-4 },
        { "Llama-2-7b", "prompt_tuning", "", 2e-7, 2e-4 },
        { "Llama-2-7b", "lora", "", 2e-7, 2e-4 },
        { "Llama-2-13b", "full", "", 2e-7, 2e-4 },
        { "Llama-2-13b", "prompt_tuning", "", 2e-7, 2e-4 },
        { "Llama-2-13b", "lora", "", 2e-7, 2e-4 },
        { "BLOOMZ-7B", "full", "", 2e-7, 2e-4 },
        { "BLOOMZ-7B", "prompt_tuning", "", 2e-7, 2e-4 },
        { "BLOOMZ-7B", "lora", "", 2e-7, 2e-4 },
        { "SQLCoder-7B", "full", "", 2e-7, 2e-4 },
        { "SQLCoder-7B", "lora", "", 2e-7, 2e-4 },
        { "ChatGLM2-6B", "full", "", 2e-7, 2e-4 },
        { "ChatGLM2-6B", "lora", "", 2e-7, 2e-4 },
        { "Baichuan2-13B", "full", "", 1e-10, 2e-4 },
        { "Baichuan2-13B", "lora", "", 1e-10, 2e-4 },
    };

    for (i = 0; i < sizeof(cells) / sizeof(cells[0]); i++) {
        const double  rates[] = {
            cells[i].min, cells[i].min * 1.01, cells[i].max * 0.99,
            cells[i].max, cells[i].min * 0.99, cells[i].max * 1.01
        };

        for (j = 0; j < sizeof(rates) / sizeof(rates[0]); j++) {
            print_message("case: %s %s learning_rate %.17g\n",
                          cells[i].model, cells[i].type, rates[j]);

            snprintf(body, sizeof(body), "{\"model\":\"qianfan/%s\","
                     "\"training_file\":\"qianfan://dataset/1\","
                     "\"tuning\":{\"tuning_type\":\"%s\","
                     "\"learning_rate\":%.17g%s}}", cells[i].model,
                     cells[i].type, rates[j], cells[i].extra);

            if (j >= 4) {
                EXPECT_ERROR(ex_create("alice", body), 400, INV,
                             "tuning.learning_rate", "invalid_value");
                continue;
            }

            b = JOB_BODY("alice", body);
            JNUM(b, "trainConfig.learningRate", rates[j]);
        }

        /* no rate: the default sent lies in the method's range */
        print_message("case: %s %s default\n", cells[i].model,
                      cells[i].type);

        snprintf(body, sizeof(body), "{\"model\":\"qianfan/%s\","
                 "\"training_file\":\"qianfan://dataset/1\","
                 "\"tuning\":{\"tuning_type\":\"%s\"%s}}",
                 cells[i].model, cells[i].type, cells[i].extra);

        b = JOB_BODY("alice", body);
        assert_true(cJSON_IsNumber(jget(b, "trainConfig.learningRate")));
        sent = jget(b, "trainConfig.learningRate")->valuedouble;
        assert_true(sent >= cells[i].min && sent <= cells[i].max);
    }

    /* the 0704 P-tuning default is its lower bound, 3e-5 is outside */
    b = JOB_BODY("alice", "{\"model\":\"qianfan/ERNIE-Bot-turbo-0704\","
                 "\"training_file\":\"qianfan://dataset/1\","
                 "\"tuning\":{\"tuning_type\":\"prompt_tuning\"}}");
    JNUM(b, "trainConfig.learningRate", 0.003);

    /* without tuning_type the range is LoRA's: 1e-3 passes on 0704 */
    b = JOB_BODY("alice", "{\"model\":\"qianfan/ERNIE-Bot-turbo-0704\","
                 "\"training_file\":\"qianfan://dataset/1\","
                 "\"tuning\":{\"learning_rate\":0.001}}");
    JSTR(b, "peftType", "LoRA");
    JNUM(b, "trainConfig.learningRate", 0.001);
}


/*
 * Qianfan is a Chinese service: a description of 150 Chinese characters
 * is well within the 400 characters that the gateway's message promises.
 */
static void
test_create_description_characters(void **state)
{
    size_t          i;
    char            desc[150 * 3 + 1], body[1024];
    cJSON          *json;
    gw_call_t      *call;
    gw_exchange_t  *ex;

    for (i = 0; i < 150; i++) {
        memcpy(desc + 3 * i, HAN, 3);
    }

    desc[sizeof(desc) - 1] = '\0';

    snprintf(body, sizeof(body), "{\"model\":\"qianfan/Llama-2-7b\","
             "\"training_file\":\"qianfan://dataset/1\","
             "\"tuning\":{\"description\":\"%s\"}}", desc);

    ex = ex_create("alice", body);
    call = NULL;

    if (gw_exchange_next(ex, &call) == GW_NEXT_CALL) {
        HAS(call->body, HAN HAN HAN);
        HAS(call->body, "\"ftgw:alice.");
        HAS(call->body, " " HAN HAN);
        return;
    }

    /* Regression: gw_qianfan.c gw_qf_validate_run() (line 743) limits
     * tuning.description with strlen(), in bytes, and refuses these 150
     * characters (450 bytes) with 400 tuning.description "Qianfan keeps
     * descriptions of up to 400 characters": the limit and its message
     * disagree (docs/vendors/qianfan.md: "400 bytes of UTF-8 (the message
     * says characters)").  Either count characters (desc[480] in
     * gw_qf_task_body() then needs room for 4-byte ones) or say bytes. */
    json = EXPECT_ERROR(ex, 400, INV, "tuning.description", "invalid_value");
    LACKS(jstr(json, "error.message"), "400 characters");
}


static void
test_create_bad_second_dataset_param(void **state)
{
    gw_exchange_t  *ex;

    ex = ex_create("alice",
        "{\"model\":\"qianfan/Llama-2-7b\",\"tuning\":"
        "{\"training_datasets\":[{\"ref\":\"qianfan://dataset/1\"},"
        "{\"ref\":\"s3://b/t.csv\"}]}}");

    /* Regression: gw_qianfan.c gw_qf_trainset() (line 827-828) names every item
     * after the first "tuning.training_datasets", without its index
     * (docs/vendors/qianfan.md describes this; api-extensions.md, the
     * contract of every param, wants the index). */
    expect_dataset_param(ex, "tuning.training_datasets[1]", __FILE__,
                         __LINE__);
}


static void
test_create_bad_first_dataset_param(void **state)
{
    gw_exchange_t  *ex;

    ex = ex_create("alice",
        "{\"model\":\"qianfan/Llama-2-7b\",\"tuning\":"
        "{\"training_datasets\":[{\"ref\":\"s3://b/t.csv\"},"
        "{\"ref\":\"qianfan://dataset/1\"}]}}");

    /* Regression: gw_qianfan.c gw_qf_trainset() (line 827-828) names the first
     * item "training_file" although this request has no training_file:
     * the client is pointed at a field it did not send. */
    expect_dataset_param(ex, "tuning.training_datasets[0]", __FILE__,
                         __LINE__);
}


/* a dataset id that no integer holds is refused, not sent as another id */
static void
test_create_dataset_id_overflow(void **state)
{
    gw_exchange_t  *ex;

    ex = ex_create("alice",
        "{\"model\":\"qianfan/Llama-2-7b\","
        "\"training_file\":\"qianfan://dataset/99999999999999999999\"}");

    /* Regression: gw_qianfan.c gw_qf_trainset() (line 801) parses the id with
     * strtoll() without checking ERANGE: the 20-digit id is accepted,
     * clamped to INT64_MAX and sent as "id":9223372036854775807 in the
     * createJob trainset, a dataset the client never named. */
    EXPECT_ERROR(ex, 400, INV, "training_file", "invalid_value");
}


/* a dataset id of 16 digits is sent as given, or refused */
static void
test_create_dataset_id_exact(void **state)
{
    gw_call_t      *call;
    gw_exchange_t  *ex;

    ex = ex_create("alice",
        "{\"model\":\"qianfan/Llama-2-7b\","
        "\"training_file\":\"qianfan://dataset/1234567890123456\"}");

    call = NULL;

    if (gw_exchange_next(ex, &call) != GW_NEXT_CALL) {
        EXPECT_ERROR(ex, 400, INV, "training_file", "invalid_value");
        return;
    }

    feed_file(ex, 200, "task_created.json");
    call = EXPECT_QF(ex, "createJob");

    /* the id travels as a double: 16 digits below 2^52 must still be
     * printed whole, not as 1.23456789012346e+15 */
    HAS(call->body, "\"id\":1234567890123456}");
}


/* tuning.continue_from must be an earlier job of this client here */
static void
test_create_continue_from_refused(void **state)
{
    size_t          i;
    char            alice_id[1100], bob_id[1100], clova_id[1100];
    char            tampered[1100], body[2000];
    gw_exchange_t  *ex;

    const char  *ids[] = {
        bob_id, tampered, clova_id, "ftjob-garbage", "ftjob-x"
    };

    mint_id("alice", alice_id, sizeof(alice_id));
    mint_id("bob", bob_id, sizeof(bob_id));
    mint_clova_id("alice", clova_id, sizeof(clova_id));

    snprintf(tampered, sizeof(tampered), "%s", alice_id);
    tampered[12] = (tampered[12] == 'A') ? 'B' : 'A';

    for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        print_message("case: %s\n", ids[i]);

        snprintf(body, sizeof(body),
                 "{\"model\":\"qianfan/Llama-2-7b\","
                 "\"training_file\":\"qianfan://dataset/1\","
                 "\"tuning\":{\"continue_from\":\"%s\"}}", ids[i]);

        ex = ex_create("alice", body);
        EXPECT_ERROR(ex, 400, INV, "tuning.continue_from", "invalid_value");
    }

    /* bob's own id is fine for bob */
    snprintf(body, sizeof(body), "{\"model\":\"qianfan/Llama-2-7b\","
             "\"training_file\":\"qianfan://dataset/1\","
             "\"tuning\":{\"continue_from\":\"%s\"}}", bob_id);
    JINT(JOB_BODY("bob", body), "jobRunType", 1);

    /* the refusals came before any vendor call: alice's own id works */
    snprintf(body, sizeof(body), "{\"model\":\"qianfan/Llama-2-7b\","
             "\"training_file\":\"qianfan://dataset/1\","
             "\"tuning\":{\"continue_from\":\"%s\"}}", alice_id);
    JINT(JOB_BODY("alice", body), "increConfig.jobId", 6301);
}


/* ---- retrieve ----------------------------------------------------------- */

typedef struct {
    const char  *fixture;
    const char  *status;
    const char  *vendor_status;
    double       percent;
    int64_t      finished_at;
    int          fine_tuned;
    const char  *error_code;
} status_case_t;


static const status_case_t  status_cases[] = {
    { "detail_running.json", "running", "RUNNING", 51, NUL, 0, NULL },
    { "detail_finish.json", "succeeded", "FINISH", 100, T_FINISH, 1, NULL },
    { "detail_stop.json", "cancelled", "STOP", 37, T_STOP, 0, NULL },
    { "detail_fail.json", "failed", "FAIL", 12, T_FAIL, 0,
      "training_error" },
    /* a finishTime while running is not an end */
    { "detail_running_finish_time.json", "running", "RUNNING", 51, NUL, 0,
      NULL },
    /* "0000-00-00 00:00:00" is no time */
    { "detail_stop_no_finish.json", "cancelled", "STOP", 0, NUL, 0, NULL },
};


static void
test_retrieve_statuses(void **state)
{
    size_t                i;
    char                  id[1100];
    cJSON                *json;
    gw_call_t            *call;
    gw_exchange_t        *ex;
    const status_case_t  *c;

    mint_id("alice", id, sizeof(id));

    for (i = 0; i < sizeof(status_cases) / sizeof(status_cases[0]); i++) {
        c = &status_cases[i];
        print_message("case: %s\n", c->fixture);

        ex = ex_job("alice", "GET", id, "", NULL);
        call = EXPECT_QF(ex, "jobDetail");
        ASSERT_BODY_TEXT(call, DETAIL_BODY);
        feed_file(ex, 200, c->fixture);
        json = FINISH(ex, 200);

        JSTR(json, "id", id);
        JSTR(json, "object", "fine_tuning.job");
        JSTR(json, "status", c->status);
        JSTR(json, "model", "qianfan/Llama-2-7b");
        JSTR(json, "organization_id", "alice");
        JINT(json, "created_at", T_START);
        JINT(json, "finished_at", c->finished_at);
        JSTR(json, "fine_tuned_model",
             c->fine_tuned ? "qianfan/tasks/17263/jobs/6301" : NULL);
        JSTR(json, "training_file", NULL);
        JSTR(json, "hyperparameters.n_epochs", "auto");

        JSTR(json, "vendor.provider", "qianfan");
        JSTR(json, "vendor.kind", "qianfan");
        JSTR(json, "vendor.status", c->vendor_status);
        JSTR(json, "vendor.job_id", "17263");
        JSTR(json, "vendor.secondary_id", "6301");
        JSTR(json, "vendor.name", "flow-test-" TAG);
        JNUM(json, "vendor.progress.percent", c->percent);

        /* the vendor's extras */
        JSTR(json, "vendor.peftType", "LoRA");
        JSTR(json, "vendor.trainMode", "SFT");
        JINT(json, "vendor.version", 1);
        JINT(json, "vendor.jobRunType", 0);
        assert_true(cJSON_IsNumber(jget(json, "vendor.runTime")));
        assert_true(cJSON_IsNumber(jget(json, "vendor.trainTime")));
        JSTR(json, "vendor.vdlLink",
             "https://console.bce.baidu.com/qianfan/visualdl/index?"
             "runId=6301");
        JABSENT(json, "vendor.increConfig");
        JABSENT(json, "vendor.startTime");

        if (c->error_code != NULL) {
            JSTR(json, "error.code", c->error_code);
            HAS(jstr(json, "error.message"), "FAIL");
            assert_true(cJSON_IsNull(jget(json, "error.param")));

        } else {
            assert_true(cJSON_IsNull(jget(json, "error")));
        }

        assert_no_secret(ex);
    }
}


static void
test_retrieve_odd_details(void **state)
{
    char            id[1100];
    cJSON          *json;
    gw_exchange_t  *ex;

    mint_id("alice", id, sizeof(id));

    /* a status no table has */
    ex = ex_job("alice", "GET", id, "", NULL);
    EXPECT_QF(ex, "jobDetail");
    feed_file(ex, 200, "detail_unknown_status.json");
    json = EXPECT_ERROR(ex, 502, UPSTREAM, NULL, "unknown_vendor_status");
    HAS(jstr(json, "error.message"), "PAUSED");

    /* no status at all */
    ex = ex_job("alice", "GET", id, "", NULL);
    EXPECT_QF(ex, "jobDetail");
    feed_file(ex, 200, "detail_no_status.json");
    EXPECT_ERROR(ex, 502, UPSTREAM, NULL, "invalid_vendor_response");

    /* a result that is no run */
    ex = ex_job("alice", "GET", id, "", NULL);
    EXPECT_QF(ex, "jobDetail");
    feed(ex, 200, "{\"log_id\":\"1\",\"result\":true}");
    EXPECT_ERROR(ex, 502, UPSTREAM, NULL, "invalid_vendor_response");

    /* not started: created_at is the one the id carries */
    ex = ex_job("alice", "GET", id, "", NULL);
    EXPECT_QF(ex, "jobDetail");
    feed_file(ex, 200, "detail_not_started.json");
    json = FINISH(ex, 200);
    JINT(json, "created_at", T_START);
    JSTR(json, "status", "running");
}


/* a create whose run has not started yet is dated by the gateway's clock */
static void
test_create_not_started(void **state)
{
    char            id[1100];
    cJSON          *json;
    gw_exchange_t  *ex;

    json = CREATE_FLOW("alice", QF_MIN_BODY, NULL, NULL,
                       "detail_not_started.json");
    JINT(json, "created_at", NOW_S);
    snprintf(id, sizeof(id), "%s", jstr(json, "id"));

    now_ms = NOW_MS + 3600 * 1000;
    ex = ex_job("alice", "GET", id, "", NULL);
    EXPECT_QF(ex, "jobDetail");
    feed_file(ex, 200, "detail_not_started.json");
    JINT(FINISH(ex, 200), "created_at", NOW_S);
}


static void
test_retrieve_owner_and_ids(void **state)
{
    char            id[1100], bad[1100];
    gw_exchange_t  *ex;

    mint_id("alice", id, sizeof(id));

    /* a run whose description names another client */
    ex = ex_job("alice", "GET", id, "", NULL);
    EXPECT_QF(ex, "jobDetail");
    feed_file(ex, 200, "detail_foreign.json");
    EXPECT_ERROR(ex, 404, NF, "id", "job_not_found");
    assert_no_secret(ex);

    /* alice's id is nothing to bob: no vendor call */
    ex = ex_job("bob", "GET", id, "", NULL);
    EXPECT_ERROR(ex, 404, NF, "id", "job_not_found");

    /* a tampered id */
    snprintf(bad, sizeof(bad), "%s", id);
    bad[strlen(bad) - 3] = (bad[strlen(bad) - 3] == 'A') ? 'B' : 'A';
    ex = ex_job("alice", "GET", bad, "", NULL);
    EXPECT_ERROR(ex, 404, NF, "id", "job_not_found");

    /* the events of a run are synthesised from jobDetail */
    ex = ex_job("alice", "GET", id, "/events", NULL);
    ASSERT_BODY_TEXT(EXPECT_QF(ex, "jobDetail"), DETAIL_BODY);
    feed_file(ex, 200, "detail_finish.json");
    JSTR(FINISH(ex, 200), "object", "list");

    /* and it keeps no checkpoints */
    ex = ex_job("alice", "GET", id, "/checkpoints", NULL);
    assert_int_equal(cJSON_GetArraySize(jget(FINISH(ex, 200), "data")), 0);
}


/* the client's X-Request-Id reaches the vendor */
static void
test_request_id_passed_through(void **state)
{
    char            auth[64];
    gw_exchange_t  *ex;
    static const char  rid[] = "client-req-7";

    snprintf(auth, sizeof(auth), "Bearer %s", KEY_ALICE);
    ex = ex_raw("POST", V1, NULL, auth, strlen(auth), rid, strlen(rid));
    gw_exchange_set_body(ex, QF_MIN_BODY, strlen(QF_MIN_BODY));

    want_rid = rid;
    EXPECT_QF(ex, "createTask");
    feed_file(ex, 200, "task_created.json");
    EXPECT_QF(ex, "createJob");
    feed_file(ex, 200, "job_created.json");
    EXPECT_QF(ex, "jobDetail");
    feed_file(ex, 200, "detail_running.json");
    FINISH(ex, 200);
    assert_string_equal(gw_exchange_result(ex)->request_id, rid);
}


/* ---- vendor errors ------------------------------------------------------ */

typedef struct {
    const char  *code;
    int          bce;              /* {"requestId","code","message"} */
    int          vendor_http;
    int          http;
    const char  *type;
    const char  *create_param;     /* on create */
} qf_error_t;


/* gw_qianfan.c's gw_qf_errors[] */
static const qf_error_t  qf_errors[] = {
    { "500000", 0, 200, 502, UPSTREAM, NULL },
    { "500001", 0, 200, 400, INV, NULL },
    { "500002", 0, 200, 502, UPSTREAM, NULL },
    { "510101", 0, 200, 400, INV, "training_file" },
    { "510102", 0, 200, 400, INV, "training_file" },
    { "510201", 0, 200, 409, CONFLICT, "suffix" },
    { "510202", 0, 200, 404, NF, "tuning.continue_from" },
    { "510203", 0, 200, 429, RATE, NULL },
    { "510301", 0, 200, 404, NF, "tuning.continue_from" },
    { "510302", 0, 200, 409, CONFLICT, NULL },
    { "510401", 0, 200, 400, INV, "hyperparameters" },
    { "510402", 0, 200, 429, RATE, NULL },
    { "510403", 0, 200, 429, QUOTA, NULL },
    { "510404", 0, 200, 400, INV, "tuning.continue_from" },
    { "1", 0, 200, 502, UPSTREAM, NULL },
    { "2", 0, 200, 503, API, NULL },
    { "4", 0, 200, 429, RATE, NULL },
    { "6", 0, 200, 502, UPSTREAM, NULL },
    { "14", 0, 200, 502, UPSTREAM, NULL },
    { "17", 0, 200, 429, RATE, NULL },
    { "18", 0, 200, 429, RATE, NULL },
    { "19", 0, 200, 429, RATE, NULL },
    { "110", 0, 200, 502, UPSTREAM, NULL },
    { "111", 0, 200, 502, UPSTREAM, NULL },
    { "336100", 0, 200, 503, API, NULL },
    { "336501", 0, 200, 429, RATE, NULL },
    { "336502", 0, 200, 429, RATE, NULL },
    { "AccessDenied", 1, 403, 502, UPSTREAM, NULL },
    { "InvalidAccessKeyId", 1, 403, 502, UPSTREAM, NULL },
    { "SignatureDoesNotMatch", 1, 400, 502, UPSTREAM, NULL },
    { "RequestExpired", 1, 400, 502, UPSTREAM, NULL },
    { "InvalidHTTPAuthHeader", 1, 400, 502, UPSTREAM, NULL },
    { "OptInRequired", 1, 403, 502, UPSTREAM, NULL },
    { "InappropriateJSON", 1, 400, 502, UPSTREAM, NULL },
    { "MalformedJSON", 1, 400, 502, UPSTREAM, NULL },
    { "InvalidHTTPRequest", 1, 400, 502, UPSTREAM, NULL },
    { "InvalidURI", 1, 400, 502, UPSTREAM, NULL },
    { "InvalidVersion", 1, 404, 502, UPSTREAM, NULL },
    { "PreconditionFailed", 1, 412, 502, UPSTREAM, NULL },
    { "InternalError", 1, 500, 502, UPSTREAM, NULL },
};

#define NQF_ERRORS  (sizeof(qf_errors) / sizeof(qf_errors[0]))


static const char *
error_body(const qf_error_t *e)
{
    char  *body;

    body = keep_buf(malloc(256));

    if (e->bce) {
        snprintf(body, 256, "{\"requestId\":\"rq-%s\",\"code\":\"%s\","
                 "\"message\":\"vendor says %s\"}", e->code, e->code,
                 e->code);

    } else {
        snprintf(body, 256, "{\"log_id\":\"lg-%s\",\"error_code\":%s,"
                 "\"error_msg\":\"vendor says %s\"}", e->code, e->code,
                 e->code);
    }

    return body;
}


static void
check_error_message(const cJSON *json, const qf_error_t *e)
{
    char  want[256];

    snprintf(want, sizeof(want), "answered HTTP %d, error %s: vendor says "
             "%s (log_id %s-%s)", e->vendor_http, e->code, e->code,
             e->bce ? "rq" : "lg", e->code);
    HAS(jstr(json, "error.message"), want);
    HAS(jstr(json, "error.message"), "'qianfan'");
}


static void
test_vendor_errors_retrieve(void **state)
{
    size_t            i;
    char              id[1100];
    cJSON            *json;
    gw_exchange_t    *ex;
    const qf_error_t  *e;

    mint_id("alice", id, sizeof(id));

    for (i = 0; i < NQF_ERRORS; i++) {
        e = &qf_errors[i];
        print_message("case: %s\n", e->code);

        ex = ex_job("alice", "GET", id, "", NULL);
        EXPECT_QF(ex, "jobDetail");
        feed(ex, e->vendor_http, error_body(e));

        /* on a run that exists, "not exist" is the job itself */
        json = EXPECT_ERROR(ex, e->http, e->type,
                            e->http == 404 ? "id" : NULL, e->code);
        check_error_message(json, e);
        assert_no_secret(ex);
    }
}


static void
test_vendor_errors_create(void **state)
{
    size_t            i;
    cJSON            *json;
    gw_exchange_t    *ex;
    const qf_error_t  *e;

    for (i = 0; i < NQF_ERRORS; i++) {
        e = &qf_errors[i];
        print_message("case: %s\n", e->code);

        ex = ex_create("alice", QF_MIN_BODY);
        EXPECT_QF(ex, "createTask");
        feed(ex, e->vendor_http, error_body(e));

        json = EXPECT_ERROR(ex, e->http, e->type, e->create_param, e->code);
        check_error_message(json, e);
    }

    /* the same codes at the createJob and jobDetail steps */
    for (i = 0; i < NQF_ERRORS; i++) {
        e = &qf_errors[i];
        print_message("case: %s at createJob\n", e->code);

        ex = ex_create("alice", QF_MIN_BODY);
        EXPECT_QF(ex, "createTask");
        feed_file(ex, 200, "task_created.json");
        EXPECT_QF(ex, "createJob");
        feed(ex, e->vendor_http, error_body(e));
        EXPECT_ERROR(ex, e->http, e->type, e->create_param, e->code);

        ex = ex_create("alice", QF_MIN_BODY);
        EXPECT_QF(ex, "createTask");
        feed_file(ex, 200, "task_created.json");
        EXPECT_QF(ex, "createJob");
        feed_file(ex, 200, "job_created.json");
        EXPECT_QF(ex, "jobDetail");
        feed(ex, e->vendor_http, error_body(e));
        EXPECT_ERROR(ex, e->http, e->type, e->create_param, e->code);
    }

    /* the fixtures: a console error, a BCE error */
    ex = ex_create("alice", QF_MIN_BODY);
    EXPECT_QF(ex, "createTask");
    feed_file(ex, 200, "task_created.json");
    EXPECT_QF(ex, "createJob");
    feed_file(ex, 200, "error_param_invalid.json");
    json = EXPECT_ERROR(ex, 400, INV, NULL, "500001");
    HAS(jstr(json, "error.message"), "error 500001: param invalid "
        "(log_id 3019479999)");

    ex = ex_create("alice", QF_MIN_BODY);
    EXPECT_QF(ex, "createTask");
    feed_file(ex, 403, "error_access_denied.json");
    json = EXPECT_ERROR(ex, 502, UPSTREAM, NULL, "AccessDenied");
    HAS(jstr(json, "error.message"), "HTTP 403, error AccessDenied: Access "
        "denied. (log_id 7c0c5b3e-61a5-4b0e-9d0e-4d7f3f6a2b11)");
}


static void
test_vendor_errors_unknown_and_non_json(void **state)
{
    size_t          i;
    char            id[1100];
    cJSON          *json;
    gw_exchange_t  *ex;

    static const odd_answer_t  cases[] = {
        /* codes in no table: the HTTP status decides */
        { 429, "{\"log_id\":\"1\",\"error_code\":599999,\"error_msg\":\"x\"}",
          429, RATE, "599999" },
        { 503, "{\"log_id\":\"1\",\"error_code\":599999,\"error_msg\":\"x\"}",
          503, API, "599999" },
        { 504, "{\"log_id\":\"1\",\"error_code\":599999,\"error_msg\":\"x\"}",
          504, TIMEOUT, "599999" },
        { 200, "{\"log_id\":\"1\",\"error_code\":599999,\"error_msg\":\"x\"}",
          502, UPSTREAM, "599999" },
        { 400, "{\"log_id\":\"1\",\"error_code\":336003,\"error_msg\":\"x\"}",
          502, UPSTREAM, "336003" },
        { 400, "{\"requestId\":\"r\",\"code\":\"IdempotentParameterMismatch\","
          "\"message\":\"x\"}", 502, UPSTREAM,
          "IdempotentParameterMismatch" },
        { 429, "{\"requestId\":\"r\",\"code\":\"RequestLimitExceeded\","
          "\"message\":\"slow down\"}", 429, RATE, "RequestLimitExceeded" },
        /* no code, no result */
        { 500, "{\"message\":\"no code at all\"}", 502, UPSTREAM,
          "vendor_error" },
        { 200, "{\"log_id\":\"1\"}", 502, UPSTREAM, "vendor_error" },
        /* a result with a failing HTTP status */
        { 500, "{\"log_id\":\"1\",\"result\":{\"id\":6301}}", 502, UPSTREAM,
          "vendor_error" },
        /* not JSON */
        { 429, "Too Many Requests", 429, RATE, "rate_limited" },
        { 503, "<html><body>503 Service Unavailable</body></html>", 503,
          API, "vendor_unavailable" },
        { 504, "<html><body>504 Gateway Time-out</body></html>", 504,
          TIMEOUT, "vendor_timeout" },
        { 500, "<html><body>500 Internal Server Error</body></html>", 502,
          UPSTREAM, "invalid_vendor_response" },
        { 502, "<html>bad gateway</html>", 502, UPSTREAM,
          "invalid_vendor_response" },
        { 200, NULL, 502, UPSTREAM, "invalid_vendor_response" },
        { 200, "[1,2,3]", 502, UPSTREAM, "invalid_vendor_response" },
        { 200, "{\"log_id\":\"1\",\"result\":{\"id\":", 502, UPSTREAM,
          "invalid_vendor_response" },
    };

    mint_id("alice", id, sizeof(id));

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        print_message("case: %d %s\n", cases[i].vendor_http,
                      cases[i].body ? cases[i].body : "(empty)");

        ex = ex_job("alice", "GET", id, "", NULL);
        EXPECT_QF(ex, "jobDetail");
        feed(ex, cases[i].vendor_http, cases[i].body);
        EXPECT_ERROR(ex, cases[i].http, cases[i].type, NULL, cases[i].code);

        ex = ex_create("alice", QF_MIN_BODY);
        EXPECT_QF(ex, "createTask");
        feed(ex, cases[i].vendor_http, cases[i].body);
        EXPECT_ERROR(ex, cases[i].http, cases[i].type, NULL, cases[i].code);
    }

    /* a numeric log_id */
    ex = ex_job("alice", "GET", id, "", NULL);
    EXPECT_QF(ex, "jobDetail");
    feed(ex, 200, "{\"log_id\":3019477815,\"error_code\":500000,"
         "\"error_msg\":\"console internal error\"}");
    json = EXPECT_ERROR(ex, 502, UPSTREAM, NULL, "500000");
    HAS(jstr(json, "error.message"), "console internal error "
        "(log_id 3019477815)");

    /* no log_id */
    ex = ex_job("alice", "GET", id, "", NULL);
    EXPECT_QF(ex, "jobDetail");
    feed(ex, 200, "{\"error_code\":500001,\"error_msg\":\"param invalid\"}");
    json = EXPECT_ERROR(ex, 400, INV, NULL, "500001");
    LACKS(jstr(json, "error.message"), "log_id");

    /* a create that lacks its ids */
    ex = ex_create("alice", QF_MIN_BODY);
    EXPECT_QF(ex, "createTask");
    feed(ex, 200, "{\"log_id\":\"1\",\"result\":{\"name\":\"x\"}}");
    EXPECT_ERROR(ex, 502, UPSTREAM, NULL, "invalid_vendor_response");

    ex = ex_create("alice", QF_MIN_BODY);
    EXPECT_QF(ex, "createTask");
    feed_file(ex, 200, "task_created.json");
    EXPECT_QF(ex, "createJob");
    feed(ex, 200, "{\"log_id\":\"1\",\"result\":{}}");
    EXPECT_ERROR(ex, 502, UPSTREAM, NULL, "invalid_vendor_response");
}


static void
test_transport_failures(void **state)
{
    size_t                   i, step;
    char                     id[1100];
    gw_exchange_t           *ex;
    const transport_case_t  *c;

    mint_id("alice", id, sizeof(id));

    for (i = 0; i < ntransport_cases; i++) {
        c = &transport_cases[i];
        print_message("case: transport %d\n", (int) c->transport);

        /* each of the three calls of a create */
        for (step = 0; step < 3; step++) {
            ex = ex_create("alice", QF_MIN_BODY);
            EXPECT_QF(ex, "createTask");

            if (step > 0) {
                feed_file(ex, 200, "task_created.json");
                EXPECT_QF(ex, "createJob");
            }

            if (step > 1) {
                feed_file(ex, 200, "job_created.json");
                EXPECT_QF(ex, "jobDetail");
            }

            feed_transport(ex, c->transport);
            EXPECT_ERROR(ex, c->http, c->type, NULL,
                         c->code);
        }

        /* retrieve */
        ex = ex_job("alice", "GET", id, "", NULL);
        EXPECT_QF(ex, "jobDetail");
        feed_transport(ex, c->transport);
        EXPECT_ERROR(ex, c->http, c->type, NULL, c->code);

        /* every call of a cancel */
        ex = ex_job("alice", "POST", id, "/cancel", NULL);
        EXPECT_QF(ex, "jobDetail");
        feed_transport(ex, c->transport);
        EXPECT_ERROR(ex, c->http, c->type, NULL, c->code);

        ex = ex_job("alice", "POST", id, "/cancel", NULL);
        EXPECT_QF(ex, "jobDetail");
        feed_file(ex, 200, "detail_running.json");
        EXPECT_QF(ex, "stopJob");
        feed_transport(ex, c->transport);
        EXPECT_ERROR(ex, c->http, c->type, NULL, c->code);

        ex = ex_job("alice", "POST", id, "/cancel", NULL);
        EXPECT_QF(ex, "jobDetail");
        feed_file(ex, 200, "detail_running.json");
        EXPECT_QF(ex, "stopJob");
        feed_file(ex, 200, "stop_ok.json");
        EXPECT_QF(ex, "jobDetail");
        feed_transport(ex, c->transport);
        EXPECT_ERROR(ex, c->http, c->type, NULL, c->code);
    }
}


static void
test_vendor_error_redacts_secrets(void **state)
{
    size_t          i;
    char            id[1100], body[512];
    cJSON          *json;
    const char     *msg;
    gw_exchange_t  *ex;

    static const char  *keys[] = { QF_AK, QF_SK };

    mint_id("alice", id, sizeof(id));

    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        print_message("case: %s\n", keys[i]);

        /* a console error */
        snprintf(body, sizeof(body), "{\"log_id\":\"9\",\"error_code\":14,"
                 "\"error_msg\":\"IAM Certification failed for %s "
                 "(again: %s)\"}", keys[i], keys[i]);

        ex = ex_job("alice", "GET", id, "", NULL);
        EXPECT_QF(ex, "jobDetail");
        feed(ex, 200, body);

        json = EXPECT_ERROR(ex, 502, UPSTREAM, NULL, "14");
        msg = jstr(json, "error.message");
        HAS(msg, "IAM Certification failed for [redacted] "
            "(again: [redacted])");
        LACKS(msg, keys[i]);
        assert_no_secret(ex);

        /* a BCE error, on create */
        snprintf(body, sizeof(body), "{\"requestId\":\"r-1\","
                 "\"code\":\"SignatureDoesNotMatch\",\"message\":"
                 "\"The request signature of %s does not match\"}",
                 keys[i]);

        ex = ex_create("alice", QF_MIN_BODY);
        EXPECT_QF(ex, "createTask");
        feed(ex, 400, body);

        json = EXPECT_ERROR(ex, 502, UPSTREAM, NULL,
                            "SignatureDoesNotMatch");
        msg = jstr(json, "error.message");
        HAS(msg, "The request signature of [redacted] does not match");
        assert_no_secret(ex);
    }

    /* a secret that straddles the cut of a long message */
    {
        char  msg_text[400];

        memset(msg_text, 'x', 290);
        snprintf(msg_text + 290, sizeof(msg_text) - 290, "%s tail", QF_SK);
        snprintf(body, sizeof(body), "{\"log_id\":\"9\",\"error_code\":14,"
                 "\"error_msg\":\"%s\"}", msg_text);

        ex = ex_job("alice", "GET", id, "", NULL);
        EXPECT_QF(ex, "jobDetail");
        feed(ex, 200, body);
        json = EXPECT_ERROR(ex, 502, UPSTREAM, NULL, "14");

        msg = jstr(json, "error.message");
        HAS(msg, "xxxxxxxxxx");
        LACKS(msg, "qfsk-");
    }
}


/* ---- cancel ------------------------------------------------------------- */

static void
test_cancel(void **state)
{
    char            id[1100];
    cJSON          *json;
    gw_call_t      *call;
    gw_exchange_t  *ex;

    mint_id("alice", id, sizeof(id));

    /* jobDetail (the owner), stopJob, then jobDetail: STOP */
    ex = ex_job("alice", "POST", id, "/cancel", NULL);
    assert_false(gw_exchange_needs_body(ex));
    EXPECT_QF(ex, "jobDetail");
    feed_file(ex, 200, "detail_running.json");
    call = EXPECT_QF(ex, "stopJob");
    ASSERT_BODY_TEXT(call, DETAIL_BODY);
    feed_file(ex, 200, "stop_ok.json");
    call = EXPECT_QF(ex, "jobDetail");
    ASSERT_BODY_TEXT(call, DETAIL_BODY);
    feed_file(ex, 200, "detail_stop.json");

    json = FINISH(ex, 200);
    JSTR(json, "id", id);
    JSTR(json, "status", "cancelled");
    JSTR(json, "vendor.status", "STOP");
    JINT(json, "finished_at", T_STOP);
    JINT(json, "created_at", T_START);
    assert_no_secret(ex);

    /* jobDetail has not caught up: cancelled, vendor.status RUNNING */
    ex = ex_job("alice", "POST", id, "/cancel", NULL);
    EXPECT_QF(ex, "jobDetail");
    feed_file(ex, 200, "detail_running.json");
    EXPECT_QF(ex, "stopJob");
    feed_file(ex, 200, "stop_ok.json");
    EXPECT_QF(ex, "jobDetail");
    feed_file(ex, 200, "detail_running.json");

    json = FINISH(ex, 200);
    JSTR(json, "status", "cancelled");
    JSTR(json, "vendor.status", "RUNNING");
    JINT(json, "finished_at", NOW_S);
    JNUM(json, "vendor.progress.percent", 51);

    /* it finished first: the truth stays */
    ex = ex_job("alice", "POST", id, "/cancel", NULL);
    EXPECT_QF(ex, "jobDetail");
    feed_file(ex, 200, "detail_running.json");
    EXPECT_QF(ex, "stopJob");
    feed_file(ex, 200, "stop_ok.json");
    EXPECT_QF(ex, "jobDetail");
    feed_file(ex, 200, "detail_finish.json");
    json = FINISH(ex, 200);
    JSTR(json, "status", "succeeded");
    JINT(json, "finished_at", T_FINISH);

    /* a run that is not running: 510302, no jobDetail */
    ex = ex_job("alice", "POST", id, "/cancel", NULL);
    EXPECT_QF(ex, "jobDetail");
    feed_file(ex, 200, "detail_running.json");
    EXPECT_QF(ex, "stopJob");
    feed(ex, 200, "{\"log_id\":\"77\",\"error_code\":510302,"
         "\"error_msg\":\"job status invalid\"}");
    json = EXPECT_ERROR(ex, 409, CONFLICT, NULL, "510302");
    HAS(jstr(json, "error.message"), "job status invalid (log_id 77)");

    /* a run that is gone */
    ex = ex_job("alice", "POST", id, "/cancel", NULL);
    EXPECT_QF(ex, "jobDetail");
    feed_file(ex, 200, "detail_running.json");
    EXPECT_QF(ex, "stopJob");
    feed(ex, 200, "{\"log_id\":\"78\",\"error_code\":510301,"
         "\"error_msg\":\"job not exist\"}");
    EXPECT_ERROR(ex, 404, NF, "id", "510301");

    /* a foreign run is never stopped: its owner shows before stopJob */
    ex = ex_job("alice", "POST", id, "/cancel", NULL);
    EXPECT_QF(ex, "jobDetail");
    feed_file(ex, 200, "detail_foreign.json");
    EXPECT_ERROR(ex, 404, NF, "id", "job_not_found");

    /* another client's id: no call */
    ex = ex_job("bob", "POST", id, "/cancel", NULL);
    EXPECT_ERROR(ex, 404, NF, "id", "job_not_found");

    /* GET on /cancel */
    ex = ex_job("alice", "GET", id, "/cancel", NULL);
    EXPECT_ERROR(ex, 405, INV, NULL, "method_not_allowed");
}


/* ---- list ------------------------------------------------------------ */

static void
test_list_unlisted_provider(void **state)
{
    char            id[1100];
    cJSON          *json;
    const cJSON    *unlisted;
    gw_exchange_t  *ex;

    /* a Qianfan job exists: the list cannot show it, and says so */
    mint_id("alice", id, sizeof(id));

    ex = ex_as("alice", "GET", V1, NULL);
    EXPECT_CALL(ex, P_CLOVA, "GET", CLOVA_TASKS, "page=0&size=100");
    feed_file(ex, 200, "clova_list.json");
    json = FINISH(ex, 200);

    JSTR(json, "object", "list");
    assert_int_equal(cJSON_GetArraySize(jget(json, "data")), 2);
    JSTR(json, "data.0.vendor.job_id", "t-a1");
    JSTR(json, "data.0.vendor.provider", "clova");
    JINT(json, "data.0.created_at", T_CLOVA_A1);
    JSTR(json, "data.1.vendor.job_id", "t-a2");
    JINT(json, "data.1.created_at", T_CLOVA_A2);
    JSTR(json, "data.1.organization_id", "alice");
    assert_false(cJSON_IsTrue(jget(json, "has_more")));

    unlisted = jget(json, "unlisted_providers");
    assert_true(cJSON_IsArray(unlisted));
    assert_int_equal(cJSON_GetArraySize(unlisted), 1);
    JSTR(json, "unlisted_providers.0", "qianfan");
    LACKS(gw_exchange_result(ex)->body, id);
    assert_no_secret(ex);

    /* bob, one page of one */
    ex = ex_as("bob", "GET", V1, "limit=1");
    EXPECT_CALL(ex, P_CLOVA, "GET", CLOVA_TASKS, "page=0&size=100");
    feed_file(ex, 200, "clova_list.json");
    json = FINISH(ex, 200);
    assert_int_equal(cJSON_GetArraySize(jget(json, "data")), 1);
    JSTR(json, "data.0.vendor.job_id", "t-b1");
    JSTR(json, "unlisted_providers.0", "qianfan");

    /* alice with a limit of one: more, and still unlisted */
    ex = ex_as("alice", "GET", V1, "limit=1");
    EXPECT_CALL(ex, P_CLOVA, "GET", CLOVA_TASKS, "page=0&size=100");
    feed_file(ex, 200, "clova_list.json");
    json = FINISH(ex, 200);
    assert_true(cJSON_IsTrue(jget(json, "has_more")));
    JSTR(json, "unlisted_providers.0", "qianfan");

    /* an empty list names it too */
    ex = ex_as("alice", "GET", V1, NULL);
    EXPECT_CALL(ex, P_CLOVA, "GET", CLOVA_TASKS, "page=0&size=100");
    feed_file(ex, 200, "clova_list_empty.json");
    json = FINISH(ex, 200);
    assert_int_equal(cJSON_GetArraySize(jget(json, "data")), 0);
    JSTR(json, "unlisted_providers.0", "qianfan");

    /* a Qianfan id is no cursor into a list without Qianfan jobs, but it
     * is this client's id: the list goes on after its time */
    {
        char  query[1200];

        snprintf(query, sizeof(query), "after=%s", id);
        ex = ex_as("alice", "GET", V1, query);
        EXPECT_CALL(ex, P_CLOVA, "GET", CLOVA_TASKS, "page=0&size=100");
        feed_file(ex, 200, "clova_list.json");
        json = FINISH(ex, 200);
        JSTR(json, "unlisted_providers.0", "qianfan");
    }
}


int
main(void)
{
#define T(f)  cmocka_unit_test_teardown(f, teardown)

    const struct CMUnitTest  tests[] = {
        T(test_provider_config),
        T(test_signature_vectors),
        T(test_signature_gateway_vector),
        T(test_signature_dates),
        T(test_signature_host_and_expiration),

        T(test_create_full),
        T(test_create_answer_batch_size),
        T(test_create_prompt_tuning_bos),
        T(test_create_lora_bob),
        T(test_create_defaults),
        T(test_create_0725_max_seq_len),
        T(test_create_several_datasets),
        T(test_create_task_name),
        T(test_create_incremental),
        T(test_create_incremental_rules),
        T(test_create_peft_per_model),
        T(test_create_unlisted_models),
        T(test_create_trainset_rate_exact),
        T(test_create_not_started),

        T(test_create_validation),
        T(test_create_bounds_accepted),
        T(test_create_learning_rate_ranges),
        T(test_create_description_characters),
        T(test_create_bad_second_dataset_param),
        T(test_create_bad_first_dataset_param),
        T(test_create_dataset_id_overflow),
        T(test_create_dataset_id_exact),
        T(test_create_continue_from_refused),

        T(test_retrieve_statuses),
        T(test_retrieve_odd_details),
        T(test_retrieve_owner_and_ids),
        T(test_request_id_passed_through),

        T(test_vendor_errors_retrieve),
        T(test_vendor_errors_create),
        T(test_vendor_errors_unknown_and_non_json),
        T(test_transport_failures),
        T(test_vendor_error_redacts_secrets),

        T(test_cancel),

        T(test_list_unlisted_provider),
    };

#undef T

    harness_use(&harness);

    return cmocka_run_group_tests(tests, setup_gateway, NULL);
}
