
/*
 * gw_jobid.c: job ids round-trip, and every tampered, foreign, truncated or
 * malformed id is refused.
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


static const unsigned char  secret[] = "0123456789abcdef0123456789abcdef";
#define SECRET_LEN  (sizeof(secret) - 1)


static void
make_ref(gw_job_ref_t *ref, const char *provider, const char *id1,
    const char *id2, int64_t created_at)
{
    memset(ref, 0, sizeof(gw_job_ref_t));
    strcpy(ref->provider, provider);
    strcpy(ref->vendor_id, id1);
    strcpy(ref->vendor_id2, id2);
    ref->created_at = created_at;
}


static gw_rc_t
decode(const char *id, const char *client, gw_job_ref_t *ref)
{
    return gw_job_id_decode(id, strlen(id), client, secret, SECRET_LEN, ref);
}


/*
 * An independent encoder of the documented format, to check the codec's
 * bytes and to build ids whose MAC is right but whose payload is not.
 */

static void
make_raw_id(const unsigned char *payload, size_t len, const char *client,
    char *out)
{
    size_t         clen;
    unsigned char  msg[2048], raw[2048], mac[32];

    clen = strlen(client);
    memcpy(msg, client, clen);
    msg[clen] = 0;
    memcpy(msg + clen + 1, payload, len);
    gw_hmac_sha256(secret, SECRET_LEN, msg, clen + 1 + len, mac);

    memcpy(raw, payload, len);
    memcpy(raw + len, mac, 16);

    strcpy(out, "ftjob-");
    gw_base64url(raw, len + 16, out + 6);
}


static size_t
put_payload(unsigned char *p, int version, uint64_t t, const char *a,
    const char *b, const char *c)
{
    int     i;
    size_t  n, l;

    n = 0;
    p[n++] = (unsigned char) version;

    for (i = 7; i >= 0; i--) {
        p[n++] = (unsigned char) (t >> (8 * i));
    }

    l = strlen(a);
    p[n++] = (unsigned char) l;
    memcpy(p + n, a, l);
    n += l;

    l = strlen(b);
    p[n++] = (unsigned char) l;
    memcpy(p + n, b, l);
    n += l;

    l = strlen(c);
    p[n++] = (unsigned char) l;
    memcpy(p + n, c, l);
    n += l;

    return n;
}


static void
test_round_trip(void **state)
{
    gw_job_ref_t  ref, back;
    char          id[GW_JOB_ID_MAX];

    make_ref(&ref, "clova", "abc123xyz", "", 1692590826);

    assert_int_equal(gw_job_id_encode(&ref, "team-a", secret, SECRET_LEN,
                                      id, sizeof(id)), GW_OK);
    assert_memory_equal(id, "ftjob-", 6);

    assert_int_equal(decode(id, "team-a", &back), GW_OK);
    assert_string_equal(back.provider, "clova");
    assert_string_equal(back.vendor_id, "abc123xyz");
    assert_string_equal(back.vendor_id2, "");
    assert_int_equal(back.created_at, 1692590826);

    /* url-safe: nothing to escape in a path */
    assert_int_equal(strspn(id + 6, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                    "abcdefghijklmnopqrstuvwxyz"
                                    "0123456789-_"), strlen(id) - 6);
}


