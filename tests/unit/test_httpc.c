/* httpc against a libevent evhttp server on 127.0.0.1:0 running in the same
 * loop: methods, bodies, headers, the response cap, timeouts, refused
 * connections, Retry-After, proxies (and the environment's), cancellation,
 * connection reuse and many requests at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "engine/timer.h"
#include "support/fakehttp.h"
#include "util/err.h"
#include "util/httpc.h"

#define MAX_PORTS 1024

struct fx {
    struct event_base *base;
    struct evhttp *http;
    httpc *hc;
    int port;
    /* what the server saw last */
    int n_requests;
    char method[16];
    char uri[512];
    char body[4096];
    size_t body_len;
    char x_test[128];
    int has_x_test;
    char content_type[128];
    int n_held;
    uint16_t peer_ports[MAX_PORTS];
    int n_ports;
};

/* One client request's outcome, as seen by its done callback. */
struct res {
    struct fx *f;
    int calls;
    int returned; /* httpc_do had returned before done ran */
    int curl_code;
    long status;
    char body[8192];
    size_t body_len;
    char error[256];
    int64_t retry_after_ms;
    int64_t done_us;
    int *counter;
    httpc_handle *cancel_in_done; /* cancelled from inside this one's done */
};

/* ---- server ---- */

static const char *query(struct evhttp_request *req, const char *key, char *dst, size_t size)
{
    struct evkeyvalq q;
    const char *qs = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    dst[0] = '\0';
    if (!qs || evhttp_parse_query_str(qs, &q) != 0)
        return dst;
    const char *v = evhttp_find_header(&q, key);
    if (v)
        snprintf(dst, size, "%s", v);
    evhttp_clear_headers(&q);
    return dst;
}

static void reply_text(struct evhttp_request *req, int code, const char *text)
{
    fakehttp_reply(req, code, NULL, text, NULL);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct fx *f = arg;
    const char *uri = evhttp_request_get_uri(req);
    struct evbuffer *ib = evhttp_request_get_input_buffer(req);
    char v[256];

    f->n_requests++;
    snprintf(f->uri, sizeof f->uri, "%s", uri);
    snprintf(f->method, sizeof f->method, "%s", fakehttp_method(req));
    f->body_len = fakehttp_body(req, f->body, sizeof f->body);
    f->has_x_test = fakehttp_header(req, "X-Test", f->x_test, sizeof f->x_test);
    fakehttp_header(req, "Content-Type", f->content_type, sizeof f->content_type);
    char *addr = NULL;
    ev_uint16_t port = 0;
    evhttp_connection_get_peer(evhttp_request_get_connection(req), &addr, &port);
    if (f->n_ports < MAX_PORTS)
        f->peer_ports[f->n_ports++] = port;

    if (strncmp(uri, "http://", 7) == 0) {
        /* an absolute URI: we are being used as an HTTP proxy */
        char t[600];
        snprintf(t, sizeof t, "proxied:%s", uri);
        reply_text(req, 200, t);
    } else if (strncmp(uri, "/hello", 6) == 0) {
        reply_text(req, 200, "hello");
    } else if (strncmp(uri, "/echo", 5) == 0) {
        struct evbuffer *b = evbuffer_new();
        evbuffer_add_buffer(b, ib);
        evhttp_add_header(evhttp_request_get_output_headers(req), "X-Method", f->method);
        evhttp_send_reply(req, 200, "OK", b);
        evbuffer_free(b);
    } else if (strncmp(uri, "/big", 4) == 0) {
        size_t n = (size_t)strtoul(query(req, "n", v, sizeof v), NULL, 10);
        struct evbuffer *b = evbuffer_new();
        for (size_t i = 0; i < n; i++)
            evbuffer_add(b, "a", 1);
        evhttp_send_reply(req, 200, "OK", b);
        evbuffer_free(b);
    } else if (strncmp(uri, "/chunked", 8) == 0) {
        size_t n = (size_t)strtoul(query(req, "n", v, sizeof v), NULL, 10);
        char chunk[1000];
        memset(chunk, 'b', sizeof chunk);
        evhttp_send_reply_start(req, 200, "OK");
        struct evbuffer *b = evbuffer_new();
        for (size_t done = 0; done < n; done += sizeof chunk) {
            evbuffer_add(b, chunk, n - done < sizeof chunk ? n - done : sizeof chunk);
            evhttp_send_reply_chunk(req, b);
        }
        evbuffer_free(b);
        evhttp_send_reply_end(req);
    } else if (strncmp(uri, "/retry", 6) == 0) {
        query(req, "v", v, sizeof v);
        if (v[0])
            evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", v);
        reply_text(req, 429, "slow down");
    } else if (strncmp(uri, "/status", 7) == 0) {
        reply_text(req, atoi(query(req, "code", v, sizeof v)), "status");
    } else if (strncmp(uri, "/hold", 5) == 0) {
        f->n_held++; /* never answered; evhttp_free reclaims it */
    } else {
        reply_text(req, 404, "nope");
    }
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->base = event_base_new();
    assert_non_null(f->base);
    f->http = fakehttp_listen(f->base, on_request, f,
                              EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                  EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD,
                              &f->port);
    f->hc = httpc_new(f->base);
    assert_non_null(f->hc);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    httpc_free(f->hc);
    evhttp_free(f->http);
    event_base_free(f->base);
    free(f);
    return 0;
}

