/* The WhatsApp Cloud API sender: Meta's Graph API, one POST to
 * /{version}/{phone-number-id}/messages per message, built as the v23.0
 * OpenAPI description documents it (schema `Message`). The Graph error code
 * in the reply decides what the engine does next; delivery receipts and
 * replies come back through webhook(), signed with the app secret. Requests
 * go through the shared httpc (and config.proxy, never around it). */
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "senders/common.h"
#include "senders/sender.h"
#include "util/err.h"
#include "util/httpc.h"
#include "util/log.h"

#define PHONE_ID_MAX 32
#define VERSION_MAX 16
#define TOKEN_MAX 4096
#define SECRET_MAX 512
#define TO_MAX 20
#define CHALLENGE_MAX 256
#define QUERY_MAX 4096
#define QUERY_VALUE_MAX 1024
/* The reply only matters for its wamid or its error object. */
#define REPLY_MAX ((size_t)64 * 1024)
/* A webhook batch is at most a few hundred KiB; more is not Meta. */
#define HOOK_BODY_MAX ((size_t)1 << 20)

#define TIMEOUT_DEFAULT 15000
#define TIMEOUT_MAX 600000
#define IN_FLIGHT_DEFAULT 32
#define IN_FLIGHT_MAX 1024

#define BUTTONS_MAX 3       /* ActionObject.buttons maxItems */
#define BUTTON_TITLE_MAX 20 /* characters, not bytes */
#define BUTTON_ID_MAX 256   /* bytes */
#define PAIR_BACKOFF_MAX_MS ((int64_t)3600 * 1000)

#define API_VERSION_DEFAULT "v23.0"
#define BASE_URL_DEFAULT "https://graph.facebook.com"

enum creq_kind { CR_SEND, CR_HEALTH };

/* One request in flight (a send or a health check). Owned by the sender's
 * list until httpc reports back or the sender is destroyed. */
struct creq {
    struct sc_node node; /* on s->head */
    sender *s;
    httpc_handle *hd;
    enum creq_kind kind;
    int attempt;
    sender_done_fn done;
    sender_health_fn hdone;
    void *ud;
};

struct sender {
    struct sender_env env; /* copied; the pointers inside are borrowed */
    int64_t id;
    char *send_url;     /* owned: {base}/{version}/{id}/messages */
    char *health_url;   /* owned: {base}/{version}/{id}?fields=... */
    char *auth_hdr;     /* owned "Authorization: Bearer ..." */
    char *proxy;        /* owned, or NULL = direct */
    char *app_secret;   /* owned, or NULL = every signed POST is refused */
    char *verify_token; /* owned, or NULL = every subscription check is refused */
    char phone_id[PHONE_ID_MAX + 1];
    long timeout_ms;
    int max_in_flight;
    struct sc_node *head; /* the creqs in flight */
};

static const char *const known_keys[] = {
    "phone_number_id", "access_token", "app_secret", "verify_token",  "api_version",
    "base_url",        "proxy",        "timeout_ms", "max_in_flight", NULL,
};

/* ---- validation ---- */

/* "v" digits "." digits, as the path parameter's pattern ^v[0-9]+\.[0-9]+$. */
static int version_ok(const char *s)
{
    size_t n = strlen(s), i = 1, d1 = 0, d2 = 0;
    if (n > VERSION_MAX || s[0] != 'v')
        return 0;
    for (; s[i] >= '0' && s[i] <= '9'; i++)
        d1++;
    if (s[i] != '.')
        return 0;
    for (i++; s[i] >= '0' && s[i] <= '9'; i++)
        d2++;
    return s[i] == '\0' && d1 >= 1 && d2 >= 1;
}

/* An optional secret: a non-empty string of printable ASCII. */
static int secret_field(json_t *config, const char *key, int space_ok, dp_err *e)
{
    json_t *v = json_object_get(config, key);
    if (v && (!json_is_string(v) ||
              !sc_printable_ok(json_string_value(v), json_string_length(v), SECRET_MAX, space_ok)))
        return dp_err_set(e, DP_EINVAL, "config.%s must be a string of 1 to %d printable%s", key,
                          SECRET_MAX, space_ok ? " ASCII characters" : " characters, no spaces");
    return DP_OK;
}

