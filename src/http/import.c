/* POST /contacts/import?list=NAME: a CSV or XLSX body into the workspace's
 * contacts and one list. Both readers hand rows to the same callback, so the
 * column mapping, phone checks and counts do not depend on the format. The
 * body is read where evhttp holds it; a bad row is reported with its line
 * and never stops the rest, a file that cannot be read at all changes
 * nothing. The counts and the CSV reading are shared with the restriction
 * entries' import (restrict.c, through http_int.h). */
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/http_int.h"
#include "util/csvin.h"
#include "util/imap.h"
#include "util/log.h"
#include "util/phone.h"
#include "util/rowmap.h"
#include "util/xlsxin.h"

#define INVALID_SHOWN 1000
#define COLUMN_NAME_MAX 200
#define XLSX_TYPE "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

struct import {
    struct api_ctx *c;
    const char *cc;
    const char *phone_name; /* the header of the phone column */
    int64_t list_id;
    rowmap *map;    /* set by the header row */
    int bad_header; /* it has no phone column */
    struct import_tally t;
    dp_err *e;
};

/* ---- shared with restrict.c (http_int.h) -------------------------------- */

void import_tally_init(struct import_tally *t, size_t shown_max)
{
    *t = (struct import_tally){.invalid = json_array(), .shown_max = shown_max};
    imap_init(&t->seen);
}

void import_tally_free(struct import_tally *t)
{
    imap_free(&t->seen);
    json_decref(t->invalid);
    t->invalid = NULL;
}

void import_invalid(struct import_tally *t, size_t line, const char *reason)
{
    t->invalid_count++;
    if (json_array_size(t->invalid) < t->shown_max)
        json_array_append_new(t->invalid,
                              json_pack("{s:I, s:s}", "line", (json_int_t)line, "reason", reason));
}

int import_text_ok(const char *s, size_t n)
{
    json_t *j = memchr(s, 0, n) ? NULL : json_stringn(s, n);
    json_decref(j);
    return j != NULL;
}

void import_counted(struct import_tally *t, int rc, int created)
{
    if (rc != DP_OK)
        return;
    if (created)
        t->imported++;
    else
        t->updated++;
}

int import_seen(struct import_tally *t, const char *phone, int *dup, dp_err *e)
{
    int64_t key = phone_key(phone);
    *dup = imap_get(&t->seen, key, NULL);
    if (*dup) {
        t->duplicates++;
        return DP_OK;
    }
    if (imap_put(&t->seen, key, 1))
        return dp_err_set(e, DP_ENOMEM, NULL);
    return DP_OK;
}

int import_read_csv(struct evbuffer *in, csvin_row_fn cb, void *ud, dp_err *e)
{
    csvin *p = NULL;
    struct evbuffer_iovec *v = NULL;
    int rc;
    if ((rc = csvin_new(&p, cb, ud))) {
        dp_err_set(e, rc, NULL);
        goto out;
    }
    /* walk evhttp's chunks in place: no copy of the whole body */
    int nvec = evbuffer_peek(in, -1, NULL, NULL, 0);
    v = nvec > 0 ? calloc((size_t)nvec, sizeof *v) : NULL;
    if (nvec > 0 && !v) {
        rc = dp_err_set(e, DP_ENOMEM, NULL);
        goto out;
    }
    evbuffer_peek(in, -1, NULL, v, nvec);
    for (int i = 0; i < nvec && !rc; i++)
        rc = csvin_feed(p, v[i].iov_base, v[i].iov_len, e);
    if (!rc)
        rc = csvin_finish(p, e);
out:
    free(v);
    csvin_free(p);
    return rc;
}

/* ---- POST /contacts/import ---------------------------------------------- */

/* One row of either reader (csvin_row_fn and xlsxin_row_fn have this shape). */
static int on_row(void *ud, size_t line, size_t n, char **f, const size_t *lens)
{
    struct import *im = ud;
    store *st = im->c->st;
    if (!im->map) {
        int rc = rowmap_new(&im->map, im->phone_name, line, n, f, lens, im->e);
        im->bad_header = rc == DP_ECSV;
        return rc;
    }
    const char *raw = rowmap_phone(im->map, n, f, lens);
    if (!raw) {
        import_invalid(&im->t, line, "phone is empty");
        return 0;
    }
    char phone[16];
    dp_err pe;
    int prc = phone_normalize(raw, im->cc, phone, &pe);
    if (prc == DP_EINVAL) {
        import_invalid(&im->t, line, pe.msg);
        return 0;
    }
    if (prc)
        return dp_err_set(im->e, prc, "%s", pe.msg);
    const char *name = rowmap_name(im->map, n, f, lens);
    for (size_t i = 0; name && i < n; i++)
        if (f[i] == name && !import_text_ok(name, lens[i])) {
            import_invalid(&im->t, line, "name is not UTF-8 text (or holds a NUL byte)");
            return 0;
        }
    int dup;
    int rc = import_seen(&im->t, phone, &dup, im->e);
    if (rc || dup)
        return rc;
    json_t *vars = rowmap_vars(im->map, n, f, lens);
    if (!vars)
        return dp_err_set(im->e, DP_ENOMEM, NULL);
    int64_t cid;
    int created = 0;
    rc = st->v->contact_upsert(st, im->c->ws, phone, name, vars, &cid, &created, im->e);
    json_decref(vars);
    if (!rc)
        rc = st->v->list_add(st, im->list_id, cid, im->e);
    import_counted(&im->t, rc, created);
    return rc;
}

