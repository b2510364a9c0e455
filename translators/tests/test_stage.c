
/*
 * gw_stage.c and the vendors' dataset formats: OpenAI chat files
 * converted to CLOVA's CSV and Qianfan's SFT lines (multi-turn, system
 * prompts, Unicode, CSV quoting, what cannot be expressed, the vendors'
 * limits), streamed in steps of any size; the staged records; and a
 * create's staging through the exchange: the signed PUT of the converted
 * file, the create naming the object, a second create staging nothing,
 * and a refused upload creating nothing.
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include <gw.h>
#include <gw_files.h>
#include <core/gw_core.h>
#include <sign/gw_sign.h>

#include <yandex/cloud/ai/dataset/v1/dataset_service.pb-c.h>
#include <yandex/cloud/ai/tuning/v1/tuning_service.pb-c.h>
#include <yandex/cloud/operation/operation.pb-c.h>


static const unsigned char  secret[] = "0123456789abcdef0123456789abcdef";
static const gw_id_key_t    keys[] = {
    { secret, sizeof(secret) - 1 }
};

static char  root[256];

static gw_client_t   clients[1] = {
    { "alice", "ka", 2, { 0 }, 0 },
};

static gw_provider_t  providers[3];
static gw_gateway_t   gw;

#define CT  "multipart/form-data; boundary=XyZ"

#define NOW_MS  1700000000123LL


static int
setup(void **state)
{
    char  tmp[300];

    (void) state;

    strcpy(root, "/tmp/ftgw-unit-stage-XXXXXX");
    assert_non_null(mkdtemp(root));
    snprintf(tmp, sizeof(tmp), "%s/.tmp", root);
    assert_int_equal(mkdir(tmp, 0700), 0);

    memset(providers, 0, sizeof(providers));

    providers[0].name = "clova";
    providers[0].vendor = &gw_vendor_clova;
    providers[0].endpoint = "/_ftgw/clova";
    providers[0].params[0] = (gw_param_t) { "api_key", "nv-api", 1 };
    providers[0].params[1] = (gw_param_t) { "storage_access_key", "AKS", 1 };
    providers[0].params[2] = (gw_param_t) { "storage_secret_key",
                                            "bucket-secret", 1 };
    providers[0].params[3] = (gw_param_t) { "storage_endpoint",
                                            "/_ftgw/clova_storage", 0 };
    providers[0].params[4] = (gw_param_t) { "storage_bucket", "tuning", 0 };
    providers[0].nparams = 5;

    providers[1].name = "qianfan";
    providers[1].vendor = &gw_vendor_qianfan;
    providers[1].endpoint = "/_ftgw/qianfan";
    providers[1].params[0] = (gw_param_t) { "access_key", "QAK", 1 };
    providers[1].params[1] = (gw_param_t) { "secret_key", "qf-secret", 1 };
    providers[1].params[2] = (gw_param_t) { "bos_endpoint", "/_ftgw/bos",
                                            0 };
    providers[1].params[3] = (gw_param_t) { "bos_bucket", "sets", 0 };
    providers[1].nparams = 4;

    providers[2].name = "yandex";
    providers[2].vendor = &gw_vendor_yandex;
    providers[2].endpoint = "/_ftgw/yandex";
    providers[2].params[0] = (gw_param_t) { "api_key", "yx-key", 1 };
    providers[2].params[1] = (gw_param_t) { "folder_id", "b1gfolder", 0 };
    providers[2].params[2] = (gw_param_t) { "upload_endpoint",
                                            "/_ftgw/yandex_upload", 0 };
    providers[2].nparams = 3;

    memset(&gw, 0, sizeof(gw));
    gw.clients = clients;
    gw.nclients = 1;
    gw.providers = providers;
    gw.nproviders = 3;
    gw.id_keys = keys;
    gw.nid_keys = 1;
    gw.files_root = root;

    return 0;
}


static int
teardown(void **state)
{
    char  cmd[300];

    (void) state;

    snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
    assert_int_equal(system(cmd), 0);

    return 0;
}


static void
write_file(const char *path, const char *text)
{
    FILE  *f;

    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}


/* a file's bytes, malloc'd */
static char *
read_file(const char *path)
{
    long   n;
    char  *s;
    FILE  *f;

    f = fopen(path, "r");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_int_equal(fseek(f, 0, SEEK_SET), 0);
    s = malloc(n + 1);
    assert_non_null(s);
    assert_int_equal(fread(s, 1, n, f), (size_t) n);
    s[n] = '\0';
    fclose(f);

    return s;
}


/*
 * Converts text with fmt in steps of budget bytes: the output (malloc'd)
 * or NULL with err.  A budget below the file's size takes several steps.
 */
static char *
convert(const gw_stage_format_t *fmt, const char *text, size_t budget,
    gw_error_t *err)
{
    int            rc, steps;
    char           src[300], dst[300], hex[65], written[65], *out;
    unsigned char  md[32];
    gw_convert_t  *cv;

    snprintf(src, sizeof(src), "%s/src.jsonl", root);
    snprintf(dst, sizeof(dst), "%s/dst", root);
    write_file(src, text);

    cv = gw_convert_open(fmt, src, dst, "training_file", err);
    assert_non_null(cv);

    steps = 0;

    do {
        rc = gw_convert_step(cv, budget, err);
        steps++;
    } while (rc == 1);

    if (rc != 0) {
        gw_convert_close(cv);
        return NULL;
    }

    if (budget < strlen(text) / 2) {
        assert_true(steps > 1);
    }

    out = read_file(dst);

    /* the hash the upload signs is the output's */
    gw_sha256(out, strlen(out), md);
    gw_hex(md, 32, hex);
    gw_convert_sha256(cv, written);
    assert_string_equal(written, hex);
    assert_int_equal(gw_convert_size(cv), strlen(out));

    gw_convert_close(cv);

    return out;
}


