/* IANA time zones without touching TZ or the C library's zone state: the
 * module reads TZif files (RFC 8536, versions 1 to 4) from the system tz
 * database itself, including the POSIX TZ footer that describes the years
 * after the last listed transition. Zones are parsed once and cached by name
 * for the life of the process; each zone also remembers the UTC offset it
 * last returned and the interval it is valid for, so converting "now" costs
 * a string compare and two integer compares (tz_local_hour is called for
 * every message sent).
 *
 * Data: $TZDIR if set, else /usr/share/zoneinfo (Debian package tzdata). The
 * names "UTC" and "Etc/UTC" work even without it. Leap-second ("right/")
 * zones are read but their leap seconds are ignored.
 *
 * Not thread-safe: the cache is process-wide and unlocked, like the rest of
 * the single-threaded engine. */
#ifndef DP_TZ_H
#define DP_TZ_H

#include <stdint.h>
#include <time.h>

/* Longest zone name accepted (dp_window keeps the name in char[64]). */
#define TZ_NAME_MAX 63

/* Instants the module accepts: years 0001 to 9999 UTC. */
#define TZ_MIN_S (-62135596800LL)
#define TZ_MAX_S (253402300799LL)

/* 1 if name is a zone in the database, else 0. Rejects, without touching the
 * file system, empty names, names longer than TZ_NAME_MAX, absolute paths,
 * path components starting with '.', and characters outside
 * [A-Za-z0-9_+-/]. A valid zone is loaded into the cache as a side effect. */
int tz_valid(const char *name);

/* Converts the UTC instant utc_s into civil time in zone name. Fills out
 * (every standard field: tm_year, tm_mon, tm_mday, tm_hour, tm_min, tm_sec,
 * tm_wday with 0 = Sunday, tm_yday, tm_isdst; other members zeroed) and, if
 * gmtoff_s is not NULL, the offset east of UTC in seconds.
 * Returns DP_OK, DP_EINVAL for an unknown zone or an instant outside
 * [TZ_MIN_S, TZ_MAX_S]. */
int tz_local(const char *name, int64_t utc_s, struct tm *out, int *gmtoff_s)
    __attribute__((warn_unused_result));

/* Converts civil time in zone name to a UTC instant. Reads tm_year, tm_mon,
 * tm_mday, tm_hour, tm_min and tm_sec, which may be out of range (tm_mday 32
 * is the first of next month, tm_min -1 the minute before); tm_isdst,
 * tm_wday and tm_yday are ignored.
 *   - A civil time that occurs twice (clocks go back) resolves to the
 *     earlier instant.
 *   - A civil time that never occurs (clocks go forward) resolves to the
 *     instant of the jump, i.e. the first instant after the gap: 02:30 on
 *     the day New York skips 02:00-03:00 gives the instant of 03:00 EDT.
 * Returns DP_OK and fills *utc_s, or DP_EINVAL (unknown zone, out of range). */
int tz_mktime(const char *name, const struct tm *local, int64_t *utc_s)
    __attribute__((warn_unused_result));

/* The local hour (0-23) at utc_s in zone name, or -1 if the zone is unknown
 * or the instant out of range. The fast path for per-message greetings. */
int tz_local_hour(const char *name, int64_t utc_s);

/* Days since 1970-01-01 of a proleptic Gregorian date; month 1-12, day may
 * run past the month (day 0 is the last of the previous month). */
int64_t tz_days_from_civil(int64_t year, int month, int64_t day);
/* The inverse; month 1-12, day 1-31. */
void tz_civil_from_days(int64_t days, int64_t *year, int *month, int *day);

/* Frees every cached zone (for a clean exit under a leak checker; zones are
 * reloaded on next use). */
void tz_cache_clear(void);

#endif
