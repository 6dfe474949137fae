/* Private to src/http/: the request context the handlers share, reply
 * helpers and the JSON views of stored rows. */
#ifndef DP_HTTP_INT_H
#define DP_HTTP_INT_H

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <stdint.h>

#include "engine/engine.h"
#include "store/store.h"
#include "util/csvin.h"
#include "util/err.h"
#include "util/imap.h"

#define JSON_BODY_MAX (16u * 1024 * 1024)
#define PATH_SEGS 8

struct api_ctx {
    struct evhttp_request *req;
    engine *eng;
    store *st;
    int64_t ws;
    int method; /* EVHTTP_REQ_* */
    const char *seg[PATH_SEGS]; /* path segments after /api/v1 */
    int nseg;
    struct evkeyvalq query;
};

/* Replies; each sends the response, so a handler returns right after. */
void http_reply_json(struct evhttp_request *req, int status, json_t *body_owned);
/* Error reply from a dp_err; extra (owned, may be NULL) is merged into "error". */
void http_reply_error(struct evhttp_request *req, const dp_err *e, json_t *extra);
void http_reply_code(struct evhttp_request *req, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void http_reply_empty(struct evhttp_request *req, int status);

/* Parses the request body as JSON. On failure replies 400/413 itself and returns NULL. */
json_t *http_body_json(struct evhttp_request *req);
/* The same for a body that must be a JSON object (400 when it is not). */
json_t *http_body_object(struct evhttp_request *req);
/* A positive integer path segment or query value; -1 when absent/invalid. */
int64_t http_parse_id(const char *s);
/* A contact list's name as typed (body or ?list=): surrounding spaces are
 * not part of it, and what is left must be 1 to LIST_NAME_MAX bytes of UTF-8
 * without control characters. Copies it into out (LIST_NAME_MAX + 1 bytes);
 * on a bad name replies 400 itself and returns -1. Names are compared
 * without regard to ASCII case by the store. */
#define LIST_NAME_MAX 200
int http_list_name(struct api_ctx *c, const char *in, char out[LIST_NAME_MAX + 1]);
/* The value of query parameter k, borrowed from c; NULL when absent. */
const char *http_query(const struct api_ctx *c, const char *k);
/* ?limit= of a page: *limit is def when absent. Replies 400 "limit must be
 * an integer from 1 to max" itself and returns -1. */
int http_query_limit(struct api_ctx *c, int64_t def, int64_t max, int64_t *limit);
/* Keyset pages are read with one row more than limit, whose presence means
 * another page: when arr (JSON objects with an "id") holds it, it is
 * dropped and the id of the page's last row returned, to continue after;
 * 0 when this is the last page. */
int64_t http_page_next(json_t *arr, int64_t limit);

/* Rolls back the request's transaction and replies the error e. */
void api_fail(struct api_ctx *c, const dp_err *e);

/* The caller's campaign id into *row (cleared with st_campaign_clear);
 * replies the error itself (404 "campaign N not found") and returns -1. */
int api_campaign_get(struct api_ctx *c, int64_t id, struct st_campaign *row);
/* The same when only its existence matters. */
int api_require_campaign(struct api_ctx *c, int64_t id);

/* Routes /api/v1/... once the token has been checked. */
void api_dispatch(struct api_ctx *c);
void api_contacts_import(struct api_ctx *c);
/* Lists and contacts (http/contacts.c); key is a contact id or a phone. */
void api_lists_patch(struct api_ctx *c, int64_t id, json_t *body);
void api_lists_delete(struct api_ctx *c, int64_t id);
void api_list_members(struct api_ctx *c, int64_t id);
void api_list_add(struct api_ctx *c, int64_t id, json_t *body);
void api_list_remove(struct api_ctx *c, int64_t id, const char *phone_or_null);
void api_contacts_search(struct api_ctx *c);
void api_contacts_get(struct api_ctx *c, const char *key);
void api_contacts_history(struct api_ctx *c, const char *key);
void api_contacts_delete(struct api_ctx *c, const char *key);
/* /restriction-lists, /restrictions and /keyword-rules (restrict.c): 1 when
 * the path is one of those and the request was answered, else 0. */
int api_restrict_dispatch(struct api_ctx *c);

/* What an import counts, shared by the contacts import and the restriction
 * entries' (import.c). Phones are counted once: a repeat is a duplicate. */
struct import_tally {
    imap seen; /* phone_key of each phone read */
    int64_t imported, updated, duplicates, invalid_count;
    json_t *invalid; /* [{"line", "reason"}], the first shown_max, owned */
    size_t shown_max;
};
void import_tally_init(struct import_tally *t, size_t shown_max);
/* Frees what the tally holds; safe on a zeroed or initialised tally. */
void import_tally_free(struct import_tally *t);
/* Counts a refused row, listed with its line while fewer than shown_max are. */
void import_invalid(struct import_tally *t, size_t line, const char *reason);
/* Records a normalised phone: *dup is 1 (and the duplicate counted) when it
 * was read before. DP_OK or DP_ENOMEM (in e). */
int import_seen(struct import_tally *t, const char *phone, int *dup, dp_err *e)
    __attribute__((warn_unused_result));
/* Whether n bytes are text the store may keep: UTF-8 without NUL bytes
 * (anything else would be cut at the NUL, or make the row unreadable as
 * JSON later). */
int import_text_ok(const char *s, size_t n);
/* Counts a row written (rc DP_OK) as imported when created, else updated. */
void import_counted(struct import_tally *t, int rc, int created);
/* Feeds a request body to a CSV reader where evhttp holds it (no copy of
 * the whole body): cb gets each row. Returns as csvin_finish. */
int import_read_csv(struct evbuffer *in, csvin_row_fn cb, void *ud, dp_err *e)
    __attribute__((warn_unused_result));

/* JSON views: new references. */
json_t *view_campaign(const struct st_campaign *c);
json_t *view_message(const struct st_message *m);
json_t *view_sender(const struct st_sender *s);
/* A contact list with its member count. */
json_t *view_list(const struct st_list *l);
json_t *view_time(int64_t ms);

#endif
