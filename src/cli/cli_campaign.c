/* `disparo campaign ...`: the subcommand dispatch, list, show and the state
 * changes (start, pause, resume, cancel). create and watch have their own
 * files; this one also owns how a campaign is shown. */
#include <stdio.h>
#include <string.h>

#include "cli/cli_cmd.h"
#include "cli/cli_out.h"
#include "util/err.h"

static const char usage[] =
    "usage: disparo campaign create --name N --sender ID --text TEXT (--list ID | --contacts-csv "
    "FILE) [...]\n"
    "       disparo campaign list [--status S]\n"
    "       disparo campaign show ID\n"
    "       disparo campaign start|pause|resume|cancel ID\n"
    "       disparo campaign watch ID [--interval-ms MS]\n"
    "       disparo campaign report ID [--xlsx FILE]\n"
    "       disparo campaign export ID [-o FILE]\n"
    "\n"
    "  --status S   draft, scheduled, running, paused, completed or cancelled\n"
    "\n"
    "`disparo campaign create --help` lists the creation options. `watch` follows a\n"
    "campaign until it completes or is cancelled.\n";

void cli_campaign_progress(const json_t *camp, struct cli_progress *p)
{
    long long queued = cli_out_int(camp, "counts.queued", 0);
    long long sending = cli_out_int(camp, "counts.sending", 0);

    p->total = cli_out_int(camp, "counts.total", 0);
    p->done = p->total - queued - sending;
    if (p->done < 0)
        p->done = 0;
    p->sent = cli_out_int(camp, "counts.sent", 0) + cli_out_int(camp, "counts.delivered", 0) +
              cli_out_int(camp, "counts.read", 0);
    p->failed = cli_out_int(camp, "counts.failed", 0);
    p->skipped = cli_out_int(camp, "counts.skipped", 0);
    p->unknown = cli_out_int(camp, "counts.unknown", 0);
}

/* 1500 -> "1.5s", 90000 -> "1m30s", 5400000 -> "1h30m": for people reading
 * intervals and pauses. */
static void fmt_ms(long long ms, char *out, size_t n)
{
    if (ms < 1000)
        (void)snprintf(out, n, "%lldms", ms);
    else if (ms < 60000 && ms % 1000)
        (void)snprintf(out, n, "%.1fs", (double)ms / 1000);
    else if (ms < 60000)
        (void)snprintf(out, n, "%llds", ms / 1000);
    else if (ms < 3600000 && ms % 60000)
        (void)snprintf(out, n, "%lldm%02llds", ms / 60000, ms % 60000 / 1000);
    else if (ms < 3600000)
        (void)snprintf(out, n, "%lldm", ms / 60000);
    else
        (void)snprintf(out, n, "%lldh%02lldm", ms / 3600000, ms % 3600000 / 60000);
}

