/* The Cloud API sender against a fake Graph API (evhttp on 127.0.0.1:0 in the
 * same loop). The fake checks every request against the v23.0 OpenAPI file
 * (path, Bearer token, Content-Type, the `Message` schema of each kind) and
 * answers 400 with a Graph error (#100) when one is off; it can also inject
 * any Graph error code, 429 with Retry-After, 500, latency, silence and a
 * dropped connection, and act as an HTTP proxy. Webhooks and health checks
 * are driven directly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "engine/timer.h"
#include "senders/sender.h"
#include "support/fakehttp.h"
#include "support/sendercheck.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/httpc.h"

extern const struct sender_vtab cloudapi_sender;

#define PID "106540352242922"
#define TOKEN "EAAGfake.token-123"
#define APP_SECRET "s3cr3t-app"
#define VERIFY "verify-me"
#define SENDER_ID 9
#define MAX_EV 32

enum fake_mode {
    FK_OK,     /* 200 with a wamid */
    FK_GRAPH,  /* a Graph error object: inject_code with HTTP inject_status */
    FK_RAW,    /* inject_status with raw_body as is */
    FK_SILENT, /* never answer */
    FK_DROP,   /* close the connection without answering */
};

/* What the engine side saw through the hooks. */
struct ev {
    char kind; /* 'R' receipt, 'I' inbound */
    int64_t sender_id;
    char provider_id[128];
    enum receipt_status st;
    char code[64];
    char detail[256];
    int has_code, has_detail;
    char from[32];
    char text[128];
    char button_id[64];
    char context_id[128];
    int has_button, has_context;
};

struct fx {
    struct event_base *base;
    struct evhttp *http;
    struct sender_hooks hooks;
    struct sender_env env;
    sender *s;
    int port;
    /* how the fake answers */
    enum fake_mode mode;
    int latency_ms;
    long inject_code;
    int inject_status;
    int inject_transient;
    const char *inject_msg;
    const char *raw_body;
    const char *retry_after;
    const char *health_reply;
    /* what it got */
    int n_requests;
    int n_proxied;
    char method[8];
    char path[512];
    char query[512];
    char body[8192];
    char auth[256];
    char content_type[128];
    char violation[256]; /* the last spec violation, "" if none */
    int n_wamid;
    /* what the sender reported */
    int n_done;
    struct send_result last;
    int n_health;
    struct sender_health health;
    struct ev evs[MAX_EV];
    int n_ev;
};

/* ---- the fake Graph API: spec checks ---- */

static int fail_why(char *why, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail_why(char *why, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, n, fmt, ap);
    va_end(ap);
    return -1;
}

static const char *js(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static size_t chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            n++;
    return n;
}

/* Only keys from allowed (NULL-terminated) may appear: the schemas say
 * additionalProperties: false. */
static int only_keys(const json_t *o, const char *const *allowed, const char *where, char *why,
                     size_t n)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v)
    {
        size_t i = 0;
        while (allowed[i] && strcmp(allowed[i], k) != 0)
            i++;
        if (!allowed[i])
            return fail_why(why, n, "%s.%s is not allowed", where, k);
    }
    return 0;
}

/* MediaObject (MediaObject_1 for captions): exactly one of id/link, link
 * http(s); caption only where the kind has one, filename for documents. */
static int check_media(const json_t *m, const char *kind, int caption_ok, const char *where,
                       char *why, size_t n)
{
    if (!json_is_object(m))
        return fail_why(why, n, "%s must be an object", where);
    int has_id = json_object_get(m, "id") != NULL, has_link = json_object_get(m, "link") != NULL;
    if (has_id == has_link)
        return fail_why(why, n, "%s needs exactly one of id and link", where);
    const char *link = js(m, "link");
    if (has_link && (!link || (strncmp(link, "http://", 7) != 0 && strncmp(link, "https://", 8))))
        return fail_why(why, n, "%s.link must be an http(s) URL", where);
    const json_t *cap = json_object_get(m, "caption");
    if (cap && (!caption_ok || !json_is_string(cap) || chars(json_string_value(cap)) > 1024))
        return fail_why(why, n, "%s.caption is not allowed here", where);
    const json_t *fn = json_object_get(m, "filename");
    if (fn && (strcmp(kind, "document") != 0 || !json_is_string(fn)))
        return fail_why(why, n, "%s.filename is only for documents", where);
    static const char *const keys[] = {"id", "link", "caption", "filename", NULL};
    return only_keys(m, keys, where, why, n);
}

static int check_template(const json_t *t, char *why, size_t n)
{
    if (!json_is_object(t) || !js(t, "name") || !*js(t, "name"))
        return fail_why(why, n, "template.name is required");
    const json_t *lang = json_object_get(t, "language");
    if (!js(lang, "code") || !*js(lang, "code"))
        return fail_why(why, n, "template.language.code is required");
    if (!js(lang, "policy") || strcmp(js(lang, "policy"), "deterministic") != 0)
        return fail_why(why, n, "template.language.policy must be \"deterministic\"");
    const json_t *comps = json_object_get(t, "components");
    if (!comps)
        return 0;
    if (!json_is_array(comps))
        return fail_why(why, n, "template.components must be an array");
    size_t i;
    const json_t *c;
    json_array_foreach(comps, i, c)
    {
        const char *ct = js(c, "type");
        const json_t *params = json_object_get(c, "parameters");
        if (!ct)
            return fail_why(why, n, "components[%zu].type is required", i);
        if (strcmp(ct, "header") == 0) {
            if (!json_is_array(params) || json_array_size(params) < 1)
                return fail_why(why, n, "header.parameters needs at least one item");
            const json_t *p = json_array_get(params, 0);
            const char *pt = js(p, "type");
            if (!pt || (strcmp(pt, "image") && strcmp(pt, "video") && strcmp(pt, "document") &&
                        strcmp(pt, "text")))
                return fail_why(why, n, "header parameter type is invalid");
            if (strcmp(pt, "text") != 0 &&
                check_media(json_object_get(p, pt), pt, 0, "header parameter", why, n))
                return -1;
        } else if (strcmp(ct, "body") == 0) {
            if (!json_is_array(params))
                return fail_why(why, n, "body.parameters must be an array");
            size_t j;
            const json_t *p;
            json_array_foreach(params, j, p)
            {
                const char *pt = js(p, "type");
                if (!pt || strcmp(pt, "text") != 0 || !js(p, "text") ||
                    chars(js(p, "text")) > 32768)
                    return fail_why(why, n, "body.parameters[%zu] must be {type: text, text}", j);
            }
        } else if (strcmp(ct, "button") != 0) {
            return fail_why(why, n, "components[%zu].type \"%s\" is unknown", i, ct);
        }
    }
    return 0;
}

static int check_interactive(const json_t *in, char *why, size_t n)
{
    if (!json_is_object(in) || !js(in, "type") || !json_object_get(in, "action"))
        return fail_why(why, n, "interactive.type and interactive.action are required");
    if (strcmp(js(in, "type"), "button") != 0)
        return fail_why(why, n, "the fake only knows reply buttons");
    const char *body = js(json_object_get(in, "body"), "text");
    if (!body || chars(body) > 1024)
        return fail_why(why, n, "interactive.body.text is required (at most 1024)");
    const json_t *h = json_object_get(in, "header");
    if (h) {
        const char *ht = js(h, "type");
        if (!ht || (strcmp(ht, "image") && strcmp(ht, "video") && strcmp(ht, "document")))
            return fail_why(why, n, "interactive.header.type is invalid");
        if (check_media(json_object_get(h, ht), ht, 0, "interactive.header", why, n))
            return -1;
    }
    const json_t *btns = json_object_get(json_object_get(in, "action"), "buttons");
    if (!json_is_array(btns) || json_array_size(btns) < 1 || json_array_size(btns) > 3)
        return fail_why(why, n, "action.buttons must hold 1 to 3 buttons");
    size_t i;
    const json_t *b;
    json_array_foreach(btns, i, b)
    {
        const json_t *r = json_object_get(b, "reply");
        const char *id = js(r, "id"), *title = js(r, "title");
        if (!js(b, "type") || strcmp(js(b, "type"), "reply") != 0)
            return fail_why(why, n, "buttons[%zu].type must be reply", i);
        if (!id || strlen(id) > 256 || !title || !*title || chars(title) > 20)
            return fail_why(why, n, "buttons[%zu].reply needs an id and a 1-20 character title", i);
        for (size_t j = 0; j < i; j++)
            if (strcmp(js(json_object_get(json_array_get(btns, j), "reply"), "title"), title) == 0)
                return fail_why(why, n, "button titles must be unique");
    }
    return 0;
}

