/* `disparo campaign create`: turns options into the POST /campaigns body.
 * The short forms (--window 'TZ DAYS HH:MM-HH:MM', --interval MIN-MAX,
 * --pause N/MS) are parsed here so mistakes are caught before the request;
 * --json FILE sends a prepared body, with any options given overriding it. */
#include <csv.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cli/cli_cmd.h"
#include "cli/cli_out.h"
#include "util/err.h"

/* The server refuses JSON bodies over 16 MiB; inline contacts cannot be more. */
#define BODY_MAX (16u << 20)
#define TEXT_MAX (1u << 20)
#define WORD_MAX 128

static const char usage[] =
    "usage: disparo campaign create --name N --sender ID [--sender ID ...] --text TEXT\n"
    "                               (--list ID | --contacts-csv FILE) [options]\n"
    "       disparo campaign create --json FILE [options]\n"
    "\n"
    "  --name N                 the campaign's name\n"
    "  --sender ID              a sender to send through; repeat or write 1,2,3 for\n"
    "                           several (they take turns)\n"
    "  --list ID                send to the contacts of this list\n"
    "  --contacts-csv FILE      send to the contacts in this CSV (header with a 'phone'\n"
    "                           column, optional 'name', other columns are variables)\n"
    "  --text TEXT              the message; {{name}}, {{phone}}, {{greeting}}, {{var}}\n"
    "                           and spintax [[a|b|c]] are filled in per contact\n"
    "  --text-file FILE         read the message from FILE instead\n"
    "  --interval MIN-MAX       gap between two sends, uniform in [MIN, MAX]; ms, or\n"
    "                           with a unit: 5000-15000, 5s-15s (default 5s-15s)\n"
    "  --window 'TZ DAYS FROM-TO'\n"
    "                           send only inside this weekly window, e.g.\n"
    "                           'America/Sao_Paulo 1-5 08:00-18:00' (days 0=Sun..6=Sat,\n"
    "                           ranges, lists, names: Mon-Fri, seg-sex, *); FROM > TO is\n"
    "                           overnight\n"
    "  --window-json JSON       the window as the API's JSON object (or @FILE)\n"
    "  --pause N/MS             rest MS after every N sends, e.g. 50/600000 or 50/10m\n"
    "  --start-at TIME          do not send before TIME (RFC 3339, 2026-11-27T09:00:00-03:00)\n"
    "  --max-attempts N         attempts per message on retryable failures (default 5)\n"
    "  --max-sender-failures N  consecutive failures that drop a sender (default 5)\n"
    "  --resend-unknown         resend messages left unknown by a crash\n"
    "  --allow-missing-vars     send even if some contacts lack a template variable\n"
    "  --exclude-restricted     leave out contacts on a restriction list now, instead of\n"
    "                           creating their messages to be skipped when due\n"
    "  --start                  start now (or at --start-at) instead of leaving a draft\n"
    "  --json FILE, --body FILE the request body as JSON ('-' = stdin); options given\n"
    "                           as well override its fields\n";

struct create_opts {
    const char *name, *list, *csv, *text, *text_file, *interval, *window, *window_json;
    const char *pause, *start_at, *max_attempts, *max_sender_failures, *body;
    struct cli_multi senders;
    int resend_unknown, allow_missing, exclude_restricted, start;
};

/* ---- small parsers ---- */

/* A duration: digits with an optional unit ms, s, m or h (none = ms). */
static int parse_ms(const char *s, size_t len, long long *out)
{
    long long v = 0, mult = 1;
    size_t i = 0;

    while (i < len && s[i] >= '0' && s[i] <= '9') {
        if (v > 1000000000000LL)
            return -1;
        v = v * 10 + (s[i] - '0');
        i++;
    }
    if (i == 0)
        return -1;
    if (len - i == 2 && strncmp(s + i, "ms", 2) == 0)
        mult = 1;
    else if (len - i == 1 && s[i] == 's')
        mult = 1000;
    else if (len - i == 1 && s[i] == 'm')
        mult = 60000;
    else if (len - i == 1 && s[i] == 'h')
        mult = 3600000;
    else if (len != i)
        return -1;
    *out = v * mult;
    return 0;
}