static int ca_validate(json_t *config, dp_err *e)
{
    json_t *v;
    int rc;

    rc = sc_check_keys(config, known_keys, "a cloudapi", e);
    if (rc)
        return rc;

    v = json_object_get(config, "phone_number_id");
    if (!v)
        return dp_err_set(e, DP_EINVAL, "config.phone_number_id is required");
    if (json_is_integer(v) && json_integer_value(v) > 0) {
        /* A number pasted without quotes: the same id, kept as the string Graph uses. */
        char digits[32];
        snprintf(digits, sizeof digits, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        if (json_object_set_new(config, "phone_number_id", json_string(digits)) != 0)
            return dp_err_set(e, DP_ENOMEM, "out of memory");
        v = json_object_get(config, "phone_number_id");
    }
    if (!json_is_string(v) || !sc_digits_ok(json_string_value(v), PHONE_ID_MAX))
        return dp_err_set(e, DP_EINVAL, "config.phone_number_id must be a string of 1 to %d digits",
                          PHONE_ID_MAX);

    v = json_object_get(config, "access_token");
    if (!v)
        return dp_err_set(e, DP_EINVAL, "config.access_token is required");
    if (!json_is_string(v) ||
        !sc_printable_ok(json_string_value(v), json_string_length(v), TOKEN_MAX, 0))
        return dp_err_set(e, DP_EINVAL,
                          "config.access_token must be a string of 1 to %d printable characters "
                          "without spaces",
                          TOKEN_MAX);

    rc = secret_field(config, "app_secret", 0, e);
    if (rc)
        return rc;
    rc = secret_field(config, "verify_token", 1, e);
    if (rc)
        return rc;

    v = json_object_get(config, "api_version");
    if (v && (!json_is_string(v) || !version_ok(json_string_value(v))))
        return dp_err_set(e, DP_EINVAL, "config.api_version must look like \"v23.0\"");

    rc = sc_url_field(config, "base_url", 0, sc_web_schemes, SC_URL_NO_QUERY,
                      "config.base_url must be an http:// or https:// URL without query", e);
    if (rc)
        return rc;
    rc = sc_url_field(config, "proxy", 0, sc_proxy_schemes, 0,
                      "config.proxy must be an http://, https:// or socks5:// URL", e);
    if (rc)
        return rc;

    rc = sc_set_default(config, "api_version", json_string(API_VERSION_DEFAULT), e);
    if (rc)
        return rc;
    rc = sc_set_default(config, "base_url", json_string(BASE_URL_DEFAULT), e);
    if (rc)
        return rc;
    rc = sc_int_field(config, "timeout_ms", 1, TIMEOUT_MAX, TIMEOUT_DEFAULT, e);
    if (rc)
        return rc;
    return sc_int_field(config, "max_in_flight", 1, IN_FLIGHT_MAX, IN_FLIGHT_DEFAULT, e);
}

/* ---- lifecycle ---- */

/* Cancels every request in flight (their callbacks never run) and frees s. */
static void ca_destroy(sender *s)
{
    if (!s)
        return;
    while (s->head) {
        struct creq *c = SC_OWNER(s->head, struct creq, node);
        sc_list_unlink(&s->head, &c->node);
        httpc_cancel(s->env.http, c->hd);
        free(c);
    }
    free(s->send_url);
    free(s->health_url);
    sc_free_secret(s->auth_hdr);
    free(s->proxy);
    sc_free_secret(s->app_secret);
    sc_free_secret(s->verify_token);
    free(s);
}

/* config is borrowed and assumed validated; *out belongs to the caller. */
static int ca_create(const struct sender_env *env, int64_t id, const json_t *config, sender **out,
                     dp_err *e)
{
    int rc = DP_ENOMEM;
    sender *s = NULL;

    const char *pid = sc_jstr(config, "phone_number_id");
    const char *tok = sc_jstr(config, "access_token");
    if (!env || !env->http || !out || !pid || !sc_digits_ok(pid, PHONE_ID_MAX) || !tok) {
        rc = dp_err_set(e, DP_EINVAL,
                        "cloudapi sender needs an HTTP client, config.phone_number_id and "
                        "config.access_token");
        goto out;
    }
    s = calloc(1, sizeof *s);
    if (!s)
        goto out;
    s->env = *env;
    s->id = id;
    snprintf(s->phone_id, sizeof s->phone_id, "%s", pid);

    const char *base = sc_jstr(config, "base_url");
    const char *ver = sc_jstr(config, "api_version");
    if (!base)
        base = BASE_URL_DEFAULT;
    if (!ver)
        ver = API_VERSION_DEFAULT;
    /* "https://host/" + "/v23.0" would make "//v23.0": drop trailing slashes. */
    int bl = (int)sc_trim_len(base);
    s->send_url = sc_strdupf("%.*s/%s/%s/messages", bl, base, ver, pid);
    s->health_url =
        sc_strdupf("%.*s/%s/%s?fields=quality_rating,status,name_status,messaging_limit_tier", bl,
                   base, ver, pid);
    s->auth_hdr = sc_strdupf("Authorization: Bearer %s", tok);
    if (!s->send_url || !s->health_url || !s->auth_hdr)
        goto out;
    int oom = 0;
    s->proxy = sc_dup_field(config, "proxy", &oom);
    s->app_secret = sc_dup_field(config, "app_secret", &oom);
    s->verify_token = sc_dup_field(config, "verify_token", &oom);
    if (oom)
        goto out;
    s->timeout_ms = (long)sc_jint(config, "timeout_ms", TIMEOUT_DEFAULT);
    s->max_in_flight = (int)sc_jint(config, "max_in_flight", IN_FLIGHT_DEFAULT);

    *out = s;
    s = NULL;
    rc = DP_OK;
out:
    if (rc == DP_ENOMEM)
        dp_err_set(e, rc, "out of memory creating the cloudapi sender");
    ca_destroy(s);
    return rc;
}

static int ca_max_in_flight(const sender *s)
{
    return s->max_in_flight;
}

/* ---- text helpers ---- */

/* Characters, as WhatsApp counts a button title: UTF-8 lead bytes. */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            n++;
    return n;
}

