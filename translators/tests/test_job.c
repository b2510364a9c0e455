
/*
 * gw_job.c: the fine_tuning.job object and the synthesised events.
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <core/gw_core.h>
#include <sign/gw_sign.h>


#define ID          "ftjob-abc"
#define EV_CREATED  "ftevent-7f76837c1c4d659f2d8cf523"
#define EV_METRICS  "ftevent-bfff4502b3038ba0c19ceec2"
#define EV_DONE     "ftevent-cdc72252922dab3bc8a81514"
#define EV_FAILED   "ftevent-adabbb2e0306f840beb96dc3"
#define EV_CANCEL   "ftevent-d677350332d4f34be2c3cff4"


static const gw_vendor_t  vendor = { "clova", 0, NULL, NULL, 0, { NULL },
                                      NULL, NULL };

/* cJSON allocations left before one fails; -1 = never */
static int  fail_countdown = -1;


static const gw_provider_t *
provider(void)
{
    static gw_provider_t  p;

    memset(&p, 0, sizeof(p));
    p.name = "clova-kr";
    p.vendor = &vendor;
    p.endpoint = "/_ftgw/clova";

    return &p;
}


static void
assert_json(const cJSON *got, const char *want_text)
{
    char   *s;
    cJSON  *want;

    want = cJSON_Parse(want_text);
    assert_non_null(want);

    if (!cJSON_Compare(got, want, 1)) {
        s = cJSON_PrintUnformatted(got);
        print_error("got:  %s\nwant: %s\n", s, want_text);
        free(s);
        cJSON_Delete(want);
        fail();
    }

    cJSON_Delete(want);
}


static void
queued_job(gw_job_t *job)
{
    gw_job_init(job);
    job->vendor_id = gw_strdup("task-1");
    job->created_at = 1692590826;
    job->vendor_status = gw_strdup("WAIT");
    job->vendor_model = gw_strdup("HCX-003");
    job->training_file = gw_strdup("s3://b/train.jsonl");
}


static void
test_init_free(void **state)
{
    gw_job_t  job;

    memset(&job, 0x5a, sizeof(job));
    gw_job_init(&job);

    assert_null(job.vendor_id);
    assert_null(job.vendor_extra);
    assert_null(job.vendor_error_code);
    assert_true(job.created_at == GW_UNSET_INT);
    assert_true(job.finished_at == GW_UNSET_INT);
    assert_true(job.updated_at == GW_UNSET_INT);
    assert_true(job.dataset_tokens == GW_UNSET_INT);
    assert_false(gw_has_num(job.learning_rate));
    assert_false(gw_has_num(job.train_loss));
    assert_int_equal(job.status, GW_STATUS_QUEUED);
    assert_int_equal(job.has_error, 0);
    assert_string_equal(job.error_code, "");
    assert_string_equal(job.error_message, "");

    queued_job(&job);
    job.vendor_extra = cJSON_Parse("{\"a\":[1,2,3]}");
    job.vendor_error_code = gw_strdup("E1");
    gw_job_free(&job);

    assert_null(job.vendor_id);
    assert_null(job.vendor_extra);
    assert_true(job.created_at == GW_UNSET_INT);

    /* freeing twice is harmless */
    gw_job_free(&job);
}


static void
test_status_name(void **state)
{
    assert_string_equal(gw_status_name(GW_STATUS_VALIDATING_FILES),
                        "validating_files");
    assert_string_equal(gw_status_name(GW_STATUS_QUEUED), "queued");
    assert_string_equal(gw_status_name(GW_STATUS_RUNNING), "running");
    assert_string_equal(gw_status_name(GW_STATUS_SUCCEEDED), "succeeded");
    assert_string_equal(gw_status_name(GW_STATUS_FAILED), "failed");
    assert_string_equal(gw_status_name(GW_STATUS_CANCELLED), "cancelled");
}


