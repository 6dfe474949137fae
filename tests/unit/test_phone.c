/* Unit tests for util/phone, the entry point every caller uses: Brazilian
 * and foreign numbers in the shapes people type them, and the garbage a CSV
 * column can hold, as libphonenumber (util/phonenum) reads them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "util/phone.h"

static void ok(const char *in, const char *cc, const char *want)
{
    char out[16];
    dp_err e;
    dp_err_clear(&e);
    int rc = phone_normalize(in, cc, out, &e);
    if (rc != DP_OK)
        print_error("input \"%s\" cc %s: %s\n", in, cc ? cc : "(null)", e.msg);
    assert_int_equal(rc, DP_OK);
    assert_string_equal(out, want);
}

static void bad(const char *in, const char *cc, const char *want_msg)
{
    char out[16];
    dp_err e;
    dp_err_clear(&e);
    snprintf(out, sizeof out, "garbage");
    int rc = phone_normalize(in, cc, out, &e);
    if (rc == DP_OK)
        print_error("input \"%s\" unexpectedly gave %s\n", in ? in : "(null)", out);
    assert_int_equal(rc, DP_EINVAL);
    assert_int_equal(e.code, DP_EINVAL);
    assert_string_equal(out, "");
    if (want_msg)
        assert_string_equal(e.msg, want_msg);
}

static void test_brazil_national(void **state)
{
    ok("11999990001", "55", "5511999990001");
    ok("(11) 99999-0001", "55", "5511999990001");
    ok("11 9 9999 0001", "55", "5511999990001");
    ok("11.99999.0001", "55", "5511999990001");
    ok("61 98888 7777", "55", "5561988887777");
    /* Landline: DDD + 8 digits starting 2 to 5. */
    ok("(21) 3333-4444", "55", "552133334444");
    ok("2133334444", "55", "552133334444");
    /* Trunk prefix 0 is dropped. */
    ok("0 11 99999-0001", "55", "5511999990001");
    ok("(011) 99999-0001", "55", "5511999990001");
    ok("021 3333 4444", "55", "552133334444");
    /* NULL default means Brazil. */
    ok("11999990001", NULL, "5511999990001");
}

static void test_brazil_ninth_digit(void **state)
{
    /* A mobile with its ninth digit and the same one in the 8-digit form
     * it had before: both accepted, and kept as given (they are different
     * WhatsApp accounts as far as the gateways know). */
    ok("11 99999-0001", "55", "5511999990001");
    ok("11 9999-0001", "55", "551199990001");
    ok("(11) 8888-0001", "55", "551188880001");
    ok("+55 11 8888-0001", "55", "551188880001");
    /* The generated e2e numbers: 55 11 9 0000 XXXX. */
    ok("5511900000001", "55", "5511900000001");
    /* Neither a mobile nor a landline: subscriber numbers starting with 1. */
    bad("11 1999 0001", "55", "phone is not a valid number for BR (10 digits)");
    bad("+55 11 1999-0001", "55", "phone is not a valid number for BR (12 digits)");
    /* 20 is not a DDD: no reading as an Egyptian number either. */
    bad("(20) 99999-0001", "55", "phone is not a valid number for BR (11 digits)");
    /* A subscriber number without its DDD. */
    bad("9999-0001", "55", "phone is not a valid number for BR (8 digits)");
}

static void test_brazil_international(void **state)
{
    ok("+55 11 99999-0001", "55", "5511999990001");
    ok("+55 (11) 99999-0001", "55", "5511999990001");
    ok("5511999990001", "55", "5511999990001");
    ok("552133334444", "55", "552133334444");
    ok("55 11 99999 0001", "55", "5511999990001");
    ok("0055 11 99999-0001", "55", "5511999990001");
    ok("(+55) 11 99999-0001", "55", "5511999990001");
    /* Foreign numbers given in full under the Brazilian default. */
    ok("+1 (212) 555-0123", "55", "12125550123");
    ok("+351 912 345 678", "55", "351912345678");
    ok("00 44 20 7946 0958", "55", "442079460958");
    ok("+44 20 7946 0958", "55", "442079460958");
    /* Digits with their own country code, too long to be Brazilian. */
    ok("442079460958", "55", "442079460958");
    ok("4915112345678", "55", "4915112345678");
    /* A Brazilian length stays Brazilian: a US number needs its '+'. */
    bad("12125550123", "55",
        "phone is not a valid number for BR (11 digits); write + before a foreign number");
    ok("+12125550123", "55", "12125550123");
}

static void test_other_country_codes(void **state)
{
    /* Portugal: 9 digits, no trunk prefix. */
    ok("912 345 678", "351", "351912345678");
    ok("+351 912 345 678", "351", "351912345678");
    ok("351912345678", "351", "351912345678");
    /* United States: 10 digits national, 11 with the leading 1. */
    ok("(212) 555-0123", "1", "12125550123");
    ok("1 212 555 0123", "1", "12125550123");
    ok("+1 212 555 0123", "1", "12125550123");
    ok("415 555 0123", "1", "14155550123");
    /* United Kingdom: trunk 0 dropped. */
    ok("020 7946 0958", "44", "442079460958");
    ok("07911 123456", "44", "447911123456");
    /* Germany: long national number with trunk 0. */
    ok("0151 12345678", "49", "4915112345678");
    ok("4915112345678", "49", "4915112345678");
    /* Italy keeps its leading 0. */
    ok("06 1234 5678", "39", "390612345678");
    ok("312 345 6789", "39", "393123456789");
    /* The reasons name the region the number was read in. */
    bad("999", "1", "phone is too short for US (3 digits)");
}

