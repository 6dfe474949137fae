/* Unit tests for the campaign report reader (src/store/sqlite_report.c): a
 * hand-made campaign with known statuses, times, senders and errors is
 * written through the store, then read back on the reader's own read-only
 * connection and checked number by number. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/sqlite_report.h"
#include "store/store.h"
#include "support/tmpstore.h"

/* 2026-01-01T00:00:00Z, on a minute (and day) boundary */
#define T0 1767225600000LL
#define MIN 60000LL
#define DAY 86400000LL

struct fx {
    struct tmpstore tmp;
    store *st;
    int64_t a, b; /* two senders */
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    int created = 0;
    assert_non_null(f);
    f->st = tmpstore_open(&f->tmp, "report", NULL);
    OK(f->st->v->bootstrap(f->st, "adminhash", &created, E));
    struct st_sender a = {
        .ws = 1, .name = (char *)"alpha", .provider = (char *)"sandbox", .active = 1};
    struct st_sender b = {
        .ws = 1, .name = (char *)"beta", .provider = (char *)"sandbox", .active = 1};
    OK(f->st->v->sender_create(f->st, &a, E));
    OK(f->st->v->sender_create(f->st, &b, E));
    f->a = a.id;
    f->b = b.id;
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

static int64_t campaign(store *st, int64_t started, int64_t finished)
{
    struct st_campaign c = {.ws = 1, .name = (char *)"relatorio", .status = CS_COMPLETED};
    OK(st->v->campaign_create(st, &c, E));
    c.started_at = started;
    c.finished_at = finished;
    OK(st->v->campaign_update(st, &c, E));
    return c.id;
}

struct msg {
    const char *phone;
    int status;
    int64_t sender;
    int64_t sent, delivered, read, failed;
    const char *code, *detail;
};

static void insert(store *st, int64_t cid, const struct msg *ms, size_t n)
{
    int64_t delta[MS__COUNT] = {0};
    for (size_t i = 0; i < n; i++) {
        char pid[32];
        snprintf(pid, sizeof pid, "p-%zu", i);
        struct st_message m = {.campaign_id = cid,
                               .phone = (char *)ms[i].phone,
                               .status = ms[i].status,
                               .attempts = ms[i].sender ? 1 : 0,
                               .sender_id = ms[i].sender,
                               .provider_id = ms[i].sent ? pid : NULL,
                               .error_code = (char *)ms[i].code,
                               .error_detail = (char *)ms[i].detail,
                               .queued_at = T0,
                               .sent_at = ms[i].sent,
                               .delivered_at = ms[i].delivered,
                               .read_at = ms[i].read,
                               .failed_at = ms[i].failed};
        OK(st->v->message_insert(st, &m, E));
        delta[ms[i].status]++;
    }
    OK(st->v->campaign_counts_add(st, cid, delta, E));
}

static json_t *report(struct fx *f, int64_t ws, int64_t cid, int want)
{
    sqrep *r = NULL;
    json_t *out = NULL;
    dp_err e = {0};
    OK(f->st->v->commit(f->st, E));
    OK(sqrep_open(f->st->v->path(f->st), &r, E));
    OK(sqrep_begin(r, E));
    assert_int_equal(sqrep_report(r, ws, cid, T0 + DAY, &out, &e), want);
    sqrep_close(r);
    return out;
}

/* An integer at a dotted path ("durations.queue_to_sent.count"). */
static int64_t geti(const json_t *o, const char *path)
{
    const json_t *v = o;
    for (const char *p = path; v && *p;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        char key[64];
        assert_true(n < sizeof key);
        memcpy(key, p, n);
        key[n] = '\0';
        v = json_object_get(v, key);
        p += n + (dot ? 1 : 0);
    }
    if (!json_is_integer(v))
        fail_msg("%s is not an integer", path);
    return json_integer_value(v);
}

static const char *gets(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    if (!s)
        fail_msg("%s is not a string", key);
    return s;
}

static void test_report_numbers(void **state)
{
    struct fx *f = *state;
    int64_t cid = campaign(f->st, T0, T0 + 130000);
    const struct msg ms[] = {
        /* read, and answered (below): one second to send */
        {"5511900000001", MS_READ, f->a, T0 + 1000, T0 + 3000, T0 + 10000, 0, NULL, NULL},
        /* sent in the last millisecond of minute 0, delivered in minute 1 */
        {"5511900000002", MS_DELIVERED, f->a, T0 + MIN - 1, T0 + MIN, 0, 0, NULL, NULL},
        {"5511900000003", MS_SENT, f->a, T0 + MIN, 0, 0, 0, NULL, NULL},
        {"5511900000004", MS_FAILED, f->b, 0, 0, 0, T0 + 2 * MIN, "sandbox_rejected", "no"},
        /* accepted, then a failed receipt */
        {"5511900000005", MS_FAILED, f->b, T0 + MIN + 1000, 0, 0, T0 + 2 * MIN + 5000, "gw_failed",
         "receipt"},
        {"5511900000006", MS_SKIPPED, 0, 0, 0, 0, 0, "restricted",
         "the phone is on the do_not_disturb list"},
        {"5511900000006", MS_SKIPPED, 0, 0, 0, 0, 0, "duplicate", "earlier"},
        {"5511900000008", MS_QUEUED, 0, 0, 0, 0, 0, NULL, NULL},
    };
    insert(f->st, cid, ms, sizeof ms / sizeof ms[0]);
    int64_t mc = 0;
    int first_reply = 0, first_click = 0;
    OK(f->st->v->message_reply(f->st, f->a, "5511900000001", "p-0", "obrigado", NULL, T0 + 20000,
                               &mc, &first_reply, &first_click, E));
    assert_int_equal(first_reply, 1);

    json_t *j = report(f, 1, cid, DP_OK);
    assert_int_equal(geti(j, "id"), cid);
    assert_string_equal(gets(j, "status"), "completed");
    assert_string_equal(gets(j, "started_at"), "2026-01-01T00:00:00.000Z");
    assert_int_equal(geti(j, "counts.total"), 8);
    assert_int_equal(geti(j, "counts.failed"), 2);
    assert_int_equal(geti(j, "counts.skipped"), 2);
    assert_int_equal(geti(j, "counts.queued"), 1);
    assert_int_equal(geti(j, "counts.replied"), 1);
    assert_int_equal(geti(j, "replied"), 1);

    /* by sender: no sender (queued, skipped), alpha, beta, in id order */
    const json_t *bs = json_object_get(j, "by_sender");
    assert_int_equal(json_array_size(bs), 3);
    const json_t *none = json_array_get(bs, 0), *al = json_array_get(bs, 1),
                 *be = json_array_get(bs, 2);
    assert_true(json_is_null(json_object_get(none, "sender_id")));
    assert_int_equal(geti(none, "total"), 3);
    assert_int_equal(geti(none, "skipped"), 2);
    assert_int_equal(geti(none, "queued"), 1);
    assert_int_equal(geti(al, "sender_id"), f->a);
    assert_string_equal(gets(al, "name"), "alpha");
    assert_int_equal(geti(al, "sent"), 1);
    assert_int_equal(geti(al, "delivered"), 1);
    assert_int_equal(geti(al, "read"), 1);
    assert_int_equal(geti(al, "replied"), 1);
    assert_int_equal(geti(al, "failed"), 0);
    assert_string_equal(gets(be, "name"), "beta");
    assert_int_equal(geti(be, "failed"), 2);
    assert_int_equal(geti(be, "total"), 2);

    /* by error: failed before skipped, then by count, then by code */
    const json_t *be_ = json_object_get(j, "by_error");
    assert_int_equal(json_array_size(be_), 4);
    assert_string_equal(gets(json_array_get(be_, 0), "status"), "failed");
    assert_string_equal(gets(json_array_get(be_, 0), "code"), "gw_failed");
    assert_string_equal(gets(json_array_get(be_, 0), "detail"), "receipt");
    assert_string_equal(gets(json_array_get(be_, 1), "code"), "sandbox_rejected");
    assert_string_equal(gets(json_array_get(be_, 2), "status"), "skipped");
    assert_string_equal(gets(json_array_get(be_, 2), "code"), "duplicate");
    assert_string_equal(gets(json_array_get(be_, 3), "code"), "restricted");
    assert_string_equal(gets(json_array_get(be_, 3), "detail"),
                        "the phone is on the do_not_disturb list");
    assert_int_equal(geti(json_array_get(be_, 3), "count"), 1);

    /* timeline: minute buckets, edges at minute boundaries */
    assert_int_equal(geti(j, "timeline_bucket_seconds"), 60);
    const json_t *tl = json_object_get(j, "timeline");
    assert_int_equal(json_array_size(tl), 3);
    const json_t *m0 = json_array_get(tl, 0), *m1 = json_array_get(tl, 1),
                 *m2 = json_array_get(tl, 2);
    assert_string_equal(gets(m0, "minute"), "2026-01-01T00:00:00.000Z");
    assert_int_equal(geti(m0, "sent"), 2); /* +1 s and +59.999 s */
    assert_int_equal(geti(m0, "delivered"), 1);
    assert_int_equal(geti(m0, "read"), 1);
    assert_int_equal(geti(m0, "failed"), 0);
    assert_string_equal(gets(m1, "minute"), "2026-01-01T00:01:00.000Z");
    assert_int_equal(geti(m1, "sent"), 2); /* +60 s exactly, +61 s */
    assert_int_equal(geti(m1, "delivered"), 1);
    assert_string_equal(gets(m2, "minute"), "2026-01-01T00:02:00.000Z");
    assert_int_equal(geti(m2, "sent"), 0);
    assert_int_equal(geti(m2, "failed"), 2);

    /* durations, nearest rank: queue->sent over 1000, 59999, 60000, 61000 */
    assert_int_equal(geti(j, "durations.elapsed_ms"), 130000);
    assert_int_equal(geti(j, "durations.to_first_send_ms"), 1000);
    assert_int_equal(geti(j, "durations.queue_to_sent.count"), 4);
    assert_int_equal(geti(j, "durations.queue_to_sent.median_ms"), 59999);
    assert_int_equal(geti(j, "durations.queue_to_sent.p90_ms"), 61000);
    assert_int_equal(geti(j, "durations.sent_to_delivered.count"), 2);
    assert_int_equal(geti(j, "durations.sent_to_delivered.median_ms"), 1);
    assert_int_equal(geti(j, "durations.sent_to_delivered.p90_ms"), 2000);
    assert_int_equal(geti(j, "durations.sent_to_read.median_ms"), 9000);
    assert_int_equal(geti(j, "durations.sent_to_read.p90_ms"), 9000);
    json_decref(j);

    /* another workspace does not see it */
    assert_null(report(f, 2, cid, DP_ENOTFOUND));
}

static void test_report_empty_and_running(void **state)
{
    struct fx *f = *state;
    struct st_campaign c = {.ws = 1, .name = (char *)"rascunho", .status = CS_DRAFT};
    OK(f->st->v->campaign_create(f->st, &c, E));
    json_t *j = report(f, 1, c.id, DP_OK);
    assert_int_equal(geti(j, "counts.total"), 0);
    assert_int_equal(json_array_size(json_object_get(j, "timeline")), 0);
    assert_int_equal(json_array_size(json_object_get(j, "by_sender")), 0);
    assert_true(json_is_null(json_object_get(json_object_get(j, "durations"), "elapsed_ms")));
    assert_true(json_is_null(json_object_get(
        json_object_get(json_object_get(j, "durations"), "queue_to_sent"), "median_ms")));
    json_decref(j);
    /* running: elapsed counts to now (T0 + 1 day in report()) */
    int64_t cid = campaign(f->st, T0, 0);
    j = report(f, 1, cid, DP_OK);
    assert_int_equal(geti(j, "durations.elapsed_ms"), DAY);
    json_decref(j);
}

/* Campaigns that last days get hourly buckets, weeks daily ones, and
 * never more than SQREP_TIMELINE_MAX. */
static void test_timeline_widens(void **state)
{
    struct fx *f = *state;
    int64_t two = campaign(f->st, T0, T0 + 2 * DAY);
    const struct msg a[] = {
        {"5511900000001", MS_SENT, f->a, T0 + 5 * MIN, 0, 0, 0, NULL, NULL},
        {"5511900000002", MS_SENT, f->a, T0 + 2 * DAY + 61 * MIN, 0, 0, 0, NULL, NULL},
    };
    insert(f->st, two, a, 2);
    json_t *j = report(f, 1, two, DP_OK);
    assert_int_equal(geti(j, "timeline_bucket_seconds"), 3600);
    const json_t *tl = json_object_get(j, "timeline");
    assert_int_equal(json_array_size(tl), 2);
    assert_string_equal(gets(json_array_get(tl, 0), "minute"), "2026-01-01T00:00:00.000Z");
    assert_string_equal(gets(json_array_get(tl, 1), "minute"), "2026-01-03T01:00:00.000Z");
    json_decref(j);

    int64_t weeks = campaign(f->st, T0, T0 + 70 * DAY);
    const struct msg b[] = {
        {"5511900000001", MS_SENT, f->a, T0 + 5 * MIN, 0, 0, 0, NULL, NULL},
        {"5511900000002", MS_DELIVERED, f->a, T0 + 70 * DAY - 1, T0 + 70 * DAY + 7, 0, 0, NULL,
         NULL},
    };
    insert(f->st, weeks, b, 2);
    j = report(f, 1, weeks, DP_OK);
    assert_int_equal(geti(j, "timeline_bucket_seconds"), 86400);
    tl = json_object_get(j, "timeline");
    assert_int_equal(json_array_size(tl), 3);
    assert_string_equal(gets(json_array_get(tl, 1), "minute"), "2026-03-11T00:00:00.000Z");
    assert_int_equal(geti(json_array_get(tl, 2), "delivered"), 1);
    json_decref(j);
}

/* The messages reader pages by id with strings borrowed per row. */
struct seen {
    int64_t ids[16];
    int n;
};

static int seen_cb(void *ud, const struct st_message *m)
{
    struct seen *s = ud;
    assert_true(s->n < 16);
    assert_non_null(m->phone);
    s->ids[s->n++] = m->id;
    return 0;
}

static void test_messages_pages(void **state)
{
    struct fx *f = *state;
    int64_t cid = campaign(f->st, T0, 0);
    const struct msg ms[] = {
        {"5511900000001", MS_SENT, f->a, T0 + 1, 0, 0, 0, NULL, NULL},
        {"5511900000002", MS_SENT, f->a, T0 + 2, 0, 0, 0, NULL, NULL},
        {"5511900000003", MS_SENT, f->a, T0 + 3, 0, 0, 0, NULL, NULL},
    };
    insert(f->st, cid, ms, 3);
    OK(f->st->v->commit(f->st, E));
    sqrep *r = NULL;
    struct seen s = {0};
    OK(sqrep_open(f->st->v->path(f->st), &r, E));
    OK(sqrep_messages(r, cid, 0, 2, seen_cb, &s, E));
    assert_int_equal(s.n, 2);
    OK(sqrep_messages(r, cid, s.ids[1], 2, seen_cb, &s, E));
    assert_int_equal(s.n, 3);
    assert_true(s.ids[0] < s.ids[1] && s.ids[1] < s.ids[2]);
    sqrep_close(r);
}

static void test_rank(void **state)
{
    (void)state;
    assert_int_equal(sqrep_rank(1, 0.5), 0);
    assert_int_equal(sqrep_rank(1, 0.9), 0);
    assert_int_equal(sqrep_rank(2, 0.5), 0);
    assert_int_equal(sqrep_rank(2, 0.9), 1);
    assert_int_equal(sqrep_rank(10, 0.5), 4);
    assert_int_equal(sqrep_rank(10, 0.9), 8);
    assert_int_equal(sqrep_rank(1000000, 0.5), 499999);
}

static void test_open_needs_a_file(void **state)
{
    sqrep *r = NULL;
    dp_err e = {0};
    (void)state;
    assert_int_equal(sqrep_open("", &r, &e), DP_EINVAL);
    assert_null(r);
    assert_int_equal(sqrep_open("/nonexistent/dir/x.db", &r, &e), DP_EDB);
    assert_null(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_report_numbers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_empty_and_running, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeline_widens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_messages_pages, setup, teardown),
        cmocka_unit_test(test_rank),
        cmocka_unit_test(test_open_needs_a_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
