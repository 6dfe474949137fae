/* Restriction lists and keyword rules as operators and integrators manage
 * them: /restriction-lists (lists, entries, CSV import and export),
 * /restrictions/check and /keyword-rules (docs/api.md, "Opt-outs and
 * restrictions"). The engine checks entries before every send; handlers
 * here only write them and tell the engine that some exist. */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/http_int.h"
#include "http/stream.h"
#include "util/csvin.h"
#include "util/imap.h"
#include "util/keyword.h"
#include "util/log.h"
#include "util/phone.h"
#include "util/phonenum.h"
#include "util/timefmt.h"

#define REASON_MAX 500
#define RETENTION_MAX_DAYS 36500
#define ENTRIES_PAGE_DEFAULT 100
#define ENTRIES_PAGE_MAX 1000
#define BATCH_MAX 10000 /* phones in one JSON add; bigger sets go through import */
#define IMPORT_INVALID_SHOWN 100
#define EXPORT_PAGE 1000

/* ---- helpers ----------------------------------------------------------- */

/* A non-negative integer; -1 when s is not one. */
static int64_t parse_nonneg(const char *s)
{
    char *end;
    if (!s || !*s || *s == '-' || *s == '+')
        return -1;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return -1;
    return (int64_t)v;
}

static void fail(struct api_ctx *c, dp_err *e, int rc)
{
    if (e->code == DP_OK)
        e->code = rc;
    api_fail(c, e);
}

static int valid_list_name(const char *s, size_t n)
{
    if (n == 0 || n > RLIST_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
              s[i] == '-'))
            return 0;
    return 1;
}

static json_t *view_rlist(const struct st_rlist *l)
{
    return json_pack("{s:I, s:s, s:I, s:b, s:I, s:o}", "id", (json_int_t)l->id, "name", l->name,
                     "retention_days", (json_int_t)l->retention_days, "builtin", l->builtin,
                     "entries", (json_int_t)l->entries, "created_at", view_time(l->created_at));
}

static json_t *view_rentry(const struct st_rentry *r, int64_t now)
{
    return json_pack("{s:I, s:I, s:s, s:s, s:o, s:o, s:s, s:o, s:o, s:b}", "id", (json_int_t)r->id,
                     "list_id", (json_int_t)r->list_id, "list", r->list, "phone", r->phone,
                     "sender_id", r->sender_id ? json_integer(r->sender_id) : json_null(), "reason",
                     r->reason ? json_string(r->reason) : json_null(), "source", r->source,
                     "created_at", view_time(r->created_at), "expires_at",
                     r->expires_at ? view_time(r->expires_at) : json_null(), "active",
                     r->expires_at == 0 || r->expires_at > now);
}

/* The list named by path segment 1 in the caller's workspace; replies 404 itself. */
static int require_list(struct api_ctx *c, int64_t id, int64_t now, struct st_rlist *out)
{
    dp_err e = {0};
    int rc = id > 0 ? c->st->v->rlist_get(c->st, c->ws, id, NULL, now, out, &e)
                    : dp_err_set(&e, DP_ENOTFOUND, "restriction list %s not found", c->seg[1]);
    /* looking may have made the built-in lists; keep them */
    dp_err ce = {0};
    if (c->st->v->commit(c->st, &ce) && rc == DP_OK) {
        fail(c, &ce, DP_EDB);
        return -1;
    }
    if (rc) {
        api_fail(c, &e);
        return -1;
    }
    return 0;
}

/* Normalises a phone the way campaign contacts are, and finds its other
 * Brazilian form (with or without the ninth digit), "" when none. */
static int phone_forms(struct api_ctx *c, const char *raw, char phone[16], char alt[16], dp_err *e)
{
    char v[2][PHONENUM_MAX];
    if (phone_normalize(raw, engine_country_code(c->eng), phone, e))
        return DP_EINVAL;
    alt[0] = '\0';
    if (phonenum_variants(phone, v) == 2)
        snprintf(alt, 16, "%s", v[1]);
    return DP_OK;
}

/* ---- lists ------------------------------------------------------------- */

static int rlist_arr_cb(void *ud, const struct st_rlist *l)
{
    json_array_append_new(ud, view_rlist(l));
    return 0;
}

static void lists_get(struct api_ctx *c)
{
    dp_err e = {0};
    json_t *arr = json_array();
    int rc = c->st->v->rlist_all(c->st, c->ws, timefmt_now_ms(), rlist_arr_cb, arr, &e);
    if (!rc)
        rc = c->st->v->commit(c->st, &e);
    if (rc) {
        json_decref(arr);
        fail(c, &e, rc);
        return;
    }
    http_reply_json(c->req, 200, json_pack("{s:o}", "restriction_lists", arr));
}