/* the printed job object, parsed back */
static cJSON *
job_json(const gw_job_t *job, const char *id, const char *client)
{
    char    *text;
    cJSON   *j;
    size_t   len;

    text = gw_job_print(job, id, provider(), client, &len);
    assert_non_null(text);
    assert_int_equal(len, strlen(text));

    j = cJSON_Parse(text);
    assert_non_null(j);
    free(text);

    return j;
}


/* the queued job as the gateway writes it, byte for byte */
static const char  queued_text[] =
        "{\"id\":\"ftjob-abc\",\"object\":\"fine_tuning.job\","
        "\"created_at\":1692590826,\"error\":null,"
        "\"fine_tuned_model\":null,\"finished_at\":null,"
        "\"hyperparameters\":{\"n_epochs\":\"auto\",\"batch_size\":\"auto\","
        "\"learning_rate_multiplier\":\"auto\"},"
        "\"model\":\"clova-kr/HCX-003\",\"organization_id\":\"team-a\","
        "\"result_files\":[],\"seed\":null,\"status\":\"queued\","
        "\"trained_tokens\":null,\"training_file\":\"s3://b/train.jsonl\","
        "\"validation_file\":null,\"estimated_finish\":null,"
        "\"integrations\":[],\"metadata\":null,"
        "\"method\":{\"type\":\"supervised\",\"supervised\":{"
        "\"hyperparameters\":{\"n_epochs\":\"auto\",\"batch_size\":\"auto\","
        "\"learning_rate_multiplier\":\"auto\"}}},"
        "\"vendor\":{\"provider\":\"clova-kr\",\"kind\":\"clova\","
        "\"job_id\":\"task-1\",\"status\":\"WAIT\",\"name\":null,"
        "\"learning_rate\":null,\"error_code\":null,"
        "\"progress\":{\"step\":null,\"total_steps\":null,\"epoch\":null,"
        "\"total_epochs\":null,\"train_loss\":null,\"percent\":null,"
        "\"data_rows\":null,"
        "\"dataset_tokens\":null,\"tokens_per_second\":null,"
        "\"mfu\":null,\"updated_at\":null}}}";


static void
test_to_json_queued(void **state)
{
    char      *text;
    cJSON     *j;
    gw_job_t   job;

    queued_job(&job);

    j = job_json(&job, ID, "team-a");

    assert_json(j, queued_text);

    /* OpenAI's key order, for readers that care */
    assert_string_equal(j->child->string, "id");
    assert_string_equal(j->child->next->string, "object");
    assert_string_equal(cJSON_GetArrayItem(j, 19)->string, "vendor");

    /* written as cJSON prints the same object */
    text = gw_job_print(&job, ID, provider(), "team-a", NULL);
    assert_non_null(text);
    assert_string_equal(text, queued_text);
    free(text);

    cJSON_Delete(j);
    gw_job_free(&job);
}


