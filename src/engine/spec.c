/* Campaign settings: one parser for create, PATCH and reload. */
#include "engine/spec.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_MIN_MS 5000
#define DEFAULT_MAX_MS 15000
#define MAX_INTERVAL_MS (24LL * 3600 * 1000)

static int get_int(const json_t *j, const char *key, int64_t lo, int64_t hi, int64_t dflt,
                   int64_t *out, const char *path, dp_err *e)
{
    const json_t *v = json_object_get(j, key);
    if (!v || json_is_null(v)) {
        *out = dflt;
        return DP_OK;
    }
    if (!json_is_integer(v))
        return dp_err_set(e, DP_EINVAL, "%s%s must be an integer", path, key);
    json_int_t x = json_integer_value(v);
    if (x < lo || x > hi)
        return dp_err_set(e, DP_EINVAL, "%s%s must be between %lld and %lld", path, key,
                          (long long)lo, (long long)hi);
    *out = x;
    return DP_OK;
}

static int get_bool(const json_t *j, const char *key, int *out, dp_err *e)
{
    const json_t *v = json_object_get(j, key);
    if (!v || json_is_null(v)) {
        *out = 0;
        return DP_OK;
    }
    if (!json_is_boolean(v))
        return dp_err_set(e, DP_EINVAL, "%s must be true or false", key);
    *out = json_is_true(v);
    return DP_OK;
}

int spec_parse(const json_t *j, struct camp_spec *s, dp_err *e)
{
    int rc = DP_OK;
    int64_t x;
    memset(s, 0, sizeof *s);
    if (!json_is_object(j))
        return dp_err_set(e, DP_EINVAL, "the body must be a JSON object");

    const json_t *msg = json_object_get(j, "message");
    if (!json_is_object(msg))
        return dp_err_set(e, DP_EINVAL, "message is required: {\"text\": \"...\"}");
    const json_t *text = json_object_get(msg, "text");
    if (!json_is_string(text) || json_string_length(text) == 0)
        return dp_err_set(e, DP_EINVAL, "message.text is required and must be a non-empty string");
    s->text = strdup(json_string_value(text));
    if (!s->text)
        return dp_err_set(e, DP_ENOMEM, NULL);
    rc = tmpl_compile(s->text, &s->tmpl, e);
    if (rc) {
        char why[DP_ERR_DETAIL_MAX];
        snprintf(why, sizeof why, "%s", e ? e->msg : "");
        dp_err_set(e, DP_EINVAL, "message.text: %s", why);
        goto out;
    }

    const json_t *ids = json_object_get(j, "sender_ids");
    if (!json_is_array(ids) || json_array_size(ids) == 0) {
        rc = dp_err_set(e, DP_EINVAL, "sender_ids is required: a non-empty array of sender ids");
        goto out;
    }
    if (json_array_size(ids) > SPEC_MAX_SENDERS) {
        rc = dp_err_set(e, DP_EINVAL, "sender_ids may name at most %d senders", SPEC_MAX_SENDERS);
        goto out;
    }
    size_t i;
    const json_t *id;
    json_array_foreach(ids, i, id)
    {
        if (!json_is_integer(id) || json_integer_value(id) <= 0) {
            rc = dp_err_set(e, DP_EINVAL, "sender_ids[%zu] must be a positive integer", i);
            goto out;
        }
        for (size_t k = 0; k < s->n_senders; k++)
            if (s->sender_ids[k] == json_integer_value(id)) {
                rc = dp_err_set(e, DP_EINVAL, "sender_ids lists sender %lld twice",
                                (long long)json_integer_value(id));
                goto out;
            }
        s->sender_ids[s->n_senders++] = json_integer_value(id);
    }

    const json_t *win = json_object_get(j, "window");
    if (win && !json_is_null(win)) {
        rc = window_from_json(win, &s->window, e);
        if (rc) {
            char why[DP_ERR_DETAIL_MAX];
            snprintf(why, sizeof why, "%s", e ? e->msg : "");
            dp_err_set(e, DP_EINVAL, "window: %s", why);
            goto out;
        }
        s->has_window = 1;
    }

    const json_t *iv = json_object_get(j, "interval");
    s->interval.min_ms = DEFAULT_MIN_MS;
    s->interval.max_ms = DEFAULT_MAX_MS;
    if (iv && !json_is_null(iv)) {
        if (!json_is_object(iv)) {
            rc = dp_err_set(e, DP_EINVAL, "interval must be {\"min_ms\": N, \"max_ms\": M}");
            goto out;
        }
        if ((rc = get_int(iv, "min_ms", 0, MAX_INTERVAL_MS, DEFAULT_MIN_MS, &s->interval.min_ms,
                          "interval.", e)))
            goto out;
        if ((rc = get_int(iv, "max_ms", 0, MAX_INTERVAL_MS, s->interval.min_ms,
                          &s->interval.max_ms, "interval.", e)))
            goto out;
        if (s->interval.min_ms > s->interval.max_ms) {
            rc = dp_err_set(e, DP_EINVAL, "interval.min_ms must be <= interval.max_ms");
            goto out;
        }
    }

    const json_t *pause = json_object_get(j, "pause");
    if (pause && !json_is_null(pause)) {
        if (!json_is_object(pause)) {
            rc = dp_err_set(e, DP_EINVAL, "pause must be {\"after\": N, \"for_ms\": M}");
            goto out;
        }
        if ((rc = get_int(pause, "after", 1, 100000000, 0, &s->pause_after, "pause.", e)))
            goto out;
        if ((rc = get_int(pause, "for_ms", 1, 7LL * MAX_INTERVAL_MS, 0, &s->pause_for_ms,
                          "pause.", e)))
            goto out;
        if (!s->pause_after || !s->pause_for_ms) {
            rc = dp_err_set(e, DP_EINVAL, "pause needs both after and for_ms");
            goto out;
        }
    }

    if ((rc = get_bool(j, "resend_unknown", &s->resend_unknown, e)))
        goto out;
    if ((rc = get_int(j, "max_attempts", 1, 100, 5, &x, "", e)))
        goto out;
    s->max_attempts = (int)x;
    if ((rc = get_int(j, "max_sender_failures", 1, 10000, 5, &x, "", e)))
        goto out;
    s->max_sender_failures = (int)x;
    if ((rc = get_int(j, "list_id", 0, INT64_MAX, 0, &s->list_id, "", e)))
        goto out;
    if ((rc = get_int(j, "inline_contacts", 0, INT64_MAX, 0, &s->inline_contacts, "", e)))
        goto out;
out:
    if (rc)
        spec_clear(s);
    return rc;
}

