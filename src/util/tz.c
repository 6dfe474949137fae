/* Time-zone conversion from the system tz database, read directly (RFC 8536
 * TZif plus the POSIX TZ footer). Each zone becomes a sorted array of
 * transitions; lookups return a "span": the offset in force at an instant and
 * the half-open interval [from, until) over which it does not change, which is
 * what makes the per-zone hot cache and tz_mktime's gap/overlap rules cheap
 * to get right. */
#include "util/tz.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/err.h"

/* The biggest TZif file in tzdata is a few KiB; anything far larger is not
 * a zone file. */
#define FILE_MAX (256 * 1024)
/* There are about 600 zone names; past this many distinct names the cache
 * stops growing and extra zones are loaded per call. */
#define CACHE_MAX 1024
/* Sentinels for spans that extend forever; halved so that adding an offset
 * cannot overflow. */
#define SPAN_MIN (INT64_MIN / 2)
#define SPAN_MAX (INT64_MAX / 2)
/* UTC offsets are within (-26h, +26h): RFC 8536 allows -89999..93599. */
#define OFF_LIMIT (26 * 3600)
#define DAY 86400

struct tz_date {
    char kind;    /* 'J' Julian 1-365 without Feb 29, 'D' 0-365 with it, 'M' month rule */
    int n;        /* day for J and D */
    int m, w, d;  /* month 1-12, week 1-5 (5 = last), weekday 0-6 for M */
    int32_t secs; /* local time of day of the change, may be negative or > 24h */
};

/* The POSIX TZ string at the end of a v2+ file: the rule for instants after
 * the last transition in the table. */
struct tz_rule {
    int present;
    int has_dst;
    int32_t std_off, dst_off;  /* seconds east of UTC */
    struct tz_date start, end; /* start in standard time, end in DST */
};

struct tz_type {
    int32_t off;
    int isdst;
};

struct span {
    int64_t from, until; /* [from, until) in UTC seconds */
    int32_t off;
    int isdst;
};

struct zone {
    struct zone *next;
    char name[TZ_NAME_MAX + 1];
    size_t ntrans;
    int64_t *at;        /* transition instants, strictly ascending */
    unsigned char *idx; /* type index after each transition */
    size_t ntypes;
    struct tz_type *types;
    struct tz_rule rule;
    struct span hot; /* the span last returned; empty (from > until) at first */
};

static struct zone *zones; /* the cache, most recently used first */
static size_t nzones;

/* ---- calendar arithmetic ---------------------------------------------- */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

static int64_t floor_mod(int64_t a, int64_t b)
{
    return a - floor_div(a, b) * b;
}

/* Howard Hinnant's days_from_civil / civil_from_days, valid for any year. */
int64_t tz_days_from_civil(int64_t year, int month, int64_t day)
{
    int64_t y = year - (month <= 2);
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t mp = (month + 9) % 12;
    int64_t doy = (153 * mp + 2) / 5 + day - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void tz_civil_from_days(int64_t days, int64_t *year, int *month, int *day)
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *day = (int)(doy - (153 * mp + 2) / 5 + 1);
    *month = m;
    *year = yoe + era * 400 + (m <= 2);
}

