/* Streamed downloads (the CSV exports of report.c and restrict.c): a 200
 * reply sent in chunks, the next page read only once the previous one has
 * left our buffers, so memory stays at one page whatever the size. A client
 * that leaves mid-download is handled here, in one place. */
#ifndef DP_HTTP_STREAM_H
#define DP_HTTP_STREAM_H

#include <stddef.h>

struct evbuffer;
struct evhttp_request;

/* Appends the next page to out. Returns 1 when another page follows, 0
 * when this was the last one. The status line has gone by then, so a
 * failure can only end the body early: the callback logs it, may drain
 * out, and returns 0. */
typedef int (*stream_fill_fn)(void *state, struct evbuffer *out);

/* Starts a 200 reply of content_type with a Content-Disposition naming
 * filename, sends head (may be NULL) and then page after page from fill.
 * The size bytes at state are copied: the stream owns the copy, hands it to
 * fill and frees it when the reply ends or the client leaves. When out of
 * memory it replies 500 itself. */
void stream_start(struct evhttp_request *req, const char *content_type, const char *filename,
                  const char *head, stream_fill_fn fill, const void *state, size_t size);

/* Frees the streams still running; the server calls it before evhttp_free
 * frees their requests. */
void stream_shutdown(void);

/* CSV field into out: quoted when it holds a delimiter, quote or line break;
 * a leading =, +, - or @ is prefixed with ' so spreadsheets do not run it.
 * s NULL is an empty field; last ends the row (CRLF) instead of a comma. */
void stream_csv_field(struct evbuffer *out, const char *s, int last);

#endif