static void
test_round_trip_edges(void **state)
{
    gw_job_ref_t  ref, back;
    char          id[GW_JOB_ID_MAX], big[256];

    /* negative and extreme times, a second id */
    make_ref(&ref, "q", "task:1", "job.2~x", -1);
    assert_int_equal(gw_job_id_encode(&ref, "c", secret, SECRET_LEN,
                                      id, sizeof(id)), GW_OK);
    assert_int_equal(decode(id, "c", &back), GW_OK);
    assert_int_equal(back.created_at, -1);
    assert_string_equal(back.vendor_id2, "job.2~x");

    ref.created_at = INT64_MIN;
    assert_int_equal(gw_job_id_encode(&ref, "c", secret, SECRET_LEN,
                                      id, sizeof(id)), GW_OK);
    assert_int_equal(decode(id, "c", &back), GW_OK);
    assert_true(back.created_at == INT64_MIN);

    ref.created_at = INT64_MAX;
    assert_int_equal(gw_job_id_encode(&ref, "c", secret, SECRET_LEN,
                                      id, sizeof(id)), GW_OK);
    assert_int_equal(decode(id, "c", &back), GW_OK);
    assert_true(back.created_at == INT64_MAX);

    /* the longest fields fit in GW_JOB_ID_MAX */
    memset(big, 'v', 255);
    big[255] = '\0';
    make_ref(&ref, "ppppppppppppppppppppppppppppppppppppppppppppppppppppppp"
             "pppppppp", big, big, 0);
    assert_int_equal(strlen(ref.provider), GW_NAME_MAX - 1);

    assert_int_equal(gw_job_id_encode(&ref, "client", secret, SECRET_LEN,
                                      id, sizeof(id)), GW_OK);
    assert_true(strlen(id) < GW_JOB_ID_MAX);
    assert_int_equal(decode(id, "client", &back), GW_OK);
    assert_string_equal(back.vendor_id, big);
    assert_string_equal(back.vendor_id2, big);
    assert_int_equal(strlen(back.provider), GW_NAME_MAX - 1);

    /* UTF-8 bytes are not forbidden */
    make_ref(&ref, "clova", "\xed\x95\x9c", "", 5);
    assert_int_equal(gw_job_id_encode(&ref, "c", secret, SECRET_LEN,
                                      id, sizeof(id)), GW_OK);
    assert_int_equal(decode(id, "c", &back), GW_OK);
    assert_string_equal(back.vendor_id, "\xed\x95\x9c");
}


/* the codec writes exactly the documented format */

static void
test_format(void **state)
{
    size_t         n;
    gw_job_ref_t   ref;
    unsigned char  payload[600];
    char           id[GW_JOB_ID_MAX], expect[GW_JOB_ID_MAX];

    make_ref(&ref, "clova", "t1", "t2", 0x0102030405060708LL);
    assert_int_equal(gw_job_id_encode(&ref, "team", secret, SECRET_LEN,
                                      id, sizeof(id)), GW_OK);

    n = put_payload(payload, 1, 0x0102030405060708ULL, "clova", "t1", "t2");
    make_raw_id(payload, n, "team", expect);

    assert_string_equal(id, expect);
}


static void
test_tamper_every_char(void **state)
{
    size_t         i, j, len;
    gw_job_ref_t   ref, back;
    char           id[GW_JOB_ID_MAX], bad[GW_JOB_ID_MAX];
    static const char  alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                    "abcdefghijklmnopqrstuvwxyz"
                                    "0123456789-_=+/.%~ ";

    make_ref(&ref, "clova", "task-0001", "run-7", 1700000000);
    assert_int_equal(gw_job_id_encode(&ref, "team-a", secret, SECRET_LEN,
                                      id, sizeof(id)), GW_OK);
    len = strlen(id);

    for (i = 0; i < len; i++) {
        for (j = 0; j < sizeof(alphabet) - 1; j++) {
            if (alphabet[j] == id[i]) {
                continue;
            }

            memcpy(bad, id, len + 1);
            bad[i] = alphabet[j];

            if (decode(bad, "team-a", &back) != GW_ERROR) {
                fail_msg("tampered id accepted: %s", bad);
            }

            /* nothing of a refused id is left in ref */
            assert_string_equal(back.provider, "");
            assert_string_equal(back.vendor_id, "");
        }
    }

    assert_int_equal(decode(id, "team-a", &back), GW_OK);
}


static void
test_other_client_and_secret(void **state)
{
    gw_job_ref_t  ref, back;
    char          id[GW_JOB_ID_MAX];

    make_ref(&ref, "clova", "task-1", "", 1);
    assert_int_equal(gw_job_id_encode(&ref, "team-a", secret, SECRET_LEN,
                                      id, sizeof(id)), GW_OK);

    assert_int_equal(decode(id, "team-b", &back), GW_ERROR);
    assert_int_equal(decode(id, "team-a2", &back), GW_ERROR);
    assert_int_equal(decode(id, "team-", &back), GW_ERROR);
    assert_int_equal(decode(id, "", &back), GW_ERROR);

    assert_int_equal(gw_job_id_decode(id, strlen(id), "team-a",
                                      (const unsigned char *) "another",
                                      7, &back), GW_ERROR);
    assert_int_equal(gw_job_id_decode(id, strlen(id), "team-a", secret,
                                      SECRET_LEN - 1, &back), GW_ERROR);
    assert_int_equal(gw_job_id_decode(id, strlen(id), "team-a", secret, 0,
                                      &back), GW_ERROR);
    assert_int_equal(gw_job_id_decode(id, strlen(id), NULL, secret,
                                      SECRET_LEN, &back), GW_ERROR);

    assert_int_equal(decode(id, "team-a", &back), GW_OK);
}


