/* Campaign reports by aggregate SQL over the messages table, on a read-only
 * connection of the reader's own (see sqlite_report.h). Nothing here holds
 * more than one row per sender, error code or timeline bucket: medians are
 * read by stepping through ordered values, never by loading them. The
 * statements are prepared per call: a report runs a dozen of them, against
 * scans of up to a million rows, so preparing is noise. */
#include "store/sqlite_report.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/timefmt.h"

struct sqrep {
    sqlite3 *db;
};

#define MIN_MS 60000LL
#define HOUR_MS 3600000LL
#define DAY_MS 86400000LL

static int rep_fail(sqrep *r, dp_err *e, const char *what)
{
    return dp_err_set(e, DP_EDB, "report %s: %s", what, sqlite3_errmsg(r->db));
}

int sqrep_open(const char *path, sqrep **out, dp_err *e)
{
    sqrep *r = NULL;
    int rc = DP_OK;
    *out = NULL;
    if (!path || !*path)
        return dp_err_set(e, DP_EINVAL, "reports need a database file (not an in-memory one)");
    r = calloc(1, sizeof *r);
    if (!r)
        return dp_err_set(e, DP_ENOMEM, "out of memory");
    /* READONLY: a report can never write, whatever goes wrong in it.
     * NOMUTEX: one thread uses this connection at a time. */
    if (sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        rc = dp_err_set(e, DP_EDB, "%s: %s", path,
                        r->db ? sqlite3_errmsg(r->db) : "cannot allocate a connection");
        goto out;
    }
    (void)sqlite3_busy_timeout(r->db, 5000);
    /* The scans read each page once, so a small cache loses nothing; the
     * sorts behind the medians spill to temporary files past it instead of
     * holding a million values in memory. */
    if (sqlite3_exec(r->db, "PRAGMA temp_store = FILE; PRAGMA cache_size = -8192;", NULL, NULL,
                     NULL) != SQLITE_OK) {
        rc = rep_fail(r, e, "configure");
        goto out;
    }
    *out = r;
    r = NULL;
out:
    sqrep_close(r);
    return rc;
}

void sqrep_close(sqrep *r)
{
    if (!r)
        return;
    sqrep_end(r);
    sqlite3_close_v2(r->db);
    free(r);
}

int sqrep_begin(sqrep *r, dp_err *e)
{
    /* A deferred transaction takes its snapshot at the first read; the
     * read below pins it now, so "begin" means what it says. */
    if (sqlite3_exec(r->db, "BEGIN; SELECT count(*) FROM sqlite_schema;", NULL, NULL, NULL) !=
        SQLITE_OK)
        return rep_fail(r, e, "begin");
    return DP_OK;
}

void sqrep_end(sqrep *r)
{
    if (r && r->db && !sqlite3_get_autocommit(r->db))
        (void)sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL); /* a read: nothing to lose */
}

int64_t sqrep_rank(int64_t n, double p)
{
    int64_t k = (int64_t)ceil(p * (double)n) - 1;
    if (k < 0)
        k = 0;
    if (k > n - 1)
        k = n - 1;
    return k;
}

/* Prepares sql and binds ?1 = a, ?2 = b (when the statement has them). */
static int prep(sqrep *r, const char *sql, int64_t a, int64_t b, sqlite3_stmt **s, dp_err *e)
{
    *s = NULL;
    if (sqlite3_prepare_v2(r->db, sql, -1, s, NULL) != SQLITE_OK)
        return rep_fail(r, e, "prepare");
    int np = sqlite3_bind_parameter_count(*s);
    if ((np >= 1 && sqlite3_bind_int64(*s, 1, a) != SQLITE_OK) ||
        (np >= 2 && sqlite3_bind_int64(*s, 2, b) != SQLITE_OK)) {
        int rc = rep_fail(r, e, "bind");
        sqlite3_finalize(*s);
        *s = NULL;
        return rc;
    }
    return DP_OK;
}

static int64_t col(sqlite3_stmt *s, int i)
{
    return (int64_t)sqlite3_column_int64(s, i);
}

/* The row loop: `while (rc == DP_OK && rep_next(r, s, what, &rc, e))`. 1
 * while s stands on a row; 0 at the end, with *rc set if the step failed. */
static int rep_next(sqrep *r, sqlite3_stmt *s, const char *what, int *rc, dp_err *e)
{
    int step = sqlite3_step(s);
    if (step == SQLITE_ROW)
        return 1;
    if (step != SQLITE_DONE)
        *rc = rep_fail(r, e, what);
    return 0;
}

