
/*
 * The Files API and the embedded file store (core/gw_files.c).
 *
 * The nginx glue routes /v1/files requests here, streams an upload's body
 * from nginx's temp file through gw_upload_feed() in bounded steps, and
 * sends a stored file's content itself.  Everything else, the routes,
 * the client's authentication, the file ids, the store's layout and
 * metadata, the multipart parsing and the format check, is here.
 *
 * The store is a directory:
 *
 *     <root>/<client>/<key>.jsonl    the file's bytes
 *     <root>/<client>/<key>.json     its FileObject and example count
 *     <root>/.tmp/                   uploads in progress (same filesystem)
 *
 * key is 32 hex digits, drawn at random; the file id is "file-"
 * base64url(key || HMAC-SHA256(secret, "file" 0 client 0 key)[0..16)),
 * so that a tampered id or another client's does not decode.  An upload
 * becomes visible in one rename(), of its metadata, after its bytes.
 */


#ifndef _GW_FILES_H_INCLUDED_
#define _GW_FILES_H_INCLUDED_


#include <gw.h>


#define GW_FILE_KEY_LEN      16
#define GW_FILE_ID_MAX       64
#define GW_FILE_NAME_MAX     256
#define GW_FILES_PATH_MAX    4096


typedef enum {
    GW_FILE_UPLOADED = 0,
    GW_FILE_PROCESSED,
    GW_FILE_ERROR
} gw_file_status_t;


typedef struct {
    char                 id[GW_FILE_ID_MAX];
    char                 key[2 * GW_FILE_KEY_LEN + 1];
    int64_t              bytes;
    int64_t              created_at;               /* unix seconds */
    int64_t              created_ms;               /* the list's order */
    char                 filename[GW_FILE_NAME_MAX];
    char                 purpose[32];
    gw_file_status_t     status;
    char                 status_details[256];
    int64_t              examples;
    char                 sha256[65];
} gw_file_t;


typedef enum {
    GW_FILES_ERROR = 0,          /* answer: gw_files_error_json(&fr->err) */
    GW_FILES_UPLOAD,
    GW_FILES_LIST,
    GW_FILES_RETRIEVE,
    GW_FILES_CONTENT,
    GW_FILES_DELETE
} gw_files_op_t;


typedef struct {
    gw_files_op_t        op;
    const gw_client_t   *client;
    const gw_id_key_t   *id_key;      /* signs the list's ids, or NULL */
    char                 id[GW_FILE_ID_MAX];
    char                 key[2 * GW_FILE_KEY_LEN + 1];
    /* list */
    char                 purpose[32];             /* "" = any */
    int64_t              limit;
    char                 after_key[2 * GW_FILE_KEY_LEN + 1];
    int                  ascending;
    char                 request_id[GW_REQUEST_ID_MAX + 1];
    gw_error_t           err;
} gw_files_req_t;


typedef struct gw_upload_s  gw_upload_t;


/* 1 when the path's tail is "/files" or "/files/..." */
int gw_files_path(const char *path, size_t len);

/* authenticates, matches the route and its query; GW_FILES_ERROR: err */
gw_files_op_t gw_files_route(const gw_gateway_t *gw, const gw_request_t *req,
    gw_files_req_t *fr);

/* "file_upload", "file_list", ...: the operation, for logs; NULL: none */
const char *gw_files_op_name(gw_files_op_t op);

/* the error envelope; gw_files_free() it */
char *gw_files_error_json(const gw_error_t *err, size_t *len);

/* file ids */
gw_rc_t gw_file_id_encode(const char *client, const unsigned char *secret,
    size_t secret_len, const unsigned char key[GW_FILE_KEY_LEN], char *out,
    size_t size);
gw_rc_t gw_file_id_decode(const char *id, size_t len, const char *client,
    const unsigned char *secret, size_t secret_len,
    char key_hex[2 * GW_FILE_KEY_LEN + 1]);
/* gw_file_id_decode() with each of keys in turn (rotation) */
gw_rc_t gw_file_id_verify(const char *id, size_t len, const char *client,
    const gw_id_key_t *keys, size_t nkeys,
    char key_hex[2 * GW_FILE_KEY_LEN + 1]);

/* the store; every function 0 or -1 (errno kept) */
int gw_store_get(const char *root, const char *client, const char *key,
    gw_file_t *f);
int gw_store_content_path(const char *root, const char *client,
    const char *key, char *out, size_t size);
int gw_store_delete(const char *root, const char *client, const char *key);

/* a create's "file-..." reference: the client's processed file (its key,
 * 33 bytes, and object), or a 400 naming param */
gw_rc_t gw_files_lookup(const gw_gateway_t *gw, const gw_client_t *client,
    const char *ref, const char *param, char *key, gw_file_t *f,
    gw_error_t *err);
/* forgets what was staged of a file (its "<key>.staged-*" records) */
void gw_store_staged_remove(const char *root, const char *client,
    const char *key);

/* frees what the functions below return */
void gw_files_free(void *p);

/* answers, malloc()'d: the FileObject, the list, the deletion */
char *gw_file_json(const gw_file_t *f, size_t *len);
char *gw_files_list_json(const char *root, const gw_files_req_t *fr,
    size_t *len, gw_error_t *err);
char *gw_file_deleted_json(const char *id, size_t *len);

/*
 * An upload.  open: the tmp file is made and the multipart body's
 * Content-Type checked; feed: the body in chunks of any size; finish:
 * the body ended, the file is checked and moved in place (its object in
 * f); abort: frees and removes what was written.  On -1, err says why
 * and nothing is left in the store.
 */
/* the request's Content-Type, checked before its body is read: 0 or -1 */
int gw_upload_check_type(const char *content_type, size_t ct_len,
    gw_error_t *err);
gw_upload_t *gw_upload_open(const gw_gateway_t *gw, const gw_files_req_t *fr,
    const char *content_type, size_t ct_len, int64_t max_size,
    int64_t now_ms, gw_error_t *err);
int gw_upload_feed(gw_upload_t *up, const char *p, size_t n);
int gw_upload_finish(gw_upload_t *up, gw_file_t *f);
const gw_error_t *gw_upload_error(const gw_upload_t *up);
void gw_upload_abort(gw_upload_t *up);


#endif /* _GW_FILES_H_INCLUDED_ */
