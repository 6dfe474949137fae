/* The JSON API under /api/v1 (docs/api.md). Handlers are thin: they check
 * the request's shape, call the store or the engine, and answer. A handler
 * that writes first asks the engine to flush, so that rolling back its own
 * failed work can never undo the engine's. */
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_int.h"
#include "http/report.h"
#include "senders/sender.h"
#include "util/buf.h"
#include "util/crypto.h"
#include "util/log.h"
#include "util/phone.h"

#define SENDER_NAME_MAX 200

static int is(const struct api_ctx *c, int method, int nseg, const char *s0, const char *s2)
{
    return c->method == method && c->nseg == nseg && strcmp(c->seg[0], s0) == 0 &&
           (!s2 || (nseg > 2 && strcmp(c->seg[2], s2) == 0));
}

/* Rolls back, then answers with the error. */
void api_fail(struct api_ctx *c, const dp_err *e)
{
    c->st->v->rollback(c->st);
    http_reply_error(c->req, e, NULL);
}

static int commit_or_fail(struct api_ctx *c, dp_err *e)
{
    int rc = c->st->v->commit(c->st, e);
    if (rc)
        api_fail(c, e);
    return rc;
}

/* ---- tokens ----------------------------------------------------------- */

/* The body's "name" (borrowed from body) and a new token with its SHA-256,
 * the only form stored; replies itself and returns -1 when either fails. */
static int named_token(struct api_ctx *c, const json_t *body, const char **name,
                       char tok[CRYPTO_TOKEN_LEN], char hash[CRYPTO_SHA256_HEX])
{
    const json_t *n = json_object_get(body, "name");
    if (!json_is_string(n) || json_string_length(n) == 0 || json_string_length(n) > 200) {
        http_reply_code(c->req, DP_EINVAL, "name is required: a string of 1 to 200 characters");
        return -1;
    }
    if (crypto_token(tok)) {
        http_reply_code(c->req, DP_EINTERNAL, "no randomness available");
        return -1;
    }
    crypto_sha256_hex(tok, strlen(tok), hash);
    *name = json_string_value(n);
    return 0;
}

static void tokens_create(struct api_ctx *c, json_t *body)
{
    dp_err e = {0};
    const char *n;
    char tok[CRYPTO_TOKEN_LEN], hash[CRYPTO_SHA256_HEX];
    /* a name says later whose token this is, when one must be revoked */
    if (named_token(c, body, &n, tok, hash))
        return;
    int64_t id;
    if (engine_flush(c->eng, &e) || c->st->v->token_create(c->st, c->ws, n, hash, &id, &e)) {
        api_fail(c, &e);
        return;
    }
    if (commit_or_fail(c, &e))
        return;
    http_reply_json(c->req, 201, json_pack("{s:I, s:s, s:s}", "id", (json_int_t)id, "name", n,
                                           "token", tok));
}

/* ---- workspaces ------------------------------------------------------- */

static int load_sender_cb(void *ud, const struct st_sender *s)
{
    struct api_ctx *c = ud;
    dp_err e;
    if (engine_sender_changed(c->eng, s->id, &e))
        log_error("sender not loaded", "sender=%lld err=\"%s\"", (long long)s->id, e.msg);
    return 0;
}

/* Workspace 1, made at the first start, is the operator's: only its tokens
 * may open workspaces for others (an agency's clients). */
static void workspaces_create(struct api_ctx *c, json_t *body)
{
    dp_err e = {0};
    const char *name;
    char tok[CRYPTO_TOKEN_LEN], hash[CRYPTO_SHA256_HEX];
    if (c->ws != 1) {
        http_reply_code(c->req, DP_EFORBIDDEN, "only the first workspace's tokens may create workspaces");
        return;
    }
    if (named_token(c, body, &name, tok, hash))
        return;
    int64_t ws = 0, tid = 0;
    if (engine_flush(c->eng, &e) ||
        c->st->v->workspace_create(c->st, name, &ws, &e) ||
        c->st->v->token_create(c->st, ws, "admin", hash, &tid, &e)) {
        api_fail(c, &e);
        return;
    }
    if (commit_or_fail(c, &e))
        return;
    (void)c->st->v->sender_list(c->st, ws, load_sender_cb, c, &e);
    log_info("workspace created", "workspace=%lld", (long long)ws);
    http_reply_json(c->req, 201, json_pack("{s:I, s:s, s:s}", "id", (json_int_t)ws, "name", name,
                                           "token", tok));
}

