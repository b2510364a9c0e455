
/*
 * Fine-tuning gateway: the pure C core.
 *
 * Nothing here knows about nginx.  The nginx glue parses directives into a
 * gw_gateway_t, then drives one gw_exchange_t per client request:
 *
 *     ex = gw_exchange_create(gw, &req);
 *     if (gw_exchange_needs_body(ex)) { read body; gw_exchange_set_body(); }
 *     while ((next = gw_exchange_next(ex, &call)) != GW_NEXT_DONE) {
 *         if (next == GW_NEXT_AGAIN) { let the event loop run; continue; }
 *         ... send call to call->provider->endpoint + call->path ...
 *         gw_exchange_feed(ex, &vendor_response);
 *     }
 *     send gw_exchange_result(ex);
 *     gw_exchange_free(ex);
 *
 * Time, request ids and secrets are passed in, so every function is
 * deterministic and unit-testable.  The core is for one thread, nginx's
 * event loop: the request arena and the HMAC key states are process-wide.
 */


#ifndef _GW_H_INCLUDED_
#define _GW_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define GW_MAX_PARAMS         16
#define GW_MAX_HEADERS        8
#define GW_MAX_DATASETS       8
#define GW_NAME_MAX           64
#define GW_REQUEST_ID_MAX     128


typedef enum {
    GW_OK = 0,
    GW_ERROR = -1,          /* gw_error_t filled in */
    GW_NOMEM = -2
} gw_rc_t;


/* the OpenAI fine_tuning.job status enum */
typedef enum {
    GW_STATUS_VALIDATING_FILES = 0,
    GW_STATUS_QUEUED,
    GW_STATUS_RUNNING,
    GW_STATUS_SUCCEEDED,
    GW_STATUS_FAILED,
    GW_STATUS_CANCELLED
} gw_status_t;


/*
 * An error as the client sees it: {"error":{"message","type","param","code"}}
 * with http_status.  Never holds a secret: vendor messages are redacted
 * before they are copied here.
 */
typedef struct {
    int                 http_status;
    const char         *type;            /* "invalid_request_error", ... */
    char                param[GW_NAME_MAX * 2];     /* "" = null */
    char                code[GW_NAME_MAX];          /* "" = null */
    char                message[512];
} gw_error_t;


/* a provider setting from the config: "name=value", or a file's content */
typedef struct {
    const char         *name;
    const char         *value;
    int                 secret;          /* read from a file: never print */
} gw_param_t;


typedef struct gw_vendor_s  gw_vendor_t;


typedef struct {
    const char         *name;            /* routing name: "clova" */
    const gw_vendor_t  *vendor;          /* kind */
    const char         *endpoint;        /* internal location: "/_ftgw/clova" */
    gw_param_t          params[GW_MAX_PARAMS];
    size_t              nparams;
    char              **clients;         /* who may use it; NULL: anyone */
    size_t              nclients;
} gw_provider_t;


/*
 * A model route (ftgw_route): what "model": "<name>" means.  The operator
 * decides which provider and vendor model serve it; clients never change
 * when it moves.  Zero numbers are "no default".
 */
typedef struct {
    const char         *name;            /* [A-Za-z0-9._:@-]{1,64} */
    const char         *provider;        /* a provider's name */
    const char         *model;           /* the vendor model */
    double              learning_rate;   /* sent when the client gives no
                                            rate; the base of
                                            learning_rate_multiplier */
    int64_t             n_epochs;
    int64_t             batch_size;
    char              **clients;         /* who may use it; NULL: anyone
                                            the provider allows */
    size_t              nclients;
    int                 drop_unsupported;  /* unsupported=drop: fields the
                                              vendor cannot honour are
                                              dropped, and named */
} gw_model_route_t;


typedef struct {
    const char         *name;            /* [A-Za-z0-9_-]{1,32} */
    const char         *key;             /* bearer key issued by the gateway */
    size_t              key_len;
    unsigned char       key_sha256[32];  /* see gw_client_prepare */
    int                 prepared;
} gw_client_t;


/*
 * A cache every worker sees (nginx shared memory), for credentials that
 * are exchanged rather than configured, such as Yandex IAM tokens.
 * get copies a value valid at now into out and returns 1, or returns 0
 * when the caller is to fetch one: once a value is due for refresh, one
 * caller at a time is told to fetch while the others keep using it.
 */
typedef struct {
    void                 *data;
    int                 (*get)(void *data, const char *key, char *out,
                               size_t size, int64_t now_ms);
    void                (*put)(void *data, const char *key,
                               const char *value, int64_t refresh_at_ms,
                               int64_t expires_at_ms);
} gw_cache_t;


/*
 * A key of ftgw_secret_file: the HMAC key of job ids, file ids and owner
 * seals.  A gateway holds one to GW_KEYS_MAX: the first signs, every one
 * verifies, so a new key can be put first while ids and seals made with
 * the old one keep holding (rotation without downtime).
 */
