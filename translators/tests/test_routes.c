
/*
 * Model routes (gw_routes.c) through the exchange: a route name as
 * "model" reaches its provider and vendor model with its defaults; the
 * clients a route or a provider allows; learning_rate_multiplier made an
 * absolute rate by the route's rate; GET /v1/models; and the checks of
 * gw_routes_check() that nginx -t runs.
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include <gw.h>
#include <gw_files.h>

#include "check.h"


#define SUBMIT          "/slurm/v0.0.38/job/submit"
#define QF_PATH         "/wenxinworkshop/finetune/"
#define DATASET         "local://datasets/train.jsonl"


enum {
    P_LOCAL = 0,
    P_GPU = 1,
    P_QF = 2,
    P_CLOVA = 3
};


static gw_provider_t  providers[4];

static char  *alice_only[] = { "alice" };

static gw_model_route_t  routes[5];


static void
slurm_provider(gw_provider_t *p, const char *name, const char *models)
{
    p->vendor = gw_vendor_find("slurm");
    p->name = name;
    p->endpoint = (name[0] == 'l') ? "/_ftgw/local" : "/_ftgw/gpu";
    p->params[0] = (gw_param_t) { "models", models, 0 };
    p->params[1] = (gw_param_t) { "dataset_root", "/srv/data", 0 };
    p->params[2] = (gw_param_t) { "output_root", "/srv/out", 0 };
    p->params[3] = (gw_param_t) { "trainer", "/opt/ftgw-trainer", 0 };
    p->params[4] = (gw_param_t) { "partition", "gpu", 0 };
    p->nparams = 5;
}


static int
setup_gateway(void **state)
{
    gw_provider_t  *p;

    memset(providers, 0, sizeof(providers));
    slurm_provider(&providers[P_LOCAL], "local", "tiny:/srv/models/tiny,"
                   "big:/srv/models/big");
    slurm_provider(&providers[P_GPU], "gpu", "tiny:/srv/models/tiny");

    p = &providers[P_QF];
    p->vendor = gw_vendor_find("qianfan");
    p->name = "qianfan";
    p->endpoint = "/_ftgw/qianfan";
    p->params[0] = (gw_param_t) { "access_key", "AK-routes-0001", 1 };
    p->params[1] = (gw_param_t) { "secret_key", "SK-routes-0002", 1 };
    p->nparams = 2;
    /* only alice may name this provider, directly or through a route */
    p->clients = alice_only;
    p->nclients = 1;

    p = &providers[P_CLOVA];
    p->vendor = gw_vendor_find("clova");
    p->name = "clova";
    p->endpoint = "/_ftgw/clova";
    p->params[0] = (gw_param_t) { "api_key", "nv-routes-key-0003", 1 };
    p->params[1] = (gw_param_t) { "storage_access_key", "OBJ-routes-04", 1 };
    p->params[2] = (gw_param_t) { "storage_secret_key", "OBJ-routes-05", 1 };
    p->nparams = 3;

    memset(routes, 0, sizeof(routes));

    routes[0] = (gw_model_route_t) { "support-bot", "local", "tiny", 2e-4,
                                     3, 0, NULL, 0, 0 };
    /* moved: the same name on another provider is another config */
    routes[1] = (gw_model_route_t) { "alice-only", "gpu", "tiny", 0, 0, 0,
                                     alice_only, 1, 0 };
    routes[2] = (gw_model_route_t) { "ernie", "qianfan",
                                     "ERNIE-Bot-turbo-0704", 2e-5, 0, 0,
                                     NULL, 0, 0 };
    routes[3] = (gw_model_route_t) { "ernie-hot", "qianfan",
                                     "ERNIE-Bot-turbo-0704", 5e-5, 0, 0,
                                     NULL, 0, 0 };

    /* what CLOVA cannot honour is dropped, and named */
    routes[4] = (gw_model_route_t) { "clova-drop", "clova", "HCX-003", 0, 0,
                                     0, NULL, 0, 1 };

    gw.routes = routes;
    gw.nroutes = 5;
    gw.routes_only = 0;
    gw.loaded_at = 1700000000;

    return 0;
}


static const char  *secrets[] = {
    "AK-routes-0001", "SK-routes-0002", "nv-routes-key-0003",
    "OBJ-routes-04", "OBJ-routes-05", NULL
};


