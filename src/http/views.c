/* The API's JSON shapes for stored rows, in one place so every route shows a
 * campaign, a message, a sender or a list the same way (docs/api.md). */
#include <string.h>

#include "http/http_int.h"
#include "senders/sender.h"
#include "util/timefmt.h"

json_t *view_time(int64_t ms)
{
    if (ms <= 0)
        return json_null();
    char ts[TIMEFMT_LEN];
    timefmt_ms(ms, ts);
    return json_string(ts);
}

static json_t *or_null(json_t *v)
{
    return v ? json_incref(v) : json_null();
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *view_campaign(const struct st_campaign *c)
{
    const json_t *sp = c->spec;
    json_t *counts = json_object();
    json_object_set_new(counts, "total", json_integer(c->total));
    for (int i = 0; i < MS__COUNT; i++)
        json_object_set_new(counts, msg_status_name(i), json_integer(c->counts[i]));
    json_object_set_new(counts, "replied", json_integer(c->replied));
    json_object_set_new(counts, "clicked", json_integer(c->clicked));
    const json_t *list_id = json_object_get(sp, "list_id");
    const json_t *inl = json_object_get(sp, "inline_contacts");
    json_t *j = json_object();
    json_object_set_new(j, "id", json_integer(c->id));
    json_object_set_new(j, "name", json_string(c->name ? c->name : ""));
    json_object_set_new(j, "status", json_string(camp_status_name(c->status)));
    json_object_set_new(j, "state_reason", str_or_null(c->state_reason));
    json_object_set_new(j, "message", or_null(json_object_get(sp, "message")));
    json_object_set_new(j, "sender_ids", or_null(json_object_get(sp, "sender_ids")));
    json_object_set_new(j, "audience",
                        json_pack("{s:O, s:O}", "list_id", list_id ? list_id : json_null(),
                                  "contacts", inl ? inl : json_null()));
    json_object_set_new(j, "start_at", view_time(c->start_at));
    json_object_set_new(j, "window", or_null(json_object_get(sp, "window")));
    json_object_set_new(j, "interval", or_null(json_object_get(sp, "interval")));
    json_object_set_new(j, "pause", or_null(json_object_get(sp, "pause")));
    json_object_set_new(j, "resend_unknown", or_null(json_object_get(sp, "resend_unknown")));
    json_object_set_new(j, "max_attempts", or_null(json_object_get(sp, "max_attempts")));
    json_object_set_new(j, "max_sender_failures",
                        or_null(json_object_get(sp, "max_sender_failures")));
    json_object_set_new(j, "counts", counts);
    json_object_set_new(j, "created_at", view_time(c->created_at));
    json_object_set_new(j, "started_at", view_time(c->started_at));
    json_object_set_new(j, "finished_at", view_time(c->finished_at));
    json_object_set_new(j, "next_send_at", view_time(c->next_send_at));
    return j;
}

json_t *view_message(const struct st_message *m)
{
    json_t *err = m->error_code ? json_pack("{s:s, s:s}", "code", m->error_code, "detail",
                                            m->error_detail ? m->error_detail : "")
                                : json_null();
    json_t *j = json_object();
    json_object_set_new(j, "id", json_integer(m->id));
    json_object_set_new(j, "phone", json_string(m->phone ? m->phone : ""));
    json_object_set_new(j, "name", str_or_null(m->name));
    json_object_set_new(j, "sender_id", m->sender_id ? json_integer(m->sender_id) : json_null());
    json_object_set_new(j, "status", json_string(msg_status_name(m->status)));
    json_object_set_new(j, "attempts", json_integer(m->attempts));
    json_object_set_new(j, "provider_message_id", str_or_null(m->provider_id));
    json_object_set_new(j, "error", err);
    json_object_set_new(j, "queued_at", view_time(m->queued_at));
    json_object_set_new(j, "sent_at", view_time(m->sent_at));
    json_object_set_new(j, "delivered_at", view_time(m->delivered_at));
    json_object_set_new(j, "read_at", view_time(m->read_at));
    json_object_set_new(j, "failed_at", view_time(m->failed_at));
    json_object_set_new(j, "reply",
                        m->replied_at ? json_pack("{s:s, s:o, s:o}", "text",
                                                  m->reply ? m->reply : "", "button_id",
                                                  m->button_id ? json_string(m->button_id)
                                                               : json_null(),
                                                  "at", view_time(m->replied_at))
                                      : json_null());
    json_object_set_new(j, "clicked_at", view_time(m->clicked_at));
    return j;
}

/* Secrets are write-only: an object keeps its keys with masked values, a
 * scalar is masked whole, so an operator can see what is set. */
static json_t *masked_config(const struct st_sender *s)
{
    json_t *cfg = json_deep_copy(s->config ? s->config : json_object());
    const struct sender_vtab *vt = sender_find(s->provider);
    if (!vt || !vt->secret_fields)
        return cfg;
    for (size_t i = 0; vt->secret_fields[i]; i++) {
        json_t *v = json_object_get(cfg, vt->secret_fields[i]);
        if (!v)
            continue;
        if (json_is_object(v)) {
            const char *k;
            json_t *x;
            json_object_foreach(v, k, x) json_object_set_new(v, k, json_string("********"));
        } else if (!json_is_null(v)) {
            json_object_set_new(cfg, vt->secret_fields[i], json_string("********"));
        }
    }
    return cfg;
}

json_t *view_sender(const struct st_sender *s)
{
    json_t *j = json_object();
    json_object_set_new(j, "id", json_integer(s->id));
    json_object_set_new(j, "name", json_string(s->name ? s->name : ""));
    json_object_set_new(j, "provider", json_string(s->provider ? s->provider : ""));
    json_object_set_new(j, "config", masked_config(s));
    json_object_set_new(j, "rate_per_second", json_real(s->rate_per_second));
    json_object_set_new(j, "daily_limit", json_integer(s->daily_limit));
    json_object_set_new(j, "status", json_string(s->active ? "active" : "disabled"));
    json_object_set_new(j, "created_at", view_time(s->created_at));
    return j;
}

json_t *view_list(const struct st_list *l)
{
    return json_pack("{s:I, s:s, s:I, s:o}", "id", (json_int_t)l->id, "name", l->name, "members",
                     (json_int_t)l->members, "created_at", view_time(l->created_at));
}
