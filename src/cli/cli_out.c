/* Tables, detail blocks and JSON scalar formatting for the client's human
 * output. Cells are stored back to back in one capped buffer and sized only
 * when printed, so a table costs one allocation per growth, not per cell. */
#include "cli/cli_out.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"

#define KV_KEY_WIDTH 16
#define KV_VALUE_MAX (1u << 20)
#define CELL_MAX 200
/* All cells of one table together; `messages --all` on a big campaign is the
 * largest table and stays well under this. */
#define TABLE_MAX (512u << 20)
#define TABLE_GAP 2

struct cli_table {
    size_t ncols;
    const char *const *headers;
    unsigned char *right; /* ncols flags */
    dp_buf cells;         /* cells, each NUL-terminated, back to back */
    size_t *off;          /* where each cell starts in cells */
    size_t n;
    size_t alloc;
};

static int is_cont(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

int cli_out_clean(dp_buf *b, const char *s, size_t n, size_t max)
{
    int rc = DP_OK;
    size_t cut = n;
    int ellipsis = 0;

    if (n > max) {
        /* Leave room for "..." and never split a UTF-8 sequence. */
        cut = max > 3 ? max - 3 : 0;
        while (cut > 0 && is_cont((unsigned char)s[cut]))
            cut--;
        ellipsis = 1;
    }
    for (size_t i = 0; i < cut; i++) {
        unsigned char c = (unsigned char)s[i];
        char out = (char)c;
        if (c < 0x20 || c == 0x7F) {
            out = ' ';
        } else if (c == 0xC2 && i + 1 < cut && (unsigned char)s[i + 1] >= 0x80 &&
                   (unsigned char)s[i + 1] <= 0x9F) {
            /* U+0080..U+009F: C1 controls, which some terminals obey (CSI). */
            out = ' ';
            i++;
        }
        rc = buf_append(b, &out, 1);
        if (rc)
            goto out;
    }
    if (ellipsis)
        rc = buf_puts(b, "...");
out:
    return rc;
}

size_t cli_out_width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        if (!is_cont((unsigned char)*s))
            w++;
    return w;
}

json_t *cli_out_path(const json_t *o, const char *path)
{
    const json_t *cur = o;
    const char *p = path;

    while (cur && *p) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (!json_is_object(cur))
            return NULL;
        cur = json_object_getn(cur, p, len);
        p += len;
        if (*p == '.')
            p++;
    }
    return (json_t *)cur;
}

long long cli_out_int(const json_t *o, const char *path, long long def)
{
    const json_t *v = cli_out_path(o, path);
    if (json_is_integer(v))
        return (long long)json_integer_value(v);
    if (json_is_real(v))
        return (long long)json_real_value(v);
    return def;
}

const char *cli_out_str(const json_t *o, const char *path, const char *def)
{
    const json_t *v = cli_out_path(o, path);
    return json_is_string(v) ? json_string_value(v) : def;
}