/* ---- the request body ---- */

static int media_kind_ok(const char *k, int allow_audio)
{
    return sc_media_kind(k) && (allow_audio || strcmp(k, "audio") != 0);
}

static int link_ok(const char *u)
{
    return strncasecmp(u, "http://", 7) == 0 || strncasecmp(u, "https://", 8) == 0;
}

/* A MediaObject by link: {link[, caption][, filename]}. Captions exist for
 * image, video and document only; filename for documents only. NULL on a bad
 * media, invalid UTF-8 or no memory. */
static json_t *media_object(const struct sender_media *md, const char *caption)
{
    json_t *o = json_pack("{s:s}", "link", md->url);
    if (!o)
        return NULL;
    int doc = strcmp(md->kind, "document") == 0;
    int rc = 0;
    if (caption && *caption && strcmp(md->kind, "audio") != 0)
        rc |= json_object_set_new(o, "caption", json_string(caption));
    if (doc && md->filename && *md->filename)
        rc |= json_object_set_new(o, "filename", json_string(md->filename));
    if (rc) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static int media_ok(const struct sender_media *md, int allow_audio)
{
    return md->url && md->kind && media_kind_ok(md->kind, allow_audio) && link_ok(md->url);
}

/* template: {name, language: {policy, code}, components: [header?, body?]}.
 * LanguageObject requires `policy` next to `code`; "deterministic" is its only value. */
static json_t *template_object(const struct sender_template *t)
{
    json_t *o = NULL, *comps = NULL, *res = NULL;

    if (!t->name || !*t->name || !t->language || !*t->language || (t->nparams > 0 && !t->params))
        goto out;
    if (t->header && !media_ok(t->header, 0))
        goto out; /* header parameters are image, video or document */
    o = json_pack("{s:s,s:{s:s,s:s}}", "name", t->name, "language", "policy", "deterministic",
                  "code", t->language);
    comps = json_array();
    if (!o || !comps)
        goto out;
    if (t->header) {
        json_t *md = media_object(t->header, NULL);
        json_t *h = md ? json_pack("{s:s,s:[{s:s,s:o}]}", "type", "header", "parameters", "type",
                                   t->header->kind, t->header->kind, md)
                       : NULL;
        if (!h || json_array_append_new(comps, h) != 0)
            goto out;
    }
    if (t->nparams > 0) {
        json_t *params = json_array();
        if (!params)
            goto out;
        for (size_t i = 0; i < t->nparams; i++) {
            json_t *p =
                t->params[i] ? json_pack("{s:s,s:s}", "type", "text", "text", t->params[i]) : NULL;
            if (!p || json_array_append_new(params, p) != 0) {
                json_decref(params);
                goto out;
            }
        }
        json_t *b = json_pack("{s:s,s:o}", "type", "body", "parameters", params);
        if (!b || json_array_append_new(comps, b) != 0)
            goto out;
    }
    /* A template without variables or header is sent with no components at all. */
    if (json_array_size(comps) > 0 && json_object_set(o, "components", comps) != 0)
        goto out;
    res = o;
    o = NULL;
out:
    json_decref(comps);
    json_decref(o);
    return res;
}

static int button_id_ok(const char *id)
{
    size_t n = strlen(id);
    /* "No leading/trailing spaces", and at most 256 */
    return n >= 1 && n <= BUTTON_ID_MAX && id[0] != ' ' && id[n - 1] != ' ';
}

/* interactive: {type: button, [header,] body: {text}, action: {buttons: [...]}}.
 * Titles and ids must be unique, titles 1 to 20 characters. */
static json_t *interactive_object(const struct sender_msg *m)
{
    json_t *o = NULL, *btns = NULL, *res = NULL;

    if (!m->buttons || m->nbuttons > BUTTONS_MAX || !m->text || !*m->text)
        goto out;
    for (size_t i = 0; i < m->nbuttons; i++) {
        const struct sender_button *b = &m->buttons[i];
        if (!b->id || !b->title || !button_id_ok(b->id) || !*b->title ||
            utf8_chars(b->title) > BUTTON_TITLE_MAX)
            goto out;
        for (size_t j = 0; j < i; j++)
            if (strcmp(m->buttons[j].title, b->title) == 0 || strcmp(m->buttons[j].id, b->id) == 0)
                goto out;
    }
    btns = json_array();
    if (!btns)
        goto out;
    for (size_t i = 0; i < m->nbuttons; i++) {
        json_t *b = json_pack("{s:s,s:{s:s,s:s}}", "type", "reply", "reply", "id", m->buttons[i].id,
                              "title", m->buttons[i].title);
        if (!b || json_array_append_new(btns, b) != 0)
            goto out;
    }
    o = json_pack("{s:s}", "type", "button");
    if (!o)
        goto out;
    if (m->media) {
        /* HeaderObject: image, video or document; no caption (the body is the text). */
        if (!media_ok(m->media, 0))
            goto out;
        json_t *md = media_object(m->media, NULL);
        json_t *h = md ? json_pack("{s:s,s:o}", "type", m->media->kind, m->media->kind, md) : NULL;
        if (!h || json_object_set_new(o, "header", h) != 0)
            goto out;
    }
    if (json_object_set_new(o, "body", json_pack("{s:s}", "text", m->text)) != 0 ||
        json_object_set_new(o, "action", json_pack("{s:O}", "buttons", btns)) != 0)
        goto out;
    res = o;
    o = NULL;
out:
    json_decref(btns);
    json_decref(o);
    return res;
}

/* The whole Message for m, or NULL when m cannot be sent (bad fields,
 * invalid UTF-8, more than 3 buttons...) or on no memory. A template ignores
 * text, media and buttons: its content is fixed at Meta. */
static json_t *message_body(const struct sender_msg *m)
{
    const char *type;
    json_t *payload = NULL;

    if (m->tmpl) {
        type = "template";
        payload = template_object(m->tmpl);
    } else if (m->nbuttons > 0) {
        type = "interactive";
        payload = interactive_object(m);
    } else if (m->media) {
        if (!media_ok(m->media, 1))
            return NULL;
        type = m->media->kind;
        payload = media_object(m->media, m->text);
    } else {
        if (!m->text || !*m->text)
            return NULL;
        type = "text";
        payload = json_pack("{s:s,s:b}", "body", m->text, "preview_url", 0);
    }
    if (!payload)
        return NULL;
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:o}", "messaging_product", "whatsapp",
                          "recipient_type", "individual", "to", m->to, "type", type, type, payload);
    return o; /* "o" steals payload even on failure */
}

