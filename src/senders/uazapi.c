/* The UAZAPI sender (uazapiGO v2): a QR-code gateway, one phone behind an HTTP
 * API. A message is one POST to /send/text, /send/media or /send/menu with the
 * instance token in a `token` header; receipts (messages_update) and replies
 * (messages) come back to /webhooks/{id}/{webhook_secret}. Request shapes follow
 * the gateway's OpenAPI description (shared/reference/uazapi-v2.openapi.yaml).
 * Everything goes through the shared httpc, through config.proxy when set;
 * the engine enforces max_in_flight. */
#include <curl/curl.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "senders/common.h"
#include "senders/sender.h"
#include "util/crypto.h"
#include "util/err.h"
#include "util/httpc.h"

#define TOKEN_MAX 512
#define IDEM_KEY_MAX 255
#define PHONE_DIGITS_MAX 20
/* A send answers with the stored message, whose `content` may carry a base64
 * thumbnail for media: a few tens of KiB. Anything past 1 MiB is broken. */
#define REPLY_MAX ((size_t)1 << 20)
#define WEBHOOK_BODY_MAX ((size_t)1 << 20)
#define RECEIPT_IDS_MAX 1000

#define TIMEOUT_DEFAULT 15000
#define TIMEOUT_MAX 600000
#define IN_FLIGHT_DEFAULT 4 /* one phone: more in parallel only queues on it */
#define IN_FLIGHT_MAX 64
#define DELAY_MAX 120000

/* Each message's track_source is "disparo-" and 8 hex digits of the SHA-256
 * of the sender's webhook_secret: the engine's idempotency keys ("c3-m7")
 * restart with a new database and repeat across installations sharing an
 * instance, so a look-up by track_id alone could find someone else's message. */
#define TRACK_PREFIX "disparo-"
#define TRACK_SOURCE_MAX 24

/* The steps of one send, in order; each is one HTTP exchange. ST_FIND runs
 * on retries only, ST_CHECK when config.check_number is on. */
enum stage { ST_FIND, ST_CHECK, ST_SEND, ST_HEALTH };

/* One send or health check in flight. Owned by the sender's list until its
 * last exchange ends or the sender is destroyed. */
struct ureq {
    struct sc_node node; /* on s->head */
    sender *s;
    httpc_handle *hd; /* the exchange in flight; NULL between two */
    enum stage stage;
    sender_done_fn done;    /* sends */
    sender_health_fn hdone; /* health checks */
    void *ud;
    const char *send_url; /* borrowed from s */
    char *body;           /* owned: the /send/... body */
    char *to, *key;       /* owned copies, for /chat/check and /message/find */
};

struct sender {
    struct sender_env env; /* copied; the pointers inside are borrowed */
    int64_t id;
    char *token_line; /* owned "token: ..." */
    char *secret;     /* owned */
    char *proxy;      /* owned; NULL = direct */
    char *url_text, *url_media, *url_menu, *url_check, *url_find, *url_status; /* owned */
    long timeout_ms;
    long delay_ms;
    int max_in_flight;
    int check_number;
    char track_source[TRACK_SOURCE_MAX];
    struct sc_node *head; /* the ureqs in flight */
};

static const char *const known_keys[] = {
    "base_url",      "token",    "webhook_secret", "proxy", "timeout_ms",
    "max_in_flight", "delay_ms", "check_number",   NULL,
};

/* ---- text helpers ---- */

/* Whether hay contains any of needles, ignoring case. */
static int has_any(const char *hay, const char *const *needles)
{
    for (size_t i = 0; needles[i]; i++)
        if (strcasestr(hay, needles[i]))
            return 1;
    return 0;
}

/* How the gateway says the phone is not connected: the spec answers "No
 * session" / "No active session" (401 or 500) and "WhatsApp client is not
 * connected" (500); the Portuguese forms come from its own descriptions. */
static const char *const disconnected_words[] = {
    "no session",  "no active session", "not connected", "disconnected", "not logged in",
    "desconectad", "não conectad",      "nao conectad",  NULL,
};

/* The spec documents no send error for a number without WhatsApp (only
 * /chat/check's isInWhatsapp). These are what the whatsmeow family answers;
 * they cannot mean anything else, so recognising them is safe. */
static const char *const no_whatsapp_words[] = {
    "not on whatsapp",
    "not registered on whatsapp",
    "not in whatsapp",
    "não está no whatsapp",
    "não possui whatsapp",
    "nao possui whatsapp",
    NULL,
};

/* ---- validation ---- */

/* Checks everything first and fills defaults only then, so a rejected config
 * comes back unchanged. A generated webhook_secret is stored in the config:
 * validating it again keeps it. */
