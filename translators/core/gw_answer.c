
/*
 * A vendor's answer, classified: one place where a transport outcome and
 * a vendor's HTTP status become the client's status and error type.  A
 * vendor maps its own documented codes with its own table and falls back
 * on gw_answer_class() for what its table lacks, so that every vendor
 * answers alike (the matrix is in docs/api.md#vendor-errors).
 */


#include <string.h>

#include <core/gw_core.h>


typedef struct {
    int                 from;            /* vendor HTTP status range */
    int                 to;
    int                 http;            /* what the client gets */
    const char         *type;
} gw_answer_rule_t;


/*
 * First match wins.  A 401 or 403 of a vendor is the gateway's own
 * credentials, not the client's key: 502, so the client's SDK does not
 * raise AuthenticationError.  Other 4xx and every other 5xx are the
 * vendor's or the gateway's failure, never the client's: 502.
 */
static const gw_answer_rule_t  gw_answer_rules[] = {
    { 401, 401, 502, GW_TYPE_UPSTREAM },
    { 403, 403, 502, GW_TYPE_UPSTREAM },
    { 404, 404, 404, GW_TYPE_NOT_FOUND },
    { 409, 409, 409, GW_TYPE_CONFLICT },
    { 429, 429, 429, GW_TYPE_RATE_LIMIT },
    { 503, 503, 503, GW_TYPE_API },
    { 504, 504, 504, GW_TYPE_TIMEOUT }
};


gw_answer_class_t
gw_answer_class(int vendor_status)
{
    size_t                   i;
    gw_answer_class_t        c;
    const gw_answer_rule_t  *r;

    for (i = 0; i < sizeof(gw_answer_rules) / sizeof(gw_answer_rules[0]);
         i++)
    {
        r = &gw_answer_rules[i];

        if (vendor_status >= r->from && vendor_status <= r->to) {
            c.http = r->http;
            c.type = r->type;
            return c;
        }
    }

    /* anything else: the vendor's or the gateway's failure */
    c.http = 502;
    c.type = GW_TYPE_UPSTREAM;

    return c;
}


int
gw_op_transport_error(gw_op_t *op)
{
    const char  *name;

    name = op->provider->name;

    switch (op->resp->transport) {

    case GW_TRANSPORT_OK:
        return 0;

    case GW_TRANSPORT_TIMEOUT:
        gw_error_set(&op->err, 504, GW_TYPE_TIMEOUT, NULL,
                     "vendor_timeout",
                     "provider '%s' did not answer in time", name);
        return 1;

    case GW_TRANSPORT_TOO_LARGE:
        gw_error_set(&op->err, 502, GW_TYPE_UPSTREAM, NULL,
                     "vendor_response_too_large",
                     "provider '%s' sent a response larger than the "
                     "gateway accepts", name);
        return 1;

    default:
        gw_error_set(&op->err, 502, GW_TYPE_UPSTREAM, NULL,
                     "vendor_unreachable",
                     "provider '%s' could not be reached", name);
        return 1;
    }
}


/*
 * A body that is not the vendor's: a proxy's or nginx's page on the way.
 * Only overload, limits and timeouts say something; a 404 page is not a
 * missing job.
 */
void
gw_op_unreadable(gw_op_t *op, const char *what)
{
    const char  *name;

    name = op->provider->name;

    switch (op->resp->status) {

    case 429:
        gw_error_set(&op->err, 429, GW_TYPE_RATE_LIMIT, NULL,
                     "rate_limited", "provider '%s' is rate limiting the "
                     "gateway; retry later", name);
        break;

    case 503:
        gw_error_set(&op->err, 503, GW_TYPE_API, NULL, "vendor_unavailable",
                     "provider '%s' is unavailable (HTTP 503)", name);
        break;

    case 504:
        gw_error_set(&op->err, 504, GW_TYPE_TIMEOUT, NULL, "vendor_timeout",
                     "provider '%s' timed out (HTTP 504)", name);
        break;

    default:
        gw_error_set(&op->err, 502, GW_TYPE_UPSTREAM, NULL,
                     "invalid_vendor_response", "provider '%s' answered "
                     "HTTP %d with %s", name, op->resp->status, what);
        break;
    }
}


void
gw_op_storage_error(gw_op_t *op, const char *store, const char *action,
    const char *code)
{
    int  status;

    status = op->resp->status;

    if (status == 429 || status == 503 || status == 504) {
        gw_op_unreadable(op, "");
        return;
    }

    /* a refused key or a missing bucket is the operator's to fix */
    gw_error_set(&op->err, 502, GW_TYPE_UPSTREAM, NULL,
                 strcmp(action, "upload") == 0 ? "dataset_upload_failed"
                                               : "dataset_delete_failed",
                 "provider '%s' refused the dataset's %s in its %s: HTTP "
                 "%d%s%.64s", op->provider->name, action, store, status,
                 code ? " " : "", code ? code : "");
}


void
gw_op_nomem(gw_op_t *op)
{
    gw_error_set(&op->err, 503, GW_TYPE_API, NULL, "out_of_memory",
                 "The gateway is out of memory");
}