#define U(t)   "{\"role\":\"user\",\"content\":\"" t "\"}"
#define A(t)   "{\"role\":\"assistant\",\"content\":\"" t "\"}"
#define S(t)   "{\"role\":\"system\",\"content\":\"" t "\"}"
#define EX(m)  "{\"messages\":[" m "]}\n"


/* n copies of line, after head */
static char *
repeat(const char *head, const char *line, int n)
{
    int     i;
    char   *s;
    size_t  len;

    len = strlen(head) + n * strlen(line) + 8;   /* room for a tail */
    s = malloc(len);
    assert_non_null(s);
    strcpy(s, head);

    for (i = 0; i < n; i++) {
        strcat(s, line);
    }

    return s;
}


static void
test_clova_csv(void **state)
{
    char        *in, *out, *row;
    size_t       budget;
    gw_error_t   err;
    const char  *expect_head;

    (void) state;

    /* a multi-turn conversation with a system prompt, then one to quote */
    in = repeat(EX(S("Be brief.") "," U("Hi") "," A("Hello") "," U("2+2?")
                   "," U("Quick!") "," A("4"))
                EX(U("Say \\\"a, b\\\"\\nthen stop") ","
                   A("\\\"a, b\\\"\\r\\nstop"))
                EX(U("\\u00e9t\\u00e9 \\ud83d\\ude00") "," A("\\u4e2d\\u6587")
                   "," U("trailing, untrained")),
                EX(U("q") "," A("a")), 97);

    expect_head =
        "System_Prompt,C_ID,T_ID,Text,Completion\r\n"
        "Be brief.,0,0,Hi,Hello\r\n"
        "Be brief.,0,1,\"2+2?\nQuick!\",4\r\n"
        ",1,0,\"Say \"\"a, b\"\"\nthen stop\",\"\"\"a, b\"\"\r\nstop\"\r\n"
        ",2,0,\xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80,\xe4\xb8\xad\xe6\x96\x87\r\n"
        ",3,0,q,a\r\n";

    for (budget = 7; budget < 1000000; budget *= 40) {
        out = convert(gw_vendor_clova.stage_format, in, budget, &err);
        assert_non_null(out);

        assert_memory_equal(out, expect_head, strlen(expect_head));

        /* 2 + 1 + 1 + 97 rows, C_ID consecutive to the last */
        row = strstr(out, ",99,0,q,a\r\n");
        assert_non_null(row);
        assert_string_equal(row, ",99,0,q,a\r\n");
        free(out);
    }

    free(in);

    /* CLOVA's minimum: 100 rows */
    in = repeat("", EX(U("q") "," A("a")), 99);
    assert_null(convert(gw_vendor_clova.stage_format, in, 4096, &err));
    assert_int_equal(err.http_status, 400);
    assert_string_equal(err.param, "training_file");
    assert_string_equal(err.code, "invalid_training_file");
    assert_non_null(strstr(err.message, "99 records"));
    assert_non_null(strstr(err.message, "at least 100"));
    free(in);

    /* blank lines are no conversations: C_ID stays consecutive */
    in = repeat("\n  \n", EX(U("q") "," A("a")) "\n", 100);
    out = convert(gw_vendor_clova.stage_format, in, 4096, &err);
    assert_non_null(out);
    assert_non_null(strstr(out, "\r\n,99,0,q,a\r\n"));
    free(out);
    free(in);
}


/* what cannot be expressed is refused, naming the line and the reason */
static void
test_refusals(void **state)
{
    size_t       i;
    char        *in;
    gw_error_t   err;

    static const struct {
        const char  *line;
        const char  *reason;
    } cases[] = {
        { EX(U("q") "," A("")), "empty assistant message" },
        { EX(U("") "," A("a")), "without a user message" },
        { EX(A("a") "," U("q") "," A("a")), "without a user message" },
        { EX(U("q") "," A("a") "," A("b")), "without a user message" },
        { EX(U("q") "," S("late") "," A("a")), "a system message after" },
        { EX(U("q") ",{\"role\":\"assistant\",\"content\":\"a\","
             "\"weight\":0}," U("r") "," A("b")), "\"weight\": 0" },
        { "{\"messages\":[" U("q") "," A("a") "],\"tools\":[]}\n",
          "tool definitions" },
        { EX("{\"role\":\"tool\",\"content\":\"t\"}," U("q") "," A("a")),
          "the role \"tool\"" },
        { "{\"prompt\":\"q\"}\n", "no \"messages\"" },
        { EX(S("s") "," U("q")), "no assistant message" },
    };

    (void) state;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        in = repeat(cases[i].line, EX(U("q") "," A("a")), 120);
        assert_null(convert(gw_vendor_clova.stage_format, in, 100, &err));
        assert_int_equal(err.http_status, 400);
        assert_string_equal(err.param, "training_file");
        assert_string_equal(err.code, "invalid_training_file");

        if (strstr(err.message, "line 1: ") == NULL
            || strstr(err.message, cases[i].reason) == NULL
            || strstr(err.message, "CLOVA Studio") == NULL)
        {
            fail_msg("case %zu: %s", i, err.message);
        }

        free(in);
    }
}


static void
test_qianfan_lines(void **state)
{
    char        *in, *out;
    gw_error_t   err;
    const char  *expect;

    (void) state;

    in = repeat(EX(S("Be brief.") "," U("Hi") "," A("Hello") "," U("2+2?")
                   "," A("4"))
                EX(U("\\\"quoted\\\"\\n\\u00e9") "," A("\\ud83d\\ude00")),
                EX(U("q") "," A("a")), 30);

    expect =
        "[{\"system\":\"Be brief.\",\"prompt\":\"Hi\",\"response\":"
        "[[\"Hello\"]]},{\"prompt\":\"2+2?\",\"response\":[[\"4\"]]}]\n"
        "[{\"prompt\":\"\\\"quoted\\\"\\n\xc3\xa9\",\"response\":"
        "[[\"\xf0\x9f\x98\x80\"]]}]\n"
        "[{\"prompt\":\"q\",\"response\":[[\"a\"]]}]\n";

    out = convert(gw_vendor_qianfan.stage_format, in, 13, &err);
    assert_non_null(out);
    assert_memory_equal(out, expect, strlen(expect));
    free(out);
    free(in);

    /* at most 150 turns a conversation */
    in = repeat("{\"messages\":[", U("q") "," A("a") ",", 150);
    strcpy(in + strlen(in) - 1, "]}\n");
    out = repeat(in, EX(U("q") "," A("a")), 31);
    free(in);
    in = out;
    out = convert(gw_vendor_qianfan.stage_format, in, 4096, &err);
    if (out == NULL) {
        fail_msg("150 turns: %s", err.message);
    }
    free(out);
    free(in);

    in = repeat("{\"messages\":[", U("q") "," A("a") ",", 151);
    strcpy(in + strlen(in) - 1, "]}\n");
    assert_null(convert(gw_vendor_qianfan.stage_format, in, 4096, &err));
    assert_string_equal(err.param, "training_file");
    assert_non_null(strstr(err.message, "at most 150"));
    free(in);
}


