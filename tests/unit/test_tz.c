/* Unit tests for util/tz.
 *
 * These tests read the system tz database (Debian package tzdata, installed
 * by scripts/deps.sh): America/New_York, Europe/Lisbon, America/Sao_Paulo and
 * a dozen zones with unusual rules. Expected instants come from glibc's
 * timegm (UTC only) and, for the sweeps, from glibc's own localtime_r with TZ
 * set: two independent readers of the same files must agree to the second.
 * Synthetic TZif files in a temporary $TZDIR cover the POSIX footer rules and
 * corrupt data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/err.h"
#include "util/tz.h"

/* UTC seconds of a civil UTC time, via glibc. */
static int64_t utc(int y, int mo, int d, int h, int mi, int s)
{
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    return (int64_t)timegm(&tm);
}

static int64_t mk(const char *zone, int y, int mo, int d, int h, int mi, int s)
{
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    int64_t out = -1;
    int rc = tz_mktime(zone, &tm, &out);
    assert_int_equal(rc, DP_OK);
    return out;
}

static void expect_local(const char *zone, int64_t t, int y, int mo, int d, int h, int mi, int s,
                         int off, int isdst)
{
    struct tm tm;
    int g = 12345;
    assert_int_equal(tz_local(zone, t, &tm, &g), DP_OK);
    assert_int_equal(tm.tm_year + 1900, y);
    assert_int_equal(tm.tm_mon + 1, mo);
    assert_int_equal(tm.tm_mday, d);
    assert_int_equal(tm.tm_hour, h);
    assert_int_equal(tm.tm_min, mi);
    assert_int_equal(tm.tm_sec, s);
    assert_int_equal(g, off);
    assert_int_equal(tm.tm_isdst, isdst);
}

static void test_valid_names(void **state)
{
    assert_int_equal(tz_valid("America/Sao_Paulo"), 1);
    assert_int_equal(tz_valid("America/New_York"), 1);
    assert_int_equal(tz_valid("Europe/Lisbon"), 1);
    assert_int_equal(tz_valid("UTC"), 1);
    assert_int_equal(tz_valid("Etc/UTC"), 1);
    assert_int_equal(tz_valid("Etc/GMT+3"), 1);
    assert_int_equal(tz_valid("America/Argentina/Buenos_Aires"), 1);
}

