/* The Evolution API sender against a fake Evolution API v2 (evhttp on the same
 * loop). The fake checks every request the way the real gateway would (route
 * with the instance, the apikey header, the DTO's fields) and answers 400 to
 * anything else; it can be told to answer with each failure Evolution has.
 * Also: config validation, the webhook receiver and the health check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <strings.h>
#include <sys/socket.h>

#include "engine/timer.h"
#include "senders/sender.h"
#include "support/fakehttp.h"
#include "support/sendercheck.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/httpc.h"

extern const struct sender_vtab evolution_sender;
#define EV evolution_sender

#define INSTANCE "loja"
#define APIKEY "B6D711FCDE4D4FD5936544120E713976"
#define SECRET "0123456789abcdef0123456789abcdef"

/* What the fake does with the next requests. */
enum fake_mode {
    FAKE_OK,
    FAKE_CLOSED_500, /* Baileys "Connection Closed", as v2.3 answers it */
    FAKE_CLOSED_400, /* the same, as later builds answer it */
    FAKE_UNAUTH,     /* 401 even with the right key: revoked */
    FAKE_NO_WA,      /* 400 with an OnWhatsAppDto {exists: false} */
    FAKE_RATE,       /* 429 with Retry-After */
    FAKE_ERR_500,    /* a generic 500 */
    FAKE_BAD_MEDIA,  /* a 400 about the message itself */
    FAKE_SILENT,     /* never answer */
    FAKE_DROP,       /* close the connection without an answer */
};

struct rec_receipt {
    char pid[128];
    enum receipt_status st;
    char code[64];
    int64_t sid;
};

struct rec_inbound {
    char from[32];
    char text[256];
    char button[64];
    char ctx[128];
    int has_button, has_ctx;
};

struct fx {
    struct event_base *base;
    struct evhttp *http;
    struct sender_hooks hooks;
    struct sender_env env;
    sender *s;
    int port;
    /* the fake gateway */
    enum fake_mode mode;
    int latency_ms;
    const char *conn_state; /* connectionState's answer; NULL = no state */
    int n_ids;
    /* what it got */
    int n_requests;
    char method[8];
    char path[512]; /* raw, still percent-encoded */
    char body[8192];
    char reject[256]; /* why the fake refused the last request; "" if it did not */
    /* what the sender reported */
    int n_done;
    struct send_result last;
    int n_health;
    struct sender_health health;
    int n_receipts;
    struct rec_receipt receipts[8];
    int n_inbound;
    struct rec_inbound inbound[8];
    int destroy_in_done;
};

/* ---- the fake Evolution API ---- */

/* Answers after the fake's latency, as Evolution's Express server does. */
static void answer(struct fx *f, struct evhttp_request *req, int status, const char *body,
                   const char *retry_after)
{
    fakehttp_reply_later(f->base, req, f->latency_ms, status, "application/json; charset=utf-8",
                         body, retry_after);
}

/* 400 the way Evolution's error handler shapes it, remembering why. */
static void refuse(struct fx *f, struct evhttp_request *req, const char *why)
{
    char body[512];
    snprintf(f->reject, sizeof f->reject, "%s", why);
    snprintf(body, sizeof body,
             "{\"status\":400,\"error\":\"Bad Request\",\"response\":{\"message\":[\"fake: %s\"]}}",
             why);
    answer(f, req, 400, body, NULL);
}

static int only_keys(const json_t *o, const char *const *allowed)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v)
    {
        size_t i = 0;
        while (allowed[i] && strcmp(allowed[i], k) != 0)
            i++;
        if (!allowed[i])
            return 0;
    }
    return 1;
}

static int nonempty_str(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_string(v) && json_string_length(v) > 0;
}

