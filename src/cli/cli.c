/* Entry point of the command-line client: takes the global options out of
 * argv wherever they are, works out the server's URL and token, and hands the
 * rest to the command. Commands live in cli_<command>.c. */
#include "cli/cli.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_cmd.h"
#include "cli/cli_out.h"
#include "util/err.h"

#define DEFAULT_URL "http://127.0.0.1:8080"
#define DEFAULT_DATA "./data"
#define TOKEN_FILE "admin.token"
#define TOKEN_MAX 512
#define PATH_MAX_LEN 4096

struct command {
    const char *name;
    int (*run)(struct cli_ctx *c, int argc, char **argv);
};

static const struct command commands[] = {
    {"token", cli_cmd_token},   {"sender", cli_cmd_sender},     {"contacts", cli_cmd_contacts},
    {"list", cli_cmd_list},     {"campaign", cli_cmd_campaign}, {"messages", cli_cmd_messages},
    {"events", cli_cmd_events}, {"restrict", cli_cmd_restrict}, {"keywords", cli_cmd_keywords},
};

struct globals {
    const char *url;
    const char *token;
    const char *data;
    int json;
};

void cli_usage(FILE *f)
{
    fputs("usage: disparo <command> [options]\n"
          "\n"
          "Server:\n"
          "  serve [--listen 127.0.0.1:8080] [--data DIR] [--db PATH] [--country-code 55] "
          "[--log-level info]\n"
          "\n"
          "Client (talks to a running server):\n"
          "  token create [--name N]                    create an API token and print it\n"
          "  sender add|list|show|enable|disable|delete manage senders\n"
          "  contacts import FILE --list NAME [--phone-column C]\n"
          "                                             import a CSV or XLSX into a list\n"
          "  contacts search [Q] | show PHONE|ID        find contacts; one with its history\n"
          "  list list|create|show|rename|delete|add|remove|members\n"
          "                                             contact lists and their members\n"
          "  campaign create|list|show|watch            campaigns\n"
          "  campaign start|pause|resume|cancel ID      change a campaign's state\n"
          "  campaign report ID [--xlsx FILE]           a campaign's report (or workbook)\n"
          "  campaign export ID [-o FILE]               a campaign's messages as CSV\n"
          "  messages ID [--status S] [--limit N] [--all]\n"
          "                                             a campaign's messages\n"
          "  events ID [--limit N]                      a campaign's history\n"
          "  restrict lists|create-list|delete-list     restriction lists (who is never messaged)\n"
          "  restrict add|remove|entries|import|export|check\n"
          "                                             their entries\n"
          "  keywords list|add|remove                   reply keywords that restrict a contact\n"
          "  version                                    print the version\n"
          "\n"
          "Global options (any client command):\n"
          "  --url URL    server address (else $DISPARO_URL, else " DEFAULT_URL ")\n"
          "  --token T    API token (else $DISPARO_TOKEN, else DIR/" TOKEN_FILE ")\n"
          "  --data DIR   the server's data directory (else $DISPARO_DATA, else " DEFAULT_DATA ")\n"
          "  --json       print the server's JSON replies instead of tables\n"
          "\n"
          "Run `disparo <command> --help` for a command's options.\n"
          "Exit status: 0 ok, 1 API or network error, 2 usage error.\n",
          f);
}

static const char *env_or(const char *name, const char *def)
{
    const char *v = getenv(name);
    return v && *v ? v : def;
}

/* Takes --url, --token, --data and --json out of argv (kept in order into
 * out, *outc of them) wherever they appear before "--". One exception:
 * `campaign create --json FILE` names a request body, so there a --json
 * followed by a value that is not an option stays for the command. */
static int take_globals(int argc, char **argv, struct globals *g, char **out, int *outc)
{
    int n = 0;
    int rest = 0;

    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char **dst = NULL;
        const char *name = NULL;

        if (rest || a[0] != '-') {
            out[n++] = argv[i];
            continue;
        }
        if (strcmp(a, "--") == 0) {
            rest = 1;
            out[n++] = argv[i];
            continue;
        }
        if (strcmp(a, "--json") == 0) {
            int creating =
                n >= 2 && strcmp(out[0], "campaign") == 0 && strcmp(out[1], "create") == 0;
            const char *next = i + 1 < argc ? argv[i + 1] : NULL;
            if (creating && next && (next[0] != '-' || strcmp(next, "-") == 0)) {
                out[n++] = argv[i];
                out[n++] = argv[++i];
            } else {
                g->json = 1;
            }
            continue;
        }
        if (strncmp(a, "--url", 5) == 0 && (a[5] == '\0' || a[5] == '=')) {
            dst = &g->url;
            name = "--url";
        } else if (strncmp(a, "--token", 7) == 0 && (a[7] == '\0' || a[7] == '=')) {
            dst = &g->token;
            name = "--token";
        } else if (strncmp(a, "--data", 6) == 0 && (a[6] == '\0' || a[6] == '=')) {
            dst = &g->data;
            name = "--data";
        }
        if (!dst) {
            out[n++] = argv[i];
            continue;
        }
        const char *eq = strchr(a, '=');
        if (eq) {
            *dst = eq + 1;
        } else if (i + 1 < argc) {
            *dst = argv[++i];
        } else {
            fprintf(stderr, "error: %s needs a value\n", name);
            return CLI_EUSAGE;
        }
    }
    out[n] = NULL;
    *outc = n;
    return CLI_OK;
}

