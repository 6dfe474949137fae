/* What the gateway senders share: config checks, UTF-8-safe detail copies,
 * how a libcurl failure or a plain HTTP status becomes a send_result, webhook
 * secrets, and the list of requests in flight. Each sender keeps what is its
 * gateway's own (request and error formats, receipts, webhooks); everything
 * here behaves the same for every caller, and differences between gateways
 * come in as parameters. Nothing here allocates unless its comment says so. */
#ifndef DP_SENDERS_COMMON_H
#define DP_SENDERS_COMMON_H

#include <jansson.h>
#include <stddef.h>

#include "senders/sender.h"
#include "util/err.h"

struct dp_buf;
struct httpc_resp;

#define SC_URL_MAX 2048   /* bytes of a configured URL */
#define SC_DETAIL_MAX 200 /* bytes of a gateway's own words kept in a detail */
/* A webhook secret that rides in the URL path: the HTTP server keeps 255
 * bytes of path after the sender id. */
#define SC_SECRET_MIN 16
#define SC_SECRET_MAX 128
#define SC_SECRET_GEN_LEN 32 /* hex digits of a generated one: 128 bits */

/* ---- config ---- */

/* DP_OK when config is an object and every key in it is listed in known
 * (NULL-terminated). Else DP_EINVAL with e saying "config must be an object"
 * or "config.K is not <what> setting"; what is "a webhook", "an evolution"... */
int sc_check_keys(json_t *config, const char *const *known, const char *what, dp_err *e);

/* For sc_url_ok and sc_url_field. */
extern const char *const sc_web_schemes[];   /* http://, https:// */
extern const char *const sc_proxy_schemes[]; /* those, socks5:// and socks5h:// */

#define SC_URL_8BIT 1     /* bytes >= 128 are allowed (a URL typed with accents) */
#define SC_URL_NO_QUERY 2 /* no '?' or '#': paths are appended to the URL */

/* 1 when u is one of schemes (case-insensitive) followed by a host: at most
 * SC_URL_MAX bytes, no space or control byte, no byte >= 128 unless
 * SC_URL_8BIT, no query or fragment with SC_URL_NO_QUERY. */
int sc_url_ok(const char *u, const char *const *schemes, int flags);

/* Checks config[key] with sc_url_ok(schemes, flags). Absent is fine unless
 * required ("config.K is required"); a value that fails gets DP_EINVAL with
 * msg as the whole detail. */
int sc_url_field(const json_t *config, const char *key, int required, const char *const *schemes,
                 int flags, const char *msg, dp_err *e);

/* DP_EINVAL ("config.K must be an integer between LO and HI") when config[key]
 * is present and is not such an integer; DP_OK otherwise, config unchanged. */
int sc_int_check(const json_t *config, const char *key, json_int_t lo, json_int_t hi, dp_err *e);

/* sc_int_check, with def stored in place of an absent key (DP_ENOMEM, "out of
 * memory", when that fails). */
int sc_int_field(json_t *config, const char *key, json_int_t lo, json_int_t hi, json_int_t def,
                 dp_err *e);

/* Stores v under key unless key is present. v is a new reference and is
 * always consumed (dropped when the key is there); NULL v, as from a failed
 * json_string(), is DP_ENOMEM ("out of memory") when the key is missing. */
int sc_set_default(json_t *config, const char *key, json_t *v, dp_err *e);

/* Stores a new webhook secret (SC_SECRET_GEN_LEN lowercase hex digits from
 * the OpenSSL CSPRNG) under key unless one is there. DP_EINTERNAL ("cannot
 * generate config.K") or DP_ENOMEM on failure. */
int sc_default_secret(json_t *config, const char *key, dp_err *e);

/* ---- text ---- */

/* 1 when s is 1 to max decimal digits. */
int sc_digits_ok(const char *s, size_t max);

/* 1 when s is len bytes with no NUL among them, 1 to max of them, all
 * printable ASCII, spaces only when space_ok: what may go into a header line
 * verbatim (tokens, idempotency keys). */
int sc_printable_ok(const char *s, size_t len, size_t max, int space_ok);

/* 1 when s is len bytes with no NUL among them, SC_SECRET_MIN to
 * SC_SECRET_MAX of A-Z a-z 0-9 '-' '_': one segment of a URL path. */
int sc_path_secret_ok(const char *s, size_t len);

/* Copies at most max bytes of src (len bytes, not necessarily terminated)
 * into dst, which holds max + 1, keeping only whole valid UTF-8 sequences:
 * details end up in JSON and the dashboard, which must not carry broken
 * UTF-8. Control characters become spaces, bytes that cannot be decoded '?'. */
void sc_copy_utf8(char *dst, size_t max, const char *src, size_t len);

