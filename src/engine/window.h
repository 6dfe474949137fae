/* Working-hours windows: a campaign only sends while its window is open.
 * A window is a set of weekdays and a local [start, end) time range in an
 * IANA zone; the engine asks for the current state and the instant it next
 * changes, and arms one timer for that instant instead of polling. */
#ifndef DP_WINDOW_H
#define DP_WINDOW_H

#include <jansson.h>
#include <stdint.h>

#include "util/err.h"

typedef struct dp_window {
    char tz[64];            /* IANA name, validated by window_from_json */
    unsigned days_mask;     /* bit d = weekday d, 0 = Sunday */
    int start_min, end_min; /* minutes since local midnight, 0..1439 */
} dp_window;

/* Fills w from {"timezone": "America/Sao_Paulo", "days": [1,2,3,4,5],
 * "start": "08:00", "end": "18:00"}. "days" is optional (default: all seven)
 * but may not be empty; duplicates are harmless. Times are H:MM or HH:MM,
 * 00:00 to 23:59; end < start is an overnight window; start == end is
 * rejected. Unknown keys are ignored. j is borrowed.
 * Returns DP_OK, or DP_EINVAL with a message naming the field, e.g.
 * "window.timezone: unknown time zone \"Mars/Base\"". w is untouched on error. */
int window_from_json(const json_t *j, dp_window *w, dp_err *e) __attribute__((warn_unused_result));

/* The same shape back, days as a sorted array; start/end as "HH:MM".
 * Returns a new reference (the caller owns it) or NULL if out of memory. */
json_t *window_to_json(const dp_window *w);

/* Whether the window is open at now_ms (UTC milliseconds) and when that
 * changes:
 *   open   -> *change_ms = the next instant it closes;
 *   closed -> *change_ms = the next instant it opens.
 * A day d in days_mask opens the window at start_min on local day d; it
 * closes at end_min the same day, or on the next local day if end < start
 * (22:00-06:00 with days {Friday} is Friday 22:00 to Saturday 06:00). Open
 * is [start, end). Civil times are resolved as tz_mktime does: a start or
 * end inside a skipped hour happens at the jump, one in a repeated hour at
 * its first occurrence. Back-to-back openings are merged, so *change_ms is
 * always a real change.
 * An empty days_mask never opens: closed with *change_ms = INT64_MAX. A zone
 * that no longer loads (tzdata removed after validation) is read as UTC. */
void window_state(const dp_window *w, int64_t now_ms, int *open, int64_t *change_ms);

#endif