/* ---- client helpers ---- */

static void on_done(void *ud, const struct httpc_resp *r)
{
    struct res *x = ud;
    x->calls++;
    x->curl_code = r->curl_code;
    x->status = r->status;
    assert_non_null(r->body);
    assert_non_null(r->error);
    assert_int_equal(r->body[r->body_len], '\0');
    x->body_len = r->body_len < sizeof x->body - 1 ? r->body_len : sizeof x->body - 1;
    memcpy(x->body, r->body, x->body_len);
    x->body[x->body_len] = '\0';
    snprintf(x->error, sizeof x->error, "%s", r->error);
    x->retry_after_ms = r->retry_after_ms;
    x->done_us = timer_now_us();
    if (x->counter)
        (*x->counter)++;
    if (x->cancel_in_done)
        httpc_cancel(x->f->hc, x->cancel_in_done);
}

static void url(struct fx *f, char *dst, size_t size, const char *path)
{
    snprintf(dst, size, "http://127.0.0.1:%d%s", f->port, path);
}

/* Starts one request and runs the loop until it is done. */
static void do_one(struct fx *f, const struct httpc_req *r, struct res *x)
{
    int n = 0;
    memset(x, 0, sizeof *x);
    x->f = f;
    x->counter = &n;
    assert_int_equal(httpc_do(f->hc, r, on_done, x, NULL), DP_OK);
    assert_int_equal(x->calls, 0); /* never synchronous */
    fakehttp_run_until(f->base, &n, 1);
    assert_int_equal(x->calls, 1);
    assert_int_equal(httpc_in_flight(f->hc), 0);
}

/* ---- tests ---- */

static void test_get(void **state)
{
    struct fx *f = *state;
    char u[128];
    struct res x;
    url(f, u, sizeof u, "/hello");
    struct httpc_req r = {.method = "GET", .url = u};
    do_one(f, &r, &x);
    assert_int_equal(x.curl_code, 0);
    assert_int_equal(x.status, 200);
    assert_string_equal(x.body, "hello");
    assert_string_equal(x.error, "");
    assert_int_equal(x.retry_after_ms, 0);
    assert_string_equal(f->method, "GET");
}

static void test_post_body_headers(void **state)
{
    struct fx *f = *state;
    char u[128];
    struct res x;
    url(f, u, sizeof u, "/echo");
    const char *hdrs[] = {"X-Test: hi there", "Content-Type: application/json", NULL};
    const char body[] = "{\"a\":1}";
    struct httpc_req r = {.url = u, .headers = hdrs, .body = body, .body_len = strlen(body)};
    do_one(f, &r, &x); /* no method + a body = POST */
    assert_int_equal(x.curl_code, 0);
    assert_int_equal(x.status, 200);
    assert_string_equal(x.body, body);
    assert_string_equal(f->method, "POST");
    assert_string_equal(f->x_test, "hi there");
    assert_string_equal(f->content_type, "application/json");
    assert_string_equal(f->body, body);
}

