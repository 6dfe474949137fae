/* Unit tests for the SQLite store (src/store/sqlite.c) and the shared helpers
 * in src/store/store.c. Each test gets a fresh database in its own temporary
 * directory, opened through a parent directory that does not exist yet. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store/store.h"
#include "support/tmpstore.h"

struct fx {
    struct tmpstore tmp;
    store *st;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    /* through a parent directory that does not exist yet */
    f->st = tmpstore_open(&f->tmp, "store", "data");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    tmpstore_remove(&f->tmp, f->st);
    free(f);
    return 0;
}

/* A bootstrapped store: workspace 1, sandbox sender 1. */
static store *boot(void **state)
{
    struct fx *f = *state;
    int created = 0;
    OK(f->st->v->bootstrap(f->st, "adminhash", &created, E));
    return f->st;
}

static int find_list(store *st, const char *name, int64_t *id)
{
    dp_err e = {0};
    return st->v->list_find(st, 1, name, id, &e);
}

static int copy_name(void *ud, const struct st_list *l)
{
    snprintf(ud, 64, "%s", l->name);
    return 0;
}

/* Migration 7: list names are one whatever their ASCII case; lists that
 * already collide keep the oldest name and the others get their id added. */
static void test_list_names_nocase(void **state)
{
    struct fx *f = *state;
    store *st = boot(state);
    int64_t a, b, id;
    char name[64];
    dp_err e = {0};
    OK(st->v->list_create(st, 1, "Clientes", &a, E));
    OK(st->v->commit(st, E));
    assert_int_equal(st->v->list_create(st, 1, "clientes", &b, &e), DP_ECONFLICT);
    st->v->rollback(st);
    assert_int_equal(find_list(st, "CLIENTES", &id), DP_OK);
    assert_int_equal(id, a);
    assert_int_equal(find_list(st, "Client", &id), DP_ENOTFOUND);
    /* a database of version 6 with two lists that collide */
    st->v->close(st);
    f->st = NULL;
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->tmp.path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "DROP INDEX lists_name_nocase;"
                                  "INSERT INTO lists (ws, name, created_at) VALUES (1, 'CLIENTES', 1);"
                                  "PRAGMA user_version = 6;",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    b = sqlite3_last_insert_rowid(db);
    sqlite3_close(db);
    OK(store_sqlite_open(f->tmp.path, &f->st, E));
    st = f->st;
    OK(st->v->list_get(st, 1, a, copy_name, name, E));
    assert_string_equal(name, "Clientes");
    OK(st->v->list_get(st, 1, b, copy_name, name, E));
    char want[64];
    snprintf(want, sizeof want, "CLIENTES (%lld)", (long long)b);
    assert_string_equal(name, want);
}

static int64_t add_campaign(store *st, int64_t ws, const char *name, int status,
                            const char *spec_json)
{
    struct st_campaign c = {.ws = ws, .name = (char *)name, .status = status};
    c.spec = json_loads(spec_json, 0, NULL);
    assert_non_null(c.spec);
    OK(st->v->campaign_create(st, &c, E));
    json_decref(c.spec);
    assert_true(c.id > 0);
    return c.id;
}

static int64_t add_message(store *st, int64_t campaign_id, const char *phone, int status)
{
    struct st_message m = {
        .campaign_id = campaign_id, .phone = (char *)phone, .status = status, .queued_at = 100};
    OK(st->v->message_insert(st, &m, E));
    assert_true(m.id > 0);
    return m.id;
}

/* ---- collectors for the callbacks ---- */

struct ids {
    int64_t id[64];
    int status[64];
    int n;
    int stop_at; /* stop after this many rows (0 = never) */
};

static int collect_msg(void *ud, const struct st_message *m)
{
    struct ids *c = ud;
    assert_true(c->n < 64);
    c->status[c->n] = m->status;
    c->id[c->n++] = m->id;
    if (c->stop_at && c->n == c->stop_at)
        return 7;
    return 0;
}

static int collect_camp(void *ud, const struct st_campaign *cp)
{
    struct ids *c = ud;
    assert_true(c->n < 64);
    assert_non_null(cp->spec);
    c->status[c->n] = cp->status;
    c->id[c->n++] = cp->id;
    return 0;
}

static int collect_sender(void *ud, const struct st_sender *s)
{
    struct ids *c = ud;
    assert_true(c->n < 64);
    assert_non_null(s->name);
    assert_non_null(s->config);
    c->id[c->n++] = s->id;
    return 0;
}

static int collect_event(void *ud, const struct st_event *ev)
{
    struct ids *c = ud;
    assert_true(c->n < 64);
    assert_non_null(ev->type);
    assert_non_null(ev->detail);
    c->id[c->n++] = ev->at;
    return 0;
}

struct members {
    char phone[16][32];
    char name[16][32];
    char vars[16][128];
    int n;
};

static int collect_member(void *ud, const char *phone, const char *name, const char *vars)
{
    struct members *m = ud;
    assert_true(m->n < 16);
    snprintf(m->phone[m->n], sizeof m->phone[0], "%s", phone);
    snprintf(m->name[m->n], sizeof m->name[0], "%s", name ? name : "");
    snprintf(m->vars[m->n], sizeof m->vars[0], "%s", vars ? vars : "");
    m->n++;
    return 0;
}

struct list_seen {
    int64_t id, members;
    char name[32];
    int n;
};

static int collect_list(void *ud, const struct st_list *l)
{
    struct list_seen *s = ud;
    s->id = l->id;
    s->members = l->members;
    snprintf(s->name, sizeof s->name, "%s", l->name);
    s->n++;
    return 0;
}

struct recips {
    char phone[8][32];
    int64_t at[8];
    int n;
};

static int collect_recip(void *ud, const char *phone, int64_t at)
{
    struct recips *r = ud;
    assert_true(r->n < 8);
    snprintf(r->phone[r->n], sizeof r->phone[0], "%s", phone);
    r->at[r->n++] = at;
    return 0;
}

/* ---- tests ---- */

