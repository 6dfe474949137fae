/* The engine's clock: a min-heap of timers on the monotonic clock, driven by a
 * single libevent timeout armed for the earliest deadline. Ties fire in the
 * order the timers were armed (libuv's rule), so campaigns due at the same
 * millisecond are served in a stable, fair order.
 *
 * Timers are embedded in their owner's struct (caller allocates), so arming
 * and cancelling never allocate except when the heap array grows. */
#ifndef DP_TIMER_H
#define DP_TIMER_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
typedef struct dp_timers dp_timers;
typedef struct dp_timer dp_timer;
typedef void (*dp_timer_fn)(dp_timer *t, void *ud);

struct dp_timer {
    int64_t due_us;   /* monotonic microseconds */
    uint64_t seq;     /* insertion order, for ties */
    size_t heap_idx;  /* position in the heap; SIZE_MAX when not armed */
    dp_timer_fn fn;
    void *ud;
};

/* Monotonic and wall clocks, in microseconds. */
int64_t timer_now_us(void);
int64_t timer_wall_us(void);

/* Returns NULL on allocation failure. The set must outlive every timer armed in it. */
dp_timers *timers_new(struct event_base *base);
void timers_free(dp_timers *ts);

void timer_init(dp_timer *t, dp_timer_fn fn, void *ud);
/* (Re)arms t to fire at monotonic time due_us; a due time in the past fires on
 * the next turn of the loop, never synchronously. Returns DP_OK or DP_ENOMEM. */
int timer_arm_at(dp_timers *ts, dp_timer *t, int64_t due_us) __attribute__((warn_unused_result));
int timer_arm_in(dp_timers *ts, dp_timer *t, int64_t delay_us) __attribute__((warn_unused_result));
void timer_cancel(dp_timers *ts, dp_timer *t);
int timer_armed(const dp_timer *t);
size_t timers_count(const dp_timers *ts);

#endif
