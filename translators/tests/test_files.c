
/*
 * gw_files.c: file ids (round trip, tampering, another client), uploads
 * into a store in a temp folder (fed in 1-byte and larger chunks; every
 * failure leaves nothing behind), the FileObject, lists, deletes, and the
 * resolution of "file-..." references for a job create.
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include <gw_files.h>
#include <core/gw_core.h>


static const unsigned char  secret[] = "0123456789abcdef0123456789abcdef";
static const gw_id_key_t    keys[] = {
    { secret, sizeof(secret) - 1 }
};

static char  root[256];

static gw_client_t   clients[2] = {
    { "alice", "ka", 2, { 0 }, 0 },
    { "bob", "kb", 2, { 0 }, 0 },
};

static gw_gateway_t  gw;


#define CT  "multipart/form-data; boundary=XyZ"
#define LINE "{\"messages\":[{\"role\":\"user\",\"content\":\"q\"}," \
             "{\"role\":\"assistant\",\"content\":\"a\"}]}\n"
#define TEN  LINE LINE LINE LINE LINE LINE LINE LINE LINE LINE


static int
setup(void **state)
{
    (void) state;

    strcpy(root, "/tmp/ftgw-unit-files-XXXXXX");
    assert_non_null(mkdtemp(root));

    memset(&gw, 0, sizeof(gw));
    gw.clients = clients;
    gw.nclients = 2;
    gw.id_keys = keys;
    gw.nid_keys = 1;
    gw.files_root = root;

    return 0;
}


static int
teardown_dir(void **state)
{
    char  cmd[300];

    (void) state;

    snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
    assert_int_equal(system(cmd), 0);

    return 0;
}


/* the regular files under root, "" when none */
static void
tree(char *out, size_t size)
{
    FILE   *f;
    char    cmd[300];
    size_t  n;

    snprintf(cmd, sizeof(cmd), "cd %s && find . -type f | sort", root);
    f = popen(cmd, "r");
    assert_non_null(f);
    n = fread(out, 1, size - 1, f);
    out[n] = '\0';
    pclose(f);
}


static gw_files_op_t
route(const char *method, const char *path, const char *query,
    const char *auth, gw_files_req_t *fr)
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
    req.generated_request_id = "rid";
    req.now_ms = 1700000000123;

    return gw_files_route(&gw, &req, fr);
}


/* uploads body (in chunks of step) as alice; 0 or -1 with err */
static int
do_upload(const char *body, size_t len, size_t step, gw_file_t *f,
    gw_error_t *err)
{
    size_t           i, n;
    gw_upload_t     *up;
    gw_files_req_t   fr;

    assert_int_equal(route("POST", "/v1/files", NULL, "Bearer ka", &fr),
                     GW_FILES_UPLOAD);

    up = gw_upload_open(&gw, &fr, CT, strlen(CT), 4096, 1700000000123,
                        err);
    if (up == NULL) {
        return -1;
    }

    for (i = 0; i < len; i += n) {
        n = (len - i < step) ? len - i : step;

        if (gw_upload_feed(up, body + i, n) != 0) {
            *err = *gw_upload_error(up);
            gw_upload_abort(up);
            return -1;
        }
    }

    if (gw_upload_finish(up, f) != 0) {
        *err = *gw_upload_error(up);
        gw_upload_abort(up);
        return -1;
    }

    gw_upload_abort(up);
    return 0;
}


static const char  good[] =
    "--XyZ\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\n"
    "fine-tune\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; "
    "filename=\"t.jsonl\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    TEN "\r\n--XyZ--\r\n";


