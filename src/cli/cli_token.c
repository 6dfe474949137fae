/* `disparo token create`: asks the server for a new API token and prints it
 * alone on stdout, so scripts can capture it. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_cmd.h"
#include "cli/cli_out.h"

static const char usage[] =
    "usage: disparo token create [--name N]\n"
    "\n"
    "Creates an API token for the workspace of the token in use and prints it.\n"
    "The server shows a token only once; store it (e.g. in DISPARO_TOKEN).\n"
    "\n"
    "  --name N   a label for the token (default: cli)\n";

static int token_create(struct cli_ctx *c, int argc, char **argv)
{
    int rc;
    const char *name = "cli";
    const char *pos[1];
    size_t npos = 0;
    const struct cli_opt opts[] = {{"--name", CLI_OPT_STR, &name}, {NULL, CLI_OPT_FLAG, NULL}};
    json_t *body = NULL;
    cli_reply r;

    cli_reply_init(&r);
    rc = cli_args_parse(usage, argc, argv, opts, pos, 0, &npos);
    if (rc != CLI_OK)
        goto out;
    body = json_pack("{s:s}", "name", name);
    if (!body) {
        rc = cli_args_usage_error(usage, "--name must be UTF-8");
        goto out;
    }
    rc = cli_call(c, "POST", body, &r, "/tokens");
    if (cli_json_done(c, &r, rc))
        goto out;
    const char *tok = cli_out_str(r.json, "token", NULL);
    if (!tok) {
        fputs("error: the server's reply holds no token\n", stderr);
        rc = CLI_EAPI;
        goto out;
    }
    printf("%s\n", tok);
    if (isatty(STDERR_FILENO))
        cli_out_line(stderr, "token %lld (%s) created; it is shown only this once",
                     cli_out_int(r.json, "id", 0), cli_out_str(r.json, "name", name));
out:
    json_decref(body);
    cli_reply_free(&r);
    return cli_args_exit(rc);
}

int cli_cmd_token(struct cli_ctx *c, int argc, char **argv)
{
    static const struct cli_sub subs[] = {{"create", token_create}, {NULL, NULL}};
    return cli_dispatch(c, usage, subs, argc, argv);
}