static int uz_validate(json_t *config, dp_err *e)
{
    json_t *v;
    int rc;

    rc = sc_check_keys(config, known_keys, "a uazapi", e);
    if (rc == DP_OK)
        rc = sc_url_field(config, "base_url", 1, sc_web_schemes, SC_URL_NO_QUERY,
                          "config.base_url must be an http:// or https:// URL with no query", e);
    if (rc != DP_OK)
        return rc;

    v = json_object_get(config, "token");
    if (!v)
        return dp_err_set(e, DP_EINVAL, "config.token is required");
    /* printable ASCII without spaces: it goes into a header line verbatim */
    if (!json_is_string(v) ||
        !sc_printable_ok(json_string_value(v), json_string_length(v), TOKEN_MAX, 0))
        return dp_err_set(e, DP_EINVAL,
                          "config.token must be 1 to %d printable characters with no spaces",
                          TOKEN_MAX);

    /* it becomes one segment of the webhook URL path */
    v = json_object_get(config, "webhook_secret");
    if (v &&
        (!json_is_string(v) || !sc_path_secret_ok(json_string_value(v), json_string_length(v))))
        return dp_err_set(e, DP_EINVAL,
                          "config.webhook_secret must be %d to %d letters, digits, '-' or '_'",
                          SC_SECRET_MIN, SC_SECRET_MAX);

    rc = sc_url_field(config, "proxy", 0, sc_proxy_schemes, 0,
                      "config.proxy must be an http://, https://, socks5:// or socks5h:// URL", e);
    if (rc != DP_OK)
        return rc;

    v = json_object_get(config, "check_number");
    if (v && !json_is_boolean(v))
        return dp_err_set(e, DP_EINVAL, "config.check_number must be true or false");

    rc = sc_int_check(config, "timeout_ms", 1, TIMEOUT_MAX, e);
    if (rc == DP_OK)
        rc = sc_int_check(config, "max_in_flight", 1, IN_FLIGHT_MAX, e);
    if (rc == DP_OK)
        rc = sc_int_check(config, "delay_ms", 0, DELAY_MAX, e);
    if (rc != DP_OK)
        return rc;

    rc = sc_default_secret(config, "webhook_secret", e);
    if (rc == DP_OK)
        rc = sc_set_default(config, "timeout_ms", json_integer(TIMEOUT_DEFAULT), e);
    if (rc == DP_OK)
        rc = sc_set_default(config, "max_in_flight", json_integer(IN_FLIGHT_DEFAULT), e);
    if (rc == DP_OK)
        rc = sc_set_default(config, "delay_ms", json_integer(0), e);
    if (rc == DP_OK)
        rc = sc_set_default(config, "check_number", json_false(), e);
    return rc;
}

/* ---- lifecycle ---- */

static void free_req(struct ureq *w)
{
    if (!w)
        return;
    free(w->body);
    free(w->to);
    free(w->key);
    free(w);
}

/* Cancels every exchange in flight (their callbacks never run) and frees s. */
static void uz_destroy(sender *s)
{
    if (!s)
        return;
    while (s->head) {
        struct ureq *w = SC_OWNER(s->head, struct ureq, node);
        sc_list_unlink(&s->head, &w->node);
        if (w->hd)
            httpc_cancel(s->env.http, w->hd);
        free_req(w);
    }
    free(s->token_line);
    free(s->secret);
    free(s->proxy);
    free(s->url_text);
    free(s->url_media);
    free(s->url_menu);
    free(s->url_check);
    free(s->url_find);
    free(s->url_status);
    free(s);
}

/* config is borrowed and assumed validated; *out belongs to the caller. */
static int uz_create(const struct sender_env *env, int64_t id, const json_t *config, sender **out,
                     dp_err *e)
{
    int rc = DP_ENOMEM;
    sender *s = NULL;

    const json_t *base = json_object_get(config, "base_url");
    const json_t *tok = json_object_get(config, "token");
    const json_t *sec = json_object_get(config, "webhook_secret");
    if (!env || !env->http || !out || !json_is_string(base) || !json_is_string(tok) ||
        !json_is_string(sec)) {
        rc = dp_err_set(e, DP_EINVAL,
                        "uazapi sender needs an HTTP client and a validated config "
                        "(base_url, token, webhook_secret)");
        goto out;
    }
    s = calloc(1, sizeof *s);
    if (!s)
        goto out;
    s->env = *env;
    s->id = id;

    const char *b = json_string_value(base);
    int bl = (int)sc_trim_len(b);
    s->url_text = sc_strdupf("%.*s/send/text", bl, b);
    s->url_media = sc_strdupf("%.*s/send/media", bl, b);
    s->url_menu = sc_strdupf("%.*s/send/menu", bl, b);
    s->url_check = sc_strdupf("%.*s/chat/check", bl, b);
    s->url_find = sc_strdupf("%.*s/message/find", bl, b);
    s->url_status = sc_strdupf("%.*s/instance/status", bl, b);
    if (!s->url_text || !s->url_media || !s->url_menu || !s->url_check || !s->url_find ||
        !s->url_status)
        goto out;

    s->token_line = sc_strdupf("token: %s", json_string_value(tok));
    s->secret = strdup(json_string_value(sec));
    if (!s->token_line || !s->secret)
        goto out;
    char digest[CRYPTO_SHA256_HEX];
    crypto_sha256_hex(s->secret, strlen(s->secret), digest);
    snprintf(s->track_source, sizeof s->track_source, "%s%.8s", TRACK_PREFIX, digest);
    int oom = 0;
    s->proxy = sc_dup_field(config, "proxy", &oom);
    if (oom)
        goto out;
    s->timeout_ms = (long)sc_jint(config, "timeout_ms", TIMEOUT_DEFAULT);
    s->max_in_flight = (int)sc_jint(config, "max_in_flight", IN_FLIGHT_DEFAULT);
    s->delay_ms = (long)sc_jint(config, "delay_ms", 0);
    s->check_number = json_is_true(json_object_get(config, "check_number"));
    *out = s;
    s = NULL;
    rc = DP_OK;
out:
    if (rc == DP_ENOMEM)
        dp_err_set(e, rc, "out of memory creating the uazapi sender");
    uz_destroy(s);
    return rc;
}

