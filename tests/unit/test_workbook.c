/* Unit tests for the campaign workbook (src/http/workbook.c): a small
 * campaign is written through the store and its workbook made with tiny
 * sheets (1, 2, 3... rows), so the rollover of Messages and Skipped that a
 * real campaign reaches only past 1,048,575 messages happens here with ten.
 * The file is read back with libzip and expat: the sheet list from
 * xl/workbook.xml (tab order) and its rels, then each sheet's rows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <expat.h>
#include <zip.h>

#include "http/workbook.h"
#include "store/sqlite_report.h"
#include "store/store.h"
#include "support/tmpstore.h"

#define T0 1767225600000LL /* 2026-01-01T00:00:00Z */
#define NMSG 10
#define MAX_SHEETS 32
#define MAX_ROWS 32 /* per sheet, header included */
#define NCOLS 5     /* columns A..E kept per row */
#define CELL_MAX 96

struct fx {
    struct tmpstore tmp;
    store *st;
    int64_t sender;
    int64_t cid;            /* the campaign under test */
    int64_t ids[NMSG];      /* its messages, in id order */
    int64_t skip_ids[NMSG]; /* the skipped ones, in id order */
    size_t n_skip;
    char wb[160]; /* where the workbook goes */
};

/* Statuses by position; the skipped ones sit apart and in runs, so the
 * Skipped sheets fill at another pace than the Messages ones. */
static const int statuses[NMSG] = {MS_SKIPPED, MS_QUEUED, MS_SKIPPED, MS_SKIPPED, MS_SENT,
                                   MS_SKIPPED, MS_FAILED, MS_SKIPPED, MS_SKIPPED, MS_DELIVERED};

static void insert(store *st, int64_t cid, const char *phone, int status, int64_t sender,
                   int64_t *id)
{
    struct st_message m = {.campaign_id = cid,
                           .phone = (char *)phone,
                           .status = status,
                           .attempts = sender ? 1 : 0,
                           .sender_id = sender,
                           .error_code = status == MS_SKIPPED  ? (char *)"duplicate"
                                         : status == MS_FAILED ? (char *)"sandbox_rejected"
                                                               : NULL,
                           .error_detail = status == MS_SKIPPED ? (char *)"earlier" : NULL,
                           .queued_at = T0,
                           .sent_at = status == MS_SENT || status == MS_DELIVERED ? T0 + 1000 : 0,
                           .delivered_at = status == MS_DELIVERED ? T0 + 2000 : 0,
                           .failed_at = status == MS_FAILED ? T0 + 3000 : 0};
    OK(st->v->message_insert(st, &m, E));
    *id = m.id;
}