static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int64_t y, int m)
{
    static const int md[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return (m == 2 && is_leap(y)) ? 29 : md[m - 1];
}

/* ---- POSIX TZ rule ----------------------------------------------------- */

/* Days since the epoch of the local date a rule names in year y. */
static int64_t rule_day(int64_t y, const struct tz_date *d)
{
    int64_t jan1 = tz_days_from_civil(y, 1, 1);
    if (d->kind == 'J')
        return jan1 + d->n - 1 + (is_leap(y) && d->n >= 60);
    if (d->kind == 'D')
        return jan1 + d->n;
    int64_t first = tz_days_from_civil(y, d->m, 1);
    int wd = (int)floor_mod(first + 4, 7); /* 1970-01-01 was a Thursday */
    int64_t day = first + (d->d - wd + 7) % 7 + 7 * (d->w - 1);
    int64_t last = first + month_days(y, d->m) - 1;
    while (day > last)
        day -= 7; /* week 5 means the last such weekday */
    return day;
}

struct rule_event {
    int64_t at;
    int dst; /* state after the event */
};

static void rule_span(const struct tz_rule *r, int64_t t, struct span *s)
{
    if (!r->has_dst) {
        s->from = SPAN_MIN;
        s->until = SPAN_MAX;
        s->off = r->std_off;
        s->isdst = 0;
        return;
    }
    int64_t y;
    int mo, dd;
    tz_civil_from_days(floor_div(t + r->std_off, DAY), &y, &mo, &dd);

    /* The changes of the year around t and its neighbours bracket t. */
    struct rule_event ev[6];
    for (int k = 0; k < 3; k++) {
        int64_t yr = y - 1 + k;
        ev[2 * k].at = rule_day(yr, &r->start) * DAY + r->start.secs - r->std_off;
        ev[2 * k].dst = 1;
        ev[2 * k + 1].at = rule_day(yr, &r->end) * DAY + r->end.secs - r->dst_off;
        ev[2 * k + 1].dst = 0;
    }
    /* Insertion sort; at equal instants the end goes first, so all-year DST
     * written as "start Jan 1 00:00, end Dec 31 25:00" stays in DST. */
    for (int i = 1; i < 6; i++) {
        struct rule_event x = ev[i];
        int j = i - 1;
        while (j >= 0 && (ev[j].at > x.at || (ev[j].at == x.at && ev[j].dst > x.dst))) {
            ev[j + 1] = ev[j];
            j--;
        }
        ev[j + 1] = x;
    }
    int last = -1;
    for (int i = 0; i < 6; i++)
        if (ev[i].at <= t)
            last = i;
    int dst;
    if (last < 0) {
        dst = !ev[0].dst;
        s->from = SPAN_MIN;
        s->until = ev[0].at;
    } else {
        dst = ev[last].dst;
        s->from = ev[last].at;
        s->until = last + 1 < 6 ? ev[last + 1].at : SPAN_MAX;
    }
    s->off = dst ? r->dst_off : r->std_off;
    s->isdst = dst;
}

/* Zone abbreviation: <...> or at least three letters. */
static int p_name(const char **sp)
{
    const char *s = *sp;
    if (*s == '<') {
        const char *e = strchr(s, '>');
        if (!e || e - s < 2)
            return -1;
        *sp = e + 1;
        return 0;
    }
    const char *b = s;
    while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))
        s++;
    if (s - b < 3)
        return -1;
    *sp = s;
    return 0;
}

static int p_num(const char **sp, int max, int *out)
{
    const char *s = *sp;
    int v = 0;
    if (*s < '0' || *s > '9')
        return -1;
    while (*s >= '0' && *s <= '9') {
        v = v * 10 + (*s - '0');
        if (v > max)
            return -1;
        s++;
    }
    *out = v;
    *sp = s;
    return 0;
}

/* [+-]hh[:mm[:ss]] as signed seconds. */
static int p_hms(const char **sp, int max_hours, int32_t *out)
{
    const char *s = *sp;
    int sign = 1, h, m = 0, sec = 0;
    if (*s == '+' || *s == '-') {
        sign = *s == '-' ? -1 : 1;
        s++;
    }
    if (p_num(&s, max_hours, &h))
        return -1;
    if (*s == ':') {
        s++;
        if (p_num(&s, 59, &m))
            return -1;
        if (*s == ':') {
            s++;
            if (p_num(&s, 59, &sec))
                return -1;
        }
    }
    *out = sign * (h * 3600 + m * 60 + sec);
    *sp = s;
    return 0;
}

