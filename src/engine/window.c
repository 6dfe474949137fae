/* Sending windows. The state is computed from scratch each time from the
 * local calendar (no stored schedule), by walking the candidate openings
 * day by day from yesterday (an overnight window may still be open) until
 * the first one that ends after now. */
#include "engine/window.h"

#include <stdio.h>
#include <string.h>

#include "util/tz.h"

#define ALL_DAYS 0x7Fu
/* Openings after now that are looked at; the next opening is at most 8 days
 * away, but DST days can turn an opening into an empty instant, so allow a
 * year of them before giving up. */
#define SCAN_DAYS 370

static int parse_hhmm(const char *s, int *out)
{
    int h = 0, m = 0;
    size_t n = strlen(s);
    /* "H:MM" or "HH:MM", digits only. */
    if (n != 4 && n != 5)
        return -1;
    size_t colon = n - 3;
    for (size_t i = 0; i < n; i++) {
        if (i == colon) {
            if (s[i] != ':')
                return -1;
        } else if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
    }
    for (size_t i = 0; i < colon; i++)
        h = h * 10 + (s[i] - '0');
    m = (s[colon + 1] - '0') * 10 + (s[colon + 2] - '0');
    if (h > 23 || m > 59)
        return -1;
    *out = h * 60 + m;
    return 0;
}

static int get_time(const json_t *j, const char *key, int *out, dp_err *e)
{
    const json_t *v = json_object_get(j, key);
    if (!v)
        return dp_err_set(e, DP_EINVAL, "window.%s: required, \"HH:MM\"", key);
    if (!json_is_string(v))
        return dp_err_set(e, DP_EINVAL, "window.%s: expected a string \"HH:MM\"", key);
    const char *s = json_string_value(v);
    if (parse_hhmm(s, out))
        return dp_err_set(e, DP_EINVAL,
                          "window.%s: expected \"HH:MM\" from 00:00 to 23:59, got \"%.32s\"", key,
                          s);
    return DP_OK;
}

int window_from_json(const json_t *j, dp_window *w, dp_err *e)
{
    dp_window tmp;
    int rc = DP_OK;

    memset(&tmp, 0, sizeof tmp);
    if (!json_is_object(j)) {
        rc = dp_err_set(e, DP_EINVAL, "window: expected an object or null");
        goto out;
    }

    const json_t *tz = json_object_get(j, "timezone");
    if (!json_is_string(tz)) {
        rc = dp_err_set(e, DP_EINVAL,
                        "window.timezone: required, an IANA name like \"America/Sao_Paulo\"");
        goto out;
    }
    const char *name = json_string_value(tz);
    if (strlen(name) >= sizeof tmp.tz || !tz_valid(name)) {
        rc = dp_err_set(e, DP_EINVAL, "window.timezone: unknown time zone \"%.64s\"", name);
        goto out;
    }
    snprintf(tmp.tz, sizeof tmp.tz, "%s", name);

    const json_t *days = json_object_get(j, "days");
    if (!days || json_is_null(days)) {
        tmp.days_mask = ALL_DAYS;
    } else if (!json_is_array(days)) {
        rc = dp_err_set(e, DP_EINVAL, "window.days: expected an array of weekdays 0-6");
        goto out;
    } else if (json_array_size(days) == 0) {
        rc = dp_err_set(e, DP_EINVAL, "window.days: must not be empty (omit it for every day)");
        goto out;
    } else {
        size_t i;
        const json_t *d;
        json_array_foreach(days, i, d)
        {
            json_int_t v = json_is_integer(d) ? json_integer_value(d) : -1;
            if (v < 0 || v > 6) {
                rc = dp_err_set(e, DP_EINVAL,
                                "window.days[%zu]: expected 0 (Sunday) to 6 (Saturday)", i);
                goto out;
            }
            tmp.days_mask |= 1u << v;
        }
    }

    rc = get_time(j, "start", &tmp.start_min, e);
    if (rc)
        goto out;
    rc = get_time(j, "end", &tmp.end_min, e);
    if (rc)
        goto out;
    if (tmp.start_min == tmp.end_min) {
        rc = dp_err_set(e, DP_EINVAL, "window.end: must differ from window.start");
        goto out;
    }
    *w = tmp;
out:
    return rc;
}

json_t *window_to_json(const dp_window *w)
{
    char start[8], end[8];
    json_t *days = json_array();
    if (!days)
        return NULL;
    for (int d = 0; d < 7; d++) {
        if ((w->days_mask & (1u << d)) && json_array_append_new(days, json_integer(d))) {
            json_decref(days);
            return NULL;
        }
    }
    snprintf(start, sizeof start, "%02d:%02d", w->start_min / 60 % 24, w->start_min % 60);
    snprintf(end, sizeof end, "%02d:%02d", w->end_min / 60 % 24, w->end_min % 60);
    /* "o" steals days, also on failure. */
    return json_pack("{s:s, s:o, s:s, s:s}", "timezone", w->tz, "days", days, "start", start, "end",
                     end);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

/* The UTC instant (ms) of minute `min` of local day `day` (days since the
 * epoch, civil). */
static int64_t local_ms(const char *zone, int64_t day, int min)
{
    int64_t y;
    int m, d;
    tz_civil_from_days(day, &y, &m, &d);
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = (int)(y - 1900);
    tm.tm_mon = m - 1;
    tm.tm_mday = d;
    tm.tm_min = min;
    int64_t u;
    if (tz_mktime(zone, &tm, &u) != DP_OK)
        u = day * 86400 + (int64_t)min * 60; /* out of range: keep going as UTC */
    return u * 1000;
}

/* Opening and closing (ms) of the instance that starts on local day `day`;
 * 0 if that weekday is not in the window or the instance is empty. */
static int instance(const dp_window *w, const char *zone, int64_t day, int64_t *o, int64_t *c)
{
    int wd = (int)(((day + 4) % 7 + 7) % 7); /* 1970-01-01 was a Thursday */
    if (!(w->days_mask & (1u << wd)))
        return 0;
    *o = local_ms(zone, day, w->start_min);
    *c = local_ms(zone, day + (w->end_min <= w->start_min), w->end_min);
    return *o < *c;
}

void window_state(const dp_window *w, int64_t now_ms, int *open, int64_t *change_ms)
{
    *open = 0;
    *change_ms = INT64_MAX;
    if (!(w->days_mask & ALL_DAYS))
        return;
    const char *zone = tz_valid(w->tz) ? w->tz : "UTC";
    struct tm lt;
    if (tz_local(zone, floor_div(now_ms, 1000), &lt, NULL) != DP_OK)
        return;
    int64_t today = tz_days_from_civil((int64_t)lt.tm_year + 1900, lt.tm_mon + 1, lt.tm_mday);

    for (int64_t day = today - 1; day <= today + SCAN_DAYS; day++) {
        int64_t o, c;
        if (!instance(w, zone, day, &o, &c) || c <= now_ms)
            continue;
        if (o > now_ms) {
            *change_ms = o;
            return;
        }
        /* Open: extend through openings that start the moment this one
         * ends (possible when both ends fall into the same DST gap). */
        int64_t close = c;
        for (int64_t k = day + 1; k <= day + 8; k++) {
            int64_t o2, c2;
            if (!instance(w, zone, k, &o2, &c2))
                continue;
            if (o2 > close)
                break;
            if (c2 > close)
                close = c2;
        }
        *open = 1;
        *change_ms = close;
        return;
    }
}