/* ---- senders ---------------------------------------------------------- */

static int sender_fields(const json_t *body, struct st_sender *s, int creating, dp_err *e)
{
    const json_t *v;
    if ((v = json_object_get(body, "name")) || creating) {
        if (!json_is_string(v) || json_string_length(v) == 0 ||
            json_string_length(v) > SENDER_NAME_MAX)
            return dp_err_set(e, DP_EINVAL, "name is required: a string of 1 to %d characters",
                              SENDER_NAME_MAX);
        free(s->name);
        s->name = strdup(json_string_value(v));
    }
    if ((v = json_object_get(body, "rate_per_second"))) {
        if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 100000 ||
            !isfinite(json_number_value(v)))
            return dp_err_set(e, DP_EINVAL, "rate_per_second must be a number from 0 to 100000");
        s->rate_per_second = json_number_value(v);
    }
    if ((v = json_object_get(body, "daily_limit"))) {
        if (!json_is_integer(v) || json_integer_value(v) < 0)
            return dp_err_set(e, DP_EINVAL, "daily_limit must be a non-negative integer");
        s->daily_limit = json_integer_value(v);
    }
    if ((v = json_object_get(body, "status"))) {
        const char *st = json_string_value(v);
        if (!st || (strcmp(st, "active") && strcmp(st, "disabled")))
            return dp_err_set(e, DP_EINVAL, "status must be \"active\" or \"disabled\"");
        s->active = strcmp(st, "active") == 0;
    }
    const char *k;
    const json_t *x;
    json_object_foreach((json_t *)body, k, x)
    {
        if (strcmp(k, "name") && strcmp(k, "rate_per_second") && strcmp(k, "daily_limit") &&
            strcmp(k, "status") && strcmp(k, "config") && strcmp(k, "provider"))
            return dp_err_set(e, DP_EINVAL, "%s is not a sender field", k);
    }
    return DP_OK;
}

/* with_secret: on create and update only, the webhook path with its secret,
 * which the operator must copy into the gateway's settings */
static void sender_reply(struct api_ctx *c, int status, int64_t id, int with_secret)
{
    struct st_sender row = {0};
    dp_err e = {0};
    if (c->st->v->sender_get(c->st, c->ws, id, &row, &e)) {
        http_reply_error(c->req, &e, NULL);
        return;
    }
    json_t *v = view_sender(&row);
    json_object_set_new(v, "health", engine_sender_health(c->eng, id));
    const struct sender_vtab *vt = sender_find(row.provider);
    if (vt && vt->webhook) {
        const char *secret = json_string_value(json_object_get(row.config, "webhook_secret"));
        char path[128];
        if (secret && with_secret)
            snprintf(path, sizeof path, "/webhooks/%lld/%s", (long long)id, secret);
        else
            snprintf(path, sizeof path, "/webhooks/%lld%s", (long long)id, secret ? "/********" : "");
        json_object_set_new(v, "webhook_path", json_string(path));
    }
    http_reply_json(c->req, status, v);
    st_sender_clear(&row);
}

static void senders_create(struct api_ctx *c, json_t *body)
{
    dp_err e = {0};
    struct st_sender s = {.ws = c->ws, .active = 1};
    const json_t *prov = json_object_get(body, "provider");
    const struct sender_vtab *vt = json_is_string(prov) ? sender_find(json_string_value(prov)) : NULL;
    json_t *cfg = json_object_get(body, "config");
    if (!vt) {
        dp_buf b;
        buf_init(&b, 512);
        for (const struct sender_vtab *const *p = sender_all(); *p; p++)
            if (buf_printf(&b, "%s%s", p == sender_all() ? "" : ", ", (*p)->provider))
                break;
        dp_err_set(&e, DP_EINVAL, "provider must be one of: %s", buf_str(&b));
        buf_free(&b);
        http_reply_error(c->req, &e, NULL);
        return;
    }
    if (cfg && !json_is_object(cfg)) {
        http_reply_code(c->req, DP_EINVAL, "config must be an object");
        return;
    }
    s.provider = strdup(vt->provider);
    s.rate_per_second = vt->default_rate;
    s.config = cfg ? json_deep_copy(cfg) : json_object();
    if (sender_fields(body, &s, 1, &e) || vt->validate(s.config, &e)) {
        if (e.code == DP_OK)
            e.code = DP_EINVAL;
        http_reply_error(c->req, &e, NULL);
        goto out;
    }
    if (engine_flush(c->eng, &e) || c->st->v->sender_create(c->st, &s, &e)) {
        api_fail(c, &e);
        goto out;
    }
    if (commit_or_fail(c, &e))
        goto out;
    if (engine_sender_changed(c->eng, s.id, &e))
        log_error("sender not loaded", "sender=%lld err=\"%s\"", (long long)s.id, e.msg);
    sender_reply(c, 201, s.id, 1);
out:
    st_sender_clear(&s);
}