static void
test_staged_records(void **state)
{
    char     ref[512], dir[300], path[400];
    int64_t  rows;

    (void) state;

    snprintf(dir, sizeof(dir), "%s/alice", root);
    assert_int_equal(mkdir(dir, 0700), 0);

    assert_int_equal(gw_store_staged_get(root, "alice", "k1", "clova", ref,
                                         sizeof(ref), &rows), -1);
    assert_int_equal(gw_store_staged_put(root, "alice", "k1", "clova",
                                         "s3://b/x.csv", 150), 0);
    assert_int_equal(gw_store_staged_put(root, "alice", "k1", "qianfan",
                                         "bos://b/x.jsonl", 7), 0);
    assert_int_equal(gw_store_staged_get(root, "alice", "k1", "clova", ref,
                                         sizeof(ref), &rows), 0);
    assert_string_equal(ref, "s3://b/x.csv");
    assert_int_equal(rows, 150);
    assert_int_equal(gw_store_staged_get(root, "alice", "k1", "qianfan",
                                         ref, sizeof(ref), &rows), 0);
    assert_string_equal(ref, "bos://b/x.jsonl");
    assert_int_equal(rows, 7);

    /* a torn or foreign record is none */
    snprintf(path, sizeof(path), "%s/k2.staged-clova", dir);
    write_file(path, "s3://b/half 12");
    assert_int_equal(gw_store_staged_get(root, "alice", "k2", "clova", ref,
                                         sizeof(ref), &rows), -1);
    write_file(path, "s3://b/x\n");
    assert_int_equal(gw_store_staged_get(root, "alice", "k2", "clova", ref,
                                         sizeof(ref), &rows), -1);
    write_file(path, "s3://b/x -1\n");
    assert_int_equal(gw_store_staged_get(root, "alice", "k2", "clova", ref,
                                         sizeof(ref), &rows), -1);

    gw_store_staged_remove(root, "alice", "k1");
    assert_int_equal(gw_store_staged_get(root, "alice", "k1", "clova", ref,
                                         sizeof(ref), &rows), -1);
    assert_int_equal(gw_store_staged_get(root, "alice", "k1", "qianfan",
                                         ref, sizeof(ref), &rows), -1);
    assert_int_equal(access(path, F_OK), 0);
}


/* ---- through the exchange ------------------------------------------ */


/* uploads text as alice's file; its id */
static void
upload(const char *text, gw_file_t *f)
{
    char            *body;
    gw_error_t       err;
    gw_upload_t     *up;
    gw_request_t     req;
    gw_files_req_t   fr;

    memset(&req, 0, sizeof(req));
    req.method = "POST";
    req.method_len = 4;
    req.path = "/v1/files";
    req.path_len = 9;
    req.authorization = "Bearer ka";
    req.authorization_len = 9;
    req.generated_request_id = "rid";
    req.now_ms = NOW_MS;
    assert_int_equal(gw_files_route(&gw, &req, &fr), GW_FILES_UPLOAD);

    body = malloc(strlen(text) + 300);
    assert_non_null(body);
    sprintf(body, "--XyZ\r\nContent-Disposition: form-data; "
            "name=\"purpose\"\r\n\r\nfine-tune\r\n--XyZ\r\n"
            "Content-Disposition: form-data; name=\"file\"; "
            "filename=\"t.jsonl\"\r\n\r\n%s\r\n--XyZ--\r\n", text);

    up = gw_upload_open(&gw, &fr, CT, strlen(CT), 1 << 30, NOW_MS, &err);
    assert_non_null(up);
    assert_int_equal(gw_upload_feed(up, body, strlen(body)), 0);
    assert_int_equal(gw_upload_finish(up, f), 0);
    gw_upload_abort(up);
    free(body);

    assert_int_equal(f->status, GW_FILE_PROCESSED);
}


static gw_exchange_t *
create(const char *body)
{
    gw_request_t    req;
    gw_exchange_t  *ex;

    memset(&req, 0, sizeof(req));
    req.method = "POST";
    req.method_len = 4;
    req.path = "/v1/fine_tuning/jobs";
    req.path_len = strlen(req.path);
    req.authorization = "Bearer ka";
    req.authorization_len = 9;
    req.generated_request_id = "rid";
    req.now_ms = NOW_MS;

    ex = gw_exchange_create(&gw, &req);
    assert_non_null(ex);
    assert_true(gw_exchange_needs_body(ex));
    gw_exchange_set_body(ex, body, strlen(body));

    return ex;
}


