/* `disparo restrict ...` manages restriction lists and their entries (who
 * must not be messaged) and `disparo keywords ...` the reply keywords that
 * put a contact on one. A LIST argument is a list's id or its name; names
 * are resolved through GET /restriction-lists. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli_cmd.h"
#include "cli/cli_out.h"
#include "util/err.h"

#define INVALID_SHOWN 10
#define PAGE 1000

static const char restrict_usage[] =
    "usage: disparo restrict lists\n"
    "       disparo restrict create-list NAME [--retention-days N]\n"
    "       disparo restrict delete-list LIST\n"
    "       disparo restrict add LIST PHONE [--sender ID] [--reason R] [--expires RFC3339]\n"
    "       disparo restrict remove LIST PHONE [--sender ID]\n"
    "       disparo restrict entries LIST [--limit N] [--all]\n"
    "       disparo restrict import LIST FILE.csv\n"
    "       disparo restrict export LIST [-o FILE]\n"
    "       disparo restrict check PHONE [--sender ID]\n"
    "\n"
    "Restriction lists: phones on them are never messaged (every sender, or one with\n"
    "--sender). LIST is a list's id or name. do_not_disturb, blocked, not_interested\n"
    "and no_whatsapp are built in; --retention-days 0 keeps entries forever.\n"
    "An import's CSV holds a phone per line, or a header naming 'phone' and\n"
    "optionally 'reason'. export writes phone,sender_id,reason,source,created_at,\n"
    "expires_at of the active entries to FILE (default stdout).\n";

static const char keywords_usage[] =
    "usage: disparo keywords list\n"
    "       disparo keywords add KEYWORD [--match exact|contains|starts_with|ends_with]\n"
    "                                    [--case-sensitive] [--list LIST_NAME]\n"
    "       disparo keywords remove ID\n"
    "\n"
    "A reply matching a keyword puts its sender on the rule's restriction list\n"
    "(default do_not_disturb; match default contains, any case, accents ignored).\n";

/* Sets o.key to the option's value v when the option was given. */
static void set_str(json_t *o, const char *key, const char *v)
{
    if (v)
        json_object_set_new(o, key, json_string(v));
}

/* The id of LIST (an id or a name). Prints the error itself. */
static int resolve_list(struct cli_ctx *c, const char *arg, long long *id)
{
    cli_reply r;
    size_t i;
    json_t *l;
    int rc;
    if (cli_args_id(arg, id) == 0)
        return CLI_OK;
    cli_reply_init(&r);
    rc = cli_call(c, "GET", NULL, &r, "/restriction-lists");
    if (rc == CLI_OK) {
        rc = CLI_EAPI;
        json_array_foreach(cli_out_path(r.json, "restriction_lists"), i, l)
        {
            if (strcmp(cli_out_str(l, "name", ""), arg) == 0) {
                *id = cli_out_int(l, "id", 0);
                rc = CLI_OK;
                break;
            }
        }
        if (rc != CLI_OK)
            fprintf(stderr,
                    "error: no restriction list is named %s; see `disparo restrict lists`\n", arg);
    }
    cli_reply_free(&r);
    return rc;
}

static void print_list(const json_t *l)
{
    cli_out_kv(stdout, "id", "%lld", cli_out_int(l, "id", 0));
    cli_out_kv(stdout, "name", "%s", cli_out_str(l, "name", "-"));
    long long days = cli_out_int(l, "retention_days", 0);
    if (days)
        cli_out_kv(stdout, "retention", "%lld days", days);
    else
        cli_out_kv(stdout, "retention", "permanent");
    cli_out_kv(stdout, "entries", "%lld", cli_out_int(l, "entries", 0));
}

static void print_entry(const json_t *en)
{
    char tmp[64];
    cli_out_kv(stdout, "phone", "%s", cli_out_str(en, "phone", "-"));
    cli_out_kv(stdout, "list", "%s", cli_out_str(en, "list", "-"));
    cli_out_kv(stdout, "sender", "%s",
               json_is_null(cli_out_path(en, "sender_id"))
                   ? "every sender"
                   : cli_out_val(cli_out_path(en, "sender_id"), tmp, sizeof tmp));
    cli_out_kv(stdout, "reason", "%s", cli_out_str(en, "reason", "-"));
    cli_out_kv(stdout, "expires", "%s", cli_out_str(en, "expires_at", "never"));
}