static int p_date(const char **sp, struct tz_date *d)
{
    const char *s = *sp;
    if (*s == 'J') {
        s++;
        d->kind = 'J';
        if (p_num(&s, 365, &d->n) || d->n < 1)
            return -1;
    } else if (*s == 'M') {
        s++;
        d->kind = 'M';
        if (p_num(&s, 12, &d->m) || d->m < 1 || *s++ != '.')
            return -1;
        if (p_num(&s, 5, &d->w) || d->w < 1 || *s++ != '.')
            return -1;
        if (p_num(&s, 6, &d->d))
            return -1;
    } else {
        d->kind = 'D';
        if (p_num(&s, 365, &d->n))
            return -1;
    }
    d->secs = 7200;
    if (*s == '/') {
        s++;
        if (p_hms(&s, 167, &d->secs))
            return -1;
    }
    *sp = s;
    return 0;
}

/* Parses "std offset [dst [offset] [,start[/time],end[/time]]]". Returns -1
 * on anything it does not understand; the caller then ignores the footer. */
static int parse_posix(const char *s, struct tz_rule *r)
{
    int32_t v;
    memset(r, 0, sizeof *r);
    if (p_name(&s) || p_hms(&s, 24, &v))
        return -1;
    r->std_off = -v; /* POSIX offsets count hours west of Greenwich */
    if (*s) {
        if (p_name(&s))
            return -1;
        r->has_dst = 1;
        r->dst_off = r->std_off + 3600;
        if (*s && *s != ',') {
            if (p_hms(&s, 24, &v))
                return -1;
            r->dst_off = -v;
        }
        if (*s == ',') {
            s++;
            if (p_date(&s, &r->start) || *s++ != ',' || p_date(&s, &r->end))
                return -1;
        } else {
            /* No rule given: POSIX leaves it to the implementation; this is
             * the US rule glibc also assumes. */
            const char *def = "M3.2.0,M11.1.0";
            if (p_date(&def, &r->start) || *def++ != ',' || p_date(&def, &r->end))
                return -1;
        }
    }
    if (*s)
        return -1;
    if (r->std_off <= -OFF_LIMIT || r->std_off >= OFF_LIMIT || r->dst_off <= -OFF_LIMIT ||
        r->dst_off >= OFF_LIMIT)
        return -1;
    r->present = 1;
    return 0;
}

/* ---- TZif -------------------------------------------------------------- */

struct hdr {
    uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
    char version;
};

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const unsigned char *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static int parse_hdr(const unsigned char *p, size_t len, size_t off, struct hdr *h)
{
    if (len < 44 || off > len - 44 || memcmp(p + off, "TZif", 4) != 0)
        return -1;
    h->version = (char)p[off + 4];
    h->isutcnt = be32(p + off + 20);
    h->isstdcnt = be32(p + off + 24);
    h->leapcnt = be32(p + off + 28);
    h->timecnt = be32(p + off + 32);
    h->typecnt = be32(p + off + 36);
    h->charcnt = be32(p + off + 40);
    /* Bounds far above anything real keep the size arithmetic small. */
    if (h->typecnt < 1 || h->typecnt > 256 || h->timecnt > 100000 || h->leapcnt > 100000 ||
        h->charcnt > 65536)
        return -1;
    if ((h->isutcnt != 0 && h->isutcnt != h->typecnt) ||
        (h->isstdcnt != 0 && h->isstdcnt != h->typecnt))
        return -1;
    return 0;
}

static size_t block_size(const struct hdr *h, size_t tsize)
{
    return (size_t)h->timecnt * (tsize + 1) + (size_t)h->typecnt * 6 + h->charcnt +
           (size_t)h->leapcnt * (tsize + 4) + h->isstdcnt + h->isutcnt;
}

static void zone_free(struct zone *z)
{
    if (!z)
        return;
    free(z->at);
    free(z->idx);
    free(z->types);
    free(z);
}

/* Builds a zone from a TZif image; NULL if the data is not a valid zone. */
static struct zone *parse_tzif(const unsigned char *p, size_t len)
{
    struct zone *z = NULL;
    struct hdr h;
    size_t tsize = 4, off = 44;

