/* The fake HTTP server helpers of fakehttp.h, shared by the unit tests of
 * httpc and of every HTTP gateway sender. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine/timer.h"
#include "fakehttp.h"
#include "senders/sender.h"
#include "util/httpc.h"

struct evhttp *fakehttp_listen(struct event_base *base, fakehttp_cb cb, void *arg, int methods,
                               int *port)
{
    assert_non_null(base);
    struct evhttp *http = evhttp_new(base);
    assert_non_null(http);
    if (methods)
        evhttp_set_allowed_methods(http, (ev_uint16_t)methods);
    evhttp_set_gencb(http, cb, arg);
    struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(http, "127.0.0.1", 0);
    assert_non_null(bs);
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    assert_int_equal(getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sa, &sl), 0);
    *port = ntohs(sa.sin_port);
    return http;
}

int fakehttp_dead_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    assert_true(s >= 0);
    assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&sa, &sl), 0);
    close(s); /* nothing listens there now: connecting is refused */
    return ntohs(sa.sin_port);
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

void fakehttp_run_until(struct event_base *base, const int *counter, int want)
{
    /* The tick keeps each turn short, so the deadline is looked at. */
    struct event *t = event_new(base, -1, EV_PERSIST, tick, NULL);
    struct timeval tv = {0, 50000};
    event_add(t, &tv);
    int64_t deadline = timer_now_us() + 10 * 1000000;
    while (*counter < want) {
        assert_true(timer_now_us() < deadline);
        event_base_loop(base, EVLOOP_ONCE);
    }
    event_free(t);
}

void fakehttp_run_for(struct event_base *base, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
}

void fakehttp_reply(struct evhttp_request *req, int status, const char *content_type,
                    const char *body, const char *retry_after)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    if (content_type)
        evhttp_add_header(out, "Content-Type", content_type);
    if (retry_after)
        evhttp_add_header(out, "Retry-After", retry_after);
    struct evbuffer *b = evbuffer_new();
    assert_non_null(b);
    if (body)
        evbuffer_add(b, body, strlen(body));
    evhttp_send_reply(req, status, "X", b);
    evbuffer_free(b);
}

/* An answer waiting for its time; owns its strings. */
struct later {
    struct evhttp_request *req;
    int status;
    char *content_type, *body, *retry_after;
};

static char *dup_or_null(const char *s)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    assert_non_null(d);
    return d;
}

static void on_later(evutil_socket_t fd, short what, void *arg)
{
    struct later *l = arg;
    (void)fd;
    (void)what;
    fakehttp_reply(l->req, l->status, l->content_type, l->body, l->retry_after);
    free(l->content_type);
    free(l->body);
    free(l->retry_after);
    free(l);
}

void fakehttp_reply_later(struct event_base *base, struct evhttp_request *req, int ms, int status,
                          const char *content_type, const char *body, const char *retry_after)
{
    if (ms <= 0) {
        fakehttp_reply(req, status, content_type, body, retry_after);
        return;
    }
    struct later *l = calloc(1, sizeof *l);
    assert_non_null(l);
    l->req = req;
    l->status = status;
    l->content_type = dup_or_null(content_type);
    l->body = dup_or_null(body);
    l->retry_after = dup_or_null(retry_after);
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    assert_int_equal(event_base_once(base, -1, EV_TIMEOUT, on_later, l, &tv), 0);
}

static void on_drop(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    evhttp_connection_free(arg);
}

void fakehttp_drop(struct event_base *base, struct evhttp_request *req)
{
    struct timeval zero = {0, 0};
    assert_int_equal(
        event_base_once(base, -1, EV_TIMEOUT, on_drop, evhttp_request_get_connection(req), &zero),
        0);
}

size_t fakehttp_body(struct evhttp_request *req, char *dst, size_t size)
{
    struct evbuffer *ib = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(ib);
    if (n >= size)
        n = size - 1;
    evbuffer_copyout(ib, dst, n);
    dst[n] = '\0';
    return n;
}

int fakehttp_header(struct evhttp_request *req, const char *name, char *dst, size_t size)
{
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), name);
    snprintf(dst, size, "%s", h ? h : "");
    return h != NULL;
}

const char *fakehttp_method(struct evhttp_request *req)
{
    switch (evhttp_request_get_command(req)) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    default:
        return "OTHER";
    }
}

void fakehttp_env(struct sender_env *env, struct event_base *base, const struct sender_hooks *hooks)
{
    memset(env, 0, sizeof *env);
    env->base = base;
    env->http = httpc_new(base);
    env->timers = timers_new(base);
    assert_non_null(env->http);
    assert_non_null(env->timers);
    env->hooks = hooks;
}

void fakehttp_env_free(struct sender_env *env)
{
    httpc_free(env->http);
    timers_free(env->timers);
    env->http = NULL;
    env->timers = NULL;
}
