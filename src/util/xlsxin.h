/* Streaming XLSX reader for contact imports: the first worksheet of a
 * workbook comes out row by row through the same callback shape as csvin,
 * so an import handles both formats with one row function. The archive is
 * read with libzip and the sheet XML is parsed with expat while it is being
 * inflated, so memory does not grow with the number of rows (it grows with
 * the shared-string table, which the format keeps apart from the sheet).
 *
 * What a cell comes back as: strings (shared, inline, rich text runs joined,
 * phonetic runs dropped, _xHHHH_ escapes decoded) as their text; numbers as
 * the literal text the file stores, except that scientific notation is
 * expanded exactly ("5.511999990001E+12" -> "5511999990001"); booleans as
 * "TRUE"/"FALSE"; formulas as their cached value (empty when the file has
 * none); error values ("#N/A") and dates (serial numbers) as stored. */
#ifndef DP_XLSXIN_H
#define DP_XLSXIN_H

#include <stddef.h>

#include "util/err.h"

/* Limits; past them the input is rejected. Cells and rows: DP_ECSV naming
 * the row, as csvin does; the archive: DP_EINVAL or DP_ETOOBIG. */
#define XLSXIN_MAX_FIELD (64 * 1024)              /* bytes in one cell */
#define XLSXIN_MAX_FIELDS 512                     /* columns up to the last non-empty cell */
#define XLSXIN_MAX_SST_BYTES (256u * 1024 * 1024) /* the whole shared-string table */
#define XLSXIN_MAX_SST_COUNT (16u * 1024 * 1024)  /* strings in it */
#define XLSXIN_MAX_PART (2048ull * 1024 * 1024)   /* uncompressed bytes of one part */
/* A part bigger than XLSXIN_RATIO_FLOOR may not inflate to more than
 * XLSXIN_MAX_RATIO times its compressed size: real sheets stay well under
 * 100:1 (a million rows from libxlsxwriter: 11:1), a zip bomb is around
 * 1000:1. Both are checked on the sizes the archive declares before
 * inflating, and a part that inflates past its declared size is refused. */
#define XLSXIN_MAX_RATIO 250
#define XLSXIN_RATIO_FLOOR (16u * 1024 * 1024)

typedef struct xlsxin xlsxin;

/* Called once per row that has at least one non-empty cell, header
 * included. line is the spreadsheet's row number (1-based; rows the sheet
 * skips are skipped here too, so numbers can jump). fields[i] is column i
 * (A = 0); empty cells before the last non-empty one come as "", and the row
 * ends at its last non-empty cell, so nfields varies from row to row.
 * fields[i] is NUL-terminated (lens[i] excludes the NUL; a cell may contain
 * NUL bytes), writable, and valid only during the call. Return 0 to
 * continue, or any nonzero value to stop: xlsxin_rows then returns it. */
typedef int (*xlsxin_row_fn)(void *ud, size_t line, size_t nfields, char **fields,
                             const size_t *lens);

/* Open a workbook, find its first worksheet in workbook order and load the
 * shared strings. *out is freed with xlsxin_free. xlsxin_open_mem borrows
 * data: it must stay valid and unchanged until xlsxin_free.
 * Return DP_OK; DP_EINVAL with a message for anything that is not a
 * readable workbook ("not an XLSX file", "the workbook has no sheets",
 * "the workbook is encrypted ...", "damaged XLSX file: ..."); DP_ETOOBIG
 * when a part passes the limits above (a zip bomb); DP_EIO when the file
 * cannot be read; DP_ENOMEM. */
int xlsxin_open_file(const char *path, xlsxin **out, dp_err *e) __attribute__((warn_unused_result));
int xlsxin_open_mem(const void *data, size_t len, xlsxin **out, dp_err *e)
    __attribute__((warn_unused_result));

/* Streams the rows of the first worksheet to cb (ud is passed along);
 * may be called again to read the sheet anew. Returns DP_OK; DP_ECSV with
 * the row in e ("row 7: cell C7 is longer than 65536 bytes", "row 3: more
 * than 512 columns"); DP_EINVAL for a damaged sheet ("damaged XLSX file:
 * ..."); DP_ETOOBIG; DP_ENOMEM; or the callback's nonzero value (e is then
 * left untouched so the callback can fill it through ud). */
int xlsxin_rows(xlsxin *x, xlsxin_row_fn cb, void *ud, dp_err *e)
    __attribute__((warn_unused_result));

/* The first worksheet's tab name ("" if the workbook gives none); borrowed
 * from x. */
const char *xlsxin_sheet_name(const xlsxin *x);

/* Accepts NULL. */
void xlsxin_free(xlsxin *x);

#endif
