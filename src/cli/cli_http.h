/* The client's side of the HTTP API: one libcurl easy handle (so polling and
 * paging reuse the connection), JSON bodies through jansson, replies capped at
 * 64 MiB. Functions here never print; failures come back as a human sentence
 * in the reply for the caller to show. */
#ifndef DP_CLI_HTTP_H
#define DP_CLI_HTTP_H

#include <jansson.h>
#include <stdio.h>

#include "util/buf.h"

#define CLI_HTTP_REPLY_MAX (64u << 20)

typedef struct cli_http cli_http;

typedef struct cli_reply {
    long status;  /* HTTP status, 0 when no reply arrived */
    json_t *json; /* owned; the parsed body, NULL when the body is empty */
    dp_buf body;  /* the raw body as received */
    dp_buf error; /* why the request failed, "" on success */
} cli_reply;

void cli_reply_init(cli_reply *r);
/* Releases everything the reply holds; it can be reused after cli_reply_init.
 * Accepts NULL. */
void cli_reply_free(cli_reply *r);

/* base_url is the server's address ("http://127.0.0.1:8080"); token may be
 * NULL (requests then go without Authorization). Both are copied. On success
 * *out is owned by the caller (cli_http_close). Returns DP_OK or DP_ENOMEM. */
int cli_http_open(cli_http **out, const char *base_url, const char *token)
    __attribute__((warn_unused_result));
/* Accepts NULL. */
void cli_http_close(cli_http *h);
/* The server address as given, for messages; borrowed. */
const char *cli_http_url(const cli_http *h);

/* Sends method to <url>/api/v1<path> with body (borrowed, may be NULL) as
 * JSON. Fills r (which must be initialised and is reset first). Returns DP_OK
 * on a 2xx reply, else a negative dp_code with r->error set: DP_ENET when no
 * reply came, DP_ETOOBIG for a reply over the cap, DP_EJSON for a 2xx reply
 * that is not JSON, DP_EIO when an upload's file could not be read, or the
 * code matching the server's error.code (r->status and r->json hold the rest). */
int cli_http_json(cli_http *h, const char *method, const char *path, const json_t *body,
                  cli_reply *r) __attribute__((warn_unused_result));

/* POSTs the rest of f (borrowed; '-' callers pass stdin) as the body with the
 * given Content-Type, streaming it: a regular file goes with Content-Length,
 * anything else chunked. name is the file's name for messages. Same results
 * as cli_http_json. */
int cli_http_upload(cli_http *h, const char *path, FILE *f, const char *name,
                    const char *content_type, cli_reply *r) __attribute__((warn_unused_result));

/* GETs <url>/api/v1<path> and writes a 2xx body to out (borrowed) as it
 * arrives, however large (exports, workbooks). Same results as
 * cli_http_json, plus DP_EIO when out cannot be written; an error reply's
 * body is in r, never in out. */
int cli_http_download(cli_http *h, const char *path, FILE *out, cli_reply *r)
    __attribute__((warn_unused_result));

/* Appends s to b percent-encoded (all but RFC 3986's unreserved characters),
 * fit for a query value or one path segment. */
int cli_http_escape(dp_buf *b, const char *s) __attribute__((warn_unused_result));

/* Appends "?key=value" (or "&key=value" when q already holds a '?') with
 * value percent-encoded; q may start with the path. Does nothing when value
 * is NULL. */
int cli_http_query(dp_buf *q, const char *key, const char *value)
    __attribute__((warn_unused_result));

#endif