json_t *spec_to_json(const struct camp_spec *s)
{
    json_t *ids = json_array();
    for (size_t i = 0; i < s->n_senders; i++)
        json_array_append_new(ids, json_integer(s->sender_ids[i]));
    json_t *j = json_pack("{s:{s:s}, s:o, s:{s:I, s:I}, s:b, s:i, s:i}", "message", "text",
                          s->text, "sender_ids", ids, "interval", "min_ms",
                          (json_int_t)s->interval.min_ms, "max_ms", (json_int_t)s->interval.max_ms,
                          "resend_unknown", s->resend_unknown, "max_attempts", s->max_attempts,
                          "max_sender_failures", s->max_sender_failures);
    if (!j)
        return NULL;
    json_object_set_new(j, "window", s->has_window ? window_to_json(&s->window) : json_null());
    json_object_set_new(j, "pause",
                        s->pause_after ? json_pack("{s:I, s:I}", "after", (json_int_t)s->pause_after,
                                                   "for_ms", (json_int_t)s->pause_for_ms)
                                       : json_null());
    json_object_set_new(j, "list_id", s->list_id ? json_integer(s->list_id) : json_null());
    json_object_set_new(j, "inline_contacts", json_integer(s->inline_contacts));
    return j;
}

void spec_clear(struct camp_spec *s)
{
    if (!s)
        return;
    free(s->text);
    tmpl_free(s->tmpl);
    memset(s, 0, sizeof *s);
}

const char *spec_timezone(const struct camp_spec *s)
{
    return s->has_window ? s->window.tz : "America/Sao_Paulo";
}
