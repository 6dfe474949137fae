/* Campaign reports and exports. The loop paces live campaigns, so nothing
 * here may hold it for long:
 *   - the JSON report and the .xlsx workbook are built by a worker thread
 *     per request on a read-only connection of its own (store/sqlite_report.h),
 *     after the engine has flushed, so the thread sees everything done so
 *     far (http/workbook.h writes the workbook); the thread touches no
 *     libevent object and tells the loop it is done through a pipe, and the
 *     loop answers (the workbook goes out with evbuffer_add_file, unlinked,
 *     so nothing is left on disk);
 *   - the CSV export is streamed in chunks of CSV_PAGE messages, the next
 *     page read only when the previous one has been written to the socket.
 *     (http/stream.h, which also copes with a client that leaves).
 * A client that leaves a job first: libevent detaches the request and calls
 * the connection's close callback, which marks the job; the request is then
 * released by one last evhttp_send_* call, which frees a detached request
 * instead of sending. While a job runs evhttp does not read the
 * socket, so the job also watches it for end of stream (job_peer) and
 * stops its thread early. */
#include "http/report.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xlsxwriter.h>

#include "http/http_int.h"
#include "http/stream.h"
#include "http/workbook.h"
#include "store/sqlite_report.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timefmt.h"

#define CSV_PAGE 2000
#define JOBS_MAX 4 /* report threads at once; more answer 409 */
#define XLSX_TYPE "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
/* an xlsx sheet holds 1,048,576 rows: the header and this many messages
 * (or skipped ones); the workbook continues in "Messages 2", "Skipped 2"... */
#define SHEET_ROWS (LXW_ROW_MAX - 1)

/* ---- worker jobs ------------------------------------------------------- */

enum job_kind { JOB_JSON, JOB_XLSX };

struct job {
    struct job *next; /* the live list, for report_shutdown */
    enum job_kind kind;
    int64_t ws, id, now;
    char dbpath[PATH_MAX];
    char tmpdir[PATH_MAX];
    /* loop side */
    struct evhttp_request *req;
    struct evhttp_connection *conn; /* NULL once the client left */
    struct event *done_ev;
    struct event *peer_ev; /* watches the client's socket for its close */
    int pipe[2];
    pthread_t thread;
    int started;
    /* written by the thread before it writes to the pipe */
    atomic_int cancel;
    int rc;
    dp_err err;
    char *json;               /* JOB_JSON: the report text, owned */
    char path[PATH_MAX + 64]; /* JOB_XLSX: the finished file ("" when none) */
};

static struct job *jobs;
static int n_jobs;

static void job_free(struct job *j)
{
    if (!j)
        return;
    if (j->done_ev)
        event_free(j->done_ev);
    if (j->peer_ev)
        event_free(j->peer_ev);
    if (j->pipe[0] >= 0)
        close(j->pipe[0]);
    if (j->pipe[1] >= 0)
        close(j->pipe[1]);
    if (j->path[0])
        (void)unlink(j->path);
    free(j->json);
    free(j);
}

static void job_unlink(struct job *j)
{
    for (struct job **p = &jobs; *p; p = &(*p)->next) {
        if (*p == j) {
            *p = j->next;
            n_jobs--;
            return;
        }
    }
}

/* ---- the thread -------------------------------------------------------- */

static void *job_main(void *arg)
{
    struct job *j = arg;
    sqrep *r = NULL;
    json_t *rep = NULL;
    int rc = sqrep_open(j->dbpath, &r, &j->err);
    if (rc == DP_OK)
        rc = sqrep_begin(r, &j->err);
    if (rc == DP_OK)
        rc = sqrep_report(r, j->ws, j->id, j->now, &rep, &j->err);
    if (rc == DP_OK && j->kind == JOB_JSON) {
        j->json = json_dumps(rep, JSON_COMPACT);
        if (!j->json)
            rc = dp_err_set(&j->err, DP_ENOMEM, "cannot encode the report");
    } else if (rc == DP_OK) {
        rc = workbook_write(r, rep, j->path, j->tmpdir, &j->cancel, SHEET_ROWS, &j->err);
    }
    json_decref(rep);
    sqrep_close(r);
    j->rc = rc;
    /* the last thing the thread does: after this the loop owns j */
    ssize_t w;
    do
        w = write(j->pipe[1], "x", 1);
    while (w < 0 && errno == EINTR);
    return NULL;
}

static void job_closed(struct evhttp_connection *conn, void *arg)
{
    struct job *j = arg;
    (void)conn;
    j->conn = NULL; /* being freed; the request was detached from it */
    atomic_store(&j->cancel, 1);
    if (j->peer_ev)
        event_del(j->peer_ev); /* its socket is about to close */
    log_debug("report client left", "campaign=%lld", (long long)j->id);
}

/* evhttp does not read from a connection while its request waits for an
 * answer, so it would learn that the client left only when the workbook,
 * ten seconds later, fails to go out. This peeks instead: end of stream
 * stops the thread at its next page. */
