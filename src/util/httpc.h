/* Asynchronous HTTP client for the senders: libcurl's multi interface driven
 * by the engine's libevent loop. One httpc per process is enough; it keeps a
 * single connection cache, so requests to the same gateway reuse keep-alive
 * connections. Everything happens on the loop thread; no call blocks. */
#ifndef DP_HTTPC_H
#define DP_HTTPC_H

#include <stddef.h>
#include <stdint.h>

struct event_base;

typedef struct httpc httpc;               /* the client; opaque */
typedef struct httpc_handle httpc_handle; /* one request in flight; opaque */

#define HTTPC_DEFAULT_MAX_RESPONSE ((size_t)1 << 20) /* 1 MiB */
#define HTTPC_DEFAULT_TIMEOUT_MS 30000L

/* One request. Everything is borrowed for the duration of httpc_do() only:
 * the client copies what it needs before returning. */
struct httpc_req {
    const char *method;         /* "GET", "POST", "PUT", ...; NULL = GET, or POST when body */
    const char *url;            /* http:// or https:// only */
    const char *const *headers; /* "Name: value" ("Name;" = empty value, "Name:" = drop
                                 * one of curl's), NULL-terminated; may be NULL */
    const char *body;           /* may be NULL; sent as is, body_len bytes */
    size_t body_len;
    long timeout_ms;     /* whole request, connect included; 0 = HTTPC_DEFAULT_TIMEOUT_MS */
    const char *proxy;   /* NULL = direct (environment proxies are ignored); else a
                          * curl proxy URL ("http://h:p", "socks5h://u:p@h:p"). With a
                          * proxy the request goes through it or fails: never direct. */
    size_t max_response; /* body cap; 0 = HTTPC_DEFAULT_MAX_RESPONSE */
};

/* The outcome, borrowed by the done callback for its duration only. */
struct httpc_resp {
    int curl_code;    /* a CURLcode, 0 = a complete HTTP response (any status).
                       * A body over max_response gives CURLE_FILESIZE_EXCEEDED (63)
                       * with status still set when the headers had arrived. */
    long status;      /* HTTP status, 0 when no response line was received */
    const char *body; /* never NULL; NUL-terminated (body_len excludes the NUL);
                       * what arrived so far when curl_code != 0 */
    size_t body_len;
    const char *error;      /* human detail when curl_code != 0, "" otherwise; never NULL */
    int64_t retry_after_ms; /* Retry-After (delta seconds or HTTP date) in ms; 0 if none */
};

typedef void (*httpc_done_fn)(void *ud, const struct httpc_resp *resp);

/* Returns NULL on allocation failure. base is borrowed and must outlive the client.
 * Calls curl_global_init() once per process (not thread-safe; call from main). */
httpc *httpc_new(struct event_base *base);
/* Cancels every request in flight without calling its done callback, closes
 * the cached connections and frees the client. Accepts NULL. Must not be called
 * from inside a done callback. */
void httpc_free(httpc *h);

/* Starts r. done(ud, resp) is called exactly once, later, from the event loop:
 * never from inside httpc_do(). Returns DP_OK, or DP_EINVAL (bad request: no
 * url, empty proxy string, header with CR/LF) / DP_ENOMEM, in which case done is
 * never called. If out is not NULL it receives a handle for httpc_cancel(), valid
 * until done starts running or the request is cancelled. */
int httpc_do(httpc *h, const struct httpc_req *r, httpc_done_fn done, void *ud, httpc_handle **out)
    __attribute__((warn_unused_result));
/* Aborts a request in flight; its done callback is never called. hd must be a
 * live handle (not one whose done has started). Safe from inside another
 * request's done callback. */
void httpc_cancel(httpc *h, httpc_handle *hd);
/* Number of requests in flight, for tests and metrics. */
size_t httpc_in_flight(const httpc *h);

/* Parses a Retry-After value (delta seconds or IMF-fixdate) relative to the wall
 * clock now_s (seconds since the epoch); returns milliseconds, 0 if absent,
 * malformed or already past. Exposed for tests. */
int64_t httpc_parse_retry_after(const char *v, int64_t now_s);

#endif
