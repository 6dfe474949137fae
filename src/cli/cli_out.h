/* Human output for the client: aligned tables, "key  value" detail blocks and
 * the formatting of JSON scalars. Everything that reaches the terminal from
 * the server goes through cli_out_clean, so a name holding an escape sequence
 * or a newline cannot repaint the screen or break a table. */
#ifndef DP_CLI_OUT_H
#define DP_CLI_OUT_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "util/buf.h"

/* Appends at most max bytes of s (n bytes long) to b with control characters
 * replaced by spaces. Returns DP_OK or the buf_append error. */
int cli_out_clean(dp_buf *b, const char *s, size_t n, size_t max)
    __attribute__((warn_unused_result));

/* Display width of a UTF-8 string: code points, not bytes (good enough for
 * the Latin and punctuation text these tables hold). */
size_t cli_out_width(const char *s);

/* The value at a dotted path ("counts.sent") inside o; borrowed, NULL when
 * any step is missing. */
json_t *cli_out_path(const json_t *o, const char *path);
/* The integer at path, def when absent or not a number. */
long long cli_out_int(const json_t *o, const char *path, long long def);
/* The string at path, def when absent or not a string; borrowed. */
const char *cli_out_str(const json_t *o, const char *path, const char *def);
/* A scalar as text: strings as they are, numbers, yes/no, "-" for null or
 * absent, compact JSON for arrays and objects. Returns either the string
 * inside v or tmp (filled, truncated to n); borrowed either way. */
const char *cli_out_val(const json_t *v, char *tmp, size_t n);

/* Prints "key" padded to a fixed column, then the formatted value cleaned of
 * control characters, continuation lines indented under the value. */
void cli_out_kv(FILE *f, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prints one formatted line (the newline is added) cleaned of control
 * characters: for sentences that quote what the server sent. */
void cli_out_line(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The counts of an import's reply (imported, updated, duplicates; invalid
 * is ninvalid) as detail lines on stdout, then its first rejected rows (at
 * most shown) as "  line N: reason". */
void cli_out_import(const json_t *rep, long long ninvalid, size_t shown);

/* A table collects every cell first so the columns can be sized to fit. */
typedef struct cli_table cli_table;

/* headers: ncols column titles (borrowed for the table's life). Returns NULL
 * when out of memory; the caller frees with cli_table_free. */
cli_table *cli_table_new(size_t ncols, const char *const *headers);
/* Accepts NULL. */
void cli_table_free(cli_table *t);
/* Right-aligns a column (numbers). */
void cli_table_right(cli_table *t, size_t col);
/* Adds the next cell, row after row; s is copied (cleaned). */
int cli_table_cell(cli_table *t, const char *s) __attribute__((warn_unused_result));
int cli_table_cellf(cli_table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)))
__attribute__((warn_unused_result));
size_t cli_table_rows(const cli_table *t);
/* Prints the header and every complete row; the last column is not padded. */
void cli_table_print(const cli_table *t, FILE *f);

#endif