static int uz_max_in_flight(const sender *s)
{
    return s->max_in_flight;
}

/* ---- one exchange ---- */

static void on_http_done(void *ud, const struct httpc_resp *resp);

/* Starts w's current stage. Request bodies are temporaries (httpc copies). */
static int start_stage(struct ureq *w)
{
    sender *s = w->s;
    json_t *o = NULL;
    char *tmp = NULL;
    const char *url = NULL, *body = NULL, *method = "POST";
    long timeout = s->timeout_ms;
    int rc = DP_ENOMEM;

    switch (w->stage) {
    case ST_FIND:
        o = json_pack("{s:s, s:s, s:i}", "track_source", s->track_source, "track_id", w->key,
                      "limit", 1);
        url = s->url_find;
        break;
    case ST_CHECK:
        o = json_pack("{s:[s]}", "numbers", w->to);
        url = s->url_check;
        break;
    case ST_SEND:
        url = w->send_url;
        body = w->body;
        /* the gateway holds the request for `delay` ms ("typing...") first */
        timeout += s->delay_ms;
        break;
    case ST_HEALTH:
        url = s->url_status;
        method = "GET";
        break;
    }
    if (w->stage == ST_FIND || w->stage == ST_CHECK) {
        if (!o)
            goto out;
        tmp = json_dumps(o, JSON_COMPACT);
        if (!tmp)
            goto out;
        body = tmp;
    }
    /* httpc adds "Expect:" itself, so bigger bodies wait for no 100-continue */
    const char *hdrs[] = {"Accept: application/json", s->token_line,
                          body ? "Content-Type: application/json" : NULL, NULL};
    struct httpc_req req = {
        .method = method,
        .url = url,
        .headers = hdrs,
        .body = body,
        .body_len = body ? strlen(body) : 0,
        .timeout_ms = timeout,
        .proxy = s->proxy,
        .max_response = REPLY_MAX,
    };
    rc = httpc_do(s->env.http, &req, on_http_done, w, &w->hd);
out:
    free(tmp);
    json_decref(o);
    return rc;
}

/* ---- judging answers ---- */

/* The connection never carried the request: nothing can have been sent. */
static const int never_sent[] = {CURLE_UNSUPPORTED_PROTOCOL, CURLE_URL_MALFORMAT, CURLE_SEND_ERROR,
#if LIBCURL_VERSION_NUM >= 0x074900
                                 CURLE_PROXY,
#endif
                                 0};
static const int lost[] = {CURLE_GOT_NOTHING, CURLE_RECV_ERROR, CURLE_PARTIAL_FILE, 0};
/* A /send/ request whose answer was lost may have sent the message, and the
 * gateway has no way to drop a repeat: ambiguous. A lost look-up sent nothing. */
static const struct sc_net_policy net_send = {
    .connect = never_sent,
    .lost = lost,
    .lost_code = "connection_lost",
    .after_send = SEND_AMBIGUOUS,
    .other = SEND_AMBIGUOUS,
};
static const struct sc_net_policy net_lookup = {
    .connect = never_sent,
    .lost = lost,
    .lost_code = "connection_lost",
    .after_send = SEND_TRANSIENT,
    .other = SEND_TRANSIENT,
};

/* The error text of an error answer: its "error" or "message" field when the
 * body is a JSON object, else the body itself. */