    if (parse_hdr(p, len, 0, &h))
        goto fail;
    size_t b1 = block_size(&h, 4);
    if (b1 > len - 44)
        goto fail;
    if (h.version >= '2') {
        /* Version 2+ repeats everything with 64-bit times; use that. */
        if (parse_hdr(p, len, 44 + b1, &h))
            goto fail;
        off = 44 + b1 + 44;
        tsize = 8;
        if (block_size(&h, 8) > len - off)
            goto fail;
    }

    z = calloc(1, sizeof *z);
    if (!z)
        goto fail;
    z->ntrans = h.timecnt;
    z->ntypes = h.typecnt;
    z->at = malloc((h.timecnt ? h.timecnt : 1) * sizeof *z->at);
    z->idx = malloc(h.timecnt ? h.timecnt : 1);
    z->types = malloc(h.typecnt * sizeof *z->types);
    if (!z->at || !z->idx || !z->types)
        goto fail;

    const unsigned char *q = p + off;
    for (size_t i = 0; i < h.timecnt; i++) {
        z->at[i] = tsize == 8 ? (int64_t)be64(q) : (int64_t)(int32_t)be32(q);
        q += tsize;
        if (i > 0 && z->at[i] <= z->at[i - 1])
            goto fail;
    }
    for (size_t i = 0; i < h.timecnt; i++) {
        z->idx[i] = *q++;
        if (z->idx[i] >= h.typecnt)
            goto fail;
    }
    for (size_t i = 0; i < h.typecnt; i++) {
        int32_t o = (int32_t)be32(q);
        if (o <= -OFF_LIMIT || o >= OFF_LIMIT || q[4] > 1)
            goto fail;
        z->types[i].off = o;
        z->types[i].isdst = q[4];
        q += 6;
    }
    q = p + off + block_size(&h, tsize);

    if (tsize == 8 && q < p + len && *q == '\n') {
        const unsigned char *e = memchr(q + 1, '\n', (size_t)(p + len - q - 1));
        char footer[128];
        size_t fl = e ? (size_t)(e - q - 1) : 0;
        if (e && fl > 0 && fl < sizeof footer) {
            memcpy(footer, q + 1, fl);
            footer[fl] = '\0';
            /* An unreadable footer is dropped: the table alone is still
             * right up to its last transition. */
            if (parse_posix(footer, &z->rule))
                memset(&z->rule, 0, sizeof z->rule);
        }
    }
    z->hot.from = 1;
    z->hot.until = 0;
    return z;
fail:
    zone_free(z);
    return NULL;
}

static struct zone *builtin_utc(void)
{
    struct zone *z = calloc(1, sizeof *z);
    if (!z)
        return NULL;
    z->types = calloc(1, sizeof *z->types);
    if (!z->types) {
        free(z);
        return NULL;
    }
    z->ntypes = 1;
    z->hot.from = 1;
    z->hot.until = 0;
    return z;
}

static int name_ok(const char *name)
{
    size_t n = strnlen(name, TZ_NAME_MAX + 1);
    if (n == 0 || n > TZ_NAME_MAX || name[0] == '/' || name[n - 1] == '/')
        return 0;
    if (strstr(name, ".."))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        int alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && c != '_' && c != '+' && c != '-' && c != '/' && c != '.')
            return 0;
        /* No hidden files, no "./", no empty components. */
        if ((c == '.' || c == '/') && (i == 0 || name[i - 1] == '/'))
            return 0;
    }
    return 1;
}

static struct zone *zone_load(const char *name)
{
    struct zone *z = NULL;
    unsigned char *data = NULL;
    int fd = -1;
    const char *dir = getenv("TZDIR");
    char path[4096];

