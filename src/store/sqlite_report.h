/* Campaign reports from the SQLite store: aggregate SQL over the messages
 * table on a connection of its own, read-only, so a report can be built in
 * a worker thread while the event loop's connection keeps writing (WAL lets
 * one writer and many readers work at once). A reader is used by one thread
 * at a time; it sees what was committed when sqrep_begin() was called.
 * Functions return DP_OK or a negative dp_code with detail in e. */
#ifndef DP_SQLITE_REPORT_H
#define DP_SQLITE_REPORT_H

#include <jansson.h>
#include <stdint.h>

#include "store/store.h"
#include "util/err.h"

typedef struct sqrep sqrep;

/* The timeline has at most this many buckets: a minute each while the
 * campaign's sends span up to a day, else an hour, else a whole number of
 * days (a campaign of weeks still gives a chart, not 40,000 points). */
#define SQREP_TIMELINE_MAX 1440

/* Opens a read-only connection to the database file at path (the writer's
 * store->v->path()). The caller closes it with sqrep_close(). */
int sqrep_open(const char *path, sqrep **out, dp_err *e) __attribute__((warn_unused_result));
void sqrep_close(sqrep *r); /* accepts NULL */

/* A read snapshot: every call between begin and end sees one committed
 * state, so the report's parts add up. end accepts a reader not in one. */
int sqrep_begin(sqrep *r, dp_err *e) __attribute__((warn_unused_result));
void sqrep_end(sqrep *r);

/* The campaign report (docs/api.md "Reports") as a new JSON object in *out:
 * campaign, counts, by_sender, by_error, timeline, durations. now_ms is
 * "now" for a campaign still running. DP_ENOTFOUND when campaign id is not
 * in workspace ws (ws 0 = any). */
int sqrep_report(sqrep *r, int64_t ws, int64_t id, int64_t now_ms, json_t **out, dp_err *e)
    __attribute__((warn_unused_result));

/* Messages of a campaign by id after after_id, at most limit (0 = all),
 * strings borrowed for the callback; cb returns nonzero to stop. */
int sqrep_messages(sqrep *r, int64_t campaign_id, int64_t after_id, int64_t limit, st_message_cb cb,
                   void *ud, dp_err *e) __attribute__((warn_unused_result));

/* Nearest-rank percentile position: the 0-based index of the p-th
 * percentile (0 < p <= 1) among n sorted values, n > 0. */
int64_t sqrep_rank(int64_t n, double p);

#endif
