/* Inside the client: the context every command receives, the one way commands
 * call the server, and each command's entry point. cli.c defines the context
 * and dispatch; each cli_<command>.c defines its command. */
#ifndef DP_CLI_CMD_H
#define DP_CLI_CMD_H

#include <jansson.h>

#include "cli/cli_args.h"
#include "cli/cli_http.h"

struct cli_ctx {
    cli_http *http;
    int json;               /* --json: print the server's replies as they came */
    const char *token_src;  /* where the token came from, for the hint on 401 */
    const char *token_file; /* where the token file was looked for */
};

/* Sends a request to the path formatted from pathfmt (under /api/v1; callers
 * percent-encode query values with cli_http_query) and, when it fails, prints
 * "error: ..." to stderr. Returns CLI_OK or CLI_EAPI; r holds the reply. */
int cli_call(struct cli_ctx *c, const char *method, const json_t *body, cli_reply *r,
             const char *pathfmt, ...) __attribute__((format(printf, 5, 6)));
/* Prints a failed reply's error (r->error) to stderr the same way. */
void cli_print_error(const struct cli_ctx *c, const cli_reply *r);
/* For --json: the reply body as received, newline-terminated. */
void cli_print_raw(const cli_reply *r);
/* What follows a cli_call whose reply a command shows: rc is the call's
 * result. Under --json a successful reply is printed as it came. Returns 1
 * when the command has nothing left to print (the call failed, or the reply
 * went out raw), 0 when the caller prints r's human form. */
int cli_json_done(const struct cli_ctx *c, const cli_reply *r, int rc);
/* Prints "error: out of memory" to stderr; returns CLI_EAPI. */
int cli_oom(void);

/* Uploads file ("-" = stdin, sent as "stdin" in messages) to path with the
 * given Content-Type, printing what went wrong. Returns CLI_OK, CLI_EUSAGE
 * when the file cannot be opened, or CLI_EAPI; r holds the reply. */
int cli_upload(struct cli_ctx *c, const char *path, const char *file, const char *type,
               cli_reply *r);

/* One page of a listing: r is the page's reply. Returns CLI_OK to go on. */
typedef int (*cli_page_fn)(const cli_reply *r, void *arg);
/* GETs path (whose query has begun: "...?limit=N") with "&after=A" added,
 * from A = 0, handing each reply to fn, and while all is set follows the
 * replies' next_after until one has none. *next gets the last reply's
 * next_after (0: the listing ended). Returns CLI_OK, cli_call's error
 * (printed) or fn's result. */
int cli_pages(struct cli_ctx *c, const char *path, int all, cli_page_fn fn, void *arg,
              long long *next);

/* Where output goes: file, or stdout when file is NULL or "-". NULL with
 * errno set when file cannot be opened with mode. */
FILE *cli_output_open(const char *file, const char *mode);
/* Closes f unless it is stdout. rc is the command's result so far: when it
 * is CLI_OK and closing fails, prints "error: cannot write FILE: ..." and
 * returns CLI_EAPI; otherwise returns rc. */
int cli_output_close(FILE *f, const char *file, int rc);

/* Writes the body of GET path (an export, a workbook) to f as it arrives,
 * then closes f: f and file come from cli_output_open, which the caller
 * calls so that it words its own error. A file left partial by a failure is
 * removed. Returns CLI_OK or CLI_EAPI (the error printed). */
int cli_download(struct cli_ctx *c, const char *path, FILE *f, const char *file);

/* A subcommand: its name and its entry point (argv[0] is the name). */
struct cli_sub {
    const char *name;
    int (*run)(struct cli_ctx *c, int argc, char **argv);
};
/* Runs the subcommand argv[1] names from subs (ended by a {NULL} entry)
 * with argv moved past the command. Prints usage to stdout for --help and
 * -h (returns CLI_OK), a usage error for a missing or unknown subcommand. */
int cli_dispatch(struct cli_ctx *c, const char *usage, const struct cli_sub *subs, int argc,
                 char **argv);

/* Command entry points: argv[0] is the command's own name, the global
 * options are already removed. Each returns an exit code. */
int cli_cmd_token(struct cli_ctx *c, int argc, char **argv);
int cli_cmd_sender(struct cli_ctx *c, int argc, char **argv);
int cli_cmd_contacts(struct cli_ctx *c, int argc, char **argv);
int cli_cmd_list(struct cli_ctx *c, int argc, char **argv);
int cli_cmd_campaign(struct cli_ctx *c, int argc, char **argv);
int cli_cmd_messages(struct cli_ctx *c, int argc, char **argv);
int cli_cmd_events(struct cli_ctx *c, int argc, char **argv);
int cli_cmd_restrict(struct cli_ctx *c, int argc, char **argv);
int cli_cmd_keywords(struct cli_ctx *c, int argc, char **argv);

/* `campaign` subcommands that live in their own files; argv[0] is the
 * subcommand's name. */
int cli_campaign_create(struct cli_ctx *c, int argc, char **argv);
int cli_campaign_watch(struct cli_ctx *c, int argc, char **argv);
/* `campaign report` and `campaign export` (cli_report.c). */
int cli_campaign_report(struct cli_ctx *c, int argc, char **argv);

/* Where a campaign stands, from its counts: done = total - queued - sending;
 * sent counts sent, delivered and read. */
struct cli_progress {
    long long total, done, sent, failed, skipped, unknown;
};
void cli_campaign_progress(const json_t *camp, struct cli_progress *p);
/* The detail block `campaign show` prints. */
void cli_campaign_print(const json_t *camp);

#endif
