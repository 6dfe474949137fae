/* Unit tests for restriction lists, entries, the purge and keyword rules in
 * the SQLite store (the functions behind /restriction-lists and
 * /keyword-rules). Each test gets a fresh database in a temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/store.h"
#include "support/tmpstore.h"
#include "util/phonenum.h"

#define DAY_MS 86400000LL

struct fx {
    struct tmpstore tmp;
    store *st;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    int created = 0;
    int64_t ws2 = 0;
    assert_non_null(f);
    f->st = tmpstore_open(&f->tmp, "restrict", NULL);
    /* workspace 1 with sandbox sender 1; workspace 2 with sender 2 */
    OK(f->st->v->bootstrap(f->st, "adminhash", &created, E));
    OK(f->st->v->workspace_create(f->st, "other", &ws2, E));
    OK(f->st->v->commit(f->st, E));
    assert_int_equal(ws2, 2);
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

struct names {
    char name[16][RLIST_NAME_MAX + 1];
    int builtin[16];
    int64_t entries[16];
    size_t n;
};

static int names_cb(void *ud, const struct st_rlist *l)
{
    struct names *n = ud;
    if (n->n < 16) {
        snprintf(n->name[n->n], sizeof n->name[0], "%s", l->name);
        n->builtin[n->n] = l->builtin;
        n->entries[n->n] = l->entries;
        n->n++;
    }
    return 0;
}

/* The list the store says restricts phone (alt may be NULL) for sender at now. */
static const char *check(store *st, int64_t ws, const char *phone, const char *alt, int64_t sender,
                         int64_t now)
{
    static char list[RLIST_NAME_MAX + 1];
    OK(st->v->restriction_check(st, ws, phone, alt, sender, now, list, sizeof list, E));
    return list;
}

static int count_cb(void *ud, const struct st_rentry *r)
{
    (void)r;
    (*(int64_t *)ud)++;
    return 0;
}

static int64_t count_entries(store *st, int64_t ws, int64_t list_id, int64_t now, int expired)
{
    int64_t n = 0;
    struct st_rentry_filter f = {
        .list_id = list_id, .sender_id = -1, .now = now, .include_expired = expired};
    OK(st->v->restriction_entries(st, ws, &f, count_cb, &n, E));
    return n;
}

static void test_lists_crud(void **state)
{
    struct fx *fx = *state;
    store *st = fx->st;
    struct names n = {0};
    struct st_rlist l;
    int64_t id = 0, id2 = 0, gone = 0;
    dp_err e = {0};

    OK(st->v->rlist_all(st, 1, 1000, names_cb, &n, E));
    assert_int_equal(n.n, 4);
    for (size_t i = 0; i < 4; i++)
        assert_true(n.builtin[i]);
    assert_string_equal(n.name[0], "do_not_disturb");

    OK(st->v->rlist_create(st, 1, "vip", 2, &id, E));
    assert_int_equal(st->v->rlist_create(st, 1, "vip", 0, &id2, &e), DP_ECONFLICT);
    assert_int_equal(st->v->rlist_create(st, 1, "blocked", 0, &id2, &e), DP_ECONFLICT);
    /* the same name in another workspace is another list */
    OK(st->v->rlist_create(st, 2, "vip", 0, &id2, E));
    assert_int_not_equal(id, id2);
    assert_int_equal(st->v->rlist_get(st, 2, id, NULL, 1000, &l, &e), DP_ENOTFOUND);

    OK(st->v->rlist_update(st, 1, id, "vip2", 5, E));
    OK(st->v->rlist_get(st, 1, 0, "vip2", 1000, &l, E));
    assert_int_equal(l.id, id);
    assert_int_equal(l.retention_days, 5);
    assert_false(l.builtin);
    OK(st->v->rlist_update(st, 1, id, NULL, -1, E)); /* nothing changes */
    OK(st->v->rlist_get(st, 1, id, NULL, 1000, &l, E));
    assert_string_equal(l.name, "vip2");
    assert_int_equal(l.retention_days, 5);

    OK(st->v->rlist_get(st, 1, 0, "blocked", 1000, &l, E));
    assert_true(l.builtin);
    assert_int_equal(l.retention_days, 365);
    assert_int_equal(st->v->rlist_update(st, 1, l.id, "x", -1, &e), DP_EINVAL);
    assert_int_equal(st->v->rlist_delete(st, 1, l.id, &gone, &e), DP_EINVAL);
    assert_int_equal(st->v->rlist_update(st, 1, id, "blocked", -1, &e), DP_ECONFLICT);

    OK(st->v->restriction_put(st, 1, id, "5511987650001", 0, NULL, "manual", 1000, -1, NULL, E));
    OK(st->v->restriction_put(st, 1, id, "5511987650002", 0, NULL, "manual", 1000, -1, NULL, E));
    /* a keyword rule on the list holds it, and follows a rename */
    int64_t rule = 0;
    OK(st->v->kwrule_add(st, 1, "CHEGA", "exact", 0, "vip2", &rule, E));
    assert_int_equal(st->v->rlist_delete(st, 1, id, &gone, &e), DP_ECONFLICT);
    OK(st->v->rlist_update(st, 1, id, "vip3", -1, E));
    OK(st->v->kwrule_delete(st, 1, rule, E));
    OK(st->v->rlist_delete(st, 1, id, &gone, E));
    assert_int_equal(gone, 2);
    assert_int_equal(st->v->rlist_get(st, 1, id, NULL, 1000, &l, &e), DP_ENOTFOUND);
    assert_int_equal(count_entries(st, 1, 0, 1000, 1), 0);
    OK(st->v->commit(st, E));
}

