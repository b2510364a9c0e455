
/*
 * The Files API and the embedded file store: routes, file ids, the
 * store's layout and metadata, uploads (multipart parsed and the chat
 * format checked as the bytes stream), the FileObject and its list, and
 * the resolution of "file-..." references in a job create.
 *
 * See include/gw_files.h for the layout.  The store does plain POSIX
 * I/O on small metadata files; an upload's bytes are written as they
 * come, in whatever chunks the glue hands over (it bounds them).
 */


#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>

#include <gw_files.h>
#include <base/gw_multipart.h>
#include <core/gw_core.h>
#include <core/gw_chatfile.h>


#define GW_FILE_ID_PREFIX      "file-"
#define GW_FILE_ID_PREFIX_LEN  5
#define GW_FILE_TAG_LEN        16
#define GW_FILE_ID_B64         43       /* base64url of 32 bytes */
#define GW_FILES_LIMIT_MAX     10000
#define GW_STAGE_DIR           "ftgw-files"


struct gw_upload_s {
    gw_mp_t              mp;
    gw_chat_check_t      chk;
    EVP_MD_CTX          *sha;
    int                  fd;
    int                  in_file;        /* the "file" part is streaming */
    int                  file_seen;
    int                  purpose_seen;
    int                  in_purpose;
    size_t               purpose_len;
    char                 purpose[32];
    char                 filename[GW_FILE_NAME_MAX];
    int64_t              bytes;
    int64_t              max_size;
    int64_t              created_at;
    int64_t              created_ms;
    int                  failed;
    gw_error_t           err;
    char                 client[GW_NAME_MAX + 1];
    char                 root[GW_FILES_PATH_MAX];
    char                 tmp[GW_FILES_PATH_MAX];
    char                 id[GW_FILE_ID_MAX];
    char                 key[2 * GW_FILE_KEY_LEN + 1];
};


static int gw_files_query(const char *q, size_t len, const char *name,
    char *out, size_t size);
static int gw_files_dir(const char *root, const char *client, char *out,
    size_t size);
static int gw_files_key_ok(const char *key);
static void gw_file_id_sign(const gw_id_key_t *id_key, const char *client,
    gw_file_t *f);
static int gw_store_read_meta(const char *path, gw_file_t *f);
static int gw_store_write_meta(const char *path, const gw_file_t *f);
static void gw_file_print(gw_out_t *o, const gw_file_t *f);
static int gw_up_part(void *data, const char *name, const char *filename,
    int has_filename);
static int gw_up_body(void *data, const char *p, size_t n);
static int gw_up_end(void *data);
static void gw_up_fail(gw_upload_t *up, int status, const char *param,
    const char *code, const char *msg);
static int gw_file_cmp(const void *a, const void *b);


/* ---- routes ------------------------------------------------------- */


int
gw_files_path(const char *path, size_t len)
{
    /* the location decides the prefix; the route is "/files[/...]" */
    return gw_api_root(path, len, "/files", NULL);
}


/* 1 found (value copied), 0 absent, -1 too long */
static int
gw_files_query(const char *q, size_t len, const char *name, char *out,
    size_t size)
{
    size_t       nlen, vlen;
    const char  *p, *end, *amp, *v;

    if (q == NULL) {
        return 0;
    }

    nlen = strlen(name);
    p = q;
    end = q + len;

    while (p < end) {
        amp = memchr(p, '&', end - p);
        if (amp == NULL) {
            amp = end;
        }

        if ((size_t) (amp - p) > nlen && memcmp(p, name, nlen) == 0
            && p[nlen] == '=')
        {
            v = p + nlen + 1;
            vlen = amp - v;

            if (vlen >= size) {
                return -1;
            }

            memcpy(out, v, vlen);
            out[vlen] = '\0';
            return 1;
        }

        p = amp + 1;
    }

    return 0;
}


const char *
gw_files_op_name(gw_files_op_t op)
{
    static const char  *names[] = {
        NULL, "file_upload", "file_list", "file_retrieve", "file_content",
        "file_delete"
    };

    return ((size_t) op < sizeof(names) / sizeof(names[0])) ? names[op]
                                                            : NULL;
}


