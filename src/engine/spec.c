/* Campaign settings: one parser for create, PATCH and reload. */
#include "engine/spec.h"

#include <ctype.h>
#include <stdio.h>
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

static int parse_media(const json_t *m, struct spec_media *out, const char *path, dp_err *e)
{
    static const char *const kinds[] = {"image", "video", "audio", "document", NULL};
    if (!json_is_object(m))
        return dp_err_set(e, DP_EINVAL, "%s must be {\"url\": \"https://...\", \"kind\": \"image\"}",
                          path);
    const char *url = json_string_value(json_object_get(m, "url"));
    const char *kind = json_string_value(json_object_get(m, "kind"));
    const json_t *fn = json_object_get(m, "filename");
    if (!url || (strncmp(url, "https://", 8) && strncmp(url, "http://", 7)) || strlen(url) > 2048)
        return dp_err_set(e, DP_EINVAL, "%s.url must be an http(s) URL of at most 2048 bytes", path);
    int ok = 0;
    for (size_t i = 0; kind && kinds[i]; i++)
        ok |= strcmp(kinds[i], kind) == 0;
    if (!ok)
        return dp_err_set(e, DP_EINVAL, "%s.kind must be image, video, audio or document", path);
    if (fn && !json_is_null(fn) && (!json_is_string(fn) || json_string_length(fn) > 255))
        return dp_err_set(e, DP_EINVAL, "%s.filename must be a string of at most 255 bytes", path);
    out->url = strdup(url);
    snprintf(out->kind, sizeof out->kind, "%s", kind);
    out->filename = json_is_string(fn) ? strdup(json_string_value(fn)) : NULL;
    return out->url ? DP_OK : dp_err_set(e, DP_ENOMEM, NULL);
}

static json_t *media_json(const struct spec_media *m)
{
    json_t *j = json_pack("{s:s, s:s}", "url", m->url, "kind", m->kind);
    if (m->filename)
        json_object_set_new(j, "filename", json_string(m->filename));
    return j;
}

static int valid_var_name(const char *v)
{
    if (!*v || strlen(v) > 64)
        return 0;
    for (; *v; v++)
        if (!(isalnum((unsigned char)*v) || *v == '_'))
            return 0;
    return 1;
}

/* message.media, message.template and message.buttons */
static int message_extras(const json_t *msg, struct camp_spec *s, dp_err *e)
{
    int rc;
    const json_t *media = json_object_get(msg, "media");
    if (media && !json_is_null(media) && (rc = parse_media(media, &s->media, "message.media", e)))
        return rc;
    const json_t *t = json_object_get(msg, "template");
    if (t && !json_is_null(t)) {
        const char *name = json_string_value(json_object_get(t, "name"));
        const json_t *lang = json_object_get(t, "language");
        const json_t *params = json_object_get(t, "params");
        const json_t *header = json_object_get(t, "header");
        if (!json_is_object(t) || !name || !*name || strlen(name) > 512)
            return dp_err_set(e, DP_EINVAL, "message.template.name is required");
        if (lang && (!json_is_string(lang) || json_string_length(lang) == 0 ||
                     json_string_length(lang) >= sizeof s->tmpl_lang))
            return dp_err_set(e, DP_EINVAL, "message.template.language must be a code such as pt_BR");
        s->tmpl_name = strdup(name);
        snprintf(s->tmpl_lang, sizeof s->tmpl_lang, "%s",
                 lang ? json_string_value(lang) : "pt_BR");
        if (params && !json_is_null(params)) {
            if (!json_is_array(params) || json_array_size(params) > SPEC_MAX_PARAMS)
                return dp_err_set(e, DP_EINVAL,
                                  "message.template.params must be an array of at most %d "
                                  "variable names, in the template's order",
                                  SPEC_MAX_PARAMS);
            size_t i;
            const json_t *p;
            json_array_foreach(params, i, p)
            {
                if (!json_is_string(p) || !valid_var_name(json_string_value(p)))
                    return dp_err_set(e, DP_EINVAL,
                                      "message.template.params[%zu] must be a variable name", i);
                s->params[s->n_params++] = strdup(json_string_value(p));
            }
        }
        if (header && !json_is_null(header) &&
            (rc = parse_media(header, &s->header, "message.template.header", e)))
            return rc;
    }
    const json_t *buttons = json_object_get(msg, "buttons");
    if (buttons && !json_is_null(buttons)) {
        if (!json_is_array(buttons) || json_array_size(buttons) == 0 ||
            json_array_size(buttons) > SPEC_MAX_BUTTONS)
            return dp_err_set(e, DP_EINVAL, "message.buttons must be 1 to %d buttons",
                              SPEC_MAX_BUTTONS);
        size_t i;
        const json_t *b;
        json_array_foreach(buttons, i, b)
        {
            const char *title = json_string_value(json_object_get(b, "title"));
            const json_t *id = json_object_get(b, "id");
            if (!title || !*title || strlen(title) > 20)
                return dp_err_set(e, DP_EINVAL,
                                  "message.buttons[%zu].title must be 1 to 20 characters", i);
            if (id && (!json_is_string(id) || json_string_length(id) == 0 ||
                       json_string_length(id) > 256))
                return dp_err_set(e, DP_EINVAL, "message.buttons[%zu].id must be a string", i);
            char dflt[24];
            snprintf(dflt, sizeof dflt, "b%zu", i + 1);
            s->button_ids[s->n_buttons] = strdup(id ? json_string_value(id) : dflt);
            s->button_titles[s->n_buttons++] = strdup(title);
        }
    }
    if (s->tmpl_name && (s->media.url || s->n_buttons))
        return dp_err_set(e, DP_EINVAL,
                          "a template message carries its own media and buttons: drop "
                          "message.media and message.buttons, or the template");
    return DP_OK;
}

