/* The engine's state machines and scheduling, end to end inside one process:
 * the real engine on a real libevent loop (set up as src/main.c does), a real
 * SQLite store in a temporary directory, and sandbox senders (one webhook
 * sender against an evhttp receiver on the same loop, to see the text sent).
 * Everything is read back through the store, as the API would, with the
 * engine's overlay on top. Timing assertions leave room for ASan/UBSan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "engine/engine.h"
#include "engine/timer.h"
#include "senders/sender.h"
#include "store/store.h"
#include "support/tmpstore.h"
#include "util/err.h"
#include "util/log.h"
#include "util/timefmt.h"

#define WS 1
#define DAY_MS (24LL * 3600 * 1000)
#define MAX_HOOKED 64

/* ---- fixture ------------------------------------------------------------ */

/* What the webhook receiver got, in arrival order. */
struct hooked {
    int64_t message_id;
    char text[128];
};

struct fx {
    struct tmpstore tmp;
    store *st;
    struct event_base *base;
    engine *eng;
    int64_t t0_us;
    /* the webhook receiver, only for the tests that start one */
    struct evhttp *http;
    int port;
    struct hooked hooked[MAX_HOOKED];
    int n_hooked;
};

static void engine_up(struct fx *f)
{
    struct engine_opts o = {.country_code = "55"};
    OK(engine_new(f->base, f->st, &o, &f->eng, E));
    OK(engine_start(f->eng, E));
}

static void restart(struct fx *f)
{
    engine_free(f->eng); /* no drain: as if the process died */
    f->eng = NULL;
    engine_up(f);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    int created = 0;
    assert_non_null(f);
    f->t0_us = timer_now_us();
    f->st = tmpstore_open(&f->tmp, "engine", NULL);
    /* workspace 1 (and its default sandbox sender, id 1) */
    OK(f->st->v->bootstrap(f->st, "adminhash", &created, E));
    assert_int_equal(created, 1);
    f->base = event_base_new();
    assert_non_null(f->base);
    assert_int_equal(event_base_priority_init(f->base, 3), 0);
    engine_up(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    engine_free(f->eng);
    if (f->http)
        evhttp_free(f->http);
    tmpstore_remove(&f->tmp, f->st);
    event_base_free(f->base);
    if (getenv("DISPARO_TEST_TIMES"))
        fprintf(stderr, "    took %.2f s\n", (double)(timer_now_us() - f->t0_us) / 1e6);
    free(f);
    return 0;
}

/* ---- the loop ------------------------------------------------------------- */

typedef int (*pred_fn)(struct fx *f, const void *arg);

static void on_guard(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

/* Turns the loop (EVLOOP_ONCE, as the server's loop turns) until pred holds
 * or timeout_ms pass; a guard timer makes sure a turn never sleeps past the
 * deadline. pred NULL runs for the whole time. Returns whether pred held. */
static int loop_until(struct fx *f, pred_fn pred, const void *arg, int timeout_ms)
{
    int64_t deadline = timer_now_us() + (int64_t)timeout_ms * 1000;
    struct event *guard = evtimer_new(f->base, on_guard, NULL);
    int held = 0;
    assert_non_null(guard);
    for (;;) {
        if (pred && pred(f, arg)) {
            held = 1;
            break;
        }
        int64_t left = deadline - timer_now_us();
        if (left <= 0)
            break;
        struct timeval tv = {.tv_sec = left / 1000000, .tv_usec = left % 1000000};
        evtimer_add(guard, &tv);
        (void)event_base_loop(f->base, EVLOOP_ONCE);
    }
    event_free(guard);
    return held;
}

#define run_until(f, pred, arg, timeout_ms)                                                        \
    do {                                                                                           \
        if (!loop_until((f), (pred), (arg), (timeout_ms)))                                         \
            fail_msg("timed out after %d ms waiting for %s", (int)(timeout_ms), #pred);            \
    } while (0)

static void run_for(struct fx *f, int ms)
{
    (void)loop_until(f, NULL, NULL, ms);
}

static int64_t now_ms(void)
{
    return timefmt_now_ms();
}

/* ---- senders ---------------------------------------------------------- */

/* Creates a sender the way the API does: validate the config, write, commit,
 * tell the engine. */
static int64_t add_sender(struct fx *f, const char *provider, const char *config_json, double rate,
                          int64_t daily_limit)
{
    const struct sender_vtab *vt = sender_find(provider);
    json_error_t je;
    json_t *cfg = json_loads(config_json, 0, &je);
    if (!cfg)
        fail_msg("bad config in the test: %s", je.text);
    assert_non_null(vt);
    OK(vt->validate(cfg, E));
    struct st_sender s = {.ws = WS,
                          .name = (char *)provider,
                          .provider = (char *)provider,
                          .config = cfg,
                          .rate_per_second = rate,
                          .daily_limit = daily_limit,
                          .active = 1};
    OK(engine_flush(f->eng, E));
    OK(f->st->v->sender_create(f->st, &s, E));
    OK(f->st->v->commit(f->st, E));
    OK(engine_sender_changed(f->eng, s.id, E));
    json_decref(cfg);
    assert_true(s.id > 0);
    return s.id;
}

static int64_t add_sandbox(struct fx *f, const char *config_json)
{
    return add_sender(f, "sandbox", config_json, 0, 0);
}

/* ---- campaigns -------------------------------------------------------- */

static const char *phone_of(int i, char buf[16])
{
    snprintf(buf, 16, "551199%07d", i);
    return buf;
}

/* n contacts with distinct phones (starting at index first) and names. */
static json_t *contacts(int n, int first)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++) {
        char p[16], name[16];
        snprintf(name, sizeof name, "C%d", first + i);
        json_array_append_new(
            a, json_pack("{s:s, s:s}", "phone", phone_of(first + i, p), "name", name));
    }
    return a;
}

/* A POST /campaigns body: n contacts, one sender, a fixed interval. */
static json_t *body(const char *name, int64_t sender_id, int n, int interval_ms)
{
    return json_pack("{s:s, s:[I], s:{s:s}, s:o, s:{s:i, s:i}}", "name", name, "sender_ids",
                     (json_int_t)sender_id, "message", "text", "{{greeting}}, {{name}}!",
                     "contacts", contacts(n, 1), "interval", "min_ms", interval_ms, "max_ms",
                     interval_ms);
}

/* Creates from b (reference stolen); fails the test on any error. */
static int64_t create(struct fx *f, json_t *b)
{
    int64_t id = 0;
    json_t *missing = NULL;
    dp_err e = {0};
    int rc = engine_campaign_create(f->eng, WS, b, &id, &missing, &e);
    if (rc)
        fail_msg("campaign_create -> %d: %s", rc, e.msg);
    assert_null(missing);
    json_decref(b);
    assert_true(id > 0);
    return id;
}

static int64_t create_started(struct fx *f, json_t *b)
{
    json_object_set_new(b, "start", json_true());
    return create(f, b);
}

static int action(struct fx *f, int64_t ws, int64_t id, enum camp_action a)
{
    dp_err e = {0};
    return engine_campaign_action(f->eng, ws, id, a, &e);
}

/* A campaign as the API shows it: the stored row plus the engine's overlay. */
struct snap {
    int status;
    char reason[32]; /* "" when null */
    int64_t counts[MS__COUNT];
    int64_t total;
    int64_t started_at, finished_at, next_send_at, start_at;
    json_t *spec; /* new reference */
};

static void snap(struct fx *f, int64_t id, struct snap *s)
{
    struct st_campaign c = {0};
    OK(f->st->v->campaign_get(f->st, WS, id, &c, E));
    engine_campaign_overlay(f->eng, &c);
    memset(s, 0, sizeof *s);
    s->status = c.status;
    snprintf(s->reason, sizeof s->reason, "%s", c.state_reason ? c.state_reason : "");
    memcpy(s->counts, c.counts, sizeof s->counts);
    s->total = c.total;
    s->started_at = c.started_at;
    s->finished_at = c.finished_at;
    s->next_send_at = c.next_send_at;
    s->start_at = c.start_at;
    s->spec = json_incref(c.spec);
    st_campaign_clear(&c);
}

static void snap_clear(struct snap *s)
{
    json_decref(s->spec);
    s->spec = NULL;
}

static int camp_status(struct fx *f, int64_t id)
{
    struct snap s;
    snap(f, id, &s);
    snap_clear(&s);
    return s.status;
}

/* Messages that left `queued` for good or for now (claimed at least once). */
static int64_t claimed(struct fx *f, int64_t id)
{
    struct snap s;
    snap(f, id, &s);
    snap_clear(&s);
    return s.total - s.counts[MS_QUEUED] - s.counts[MS_SKIPPED];
}

/* ---- messages and events ---------------------------------------------- */

struct mrow {
    int64_t id;
    int status, attempts;
    int64_t sender_id, sent_at, failed_at;
    char phone[16];
    char error[32];
};

struct mlist {
    struct mrow *v;
    size_t n, cap;
};

static int collect_msg(void *ud, const struct st_message *m)
{
    struct mlist *l = ud;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        assert_non_null(l->v);
    }
    struct mrow *r = &l->v[l->n++];
    memset(r, 0, sizeof *r);
    r->id = m->id;
    r->status = m->status;
    r->attempts = m->attempts;
    r->sender_id = m->sender_id;
    r->sent_at = m->sent_at;
    r->failed_at = m->failed_at;
    snprintf(r->phone, sizeof r->phone, "%s", m->phone);
    snprintf(r->error, sizeof r->error, "%s", m->error_code ? m->error_code : "");
    return 0;
}