/* The `Message` schema for the kinds disparo sends. */
static int check_message(const char *body, char *why, size_t n)
{
    int rc = -1;
    json_t *m = json_loads(body, 0, NULL);
    if (!json_is_object(m)) {
        rc = fail_why(why, n, "the body is not a JSON object");
        goto out;
    }
    const char *mp = js(m, "messaging_product"), *rt = js(m, "recipient_type");
    const char *to = js(m, "to"), *type = js(m, "type");
    if (!mp || strcmp(mp, "whatsapp") != 0) {
        rc = fail_why(why, n, "messaging_product must be \"whatsapp\"");
        goto out;
    }
    if (!rt || (strcmp(rt, "individual") != 0 && strcmp(rt, "group") != 0)) {
        rc = fail_why(why, n, "recipient_type must be individual or group");
        goto out;
    }
    if (!to || !*to) {
        rc = fail_why(why, n, "to is required");
        goto out;
    }
    if (!type) {
        rc = fail_why(why, n, "type is required");
        goto out;
    }
    const char *top[] = {
        "messaging_product", "recipient_type", "to", "type", "context", type, NULL};
    if (only_keys(m, top, "message", why, n))
        goto out;
    const json_t *p = json_object_get(m, type);
    if (!p) {
        rc = fail_why(why, n, "%s is required for type %s", type, type);
        goto out;
    }
    if (strcmp(type, "text") == 0) {
        static const char *const keys[] = {"body", "preview_url", NULL};
        const json_t *pu = json_object_get(p, "preview_url");
        if (!js(p, "body") || !*js(p, "body") || chars(js(p, "body")) > 4096)
            rc = fail_why(why, n, "text.body is required (at most 4096)");
        else if (pu && !json_is_boolean(pu))
            rc = fail_why(why, n, "text.preview_url must be a boolean");
        else
            rc = only_keys(p, keys, "text", why, n);
    } else if (strcmp(type, "image") == 0 || strcmp(type, "video") == 0 ||
               strcmp(type, "document") == 0) {
        rc = check_media(p, type, 1, type, why, n);
    } else if (strcmp(type, "audio") == 0) {
        rc = check_media(p, type, 0, type, why, n);
    } else if (strcmp(type, "template") == 0) {
        rc = check_template(p, why, n);
    } else if (strcmp(type, "interactive") == 0) {
        rc = check_interactive(p, why, n);
    } else {
        rc = fail_why(why, n, "type %s is not one disparo sends", type);
    }
out:
    json_decref(m);
    return rc;
}

/* ---- the fake Graph API: answers ---- */

static void reply_graph_error(struct evhttp_request *req, int status, long code, const char *msg,
                              int transient, const char *retry_after)
{
    json_t *e = json_pack("{s:{s:s,s:s,s:I,s:I,s:s}}", "error", "message", msg, "type",
                          "OAuthException", "code", (json_int_t)code, "error_subcode",
                          (json_int_t)2494010, "fbtrace_id", "AFakeTrace");
    if (transient)
        json_object_set_new(json_object_get(e, "error"), "is_transient", json_true());
    char *t = json_dumps(e, JSON_COMPACT);
    fakehttp_reply(req, status, "application/json", t, retry_after);
    free(t);
    json_decref(e);
}

/* The message endpoint once the request passed the checks. */
static void answer_message(struct fx *f, struct evhttp_request *req)
{
    switch (f->mode) {
    case FK_SILENT:
        return; /* the client times out; evhttp_free reclaims it */
    case FK_DROP:
        fakehttp_drop(f->base, req);
        return;
    case FK_GRAPH:
        reply_graph_error(req, f->inject_status, f->inject_code,
                          f->inject_msg ? f->inject_msg : "injected", f->inject_transient,
                          f->retry_after);
        return;
    case FK_RAW:
        fakehttp_reply(req, f->inject_status, "application/json", f->raw_body ? f->raw_body : "",
                       f->retry_after);
        return;
    case FK_OK:
        break;
    }
    char body[256];
    f->n_wamid++;
    snprintf(body, sizeof body,
             "{\"messaging_product\":\"whatsapp\",\"contacts\":[{\"input\":\"x\",\"wa_id\":\"x\"}],"
             "\"messages\":[{\"id\":\"wamid.FAKE%d\",\"message_status\":\"accepted\"}]}",
             f->n_wamid);
    fakehttp_reply_later(f->base, req, f->latency_ms, 200, "application/json", body, NULL);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct fx *f = arg;
    const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
    char want[256];

    f->n_requests++;
    f->violation[0] = '\0';
    /* An absolute URI: we are being used as the sender's HTTP proxy. */
    if (evhttp_uri_get_host(u))
        f->n_proxied++;
    snprintf(f->path, sizeof f->path, "%s", evhttp_uri_get_path(u) ? evhttp_uri_get_path(u) : "");
    snprintf(f->query, sizeof f->query, "%s",
             evhttp_uri_get_query(u) ? evhttp_uri_get_query(u) : "");
    fakehttp_body(req, f->body, sizeof f->body);
    fakehttp_header(req, "Authorization", f->auth, sizeof f->auth);
    fakehttp_header(req, "Content-Type", f->content_type, sizeof f->content_type);
    int post = evhttp_request_get_command(req) == EVHTTP_REQ_POST;
    snprintf(f->method, sizeof f->method, "%s", fakehttp_method(req));

    if (strcmp(f->auth, "Bearer " TOKEN) != 0) {
        reply_graph_error(req, 401, 190, "Invalid OAuth access token - Cannot parse access token",
                          0, NULL);
        return;
    }
    if (!post) {
        snprintf(want, sizeof want, "/v23.0/%s", PID);
        if (strcmp(f->path, want) != 0 || !strstr(f->query, "fields=") ||
            !strstr(f->query, "status") || !strstr(f->query, "quality_rating")) {
            snprintf(f->violation, sizeof f->violation, "bad phone number request %.100s?%.100s",
                     f->path, f->query);
            reply_graph_error(req, 400, 100, f->violation, 0, NULL);
            return;
        }
        if (f->mode == FK_SILENT)
            return;
        if (f->mode == FK_GRAPH) {
            reply_graph_error(req, f->inject_status, f->inject_code,
                              f->inject_msg ? f->inject_msg : "injected", 0, NULL);
            return;
        }
        fakehttp_reply(req, 200, "application/json", f->health_reply ? f->health_reply : "{}",
                       NULL);
        return;
    }
    snprintf(want, sizeof want, "/v23.0/%s/messages", PID);
    if (strcmp(f->path, want) != 0)
        snprintf(f->violation, sizeof f->violation, "unknown path %.200s", f->path);
    else if (strncmp(f->content_type, "application/json", 16) != 0)
        snprintf(f->violation, sizeof f->violation, "Content-Type must be application/json");
    else
        check_message(f->body, f->violation, sizeof f->violation);
    if (f->violation[0]) {
        char msg[300];
        snprintf(msg, sizeof msg, "(#100) %s", f->violation);
        reply_graph_error(req, 400, 100, msg, 0, NULL);
        return;
    }
    answer_message(f, req);
}

/* ---- fixture ---- */

static void rec_receipt(void *ud, int64_t sender_id, const char *provider_id,
                        enum receipt_status st, const char *code, const char *detail)
{
    struct fx *f = ud;
    assert_true(f->n_ev < MAX_EV);
    struct ev *e = &f->evs[f->n_ev++];
    memset(e, 0, sizeof *e);
    e->kind = 'R';
    e->sender_id = sender_id;
    e->st = st;
    snprintf(e->provider_id, sizeof e->provider_id, "%s", provider_id);
    e->has_code = code != NULL;
    e->has_detail = detail != NULL;
    snprintf(e->code, sizeof e->code, "%s", code ? code : "");
    snprintf(e->detail, sizeof e->detail, "%s", detail ? detail : "");
}

static void rec_inbound(void *ud, int64_t sender_id, const char *from, const char *text,
                        const char *button_id, const char *context_id)
{
    struct fx *f = ud;
    assert_true(f->n_ev < MAX_EV);
    struct ev *e = &f->evs[f->n_ev++];
    memset(e, 0, sizeof *e);
    e->kind = 'I';
    e->sender_id = sender_id;
    snprintf(e->from, sizeof e->from, "%s", from);
    snprintf(e->text, sizeof e->text, "%s", text);
    e->has_button = button_id != NULL;
    e->has_context = context_id != NULL;
    snprintf(e->button_id, sizeof e->button_id, "%s", button_id ? button_id : "");
    snprintf(e->context_id, sizeof e->context_id, "%s", context_id ? context_id : "");
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->base = event_base_new();
    f->http = fakehttp_listen(f->base, on_request, f, 0, &f->port);
    f->hooks.ud = f;
    f->hooks.receipt = rec_receipt;
    f->hooks.inbound = rec_inbound;
    fakehttp_env(&f->env, f->base, &f->hooks);
    f->mode = FK_OK;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    cloudapi_sender.destroy(f->s);
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
}

static void on_health(void *ud, const struct sender_health *h)
{
    struct fx *f = ud;
    f->n_health++;
    f->health = *h;
}

/* Builds the sender aimed at the fake, with extra config fields ("" for none). */
static void make(struct fx *f, const char *extra)
{
    char text[1024];
    dp_err e = {0};
    snprintf(text, sizeof text,
             "{\"phone_number_id\": \"" PID "\", \"access_token\": \"" TOKEN
             "\", \"app_secret\": \"" APP_SECRET "\", \"verify_token\": \"" VERIFY
             "\", \"base_url\": \"http://127.0.0.1:%d/\"%s%s}",
             f->port, *extra ? ", " : "", extra);
    json_t *cfg = json_loads(text, 0, NULL);
    assert_non_null(cfg);
    assert_int_equal(cloudapi_sender.validate(cfg, &e), DP_OK);
    assert_int_equal(cloudapi_sender.create(&f->env, SENDER_ID, cfg, &f->s, &e), DP_OK);
    json_decref(cfg);
}

static void send_msg(struct fx *f, const struct sender_msg *m)
{
    sendercheck_send(f->base, &cloudapi_sender, f->s, m, on_done, f, &f->n_done);
}

static void send_text(struct fx *f, int attempt)
{
    struct sender_msg m = {.message_id = 7,
                           .campaign_id = 3,
                           .to = "5511999990001",
                           .text = "Olá, \"Ana\"\n",
                           .idempotency_key = "c3-m7",
                           .attempt = attempt};
    send_msg(f, &m);
}

