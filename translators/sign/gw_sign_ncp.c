
/*
 * NCP API Gateway signature v2 (legacy CLOVA Studio authentication).
 */


#include <stdlib.h>
#include <string.h>

#include <sign/gw_sign.h>


/* big enough for any gw_call_t path and query without an allocation */
#define GW_NCP_STACK_BUF  2048


static void gw_sign_ncp_concat(char *dst, const char *method,
    const char *uri, const char *timestamp, const char *access_key);


/*
 * base64(HMAC-SHA256(secret, METHOD " " URI "\n" timestamp "\n" key)).
 * Nothing is canonicalised: the URI must be byte-identical to what is sent.
 * When memory runs out, out is "" and the vendor will answer 401.
 */

void
gw_sign_ncp_v2(const char *method, const char *uri, const char *timestamp,
    const char *access_key, const char *secret_key, char *out)
{
    char           *msg;
    size_t          len;
    unsigned char   mac[32];
    char            buf[GW_NCP_STACK_BUF];

    len = strlen(method) + 1 + strlen(uri) + 1 + strlen(timestamp) + 1
          + strlen(access_key);

    if (len < sizeof(buf)) {
        msg = buf;

    } else {
        msg = gw_malloc(len + 1);
        if (msg == NULL) {
            out[0] = '\0';
            return;
        }
    }

    gw_sign_ncp_concat(msg, method, uri, timestamp, access_key);

    gw_hmac_sha256(secret_key, strlen(secret_key), msg, len, mac);
    gw_base64(mac, sizeof(mac), out);

    if (msg != buf) {
        gw_free(msg);
    }
}


static void
gw_sign_ncp_concat(char *dst, const char *method, const char *uri,
    const char *timestamp, const char *access_key)
{
    size_t  n;

    n = strlen(method);
    memcpy(dst, method, n);
    dst += n;
    *dst++ = ' ';

    n = strlen(uri);
    memcpy(dst, uri, n);
    dst += n;
    *dst++ = '\n';

    n = strlen(timestamp);
    memcpy(dst, timestamp, n);
    dst += n;
    *dst++ = '\n';

    n = strlen(access_key);
    memcpy(dst, access_key, n);
    dst[n] = '\0';
}
