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

#include "senders/sender.h"
#include "util/err.h"
#include "util/httpc.h"

#define URL_MAX 2048
#define HEADERS_MAX 64
#define HEADER_VALUE_MAX 8192
#define IDEM_KEY_MAX 255
#define DETAIL_BODY_MAX 200
/* The reply only matters for its "id": a gateway answering more is broken. */
#define REPLY_MAX ((size_t)64 * 1024)

#define TIMEOUT_DEFAULT 10000
#define TIMEOUT_MAX 600000
#define IN_FLIGHT_DEFAULT 16
#define IN_FLIGHT_MAX 1024

/* One POST in flight. Owned by the sender's list until httpc reports back. */
struct wreq {
    sender *s;
    httpc_handle *hd;
    sender_done_fn done;
    void *ud;
    struct wreq *prev, *next;
};

struct sender {
    struct sender_env env; /* copied; the pointers inside are borrowed */
    int64_t id;
    char *url;        /* owned */
    char **hdr_lines; /* owned "Name: value" lines */
    size_t n_hdr;
    long timeout_ms;
    int max_in_flight;
    struct wreq *head;
};

/* Headers disparo sets itself; letting config repeat them would send two. */
static const char *const reserved_headers[] = {
    "Content-Type", "Content-Length", "Idempotency-Key", "Transfer-Encoding", "Expect", NULL};

static const char *const known_keys[] = {"url", "headers", "timeout_ms", "max_in_flight", NULL};

/* ---- validation ---- */

static int url_ok(const char *u)
{
    size_t skip;
    if (strncasecmp(u, "http://", 7) == 0)
        skip = 7;
    else if (strncasecmp(u, "https://", 8) == 0)
        skip = 8;
    else
        return 0;
    if (strlen(u) > URL_MAX || u[skip] == '\0' || u[skip] == '/')
        return 0;
    for (const unsigned char *p = (const unsigned char *)u; *p; p++)
        if (*p <= 32 || *p == 127)
            return 0;
    return 1;
}

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

static int int_field(json_t *config, const char *key, json_int_t lo, json_int_t hi, json_int_t def,
                     dp_err *e)
{
    json_t *v = json_object_get(config, key);
    if (!v) {
        if (json_object_set_new(config, key, json_integer(def)) != 0)
            return dp_err_set(e, DP_ENOMEM, "out of memory");
        return DP_OK;
    }
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return dp_err_set(e, DP_EINVAL,
                          "config.%s must be an integer between %" JSON_INTEGER_FORMAT
                          " and %" JSON_INTEGER_FORMAT,
                          key, lo, hi);
    return DP_OK;
}

static int wh_validate(json_t *config, dp_err *e)
{
    const char *key;
    json_t *v;
    int rc;

    if (!json_is_object(config))
        return dp_err_set(e, DP_EINVAL, "config must be an object");
    json_object_foreach(config, key, v)
    {
        size_t i = 0;
        while (known_keys[i] && strcmp(known_keys[i], key) != 0)
            i++;
        if (!known_keys[i])
            return dp_err_set(e, DP_EINVAL, "config.%s is not a webhook setting", key);
    }

    v = json_object_get(config, "url");
    if (!v)
        return dp_err_set(e, DP_EINVAL, "config.url is required");
    if (!json_is_string(v) || !url_ok(json_string_value(v)))
        return dp_err_set(e, DP_EINVAL, "config.url must be an http:// or https:// URL");

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
        json_t *empty = json_object();
        if (!empty || json_object_set_new(config, "headers", empty) != 0)
            return dp_err_set(e, DP_ENOMEM, "out of memory");
    }

    rc = int_field(config, "timeout_ms", 1, TIMEOUT_MAX, TIMEOUT_DEFAULT, e);
    if (rc)
        return rc;
    return int_field(config, "max_in_flight", 1, IN_FLIGHT_MAX, IN_FLIGHT_DEFAULT, e);
}

/* ---- lifecycle ---- */

static void unlink_wreq(sender *s, struct wreq *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        s->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    w->prev = w->next = NULL;
}

/* Cancels every POST in flight (their done callbacks never run) and frees s. */
static void wh_destroy(sender *s)
{
    if (!s)
        return;
    while (s->head) {
        struct wreq *w = s->head;
        unlink_wreq(s, w);
        httpc_cancel(s->env.http, w->hd);
        free(w);
    }
    for (size_t i = 0; i < s->n_hdr; i++)
        free(s->hdr_lines[i]);
    free(s->hdr_lines);
    free(s->url);
    free(s);
}

