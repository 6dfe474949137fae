/* evhttp front door: /healthz, token check, then the API router. Every reply
 * is JSON except the CSV export; every error has the one shape
 * {"error": {"code", "message"}} with the status from the error table. */
#include "http/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "engine/timer.h"
#include "http/http_int.h"
#include "http/report.h"
#include "http/stream.h"
#include "senders/sender.h"
#include "util/buf.h"
#include "util/crypto.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/version.h"

#define BODY_MAX (512u * 1024 * 1024) /* CSV imports; JSON bodies have their own cap */
#define BIG_BODY (1u << 20)
#define BIG_WORK_US 50000
#define WEBHOOK_BODY_MAX (1u << 20)

struct server {
    struct evhttp *http;
    struct evhttp_bound_socket *sock;
    engine *eng;
    store *st;
    int port;
};

void http_reply_json(struct evhttp_request *req, int status, json_t *body)
{
    struct evbuffer *out = evbuffer_new();
    char *txt = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!txt) {
        /* a view that could not be built (no memory, or a stored string
         * jansson refuses): say so rather than answer 200 with nothing */
        log_error("reply could not be built", "status=%d", status);
        status = 500;
        if (out)
            evbuffer_add_printf(out, "{\"error\":{\"code\":\"%s\",\"message\":\"the reply could "
                                     "not be built\"}}\n",
                                dp_err_api_code(DP_EINTERNAL));
    } else if (out) {
        evbuffer_add(out, txt, strlen(txt));
        evbuffer_add(out, "\n", 1);
    }
    free(txt);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "application/json; charset=utf-8");
    evhttp_send_reply(req, status, status < 400 ? "OK" : "Error", out);
    if (out)
        evbuffer_free(out);
}

void http_reply_error(struct evhttp_request *req, const dp_err *e, json_t *extra)
{
    int code = e->code ? e->code : DP_EINTERNAL;
    json_t *err = json_pack("{s:s, s:s}", "code", dp_err_api_code(code), "message",
                            e->msg[0] ? e->msg : dp_strerror(code));
    if (extra) {
        json_object_update(err, extra);
        json_decref(extra);
    }
    if (dp_err_http_status(code) >= 500)
        log_error("request failed", "uri=\"%s\" err=\"%s\"", evhttp_request_get_uri(req), e->msg);
    http_reply_json(req, dp_err_http_status(code), json_pack("{s:o}", "error", err));
}

void http_reply_code(struct evhttp_request *req, int code, const char *fmt, ...)
{
    dp_err e = {.code = code};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.msg, sizeof e.msg, fmt, ap);
    va_end(ap);
    http_reply_error(req, &e, NULL);
}

void http_reply_empty(struct evhttp_request *req, int status)
{
    evhttp_send_reply(req, status, "OK", NULL);
}

json_t *http_body_json(struct evhttp_request *req)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    if (len > JSON_BODY_MAX) {
        http_reply_code(req, DP_ETOOBIG, "the JSON body is over %u bytes", JSON_BODY_MAX);
        return NULL;
    }
    if (len == 0) {
        http_reply_code(req, DP_EJSON, "the request needs a JSON body");
        return NULL;
    }
    const char *data = (const char *)evbuffer_pullup(in, -1);
    json_error_t je;
    json_t *j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
    if (!j)
        http_reply_code(req, DP_EJSON, "malformed JSON at line %d column %d: %s", je.line,
                        je.column, je.text);
    return j;
}

json_t *http_body_object(struct evhttp_request *req)
{
    json_t *b = http_body_json(req);
    if (b && !json_is_object(b)) {
        json_decref(b);
        http_reply_code(req, DP_EINVAL, "the body must be a JSON object");
        return NULL;
    }
    return b;
}

int64_t http_parse_id(const char *s)
{
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v <= 0 || s[0] == '+' || s[0] == '-' || s[0] == ' ')
        return -1;
    return v;
}

int http_list_name(struct api_ctx *c, const char *in, char out[LIST_NAME_MAX + 1])
{
    size_t n = in ? strlen(in) : 0;
    while (n && (*in == ' ' || *in == '\t'))
        in++, n--;
    while (n && (in[n - 1] == ' ' || in[n - 1] == '\t'))
        n--;
    int ok = n > 0 && n <= LIST_NAME_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = (unsigned char)in[i] >= 0x20 && in[i] != 0x7f;
    json_t *utf8 = ok ? json_stringn(in, n) : NULL; /* NULL when not UTF-8 */
    json_decref(utf8);
    if (!utf8) {
        http_reply_code(c->req, DP_EINVAL,
                        "a list's name is 1 to %d bytes of text, not only spaces", LIST_NAME_MAX);
        return -1;
    }
    memcpy(out, in, n);
    out[n] = '\0';
    return 0;
}

