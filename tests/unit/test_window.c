/* Unit tests for engine/window: parsing and printing windows, then
 * window_state at explicit UTC instants, including the 2026 DST changes of
 * America/New_York and Europe/Lisbon, overnight and weekday-only windows,
 * America/Sao_Paulo (no DST since 2019), and a randomized check against a
 * plain local-clock definition.
 *
 * Relies on the system tz database (Debian package tzdata). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "engine/window.h"
#include "util/rng.h"
#include "util/tz.h"

/* UTC milliseconds of a civil UTC time (glibc, independent of tz.c). */
static int64_t ms(int y, int mo, int d, int h, int mi)
{
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    return (int64_t)timegm(&tm) * 1000;
}

static dp_window win(const char *tz, unsigned mask, int sh, int sm, int eh, int em)
{
    dp_window w;
    memset(&w, 0, sizeof w);
    snprintf(w.tz, sizeof w.tz, "%s", tz);
    w.days_mask = mask;
    w.start_min = sh * 60 + sm;
    w.end_min = eh * 60 + em;
    return w;
}

#define DAYS(...) days_mask((int[]){__VA_ARGS__, -1})
static unsigned days_mask(const int *d)
{
    unsigned m = 0;
    for (; *d >= 0; d++)
        m |= 1u << *d;
    return m;
}

static void expect(const dp_window *w, int64_t now, int want_open, int64_t want_change)
{
    int open = -1;
    int64_t change = -1;
    window_state(w, now, &open, &change);
    if (open != want_open || change != want_change)
        print_error("now %lld: got open=%d change=%lld, want open=%d change=%lld\n", (long long)now,
                    open, (long long)change, want_open, (long long)want_change);
    assert_int_equal(open, want_open);
    assert_int_equal(change, want_change);
}

/* ---- JSON ---------------------------------------------------------------- */

static json_t *parse(const char *s)
{
    json_error_t je;
    json_t *j = json_loads(s, 0, &je);
    assert_non_null(j);
    return j;
}

static void test_from_json_full(void **state)
{
    json_t *j = parse("{\"timezone\":\"America/Sao_Paulo\",\"days\":[1,2,3,4,5],"
                      "\"start\":\"08:00\",\"end\":\"18:00\"}");
    dp_window w;
    dp_err e;
    dp_err_clear(&e);
    assert_int_equal(window_from_json(j, &w, &e), DP_OK);
    assert_string_equal(w.tz, "America/Sao_Paulo");
    assert_int_equal(w.days_mask, 0x3E);
    assert_int_equal(w.start_min, 480);
    assert_int_equal(w.end_min, 1080);
    json_decref(j);
}

static void test_from_json_defaults_and_forms(void **state)
{
    dp_window w;
    json_t *j = parse("{\"timezone\":\"Europe/Lisbon\",\"start\":\"9:05\",\"end\":\"00:00\","
                      "\"extra\":true}");
    assert_int_equal(window_from_json(j, &w, NULL), DP_OK);
    assert_int_equal(w.days_mask, 0x7F);
    assert_int_equal(w.start_min, 545);
    assert_int_equal(w.end_min, 0);
    json_decref(j);

    j = parse("{\"timezone\":\"UTC\",\"days\":null,\"start\":\"22:00\",\"end\":\"06:00\"}");
    assert_int_equal(window_from_json(j, &w, NULL), DP_OK);
    assert_int_equal(w.days_mask, 0x7F);
    json_decref(j);

    j = parse("{\"timezone\":\"UTC\",\"days\":[6,0,6],\"start\":\"23:59\",\"end\":\"00:00\"}");
    assert_int_equal(window_from_json(j, &w, NULL), DP_OK);
    assert_int_equal(w.days_mask, 0x41);
    assert_int_equal(w.start_min, 1439);
    json_decref(j);
}