/* restrict check's answer; phone is the one asked about. */
static void print_check(const json_t *rep, const char *phone, int one_sender)
{
    size_t i;
    json_t *l;

    if (!json_is_true(cli_out_path(rep, "restricted"))) {
        printf("%s is not restricted%s\n", cli_out_str(rep, "phone", phone),
               one_sender ? " for that sender" : "");
        return;
    }
    printf("%s is restricted by:", cli_out_str(rep, "phone", phone));
    json_array_foreach(cli_out_path(rep, "lists"), i, l) printf(" %s", json_string_value(l));
    printf("\n");
}

static int lists_table(struct cli_ctx *c, cli_reply *r)
{
    static const char *const headers[] = {"ID", "NAME", "RETENTION", "ENTRIES", "BUILTIN"};
    cli_table *t = NULL;
    size_t i;
    json_t *l;
    int rc = cli_call(c, "GET", NULL, r, "/restriction-lists");
    if (cli_json_done(c, r, rc))
        return rc;
    if (!(t = cli_table_new(5, headers)))
        goto oom;
    cli_table_right(t, 0);
    cli_table_right(t, 3);
    json_array_foreach(cli_out_path(r->json, "restriction_lists"), i, l)
    {
        long long days = cli_out_int(l, "retention_days", 0);
        if (cli_table_cellf(t, "%lld", cli_out_int(l, "id", 0)) ||
            cli_table_cell(t, cli_out_str(l, "name", "-")) ||
            (days ? cli_table_cellf(t, "%lld days", days) : cli_table_cell(t, "permanent")) ||
            cli_table_cellf(t, "%lld", cli_out_int(l, "entries", 0)) ||
            cli_table_cell(t, json_is_true(cli_out_path(l, "builtin")) ? "yes" : "no"))
            goto oom;
    }
    cli_table_print(t, stdout);
    cli_table_free(t);
    return CLI_OK;
oom:
    cli_table_free(t);
    return cli_oom();
}

/* A page of entries: printed raw under --json, else added to the table. */
static int entries_page(const cli_reply *r, void *arg)
{
    cli_table *t = arg;
    size_t i;
    json_t *en;

    if (!t) {
        cli_print_raw(r);
        return CLI_OK;
    }
    json_array_foreach(cli_out_path(r->json, "entries"), i, en)
    {
        char tmp[64];
        if (cli_table_cellf(t, "%lld", cli_out_int(en, "id", 0)) ||
            cli_table_cell(t, cli_out_str(en, "phone", "-")) ||
            cli_table_cell(t, cli_out_val(cli_out_path(en, "sender_id"), tmp, sizeof tmp)) ||
            cli_table_cell(t, cli_out_str(en, "reason", "-")) ||
            cli_table_cell(t, cli_out_str(en, "source", "-")) ||
            cli_table_cell(t, cli_out_str(en, "expires_at", "never")))
            return cli_oom();
    }
    return CLI_OK;
}

static int entries_table(struct cli_ctx *c, long long id, long long limit, int all)
{
    static const char *const headers[] = {"ID", "PHONE", "SENDER", "REASON", "SOURCE", "EXPIRES"};
    cli_table *t = NULL;
    long long after = 0;
    int rc;
    char path[96];

    if (!c->json && !(t = cli_table_new(6, headers)))
        return cli_oom();
    if (t)
        cli_table_right(t, 0);
    (void)snprintf(path, sizeof path, "/restriction-lists/%lld/entries?limit=%lld", id,
                   all ? PAGE : limit);
    rc = cli_pages(c, path, all, entries_page, t, &after);
    if (!rc && t)
        cli_table_print(t, stdout);
    if (!rc && t && !all && after)
        printf("(more: --all lists every entry)\n");
    cli_table_free(t);
    return rc;
}

/* The server's own CSV export (GET .../export.csv), streamed to file. */
static int export_csv(struct cli_ctx *c, long long id, const char *file)
{
    char path[96];
    FILE *f = cli_output_open(file, "wb");
    if (!f) {
        fprintf(stderr, "error: cannot write %s: %s\n", file, strerror(errno));
        return CLI_EUSAGE;
    }
    (void)snprintf(path, sizeof path, "/restriction-lists/%lld/export.csv", id);
    return cli_download(c, path, f, file);
}

static int import_csv(struct cli_ctx *c, long long id, const char *file)
{
    cli_reply r;
    char path[64];
    int rc;

    cli_reply_init(&r);
    snprintf(path, sizeof path, "/restriction-lists/%lld/import", id);
    rc = cli_upload(c, path, file, "text/csv", &r);
    if (!cli_json_done(c, &r, rc)) {
        long long ninvalid = cli_out_int(r.json, "invalid_count", 0);
        cli_out_import(r.json, ninvalid, INVALID_SHOWN);
        if (ninvalid > INVALID_SHOWN)
            printf("  ... and %lld more\n", ninvalid - INVALID_SHOWN);
    }
    cli_reply_free(&r);
    return rc;
}