static void error_text(const struct httpc_resp *resp, char *dst, size_t size)
{
    json_t *root = json_loadb(resp->body, resp->body_len, 0, NULL);
    const json_t *m = json_object_get(root, "error"); /* NULL-safe */
    if (!json_is_string(m) || json_string_length(m) == 0)
        m = json_object_get(root, "message");
    if (json_is_string(m))
        sc_copy_detail(dst, size, json_string_value(m), json_string_length(m));
    else
        sc_copy_detail(dst, size, resp->body, resp->body_len);
    json_decref(root);
}

/* Classifies a failed exchange: a transport error or a non-2xx status.
 * may_have_sent says whether the request could have sent a message (the
 * /send/ stage): then an answer lost after the request left is ambiguous,
 * since the gateway has no way to drop a repeat. */
static void classify_failure(const struct httpc_resp *resp, int may_have_sent,
                             struct send_result *r)
{
    memset(r, 0, sizeof *r);
    if (!sc_have_status(resp)) {
        sc_net_failure(resp, may_have_sent ? &net_send : &net_lookup, r);
        return;
    }
    long st = resp->status;
    error_text(resp, r->detail, sizeof r->detail);
    if (st >= 400 && has_any(r->detail, disconnected_words)) {
        r->outcome = SEND_TRANSIENT;
        r->action = ACT_UNAVAILABLE;
        r->sender_fault = 1;
        snprintf(r->code, sizeof r->code, "uazapi_disconnected");
        return;
    }
    snprintf(r->code, sizeof r->code, "uazapi_http_%ld", st);
    if (st == 401) {
        r->outcome = SEND_TRANSIENT; /* the token is wrong: nothing sends until it is fixed */
        r->action = ACT_STOP_SENDER;
        r->sender_fault = 1;
    } else if (st >= 400 && has_any(r->detail, no_whatsapp_words)) {
        r->outcome = SEND_PERMANENT;
        r->no_whatsapp = 1;
        snprintf(r->code, sizeof r->code, "uazapi_no_whatsapp");
    } else {
        sc_status_result(st, resp, r);
    }
}

/* The WhatsApp message id receipts will name: the documented `messageid`;
 * failing that the full `id` ("owner:messageid") without its owner. */
static void message_id(const json_t *msg, char *dst, size_t size)
{
    dst[0] = '\0';
    const json_t *v = json_object_get(msg, "messageid");
    if (json_is_string(v) && json_string_length(v) > 0) {
        sc_copy_utf8(dst, size - 1, json_string_value(v), json_string_length(v));
        return;
    }
    v = json_object_get(msg, "id");
    if (json_is_string(v)) {
        const char *id = json_string_value(v);
        const char *colon = strrchr(id, ':');
        const char *p = colon ? colon + 1 : id;
        sc_copy_utf8(dst, size - 1, p, strlen(p));
    }
}

/* The answer to /message/find: a message this send's earlier attempt left
 * (same track_id, not failed) means it went out; r becomes SEND_OK. */
static int found_earlier(const struct ureq *w, const struct httpc_resp *resp, struct send_result *r)
{
    int found = 0;
    json_t *root = json_loadb(resp->body, resp->body_len, 0, NULL);
    const json_t *msgs = json_object_get(root, "messages");
    size_t i;
    const json_t *m;
    json_array_foreach(msgs, i, m)
    {
        const json_t *tid = json_object_get(m, "track_id");
        const json_t *src = json_object_get(m, "track_source");
        const json_t *st = json_object_get(m, "status");
        if (!json_is_string(tid) || strcmp(json_string_value(tid), w->key) != 0)
            continue;
        /* a server that ignores the track_source filter must not match another's */
        if (!json_is_string(src) || strcmp(json_string_value(src), w->s->track_source) != 0)
            continue;
        if (json_is_string(st) && strcasecmp(json_string_value(st), "failed") == 0)
            continue;
        memset(r, 0, sizeof *r);
        r->outcome = SEND_OK;
        message_id(m, r->provider_id, sizeof r->provider_id);
        found = 1;
        break;
    }
    json_decref(root);
    return found;
}

/* The answer to /chat/check: 1 when it says outright that w->to has no
 * WhatsApp. Anything unclear lets the send go ahead. */
static int lacks_whatsapp(const struct ureq *w, const struct httpc_resp *resp)
{
    int no = 0;
    json_t *root = json_loadb(resp->body, resp->body_len, 0, NULL);
    size_t i;
    const json_t *item;
    json_array_foreach(root, i, item)
    {
        const json_t *q = json_object_get(item, "query");
        const json_t *in = json_object_get(item, "isInWhatsapp");
        if (json_is_string(q) && strcmp(json_string_value(q), w->to) != 0 &&
            json_array_size(root) > 1)
            continue;
        no = json_is_false(in);
        break;
    }
    json_decref(root);
    return no;
}

/* Judges a pre-send look-up (ST_FIND, ST_CHECK). Returns 1 to go on with the
 * next stage, 0 when r is the send's final result. */