/* Every message of the campaign with this status (< 0 = any), by id. */
static void messages(struct fx *f, int64_t id, int status, struct mlist *out)
{
    int64_t after = 0;
    memset(out, 0, sizeof *out);
    for (;;) {
        size_t before = out->n;
        OK(f->st->v->message_list(f->st, id, status, after, 500, collect_msg, out, E));
        if (out->n - before < 500)
            break;
        after = out->v[out->n - 1].id;
    }
}

static int64_t count_listed(struct fx *f, int64_t id, int status)
{
    struct mlist l;
    messages(f, id, status, &l);
    free(l.v);
    return (int64_t)l.n;
}

#define MAX_EVENTS 64

struct evrow {
    int64_t id, at;
    char type[24];
    json_t *detail;
};

struct evlist {
    struct evrow v[MAX_EVENTS];
    int n;
};

static int collect_event(void *ud, const struct st_event *ev)
{
    struct evlist *l = ud;
    assert_true(l->n < MAX_EVENTS);
    struct evrow *r = &l->v[l->n++];
    r->id = ev->id;
    r->at = ev->at;
    snprintf(r->type, sizeof r->type, "%s", ev->type);
    r->detail = json_loads(ev->detail, 0, NULL);
    assert_non_null(r->detail);
    return 0;
}

/* Newest first, as the API lists them. */
static void events(struct fx *f, int64_t id, struct evlist *l)
{
    memset(l, 0, sizeof *l);
    OK(f->st->v->event_list(f->st, id, MAX_EVENTS, collect_event, l, E));
}

static void events_clear(struct evlist *l)
{
    for (int i = 0; i < l->n; i++)
        json_decref(l->v[i].detail);
    l->n = 0;
}

/* The newest event of this type, or NULL. */
static const struct evrow *event_find(const struct evlist *l, const char *type)
{
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->v[i].type, type) == 0)
            return &l->v[i];
    return NULL;
}

static int event_count(const struct evlist *l, const char *type)
{
    int n = 0;
    for (int i = 0; i < l->n; i++)
        n += strcmp(l->v[i].type, type) == 0;
    return n;
}

static json_int_t detail_int(const struct evrow *r, const char *key)
{
    const json_t *v = json_object_get(r->detail, key);
    if (!json_is_integer(v))
        fail_msg("event %s has no integer detail.%s", r->type, key);
    return json_integer_value(v);
}

/* The counts are exact: they add up to total and each equals the number of
 * messages listed with that status. */
static void assert_counts_exact(struct fx *f, int64_t id)
{
    struct snap s;
    int64_t sum = 0;
    snap(f, id, &s);
    for (int st = 0; st < MS__COUNT; st++) {
        int64_t listed = count_listed(f, id, st);
        if (s.counts[st] != listed)
            fail_msg("campaign %lld: counts.%s = %lld but %lld messages are listed as %s",
                     (long long)id, msg_status_name(st), (long long)s.counts[st], (long long)listed,
                     msg_status_name(st));
        sum += s.counts[st];
    }
    assert_int_equal(sum, s.total);
    assert_int_equal(s.total, count_listed(f, id, -1));
    snap_clear(&s);
}

/* ---- predicates ------------------------------------------------------- */

struct want {
    int64_t id;
    int status;         /* for has_status */
    const char *reason; /* for has_reason */
    int64_t n;          /* for at_least */
};

static int has_status(struct fx *f, const void *arg)
{
    const struct want *w = arg;
    return camp_status(f, w->id) == w->status;
}

static int has_reason(struct fx *f, const void *arg)
{
    const struct want *w = arg;
    struct snap s;
    snap(f, w->id, &s);
    snap_clear(&s);
    return s.status == CS_RUNNING && strcmp(s.reason, w->reason) == 0;
}

static int claimed_at_least(struct fx *f, const void *arg)
{
    const struct want *w = arg;
    return claimed(f, w->id) >= w->n;
}

static int sent_at_least(struct fx *f, const void *arg)
{
    const struct want *w = arg;
    struct snap s;
    snap(f, w->id, &s);
    snap_clear(&s);
    return s.counts[MS_SENT] + s.counts[MS_DELIVERED] + s.counts[MS_READ] >= w->n;
}

static int both_completed(struct fx *f, const void *arg)
{
    const int64_t *ids = arg;
    return camp_status(f, ids[0]) == CS_COMPLETED && camp_status(f, ids[1]) == CS_COMPLETED;
}

#define WAIT_STATUS(f, cid, st, ms)                                                                \
    do {                                                                                           \
        struct want w_ = {.id = (cid), .status = (st)};                                            \
        run_until((f), has_status, &w_, (ms));                                                     \
    } while (0)

/* ---- lifecycle ------------------------------------------------------------ */

static void test_lifecycle(void **state)
{
    struct fx *f = *state;
    int64_t sid = add_sandbox(f, "{\"latency_ms\": 5}");
    int64_t id = create(f, body("ciclo", sid, 5, 10));
    struct snap s;
    struct evlist ev;

    snap(f, id, &s);
    assert_int_equal(s.status, CS_DRAFT);
    assert_int_equal(s.total, 5);
    assert_int_equal(s.counts[MS_QUEUED], 5);
    assert_int_equal(s.started_at, 0);
    assert_int_equal(s.next_send_at, 0);
    snap_clear(&s);
    run_for(f, 100); /* a draft sends nothing */
    assert_int_equal(claimed(f, id), 0);

    int64_t before_start = now_ms();
    assert_int_equal(action(f, WS, id, CA_START), DP_OK);
    snap(f, id, &s);
    assert_int_equal(s.status, CS_RUNNING);
    assert_true(s.started_at >= before_start);
    snap_clear(&s);

    WAIT_STATUS(f, id, CS_COMPLETED, 5000);
    snap(f, id, &s);
    assert_int_equal(s.counts[MS_SENT], 5);
    assert_int_equal(s.counts[MS_QUEUED], 0);
    assert_int_equal(s.counts[MS_SENDING], 0);
    assert_string_equal(s.reason, "");
    assert_int_equal(s.next_send_at, 0);
    assert_true(s.finished_at >= s.started_at);
    snap_clear(&s);
    assert_counts_exact(f, id);

    struct mlist l;
    messages(f, id, -1, &l);
    assert_int_equal(l.n, 5);
    for (size_t i = 0; i < l.n; i++) {
        assert_int_equal(l.v[i].status, MS_SENT);
        assert_int_equal(l.v[i].attempts, 1);
        assert_int_equal(l.v[i].sender_id, sid);
        assert_true(l.v[i].sent_at >= before_start);
        assert_string_equal(l.v[i].error, "");
    }
    free(l.v);

    events(f, id, &ev);
    assert_int_equal(ev.n, 3);
    assert_string_equal(ev.v[0].type, "completed");
    assert_string_equal(ev.v[1].type, "started");
    assert_string_equal(ev.v[2].type, "created");
    assert_int_equal(detail_int(&ev.v[2], "messages"), 5);
    assert_int_equal(detail_int(&ev.v[2], "skipped"), 0);
    for (int i = 1; i < ev.n; i++) {
        assert_true(ev.v[i - 1].id > ev.v[i].id);
        assert_true(ev.v[i - 1].at >= ev.v[i].at);
    }
    events_clear(&ev);
}

