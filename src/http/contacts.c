/* Lists and contacts beyond import (docs/api.md, "Lists and contacts"):
 * renaming and deleting lists, adding and removing members, keyset pages of
 * members and of contacts, one contact with its lists and the messages its
 * phone was sent. Every look-up is scoped to the token's workspace, so
 * another workspace's id is simply not found. */
#include <ctype.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_int.h"
#include "util/log.h"
#include "util/phone.h"

#define PAGE_DEFAULT 100
#define PAGE_MAX 1000
#define SEARCH_MAX 100
/* entries in one add or remove request; more go in several requests (an
 * import is the way for big files) */
#define BATCH_MAX 10000
#define BATCH_INVALID_SHOWN 1000

/* after= and limit= of a keyset page; replies 400 itself and returns -1. */
static int page_args(struct api_ctx *c, const char *after_key, int64_t *after, int64_t *limit)
{
    const char *a = http_query(c, after_key);
    *after = 0;
    if (a && *a && strcmp(a, "0") != 0 && (*after = http_parse_id(a)) < 1) {
        http_reply_code(c->req, DP_EINVAL, "%s must be an id from an earlier page", after_key);
        return -1;
    }
    return http_query_limit(c, PAGE_DEFAULT, PAGE_MAX, limit);
}

/* ---- views ------------------------------------------------------------ */

static json_t *view_contact(const struct st_contact *ct)
{
    json_t *vars = ct->vars ? json_loads(ct->vars, 0, NULL) : NULL;
    return json_pack("{s:I, s:s, s:o, s:o, s:o, s:o}", "id", (json_int_t)ct->id, "phone", ct->phone,
                     "name", ct->name ? json_string(ct->name) : json_null(), "vars",
                     json_is_object(vars) ? vars : (json_decref(vars), json_object()), "created_at",
                     view_time(ct->created_at), "updated_at", view_time(ct->updated_at));
}

static int list_obj_cb(void *ud, const struct st_list *l)
{
    json_t **out = ud;
    json_decref(*out);
    *out = view_list(l);
    return 0;
}

static int list_arr_cb(void *ud, const struct st_list *l)
{
    json_array_append_new(ud, json_pack("{s:I, s:s}", "id", (json_int_t)l->id, "name", l->name));
    return 0;
}

/* A page of contacts: each row appended to the array ud. */
static int page_cb(void *ud, const struct st_contact *ct)
{
    json_array_append_new(ud, view_contact(ct));
    return 0;
}

/* One row more than limit was asked for: its presence means another page.
 * Takes arr and extra (NULL or the reply's other fields). */
static void reply_page(struct api_ctx *c, json_t *arr, int64_t limit, json_t *extra)
{
    int64_t last = http_page_next(arr, limit);
    json_t *next = last ? json_integer(last) : json_null();
    json_t *out = extra ? extra : json_object();
    json_object_set_new(out, "contacts", arr);
    json_object_set_new(out, "next_after", next);
    http_reply_json(c->req, 200, out);
}

/* The list (with its count) into *out, or a 404 answered. */
static int get_list(struct api_ctx *c, int64_t id, json_t **out)
{
    dp_err e = {0};
    *out = NULL;
    if (c->st->v->list_get(c->st, c->ws, id, list_obj_cb, out, &e)) {
        json_decref(*out);
        *out = NULL;
        http_reply_error(c->req, &e, NULL);
        return -1;
    }
    return 0;
}

/* ---- lists ------------------------------------------------------------ */

void api_lists_patch(struct api_ctx *c, int64_t id, json_t *body)
{
    dp_err e = {0};
    const json_t *name = json_object_get(body, "name");
    char nm[LIST_NAME_MAX + 1];
    json_t *out = NULL;
    if (json_object_size(body) != 1 || !json_is_string(name)) {
        http_reply_code(c->req, DP_EINVAL, "give {\"name\": ...}, a string of 1 to %d characters",
                        LIST_NAME_MAX);
        return;
    }
    if (http_list_name(c, json_string_value(name), nm))
        return;
    if (engine_flush(c->eng, &e) || c->st->v->list_rename(c->st, c->ws, id, nm, &e) ||
        c->st->v->commit(c->st, &e)) {
        api_fail(c, &e);
        return;
    }
    if (get_list(c, id, &out) == 0)
        http_reply_json(c->req, 200, out);
}