static int digits(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

/* The checks textMessageSchema / mediaMessageSchema / buttonsMessageSchema and
 * the service make; NULL when b is acceptable. */
static const char *check_body(const char *route, const json_t *b)
{
    if (!json_is_object(b))
        return "body is not a JSON object";
    if (!json_is_string(json_object_get(b, "number")) ||
        !digits(json_string_value(json_object_get(b, "number"))))
        return "number must be a string of digits";
    if (strcmp(route, "sendText") == 0) {
        static const char *const keys[] = {"number", "text", NULL};
        if (!only_keys(b, keys))
            return "sendText takes number and text";
        if (!nonempty_str(b, "text"))
            return "Text is required";
        return NULL;
    }
    if (strcmp(route, "sendMedia") == 0) {
        static const char *const keys[] = {"number",   "mediatype", "media", "caption",
                                           "fileName", "mimetype",  NULL};
        if (!only_keys(b, keys))
            return "sendMedia got an unknown field";
        const char *mt = json_string_value(json_object_get(b, "mediatype"));
        if (!mt || (strcmp(mt, "image") && strcmp(mt, "video") && strcmp(mt, "audio") &&
                    strcmp(mt, "document")))
            return "mediatype must be image, video, audio or document";
        const char *media = json_string_value(json_object_get(b, "media"));
        if (!media || strncmp(media, "http", 4) != 0)
            return "Owned media must be a url or base64";
        if (json_object_get(b, "caption") && !json_is_string(json_object_get(b, "caption")))
            return "caption must be a string";
        if (strcmp(mt, "document") == 0 && !nonempty_str(b, "fileName"))
            return "document without fileName";
        return NULL;
    }
    if (strcmp(route, "sendButtons") == 0) {
        static const char *const keys[] = {"number",       "title",   "description", "footer",
                                           "thumbnailUrl", "buttons", NULL};
        static const char *const bkeys[] = {"type", "displayText", "id", NULL};
        if (!only_keys(b, keys))
            return "sendButtons got an unknown field";
        if (!nonempty_str(b, "title"))
            return "title is required";
        const json_t *bs = json_object_get(b, "buttons");
        if (!json_is_array(bs) || json_array_size(bs) == 0)
            return "At least one button is required";
        if (json_array_size(bs) > 3)
            return "Maximum of 3 reply buttons allowed";
        size_t i;
        const json_t *it;
        json_array_foreach(bs, i, it)
        {
            if (!json_is_object(it) || !only_keys(it, bkeys) ||
                !json_is_string(json_object_get(it, "type")) ||
                strcmp(json_string_value(json_object_get(it, "type")), "reply") != 0 ||
                !nonempty_str(it, "displayText") || !nonempty_str(it, "id"))
                return "each button must be {type: reply, displayText, id}";
        }
        return NULL;
    }
    return "unknown route";
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct fx *f = arg;
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    char body[1024];

    f->n_requests++;
    f->reject[0] = '\0';
    snprintf(f->method, sizeof f->method, "%s", fakehttp_method(req));
    const char *p = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    snprintf(f->path, sizeof f->path, "%s", p ? p : "");
    fakehttp_body(req, f->body, sizeof f->body);

    if (f->mode == FAKE_SILENT)
        return; /* the client times out; evhttp_free reclaims the request */
    if (f->mode == FAKE_DROP) {
        struct bufferevent *bev =
            evhttp_connection_get_bufferevent(evhttp_request_get_connection(req));
        shutdown(bufferevent_getfd(bev), SHUT_RDWR);
        return;
    }

    /* authGuard.apikey: no or wrong key -> 401 */
    const char *key = evhttp_find_header(in, "apikey");
    if (!key || strcmp(key, APIKEY) != 0 || f->mode == FAKE_UNAUTH) {
        answer(f, req, 401,
               "{\"status\":401,\"error\":\"Unauthorized\",\"response\":{\"message\":"
               "\"Unauthorized\"}}",
               NULL);
        return;
    }

    /* /{message|instance}/{route}/{instanceName} */
    char group[32], route[64], inst_raw[256];
    if (sscanf(f->path, "/%31[^/]/%63[^/]/%255[^/]", group, route, inst_raw) != 3 ||
        !((strcmp(group, "message") == 0 && cmd == EVHTTP_REQ_POST &&
           (strcmp(route, "sendText") == 0 || strcmp(route, "sendMedia") == 0 ||
            strcmp(route, "sendButtons") == 0)) ||
          (strcmp(group, "instance") == 0 && cmd == EVHTTP_REQ_GET &&
           strcmp(route, "connectionState") == 0))) {
        snprintf(body, sizeof body,
                 "{\"status\":404,\"error\":\"Not Found\",\"response\":{\"message\":[\"Cannot "
                 "%s %.200s\"]}}",
                 f->method, f->path);
        answer(f, req, 404, body, NULL);
        return;
    }
    size_t il = 0;
    char *inst = evhttp_uridecode(inst_raw, 0, &il);
    if (strcmp(inst, INSTANCE) != 0 && strcmp(inst, "loja 1/sp") != 0) {
        snprintf(body, sizeof body,
                 "{\"status\":404,\"error\":\"Not Found\",\"response\":{\"message\":[\"The "
                 "\\\"%.64s\\\" instance does not exist\"]}}",
                 inst);
        free(inst);
        answer(f, req, 404, body, NULL);
        return;
    }

    if (strcmp(group, "instance") == 0) {
        if (f->conn_state)
            snprintf(body, sizeof body, "{\"instance\":{\"instanceName\":\"%s\",\"state\":\"%s\"}}",
                     inst, f->conn_state);
        else
            snprintf(body, sizeof body, "{\"instance\":{\"instanceName\":\"%s\"}}", inst);
        free(inst);
        answer(f, req, 200, body, NULL);
        return;
    }
    free(inst);

    const char *ct = evhttp_find_header(in, "Content-Type");
    if (!ct || strncasecmp(ct, "application/json", 16) != 0) {
        refuse(f, req, "Content-Type must be application/json");
        return;
    }
    json_t *b = json_loads(f->body, 0, NULL);
    const char *why = check_body(route, b);
    if (why) {
        json_decref(b);
        refuse(f, req, why);
        return;
    }
    const char *number = json_string_value(json_object_get(b, "number"));

    switch (f->mode) {
    case FAKE_CLOSED_500:
        answer(f, req, 500,
               "{\"status\":500,\"error\":\"Internal Server Error\",\"response\":{\"message\":["
               "\"Error: Connection Closed\"]}}",
               NULL);
        break;
    case FAKE_CLOSED_400:
        answer(f, req, 400,
               "{\"status\":400,\"error\":\"Bad Request\",\"response\":{\"message\":[\"Error: "
               "Connection Closed\"]}}",
               NULL);
        break;
    case FAKE_NO_WA:
        snprintf(body, sizeof body,
                 "{\"status\":400,\"error\":\"Bad Request\",\"response\":{\"message\":[{\"jid\":"
                 "\"%s@s.whatsapp.net\",\"exists\":false,\"number\":\"%s\"}]}}",
                 number, number);
        answer(f, req, 400, body, NULL);
        break;
    case FAKE_RATE:
        answer(f, req, 429,
               "{\"status\":429,\"error\":\"Too Many Requests\",\"response\":{\"message\":"
               "\"Too Many Requests\"}}",
               "7");
        break;
    case FAKE_ERR_500:
        answer(f, req, 500,
               "{\"status\":500,\"error\":\"Internal Server Error\",\"response\":{\"message\":"
               "\"Internal Server Error\"}}",
               NULL);
        break;
    case FAKE_BAD_MEDIA:
        answer(f, req, 400,
               "{\"status\":400,\"error\":\"Bad Request\",\"response\":{\"message\":[\"Owned "
               "media must be a url or base64\"]}}",
               NULL);
        break;
    default:
        /* the sent WAMessage, status PENDING, as sendMessageWithTyping returns it */
        f->n_ids++;
        snprintf(body, sizeof body,
                 "{\"key\":{\"remoteJid\":\"%s@s.whatsapp.net\",\"fromMe\":true,\"id\":"
                 "\"3EB0%04d\"},\"pushName\":\"\",\"status\":\"PENDING\",\"message\":{},"
                 "\"messageType\":\"conversation\",\"messageTimestamp\":1730000000,"
                 "\"instanceId\":\"a1b2\",\"source\":\"unknown\"}",
                 number, f->n_ids);
        answer(f, req, 201, body, NULL);
        break;
    }
    json_decref(b);
}

/* ---- fixture ---- */

static void on_receipt(void *ud, int64_t sid, const char *pid, enum receipt_status st,
                       const char *code, const char *detail)
{
    struct fx *f = ud;
    (void)detail;
    assert_true(f->n_receipts < 8);
    struct rec_receipt *r = &f->receipts[f->n_receipts++];
    snprintf(r->pid, sizeof r->pid, "%s", pid);
    r->st = st;
    snprintf(r->code, sizeof r->code, "%s", code ? code : "");
    r->sid = sid;
}

static void on_inbound(void *ud, int64_t sid, const char *from, const char *text,
                       const char *button_id, const char *context_id)
{
    struct fx *f = ud;
    assert_int_equal(sid, 9);
    assert_true(f->n_inbound < 8);
    struct rec_inbound *r = &f->inbound[f->n_inbound++];
    snprintf(r->from, sizeof r->from, "%s", from);
    snprintf(r->text, sizeof r->text, "%s", text);
    r->has_button = button_id != NULL;
    snprintf(r->button, sizeof r->button, "%s", button_id ? button_id : "");
    r->has_ctx = context_id != NULL;
    snprintf(r->ctx, sizeof r->ctx, "%s", context_id ? context_id : "");
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->base = event_base_new();
    f->http = fakehttp_listen(f->base, on_request, f, 0, &f->port);
    f->hooks.ud = f;
    f->hooks.receipt = on_receipt;
    f->hooks.inbound = on_inbound;
    fakehttp_env(&f->env, f->base, &f->hooks);
    f->conn_state = "open";
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    EV.destroy(f->s);
    fakehttp_env_free(&f->env);
    evhttp_free(f->http);
    event_base_free(f->base);
    free(f);
    return 0;
}

/* Builds the sender aimed at our fake: base_url gets path appended, instance
 * is the (JSON-escaped) instance name, extra adds fields ("" for none). */
static void make_full(struct fx *f, int port, const char *path, const char *instance,
                      const char *extra)
{
    char text[1024];
    dp_err e = {0};
    snprintf(text, sizeof text,
             "{\"base_url\": \"http://127.0.0.1:%d%s\", \"instance\": \"%s\", \"apikey\": \"%s\", "
             "\"webhook_secret\": \"%s\"%s%s}",
             port, path, instance, APIKEY, SECRET, *extra ? ", " : "", extra);
    json_t *cfg = json_loads(text, 0, NULL);
    assert_non_null(cfg);
    if (EV.validate(cfg, &e) != DP_OK)
        fail_msg("validate: %s", e.msg);
    assert_int_equal(EV.create(&f->env, 9, cfg, &f->s, &e), DP_OK);
    json_decref(cfg);
}

static void make(struct fx *f, const char *extra)
{
    make_full(f, f->port, "", INSTANCE, extra);
}

static void on_done(void *ud, const struct send_result *r)
{
    struct fx *f = ud;
    f->n_done++;
    f->last = *r;
    if (f->destroy_in_done && f->s) {
        EV.destroy(f->s);
        f->s = NULL;
    }
}

static void send_msg(struct fx *f, const struct sender_msg *m)
{
    sendercheck_send(f->base, &EV, f->s, m, on_done, f, &f->n_done);
}

static void send_text(struct fx *f)
{
    struct sender_msg m = {.message_id = 7,
                           .campaign_id = 3,
                           .to = "5511999990001",
                           .text = "Olá, \"Ana\"\n",
                           .idempotency_key = "c3-m7",
                           .attempt = 1};
    send_msg(f, &m);
}

static json_t *last_body(struct fx *f)
{
    json_t *b = json_loads(f->body, 0, NULL);
    assert_non_null(b);
    return b;
}

static void assert_str(const json_t *o, const char *k, const char *want)
{
    const json_t *v = json_object_get(o, k);
    if (!json_is_string(v))
        fail_msg("\"%s\" is not a string", k);
    assert_string_equal(json_string_value(v), want);
}

/* ---- each kind of message ---- */

static void test_text(void **state)
{
    struct fx *f = *state;
    make(f, "");
    send_text(f);
    assert_string_equal(f->reject, "");
    assert_string_equal(f->method, "POST");
    assert_string_equal(f->path, "/message/sendText/" INSTANCE);
    json_t *b = last_body(f);
    assert_int_equal(json_object_size(b), 2); /* v2: flat {number, text}, no textMessage */
    assert_str(b, "number", "5511999990001");
    assert_str(b, "text", "Olá, \"Ana\"\n");
    json_decref(b);
    assert_int_equal(f->last.outcome, SEND_OK);
    assert_string_equal(f->last.provider_id, "3EB00001");
    assert_string_equal(f->last.code, "");
    assert_int_equal(f->last.action, ACT_NONE);
}

static void test_media(void **state)
{
    struct fx *f = *state;
    make(f, "");
    struct sender_media img = {.url = "https://cdn.example.com/p/promo.jpg", .kind = "image"};
    struct sender_msg m = {.message_id = 1,
                           .to = "5511999990001",
                           .text = "Promoção!",
                           .idempotency_key = "k",
                           .attempt = 1,
                           .media = &img};
    send_msg(f, &m);
    assert_string_equal(f->reject, "");
    assert_string_equal(f->path, "/message/sendMedia/" INSTANCE);
    json_t *b = last_body(f);
    assert_int_equal(json_object_size(b), 4);
    assert_str(b, "number", "5511999990001");
    assert_str(b, "mediatype", "image");
    assert_str(b, "media", "https://cdn.example.com/p/promo.jpg");
    assert_str(b, "caption", "Promoção!");
    json_decref(b);
    assert_int_equal(f->last.outcome, SEND_OK);
    assert_string_equal(f->last.provider_id, "3EB00001");

    /* a document keeps its file name; no caption when the text is empty */
    struct sender_media doc = {.url = "https://cdn.example.com/f/x?sig=1",
                               .kind = "document",
                               .filename = "Tabela 2025.pdf"};
    m.media = &doc;
    m.text = "";
    send_msg(f, &m);
    assert_string_equal(f->reject, "");
    b = last_body(f);
    assert_int_equal(json_object_size(b), 4);
    assert_str(b, "mediatype", "document");
    assert_str(b, "fileName", "Tabela 2025.pdf");
    assert_null(json_object_get(b, "caption"));
    json_decref(b);

    /* ...or gets one from the URL, since Evolution cannot cope without */
    doc.filename = NULL;
    doc.url = "https://cdn.example.com/files/boleto.pdf?sig=abc#p1";
    send_msg(f, &m);
    b = last_body(f);
    assert_str(b, "fileName", "boleto.pdf");
    json_decref(b);
    doc.url = "https://cdn.example.com/";
    send_msg(f, &m);
    b = last_body(f);
    assert_str(b, "fileName", "document");
    json_decref(b);
    /* an over-long name is cut on a character boundary, not refused */
    static char longname[400];
    memset(longname, 'a', 254);
    memcpy(longname + 254, "\xc3\xa9.pdf", 7);
    doc.filename = longname;
    send_msg(f, &m);
    assert_string_equal(f->reject, "");
    b = last_body(f);
    assert_int_equal(json_string_length(json_object_get(b, "fileName")), 254);
    json_decref(b);
    doc.filename = NULL;

    struct sender_media vid = {.url = "http://cdn.example.com/v.mp4", .kind = "video"};
    struct sender_media aud = {.url = "http://cdn.example.com/a.ogg", .kind = "audio"};
    m.media = &vid;
    m.text = "veja";
    send_msg(f, &m);
    b = last_body(f);
    assert_str(b, "mediatype", "video");
    assert_null(json_object_get(b, "fileName"));
    json_decref(b);
    m.media = &aud;
    send_msg(f, &m);
    b = last_body(f);
    assert_str(b, "mediatype", "audio");
    json_decref(b);
    assert_int_equal(f->last.outcome, SEND_OK);
    assert_string_equal(f->reject, "");
}

static void test_buttons(void **state)
{
    struct fx *f = *state;
    make(f, "");
    struct sender_button bs[] = {{.id = "yes", .title = "Sim"}, {.id = "stop", .title = "Sair"}};
    struct sender_msg m = {.message_id = 1,
                           .to = "5511999990001",
                           .text = "Quer ofertas?",
                           .idempotency_key = "k",
                           .attempt = 1,
                           .buttons = bs,
                           .nbuttons = 2};
    send_msg(f, &m);
    assert_string_equal(f->reject, "");
    assert_string_equal(f->path, "/message/sendButtons/" INSTANCE);
    json_t *b = last_body(f);
    assert_int_equal(json_object_size(b), 3);
    assert_str(b, "number", "5511999990001");
    assert_str(b, "title", "Quer ofertas?");
    const json_t *arr = json_object_get(b, "buttons");
    assert_int_equal(json_array_size(arr), 2);
    assert_int_equal(json_object_size(json_array_get(arr, 0)), 3);
    assert_str(json_array_get(arr, 0), "type", "reply");
    assert_str(json_array_get(arr, 0), "displayText", "Sim");
    assert_str(json_array_get(arr, 0), "id", "yes");
    assert_str(json_array_get(arr, 1), "displayText", "Sair");
    assert_str(json_array_get(arr, 1), "id", "stop");
    json_decref(b);
    assert_int_equal(f->last.outcome, SEND_OK);
    assert_string_equal(f->last.provider_id, "3EB00001");

    /* an image rides along as the thumbnail */
    struct sender_media img = {.url = "https://cdn.example.com/p.png", .kind = "image"};
    m.media = &img;
    send_msg(f, &m);
    assert_string_equal(f->reject, "");
    b = last_body(f);
    assert_str(b, "thumbnailUrl", "https://cdn.example.com/p.png");
    json_decref(b);
}

static void test_send_rejects(void **state)
{
    struct fx *f = *state;
    make(f, "");
    struct sender_button four[] = {{"a", "A"}, {"b", "B"}, {"c", "C"}, {"d", "D"}};
    struct sender_button empty_id[] = {{"", "A"}};
    struct sender_media vid = {.url = "https://x/v.mp4", .kind = "video"};
    struct sender_media bad_kind = {.url = "https://x/s.webp", .kind = "sticker"};
    struct sender_media bad_url = {.url = "file:///etc/passwd", .kind = "image"};
    const char *params[] = {"Ana"};
    struct sender_template t = {
        .name = "promo", .language = "pt_BR", .params = params, .nparams = 1};
    struct sender_msg base = {
        .message_id = 1, .to = "5511999990001", .text = "x", .idempotency_key = "k", .attempt = 1};
    struct sender_msg m;

    m = base;
    m.tmpl = &t; /* templates are a Cloud API thing */
    assert_int_equal(EV.send(f->s, &m, on_done, f), DP_EINVAL);
    m = base;
    m.buttons = four;
    m.nbuttons = 4;
    assert_int_equal(EV.send(f->s, &m, on_done, f), DP_EINVAL);
    m = base;
    m.buttons = empty_id;
    m.nbuttons = 1;
    assert_int_equal(EV.send(f->s, &m, on_done, f), DP_EINVAL);
    m = base;
    m.buttons = four;
    m.nbuttons = 2;
    m.media = &vid;
    assert_int_equal(EV.send(f->s, &m, on_done, f), DP_EINVAL);
    m = base;
    m.media = &bad_kind;
    assert_int_equal(EV.send(f->s, &m, on_done, f), DP_EINVAL);
    m = base;
    m.media = &bad_url;
    assert_int_equal(EV.send(f->s, &m, on_done, f), DP_EINVAL);
    m = base;
    m.text = " \n ";
    assert_int_equal(EV.send(f->s, &m, on_done, f), DP_EINVAL);
    m = base;
    m.to = "+5511999990001";
    assert_int_equal(EV.send(f->s, &m, on_done, f), DP_EINVAL);
    m = base;
    m.text = "\xff\xfe";
    assert_int_equal(EV.send(f->s, &m, on_done, f), DP_EINVAL);
    m.buttons = four; /* the half-built buttons body must not leak */
    m.nbuttons = 2;
    assert_int_equal(EV.send(f->s, &m, on_done, f), DP_EINVAL);
    m.text = "ok";
    struct sender_button bad_title[] = {{"a", "\xc3"}};
    m.buttons = bad_title;
    m.nbuttons = 1;
    assert_int_equal(EV.send(f->s, &m, on_done, f), DP_EINVAL);
    fakehttp_run_for(f->base, 50);
    assert_int_equal(httpc_in_flight(f->env.http), 0);
    assert_int_equal(f->n_requests, 0);
    assert_int_equal(f->n_done, 0);
}

static void test_instance_escaped(void **state)
{
    struct fx *f = *state;
    make_full(f, f->port, "/", "loja 1/sp", ""); /* trailing '/' on base_url too */
    send_text(f);
    assert_string_equal(f->reject, "");
    assert_string_equal(f->path, "/message/sendText/loja%201%2Fsp");
    assert_int_equal(f->last.outcome, SEND_OK);
}

/* ---- each way Evolution says no ---- */

static void test_unauthorized(void **state)
{
    struct fx *f = *state;
    make(f, "");
    f->mode = FAKE_UNAUTH;
    send_text(f);
    assert_int_equal(f->last.outcome, SEND_TRANSIENT);
    assert_int_equal(f->last.action, ACT_STOP_SENDER);
    assert_int_equal(f->last.sender_fault, 1);
    assert_int_equal(f->last.no_whatsapp, 0);
    assert_string_equal(f->last.code, "evolution_http_401");
    assert_string_equal(f->last.detail, "Unauthorized");
}

static void test_wrong_apikey(void **state)
{
    struct fx *f = *state;
    char text[512];
    dp_err e = {0};
    snprintf(text, sizeof text,
             "{\"base_url\": \"http://127.0.0.1:%d\", \"instance\": \"loja\", \"apikey\": "
             "\"nope\"}",
             f->port);
    json_t *cfg = json_loads(text, 0, NULL);
    assert_int_equal(EV.validate(cfg, &e), DP_OK);
    assert_int_equal(EV.create(&f->env, 9, cfg, &f->s, &e), DP_OK);
    json_decref(cfg);
    send_text(f);
    assert_int_equal(f->last.action, ACT_STOP_SENDER);
    assert_string_equal(f->last.code, "evolution_http_401");
}

static void test_instance_not_connected(void **state)
{
    struct fx *f = *state;
    make(f, "");
    f->mode = FAKE_CLOSED_500;
    send_text(f);
    assert_int_equal(f->last.outcome, SEND_TRANSIENT);
    assert_int_equal(f->last.action, ACT_UNAVAILABLE);
    assert_int_equal(f->last.sender_fault, 1);
    assert_string_equal(f->last.code, "evolution_unavailable");
    assert_string_equal(f->last.detail, "Error: Connection Closed");
    f->mode = FAKE_CLOSED_400;
    send_text(f);
    assert_int_equal(f->last.outcome, SEND_TRANSIENT);
    assert_int_equal(f->last.action, ACT_UNAVAILABLE);
    assert_int_equal(f->last.no_whatsapp, 0);
}

static void test_instance_missing(void **state)
{
    struct fx *f = *state;
    make_full(f, f->port, "", "filial", "");
    send_text(f);
    assert_int_equal(f->last.outcome, SEND_TRANSIENT);
    assert_int_equal(f->last.action, ACT_UNAVAILABLE);
    assert_string_equal(f->last.code, "evolution_unavailable");
    assert_string_equal(f->last.detail, "The \"filial\" instance does not exist");
}

static void test_no_whatsapp(void **state)
{
    struct fx *f = *state;
    make(f, "");
    f->mode = FAKE_NO_WA;
    send_text(f);
    assert_int_equal(f->last.outcome, SEND_PERMANENT);
    assert_int_equal(f->last.no_whatsapp, 1);
    assert_int_equal(f->last.sender_fault, 0);
    assert_int_equal(f->last.action, ACT_NONE);
    assert_string_equal(f->last.code, "no_whatsapp");
    assert_string_equal(f->last.detail, "5511999990001 is not on WhatsApp");
}

static void test_rate_limited(void **state)
{
    struct fx *f = *state;
    make(f, "");
    f->mode = FAKE_RATE;
    send_text(f);
    assert_int_equal(f->last.outcome, SEND_TRANSIENT);
    assert_int_equal(f->last.sender_fault, 1);
    assert_int_equal(f->last.action, ACT_NONE);
    assert_int_equal(f->last.retry_after_ms, 7000);
    assert_string_equal(f->last.code, "evolution_http_429");
}

static void test_server_error(void **state)
{
    struct fx *f = *state;
    make(f, "");
    f->mode = FAKE_ERR_500;
    send_text(f);
    assert_int_equal(f->last.outcome, SEND_TRANSIENT);
    assert_int_equal(f->last.sender_fault, 1);
    assert_int_equal(f->last.action, ACT_NONE);
    assert_int_equal(f->last.retry_after_ms, 0);
    assert_string_equal(f->last.code, "evolution_http_500");
    assert_string_equal(f->last.detail, "Internal Server Error");
}

static void test_other_4xx(void **state)
{
    struct fx *f = *state;
    make(f, "");
    f->mode = FAKE_BAD_MEDIA;
    send_text(f);
    assert_int_equal(f->last.outcome, SEND_PERMANENT);
    assert_int_equal(f->last.sender_fault, 0);
    assert_int_equal(f->last.no_whatsapp, 0);
    assert_int_equal(f->last.action, ACT_NONE);
    assert_string_equal(f->last.code, "evolution_http_400");
    assert_string_equal(f->last.detail, "Owned media must be a url or base64");
}

static void test_route_missing(void **state)
{
    struct fx *f = *state;
    make_full(f, f->port, "/evo", INSTANCE, ""); /* base_url points at the wrong place */
    send_text(f);
    assert_string_equal(f->path, "/evo/message/sendText/" INSTANCE);
    assert_int_equal(f->last.outcome, SEND_PERMANENT);
    assert_int_equal(f->last.sender_fault, 1);
    assert_int_equal(f->last.action, ACT_BAD_TEMPLATE);
    assert_string_equal(f->last.code, "evolution_http_404");
}

static void test_latency(void **state)
{
    struct fx *f = *state;
    make(f, "\"timeout_ms\": 3000");
    f->latency_ms = 300;
    int64_t t0 = timer_now_us();
    send_text(f);
    assert_true(timer_now_us() - t0 >= 280000);
    assert_int_equal(f->last.outcome, SEND_OK);
    assert_string_equal(f->last.provider_id, "3EB00001");
}

static void test_timeout_is_ambiguous(void **state)
{
    struct fx *f = *state;
    make(f, "\"timeout_ms\": 200");
    f->mode = FAKE_SILENT;
    int64_t t0 = timer_now_us();
    send_text(f);
    assert_true(timer_now_us() - t0 >= 180000);
    assert_int_equal(f->n_requests, 1);
    assert_int_equal(f->last.outcome, SEND_AMBIGUOUS);
    assert_int_equal(f->last.sender_fault, 1);
    assert_string_equal(f->last.code, "timeout");
    assert_true(f->last.detail[0] != '\0');

    /* slower than the timeout is the same thing */
    f->mode = FAKE_OK;
    f->latency_ms = 600;
    send_text(f);
    assert_int_equal(f->last.outcome, SEND_AMBIGUOUS);
    fakehttp_run_for(f->base, 700); /* let the late answer go out before teardown */
}

static void test_dropped_connection(void **state)
{
    struct fx *f = *state;
    make(f, "");
    f->mode = FAKE_DROP;
    send_text(f);
    assert_int_equal(f->n_requests, 1);
    /* the request was read: the message may have gone out */
    assert_int_equal(f->last.outcome, SEND_AMBIGUOUS);
    assert_int_equal(f->last.sender_fault, 1);
    assert_string_equal(f->last.code, "network_error");
}

static void test_refused_is_transient(void **state)
{
    struct fx *f = *state;
    make_full(f, fakehttp_dead_port(), "", INSTANCE, "");
    send_text(f);
    assert_int_equal(f->last.outcome, SEND_TRANSIENT);
    assert_int_equal(f->last.sender_fault, 1);
    assert_string_equal(f->last.code, "connect_error");
}

static void test_proxy_never_direct(void **state)
{
    struct fx *f = *state;
    char extra[128];
    snprintf(extra, sizeof extra, "\"proxy\": \"http://127.0.0.1:%d\"", fakehttp_dead_port());
    make(f, extra);
    send_text(f);
    assert_int_equal(f->n_requests, 0); /* the fake was never reached */
    assert_int_equal(f->last.outcome, SEND_TRANSIENT);
    assert_string_equal(f->last.code, "connect_error");
    EV.destroy(f->s);
    f->s = NULL;

    snprintf(extra, sizeof extra, "\"proxy\": \"socks5h://u:p@127.0.0.1:%d\"",
             fakehttp_dead_port());
    make(f, extra);
    send_text(f);
    assert_int_equal(f->n_requests, 0);
    assert_int_equal(f->last.outcome, SEND_TRANSIENT);
    assert_string_equal(f->last.code, "connect_error");
}

/* ---- lifecycle ---- */

static void test_destroy_in_flight(void **state)
{
    struct fx *f = *state;
    make(f, "");
    f->mode = FAKE_SILENT;
    for (int i = 0; i < 3; i++) {
        struct sender_msg m = {.message_id = i,
                               .to = "5511999990001",
                               .text = "x",
                               .idempotency_key = "k",
                               .attempt = 1};
        assert_int_equal(EV.send(f->s, &m, on_done, f), DP_OK);
    }
    assert_int_equal(httpc_in_flight(f->env.http), 3);
    fakehttp_run_for(f->base, 100);
    EV.destroy(f->s);
    f->s = NULL;
    assert_int_equal(httpc_in_flight(f->env.http), 0);
    fakehttp_run_for(f->base, 50);
    assert_int_equal(f->n_done, 0);
}

static void test_destroy_inside_done(void **state)
{
    struct fx *f = *state;
    make(f, "");
    f->destroy_in_done = 1;
    struct sender_msg m = {
        .message_id = 1, .to = "5511999990001", .text = "x", .idempotency_key = "k", .attempt = 1};
    for (int i = 0; i < 4; i++)
        assert_int_equal(EV.send(f->s, &m, on_done, f), DP_OK);
    fakehttp_run_until(f->base, &f->n_done, 1);
    fakehttp_run_for(f->base, 100);
    assert_int_equal(f->n_done, 1);
    assert_int_equal(httpc_in_flight(f->env.http), 0);
}

/* ---- health ---- */

static void on_health(void *ud, const struct sender_health *h)
{
    struct fx *f = ud;
    f->n_health++;
    f->health = *h;
}

static void check_health(struct fx *f)
{
    sendercheck_health(f->base, &EV, f->s, on_health, f, &f->n_health);
}

static void test_health(void **state)
{
    struct fx *f = *state;
    make(f, "");
    check_health(f);
    assert_string_equal(f->method, "GET");
    assert_string_equal(f->path, "/instance/connectionState/" INSTANCE);
    assert_int_equal(f->health.ok, 1);
    assert_string_equal(f->health.state, "open");

    f->conn_state = "close";
    check_health(f);
    assert_int_equal(f->health.ok, 0);
    assert_string_equal(f->health.state, "close");
    assert_true(f->health.detail[0] != '\0');

    f->conn_state = "connecting";
    check_health(f);
    assert_int_equal(f->health.ok, 0);
    assert_string_equal(f->health.state, "connecting");

    f->conn_state = NULL;
    check_health(f);
    assert_int_equal(f->health.ok, 0);
    assert_string_equal(f->health.state, "unknown");

    f->mode = FAKE_UNAUTH;
    check_health(f);
    assert_int_equal(f->health.ok, 0);
    assert_string_equal(f->health.state, "unauthorized");
}

static void test_health_unreachable(void **state)
{
    struct fx *f = *state;
    make_full(f, fakehttp_dead_port(), "", INSTANCE, "");
    check_health(f);
    assert_int_equal(f->health.ok, 0);
    assert_string_equal(f->health.state, "unreachable");
    assert_true(f->health.detail[0] != '\0');
    EV.destroy(f->s);
    f->s = NULL;

    /* a proxy that is down: unreachable, and the fake never hears of it */
    char extra[128];
    snprintf(extra, sizeof extra, "\"proxy\": \"socks5://127.0.0.1:%d\"", fakehttp_dead_port());
    make(f, extra);
    check_health(f);
    assert_int_equal(f->health.ok, 0);
    assert_string_equal(f->health.state, "unreachable");
    assert_int_equal(f->n_requests, 0);
    EV.destroy(f->s);
    f->s = NULL;

    /* an instance the gateway does not know */
    make_full(f, f->port, "", "filial", "");
    check_health(f);
    assert_int_equal(f->health.ok, 0);
    assert_string_equal(f->health.state, "not_found");
}

/* ---- webhook ---- */

struct hdrs {
    const char *name, *value;
};

static const char *hdr_get(const void *ctx, const char *name)
{
    const struct hdrs *h = ctx;
    for (; h && h->name; h++)
        if (strcasecmp(h->name, name) == 0)
            return h->value;
    return NULL;
}

/* Delivers body to the sender's webhook as the HTTP layer would; returns the status. */
static int hook_full(struct fx *f, const char *method, const char *path_secret,
                     const struct hdrs *h, const char *body, size_t len)
{
    struct sender_webhook_req req = {.method = method,
                                     .query = NULL,
                                     .path_secret = path_secret,
                                     .body = body,
                                     .body_len = len,
                                     .header = hdr_get,
                                     .ctx = h};
    dp_buf reply;
    buf_init(&reply, 4096);
    int status = 0;
    assert_int_equal(EV.webhook(f->s, &req, &status, &reply), DP_OK);
    assert_true(reply.len > 0);
    json_t *j = json_loads(buf_str(&reply), 0, NULL); /* always a JSON answer */
    assert_non_null(j);
    json_decref(j);
    buf_free(&reply);
    return status;
}

static int hook(struct fx *f, const char *body)
{
    return hook_full(f, "POST", SECRET, NULL, body, strlen(body));
}

/* An Evolution webhook envelope (webhook.controller.ts emit) around data. */
static char *envelope(const char *event, const char *data)
{
    const char *fmt = "{\"event\":\"%s\",\"instance\":\"loja\",\"data\":%s,"
                      "\"destination\":\"http://disparo/webhooks/9/" SECRET "\","
                      "\"date_time\":\"2025-06-01T12:00:00.000Z\","
                      "\"sender\":\"5511888880000@s.whatsapp.net\","
                      "\"server_url\":\"http://evo:8080\",\"apikey\":\"" APIKEY "\"}";
    size_t n = strlen(fmt) + strlen(event) + strlen(data) + 1;
    char *s = malloc(n);
    assert_non_null(s);
    snprintf(s, n, fmt, event, data);
    return s;
}

static void deliver(struct fx *f, const char *event, const char *data, int want_status)
{
    char *b = envelope(event, data);
    assert_int_equal(hook(f, b), want_status);
    free(b);
}

static const char update_fmt[] =
    "{\"messageId\":\"cm1\",\"keyId\":\"%s\",\"remoteJid\":\"5511999990001@s.whatsapp.net\","
    "\"fromMe\":%s,\"participant\":\"5511999990001@s.whatsapp.net\",\"status\":\"%s\","
    "\"instanceId\":\"a1b2\"}";

static void update(struct fx *f, const char *id, const char *from_me, const char *status)
{
    char d[512];
    snprintf(d, sizeof d, update_fmt, id, from_me, status);
    deliver(f, "messages.update", d, 200);
}

static void test_webhook_secret(void **state)
{
    struct fx *f = *state;
    make(f, "");
    char d[512];
    snprintf(d, sizeof d, update_fmt, "3EB0A1", "true", "DELIVERY_ACK");
    char *b = envelope("messages.update", d);
    size_t n = strlen(b);

    assert_int_equal(hook_full(f, "POST", "0123456789abcdef0123456789abcdeX", NULL, b, n), 401);
    assert_int_equal(hook_full(f, "POST", "short", NULL, b, n), 401);
    assert_int_equal(hook_full(f, "POST", NULL, NULL, b, n), 401);
    assert_int_equal(hook_full(f, "POST", "", NULL, b, n), 401);
    struct hdrs wrong[] = {{"X-Disparo-Secret", "nope"}, {NULL, NULL}};
    assert_int_equal(hook_full(f, "POST", NULL, wrong, b, n), 401);
    /* a wrong path secret is not rescued by a right header */
    struct hdrs right[] = {{"x-disparo-secret", SECRET}, {NULL, NULL}};
    assert_int_equal(hook_full(f, "POST", "wrong-secret-wrong-secret", right, b, n), 401);
    assert_int_equal(f->n_receipts, 0); /* nothing reported */

    assert_int_equal(hook_full(f, "POST", NULL, right, b, n), 200);
    assert_int_equal(f->n_receipts, 1);
    assert_int_equal(hook_full(f, "POST", SECRET, NULL, b, n), 200);
    assert_int_equal(f->n_receipts, 2);
    /* webhook "byEvents" appends the event to the URL */
    assert_int_equal(hook_full(f, "POST", SECRET "/messages-update", NULL, b, n), 200);
    assert_int_equal(f->n_receipts, 3);
    assert_int_equal(f->receipts[2].sid, 9);
    free(b);

    /* the secret is checked before anything else */
    assert_int_equal(hook_full(f, "GET", "nope", NULL, "", 0), 401);
    assert_int_equal(hook_full(f, "GET", SECRET, NULL, "", 0), 405);
}

static void test_webhook_receipts(void **state)
{
    struct fx *f = *state;
    make(f, "");
    update(f, "3EB0A1", "true", "SERVER_ACK");
    update(f, "3EB0A1", "true", "DELIVERY_ACK");
    update(f, "3EB0A1", "true", "READ");
    update(f, "3EB0A2", "true", "PLAYED");
    update(f, "3EB0A3", "true", "ERROR");
    assert_int_equal(f->n_receipts, 5);
    assert_string_equal(f->receipts[0].pid, "3EB0A1");
    assert_int_equal(f->receipts[0].st, RECEIPT_SENT);
    assert_int_equal(f->receipts[1].st, RECEIPT_DELIVERED);
    assert_int_equal(f->receipts[2].st, RECEIPT_READ);
    assert_string_equal(f->receipts[3].pid, "3EB0A2");
    assert_int_equal(f->receipts[3].st, RECEIPT_READ);
    assert_string_equal(f->receipts[4].pid, "3EB0A3");
    assert_int_equal(f->receipts[4].st, RECEIPT_FAILED);
    assert_string_equal(f->receipts[4].code, "evolution_error");

    /* not receipts, or not about what we sent */
    update(f, "3EB0A1", "true", "PENDING");
    update(f, "3EB0A1", "true", "DELETED");
    update(f, "ABCD", "false", "READ");
    assert_int_equal(f->n_receipts, 5);

    /* data as an array, the id under key, a numeric status, an upper-case event */
    deliver(f, "MESSAGES_UPDATE",
            "[{\"key\":{\"id\":\"3EB0B1\",\"fromMe\":true,\"remoteJid\":\"55@s.whatsapp.net\"},"
            "\"status\":3},"
            "{\"keyId\":\"3EB0B2\",\"fromMe\":true,\"status\":\"READ\"}]",
            200);
    assert_int_equal(f->n_receipts, 7);
    assert_string_equal(f->receipts[5].pid, "3EB0B1");
    assert_int_equal(f->receipts[5].st, RECEIPT_DELIVERED);
    assert_string_equal(f->receipts[6].pid, "3EB0B2");
    assert_int_equal(f->receipts[6].st, RECEIPT_READ);
}

static void upsert(struct fx *f, const char *key, const char *message, const char *extra)
{
    char d[2048];
    snprintf(d, sizeof d,
             "{\"key\":%s,\"pushName\":\"Ana\",\"message\":%s,%s\"messageType\":\"conversation\","
             "\"messageTimestamp\":1730000000,\"instanceId\":\"a1b2\",\"source\":\"android\"}",
             key, message, extra);
    deliver(f, "messages.upsert", d, 200);
}

#define KEY_IN "{\"remoteJid\":\"5511999990001@s.whatsapp.net\",\"fromMe\":false,\"id\":\"AB12\"}"

static void test_webhook_inbound(void **state)
{
    struct fx *f = *state;
    make(f, "");
    upsert(f, KEY_IN, "{\"conversation\":\"SAIR\"}", "");
    assert_int_equal(f->n_inbound, 1);
    assert_string_equal(f->inbound[0].from, "5511999990001");
    assert_string_equal(f->inbound[0].text, "SAIR");
    assert_false(f->inbound[0].has_button);
    assert_false(f->inbound[0].has_ctx);

    /* a quoted reply: contextInfo at the top, as v2 copies it there */
    upsert(f, KEY_IN, "{\"extendedTextMessage\":{\"text\":\"quero sim\"}}",
           "\"contextInfo\":{\"stanzaId\":\"3EB0A1\",\"participant\":\"x\"},");
    assert_int_equal(f->n_inbound, 2);
    assert_string_equal(f->inbound[1].text, "quero sim");
    assert_true(f->inbound[1].has_ctx);
    assert_string_equal(f->inbound[1].ctx, "3EB0A1");

    /* ...or inside the content */
    upsert(f, KEY_IN,
           "{\"extendedTextMessage\":{\"text\":\"ok\",\"contextInfo\":{\"stanzaId\":\"3EB0A9\"}}}",
           "");
    assert_int_equal(f->n_inbound, 3);
    assert_string_equal(f->inbound[2].ctx, "3EB0A9");

    /* our own sends, echoed back: ignored */
    upsert(f, "{\"remoteJid\":\"5511999990001@s.whatsapp.net\",\"fromMe\":true,\"id\":\"3EB0\"}",
           "{\"conversation\":\"Olá\"}", "");
    /* groups, status broadcasts, media without text: ignored */
    upsert(f, "{\"remoteJid\":\"120363000000000000@g.us\",\"fromMe\":false,\"id\":\"G1\"}",
           "{\"conversation\":\"oi grupo\"}", "");
    upsert(f, "{\"remoteJid\":\"status@broadcast\",\"fromMe\":false,\"id\":\"S1\"}",
           "{\"conversation\":\"story\"}", "");
    upsert(f, KEY_IN, "{\"imageMessage\":{\"url\":\"https://mmg/x\"}}", "");
    assert_int_equal(f->n_inbound, 3);

    /* a LID-addressed chat carries the phone in remoteJidAlt */
    upsert(f,
           "{\"remoteJid\":\"272516946294519@lid\",\"remoteJidAlt\":\"5521988887777@s.whatsapp."
           "net\",\"fromMe\":false,\"id\":\"L1\"}",
           "{\"conversation\":\"oi\"}", "");
    assert_int_equal(f->n_inbound, 4);
    assert_string_equal(f->inbound[3].from, "5521988887777");
    /* ...and without it there is no phone to report */
    upsert(f, "{\"remoteJid\":\"272516946294519@lid\",\"fromMe\":false,\"id\":\"L2\"}",
           "{\"conversation\":\"oi\"}", "");
    assert_int_equal(f->n_inbound, 4);
}

static void test_webhook_buttons(void **state)
{
    struct fx *f = *state;
    make(f, "");
    upsert(f, KEY_IN,
           "{\"buttonsResponseMessage\":{\"selectedButtonId\":\"yes\",\"selectedDisplayText\":"
           "\"Sim\",\"contextInfo\":{\"stanzaId\":\"3EB0A1\"}}}",
           "");
    assert_int_equal(f->n_inbound, 1);
    assert_true(f->inbound[0].has_button);
    assert_string_equal(f->inbound[0].button, "yes");
    assert_string_equal(f->inbound[0].text, "Sim");
    assert_string_equal(f->inbound[0].ctx, "3EB0A1");

    /* the native-flow quick reply that sendButtons produces */
    upsert(f, KEY_IN,
           "{\"interactiveResponseMessage\":{\"body\":{\"text\":\"Sair\"},"
           "\"nativeFlowResponseMessage\":{\"name\":\"quick_reply\",\"paramsJson\":"
           "\"{\\\"id\\\":\\\"stop\\\"}\"},\"contextInfo\":{\"stanzaId\":\"3EB0A2\"}}}",
           "");
    assert_int_equal(f->n_inbound, 2);
    assert_string_equal(f->inbound[1].button, "stop");
    assert_string_equal(f->inbound[1].text, "Sair");
    assert_string_equal(f->inbound[1].ctx, "3EB0A2");

    upsert(f, KEY_IN,
           "{\"templateButtonReplyMessage\":{\"selectedId\":\"t1\",\"selectedDisplayText\":\"T\"}}",
           "");
    assert_int_equal(f->n_inbound, 3);
    assert_string_equal(f->inbound[2].button, "t1");
}

static void test_webhook_other_and_bad(void **state)
{
    struct fx *f = *state;
    make(f, "");
    deliver(f, "connection.update",
            "{\"instance\":\"loja\",\"state\":\"close\",\"statusReason\":428}", 200);
    deliver(f, "contacts.update", "[{\"remoteJid\":\"55@s.whatsapp.net\"}]", 200);
    deliver(f, "messages.update", "\"weird\"", 200);
    assert_int_equal(f->n_receipts + f->n_inbound, 0);

    assert_int_equal(hook(f, "{\"event\":\"messages.update\",\"data\":"), 400);
    assert_int_equal(hook(f, "not json"), 400);
    assert_int_equal(hook(f, "[1,2]"), 400);
    assert_int_equal(hook(f, "{\"data\":{}}"), 400);
    assert_int_equal(hook_full(f, "POST", SECRET, NULL, NULL, 0), 400);

    /* another instance's events are not ours */
    char d[512];
    snprintf(d, sizeof d, update_fmt, "3EB0A1", "true", "READ");
    char b[1024];
    snprintf(b, sizeof b, "{\"event\":\"messages.update\",\"instance\":\"filial\",\"data\":%s}", d);
    assert_int_equal(hook(f, b), 200);
    assert_int_equal(f->n_receipts, 0);

    /* over 1 MiB */
    size_t n = ((size_t)1 << 20) + 1;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, ' ', n);
    assert_int_equal(hook_full(f, "POST", SECRET, NULL, big, n), 413);
    free(big);
}