/* Receipts that arrive after the campaign completed still move messages
 * forward and keep the counts exact. */
static int all_read(struct fx *f, const void *arg)
{
    const struct want *w = arg;
    struct snap s;
    snap(f, w->id, &s);
    snap_clear(&s);
    return s.counts[MS_READ] == w->n;
}

static void test_receipts_after_completion(void **state)
{
    struct fx *f = *state;
    int64_t sid =
        add_sandbox(f, "{\"latency_ms\": 0, \"delivered_after_ms\": 50, \"read_after_ms\": 50}");
    int64_t id = create_started(f, body("recibos", sid, 4, 0));
    struct want w = {.id = id, .n = 4};
    WAIT_STATUS(f, id, CS_COMPLETED, 3000);
    assert_true(sent_at_least(f, &w)); /* sent, delivered or read */
    run_until(f, all_read, &w, 2000);
    struct snap s;
    snap(f, id, &s);
    assert_int_equal(s.status, CS_COMPLETED);
    assert_int_equal(s.counts[MS_READ], 4);
    assert_int_equal(s.counts[MS_SENT], 0);
    assert_int_equal(s.counts[MS_DELIVERED], 0);
    snap_clear(&s);
    run_for(f, 100); /* nothing moves backwards or twice */
    assert_counts_exact(f, id);
    snap(f, id, &s);
    assert_int_equal(s.counts[MS_READ], 4);
    assert_int_equal(s.total, 4);
    snap_clear(&s);
}

static void test_illegal_transitions(void **state)
{
    struct fx *f = *state;
    int64_t sid = add_sandbox(f, "{}");
    int64_t draft = create(f, body("rascunho", sid, 3, 10000));
    struct evlist ev;

    assert_int_equal(action(f, WS, draft, CA_PAUSE), DP_ETRANSITION);
    assert_int_equal(action(f, WS, draft, CA_RESUME), DP_ETRANSITION);
    assert_int_equal(camp_status(f, draft), CS_DRAFT);
    events(f, draft, &ev);
    assert_int_equal(ev.n, 1); /* a refused action writes nothing */
    events_clear(&ev);

    /* running at a 10 s gap: one send, then a long wait */
    assert_int_equal(action(f, WS, draft, CA_START), DP_OK);
    assert_int_equal(action(f, WS, draft, CA_RESUME), DP_ETRANSITION);
    assert_int_equal(action(f, WS, draft, CA_START), DP_ETRANSITION);
    assert_int_equal(camp_status(f, draft), CS_RUNNING);

    /* a campaign that completed */
    int64_t done = create_started(f, body("curta", sid, 1, 0));
    WAIT_STATUS(f, done, CS_COMPLETED, 3000);
    assert_int_equal(action(f, WS, done, CA_START), DP_ETRANSITION);
    assert_int_equal(action(f, WS, done, CA_CANCEL), DP_ETRANSITION);
    assert_int_equal(action(f, WS, done, CA_PAUSE), DP_ETRANSITION);
    assert_int_equal(action(f, WS, done, CA_RESUME), DP_ETRANSITION);
    assert_int_equal(camp_status(f, done), CS_COMPLETED);

    /* cancelled is final too */
    int64_t other = create(f, body("outra", sid, 2, 10));
    assert_int_equal(action(f, WS, other, CA_CANCEL), DP_OK);
    assert_int_equal(camp_status(f, other), CS_CANCELLED);
    assert_int_equal(action(f, WS, other, CA_CANCEL), DP_ETRANSITION);
    assert_int_equal(action(f, WS, other, CA_START), DP_ETRANSITION);
    run_for(f, 100);
    assert_int_equal(claimed(f, other), 0);

    /* no such id, and another workspace's id */
    assert_int_equal(action(f, WS, 999999, CA_START), DP_ENOTFOUND);
    assert_int_equal(action(f, WS, 999999, CA_CANCEL), DP_ENOTFOUND);
    assert_int_equal(action(f, 2, draft, CA_PAUSE), DP_ENOTFOUND);
    assert_int_equal(action(f, 2, draft, CA_CANCEL), DP_ENOTFOUND);
    assert_int_equal(camp_status(f, draft), CS_RUNNING);
    dp_err e = {0};
    json_t *patch = json_pack("{s:s}", "name", "x");
    assert_int_equal(engine_campaign_patch(f->eng, 2, other, patch, &e), DP_ENOTFOUND);
    json_decref(patch);
}

/* ---- pause, resume, cancel -------------------------------------------- */

static void test_pause_resume(void **state)
{
    struct fx *f = *state;
    int64_t sid = add_sandbox(f, "{}");
    int64_t id = create_started(f, body("pausa", sid, 12, 50));
    struct want w = {.id = id, .n = 3};
    struct snap s;
    struct evlist ev;

    run_until(f, claimed_at_least, &w, 3000);
    assert_int_equal(action(f, WS, id, CA_PAUSE), DP_OK);
    snap(f, id, &s);
    assert_int_equal(s.status, CS_PAUSED);
    assert_string_equal(s.reason, "");
    assert_int_equal(s.next_send_at, 0);
    int64_t queued_at_pause = s.counts[MS_QUEUED];
    snap_clear(&s);
    assert_true(queued_at_pause <= 9);
    assert_true(queued_at_pause >= 1);

    run_for(f, 50); /* the send dispatched just before the pause answers */
    snap(f, id, &s);
    int64_t sent = s.counts[MS_SENT];
    snap_clear(&s);
    run_for(f, 300); /* six gaps' worth of loop time */
    snap(f, id, &s);
    assert_int_equal(s.status, CS_PAUSED);
    assert_int_equal(s.counts[MS_QUEUED], queued_at_pause);
    assert_int_equal(s.counts[MS_SENT], sent);
    assert_int_equal(s.counts[MS_SENDING], 0);
    assert_int_equal(sent + queued_at_pause, 12);
    snap_clear(&s);

    assert_int_equal(action(f, WS, id, CA_RESUME), DP_OK);
    assert_int_equal(camp_status(f, id), CS_RUNNING);
    WAIT_STATUS(f, id, CS_COMPLETED, 5000);
    snap(f, id, &s);
    assert_int_equal(s.counts[MS_SENT], 12);
    snap_clear(&s);
    assert_counts_exact(f, id);

    events(f, id, &ev);
    assert_int_equal(ev.n, 5);
    assert_string_equal(ev.v[0].type, "completed");
    assert_string_equal(ev.v[1].type, "resumed");
    assert_string_equal(ev.v[2].type, "paused");
    assert_string_equal(ev.v[3].type, "started");
    assert_string_equal(ev.v[4].type, "created");
    events_clear(&ev);
}

static void test_cancel(void **state)
{
    struct fx *f = *state;
    int64_t sid = add_sandbox(f, "{}");
    int64_t id = create_started(f, body("cancela", sid, 20, 50));
    struct want w = {.id = id, .n = 3};
    struct snap s;
    struct evlist ev;

    run_until(f, claimed_at_least, &w, 3000);
    assert_int_equal(action(f, WS, id, CA_CANCEL), DP_OK);
    int64_t k = claimed(f, id);
    assert_true(k >= 3 && k < 20);
    run_for(f, 300);

    snap(f, id, &s);
    assert_int_equal(s.status, CS_CANCELLED);
    assert_int_equal(s.counts[MS_SENT], k);
    assert_int_equal(s.counts[MS_QUEUED], 20 - k);
    assert_int_equal(s.counts[MS_SENDING], 0);
    assert_true(s.finished_at > 0);
    assert_int_equal(s.next_send_at, 0);
    snap_clear(&s);
    assert_counts_exact(f, id);
    assert_int_equal(count_listed(f, id, MS_QUEUED), 20 - k);

    events(f, id, &ev);
    assert_string_equal(ev.v[0].type, "cancelled");
    assert_null(event_find(&ev, "completed"));
    events_clear(&ev);
    assert_int_equal(action(f, WS, id, CA_RESUME), DP_ETRANSITION);
}

/* ---- scheduling --------------------------------------------------------- */

