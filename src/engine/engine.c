/* The engine: campaign runners, the sender pool and the commit-then-send
 * pipeline, all on one event loop.
 *
 * A campaign runner is a state machine with its own timer. When it fires the
 * runner checks its rest (pause after N), its work window, then takes the
 * next message (a due retry first, else the next queued one, prefetched from
 * the store in small pages so memory stays flat), picks a sender by
 * round-robin, marks the message `sending` in the open transaction and puts
 * it on the dispatch list. A flush event, activated by the turn's first
 * write, applies count deltas, commits, and only then calls the senders: a
 * message is never handed to a gateway before its `sending` mark is on disk.
 *
 * Senders are shared: each has a token bucket (no burst, so rate_per_second
 * is never exceeded in any one-second window), a cap on sends in flight and a
 * FIFO of campaigns waiting for it, served in order so none starves.
 *
 * Store failures on this path are fatal on purpose (crash-only): the process
 * exits and the next start recovers from the last commit, which is the one
 * state known to be true. */
#include "engine/engine.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_int.h"
#include "engine/timer.h"
#include "senders/sender.h"
#include "util/buf.h"
#include "util/httpc.h"
#include "util/imap.h"
#include "util/keyword.h"
#include "util/log.h"
#include "util/phone.h"
#include "util/phonenum.h"
#include "util/timefmt.h"
#include "util/tz.h"

#define PREFETCH 256          /* queued messages kept in memory per campaign */
#define TICK_BATCH 256        /* sends one runner may claim per turn at interval 0 */
#define DAY_MS (24LL * 3600 * 1000)
#define TEXT_CAP (256 * 1024) /* a rendered message */
#define HEALTH_PERIOD_MS (3 * 60 * 1000)  /* a healthy gateway is asked this often */
#define HOLD_RECHECK_MS (30 * 1000)       /* a held one, this often (both: engine_opts) */
#define UNAVAILABLE_RETRY_MS 5000         /* a message the gateway could not take */
#define TEMPLATE_FAILURES_MAX 3           /* template refusals that pause a campaign */

struct camp;

/* One sender instance; replaced on a config change, kept alive until the
 * sends it started have finished. */
struct sinst {
    const struct sender_vtab *vt;
    sender *inst;
    int refs; /* sends in flight + 1 while it is the sender's current instance */
};

struct recip {
    int64_t phone, at;
};

/* Recent sends of one sender: the last send to each phone, and the sends in
 * time order so the old ones can be dropped from the front. */
struct sendlog {
    imap last;          /* phone → last send (ms) */
    struct recip *fifo; /* entries whose time no longer matches `last` are stale */
    size_t head, len, cap;
};

struct esender {
    engine *eng;
    int64_t id, ws;
    int active;
    int deleted;                /* out of the pool; freed when its last send returns */
    struct esender *next_zombie;
    struct sinst *cur;
    double rate;
    int64_t daily_limit;
    int64_t next_free_us;
    int in_flight, max_in_flight;
    int64_t claims;
    struct camp *wq_head, *wq_tail;
    dp_timer timer;
    /* out of every rotation until healthy: an account problem or a gateway down */
    int held;
    char held_reason[64];
    dp_timer health_timer;
    struct sender_health health;
    int64_t health_at; /* wall ms of the last answer, 0 = never asked */
    /* per-recipient spacing (Meta's pair rate limit) */
    int64_t pair_gap_ms;
    struct sendlog pair;
    /* unique recipients in the last 24 h, only for senders with a daily limit */
    struct sendlog recent;
};

struct emsg {
    struct st_message m;
    struct camp *c;
    struct esender *s;
    struct sinst *si;
    char *text;
    struct emsg *next;             /* dispatch list */
    struct emsg *fl_prev, *fl_next; /* the engine's list of sends in flight */
};

struct camp {
    engine *eng;
    int64_t id, ws;
    char *name;
    int status;
    const char *reason; /* static string or NULL */
    struct camp_spec spec;
    json_t *spec_json;
    int64_t start_at, created_at, started_at, finished_at, next_send_at;
    int64_t sends_since_rest, rest_until;
    dp_timer timer;
    size_t rr;
    int consec[SPEC_MAX_SENDERS];
    unsigned char removed[SPEC_MAX_SENDERS];
    /* senders (by slot) whose hold this campaign has an event for: a campaign
     * started while its sender is already held is told once, when it finds
     * no sender, not again on every tick */
    uint64_t held_told;
    /* prefetched queued messages: a ring */
    struct emsg **q;
    size_t q_head, q_n, q_cap;
    int64_t cursor;
    int exhausted;
    /* messages waiting for a retry: a min-heap on next_attempt_at */
    struct emsg **retry;
    size_t n_retry, cap_retry;
    int in_flight;
    int64_t delta[MS__COUNT];
    int dirty, row_dirty;
    struct camp *dirty_next;
    struct esender *waiting_on;
    struct camp *wq_next;
    int win_open;
    int64_t win_change;
    int win_known;
    int template_failures; /* ACT_BAD_TEMPLATE answers; 3 pause the campaign */
    int freed_pending;     /* final, to be freed once nothing is in flight */
};

struct engine {
    struct event_base *base;
    store *st;
    dp_timers *timers;
    httpc *http;
    struct sender_hooks hooks;
    struct sender_env env;
    imap senders; /* id → struct esender * */
    imap camps;   /* id → struct camp * */
    struct event *flush_ev;
    int flush_armed;
    struct emsg *pend_head, *pend_tail;
    struct emsg *flying; /* handed to a sender, no answer yet */
    struct esender *zombies; /* deleted senders with sends still in flight */
    struct test_send *tests; /* POST /senders/{id}/test in flight */
    /* cheap guards for two per-message look-ups: most of the time there is
     * nothing parked and, until an operator or a gateway restricts a phone,
     * no restriction at all */
    int64_t parked;
    int restrictions;
    int draining; /* stopping: no new sends */
    struct camp *dirty;
    dp_rng rng;
    char cc[8];
    int64_t health_period_ms, hold_recheck_ms;
    struct engine_stats stats;
    /* deletes expired restriction entries in bounded batches */
    dp_timer purge_timer;
    int64_t purge_total; /* entries deleted by the run in progress */
};

/* A POST /senders/{id}/test send, outside any campaign. */
struct test_send {
    engine *eng;
    struct sinst *si;
    engine_test_fn done; /* NULL once the caller went away */
    void *ud;
    struct test_send *prev, *next;
};

static void camp_tick(struct camp *c, struct esender *granted);
static void sender_hold(struct esender *s, const char *reason);
static void health_schedule(struct esender *s, int64_t delay_ms);
static void on_health_timer(dp_timer *t, void *ud);
static void camp_auto_pause(struct camp *c, const char *reason, const char *code,
                            const char *detail);
static void camp_maybe_free(struct camp *c);

static void set_str(char **dst, const char *src)
{
    free(*dst);
    *dst = src && *src ? strdup(src) : NULL;
}

/* ---- small helpers ---------------------------------------------------- */

static int64_t wall_ms(void)
{
    return timefmt_now_ms();
}

static void fatal_store(const char *what, const dp_err *e)
{
    log_error("store failure, exiting so the next start recovers from the last commit",
              "op=%s err=\"%s\"", what, e ? e->msg : "");
    exit(75);
}

static void schedule_flush(engine *eng)
{
    if (!eng->flush_armed) {
        eng->flush_armed = 1;
        event_active(eng->flush_ev, EV_TIMEOUT, 0);
    }
}

static void mark_dirty(struct camp *c)
{
    if (!c->dirty) {
        c->dirty = 1;
        c->dirty_next = c->eng->dirty;
        c->eng->dirty = c;
    }
    schedule_flush(c->eng);
}

static void count_move(struct camp *c, int from, int to)
{
    if (from >= 0)
        c->delta[from]--;
    c->delta[to]++;
    mark_dirty(c);
}

static struct esender *sender_get(engine *eng, int64_t id)
{
    int64_t v;
    return imap_get(&eng->senders, id, &v) ? (struct esender *)(intptr_t)v : NULL;
}

static struct camp *camp_get(engine *eng, int64_t id)
{
    int64_t v;
    return imap_get(&eng->camps, id, &v) ? (struct camp *)(intptr_t)v : NULL;
}

static void arm_wall(struct camp *c, int64_t when_ms)
{
    int64_t now = wall_ms();
    int64_t delay_us = (when_ms - now) * 1000;
    if (delay_us < 0)
        delay_us = 0;
    c->next_send_at = when_ms > now ? when_ms : now;
    if (timer_arm_in(c->eng->timers, &c->timer, delay_us))
        fatal_store("timer", NULL);
}

static void arm_mono(struct camp *c, int64_t due_us)
{
    int64_t now = timer_now_us();
    c->next_send_at = wall_ms() + (due_us > now ? (due_us - now) / 1000 : 0);
    if (timer_arm_at(c->eng->timers, &c->timer, due_us))
        fatal_store("timer", NULL);
}

int engine_event(engine *eng, int64_t campaign_id, const char *type, json_t *detail, dp_err *e)
{
    int rc = eng->st->v->event_add(eng->st, campaign_id, wall_ms(), type, detail, e);
    json_decref(detail);
    return rc;
}

static void camp_event(struct camp *c, const char *type, json_t *detail)
{
    dp_err e;
    char *txt = detail ? json_dumps(detail, JSON_COMPACT) : NULL;
    log_info("campaign event", "campaign=%lld type=%s detail=%s", (long long)c->id, type,
             txt ? txt : "{}");
    free(txt);
    if (engine_event(c->eng, c->id, type, detail, &e))
        fatal_store("event_add", &e);
    schedule_flush(c->eng);
}