gw_files_op_t
gw_files_route(const gw_gateway_t *gw, const gw_request_t *req,
    gw_files_req_t *fr)
{
    int          rc;
    char         value[GW_FILE_ID_MAX], *endp;
    long         limit;
    size_t       i, idlen;
    const char  *p, *end, *id, *rest;

    memset(fr, 0, sizeof(gw_files_req_t));
    fr->op = GW_FILES_ERROR;
    fr->limit = GW_FILES_LIMIT_MAX;

    gw_copy(fr->request_id, sizeof(fr->request_id),
            req->generated_request_id ? req->generated_request_id : "");

    if (req->request_id != NULL && req->request_id_len > 0
        && req->request_id_len <= GW_REQUEST_ID_MAX)
    {
        for (i = 0; i < req->request_id_len; i++) {
            if (!isalnum((unsigned char) req->request_id[i])
                && (req->request_id[i] == '\0'
                    || strchr("._:-", req->request_id[i]) == NULL))
            {
                break;
            }
        }

        if (i == req->request_id_len) {
            memcpy(fr->request_id, req->request_id, req->request_id_len);
            fr->request_id[req->request_id_len] = '\0';
        }
    }

    fr->client = gw_client_authenticate(gw, req->authorization,
                               req->authorization_len);

    if (fr->client == NULL) {
        gw_error_set(&fr->err, 401, GW_TYPE_AUTH, NULL,
                     req->authorization ? "invalid_api_key"
                                        : "missing_api_key",
                     "%s", req->authorization
                     ? "Incorrect API key provided"
                     : "You didn't provide an API key: send "
                       "\"Authorization: Bearer <gateway key>\"");
        return GW_FILES_ERROR;
    }

    fr->id_key = (gw->nid_keys > 0) ? &gw->id_keys[0] : NULL;

    if (gw->files_root == NULL) {
        gw_error_set(&fr->err, 404, GW_TYPE_NOT_FOUND, NULL, "unknown_url",
                     "This gateway has no file store (ftgw_files)");
        return GW_FILES_ERROR;
    }

    end = req->path + req->path_len;
    p = NULL;

    for (i = 0; i + 6 <= req->path_len; i++) {
        if (memcmp(req->path + i, "/files", 6) == 0
            && (i + 6 == req->path_len || req->path[i + 6] == '/'))
        {
            p = req->path + i + 6;
            break;
        }
    }

    if (p == NULL) {
        gw_error_set(&fr->err, 404, GW_TYPE_NOT_FOUND, NULL, "unknown_url",
                     "Unknown request URL");
        return GW_FILES_ERROR;
    }

    if (p == end || (p + 1 == end)) {
        /* "/files" or "/files/" */
        if (req->method_len == 4 && memcmp(req->method, "POST", 4) == 0) {
            fr->op = GW_FILES_UPLOAD;
            return fr->op;
        }

        if (!(req->method_len == 3 && memcmp(req->method, "GET", 3) == 0)) {
            goto not_allowed;
        }

        rc = gw_files_query(req->query, req->query_len, "purpose",
                            fr->purpose, sizeof(fr->purpose));
        if (rc < 0) {
            gw_error_invalid(&fr->err, "purpose", "invalid_value",
                             "purpose is not a known file purpose");
            return GW_FILES_ERROR;
        }

        rc = gw_files_query(req->query, req->query_len, "limit", value,
                            sizeof(value));
        if (rc != 0) {
            errno = 0;
            limit = strtol(value, &endp, 10);

            if (rc < 0 || value[0] == '\0' || *endp != '\0' || errno != 0
                || limit < 1 || limit > GW_FILES_LIMIT_MAX)
            {
                gw_error_invalid(&fr->err, "limit", "invalid_value",
                                 "limit must be an integer from 1 to %d",
                                 GW_FILES_LIMIT_MAX);
                return GW_FILES_ERROR;
            }

            fr->limit = limit;
        }

        rc = gw_files_query(req->query, req->query_len, "order", value,
                            sizeof(value));
        if (rc != 0) {
            if (rc > 0 && strcmp(value, "asc") == 0) {
                fr->ascending = 1;

            } else if (rc < 0 || strcmp(value, "desc") != 0) {
                gw_error_invalid(&fr->err, "order", "invalid_value",
                                 "order must be \"asc\" or \"desc\"");
                return GW_FILES_ERROR;
            }
        }

        rc = gw_files_query(req->query, req->query_len, "after", value,
                            sizeof(value));
        if (rc != 0) {
            if (rc < 0
                || gw_file_id_verify(value, strlen(value),
                                     fr->client->name, gw->id_keys,
                                     gw->nid_keys, fr->after_key)
                   != GW_OK)
            {
                gw_error_invalid(&fr->err, "after", "invalid_value",
                                 "after must be the id of one of your "
                                 "files");
                return GW_FILES_ERROR;
            }
        }

        fr->op = GW_FILES_LIST;
        return fr->op;
    }

    /* "/files/{id}" or "/files/{id}/content" */
    id = p + 1;
    rest = memchr(id, '/', end - id);
    idlen = (rest ? rest : end) - id;

    if (rest != NULL && !((size_t) (end - rest) == 8
                          && memcmp(rest, "/content", 8) == 0))
    {
        gw_error_set(&fr->err, 404, GW_TYPE_NOT_FOUND, NULL, "unknown_url",
                     "Unknown request URL");
        return GW_FILES_ERROR;
    }

    if (rest != NULL) {
        if (!(req->method_len == 3 && memcmp(req->method, "GET", 3) == 0)) {
            goto not_allowed;
        }

        fr->op = GW_FILES_CONTENT;

    } else if (req->method_len == 3 && memcmp(req->method, "GET", 3) == 0) {
        fr->op = GW_FILES_RETRIEVE;

    } else if (req->method_len == 6
               && memcmp(req->method, "DELETE", 6) == 0)
    {
        fr->op = GW_FILES_DELETE;

    } else {
        goto not_allowed;
    }

    if (idlen >= sizeof(fr->id)
        || gw_file_id_verify(id, idlen, fr->client->name, gw->id_keys,
                             gw->nid_keys, fr->key)
           != GW_OK)
    {
        fr->op = GW_FILES_ERROR;
        goto no_file;
    }

    memcpy(fr->id, id, idlen);
    fr->id[idlen] = '\0';

    return fr->op;

no_file:

    gw_error_set(&fr->err, 404, GW_TYPE_NOT_FOUND, "id", "file_not_found",
                 "No such File object");
    return GW_FILES_ERROR;

not_allowed:

    fr->op = GW_FILES_ERROR;
    gw_error_set(&fr->err, 405, GW_TYPE_INVALID, NULL, "method_not_allowed",
                 "This method is not allowed on this path");
    return GW_FILES_ERROR;
}