/* Whether the body is a workbook: asked for, labelled as one, or a ZIP. */
static int is_xlsx(struct api_ctx *c, struct evbuffer *in)
{
    const char *fmt = evhttp_find_header(&c->query, "format");
    if (fmt)
        return strcasecmp(fmt, "xlsx") == 0;
    const char *ct = evhttp_find_header(evhttp_request_get_input_headers(c->req), "Content-Type");
    if (ct && strncasecmp(ct, XLSX_TYPE, strlen(XLSX_TYPE)) == 0)
        return 1;
    unsigned char magic[4];
    return evbuffer_copyout(in, magic, sizeof magic) == (ev_ssize_t)sizeof magic &&
           memcmp(magic, "PK\x03\x04", 4) == 0;
}

/* The archive's central directory is at its end, so the reader needs the
 * body in one piece: pullup joins evhttp's chunks (one copy when there is
 * more than one); the sheet itself is then inflated and parsed streaming. */
static int read_xlsx(struct import *im, struct evbuffer *in, dp_err *e)
{
    xlsxin *x = NULL;
    size_t len = evbuffer_get_length(in);
    const unsigned char *data = evbuffer_pullup(in, -1);
    int rc;
    if (!data) {
        rc = dp_err_set(e, DP_ENOMEM, "cannot hold the workbook in one piece");
        goto out;
    }
    if ((rc = xlsxin_open_mem(data, len, &x, e)))
        goto out;
    rc = xlsxin_rows(x, on_row, im, e);
out:
    xlsxin_free(x);
    return rc;
}

static int stored_name(void *ud, const struct st_list *l)
{
    snprintf(ud, LIST_NAME_MAX + 1, "%s", l->name);
    return 0;
}

void api_contacts_import(struct api_ctx *c)
{
    dp_err e = {0};
    const char *list = evhttp_find_header(&c->query, "list");
    const char *pcol = evhttp_find_header(&c->query, "phone_column");
    struct import im = {.c = c, .e = &e, .cc = engine_country_code(c->eng)};
    int rc;
    import_tally_init(&im.t, INVALID_SHOWN);
    char list_name[LIST_NAME_MAX + 1];
    if (!list || !*list) {
        http_reply_code(c->req, DP_EINVAL, "give the list's name: /contacts/import?list=NAME");
        goto out;
    }
    if (http_list_name(c, list, list_name))
        goto out;
    list = list_name;
    if (pcol && (!*pcol || strlen(pcol) > COLUMN_NAME_MAX)) {
        http_reply_code(c->req, DP_EINVAL, "phone_column must be a header of 1 to %d bytes",
                        COLUMN_NAME_MAX);
        goto out;
    }
    const char *fmt = evhttp_find_header(&c->query, "format");
    if (fmt && strcasecmp(fmt, "csv") != 0 && strcasecmp(fmt, "xlsx") != 0) {
        http_reply_code(c->req, DP_EINVAL, "format is csv or xlsx (default: from the body)");
        goto out;
    }
    im.phone_name = pcol ? pcol : "phone";
    struct evbuffer *in = evhttp_request_get_input_buffer(c->req);
    if (evbuffer_get_length(in) == 0) {
        http_reply_code(c->req, DP_ECSV, "the body is empty: send a CSV or XLSX with a header row");
        goto out;
    }
    int xlsx = is_xlsx(c, in);
    if ((rc = engine_flush(c->eng, &e)))
        goto fail;
    rc = c->st->v->list_find(c->st, c->ws, list, &im.list_id, &e);
    if (rc == DP_OK) /* the reply names the list as stored: ?list= may differ in case */
        rc = c->st->v->list_get(c->st, c->ws, im.list_id, stored_name, list_name, &e);
    else if (rc == DP_ENOTFOUND)
        rc = c->st->v->list_create(c->st, c->ws, list, &im.list_id, &e);
    if (rc)
        goto fail;
    rc = xlsx ? read_xlsx(&im, in, &e) : import_read_csv(in, on_row, &im, &e);
    if (!rc && !im.map)
        rc = dp_err_set(&e, DP_ECSV, "%s: no header row", xlsx ? "the first sheet" : "line 1");
    if (rc)
        goto fail;
    if ((rc = c->st->v->commit(c->st, &e)))
        goto fail;
    log_info("contacts imported",
             "list=%lld format=%s imported=%lld updated=%lld duplicates=%lld invalid=%lld",
             (long long)im.list_id, xlsx ? "xlsx" : "csv", (long long)im.t.imported,
             (long long)im.t.updated, (long long)im.t.duplicates, (long long)im.t.invalid_count);
    http_reply_json(c->req, 200,
                    json_pack("{s:I, s:s, s:I, s:I, s:I, s:I, s:O}", "list_id",
                              (json_int_t)im.list_id, "list", list, "imported",
                              (json_int_t)im.t.imported, "updated", (json_int_t)im.t.updated,
                              "duplicates", (json_int_t)im.t.duplicates, "invalid_count",
                              (json_int_t)im.t.invalid_count, "invalid", im.t.invalid));
    goto out;
fail:
    c->st->v->rollback(c->st);
    if (e.code == DP_OK)
        e.code = rc;
    /* a header without the phone column: the reply lists the headers seen */
    http_reply_error(c->req, &e,
                     im.bad_header ? json_pack("{s:o}", "headers", rowmap_headers(im.map)) : NULL);
out:
    rowmap_free(im.map);
    import_tally_free(&im.t);
}