/* ---- validate ---- */

static void expect_invalid(const char *cfg_text, const char *needle)
{
    sendercheck_invalid(&EV, cfg_text, needle);
}

static void test_validate(void **state)
{
    (void)state;
    expect_invalid("[]", "config must be an object");
    expect_invalid("{\"instance\": \"a\", \"apikey\": \"k\"}", "config.base_url is required");
    expect_invalid("{\"base_url\": \"http://evo\", \"apikey\": \"k\"}",
                   "config.instance is required");
    expect_invalid("{\"base_url\": \"http://evo\", \"instance\": \"a\"}",
                   "config.apikey is required");
    const char *req = "\"base_url\": \"https://evo.example.com\", \"instance\": \"a\", "
                      "\"apikey\": \"k\"";
    char t[512];
#define BAD(extra, needle)                                                                         \
    do {                                                                                           \
        snprintf(t, sizeof t, "{%s, %s}", req, extra);                                             \
        expect_invalid(t, needle);                                                                 \
    } while (0)
    BAD("\"url\": \"x\"", "config.url is not an evolution setting");
    BAD("\"token\": \"x\"", "config.token is not an evolution setting");
    expect_invalid("{\"base_url\": \"ftp://evo\", \"instance\": \"a\", \"apikey\": \"k\"}",
                   "config.base_url");
    expect_invalid("{\"base_url\": \"evo:8080\", \"instance\": \"a\", \"apikey\": \"k\"}",
                   "config.base_url");
    expect_invalid("{\"base_url\": 8080, \"instance\": \"a\", \"apikey\": \"k\"}",
                   "config.base_url");
    expect_invalid("{\"base_url\": \"http://evo/x?y=1\", \"instance\": \"a\", \"apikey\": \"k\"}",
                   "config.base_url");
    expect_invalid("{\"base_url\": \"http://evo\", \"instance\": \"\", \"apikey\": \"k\"}",
                   "config.instance");
    expect_invalid("{\"base_url\": \"http://evo\", \"instance\": 3, \"apikey\": \"k\"}",
                   "config.instance");
    expect_invalid("{\"base_url\": \"http://evo\", \"instance\": \"a\\nb\", \"apikey\": \"k\"}",
                   "config.instance");
    expect_invalid("{\"base_url\": \"http://evo\", \"instance\": \"a\", \"apikey\": \"\"}",
                   "config.apikey");
    expect_invalid(
        "{\"base_url\": \"http://evo\", \"instance\": \"a\", \"apikey\": \"k\\r\\nX-Evil: 1\"}",
        "config.apikey");
    BAD("\"webhook_secret\": \"short\"", "config.webhook_secret");
    BAD("\"webhook_secret\": \"has/slash/has/slash/has\"", "config.webhook_secret");
    BAD("\"webhook_secret\": 1234567890123456", "config.webhook_secret");
    BAD("\"proxy\": \"ftp://p:1\"", "config.proxy");
    BAD("\"proxy\": \"\"", "config.proxy");
    BAD("\"proxy\": \"socks5://\"", "config.proxy");
    BAD("\"timeout_ms\": 0", "config.timeout_ms");
    BAD("\"timeout_ms\": 600001", "config.timeout_ms");
    BAD("\"timeout_ms\": \"15000\"", "config.timeout_ms");
    BAD("\"max_in_flight\": 0", "config.max_in_flight");
    BAD("\"max_in_flight\": 1.5", "config.max_in_flight");
#undef BAD

    /* defaults, and a generated webhook secret */
    dp_err e = {0};
    snprintf(t, sizeof t, "{%s}", req);
    json_t *cfg = json_loads(t, 0, NULL);
    assert_int_equal(EV.validate(cfg, &e), DP_OK);
    assert_int_equal(json_integer_value(json_object_get(cfg, "timeout_ms")), 15000);
    assert_int_equal(json_integer_value(json_object_get(cfg, "max_in_flight")), 4);
    assert_null(json_object_get(cfg, "proxy"));
    const char *sec = json_string_value(json_object_get(cfg, "webhook_secret"));
    assert_non_null(sec);
    assert_int_equal(strlen(sec), 32);
    assert_int_equal(strspn(sec, "0123456789abcdef"), 32);
    char first[33];
    snprintf(first, sizeof first, "%s", sec);
    /* validating again keeps it */
    assert_int_equal(EV.validate(cfg, &e), DP_OK);
    assert_string_equal(json_string_value(json_object_get(cfg, "webhook_secret")), first);
    json_decref(cfg);
    /* a fresh config gets a different one */
    cfg = json_loads(t, 0, NULL);
    assert_int_equal(EV.validate(cfg, &e), DP_OK);
    assert_string_not_equal(json_string_value(json_object_get(cfg, "webhook_secret")), first);
    json_decref(cfg);

    /* given values are kept */
    snprintf(t, sizeof t,
             "{%s, \"webhook_secret\": \"My_Secret-1234567\", \"proxy\": "
             "\"socks5h://user:pw@10.0.0.1:1080\", \"timeout_ms\": 5000, \"max_in_flight\": 2}",
             req);
    cfg = json_loads(t, 0, NULL);
    assert_int_equal(EV.validate(cfg, &e), DP_OK);
    assert_string_equal(json_string_value(json_object_get(cfg, "webhook_secret")),
                        "My_Secret-1234567");
    assert_int_equal(json_integer_value(json_object_get(cfg, "timeout_ms")), 5000);
    assert_int_equal(json_integer_value(json_object_get(cfg, "max_in_flight")), 2);
    json_decref(cfg);

    assert_string_equal(EV.provider, "evolution");
    assert_string_equal(EV.secret_fields[0], "apikey");
    assert_string_equal(EV.secret_fields[1], "webhook_secret");
    assert_null(EV.secret_fields[2]);
    assert_int_equal(EV.idempotent, 0);
    assert_true(EV.default_rate == 0.0);
    assert_non_null(EV.webhook);
    assert_non_null(EV.health);
}

