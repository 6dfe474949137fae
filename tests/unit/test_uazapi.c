/* The UAZAPI sender against a fake uazapiGO server (evhttp, same loop). The
 * fake checks every request against the gateway's OpenAPI description (path,
 * method, `token` header, JSON property names, types, enums and required
 * fields) and answers 400 otherwise; it can also play a disconnected phone,
 * a bad token, 429, 500, a slow or silent server and a dropped connection.
 * Then webhooks (secret, receipts, replies) and health. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "engine/timer.h"
#include "senders/sender.h"
#include "support/fakehttp.h"
#include "support/sendercheck.h"
#include "util/buf.h"
#include "util/crypto.h"
#include "util/err.h"
#include "util/httpc.h"

extern const struct sender_vtab uazapi_sender;

#define TOKEN "tok-4a9e-77c1"
#define SECRET "w3bh00k-s3cret-0123456789"
#define PHONE "5511999990001"

enum inject {
    INJ_NONE,
    INJ_NOT_CONNECTED, /* 500 "WhatsApp client is not connected" */
    INJ_NO_SESSION,    /* 401 "No session" */
    INJ_429,
    INJ_500,
    INJ_400,
    INJ_413,
    INJ_NOT_ON_WA,
    INJ_SILENT, /* takes the message, never answers */
    INJ_DROP,   /* takes the message, closes the connection */
};

struct rec {
    char method[8];
    char path[64];
    char token[64];
    int proxied;
    json_t *body; /* owned */
};

#define RECS_MAX 16
#define STORE_MAX 64

struct fx {
    struct event_base *base;
    struct evhttp *http;
    struct sender_hooks hooks;
    struct sender_env env;
    sender *s;
    int port;
    /* how the fake answers */
    enum inject inj;
    const char *inj_path; /* NULL = every path */
    int latency_ms;
    const char *status_word;
    int in_whatsapp;
    /* what it got */
    int n_requests, n_bad;
    char bad_why[256];
    struct rec recs[RECS_MAX];
    /* the gateway's message store: what went out, by track_id */
    int n_stored;
    int find_ignores_source; /* a server that filters by track_id only */
    char stored_track[STORE_MAX][64];
    char stored_source[STORE_MAX][32];
    char stored_id[STORE_MAX][32];
    /* what the sender reported */
    int n_done;
    struct send_result last;
    int n_health;
    struct sender_health health;
    int n_receipts;
    struct {
        char id[64];
        enum receipt_status st;
        char code[64];
    } receipts[16];
    int n_inbound;
    struct {
        char from[32], text[256], button[64], context[64];
        int has_button, has_context;
    } inbound[8];
    int destroy_in_done;
};

/* ---- the fake gateway: the spec's request schemas ---- */

struct prop {
    const char *name;
    char type; /* 's' string, 'i' integer, 'b' boolean, 'A' array of strings */
    int required;
    const char *const *oneof;
};

static const char *const media_types[] = {"image",   "video", "document", "audio",
                                          "myaudio", "ptt",   "sticker",  NULL};
static const char *const menu_types[] = {"button", "list", "poll", "carousel", NULL};

#define SEND_COMMON                                                                                \
    {"replyid", 's', 0, NULL}, {"mentions", 's', 0, NULL}, {"readchat", 'b', 0, NULL},             \
        {"readmessages", 'b', 0, NULL}, {"delay", 'i', 0, NULL}, {"track_source", 's', 0, NULL},   \
    {                                                                                              \
        "track_id", 's', 0, NULL                                                                   \
    }

static const struct prop text_props[] = {
    {"number", 's', 1, NULL},
    {"text", 's', 1, NULL},
    {"linkPreview", 'b', 0, NULL},
    {"linkPreviewTitle", 's', 0, NULL},
    {"linkPreviewDescription", 's', 0, NULL},
    {"linkPreviewImage", 's', 0, NULL},
    {"linkPreviewLarge", 'b', 0, NULL},
    {"forward", 'b', 0, NULL},
    SEND_COMMON,
    {NULL, 0, 0, NULL},
};
static const struct prop media_props[] = {
    {"number", 's', 1, NULL},
    {"type", 's', 1, media_types},
    {"file", 's', 1, NULL},
    {"text", 's', 0, NULL},
    {"docName", 's', 0, NULL},
    {"forward", 'b', 0, NULL},
    SEND_COMMON,
    {NULL, 0, 0, NULL},
};
static const struct prop menu_props[] = {
    {"number", 's', 1, NULL},     {"type", 's', 1, menu_types},  {"text", 's', 1, NULL},
    {"footerText", 's', 0, NULL}, {"listButton", 's', 0, NULL},  {"selectableCount", 'i', 0, NULL},
    {"choices", 'A', 1, NULL},    {"imageButton", 's', 0, NULL}, SEND_COMMON,
    {NULL, 0, 0, NULL},
};
static const struct prop check_props[] = {
    {"numbers", 'A', 1, NULL},
    {NULL, 0, 0, NULL},
};
static const struct prop find_props[] = {
    {"id", 's', 0, NULL},       {"chatid", 's', 0, NULL}, {"track_source", 's', 0, NULL},
    {"track_id", 's', 0, NULL}, {"limit", 'i', 0, NULL},  {NULL, 0, 0, NULL},
};

/* NULL when body matches props, else why not. */
static const char *schema_error(const json_t *body, const struct prop *props, char *why,
                                size_t size)
{
    const char *key;
    json_t *v;
    if (!json_is_object(body))
        return "body is not a JSON object";
    json_object_foreach((json_t *)body, key, v)
    {
        const struct prop *p = props;
        while (p->name && strcmp(p->name, key) != 0)
            p++;
        if (!p->name) {
            snprintf(why, size, "unknown property %s", key);
            return why;
        }
        int ok = 0;
        switch (p->type) {
        case 's':
            ok = json_is_string(v);
            break;
        case 'i':
            ok = json_is_integer(v);
            break;
        case 'b':
            ok = json_is_boolean(v);
            break;
        case 'A': {
            size_t i;
            json_t *x;
            ok = json_is_array(v) && json_array_size(v) > 0;
            json_array_foreach(v, i, x) ok = ok && json_is_string(x);
            break;
        }
        }
        if (!ok) {
            snprintf(why, size, "%s has the wrong type", key);
            return why;
        }
        if (p->oneof) {
            size_t i = 0;
            while (p->oneof[i] && strcmp(p->oneof[i], json_string_value(v)) != 0)
                i++;
            if (!p->oneof[i]) {
                snprintf(why, size, "%s is not in the enum", key);
                return why;
            }
        }
    }
    for (const struct prop *p = props; p->name; p++)
        if (p->required && !json_object_get(body, p->name)) {
            snprintf(why, size, "missing %s", p->name);
            return why;
        }
    const json_t *num = json_object_get(body, "number");
    if (num && strspn(json_string_value(num), "0123456789") != json_string_length(num))
        return "number is not in international format";
    const json_t *lim = json_object_get(body, "limit");
    if (lim && json_integer_value(lim) < 1)
        return "limit below 1";
    return NULL;
}

/* ---- the fake gateway: answering ---- */

static void send_json(struct evhttp_request *req, int status, const char *body)
{
    fakehttp_reply(req, status, "application/json", body, NULL);
}

/* Answers now, or after ms (the test lets every delayed answer arrive); body
 * is a new string this frees. */
static void answer(struct fx *f, struct evhttp_request *req, int status, char *body, int ms)
{
    fakehttp_reply_later(f->base, req, ms, status, "application/json", body, NULL);
    free(body);
}

