/* `disparo campaign watch ID`: polls GET /campaigns/{id} (the server pushes
 * nothing yet) and shows progress until the campaign completes or is
 * cancelled. On a terminal one line is redrawn in place; into a pipe or file
 * a line is written only when something changed, so logs stay short. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli_cmd.h"
#include "cli/cli_out.h"
#include "util/err.h"

#define BAR_WIDTH 10
#define DEFAULT_INTERVAL_MS 500
#define LINE_MAX_BYTES 1024

static const char usage[] =
    "usage: disparo campaign watch ID [--interval-ms MS]\n"
    "\n"
    "Shows a campaign's progress until it completes or is cancelled (exit 0).\n"
    "On a terminal one line is redrawn; otherwise a line is printed per change.\n"
    "With --json, each changed campaign is printed as one line of JSON.\n"
    "\n"
    "  --interval-ms MS   how often to ask the server (default 500)\n";

/* Ends the redrawn line before dying on Ctrl-C so the shell prompt starts on
 * a line of its own. Only async-signal-safe calls here. */
static void on_sigint(int sig)
{
    ssize_t n = write(STDOUT_FILENO, "\n", 1);
    (void)n;
    signal(sig, SIG_DFL);
    raise(sig);
}

static int is_final(const char *status)
{
    return strcmp(status, "completed") == 0 || strcmp(status, "cancelled") == 0;
}

/* Seconds since the epoch of an RFC 3339 time ("2026-11-26T11:00:00.000Z",
 * offsets allowed); -1 when it does not parse. */
static time_t parse_rfc3339(const char *s)
{
    struct tm tm = {0};
    int off_h = 0, off_m = 0;
    char sign = 'Z';
    const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);

    if (!p)
        return -1;
    if (*p == '.')
        p += 1 + strspn(p + 1, "0123456789");
    if (*p == '+' || *p == '-') {
        sign = *p;
        if (sscanf(p + 1, "%2d:%2d", &off_h, &off_m) != 2)
            return -1;
    } else if (*p != 'Z' && *p != 'z') {
        return -1;
    }
    time_t t = timegm(&tm);
    long off = (off_h * 60L + off_m) * 60L;
    return sign == '+' ? t - off : sign == '-' ? t + off : t;
}

/* "in 13h56m", "in 42s": how long until t, for the redrawn line. */
static void fmt_until(const char *at, char *out, size_t n)
{
    time_t t = parse_rfc3339(at);
    long long d = t < 0 ? -1 : (long long)difftime(t, time(NULL));

    if (t < 0)
        (void)snprintf(out, n, "at %s", at);
    else if (d <= 0)
        (void)snprintf(out, n, "now");
    else if (d < 60)
        (void)snprintf(out, n, "in %llds", d);
    else if (d < 3600)
        (void)snprintf(out, n, "in %lldm%02llds", d / 60, d % 60);
    else
        (void)snprintf(out, n, "in %lldh%02lldm", d / 3600, d % 3600 / 60);
}

/* "570/1000 sent 560 failed 3 skipped 7 · running (outside_window, next in
 * 2h10m)". A line printed per change says the time absolutely instead: a
 * countdown would change on every poll. */
static void describe(const json_t *camp, int relative, char *out, size_t n)
{
    struct cli_progress p;
    const char *reason = cli_out_str(camp, "state_reason", NULL);
    const char *next = cli_out_str(camp, "next_send_at", NULL);
    char unknown[48] = "";
    char when[96] = "";
    char waiting[192] = "";

    cli_campaign_progress(camp, &p);
    if (p.unknown)
        (void)snprintf(unknown, sizeof unknown, " unknown %lld", p.unknown);
    if (next && relative)
        fmt_until(next, when, sizeof when);
    else if (next)
        (void)snprintf(when, sizeof when, "at %s", next);
    if (reason && next)
        (void)snprintf(waiting, sizeof waiting, " (%s, next %s)", reason, when);
    else if (reason)
        (void)snprintf(waiting, sizeof waiting, " (%s)", reason);
    (void)snprintf(out, n, "%lld/%lld sent %lld failed %lld skipped %lld%s \xC2\xB7 %s%s", p.done,
                   p.total, p.sent, p.failed, p.skipped, unknown, cli_out_str(camp, "status", "?"),
                   waiting);
}

static int percent(const json_t *camp)
{
    struct cli_progress p;
    cli_campaign_progress(camp, &p);
    if (p.total <= 0)
        return 0;
    return (int)(p.done * 100 / p.total);
}

/* Cuts s to at most cols display columns without splitting a character, so
 * the redrawn line never wraps (a wrapped line cannot be redrawn by \r). */