void
gw_files_free(void *p)
{
    gw_free(p);
}


char *
gw_files_error_json(const gw_error_t *err, size_t *len)
{
    char        *s;
    gw_arena_t  *prev;

    prev = gw_arena_use(NULL);
    s = gw_error_json(err);
    gw_arena_use(prev);

    if (s != NULL && len != NULL) {
        *len = strlen(s);
    }

    return s;
}


/* ---- ids ---------------------------------------------------------- */


static void
gw_file_tag(const char *client, const unsigned char *secret,
    size_t secret_len, const unsigned char *key, unsigned char *tag)
{
    size_t         clen;
    unsigned char  msg[5 + GW_NAME_MAX + 1 + GW_FILE_KEY_LEN], mac[32];

    clen = strnlen(client, GW_NAME_MAX);

    memcpy(msg, "file", 4);
    msg[4] = 0;
    memcpy(msg + 5, client, clen);
    msg[5 + clen] = 0;
    memcpy(msg + 6 + clen, key, GW_FILE_KEY_LEN);

    gw_hmac_sha256(secret, secret_len, msg, 6 + clen + GW_FILE_KEY_LEN, mac);
    memcpy(tag, mac, GW_FILE_TAG_LEN);
}


gw_rc_t
gw_file_id_encode(const char *client, const unsigned char *secret,
    size_t secret_len, const unsigned char key[GW_FILE_KEY_LEN], char *out,
    size_t size)
{
    unsigned char  raw[GW_FILE_KEY_LEN + GW_FILE_TAG_LEN];

    if (client == NULL || secret == NULL || secret_len == 0
        || size < GW_FILE_ID_PREFIX_LEN + GW_FILE_ID_B64 + 1)
    {
        return GW_ERROR;
    }

    memcpy(raw, key, GW_FILE_KEY_LEN);
    gw_file_tag(client, secret, secret_len, key, raw + GW_FILE_KEY_LEN);

    memcpy(out, GW_FILE_ID_PREFIX, GW_FILE_ID_PREFIX_LEN);
    gw_base64url(raw, sizeof(raw), out + GW_FILE_ID_PREFIX_LEN);

    return GW_OK;
}


gw_rc_t
gw_file_id_decode(const char *id, size_t len, const char *client,
    const unsigned char *secret, size_t secret_len,
    char key_hex[2 * GW_FILE_KEY_LEN + 1])
{
    long           n;
    unsigned char  raw[GW_FILE_ID_B64], tag[GW_FILE_TAG_LEN];

    if (id == NULL || client == NULL || secret == NULL || secret_len == 0
        || len != GW_FILE_ID_PREFIX_LEN + GW_FILE_ID_B64
        || memcmp(id, GW_FILE_ID_PREFIX, GW_FILE_ID_PREFIX_LEN) != 0)
    {
        return GW_ERROR;
    }

    n = gw_base64url_decode(id + GW_FILE_ID_PREFIX_LEN, GW_FILE_ID_B64, raw);
    if (n != GW_FILE_KEY_LEN + GW_FILE_TAG_LEN) {
        return GW_ERROR;
    }

    gw_file_tag(client, secret, secret_len, raw, tag);

    if (!gw_memeq_ct(tag, raw + GW_FILE_KEY_LEN, GW_FILE_TAG_LEN)) {
        return GW_ERROR;
    }

    gw_hex(raw, GW_FILE_KEY_LEN, key_hex);

    return GW_OK;
}


gw_rc_t
gw_file_id_verify(const char *id, size_t len, const char *client,
    const gw_id_key_t *keys, size_t nkeys,
    char key_hex[2 * GW_FILE_KEY_LEN + 1])
{
    size_t  i;

    for (i = 0; i < nkeys; i++) {
        if (gw_file_id_decode(id, len, client, keys[i].data, keys[i].len,
                              key_hex)
            == GW_OK)
        {
            return GW_OK;
        }
    }

    return GW_ERROR;
}


/*
 * A stored file's id made again with the gateway's first key: the list
 * names every file by an id of that key, so that once a rotation has
 * removed the key a file was uploaded under, the file is still reached
 */
static void
gw_file_id_sign(const gw_id_key_t *id_key, const char *client, gw_file_t *f)
{
    size_t         i;
    char           id[GW_FILE_ID_MAX];
    unsigned int   byte;
    unsigned char  key[GW_FILE_KEY_LEN];

    if (id_key == NULL || !gw_files_key_ok(f->key)) {
        return;
    }

    for (i = 0; i < GW_FILE_KEY_LEN; i++) {
        if (sscanf(f->key + 2 * i, "%2x", &byte) != 1) {
            return;
        }

        key[i] = (unsigned char) byte;
    }

    if (gw_file_id_encode(client, id_key->data, id_key->len, key, id,
                          sizeof(id))
        == GW_OK)
    {
        gw_copy(f->id, sizeof(f->id), id);
    }
}


/* ---- the store ---------------------------------------------------- */


static int
gw_files_key_ok(const char *key)
{
    return strlen(key) == 2 * GW_FILE_KEY_LEN
           && strspn(key, "0123456789abcdef") == 2 * GW_FILE_KEY_LEN;
}


static int
gw_files_dir(const char *root, const char *client, char *out, size_t size)
{
    int  n;

    n = snprintf(out, size, "%s/%s", root, client);

    return (n < 0 || (size_t) n >= size) ? -1 : 0;
}


