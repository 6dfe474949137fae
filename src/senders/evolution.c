/* The Evolution API sender: a self-hosted WhatsApp Web gateway (Evolution API
 * v2, github.com/EvolutionAPI/evolution-api). Each message is one POST to
 * {base_url}/message/send{Text,Media,Buttons}/{instance} with the `apikey`
 * header; receipts and replies come back as the gateway's webhook events.
 * Requests go through the shared httpc, always via config.proxy when set; the
 * engine enforces max_in_flight. The gateway does not deduplicate, so a send
 * that may have reached it (timeout, dropped connection) is SEND_AMBIGUOUS.
 *
 * Shapes below were taken from the upstream v2 source (EvolutionAPI/evolution-api):
 * routes in src/api/routes/{sendMessage,instance}.router.ts, DTOs in
 * src/api/dto/sendMessage.dto.ts, request schemas in src/validate/message.schema.ts,
 * the error body in src/main.ts, the send path and webhook payloads in
 * src/api/integrations/channel/whatsapp/whatsapp.baileys.service.ts. */
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

#define INSTANCE_MAX 128
#define APIKEY_MAX 512
#define PHONE_DIGITS_MAX 20
/* Evolution refuses more than three quick-reply buttons
 * (whatsapp.baileys.service.ts buttonMessage: "Maximum of 3 reply buttons allowed"). */
#define BUTTONS_MAX 3
/* A send reply is the sent WAMessage echoed back (key, message, timestamps);
 * a gateway answering more is broken. */
#define REPLY_MAX ((size_t)256 * 1024)
#define WEBHOOK_BODY_MAX ((size_t)1 << 20)

#define TIMEOUT_DEFAULT 15000
#define TIMEOUT_MAX 600000
#define IN_FLIGHT_DEFAULT 4
#define IN_FLIGHT_MAX 1024

/* One request in flight: a send (done set) or a health check (hdone set).
 * Owned by the sender's list until httpc reports back or the sender dies. */
struct ereq {
    struct sc_node node; /* on s->head */
    sender *s;
    httpc_handle *hd;
    sender_done_fn done;
    sender_health_fn hdone;
    void *ud;
};

struct sender {
    struct sender_env env; /* copied; the pointers inside are borrowed */
    int64_t id;
    char *base;                         /* owned; base_url without a trailing '/' */
    char *instance;                     /* owned; as configured, for matching webhook bodies */
    char *inst_path;                    /* owned; instance percent-encoded for URL paths */
    char *apikey_hdr;                   /* owned "apikey: ..." line */
    char *proxy;                        /* owned, or NULL for direct */
    char secret_sha[CRYPTO_SHA256_HEX]; /* of webhook_secret: compared, never kept */
    long timeout_ms;
    int max_in_flight;
    struct sc_node *head; /* the ereqs in flight */
};

static const char *const known_keys[] = {"base_url",       "instance", "apikey",
                                         "webhook_secret", "proxy",    "timeout_ms",
                                         "max_in_flight",  NULL};

/* ---- text helpers ---- */

/* 1 when v is a string of 1 to max bytes with no NUL or control character
 * among them (UTF-8 and spaces are fine). */
static int plain_ok(const json_t *v, size_t max)
{
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max)
        return 0;
    const char *s = json_string_value(v);
    if (strlen(s) != json_string_length(v))
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s < 32 || (unsigned char)*s == 127)
            return 0;
    return 1;
}

/* Percent-encodes everything outside RFC 3986 "unreserved", so an instance
 * name with '/', '?', '#', spaces or UTF-8 stays one path segment. Caller frees. */
static char *path_escape(const char *s)
{
    static const char hexd[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = malloc(n * 3 + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hexd[c >> 4];
            out[o++] = hexd[c & 15];
        }
    }
    out[o] = '\0';
    return out;
}

/* ---- validation ---- */

