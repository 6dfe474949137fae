/* `disparo contacts import` streams a CSV or XLSX file to the server as it
 * is (the server parses it, so client and server never disagree on a row),
 * `disparo contacts search|show` look contacts up, and `disparo list ...`
 * manages the contact lists campaigns send to. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cli/cli_cmd.h"
#include "cli/cli_out.h"
#include "util/err.h"

/* How many of the rejected rows to show; the reply carries up to 1000. */
#define INVALID_SHOWN 10
#define XLSX_TYPE "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#define HISTORY_SHOWN 20

static const char import_usage[] =
    "usage: disparo contacts import FILE --list NAME [--phone-column C]\n"
    "       disparo contacts search [Q] [--after ID] [--limit N]\n"
    "       disparo contacts show PHONE|ID\n"
    "\n"
    "import uploads a CSV or XLSX file (by its .xlsx extension; FILE '-' reads CSV\n"
    "from stdin) into the list NAME, creating the list if needed. The header row\n"
    "must name a 'phone' column (or the one --phone-column names, any case); 'name'\n"
    "is optional and every other column becomes a template variable. Phones without\n"
    "a country code get the server's default one.\n"
    "search finds contacts whose phone contains the digits of Q or whose name\n"
    "contains Q; show prints one contact, its lists and the messages it was sent.\n"
    "\n"
    "  --list NAME          the list to add the contacts to\n"
    "  --phone-column C     the header of the phone column (default: phone)\n"
    "  --after ID           continue after this contact id (from the last page)\n"
    "  --limit N            contacts per page, 1 to 1000 (default 100)\n";

static const char list_usage[] =
    "usage: disparo list list\n"
    "       disparo list create NAME\n"
    "       disparo list show ID\n"
    "       disparo list rename ID NAME\n"
    "       disparo list delete ID\n"
    "       disparo list add ID PHONE...\n"
    "       disparo list remove ID PHONE...\n"
    "       disparo list members ID [--after ID] [--limit N]\n"
    "\n"
    "Contact lists. `disparo contacts import FILE --list NAME` fills them; add and\n"
    "remove change members one phone at a time (at most 64 per call). Deleting a\n"
    "list keeps its contacts and the campaigns made from it.\n";

