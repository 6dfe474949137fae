/* Unit tests for util/rng: known answers for the generator, then the bounds
 * and uniformity of the derived draws. All seeds are fixed, so failures
 * reproduce. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util/rng.h"

static void test_known_answers(void **state)
{
    /* Values from the reference xoshiro256** step computed independently. */
    dp_rng r = {{1, 2, 3, 4}};
    static const uint64_t want[] = {
        0x2d00ULL,           0x0ULL, 0x5a007080ULL, 0x10e0000000009d80ULL, 0x10e0b61ce1009d80ULL,
        0x870021ce143ad00ULL};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        assert_int_equal(rng_next(&r), want[i]);
}

static void test_seed_uses_splitmix(void **state)
{
    dp_rng r;
    rng_seed(&r, 0);
    /* splitmix64's published first outputs from x = 0. */
    assert_int_equal(r.s[0], 0xe220a8397b1dcdafULL);
    assert_int_equal(r.s[1], 0x6e789e6aa1b965f4ULL);
    assert_int_equal(r.s[2], 0x06c45d188009454fULL);
    assert_int_equal(r.s[3], 0xf88bb8a8724c81ecULL);
}

static void test_seed_deterministic(void **state)
{
    dp_rng a, b, c;
    rng_seed(&a, 42);
    rng_seed(&b, 42);
    rng_seed(&c, 43);
    int differs = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t x = rng_next(&a);
        assert_int_equal(x, rng_next(&b));
        if (x != rng_next(&c))
            differs++;
    }
    assert_true(differs > 95);
}

static void test_seed_random(void **state)
{
    dp_rng a, b;
    rng_seed_random(&a);
    rng_seed_random(&b);
    /* 2^-256 chance of a false failure. */
    assert_false(a.s[0] == b.s[0] && a.s[1] == b.s[1] && a.s[2] == b.s[2] && a.s[3] == b.s[3]);
    uint64_t x = rng_next(&a);
    uint64_t y = rng_next(&a);
    assert_true(x != y);
}

static void test_unit_interval(void **state)
{
    dp_rng r;
    rng_seed(&r, 7);
    double sum = 0, lo = 1, hi = 0;
    const int n = 200000;
    for (int i = 0; i < n; i++) {
        double u = rng_unit(&r);
        assert_true(u >= 0.0);
        assert_true(u < 1.0);
        sum += u;
        if (u < lo)
            lo = u;
        if (u > hi)
            hi = u;
    }
    double mean = sum / n;
    assert_true(mean > 0.497 && mean < 0.503);
    assert_true(lo < 0.001);
    assert_true(hi > 0.999);
}

static void test_range_degenerate(void **state)
{
    dp_rng r;
    rng_seed(&r, 1);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(rng_range(&r, 5, 5), 5);
        assert_int_equal(rng_range(&r, 9, 3), 9);
        assert_int_equal(rng_range(&r, -4, -4), -4);
    }
}

static void test_range_bounds_and_coverage(void **state)
{
    dp_rng r;
    rng_seed(&r, 2);
    int seen[7] = {0};
    for (int i = 0; i < 7000; i++) {
        int64_t v = rng_range(&r, -3, 3);
        assert_true(v >= -3 && v <= 3);
        seen[v + 3]++;
    }
    for (int i = 0; i < 7; i++)
        assert_true(seen[i] > 850 && seen[i] < 1150);
}

static void test_range_uniform_chi_square(void **state)
{
    dp_rng r;
    rng_seed(&r, 3);
    enum { K = 10, N = 100000 };
    long cnt[K] = {0};
    for (int i = 0; i < N; i++)
        cnt[rng_range(&r, 100, 109) - 100]++;
    double chi = 0, expect = (double)N / K;
    for (int i = 0; i < K; i++)
        chi += (cnt[i] - expect) * (cnt[i] - expect) / expect;
    /* 9 degrees of freedom: 27.9 is the 0.1% critical value. */
    assert_true(chi < 27.9);
}

static void test_range_no_modulo_bias(void **state)
{
    /* With span ~ 2/3 of 2^64, a plain modulo would put two thirds of the
     * draws in the lower half of the range. */
    dp_rng r;
    rng_seed(&r, 4);
    const uint64_t span = 0xAAAAAAAAAAAAAAABULL;
    const int64_t lo = INT64_MIN;
    const int64_t hi = (int64_t)((uint64_t)INT64_MIN + span - 1);
    int below = 0;
    const int n = 20000;
    for (int i = 0; i < n; i++) {
        int64_t v = rng_range(&r, lo, hi);
        assert_true(v >= lo && v <= hi);
        uint64_t off = (uint64_t)v - (uint64_t)lo;
        if (off < span / 2)
            below++;
    }
    assert_true(below > n * 47 / 100 && below < n * 53 / 100);
}

static void test_range_full_span(void **state)
{
    dp_rng r;
    rng_seed(&r, 5);
    int neg = 0, pos = 0;
    for (int i = 0; i < 1000; i++) {
        int64_t v = rng_range(&r, INT64_MIN, INT64_MAX);
        if (v < 0)
            neg++;
        else
            pos++;
    }
    assert_true(neg > 400 && pos > 400);
    /* A span of exactly 2^64 - 1 values. */
    for (int i = 0; i < 1000; i++) {
        int64_t v = rng_range(&r, INT64_MIN + 1, INT64_MAX);
        assert_true(v > INT64_MIN);
    }
}

static void test_range_extremes(void **state)
{
    dp_rng r;
    rng_seed(&r, 6);
    int seen_lo = 0, seen_hi = 0;
    for (int i = 0; i < 1000; i++) {
        int64_t v = rng_range(&r, INT64_MAX - 1, INT64_MAX);
        assert_true(v == INT64_MAX - 1 || v == INT64_MAX);
        if (v == INT64_MAX)
            seen_hi++;
        else
            seen_lo++;
        v = rng_range(&r, INT64_MIN, INT64_MIN + 1);
        assert_true(v == INT64_MIN || v == INT64_MIN + 1);
    }
    assert_true(seen_lo > 400 && seen_hi > 400);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answers),
        cmocka_unit_test(test_seed_uses_splitmix),
        cmocka_unit_test(test_seed_deterministic),
        cmocka_unit_test(test_seed_random),
        cmocka_unit_test(test_unit_interval),
        cmocka_unit_test(test_range_degenerate),
        cmocka_unit_test(test_range_bounds_and_coverage),
        cmocka_unit_test(test_range_uniform_chi_square),
        cmocka_unit_test(test_range_no_modulo_bias),
        cmocka_unit_test(test_range_full_span),
        cmocka_unit_test(test_range_extremes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