static int64_t campaign(store *st, const char *name)
{
    struct st_campaign c = {.ws = 1, .name = (char *)name, .status = CS_COMPLETED};
    OK(st->v->campaign_create(st, &c, E));
    return c.id;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    int created = 0;
    int64_t delta[MS__COUNT] = {0}, other_delta[MS__COUNT] = {0};
    assert_non_null(f);
    f->st = tmpstore_open(&f->tmp, "workbook", NULL);
    OK(f->st->v->bootstrap(f->st, "adminhash", &created, E));
    struct st_sender s = {
        .ws = 1, .name = (char *)"alpha", .provider = (char *)"sandbox", .active = 1};
    OK(f->st->v->sender_create(f->st, &s, E));
    f->sender = s.id;
    f->cid = campaign(f->st, "planilha");
    int64_t other = campaign(f->st, "outra");
    for (int i = 0; i < NMSG; i++) {
        char phone[32];
        int st = statuses[i];
        int has_sender = st != MS_SKIPPED && st != MS_QUEUED;
        snprintf(phone, sizeof phone, "55119000000%02d", i);
        insert(f->st, f->cid, phone, st, has_sender ? f->sender : 0, &f->ids[i]);
        delta[st]++;
        if (st == MS_SKIPPED)
            f->skip_ids[f->n_skip++] = f->ids[i];
        /* another campaign's message in between: the ids have gaps */
        int64_t gap;
        insert(f->st, other, "5511988887777", MS_SKIPPED, 0, &gap);
        other_delta[MS_SKIPPED]++;
    }
    OK(f->st->v->campaign_counts_add(f->st, f->cid, delta, E));
    OK(f->st->v->campaign_counts_add(f->st, other, other_delta, E));
    OK(f->st->v->commit(f->st, E));
    snprintf(f->wb, sizeof f->wb, "%s/report.xlsx", f->tmp.dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    (void)unlink(f->wb);
    tmpstore_remove(&f->tmp, f->st);
    free(f);
    return 0;
}

/* Writes campaign cid's workbook with rows data rows per sheet, cancelled
 * from the start when cancelled is set; returns what workbook_write returned. */
static int write_book_as(struct fx *f, int64_t cid, uint32_t rows, int cancelled, dp_err *e)
{
    sqrep *r = NULL;
    json_t *rep = NULL;
    atomic_int cancel = cancelled;
    OK(sqrep_open(f->st->v->path(f->st), &r, E));
    OK(sqrep_begin(r, E));
    OK(sqrep_report(r, 1, cid, T0, &rep, E));
    int rc = workbook_write(r, rep, f->wb, f->tmp.dir, &cancel, rows, e);
    json_decref(rep);
    sqrep_close(r);
    return rc;
}

static int write_book(struct fx *f, int64_t cid, uint32_t rows, dp_err *e)
{
    return write_book_as(f, cid, rows, 0, e);
}

/* ---- reading the file back ------------------------------------------------ */

struct row {
    long r;                     /* its r attribute (1-based) */
    char cell[NCOLS][CELL_MAX]; /* text of columns A..E, "" when empty */
};

struct sheet {
    char name[32];
    char rid[16];
    char target[64]; /* part name, "xl/worksheets/sheetN.xml" */
    size_t nrows;
    struct row rows[MAX_ROWS];
};

struct book {
    size_t n;
    struct sheet s[MAX_SHEETS];
};

/* What the expat callbacks share. */
struct rd {
    struct book *b;
    struct sheet *sh; /* the sheet being read */
    int col;          /* the cell's column, -1 when not kept */
    int text;         /* inside <v> or <t> */
};

static char *part(zip_t *z, const char *name)
{
    zip_stat_t sb;
    zip_file_t *zf;
    if (zip_stat(z, name, 0, &sb) != 0)
        fail_msg("the workbook has no %s", name);
    char *buf = malloc(sb.size + 1);
    assert_non_null(buf);
    zf = zip_fopen(z, name, 0);
    assert_non_null(zf);
    assert_int_equal(zip_fread(zf, buf, sb.size), (zip_int64_t)sb.size);
    zip_fclose(zf);
    buf[sb.size] = '\0';
    return buf;
}

static const char *attr(const XML_Char **a, const char *name)
{
    for (; a[0]; a += 2)
        if (strcmp(a[0], name) == 0)
            return a[1];
    return NULL;
}

static void XMLCALL on_start(void *ud, const XML_Char *el, const XML_Char **a)
{
    struct rd *d = ud;
    if (strcmp(el, "sheet") == 0) {
        assert_true(d->b->n < MAX_SHEETS);
        struct sheet *s = &d->b->s[d->b->n++];
        snprintf(s->name, sizeof s->name, "%s", attr(a, "name"));
        snprintf(s->rid, sizeof s->rid, "%s", attr(a, "r:id"));
    } else if (strcmp(el, "Relationship") == 0) {
        for (size_t i = 0; i < d->b->n; i++)
            if (strcmp(d->b->s[i].rid, attr(a, "Id")) == 0)
                snprintf(d->b->s[i].target, sizeof d->b->s[i].target, "xl/%s", attr(a, "Target"));
    } else if (strcmp(el, "row") == 0) {
        assert_true(d->sh->nrows < MAX_ROWS);
        struct row *r = &d->sh->rows[d->sh->nrows++];
        r->r = strtol(attr(a, "r"), NULL, 10);
    } else if (strcmp(el, "c") == 0) {
        const char *ref = attr(a, "r");
        d->col = ref[0] >= 'A' && ref[0] < 'A' + NCOLS && ref[1] >= '0' && ref[1] <= '9'
                     ? ref[0] - 'A'
                     : -1;
    } else if (strcmp(el, "v") == 0 || strcmp(el, "t") == 0) {
        d->text = 1;
    }
}

static void XMLCALL on_end(void *ud, const XML_Char *el)
{
    struct rd *d = ud;
    if (strcmp(el, "v") == 0 || strcmp(el, "t") == 0)
        d->text = 0;
    else if (strcmp(el, "c") == 0)
        d->col = -1;
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
    struct rd *d = ud;
    if (!d->text || d->col < 0)
        return;
    char *cell = d->sh->rows[d->sh->nrows - 1].cell[d->col];
    size_t have = strlen(cell);
    assert_true(have + (size_t)len < CELL_MAX);
    memcpy(cell + have, s, (size_t)len);
    cell[have + (size_t)len] = '\0';
}

static void parse(struct rd *d, const char *xml)
{
    XML_Parser p = XML_ParserCreate(NULL);
    assert_non_null(p);
    XML_SetUserData(p, d);
    XML_SetElementHandler(p, on_start, on_end);
    XML_SetCharacterDataHandler(p, on_text);
    if (XML_Parse(p, xml, (int)strlen(xml), 1) != XML_STATUS_OK)
        fail_msg("bad XML: %s", XML_ErrorString(XML_GetErrorCode(p)));
    XML_ParserFree(p);
}

/* Reads the sheets (tab order) and their rows; the caller frees the book. */
static struct book *read_book(const char *path)
{
    int zerr = 0;
    zip_t *z = zip_open(path, ZIP_RDONLY, &zerr);
    struct book *b = calloc(1, sizeof *b);
    struct rd d = {.b = b, .col = -1};
    assert_non_null(z);
    assert_non_null(b);
    char *xml = part(z, "xl/workbook.xml");
    parse(&d, xml);
    free(xml);
    xml = part(z, "xl/_rels/workbook.xml.rels");
    parse(&d, xml);
    free(xml);
    for (size_t i = 0; i < b->n; i++) {
        if (!b->s[i].target[0])
            fail_msg("sheet %s has no part", b->s[i].name);
        d.sh = &b->s[i];
        xml = part(z, b->s[i].target);
        parse(&d, xml);
        free(xml);
    }
    zip_discard(z);
    return b;
}

/* ---- checks -------------------------------------------------------------- */

/* The number of sheets n data rows take at per rows a sheet (at least one). */
static size_t sheets_for(size_t n, uint32_t per)
{
    return n ? (n + per - 1) / per : 1;
}

static void sheet_name(char *out, size_t cap, const char *base, size_t i)
{
    if (i)
        snprintf(out, cap, "%s %zu", base, i + 1);
    else
        snprintf(out, cap, "%s", base);
}

/* Sheets first .. first+count-1 are base, "base 2"...: each a header row
 * whose first cell is "id", then at most per data rows numbered on from 2,
 * every sheet but the last full; their first cells, one after the other,
 * are want[0..n), and column D holds reason when it is not NULL. */
static void check_rolled(const struct book *b, size_t first, size_t count, const char *base,
                         uint32_t per, const int64_t *want, size_t n, const char *reason)
{
    size_t k = 0;
    for (size_t i = 0; i < count; i++) {
        const struct sheet *s = &b->s[first + i];
        char name[32];
        sheet_name(name, sizeof name, base, i);
        assert_string_equal(s->name, name);
        assert_true(s->nrows >= 1);
        assert_int_equal(s->rows[0].r, 1);
        assert_string_equal(s->rows[0].cell[0], "id");
        size_t data = s->nrows - 1;
        if (data > per)
            fail_msg("%s holds %zu rows, more than %u", s->name, data, (unsigned)per);
        if (i + 1 < count && data != per)
            fail_msg("%s holds %zu rows and is not the last: want %u", s->name, data,
                     (unsigned)per);
        for (size_t j = 1; j < s->nrows; j++, k++) {
            const struct row *r = &s->rows[j];
            char id[32];
            assert_int_equal(r->r, (long)j + 1);
            if (k >= n)
                fail_msg("%s has more rows than the %zu expected", base, n);
            snprintf(id, sizeof id, "%lld", (long long)want[k]);
            assert_string_equal(r->cell[0], id);
            if (reason)
                assert_string_equal(r->cell[3], reason);
        }
    }
    if (k != n)
        fail_msg("%s sheets hold %zu rows, want %zu", base, k, n);
}

/* The whole layout for one rows-per-sheet value. */
static void check_book(struct fx *f, uint32_t per)
{
    dp_err e = {0};
    if (write_book(f, f->cid, per, &e) != DP_OK)
        fail_msg("rows %u: %s", (unsigned)per, e.msg);
    struct book *b = read_book(f->wb);
    size_t nm = sheets_for(NMSG, per), ns = sheets_for(f->n_skip, per);
    assert_int_equal(b->n, 1 + nm + 2 + ns);
    assert_string_equal(b->s[0].name, "Summary");
    check_rolled(b, 1, nm, "Messages", per, f->ids, NMSG, NULL);
    assert_string_equal(b->s[1 + nm].name, "Senders");
    assert_string_equal(b->s[2 + nm].name, "Errors");
    check_rolled(b, 3 + nm, ns, "Skipped", per, f->skip_ids, f->n_skip, "duplicate");
    /* the Messages rows also carry each message's own phone and status */
    const struct row *first = &b->s[1].rows[1];
    assert_string_equal(first->cell[1], "5511900000000");
    assert_string_equal(first->cell[3], "skipped");
    free(b);
    assert_int_equal(unlink(f->wb), 0);
}

static void test_rolls_every_three(void **state)
{
    struct fx *f = *state;
    assert_int_equal(f->n_skip, 6);
    /* 10 messages: 3 + 3 + 3 + 1; 6 skipped: 3 + 3, no empty third sheet */
    check_book(f, 3);
    assert_int_equal(sheets_for(NMSG, 3), 4);
    assert_int_equal(sheets_for(f->n_skip, 3), 2);
}

static void test_rolls_uneven(void **state)
{
    struct fx *f = *state;
    check_book(f, 2); /* 5 sheets of messages, 3 of skipped */
    check_book(f, 4); /* 4 + 4 + 2; 4 + 2 */
    check_book(f, 6); /* 6 + 4; 6 exactly */
}

static void test_one_row_a_sheet(void **state)
{
    struct fx *f = *state;
    check_book(f, 1); /* Messages .. Messages 10, Skipped .. Skipped 6 */
}

static void test_no_rollover(void **state)
{
    struct fx *f = *state;
    check_book(f, NMSG); /* exactly the campaign */
    check_book(f, 1000);
    check_book(f, 1048575); /* what report.c asks for */
}

/* An empty campaign still has one Messages and one Skipped sheet, each
 * with its header only. */
static void test_empty_campaign(void **state)
{
    struct fx *f = *state;
    dp_err e = {0};
    int64_t cid = campaign(f->st, "vazia");
    OK(f->st->v->commit(f->st, E));
    assert_int_equal(write_book(f, cid, 3, &e), DP_OK);
    struct book *b = read_book(f->wb);
    assert_int_equal(b->n, 5);
    check_rolled(b, 1, 1, "Messages", 3, NULL, 0, NULL);
    check_rolled(b, 4, 1, "Skipped", 3, NULL, 0, NULL);
    free(b);
}

/* Sheets are counted from the report's counts; a snapshot that holds more
 * skipped messages than they say is an error, not rows silently dropped. */
static void test_counts_short(void **state)
{
    struct fx *f = *state;
    dp_err e = {0};
    int64_t cid = campaign(f->st, "contagem");
    int64_t delta[MS__COUNT] = {0};
    for (int i = 0; i < 4; i++) {
        int64_t id;
        insert(f->st, cid, "5511900000099", MS_SKIPPED, 0, &id);
    }
    delta[MS_SKIPPED] = 2;
    delta[MS_QUEUED] = 2; /* total right, skipped short by two */
    OK(f->st->v->campaign_counts_add(f->st, cid, delta, E));
    OK(f->st->v->commit(f->st, E));
    assert_int_equal(write_book(f, cid, 3, &e), DP_EIO);
    assert_non_null(strstr(e.msg, "writing the workbook"));
    /* with room for all of them in one sheet the count does not matter */
    assert_int_equal(write_book(f, cid, 4, &e), DP_OK);
}

static void test_rows_out_of_range(void **state)
{
    struct fx *f = *state;
    dp_err e = {0};
    assert_int_equal(write_book(f, f->cid, 0, &e), DP_EINVAL);
    assert_int_equal(write_book(f, f->cid, 1048576, &e), DP_EINVAL);
    assert_int_equal(access(f->wb, F_OK), -1); /* nothing was started */
}

static void test_cancelled(void **state)
{
    struct fx *f = *state;
    dp_err e = {0};
    assert_int_equal(write_book_as(f, f->cid, 3, 1, &e), DP_EIO);
    assert_non_null(strstr(e.msg, "cancelled"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rolls_every_three, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rolls_uneven, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_row_a_sheet, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_rollover, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_campaign, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counts_short, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rows_out_of_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancelled, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