static void
test_ids(void **state)
{
    char           id[GW_FILE_ID_MAX], key[33], bad[GW_FILE_ID_MAX];
    size_t         i;
    unsigned char  k[GW_FILE_KEY_LEN];

    (void) state;

    for (i = 0; i < sizeof(k); i++) {
        k[i] = (unsigned char) (i * 17);
    }

    assert_int_equal(gw_file_id_encode("alice", secret, 32, k, id,
                                       sizeof(id)), GW_OK);
    assert_int_equal(strlen(id), 48);
    assert_memory_equal(id, "file-", 5);

    assert_int_equal(gw_file_id_decode(id, strlen(id), "alice", secret, 32,
                                       key), GW_OK);
    assert_string_equal(key, "00112233445566778899aabbccddeeff");

    /* another client, another secret */
    assert_int_equal(gw_file_id_decode(id, strlen(id), "bob", secret, 32,
                                       key), GW_ERROR);
    assert_int_equal(gw_file_id_decode(id, strlen(id), "alice",
                                       (const unsigned char *) "x", 1, key),
                     GW_ERROR);

    /* every character changed, a cut, an extension */
    for (i = 0; i < strlen(id); i++) {
        strcpy(bad, id);
        bad[i] = (bad[i] == 'A') ? 'B' : 'A';
        assert_int_equal(gw_file_id_decode(bad, strlen(bad), "alice",
                                           secret, 32, key), GW_ERROR);
    }

    assert_int_equal(gw_file_id_decode(id, strlen(id) - 1, "alice", secret,
                                       32, key), GW_ERROR);
    strcpy(bad, id);
    strcat(bad, "A");
    assert_int_equal(gw_file_id_decode(bad, strlen(bad), "alice", secret,
                                       32, key), GW_ERROR);
    assert_int_equal(gw_file_id_encode("alice", secret, 32, k, id, 48),
                     GW_ERROR);
}


static void
test_routes(void **state)
{
    gw_files_req_t  fr;

    (void) state;

    assert_true(gw_files_path("/v1/files", 9));
    assert_true(gw_files_path("/v1/files/x/content", 19));
    assert_false(gw_files_path("/v1/filesx", 10));
    assert_false(gw_files_path("/v1/fine_tuning/jobs", 20));

    assert_int_equal(route("GET", "/v1/files", NULL, NULL, &fr),
                     GW_FILES_ERROR);
    assert_int_equal(fr.err.http_status, 401);
    assert_int_equal(route("GET", "/v1/files", NULL, "Bearer nope", &fr),
                     GW_FILES_ERROR);
    assert_int_equal(fr.err.http_status, 401);

    assert_int_equal(route("GET", "/v1/files", "purpose=fine-tune&limit=5"
                           "&order=asc", "Bearer ka", &fr), GW_FILES_LIST);
    assert_string_equal(fr.purpose, "fine-tune");
    assert_int_equal(fr.limit, 5);
    assert_true(fr.ascending);
    assert_string_equal(fr.client->name, "alice");

    assert_int_equal(route("GET", "/v1/files", "limit=0", "Bearer ka", &fr),
                     GW_FILES_ERROR);
    assert_string_equal(fr.err.param, "limit");
    assert_int_equal(route("GET", "/v1/files", "order=x", "Bearer ka", &fr),
                     GW_FILES_ERROR);
    assert_string_equal(fr.err.param, "order");
    assert_int_equal(route("GET", "/v1/files", "after=file-1", "Bearer ka",
                           &fr), GW_FILES_ERROR);
    assert_string_equal(fr.err.param, "after");

    assert_int_equal(route("GET", "/v1/files/file-bad", NULL, "Bearer ka",
                           &fr), GW_FILES_ERROR);
    assert_int_equal(fr.err.http_status, 404);
    assert_int_equal(route("PATCH", "/v1/files/file-bad", NULL, "Bearer ka",
                           &fr), GW_FILES_ERROR);
    assert_int_equal(fr.err.http_status, 405);
    assert_int_equal(route("GET", "/v1/files/a/b", NULL, "Bearer ka", &fr),
                     GW_FILES_ERROR);
    assert_int_equal(fr.err.http_status, 404);
}