static void
test_to_json_failed(void **state)
{
    cJSON     *j, *v;
    gw_job_t   job;

    queued_job(&job);
    job.vendor_id2 = gw_strdup("run-1");
    job.status = GW_STATUS_FAILED;
    free(job.vendor_status);
    job.vendor_status = gw_strdup("FAILED");
    job.has_error = 1;
    strcpy(job.error_code, "invalid_training_file");
    strcpy(job.error_message, "Dataset not found");
    job.vendor_error_code = gw_strdup("40001");
    job.finished_at = 1692600000;
    job.n_epochs = 4;
    job.batch_size = 8;
    job.learning_rate = 1e-4;
    job.seed = 7;
    job.step = 10;
    job.total_steps = 100;
    job.train_loss = 0.5;
    job.name = gw_strdup("team-a.my-model");
    /* the gateway's keys win, without case; so does the first of two */
    job.vendor_extra = cJSON_Parse("{\"statusDetail\":\"oom\","
                                   "\"status\":\"NOT-MERGED\","
                                   "\"Job_ID\":\"NOT-MERGED\","
                                   "\"nested\":{\"k\":[1]},"
                                   "\"NESTED\":\"NOT-MERGED\"}");

    j = job_json(&job, ID, "team-a");

    assert_json(cJSON_GetObjectItem(j, "error"),
                "{\"code\":\"invalid_training_file\","
                "\"message\":\"Dataset not found\",\"param\":null}");
    assert_string_equal(gw_json_str(j, "status"), "failed");
    assert_int_equal(gw_json_int(j, "finished_at"), 1692600000);
    assert_int_equal(gw_json_int(j, "seed"), 7);
    assert_json(cJSON_GetObjectItem(j, "hyperparameters"),
                "{\"n_epochs\":4,\"batch_size\":8,"
                "\"learning_rate_multiplier\":\"auto\"}");
    assert_json(cJSON_GetObjectItem(j, "method"),
                "{\"type\":\"supervised\",\"supervised\":{"
                "\"hyperparameters\":{\"n_epochs\":4,\"batch_size\":8,"
                "\"learning_rate_multiplier\":\"auto\"}}}");

    v = cJSON_GetObjectItem(j, "vendor");
    assert_json(v,
        "{\"provider\":\"clova-kr\",\"kind\":\"clova\",\"job_id\":\"task-1\","
        "\"secondary_id\":\"run-1\",\"status\":\"FAILED\","
        "\"name\":\"team-a.my-model\",\"learning_rate\":0.0001,"
        "\"error_code\":\"40001\","
        "\"progress\":{\"step\":10,\"total_steps\":100,\"epoch\":null,"
        "\"total_epochs\":null,\"train_loss\":0.5,\"percent\":null,"
        "\"data_rows\":null,"
        "\"dataset_tokens\":null,\"tokens_per_second\":null,"
        "\"mfu\":null,\"updated_at\":null},"
        "\"statusDetail\":\"oom\",\"nested\":{\"k\":[1]}}");

    cJSON_Delete(j);

    /* the job is unchanged and still owns its extra */
    assert_non_null(cJSON_GetObjectItem(job.vendor_extra, "nested"));
    gw_job_free(&job);
}


static void
test_to_json_no_model(void **state)
{
    cJSON     *j;
    gw_job_t   job;

    gw_job_init(&job);

    j = job_json(&job, ID, NULL);
    assert_string_equal(gw_json_str(j, "model"), "clova-kr");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "organization_id")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "created_at")));

    cJSON_Delete(j);
}


static cJSON *
event_at(const cJSON *list, int i)
{
    return cJSON_GetArrayItem(cJSON_GetObjectItem(list, "data"), i);
}


static int
event_count(const cJSON *list)
{
    return cJSON_GetArraySize(cJSON_GetObjectItem(list, "data"));
}


static int
has_more(const cJSON *list)
{
    return cJSON_IsTrue(cJSON_GetObjectItem(list, "has_more"));
}


static void
test_events_queued(void **state)
{
    cJSON     *l;
    gw_job_t   job;

    queued_job(&job);

    l = gw_job_events_json(&job, ID, NULL, 0);
    assert_json(l,
        "{\"object\":\"list\",\"data\":[{\"id\":\"" EV_CREATED "\","
        "\"object\":\"fine_tuning.job.event\",\"created_at\":1692590826,"
        "\"level\":\"info\",\"message\":\"Fine-tuning job created\","
        "\"type\":\"message\",\"data\":{}}],\"has_more\":false}");
    cJSON_Delete(l);

    /* validating_files has no progress either */
    job.status = GW_STATUS_VALIDATING_FILES;
    job.step = 3;
    l = gw_job_events_json(&job, ID, NULL, 0);
    assert_int_equal(event_count(l), 1);
    cJSON_Delete(l);

    gw_job_free(&job);
}