/* The end of each report part: a part is in the report whole or not at
 * all, so v goes under key when rc is DP_OK and is dropped otherwise. */
static int put(json_t *out, const char *key, json_t *v, int rc)
{
    if (rc == DP_OK)
        json_object_set_new(out, key, v);
    else
        json_decref(v);
    return rc;
}

static json_t *time_or_null(int64_t ms)
{
    char ts[TIMEFMT_LEN];
    if (ms <= 0)
        return json_null();
    timefmt_ms(ms, ts);
    return json_string(ts);
}

/* ---- the campaign row -------------------------------------------------- */

struct camp_head {
    int64_t started, finished, status;
};

static int add_campaign(sqrep *r, int64_t ws, int64_t id, json_t *out, struct camp_head *h,
                        dp_err *e)
{
    static const char sql[] =
        "SELECT id, name, status, created_at, started_at, finished_at, n_queued, n_sending,"
        " n_sent, n_delivered, n_read, n_failed, n_skipped, n_unknown, total, n_replied,"
        " n_clicked FROM campaigns WHERE id = ?1 AND (?2 = 0 OR ws = ?2)";
    sqlite3_stmt *s = NULL;
    int rc = prep(r, sql, id, ws, &s, e);
    int step;
    if (rc != DP_OK)
        return rc;
    step = sqlite3_step(s);
    if (step == SQLITE_DONE) {
        rc = dp_err_set(e, DP_ENOTFOUND, "campaign %lld not found", (long long)id);
        goto out;
    }
    if (step != SQLITE_ROW) {
        rc = rep_fail(r, e, "campaign");
        goto out;
    }
    const char *name = (const char *)sqlite3_column_text(s, 1);
    h->status = col(s, 2);
    h->started = col(s, 4);
    h->finished = col(s, 5);
    json_t *counts = json_object();
    json_object_set_new(counts, "total", json_integer(col(s, 14)));
    for (int i = 0; i < MS__COUNT; i++)
        json_object_set_new(counts, msg_status_name(i), json_integer(col(s, 6 + i)));
    json_object_set_new(counts, "replied", json_integer(col(s, 15)));
    json_object_set_new(counts, "clicked", json_integer(col(s, 16)));
    json_object_set_new(out, "id", json_integer(col(s, 0)));
    json_object_set_new(out, "name", json_string(name ? name : ""));
    json_object_set_new(out, "status", json_string(camp_status_name((int)h->status)));
    json_object_set_new(out, "created_at", time_or_null(col(s, 3)));
    json_object_set_new(out, "started_at", time_or_null(h->started));
    json_object_set_new(out, "finished_at", time_or_null(h->finished));
    json_object_set_new(out, "counts", counts);
    json_object_set_new(out, "replied", json_integer(col(s, 15)));
    json_object_set_new(out, "clicked", json_integer(col(s, 16)));
out:
    sqlite3_finalize(s);
    return rc;
}

/* ---- by sender, by error ----------------------------------------------- */

/* What the by-sender scan learns besides the per-sender numbers, so later
 * steps need no scan of their own: the span of every send, delivery, read
 * and failure time (0s when none), the first send, and how many messages
 * each duration has. */
struct scan {
    int64_t lo, hi, first_sent;
    int64_t n_q2s, n_s2d, n_s2r;
};

static void widen(struct scan *sc, int64_t lo, int64_t hi)
{
    if (lo > 0 && (sc->lo == 0 || lo < sc->lo))
        sc->lo = lo;
    if (hi > sc->hi)
        sc->hi = hi;
}

/* Grouped first, joined after: one senders lookup per sender, not per row.
 * Statuses by value: 0 queued .. 7 unknown (pinned in sqlite.c). The
 * min/max/count columns feed struct scan (one pass over the campaign's
 * rows instead of five). */