    if (!dir || !*dir)
        dir = "/usr/share/zoneinfo";
    int n = snprintf(path, sizeof path, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof path)
        goto out;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        goto out;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 44 || st.st_size > FILE_MAX)
        goto out;
    size_t len = (size_t)st.st_size, got = 0;
    data = malloc(len);
    if (!data)
        goto out;
    while (got < len) {
        ssize_t r = read(fd, data + got, len - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            goto out;
        got += (size_t)r;
    }
    z = parse_tzif(data, len);
out:
    if (fd >= 0)
        close(fd);
    free(data);
    if (!z && (strcmp(name, "UTC") == 0 || strcmp(name, "Etc/UTC") == 0))
        z = builtin_utc();
    if (z)
        snprintf(z->name, sizeof z->name, "%s", name);
    return z;
}

/* Finds or loads a zone. *transient is set when the cache is full and the
 * caller must free the zone with zone_release. */
static struct zone *zone_acquire(const char *name, int *transient)
{
    *transient = 0;
    if (!name)
        return NULL;
    if (zones && strcmp(zones->name, name) == 0)
        return zones;
    struct zone **pp = &zones;
    for (struct zone *z = zones; z; pp = &z->next, z = z->next) {
        if (strcmp(z->name, name) == 0) {
            /* Move to front: the next lookup is one compare. */
            *pp = z->next;
            z->next = zones;
            zones = z;
            return z;
        }
    }
    if (!name_ok(name))
        return NULL;
    struct zone *z = zone_load(name);
    if (!z)
        return NULL;
    if (nzones >= CACHE_MAX) {
        *transient = 1;
        return z;
    }
    z->next = zones;
    zones = z;
    nzones++;
    return z;
}

static void zone_release(struct zone *z, int transient)
{
    if (transient)
        zone_free(z);
}

void tz_cache_clear(void)
{
    while (zones) {
        struct zone *z = zones;
        zones = z->next;
        zone_free(z);
    }
    nzones = 0;
}

/* ---- lookups ----------------------------------------------------------- */

static void type_span(const struct tz_type *ty, int64_t from, int64_t until, struct span *s)
{
    s->from = from;
    s->until = until;
    s->off = ty->off;
    s->isdst = ty->isdst;
}