static void test_separators(void **state)
{
    ok("  +55 11 99999 0001  ", "55", "5511999990001");
    ok("\t11\t99999\t0001", "55", "5511999990001");
    ok("+55\xc2\xa0"
       "11\xc2\xa0"
       "99999\xe2\x80\x91"
       "0001",
       "55", "5511999990001");
    ok("11\xe2\x80\xaf"
       "99999\xe2\x80\x93"
       "0001",
       "55", "5511999990001");
    ok("(((11)))---99999...0001", "55", "5511999990001");
}

static void test_lengths(void **state)
{
    bad("123", "55", "phone is too short for BR (3 digits)");
    bad("1", "55", NULL);
    bad("+", "55", "phone has no digits");
    bad("+1234567890123456", "55", "phone is too long for US (16 digits)");
    bad("5511999990001000", "55", "phone is too long for BR (16 digits)");
    bad("1234567890123456789012345678901234567890", "55", "phone is too long (40 digits)");
}

static void test_garbage(void **state)
{
    bad("11 9999x0001", "55", "phone contains 'x'");
    bad("abc", "55", "phone contains 'a'");
    bad("+55 11 99999-0001 ext 2", "55", "phone contains 'e'");
    bad("11/99999/0001", "55", "phone contains '/'");
    bad("55+11999990001", "55", "phone contains '+'");
    bad("++5511999990001", "55", "phone contains '+'");
    bad("tel:+5511999990001", "55", "phone contains 't'");
    bad("11 99999-0001\n", "55", "phone contains byte 0x0a");
    bad("11\x01"
        "999990001",
        "55", "phone contains byte 0x01");
    bad("Jos\xc3\xa9", "55", "phone contains 'J'");
    bad("\xc3\xa9"
        "11999990001",
        "55", "phone contains '\xc3\xa9'");
    bad("\xff"
        "11999990001",
        "55", "phone contains byte 0xff");
    /* Emoji, 4-byte UTF-8. */
    bad("\xf0\x9f\x93\x9e 11999990001", "55", "phone contains '\xf0\x9f\x93\x9e'");
    bad("+0 11 99999 0001", "55", "phone has an invalid country code");
}

static void test_empty(void **state)
{
    bad("", "55", "phone is empty");
    bad("   ", "55", "phone is empty");
    bad("\xc2\xa0", "55", "phone is empty");
    bad(NULL, "55", "phone is empty");
}

static void test_bad_default_cc(void **state)
{
    bad("11999990001", "", "unknown default country code \"\"");
    bad("11999990001", "5555", "unknown default country code \"5555\"");
    bad("11999990001", "+55", NULL);
    bad("11999990001", "05", NULL);
    bad("11999990001", "999", "unknown default country code \"999\"");
    /* non-geographic: no national numbers to read */
    bad("11999990001", "800", NULL);
    dp_err e;
    dp_err_clear(&e);
    assert_int_equal(phone_cc_check("55", &e), DP_OK);
    assert_int_equal(phone_cc_check("1", &e), DP_OK);
    assert_int_equal(phone_cc_check("999", &e), DP_EINVAL);
    assert_string_equal(e.msg, "unknown default country code \"999\"");
    assert_int_equal(phone_cc_check("", &e), DP_EINVAL);
}

static void test_region_cache(void **state)
{
    /* Alternating codes must not read a number in the previous region. */
    ok("912 345 678", "351", "351912345678");
    ok("11999990001", "55", "5511999990001");
    ok("912 345 678", "351", "351912345678");
    bad("912 345 678", "999", NULL);
    ok("(212) 555-0123", "1", "12125550123");
    ok("11999990001", "55", "5511999990001");
}

static void test_null_err_ok(void **state)
{
    char out[16];
    assert_int_equal(phone_normalize("x", "55", out, NULL), DP_EINVAL);
    assert_int_equal(phone_normalize("11999990001", "55", out, NULL), DP_OK);
    assert_string_equal(out, "5511999990001");
}

static void test_idempotent(void **state)
{
    /* Normalising an already normalised number changes nothing. */
    const char *in[] = {"5511999990001", "552133334444", "12125550123", "351912345678",
                        "551188880001"};
    const char *cc[] = {"55", "55", "1", "351", "55"};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        char a[16], b[16];
        assert_int_equal(phone_normalize(in[i], cc[i], a, NULL), DP_OK);
        char plus[20];
        snprintf(plus, sizeof plus, "+%s", a);
        assert_int_equal(phone_normalize(plus, cc[i], b, NULL), DP_OK);
        assert_string_equal(a, b);
        assert_string_equal(a, in[i]);
    }
}

static void test_key(void **state)
{
    assert_int_equal(phone_key("5511999990001"), 5511999990001LL);
    assert_int_equal(phone_key("999999999999999"), 999999999999999LL); /* 15 digits fit */
    assert_true(phone_key("551199990001") != phone_key("5511999990001"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_brazil_national),
        cmocka_unit_test(test_brazil_ninth_digit),
        cmocka_unit_test(test_brazil_international),
        cmocka_unit_test(test_other_country_codes),
        cmocka_unit_test(test_separators),
        cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_bad_default_cc),
        cmocka_unit_test(test_region_cache),
        cmocka_unit_test(test_null_err_ok),
        cmocka_unit_test(test_idempotent),
        cmocka_unit_test(test_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