static int add_by_sender(sqrep *r, int64_t id, json_t *out, struct scan *sc, dp_err *e)
{
    static const char sql[] =
        "SELECT g.sender_id, s.name, g.n, g.sent, g.delivered, g.rd, g.failed, g.skipped,"
        " g.unknown, g.replied, g.queued, g.sending, g.s0, g.s1, g.d0, g.d1, g.r0, g.r1, g.f0,"
        " g.f1, g.q2s, g.s2d, g.s2r FROM ("
        "  SELECT sender_id, count(*) AS n, sum(status = 2) AS sent,"
        "   sum(status = 3) AS delivered, sum(status = 4) AS rd, sum(status = 5) AS failed,"
        "   sum(status = 6) AS skipped, sum(status = 7) AS unknown,"
        "   sum(replied_at > 0) AS replied, sum(status = 0) AS queued, sum(status = 1) AS sending,"
        "   min(nullif(sent_at, 0)) AS s0, max(sent_at) AS s1,"
        "   min(nullif(delivered_at, 0)) AS d0, max(delivered_at) AS d1,"
        "   min(nullif(read_at, 0)) AS r0, max(read_at) AS r1,"
        "   min(nullif(failed_at, 0)) AS f0, max(failed_at) AS f1,"
        "   sum(sent_at > 0 AND queued_at > 0) AS q2s,"
        "   sum(delivered_at > 0 AND sent_at > 0) AS s2d,"
        "   sum(read_at > 0 AND sent_at > 0) AS s2r"
        "  FROM messages WHERE campaign_id = ?1 GROUP BY sender_id) g"
        " LEFT JOIN senders s ON s.id = g.sender_id ORDER BY g.sender_id";
    sqlite3_stmt *s = NULL;
    json_t *arr = json_array();
    int rc = prep(r, sql, id, 0, &s, e);
    memset(sc, 0, sizeof *sc);
    while (rc == DP_OK && rep_next(r, s, "by_sender", &rc, e)) {
        const char *name = (const char *)sqlite3_column_text(s, 1);
        int64_t sid = col(s, 0);
        json_t *o = json_object();
        /* sender 0: messages no sender took (skipped before a send, queued) */
        json_object_set_new(o, "sender_id", sid ? json_integer(sid) : json_null());
        json_object_set_new(o, "name", name ? json_string(name) : json_null());
        json_object_set_new(o, "total", json_integer(col(s, 2)));
        json_object_set_new(o, "queued", json_integer(col(s, 10)));
        json_object_set_new(o, "sending", json_integer(col(s, 11)));
        json_object_set_new(o, "sent", json_integer(col(s, 3)));
        json_object_set_new(o, "delivered", json_integer(col(s, 4)));
        json_object_set_new(o, "read", json_integer(col(s, 5)));
        json_object_set_new(o, "failed", json_integer(col(s, 6)));
        json_object_set_new(o, "skipped", json_integer(col(s, 7)));
        json_object_set_new(o, "unknown", json_integer(col(s, 8)));
        json_object_set_new(o, "replied", json_integer(col(s, 9)));
        json_array_append_new(arr, o);
        /* NULL (no such time in this group) reads as 0 */
        int64_t s0 = col(s, 12);
        if (s0 > 0 && (sc->first_sent == 0 || s0 < sc->first_sent))
            sc->first_sent = s0;
        for (int i = 12; i < 20; i += 2)
            widen(sc, col(s, i), col(s, i + 1));
        sc->n_q2s += col(s, 20);
        sc->n_s2d += col(s, 21);
        sc->n_s2r += col(s, 22);
    }
    sqlite3_finalize(s);
    return put(out, "by_sender", arr, rc);
}

static int add_by_error(sqrep *r, int64_t id, json_t *out, dp_err *e)
{
    /* 5 failed, 6 skipped: the (campaign_id, status) index finds them */
    static const char sql[] =
        "SELECT status, coalesce(error_code, ''), count(*), max(error_detail) FROM messages"
        " WHERE campaign_id = ?1 AND status IN (5, 6) GROUP BY status, error_code"
        " ORDER BY status, count(*) DESC, 2";
    sqlite3_stmt *s = NULL;
    json_t *arr = json_array();
    int rc = prep(r, sql, id, 0, &s, e);
    while (rc == DP_OK && rep_next(r, s, "by_error", &rc, e)) {
        const char *detail = (const char *)sqlite3_column_text(s, 3);
        json_array_append_new(
            arr, json_pack("{s:s, s:s, s:I, s:s}", "status", msg_status_name((int)col(s, 0)),
                           "code", (const char *)sqlite3_column_text(s, 1), "count",
                           (json_int_t)col(s, 2), "detail", detail ? detail : ""));
    }
    sqlite3_finalize(s);
    return put(out, "by_error", arr, rc);
}

/* ---- timeline ---------------------------------------------------------- */