static void test_scheduled_start(void **state)
{
    struct fx *f = *state;
    int64_t sid = add_sandbox(f, "{}");
    int64_t start_at = now_ms() + 300;
    char ts[TIMEFMT_LEN];
    timefmt_ms(start_at, ts);
    json_t *b = body("agendada", sid, 5, 0);
    json_object_set_new(b, "start_at", json_string(ts));
    int64_t id = create_started(f, b);
    struct snap s;
    struct evlist ev;

    snap(f, id, &s);
    assert_int_equal(s.status, CS_SCHEDULED);
    assert_int_equal(s.start_at, start_at);
    assert_int_equal(s.next_send_at, start_at);
    assert_int_equal(s.started_at, 0);
    snap_clear(&s);

    run_for(f, 200);
    assert_true(now_ms() < start_at);
    assert_int_equal(camp_status(f, id), CS_SCHEDULED);
    assert_int_equal(claimed(f, id), 0);

    WAIT_STATUS(f, id, CS_COMPLETED, 3000);
    snap(f, id, &s);
    assert_true(s.started_at >= start_at);
    assert_true(s.started_at <= start_at + 50);
    assert_int_equal(s.counts[MS_SENT], 5);
    snap_clear(&s);

    struct mlist l;
    messages(f, id, -1, &l);
    int64_t first = INT64_MAX;
    for (size_t i = 0; i < l.n; i++)
        if (l.v[i].sent_at < first)
            first = l.v[i].sent_at;
    free(l.v);
    if (first < start_at || first > start_at + 50)
        fail_msg("first send %lld ms after start_at (want 0..50)", (long long)(first - start_at));

    events(f, id, &ev);
    assert_int_equal(ev.n, 4);
    assert_string_equal(ev.v[0].type, "completed");
    assert_string_equal(ev.v[1].type, "started");
    assert_string_equal(ev.v[2].type, "scheduled");
    assert_string_equal(ev.v[3].type, "created");
    events_clear(&ev);
}

static void test_independent_campaigns(void **state)
{
    struct fx *f = *state;
    int64_t sid = add_sandbox(f, "{}");
    int64_t t0 = timer_now_us();
    int64_t ids[2];
    ids[0] = create_started(f, body("a", sid, 5, 100));
    ids[1] = create_started(f, body("b", sid, 5, 100));
    run_until(f, both_completed, ids, 3000);
    int64_t took_ms = (timer_now_us() - t0) / 1000;
    /* 5 sends 100 ms apart: the last at ~400 ms; serialised it would be ~900 */
    if (took_ms < 380 || took_ms > 700)
        fail_msg("two campaigns of 5 at 100 ms took %lld ms (want ~400-500)", (long long)took_ms);
    assert_counts_exact(f, ids[0]);
    assert_counts_exact(f, ids[1]);
}

struct pipeline {
    int64_t id;
    int overlapped; /* saw messages sent while others were still queued */
};

static int completed_pipelined(struct fx *f, const void *arg)
{
    struct pipeline *p = (struct pipeline *)arg;
    struct snap s;
    snap(f, p->id, &s);
    snap_clear(&s);
    if (s.counts[MS_SENT] > 0 && s.counts[MS_QUEUED] > 0)
        p->overlapped = 1;
    return s.status == CS_COMPLETED;
}

static void test_interval_zero_many(void **state)
{
    struct fx *f = *state;
    int64_t sid = add_sandbox(f, "{}");
    int64_t id = create_started(f, body("muitas", sid, 2000, 0));
    struct snap s;
    struct engine_stats es0, es1;
    engine_stats(f->eng, &es0);
    struct pipeline pl = {.id = id};
    run_until(f, completed_pipelined, &pl, 20000);
    /* Claims are committed and dispatched every turn (256 at a time), not
     * all at the end: a busy campaign must not starve the flush. */
    engine_stats(f->eng, &es1);
    if (!pl.overlapped)
        fail_msg("no message was sent before all 2000 were claimed (%lld commits)",
                 (long long)(es1.commits - es0.commits));
    assert_true(es1.commits - es0.commits >= 2000 / 256);
    snap(f, id, &s);
    assert_int_equal(s.total, 2000);
    assert_int_equal(s.counts[MS_SENT], 2000);
    assert_int_equal(s.counts[MS_QUEUED], 0);
    assert_int_equal(s.counts[MS_SENDING], 0);
    snap_clear(&s);
    assert_counts_exact(f, id);
    struct mlist l;
    messages(f, id, MS_SENT, &l);
    assert_int_equal(l.n, 2000);
    for (size_t i = 0; i < l.n; i++)
        assert_int_equal(l.v[i].attempts, 1);
    free(l.v);
    struct evlist ev;
    events(f, id, &ev);
    assert_int_equal(ev.n, 3);
    assert_string_equal(ev.v[0].type, "completed");
    events_clear(&ev);
}

/* ---- audience ----------------------------------------------------------- */

static void test_duplicates_and_invalid_phones(void **state)
{
    struct fx *f = *state;
    int64_t sid = add_sandbox(f, "{}");
    json_t *b = json_pack(
        "{s:s, s:[I], s:{s:s}, s:{s:i, s:i}, s:[{s:s}, {s:s}, {s:s}, {s:s}, {s:s}, {s:s}]}", "name",
        "dups", "sender_ids", (json_int_t)sid, "message", "text", "oi", "interval", "min_ms", 0,
        "max_ms", 0, "contacts", "phone", "5511990000001", "phone", "5511990000002", "phone",
        "+55 (11) 99000-0001", /* the first one again, typed differently */
        "phone", "123", "phone", "55119900000x1", "phone", "11 99000-0003" /* national */);
    int64_t id = create_started(f, b);
    struct snap s;
    struct evlist ev;

    snap(f, id, &s);
    assert_int_equal(s.total, 6);
    assert_int_equal(s.counts[MS_QUEUED], 3);
    assert_int_equal(s.counts[MS_SKIPPED], 3);
    snap_clear(&s);

    WAIT_STATUS(f, id, CS_COMPLETED, 3000);
    snap(f, id, &s);
    assert_int_equal(s.counts[MS_SENT], 3);
    assert_int_equal(s.counts[MS_SKIPPED], 3);
    snap_clear(&s);
    assert_counts_exact(f, id);

    struct mlist l;
    messages(f, id, -1, &l);
    assert_int_equal(l.n, 6);
    static const int want_status[] = {MS_SENT,    MS_SENT,    MS_SKIPPED,
                                      MS_SKIPPED, MS_SKIPPED, MS_SENT};
    static const char *const want_error[] = {"", "", "duplicate", "invalid_phone", "invalid_phone",
                                             ""};
    for (size_t i = 0; i < l.n; i++) {
        assert_int_equal(l.v[i].status, want_status[i]);
        assert_string_equal(l.v[i].error, want_error[i]);
        if (l.v[i].status == MS_SKIPPED) {
            assert_int_equal(l.v[i].attempts, 0);
            assert_int_equal(l.v[i].sender_id, 0);
        }
    }
    assert_string_equal(l.v[2].phone, "5511990000001");
    assert_string_equal(l.v[5].phone, "5511990000003");
    free(l.v);

    events(f, id, &ev);
    const struct evrow *c = event_find(&ev, "created");
    assert_non_null(c);
    assert_int_equal(detail_int(c, "messages"), 3);
    assert_int_equal(detail_int(c, "skipped"), 3);
    events_clear(&ev);
}

static int count_camp(void *ud, const struct st_campaign *c)
{
    (void)c;
    (*(int *)ud)++;
    return 0;
}

static int n_campaigns(struct fx *f)
{
    int n = 0;
    OK(f->st->v->campaign_list(f->st, WS, -1, count_camp, &n, E));
    return n;
}

