/* `disparo sender ...`: create, list, show, enable, disable and delete the
 * senders campaigns send through (POST/GET/PATCH/DELETE /senders). */
#include <stdio.h>
#include <string.h>

#include "cli/cli_cmd.h"
#include "cli/cli_out.h"

static const char usage[] =
    "usage: disparo sender add --name N --provider sandbox|webhook [--config JSON|@FILE]\n"
    "                          [--rate R] [--daily-limit D]\n"
    "       disparo sender list\n"
    "       disparo sender show ID\n"
    "       disparo sender enable|disable|delete ID\n"
    "\n"
    "  --name N          a name unique in the workspace\n"
    "  --provider P      sandbox (simulated gateway) or webhook (one POST per message)\n"
    "  --config JSON     provider settings, inline or @FILE, e.g. '{\"latency_ms\":200}'\n"
    "                    or '{\"url\":\"https://example.com/hook\"}'\n"
    "  --rate R          messages per second at most (0 = unlimited)\n"
    "  --daily-limit D   distinct recipients per rolling 24 h (0 = unlimited)\n"
    "\n"
    "A sender a live campaign uses cannot be deleted; disable it instead.\n";

static void print_sender(const json_t *s)
{
    char tmp[4096];
    const json_t *rate = cli_out_path(s, "rate_per_second");
    long long daily = cli_out_int(s, "daily_limit", 0);

    cli_out_kv(stdout, "id", "%lld", cli_out_int(s, "id", 0));
    cli_out_kv(stdout, "name", "%s", cli_out_str(s, "name", "-"));
    cli_out_kv(stdout, "provider", "%s", cli_out_str(s, "provider", "-"));
    cli_out_kv(stdout, "status", "%s", cli_out_str(s, "status", "-"));
    if (json_number_value(rate) > 0)
        cli_out_kv(stdout, "rate", "%s/s", cli_out_val(rate, tmp, sizeof tmp));
    else
        cli_out_kv(stdout, "rate", "unlimited");
    if (daily > 0)
        cli_out_kv(stdout, "daily limit", "%lld recipients", daily);
    else
        cli_out_kv(stdout, "daily limit", "unlimited");
    cli_out_kv(stdout, "config", "%s", cli_out_val(cli_out_path(s, "config"), tmp, sizeof tmp));
    cli_out_kv(stdout, "created", "%s", cli_out_str(s, "created_at", "-"));
}

static int sender_add(struct cli_ctx *c, int argc, char **argv)
{
    int rc;
    const char *name = NULL, *provider = NULL, *config = NULL, *rate = NULL, *daily = NULL;
    const struct cli_opt opts[] = {
        {"--name", CLI_OPT_STR, &name},         {"--provider", CLI_OPT_STR, &provider},
        {"--config", CLI_OPT_STR, &config},     {"--rate", CLI_OPT_STR, &rate},
        {"--daily-limit", CLI_OPT_STR, &daily}, {NULL, CLI_OPT_FLAG, NULL},
    };
    const char *pos[1];
    size_t npos = 0;
    json_t *body = NULL;
    json_t *cfg = NULL;
    double rate_v = 0;
    long long daily_v = 0;
    char err[256];
    cli_reply r;

    cli_reply_init(&r);
    rc = cli_args_parse(usage, argc, argv, opts, pos, 0, &npos);
    if (rc != CLI_OK)
        goto out;
    if (!name || !provider) {
        rc = cli_args_usage_error(usage, "sender add needs --name and --provider");
        goto out;
    }
    if (rate && cli_args_double(rate, 0, 1e6, &rate_v)) {
        rc = cli_args_usage_error(usage, "--rate must be a number >= 0, not '%s'", rate);
        goto out;
    }
    if (daily && cli_args_llong(daily, 0, 1LL << 53, &daily_v)) {
        rc = cli_args_usage_error(usage, "--daily-limit must be an integer >= 0, not '%s'", daily);
        goto out;
    }
    if (config && cli_args_json(config, &cfg, err, sizeof err)) {
        rc = cli_args_usage_error(usage, "--config: %s", err);
        goto out;
    }
    if (cfg && !json_is_object(cfg)) {
        rc = cli_args_usage_error(usage, "--config must be a JSON object");
        goto out;
    }
    body = json_pack("{s:s, s:s, s:o}", "name", name, "provider", provider, "config",
                     cfg ? json_incref(cfg) : json_object());
    if (!body) {
        rc = cli_args_usage_error(usage, "--name and --provider must be UTF-8");
        goto out;
    }
    if (rate) {
        /* Whole rates go as JSON integers, the way a person would write them. */
        json_t *v = rate_v == (double)(long long)rate_v ? json_integer((json_int_t)rate_v)
                                                        : json_real(rate_v);
        if (json_object_set_new(body, "rate_per_second", v))
            goto oom;
    }
    if (daily && json_object_set_new(body, "daily_limit", json_integer(daily_v)))
        goto oom;
    rc = cli_call(c, "POST", body, &r, "/senders");
    if (!cli_json_done(c, &r, rc))
        print_sender(r.json);
    goto out;
oom:
    rc = cli_oom();
out:
    json_decref(cfg);
    json_decref(body);
    cli_reply_free(&r);
    return cli_args_exit(rc);
}

