/* The campaign workbook, written with libxlsxwriter in constant_memory mode:
 * each sheet's rows go to a temporary file as they are written, so every
 * sheet is created before the first message row and rows must come in
 * order. The Messages and Skipped sheets are filled together from one pass
 * over the messages by id; when one is full (the format stops at 1,048,576
 * rows) the rows continue in the next of its numbered sheets, which were
 * counted from the report's counts and created with the others. */
#include "http/workbook.h"

#include <stdio.h>
#include <stdlib.h>
#include <xlsxwriter.h>

#include "store/store.h"
#include "util/timefmt.h"

#define XLSX_PAGE 5000

/* One kind of row spread over numbered sheets: "Messages", "Messages 2"... */
struct roll {
    lxw_worksheet **ws;
    size_t n;      /* sheets */
    size_t cur;    /* the one being filled */
    lxw_row_t row; /* its next row (0 is the header) */
};

struct xlsx {
    lxw_workbook *wb;
    lxw_worksheet *summary, *senders, *errors;
    struct roll msgs, skipped;
    lxw_row_t sheet_rows; /* data rows per rolled sheet */
    lxw_format *bold;
    int64_t last, n;
    const json_t *by_sender;
    lxw_error err;
};

static void put_str(struct xlsx *x, lxw_worksheet *ws, lxw_row_t r, lxw_col_t c, const char *s)
{
    if (s && *s && x->err == LXW_NO_ERROR)
        x->err = worksheet_write_string(ws, r, c, s, NULL);
}

static void put_num(struct xlsx *x, lxw_worksheet *ws, lxw_row_t r, lxw_col_t c, double v)
{
    if (x->err == LXW_NO_ERROR)
        x->err = worksheet_write_number(ws, r, c, v, NULL);
}

static void put_time(struct xlsx *x, lxw_worksheet *ws, lxw_row_t r, lxw_col_t c, int64_t ms)
{
    char ts[TIMEFMT_LEN];
    if (ms <= 0)
        return;
    timefmt_ms(ms, ts);
    put_str(x, ws, r, c, ts);
}

static void header(struct xlsx *x, lxw_worksheet *ws, const char *const *names)
{
    for (lxw_col_t c = 0; names[c] && x->err == LXW_NO_ERROR; c++)
        x->err = worksheet_write_string(ws, 0, c, names[c], x->bold);
}

/* A JSON value as a cell: numbers as numbers, null as an empty cell. */
static void put_json(struct xlsx *x, lxw_worksheet *ws, lxw_row_t r, lxw_col_t c, const json_t *v)
{
    if (json_is_integer(v))
        put_num(x, ws, r, c, (double)json_integer_value(v));
    else if (json_is_string(v))
        put_str(x, ws, r, c, json_string_value(v));
}

static void summary_row(struct xlsx *x, lxw_row_t *r, const char *label, const json_t *v)
{
    put_str(x, x->summary, *r, 0, label);
    put_json(x, x->summary, *r, 1, v);
    (*r)++;
}

static void write_summary(struct xlsx *x, const json_t *rep)
{
    static const char *const counts[] = {"total",     "queued",  "sending", "sent",
                                         "delivered", "read",    "failed",  "skipped",
                                         "unknown",   "replied", "clicked", NULL};
    static const char *const times[] = {"created_at", "started_at", "finished_at", NULL};
    static const char *const dists[] = {"queue_to_sent", "sent_to_delivered", "sent_to_read", NULL};
    const json_t *cn = json_object_get(rep, "counts");
    const json_t *du = json_object_get(rep, "durations");
    static const char *const head[] = {"Field", "Value", NULL};
    lxw_row_t r = 1;
    char label[96];
    header(x, x->summary, head);
    summary_row(x, &r, "id", json_object_get(rep, "id"));
    summary_row(x, &r, "name", json_object_get(rep, "name"));
    summary_row(x, &r, "status", json_object_get(rep, "status"));
    for (int i = 0; times[i]; i++)
        summary_row(x, &r, times[i], json_object_get(rep, times[i]));
    for (int i = 0; counts[i]; i++)
        summary_row(x, &r, counts[i], json_object_get(cn, counts[i]));
    summary_row(x, &r, "elapsed_ms", json_object_get(du, "elapsed_ms"));
    summary_row(x, &r, "to_first_send_ms", json_object_get(du, "to_first_send_ms"));
    for (int i = 0; dists[i]; i++) {
        const json_t *d = json_object_get(du, dists[i]);
        snprintf(label, sizeof label, "%s_count", dists[i]);
        summary_row(x, &r, label, json_object_get(d, "count"));
        snprintf(label, sizeof label, "%s_median_ms", dists[i]);
        summary_row(x, &r, label, json_object_get(d, "median_ms"));
        snprintf(label, sizeof label, "%s_p90_ms", dists[i]);
        summary_row(x, &r, label, json_object_get(d, "p90_ms"));
    }
    worksheet_set_column(x->summary, 0, 0, 28, NULL);
    worksheet_set_column(x->summary, 1, 1, 28, NULL);
}

