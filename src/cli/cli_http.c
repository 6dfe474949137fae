/* HTTP requests for the client on one reused libcurl easy handle. Each request
 * resets the handle's options (the connection cache survives a reset) and
 * turns every outcome into a reply: a parsed 2xx body, or a sentence saying
 * what went wrong, named after the server's error when it sent one. */
#include "cli/cli_http.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/cli_out.h"
#include "util/err.h"

#define API_PREFIX "/api/v1"
#define ERROR_MAX (8u << 10)
#define SNIPPET_MAX 200
#define URL_MAX 8192
#define CONNECT_TIMEOUT_MS 10000L
/* A campaign over a large list creates all its messages before answering. */
#define JSON_TIMEOUT_MS 300000L

struct cli_http {
    CURL *curl;
    char *url;  /* as given, for messages */
    char *auth; /* "Authorization: Bearer ...", NULL without a token */
    char errbuf[CURL_ERROR_SIZE];
    /* per request */
    cli_reply *reply;
    int too_big;
    FILE *upload;
    int read_errno;
    FILE *sink; /* cli_http_download: where a 2xx body goes */
    int write_errno;
};

void cli_reply_init(cli_reply *r)
{
    r->status = 0;
    r->json = NULL;
    buf_init(&r->body, CLI_HTTP_REPLY_MAX);
    buf_init(&r->error, ERROR_MAX);
}

void cli_reply_free(cli_reply *r)
{
    if (!r)
        return;
    json_decref(r->json);
    r->json = NULL;
    buf_free(&r->body);
    buf_free(&r->error);
}

static void reply_reset(cli_reply *r)
{
    r->status = 0;
    json_decref(r->json);
    r->json = NULL;
    buf_reset(&r->body);
    buf_reset(&r->error);
}

int cli_http_open(cli_http **out, const char *base_url, const char *token)
{
    int rc = DP_ENOMEM;
    cli_http *h = calloc(1, sizeof *h);
    dp_buf auth;

    buf_init(&auth, 4096);
    if (!h)
        goto out;
    h->url = strdup(base_url);
    if (!h->url)
        goto out;
    /* Trailing slashes would double up with the "/api/v1" prefix. */
    for (size_t n = strlen(h->url); n > 0 && h->url[n - 1] == '/'; n--)
        h->url[n - 1] = '\0';
    if (token) {
        rc = buf_printf(&auth, "Authorization: Bearer %s", token);
        if (rc)
            goto out;
        h->auth = buf_steal(&auth);
        rc = DP_ENOMEM;
        if (!h->auth)
            goto out;
    }
    h->curl = curl_easy_init();
    if (!h->curl)
        goto out;
    *out = h;
    h = NULL;
    rc = DP_OK;
out:
    buf_free(&auth);
    cli_http_close(h);
    return rc;
}

void cli_http_close(cli_http *h)
{
    if (!h)
        return;
    if (h->curl)
        curl_easy_cleanup(h->curl);
    free(h->url);
    free(h->auth);
    free(h);
}

const char *cli_http_url(const cli_http *h)
{
    return h->url;
}

static size_t on_write(char *p, size_t size, size_t n, void *arg)
{
    cli_http *h = arg;
    size_t len = size * n;

    if (buf_append(&h->reply->body, p, len) != DP_OK) {
        h->too_big = 1;
        return 0; /* makes curl stop with CURLE_WRITE_ERROR */
    }
    return len;
}

/* A download's body goes to the file once the status says 2xx; an error
 * body is kept in the reply, capped like any other, for the message. */
static size_t on_download(char *p, size_t size, size_t n, void *arg)
{
    cli_http *h = arg;
    long status = 0;
    size_t len = size * n;

    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status > 299)
        return on_write(p, size, n, arg);
    if (fwrite(p, 1, len, h->sink) != len) {
        h->write_errno = errno ? errno : EIO;
        return 0;
    }
    return len;
}

