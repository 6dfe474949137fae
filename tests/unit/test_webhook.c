/* The webhook sender against an evhttp receiver in the same loop: the JSON and
 * headers it POSTs, how every kind of answer (or silence) is classified, and
 * config validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>

#include "engine/timer.h"
#include "senders/sender.h"
#include "support/fakehttp.h"
#include "support/sendercheck.h"
#include "util/err.h"
#include "util/httpc.h"

extern const struct sender_vtab webhook_sender;

struct fx {
    struct event_base *base;
    struct evhttp *http;
    struct sender_hooks hooks;
    struct sender_env env;
    sender *s;
    int port;
    /* how the receiver answers */
    int status; /* 0 = never answer */
    const char *reply;
    const char *retry_after;
    /* what it got */
    int n_requests;
    int method_post;
    char uri[256];
    char body[4096];
    char content_type[128];
    char idem[128];
    char token[128];
    char empty_hdr[8];
    int has_empty_hdr;
    /* what the sender reported */
    int n_done;
    struct send_result last;
    int destroy_in_done;
};

static void on_request(struct evhttp_request *req, void *arg)
{
    struct fx *f = arg;
    f->n_requests++;
    f->method_post = evhttp_request_get_command(req) == EVHTTP_REQ_POST;
    snprintf(f->uri, sizeof f->uri, "%s", evhttp_request_get_uri(req));
    fakehttp_body(req, f->body, sizeof f->body);
    fakehttp_header(req, "Content-Type", f->content_type, sizeof f->content_type);
    fakehttp_header(req, "Idempotency-Key", f->idem, sizeof f->idem);
    fakehttp_header(req, "X-Token", f->token, sizeof f->token);
    f->has_empty_hdr = fakehttp_header(req, "X-Empty", f->empty_hdr, sizeof f->empty_hdr);
    if (f->status == 0)
        return; /* silence: the client times out; evhttp_free reclaims it */
    fakehttp_reply(req, f->status, NULL, f->reply, f->retry_after);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->base = event_base_new();
    f->http = fakehttp_listen(f->base, on_request, f, 0, &f->port);
    fakehttp_env(&f->env, f->base, &f->hooks);
    f->status = 200;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    webhook_sender.destroy(f->s);
    fakehttp_env_free(&f->env);
    evhttp_free(f->http);
    event_base_free(f->base);
    free(f);
    return 0;
}

static void on_done(void *ud, const struct send_result *r)
{
    struct fx *f = ud;
    f->n_done++;
    f->last = *r;
    if (f->destroy_in_done && f->s) {
        webhook_sender.destroy(f->s);
        f->s = NULL;
    }
}

/* Builds the sender from extra config fields ("" for none) aimed at path on
 * our receiver. */
static void make(struct fx *f, const char *path, const char *extra)
{
    char text[1024];
    dp_err e = {0};
    snprintf(text, sizeof text, "{\"url\": \"http://127.0.0.1:%d%s\"%s%s}", f->port, path,
             *extra ? ", " : "", extra);
    json_t *cfg = json_loads(text, 0, NULL);
    assert_non_null(cfg);
    assert_int_equal(webhook_sender.validate(cfg, &e), DP_OK);
    assert_int_equal(webhook_sender.create(&f->env, 4, cfg, &f->s, &e), DP_OK);
    json_decref(cfg);
}

static void send_one(struct fx *f)
{
    struct sender_msg m = {.message_id = 7,
                           .campaign_id = 3,
                           .to = "5511999990001",
                           .text = "Olá, \"Ana\"\n",
                           .idempotency_key = "c3-m7",
                           .attempt = 1};
    sendercheck_send(f->base, &webhook_sender, f->s, &m, on_done, f, &f->n_done);
}

/* ---- the request ---- */