typedef struct {
    const unsigned char  *data;
    size_t                len;
} gw_id_key_t;

#define GW_KEYS_MAX           8
#define GW_KEY_MIN            32


typedef struct {
    const gw_provider_t  *providers;
    size_t                nproviders;
    const gw_client_t    *clients;
    size_t                nclients;
    const gw_id_key_t    *id_keys;       /* [0] signs, all verify */
    size_t                nid_keys;
    gw_cache_t            cache;
    const gw_model_route_t  *routes;
    size_t                nroutes;
    int                   routes_only;   /* no "<provider>/<model>" */
    int64_t               loaded_at;     /* configuration, unix seconds */
    const char           *files_root;    /* the file store, or NULL */
} gw_gateway_t;


/* what the nginx glue knows about the client request */
typedef struct {
    const char         *method;          /* "GET", "POST", ... */
    size_t              method_len;
    const char         *path;            /* decoded URI path */
    size_t              path_len;
    const char         *query;           /* raw query string, may be NULL */
    size_t              query_len;
    const char         *authorization;   /* Authorization header or NULL */
    size_t              authorization_len;
    const char         *request_id;      /* client's X-Request-Id or NULL */
    size_t              request_id_len;
    const char         *generated_request_id;  /* used when none valid */
    int64_t             now_ms;          /* wall clock, ms since epoch */
} gw_request_t;


/* the strings of a call live in the exchange's arena until it is freed */
typedef struct {
    const char         *name;            /* static */
    const char         *value;
} gw_header_t;


/*
 * One outgoing vendor call, to endpoint (or provider->endpoint) + path
 * [? query].  A gRPC call is a POST of a framed message with
 * "content-type: application/grpc" and "te: trailers".
 */
typedef struct {
    const gw_provider_t  *provider;
    const char           *endpoint;      /* NULL: provider->endpoint */
    const char           *method;        /* static: "GET", "POST", ... */
    const char           *path;
    const char           *query;         /* "" = none */
    char                 *body;          /* owned by the exchange, or NULL */
    size_t                body_len;
    const char           *body_file;     /* or the body is this file's
                                            body_len bytes */
    int64_t               delay_ms;      /* a poll: sent after this long */
    gw_header_t           headers[GW_MAX_HEADERS];
    size_t                nheaders;
    int                   failed;        /* a string could not be copied */
    int                   auth;          /* a token exchange (Yandex IAM),
                                            which metrics count apart */
    /* the exchange's: the copies above, freed once the call is answered */
    char                 *owned[GW_MAX_HEADERS + 2];
    size_t                nowned;
} gw_call_t;


typedef enum {
    GW_TRANSPORT_OK = 0,                 /* the vendor answered; see status */
    GW_TRANSPORT_TIMEOUT,                /* nginx said 504 */
    GW_TRANSPORT_UNREACHABLE,            /* refused, reset, bad gateway */
    GW_TRANSPORT_TOO_LARGE               /* answer exceeded the buffer */
} gw_transport_t;


/* what came back from a vendor call */
typedef struct {
    gw_transport_t      transport;
    int                 status;          /* vendor HTTP status */
    const char         *body;
    size_t              body_len;
    int                 grpc_status;     /* -1: none (not gRPC) */
    const char         *grpc_message;    /* percent-encoded, or NULL */
    size_t              grpc_message_len;
    const char         *retry_after;     /* the Retry-After header, or NULL */
    size_t              retry_after_len;
} gw_vendor_response_t;


/* the answer to the client */
typedef struct {
    int                 http_status;
    char               *body;            /* JSON, owned by the exchange */
    size_t              body_len;
    const char         *request_id;      /* for the x-request-id header */
    const char         *retry_after;     /* for a 429 or 503, or NULL */
    const char         *dropped;         /* "seed, metadata": fields a
                                            route dropped, or NULL */
} gw_result_t;


typedef struct gw_exchange_s  gw_exchange_t;


/*
 * What a request was, for the glue's log variables and metrics.  Each
 * string is static or the exchange's own (valid until it is freed), or
 * NULL: unknown.  None is a secret or unchecked client text: client,
 * provider and route are configured names, ids are the gateway's own and
 * set once they verified, and a vendor status passed the redaction.
 */
typedef struct {
    const char         *request_id;      /* the x-request-id answered */
    const char         *client;
    const char         *provider;        /* NULL for a merged list */
    const char         *route;           /* the model route of a create */
    const char         *operation;       /* "create", "file_upload", ... */
    const char         *job_id;
    const char         *file_id;
    const char         *vendor_status;   /* the job's raw status, or the
                                            failed vendor answer's HTTP
                                            status or "grpc-<code>" */
    const char         *error_code;      /* the answer's error.code */
    int                 file_change;     /* +1 stored, -1 deleted, 0 */
    int64_t             file_bytes;      /* of the file stored or deleted */
} gw_log_info_t;