static void write_table(struct xlsx *x, lxw_worksheet *ws, const json_t *arr,
                        const char *const *keys)
{
    size_t i;
    const json_t *o;
    header(x, ws, keys);
    json_array_foreach(arr, i, o)
    {
        for (lxw_col_t c = 0; keys[c]; c++)
            put_json(x, ws, (lxw_row_t)i + 1, c, json_object_get(o, keys[c]));
    }
}

static const char *sender_name(const struct xlsx *x, int64_t id)
{
    size_t i;
    const json_t *o;
    json_array_foreach(x->by_sender, i, o)
    {
        if (json_integer_value(json_object_get(o, "sender_id")) == id)
            return json_string_value(json_object_get(o, "name"));
    }
    return NULL;
}

/* ---- rolled sheets ------------------------------------------------------ */

/* Allocates room for the sheets that rows data rows need (one, with only
 * its header, when there are none); freed with roll_free. */
static int roll_init(struct roll *s, int64_t rows, lxw_row_t per_sheet)
{
    s->n = rows > 0 ? (size_t)((rows + per_sheet - 1) / per_sheet) : 1;
    s->cur = 0;
    s->row = 1;
    s->ws = calloc(s->n, sizeof *s->ws);
    return s->ws ? 0 : -1;
}

static void roll_free(struct roll *s)
{
    free(s->ws);
    s->ws = NULL;
}

/* Adds the sheets "base", "base 2", ... at the current end of the workbook;
 * 0 when all of them were made. */
static int roll_add(struct xlsx *x, struct roll *s, const char *base)
{
    int rc = 0;
    for (size_t i = 0; i < s->n; i++) {
        char name[32];
        if (i)
            snprintf(name, sizeof name, "%s %zu", base, i + 1);
        else
            snprintf(name, sizeof name, "%s", base);
        s->ws[i] = workbook_add_worksheet(x->wb, name);
        if (!s->ws[i])
            rc = -1;
    }
    return rc;
}

static void roll_header(struct xlsx *x, struct roll *s, const char *const *names)
{
    for (size_t i = 0; i < s->n; i++)
        header(x, s->ws[i], names);
}

/* The sheet and row of s's next data row, moving on to the next sheet when
 * this one is full. NULL (and x->err set) when the rows outnumber what the
 * report counted: the snapshot and the counts disagree. */
static lxw_worksheet *roll_next(struct xlsx *x, struct roll *s, lxw_row_t *r)
{
    if (s->row > x->sheet_rows) {
        if (s->cur + 1 >= s->n) {
            x->err = LXW_ERROR_WORKSHEET_INDEX_OUT_OF_RANGE;
            return NULL;
        }
        s->cur++;
        s->row = 1;
    }
    *r = s->row++;
    return s->ws[s->cur];
}

/* ---- the messages ------------------------------------------------------- */

static const char *const msg_head[] = {
    "id",         "phone",        "name",    "status",       "sender_id", "sender",
    "attempts",   "queued_at",    "sent_at", "delivered_at", "read_at",   "failed_at",
    "error_code", "error_detail", "reply",   "replied_at",   NULL};

static const char *const skip_head[] = {"id", "phone", "name", "reason", "detail", NULL};

static int msg_cb(void *ud, const struct st_message *m)
{
    struct xlsx *x = ud;
    lxw_row_t r;
    lxw_worksheet *ws = roll_next(x, &x->msgs, &r);
    if (!ws)
        return 1;
    put_num(x, ws, r, 0, (double)m->id);
    put_str(x, ws, r, 1, m->phone);
    put_str(x, ws, r, 2, m->name);
    put_str(x, ws, r, 3, msg_status_name(m->status));
    if (m->sender_id) {
        put_num(x, ws, r, 4, (double)m->sender_id);
        put_str(x, ws, r, 5, sender_name(x, m->sender_id));
    }
    put_num(x, ws, r, 6, m->attempts);
    put_time(x, ws, r, 7, m->queued_at);
    put_time(x, ws, r, 8, m->sent_at);
    put_time(x, ws, r, 9, m->delivered_at);
    put_time(x, ws, r, 10, m->read_at);
    put_time(x, ws, r, 11, m->failed_at);
    put_str(x, ws, r, 12, m->error_code);
    put_str(x, ws, r, 13, m->error_detail);
    if (m->replied_at) {
        put_str(x, ws, r, 14, m->reply);
        put_time(x, ws, r, 15, m->replied_at);
    }
    if (m->status == MS_SKIPPED) {
        ws = roll_next(x, &x->skipped, &r);
        if (!ws)
            return 1;
        put_num(x, ws, r, 0, (double)m->id);
        put_str(x, ws, r, 1, m->phone);
        put_str(x, ws, r, 2, m->name);
        put_str(x, ws, r, 3, m->error_code);
        put_str(x, ws, r, 4, m->error_detail);
    }
    x->last = m->id;
    x->n++;
    return x->err != LXW_NO_ERROR;
}