json_t *spec_message_json(const struct camp_spec *s)
{
    json_t *m = json_pack("{s:s}", "text", s->text ? s->text : "");
    if (s->media.url)
        json_object_set_new(m, "media", media_json(&s->media));
    if (s->tmpl_name) {
        json_t *params = json_array();
        for (size_t i = 0; i < s->n_params; i++)
            json_array_append_new(params, json_string(s->params[i]));
        json_t *t = json_pack("{s:s, s:s, s:o}", "name", s->tmpl_name, "language", s->tmpl_lang,
                              "params", params);
        if (s->header.url)
            json_object_set_new(t, "header", media_json(&s->header));
        json_object_set_new(m, "template", t);
    }
    if (s->n_buttons) {
        json_t *b = json_array();
        for (size_t i = 0; i < s->n_buttons; i++)
            json_array_append_new(b, json_pack("{s:s, s:s}", "id", s->button_ids[i], "title",
                                               s->button_titles[i]));
        json_object_set_new(m, "buttons", b);
    }
    return m;
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
    if ((rc = message_extras(msg, s, e)))
        goto out;
    const json_t *text = json_object_get(msg, "text");
    if (!s->tmpl_name && (!json_is_string(text) || json_string_length(text) == 0)) {
        rc = dp_err_set(e, DP_EINVAL, "message.text is required and must be a non-empty string");
        goto out;
    }
    if (text && !json_is_null(text) && !json_is_string(text)) {
        rc = dp_err_set(e, DP_EINVAL, "message.text must be a string");
        goto out;
    }
    s->text = strdup(json_is_string(text) ? json_string_value(text) : "");
    if (!s->text) {
        rc = dp_err_set(e, DP_ENOMEM, NULL);
        goto out;
    }
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
    json_t *j = json_pack("{s:o, s:o, s:{s:I, s:I}, s:b, s:i, s:i}", "message",
                          spec_message_json(s), "sender_ids", ids, "interval", "min_ms",
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

static void media_clear(struct spec_media *m)
{
    free(m->url);
    free(m->filename);
}

void spec_clear(struct camp_spec *s)
{
    if (!s)
        return;
    free(s->text);
    tmpl_free(s->tmpl);
    media_clear(&s->media);
    media_clear(&s->header);
    free(s->tmpl_name);
    for (size_t i = 0; i < s->n_params; i++)
        free(s->params[i]);
    for (size_t i = 0; i < s->n_buttons; i++) {
        free(s->button_ids[i]);
        free(s->button_titles[i]);
    }
    memset(s, 0, sizeof *s);
}

const char *spec_timezone(const struct camp_spec *s)
{
    return s->has_window ? s->window.tz : "America/Sao_Paulo";
}

const char *spec_param_value(const char *param, const char *name, const char *phone,
                             const json_t *vars)
{
    if (strcmp(param, "name") == 0)
        return name ? name : "";
    if (strcmp(param, "phone") == 0)
        return phone;
    const char *v = json_string_value(json_object_get(vars, param));
    return v ? v : "";
}