static void expect_bad(const char *js, const char *want_msg)
{
    json_t *j = parse(js);
    dp_window w;
    memset(&w, 0xAB, sizeof w);
    dp_window before = w;
    dp_err e;
    dp_err_clear(&e);
    assert_int_equal(window_from_json(j, &w, &e), DP_EINVAL);
    assert_int_equal(e.code, DP_EINVAL);
    if (strcmp(e.msg, want_msg) != 0)
        print_error("input %s\n got: %s\nwant: %s\n", js, e.msg, want_msg);
    assert_string_equal(e.msg, want_msg);
    assert_memory_equal(&w, &before, sizeof w);
    json_decref(j);
}

static void test_from_json_errors(void **state)
{
    expect_bad("[]", "window: expected an object or null");
    expect_bad("{\"start\":\"08:00\",\"end\":\"18:00\"}",
               "window.timezone: required, an IANA name like \"America/Sao_Paulo\"");
    expect_bad("{\"timezone\":7,\"start\":\"08:00\",\"end\":\"18:00\"}",
               "window.timezone: required, an IANA name like \"America/Sao_Paulo\"");
    expect_bad("{\"timezone\":\"Mars/Base\",\"start\":\"08:00\",\"end\":\"18:00\"}",
               "window.timezone: unknown time zone \"Mars/Base\"");
    expect_bad("{\"timezone\":\"../../etc/passwd\",\"start\":\"08:00\",\"end\":\"18:00\"}",
               "window.timezone: unknown time zone \"../../etc/passwd\"");
    expect_bad("{\"timezone\":\"\",\"start\":\"08:00\",\"end\":\"18:00\"}",
               "window.timezone: unknown time zone \"\"");
    expect_bad("{\"timezone\":\"UTC\",\"days\":[1,7],\"start\":\"08:00\",\"end\":\"18:00\"}",
               "window.days[1]: expected 0 (Sunday) to 6 (Saturday)");
    expect_bad("{\"timezone\":\"UTC\",\"days\":[-1],\"start\":\"08:00\",\"end\":\"18:00\"}",
               "window.days[0]: expected 0 (Sunday) to 6 (Saturday)");
    expect_bad("{\"timezone\":\"UTC\",\"days\":[\"1\"],\"start\":\"08:00\",\"end\":\"18:00\"}",
               "window.days[0]: expected 0 (Sunday) to 6 (Saturday)");
    expect_bad("{\"timezone\":\"UTC\",\"days\":[1.0],\"start\":\"08:00\",\"end\":\"18:00\"}",
               "window.days[0]: expected 0 (Sunday) to 6 (Saturday)");
    expect_bad("{\"timezone\":\"UTC\",\"days\":[],\"start\":\"08:00\",\"end\":\"18:00\"}",
               "window.days: must not be empty (omit it for every day)");
    expect_bad("{\"timezone\":\"UTC\",\"days\":3,\"start\":\"08:00\",\"end\":\"18:00\"}",
               "window.days: expected an array of weekdays 0-6");
    expect_bad("{\"timezone\":\"UTC\",\"end\":\"18:00\"}", "window.start: required, \"HH:MM\"");
    expect_bad("{\"timezone\":\"UTC\",\"start\":\"08:00\"}", "window.end: required, \"HH:MM\"");
    expect_bad("{\"timezone\":\"UTC\",\"start\":800,\"end\":\"18:00\"}",
               "window.start: expected a string \"HH:MM\"");
    const char *bad_times[] = {"24:00", "08:60", "8h", "0800",  "08:0",   "08:000",
                               "-1:00", "08:0a", "",   " 8:00", "123:00", "08-00"};
    for (size_t i = 0; i < sizeof bad_times / sizeof bad_times[0]; i++) {
        char js[160], msg[160];
        snprintf(js, sizeof js, "{\"timezone\":\"UTC\",\"start\":\"07:00\",\"end\":\"%s\"}",
                 bad_times[i]);
        snprintf(msg, sizeof msg, "window.end: expected \"HH:MM\" from 00:00 to 23:59, got \"%s\"",
                 bad_times[i]);
        expect_bad(js, msg);
    }
    expect_bad("{\"timezone\":\"UTC\",\"start\":\"08:00\",\"end\":\"8:00\"}",
               "window.end: must differ from window.start");
}