int
gw_store_content_path(const char *root, const char *client, const char *key,
    char *out, size_t size)
{
    int  n;

    if (!gw_files_key_ok(key)) {
        errno = ENOENT;
        return -1;
    }

    n = snprintf(out, size, "%s/%s/%s.jsonl", root, client, key);

    return (n < 0 || (size_t) n >= size) ? -1 : 0;
}


static int
gw_store_read_meta(const char *path, gw_file_t *f)
{
    int          fd;
    char         buf[4096];
    ssize_t      n;
    cJSON       *root;
    const char  *s;
    gw_arena_t  *prev;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        return -1;
    }

    n = read(fd, buf, sizeof(buf));
    close(fd);

    if (n <= 0 || n == (ssize_t) sizeof(buf)) {
        errno = EINVAL;
        return -1;
    }

    memset(f, 0, sizeof(gw_file_t));

    prev = gw_arena_use(NULL);
    root = gw_json_parse(buf, (size_t) n, NULL);

    if (root == NULL) {
        gw_arena_use(prev);
        errno = EINVAL;
        return -1;
    }

#define GW_META_STR(field, name)                                          \
    s = gw_json_str(root, name);                                          \
    gw_copy(f->field, sizeof(f->field), s ? s : "")

    GW_META_STR(id, "id");
    GW_META_STR(key, "key");
    GW_META_STR(filename, "filename");
    GW_META_STR(purpose, "purpose");
    GW_META_STR(status_details, "status_details");
    GW_META_STR(sha256, "sha256");

    f->bytes = gw_json_int(root, "bytes");
    f->created_at = gw_json_int(root, "created_at");
    f->created_ms = gw_json_int(root, "created_ms");
    f->examples = gw_json_int(root, "examples");

    s = gw_json_str(root, "status");
    f->status = (s && strcmp(s, "processed") == 0) ? GW_FILE_PROCESSED
                : (s && strcmp(s, "error") == 0) ? GW_FILE_ERROR
                : GW_FILE_UPLOADED;

    cJSON_Delete(root);
    gw_arena_use(prev);

    return 0;
}


static int
gw_store_write_meta(const char *path, const gw_file_t *f)
{
    int          fd;
    char        *s;
    size_t       len;
    ssize_t      n;
    gw_out_t     o;
    gw_arena_t  *prev;

    prev = gw_arena_use(NULL);

    gw_out_init(&o);
    gw_out_open(&o, '{');
    gw_file_print(&o, f);
    gw_out_lkey(&o, "key");
    gw_out_str(&o, f->key);
    gw_out_lkey(&o, "examples");
    gw_out_int(&o, f->examples);
    gw_out_lkey(&o, "created_ms");
    gw_out_int(&o, f->created_ms);
    gw_out_lkey(&o, "sha256");
    gw_out_str(&o, f->sha256);
    gw_out_close(&o, '}');
    s = gw_out_done(&o, &len);

    gw_arena_use(prev);

    if (s == NULL) {
        errno = ENOMEM;
        return -1;
    }

    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd == -1) {
        gw_free(s);
        return -1;
    }

    n = write(fd, s, len);
    gw_free(s);

    if (n != (ssize_t) len || close(fd) != 0) {
        if (n != (ssize_t) len) {
            close(fd);
        }

        unlink(path);
        errno = EIO;
        return -1;
    }

    return 0;
}


int
gw_store_get(const char *root, const char *client, const char *key,
    gw_file_t *f)
{
    int   n;
    char  path[GW_FILES_PATH_MAX];

    if (!gw_files_key_ok(key)) {
        errno = ENOENT;
        return -1;
    }

    n = snprintf(path, sizeof(path), "%s/%s/%s.json", root, client, key);
    if (n < 0 || (size_t) n >= sizeof(path)) {
        errno = ENAMETOOLONG;
        return -1;
    }

    return gw_store_read_meta(path, f);
}


int
gw_store_delete(const char *root, const char *client, const char *key)
{
    int   n;
    char  path[GW_FILES_PATH_MAX];

    if (!gw_files_key_ok(key)) {
        errno = ENOENT;
        return -1;
    }

    /* the metadata first: the file is gone the moment it is */
    n = snprintf(path, sizeof(path), "%s/%s/%s.json", root, client, key);
    if (n < 0 || (size_t) n >= sizeof(path) || unlink(path) != 0) {
        return -1;
    }

    n = snprintf(path, sizeof(path), "%s/%s/%s.jsonl", root, client, key);
    if (n > 0 && (size_t) n < sizeof(path)) {
        (void) unlink(path);
    }

    gw_store_staged_remove(root, client, key);

    return 0;
}


/* ---- answers ------------------------------------------------------ */


static void
gw_file_print(gw_out_t *o, const gw_file_t *f)
{
    gw_out_lkey(o, "id");
    gw_out_str(o, f->id);
    gw_out_lkey(o, "object");
    gw_out_str(o, "file");
    gw_out_lkey(o, "bytes");
    gw_out_int(o, f->bytes);
    gw_out_lkey(o, "created_at");
    gw_out_int(o, f->created_at);
    gw_out_lkey(o, "filename");
    gw_out_str(o, f->filename);
    gw_out_lkey(o, "purpose");
    gw_out_str(o, f->purpose);
    gw_out_lkey(o, "status");
    gw_out_str(o, f->status == GW_FILE_PROCESSED ? "processed"
                  : f->status == GW_FILE_ERROR ? "error" : "uploaded");
    gw_out_lkey(o, "status_details");

    if (f->status_details[0] != '\0') {
        gw_out_str(o, f->status_details);

    } else {
        gw_out_literal(o, "null");
    }

    gw_out_lkey(o, "expires_at");
    gw_out_literal(o, "null");
}