static size_t on_read(char *p, size_t size, size_t n, void *arg)
{
    cli_http *h = arg;
    size_t got = fread(p, 1, size * n, h->upload);

    if (got == 0 && ferror(h->upload)) {
        h->read_errno = errno ? errno : EIO;
        return CURL_READFUNC_ABORT;
    }
    return got;
}

/* The server's error.code back to our code; the table's codes run from
 * DP_EINVAL down to DP_EINTERNAL. */
static int code_from_api(const char *api)
{
    if (api)
        for (int c = DP_EINVAL; c >= DP_EINTERNAL; c--)
            if (strcmp(dp_err_api_code(c), api) == 0)
                return c;
    return DP_EINTERNAL;
}

static void set_error(cli_reply *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Stores the sentence cleaned of control characters except the newlines that
 * separate its lines; when memory runs out the error stays empty and
 * cli_print_error says only that the request failed. */
static void set_error(cli_reply *r, const char *fmt, ...)
{
    dp_buf raw;
    va_list ap;

    buf_init(&raw, CLI_HTTP_REPLY_MAX + ERROR_MAX); /* no message outgrows its reply */
    va_start(ap, fmt);
    int rc = buf_vprintf(&raw, fmt, ap);
    va_end(ap);
    buf_reset(&r->error);
    for (const char *p = buf_str(&raw); !rc && *p;) {
        size_t len = strcspn(p, "\n");
        /* A message too long to store whole is still worth showing cut short. */
        size_t room = r->error.cap - r->error.len;
        rc = cli_out_clean(&r->error, p, len, room > 8 ? room - 8 : 0);
        p += len;
        if (!rc && *p == '\n') {
            rc = buf_puts(&r->error, "\n");
            p++;
        }
    }
    buf_free(&raw);
}

/* Turns a non-2xx reply into r->error: the server's own error when the body
 * carries one ({"error":{"code","message"}}), else the status and a snippet. */
static int server_error(cli_http *h, cli_reply *r)
{
    const char *msg = cli_out_str(r->json, "error.message", NULL);
    const char *api = cli_out_str(r->json, "error.code", NULL);
    const json_t *missing = cli_out_path(r->json, "error.missing");
    dp_buf more;

    buf_init(&more, ERROR_MAX);
    if (!msg) {
        dp_buf snip;
        buf_init(&snip, SNIPPET_MAX + 4);
        if (cli_out_clean(&snip, buf_str(&r->body), r->body.len, SNIPPET_MAX))
            buf_reset(&snip);
        set_error(r, "HTTP %ld from %s%s%s", r->status, h->url, snip.len ? ": " : "",
                  buf_str(&snip));
        buf_free(&snip);
        goto out;
    }
    if (json_is_object(missing)) {
        const char *var;
        json_t *count;
        json_object_foreach((json_t *)missing, var, count)
        {
            if (buf_printf(&more, "\n  {{%s}} missing for %lld contact(s)", var,
                           json_is_integer(count) ? (long long)json_integer_value(count) : 0LL))
                break;
        }
    }
    set_error(r, "%s (%s, HTTP %ld)%s", msg, api ? api : "error", r->status, buf_str(&more));
out:
    buf_free(&more);
    return code_from_api(api);
}

static int transfer_error(cli_http *h, CURLcode cc, cli_reply *r)
{
    const char *detail = h->errbuf[0] ? h->errbuf : curl_easy_strerror(cc);

    if (h->too_big || cc == CURLE_FILESIZE_EXCEEDED) {
        set_error(r, "the reply from %s is larger than %u MiB", h->url, CLI_HTTP_REPLY_MAX >> 20);
        return DP_ETOOBIG;
    }
    if (h->read_errno) {
        set_error(r, "cannot read the upload: %s", strerror(h->read_errno));
        return DP_EIO;
    }
    if (h->write_errno) {
        set_error(r, "cannot write the download: %s", strerror(h->write_errno));
        return DP_EIO;
    }
    switch (cc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        set_error(r, "cannot reach the disparo server at %s: %s\ncheck --url or DISPARO_URL",
                  h->url, detail);
        break;
    case CURLE_COULDNT_CONNECT:
        set_error(r,
                  "cannot reach the disparo server at %s: %s\n"
                  "is `disparo serve` running there? pass --url or set DISPARO_URL",
                  h->url, detail);
        break;
    case CURLE_OPERATION_TIMEDOUT:
        set_error(r, "the server at %s did not answer in time: %s", h->url, detail);
        break;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        set_error(r, "bad server URL %s: %s", h->url, detail);
        break;
    default:
        set_error(r, "request to %s failed: %s", h->url, detail);
        break;
    }
    return DP_ENET;
}

/* Options every request shares; headers is owned by the caller and must
 * outlive the transfer. failed says building the headers ran out of memory
 * (base_headers, add_header). */
static int prepare(cli_http *h, const char *path, struct curl_slist *headers, int failed,
                   cli_reply *r)
{
    char url[URL_MAX];
    int n = snprintf(url, sizeof url, "%s%s%s", h->url, API_PREFIX, path);

    if (failed) {
        set_error(r, "out of memory");
        return DP_ENOMEM;
    }
    if (n < 0 || (size_t)n >= sizeof url) {
        set_error(r, "request URL too long");
        return DP_EINVAL;
    }
    curl_easy_reset(h->curl);
    h->errbuf[0] = '\0';
    h->reply = r;
    h->too_big = 0;
    h->read_errno = 0;
    h->write_errno = 0;
    curl_easy_setopt(h->curl, CURLOPT_URL, url); /* curl copies it */
    curl_easy_setopt(h->curl, CURLOPT_ERRORBUFFER, h->errbuf);
    curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
    curl_easy_setopt(h->curl, CURLOPT_USERAGENT, "disparo/" DISPARO_VERSION);
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, h);
    /* Refuses early when Content-Length says the body is over the cap. */
    curl_easy_setopt(h->curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)CLI_HTTP_REPLY_MAX);
    curl_easy_setopt(h->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    return DP_OK;
}