/* "5000-15000", "5s-15s" or one value for both ends. */
static int parse_interval(const char *s, json_t **out)
{
    const char *dash = strchr(s, '-');
    long long lo, hi;

    if (dash) {
        if (parse_ms(s, (size_t)(dash - s), &lo) || parse_ms(dash + 1, strlen(dash + 1), &hi))
            return -1;
    } else {
        if (parse_ms(s, strlen(s), &lo))
            return -1;
        hi = lo;
    }
    if (lo > hi)
        return -1;
    *out = json_pack("{s:I, s:I}", "min_ms", (json_int_t)lo, "max_ms", (json_int_t)hi);
    return *out ? 0 : -1;
}

/* "50/600000" or "50/10m". */
static int parse_pause(const char *s, json_t **out)
{
    const char *slash = strchr(s, '/');
    long long after = 0, ms;
    char n[32];

    if (!slash || (size_t)(slash - s) >= sizeof n)
        return -1;
    memcpy(n, s, (size_t)(slash - s));
    n[slash - s] = '\0';
    if (cli_args_llong(n, 1, 1000000000, &after) || parse_ms(slash + 1, strlen(slash + 1), &ms))
        return -1;
    *out = json_pack("{s:I, s:I}", "after", (json_int_t)after, "for_ms", (json_int_t)ms);
    return *out ? 0 : -1;
}

/* Copies the next blank-separated word of *p into w; returns its length, 0
 * at the end, -1 when it does not fit. */
static int next_word(const char **p, char *w, size_t cap)
{
    const char *s = *p;
    size_t len;

    while (*s == ' ' || *s == '\t')
        s++;
    len = strcspn(s, " \t");
    if (len >= cap)
        return -1;
    memcpy(w, s, len);
    w[len] = '\0';
    *p = s + len;
    return (int)len;
}