int workbook_write(sqrep *r, const json_t *rep, const char *path, const char *tmpdir,
                   atomic_int *cancel, uint32_t sheet_rows, dp_err *e)
{
    static const char *const sender_keys[] = {
        "sender_id", "name",   "total",   "queued",  "sending", "sent", "delivered",
        "read",      "failed", "skipped", "unknown", "replied", NULL};
    static const char *const error_keys[] = {"status", "code", "count", "detail", NULL};
    lxw_workbook_options opt = {.constant_memory = LXW_TRUE, .tmpdir = (char *)tmpdir};
    struct xlsx x = {.sheet_rows = sheet_rows};
    const json_t *cn = json_object_get(rep, "counts");
    int64_t id = json_integer_value(json_object_get(rep, "id"));
    int rc = DP_OK;

    if (sheet_rows < 1 || sheet_rows > LXW_ROW_MAX - 1)
        return dp_err_set(e, DP_EINVAL, "a sheet holds 1 to %d rows under its header, not %lu",
                          LXW_ROW_MAX - 1, (unsigned long)sheet_rows);
    x.by_sender = json_object_get(rep, "by_sender");
    if (roll_init(&x.msgs, json_integer_value(json_object_get(cn, "total")), sheet_rows) != 0 ||
        roll_init(&x.skipped, json_integer_value(json_object_get(cn, "skipped")), sheet_rows) !=
            0) {
        rc = dp_err_set(e, DP_ENOMEM, "out of memory");
        goto out;
    }
    x.wb = workbook_new_opt(path, &opt);
    if (!x.wb) {
        rc = dp_err_set(e, DP_EIO, "cannot create the workbook %s", path);
        goto out;
    }
    x.bold = workbook_add_format(x.wb);
    format_set_bold(x.bold);
    /* Sheets are laid out in the order they are added, and in
     * constant_memory mode all of them must exist before rows are written. */
    x.summary = workbook_add_worksheet(x.wb, "Summary");
    int bad = roll_add(&x, &x.msgs, "Messages");
    x.senders = workbook_add_worksheet(x.wb, "Senders");
    x.errors = workbook_add_worksheet(x.wb, "Errors");
    bad |= roll_add(&x, &x.skipped, "Skipped");
    if (!x.summary || !x.senders || !x.errors || bad) {
        rc = dp_err_set(e, DP_ENOMEM, "cannot add the workbook's sheets");
        goto out;
    }
    write_summary(&x, rep);
    write_table(&x, x.senders, x.by_sender, sender_keys);
    write_table(&x, x.errors, json_object_get(rep, "by_error"), error_keys);
    roll_header(&x, &x.msgs, msg_head);
    roll_header(&x, &x.skipped, skip_head);
    for (;;) {
        int64_t before = x.n;
        if (atomic_load(cancel)) {
            rc = dp_err_set(e, DP_EIO, "cancelled: the client left");
            goto out;
        }
        rc = sqrep_messages(r, id, x.last, XLSX_PAGE, msg_cb, &x, e);
        if (x.err != LXW_NO_ERROR) {
            rc = dp_err_set(e, DP_EIO, "writing the workbook: %s", lxw_strerror(x.err));
            goto out;
        }
        if (rc != DP_OK)
            goto out;
        if (x.n - before < XLSX_PAGE)
            break;
    }
    if (x.err != LXW_NO_ERROR)
        rc = dp_err_set(e, DP_EIO, "writing the workbook: %s", lxw_strerror(x.err));
out:
    if (x.wb) {
        /* close writes the zip (and frees the workbook) even after an
         * error; the caller removes a file that is not to be sent */
        lxw_error ce = workbook_close(x.wb);
        if (rc == DP_OK && ce != LXW_NO_ERROR)
            rc = dp_err_set(e, DP_EIO, "writing the workbook: %s", lxw_strerror(ce));
    }
    roll_free(&x.msgs);
    roll_free(&x.skipped);
    return rc;
}