static void test_to_json_round_trip(void **state)
{
    dp_window w = win("America/New_York", DAYS(5, 1, 3), 22, 5, 6, 0);
    json_t *j = window_to_json(&w);
    assert_non_null(j);
    char *s = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
    assert_string_equal(s, "{\"days\":[1,3,5],\"end\":\"06:00\",\"start\":\"22:05\","
                           "\"timezone\":\"America/New_York\"}");
    dp_window back;
    assert_int_equal(window_from_json(j, &back, NULL), DP_OK);
    assert_memory_equal(&back, &w, sizeof w);
    free(s);
    json_decref(j);

    w = win("UTC", 0x7F, 0, 0, 23, 59);
    j = window_to_json(&w);
    s = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
    assert_string_equal(s, "{\"days\":[0,1,2,3,4,5,6],\"end\":\"23:59\",\"start\":\"00:00\","
                           "\"timezone\":\"UTC\"}");
    free(s);
    json_decref(j);
}

/* ---- state: no DST ------------------------------------------------------ */

/* Sao Paulo is UTC-3 all year; 2026-06-15 is a Monday. */
static void test_sao_paulo_weekdays(void **state)
{
    dp_window w = win("America/Sao_Paulo", DAYS(1, 2, 3, 4, 5), 8, 0, 18, 0);
    /* Monday 10:00 local: open until 18:00 local (21:00Z). */
    expect(&w, ms(2026, 6, 15, 13, 0), 1, ms(2026, 6, 15, 21, 0));
    /* Start is inclusive, end exclusive. */
    expect(&w, ms(2026, 6, 15, 11, 0), 1, ms(2026, 6, 15, 21, 0));
    expect(&w, ms(2026, 6, 15, 11, 0) - 1, 0, ms(2026, 6, 15, 11, 0));
    expect(&w, ms(2026, 6, 15, 21, 0) - 1, 1, ms(2026, 6, 15, 21, 0));
    expect(&w, ms(2026, 6, 15, 21, 0), 0, ms(2026, 6, 16, 11, 0));
    /* Monday 02:00Z is still Sunday (23:00) locally. */
    expect(&w, ms(2026, 6, 15, 2, 0), 0, ms(2026, 6, 15, 11, 0));
    /* Friday evening: next opening is Monday, three days on. */
    expect(&w, ms(2026, 6, 19, 21, 30), 0, ms(2026, 6, 22, 11, 0));
    /* Saturday and Sunday. */
    expect(&w, ms(2026, 6, 20, 15, 0), 0, ms(2026, 6, 22, 11, 0));
    expect(&w, ms(2026, 6, 22, 2, 59), 0, ms(2026, 6, 22, 11, 0));
    /* Milliseconds are respected. */
    expect(&w, ms(2026, 6, 22, 11, 0) - 1, 0, ms(2026, 6, 22, 11, 0));
}

static void test_sao_paulo_overnight_friday(void **state)
{
    /* Friday 22:00 to Saturday 06:00 local = Sat 01:00Z to Sat 09:00Z. */
    dp_window w = win("America/Sao_Paulo", DAYS(5), 22, 0, 6, 0);
    expect(&w, ms(2026, 6, 20, 0, 59), 0, ms(2026, 6, 20, 1, 0));
    expect(&w, ms(2026, 6, 20, 1, 0), 1, ms(2026, 6, 20, 9, 0));
    /* Saturday 03:00 local belongs to Friday's window. */
    expect(&w, ms(2026, 6, 20, 6, 0), 1, ms(2026, 6, 20, 9, 0));
    /* Saturday 06:00 local: closed, next is the following Friday 22:00. */
    expect(&w, ms(2026, 6, 20, 9, 0), 0, ms(2026, 6, 27, 1, 0));
    /* Thursday 03:00 local: Wednesday is not in days. */
    expect(&w, ms(2026, 6, 18, 6, 0), 0, ms(2026, 6, 20, 1, 0));
    /* Friday 03:00 local: Thursday is not in days either. */
    expect(&w, ms(2026, 6, 19, 6, 0), 0, ms(2026, 6, 20, 1, 0));
}