struct sender_list_ctx {
    engine *eng;
    json_t *arr;
};

static int sender_list_cb(void *ud, const struct st_sender *s)
{
    struct sender_list_ctx *l = ud;
    json_t *v = view_sender(s);
    json_object_set_new(v, "health", engine_sender_health(l->eng, s->id));
    json_array_append_new(l->arr, v);
    return 0;
}

static void senders_list(struct api_ctx *c)
{
    dp_err e = {0};
    struct sender_list_ctx l = {c->eng, json_array()};
    if (c->st->v->sender_list(c->st, c->ws, sender_list_cb, &l, &e)) {
        json_decref(l.arr);
        http_reply_error(c->req, &e, NULL);
        return;
    }
    http_reply_json(c->req, 200, json_pack("{s:o}", "senders", l.arr));
}

static void senders_patch(struct api_ctx *c, int64_t id, json_t *body)
{
    dp_err e = {0};
    struct st_sender s = {0};
    if (c->st->v->sender_get(c->st, c->ws, id, &s, &e)) {
        http_reply_error(c->req, &e, NULL);
        return;
    }
    const struct sender_vtab *vt = sender_find(s.provider);
    const json_t *cfg = json_object_get(body, "config");
    if (json_object_get(body, "provider")) {
        http_reply_code(c->req, DP_EINVAL, "provider cannot be changed; create a new sender");
        goto out;
    }
    if (cfg && !json_is_object(cfg)) {
        http_reply_code(c->req, DP_EINVAL, "config must be an object");
        goto out;
    }
    if (cfg)
        json_object_update(s.config, (json_t *)cfg);
    if (sender_fields(body, &s, 0, &e) || !vt || vt->validate(s.config, &e)) {
        if (e.code == DP_OK)
            e.code = DP_EINVAL;
        http_reply_error(c->req, &e, NULL);
        goto out;
    }
    if (engine_flush(c->eng, &e) || c->st->v->sender_update(c->st, &s, &e)) {
        api_fail(c, &e);
        goto out;
    }
    if (commit_or_fail(c, &e))
        goto out;
    if (engine_sender_changed(c->eng, id, &e))
        log_error("sender not reloaded", "sender=%lld err=\"%s\"", (long long)id, e.msg);
    sender_reply(c, 200, id, json_object_get(body, "config") != NULL);
out:
    st_sender_clear(&s);
}

static void senders_delete(struct api_ctx *c, int64_t id)
{
    dp_err e = {0};
    struct st_sender s = {0};
    int in_use = 0;
    if (c->st->v->sender_get(c->st, c->ws, id, &s, &e) ||
        c->st->v->sender_in_use(c->st, c->ws, id, &in_use, &e)) {
        http_reply_error(c->req, &e, NULL);
        goto out;
    }
    if (in_use) {
        http_reply_code(c->req, DP_ECONFLICT,
                        "sender %lld is used by a campaign that has not finished; cancel it or "
                        "disable the sender instead",
                        (long long)id);
        goto out;
    }
    if (engine_flush(c->eng, &e) || c->st->v->sender_delete(c->st, c->ws, id, &e)) {
        api_fail(c, &e);
        goto out;
    }
    if (commit_or_fail(c, &e))
        goto out;
    if (engine_sender_changed(c->eng, id, &e))
        log_error("sender not unloaded", "sender=%lld err=\"%s\"", (long long)id, e.msg);
    http_reply_empty(c->req, 204);
out:
    st_sender_clear(&s);
}