static int finish(cli_http *h, CURLcode cc, cli_reply *r)
{
    json_error_t jerr;

    if (cc != CURLE_OK)
        return transfer_error(h, cc, r);
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &r->status);
    if (r->body.len > 0)
        r->json = json_loadb(r->body.data, r->body.len, 0, &jerr);
    if (r->status < 200 || r->status > 299)
        return server_error(h, r);
    if (r->body.len > 0 && !r->json) {
        set_error(r, "the reply from %s is not JSON (HTTP %ld): %s at line %d", h->url, r->status,
                  jerr.text, jerr.line);
        return DP_EJSON;
    }
    return DP_OK;
}

static struct curl_slist *add_header(struct curl_slist *list, const char *h, int *failed)
{
    struct curl_slist *n = curl_slist_append(list, h);
    if (!n) {
        *failed = 1;
        return list;
    }
    return n;
}

/* The headers every request carries. "Expect:" stops curl from waiting a
 * second for a "100 Continue" the server may never send. */
static struct curl_slist *base_headers(cli_http *h, const char *content_type, int *failed)
{
    struct curl_slist *l = NULL;
    char ct[128];

    l = add_header(l, "Accept: application/json", failed);
    l = add_header(l, "Expect:", failed);
    if (h->auth)
        l = add_header(l, h->auth, failed);
    if (content_type) {
        (void)snprintf(ct, sizeof ct, "Content-Type: %s", content_type);
        l = add_header(l, ct, failed);
    } else {
        l = add_header(l, "Content-Type:", failed);
    }
    return l;
}