static void print_import(const json_t *rep, const char *list)
{
    const json_t *invalid = cli_out_path(rep, "invalid");
    long long ninvalid = cli_out_int(rep, "invalid_count", (long long)json_array_size(invalid));

    cli_out_kv(stdout, "list", "%s (id %lld)", list, cli_out_int(rep, "list_id", 0));
    cli_out_import(rep, ninvalid, INVALID_SHOWN);
    if (ninvalid > INVALID_SHOWN)
        printf("  ... and %lld more (--json shows the first %zu)\n", ninvalid - INVALID_SHOWN,
               json_array_size(invalid));
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

static int contacts_import(struct cli_ctx *c, int argc, char **argv)
{
    int rc;
    const char *list = NULL, *pcol = NULL;
    const struct cli_opt opts[] = {{"--list", CLI_OPT_STR, &list},
                                   {"--phone-column", CLI_OPT_STR, &pcol},
                                   {NULL, CLI_OPT_FLAG, NULL}};
    const char *pos[1];
    size_t npos = 0;
    dp_buf path;
    cli_reply r;

    cli_reply_init(&r);
    buf_init(&path, 4096);
    rc = cli_args_parse(import_usage, argc, argv, opts, pos, 1, &npos);
    if (rc != CLI_OK)
        goto out;
    if (npos != 1 || !list || !*list) {
        rc = cli_args_usage_error(import_usage, "contacts import needs FILE and --list NAME");
        goto out;
    }
    if (buf_puts(&path, "/contacts/import") || cli_http_query(&path, "list", list) ||
        (pcol && cli_http_query(&path, "phone_column", pcol))) {
        rc = cli_args_usage_error(import_usage, "--list NAME or --phone-column is too long");
        goto out;
    }
    /* '-' is read as CSV: stdin has no name to tell a workbook by */
    const char *type =
        strcmp(pos[0], "-") != 0 && ends_with(pos[0], ".xlsx") ? XLSX_TYPE : "text/csv";
    rc = cli_upload(c, buf_str(&path), pos[0], type, &r);
    if (!cli_json_done(c, &r, rc))
        print_import(r.json, list);
out:
    buf_free(&path);
    cli_reply_free(&r);
    return cli_args_exit(rc);
}

/* A page of contacts as a table, and how to get the next one. */
static int print_contacts(const json_t *rep, const char *again)
{
    static const char *const headers[] = {"ID", "PHONE", "NAME"};
    cli_table *t = cli_table_new(3, headers);
    size_t i;
    json_t *ct;
    if (!t)
        goto oom;
    cli_table_right(t, 0);
    json_array_foreach(cli_out_path(rep, "contacts"), i, ct)
    {
        if (cli_table_cellf(t, "%lld", cli_out_int(ct, "id", 0)) ||
            cli_table_cell(t, cli_out_str(ct, "phone", "-")) ||
            cli_table_cell(t, cli_out_str(ct, "name", "-")))
            goto oom;
    }
    cli_table_print(t, stdout);
    cli_table_free(t);
    if (json_is_integer(cli_out_path(rep, "next_after")))
        printf("more: %s --after %lld\n", again, cli_out_int(rep, "next_after", 0));
    return CLI_OK;
oom:
    cli_table_free(t);
    return cli_oom();
}

/* contacts search and list members: GETs path (its query begun) with --after
 * and --limit (checked) added, and shows the page; again names the command
 * in the "more:" hint. */
static int contacts_page(struct cli_ctx *c, const char *usage, dp_buf *path, const char *after,
                         const char *limit, const char *again)
{
    long long v;
    int rc;
    cli_reply r;

    if (after && cli_args_id(after, &v))
        return cli_args_usage_error(usage, "--after wants a contact id");
    if (limit && cli_args_llong(limit, 1, 1000, &v))
        return cli_args_usage_error(usage, "--limit wants 1 to 1000");
    if ((after && cli_http_query(path, "after", after)) ||
        (limit && cli_http_query(path, "limit", limit)))
        return cli_args_usage_error(usage, "arguments too long");
    cli_reply_init(&r);
    rc = cli_call(c, "GET", NULL, &r, "%s", buf_str(path));
    if (!cli_json_done(c, &r, rc))
        rc = print_contacts(r.json, again);
    cli_reply_free(&r);
    return rc;
}

static int contacts_search(struct cli_ctx *c, int argc, char **argv)
{
    const char *after = NULL, *limit = NULL;
    const struct cli_opt opts[] = {{"--after", CLI_OPT_STR, &after},
                                   {"--limit", CLI_OPT_STR, &limit},
                                   {NULL, CLI_OPT_FLAG, NULL}};
    const char *pos[1];
    size_t npos = 0;
    dp_buf path;
    buf_init(&path, 4096);
    int rc = cli_args_parse(import_usage, argc, argv, opts, pos, 1, &npos);
    if (rc != CLI_OK)
        goto out;
    if (buf_puts(&path, "/contacts?x=1") || (npos && cli_http_query(&path, "search", pos[0]))) {
        rc = cli_args_usage_error(import_usage, "Q is too long");
        goto out;
    }
    rc = contacts_page(c, import_usage, &path, after, limit, "disparo contacts search ...");
out:
    buf_free(&path);
    return cli_args_exit(rc);
}

static int contacts_show(struct cli_ctx *c, int argc, char **argv)
{
    static const char *const headers[] = {"CAMPAIGN", "STATUS", "SENT", "ERROR/REPLY"};
    const struct cli_opt opts[] = {{NULL, CLI_OPT_FLAG, NULL}};
    const char *pos[1];
    size_t npos = 0;
    cli_table *t = NULL;
    cli_reply r, h;
    cli_reply_init(&r);
    cli_reply_init(&h);
    int rc = cli_args_parse(import_usage, argc, argv, opts, pos, 1, &npos);
    if (rc != CLI_OK)
        goto out;
    if (npos != 1 || strspn(pos[0], "+0123456789") != strlen(pos[0])) {
        rc = cli_args_usage_error(import_usage, "contacts show needs a phone or a contact id");
        goto out;
    }
    if ((rc = cli_call(c, "GET", NULL, &r, "/contacts/%s", pos[0])) ||
        (rc = cli_call(c, "GET", NULL, &h, "/contacts/%lld/history?limit=%d",
                       cli_out_int(r.json, "id", 0), HISTORY_SHOWN)))
        goto out;
    if (c->json) {
        cli_print_raw(&r);
        cli_print_raw(&h);
        goto out;
    }
    cli_out_kv(stdout, "id", "%lld", cli_out_int(r.json, "id", 0));
    cli_out_kv(stdout, "phone", "%s", cli_out_str(r.json, "phone", "-"));
    cli_out_kv(stdout, "name", "%s", cli_out_str(r.json, "name", "-"));
    const char *k;
    json_t *v;
    json_object_foreach(cli_out_path(r.json, "vars"), k, v)
    {
        char tmp[64];
        cli_out_kv(stdout, k, "%s", cli_out_val(v, tmp, sizeof tmp));
    }
    size_t i;
    json_t *l;
    json_array_foreach(cli_out_path(r.json, "lists"), i, l)
        cli_out_kv(stdout, i ? "" : "lists", "%s (id %lld)", cli_out_str(l, "name", "-"),
                   cli_out_int(l, "id", 0));
    cli_out_kv(stdout, "created", "%s", cli_out_str(r.json, "created_at", "-"));
    if (!(t = cli_table_new(4, headers)))
        goto oom;
    json_array_foreach(cli_out_path(h.json, "history"), i, l)
    {
        const char *why = cli_out_str(l, "error.detail", NULL);
        if (!why)
            why = cli_out_str(l, "reply.text", "");
        if (cli_table_cellf(t, "%s (%lld)", cli_out_str(l, "campaign.name", "-"),
                            cli_out_int(l, "campaign.id", 0)) ||
            cli_table_cell(t, cli_out_str(l, "status", "-")) ||
            cli_table_cell(t, cli_out_str(l, "sent_at", "-")) || cli_table_cell(t, why))
            goto oom;
    }
    putchar('\n');
    if (cli_table_rows(t))
        cli_table_print(t, stdout);
    else
        puts("no messages sent to this phone");
    goto out;
oom:
    rc = cli_oom();
out:
    cli_table_free(t);
    cli_reply_free(&r);
    cli_reply_free(&h);
    return cli_args_exit(rc);
}

int cli_cmd_contacts(struct cli_ctx *c, int argc, char **argv)
{
    static const struct cli_sub subs[] = {{"import", contacts_import},
                                          {"search", contacts_search},
                                          {"show", contacts_show},
                                          {NULL, NULL}};
    return cli_dispatch(c, import_usage, subs, argc, argv);
}

static int list_list(struct cli_ctx *c, cli_reply *r)
{
    static const char *const headers[] = {"ID", "NAME", "MEMBERS", "CREATED"};
    int rc = cli_call(c, "GET", NULL, r, "/lists");
    cli_table *t = NULL;
    size_t i;
    json_t *l;

    if (cli_json_done(c, r, rc))
        goto out;
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
    rc = cli_oom();
out:
    cli_table_free(t);
    return rc;
}

/* list add|remove ID PHONE...: one request with every phone. */
static int list_members_change(struct cli_ctx *c, int add, long long id, const char **phones,
                               size_t n, cli_reply *r)
{
    json_t *arr = json_array();
    json_t *body = NULL;
    int rc;
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_string(phones[i]));
    body = json_pack("{s:o}", "phones", arr);
    if (!body) {
        rc = cli_args_usage_error(list_usage, "PHONE must be UTF-8");
        goto out;
    }
    /* DELETE with a body: the server reads {"phones": [...]} on both */
    rc = cli_call(c, add ? "POST" : "DELETE", body, r, "/lists/%lld/contacts", id);
    if (rc || c->json)
        goto out;
    if (add)
        cli_out_kv(stdout, "added", "%lld", cli_out_int(r->json, "added", 0));
    else
        cli_out_kv(stdout, "removed", "%lld", cli_out_int(r->json, "removed", 0));
    cli_out_kv(stdout, "members", "%lld", cli_out_int(r->json, "members", 0));
    size_t i;
    json_t *v;
    json_array_foreach(cli_out_path(r->json, "invalid"), i, v)
    {
        long long k = cli_out_int(v, "index", 0);
        cli_out_line(stdout, "  %s: %s", k >= 0 && (size_t)k < n ? phones[k] : "?",
                     cli_out_str(v, "reason", "-"));
    }
    json_array_foreach(cli_out_path(r->json, "not_found"), i, v)
        cli_out_line(stdout, "  %s: not on the list", json_string_value(v));
out:
    json_decref(body);
    return rc;
}

