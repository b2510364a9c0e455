
/*
 * The conversion of uploaded chat files to the vendors' datasets
 * (core/gw_stage.c and each vendor's gw_stage_format_t).  Whatever the
 * file, a conversion either refuses it (a 400 naming training_file, or
 * a 503) or writes a dataset that the vendor's own rules accept:
 *
 *   CLOVA    RFC 4180 CSV: the header, then rows of 5 fields; C_ID from 0
 *            and +1 a conversation, T_ID from 0 and +1 a turn; Text and
 *            Completion non-empty; one System_Prompt a conversation;
 *            at least 100 rows
 *   Qianfan  a JSON array a line, 1 to 150 turns {"prompt", "response":
 *            [[text]]} with non-empty texts, "system" on the first only
 *   Yandex   a JSON object a line {"request": [{"role", "text"}...] ending
 *            with the user's, "response": non-empty}
 *
 * and, from a UTF-8 file, a UTF-8 dataset.  The output's SHA-256 and size
 * are those of the bytes written.
 *
 * Input: byte 0 picks the vendor (mod 3); the rest is the file.
 */


#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gw.h>
#include <core/gw_core.h>
#include <core/gw_chatfile.h>


static char  src[64], dst[64];


static void
fail(const char *what, const char *out, size_t len)
{
    fprintf(stderr, "%s\n--- output (%zu bytes) ---\n%.2000s\n", what, len,
            out);
    abort();
}


/* the next CSV field at *p (RFC 4180), unquoted into buf; its end char */
static int
csv_field(const char **p, const char *end, char *buf, size_t size)
{
    size_t  n;

    n = 0;

    if (*p < end && **p == '"') {
        (*p)++;

        for ( ;; ) {
            if (*p >= end) {
                return -1;                      /* an open quote */
            }

            if (**p == '"') {
                if (*p + 1 < end && (*p)[1] == '"') {
                    *p += 2;
                    if (n + 1 < size) {
                        buf[n++] = '"';
                    }
                    continue;
                }

                (*p)++;
                break;
            }

            if (n + 1 < size) {
                buf[n++] = **p;
            }
            (*p)++;
        }

    } else {
        while (*p < end && **p != ',' && **p != '\r' && **p != '\n') {
            if (**p == '"') {
                return -1;                      /* a bare quote */
            }
            if (n + 1 < size) {
                buf[n++] = **p;
            }
            (*p)++;
        }
    }

    buf[n] = '\0';

    if (*p >= end) {
        return -1;
    }

    if (**p == ',') {
        (*p)++;
        return ',';
    }

    if (**p == '\r' && *p + 1 < end && (*p)[1] == '\n') {
        *p += 2;
        return '\n';
    }

    return -1;
}


static void
check_clova(const char *out, size_t len)
{
    int          c, i;
    long         cid, tid, prev_cid, prev_tid, rows;
    char         f[5][4096], system[4096];
    const char  *p, *end;

    p = out;
    end = out + len;

    if (len < 41 || memcmp(out, "System_Prompt,C_ID,T_ID,Text,Completion"
                                "\r\n", 41) != 0)
    {
        fail("clova: no header", out, len);
    }

    p += 41;
    prev_cid = -1;
    prev_tid = -1;
    rows = 0;
    system[0] = '\0';

    while (p < end) {
        for (i = 0; i < 5; i++) {
            c = csv_field(&p, end, f[i], sizeof(f[i]));

            if (c != (i < 4 ? ',' : '\n')) {
                fail("clova: a row that is not 5 CSV fields", out, len);
            }
        }

        cid = strtol(f[1], NULL, 10);
        tid = strtol(f[2], NULL, 10);

        if (cid == prev_cid) {
            if (tid != prev_tid + 1 || strcmp(system, f[0]) != 0) {
                fail("clova: T_ID not consecutive, or a second "
                     "System_Prompt in a conversation", out, len);
            }

        } else if (cid != prev_cid + 1 || tid != 0) {
            fail("clova: C_ID not consecutive, or T_ID not from 0", out,
                 len);
        }

        if (f[3][0] == '\0' || f[4][0] == '\0') {
            fail("clova: an empty Text or Completion", out, len);
        }

        memcpy(system, f[0], sizeof(system));
        prev_cid = cid;
        prev_tid = tid;
        rows++;
    }

    if (rows < 100) {
        fail("clova: fewer than 100 rows", out, len);
    }
}


static int
text_ok(const cJSON *v)
{
    return cJSON_IsString(v) && v->valuestring[0] != '\0';
}