static void test_status_names(void **state)
{
    (void)state;
    for (int i = 0; i < MS__COUNT; i++)
        assert_int_equal(msg_status_parse(msg_status_name(i)), i);
    for (int i = 0; i < CS__COUNT; i++)
        assert_int_equal(camp_status_parse(camp_status_name(i)), i);
    assert_string_equal(msg_status_name(MS_DELIVERED), "delivered");
    assert_string_equal(msg_status_name(MS_UNKNOWN), "unknown");
    assert_string_equal(camp_status_name(CS_CANCELLED), "cancelled");
    assert_int_equal(msg_status_parse("bogus"), -1);
    assert_int_equal(msg_status_parse(NULL), -1);
    assert_int_equal(camp_status_parse("sent"), -1);
    assert_int_equal(msg_status_parse(msg_status_name(99)), -1);

    struct st_message m = {0};
    m.phone = strdup("1");
    m.error_detail = strdup("x");
    st_message_clear(&m);
    st_message_clear(&m); /* twice is harmless */
    st_message_clear(NULL);
    assert_null(m.phone);
}

static void test_bootstrap(void **state)
{
    struct fx *f = *state;
    store *st = f->st;
    int created = -1;
    int64_t ws = 0;
    dp_err e = {0};
    struct ids got = {0};

    OK(st->v->bootstrap(st, "adminhash", &created, E));
    assert_int_equal(created, 1);
    assert_false(st->v->in_transaction(st));
    OK(st->v->bootstrap(st, "otherhash", &created, E));
    assert_int_equal(created, 0);

    OK(st->v->token_lookup(st, "adminhash", &ws, E));
    assert_int_equal(ws, 1);
    assert_int_equal(st->v->token_lookup(st, "otherhash", &ws, &e), DP_ENOTFOUND);

    OK(st->v->sender_list(st, 1, collect_sender, &got, E));
    assert_int_equal(got.n, 1);
    struct st_sender s;
    OK(st->v->sender_get(st, 1, got.id[0], &s, E));
    assert_string_equal(s.name, "sandbox");
    assert_string_equal(s.provider, "sandbox");
    assert_true(s.active);
    assert_true(json_is_object(s.config));
    st_sender_clear(&s);
    assert_string_equal(st->v->name, "sqlite");
}

static void test_tokens(void **state)
{
    store *st = boot(state);
    int64_t id = 0, ws = 0;
    dp_err e = {0};

    OK(st->v->token_create(st, 1, "ci", "h-ci", &id, E));
    assert_true(id > 1);
    assert_true(st->v->in_transaction(st));
    OK(st->v->commit(st, E));
    assert_false(st->v->in_transaction(st));
    OK(st->v->commit(st, E)); /* nothing open: a no-op */
    OK(st->v->token_lookup(st, "h-ci", &ws, E));
    assert_int_equal(ws, 1);

    assert_int_equal(st->v->token_create(st, 1, "again", "h-ci", &id, &e), DP_ECONFLICT);
    assert_non_null(strstr(e.msg, "UNIQUE"));
    assert_int_equal(st->v->token_create(st, 42, "nows", "h-x", &id, &e), DP_ENOTFOUND);
    assert_int_equal(st->v->token_lookup(st, "nope", &ws, &e), DP_ENOTFOUND);
}

static void test_senders(void **state)
{
    store *st = boot(state);
    dp_err e = {0};
    struct st_sender s = {.ws = 1,
                          .name = (char *)"hook",
                          .provider = (char *)"webhook",
                          .rate_per_second = 2.5,
                          .daily_limit = 100,
                          .active = 1};
    struct st_sender got;
    struct ids list = {0};
    int in_use = -1;

    s.config = json_pack("{s:s}", "url", "http://x");
    OK(st->v->sender_create(st, &s, E));
    assert_true(s.id > 1);
    assert_true(s.created_at > 0);
    json_decref(s.config);
    s.config = NULL;

    /* A second sender with the same name is fine. */
    struct st_sender dup = {.ws = 1, .name = (char *)"hook", .provider = (char *)"sandbox"};
    OK(st->v->sender_create(st, &dup, E));

    OK(st->v->sender_get(st, 1, s.id, &got, E));
    assert_string_equal(got.name, "hook");
    assert_string_equal(got.provider, "webhook");
    assert_string_equal(json_string_value(json_object_get(got.config, "url")), "http://x");
    assert_true(got.rate_per_second == 2.5);
    assert_int_equal(got.daily_limit, 100);
    st_sender_clear(&got);
    OK(st->v->sender_get(st, 0, s.id, &got, E)); /* ws 0: the engine sees every workspace */
    st_sender_clear(&got);
    assert_int_equal(st->v->sender_get(st, 2, s.id, &got, &e), DP_ENOTFOUND);

    got.id = s.id;
    got.ws = 1;
    got.name = (char *)"renamed";
    got.provider = (char *)"webhook";
    got.config = json_pack("{s:s}", "url", "http://y");
    got.active = 0;
    OK(st->v->sender_update(st, &got, E));
    json_decref(got.config);
    OK(st->v->sender_get(st, 1, s.id, &got, E));
    assert_string_equal(got.name, "renamed");
    assert_false(got.active);
    assert_string_equal(json_string_value(json_object_get(got.config, "url")), "http://y");
    st_sender_clear(&got);

    OK(st->v->sender_list(st, 1, collect_sender, &list, E));
    assert_int_equal(list.n, 3);
    assert_true(list.id[0] < list.id[1] && list.id[1] < list.id[2]);

    /* in_use: only campaigns that are not completed or cancelled count. */
    char spec[64];
    snprintf(spec, sizeof spec, "{\"sender_ids\": [1, %lld]}", (long long)s.id);
    int64_t c1 = add_campaign(st, 1, "c1", CS_COMPLETED, spec);
    OK(st->v->sender_in_use(st, 1, s.id, &in_use, E));
    assert_int_equal(in_use, 0);
    int64_t c2 = add_campaign(st, 1, "c2", CS_PAUSED, spec);
    OK(st->v->sender_in_use(st, 1, s.id, &in_use, E));
    assert_int_equal(in_use, 1);
    OK(st->v->sender_in_use(st, 1, dup.id, &in_use, E));
    assert_int_equal(in_use, 0);
    OK(st->v->sender_in_use(st, 2, s.id, &in_use, E));
    assert_int_equal(in_use, 0);
    (void)c1;
    struct st_campaign c;
    OK(st->v->campaign_get(st, 1, c2, &c, E));
    c.status = CS_CANCELLED;
    OK(st->v->campaign_update(st, &c, E));
    st_campaign_clear(&c);
    OK(st->v->sender_in_use(st, 1, s.id, &in_use, E));
    assert_int_equal(in_use, 0);

    /* Soft delete: gone from get and list, but the row stays for old messages. */
    OK(st->v->sender_delete(st, 1, s.id, E));
    assert_int_equal(st->v->sender_get(st, 1, s.id, &got, &e), DP_ENOTFOUND);
    assert_int_equal(st->v->sender_delete(st, 1, s.id, &e), DP_ENOTFOUND);
    assert_int_equal(st->v->sender_update(st, &s, &e), DP_ENOTFOUND);
    memset(&list, 0, sizeof list);
    OK(st->v->sender_list(st, 0, collect_sender, &list, E));
    assert_int_equal(list.n, 2);

    /* Daily-limit bookkeeping. */
    struct recips r = {0};
    OK(st->v->sender_recipient_touch(st, dup.id, "5511", 1000, E));
    OK(st->v->sender_recipient_touch(st, dup.id, "5522", 2000, E));
    OK(st->v->sender_recipient_touch(st, dup.id, "5511", 3000, E));
    OK(st->v->sender_recipient_touch(st, dup.id, "5522", 1500, E)); /* never backwards */
    OK(st->v->sender_recipients(st, dup.id, 1800, collect_recip, &r, E));
    assert_int_equal(r.n, 2);
    assert_string_equal(r.phone[0], "5522");
    assert_int_equal(r.at[0], 2000);
    assert_string_equal(r.phone[1], "5511");
    assert_int_equal(r.at[1], 3000);
    memset(&r, 0, sizeof r);
    OK(st->v->sender_recipients(st, dup.id, 2500, collect_recip, &r, E));
    assert_int_equal(r.n, 1);
    OK(st->v->commit(st, E));
}

