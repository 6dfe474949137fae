/* `disparo messages ID` lists a campaign's messages, page by page through
 * next_cursor with --all; `disparo events ID` shows its history. */
#include <stdio.h>
#include <string.h>

#include "cli/cli_cmd.h"
#include "cli/cli_out.h"
#include "util/err.h"

#define PAGE_DEFAULT 100
#define PAGE_ALL 1000 /* the server's largest page: fewest round trips */
#define CURSOR_MAX 128

static const char messages_usage[] =
    "usage: disparo messages ID [--status S] [--limit N] [--cursor C] [--all]\n"
    "\n"
    "Lists a campaign's messages in id order.\n"
    "\n"
    "  --status S   only queued, sending, sent, delivered, read, failed, skipped or unknown\n"
    "  --limit N    messages per page, 1 to 1000 (default 100)\n"
    "  --cursor C   start where a previous page ended (its next_cursor)\n"
    "  --all        follow the pages to the end\n";

static const char events_usage[] =
    "usage: disparo events ID [--limit N]\n"
    "\n"
    "Shows a campaign's events, newest first: created, started, paused, waiting,\n"
    "sender_removed, completed, ...\n"
    "\n"
    "  --limit N    at most N events\n";

static int add_message(cli_table *t, const json_t *m)
{
    const json_t *err = cli_out_path(m, "error");
    char sender[32], errtxt[512] = "-";

    (void)cli_out_val(cli_out_path(m, "sender_id"), sender, sizeof sender);
    if (json_is_object(err)) {
        const char *code = cli_out_str(err, "code", "error");
        const char *detail = cli_out_str(err, "detail", NULL);
        (void)snprintf(errtxt, sizeof errtxt, "%s%s%s", code, detail ? ": " : "",
                       detail ? detail : "");
    }
    if (cli_table_cellf(t, "%lld", cli_out_int(m, "id", 0)) ||
        cli_table_cell(t, cli_out_str(m, "phone", "-")) ||
        cli_table_cell(t, cli_out_str(m, "status", "-")) ||
        cli_table_cellf(t, "%lld", cli_out_int(m, "attempts", 0)) ||
        cli_table_cell(t, json_is_integer(cli_out_path(m, "sender_id")) ? sender : "-") ||
        cli_table_cell(t, errtxt))
        return DP_ENOMEM;
    return DP_OK;
}

/* The reply's next_cursor as text ("" when there is none). */
static void next_cursor(const json_t *rep, char *out, size_t n)
{
    const json_t *v = cli_out_path(rep, "next_cursor");
    char tmp[CURSOR_MAX];

    out[0] = '\0';
    if (json_is_string(v) || json_is_integer(v))
        (void)snprintf(out, n, "%s", cli_out_val(v, tmp, sizeof tmp));
}

int cli_cmd_messages(struct cli_ctx *c, int argc, char **argv)
{
    static const char *const headers[] = {"ID", "PHONE", "STATUS", "ATTEMPTS", "SENDER", "ERROR"};
    int rc;
    const char *status = NULL, *limit_s = NULL, *cursor_s = NULL;
    int all = 0;
    const struct cli_opt opts[] = {
        {"--status", CLI_OPT_STR, &status},   {"--limit", CLI_OPT_STR, &limit_s},
        {"--cursor", CLI_OPT_STR, &cursor_s}, {"--all", CLI_OPT_FLAG, &all},
        {NULL, CLI_OPT_FLAG, NULL},
    };
    long long id, limit;
    char cursor[CURSOR_MAX] = "";
    char limit_txt[24];
    dp_buf q;
    cli_table *t = NULL;
    json_t *merged = NULL;
    cli_reply r;

    cli_reply_init(&r);
    buf_init(&q, 4096);
    rc = cli_args_parse_id(messages_usage, argc, argv, opts, &id, "messages needs a campaign id");
    if (rc != CLI_OK)
        goto out;
    limit = all ? PAGE_ALL : PAGE_DEFAULT;
    if (limit_s && cli_args_llong(limit_s, 1, 1000, &limit)) {
        rc = cli_args_usage_error(messages_usage, "--limit wants a number from 1 to 1000");
        goto out;
    }
    if (cursor_s && (size_t)snprintf(cursor, sizeof cursor, "%s", cursor_s) >= sizeof cursor) {
        rc = cli_args_usage_error(messages_usage, "--cursor is too long");
        goto out;
    }
    (void)snprintf(limit_txt, sizeof limit_txt, "%lld", limit);
    t = cli_table_new(6, headers);
    merged = json_array();
    if (!t || !merged)
        goto oom;
    cli_table_right(t, 0);
    cli_table_right(t, 3);

    for (;;) {
        buf_reset(&q);
        if (cli_http_query(&q, "status", status) || cli_http_query(&q, "limit", limit_txt) ||
            cli_http_query(&q, "cursor", cursor[0] ? cursor : NULL)) {
            rc = cli_args_usage_error(messages_usage, "--status is too long");
            goto out;
        }
        rc = cli_call(c, "GET", NULL, &r, "/campaigns/%lld/messages%s", id, buf_str(&q));
        if (rc)
            goto out;
        if (c->json && !all) {
            cli_print_raw(&r);
            goto out;
        }
        const json_t *page = cli_out_path(r.json, "messages");
        size_t i;
        json_t *m;
        json_array_foreach((json_t *)page, i, m)
        {
            if (c->json ? json_array_append(merged, m) != 0 : add_message(t, m) != DP_OK)
                goto oom;
        }
        next_cursor(r.json, cursor, sizeof cursor);
        if (!all || !cursor[0] || json_array_size(page) == 0)
            break;
    }
    if (c->json) {
        /* --all --json: the pages joined into one reply of the same shape. */
        json_t *one = json_pack("{s:O, s:n}", "messages", merged, "next_cursor");
        if (!one || json_dumpf(one, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER) != 0) {
            json_decref(one);
            goto oom;
        }
        putchar('\n');
        json_decref(one);
        goto out;
    }
    cli_table_print(t, stdout);
    if (!all && cursor[0])
        cli_out_line(stderr, "more: disparo messages %lld --cursor %s (or --all)", id, cursor);
    goto out;
oom:
    rc = cli_oom();
out:
    json_decref(merged);
    cli_table_free(t);
    buf_free(&q);
    cli_reply_free(&r);
    return cli_args_exit(rc);
}