static void test_request_shape(void **state)
{
    struct fx *f = *state;
    make(f, "/hook?x=1", "\"headers\": {\"X-Token\": \"s3cret\", \"X-Empty\": \"\"}");
    f->reply = "{\"id\": \"gw-123\"}";
    send_one(f);
    assert_int_equal(f->n_requests, 1);
    assert_true(f->method_post);
    assert_string_equal(f->uri, "/hook?x=1");
    assert_string_equal(f->content_type, "application/json");
    assert_string_equal(f->idem, "c3-m7");
    assert_string_equal(f->token, "s3cret");
    assert_true(f->has_empty_hdr);
    assert_string_equal(f->empty_hdr, "");

    json_error_t je;
    json_t *b = json_loads(f->body, 0, &je);
    assert_non_null(b);
    assert_int_equal(json_object_size(b), 5);
    assert_int_equal(json_integer_value(json_object_get(b, "message_id")), 7);
    assert_int_equal(json_integer_value(json_object_get(b, "campaign_id")), 3);
    assert_string_equal(json_string_value(json_object_get(b, "to")), "5511999990001");
    assert_string_equal(json_string_value(json_object_get(b, "text")), "Olá, \"Ana\"\n");
    assert_string_equal(json_string_value(json_object_get(b, "idempotency_key")), "c3-m7");
    json_decref(b);

    assert_int_equal(f->last.outcome, SEND_OK);
    assert_string_equal(f->last.provider_id, "gw-123");
    assert_string_equal(f->last.code, "");
}

/* ---- classification ---- */

static void test_200_ids(void **state)
{
    struct fx *f = *state;
    make(f, "/", "");
    f->reply = "{\"id\": 42}";
    send_one(f);
    assert_int_equal(f->last.outcome, SEND_OK);
    assert_string_equal(f->last.provider_id, "42");

    f->reply = "{\"ok\": true}";
    send_one(f);
    assert_int_equal(f->last.outcome, SEND_OK);
    assert_string_equal(f->last.provider_id, "");

    f->reply = "accepted, thanks";
    send_one(f);
    assert_int_equal(f->last.outcome, SEND_OK);
    assert_string_equal(f->last.provider_id, "");

    f->reply = NULL;
    f->status = 204;
    send_one(f);
    assert_int_equal(f->last.outcome, SEND_OK);
    assert_string_equal(f->last.provider_id, "");

    f->status = 202;
    f->reply = "{\"id\": [1]}";
    send_one(f);
    assert_int_equal(f->last.outcome, SEND_OK);
    assert_string_equal(f->last.provider_id, "");
}

static void test_400(void **state)
{
    struct fx *f = *state;
    make(f, "/", "");
    f->status = 400;
    f->reply = "invalid phone";
    send_one(f);
    assert_int_equal(f->last.outcome, SEND_PERMANENT);
    assert_int_equal(f->last.sender_fault, 0);
    assert_string_equal(f->last.code, "http_400");
    assert_string_equal(f->last.detail, "invalid phone");

    /* the detail keeps only the first 200 bytes */
    static char big[1000];
    memset(big, 'x', sizeof big - 1);
    f->reply = big;
    f->status = 422;
    send_one(f);
    assert_string_equal(f->last.code, "http_422");
    assert_int_equal(strlen(f->last.detail), 200);
}

static void test_401_403(void **state)
{
    struct fx *f = *state;
    make(f, "/", "");
    f->status = 401;
    f->reply = "bad token";
    send_one(f);
    assert_int_equal(f->last.outcome, SEND_PERMANENT);
    assert_int_equal(f->last.sender_fault, 1);
    assert_string_equal(f->last.code, "http_401");
    f->status = 403;
    send_one(f);
    assert_int_equal(f->last.outcome, SEND_PERMANENT);
    assert_int_equal(f->last.sender_fault, 1);
    assert_string_equal(f->last.code, "http_403");
}

static void test_429_retry_after(void **state)
{
    struct fx *f = *state;
    make(f, "/", "");
    f->status = 429;
    f->reply = "slow down";
    f->retry_after = "3";
    send_one(f);
    assert_int_equal(f->last.outcome, SEND_TRANSIENT);
    assert_int_equal(f->last.sender_fault, 1);
    assert_int_equal(f->last.retry_after_ms, 3000);
    assert_string_equal(f->last.code, "http_429");
    assert_string_equal(f->last.detail, "slow down");
}

static void test_503(void **state)
{
    struct fx *f = *state;
    make(f, "/", "");
    f->status = 503;
    send_one(f);
    assert_int_equal(f->last.outcome, SEND_TRANSIENT);
    assert_int_equal(f->last.sender_fault, 1);
    assert_int_equal(f->last.retry_after_ms, 0);
    assert_string_equal(f->last.code, "http_503");
    f->status = 500;
    f->retry_after = "120";
    send_one(f);
    assert_int_equal(f->last.outcome, SEND_TRANSIENT);
    assert_int_equal(f->last.retry_after_ms, 120000);
}