/* ---- classifying the reply ---- */

enum eclass {
    EC_OTHER,     /* not listed: judged by the HTTP status */
    EC_RETRY,     /* throttled or Meta-side trouble: retry with backoff */
    EC_PAIR,      /* 131056: too many messages to this one recipient */
    EC_STOP,      /* the account cannot send */
    EC_RECIPIENT, /* this recipient only */
    EC_TEMPLATE,  /* the campaign's message is refused */
};

/* The lists, one per class (Meta's error codes reference). */
static const long retry_codes[] = {130429, 131056, 80007, 4, 1, 2, 131016, 131000, 131057, -1};
static const long stop_codes[] = {131048, 131064, 368, 131031, 130497, 131042, 0, 190, -1};
static const long recipient_codes[] = {131026, 131047, 131050, 130403, 131021, 131049, -1};
static const long template_codes[] = {132000, 132001, 132012, 132015, 132016,
                                      100,    131008, 131009, -1};

static int listed(const long *codes, long code)
{
    for (size_t i = 0; codes[i] >= 0; i++)
        if (codes[i] == code)
            return 1;
    return 0;
}

static enum eclass class_of(long code)
{
    if (code == 131056)
        return EC_PAIR;
    if (listed(retry_codes, code))
        return EC_RETRY;
    if (listed(stop_codes, code))
        return EC_STOP;
    if (listed(recipient_codes, code))
        return EC_RECIPIENT;
    if (listed(template_codes, code))
        return EC_TEMPLATE;
    return EC_OTHER;
}

/* 4^attempt seconds, capped at an hour: Meta's advice for the pair rate limit. */
static int64_t pair_backoff_ms(int attempt)
{
    int64_t ms = 1000;
    if (attempt < 1)
        attempt = 1;
    for (int i = 0; i < attempt && ms < PAIR_BACKOFF_MAX_MS; i++)
        ms *= 4;
    return ms < PAIR_BACKOFF_MAX_MS ? ms : PAIR_BACKOFF_MAX_MS;
}

/* The Graph error object of a reply: {error: {message, type, code, ...}}, or
 * NULL. *root is set so the caller frees the parse. */
static const json_t *graph_error(const char *body, size_t len, json_t **root)
{
    *root = json_loadb(body, len, 0, NULL);
    const json_t *err = json_object_get(*root, "error");
    if (!json_is_object(err) || !json_is_integer(json_object_get(err, "code")))
        return NULL;
    return err;
}

static void graph_detail(char *dst, size_t size, const json_t *err)
{
    const char *msg = sc_jstr(err, "message");
    if (!msg || !*msg)
        msg = sc_jstr(err, "error_user_msg");
    if (!msg || !*msg)
        msg = sc_jstr(json_object_get(err, "error_data"), "details");
    if (!msg)
        msg = "";
    sc_copy_detail(dst, size, msg, strlen(msg));
}

