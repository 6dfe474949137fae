/* The sandbox sender on a real event loop and the engine's timers: outcomes
 * with rates 0 and 1, fail_phones, the order and timing of receipts and
 * replies, config validation, destroy with work pending, and throughput. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <event2/event.h>
#include <jansson.h>

#include "engine/timer.h"
#include "senders/sender.h"
#include "support/sendercheck.h"
#include "util/err.h"

extern const struct sender_vtab sandbox_sender;

#define MAX_EV 64

/* What the engine side saw, in order. */
struct ev {
    char kind; /* 'D' done, 'R' receipt, 'I' inbound */
    int64_t at_us;
    enum send_outcome outcome;
    int sender_fault;
    char code[64];
    char provider_id[128];
    int64_t sender_id;
    enum receipt_status st;
    char from[32];
    char text[64];
};

struct fx {
    struct event_base *base;
    dp_timers *timers;
    struct sender_hooks hooks;
    struct sender_env env;
    sender *s;
    struct ev evs[MAX_EV];
    int n_ev;
    int n_done;
    int64_t t0;
    int destroy_in_done; /* destroy the sender from inside the first done */
};

static void rec_receipt(void *ud, int64_t sender_id, const char *provider_id,
                        enum receipt_status st, const char *code, const char *detail)
{
    struct fx *f = ud;
    (void)code;
    (void)detail;
    assert_true(f->n_ev < MAX_EV);
    struct ev *e = &f->evs[f->n_ev++];
    e->kind = 'R';
    e->at_us = timer_now_us() - f->t0;
    e->sender_id = sender_id;
    e->st = st;
    snprintf(e->provider_id, sizeof e->provider_id, "%s", provider_id);
}

static void rec_inbound(void *ud, int64_t sender_id, const char *from, const char *text,
                        const char *button_id, const char *context_id)
{
    struct fx *f = ud;
    assert_true(f->n_ev < MAX_EV);
    struct ev *e = &f->evs[f->n_ev++];
    e->kind = 'I';
    e->at_us = timer_now_us() - f->t0;
    e->sender_id = sender_id;
    snprintf(e->from, sizeof e->from, "%s", from);
    snprintf(e->text, sizeof e->text, "%s", text);
}

static void rec_done(void *ud, const struct send_result *r)
{
    struct fx *f = ud;
    f->n_done++;
    if (f->n_ev < MAX_EV) {
        struct ev *e = &f->evs[f->n_ev++];
        e->kind = 'D';
        e->at_us = timer_now_us() - f->t0;
        e->outcome = r->outcome;
        e->sender_fault = r->sender_fault;
        snprintf(e->code, sizeof e->code, "%s", r->code);
        snprintf(e->provider_id, sizeof e->provider_id, "%s", r->provider_id);
    }
    if (f->destroy_in_done && f->s) {
        sandbox_sender.destroy(f->s);
        f->s = NULL;
    }
}

/* A done callback that only counts, for the throughput test. */
static void count_done(void *ud, const struct send_result *r)
{
    struct fx *f = ud;
    if (r->outcome == SEND_OK)
        f->n_done++;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->base = event_base_new();
    f->timers = timers_new(f->base);
    assert_non_null(f->timers);
    f->hooks.ud = f;
    f->hooks.receipt = rec_receipt;
    f->hooks.inbound = rec_inbound;
    f->env.base = f->base;
    f->env.timers = f->timers;
    f->env.http = NULL;
    f->env.hooks = &f->hooks;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    sandbox_sender.destroy(f->s);
    timers_free(f->timers);
    event_base_free(f->base);
    free(f);
    return 0;
}

/* Validates cfg_text and builds the sender with id 9. */
static void make(struct fx *f, const char *cfg_text)
{
    dp_err e = {0};
    json_t *cfg = json_loads(cfg_text, 0, NULL);
    assert_non_null(cfg);
    assert_int_equal(sandbox_sender.validate(cfg, &e), DP_OK);
    assert_int_equal(sandbox_sender.create(&f->env, 9, cfg, &f->s, &e), DP_OK);
    json_decref(cfg);
}

static void send1(struct fx *f, int64_t id, int attempt, const char *to)
{
    struct sender_msg m = {.message_id = id,
                           .campaign_id = 3,
                           .to = to,
                           .text = "oi",
                           .idempotency_key = "k",
                           .attempt = attempt};
    assert_int_equal(sandbox_sender.send(f->s, &m, rec_done, f), DP_OK);
}

static void run(struct fx *f)
{
    /* only the timers are registered: dispatch returns once they are all done */
    assert_int_equal(event_base_dispatch(f->base), 1);
}

