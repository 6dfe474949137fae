/* CSV reader: libcsv does the quoting; this file adds what imports need on
 * top: BOM and delimiter detection, physical line numbers, size caps, and
 * rows delivered as arrays.
 *
 * Line numbers: libcsv does not count lines, so input is handed to it in
 * pieces that end at each CR or LF. A row can only end at a line break, so
 * the row callback always fires at the end of a piece, and the next record
 * starts on the line of the next piece. With CSV_REPALL_NL libcsv also
 * reports blank lines as empty rows, which keeps that bookkeeping exact. */
#include "util/csvin.h"

#include <csv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

/* libcsv keeps the field being parsed in one buffer, grown through this
 * realloc; refusing to grow it past the cap bounds memory for a runaway
 * field (say, an unclosed quote) before the field callback ever sees it.
 * The slack covers trailing spaces and the closing quote libcsv holds
 * temporarily before trimming them. */
#define ENTRY_CAP (CSVIN_MAX_FIELD + 1024)
#define ENTRY_BLOCK 4096

enum { ST_PRE, ST_BODY, ST_DONE };

struct csvin {
    struct csv_parser p;
    csvin_row_fn cb;
    void *ud;
    int state;

    /* Before the delimiter is known: the buffered start of the input. */
    dp_buf pre;
    size_t pre_scanned;  /* bytes of pre already scanned */
    int pre_inq;         /* inside quotes at pre_scanned */
    int pre_content;     /* the current line has non-blank bytes */
    size_t pre_count[3]; /* ',' ';' '\t' outside quotes on the current line */

    /* Lines. */
    size_t line;     /* physical line of the next byte */
    int prev_cr;     /* the last byte fed was CR (so LF does not count) */
    int need_start;  /* the next piece starts a record */
    size_t rec_line; /* line where the current record started */

    /* The row being assembled. */
    dp_buf row; /* field bytes, each followed by a NUL */
    size_t nf;
    size_t *offs;
    size_t *lens;
    char **ptrs;

    /* Errors: rc is sticky; internal says whether msg is ours to report. */
    int rc;
    int internal;
    char msg[DP_ERR_DETAIL_MAX];
};

static const unsigned char BOM[3] = {0xEF, 0xBB, 0xBF};
static const char DELIMS[3] = {',', ';', '\t'};

static void *capped_realloc(void *ptr, size_t n)
{
    if (n > ENTRY_CAP)
        return NULL;
    return realloc(ptr, n);
}

/* Records an error of our own (first one wins). */
static void fail(csvin *c, int rc, const char *msg)
{
    if (c->rc)
        return;
    c->rc = rc;
    c->internal = 1;
    snprintf(c->msg, sizeof c->msg, "%s", msg);
}

static void failf_line(csvin *c, size_t line, const char *what)
{
    char m[DP_ERR_DETAIL_MAX];
    snprintf(m, sizeof m, "line %zu: %s", line, what);
    fail(c, DP_ECSV, m);
}

static int report(csvin *c, dp_err *e)
{
    if (c->rc && c->internal)
        dp_err_set(e, c->rc, "%s", c->msg);
    return c->rc;
}