/* POST /senders/{id}/test: the answer waits for the gateway's. If the client
 * leaves first, the connection's close callback tells the engine to forget
 * the request, which libevent is about to free. */
struct sender_test_ctx {
    struct evhttp_request *req;
    engine *eng;
};

static void sender_test_closed(struct evhttp_connection *evcon, void *arg)
{
    struct sender_test_ctx *t = arg;
    engine_sender_test_cancel(t->eng, t);
    free(t);
}

static void sender_test_done(void *ud, const struct send_result *r)
{
    struct sender_test_ctx *t = ud;
    static const char *const outcome[] = {"sent", "retryable_failure", "failed", "unknown"};
    json_t *err = r->outcome == SEND_OK
                      ? json_null()
                      : json_pack("{s:s, s:s}", "code", r->code, "detail", r->detail);
    evhttp_connection_set_closecb(evhttp_request_get_connection(t->req), NULL, NULL);
    http_reply_json(t->req, 200,
                    json_pack("{s:s, s:s, s:o, s:b}", "outcome", outcome[r->outcome],
                              "provider_message_id", r->provider_id, "error", err, "no_whatsapp",
                              r->no_whatsapp));
    free(t);
}

static void senders_test(struct api_ctx *c, int64_t id, json_t *body)
{
    dp_err e = {0};
    const char *raw = json_string_value(json_object_get(body, "phone"));
    const json_t *text = json_object_get(body, "text");
    char phone[16];
    if (!raw) {
        http_reply_code(c->req, DP_EINVAL, "phone is required");
        return;
    }
    if (phone_normalize(raw, engine_country_code(c->eng), phone, &e)) {
        http_reply_code(c->req, DP_EINVAL, "phone: %s", e.msg);
        return;
    }
    if (text && (!json_is_string(text) || json_string_length(text) == 0)) {
        http_reply_code(c->req, DP_EINVAL, "text must be a non-empty string");
        return;
    }
    struct sender_test_ctx *t = calloc(1, sizeof *t);
    if (!t) {
        http_reply_code(c->req, DP_ENOMEM, "out of memory");
        return;
    }
    t->req = c->req;
    t->eng = c->eng;
    const char *msg = text ? json_string_value(text) : "disparo: mensagem de teste";
    if (engine_sender_test(c->eng, c->ws, id, phone, msg, sender_test_done, t, &e)) {
        free(t);
        http_reply_error(c->req, &e, NULL);
        return;
    }
    evhttp_connection_set_closecb(evhttp_request_get_connection(c->req), sender_test_closed, t);
}

/* ---- lists ------------------------------------------------------------ */

static int list_view_cb(void *ud, const struct st_list *l)
{
    json_t *j = view_list(l);
    if (json_is_array((json_t *)ud)) {
        json_array_append_new(ud, j);
    } else {
        json_object_update(ud, j);
        json_decref(j);
    }
    return 0;
}

static void lists_create(struct api_ctx *c, json_t *body)
{
    dp_err e = {0};
    const json_t *name = json_object_get(body, "name");
    char nm[LIST_NAME_MAX + 1];
    int64_t id;
    if (!json_is_string(name)) {
        http_reply_code(c->req, DP_EINVAL, "name is required: a string of 1 to %d characters",
                        LIST_NAME_MAX);
        return;
    }
    if (http_list_name(c, json_string_value(name), nm))
        return;
    if (engine_flush(c->eng, &e) || c->st->v->list_create(c->st, c->ws, nm, &id, &e)) {
        api_fail(c, &e);
        return;
    }
    if (commit_or_fail(c, &e))
        return;
    json_t *obj = json_object();
    if (c->st->v->list_get(c->st, c->ws, id, list_view_cb, obj, &e)) {
        json_decref(obj);
        http_reply_error(c->req, &e, NULL);
        return;
    }
    http_reply_json(c->req, 201, obj);
}

static void lists_get(struct api_ctx *c, int64_t id)
{
    dp_err e = {0};
    json_t *out = id > 0 ? json_object() : json_array();
    int rc = id > 0 ? c->st->v->list_get(c->st, c->ws, id, list_view_cb, out, &e)
                    : c->st->v->list_all(c->st, c->ws, list_view_cb, out, &e);
    if (!rc && id > 0 && json_object_size(out) == 0)
        rc = dp_err_set(&e, DP_ENOTFOUND, "list %lld not found", (long long)id);
    if (rc) {
        json_decref(out);
        http_reply_error(c->req, &e, NULL);
        return;
    }
    http_reply_json(c->req, 200, id > 0 ? out : json_pack("{s:o}", "lists", out));
}