static char *header_line(const char *name, const char *value)
{
    size_t n = strlen(name) + strlen(value) + 3;
    char *l = malloc(n);
    if (!l)
        return NULL;
    /* curl drops "Name:" (an empty value) from the request; "Name;" sends it empty. */
    if (*value)
        snprintf(l, n, "%s: %s", name, value);
    else
        snprintf(l, n, "%s;", name);
    return l;
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
    const json_t *v = json_object_get(config, "timeout_ms");
    s->timeout_ms = json_is_integer(v) ? (long)json_integer_value(v) : TIMEOUT_DEFAULT;
    v = json_object_get(config, "max_in_flight");
    s->max_in_flight = json_is_integer(v) ? (int)json_integer_value(v) : IN_FLIGHT_DEFAULT;

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

/* The length of the UTF-8 sequence lead byte c starts; 0 if c cannot lead. */
static size_t utf8_len(unsigned char c)
{
    if (c < 0x80)
        return 1;
    if ((c & 0xe0) == 0xc0)
        return 2;
    if ((c & 0xf0) == 0xe0)
        return 3;
    if ((c & 0xf8) == 0xf0)
        return 4;
    return 0;
}

/* Copies at most max bytes of src into dst (size > max) keeping only whole,
 * valid UTF-8 sequences: the detail ends up in JSON, which must not carry
 * broken UTF-8. Control characters become spaces, invalid bytes '?'. */
static void copy_utf8(char *dst, size_t max, const char *src, size_t len)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t i = 0, o = 0;
    while (i < len && o < max) {
        unsigned char c = s[i];
        size_t n = utf8_len(c);
        int valid = n > 0 && i + n <= len && !(n == 2 && c < 0xc2) && !(n == 4 && c > 0xf4);
        for (size_t k = 1; valid && k < n; k++)
            if ((s[i + k] & 0xc0) != 0x80)
                valid = 0;
        /* overlongs and surrogates */
        if (valid && n == 3 && ((c == 0xe0 && s[i + 1] < 0xa0) || (c == 0xed && s[i + 1] >= 0xa0)))
            valid = 0;
        if (valid && n == 4 && ((c == 0xf0 && s[i + 1] < 0x90) || (c == 0xf4 && s[i + 1] >= 0x90)))
            valid = 0;
        if (!valid) {
            dst[o++] = '?';
            i++;
            continue;
        }
        if (o + n > max)
            break;
        if (n == 1 && (c < 32 || c == 127))
            dst[o++] = ' ';
        else
            for (size_t k = 0; k < n; k++)
                dst[o++] = (char)s[i + k];
        i += n;
    }
    dst[o] = '\0';
}

/* The reply's "id" (string or number), if the body is a JSON object with one. */
static void reply_id(char *dst, size_t size, const char *body, size_t len)
{
    dst[0] = '\0';
    json_t *root = json_loadb(body, len, 0, NULL);
    const json_t *id = json_object_get(root, "id"); /* NULL-safe */
    if (json_is_string(id))
        copy_utf8(dst, size - 1, json_string_value(id), json_string_length(id));
    else if (json_is_integer(id))
        snprintf(dst, size, "%" JSON_INTEGER_FORMAT, json_integer_value(id));
    else if (json_is_real(id))
        snprintf(dst, size, "%.17g", json_real_value(id));
    json_decref(root);
}

static int is_connect_error(int cc)
{
    switch (cc) {
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
        return 1;
    default:
        return 0;
    }
}

static void classify(const struct httpc_resp *resp, struct send_result *r)
{
    memset(r, 0, sizeof *r);
    /* An over-long reply still carries its status: judge by it. */
    int have_status = resp->status > 0 &&
                      (resp->curl_code == CURLE_OK || resp->curl_code == CURLE_FILESIZE_EXCEEDED);
    if (!have_status) {
        r->outcome = SEND_TRANSIENT; /* safe to retry: the Idempotency-Key dedups */
        r->sender_fault = 1;
        if (resp->curl_code == CURLE_OPERATION_TIMEDOUT)
            snprintf(r->code, sizeof r->code, "timeout");
        else if (is_connect_error(resp->curl_code))
            snprintf(r->code, sizeof r->code, "connect_error");
        else
            snprintf(r->code, sizeof r->code, "network_error");
        copy_utf8(r->detail, sizeof r->detail - 1, resp->error, strlen(resp->error));
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
    copy_utf8(r->detail, DETAIL_BODY_MAX, resp->body, resp->body_len);
    if (st == 429 || (st >= 500 && st < 600)) {
        r->outcome = SEND_TRANSIENT;
        r->sender_fault = 1;
        r->retry_after_ms = resp->retry_after_ms;
    } else if (st == 401 || st == 403) {
        r->outcome = SEND_PERMANENT; /* the endpoint refuses the account, not the recipient */
        r->sender_fault = 1;
    } else if (st >= 400 && st < 500) {
        r->outcome = SEND_PERMANENT;
    } else {
        /* 1xx/3xx as a final answer: redirects are not followed, so the URL is wrong. */
        r->outcome = SEND_PERMANENT;
        r->sender_fault = 1;
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
    unlink_wreq(w->s, w);
    free(w);
    done(dud, &r);
}

/* ---- send ---- */

static int key_ok(const char *k)
{
    size_t n = 0;
    for (; k[n]; n++)
        if ((unsigned char)k[n] <= 32 || (unsigned char)k[n] >= 127)
            return 0;
    return n >= 1 && n <= IDEM_KEY_MAX;
}

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
    if (!key_ok(m->idempotency_key))
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
    w->next = s->head;
    if (s->head)
        s->head->prev = w;
    s->head = w;
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
