/* How long the engine waits: the random gap between two sends of a campaign
 * and the delay before a failed message is retried. Pure functions of their
 * arguments and the campaign's generator, so the scheduler stays testable. */
#ifndef DP_PACING_H
#define DP_PACING_H

#include <stdint.h>

#include "util/rng.h"

typedef struct pacing_interval {
    int64_t min_ms, max_ms;
} pacing_interval;

/* The retry schedule pacing_retry_delay_ms uses. */
#define PACING_RETRY_BASE_MS 1000
#define PACING_RETRY_CAP_MS 300000

/* A gap uniform in [min_ms, max_ms]. Negative bounds count as 0 and a max
 * below min counts as min, so a bad interval degrades to a fixed gap rather
 * than a negative one. */
int64_t pacing_gap_ms(const pacing_interval *iv, dp_rng *r);

/* Exponential backoff with full jitter: uniform in [0, min(cap_ms,
 * base_ms * 2^(attempt-1))]. attempt 1 draws up to base_ms, attempt 2 up to
 * twice that, and so on until the cap. attempt < 1, base_ms <= 0 or
 * cap_ms <= 0 give 0. Never overflows, whatever the attempt. */
int64_t pacing_backoff_ms(int attempt, int64_t base_ms, int64_t cap_ms, dp_rng *r);

/* The delay before retry number `attempt` (1 = first retry):
 * max(retry_after_ms, backoff(attempt, 1000 ms, 300000 ms)). retry_after_ms
 * is what the provider asked for (Retry-After), 0 or negative when it did not
 * say; it is honoured even above the cap. */
int64_t pacing_retry_delay_ms(int attempt, int64_t retry_after_ms, dp_rng *r);

#endif