static void
check_lines(int vendor, const char *out, size_t len)
{
    size_t        n;
    cJSON        *line;
    const char   *p, *nl, *role;
    const cJSON  *turn, *r, *item, *last;

    for (p = out; p < out + len; p = nl + 1) {
        nl = memchr(p, '\n', out + len - p);
        if (nl == NULL) {
            fail("a last line without its newline", out, len);
        }

        line = gw_json_parse(p, nl - p, NULL);
        if (line == NULL) {
            fail("a line that is not JSON", out, len);
        }

        if (vendor == 1) {
            n = 0;

            for (turn = cJSON_IsArray(line) ? line->child : NULL;
                 turn != NULL; turn = turn->next)
            {
                r = gw_json_get(turn, "response");

                if (!text_ok(gw_json_get(turn, "prompt"))
                    || !cJSON_IsArray(r) || cJSON_GetArraySize(r) != 1
                    || !cJSON_IsArray(r->child)
                    || cJSON_GetArraySize(r->child) != 1
                    || !text_ok(r->child->child)
                    || (n > 0 && gw_json_get(turn, "system") != NULL))
                {
                    fail("qianfan: a bad turn", out, len);
                }

                n++;
            }

            if (n < 1 || n > 150) {
                fail("qianfan: 0 or over 150 turns", out, len);
            }

        } else {
            r = gw_json_get(line, "request");
            last = NULL;

            for (item = cJSON_IsArray(r) ? r->child : NULL; item != NULL;
                 item = item->next)
            {
                role = gw_json_str(item, "role");

                if (role == NULL || !cJSON_IsString(gw_json_get(item,
                                                                "text"))
                    || (strcmp(role, "system") == 0 && item != r->child)
                    || (strcmp(role, "system") != 0
                        && strcmp(role, "user") != 0
                        && strcmp(role, "assistant") != 0))
                {
                    fail("yandex: a bad request message", out, len);
                }

                last = item;
            }

            if (last == NULL || strcmp(gw_json_str(last, "role"), "user")
                || !text_ok(gw_json_get(line, "response")))
            {
                fail("yandex: no user message last, or no response", out,
                     len);
            }
        }

        gw_json_delete(line);
    }
}


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    gw_mem_init();
    snprintf(src, sizeof(src), "/tmp/fuzz_stage.%d.src", (int) getpid());
    snprintf(dst, sizeof(dst), "/tmp/fuzz_stage.%d.dst", (int) getpid());
    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                       rc, vendor;
    char                      sha[65], hex[65], *out;
    long                      len;
    FILE                     *f;
    size_t                    bad;
    gw_error_t                err;
    unsigned char             md[32];
    gw_convert_t             *cv;
    const gw_stage_format_t  *fmt;

    static const gw_vendor_t  *vendors[3] = {
        &gw_vendor_clova, &gw_vendor_qianfan, &gw_vendor_yandex
    };

    if (size < 1) {
        return 0;
    }

    vendor = data[0] % 3;
    fmt = vendors[vendor]->stage_format;

    f = fopen(src, "wb");
    if (f == NULL || fwrite(data + 1, 1, size - 1, f) != size - 1) {
        abort();
    }
    fclose(f);

    cv = gw_convert_open(fmt, src, dst, "training_file", &err);
    if (cv == NULL) {
        abort();
    }

    /* small steps: lines across reads and steps */
    do {
        rc = gw_convert_step(cv, 1, &err);
    } while (rc == 1);

    if (rc != 0) {
        gw_convert_close(cv);

        if (err.http_status == 400
            && (strcmp(err.param, "training_file") != 0
                || strcmp(err.code, "invalid_training_file") != 0))
        {
            fprintf(stderr, "a 400 without its param: %s\n", err.message);
            abort();
        }

        return 0;
    }

    f = fopen(dst, "rb");
    if (f == NULL || fseek(f, 0, SEEK_END) != 0) {
        abort();
    }

    len = ftell(f);
    out = malloc(len + 1);
    rewind(f);

    if (out == NULL || fread(out, 1, len, f) != (size_t) len) {
        abort();
    }

    fclose(f);
    out[len] = '\0';

    gw_sha256(out, len, md);
    gw_hex(md, 32, hex);
    gw_convert_sha256(cv, sha);

    if (strcmp(sha, hex) != 0 || gw_convert_size(cv) != len) {
        fail("the hash or size is not the output's", out, len);
    }

    gw_convert_close(cv);

    if (gw_utf8_valid(data + 1, size - 1, &bad)
        && !gw_utf8_valid((const unsigned char *) out, len, &bad))
    {
        fail("a UTF-8 file made a dataset that is not", out, len);
    }

    if (vendor == 0) {
        check_clova(out, len);

    } else {
        check_lines(vendor, out, len);
    }

    free(out);

    return 0;
}
