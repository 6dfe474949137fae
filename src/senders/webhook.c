/* The webhook sender: one JSON POST per message to a URL the user runs, with
 * an Idempotency-Key so retries after timeouts are safe. The HTTP status (or
 * the transport error) decides the outcome; see docs/api.md "Senders".
 * Requests go through the shared httpc; the engine enforces max_in_flight. */
#include <curl/curl.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "senders/common.h"
#include "senders/sender.h"
#include "util/err.h"
#include "util/httpc.h"

#define HEADERS_MAX 64
#define HEADER_VALUE_MAX 8192
#define IDEM_KEY_MAX 255
/* The reply only matters for its "id": a gateway answering more is broken. */
#define REPLY_MAX ((size_t)64 * 1024)

#define TIMEOUT_DEFAULT 10000
#define TIMEOUT_MAX 600000
#define IN_FLIGHT_DEFAULT 16
#define IN_FLIGHT_MAX 1024

/* One POST in flight. Owned by the sender's list until httpc reports back. */
struct wreq {
    struct sc_node node; /* on s->head */
    sender *s;
    httpc_handle *hd;
    sender_done_fn done;
    void *ud;
};

struct sender {
    struct sender_env env; /* copied; the pointers inside are borrowed */
    int64_t id;
    char *url;        /* owned */
    char **hdr_lines; /* owned "Name: value" lines */
    size_t n_hdr;
    long timeout_ms;
    int max_in_flight;
    struct sc_node *head; /* the wreqs in flight */
};

/* Headers disparo sets itself; letting config repeat them would send two. */
static const char *const reserved_headers[] = {
    "Content-Type", "Content-Length", "Idempotency-Key", "Transfer-Encoding", "Expect", NULL};

static const char *const known_keys[] = {"url", "headers", "timeout_ms", "max_in_flight", NULL};

/* ---- validation ---- */

static int header_name_ok(const char *s)
{
    if (!*s || strlen(s) > 256)
        return 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= 32 || c >= 127 || strchr("()<>@,;:\\\"/[]?={}", c))
            return 0;
    }
    return 1;
}

/* Tabs and printable bytes (UTF-8 included); no CR/LF that would smuggle
 * another header in. */
static int header_value_ok(const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c < 32 && c != '\t') || c == 127)
            return 0;
    }
    return 1;
}

static int wh_validate(json_t *config, dp_err *e)
{
    const char *key;
    json_t *v;
    int rc;

    rc = sc_check_keys(config, known_keys, "a webhook", e);
    if (rc)
        return rc;
    rc = sc_url_field(config, "url", 1, sc_web_schemes, SC_URL_8BIT,
                      "config.url must be an http:// or https:// URL", e);
    if (rc)
        return rc;

    v = json_object_get(config, "headers");
    if (v) {
        if (!json_is_object(v))
            return dp_err_set(e, DP_EINVAL, "config.headers must be an object of strings");
        if (json_object_size(v) > HEADERS_MAX)
            return dp_err_set(e, DP_EINVAL, "config.headers holds more than %d headers",
                              HEADERS_MAX);
        json_t *hv;
        json_object_foreach(v, key, hv)
        {
            if (!header_name_ok(key))
                return dp_err_set(e, DP_EINVAL, "config.headers: \"%.64s\" is not a header name",
                                  key);
            for (size_t i = 0; reserved_headers[i]; i++)
                if (strcasecmp(key, reserved_headers[i]) == 0)
                    return dp_err_set(e, DP_EINVAL, "config.headers.%s is set by disparo", key);
            if (!json_is_string(hv))
                return dp_err_set(e, DP_EINVAL, "config.headers.%s must be a string", key);
            if (json_string_length(hv) > HEADER_VALUE_MAX ||
                strlen(json_string_value(hv)) != json_string_length(hv) ||
                !header_value_ok(json_string_value(hv)))
                return dp_err_set(e, DP_EINVAL,
                                  "config.headers.%s must be at most %d bytes with no control "
                                  "characters",
                                  key, HEADER_VALUE_MAX);
        }
    } else {
        rc = sc_set_default(config, "headers", json_object(), e);
        if (rc)
            return rc;
    }

    rc = sc_int_field(config, "timeout_ms", 1, TIMEOUT_MAX, TIMEOUT_DEFAULT, e);
    if (rc)
        return rc;
    return sc_int_field(config, "max_in_flight", 1, IN_FLIGHT_MAX, IN_FLIGHT_DEFAULT, e);
}