/* Always allowed: a campaign's messages are written when it is created, so
 * no campaign reads its list again; their audience keeps the old list_id. */
void api_lists_delete(struct api_ctx *c, int64_t id)
{
    dp_err e = {0};
    if (engine_flush(c->eng, &e) || c->st->v->list_delete(c->st, c->ws, id, &e) ||
        c->st->v->commit(c->st, &e)) {
        api_fail(c, &e);
        return;
    }
    log_info("list deleted", "list=%lld", (long long)id);
    http_reply_empty(c->req, 204);
}

void api_list_members(struct api_ctx *c, int64_t id)
{
    dp_err e = {0};
    int64_t after, limit;
    if (page_args(c, "after", &after, &limit))
        return;
    json_t *arr = json_array();
    if (c->st->v->list_members_page(c->st, c->ws, id, after, limit + 1, page_cb, arr, &e)) {
        json_decref(arr);
        http_reply_error(c->req, &e, NULL);
        return;
    }
    reply_page(c, arr, limit, json_pack("{s:I}", "list_id", (json_int_t)id));
}

/* Reads entry i of an add request: {"phone","name","vars"} or a phone string. */
static int add_entry(const json_t *v, const char **phone, const char **name, const json_t **vars,
                     const char **why)
{
    *name = NULL;
    *vars = NULL;
    if (json_is_string(v)) {
        *phone = json_string_value(v);
        return 0;
    }
    if (!json_is_object(v)) {
        *why = "an entry must be a phone string or an object with phone";
        return -1;
    }
    const json_t *n = json_object_get(v, "name"), *vv = json_object_get(v, "vars");
    *phone = json_string_value(json_object_get(v, "phone"));
    if (!*phone) {
        *why = "phone is required";
        return -1;
    }
    if (n && !json_is_null(n) && !json_is_string(n)) {
        *why = "name must be a string";
        return -1;
    }
    if (vv && !json_is_null(vv) && !json_is_object(vv)) {
        *why = "vars must be an object";
        return -1;
    }
    *name = json_string_value(n);
    *vars = json_is_object(vv) ? vv : NULL;
    return 0;
}

/* Variables are sent as strings, as an import stores them: numbers and
 * booleans are written out, anything nested is refused. */