static void test_contacts_lists(void **state)
{
    store *st = boot(state);
    dp_err e = {0};
    int64_t list = 0, other = 0, found = 0, a = 0, b = 0, c = 0, again = 0;
    int created = -1;
    struct members m = {0};
    struct list_seen seen = {0};

    OK(st->v->list_create(st, 1, "clientes", &list, E));
    assert_int_equal(st->v->list_create(st, 1, "clientes", &other, &e), DP_ECONFLICT);
    OK(st->v->list_create(st, 1, "outra", &other, E));
    OK(st->v->list_find(st, 1, "clientes", &found, E));
    assert_int_equal(found, list);
    assert_int_equal(st->v->list_find(st, 1, "nope", &found, &e), DP_ENOTFOUND);
    assert_int_equal(st->v->list_find(st, 2, "clientes", &found, &e), DP_ENOTFOUND);

    json_t *v1 = json_pack("{s:s, s:s}", "city", "SP", "plan", "gold");
    OK(st->v->contact_upsert(st, 1, "5511999990003", "Carla", v1, &c, &created, E));
    assert_int_equal(created, 1);
    OK(st->v->contact_upsert(st, 1, "5511999990001", "Ana", NULL, &a, &created, E));
    OK(st->v->contact_upsert(st, 1, "5511999990002", NULL, NULL, &b, &created, E));
    assert_int_equal(created, 1);
    json_decref(v1);

    /* Merge: new keys added, new values win, untouched keys stay; name kept on NULL. */
    json_t *v2 = json_pack("{s:s, s:s}", "plan", "silver", "age", "30");
    OK(st->v->contact_upsert(st, 1, "5511999990003", NULL, v2, &again, &created, E));
    assert_int_equal(created, 0);
    assert_int_equal(again, c);
    json_decref(v2);
    OK(st->v->contact_upsert(st, 1, "5511999990001", "Ana Maria", NULL, &again, &created, E));
    assert_int_equal(again, a);
    assert_int_equal(created, 0);
    json_t *bad = json_array();
    assert_int_equal(st->v->contact_upsert(st, 1, "5511", NULL, bad, &again, &created, &e),
                     DP_EINVAL);
    json_decref(bad);

    /* Members come back in insertion order, not by id; re-adding keeps the place. */
    OK(st->v->list_add(st, list, c, E));
    OK(st->v->list_add(st, list, a, E));
    OK(st->v->list_add(st, list, b, E));
    OK(st->v->list_add(st, list, c, E));
    assert_int_equal(st->v->list_add(st, 999, a, &e), DP_ENOTFOUND);
    assert_int_equal(st->v->list_add(st, list, 999, &e), DP_ENOTFOUND);

    OK(st->v->list_members(st, 1, list, 0, collect_member, &m, E));
    assert_int_equal(m.n, 3);
    assert_string_equal(m.phone[0], "5511999990003");
    assert_string_equal(m.phone[1], "5511999990001");
    assert_string_equal(m.phone[2], "5511999990002");
    assert_string_equal(m.name[1], "Ana Maria");
    assert_string_equal(m.name[2], "");
    json_t *merged = json_loads(m.vars[0], 0, NULL);
    assert_non_null(merged);
    assert_int_equal(json_object_size(merged), 3);
    assert_string_equal(json_string_value(json_object_get(merged, "city")), "SP");
    assert_string_equal(json_string_value(json_object_get(merged, "plan")), "silver");
    assert_string_equal(json_string_value(json_object_get(merged, "age")), "30");
    json_decref(merged);

    memset(&m, 0, sizeof m);
    OK(st->v->list_members(st, 1, list, 2, collect_member, &m, E));
    assert_int_equal(m.n, 2);
    assert_int_equal(st->v->list_members(st, 2, list, 0, collect_member, &m, &e), DP_ENOTFOUND);

    OK(st->v->list_get(st, 1, list, collect_list, &seen, E));
    assert_int_equal(seen.n, 1);
    assert_int_equal(seen.members, 3);
    assert_string_equal(seen.name, "clientes");
    assert_int_equal(st->v->list_get(st, 2, list, collect_list, &seen, &e), DP_ENOTFOUND);
    memset(&seen, 0, sizeof seen);
    OK(st->v->list_all(st, 1, collect_list, &seen, E));
    assert_int_equal(seen.n, 2);
    assert_int_equal(seen.id, other); /* by id: the last one seen is the newest */
    assert_int_equal(seen.members, 0);
    OK(st->v->commit(st, E));
}

struct cts {
    int64_t id[64];
    char phone[64][16];
    int n;
};

static int collect_contact(void *ud, const struct st_contact *c)
{
    struct cts *s = ud;
    if (s->n < 64) {
        s->id[s->n] = c->id;
        snprintf(s->phone[s->n], sizeof s->phone[0], "%s", c->phone);
    }
    s->n++;
    return 0;
}