int csvin_new(csvin **out, csvin_row_fn cb, void *ud)
{
    csvin *c = calloc(1, sizeof *c);
    int rc = DP_OK;

    *out = NULL;
    if (!c)
        return DP_ENOMEM;
    c->offs = calloc(CSVIN_MAX_FIELDS, sizeof *c->offs);
    c->lens = calloc(CSVIN_MAX_FIELDS, sizeof *c->lens);
    c->ptrs = calloc(CSVIN_MAX_FIELDS, sizeof *c->ptrs);
    if (!c->offs || !c->lens || !c->ptrs) {
        rc = DP_ENOMEM;
        goto out;
    }
    if (csv_init(&c->p, CSV_STRICT | CSV_STRICT_FINI | CSV_REPALL_NL) != 0) {
        rc = DP_ENOMEM;
        goto out;
    }
    csv_set_realloc_func(&c->p, capped_realloc);
    csv_set_blk_size(&c->p, ENTRY_BLOCK);
    c->cb = cb;
    c->ud = ud;
    c->state = ST_PRE;
    c->line = 1;
    c->need_start = 1;
    c->rec_line = 1;
    buf_init(&c->pre, CSVIN_MAX_HEADER + sizeof BOM);
    /* A full row: every field at the cap, each with its NUL. */
    buf_init(&c->row, (size_t)CSVIN_MAX_FIELDS * (CSVIN_MAX_FIELD + 1));
    *out = c;
    c = NULL;
out:
    if (c) {
        free(c->offs);
        free(c->lens);
        free(c->ptrs);
        free(c);
    }
    return rc;
}

void csvin_free(csvin *c)
{
    if (!c)
        return;
    csv_free(&c->p);
    buf_free(&c->pre);
    buf_free(&c->row);
    free(c->offs);
    free(c->lens);
    free(c->ptrs);
    free(c);
}

/* ---- libcsv callbacks --------------------------------------------------- */

static void on_field(void *s, size_t len, void *data)
{
    csvin *c = data;
    if (c->rc)
        return;
    if (len > CSVIN_MAX_FIELD) {
        failf_line(c, c->rec_line, "field longer than 65536 bytes");
        return;
    }
    if (c->nf >= CSVIN_MAX_FIELDS) {
        failf_line(c, c->rec_line, "more than 512 fields");
        return;
    }
    size_t off = c->row.len;
    static const char nul = '\0';
    if (buf_append(&c->row, s, len) != DP_OK || buf_append(&c->row, &nul, 1) != DP_OK) {
        fail(c, DP_ENOMEM, "out of memory");
        return;
    }
    c->offs[c->nf] = off;
    c->lens[c->nf] = len;
    c->nf++;
}

static void on_row(int ch, void *data)
{
    csvin *c = data;
    size_t nf = c->nf;
    c->need_start = 1;
    c->nf = 0;
    if (c->rc)
        return;
    /* Blank and whitespace-only lines (and a lone "") carry no data. */
    if (nf == 0 || (nf == 1 && c->lens[0] == 0)) {
        buf_reset(&c->row);
        return;
    }
    for (size_t i = 0; i < nf; i++)
        c->ptrs[i] = c->row.data + c->offs[i];
    int rc = c->cb ? c->cb(c->ud, c->rec_line, nf, c->ptrs, c->lens) : 0;
    buf_reset(&c->row);
    if (rc) {
        c->rc = rc;
        c->internal = 0;
    }
}

/* Turns a short return from csv_parse/csv_fini into our error. */
static void parse_error(csvin *c, int at_end)
{
    int st = csv_error(&c->p);
    if (c->rc)
        return;
    if (st == CSV_EPARSE && at_end)
        failf_line(c, c->rec_line, "unterminated quoted field");
    else if (st == CSV_EPARSE)
        failf_line(c, c->line, "stray quote (quote the whole field and double quotes inside it)");
    else if (st == CSV_ENOMEM && csv_get_buffer_size(&c->p) + ENTRY_BLOCK > ENTRY_CAP)
        failf_line(c, c->rec_line, "field longer than 65536 bytes");
    else
        fail(c, DP_ENOMEM, "out of memory");
}

/* ---- body --------------------------------------------------------------- */

static void body_feed(csvin *c, const char *data, size_t len)
{
    size_t i = 0;
    while (i < len && !c->rc) {
        size_t j = i;
        while (j < len && data[j] != '\n' && data[j] != '\r')
            j++;
        if (j < len)
            j++; /* the piece ends with its line break */
        if (c->need_start) {
            c->rec_line = c->line;
            c->need_start = 0;
        }
        size_t n = csv_parse(&c->p, data + i, j - i, on_field, on_row, c);
        if (n < j - i) {
            parse_error(c, 0);
            return;
        }
        char last = data[j - 1];
        if (j - i > 1 || (last != '\n' && last != '\r'))
            c->prev_cr = 0;
        if (last == '\r') {
            c->line++;
            c->prev_cr = 1;
        } else if (last == '\n') {
            if (!c->prev_cr)
                c->line++;
            c->prev_cr = 0;
        }
        i = j;
    }
}