/* Errors that prove the request never reached Meta are safe to retry; a
 * timeout or a connection dropped after the request went out may have sent
 * the message, and the Cloud API has no idempotency key. */
static const int dropped[] = {CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE, 0};
static const struct sc_net_policy net_policy = {
    .lost = dropped,
    .lost_code = "connection_dropped",
    .after_send = SEND_AMBIGUOUS,
    .other = SEND_TRANSIENT,
};

static void classify(const struct httpc_resp *resp, int attempt, struct send_result *r)
{
    json_t *root = NULL;
    memset(r, 0, sizeof *r);
    if (!sc_have_status(resp)) {
        sc_net_failure(resp, &net_policy, r);
        goto out;
    }
    long st = resp->status;
    if (st >= 200 && st < 300) {
        r->outcome = SEND_OK;
        root = json_loadb(resp->body, resp->body_len, 0, NULL);
        const char *wamid = sc_jstr(json_array_get(json_object_get(root, "messages"), 0), "id");
        if (wamid)
            sc_copy_utf8(r->provider_id, sizeof r->provider_id - 1, wamid, strlen(wamid));
        goto out;
    }

    const json_t *err = graph_error(resp->body, resp->body_len, &root);
    enum eclass cls = EC_OTHER;
    if (err) {
        long code = (long)json_integer_value(json_object_get(err, "code"));
        cls = class_of(code);
        snprintf(r->code, sizeof r->code, "cloudapi_%ld", code);
        graph_detail(r->detail, sizeof r->detail, err);
        /* An unlisted code that Graph itself calls transient is retried. */
        if (cls == EC_OTHER && json_is_true(json_object_get(err, "is_transient")))
            cls = EC_RETRY;
    } else {
        snprintf(r->code, sizeof r->code, "http_%ld", st);
        sc_copy_detail(r->detail, sizeof r->detail, resp->body, resp->body_len);
    }
    if (cls == EC_OTHER) {
        if (st == 429 || (st >= 500 && st < 600))
            cls = EC_RETRY;
        else if (st == 401 || st == 407)
            cls = EC_STOP; /* the token (or the proxy's credentials) is refused */
        else if (!err)
            /* Not a Graph answer at all (a redirect, a bare 404 from something
             * else): base_url or the proxy is wrong, whoever the recipient. */
            cls = EC_STOP;
        else
            cls = EC_RECIPIENT;
    }
    switch (cls) {
    case EC_RETRY:
    case EC_PAIR:
        r->outcome = SEND_TRANSIENT;
        r->sender_fault = 1;
        r->retry_after_ms = resp->retry_after_ms;
        if (cls == EC_PAIR && pair_backoff_ms(attempt) > r->retry_after_ms)
            r->retry_after_ms = pair_backoff_ms(attempt);
        break;
    case EC_STOP:
        /* Transient for the message: another sender may deliver it. */
        r->outcome = SEND_TRANSIENT;
        r->sender_fault = 1;
        r->action = ACT_STOP_SENDER;
        break;
    case EC_TEMPLATE:
        r->outcome = SEND_PERMANENT;
        r->action = ACT_BAD_TEMPLATE;
        break;
    case EC_RECIPIENT:
    case EC_OTHER:
        r->outcome = SEND_PERMANENT;
        r->no_whatsapp = strcmp(r->code, "cloudapi_131026") == 0;
        break;
    }
out:
    json_decref(root);
}

/* ---- health ---- */

static const char *const bad_status[] = {"BANNED", "FLAGGED", "RESTRICTED", "DISCONNECTED", NULL};

static void health_of(const struct httpc_resp *resp, struct sender_health *h)
{
    json_t *root = NULL;
    memset(h, 0, sizeof *h);
    if (!sc_have_status(resp)) {
        sc_health_unreachable(resp, h);
        goto out;
    }
    if (resp->status < 200 || resp->status >= 300) {
        const json_t *err = graph_error(resp->body, resp->body_len, &root);
        /* An expired token (cloudapi_190) or a wrong base_url: not ok, say why. */
        if (err) {
            snprintf(h->state, sizeof h->state, "cloudapi_%ld",
                     (long)json_integer_value(json_object_get(err, "code")));
            graph_detail(h->detail, sizeof h->detail, err);
        } else {
            snprintf(h->state, sizeof h->state, "http_%ld", resp->status);
            sc_copy_detail(h->detail, sizeof h->detail, resp->body, resp->body_len);
        }
        goto out;
    }
    root = json_loadb(resp->body, resp->body_len, 0, NULL);
    if (!json_is_object(root)) {
        snprintf(h->state, sizeof h->state, "invalid_reply");
        snprintf(h->detail, sizeof h->detail, "the phone number reply is not a JSON object");
        goto out;
    }
    const char *status = sc_jstr(root, "status");
    const char *quality = sc_jstr(root, "quality_rating");
    const char *tier = sc_jstr(root, "messaging_limit_tier");
    const char *name = sc_jstr(root, "name_status");
    int status_bad = 0;
    for (size_t i = 0; status && bad_status[i]; i++)
        if (strcmp(status, bad_status[i]) == 0)
            status_bad = 1;
    int red = quality && strcmp(quality, "RED") == 0;
    h->ok = !status_bad && !red;
    const char *word = status_bad || !red ? status : quality;
    if (!word)
        word = quality ? quality : "unknown";
    sc_copy_utf8(h->state, sizeof h->state - 1, word, strlen(word));
    char line[256];
    snprintf(line, sizeof line, "status %.32s, quality %.16s, tier %.24s, name %.32s",
             status ? status : "-", quality ? quality : "-", tier ? tier : "-", name ? name : "-");
    sc_copy_utf8(h->detail, sizeof h->detail - 1, line, strlen(line));
out:
    json_decref(root);
}

