/* libcurl multi interface on the libevent loop, after curl's hiperfifo/
 * multi-event examples: curl tells us which sockets to watch
 * (CURLMOPT_SOCKETFUNCTION) and when to wake it (CURLMOPT_TIMERFUNCTION); the
 * loop calls curl_multi_socket_action() when either fires, then we collect
 * finished transfers with curl_multi_info_read(). One multi handle = one
 * connection cache, so consecutive requests to a gateway reuse connections.
 *
 * Callbacks into the user run only from check_done(), never from inside a
 * curl callback, so a done callback may start or cancel other requests. */
#include "util/httpc.h"
#include "util/version.h"

#include <curl/curl.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "util/buf.h"
#include "util/err.h"

/* Retry-After values beyond this are clamped: a gateway asking for more than a
 * year is broken, and the clamp keeps the millisecond product far from overflow. */
#define RETRY_AFTER_MAX_S ((int64_t)365 * 24 * 3600)

/* One socket curl asked us to watch. Tracked in a list because curl does not
 * promise a CURL_POLL_REMOVE for every socket when the multi handle is cleaned up. */
struct sockctx {
    httpc *h;
    curl_socket_t fd;
    struct event *ev; /* owned */
    struct sockctx *prev, *next;
};

struct httpc_handle {
    httpc *h;
    CURL *easy;              /* owned */
    struct curl_slist *hdrs; /* owned; must outlive the transfer */
    dp_buf body;             /* response body, capped at max_response */
    size_t max_response;
    int too_large;          /* the write callback hit the cap */
    int oom;                /* the write callback could not allocate */
    int64_t retry_after_ms; /* from the last response's headers */
    httpc_done_fn done;
    void *ud;
    char errbuf[CURL_ERROR_SIZE];
    struct httpc_handle *prev, *next; /* the in-flight list */
};

struct httpc {
    struct event_base *base; /* borrowed */
    CURLM *multi;            /* owned */
    struct event *timer;     /* owned; curl's single timeout */
    struct httpc_handle *reqs;
    size_t n_reqs;
    struct sockctx *socks;
};

/* ---- Retry-After ---- */

int64_t httpc_parse_retry_after(const char *v, int64_t now_s)
{
    char tmp[128];
    if (!v)
        return 0;
    while (*v == ' ' || *v == '\t')
        v++;
    size_t n = strlen(v);
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r' || v[n - 1] == '\n'))
        n--;
    if (n == 0 || n >= sizeof tmp)
        return 0;
    memcpy(tmp, v, n);
    tmp[n] = '\0';

    int64_t secs = 0;
    if (tmp[0] >= '0' && tmp[0] <= '9') {
        for (size_t i = 0; i < n; i++) {
            if (tmp[i] < '0' || tmp[i] > '9')
                return 0; /* "12abc", "1.5": not delta-seconds, and not a date either */
            if (secs < RETRY_AFTER_MAX_S)
                secs = secs * 10 + (tmp[i] - '0');
        }
    } else {
        time_t t = curl_getdate(tmp, NULL);
        if (t == (time_t)-1)
            return 0;
        secs = (int64_t)t - now_s;
        if (secs <= 0)
            return 0;
    }
    if (secs > RETRY_AFTER_MAX_S)
        secs = RETRY_AFTER_MAX_S;
    return secs * 1000;
}

/* ---- request bookkeeping ---- */

static void link_req(httpc *h, struct httpc_handle *hd)
{
    hd->prev = NULL;
    hd->next = h->reqs;
    if (h->reqs)
        h->reqs->prev = hd;
    h->reqs = hd;
    h->n_reqs++;
}

static void unlink_req(httpc *h, struct httpc_handle *hd)
{
    if (hd->prev)
        hd->prev->next = hd->next;
    else
        h->reqs = hd->next;
    if (hd->next)
        hd->next->prev = hd->prev;
    hd->prev = hd->next = NULL;
    h->n_reqs--;
}

/* Frees a handle that is not (or no longer) in the multi handle. Accepts NULL. */
static void free_handle(struct httpc_handle *hd)
{
    if (!hd)
        return;
    if (hd->easy)
        curl_easy_cleanup(hd->easy);
    curl_slist_free_all(hd->hdrs);
    buf_free(&hd->body);
    free(hd);
}

/* ---- curl callbacks: they only record or (re)arm events, never call users ---- */

