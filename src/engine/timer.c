/* Binary min-heap keyed by (due_us, seq) plus one libevent timer for the top.
 * Firing takes every timer due "now" in heap order; a callback that re-arms
 * its own timer for now-or-earlier lands behind the ones already due, because
 * its new seq is larger, so one busy campaign cannot starve the rest. */
#include "engine/timer.h"

#include <event2/event.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "util/err.h"

struct dp_timers {
    struct event_base *base;
    struct event *ev;
    dp_timer **heap;
    size_t n, cap;
    uint64_t next_seq;
};

int64_t timer_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t timer_wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int before(const dp_timer *a, const dp_timer *b)
{
    if (a->due_us != b->due_us)
        return a->due_us < b->due_us;
    return a->seq < b->seq;
}

static void place(dp_timers *ts, size_t i, dp_timer *t)
{
    ts->heap[i] = t;
    t->heap_idx = i;
}

static void sift_up(dp_timers *ts, size_t i)
{
    dp_timer *t = ts->heap[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!before(t, ts->heap[p]))
            break;
        place(ts, i, ts->heap[p]);
        i = p;
    }
    place(ts, i, t);
}

static void sift_down(dp_timers *ts, size_t i)
{
    dp_timer *t = ts->heap[i];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const dp_timer *best = t;
        if (l < ts->n && before(ts->heap[l], best)) {
            m = l;
            best = ts->heap[l];
        }
        if (r < ts->n && before(ts->heap[r], best))
            m = r;
        if (m == i)
            break;
        place(ts, i, ts->heap[m]);
        i = m;
    }
    place(ts, i, t);
}

static void rearm(dp_timers *ts)
{
    if (ts->n == 0) {
        event_del(ts->ev);
        return;
    }
    int64_t d = ts->heap[0]->due_us - timer_now_us();
    if (d < 0)
        d = 0;
    struct timeval tv = {.tv_sec = d / 1000000, .tv_usec = d % 1000000};
    event_add(ts->ev, &tv);
}

static void heap_remove(dp_timers *ts, dp_timer *t)
{
    size_t i = t->heap_idx;
    dp_timer *last = ts->heap[--ts->n];
    t->heap_idx = SIZE_MAX;
    if (i == ts->n)
        return;
    place(ts, i, last);
    if (i > 0 && before(last, ts->heap[(i - 1) / 2]))
        sift_up(ts, i);
    else
        sift_down(ts, i);
}

static void on_event(evutil_socket_t fd, short what, void *arg)
{
    dp_timers *ts = arg;
    int64_t now = timer_now_us();
    /* Only timers due at entry fire in this pass; ones re-armed for "now" by a
     * callback wait for the next turn so the loop can service I/O between. */
    uint64_t seq_limit = ts->next_seq;
    while (ts->n > 0) {
        dp_timer *t = ts->heap[0];
        if (t->due_us > now || t->seq >= seq_limit)
            break;
        heap_remove(ts, t);
        t->fn(t, t->ud);
    }
    rearm(ts);
}

dp_timers *timers_new(struct event_base *base)
{
    dp_timers *ts = calloc(1, sizeof *ts);
    if (!ts)
        return NULL;
    ts->base = base;
    ts->ev = evtimer_new(base, on_event, ts);
    if (!ts->ev) {
        free(ts);
        return NULL;
    }
    return ts;
}

void timers_free(dp_timers *ts)
{
    if (!ts)
        return;
    for (size_t i = 0; i < ts->n; i++)
        ts->heap[i]->heap_idx = SIZE_MAX;
    event_free(ts->ev);
    free(ts->heap);
    free(ts);
}

void timer_init(dp_timer *t, dp_timer_fn fn, void *ud)
{
    t->due_us = 0;
    t->seq = 0;
    t->heap_idx = SIZE_MAX;
    t->fn = fn;
    t->ud = ud;
}

int timer_armed(const dp_timer *t)
{
    return t->heap_idx != SIZE_MAX;
}

size_t timers_count(const dp_timers *ts)
{
    return ts->n;
}

int timer_arm_at(dp_timers *ts, dp_timer *t, int64_t due_us)
{
    if (timer_armed(t))
        heap_remove(ts, t);
    if (ts->n == ts->cap) {
        size_t nc = ts->cap ? ts->cap * 2 : 64;
        dp_timer **h = realloc(ts->heap, nc * sizeof *h);
        if (!h)
            return DP_ENOMEM;
        ts->heap = h;
        ts->cap = nc;
    }
    t->due_us = due_us;
    t->seq = ts->next_seq++;
    ts->heap[ts->n] = t;
    t->heap_idx = ts->n++;
    sift_up(ts, t->heap_idx);
    if (ts->heap[0] == t)
        rearm(ts);
    return DP_OK;
}

int timer_arm_in(dp_timers *ts, dp_timer *t, int64_t delay_us)
{
    return timer_arm_at(ts, t, timer_now_us() + delay_us);
}

void timer_cancel(dp_timers *ts, dp_timer *t)
{
    if (!timer_armed(t))
        return;
    int was_top = ts->heap[0] == t;
    heap_remove(ts, t);
    if (was_top)
        rearm(ts);
}