struct hist {
    int64_t msg[8];
    char camp[8][16];
    int n;
};

static int collect_history(void *ud, const struct st_message *m, const char *campaign_name)
{
    struct hist *h = ud;
    if (h->n < 8) {
        h->msg[h->n] = m->id;
        snprintf(h->camp[h->n], sizeof h->camp[0], "%s", campaign_name);
    }
    h->n++;
    return 0;
}

static int64_t members_of(store *st, int64_t ws, int64_t list)
{
    struct list_seen seen = {0};
    OK(st->v->list_get(st, ws, list, collect_list, &seen, E));
    return seen.members;
}

/* Rename, delete, remove and pages: the member count stays exact whether
 * adds are still pending (batched per transaction) or committed. */
static void test_contacts_crud(void **state)
{
    store *st = boot(state);
    dp_err e = {0};
    int64_t ws2 = 0, l1 = 0, l2 = 0, id[20];
    int created = 0, removed = -1;
    char phone[32];

    OK(st->v->workspace_create(st, "two", &ws2, E));
    OK(st->v->list_create(st, 1, "a", &l1, E));
    OK(st->v->list_create(st, 1, "b", &l2, E));
    for (int i = 0; i < 20; i++) {
        snprintf(phone, sizeof phone, "55119%08d", i < 10 ? 12340000 + i : 55550000 + i);
        OK(st->v->contact_upsert(st, 1, phone, i % 2 ? "Maria Silva" : "JOAO", NULL, &id[i],
                                 &created, E));
        OK(st->v->list_add(st, l1, id[i], E));
    }
    OK(st->v->list_add(st, l2, id[0], E));

    /* remove with adds still pending, then after commit */
    OK(st->v->list_remove(st, l1, id[3], &removed, E));
    assert_int_equal(removed, 1);
    OK(st->v->list_remove(st, l1, id[3], &removed, E));
    assert_int_equal(removed, 0);
    assert_int_equal(members_of(st, 1, l1), 19);
    OK(st->v->commit(st, E));
    OK(st->v->list_remove(st, l1, id[4], &removed, E));
    OK(st->v->commit(st, E));
    assert_int_equal(members_of(st, 1, l1), 18);
    assert_int_equal(members_of(st, 1, l2), 1);

    /* pages by contact id, no overlap, another workspace sees nothing */
    struct cts p = {0};
    OK(st->v->list_members_page(st, 1, l1, 0, 10, collect_contact, &p, E));
    assert_int_equal(p.n, 10);
    int64_t last = p.id[9];
    for (int i = 1; i < 10; i++)
        assert_true(p.id[i] > p.id[i - 1]);
    memset(&p, 0, sizeof p);
    OK(st->v->list_members_page(st, 1, l1, last, 0, collect_contact, &p, E));
    assert_int_equal(p.n, 8);
    assert_true(p.id[0] > last);
    assert_int_equal(st->v->list_members_page(st, ws2, l1, 0, 0, collect_contact, &p, &e),
                     DP_ENOTFOUND);

    /* search: phone digits inside, names case-insensitively, pages by id */
    memset(&p, 0, sizeof p);
    OK(st->v->contact_search(st, 1, "5555", NULL, 0, 0, collect_contact, &p, E));
    assert_int_equal(p.n, 10);
    memset(&p, 0, sizeof p);
    OK(st->v->contact_search(st, 1, NULL, "silva", 0, 3, collect_contact, &p, E));
    assert_int_equal(p.n, 3);
    last = p.id[2];
    memset(&p, 0, sizeof p);
    OK(st->v->contact_search(st, 1, NULL, "silva", last, 0, collect_contact, &p, E));
    assert_int_equal(p.n, 7);
    memset(&p, 0, sizeof p);
    OK(st->v->contact_search(st, 1, NULL, NULL, 0, 0, collect_contact, &p, E));
    assert_int_equal(p.n, 20);
    memset(&p, 0, sizeof p);
    OK(st->v->contact_search(st, ws2, NULL, NULL, 0, 0, collect_contact, &p, E));
    assert_int_equal(p.n, 0);

    /* get by id and by phone, and the contact's lists */
    memset(&p, 0, sizeof p);
    OK(st->v->contact_get(st, 1, id[0], NULL, collect_contact, &p, E));
    OK(st->v->contact_get(st, 1, 0, p.phone[0], collect_contact, &p, E));
    assert_int_equal(p.n, 2);
    assert_int_equal(p.id[1], id[0]);
    assert_int_equal(st->v->contact_get(st, ws2, id[0], NULL, collect_contact, &p, &e),
                     DP_ENOTFOUND);
    struct list_seen seen = {0};
    OK(st->v->contact_lists(st, 1, id[0], collect_list, &seen, E));
    assert_int_equal(seen.n, 2);
    memset(&seen, 0, sizeof seen);
    OK(st->v->contact_lists(st, ws2, id[0], collect_list, &seen, E));
    assert_int_equal(seen.n, 0);

    /* history: newest first, pages by message id, the workspace's campaigns only */
    int64_t c1 = add_campaign(st, 1, "um", CS_COMPLETED, "{}");
    int64_t c2 = add_campaign(st, 1, "dois", CS_RUNNING, "{}");
    int64_t cx = add_campaign(st, ws2, "alheia", CS_RUNNING, "{}");
    int64_t m1 = add_message(st, c1, p.phone[0], MS_SENT);
    (void)add_message(st, c1, "5511999990099", MS_SENT);
    (void)add_message(st, cx, p.phone[0], MS_SENT);
    int64_t m2 = add_message(st, c2, p.phone[0], MS_QUEUED);
    struct hist h = {0};
    OK(st->v->contact_history(st, 1, p.phone[0], 0, 0, collect_history, &h, E));
    assert_int_equal(h.n, 2);
    assert_int_equal(h.msg[0], m2);
    assert_string_equal(h.camp[0], "dois");
    assert_int_equal(h.msg[1], m1);
    memset(&h, 0, sizeof h);
    OK(st->v->contact_history(st, 1, p.phone[0], m2, 1, collect_history, &h, E));
    assert_int_equal(h.n, 1);
    assert_int_equal(h.msg[0], m1);

    /* rename: conflict, other workspace, success */
    assert_int_equal(st->v->list_rename(st, 1, l1, "b", &e), DP_ECONFLICT);
    assert_int_equal(st->v->list_rename(st, ws2, l1, "z", &e), DP_ENOTFOUND);
    OK(st->v->list_rename(st, 1, l1, "clientes", E));
    int64_t found = 0;
    OK(st->v->list_find(st, 1, "clientes", &found, E));
    assert_int_equal(found, l1);

    /* delete a contact: off both lists, counts follow */
    assert_int_equal(st->v->contact_delete(st, ws2, id[0], &e), DP_ENOTFOUND);
    OK(st->v->contact_delete(st, 1, id[0], E));
    assert_int_equal(members_of(st, 1, l1), 17);
    assert_int_equal(members_of(st, 1, l2), 0);

    /* delete a list with adds pending on it; the other keeps its count */
    OK(st->v->list_add(st, l2, id[1], E));
    OK(st->v->list_add(st, l1, id[3], E));
    assert_int_equal(st->v->list_delete(st, ws2, l1, &e), DP_ENOTFOUND);
    OK(st->v->list_delete(st, 1, l1, E));
    OK(st->v->commit(st, E));
    assert_int_equal(st->v->list_get(st, 1, l1, collect_list, &seen, &e), DP_ENOTFOUND);
    assert_int_equal(members_of(st, 1, l2), 1);
    memset(&p, 0, sizeof p);
    OK(st->v->contact_search(st, 1, NULL, NULL, 0, 0, collect_contact, &p, E));
    assert_int_equal(p.n, 19); /* contacts stay */
}