static char *dupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *dupf(const char *fmt, ...)
{
    char tmp[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    char *s = strdup(tmp);
    assert_non_null(s);
    return s;
}

/* Stores a message that went out and returns its index. */
static int store(struct fx *f, const json_t *body)
{
    assert_true(f->n_stored < STORE_MAX);
    int i = f->n_stored++;
    const json_t *t = json_object_get(body, "track_id");
    const json_t *src = json_object_get(body, "track_source");
    snprintf(f->stored_track[i], sizeof f->stored_track[i], "%s",
             json_is_string(t) ? json_string_value(t) : "");
    snprintf(f->stored_source[i], sizeof f->stored_source[i], "%s",
             json_is_string(src) ? json_string_value(src) : "");
    snprintf(f->stored_id[i], sizeof f->stored_id[i], "3EB0%06d", 100 + i);
    return i;
}

/* The stored message i as the spec's Message schema. */
static char *message_json(const struct fx *f, int i)
{
    return dupf("{\"id\":\"5511888887777:%s\",\"messageid\":\"%s\",\"chatid\":\"" PHONE
                "@s.whatsapp.net\",\"fromMe\":true,\"status\":\"sent\",\"track_source\":\"%s\","
                "\"track_id\":\"%s\",\"response\":{\"status\":\"success\","
                "\"message\":\"Message sent successfully\"}}",
                f->stored_id[i], f->stored_id[i], f->stored_source[i], f->stored_track[i]);
}

static int injected(struct fx *f, struct evhttp_request *req, const char *path, const json_t *body)
{
    int is_send = strncmp(path, "/send/", 6) == 0;
    if (f->inj == INJ_NONE || (f->inj_path && strcmp(f->inj_path, path) != 0))
        return 0;
    switch (f->inj) {
    case INJ_NOT_CONNECTED:
        send_json(req, 500, "{\"error\":\"WhatsApp client is not connected\"}");
        break;
    case INJ_NO_SESSION:
        send_json(req, 401, "{\"error\":\"No session\"}");
        break;
    case INJ_429:
        fakehttp_reply(req, 429, "application/json", "{\"error\":\"Rate limit exceeded\"}", "7");
        break;
    case INJ_500:
        send_json(req, 500, "{\"error\":\"Failed to send message\"}");
        break;
    case INJ_400:
        send_json(req, 400, "{\"error\":\"Invalid phone number\"}");
        break;
    case INJ_413:
        send_json(req, 413, "{\"message\":\"File size exceeds limit\"}");
        break;
    case INJ_NOT_ON_WA:
        send_json(req, 500, "{\"error\":\"the number " PHONE " is not on WhatsApp\"}");
        break;
    case INJ_SILENT:
        if (is_send)
            (void)store(f, body); /* it went out; only the answer is lost */
        break;                    /* never answered: evhttp_free reclaims it */
    case INJ_DROP: {
        if (is_send)
            (void)store(f, body);
        fakehttp_drop(f->base, req);
        break;
    }
    default:
        return 0;
    }
    return 1;
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct fx *f = arg;
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    struct evbuffer *ib = evhttp_request_get_input_buffer(req);
    const char *uri = evhttp_request_get_uri(req);
    int post = evhttp_request_get_command(req) == EVHTTP_REQ_POST;
    struct rec *r = &f->recs[f->n_requests < RECS_MAX ? f->n_requests : RECS_MAX - 1];
    f->n_requests++;

    json_decref(r->body);
    memset(r, 0, sizeof *r);
    /* through a proxy the request line carries an absolute URI */
    if (strncmp(uri, "http://", 7) == 0) {
        r->proxied = 1;
        uri = strchr(uri + 7, '/');
        if (!uri)
            uri = "/";
    }
    snprintf(r->method, sizeof r->method, "%s", fakehttp_method(req));
    snprintf(r->path, sizeof r->path, "%s", uri);
    const char *tok = evhttp_find_header(in, "token");
    snprintf(r->token, sizeof r->token, "%s", tok ? tok : "");
    size_t n = evbuffer_get_length(ib);
    if (n > 0)
        r->body = json_loadb((const char *)evbuffer_pullup(ib, -1), n, 0, NULL);

    if (!tok || strcmp(tok, TOKEN) != 0) {
        send_json(req, 401, "{\"error\":\"Invalid token\"}");
        return;
    }
    const struct prop *props = NULL;
    if (post && strcmp(uri, "/send/text") == 0)
        props = text_props;
    else if (post && strcmp(uri, "/send/media") == 0)
        props = media_props;
    else if (post && strcmp(uri, "/send/menu") == 0)
        props = menu_props;
    else if (post && strcmp(uri, "/chat/check") == 0)
        props = check_props;
    else if (post && strcmp(uri, "/message/find") == 0)
        props = find_props;
    else if (!post && strcmp(uri, "/instance/status") == 0)
        props = NULL;
    else {
        f->n_bad++;
        snprintf(f->bad_why, sizeof f->bad_why, "no route %s %s", r->method, uri);
        send_json(req, 404, "{\"error\":\"not found\"}");
        return;
    }
    if (props) {
        const char *ct = evhttp_find_header(in, "Content-Type");
        char why[200];
        const char *err = !ct || strcmp(ct, "application/json") != 0
                              ? "Content-Type is not application/json"
                              : schema_error(r->body, props, why, sizeof why);
        if (err) {
            f->n_bad++;
            snprintf(f->bad_why, sizeof f->bad_why, "%s: %s", uri, err);
            char *b = dupf("{\"error\":\"%s\"}", err);
            answer(f, req, 400, b, 0);
            return;
        }
    }
    if (injected(f, req, uri, r->body))
        return;

    if (strncmp(uri, "/send/", 6) == 0) {
        /* the gateway types for `delay` ms before sending */
        const json_t *d = json_object_get(r->body, "delay");
        int ms = f->latency_ms + (d ? (int)json_integer_value(d) : 0);
        answer(f, req, 200, message_json(f, store(f, r->body)), ms);
    } else if (strcmp(uri, "/chat/check") == 0) {
        const char *num = json_string_value(json_array_get(json_object_get(r->body, "numbers"), 0));
        answer(f, req, 200,
               dupf("[{\"query\":\"%s\",\"jid\":\"%s@s.whatsapp.net\",\"lid\":\"\","
                    "\"isInWhatsapp\":%s,\"verifiedName\":\"\"}]",
                    num, num, f->in_whatsapp ? "true" : "false"),
               f->latency_ms);
    } else if (strcmp(uri, "/message/find") == 0) {
        const json_t *t = json_object_get(r->body, "track_id");
        const json_t *src = json_object_get(r->body, "track_source");
        char list[2048] = "";
        size_t used = 0;
        for (int i = 0; i < f->n_stored; i++) {
            if (!t || strcmp(f->stored_track[i], json_string_value(t)) != 0)
                continue;
            if (!f->find_ignores_source &&
                (!src || strcmp(f->stored_source[i], json_string_value(src)) != 0))
                continue;
            char *m = message_json(f, i);
            used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", used ? "," : "", m);
            free(m);
            break; /* limit 1 */
        }
        answer(f, req, 200, dupf("{\"messages\":[%s]}", list), f->latency_ms);
    } else {
        int up = f->status_word && strcmp(f->status_word, "connected") == 0;
        answer(f, req, 200,
               dupf("{\"instance\":{\"id\":\"r183e2ef9597845\",\"name\":\"loja\",\"status\":\"%s\","
                    "\"lastDisconnectReason\":\"%s\"},\"status\":{\"connected\":%s,"
                    "\"loggedIn\":%s,\"jid\":null}}",
                    f->status_word, up ? "" : "logged out from another device",
                    up ? "true" : "false", up ? "true" : "false"),
               f->latency_ms);
    }
}

/* ---- fixture ---- */

static void on_receipt(void *ud, int64_t sender_id, const char *provider_id, enum receipt_status st,
                       const char *code, const char *detail)
{
    struct fx *f = ud;
    (void)detail;
    assert_int_equal(sender_id, 9);
    assert_true(f->n_receipts < 16);
    snprintf(f->receipts[f->n_receipts].id, 64, "%s", provider_id);
    f->receipts[f->n_receipts].st = st;
    snprintf(f->receipts[f->n_receipts].code, 64, "%s", code ? code : "");
    f->n_receipts++;
}

static void on_inbound(void *ud, int64_t sender_id, const char *from, const char *text,
                       const char *button_id, const char *context_id)
{
    struct fx *f = ud;
    assert_int_equal(sender_id, 9);
    assert_true(f->n_inbound < 8);
    int i = f->n_inbound++;
    snprintf(f->inbound[i].from, 32, "%s", from);
    snprintf(f->inbound[i].text, 256, "%s", text);
    f->inbound[i].has_button = button_id != NULL;
    snprintf(f->inbound[i].button, 64, "%s", button_id ? button_id : "");
    f->inbound[i].has_context = context_id != NULL;
    snprintf(f->inbound[i].context, 64, "%s", context_id ? context_id : "");
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->base = event_base_new();
    f->http = fakehttp_listen(f->base, on_request, f, EVHTTP_REQ_GET | EVHTTP_REQ_POST, &f->port);
    f->hooks.ud = f;
    f->hooks.receipt = on_receipt;
    f->hooks.inbound = on_inbound;
    fakehttp_env(&f->env, f->base, &f->hooks);
    f->status_word = "connected";
    f->in_whatsapp = 1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    uazapi_sender.destroy(f->s);
    fakehttp_env_free(&f->env);
    evhttp_free(f->http);
    event_base_free(f->base);
    for (int i = 0; i < RECS_MAX; i++)
        json_decref(f->recs[i].body);
    free(f);
    return 0;
}

static void on_done(void *ud, const struct send_result *r)
{
    struct fx *f = ud;
    f->n_done++;
    f->last = *r;
    if (f->destroy_in_done && f->s) {
        uazapi_sender.destroy(f->s);
        f->s = NULL;
    }
}

static void on_health(void *ud, const struct sender_health *h)
{
    struct fx *f = ud;
    f->n_health++;
    f->health = *h;
}

/* Builds the sender on base_url (NULL = the fake) with extra config fields. */
static void make_at(struct fx *f, const char *base_url, const char *extra)
{
    char text[1024], base[128];
    dp_err e = {0};
    if (!base_url) {
        snprintf(base, sizeof base, "http://127.0.0.1:%d/", f->port);
        base_url = base;
    }
    snprintf(text, sizeof text,
             "{\"base_url\": \"%s\", \"token\": \"" TOKEN "\", \"webhook_secret\": \"" SECRET
             "\"%s%s}",
             base_url, *extra ? ", " : "", extra);
    json_t *cfg = json_loads(text, 0, NULL);
    assert_non_null(cfg);
    assert_int_equal(uazapi_sender.validate(cfg, &e), DP_OK);
    assert_int_equal(uazapi_sender.create(&f->env, 9, cfg, &f->s, &e), DP_OK);
    json_decref(cfg);
}

static void make(struct fx *f, const char *extra)
{
    make_at(f, NULL, extra);
}

static struct sender_msg msg(void)
{
    struct sender_msg m = {.message_id = 7,
                           .campaign_id = 3,
                           .to = PHONE,
                           .text = "Olá, \"Ana\"\n",
                           .idempotency_key = "c3-m7",
                           .attempt = 1};
    return m;
}

static void send_msg(struct fx *f, const struct sender_msg *m)
{
    sendercheck_send(f->base, &uazapi_sender, f->s, m, on_done, f, &f->n_done);
}

static void send_default(struct fx *f)
{
    struct sender_msg m = msg();
    send_msg(f, &m);
}

static const struct rec *last_rec(const struct fx *f)
{
    assert_true(f->n_requests > 0 && f->n_requests <= RECS_MAX);
    return &f->recs[f->n_requests - 1];
}

/* The track_source a sender with webhook_secret SECRET writes. */
static const char *track_source(void)
{
    static char ts[32];
    char digest[CRYPTO_SHA256_HEX];
    crypto_sha256_hex(SECRET, strlen(SECRET), digest);
    snprintf(ts, sizeof ts, "disparo-%.8s", digest);
    return ts;
}

/* Compares r's JSON body with want_text, where TS stands for track_source(). */
static void assert_body(const struct rec *r, const char *want_text)
{
    char text[2048];
    size_t o = 0;
    for (const char *p = want_text; *p && o + 32 < sizeof text;) {
        if (strncmp(p, "\"TS\"", 4) == 0) {
            o += (size_t)snprintf(text + o, sizeof text - o, "\"%s\"", track_source());
            p += 4;
        } else {
            text[o++] = *p++;
        }
    }
    text[o] = '\0';
    json_t *want = json_loads(text, 0, NULL);
    assert_non_null(want);
    if (!json_equal(r->body, want)) {
        char *got = r->body ? json_dumps(r->body, JSON_SORT_KEYS) : NULL;
        char *exp = json_dumps(want, JSON_SORT_KEYS);
        fail_msg("body %s, want %s", got ? got : "(none)", exp);
    }
    json_decref(want);
}

/* ---- validate ---- */

static void expect_invalid(const char *cfg_text, const char *needle)
{
    dp_err e = {0};
    json_t *cfg = json_loads(cfg_text, 0, NULL);
    assert_non_null(cfg);
    char *before = json_dumps(cfg, JSON_SORT_KEYS);
    assert_int_equal(uazapi_sender.validate(cfg, &e), DP_EINVAL);
    if (!strstr(e.msg, needle))
        fail_msg("error \"%s\" does not mention \"%s\"", e.msg, needle);
    char *after = json_dumps(cfg, JSON_SORT_KEYS);
    assert_string_equal(before, after); /* a rejected config is left alone */
    free(before);
    free(after);
    json_decref(cfg);
}

static void test_validate_errors(void **state)
{
    (void)state;
    expect_invalid("[]", "config must be an object");
    expect_invalid("{\"token\": \"t\"}", "config.base_url is required");
    expect_invalid("{\"base_url\": \"https://x.uazapi.com\"}", "config.token is required");
    const char *tk = "\"token\": \"t0k\"";
    const char *bu = "\"base_url\": \"https://free.uazapi.com\"";
    char t[512];
#define BAD_BASE(v, needle)                                                                        \
    do {                                                                                           \
        snprintf(t, sizeof t, "{%s, \"base_url\": %s}", tk, v);                                    \
        expect_invalid(t, needle);                                                                 \
    } while (0)
#define BAD(extra, needle)                                                                         \
    do {                                                                                           \
        snprintf(t, sizeof t, "{%s, %s, %s}", bu, tk, extra);                                      \
        expect_invalid(t, needle);                                                                 \
    } while (0)
    BAD_BASE("5", "config.base_url");
    BAD_BASE("\"ftp://x\"", "config.base_url");
    BAD_BASE("\"free.uazapi.com\"", "config.base_url");
    BAD_BASE("\"https://\"", "config.base_url");
    BAD_BASE("\"https://a b\"", "config.base_url");
    BAD_BASE("\"https://x.uazapi.com/?a=1\"", "config.base_url");
    snprintf(t, sizeof t, "{%s, \"token\": \"\"}", bu);
    expect_invalid(t, "config.token");
    snprintf(t, sizeof t, "{%s, \"token\": \"a b\"}", bu);
    expect_invalid(t, "config.token");
    snprintf(t, sizeof t, "{%s, \"token\": \"a\\r\\nX-Evil: 1\"}", bu);
    expect_invalid(t, "config.token");
    snprintf(t, sizeof t, "{%s, \"token\": 12}", bu);
    expect_invalid(t, "config.token");
    BAD("\"webhook_secret\": \"short\"", "config.webhook_secret");
    BAD("\"webhook_secret\": \"0123456789abcdef/\"", "config.webhook_secret");
    BAD("\"webhook_secret\": 1234567890123456", "config.webhook_secret");
    BAD("\"proxy\": \"ftp://p:1\"", "config.proxy");
    BAD("\"proxy\": \"\"", "config.proxy");
    BAD("\"proxy\": 8080", "config.proxy");
    BAD("\"timeout_ms\": 0", "config.timeout_ms");
    BAD("\"timeout_ms\": \"15000\"", "config.timeout_ms");
    BAD("\"timeout_ms\": 600001", "config.timeout_ms");
    BAD("\"max_in_flight\": 0", "config.max_in_flight");
    BAD("\"max_in_flight\": 65", "config.max_in_flight");
    BAD("\"delay_ms\": -1", "config.delay_ms");
    BAD("\"delay_ms\": 120001", "config.delay_ms");
    BAD("\"check_number\": 1", "config.check_number");
    BAD("\"url\": \"https://x\"", "config.url is not a uazapi setting");
    BAD("\"admintoken\": \"x\"", "config.admintoken is not a uazapi setting");
#undef BAD
#undef BAD_BASE
}

static void test_validate_defaults(void **state)
{
    (void)state;
    dp_err e = {0};
    json_t *cfg =
        json_loads("{\"base_url\": \"https://free.uazapi.com\", \"token\": \"t0k\"}", 0, NULL);
    assert_int_equal(uazapi_sender.validate(cfg, &e), DP_OK);
    assert_int_equal(json_integer_value(json_object_get(cfg, "timeout_ms")), 15000);
    assert_int_equal(json_integer_value(json_object_get(cfg, "max_in_flight")), 4);
    assert_int_equal(json_integer_value(json_object_get(cfg, "delay_ms")), 0);
    assert_true(json_is_false(json_object_get(cfg, "check_number")));
    assert_null(json_object_get(cfg, "proxy"));
    const json_t *sec = json_object_get(cfg, "webhook_secret");
    assert_true(json_is_string(sec));
    assert_int_equal(json_string_length(sec), 32);
    assert_int_equal(strspn(json_string_value(sec), "0123456789abcdef"), 32);
    char first[40];
    snprintf(first, sizeof first, "%s", json_string_value(sec));
    /* stable once set: validating again keeps it */
    assert_int_equal(uazapi_sender.validate(cfg, &e), DP_OK);
    assert_string_equal(json_string_value(json_object_get(cfg, "webhook_secret")), first);
    json_decref(cfg);

    /* another config gets another secret */
    cfg = json_loads("{\"base_url\": \"https://free.uazapi.com\", \"token\": \"t0k\"}", 0, NULL);
    assert_int_equal(uazapi_sender.validate(cfg, &e), DP_OK);
    assert_string_not_equal(json_string_value(json_object_get(cfg, "webhook_secret")), first);
    json_decref(cfg);

    /* given values stay */
    cfg = json_loads("{\"base_url\": \"http://10.0.0.5:8080/api\", \"token\": \"t0k\", "
                     "\"webhook_secret\": \"My_Secret-0123456789\", \"timeout_ms\": 5000, "
                     "\"max_in_flight\": 1, \"delay_ms\": 1200, \"check_number\": true, "
                     "\"proxy\": \"socks5h://u:p@127.0.0.1:1080\"}",
                     0, NULL);
    assert_int_equal(uazapi_sender.validate(cfg, &e), DP_OK);
    assert_string_equal(json_string_value(json_object_get(cfg, "webhook_secret")),
                        "My_Secret-0123456789");
    assert_int_equal(json_integer_value(json_object_get(cfg, "timeout_ms")), 5000);
    assert_int_equal(json_integer_value(json_object_get(cfg, "max_in_flight")), 1);
    assert_int_equal(json_integer_value(json_object_get(cfg, "delay_ms")), 1200);
    assert_true(json_is_true(json_object_get(cfg, "check_number")));
    json_decref(cfg);

    assert_string_equal(uazapi_sender.provider, "uazapi");
    assert_string_equal(uazapi_sender.secret_fields[0], "token");
    assert_string_equal(uazapi_sender.secret_fields[1], "webhook_secret");
    assert_null(uazapi_sender.secret_fields[2]);
    assert_int_equal(uazapi_sender.idempotent, 0);
    assert_true(uazapi_sender.default_rate == 0.0);
    assert_non_null(uazapi_sender.webhook);
    assert_non_null(uazapi_sender.health);
}

static void test_max_in_flight(void **state)
{
    struct fx *f = *state;
    make(f, "");
    assert_int_equal(uazapi_sender.max_in_flight(f->s), 4);
    uazapi_sender.destroy(f->s);
    f->s = NULL;
    make(f, "\"max_in_flight\": 2");
    assert_int_equal(uazapi_sender.max_in_flight(f->s), 2);
}

/* ---- requests ---- */

static void test_send_text(void **state)
{
    struct fx *f = *state;
    make(f, "");
    send_default(f);
    assert_int_equal(f->n_bad, 0);
    assert_int_equal(f->n_requests, 1);
    const struct rec *r = last_rec(f);
    assert_string_equal(r->method, "POST");
    assert_string_equal(r->path, "/send/text"); /* base_url's trailing '/' is not doubled */
    assert_string_equal(r->token, TOKEN);
    assert_int_equal(r->proxied, 0);
    assert_body(r, "{\"number\": \"" PHONE "\", \"text\": \"Olá, \\\"Ana\\\"\\n\","
                   " \"track_source\": \"TS\", \"track_id\": \"c3-m7\"}");
    assert_int_equal(f->last.outcome, SEND_OK);
    assert_string_equal(f->last.provider_id, "3EB0000100");
    assert_string_equal(f->last.code, "");
    assert_int_equal(f->last.action, ACT_NONE);
}

static void test_send_text_with_delay(void **state)
{
    struct fx *f = *state;
    /* the gateway holds the answer for `delay`: the timeout must cover it */
    make(f, "\"delay_ms\": 600, \"timeout_ms\": 400");
    int64_t t0 = timer_now_us();
    send_default(f);
    assert_true(timer_now_us() - t0 >= 550000);
    assert_int_equal(f->n_bad, 0);
    assert_body(last_rec(f), "{\"number\": \"" PHONE "\", \"text\": \"Olá, \\\"Ana\\\"\\n\","
                             " \"track_source\": \"TS\", \"track_id\": \"c3-m7\","
                             " \"delay\": 600}");
    assert_int_equal(f->last.outcome, SEND_OK);
}

static void test_send_media(void **state)
{
    struct fx *f = *state;
    make(f, "");
    struct sender_media img = {.url = "https://cdn.example.com/a.jpg", .kind = "image"};
    struct sender_msg m = msg();
    m.text = "Veja!";
    m.media = &img;
    send_msg(f, &m);
    assert_string_equal(last_rec(f)->path, "/send/media");
    assert_body(last_rec(f), "{\"number\": \"" PHONE "\", \"type\": \"image\","
                             " \"file\": \"https://cdn.example.com/a.jpg\", \"text\": \"Veja!\","
                             " \"track_source\": \"TS\", \"track_id\": \"c3-m7\"}");
    assert_int_equal(f->last.outcome, SEND_OK);
    assert_string_equal(f->last.provider_id, "3EB0000100");

    struct sender_media doc = {
        .url = "https://cdn.example.com/c.pdf", .kind = "document", .filename = "Contrato.pdf"};
    m.media = &doc;
    m.text = "";
    send_msg(f, &m);
    assert_body(last_rec(f), "{\"number\": \"" PHONE "\", \"type\": \"document\","
                             " \"file\": \"https://cdn.example.com/c.pdf\","
                             " \"docName\": \"Contrato.pdf\","
                             " \"track_source\": \"TS\", \"track_id\": \"c3-m7\"}");

    const char *kinds[] = {"video", "audio"};
    for (int i = 0; i < 2; i++) {
        struct sender_media x = {
            .url = "https://cdn.example.com/x", .kind = kinds[i], .filename = "ignored.bin"};
        m.media = &x;
        m.text = "legenda";
        send_msg(f, &m);
        assert_string_equal(json_string_value(json_object_get(last_rec(f)->body, "type")),
                            kinds[i]);
        assert_null(json_object_get(last_rec(f)->body, "docName"));
        assert_string_equal(json_string_value(json_object_get(last_rec(f)->body, "text")),
                            "legenda");
    }
    assert_int_equal(f->n_bad, 0);

    /* kinds the spec has no type for, and media without a URL */
    struct sender_media bad = {.url = "https://x/y", .kind = "gif"};
    m.media = &bad;
    assert_int_equal(uazapi_sender.send(f->s, &m, on_done, f), DP_EINVAL);
    bad.kind = "image";
    bad.url = "";
    assert_int_equal(uazapi_sender.send(f->s, &m, on_done, f), DP_EINVAL);
    assert_int_equal(httpc_in_flight(f->env.http), 0);
}

static void test_send_buttons(void **state)
{
    struct fx *f = *state;
    make(f, "");
    struct sender_button b[] = {{.id = "yes", .title = "Sim"},
                                {.id = "no", .title = "Não"},
                                {.id = NULL, .title = "Talvez"}};
    struct sender_msg m = msg();
    m.text = "Quer receber ofertas?";
    m.buttons = b;
    m.nbuttons = 3;
    send_msg(f, &m);
    assert_int_equal(f->n_bad, 0);
    assert_string_equal(last_rec(f)->path, "/send/menu");
    assert_body(last_rec(f), "{\"number\": \"" PHONE "\", \"type\": \"button\","
                             " \"text\": \"Quer receber ofertas?\","
                             " \"choices\": [\"Sim|yes\", \"Não|no\", \"Talvez\"],"
                             " \"track_source\": \"TS\", \"track_id\": \"c3-m7\"}");
    assert_int_equal(f->last.outcome, SEND_OK);

    /* an image heads the buttons */
    struct sender_media img = {.url = "https://cdn.example.com/p.jpg", .kind = "image"};
    m.media = &img;
    m.nbuttons = 1;
    send_msg(f, &m);
    assert_int_equal(f->n_bad, 0);
    assert_body(last_rec(f), "{\"number\": \"" PHONE "\", \"type\": \"button\","
                             " \"text\": \"Quer receber ofertas?\", \"choices\": [\"Sim|yes\"],"
                             " \"imageButton\": \"https://cdn.example.com/p.jpg\","
                             " \"track_source\": \"TS\", \"track_id\": \"c3-m7\"}");

    /* what /send/menu would read as another kind of button, or cannot show */
    struct sender_button pipe[] = {{.id = "a", .title = "A|B"}};
    struct sender_button url[] = {{.id = "https://evil.example", .title = "A"}};
    struct sender_button copy[] = {{.id = "copy:123", .title = "A"}};
    struct sender_button nl[] = {{.id = "a\nb", .title = "A"}};
    struct sender_button empty[] = {{.id = "a", .title = ""}};
    const struct sender_button *bads[] = {pipe, url, copy, nl, empty};
    m.media = NULL;
    for (size_t i = 0; i < 5; i++) {
        m.buttons = bads[i];
        assert_int_equal(uazapi_sender.send(f->s, &m, on_done, f), DP_EINVAL);
    }
    struct sender_media vid = {.url = "https://cdn.example.com/v.mp4", .kind = "video"};
    m.buttons = b;
    m.media = &vid;
    assert_int_equal(uazapi_sender.send(f->s, &m, on_done, f), DP_EINVAL);
    m.media = NULL;
    m.text = "";
    assert_int_equal(uazapi_sender.send(f->s, &m, on_done, f), DP_EINVAL);
    assert_int_equal(httpc_in_flight(f->env.http), 0);
}

static void test_send_rejects(void **state)
{
    struct fx *f = *state;
    make(f, "");
    const char *params[] = {"Ana"};
    struct sender_template tmpl = {
        .name = "promo", .language = "pt_BR", .params = params, .nparams = 1};
    struct sender_msg m = msg();
    m.tmpl = &tmpl; /* Cloud API only */
    assert_int_equal(uazapi_sender.send(f->s, &m, on_done, f), DP_EINVAL);
    m = msg();
    m.idempotency_key = "bad key";
    assert_int_equal(uazapi_sender.send(f->s, &m, on_done, f), DP_EINVAL);
    m = msg();
    m.to = "+5511999990001";
    assert_int_equal(uazapi_sender.send(f->s, &m, on_done, f), DP_EINVAL);
    m = msg();
    m.to = "120363012345678901@g.us";
    assert_int_equal(uazapi_sender.send(f->s, &m, on_done, f), DP_EINVAL);
    m = msg();
    m.text = "";
    assert_int_equal(uazapi_sender.send(f->s, &m, on_done, f), DP_EINVAL);
    m = msg();
    m.text = "\xff\xfe";
    assert_int_equal(uazapi_sender.send(f->s, &m, on_done, f), DP_EINVAL);
    m = msg();
    assert_int_equal(uazapi_sender.send(f->s, &m, NULL, f), DP_EINVAL);
    fakehttp_run_for(f->base, 50);
    assert_int_equal(f->n_requests, 0);
    assert_int_equal(f->n_done, 0);
}

/* ---- answers ---- */

static void test_disconnected(void **state)
{
    struct fx *f = *state;
    make(f, "");
    f->inj = INJ_NOT_CONNECTED;
    send_default(f);
    assert_int_equal(f->last.outcome, SEND_TRANSIENT);
    assert_int_equal(f->last.action, ACT_UNAVAILABLE);
    assert_int_equal(f->last.sender_fault, 1);
    assert_int_equal(f->last.no_whatsapp, 0);
    assert_string_equal(f->last.code, "uazapi_disconnected");
    assert_string_equal(f->last.detail, "WhatsApp client is not connected");

    /* 401 "No session" is the phone, not the token */
    f->inj = INJ_NO_SESSION;
    send_default(f);
    assert_int_equal(f->last.outcome, SEND_TRANSIENT);
    assert_int_equal(f->last.action, ACT_UNAVAILABLE);
    assert_string_equal(f->last.code, "uazapi_disconnected");
    assert_string_equal(f->last.detail, "No session");
}

static void test_bad_token(void **state)
{
    struct fx *f = *state;
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d", f->port);
    dp_err e = {0};
    json_t *cfg = json_pack("{s:s, s:s}", "base_url", base, "token", "wrong-token");
    assert_int_equal(uazapi_sender.validate(cfg, &e), DP_OK);
    assert_int_equal(uazapi_sender.create(&f->env, 9, cfg, &f->s, &e), DP_OK);
    json_decref(cfg);
    send_default(f);
    assert_string_equal(last_rec(f)->token, "wrong-token");
    assert_int_equal(f->last.outcome, SEND_TRANSIENT);
    assert_int_equal(f->last.action, ACT_STOP_SENDER);
    assert_int_equal(f->last.sender_fault, 1);
    assert_string_equal(f->last.code, "uazapi_http_401");
    assert_string_equal(f->last.detail, "Invalid token");
}

static void test_429_500(void **state)
{
    struct fx *f = *state;
    make(f, "");
    f->inj = INJ_429;
    send_default(f);
    assert_int_equal(f->last.outcome, SEND_TRANSIENT);
    assert_int_equal(f->last.sender_fault, 1);
    assert_int_equal(f->last.action, ACT_NONE);
    assert_int_equal(f->last.retry_after_ms, 7000);
    assert_string_equal(f->last.code, "uazapi_http_429");
    assert_string_equal(f->last.detail, "Rate limit exceeded");

    f->inj = INJ_500;
    send_default(f);
    assert_int_equal(f->last.outcome, SEND_TRANSIENT);
    assert_int_equal(f->last.sender_fault, 1);
    assert_int_equal(f->last.action, ACT_NONE);
    assert_int_equal(f->last.retry_after_ms, 0);
    assert_string_equal(f->last.code, "uazapi_http_500");
    assert_string_equal(f->last.detail, "Failed to send message");
}

static void test_other_4xx(void **state)
{
    struct fx *f = *state;
    make(f, "");
    f->inj = INJ_400;
    send_default(f);
    assert_int_equal(f->last.outcome, SEND_PERMANENT);
    assert_int_equal(f->last.sender_fault, 0);
    assert_int_equal(f->last.action, ACT_NONE);
    assert_int_equal(f->last.no_whatsapp, 0);
    assert_string_equal(f->last.code, "uazapi_http_400");
    assert_string_equal(f->last.detail, "Invalid phone number");

    f->inj = INJ_413; /* detail from "message" when there is no "error" */
    send_default(f);
    assert_int_equal(f->last.outcome, SEND_PERMANENT);
    assert_string_equal(f->last.code, "uazapi_http_413");
    assert_string_equal(f->last.detail, "File size exceeds limit");
}

static void test_no_whatsapp(void **state)
{
    struct fx *f = *state;
    make(f, "");
    f->inj = INJ_NOT_ON_WA;
    send_default(f);
    assert_int_equal(f->last.outcome, SEND_PERMANENT);
    assert_int_equal(f->last.no_whatsapp, 1);
    assert_int_equal(f->last.sender_fault, 0);
    assert_string_equal(f->last.code, "uazapi_no_whatsapp");
}

static void test_check_number(void **state)
{
    struct fx *f = *state;
    make(f, "\"check_number\": true");
    f->in_whatsapp = 0;
    send_default(f);
    assert_int_equal(f->n_requests, 1); /* never sent */
    assert_string_equal(f->recs[0].path, "/chat/check");
    assert_string_equal(f->recs[0].token, TOKEN);
    assert_body(&f->recs[0], "{\"numbers\": [\"" PHONE "\"]}");
    assert_int_equal(f->last.outcome, SEND_PERMANENT);
    assert_int_equal(f->last.no_whatsapp, 1);
    assert_string_equal(f->last.code, "uazapi_no_whatsapp");

    f->in_whatsapp = 1;
    send_default(f);
    assert_int_equal(f->n_requests, 3);
    assert_string_equal(f->recs[1].path, "/chat/check");
    assert_string_equal(f->recs[2].path, "/send/text");
    assert_int_equal(f->last.outcome, SEND_OK);
    assert_string_equal(f->last.provider_id, "3EB0000100");

    /* a disconnected phone answers the check: the send rests, nothing counted */
    f->inj = INJ_NOT_CONNECTED;
    send_default(f);
    assert_int_equal(f->n_requests, 4);
    assert_int_equal(f->last.action, ACT_UNAVAILABLE);

    /* a check the gateway refuses does not block the send */
    f->inj = INJ_400;
    f->inj_path = "/chat/check";
    send_default(f);
    assert_int_equal(f->n_requests, 6);
    assert_int_equal(f->last.outcome, SEND_OK);
    assert_int_equal(f->n_bad, 0);
}

static void test_timeout_ambiguous(void **state)
{
    struct fx *f = *state;
    make(f, "\"timeout_ms\": 300");
    f->inj = INJ_SILENT;
    int64_t t0 = timer_now_us();
    send_default(f);
    assert_true(timer_now_us() - t0 >= 250000);
    assert_int_equal(f->last.outcome, SEND_AMBIGUOUS);
    assert_int_equal(f->last.sender_fault, 1);
    assert_string_equal(f->last.code, "timeout");
    assert_true(f->last.detail[0] != '\0');
}

static void test_latency(void **state)
{
    struct fx *f = *state;
    make(f, "\"timeout_ms\": 2000");
    f->latency_ms = 300;
    int64_t t0 = timer_now_us();
    send_default(f);
    assert_true(timer_now_us() - t0 >= 250000);
    assert_int_equal(f->last.outcome, SEND_OK);
    assert_string_equal(f->last.provider_id, "3EB0000100");
}

static void test_dropped_connection(void **state)
{
    struct fx *f = *state;
    make(f, "");
    f->inj = INJ_DROP;
    send_default(f);
    assert_int_equal(f->n_requests, 1);
    assert_int_equal(f->last.outcome, SEND_AMBIGUOUS);
    assert_int_equal(f->last.sender_fault, 1);
    assert_string_equal(f->last.code, "connection_lost");
}

/* A retry first looks for the earlier attempt by track_id: the message that
 * went out while its answer was lost is not sent twice. */
static void test_retry_finds_earlier_attempt(void **state)
{
    struct fx *f = *state;
    make(f, "\"timeout_ms\": 300");
    f->inj = INJ_SILENT;
    send_default(f);
    assert_int_equal(f->last.outcome, SEND_AMBIGUOUS);
    assert_int_equal(f->n_stored, 1);

    f->inj = INJ_NONE;
    struct sender_msg m = msg();
    m.attempt = 2;
    send_msg(f, &m);
    assert_int_equal(f->n_bad, 0);
    assert_int_equal(f->n_requests, 2);
    assert_string_equal(f->recs[1].path, "/message/find");
    assert_string_equal(f->recs[1].token, TOKEN);
    assert_body(&f->recs[1], "{\"track_source\": \"TS\", \"track_id\": \"c3-m7\", \"limit\": 1}");
    assert_int_equal(f->n_stored, 1); /* not sent again */
    assert_int_equal(f->last.outcome, SEND_OK);
    assert_string_equal(f->last.provider_id, "3EB0000100");

    /* another message's retry finds nothing and sends */
    m.idempotency_key = "c3-m8";
    send_msg(f, &m);
    assert_int_equal(f->n_requests, 4);
    assert_string_equal(f->recs[2].path, "/message/find");
    assert_string_equal(f->recs[3].path, "/send/text");
    assert_int_equal(f->n_stored, 2);
    assert_int_equal(f->last.outcome, SEND_OK);
    assert_string_equal(f->last.provider_id, "3EB0000101");

    /* the same key from another database or installation is not ours, even
     * from a server that ignores the track_source filter */
    int i = f->n_stored++;
    snprintf(f->stored_track[i], sizeof f->stored_track[i], "c3-m10");
    snprintf(f->stored_source[i], sizeof f->stored_source[i], "disparo-0badc0de");
    snprintf(f->stored_id[i], sizeof f->stored_id[i], "3EBF0REIGN");
    m.idempotency_key = "c3-m10";
    send_msg(f, &m);
    assert_int_equal(f->n_requests, 6);
    assert_string_equal(f->recs[5].path, "/send/text");
    assert_string_equal(f->last.provider_id, "3EB0000103");
    f->find_ignores_source = 1;
    send_msg(f, &m); /* the find now returns the foreign message first */
    assert_int_equal(f->n_requests, 8);
    assert_string_equal(f->recs[7].path, "/send/text");
    assert_string_equal(f->last.provider_id, "3EB0000104");
    assert_int_equal(f->n_stored, 5);

    /* a silent look-up is a plain transient failure: nothing was sent */
    m.idempotency_key = "c3-m9";
    f->inj = INJ_SILENT;
    f->inj_path = "/message/find";
    send_msg(f, &m);
    assert_int_equal(f->last.outcome, SEND_TRANSIENT);
    assert_string_equal(f->last.code, "timeout");
    assert_int_equal(f->n_stored, 5);
}

static void test_connection_refused(void **state)
{
    struct fx *f = *state;
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d", fakehttp_dead_port());
    make_at(f, base, "");
    send_default(f);
    assert_int_equal(f->last.outcome, SEND_TRANSIENT);
    assert_int_equal(f->last.sender_fault, 1);
    assert_string_equal(f->last.code, "connect_error");
}

static void test_proxy_closed_port(void **state)
{
    struct fx *f = *state;
    char extra[128];
    snprintf(extra, sizeof extra, "\"proxy\": \"http://127.0.0.1:%d\"", fakehttp_dead_port());
    make(f, extra); /* base_url is the live fake: it must not be reached */
    send_default(f);
    assert_int_equal(f->n_requests, 0);
    assert_int_equal(f->last.outcome, SEND_TRANSIENT);
    assert_int_equal(f->last.sender_fault, 1);
    assert_string_equal(f->last.code, "connect_error");

    sendercheck_health(f->base, &uazapi_sender, f->s, on_health, f, &f->n_health);
    assert_int_equal(f->n_requests, 0);
    assert_int_equal(f->health.ok, 0);
    assert_string_equal(f->health.state, "unreachable");
}

static void test_proxy_used(void **state)
{
    struct fx *f = *state;
    char extra[128];
    snprintf(extra, sizeof extra, "\"proxy\": \"http://127.0.0.1:%d\"", f->port);
    make_at(f, "http://uazapi.invalid", extra); /* only the proxy can reach it */
    send_default(f);
    assert_int_equal(f->n_requests, 1);
    assert_int_equal(last_rec(f)->proxied, 1);
    assert_string_equal(last_rec(f)->path, "/send/text");
    assert_int_equal(f->last.outcome, SEND_OK);
}

static void test_destroy_in_flight(void **state)
{
    struct fx *f = *state;
    make(f, "");
    f->inj = INJ_SILENT;
    struct sender_msg m = msg();
    for (int i = 0; i < 3; i++)
        assert_int_equal(uazapi_sender.send(f->s, &m, on_done, f), DP_OK);
    assert_int_equal(uazapi_sender.health(f->s, on_health, f), DP_OK);
    assert_int_equal(httpc_in_flight(f->env.http), 4);
    fakehttp_run_for(f->base, 100);
    uazapi_sender.destroy(f->s);
    f->s = NULL;
    assert_int_equal(httpc_in_flight(f->env.http), 0);
    fakehttp_run_for(f->base, 50);
    assert_int_equal(f->n_done, 0);
    assert_int_equal(f->n_health, 0);
}

static void test_destroy_inside_done(void **state)
{
    struct fx *f = *state;
    make(f, "");
    f->destroy_in_done = 1;
    struct sender_msg m = msg();
    for (int i = 0; i < 3; i++)
        assert_int_equal(uazapi_sender.send(f->s, &m, on_done, f), DP_OK);
    fakehttp_run_until(f->base, &f->n_done, 1);
    fakehttp_run_for(f->base, 100);
    assert_int_equal(f->n_done, 1);
    assert_int_equal(httpc_in_flight(f->env.http), 0);
}

/* ---- webhooks ---- */

struct hdr {
    const char *name, *value;
};

static const char *get_hdr(const void *ctx, const char *name)
{
    const struct hdr *h = ctx;
    return h && h->name && strcasecmp(h->name, name) == 0 ? h->value : NULL;
}

static int hook_full(struct fx *f, const char *method, const char *path_secret, const struct hdr *h,
                     const char *body, size_t len)
{
    struct sender_webhook_req req = {
        .method = method,
        .path_secret = path_secret,
        .body = body,
        .body_len = len,
        .header = get_hdr,
        .ctx = h,
    };
    dp_buf reply;
    buf_init(&reply, 64 * 1024);
    int status = 0;
    (void)uazapi_sender.webhook(f->s, &req, &status, &reply);
    buf_free(&reply);
    return status;
}

static int hook(struct fx *f, const char *body)
{
    return hook_full(f, "POST", SECRET, NULL, body, strlen(body));
}

static const char *const read_receipt =
    "{\"BaseUrl\":\"https://free.uazapi.com\",\"EventType\":\"messages_update\","
    "\"instanceName\":\"loja\",\"owner\":\"5511888887777\",\"token\":\"" TOKEN "\","
    "\"type\":\"ReadReceipt\",\"state\":\"Read\",\"event\":{\"Chat\":\"" PHONE
    "@s.whatsapp.net\",\"IsFromMe\":false,\"IsGroup\":false,"
    "\"MessageIDs\":[\"3EB0000100\",\"3EB0000101\"],\"Sender\":\"" PHONE
    "@s.whatsapp.net\",\"Timestamp\":\"2025-01-24T14:00:00Z\",\"Type\":\"Read\"}}";

static void test_webhook_secret(void **state)
{
    struct fx *f = *state;
    make(f, "");
    size_t n = strlen(read_receipt);
    assert_int_equal(hook_full(f, "POST", "wrong-secret-0123456789", NULL, read_receipt, n), 401);
    assert_int_equal(hook_full(f, "POST", SECRET "x", NULL, read_receipt, n), 401);
    assert_int_equal(hook_full(f, "POST", "w3bh00k", NULL, read_receipt, n), 401);
    assert_int_equal(hook_full(f, "POST", NULL, NULL, read_receipt, n), 401);
    struct hdr wrong = {"X-Disparo-Secret", "nope"};
    assert_int_equal(hook_full(f, "POST", NULL, &wrong, read_receipt, n), 401);
    /* the path decides when there is one, even with a right header */
    struct hdr right = {"x-disparo-secret", SECRET};
    assert_int_equal(hook_full(f, "POST", "wrong-secret-0123456789", &right, read_receipt, n), 401);
    assert_int_equal(f->n_receipts, 0);

    assert_int_equal(hook_full(f, "POST", SECRET, NULL, read_receipt, n), 200);
    assert_int_equal(f->n_receipts, 2);
    assert_int_equal(hook_full(f, "POST", NULL, &right, read_receipt, n), 200);
    assert_int_equal(f->n_receipts, 4);
    /* addUrlEvents / addUrlTypesMessages append segments after the secret */
    assert_int_equal(hook_full(f, "POST", SECRET "/messages_update", NULL, read_receipt, n), 200);
    assert_int_equal(f->n_receipts, 6);
    assert_int_equal(hook_full(f, "POST", SECRET "x/messages_update", NULL, read_receipt, n), 401);
    assert_int_equal(f->n_receipts, 6);
    /* the secret is checked before anything else is looked at */
    assert_int_equal(hook_full(f, "GET", "nope", NULL, "", 0), 401);
    assert_int_equal(hook_full(f, "GET", SECRET, NULL, "", 0), 405);
}

static void test_webhook_receipts(void **state)
{
    struct fx *f = *state;
    make(f, "");
    assert_int_equal(hook(f, read_receipt), 200);
    assert_int_equal(f->n_receipts, 2);
    assert_string_equal(f->receipts[0].id, "3EB0000100");
    assert_int_equal(f->receipts[0].st, RECEIPT_READ);
    assert_string_equal(f->receipts[1].id, "3EB0000101");
    assert_int_equal(f->receipts[1].st, RECEIPT_READ);

    assert_int_equal(hook(f, "{\"EventType\":\"messages_update\",\"type\":\"ReadReceipt\","
                             "\"state\":\"Delivered\",\"event\":{\"MessageIDs\":[\"A1\"],"
                             "\"Type\":\"Delivered\",\"IsFromMe\":\"False\"}}"),
                     200);
    assert_int_equal(f->n_receipts, 3);
    assert_string_equal(f->receipts[2].id, "A1");
    assert_int_equal(f->receipts[2].st, RECEIPT_DELIVERED);

    /* no top-level state: event.Type decides; Played counts as read */
    assert_int_equal(hook(f,
                          "{\"EventType\":\"messages_update\",\"event\":{\"MessageIDs\":[\"A2\"],"
                          "\"Type\":\"Played\"}}"),
                     200);
    assert_int_equal(f->receipts[3].st, RECEIPT_READ);
    assert_int_equal(hook(f, "{\"EventType\":\"messages_update\",\"state\":\"Sent\","
                             "\"event\":{\"MessageIDs\":[\"A3\"]}}"),
                     200);
    assert_int_equal(f->receipts[4].st, RECEIPT_SENT);
    assert_int_equal(hook(f, "{\"EventType\":\"messages_update\",\"state\":\"Failed\","
                             "\"event\":{\"MessageIDs\":[\"A4\"]}}"),
                     200);
    assert_int_equal(f->receipts[5].st, RECEIPT_FAILED);
    assert_string_equal(f->receipts[5].code, "uazapi_Failed");
    assert_int_equal(f->n_receipts, 6);

    /* our own reading on another device, deletions, junk: nothing */
    assert_int_equal(hook(f, "{\"EventType\":\"messages_update\",\"state\":\"ReadSelf\","
                             "\"event\":{\"MessageIDs\":[\"B1\"],\"Type\":\"ReadSelf\"}}"),
                     200);
    assert_int_equal(hook(f, "{\"EventType\":\"messages_update\",\"type\":\"DeletedMessage\","
                             "\"state\":\"Deleted\",\"event\":{\"MessageIDs\":[\"B2\"]}}"),
                     200);
    assert_int_equal(hook(f, "{\"EventType\":\"messages_update\",\"state\":\"Read\","
                             "\"event\":{\"MessageIDs\":\"B3\"}}"),
                     200);
    assert_int_equal(hook(f, "{\"EventType\":\"messages_update\",\"state\":\"Read\","
                             "\"event\":{\"MessageIDs\":[5, \"\", null]}}"),
                     200);
    assert_int_equal(f->n_receipts, 6);

    /* the spec's own envelope: WebhookEvent {event: "status", data: Message} */
    assert_int_equal(hook(f, "{\"event\":\"status\",\"instance\":\"i91011ijkl\",\"data\":"
                             "{\"id\":\"5511888887777:3EB0C0FFEE\",\"status\":\"delivered\"}}"),
                     200);
    assert_int_equal(f->n_receipts, 7);
    assert_string_equal(f->receipts[6].id, "3EB0C0FFEE");
    assert_int_equal(f->receipts[6].st, RECEIPT_DELIVERED);
}

static void test_webhook_inbound(void **state)
{
    struct fx *f = *state;
    make(f, "");
    assert_int_equal(
        hook(f, "{\"BaseUrl\":\"https://free.uazapi.com\",\"EventType\":\"messages\","
                "\"owner\":\"5511888887777\",\"chat\":{\"phone\":\"+55 11 99999-0001\"},"
                "\"message\":{\"id\":\"5511888887777:3EBAAA\",\"messageid\":\"3EBAAA\","
                "\"chatid\":\"" PHONE "@s.whatsapp.net\",\"sender\":\"" PHONE "@s.whatsapp.net\","
                "\"senderName\":\"Ana\",\"fromMe\":false,\"isGroup\":false,"
                "\"wasSentByApi\":false,\"messageType\":\"Conversation\",\"text\":\"SAIR\","
                "\"quoted\":\"\",\"buttonOrListid\":\"\",\"messageTimestamp\":1706112000000}}"),
        200);
    assert_int_equal(f->n_inbound, 1);
    assert_string_equal(f->inbound[0].from, PHONE);
    assert_string_equal(f->inbound[0].text, "SAIR");
    assert_int_equal(f->inbound[0].has_button, 0);
    assert_int_equal(f->inbound[0].has_context, 0);

    /* a button click quoting our menu; the contact's chat is a LID */
    assert_int_equal(
        hook(f, "{\"EventType\":\"messages\",\"message\":{\"messageid\":\"3EBBBB\","
                "\"chatid\":\"178127386492:4@lid\",\"sender_pn\":\"5511988887777@s.whatsapp.net\","
                "\"sender\":\"178127386492@lid\",\"fromMe\":\"False\",\"isGroup\":false,"
                "\"messageType\":\"ButtonsResponseMessage\",\"text\":\"Sim\","
                "\"buttonOrListid\":\"yes\",\"quoted\":\"3EB0000100\"}}"),
        200);
    assert_int_equal(f->n_inbound, 2);
    assert_string_equal(f->inbound[1].from, "5511988887777");
    assert_string_equal(f->inbound[1].text, "Sim");
    assert_string_equal(f->inbound[1].button, "yes");
    assert_string_equal(f->inbound[1].context, "3EB0000100");

    /* a device suffix on the JID; an image without caption is a reply too */
    assert_int_equal(hook(f, "{\"EventType\":\"messages\",\"message\":{\"chatid\":"
                             "\"5511977776666:12@s.whatsapp.net\",\"fromMe\":false,"
                             "\"messageType\":\"ImageMessage\"}}"),
                     200);
    assert_int_equal(f->n_inbound, 3);
    assert_string_equal(f->inbound[2].from, "5511977776666");
    assert_string_equal(f->inbound[2].text, "");

    /* ours, groups, reactions, no phone anywhere: ignored, still 200 */
    const char *ignored[] = {
        "{\"EventType\":\"messages\",\"message\":{\"chatid\":\"" PHONE
        "@s.whatsapp.net\",\"fromMe\":true,\"text\":\"Oi\"}}",
        "{\"EventType\":\"messages\",\"message\":{\"chatid\":\"" PHONE
        "@s.whatsapp.net\",\"fromMe\":\"True\",\"text\":\"Oi\"}}",
        "{\"EventType\":\"messages\",\"message\":{\"chatid\":\"" PHONE
        "@s.whatsapp.net\",\"fromMe\":false,\"wasSentByApi\":true,\"text\":\"Oi\"}}",
        "{\"EventType\":\"messages\",\"message\":{\"chatid\":\"120363012345678901@g.us\","
        "\"sender\":\"" PHONE "@s.whatsapp.net\",\"isGroup\":true,\"text\":\"Oi\"}}",
        "{\"EventType\":\"messages\",\"message\":{\"chatid\":\"120363012345678901@g.us\","
        "\"text\":\"Oi\"}}",
        "{\"EventType\":\"messages\",\"message\":{\"chatid\":\"" PHONE
        "@s.whatsapp.net\",\"messageType\":\"ReactionMessage\",\"text\":\"👍\"}}",
        "{\"EventType\":\"messages\",\"message\":{\"chatid\":\"999@lid\",\"text\":\"Oi\"}}",
        "{\"EventType\":\"messages\",\"message\":\"not an object\"}",
        "{\"EventType\":\"messages\"}",
    };
    for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++)
        assert_int_equal(hook(f, ignored[i]), 200);
    assert_int_equal(f->n_inbound, 3);

    /* the spec's own envelope: WebhookEvent {event: "message", data: Message} */
    assert_int_equal(hook(f, "{\"event\":\"message\",\"instance\":\"i91011ijkl\",\"data\":"
                             "{\"messageid\":\"3EBCCC\",\"chatid\":\"r5f6g7h8\",\"sender\":\"" PHONE
                             "@s.whatsapp.net\",\"fromMe\":false,\"text\":\"Quero\"}}"),
                     200);
    assert_int_equal(f->n_inbound, 4);
    assert_string_equal(f->inbound[3].from, PHONE);
    assert_string_equal(f->inbound[3].text, "Quero");
    assert_int_equal(f->n_receipts, 0);
}

