/* Send gaps and retry backoff. Full jitter (rather than equal jitter or a
 * fixed exponential) spreads retries of messages that failed together, so a
 * provider that came back is not hit by a synchronised burst. */
#include "engine/pacing.h"

int64_t pacing_gap_ms(const pacing_interval *iv, dp_rng *r)
{
    int64_t lo = iv->min_ms < 0 ? 0 : iv->min_ms;
    int64_t hi = iv->max_ms < lo ? lo : iv->max_ms;
    return rng_range(r, lo, hi);
}

int64_t pacing_backoff_ms(int attempt, int64_t base_ms, int64_t cap_ms, dp_rng *r)
{
    if (attempt < 1 || base_ms <= 0 || cap_ms <= 0)
        return 0;
    int64_t ceiling = base_ms < cap_ms ? base_ms : cap_ms;
    /* Double until the cap; comparing against cap / 2 first keeps the
     * multiplication from overflowing for large attempts. */
    for (int i = 1; i < attempt && ceiling < cap_ms; i++)
        ceiling = ceiling > cap_ms / 2 ? cap_ms : ceiling * 2;
    return rng_range(r, 0, ceiling);
}

int64_t pacing_retry_delay_ms(int attempt, int64_t retry_after_ms, dp_rng *r)
{
    int64_t b = pacing_backoff_ms(attempt, PACING_RETRY_BASE_MS, PACING_RETRY_CAP_MS, r);
    return retry_after_ms > b ? retry_after_ms : b;
}