static void
test_upload_and_store(void **state)
{
    char            t[4096], path[600], *s, q[128];
    size_t          len, step;
    gw_file_t       f, g;
    gw_error_t      err;
    gw_files_req_t  fr;

    (void) state;

    for (step = 1; step <= sizeof(good); step += (step < 8 ? 1 : 97)) {
        assert_int_equal(do_upload(good, sizeof(good) - 1, step, &f, &err),
                         0);
        assert_int_equal(f.status, GW_FILE_PROCESSED);
        assert_int_equal(f.examples, 10);
        assert_int_equal(f.bytes, strlen(TEN));
        assert_string_equal(f.filename, "t.jsonl");
        assert_int_equal(f.created_at, 1700000000);

        /* retrieve, by the id, as alice only */
        snprintf(path, sizeof(path), "/v1/files/%s", f.id);
        assert_int_equal(route("GET", path, NULL, "Bearer ka", &fr),
                         GW_FILES_RETRIEVE);
        assert_int_equal(gw_store_get(root, "alice", fr.key, &g), 0);
        assert_string_equal(g.id, f.id);
        assert_int_equal(g.examples, 10);
        assert_int_equal(route("GET", path, NULL, "Bearer kb", &fr),
                         GW_FILES_ERROR);
        assert_int_equal(fr.err.http_status, 404);

        s = gw_file_json(&g, &len);
        assert_non_null(strstr(s, "\"object\":\"file\""));
        assert_non_null(strstr(s, "\"status\":\"processed\""));
        assert_non_null(strstr(s, "\"status_details\":null"));
        gw_files_free(s);

        /* the list, then the delete */
        assert_int_equal(route("GET", "/v1/files", NULL, "Bearer ka", &fr),
                         GW_FILES_LIST);
        s = gw_files_list_json(root, &fr, &len, &err);
        assert_non_null(strstr(s, f.id));
        assert_non_null(strstr(s, "\"has_more\":false"));
        gw_files_free(s);

        snprintf(q, sizeof(q), "after=%s", f.id);
        assert_int_equal(route("GET", "/v1/files", q, "Bearer ka", &fr),
                         GW_FILES_LIST);
        s = gw_files_list_json(root, &fr, &len, &err);
        assert_null(strstr(s, f.id));
        gw_files_free(s);

        assert_int_equal(route("GET", "/v1/files", NULL, "Bearer kb", &fr),
                         GW_FILES_LIST);
        s = gw_files_list_json(root, &fr, &len, &err);
        assert_string_equal(s, "{\"object\":\"list\",\"data\":[],"
                            "\"first_id\":null,\"last_id\":null,"
                            "\"has_more\":false}");
        gw_files_free(s);

        assert_int_equal(route("DELETE", path, NULL, "Bearer ka", &fr),
                         GW_FILES_DELETE);
        assert_int_equal(gw_store_delete(root, "alice", fr.key), 0);
        assert_int_equal(gw_store_delete(root, "alice", fr.key), -1);
        assert_int_equal(gw_store_get(root, "alice", fr.key, &g), -1);

        tree(t, sizeof(t));
        assert_string_equal(t, "");
    }
}