/* Reads the admin token the server wrote into its data directory. Returns 1
 * when found (into tok), 0 when the file is absent or empty, -1 on error. */
static int read_token_file(const char *path, char *tok, size_t cap)
{
    int rc = 0;
    FILE *f = fopen(path, "r");
    size_t n;

    if (!f) {
        rc = errno == ENOENT ? 0 : -1;
        goto out;
    }
    n = fread(tok, 1, cap - 1, f);
    if (ferror(f)) {
        rc = -1;
        goto out;
    }
    tok[n] = '\0';
    /* The file ends with a newline; take the first word. */
    tok[strcspn(tok, " \t\r\n")] = '\0';
    rc = tok[0] ? 1 : 0;
out:
    if (f)
        fclose(f);
    return rc;
}

/* A token travels in a header: anything but visible ASCII could split it. */
static int token_ok(const char *t)
{
    for (; *t; t++)
        if (*t < 0x21 || *t > 0x7E)
            return 0;
    return 1;
}

void cli_print_error(const struct cli_ctx *c, const cli_reply *r)
{
    const char *msg = r->error.len ? buf_str(&r->error) : "request failed";
    fprintf(stderr, "error: %s\n", msg);
    if (r->status == 401) {
        if (c->token_src)
            fprintf(stderr, "hint: the server refused the token from %s\n", c->token_src);
        else
            fprintf(stderr,
                    "hint: no token found (not in %s); pass --token, set DISPARO_TOKEN, or "
                    "point --data (DISPARO_DATA) at the server's data directory\n",
                    c->token_file ? c->token_file : "the data directory");
    }
}

int cli_call(struct cli_ctx *c, const char *method, const json_t *body, cli_reply *r,
             const char *pathfmt, ...)
{
    char path[4096];
    va_list ap;
    int n;

    va_start(ap, pathfmt);
    n = vsnprintf(path, sizeof path, pathfmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof path) {
        fputs("error: request path too long\n", stderr);
        return CLI_EAPI;
    }
    if (cli_http_json(c->http, method, path, body, r) != DP_OK) {
        cli_print_error(c, r);
        return CLI_EAPI;
    }
    return CLI_OK;
}

void cli_print_raw(const cli_reply *r)
{
    if (r->body.len == 0)
        return;
    fwrite(r->body.data, 1, r->body.len, stdout);
    if (r->body.data[r->body.len - 1] != '\n')
        fputc('\n', stdout);
}

int cli_json_done(const struct cli_ctx *c, const cli_reply *r, int rc)
{
    if (rc != CLI_OK)
        return 1;
    if (!c->json)
        return 0;
    cli_print_raw(r);
    return 1;
}

int cli_oom(void)
{
    fputs("error: out of memory\n", stderr);
    return CLI_EAPI;
}

int cli_upload(struct cli_ctx *c, const char *path, const char *file, const char *type,
               cli_reply *r)
{
    int rc = CLI_OK;
    int is_stdin = strcmp(file, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(file, "rb");

    if (!f) {
        fprintf(stderr, "error: cannot open %s: %s\n", file, strerror(errno));
        return CLI_EUSAGE;
    }
    if (cli_http_upload(c->http, path, f, is_stdin ? "stdin" : file, type, r) != DP_OK) {
        cli_print_error(c, r);
        rc = CLI_EAPI;
    }
    if (!is_stdin)
        fclose(f);
    return rc;
}

int cli_pages(struct cli_ctx *c, const char *path, int all, cli_page_fn fn, void *arg,
              long long *next)
{
    int rc;
    long long after = 0;
    cli_reply r;

    cli_reply_init(&r);
    for (;;) {
        rc = cli_call(c, "GET", NULL, &r, "%s&after=%lld", path, after);
        if (rc)
            break;
        rc = fn(&r, arg);
        if (rc)
            break;
        after = cli_out_int(r.json, "next_after", 0);
        if (!all || !after)
            break;
    }
    *next = after;
    cli_reply_free(&r);
    return rc;
}

FILE *cli_output_open(const char *file, const char *mode)
{
    if (!file || strcmp(file, "-") == 0)
        return stdout;
    return fopen(file, mode);
}

int cli_output_close(FILE *f, const char *file, int rc)
{
    if (f != stdout && fclose(f) != 0 && rc == CLI_OK) {
        fprintf(stderr, "error: cannot write %s: %s\n", file, strerror(errno));
        rc = CLI_EAPI;
    }
    return rc;
}

int cli_download(struct cli_ctx *c, const char *path, FILE *f, const char *file)
{
    cli_reply r;
    int rc = CLI_OK;

    cli_reply_init(&r);
    if (cli_http_download(c->http, path, f, &r) != DP_OK) {
        cli_print_error(c, &r);
        rc = CLI_EAPI;
    }
    cli_reply_free(&r);
    if (f == stdout)
        return fflush(stdout) != 0 ? CLI_EAPI : rc;
    rc = cli_output_close(f, file, rc);
    if (rc != CLI_OK)
        (void)remove(file);
    return rc;
}

int cli_dispatch(struct cli_ctx *c, const char *usage, const struct cli_sub *subs, int argc,
                 char **argv)
{
    const char *sub = argc > 1 ? argv[1] : NULL;

    if (!sub)
        return cli_args_usage_error(usage, "missing subcommand");
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
        fputs(usage, stdout);
        return CLI_OK;
    }
    for (const struct cli_sub *s = subs; s->name; s++)
        if (strcmp(sub, s->name) == 0)
            return s->run(c, argc - 1, argv + 1);
    return cli_args_usage_error(usage, "unknown subcommand '%s'", sub);
}

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static int is_help(const char *a)
{
    return strcmp(a, "help") == 0 || strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0;
}