static size_t on_write(char *p, size_t sz, size_t nmemb, void *ud)
{
    struct httpc_handle *hd = ud;
    size_t len = sz * nmemb;
    int rc = buf_append(&hd->body, p, len);
    if (rc == DP_ETOOBIG) {
        hd->too_large = 1;
        return 0; /* anything but len aborts the transfer */
    }
    if (rc != DP_OK) {
        hd->oom = 1;
        return 0;
    }
    return len;
}

static size_t on_header(char *p, size_t sz, size_t nmemb, void *ud)
{
    struct httpc_handle *hd = ud;
    size_t len = sz * nmemb;
    static const char name[] = "Retry-After:";
    const size_t nl = sizeof name - 1;
    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
        /* A new response starts (after a 1xx or a proxy's CONNECT reply): only
         * the final response's headers count. */
        hd->retry_after_ms = 0;
    } else if (len > nl && strncasecmp(p, name, nl) == 0) {
        char v[128];
        size_t vl = len - nl;
        if (vl >= sizeof v)
            return len; /* no sane Retry-After is that long: ignore it */
        memcpy(v, p + nl, vl);
        v[vl] = '\0';
        hd->retry_after_ms = httpc_parse_retry_after(v, (int64_t)time(NULL));
    }
    return len;
}

static void on_sock_event(evutil_socket_t fd, short what, void *arg);

static void free_sock(httpc *h, struct sockctx *sc)
{
    if (sc->prev)
        sc->prev->next = sc->next;
    else
        h->socks = sc->next;
    if (sc->next)
        sc->next->prev = sc->prev;
    event_free(sc->ev);
    free(sc);
}

static int on_socket(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
    httpc *h = userp;
    struct sockctx *sc = socketp;
    (void)e;
    if (what == CURL_POLL_REMOVE) {
        if (sc) {
            (void)curl_multi_assign(h->multi, s, NULL);
            free_sock(h, sc);
        }
        return 0;
    }
    if (!sc) {
        sc = calloc(1, sizeof *sc);
        if (!sc)
            return -1;
        sc->h = h;
        sc->fd = s;
        sc->ev = event_new(h->base, s, EV_READ, on_sock_event, sc);
        if (!sc->ev) {
            free(sc);
            return -1;
        }
        sc->next = h->socks;
        if (h->socks)
            h->socks->prev = sc;
        h->socks = sc;
        (void)curl_multi_assign(h->multi, s, sc);
    } else {
        event_del(sc->ev);
    }
    short kind = EV_PERSIST;
    if (what & CURL_POLL_IN)
        kind |= EV_READ;
    if (what & CURL_POLL_OUT)
        kind |= EV_WRITE;
    /* The event is not pending after event_del, so it may be re-assigned. */
    if (event_assign(sc->ev, h->base, s, kind, on_sock_event, sc) != 0)
        return -1;
    if (event_add(sc->ev, NULL) != 0)
        return -1;
    return 0;
}

static int on_timer(CURLM *m, long timeout_ms, void *userp)
{
    httpc *h = userp;
    (void)m;
    if (timeout_ms < 0) {
        evtimer_del(h->timer);
        return 0;
    }
    /* Even 0 goes through the loop: curl forbids socket_action from here. */
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    return evtimer_add(h->timer, &tv) == 0 ? 0 : -1;
}

/* ---- completion ---- */

static void finish(httpc *h, struct httpc_handle *hd, CURLcode cc)
{
    struct httpc_resp resp;
    char err[CURL_ERROR_SIZE + 64];
    long status = 0;

    (void)curl_easy_getinfo(hd->easy, CURLINFO_RESPONSE_CODE, &status);
    (void)curl_multi_remove_handle(h->multi, hd->easy);
    unlink_req(h, hd);

    resp.curl_code = (int)cc;
    resp.status = status;
    resp.body = buf_str(&hd->body);
    resp.body_len = hd->body.len;
    resp.retry_after_ms = hd->retry_after_ms;
    err[0] = '\0';
    if (hd->too_large || cc == CURLE_FILESIZE_EXCEEDED) {
        resp.curl_code = CURLE_FILESIZE_EXCEEDED;
        snprintf(err, sizeof err, "response body over %zu bytes", hd->max_response);
    } else if (hd->oom) {
        resp.curl_code = CURLE_OUT_OF_MEMORY;
        snprintf(err, sizeof err, "out of memory reading the response");
    } else if (cc != CURLE_OK) {
        snprintf(err, sizeof err, "%s", hd->errbuf[0] ? hd->errbuf : curl_easy_strerror(cc));
    }
    resp.error = err;

    /* hd is out of every list: the callback may start or cancel other requests. */
    hd->done(hd->ud, &resp);
    free_handle(hd);
}