const char *http_query(const struct api_ctx *c, const char *k)
{
    return evhttp_find_header((struct evkeyvalq *)&c->query, k);
}

int http_query_limit(struct api_ctx *c, int64_t def, int64_t max, int64_t *limit)
{
    const char *l = http_query(c, "limit");
    *limit = def;
    if (l && ((*limit = http_parse_id(l)) < 1 || *limit > max)) {
        http_reply_code(c->req, DP_EINVAL, "limit must be an integer from 1 to %lld",
                        (long long)max);
        return -1;
    }
    return 0;
}

int64_t http_page_next(json_t *arr, int64_t limit)
{
    if ((int64_t)json_array_size(arr) <= limit)
        return 0;
    json_array_remove(arr, (size_t)limit);
    return json_integer_value(json_object_get(json_array_get(arr, (size_t)limit - 1), "id"));
}

static int authenticate(struct api_ctx *c)
{
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(c->req), "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0 || !h[7]) {
        http_reply_code(c->req, DP_EAUTH, "send Authorization: Bearer <token>");
        return -1;
    }
    char hash[CRYPTO_SHA256_HEX];
    crypto_sha256_hex(h + 7, strlen(h + 7), hash);
    dp_err e;
    int rc = c->st->v->token_lookup(c->st, hash, &c->ws, &e);
    if (rc == DP_ENOTFOUND) {
        http_reply_code(c->req, DP_EAUTH, "the token is not valid");
        return -1;
    }
    if (rc) {
        http_reply_error(c->req, &e, NULL);
        return -1;
    }
    return 0;
}

static const char *req_header(const void *ctx, const char *name)
{
    return evhttp_find_header(evhttp_request_get_input_headers((struct evhttp_request *)ctx), name);
}

/* /webhooks/{sender_id}[/{secret}]: public, the sender itself checks the
 * gateway's signature or secret. */