int cli_main(int argc, char **argv)
{
    int rc = CLI_OK;
    int curl_ready = 0;
    struct globals g = {0};
    struct cli_ctx ctx = {0};
    char **args = NULL;
    int nargs = 0;
    char token_buf[TOKEN_MAX];
    char token_path[PATH_MAX_LEN];
    static char help_flag[] = "--help";
    const struct command *cmd;

    args = calloc((size_t)(argc > 0 ? argc : 0) + 1, sizeof *args);
    if (!args) {
        fputs("error: out of memory\n", stderr);
        rc = CLI_EAPI;
        goto out;
    }
    rc = take_globals(argc, argv, &g, args, &nargs);
    if (rc)
        goto out;
    if (nargs == 0) {
        cli_usage(stderr);
        rc = CLI_EUSAGE;
        goto out;
    }
    if (is_help(args[0])) {
        if (nargs < 2) {
            cli_usage(stdout);
            goto out;
        }
        /* `help campaign` is `campaign --help`. */
        args[0] = args[1];
        args[1] = help_flag;
        args[2] = NULL;
        nargs = 2;
    }
    if (strcmp(args[0], "version") == 0 || strcmp(args[0], "--version") == 0) {
        printf("disparo %s\n", DISPARO_VERSION);
        goto out;
    }
    cmd = find_command(args[0]);
    if (!cmd) {
        fprintf(stderr, "error: unknown command '%s'; run `disparo --help`\n", args[0]);
        rc = CLI_EUSAGE;
        goto out;
    }

    g.url = g.url ? g.url : env_or("DISPARO_URL", DEFAULT_URL);
    if (g.token) {
        ctx.token_src = "--token";
    } else if (env_or("DISPARO_TOKEN", NULL)) {
        g.token = env_or("DISPARO_TOKEN", NULL);
        ctx.token_src = "DISPARO_TOKEN";
    } else {
        const char *data = g.data ? g.data : env_or("DISPARO_DATA", DEFAULT_DATA);
        int n = snprintf(token_path, sizeof token_path, "%s/%s", data, TOKEN_FILE);
        if (n > 0 && (size_t)n < sizeof token_path) {
            ctx.token_file = token_path;
            int found = read_token_file(token_path, token_buf, sizeof token_buf);
            if (found < 0)
                fprintf(stderr, "warning: cannot read %s: %s\n", token_path, strerror(errno));
            if (found > 0) {
                g.token = token_buf;
                ctx.token_src = token_path;
            }
        }
    }
    if (g.token && !token_ok(g.token)) {
        fprintf(stderr, "error: the token from %s holds spaces or control characters\n",
                ctx.token_src);
        rc = CLI_EUSAGE;
        goto out;
    }

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fputs("error: cannot initialise libcurl\n", stderr);
        rc = CLI_EAPI;
        goto out;
    }
    curl_ready = 1;
    if (cli_http_open(&ctx.http, g.url, g.token) != DP_OK) {
        fputs("error: out of memory\n", stderr);
        rc = CLI_EAPI;
        goto out;
    }
    ctx.json = g.json;
    rc = cmd->run(&ctx, nargs, args);
out:
    if (fflush(stdout) != 0 && rc == CLI_OK) {
        fprintf(stderr, "error: writing output: %s\n", strerror(errno));
        rc = CLI_EAPI;
    }
    cli_http_close(ctx.http);
    if (curl_ready)
        curl_global_cleanup();
    free(args);
    return rc;
}