static void test_empty_header_value(void **state)
{
    struct fx *f = *state;
    char u[128];
    struct res x;
    url(f, u, sizeof u, "/hello");
    const char *hdrs[] = {"X-Test;", NULL}; /* curl's spelling of an empty value */
    struct httpc_req r = {.url = u, .headers = hdrs};
    do_one(f, &r, &x);
    assert_int_equal(x.status, 200);
    assert_true(f->has_x_test);
    assert_string_equal(f->x_test, "");
}

static void test_binary_body_and_put(void **state)
{
    struct fx *f = *state;
    char u[128];
    struct res x;
    url(f, u, sizeof u, "/echo");
    const char body[] = {'a', '\0', 'b'};
    struct httpc_req r = {.method = "PUT", .url = u, .body = body, .body_len = sizeof body};
    do_one(f, &r, &x);
    assert_int_equal(x.status, 200);
    assert_string_equal(f->method, "PUT");
    assert_int_equal(f->body_len, 3);
    assert_memory_equal(f->body, body, 3);
    assert_int_equal(x.body_len, 3);
}

static void test_large_post_no_expect_stall(void **state)
{
    struct fx *f = *state;
    char u[128];
    struct res x;
    url(f, u, sizeof u, "/echo");
    static char body[3000];
    memset(body, 'z', sizeof body);
    struct httpc_req r = {.method = "POST", .url = u, .body = body, .body_len = sizeof body};
    int64_t t0 = timer_now_us();
    do_one(f, &r, &x);
    assert_int_equal(x.status, 200);
    assert_int_equal(x.body_len, sizeof body);
    assert_true(timer_now_us() - t0 < 900000); /* no 1 s wait for "100 Continue" */
}

static void test_body_cap(void **state)
{
    struct fx *f = *state;
    char u[128];
    struct res x;

    url(f, u, sizeof u, "/big?n=1000");
    struct httpc_req r = {.url = u, .max_response = 1000};
    do_one(f, &r, &x);
    assert_int_equal(x.curl_code, 0); /* exactly at the cap is fine */
    assert_int_equal(x.body_len, 1000);

    url(f, u, sizeof u, "/big?n=5000");
    do_one(f, &r, &x); /* refused from Content-Length */
    assert_int_equal(x.curl_code, CURLE_FILESIZE_EXCEEDED);
    assert_int_equal(x.status, 200);
    assert_non_null(strstr(x.error, "1000"));

    url(f, u, sizeof u, "/chunked?n=50000");
    do_one(f, &r, &x); /* no length: caught while reading */
    assert_int_equal(x.curl_code, CURLE_FILESIZE_EXCEEDED);
    assert_int_equal(x.status, 200);
    assert_true(x.body_len <= 1000);

    url(f, u, sizeof u, "/chunked?n=3000");
    r.max_response = 0; /* default 1 MiB */
    do_one(f, &r, &x);
    assert_int_equal(x.curl_code, 0);
    assert_int_equal(x.body_len, 3000);
}

static void test_timeout(void **state)
{
    struct fx *f = *state;
    char u[128];
    struct res x;
    url(f, u, sizeof u, "/hold");
    struct httpc_req r = {.url = u, .timeout_ms = 200};
    int64_t t0 = timer_now_us();
    do_one(f, &r, &x);
    int64_t el = x.done_us - t0;
    assert_int_equal(x.curl_code, CURLE_OPERATION_TIMEDOUT);
    assert_int_equal(x.status, 0);
    assert_true(x.error[0] != '\0');
    assert_true(el >= 180000);
    assert_true(el < 3000000);
    assert_int_equal(f->n_held, 1);
}