static void test_invalid_names(void **state)
{
    assert_int_equal(tz_valid(NULL), 0);
    assert_int_equal(tz_valid(""), 0);
    assert_int_equal(tz_valid("America/Nowhere"), 0);
    assert_int_equal(tz_valid("america/sao_paulo"), 0);
    assert_int_equal(tz_valid("/etc/localtime"), 0);
    assert_int_equal(tz_valid("/usr/share/zoneinfo/UTC"), 0);
    assert_int_equal(tz_valid("../zoneinfo/UTC"), 0);
    assert_int_equal(tz_valid("America/../UTC"), 0);
    assert_int_equal(tz_valid("America/..Sao_Paulo"), 0);
    assert_int_equal(tz_valid("./UTC"), 0);
    assert_int_equal(tz_valid("America//Sao_Paulo"), 0);
    assert_int_equal(tz_valid("America/Sao_Paulo/"), 0);
    assert_int_equal(tz_valid("America/.hidden"), 0);
    assert_int_equal(tz_valid("America Sao_Paulo"), 0);
    assert_int_equal(tz_valid("UTC\n"), 0);
    /* A directory and a non-TZif file that live in the database folder. */
    assert_int_equal(tz_valid("America"), 0);
    assert_int_equal(tz_valid("zone.tab"), 0);
    assert_int_equal(tz_valid("iso3166.tab"), 0);
    /* Longer than TZ_NAME_MAX. */
    char longname[100];
    memset(longname, 'A', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_int_equal(tz_valid(longname), 0);
}

static void test_unknown_zone_errors(void **state)
{
    struct tm tm = {0};
    int64_t u = 77;
    assert_int_equal(tz_local("Mars/Olympus", 0, &tm, NULL), DP_EINVAL);
    assert_int_equal(tz_mktime("Mars/Olympus", &tm, &u), DP_EINVAL);
    assert_int_equal(u, 77);
    assert_int_equal(tz_local_hour("Mars/Olympus", 0), -1);
    assert_int_equal(tz_local_hour(NULL, 0), -1);
}

static void test_range_limits(void **state)
{
    struct tm tm;
    assert_int_equal(tz_local("UTC", TZ_MAX_S + 1, &tm, NULL), DP_EINVAL);
    assert_int_equal(tz_local("UTC", TZ_MIN_S - 1, &tm, NULL), DP_EINVAL);
    assert_int_equal(tz_local("UTC", INT64_MAX, &tm, NULL), DP_EINVAL);
    assert_int_equal(tz_local("UTC", INT64_MIN, &tm, NULL), DP_EINVAL);
    assert_int_equal(tz_local_hour("UTC", INT64_MAX), -1);
    expect_local("UTC", TZ_MAX_S, 9999, 12, 31, 23, 59, 59, 0, 0);
    expect_local("UTC", TZ_MIN_S, 1, 1, 1, 0, 0, 0, 0, 0);
    struct tm big = {0};
    big.tm_year = 2000000;
    int64_t u;
    assert_int_equal(tz_mktime("UTC", &big, &u), DP_EINVAL);
    big.tm_year = 100;
    big.tm_mday = 2147483647; /* normalised, then out of range */
    assert_int_equal(tz_mktime("UTC", &big, &u), DP_EINVAL);
}

static void test_civil_days(void **state)
{
    /* Against glibc timegm over a wide span, including negative years'
     * neighbourhood and leap centuries. */
    const int years[] = {1, 100, 1600, 1700, 1899, 1900, 1969, 1970, 2000, 2024, 2100, 2400, 9999};
    for (size_t i = 0; i < sizeof years / sizeof years[0]; i++) {
        for (int m = 1; m <= 12; m++) {
            for (int d = 1; d <= 28; d += 9) {
                int64_t days = tz_days_from_civil(years[i], m, d);
                assert_int_equal(days * 86400, utc(years[i], m, d, 0, 0, 0));
                int64_t y;
                int mm, dd;
                tz_civil_from_days(days, &y, &mm, &dd);
                assert_int_equal(y, years[i]);
                assert_int_equal(mm, m);
                assert_int_equal(dd, d);
            }
        }
    }
    assert_int_equal(tz_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(tz_days_from_civil(2000, 3, 0), tz_days_from_civil(2000, 2, 29));
    assert_int_equal(tz_days_from_civil(2026, 1, 32), tz_days_from_civil(2026, 2, 1));
    /* Round trip over every day of 1890..2110. */
    for (int64_t days = tz_days_from_civil(1890, 1, 1); days < tz_days_from_civil(2110, 1, 1);
         days++) {
        int64_t y;
        int m, d;
        tz_civil_from_days(days, &y, &m, &d);
        assert_int_equal(tz_days_from_civil(y, m, d), days);
    }
}

static void test_new_york_2026(void **state)
{
    const char *z = "America/New_York";
    /* Spring forward: 2026-03-08 02:00 EST -> 03:00 EDT at 07:00Z. */
    int64_t jump = utc(2026, 3, 8, 7, 0, 0);
    expect_local(z, jump - 1, 2026, 3, 8, 1, 59, 59, -5 * 3600, 0);
    expect_local(z, jump, 2026, 3, 8, 3, 0, 0, -4 * 3600, 1);
    assert_int_equal(mk(z, 2026, 3, 8, 1, 59, 59), jump - 1);
    assert_int_equal(mk(z, 2026, 3, 8, 3, 0, 0), jump);
    /* Times in the skipped hour give the jump instant. */
    assert_int_equal(mk(z, 2026, 3, 8, 2, 0, 0), jump);
    assert_int_equal(mk(z, 2026, 3, 8, 2, 30, 0), jump);
    assert_int_equal(mk(z, 2026, 3, 8, 2, 59, 59), jump);

    /* Fall back: 2026-11-01 02:00 EDT -> 01:00 EST at 06:00Z. */
    int64_t back = utc(2026, 11, 1, 6, 0, 0);
    expect_local(z, back - 1, 2026, 11, 1, 1, 59, 59, -4 * 3600, 1);
    expect_local(z, back, 2026, 11, 1, 1, 0, 0, -5 * 3600, 0);
    /* 01:30 happens twice: the earlier (EDT) instant wins. */
    assert_int_equal(mk(z, 2026, 11, 1, 1, 30, 0), utc(2026, 11, 1, 5, 30, 0));
    assert_int_equal(mk(z, 2026, 11, 1, 1, 0, 0), utc(2026, 11, 1, 5, 0, 0));
    assert_int_equal(mk(z, 2026, 11, 1, 0, 59, 59), utc(2026, 11, 1, 4, 59, 59));
    assert_int_equal(mk(z, 2026, 11, 1, 2, 0, 0), utc(2026, 11, 1, 7, 0, 0));

    assert_int_equal(tz_local_hour(z, jump - 1), 1);
    assert_int_equal(tz_local_hour(z, jump), 3);
    assert_int_equal(tz_local_hour(z, back - 1), 1);
    assert_int_equal(tz_local_hour(z, back), 1);
    assert_int_equal(tz_local_hour(z, back + 3600), 2);
}

static void test_lisbon_2026(void **state)
{
    const char *z = "Europe/Lisbon";
    /* 2026-03-29 01:00 WET -> 02:00 WEST at 01:00Z. */
    int64_t jump = utc(2026, 3, 29, 1, 0, 0);
    expect_local(z, jump - 1, 2026, 3, 29, 0, 59, 59, 0, 0);
    expect_local(z, jump, 2026, 3, 29, 2, 0, 0, 3600, 1);
    assert_int_equal(mk(z, 2026, 3, 29, 1, 0, 0), jump);
    assert_int_equal(mk(z, 2026, 3, 29, 1, 30, 0), jump);
    assert_int_equal(mk(z, 2026, 3, 29, 2, 0, 0), jump);
    assert_int_equal(mk(z, 2026, 3, 29, 2, 0, 1), jump + 1);
    /* 2026-10-25 02:00 WEST -> 01:00 WET at 01:00Z. */
    int64_t back = utc(2026, 10, 25, 1, 0, 0);
    expect_local(z, back - 1, 2026, 10, 25, 1, 59, 59, 3600, 1);
    expect_local(z, back, 2026, 10, 25, 1, 0, 0, 0, 0);
    assert_int_equal(mk(z, 2026, 10, 25, 1, 30, 0), utc(2026, 10, 25, 0, 30, 0));
    assert_int_equal(mk(z, 2026, 10, 25, 2, 0, 0), utc(2026, 10, 25, 2, 0, 0));
    expect_local(z, utc(2026, 7, 1, 12, 0, 0), 2026, 7, 1, 13, 0, 0, 3600, 1);
    expect_local(z, utc(2026, 1, 1, 12, 0, 0), 2026, 1, 1, 12, 0, 0, 0, 0);
}

static void test_sao_paulo(void **state)
{
    const char *z = "America/Sao_Paulo";
    /* No DST since 2019: -03 all year. */
    expect_local(z, utc(2026, 1, 15, 12, 0, 0), 2026, 1, 15, 9, 0, 0, -3 * 3600, 0);
    expect_local(z, utc(2026, 7, 15, 12, 0, 0), 2026, 7, 15, 9, 0, 0, -3 * 3600, 0);
    expect_local(z, utc(2050, 1, 15, 2, 0, 0), 2050, 1, 14, 23, 0, 0, -3 * 3600, 0);
    assert_int_equal(mk(z, 2026, 12, 24, 20, 0, 0), utc(2026, 12, 24, 23, 0, 0));
    /* Its last DST began at local midnight 2018-11-04: 00:00 did not exist,
     * so midnight resolves to the jump (03:00Z, 01:00 -02). */
    int64_t jump = utc(2018, 11, 4, 3, 0, 0);
    expect_local(z, jump - 1, 2018, 11, 3, 23, 59, 59, -3 * 3600, 0);
    expect_local(z, jump, 2018, 11, 4, 1, 0, 0, -2 * 3600, 1);
    assert_int_equal(mk(z, 2018, 11, 4, 0, 0, 0), jump);
    assert_int_equal(mk(z, 2018, 11, 4, 0, 30, 0), jump);
    /* And ended 2019-02-17 00:00 -02 -> 2019-02-16 23:00 -03 at 02:00Z. */
    int64_t back = utc(2019, 2, 17, 2, 0, 0);
    expect_local(z, back, 2019, 2, 16, 23, 0, 0, -3 * 3600, 0);
    assert_int_equal(mk(z, 2019, 2, 16, 23, 30, 0), utc(2019, 2, 17, 1, 30, 0));
}

static void test_tm_fields(void **state)
{
    struct tm tm;
    /* 2026-03-01 is a Sunday, day 59 of a non-leap year. */
    assert_int_equal(tz_local("UTC", utc(2026, 3, 1, 0, 0, 0), &tm, NULL), DP_OK);
    assert_int_equal(tm.tm_wday, 0);
    assert_int_equal(tm.tm_yday, 59);
    assert_int_equal(tz_local("UTC", utc(2024, 12, 31, 23, 59, 59), &tm, NULL), DP_OK);
    assert_int_equal(tm.tm_yday, 365);
    assert_int_equal(tm.tm_wday, 2);
    /* Before the epoch. */
    expect_local("UTC", -1, 1969, 12, 31, 23, 59, 59, 0, 0);
    assert_int_equal(tz_local("UTC", -1, &tm, NULL), DP_OK);
    assert_int_equal(tm.tm_wday, 3);
    /* Local date differs from UTC date across the offset. */
    assert_int_equal(tz_local("Pacific/Kiritimati", utc(2026, 5, 2, 11, 0, 0), &tm, NULL), DP_OK);
    assert_int_equal(tm.tm_mday, 3);
    assert_int_equal(tm.tm_hour, 1);
    assert_int_equal(tm.tm_wday, 0);
}

static void test_mktime_normalises(void **state)
{
    const char *z = "America/Sao_Paulo";
    assert_int_equal(mk(z, 2026, 1, 32, 8, 0, 0), mk(z, 2026, 2, 1, 8, 0, 0));
    assert_int_equal(mk(z, 2026, 13, 1, 8, 0, 0), mk(z, 2027, 1, 1, 8, 0, 0));
    assert_int_equal(mk(z, 2026, 0, 1, 8, 0, 0), mk(z, 2025, 12, 1, 8, 0, 0));
    assert_int_equal(mk(z, 2026, -11, 1, 8, 0, 0), mk(z, 2025, 1, 1, 8, 0, 0));
    assert_int_equal(mk(z, 2026, 3, 0, 8, 0, 0), mk(z, 2026, 2, 28, 8, 0, 0));
    assert_int_equal(mk(z, 2026, 3, 1, 0, -1, 0), mk(z, 2026, 2, 28, 23, 59, 0));
    assert_int_equal(mk(z, 2026, 3, 1, 24 * 10, 0, 0), mk(z, 2026, 3, 11, 0, 0, 0));
    assert_int_equal(mk(z, 2026, 3, 1, 8, 0, 3600), mk(z, 2026, 3, 1, 9, 0, 0));
    /* tm_isdst is ignored rather than trusted. */
    struct tm tm = {0};
    tm.tm_year = 126;
    tm.tm_mon = 6;
    tm.tm_mday = 1;
    tm.tm_hour = 12;
    tm.tm_isdst = 1;
    int64_t a, b;
    assert_int_equal(tz_mktime("Europe/Lisbon", &tm, &a), DP_OK);
    tm.tm_isdst = 0;
    assert_int_equal(tz_mktime("Europe/Lisbon", &tm, &b), DP_OK);
    assert_int_equal(a, b);
    assert_int_equal(a, utc(2026, 7, 1, 11, 0, 0));
}

static void test_half_hour_zones(void **state)
{
    /* India +05:30 (no DST), Lord Howe with a 30-minute DST shift,
     * Chatham +12:45/+13:45. */
    expect_local("Asia/Kolkata", utc(2026, 1, 1, 0, 0, 0), 2026, 1, 1, 5, 30, 0, 19800, 0);
    expect_local("Australia/Lord_Howe", utc(2026, 1, 1, 0, 0, 0), 2026, 1, 1, 11, 0, 0, 39600, 1);
    expect_local("Australia/Lord_Howe", utc(2026, 7, 1, 0, 0, 0), 2026, 7, 1, 10, 30, 0, 37800, 0);
    expect_local("Pacific/Chatham", utc(2026, 7, 1, 0, 0, 0), 2026, 7, 1, 12, 45, 0, 45900, 0);
    assert_int_equal(tz_local_hour("Asia/Kolkata", utc(2026, 1, 1, 6, 29, 59)), 11);
    assert_int_equal(tz_local_hour("Asia/Kolkata", utc(2026, 1, 1, 6, 30, 0)), 12);
}

/* glibc's reading of the same zone, for the sweeps. */
static void glibc_local(const char *zone, int64_t t, struct tm *out)
{
    char tzv[128];
    snprintf(tzv, sizeof tzv, ":%s", zone);
    setenv("TZ", tzv, 1);
    tzset();
    time_t tt = (time_t)t;
    assert_non_null(localtime_r(&tt, out));
}

static void sweep_zone(const char *zone, int64_t from, int64_t to, int64_t step)
{
    for (int64_t t = from; t < to; t += step) {
        struct tm g, m;
        int off;
        glibc_local(zone, t, &g);
        assert_int_equal(tz_local(zone, t, &m, &off), DP_OK);
        if (off != g.tm_gmtoff || m.tm_hour != g.tm_hour || m.tm_mday != g.tm_mday ||
            m.tm_isdst != g.tm_isdst || m.tm_min != g.tm_min || m.tm_wday != g.tm_wday ||
            m.tm_yday != g.tm_yday || m.tm_year != g.tm_year || m.tm_mon != g.tm_mon)
            print_error("%s at %lld: ours off %d dst %d, glibc off %ld dst %d\n", zone,
                        (long long)t, off, m.tm_isdst, g.tm_gmtoff, g.tm_isdst);
        assert_int_equal(off, g.tm_gmtoff);
        assert_int_equal(m.tm_isdst, g.tm_isdst);
        assert_int_equal(m.tm_year, g.tm_year);
        assert_int_equal(m.tm_mon, g.tm_mon);
        assert_int_equal(m.tm_mday, g.tm_mday);
        assert_int_equal(m.tm_hour, g.tm_hour);
        assert_int_equal(m.tm_min, g.tm_min);
        assert_int_equal(m.tm_sec, g.tm_sec);
        assert_int_equal(m.tm_wday, g.tm_wday);
        assert_int_equal(m.tm_yday, g.tm_yday);
        assert_int_equal(tz_local_hour(zone, t), g.tm_hour);

        /* Local -> UTC lands on an instant showing the same wall time, and
         * never later than t (the earlier of an overlap wins). */
        int64_t back;
        assert_int_equal(tz_mktime(zone, &m, &back), DP_OK);
        assert_true(back <= t);
        struct tm again;
        assert_int_equal(tz_local(zone, back, &again, NULL), DP_OK);
        assert_int_equal(again.tm_hour, m.tm_hour);
        assert_int_equal(again.tm_min, m.tm_min);
        assert_int_equal(again.tm_mday, m.tm_mday);
        if (back != t)
            assert_true(t - back <= 3 * 3600); /* only across an overlap */
    }
}

static const char *const sweep_zones[] = {
    "America/New_York",
    "Europe/Lisbon",
    "America/Sao_Paulo",
    "Australia/Lord_Howe",
    "Europe/Dublin",
    "Africa/Casablanca",
    "Antarctica/Troll",
    "America/Santiago",
    "Pacific/Apia",
    "Asia/Tehran",
    "America/St_Johns",
    "Pacific/Chatham",
    "Europe/London",
    "Asia/Kolkata",
    "Pacific/Kiritimati",
    "Australia/Sydney",
    "America/Los_Angeles",
    "Asia/Gaza",
    "UTC",
};

static void test_sweep_against_glibc_recent(void **state)
{
    /* Every 5h 17m 23s (so the sampled times of day drift) from 2015 to
     * 2030: thousands of samples per zone, hundreds next to transitions. */
    for (size_t i = 0; i < sizeof sweep_zones / sizeof sweep_zones[0]; i++)
        sweep_zone(sweep_zones[i], utc(2015, 1, 1, 0, 0, 0), utc(2030, 1, 1, 0, 0, 0),
                   5 * 3600 + 17 * 60 + 23);
    unsetenv("TZ");
}

static void test_sweep_against_glibc_history_and_future(void **state)
{
    /* 1850..2015 exercises the table's early entries and LMT; 2030..2120
     * runs past the table into the POSIX footer. */
    for (size_t i = 0; i < sizeof sweep_zones / sizeof sweep_zones[0]; i++) {
        sweep_zone(sweep_zones[i], utc(1850, 1, 1, 0, 0, 0), utc(2015, 1, 1, 0, 0, 0),
                   3 * 86400 + 7 * 3600 + 11 * 60 + 7);
        sweep_zone(sweep_zones[i], utc(2030, 1, 1, 0, 0, 0), utc(2120, 1, 1, 0, 0, 0),
                   2 * 86400 + 5 * 3600 + 13 * 60 + 3);
    }
    unsetenv("TZ");
}

static void test_transitions_exact(void **state)
{
    /* Around every New York and Lisbon change from 2020 to 2060, the second
     * before and the second of the change both agree with glibc. */
    const char *zs[] = {"America/New_York", "Europe/Lisbon", "Australia/Sydney"};
    for (size_t k = 0; k < 3; k++) {
        int64_t t = utc(2020, 1, 1, 0, 0, 0);
        int last_off = 99999999;
        while (t < utc(2060, 1, 1, 0, 0, 0)) {
            struct tm m;
            int off;
            assert_int_equal(tz_local(zs[k], t, &m, &off), DP_OK);
            if (last_off != 99999999 && off != last_off) {
                /* Bisect the hour for the exact second. */
                int64_t lo = t - 3600, hi = t;
                while (hi - lo > 1) {
                    int64_t mid = lo + (hi - lo) / 2;
                    int o;
                    assert_int_equal(tz_local(zs[k], mid, &m, &o), DP_OK);
                    if (o == last_off)
                        lo = mid;
                    else
                        hi = mid;
                }
                sweep_zone(zs[k], lo - 1, hi + 2, 1);
            }
            last_off = off;
            t += 3600;
        }
    }
    unsetenv("TZ");
}

/* ---- synthetic zones -------------------------------------------------- */

static char tmpdir[64];

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* A v2 TZif with no transitions, one type (utoff) and the given footer. */
static size_t build_tzif(unsigned char *buf, size_t cap, int32_t utoff, const char *footer)
{
    size_t n = 0;
    for (int pass = 0; pass < 2; pass++) {
        memset(buf + n, 0, 44);
        memcpy(buf + n, "TZif2", 5);
        put32(buf + n + 20, 0); /* isutcnt */
        put32(buf + n + 24, 0); /* isstdcnt */
        put32(buf + n + 28, 0); /* leapcnt */
        put32(buf + n + 32, 0); /* timecnt */
        put32(buf + n + 36, 1); /* typecnt */
        put32(buf + n + 40, 4); /* charcnt */
        n += 44;
        put32(buf + n, (uint32_t)utoff);
        buf[n + 4] = 0;
        buf[n + 5] = 0;
        n += 6;
        memcpy(buf + n, "XXX", 4);
        n += 4;
    }
    n += (size_t)snprintf((char *)buf + n, cap - n, "\n%s\n", footer);
    return n;
}

static void write_zone(const char *name, const unsigned char *data, size_t len)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static int setup_tmpdir(void **state)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/dp-tz-XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    return 0;
}

static int teardown_tmpdir(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    (void)system(cmd);
    unsetenv("TZDIR");
    unsetenv("TZ");
    tz_cache_clear();
    return 0;
}

/* Compares a footer-only zone with glibc reading the same POSIX string. */
static void check_rule_zone(const char *name, const char *posix, int32_t utoff)
{
    unsigned char buf[512];
    size_t n = build_tzif(buf, sizeof buf, utoff, posix);
    write_zone(name, buf, n);
    setenv("TZDIR", tmpdir, 1);
    assert_int_equal(tz_valid(name), 1);
    unsetenv("TZDIR");
    for (int64_t t = utc(2020, 1, 1, 0, 0, 0); t < utc(2031, 1, 1, 0, 0, 0);
         t += 3 * 3600 + 7 * 60 + 1) {
        setenv("TZ", posix, 1);
        tzset();
        time_t tt = (time_t)t;
        struct tm g, m;
        assert_non_null(localtime_r(&tt, &g));
        int off;
        assert_int_equal(tz_local(name, t, &m, &off), DP_OK);
        if (off != g.tm_gmtoff)
            print_error("%s at %lld: ours %d glibc %ld\n", posix, (long long)t, off, g.tm_gmtoff);
        assert_int_equal(off, g.tm_gmtoff);
        assert_int_equal(m.tm_isdst, g.tm_isdst);
        assert_int_equal(m.tm_hour, g.tm_hour);
    }
    unsetenv("TZ");
}

static void test_posix_footer_rules(void **state)
{
    /* The rule forms: M (US, EU, last-week), Julian J, zero-based n,
     * explicit times and offsets, southern hemisphere, <+-nn> names. */
    check_rule_zone("R_us", "EST5EDT,M3.2.0,M11.1.0", -5 * 3600);
    check_rule_zone("R_eu", "WET0WEST,M3.5.0/1,M10.5.0", 0);
    check_rule_zone("R_cet", "CET-1CEST,M3.5.0,M10.5.0/3", 3600);
    check_rule_zone("R_br", "<-03>3<-02>,M10.3.0/0,M2.3.0/0", -3 * 3600);
    check_rule_zone("R_au", "AEST-10AEDT,M10.1.0,M4.1.0/3", 10 * 3600);
    check_rule_zone("R_julian", "XST3XDT,J60/2,J300/2", -3 * 3600);
    check_rule_zone("R_zero", "XST3XDT,59/2,299/2", -3 * 3600);
    check_rule_zone("R_offs", "<+0530>-5:30<+0630>-6:30,M4.1.0/2:30,M9.5.6/23:59:59", 19800);
    check_rule_zone("R_fixed", "<-03>3", -3 * 3600);
    check_rule_zone("R_default", "EST5EDT", -5 * 3600);
}

static void test_posix_extended_times(void **state)
{
    /* RFC 8536 extensions glibc also accepts: negative and >24h times
     * (Greenland-style -1:00 and 25:00). */
    check_rule_zone("R_neg", "<-02>2<-01>,M3.5.0/-1,M10.5.0/0", -2 * 3600);
    check_rule_zone("R_over", "<+13>-13<+14>,M9.5.0/3,M4.1.0/28", 13 * 3600);
}

static void test_permanent_dst_footer(void **state)
{
    /* zic writes all-year DST as a rule from Jan 1 00:00 to Dec 31 25:00. */
    unsigned char buf[512];
    size_t n = build_tzif(buf, sizeof buf, -4 * 3600, "EST5EDT,0/0,J365/25");
    write_zone("R_perm", buf, n);
    setenv("TZDIR", tmpdir, 1);
    for (int y = 2020; y < 2030; y++) {
        for (int mo = 1; mo <= 12; mo++) {
            struct tm m;
            int off;
            assert_int_equal(tz_local("R_perm", utc(y, mo, 1, 12, 0, 0), &m, &off), DP_OK);
            assert_int_equal(off, -4 * 3600);
        }
        struct tm m;
        int off;
        assert_int_equal(tz_local("R_perm", utc(y, 1, 1, 4, 30, 0), &m, &off), DP_OK);
        assert_int_equal(off, -4 * 3600);
        assert_int_equal(tz_local("R_perm", utc(y, 12, 31, 23, 0, 0), &m, &off), DP_OK);
        assert_int_equal(off, -4 * 3600);
    }
    unsetenv("TZDIR");
}

static void test_corrupt_files(void **state)
{
    unsigned char buf[512];
    size_t n = build_tzif(buf, sizeof buf, 0, "UTC0");
    setenv("TZDIR", tmpdir, 1);

    write_zone("C_ok", buf, n);
    assert_int_equal(tz_valid("C_ok"), 1);

    /* Truncated in the second header. */
    write_zone("C_trunc", buf, 60);
    assert_int_equal(tz_valid("C_trunc"), 0);

    /* Bad magic. */
    unsigned char bad[512];
    memcpy(bad, buf, n);
    bad[0] = 'X';
    write_zone("C_magic", bad, n);
    assert_int_equal(tz_valid("C_magic"), 0);

    /* No types at all. */
    memcpy(bad, buf, n);
    put32(bad + 36, 0);
    write_zone("C_notypes", bad, n);
    assert_int_equal(tz_valid("C_notypes"), 0);

    /* Huge transition count that the file does not contain. */
    memcpy(bad, buf, n);
    put32(bad + 54 + 32, 5000);
    write_zone("C_count", bad, n);
    assert_int_equal(tz_valid("C_count"), 0);

    /* Absurd offset (30 hours). */
    memcpy(bad, buf, n);
    put32(bad + 44 + 54, 30 * 3600);
    write_zone("C_off", bad, n);
    assert_int_equal(tz_valid("C_off"), 0);

    /* Empty file. */
    write_zone("C_empty", buf, 0);
    assert_int_equal(tz_valid("C_empty"), 0);

    /* An unreadable footer is ignored; the type table still applies. */
    n = build_tzif(buf, sizeof buf, 7200, "garbage,,");
    write_zone("C_footer", buf, n);
    assert_int_equal(tz_valid("C_footer"), 1);
    assert_int_equal(tz_local_hour("C_footer", utc(2026, 1, 1, 10, 0, 0)), 12);
    unsetenv("TZDIR");
}

static void test_transitions_in_table(void **state)
{
    /* A v1-only file (32-bit times) with two transitions: +1h at 1000000,
     * back at 2000000. Type 0 applies before the first. */
    unsigned char b[256];
    size_t n = 0;
    memset(b, 0, 44);
    memcpy(b, "TZif", 4); /* version 1: byte 4 is 0 */
    put32(b + 32, 2);     /* timecnt */
    put32(b + 36, 2);     /* typecnt */
    put32(b + 40, 4);     /* charcnt */
    n = 44;
    put32(b + n, 1000000);
    put32(b + n + 4, 2000000);
    n += 8;
    b[n++] = 1;
    b[n++] = 0;
    put32(b + n, 0); /* type 0: UTC */
    b[n + 4] = 0;
    b[n + 5] = 0;
    n += 6;
    put32(b + n, 3600); /* type 1: +1 DST */
    b[n + 4] = 1;
    b[n + 5] = 0;
    n += 6;
    memcpy(b + n, "AAA", 4);
    n += 4;
    write_zone("V1", b, n);
    setenv("TZDIR", tmpdir, 1);
    struct tm m;
    int off;
    assert_int_equal(tz_local("V1", 999999, &m, &off), DP_OK);
    assert_int_equal(off, 0);
    assert_int_equal(tz_local("V1", 1000000, &m, &off), DP_OK);
    assert_int_equal(off, 3600);
    assert_int_equal(m.tm_isdst, 1);
    assert_int_equal(tz_local("V1", 1999999, &m, &off), DP_OK);
    assert_int_equal(off, 3600);
    assert_int_equal(tz_local("V1", 2000000, &m, &off), DP_OK);
    assert_int_equal(off, 0);
    assert_int_equal(tz_local("V1", -5000000000LL, &m, &off), DP_OK);
    assert_int_equal(off, 0);
    /* Gap: local 1000000..1003599 does not exist. */
    struct tm l = {0};
    l.tm_year = 70;
    l.tm_mday = 1;
    l.tm_sec = 1000000 + 1800;
    int64_t u;
    assert_int_equal(tz_mktime("V1", &l, &u), DP_OK);
    assert_int_equal(u, 1000000);
    /* Overlap: local 2000000..2003599 happens twice; earlier wins. */
    l.tm_sec = 2000000 + 1800;
    assert_int_equal(tz_mktime("V1", &l, &u), DP_OK);
    assert_int_equal(u, 2000000 + 1800 - 3600);
    unsetenv("TZDIR");
}

static void test_cache_reload(void **state)
{
    assert_int_equal(tz_local_hour("America/Sao_Paulo", utc(2026, 1, 1, 12, 0, 0)), 9);
    tz_cache_clear();
    assert_int_equal(tz_local_hour("America/Sao_Paulo", utc(2026, 1, 1, 12, 0, 0)), 9);
    /* Alternating zones and instants exercise the hot-span cache misses. */
    for (int i = 0; i < 1000; i++) {
        int64_t t = utc(2026, 3, 8, 6, 0, 0) + i * 7;
        int want_ny = t < utc(2026, 3, 8, 7, 0, 0) ? 1 : 3;
        assert_int_equal(tz_local_hour("America/New_York", t), want_ny);
        assert_int_equal(tz_local_hour("Europe/Lisbon", t), t / 3600 % 24); /* WET, +0 */
        /* 200 days earlier is summer time (EDT, -4). */
        int64_t summer = t - 86400 * 200;
        assert_int_equal(tz_local_hour("America/New_York", summer), (summer / 3600 % 24 + 20) % 24);
    }
}

static void test_hour_fast_path_cost(void **state)
{
    /* Not a benchmark (this build has sanitizers): a sanity bound that
     * catches a fast path that reloads or rescans, at 200 us per call. */
    struct timespec a, b;
    int64_t t0 = utc(2026, 6, 1, 0, 0, 0);
    int sum = 0;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < 200000; i++)
        sum += tz_local_hour("America/Sao_Paulo", t0 + i);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ns = ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / 200000;
    assert_true(sum > 0);
    assert_true(ns < 2000.0 * 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_names),
        cmocka_unit_test(test_invalid_names),
        cmocka_unit_test(test_unknown_zone_errors),
        cmocka_unit_test(test_range_limits),
        cmocka_unit_test(test_civil_days),
        cmocka_unit_test(test_new_york_2026),
        cmocka_unit_test(test_lisbon_2026),
        cmocka_unit_test(test_sao_paulo),
        cmocka_unit_test(test_tm_fields),
        cmocka_unit_test(test_mktime_normalises),
        cmocka_unit_test(test_half_hour_zones),
        cmocka_unit_test(test_sweep_against_glibc_recent),
        cmocka_unit_test(test_sweep_against_glibc_history_and_future),
        cmocka_unit_test(test_transitions_exact),
        cmocka_unit_test(test_posix_footer_rules),
        cmocka_unit_test(test_posix_extended_times),
        cmocka_unit_test(test_permanent_dst_footer),
        cmocka_unit_test(test_corrupt_files),
        cmocka_unit_test(test_transitions_in_table),
        cmocka_unit_test(test_cache_reload),
        cmocka_unit_test(test_hour_fast_path_cost),
    };
    return cmocka_run_group_tests(tests, setup_tmpdir, teardown_tmpdir);
}