static void test_retention_and_expiry_edges(void **state)
{
    struct fx *fx = *state;
    store *st = fx->st;
    struct st_rlist l;
    int64_t id = 0, T0 = 1700000000000LL;
    int created = -1;
    const char *P = "5511987650001";

    OK(st->v->rlist_create(st, 1, "curta", 1, &id, E));
    OK(st->v->restriction_put(st, 1, id, P, 0, "r", "manual", T0, -1, &created, E));
    assert_int_equal(created, 1);
    int64_t T = T0 + DAY_MS; /* retention applied when added */
    assert_string_equal(check(st, 1, P, NULL, 1, T0), "curta");
    assert_string_equal(check(st, 1, P, NULL, 1, T - 1), "curta");
    assert_string_equal(check(st, 1, P, NULL, 1, T), "");
    OK(st->v->rlist_get(st, 1, id, NULL, T - 1, &l, E));
    assert_int_equal(l.entries, 1);
    OK(st->v->rlist_get(st, 1, id, NULL, T, &l, E));
    assert_int_equal(l.entries, 0);
    assert_int_equal(count_entries(st, 1, id, T, 0), 0);
    assert_int_equal(count_entries(st, 1, id, T, 1), 1);

    /* a new retention is for entries added later: this one keeps T */
    OK(st->v->rlist_update(st, 1, id, NULL, 30, E));
    assert_string_equal(check(st, 1, P, NULL, 1, T), "");
    /* a repeat refreshes it, now with 30 days */
    OK(st->v->restriction_put(st, 1, id, P, 0, "r", "manual", T0, -1, &created, E));
    assert_int_equal(created, 0);
    assert_string_equal(check(st, 1, P, NULL, 1, T0 + 30 * DAY_MS - 1), "curta");
    assert_string_equal(check(st, 1, P, NULL, 1, T0 + 30 * DAY_MS), "");
    /* explicit expiry and "never" */
    OK(st->v->restriction_put(st, 1, id, P, 0, NULL, "manual", T0, T0 + 5, NULL, E));
    assert_string_equal(check(st, 1, P, NULL, 1, T0 + 4), "curta");
    assert_string_equal(check(st, 1, P, NULL, 1, T0 + 5), "");
    OK(st->v->restriction_put(st, 1, id, P, 0, NULL, "manual", T0, 0, NULL, E));
    assert_string_equal(check(st, 1, P, NULL, 1, T0 + 1000 * DAY_MS), "curta");
    /* a permanent built-in */
    OK(st->v->rlist_get(st, 1, 0, "not_interested", T0, &l, E));
    OK(st->v->restriction_put(st, 1, l.id, "5511987650009", 0, NULL, "manual", T0, -1, NULL, E));
    assert_string_equal(check(st, 1, "5511987650009", NULL, 1, T0 + 7 * DAY_MS - 1),
                        "not_interested");
    assert_string_equal(check(st, 1, "5511987650009", NULL, 1, T0 + 7 * DAY_MS), "");
    /* another workspace never sees them */
    assert_string_equal(check(st, 2, P, NULL, 2, T0), "");
}