static void
test_bad_uploads_leave_nothing(void **state)
{
    char        t[4096], body[8192];
    size_t      i, step;
    gw_file_t   f;
    gw_error_t  err;

    static const struct {
        const char  *body;
        const char  *param;
        int          status;
        const char  *message;
    } cases[] = {
        { "--XyZ\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\n"
          "fine-tune\r\n--XyZ\r\nContent-Disposition: form-data; "
          "name=\"file\"\r\n\r\n" TEN, "file", 400, "truncated" },
        { "--XyZ\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\n"
          "batch\r\n--XyZ\r\nContent-Disposition: form-data; "
          "name=\"file\"\r\n\r\n" TEN "\r\n--XyZ--", "purpose", 400,
          "'batch' is not one of ['fine-tune'] - 'purpose'" },
        { "--XyZ\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n"
          TEN "\r\n--XyZ--", "purpose", 400, "purpose is required" },
        { "--XyZ\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\n"
          "fine-tune\r\n--XyZ--", "file", 400, "file is required" },
        { "--XyZ\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n"
          "x\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"\r\n"
          "\r\ny\r\n--XyZ--", "file", 400, "more than one" },
        { "--XyZ\r\nContent-Type: x\r\n\r\nx\r\n--XyZ--", "file", 400,
          "Content-Disposition" },
        { NULL, "file", 413, "File is too large: the limit is 4096 bytes." },
    };

    (void) state;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (cases[i].body == NULL) {
            /* over max_size (4096 in do_upload) */
            size_t  n;

            n = (size_t) sprintf(body, "--XyZ\r\nContent-Disposition: "
                                 "form-data; name=\"file\"\r\n\r\n");
            while (n < 6000) {
                memcpy(body + n, LINE, sizeof(LINE) - 1);
                n += sizeof(LINE) - 1;
            }
            strcpy(body + n, "\r\n--XyZ--");

        } else {
            strcpy(body, cases[i].body);
        }

        for (step = 1; step < 200; step += 37) {
            assert_int_equal(do_upload(body, strlen(body), step, &f, &err),
                             -1);
            assert_int_equal(err.http_status, cases[i].status);
            assert_string_equal(err.param, cases[i].param);

            if (strstr(err.message, cases[i].message) == NULL) {
                fail_msg("case %zu: \"%s\", want \"%s\"", i, err.message,
                         cases[i].message);
            }

            tree(t, sizeof(t));
            assert_string_equal(t, "");
        }
    }

    /* a Content-Type that is no multipart one */
    assert_int_equal(gw_upload_check_type("application/json", 16, &err), -1);
    assert_string_equal(err.param, "file");
    assert_int_equal(gw_upload_check_type(CT, strlen(CT), &err), 0);
}


static void
test_content_errors_are_kept_whole(void **state)
{
    char        body[4096];
    gw_file_t   f;
    gw_error_t  err;

    (void) state;

    sprintf(body, "--XyZ\r\nContent-Disposition: form-data; "
            "name=\"purpose\"\r\n\r\nfine-tune\r\n--XyZ\r\n"
            "Content-Disposition: form-data; name=\"file\"\r\n\r\n"
            LINE "[]\n" LINE "\r\n--XyZ--\r\n");

    assert_int_equal(do_upload(body, strlen(body), 3, &f, &err), 0);
    assert_int_equal(f.status, GW_FILE_ERROR);
    assert_string_equal(f.status_details,
                        "Invalid file format. Line 2 is not a JSON object.");
    assert_int_equal(f.bytes, 2 * strlen(LINE) + 3);
    assert_string_equal(f.filename, "upload");
    assert_int_equal(gw_store_delete(root, "alice", f.key), 0);
}