/* ---- requests ---- */

static void on_http_done(void *ud, const struct httpc_resp *resp)
{
    struct creq *c = ud;
    enum creq_kind kind = c->kind;
    sender_done_fn done = c->done;
    sender_health_fn hdone = c->hdone;
    void *dud = c->ud;
    int attempt = c->attempt;
    /* Off the list and freed before the callback: it may destroy the sender. */
    sc_list_unlink(&c->s->head, &c->node);
    free(c);
    if (kind == CR_SEND) {
        struct send_result r;
        classify(resp, attempt, &r);
        done(dud, &r);
    } else {
        struct sender_health h;
        health_of(resp, &h);
        hdone(dud, &h);
    }
}

/* Starts one request owned by s; on success c belongs to s's list. */
static int start(sender *s, struct creq *c, const char *method, const char *url, const char *body)
{
    const char *hdrs[4];
    size_t k = 0;
    if (body)
        hdrs[k++] = "Content-Type: application/json";
    hdrs[k++] = s->auth_hdr;
    hdrs[k++] = "Accept: application/json";
    hdrs[k] = NULL;
    struct httpc_req req = {
        .method = method,
        .url = url,
        .headers = hdrs,
        .body = body,
        .body_len = body ? strlen(body) : 0,
        .timeout_ms = s->timeout_ms,
        .proxy = s->proxy, /* with a proxy, through it or not at all */
        .max_response = REPLY_MAX,
    };
    c->s = s;
    int rc = httpc_do(s->env.http, &req, on_http_done, c, &c->hd);
    if (rc == DP_OK)
        sc_list_push(&s->head, &c->node);
    return rc;
}

/* Builds the Message (a temporary: httpc copies it) and starts the POST. */
static int ca_send(sender *s, const struct sender_msg *m, sender_done_fn done, void *ud)
{
    int rc = DP_EINVAL;
    json_t *obj = NULL;
    char *body = NULL;
    struct creq *c = NULL;

    if (!s || !m || !m->to || !done || !sc_digits_ok(m->to, TO_MAX))
        goto out;
    if (m->nbuttons > 0 && !m->tmpl && (m->nbuttons > BUTTONS_MAX || !m->buttons))
        goto out;
    obj = message_body(m);
    if (!obj)
        goto out; /* a field Meta would refuse, invalid UTF-8, or no memory */
    rc = DP_ENOMEM;
    body = json_dumps(obj, JSON_COMPACT);
    c = calloc(1, sizeof *c);
    if (!body || !c)
        goto out;
    c->kind = CR_SEND;
    c->attempt = m->attempt;
    c->done = done;
    c->ud = ud;
    rc = start(s, c, "POST", s->send_url, body);
    if (rc == DP_OK)
        c = NULL;
out:
    free(c);
    free(body);
    json_decref(obj);
    return rc;
}

static int ca_health(sender *s, sender_health_fn done, void *ud)
{
    if (!s || !done)
        return DP_EINVAL;
    struct creq *c = calloc(1, sizeof *c);
    if (!c)
        return DP_ENOMEM;
    c->kind = CR_HEALTH;
    c->hdone = done;
    c->ud = ud;
    int rc = start(s, c, "GET", s->health_url, NULL);
    if (rc != DP_OK)
        free(c);
    return rc;
}

/* ---- webhook ---- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes a www-form-urlencoded piece of n bytes into dst (size bytes);
 * 0 when it does not fit or holds a bad escape or a NUL. */