static void test_timeout(void **state)
{
    struct fx *f = *state;
    make(f, "/", "\"timeout_ms\": 200");
    f->status = 0;
    int64_t t0 = timer_now_us();
    send_one(f);
    assert_true(timer_now_us() - t0 >= 180000);
    assert_int_equal(f->last.outcome, SEND_TRANSIENT);
    assert_int_equal(f->last.sender_fault, 1);
    assert_string_equal(f->last.code, "timeout");
    assert_true(f->last.detail[0] != '\0');
}

static void test_connection_refused(void **state)
{
    struct fx *f = *state;
    f->port = fakehttp_dead_port(); /* make() aims at it */
    make(f, "/", "");
    send_one(f);
    assert_int_equal(f->last.outcome, SEND_TRANSIENT);
    assert_int_equal(f->last.sender_fault, 1);
    assert_string_equal(f->last.code, "connect_error");
    assert_true(f->last.detail[0] != '\0');
}

static void test_redirect_not_followed(void **state)
{
    struct fx *f = *state;
    make(f, "/", "");
    f->status = 302;
    send_one(f);
    assert_int_equal(f->n_requests, 1);
    assert_int_equal(f->last.outcome, SEND_PERMANENT);
    assert_int_equal(f->last.sender_fault, 1);
    assert_string_equal(f->last.code, "http_302");
}

static void test_huge_reply(void **state)
{
    struct fx *f = *state;
    make(f, "/", "");
    size_t n = 200 * 1024;
    char *big = malloc(n + 1);
    memset(big, ' ', n);
    big[n] = '\0';
    f->reply = big;
    send_one(f); /* accepted even though the reply is over the cap */
    assert_int_equal(f->last.outcome, SEND_OK);
    assert_string_equal(f->last.provider_id, "");
    f->status = 400;
    send_one(f);
    assert_int_equal(f->last.outcome, SEND_PERMANENT);
    assert_string_equal(f->last.code, "http_400");
    free(big);
}

static void test_detail_is_valid_utf8(void **state)
{
    struct fx *f = *state;
    make(f, "/", "");
    /* 199 ASCII bytes then "é": the 2-byte sequence would straddle byte 200 */
    static char r[256];
    memset(r, 'a', 199);
    memcpy(r + 199, "\xc3\xa9tail\x01", 7);
    f->status = 400;
    f->reply = r;
    send_one(f);
    assert_int_equal(strlen(f->last.detail), 199);
    f->reply = "bad \xff byte\nnext";
    send_one(f);
    assert_string_equal(f->last.detail, "bad ? byte next");
    json_t *j = json_string(f->last.detail);
    assert_non_null(j);
    json_decref(j);
}

/* ---- lifecycle ---- */

static void test_destroy_in_flight(void **state)
{
    struct fx *f = *state;
    make(f, "/", "");
    f->status = 0; /* hold every request */
    struct sender_msg m = {.message_id = 1,
                           .campaign_id = 1,
                           .to = "55",
                           .text = "x",
                           .idempotency_key = "k1",
                           .attempt = 1};
    for (int i = 0; i < 3; i++)
        assert_int_equal(webhook_sender.send(f->s, &m, on_done, f), DP_OK);
    assert_int_equal(httpc_in_flight(f->env.http), 3);
    fakehttp_run_for(f->base, 100);
    webhook_sender.destroy(f->s);
    f->s = NULL;
    assert_int_equal(httpc_in_flight(f->env.http), 0);
    fakehttp_run_for(f->base, 50);
    assert_int_equal(f->n_done, 0);
}

static void test_destroy_inside_done(void **state)
{
    struct fx *f = *state;
    make(f, "/", "");
    f->destroy_in_done = 1;
    struct sender_msg m = {.message_id = 1,
                           .campaign_id = 1,
                           .to = "55",
                           .text = "x",
                           .idempotency_key = "k1",
                           .attempt = 1};
    for (int i = 0; i < 4; i++)
        assert_int_equal(webhook_sender.send(f->s, &m, on_done, f), DP_OK);
    fakehttp_run_until(f->base, &f->n_done, 1);
    fakehttp_run_for(f->base, 100);
    assert_int_equal(f->n_done, 1);
    assert_int_equal(httpc_in_flight(f->env.http), 0);
}

