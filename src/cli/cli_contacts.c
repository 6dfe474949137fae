/* `disparo contacts import` streams a CSV file to the server as it is (the
 * server parses it, so client and server never disagree on a row), and
 * `disparo list ...` manages the contact lists campaigns send to. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli_cmd.h"
#include "cli/cli_out.h"
#include "util/err.h"

/* How many of the rejected rows to show; the reply carries up to 1000. */
#define INVALID_SHOWN 10

static const char import_usage[] =
    "usage: disparo contacts import FILE --list NAME\n"
    "\n"
    "Uploads a CSV file (FILE '-' reads stdin) into the list NAME, creating the list\n"
    "if needed. The header row must name a 'phone' column; 'name' is optional and\n"
    "every other column becomes a template variable. Phones without a country code\n"
    "get the server's default one.\n"
    "\n"
    "  --list NAME   the list to add the contacts to\n";

static const char list_usage[] =
    "usage: disparo list list\n"
    "       disparo list create NAME\n"
    "       disparo list show ID\n"
    "\n"
    "Contact lists. `disparo contacts import FILE --list NAME` fills them.\n";

static void print_import(const json_t *rep, const char *list)
{
    const json_t *invalid = cli_out_path(rep, "invalid");
    long long ninvalid = cli_out_int(rep, "invalid_count", (long long)json_array_size(invalid));
    size_t i;
    json_t *row;

    cli_out_kv(stdout, "list", "%s (id %lld)", list, cli_out_int(rep, "list_id", 0));
    cli_out_kv(stdout, "imported", "%lld", cli_out_int(rep, "imported", 0));
    cli_out_kv(stdout, "updated", "%lld", cli_out_int(rep, "updated", 0));
    cli_out_kv(stdout, "duplicates", "%lld", cli_out_int(rep, "duplicates", 0));
    cli_out_kv(stdout, "invalid", "%lld", ninvalid);
    json_array_foreach(invalid, i, row)
    {
        if (i == INVALID_SHOWN)
            break;
        cli_out_line(stdout, "  line %lld: %s", cli_out_int(row, "line", 0),
                     cli_out_str(row, "reason", "-"));
    }
    if (ninvalid > INVALID_SHOWN)
        printf("  ... and %lld more (--json shows the first %zu)\n", ninvalid - INVALID_SHOWN,
               json_array_size(invalid));
}

static int contacts_import(struct cli_ctx *c, int argc, char **argv)
{
    int rc;
    const char *list = NULL;
    const struct cli_opt opts[] = {{"--list", CLI_OPT_STR, &list}, {NULL, CLI_OPT_FLAG, NULL}};
    const char *pos[1];
    size_t npos = 0;
    FILE *f = NULL;
    int is_stdin = 0;
    dp_buf path;
    cli_reply r;

    cli_reply_init(&r);
    buf_init(&path, 4096);
    rc = cli_args_parse(import_usage, argc, argv, opts, pos, 1, &npos);
    if (rc != CLI_OK) {
        rc = rc == CLI_HELP ? CLI_OK : rc;
        goto out;
    }
    if (npos != 1 || !list || !*list) {
        rc = cli_args_usage_error(import_usage, "contacts import needs FILE and --list NAME");
        goto out;
    }
    is_stdin = strcmp(pos[0], "-") == 0;
    f = is_stdin ? stdin : fopen(pos[0], "rb");
    if (!f) {
        fprintf(stderr, "error: cannot open %s: %s\n", pos[0], strerror(errno));
        rc = CLI_EUSAGE;
        goto out;
    }
    if (buf_puts(&path, "/contacts/import") || cli_http_query(&path, "list", list)) {
        rc = cli_args_usage_error(import_usage, "--list NAME is too long");
        goto out;
    }
    if (cli_http_upload(c->http, buf_str(&path), f, is_stdin ? "stdin" : pos[0], "text/csv", &r)) {
        cli_print_error(c, &r);
        rc = CLI_EAPI;
        goto out;
    }
    if (c->json)
        cli_print_raw(&r);
    else
        print_import(r.json, list);
out:
    if (f && !is_stdin)
        fclose(f);
    buf_free(&path);
    cli_reply_free(&r);
    return rc;
}

