/* disparo: `serve` runs the engine and the HTTP API on one event loop;
 * every other command is a client of a running server (src/cli/). */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "engine/engine.h"
#include "http/server.h"
#include "store/store.h"
#include "util/crypto.h"
#include "util/log.h"
#include "util/phone.h"

struct serve_opts {
    const char *listen;
    const char *data;
    const char *db;
    const char *cc;
    int64_t health_period_ms, hold_recheck_ms;
};

static void serve_usage(FILE *f)
{
    fprintf(f, "usage: disparo serve [--listen 127.0.0.1:8080] [--data DIR] [--db PATH]\n"
               "                     [--country-code 55] [--log-level info]\n"
               "                     [--health-period-ms 180000] [--hold-recheck-ms 30000]\n"
               "Runs the campaign engine and the HTTP API. On first start with an empty\n"
               "database it creates a workspace, a sandbox sender and an admin token, printed\n"
               "once and saved to DIR/admin.token (mode 0600).\n");
}

static int mkdir_p(const char *dir)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s", dir) >= (int)sizeof tmp)
        return -1;
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(tmp, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

/* Writes the token beside the database, readable by its owner only; a temp
 * file and rename so a crash never leaves half a token. */
static int save_token(const char *dir, const char *tok)
{
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/admin.token", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    size_t n = strlen(tok);
    int ok = write(fd, tok, n) == (ssize_t)n && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    ok &= close(fd) == 0;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    log_info("stopping", "signal=%d", (int)sig);
    event_base_loopexit(arg, NULL);
}

static int serve(int argc, char **argv)
{
    struct serve_opts o = {.listen = "127.0.0.1:8080", .data = "./data", .cc = "55"};
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, 'l'},   {"data", required_argument, NULL, 'd'},
        {"db", required_argument, NULL, 'b'},       {"country-code", required_argument, NULL, 'c'},
        {"log-level", required_argument, NULL, 'v'}, {"help", no_argument, NULL, 'h'},
        {"health-period-ms", required_argument, NULL, 'H'},
        {"hold-recheck-ms", required_argument, NULL, 'R'},
        {NULL, 0, NULL, 0}};
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'l':
            o.listen = optarg;
            break;
        case 'd':
            o.data = optarg;
            break;
        case 'b':
            o.db = optarg;
            break;
        case 'c':
        {
            /* checked now: a typo would otherwise reject every imported phone */
            dp_err ce = {0};
            if (phone_cc_check(optarg, &ce) != DP_OK) {
                fprintf(stderr,
                        "disparo serve: --country-code %s: %s (give a country calling code "
                        "such as 55 for Brazil)\n",
                        optarg, ce.msg);
                return 2;
            }
            o.cc = optarg;
            break;
        }
        case 'v': {
            int lvl = log_parse_level(optarg);
            if (lvl < 0) {
                fprintf(stderr, "disparo serve: --log-level is debug, info, warn or error\n");
                return 2;
            }
            log_set_level((enum log_level)lvl);
            break;
        }
        case 'H':
        case 'R': {
            char *end;
            long long v = strtoll(optarg, &end, 10);
            if (*end || v < 100 || v > 86400000LL) {
                fprintf(stderr, "disparo serve: --%s wants milliseconds from 100 to 86400000\n",
                        ch == 'H' ? "health-period-ms" : "hold-recheck-ms");
                return 2;
            }
            if (ch == 'H')
                o.health_period_ms = v;
            else
                o.hold_recheck_ms = v;
            break;
        }
        case 'h':
            serve_usage(stdout);
            return 0;
        default:
            serve_usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        serve_usage(stderr);
        return 2;
    }

    int rc = 1;
    dp_err e = {0};
    store *st = NULL;
    engine *eng = NULL;
    server *srv = NULL;
    struct event_base *base = NULL;
    struct event *sigterm = NULL, *sigint = NULL;
    char dbpath[4096];
    signal(SIGPIPE, SIG_IGN);
    if (mkdir_p(o.data) != 0) {
        log_error("cannot create the data directory", "dir=\"%s\" err=\"%s\"", o.data,
                  strerror(errno));
        goto out;
    }
    snprintf(dbpath, sizeof dbpath, "%s", o.db ? o.db : "");
    if (!o.db)
        snprintf(dbpath, sizeof dbpath, "%s/disparo.db", o.data);
    if (store_sqlite_open(dbpath, &st, &e)) {
        log_error("cannot open the database", "path=\"%s\" err=\"%s\"", dbpath, e.msg);
        goto out;
    }
    char tok[CRYPTO_TOKEN_LEN], hash[CRYPTO_SHA256_HEX];
    int created = 0;
    if (crypto_token(tok)) {
        log_error("no randomness for the admin token", NULL);
        goto out;
    }
    crypto_sha256_hex(tok, strlen(tok), hash);
    if (st->v->bootstrap(st, hash, &created, &e)) {
        log_error("cannot initialise the database", "err=\"%s\"", e.msg);
        goto out;
    }
    if (created) {
        if (save_token(o.data, tok) != 0)
            log_error("cannot save admin.token; copy the token printed below", "dir=\"%s\"",
                      o.data);
        printf("admin token (shown once, saved to %s/admin.token): %s\n", o.data, tok);
        fflush(stdout);
    }
    struct event_config *cfg = event_config_new();
    base = cfg ? event_base_new_with_config(cfg) : NULL;
    event_config_free(cfg);
    if (!base) {
        log_error("cannot create the event loop", NULL);
        goto out;
    }
    struct engine_opts eo = {.country_code = o.cc,
                             .health_period_ms = o.health_period_ms,
                             .hold_recheck_ms = o.hold_recheck_ms};
    if (engine_new(base, st, &eo, &eng, &e) || engine_start(eng, &e)) {
        log_error("cannot start the engine", "err=\"%s\"", e.msg);
        goto out;
    }
    if (server_new(base, o.listen, eng, st, &srv, &e)) {
        log_error("cannot start the HTTP server", "err=\"%s\"", e.msg);
        goto out;
    }
    sigterm = evsignal_new(base, SIGTERM, on_signal, base);
    sigint = evsignal_new(base, SIGINT, on_signal, base);
    if (!sigterm || !sigint || evsignal_add(sigterm, NULL) || evsignal_add(sigint, NULL)) {
        log_error("cannot install signal handlers", NULL);
        goto out;
    }
    log_info("listening", "addr=%s port=%d db=\"%s\"", o.listen, server_port(srv), dbpath);
    if (event_base_dispatch(base) < 0) {
        log_error("event loop failed", NULL);
        goto out;
    }
    server_free(srv);
    srv = NULL;
    engine_drain(eng, 5000);
    log_info("stopped", NULL);
    rc = 0;
out:
    if (sigterm)
        event_free(sigterm);
    if (sigint)
        event_free(sigint);
    server_free(srv);
    engine_free(eng);
    if (st)
        st->v->close(st);
    if (base)
        event_base_free(base);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        (strcmp(argv[1], "help") == 0 && argc == 2)) {
        cli_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "serve") == 0)
        return serve(argc - 1, argv + 1);
    return cli_main(argc - 1, argv + 1);
}