static void test_per_sender_and_global(void **state)
{
    struct fx *fx = *state;
    store *st = fx->st;
    int64_t id = 0, n = 0;
    const char *P = "5511987650001", *Q = "5511987650002";
    OK(st->v->rlist_create(st, 1, "por-sender", 0, &id, E));
    OK(st->v->restriction_put(st, 1, id, P, 7, NULL, "manual", 1000, -1, NULL, E));
    assert_string_equal(check(st, 1, P, NULL, 7, 2000), "por-sender");
    assert_string_equal(check(st, 1, P, NULL, 8, 2000), "");
    OK(st->v->restriction_put(st, 1, id, Q, 0, NULL, "manual", 1000, -1, NULL, E));
    assert_string_equal(check(st, 1, Q, NULL, 7, 2000), "por-sender");
    assert_string_equal(check(st, 1, Q, NULL, 8, 2000), "por-sender");
    /* the per-sender filter of the entries walk */
    struct st_rentry_filter f = {.list_id = id, .sender_id = 0, .now = 2000};
    OK(st->v->restriction_entries(st, 1, &f, count_cb, &n, E));
    assert_int_equal(n, 1);
    /* removing one sender's entry leaves the others */
    OK(st->v->restriction_put(st, 1, id, P, 0, NULL, "manual", 1000, -1, NULL, E));
    OK(st->v->restriction_remove(st, 1, id, P, NULL, 7, &n, E));
    assert_int_equal(n, 1);
    assert_string_equal(check(st, 1, P, NULL, 8, 2000), "por-sender");
    OK(st->v->restriction_remove(st, 1, id, P, NULL, -1, &n, E));
    assert_int_equal(n, 1);
    assert_string_equal(check(st, 1, P, NULL, 8, 2000), "");
    OK(st->v->restriction_remove(st, 1, id, P, NULL, -1, &n, E));
    assert_int_equal(n, 0);
}

static void test_br_ninth_digit(void **state)
{
    struct fx *fx = *state;
    store *st = fx->st;
    char v[2][PHONENUM_MAX];
    int64_t id = 0, n = 0;
    const char *NEW = "5511987650001", *OLD = "551187650001";
    assert_int_equal(phonenum_variants(OLD, v), 2);
    assert_string_equal(v[1], NEW);
    OK(st->v->rlist_create(st, 1, "br", 0, &id, E));
    OK(st->v->restriction_put(st, 1, id, NEW, 0, NULL, "manual", 1000, -1, NULL, E));
    /* a send to the old form, with its other form, is held */
    assert_string_equal(check(st, 1, OLD, v[1], 1, 2000), "br");
    assert_string_equal(check(st, 1, OLD, NULL, 1, 2000), "");
    /* removal by the old form takes the entry stored under the new one */
    OK(st->v->restriction_remove(st, 1, id, OLD, v[1], -1, &n, E));
    assert_int_equal(n, 1);
    assert_string_equal(check(st, 1, NEW, NULL, 1, 2000), "");
    /* and the entries walk finds either form */
    OK(st->v->restriction_put(st, 1, id, OLD, 0, NULL, "manual", 1000, -1, NULL, E));
    assert_int_equal(phonenum_variants(NEW, v), 2);
    struct st_rentry_filter f = {.phone = NEW, .alt = v[1], .sender_id = -1, .now = 2000};
    n = 0;
    OK(st->v->restriction_entries(st, 1, &f, count_cb, &n, E));
    assert_int_equal(n, 1);
}

static void test_purge_bounded(void **state)
{
    struct fx *fx = *state;
    store *st = fx->st;
    int64_t id = 0, n = -1;
    char phone[32];
    OK(st->v->rlist_create(st, 1, "purga", 0, &id, E));
    for (int i = 0; i < 25; i++) { /* expired at 2000 */
        snprintf(phone, sizeof phone, "55119876%05d", i);
        OK(st->v->restriction_put(st, 1, id, phone, 0, NULL, "manual", 1000, 2000, NULL, E));
    }
    for (int i = 0; i < 3; i++) { /* expire later */
        snprintf(phone, sizeof phone, "55219876%05d", i);
        OK(st->v->restriction_put(st, 1, id, phone, 0, NULL, "manual", 1000, 5001, NULL, E));
    }
    for (int i = 0; i < 2; i++) { /* never */
        snprintf(phone, sizeof phone, "55319876%05d", i);
        OK(st->v->restriction_put(st, 1, id, phone, 0, NULL, "manual", 1000, 0, NULL, E));
    }
    /* one expiring exactly at now goes too: expires_at <= now no longer applies */
    OK(st->v->restriction_put(st, 1, id, "5541987600000", 0, NULL, "manual", 1000, 5000, NULL, E));
    OK(st->v->commit(st, E));
    OK(st->v->restriction_purge(st, 5000, 10, &n, E));
    assert_int_equal(n, 10);
    OK(st->v->restriction_purge(st, 5000, 10, &n, E));
    assert_int_equal(n, 10);
    OK(st->v->restriction_purge(st, 5000, 10, &n, E));
    assert_int_equal(n, 6);
    OK(st->v->restriction_purge(st, 5000, 10, &n, E));
    assert_int_equal(n, 0);
    OK(st->v->commit(st, E));
    assert_int_equal(count_entries(st, 1, id, 0, 1), 5);
    assert_string_equal(check(st, 1, "5521987600000", NULL, 1, 5000), "purga");
    assert_string_equal(check(st, 1, "5531987600001", NULL, 1, 5000), "purga");
    int any = 0;
    OK(st->v->restriction_any(st, &any, E));
    assert_true(any);
}

