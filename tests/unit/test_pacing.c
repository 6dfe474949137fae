/* Unit tests for engine/pacing: bounds of every draw, the means the
 * distributions should have, and the caps. Seeds are fixed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "engine/pacing.h"

static void test_gap_bounds_and_mean(void **state)
{
    dp_rng r;
    rng_seed(&r, 11);
    pacing_interval iv = {5000, 15000};
    const int n = 100000;
    double sum = 0;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (int i = 0; i < n; i++) {
        int64_t g = pacing_gap_ms(&iv, &r);
        assert_true(g >= 5000 && g <= 15000);
        sum += (double)g;
        if (g < lo)
            lo = g;
        if (g > hi)
            hi = g;
    }
    double mean = sum / n;
    assert_true(mean > 9950 && mean < 10050);
    /* Both ends are reachable (inclusive interval). */
    assert_true(lo < 5010);
    assert_true(hi > 14990);
}

static void test_gap_inclusive_small(void **state)
{
    dp_rng r;
    rng_seed(&r, 12);
    pacing_interval iv = {100, 102};
    int seen[3] = {0};
    for (int i = 0; i < 3000; i++) {
        int64_t g = pacing_gap_ms(&iv, &r);
        assert_true(g >= 100 && g <= 102);
        seen[g - 100]++;
    }
    for (int i = 0; i < 3; i++)
        assert_true(seen[i] > 850);
}

static void test_gap_fixed_and_bad(void **state)
{
    dp_rng r;
    rng_seed(&r, 13);
    pacing_interval fixed = {7000, 7000};
    pacing_interval inverted = {9000, 3000};
    pacing_interval negative = {-500, -100};
    pacing_interval half_negative = {-500, 10};
    for (int i = 0; i < 200; i++) {
        assert_int_equal(pacing_gap_ms(&fixed, &r), 7000);
        assert_int_equal(pacing_gap_ms(&inverted, &r), 9000);
        assert_int_equal(pacing_gap_ms(&negative, &r), 0);
        int64_t g = pacing_gap_ms(&half_negative, &r);
        assert_true(g >= 0 && g <= 10);
    }
}

static void test_backoff_bounds_per_attempt(void **state)
{
    dp_rng r;
    rng_seed(&r, 14);
    /* attempt k draws in [0, base * 2^(k-1)], capped. */
    const int64_t base = 1000, cap = 60000;
    const int64_t ceil[] = {0, 1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000};
    for (int a = 1; a <= 8; a++) {
        int64_t mx = 0;
        for (int i = 0; i < 5000; i++) {
            int64_t d = pacing_backoff_ms(a, base, cap, &r);
            assert_true(d >= 0 && d <= ceil[a]);
            if (d > mx)
                mx = d;
        }
        /* The draws reach close to the ceiling, so it is not lower than it
         * should be. */
        assert_true(mx > ceil[a] * 98 / 100);
    }
}

static void test_backoff_mean_is_half_ceiling(void **state)
{
    dp_rng r;
    rng_seed(&r, 15);
    const int n = 50000;
    for (int a = 1; a <= 4; a++) {
        double sum = 0;
        for (int i = 0; i < n; i++)
            sum += (double)pacing_backoff_ms(a, 1000, 300000, &r);
        double want = 1000.0 * (1 << (a - 1)) / 2;
        double mean = sum / n;
        assert_true(mean > want * 0.97 && mean < want * 1.03);
    }
}

static void test_backoff_cap_and_huge_attempts(void **state)
{
    dp_rng r;
    rng_seed(&r, 16);
    const int attempts[] = {9, 20, 63, 64, 65, 1000, 2147483647};
    for (size_t k = 0; k < sizeof attempts / sizeof attempts[0]; k++) {
        for (int i = 0; i < 500; i++) {
            int64_t d = pacing_backoff_ms(attempts[k], 1000, 300000, &r);
            assert_true(d >= 0 && d <= 300000);
        }
    }
    /* A base above the cap is clamped to the cap already at attempt 1. */
    for (int i = 0; i < 500; i++) {
        int64_t d = pacing_backoff_ms(1, 500000, 300000, &r);
        assert_true(d >= 0 && d <= 300000);
    }
    /* Extreme numbers must not overflow (UBSan watches). */
    for (int i = 0; i < 100; i++) {
        int64_t d = pacing_backoff_ms(100, INT64_MAX / 3, INT64_MAX, &r);
        assert_true(d >= 0);
    }
}

static void test_backoff_degenerate(void **state)
{
    dp_rng r;
    rng_seed(&r, 17);
    assert_int_equal(pacing_backoff_ms(0, 1000, 300000, &r), 0);
    assert_int_equal(pacing_backoff_ms(-3, 1000, 300000, &r), 0);
    assert_int_equal(pacing_backoff_ms(2, 0, 300000, &r), 0);
    assert_int_equal(pacing_backoff_ms(2, -10, 300000, &r), 0);
    assert_int_equal(pacing_backoff_ms(2, 1000, 0, &r), 0);
}

static void test_retry_delay(void **state)
{
    dp_rng r;
    rng_seed(&r, 18);
    for (int i = 0; i < 2000; i++) {
        /* No Retry-After: plain backoff with base 1 s, cap 5 min. */
        int64_t d = pacing_retry_delay_ms(1, 0, &r);
        assert_true(d >= 0 && d <= 1000);
        d = pacing_retry_delay_ms(3, -1, &r);
        assert_true(d >= 0 && d <= 4000);
        d = pacing_retry_delay_ms(30, 0, &r);
        assert_true(d >= 0 && d <= 300000);
        /* Retry-After is a floor. */
        d = pacing_retry_delay_ms(1, 30000, &r);
        assert_int_equal(d, 30000);
        d = pacing_retry_delay_ms(10, 30000, &r);
        assert_true(d >= 30000 && d <= 300000);
        /* And is honoured above the cap. */
        d = pacing_retry_delay_ms(50, 900000, &r);
        assert_int_equal(d, 900000);
    }
}

static void test_retry_delay_reaches_cap(void **state)
{
    dp_rng r;
    rng_seed(&r, 19);
    int64_t mx = 0;
    for (int i = 0; i < 20000; i++) {
        int64_t d = pacing_retry_delay_ms(12, 0, &r);
        if (d > mx)
            mx = d;
    }
    assert_true(mx > 295000 && mx <= 300000);
}

static void test_deterministic_with_seed(void **state)
{
    dp_rng a, b;
    rng_seed(&a, 99);
    rng_seed(&b, 99);
    pacing_interval iv = {1, 1000000};
    for (int i = 0; i < 100; i++) {
        assert_int_equal(pacing_gap_ms(&iv, &a), pacing_gap_ms(&iv, &b));
        assert_int_equal(pacing_retry_delay_ms(i % 10 + 1, 0, &a),
                         pacing_retry_delay_ms(i % 10 + 1, 0, &b));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gap_bounds_and_mean),
        cmocka_unit_test(test_gap_inclusive_small),
        cmocka_unit_test(test_gap_fixed_and_bad),
        cmocka_unit_test(test_backoff_bounds_per_attempt),
        cmocka_unit_test(test_backoff_mean_is_half_ceiling),
        cmocka_unit_test(test_backoff_cap_and_huge_attempts),
        cmocka_unit_test(test_backoff_degenerate),
        cmocka_unit_test(test_retry_delay),
        cmocka_unit_test(test_retry_delay_reaches_cap),
        cmocka_unit_test(test_deterministic_with_seed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
