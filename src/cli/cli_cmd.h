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
