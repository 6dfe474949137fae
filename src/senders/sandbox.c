/* The sandbox sender: an in-process gateway simulator for tests, demos and
 * benchmarks. Each send becomes one small allocation holding a dp_timer on the
 * engine's heap; the same record then walks through the later phases
 * (delivered receipt, read receipt, reply) and is freed after the last one.
 * Outcomes come from a private xoshiro256** generator seeded from getrandom(). */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "engine/timer.h"
#include "senders/common.h"
#include "senders/sender.h"
#include "util/err.h"
#include "util/log.h"

#define DELAY_MAX_MS 86400000LL /* a day: keeps delay * 1000 far from overflow */
#define FAIL_PHONES_MAX 100000
#define PHONE_DIGITS_MAX 20
#define REPLY_TEXT_MAX 4096

enum phase { PH_RESULT, PH_DELIVERED, PH_READ, PH_REPLY, PH_NONE };

/* One simulated message, from send() until its last receipt or reply. */
struct pending {
    dp_timer t;
    sender *s;
    struct sc_node node; /* on s->head, so destroy can free it */
    sender_done_fn done; /* only until the result phase */
    void *ud;
    int64_t message_id;
    int attempt;
    unsigned char phase;
    unsigned char reply; /* drawn at success: the contact will answer */
    char to[];           /* owned copy of the recipient */
};

struct sender {
    struct sender_env env; /* copied; the pointers inside are borrowed */
    int64_t id;
    int64_t latency_us, delivered_us, read_us;
    double transient_rate, permanent_rate, reply_rate;
    char **fail_phones; /* owned, sorted for bsearch */
    size_t n_fail;
    char *reply_text; /* owned */
    uint64_t rng[4];
    struct sc_node *head; /* the pendings */
};

/* ---- PRNG: xoshiro256** (Blackman & Vigna), seeded through sb_splitmix64 ---- */

static uint64_t sb_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t sb_rng_next(uint64_t s[4])
{
    uint64_t r = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
}

/* Uniform in [0, 1), so a rate of 1 always hits and a rate of 0 never does. */
static double sb_rng_unit(uint64_t s[4])
{
    return (double)(sb_rng_next(s) >> 11) * 0x1.0p-53;
}

static void sb_rng_seed(uint64_t s[4], const void *salt)
{
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed) {
        /* Early boot or seccomp: the simulator does not need crypto quality. */
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)(uintptr_t)salt;
    }
    for (int i = 0; i < 4; i++)
        s[i] = sb_splitmix64(&seed);
}

/* ---- config ---- */

static const char *const known_keys[] = {
    "latency_ms",  "transient_fail_rate", "permanent_fail_rate",
    "fail_phones", "delivered_after_ms",  "read_after_ms",
    "reply_rate",  "reply_text",          NULL,
};

static const char *const delay_keys[] = {"latency_ms", "delivered_after_ms", "read_after_ms", NULL};
static const char *const rate_keys[] = {"transient_fail_rate", "permanent_fail_rate", "reply_rate",
                                        NULL};

static int sb_validate(json_t *config, dp_err *e)
{
    json_t *v;
    int rc;

    rc = sc_check_keys(config, known_keys, "a sandbox", e);
    if (rc)
        return rc;
    for (size_t i = 0; delay_keys[i]; i++) {
        v = json_object_get(config, delay_keys[i]);
        if (v && (!json_is_integer(v) || json_integer_value(v) < 0 ||
                  json_integer_value(v) > DELAY_MAX_MS))
            return dp_err_set(e, DP_EINVAL, "config.%s must be an integer between 0 and %lld",
                              delay_keys[i], DELAY_MAX_MS);
    }
    for (size_t i = 0; rate_keys[i]; i++) {
        v = json_object_get(config, rate_keys[i]);
        if (v &&
            (!json_is_number(v) || !(json_number_value(v) >= 0.0) || json_number_value(v) > 1.0))
            return dp_err_set(e, DP_EINVAL, "config.%s must be a number between 0 and 1",
                              rate_keys[i]);
    }
    v = json_object_get(config, "fail_phones");
    if (v) {
        if (!json_is_array(v))
            return dp_err_set(e, DP_EINVAL, "config.fail_phones must be an array of phones");
        if (json_array_size(v) > FAIL_PHONES_MAX)
            return dp_err_set(e, DP_EINVAL, "config.fail_phones holds more than %d phones",
                              FAIL_PHONES_MAX);
        size_t i;
        json_t *p;
        json_array_foreach(v, i, p)
        {
            if (!json_is_string(p) || !sc_digits_ok(json_string_value(p), PHONE_DIGITS_MAX))
                return dp_err_set(e, DP_EINVAL,
                                  "config.fail_phones[%zu] must be a string of 1 to %d digits", i,
                                  PHONE_DIGITS_MAX);
        }
    }
    v = json_object_get(config, "reply_text");
    if (v && (!json_is_string(v) || json_string_length(v) == 0 ||
              json_string_length(v) > REPLY_TEXT_MAX))
        return dp_err_set(e, DP_EINVAL, "config.reply_text must be a string of 1 to %d bytes",
                          REPLY_TEXT_MAX);

    for (size_t i = 0; delay_keys[i]; i++) {
        rc = sc_set_default(config, delay_keys[i], json_integer(0), e);
        if (rc)
            return rc;
    }
    for (size_t i = 0; rate_keys[i]; i++) {
        rc = sc_set_default(config, rate_keys[i], json_integer(0), e);
        if (rc)
            return rc;
    }
    rc = sc_set_default(config, "fail_phones", json_array(), e);
    if (rc)
        return rc;
    return sc_set_default(config, "reply_text", json_string("SAIR"), e);
}