static void test_campaigns(void **state)
{
    store *st = boot(state);
    dp_err e = {0};
    struct st_campaign c = {0};
    struct ids got = {0};

    int64_t id1 = add_campaign(st, 1, "first", CS_DRAFT,
                               "{\"sender_ids\":[1],\"message\":{\"text\":\"oi\"}}");
    int64_t id2 = add_campaign(st, 1, "second", CS_RUNNING, "{\"sender_ids\":[1]}");
    int64_t id3 = add_campaign(st, 1, "third", CS_DRAFT, "{}");

    OK(st->v->campaign_get(st, 1, id1, &c, E));
    assert_string_equal(c.name, "first");
    assert_int_equal(c.status, CS_DRAFT);
    assert_null(c.state_reason);
    assert_true(c.created_at > 0);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(c.spec, "message"), "text")), "oi");
    for (int i = 0; i < MS__COUNT; i++)
        assert_int_equal(c.counts[i], 0);
    assert_int_equal(c.total, 0);

    c.name = (free(c.name), strdup("renamed"));
    c.status = CS_RUNNING;
    c.state_reason = strdup("outside_window");
    c.start_at = 11;
    c.started_at = 12;
    c.next_send_at = 13;
    c.sends_since_rest = 4;
    c.rest_until = 15;
    c.counts[MS_SENT] = 999; /* campaign_update does not write counts */
    OK(st->v->campaign_update(st, &c, E));
    st_campaign_clear(&c);
    OK(st->v->campaign_get(st, 0, id1, &c, E));
    assert_string_equal(c.name, "renamed");
    assert_string_equal(c.state_reason, "outside_window");
    assert_int_equal(c.status, CS_RUNNING);
    assert_int_equal(c.start_at, 11);
    assert_int_equal(c.started_at, 12);
    assert_int_equal(c.next_send_at, 13);
    assert_int_equal(c.sends_since_rest, 4);
    assert_int_equal(c.rest_until, 15);
    assert_int_equal(c.counts[MS_SENT], 0);
    st_campaign_clear(&c);
    assert_int_equal(st->v->campaign_get(st, 2, id1, &c, &e), DP_ENOTFOUND);
    assert_int_equal(st->v->campaign_get(st, 1, 12345, &c, &e), DP_ENOTFOUND);

    OK(st->v->campaign_list(st, 1, -1, collect_camp, &got, E));
    assert_int_equal(got.n, 3);
    assert_int_equal(got.id[0], id3); /* newest first */
    assert_int_equal(got.id[2], id1);
    memset(&got, 0, sizeof got);
    OK(st->v->campaign_list(st, 0, CS_RUNNING, collect_camp, &got, E));
    assert_int_equal(got.n, 2);
    assert_int_equal(got.id[0], id2);
    assert_int_equal(got.id[1], id1);
    memset(&got, 0, sizeof got);
    OK(st->v->campaign_list(st, 2, -1, collect_camp, &got, E));
    assert_int_equal(got.n, 0);

    /* Count deltas accumulate, total follows, reads see the open transaction. */
    int64_t d[MS__COUNT] = {0};
    d[MS_QUEUED] = 10;
    d[MS_SKIPPED] = 2;
    OK(st->v->campaign_counts_add(st, id2, d, E));
    memset(d, 0, sizeof d);
    d[MS_QUEUED] = -3;
    d[MS_SENDING] = 3;
    OK(st->v->campaign_counts_add(st, id2, d, E));
    OK(st->v->campaign_get(st, 1, id2, &c, E));
    assert_int_equal(c.counts[MS_QUEUED], 7);
    assert_int_equal(c.counts[MS_SENDING], 3);
    assert_int_equal(c.counts[MS_SKIPPED], 2);
    assert_int_equal(c.total, 12);
    st_campaign_clear(&c);
    assert_int_equal(st->v->campaign_counts_add(st, 12345, d, &e), DP_ENOTFOUND);
    c.id = 12345;
    c.name = (char *)"x";
    assert_int_equal(st->v->campaign_update(st, &c, &e), DP_ENOTFOUND);
    OK(st->v->commit(st, E));
}