/* ---- before the delimiter is known -------------------------------------- */

/* Scans new bytes of pre for the end of the first non-blank line, counting
 * candidate delimiters outside quotes. Returns 1 when found. */
static int pre_scan(csvin *c)
{
    const char *s = c->pre.data;
    if (c->pre_scanned == 0) {
        /* A BOM is not content; wait until it is complete or ruled out. */
        size_t n = c->pre.len < sizeof BOM ? c->pre.len : sizeof BOM;
        if (memcmp(s, BOM, n) == 0) {
            if (n < sizeof BOM)
                return 0;
            c->pre_scanned = sizeof BOM;
        }
    }
    for (; c->pre_scanned < c->pre.len; c->pre_scanned++) {
        char ch = s[c->pre_scanned];
        if (ch == '"') {
            c->pre_inq = !c->pre_inq;
            c->pre_content = 1;
        } else if (c->pre_inq) {
            continue;
        } else if (ch == '\n' || ch == '\r') {
            if (c->pre_content)
                return 1;
            /* A blank line: the header is further down. */
            memset(c->pre_count, 0, sizeof c->pre_count);
        } else if (ch != ' ' && ch != '\t') {
            c->pre_content = 1;
        }
        for (int k = 0; k < 3; k++)
            if (!c->pre_inq && ch == DELIMS[k])
                c->pre_count[k]++;
    }
    return 0;
}

/* Picks the delimiter and pushes the buffered bytes through the parser. */
static void pre_flush(csvin *c)
{
    int best = 0;
    for (int k = 1; k < 3; k++)
        if (c->pre_count[k] > c->pre_count[best])
            best = k;
    csv_set_delim(&c->p, (unsigned char)DELIMS[best]);
    c->state = ST_BODY;
    size_t skip = 0;
    if (c->pre.len >= sizeof BOM && memcmp(c->pre.data, BOM, sizeof BOM) == 0)
        skip = sizeof BOM;
    if (c->pre.len > skip)
        body_feed(c, c->pre.data + skip, c->pre.len - skip);
    buf_free(&c->pre);
}

int csvin_feed(csvin *c, const char *data, size_t len, dp_err *e)
{
    if (c->rc)
        return report(c, e);
    if (c->state == ST_DONE) {
        fail(c, DP_EINVAL, "csvin_feed after csvin_finish");
        return report(c, e);
    }
    if (len == 0)
        return DP_OK;
    if (c->state == ST_PRE) {
        /* Buffer only what fits: the first line can be long but not
         * unbounded, and a big chunk may hold the whole file. */
        size_t take = c->pre.cap - c->pre.len;
        if (take > len)
            take = len;
        if (buf_append(&c->pre, data, take) != DP_OK) {
            fail(c, DP_ENOMEM, "out of memory");
            return report(c, e);
        }
        if (!pre_scan(c)) {
            if (take < len)
                failf_line(c, 1, "first line longer than 1048576 bytes");
            return report(c, e);
        }
        pre_flush(c);
        data += take;
        len -= take;
    }
    if (len > 0)
        body_feed(c, data, len);
    return report(c, e);
}

int csvin_finish(csvin *c, dp_err *e)
{
    if (c->rc)
        return report(c, e);
    if (c->state == ST_DONE)
        return DP_OK;
    if (c->state == ST_PRE)
        pre_flush(c);
    if (c->rc)
        return report(c, e);
    c->state = ST_DONE;
    if (csv_fini(&c->p, on_field, on_row, c) != 0)
        parse_error(c, 1);
    return report(c, e);
}
