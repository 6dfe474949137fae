/* RFC 3339 timestamps for the API: wall-clock milliseconds since the epoch
 * ⇄ "2026-11-25T20:52:29.123Z". */
#ifndef DP_TIMEFMT_H
#define DP_TIMEFMT_H

#include <stdint.h>

#define TIMEFMT_LEN 48

/* Writes the UTC form of ms into out (always NUL-terminated). */
void timefmt_ms(int64_t ms, char out[TIMEFMT_LEN]);
/* Parses "YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)"; DP_OK or DP_EINVAL. */
int timefmt_parse(const char *s, int64_t *ms) __attribute__((warn_unused_result));
/* Wall clock now, in ms. */
int64_t timefmt_now_ms(void);

#endif