static void zone_span(const struct zone *z, int64_t t, struct span *s)
{
    size_t n = z->ntrans;
    if (n == 0 || t >= z->at[n - 1]) {
        if (z->rule.present) {
            rule_span(&z->rule, t, s);
            if (n > 0 && s->from < z->at[n - 1])
                s->from = z->at[n - 1];
        } else if (n == 0) {
            type_span(&z->types[0], SPAN_MIN, SPAN_MAX, s);
        } else {
            type_span(&z->types[z->idx[n - 1]], z->at[n - 1], SPAN_MAX, s);
        }
        return;
    }
    if (t < z->at[0]) {
        /* RFC 8536: type 0 applies before the first transition. */
        type_span(&z->types[0], SPAN_MIN, z->at[0], s);
        return;
    }
    /* at[lo] <= t < at[hi] */
    size_t lo = 0, hi = n - 1;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (z->at[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    type_span(&z->types[z->idx[lo]], z->at[lo], z->at[hi], s);
}

static void zone_span_cached(struct zone *z, int64_t t, struct span *s)
{
    if (t >= z->hot.from && t < z->hot.until) {
        *s = z->hot;
        return;
    }
    zone_span(z, t, s);
    z->hot = *s;
}

/* UTC instant for local civil seconds L (as if local time were UTC). */
static int64_t resolve(const struct zone *z, int64_t L)
{
    /* Every instant that could read L locally lies within 26 h of it, so
     * the spans covering [L - 30h, L + 30h] hold all candidates. */
    enum { NSPAN = 8 };
    struct span sp[NSPAN];
    int n = 0;
    int64_t t = L - 30 * 3600;
    while (n < NSPAN) {
        zone_span(z, t, &sp[n]);
        n++;
        if (sp[n - 1].until > L + 30 * 3600 || sp[n - 1].until >= SPAN_MAX)
            break;
        t = sp[n - 1].until;
    }
    int found = 0;
    int64_t best = 0;
    for (int i = 0; i < n; i++) {
        int64_t u = L - sp[i].off;
        if (u >= sp[i].from && u < sp[i].until && (!found || u < best)) {
            best = u; /* the earliest wins an overlap */
            found = 1;
        }
    }
    if (found)
        return best;
    /* A gap: L falls in [T + before, T + after) of a forward jump at T. */
    for (int i = 0; i + 1 < n; i++) {
        int64_t T = sp[i].until;
        if (sp[i].off < sp[i + 1].off && L >= T + sp[i].off && L < T + sp[i + 1].off)
            return T;
    }
    return L - sp[0].off; /* not reached with consistent data */
}

int tz_valid(const char *name)
{
    int transient;
    struct zone *z = zone_acquire(name, &transient);
    if (!z)
        return 0;
    zone_release(z, transient);
    return 1;
}

int tz_local(const char *name, int64_t utc_s, struct tm *out, int *gmtoff_s)
{
    int transient = 0;
    struct zone *z = NULL;
    int rc = DP_OK;

    memset(out, 0, sizeof *out);
    if (utc_s < TZ_MIN_S || utc_s > TZ_MAX_S) {
        rc = DP_EINVAL;
        goto out;
    }
    z = zone_acquire(name, &transient);
    if (!z) {
        rc = DP_EINVAL;
        goto out;
    }
    struct span s;
    zone_span_cached(z, utc_s, &s);
    int64_t l = utc_s + s.off;
    int64_t days = floor_div(l, DAY);
    int64_t secs = l - days * DAY;
    int64_t y;
    int m, d;
    tz_civil_from_days(days, &y, &m, &d);
    out->tm_year = (int)(y - 1900);
    out->tm_mon = m - 1;
    out->tm_mday = d;
    out->tm_hour = (int)(secs / 3600);
    out->tm_min = (int)(secs / 60 % 60);
    out->tm_sec = (int)(secs % 60);
    out->tm_wday = (int)floor_mod(days + 4, 7);
    out->tm_yday = (int)(days - tz_days_from_civil(y, 1, 1));
    out->tm_isdst = s.isdst;
    if (gmtoff_s)
        *gmtoff_s = s.off;
out:
    zone_release(z, transient);
    return rc;
}

int tz_mktime(const char *name, const struct tm *local, int64_t *utc_s)
{
    int transient = 0;
    struct zone *z = NULL;
    int rc = DP_OK;

    /* Fold months into years first so the day count stays small. */
    int64_t mon = local->tm_mon;
    int64_t y = (int64_t)local->tm_year + 1900 + floor_div(mon, 12);
    mon = floor_mod(mon, 12);
    if (y < -10 || y > 10010) {
        rc = DP_EINVAL;
        goto out;
    }
    int64_t days = tz_days_from_civil(y, (int)mon + 1, 1) + (int64_t)local->tm_mday - 1;
    int64_t L =
        days * DAY + (int64_t)local->tm_hour * 3600 + (int64_t)local->tm_min * 60 + local->tm_sec;
    if (L < TZ_MIN_S - 2 * DAY || L > TZ_MAX_S + 2 * DAY) {
        rc = DP_EINVAL;
        goto out;
    }
    z = zone_acquire(name, &transient);
    if (!z) {
        rc = DP_EINVAL;
        goto out;
    }
    int64_t u = resolve(z, L);
    if (u < TZ_MIN_S || u > TZ_MAX_S) {
        rc = DP_EINVAL;
        goto out;
    }
    *utc_s = u;
out:
    zone_release(z, transient);
    return rc;
}

int tz_local_hour(const char *name, int64_t utc_s)
{
    int transient;
    if (utc_s < TZ_MIN_S || utc_s > TZ_MAX_S)
        return -1;
    struct zone *z = zone_acquire(name, &transient);
    if (!z)
        return -1;
    struct span s;
    zone_span_cached(z, utc_s, &s);
    zone_release(z, transient);
    return (int)(floor_mod(utc_s + s.off, DAY) / 3600);
}