/* name and retention_days from a body; creating requires the name. */
static int list_fields(const json_t *body, int creating, const char **name, int64_t *days,
                       dp_err *e)
{
    const json_t *n = json_object_get(body, "name"), *d = json_object_get(body, "retention_days");
    const char *k;
    const json_t *x;
    json_object_foreach((json_t *)body, k, x)
    {
        if (strcmp(k, "name") && strcmp(k, "retention_days"))
            return dp_err_set(e, DP_EINVAL, "%s is not a restriction list field", k);
    }
    *name = NULL;
    *days = -1;
    if (n || creating) {
        if (!json_is_string(n) || !valid_list_name(json_string_value(n), json_string_length(n)))
            return dp_err_set(e, DP_EINVAL,
                              "name is required: 1 to %d characters out of a-z, 0-9, _ and -",
                              RLIST_NAME_MAX);
        *name = json_string_value(n);
    }
    if (d) {
        if (!json_is_integer(d) || json_integer_value(d) < 0 ||
            json_integer_value(d) > RETENTION_MAX_DAYS)
            return dp_err_set(e, DP_EINVAL,
                              "retention_days must be an integer from 0 (permanent) to %d",
                              RETENTION_MAX_DAYS);
        *days = json_integer_value(d);
    } else if (creating) {
        *days = 0;
    }
    return DP_OK;
}

static void list_reply(struct api_ctx *c, int status, int64_t id)
{
    struct st_rlist l;
    if (require_list(c, id, timefmt_now_ms(), &l) == 0)
        http_reply_json(c->req, status, view_rlist(&l));
}

static void lists_create(struct api_ctx *c)
{
    dp_err e = {0};
    json_t *body = http_body_object(c->req);
    const char *name;
    int64_t days, id = 0;
    int rc;
    if (!body)
        return;
    if ((rc = list_fields(body, 1, &name, &days, &e))) {
        http_reply_error(c->req, &e, NULL);
        goto out;
    }
    if ((rc = engine_flush(c->eng, &e)) ||
        (rc = c->st->v->rlist_create(c->st, c->ws, name, days, &id, &e)) ||
        (rc = c->st->v->commit(c->st, &e))) {
        fail(c, &e, rc);
        goto out;
    }
    log_info("restriction list created", "workspace=%lld list=%lld name=%s", (long long)c->ws,
             (long long)id, name);
    list_reply(c, 201, id);
out:
    json_decref(body);
}

static void lists_patch(struct api_ctx *c, int64_t id)
{
    dp_err e = {0};
    json_t *body = http_body_object(c->req);
    const char *name;
    int64_t days;
    int rc;
    if (!body)
        return;
    if ((rc = list_fields(body, 0, &name, &days, &e))) {
        http_reply_error(c->req, &e, NULL);
        goto out;
    }
    if ((rc = engine_flush(c->eng, &e)) ||
        (rc = c->st->v->rlist_update(c->st, c->ws, id, name, days, &e)) ||
        (rc = c->st->v->commit(c->st, &e))) {
        fail(c, &e, rc);
        goto out;
    }
    list_reply(c, 200, id);
out:
    json_decref(body);
}

static void lists_delete(struct api_ctx *c, int64_t id)
{
    dp_err e = {0};
    int64_t n = 0;
    int rc;
    if ((rc = engine_flush(c->eng, &e)) ||
        (rc = c->st->v->rlist_delete(c->st, c->ws, id, &n, &e)) ||
        (rc = c->st->v->commit(c->st, &e))) {
        fail(c, &e, rc);
        return;
    }
    engine_restrictions_changed(c->eng);
    log_info("restriction list deleted", "workspace=%lld list=%lld entries=%lld", (long long)c->ws,
             (long long)id, (long long)n);
    http_reply_empty(c->req, 204);
}

/* ---- entries ----------------------------------------------------------- */

struct page {
    json_t *arr;
    int64_t now, last;
};

static int page_cb(void *ud, const struct st_rentry *r)
{
    struct page *p = ud;
    json_array_append_new(p->arr, view_rentry(r, p->now));
    p->last = r->id;
    return 0;
}