static int ev_validate(json_t *config, dp_err *e)
{
    json_t *v;
    int rc;

    rc = sc_check_keys(config, known_keys, "an evolution", e);
    if (rc == DP_OK)
        rc = sc_url_field(config, "base_url", 1, sc_web_schemes, SC_URL_8BIT,
                          "config.base_url must be an http:// or https:// URL", e);
    if (rc)
        return rc;
    v = json_object_get(config, "base_url");
    if (strchr(json_string_value(v), '?') || strchr(json_string_value(v), '#'))
        return dp_err_set(e, DP_EINVAL,
                          "config.base_url must not carry a query or fragment: paths are "
                          "appended to it");

    v = json_object_get(config, "instance");
    if (!v)
        return dp_err_set(e, DP_EINVAL, "config.instance is required");
    if (!plain_ok(v, INSTANCE_MAX))
        return dp_err_set(e, DP_EINVAL,
                          "config.instance must be the instance name, 1 to %d bytes with no "
                          "control characters",
                          INSTANCE_MAX);

    v = json_object_get(config, "apikey");
    if (!v)
        return dp_err_set(e, DP_EINVAL, "config.apikey is required");
    /* it goes into a header line verbatim */
    if (!plain_ok(v, APIKEY_MAX))
        return dp_err_set(e, DP_EINVAL,
                          "config.apikey must be a string of 1 to %d bytes with no control "
                          "characters",
                          APIKEY_MAX);

    /* The secret travels in the webhook URL path, so only URL-safe characters. */
    v = json_object_get(config, "webhook_secret");
    if (v &&
        (!json_is_string(v) || !sc_path_secret_ok(json_string_value(v), json_string_length(v))))
        return dp_err_set(e, DP_EINVAL,
                          "config.webhook_secret must be %d to %d characters of A-Z a-z 0-9 "
                          "- _",
                          SC_SECRET_MIN, SC_SECRET_MAX);
    rc = sc_default_secret(config, "webhook_secret", e);
    if (rc == DP_OK)
        rc = sc_url_field(config, "proxy", 0, sc_proxy_schemes, SC_URL_8BIT,
                          "config.proxy must be an http://, https:// or socks5:// URL", e);
    if (rc == DP_OK)
        rc = sc_int_field(config, "timeout_ms", 1, TIMEOUT_MAX, TIMEOUT_DEFAULT, e);
    if (rc)
        return rc;
    return sc_int_field(config, "max_in_flight", 1, IN_FLIGHT_MAX, IN_FLIGHT_DEFAULT, e);
}

/* ---- lifecycle ---- */

/* Cancels every request in flight (their callbacks never run) and frees s. */
static void ev_destroy(sender *s)
{
    if (!s)
        return;
    while (s->head) {
        struct ereq *w = SC_OWNER(s->head, struct ereq, node);
        sc_list_unlink(&s->head, &w->node);
        httpc_cancel(s->env.http, w->hd);
        free(w);
    }
    free(s->base);
    free(s->instance);
    free(s->inst_path);
    sc_free_secret(s->apikey_hdr); /* a credential: do not leave it in freed memory */
    free(s->proxy);
    free(s);
}

/* config is borrowed and assumed validated; *out belongs to the caller. */
static int ev_create(const struct sender_env *env, int64_t id, const json_t *config, sender **out,
                     dp_err *e)
{
    int rc = DP_ENOMEM;
    sender *s = NULL;

    const char *base = sc_jstr(config, "base_url");
    const char *inst = sc_jstr(config, "instance");
    const char *key = sc_jstr(config, "apikey");
    const char *secret = sc_jstr(config, "webhook_secret");
    if (!env || !env->http || !out || !base || !inst || !key || !secret) {
        rc = dp_err_set(e, DP_EINVAL,
                        "evolution sender needs an HTTP client and a validated config "
                        "(base_url, instance, apikey, webhook_secret)");
        goto out;
    }
    s = calloc(1, sizeof *s);
    if (!s)
        goto out;
    s->env = *env;
    s->id = id;
    s->base = sc_strdupf("%.*s", (int)sc_trim_len(base), base);
    s->instance = strdup(inst);
    s->inst_path = path_escape(inst);
    s->apikey_hdr = sc_strdupf("apikey: %s", key);
    if (!s->base || !s->instance || !s->inst_path || !s->apikey_hdr)
        goto out;
    int oom = 0;
    s->proxy = sc_dup_field(config, "proxy", &oom);
    if (oom)
        goto out;
    crypto_sha256_hex(secret, strlen(secret), s->secret_sha);
    s->timeout_ms = (long)sc_jint(config, "timeout_ms", TIMEOUT_DEFAULT);
    s->max_in_flight = (int)sc_jint(config, "max_in_flight", IN_FLIGHT_DEFAULT);
    *out = s;
    s = NULL;
    rc = DP_OK;
out:
    if (rc == DP_ENOMEM)
        dp_err_set(e, rc, "out of memory creating the evolution sender");
    ev_destroy(s);
    return rc;
}

static int ev_max_in_flight(const sender *s)
{
    return s->max_in_flight;
}

/* ---- the gateway's answers ---- */

