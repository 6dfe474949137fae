/* The campaign workbook (docs/api.md "Reports"): the .xlsx file that
 * GET /campaigns/{id}/report.xlsx sends, written from a report and the
 * messages of the same read snapshot. Nothing in it is HTTP: report.c runs
 * it in a worker thread and sends the file; the unit tests call it with
 * small sheets to see the rollover into "Messages 2" and "Skipped 2". */
#ifndef DP_HTTP_WORKBOOK_H
#define DP_HTTP_WORKBOOK_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdint.h>

#include "store/sqlite_report.h"
#include "util/err.h"

/* Writes the workbook for report rep (sqrep_report's object) to path; the
 * messages come from r, which must be in the snapshot rep was read in.
 * Sheets, in order: Summary, Messages[, Messages 2, ...], Senders, Errors,
 * Skipped[, Skipped 2, ...]; each Messages and Skipped sheet holds a header
 * row and at most sheet_rows messages (1 <= sheet_rows <= 1,048,575, the
 * format's limit under a header), their number computed up front from
 * rep's counts. Rows go to temporary files in tmpdir (libxlsxwriter's
 * constant_memory), so memory stays flat whatever the campaign's size.
 * A nonzero *cancel, checked between pages, stops it with DP_EIO. On
 * failure the file at path may be left behind: the caller removes it.
 * Borrows everything. Returns DP_OK, DP_EINVAL, DP_ENOMEM, DP_EIO or the
 * reader's error. */
int workbook_write(sqrep *r, const json_t *rep, const char *path, const char *tmpdir,
                   atomic_int *cancel, uint32_t sheet_rows, dp_err *e)
    __attribute__((warn_unused_result));

#endif