static void test_overnight_every_day(void **state)
{
    dp_window w = win("America/Sao_Paulo", 0x7F, 22, 0, 6, 0);
    /* 05:59 local Monday: open since Sunday 22:00, closes at 06:00. */
    expect(&w, ms(2026, 6, 15, 8, 59), 1, ms(2026, 6, 15, 9, 0));
    expect(&w, ms(2026, 6, 15, 9, 0), 0, ms(2026, 6, 16, 1, 0));
    /* Midnight is inside. */
    expect(&w, ms(2026, 6, 16, 3, 0), 1, ms(2026, 6, 16, 9, 0));
    /* Ending at midnight: 20:00-00:00 closes at the next local midnight. */
    dp_window m = win("America/Sao_Paulo", DAYS(1), 20, 0, 0, 0);
    expect(&m, ms(2026, 6, 15, 23, 30), 1, ms(2026, 6, 16, 3, 0));
    expect(&m, ms(2026, 6, 16, 3, 0), 0, ms(2026, 6, 22, 23, 0));
}

static void test_far_next_opening(void **state)
{
    /* Only Sundays 10:00-11:00 UTC; just after it closes, the next
     * opening is 6 days 23 hours away. */
    dp_window w = win("UTC", DAYS(0), 10, 0, 11, 0);
    expect(&w, ms(2026, 6, 14, 11, 0), 0, ms(2026, 6, 21, 10, 0));
    /* Sunday 09:00: an hour away; Monday: six days. */
    expect(&w, ms(2026, 6, 14, 9, 0), 0, ms(2026, 6, 14, 10, 0));
    expect(&w, ms(2026, 6, 15, 0, 0), 0, ms(2026, 6, 21, 10, 0));
    /* A single minute on Saturdays, from the Saturday minute after. */
    dp_window s = win("Asia/Tokyo", DAYS(6), 23, 59, 0, 0);
    /* Tokyo is UTC+9: Saturday 23:59 JST = Saturday 14:59Z. */
    expect(&s, ms(2026, 6, 20, 15, 0), 0, ms(2026, 6, 27, 14, 59));
    expect(&s, ms(2026, 6, 20, 14, 59), 1, ms(2026, 6, 20, 15, 0));
}

static void test_window_closed_cases(void **state)
{
    dp_window none = win("UTC", 0, 8, 0, 18, 0);
    expect(&none, ms(2026, 6, 15, 12, 0), 0, INT64_MAX);
    /* Bits above Saturday are ignored. */
    dp_window high = win("UTC", 0x80, 8, 0, 18, 0);
    expect(&high, ms(2026, 6, 15, 12, 0), 0, INT64_MAX);
    /* An instant outside the supported range: closed for good. */
    dp_window w = win("UTC", 0x7F, 8, 0, 18, 0);
    expect(&w, INT64_MAX, 0, INT64_MAX);
    /* An unknown zone (tzdata gone after validation) reads as UTC. */
    dp_window lost = win("Gone/Zone", 0x7F, 8, 0, 18, 0);
    expect(&lost, ms(2026, 6, 15, 12, 0), 1, ms(2026, 6, 15, 18, 0));
    expect(&lost, ms(2026, 6, 15, 19, 0), 0, ms(2026, 6, 16, 8, 0));
}

/* ---- state: DST --------------------------------------------------------- */