static const harness_t  harness = {
    .providers = providers,
    .nproviders = sizeof(providers) / sizeof(providers[0]),
    .id_secret = "test-id-secret-routes-0123456789abcdef-01",
    .fixtures = "translators/tests/fixtures/",
    .generated_id = "gen-req-routes-01",
    .now_ms = 1700000000000LL,
    .secrets = secrets,
    .call_secrets = NULL,
    .check_call = NULL,
    .reset = setup_gateway
};


/* the trainer spec inside a Slurm submit: the script's JSON here-doc */
static cJSON *
submit_spec(const gw_call_t *call)
{
    char         *script;
    const char   *start, *end;
    cJSON        *body, *spec;

    body = keep_json(cJSON_ParseWithLength(call->body, call->body_len));
    assert_non_null(body);

    script = (char *) jstr(body, "script");
    assert_non_null(script);

    start = strstr(script, "{\"");
    end = strstr(script, "\nFTGW_SPEC");
    assert_non_null(start);
    assert_non_null(end);

    spec = keep_json(cJSON_ParseWithLength(start, end - start));
    assert_non_null(spec);

    return spec;
}


static gw_call_t *
create_call(const char *client, int prov, const char *body)
{
    gw_exchange_t  *ex;

    ex = ex_create(client, body);

    return EXPECT_CALL(ex, prov, "POST",
                       prov == P_QF ? QF_PATH "createTask" : SUBMIT, "");
}


/* a route reaches its provider and vendor model, with its defaults */
static void
test_route_create(void **state)
{
    cJSON  *spec;

    spec = submit_spec(create_call("bob", P_LOCAL,
        "{\"model\":\"support-bot\",\"training_file\":\"" DATASET "\"}"));
    JSTR(spec, "model_dir", "/srv/models/tiny");
    JINT(spec, "n_epochs", 3);
    JNUM(spec, "learning_rate", 2e-4);

    /* the client's own values beat the route's defaults */
    spec = submit_spec(create_call("bob", P_LOCAL,
        "{\"model\":\"support-bot\",\"training_file\":\"" DATASET "\","
        "\"hyperparameters\":{\"n_epochs\":1},"
        "\"tuning\":{\"learning_rate\":1e-5}}"));
    JINT(spec, "n_epochs", 1);
    JNUM(spec, "learning_rate", 1e-5);

    /* "auto" is the route's default, as it would be the vendor's */
    spec = submit_spec(create_call("bob", P_LOCAL,
        "{\"model\":\"support-bot\",\"training_file\":\"" DATASET "\","
        "\"hyperparameters\":{\"n_epochs\":\"auto\","
        "\"learning_rate_multiplier\":\"auto\"}}"));
    JINT(spec, "n_epochs", 3);
    JNUM(spec, "learning_rate", 2e-4);

    /* the direct form still works where allowed */
    spec = submit_spec(create_call("bob", P_LOCAL,
        "{\"model\":\"local/big\",\"training_file\":\"" DATASET "\"}"));
    JSTR(spec, "model_dir", "/srv/models/big");
}


