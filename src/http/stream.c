/* Chunked replies for downloads too big to build in memory (stream.h).
 * A client that leaves first: libevent calls the connection's close
 * callback before it frees the connection's requests. On a read EOF it has
 * already detached ours, because we were still sending (its connection is
 * NULL); then only evhttp_send_reply_end frees it, and without that call it
 * leaks. Otherwise libevent frees it right after the callback, so touching
 * it later would be a use after free. Either way the page callback
 * (evhttp_send_reply_chunk_with_cb) never runs again for that connection. */
#include "http/stream.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_int.h"
#include "util/log.h"

struct stream {
    struct stream *next; /* the live list, for stream_shutdown */
    struct evhttp_request *req;
    struct evhttp_connection *conn;
    struct evbuffer *out; /* the page being filled, reused */
    stream_fill_fn fill;
    long long pages;
    alignas(max_align_t) unsigned char state[]; /* the caller's copy */
};

static struct stream *streams;

static void stream_unlink(struct stream *s)
{
    for (struct stream **p = &streams; *p; p = &(*p)->next) {
        if (*p == s) {
            *p = s->next;
            return;
        }
    }
}

/* Accepts NULL; the request is not the stream's to free. */
static void stream_free(struct stream *s)
{
    if (!s)
        return;
    if (s->out)
        evbuffer_free(s->out);
    free(s);
}

void stream_csv_field(struct evbuffer *out, const char *s, int last)
{
    if (!s)
        s = "";
    int quote = strpbrk(s, ",\"\r\n") != NULL;
    int formula = s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@';
    if (quote || formula) {
        evbuffer_add(out, "\"", 1);
        if (formula)
            evbuffer_add(out, "'", 1);
        for (const char *p = s; *p; p++) {
            if (*p == '"')
                evbuffer_add(out, "\"", 1);
            evbuffer_add(out, p, 1);
        }
        evbuffer_add(out, "\"", 1);
    } else {
        evbuffer_add(out, s, strlen(s));
    }
    evbuffer_add(out, last ? "\r\n" : ",", last ? 2 : 1);
}

static void stream_next(struct evhttp_connection *conn, void *arg);

/* Sends the next page, or ends the reply after the last one. */
static void stream_page(struct stream *s)
{
    int more = s->fill(s->state, s->out);
    s->pages++;
    if (more) {
        /* stream_next follows once this page is out of our buffers */
        evhttp_send_reply_chunk_with_cb(s->req, s->out, stream_next, s);
        return;
    }
    if (evbuffer_get_length(s->out) > 0)
        evhttp_send_reply_chunk(s->req, s->out);
    evhttp_connection_set_closecb(s->conn, NULL, NULL);
    stream_unlink(s);
    evhttp_send_reply_end(s->req);
    stream_free(s);
}

static void stream_next(struct evhttp_connection *conn, void *arg)
{
    (void)conn;
    stream_page(arg);
}

/* The client left mid-stream (see the top of the file). */
static void stream_closed(struct evhttp_connection *conn, void *arg)
{
    struct stream *s = arg;
    (void)conn;
    log_debug("export client left", "pages=%lld", s->pages);
    stream_unlink(s);
    if (!evhttp_request_get_connection(s->req))
        evhttp_send_reply_end(s->req); /* frees the detached request */
    stream_free(s);
}

void stream_start(struct evhttp_request *req, const char *content_type, const char *filename,
                  const char *head, stream_fill_fn fill, const void *state, size_t size)
{
    struct stream *s = calloc(1, sizeof *s + size);
    if (!s || !(s->out = evbuffer_new())) {
        stream_free(s);
        http_reply_code(req, DP_ENOMEM, "out of memory");
        return;
    }
    memcpy(s->state, state, size);
    s->req = req;
    s->conn = evhttp_request_get_connection(req);
    s->fill = fill;
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", content_type);
    char disp[256];
    snprintf(disp, sizeof disp, "attachment; filename=\"%s\"", filename);
    evhttp_add_header(h, "Content-Disposition", disp);
    if (head)
        evbuffer_add(s->out, head, strlen(head));
    s->next = streams;
    streams = s;
    evhttp_connection_set_closecb(s->conn, stream_closed, s);
    evhttp_send_reply_start(req, 200, "OK");
    stream_page(s);
}

void stream_shutdown(void)
{
    while (streams) {
        struct stream *s = streams;
        streams = s->next;
        evhttp_connection_set_closecb(s->conn, NULL, NULL);
        stream_free(s);
    }
}