static void test_new_york_spring_2026(void **state)
{
    /* 2026-03-08 (Sunday): 02:00 EST jumps to 03:00 EDT at 07:00Z. */
    dp_window w = win("America/New_York", 0x7F, 8, 0, 18, 0);
    /* Saturday 18:30 EST -> Sunday 08:00 EDT = 12:00Z (not 13:00Z). */
    expect(&w, ms(2026, 3, 7, 23, 30), 0, ms(2026, 3, 8, 12, 0));
    expect(&w, ms(2026, 3, 8, 12, 0), 1, ms(2026, 3, 8, 22, 0));
    /* Saturday's window used EST. */
    expect(&w, ms(2026, 3, 7, 13, 0), 1, ms(2026, 3, 7, 23, 0));

    /* A start inside the skipped hour opens at the jump. */
    dp_window g = win("America/New_York", 0x7F, 2, 30, 4, 0);
    expect(&g, ms(2026, 3, 8, 6, 30), 0, ms(2026, 3, 8, 7, 0));
    expect(&g, ms(2026, 3, 8, 7, 0), 1, ms(2026, 3, 8, 8, 0));
    /* The day before it was 02:30 EST = 07:30Z. */
    expect(&g, ms(2026, 3, 7, 6, 0), 0, ms(2026, 3, 7, 7, 30));

    /* An end inside the skipped hour closes at the jump. */
    dp_window ge = win("America/New_York", 0x7F, 1, 0, 2, 30);
    expect(&ge, ms(2026, 3, 8, 6, 30), 1, ms(2026, 3, 8, 7, 0));
    /* After that the next opening is Monday 01:00 EDT = 05:00Z. */
    expect(&ge, ms(2026, 3, 8, 7, 0), 0, ms(2026, 3, 9, 5, 0));

    /* A window entirely inside the skipped hour does not happen that day. */
    dp_window e = win("America/New_York", 0x7F, 2, 0, 2, 30);
    expect(&e, ms(2026, 3, 8, 6, 0), 0, ms(2026, 3, 9, 6, 0));
    /* If that was the only day, the next one is a week later. */
    dp_window es = win("America/New_York", DAYS(0), 2, 0, 2, 30);
    expect(&es, ms(2026, 3, 8, 6, 0), 0, ms(2026, 3, 15, 6, 0));

    /* Overnight Saturday 22:00 EST to Sunday 06:00 EDT: 7 real hours. */
    dp_window o = win("America/New_York", DAYS(6), 22, 0, 6, 0);
    expect(&o, ms(2026, 3, 8, 3, 0), 1, ms(2026, 3, 8, 10, 0));
    expect(&o, ms(2026, 3, 8, 10, 0), 0, ms(2026, 3, 15, 2, 0));
}

static void test_new_york_fall_2026(void **state)
{
    /* 2026-11-01 (Sunday): 02:00 EDT falls back to 01:00 EST at 06:00Z. */
    dp_window w = win("America/New_York", 0x7F, 8, 0, 18, 0);
    /* Saturday 18:00 EDT = 22:00Z; Sunday 08:00 EST = 13:00Z. */
    expect(&w, ms(2026, 10, 31, 22, 0), 0, ms(2026, 11, 1, 13, 0));
    expect(&w, ms(2026, 11, 1, 13, 0), 1, ms(2026, 11, 1, 23, 0));

    /* 01:30 happens twice: the window opens at the first one (05:30Z) and
     * stays open through the repeat until 03:00 EST (08:00Z). */
    dp_window r = win("America/New_York", 0x7F, 1, 30, 3, 0);
    expect(&r, ms(2026, 11, 1, 5, 29), 0, ms(2026, 11, 1, 5, 30));
    expect(&r, ms(2026, 11, 1, 5, 30), 1, ms(2026, 11, 1, 8, 0));
    expect(&r, ms(2026, 11, 1, 6, 15), 1, ms(2026, 11, 1, 8, 0));

    /* An end in the repeated hour closes at its first occurrence. */
    dp_window re = win("America/New_York", 0x7F, 0, 0, 1, 30);
    expect(&re, ms(2026, 11, 1, 5, 0), 1, ms(2026, 11, 1, 5, 30));
    expect(&re, ms(2026, 11, 1, 5, 30), 0, ms(2026, 11, 2, 5, 0));

    /* Overnight Saturday 22:00 EDT (02:00Z) to Sunday 06:00 EST (11:00Z):
     * 9 real hours. */
    dp_window o = win("America/New_York", DAYS(6), 22, 0, 6, 0);
    expect(&o, ms(2026, 11, 1, 1, 59), 0, ms(2026, 11, 1, 2, 0));
    expect(&o, ms(2026, 11, 1, 2, 0), 1, ms(2026, 11, 1, 11, 0));
    expect(&o, ms(2026, 11, 1, 10, 59), 1, ms(2026, 11, 1, 11, 0));
    expect(&o, ms(2026, 11, 1, 11, 0), 0, ms(2026, 11, 8, 3, 0));
}