static void entries_get(struct api_ctx *c, int64_t id)
{
    dp_err e = {0};
    struct st_rlist l;
    const char *ph = http_query(c, "phone"), *sid = http_query(c, "sender_id"),
               *aft = http_query(c, "after"), *lim = http_query(c, "limit"),
               *inc = http_query(c, "include_expired");
    char phone[16], alt[16];
    struct st_rentry_filter f = {
        .list_id = id, .sender_id = -1, .limit = ENTRIES_PAGE_DEFAULT, .now = timefmt_now_ms()};
    if (ph && phone_forms(c, ph, phone, alt, &e)) {
        http_reply_code(c->req, DP_EINVAL, "phone: %s", e.msg);
        return;
    }
    if (ph) {
        f.phone = phone;
        f.alt = alt[0] ? alt : NULL;
    }
    if (sid && (f.sender_id = parse_nonneg(sid)) < 0) {
        http_reply_code(c->req, DP_EINVAL, "sender_id must be a sender's id (0 = global entries)");
        return;
    }
    if (aft && (f.after = parse_nonneg(aft)) < 0) {
        http_reply_code(c->req, DP_EINVAL, "after must be a next_after from an earlier page");
        return;
    }
    if (lim && ((f.limit = parse_nonneg(lim)) < 1 || f.limit > ENTRIES_PAGE_MAX)) {
        http_reply_code(c->req, DP_EINVAL, "limit must be an integer from 1 to %d",
                        ENTRIES_PAGE_MAX);
        return;
    }
    f.include_expired = inc && (strcmp(inc, "1") == 0 || strcmp(inc, "true") == 0);
    if (require_list(c, id, f.now, &l))
        return;
    int64_t limit = f.limit;
    f.limit = limit + 1; /* one more tells whether another page exists */
    struct page p = {json_array(), f.now, 0};
    int rc = c->st->v->restriction_entries(c->st, c->ws, &f, page_cb, &p, &e);
    if (rc) {
        json_decref(p.arr);
        fail(c, &e, rc);
        return;
    }
    int64_t last = http_page_next(p.arr, limit);
    json_t *next = last ? json_integer(last) : json_null();
    http_reply_json(c->req, 200, json_pack("{s:o, s:o}", "entries", p.arr, "next_after", next));
}

/* One entry to add, read from a JSON object; fields missing there come
 * from defaults (the body itself in the batch forms). */
struct entry_in {
    char phone[16];
    int64_t sender_id;
    const char *reason;
    int64_t expires_at; /* -1 = the list's retention, 0 = never */
};

static int entry_fields(struct api_ctx *c, const json_t *o, const json_t *defaults,
                        const char *raw_phone, int64_t now, struct entry_in *in, dp_err *e)
{
    const json_t *v;
    char alt[16];
    dp_err pe = {0};
    if (phone_forms(c, raw_phone, in->phone, alt, &pe))
        return dp_err_set(e, DP_EINVAL, "phone: %s", pe.msg);
    in->sender_id = 0;
    if ((v = json_object_get(o, "sender_id")) || (v = json_object_get(defaults, "sender_id"))) {
        if (!json_is_null(v)) {
            if (!json_is_integer(v) || json_integer_value(v) < 0)
                return dp_err_set(e, DP_EINVAL, "sender_id must be a sender's id or null");
            in->sender_id = json_integer_value(v);
            if (in->sender_id && !engine_sender_exists(c->eng, c->ws, in->sender_id))
                return dp_err_set(e, DP_EINVAL, "sender_id: sender %lld does not exist",
                                  (long long)in->sender_id);
        }
    }
    in->reason = NULL;
    if ((v = json_object_get(o, "reason")) || (v = json_object_get(defaults, "reason"))) {
        if (!json_is_null(v) && (!json_is_string(v) || json_string_length(v) > REASON_MAX))
            return dp_err_set(e, DP_EINVAL, "reason must be a string of at most %d bytes",
                              REASON_MAX);
        in->reason = json_string_value(v);
    }
    in->expires_at = -1;
    if ((v = json_object_get(o, "expires_at")) || (v = json_object_get(defaults, "expires_at"))) {
        if (json_is_null(v)) {
            in->expires_at = 0;
        } else if (!json_is_string(v) || timefmt_parse(json_string_value(v), &in->expires_at)) {
            return dp_err_set(e, DP_EINVAL,
                              "expires_at must be an RFC 3339 time such as "
                              "2026-12-01T09:00:00-03:00, or null for never");
        } else if (in->expires_at <= now) {
            return dp_err_set(e, DP_EINVAL, "expires_at is in the past");
        }
    }
    return DP_OK;
}

static int entry_keys(const json_t *o, int batch, dp_err *e)
{
    const char *k;
    const json_t *x;
    json_object_foreach((json_t *)o, k, x)
    {
        if (strcmp(k, "phone") && strcmp(k, "sender_id") && strcmp(k, "reason") &&
            strcmp(k, "expires_at") && !(batch && (!strcmp(k, "phones") || !strcmp(k, "entries"))))
            return dp_err_set(e, DP_EINVAL, "%s is not a restriction entry field", k);
    }
    return DP_OK;
}

struct one {
    json_t *v;
    int64_t now;
};