/*
 * Rotation: the new key first, the old one after it.  An id made with
 * the old key decodes while the old key is listed, in any place, and not
 * once it is gone; another client's never does.
 */
static void
test_verify_with_rotated_keys(void **state)
{
    char           old_id[GW_JOB_ID_MAX], new_id[GW_JOB_ID_MAX];
    gw_job_ref_t   ref, back;
    gw_id_key_t    keys[3];

    static const unsigned char  fresh[] = "fedcba9876543210fedcba9876543210";
    static const unsigned char  other[] = "a third key, long enough: 32 b..";

    keys[0] = (gw_id_key_t) { fresh, sizeof(fresh) - 1 };
    keys[1] = (gw_id_key_t) { other, sizeof(other) - 1 };
    keys[2] = (gw_id_key_t) { secret, SECRET_LEN };

    make_ref(&ref, "clova", "task-9", "run-2", 1700000000);
    assert_int_equal(gw_job_id_encode(&ref, "team-a", secret, SECRET_LEN,
                                      old_id, sizeof(old_id)), GW_OK);
    assert_int_equal(gw_job_id_encode(&ref, "team-a", fresh,
                                      sizeof(fresh) - 1, new_id,
                                      sizeof(new_id)), GW_OK);

    /* same payload, another tag */
    assert_string_not_equal(old_id, new_id);

    /* the old key third, then second */
    assert_int_equal(gw_job_id_verify(old_id, strlen(old_id), "team-a", keys,
                                      3, &back), GW_OK);
    assert_string_equal(back.vendor_id, "task-9");
    assert_string_equal(back.vendor_id2, "run-2");
    assert_int_equal(back.created_at, 1700000000);

    keys[1] = keys[2];
    assert_int_equal(gw_job_id_verify(old_id, strlen(old_id), "team-a", keys,
                                      2, &back), GW_OK);
    assert_int_equal(gw_job_id_verify(new_id, strlen(new_id), "team-a", keys,
                                      2, &back), GW_OK);
    assert_string_equal(back.vendor_id, "task-9");

    /* the old key removed: its ids are gone; a new-key id is not */
    assert_int_equal(gw_job_id_verify(old_id, strlen(old_id), "team-a", keys,
                                      1, &back), GW_ERROR);
    assert_string_equal(back.provider, "");
    assert_int_equal(gw_job_id_verify(new_id, strlen(new_id), "team-a", keys,
                                      1, &back), GW_OK);

    /* the new key removed instead (a rollback): only old ids hold */
    assert_int_equal(gw_job_id_verify(new_id, strlen(new_id), "team-a",
                                      keys + 1, 1, &back), GW_ERROR);

    /* another client, whatever the keys; and no keys at all */
    assert_int_equal(gw_job_id_verify(old_id, strlen(old_id), "team-b", keys,
                                      2, &back), GW_ERROR);
    assert_int_equal(gw_job_id_verify(old_id, strlen(old_id), "team-a", keys,
                                      0, &back), GW_ERROR);
}