static void check_done(httpc *h)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(h->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE)
            continue;
        /* m dies with curl_multi_remove_handle: copy what we need first. */
        CURL *easy = m->easy_handle;
        CURLcode cc = m->data.result;
        char *priv = NULL;
        (void)curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
        finish(h, (struct httpc_handle *)(void *)priv, cc);
    }
}

static void on_sock_event(evutil_socket_t fd, short what, void *arg)
{
    struct sockctx *sc = arg;
    httpc *h = sc->h; /* sc may be freed by socket_action below */
    int flags = 0;
    int running;
    if (what & EV_READ)
        flags |= CURL_CSELECT_IN;
    if (what & EV_WRITE)
        flags |= CURL_CSELECT_OUT;
    (void)curl_multi_socket_action(h->multi, fd, flags, &running);
    check_done(h);
}

static void on_timer_event(evutil_socket_t fd, short what, void *arg)
{
    httpc *h = arg;
    int running;
    (void)fd;
    (void)what;
    (void)curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(h);
}

/* ---- public ---- */

httpc *httpc_new(struct event_base *base)
{
    static int global_done;
    httpc *h = NULL;
    int ok = 0;

    if (!global_done) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            goto out;
        global_done = 1;
    }
    h = calloc(1, sizeof *h);
    if (!h)
        goto out;
    h->base = base;
    h->multi = curl_multi_init();
    if (!h->multi)
        goto out;
    h->timer = evtimer_new(base, on_timer_event, h);
    if (!h->timer)
        goto out;
    if (curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, on_socket) != CURLM_OK ||
        curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h) != CURLM_OK ||
        curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, on_timer) != CURLM_OK ||
        curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h) != CURLM_OK)
        goto out;
    ok = 1;
out:
    if (!ok) {
        httpc_free(h);
        h = NULL;
    }
    return h;
}

void httpc_free(httpc *h)
{
    if (!h)
        return;
    while (h->reqs) {
        struct httpc_handle *hd = h->reqs;
        unlink_req(h, hd);
        (void)curl_multi_remove_handle(h->multi, hd->easy);
        free_handle(hd);
    }
    /* Closes cached connections; may still call on_socket/on_timer, so the
     * events they touch stay alive until after it. */
    if (h->multi)
        (void)curl_multi_cleanup(h->multi);
    while (h->socks)
        free_sock(h, h->socks);
    if (h->timer)
        event_free(h->timer);
    free(h);
}

size_t httpc_in_flight(const httpc *h)
{
    return h ? h->n_reqs : 0;
}

void httpc_cancel(httpc *h, httpc_handle *hd)
{
    if (!h || !hd)
        return;
    unlink_req(h, hd);
    /* Also drops a CURLMSG_DONE still queued for it, so done never runs. */
    (void)curl_multi_remove_handle(h->multi, hd->easy);
    free_handle(hd);
}

static int token_ok(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= 32 || c >= 127 || strchr("()<>@,;:\\\"/[]?={}", c))
            return 0;
    }
    return 1;
}

/* A header line must be "Name: value", "Name:" (suppresses one of curl's) or
 * "Name;" (sends it empty), with no CR/LF, which would let a value smuggle in
 * further headers. */
static int header_ok(const char *s)
{
    size_t n = strcspn(s, ":;");
    if (n == 0 || s[n] == '\0' || (s[n] == ';' && s[n + 1] != '\0'))
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 32 || c >= 127)
            return 0;
    }
    return strpbrk(s, "\r\n") == NULL;
}