static int one_cb(void *ud, const struct st_rentry *r)
{
    struct one *o = ud;
    json_decref(o->v);
    o->v = view_rentry(r, o->now);
    return 0;
}

static void entries_add_one(struct api_ctx *c, const struct st_rlist *l, const json_t *body,
                            int64_t now)
{
    dp_err e = {0};
    struct entry_in in;
    int created = 0, rc;
    const json_t *ph = json_object_get(body, "phone");
    if (!json_is_string(ph)) {
        http_reply_code(c->req, DP_EINVAL, "phone is required (or phones / entries for a batch)");
        return;
    }
    if ((rc = entry_fields(c, body, NULL, json_string_value(ph), now, &in, &e))) {
        http_reply_error(c->req, &e, NULL);
        return;
    }
    if ((rc = engine_flush(c->eng, &e)) ||
        (rc = c->st->v->restriction_put(c->st, c->ws, l->id, in.phone, in.sender_id, in.reason,
                                        "manual", now, in.expires_at, &created, &e)) ||
        (rc = c->st->v->commit(c->st, &e))) {
        fail(c, &e, rc);
        return;
    }
    engine_restrictions_changed(c->eng);
    struct st_rentry_filter f = {.list_id = l->id,
                                 .phone = in.phone,
                                 .sender_id = in.sender_id,
                                 .now = now,
                                 .include_expired = 1,
                                 .limit = 1};
    struct one o = {NULL, now};
    if ((rc = c->st->v->restriction_entries(c->st, c->ws, &f, one_cb, &o, &e)) || !o.v) {
        json_decref(o.v);
        if (!rc)
            rc = dp_err_set(&e, DP_EINTERNAL, "the entry just added is gone");
        fail(c, &e, rc);
        return;
    }
    http_reply_json(c->req, created ? 201 : 200, o.v);
}

/* {"phones": [...]} or {"entries": [{phone, ...}]}: a bad item is reported
 * by its index and never stops the rest. */
static void entries_add_batch(struct api_ctx *c, const struct st_rlist *l, const json_t *body,
                              int64_t now)
{
    dp_err e = {0};
    const json_t *phones = json_object_get(body, "phones"),
                 *ents = json_object_get(body, "entries");
    const json_t *arr = phones ? phones : ents;
    json_t *invalid = json_array();
    int64_t added = 0, updated = 0;
    int rc;
    size_t i;
    const json_t *it;
    if ((phones && ents) || !json_is_array(arr) || json_array_size(arr) > BATCH_MAX) {
        http_reply_code(c->req, DP_EINVAL,
                        "give phones (an array of strings) or entries (an array of objects), "
                        "at most %d; import a CSV for more",
                        BATCH_MAX);
        goto out;
    }
    if ((rc = engine_flush(c->eng, &e))) {
        fail(c, &e, rc);
        goto out;
    }
    json_array_foreach(arr, i, it)
    {
        struct entry_in in;
        dp_err ie = {0};
        const json_t *o = phones ? NULL : it;
        const char *raw =
            phones ? json_string_value(it) : json_string_value(json_object_get(it, "phone"));
        int created = 0;
        if (!raw || (o && !json_is_object(o)))
            dp_err_set(&ie, DP_EINVAL, phones ? "not a string" : "phone is required");
        else if (!(o && entry_keys(o, 0, &ie)))
            (void)entry_fields(c, o, body, raw, now, &in, &ie);
        if (ie.code) {
            json_array_append_new(
                invalid, json_pack("{s:I, s:s}", "index", (json_int_t)i, "reason", ie.msg));
            continue;
        }
        if ((rc = c->st->v->restriction_put(c->st, c->ws, l->id, in.phone, in.sender_id, in.reason,
                                            "manual", now, in.expires_at, &created, &e))) {
            fail(c, &e, rc);
            goto out;
        }
        if (created)
            added++;
        else
            updated++;
    }
    if ((rc = c->st->v->commit(c->st, &e))) {
        fail(c, &e, rc);
        goto out;
    }
    engine_restrictions_changed(c->eng);
    http_reply_json(c->req, 200,
                    json_pack("{s:I, s:I, s:O}", "added", (json_int_t)added, "updated",
                              (json_int_t)updated, "invalid", invalid));
out:
    json_decref(invalid);
}

static void entries_add(struct api_ctx *c, int64_t id)
{
    dp_err e = {0};
    struct st_rlist l;
    int64_t now = timefmt_now_ms();
    json_t *body = http_body_object(c->req);
    if (!body)
        return;
    if (entry_keys(body, 1, &e)) {
        http_reply_error(c->req, &e, NULL);
        goto out;
    }
    if (require_list(c, id, now, &l))
        goto out;
    if (json_object_get(body, "phones") || json_object_get(body, "entries"))
        entries_add_batch(c, &l, body, now);
    else
        entries_add_one(c, &l, body, now);
out:
    json_decref(body);
}

