/* Unit tests for util/phonenum, through its C interface: Brazilian numbers
 * with and without the ninth digit, the shapes people type, other countries,
 * the garbage a CSV column can hold, and the restriction-list variants. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "util/phonenum.h"

static void ok(const char *in, const char *region, const char *want)
{
    char out[PHONENUM_MAX];
    dp_err e;
    dp_err_clear(&e);
    int rc = phonenum_normalize(in, region, out, &e);
    if (rc != DP_OK)
        print_error("input \"%s\" region %s: %s\n", in, region ? region : "(null)", e.msg);
    else if (strcmp(out, want) != 0)
        print_error("input \"%s\" region %s: got %s\n", in, region ? region : "(null)", out);
    assert_int_equal(rc, DP_OK);
    assert_string_equal(out, want);
}

static void bad(const char *in, const char *region, const char *want_msg)
{
    char out[PHONENUM_MAX];
    dp_err e;
    dp_err_clear(&e);
    snprintf(out, sizeof out, "garbage");
    int rc = phonenum_normalize(in, region, out, &e);
    if (rc == DP_OK)
        print_error("input \"%s\" unexpectedly gave %s\n", in ? in : "(null)", out);
    else if (want_msg && strcmp(e.msg, want_msg) != 0)
        print_error("input \"%s\": message \"%s\"\n", in ? in : "(null)", e.msg);
    assert_int_equal(rc, DP_EINVAL);
    assert_int_equal(e.code, DP_EINVAL);
    assert_string_equal(out, "");
    if (want_msg)
        assert_string_equal(e.msg, want_msg);
}

static void test_br_mobile(void **state)
{
    ok("11999990001", "BR", "5511999990001");
    ok("(11) 99999-0001", "BR", "5511999990001");
    ok("11 9 9999 0001", "BR", "5511999990001");
    ok("11.99999.0001", "BR", "5511999990001");
    ok("+55 11 99999-0001", "BR", "5511999990001");
    ok("+55 (11) 99999-0001", "BR", "5511999990001");
    ok("(+55) 11 99999-0001", "BR", "5511999990001");
    ok("5511999990001", "BR", "5511999990001");
    ok("55 11 99999 0001", "BR", "5511999990001");
    ok("0055 11 99999-0001", "BR", "5511999990001");
    ok("21 98765-4321", NULL, "5521987654321"); /* NULL region is BR */
    ok("11999990001", "br", "5511999990001");
}

static void test_br_without_ninth_digit(void **state)
{
    /* The 8-digit mobile form WhatsApp still uses for older accounts: not
     * valid in today's plan, accepted as given (restriction lists match both
     * forms through phonenum_variants). */
    ok("11 8888-0001", "BR", "551188880001");
    ok("+55 11 8888-0001", "BR", "551188880001");
    ok("551188880001", "BR", "551188880001");
    ok("(31) 9876-5432", "BR", "553198765432");
    ok("5531 6876 5432", "BR", "553168765432");
}

static void test_br_trunk_prefix(void **state)
{
    ok("0 11 99999-0001", "BR", "5511999990001");
    ok("(011) 99999-0001", "BR", "5511999990001");
    ok("011999990001", "BR", "5511999990001");
    ok("021 3333 4444", "BR", "552133334444");
    /* Trunk 0 plus carrier selection code (21 = Embratel). */
    ok("0 21 11 99999-0001", "BR", "5511999990001");
    /* Trunk prefix written after the country code. */
    ok("+55 (011) 99999-0001", "BR", "5511999990001");
    /* Brazil's international prefix: 00 + carrier + country code. */
    ok("0021 55 11 99999 0001", "BR", "5511999990001");
}

static void test_br_landline(void **state)
{
    ok("(21) 3333-4444", "BR", "552133334444");
    ok("2133334444", "BR", "552133334444");
    ok("+55 11 5555-0001", "BR", "551155550001");
    ok("552133334444", "BR", "552133334444");
    /* Toll-free. */
    ok("0800 123 4567", "BR", "558001234567");
}