/* The body the fake got equals the JSON text want (key order aside). */
static void assert_body(struct fx *f, const char *want)
{
    json_error_t je;
    json_t *got = json_loads(f->body, 0, &je);
    json_t *exp = json_loads(want, 0, &je);
    assert_non_null(got);
    if (!exp)
        fail_msg("bad expected JSON: %s", je.text);
    if (!json_equal(got, exp))
        fail_msg("body\n  %s\nis not\n  %s", f->body, want);
    json_decref(got);
    json_decref(exp);
}

static void health_once(struct fx *f)
{
    sendercheck_health(f->base, &cloudapi_sender, f->s, on_health, f, &f->n_health);
}

/* ---- validate ---- */

static void expect_invalid(const char *cfg_text, const char *needle)
{
    sendercheck_invalid(&cloudapi_sender, cfg_text, needle);
}

static void test_validate(void **state)
{
    (void)state;
    expect_invalid("[]", "config must be an object");
    expect_invalid("{}", "config.phone_number_id is required");
    expect_invalid("{\"access_token\": \"t\"}", "config.phone_number_id is required");
    expect_invalid("{\"phone_number_id\": \"12a\", \"access_token\": \"t\"}",
                   "config.phone_number_id");
    expect_invalid("{\"phone_number_id\": \"\", \"access_token\": \"t\"}",
                   "config.phone_number_id");
    expect_invalid("{\"phone_number_id\": -5, \"access_token\": \"t\"}", "config.phone_number_id");
    expect_invalid("{\"phone_number_id\": \"123\"}", "config.access_token is required");
    expect_invalid("{\"phone_number_id\": \"123\", \"access_token\": \"a b\"}",
                   "config.access_token");
    expect_invalid("{\"phone_number_id\": \"123\", \"access_token\": \"a\\r\\nX: y\"}",
                   "config.access_token");
    expect_invalid("{\"phone_number_id\": \"123\", \"access_token\": 5}", "config.access_token");
    const char *b = "\"phone_number_id\": \"123\", \"access_token\": \"tok\"";
    char t[512];
#define BAD(extra, needle)                                                                         \
    do {                                                                                           \
        snprintf(t, sizeof t, "{%s, %s}", b, extra);                                               \
        expect_invalid(t, needle);                                                                 \
    } while (0)
    BAD("\"app_secret\": \"\"", "config.app_secret");
    BAD("\"app_secret\": 12", "config.app_secret");
    BAD("\"app_secret\": \"has space\"", "config.app_secret");
    BAD("\"verify_token\": \"tab\\there\"", "config.verify_token");
    BAD("\"verify_token\": \"\"", "config.verify_token");
    BAD("\"api_version\": \"23.0\"", "config.api_version");
    BAD("\"api_version\": \"v23\"", "config.api_version");
    BAD("\"api_version\": \"v23.0/../x\"", "config.api_version");
    BAD("\"api_version\": \"v.0\"", "config.api_version");
    BAD("\"base_url\": \"ftp://graph.facebook.com\"", "config.base_url");
    BAD("\"base_url\": \"graph.facebook.com\"", "config.base_url");
    BAD("\"base_url\": \"https://\"", "config.base_url");
    BAD("\"base_url\": \"https://a b\"", "config.base_url");
    BAD("\"base_url\": \"https://h/x?y=1\"", "config.base_url");
    BAD("\"proxy\": \"ftp://proxy:21\"", "config.proxy");
    BAD("\"proxy\": \"proxy:3128\"", "config.proxy");
    BAD("\"proxy\": \"\"", "config.proxy");
    BAD("\"proxy\": \"socks5://\"", "config.proxy");
    BAD("\"timeout_ms\": 0", "config.timeout_ms");
    BAD("\"timeout_ms\": 600001", "config.timeout_ms");
    BAD("\"timeout_ms\": \"10\"", "config.timeout_ms");
    BAD("\"max_in_flight\": 0", "config.max_in_flight");
    BAD("\"max_in_flight\": 1025", "config.max_in_flight");
    BAD("\"waba_id\": \"1\"", "config.waba_id is not a cloudapi setting");
#undef BAD

    /* defaults */
    dp_err e = {0};
    snprintf(t, sizeof t, "{%s}", b);
    json_t *cfg = json_loads(t, 0, NULL);
    assert_int_equal(cloudapi_sender.validate(cfg, &e), DP_OK);
    assert_string_equal(json_string_value(json_object_get(cfg, "api_version")), "v23.0");
    assert_string_equal(json_string_value(json_object_get(cfg, "base_url")),
                        "https://graph.facebook.com");
    assert_int_equal(json_integer_value(json_object_get(cfg, "timeout_ms")), 15000);
    assert_int_equal(json_integer_value(json_object_get(cfg, "max_in_flight")), 32);
    assert_null(json_object_get(cfg, "proxy"));
    /* validating again changes nothing */
    assert_int_equal(cloudapi_sender.validate(cfg, &e), DP_OK);
    assert_int_equal(json_object_size(cfg), 6);
    json_decref(cfg);

    /* everything given, a number for the id, every proxy scheme */
    const char *proxies[] = {"http://u:p@10.0.0.1:3128", "https://proxy.example:443",
                             "socks5://127.0.0.1:1080", "socks5h://proxy:1080", NULL};
    for (size_t i = 0; proxies[i]; i++) {
        snprintf(t, sizeof t,
                 "{\"phone_number_id\": 106540352242922, \"access_token\": \"tok\", "
                 "\"app_secret\": \"a\", \"verify_token\": \"v\", \"api_version\": \"v24.1\", "
                 "\"base_url\": \"HTTP://127.0.0.1:9/graph\", \"proxy\": \"%s\", "
                 "\"timeout_ms\": 5, \"max_in_flight\": 7}",
                 proxies[i]);
        cfg = json_loads(t, 0, NULL);
        assert_int_equal(cloudapi_sender.validate(cfg, &e), DP_OK);
        assert_string_equal(json_string_value(json_object_get(cfg, "phone_number_id")),
                            "106540352242922");
        assert_string_equal(json_string_value(json_object_get(cfg, "api_version")), "v24.1");
        assert_int_equal(json_integer_value(json_object_get(cfg, "max_in_flight")), 7);
        json_decref(cfg);
    }

    assert_string_equal(cloudapi_sender.provider, "cloudapi");
    assert_string_equal(cloudapi_sender.secret_fields[0], "access_token");
    assert_string_equal(cloudapi_sender.secret_fields[1], "app_secret");
    assert_string_equal(cloudapi_sender.secret_fields[2], "verify_token");
    assert_null(cloudapi_sender.secret_fields[3]);
    assert_int_equal(cloudapi_sender.idempotent, 0);
    assert_true(cloudapi_sender.default_rate == 80.0);
    assert_non_null(cloudapi_sender.webhook);
    assert_non_null(cloudapi_sender.health);
}

static void test_max_in_flight(void **state)
{
    struct fx *f = *state;
    make(f, "\"max_in_flight\": 3");
    assert_int_equal(cloudapi_sender.max_in_flight(f->s), 3);
    cloudapi_sender.destroy(f->s);
    f->s = NULL;
    make(f, "");
    assert_int_equal(cloudapi_sender.max_in_flight(f->s), 32);
}

/* ---- the requests ---- */

static void test_text(void **state)
{
    struct fx *f = *state;
    make(f, "");
    send_text(f, 1);
    assert_int_equal(f->n_requests, 1);
    assert_string_equal(f->violation, "");
    assert_string_equal(f->method, "POST");
    assert_string_equal(f->path, "/v23.0/" PID "/messages");
    assert_string_equal(f->auth, "Bearer " TOKEN);
    assert_string_equal(f->content_type, "application/json");
    assert_int_equal(f->n_proxied, 0);
    /* the exact bytes, in order */
    assert_string_equal(f->body,
                        "{\"messaging_product\":\"whatsapp\",\"recipient_type\":"
                        "\"individual\",\"to\":\"5511999990001\",\"type\":\"text\","
                        "\"text\":{\"body\":\"Olá, \\\"Ana\\\"\\n\",\"preview_url\":false}}");
    assert_int_equal(f->last.outcome, SEND_OK);
    assert_string_equal(f->last.provider_id, "wamid.FAKE1");
    assert_string_equal(f->last.code, "");
    assert_int_equal(f->last.action, ACT_NONE);
    send_text(f, 2);
    assert_string_equal(f->last.provider_id, "wamid.FAKE2");
}

static void test_api_version_and_base_path(void **state)
{
    struct fx *f = *state;
    /* base_url with a trailing slash (make() gives one): no "//" in the path */
    make(f, "\"api_version\": \"v23.0\"");
    send_text(f, 1);
    assert_string_equal(f->path, "/v23.0/" PID "/messages");
    cloudapi_sender.destroy(f->s);
    f->s = NULL;
    make(f, "\"api_version\": \"v22.0\"");
    send_text(f, 1);
    assert_string_equal(f->path, "/v22.0/" PID "/messages");
    assert_int_equal(f->last.outcome, SEND_PERMANENT); /* the fake only serves v23.0 */
    assert_string_equal(f->last.code, "cloudapi_100");
}