static void test_messages(void **state)
{
    store *st = boot(state);
    dp_err e = {0};
    int64_t camp = add_campaign(st, 1, "m", CS_RUNNING, "{}");
    int64_t id[10];
    struct ids got = {0};

    for (int i = 0; i < 10; i++) {
        char phone[32];
        snprintf(phone, sizeof phone, "55119999900%02d", i);
        id[i] = add_message(st, camp, phone, i == 4 ? MS_SKIPPED : MS_QUEUED);
    }
    /* Duplicate phones are allowed: they are stored as skipped rows. */
    int64_t dupe = add_message(st, camp, "5511999990000", MS_SKIPPED);
    assert_int_equal(st->v->message_insert(
                         st, &(struct st_message){.campaign_id = 777, .phone = (char *)"1"}, &e),
                     DP_ENOTFOUND);

    OK(st->v->message_queued(st, camp, 0, 3, collect_msg, &got, E));
    assert_int_equal(got.n, 3);
    assert_int_equal(got.id[0], id[0]);
    assert_int_equal(got.id[2], id[2]);
    memset(&got, 0, sizeof got);
    OK(st->v->message_queued(st, camp, id[2], 0, collect_msg, &got, E));
    assert_int_equal(got.n, 6); /* 3..9 without the skipped 4 */
    assert_int_equal(got.id[0], id[3]);
    assert_int_equal(got.id[1], id[5]);

    /* Mark two as sending, one sent with every field. */
    struct st_message m = {.id = id[0],
                           .campaign_id = camp,
                           .phone = (char *)"x",
                           .status = MS_SENDING,
                           .attempts = 1,
                           .sender_id = 1,
                           .queued_at = 100};
    OK(st->v->message_update(st, &m, E));
    m.id = id[1];
    OK(st->v->message_update(st, &m, E));
    m.status = MS_SENT;
    m.provider_id = (char *)"sbx-1";
    m.sent_at = 200;
    OK(st->v->message_update(st, &m, E));
    m.id = 99999;
    assert_int_equal(st->v->message_update(st, &m, &e), DP_ENOTFOUND);

    memset(&got, 0, sizeof got);
    OK(st->v->message_queued(st, camp, 0, 0, collect_msg, &got, E));
    assert_int_equal(got.n, 7);
    assert_int_equal(got.id[0], id[2]);

    /* message_list: all, by status, paginated with after_id. */
    memset(&got, 0, sizeof got);
    OK(st->v->message_list(st, camp, -1, 0, 0, collect_msg, &got, E));
    assert_int_equal(got.n, 11);
    assert_int_equal(got.id[10], dupe);
    assert_int_equal(got.status[1], MS_SENT);
    memset(&got, 0, sizeof got);
    OK(st->v->message_list(st, camp, -1, id[3], 4, collect_msg, &got, E));
    assert_int_equal(got.n, 4);
    assert_int_equal(got.id[0], id[4]);
    assert_int_equal(got.id[3], id[7]);
    memset(&got, 0, sizeof got);
    OK(st->v->message_list(st, camp, MS_SKIPPED, 0, 1, collect_msg, &got, E));
    assert_int_equal(got.n, 1);
    assert_int_equal(got.id[0], id[4]);
    int64_t cursor = got.id[0];
    memset(&got, 0, sizeof got);
    OK(st->v->message_list(st, camp, MS_SKIPPED, cursor, 1, collect_msg, &got, E));
    assert_int_equal(got.n, 1);
    assert_int_equal(got.id[0], dupe);
    cursor = got.id[0];
    memset(&got, 0, sizeof got);
    OK(st->v->message_list(st, camp, MS_SKIPPED, cursor, 1, collect_msg, &got, E));
    assert_int_equal(got.n, 0);
    memset(&got, 0, sizeof got);
    OK(st->v->message_list(st, camp, MS_SENDING, 0, 100, collect_msg, &got, E));
    assert_int_equal(got.n, 1);
    assert_int_equal(got.id[0], id[0]);

    /* A callback's nonzero answer stops the walk and is returned. */
    memset(&got, 0, sizeof got);
    got.stop_at = 2;
    assert_int_equal(st->v->message_list(st, camp, -1, 0, 0, collect_msg, &got, &e), 7);
    assert_int_equal(got.n, 2);
    OK(st->v->commit(st, E));
}

struct reenter {
    store *st;
    int64_t camp;
    int inner_rc;
};

static int reenter_cb(void *ud, const struct st_message *m)
{
    struct reenter *r = ud;
    struct ids got = {0};
    dp_err e = {0};
    (void)m;
    r->inner_rc = r->st->v->message_list(r->st, r->camp, -1, 0, 0, collect_msg, &got, &e);
    return 1;
}

static void test_reentrant_callback(void **state)
{
    store *st = boot(state);
    dp_err e = {0};
    int64_t camp = add_campaign(st, 1, "r", CS_RUNNING, "{}");
    (void)add_message(st, camp, "1", MS_QUEUED);
    (void)add_message(st, camp, "2", MS_QUEUED);
    struct reenter r = {.st = st, .camp = camp};
    assert_int_equal(st->v->message_list(st, camp, -1, 0, 0, reenter_cb, &r, &e), 1);
    assert_int_equal(r.inner_rc, DP_EINTERNAL);
    /* The outer statement was reset: the store still works. */
    struct ids got = {0};
    OK(st->v->message_list(st, camp, -1, 0, 0, collect_msg, &got, E));
    assert_int_equal(got.n, 2);
}

struct msg_copy {
    int status;
    int64_t sent_at, delivered_at, read_at, failed_at;
    char error_code[32];
};

static int copy_one(void *ud, const struct st_message *m)
{
    struct msg_copy *c = ud;
    c->status = m->status;
    c->sent_at = m->sent_at;
    c->delivered_at = m->delivered_at;
    c->read_at = m->read_at;
    c->failed_at = m->failed_at;
    snprintf(c->error_code, sizeof c->error_code, "%s", m->error_code ? m->error_code : "");
    return 1;
}

static struct msg_copy fetch(store *st, int64_t camp, int64_t id)
{
    struct msg_copy c = {0};
    dp_err e = {0};
    assert_int_equal(st->v->message_list(st, camp, -1, id - 1, 1, copy_one, &c, &e), 1);
    return c;
}

static void set_sent(store *st, int64_t camp, int64_t id, int status, const char *pid)
{
    struct st_message m = {.id = id,
                           .campaign_id = camp,
                           .phone = (char *)"x",
                           .status = status,
                           .attempts = 1,
                           .sender_id = 1,
                           .provider_id = (char *)pid,
                           .queued_at = 100,
                           .sent_at = status == MS_SENT ? 200 : 0};
    OK(st->v->message_update(st, &m, E));
}