static void
test_resolve(void **state)
{
    char            staged[600], dsroot[300];
    gw_file_t       f, e;
    gw_error_t      err;
    gw_job_spec_t   spec;
    gw_provider_t   local, cloud;
    struct stat     st;

    (void) state;

    snprintf(dsroot, sizeof(dsroot), "%s/datasets", root);
    assert_int_equal(mkdir(dsroot, 0755), 0);

    memset(&local, 0, sizeof(local));
    local.name = "local";
    local.params[0].name = "dataset_root";
    local.params[0].value = dsroot;
    local.nparams = 1;

    memset(&cloud, 0, sizeof(cloud));
    cloud.name = "clova";

    assert_int_equal(do_upload(good, sizeof(good) - 1, 4096, &f, &err), 0);

    memset(&spec, 0, sizeof(spec));
    spec.train[0].ref = gw_strdup(f.id);
    spec.ntrain = 1;
    spec.valid[0].ref = gw_strdup("local://datasets/v.jsonl");
    spec.nvalid = 1;

    /* a cloud provider: not yet */
    assert_int_equal(gw_files_resolve(&gw, &clients[0], &cloud, &spec,
                                      &err), GW_ERROR);
    assert_string_equal(err.param, "training_file");
    assert_string_equal(err.code, "unsupported_value");
    assert_non_null(strstr(err.message, "cannot take uploaded files yet"));

    /* another client's file is no file */
    assert_int_equal(gw_files_resolve(&gw, &clients[1], &local, &spec,
                                      &err), GW_ERROR);
    assert_string_equal(err.code, "file_not_found");

    /* staged as a hard link; the reference becomes a local one */
    assert_int_equal(gw_files_resolve(&gw, &clients[0], &local, &spec,
                                      &err), GW_OK);
    snprintf(staged, sizeof(staged), "local://datasets/ftgw-files/alice-%s"
             ".jsonl", f.key);
    assert_string_equal(spec.train[0].ref, staged);
    assert_string_equal(spec.valid[0].ref, "local://datasets/v.jsonl");
    snprintf(staged, sizeof(staged), "%s/ftgw-files/alice-%s.jsonl", dsroot,
             f.key);
    assert_int_equal(stat(staged, &st), 0);
    assert_int_equal(st.st_nlink, 2);
    assert_int_equal(st.st_size, strlen(TEN));

    /* a file in error */
    {
        char  body[4096];

        sprintf(body, "--XyZ\r\nContent-Disposition: form-data; "
                "name=\"purpose\"\r\n\r\nfine-tune\r\n--XyZ\r\n"
                "Content-Disposition: form-data; name=\"file\"\r\n\r\n"
                LINE "\r\n--XyZ--\r\n");
        assert_int_equal(do_upload(body, strlen(body), 4096, &e, &err), 0);
    }

    gw_free(spec.valid[0].ref);
    spec.valid[0].ref = gw_strdup(e.id);
    assert_int_equal(gw_files_resolve(&gw, &clients[0], &local, &spec,
                                      &err), GW_ERROR);
    assert_string_equal(err.param, "validation_file");
    assert_string_equal(err.code, "invalid_file_status");
    if (strstr(err.message, "is in error, not processed: Training file has 1 "
                      "example(s)")
        == NULL)
    {
        fail_msg("message: %s", err.message);
    }

    gw_free(spec.train[0].ref);
    gw_free(spec.valid[0].ref);
    gw_free(spec.train[0].file_id);
    gw_free(spec.valid[0].file_id);
}


/*
 * Rotation: a file uploaded under the old key keeps its id while that key
 * is listed after a new one; a new upload is signed with the new key; an
 * old id is a 404 once its key is gone, but the list names every file by
 * an id of the new key, which outlives the old one.
 */