static void test_media(void **state)
{
    struct fx *f = *state;
    make(f, "");
    struct sender_media img = {.url = "https://cdn.example/p.jpg", .kind = "image"};
    struct sender_msg m = {.message_id = 1,
                           .campaign_id = 1,
                           .to = "5511999990001",
                           .text = "legenda",
                           .idempotency_key = "k",
                           .attempt = 1,
                           .media = &img};
    send_msg(f, &m);
    assert_string_equal(f->violation, "");
    assert_body(f, "{\"messaging_product\":\"whatsapp\",\"recipient_type\":\"individual\","
                   "\"to\":\"5511999990001\",\"type\":\"image\","
                   "\"image\":{\"link\":\"https://cdn.example/p.jpg\",\"caption\":\"legenda\"}}");
    assert_int_equal(f->last.outcome, SEND_OK);

    struct sender_media vid = {.url = "https://cdn.example/v.mp4", .kind = "video"};
    m.media = &vid;
    m.text = "";
    send_msg(f, &m);
    assert_body(f, "{\"messaging_product\":\"whatsapp\",\"recipient_type\":\"individual\","
                   "\"to\":\"5511999990001\",\"type\":\"video\","
                   "\"video\":{\"link\":\"https://cdn.example/v.mp4\"}}");
    assert_int_equal(f->last.outcome, SEND_OK);

    /* audio has no caption: the text is not sent with it */
    struct sender_media aud = {
        .url = "http://cdn.example/a.ogg", .kind = "audio", .filename = "a.ogg"};
    m.media = &aud;
    m.text = "ignored";
    send_msg(f, &m);
    assert_body(f, "{\"messaging_product\":\"whatsapp\",\"recipient_type\":\"individual\","
                   "\"to\":\"5511999990001\",\"type\":\"audio\","
                   "\"audio\":{\"link\":\"http://cdn.example/a.ogg\"}}");
    assert_int_equal(f->last.outcome, SEND_OK);

    struct sender_media doc = {
        .url = "https://cdn.example/b.pdf", .kind = "document", .filename = "boleto.pdf"};
    m.media = &doc;
    m.text = "Seu boleto";
    send_msg(f, &m);
    assert_body(f, "{\"messaging_product\":\"whatsapp\",\"recipient_type\":\"individual\","
                   "\"to\":\"5511999990001\",\"type\":\"document\","
                   "\"document\":{\"link\":\"https://cdn.example/b.pdf\",\"caption\":\"Seu "
                   "boleto\",\"filename\":\"boleto.pdf\"}}");
    assert_int_equal(f->last.outcome, SEND_OK);
    assert_string_equal(f->last.provider_id, "wamid.FAKE4");
}

static void test_template(void **state)
{
    struct fx *f = *state;
    make(f, "");
    const char *params[] = {"Ana", "R$ 10,00", "amanhã"};
    struct sender_media hdr = {.url = "https://cdn.example/h.png", .kind = "image"};
    struct sender_template t = {
        .name = "cobranca_v2", .language = "pt_BR", .params = params, .nparams = 3, .header = &hdr};
    struct sender_msg m = {.message_id = 1,
                           .campaign_id = 1,
                           .to = "5511999990001",
                           .text = "rendered text is not sent",
                           .idempotency_key = "k",
                           .attempt = 1,
                           .tmpl = &t};
    send_msg(f, &m);
    assert_string_equal(f->violation, "");
    assert_body(f, "{\"messaging_product\":\"whatsapp\",\"recipient_type\":\"individual\","
                   "\"to\":\"5511999990001\",\"type\":\"template\",\"template\":{"
                   "\"name\":\"cobranca_v2\","
                   "\"language\":{\"policy\":\"deterministic\",\"code\":\"pt_BR\"},"
                   "\"components\":["
                   "{\"type\":\"header\",\"parameters\":[{\"type\":\"image\",\"image\":{"
                   "\"link\":\"https://cdn.example/h.png\"}}]},"
                   "{\"type\":\"body\",\"parameters\":["
                   "{\"type\":\"text\",\"text\":\"Ana\"},"
                   "{\"type\":\"text\",\"text\":\"R$ 10,00\"},"
                   "{\"type\":\"text\",\"text\":\"amanhã\"}]}]}}");
    assert_int_equal(f->last.outcome, SEND_OK);

    /* a document header keeps its filename */
    struct sender_media dh = {
        .url = "https://cdn.example/f.pdf", .kind = "document", .filename = "fatura.pdf"};
    t.header = &dh;
    t.nparams = 1;
    send_msg(f, &m);
    assert_body(f, "{\"messaging_product\":\"whatsapp\",\"recipient_type\":\"individual\","
                   "\"to\":\"5511999990001\",\"type\":\"template\",\"template\":{"
                   "\"name\":\"cobranca_v2\","
                   "\"language\":{\"policy\":\"deterministic\",\"code\":\"pt_BR\"},"
                   "\"components\":["
                   "{\"type\":\"header\",\"parameters\":[{\"type\":\"document\",\"document\":{"
                   "\"link\":\"https://cdn.example/f.pdf\",\"filename\":\"fatura.pdf\"}}]},"
                   "{\"type\":\"body\",\"parameters\":[{\"type\":\"text\",\"text\":\"Ana\"}]}]}}");
    assert_int_equal(f->last.outcome, SEND_OK);

    /* no header, no parameters: no components */
    struct sender_template hello = {.name = "hello_world", .language = "en_US"};
    m.tmpl = &hello;
    send_msg(f, &m);
    assert_body(f, "{\"messaging_product\":\"whatsapp\",\"recipient_type\":\"individual\","
                   "\"to\":\"5511999990001\",\"type\":\"template\",\"template\":{"
                   "\"name\":\"hello_world\","
                   "\"language\":{\"policy\":\"deterministic\",\"code\":\"en_US\"}}}");
    assert_int_equal(f->last.outcome, SEND_OK);

    /* refused before sending: audio header, NULL parameter, no name */
    struct sender_media ah = {.url = "https://cdn.example/a.ogg", .kind = "audio"};
    t.header = &ah;
    m.tmpl = &t;
    assert_int_equal(cloudapi_sender.send(f->s, &m, on_done, f), DP_EINVAL);
    const char *nullp[] = {"a", NULL};
    struct sender_template t2 = {.name = "x", .language = "en", .params = nullp, .nparams = 2};
    m.tmpl = &t2;
    assert_int_equal(cloudapi_sender.send(f->s, &m, on_done, f), DP_EINVAL);
    struct sender_template t3 = {.name = "", .language = "en"};
    m.tmpl = &t3;
    assert_int_equal(cloudapi_sender.send(f->s, &m, on_done, f), DP_EINVAL);
    assert_int_equal(httpc_in_flight(f->env.http), 0);
}

static void test_buttons(void **state)
{
    struct fx *f = *state;
    make(f, "");
    struct sender_button b[4] = {{"opt_in", "Quero"},
                                 {"opt_out", "Não quero"},
                                 {"later", "ééééééééééééééééééé é"}}; /* 21 chars */
    struct sender_msg m = {.message_id = 1,
                           .campaign_id = 1,
                           .to = "5511999990001",
                           .text = "Quer receber ofertas?",
                           .idempotency_key = "k",
                           .attempt = 1,
                           .buttons = b,
                           .nbuttons = 2};
    send_msg(f, &m);
    assert_string_equal(f->violation, "");
    assert_body(f, "{\"messaging_product\":\"whatsapp\",\"recipient_type\":\"individual\","
                   "\"to\":\"5511999990001\",\"type\":\"interactive\",\"interactive\":{"
                   "\"type\":\"button\",\"body\":{\"text\":\"Quer receber ofertas?\"},"
                   "\"action\":{\"buttons\":["
                   "{\"type\":\"reply\",\"reply\":{\"id\":\"opt_in\",\"title\":\"Quero\"}},"
                   "{\"type\":\"reply\",\"reply\":{\"id\":\"opt_out\",\"title\":\"Não quero\"}}"
                   "]}}}");
    assert_int_equal(f->last.outcome, SEND_OK);

    /* with media: the media becomes the interactive header */
    struct sender_media img = {.url = "https://cdn.example/p.jpg", .kind = "image"};
    m.media = &img;
    send_msg(f, &m);
    assert_body(
        f, "{\"messaging_product\":\"whatsapp\",\"recipient_type\":\"individual\","
           "\"to\":\"5511999990001\",\"type\":\"interactive\",\"interactive\":{"
           "\"type\":\"button\","
           "\"header\":{\"type\":\"image\",\"image\":{\"link\":\"https://cdn.example/p.jpg\"}},"
           "\"body\":{\"text\":\"Quer receber ofertas?\"},"
           "\"action\":{\"buttons\":["
           "{\"type\":\"reply\",\"reply\":{\"id\":\"opt_in\",\"title\":\"Quero\"}},"
           "{\"type\":\"reply\",\"reply\":{\"id\":\"opt_out\",\"title\":\"Não quero\"}}"
           "]}}}");
    assert_int_equal(f->last.outcome, SEND_OK);
    m.media = NULL;

    /* exactly 20 characters (40 bytes) is fine */
    b[2].title = "éééééééééééééééééééé";
    m.nbuttons = 3;
    send_msg(f, &m);
    assert_string_equal(f->violation, "");
    assert_int_equal(f->last.outcome, SEND_OK);

    int sent = f->n_requests;
    /* 21 characters */
    b[2].title = "ééééééééééééééééééé é";
    assert_int_equal(cloudapi_sender.send(f->s, &m, on_done, f), DP_EINVAL);
    /* four buttons */
    b[2].title = "Depois";
    b[3].id = "x";
    b[3].title = "Outro";
    m.nbuttons = 4;
    assert_int_equal(cloudapi_sender.send(f->s, &m, on_done, f), DP_EINVAL);
    /* duplicate titles, duplicate ids, empty title, id with spaces around */
    m.nbuttons = 2;
    b[1].title = "Quero";
    assert_int_equal(cloudapi_sender.send(f->s, &m, on_done, f), DP_EINVAL);
    b[1].title = "Nunca";
    b[1].id = "opt_in";
    assert_int_equal(cloudapi_sender.send(f->s, &m, on_done, f), DP_EINVAL);
    b[1].id = "opt_out";
    b[1].title = "";
    assert_int_equal(cloudapi_sender.send(f->s, &m, on_done, f), DP_EINVAL);
    b[1].title = "Nunca";
    b[1].id = " opt_out";
    assert_int_equal(cloudapi_sender.send(f->s, &m, on_done, f), DP_EINVAL);
    b[1].id = "opt_out";
    /* no body text; an audio header */
    m.text = "";
    assert_int_equal(cloudapi_sender.send(f->s, &m, on_done, f), DP_EINVAL);
    m.text = "ok?";
    struct sender_media aud = {.url = "https://cdn.example/a.ogg", .kind = "audio"};
    m.media = &aud;
    assert_int_equal(cloudapi_sender.send(f->s, &m, on_done, f), DP_EINVAL);
    m.media = NULL;
    /* nbuttons without the array */
    m.buttons = NULL;
    assert_int_equal(cloudapi_sender.send(f->s, &m, on_done, f), DP_EINVAL);
    fakehttp_run_for(f->base, 50);
    assert_int_equal(f->n_requests, sent);
    assert_int_equal(httpc_in_flight(f->env.http), 0);
}