static void job_peer(evutil_socket_t fd, short what, void *arg)
{
    struct job *j = arg;
    char c;
    ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    (void)what;
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        atomic_store(&j->cancel, 1);
        log_debug("report client left", "campaign=%lld", (long long)j->id);
    } else if (n < 0) {
        (void)event_add(j->peer_ev, NULL); /* woken for nothing: keep watching */
    }
    /* n > 0: a pipelined request, for evhttp to read after this answer */
}

static void job_done(evutil_socket_t fd, short what, void *arg)
{
    struct job *j = arg;
    struct evhttp_request *req = j->req;
    (void)fd;
    (void)what;
    pthread_join(j->thread, NULL);
    job_unlink(j);
    if (j->peer_ev)
        event_del(j->peer_ev);
    log_debug("report built", "campaign=%lld kind=%s ms=%lld rc=%d", (long long)j->id,
              j->kind == JOB_JSON ? "json" : "xlsx", (long long)(timefmt_now_ms() - j->now), j->rc);
    if (j->conn)
        evhttp_connection_set_closecb(j->conn, NULL, NULL);
    if (!j->conn || atomic_load(&j->cancel)) {
        /* The client left. A detached request is freed by this call; one
         * whose socket is only known dead to us fails its write and goes
         * with its connection. */
        evhttp_send_reply(req, 499, "Client Closed Request", NULL);
        goto out;
    }
    if (j->rc != DP_OK) {
        if (j->rc == DP_ENOTFOUND)
            dp_err_set(&j->err, DP_ENOTFOUND, "campaign %lld not found", (long long)j->id);
        http_reply_error(req, &j->err, NULL);
        goto out;
    }
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    struct evbuffer *out = evbuffer_new();
    if (!out) {
        http_reply_code(req, DP_ENOMEM, "out of memory");
        goto out;
    }
    if (j->kind == JOB_JSON) {
        evhttp_add_header(h, "Content-Type", "application/json; charset=utf-8");
        evbuffer_add(out, j->json, strlen(j->json));
        evbuffer_add(out, "\n", 1);
    } else {
        struct stat sb;
        int ffd = open(j->path, O_RDONLY | O_CLOEXEC);
        if (ffd < 0 || fstat(ffd, &sb) != 0) {
            dp_err e;
            dp_err_errno(&e, j->path);
            if (ffd >= 0)
                close(ffd);
            evbuffer_free(out);
            http_reply_error(req, &e, NULL);
            goto out;
        }
        /* the buffer owns ffd from here and reads the file as it sends */
        if (evbuffer_add_file(out, ffd, 0, sb.st_size) != 0) {
            evbuffer_free(out);
            http_reply_code(req, DP_EIO, "cannot send the workbook");
            goto out;
        }
        char disp[96];
        snprintf(disp, sizeof disp, "attachment; filename=\"campaign-%lld.xlsx\"",
                 (long long)j->id);
        evhttp_add_header(h, "Content-Type", XLSX_TYPE);
        evhttp_add_header(h, "Content-Disposition", disp);
    }
    evhttp_send_reply(req, 200, "OK", out);
    evbuffer_free(out);
out:
    job_free(j); /* unlinks the file: the open descriptor keeps it readable */
    /* the thread's arena held the sorts and the workbook's buffers */
    mem_release();
}

/* Checks the campaign, flushes the engine (so the reader sees all of it)
 * and starts a thread. Answers itself on failure. */