const char *cli_out_val(const json_t *v, char *tmp, size_t n)
{
    if (n == 0)
        return "";
    tmp[0] = '\0';
    switch (v ? json_typeof(v) : JSON_NULL) {
    case JSON_STRING:
        return json_string_value(v);
    case JSON_INTEGER:
        (void)snprintf(tmp, n, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return tmp;
    case JSON_REAL:
        (void)snprintf(tmp, n, "%g", json_real_value(v));
        return tmp;
    case JSON_TRUE:
        return "yes";
    case JSON_FALSE:
        return "no";
    case JSON_OBJECT:
    case JSON_ARRAY: {
        /* json_dumpb reports the full size even when it did not fit. */
        size_t len = json_dumpb(v, tmp, n - 1, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (len > n - 1)
            len = n - 1;
        tmp[len] = '\0';
        return tmp;
    }
    case JSON_NULL:
    default:
        return "-";
    }
}

void cli_out_kv(FILE *f, const char *key, const char *fmt, ...)
{
    dp_buf v, line;
    va_list ap;

    buf_init(&v, KV_VALUE_MAX);
    buf_init(&line, KV_VALUE_MAX);
    va_start(ap, fmt);
    int rc = buf_vprintf(&v, fmt, ap);
    va_end(ap);
    if (rc == DP_ETOOBIG)
        rc = buf_puts(&v, "(too long to show)");
    if (rc)
        goto out;

    const char *p = buf_str(&v);
    int first = 1;
    do {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        buf_reset(&line);
        if (cli_out_clean(&line, p, len, KV_VALUE_MAX))
            goto out;
        if (first)
            fprintf(f, "%-*s %s\n", KV_KEY_WIDTH, key, buf_str(&line));
        else
            fprintf(f, "%-*s %s\n", KV_KEY_WIDTH, "", buf_str(&line));
        first = 0;
        p = nl ? nl + 1 : p + len;
    } while (*p);
out:
    buf_free(&line);
    buf_free(&v);
}

void cli_out_line(FILE *f, const char *fmt, ...)
{
    dp_buf raw, line;
    va_list ap;

    buf_init(&raw, KV_VALUE_MAX);
    buf_init(&line, KV_VALUE_MAX);
    va_start(ap, fmt);
    int rc = buf_vprintf(&raw, fmt, ap);
    va_end(ap);
    if (!rc)
        rc = cli_out_clean(&line, buf_str(&raw), raw.len, KV_VALUE_MAX);
    if (!rc)
        fprintf(f, "%s\n", buf_str(&line));
    buf_free(&line);
    buf_free(&raw);
}

void cli_out_import(const json_t *rep, long long ninvalid, size_t shown)
{
    size_t i;
    json_t *row;

    cli_out_kv(stdout, "imported", "%lld", cli_out_int(rep, "imported", 0));
    cli_out_kv(stdout, "updated", "%lld", cli_out_int(rep, "updated", 0));
    cli_out_kv(stdout, "duplicates", "%lld", cli_out_int(rep, "duplicates", 0));
    cli_out_kv(stdout, "invalid", "%lld", ninvalid);
    json_array_foreach(cli_out_path(rep, "invalid"), i, row)
    {
        if (i == shown)
            break;
        cli_out_line(stdout, "  line %lld: %s", cli_out_int(row, "line", 0),
                     cli_out_str(row, "reason", "-"));
    }
}

cli_table *cli_table_new(size_t ncols, const char *const *headers)
{
    cli_table *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->right = calloc(ncols ? ncols : 1, 1);
    if (!t->right) {
        free(t);
        return NULL;
    }
    t->ncols = ncols;
    t->headers = headers;
    buf_init(&t->cells, TABLE_MAX);
    return t;
}

void cli_table_free(cli_table *t)
{
    if (!t)
        return;
    buf_free(&t->cells);
    free(t->off);
    free(t->right);
    free(t);
}

void cli_table_right(cli_table *t, size_t col)
{
    if (col < t->ncols)
        t->right[col] = 1;
}

int cli_table_cell(cli_table *t, const char *s)
{
    int rc = DP_OK;
    size_t start = t->cells.len;

    if (t->n == t->alloc) {
        size_t a = t->alloc ? t->alloc * 2 : 64;
        size_t *p = realloc(t->off, a * sizeof *p);
        if (!p) {
            rc = DP_ENOMEM;
            goto out;
        }
        t->off = p;
        t->alloc = a;
    }
    rc = cli_out_clean(&t->cells, s ? s : "", s ? strlen(s) : 0, CELL_MAX);
    if (!rc)
        rc = buf_append(&t->cells, "", 1); /* the cell's NUL, kept inside len */
    if (rc) {
        t->cells.len = start; /* drop a half-written cell */
        goto out;
    }
    t->off[t->n++] = start;
out:
    return rc;
}

int cli_table_cellf(cli_table *t, const char *fmt, ...)
{
    char tmp[CELL_MAX + 1];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    return cli_table_cell(t, tmp);
}

size_t cli_table_rows(const cli_table *t)
{
    return t->ncols ? t->n / t->ncols : 0;
}

static void print_cell(FILE *f, const cli_table *t, size_t col, const char *s, size_t width)
{
    size_t w = cli_out_width(s);
    size_t pad = width > w ? width - w : 0;
    int last = col + 1 == t->ncols;

    if (last && !t->right[col] && *s == '\0')
        return; /* no trailing blanks */
    if (col > 0)
        fprintf(f, "%*s", TABLE_GAP, "");
    if (t->right[col])
        fprintf(f, "%*s%s", (int)pad, "", s);
    else if (last)
        fputs(s, f);
    else
        fprintf(f, "%s%*s", s, (int)pad, "");
}

void cli_table_print(const cli_table *t, FILE *f)
{
    size_t rows = cli_table_rows(t);
    size_t *width = calloc(t->ncols ? t->ncols : 1, sizeof *width);

    if (!width) {
        fputs("error: out of memory printing a table\n", stderr);
        return;
    }
    for (size_t c = 0; c < t->ncols; c++)
        width[c] = cli_out_width(t->headers[c]);
    for (size_t i = 0; i < rows * t->ncols; i++) {
        size_t w = cli_out_width(t->cells.data + t->off[i]);
        if (w > width[i % t->ncols])
            width[i % t->ncols] = w;
    }
    for (size_t c = 0; c < t->ncols; c++)
        print_cell(f, t, c, t->headers[c], width[c]);
    fputc('\n', f);
    for (size_t r = 0; r < rows; r++) {
        for (size_t c = 0; c < t->ncols; c++)
            print_cell(f, t, c, t->cells.data + t->off[r * t->ncols + c], width[c]);
        fputc('\n', f);
    }
    free(width);
}