/* Minutes while they fit in SQREP_TIMELINE_MAX buckets, else hours, else
 * whole days; buckets start at multiples of the width since the epoch, so
 * they are UTC minutes, hours and days. */
static int64_t bucket_width(int64_t lo, int64_t hi)
{
    if (hi / MIN_MS - lo / MIN_MS + 1 <= SQREP_TIMELINE_MAX)
        return MIN_MS;
    if (hi / HOUR_MS - lo / HOUR_MS + 1 <= SQREP_TIMELINE_MAX)
        return HOUR_MS;
    int64_t days = hi / DAY_MS - lo / DAY_MS + 1;
    /* (hi - lo) / w < days / k <= MAX - 1, so at most MAX buckets */
    int64_t k = (days + SQREP_TIMELINE_MAX - 2) / (SQREP_TIMELINE_MAX - 1);
    return k * DAY_MS;
}

/* One pass over the four times of every message, counted into buckets
 * that the span (from the by-sender scan) bounds: memory is fixed, however
 * many messages. Only buckets with something in them are listed. */
static int add_timeline(sqrep *r, int64_t id, const struct scan *sc, json_t *out, dp_err *e)
{
    static const char sql[] = "SELECT sent_at, delivered_at, read_at, failed_at FROM messages"
                              " WHERE campaign_id = ?1";
    sqlite3_stmt *s = NULL;
    json_t *arr = json_array();
    int64_t w = sc->lo > 0 ? bucket_width(sc->lo, sc->hi) : MIN_MS;
    int64_t first = sc->lo / w, nb = sc->lo > 0 ? sc->hi / w - first + 1 : 0;
    int64_t(*b)[4] = NULL;
    int rc = DP_OK;
    json_object_set_new(out, "timeline_bucket_seconds", json_integer(w / 1000));
    if (nb == 0)
        goto out;
    b = calloc((size_t)nb, sizeof *b);
    if (!b) {
        rc = dp_err_set(e, DP_ENOMEM, "out of memory");
        goto out;
    }
    rc = prep(r, sql, id, 0, &s, e);
    while (rc == DP_OK && rep_next(r, s, "timeline", &rc, e)) {
        for (int k = 0; k < 4; k++) {
            int64_t t = col(s, k);
            /* the snapshot is the one the span came from: always in range */
            if (t > 0 && t / w >= first && t / w - first < nb)
                b[t / w - first][k]++;
        }
    }
    for (int64_t i = 0; i < nb && rc == DP_OK; i++) {
        if (!b[i][0] && !b[i][1] && !b[i][2] && !b[i][3])
            continue;
        json_t *o = json_object();
        json_object_set_new(o, "minute", time_or_null((first + i) * w));
        json_object_set_new(o, "sent", json_integer(b[i][0]));
        json_object_set_new(o, "delivered", json_integer(b[i][1]));
        json_object_set_new(o, "read", json_integer(b[i][2]));
        json_object_set_new(o, "failed", json_integer(b[i][3]));
        json_array_append_new(arr, o);
    }
out:
    sqlite3_finalize(s);
    free(b);
    return put(out, "timeline", arr, rc);
}

/* ---- durations --------------------------------------------------------- */

/* {count, median_ms, p90_ms} of expr over the n messages of the campaign
 * where cond holds (n from the by-sender scan, same snapshot): one ordered
 * pass that stops at the p90 row. expr and cond are constants of this
 * file, never input. */
static int add_dist(sqrep *r, int64_t id, const char *key, const char *expr, const char *cond,
                    int64_t n, json_t *out, dp_err *e)
{
    char sql[512];
    sqlite3_stmt *s = NULL;
    int64_t med = 0, p90 = 0;
    int rc = DP_OK;
    if (n > 0) {
        int64_t k50 = sqrep_rank(n, 0.5), k90 = sqrep_rank(n, 0.9);
        snprintf(sql, sizeof sql,
                 "SELECT %s AS d FROM messages WHERE campaign_id = ?1 AND %s ORDER BY d", expr,
                 cond);
        rc = prep(r, sql, id, 0, &s, e);
        if (rc != DP_OK)
            goto out;
        for (int64_t i = 0; i <= k90; i++) {
            if (sqlite3_step(s) != SQLITE_ROW) {
                rc = rep_fail(r, e, key); /* fewer rows than the scan counted */
                goto out;
            }
            if (i == k50)
                med = col(s, 0);
            if (i == k90)
                p90 = col(s, 0);
        }
    }
    json_object_set_new(out, key,
                        json_pack("{s:I, s:o, s:o}", "count", (json_int_t)n, "median_ms",
                                  n ? json_integer(med) : json_null(), "p90_ms",
                                  n ? json_integer(p90) : json_null()));
out:
    sqlite3_finalize(s);
    return rc;
}