static void test_br_invalid(void **state)
{
    /* No DDD: possible by length (8 digits is a Brazilian number length) but
     * Brazil's plan is checked in full. */
    bad("9999-0001", "BR", "phone is not a valid number for BR (8 digits)");
    /* DDD 11 with a subscriber starting 1: no such range. */
    bad("11 1234-5678", "BR", "phone is not a valid number for BR (10 digits)");
    /* DDD 20 does not exist. */
    bad("(20) 99999-0001", "BR", "phone is not a valid number for BR (11 digits)");
    bad("+55 11 99999-00012", "BR", "phone is too long for BR (14 digits)");
    bad("+55 11 9999", "BR", "phone is too short for BR (8 digits)");
    bad("123", "BR", "phone is too short for BR (3 digits)");
    bad("1234567", "BR", NULL);
}

static void test_other_countries(void **state)
{
    /* United States: national, with the trunk 1, international. */
    ok("(212) 555-0123", "US", "12125550123");
    ok("1 212 555 0123", "US", "12125550123");
    ok("+1 (212) 555-0123", "US", "12125550123");
    ok("011 44 20 7946 0958", "US", "442079460958"); /* US international prefix */
    /* Portugal: 9 digits, no trunk prefix. */
    ok("912 345 678", "PT", "351912345678");
    ok("+351 912 345 678", "BR", "351912345678");
    /* Foreign numbers typed in full under the Brazilian default, with and
     * without '+': digits without '+' that make no Brazilian number but a
     * valid foreign one are read as international. */
    ok("351912345678", "BR", "351912345678");
    ok("442079460958", "BR", "442079460958");
    ok("4915112345678", "BR", "4915112345678");
    /* ... but digits of a Brazilian length (8 to 11) stay Brazilian, so a
     * typo is not taken for a foreign number. */
    bad("12125550123", "BR",
        "phone is not a valid number for BR (11 digits); write + before a foreign number");
    /* Other default regions have no such rule. */
    ok("5511999990001", "US", "5511999990001");
    ok("5511999990001", "PT", "5511999990001");
    /* Digits starting with the region's own code are international when
     * that reads valid (libphonenumber alone makes this a DE landline). */
    ok("4915112345678", "DE", "4915112345678");
    ok("447911123456", "GB", "447911123456");
    ok("33612345678", "FR", "33612345678");
    ok("5521987654321", "BR", "5521987654321");
    ok("55 99999-0001", "BR", "5555999990001"); /* DDD 55 */
    ok("00 44 20 7946 0958", "BR", "442079460958");
    /* United Kingdom, Germany, Russia: national trunk prefixes dropped. */
    ok("020 7946 0958", "GB", "442079460958");
    ok("07911 123456", "GB", "447911123456");
    ok("0151 12345678", "DE", "4915112345678");
    ok("8 912 345 6789", "RU", "79123456789");
    /* Italy keeps its leading 0. */
    ok("06 1234 5678", "IT", "390612345678");
    ok("+39 06 1234 5678", "BR", "390612345678");
    /* Argentina: mobiles are 54 9 + area + number in E.164; the national
     * "15" mobile token is rewritten by libphonenumber. */
    ok("+54 9 11 1234-5678", "BR", "5491112345678");
    ok("011 15 1234-5678", "AR", "5491112345678");
    ok("+54 11 15 1234 5678", "BR", "5491112345678");
    ok("+54 11 1234-5678", "BR", "541112345678"); /* landline */
    /* The "(0)" Europeans write after their country code. */
    ok("+44 (0) 20 7946 0958", "BR", "442079460958");
    ok("+49 (0)151 12345678", "BR", "4915112345678");
    /* Non-geographic: international freephone. */
    ok("+800 1234 5678", "BR", "80012345678");
}

static void test_garbage(void **state)
{
    bad("abc", "BR", "phone contains 'a'");
    bad("11 9999x0001", "BR", "phone contains 'x'");
    bad("+55 11 99999-0001 ext 2", "BR", "phone contains 'e'");
    bad("tel:+5511999990001", "BR", "phone contains 't'");
    bad("1-800-FLOWERS", "US", "phone contains 'F'");
    bad("55+11999990001", "BR", "phone contains '+'");
    bad("++5511999990001", "BR", "phone contains '+'");
    bad("11 99999-0001\n", "BR", "phone contains byte 0x0a");
    bad("\xc3\xa9"
        "11999990001",
        "BR", "phone contains '\xc3\xa9'");
    bad("\xff"
        "11999990001",
        "BR", "phone contains byte 0xff");
    bad("\xc3", "BR", "phone contains byte 0xc3"); /* truncated UTF-8 */
    bad("\xf0\x9f\x93\x9e 11999990001", "BR", "phone contains '\xf0\x9f\x93\x9e'");
    bad("", "BR", "phone is empty");
    bad("   ", "BR", "phone is empty");
    bad(NULL, "BR", "phone is empty");
    bad("()--..", "BR", "phone has no digits");
    bad("+", "BR", "phone has no digits");
}