static void on_webhook(server *s, struct evhttp_request *req, const char *rest, const char *query)
{
    char idbuf[24], secret[256];
    const char *slash = strchr(rest, '/');
    size_t idlen = slash ? (size_t)(slash - rest) : strlen(rest);
    int method = evhttp_request_get_command(req);
    if (idlen == 0 || idlen >= sizeof idbuf || (slash && strlen(slash + 1) >= sizeof secret)) {
        http_reply_code(req, DP_ENOTFOUND, "no such webhook");
        return;
    }
    memcpy(idbuf, rest, idlen);
    idbuf[idlen] = '\0';
    snprintf(secret, sizeof secret, "%s", slash ? slash + 1 : "");
    int64_t id = http_parse_id(idbuf);
    if (id <= 0 || (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_POST)) {
        http_reply_code(req, DP_ENOTFOUND, "no such webhook");
        return;
    }
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    if (len > WEBHOOK_BODY_MAX) {
        http_reply_code(req, DP_ETOOBIG, "webhook bodies are capped at %u bytes", WEBHOOK_BODY_MAX);
        return;
    }
    struct sender_webhook_req wr = {
        .method = method == EVHTTP_REQ_GET ? "GET" : "POST",
        .query = query,
        .path_secret = secret[0] ? secret : NULL,
        .body = len ? (const char *)evbuffer_pullup(in, -1) : "",
        .body_len = len,
        .header = req_header,
        .ctx = req,
    };
    dp_buf reply;
    buf_init(&reply, 64 * 1024);
    int status = 500;
    dp_err e = {0};
    if (engine_webhook(s->eng, id, &wr, &status, &reply, &e)) {
        buf_free(&reply);
        http_reply_error(req, &e, NULL);
        return;
    }
    struct evbuffer *out = evbuffer_new();
    if (out)
        evbuffer_add(out, reply.data ? reply.data : "", reply.len);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; charset=utf-8");
    evhttp_send_reply(req, status, status < 400 ? "OK" : "Error", out);
    if (out)
        evbuffer_free(out);
    buf_free(&reply);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    server *s = arg;
    struct api_ctx c = {.req = req, .eng = s->eng, .st = s->st};
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    const char *q = uri ? evhttp_uri_get_query(uri) : NULL;
    char *dpath = NULL;
    /* zeroed: evhttp_parse_query_str initialises it, clear copes with empty */
    c.method = evhttp_request_get_command(req);
    if (!path) {
        http_reply_code(req, DP_EINVAL, "bad request line");
        return;
    }
    if (strcmp(path, "/healthz") == 0) {
        http_reply_json(req, 200, json_pack("{s:s, s:s}", "status", "ok", "version", DISPARO_VERSION));
        return;
    }
    if (strncmp(path, "/webhooks/", 10) == 0) {
        on_webhook(s, req, path + 10, q);
        return;
    }
    if (strncmp(path, "/api/v1/", 8) != 0) {
        http_reply_code(req, DP_ENOTFOUND, "no route for %s", path);
        return;
    }
    if (q && evhttp_parse_query_str(q, &c.query) != 0) {
        http_reply_code(req, DP_EINVAL, "malformed query string");
        return;
    }
    dpath = evhttp_uridecode(path + 8, 0, NULL);
    if (!dpath) {
        http_reply_code(req, DP_EINVAL, "malformed path");
        goto out;
    }
    for (char *p = dpath; *p;) {
        char *slash = strchr(p, '/');
        if (slash)
            *slash = '\0';
        if (*p) {
            if (c.nseg == PATH_SEGS) {
                http_reply_code(req, DP_ENOTFOUND, "no route for %s", path);
                goto out;
            }
            c.seg[c.nseg++] = p;
        }
        if (!slash)
            break;
        p = slash + 1;
    }
    int64_t t0 = timer_now_us();
    if (authenticate(&c) == 0)
        api_dispatch(&c);
    /* The body is not needed once handled. After a big request (an import,
     * a campaign over a large list) the memory it used is free but held by
     * the allocator: give it back, or the process stays that size. */
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t body_len = evbuffer_get_length(in);
    evbuffer_drain(in, body_len);
    if (body_len > BIG_BODY || timer_now_us() - t0 > BIG_WORK_US)
        mem_release();
out:
    free(dpath);
    evhttp_clear_headers(&c.query);
}

int server_new(struct event_base *base, const char *listen, engine *eng, store *st, server **out,
               dp_err *e)
{
    char host[256];
    const char *colon = strrchr(listen, ':');
    if (!colon || colon == listen || (size_t)(colon - listen) >= sizeof host)
        return dp_err_set(e, DP_EINVAL, "--listen wants host:port, got %s", listen);
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535)
        return dp_err_set(e, DP_EINVAL, "--listen has a bad port: %s", colon + 1);

    server *s = calloc(1, sizeof *s);
    if (!s)
        return dp_err_set(e, DP_ENOMEM, NULL);
    s->eng = eng;
    s->st = st;
    s->http = evhttp_new(base);
    if (!s->http) {
        free(s);
        return dp_err_set(e, DP_ENOMEM, NULL);
    }
    evhttp_set_max_body_size(s->http, BODY_MAX);
    evhttp_set_max_headers_size(s->http, 64 * 1024);
    evhttp_set_timeout(s->http, 120);
    evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PATCH |
                                            EVHTTP_REQ_DELETE | EVHTTP_REQ_PUT | EVHTTP_REQ_HEAD);
    evhttp_set_gencb(s->http, on_request, s);
    s->sock = evhttp_bind_socket_with_handle(s->http, host, (ev_uint16_t)port);
    if (!s->sock) {
        evhttp_free(s->http);
        free(s);
        return dp_err_set(e, DP_EIO, "cannot listen on %s (in use, or a bad address?)", listen);
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    evutil_socket_t fd = evhttp_bound_socket_get_fd(s->sock);
    /* Replies go out in 16 KiB writes; without NODELAY the last short one
     * waits ~40 ms for the client's delayed ACK on kept-alive connections.
     * Accepted sockets inherit the option from the listener on Linux. */
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        s->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                 : ((struct sockaddr_in *)&ss)->sin_port);
    *out = s;
    return DP_OK;
}

int server_port(const server *s)
{
    return s->port;
}

void server_free(server *s)
{
    if (!s)
        return;
    /* report jobs and streams hold requests evhttp_free is about to free */
    report_shutdown();
    stream_shutdown();
    evhttp_free(s->http);
    free(s);
}