char *
gw_file_json(const gw_file_t *f, size_t *len)
{
    char        *s;
    gw_out_t     o;
    gw_arena_t  *prev;

    prev = gw_arena_use(NULL);

    gw_out_init(&o);
    gw_out_open(&o, '{');
    gw_file_print(&o, f);

    /* the gateway's extension: the examples the check counted */
    if (f->status == GW_FILE_PROCESSED) {
        gw_out_lkey(&o, "examples");
        gw_out_int(&o, f->examples);
    }

    gw_out_close(&o, '}');
    s = gw_out_done(&o, len);

    gw_arena_use(prev);

    return s;
}


char *
gw_file_deleted_json(const char *id, size_t *len)
{
    char        *s;
    gw_out_t     o;
    gw_arena_t  *prev;

    prev = gw_arena_use(NULL);

    gw_out_init(&o);
    gw_out_open(&o, '{');
    gw_out_lkey(&o, "id");
    gw_out_str(&o, id);
    gw_out_lkey(&o, "object");
    gw_out_str(&o, "file");
    gw_out_lkey(&o, "deleted");
    gw_out_literal(&o, "true");
    gw_out_close(&o, '}');
    s = gw_out_done(&o, len);

    gw_arena_use(prev);

    return s;
}


static int
gw_file_cmp(const void *a, const void *b)
{
    const gw_file_t  *fa = a, *fb = b;

    if (fa->created_ms != fb->created_ms) {
        return fa->created_ms < fb->created_ms ? -1 : 1;
    }

    return strcmp(fa->key, fb->key);
}


char *
gw_files_list_json(const char *root, const gw_files_req_t *fr, size_t *len,
    gw_error_t *err)
{
    DIR            *d;
    char           *s, dir[GW_FILES_PATH_MAX], path[GW_FILES_PATH_MAX];
    size_t          n, cap, i, start, count, nlen;
    gw_out_t        o;
    gw_file_t      *files, *more;
    gw_arena_t     *prev;
    struct dirent  *de;

    files = NULL;
    n = 0;
    cap = 0;

    if (gw_files_dir(root, fr->client->name, dir, sizeof(dir)) != 0) {
        goto fail;
    }

    d = opendir(dir);

    if (d != NULL) {
        while ((de = readdir(d)) != NULL) {
            nlen = strlen(de->d_name);

            if (nlen != 2 * GW_FILE_KEY_LEN + 5
                || strcmp(de->d_name + 2 * GW_FILE_KEY_LEN, ".json") != 0)
            {
                continue;
            }

            if (n == cap) {
                cap = cap ? cap * 2 : 16;
                more = realloc(files, cap * sizeof(gw_file_t));
                if (more == NULL) {
                    closedir(d);
                    goto fail;
                }

                files = more;
            }

            if ((size_t) snprintf(path, sizeof(path), "%s/%s", dir,
                                  de->d_name) >= sizeof(path)
                || gw_store_read_meta(path, &files[n]) != 0)
            {
                continue;               /* deleted meanwhile */
            }

            if (fr->purpose[0] != '\0'
                && strcmp(fr->purpose, files[n].purpose) != 0)
            {
                continue;
            }

            n++;
        }

        closedir(d);
    }

    if (n > 0) {
        qsort(files, n, sizeof(gw_file_t), gw_file_cmp);
    }

    /* the order asked for, then after the given id */
    if (!fr->ascending) {
        for (i = 0; i < n / 2; i++) {
            gw_file_t  t = files[i];

            files[i] = files[n - 1 - i];
            files[n - 1 - i] = t;
        }
    }

    start = 0;

    if (fr->after_key[0] != '\0') {
        for (i = 0; i < n; i++) {
            if (strcmp(files[i].key, fr->after_key) == 0) {
                start = i + 1;
                break;
            }
        }

        if (i == n) {
            start = n;              /* a deleted cursor: nothing after it */
        }
    }

    count = n - start;
    if ((int64_t) count > fr->limit) {
        count = (size_t) fr->limit;
    }

    for (i = start; i < start + count; i++) {
        gw_file_id_sign(fr->id_key, fr->client->name, &files[i]);
    }

    prev = gw_arena_use(NULL);

    gw_out_init(&o);
    gw_out_open(&o, '{');
    gw_out_lkey(&o, "object");
    gw_out_str(&o, "list");
    gw_out_lkey(&o, "data");
    gw_out_open(&o, '[');

    for (i = start; i < start + count; i++) {
        gw_out_open(&o, '{');
        gw_file_print(&o, &files[i]);
        gw_out_close(&o, '}');
    }

    gw_out_close(&o, ']');
    gw_out_lkey(&o, "first_id");

    if (count > 0) {
        gw_out_str(&o, files[start].id);
    } else {
        gw_out_literal(&o, "null");
    }

    gw_out_lkey(&o, "last_id");

    if (count > 0) {
        gw_out_str(&o, files[start + count - 1].id);
    } else {
        gw_out_literal(&o, "null");
    }

    gw_out_lkey(&o, "has_more");
    gw_out_literal(&o, start + count < n ? "true" : "false");
    gw_out_close(&o, '}');

    s = gw_out_done(&o, len);

    gw_arena_use(prev);
    free(files);

    if (s == NULL) {
        gw_error_set(err, 503, "server_error", NULL, "out_of_memory",
                     "The gateway is out of memory");
    }

    return s;

fail:

    free(files);
    gw_error_set(err, 503, "server_error", NULL, "file_store_unavailable",
                 "The file store could not be read");
    return NULL;
}