int cli_cmd_list(struct cli_ctx *c, int argc, char **argv)
{
    int rc;
    const char *pos[2 + CLI_MULTI_MAX];
    size_t npos = 0;
    const char *after = NULL, *limit = NULL;
    const struct cli_opt opts[] = {{"--after", CLI_OPT_STR, &after},
                                   {"--limit", CLI_OPT_STR, &limit},
                                   {NULL, CLI_OPT_FLAG, NULL}};
    long long id = 0;
    json_t *body = NULL;
    dp_buf path;
    cli_reply r;

    cli_reply_init(&r);
    buf_init(&path, 4096);
    rc = cli_args_parse(list_usage, argc, argv, opts, pos, sizeof pos / sizeof pos[0], &npos);
    if (rc != CLI_OK)
        goto out;
    if (npos == 0) {
        rc = cli_args_usage_error(list_usage, "missing subcommand");
        goto out;
    }
    const char *sub = pos[0];
    if (strcmp(sub, "list") == 0 && npos == 1) {
        rc = list_list(c, &r);
        goto out;
    }
    if (strcmp(sub, "create") != 0 && npos >= 2 && cli_args_id(pos[1], &id)) {
        rc = cli_args_usage_error(list_usage, "list %s needs a list id", sub);
        goto out;
    }
    if (strcmp(sub, "create") == 0 && npos == 2) {
        body = json_pack("{s:s}", "name", pos[1]);
        if (!body) {
            rc = cli_args_usage_error(list_usage, "NAME must be UTF-8");
            goto out;
        }
        rc = cli_call(c, "POST", body, &r, "/lists");
    } else if (strcmp(sub, "show") == 0 && npos == 2) {
        rc = cli_call(c, "GET", NULL, &r, "/lists/%lld", id);
    } else if (strcmp(sub, "rename") == 0 && npos == 3) {
        body = json_pack("{s:s}", "name", pos[2]);
        if (!body) {
            rc = cli_args_usage_error(list_usage, "NAME must be UTF-8");
            goto out;
        }
        rc = cli_call(c, "PATCH", body, &r, "/lists/%lld", id);
    } else if (strcmp(sub, "delete") == 0 && npos == 2) {
        rc = cli_call(c, "DELETE", NULL, &r, "/lists/%lld", id);
        if (!rc && !c->json)
            printf("list %lld deleted\n", id);
        goto out;
    } else if ((strcmp(sub, "add") == 0 || strcmp(sub, "remove") == 0) && npos >= 3) {
        rc = list_members_change(c, sub[0] == 'a', id, pos + 2, npos - 2, &r);
        if (!rc && c->json)
            cli_print_raw(&r);
        goto out;
    } else if (strcmp(sub, "members") == 0 && npos == 2) {
        if (buf_printf(&path, "/lists/%lld/contacts?x=1", id)) {
            rc = cli_args_usage_error(list_usage, "out of memory");
            goto out;
        }
        rc = contacts_page(c, list_usage, &path, after, limit, "disparo list members ...");
        goto out;
    } else {
        rc = cli_args_usage_error(list_usage, "unknown or incomplete subcommand '%s'", sub);
        goto out;
    }
    if (cli_json_done(c, &r, rc))
        goto out;
    cli_out_kv(stdout, "id", "%lld", cli_out_int(r.json, "id", 0));
    cli_out_kv(stdout, "name", "%s", cli_out_str(r.json, "name", "-"));
    cli_out_kv(stdout, "members", "%lld", cli_out_int(r.json, "members", 0));
    cli_out_kv(stdout, "created", "%s", cli_out_str(r.json, "created_at", "-"));
out:
    json_decref(body);
    buf_free(&path);
    cli_reply_free(&r);
    return cli_args_exit(rc);
}