static void test_missing_vars(void **state)
{
    struct fx *f = *state;
    int64_t sid = add_sandbox(f, "{}");
    (void)create(f, body("antes", sid, 1, 0)); /* something to leave untouched */
    int before = n_campaigns(f);
    const char *body_json =
        "{\"name\": \"cupom\", \"sender_ids\": [%lld], \"start\": true,"
        " \"interval\": {\"min_ms\": 0, \"max_ms\": 0},"
        " \"message\": {\"text\": \"Oi {{name}}, seu cupom {{cupom}} vale em {{cidade}}\"},"
        " \"contacts\": ["
        "  {\"phone\": \"5511990000001\", \"name\": \"Ana\","
        "   \"vars\": {\"cupom\": \"X1\", \"cidade\": \"SP\"}},"
        "  {\"phone\": \"5511990000002\", \"name\": \"Bia\", \"vars\": {\"cupom\": \"X2\"}},"
        "  {\"phone\": \"5511990000003\", \"vars\": {\"cidade\": \"\"}},"
        "  {\"phone\": \"123\"}"
        " ]}";
    char txt[1024];
    snprintf(txt, sizeof txt, body_json, (long long)sid);
    json_t *b = json_loads(txt, 0, NULL);
    assert_non_null(b);

    int64_t id = 0;
    json_t *missing = NULL;
    dp_err e = {0};
    assert_int_equal(engine_campaign_create(f->eng, WS, b, &id, &missing, &e), DP_EMISSINGVARS);
    assert_int_equal(id, 0);
    assert_non_null(missing);
    /* the invalid phone is skipped, so its lack of everything does not count */
    assert_int_equal(json_object_size(missing), 3);
    assert_int_equal(json_integer_value(json_object_get(missing, "name")), 1);
    assert_int_equal(json_integer_value(json_object_get(missing, "cupom")), 1);
    assert_int_equal(json_integer_value(json_object_get(missing, "cidade")), 2);
    json_decref(missing);
    missing = NULL;
    assert_int_equal(n_campaigns(f), before);
    assert_int_equal(f->st->v->in_transaction(f->st), 0);
    run_for(f, 50);
    assert_int_equal(n_campaigns(f), before);

    json_object_set_new(b, "allow_missing_vars", json_true());
    assert_int_equal(engine_campaign_create(f->eng, WS, b, &id, &missing, &e), DP_OK);
    assert_null(missing);
    assert_true(id > 0);
    json_decref(b);
    assert_int_equal(n_campaigns(f), before + 1);
    WAIT_STATUS(f, id, CS_COMPLETED, 3000);
    struct snap s;
    snap(f, id, &s);
    assert_int_equal(s.total, 4);
    assert_int_equal(s.counts[MS_SENT], 3);
    assert_int_equal(s.counts[MS_SKIPPED], 1);
    snap_clear(&s);
    assert_counts_exact(f, id);
}

/* ---- sender limits ------------------------------------------------------ */

static void test_sender_rate(void **state)
{
    struct fx *f = *state;
    int64_t sid = add_sender(f, "sandbox", "{}", 20, 0);
    int64_t id = create_started(f, body("taxa", sid, 30, 0));
    struct want w = {.id = id, .reason = "sender_limit"};

    run_until(f, has_reason, &w, 1000);
    struct snap s;
    snap(f, id, &s);
    assert_true(s.counts[MS_QUEUED] > 0);
    assert_true(s.next_send_at > 0);
    snap_clear(&s);
    WAIT_STATUS(f, id, CS_COMPLETED, 5000);
    assert_counts_exact(f, id);

    struct mlist l;
    messages(f, id, -1, &l);
    assert_int_equal(l.n, 30);
    for (size_t i = 0; i < l.n; i++)
        assert_int_equal(l.v[i].status, MS_SENT);
    /* messages go out in id order; sent_at is when the result came back, a
     * loop turn after dispatch, hence slack per pair: 40 ms still fails 21/s
     * (20 gaps of 47.6 ms = 952 ms) but not one late answer on a busy machine
     * (989 ms was seen with 10 ms of slack) */
    for (size_t i = 1; i < l.n; i++)
        assert_true(l.v[i].sent_at >= l.v[i - 1].sent_at);
    for (size_t i = 0; i + 20 < l.n; i++) {
        int64_t span = l.v[i + 20].sent_at - l.v[i].sent_at;
        if (span < 1000 - 40)
            fail_msg("21 sends within %lld ms (messages %zu..%zu): more than 20 per second",
                     (long long)span, i, i + 20);
    }
    int64_t whole = l.v[29].sent_at - l.v[0].sent_at;
    if (whole < 1450 - 40 || whole > 2500)
        fail_msg("30 sends at 20/s spanned %lld ms (want ~1450)", (long long)whole);
    free(l.v);
}

static void test_sender_fairness(void **state)
{
    struct fx *f = *state;
    int64_t sid = add_sender(f, "sandbox", "{}", 40, 0);
    int64_t a = create_started(f, body("justa-a", sid, 40, 0));
    int64_t b = create_started(f, body("justa-b", sid, 40, 0));
    run_for(f, 600);
    int64_t na = claimed(f, a), nb = claimed(f, b);
    /* 40/s for 0.6 s: about 25 sends in all, taken in turns */
    if (na < 8 || nb < 8 || na - nb > 2 || nb - na > 2 || na + nb > 27 || na + nb < 18)
        fail_msg("after 0.6 s at 40/s: campaign a claimed %lld, b %lld", (long long)na,
                 (long long)nb);
    struct want w = {.id = a, .reason = "sender_limit"};
    assert_true(has_reason(f, &w));
}

static void test_daily_limit(void **state)
{
    struct fx *f = *state;
    int64_t sid = add_sender(f, "sandbox", "{}", 0, 3);
    int64_t id = create_started(f, body("diario", sid, 5, 0));
    struct want w = {.id = id, .reason = "sender_limit"};
    struct snap s;

    run_until(f, has_reason, &w, 2000);
    run_for(f, 200);
    snap(f, id, &s);
    assert_int_equal(s.status, CS_RUNNING);
    assert_string_equal(s.reason, "sender_limit");
    assert_int_equal(s.counts[MS_SENT], 3);
    assert_int_equal(s.counts[MS_QUEUED], 2);
    int64_t now = now_ms();
    if (s.next_send_at < now + DAY_MS - 60000 || s.next_send_at > now + DAY_MS)
        fail_msg("next_send_at is %lld ms away (want ~24 h)", (long long)(s.next_send_at - now));
    snap_clear(&s);
    assert_counts_exact(f, id);

    struct evlist ev;
    events(f, id, &ev);
    const struct evrow *wt = event_find(&ev, "waiting");
    assert_non_null(wt);
    assert_string_equal(json_string_value(json_object_get(wt->detail, "reason")), "sender_limit");
    assert_non_null(json_string_value(json_object_get(wt->detail, "until")));
    events_clear(&ev);

    /* the recipients are on disk: a restart does not reset the day */
    restart(f);
    run_until(f, has_reason, &w, 2000);
    run_for(f, 200);
    snap(f, id, &s);
    assert_int_equal(s.counts[MS_SENT], 3);
    assert_int_equal(s.counts[MS_QUEUED], 2);
    assert_true(s.next_send_at > now_ms() + DAY_MS - 60000);
    snap_clear(&s);
}

/* ---- failures ----------------------------------------------------------- */

static int64_t sum_attempts(struct fx *f, int64_t id)
{
    struct mlist l;
    int64_t n = 0;
    messages(f, id, -1, &l);
    for (size_t i = 0; i < l.n; i++)
        n += l.v[i].attempts;
    free(l.v);
    return n;
}

static void test_sender_removed(void **state)
{
    struct fx *f = *state;
    int64_t sid = add_sandbox(f, "{\"transient_fail_rate\": 1}");
    json_t *b = body("falha", sid, 3, 0);
    json_object_set_new(b, "max_sender_failures", json_integer(3));
    json_object_set_new(b, "max_attempts", json_integer(10));
    int64_t id = create_started(f, b);
    struct want w = {.id = id, .reason = "no_sender"};

    run_until(f, has_reason, &w, 4000);
    assert_int_equal(sum_attempts(f, id), 3);
    run_for(f, 300);
    assert_int_equal(sum_attempts(f, id), 3); /* nothing more goes out */
    struct snap s;
    snap(f, id, &s);
    assert_int_equal(s.status, CS_RUNNING);
    assert_string_equal(s.reason, "no_sender");
    assert_int_equal(s.counts[MS_QUEUED], 3);
    snap_clear(&s);
    assert_counts_exact(f, id);

    struct evlist ev;
    events(f, id, &ev);
    assert_int_equal(event_count(&ev, "sender_removed"), 1);
    const struct evrow *r = event_find(&ev, "sender_removed");
    assert_int_equal(detail_int(r, "sender_id"), sid);
    assert_int_equal(detail_int(r, "failures"), 3);
    const struct evrow *wt = event_find(&ev, "waiting");
    assert_non_null(wt);
    assert_string_equal(json_string_value(json_object_get(wt->detail, "reason")), "no_sender");
    events_clear(&ev);
}