static void entries_delete(struct api_ctx *c, int64_t id, const char *raw)
{
    dp_err e = {0};
    struct st_rlist l;
    const char *sid = http_query(c, "sender_id");
    int64_t sender = -1, n = 0;
    char phone[16], alt[16];
    int rc;
    if (phone_forms(c, raw, phone, alt, &e)) {
        http_reply_code(c->req, DP_EINVAL, "phone: %s", e.msg);
        return;
    }
    if (sid && (sender = parse_nonneg(sid)) < 0) {
        http_reply_code(c->req, DP_EINVAL,
                        "sender_id must be a sender's id (0 = the global entry)");
        return;
    }
    if (require_list(c, id, timefmt_now_ms(), &l))
        return;
    if ((rc = engine_flush(c->eng, &e)) ||
        (rc = c->st->v->restriction_remove(c->st, c->ws, id, phone, alt[0] ? alt : NULL, sender, &n,
                                           &e)) ||
        (rc = c->st->v->commit(c->st, &e))) {
        fail(c, &e, rc);
        return;
    }
    if (n == 0) {
        http_reply_code(c->req, DP_ENOTFOUND, "%s is not on %s%s", phone, l.name,
                        sender >= 0 ? " for that sender" : "");
        return;
    }
    engine_restrictions_changed(c->eng);
    log_info("restriction removed", "workspace=%lld list=%s phone=%s entries=%lld",
             (long long)c->ws, l.name, phone, (long long)n);
    http_reply_json(c->req, 200, json_pack("{s:s, s:I}", "phone", phone, "removed", (json_int_t)n));
}

/* ---- import ------------------------------------------------------------ */

struct import {
    struct api_ctx *c;
    int64_t list_id, now;
    int header_seen;
    int phone_col, reason_col;
    struct import_tally t;
    dp_err *e;
};

static int import_row(void *ud, size_t line, size_t n, char **f, const size_t *lens)
{
    struct import *im = ud;
    char phone[16], alt[16];
    dp_err pe = {0};
    if (!im->header_seen) {
        /* a first row whose first field is no phone is a header: it may name
         * the phone and reason columns; without one they are the 1st and 2nd */
        im->header_seen = 1;
        im->phone_col = 0;
        im->reason_col = n > 1 ? 1 : -1;
        if (n && phone_forms(im->c, f[0], phone, alt, &pe)) {
            im->reason_col = -1;
            for (size_t i = 0; i < n; i++) {
                if (strcasecmp(f[i], "phone") == 0)
                    im->phone_col = (int)i;
                else if (strcasecmp(f[i], "reason") == 0)
                    im->reason_col = (int)i;
            }
            return 0;
        }
    }
    if ((size_t)im->phone_col >= n || lens[im->phone_col] == 0) {
        import_invalid(&im->t, line, "phone is empty");
        return 0;
    }
    if (phone_forms(im->c, f[im->phone_col], phone, alt, &pe)) {
        import_invalid(&im->t, line, pe.msg);
        return 0;
    }
    const char *reason = NULL;
    if (im->reason_col >= 0 && (size_t)im->reason_col < n && lens[im->reason_col]) {
        if (lens[im->reason_col] > REASON_MAX) {
            import_invalid(&im->t, line, "reason is longer than 500 bytes");
            return 0;
        }
        if (!import_text_ok(f[im->reason_col], lens[im->reason_col])) {
            import_invalid(&im->t, line, "reason is not UTF-8 text (or holds a NUL byte)");
            return 0;
        }
        reason = f[im->reason_col];
    }
    /* only a row that is taken counts as the phone's first */
    int dup;
    int rc = import_seen(&im->t, phone, &dup, im->e);
    if (rc || dup)
        return rc;
    int created = 0;
    store *st = im->c->st;
    rc = st->v->restriction_put(st, im->c->ws, im->list_id, phone, 0, reason, "import", im->now, -1,
                                &created, im->e);
    import_counted(&im->t, rc, created);
    return rc;
}

