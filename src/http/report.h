/* Campaign reports and exports (docs/api.md "Reports"): the JSON report and
 * the .xlsx workbook are built in a worker thread on a read-only database
 * connection, the CSV export is streamed from the loop in pages. None of
 * them holds a campaign's messages in memory or blocks the event loop for
 * more than one page. Private to src/http/. */
#ifndef DP_HTTP_REPORT_H
#define DP_HTTP_REPORT_H

#include <stdint.h>

struct api_ctx;

/* GET /campaigns/{id}/report, /report.xlsx and /export.csv. Each answers
 * (now or later); a campaign outside the caller's workspace is a 404. */
void report_json(struct api_ctx *c, int64_t id);
void report_xlsx(struct api_ctx *c, int64_t id);
void report_csv(struct api_ctx *c, int64_t id);

/* Stops report threads, without touching their requests: call it before
 * the evhttp server that owns them is freed (stream_shutdown does the same
 * for the CSV streams). */
void report_shutdown(void);

#endif