static void test_failover_to_good_sender(void **state)
{
    struct fx *f = *state;
    int64_t bad = add_sandbox(f, "{\"transient_fail_rate\": 1}");
    int64_t good = add_sandbox(f, "{}");
    json_t *b = json_pack("{s:s, s:[I, I], s:{s:s}, s:o, s:{s:i, s:i}, s:i, s:i}", "name", "dois",
                          "sender_ids", (json_int_t)bad, (json_int_t)good, "message", "text", "oi",
                          "contacts", contacts(6, 1), "interval", "min_ms", 0, "max_ms", 0,
                          "max_sender_failures", 3, "max_attempts", 10);
    int64_t id = create_started(f, b);
    WAIT_STATUS(f, id, CS_COMPLETED, 6000);
    struct snap s;
    snap(f, id, &s);
    assert_int_equal(s.counts[MS_SENT], 6);
    snap_clear(&s);
    assert_counts_exact(f, id);
    struct mlist l;
    messages(f, id, -1, &l);
    for (size_t i = 0; i < l.n; i++) {
        assert_int_equal(l.v[i].status, MS_SENT);
        assert_int_equal(l.v[i].sender_id, good);
        assert_true(l.v[i].attempts >= 1 && l.v[i].attempts <= 2);
    }
    free(l.v);
    /* round-robin put 3 on the bad sender; each failed once, then went to the good one */
    assert_int_equal(sum_attempts(f, id), 9);
    struct evlist ev;
    events(f, id, &ev);
    assert_int_equal(event_count(&ev, "sender_removed"), 1);
    assert_int_equal(detail_int(event_find(&ev, "sender_removed"), "sender_id"), bad);
    events_clear(&ev);
}

static void test_retries_exhausted(void **state)
{
    struct fx *f = *state;
    int64_t sid = add_sandbox(f, "{\"transient_fail_rate\": 1}");
    json_t *b = body("tentativas", sid, 2, 0);
    json_object_set_new(b, "max_attempts", json_integer(2));
    json_object_set_new(b, "max_sender_failures", json_integer(100));
    int64_t id = create_started(f, b);
    WAIT_STATUS(f, id, CS_COMPLETED, 10000);
    struct snap s;
    snap(f, id, &s);
    assert_int_equal(s.counts[MS_FAILED], 2);
    snap_clear(&s);
    assert_counts_exact(f, id);
    struct mlist l;
    messages(f, id, -1, &l);
    assert_int_equal(l.n, 2);
    for (size_t i = 0; i < l.n; i++) {
        assert_int_equal(l.v[i].status, MS_FAILED);
        assert_int_equal(l.v[i].attempts, 2);
        assert_string_equal(l.v[i].error, "sandbox_transient");
        assert_true(l.v[i].failed_at > 0);
        assert_int_equal(l.v[i].sent_at, 0);
    }
    free(l.v);
}

static void test_permanent_failure(void **state)
{
    struct fx *f = *state;
    char p[16];
    char cfg[128];
    snprintf(cfg, sizeof cfg, "{\"fail_phones\": [\"%s\"]}", phone_of(1, p));
    int64_t sid = add_sandbox(f, cfg);
    json_t *b = body("permanente", sid, 4, 30);
    /* one failure would be enough to remove the sender, were it counted */
    json_object_set_new(b, "max_sender_failures", json_integer(1));
    int64_t id = create_started(f, b);
    WAIT_STATUS(f, id, CS_COMPLETED, 3000);
    struct snap s;
    snap(f, id, &s);
    assert_int_equal(s.counts[MS_FAILED], 1);
    assert_int_equal(s.counts[MS_SENT], 3);
    snap_clear(&s);
    assert_counts_exact(f, id);
    struct mlist l;
    messages(f, id, -1, &l);
    assert_int_equal(l.v[0].status, MS_FAILED);
    assert_int_equal(l.v[0].attempts, 1);
    assert_string_equal(l.v[0].error, "sandbox_rejected");
    for (size_t i = 1; i < l.n; i++) {
        assert_int_equal(l.v[i].status, MS_SENT);
        assert_int_equal(l.v[i].sender_id, sid);
    }
    free(l.v);
    struct evlist ev;
    events(f, id, &ev);
    assert_null(event_find(&ev, "sender_removed"));
    events_clear(&ev);
}

/* Pausing while a send is in flight that then fails transiently: the message
 * goes back to `queued` on disk and must be retried after the resume.
 * Regression: the retry used to be dropped from memory while paused; the
 * prefetch cursor was already past it, so the campaign completed with the
 * message still `queued` and never retried. */
static void test_pause_with_retry_in_flight(void **state)
{
    struct fx *f = *state;
    int64_t sid = add_sandbox(f, "{\"latency_ms\": 150, \"transient_fail_rate\": 1}");
    json_t *b = body("pausa-retry", sid, 1, 0);
    json_object_set_new(b, "max_attempts", json_integer(2));
    json_object_set_new(b, "max_sender_failures", json_integer(100));
    int64_t id = create_started(f, b);
    struct want w = {.id = id, .n = 1};
    run_until(f, claimed_at_least, &w, 1000);
    assert_int_equal(action(f, WS, id, CA_PAUSE), DP_OK);
    run_for(f, 300); /* the first attempt fails while paused */
    struct snap s;
    snap(f, id, &s);
    assert_int_equal(s.counts[MS_QUEUED], 1);
    snap_clear(&s);
    assert_int_equal(action(f, WS, id, CA_RESUME), DP_OK);
    WAIT_STATUS(f, id, CS_COMPLETED, 5000);
    snap(f, id, &s);
    int64_t queued = s.counts[MS_QUEUED], failed = s.counts[MS_FAILED];
    snap_clear(&s);
    assert_counts_exact(f, id);
    if (queued != 0 || failed != 1)
        fail_msg("completed with %lld queued, %lld failed: the retry was lost across the pause",
                 (long long)queued, (long long)failed);
    assert_int_equal(sum_attempts(f, id), 2);
}

/* ---- crash recovery ----------------------------------------------------- */

struct first_ctx {
    struct st_message m;
    int got;
};

static int first_msg_cb(void *ud, const struct st_message *m)
{
    struct first_ctx *c = ud;
    if (c->got)
        return 0;
    c->got = 1;
    c->m = *m;
    c->m.phone = strdup(m->phone);
    c->m.name = m->name ? strdup(m->name) : NULL;
    c->m.vars = m->vars ? strdup(m->vars) : NULL;
    c->m.provider_id = NULL;
    c->m.error_code = NULL;
    c->m.error_detail = NULL;
    return 0;
}

/* Marks the campaign's first message `sending` as the engine would have just
 * before a crash, counts included, and commits. Returns its id. */
static int64_t mark_first_sending(struct fx *f, int64_t id, int64_t sid)
{
    struct first_ctx c = {0};
    OK(engine_flush(f->eng, E));
    OK(f->st->v->message_list(f->st, id, -1, 0, 1, first_msg_cb, &c, E));
    assert_true(c.got);
    assert_int_equal(c.m.status, MS_QUEUED);
    c.m.status = MS_SENDING;
    c.m.attempts = 1;
    c.m.sender_id = sid;
    OK(f->st->v->message_update(f->st, &c.m, E));
    int64_t delta[MS__COUNT] = {0};
    delta[MS_QUEUED] = -1;
    delta[MS_SENDING] = 1;
    OK(f->st->v->campaign_counts_add(f->st, id, delta, E));
    OK(f->st->v->commit(f->st, E));
    int64_t mid = c.m.id;
    st_message_clear(&c.m);
    return mid;
}

static const struct mrow *find_msg(const struct mlist *l, int64_t mid)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].id == mid)
            return &l->v[i];
    fail_msg("message %lld not listed", (long long)mid);
    return NULL;
}

/* A campaign of three on a sandbox (with resend_unknown when resend) whose
 * first message a crash left SENDING: the engine restarts, its "recovered"
 * event counts that message requeued (resend) or unknown, and the campaign
 * runs to completion. Returns the campaign's id and, in *mid, the message's. */