int cli_http_json(cli_http *h, const char *method, const char *path, const json_t *body,
                  cli_reply *r)
{
    int rc = DP_OK;
    int failed = 0;
    char *text = NULL;
    struct curl_slist *headers = NULL;

    reply_reset(r);
    if (body) {
        text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (!text) {
            rc = DP_ENOMEM;
            set_error(r, "out of memory encoding the request");
            goto out;
        }
    }
    headers = base_headers(h, text ? "application/json" : NULL, &failed);
    rc = prepare(h, path, headers, failed, r);
    if (rc)
        goto out;
    if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(h->curl, CURLOPT_HTTPGET, 1L);
    } else {
        if (strcmp(method, "POST") != 0)
            curl_easy_setopt(h->curl, CURLOPT_CUSTOMREQUEST, method);
        if (text || strcmp(method, "DELETE") != 0) {
            /* POST and PATCH without a body still say Content-Length: 0. */
            curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, text ? text : "");
            curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE,
                             (curl_off_t)(text ? strlen(text) : 0));
        }
    }
    curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, JSON_TIMEOUT_MS);
    rc = finish(h, curl_easy_perform(h->curl), r);
out:
    curl_slist_free_all(headers);
    free(text);
    return rc;
}

int cli_http_upload(cli_http *h, const char *path, FILE *f, const char *name,
                    const char *content_type, cli_reply *r)
{
    int rc = DP_OK;
    int failed = 0;
    struct curl_slist *headers = NULL;
    struct stat st;
    curl_off_t size = -1;

    reply_reset(r);
    /* A regular file has a known size: send Content-Length. A pipe does not:
     * send it chunked, which HTTP/1.1 servers must accept. */
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode)) {
        long pos = ftell(f);
        size = (curl_off_t)st.st_size - (pos > 0 ? pos : 0);
    }
    headers = base_headers(h, content_type, &failed);
    if (size < 0)
        headers = add_header(headers, "Transfer-Encoding: chunked", &failed);
    rc = prepare(h, path, headers, failed, r);
    if (rc)
        goto out;
    h->upload = f;
    curl_easy_setopt(h->curl, CURLOPT_POST, 1L);
    curl_easy_setopt(h->curl, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(h->curl, CURLOPT_READDATA, h);
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, size);
    rc = finish(h, curl_easy_perform(h->curl), r);
    if (rc == DP_EIO)
        set_error(r, "cannot read %s: %s", name, strerror(h->read_errno));
out:
    h->upload = NULL;
    curl_slist_free_all(headers);
    return rc;
}

int cli_http_download(cli_http *h, const char *path, FILE *out, cli_reply *r)
{
    int rc = DP_OK;
    int failed = 0;
    struct curl_slist *headers = NULL;
    json_error_t jerr;
    CURLcode cc;

    reply_reset(r);
    headers = base_headers(h, NULL, &failed);
    rc = prepare(h, path, headers, failed, r);
    if (rc)
        goto out;
    h->sink = out;
    curl_easy_setopt(h->curl, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_download);
    /* an export is as big as its campaign: no size cap, no overall timeout */
    curl_easy_setopt(h->curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)0);
    cc = curl_easy_perform(h->curl);
    if (cc != CURLE_OK) {
        rc = transfer_error(h, cc, r);
        goto out;
    }
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &r->status);
    if (r->status < 200 || r->status > 299) {
        if (r->body.len > 0)
            r->json = json_loadb(r->body.data, r->body.len, 0, &jerr);
        rc = server_error(h, r);
    }
out:
    h->sink = NULL;
    curl_slist_free_all(headers);
    return rc;
}

static int unreserved(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

int cli_http_escape(dp_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    int rc = DP_OK;

    for (const unsigned char *p = (const unsigned char *)s; !rc && *p; p++) {
        char enc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
        if (unreserved(*p))
            rc = buf_append(b, p, 1);
        else
            rc = buf_append(b, enc, 3);
    }
    return rc;
}

int cli_http_query(dp_buf *q, const char *key, const char *value)
{
    int rc = DP_OK;

    if (!value)
        goto out;
    /* q may already hold the path: only a '?' says a query has begun. */
    rc = buf_printf(q, "%c%s=", q->len && memchr(q->data, '?', q->len) ? '&' : '?', key);
    if (!rc)
        rc = cli_http_escape(q, value);
out:
    return rc;
}