/* A day: 0..6 (7 is Sunday too), or an English or Portuguese name. */
static int parse_day(const char *s, size_t len)
{
    static const char *const en[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
    static const char *const pt[] = {"dom", "seg", "ter", "qua", "qui", "sex", "sab"};

    if (len == 1 && s[0] >= '0' && s[0] <= '7')
        return (s[0] - '0') % 7;
    for (int d = 0; d < 7; d++)
        if (len == 3 && (strncasecmp(s, en[d], 3) == 0 || strncasecmp(s, pt[d], 3) == 0))
            return d;
    return -1;
}

/* "1-5", "0,6", "mon-fri", "fri-mon" (wraps), "*". Fills set[7]. */
static int parse_days(const char *s, int set[7])
{
    if (strcmp(s, "*") == 0) {
        for (int d = 0; d < 7; d++)
            set[d] = 1;
        return 0;
    }
    while (*s) {
        size_t len = strcspn(s, ",");
        const char *dash = memchr(s, '-', len);
        int a, b;
        if (dash) {
            a = parse_day(s, (size_t)(dash - s));
            b = parse_day(dash + 1, len - (size_t)(dash - s) - 1);
        } else {
            a = b = parse_day(s, len);
        }
        if (a < 0 || b < 0)
            return -1;
        for (int d = a;; d = (d + 1) % 7) {
            set[d] = 1;
            if (d == b)
                break;
        }
        s += len;
        if (*s == ',')
            s++;
    }
    return 0;
}

/* "H:MM" or "HH:MM" into "HH:MM". */
static int parse_hhmm(const char *s, size_t len, char out[6])
{
    long long h, m;
    char hs[3] = {0}, ms[3] = {0};
    const char *colon = memchr(s, ':', len);

    if (!colon || colon == s || colon - s > 2 || len - (size_t)(colon - s) - 1 != 2)
        return -1;
    memcpy(hs, s, (size_t)(colon - s));
    memcpy(ms, colon + 1, 2);
    if (cli_args_llong(hs, 0, 23, &h) || cli_args_llong(ms, 0, 59, &m))
        return -1;
    (void)snprintf(out, 6, "%02lld:%02lld", h, m);
    return 0;
}

/* 'America/Sao_Paulo 1-5 08:00-18:00' into the API's window object. */
static int parse_window(const char *spec, json_t **out, char *err, size_t errlen)
{
    char tz[WORD_MAX], days[WORD_MAX], hours[WORD_MAX], extra[WORD_MAX];
    char from[6], to[6];
    int set[7] = {0};
    const char *p = spec;
    const char *dash;
    json_t *arr = NULL;

    if (next_word(&p, tz, sizeof tz) <= 0 || next_word(&p, days, sizeof days) <= 0 ||
        next_word(&p, hours, sizeof hours) <= 0 || next_word(&p, extra, sizeof extra) != 0) {
        (void)snprintf(err, errlen, "--window wants 'TIMEZONE DAYS HH:MM-HH:MM'");
        return -1;
    }
    if (parse_days(days, set)) {
        (void)snprintf(err, errlen, "--window: bad days '%s' (e.g. 1-5, 0,6, mon-fri, *)", days);
        return -1;
    }
    dash = strchr(hours, '-');
    if (!dash || parse_hhmm(hours, (size_t)(dash - hours), from) ||
        parse_hhmm(dash + 1, strlen(dash + 1), to)) {
        (void)snprintf(err, errlen, "--window: bad hours '%s' (e.g. 08:00-18:00)", hours);
        return -1;
    }
    arr = json_array();
    for (int d = 0; arr && d < 7; d++)
        if (set[d] && json_array_append_new(arr, json_integer(d)))
            break;
    *out = json_pack("{s:s, s:o, s:s, s:s}", "timezone", tz, "days", arr, "start", from, "end", to);
    if (!*out) {
        (void)snprintf(err, errlen, "--window: out of memory or timezone not UTF-8");
        return -1;
    }
    return 0;
}

/* ---- contacts from a CSV file ---- */

struct csv_state {
    json_t *header;   /* column names */
    json_t *row;      /* fields of the row being read */
    json_t *contacts; /* the result */
    int phone_col, name_col;
    long line;
    int failed; /* a field was not UTF-8 or memory ran out */
};

static void on_field(void *field, size_t len, void *arg)
{
    struct csv_state *st = arg;
    json_t *s;

    if (st->failed)
        return;
    s = json_stringn(field ? field : "", field ? len : 0);
    if (!s || json_array_append_new(st->row, s))
        st->failed = 1;
}

static int column(const json_t *header, const char *name)
{
    size_t i;
    json_t *h;
    json_array_foreach((json_t *)header, i, h)
    {
        const char *s = json_string_value(h);
        if (strcasecmp(s, name) == 0)
            return (int)i;
    }
    return -1;
}

static void on_row(int term, void *arg)
{
    struct csv_state *st = arg;
    json_t *contact = NULL, *vars = NULL;
    size_t i;
    json_t *f;
    int empty = 1;

    (void)term;
    st->line++;
    if (st->failed)
        goto out;
    if (!st->header) {
        /* Excel writes a byte-order mark before the first name. */
        const char *first = json_string_value(json_array_get(st->row, 0));
        if (first && strncmp(first, "\xEF\xBB\xBF", 3) == 0)
            json_array_set_new(st->row, 0, json_string(first + 3));
        json_array_foreach(st->row, i, f)
        {
            /* Trim the names so " phone" matches. */
            const char *name = json_string_value(f);
            size_t a = strspn(name, " \t");
            size_t n = strlen(name + a);
            while (n > 0 && (name[a + n - 1] == ' ' || name[a + n - 1] == '\t'))
                n--;
            if (json_array_set_new(st->row, i, json_stringn(name + a, n)))
                st->failed = 1;
        }
        st->header = st->row;
        st->row = json_array();
        if (!st->row)
            st->failed = 1;
        st->phone_col = column(st->header, "phone");
        st->name_col = column(st->header, "name");
        goto out;
    }
    contact = json_object();
    vars = json_object();
    if (!contact || !vars) {
        st->failed = 1;
        goto out;
    }
    json_array_foreach(st->row, i, f)
    {
        const char *key = json_string_value(json_array_get(st->header, i));
        if (json_string_length(f) == 0 || !key || !*key)
            continue; /* an empty cell is a missing variable, not "" */
        empty = 0;
        if ((int)i == st->phone_col)
            (void)json_object_set(contact, "phone", f);
        else if ((int)i == st->name_col)
            (void)json_object_set(contact, "name", f);
        else
            (void)json_object_set(vars, key, f);
    }
    if (empty)
        goto out;
    if (!json_object_get(contact, "phone") &&
        json_object_set_new(contact, "phone", json_string("")))
        st->failed = 1;
    if (json_object_size(vars) > 0 && json_object_set(contact, "vars", vars))
        st->failed = 1;
    if (!st->failed && json_array_append(st->contacts, contact))
        st->failed = 1;
out:
    json_decref(contact);
    json_decref(vars);
    json_array_clear(st->row);
}

/* The first line's most frequent separator: Brazilian spreadsheets save with ';'. */
static unsigned char guess_delim(const char *s, size_t n)
{
    size_t commas = 0, semis = 0, tabs = 0;
    for (size_t i = 0; i < n && s[i] != '\n'; i++) {
        commas += s[i] == ',';
        semis += s[i] == ';';
        tabs += s[i] == '\t';
    }
    if (semis > commas && semis >= tabs)
        return ';';
    if (tabs > commas)
        return '\t';
    return ',';
}

/* Reads path into a JSON array of {phone, name?, vars?}. */
static int load_contacts(const char *path, json_t **out)
{
    int rc = CLI_EUSAGE;
    dp_buf text;
    struct csv_parser p;
    int p_ready = 0;
    struct csv_state st = {.phone_col = -1, .name_col = -1};
    char err[256];

    buf_init(&text, BODY_MAX);
    int frc = cli_args_read_file(path, &text, err, sizeof err);
    if (frc) {
        fprintf(stderr, "error: %s\n", err);
        if (frc == DP_ETOOBIG)
            fputs("hint: import it with `disparo contacts import FILE --list NAME` and pass "
                  "--list\n",
                  stderr);
        goto out;
    }
    st.row = json_array();
    st.contacts = json_array();
    if (!st.row || !st.contacts || csv_init(&p, CSV_APPEND_NULL) != 0) {
        rc = cli_oom();
        goto out;
    }
    p_ready = 1;
    csv_set_delim(&p, guess_delim(buf_str(&text), text.len));
    if (csv_parse(&p, buf_str(&text), text.len, on_field, on_row, &st) != text.len ||
        csv_fini(&p, on_field, on_row, &st) != 0) {
        fprintf(stderr, "error: %s: %s\n", path, csv_strerror(csv_error(&p)));
        goto out;
    }
    if (st.failed) {
        fprintf(stderr, "error: %s: around line %ld: not UTF-8 text (save it as UTF-8)\n", path,
                st.line);
        goto out;
    }
    if (!st.header || st.phone_col < 0) {
        fprintf(stderr, "error: %s: the header row has no 'phone' column\n", path);
        goto out;
    }
    *out = st.contacts;
    st.contacts = NULL;
    rc = CLI_OK;
out:
    if (p_ready)
        csv_free(&p);
    json_decref(st.header);
    json_decref(st.row);
    json_decref(st.contacts);
    buf_free(&text);
    return rc;
}

/* ---- the body ---- */

/* Stores v (a new reference, NULL when it could not be made) as body[key]. */
static int set(json_t *body, const char *key, json_t *v)
{
    if (!v || json_object_set_new(body, key, v))
        return cli_oom();
    return CLI_OK;
}

/* An option's text as a JSON string; jansson takes only UTF-8. */
static int set_str(json_t *body, const char *key, const char *opt, const char *s)
{
    json_t *v = json_string(s);
    if (!v)
        return cli_args_usage_error(usage, "%s is not UTF-8 text", opt);
    return set(body, key, v);
}

static int load_body(const char *path, json_t **out)
{
    int rc = CLI_EUSAGE;
    dp_buf text;
    json_error_t jerr;
    char err[256];

    buf_init(&text, BODY_MAX);
    if (cli_args_read_file(path, &text, err, sizeof err)) {
        fprintf(stderr, "error: %s\n", err);
        goto out;
    }
    *out = json_loadb(buf_str(&text), text.len, 0, &jerr);
    if (!*out) {
        fprintf(stderr, "error: %s: %s at line %d column %d\n", path, jerr.text, jerr.line,
                jerr.column);
        goto out;
    }
    if (!json_is_object(*out)) {
        fprintf(stderr, "error: %s: not a JSON object\n", path);
        json_decref(*out);
        *out = NULL;
        goto out;
    }
    rc = CLI_OK;
out:
    buf_free(&text);
    return rc;
}

/* "--sender 1 --sender 2" and "--sender 1,2" alike. */
static int add_senders(const struct cli_multi *m, json_t *body)
{
    int rc = CLI_OK;
    json_t *ids = json_array();

    if (!ids) {
        rc = set(body, "sender_ids", NULL);
        goto out;
    }
    for (size_t i = 0; i < m->n; i++) {
        const char *s = m->v[i];
        do {
            size_t len = strcspn(s, ",");
            char one[32];
            long long id = 0;
            if (len < sizeof one) {
                memcpy(one, s, len);
                one[len] = '\0';
            }
            if (len >= sizeof one || cli_args_id(one, &id)) {
                rc = cli_args_usage_error(usage, "--sender wants sender ids, not '%s'", m->v[i]);
                goto out;
            }
            if (json_array_append_new(ids, json_integer(id))) {
                rc = set(body, "sender_ids", NULL);
                goto out;
            }
            s += len;
        } while (*s++ == ',');
    }
    rc = set(body, "sender_ids", ids);
    ids = NULL;
out:
    json_decref(ids);
    return rc;
}

static int set_text(json_t *body, const struct create_opts *o)
{
    int rc = CLI_EUSAGE;
    dp_buf text;
    json_t *t = NULL;
    char err[256];

    buf_init(&text, TEXT_MAX);
    if (o->text && o->text_file) {
        rc = cli_args_usage_error(usage, "give --text or --text-file, not both");
        goto out;
    }
    if (o->text) {
        t = json_string(o->text);
    } else {
        if (cli_args_read_file(o->text_file, &text, err, sizeof err)) {
            fprintf(stderr, "error: %s\n", err);
            goto out;
        }
        /* Editors end files with a newline nobody means to send. */
        while (text.len > 0 && (text.data[text.len - 1] == '\n' || text.data[text.len - 1] == '\r'))
            text.data[--text.len] = '\0';
        t = json_stringn(buf_str(&text), text.len);
    }
    if (!t) {
        rc = cli_args_usage_error(usage, "the message is not UTF-8 text");
        goto out;
    }
    rc = set(body, "message", json_pack("{s:o}", "text", t));
out:
    buf_free(&text);
    return rc;
}

/* A count option in [min, max] as body[key]. */
static int set_count(json_t *body, const char *key, const char *opt, const char *s, long long min,
                     long long max)
{
    long long n;
    if (cli_args_llong(s, min, max, &n))
        return cli_args_usage_error(usage, "%s wants a whole number from %lld to %lld", opt, min,
                                    max);
    return set(body, key, json_integer(n));
}

/* Every option given becomes a field of body, replacing what --json put there. */
static int build_body(const struct create_opts *o, json_t *body)
{
    int rc = CLI_OK;
    char err[256];
    json_t *v = NULL;

    if (o->name)
        rc = set_str(body, "name", "--name", o->name);
    if (!rc && o->senders.n)
        rc = add_senders(&o->senders, body);
    if (!rc && o->list) {
        long long id;
        if (cli_args_id(o->list, &id))
            rc = cli_args_usage_error(usage, "--list wants a list id (see `disparo list list`)");
        else
            rc = set(body, "list_id", json_integer(id));
    }
    if (!rc && o->csv) {
        rc = load_contacts(o->csv, &v);
        if (!rc)
            rc = set(body, "contacts", v);
    }
    if (!rc && (o->text || o->text_file))
        rc = set_text(body, o);
    if (!rc && o->interval) {
        if (parse_interval(o->interval, &v))
            rc = cli_args_usage_error(usage, "--interval wants MIN-MAX, e.g. 5000-15000 or 5s-15s");
        else
            rc = set(body, "interval", v);
    }
    if (!rc && o->window && o->window_json)
        rc = cli_args_usage_error(usage, "give --window or --window-json, not both");
    if (!rc && o->window) {
        if (parse_window(o->window, &v, err, sizeof err))
            rc = cli_args_usage_error(usage, "%s", err);
        else
            rc = set(body, "window", v);
    }
    if (!rc && o->window_json) {
        if (cli_args_json(o->window_json, &v, err, sizeof err))
            rc = cli_args_usage_error(usage, "--window-json: %s", err);
        else
            rc = set(body, "window", v);
    }
    if (!rc && o->pause) {
        if (parse_pause(o->pause, &v))
            rc = cli_args_usage_error(usage, "--pause wants N/MS, e.g. 50/600000 or 50/10m");
        else
            rc = set(body, "pause", v);
    }
    if (!rc && o->start_at)
        rc = set_str(body, "start_at", "--start-at", o->start_at);
    if (!rc && o->max_attempts)
        rc = set_count(body, "max_attempts", "--max-attempts", o->max_attempts, 1, 1000);
    if (!rc && o->max_sender_failures)
        rc = set_count(body, "max_sender_failures", "--max-sender-failures", o->max_sender_failures,
                       1, 1000000);
    if (!rc && o->resend_unknown)
        rc = set(body, "resend_unknown", json_true());
    if (!rc && o->allow_missing)
        rc = set(body, "allow_missing_vars", json_true());
    if (!rc && o->exclude_restricted)
        rc = set(body, "exclude_restricted", json_true());
    if (!rc && o->start)
        rc = set(body, "start", json_true());
    return rc;
}

/* The creation reply's "restricted": {total, excluded, by_list: {name: n}}. */
static void print_restricted(const json_t *r)
{
    const char *name;
    json_t *n;
    long long total = cli_out_int(r, "total", 0), excluded = cli_out_int(r, "excluded", 0);
    if (total == 0)
        return;
    printf("%-16s %lld %s (", "restricted", total,
           excluded ? "left out" : "to be skipped when due");
    const char *sep = "";
    json_object_foreach(cli_out_path(r, "by_list"), name, n) {
        printf("%s%s %lld", sep, name, (long long)json_integer_value(n));
        sep = ", ";
    }
    puts(")");
}

int cli_campaign_create(struct cli_ctx *c, int argc, char **argv)
{
    int rc;
    struct create_opts o = {0};
    const char *json_file = NULL;
    const struct cli_opt opts[] = {
        {"--name", CLI_OPT_STR, &o.name},
        {"--sender", CLI_OPT_MULTI, &o.senders},
        {"--list", CLI_OPT_STR, &o.list},
        {"--contacts-csv", CLI_OPT_STR, &o.csv},
        {"--text", CLI_OPT_STR, &o.text},
        {"--text-file", CLI_OPT_STR, &o.text_file},
        {"--interval", CLI_OPT_STR, &o.interval},
        {"--window", CLI_OPT_STR, &o.window},
        {"--window-json", CLI_OPT_STR, &o.window_json},
        {"--pause", CLI_OPT_STR, &o.pause},
        {"--start-at", CLI_OPT_STR, &o.start_at},
        {"--max-attempts", CLI_OPT_STR, &o.max_attempts},
        {"--max-sender-failures", CLI_OPT_STR, &o.max_sender_failures},
        {"--resend-unknown", CLI_OPT_FLAG, &o.resend_unknown},
        {"--allow-missing-vars", CLI_OPT_FLAG, &o.allow_missing},
        {"--exclude-restricted", CLI_OPT_FLAG, &o.exclude_restricted},
        {"--start", CLI_OPT_FLAG, &o.start},
        {"--json", CLI_OPT_STR, &json_file},
        {"--body", CLI_OPT_STR, &o.body},
        {NULL, CLI_OPT_FLAG, NULL},
    };
    const char *pos[1];
    size_t npos = 0;
    json_t *body = NULL;
    cli_reply r;

    cli_reply_init(&r);
    rc = cli_args_parse(usage, argc, argv, opts, pos, 0, &npos);
    if (rc != CLI_OK)
        goto out;
    if (json_file && o.body) {
        rc = cli_args_usage_error(usage, "give --json FILE or --body FILE, not both");
        goto out;
    }
    if (json_file)
        o.body = json_file;
    if (o.body) {
        rc = load_body(o.body, &body);
        if (rc)
            goto out;
    } else if (!o.name || !o.senders.n || !(o.text || o.text_file) || !(o.list || o.csv)) {
        rc = cli_args_usage_error(usage, "campaign create needs --name, --sender, --text and "
                                         "--list or --contacts-csv");
        goto out;
    } else {
        body = json_object();
        if (!body) {
            rc = cli_oom();
            goto out;
        }
    }
    rc = build_body(&o, body);
    if (rc)
        goto out;
    rc = cli_call(c, "POST", body, &r, "/campaigns");
    if (rc) {
        if (strcmp(cli_out_str(r.json, "error.code", ""), "missing_vars") == 0)
            fputs("hint: fill the variables in the contacts, or pass --allow-missing-vars to "
                  "send them empty\n",
                  stderr);
        goto out;
    }
    if (cli_json_done(c, &r, rc))
        goto out;
    cli_campaign_print(r.json);
    print_restricted(cli_out_path(r.json, "restricted"));
    if (strcmp(cli_out_str(r.json, "status", ""), "draft") == 0)
        printf("\ndraft: start it with `disparo campaign start %lld`\n",
               cli_out_int(r.json, "id", 0));
out:
    json_decref(body);
    cli_reply_free(&r);
    return cli_args_exit(rc);
}