/* ---- campaigns -------------------------------------------------------- */

static void campaign_reply(struct api_ctx *c, int status, int64_t id)
{
    struct st_campaign row = {0};
    if (api_campaign_get(c, id, &row))
        return;
    engine_campaign_overlay(c->eng, &row);
    http_reply_json(c->req, status, view_campaign(&row));
    st_campaign_clear(&row);
}

static void campaigns_create(struct api_ctx *c, json_t *body)
{
    dp_err e = {0};
    int64_t id = 0;
    json_t *missing = NULL, *restricted = NULL;
    int rc = engine_campaign_create_ex(c->eng, c->ws, body, &id, &missing, &restricted, &e);
    if (rc) {
        http_reply_error(c->req, &e, missing ? json_pack("{s:o}", "missing", missing) : NULL);
        return;
    }
    struct st_campaign row = {0};
    if (c->st->v->campaign_get(c->st, c->ws, id, &row, &e)) {
        json_decref(restricted);
        http_reply_error(c->req, &e, NULL);
        return;
    }
    engine_campaign_overlay(c->eng, &row);
    json_t *v = view_campaign(&row);
    /* only the creation reply knows who the restriction lists held back */
    json_object_set_new(v, "restricted", restricted ? restricted : json_null());
    http_reply_json(c->req, 201, v);
    st_campaign_clear(&row);
}

struct camp_list_ctx {
    engine *eng;
    json_t *arr;
};

static int campaign_list_cb(void *ud, const struct st_campaign *row)
{
    struct camp_list_ctx *l = ud;
    struct st_campaign copy = *row;
    copy.state_reason = row->state_reason ? strdup(row->state_reason) : NULL;
    engine_campaign_overlay(l->eng, &copy);
    json_array_append_new(l->arr, view_campaign(&copy));
    free(copy.state_reason);
    return 0;
}

static void campaigns_list(struct api_ctx *c)
{
    dp_err e = {0};
    const char *s = http_query(c, "status");
    int status = -1;
    if (s && (status = camp_status_parse(s)) < 0) {
        http_reply_code(c->req, DP_EINVAL, "status %s is not a campaign status", s);
        return;
    }
    struct camp_list_ctx l = {c->eng, json_array()};
    if (c->st->v->campaign_list(c->st, c->ws, status, campaign_list_cb, &l, &e)) {
        json_decref(l.arr);
        http_reply_error(c->req, &e, NULL);
        return;
    }
    http_reply_json(c->req, 200, json_pack("{s:o}", "campaigns", l.arr));
}

int api_campaign_get(struct api_ctx *c, int64_t id, struct st_campaign *row)
{
    dp_err e = {0};
    if (c->st->v->campaign_get(c->st, c->ws, id, row, &e)) {
        if (e.code == DP_ENOTFOUND)
            dp_err_set(&e, DP_ENOTFOUND, "campaign %lld not found", (long long)id);
        http_reply_error(c->req, &e, NULL);
        return -1;
    }
    return 0;
}

int api_require_campaign(struct api_ctx *c, int64_t id)
{
    struct st_campaign row = {0};
    if (api_campaign_get(c, id, &row))
        return -1;
    st_campaign_clear(&row);
    return 0;
}

static int msg_page_cb(void *ud, const struct st_message *m)
{
    json_array_append_new(ud, view_message(m));
    return 0;
}

static void campaign_messages(struct api_ctx *c, int64_t id)
{
    dp_err e = {0};
    const char *s = http_query(c, "status"), *cur = http_query(c, "cursor");
    int status = -1;
    int64_t limit, after = 0;
    if (s && (status = msg_status_parse(s)) < 0) {
        http_reply_code(c->req, DP_EINVAL, "status %s is not a message status", s);
        return;
    }
    if (http_query_limit(c, 100, 1000, &limit))
        return;
    if (cur && (after = http_parse_id(cur)) < 1) {
        http_reply_code(c->req, DP_EINVAL, "cursor must be a next_cursor from an earlier page");
        return;
    }
    if (api_require_campaign(c, id))
        return;
    /* one row more than asked tells whether another page exists */
    json_t *arr = json_array();
    if (c->st->v->message_list(c->st, id, status, after, limit + 1, msg_page_cb, arr, &e)) {
        json_decref(arr);
        http_reply_error(c->req, &e, NULL);
        return;
    }
    int64_t last = http_page_next(arr, limit);
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", (long long)last);
    json_t *next = last ? json_string(buf) : json_null();
    http_reply_json(c->req, 200, json_pack("{s:o, s:o}", "messages", arr, "next_cursor", next));
}