static int judge_lookup(struct ureq *w, const struct httpc_resp *resp, struct send_result *r)
{
    if (!sc_have_status(resp) || resp->status < 200 || resp->status >= 300) {
        classify_failure(resp, 0, r);
        /* The gateway refuses the look-up itself (an older server, a 404):
         * it only made the send safer, so send without it. */
        return r->outcome == SEND_PERMANENT && !r->no_whatsapp;
    }
    if (w->stage == ST_FIND)
        return !found_earlier(w, resp, r);
    if (lacks_whatsapp(w, resp)) {
        memset(r, 0, sizeof *r);
        r->outcome = SEND_PERMANENT;
        r->no_whatsapp = 1;
        snprintf(r->code, sizeof r->code, "uazapi_no_whatsapp");
        snprintf(r->detail, sizeof r->detail, "/chat/check says the number is not on WhatsApp");
        return 0;
    }
    return 1;
}

static void judge_send(const struct httpc_resp *resp, struct send_result *r)
{
    if (!sc_have_status(resp) || resp->status < 200 || resp->status >= 300) {
        classify_failure(resp, 1, r);
        return;
    }
    memset(r, 0, sizeof *r);
    r->outcome = SEND_OK;
    if (resp->curl_code == CURLE_OK) {
        json_t *root = json_loadb(resp->body, resp->body_len, 0, NULL);
        message_id(root, r->provider_id, sizeof r->provider_id);
        json_decref(root);
    }
}

static void judge_health(const struct httpc_resp *resp, struct sender_health *h)
{
    memset(h, 0, sizeof *h);
    if (!sc_have_status(resp)) {
        sc_health_unreachable(resp, h);
        return;
    }
    if (resp->status < 200 || resp->status >= 300) {
        error_text(resp, h->detail, sizeof h->detail);
        if (has_any(h->detail, disconnected_words))
            snprintf(h->state, sizeof h->state, "disconnected");
        else if (resp->status == 401)
            snprintf(h->state, sizeof h->state, "unauthorized");
        else
            snprintf(h->state, sizeof h->state, "http_%ld", resp->status);
        return;
    }
    json_t *root = json_loadb(resp->body, resp->body_len, 0, NULL);
    const json_t *inst = json_object_get(root, "instance");
    const json_t *word = json_object_get(inst, "status");
    const json_t *st = json_object_get(root, "status");
    const json_t *conn = json_object_get(st, "connected");
    const json_t *logged = json_object_get(st, "loggedIn");
    if (json_is_string(word) && json_string_length(word) > 0)
        sc_copy_utf8(h->state, sizeof h->state - 1, json_string_value(word),
                     json_string_length(word));
    else if (json_is_boolean(conn))
        snprintf(h->state, sizeof h->state, "%s",
                 json_is_true(conn) && !json_is_false(logged) ? "connected" : "disconnected");
    else
        snprintf(h->state, sizeof h->state, "unknown");
    /* the word leads; the live flags may only veto it */
    h->ok = strcmp(h->state, "connected") == 0 && !json_is_false(conn) && !json_is_false(logged);
    const json_t *why = json_object_get(inst, "lastDisconnectReason");
    if (!h->ok && json_is_string(why))
        sc_copy_utf8(h->detail, sizeof h->detail - 1, json_string_value(why),
                     json_string_length(why));
    json_decref(root);
}

/* Ends a send: w leaves the list and is freed before done runs, because done
 * may destroy the sender. */
static void finish(struct ureq *w, const struct send_result *r)
{
    sender_done_fn done = w->done;
    void *ud = w->ud;
    sc_list_unlink(&w->s->head, &w->node);
    free_req(w);
    done(ud, r);
}

static void on_http_done(void *ud, const struct httpc_resp *resp)
{
    struct ureq *w = ud;
    struct send_result r;
    w->hd = NULL;
    if (w->stage == ST_HEALTH) {
        struct sender_health h;
        judge_health(resp, &h);
        sender_health_fn fn = w->hdone;
        void *hud = w->ud;
        sc_list_unlink(&w->s->head, &w->node);
        free_req(w);
        fn(hud, &h);
        return;
    }
    if (w->stage == ST_SEND) {
        judge_send(resp, &r);
        finish(w, &r);
        return;
    }
    if (!judge_lookup(w, resp, &r)) {
        finish(w, &r);
        return;
    }
    w->stage = w->stage == ST_FIND && w->s->check_number ? ST_CHECK : ST_SEND;
    if (start_stage(w) == DP_OK)
        return;
    memset(&r, 0, sizeof r);
    r.outcome = SEND_TRANSIENT; /* the message itself never left */
    snprintf(r.code, sizeof r.code, "internal");
    snprintf(r.detail, sizeof r.detail, "cannot start the request to the gateway");
    finish(w, &r);
}