#define SETOPT(opt, val)                                                                           \
    do {                                                                                           \
        CURLcode c_ = curl_easy_setopt(hd->easy, opt, val);                                        \
        if (c_ != CURLE_OK) {                                                                      \
            rc = c_ == CURLE_OUT_OF_MEMORY ? DP_ENOMEM : DP_EINVAL;                                \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

int httpc_do(httpc *h, const struct httpc_req *r, httpc_done_fn done, void *ud, httpc_handle **out)
{
    int rc = DP_EINVAL;
    struct httpc_handle *hd = NULL;
    int has_expect = 0;

    if (!h || !r || !done || !r->url || !*r->url || strpbrk(r->url, "\r\n "))
        goto out;
    if (r->proxy && !*r->proxy)
        goto out; /* "" would mean "no proxy" to curl: refuse rather than go direct */
    if (r->body_len > 0 && !r->body)
        goto out;
    const char *method = r->method ? r->method : (r->body ? "POST" : "GET");
    if (!token_ok(method))
        goto out;
    if (r->headers) {
        for (size_t i = 0; r->headers[i]; i++) {
            if (!header_ok(r->headers[i]))
                goto out;
            if (strncasecmp(r->headers[i], "Expect:", 7) == 0)
                has_expect = 1;
        }
    }

    rc = DP_ENOMEM;
    hd = calloc(1, sizeof *hd);
    if (!hd)
        goto out;
    hd->h = h;
    hd->done = done;
    hd->ud = ud;
    hd->max_response = r->max_response ? r->max_response : HTTPC_DEFAULT_MAX_RESPONSE;
    buf_init(&hd->body, hd->max_response);
    hd->easy = curl_easy_init();
    if (!hd->easy)
        goto out;

    if (r->headers) {
        for (size_t i = 0; r->headers[i]; i++) {
            struct curl_slist *l = curl_slist_append(hd->hdrs, r->headers[i]);
            if (!l)
                goto out;
            hd->hdrs = l;
        }
    }
    if (!has_expect) {
        /* curl would send "Expect: 100-continue" for large bodies and wait up
         * to a second for servers that never answer it. */
        struct curl_slist *l = curl_slist_append(hd->hdrs, "Expect:");
        if (!l)
            goto out;
        hd->hdrs = l;
    }

    SETOPT(CURLOPT_URL, r->url);
    SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
    SETOPT(CURLOPT_NOSIGNAL, 1L);
    SETOPT(CURLOPT_PRIVATE, (void *)hd);
    SETOPT(CURLOPT_ERRORBUFFER, hd->errbuf);
    SETOPT(CURLOPT_WRITEFUNCTION, on_write);
    SETOPT(CURLOPT_WRITEDATA, (void *)hd);
    SETOPT(CURLOPT_HEADERFUNCTION, on_header);
    SETOPT(CURLOPT_HEADERDATA, (void *)hd);
    SETOPT(CURLOPT_HTTPHEADER, hd->hdrs);
    SETOPT(CURLOPT_TIMEOUT_MS, r->timeout_ms > 0 ? r->timeout_ms : HTTPC_DEFAULT_TIMEOUT_MS);
    /* Refuse early when Content-Length already says it is too big; chunked
     * bodies are caught by on_write. */
    SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)hd->max_response);
    SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
    /* name/version: Meta's spec rejects a User-Agent without a version */
    SETOPT(CURLOPT_USERAGENT, "disparo/" DISPARO_VERSION);
    SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
    if (r->proxy) {
        SETOPT(CURLOPT_PROXY, r->proxy);
        /* An empty no-proxy list overrides a no_proxy environment variable,
         * which would otherwise send matching hosts around the proxy, direct. */
        SETOPT(CURLOPT_NOPROXY, "");
        SETOPT(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
    } else {
        /* "" overrides http_proxy/https_proxy/all_proxy from the environment;
         * "*" is the belt to those braces: no host is ever proxied. */
        SETOPT(CURLOPT_PROXY, "");
        SETOPT(CURLOPT_NOPROXY, "*");
    }

    if (strcmp(method, "GET") == 0 && !r->body) {
        SETOPT(CURLOPT_HTTPGET, 1L);
    } else if (strcmp(method, "HEAD") == 0 && !r->body) {
        SETOPT(CURLOPT_NOBODY, 1L);
    } else {
        /* POSTFIELDS makes curl send the body; CUSTOMREQUEST renames the verb. */
        SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
        SETOPT(CURLOPT_COPYPOSTFIELDS, r->body ? r->body : "");
        if (strcmp(method, "POST") != 0)
            SETOPT(CURLOPT_CUSTOMREQUEST, method);
    }

    if (curl_multi_add_handle(h->multi, hd->easy) != CURLM_OK)
        goto out;
    link_req(h, hd);
    if (out)
        *out = hd;
    rc = DP_OK;
out:
    if (rc != DP_OK)
        free_handle(hd);
    return rc;
}