static int64_t crash_with_first_sending(struct fx *f, const char *name, int resend, int64_t *mid)
{
    int64_t sid = add_sandbox(f, "{}");
    json_t *b = body(name, sid, 3, 20);
    if (resend)
        json_object_set_new(b, "resend_unknown", json_true());
    int64_t id = create_started(f, b);
    *mid = mark_first_sending(f, id, sid);
    restart(f);

    struct evlist ev;
    events(f, id, &ev);
    const struct evrow *r = event_find(&ev, "recovered");
    assert_non_null(r);
    assert_int_equal(detail_int(r, "requeued"), resend ? 1 : 0);
    assert_int_equal(detail_int(r, "unknown"), resend ? 0 : 1);
    events_clear(&ev);

    WAIT_STATUS(f, id, CS_COMPLETED, 3000);
    return id;
}

static void test_crash_recovery_unknown(void **state)
{
    struct fx *f = *state;
    int64_t mid;
    int64_t id = crash_with_first_sending(f, "queda", 0, &mid);
    struct snap s;
    snap(f, id, &s);
    assert_int_equal(s.counts[MS_UNKNOWN], 1);
    assert_int_equal(s.counts[MS_SENT], 2);
    assert_int_equal(s.counts[MS_SENDING], 0);
    snap_clear(&s);
    assert_counts_exact(f, id);
    struct mlist l;
    messages(f, id, -1, &l);
    const struct mrow *m = find_msg(&l, mid);
    assert_int_equal(m->status, MS_UNKNOWN);
    assert_int_equal(m->attempts, 1); /* not resent */
    assert_int_equal(m->sent_at, 0);
    free(l.v);
    struct evlist ev;
    events(f, id, &ev);
    assert_string_equal(ev.v[0].type, "completed");
    events_clear(&ev);
}

static void test_crash_recovery_resend(void **state)
{
    struct fx *f = *state;
    int64_t mid;
    int64_t id = crash_with_first_sending(f, "queda-reenvio", 1, &mid);
    struct snap s;
    snap(f, id, &s);
    assert_int_equal(s.counts[MS_SENT], 3);
    assert_int_equal(s.counts[MS_UNKNOWN], 0);
    snap_clear(&s);
    assert_counts_exact(f, id);
    struct mlist l;
    messages(f, id, -1, &l);
    const struct mrow *m = find_msg(&l, mid);
    assert_int_equal(m->status, MS_SENT);
    assert_int_equal(m->attempts, 2);
    free(l.v);
}

/* The real thing: a send handed to a slow gateway when the engine goes away. */
static void test_crash_with_send_in_flight(void **state)
{
    struct fx *f = *state;
    int64_t slow = add_sandbox(f, "{\"latency_ms\": 5000}");
    int64_t id = create_started(f, body("voando", slow, 2, 10000));
    struct want w = {.id = id, .n = 1};
    run_until(f, claimed_at_least, &w, 1000);
    run_for(f, 50); /* committed and dispatched */
    restart(f);
    struct snap s;
    snap(f, id, &s);
    assert_int_equal(s.counts[MS_UNKNOWN], 1);
    assert_int_equal(s.counts[MS_SENDING], 0);
    assert_int_equal(s.status, CS_RUNNING);
    snap_clear(&s);
    assert_counts_exact(f, id);
    struct evlist ev;
    events(f, id, &ev);
    assert_non_null(event_find(&ev, "recovered"));
    events_clear(&ev);
}

/* ---- PATCH ---------------------------------------------------------------- */

static int patch(struct fx *f, int64_t id, const char *json)
{
    dp_err e = {0};
    json_t *b = json_loads(json, 0, NULL);
    assert_non_null(b);
    int rc = engine_campaign_patch(f->eng, WS, id, b, &e);
    json_decref(b);
    return rc;
}

static void test_patch_draft(void **state)
{
    struct fx *f = *state;
    int64_t sid = add_sandbox(f, "{}");
    int64_t id = create(f, body("editar", sid, 3, 5000));
    struct snap s;
    assert_int_equal(patch(f, id,
                           "{\"interval\": {\"min_ms\": 10, \"max_ms\": 20},"
                           " \"message\": {\"text\": \"novo {{name}}\"}}"),
                     DP_OK);
    snap(f, id, &s);
    assert_int_equal(s.status, CS_DRAFT);
    json_t *iv = json_object_get(s.spec, "interval");
    assert_int_equal(json_integer_value(json_object_get(iv, "min_ms")), 10);
    assert_int_equal(json_integer_value(json_object_get(iv, "max_ms")), 20);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(s.spec, "message"), "text")),
        "novo {{name}}");
    snap_clear(&s);

    /* a bad PATCH changes nothing */
    assert_int_equal(patch(f, id, "{\"interval\": {\"min_ms\": 50, \"max_ms\": 10}}"), DP_EINVAL);
    snap(f, id, &s);
    iv = json_object_get(s.spec, "interval");
    assert_int_equal(json_integer_value(json_object_get(iv, "min_ms")), 10);
    snap_clear(&s);

    /* and the new interval is the one used: 3 sends 10-20 ms apart */
    assert_int_equal(action(f, WS, id, CA_START), DP_OK);
    WAIT_STATUS(f, id, CS_COMPLETED, 1000);
    assert_counts_exact(f, id);
}

static void test_patch_running_refused(void **state)
{
    struct fx *f = *state;
    int64_t sid = add_sandbox(f, "{}");
    int64_t id = create_started(f, body("rodando", sid, 3, 10000));
    assert_int_equal(patch(f, id, "{\"message\": {\"text\": \"outro\"}}"), DP_ETRANSITION);
    struct snap s;
    snap(f, id, &s);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(s.spec, "message"), "text")),
        "{{greeting}}, {{name}}!");
    assert_int_equal(s.status, CS_RUNNING);
    snap_clear(&s);
    assert_int_equal(patch(f, 999999, "{\"name\": \"x\"}"), DP_ENOTFOUND);
}

static void on_hook(struct evhttp_request *req, void *arg)
{
    struct fx *f = arg;
    struct evbuffer *ib = evhttp_request_get_input_buffer(req);
    char buf[1024];
    size_t n = evbuffer_get_length(ib);
    if (n >= sizeof buf)
        n = sizeof buf - 1;
    evbuffer_copyout(ib, buf, n);
    buf[n] = '\0';
    json_t *j = json_loads(buf, 0, NULL);
    if (j && f->n_hooked < MAX_HOOKED) {
        struct hooked *h = &f->hooked[f->n_hooked++];
        h->message_id = json_integer_value(json_object_get(j, "message_id"));
        snprintf(h->text, sizeof h->text, "%s", json_string_value(json_object_get(j, "text")));
    }
    json_decref(j);
    struct evbuffer *ob = evbuffer_new();
    evbuffer_add_printf(ob, "{\"id\": \"w-%d\"}", f->n_hooked);
    evhttp_send_reply(req, 200, "OK", ob);
    evbuffer_free(ob);
}

static void start_receiver(struct fx *f)
{
    f->http = evhttp_new(f->base);
    assert_non_null(f->http);
    evhttp_set_gencb(f->http, on_hook, f);
    struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(f->http, "127.0.0.1", 0);
    assert_non_null(bs);
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    assert_int_equal(getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sa, &sl), 0);
    f->port = ntohs(sa.sin_port);
}

static int hooked_at_least(struct fx *f, const void *arg)
{
    return f->n_hooked >= *(const int *)arg;
}

static void test_patch_paused_new_text(void **state)
{
    struct fx *f = *state;
    start_receiver(f);
    char cfg[128];
    snprintf(cfg, sizeof cfg, "{\"url\": \"http://127.0.0.1:%d/send\"}", f->port);
    int64_t sid = add_sender(f, "webhook", cfg, 0, 0);
    json_t *b = json_pack("{s:s, s:[I], s:{s:s}, s:o, s:{s:i, s:i}}", "name", "texto", "sender_ids",
                          (json_int_t)sid, "message", "text", "velho {{name}}", "contacts",
                          contacts(5, 1), "interval", "min_ms", 60, "max_ms", 60);
    int64_t id = create_started(f, b);
    int two = 2;
    run_until(f, hooked_at_least, &two, 3000);
    assert_int_equal(action(f, WS, id, CA_PAUSE), DP_OK);
    run_for(f, 150); /* whatever was in flight lands */
    int before = f->n_hooked;
    assert_true(before >= 2 && before < 5);
    assert_int_equal(patch(f, id, "{\"message\": {\"text\": \"novo {{name}}\"}}"), DP_OK);
    assert_int_equal(camp_status(f, id), CS_PAUSED);
    run_for(f, 150);
    assert_int_equal(f->n_hooked, before); /* still paused after the PATCH */
    assert_int_equal(action(f, WS, id, CA_RESUME), DP_OK);
    WAIT_STATUS(f, id, CS_COMPLETED, 3000);
    assert_int_equal(f->n_hooked, 5);
    for (int i = 0; i < f->n_hooked; i++) {
        char want[32];
        snprintf(want, sizeof want, "%s C%d", i < before ? "velho" : "novo", i + 1);
        assert_string_equal(f->hooked[i].text, want);
    }
    assert_counts_exact(f, id);
    struct evlist ev;
    events(f, id, &ev);
    assert_non_null(event_find(&ev, "updated"));
    events_clear(&ev);
}