static void test_receipts(void **state)
{
    store *st = boot(state);
    dp_err e = {0};
    int64_t camp = add_campaign(st, 1, "r", CS_RUNNING, "{}");
    int64_t a = add_message(st, camp, "1", MS_QUEUED);
    int64_t b = add_message(st, camp, "2", MS_QUEUED);
    int64_t c = add_message(st, camp, "3", MS_QUEUED);
    int64_t d = add_message(st, camp, "4", MS_QUEUED);
    int64_t cid = 0;
    int old = -1, changed = -1;
    struct msg_copy got;

    set_sent(st, camp, a, MS_SENT, "p-a");
    set_sent(st, camp, b, MS_SENDING, "p-b");
    set_sent(st, camp, c, MS_UNKNOWN, "p-c");
    set_sent(st, camp, d, MS_SENT, "p-d");

    /* sent -> delivered, then the same receipt again changes nothing. */
    OK(st->v->message_receipt(st, 1, "p-a", MS_DELIVERED, 300, NULL, NULL, &cid, &old, &changed,
                              E));
    assert_int_equal(cid, camp);
    assert_int_equal(old, MS_SENT);
    assert_int_equal(changed, 1);
    OK(st->v->message_receipt(st, 1, "p-a", MS_DELIVERED, 310, NULL, NULL, &cid, &old, &changed,
                              E));
    assert_int_equal(old, MS_DELIVERED);
    assert_int_equal(changed, 0);
    got = fetch(st, camp, a);
    assert_int_equal(got.status, MS_DELIVERED);
    assert_int_equal(got.sent_at, 200);
    assert_int_equal(got.delivered_at, 300);

    /* read, then a late delivered, a sent and a failed: all ignored. */
    OK(st->v->message_receipt(st, 1, "p-a", MS_READ, 400, NULL, NULL, &cid, &old, &changed, E));
    assert_int_equal(changed, 1);
    OK(st->v->message_receipt(st, 1, "p-a", MS_DELIVERED, 450, NULL, NULL, &cid, &old, &changed,
                              E));
    assert_int_equal(changed, 0);
    assert_int_equal(old, MS_READ);
    OK(st->v->message_receipt(st, 1, "p-a", MS_SENT, 450, NULL, NULL, &cid, &old, &changed, E));
    assert_int_equal(changed, 0);
    OK(st->v->message_receipt(st, 1, "p-a", MS_FAILED, 450, "x", "y", &cid, &old, &changed, E));
    assert_int_equal(changed, 0);
    got = fetch(st, camp, a);
    assert_int_equal(got.status, MS_READ);
    assert_int_equal(got.delivered_at, 300);
    assert_int_equal(got.read_at, 400);
    assert_int_equal(got.failed_at, 0);

    /* sending -> read fills the earlier stages' times. */
    OK(st->v->message_receipt(st, 1, "p-b", MS_READ, 500, NULL, NULL, &cid, &old, &changed, E));
    assert_int_equal(old, MS_SENDING);
    assert_int_equal(changed, 1);
    got = fetch(st, camp, b);
    assert_int_equal(got.status, MS_READ);
    assert_int_equal(got.sent_at, 500);
    assert_int_equal(got.delivered_at, 500);
    assert_int_equal(got.read_at, 500);

    /* unknown -> delivered: the receipt proves it was sent. */
    OK(st->v->message_receipt(st, 1, "p-c", MS_DELIVERED, 600, NULL, NULL, &cid, &old, &changed,
                              E));
    assert_int_equal(old, MS_UNKNOWN);
    assert_int_equal(changed, 1);
    got = fetch(st, camp, c);
    assert_int_equal(got.status, MS_DELIVERED);
    assert_int_equal(got.sent_at, 600);
    assert_int_equal(got.delivered_at, 600);

    /* sent -> failed (the gateway gave up after accepting), then final. */
    OK(st->v->message_receipt(st, 1, "p-d", MS_FAILED, 700, "131026", "undeliverable", &cid, &old,
                              &changed, E));
    assert_int_equal(changed, 1);
    got = fetch(st, camp, d);
    assert_int_equal(got.status, MS_FAILED);
    assert_int_equal(got.failed_at, 700);
    assert_string_equal(got.error_code, "131026");
    OK(st->v->message_receipt(st, 1, "p-d", MS_DELIVERED, 800, NULL, NULL, &cid, &old, &changed,
                              E));
    assert_int_equal(changed, 0);
    assert_int_equal(old, MS_FAILED);

    /* The provider id belongs to a sender. */
    assert_int_equal(
        st->v->message_receipt(st, 2, "p-a", MS_READ, 1, NULL, NULL, &cid, &old, &changed, &e),
        DP_ENOTFOUND);
    assert_int_equal(
        st->v->message_receipt(st, 1, "p-zzz", MS_READ, 1, NULL, NULL, &cid, &old, &changed, &e),
        DP_ENOTFOUND);
    assert_int_equal(
        st->v->message_receipt(st, 1, "p-a", MS_QUEUED, 1, NULL, NULL, &cid, &old, &changed, &e),
        DP_EINVAL);
    OK(st->v->commit(st, E));
}

static void test_recover(void **state)
{
    store *st = boot(state);
    int64_t c1 = add_campaign(st, 1, "c1", CS_RUNNING, "{}");
    int64_t c2 = add_campaign(st, 1, "c2", CS_RUNNING, "{}");
    int64_t d[MS__COUNT] = {0};
    int64_t n = -1;
    struct st_campaign c;
    struct ids got = {0};

    for (int i = 0; i < 4; i++) {
        char phone[16];
        snprintf(phone, sizeof phone, "%d", i);
        int64_t m1 = add_message(st, c1, phone, MS_QUEUED);
        int64_t m2 = add_message(st, c2, phone, MS_QUEUED);
        if (i < 3) {
            set_sent(st, c1, m1, MS_SENDING, NULL);
            set_sent(st, c2, m2, MS_SENDING, NULL);
        }
    }
    d[MS_QUEUED] = 1;
    d[MS_SENDING] = 3;
    OK(st->v->campaign_counts_add(st, c1, d, E));
    OK(st->v->campaign_counts_add(st, c2, d, E));
    OK(st->v->commit(st, E));

    OK(st->v->message_recover(st, c1, 0, &n, E));
    assert_int_equal(n, 3);
    OK(st->v->message_recover(st, c2, 1, &n, E));
    assert_int_equal(n, 3);
    OK(st->v->commit(st, E));

    OK(st->v->campaign_get(st, 1, c1, &c, E));
    assert_int_equal(c.counts[MS_SENDING], 0);
    assert_int_equal(c.counts[MS_UNKNOWN], 3);
    assert_int_equal(c.counts[MS_QUEUED], 1);
    assert_int_equal(c.total, 4);
    st_campaign_clear(&c);
    OK(st->v->message_list(st, c1, MS_UNKNOWN, 0, 0, collect_msg, &got, E));
    assert_int_equal(got.n, 3);

    OK(st->v->campaign_get(st, 1, c2, &c, E));
    assert_int_equal(c.counts[MS_SENDING], 0);
    assert_int_equal(c.counts[MS_QUEUED], 4);
    assert_int_equal(c.counts[MS_UNKNOWN], 0);
    st_campaign_clear(&c);
    memset(&got, 0, sizeof got);
    OK(st->v->message_queued(st, c2, 0, 0, collect_msg, &got, E));
    assert_int_equal(got.n, 4);

    /* Nothing left to recover: no change, no transaction opened. */
    OK(st->v->message_recover(st, c1, 0, &n, E));
    assert_int_equal(n, 0);
    OK(st->v->commit(st, E));
}