/* ---- validate ---- */

static void expect_invalid(const char *cfg_text, const char *needle)
{
    sendercheck_invalid(&sandbox_sender, cfg_text, needle);
}

static void test_validate_defaults(void **state)
{
    (void)state;
    dp_err e = {0};
    json_t *cfg = json_object();
    assert_int_equal(sandbox_sender.validate(cfg, &e), DP_OK);
    assert_int_equal(json_integer_value(json_object_get(cfg, "latency_ms")), 0);
    assert_int_equal(json_integer_value(json_object_get(cfg, "delivered_after_ms")), 0);
    assert_int_equal(json_integer_value(json_object_get(cfg, "read_after_ms")), 0);
    assert_true(json_number_value(json_object_get(cfg, "transient_fail_rate")) == 0.0);
    assert_true(json_number_value(json_object_get(cfg, "permanent_fail_rate")) == 0.0);
    assert_true(json_number_value(json_object_get(cfg, "reply_rate")) == 0.0);
    assert_true(json_is_array(json_object_get(cfg, "fail_phones")));
    assert_int_equal(json_array_size(json_object_get(cfg, "fail_phones")), 0);
    assert_string_equal(json_string_value(json_object_get(cfg, "reply_text")), "SAIR");
    json_decref(cfg);

    /* given values stay as they are */
    cfg = json_loads("{\"latency_ms\": 5, \"reply_rate\": 0.5, \"reply_text\": \"PARE\","
                     " \"fail_phones\": [\"5511999990001\"], \"transient_fail_rate\": 1}",
                     0, NULL);
    assert_int_equal(sandbox_sender.validate(cfg, &e), DP_OK);
    assert_int_equal(json_integer_value(json_object_get(cfg, "latency_ms")), 5);
    assert_true(json_number_value(json_object_get(cfg, "reply_rate")) == 0.5);
    assert_string_equal(json_string_value(json_object_get(cfg, "reply_text")), "PARE");
    assert_int_equal(json_array_size(json_object_get(cfg, "fail_phones")), 1);
    json_decref(cfg);

    assert_string_equal(sandbox_sender.provider, "sandbox");
    assert_null(sandbox_sender.secret_fields[0]);
    assert_int_equal(sandbox_sender.max_in_flight(NULL), 0);
}

static void test_validate_errors(void **state)
{
    (void)state;
    expect_invalid("{\"latency\": 5}", "config.latency is not a sandbox setting");
    expect_invalid("{\"latency_ms\": -1}", "config.latency_ms");
    expect_invalid("{\"latency_ms\": \"5\"}", "config.latency_ms");
    expect_invalid("{\"latency_ms\": 1.5}", "config.latency_ms");
    expect_invalid("{\"delivered_after_ms\": null}", "config.delivered_after_ms");
    expect_invalid("{\"read_after_ms\": -10}", "config.read_after_ms");
    expect_invalid("{\"transient_fail_rate\": 1.5}", "config.transient_fail_rate");
    expect_invalid("{\"permanent_fail_rate\": -0.1}", "config.permanent_fail_rate");
    expect_invalid("{\"reply_rate\": \"half\"}", "config.reply_rate");
    expect_invalid("{\"fail_phones\": \"5511\"}", "config.fail_phones");
    expect_invalid("{\"fail_phones\": [\"55119\", \"+5511\"]}", "config.fail_phones[1]");
    expect_invalid("{\"fail_phones\": [5511]}", "config.fail_phones[0]");
    expect_invalid("{\"reply_text\": 5}", "config.reply_text");
    expect_invalid("{\"reply_text\": \"\"}", "config.reply_text");
    expect_invalid("[]", "config must be an object");
}

/* ---- outcomes ---- */

static void test_all_ok(void **state)
{
    struct fx *f = *state;
    make(f, "{}");
    send1(f, 7, 1, "5511999990001");
    send1(f, 8, 2, "5511999990002");
    assert_int_equal(f->n_done, 0); /* latency 0 is still not synchronous */
    run(f);
    assert_int_equal(f->n_done, 2);
    assert_int_equal(f->n_ev, 2); /* no receipts, no replies by default */
    /* both done; the heap fires them in send order */
    assert_int_equal(f->evs[0].outcome, SEND_OK);
    assert_string_equal(f->evs[0].provider_id, "sbx-7-1");
    assert_string_equal(f->evs[0].code, "");
    assert_int_equal(f->evs[1].outcome, SEND_OK);
    assert_string_equal(f->evs[1].provider_id, "sbx-8-2");
}

