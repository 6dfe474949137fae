/* Streaming CSV reader for contact imports, on top of libcsv. The body of
 * an upload is fed in whatever chunks the network delivers; complete rows
 * come out through a callback with the physical line they started on, so an
 * import can report "line 5: phone has 3 digits".
 *
 * Dialect: an optional UTF-8 BOM is dropped; the delimiter is whichever of
 * ',' ';' and TAB occurs most often outside quotes on the first line (ties
 * in that order, ',' if none); RFC 4180 quoting (a quoted field may hold
 * delimiters, line breaks and "" for a quote; a quote anywhere else is an
 * error); lines end in LF, CRLF or CR; blank lines are skipped; spaces and
 * tabs around unquoted fields are trimmed. */
#ifndef DP_CSVIN_H
#define DP_CSVIN_H

#include <stddef.h>

#include "util/err.h"

/* Limits; past them the input is rejected with DP_ECSV. */
#define CSVIN_MAX_FIELD (64 * 1024)    /* bytes in one field */
#define CSVIN_MAX_FIELDS 512           /* fields in one row */
#define CSVIN_MAX_HEADER (1024 * 1024) /* bytes buffered to find the first line's end */

typedef struct csvin csvin;

/* Called once per row, header included (line 1 unless blank lines precede
 * it). line is the 1-based physical line the row starts on; fields[i] is
 * NUL-terminated (lens[i] excludes the NUL; a field may contain NUL bytes),
 * writable, and valid only during the call. Return 0 to continue, or any
 * nonzero value to stop: csvin_feed/csvin_finish then return that value. */
typedef int (*csvin_row_fn)(void *ud, size_t line, size_t nfields, char **fields,
                            const size_t *lens);

/* Creates a reader; *out is freed with csvin_free. ud is passed to cb.
 * Returns DP_OK or DP_ENOMEM. */
int csvin_new(csvin **out, csvin_row_fn cb, void *ud) __attribute__((warn_unused_result));

/* Feeds the next len bytes; chunks may split anywhere (mid-field, mid-line,
 * mid-UTF-8, mid-BOM). Rows completed by this chunk are delivered before it
 * returns. Returns DP_OK; DP_ECSV with the line in e ("line 7: field longer
 * than 65536 bytes", "line 3: more than 512 fields", "line 2: stray quote"),
 * DP_ENOMEM, or the callback's nonzero value (e is then left untouched so the
 * callback can fill it through ud). After an error every later call returns
 * the same code. */
int csvin_feed(csvin *c, const char *data, size_t len, dp_err *e)
    __attribute__((warn_unused_result));

/* Ends the input: delivers a last row without a trailing line break.
 * Returns as csvin_feed; DP_ECSV for a quoted field still open at the end
 * ("line 4: unterminated quoted field"). */
int csvin_finish(csvin *c, dp_err *e) __attribute__((warn_unused_result));

/* Accepts NULL. */
void csvin_free(csvin *c);

#endif