static void test_connection_refused(void **state)
{
    struct fx *f = *state;
    char u[128];
    struct res x;
    snprintf(u, sizeof u, "http://127.0.0.1:%d/x", fakehttp_dead_port());
    struct httpc_req r = {.url = u};
    do_one(f, &r, &x);
    assert_int_equal(x.curl_code, CURLE_COULDNT_CONNECT);
    assert_int_equal(x.status, 0);
    assert_true(x.error[0] != '\0');
}

static void test_status_passthrough(void **state)
{
    struct fx *f = *state;
    char u[128];
    struct res x;
    url(f, u, sizeof u, "/status?code=503");
    struct httpc_req r = {.url = u};
    do_one(f, &r, &x);
    assert_int_equal(x.curl_code, 0); /* an HTTP error status is still a response */
    assert_int_equal(x.status, 503);
    assert_string_equal(x.body, "status");
}

static void test_retry_after_header(void **state)
{
    struct fx *f = *state;
    char u[256];
    struct res x;
    struct httpc_req r = {.url = u};

    url(f, u, sizeof u, "/retry?v=7");
    do_one(f, &r, &x);
    assert_int_equal(x.status, 429);
    assert_int_equal(x.retry_after_ms, 7000);

    url(f, u, sizeof u, "/retry");
    do_one(f, &r, &x);
    assert_int_equal(x.retry_after_ms, 0);

    url(f, u, sizeof u, "/retry?v=soon");
    do_one(f, &r, &x);
    assert_int_equal(x.retry_after_ms, 0);

    /* an HTTP date two minutes ahead */
    char date[64], path[160];
    time_t t = time(NULL) + 120;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(date, sizeof date, "%a,%%20%d%%20%b%%20%Y%%20%H:%M:%S%%20GMT", &tm);
    snprintf(path, sizeof path, "/retry?v=%s", date);
    url(f, u, sizeof u, path);
    do_one(f, &r, &x);
    assert_true(x.retry_after_ms >= 115000);
    assert_true(x.retry_after_ms <= 121000);
}

static void test_retry_after_parse(void **state)
{
    (void)state;
    const int64_t now = 1445412480; /* Wed, 21 Oct 2015 07:28:00 GMT */
    assert_int_equal(httpc_parse_retry_after(NULL, now), 0);
    assert_int_equal(httpc_parse_retry_after("", now), 0);
    assert_int_equal(httpc_parse_retry_after("0", now), 0);
    assert_int_equal(httpc_parse_retry_after("120", now), 120000);
    assert_int_equal(httpc_parse_retry_after("  5 \r\n", now), 5000);
    assert_int_equal(httpc_parse_retry_after("1.5", now), 0);
    assert_int_equal(httpc_parse_retry_after("-3", now), 0);
    assert_int_equal(httpc_parse_retry_after("12abc", now), 0);
    assert_int_equal(httpc_parse_retry_after("99999999999999999999999", now),
                     (int64_t)365 * 24 * 3600 * 1000);
    assert_int_equal(httpc_parse_retry_after("Wed, 21 Oct 2015 07:30:00 GMT", now), 120000);
    assert_int_equal(httpc_parse_retry_after("Wed, 21 Oct 2015 07:20:00 GMT", now), 0);
    assert_int_equal(httpc_parse_retry_after("not a date", now), 0);
}

static void test_many_concurrent(void **state)
{
    struct fx *f = *state;
    enum { N = 300 };
    static struct res xs[N];
    static char bodies[N][32];
    char u[128];
    int n = 0;
    url(f, u, sizeof u, "/echo");
    for (int i = 0; i < N; i++) {
        memset(&xs[i], 0, sizeof xs[i]);
        xs[i].f = f;
        xs[i].counter = &n;
        snprintf(bodies[i], sizeof bodies[i], "req-%d", i);
        struct httpc_req r = {.url = u, .body = bodies[i], .body_len = strlen(bodies[i])};
        assert_int_equal(httpc_do(f->hc, &r, on_done, &xs[i], NULL), DP_OK);
    }
    assert_int_equal(httpc_in_flight(f->hc), N);
    fakehttp_run_until(f->base, &n, N);
    for (int i = 0; i < N; i++) {
        assert_int_equal(xs[i].calls, 1);
        assert_int_equal(xs[i].curl_code, 0);
        assert_int_equal(xs[i].status, 200);
        assert_string_equal(xs[i].body, bodies[i]);
    }
    assert_int_equal(f->n_requests, N);
    assert_int_equal(httpc_in_flight(f->hc), 0);
}