static void
test_events_running(void **state)
{
    cJSON     *l;
    gw_job_t   job;

    queued_job(&job);
    job.status = GW_STATUS_RUNNING;
    job.step = 40;
    job.total_steps = 100;
    job.epoch = 1;
    job.total_epochs = 3;
    job.train_loss = 1.2345;
    job.updated_at = 1692591000;

    l = gw_job_events_json(&job, ID, NULL, 0);
    assert_json(l,
        "{\"object\":\"list\",\"data\":["
        "{\"id\":\"" EV_METRICS "\",\"object\":\"fine_tuning.job.event\","
        "\"created_at\":1692591000,\"level\":\"info\","
        "\"message\":\"Step 40/100: training loss=1.2345\","
        "\"type\":\"metrics\",\"data\":{\"step\":40,\"total_steps\":100,"
        "\"epoch\":1,\"total_epochs\":3,\"train_loss\":1.2345}},"
        "{\"id\":\"" EV_CREATED "\",\"object\":\"fine_tuning.job.event\","
        "\"created_at\":1692590826,\"level\":\"info\","
        "\"message\":\"Fine-tuning job created\",\"type\":\"message\","
        "\"data\":{}}],\"has_more\":false}");
    cJSON_Delete(l);

    /* nothing known yet: a progress event at created_at, all nulls */
    gw_job_free(&job);
    queued_job(&job);
    job.status = GW_STATUS_RUNNING;

    l = gw_job_events_json(&job, ID, NULL, 0);
    assert_int_equal(event_count(l), 2);
    assert_json(event_at(l, 0),
        "{\"id\":\"" EV_METRICS "\",\"object\":\"fine_tuning.job.event\","
        "\"created_at\":1692590826,\"level\":\"info\","
        "\"message\":\"Training in progress\",\"type\":\"metrics\","
        "\"data\":{\"step\":null,\"total_steps\":null,\"epoch\":null,"
        "\"total_epochs\":null,\"train_loss\":null}}");
    cJSON_Delete(l);

    /* partial knowledge */
    job.step = 5;
    l = gw_job_events_json(&job, ID, NULL, 0);
    assert_string_equal(gw_json_str(event_at(l, 0), "message"), "Step 5");
    cJSON_Delete(l);

    job.step = GW_UNSET_INT;
    job.total_steps = 50;
    job.train_loss = 2.0;
    l = gw_job_events_json(&job, ID, NULL, 0);
    assert_string_equal(gw_json_str(event_at(l, 0), "message"),
                        "Step ?/50: training loss=2.0000");
    cJSON_Delete(l);

    job.total_steps = GW_UNSET_INT;
    job.epoch = 2;
    job.total_epochs = 4;
    job.train_loss = GW_UNSET_NUM;
    l = gw_job_events_json(&job, ID, NULL, 0);
    assert_string_equal(gw_json_str(event_at(l, 0), "message"),
                        "Epoch 2/4");
    cJSON_Delete(l);

    gw_job_free(&job);
}


static void
test_events_succeeded(void **state)
{
    cJSON     *l;
    gw_job_t   job;

    queued_job(&job);
    job.status = GW_STATUS_SUCCEEDED;
    job.finished_at = 1692599999;

    /* no step known: no metrics event */
    l = gw_job_events_json(&job, ID, NULL, 0);
    assert_int_equal(event_count(l), 2);
    assert_json(event_at(l, 0),
        "{\"id\":\"" EV_DONE "\",\"object\":\"fine_tuning.job.event\","
        "\"created_at\":1692599999,\"level\":\"info\","
        "\"message\":\"The job has successfully completed\","
        "\"type\":\"message\",\"data\":{}}");
    assert_string_equal(gw_json_str(event_at(l, 1), "id"), EV_CREATED);
    cJSON_Delete(l);

    /* no finished_at: updated_at, then created_at */
    job.finished_at = GW_UNSET_INT;
    job.updated_at = 1692599000;
    job.step = 100;
    job.total_steps = 100;

    l = gw_job_events_json(&job, ID, NULL, 0);
    assert_int_equal(event_count(l), 3);
    assert_int_equal(gw_json_int(event_at(l, 0), "created_at"), 1692599000);
    assert_string_equal(gw_json_str(event_at(l, 1), "id"), EV_METRICS);
    assert_string_equal(gw_json_str(event_at(l, 1), "message"),
                        "Step 100/100");
    cJSON_Delete(l);

    job.updated_at = GW_UNSET_INT;
    l = gw_job_events_json(&job, ID, NULL, 0);
    assert_int_equal(gw_json_int(event_at(l, 0), "created_at"), 1692590826);
    cJSON_Delete(l);

    gw_job_free(&job);
}


