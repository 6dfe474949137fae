/* Helpers shared by the gateway senders (see common.h): one copy of each
 * config check, of the UTF-8-safe detail copy, and of the reading of libcurl
 * failures and plain HTTP statuses, with each gateway's differences passed in. */
#include "senders/common.h"

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/buf.h"
#include "util/crypto.h"
#include "util/httpc.h"

const char *const sc_web_schemes[] = {"http://", "https://", NULL};
/* socks5h:// too: the same proxy, resolving the gateway's name itself. */
const char *const sc_proxy_schemes[] = {"http://", "https://", "socks5://", "socks5h://", NULL};

/* ---- config ---- */

int sc_check_keys(json_t *config, const char *const *known, const char *what, dp_err *e)
{
    const char *key;
    json_t *v;

    if (!json_is_object(config))
        return dp_err_set(e, DP_EINVAL, "config must be an object");
    json_object_foreach(config, key, v)
    {
        size_t i = 0;
        while (known[i] && strcmp(known[i], key) != 0)
            i++;
        if (!known[i])
            return dp_err_set(e, DP_EINVAL, "config.%s is not %s setting", key, what);
    }
    return DP_OK;
}

int sc_url_ok(const char *u, const char *const *schemes, int flags)
{
    size_t skip = 0;
    for (size_t i = 0; schemes[i] && !skip; i++) {
        size_t n = strlen(schemes[i]);
        if (strncasecmp(u, schemes[i], n) == 0)
            skip = n;
    }
    if (!skip || strlen(u) > SC_URL_MAX || u[skip] == '\0' || u[skip] == '/')
        return 0;
    for (const unsigned char *p = (const unsigned char *)u; *p; p++) {
        if (*p <= 32 || *p == 127 || (*p > 127 && !(flags & SC_URL_8BIT)))
            return 0;
        if ((flags & SC_URL_NO_QUERY) && (*p == '?' || *p == '#'))
            return 0;
    }
    return 1;
}

int sc_url_field(const json_t *config, const char *key, int required, const char *const *schemes,
                 int flags, const char *msg, dp_err *e)
{
    const json_t *v = json_object_get(config, key);
    if (!v)
        return required ? dp_err_set(e, DP_EINVAL, "config.%s is required", key) : DP_OK;
    if (!json_is_string(v) || !sc_url_ok(json_string_value(v), schemes, flags))
        return dp_err_set(e, DP_EINVAL, "%s", msg);
    return DP_OK;
}

int sc_int_check(const json_t *config, const char *key, json_int_t lo, json_int_t hi, dp_err *e)
{
    const json_t *v = json_object_get(config, key);
    if (v && (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi))
        return dp_err_set(e, DP_EINVAL,
                          "config.%s must be an integer between %" JSON_INTEGER_FORMAT
                          " and %" JSON_INTEGER_FORMAT,
                          key, lo, hi);
    return DP_OK;
}

int sc_int_field(json_t *config, const char *key, json_int_t lo, json_int_t hi, json_int_t def,
                 dp_err *e)
{
    if (!json_object_get(config, key))
        return sc_set_default(config, key, json_integer(def), e);
    return sc_int_check(config, key, lo, hi, e);
}

int sc_set_default(json_t *config, const char *key, json_t *v, dp_err *e)
{
    if (json_object_get(config, key)) {
        json_decref(v);
        return DP_OK;
    }
    if (!v || json_object_set_new(config, key, v) != 0)
        return dp_err_set(e, DP_ENOMEM, "out of memory");
    return DP_OK;
}

int sc_default_secret(json_t *config, const char *key, dp_err *e)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[SC_SECRET_GEN_LEN / 2];
    char secret[SC_SECRET_GEN_LEN + 1];

    if (json_object_get(config, key))
        return DP_OK;
    if (RAND_bytes(raw, sizeof raw) != 1)
        return dp_err_set(e, DP_EINTERNAL, "cannot generate config.%s", key);
    for (size_t i = 0; i < sizeof raw; i++) {
        secret[2 * i] = hex[raw[i] >> 4];
        secret[2 * i + 1] = hex[raw[i] & 15];
    }
    secret[SC_SECRET_GEN_LEN] = '\0';
    return sc_set_default(config, key, json_string(secret), e);
}

/* ---- text ---- */

int sc_digits_ok(const char *s, size_t max)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (s[n] < '0' || s[n] > '9')
            return 0;
    return n >= 1 && n <= max;
}

int sc_printable_ok(const char *s, size_t len, size_t max, int space_ok)
{
    if (len == 0 || len > max || strlen(s) != len)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 32 || c >= 127 || (c == ' ' && !space_ok))
            return 0;
    }
    return 1;
}

int sc_path_secret_ok(const char *s, size_t len)
{
    if (len < SC_SECRET_MIN || len > SC_SECRET_MAX || strlen(s) != len)
        return 0;
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

/* The length of the UTF-8 sequence at s[0..len), 0 if it is not a valid one
 * (cut short, a bad lead or continuation byte, an overlong form, a surrogate). */
static size_t utf8_seq(const unsigned char *s, size_t len)
{
    unsigned char c = s[0];
    size_t n;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4;
    else
        return 0;
    if (n > len)
        return 0;
    for (size_t k = 1; k < n; k++)
        if ((s[k] & 0xc0) != 0x80)
            return 0;
    if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] >= 0xa0) || (c == 0xf0 && s[1] < 0x90) ||
        (c == 0xf4 && s[1] >= 0x90))
        return 0;
    return n;
}

