/* The column mapping of a contact import, the same for CSV and XLSX: the
 * header row says which column is the phone (`phone`, or the header the
 * caller names), which is the name (`name`), and every other named column
 * is a template variable. Headers match ASCII case-insensitively; the first
 * of two equal headers wins. */
#ifndef DP_ROWMAP_H
#define DP_ROWMAP_H

#include <jansson.h>
#include <stddef.h>

#include "util/err.h"

#define ROWMAP_MAX_COLS 512

typedef struct rowmap rowmap;

/* Maps a header row (fields as csvin and xlsxin deliver them; line is the
 * row's line for the message). phone_header NULL means "phone".
 * *out is freed with rowmap_free. Returns DP_OK; DP_ECSV when no header is
 * the phone column ("line 1: no \"phone\" column in the header (headers:
 * \"name\", \"cidade\"); ..."), with *out still set so that
 * rowmap_headers() can list them; DP_ENOMEM. */
int rowmap_new(rowmap **out, const char *phone_header, size_t line, size_t n, char **f,
               const size_t *lens, dp_err *e) __attribute__((warn_unused_result));

/* The headers as given, a new JSON array of strings. */
json_t *rowmap_headers(const rowmap *m);

/* The phone and name of a data row: borrowed from f; NULL when the row is
 * too short or the cell is empty. */
const char *rowmap_phone(const rowmap *m, size_t n, char **f, const size_t *lens);
const char *rowmap_name(const rowmap *m, size_t n, char **f, const size_t *lens);

/* The row's variables: a new JSON object with one string per named column
 * other than phone and name that the row reaches (empty cells included, as
 * ""; a cell or header that is not UTF-8 is left out). NULL when out of
 * memory. */
json_t *rowmap_vars(const rowmap *m, size_t n, char **f, const size_t *lens);

/* Accepts NULL. */
void rowmap_free(rowmap *m);

#endif