static void test_send_rejects(void **state)
{
    struct fx *f = *state;
    make(f, "");
    struct sender_msg m = {.message_id = 1,
                           .campaign_id = 1,
                           .to = "+5511999990001",
                           .text = "x",
                           .idempotency_key = "k",
                           .attempt = 1};
    assert_int_equal(cloudapi_sender.send(f->s, &m, on_done, f), DP_EINVAL);
    m.to = "";
    assert_int_equal(cloudapi_sender.send(f->s, &m, on_done, f), DP_EINVAL);
    m.to = "5511999990001";
    m.text = "";
    assert_int_equal(cloudapi_sender.send(f->s, &m, on_done, f), DP_EINVAL);
    m.text = NULL;
    assert_int_equal(cloudapi_sender.send(f->s, &m, on_done, f), DP_EINVAL);
    m.text = "bad \xff utf-8";
    assert_int_equal(cloudapi_sender.send(f->s, &m, on_done, f), DP_EINVAL);
    m.text = "x";
    struct sender_media md = {.url = "ftp://x/y.jpg", .kind = "image"};
    m.media = &md;
    assert_int_equal(cloudapi_sender.send(f->s, &m, on_done, f), DP_EINVAL);
    md.url = "https://x/y.webp";
    md.kind = "sticker";
    assert_int_equal(cloudapi_sender.send(f->s, &m, on_done, f), DP_EINVAL);
    md.kind = NULL;
    assert_int_equal(cloudapi_sender.send(f->s, &m, on_done, f), DP_EINVAL);
    assert_int_equal(cloudapi_sender.send(f->s, NULL, on_done, f), DP_EINVAL);
    fakehttp_run_for(f->base, 50);
    assert_int_equal(f->n_requests, 0);
    assert_int_equal(f->n_done, 0);
}

/* ---- classification ---- */

struct want {
    long code;
    int http;
    enum send_outcome outcome;
    enum send_action action;
    int fault;
    int no_wa;
};

static void test_error_classes(void **state)
{
    struct fx *f = *state;
    make(f, "");
    static const struct want table[] = {
        /* retry with backoff */
        {130429, 400, SEND_TRANSIENT, ACT_NONE, 1, 0},
        {80007, 400, SEND_TRANSIENT, ACT_NONE, 1, 0},
        {4, 400, SEND_TRANSIENT, ACT_NONE, 1, 0},
        {1, 500, SEND_TRANSIENT, ACT_NONE, 1, 0},
        {2, 503, SEND_TRANSIENT, ACT_NONE, 1, 0},
        {131016, 503, SEND_TRANSIENT, ACT_NONE, 1, 0},
        {131000, 500, SEND_TRANSIENT, ACT_NONE, 1, 0},
        {131057, 400, SEND_TRANSIENT, ACT_NONE, 1, 0},
        {131056, 400, SEND_TRANSIENT, ACT_NONE, 1, 0},
        /* stop the sender */
        {131048, 400, SEND_TRANSIENT, ACT_STOP_SENDER, 1, 0},
        {131064, 400, SEND_TRANSIENT, ACT_STOP_SENDER, 1, 0},
        {368, 400, SEND_TRANSIENT, ACT_STOP_SENDER, 1, 0},
        {131031, 400, SEND_TRANSIENT, ACT_STOP_SENDER, 1, 0},
        {130497, 400, SEND_TRANSIENT, ACT_STOP_SENDER, 1, 0},
        {131042, 400, SEND_TRANSIENT, ACT_STOP_SENDER, 1, 0},
        {0, 401, SEND_TRANSIENT, ACT_STOP_SENDER, 1, 0},
        {190, 401, SEND_TRANSIENT, ACT_STOP_SENDER, 1, 0},
        /* this recipient only */
        {131026, 400, SEND_PERMANENT, ACT_NONE, 0, 1},
        {131047, 400, SEND_PERMANENT, ACT_NONE, 0, 0},
        {131050, 400, SEND_PERMANENT, ACT_NONE, 0, 0},
        {130403, 400, SEND_PERMANENT, ACT_NONE, 0, 0},
        {131021, 400, SEND_PERMANENT, ACT_NONE, 0, 0},
        {131049, 400, SEND_PERMANENT, ACT_NONE, 0, 0},
        /* the campaign's template */
        {132000, 400, SEND_PERMANENT, ACT_BAD_TEMPLATE, 0, 0},
        {132001, 404, SEND_PERMANENT, ACT_BAD_TEMPLATE, 0, 0},
        {132012, 400, SEND_PERMANENT, ACT_BAD_TEMPLATE, 0, 0},
        {132015, 400, SEND_PERMANENT, ACT_BAD_TEMPLATE, 0, 0},
        {132016, 400, SEND_PERMANENT, ACT_BAD_TEMPLATE, 0, 0},
        {100, 400, SEND_PERMANENT, ACT_BAD_TEMPLATE, 0, 0},
        {131008, 400, SEND_PERMANENT, ACT_BAD_TEMPLATE, 0, 0},
        {131009, 400, SEND_PERMANENT, ACT_BAD_TEMPLATE, 0, 0},
        /* anything else 4xx: this recipient; 5xx: retry */
        {131999, 400, SEND_PERMANENT, ACT_NONE, 0, 0},
        {33, 403, SEND_PERMANENT, ACT_NONE, 0, 0},
        {131999, 502, SEND_TRANSIENT, ACT_NONE, 1, 0},
        {131999, 429, SEND_TRANSIENT, ACT_NONE, 1, 0},
        {10, 401, SEND_TRANSIENT, ACT_STOP_SENDER, 1, 0},
    };
    f->mode = FK_GRAPH;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        const struct want *w = &table[i];
        char msg[128], code[64];
        snprintf(msg, sizeof msg, "(#%ld) injected error %zu", w->code, i);
        f->inject_code = w->code;
        f->inject_status = w->http;
        f->inject_msg = msg;
        send_text(f, 1);
        snprintf(code, sizeof code, "cloudapi_%ld", w->code);
        if (f->last.outcome != w->outcome || f->last.action != w->action ||
            f->last.sender_fault != w->fault || f->last.no_whatsapp != w->no_wa)
            fail_msg("code %ld (HTTP %d): outcome %d action %d fault %d no_wa %d", w->code, w->http,
                     f->last.outcome, f->last.action, f->last.sender_fault, f->last.no_whatsapp);
        assert_string_equal(f->last.code, code);
        assert_string_equal(f->last.detail, msg);
        assert_string_equal(f->last.provider_id, "");
        if (w->code != 131056)
            assert_int_equal(f->last.retry_after_ms, 0);
    }
}

static void test_pair_rate_limit_backoff(void **state)
{
    struct fx *f = *state;
    make(f, "");
    f->mode = FK_GRAPH;
    f->inject_code = 131056;
    f->inject_status = 400;
    static const int64_t want[] = {4000, 4000, 16000, 64000, 256000, 1024000, 3600000, 3600000};
    for (int attempt = 0; attempt <= 7; attempt++) {
        send_text(f, attempt);
        assert_int_equal(f->last.outcome, SEND_TRANSIENT);
        assert_int_equal(f->last.retry_after_ms, want[attempt]);
    }
    /* a longer Retry-After wins; a shorter one does not cut the backoff */
    f->retry_after = "100";
    send_text(f, 2);
    assert_int_equal(f->last.retry_after_ms, 100000);
    f->retry_after = "1";
    send_text(f, 2);
    assert_int_equal(f->last.retry_after_ms, 16000);
}