static void
test_truncated_overlong_garbage(void **state)
{
    size_t         i, len;
    gw_job_ref_t   ref, back;
    char           id[GW_JOB_ID_MAX], bad[GW_JOB_ID_MAX + 16];
    static const char  *garbage[] = {
        "", "f", "ftjob", "ftjob-", "ftjob-A", "ftjob-AAAA",
        "ftjob-abc123", "FTJOB-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "ftjob-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "ftjob-!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
        "ftjob-../../../etc/passwd/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "job-abc", "ftjob_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    };

    make_ref(&ref, "clova", "task-1", "", 1);
    assert_int_equal(gw_job_id_encode(&ref, "team-a", secret, SECRET_LEN,
                                      id, sizeof(id)), GW_OK);
    len = strlen(id);

    /* every prefix, including through the explicit length */
    for (i = 0; i < len; i++) {
        assert_int_equal(gw_job_id_decode(id, i, "team-a", secret,
                                          SECRET_LEN, &back), GW_ERROR);
    }

    /* one id glued to more characters */
    memcpy(bad, id, len);
    strcpy(bad + len, "A");
    assert_int_equal(decode(bad, "team-a", &back), GW_ERROR);
    strcpy(bad + len, "AA");
    assert_int_equal(decode(bad, "team-a", &back), GW_ERROR);
    strcpy(bad + len, "AAAA");
    assert_int_equal(decode(bad, "team-a", &back), GW_ERROR);

    /* with a NUL inside the given length */
    memcpy(bad, id, len + 1);
    assert_int_equal(gw_job_id_decode(bad, len + 1, "team-a", secret,
                                      SECRET_LEN, &back), GW_ERROR);

    /* longer than any id can be */
    memset(bad, 'A', sizeof(bad));
    memcpy(bad, "ftjob-", 6);
    bad[sizeof(bad) - 1] = '\0';
    assert_int_equal(decode(bad, "team-a", &back), GW_ERROR);

    for (i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
        assert_int_equal(decode(garbage[i], "team-a", &back), GW_ERROR);
    }

    assert_int_equal(gw_job_id_decode(NULL, 0, "team-a", secret, SECRET_LEN,
                                      &back), GW_ERROR);
}


/* a correct MAC does not excuse a malformed payload */

static void
test_authentic_but_malformed(void **state)
{
    size_t         n;
    gw_job_ref_t   back;
    unsigned char  p[600];
    char           id[2048];

    /* sanity: the independent encoder makes ids that decode */
    n = put_payload(p, 1, 42, "clova", "t", "");
    make_raw_id(p, n, "c", id);
    assert_int_equal(decode(id, "c", &back), GW_OK);
    assert_int_equal(back.created_at, 42);

    /* unknown version */
    n = put_payload(p, 2, 42, "clova", "t", "");
    make_raw_id(p, n, "c", id);
    assert_int_equal(decode(id, "c", &back), GW_ERROR);

    /* trailing bytes */
    n = put_payload(p, 1, 42, "clova", "t", "");
    p[n++] = 'x';
    make_raw_id(p, n, "c", id);
    assert_int_equal(decode(id, "c", &back), GW_ERROR);

    /* a length past the end */
    n = put_payload(p, 1, 42, "clova", "t", "xy");
    p[n - 3] = 3;
    make_raw_id(p, n, "c", id);
    assert_int_equal(decode(id, "c", &back), GW_ERROR);

    /* a length that swallows the rest */
    n = put_payload(p, 1, 42, "clova", "tt", "");
    p[9] = 200;
    make_raw_id(p, n, "c", id);
    assert_int_equal(decode(id, "c", &back), GW_ERROR);

    /* empty provider or vendor id */
    n = put_payload(p, 1, 42, "", "task-12", "");
    make_raw_id(p, n, "c", id);
    assert_int_equal(decode(id, "c", &back), GW_ERROR);

    n = put_payload(p, 1, 42, "clova", "", "task-12");
    make_raw_id(p, n, "c", id);
    assert_int_equal(decode(id, "c", &back), GW_ERROR);

    /* a provider too long for gw_job_ref_t */
    n = put_payload(p, 1, 42, "pppppppppppppppppppppppppppppppppppppppppp"
                    "pppppppppppppppppppppp", "t", "");
    make_raw_id(p, n, "c", id);
    assert_int_equal(decode(id, "c", &back), GW_ERROR);

    /* characters that would change a vendor URL path */
    n = put_payload(p, 1, 42, "clova", "../x", "");
    make_raw_id(p, n, "c", id);
    assert_int_equal(decode(id, "c", &back), GW_ERROR);

    n = put_payload(p, 1, 42, "clova", "t", "a?b");
    make_raw_id(p, n, "c", id);
    assert_int_equal(decode(id, "c", &back), GW_ERROR);

    n = put_payload(p, 1, 42, "clo#va", "t", "");
    make_raw_id(p, n, "c", id);
    assert_int_equal(decode(id, "c", &back), GW_ERROR);

    n = put_payload(p, 1, 42, "clova", "t%2f", "");
    make_raw_id(p, n, "c", id);
    assert_int_equal(decode(id, "c", &back), GW_ERROR);

    n = put_payload(p, 1, 42, "clova", "t x", "");
    make_raw_id(p, n, "c", id);
    assert_int_equal(decode(id, "c", &back), GW_ERROR);

    n = put_payload(p, 1, 42, "clova", "t\x7f", "");
    make_raw_id(p, n, "c", id);
    assert_int_equal(decode(id, "c", &back), GW_ERROR);

    /* an embedded NUL */
    n = put_payload(p, 1, 42, "clova", "tNx", "");
    p[9 + 1 + 5 + 1 + 1] = 0;
    make_raw_id(p, n, "c", id);
    assert_int_equal(decode(id, "c", &back), GW_ERROR);
}