static int sender_list(struct cli_ctx *c, int argc, char **argv)
{
    static const char *const headers[] = {"ID",     "NAME",        "PROVIDER", "STATUS",
                                          "RATE/S", "DAILY LIMIT", "CREATED"};
    int rc;
    const char *pos[1];
    size_t npos = 0;
    const struct cli_opt opts[] = {{NULL, CLI_OPT_FLAG, NULL}};
    cli_table *t = NULL;
    cli_reply r;
    char tmp[64];

    cli_reply_init(&r);
    rc = cli_args_parse(usage, argc, argv, opts, pos, 0, &npos);
    if (rc != CLI_OK)
        goto out;
    rc = cli_call(c, "GET", NULL, &r, "/senders");
    if (cli_json_done(c, &r, rc))
        goto out;
    t = cli_table_new(7, headers);
    if (!t)
        goto oom;
    cli_table_right(t, 0);
    cli_table_right(t, 4);
    cli_table_right(t, 5);
    const json_t *list = cli_out_path(r.json, "senders");
    size_t i;
    json_t *s;
    json_array_foreach(list, i, s)
    {
        if (cli_table_cellf(t, "%lld", cli_out_int(s, "id", 0)) ||
            cli_table_cell(t, cli_out_str(s, "name", "-")) ||
            cli_table_cell(t, cli_out_str(s, "provider", "-")) ||
            cli_table_cell(t, cli_out_str(s, "status", "-")) ||
            cli_table_cell(t, cli_out_val(cli_out_path(s, "rate_per_second"), tmp, sizeof tmp)) ||
            cli_table_cellf(t, "%lld", cli_out_int(s, "daily_limit", 0)) ||
            cli_table_cell(t, cli_out_str(s, "created_at", "-")))
            goto oom;
    }
    cli_table_print(t, stdout);
    goto out;
oom:
    rc = cli_oom();
out:
    cli_table_free(t);
    cli_reply_free(&r);
    return cli_args_exit(rc);
}

/* show, enable, disable and delete: one id, one request. */
static int sender_one(struct cli_ctx *c, int argc, char **argv)
{
    int rc;
    const char *sub = argv[0];
    const struct cli_opt opts[] = {{NULL, CLI_OPT_FLAG, NULL}};
    long long id;
    json_t *body = NULL;
    cli_reply r;

    cli_reply_init(&r);
    rc = cli_args_parse_id(usage, argc, argv, opts, &id, "sender %s needs a sender id", sub);
    if (rc != CLI_OK)
        goto out;
    if (strcmp(sub, "show") == 0) {
        rc = cli_call(c, "GET", NULL, &r, "/senders/%lld", id);
    } else if (strcmp(sub, "delete") == 0) {
        rc = cli_call(c, "DELETE", NULL, &r, "/senders/%lld", id);
    } else {
        body = json_pack("{s:s}", "status", strcmp(sub, "enable") == 0 ? "active" : "disabled");
        if (!body) {
            rc = cli_oom();
            goto out;
        }
        rc = cli_call(c, "PATCH", body, &r, "/senders/%lld", id);
    }
    if (cli_json_done(c, &r, rc))
        goto out;
    if (strcmp(sub, "show") == 0)
        print_sender(r.json);
    else if (strcmp(sub, "delete") == 0)
        printf("sender %lld deleted\n", id);
    else
        cli_out_line(stdout, "sender %lld (%s) is %s", id, cli_out_str(r.json, "name", "-"),
                     cli_out_str(r.json, "status", "-"));
out:
    json_decref(body);
    cli_reply_free(&r);
    return cli_args_exit(rc);
}

int cli_cmd_sender(struct cli_ctx *c, int argc, char **argv)
{
    static const struct cli_sub subs[] = {
        {"add", sender_add},    {"list", sender_list},   {"show", sender_one},
        {"enable", sender_one}, {"disable", sender_one}, {"delete", sender_one},
        {NULL, NULL},
    };
    return cli_dispatch(c, usage, subs, argc, argv);
}