static int event_cb(void *ud, const struct st_event *ev)
{
    json_t *detail = ev->detail ? json_loads(ev->detail, 0, NULL) : NULL;
    json_array_append_new(ud, json_pack("{s:I, s:o, s:s, s:o}", "id", (json_int_t)ev->id, "at",
                                        view_time(ev->at), "type", ev->type, "detail",
                                        detail ? detail : json_object()));
    return 0;
}

static void campaign_events(struct api_ctx *c, int64_t id)
{
    dp_err e = {0};
    int64_t limit;
    if (http_query_limit(c, 100, 1000, &limit))
        return;
    if (api_require_campaign(c, id))
        return;
    json_t *arr = json_array();
    if (c->st->v->event_list(c->st, id, limit, event_cb, arr, &e)) {
        json_decref(arr);
        http_reply_error(c->req, &e, NULL);
        return;
    }
    http_reply_json(c->req, 200, json_pack("{s:o}", "events", arr));
}

static void campaign_action(struct api_ctx *c, int64_t id, const char *verb)
{
    static const struct {
        const char *name;
        enum camp_action a;
    } verbs[] = {{"start", CA_START}, {"pause", CA_PAUSE}, {"resume", CA_RESUME},
                 {"cancel", CA_CANCEL}};
    dp_err e = {0};
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
        if (strcmp(verbs[i].name, verb) == 0) {
            if (engine_campaign_action(c->eng, c->ws, id, verbs[i].a, &e)) {
                if (e.code == DP_ENOTFOUND)
                    dp_err_set(&e, DP_ENOTFOUND, "campaign %lld not found", (long long)id);
                http_reply_error(c->req, &e, NULL);
                return;
            }
            campaign_reply(c, 200, id);
            return;
        }
    }
    http_reply_code(c->req, DP_ENOTFOUND, "no campaign action %s", verb);
}

static void campaigns_patch(struct api_ctx *c, int64_t id, json_t *body)
{
    dp_err e = {0};
    if (engine_campaign_patch(c->eng, c->ws, id, body, &e)) {
        if (e.code == DP_ENOTFOUND)
            dp_err_set(&e, DP_ENOTFOUND, "campaign %lld not found", (long long)id);
        http_reply_error(c->req, &e, NULL);
        return;
    }
    campaign_reply(c, 200, id);
}

static void campaigns_preview(struct api_ctx *c, json_t *body)
{
    dp_err e = {0};
    json_t *out = NULL;
    if (engine_campaign_preview(c->eng, c->ws, body, &out, &e)) {
        http_reply_error(c->req, &e, NULL);
        return;
    }
    http_reply_json(c->req, 200, out);
}

/* ---- router ----------------------------------------------------------- */