/* [1,2,3,4,5] -> "Mon-Fri", [0,6] -> "Sun,Sat". */
static void fmt_days(const json_t *days, char *out, size_t n)
{
    static const char *const names[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    int set[7] = {0};
    size_t i, len = 0;
    json_t *d;

    out[0] = '\0';
    json_array_foreach((json_t *)days, i, d)
    {
        json_int_t v = json_integer_value(d);
        if (v >= 0 && v <= 6)
            set[v] = 1;
    }
    for (int a = 0; a < 7; a++) {
        if (!set[a])
            continue;
        int b = a;
        while (b + 1 < 7 && set[b + 1])
            b++;
        int w;
        if (b - a >= 2)
            w = snprintf(out + len, n - len, "%s%s-%s", len ? "," : "", names[a], names[b]);
        else if (b == a + 1)
            w = snprintf(out + len, n - len, "%s%s,%s", len ? "," : "", names[a], names[b]);
        else
            w = snprintf(out + len, n - len, "%s%s", len ? "," : "", names[a]);
        if (w < 0 || (size_t)w >= n - len)
            return;
        len += (size_t)w;
        a = b;
    }
    if (len == 0)
        (void)snprintf(out, n, "no days");
}

/* [1,2] -> "1, 2". */
static void fmt_ids(const json_t *ids, char *out, size_t n)
{
    size_t i, len = 0;
    json_t *v;

    (void)snprintf(out, n, "-");
    json_array_foreach((json_t *)ids, i, v)
    {
        int w =
            snprintf(out + len, n - len, "%s%lld", i ? ", " : "", (long long)json_integer_value(v));
        if (w < 0 || (size_t)w >= n - len)
            return;
        len += (size_t)w;
    }
}

void cli_campaign_print(const json_t *camp)
{
    char a[64], b[64], days[64], tmp[256];
    struct cli_progress p;
    const json_t *win = cli_out_path(camp, "window");
    const json_t *senders = cli_out_path(camp, "sender_ids");
    const char *reason = cli_out_str(camp, "state_reason", NULL);
    long long list_id = cli_out_int(camp, "audience.list_id", 0);

    cli_campaign_progress(camp, &p);
    cli_out_kv(stdout, "id", "%lld", cli_out_int(camp, "id", 0));
    cli_out_kv(stdout, "name", "%s", cli_out_str(camp, "name", "-"));
    if (reason)
        cli_out_kv(stdout, "status", "%s (waiting: %s)", cli_out_str(camp, "status", "-"), reason);
    else
        cli_out_kv(stdout, "status", "%s", cli_out_str(camp, "status", "-"));
    cli_out_kv(stdout, "message", "%s", cli_out_str(camp, "message.text", ""));
    fmt_ids(senders, tmp, sizeof tmp);
    cli_out_kv(stdout, "senders", "%s", tmp);
    if (list_id > 0 && cli_out_int(camp, "audience.contacts", 0) > 0)
        cli_out_kv(stdout, "audience", "list %lld, and %lld contacts given inline", list_id,
                   cli_out_int(camp, "audience.contacts", 0));
    else if (list_id > 0)
        cli_out_kv(stdout, "audience", "list %lld", list_id);
    else
        cli_out_kv(stdout, "audience", "%lld contacts", cli_out_int(camp, "audience.contacts", 0));
    if (json_is_object(win)) {
        fmt_days(cli_out_path(win, "days"), days, sizeof days);
        cli_out_kv(stdout, "window", "%s %s %s-%s", cli_out_str(win, "timezone", "?"), days,
                   cli_out_str(win, "start", "?"), cli_out_str(win, "end", "?"));
    } else {
        cli_out_kv(stdout, "window", "always");
    }
    fmt_ms(cli_out_int(camp, "interval.min_ms", 0), a, sizeof a);
    fmt_ms(cli_out_int(camp, "interval.max_ms", 0), b, sizeof b);
    cli_out_kv(stdout, "interval", "%s-%s between sends", a, b);
    if (json_is_object(cli_out_path(camp, "pause"))) {
        fmt_ms(cli_out_int(camp, "pause.for_ms", 0), a, sizeof a);
        cli_out_kv(stdout, "pause", "%s after every %lld sends", a,
                   cli_out_int(camp, "pause.after", 0));
    } else {
        cli_out_kv(stdout, "pause", "none");
    }
    cli_out_kv(stdout, "resend unknown", "%s",
               cli_out_val(cli_out_path(camp, "resend_unknown"), tmp, sizeof tmp));
    cli_out_kv(stdout, "max attempts", "%lld", cli_out_int(camp, "max_attempts", 0));
    cli_out_kv(stdout, "progress", "%lld/%lld done: sent %lld failed %lld skipped %lld%s", p.done,
               p.total, p.sent, p.failed, p.skipped, p.unknown ? " (some unknown)" : "");
    cli_out_kv(stdout, "counts", "%s", cli_out_val(cli_out_path(camp, "counts"), tmp, sizeof tmp));
    cli_out_kv(stdout, "start at", "%s", cli_out_str(camp, "start_at", "-"));
    cli_out_kv(stdout, "created", "%s", cli_out_str(camp, "created_at", "-"));
    cli_out_kv(stdout, "started", "%s", cli_out_str(camp, "started_at", "-"));
    cli_out_kv(stdout, "finished", "%s", cli_out_str(camp, "finished_at", "-"));
    cli_out_kv(stdout, "next send", "%s", cli_out_str(camp, "next_send_at", "-"));
}

static int campaign_list(struct cli_ctx *c, int argc, char **argv)
{
    static const char *const headers[] = {"ID",   "NAME",   "STATUS",  "PROGRESS",
                                          "SENT", "FAILED", "SKIPPED", "CREATED"};
    int rc;
    const char *status = NULL;
    const struct cli_opt opts[] = {{"--status", CLI_OPT_STR, &status}, {NULL, CLI_OPT_FLAG, NULL}};
    const char *pos[1];
    size_t npos = 0;
    dp_buf q;
    cli_table *t = NULL;
    cli_reply r;
    const json_t *list;
    size_t i;
    json_t *camp;

    cli_reply_init(&r);
    buf_init(&q, 1024);
    rc = cli_args_parse(usage, argc, argv, opts, pos, 0, &npos);
    if (rc != CLI_OK)
        goto out;
    if (cli_http_query(&q, "status", status)) {
        rc = cli_args_usage_error(usage, "--status is too long");
        goto out;
    }
    rc = cli_call(c, "GET", NULL, &r, "/campaigns%s", buf_str(&q));
    if (cli_json_done(c, &r, rc))
        goto out;
    t = cli_table_new(8, headers);
    if (!t)
        goto oom;
    cli_table_right(t, 0);
    for (size_t col = 3; col <= 6; col++)
        cli_table_right(t, col);
    list = cli_out_path(r.json, "campaigns");
    json_array_foreach((json_t *)list, i, camp)
    {
        struct cli_progress p;
        cli_campaign_progress(camp, &p);
        if (cli_table_cellf(t, "%lld", cli_out_int(camp, "id", 0)) ||
            cli_table_cell(t, cli_out_str(camp, "name", "-")) ||
            cli_table_cell(t, cli_out_str(camp, "status", "-")) ||
            cli_table_cellf(t, "%lld/%lld", p.done, p.total) ||
            cli_table_cellf(t, "%lld", p.sent) || cli_table_cellf(t, "%lld", p.failed) ||
            cli_table_cellf(t, "%lld", p.skipped) ||
            cli_table_cell(t, cli_out_str(camp, "created_at", "-")))
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

/* show, start, pause, resume, cancel: one id, one request, the campaign back. */
static int campaign_one(struct cli_ctx *c, int argc, char **argv)
{
    int rc;
    const char *sub = argv[0];
    int show = strcmp(sub, "show") == 0;
    const struct cli_opt opts[] = {{NULL, CLI_OPT_FLAG, NULL}};
    long long id;
    cli_reply r;

    cli_reply_init(&r);
    rc = cli_args_parse_id(usage, argc, argv, opts, &id, "campaign %s needs a campaign id", sub);
    if (rc != CLI_OK)
        goto out;
    if (show)
        rc = cli_call(c, "GET", NULL, &r, "/campaigns/%lld", id);
    else
        rc = cli_call(c, "POST", NULL, &r, "/campaigns/%lld/%s", id, sub);
    if (cli_json_done(c, &r, rc))
        goto out;
    if (show) {
        cli_campaign_print(r.json);
    } else {
        const char *reason = cli_out_str(r.json, "state_reason", NULL);
        cli_out_line(stdout, "campaign %lld (%s) is %s%s%s%s", id, cli_out_str(r.json, "name", "-"),
                     cli_out_str(r.json, "status", "-"), reason ? " (waiting: " : "",
                     reason ? reason : "", reason ? ")" : "");
    }
out:
    cli_reply_free(&r);
    return cli_args_exit(rc);
}

int cli_cmd_campaign(struct cli_ctx *c, int argc, char **argv)
{
    static const struct cli_sub subs[] = {
        {"create", cli_campaign_create},
        {"list", campaign_list},
        {"watch", cli_campaign_watch},
        {"report", cli_campaign_report},
        {"export", cli_campaign_report},
        {"show", campaign_one},
        {"start", campaign_one},
        {"pause", campaign_one},
        {"resume", campaign_one},
        {"cancel", campaign_one},
        {NULL, NULL},
    };
    return cli_dispatch(c, usage, subs, argc, argv);
}