static void test_transient_rate_1(void **state)
{
    struct fx *f = *state;
    make(f, "{\"transient_fail_rate\": 1, \"delivered_after_ms\": 5, \"reply_rate\": 1}");
    for (int i = 0; i < 20; i++)
        send1(f, i, 1, "5511999990001");
    run(f);
    assert_int_equal(f->n_done, 20);
    assert_int_equal(f->n_ev, 20); /* failures get no receipts or replies */
    for (int i = 0; i < 20; i++) {
        assert_int_equal(f->evs[i].outcome, SEND_TRANSIENT);
        assert_int_equal(f->evs[i].sender_fault, 1);
        assert_string_equal(f->evs[i].code, "sandbox_transient");
        assert_string_equal(f->evs[i].provider_id, "");
    }
}

static void test_permanent_rate_1(void **state)
{
    struct fx *f = *state;
    make(f, "{\"permanent_fail_rate\": 1, \"transient_fail_rate\": 1}");
    for (int i = 0; i < 20; i++)
        send1(f, i, 1, "5511999990001");
    run(f);
    assert_int_equal(f->n_done, 20);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(f->evs[i].outcome, SEND_PERMANENT);
        assert_int_equal(f->evs[i].sender_fault, 0);
        assert_string_equal(f->evs[i].code, "sandbox_rejected");
    }
}

static void test_rates_mix(void **state)
{
    struct fx *f = *state;
    make(f, "{\"transient_fail_rate\": 0.5}");
    int n_ok = 0, n_tr = 0;
    for (int round = 0; round < 20; round++) {
        f->n_ev = 0;
        for (int i = 0; i < 50; i++)
            send1(f, i, 1, "5511999990001");
        run(f);
        for (int i = 0; i < f->n_ev; i++) {
            n_ok += f->evs[i].outcome == SEND_OK;
            n_tr += f->evs[i].outcome == SEND_TRANSIENT;
        }
    }
    assert_int_equal(n_ok + n_tr, 1000);
    assert_true(n_ok > 350 && n_ok < 650); /* ~50% (p of failing here is ~1e-20) */
}

static void test_fail_phones(void **state)
{
    struct fx *f = *state;
    make(f, "{\"fail_phones\": [\"5511999990009\", \"5511000000000\", \"5599\"]}");
    send1(f, 1, 1, "5511999990001");
    send1(f, 2, 1, "5511999990009");
    send1(f, 3, 1, "5599");
    send1(f, 4, 1, "55999");
    run(f);
    assert_int_equal(f->n_done, 4);
    assert_int_equal(f->evs[0].outcome, SEND_OK);
    assert_int_equal(f->evs[1].outcome, SEND_PERMANENT);
    assert_string_equal(f->evs[1].code, "sandbox_rejected");
    assert_int_equal(f->evs[1].sender_fault, 0);
    assert_int_equal(f->evs[2].outcome, SEND_PERMANENT);
    assert_int_equal(f->evs[3].outcome, SEND_OK);
}

/* ---- timing ---- */

static void test_latency_and_receipts_order(void **state)
{
    struct fx *f = *state;
    make(f, "{\"latency_ms\": 20, \"delivered_after_ms\": 30, \"read_after_ms\": 40,"
            " \"reply_rate\": 1, \"reply_text\": \"PARE\"}");
    f->t0 = timer_now_us();
    send1(f, 7, 2, "5511999990001");
    run(f);
    assert_int_equal(f->n_ev, 4);
    assert_int_equal(f->evs[0].kind, 'D');
    assert_int_equal(f->evs[0].outcome, SEND_OK);
    assert_string_equal(f->evs[0].provider_id, "sbx-7-2");
    assert_true(f->evs[0].at_us >= 20000);

    assert_int_equal(f->evs[1].kind, 'R');
    assert_int_equal(f->evs[1].st, RECEIPT_DELIVERED);
    assert_int_equal(f->evs[1].sender_id, 9);
    assert_string_equal(f->evs[1].provider_id, "sbx-7-2");
    assert_true(f->evs[1].at_us >= 50000);

    assert_int_equal(f->evs[2].kind, 'R');
    assert_int_equal(f->evs[2].st, RECEIPT_READ);
    assert_string_equal(f->evs[2].provider_id, "sbx-7-2");
    assert_true(f->evs[2].at_us >= 90000);

    assert_int_equal(f->evs[3].kind, 'I');
    assert_int_equal(f->evs[3].sender_id, 9);
    assert_string_equal(f->evs[3].from, "5511999990001");
    assert_string_equal(f->evs[3].text, "PARE");
    assert_true(f->evs[3].at_us >= f->evs[2].at_us);
    assert_true(f->evs[3].at_us < 1000000);
}