static void test_webhook_connection_and_junk(void **state)
{
    struct fx *f = *state;
    make(f, "");
    assert_int_equal(hook(f, "{\"EventType\":\"connection\",\"instance\":{\"name\":\"loja\","
                             "\"status\":\"disconnected\"},\"type\":\"LoggedOut\"}"),
                     200);
    assert_int_equal(hook(f, "{\"EventType\":\"presence\",\"event\":{}}"), 200);
    assert_int_equal(hook(f, "{}"), 200);
    assert_int_equal(f->n_receipts + f->n_inbound, 0);

    assert_int_equal(hook(f, "{\"EventType\": \"messages\""), 400);
    assert_int_equal(hook(f, "[1, 2]"), 400);
    assert_int_equal(hook(f, "\"messages\""), 400);
    assert_int_equal(hook_full(f, "POST", SECRET, NULL, "", 0), 400);
    /* NUL inside the body is not JSON */
    assert_int_equal(hook_full(f, "POST", SECRET, NULL, "{}\0{}", 5), 400);

    size_t big = ((size_t)1 << 20) + 1;
    char *body = malloc(big);
    assert_non_null(body);
    memset(body, ' ', big);
    body[0] = '{';
    body[big - 1] = '}';
    assert_int_equal(hook_full(f, "POST", SECRET, NULL, body, big), 413);
    assert_int_equal(hook_full(f, "POST", SECRET, NULL, body, big - 1), 400);
    body[big - 2] = '}';
    assert_int_equal(hook_full(f, "POST", SECRET, NULL, body, big - 1), 200);
    free(body);
}