/* Errors come as {"status":N,"error":"...","response":{"message": M}} where M is
 * a string, or an array of strings and objects (src/main.ts error handler;
 * src/exceptions/). Returns M, borrowed from root, or NULL. */
static const json_t *error_message(const json_t *root)
{
    const json_t *m = json_object_get(json_object_get(root, "response"), "message");
    return m ? m : json_object_get(root, "message");
}

/* "a; b; c" from the strings in M (and the body itself when it is not
 * Evolution's JSON), into dst (size > max). */
static void error_detail(char *dst, size_t max, const json_t *root, const char *body, size_t len)
{
    const json_t *m = error_message(root);
    dst[0] = '\0';
    if (json_is_string(m)) {
        sc_copy_utf8(dst, max, json_string_value(m), json_string_length(m));
        return;
    }
    if (json_is_array(m)) {
        char tmp[SC_DETAIL_MAX + 1];
        size_t o = 0, i;
        const json_t *it;
        json_array_foreach(m, i, it)
        {
            if (!json_is_string(it) || o >= max)
                continue;
            int n = snprintf(dst + o, max + 1 - o, "%s", o ? "; " : "");
            if (n < 0 || (size_t)n >= max + 1 - o)
                break;
            o += (size_t)n;
            sc_copy_utf8(tmp, max - o, json_string_value(it), json_string_length(it));
            memcpy(dst + o, tmp, strlen(tmp) + 1);
            o += strlen(tmp);
        }
        if (o > 0)
            return;
    }
    sc_copy_utf8(dst, max, body, len);
}

/* Whether any string in M (or the raw body) contains needle, ignoring case. */
static int message_says(const json_t *root, const char *body, const char *needle)
{
    const json_t *m = error_message(root);
    if (json_is_string(m))
        return strcasestr(json_string_value(m), needle) != NULL;
    if (json_is_array(m)) {
        size_t i;
        const json_t *it;
        json_array_foreach(m, i, it)
        {
            if (json_is_string(it) && strcasestr(json_string_value(it), needle))
                return 1;
        }
        return 0;
    }
    return root == NULL && strcasestr(body, needle) != NULL;
}

/* The entry of M that says the number has no WhatsApp: sendMessageWithTyping
 * throws BadRequestException(isWA), an OnWhatsAppDto {jid, exists:false, number}. */
static const json_t *not_on_whatsapp(const json_t *root)
{
    const json_t *m = error_message(root);
    size_t i;
    const json_t *it;
    if (json_is_object(m) && json_is_false(json_object_get(m, "exists")))
        return m;
    json_array_foreach(m, i, it)
    {
        if (json_is_object(it) && json_is_false(json_object_get(it, "exists")))
            return it;
    }
    return NULL;
}

/* The instance is down rather than the request wrong: the instance guard's
 * 404 "The \"x\" instance does not exist", Baileys' "Connection Closed"
 * (answered as 400 or 500 depending on the version), "... is not connected". */
static int instance_unavailable(long st, const json_t *root, const char *body)
{
    if (st == 404)
        return message_says(root, body, "does not exist");
    return message_says(root, body, "connection closed") ||
           message_says(root, body, "not connected");
}

/* Failures before a byte of the request could reach the gateway are safe to
 * retry. After that the POST may have been read and the message sent before
 * the answer was lost, and Evolution does not deduplicate. */
static const int never_sent[] = {CURLE_UNSUPPORTED_PROTOCOL, CURLE_URL_MALFORMAT, 0};
static const struct sc_net_policy net_policy = {
    .connect = never_sent,
    .after_send = SEND_AMBIGUOUS,
    .other = SEND_AMBIGUOUS,
};