static void test_lisbon_2026(void **state)
{
    /* 2026-03-29 (Sunday) 01:00 WET -> 02:00 WEST at 01:00Z. */
    dp_window w = win("Europe/Lisbon", DAYS(1, 2, 3, 4, 5), 9, 0, 18, 0);
    /* Friday 27th 18:00 WET (18:00Z) -> Monday 30th 09:00 WEST (08:00Z). */
    expect(&w, ms(2026, 3, 27, 18, 0), 0, ms(2026, 3, 30, 8, 0));
    expect(&w, ms(2026, 3, 27, 17, 59), 1, ms(2026, 3, 27, 18, 0));
    expect(&w, ms(2026, 3, 30, 8, 0), 1, ms(2026, 3, 30, 17, 0));

    dp_window g = win("Europe/Lisbon", 0x7F, 1, 30, 9, 0);
    expect(&g, ms(2026, 3, 29, 0, 59), 0, ms(2026, 3, 29, 1, 0));
    expect(&g, ms(2026, 3, 29, 1, 0), 1, ms(2026, 3, 29, 8, 0));

    dp_window ge = win("Europe/Lisbon", 0x7F, 0, 30, 1, 30);
    expect(&ge, ms(2026, 3, 29, 0, 45), 1, ms(2026, 3, 29, 1, 0));

    dp_window empty = win("Europe/Lisbon", 0x7F, 1, 0, 1, 45);
    expect(&empty, ms(2026, 3, 29, 0, 30), 0, ms(2026, 3, 30, 0, 0));

    /* 2026-10-25 (Sunday) 02:00 WEST -> 01:00 WET at 01:00Z. */
    dp_window r = win("Europe/Lisbon", 0x7F, 1, 30, 2, 0);
    /* Opens 01:30 WEST (00:30Z), closes 02:00 WET (02:00Z): 90 minutes. */
    expect(&r, ms(2026, 10, 25, 0, 29), 0, ms(2026, 10, 25, 0, 30));
    expect(&r, ms(2026, 10, 25, 1, 15), 1, ms(2026, 10, 25, 2, 0));
    expect(&r, ms(2026, 10, 25, 2, 0), 0, ms(2026, 10, 26, 1, 30));
    /* Weekday window across the change: Friday 23rd in WEST, Monday 26th
     * in WET. */
    expect(&w, ms(2026, 10, 23, 17, 0), 0, ms(2026, 10, 26, 9, 0));
}