static void test_lengths_and_country_codes(void **state)
{
    bad("+1234567890123456", "BR", "phone is too long for US (16 digits)");
    bad("1234567890123456789012345678901234567890", "BR", "phone is too long (40 digits)");
    bad("+1 212 555", "BR", "phone is too short for US (7 digits)");
    bad("+0 11 99999 0001", "BR", "phone has an invalid country code");
    bad("+999 1234 5678", "BR", "phone has an invalid country code");
    bad("000 11 99999 0001", "BR", NULL);
    bad("+351 912 345 678 9", "BR", "phone is too long for PT (13 digits)");
    /* One trunk 0 after the country code is dropped, a second is an error
     * (else normalising the result again would drop it). */
    bad("+381 00 347 403 622", "BR", "phone has a trunk prefix after its country code");
    bad("+55 0 0 11 99999 0001", "BR", "phone has a trunk prefix after its country code");
    /* A number possible by length elsewhere is accepted, valid or not: the
     * metadata can lag behind new ranges. */
    ok("+44 10 0000 0000", "BR", "441000000000");
    ok("+351 100 000 000", "BR", "351100000000");
}

static void test_bad_region(void **state)
{
    bad("11999990001", "XX", "unknown default region \"XX\"");
    bad("11999990001", "", "unknown default region \"\"");
    bad("11999990001", "BRA", "unknown default region \"BRA\"");
    bad("11999990001", "55", "unknown default region \"55\"");
}

static void test_null_err(void **state)
{
    char out[PHONENUM_MAX];
    assert_int_equal(phonenum_normalize("x", "BR", out, NULL), DP_EINVAL);
    assert_string_equal(out, "");
    assert_int_equal(phonenum_normalize("11999990001", "BR", out, NULL), DP_OK);
    assert_string_equal(out, "5511999990001");
    assert_int_equal(phonenum_normalize("9999-0001", "BR", out, NULL), DP_EINVAL);
}

static void test_idempotent_with_plus(void **state)
{
    /* A stored number fed back with '+' in front comes out unchanged. */
    const char *in[] = {"5511999990001", "551188880001", "552133334444", "12125550123",
                        "351912345678",  "390612345678", "5491112345678"};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        char plus[20], out[PHONENUM_MAX];
        snprintf(plus, sizeof plus, "+%s", in[i]);
        assert_int_equal(phonenum_normalize(plus, "BR", out, NULL), DP_OK);
        assert_string_equal(out, in[i]);
        assert_int_equal(phonenum_normalize(plus, "US", out, NULL), DP_OK);
        assert_string_equal(out, in[i]);
    }
}

static void test_bare_digits_are_ambiguous(void **state)
{
    /* Why stored numbers go back in with '+': the same digits are a
     * Brussels landline with its country code and a Brazilian one without. */
    ok("+3222345678", "BR", "3222345678");
    ok("3222345678", "BR", "553222345678");
}