/* ---- health ---- */

static void health(struct fx *f)
{
    sendercheck_health(f->base, &uazapi_sender, f->s, on_health, f, &f->n_health);
}

static void test_health(void **state)
{
    struct fx *f = *state;
    make(f, "");
    health(f);
    assert_int_equal(f->n_bad, 0);
    assert_string_equal(last_rec(f)->method, "GET");
    assert_string_equal(last_rec(f)->path, "/instance/status");
    assert_string_equal(last_rec(f)->token, TOKEN);
    assert_int_equal(f->health.ok, 1);
    assert_string_equal(f->health.state, "connected");

    f->status_word = "disconnected";
    health(f);
    assert_int_equal(f->health.ok, 0);
    assert_string_equal(f->health.state, "disconnected");
    assert_string_equal(f->health.detail, "logged out from another device");

    f->status_word = "connecting";
    health(f);
    assert_int_equal(f->health.ok, 0);
    assert_string_equal(f->health.state, "connecting");

    f->inj = INJ_NO_SESSION;
    health(f);
    assert_int_equal(f->health.ok, 0);
    assert_string_equal(f->health.state, "disconnected");

    f->inj = INJ_500;
    health(f);
    assert_int_equal(f->health.ok, 0);
    assert_string_equal(f->health.state, "http_500");
}