static void
test_events_failed(void **state)
{
    cJSON     *l;
    gw_job_t   job;

    queued_job(&job);
    job.status = GW_STATUS_FAILED;
    job.has_error = 1;
    strcpy(job.error_code, "invalid_training_file");
    strcpy(job.error_message, "Dataset not found");
    job.finished_at = 1692599999;

    l = gw_job_events_json(&job, ID, NULL, 0);
    assert_int_equal(event_count(l), 2);
    assert_json(event_at(l, 0),
        "{\"id\":\"" EV_FAILED "\",\"object\":\"fine_tuning.job.event\","
        "\"created_at\":1692599999,\"level\":\"error\","
        "\"message\":\"The job failed: invalid_training_file: "
        "Dataset not found\",\"type\":\"message\","
        "\"data\":{\"code\":\"invalid_training_file\"}}");
    cJSON_Delete(l);

    job.error_code[0] = '\0';
    l = gw_job_events_json(&job, ID, NULL, 0);
    assert_string_equal(gw_json_str(event_at(l, 0), "message"),
                        "The job failed: Dataset not found");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(
                    cJSON_GetObjectItem(event_at(l, 0), "data"), "code")));
    cJSON_Delete(l);

    strcpy(job.error_code, "E42");
    job.error_message[0] = '\0';
    l = gw_job_events_json(&job, ID, NULL, 0);
    assert_string_equal(gw_json_str(event_at(l, 0), "message"),
                        "The job failed: E42");
    cJSON_Delete(l);

    job.error_code[0] = '\0';
    job.step = 3;
    l = gw_job_events_json(&job, ID, NULL, 0);
    assert_int_equal(event_count(l), 3);
    assert_string_equal(gw_json_str(event_at(l, 0), "message"),
                        "The job failed");
    cJSON_Delete(l);

    gw_job_free(&job);
}


static void
test_events_cancelled(void **state)
{
    cJSON     *l;
    gw_job_t   job;

    queued_job(&job);
    job.status = GW_STATUS_CANCELLED;
    job.total_steps = 10;
    job.updated_at = 1692591111;

    l = gw_job_events_json(&job, ID, NULL, 0);
    assert_int_equal(event_count(l), 3);
    assert_json(event_at(l, 0),
        "{\"id\":\"" EV_CANCEL "\",\"object\":\"fine_tuning.job.event\","
        "\"created_at\":1692591111,\"level\":\"info\","
        "\"message\":\"The job was cancelled\",\"type\":\"message\","
        "\"data\":{}}");
    assert_string_equal(gw_json_str(event_at(l, 1), "id"), EV_METRICS);
    assert_string_equal(gw_json_str(event_at(l, 2), "id"), EV_CREATED);
    cJSON_Delete(l);

    gw_job_free(&job);
}


