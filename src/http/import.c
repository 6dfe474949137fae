/* POST /contacts/import?list=NAME: a CSV body into the workspace's contacts
 * and one list. The body is parsed chunk by chunk as evhttp holds it; a bad
 * row is reported with its line and never stops the rest, a file that cannot
 * be read at all changes nothing. */
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/http_int.h"
#include "util/csvin.h"
#include "util/imap.h"
#include "util/log.h"
#include "util/phone.h"

#define INVALID_SHOWN 1000
#define MAX_COLS 512

struct import {
    struct api_ctx *c;
    const char *cc;
    int64_t list_id;
    int header_done;
    int phone_col, name_col;
    size_t ncols;
    char *cols[MAX_COLS];
    imap seen;
    int64_t imported, updated, duplicates, invalid_count;
    json_t *invalid;
    dp_err *e;
};

static void add_invalid(struct import *im, size_t line, const char *reason)
{
    im->invalid_count++;
    if (json_array_size(im->invalid) < INVALID_SHOWN)
        json_array_append_new(im->invalid,
                              json_pack("{s:I, s:s}", "line", (json_int_t)line, "reason", reason));
}

static int on_row(void *ud, size_t line, size_t n, char **f, const size_t *lens)
{
    struct import *im = ud;
    store *st = im->c->st;
    if (!im->header_done) {
        im->header_done = 1;
        im->phone_col = im->name_col = -1;
        im->ncols = n;
        for (size_t i = 0; i < n; i++) {
            im->cols[i] = strndup(f[i], lens[i]);
            if (!im->cols[i])
                return dp_err_set(im->e, DP_ENOMEM, NULL);
            if (strcasecmp(im->cols[i], "phone") == 0 && im->phone_col < 0)
                im->phone_col = (int)i;
            else if (strcasecmp(im->cols[i], "name") == 0 && im->name_col < 0)
                im->name_col = (int)i;
        }
        if (im->phone_col < 0)
            return dp_err_set(im->e, DP_ECSV, "line %zu: the header has no phone column", line);
        return 0;
    }
    if ((size_t)im->phone_col >= n || lens[im->phone_col] == 0) {
        add_invalid(im, line, "phone is empty");
        return 0;
    }
    char phone[16];
    dp_err pe;
    if (phone_normalize(f[im->phone_col], im->cc, phone, &pe)) {
        add_invalid(im, line, pe.msg);
        return 0;
    }
    int64_t key = phone_key(phone);
    if (imap_get(&im->seen, key, NULL)) {
        im->duplicates++;
        return 0;
    }
    if (imap_put(&im->seen, key, 1))
        return dp_err_set(im->e, DP_ENOMEM, NULL);
    json_t *vars = json_object();
    for (size_t i = 0; i < n && i < im->ncols; i++) {
        if ((int)i == im->phone_col || (int)i == im->name_col || !im->cols[i][0])
            continue;
        json_object_set_new(vars, im->cols[i], json_stringn(f[i], lens[i]));
    }
    const char *name = im->name_col >= 0 && (size_t)im->name_col < n && lens[im->name_col]
                           ? f[im->name_col]
                           : NULL;
    int64_t cid;
    int created = 0;
    int rc = st->v->contact_upsert(st, im->c->ws, phone, name, vars, &cid, &created, im->e);
    json_decref(vars);
    if (!rc)
        rc = st->v->list_add(st, im->list_id, cid, im->e);
    if (rc)
        return rc;
    if (created)
        im->imported++;
    else
        im->updated++;
    return 0;
}

void api_contacts_import(struct api_ctx *c)
{
    dp_err e = {0};
    const char *list = evhttp_find_header(&c->query, "list");
    struct import im = {.c = c, .e = &e, .cc = engine_country_code(c->eng)};
    csvin *p = NULL;
    int rc;
    imap_init(&im.seen);
    im.invalid = json_array();
    if (!list || !*list || strlen(list) > 200) {
        http_reply_code(c->req, DP_EINVAL, "give the list's name: /contacts/import?list=NAME");
        goto out;
    }
    struct evbuffer *in = evhttp_request_get_input_buffer(c->req);
    if (evbuffer_get_length(in) == 0) {
        http_reply_code(c->req, DP_ECSV, "the body is empty: send a CSV with a header row");
        goto out;
    }
    if ((rc = engine_flush(c->eng, &e)))
        goto fail;
    rc = c->st->v->list_find(c->st, c->ws, list, &im.list_id, &e);
    if (rc == DP_ENOTFOUND)
        rc = c->st->v->list_create(c->st, c->ws, list, &im.list_id, &e);
    if (rc)
        goto fail;
    if ((rc = csvin_new(&p, on_row, &im))) {
        dp_err_set(&e, rc, NULL);
        goto fail;
    }
    /* walk evhttp's chunks in place: no copy of the whole body */
    int nvec = evbuffer_peek(in, -1, NULL, NULL, 0);
    struct evbuffer_iovec *v = nvec > 0 ? calloc((size_t)nvec, sizeof *v) : NULL;
    if (nvec > 0 && !v) {
        rc = dp_err_set(&e, DP_ENOMEM, NULL);
        goto fail;
    }
    evbuffer_peek(in, -1, NULL, v, nvec);
    for (int i = 0; i < nvec && !rc; i++)
        rc = csvin_feed(p, v[i].iov_base, v[i].iov_len, &e);
    free(v);
    if (!rc)
        rc = csvin_finish(p, &e);
    if (!rc && !im.header_done)
        rc = dp_err_set(&e, DP_ECSV, "line 1: no header row");
    if (rc)
        goto fail;
    if ((rc = c->st->v->commit(c->st, &e)))
        goto fail;
    log_info("contacts imported", "list=%lld imported=%lld updated=%lld duplicates=%lld invalid=%lld",
             (long long)im.list_id, (long long)im.imported, (long long)im.updated,
             (long long)im.duplicates, (long long)im.invalid_count);
    http_reply_json(c->req, 200,
                    json_pack("{s:I, s:I, s:I, s:I, s:I, s:O}", "list_id", (json_int_t)im.list_id,
                              "imported", (json_int_t)im.imported, "updated",
                              (json_int_t)im.updated, "duplicates", (json_int_t)im.duplicates,
                              "invalid_count", (json_int_t)im.invalid_count, "invalid",
                              im.invalid));
    goto out;
fail:
    c->st->v->rollback(c->st);
    if (e.code == DP_OK)
        e.code = rc;
    http_reply_error(c->req, &e, NULL);
out:
    csvin_free(p);
    for (size_t i = 0; i < im.ncols; i++)
        free(im.cols[i]);
    imap_free(&im.seen);
    json_decref(im.invalid);
}