static void test_health_bad_token_and_unreachable(void **state)
{
    struct fx *f = *state;
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d", f->port);
    dp_err e = {0};
    json_t *cfg = json_pack("{s:s, s:s}", "base_url", base, "token", "wrong-token");
    assert_int_equal(uazapi_sender.validate(cfg, &e), DP_OK);
    assert_int_equal(uazapi_sender.create(&f->env, 9, cfg, &f->s, &e), DP_OK);
    json_decref(cfg);
    health(f);
    assert_int_equal(f->health.ok, 0);
    assert_string_equal(f->health.state, "unauthorized");
    assert_string_equal(f->health.detail, "Invalid token");
    uazapi_sender.destroy(f->s);
    f->s = NULL;

    snprintf(base, sizeof base, "http://127.0.0.1:%d", fakehttp_dead_port());
    make_at(f, base, "");
    health(f);
    assert_int_equal(f->health.ok, 0);
    assert_string_equal(f->health.state, "unreachable");
    assert_true(f->health.detail[0] != '\0');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validate_errors),
        cmocka_unit_test(test_validate_defaults),
        cmocka_unit_test_setup_teardown(test_max_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_text_with_delay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_media, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_buttons, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_rejects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disconnected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_429_500, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_4xx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_whatsapp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_number, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_ambiguous, setup, teardown),
        cmocka_unit_test_setup_teardown(test_latency, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dropped_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_finds_earlier_attempt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_proxy_closed_port, setup, teardown),
        cmocka_unit_test_setup_teardown(test_proxy_used, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_inside_done, setup, teardown),
        cmocka_unit_test_setup_teardown(test_webhook_secret, setup, teardown),
        cmocka_unit_test_setup_teardown(test_webhook_receipts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_webhook_inbound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_webhook_connection_and_junk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_health, setup, teardown),
        cmocka_unit_test_setup_teardown(test_health_bad_token_and_unreachable, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