static void test_keepalive_reuse(void **state)
{
    struct fx *f = *state;
    char u[128];
    struct res x;
    url(f, u, sizeof u, "/hello");
    struct httpc_req r = {.url = u};
    for (int i = 0; i < 5; i++)
        do_one(f, &r, &x);
    assert_int_equal(f->n_ports, 5);
    for (int i = 1; i < 5; i++)
        assert_int_equal(f->peer_ports[i], f->peer_ports[0]); /* one connection */
}

static void test_cancel(void **state)
{
    struct fx *f = *state;
    char u1[128], u2[128];
    struct res a, b, c;
    int n = 0;
    httpc_handle *ha = NULL, *hc2 = NULL;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    memset(&c, 0, sizeof c);
    a.f = b.f = c.f = f;
    b.counter = &n;
    url(f, u1, sizeof u1, "/hold");
    url(f, u2, sizeof u2, "/hello");
    struct httpc_req ra = {.url = u1};
    struct httpc_req rb = {.url = u2};
    /* a: cancelled straight away; c: cancelled from inside b's done */
    assert_int_equal(httpc_do(f->hc, &ra, on_done, &a, &ha), DP_OK);
    assert_int_equal(httpc_do(f->hc, &ra, on_done, &c, &hc2), DP_OK);
    assert_int_equal(httpc_in_flight(f->hc), 2);
    httpc_cancel(f->hc, ha);
    b.cancel_in_done = hc2;
    assert_int_equal(httpc_do(f->hc, &rb, on_done, &b, NULL), DP_OK);
    fakehttp_run_until(f->base, &n, 1);
    fakehttp_run_for(f->base, 100);
    assert_int_equal(a.calls, 0);
    assert_int_equal(b.calls, 1);
    assert_int_equal(c.calls, 0);
    assert_int_equal(httpc_in_flight(f->hc), 0);
}

static void test_free_with_requests_in_flight(void **state)
{
    struct fx *f = *state;
    char u[128];
    static struct res xs[4];
    url(f, u, sizeof u, "/hold");
    struct httpc_req r = {.url = u};
    for (int i = 0; i < 4; i++) {
        memset(&xs[i], 0, sizeof xs[i]);
        assert_int_equal(httpc_do(f->hc, &r, on_done, &xs[i], NULL), DP_OK);
    }
    fakehttp_run_until(f->base, &f->n_held, 4); /* all four reached the server */
    httpc_free(f->hc);                          /* no callbacks, no leaks (ASan) */
    f->hc = NULL;
    fakehttp_run_for(f->base, 50);
    for (int i = 0; i < 4; i++)
        assert_int_equal(xs[i].calls, 0);
}