static void test_retry_after_and_http(void **state)
{
    struct fx *f = *state;
    make(f, "");
    /* 429 with a Graph throttling code and Retry-After */
    f->mode = FK_GRAPH;
    f->inject_code = 130429;
    f->inject_status = 429;
    f->retry_after = "7";
    send_text(f, 1);
    assert_int_equal(f->last.outcome, SEND_TRANSIENT);
    assert_int_equal(f->last.sender_fault, 1);
    assert_int_equal(f->last.retry_after_ms, 7000);
    assert_string_equal(f->last.code, "cloudapi_130429");

    /* bare HTTP answers with no Graph error object */
    f->mode = FK_RAW;
    f->inject_status = 429;
    f->raw_body = "Too Many Requests";
    f->retry_after = "3";
    send_text(f, 1);
    assert_int_equal(f->last.outcome, SEND_TRANSIENT);
    assert_int_equal(f->last.action, ACT_NONE);
    assert_int_equal(f->last.retry_after_ms, 3000);
    assert_string_equal(f->last.code, "http_429");
    assert_string_equal(f->last.detail, "Too Many Requests");

    f->retry_after = NULL;
    f->inject_status = 500;
    f->raw_body = "<html>oops</html>";
    send_text(f, 1);
    assert_int_equal(f->last.outcome, SEND_TRANSIENT);
    assert_int_equal(f->last.sender_fault, 1);
    assert_int_equal(f->last.retry_after_ms, 0);
    assert_string_equal(f->last.code, "http_500");

    f->inject_status = 401;
    f->raw_body = "";
    send_text(f, 1);
    assert_int_equal(f->last.outcome, SEND_TRANSIENT);
    assert_int_equal(f->last.action, ACT_STOP_SENDER);
    assert_string_equal(f->last.code, "http_401");

    /* not the Graph API at all: the configuration is wrong, not the recipient */
    f->inject_status = 404;
    f->raw_body = "Not Found";
    send_text(f, 1);
    assert_int_equal(f->last.outcome, SEND_TRANSIENT);
    assert_int_equal(f->last.action, ACT_STOP_SENDER);
    assert_int_equal(f->last.sender_fault, 1);
    assert_string_equal(f->last.code, "http_404");
    f->inject_status = 302;
    send_text(f, 1);
    assert_int_equal(f->last.action, ACT_STOP_SENDER);
    assert_string_equal(f->last.code, "http_302");

    /* an unlisted code Graph calls transient */
    f->mode = FK_GRAPH;
    f->inject_code = 131999;
    f->inject_status = 400;
    f->inject_transient = 1;
    send_text(f, 1);
    assert_int_equal(f->last.outcome, SEND_TRANSIENT);
    assert_int_equal(f->last.sender_fault, 1);
    assert_string_equal(f->last.code, "cloudapi_131999");

    /* 200 without a wamid is still accepted */
    f->mode = FK_RAW;
    f->inject_status = 200;
    f->raw_body = "{\"messaging_product\":\"whatsapp\",\"messages\":[]}";
    send_text(f, 1);
    assert_int_equal(f->last.outcome, SEND_OK);
    assert_string_equal(f->last.provider_id, "");
}

static void test_detail_is_valid_utf8(void **state)
{
    struct fx *f = *state;
    make(f, "");
    /* 199 ASCII bytes then "é": the sequence would straddle the 200-byte cap */
    static char msg[256];
    memset(msg, 'a', 199);
    memcpy(msg + 199, "\xc3\xa9tail", 7);
    f->mode = FK_GRAPH;
    f->inject_code = 131999;
    f->inject_status = 400;
    f->inject_msg = msg;
    send_text(f, 1);
    assert_int_equal(f->last.outcome, SEND_PERMANENT);
    assert_int_equal(strlen(f->last.detail), 199);
    f->inject_msg = "line one\nline two";
    send_text(f, 1);
    assert_string_equal(f->last.detail, "line one line two");
    json_t *j = json_string(f->last.detail);
    assert_non_null(j);
    json_decref(j);
}

/* ---- the network ---- */

static void test_timeout_is_ambiguous(void **state)
{
    struct fx *f = *state;
    make(f, "\"timeout_ms\": 200");
    f->mode = FK_SILENT;
    int64_t t0 = timer_now_us();
    send_text(f, 1);
    assert_true(timer_now_us() - t0 >= 180000);
    assert_int_equal(f->n_requests, 1);
    assert_int_equal(f->last.outcome, SEND_AMBIGUOUS);
    assert_int_equal(f->last.sender_fault, 1);
    assert_string_equal(f->last.code, "timeout");
    assert_true(f->last.detail[0] != '\0');
}

static void test_dropped_connection_is_ambiguous(void **state)
{
    struct fx *f = *state;
    make(f, "");
    f->mode = FK_DROP;
    send_text(f, 1);
    assert_int_equal(f->n_requests, 1); /* it reached the gateway, which may have acted on it */
    assert_int_equal(f->last.outcome, SEND_AMBIGUOUS);
    assert_int_equal(f->last.sender_fault, 1);
    assert_string_equal(f->last.code, "connection_dropped");

    /* On a reused keep-alive connection curl itself resends the POST once on a
     * fresh connection before giving up (libcurl 7.88 sends it twice here):
     * still ambiguous, never reported as safe to retry. */
    f->mode = FK_OK;
    send_text(f, 1);
    assert_int_equal(f->last.outcome, SEND_OK);
    int before = f->n_requests;
    f->mode = FK_DROP;
    send_text(f, 1);
    assert_true(f->n_requests - before >= 1);
    assert_int_equal(f->last.outcome, SEND_AMBIGUOUS);
    assert_string_equal(f->last.code, "connection_dropped");
}

static void test_connection_refused(void **state)
{
    struct fx *f = *state;
    f->port = fakehttp_dead_port(); /* make() aims at it */
    make(f, "");
    send_text(f, 1);
    assert_int_equal(f->last.outcome, SEND_TRANSIENT);
    assert_int_equal(f->last.sender_fault, 1);
    assert_int_equal(f->last.action, ACT_NONE);
    assert_string_equal(f->last.code, "connect_error");
    assert_true(f->last.detail[0] != '\0');
}

static void test_proxy_closed_port_never_goes_direct(void **state)
{
    struct fx *f = *state;
    char extra[128];
    snprintf(extra, sizeof extra, "\"proxy\": \"http://127.0.0.1:%d\"", fakehttp_dead_port());
    make(f, extra); /* base_url is the live fake */
    send_text(f, 1);
    assert_int_equal(f->n_requests, 0);
    assert_int_equal(f->last.outcome, SEND_TRANSIENT);
    assert_string_equal(f->last.code, "connect_error");
    health_once(f);
    assert_int_equal(f->n_requests, 0);
    assert_int_equal(f->health.ok, 0);
    assert_string_equal(f->health.state, "unreachable");
    cloudapi_sender.destroy(f->s);
    f->s = NULL;

    snprintf(extra, sizeof extra, "\"proxy\": \"socks5://127.0.0.1:%d\"", fakehttp_dead_port());
    make(f, extra);
    send_text(f, 1);
    assert_int_equal(f->n_requests, 0);
    assert_int_equal(f->last.outcome, SEND_TRANSIENT);
}

static void test_proxy_is_used(void **state)
{
    struct fx *f = *state;
    char text[512];
    dp_err e = {0};
    /* the gateway's name does not resolve: only the proxy (the fake) can reach it */
    snprintf(text, sizeof text,
             "{\"phone_number_id\": \"" PID "\", \"access_token\": \"" TOKEN
             "\", \"base_url\": \"http://graph.invalid\", \"proxy\": \"http://127.0.0.1:%d\"}",
             f->port);
    json_t *cfg = json_loads(text, 0, NULL);
    assert_int_equal(cloudapi_sender.validate(cfg, &e), DP_OK);
    assert_int_equal(cloudapi_sender.create(&f->env, SENDER_ID, cfg, &f->s, &e), DP_OK);
    json_decref(cfg);
    send_text(f, 1);
    assert_int_equal(f->n_proxied, 1);
    assert_string_equal(f->path, "/v23.0/" PID "/messages");
    assert_int_equal(f->last.outcome, SEND_OK);
    f->health_reply = "{\"status\":\"CONNECTED\",\"quality_rating\":\"GREEN\"}";
    health_once(f);
    assert_int_equal(f->n_proxied, 2);
    assert_int_equal(f->health.ok, 1);
}

static void test_latency_requests_overlap(void **state)
{
    struct fx *f = *state;
    make(f, "");
    f->latency_ms = 300;
    struct sender_msg m = {.message_id = 1,
                           .campaign_id = 1,
                           .to = "5511999990001",
                           .text = "x",
                           .idempotency_key = "k",
                           .attempt = 1};
    int64_t t0 = timer_now_us();
    for (int i = 0; i < 5; i++)
        assert_int_equal(cloudapi_sender.send(f->s, &m, on_done, f), DP_OK);
    assert_int_equal(httpc_in_flight(f->env.http), 5);
    fakehttp_run_until(f->base, &f->n_done, 5);
    int64_t took = timer_now_us() - t0;
    assert_true(took >= 280000);
    assert_true(took < 1200000); /* together, not one after another */
    assert_int_equal(f->last.outcome, SEND_OK);
}

static void test_destroy_in_flight(void **state)
{
    struct fx *f = *state;
    make(f, "");
    f->mode = FK_SILENT;
    struct sender_msg m = {.message_id = 1,
                           .campaign_id = 1,
                           .to = "5511999990001",
                           .text = "x",
                           .idempotency_key = "k",
                           .attempt = 1};
    for (int i = 0; i < 3; i++)
        assert_int_equal(cloudapi_sender.send(f->s, &m, on_done, f), DP_OK);
    assert_int_equal(cloudapi_sender.health(f->s, on_health, f), DP_OK);
    assert_int_equal(httpc_in_flight(f->env.http), 4);
    fakehttp_run_for(f->base, 100);
    cloudapi_sender.destroy(f->s);
    f->s = NULL;
    assert_int_equal(httpc_in_flight(f->env.http), 0);
    fakehttp_run_for(f->base, 50);
    assert_int_equal(f->n_done, 0);
    assert_int_equal(f->n_health, 0);
}

/* ---- health ---- */