/* ---- more transitions ----------------------------------------------------- */

static void test_scheduled_cancel_and_early_start(void **state)
{
    struct fx *f = *state;
    int64_t sid = add_sandbox(f, "{}");
    char ts[TIMEFMT_LEN];
    timefmt_ms(now_ms() + 200, ts);
    json_t *b = body("agendada-cancelada", sid, 3, 0);
    json_object_set_new(b, "start_at", json_string(ts));
    int64_t cancelled = create_started(f, b);
    assert_int_equal(camp_status(f, cancelled), CS_SCHEDULED);
    assert_int_equal(action(f, WS, cancelled, CA_PAUSE), DP_ETRANSITION);
    assert_int_equal(action(f, WS, cancelled, CA_CANCEL), DP_OK);

    /* a scheduled campaign started by hand runs now */
    timefmt_ms(now_ms() + 60000, ts);
    b = body("agendada-antecipada", sid, 3, 0);
    json_object_set_new(b, "start_at", json_string(ts));
    int64_t early = create_started(f, b);
    assert_int_equal(camp_status(f, early), CS_SCHEDULED);
    assert_int_equal(action(f, WS, early, CA_START), DP_OK);
    WAIT_STATUS(f, early, CS_COMPLETED, 2000);
    assert_counts_exact(f, early);

    run_for(f, 300); /* past the cancelled one's start_at */
    struct snap s;
    snap(f, cancelled, &s);
    assert_int_equal(s.status, CS_CANCELLED);
    assert_int_equal(s.counts[MS_QUEUED], 3);
    assert_int_equal(s.started_at, 0);
    snap_clear(&s);
    struct evlist ev;
    events(f, cancelled, &ev);
    assert_null(event_find(&ev, "started"));
    events_clear(&ev);
}

static void test_all_skipped_completes(void **state)
{
    struct fx *f = *state;
    int64_t sid = add_sandbox(f, "{}");
    json_t *b = json_pack("{s:s, s:[I], s:{s:s}, s:[{s:s}, {s:s}]}", "name", "vazia", "sender_ids",
                          (json_int_t)sid, "message", "text", "oi", "contacts", "phone", "1",
                          "phone", "abc");
    int64_t id = create_started(f, b);
    WAIT_STATUS(f, id, CS_COMPLETED, 1000);
    struct snap s;
    snap(f, id, &s);
    assert_int_equal(s.total, 2);
    assert_int_equal(s.counts[MS_SKIPPED], 2);
    snap_clear(&s);
    assert_counts_exact(f, id);
}

static void set_active(struct fx *f, int64_t sid, int active)
{
    struct st_sender row = {0};
    OK(engine_flush(f->eng, E));
    OK(f->st->v->sender_get(f->st, WS, sid, &row, E));
    row.active = active;
    OK(f->st->v->sender_update(f->st, &row, E));
    OK(f->st->v->commit(f->st, E));
    OK(engine_sender_changed(f->eng, sid, E));
    st_sender_clear(&row);
}

/* A disabled sender leaves its campaigns waiting (no_sender); enabling it
 * again wakes them without any action on the campaign. */
static void test_sender_disabled_and_back(void **state)
{
    struct fx *f = *state;
    int64_t sid = add_sandbox(f, "{}");
    int64_t id = create_started(f, body("desligado", sid, 6, 40));
    struct want w = {.id = id, .n = 2};
    run_until(f, claimed_at_least, &w, 2000);
    set_active(f, sid, 0);
    struct want nos = {.id = id, .reason = "no_sender"};
    run_until(f, has_reason, &nos, 1000);
    int64_t k = claimed(f, id);
    run_for(f, 200);
    assert_int_equal(claimed(f, id), k);
    assert_true(k < 6);
    set_active(f, sid, 1);
    WAIT_STATUS(f, id, CS_COMPLETED, 2000);
    struct snap s;
    snap(f, id, &s);
    assert_int_equal(s.counts[MS_SENT], 6);
    snap_clear(&s);
    assert_counts_exact(f, id);
}

/* A sender deleted while one of its sends is still in flight (allowed by the
 * API once the campaign using it is cancelled): the answer must still land.
 * Regression: deletion used to free the sender's pool entry while sends
 * still pointed at it (heap-use-after-free under ASan); it now lingers until
 * its last send returns. */
static void test_delete_sender_with_send_in_flight(void **state)
{
    struct fx *f = *state;
    int64_t sid = add_sandbox(f, "{\"latency_ms\": 200}");
    int64_t id = create_started(f, body("apagar", sid, 2, 10000));
    struct want w = {.id = id, .n = 1};
    run_until(f, claimed_at_least, &w, 1000);
    run_for(f, 20); /* committed and handed to the sandbox */
    assert_int_equal(action(f, WS, id, CA_CANCEL), DP_OK);
    int in_use = 1;
    OK(f->st->v->sender_in_use(f->st, WS, sid, &in_use, E));
    assert_int_equal(in_use, 0); /* so the API lets it go */
    OK(engine_flush(f->eng, E));
    OK(f->st->v->sender_delete(f->st, WS, sid, E));
    OK(f->st->v->commit(f->st, E));
    OK(engine_sender_changed(f->eng, sid, E));
    run_for(f, 400);
    struct snap s;
    snap(f, id, &s);
    assert_int_equal(s.status, CS_CANCELLED);
    assert_int_equal(s.counts[MS_SENDING], 0);
    assert_int_equal(s.counts[MS_SENT], 1);
    assert_int_equal(s.counts[MS_QUEUED], 1);
    snap_clear(&s);
    assert_counts_exact(f, id);
}

/* engine_free() promises the state of a crash. A claim made outside a loop
 * turn (here: enabling a sender wakes a waiting campaign, which claims at
 * once) sits in the store's open transaction until the flush event runs.
 * Regression: engine_free() used to leave that transaction open while
 * dropping the in-memory count deltas, so the next start committed message
 * rows without their counts. It now rolls back, exactly like a crash. */
static void test_free_without_drain_keeps_counts(void **state)
{
    struct fx *f = *state;
    int64_t sid = add_sandbox(f, "{}");
    int64_t id = create_started(f, body("aberta", sid, 3, 100));
    struct want one = {.id = id, .n = 1};
    run_until(f, claimed_at_least, &one, 1000);
    set_active(f, sid, 0);
    struct want nos = {.id = id, .reason = "no_sender"};
    run_until(f, has_reason, &nos, 1000);
    set_active(f, sid, 1); /* claims the second message right here */
    assert_int_equal(claimed(f, id), 2);
    restart(f);
    assert_counts_exact(f, id);
}

int main(void)
{
    log_set_level(LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_receipts_after_completion, setup, teardown),
        cmocka_unit_test_setup_teardown(test_illegal_transitions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pause_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scheduled_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_independent_campaigns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interval_zero_many, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicates_and_invalid_phones, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_vars, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sender_rate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sender_fairness, setup, teardown),
        cmocka_unit_test_setup_teardown(test_daily_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sender_removed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failover_to_good_sender, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retries_exhausted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_permanent_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pause_with_retry_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_recovery_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_recovery_resend, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_with_send_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_patch_draft, setup, teardown),
        cmocka_unit_test_setup_teardown(test_patch_running_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_patch_paused_new_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scheduled_cancel_and_early_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_all_skipped_completes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sender_disabled_and_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_sender_with_send_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_without_drain_keeps_counts, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