static int form_decode(char *dst, size_t size, const char *src, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = src[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            if (i + 2 >= n)
                return 0;
            int hi = hexval(src[i + 1]);
            int lo = hexval(src[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return 0;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (o + 1 >= size)
            return 0;
        dst[o++] = c;
    }
    dst[o] = '\0';
    return 1;
}

/* The first value of key in a raw query string, decoded into dst; 0 if absent
 * or undecodable. */
static int query_get(const char *q, const char *key, char *dst, size_t size)
{
    char k[64];
    while (q && *q) {
        size_t n = strcspn(q, "&");
        size_t eq = strcspn(q, "=");
        if (eq < n && form_decode(k, sizeof k, q, eq) && strcmp(k, key) == 0)
            return form_decode(dst, size, q + eq + 1, n - eq - 1);
        q += n;
        if (*q == '&')
            q++;
    }
    return 0;
}

/* What Meta sends is a number; anything that could turn the echo into markup
 * or a header is refused instead of reflected. */
static int challenge_ok(const char *c)
{
    size_t n = 0;
    for (; c[n]; n++) {
        unsigned char ch = (unsigned char)c[n];
        if (ch <= 32 || ch >= 127 || strchr("<>&\"'\\", ch))
            return 0;
    }
    return n >= 1 && n <= CHALLENGE_MAX;
}

static int reply_with(struct dp_buf *reply, int *status, int code, const char *text)
{
    *status = code;
    return sc_reply(reply, text);
}

/* GET /webhooks/{id}?hub.mode=subscribe&hub.verify_token=...&hub.challenge=... */
static int verify_subscription(sender *s, const struct sender_webhook_req *req, int *status,
                               struct dp_buf *reply)
{
    char mode[32], token[QUERY_VALUE_MAX], challenge[QUERY_VALUE_MAX];
    int ok = s->verify_token && req->query && strlen(req->query) <= QUERY_MAX &&
             query_get(req->query, "hub.mode", mode, sizeof mode) &&
             strcmp(mode, "subscribe") == 0 &&
             query_get(req->query, "hub.verify_token", token, sizeof token) &&
             sc_secret_equal(token, strlen(token), s->verify_token) &&
             query_get(req->query, "hub.challenge", challenge, sizeof challenge) &&
             challenge_ok(challenge);
    OPENSSL_cleanse(token, sizeof token);
    if (!ok)
        return reply_with(reply, status, 403, "forbidden");
    return reply_with(reply, status, 200, challenge);
}

/* X-Hub-Signature-256: sha256=<hex of HMAC-SHA256(raw body, app secret)>. */
static int signature_ok(const sender *s, const struct sender_webhook_req *req)
{
    unsigned char want[EVP_MAX_MD_SIZE], got[32];
    unsigned int wl = 0;
    const char *h = req->header ? req->header(req->ctx, "X-Hub-Signature-256") : NULL;
    if (!s->app_secret || !h || strncmp(h, "sha256=", 7) != 0 || strlen(h + 7) != 64)
        return 0;
    for (size_t i = 0; i < 32; i++) {
        int hi = hexval(h[7 + 2 * i]), lo = hexval(h[8 + 2 * i]);
        if (hi < 0 || lo < 0)
            return 0;
        got[i] = (unsigned char)(hi * 16 + lo);
    }
    static const unsigned char empty[1];
    const unsigned char *data = req->body_len ? (const unsigned char *)req->body : empty;
    if (!HMAC(EVP_sha256(), s->app_secret, (int)strlen(s->app_secret), data, req->body_len, want,
              &wl) ||
        wl != 32)
        return 0;
    return CRYPTO_memcmp(want, got, 32) == 0;
}

/* 1 and *st set for the four status words disparo tracks, 0 for any other. */
static int status_word(const char *w, enum receipt_status *st)
{
    static const struct {
        const char *w;
        enum receipt_status st;
    } map[] = {{"sent", RECEIPT_SENT},
               {"delivered", RECEIPT_DELIVERED},
               {"read", RECEIPT_READ},
               {"failed", RECEIPT_FAILED}};
    for (size_t i = 0; w && i < sizeof map / sizeof map[0]; i++)
        if (strcmp(w, map[i].w) == 0) {
            *st = map[i].st;
            return 1;
        }
    return 0;
}

/* One statuses[] item → hooks->receipt. Unknown status words are skipped. */
static void report_status(const struct sender_hooks *hk, int64_t sid, const json_t *item)
{
    enum receipt_status st;
    const char *id = sc_jstr(item, "id");
    if (!id || !*id || !status_word(sc_jstr(item, "status"), &st))
        return;
    if (st != RECEIPT_FAILED) {
        hk->receipt(hk->ud, sid, id, st, NULL, NULL);
        return;
    }
    char code[64], detail[256];
    const json_t *e0 = json_array_get(json_object_get(item, "errors"), 0);
    const json_t *c = json_object_get(e0, "code");
    if (json_is_integer(c))
        snprintf(code, sizeof code, "cloudapi_%" JSON_INTEGER_FORMAT, json_integer_value(c));
    else
        snprintf(code, sizeof code, "cloudapi_failed");
    const char *d = sc_jstr(e0, "title");
    if (!d || !*d)
        d = sc_jstr(e0, "message");
    if (!d)
        d = "";
    sc_copy_detail(detail, sizeof detail, d, strlen(d));
    hk->receipt(hk->ud, sid, id, st, code, detail);
    /* 131026: the number has no WhatsApp (Meta says so only after accepting) */
    const char *to = sc_jstr(item, "recipient_id");
    if (json_is_integer(c) && json_integer_value(c) == 131026 && to && *to && hk->no_whatsapp)
        hk->no_whatsapp(hk->ud, sid, to);
}

/* One messages[] item → hooks->inbound: text, template quick reply (button)
 * or interactive reply button; other kinds are not replies disparo acts on. */
static void report_message(const struct sender_hooks *hk, int64_t sid, const json_t *item)
{
    const char *from = sc_jstr(item, "from");
    const char *type = sc_jstr(item, "type");
    const char *text = NULL, *button_id = NULL;
    if (!from || !*from || !type)
        return;
    if (strcmp(type, "text") == 0) {
        text = sc_jstr(json_object_get(item, "text"), "body");
    } else if (strcmp(type, "button") == 0) {
        const json_t *b = json_object_get(item, "button");
        text = sc_jstr(b, "text");
        button_id = sc_jstr(b, "payload");
        if (!button_id)
            return;
    } else if (strcmp(type, "interactive") == 0) {
        const json_t *in = json_object_get(item, "interactive");
        const char *it = sc_jstr(in, "type");
        if (!it || strcmp(it, "button_reply") != 0)
            return;
        const json_t *br = json_object_get(in, "button_reply");
        text = sc_jstr(br, "title");
        button_id = sc_jstr(br, "id");
        if (!button_id)
            return;
    }
    if (!text)
        return;
    const char *ctx = sc_jstr(json_object_get(item, "context"), "id");
    hk->inbound(hk->ud, sid, from, text, button_id, ctx && *ctx ? ctx : NULL);
}

/* Walks entry[].changes[] (field "messages") and reports what it finds. The
 * hooks may in principle destroy the sender, so s is not touched after the
 * first one: what is needed is copied first. */
static void report_all(sender *s, const json_t *root)
{
    const struct sender_hooks *hk = s->env.hooks;
    int64_t sid = s->id;
    char my_id[PHONE_ID_MAX + 1];
    snprintf(my_id, sizeof my_id, "%s", s->phone_id);
    if (!hk)
        return;

    size_t i, j, k;
    const json_t *entry, *change, *item;
    json_array_foreach(json_object_get(root, "entry"), i, entry)
    {
        json_array_foreach(json_object_get(entry, "changes"), j, change)
        {
            const char *field = sc_jstr(change, "field");
            const json_t *value = json_object_get(change, "value");
            if (!field || strcmp(field, "messages") != 0 || !json_is_object(value))
                continue;
            /* One app's webhook can carry several numbers: only ours count. */
            const char *pid = sc_jstr(json_object_get(value, "metadata"), "phone_number_id");
            if (pid && strcmp(pid, my_id) != 0)
                continue;
            if (hk->receipt) {
                json_array_foreach(json_object_get(value, "statuses"), k, item)
                {
                    report_status(hk, sid, item);
                }
            }
            if (hk->inbound) {
                json_array_foreach(json_object_get(value, "messages"), k, item)
                {
                    report_message(hk, sid, item);
                }
            }
        }
    }
}

static int ca_webhook(sender *s, const struct sender_webhook_req *req, int *status,
                      struct dp_buf *reply)
{
    json_t *root = NULL;
    int rc;

    if (!s || !req || !req->method || !status)
        return DP_EINVAL;
    if (strcmp(req->method, "GET") == 0) {
        rc = verify_subscription(s, req, status, reply);
        goto out;
    }
    if (strcmp(req->method, "POST") != 0) {
        rc = reply_with(reply, status, 405, "method not allowed");
        goto out;
    }
    if (req->body_len > HOOK_BODY_MAX) {
        rc = reply_with(reply, status, 413, "payload too large");
        goto out;
    }
    if (req->body_len > 0 && !req->body) {
        rc = reply_with(reply, status, 400, "no body");
        goto out;
    }
    if (!signature_ok(s, req)) {
        if (!s->app_secret)
            log_warn("cloudapi: webhook refused, config.app_secret is not set", "sender=%lld",
                     (long long)s->id);
        rc = reply_with(reply, status, 401, "invalid signature");
        goto out;
    }
    root = json_loadb(req->body ? req->body : "", req->body_len, 0, NULL);
    if (!json_is_object(root)) {
        rc = reply_with(reply, status, 400, "malformed JSON");
        goto out;
    }
    /* The reply is written before reporting: the hooks may end the sender. */
    rc = reply_with(reply, status, 200, "OK");
    report_all(s, root);
out:
    json_decref(root);
    return rc;
}

static const char *const secrets[] = {"access_token", "app_secret", "verify_token", NULL};

const struct sender_vtab cloudapi_sender = {
    .provider = "cloudapi",
    .validate = ca_validate,
    .secret_fields = secrets,
    .create = ca_create,
    .destroy = ca_destroy,
    .send = ca_send,
    .max_in_flight = ca_max_in_flight,
    .webhook = ca_webhook,
    .health = ca_health,
    .idempotent = 0, /* no idempotency key: a timed-out send may have gone out */
    .default_rate = 80,
    .pair_gap_ms = 6000, /* Meta's pair rate limit: one message to a phone per 6 s */
};