/* learning_rate_multiplier times the route's rate */
static void
test_route_multiplier(void **state)
{
    cJSON          *spec;
    gw_call_t      *call;
    gw_exchange_t  *ex;

    spec = submit_spec(create_call("bob", P_LOCAL,
        "{\"model\":\"support-bot\",\"training_file\":\"" DATASET "\","
        "\"hyperparameters\":{\"learning_rate_multiplier\":2}}"));
    JNUM(spec, "learning_rate", 4e-4);

    /* under method.supervised too */
    spec = submit_spec(create_call("bob", P_LOCAL,
        "{\"model\":\"support-bot\",\"training_file\":\"" DATASET "\","
        "\"method\":{\"type\":\"supervised\",\"supervised\":"
        "{\"hyperparameters\":{\"learning_rate_multiplier\":0.5}}}}"));
    JNUM(spec, "learning_rate", 1e-4);

    /* both: which one is meant? */
    ex = ex_create("bob", "{\"model\":\"support-bot\",\"training_file\":\""
                   DATASET "\",\"hyperparameters\":"
                   "{\"learning_rate_multiplier\":2},"
                   "\"tuning\":{\"learning_rate\":1e-5}}");
    EXPECT_ERROR(ex, 400, "invalid_request_error",
                 "hyperparameters.learning_rate_multiplier",
                 "conflicting_parameter");

    /* no route rate: no faithful mapping, refused by name */
    ex = ex_create("bob", "{\"model\":\"local/tiny\",\"training_file\":\""
                   DATASET "\",\"hyperparameters\":"
                   "{\"learning_rate_multiplier\":2}}");
    EXPECT_ERROR(ex, 400, "invalid_request_error",
                 "hyperparameters.learning_rate_multiplier",
                 "unsupported_parameter");

    /* 2e-5 x 3 lies in 0704 LoRA's [3e-5, 1e-3]; x 100 does not, and
     * the vendor's refusal names what the client gave */
    call = create_call("alice", P_QF, "{\"model\":\"ernie\","
        "\"training_file\":\"qianfan://dataset/1\","
        "\"hyperparameters\":{\"learning_rate_multiplier\":3}}");
    assert_non_null(call);

    ex = ex_create("alice", "{\"model\":\"ernie\","
                   "\"training_file\":\"qianfan://dataset/1\","
                   "\"hyperparameters\":{\"learning_rate_multiplier\":100}}");
    EXPECT_ERROR(ex, 400, "invalid_request_error",
                 "hyperparameters.learning_rate_multiplier", "invalid_value");

    /* a route whose own rate the vendor refuses names the route */
    ex = ex_create("alice", "{\"model\":\"ernie-hot\","
                   "\"training_file\":\"qianfan://dataset/1\","
                   "\"tuning\":{\"tuning_type\":\"full\"}}");
    EXPECT_ERROR(ex, 400, "invalid_request_error", "model", "invalid_value");
}


/* who may use what */
static void
test_route_clients(void **state)
{
    gw_exchange_t  *ex;

    /* a route the client may not use is one it cannot see */
    ex = ex_create("bob", "{\"model\":\"alice-only\",\"training_file\":\""
                   DATASET "\"}");
    EXPECT_ERROR(ex, 404, "not_found_error", "model", "model_not_found");

    create_call("alice", P_GPU, "{\"model\":\"alice-only\","
                "\"training_file\":\"" DATASET "\"}");

    ex = ex_create("alice", "{\"model\":\"no-such-route\","
                   "\"training_file\":\"" DATASET "\"}");
    EXPECT_ERROR(ex, 404, "not_found_error", "model", "model_not_found");

    /* a provider's clients= covers its routes without clients= */
    ex = ex_create("bob", "{\"model\":\"ernie\","
                   "\"training_file\":\"qianfan://dataset/1\"}");
    EXPECT_ERROR(ex, 404, "not_found_error", "model", "model_not_found");

    /* and the provider named directly */
    ex = ex_create("bob", "{\"model\":\"qianfan/Llama-2-7b\","
                   "\"training_file\":\"qianfan://dataset/1\"}");
    EXPECT_ERROR(ex, 403, "permission_error", "model", "model_not_allowed");

    /* routes only: no client names a provider directly */
    gw.routes_only = 1;

    ex = ex_create("alice", "{\"model\":\"local/tiny\",\"training_file\":\""
                   DATASET "\"}");
    EXPECT_ERROR(ex, 403, "permission_error", "model", "model_not_allowed");

    create_call("alice", P_LOCAL, "{\"model\":\"support-bot\","
                "\"training_file\":\"" DATASET "\"}");

    /* an unknown provider is still named as such */
    gw.routes_only = 0;

    ex = ex_create("alice", "{\"model\":\"nope/tiny\",\"training_file\":\""
                   DATASET "\"}");
    EXPECT_ERROR(ex, 400, "invalid_request_error", "model",
                 "unknown_provider");
}


/*
 * unsupported=drop: what CLOVA cannot honour goes, never silently: the
 * answer names it in Ftgw-Dropped-Params and vendor.dropped_params
 */