static void camp_tell_held(struct camp *c, size_t slot, const struct esender *s)
{
    uint64_t bit = (uint64_t)1 << slot;
    if (c->held_told & bit)
        return;
    c->held_told |= bit;
    camp_event(c, "sender_held",
               json_pack("{s:I, s:s}", "sender_id", (json_int_t)s->id, "reason", s->held_reason));
}

/* Waiting reasons: shown as state_reason; the long ones are also events. */
static void camp_set_reason(struct camp *c, const char *reason, int64_t until_ms, int as_event)
{
    if (c->reason == reason)
        return;
    c->reason = reason;
    c->row_dirty = 1;
    mark_dirty(c);
    if (!reason || !as_event)
        return;
    json_t *d = json_pack("{s:s}", "reason", reason);
    if (until_ms > 0) {
        char ts[TIMEFMT_LEN];
        timefmt_ms(until_ms, ts);
        json_object_set_new(d, "until", json_string(ts));
    }
    camp_event(c, "waiting", d);
}

/* ---- per-recipient limits: daily unique recipients, pair spacing ------ */

/* Drops the sends at or before cutoff. */
static void sendlog_expire(struct sendlog *l, int64_t cutoff)
{
    while (l->len > 0) {
        struct recip *r = &l->fifo[l->head];
        if (r->at > cutoff)
            break;
        int64_t last;
        if (imap_get(&l->last, r->phone, &last) && last == r->at)
            imap_del(&l->last, r->phone);
        l->head = (l->head + 1) % l->cap;
        l->len--;
    }
}

static int sendlog_touch(struct sendlog *l, int64_t phone, int64_t at)
{
    if (l->len == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 64;
        struct recip *nf = malloc(nc * sizeof *nf);
        if (!nf)
            return DP_ENOMEM;
        for (size_t i = 0; i < l->len; i++)
            nf[i] = l->fifo[(l->head + i) % l->cap];
        free(l->fifo);
        l->fifo = nf;
        l->head = 0;
        l->cap = nc;
    }
    l->fifo[(l->head + l->len) % l->cap] = (struct recip){phone, at};
    l->len++;
    return imap_put(&l->last, phone, at);
}

static void sendlog_free(struct sendlog *l)
{
    imap_free(&l->last);
    free(l->fifo);
}

/* Whether s may send to phone now; when not, *until is when a slot frees. */
static int recent_ok(struct esender *s, const char *phone, int64_t now, int64_t *until)
{
    struct sendlog *l = &s->recent;
    sendlog_expire(l, now - DAY_MS);
    if (imap_get(&l->last, phone_key(phone), NULL))
        return 1;
    if ((int64_t)l->last.n < s->daily_limit)
        return 1;
    /* the oldest live entry frees first */
    for (size_t i = 0; i < l->len; i++) {
        struct recip *r = &l->fifo[(l->head + i) % l->cap];
        int64_t last;
        if (imap_get(&l->last, r->phone, &last) && last == r->at) {
            *until = r->at + DAY_MS;
            return 0;
        }
    }
    *until = now + 1000;
    return 0;
}

static int load_recent_cb(void *ud, const char *phone, int64_t at)
{
    struct esender *s = ud;
    return sendlog_touch(&s->recent, phone_key(phone), at);
}

/* When s may next send to phone (now or earlier = at once). */
static int64_t pair_free_at(struct esender *s, const char *phone, int64_t now)
{
    sendlog_expire(&s->pair, now - s->pair_gap_ms);
    int64_t last;
    if (!imap_get(&s->pair.last, phone_key(phone), &last))
        return now;
    return last + s->pair_gap_ms;
}

static int load_pair_cb(void *ud, const char *phone, int64_t at)
{
    struct esender *s = ud;
    return sendlog_touch(&s->pair, phone_key(phone), at);
}

/* ---- sender pool ------------------------------------------------------ */

static void sinst_unref(struct sinst *si)
{
    if (si && --si->refs == 0) {
        si->vt->destroy(si->inst);
        free(si);
    }
}

static void wq_remove(struct camp *c)
{
    struct esender *s = c->waiting_on;
    if (!s)
        return;
    struct camp **pp = &s->wq_head, *prev = NULL;
    while (*pp && *pp != c) {
        prev = *pp;
        pp = &(*pp)->wq_next;
    }
    if (*pp) {
        *pp = c->wq_next;
        if (s->wq_tail == c)
            s->wq_tail = prev;
    }
    c->wq_next = NULL;
    c->waiting_on = NULL;
}

static void sender_wake(struct esender *s);

static void on_sender_timer(dp_timer *t, void *ud)
{
    sender_wake(ud);
}

static void sender_arm(struct esender *s)
{
    if (s->rate > 0 && s->wq_head && timer_now_us() < s->next_free_us)
        if (timer_arm_at(s->eng->timers, &s->timer, s->next_free_us))
            fatal_store("timer", NULL);
}

/* Hands the sender's free capacity to the campaigns waiting for it, in order. */
static void sender_wake(struct esender *s)
{
    while (s->wq_head) {
        if (s->max_in_flight && s->in_flight >= s->max_in_flight)
            return; /* a finishing send wakes us again */
        if (s->rate > 0 && timer_now_us() < s->next_free_us) {
            sender_arm(s);
            return;
        }
        struct camp *c = s->wq_head;
        s->wq_head = c->wq_next;
        if (!s->wq_head)
            s->wq_tail = NULL;
        c->wq_next = NULL;
        c->waiting_on = NULL;
        int64_t before = s->claims;
        camp_tick(c, s);
        if (s->claims == before && c->waiting_on == s)
            return; /* it could not use the slot after all; avoid spinning */
    }
}

static void sender_enqueue(struct esender *s, struct camp *c)
{
    if (c->waiting_on == s)
        return;
    wq_remove(c);
    c->waiting_on = s;
    c->wq_next = NULL;
    if (s->wq_tail)
        s->wq_tail->wq_next = c;
    else
        s->wq_head = c;
    s->wq_tail = c;
    sender_arm(s);
}

static void sender_free(struct esender *s)
{
    if (!s)
        return;
    timer_cancel(s->eng->timers, &s->timer);
    while (s->wq_head) {
        struct camp *c = s->wq_head;
        wq_remove(c);
    }
    timer_cancel(s->eng->timers, &s->health_timer);
    sinst_unref(s->cur);
    sendlog_free(&s->recent);
    sendlog_free(&s->pair);
    free(s);
}

/* A deleted sender leaves the zombie list and memory with its last send. */
static void sender_reap(struct esender *s)
{
    if (s->in_flight > 0)
        return;
    struct esender **pp = &s->eng->zombies;
    while (*pp && *pp != s)
        pp = &(*pp)->next_zombie;
    if (*pp)
        *pp = s->next_zombie;
    sender_free(s);
}

static void on_receipt(void *ud, int64_t sender_id, const char *provider_id, enum receipt_status rs,
                       const char *code, const char *detail);
static void on_inbound(void *ud, int64_t sender_id, const char *from, const char *text,
                       const char *button_id, const char *context_id);

/* (Re)builds the pool entry for a sender row; on a config change the old
 * instance lives on until its sends finish. */
static int sender_load(engine *eng, const struct st_sender *row, dp_err *e)
{
    const struct sender_vtab *vt = sender_find(row->provider);
    if (!vt)
        return dp_err_set(e, DP_EINVAL, "sender %lld: unknown provider %s", (long long)row->id,
                          row->provider);
    struct esender *s = sender_get(eng, row->id);
    int fresh = !s;
    if (fresh) {
        s = calloc(1, sizeof *s);
        if (!s)
            return dp_err_set(e, DP_ENOMEM, NULL);
        s->eng = eng;
        s->id = row->id;
        timer_init(&s->timer, on_sender_timer, s);
        timer_init(&s->health_timer, on_health_timer, s);
        imap_init(&s->recent.last);
        imap_init(&s->pair.last);
    }
    struct sinst *si = calloc(1, sizeof *si);
    int rc = si ? DP_OK : dp_err_set(e, DP_ENOMEM, NULL);
    if (!rc) {
        si->vt = vt;
        si->refs = 1;
        rc = vt->create(&eng->env, row->id, row->config, &si->inst, e);
    }
    if (rc) {
        free(si);
        if (fresh)
            sender_free(s);
        return rc;
    }
    sinst_unref(s->cur);
    s->cur = si;
    s->ws = row->ws;
    s->active = row->active;
    s->rate = row->rate_per_second;
    s->daily_limit = row->daily_limit;
    s->max_in_flight = vt->max_in_flight ? vt->max_in_flight(si->inst) : 0;
    s->pair_gap_ms = vt->pair_gap_ms;
    /* a new config (a fixed token, say) deserves a fresh look */
    s->held = 0;
    if (vt->health)
        health_schedule(s, 0);
    if (fresh) {
        if (imap_put(&eng->senders, s->id, (int64_t)(intptr_t)s)) {
            sender_free(s);
            return dp_err_set(e, DP_ENOMEM, NULL);
        }
        if (s->daily_limit > 0) {
            rc = eng->st->v->sender_recipients(eng->st, s->id, wall_ms() - DAY_MS, load_recent_cb,
                                               s, e);
            if (rc)
                return rc;
        }
        if (s->pair_gap_ms > 0) {
            rc = eng->st->v->sender_recipients(eng->st, s->id, wall_ms() - s->pair_gap_ms,
                                               load_pair_cb, s, e);
            if (rc)
                return rc;
        }
    }
    return DP_OK;
}