static void entries_import(struct api_ctx *c, int64_t id)
{
    dp_err e = {0};
    struct st_rlist l;
    struct import im = {.c = c, .e = &e, .list_id = id, .now = timefmt_now_ms()};
    int rc;
    import_tally_init(&im.t, IMPORT_INVALID_SHOWN);
    struct evbuffer *in = evhttp_request_get_input_buffer(c->req);
    if (require_list(c, id, im.now, &l))
        goto out;
    if (evbuffer_get_length(in) == 0) {
        http_reply_code(c->req, DP_ECSV, "the body is empty: send a CSV of phones");
        goto out;
    }
    if ((rc = engine_flush(c->eng, &e)))
        goto fail;
    rc = import_read_csv(in, import_row, &im, &e);
    if (!rc)
        rc = c->st->v->commit(c->st, &e);
    if (rc)
        goto fail;
    engine_restrictions_changed(c->eng);
    log_info("restrictions imported",
             "list=%lld imported=%lld updated=%lld duplicates=%lld invalid=%lld", (long long)id,
             (long long)im.t.imported, (long long)im.t.updated, (long long)im.t.duplicates,
             (long long)im.t.invalid_count);
    http_reply_json(c->req, 200,
                    json_pack("{s:I, s:I, s:I, s:I, s:I, s:O}", "list_id", (json_int_t)id,
                              "imported", (json_int_t)im.t.imported, "updated",
                              (json_int_t)im.t.updated, "duplicates", (json_int_t)im.t.duplicates,
                              "invalid_count", (json_int_t)im.t.invalid_count, "invalid",
                              im.t.invalid));
    goto out;
fail:
    fail(c, &e, rc);
out:
    import_tally_free(&im.t);
}

/* ---- export ------------------------------------------------------------ */

/* GET .../export.csv streams page after page (http/stream.h): memory stays
 * at one page whatever the list's size. */
struct export
{
    store *st;
    int64_t ws, list_id, after, now, n;
    struct evbuffer *out; /* the page being filled */
};

static int export_row(void *ud, const struct st_rentry *r)
{
    struct export *x = ud;
    char sid[24], ca[TIMEFMT_LEN], ea[TIMEFMT_LEN] = "";
    snprintf(sid, sizeof sid, "%lld", (long long)r->sender_id);
    timefmt_ms(r->created_at, ca);
    if (r->expires_at)
        timefmt_ms(r->expires_at, ea);
    stream_csv_field(x->out, r->phone, 0);
    stream_csv_field(x->out, r->sender_id ? sid : "", 0);
    stream_csv_field(x->out, r->reason, 0);
    stream_csv_field(x->out, r->source, 0);
    stream_csv_field(x->out, ca, 0);
    stream_csv_field(x->out, ea, 1);
    x->after = r->id;
    x->n++;
    return 0;
}

/* The next EXPORT_PAGE entries (stream_fill_fn). A store error ends the
 * body after the rows read so far. */
static int export_fill(void *state, struct evbuffer *out)
{
    struct export *x = state;
    dp_err e = {0};
    int64_t before = x->n;
    struct st_rentry_filter f = {.list_id = x->list_id,
                                 .sender_id = -1,
                                 .after = x->after,
                                 .limit = EXPORT_PAGE,
                                 .now = x->now};
    x->out = out;
    if (x->st->v->restriction_entries(x->st, x->ws, &f, export_row, x, &e)) {
        log_error("restriction export cut short", "list=%lld rows=%lld err=\"%s\"",
                  (long long)x->list_id, (long long)x->n, e.msg);
        return 0;
    }
    return x->n - before == EXPORT_PAGE;
}

static void entries_export(struct api_ctx *c, int64_t id)
{
    struct st_rlist l;
    int64_t now = timefmt_now_ms();
    if (require_list(c, id, now, &l))
        return;
    struct export x = {.st = c->st, .ws = c->ws, .list_id = id, .now = now};
    char name[RLIST_NAME_MAX + 32];
    snprintf(name, sizeof name, "restrictions-%s.csv", l.name);
    stream_start(c->req, "text/csv; charset=utf-8", name,
                 "phone,sender_id,reason,source,created_at,expires_at\r\n", export_fill, &x,
                 sizeof x);
}

/* ---- check ------------------------------------------------------------- */

struct check {
    json_t *entries, *lists;
    int64_t sender, now;
    int restricted;
};

static int check_cb(void *ud, const struct st_rentry *r)
{
    struct check *k = ud;
    json_array_append_new(k->entries, view_rentry(r, k->now));
    if (r->sender_id == 0 || r->sender_id == k->sender) {
        k->restricted = 1;
        size_t i;
        json_t *x;
        int seen = 0;
        json_array_foreach(k->lists, i, x) seen |= strcmp(json_string_value(x), r->list) == 0;
        if (!seen)
            json_array_append_new(k->lists, json_string(r->list));
    }
    return 0;
}

/* GET /restrictions/check?phone=&sender_id=: restricted says whether a send
 * to phone through that sender (through any sender when none is given)
 * would be skipped now; entries lists every active entry of the phone, in
 * both Brazilian forms, per-sender ones included. */