static void
test_route_drop(void **state)
{
    cJSON          *json, *body;
    gw_call_t      *call;
    gw_exchange_t  *ex;

    ex = ex_create("alice", "{\"model\":\"clova-drop\","
                   "\"training_file\":\"s3://b/t.csv\",\"seed\":7,"
                   "\"hyperparameters\":{\"n_epochs\":2,\"batch_size\":8},"
                   "\"metadata\":{\"team\":\"a\"}}");
    call = EXPECT_CALL(ex, P_CLOVA, "POST", "/tuning/v2/tasks", "");
    body = keep_json(cJSON_ParseWithLength(call->body, call->body_len));
    JINT(body, "trainEpochs", 2);
    assert_null(jget(body, "seed"));
    assert_null(jget(body, "batchSize"));
    feed_file(ex, 200, "clova/task_created.json");

    json = FINISH(ex, 200);
    JSTR(json, "vendor.dropped_params.0", "seed");
    JSTR(json, "vendor.dropped_params.1", "hyperparameters.batch_size");
    JSTR(json, "vendor.dropped_params.2", "metadata");
    assert_null(jget(json, "vendor.dropped_params.3"));
    assert_string_equal(gw_exchange_result(ex)->dropped,
                        "seed, hyperparameters.batch_size, metadata");

    /* nothing to drop: no header, no list */
    ex = ex_create("alice", "{\"model\":\"clova-drop\","
                   "\"training_file\":\"s3://b/t.csv\"}");
    EXPECT_CALL(ex, P_CLOVA, "POST", "/tuning/v2/tasks", "");
    feed_file(ex, 200, "clova/task_created.json");
    json = FINISH(ex, 200);
    assert_null(jget(json, "vendor.dropped_params"));
    assert_null(gw_exchange_result(ex)->dropped);

    /* a route without unsupported=drop still refuses by name */
    ex = ex_create("alice", "{\"model\":\"support-bot\","
                   "\"training_file\":\"" DATASET "\","
                   "\"integrations\":[{\"type\":\"wandb\","
                   "\"wandb\":{\"project\":\"p\"}}]}");
    EXPECT_ERROR(ex, 400, "invalid_request_error", "integrations",
                 "unsupported_parameter");
}


static int
has_model(const cJSON *list, const char *id)
{
    const cJSON  *m;

    cJSON_ArrayForEach(m, cJSON_GetObjectItem(list, "data")) {
        if (strcmp(jstr(m, "id"), id) == 0) {
            return 1;
        }
    }

    return 0;
}


static void
test_models_list(void **state)
{
    cJSON          *json;
    gw_exchange_t  *ex;

    ex = ex_as("alice", "GET", "/v1/models", NULL);
    json = FINISH(ex, 200);
    JSTR(json, "object", "list");
    JSTR(json, "data.0.id", "support-bot");
    JSTR(json, "data.0.object", "model");
    JINT(json, "data.0.created", 1700000000);
    JSTR(json, "data.0.owned_by", "local");
    JSTR(json, "data.0.vendor.model", "tiny");
    JSTR(json, "data.0.vendor.kind", "slurm");
    JSTR(json, "data.0.vendor.route", "support-bot");
    assert_true(has_model(json, "alice-only"));
    assert_true(has_model(json, "ernie"));
    assert_true(has_model(json, "local/tiny"));
    assert_true(has_model(json, "local/big"));
    assert_true(has_model(json, "qianfan/ERNIE-Bot-turbo-0516"));
    assert_true(has_model(json, "qianfan/Baichuan2-13B"));
    /* CLOVA keeps no model list: only routes reach it there */
    assert_false(has_model(json, "clova/HCX-003"));

    ex = ex_as("bob", "GET", "/v1/models", NULL);
    json = FINISH(ex, 200);
    assert_true(has_model(json, "support-bot"));
    assert_false(has_model(json, "alice-only"));
    assert_false(has_model(json, "ernie"));
    assert_false(has_model(json, "qianfan/Llama-2-7b"));
    assert_true(has_model(json, "local/tiny"));

    gw.routes_only = 1;
    ex = ex_as("bob", "GET", "/v1/models/", NULL);
    json = FINISH(ex, 200);
    assert_true(has_model(json, "support-bot"));
    assert_false(has_model(json, "local/tiny"));
    gw.routes_only = 0;

    ex = ex_as("bob", "GET", "/v1/models/support-bot", NULL);
    json = FINISH(ex, 200);
    JSTR(json, "id", "support-bot");
    JSTR(json, "vendor.provider", "local");

    ex = ex_as("alice", "GET", "/v1/models/local/big", NULL);
    EXPECT_ERROR(ex, 404, "not_found_error", NULL, "unknown_url");

    ex = ex_as("bob", "GET", "/v1/models/alice-only", NULL);
    EXPECT_ERROR(ex, 404, "not_found_error", "model", "model_not_found");

    ex = ex_as("bob", "DELETE", "/v1/models/support-bot", NULL);
    EXPECT_ERROR(ex, 405, "invalid_request_error", NULL,
                 "method_not_allowed");

    ex = ex_raw("GET", "/v1/models", NULL, NULL, 0, NULL, 0);
    EXPECT_ERROR(ex, 401, "authentication_error", NULL, "missing_api_key");

    /* the first API root in the path is the route: a job's tail named
     * "models" is no model list, and "files" after /models is a model */
    ex = ex_as("bob", "GET", "/v1/fine_tuning/jobs/ftjob-x/models", NULL);
    EXPECT_ERROR(ex, 404, "not_found_error", NULL, "unknown_url");

    ex = ex_as("bob", "GET", "/v1/models/files", NULL);
    EXPECT_ERROR(ex, 404, "not_found_error", "model", "model_not_found");

    assert_true(gw_files_path("/v1/files/file-x/content", 24));
    assert_false(gw_files_path("/v1/models/files", 16));
    assert_false(gw_files_path("/v1/fine_tuning/jobs/files", 26));
    assert_false(gw_files_path("/v1/filesx", 10));
}