static void classify(const struct httpc_resp *resp, struct send_result *r)
{
    memset(r, 0, sizeof *r);
    if (!sc_have_status(resp)) {
        sc_net_failure(resp, &net_policy, r);
        return;
    }

    long st = resp->status;
    json_t *root =
        resp->curl_code == CURLE_OK ? json_loadb(resp->body, resp->body_len, 0, NULL) : NULL;
    if (st >= 200 && st < 300) {
        /* 201 + the sent WAMessage; key.id is the WhatsApp message id that
         * messages.update events carry back as keyId. */
        r->outcome = SEND_OK;
        const json_t *id = json_object_get(json_object_get(root, "key"), "id");
        if (json_is_string(id))
            sc_copy_utf8(r->provider_id, sizeof r->provider_id - 1, json_string_value(id),
                         json_string_length(id));
        goto out;
    }
    snprintf(r->code, sizeof r->code, "evolution_http_%ld", st);
    error_detail(r->detail, SC_DETAIL_MAX, root, resp->body, resp->body_len);
    const json_t *nw = not_on_whatsapp(root);

    if (st == 401 || st == 403) {
        /* the apikey is wrong or revoked: nothing this account sends can pass */
        r->outcome = SEND_TRANSIENT;
        r->sender_fault = 1;
        r->action = ACT_STOP_SENDER;
    } else if (st >= 400 && st < 600 && st != 429 && instance_unavailable(st, root, resp->body)) {
        r->outcome = SEND_TRANSIENT;
        r->sender_fault = 1;
        r->action = ACT_UNAVAILABLE;
        snprintf(r->code, sizeof r->code, "evolution_unavailable");
    } else if (st == 400 && nw) {
        r->outcome = SEND_PERMANENT;
        r->no_whatsapp = 1;
        snprintf(r->code, sizeof r->code, "no_whatsapp");
        const json_t *num = json_object_get(nw, "number");
        char n[32];
        sc_copy_utf8(n, sizeof n - 1, json_is_string(num) ? json_string_value(num) : "",
                     json_is_string(num) ? json_string_length(num) : 0);
        snprintf(r->detail, sizeof r->detail, "%s%sis not on WhatsApp", n, *n ? " " : "");
    } else if (st == 404) {
        /* "Cannot POST /message/...": no such route, so base_url points at
         * something else or this Evolution lacks the endpoint (older builds
         * have no sendButtons). The message kind cannot go through this
         * gateway, whoever the recipient. */
        r->outcome = SEND_PERMANENT;
        r->sender_fault = 1;
        r->action = ACT_BAD_TEMPLATE;
    } else {
        sc_status_result(st, resp, r);
    }
out:
    json_decref(root);
}

static void on_send_done(void *ud, const struct httpc_resp *resp)
{
    struct ereq *w = ud;
    struct send_result r;
    classify(resp, &r);
    sender_done_fn done = w->done;
    void *dud = w->ud;
    /* Off the list and freed before done runs: done may destroy the sender. */
    sc_list_unlink(&w->s->head, &w->node);
    free(w);
    done(dud, &r);
}

/* ---- send ---- */

/* A document needs a fileName: without one Evolution derives it from the URL
 * with a regex that throws when the path has no "name.ext" (prepareMediaMessage).
 * Takes the last path segment of the URL, else "document"; always valid UTF-8. */
static void doc_filename(char *dst, size_t size, const struct sender_media *md)
{
    if (md->filename && *md->filename) {
        sc_copy_utf8(dst, size - 1, md->filename, strlen(md->filename));
        return;
    }
    const char *u = strstr(md->url, "://");
    u = u ? u + 3 : md->url;
    size_t end = strcspn(u, "?#");
    const char *seg = NULL;
    for (size_t i = 0; i < end; i++)
        if (u[i] == '/')
            seg = u + i + 1;
    size_t n = seg ? (size_t)(u + end - seg) : 0;
    if (n == 0) {
        snprintf(dst, size, "document");
        return;
    }
    sc_copy_utf8(dst, size - 1, seg, n);
}

/* The v2 body for m (flat, no v1 "textMessage"/"mediaMessage" nesting), and
 * the route it goes to. NULL when m cannot be sent through Evolution or on
 * invalid UTF-8 / no memory. */