static void fit(char *s, size_t cols)
{
    size_t w = 0;
    for (char *p = s; *p; p++) {
        if ((*p & 0xC0) == 0x80)
            continue;
        if (w == cols) {
            *p = '\0';
            return;
        }
        w++;
    }
}

static size_t term_cols(void)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1)
        return ws.ws_col - 1u;
    return 79;
}

static void draw_tty(const json_t *camp, const char *desc)
{
    char line[LINE_MAX_BYTES + BAR_WIDTH + 16]; /* bar, percent and desc */
    char bar[BAR_WIDTH + 1];
    int pct = percent(camp);
    int fill = pct * BAR_WIDTH / 100;
    size_t cols = term_cols();
    dp_buf clean;

    for (int i = 0; i < BAR_WIDTH; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[BAR_WIDTH] = '\0';
    buf_init(&clean, sizeof line);
    (void)snprintf(line, sizeof line, "[%s] %d%% %s", bar, pct, desc);
    /* On a narrow terminal the numbers and the status matter more than the bar. */
    if (cli_out_width(line) > cols)
        (void)snprintf(line, sizeof line, "%d%% %s", pct, desc);
    if (cli_out_clean(&clean, line, strlen(line), sizeof line - 1) == DP_OK) {
        (void)snprintf(line, sizeof line, "%s", buf_str(&clean));
        fit(line, cols);
        /* \r back to the start, ESC[K erases what the longer last line left. */
        printf("\r\033[K%s", line);
        fflush(stdout);
    }
    buf_free(&clean);
}

static void print_plain(const json_t *camp, const char *desc)
{
    char ts[32] = "";
    time_t now = time(NULL);
    struct tm tm;

    if (gmtime_r(&now, &tm))
        (void)strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    cli_out_line(stdout, "%s %3d%% %s", ts, percent(camp), desc);
    fflush(stdout);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    (void)nanosleep(&ts, NULL);
}

int cli_campaign_watch(struct cli_ctx *c, int argc, char **argv)
{
    int rc;
    const char *interval_s = NULL;
    const struct cli_opt opts[] = {{"--interval-ms", CLI_OPT_STR, &interval_s},
                                   {NULL, CLI_OPT_FLAG, NULL}};
    long long id, interval = DEFAULT_INTERVAL_MS;
    int tty = 0, drawn = 0;
    char path[64], desc[LINE_MAX_BYTES];
    struct sigaction sa, old_sa;
    int handler_set = 0;
    dp_buf last;
    cli_reply r;

    cli_reply_init(&r);
    buf_init(&last, CLI_HTTP_REPLY_MAX);
    rc = cli_args_parse_id(usage, argc, argv, opts, &id, "campaign watch needs a campaign id");
    if (rc != CLI_OK)
        goto out;
    if (interval_s && cli_args_llong(interval_s, 10, 3600000, &interval)) {
        rc = cli_args_usage_error(usage, "--interval-ms wants milliseconds from 10 to 3600000");
        goto out;
    }
    tty = !c->json && isatty(STDOUT_FILENO);
    if (tty) {
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_sigint;
        sigemptyset(&sa.sa_mask);
        handler_set = sigaction(SIGINT, &sa, &old_sa) == 0;
    }
    (void)snprintf(path, sizeof path, "/campaigns/%lld", id);

    for (;;) {
        if (cli_http_json(c->http, "GET", path, NULL, &r) != DP_OK) {
            if (drawn)
                putchar('\n');
            fflush(stdout);
            cli_print_error(c, &r);
            rc = CLI_EAPI;
            goto out;
        }
        const char *status = cli_out_str(r.json, "status", "?");
        if (c->json) {
            /* One compact line per change: easy to follow with jq. */
            char *line = json_dumps(r.json, JSON_COMPACT | JSON_PRESERVE_ORDER);
            if (line && strcmp(line, buf_str(&last)) != 0) {
                puts(line);
                fflush(stdout);
                buf_reset(&last);
                if (buf_puts(&last, line))
                    buf_reset(&last);
            }
            free(line);
        } else {
            describe(r.json, tty, desc, sizeof desc);
            if (tty) {
                draw_tty(r.json, desc);
                drawn = 1;
            } else if (strcmp(desc, buf_str(&last)) != 0) {
                print_plain(r.json, desc);
                buf_reset(&last);
                if (buf_puts(&last, desc))
                    buf_reset(&last);
            }
        }
        if (is_final(status))
            break;
        sleep_ms((long)interval);
    }
    if (drawn)
        putchar('\n');
    rc = CLI_OK;
out:
    if (handler_set)
        (void)sigaction(SIGINT, &old_sa, NULL);
    buf_free(&last);
    cli_reply_free(&r);
    return cli_args_exit(rc);
}