static void test_merge_back_to_back(void **state)
{
    /* 02:30 to 02:00 the next day (23.5 h) every day in New York. On
     * 2026-03-08 both Saturday's close (02:00) and Sunday's open (02:30)
     * fall in the skipped hour, at the same instant (07:00Z): the window
     * does not close there. */
    dp_window w = win("America/New_York", 0x7F, 2, 30, 2, 0);
    /* Saturday's instance: 02:30 EST Mar 7 (07:30Z) .. jump (07:00Z Mar 8).
     * Sunday's: jump .. Monday 02:00 EDT (06:00Z Mar 9). */
    expect(&w, ms(2026, 3, 8, 6, 0), 1, ms(2026, 3, 9, 6, 0));
    expect(&w, ms(2026, 3, 9, 6, 0), 0, ms(2026, 3, 9, 6, 30));
}

/* ---- randomized, against the plain local-clock definition -------------- */

static int oracle_open(const dp_window *w, const struct tm *lt)
{
    int m = lt->tm_hour * 60 + lt->tm_min;
    int wd = lt->tm_wday, yd = (wd + 6) % 7;
    if (w->start_min < w->end_min)
        return (w->days_mask >> wd & 1) && m >= w->start_min && m < w->end_min;
    return ((w->days_mask >> wd & 1) && m >= w->start_min) ||
           ((w->days_mask >> yd & 1) && m < w->end_min);
}

static void test_randomized(void **state)
{
    const char *zones[] = {"America/Sao_Paulo", "America/New_York",    "Europe/Lisbon",
                           "Asia/Kolkata",      "Australia/Lord_Howe", "UTC"};
    dp_rng r;
    rng_seed(&r, 2026);
    int checked_oracle = 0;
    for (int iter = 0; iter < 4000; iter++) {
        dp_window w;
        memset(&w, 0, sizeof w);
        snprintf(w.tz, sizeof w.tz, "%s", zones[rng_range(&r, 0, 5)]);
        w.days_mask = (unsigned)rng_range(&r, 1, 127);
        w.start_min = (int)rng_range(&r, 0, 1439);
        do
            w.end_min = (int)rng_range(&r, 0, 1439);
        while (w.end_min == w.start_min);
        int64_t now = rng_range(&r, ms(2025, 1, 1, 0, 0), ms(2028, 1, 1, 0, 0));

        int open;
        int64_t change;
        window_state(&w, now, &open, &change);
        assert_true(change > now);
        assert_true(change - now <= 8LL * 86400 * 1000);

        /* Stable: asking again just before the change gives the same
         * answer; at the change the state flips. */
        int open2;
        int64_t change2;
        window_state(&w, change - 1, &open2, &change2);
        assert_int_equal(open2, open);
        assert_int_equal(change2, change);
        window_state(&w, change, &open2, &change2);
        assert_int_equal(open2, !open);
        assert_true(change2 > change);

        /* Away from offset changes, the local clock decides. */
        int o1, o2, o3;
        struct tm lt;
        int64_t s = now / 1000;
        if (tz_local(w.tz, s - 2 * 86400, &lt, &o1) || tz_local(w.tz, s + 2 * 86400, &lt, &o2) ||
            tz_local(w.tz, s, &lt, &o3))
            fail();
        if (o1 == o2 && o2 == o3) {
            assert_int_equal(open, oracle_open(&w, &lt));
            checked_oracle++;
        }
    }
    assert_true(checked_oracle > 3500);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_from_json_full),
        cmocka_unit_test(test_from_json_defaults_and_forms),
        cmocka_unit_test(test_from_json_errors),
        cmocka_unit_test(test_to_json_round_trip),
        cmocka_unit_test(test_sao_paulo_weekdays),
        cmocka_unit_test(test_sao_paulo_overnight_friday),
        cmocka_unit_test(test_overnight_every_day),
        cmocka_unit_test(test_far_next_opening),
        cmocka_unit_test(test_window_closed_cases),
        cmocka_unit_test(test_new_york_spring_2026),
        cmocka_unit_test(test_new_york_fall_2026),
        cmocka_unit_test(test_lisbon_2026),
        cmocka_unit_test(test_merge_back_to_back),
        cmocka_unit_test(test_randomized),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tz_cache_clear();
    return rc;
}