static void restrictions_check(struct api_ctx *c)
{
    dp_err e = {0};
    const char *ph = http_query(c, "phone"), *sid = http_query(c, "sender_id");
    char phone[16], alt[16];
    struct check k = {json_array(), json_array(), 0, timefmt_now_ms(), 0};
    if (!ph || phone_forms(c, ph, phone, alt, &e)) {
        http_reply_code(c->req, DP_EINVAL, "phone: %s", ph ? e.msg : "is required");
        goto out;
    }
    if (sid && (k.sender = parse_nonneg(sid)) < 1) {
        http_reply_code(c->req, DP_EINVAL, "sender_id must be a sender's id");
        goto out;
    }
    /* as when an entry is added: a sender of another workspace is none */
    if (sid && !engine_sender_exists(c->eng, c->ws, k.sender)) {
        http_reply_code(c->req, DP_EINVAL, "sender_id: sender %lld does not exist",
                        (long long)k.sender);
        goto out;
    }
    struct st_rentry_filter f = {
        .phone = phone, .alt = alt[0] ? alt : NULL, .sender_id = -1, .now = k.now};
    int rc = c->st->v->restriction_entries(c->st, c->ws, &f, check_cb, &k, &e);
    if (rc) {
        fail(c, &e, rc);
        goto out;
    }
    http_reply_json(c->req, 200,
                    json_pack("{s:s, s:o, s:b, s:O, s:O}", "phone", phone, "sender_id",
                              sid ? json_integer(k.sender) : json_null(), "restricted",
                              k.restricted, "lists", k.lists, "entries", k.entries));
out:
    json_decref(k.entries);
    json_decref(k.lists);
}

/* ---- keyword rules ----------------------------------------------------- */

static int kw_view_cb(void *ud, const struct st_kwrule *k)
{
    json_t *v = json_pack("{s:I, s:s, s:s, s:b, s:s, s:o}", "id", (json_int_t)k->id, "keyword",
                          k->keyword, "match", k->match, "case_sensitive", k->case_sensitive,
                          "list", k->list, "created_at", view_time(k->created_at));
    if (json_is_array((json_t *)ud)) {
        json_array_append_new(ud, v);
    } else {
        json_object_update(ud, v);
        json_decref(v);
    }
    return 0;
}

static void kw_get(struct api_ctx *c, int64_t id, int status)
{
    dp_err e = {0};
    json_t *out = id > 0 ? json_object() : json_array();
    int rc = c->st->v->kwrule_list(c->st, c->ws, id, kw_view_cb, out, &e);
    if (!rc)
        rc = c->st->v->commit(c->st, &e); /* the defaults, made on first use */
    if (rc) {
        json_decref(out);
        fail(c, &e, rc);
        return;
    }
    http_reply_json(c->req, status, id > 0 ? out : json_pack("{s:o}", "keyword_rules", out));
}

struct kw_in {
    const char *keyword, *match, *list;
    int case_sensitive; /* -1 = unchanged */
};

static int kw_fields(struct api_ctx *c, const json_t *body, int creating, struct kw_in *in,
                     dp_err *e)
{
    const json_t *k = json_object_get(body, "keyword"), *m = json_object_get(body, "match"),
                 *cs = json_object_get(body, "case_sensitive"), *l = json_object_get(body, "list");
    const char *key;
    const json_t *x;
    enum keyword_match how;
    json_object_foreach((json_t *)body, key, x)
    {
        if (strcmp(key, "keyword") && strcmp(key, "match") && strcmp(key, "case_sensitive") &&
            strcmp(key, "list"))
            return dp_err_set(e, DP_EINVAL, "%s is not a keyword rule field", key);
    }
    *in = (struct kw_in){NULL, creating ? keyword_match_name(KEYWORD_DEFAULT_MATCH) : NULL,
                         creating ? KEYWORD_DEFAULT_LIST : NULL, creating ? 0 : -1};
    if (k || creating) {
        if (!json_is_string(k))
            return dp_err_set(e, DP_EINVAL, "keyword is required: a string");
        dp_err ke = {0};
        if (keyword_rule_check(json_string_value(k), &ke))
            return dp_err_set(e, DP_EINVAL, "keyword: %s", ke.msg);
        in->keyword = json_string_value(k);
    }
    if (m) {
        if (!json_is_string(m) || keyword_match_parse(json_string_value(m), &how, e))
            return dp_err_set(e, DP_EINVAL,
                              "match must be exact, contains, starts_with or ends_with");
        in->match = keyword_match_name(how);
    }
    if (cs) {
        if (!json_is_boolean(cs))
            return dp_err_set(e, DP_EINVAL, "case_sensitive must be true or false");
        in->case_sensitive = json_is_true(cs);
    }
    if (l) {
        if (!json_is_string(l))
            return dp_err_set(e, DP_EINVAL, "list must be a restriction list's name");
        in->list = json_string_value(l);
    }
    if (in->list) {
        struct st_rlist rl;
        int rc = c->st->v->rlist_get(c->st, c->ws, 0, in->list, timefmt_now_ms(), &rl, e);
        if (rc == DP_ENOTFOUND)
            return dp_err_set(e, DP_EINVAL, "list: no restriction list is named %s", in->list);
        if (rc)
            return rc;
    }
    return DP_OK;
}