int cli_cmd_restrict(struct cli_ctx *c, int argc, char **argv)
{
    const char *days = NULL, *sender = NULL, *reason = NULL, *expires = NULL, *limit = NULL,
               *output = NULL, *output2 = NULL;
    int all = 0, rc;
    const struct cli_opt opts[] = {{"--retention-days", CLI_OPT_STR, &days},
                                   {"--sender", CLI_OPT_STR, &sender},
                                   {"--reason", CLI_OPT_STR, &reason},
                                   {"--expires", CLI_OPT_STR, &expires},
                                   {"--limit", CLI_OPT_STR, &limit},
                                   {"--all", CLI_OPT_FLAG, &all},
                                   {"-o", CLI_OPT_STR, &output},
                                   {"--output", CLI_OPT_STR, &output2},
                                   {NULL, CLI_OPT_FLAG, NULL}};
    const char *pos[3];
    size_t npos = 0;
    long long id = 0, n = 0, sid = 0;
    json_t *body = NULL;
    cli_reply r;
    dp_buf path;
    cli_reply_init(&r);
    buf_init(&path, 4096);
    rc = cli_args_parse(restrict_usage, argc, argv, opts, pos, 3, &npos);
    if (rc != CLI_OK)
        goto out;
    const char *sub = npos ? pos[0] : "";
    if (sender && cli_args_id(sender, &sid)) {
        rc = cli_args_usage_error(restrict_usage, "--sender needs a sender id");
        goto out;
    }
    if (strcmp(sub, "lists") == 0 && npos == 1) {
        rc = lists_table(c, &r);
    } else if (strcmp(sub, "create-list") == 0 && npos == 2) {
        if (days && cli_args_llong(days, 0, 36500, &n)) {
            rc = cli_args_usage_error(restrict_usage, "--retention-days needs 0 to 36500");
            goto out;
        }
        body = json_pack("{s:s, s:I}", "name", pos[1], "retention_days", (json_int_t)n);
        if (!body) {
            rc = cli_args_usage_error(restrict_usage, "NAME must be UTF-8");
            goto out;
        }
        rc = cli_call(c, "POST", body, &r, "/restriction-lists");
        if (!cli_json_done(c, &r, rc))
            print_list(r.json);
    } else if (strcmp(sub, "delete-list") == 0 && npos == 2) {
        if ((rc = resolve_list(c, pos[1], &id)) == CLI_OK &&
            (rc = cli_call(c, "DELETE", NULL, &r, "/restriction-lists/%lld", id)) == CLI_OK &&
            !c->json)
            printf("restriction list %s deleted\n", pos[1]);
    } else if (strcmp(sub, "add") == 0 && npos == 3) {
        body = json_pack("{s:s}", "phone", pos[2]);
        if (!body) {
            rc = cli_args_usage_error(restrict_usage, "PHONE must be UTF-8");
            goto out;
        }
        if (sender)
            json_object_set_new(body, "sender_id", json_integer(sid));
        set_str(body, "reason", reason);
        set_str(body, "expires_at", expires);
        if ((rc = resolve_list(c, pos[1], &id)) == CLI_OK)
            rc = cli_call(c, "POST", body, &r, "/restriction-lists/%lld/entries", id);
        if (!cli_json_done(c, &r, rc))
            print_entry(r.json);
    } else if (strcmp(sub, "remove") == 0 && npos == 3) {
        if (cli_http_escape(&path, pos[2]) ||
            (sender && buf_printf(&path, "?sender_id=%lld", sid))) {
            rc = cli_args_usage_error(restrict_usage, "PHONE is too long");
            goto out;
        }
        if ((rc = resolve_list(c, pos[1], &id)) == CLI_OK)
            rc = cli_call(c, "DELETE", NULL, &r, "/restriction-lists/%lld/entries/%s", id,
                          buf_str(&path));
        if (!cli_json_done(c, &r, rc))
            printf("%lld entr%s of %s removed from %s\n", cli_out_int(r.json, "removed", 0),
                   cli_out_int(r.json, "removed", 0) == 1 ? "y" : "ies",
                   cli_out_str(r.json, "phone", pos[2]), pos[1]);
    } else if (strcmp(sub, "entries") == 0 && npos == 2) {
        n = 100;
        if (limit && cli_args_llong(limit, 1, 1000, &n)) {
            rc = cli_args_usage_error(restrict_usage, "--limit needs 1 to 1000");
            goto out;
        }
        if ((rc = resolve_list(c, pos[1], &id)) == CLI_OK)
            rc = entries_table(c, id, n, all);
    } else if (strcmp(sub, "import") == 0 && npos == 3) {
        if ((rc = resolve_list(c, pos[1], &id)) == CLI_OK)
            rc = import_csv(c, id, pos[2]);
    } else if (strcmp(sub, "export") == 0 && npos == 2) {
        if ((rc = resolve_list(c, pos[1], &id)) == CLI_OK)
            rc = export_csv(c, id, output ? output : output2);
    } else if (strcmp(sub, "check") == 0 && npos == 2) {
        if (buf_puts(&path, "/restrictions/check") || cli_http_query(&path, "phone", pos[1]) ||
            (sender && cli_http_query(&path, "sender_id", sender))) {
            rc = cli_args_usage_error(restrict_usage, "PHONE is too long");
            goto out;
        }
        rc = cli_call(c, "GET", NULL, &r, "%s", buf_str(&path));
        if (!cli_json_done(c, &r, rc))
            print_check(r.json, pos[1], sender != NULL);
    } else {
        rc = cli_args_usage_error(restrict_usage, "unknown or incomplete subcommand '%s'", sub);
    }
out:
    json_decref(body);
    buf_free(&path);
    cli_reply_free(&r);
    return cli_args_exit(rc);
}