static void test_bad_requests(void **state)
{
    struct fx *f = *state;
    struct res x;
    char u[128];
    url(f, u, sizeof u, "/hello");
    const char *crlf[] = {"X-Test: a\r\nX-Evil: b", NULL};
    const char *nocolon[] = {"X-Test", NULL};
    struct httpc_req r1 = {.url = NULL};
    struct httpc_req r2 = {.url = u, .proxy = ""};
    struct httpc_req r3 = {.url = u, .headers = crlf};
    struct httpc_req r4 = {.url = u, .headers = nocolon};
    struct httpc_req r5 = {.url = u, .method = "GE T"};
    struct httpc_req r6 = {.url = u, .body_len = 3};
    const char *semi_junk[] = {"X-Test; junk", NULL};
    struct httpc_req r8 = {.url = u, .headers = semi_junk};
    assert_int_equal(httpc_do(f->hc, &r1, on_done, &x, NULL), DP_EINVAL);
    assert_int_equal(httpc_do(f->hc, &r2, on_done, &x, NULL), DP_EINVAL);
    assert_int_equal(httpc_do(f->hc, &r3, on_done, &x, NULL), DP_EINVAL);
    assert_int_equal(httpc_do(f->hc, &r4, on_done, &x, NULL), DP_EINVAL);
    assert_int_equal(httpc_do(f->hc, &r5, on_done, &x, NULL), DP_EINVAL);
    assert_int_equal(httpc_do(f->hc, &r6, on_done, &x, NULL), DP_EINVAL);
    assert_int_equal(httpc_do(f->hc, &r8, on_done, &x, NULL), DP_EINVAL);
    assert_int_equal(httpc_in_flight(f->hc), 0);

    /* schemes other than http(s) fail through done, from the loop */
    struct httpc_req r7 = {.url = "file:///etc/passwd"};
    do_one(f, &r7, &x);
    assert_int_equal(x.curl_code, CURLE_UNSUPPORTED_PROTOCOL);
}

static void test_proxy_used(void **state)
{
    struct fx *f = *state;
    char proxy[128];
    struct res x;
    snprintf(proxy, sizeof proxy, "http://127.0.0.1:%d", f->port);
    struct httpc_req r = {.url = "http://gateway.invalid/send", .proxy = proxy};
    do_one(f, &r, &x);
    assert_int_equal(x.curl_code, 0);
    assert_int_equal(x.status, 200);
    assert_string_equal(x.body, "proxied:http://gateway.invalid/send");
}

static void test_proxy_never_falls_back(void **state)
{
    struct fx *f = *state;
    char u[128], proxy[128];
    struct res x;
    url(f, u, sizeof u, "/hello");
    snprintf(proxy, sizeof proxy, "http://127.0.0.1:%d", fakehttp_dead_port());
    struct httpc_req r = {.url = u, .proxy = proxy};
    do_one(f, &r, &x);
    assert_int_equal(x.curl_code, CURLE_COULDNT_CONNECT);
    assert_int_equal(f->n_requests, 0);

    /* a no_proxy environment variable must not route around the proxy either */
    setenv("no_proxy", "*", 1);
    setenv("NO_PROXY", "*", 1);
    do_one(f, &r, &x);
    unsetenv("no_proxy");
    unsetenv("NO_PROXY");
    assert_int_not_equal(x.curl_code, 0);
    assert_int_equal(f->n_requests, 0);

    snprintf(proxy, sizeof proxy, "socks5h://127.0.0.1:%d", fakehttp_dead_port());
    do_one(f, &r, &x);
    assert_int_not_equal(x.curl_code, 0);
    assert_int_equal(f->n_requests, 0);
}

static void test_env_proxy_ignored(void **state)
{
    struct fx *f = *state;
    char u[128], dead[128];
    struct res x;
    url(f, u, sizeof u, "/hello");
    snprintf(dead, sizeof dead, "http://127.0.0.1:%d", fakehttp_dead_port());
    setenv("http_proxy", dead, 1);
    setenv("HTTPS_PROXY", dead, 1);
    setenv("ALL_PROXY", dead, 1);
    setenv("all_proxy", dead, 1);
    struct httpc_req r = {.url = u};
    do_one(f, &r, &x);
    unsetenv("http_proxy");
    unsetenv("HTTPS_PROXY");
    unsetenv("ALL_PROXY");
    unsetenv("all_proxy");
    assert_int_equal(x.curl_code, 0);
    assert_int_equal(x.status, 200);
    assert_string_equal(x.body, "hello");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_post_body_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_header_value, setup, teardown),
        cmocka_unit_test_setup_teardown(test_binary_body_and_put, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_post_no_expect_stall, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_passthrough, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_after_header, setup, teardown),
        cmocka_unit_test(test_retry_after_parse),
        cmocka_unit_test_setup_teardown(test_many_concurrent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keepalive_reuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_with_requests_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_proxy_used, setup, teardown),
        cmocka_unit_test_setup_teardown(test_proxy_never_falls_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_proxy_ignored, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