static json_t *vars_as_strings(const json_t *vars, const char **why)
{
    json_t *out = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)vars, k, v)
    {
        char buf[64];
        if (json_is_string(v)) {
            json_object_set(out, k, v);
        } else if (json_is_integer(v)) {
            snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
            json_object_set_new(out, k, json_string(buf));
        } else if (json_is_real(v)) {
            snprintf(buf, sizeof buf, "%.17g", json_real_value(v));
            json_object_set_new(out, k, json_string(buf));
        } else if (json_is_boolean(v)) {
            json_object_set_new(out, k, json_string(json_is_true(v) ? "true" : "false"));
        } else {
            *why = "vars values must be strings, numbers or booleans";
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

/* POST /lists/{id}/contacts: upserts each contact and adds it to the list.
 * A bad entry is reported by its index and never stops the rest. */
void api_list_add(struct api_ctx *c, int64_t id, json_t *body)
{
    dp_err e = {0};
    const json_t *arr = json_object_get(body, "contacts");
    json_t *before = NULL, *after = NULL, *invalid = json_array();
    int64_t imported = 0, updated = 0, invalid_count = 0;
    if (!arr)
        arr = json_object_get(body, "phones");
    if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > BATCH_MAX) {
        http_reply_code(c->req, DP_EINVAL,
                        "give \"contacts\": [{\"phone\", \"name\", \"vars\"}, ...] or \"phones\": "
                        "[...], 1 to %d entries",
                        BATCH_MAX);
        goto out;
    }
    if (engine_flush(c->eng, &e)) {
        api_fail(c, &e);
        goto out;
    }
    if (get_list(c, id, &before))
        goto out;
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        const char *raw, *name, *why = NULL;
        const json_t *vars;
        char phone[16];
        dp_err pe = {0};
        json_t *svars = NULL;
        int created = 0;
        int64_t cid;
        if (add_entry(v, &raw, &name, &vars, &why) == 0 &&
            phone_normalize(raw, engine_country_code(c->eng), phone, &pe) != DP_OK)
            why = pe.msg;
        if (!why && vars && !(svars = vars_as_strings(vars, &why)) && !why)
            why = "out of memory";
        if (why) {
            invalid_count++;
            if (json_array_size(invalid) < BATCH_INVALID_SHOWN)
                json_array_append_new(
                    invalid, json_pack("{s:I, s:s}", "index", (json_int_t)i, "reason", why));
            continue;
        }
        int rc = c->st->v->contact_upsert(c->st, c->ws, phone, name, svars, &cid, &created, &e);
        json_decref(svars);
        if (rc || c->st->v->list_add(c->st, id, cid, &e)) {
            api_fail(c, &e);
            goto out;
        }
        if (created)
            imported++;
        else
            updated++;
    }
    if (c->st->v->commit(c->st, &e)) {
        api_fail(c, &e);
        goto out;
    }
    if (get_list(c, id, &after))
        goto out;
    int64_t m0 = json_integer_value(json_object_get(before, "members"));
    int64_t m1 = json_integer_value(json_object_get(after, "members"));
    http_reply_json(c->req, 200,
                    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:O}", "list_id", (json_int_t)id,
                              "added", (json_int_t)(m1 - m0), "members", (json_int_t)m1, "imported",
                              (json_int_t)imported, "updated", (json_int_t)updated, "invalid_count",
                              (json_int_t)invalid_count, "invalid", invalid));
out:
    json_decref(before);
    json_decref(after);
    json_decref(invalid);
}

struct one_id {
    int64_t id;
    char phone[16];
};

static int one_id_cb(void *ud, const struct st_contact *ct)
{
    struct one_id *o = ud;
    o->id = ct->id;
    snprintf(o->phone, sizeof o->phone, "%s", ct->phone);
    return 0;
}

/* DELETE /lists/{id}/contacts/{phone}, or a batch: a JSON body
 * {"phones": [...]} or ?phones=a,b,c. Phones that are not members are
 * listed in not_found; a single phone that is not a member is a 404. */