void api_dispatch(struct api_ctx *c)
{
    json_t *body = NULL;
    int64_t id = c->nseg >= 2 ? http_parse_id(c->seg[1]) : 0;
    const int GET = EVHTTP_REQ_GET, POST = EVHTTP_REQ_POST, PATCH = EVHTTP_REQ_PATCH,
              DEL = EVHTTP_REQ_DELETE;
    if (c->nseg == 0)
        goto notfound;
    if (api_restrict_dispatch(c))
        return;
    /* /contacts/{phone-or-id} checks its own key */
    if (c->nseg >= 2 && id < 0 && strcmp(c->seg[0], "contacts") != 0 &&
        !(c->nseg == 2 && strcmp(c->seg[1], "preview") == 0))
        goto notfound;
    /* bodies are parsed once, for the routes that take JSON */
    int wants_json = (c->method == POST || c->method == PATCH) &&
                     !(c->nseg == 2 && strcmp(c->seg[0], "contacts") == 0) &&
                     !(c->nseg == 3 && strcmp(c->seg[0], "campaigns") == 0);
    if (wants_json) {
        struct evbuffer *in = evhttp_request_get_input_buffer(c->req);
        if (evbuffer_get_length(in) == 0 && strcmp(c->seg[0], "tokens") == 0) {
            body = json_object();
        } else if (!(body = http_body_object(c->req))) {
            return;
        }
    }
    if (is(c, POST, 1, "tokens", NULL))
        tokens_create(c, body);
    else if (is(c, POST, 1, "workspaces", NULL))
        workspaces_create(c, body);
    else if (is(c, POST, 1, "senders", NULL))
        senders_create(c, body);
    else if (is(c, GET, 1, "senders", NULL))
        senders_list(c);
    else if (is(c, GET, 2, "senders", NULL))
        sender_reply(c, 200, id, 0);
    else if (is(c, PATCH, 2, "senders", NULL))
        senders_patch(c, id, body);
    else if (is(c, DEL, 2, "senders", NULL))
        senders_delete(c, id);
    else if (is(c, POST, 3, "senders", "test") && id > 0)
        senders_test(c, id, body);
    else if (is(c, POST, 1, "lists", NULL))
        lists_create(c, body);
    else if (is(c, GET, 1, "lists", NULL))
        lists_get(c, 0);
    else if (is(c, GET, 2, "lists", NULL))
        lists_get(c, id);
    else if (is(c, PATCH, 2, "lists", NULL))
        api_lists_patch(c, id, body);
    else if (is(c, DEL, 2, "lists", NULL))
        api_lists_delete(c, id);
    else if (is(c, GET, 3, "lists", "contacts"))
        api_list_members(c, id);
    else if (is(c, POST, 3, "lists", "contacts"))
        api_list_add(c, id, body);
    else if (is(c, DEL, 3, "lists", "contacts"))
        api_list_remove(c, id, NULL);
    else if (is(c, DEL, 4, "lists", "contacts"))
        api_list_remove(c, id, c->seg[3]);
    else if (is(c, POST, 2, "contacts", NULL) && strcmp(c->seg[1], "import") == 0)
        api_contacts_import(c);
    else if (is(c, GET, 1, "contacts", NULL))
        api_contacts_search(c);
    else if (is(c, GET, 2, "contacts", NULL))
        api_contacts_get(c, c->seg[1]);
    else if (is(c, GET, 3, "contacts", "history"))
        api_contacts_history(c, c->seg[1]);
    else if (is(c, DEL, 2, "contacts", NULL))
        api_contacts_delete(c, c->seg[1]);
    else if (is(c, POST, 1, "campaigns", NULL))
        campaigns_create(c, body);
    else if (is(c, GET, 1, "campaigns", NULL))
        campaigns_list(c);
    else if (is(c, POST, 2, "campaigns", NULL) && strcmp(c->seg[1], "preview") == 0)
        campaigns_preview(c, body);
    else if (is(c, GET, 2, "campaigns", NULL) && id > 0)
        campaign_reply(c, 200, id);
    else if (is(c, PATCH, 2, "campaigns", NULL) && id > 0)
        campaigns_patch(c, id, body);
    else if (is(c, POST, 3, "campaigns", NULL) && id > 0)
        campaign_action(c, id, c->seg[2]);
    else if (is(c, GET, 3, "campaigns", "messages") && id > 0)
        campaign_messages(c, id);
    else if (is(c, GET, 3, "campaigns", "events") && id > 0)
        campaign_events(c, id);
    else if (is(c, GET, 3, "campaigns", "export.csv") && id > 0)
        report_csv(c, id);
    else if (is(c, GET, 3, "campaigns", "report") && id > 0)
        report_json(c, id);
    else if (is(c, GET, 3, "campaigns", "report.xlsx") && id > 0)
        report_xlsx(c, id);
    else
        goto notfound;
    json_decref(body);
    return;
notfound:
    json_decref(body);
    http_reply_code(c->req, DP_ENOTFOUND, "no route for %s %s",
                    c->method == GET    ? "GET"
                    : c->method == POST ? "POST"
                    : c->method == PATCH ? "PATCH"
                    : c->method == DEL  ? "DELETE"
                                        : "this method",
                    evhttp_request_get_uri(c->req));
}
