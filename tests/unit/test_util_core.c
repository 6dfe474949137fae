/* Unit tests for the small core utilities: the error table, the capped
 * buffer, the int64 map, RFC 3339 times and token hashing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/buf.h"
#include "util/crypto.h"
#include "util/err.h"
#include "util/imap.h"
#include "util/timefmt.h"

static void test_err_table(void **state)
{
    assert_string_equal(dp_err_api_code(DP_EINVAL), "bad_request");
    assert_int_equal(dp_err_http_status(DP_EINVAL), 400);
    assert_int_equal(dp_err_http_status(DP_ENOTFOUND), 404);
    assert_int_equal(dp_err_http_status(DP_ETRANSITION), 409);
    assert_string_equal(dp_err_api_code(DP_ETRANSITION), "invalid_transition");
    assert_int_equal(dp_err_http_status(DP_EFORBIDDEN), 403);
    /* an unknown code is reported as internal, never as the table's last row */
    assert_string_equal(dp_err_api_code(-999), "internal");
    assert_int_equal(dp_err_http_status(-999), 500);
    dp_err e;
    assert_int_equal(dp_err_set(&e, DP_EINVAL, "field %s", "x"), DP_EINVAL);
    assert_int_equal(e.code, DP_EINVAL);
    assert_string_equal(e.msg, "field x");
    assert_int_equal(dp_err_set(NULL, DP_EIO, "ignored"), DP_EIO);
    char longmsg[600];
    memset(longmsg, 'a', sizeof longmsg - 1);
    longmsg[sizeof longmsg - 1] = '\0';
    dp_err_set(&e, DP_EINVAL, "%s", longmsg);
    assert_int_equal(strlen(e.msg), DP_ERR_DETAIL_MAX - 1);
}

static void test_buf_cap(void **state)
{
    dp_buf b;
    buf_init(&b, 10);
    assert_string_equal(buf_str(&b), "");
    assert_int_equal(buf_puts(&b, "hello"), DP_OK);
    assert_int_equal(buf_printf(&b, "%d", 1234), DP_OK);
    assert_string_equal(buf_str(&b), "hello1234");
    /* passing the cap appends nothing */
    assert_int_equal(buf_puts(&b, "xy"), DP_ETOOBIG);
    assert_string_equal(buf_str(&b), "hello1234");
    assert_int_equal(buf_puts(&b, "z"), DP_OK);
    assert_int_equal(b.len, 10);
    buf_reset(&b);
    assert_int_equal(b.len, 0);
    char *s = buf_steal(&b);
    assert_string_equal(s, "");
    free(s);
    buf_free(&b);
    buf_free(NULL);
}

static void test_imap(void **state)
{
    imap m;
    imap_init(&m);
    int64_t v = 0;
    assert_false(imap_get(&m, 5, &v));
    for (int64_t i = 0; i < 10000; i++)
        assert_int_equal(imap_put(&m, i * 7919, i), DP_OK);
    assert_int_equal(m.n, 10000);
    for (int64_t i = 0; i < 10000; i++) {
        assert_true(imap_get(&m, i * 7919, &v));
        assert_int_equal(v, i);
    }
    /* delete every other key; the rest stay reachable (backward shift) */
    for (int64_t i = 0; i < 10000; i += 2)
        assert_true(imap_del(&m, i * 7919));
    assert_false(imap_del(&m, 0));
    assert_int_equal(m.n, 5000);
    for (int64_t i = 0; i < 10000; i++)
        assert_int_equal(imap_get(&m, i * 7919, NULL), i % 2 == 1);
    assert_int_equal(imap_put(&m, 7919, 42), DP_OK);
    assert_true(imap_get(&m, 7919, &v));
    assert_int_equal(v, 42);
    assert_int_equal(m.n, 5000);
    /* phones as keys: 15 digits fit */
    assert_int_equal(imap_put(&m, 999999999999999LL, 1), DP_OK);
    assert_true(imap_get(&m, 999999999999999LL, NULL));
    imap_free(&m);
}

static void test_timefmt(void **state)
{
    char ts[TIMEFMT_LEN];
    timefmt_ms(0, ts);
    assert_string_equal(ts, "1970-01-01T00:00:00.000Z");
    timefmt_ms(1795651200123LL, ts);
    assert_string_equal(ts, "2026-11-26T00:00:00.123Z");
    int64_t ms = 0;
    assert_int_equal(timefmt_parse("2026-11-26T00:00:00.123Z", &ms), DP_OK);
    assert_int_equal(ms, 1795651200123LL);
    /* offsets: 09:00 in São Paulo (-03:00) is 12:00 UTC */
    assert_int_equal(timefmt_parse("2026-12-01T09:00:00-03:00", &ms), DP_OK);
    assert_int_equal(ms, 1796126400000LL);
    assert_int_equal(timefmt_parse("2026-12-01T12:00:00+00:00", &ms), DP_OK);
    assert_int_equal(ms, 1796126400000LL);
    assert_int_equal(timefmt_parse("2026-12-01T12:00:00.5Z", &ms), DP_OK);
    assert_int_equal(ms, 1796126400500LL);
    assert_int_equal(timefmt_parse("2024-02-29T00:00:00Z", &ms), DP_OK);
    assert_int_equal(timefmt_parse("2026-02-29T00:00:00Z", &ms), DP_EINVAL);
    assert_int_equal(timefmt_parse("2026-13-01T00:00:00Z", &ms), DP_EINVAL);
    assert_int_equal(timefmt_parse("2026-12-01 12:00:00", &ms), DP_EINVAL); /* no zone */
    assert_int_equal(timefmt_parse("2026-12-01T12:00:00Zjunk", &ms), DP_EINVAL);
    assert_int_equal(timefmt_parse("tomorrow", &ms), DP_EINVAL);
    assert_int_equal(timefmt_parse("", &ms), DP_EINVAL);
    /* round trip */
    for (int64_t t = 1700000000000LL; t < 1800000000000LL; t += 7777777777LL) {
        timefmt_ms(t, ts);
        assert_int_equal(timefmt_parse(ts, &ms), DP_OK);
        assert_int_equal(ms, t);
    }
}

static void test_crypto(void **state)
{
    char hex[CRYPTO_SHA256_HEX];
    crypto_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    char a[CRYPTO_TOKEN_LEN], b[CRYPTO_TOKEN_LEN];
    assert_int_equal(crypto_token(a), DP_OK);
    assert_int_equal(crypto_token(b), DP_OK);
    assert_int_equal(strlen(a), CRYPTO_TOKEN_LEN - 1);
    assert_memory_equal(a, "dp_", 3);
    assert_string_not_equal(a, b);
    assert_true(crypto_equal("same", "same", 4));
    assert_false(crypto_equal("same", "samf", 4));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_table), cmocka_unit_test(test_buf_cap),
        cmocka_unit_test(test_imap),      cmocka_unit_test(test_timefmt),
        cmocka_unit_test(test_crypto),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