/* {"reason":"outside_window","until":"..."} -> "reason=outside_window until=..." */
static void fmt_detail(const json_t *d, char *out, size_t n)
{
    const char *key;
    json_t *v;
    size_t len = 0;
    char tmp[256];

    out[0] = '\0';
    if (!json_is_object(d)) {
        (void)snprintf(out, n, "%s", json_is_null(d) || !d ? "" : cli_out_val(d, tmp, sizeof tmp));
        return;
    }
    json_object_foreach((json_t *)d, key, v)
    {
        int w = snprintf(out + len, n - len, "%s%s=%s", len ? " " : "", key,
                         cli_out_val(v, tmp, sizeof tmp));
        if (w < 0 || (size_t)w >= n - len)
            return;
        len += (size_t)w;
    }
}

int cli_cmd_events(struct cli_ctx *c, int argc, char **argv)
{
    static const char *const headers[] = {"ID", "AT", "TYPE", "DETAIL"};
    int rc;
    const char *limit_s = NULL;
    const struct cli_opt opts[] = {{"--limit", CLI_OPT_STR, &limit_s}, {NULL, CLI_OPT_FLAG, NULL}};
    long long id, limit;
    dp_buf q;
    cli_table *t = NULL;
    cli_reply r;
    char detail[512];

    cli_reply_init(&r);
    buf_init(&q, 256);
    rc = cli_args_parse_id(events_usage, argc, argv, opts, &id, "events needs a campaign id");
    if (rc != CLI_OK)
        goto out;
    if (limit_s && cli_args_llong(limit_s, 1, 1000000, &limit)) {
        rc = cli_args_usage_error(events_usage, "--limit wants a positive number");
        goto out;
    }
    if (cli_http_query(&q, "limit", limit_s))
        goto oom;
    rc = cli_call(c, "GET", NULL, &r, "/campaigns/%lld/events%s", id, buf_str(&q));
    if (cli_json_done(c, &r, rc))
        goto out;
    t = cli_table_new(4, headers);
    if (!t)
        goto oom;
    cli_table_right(t, 0);
    const json_t *events = cli_out_path(r.json, "events");
    size_t i;
    json_t *e;
    json_array_foreach((json_t *)events, i, e)
    {
        fmt_detail(cli_out_path(e, "detail"), detail, sizeof detail);
        if (cli_table_cellf(t, "%lld", cli_out_int(e, "id", 0)) ||
            cli_table_cell(t, cli_out_str(e, "at", "-")) ||
            cli_table_cell(t, cli_out_str(e, "type", "-")) || cli_table_cell(t, detail))
            goto oom;
    }
    cli_table_print(t, stdout);
    goto out;
oom:
    rc = cli_oom();
out:
    cli_table_free(t);
    buf_free(&q);
    cli_reply_free(&r);
    return cli_args_exit(rc);
}