/* ---- uploads ------------------------------------------------------ */


static void
gw_up_fail(gw_upload_t *up, int status, const char *param, const char *code,
    const char *msg)
{
    if (up->failed) {
        return;
    }

    up->failed = 1;
    gw_error_set(&up->err, status, GW_TYPE_INVALID, param, code, "%s", msg);
}


static int
gw_up_part(void *data, const char *name, const char *filename,
    int has_filename)
{
    gw_upload_t  *up = data;

    if (strcmp(name, "file") == 0) {
        if (up->file_seen) {
            gw_up_fail(up, 400, "file", "invalid_value",
                       "The body has more than one \"file\" part");
            return -1;
        }

        up->file_seen = 1;
        up->in_file = 1;
        gw_copy(up->filename, sizeof(up->filename),
                has_filename && filename[0] ? filename : "upload");
        return 0;
    }

    if (strcmp(name, "purpose") == 0) {
        if (up->purpose_seen) {
            gw_up_fail(up, 400, "purpose", "invalid_value",
                       "The body has more than one \"purpose\" part");
            return -1;
        }

        up->purpose_seen = 1;
        up->in_purpose = 1;
        up->purpose_len = 0;
        return 0;
    }

    /* expires_after[...] and others: read and ignored */
    return 0;
}


static int
gw_up_body(void *data, const char *p, size_t n)
{
    ssize_t       w;
    size_t        done;
    gw_upload_t  *up = data;

    if (up->in_purpose) {
        if (up->purpose_len + n >= sizeof(up->purpose)) {
            gw_up_fail(up, 400, "purpose", "invalid_value",
                       "purpose must be \"fine-tune\"");
            return -1;
        }

        memcpy(up->purpose + up->purpose_len, p, n);
        up->purpose_len += n;
        up->purpose[up->purpose_len] = '\0';
        return 0;
    }

    if (!up->in_file) {
        return 0;
    }

    if (up->bytes + (int64_t) n > up->max_size) {
        char  msg[128];

        snprintf(msg, sizeof(msg), "File is too large: the limit is %lld "
                 "bytes.", (long long) up->max_size);
        gw_up_fail(up, 413, "file", "file_too_large", msg);
        return -1;
    }

    for (done = 0; done < n; done += (size_t) w) {
        w = write(up->fd, p + done, n - done);

        if (w < 0) {
            if (errno == EINTR) {
                w = 0;
                continue;
            }

            up->failed = 1;
            gw_error_set(&up->err, 503, "server_error", NULL,
                         "file_store_unavailable",
                         "The file could not be written to the store");
            return -1;
        }
    }

    up->bytes += n;
    EVP_DigestUpdate(up->sha, p, n);
    gw_chat_check_feed(&up->chk, p, n);

    return 0;
}


static int
gw_up_end(void *data)
{
    gw_upload_t  *up = data;

    up->in_file = 0;
    up->in_purpose = 0;

    return 0;
}


int
gw_upload_check_type(const char *content_type, size_t ct_len,
    gw_error_t *err)
{
    gw_mp_t          *mp;
    gw_mp_handler_t   h;

    mp = malloc(sizeof(gw_mp_t));
    if (mp == NULL) {
        gw_error_set(err, 503, "server_error", NULL, "out_of_memory",
                     "The gateway is out of memory");
        return -1;
    }

    memset(&h, 0, sizeof(h));

    if (gw_mp_init(mp, content_type, ct_len, &h) != GW_MP_OK) {
        gw_error_set(err, 400, GW_TYPE_INVALID, "file", "invalid_value",
                     "%s; send the file as client.files.create() does",
                     mp->err);
        free(mp);
        return -1;
    }

    free(mp);
    return 0;
}