static void
test_rotated_keys(void **state)
{
    char            path[600], q[128], key[33], relisted[GW_FILE_ID_MAX];
    char           *s;
    size_t          i, len;
    gw_file_t       f, g;
    unsigned int    byte;
    unsigned char   raw[GW_FILE_KEY_LEN];
    gw_error_t      err;
    gw_files_req_t  fr;
    gw_id_key_t     rotated[2];

    static const unsigned char  fresh[] = "fedcba9876543210fedcba9876543210";

    (void) state;

    assert_int_equal(do_upload(good, sizeof(good) - 1, 4096, &f, &err), 0);

    rotated[0] = (gw_id_key_t) { fresh, sizeof(fresh) - 1 };
    rotated[1] = keys[0];
    gw.id_keys = rotated;
    gw.nid_keys = 2;

    /* the old id: retrieve, content, as a cursor, in a job's create */
    snprintf(path, sizeof(path), "/v1/files/%s", f.id);
    assert_int_equal(route("GET", path, NULL, "Bearer ka", &fr),
                     GW_FILES_RETRIEVE);
    assert_string_equal(fr.key, f.key);
    snprintf(path, sizeof(path), "/v1/files/%s/content", f.id);
    assert_int_equal(route("GET", path, NULL, "Bearer ka", &fr),
                     GW_FILES_CONTENT);
    snprintf(q, sizeof(q), "after=%s", f.id);
    assert_int_equal(route("GET", "/v1/files", q, "Bearer ka", &fr),
                     GW_FILES_LIST);
    assert_string_equal(fr.after_key, f.key);
    assert_int_equal(gw_files_lookup(&gw, &clients[0], f.id,
                                     "training_file", key, &g, &err),
                     GW_OK);
    assert_string_equal(key, f.key);
    assert_string_equal(g.id, f.id);

    /* still alice's only */
    snprintf(path, sizeof(path), "/v1/files/%s", f.id);
    assert_int_equal(route("GET", path, NULL, "Bearer kb", &fr),
                     GW_FILES_ERROR);
    assert_int_equal(fr.err.http_status, 404);

    /* a new upload: signed with the first key, not the old one */
    assert_int_equal(do_upload(good, sizeof(good) - 1, 4096, &g, &err), 0);
    assert_int_equal(gw_file_id_decode(g.id, strlen(g.id), "alice", fresh,
                                       sizeof(fresh) - 1, key), GW_OK);
    assert_string_equal(key, g.key);
    assert_int_equal(gw_file_id_decode(g.id, strlen(g.id), "alice", secret,
                                       sizeof(secret) - 1, key), GW_ERROR);

    /* the list names both by ids of the new key */
    for (i = 0; i < GW_FILE_KEY_LEN; i++) {
        assert_int_equal(sscanf(f.key + 2 * i, "%2x", &byte), 1);
        raw[i] = (unsigned char) byte;
    }

    assert_int_equal(gw_file_id_encode("alice", fresh, sizeof(fresh) - 1,
                                       raw, relisted, sizeof(relisted)),
                     GW_OK);

    assert_int_equal(route("GET", "/v1/files", NULL, "Bearer ka", &fr),
                     GW_FILES_LIST);
    s = gw_files_list_json(root, &fr, &len, &err);
    assert_null(strstr(s, f.id));
    assert_non_null(strstr(s, relisted));
    assert_non_null(strstr(s, g.id));
    gw_files_free(s);

    /* the old key removed: its ids are 404s, the new ones hold */
    gw.nid_keys = 1;

    snprintf(path, sizeof(path), "/v1/files/%s", f.id);
    assert_int_equal(route("GET", path, NULL, "Bearer ka", &fr),
                     GW_FILES_ERROR);
    assert_int_equal(fr.err.http_status, 404);
    assert_string_equal(fr.err.code, "file_not_found");
    assert_int_equal(route("GET", "/v1/files", q, "Bearer ka", &fr),
                     GW_FILES_ERROR);
    assert_string_equal(fr.err.param, "after");
    assert_int_equal(gw_files_lookup(&gw, &clients[0], f.id,
                                     "training_file", key, &g, &err),
                     GW_ERROR);
    assert_string_equal(err.code, "file_not_found");

    snprintf(path, sizeof(path), "/v1/files/%s", g.id);
    assert_int_equal(route("GET", path, NULL, "Bearer ka", &fr),
                     GW_FILES_RETRIEVE);
    assert_string_equal(fr.key, g.key);

    /* the old file is still listed, and reached, by its new id */
    snprintf(path, sizeof(path), "/v1/files/%s", relisted);
    assert_int_equal(route("GET", path, NULL, "Bearer ka", &fr),
                     GW_FILES_RETRIEVE);
    assert_string_equal(fr.key, f.key);
    assert_int_equal(gw_files_lookup(&gw, &clients[0], relisted,
                                     "training_file", key, &g, &err),
                     GW_OK);
    assert_string_equal(g.id, relisted);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_ids),
        cmocka_unit_test_setup_teardown(test_routes, setup, teardown_dir),
        cmocka_unit_test_setup_teardown(test_upload_and_store, setup,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_bad_uploads_leave_nothing,
                                        setup, teardown_dir),
        cmocka_unit_test_setup_teardown(test_content_errors_are_kept_whole,
                                        setup, teardown_dir),
        cmocka_unit_test_setup_teardown(test_resolve, setup, teardown_dir),
        cmocka_unit_test_setup_teardown(test_rotated_keys, setup,
                                        teardown_dir),
    };

    gw_mem_init();

    return cmocka_run_group_tests(tests, NULL, NULL);
}
