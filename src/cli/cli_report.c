/* `disparo campaign report ID [--xlsx FILE]` and `disparo campaign export ID
 * [-o FILE]`: the campaign report as tables (or, with --json, as the server
 * sent it), and the downloads, written to a file as they arrive so a
 * million-message export never sits in the client's memory. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli_cmd.h"
#include "cli/cli_out.h"
#include "util/err.h"

static const char report_usage[] =
    "usage: disparo campaign report ID [--xlsx FILE]\n"
    "       disparo campaign export ID [-o FILE]\n"
    "\n"
    "  --xlsx FILE   save the report as an Excel workbook (Summary, Messages, Senders,\n"
    "                Errors, Skipped) instead of printing it\n"
    "  -o FILE       write the CSV export to FILE instead of standard output\n"
    "\n"
    "With --json, `report` prints the report as the server sent it.\n";

/* Downloads path into file (or stdout for NULL / "-"). */
static int download(struct cli_ctx *c, const char *path, const char *file)
{
    FILE *f = cli_output_open(file, "wb");

    if (!f) {
        fprintf(stderr, "error: cannot create %s: %s\n", file, strerror(errno));
        return CLI_EAPI;
    }
    return cli_download(c, path, f, file);
}

static void print_dist(const json_t *rep, const char *key, const char *label)
{
    char path[96];
    snprintf(path, sizeof path, "durations.%s.count", key);
    long long n = cli_out_int(rep, path, 0);
    if (n == 0) {
        cli_out_kv(stdout, label, "-");
        return;
    }
    snprintf(path, sizeof path, "durations.%s.median_ms", key);
    long long med = cli_out_int(rep, path, 0);
    snprintf(path, sizeof path, "durations.%s.p90_ms", key);
    cli_out_kv(stdout, label, "median %lld ms, p90 %lld ms (%lld messages)", med,
               cli_out_int(rep, path, 0), n);
}

static int print_report(const json_t *rep)
{
    static const char *const sh[] = {"SENDER", "NAME",   "TOTAL",   "SENT",    "DELIVERED",
                                     "READ",   "FAILED", "SKIPPED", "UNKNOWN", "REPLIED"};
    static const char *const eh[] = {"STATUS", "CODE", "COUNT", "EXAMPLE"};
    static const char *const sk[] = {"total",  "sent",    "delivered", "read",
                                     "failed", "skipped", "unknown",   "replied"};
    char tmp[256];
    cli_table *t = NULL;
    size_t i;
    const json_t *o;
    int rc = CLI_OK;

    cli_out_kv(stdout, "id", "%lld", cli_out_int(rep, "id", 0));
    cli_out_kv(stdout, "name", "%s", cli_out_str(rep, "name", "-"));
    cli_out_kv(stdout, "status", "%s", cli_out_str(rep, "status", "-"));
    cli_out_kv(stdout, "started", "%s", cli_out_str(rep, "started_at", "-"));
    cli_out_kv(stdout, "finished", "%s", cli_out_str(rep, "finished_at", "-"));
    cli_out_kv(stdout, "counts", "%s", cli_out_val(cli_out_path(rep, "counts"), tmp, sizeof tmp));
    cli_out_kv(stdout, "elapsed", "%s ms",
               cli_out_val(cli_out_path(rep, "durations.elapsed_ms"), tmp, sizeof tmp));
    cli_out_kv(stdout, "first send after", "%s ms",
               cli_out_val(cli_out_path(rep, "durations.to_first_send_ms"), tmp, sizeof tmp));
    print_dist(rep, "queue_to_sent", "queued -> sent");
    print_dist(rep, "sent_to_delivered", "sent -> delivered");
    print_dist(rep, "sent_to_read", "sent -> read");
    fputc('\n', stdout);

    t = cli_table_new(10, sh);
    if (!t)
        goto oom;
    for (size_t col = 2; col < 10; col++)
        cli_table_right(t, col);
    json_array_foreach(cli_out_path(rep, "by_sender"), i, o)
    {
        const json_t *id = json_object_get(o, "sender_id");
        if (cli_table_cell(t, json_is_integer(id) ? cli_out_val(id, tmp, sizeof tmp) : "-") ||
            cli_table_cell(t, cli_out_str(o, "name", "(no sender)")))
            goto oom;
        for (size_t k = 0; k < sizeof sk / sizeof sk[0]; k++)
            if (cli_table_cellf(t, "%lld", cli_out_int(o, sk[k], 0)))
                goto oom;
    }
    cli_table_print(t, stdout);
    cli_table_free(t);
    t = NULL;

    if (json_array_size(cli_out_path(rep, "by_error")) > 0) {
        fputc('\n', stdout);
        t = cli_table_new(4, eh);
        if (!t)
            goto oom;
        cli_table_right(t, 2);
        json_array_foreach(cli_out_path(rep, "by_error"), i, o)
        {
            if (cli_table_cell(t, cli_out_str(o, "status", "-")) ||
                cli_table_cell(t, cli_out_str(o, "code", "-")) ||
                cli_table_cellf(t, "%lld", cli_out_int(o, "count", 0)) ||
                cli_table_cell(t, cli_out_str(o, "detail", "")))
                goto oom;
        }
        cli_table_print(t, stdout);
    }
    goto out;
oom:
    rc = cli_oom();
out:
    cli_table_free(t);
    return rc;
}

/* report and export: argv[0] is the subcommand. */
int cli_campaign_report(struct cli_ctx *c, int argc, char **argv)
{
    int export = strcmp(argv[0], "export") == 0;
    const char *xlsx = NULL, *outfile = NULL;
    const struct cli_opt opts[] = {{"--xlsx", CLI_OPT_STR, &xlsx},
                                   {"-o", CLI_OPT_STR, &outfile},
                                   {"--output", CLI_OPT_STR, &outfile},
                                   {NULL, CLI_OPT_FLAG, NULL}};
    long long id;
    char path[64];
    cli_reply r;
    int rc;

    cli_reply_init(&r);
    rc = cli_args_parse_id(report_usage, argc, argv, opts, &id, "campaign %s needs a campaign id",
                           argv[0]);
    if (rc != CLI_OK)
        goto out;
    if ((export && xlsx) || (!export && outfile)) {
        rc = cli_args_usage_error(report_usage, "--xlsx goes with report, -o with export");
        goto out;
    }
    if (export) {
        snprintf(path, sizeof path, "/campaigns/%lld/export.csv", id);
        rc = download(c, path, outfile);
        goto out;
    }
    if (xlsx) {
        snprintf(path, sizeof path, "/campaigns/%lld/report.xlsx", id);
        rc = download(c, path, xlsx);
        if (rc == CLI_OK && strcmp(xlsx, "-") != 0)
            fprintf(stderr, "saved %s\n", xlsx);
        goto out;
    }
    rc = cli_call(c, "GET", NULL, &r, "/campaigns/%lld/report", id);
    if (!cli_json_done(c, &r, rc))
        rc = print_report(r.json);
out:
    cli_reply_free(&r);
    return cli_args_exit(rc);
}