static json_t *build_body(const struct sender_msg *m, const char **route)
{
    const struct sender_media *md = m->media;
    json_t *o = NULL;

    if (m->tmpl)
        return NULL; /* Cloud API templates: a Baileys session has none */
    if (md &&
        (!sc_media_kind(md->kind) || !md->url || !sc_url_ok(md->url, sc_web_schemes, SC_URL_8BIT)))
        return NULL;

    if (m->nbuttons > 0) {
        /* SendButtonsDto {number, title, description?, footer?, thumbnailUrl?,
         * buttons: [{type:"reply", displayText, id}]}; the body shows "*title*"
         * (buttonMessage), so the whole text is the title. A picture may ride
         * along as thumbnailUrl; other media cannot. */
        if (!m->buttons || m->nbuttons > BUTTONS_MAX || !*m->text ||
            (md && strcmp(md->kind, "image") != 0))
            return NULL;
        json_t *arr = json_array();
        o = json_pack("{s:s,s:s,s:o}", "number", m->to, "title", m->text, "buttons", arr);
        if (!o)
            return NULL;
        for (size_t i = 0; i < m->nbuttons; i++) {
            const struct sender_button *b = &m->buttons[i];
            if (!b->id || !*b->id || !b->title || !*b->title)
                goto fail;
            if (json_array_append_new(arr, json_pack("{s:s,s:s,s:s}", "type", "reply",
                                                     "displayText", b->title, "id", b->id)) != 0)
                goto fail;
        }
        if (md && json_object_set_new(o, "thumbnailUrl", json_string(md->url)) != 0)
            goto fail;
        *route = "sendButtons";
        return o;
    }

    if (md) {
        /* SendMediaDto {number, mediatype, media (URL or base64), caption?,
         * fileName?, mimetype?}: mimetype is optional, Evolution looks it up
         * from fileName or the URL's Content-Type. */
        o = json_pack("{s:s,s:s,s:s}", "number", m->to, "mediatype", md->kind, "media", md->url);
        if (!o)
            return NULL;
        if (*m->text && json_object_set_new(o, "caption", json_string(m->text)) != 0)
            goto fail;
        if (strcmp(md->kind, "document") == 0) {
            char fn[256];
            doc_filename(fn, sizeof fn, md);
            if (json_object_set_new(o, "fileName", json_string(fn)) != 0)
                goto fail;
        }
        *route = "sendMedia";
        return o;
    }

    /* SendTextDto {number, text}; textMessage answers 400 "Text is required"
     * to a blank text, so refuse it here. */
    if (strspn(m->text, " \t\r\n") == strlen(m->text))
        return NULL;
    *route = "sendText";
    return json_pack("{s:s,s:s}", "number", m->to, "text", m->text);
fail:
    json_decref(o);
    return NULL;
}

/* Starts one request; on success a new ereq is on s's list and is owned by it
 * until the httpc callback or ev_destroy. Temporaries are freed here. */
static int start(sender *s, const char *method, const char *url, const char *body, httpc_done_fn cb,
                 sender_done_fn done, sender_health_fn hdone, void *ud)
{
    const char *hdrs[4];
    size_t k = 0;
    int rc = DP_ENOMEM;
    struct ereq *w = calloc(1, sizeof *w);
    if (!w)
        goto out;
    if (body)
        hdrs[k++] = "Content-Type: application/json";
    hdrs[k++] = "Accept: application/json";
    hdrs[k++] = s->apikey_hdr;
    hdrs[k] = NULL;
    struct httpc_req req = {
        .method = method,
        .url = url,
        .headers = hdrs,
        .body = body,
        .body_len = body ? strlen(body) : 0,
        .timeout_ms = s->timeout_ms,
        .proxy = s->proxy, /* httpc never falls back to direct when set */
        .max_response = REPLY_MAX,
    };
    w->s = s;
    w->done = done;
    w->hdone = hdone;
    w->ud = ud;
    rc = httpc_do(s->env.http, &req, cb, w, &w->hd);
    if (rc != DP_OK)
        goto out;
    sc_list_push(&s->head, &w->node);
    w = NULL;
out:
    free(w);
    return rc;
}

static char *make_url(const sender *s, const char *prefix, const char *route)
{
    return sc_strdupf("%s/%s/%s/%s", s->base, prefix, route, s->inst_path);
}

static int ev_send(sender *s, const struct sender_msg *m, sender_done_fn done, void *ud)
{
    int rc = DP_EINVAL;
    json_t *obj = NULL;
    char *body = NULL;
    char *url = NULL;
    const char *route = NULL;

    if (!s || !m || !m->to || !m->text || !done || !sc_digits_ok(m->to, PHONE_DIGITS_MAX))
        goto out;
    obj = build_body(m, &route);
    if (!obj)
        goto out; /* a kind Evolution cannot send, invalid UTF-8, or no memory */
    rc = DP_ENOMEM;
    body = json_dumps(obj, JSON_COMPACT);
    url = make_url(s, "message", route);
    if (!body || !url)
        goto out;
    rc = start(s, "POST", url, body, on_send_done, done, NULL, ud);
out:
    free(url);
    free(body);
    json_decref(obj);
    return rc;
}

/* ---- health ---- */