gw_upload_t *
gw_upload_open(const gw_gateway_t *gw, const gw_files_req_t *fr,
    const char *content_type, size_t ct_len, int64_t max_size,
    int64_t now_ms, gw_error_t *err)
{
    int               n;
    char              dir[GW_FILES_PATH_MAX];
    gw_upload_t      *up;
    unsigned char     key[GW_FILE_KEY_LEN];
    gw_mp_handler_t   h;

    up = calloc(1, sizeof(gw_upload_t));
    if (up == NULL) {
        gw_error_set(err, 503, "server_error", NULL, "out_of_memory",
                     "The gateway is out of memory");
        return NULL;
    }

    up->fd = -1;
    up->max_size = max_size;
    up->created_at = now_ms / 1000;
    up->created_ms = now_ms;
    gw_copy(up->client, sizeof(up->client), fr->client->name);
    gw_copy(up->root, sizeof(up->root), gw->files_root);

    h.part = gw_up_part;
    h.body = gw_up_body;
    h.end = gw_up_end;
    h.data = up;

    if (gw_mp_init(&up->mp, content_type, ct_len, &h) != GW_MP_OK) {
        gw_error_set(err, 400, GW_TYPE_INVALID, "file", "invalid_value",
                     "%s; send the file as client.files.create() does",
                     up->mp.err);
        free(up);
        return NULL;
    }

    up->sha = EVP_MD_CTX_new();

    if (up->sha == NULL || EVP_DigestInit_ex(up->sha, EVP_sha256(), NULL) != 1
        || gw_random_bytes(key, sizeof(key)) != 0)
    {
        gw_error_set(err, 503, "server_error", NULL, "out_of_memory",
                     "The gateway could not start the upload");
        EVP_MD_CTX_free(up->sha);
        free(up);
        return NULL;
    }

    gw_hex(key, sizeof(key), up->key);

    /* the first key signs: the newest, after a rotation */
    if (gw->nid_keys == 0
        || gw_file_id_encode(up->client, gw->id_keys[0].data,
                             gw->id_keys[0].len, key, up->id, sizeof(up->id))
           != GW_OK)
    {
        gw_error_set(err, 503, "server_error", NULL, "out_of_memory",
                     "The gateway could not start the upload");
        EVP_MD_CTX_free(up->sha);
        free(up);
        return NULL;
    }

    gw_chat_check_init(&up->chk, 0);

    /* the tmp folder and the client's, made on first use */
    n = snprintf(dir, sizeof(dir), "%s/.tmp", up->root);
    if (n > 0 && (size_t) n < sizeof(dir)) {
        (void) mkdir(dir, 0700);
    }

    if (gw_files_dir(up->root, up->client, dir, sizeof(dir)) == 0) {
        (void) mkdir(dir, 0755);
    }

    n = snprintf(up->tmp, sizeof(up->tmp), "%s/.tmp/%s", up->root, up->key);

    if (n > 0 && (size_t) n < sizeof(up->tmp)) {
        up->fd = open(up->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                      0644);
    }

    if (up->fd == -1) {
        gw_error_set(err, 503, "server_error", NULL,
                     "file_store_unavailable",
                     "The file store cannot take the upload");
        gw_chat_check_free(&up->chk);
        EVP_MD_CTX_free(up->sha);
        free(up);
        return NULL;
    }

    return up;
}


int
gw_upload_feed(gw_upload_t *up, const char *p, size_t n)
{
    if (up->failed) {
        return -1;
    }

    if (gw_mp_feed(&up->mp, p, n) == GW_MP_FAIL) {
        gw_up_fail(up, 400, "file", "invalid_value", up->mp.err);
        return -1;
    }

    return 0;
}


const gw_error_t *
gw_upload_error(const gw_upload_t *up)
{
    return &up->err;
}


int
gw_upload_finish(gw_upload_t *up, gw_file_t *f)
{
    int            n;
    char           path[GW_FILES_PATH_MAX], meta[GW_FILES_PATH_MAX];
    unsigned int   dlen;
    unsigned char  digest[32];

    if (up->failed) {
        return -1;
    }

    if (gw_mp_finish(&up->mp) != GW_MP_DONE) {
        gw_up_fail(up, 400, "file", "invalid_value", up->mp.err);
        return -1;
    }

    if (!up->purpose_seen) {
        gw_up_fail(up, 400, "purpose", "missing_required_parameter",
                   "purpose is required: \"fine-tune\"");
        return -1;
    }

    if (strcmp(up->purpose, "fine-tune") != 0) {
        char  msg[96];

        snprintf(msg, sizeof(msg), "'%.32s' is not one of ['fine-tune'] - "
                 "'purpose'", up->purpose);
        gw_up_fail(up, 400, "purpose", "invalid_value", msg);
        return -1;
    }

    if (!up->file_seen) {
        gw_up_fail(up, 400, "file", "missing_required_parameter",
                   "file is required: a multipart part named \"file\"");
        return -1;
    }

    gw_chat_check_finish(&up->chk, GW_CHAT_MIN_EXAMPLES);

    if (up->chk.nomem) {
        up->failed = 1;
        gw_error_set(&up->err, 503, "server_error", NULL, "out_of_memory",
                     "The gateway is out of memory");
        return -1;
    }

    memset(f, 0, sizeof(gw_file_t));
    gw_copy(f->id, sizeof(f->id), up->id);
    gw_copy(f->key, sizeof(f->key), up->key);
    gw_copy(f->filename, sizeof(f->filename), up->filename);
    gw_copy(f->purpose, sizeof(f->purpose), up->purpose);
    f->bytes = up->bytes;
    f->created_at = up->created_at;
    f->created_ms = up->created_ms;
    f->examples = up->chk.failed ? 0 : up->chk.examples;
    f->status = up->chk.failed ? GW_FILE_ERROR : GW_FILE_PROCESSED;
    gw_copy(f->status_details, sizeof(f->status_details),
            up->chk.failed ? up->chk.detail : "");

    dlen = 0;
    EVP_DigestFinal_ex(up->sha, digest, &dlen);
    gw_hex(digest, sizeof(digest), f->sha256);

    /* no fsync(): it would hold the event loop for a large file */
    if (close(up->fd) != 0) {
        up->fd = -1;
        goto store_fail;
    }

    up->fd = -1;

    /* bytes first, then the metadata: a file is visible once whole */
    n = snprintf(path, sizeof(path), "%s/%s/%s.jsonl", up->root, up->client,
                 up->key);
    if (n < 0 || (size_t) n >= sizeof(path) || rename(up->tmp, path) != 0) {
        goto store_fail;
    }

    up->tmp[0] = '\0';

    n = snprintf(meta, sizeof(meta), "%s/.tmp/%s.json", up->root, up->key);
    if (n < 0 || (size_t) n >= sizeof(meta)
        || gw_store_write_meta(meta, f) != 0)
    {
        unlink(path);
        goto store_fail;
    }

    n = snprintf(path, sizeof(path), "%s/%s/%s.json", up->root, up->client,
                 up->key);
    if (n < 0 || (size_t) n >= sizeof(path) || rename(meta, path) != 0) {
        unlink(meta);
        n = snprintf(path, sizeof(path), "%s/%s/%s.jsonl", up->root,
                     up->client, up->key);
        if (n > 0 && (size_t) n < sizeof(path)) {
            unlink(path);
        }

        goto store_fail;
    }

    return 0;

store_fail:

    up->failed = 1;
    gw_error_set(&up->err, 503, "server_error", NULL,
                 "file_store_unavailable",
                 "The file could not be written to the store");
    return -1;
}