/* ---- lifecycle ---- */

/* Cancels every POST in flight (their done callbacks never run) and frees s. */
static void wh_destroy(sender *s)
{
    if (!s)
        return;
    while (s->head) {
        struct wreq *w = SC_OWNER(s->head, struct wreq, node);
        sc_list_unlink(&s->head, &w->node);
        httpc_cancel(s->env.http, w->hd);
        free(w);
    }
    for (size_t i = 0; i < s->n_hdr; i++)
        free(s->hdr_lines[i]);
    free(s->hdr_lines);
    free(s->url);
    free(s);
}

/* A new "Name: value" line; the caller frees it. NULL when out of memory. */
static char *header_line(const char *name, const char *value)
{
    /* curl drops "Name:" (an empty value) from the request; "Name;" sends it empty. */
    if (*value)
        return sc_strdupf("%s: %s", name, value);
    return sc_strdupf("%s;", name);
}

/* config is borrowed and assumed validated; *out belongs to the caller. */
static int wh_create(const struct sender_env *env, int64_t id, const json_t *config, sender **out,
                     dp_err *e)
{
    int rc = DP_ENOMEM;
    sender *s = NULL;

    const json_t *url = json_object_get(config, "url");
    if (!env || !env->http || !out || !json_is_string(url)) {
        rc = dp_err_set(e, DP_EINVAL, "webhook sender needs an HTTP client and config.url");
        goto out;
    }
    s = calloc(1, sizeof *s);
    if (!s)
        goto out;
    s->env = *env;
    s->id = id;
    s->url = strdup(json_string_value(url));
    if (!s->url)
        goto out;
    s->timeout_ms = (long)sc_jint(config, "timeout_ms", TIMEOUT_DEFAULT);
    s->max_in_flight = (int)sc_jint(config, "max_in_flight", IN_FLIGHT_DEFAULT);

    const json_t *hdrs = json_object_get(config, "headers");
    size_t n = json_is_object(hdrs) ? json_object_size(hdrs) : 0;
    if (n > 0) {
        s->hdr_lines = calloc(n, sizeof *s->hdr_lines);
        if (!s->hdr_lines)
            goto out;
        const char *key;
        json_t *hv;
        json_object_foreach((json_t *)hdrs, key, hv)
        {
            if (!json_is_string(hv))
                continue;
            s->hdr_lines[s->n_hdr] = header_line(key, json_string_value(hv));
            if (!s->hdr_lines[s->n_hdr])
                goto out;
            s->n_hdr++;
        }
    }
    *out = s;
    s = NULL;
    rc = DP_OK;
out:
    if (rc == DP_ENOMEM)
        dp_err_set(e, rc, "out of memory creating the webhook sender");
    wh_destroy(s);
    return rc;
}

static int wh_max_in_flight(const sender *s)
{
    return s->max_in_flight;
}

/* ---- the reply ---- */

/* The reply's "id" (string or number), if the body is a JSON object with one. */
static void reply_id(char *dst, size_t size, const char *body, size_t len)
{
    dst[0] = '\0';
    json_t *root = json_loadb(body, len, 0, NULL);
    const json_t *id = json_object_get(root, "id"); /* NULL-safe */
    if (json_is_string(id))
        sc_copy_utf8(dst, size - 1, json_string_value(id), json_string_length(id));
    else if (json_is_integer(id))
        snprintf(dst, size, "%" JSON_INTEGER_FORMAT, json_integer_value(id));
    else if (json_is_real(id))
        snprintf(dst, size, "%.17g", json_real_value(id));
    json_decref(root);
}

/* Every transport failure is safe to retry: the Idempotency-Key dedups. A
 * connection that broke on either side still counts as a connect error. */
static const int lost_as_connect[] = {CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_GOT_NOTHING,
                                      CURLE_PARTIAL_FILE, 0};