static int load_sender_cb(void *ud, const struct st_sender *row)
{
    dp_err e;
    if (sender_load(ud, row, &e))
        log_error("sender not loaded", "sender=%lld err=\"%s\"", (long long)row->id, e.msg);
    return 0;
}

/* ---- campaign runner: messages --------------------------------------- */

static void emsg_free(struct emsg *em)
{
    if (!em)
        return;
    st_message_clear(&em->m);
    free(em->text);
    free(em);
}

static int ring_push(struct camp *c, struct emsg *em, int front)
{
    if (c->q_n == c->q_cap) {
        size_t nc = c->q_cap ? c->q_cap * 2 : PREFETCH;
        struct emsg **nq = malloc(nc * sizeof *nq);
        if (!nq)
            return DP_ENOMEM;
        for (size_t i = 0; i < c->q_n; i++)
            nq[i] = c->q[(c->q_head + i) % c->q_cap];
        free(c->q);
        c->q = nq;
        c->q_head = 0;
        c->q_cap = nc;
    }
    if (front) {
        c->q_head = (c->q_head + c->q_cap - 1) % c->q_cap;
        c->q[c->q_head] = em;
    } else {
        c->q[(c->q_head + c->q_n) % c->q_cap] = em;
    }
    c->q_n++;
    return DP_OK;
}

static struct emsg *ring_pop(struct camp *c)
{
    if (c->q_n == 0)
        return NULL;
    struct emsg *em = c->q[c->q_head];
    c->q_head = (c->q_head + 1) % c->q_cap;
    c->q_n--;
    return em;
}

static int retry_before(const struct emsg *a, const struct emsg *b)
{
    if (a->m.next_attempt_at != b->m.next_attempt_at)
        return a->m.next_attempt_at < b->m.next_attempt_at;
    return a->m.id < b->m.id;
}