int cli_cmd_keywords(struct cli_ctx *c, int argc, char **argv)
{
    static const char *const headers[] = {"ID", "KEYWORD", "MATCH", "CASE", "LIST"};
    const char *match = NULL, *list = NULL;
    int cs = 0, rc;
    const struct cli_opt opts[] = {{"--match", CLI_OPT_STR, &match},
                                   {"--list", CLI_OPT_STR, &list},
                                   {"--case-sensitive", CLI_OPT_FLAG, &cs},
                                   {NULL, CLI_OPT_FLAG, NULL}};
    const char *pos[2];
    size_t npos = 0;
    long long id = 0;
    json_t *body = NULL;
    cli_table *t = NULL;
    cli_reply r;
    cli_reply_init(&r);
    rc = cli_args_parse(keywords_usage, argc, argv, opts, pos, 2, &npos);
    if (rc != CLI_OK)
        goto out;
    const char *sub = npos ? pos[0] : "";
    if (strcmp(sub, "list") == 0 && npos == 1) {
        size_t i;
        json_t *k;
        rc = cli_call(c, "GET", NULL, &r, "/keyword-rules");
        if (cli_json_done(c, &r, rc))
            goto out;
        if (!(t = cli_table_new(5, headers)))
            goto oom;
        cli_table_right(t, 0);
        json_array_foreach(cli_out_path(r.json, "keyword_rules"), i, k)
        {
            if (cli_table_cellf(t, "%lld", cli_out_int(k, "id", 0)) ||
                cli_table_cell(t, cli_out_str(k, "keyword", "-")) ||
                cli_table_cell(t, cli_out_str(k, "match", "-")) ||
                cli_table_cell(t, json_is_true(cli_out_path(k, "case_sensitive")) ? "exact case"
                                                                                  : "any") ||
                cli_table_cell(t, cli_out_str(k, "list", "-")))
                goto oom;
        }
        cli_table_print(t, stdout);
    } else if (strcmp(sub, "add") == 0 && npos == 2) {
        body = json_pack("{s:s, s:b}", "keyword", pos[1], "case_sensitive", cs);
        if (!body) {
            rc = cli_args_usage_error(keywords_usage, "KEYWORD must be UTF-8");
            goto out;
        }
        set_str(body, "match", match);
        set_str(body, "list", list);
        rc = cli_call(c, "POST", body, &r, "/keyword-rules");
        if (!cli_json_done(c, &r, rc))
            printf("keyword rule %lld: %s (%s) -> %s\n", cli_out_int(r.json, "id", 0),
                   cli_out_str(r.json, "keyword", "-"), cli_out_str(r.json, "match", "-"),
                   cli_out_str(r.json, "list", "-"));
    } else if (strcmp(sub, "remove") == 0 && npos == 2) {
        if (cli_args_id(pos[1], &id)) {
            rc = cli_args_usage_error(keywords_usage, "keywords remove needs a rule id");
            goto out;
        }
        if ((rc = cli_call(c, "DELETE", NULL, &r, "/keyword-rules/%lld", id)) == CLI_OK && !c->json)
            printf("keyword rule %lld removed\n", id);
    } else {
        rc = cli_args_usage_error(keywords_usage, "unknown or incomplete subcommand '%s'", sub);
    }
    goto out;
oom:
    rc = cli_oom();
out:
    cli_table_free(t);
    json_decref(body);
    cli_reply_free(&r);
    return cli_args_exit(rc);
}