/* steps ex past its conversion steps: the next call, or NULL when done */
static gw_call_t *
next_call(gw_exchange_t *ex, int *again)
{
    gw_next_t   rc;
    gw_call_t  *call;

    *again = 0;

    while ((rc = gw_exchange_next(ex, &call)) == GW_NEXT_AGAIN) {
        assert_null(call);
        (*again)++;
    }

    return rc == GW_NEXT_CALL ? call : NULL;
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
feed(gw_exchange_t *ex, int status, const char *body)
{
    gw_vendor_response_t  resp;

    memset(&resp, 0, sizeof(resp));
    resp.transport = GW_TRANSPORT_OK;
    resp.status = status;
    resp.body = body;
    resp.body_len = strlen(body);
    resp.grpc_status = -1;
    gw_exchange_feed(ex, &resp);
}


static void
test_clova_create_stages_once(void **state)
{
    int                  again;
    char                *text, *staged, body[256], path[200], sha[65];
    char                 auth[512], size[24];
    const char          *expect;
    gw_file_t            f;
    gw_call_t           *call;
    unsigned char        md[32];
    gw_exchange_t       *ex;
    gw_aws_header_t      h[4];
    const gw_result_t   *res;

    (void) state;

    text = repeat("", EX(U("q, \\\"quoted\\\"") "," A("a")), 150);
    upload(text, &f);

    snprintf(body, sizeof(body), "{\"model\":\"clova/HCX-003\","
             "\"training_file\":\"%s\"}", f.id);

    /* a small file converts in one step */
    ex = create(body);
    call = next_call(ex, &again);
    assert_non_null(call);
    assert_int_equal(again, 0);

    /* the converted file, signed and put into the bucket */
    assert_string_equal(call->method, "PUT");
    assert_string_equal(call->endpoint, "/_ftgw/clova_storage");
    snprintf(path, sizeof(path), "/tuning/ftgw-files/alice-%s.csv", f.key);
    assert_string_equal(call->path, path);
    assert_null(call->body);
    assert_non_null(call->body_file);

    staged = read_file(call->body_file);
    assert_int_equal(call->body_len, strlen(staged));
    expect = "System_Prompt,C_ID,T_ID,Text,Completion\r\n"
             ",0,0,\"q, \"\"quoted\"\"\",a\r\n";
    assert_memory_equal(staged, expect, strlen(expect));
    gw_sha256(staged, strlen(staged), md);
    gw_hex(md, 32, sha);
    assert_string_equal(header(call, "X-Amz-Content-SHA256"), sha);
    assert_string_equal(header(call, "X-Amz-Date"), "20231114T221320Z");
    assert_string_equal(header(call, "Content-Type"),
                        "text/csv; charset=utf-8");

    /* the signature over what is sent, with the storage keys */
    snprintf(size, sizeof(size), "%zu", strlen(staged));
    h[0] = (gw_aws_header_t) { "host", "kr.object.ncloudstorage.com" };
    h[1] = (gw_aws_header_t) { "x-amz-content-sha256", sha };
    h[2] = (gw_aws_header_t) { "x-amz-date", "20231114T221320Z" };
    h[3] = (gw_aws_header_t) { "content-length", size };
    assert_int_equal(gw_sign_aws_v4("PUT", path, "", h, 4, sha, "AKS",
                                    "bucket-secret", "kr-standard", "s3",
                                    "20231114T221320Z", 1, auth,
                                    sizeof(auth)), GW_OK);
    assert_string_equal(header(call, "Authorization"), auth);
    assert_non_null(strstr(auth, "Credential=AKS/20231114/kr-standard/s3/"
                            "aws4_request"));
    free(staged);

    snprintf(path, sizeof(path), "%s", call->body_file);
    feed(ex, 200, "");

    /* the task names the object; the converted copy is gone */
    call = next_call(ex, &again);
    assert_non_null(call);
    assert_int_equal(again, 0);
    assert_string_equal(call->path, "/tuning/v2/tasks");
    assert_int_equal(access(path, F_OK), -1);
    snprintf(path, sizeof(path), "\"trainingDatasetFilePath\":"
             "\"ftgw-files/alice-%s.csv\"", f.key);
    assert_non_null(strstr(call->body, path));
    assert_non_null(strstr(call->body, "\"trainingDatasetBucket\":"
                           "\"tuning\""));
    gw_exchange_free(ex);

    /* a second create on the file stages nothing */
    ex = create(body);
    call = next_call(ex, &again);
    assert_non_null(call);
    assert_int_equal(again, 0);
    assert_string_equal(call->path, "/tuning/v2/tasks");
    assert_non_null(strstr(call->body, path));
    gw_exchange_free(ex);

    /* deleting the file forgets it */
    assert_int_equal(gw_store_delete(root, "alice", f.key), 0);
    ex = create(body);
    assert_null(next_call(ex, &again));
    res = gw_exchange_result(ex);
    assert_int_equal(res->http_status, 400);
    assert_non_null(strstr(res->body, "file_not_found"));
    gw_exchange_free(ex);

    free(text);
}


static void
test_refused_upload_creates_nothing(void **state)
{
    int                  again, i;
    char                *text, *big, body[256], tmp[400];
    gw_file_t            f;
    gw_call_t           *call;
    gw_exchange_t       *ex;
    const gw_result_t   *res;

    (void) state;

    text = repeat("", EX(U("q") "," A("a")), 120);
    upload(text, &f);
    snprintf(body, sizeof(body), "{\"model\":\"clova/HCX-003\","
             "\"training_file\":\"%s\"}", f.id);

    /* the bucket refuses the signature: 502, no task */
    ex = create(body);
    call = next_call(ex, &again);
    assert_non_null(call);
    assert_string_equal(call->method, "PUT");
    snprintf(tmp, sizeof(tmp), "%s", call->body_file);
    feed(ex, 403, "<?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch"
         "</Code><Message>bucket-secret</Message></Error>");
    assert_null(next_call(ex, &again));
    res = gw_exchange_result(ex);
    assert_int_equal(res->http_status, 502);
    assert_non_null(strstr(res->body, "\"dataset_upload_failed\""));
    assert_non_null(strstr(res->body, "HTTP 403 SignatureDoesNotMatch"));
    assert_null(strstr(res->body, "bucket-secret"));
    assert_int_equal(access(tmp, F_OK), -1);
    gw_exchange_free(ex);

    /* a 503 of the storage is the vendor's: retry later */
    ex = create(body);
    call = next_call(ex, &again);
    assert_non_null(call);
    feed(ex, 503, "<Error><Code>SlowDown</Code></Error>");
    assert_null(next_call(ex, &again));
    res = gw_exchange_result(ex);
    assert_int_equal(res->http_status, 503);
    assert_non_null(strstr(res->body, "\"vendor_unavailable\""));
    gw_exchange_free(ex);

    free(text);

    /* a 2 MB file takes steps; freed mid-way, it leaves no copy behind */
    big = malloc(8200);
    assert_non_null(big);
    memset(big, 'x', 8000);
    strcpy(big + 8000, "\"}," A("a") "]}\n");
    text = repeat("", "{\"messages\":[{\"role\":\"user\",\"content\":\"",
                  1);
    free(text);
    text = malloc(260 * 8300);
    assert_non_null(text);
    text[0] = '\0';
    for (i = 0; i < 260; i++) {
        strcat(text, "{\"messages\":[{\"role\":\"user\",\"content\":\"");
        strcat(text, big);
    }
    free(big);
    upload(text, &f);
    free(text);
    snprintf(body, sizeof(body), "{\"model\":\"clova/HCX-003\","
             "\"training_file\":\"%s\"}", f.id);

    ex = create(body);
    call = next_call(ex, &again);
    if (call == NULL) {
        fail_msg("%s", gw_exchange_result(ex)->body);
    }
    assert_true(again >= 3);
    gw_exchange_free(ex);

    ex = create(body);
    assert_int_equal(gw_exchange_next(ex, &call), GW_NEXT_AGAIN);
    gw_exchange_free(ex);
    snprintf(tmp, sizeof(tmp), "ls %s/.tmp | grep -q stage-", root);
    assert_int_not_equal(system(tmp), 0);
}


/* Qianfan: its minimum refused before any call, in its own words */
static void
test_qianfan_minimum_and_bos(void **state)
{
    int                  again;
    char                *text, body[256], path[200], sha[65], auth[512];
    char                 size[24], *staged;
    gw_file_t            f;
    gw_call_t           *call;
    unsigned char        md[32];
    gw_exchange_t       *ex;
    gw_bce_header_t      h[5];
    const gw_result_t   *res;

    (void) state;

    text = repeat("", EX(U("q") "," A("a")), 31);
    upload(text, &f);
    free(text);

    snprintf(body, sizeof(body), "{\"model\":\"qianfan/Llama-2-7b\","
             "\"training_file\":\"%s\"}", f.id);
    ex = create(body);
    assert_null(next_call(ex, &again));
    assert_int_equal(again, 0);
    res = gw_exchange_result(ex);
    assert_int_equal(res->http_status, 400);
    assert_non_null(strstr(res->body, "\"param\":\"training_file\""));
    assert_non_null(strstr(res->body, "31 examples"));
    assert_non_null(strstr(res->body, "510101"));
    gw_exchange_free(ex);

    text = repeat("", EX(S("sys") "," U("q") "," A("a")), 32);
    upload(text, &f);
    free(text);

    snprintf(body, sizeof(body), "{\"model\":\"qianfan/Llama-2-7b\","
             "\"training_file\":\"%s\"}", f.id);
    ex = create(body);
    call = next_call(ex, &again);
    assert_non_null(call);
    assert_string_equal(call->method, "PUT");
    assert_string_equal(call->endpoint, "/_ftgw/bos");
    snprintf(path, sizeof(path), "/sets/ftgw-files/alice-%s.jsonl", f.key);
    assert_string_equal(call->path, path);

    staged = read_file(call->body_file);
    gw_sha256(staged, strlen(staged), md);
    gw_hex(md, 32, sha);
    assert_string_equal(header(call, "x-bce-content-sha256"), sha);
    snprintf(size, sizeof(size), "%zu", strlen(staged));
    h[0] = (gw_bce_header_t) { "Host", "bj.bcebos.com" };
    h[1] = (gw_bce_header_t) { "Content-Length", size };
    h[2] = (gw_bce_header_t) { "Content-Type", "application/json" };
    h[3] = (gw_bce_header_t) { "x-bce-date", "2023-11-14T22:13:20Z" };
    h[4] = (gw_bce_header_t) { "x-bce-content-sha256", sha };
    assert_int_equal(gw_sign_bce_v1("PUT", path, NULL, h, 5, "QAK",
                                    "qf-secret", "2023-11-14T22:13:20Z",
                                    300, auth, sizeof(auth)), GW_OK);
    assert_string_equal(header(call, "Authorization"), auth);
    free(staged);

    feed(ex, 200, "");

    /* the job's trainset names the object, BOS's way */
    call = next_call(ex, &again);
    assert_non_null(call);
    assert_non_null(strstr(call->path, "createTask"));
    gw_exchange_free(ex);

    ex = create(body);
    call = next_call(ex, &again);
    assert_non_null(call);
    assert_non_null(strstr(call->path, "createTask"));
    gw_exchange_free(ex);
}


/* Yandex: every trained reply a line, what came before it the request */
static void
test_yandex_lines(void **state)
{
    char        *in, *out;
    gw_error_t   err;
    const char  *expect;

    (void) state;

    in = strdup(EX(S("Be brief.") "," U("Hi") ","
                   "{\"role\":\"assistant\",\"content\":\"Hey\","
                   "\"weight\":0}," U("2+2?") "," U("\u00e9") "," A("4")
                   "," U("untrained tail")));
    assert_non_null(in);

    expect =
        "{\"request\":[{\"role\":\"system\",\"text\":\"Be brief.\"},"
        "{\"role\":\"user\",\"text\":\"Hi\"},"
        "{\"role\":\"assistant\",\"text\":\"Hey\"},"
        "{\"role\":\"user\",\"text\":\"2+2?\"},"
        "{\"role\":\"user\",\"text\":\"\xc3\xa9\"}],"
        "\"response\":\"4\"}\n";

    out = convert(gw_vendor_yandex.stage_format, in, 4096, &err);
    assert_non_null(out);
    assert_string_equal(out, expect);
    free(out);
    free(in);

    /* two trained replies, two lines */
    in = strdup(EX(U("a") "," A("b") "," U("c") "," A("d")));
    out = convert(gw_vendor_yandex.stage_format, in, 4096, &err);
    assert_non_null(out);
    assert_string_equal(out,
        "{\"request\":[{\"role\":\"user\",\"text\":\"a\"}],"
        "\"response\":\"b\"}\n"
        "{\"request\":[{\"role\":\"user\",\"text\":\"a\"},"
        "{\"role\":\"assistant\",\"text\":\"b\"},"
        "{\"role\":\"user\",\"text\":\"c\"}],\"response\":\"d\"}\n");
    free(out);
    free(in);

    /* two system messages first: one, joined (found by fuzz_stage) */
    in = strdup(EX(S("Be brief.") "," S("Use French.") "," U("Hi") ","
                   A("Salut")));
    out = convert(gw_vendor_yandex.stage_format, in, 4096, &err);
    assert_non_null(out);
    assert_string_equal(out,
        "{\"request\":[{\"role\":\"system\","
        "\"text\":\"Be brief.\\nUse French.\"},"
        "{\"role\":\"user\",\"text\":\"Hi\"}],\"response\":\"Salut\"}\n");
    free(out);
    free(in);
}


/* a framed gRPC answer; it lives until the next one, as nginx keeps it */
static void
feed_message(gw_exchange_t *ex, const ProtobufCMessage *m)
{
    size_t                 n;
    static uint8_t        *buf;
    gw_vendor_response_t   resp;

    free(buf);
    n = protobuf_c_message_get_packed_size(m);
    buf = malloc(n + 5);
    assert_non_null(buf);
    buf[0] = 0;
    buf[1] = (uint8_t) (n >> 24);
    buf[2] = (uint8_t) (n >> 16);
    buf[3] = (uint8_t) (n >> 8);
    buf[4] = (uint8_t) n;
    protobuf_c_message_pack(m, buf + 5);

    memset(&resp, 0, sizeof(resp));
    resp.transport = GW_TRANSPORT_OK;
    resp.status = 200;
    resp.body = (const char *) buf;
    resp.body_len = n + 5;
    resp.grpc_status = 0;
    gw_exchange_feed(ex, &resp);
}


#define YX_LINE  "{\"request\":[{\"role\":\"user\",\"text\":\"q\"}]," \
                 "\"response\":\"a\"}\n"
#define YDS(name)   Yandex__Cloud__Ai__Dataset__V1__##name
#define yds(name)   yandex__cloud__ai__dataset__v1__##name


static void
feed_dataset(gw_exchange_t *ex, int status)
{
    YDS(DatasetInfo)              info;
    YDS(ValidationError)          e, *errors[1];
    YDS(DescribeDatasetResponse)  d;
    int64_t                       rows[1] = { 7 };

    yds(dataset_info__init)(&info);
    yds(validation_error__init)(&e);
    yds(describe_dataset_response__init)(&d);
    info.dataset_id = "fdsstaged";
    info.status = status;

    if (status == 4) {
        e.error = "bad row";
        e.error_description = "response is empty (yx-key)";
        e.n_row_numbers = 1;
        e.row_numbers = rows;
        errors[0] = &e;
        info.n_validation_error = 1;
        info.validation_error = errors;
    }

    d.dataset = &info;
    feed_message(ex, &d.base);
}


static gw_call_t *
expect_grpc(gw_exchange_t *ex, const char *method)
{
    int         again;
    char        path[128];
    gw_call_t  *call;

    call = next_call(ex, &again);
    if (call == NULL) {
        fail_msg("no call: %s", gw_exchange_result(ex)->body);
    }

    snprintf(path, sizeof(path), "/yandex.cloud.ai.dataset.v1."
             "DatasetService/%s", method);
    assert_string_equal(call->path, path);
    assert_string_equal(header(call, "Authorization"), "Api-Key yx-key");

    return call;
}


/*
 * Yandex's Dataset API, as its SDK uses it: a draft, its upload URL, the
 * PUT there, Validate, Describe polled until READY; then Tune on it
 */
static void
test_yandex_dataset_api(void **state)
{
    int                             again;
    char                           *text, body[256], name[80];
    gw_file_t                       f;
    gw_call_t                      *call;
    gw_exchange_t                  *ex;
    const gw_result_t              *res;
    YDS(CreateDatasetRequest)      *asked;
    YDS(CreateDatasetResponse)      created;
    YDS(GetUploadDraftUrlRequest)  *urlreq;
    YDS(GetUploadDraftUrlResponse)  url;
    Yandex__Cloud__Operation__Operation  op;
    Yandex__Cloud__Ai__Tuning__V1__TuningRequest  *tune;

    (void) state;

    text = repeat("", EX(U("q") "," A("a")), 12);
    upload(text, &f);
    free(text);
    snprintf(body, sizeof(body), "{\"model\":\"yandex/yandexgpt-lite\","
             "\"training_file\":\"%s\",\"tuning\":{\"tuning_type\":"
             "\"lora\"}}", f.id);

    ex = create(body);
    call = expect_grpc(ex, "Create");
    asked = yds(create_dataset_request__unpack)(NULL, call->body_len - 5,
                (const uint8_t *) call->body + 5);
    assert_non_null(asked);
    snprintf(name, sizeof(name), "alice-%s", f.key);
    assert_string_equal(asked->name, name);
    assert_string_equal(asked->folder_id, "b1gfolder");
    assert_string_equal(asked->task_type, "TextToTextGeneration");
    assert_string_equal(asked->upload_format, "jsonlines");
    assert_int_equal(asked->n_labels, 1);
    assert_string_equal(asked->labels[0]->key, "ftgw-owner");
    assert_string_equal(asked->labels[0]->value, "alice");
    yds(create_dataset_request__free_unpacked)(asked, NULL);

    yds(create_dataset_response__init)(&created);
    created.dataset_id = "fdsstaged";
    feed_message(ex, &created.base);

    call = expect_grpc(ex, "GetUploadDraftUrl");
    urlreq = yds(get_upload_draft_url_request__unpack)(NULL,
                 call->body_len - 5, (const uint8_t *) call->body + 5);
    assert_non_null(urlreq);
    assert_string_equal(urlreq->dataset_id, "fdsstaged");
    assert_int_equal(urlreq->size_bytes, 12 * strlen(YX_LINE));
    yds(get_upload_draft_url_request__free_unpacked)(urlreq, NULL);

    yds(get_upload_draft_url_response__init)(&url);
    url.dataset_id = "fdsstaged";
    url.upload_url = "https://storage.yandexcloud.net/ai-data/fdsstaged/"
                     "x.jsonl?X-Amz-Algorithm=AWS4-HMAC-SHA256&"
                     "X-Amz-Signature=abc";
    feed_message(ex, &url.base);

    /* the presigned URL: its path and query, as they are, no key */
    call = next_call(ex, &again);
    assert_non_null(call);
    assert_string_equal(call->method, "PUT");
    assert_string_equal(call->endpoint, "/_ftgw/yandex_upload");
    assert_string_equal(call->path, "/ai-data/fdsstaged/x.jsonl");
    assert_string_equal(call->query,
                        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=abc");
    assert_null(header(call, "Authorization"));
    assert_int_equal(call->body_len, 12 * strlen(YX_LINE));
    text = read_file(call->body_file);
    assert_memory_equal(text, YX_LINE, strlen(YX_LINE));
    free(text);
    feed(ex, 200, "");

    call = expect_grpc(ex, "Validate");
    yandex__cloud__operation__operation__init(&op);
    op.id = "opvalidate";
    op.done = 1;
    feed_message(ex, &op.base);

    /* described at once, then polled a second apart until READY */
    call = expect_grpc(ex, "Describe");
    assert_int_equal(call->delay_ms, 0);
    feed_dataset(ex, 2);
    call = expect_grpc(ex, "Describe");
    assert_int_equal(call->delay_ms, 1000);
    feed_dataset(ex, 3);

    call = next_call(ex, &again);
    assert_non_null(call);
    assert_string_equal(call->path,
                        "/yandex.cloud.ai.tuning.v1.TuningService/Tune");
    assert_int_equal(call->delay_ms, 0);
    gw_exchange_free(ex);

    /* the next create on the file tunes at once; n_epochs is samples */
    snprintf(body, sizeof(body), "{\"model\":\"yandex/yandexgpt-lite\","
             "\"training_file\":\"%s\",\"tuning\":{\"tuning_type\":"
             "\"lora\"},\"hyperparameters\":{\"n_epochs\":3}}", f.id);
    ex = create(body);
    call = next_call(ex, &again);
    assert_non_null(call);
    assert_string_equal(call->path,
                        "/yandex.cloud.ai.tuning.v1.TuningService/Tune");
    tune = yandex__cloud__ai__tuning__v1__tuning_request__unpack(NULL,
               call->body_len - 5, (const uint8_t *) call->body + 5);
    assert_non_null(tune);
    assert_non_null(tune->text_to_text_completion);
    assert_int_equal(tune->text_to_text_completion->n_samples, 3 * 12);
    yandex__cloud__ai__tuning__v1__tuning_request__free_unpacked(tune, NULL);
    gw_exchange_free(ex);

    /* epochs of a dataset whose rows the gateway does not know */
    ex = create("{\"model\":\"yandex/yandexgpt-lite\",\"training_file\":"
                "\"yandex://dataset/fds1\",\"tuning\":{\"tuning_type\":"
                "\"lora\"},\"hyperparameters\":{\"n_epochs\":3}}");
    assert_null(next_call(ex, &again));
    res = gw_exchange_result(ex);
    assert_int_equal(res->http_status, 400);
    assert_non_null(strstr(res->body, "\"param\":\"hyperparameters."
                           "n_epochs\""));
    assert_non_null(strstr(res->body, "tuning.n_samples"));
    gw_exchange_free(ex);

    /* an invalid dataset: the draft is deleted, the client told why */
    gw_store_staged_remove(root, "alice", f.key);
    ex = create(body);
    expect_grpc(ex, "Create");
    feed_message(ex, &created.base);
    expect_grpc(ex, "GetUploadDraftUrl");
    feed_message(ex, &url.base);
    assert_non_null(next_call(ex, &again));
    feed(ex, 200, "");
    expect_grpc(ex, "Validate");
    feed_message(ex, &op.base);
    expect_grpc(ex, "Describe");
    feed_dataset(ex, 4);
    expect_grpc(ex, "Delete");
    feed(ex, 200, "");
    assert_null(next_call(ex, &again));
    res = gw_exchange_result(ex);
    assert_int_equal(res->http_status, 400);
    assert_non_null(strstr(res->body, "\"param\":\"training_file\""));
    assert_non_null(strstr(res->body, "at row 7: response is empty"));
    assert_null(strstr(res->body, "yx-key"));
    gw_exchange_free(ex);

    /* the upload refused: the draft is deleted too */
    ex = create(body);
    expect_grpc(ex, "Create");
    feed_message(ex, &created.base);
    expect_grpc(ex, "GetUploadDraftUrl");
    feed_message(ex, &url.base);
    assert_non_null(next_call(ex, &again));
    feed(ex, 403, "<Error><Code>AccessDenied</Code></Error>");
    expect_grpc(ex, "Delete");
    feed(ex, 200, "");
    assert_null(next_call(ex, &again));
    res = gw_exchange_result(ex);
    assert_int_equal(res->http_status, 502);
    assert_non_null(strstr(res->body, "dataset_upload_failed"));
    gw_exchange_free(ex);

    /* an upload URL off its host is not followed */
    ex = create(body);
    expect_grpc(ex, "Create");
    feed_message(ex, &created.base);
    expect_grpc(ex, "GetUploadDraftUrl");
    url.upload_url = "https://evil.example/x?y";
    feed_message(ex, &url.base);
    expect_grpc(ex, "Delete");
    feed(ex, 200, "");
    assert_null(next_call(ex, &again));
    res = gw_exchange_result(ex);
    assert_int_equal(res->http_status, 502);
    assert_non_null(strstr(res->body, "invalid_vendor_response"));
    gw_exchange_free(ex);
}


/* DELETE /v1/files/{id}: the vendors' copies are deleted too */
static void
test_delete_unstages(void **state)
{
    int                  again, mine;
    char                *text, path[300], want[300], auth[512], ref[512];
    int64_t              rows;
    gw_file_t            f, g;
    gw_call_t           *call;
    gw_request_t         req;
    gw_exchange_t       *ex;
    gw_aws_header_t      h[4];
    const gw_result_t   *res;

    (void) state;

    text = repeat("", EX(U("q") "," A("a")), 40);
    upload(text, &f);
    free(text);

    snprintf(ref, sizeof(ref), "s3://tuning/ftgw-files/alice-%s.csv", f.key);
    assert_int_equal(gw_store_staged_put(root, "alice", f.key, "clova", ref,
                                         40), 0);
    assert_int_equal(gw_store_staged_put(root, "alice", f.key, "qianfan",
                                         "bos://sets/x.jsonl", 40), 0);
    assert_int_equal(gw_store_staged_put(root, "alice", f.key, "yandex",
                                         "yandex://dataset/fdsgone", 40), 0);

    snprintf(path, sizeof(path), "/v1/files/%s", f.id);
    memset(&req, 0, sizeof(req));
    req.method = "DELETE";
    req.method_len = 6;
    req.path = path;
    req.path_len = strlen(path);
    req.authorization = "Bearer ka";
    req.authorization_len = 9;
    req.generated_request_id = "rid";
    req.now_ms = NOW_MS;

    /* a GET is the Files API's own */
    req.method = "GET";
    req.method_len = 3;
    assert_null(gw_exchange_unstage_create(&gw, &req, &mine));
    assert_int_equal(mine, 0);
    req.method = "DELETE";
    req.method_len = 6;

    ex = gw_exchange_unstage_create(&gw, &req, &mine);
    assert_int_equal(mine, 1);
    assert_non_null(ex);

    /* gone from the store at once, its records too */
    assert_int_equal(gw_store_get(root, "alice", f.key, &g), -1);
    assert_int_equal(gw_store_staged_get(root, "alice", f.key, "clova", ref,
                                         sizeof(ref), &rows), -1);

    /* CLOVA's object: a signed DELETE, no body */
    call = next_call(ex, &again);
    assert_non_null(call);
    assert_string_equal(call->method, "DELETE");
    assert_string_equal(call->endpoint, "/_ftgw/clova_storage");
    snprintf(want, sizeof(want), "/tuning/ftgw-files/alice-%s.csv", f.key);
    assert_string_equal(call->path, want);
    assert_null(call->body);
    assert_null(call->body_file);
    h[0] = (gw_aws_header_t) { "host", "kr.object.ncloudstorage.com" };
    h[1] = (gw_aws_header_t) { "x-amz-content-sha256", GW_SHA256_EMPTY };
    h[2] = (gw_aws_header_t) { "x-amz-date", "20231114T221320Z" };
    assert_int_equal(gw_sign_aws_v4("DELETE", want, "", h, 3,
                                    GW_SHA256_EMPTY, "AKS", "bucket-secret",
                                    "kr-standard", "s3", "20231114T221320Z",
                                    1, auth, sizeof(auth)), GW_OK);
    assert_string_equal(header(call, "Authorization"), auth);
    feed(ex, 204, "");

    /* BOS refuses: the deletion still stands, and says so */
    call = next_call(ex, &again);
    assert_non_null(call);
    assert_string_equal(call->method, "DELETE");
    assert_string_equal(call->path, "/sets/x.jsonl");
    feed(ex, 403, "{\"code\":\"AccessDenied\",\"message\":\"qf-secret\"}");

    /* Yandex's dataset: already gone is gone */
    call = next_call(ex, &again);
    assert_non_null(call);
    assert_string_equal(call->path,
                        "/yandex.cloud.ai.dataset.v1.DatasetService/Delete");
    {
        gw_vendor_response_t  r;

        memset(&r, 0, sizeof(r));
        r.transport = GW_TRANSPORT_OK;
        r.status = 200;
        r.grpc_status = 5;
        gw_exchange_feed(ex, &r);
    }

    assert_null(next_call(ex, &again));
    res = gw_exchange_result(ex);
    assert_int_equal(res->http_status, 200);
    snprintf(want, sizeof(want), "{\"id\":\"%s\",\"object\":\"file\","
             "\"deleted\":true,\"vendor\":{\"staged\":[{\"provider\":"
             "\"clova\",\"deleted\":true},{\"provider\":\"qianfan\","
             "\"deleted\":false,", f.id);
    assert_memory_equal(res->body, want, strlen(want));
    assert_non_null(strstr(res->body, "HTTP 403 AccessDenied"));
    assert_non_null(strstr(res->body, "{\"provider\":\"yandex\","
                           "\"deleted\":true}"));
    assert_null(strstr(res->body, "qf-secret"));
    gw_exchange_free(ex);

    /* a file staged nowhere is the Files API's own */
    text = repeat("", EX(U("q") "," A("a")), 10);
    upload(text, &f);
    free(text);
    snprintf(path, sizeof(path), "/v1/files/%s", f.id);
    req.path = path;
    req.path_len = strlen(path);
    assert_null(gw_exchange_unstage_create(&gw, &req, &mine));
    assert_int_equal(mine, 0);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test_setup_teardown(test_clova_csv, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_qianfan_lines, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_staged_records, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_clova_create_stages_once,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_upload_creates_nothing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_qianfan_minimum_and_bos, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_yandex_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_yandex_dataset_api, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_delete_unstages, setup,
                                        teardown),
    };

    gw_mem_init();

    return cmocka_run_group_tests(tests, NULL, NULL);
}