static void job_start(struct api_ctx *c, int64_t id, enum job_kind kind)
{
    dp_err e = {0};
    struct job *j = NULL;
    const char *dbpath = c->st->v->path(c->st);
    if (api_require_campaign(c, id))
        return;
    if (n_jobs >= JOBS_MAX) {
        http_reply_code(c->req, DP_ECONFLICT,
                        "%d reports are being built already; try again in a moment", JOBS_MAX);
        return;
    }
    if (!dbpath[0]) {
        http_reply_code(c->req, DP_EINTERNAL, "reports need a database file");
        return;
    }
    j = calloc(1, sizeof *j);
    if (!j) {
        http_reply_code(c->req, DP_ENOMEM, "out of memory");
        return;
    }
    j->pipe[0] = j->pipe[1] = -1;
    j->kind = kind;
    j->ws = c->ws;
    j->id = id;
    j->now = timefmt_now_ms();
    j->req = c->req;
    j->conn = evhttp_request_get_connection(c->req);
    if (snprintf(j->dbpath, sizeof j->dbpath, "%s", dbpath) >= (int)sizeof j->dbpath) {
        dp_err_set(&e, DP_EINVAL, "database path too long");
        goto fail;
    }
    if (kind == JOB_XLSX) {
        /* beside the database: same disk, same permissions */
        static unsigned seq;
        const char *slash = strrchr(dbpath, '/');
        int n = slash ? (int)(slash - dbpath) : 1;
        snprintf(j->tmpdir, sizeof j->tmpdir, "%.*s/tmp", n, slash ? dbpath : ".");
        if (mkdir(j->tmpdir, 0700) != 0 && errno != EEXIST) {
            dp_err_errno(&e, j->tmpdir);
            goto fail;
        }
        snprintf(j->path, sizeof j->path, "%s/report-%lld-%ld-%u.xlsx", j->tmpdir, (long long)id,
                 (long)getpid(), ++seq);
    }
    if (engine_flush(c->eng, &e))
        goto fail;
    if (pipe2(j->pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        dp_err_errno(&e, "pipe");
        goto fail;
    }
    j->done_ev = event_new(evhttp_connection_get_base(j->conn), j->pipe[0], EV_READ, job_done, j);
    if (!j->done_ev || event_add(j->done_ev, NULL) != 0) {
        dp_err_set(&e, DP_ENOMEM, "cannot watch the report thread");
        goto fail;
    }
    int prc = pthread_create(&j->thread, NULL, job_main, j);
    if (prc != 0) {
        errno = prc;
        dp_err_errno(&e, "pthread_create");
        goto fail;
    }
    j->started = 1;
    j->next = jobs;
    jobs = j;
    n_jobs++;
    evhttp_connection_set_closecb(j->conn, job_closed, j);
    j->peer_ev = event_new(evhttp_connection_get_base(j->conn),
                           bufferevent_getfd(evhttp_connection_get_bufferevent(j->conn)), EV_READ,
                           job_peer, j);
    if (!j->peer_ev || event_add(j->peer_ev, NULL) != 0)
        log_warn("report: cannot watch the client", "campaign=%lld", (long long)id);
    log_debug("report started", "campaign=%lld kind=%s", (long long)id,
              kind == JOB_JSON ? "json" : "xlsx");
    return;
fail:
    job_free(j);
    http_reply_error(c->req, &e, NULL);
}

void report_json(struct api_ctx *c, int64_t id)
{
    job_start(c, id, JOB_JSON);
}

void report_xlsx(struct api_ctx *c, int64_t id)
{
    job_start(c, id, JOB_XLSX);
}

/* ---- the CSV stream (loop) --------------------------------------------- */

/* The export's state, copied into its stream (http/stream.h). */
struct csv_export {
    store *st;
    int64_t id, last, n;
    struct evbuffer *out; /* the page being filled */
};

static int csv_row_cb(void *ud, const struct st_message *m)
{
    struct csv_export *x = ud;
    char num[3][32], ts[5][TIMEFMT_LEN];
    snprintf(num[0], sizeof num[0], "%lld", (long long)m->id);
    snprintf(num[1], sizeof num[1], "%lld", (long long)m->sender_id);
    snprintf(num[2], sizeof num[2], "%d", m->attempts);
    const int64_t t[5] = {m->queued_at, m->sent_at, m->delivered_at, m->read_at, m->failed_at};
    for (int i = 0; i < 5; i++) {
        ts[i][0] = '\0';
        if (t[i] > 0)
            timefmt_ms(t[i], ts[i]);
    }
    stream_csv_field(x->out, num[0], 0);
    stream_csv_field(x->out, m->phone, 0);
    stream_csv_field(x->out, m->name, 0);
    stream_csv_field(x->out, m->sender_id ? num[1] : "", 0);
    stream_csv_field(x->out, msg_status_name(m->status), 0);
    stream_csv_field(x->out, num[2], 0);
    stream_csv_field(x->out, m->provider_id, 0);
    stream_csv_field(x->out, m->error_code, 0);
    stream_csv_field(x->out, m->error_detail, 0);
    for (int i = 0; i < 5; i++)
        stream_csv_field(x->out, ts[i], i == 4);
    x->last = m->id;
    x->n++;
    return 0;
}

/* The next CSV_PAGE messages (stream_fill_fn). A store error drops the
 * page read so far and ends the body. */
static int csv_fill(void *state, struct evbuffer *out)
{
    struct csv_export *x = state;
    dp_err e = {0};
    int64_t before = x->n;
    x->out = out;
    if (x->st->v->message_list(x->st, x->id, -1, x->last, CSV_PAGE, csv_row_cb, x, &e)) {
        log_error("export cut short", "campaign=%lld err=\"%s\"", (long long)x->id, e.msg);
        evbuffer_drain(out, evbuffer_get_length(out));
        return 0;
    }
    return x->n - before == CSV_PAGE;
}

void report_csv(struct api_ctx *c, int64_t id)
{
    if (api_require_campaign(c, id))
        return;
    struct csv_export x = {.st = c->st, .id = id};
    char name[64];
    snprintf(name, sizeof name, "campaign-%lld.csv", (long long)id);
    stream_start(c->req, "text/csv; charset=utf-8", name,
                 "id,phone,name,sender_id,status,attempts,provider_message_id,"
                 "error_code,error_detail,queued_at,sent_at,delivered_at,read_at,"
                 "failed_at\r\n",
                 csv_fill, &x, sizeof x);
}

/* ---- shutdown ---------------------------------------------------------- */

void report_shutdown(void)
{
    while (jobs) {
        struct job *j = jobs;
        jobs = j->next;
        n_jobs--;
        atomic_store(&j->cancel, 1);
        if (j->started)
            pthread_join(j->thread, NULL);
        if (j->conn)
            evhttp_connection_set_closecb(j->conn, NULL, NULL);
        job_free(j); /* the request goes with its connection */
    }
}