static void test_max_in_flight(void **state)
{
    struct fx *f = *state;
    make(f, "\"max_in_flight\": 3");
    assert_int_equal(EV.max_in_flight(f->s), 3);
    EV.destroy(f->s);
    f->s = NULL;
    make(f, "");
    assert_int_equal(EV.max_in_flight(f->s), 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_media, setup, teardown),
        cmocka_unit_test_setup_teardown(test_buttons, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_rejects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_instance_escaped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unauthorized, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_apikey, setup, teardown),
        cmocka_unit_test_setup_teardown(test_instance_not_connected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_instance_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_whatsapp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_limited, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_4xx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_route_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_latency, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_is_ambiguous, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dropped_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_is_transient, setup, teardown),
        cmocka_unit_test_setup_teardown(test_proxy_never_direct, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_inside_done, setup, teardown),
        cmocka_unit_test_setup_teardown(test_health, setup, teardown),
        cmocka_unit_test_setup_teardown(test_health_unreachable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_webhook_secret, setup, teardown),
        cmocka_unit_test_setup_teardown(test_webhook_receipts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_webhook_inbound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_webhook_buttons, setup, teardown),
        cmocka_unit_test_setup_teardown(test_webhook_other_and_bad, setup, teardown),
        cmocka_unit_test(test_validate),
        cmocka_unit_test_setup_teardown(test_max_in_flight, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