int cli_cmd_contacts(struct cli_ctx *c, int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : NULL;

    if (!sub)
        return cli_args_usage_error(import_usage, "missing subcommand");
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
        fputs(import_usage, stdout);
        return CLI_OK;
    }
    if (strcmp(sub, "import") == 0)
        return contacts_import(c, argc - 1, argv + 1);
    return cli_args_usage_error(import_usage, "unknown subcommand '%s'", sub);
}

static int list_list(struct cli_ctx *c, cli_reply *r)
{
    static const char *const headers[] = {"ID", "NAME", "MEMBERS", "CREATED"};
    int rc = cli_call(c, "GET", NULL, r, "/lists");
    cli_table *t = NULL;
    size_t i;
    json_t *l;

    if (rc)
        goto out;
    if (c->json) {
        cli_print_raw(r);
        goto out;
    }
    t = cli_table_new(4, headers);
    if (!t)
        goto oom;
    cli_table_right(t, 0);
    cli_table_right(t, 2);
    json_array_foreach(cli_out_path(r->json, "lists"), i, l)
    {
        if (cli_table_cellf(t, "%lld", cli_out_int(l, "id", 0)) ||
            cli_table_cell(t, cli_out_str(l, "name", "-")) ||
            cli_table_cellf(t, "%lld", cli_out_int(l, "members", 0)) ||
            cli_table_cell(t, cli_out_str(l, "created_at", "-")))
            goto oom;
    }
    cli_table_print(t, stdout);
    goto out;
oom:
    fputs("error: out of memory\n", stderr);
    rc = CLI_EAPI;
out:
    cli_table_free(t);
    return rc;
}

int cli_cmd_list(struct cli_ctx *c, int argc, char **argv)
{
    int rc;
    const char *pos[2];
    size_t npos = 0;
    const struct cli_opt opts[] = {{NULL, CLI_OPT_FLAG, NULL}};
    long long id = 0;
    json_t *body = NULL;
    cli_reply r;

    cli_reply_init(&r);
    rc = cli_args_parse(list_usage, argc, argv, opts, pos, 2, &npos);
    if (rc != CLI_OK) {
        rc = rc == CLI_HELP ? CLI_OK : rc;
        goto out;
    }
    if (npos == 0) {
        rc = cli_args_usage_error(list_usage, "missing subcommand");
        goto out;
    }
    if (strcmp(pos[0], "list") == 0 && npos == 1) {
        rc = list_list(c, &r);
        goto out;
    }
    if (strcmp(pos[0], "create") == 0 && npos == 2) {
        body = json_pack("{s:s}", "name", pos[1]);
        if (!body) {
            rc = cli_args_usage_error(list_usage, "NAME must be UTF-8");
            goto out;
        }
        rc = cli_call(c, "POST", body, &r, "/lists");
    } else if (strcmp(pos[0], "show") == 0 && npos == 2) {
        if (cli_args_id(pos[1], &id)) {
            rc = cli_args_usage_error(list_usage, "list show needs a list id");
            goto out;
        }
        rc = cli_call(c, "GET", NULL, &r, "/lists/%lld", id);
    } else {
        rc = cli_args_usage_error(list_usage, "unknown or incomplete subcommand '%s'", pos[0]);
        goto out;
    }
    if (rc)
        goto out;
    if (c->json) {
        cli_print_raw(&r);
        goto out;
    }
    cli_out_kv(stdout, "id", "%lld", cli_out_int(r.json, "id", 0));
    cli_out_kv(stdout, "name", "%s", cli_out_str(r.json, "name", "-"));
    cli_out_kv(stdout, "members", "%lld", cli_out_int(r.json, "members", 0));
    cli_out_kv(stdout, "created", "%s", cli_out_str(r.json, "created_at", "-"));
out:
    json_decref(body);
    cli_reply_free(&r);
    return rc;
}