/* ---- send ---- */

/* /send/menu reads a choice "title|id" (or "title\nid"); an id that starts
 * like "copy:", "call:" or a URL makes a different kind of button. */
static int choice_part_ok(const char *p)
{
    return !strpbrk(p, "|\r\n");
}

static int button_id_ok(const char *id)
{
    static const char *const prefixes[] = {"copy:", "call:", "url:", "http://", "https://", NULL};
    if (!choice_part_ok(id))
        return 0;
    for (size_t i = 0; prefixes[i]; i++)
        if (strncasecmp(id, prefixes[i], strlen(prefixes[i])) == 0)
            return 0;
    return 1;
}

static int set_str(json_t *o, const char *k, const char *v)
{
    /* json_string refuses invalid UTF-8; set_new then fails on the NULL */
    return json_object_set_new(o, k, json_string(v));
}

static json_t *menu_choices(const struct sender_msg *m)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < m->nbuttons; i++) {
        const struct sender_button *b = &m->buttons[i];
        if (!b->title || !*b->title || !choice_part_ok(b->title) ||
            (b->id && *b->id && !button_id_ok(b->id)))
            goto fail;
        size_t n = strlen(b->title) + (b->id ? strlen(b->id) : 0) + 2;
        char *c = malloc(n);
        if (!c)
            goto fail;
        if (b->id && *b->id)
            snprintf(c, n, "%s|%s", b->title, b->id);
        else
            snprintf(c, n, "%s", b->title); /* the gateway uses the title as the id */
        int rc = json_array_append_new(a, json_string(c));
        free(c);
        if (rc != 0)
            goto fail;
    }
    return a;
fail:
    json_decref(a);
    return NULL;
}

/* Builds the /send/... body for m into *body (owned by the caller) and
 * points *url at the endpoint. DP_EINVAL for what UAZAPI cannot send. */
static int build_body(const sender *s, const struct sender_msg *m, char **body, const char **url)
{
    int rc = DP_EINVAL;
    json_t *o = json_object();
    /* the spec's media types are disparo's kinds */
    const char *type = m->media ? sc_media_kind(m->media->kind) : NULL;

    if (!o)
        return DP_ENOMEM;
    if (m->media && (!type || !m->media->url || !*m->media->url))
        goto out;
    if (set_str(o, "number", m->to))
        goto out;
    if (m->nbuttons > 0) {
        /* only an image can head a button message (imageButton) */
        if (!m->buttons || !*m->text || (m->media && strcmp(type, "image") != 0))
            goto out;
        json_t *choices = menu_choices(m);
        if (set_str(o, "type", "button") || set_str(o, "text", m->text) ||
            json_object_set_new(o, "choices", choices) ||
            (m->media && set_str(o, "imageButton", m->media->url)))
            goto out;
        *url = s->url_menu;
    } else if (m->media) {
        if (set_str(o, "type", type) || set_str(o, "file", m->media->url) ||
            (*m->text && set_str(o, "text", m->text)) ||
            (strcmp(type, "document") == 0 && m->media->filename && *m->media->filename &&
             set_str(o, "docName", m->media->filename)))
            goto out;
        *url = s->url_media;
    } else {
        if (!*m->text || set_str(o, "text", m->text))
            goto out;
        *url = s->url_text;
    }
    /* track_id lets /message/find recognise a retried message that went out */
    if (set_str(o, "track_source", s->track_source) || set_str(o, "track_id", m->idempotency_key))
        goto out;
    if (s->delay_ms > 0 && json_object_set_new(o, "delay", json_integer(s->delay_ms)))
        goto out;
    rc = DP_ENOMEM;
    *body = json_dumps(o, JSON_COMPACT);
    if (*body)
        rc = DP_OK;
out:
    json_decref(o);
    return rc;
}

/* Checks m, builds its body and starts the first exchange. On success a ureq
 * is owned by s until its done runs or the sender is destroyed. */
static int uz_send(sender *s, const struct sender_msg *m, sender_done_fn done, void *ud)
{
    int rc = DP_EINVAL;
    struct ureq *w = NULL;

    if (!s || !m || !m->to || !m->text || !m->idempotency_key || !done)
        goto out;
    if (m->tmpl)
        goto out; /* templates are the Cloud API's; a QR gateway has none */
    if (!sc_digits_ok(m->to, PHONE_DIGITS_MAX) ||
        !sc_printable_ok(m->idempotency_key, strlen(m->idempotency_key), IDEM_KEY_MAX, 0))
        goto out;
    rc = DP_ENOMEM;
    w = calloc(1, sizeof *w);
    if (!w)
        goto out;
    w->s = s;
    w->done = done;
    w->ud = ud;
    rc = build_body(s, m, &w->body, &w->send_url);
    if (rc != DP_OK)
        goto out;
    rc = DP_ENOMEM;
    w->to = strdup(m->to);
    w->key = strdup(m->idempotency_key);
    if (!w->to || !w->key)
        goto out;
    /* A retry first asks whether an earlier attempt went out after all. */
    w->stage = m->attempt > 1 ? ST_FIND : s->check_number ? ST_CHECK : ST_SEND;
    rc = start_stage(w);
    if (rc != DP_OK)
        goto out;
    sc_list_push(&s->head, &w->node);
    w = NULL;
out:
    free_req(w);
    return rc;
}