void sc_copy_utf8(char *dst, size_t max, const char *src, size_t len)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t i = 0, o = 0;
    while (i < len && o < max) {
        size_t n = utf8_seq(s + i, len - i);
        if (n == 0) {
            dst[o++] = '?';
            i++;
            continue;
        }
        if (o + n > max)
            break;
        if (n == 1 && (s[i] < 32 || s[i] == 127)) {
            dst[o++] = ' ';
        } else {
            memcpy(dst + o, s + i, n);
            o += n;
        }
        i += n;
    }
    dst[o] = '\0';
}

void sc_copy_detail(char *dst, size_t size, const char *src, size_t len)
{
    sc_copy_utf8(dst, size - 1 < SC_DETAIL_MAX ? size - 1 : SC_DETAIL_MAX, src, len);
}

char *sc_strdupf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *p = malloc((size_t)n + 1);
    if (!p)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

size_t sc_trim_len(const char *url)
{
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        n--;
    return n;
}

const char *sc_jstr(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key); /* NULL-safe */
    return json_is_string(v) ? json_string_value(v) : NULL;
}

json_int_t sc_jint(const json_t *obj, const char *key, json_int_t def)
{
    const json_t *v = json_object_get(obj, key); /* NULL-safe */
    return json_is_integer(v) ? json_integer_value(v) : def;
}

char *sc_dup_field(const json_t *config, const char *key, int *oom)
{
    const char *v = sc_jstr(config, key);
    if (!v)
        return NULL;
    char *p = strdup(v);
    if (!p)
        *oom = 1;
    return p;
}

const char *sc_media_kind(const char *kind)
{
    static const char *const kinds[] = {"image", "video", "audio", "document", NULL};
    for (size_t i = 0; kind && kinds[i]; i++)
        if (strcmp(kind, kinds[i]) == 0)
            return kinds[i];
    return NULL;
}

/* ---- secrets ---- */

int sc_secret_equal(const char *given, size_t n, const char *secret)
{
    size_t len = strlen(secret);
    return n == len && crypto_equal(given, secret, len);
}

const char *sc_given_secret(const struct sender_webhook_req *req, size_t *len)
{
    const char *p = req->path_secret;
    if (p && *p) {
        *len = strcspn(p, "/");
        return p;
    }
    const char *h = req->header ? req->header(req->ctx, "X-Disparo-Secret") : NULL;
    if (!h || !*h)
        return NULL;
    *len = strlen(h);
    return h;
}

void sc_free_secret(char *p)
{
    if (!p)
        return;
    OPENSSL_cleanse(p, strlen(p));
    free(p);
}

/* ---- answers ---- */

int sc_have_status(const struct httpc_resp *resp)
{
    return resp->status > 0 &&
           (resp->curl_code == CURLE_OK || resp->curl_code == CURLE_FILESIZE_EXCEEDED);
}

static int listed(const int *codes, int cc)
{
    for (size_t i = 0; codes && codes[i]; i++)
        if (codes[i] == cc)
            return 1;
    return 0;
}

void sc_net_failure(const struct httpc_resp *resp, const struct sc_net_policy *p,
                    struct send_result *r)
{
    /* Failures before the connection could carry a byte of the request. */
    static const int never_connected[] = {
        CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_RESOLVE_HOST,     CURLE_COULDNT_CONNECT,
        CURLE_SSL_CONNECT_ERROR,     CURLE_PEER_FAILED_VERIFICATION, 0,
    };
    int cc = resp->curl_code;
    const char *code;

    r->sender_fault = 1;
    if (listed(never_connected, cc) || listed(p->connect, cc)) {
        r->outcome = SEND_TRANSIENT;
        code = "connect_error";
    } else if (cc == CURLE_OPERATION_TIMEDOUT) {
        r->outcome = p->after_send;
        code = "timeout";
    } else if (listed(p->lost, cc)) {
        r->outcome = p->after_send;
        code = p->lost_code;
    } else {
        r->outcome = p->other;
        code = "network_error";
    }
    snprintf(r->code, sizeof r->code, "%s", code);
    sc_copy_utf8(r->detail, sizeof r->detail - 1, resp->error, strlen(resp->error));
}

void sc_status_result(long st, const struct httpc_resp *resp, struct send_result *r)
{
    if (st == 429 || (st >= 500 && st < 600)) {
        r->outcome = SEND_TRANSIENT;
        r->sender_fault = 1;
        r->retry_after_ms = resp->retry_after_ms;
    } else if (st >= 400 && st < 500) {
        r->outcome = SEND_PERMANENT;
    } else {
        /* 1xx/3xx as a final answer: redirects are not followed, so the URL is wrong. */
        r->outcome = SEND_PERMANENT;
        r->sender_fault = 1;
    }
}

void sc_health_unreachable(const struct httpc_resp *resp, struct sender_health *h)
{
    snprintf(h->state, sizeof h->state, "unreachable");
    sc_copy_utf8(h->detail, sizeof h->detail - 1, resp->error, strlen(resp->error));
}

/* ---- webhook replies ---- */

int sc_reply(struct dp_buf *reply, const char *text)
{
    if (!reply)
        return DP_OK;
    buf_reset(reply);
    int rc = buf_puts(reply, text);
    if (rc != DP_OK)
        buf_reset(reply);
    return rc == DP_ETOOBIG ? DP_OK : rc; /* a tiny cap only shortens our words */
}

/* ---- requests in flight ---- */

void sc_list_push(struct sc_node **head, struct sc_node *n)
{
    n->prev = NULL;
    n->next = *head;
    if (*head)
        (*head)->prev = n;
    *head = n;
}

void sc_list_unlink(struct sc_node **head, struct sc_node *n)
{
    if (n->prev)
        n->prev->next = n->next;
    else
        *head = n->next;
    if (n->next)
        n->next->prev = n->prev;
    n->prev = n->next = NULL;
}