void api_list_remove(struct api_ctx *c, int64_t id, const char *one)
{
    dp_err e = {0};
    json_t *body = NULL, *phones = NULL, *not_found = json_array(), *invalid = json_array();
    json_t *lst = NULL;
    int64_t removed = 0;
    struct evbuffer *in = evhttp_request_get_input_buffer(c->req);
    const char *qp = http_query(c, "phones");
    if (one) {
        phones = json_pack("[s]", one);
    } else if (evbuffer_get_length(in) > 0) {
        if (!(body = http_body_json(c->req)))
            goto out;
        phones = json_incref(json_object_get(body, "phones"));
    } else if (qp) {
        phones = json_array();
        const char *p = qp;
        while (*p) {
            size_t n = strcspn(p, ",");
            if (n)
                json_array_append_new(phones, json_stringn(p, n));
            p += n;
            if (*p)
                p++;
        }
    }
    if (!json_is_array(phones) || json_array_size(phones) == 0 ||
        json_array_size(phones) > BATCH_MAX) {
        http_reply_code(c->req, DP_EINVAL,
                        "name the phones: /lists/{id}/contacts/{phone}, a body {\"phones\": "
                        "[...]} or ?phones=a,b (1 to %d)",
                        BATCH_MAX);
        goto out;
    }
    if (engine_flush(c->eng, &e)) {
        api_fail(c, &e);
        goto out;
    }
    if (get_list(c, id, &lst))
        goto out;
    size_t i;
    json_t *v;
    json_array_foreach(phones, i, v)
    {
        char phone[16];
        dp_err pe = {0};
        const char *raw = json_string_value(v);
        if (!raw || phone_normalize(raw, engine_country_code(c->eng), phone, &pe) != DP_OK) {
            json_array_append_new(invalid, json_pack("{s:I, s:s}", "index", (json_int_t)i, "reason",
                                                     raw ? pe.msg : "not a string"));
            continue;
        }
        struct one_id o = {0};
        int rm = 0;
        int rc = c->st->v->contact_get(c->st, c->ws, 0, phone, one_id_cb, &o, &e);
        if (rc == DP_OK)
            rc = c->st->v->list_remove(c->st, id, o.id, &rm, &e);
        if (rc && rc != DP_ENOTFOUND) {
            api_fail(c, &e);
            goto out;
        }
        if (rm)
            removed++;
        else if (json_array_size(not_found) < BATCH_INVALID_SHOWN)
            json_array_append_new(not_found, json_string(phone));
    }
    if (c->st->v->commit(c->st, &e)) {
        api_fail(c, &e);
        goto out;
    }
    if (one && json_array_size(invalid)) {
        http_reply_code(c->req, DP_EINVAL, "%s",
                        json_string_value(json_object_get(json_array_get(invalid, 0), "reason")));
        goto out;
    }
    if (one && removed == 0) {
        http_reply_code(c->req, DP_ENOTFOUND, "%s is not on list %lld",
                        json_string_value(json_array_get(not_found, 0)), (long long)id);
        goto out;
    }
    json_decref(lst);
    lst = NULL;
    if (get_list(c, id, &lst))
        goto out;
    http_reply_json(c->req, 200,
                    json_pack("{s:I, s:I, s:O, s:O, s:O}", "list_id", (json_int_t)id, "removed",
                              (json_int_t)removed, "members", json_object_get(lst, "members"),
                              "not_found", not_found, "invalid", invalid));
out:
    json_decref(body);
    json_decref(phones);
    json_decref(not_found);
    json_decref(invalid);
    json_decref(lst);
}

/* ---- contacts --------------------------------------------------------- */

/* GET /contacts?search=: digits (with the separators people type) match
 * inside phones, anything matches inside names, ASCII case-insensitively. */
void api_contacts_search(struct api_ctx *c)
{
    dp_err e = {0};
    const char *q = http_query(c, "search");
    char digits[SEARCH_MAX + 1], text[SEARCH_MAX + 1];
    int64_t after, limit;
    int has_digits = 0, only_phone_chars = 1;
    if (page_args(c, "after", &after, &limit))
        return;
    if (q && strlen(q) > SEARCH_MAX) {
        http_reply_code(c->req, DP_EINVAL, "search is at most %d bytes", SEARCH_MAX);
        return;
    }
    size_t nd = 0, nt = 0;
    for (const char *p = q ? q : ""; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (isdigit(ch)) {
            digits[nd++] = (char)ch;
            has_digits = 1;
        } else if (!strchr(" +-().", ch)) {
            only_phone_chars = 0;
        }
        text[nt++] = (char)(ch < 0x80 ? tolower(ch) : ch);
    }
    digits[nd] = '\0';
    text[nt] = '\0';
    /* surrounding spaces typed into a search box are not part of a name */
    char *t = text;
    while (*t == ' ')
        t++;
    while (nt > 0 && text[nt - 1] == ' ' && &text[nt - 1] >= t)
        text[--nt] = '\0';
    const char *dq = has_digits && only_phone_chars ? digits : NULL;
    const char *tq = *t ? t : NULL;
    json_t *arr = json_array();
    if (c->st->v->contact_search(c->st, c->ws, dq, tq, after, limit + 1, page_cb, arr, &e)) {
        json_decref(arr);
        http_reply_error(c->req, &e, NULL);
        return;
    }
    reply_page(c, arr, limit, NULL);
}

/* {phone-or-id}: a leading '+' or 10 digits and more is a phone (normalised
 * as an import would), anything shorter a contact id. */