/* ---- health ---- */

static int uz_health(sender *s, sender_health_fn done, void *ud)
{
    if (!s || !done)
        return DP_EINVAL;
    struct ureq *w = calloc(1, sizeof *w);
    if (!w)
        return DP_ENOMEM;
    w->s = s;
    w->stage = ST_HEALTH;
    w->hdone = done;
    w->ud = ud;
    int rc = start_stage(w);
    if (rc != DP_OK) {
        free_req(w);
        return rc;
    }
    sc_list_push(&s->head, &w->node);
    return DP_OK;
}

/* ---- webhooks ---- */

/* The gateway cannot sign its callbacks, so the secret rides in the URL:
 * /webhooks/{id}/{secret}[/{event}[/{type}]] (with addUrlEvents and
 * addUrlTypesMessages the gateway appends those segments). A relay that
 * cannot keep the path may send X-Disparo-Secret instead. */
static int secret_matches(const sender *s, const struct sender_webhook_req *req)
{
    size_t n;
    const char *given = sc_given_secret(req, &n);
    return given && sc_secret_equal(given, n, s->secret);
}

/* A boolean the gateway may also write as the string "True"/"False". */
static int truthy(const json_t *v)
{
    if (json_is_string(v))
        return strcasecmp(json_string_value(v), "true") == 0;
    return json_is_true(v);
}

/* The phone digits of a personal JID ("5511999999999[:device]@s.whatsapp.net",
 * "...@c.us") or of plain digits; 0 for groups, LIDs and anything else. */
static int jid_digits(const json_t *v, char *dst, size_t size)
{
    if (!json_is_string(v))
        return 0;
    const char *j = json_string_value(v);
    size_t n = 0;
    while (j[n] >= '0' && j[n] <= '9')
        n++;
    if (n == 0 || n > PHONE_DIGITS_MAX || n >= size)
        return 0;
    const char *rest = j + n;
    if (*rest == ':') {
        rest++;
        while (*rest >= '0' && *rest <= '9')
            rest++;
    }
    if (*rest && strcmp(rest, "@s.whatsapp.net") != 0 && strcmp(rest, "@c.us") != 0)
        return 0;
    memcpy(dst, j, n);
    dst[n] = '\0';
    return 1;
}

static const char *nonempty(const json_t *v)
{
    return json_is_string(v) && json_string_length(v) > 0 ? json_string_value(v) : NULL;
}

/* One `messages` event (a Message object): a contact's text, button click or
 * list choice goes to hooks->inbound; our own messages, groups and reactions
 * do not. */
static void on_message(const struct sender_hooks *hk, int64_t sid, const json_t *m)
{
    char from[PHONE_DIGITS_MAX + 1];
    if (!json_is_object(m) || !hk || !hk->inbound)
        return;
    if (truthy(json_object_get(m, "fromMe")) || truthy(json_object_get(m, "wasSentByApi")) ||
        truthy(json_object_get(m, "isGroup")))
        return;
    const char *type = nonempty(json_object_get(m, "messageType"));
    if (type && (strcasestr(type, "reaction") || strcasestr(type, "protocol")))
        return;
    /* chatid is a LID ("...@lid") for some contacts; sender_pn then has the phone */
    if (!jid_digits(json_object_get(m, "chatid"), from, sizeof from) &&
        !jid_digits(json_object_get(m, "sender_pn"), from, sizeof from) &&
        !jid_digits(json_object_get(m, "sender"), from, sizeof from))
        return;
    const char *text = nonempty(json_object_get(m, "text"));
    hk->inbound(hk->ud, sid, from, text ? text : "", nonempty(json_object_get(m, "buttonOrListid")),
                nonempty(json_object_get(m, "quoted")));
}

/* A receipt's status word. *st gets the value; 0 for the words disparo has no
 * use for (ReadSelf, PlayedSelf, Deleted, Retry, ...). */