static void
test_events_pagination(void **state)
{
    cJSON     *l;
    gw_job_t   job;

    queued_job(&job);
    job.status = GW_STATUS_SUCCEEDED;
    job.step = 100;

    l = gw_job_events_json(&job, ID, NULL, 1);
    assert_int_equal(event_count(l), 1);
    assert_string_equal(gw_json_str(event_at(l, 0), "id"), EV_DONE);
    assert_true(has_more(l));
    cJSON_Delete(l);

    l = gw_job_events_json(&job, ID, EV_DONE, 1);
    assert_int_equal(event_count(l), 1);
    assert_string_equal(gw_json_str(event_at(l, 0), "id"), EV_METRICS);
    assert_true(has_more(l));
    cJSON_Delete(l);

    l = gw_job_events_json(&job, ID, EV_METRICS, 1);
    assert_int_equal(event_count(l), 1);
    assert_string_equal(gw_json_str(event_at(l, 0), "id"), EV_CREATED);
    assert_false(has_more(l));
    cJSON_Delete(l);

    l = gw_job_events_json(&job, ID, EV_CREATED, 5);
    assert_int_equal(event_count(l), 0);
    assert_false(has_more(l));
    cJSON_Delete(l);

    l = gw_job_events_json(&job, ID, EV_DONE, 2);
    assert_int_equal(event_count(l), 2);
    assert_false(has_more(l));
    cJSON_Delete(l);

    l = gw_job_events_json(&job, ID, NULL, 2);
    assert_int_equal(event_count(l), 2);
    assert_true(has_more(l));
    cJSON_Delete(l);

    l = gw_job_events_json(&job, ID, NULL, 3);
    assert_int_equal(event_count(l), 3);
    assert_false(has_more(l));
    cJSON_Delete(l);

    /* limit <= 0 means 20 */
    l = gw_job_events_json(&job, ID, NULL, -1);
    assert_int_equal(event_count(l), 3);
    assert_false(has_more(l));
    cJSON_Delete(l);

    l = gw_job_events_json(&job, ID, NULL, INT64_MAX);
    assert_int_equal(event_count(l), 3);
    cJSON_Delete(l);

    /* an unknown cursor, or another job's event id */
    l = gw_job_events_json(&job, ID, "ftevent-nope", 20);
    assert_json(l, "{\"object\":\"list\",\"data\":[],\"has_more\":false}");
    cJSON_Delete(l);

    l = gw_job_events_json(&job, "ftjob-other", EV_DONE, 20);
    assert_int_equal(event_count(l), 0);
    assert_false(has_more(l));
    cJSON_Delete(l);

    gw_job_free(&job);
}


static void *
failing_malloc(size_t size)
{
    if (fail_countdown == 0) {
        return NULL;
    }

    if (fail_countdown > 0) {
        fail_countdown--;
    }

    return malloc(size);
}


/* every cJSON allocation failing in turn: NULL back, nothing leaked */

static void
test_out_of_memory(void **state)
{
    int          n, done;
    cJSON       *j;
    gw_job_t     job;
    cJSON_Hooks  hooks;

    hooks.malloc_fn = failing_malloc;
    hooks.free_fn = free;
    cJSON_InitHooks(&hooks);

    queued_job(&job);
    job.status = GW_STATUS_FAILED;
    job.has_error = 1;
    job.step = 1;
    job.vendor_id2 = gw_strdup("x");
    job.vendor_extra = cJSON_Parse("{\"a\":{\"b\":[1,\"c\"]},\"d\":1}");

    for (done = 0, n = 0; !done; n++) {
        fail_countdown = n;
        j = gw_job_events_json(&job, ID, NULL, 0);
        done = (j != NULL);
        cJSON_Delete(j);
    }

    assert_true(n > 20);

    fail_countdown = -1;
    cJSON_InitHooks(NULL);
    gw_job_free(&job);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_init_free),
        cmocka_unit_test(test_status_name),
        cmocka_unit_test(test_to_json_queued),
        cmocka_unit_test(test_to_json_failed),
        cmocka_unit_test(test_to_json_no_model),
        cmocka_unit_test(test_events_queued),
        cmocka_unit_test(test_events_running),
        cmocka_unit_test(test_events_succeeded),
        cmocka_unit_test(test_events_failed),
        cmocka_unit_test(test_events_cancelled),
        cmocka_unit_test(test_events_pagination),
        cmocka_unit_test(test_out_of_memory),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