static int contact_key(struct api_ctx *c, const char *key, int64_t *id, char phone[16])
{
    dp_err e = {0};
    size_t n = strlen(key);
    *id = 0;
    phone[0] = '\0';
    if (key[0] == '+' || (n >= 10 && strspn(key, "0123456789") == n)) {
        if (phone_normalize(key, engine_country_code(c->eng), phone, &e) != DP_OK) {
            http_reply_code(c->req, DP_EINVAL, "%s", e.msg);
            return -1;
        }
        return 0;
    }
    if ((*id = http_parse_id(key)) < 1) {
        http_reply_code(c->req, DP_ENOTFOUND, "no contact %s (give an id or a phone)", key);
        return -1;
    }
    return 0;
}

struct one_contact {
    json_t *obj;
    int64_t id;
    char phone[16];
};

static int one_contact_cb(void *ud, const struct st_contact *ct)
{
    struct one_contact *o = ud;
    json_decref(o->obj);
    o->obj = view_contact(ct);
    o->id = ct->id;
    snprintf(o->phone, sizeof o->phone, "%s", ct->phone);
    return 0;
}

void api_contacts_get(struct api_ctx *c, const char *key)
{
    dp_err e = {0};
    int64_t id;
    char phone[16];
    struct one_contact o = {0};
    json_t *lists = json_array();
    if (contact_key(c, key, &id, phone))
        goto out;
    if (c->st->v->contact_get(c->st, c->ws, id, phone[0] ? phone : NULL, one_contact_cb, &o, &e) ||
        c->st->v->contact_lists(c->st, c->ws, o.id, list_arr_cb, lists, &e)) {
        http_reply_error(c->req, &e, NULL);
        goto out;
    }
    json_object_set(o.obj, "lists", lists);
    http_reply_json(c->req, 200, json_incref(o.obj));
out:
    json_decref(o.obj);
    json_decref(lists);
}

struct history {
    json_t *arr;
};

static int history_cb(void *ud, const struct st_message *m, const char *campaign_name)
{
    struct history *h = ud;
    json_t *j = view_message(m);
    json_object_set_new(j, "campaign",
                        json_pack("{s:I, s:s}", "id", (json_int_t)m->campaign_id, "name",
                                  campaign_name ? campaign_name : ""));
    json_array_append_new(h->arr, j);
    return 0;
}

/* GET /contacts/{phone-or-id}/history?before=&limit=: every message of the
 * workspace's campaigns to this phone, newest first. A phone that never
 * became a contact (inline campaign audiences) still has its history. */
void api_contacts_history(struct api_ctx *c, const char *key)
{
    dp_err e = {0};
    int64_t id, before, limit;
    char phone[16];
    struct one_contact o = {0};
    struct history h = {json_array()};
    if (page_args(c, "before", &before, &limit) || contact_key(c, key, &id, phone))
        goto out;
    if (!phone[0]) {
        if (c->st->v->contact_get(c->st, c->ws, id, NULL, one_contact_cb, &o, &e)) {
            http_reply_error(c->req, &e, NULL);
            goto out;
        }
        memcpy(phone, o.phone, sizeof o.phone);
    }
    if (c->st->v->contact_history(c->st, c->ws, phone, before, limit + 1, history_cb, &h, &e)) {
        http_reply_error(c->req, &e, NULL);
        goto out;
    }
    int64_t last = http_page_next(h.arr, limit);
    json_t *next = last ? json_integer(last) : json_null();
    http_reply_json(
        c->req, 200,
        json_pack("{s:s, s:O, s:o}", "phone", phone, "history", h.arr, "next_before", next));
out:
    json_decref(o.obj);
    json_decref(h.arr);
}

void api_contacts_delete(struct api_ctx *c, const char *key)
{
    dp_err e = {0};
    int64_t id;
    char phone[16];
    struct one_contact o = {0};
    if (contact_key(c, key, &id, phone))
        goto out;
    if (engine_flush(c->eng, &e) ||
        c->st->v->contact_get(c->st, c->ws, id, phone[0] ? phone : NULL, one_contact_cb, &o, &e) ||
        c->st->v->contact_delete(c->st, c->ws, o.id, &e) || c->st->v->commit(c->st, &e)) {
        api_fail(c, &e);
        goto out;
    }
    http_reply_empty(c->req, 204);
out:
    json_decref(o.obj);
}