static int receipt_word(const char *w, enum receipt_status *st)
{
    static const struct {
        const char *word;
        enum receipt_status st;
    } map[] = {
        {"sent", RECEIPT_SENT},
        {"serverack", RECEIPT_SENT},
        {"server_ack", RECEIPT_SENT},
        {"delivered", RECEIPT_DELIVERED},
        {"deliveryack", RECEIPT_DELIVERED},
        {"delivery_ack", RECEIPT_DELIVERED},
        {"read", RECEIPT_READ},
        {"played", RECEIPT_READ},
        {"failed", RECEIPT_FAILED},
        {"error", RECEIPT_FAILED},
    };
    if (!w)
        return 0;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcasecmp(w, map[i].word) == 0) {
            *st = map[i].st;
            return 1;
        }
    return 0;
}

static void report_receipt(const struct sender_hooks *hk, int64_t sid, const char *id,
                           enum receipt_status st, const char *word)
{
    char code[64];
    if (!id || !*id)
        return;
    snprintf(code, sizeof code, "uazapi_%s", word);
    hk->receipt(hk->ud, sid, id, st, st == RECEIPT_FAILED ? code : NULL, NULL);
}

/* A `messages_update` event as the gateway sends it:
 *   {"EventType":"messages_update","type":"ReadReceipt","state":"Read",
 *    "event":{"MessageIDs":["3EB0..."],"Type":"Read","Chat":"...",...}}
 * or the spec's WebhookEvent with a Message-like `data` ({messageid, status}). */
static void on_update(const struct sender_hooks *hk, int64_t sid, const json_t *root,
                      const json_t *data)
{
    enum receipt_status st;
    if (!hk || !hk->receipt)
        return;
    if (data) {
        const char *word = nonempty(json_object_get(data, "status"));
        char id[128];
        message_id(data, id, sizeof id);
        if (receipt_word(word, &st))
            report_receipt(hk, sid, id, st, word);
        return;
    }
    const json_t *ev = json_object_get(root, "event");
    const char *word = nonempty(json_object_get(root, "state"));
    if (!word)
        word = nonempty(json_object_get(ev, "Type"));
    if (!receipt_word(word, &st))
        return;
    const json_t *ids = json_object_get(ev, "MessageIDs");
    size_t i;
    const json_t *id;
    json_array_foreach(ids, i, id)
    {
        if (i >= RECEIPT_IDS_MAX)
            break;
        report_receipt(hk, sid, nonempty(id), st, word);
    }
}

static int uz_webhook(sender *s, const struct sender_webhook_req *req, int *status,
                      struct dp_buf *reply)
{
    if (!s || !req || !status)
        return DP_EINVAL;
    if (!secret_matches(s, req)) {
        *status = 401;
        (void)sc_reply(reply, "unauthorized\n");
        return DP_EAUTH;
    }
    if (!req->method || strcmp(req->method, "POST") != 0) {
        *status = 405;
        (void)sc_reply(reply, "POST only\n");
        return DP_EINVAL;
    }
    if (req->body_len > WEBHOOK_BODY_MAX) {
        *status = 413;
        (void)sc_reply(reply, "body over 1 MiB\n");
        return DP_ETOOBIG;
    }
    json_t *root = json_loadb(req->body ? req->body : "", req->body_len, 0, NULL);
    if (!json_is_object(root)) {
        json_decref(root);
        *status = 400;
        (void)sc_reply(reply, "malformed JSON\n");
        return DP_EJSON;
    }
    /* Hooks get borrowed copies: nothing below touches s again. */
    const struct sender_hooks *hk = s->env.hooks;
    int64_t sid = s->id;
    const char *type = nonempty(json_object_get(root, "EventType"));
    if (type) {
        if (strcmp(type, "messages") == 0)
            on_message(hk, sid, json_object_get(root, "message"));
        else if (strcmp(type, "messages_update") == 0)
            on_update(hk, sid, root, NULL);
        /* connection and every other event: nothing to do */
    } else {
        /* the spec's WebhookEvent envelope: {event, instance, data} */
        const char *ev = nonempty(json_object_get(root, "event"));
        const json_t *data = json_object_get(root, "data");
        if (ev && strcmp(ev, "message") == 0)
            on_message(hk, sid, data);
        else if (ev && strcmp(ev, "status") == 0 && json_is_object(data))
            on_update(hk, sid, root, data);
    }
    json_decref(root);
    *status = 200;
    (void)sc_reply(reply, "ok\n");
    return DP_OK;
}

static const char *const secrets[] = {"token", "webhook_secret", NULL};

const struct sender_vtab uazapi_sender = {
    .provider = "uazapi",
    .validate = uz_validate,
    .secret_fields = secrets,
    .create = uz_create,
    .destroy = uz_destroy,
    .send = uz_send,
    .max_in_flight = uz_max_in_flight,
    .webhook = uz_webhook,
    .health = uz_health,
    .idempotent = 0,     /* track_id accepts duplicates: a lost answer is ambiguous */
    .default_rate = 0.0, /* the gateway paces nothing per account; campaigns set a rate */
    .pair_gap_ms = 6000, /* a QR number that writes to one phone twice within seconds looks like a bot */
};