static void test_health(void **state)
{
    struct fx *f = *state;
    make(f, "");
    f->health_reply = "{\"quality_rating\":\"GREEN\",\"status\":\"CONNECTED\","
                      "\"name_status\":\"APPROVED\",\"messaging_limit_tier\":\"TIER_1K\","
                      "\"id\":\"" PID "\"}";
    health_once(f);
    assert_string_equal(f->method, "GET");
    assert_string_equal(f->path, "/v23.0/" PID);
    assert_string_equal(f->query, "fields=quality_rating,status,name_status,messaging_limit_tier");
    assert_string_equal(f->auth, "Bearer " TOKEN);
    assert_int_equal(f->health.ok, 1);
    assert_string_equal(f->health.state, "CONNECTED");
    assert_string_equal(f->health.detail,
                        "status CONNECTED, quality GREEN, tier TIER_1K, name APPROVED");

    f->health_reply = "{\"quality_rating\":\"YELLOW\",\"status\":\"FLAGGED\"}";
    health_once(f);
    assert_int_equal(f->health.ok, 0);
    assert_string_equal(f->health.state, "FLAGGED");

    f->health_reply = "{\"quality_rating\":\"RED\",\"status\":\"CONNECTED\"}";
    health_once(f);
    assert_int_equal(f->health.ok, 0);
    assert_string_equal(f->health.state, "RED");

    const char *bad[] = {"BANNED", "RESTRICTED", "DISCONNECTED", NULL};
    char reply[128];
    for (size_t i = 0; bad[i]; i++) {
        snprintf(reply, sizeof reply, "{\"quality_rating\":\"GREEN\",\"status\":\"%s\"}", bad[i]);
        f->health_reply = reply;
        health_once(f);
        assert_int_equal(f->health.ok, 0);
        assert_string_equal(f->health.state, bad[i]);
    }

    /* no status: judged by the quality rating alone */
    f->health_reply = "{\"quality_rating\":\"GREEN\"}";
    health_once(f);
    assert_int_equal(f->health.ok, 1);
    assert_string_equal(f->health.state, "GREEN");
    f->health_reply = "{\"quality_rating\":\"YELLOW\",\"status\":\"CONNECTED\"}";
    health_once(f);
    assert_int_equal(f->health.ok, 1);
    assert_string_equal(f->health.state, "CONNECTED");

    /* a Graph error: an expired token */
    f->mode = FK_GRAPH;
    f->inject_code = 190;
    f->inject_status = 401;
    f->inject_msg = "Error validating access token: Session has expired";
    health_once(f);
    assert_int_equal(f->health.ok, 0);
    assert_string_equal(f->health.state, "cloudapi_190");
    assert_string_equal(f->health.detail, "Error validating access token: Session has expired");
}

static void test_health_unreachable(void **state)
{
    struct fx *f = *state;
    int live = f->port;
    f->port = fakehttp_dead_port();
    make(f, "");
    health_once(f);
    assert_int_equal(f->health.ok, 0);
    assert_string_equal(f->health.state, "unreachable");
    assert_true(f->health.detail[0] != '\0');
    cloudapi_sender.destroy(f->s);
    f->s = NULL;

    /* a silent gateway is unreachable too, after the timeout */
    f->port = live;
    make(f, "\"timeout_ms\": 200");
    f->mode = FK_SILENT;
    health_once(f);
    assert_int_equal(f->n_requests, 1);
    assert_int_equal(f->health.ok, 0);
    assert_string_equal(f->health.state, "unreachable");
}

/* ---- webhook ---- */

struct hdrs {
    const char *sig;
};

static const char *get_header(const void *ctx, const char *name)
{
    const struct hdrs *h = ctx;
    if (strcasecmp(name, "X-Hub-Signature-256") == 0)
        return h->sig;
    return NULL;
}

static void sign(const char *secret, const char *body, size_t len, char out[80])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int ml = 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)body, len, md, &ml);
    assert_int_equal(ml, 32);
    memcpy(out, "sha256=", 7);
    for (unsigned i = 0; i < ml; i++)
        snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
}

static int hook(struct fx *f, const char *method, const char *query, const char *body,
                const char *sig, dp_buf *reply)
{
    struct hdrs h = {sig};
    struct sender_webhook_req req = {.method = method,
                                     .query = query,
                                     .body = body,
                                     .body_len = body ? strlen(body) : 0,
                                     .header = get_header,
                                     .ctx = &h};
    int status = 0;
    buf_reset(reply);
    assert_int_equal(cloudapi_sender.webhook(f->s, &req, &status, reply), DP_OK);
    return status;
}

static int signed_post(struct fx *f, const char *body, dp_buf *reply)
{
    char sig[80];
    sign(APP_SECRET, body, strlen(body), sig);
    return hook(f, "POST", NULL, body, sig, reply);
}

static void test_webhook_verify(void **state)
{
    struct fx *f = *state;
    dp_buf r;
    buf_init(&r, 4096);
    make(f, "");
    assert_int_equal(hook(f, "GET",
                          "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=" VERIFY,
                          NULL, NULL, &r),
                     200);
    assert_string_equal(buf_str(&r), "1158201444");
    /* percent-encoded, any order */
    assert_int_equal(hook(f, "GET",
                          "hub.verify_token=verify%2Dme&hub.challenge=42&hub.mode=subscribe", NULL,
                          NULL, &r),
                     200);
    assert_string_equal(buf_str(&r), "42");
    assert_int_equal(
        hook(f, "GET", "hub.mode=subscribe&hub.challenge=1&hub.verify_token=nope", NULL, NULL, &r),
        403);
    assert_int_equal(hook(f, "GET", "hub.mode=subscribe&hub.challenge=1&hub.verify_token=verify-m",
                          NULL, NULL, &r),
                     403);
    assert_int_equal(hook(f, "GET", "hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=" VERIFY,
                          NULL, NULL, &r),
                     403);
    assert_int_equal(hook(f, "GET", "hub.mode=subscribe&hub.verify_token=" VERIFY, NULL, NULL, &r),
                     403);
    assert_int_equal(hook(f, "GET",
                          "hub.mode=subscribe&hub.challenge=%3Cscript%3E&hub.verify_token=" VERIFY,
                          NULL, NULL, &r),
                     403);
    assert_int_equal(hook(f, "GET", NULL, NULL, NULL, &r), 403);
    assert_int_equal(hook(f, "PUT", NULL, "{}", NULL, &r), 405);
    cloudapi_sender.destroy(f->s);
    f->s = NULL;

    /* a verify token typed with a space, as the dashboard allows */
    make(f, "\"verify_token\": \"my token\"");
    assert_int_equal(hook(f, "GET", "hub.mode=subscribe&hub.challenge=7&hub.verify_token=my+token",
                          NULL, NULL, &r),
                     200);
    assert_string_equal(buf_str(&r), "7");
    cloudapi_sender.destroy(f->s);
    f->s = NULL;

    /* no verify_token configured: nothing verifies */
    char text[256];
    dp_err e = {0};
    snprintf(text, sizeof text, "{\"phone_number_id\": \"" PID "\", \"access_token\": \"t\"}");
    json_t *cfg = json_loads(text, 0, NULL);
    assert_int_equal(cloudapi_sender.validate(cfg, &e), DP_OK);
    assert_int_equal(cloudapi_sender.create(&f->env, SENDER_ID, cfg, &f->s, &e), DP_OK);
    json_decref(cfg);
    assert_int_equal(
        hook(f, "GET", "hub.mode=subscribe&hub.challenge=1&hub.verify_token=", NULL, NULL, &r),
        403);
    /* and with no app_secret no POST is believed */
    const char *body = "{\"object\":\"whatsapp_business_account\",\"entry\":[]}";
    assert_int_equal(signed_post(f, body, &r), 401);
    assert_int_equal(f->n_ev, 0);
    buf_free(&r);
}