/*
 * GW_NEXT_AGAIN: the exchange did a bounded piece of work (a file's
 * conversion) and wants to be stepped again once the event loop has run
 */
typedef enum {
    GW_NEXT_AGAIN = 2,
    GW_NEXT_CALL = 1,
    GW_NEXT_DONE = 0
} gw_next_t;


const gw_vendor_t *gw_vendor_find(const char *kind);

/* once at configuration: the key's digest, so requests do not hash it */
void gw_client_prepare(gw_client_t *client);
/*
 * the client of "Authorization: Bearer <key>", or NULL; the glue asks
 * too, for $ftgw_client before the content handler runs (limit_req)
 */
const gw_client_t *gw_client_authenticate(const gw_gateway_t *gw,
    const char *auth, size_t len);

/*
 * The keys of an ftgw_secret_file: one a line, in order; a line that is
 * empty or starts with '#' holds none, a line's '\r' is not part of its
 * key.  keys[] point into text.  On an error *line is the (1-based) line
 * at fault, and for GW_KEYS_DUPLICATE *first the line of the same key.
 */
typedef enum {
    GW_KEYS_OK = 0,
    GW_KEYS_NONE,                    /* no key at all */
    GW_KEYS_SHORT,                   /* a key under GW_KEY_MIN bytes */
    GW_KEYS_DUPLICATE,               /* a key given twice */
    GW_KEYS_TOO_MANY                 /* more than GW_KEYS_MAX keys */
} gw_keys_rc_t;

gw_keys_rc_t gw_keys_parse(const unsigned char *text, size_t len,
    gw_id_key_t keys[GW_KEYS_MAX], size_t *nkeys, size_t *line,
    size_t *first);

/* checks a provider's params at configuration time; err names the param */
gw_rc_t gw_provider_check(const gw_provider_t *p, char *err, size_t len);
/* the routes of gw, once its providers and clients are known */
gw_rc_t gw_routes_check(const gw_gateway_t *gw, char *err, size_t len);
const char *gw_provider_param(const gw_provider_t *p, const char *name);

/* NULL only when out of memory */
gw_exchange_t *gw_exchange_create(const gw_gateway_t *gw,
    const gw_request_t *req);
/*
 * DELETE /v1/files/{id} of a file staged to vendors: an exchange that
 * deletes the vendors' copies too, or NULL with *mine 0 for any other
 * request (NULL with *mine 1: out of memory)
 */
gw_exchange_t *gw_exchange_unstage_create(const gw_gateway_t *gw,
    const gw_request_t *req, int *mine);
int gw_exchange_needs_body(const gw_exchange_t *ex);
void gw_exchange_set_body(gw_exchange_t *ex, const char *body, size_t len);
/* the client body could not be read in memory: it exceeds max bytes */
void gw_exchange_body_too_large(gw_exchange_t *ex, size_t max);
/* the 413 request_too_large of a body over max bytes, into err */
void gw_error_body_too_large(gw_error_t *err, size_t max);
/*
 * the 429 or 503 that nginx's limit_req or limit_conn gave (status),
 * into err: rate_limit_exceeded, or service_unavailable
 */
void gw_error_limited(gw_error_t *err, int status);

/*
 * Idempotency-Key on create (docs/api.md#idempotent-create).  The glue
 * keeps the answers, in shared memory; the translators say what a key is
 * and which answers are kept.
 *
 * gw_exchange_idempotency() checks the key of a create whose body is
 * body: 0 with key_digest = SHA-256(client, key) and body_digest =
 * SHA-256(body), or -1 when the exchange answered (400, param
 * "Idempotency-Key").  gw_exchange_replay() answers with a kept answer;
 * gw_exchange_key_reused() answers 400 for the same key with another
 * body.  gw_result_kept(): whether an answer is kept for the key's
 * retries (2xx, and 4xx but 408, 409 and 429: answers a retry would get
 * again).
 */
int gw_exchange_idempotency(gw_exchange_t *ex, const char *key,
    size_t key_len, const char *body, size_t body_len,
    unsigned char key_digest[32], unsigned char body_digest[32]);
void gw_exchange_replay(gw_exchange_t *ex, int status, const char *body,
    size_t len);
void gw_exchange_key_reused(gw_exchange_t *ex);
int gw_result_kept(const gw_result_t *res);
gw_next_t gw_exchange_next(gw_exchange_t *ex, gw_call_t **call);
void gw_exchange_feed(gw_exchange_t *ex, const gw_vendor_response_t *resp);
const gw_result_t *gw_exchange_result(gw_exchange_t *ex);
/* what the exchange is or was, so far */
void gw_exchange_log_info(gw_exchange_t *ex, gw_log_info_t *info);
void gw_exchange_free(gw_exchange_t *ex);

/* cJSON allocates through the translators' arenas: once, before any use */
void gw_mem_init(void);

/* 0, or -1 when the system's random source fails */
int gw_random_bytes(unsigned char *out, size_t len);


#endif /* _GW_H_INCLUDED_ */