static void test_region_for_cc(void **state)
{
    char r[4];
    assert_int_equal(phonenum_region_for_cc("55", r), DP_OK);
    assert_string_equal(r, "BR");
    assert_int_equal(phonenum_region_for_cc("+55", r), DP_OK);
    assert_string_equal(r, "BR");
    assert_int_equal(phonenum_region_for_cc("1", r), DP_OK);
    assert_string_equal(r, "US");
    assert_int_equal(phonenum_region_for_cc("44", r), DP_OK);
    assert_string_equal(r, "GB");
    assert_int_equal(phonenum_region_for_cc("351", r), DP_OK);
    assert_string_equal(r, "PT");
    assert_int_equal(phonenum_region_for_cc("800", r), DP_OK);
    assert_string_equal(r, "001");
    assert_int_equal(phonenum_region_for_cc("999", r), DP_EINVAL);
    assert_string_equal(r, "");
    assert_int_equal(phonenum_region_for_cc("0", r), DP_EINVAL);
    assert_int_equal(phonenum_region_for_cc("", r), DP_EINVAL);
    assert_int_equal(phonenum_region_for_cc("5555", r), DP_EINVAL);
    assert_int_equal(phonenum_region_for_cc("5x", r), DP_EINVAL);
    assert_int_equal(phonenum_region_for_cc(NULL, r), DP_EINVAL);
}

static void test_kind(void **state)
{
    assert_int_equal(phonenum_kind("5511999990001"), PHONENUM_MOBILE);
    assert_int_equal(phonenum_kind("551188880001"), PHONENUM_MOBILE); /* pre-ninth-digit */
    assert_int_equal(phonenum_kind("552133334444"), PHONENUM_FIXED);
    assert_int_equal(phonenum_kind("12125550123"), PHONENUM_FIXED_OR_MOBILE);
    assert_int_equal(phonenum_kind("558001234567"), PHONENUM_OTHER);
    assert_int_equal(phonenum_kind("441000000000"), PHONENUM_UNKNOWN);
    assert_int_equal(phonenum_kind("9991234567"), PHONENUM_BAD);
    assert_int_equal(phonenum_kind("+5511999990001"), PHONENUM_BAD);
    assert_int_equal(phonenum_kind(NULL), PHONENUM_BAD);
    assert_true(phonenum_is_mobile("5511999990001"));
    assert_true(phonenum_is_mobile("551188880001"));
    assert_true(phonenum_is_mobile("12125550123"));
    assert_false(phonenum_is_mobile("552133334444"));
    assert_false(phonenum_is_mobile("garbage"));
}

static void variants(const char *in, size_t want_n, const char *want0, const char *want1)
{
    char out[2][PHONENUM_MAX];
    memset(out, 0, sizeof out);
    size_t n = phonenum_variants(in, out);
    assert_int_equal(n, want_n);
    if (n >= 1)
        assert_string_equal(out[0], want0);
    if (n == 2)
        assert_string_equal(out[1], want1);
}

static void test_variants(void **state)
{
    /* Brazilian mobiles: both forms, either way round. */
    variants("5511999990001", 2, "5511999990001", "551199990001");
    variants("551199990001", 2, "551199990001", "5511999990001");
    variants("5531987654321", 2, "5531987654321", "553187654321");
    variants("553168765432", 2, "553168765432", "5531968765432");
    /* Landlines (8 digits starting 2-5) have no other form, and a mobile
     * whose 8 digits start 2-5 would lose its 9 into someone's landline. */
    variants("552133334444", 1, "552133334444", NULL);
    variants("5521933334444", 1, "5521933334444", NULL);
    /* Other countries, and Brazilian numbers of other lengths. */
    variants("12125550123", 1, "12125550123", NULL);
    variants("5491112345678", 1, "5491112345678", NULL);
    variants("558001234567", 1, "558001234567", NULL);
    variants("55119999900011", 1, "55119999900011", NULL);
    /* Not normalised digits. */
    variants("+5511999990001", 0, NULL, NULL);
    variants("1234567", 0, NULL, NULL);
    variants("1234567890123456", 0, NULL, NULL);
    variants("", 0, NULL, NULL);
    variants(NULL, 0, NULL, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_br_mobile),
        cmocka_unit_test(test_br_without_ninth_digit),
        cmocka_unit_test(test_br_trunk_prefix),
        cmocka_unit_test(test_br_landline),
        cmocka_unit_test(test_br_invalid),
        cmocka_unit_test(test_other_countries),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_lengths_and_country_codes),
        cmocka_unit_test(test_bad_region),
        cmocka_unit_test(test_null_err),
        cmocka_unit_test(test_idempotent_with_plus),
        cmocka_unit_test(test_bare_digits_are_ambiguous),
        cmocka_unit_test(test_region_for_cc),
        cmocka_unit_test(test_kind),
        cmocka_unit_test(test_variants),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
