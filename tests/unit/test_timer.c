/* Unit tests for engine/timer: deadline order, ties in arming order, cancel,
 * and that a timer re-armed for "now" by its own callback waits for the next
 * turn of the loop instead of starving everything else. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>
#include <event2/event.h>

#include "engine/timer.h"
#include "util/rng.h"

struct rec {
    int order[2048];
    int n;
};

struct tt {
    dp_timer t;
    int id;
    struct rec *rec;
    dp_timers *ts;
    int rearm; /* times to re-arm itself for now */
};

static void on_fire(dp_timer *t, void *ud)
{
    struct tt *x = ud;
    x->rec->order[x->rec->n++] = x->id;
    if (x->rearm > 0) {
        x->rearm--;
        assert_int_equal(timer_arm_in(x->ts, &x->t, 0), 0);
    }
}

static void run_loop(struct event_base *b, int turns)
{
    for (int i = 0; i < turns; i++)
        event_base_loop(b, EVLOOP_ONCE | EVLOOP_NONBLOCK);
}

static void test_order_and_ties(void **state)
{
    struct event_base *b = event_base_new();
    dp_timers *ts = timers_new(b);
    struct rec rec = {0};
    struct tt t[5];
    int64_t now = timer_now_us();
    /* due times: 3 and 1 share one instant, armed in that order */
    int64_t due[5] = {now + 3000, now + 1000, now + 2000, now + 1000, now + 1000};
    for (int i = 0; i < 5; i++) {
        t[i] = (struct tt){.id = i, .rec = &rec, .ts = ts};
        timer_init(&t[i].t, on_fire, &t[i]);
        assert_int_equal(timer_arm_at(ts, &t[i].t, due[i]), 0);
    }
    assert_int_equal(timers_count(ts), 5);
    while (rec.n < 5)
        event_base_loop(b, EVLOOP_ONCE);
    int want[5] = {1, 3, 4, 2, 0};
    for (int i = 0; i < 5; i++)
        assert_int_equal(rec.order[i], want[i]);
    assert_int_equal(timers_count(ts), 0);
    timers_free(ts);
    event_base_free(b);
}

static void test_cancel_and_rearm(void **state)
{
    struct event_base *b = event_base_new();
    dp_timers *ts = timers_new(b);
    struct rec rec = {0};
    struct tt a = {.id = 1, .rec = &rec, .ts = ts}, c = {.id = 2, .rec = &rec, .ts = ts};
    timer_init(&a.t, on_fire, &a);
    timer_init(&c.t, on_fire, &c);
    assert_int_equal(timer_arm_in(ts, &a.t, 1000), 0);
    assert_int_equal(timer_arm_in(ts, &c.t, 2000), 0);
    timer_cancel(ts, &a.t);
    assert_false(timer_armed(&a.t));
    timer_cancel(ts, &a.t); /* twice is harmless */
    /* re-arming moves it: a now fires after c */
    assert_int_equal(timer_arm_in(ts, &a.t, 4000), 0);
    while (rec.n < 2)
        event_base_loop(b, EVLOOP_ONCE);
    assert_int_equal(rec.order[0], 2);
    assert_int_equal(rec.order[1], 1);
    timers_free(ts);
    event_base_free(b);
}

static void test_rearm_now_yields(void **state)
{
    struct event_base *b = event_base_new();
    dp_timers *ts = timers_new(b);
    struct rec rec = {0};
    /* a keeps re-arming itself for now; b, due now too, must still run
     * between a's firings rather than after all of them */
    struct tt a = {.id = 1, .rec = &rec, .ts = ts, .rearm = 3};
    struct tt c = {.id = 2, .rec = &rec, .ts = ts};
    timer_init(&a.t, on_fire, &a);
    timer_init(&c.t, on_fire, &c);
    assert_int_equal(timer_arm_in(ts, &a.t, 0), 0);
    assert_int_equal(timer_arm_in(ts, &c.t, 0), 0);
    event_base_loop(b, EVLOOP_ONCE);
    /* one pass fires each due timer once: a then c, not a a a a */
    assert_int_equal(rec.n, 2);
    assert_int_equal(rec.order[0], 1);
    assert_int_equal(rec.order[1], 2);
    run_loop(b, 10);
    assert_int_equal(rec.n, 5);
    timers_free(ts);
    event_base_free(b);
}

static void test_many_random(void **state)
{
    struct event_base *b = event_base_new();
    dp_timers *ts = timers_new(b);
    enum { N = 2000 };
    struct tt *t = calloc(N, sizeof *t);
    struct rec *rec = calloc(1, sizeof *rec);
    int64_t now = timer_now_us();
    dp_rng r;
    rng_seed(&r, 7);
    int64_t *due = calloc(N, sizeof *due);
    for (int i = 0; i < N; i++) {
        t[i] = (struct tt){.id = i, .rec = rec, .ts = ts};
        timer_init(&t[i].t, on_fire, &t[i]);
        due[i] = now + rng_range(&r, 0, 19999);
        assert_int_equal(timer_arm_at(ts, &t[i].t, due[i]), 0);
    }
    /* cancel a third */
    for (int i = 0; i < N; i += 3)
        timer_cancel(ts, &t[i].t);
    assert_int_equal(timers_count(ts), N - (N + 2) / 3);
    /* every firing must be in non-decreasing due order */
    int64_t last = 0;
    int fired = 0;
    while (timers_count(ts) > 0) {
        rec->n = 0;
        event_base_loop(b, EVLOOP_ONCE);
        for (int k = 0; k < rec->n; k++) {
            int id = rec->order[k];
            assert_true(id % 3 != 0);
            assert_true(due[id] >= last);
            last = due[id];
            fired++;
        }
    }
    assert_int_equal(fired, N - (N + 2) / 3);
    free(due);
    free(rec);
    free(t);
    timers_free(ts);
    event_base_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_and_ties),
        cmocka_unit_test(test_cancel_and_rearm),
        cmocka_unit_test(test_rearm_now_yields),
        cmocka_unit_test(test_many_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