static void test_delivered_only(void **state)
{
    struct fx *f = *state;
    make(f, "{\"delivered_after_ms\": 10}");
    f->t0 = timer_now_us();
    send1(f, 1, 1, "5511999990001");
    run(f);
    assert_int_equal(f->n_ev, 2);
    assert_int_equal(f->evs[0].kind, 'D');
    assert_int_equal(f->evs[1].kind, 'R');
    assert_int_equal(f->evs[1].st, RECEIPT_DELIVERED);
    assert_true(f->evs[1].at_us >= 10000);
}

static void test_reply_without_receipts(void **state)
{
    struct fx *f = *state;
    make(f, "{\"latency_ms\": 10, \"reply_rate\": 1, \"read_after_ms\": 50}");
    f->t0 = timer_now_us();
    send1(f, 1, 1, "5511999990001");
    run(f);
    /* read_after_ms alone means nothing without a delivered receipt */
    assert_int_equal(f->n_ev, 2);
    assert_int_equal(f->evs[0].kind, 'D');
    assert_int_equal(f->evs[1].kind, 'I');
    assert_string_equal(f->evs[1].text, "SAIR");
    assert_true(f->evs[1].at_us >= 10000);
    assert_true(f->evs[1].at_us < 50000);
}

static void test_destroy_with_pending(void **state)
{
    struct fx *f = *state;
    make(f, "{\"delivered_after_ms\": 60000, \"read_after_ms\": 1000, \"reply_rate\": 1}");
    send1(f, 1, 1, "5511999990001");
    send1(f, 2, 1, "5511999990002");
    /* one loop pass: both results come, their receipts are now pending */
    event_base_loop(f->base, EVLOOP_ONCE);
    assert_int_equal(f->n_done, 2);
    assert_int_equal(timers_count(f->timers), 2);
    send1(f, 3, 1, "5511999990003"); /* and one still in flight */
    sandbox_sender.destroy(f->s);    /* frees all three (ASan checks) */
    f->s = NULL;
    assert_int_equal(timers_count(f->timers), 0);
    run(f);
    assert_int_equal(f->n_done, 2);
    assert_int_equal(f->n_ev, 2);
}

static void test_destroy_inside_done(void **state)
{
    struct fx *f = *state;
    make(f, "{\"delivered_after_ms\": 5, \"reply_rate\": 1}");
    f->destroy_in_done = 1;
    for (int i = 0; i < 5; i++)
        send1(f, i, 1, "5511999990001");
    run(f);
    assert_int_equal(f->n_done, 1); /* the rest went with the sender */
    assert_null(f->s);
}

static void test_send_bad_args(void **state)
{
    struct fx *f = *state;
    make(f, "{}");
    struct sender_msg m = {.message_id = 1, .to = NULL, .text = "x", .attempt = 1};
    assert_int_equal(sandbox_sender.send(f->s, &m, rec_done, f), DP_EINVAL);
    m.to = "55";
    assert_int_equal(sandbox_sender.send(f->s, &m, NULL, f), DP_EINVAL);
    dp_err e = {0};
    sender *s2 = NULL;
    struct sender_env bad = f->env;
    bad.timers = NULL;
    json_t *cfg = json_object();
    assert_int_equal(sandbox_sender.create(&bad, 1, cfg, &s2, &e), DP_EINVAL);
    assert_null(s2);
    json_decref(cfg);
}

static void test_throughput(void **state)
{
    struct fx *f = *state;
    enum { N = 200000 };
    make(f, "{}");
    struct sender_msg m = {.message_id = 0,
                           .campaign_id = 1,
                           .to = "5511999990001",
                           .text = "oi",
                           .idempotency_key = "k",
                           .attempt = 1};
    int64_t t0 = timer_now_us();
    for (int i = 0; i < N; i++) {
        m.message_id = i;
        assert_int_equal(sandbox_sender.send(f->s, &m, count_done, f), DP_OK);
    }
    run(f);
    int64_t el = timer_now_us() - t0;
    assert_int_equal(f->n_done, N);
    print_message("sandbox: %d sends in %.1f ms = %.0f sends/s\n", N,
                  (double)el / 1000.0, (double)N * 1e6 / (double)(el ? el : 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validate_defaults),
        cmocka_unit_test(test_validate_errors),
        cmocka_unit_test_setup_teardown(test_all_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transient_rate_1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_permanent_rate_1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rates_mix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fail_phones, setup, teardown),
        cmocka_unit_test_setup_teardown(test_latency_and_receipts_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delivered_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply_without_receipts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_with_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_inside_done, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_bad_args, setup, teardown),
        cmocka_unit_test_setup_teardown(test_throughput, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