void
gw_upload_abort(gw_upload_t *up)
{
    if (up == NULL) {
        return;
    }

    if (up->fd != -1) {
        close(up->fd);
    }

    if (up->tmp[0] != '\0') {
        (void) unlink(up->tmp);
    }

    gw_chat_check_free(&up->chk);
    EVP_MD_CTX_free(up->sha);
    free(up);
}


/* ---- job creates that name files ---------------------------------- */


/*
 * A "file-..." reference of a create: the client's processed file, its
 * key and object; else a 400 naming param
 */

gw_rc_t
gw_files_lookup(const gw_gateway_t *gw, const gw_client_t *client,
    const char *ref, const char *param, char *key, gw_file_t *f,
    gw_error_t *err)
{
    if (gw->files_root == NULL
        || gw_file_id_verify(ref, strlen(ref), client->name,
                             gw->id_keys, gw->nid_keys, key)
           != GW_OK
        || gw_store_get(gw->files_root, client->name, key, f) != 0)
    {
        gw_error_invalid(err, param, "file_not_found",
                         "%s: no such file: '%.64s'", param, ref);
        return GW_ERROR;
    }

    /* named as the client named it, whichever key signed that */
    gw_copy(f->id, sizeof(f->id), ref);

    if (f->status != GW_FILE_PROCESSED) {
        gw_error_invalid(err, param, "invalid_file_status",
                         "%s: file %s is %s, not processed%s%.200s",
                         param, f->id,
                         f->status == GW_FILE_ERROR ? "in error"
                                                    : "still processing",
                         f->status_details[0] ? ": " : "",
                         f->status_details);
        return GW_ERROR;
    }

    return GW_OK;
}


gw_rc_t
gw_files_resolve(const gw_gateway_t *gw, const gw_client_t *client,
    const gw_provider_t *p, gw_job_spec_t *spec, gw_error_t *err)
{
    int          n;
    char         key[2 * GW_FILE_KEY_LEN + 1], param[96];
    char         src[GW_FILES_PATH_MAX], dir[GW_FILES_PATH_MAX];
    char         dst[GW_FILES_PATH_MAX], ref[256], *copy;
    size_t       i;
    gw_file_t    f;
    const char  *root, *pname;
    gw_dataset_t *ds;

    for (i = 0; i < spec->ntrain + spec->nvalid; i++) {
        ds = (i < spec->ntrain) ? &spec->train[i]
                                : &spec->valid[i - spec->ntrain];

        if (ds->ref == NULL || strncmp(ds->ref, "file-", 5) != 0) {
            continue;
        }

        pname = gw_dataset_param(spec, i >= spec->ntrain,
                                 i < spec->ntrain ? i : i - spec->ntrain,
                                 param, sizeof(param));

        if (gw_files_lookup(gw, client, ds->ref, pname, key, &f, err)
            != GW_OK)
        {
            return GW_ERROR;
        }

        root = gw_provider_param(p, "dataset_root");

        if (root == NULL) {
            gw_error_invalid(err, pname, "unsupported_value",
                             "%s: provider '%s' cannot take uploaded files "
                             "yet: give a reference to data the vendor "
                             "already holds (its own dataset scheme)",
                             pname, p->name);
            return GW_ERROR;
        }

        /* staged once: <dataset_root>/ftgw-files/<client>-<key>.jsonl */
        n = snprintf(dir, sizeof(dir), "%s/" GW_STAGE_DIR, root);
        if (n < 0 || (size_t) n >= sizeof(dir)) {
            goto stage_fail;
        }

        (void) mkdir(dir, 0755);

        n = snprintf(dst, sizeof(dst), "%s/%s-%s.jsonl", dir, client->name,
                     key);
        if (n < 0 || (size_t) n >= sizeof(dst)
            || gw_store_content_path(gw->files_root, client->name, key, src,
                                     sizeof(src))
               != 0)
        {
            goto stage_fail;
        }

        /* a hard link: no copy, and it outlives a delete of the file */
        if (link(src, dst) != 0 && errno != EEXIST) {
            if (errno != EXDEV || symlink(src, dst) != 0) {
                goto stage_fail;
            }
        }

        n = snprintf(ref, sizeof(ref), "local://datasets/" GW_STAGE_DIR
                     "/%s-%s.jsonl", client->name, key);
        if (n < 0 || (size_t) n >= sizeof(ref)) {
            goto stage_fail;
        }

        copy = gw_strdup(ref);
        if (copy == NULL) {
            goto stage_fail;
        }

        /* the client's id stays what the job names */
        ds->file_id = ds->ref;
        ds->ref = copy;
        continue;

    stage_fail:

        gw_error_set(err, 503, GW_TYPE_API, pname, "file_staging_failed",
                     "%s: the file could not be staged for provider '%s'",
                     pname, p->name);
        return GW_ERROR;
    }

    return GW_OK;
}