static int retry_push(struct camp *c, struct emsg *em)
{
    if (c->n_retry == c->cap_retry) {
        size_t nc = c->cap_retry ? c->cap_retry * 2 : 16;
        struct emsg **nr = realloc(c->retry, nc * sizeof *nr);
        if (!nr)
            return DP_ENOMEM;
        c->retry = nr;
        c->cap_retry = nc;
    }
    size_t i = c->n_retry++;
    while (i > 0 && retry_before(em, c->retry[(i - 1) / 2])) {
        c->retry[i] = c->retry[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    c->retry[i] = em;
    return DP_OK;
}

static struct emsg *retry_pop(struct camp *c)
{
    struct emsg *top = c->retry[0], *last = c->retry[--c->n_retry];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const struct emsg *best = last;
        if (l < c->n_retry && retry_before(c->retry[l], best)) {
            m = l;
            best = c->retry[l];
        }
        if (r < c->n_retry && retry_before(c->retry[r], best))
            m = r;
        if (m == i)
            break;
        c->retry[i] = c->retry[m];
        i = m;
    }
    if (c->n_retry)
        c->retry[i] = last;
    return top;
}

struct fetch_ctx {
    struct camp *c;
    int64_t now;
    int rc;
};

static int fetch_cb(void *ud, const struct st_message *m)
{
    struct fetch_ctx *fc = ud;
    struct emsg *em = calloc(1, sizeof *em);
    if (!em)
        return fc->rc = DP_ENOMEM;
    em->c = fc->c;
    em->m = *m;
    /* the row's strings are borrowed: copy them */
    em->m.phone = strdup(m->phone);
    em->m.name = m->name ? strdup(m->name) : NULL;
    em->m.vars = m->vars ? strdup(m->vars) : NULL;
    em->m.provider_id = m->provider_id ? strdup(m->provider_id) : NULL;
    em->m.error_code = m->error_code ? strdup(m->error_code) : NULL;
    em->m.error_detail = m->error_detail ? strdup(m->error_detail) : NULL;
    em->m.reply = NULL; /* a queued message has no answer yet, and the engine needs none */
    em->m.button_id = NULL;
    fc->c->cursor = m->id;
    int rc = em->m.next_attempt_at > fc->now ? retry_push(fc->c, em) : ring_push(fc->c, em, 0);
    if (rc) {
        emsg_free(em);
        return fc->rc = rc;
    }
    return 0;
}

/* The next message to send: a retry that is due, else the next queued one. */
static struct emsg *camp_next(struct camp *c, int64_t now)
{
    if (c->n_retry && c->retry[0]->m.next_attempt_at <= now)
        return retry_pop(c);
    if (c->q_n == 0 && !c->exhausted) {
        struct fetch_ctx fc = {c, now, 0};
        dp_err e;
        store *st = c->eng->st;
        size_t before = c->q_n + c->n_retry;
        if (st->v->message_queued(st, c->id, c->cursor, PREFETCH, fetch_cb, &fc, &e) || fc.rc)
            fatal_store("message_queued", &e);
        if (c->q_n + c->n_retry - before < PREFETCH)
            c->exhausted = 1;
        if (c->n_retry && c->retry[0]->m.next_attempt_at <= now)
            return retry_pop(c);
    }
    return ring_pop(c);
}

static int camp_done(const struct camp *c)
{
    return c->q_n == 0 && c->exhausted && c->n_retry == 0 && c->in_flight == 0;
}

static void camp_drop_buffers(struct camp *c)
{
    struct emsg *em;
    while ((em = ring_pop(c)))
        emsg_free(em);
    while (c->n_retry)
        emsg_free(retry_pop(c));
    c->exhausted = 0;
    c->cursor = 0;
}

static void camp_finish(struct camp *c, int status, const char *event)
{
    timer_cancel(c->eng->timers, &c->timer);
    wq_remove(c);
    c->status = status;
    c->reason = NULL;
    c->next_send_at = 0;
    c->finished_at = wall_ms();
    c->row_dirty = 1;
    mark_dirty(c);
    camp_drop_buffers(c);
    if (event)
        camp_event(c, event, NULL);
    log_info(status == CS_COMPLETED ? "campaign completed" : "campaign cancelled",
             "campaign=%lld", (long long)c->id);
    c->freed_pending = 1;
}

/* ---- campaign runner: sending ----------------------------------------- */

/* PICK_DEFER: every usable sender sent to this phone moments ago; the
 * message waits (*until) while the campaign goes on with others. */
enum { PICK_OK, PICK_QUEUE, PICK_UNTIL, PICK_NONE, PICK_DEFER };

static int camp_pick(struct camp *c, const struct emsg *em, struct esender *granted,
                     struct esender **out, size_t *slot, int64_t *until)
{
    int64_t now_us = timer_now_us(), now = wall_ms();
    struct esender *wait = NULL;
    int64_t wait_at = INT64_MAX, daily_until = INT64_MAX, pair_until = INT64_MAX;
    size_t n = c->spec.n_senders;
    for (size_t k = 0; k < n; k++) {
        size_t i = (c->rr + k) % n;
        if (c->removed[i])
            continue;
        struct esender *s = sender_get(c->eng, c->spec.sender_ids[i]);
        if (!s || !s->active || !s->cur || s->held)
            continue;
        int64_t free_ms;
        if (s->pair_gap_ms > 0 && (free_ms = pair_free_at(s, em->m.phone, now)) > now) {
            if (free_ms < pair_until)
                pair_until = free_ms;
            continue;
        }
        if (s->daily_limit > 0 && !recent_ok(s, em->m.phone, now, &free_ms)) {
            if (free_ms < daily_until)
                daily_until = free_ms;
            continue;
        }
        int cap_ok = !s->max_in_flight || s->in_flight < s->max_in_flight;
        int tok_ok = s->rate <= 0 || now_us >= s->next_free_us;
        int queue_ok = !s->wq_head || s == granted;
        if (cap_ok && tok_ok && queue_ok) {
            c->rr = (i + 1) % n;
            *out = s;
            *slot = i;
            return PICK_OK;
        }
        int64_t at = cap_ok ? (s->next_free_us > now_us ? s->next_free_us : now_us) : INT64_MAX - 1;
        if (!wait || at < wait_at) {
            wait = s;
            wait_at = at;
        }
    }
    if (wait) {
        *out = wait;
        return PICK_QUEUE;
    }
    if (pair_until != INT64_MAX) {
        *until = pair_until;
        return PICK_DEFER;
    }
    if (daily_until != INT64_MAX) {
        *until = daily_until;
        return PICK_UNTIL;
    }
    return PICK_NONE;
}

static void camp_claim(struct camp *c, struct emsg *em, struct esender *s)
{
    engine *eng = c->eng;
    dp_err e;
    int64_t now = wall_ms();
    /* render: greeting by the hour where the campaign runs */
    json_t *vars = NULL;
    if (em->m.vars && tmpl_var_count(c->spec.tmpl) > 0)
        vars = json_loads(em->m.vars, 0, NULL);
    dp_buf b;
    buf_init(&b, TEXT_CAP);
    struct tmpl_ctx ctx = {
        .phone = em->m.phone,
        .name = em->m.name,
        .vars = vars,
        .local_hour = tz_local_hour(spec_timezone(&c->spec), now / 1000),
        .rng = &eng->rng,
    };
    int rc = tmpl_render(c->spec.tmpl, &ctx, &b, &e);
    json_decref(vars);
    free(em->text);
    em->text = rc ? strdup("") : buf_steal(&b);
    buf_free(&b);

    em->m.status = MS_SENDING;
    em->m.attempts++;
    em->m.sender_id = s->id;
    em->m.next_attempt_at = 0;
    if (eng->st->v->message_update(eng->st, &em->m, &e))
        fatal_store("message_update", &e);
    count_move(c, MS_QUEUED, MS_SENDING);

    em->s = s;
    em->si = s->cur;
    s->cur->refs++;
    s->in_flight++;
    s->claims++;
    c->in_flight++;
    if (s->rate > 0) {
        int64_t now_us = timer_now_us();
        int64_t base = s->next_free_us > now_us ? s->next_free_us : now_us;
        s->next_free_us = base + (int64_t)(1e6 / s->rate);
    }
    if (s->pair_gap_ms > 0 && sendlog_touch(&s->pair, phone_key(em->m.phone), now))
        fatal_store("pair_touch", NULL);
    if (s->daily_limit > 0 && sendlog_touch(&s->recent, phone_key(em->m.phone), now))
        fatal_store("recent_touch", NULL);
    /* on disk too, so both limits hold across a restart */
    if ((s->daily_limit > 0 || s->pair_gap_ms > 0) &&
        eng->st->v->sender_recipient_touch(eng->st, s->id, em->m.phone, now, &e))
        fatal_store("sender_recipient_touch", &e);
    em->next = NULL;
    if (eng->pend_tail)
        eng->pend_tail->next = em;
    else
        eng->pend_head = em;
    eng->pend_tail = em;
    schedule_flush(eng);
}

/* ---- sender holds and health ------------------------------------------ */

/* A sender came back: campaigns that had none look again. */
static void wake_no_sender(engine *eng)
{
    for (size_t i = 0; i < eng->camps.cap; i++)
        if (eng->camps.used[i]) {
            struct camp *c = (struct camp *)(intptr_t)eng->camps.vals[i];
            if (c->status == CS_RUNNING && c->reason && strcmp(c->reason, "no_sender") == 0)
                camp_tick(c, NULL);
        }
}

static void health_schedule(struct esender *s, int64_t delay_ms)
{
    if (timer_arm_in(s->eng->timers, &s->health_timer, delay_ms * 1000))
        fatal_store("timer", NULL);
}

static void sender_release(struct esender *s)
{
    engine *eng = s->eng;
    if (!s->held)
        return;
    s->held = 0;
    for (size_t i = 0; i < eng->camps.cap; i++)
        if (eng->camps.used[i]) {
            struct camp *c = (struct camp *)(intptr_t)eng->camps.vals[i];
            for (size_t k = 0; k < c->spec.n_senders; k++)
                if (c->spec.sender_ids[k] == s->id)
                    c->held_told &= ~((uint64_t)1 << k);
        }
    log_info("sender back in rotation", "sender=%lld", (long long)s->id);
    wake_no_sender(eng);
}

/* Takes a sick sender out of every rotation: campaigns waiting for it look
 * again (for another sender, or wait with no_sender), and its health is
 * asked again soon. */
static void sender_hold(struct esender *s, const char *reason)
{
    engine *eng = s->eng;
    if (s->held)
        return;
    s->held = 1;
    snprintf(s->held_reason, sizeof s->held_reason, "%s", reason ? reason : "unhealthy");
    log_warn("sender out of rotation until healthy", "sender=%lld reason=%s", (long long)s->id,
             s->held_reason);
    for (size_t i = 0; i < eng->camps.cap; i++)
        if (eng->camps.used[i]) {
            struct camp *c = (struct camp *)(intptr_t)eng->camps.vals[i];
            for (size_t k = 0; k < c->spec.n_senders; k++)
                if (c->spec.sender_ids[k] == s->id && c->status == CS_RUNNING)
                    camp_tell_held(c, k, s);
        }
    while (s->wq_head) {
        struct camp *c = s->wq_head;
        wq_remove(c);
        camp_tick(c, NULL);
    }
    health_schedule(s, s->eng->hold_recheck_ms);
}

static void on_health(void *ud, const struct sender_health *h)
{
    struct esender *s = ud;
    s->health = *h;
    s->health_at = wall_ms();
    if (!h->ok) {
        if (!s->held)
            sender_hold(s, h->state[0] ? h->state : "unhealthy");
        else
            health_schedule(s, s->eng->hold_recheck_ms);
        return;
    }
    sender_release(s);
    health_schedule(s, s->eng->health_period_ms);
}

static void on_health_timer(dp_timer *t, void *ud)
{
    struct esender *s = ud;
    if (!s->cur || !s->cur->vt->health) {
        /* nothing to ask: a hold simply ends after its rest */
        sender_release(s);
        return;
    }
    if (s->cur->vt->health(s->cur->inst, on_health, s) != DP_OK)
        health_schedule(s, s->eng->hold_recheck_ms);
}

/* Pauses a running campaign by itself, with the reason on the campaign. */
static void camp_auto_pause(struct camp *c, const char *reason, const char *code,
                            const char *detail)
{
    timer_cancel(c->eng->timers, &c->timer);
    wq_remove(c);
    c->status = CS_PAUSED;
    c->reason = reason;
    c->next_send_at = 0;
    c->row_dirty = 1;
    mark_dirty(c);
    log_warn("campaign paused by disparo", "campaign=%lld reason=%s code=%s", (long long)c->id,
             reason, code ? code : "");
    camp_event(c, "paused",
               json_pack("{s:s, s:s, s:s}", "reason", reason, "code", code ? code : "",
                         "detail", detail ? detail : ""));
}

/* Checked right before a send, so an opt-out that arrived a second ago
 * holds: a restricted phone's message becomes `skipped`, naming the list. */
static int camp_restricted(struct camp *c, struct emsg *em, struct esender *s)
{
    engine *eng = c->eng;
    char forms[2][PHONENUM_MAX], list[64];
    dp_err e;
    if (!eng->restrictions)
        return 0;
    /* a Brazilian mobile restricted with or without its ninth digit */
    size_t nforms = phonenum_variants(em->m.phone, forms);
    if (eng->st->v->restriction_check(eng->st, c->ws, em->m.phone, nforms == 2 ? forms[1] : NULL,
                                      s->id, wall_ms(), list, sizeof list, &e))
        fatal_store("restriction_check", &e);
    if (!list[0])
        return 0;
    char detail[128];
    snprintf(detail, sizeof detail, "the phone is on the %s list", list);
    em->m.status = MS_SKIPPED;
    set_str(&em->m.error_code, "restricted");
    set_str(&em->m.error_detail, detail);
    if (eng->st->v->message_update(eng->st, &em->m, &e))
        fatal_store("message_update", &e);
    count_move(c, MS_QUEUED, MS_SKIPPED);
    emsg_free(em);
    return 1;
}

static void camp_put_back(struct camp *c, struct emsg *em)
{
    if (ring_push(c, em, 1))
        fatal_store("ring_push", NULL);
}

static void on_camp_timer(dp_timer *t, void *ud)
{
    struct camp *c = ud;
    if (c->status == CS_SCHEDULED) {
        c->status = CS_RUNNING;
        c->started_at = wall_ms();
        c->row_dirty = 1;
        mark_dirty(c);
        camp_event(c, "started", NULL);
        log_info("campaign started", "campaign=%lld", (long long)c->id);
    }
    camp_tick(c, NULL);
}

/* One step of a running campaign; see the file comment. granted is a sender
 * that just woke this campaign from its queue, or NULL. */
static void camp_tick(struct camp *c, struct esender *granted)
{
    if (c->status != CS_RUNNING || c->eng->draining)
        return;
    engine *eng = c->eng;
    int64_t now = wall_ms();
    if (c->rest_until > now) {
        camp_set_reason(c, "pause_after_n", c->rest_until, 1);
        arm_wall(c, c->rest_until);
        return;
    }
    if (c->spec.has_window) {
        if (!c->win_known || now >= c->win_change) {
            window_state(&c->spec.window, now, &c->win_open, &c->win_change);
            c->win_known = 1;
        }
        if (!c->win_open) {
            camp_set_reason(c, "outside_window", c->win_change, 1);
            arm_wall(c, c->win_change);
            return;
        }
    }
    int64_t base_us = timer_now_us();
    for (int budget = TICK_BATCH; budget > 0; budget--) {
        struct emsg *em = camp_next(c, now);
        if (!em) {
            if (camp_done(c)) {
                camp_finish(c, CS_COMPLETED, "completed");
                camp_maybe_free(c);
            } else if (c->n_retry) {
                camp_set_reason(c, NULL, 0, 0);
                arm_wall(c, c->retry[0]->m.next_attempt_at);
            } else {
                camp_set_reason(c, NULL, 0, 0);
                c->next_send_at = 0; /* waiting for sends in flight */
            }
            return;
        }
        struct esender *s = NULL;
        size_t slot = 0;
        int64_t until = 0;
        int pick = camp_pick(c, em, granted, &s, &slot, &until);
        granted = NULL; /* a grant is good for one send */
        if (pick == PICK_DEFER) {
            /* not an attempt: the message just waits out the pair spacing */
            em->m.next_attempt_at = until;
            if (retry_push(c, em))
                fatal_store("retry_push", NULL);
            continue;
        }
        if (pick != PICK_OK) {
            camp_put_back(c, em);
            if (pick == PICK_QUEUE) {
                camp_set_reason(c, "sender_limit", 0, 0);
                c->next_send_at = s->next_free_us > timer_now_us()
                                      ? now + (s->next_free_us - timer_now_us()) / 1000
                                      : now;
                sender_enqueue(s, c);
            } else if (pick == PICK_UNTIL) {
                camp_set_reason(c, "sender_limit", until, 1);
                arm_wall(c, until);
            } else {
                for (size_t k = 0; k < c->spec.n_senders; k++) {
                    struct esender *h = sender_get(eng, c->spec.sender_ids[k]);
                    if (h && h->held && !c->removed[k])
                        camp_tell_held(c, k, h);
                }
                camp_set_reason(c, "no_sender", 0, 1);
                c->next_send_at = 0;
            }
            return;
        }
        if (camp_restricted(c, em, s))
            continue; /* skipped, not sent: no slot of the sender is used */
        camp_set_reason(c, NULL, 0, 0);
        camp_claim(c, em, s);
        eng->stats.sent_total++;
        if (c->spec.pause_after > 0 && ++c->sends_since_rest >= c->spec.pause_after) {
            c->sends_since_rest = 0;
            c->rest_until = now + c->spec.pause_for_ms;
            c->row_dirty = 1;
            mark_dirty(c);
            camp_set_reason(c, "pause_after_n", c->rest_until, 1);
            arm_wall(c, c->rest_until);
            return;
        }
        if (c->spec.pause_after > 0) {
            c->row_dirty = 1;
            mark_dirty(c);
        }
        int64_t gap_ms = pacing_gap_ms(&c->spec.interval, &eng->rng);
        if (gap_ms > 0) {
            /* Pace from when this send was due, not from when the loop got to
             * it, so small delays do not add up over a long campaign. */
            int64_t planned = c->timer.due_us && c->timer.due_us <= base_us &&
                                      base_us - c->timer.due_us < gap_ms * 1000
                                  ? c->timer.due_us
                                  : base_us;
            arm_mono(c, planned + gap_ms * 1000);
            return;
        }
    }
    arm_mono(c, base_us); /* interval 0: yield to the other campaigns, then go on */
}

/* ---- results ---------------------------------------------------------- */

/* Moves a message by a receipt and keeps the counts; DP_ENOTFOUND when no
 * message has this provider id yet. */
static int apply_receipt(engine *eng, int64_t sender_id, const char *provider_id, int status,
                         int64_t at, const char *code, const char *detail)
{
    int64_t cid = 0;
    int old = 0, changed = 0;
    dp_err e;
    int rc = eng->st->v->message_receipt(eng->st, sender_id, provider_id, status, at, code, detail,
                                         &cid, &old, &changed, &e);
    if (rc == DP_ENOTFOUND)
        return rc;
    if (rc)
        fatal_store("message_receipt", &e);
    if (!changed)
        return DP_OK;
    struct camp *c = camp_get(eng, cid);
    if (c) {
        count_move(c, old, status);
        return DP_OK;
    }
    int64_t delta[MS__COUNT] = {0};
    delta[old]--;
    delta[status]++;
    if (eng->st->v->campaign_counts_add(eng->st, cid, delta, &e))
        fatal_store("campaign_counts_add", &e);
    schedule_flush(eng);
    return DP_OK;
}

struct parked {
    engine *eng;
    int64_t sender_id;
    const char *provider_id;
};

static int parked_cb(void *ud, int status, int64_t at, const char *code, const char *detail)
{
    struct parked *p = ud;
    p->eng->parked--;
    (void)apply_receipt(p->eng, p->sender_id, p->provider_id, status, at, code, detail);
    return 0;
}

/* A gateway said the phone has no WhatsApp, in its answer to a send or in
 * a receipt: later campaigns skip the phone without a send. */
static void restrict_no_whatsapp(engine *eng, int64_t ws, const char *phone, const char *reason,
                                 int64_t at)
{
    dp_err e;
    if (eng->st->v->restriction_add(eng->st, ws, "no_whatsapp", phone, 0, reason, "gateway", at,
                                    &e))
        fatal_store("restriction_add", &e);
    eng->restrictions = 1;
    schedule_flush(eng);
}

static void on_send_done(void *ud, const struct send_result *r)
{
    struct emsg *em = ud;
    struct camp *c = em->c;
    struct esender *s = em->s;
    engine *eng = c->eng;
    int64_t now = wall_ms();
    dp_err e;
    size_t slot = SIZE_MAX;
    if (em->fl_prev)
        em->fl_prev->fl_next = em->fl_next;
    else if (eng->flying == em)
        eng->flying = em->fl_next;
    if (em->fl_next)
        em->fl_next->fl_prev = em->fl_prev;
    em->fl_prev = em->fl_next = NULL;
    for (size_t i = 0; i < c->spec.n_senders; i++)
        if (c->spec.sender_ids[i] == em->m.sender_id)
            slot = i;

    int to;
    int requeue = 0;
    switch (r->outcome) {
    case SEND_OK:
        to = MS_SENT;
        break;
    case SEND_TRANSIENT:
        requeue = em->m.attempts < c->spec.max_attempts;
        to = requeue ? MS_QUEUED : MS_FAILED;
        break;
    case SEND_AMBIGUOUS:
        requeue = c->spec.resend_unknown && em->m.attempts < c->spec.max_attempts;
        to = requeue ? MS_QUEUED : MS_UNKNOWN;
        break;
    default:
        to = MS_FAILED;
        break;
    }
    if (r->action == ACT_UNAVAILABLE && r->outcome != SEND_OK) {
        /* the gateway never took it: not an attempt, and not a failure */
        em->m.attempts--;
        requeue = 1;
        to = MS_QUEUED;
    }
    if (to == MS_SENT) {
        em->m.sent_at = now;
        set_str(&em->m.provider_id, r->provider_id);
        set_str(&em->m.error_code, NULL);
        set_str(&em->m.error_detail, NULL);
    } else {
        set_str(&em->m.error_code, r->code[0] ? r->code : "send_failed");
        set_str(&em->m.error_detail, r->detail);
        if (to == MS_FAILED)
            em->m.failed_at = now;
    }
    if (requeue)
        em->m.next_attempt_at =
            now + (r->action == ACT_UNAVAILABLE
                       ? UNAVAILABLE_RETRY_MS
                       : pacing_retry_delay_ms(em->m.attempts, r->retry_after_ms, &eng->rng));
    em->m.status = to;
    if (eng->st->v->message_update(eng->st, &em->m, &e))
        fatal_store("message_update", &e);
    count_move(c, MS_SENDING, to);
    if (to == MS_SENT && em->m.provider_id && eng->parked > 0) {
        struct parked p = {eng, em->m.sender_id, em->m.provider_id};
        if (eng->st->v->receipt_take(eng->st, em->m.sender_id, em->m.provider_id, parked_cb, &p,
                                     &e))
            fatal_store("receipt_take", &e);
    }

    if (slot != SIZE_MAX) {
        if (r->outcome == SEND_OK) {
            c->consec[slot] = 0;
        } else if (/* a hold (ACT_*) already rests the sender, and ends when it is
                       healthy; removal would outlast the cure */
                   r->sender_fault && r->action == ACT_NONE && !c->removed[slot] &&
                   ++c->consec[slot] >= c->spec.max_sender_failures) {
            c->removed[slot] = 1;
            log_warn("sender taken out of a campaign's rotation", "campaign=%lld sender=%lld",
                     (long long)c->id, (long long)em->m.sender_id);
            camp_event(c, "sender_removed",
                       json_pack("{s:I, s:i, s:s}", "sender_id", (json_int_t)em->m.sender_id,
                                 "failures", c->consec[slot], "last_error", em->m.error_code));
        }
    }

    if (r->no_whatsapp)
        restrict_no_whatsapp(eng, c->ws, em->m.phone, em->m.error_code, now);
    if ((r->action == ACT_STOP_SENDER || r->action == ACT_UNAVAILABLE) && !s->deleted &&
        r->outcome != SEND_OK)
        sender_hold(s, em->m.error_code);
    if (r->action == ACT_BAD_TEMPLATE && ++c->template_failures >= TEMPLATE_FAILURES_MAX &&
        c->status == CS_RUNNING)
        camp_auto_pause(c, "template_rejected", em->m.error_code, em->m.error_detail);

    s->in_flight--;
    c->in_flight--;
    sinst_unref(em->si);
    em->si = NULL;
    em->s = NULL;
    /* a paused campaign keeps its retries: the store will not hand them out
     * again (they sit behind the prefetch cursor) */
    if (requeue && !c->freed_pending) {
        if (retry_push(c, em))
            fatal_store("retry_push", NULL);
    } else {
        emsg_free(em);
    }
    if (s->deleted)
        sender_reap(s);
    else
        sender_wake(s);
    if (c->status == CS_RUNNING && camp_done(c))
        camp_finish(c, CS_COMPLETED, "completed"); /* no need to wait for the next gap */
    else if (c->status == CS_RUNNING && !timer_armed(&c->timer) && !c->waiting_on)
        camp_tick(c, NULL);
    camp_maybe_free(c);
}

static void camp_free(struct camp *c)
{
    timer_cancel(c->eng->timers, &c->timer);
    wq_remove(c);
    camp_drop_buffers(c);
    free(c->q);
    free(c->retry);
    spec_clear(&c->spec);
    json_decref(c->spec_json);
    free(c->name);
    free(c);
}

/* A finished campaign leaves memory once its sends and its row are done. */
static void camp_maybe_free(struct camp *c)
{
    if (!c->freed_pending || c->in_flight > 0 || c->dirty)
        return;
    imap_del(&c->eng->camps, c->id);
    camp_free(c);
}

/* ---- receipts and inbound --------------------------------------------- */

static void on_receipt(void *ud, int64_t sender_id, const char *provider_id, enum receipt_status rs,
                       const char *code, const char *detail)
{
    engine *eng = ud;
    static const int map[] = {MS_SENT, MS_DELIVERED, MS_READ, MS_FAILED};
    dp_err e;
    int rc = apply_receipt(eng, sender_id, provider_id, map[rs], wall_ms(), code, detail);
    if (rc == DP_ENOTFOUND) {
        /* the gateway may report before its own answer to the send reached
         * us: keep the receipt until a send records this provider id */
        log_debug("receipt parked: provider id not recorded yet", "sender=%lld provider_id=%s",
                  (long long)sender_id, provider_id);
        if (eng->st->v->receipt_park(eng->st, sender_id, provider_id, map[rs], wall_ms(), code,
                                     detail, &e))
            fatal_store("receipt_park", &e);
        eng->parked++;
        schedule_flush(eng);
    }
}

static void on_no_whatsapp(void *ud, int64_t sender_id, const char *phone)
{
    engine *eng = ud;
    struct esender *s = sender_get(eng, sender_id);
    if (s)
        restrict_no_whatsapp(eng, s->ws, phone, "no WhatsApp", wall_ms());
}

/* ---- purge of expired restrictions ------------------------------------ */

/* Expired entries already stop applying by the check's own query; deleting
 * them only keeps the table small. A batch per turn keeps any one turn
 * short; while batches come back full the next one follows at once. */
#define PURGE_BATCH 10000
#define PURGE_FIRST_MS (10 * 1000)
#define PURGE_PERIOD_MS (60 * 60 * 1000)
#define PURGE_AGAIN_MS 50

static void purge_arm(engine *eng, int64_t delay_ms)
{
    if (timer_arm_in(eng->timers, &eng->purge_timer, delay_ms * 1000))
        log_error("cannot arm the restriction purge timer", "delay_ms=%lld", (long long)delay_ms);
}

static void on_purge_timer(dp_timer *t, void *ud)
{
    engine *eng = ud;
    int64_t n = 0;
    dp_err e;
    (void)t;
    if (eng->st->v->restriction_purge(eng->st, wall_ms(), PURGE_BATCH, &n, &e))
        fatal_store("restriction_purge", &e);
    eng->purge_total += n;
    schedule_flush(eng);
    if (n == PURGE_BATCH) {
        purge_arm(eng, PURGE_AGAIN_MS);
        return;
    }
    if (eng->purge_total) {
        log_info("expired restrictions purged", "entries=%lld", (long long)eng->purge_total);
        engine_restrictions_changed(eng);
    }
    eng->purge_total = 0;
    purge_arm(eng, PURGE_PERIOD_MS);
}

void engine_restrictions_changed(engine *eng)
{
    dp_err e;
    if (eng->st->v->restriction_any(eng->st, &eng->restrictions, &e))
        fatal_store("restriction_any", &e);
}

struct kw_ctx {
    const char *text;
    char list[64];
    char keyword[KEYWORD_RULE_MAX + 1];
};

static int kw_cb(void *ud, const struct st_kwrule *r)
{
    struct kw_ctx *k = ud;
    enum keyword_match how;
    if (keyword_match_parse(r->match, &how, NULL) != DP_OK ||
        !keyword_matches(r->keyword, how, r->case_sensitive, k->text))
        return 0;
    snprintf(k->list, sizeof k->list, "%s", r->list);
    snprintf(k->keyword, sizeof k->keyword, "%s", r->keyword);
    return 1; /* the first rule that matches decides */
}

/* An opt-out ("SAIR") in any reply puts the phone on the rule's list at
 * once: every campaign of the workspace checks it right before each send. */
static void apply_keyword_rules(engine *eng, int64_t ws, const char *from, const char *text)
{
    struct kw_ctx k = {.text = text};
    dp_err e;
    int rc = eng->st->v->kwrule_list(eng->st, ws, 0, kw_cb, &k, &e);
    if (rc < 0)
        fatal_store("kwrule_list", &e);
    if (!k.list[0])
        return;
    char reason[KEYWORD_RULE_MAX + 32];
    snprintf(reason, sizeof reason, "replied %s", k.keyword);
    rc = eng->st->v->restriction_add(eng->st, ws, k.list, from, 0, reason, "keyword", wall_ms(),
                                     &e);
    if (rc == DP_ENOTFOUND) {
        log_warn("keyword rule names a list that does not exist", "list=%s", k.list);
        return;
    }
    if (rc)
        fatal_store("restriction_add", &e);
    eng->restrictions = 1;
    log_info("contact opted out by keyword", "from=%s keyword=%s list=%s", from, k.keyword,
             k.list);
}

static void on_inbound(void *ud, int64_t sender_id, const char *from, const char *text,
                       const char *button_id, const char *context_id)
{
    engine *eng = ud;
    struct esender *s = sender_get(eng, sender_id);
    if (s && text && *text)
        apply_keyword_rules(eng, s->ws, from, text);
    int64_t cid = 0;
    int first_reply = 0, first_click = 0;
    dp_err e;
    int rc = eng->st->v->message_reply(eng->st, sender_id, from, context_id, text, button_id,
                                       wall_ms(), &cid, &first_reply, &first_click, &e);
    if (rc == DP_ENOTFOUND) {
        log_info("inbound message from a contact no campaign wrote to", "sender=%lld from=%s",
                 (long long)sender_id, from);
        return;
    }
    if (rc)
        fatal_store("message_reply", &e);
    log_info(button_id ? "button clicked" : "reply received", "sender=%lld campaign=%lld from=%s",
             (long long)sender_id, (long long)cid, from);
    schedule_flush(eng);
}

/* ---- flush: counts, commit, then dispatch ----------------------------- */

static void camp_to_row(const struct camp *c, struct st_campaign *row)
{
    memset(row, 0, sizeof *row);
    row->id = c->id;
    row->ws = c->ws;
    row->name = c->name;
    row->status = c->status;
    row->state_reason = (char *)c->reason;
    row->spec = c->spec_json;
    row->start_at = c->start_at;
    row->created_at = c->created_at;
    row->started_at = c->started_at;
    row->finished_at = c->finished_at;
    row->next_send_at = c->next_send_at;
    row->sends_since_rest = c->sends_since_rest;
    row->rest_until = c->rest_until;
}

/* Hands one claimed message to its sender, with the campaign's media,
 * template and buttons mapped to the interface's shapes. */
static int dispatch(struct emsg *em)
{
    const struct camp_spec *sp = &em->c->spec;
    char key[48];
    snprintf(key, sizeof key, "c%lld-m%lld", (long long)em->m.campaign_id, (long long)em->m.id);
    struct sender_media media = {sp->media.url, sp->media.kind, sp->media.filename};
    struct sender_media header = {sp->header.url, sp->header.kind, sp->header.filename};
    struct sender_button buttons[SPEC_MAX_BUTTONS];
    const char *params[SPEC_MAX_PARAMS];
    json_t *vars = NULL;
    if (sp->n_params && em->m.vars)
        vars = json_loads(em->m.vars, 0, NULL);
    for (size_t i = 0; i < sp->n_params; i++)
        params[i] = spec_param_value(sp->params[i], em->m.name, em->m.phone, vars);
    for (size_t i = 0; i < sp->n_buttons; i++)
        buttons[i] = (struct sender_button){sp->button_ids[i], sp->button_titles[i]};
    struct sender_template tp = {
        .name = sp->tmpl_name,
        .language = sp->tmpl_lang,
        .params = params,
        .nparams = sp->n_params,
        .header = sp->header.url ? &header : NULL,
    };
    struct sender_msg sm = {
        .message_id = em->m.id,
        .campaign_id = em->m.campaign_id,
        .to = em->m.phone,
        .text = em->text,
        .idempotency_key = key,
        .attempt = em->m.attempts,
        .media = sp->media.url ? &media : NULL,
        .tmpl = sp->tmpl_name ? &tp : NULL,
        .buttons = sp->n_buttons ? buttons : NULL,
        .nbuttons = sp->n_buttons,
    };
    /* the sender copies what it keeps, so vars may go right after */
    int rc = em->si->vt->send(em->si->inst, &sm, on_send_done, em);
    json_decref(vars);
    return rc;
}

int engine_flush(engine *eng, dp_err *e)
{
    int rc = DP_OK;
    store *st = eng->st;
    struct camp *done = NULL;
    while (eng->dirty) {
        struct camp *c = eng->dirty;
        eng->dirty = c->dirty_next;
        c->dirty = 0;
        int any = 0;
        for (int i = 0; i < MS__COUNT; i++)
            any |= c->delta[i] != 0;
        if (any && (rc = st->v->campaign_counts_add(st, c->id, c->delta, e)))
            return rc;
        memset(c->delta, 0, sizeof c->delta);
        if (c->row_dirty) {
            struct st_campaign row;
            camp_to_row(c, &row);
            if ((rc = st->v->campaign_update(st, &row, e)))
                return rc;
            c->row_dirty = 0;
        }
        if (c->freed_pending) {
            c->dirty_next = done;
            done = c;
        }
    }
    if (st->v->in_transaction(st)) {
        if ((rc = st->v->commit(st, e)))
            return rc;
        eng->stats.commits++;
    }
    while (done) {
        struct camp *c = done;
        done = c->dirty_next;
        c->dirty_next = NULL;
        camp_maybe_free(c);
    }
    /* only now, with `sending` on disk, may the gateways hear of these */
    struct emsg *em = eng->pend_head;
    eng->pend_head = eng->pend_tail = NULL;
    while (em) {
        struct emsg *next = em->next;
        em->next = NULL;
        em->fl_prev = NULL;
        em->fl_next = eng->flying;
        if (eng->flying)
            eng->flying->fl_prev = em;
        eng->flying = em;
        int src = dispatch(em);
        if (src) {
            /* DP_EINVAL: this message cannot be sent as it is (bad text or
             * number); anything else is the sender's trouble, worth a retry */
            struct send_result r = {.outcome = src == DP_EINVAL ? SEND_PERMANENT : SEND_TRANSIENT,
                                    .sender_fault = src != DP_EINVAL};
            snprintf(r.code, sizeof r.code, "%s", src == DP_EINVAL ? "invalid_message" : "send_error");
            snprintf(r.detail, sizeof r.detail, "the sender refused to start the request: %s",
                     dp_strerror(src));
            on_send_done(em, &r);
        }
        em = next;
    }
    return DP_OK;
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
    engine *eng = arg;
    dp_err e;
    eng->flush_armed = 0;
    if (engine_flush(eng, &e))
        fatal_store("commit", &e);
}

/* ---- loading and starting campaigns ----------------------------------- */

int engine_campaign_load(engine *eng, const struct st_campaign *row, dp_err *e)
{
    int rc = DP_OK;
    struct camp *c = camp_get(eng, row->id);
    if (c) {
        if (c->freed_pending)
            return dp_err_set(e, DP_ECONFLICT, "campaign %lld is finishing", (long long)row->id);
        return DP_OK;
    }
    c = calloc(1, sizeof *c);
    if (!c)
        return dp_err_set(e, DP_ENOMEM, NULL);
    c->eng = eng;
    c->id = row->id;
    c->ws = row->ws;
    c->name = strdup(row->name ? row->name : "");
    c->status = row->status;
    c->start_at = row->start_at;
    c->created_at = row->created_at;
    c->started_at = row->started_at;
    c->finished_at = row->finished_at;
    c->sends_since_rest = row->sends_since_rest;
    c->rest_until = row->rest_until;
    timer_init(&c->timer, on_camp_timer, c);
    if ((rc = spec_parse(row->spec, &c->spec, e)))
        goto out;
    c->spec_json = json_incref(row->spec);
    if ((rc = imap_put(&eng->camps, c->id, (int64_t)(intptr_t)c))) {
        dp_err_set(e, rc, NULL);
        goto out;
    }
    if (c->status == CS_SCHEDULED)
        arm_wall(c, c->start_at);
    else if (c->status == CS_RUNNING)
        arm_mono(c, timer_now_us());
out:
    if (rc)
        camp_free(c);
    return rc;
}

static int recover_cb(void *ud, const struct st_campaign *row)
{
    engine *eng = ud;
    dp_err e;
    int rc = DP_OK;
    if (row->status != CS_SCHEDULED && row->status != CS_RUNNING && row->status != CS_PAUSED)
        return 0;
    if (row->status != CS_SCHEDULED) {
        struct camp_spec sp;
        int resend = 0;
        if (spec_parse(row->spec, &sp, &e) == DP_OK) {
            resend = sp.resend_unknown;
            spec_clear(&sp);
        }
        int64_t n = 0;
        if ((rc = eng->st->v->message_recover(eng->st, row->id, resend, &n, &e)))
            goto out;
        if (n > 0) {
            log_warn("messages in flight at the last stop", "campaign=%lld n=%lld resend=%d",
                     (long long)row->id, (long long)n, resend);
            rc = engine_event(eng, row->id, "recovered",
                              json_pack("{s:I, s:I, s:I}", "in_flight", (json_int_t)n,
                                        "unknown", (json_int_t)(resend ? 0 : n), "requeued",
                                        (json_int_t)(resend ? n : 0)),
                              &e);
            if (rc)
                goto out;
        }
    }
    if ((rc = engine_campaign_load(eng, row, &e)))
        goto out;
out:
    if (rc)
        log_error("campaign not loaded", "campaign=%lld err=\"%s\"", (long long)row->id, e.msg);
    return 0;
}

/* ---- public ----------------------------------------------------------- */

int engine_new(struct event_base *base, store *st, const struct engine_opts *o, engine **out,
               dp_err *e)
{
    engine *eng = calloc(1, sizeof *eng);
    if (!eng)
        return dp_err_set(e, DP_ENOMEM, NULL);
    eng->base = base;
    eng->st = st;
    snprintf(eng->cc, sizeof eng->cc, "%s", o && o->country_code ? o->country_code : "55");
    eng->health_period_ms = o && o->health_period_ms > 0 ? o->health_period_ms : HEALTH_PERIOD_MS;
    eng->hold_recheck_ms = o && o->hold_recheck_ms > 0 ? o->hold_recheck_ms : HOLD_RECHECK_MS;
    rng_seed_random(&eng->rng);
    imap_init(&eng->senders);
    imap_init(&eng->camps);
    eng->timers = timers_new(base);
    eng->http = httpc_new(base);
    /* Activated by the first write of a turn; it runs after the callbacks
     * already active in that turn. Not a lower priority on purpose: libevent
     * skips lower-priority queues while any higher one has work, and a busy
     * campaign at interval 0 has work every turn. */
    eng->flush_ev = event_new(base, -1, 0, on_flush, eng);
    timer_init(&eng->purge_timer, on_purge_timer, eng);
    if (!eng->timers || !eng->http || !eng->flush_ev) {
        engine_free(eng);
        return dp_err_set(e, DP_ENOMEM, "cannot set up the event loop");
    }
    eng->hooks = (struct sender_hooks){
        .ud = eng, .receipt = on_receipt, .inbound = on_inbound, .no_whatsapp = on_no_whatsapp};
    eng->env = (struct sender_env){
        .base = base, .timers = eng->timers, .http = eng->http, .hooks = &eng->hooks};
    *out = eng;
    return DP_OK;
}

void engine_free(engine *eng)
{
    if (!eng)
        return;
    /* like a crash: what was not committed did not happen, counts included */
    eng->st->v->rollback(eng->st);
    /* claimed but never dispatched: they stay `sending` on disk → unknown */
    struct emsg *em = eng->pend_head;
    while (em) {
        struct emsg *next = em->next;
        sinst_unref(em->si);
        emsg_free(em);
        em = next;
    }
    /* in flight: each holds a reference on its sender instance, and the last
     * reference destroys the instance without calling back, so nothing here
     * can fire into freed campaigns */
    while (eng->flying) {
        struct emsg *f = eng->flying;
        eng->flying = f->fl_next;
        sinst_unref(f->si);
        emsg_free(f);
    }
    while (eng->tests) {
        struct test_send *t = eng->tests;
        eng->tests = t->next;
        sinst_unref(t->si);
        free(t);
    }
    for (size_t i = 0; i < eng->senders.cap; i++)
        if (eng->senders.used[i])
            sender_free((struct esender *)(intptr_t)eng->senders.vals[i]);
    while (eng->zombies) {
        struct esender *z = eng->zombies;
        eng->zombies = z->next_zombie;
        sender_free(z);
    }
    for (size_t i = 0; i < eng->camps.cap; i++)
        if (eng->camps.used[i])
            camp_free((struct camp *)(intptr_t)eng->camps.vals[i]);
    imap_free(&eng->camps);
    imap_free(&eng->senders);
    if (eng->timers)
        timer_cancel(eng->timers, &eng->purge_timer);
    if (eng->flush_ev)
        event_free(eng->flush_ev);
    httpc_free(eng->http);
    timers_free(eng->timers);
    free(eng);
}

int engine_start(engine *eng, dp_err *e)
{
    int rc;
    store *st = eng->st;
    if ((rc = st->v->receipt_parked_count(st, &eng->parked, e)) ||
        (rc = st->v->restriction_any(st, &eng->restrictions, e)))
        return rc;
    if ((rc = st->v->sender_list(st, 0, load_sender_cb, eng, e)))
        return rc;
    if ((rc = st->v->campaign_list(st, 0, -1, recover_cb, eng, e)))
        return rc;
    if ((rc = st->v->commit(st, e)))
        return rc;
    purge_arm(eng, PURGE_FIRST_MS);
    log_info("engine started", "senders=%zu campaigns=%zu", eng->senders.n, eng->camps.n);
    return DP_OK;
}

void engine_drain(engine *eng, int timeout_ms)
{
    /* stop starting new sends (camp_tick checks the flag), let the ones in
     * flight finish and record their answers */
    eng->draining = 1;
    for (size_t i = 0; i < eng->camps.cap; i++)
        if (eng->camps.used[i]) {
            struct camp *c = (struct camp *)(intptr_t)eng->camps.vals[i];
            timer_cancel(eng->timers, &c->timer);
            wq_remove(c);
        }
    int64_t deadline = timer_now_us() + (int64_t)timeout_ms * 1000;
    dp_err e;
    for (;;) {
        if (engine_flush(eng, &e))
            fatal_store("commit", &e);
        if (!eng->flying || timer_now_us() >= deadline)
            break;
        event_base_loop(eng->base, EVLOOP_ONCE);
    }
}

int engine_sender_changed(engine *eng, int64_t sender_id, dp_err *e)
{
    struct st_sender row = {0};
    int rc = eng->st->v->sender_get(eng->st, 0, sender_id, &row, e);
    struct esender *s = sender_get(eng, sender_id);
    if (rc == DP_ENOTFOUND) {
        /* deleted: campaigns that name it skip it from now on */
        if (s) {
            imap_del(&eng->senders, sender_id);
            while (s->wq_head) {
                struct camp *c = s->wq_head;
                wq_remove(c);
                camp_tick(c, NULL);
            }
            /* sends in flight still point at it: keep it until they return */
            s->deleted = 1;
            s->next_zombie = eng->zombies;
            eng->zombies = s;
            sender_reap(s);
        }
        return DP_OK;
    }
    if (rc)
        return rc;
    rc = sender_load(eng, &row, e);
    st_sender_clear(&row);
    if (rc)
        return rc;
    /* a sender that came back may unblock campaigns that had none */
    wake_no_sender(eng);
    s = sender_get(eng, sender_id);
    if (s)
        sender_wake(s);
    return DP_OK;
}

int engine_webhook(engine *eng, int64_t sender_id, const struct sender_webhook_req *req,
                   int *status, struct dp_buf *reply, dp_err *e)
{
    struct esender *s = sender_get(eng, sender_id);
    if (!s || !s->cur || !s->cur->vt->webhook)
        return dp_err_set(e, DP_ENOTFOUND, "no webhook for sender %lld", (long long)sender_id);
    int rc = s->cur->vt->webhook(s->cur->inst, req, status, reply);
    if (rc == DP_OK || *status < 300) {
        int frc = engine_flush(eng, e);
        if (frc)
            return frc;
    }
    return DP_OK;
}

json_t *engine_sender_health(engine *eng, int64_t sender_id)
{
    struct esender *s = sender_get(eng, sender_id);
    if (!s)
        return json_null();
    char ts[TIMEFMT_LEN];
    timefmt_ms(s->health_at, ts);
    return json_pack("{s:b, s:o, s:o, s:o, s:o}", "in_rotation", s->active && !s->held,
                     "held_reason", s->held ? json_string(s->held_reason) : json_null(), "state",
                     s->health_at ? json_string(s->health.state) : json_null(), "detail",
                     s->health_at ? json_string(s->health.detail) : json_null(), "checked_at",
                     s->health_at ? json_string(ts) : json_null());
}

static void test_unlink(struct test_send *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        t->eng->tests = t->next;
    if (t->next)
        t->next->prev = t->prev;
}

static void on_test_done(void *ud, const struct send_result *r)
{
    struct test_send *t = ud;
    test_unlink(t);
    if (t->done)
        t->done(t->ud, r);
    sinst_unref(t->si);
    free(t);
}

int engine_sender_test(engine *eng, int64_t ws, int64_t sender_id, const char *phone,
                       const char *text, engine_test_fn done, void *ud, dp_err *e)
{
    struct esender *s = sender_get(eng, sender_id);
    if (!s || s->ws != ws || !s->cur)
        return dp_err_set(e, DP_ENOTFOUND, "sender %lld not found", (long long)sender_id);
    struct test_send *t = calloc(1, sizeof *t);
    if (!t)
        return dp_err_set(e, DP_ENOMEM, NULL);
    char key[48];
    snprintf(key, sizeof key, "test-%lld-%lld", (long long)sender_id, (long long)timer_wall_us());
    struct sender_msg sm = {.to = phone, .text = text, .idempotency_key = key, .attempt = 1};
    *t = (struct test_send){.eng = eng, .si = s->cur, .done = done, .ud = ud, .next = eng->tests};
    int rc = s->cur->vt->send(s->cur->inst, &sm, on_test_done, t);
    if (rc) {
        free(t);
        return dp_err_set(e, rc, "the sender refused the message: %s", dp_strerror(rc));
    }
    s->cur->refs++;
    if (eng->tests)
        eng->tests->prev = t;
    eng->tests = t;
    return DP_OK;
}

void engine_sender_test_cancel(engine *eng, void *ud)
{
    for (struct test_send *t = eng->tests; t; t = t->next)
        if (t->ud == ud)
            t->done = NULL;
}

int engine_sender_exists(engine *eng, int64_t ws, int64_t sender_id)
{
    struct esender *s = sender_get(eng, sender_id);
    return s && s->ws == ws;
}

static const char *action_name(enum camp_action a)
{
    static const char *n[] = {"start", "pause", "resume", "cancel"};
    return n[a];
}

int engine_campaign_action(engine *eng, int64_t ws, int64_t id, enum camp_action a, dp_err *e)
{
    store *st = eng->st;
    struct st_campaign row = {0};
    int rc;
    if ((rc = engine_flush(eng, e)))
        return rc;
    if ((rc = st->v->campaign_get(st, ws, id, &row, e)))
        return rc;
    struct camp *c = camp_get(eng, id);
    int cur = c ? c->status : row.status;
    int64_t now = wall_ms();
    int to = -1;
    switch (a) {
    case CA_START:
        if (cur == CS_DRAFT)
            to = row.start_at > now ? CS_SCHEDULED : CS_RUNNING;
        else if (cur == CS_SCHEDULED)
            to = CS_RUNNING;
        break;
    case CA_PAUSE:
        if (cur == CS_RUNNING)
            to = CS_PAUSED;
        break;
    case CA_RESUME:
        if (cur == CS_PAUSED)
            to = CS_RUNNING;
        break;
    case CA_CANCEL:
        if (cur == CS_DRAFT || cur == CS_SCHEDULED || cur == CS_RUNNING || cur == CS_PAUSED)
            to = CS_CANCELLED;
        break;
    }
    if (to < 0) {
        rc = dp_err_set(e, DP_ETRANSITION, "cannot %s a campaign that is %s", action_name(a),
                        camp_status_name(cur));
        goto out;
    }
    /* write first; memory changes only once the row is committed */
    {
        struct st_campaign w = row;
        if (c) {
            w.sends_since_rest = c->sends_since_rest;
            w.rest_until = c->rest_until;
        }
        w.status = to;
        w.state_reason = NULL;
        if (to == CS_RUNNING && !w.started_at)
            w.started_at = now;
        if (to == CS_CANCELLED)
            w.finished_at = now;
        w.next_send_at = to == CS_SCHEDULED ? w.start_at : 0;
        static const char *ev[] = {[CS_SCHEDULED] = "scheduled", [CS_RUNNING] = "started",
                                   [CS_PAUSED] = "paused", [CS_CANCELLED] = "cancelled"};
        const char *type = (a == CA_RESUME) ? "resumed" : ev[to];
        if ((rc = st->v->campaign_update(st, &w, e)) ||
            (rc = engine_event(eng, id, type, NULL, e)) || (rc = st->v->commit(st, e))) {
            st->v->rollback(st);
            goto out;
        }
        row.started_at = w.started_at;
        row.finished_at = w.finished_at;
        log_info("campaign state changed", "campaign=%lld from=%s to=%s", (long long)id,
                 camp_status_name(cur), camp_status_name(to));
    }
    if (!c) {
        if (to == CS_CANCELLED)
            goto out;
        row.status = to;
        rc = engine_campaign_load(eng, &row, e);
        goto out;
    }
    c->status = to;
    c->started_at = row.started_at;
    c->reason = NULL;
    switch (to) {
    case CS_SCHEDULED:
        arm_wall(c, c->start_at);
        break;
    case CS_RUNNING:
        c->template_failures = 0;
        memset(c->removed, 0, sizeof c->removed);
        memset(c->consec, 0, sizeof c->consec);
        c->win_known = 0;
        if (!timer_armed(&c->timer) || a == CA_START)
            arm_mono(c, timer_now_us());
        break;
    case CS_PAUSED:
        timer_cancel(eng->timers, &c->timer);
        wq_remove(c);
        c->next_send_at = 0;
        break;
    case CS_CANCELLED:
        camp_finish(c, CS_CANCELLED, NULL);
        camp_maybe_free(c);
        break;
    }
out:
    st_campaign_clear(&row);
    return rc;
}

void engine_campaign_overlay(engine *eng, struct st_campaign *row)
{
    struct camp *c = camp_get(eng, row->id);
    if (!c)
        return;
    for (int i = 0; i < MS__COUNT; i++) {
        row->counts[i] += c->delta[i];
        row->total += c->delta[i];
    }
    row->status = c->status;
    free(row->state_reason);
    row->state_reason = c->reason ? strdup(c->reason) : NULL;
    row->next_send_at = c->status == CS_RUNNING || c->status == CS_SCHEDULED ? c->next_send_at : 0;
    row->started_at = c->started_at;
    row->finished_at = c->finished_at;
}

void engine_stats(engine *eng, struct engine_stats *out)
{
    *out = eng->stats;
    out->campaigns_loaded = (int64_t)eng->camps.n;
    int64_t inflight = 0;
    for (size_t i = 0; i < eng->senders.cap; i++)
        if (eng->senders.used[i])
            inflight += ((struct esender *)(intptr_t)eng->senders.vals[i])->in_flight;
    out->in_flight = inflight;
}

store *engine_store(engine *eng)
{
    return eng->st;
}

dp_rng *engine_rng(engine *eng)
{
    return &eng->rng;
}

const char *engine_country_code(engine *eng)
{
    return eng->cc;
}

int engine_campaign_status(engine *eng, int64_t id)
{
    struct camp *c = camp_get(eng, id);
    return c && !c->freed_pending ? c->status : -1;
}

void engine_campaign_respec(engine *eng, int64_t id, const char *name, struct camp_spec *spec,
                            json_t *spec_json, int64_t start_at)
{
    struct camp *c = camp_get(eng, id);
    if (!c) {
        spec_clear(spec);
        json_decref(spec_json);
        return;
    }
    spec_clear(&c->spec);
    c->spec = *spec;
    memset(spec, 0, sizeof *spec);
    json_decref(c->spec_json);
    c->spec_json = spec_json;
    free(c->name);
    c->name = strdup(name);
    c->start_at = start_at;
    c->win_known = 0;
    c->rr = 0;
    memset(c->removed, 0, sizeof c->removed);
    memset(c->consec, 0, sizeof c->consec);
}