static void
test_encode_rejects(void **state)
{
    size_t         i;
    gw_job_ref_t   ref;
    char           id[GW_JOB_ID_MAX], small[64];
    static const char  *bad[] = {
        "a/b", "a?b", "a#b", "a%2F", "a b", "a\tb", "a\x7f", "\x01",
        "..\x2f"
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        make_ref(&ref, "clova", bad[i], "", 1);
        assert_int_equal(gw_job_id_encode(&ref, "c", secret, SECRET_LEN,
                                          id, sizeof(id)), GW_ERROR);

        make_ref(&ref, "clova", "ok", bad[i], 1);
        assert_int_equal(gw_job_id_encode(&ref, "c", secret, SECRET_LEN,
                                          id, sizeof(id)), GW_ERROR);

        make_ref(&ref, bad[i], "ok", "", 1);
        assert_int_equal(gw_job_id_encode(&ref, "c", secret, SECRET_LEN,
                                          id, sizeof(id)), GW_ERROR);
    }

    /* empty provider or vendor id */
    make_ref(&ref, "", "ok", "", 1);
    assert_int_equal(gw_job_id_encode(&ref, "c", secret, SECRET_LEN,
                                      id, sizeof(id)), GW_ERROR);
    make_ref(&ref, "clova", "", "", 1);
    assert_int_equal(gw_job_id_encode(&ref, "c", secret, SECRET_LEN,
                                      id, sizeof(id)), GW_ERROR);

    /* not NUL-terminated inside the array */
    make_ref(&ref, "clova", "ok", "", 1);
    memset(ref.provider, 'p', sizeof(ref.provider));
    assert_int_equal(gw_job_id_encode(&ref, "c", secret, SECRET_LEN,
                                      id, sizeof(id)), GW_ERROR);

    /* no secret, no client */
    make_ref(&ref, "clova", "ok", "", 1);
    assert_int_equal(gw_job_id_encode(&ref, "c", secret, 0,
                                      id, sizeof(id)), GW_ERROR);
    assert_int_equal(gw_job_id_encode(&ref, NULL, secret, SECRET_LEN,
                                      id, sizeof(id)), GW_ERROR);

    /* an out buffer one byte short, then exactly right */
    make_ref(&ref, "clova", "task-1", "", 1);
    assert_int_equal(gw_job_id_encode(&ref, "c", secret, SECRET_LEN,
                                      id, sizeof(id)), GW_OK);
    assert_true(strlen(id) + 1 <= sizeof(small));

    assert_int_equal(gw_job_id_encode(&ref, "c", secret, SECRET_LEN,
                                      small, strlen(id)), GW_ERROR);
    assert_int_equal(gw_job_id_encode(&ref, "c", secret, SECRET_LEN,
                                      small, strlen(id) + 1), GW_OK);
    assert_string_equal(small, id);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_round_trip_edges),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_tamper_every_char),
        cmocka_unit_test(test_other_client_and_secret),
        cmocka_unit_test(test_verify_with_rotated_keys),
        cmocka_unit_test(test_truncated_overlong_garbage),
        cmocka_unit_test(test_authentic_but_malformed),
        cmocka_unit_test(test_encode_rejects),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