struct recover_all {
    store *st;
    int64_t n;
    int seen;
};

/* The engine's start-up walk: recovering and committing from inside the
 * campaign_list callback, i.e. writing while a read statement is open. */
static int recover_cb(void *ud, const struct st_campaign *c)
{
    struct recover_all *r = ud;
    int64_t n = 0;
    OK(r->st->v->message_recover(r->st, c->id, 0, &n, E));
    OK(r->st->v->event_add(r->st, c->id, 1, "recovered", NULL, E));
    OK(r->st->v->commit(r->st, E));
    r->n += n;
    r->seen++;
    return 0;
}

static void test_recover_from_callback(void **state)
{
    store *st = boot(state);
    struct recover_all r = {.st = st};
    int64_t d[MS__COUNT] = {0};
    d[MS_SENDING] = 1;
    for (int i = 0; i < 3; i++) {
        int64_t c = add_campaign(st, 1, "c", CS_RUNNING, "{}");
        int64_t m = add_message(st, c, "1", MS_QUEUED);
        set_sent(st, c, m, MS_SENDING, NULL);
        OK(st->v->campaign_counts_add(st, c, d, E));
    }
    OK(st->v->commit(st, E));
    OK(st->v->campaign_list(st, 0, CS_RUNNING, recover_cb, &r, E));
    assert_int_equal(r.seen, 3);
    assert_int_equal(r.n, 3);
    assert_false(st->v->in_transaction(st));
}

static void test_events(void **state)
{
    store *st = boot(state);
    dp_err e = {0};
    int64_t camp = add_campaign(st, 1, "e", CS_RUNNING, "{}");
    struct ids got = {0};

    json_t *det = json_pack("{s:s}", "reason", "outside_window");
    OK(st->v->event_add(st, camp, 10, "created", NULL, E));
    OK(st->v->event_add(st, camp, 5, "waiting", det, E)); /* older time, newer event */
    OK(st->v->event_add(st, camp, 30, "started", NULL, E));
    json_decref(det);
    assert_int_equal(st->v->event_add(st, 4242, 1, "x", NULL, &e), DP_ENOTFOUND);

    OK(st->v->event_list(st, camp, 0, collect_event, &got, E));
    assert_int_equal(got.n, 3);
    assert_int_equal(got.id[0], 30); /* newest first by id, not by time */
    assert_int_equal(got.id[1], 5);
    assert_int_equal(got.id[2], 10);
    memset(&got, 0, sizeof got);
    OK(st->v->event_list(st, camp, 2, collect_event, &got, E));
    assert_int_equal(got.n, 2);
    OK(st->v->commit(st, E));
}

static void test_rollback(void **state)
{
    store *st = boot(state);
    dp_err e = {0};
    int64_t list = 0;

    assert_false(st->v->in_transaction(st));
    OK(st->v->list_create(st, 1, "temp", &list, E));
    assert_true(st->v->in_transaction(st));
    OK(st->v->list_find(st, 1, "temp", &list, E)); /* reads see the open transaction */
    st->v->rollback(st);
    assert_false(st->v->in_transaction(st));
    assert_int_equal(st->v->list_find(st, 1, "temp", &list, &e), DP_ENOTFOUND);
    st->v->rollback(st); /* nothing open: harmless */

    /* A failed statement inside a batch leaves the batch's earlier writes alone. */
    OK(st->v->list_create(st, 1, "kept", &list, E));
    assert_int_equal(st->v->list_create(st, 1, "kept", &list, &e), DP_ECONFLICT);
    assert_true(st->v->in_transaction(st));
    OK(st->v->commit(st, E));
    OK(st->v->list_find(st, 1, "kept", &list, E));
}

static void test_reopen(void **state)
{
    struct fx *f = *state;
    store *st = boot(state);
    dp_err e = {0};
    int64_t camp = add_campaign(st, 1, "durable", CS_RUNNING, "{\"sender_ids\":[1]}");
    int64_t msg = add_message(st, camp, "5511", MS_QUEUED);
    int64_t list = 0;
    int created = -1;
    OK(st->v->commit(st, E));

    set_sent(st, camp, msg, MS_SENDING, NULL);
    OK(st->v->list_create(st, 1, "lost", &list, E));
    assert_true(st->v->in_transaction(st));
    st->v->close(st);
    f->st = NULL;

    OK(store_sqlite_open(f->tmp.path, &f->st, E));
    st = f->st;
    OK(st->v->bootstrap(st, "adminhash", &created, E));
    assert_int_equal(created, 0);
    struct st_campaign c;
    OK(st->v->campaign_get(st, 1, camp, &c, E));
    assert_string_equal(c.name, "durable");
    st_campaign_clear(&c);
    struct msg_copy got = fetch(st, camp, msg);
    assert_int_equal(got.status, MS_QUEUED); /* the uncommitted `sending` is gone */
    assert_int_equal(st->v->list_find(st, 1, "lost", &list, &e), DP_ENOTFOUND);
}

static void test_open_errors(void **state)
{
    store *st = (store *)0x1;
    dp_err e = {0};
    (void)state;
    assert_int_equal(store_sqlite_open("", &st, &e), DP_EINVAL);
    assert_null(st);
    assert_int_not_equal(store_sqlite_open("/proc/nope/x.db", &st, &e), DP_OK);
    assert_null(st);
    assert_true(e.msg[0] != '\0');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_names),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test_setup_teardown(test_bootstrap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tokens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_senders, setup, teardown),
        cmocka_unit_test_setup_teardown(test_contacts_lists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_contacts_crud, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_names_nocase, setup, teardown),
        cmocka_unit_test_setup_teardown(test_campaigns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_messages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reentrant_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_receipts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recover, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recover_from_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
    };
    return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