static const struct sc_net_policy net_policy = {
    .connect = lost_as_connect,
    .after_send = SEND_TRANSIENT,
    .other = SEND_TRANSIENT,
};

static void classify(const struct httpc_resp *resp, struct send_result *r)
{
    memset(r, 0, sizeof *r);
    if (!sc_have_status(resp)) {
        sc_net_failure(resp, &net_policy, r);
        return;
    }
    long st = resp->status;
    if (st >= 200 && st < 300) {
        r->outcome = SEND_OK;
        if (resp->curl_code == CURLE_OK)
            reply_id(r->provider_id, sizeof r->provider_id, resp->body, resp->body_len);
        return;
    }
    snprintf(r->code, sizeof r->code, "http_%ld", st);
    sc_copy_detail(r->detail, sizeof r->detail, resp->body, resp->body_len);
    if (st == 401 || st == 403) {
        r->outcome = SEND_PERMANENT; /* the endpoint refuses the account, not the recipient */
        r->sender_fault = 1;
    } else {
        sc_status_result(st, resp, r);
    }
}

static void on_http_done(void *ud, const struct httpc_resp *resp)
{
    struct wreq *w = ud;
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

/* Builds the body and header list (temporaries; httpc copies them) and starts
 * the POST. On success a wreq is owned by s until on_http_done or destroy. */
static int wh_send(sender *s, const struct sender_msg *m, sender_done_fn done, void *ud)
{
    int rc = DP_EINVAL;
    json_t *obj = NULL;
    char *body = NULL;
    const char **hdrs = NULL;
    struct wreq *w = NULL;
    char idem[sizeof "Idempotency-Key: " + IDEM_KEY_MAX];

    if (!s || !m || !m->to || !m->text || !m->idempotency_key || !done)
        goto out;
    if (!sc_printable_ok(m->idempotency_key, strlen(m->idempotency_key), IDEM_KEY_MAX, 0))
        goto out; /* it goes into a header line verbatim */
    obj = json_pack("{s:I,s:I,s:s,s:s,s:s}", "message_id", (json_int_t)m->message_id, "campaign_id",
                    (json_int_t)m->campaign_id, "to", m->to, "text", m->text, "idempotency_key",
                    m->idempotency_key);
    if (!obj)
        goto out; /* invalid UTF-8 in to/text, or no memory */
    rc = DP_ENOMEM;
    body = json_dumps(obj, JSON_COMPACT);
    if (!body)
        goto out;
    hdrs = calloc(s->n_hdr + 3, sizeof *hdrs);
    w = calloc(1, sizeof *w);
    if (!hdrs || !w)
        goto out;
    snprintf(idem, sizeof idem, "Idempotency-Key: %s", m->idempotency_key);
    size_t k = 0;
    hdrs[k++] = "Content-Type: application/json";
    hdrs[k++] = idem;
    for (size_t i = 0; i < s->n_hdr; i++)
        hdrs[k++] = s->hdr_lines[i];
    hdrs[k] = NULL;

    struct httpc_req req = {
        .method = "POST",
        .url = s->url,
        .headers = hdrs,
        .body = body,
        .body_len = strlen(body),
        .timeout_ms = s->timeout_ms,
        .proxy = NULL,
        .max_response = REPLY_MAX,
    };
    w->s = s;
    w->done = done;
    w->ud = ud;
    rc = httpc_do(s->env.http, &req, on_http_done, w, &w->hd);
    if (rc != DP_OK)
        goto out;
    sc_list_push(&s->head, &w->node);
    w = NULL;
out:
    free(w);
    free(hdrs);
    free(body);
    json_decref(obj);
    return rc;
}

static const char *const secrets[] = {"headers", NULL};

const struct sender_vtab webhook_sender = {
    .provider = "webhook",
    .validate = wh_validate,
    .secret_fields = secrets,
    .create = wh_create,
    .destroy = wh_destroy,
    .send = wh_send,
    .max_in_flight = wh_max_in_flight,
    .idempotent = 1, /* the Idempotency-Key header lets the receiver drop a repeat */
};