struct kws {
    int64_t id[16];
    char kw[16][32];
    char list[16][32];
    size_t n;
};

static int kws_cb(void *ud, const struct st_kwrule *k)
{
    struct kws *x = ud;
    if (x->n < 16) {
        x->id[x->n] = k->id;
        snprintf(x->kw[x->n], 32, "%s", k->keyword);
        snprintf(x->list[x->n], 32, "%s", k->list);
        x->n++;
    }
    return 0;
}

static int count_kw_cb(void *ud, const struct st_kwrule *k)
{
    (void)k;
    (*(int *)ud)++;
    return 0;
}

static void test_keyword_rules_crud(void **state)
{
    struct fx *fx = *state;
    store *st = fx->st;
    struct kws k = {0};
    int64_t id = 0;
    dp_err e = {0};
    int n = 0;

    /* the first rule an operator adds comes after the defaults, not instead */
    OK(st->v->kwrule_add(st, 1, "NAO QUERO", "exact", 1, "do_not_disturb", &id, E));
    OK(st->v->kwrule_list(st, 1, 0, kws_cb, &k, E));
    assert_int_equal(k.n, 6);
    assert_string_equal(k.kw[0], "PARAR");
    assert_string_equal(k.kw[5], "NAO QUERO");
    OK(st->v->kwrule_update(st, 1, id, "CHEGA", NULL, -1, "blocked", E));
    memset(&k, 0, sizeof k);
    OK(st->v->kwrule_list(st, 1, id, kws_cb, &k, E));
    assert_int_equal(k.n, 1);
    assert_string_equal(k.kw[0], "CHEGA");
    assert_string_equal(k.list[0], "blocked");
    /* another workspace's rule is not there */
    assert_int_equal(st->v->kwrule_delete(st, 2, id, &e), DP_ENOTFOUND);
    assert_int_equal(st->v->kwrule_update(st, 2, id, "X", NULL, -1, NULL, &e), DP_ENOTFOUND);
    assert_int_equal(st->v->kwrule_list(st, 1, 9999, kws_cb, &k, &e), DP_ENOTFOUND);

    /* every rule deleted stays deleted, for the API and the engine, after a reopen too */
    memset(&k, 0, sizeof k);
    OK(st->v->kwrule_list(st, 1, 0, kws_cb, &k, E));
    for (size_t i = 0; i < k.n; i++)
        OK(st->v->kwrule_delete(st, 1, k.id[i], E));
    OK(st->v->commit(st, E));
    memset(&k, 0, sizeof k);
    OK(st->v->kwrule_list(st, 1, 0, kws_cb, &k, E));
    assert_int_equal(k.n, 0);
    OK(st->v->kwrule_list(st, 1, 0, count_kw_cb, &n, E));
    assert_int_equal(n, 0);
    OK(st->v->commit(st, E));
    st->v->close(st);
    fx->st = NULL;
    OK(store_sqlite_open(fx->tmp.path, &fx->st, E));
    st = fx->st;
    OK(st->v->kwrule_list(st, 1, 0, count_kw_cb, &n, E));
    assert_int_equal(n, 0);
    /* workspace 2 never used them: it gets the defaults */
    OK(st->v->kwrule_list(st, 2, 0, count_kw_cb, &n, E));
    assert_int_equal(n, 5);
    OK(st->v->commit(st, E));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lists_crud, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention_and_expiry_edges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_per_sender_and_global, setup, teardown),
        cmocka_unit_test_setup_teardown(test_br_ninth_digit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_purge_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keyword_rules_crud, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
