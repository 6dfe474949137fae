/* Unit tests for util/xlsxin. Workbooks are made here: with libxlsxwriter
 * for what a real writer produces (shared strings, or inline strings in its
 * constant-memory mode), and with libzip from hand-written XML for what
 * other writers do and for broken input. Rows are collected into a
 * transcript ("row:[field][field]\n") and every workbook is read both from
 * its file and from memory, which must agree. */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <xlsxwriter.h>
#include <zip.h>

#include "util/buf.h"
#include "util/xlsxin.h"

static char dir[64];

/* A path inside this run's scratch folder. */
static const char *tmp(const char *name)
{
    static char p[128];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return p;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    char *d = malloc((size_t)n + 1);
    assert_non_null(d);
    assert_int_equal(fread(d, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return d;
}

static void spit(const char *path, const void *d, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(d, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* ---- collecting rows ---------------------------------------------------- */

struct collect {
    dp_buf out;
    size_t rows;
    size_t stop_at; /* row count to stop at, 0 = never */
    int stop_rc;
};

static int on_row(void *ud, size_t line, size_t n, char **f, const size_t *lens)
{
    struct collect *c = ud;
    c->rows++;
    if (c->stop_at && c->rows == c->stop_at)
        return c->stop_rc;
    assert_true(n > 0 && n <= XLSXIN_MAX_FIELDS);
    assert_int_equal(buf_printf(&c->out, "%zu:", line), DP_OK);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(f[i][lens[i]], '\0');
        assert_int_equal(buf_puts(&c->out, "["), DP_OK);
        assert_int_equal(buf_append(&c->out, f[i], lens[i]), DP_OK);
        assert_int_equal(buf_puts(&c->out, "]"), DP_OK);
    }
    assert_int_equal(buf_puts(&c->out, "\n"), DP_OK);
    return 0;
}

/* Opens x (already open) and reads its rows; returns the transcript. */
static char *drain(xlsxin *x, int *rc, dp_err *e)
{
    struct collect col = {0};
    buf_init(&col.out, 1 << 26);
    *rc = xlsxin_rows(x, on_row, &col, e);
    char *s = buf_steal(&col.out);
    return s ? s : strdup("");
}

/* Reads the workbook at path from the file and from memory; both must give
 * the same code, message and rows. Returns the transcript, or NULL when
 * opening failed (the code and message are in *rc and e). */
static char *read_book(const char *path, int *rc, dp_err *e)
{
    dp_err e1;
    dp_err e2;
    int rc1;
    int rc2;
    char *t1 = NULL;
    char *t2 = NULL;
    size_t len;
    xlsxin *x = NULL;

    dp_err_clear(&e1);
    dp_err_clear(&e2);
    rc1 = xlsxin_open_file(path, &x, &e1);
    if (rc1 == DP_OK) {
        t1 = drain(x, &rc1, &e1);
        xlsxin_free(x);
        x = NULL;
    }
    char *data = slurp(path, &len);
    rc2 = xlsxin_open_mem(data, len, &x, &e2);
    if (rc2 == DP_OK) {
        t2 = drain(x, &rc2, &e2);
        xlsxin_free(x);
    }
    free(data);
    assert_int_equal(rc1, rc2);
    assert_string_equal(e1.msg, e2.msg);
    if (t1 || t2) {
        assert_non_null(t1);
        assert_non_null(t2);
        assert_string_equal(t1, t2);
    }
    free(t2);
    *rc = rc1;
    if (e)
        *e = e1;
    return t1;
}

static void expect_rows(const char *path, const char *want)
{
    int rc;
    dp_err e;
    char *got = read_book(path, &rc, &e);
    if (rc != DP_OK || !got || strcmp(got, want) != 0)
        print_error("rc %d (%s)\n got:\n%s\nwant:\n%s\n", rc, e.msg, got ? got : "(null)", want);
    assert_int_equal(rc, DP_OK);
    assert_string_equal(got, want);
    free(got);
}

static void expect_err(const char *path, int want_rc, const char *want_msg)
{
    int rc;
    dp_err e;
    char *got = read_book(path, &rc, &e);
    if (rc != want_rc || !strstr(e.msg, want_msg))
        print_error("rc %d \"%s\", want %d \"%s\"\n", rc, e.msg, want_rc, want_msg);
    assert_int_equal(rc, want_rc);
    assert_non_null(strstr(e.msg, want_msg));
    free(got);
}

/* ---- hand-made workbooks ------------------------------------------------ */

#define NS_MAIN "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
#define NS_REL "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
#define NS_PKG "http://schemas.openxmlformats.org/package/2006/relationships"
#define XMLDECL "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"

struct part {
    const char *name;
    const char *data;
    size_t len; /* 0: strlen(data) */
};

static void write_zip(const char *path, const struct part *parts, size_t n)
{
    int err = 0;
    zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &err);
    assert_non_null(z);
    for (size_t i = 0; i < n; i++) {
        size_t len = parts[i].len ? parts[i].len : strlen(parts[i].data);
        zip_source_t *s = zip_source_buffer(z, parts[i].data, len, 0);
        assert_non_null(s);
        assert_true(zip_file_add(z, parts[i].name, s, ZIP_FL_OVERWRITE) >= 0);
    }
    assert_int_equal(zip_close(z), 0);
}

static const char ROOT_RELS[] =
    XMLDECL "<Relationships xmlns=\"" NS_PKG "\">"
            "<Relationship Id=\"rId1\" Type=\"" NS_REL "/officeDocument\" "
            "Target=\"xl/workbook.xml\"/></Relationships>";

static const char ONE_SHEET_WB[] =
    XMLDECL "<workbook xmlns=\"" NS_MAIN "\" xmlns:r=\"" NS_REL "\"><sheets>"
            "<sheet name=\"Plan1\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>";

static const char ONE_SHEET_RELS[] =
    XMLDECL "<Relationships xmlns=\"" NS_PKG "\">"
            "<Relationship Id=\"rId1\" Type=\"" NS_REL "/worksheet\" "
            "Target=\"worksheets/sheet1.xml\"/>"
            "<Relationship Id=\"rId2\" Type=\"" NS_REL "/sharedStrings\" "
            "Target=\"sharedStrings.xml\"/></Relationships>";

/* A one-sheet workbook around the given sheetData content (and shared
 * strings, when sst is not NULL). */
static void mini_book(const char *path, const char *rows, const char *sst)
{
    dp_buf sheet;
    buf_init(&sheet, 1u << 30);
    assert_int_equal(buf_printf(&sheet,
                                XMLDECL "<worksheet xmlns=\"%s\"><sheetData>%s</sheetData>"
                                        "</worksheet>",
                                NS_MAIN, rows),
                     DP_OK);
    struct part parts[] = {
        {"_rels/.rels", ROOT_RELS, 0},
        {"xl/workbook.xml", ONE_SHEET_WB, 0},
        {"xl/_rels/workbook.xml.rels", ONE_SHEET_RELS, 0},
        {"xl/worksheets/sheet1.xml", sheet.data, sheet.len},
        {"xl/sharedStrings.xml", sst ? sst : "", 0},
    };
    write_zip(path, parts, sst ? 5 : 4);
    buf_free(&sheet);
}

/* ---- libxlsxwriter workbooks -------------------------------------------- */

/* The same content in either of libxlsxwriter's modes: shared strings, or
 * inline strings written row by row (constant_memory). */
static void lxw_book(const char *path, int constant_memory)
{
    lxw_workbook_options opt = {.constant_memory = constant_memory ? LXW_TRUE : LXW_FALSE,
                                .tmpdir = dir};
    lxw_workbook *wb = workbook_new_opt(path, &opt);
    assert_non_null(wb);
    lxw_worksheet *ws = workbook_add_worksheet(wb, "Contatos");
    lxw_worksheet *other = workbook_add_worksheet(wb, "Outra");
    assert_non_null(ws);
    assert_non_null(other);
    lxw_format *bold = workbook_add_format(wb);
    format_set_bold(bold);
    lxw_format *border = workbook_add_format(wb);
    format_set_border(border, LXW_BORDER_THIN);

    const char *head[] = {"nome", "telefone", "cidade", "ativo", "total"};
    for (int i = 0; i < 5; i++)
        assert_int_equal(worksheet_write_string(ws, 0, (lxw_col_t)i, head[i], bold), LXW_NO_ERROR);
    /* A 13-digit phone stored as a number, a boolean, a formula. */
    assert_int_equal(worksheet_write_string(ws, 1, 0, "Ana", NULL), LXW_NO_ERROR);
    assert_int_equal(worksheet_write_number(ws, 1, 1, 5511999990001.0, NULL), LXW_NO_ERROR);
    assert_int_equal(worksheet_write_string(ws, 1, 2, "São Paulo", NULL), LXW_NO_ERROR);
    assert_int_equal(worksheet_write_boolean(ws, 1, 3, 1, NULL), LXW_NO_ERROR);
    assert_int_equal(worksheet_write_formula_num(ws, 1, 4, "=1+1", NULL, 2), LXW_NO_ERROR);
    /* A blank cell in the middle. */
    assert_int_equal(worksheet_write_string(ws, 2, 0, "Bruno", NULL), LXW_NO_ERROR);
    assert_int_equal(worksheet_write_string(ws, 2, 2, "Rio de Janeiro", NULL), LXW_NO_ERROR);
    assert_int_equal(worksheet_write_boolean(ws, 2, 3, 0, NULL), LXW_NO_ERROR);
    /* Row 4 is skipped; row 5 has accents, an emoji, and a formatted
     * blank past its last value, which must not add a column. */
    assert_int_equal(worksheet_write_string(ws, 4, 0, "Zoë Conceição 😀", NULL), LXW_NO_ERROR);
    assert_int_equal(worksheet_write_number(ws, 4, 1, 5511988880002.0, NULL), LXW_NO_ERROR);
    assert_int_equal(worksheet_write_blank(ws, 4, 6, border), LXW_NO_ERROR);
    /* Row 6 holds formatting only: no row comes out. */
    assert_int_equal(worksheet_write_blank(ws, 5, 0, border), LXW_NO_ERROR);
    /* Rich text, decimals, a big and a small number, a date. */
    char ma[] = "Ma";
    char ria[] = "ria";
    lxw_rich_string_tuple r1 = {.format = bold, .string = ma};
    lxw_rich_string_tuple r2 = {.format = NULL, .string = ria};
    lxw_rich_string_tuple *rich[] = {&r1, &r2, NULL};
    assert_int_equal(worksheet_write_rich_string(ws, 6, 0, rich, NULL), LXW_NO_ERROR);
    assert_int_equal(worksheet_write_number(ws, 6, 1, 3.5, NULL), LXW_NO_ERROR);
    assert_int_equal(worksheet_write_number(ws, 6, 2, 1e20, NULL), LXW_NO_ERROR);
    assert_int_equal(worksheet_write_number(ws, 6, 3, -0.001, NULL), LXW_NO_ERROR);
    lxw_datetime dt = {.year = 2024, .month = 1, .day = 1};
    assert_int_equal(worksheet_write_datetime(ws, 6, 4, &dt, NULL), LXW_NO_ERROR);
    /* Text that looks like other things stays text. */
    assert_int_equal(worksheet_write_string(ws, 7, 0, "+55 (11) 99999-0001", NULL), LXW_NO_ERROR);
    assert_int_equal(worksheet_write_string(ws, 7, 1, "1E5", NULL), LXW_NO_ERROR);
    assert_int_equal(worksheet_write_string(ws, 7, 2, "a<b & \"c\"", NULL), LXW_NO_ERROR);
    assert_int_equal(worksheet_write_string(ws, 7, 3, "linha 1\nlinha 2", NULL), LXW_NO_ERROR);
    /* A second sheet that must be ignored. */
    assert_int_equal(worksheet_write_string(other, 0, 0, "ignored", NULL), LXW_NO_ERROR);
    assert_int_equal(workbook_close(wb), LXW_NO_ERROR);
}

static const char LXW_WANT[] = "1:[nome][telefone][cidade][ativo][total]\n"
                               "2:[Ana][5511999990001][São Paulo][TRUE][2]\n"
                               "3:[Bruno][][Rio de Janeiro][FALSE]\n"
                               "5:[Zoë Conceição 😀][5511988880002]\n"
                               "7:[Maria][3.5][100000000000000000000][-0.001][45292]\n"
                               "8:[+55 (11) 99999-0001][1E5][a<b & \"c\"][linha 1\nlinha 2]\n";

static void test_libxlsxwriter(void **state)
{
    lxw_book(tmp("shared.xlsx"), 0);
    expect_rows(tmp("shared.xlsx"), LXW_WANT);
    lxw_book(tmp("inline.xlsx"), 1);
    expect_rows(tmp("inline.xlsx"), LXW_WANT);

    /* The sheet's name, and a second pass over the same handle. */
    xlsxin *x = NULL;
    dp_err e;
    int rc;
    assert_int_equal(xlsxin_open_file(tmp("shared.xlsx"), &x, &e), DP_OK);
    assert_string_equal(xlsxin_sheet_name(x), "Contatos");
    char *a = drain(x, &rc, &e);
    assert_int_equal(rc, DP_OK);
    char *b = drain(x, &rc, &e);
    assert_int_equal(rc, DP_OK);
    assert_string_equal(a, LXW_WANT);
    assert_string_equal(b, LXW_WANT);
    free(a);
    free(b);
    xlsxin_free(x);
}

/* What other writers do: prefixes, a first sheet that is not sheet1.xml,
 * chart sheets, absolute targets, numbers in scientific notation, inline
 * rich text, phonetic runs, escapes, cells and rows without references. */
static void test_other_writers(void **state)
{
    static const char wb[] =
        XMLDECL "<x:workbook xmlns:x=\"" NS_MAIN "\" xmlns:rel=\"" NS_REL "\"><x:sheets>"
                "<x:sheet name=\"Gráfico\" sheetId=\"3\" rel:id=\"rId9\"/>"
                "<x:sheet name=\"Dados\" sheetId=\"2\" rel:id=\"rId3\"/>"
                "<x:sheet name=\"Plan1\" sheetId=\"1\" rel:id=\"rId1\"/>"
                "</x:sheets></x:workbook>";
    static const char rels[] =
        XMLDECL "<Relationships xmlns=\"" NS_PKG "\">"
                "<Relationship Id=\"rId1\" Type=\"" NS_REL "/worksheet\" "
                "Target=\"worksheets/sheet1.xml\"/>"
                "<Relationship Id=\"rId3\" Type=\"" NS_REL "/worksheet\" "
                "Target=\"/book/worksheets/../data/dados%20v2.xml\"/>"
                "<Relationship Id=\"rId9\" Type=\"" NS_REL "/chartsheet\" "
                "Target=\"chartsheets/sheet1.xml\"/>"
                "<Relationship Id=\"rId4\" Type=\"" NS_REL "/sharedStrings\" "
                "Target=\"strings/shared.xml\"/></Relationships>";
    static const char root[] =
        XMLDECL "<Relationships xmlns=\"" NS_PKG "\">"
                "<Relationship Id=\"rId2\" Type=\"" NS_REL "/extended-properties\" "
                "Target=\"docProps/app.xml\"/>"
                "<Relationship Id=\"rId1\" Type=\"" NS_REL "/officeDocument\" "
                "Target=\"/book/main.xml\"/></Relationships>";
    static const char sst[] =
        XMLDECL "<sst xmlns=\"" NS_MAIN "\" count=\"4\" uniqueCount=\"4\">"
                "<si><t>phone</t></si>"
                "<si><r><rPr><b/></rPr><t>Jo</t></r><r><t xml:space=\"preserve\">ão </t></r>"
                "<r><t>Silva</t></r></si>"
                "<si><t>東京</t><rPh sb=\"0\" eb=\"2\"><t>トウキョウ</t></rPh>"
                "<phoneticPr fontId=\"1\"/></si>"
                "<si><t>a_x000D_b_x005F_x0041_</t></si></sst>";
    static const char sheet[] =
        XMLDECL "<x:worksheet xmlns:x=\"" NS_MAIN "\"><x:dimension ref=\"A1:F4\"/>"
                "<x:sheetViews><x:sheetView workbookViewId=\"0\"/></x:sheetViews>"
                "<x:sheetData>\n"
                "  <x:row r=\"1\"><x:c r=\"A1\" t=\"s\"><x:v>0</x:v></x:c>"
                "<x:c r=\"B1\" t=\"s\"><x:v> 1 </x:v></x:c></x:row>\n"
                /* scientific notation, expanded exactly */
                "  <x:row r=\"2\"><x:c r=\"A2\"><x:v>5.511999990001E+12</x:v></x:c>"
                "<x:c r=\"B2\"><x:v>5.511999990001E12</x:v></x:c>"
                "<x:c r=\"C2\"><x:v>1.5E-3</x:v></x:c>"
                "<x:c r=\"D2\"><x:v>-2.5e2</x:v></x:c>"
                "<x:c r=\"E2\"><x:v>1.0000000000000001E+30</x:v></x:c>"
                "<x:c r=\"F2\"><x:v>0E0</x:v></x:c></x:row>\n"
                /* no r on the row nor on the cells: they follow on */
                "  <x:row><x:c t=\"inlineStr\"><x:is><x:r><x:t>in</x:t></x:r>"
                "<x:r><x:t>line</x:t></x:r></x:is></x:c>"
                "<x:c t=\"str\"><x:f>A3&amp;\"!\"</x:f><x:v>inline!</x:v></x:c>"
                "<x:c t=\"e\"><x:v>#N/A</x:v></x:c>"
                "<x:c t=\"d\"><x:v>2024-01-31T00:00:00</x:v></x:c></x:row>\n"
                /* a formula never calculated, an empty string, then values */
                "  <x:row r=\"9\" spans=\"1:6\"><x:c r=\"A9\"><x:f>1+1</x:f></x:c>"
                "<x:c r=\"B9\" t=\"inlineStr\"><x:is><x:t></x:t></x:is></x:c>"
                "<x:c r=\"C9\" t=\"s\"><x:v>2</x:v></x:c>"
                "<x:c r=\"D9\" t=\"s\"><x:v>3</x:v></x:c>"
                "<x:c r=\"E9\" t=\"inlineStr\"><x:is><x:t>x_x0009_y</x:t></x:is></x:c></x:row>\n"
                /* values only past the 512-column cap would fail; empty
                 * styled cells far out do not count */
                "  <x:row r=\"10\"><x:c r=\"A10\" t=\"b\"><x:v>1</x:v></x:c>"
                "<x:c r=\"XFD10\" s=\"1\"/></x:row>\n"
                "</x:sheetData><x:mergeCells count=\"1\"><x:mergeCell ref=\"A1:B1\"/>"
                "</x:mergeCells></x:worksheet>";
    static const char decoy[] =
        XMLDECL "<worksheet xmlns=\"" NS_MAIN "\"><sheetData><row r=\"1\"><c r=\"A1\" "
                "t=\"inlineStr\"><is><t>wrong sheet</t></is></c></row></sheetData></worksheet>";
    static const char chart[] = XMLDECL "<chartsheet xmlns=\"" NS_MAIN "\"/>";
    struct part parts[] = {
        {"[Content_Types].xml", "<Types/>", 0},
        {"_rels/.rels", root, 0},
        {"book/main.xml", wb, 0},
        {"book/_rels/main.xml.rels", rels, 0},
        {"book/worksheets/sheet1.xml", decoy, 0},
        {"book/chartsheets/sheet1.xml", chart, 0},
        {"book/data/dados v2.xml", sheet, 0},
        {"book/strings/shared.xml", sst, 0},
    };
    write_zip(tmp("other.xlsx"), parts, sizeof parts / sizeof parts[0]);
    expect_rows(tmp("other.xlsx"), "1:[phone][João Silva]\n"
                                   "2:[5511999990001][5511999990001][0.0015][-250]"
                                   "[1000000000000000100000000000000][0]\n"
                                   "3:[inline][inline!][#N/A][2024-01-31T00:00:00]\n"
                                   "9:[][][東京][a\rb_x0041_][x\ty]\n"
                                   "10:[TRUE]\n");
    xlsxin *x = NULL;
    dp_err e;
    assert_int_equal(xlsxin_open_file(tmp("other.xlsx"), &x, &e), DP_OK);
    assert_string_equal(xlsxin_sheet_name(x), "Dados");
    xlsxin_free(x);
}

/* A workbook without the package rels and without a sharedStrings
 * relationship still opens on the conventional names. */
static void test_conventional_names(void **state)
{
    static const char rels[] = XMLDECL "<Relationships xmlns=\"" NS_PKG "\">"
                                       "<Relationship Id=\"rId1\" Type=\"" NS_REL "/worksheet\" "
                                       "Target=\"worksheets/sheet1.xml\"/></Relationships>";
    static const char sheet[] =
        XMLDECL "<worksheet xmlns=\"" NS_MAIN "\"><sheetData><row r=\"2\"><c r=\"B2\" t=\"s\">"
                "<v>0</v></c></row></sheetData></worksheet>";
    static const char sst[] = XMLDECL "<sst xmlns=\"" NS_MAIN "\"><si><t>olá</t></si></sst>";
    struct part parts[] = {
        {"xl/workbook.xml", ONE_SHEET_WB, 0},
        {"xl/_rels/workbook.xml.rels", rels, 0},
        {"xl/worksheets/sheet1.xml", sheet, 0},
        {"xl/sharedStrings.xml", sst, 0},
    };
    write_zip(tmp("plain.xlsx"), parts, 4);
    expect_rows(tmp("plain.xlsx"), "2:[][olá]\n");
}

/* ---- broken input ------------------------------------------------------- */

static void test_not_xlsx(void **state)
{
    static const char csv[] = "phone,name\n5511999990001,Ana\n";
    spit(tmp("x.csv"), csv, strlen(csv));
    expect_err(tmp("x.csv"), DP_EINVAL, "not an XLSX file");
    spit(tmp("empty"), "", 0);
    expect_err(tmp("empty"), DP_EINVAL, "not an XLSX file");
    static const unsigned char ole[16] = {0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1};
    spit(tmp("old.xls"), ole, sizeof ole);
    expect_err(tmp("old.xls"), DP_EINVAL, "password-protected");

    /* A truncated workbook: the central directory is gone. */
    size_t len;
    lxw_book(tmp("whole.xlsx"), 0);
    char *d = slurp(tmp("whole.xlsx"), &len);
    spit(tmp("half.xlsx"), d, len / 2);
    expect_err(tmp("half.xlsx"), DP_EINVAL, "not an XLSX file");
    spit(tmp("cut.xlsx"), d, len - 10);
    expect_err(tmp("cut.xlsx"), DP_EINVAL, "not an XLSX file");
    free(d);

    /* A ZIP that is not a workbook. */
    struct part txt[] = {{"hello.txt", "hello", 0}};
    write_zip(tmp("hello.zip"), txt, 1);
    expect_err(tmp("hello.zip"), DP_EINVAL, "not an XLSX file: the archive has no workbook");

    /* A .docx-like package: the office document is not a workbook. */
    static const char docrels[] =
        XMLDECL "<Relationships xmlns=\"" NS_PKG "\">"
                "<Relationship Id=\"rId1\" Type=\"" NS_REL "/officeDocument\" "
                "Target=\"word/document.xml\"/></Relationships>";
    struct part docx[] = {{"_rels/.rels", docrels, 0},
                          {"word/document.xml", "<w:document xmlns:w=\"urn:w\"/>", 0}};
    write_zip(tmp("doc.docx"), docx, 2);
    expect_err(tmp("doc.docx"), DP_EINVAL, "is not a workbook");

    /* A file that is not there. */
    xlsxin *x = NULL;
    dp_err e;
    assert_int_equal(xlsxin_open_file(tmp("nope.xlsx"), &x, &e), DP_EIO);
    assert_null(x);
    assert_int_equal(xlsxin_open_mem("", 0, &x, &e), DP_EINVAL);
    assert_null(x);
}

static void test_no_sheets(void **state)
{
    static const char wb0[] = XMLDECL "<workbook xmlns=\"" NS_MAIN "\"><sheets/></workbook>";
    struct part p0[] = {{"_rels/.rels", ROOT_RELS, 0}, {"xl/workbook.xml", wb0, 0}};
    write_zip(tmp("nosheets.xlsx"), p0, 2);
    expect_err(tmp("nosheets.xlsx"), DP_EINVAL, "the workbook has no sheets");

    /* Listed, but its relationship is missing. */
    struct part p1[] = {{"_rels/.rels", ROOT_RELS, 0}, {"xl/workbook.xml", ONE_SHEET_WB, 0}};
    write_zip(tmp("norels.xlsx"), p1, 2);
    expect_err(tmp("norels.xlsx"), DP_EINVAL, "the workbook has no worksheets");

    /* Related, but the part is missing. */
    struct part p2[] = {{"_rels/.rels", ROOT_RELS, 0},
                        {"xl/workbook.xml", ONE_SHEET_WB, 0},
                        {"xl/_rels/workbook.xml.rels", ONE_SHEET_RELS, 0}};
    write_zip(tmp("nopart.xlsx"), p2, 3);
    expect_err(tmp("nopart.xlsx"), DP_EINVAL, "the sheet xl/worksheets/sheet1.xml is missing");
}

static void test_bad_xml(void **state)
{
    mini_book(tmp("mismatch.xlsx"), "<row r=\"1\"><c r=\"A1\"><v>1</v></row>", NULL);
    expect_err(tmp("mismatch.xlsx"), DP_EINVAL,
               "damaged XLSX file: xl/worksheets/sheet1.xml line 2: mismatched tag");

    /* DTDs are refused, so entity expansion never starts. */
    static const char dtd[] =
        "<?xml version=\"1.0\"?><!DOCTYPE worksheet [<!ENTITY a \"aaaaaaaaaa\">"
        "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]>"
        "<worksheet><sheetData><row><c t=\"inlineStr\"><is><t>&b;</t></is></c></row>"
        "</sheetData></worksheet>";
    struct part parts[] = {{"_rels/.rels", ROOT_RELS, 0},
                           {"xl/workbook.xml", ONE_SHEET_WB, 0},
                           {"xl/_rels/workbook.xml.rels", ONE_SHEET_RELS, 0},
                           {"xl/worksheets/sheet1.xml", dtd, 0}};
    write_zip(tmp("dtd.xlsx"), parts, 4);
    expect_err(tmp("dtd.xlsx"), DP_EINVAL, "has a DTD");

    /* Runaway nesting. */
    dp_buf deep;
    buf_init(&deep, 1 << 20);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(buf_puts(&deep, "<a>"), DP_OK);
    mini_book(tmp("deep.xlsx"), deep.data, NULL);
    buf_free(&deep);
    expect_err(tmp("deep.xlsx"), DP_EINVAL, "nests deeper than");

    /* One attribute of 6 MB: expat would buffer it whole. */
    dp_buf big;
    buf_init(&big, 1 << 24);
    assert_int_equal(buf_puts(&big, "<row r=\"1\" x=\""), DP_OK);
    for (int i = 0; i < 6 * 1024; i++)
        assert_int_equal(buf_printf(&big, "%01024d", i), DP_OK);
    assert_int_equal(buf_puts(&big, "\"/>"), DP_OK);
    mini_book(tmp("token.xlsx"), big.data, NULL);
    buf_free(&big);
    expect_err(tmp("token.xlsx"), DP_EINVAL, "has a token longer than");

    /* Cells and rows out of order, bad references, unknown types. */
    mini_book(tmp("order.xlsx"),
              "<row r=\"1\"><c r=\"B1\"><v>1</v></c><c r=\"A1\"><v>2</v></c></row>", NULL);
    expect_err(tmp("order.xlsx"), DP_EINVAL, "row 1: cell A1 is out of order");
    mini_book(tmp("rows.xlsx"), "<row r=\"5\"><c><v>1</v></c></row><row r=\"3\"/>", NULL);
    expect_err(tmp("rows.xlsx"), DP_EINVAL, "row 3 comes after row 5");
    mini_book(tmp("ref.xlsx"), "<row r=\"1\"><c r=\"1A\"><v>1</v></c></row>", NULL);
    expect_err(tmp("ref.xlsx"), DP_EINVAL, "bad cell reference");
    mini_book(tmp("type.xlsx"), "<row r=\"1\"><c t=\"zz\"><v>1</v></c></row>", NULL);
    expect_err(tmp("type.xlsx"), DP_EINVAL, "unknown cell type");
}

static void test_caps(void **state)
{
    /* A cell over 64 KiB, inline and shared. */
    dp_buf rows;
    buf_init(&rows, 1 << 20);
    assert_int_equal(buf_puts(&rows, "<row r=\"1\"><c t=\"inlineStr\"><is><t>ok</t></is></c></row>"
                                     "<row r=\"2\"><c r=\"B2\" t=\"inlineStr\"><is><t>"),
                     DP_OK);
    for (int i = 0; i < XLSXIN_MAX_FIELD + 1; i++)
        assert_int_equal(buf_puts(&rows, "x"), DP_OK);
    assert_int_equal(buf_puts(&rows, "</t></is></c></row>"), DP_OK);
    mini_book(tmp("cell.xlsx"), rows.data, NULL);
    expect_err(tmp("cell.xlsx"), DP_ECSV, "row 2: cell B2 is longer than 65536 bytes");

    buf_reset(&rows);
    assert_int_equal(buf_puts(&rows, XMLDECL "<sst xmlns=\"" NS_MAIN "\"><si><t>"), DP_OK);
    for (int i = 0; i < XLSXIN_MAX_FIELD + 1; i++)
        assert_int_equal(buf_puts(&rows, "y"), DP_OK);
    assert_int_equal(buf_puts(&rows, "</t></si></sst>"), DP_OK);
    mini_book(tmp("sstcell.xlsx"), "<row r=\"4\"><c r=\"C4\" t=\"s\"><v>0</v></c></row>",
              rows.data);
    expect_err(tmp("sstcell.xlsx"), DP_ECSV, "row 4: cell C4 is longer than 65536 bytes");
    buf_free(&rows);

    /* Exactly at the cap is fine. */
    buf_init(&rows, 1 << 20);
    assert_int_equal(buf_puts(&rows, "<row r=\"1\"><c t=\"inlineStr\"><is><t>"), DP_OK);
    for (int i = 0; i < XLSXIN_MAX_FIELD; i++)
        assert_int_equal(buf_puts(&rows, "z"), DP_OK);
    assert_int_equal(buf_puts(&rows, "</t></is></c></row>"), DP_OK);
    mini_book(tmp("atcap.xlsx"), rows.data, NULL);
    buf_free(&rows);
    int rc;
    char *got = read_book(tmp("atcap.xlsx"), &rc, NULL);
    assert_int_equal(rc, DP_OK);
    assert_int_equal(strlen(got), strlen("1:[]\n") + XLSXIN_MAX_FIELD);
    free(got);

    /* Column 512 (SR) is the last one allowed; a value in 513 (SS) fails. */
    mini_book(tmp("cols.xlsx"), "<row r=\"3\"><c r=\"SR3\"><v>1</v></c></row>", NULL);
    got = read_book(tmp("cols.xlsx"), &rc, NULL);
    assert_int_equal(rc, DP_OK);
    assert_int_equal(strlen(got), strlen("3:") + 511 * 2 + strlen("[1]\n"));
    free(got);
    mini_book(tmp("wide.xlsx"), "<row r=\"3\"><c r=\"SS3\"><v>1</v></c></row>", NULL);
    expect_err(tmp("wide.xlsx"), DP_ECSV, "row 3: more than 512 columns");

    /* A shared-string index the table does not have. */
    mini_book(tmp("sstidx.xlsx"), "<row r=\"2\"><c r=\"A2\" t=\"s\"><v>1</v></c></row>",
              XMLDECL "<sst xmlns=\"" NS_MAIN "\"><si><t>a</t></si></sst>");
    expect_err(tmp("sstidx.xlsx"), DP_ECSV, "row 2: cell A2 refers to a shared string");
    mini_book(tmp("nosst.xlsx"), "<row r=\"2\"><c r=\"A2\" t=\"s\"><v>0</v></c></row>", NULL);
    expect_err(tmp("nosst.xlsx"), DP_ECSV, "row 2: cell A2 refers to a shared string");
}

/* 20 MB of blanks deflate about 1000:1: refused before inflating. */
static void test_zip_bomb(void **state)
{
    size_t n = 20u << 20;
    char *rows = malloc(n + 1);
    assert_non_null(rows);
    memset(rows, ' ', n);
    rows[n] = '\0';
    mini_book(tmp("bomb.xlsx"), rows, NULL);
    free(rows);
    expect_err(tmp("bomb.xlsx"), DP_ETOOBIG,
               "xl/worksheets/sheet1.xml inflates more than 250 times");
}

/* An entry whose declared size is smaller than what it inflates to. */
static void test_lying_size(void **state)
{
    dp_buf rows;
    buf_init(&rows, 1 << 24);
    for (int i = 1; i <= 2000; i++)
        assert_int_equal(buf_printf(&rows, "<row r=\"%d\"><c><v>%d</v></c></row>", i, i), DP_OK);
    mini_book(tmp("lie.xlsx"), rows.data, NULL);
    buf_free(&rows);
    size_t len;
    unsigned char *d = (unsigned char *)slurp(tmp("lie.xlsx"), &len);
    /* Patch the sheet's uncompressed size in its local and central headers. */
    static const char name[] = "xl/worksheets/sheet1.xml";
    int patched = 0;
    for (size_t i = 0; i + 46 + sizeof name < len; i++) {
        size_t at = 0;
        if (memcmp(d + i, "PK\3\4", 4) == 0 && memcmp(d + i + 30, name, sizeof name - 1) == 0)
            at = i + 22;
        else if (memcmp(d + i, "PK\1\2", 4) == 0 && memcmp(d + i + 46, name, sizeof name - 1) == 0)
            at = i + 24;
        if (!at)
            continue;
        d[at] = 100;
        d[at + 1] = d[at + 2] = d[at + 3] = 0;
        patched++;
    }
    assert_int_equal(patched, 2);
    spit(tmp("lie.xlsx"), d, len);
    free(d);
    expect_err(tmp("lie.xlsx"), DP_EINVAL, "damaged XLSX file: xl/worksheets/sheet1.xml");
}

static void test_encrypted(void **state)
{
    if (!zip_encryption_method_supported(ZIP_EM_AES_256, 1)) {
        skip();
        return;
    }
    int err = 0;
    zip_t *z = zip_open(tmp("enc.xlsx"), ZIP_CREATE | ZIP_TRUNCATE, &err);
    assert_non_null(z);
    const char *names[] = {"_rels/.rels", "xl/workbook.xml"};
    const char *datas[] = {ROOT_RELS, ONE_SHEET_WB};
    for (int i = 0; i < 2; i++) {
        zip_source_t *s = zip_source_buffer(z, datas[i], strlen(datas[i]), 0);
        zip_int64_t idx = zip_file_add(z, names[i], s, 0);
        assert_true(idx >= 0);
        assert_int_equal(zip_file_set_encryption(z, (zip_uint64_t)idx, ZIP_EM_AES_256, "senha"), 0);
    }
    assert_int_equal(zip_close(z), 0);
    expect_err(tmp("enc.xlsx"), DP_EINVAL, "the workbook is encrypted");
}

/* The callback's own code stops the read and leaves e alone. */
static void test_callback_stop(void **state)
{
    mini_book(tmp("stop.xlsx"),
              "<row r=\"1\"><c><v>1</v></c></row><row r=\"2\"><c><v>2</v></c></row>"
              "<row r=\"3\"><c><v>3</v></c></row>",
              NULL);
    xlsxin *x = NULL;
    dp_err e;
    assert_int_equal(xlsxin_open_file(tmp("stop.xlsx"), &x, &e), DP_OK);
    struct collect col = {.stop_at = 2, .stop_rc = 42};
    buf_init(&col.out, 1 << 20);
    dp_err_set(&e, DP_OK, "untouched");
    assert_int_equal(xlsxin_rows(x, on_row, &col, &e), 42);
    assert_string_equal(e.msg, "untouched");
    assert_string_equal(buf_str(&col.out), "1:[1]\n");
    assert_int_equal(col.rows, 2);
    buf_free(&col.out);
    xlsxin_free(x);
    xlsxin_free(NULL);
}

/* ---- many rows ---------------------------------------------------------- */

static size_t rss_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0;
    unsigned long res = 0;
    if (!f)
        return 0;
    if (fscanf(f, "%lu %lu", &size, &res) != 2)
        res = 0;
    fclose(f);
    return res * (size_t)sysconf(_SC_PAGESIZE) / 1024;
}

struct many {
    size_t rows;
    size_t rss_early; /* after the first 10,000 rows */
    size_t rss_max;
    int bad;
};

static int on_many(void *ud, size_t line, size_t n, char **f, const size_t *lens)
{
    struct many *m = ud;
    char want[64];
    m->rows++;
    if (line == 1) {
        if (n != 3 || strcmp(f[0], "nome") != 0)
            m->bad = 1;
        return m->bad;
    }
    /* Every row checked whole: cells split across chunks must come out
     * intact. */
    snprintf(want, sizeof want, "Cliente %zu", line - 1);
    if (n != 3 || strcmp(f[0], want) != 0)
        m->bad = 1;
    snprintf(want, sizeof want, "%llu", 5511900000000ull + line);
    if (strcmp(f[1], want) != 0 || lens[1] != 13)
        m->bad = 1;
    if (strcmp(f[2], line % 2 ? "Recife" : "Belo Horizonte") != 0)
        m->bad = 1;
    if (m->bad)
        return -1000;
    if (m->rows % 10000 == 0) {
        size_t r = rss_kb();
        if (m->rows == 10000)
            m->rss_early = r;
        if (r > m->rss_max)
            m->rss_max = r;
    }
    return 0;
}

static void many_book(const char *path, int rows, int constant_memory)
{
    lxw_workbook_options opt = {.constant_memory = constant_memory ? LXW_TRUE : LXW_FALSE,
                                .tmpdir = dir};
    lxw_workbook *wb = workbook_new_opt(path, &opt);
    assert_non_null(wb);
    lxw_worksheet *ws = workbook_add_worksheet(wb, NULL);
    assert_int_equal(worksheet_write_string(ws, 0, 0, "nome", NULL), LXW_NO_ERROR);
    assert_int_equal(worksheet_write_string(ws, 0, 1, "telefone", NULL), LXW_NO_ERROR);
    assert_int_equal(worksheet_write_string(ws, 0, 2, "cidade", NULL), LXW_NO_ERROR);
    char name[32];
    for (int r = 1; r <= rows; r++) {
        snprintf(name, sizeof name, "Cliente %d", r);
        assert_int_equal(worksheet_write_string(ws, (lxw_row_t)r, 0, name, NULL), LXW_NO_ERROR);
        assert_int_equal(worksheet_write_number(ws, (lxw_row_t)r, 1, 5511900000001.0 + r, NULL),
                         LXW_NO_ERROR);
        assert_int_equal(
            worksheet_write_string(ws, (lxw_row_t)r, 2, r % 2 ? "Belo Horizonte" : "Recife", NULL),
            LXW_NO_ERROR);
    }
    assert_int_equal(workbook_close(wb), LXW_NO_ERROR);
}

static void test_many_rows(void **state)
{
    const int n = 100000;
    for (int mode = 0; mode < 2; mode++) {
        const char *path = tmp(mode ? "many_inline.xlsx" : "many_shared.xlsx");
        many_book(path, n, mode);
        size_t len;
        char *data = slurp(path, &len);
        xlsxin *x = NULL;
        dp_err e;
        struct many m = {0};
        struct timespec t0;
        struct timespec t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        int rc = xlsxin_open_mem(data, len, &x, &e);
        if (rc == DP_OK)
            rc = xlsxin_rows(x, on_many, &m, &e);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (rc != DP_OK)
            print_error("rc %d (%s) after %zu rows\n", rc, e.msg, m.rows);
        assert_int_equal(rc, DP_OK);
        assert_int_equal(m.bad, 0);
        assert_int_equal(m.rows, (size_t)n + 1);
        double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        print_message("%s: %d rows in %.2f s (%.0f rows/s under the sanitizers), RSS %zu -> %zu "
                      "KiB\n",
                      mode ? "inline strings" : "shared strings", n, s, n / s, m.rss_early,
                      m.rss_max);
        /* Flat: the last 90,000 rows add nothing worth the name. */
        assert_true(m.rss_max < m.rss_early + 8 * 1024);
        xlsxin_free(x);
        free(data);
        assert_int_equal(unlink(path), 0);
    }
}

/* ---- setup -------------------------------------------------------------- */

static int setup(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/test_xlsxin.XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static int teardown(void **state)
{
    return nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_libxlsxwriter),
        cmocka_unit_test(test_other_writers),
        cmocka_unit_test(test_conventional_names),
        cmocka_unit_test(test_not_xlsx),
        cmocka_unit_test(test_no_sheets),
        cmocka_unit_test(test_bad_xml),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_zip_bomb),
        cmocka_unit_test(test_lying_size),
        cmocka_unit_test(test_encrypted),
        cmocka_unit_test(test_callback_stop),
        cmocka_unit_test(test_many_rows),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