static void test_send_rejects(void **state)
{
    struct fx *f = *state;
    make(f, "/", "");
    struct sender_msg m = {.message_id = 1,
                           .campaign_id = 1,
                           .to = "55",
                           .text = "x",
                           .idempotency_key = "bad\r\nX-Evil: 1",
                           .attempt = 1};
    assert_int_equal(webhook_sender.send(f->s, &m, on_done, f), DP_EINVAL);
    m.idempotency_key = "ok";
    m.text = "\xff\xfe";
    assert_int_equal(webhook_sender.send(f->s, &m, on_done, f), DP_EINVAL);
    assert_int_equal(httpc_in_flight(f->env.http), 0);
    assert_int_equal(f->n_done, 0);
}

/* ---- validate ---- */

static void expect_invalid(const char *cfg_text, const char *needle)
{
    sendercheck_invalid(&webhook_sender, cfg_text, needle);
}

static void test_validate(void **state)
{
    (void)state;
    expect_invalid("{}", "config.url is required");
    expect_invalid("{\"url\": 5}", "config.url");
    expect_invalid("{\"url\": \"ftp://x/y\"}", "config.url");
    expect_invalid("{\"url\": \"example.com/hook\"}", "config.url");
    expect_invalid("{\"url\": \"http://\"}", "config.url");
    expect_invalid("{\"url\": \"http://a b/\"}", "config.url");
    const char *u = "\"url\": \"https://example.com/hook\"";
    char t[512];
#define BAD(extra, needle)                                                                         \
    do {                                                                                           \
        snprintf(t, sizeof t, "{%s, %s}", u, extra);                                               \
        expect_invalid(t, needle);                                                                 \
    } while (0)
    BAD("\"headers\": [\"a\"]", "config.headers");
    BAD("\"headers\": {\"X-A\": 1}", "config.headers.X-A");
    BAD("\"headers\": {\"X-A\": \"a\\r\\nX-B: b\"}", "config.headers.X-A");
    BAD("\"headers\": {\"Bad Name\": \"v\"}", "config.headers");
    BAD("\"headers\": {\"content-type\": \"text/plain\"}", "config.headers.content-type");
    BAD("\"timeout_ms\": 0", "config.timeout_ms");
    BAD("\"timeout_ms\": 600001", "config.timeout_ms");
    BAD("\"timeout_ms\": \"10\"", "config.timeout_ms");
    BAD("\"max_in_flight\": 0", "config.max_in_flight");
    BAD("\"max_in_flight\": 1025", "config.max_in_flight");
    BAD("\"max_in_flight\": 2.5", "config.max_in_flight");
    BAD("\"secret\": \"x\"", "config.secret is not a webhook setting");
#undef BAD

    dp_err e = {0};
    json_t *cfg = json_loads("{\"url\": \"HTTPS://example.com/hook\"}", 0, NULL);
    assert_int_equal(webhook_sender.validate(cfg, &e), DP_OK);
    assert_int_equal(json_integer_value(json_object_get(cfg, "timeout_ms")), 10000);
    assert_int_equal(json_integer_value(json_object_get(cfg, "max_in_flight")), 16);
    assert_true(json_is_object(json_object_get(cfg, "headers")));
    assert_int_equal(json_object_size(json_object_get(cfg, "headers")), 0);
    json_decref(cfg);

    assert_string_equal(webhook_sender.provider, "webhook");
    assert_string_equal(webhook_sender.secret_fields[0], "headers");
    assert_null(webhook_sender.secret_fields[1]);
}

static void test_max_in_flight(void **state)
{
    struct fx *f = *state;
    make(f, "/", "\"max_in_flight\": 3");
    assert_int_equal(webhook_sender.max_in_flight(f->s), 3);
    webhook_sender.destroy(f->s);
    f->s = NULL;
    make(f, "/", "");
    assert_int_equal(webhook_sender.max_in_flight(f->s), 16);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_request_shape, setup, teardown),
        cmocka_unit_test_setup_teardown(test_200_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_400, setup, teardown),
        cmocka_unit_test_setup_teardown(test_401_403, setup, teardown),
        cmocka_unit_test_setup_teardown(test_429_retry_after, setup, teardown),
        cmocka_unit_test_setup_teardown(test_503, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redirect_not_followed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_huge_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_detail_is_valid_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_inside_done, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_rejects, setup, teardown),
        cmocka_unit_test(test_validate),
        cmocka_unit_test_setup_teardown(test_max_in_flight, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