static void on_health_done(void *ud, const struct httpc_resp *resp)
{
    struct ereq *w = ud;
    struct sender_health h;
    memset(&h, 0, sizeof h);

    int have_status = resp->status > 0 && resp->curl_code == CURLE_OK;
    if (!have_status) {
        sc_health_unreachable(resp, &h);
    } else if (resp->status == 200) {
        /* {"instance": {"instanceName": "...", "state": "open"|"connecting"|"close"}}
         * (instance.controller.ts connectionState); the state is missing when
         * the instance exists on disk but is not loaded. */
        json_t *root = json_loadb(resp->body, resp->body_len, 0, NULL);
        const json_t *st = json_object_get(json_object_get(root, "instance"), "state");
        if (json_is_string(st)) {
            sc_copy_utf8(h.state, sizeof h.state - 1, json_string_value(st),
                         json_string_length(st));
            h.ok = strcmp(json_string_value(st), "open") == 0;
            if (!h.ok)
                snprintf(h.detail, sizeof h.detail,
                         "the WhatsApp session is not open: reconnect the instance");
        } else {
            snprintf(h.state, sizeof h.state, "unknown");
            snprintf(h.detail, sizeof h.detail, "connectionState answered without a state");
        }
        json_decref(root);
    } else {
        long st = resp->status;
        json_t *root = json_loadb(resp->body, resp->body_len, 0, NULL);
        if (st == 401 || st == 403)
            snprintf(h.state, sizeof h.state, "unauthorized");
        else if (st == 404)
            snprintf(h.state, sizeof h.state, "not_found");
        else
            snprintf(h.state, sizeof h.state, "http_%ld", st);
        error_detail(h.detail, SC_DETAIL_MAX, root, resp->body, resp->body_len);
        json_decref(root);
    }
    sender_health_fn done = w->hdone;
    void *dud = w->ud;
    sc_list_unlink(&w->s->head, &w->node);
    free(w);
    done(dud, &h);
}

static int ev_health(sender *s, sender_health_fn done, void *ud)
{
    if (!s || !done)
        return DP_EINVAL;
    char *url = make_url(s, "instance", "connectionState");
    if (!url)
        return DP_ENOMEM;
    int rc = start(s, "GET", url, NULL, on_health_done, NULL, done, ud);
    free(url);
    return rc;
}

/* ---- webhook ---- */

/* Compares SHA-256 digests so neither the secret's bytes nor its length leak
 * through timing. */
static int secret_matches(const sender *s, const char *given, size_t len)
{
    char sha[CRYPTO_SHA256_HEX];
    crypto_sha256_hex(given, len, sha);
    return crypto_equal(sha, s->secret_sha, sizeof sha);
}

/* The secret from the path, else from the X-Disparo-Secret header. With
 * webhook "byEvents" Evolution appends "/messages-update" and the like to the
 * URL (webhook.controller.ts emit), so only the first segment counts. */
static int authorized(const sender *s, const struct sender_webhook_req *req)
{
    size_t n;
    const char *given = sc_given_secret(req, &n);
    return given && secret_matches(s, given, n);
}

/* "messages.update", "MESSAGES_UPDATE" and "messages-update" alike. */
static void event_name(char *dst, size_t size, const char *ev)
{
    size_t i = 0;
    for (; ev[i] && i + 1 < size; i++) {
        char c = ev[i];
        if (c == '_' || c == '-')
            c = '.';
        else if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        dst[i] = c;
    }
    dst[i] = '\0';
}

/* Baileys' numeric statuses by name (src/utils/renderStatus.ts). */
static const char *const status_names[] = {"ERROR",        "PENDING", "SERVER_ACK",
                                           "DELIVERY_ACK", "READ",    "PLAYED"};

/* 1 and *st for a status that is a receipt; 0 for PENDING, DELETED and the rest. */
static int receipt_of(const json_t *v, enum receipt_status *st)
{
    const char *name = NULL;
    if (json_is_string(v))
        name = json_string_value(v);
    else if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= 5)
        name = status_names[json_integer_value(v)];
    if (!name)
        return 0;
    if (strcmp(name, "SERVER_ACK") == 0)
        *st = RECEIPT_SENT;
    else if (strcmp(name, "DELIVERY_ACK") == 0)
        *st = RECEIPT_DELIVERED;
    else if (strcmp(name, "READ") == 0 || strcmp(name, "PLAYED") == 0)
        *st = RECEIPT_READ;
    else if (strcmp(name, "ERROR") == 0)
        *st = RECEIPT_FAILED;
    else
        return 0;
    return 1;
}

/* messages.update data: {keyId, remoteJid, fromMe, status, ...}
 * (whatsapp.baileys.service.ts messageHandle['messages.update']); older
 * builds nest the id as key.id. Returns how many receipts were reported. */
