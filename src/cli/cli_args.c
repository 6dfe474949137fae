/* Option tables, number parsing and file/JSON arguments for the client's
 * commands. getopt is not used: its messages name the program, not the
 * command, and it cannot tell "--json FILE" from the global "--json". */
#include "cli/cli_args.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"

#define JSON_ARG_MAX (16u << 20) /* the server's own limit on a JSON body */

static void print_synopsis(FILE *f, const char *usage)
{
    const char *end = strstr(usage, "\n\n");
    size_t len = end ? (size_t)(end - usage) : strlen(usage);
    fprintf(f, "%.*s\n", (int)len, usage);
}

static int vusage_error(const char *usage, const char *fmt, va_list ap)
{
    fputs("error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    print_synopsis(stderr, usage);
    return CLI_EUSAGE;
}

int cli_args_usage_error(const char *usage, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vusage_error(usage, fmt, ap);
    va_end(ap);
    return rc;
}

int cli_args_exit(int rc)
{
    return rc == CLI_HELP ? CLI_OK : rc;
}

static const struct cli_opt *find_opt(const struct cli_opt *opts, const char *arg, size_t len)
{
    for (const struct cli_opt *o = opts; o && o->name; o++)
        if (strlen(o->name) == len && strncmp(o->name, arg, len) == 0)
            return o;
    return NULL;
}

int cli_args_parse(const char *usage, int argc, char **argv, const struct cli_opt *opts,
                   const char **pos, size_t maxpos, size_t *npos)
{
    int rc = CLI_OK;
    int only_pos = 0;

    *npos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_pos || a[0] != '-' || strcmp(a, "-") == 0) {
            if (*npos == maxpos) {
                rc = cli_args_usage_error(usage, "unexpected argument '%s'", a);
                goto out;
            }
            pos[(*npos)++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_pos = 1;
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            rc = CLI_HELP;
            goto out;
        }
        const char *eq = strchr(a, '=');
        size_t len = eq ? (size_t)(eq - a) : strlen(a);
        const struct cli_opt *o = find_opt(opts, a, len);
        if (!o) {
            rc = cli_args_usage_error(usage, "unknown option '%.*s'", (int)len, a);
            goto out;
        }
        if (o->kind == CLI_OPT_FLAG) {
            if (eq) {
                rc = cli_args_usage_error(usage, "%s takes no value", o->name);
                goto out;
            }
            *(int *)o->dst = 1;
            continue;
        }
        const char *val = eq ? eq + 1 : NULL;
        if (!val) {
            if (i + 1 >= argc) {
                rc = cli_args_usage_error(usage, "%s needs a value", o->name);
                goto out;
            }
            val = argv[++i];
        }
        if (o->kind == CLI_OPT_STR) {
            *(const char **)o->dst = val;
        } else {
            struct cli_multi *m = o->dst;
            if (m->n == CLI_MULTI_MAX) {
                rc =
                    cli_args_usage_error(usage, "too many %s (at most %d)", o->name, CLI_MULTI_MAX);
                goto out;
            }
            m->v[m->n++] = val;
        }
    }
out:
    return rc;
}

int cli_args_parse_id(const char *usage, int argc, char **argv, const struct cli_opt *opts,
                      long long *id, const char *fmt, ...)
{
    const char *pos[1];
    size_t npos = 0;
    int rc = cli_args_parse(usage, argc, argv, opts, pos, 1, &npos);

    if (rc == CLI_OK && (npos != 1 || cli_args_id(pos[0], id))) {
        va_list ap;
        va_start(ap, fmt);
        rc = vusage_error(usage, fmt, ap);
        va_end(ap);
    }
    return rc;
}

int cli_args_llong(const char *s, long long min, long long max, long long *out)
{
    char *end = NULL;
    long long v;

    if (!s || !*s || *s == ' ' || *s == '+')
        return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int cli_args_id(const char *s, long long *out)
{
    return cli_args_llong(s, 1, (long long)1 << 53, out);
}

int cli_args_double(const char *s, double min, double max, double *out)
{
    char *end = NULL;
    double v;

    if (!s || !*s || *s == ' ')
        return -1;
    errno = 0;
    v = strtod(s, &end);
    if (errno || *end || !isfinite(v) || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int cli_args_read_file(const char *path, dp_buf *out, char *err, size_t errlen)
{
    int rc = DP_OK;
    int is_stdin = strcmp(path, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    char chunk[65536];

    if (!f) {
        rc = DP_EIO;
        (void)snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        goto out;
    }
    for (;;) {
        size_t n = fread(chunk, 1, sizeof chunk, f);
        if (n > 0) {
            rc = buf_append(out, chunk, n);
            if (rc == DP_ETOOBIG)
                (void)snprintf(err, errlen, "%s is larger than %zu MiB", path, out->cap >> 20);
            else if (rc)
                (void)snprintf(err, errlen, "cannot read %s: out of memory", path);
            if (rc)
                goto out;
        }
        if (n < sizeof chunk) {
            if (ferror(f)) {
                rc = DP_EIO;
                (void)snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
                goto out;
            }
            break;
        }
    }
out:
    if (f && !is_stdin)
        fclose(f);
    return rc;
}

int cli_args_json(const char *s, json_t **out, char *err, size_t errlen)
{
    int rc = -1;
    dp_buf text;
    json_error_t jerr;
    const char *src = s;
    const char *what = "JSON";

    buf_init(&text, JSON_ARG_MAX);
    if (s[0] == '@') {
        if (cli_args_read_file(s + 1, &text, err, errlen))
            goto out;
        src = buf_str(&text);
        what = s + 1;
    }
    *out = json_loads(src, 0, &jerr);
    if (!*out) {
        (void)snprintf(err, errlen, "%s: %s at line %d column %d", what, jerr.text, jerr.line,
                       jerr.column);
        goto out;
    }
    rc = 0;
out:
    buf_free(&text);
    return rc;
}