/* sc_copy_utf8 of at most SC_DETAIL_MAX bytes, fewer when dst (size bytes)
 * cannot hold them. */
void sc_copy_detail(char *dst, size_t size, const char *src, size_t len);

/* A new string from printf-style arguments; the caller frees it. NULL when
 * out of memory. */
char *sc_strdupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The length of url without its trailing '/'s, so a path can follow. */
size_t sc_trim_len(const char *url);

/* obj[key] when it is a string, else NULL; obj may be NULL. Borrowed from obj. */
const char *sc_jstr(const json_t *obj, const char *key);

/* obj[key] when it is an integer, else def; obj may be NULL. */
json_int_t sc_jint(const json_t *obj, const char *key, json_int_t def);

/* A new copy of config[key] when it is a string (the caller frees it), else
 * NULL; *oom is set to 1 when the copy fails, left alone otherwise. */
char *sc_dup_field(const json_t *config, const char *key, int *oom);

/* kind when it is "image", "video", "audio" or "document" (a static string
 * equal to it), else NULL; kind may be NULL. */
const char *sc_media_kind(const char *kind);

/* ---- secrets ---- */

/* 1 when the n bytes at given equal the string secret. Constant time for
 * equal lengths; the length of a secret is not worth hiding. */
int sc_secret_equal(const char *given, size_t n, const char *secret);

/* The webhook secret a gateway's callback carries, for the gateways that
 * cannot sign theirs: the first segment of req->path_secret (some gateways
 * append "/{event}" and the like to the URL), else a relay's non-empty
 * X-Disparo-Secret header. *len gets its length; NULL when there is none.
 * Borrowed from req. */
const char *sc_given_secret(const struct sender_webhook_req *req, size_t *len);

/* Wipes a string that holds a credential, so it does not linger in freed
 * memory, and frees it. Accepts NULL. */
void sc_free_secret(char *p);

/* ---- answers ---- */

/* Whether resp carries an HTTP status to judge by: a complete answer, or an
 * over-long one, whose status still says what happened. */
int sc_have_status(const struct httpc_resp *resp);

/* How a sender reads a request that got no HTTP status (libcurl failed). A
 * connect error proves no byte reached the gateway, so it is always
 * SEND_TRANSIENT; what a timeout or a broken connection means depends on
 * whether the gateway drops a repeated request. */
struct sc_net_policy {
    /* libcurl codes that also prove the request never left, beyond name
     * resolution, TCP connect and the TLS handshake; 0-terminated, or NULL. */
    const int *connect;
    /* codes for a connection lost once the request may have gone out, coded
     * lost_code ("connection_lost"); 0-terminated, or NULL for none. */
    const int *lost;
    const char *lost_code;
    enum send_outcome after_send; /* a timeout or a lost connection */
    enum send_outcome other;      /* any other failure ("network_error") */
};

/* Fills r for a request that got no HTTP status: outcome and code ("timeout",
 * "connect_error", p->lost_code or "network_error") as p says, sender_fault,
 * and libcurl's words as the detail. The other fields are left as they are. */
void sc_net_failure(const struct httpc_resp *resp, const struct sc_net_policy *p,
                    struct send_result *r);

/* The usual reading of a final non-2xx status st, for what the gateway's own
 * rules left over: 429 and 5xx are transient and the sender's fault, retried
 * after Retry-After; other 4xx are the message's (permanent); anything else
 * (1xx, 3xx: redirects are not followed) means the URL is wrong: permanent
 * and the sender's fault. Sets outcome, sender_fault and retry_after_ms. */
void sc_status_result(long st, const struct httpc_resp *resp, struct send_result *r);

/* h for a health check that got no answer: state "unreachable", libcurl's
 * words as the detail. The other fields are left as they are. */
void sc_health_unreachable(const struct httpc_resp *resp, struct sender_health *h);

/* ---- webhook replies ---- */

/* Makes text the whole reply body; reply may be NULL. Over the caller's cap
 * or out of memory the body is left empty: the status alone still answers.
 * DP_ENOMEM in that last case, else DP_OK. */
int sc_reply(struct dp_buf *reply, const char *text);

/* ---- requests in flight ---- */

/* Embedded in each request a sender keeps; the sender holds the head, so
 * destroy can cancel whatever is still out. */
struct sc_node {
    struct sc_node *prev, *next;
};

/* The request that embeds node as its member. */
#define SC_OWNER(node, type, member) ((type *)(void *)((char *)(node)-offsetof(type, member)))

/* Puts n first on the list that starts at *head. */
void sc_list_push(struct sc_node **head, struct sc_node *n);
/* Takes n, which must be on it, off the list that starts at *head. */
void sc_list_unlink(struct sc_node **head, struct sc_node *n);

#endif