static int handle_update(int64_t sid, const struct sender_hooks *hk, const json_t *d)
{
    enum receipt_status st;
    const json_t *id = json_object_get(d, "keyId");
    const json_t *key = json_object_get(d, "key");
    if (!json_is_string(id))
        id = json_object_get(key, "id");
    const json_t *from_me = json_object_get(d, "fromMe");
    if (!from_me)
        from_me = json_object_get(key, "fromMe");
    if (!json_is_string(id) || json_string_length(id) == 0 || json_is_false(from_me) ||
        !receipt_of(json_object_get(d, "status"), &st))
        return 0; /* not about a message we sent, or not a receipt */
    if (!hk || !hk->receipt)
        return 0;
    char pid[128];
    sc_copy_utf8(pid, sizeof pid - 1, json_string_value(id), json_string_length(id));
    if (st == RECEIPT_FAILED)
        hk->receipt(hk->ud, sid, pid, st, "evolution_error",
                    "WhatsApp reported the message failed");
    else
        hk->receipt(hk->ud, sid, pid, st, NULL, NULL);
    return 1;
}

/* The contact's phone digits from a chat JID: "5511...@s.whatsapp.net", or for
 * a LID-addressed chat ("...@lid") the phone JID Evolution adds as
 * key.remoteJidAlt / key.senderPn. 0 for groups, broadcasts, newsletters. */
static int contact_phone(const json_t *key, char out[PHONE_DIGITS_MAX + 1])
{
    static const char *const fields[] = {"remoteJid", "remoteJidAlt", "senderPn", NULL};
    static const char suffix[] = "@s.whatsapp.net";
    for (size_t i = 0; fields[i]; i++) {
        const json_t *v = json_object_get(key, fields[i]);
        if (!json_is_string(v))
            continue;
        const char *jid = json_string_value(v);
        const char *at = strchr(jid, '@');
        if (!at || strcmp(at, suffix) != 0)
            continue;
        size_t n = strcspn(jid, ":@"); /* "user:device@server" */
        if (n == 0 || n > PHONE_DIGITS_MAX)
            continue;
        memcpy(out, jid, n);
        out[n] = '\0';
        if (sc_digits_ok(out, PHONE_DIGITS_MAX))
            return 1;
    }
    return 0;
}

static const char *ctx_stanza(const json_t *holder)
{
    const json_t *v = json_object_get(json_object_get(holder, "contextInfo"), "stanzaId");
    return json_is_string(v) && json_string_length(v) > 0 ? json_string_value(v) : NULL;
}

/* messages.upsert data: {key:{remoteJid, fromMe, id}, pushName, message,
 * contextInfo, messageType, ...} (messageHandle['messages.upsert'], which
 * copies the content's contextInfo to the top). Reports a text, or a button
 * click from the legacy buttonsResponseMessage / templateButtonReplyMessage or
 * the native-flow interactiveResponseMessage that sendButtons' quick replies
 * produce. Returns how many inbound messages were reported. */
static int handle_upsert(int64_t sid, const struct sender_hooks *hk, const json_t *d)
{
    const json_t *key = json_object_get(d, "key");
    const json_t *msg = json_object_get(d, "message");
    char from[PHONE_DIGITS_MAX + 1];
    const char *text = NULL, *button = NULL, *ctx = ctx_stanza(d);
    json_t *params = NULL;
    int n = 0;

    if (!json_is_object(key) || !json_is_object(msg) ||
        !json_is_false(json_object_get(key, "fromMe")) || !contact_phone(key, from))
        return 0; /* our own sends echoed back, groups, or not a message */
    const json_t *eph = json_object_get(json_object_get(msg, "ephemeralMessage"), "message");
    if (json_is_object(eph))
        msg = eph; /* disappearing-messages chats wrap the content once */

    const json_t *bresp = json_object_get(msg, "buttonsResponseMessage");
    const json_t *tresp = json_object_get(msg, "templateButtonReplyMessage");
    const json_t *iresp = json_object_get(msg, "interactiveResponseMessage");
    const json_t *ext = json_object_get(msg, "extendedTextMessage");
    const json_t *part = NULL;
    if (bresp) {
        part = bresp;
        button = sc_jstr(bresp, "selectedButtonId");
        text = sc_jstr(bresp, "selectedDisplayText");
    } else if (tresp) {
        part = tresp;
        button = sc_jstr(tresp, "selectedId");
        text = sc_jstr(tresp, "selectedDisplayText");
    } else if (iresp) {
        /* nativeFlowResponseMessage.paramsJson is JSON in a string: {"id": ...} */
        part = iresp;
        const char *pj = sc_jstr(json_object_get(iresp, "nativeFlowResponseMessage"), "paramsJson");
        if (pj)
            params = json_loads(pj, 0, NULL);
        button = sc_jstr(params, "id");
        text = sc_jstr(json_object_get(iresp, "body"), "text");
    } else if (json_is_string(json_object_get(msg, "conversation"))) {
        text = json_string_value(json_object_get(msg, "conversation"));
    } else if (ext) {
        part = ext;
        text = sc_jstr(ext, "text");
    }
    if (part && !ctx)
        ctx = ctx_stanza(part);
    if (button && !*button)
        button = NULL;
    if ((!text || !*text) && !button)
        goto out; /* media, stickers, reactions, polls: nothing the engine reads */
    if (hk && hk->inbound) {
        hk->inbound(hk->ud, sid, from, text ? text : "", button, ctx);
        n = 1;
    }
out:
    json_decref(params);
    return n;
}