/* POST /keyword-rules (creating: id is the new rule's) and PATCH
 * /keyword-rules/{id}: both answer with the rule as stored. */
static void kw_write(struct api_ctx *c, int64_t id, int creating)
{
    dp_err e = {0};
    struct kw_in in = {0};
    int rc;
    json_t *body = http_body_object(c->req);
    if (!body)
        return;
    if ((rc = engine_flush(c->eng, &e)) || (rc = kw_fields(c, body, creating, &in, &e)) ||
        (rc = creating ? c->st->v->kwrule_add(c->st, c->ws, in.keyword, in.match, in.case_sensitive,
                                              in.list, &id, &e)
                       : c->st->v->kwrule_update(c->st, c->ws, id, in.keyword, in.match,
                                                 in.case_sensitive, in.list, &e)) ||
        (rc = c->st->v->commit(c->st, &e))) {
        fail(c, &e, rc);
        goto out;
    }
    kw_get(c, id, creating ? 201 : 200);
out:
    json_decref(body);
}

static void kw_delete(struct api_ctx *c, int64_t id)
{
    dp_err e = {0};
    int rc;
    if ((rc = engine_flush(c->eng, &e)) || (rc = c->st->v->kwrule_delete(c->st, c->ws, id, &e)) ||
        (rc = c->st->v->commit(c->st, &e))) {
        fail(c, &e, rc);
        return;
    }
    http_reply_empty(c->req, 204);
}

/* ---- router ------------------------------------------------------------ */

int api_restrict_dispatch(struct api_ctx *c)
{
    const int GET = EVHTTP_REQ_GET, POST = EVHTTP_REQ_POST, PATCH = EVHTTP_REQ_PATCH,
              DEL = EVHTTP_REQ_DELETE;
    const char *s0 = c->seg[0];
    int m = c->method, n = c->nseg;
    int64_t id = n >= 2 ? http_parse_id(c->seg[1]) : 0;
    if (strcmp(s0, "restriction-lists") == 0) {
        if (n == 1 && m == GET)
            lists_get(c);
        else if (n == 1 && m == POST)
            lists_create(c);
        else if (n >= 2 && id < 1)
            http_reply_code(c->req, DP_ENOTFOUND, "restriction list %s not found", c->seg[1]);
        else if (n == 2 && m == GET)
            list_reply(c, 200, id);
        else if (n == 2 && m == PATCH)
            lists_patch(c, id);
        else if (n == 2 && m == DEL)
            lists_delete(c, id);
        else if (n == 3 && m == GET && strcmp(c->seg[2], "entries") == 0)
            entries_get(c, id);
        else if (n == 3 && m == POST && strcmp(c->seg[2], "entries") == 0)
            entries_add(c, id);
        else if (n == 4 && m == DEL && strcmp(c->seg[2], "entries") == 0)
            entries_delete(c, id, c->seg[3]);
        else if (n == 3 && m == POST && strcmp(c->seg[2], "import") == 0)
            entries_import(c, id);
        else if (n == 3 && m == GET && strcmp(c->seg[2], "export.csv") == 0)
            entries_export(c, id);
        else
            http_reply_code(c->req, DP_ENOTFOUND, "no such restriction list route");
        return 1;
    }
    if (strcmp(s0, "restrictions") == 0) {
        if (n == 2 && m == GET && strcmp(c->seg[1], "check") == 0)
            restrictions_check(c);
        else
            http_reply_code(c->req, DP_ENOTFOUND, "no such restrictions route");
        return 1;
    }
    if (strcmp(s0, "keyword-rules") == 0) {
        if (n == 1 && m == GET)
            kw_get(c, 0, 200);
        else if (n == 1 && m == POST)
            kw_write(c, 0, 1);
        else if (n == 2 && id < 1)
            http_reply_code(c->req, DP_ENOTFOUND, "keyword rule %s not found", c->seg[1]);
        else if (n == 2 && m == GET)
            kw_get(c, id, 200);
        else if (n == 2 && m == PATCH)
            kw_write(c, id, 0);
        else if (n == 2 && m == DEL)
            kw_delete(c, id);
        else
            http_reply_code(c->req, DP_ENOTFOUND, "no such keyword rule route");
        return 1;
    }
    return 0;
}