static int add_durations(sqrep *r, int64_t id, const struct camp_head *h, const struct scan *sc,
                         int64_t now_ms, json_t *out, dp_err *e)
{
    json_t *d = json_object();
    int rc;
    int64_t end = h->finished ? h->finished : now_ms;
    json_object_set_new(d, "elapsed_ms", h->started ? json_integer(end - h->started) : json_null());
    json_object_set_new(d, "to_first_send_ms",
                        h->started && sc->first_sent ? json_integer(sc->first_sent - h->started)
                                                     : json_null());
    rc = add_dist(r, id, "queue_to_sent", "sent_at - queued_at", "sent_at > 0 AND queued_at > 0",
                  sc->n_q2s, d, e);
    if (rc == DP_OK)
        rc = add_dist(r, id, "sent_to_delivered", "delivered_at - sent_at",
                      "delivered_at > 0 AND sent_at > 0", sc->n_s2d, d, e);
    if (rc == DP_OK)
        rc = add_dist(r, id, "sent_to_read", "read_at - sent_at", "read_at > 0 AND sent_at > 0",
                      sc->n_s2r, d, e);
    return put(out, "durations", d, rc);
}

int sqrep_report(sqrep *r, int64_t ws, int64_t id, int64_t now_ms, json_t **out, dp_err *e)
{
    struct camp_head h = {0};
    struct scan sc;
    json_t *j = json_object();
    int rc = add_campaign(r, ws, id, j, &h, e);
    if (rc == DP_OK)
        rc = add_by_sender(r, id, j, &sc, e);
    if (rc == DP_OK)
        rc = add_by_error(r, id, j, e);
    if (rc == DP_OK)
        rc = add_timeline(r, id, &sc, j, e);
    if (rc == DP_OK)
        rc = add_durations(r, id, &h, &sc, now_ms, j, e);
    if (rc != DP_OK) {
        json_decref(j);
        j = NULL;
    }
    *out = j;
    return rc;
}

/* ---- messages ---------------------------------------------------------- */

int sqrep_messages(sqrep *r, int64_t campaign_id, int64_t after_id, int64_t limit, st_message_cb cb,
                   void *ud, dp_err *e)
{
    static const char sql[] =
        "SELECT id, campaign_id, phone, name, status, attempts, sender_id, provider_id,"
        " error_code, error_detail, queued_at, sent_at, delivered_at, read_at, failed_at, reply,"
        " button_id, replied_at, clicked_at FROM messages"
        " WHERE campaign_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3";
    sqlite3_stmt *s = NULL;
    int rc = prep(r, sql, campaign_id, after_id, &s, e);
    if (rc == DP_OK && sqlite3_bind_int64(s, 3, limit > 0 ? limit : -1) != SQLITE_OK)
        rc = rep_fail(r, e, "messages");
    while (rc == DP_OK && rep_next(r, s, "messages", &rc, e)) {
        struct st_message m = {0};
        m.id = col(s, 0);
        m.campaign_id = col(s, 1);
        m.phone = (char *)sqlite3_column_text(s, 2);
        m.name = (char *)sqlite3_column_text(s, 3);
        m.status = (int)col(s, 4);
        m.attempts = (int)col(s, 5);
        m.sender_id = col(s, 6);
        m.provider_id = (char *)sqlite3_column_text(s, 7);
        m.error_code = (char *)sqlite3_column_text(s, 8);
        m.error_detail = (char *)sqlite3_column_text(s, 9);
        m.queued_at = col(s, 10);
        m.sent_at = col(s, 11);
        m.delivered_at = col(s, 12);
        m.read_at = col(s, 13);
        m.failed_at = col(s, 14);
        m.reply = (char *)sqlite3_column_text(s, 15);
        m.button_id = (char *)sqlite3_column_text(s, 16);
        m.replied_at = col(s, 17);
        m.clicked_at = col(s, 18);
        rc = cb(ud, &m);
    }
    sqlite3_finalize(s);
    return rc;
}