static int ev_webhook(sender *s, const struct sender_webhook_req *req, int *status,
                      struct dp_buf *reply)
{
    json_t *root = NULL;
    int rc = DP_OK;

    if (!s || !req || !status) {
        rc = DP_EINVAL;
        goto out;
    }
    if (!authorized(s, req)) {
        *status = 401;
        (void)sc_reply(reply, "{\"error\":\"bad or missing webhook secret\"}");
        goto out;
    }
    if (!req->method || strcmp(req->method, "POST") != 0) {
        *status = 405;
        (void)sc_reply(reply, "{\"error\":\"Evolution API webhooks are POSTs\"}");
        goto out;
    }
    if (req->body_len > WEBHOOK_BODY_MAX) {
        *status = 413;
        (void)sc_reply(reply, "{\"error\":\"body over 1 MiB\"}");
        goto out;
    }
    /* {event, instance, data, destination, date_time, sender, server_url,
     * apikey} (webhook.controller.ts emit) */
    root = json_loadb(req->body ? req->body : "", req->body_len, 0, NULL);
    if (!json_is_object(root) || !json_is_string(json_object_get(root, "event"))) {
        *status = 400;
        (void)sc_reply(reply, "{\"error\":\"expected an Evolution API event object\"}");
        goto out;
    }
    const json_t *inst = json_object_get(root, "instance");
    if (json_is_string(inst) && strcmp(json_string_value(inst), s->instance) != 0) {
        /* another instance posting to this sender's URL: its ids are not ours */
        *status = 200;
        (void)sc_reply(reply, "{\"ok\":true,\"ignored\":\"other instance\"}");
        goto out;
    }

    char ev[64];
    event_name(ev, sizeof ev, json_string_value(json_object_get(root, "event")));
    int (*handle)(int64_t, const struct sender_hooks *, const json_t *) = NULL;
    if (strcmp(ev, "messages.update") == 0)
        handle = handle_update;
    else if (strcmp(ev, "messages.upsert") == 0)
        handle = handle_upsert;

    /* Hooks are read into locals first: a hook must be able to destroy s. */
    int64_t sid = s->id;
    const struct sender_hooks *hk = s->env.hooks;
    *status = 200;
    (void)sc_reply(reply, "{\"ok\":true}");
    if (!handle)
        goto out; /* connection.update, contacts, chats...: acknowledged, unused */
    const json_t *data = json_object_get(root, "data");
    if (json_is_array(data)) {
        size_t i;
        const json_t *it;
        json_array_foreach(data, i, it)
        {
            (void)handle(sid, hk, it);
        }
    } else if (json_is_object(data)) {
        (void)handle(sid, hk, data);
    }
out:
    json_decref(root);
    return rc;
}

static const char *const secrets[] = {"apikey", "webhook_secret", NULL};

const struct sender_vtab evolution_sender = {
    .provider = "evolution",
    .validate = ev_validate,
    .secret_fields = secrets,
    .create = ev_create,
    .destroy = ev_destroy,
    .send = ev_send,
    .max_in_flight = ev_max_in_flight,
    .webhook = ev_webhook,
    .health = ev_health,
    .idempotent = 0,     /* Evolution has no idempotency key: a lost answer is ambiguous */
    .default_rate = 0.0, /* unofficial API: pacing comes from the campaign, not the gateway */
    /* Meta's pair limit is for the Cloud API; a QR number that writes to one
     * phone twice within seconds looks like a bot all the same */
    .pair_gap_ms = 6000,
};