/* gw_routes_check() refuses one route r, saying part */
static void
refused(gw_model_route_t r, const char *part)
{
    char  err[256];

    gw.routes = &r;
    gw.nroutes = 1;

    assert_int_equal(gw_routes_check(&gw, err, sizeof(err)), GW_ERROR);
    HAS(err, part);
}


static void
test_routes_check(void **state)
{
    char         err[256];
    static char  *nobody[] = { "carol" };

    assert_int_equal(gw_routes_check(&gw, err, sizeof(err)), GW_OK);

    refused((gw_model_route_t) { "r1", "nope", "tiny", 0, 0, 0, NULL, 0,
                                 0 },
            "names the provider \"nope\"");
    refused((gw_model_route_t) { "bad/name", "local", "tiny", 0, 0, 0,
                                 NULL, 0, 0 },
            "a name is 1 to 64 characters");
    refused((gw_model_route_t) { "r1", "local", "", 0, 0, 0, NULL, 0,
                                 0 },
            "model= is 1 to 128");
    refused((gw_model_route_t) { "r1", "local", "tiny", 0, 0, 0, nobody,
                                 1, 0 },
            "client \"carol\"");
    refused((gw_model_route_t) { "r1", "local", "tiny", 2, 0, 0, NULL, 0,
                                 0 },
            "learning_rate must be");
    /* CLOVA takes no batch size: every job would be refused */
    refused((gw_model_route_t) { "r1", "clova", "HCX-003", 0, 0, 8, NULL,
                                 0, 0 },
            "cannot take its default batch_size");

    gw.routes = routes;
    gw.nroutes = 2;
    routes[1].name = "support-bot";
    assert_int_equal(gw_routes_check(&gw, err, sizeof(err)), GW_ERROR);
    HAS(err, "declared twice");

    providers[P_LOCAL].clients = nobody;
    providers[P_LOCAL].nclients = 1;
    gw.nroutes = 0;
    assert_int_equal(gw_routes_check(&gw, err, sizeof(err)), GW_ERROR);
    HAS(err, "provider \"local\" allows the client \"carol\"");
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test_teardown(test_route_create, teardown),
        cmocka_unit_test_teardown(test_route_multiplier, teardown),
        cmocka_unit_test_teardown(test_route_clients, teardown),
        cmocka_unit_test_teardown(test_route_drop, teardown),
        cmocka_unit_test_teardown(test_models_list, teardown),
        cmocka_unit_test_teardown(test_routes_check, teardown),
    };

    harness_use(&harness);

    return cmocka_run_group_tests(tests, setup_gateway, NULL);
}