static const char batch[] =
    "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"419561257915477\","
    "\"changes\":[{\"field\":\"messages\",\"value\":{\"messaging_product\":\"whatsapp\","
    "\"metadata\":{\"display_phone_number\":\"15550783881\",\"phone_number_id\":\"" PID "\"},"
    "\"statuses\":["
    "{\"id\":\"wamid.A\",\"status\":\"sent\",\"timestamp\":\"1750263773\","
    "\"recipient_id\":\"5511999990001\"},"
    "{\"id\":\"wamid.A\",\"status\":\"delivered\",\"timestamp\":\"1750263774\","
    "\"recipient_id\":\"5511999990001\"},"
    "{\"id\":\"wamid.A\",\"status\":\"read\",\"timestamp\":\"1750263775\","
    "\"recipient_id\":\"5511999990001\"},"
    "{\"id\":\"wamid.B\",\"status\":\"failed\",\"timestamp\":\"1750263776\","
    "\"recipient_id\":\"5511999990002\",\"errors\":[{\"code\":131026,"
    "\"title\":\"Message undeliverable\",\"message\":\"Message undeliverable\","
    "\"error_data\":{\"details\":\"Message Undeliverable.\"}}]},"
    "{\"id\":\"wamid.C\",\"status\":\"failed\",\"timestamp\":\"1750263777\","
    "\"recipient_id\":\"5511999990003\",\"errors\":[{\"code\":131047,"
    "\"message\":\"Re-engagement message\"}]},"
    "{\"id\":\"wamid.D\",\"status\":\"deleted\",\"timestamp\":\"1750263778\","
    "\"recipient_id\":\"5511999990004\"}"
    "]}},"
    "{\"field\":\"messages\",\"value\":{\"messaging_product\":\"whatsapp\","
    "\"metadata\":{\"display_phone_number\":\"15550783881\",\"phone_number_id\":\"" PID "\"},"
    "\"contacts\":[{\"profile\":{\"name\":\"Ana\"},\"wa_id\":\"5511999990001\"}],"
    "\"messages\":["
    "{\"from\":\"5511999990001\",\"id\":\"wamid.IN1\",\"timestamp\":\"1749416383\","
    "\"type\":\"text\",\"text\":{\"body\":\"SAIR\"}},"
    "{\"from\":\"5511999990002\",\"id\":\"wamid.IN2\",\"timestamp\":\"1749854575\","
    "\"type\":\"interactive\",\"context\":{\"from\":\"15550783881\",\"id\":\"wamid.A\"},"
    "\"interactive\":{\"type\":\"button_reply\",\"button_reply\":{\"id\":\"opt_out\","
    "\"title\":\"Não quero\"}}},"
    "{\"from\":\"5511999990003\",\"id\":\"wamid.IN3\",\"timestamp\":\"1750091045\","
    "\"type\":\"button\",\"context\":{\"from\":\"15550783881\",\"id\":\"wamid.C\"},"
    "\"button\":{\"payload\":\"STOP_PROMOS\",\"text\":\"Parar promoções\"}},"
    "{\"from\":\"5511999990004\",\"id\":\"wamid.IN4\",\"timestamp\":\"1750091046\","
    "\"type\":\"text\",\"context\":{\"from\":\"15550783881\",\"id\":\"wamid.B\"},"
    "\"text\":{\"body\":\"quem é?\"}},"
    "{\"from\":\"5511999990005\",\"id\":\"wamid.IN5\",\"timestamp\":\"1750091047\","
    "\"type\":\"image\",\"image\":{\"id\":\"1\",\"mime_type\":\"image/jpeg\"}}"
    "]}},"
    "{\"field\":\"message_template_status_update\",\"value\":{\"event\":\"APPROVED\"}},"
    "{\"field\":\"messages\",\"value\":{\"messaging_product\":\"whatsapp\","
    "\"metadata\":{\"display_phone_number\":\"15550000000\",\"phone_number_id\":\"999\"},"
    "\"statuses\":[{\"id\":\"wamid.OTHER\",\"status\":\"read\",\"timestamp\":\"1\","
    "\"recipient_id\":\"1\"}]}}"
    "]}]}";

static void check_receipt(const struct ev *e, const char *pid, enum receipt_status st,
                          const char *code, const char *detail)
{
    assert_int_equal(e->kind, 'R');
    assert_int_equal(e->sender_id, SENDER_ID);
    assert_string_equal(e->provider_id, pid);
    assert_int_equal(e->st, st);
    assert_int_equal(e->has_code, code != NULL);
    assert_int_equal(e->has_detail, detail != NULL);
    if (code)
        assert_string_equal(e->code, code);
    if (detail)
        assert_string_equal(e->detail, detail);
}

static void check_inbound(const struct ev *e, const char *from, const char *text,
                          const char *button, const char *context)
{
    assert_int_equal(e->kind, 'I');
    assert_int_equal(e->sender_id, SENDER_ID);
    assert_string_equal(e->from, from);
    assert_string_equal(e->text, text);
    assert_int_equal(e->has_button, button != NULL);
    assert_int_equal(e->has_context, context != NULL);
    if (button)
        assert_string_equal(e->button_id, button);
    if (context)
        assert_string_equal(e->context_id, context);
}

static void check_batch(struct fx *f, int base)
{
    const struct ev *e = &f->evs[base];
    check_receipt(&e[0], "wamid.A", RECEIPT_SENT, NULL, NULL);
    check_receipt(&e[1], "wamid.A", RECEIPT_DELIVERED, NULL, NULL);
    check_receipt(&e[2], "wamid.A", RECEIPT_READ, NULL, NULL);
    check_receipt(&e[3], "wamid.B", RECEIPT_FAILED, "cloudapi_131026", "Message undeliverable");
    check_receipt(&e[4], "wamid.C", RECEIPT_FAILED, "cloudapi_131047", "Re-engagement message");
    check_inbound(&e[5], "5511999990001", "SAIR", NULL, NULL);
    check_inbound(&e[6], "5511999990002", "Não quero", "opt_out", "wamid.A");
    check_inbound(&e[7], "5511999990003", "Parar promoções", "STOP_PROMOS", "wamid.C");
    check_inbound(&e[8], "5511999990004", "quem é?", NULL, "wamid.B");
}

static void test_webhook_post(void **state)
{
    struct fx *f = *state;
    dp_buf r;
    buf_init(&r, 4096);
    make(f, "");
    assert_int_equal(signed_post(f, batch, &r), 200);
    assert_string_equal(buf_str(&r), "OK");
    assert_int_equal(f->n_ev, 9); /* the deleted status, the image, the template
                                     update and the other number are not reported */
    check_batch(f, 0);

    /* a replay is reported again: deduplication is the engine's job */
    assert_int_equal(signed_post(f, batch, &r), 200);
    assert_int_equal(f->n_ev, 18);
    check_batch(f, 9);

    /* valid JSON of another shape: accepted, nothing to report */
    assert_int_equal(signed_post(f, "{\"object\":\"page\",\"entry\":{}}", &r), 200);
    assert_int_equal(signed_post(f,
                                 "{\"entry\":[{\"changes\":[{\"field\":\"messages\","
                                 "\"value\":{\"statuses\":[{\"status\":\"read\"}],"
                                 "\"messages\":[{\"type\":\"text\"}]}}]}]}",
                                 &r),
                     200);
    assert_int_equal(f->n_ev, 18);
    buf_free(&r);
}

static void test_webhook_bad_signature(void **state)
{
    struct fx *f = *state;
    dp_buf r;
    buf_init(&r, 4096);
    make(f, "");
    char sig[80];
    /* missing */
    assert_int_equal(hook(f, "POST", NULL, batch, NULL, &r), 401);
    /* signed with another secret */
    sign("other-secret", batch, strlen(batch), sig);
    assert_int_equal(hook(f, "POST", NULL, batch, sig, &r), 401);
    /* signed over another body (one byte changed) */
    static char altered[sizeof batch];
    memcpy(altered, batch, sizeof batch);
    altered[sizeof batch - 3] = ' ';
    sign(APP_SECRET, batch, strlen(batch), sig);
    assert_int_equal(hook(f, "POST", NULL, altered, sig, &r), 401);
    /* the right HMAC in the wrong format */
    assert_int_equal(hook(f, "POST", NULL, batch, sig + 7, &r), 401);
    char sha1[80];
    memcpy(sha1, "sha1=", 5);
    memcpy(sha1 + 5, sig + 7, 65);
    assert_int_equal(hook(f, "POST", NULL, batch, sha1, &r), 401);
    sig[70] = '\0';
    assert_int_equal(hook(f, "POST", NULL, batch, sig, &r), 401);
    sign(APP_SECRET, batch, strlen(batch), sig);
    sig[10] = 'z';
    assert_int_equal(hook(f, "POST", NULL, batch, sig, &r), 401);
    /* upper-case hex is the same signature */
    sign(APP_SECRET, batch, strlen(batch), sig);
    for (char *p = sig + 7; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    assert_int_equal(f->n_ev, 0);
    assert_int_equal(hook(f, "POST", NULL, batch, sig, &r), 200);
    assert_int_equal(f->n_ev, 9);
    buf_free(&r);
}

static void test_webhook_malformed_and_big(void **state)
{
    struct fx *f = *state;
    dp_buf r;
    buf_init(&r, 4096);
    make(f, "");
    assert_int_equal(signed_post(f, "{\"entry\": [", &r), 400);
    assert_int_equal(signed_post(f, "[1,2]", &r), 400);
    assert_int_equal(signed_post(f, "", &r), 400);
    /* malformed and unsigned: the signature is checked first */
    assert_int_equal(hook(f, "POST", NULL, "{\"entry\": [", "sha256=00", &r), 401);

    size_t n = ((size_t)1 << 20) + 1;
    char *big = malloc(n + 1);
    memset(big, ' ', n);
    big[0] = '{';
    big[n - 1] = '}';
    big[n] = '\0';
    char sig[80];
    sign(APP_SECRET, big, n, sig);
    assert_int_equal(hook(f, "POST", NULL, big, sig, &r), 413);
    /* exactly 1 MiB is fine */
    big[n - 2] = '}';
    big[n - 1] = '\0';
    sign(APP_SECRET, big, n - 1, sig);
    assert_int_equal(hook(f, "POST", NULL, big, sig, &r), 200);
    free(big);
    assert_int_equal(f->n_ev, 0);
    buf_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validate),
        cmocka_unit_test_setup_teardown(test_max_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_api_version_and_base_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_media, setup, teardown),
        cmocka_unit_test_setup_teardown(test_template, setup, teardown),
        cmocka_unit_test_setup_teardown(test_buttons, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_rejects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_classes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pair_rate_limit_backoff, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_after_and_http, setup, teardown),
        cmocka_unit_test_setup_teardown(test_detail_is_valid_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_is_ambiguous, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dropped_connection_is_ambiguous, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_proxy_closed_port_never_goes_direct, setup, teardown),
        cmocka_unit_test_setup_teardown(test_proxy_is_used, setup, teardown),
        cmocka_unit_test_setup_teardown(test_latency_requests_overlap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_health, setup, teardown),
        cmocka_unit_test_setup_teardown(test_health_unreachable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_webhook_verify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_webhook_post, setup, teardown),
        cmocka_unit_test_setup_teardown(test_webhook_bad_signature, setup, teardown),
        cmocka_unit_test_setup_teardown(test_webhook_malformed_and_big, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