static int64_t get_delay_us(const json_t *config, const char *key)
{
    json_int_t ms = sc_jint(config, key, 0);
    if (ms < 0 || ms > DELAY_MAX_MS)
        ms = 0;
    return (int64_t)ms * 1000;
}

static double get_rate(const json_t *config, const char *key)
{
    const json_t *v = json_object_get(config, key);
    double r = json_is_number(v) ? json_number_value(v) : 0.0;
    return r >= 0.0 && r <= 1.0 ? r : 0.0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- lifecycle ---- */

static void sb_destroy(sender *s)
{
    if (!s)
        return;
    while (s->head) {
        struct pending *p = SC_OWNER(s->head, struct pending, node);
        sc_list_unlink(&s->head, &p->node);
        timer_cancel(s->env.timers, &p->t);
        free(p);
    }
    for (size_t i = 0; i < s->n_fail; i++)
        free(s->fail_phones[i]);
    free(s->fail_phones);
    free(s->reply_text);
    free(s);
}

/* Builds an instance; config is borrowed and assumed validated (missing keys
 * take their defaults). On success *out is owned by the caller (sb_destroy). */
static int sb_create(const struct sender_env *env, int64_t id, const json_t *config, sender **out,
                     dp_err *e)
{
    int rc = DP_ENOMEM;
    sender *s = NULL;

    if (!env || !env->timers || !out) {
        rc = dp_err_set(e, DP_EINVAL, "sandbox sender needs the engine timers");
        goto out;
    }
    s = calloc(1, sizeof *s);
    if (!s)
        goto out;
    s->env = *env;
    s->id = id;
    s->latency_us = get_delay_us(config, "latency_ms");
    s->delivered_us = get_delay_us(config, "delivered_after_ms");
    s->read_us = get_delay_us(config, "read_after_ms");
    s->transient_rate = get_rate(config, "transient_fail_rate");
    s->permanent_rate = get_rate(config, "permanent_fail_rate");
    s->reply_rate = get_rate(config, "reply_rate");

    const json_t *rt = json_object_get(config, "reply_text");
    s->reply_text = strdup(json_is_string(rt) ? json_string_value(rt) : "SAIR");
    if (!s->reply_text)
        goto out;

    const json_t *fp = json_object_get(config, "fail_phones");
    size_t n = json_is_array(fp) ? json_array_size(fp) : 0;
    if (n > 0) {
        s->fail_phones = calloc(n, sizeof *s->fail_phones);
        if (!s->fail_phones)
            goto out;
        for (size_t i = 0; i < n; i++) {
            const json_t *p = json_array_get(fp, i);
            if (!json_is_string(p))
                continue;
            s->fail_phones[s->n_fail] = strdup(json_string_value(p));
            if (!s->fail_phones[s->n_fail])
                goto out;
            s->n_fail++;
        }
        qsort(s->fail_phones, s->n_fail, sizeof *s->fail_phones, cmp_str);
    }
    sb_rng_seed(s->rng, s);
    *out = s;
    s = NULL;
    rc = DP_OK;
out:
    if (rc == DP_ENOMEM)
        dp_err_set(e, rc, "out of memory creating the sandbox sender");
    sb_destroy(s);
    return rc;
}

static int sb_max_in_flight(const sender *s)
{
    (void)s;
    return 0;
}

/* ---- the simulated gateway ---- */

/* The phase after `from` for a successful message, or PH_NONE; *delay_us gets
 * how long after `from` it happens. The reply follows the last receipt so a
 * contact never answers before having read the message. */
static enum phase next_phase(const sender *s, const struct pending *p, enum phase from,
                             int64_t *delay_us)
{
    const struct sender_hooks *hk = s->env.hooks;
    int receipts = hk && hk->receipt && s->delivered_us > 0;
    int reply = hk && hk->inbound && p->reply;
    *delay_us = 0;
    if (from == PH_RESULT && receipts) {
        *delay_us = s->delivered_us;
        return PH_DELIVERED;
    }
    if (from == PH_DELIVERED && s->read_us > 0) {
        *delay_us = s->read_us;
        return PH_READ;
    }
    /* Delay 0: the reply comes on the next loop turn, never in the same
     * callback as the result or receipt before it. */
    if (from != PH_REPLY && reply)
        return PH_REPLY;
    return PH_NONE;
}

/* Moves p to its next phase, or frees it. Returns 1 if p lives on (still
 * linked and armed), 0 if it was unlinked: the caller frees it after the hook. */
static int advance(sender *s, struct pending *p, enum phase from)
{
    int64_t delay;
    enum phase nx = next_phase(s, p, from, &delay);
    if (nx != PH_NONE) {
        p->phase = (unsigned char)nx;
        if (timer_arm_in(s->env.timers, &p->t, delay) == DP_OK)
            return 1;
        log_warn("sandbox: cannot schedule a receipt", "sender=%lld message=%lld", (long long)s->id,
                 (long long)p->message_id);
    }
    sc_list_unlink(&s->head, &p->node);
    return 0;
}

static int is_fail_phone(const sender *s, const char *to)
{
    if (s->n_fail == 0)
        return 0;
    return bsearch(&to, s->fail_phones, s->n_fail, sizeof *s->fail_phones, cmp_str) != NULL;
}

/* Every hook is the last thing a firing does, and touches p only if p was
 * unlinked first: a hook may destroy the sender, which frees linked records. */
static void on_fire(dp_timer *t, void *ud)
{
    struct pending *p = ud;
    sender *s = p->s;
    const struct sender_hooks *hk = s->env.hooks;
    char pid[64];
    (void)t;

    snprintf(pid, sizeof pid, "sbx-%lld-%d", (long long)p->message_id, p->attempt);
    switch ((enum phase)p->phase) {
    case PH_RESULT: {
        struct send_result r;
        memset(&r, 0, sizeof r);
        double u = sb_rng_unit(s->rng);
        if (is_fail_phone(s, p->to)) {
            r.outcome = SEND_PERMANENT;
            snprintf(r.code, sizeof r.code, "sandbox_rejected");
            snprintf(r.detail, sizeof r.detail, "phone is in the sandbox's fail_phones");
        } else if (u < s->permanent_rate) {
            r.outcome = SEND_PERMANENT;
            snprintf(r.code, sizeof r.code, "sandbox_rejected");
            snprintf(r.detail, sizeof r.detail, "simulated permanent failure");
        } else if (u < s->permanent_rate + s->transient_rate) {
            r.outcome = SEND_TRANSIENT;
            r.sender_fault = 1;
            snprintf(r.code, sizeof r.code, "sandbox_transient");
            snprintf(r.detail, sizeof r.detail, "simulated transient failure");
        } else {
            r.outcome = SEND_OK;
            memcpy(r.provider_id, pid, sizeof pid);
            p->reply = s->reply_rate > 0 && sb_rng_unit(s->rng) < s->reply_rate;
        }
        sender_done_fn done = p->done;
        void *dud = p->ud;
        p->done = NULL;
        int alive = 0;
        if (r.outcome == SEND_OK)
            alive = advance(s, p, PH_RESULT);
        else
            sc_list_unlink(&s->head, &p->node);
        done(dud, &r);
        if (!alive)
            free(p);
        break;
    }
    case PH_DELIVERED:
    case PH_READ: {
        enum receipt_status st = p->phase == PH_DELIVERED ? RECEIPT_DELIVERED : RECEIPT_READ;
        int64_t sid = s->id;
        int alive = advance(s, p, (enum phase)p->phase);
        hk->receipt(hk->ud, sid, pid, st, NULL, NULL);
        if (!alive)
            free(p);
        break;
    }
    case PH_REPLY:
        sc_list_unlink(&s->head, &p->node);
        /* the reply quotes the message it answers, as WhatsApp clients do */
        hk->inbound(hk->ud, s->id, p->to, s->reply_text, NULL, pid);
        free(p);
        break;
    default:
        sc_list_unlink(&s->head, &p->node);
        free(p);
        break;
    }
}

/* One allocation per send (the record, with the recipient inline); it is
 * owned by the sender until its last phase, or freed by sb_destroy. */
static int sb_send(sender *s, const struct sender_msg *m, sender_done_fn done, void *ud)
{
    if (!s || !m || !m->to || !done)
        return DP_EINVAL;
    size_t tl = strlen(m->to);
    struct pending *p = malloc(sizeof *p + tl + 1);
    if (!p)
        return DP_ENOMEM;
    timer_init(&p->t, on_fire, p);
    p->s = s;
    p->done = done;
    p->ud = ud;
    p->message_id = m->message_id;
    p->attempt = m->attempt;
    p->phase = PH_RESULT;
    p->reply = 0;
    memcpy(p->to, m->to, tl + 1);
    /* Even latency 0 fires on a later loop turn: the timer heap never runs
     * a callback from inside timer_arm. */
    if (timer_arm_in(s->env.timers, &p->t, s->latency_us) != DP_OK) {
        free(p);
        return DP_ENOMEM;
    }
    sc_list_push(&s->head, &p->node);
    return DP_OK;
}

static const char *const no_secrets[] = {NULL};

const struct sender_vtab sandbox_sender = {
    .provider = "sandbox",
    .validate = sb_validate,
    .secret_fields = no_secrets,
    .create = sb_create,
    .destroy = sb_destroy,
    .send = sb_send,
    .max_in_flight = sb_max_in_flight,
};
