/* Unit tests for util/csvin. Rows are collected into a text transcript
 * ("line:[field][field]\n") so each case states its whole expected output;
 * every case is also fed one byte at a time and in random chunks, which must
 * give the identical transcript. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/buf.h"
#include "util/csvin.h"
#include "util/rng.h"

struct collect {
    dp_buf out;
    int stop_at_row; /* 1-based row index to abort at, 0 = never */
    int stop_rc;
    int rows;
};

static int on_row(void *ud, size_t line, size_t n, char **f, const size_t *lens)
{
    struct collect *c = ud;
    c->rows++;
    if (c->stop_at_row && c->rows == c->stop_at_row)
        return c->stop_rc;
    assert_int_equal(buf_printf(&c->out, "%zu:", line), DP_OK);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(f[i][lens[i]], '\0');
        assert_int_equal(buf_puts(&c->out, "["), DP_OK);
        /* Show NUL bytes visibly. */
        for (size_t k = 0; k < lens[i]; k++) {
            if (f[i][k] == '\0')
                assert_int_equal(buf_puts(&c->out, "\\0"), DP_OK);
            else
                assert_int_equal(buf_append(&c->out, &f[i][k], 1), DP_OK);
        }
        assert_int_equal(buf_puts(&c->out, "]"), DP_OK);
    }
    assert_int_equal(buf_puts(&c->out, "\n"), DP_OK);
    return 0;
}

/* Parses data in chunks of the given size (0 = all at once, -1 = random);
 * returns the transcript (caller frees) and the final code in *rc. */
static char *run(const char *data, size_t len, long chunk, int *rc, dp_err *e)
{
    struct collect col = {0};
    buf_init(&col.out, 1 << 26);
    csvin *c = NULL;
    assert_int_equal(csvin_new(&c, on_row, &col), DP_OK);
    dp_rng r;
    rng_seed(&r, len);
    int code = DP_OK;
    size_t i = 0;
    while (i < len && code == DP_OK) {
        size_t n = len - i;
        if (chunk > 0 && (size_t)chunk < n)
            n = (size_t)chunk;
        if (chunk < 0) {
            size_t k = (size_t)rng_range(&r, 1, 17);
            if (k < n)
                n = k;
        }
        code = csvin_feed(c, data + i, n, e);
        i += n;
    }
    if (code == DP_OK)
        code = csvin_finish(c, e);
    csvin_free(c);
    *rc = code;
    return buf_steal(&col.out);
}

/* Checks the transcript whole, byte by byte and in random chunks. */
static void expect_len(const char *data, size_t len, const char *want)
{
    const long chunks[] = {0, 1, -1, 2, 3};
    for (size_t k = 0; k < sizeof chunks / sizeof chunks[0]; k++) {
        int rc;
        dp_err e;
        dp_err_clear(&e);
        char *got = run(data, len, chunks[k], &rc, &e);
        if (rc != DP_OK || strcmp(got, want) != 0)
            print_error("chunk %ld rc %d (%s)\n got:\n%s\nwant:\n%s\n", chunks[k], rc, e.msg, got,
                        want);
        assert_int_equal(rc, DP_OK);
        assert_string_equal(got, want);
        free(got);
    }
}

static void expect(const char *data, const char *want)
{
    expect_len(data, strlen(data), want);
}

static void expect_err_len(const char *data, size_t len, int want_rc, const char *want_msg)
{
    const long chunks[] = {0, 1, -1};
    for (size_t k = 0; k < sizeof chunks / sizeof chunks[0]; k++) {
        /* Byte-at-a-time over big inputs is slow under ASan; skip it. */
        if (chunks[k] != 0 && len > 300000)
            continue;
        int rc;
        dp_err e;
        dp_err_clear(&e);
        char *got = run(data, len, chunks[k], &rc, &e);
        if (rc != want_rc || strcmp(e.msg, want_msg) != 0)
            print_error("chunk %ld: rc %d msg \"%s\", want %d \"%s\"\n", chunks[k], rc, e.msg,
                        want_rc, want_msg);
        assert_int_equal(rc, want_rc);
        assert_string_equal(e.msg, want_msg);
        free(got);
    }
}

static void expect_err(const char *data, int want_rc, const char *want_msg)
{
    expect_err_len(data, strlen(data), want_rc, want_msg);
}

static void test_basic(void **state)
{
    expect("phone,name\n5511999990001,Ana\n5511999990002,Bia\n",
           "1:[phone][name]\n2:[5511999990001][Ana]\n3:[5511999990002][Bia]\n");
    /* No final line break. */
    expect("phone,name\n1,Ana", "1:[phone][name]\n2:[1][Ana]\n");
    /* Empty fields and rows of delimiters. */
    expect("a,b,c\n1,,3\n,,\n", "1:[a][b][c]\n2:[1][][3]\n3:[][][]\n");
    /* Ragged rows are delivered as they are. */
    expect("a,b\n1\n1,2,3\n", "1:[a][b]\n2:[1]\n3:[1][2][3]\n");
}

static void test_empty_inputs(void **state)
{
    expect("", "");
    expect("\n\n\r\n", "");
    expect("\xEF\xBB\xBF", "");
    expect("   \n\t\n", "");
    expect("phone", "1:[phone]\n");
}

static void test_delimiter_detection(void **state)
{
    expect("phone;name;cidade\n1;Silva, Ana;SP\n",
           "1:[phone][name][cidade]\n2:[1][Silva, Ana][SP]\n");
    expect("phone\tname\n1\tAna, Bia\n", "1:[phone][name]\n2:[1][Ana, Bia]\n");
    /* Ties go to ',' then ';'. */
    expect("a,b;c\n1,2;3\n", "1:[a][b;c]\n2:[1][2;3]\n");
    expect("a;b\tc\n1;2\t3\n", "1:[a][b\tc]\n2:[1][2\t3]\n");
    /* Delimiters inside quotes do not count. */
    expect("\"a,b,c\";d;e\n1;2;3\n", "1:[a,b,c][d][e]\n2:[1][2][3]\n");
    /* Only the first line decides; later lines do not. */
    expect("a;b\n1,2;3\n", "1:[a][b]\n2:[1,2][3]\n");
    /* Leading blank lines are skipped, for detection and for rows. */
    expect("\n \n\t\t\nphone;name\n1;2\n", "4:[phone][name]\n5:[1][2]\n");
    /* No delimiter at all: ','. */
    expect("phone\n1,2\n", "1:[phone]\n2:[1][2]\n");
}

static void test_bom(void **state)
{
    expect("\xEF\xBB\xBFphone,name\n1,Ana\n", "1:[phone][name]\n2:[1][Ana]\n");
    expect("\xEF\xBB\xBF\"phone\";name\n1;Ana\n", "1:[phone][name]\n2:[1][Ana]\n");
    /* Only at the very start. */
    expect("a,b\n\xEF\xBB\xBFx,y\n", "1:[a][b]\n2:[\xEF\xBB\xBFx][y]\n");
    /* Not a BOM, just similar bytes. */
    expect("\xEF\xBB,b\n", "1:[\xEF\xBB][b]\n");
}

static void test_quoting(void **state)
{
    expect("name,note\n\"Silva, Ana\",\"He said \"\"hi\"\"\"\n",
           "1:[name][note]\n2:[Silva, Ana][He said \"hi\"]\n");
    expect("a,b\n\"\",\"\"\"\"\n", "1:[a][b]\n2:[][\"]\n");
    /* Spaces around a quoted field are dropped, inside kept. */
    expect("a,b\n  \" x \"  ,\" y\"\n", "1:[a][b]\n2:[ x ][ y]\n");
    /* Embedded line breaks of every kind are data. */
    expect("a,b\n\"l1\nl2\",\"c\r\nd\rE\"\n", "1:[a][b]\n2:[l1\nl2][c\r\nd\rE]\n");
}

static void test_trim_unquoted(void **state)
{
    expect("  a  ,\tb\t,c d\n", "1:[a][b][c d]\n");
    expect("a\tb\n  x  \t y \n", "1:[a][b]\n2:[x][y]\n");
}

static void test_line_endings(void **state)
{
    expect("a,b\r\n1,2\r\n3,4\r\n", "1:[a][b]\n2:[1][2]\n3:[3][4]\n");
    expect("a,b\r1,2\r3,4", "1:[a][b]\n2:[1][2]\n3:[3][4]\n");
    expect("a,b\n1,2\r\n3,4\r5,6\n", "1:[a][b]\n2:[1][2]\n3:[3][4]\n4:[5][6]\n");
    /* CR CR is two lines, CR LF one. */
    expect("a,b\r\r1,2\r\n\r\n3,4\n", "1:[a][b]\n3:[1][2]\n5:[3][4]\n");
}

static void test_line_numbers(void **state)
{
    /* Blank and whitespace lines count as lines but give no rows. */
    expect("a,b\n\n1,2\n   \n\r\n3,4", "1:[a][b]\n3:[1][2]\n6:[3][4]\n");
    /* A record spanning lines is reported at its first line, and the
     * lines inside it are counted for what follows. */
    expect("h1,h2\n\"l1\nl2\nl3\",x\nnext,y\n\"a\r\nb\",z\nlast,w\n",
           "1:[h1][h2]\n2:[l1\nl2\nl3][x]\n5:[next][y]\n6:[a\r\nb][z]\n8:[last][w]\n");
    /* Multi-line header. */
    expect("\"ph\none\",name\n1,2\n", "1:[ph\none][name]\n3:[1][2]\n");
    /* A lone "" line is blank too. */
    expect("a\n\"\"\nb\n", "1:[a]\n3:[b]\n");
}

static void test_utf8_and_nul(void **state)
{
    expect("nome;cidade\nJoão;São Paulo\n🎉;Ñandú\n",
           "1:[nome][cidade]\n2:[João][São Paulo]\n3:[🎉][Ñandú]\n");
    static const char with_nul[] = "a,b\nx\0y,z\n";
    expect_len(with_nul, sizeof with_nul - 1, "1:[a][b]\n2:[x\\0y][z]\n");
}

static void test_stray_quotes(void **state)
{
    const char *m2 = "line 2: stray quote (quote the whole field and double quotes inside it)";
    expect_err("a,b\n1,x\"y\n", DP_ECSV, m2);
    expect_err("a,b\n\"abc\"def,1\n", DP_ECSV, m2);
    expect_err("a,b\n\"a\" \"b\",1\n", DP_ECSV, m2);
    /* The line is where the bad quote is, even inside a multi-line record. */
    expect_err("a,b\n\"x\ny\"z,1\n", DP_ECSV,
               "line 3: stray quote (quote the whole field and double quotes inside it)");
}

static void test_unterminated_quote(void **state)
{
    expect_err("a,b\n1,\"open\nmore\n", DP_ECSV, "line 2: unterminated quoted field");
    expect_err("\"a,b\n", DP_ECSV, "line 1: unterminated quoted field");
}

static char *repeat(char ch, size_t n)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    memset(s, ch, n);
    s[n] = '\0';
    return s;
}

static void test_field_cap(void **state)
{
    size_t max = CSVIN_MAX_FIELD;
    dp_buf b;
    buf_init(&b, 1 << 24);

    /* Exactly the cap, unquoted and quoted, with trailing spaces: fine. */
    char *f = repeat('x', max);
    assert_int_equal(buf_printf(&b, "a,b\n%s,1\n\"%s\"  ,2\n%s   \n", f, f, f), DP_OK);
    int rc;
    dp_err e;
    char *got = run(b.data, b.len, 0, &rc, &e);
    assert_int_equal(rc, DP_OK);
    /* "1:[a][b]\n", then two rows of max + 8 bytes and one of max + 5. */
    assert_int_equal(strlen(got), 9 + 3 * max + 21);
    free(got);
    got = run(b.data, b.len, 1000, &rc, &e);
    assert_int_equal(rc, DP_OK);
    free(got);
    free(f);

    /* One byte over, just over the parser's buffer, and far over. */
    const size_t over[] = {max + 1, max + 900, max + 5000, 400000};
    for (size_t k = 0; k < 4; k++) {
        f = repeat('y', over[k]);
        buf_reset(&b);
        assert_int_equal(buf_printf(&b, "a,b\n1,2\n%s,1\n", f), DP_OK);
        expect_err_len(b.data, b.len, DP_ECSV, "line 3: field longer than 65536 bytes");
        buf_reset(&b);
        assert_int_equal(buf_printf(&b, "a,b\n\n\"%s\",1\n", f), DP_OK);
        expect_err_len(b.data, b.len, DP_ECSV, "line 3: field longer than 65536 bytes");
        free(f);
    }
    /* A runaway unclosed quote is stopped by the cap, not by the end of
     * input, at the line where it began. */
    f = repeat('z', 300000);
    buf_reset(&b);
    assert_int_equal(buf_printf(&b, "a,b\n1,\"%s\n2,3\n", f), DP_OK);
    expect_err_len(b.data, b.len, DP_ECSV, "line 2: field longer than 65536 bytes");
    free(f);
    buf_free(&b);
}

static void test_field_count_cap(void **state)
{
    dp_buf b;
    buf_init(&b, 1 << 20);
    assert_int_equal(buf_puts(&b, "h\n"), DP_OK);
    for (int i = 0; i < CSVIN_MAX_FIELDS; i++)
        assert_int_equal(buf_printf(&b, "%s%d", i ? "," : "", i), DP_OK);
    assert_int_equal(buf_puts(&b, "\n"), DP_OK);
    int rc;
    dp_err e;
    char *got = run(b.data, b.len, 0, &rc, &e);
    assert_int_equal(rc, DP_OK);
    assert_non_null(strstr(got, "2:[0][1][2]"));
    assert_non_null(strstr(got, "[511]\n"));
    free(got);
    /* One more field on line 3. */
    char *row = strndup(b.data + 2, b.len - 3); /* "0,1,...,511" */
    assert_non_null(row);
    assert_int_equal(buf_puts(&b, row), DP_OK);
    free(row);
    assert_int_equal(buf_puts(&b, ",512\n"), DP_OK);
    expect_err_len(b.data, b.len, DP_ECSV, "line 3: more than 512 fields");
    /* Empty fields count too. */
    buf_reset(&b);
    assert_int_equal(buf_puts(&b, "h\n"), DP_OK);
    for (int i = 0; i < 600; i++)
        assert_int_equal(buf_puts(&b, ","), DP_OK);
    expect_err_len(b.data, b.len, DP_ECSV, "line 2: more than 512 fields");
    buf_free(&b);
}

static void test_header_cap(void **state)
{
    /* No line end within the first MiB. */
    char *f = repeat('h', CSVIN_MAX_HEADER + 10);
    int rc;
    dp_err e;
    dp_err_clear(&e);
    char *got = run(f, strlen(f), 0, &rc, &e);
    assert_int_equal(rc, DP_ECSV);
    assert_string_equal(e.msg, "line 1: first line longer than 1048576 bytes");
    free(got);
    got = run(f, strlen(f), 65536, &rc, &e);
    assert_int_equal(rc, DP_ECSV);
    free(got);
    free(f);

    /* A single chunk far bigger than the header cap that holds the whole
     * file is fine. */
    dp_buf b;
    buf_init(&b, 1 << 24);
    assert_int_equal(buf_puts(&b, "phone,name\n"), DP_OK);
    for (int i = 0; i < 150000; i++)
        assert_int_equal(buf_printf(&b, "55119%08d,N%d\n", i, i), DP_OK);
    assert_true(b.len > 2 * CSVIN_MAX_HEADER);
    got = run(b.data, b.len, 0, &rc, &e);
    assert_int_equal(rc, DP_OK);
    assert_non_null(strstr(got, "150001:[5511900149999][N149999]\n"));
    free(got);
    buf_free(&b);
}

static void test_callback_abort(void **state)
{
    struct collect col = {0};
    buf_init(&col.out, 1 << 20);
    col.stop_at_row = 2;
    col.stop_rc = 42;
    csvin *c;
    assert_int_equal(csvin_new(&c, on_row, &col), DP_OK);
    dp_err e;
    dp_err_set(&e, DP_EINVAL, "caller detail");
    assert_int_equal(csvin_feed(c, "a,b\n1,2\n3,4\n", 12, &e), 42);
    /* e belongs to the callback in this case. */
    assert_string_equal(e.msg, "caller detail");
    assert_int_equal(col.rows, 2);
    /* Sticky. */
    assert_int_equal(csvin_feed(c, "5,6\n", 4, &e), 42);
    assert_int_equal(csvin_finish(c, &e), 42);
    assert_int_equal(col.rows, 2);
    csvin_free(c);
    buf_free(&col.out);
}

static void test_sticky_errors_and_finish(void **state)
{
    struct collect col = {0};
    buf_init(&col.out, 1 << 20);
    csvin *c;
    assert_int_equal(csvin_new(&c, on_row, &col), DP_OK);
    dp_err e;
    dp_err_clear(&e);
    assert_int_equal(csvin_feed(c, "a,b\nx\"y,1\n", 10, &e), DP_ECSV);
    dp_err e2;
    dp_err_clear(&e2);
    assert_int_equal(csvin_feed(c, "1,2\n", 4, &e2), DP_ECSV);
    assert_string_equal(e2.msg, e.msg);
    assert_int_equal(csvin_finish(c, &e2), DP_ECSV);
    csvin_free(c);

    /* Feeding after finish is a caller bug, reported. */
    assert_int_equal(csvin_new(&c, on_row, &col), DP_OK);
    assert_int_equal(csvin_feed(c, "a\n", 2, NULL), DP_OK);
    assert_int_equal(csvin_finish(c, NULL), DP_OK);
    assert_int_equal(csvin_finish(c, NULL), DP_OK);
    assert_int_equal(csvin_feed(c, "b\n", 2, &e), DP_EINVAL);
    /* Zero-length feeds are no-ops. */
    csvin_free(c);
    assert_int_equal(csvin_new(&c, on_row, &col), DP_OK);
    assert_int_equal(csvin_feed(c, "", 0, NULL), DP_OK);
    assert_int_equal(csvin_finish(c, NULL), DP_OK);
    csvin_free(c);
    csvin_free(NULL);
    buf_free(&col.out);
}

static void test_no_callback(void **state)
{
    csvin *c;
    assert_int_equal(csvin_new(&c, NULL, NULL), DP_OK);
    assert_int_equal(csvin_feed(c, "a,b\n1,2\n", 8, NULL), DP_OK);
    assert_int_equal(csvin_finish(c, NULL), DP_OK);
    csvin_free(c);
}

static void test_everything_chunked(void **state)
{
    /* One input with every feature; expect() feeds it whole, per byte and
     * in random chunks (splitting the BOM, CRLFs, quotes and UTF-8). */
    expect("\xEF\xBB\xBF\n"
           "phone ; \"nome completo\" ;cidade\r\n"
           "\r\n"
           "  5511999990001 ;\"Silva; Ana\n\"\"Aninha\"\"\";São Paulo\r\n"
           "5511999990002;Bia;  \r\n"
           "\"5511999990003\";\"\";\"Porto\r\nAlegre\"\n"
           "5511999990004;Çé;🎉",
           "2:[phone][nome completo][cidade]\n"
           "4:[5511999990001][Silva; Ana\n\"Aninha\"][São Paulo]\n"
           "6:[5511999990002][Bia][]\n"
           "7:[5511999990003][][Porto\r\nAlegre]\n"
           "9:[5511999990004][Çé][🎉]\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_empty_inputs),
        cmocka_unit_test(test_delimiter_detection),
        cmocka_unit_test(test_bom),
        cmocka_unit_test(test_quoting),
        cmocka_unit_test(test_trim_unquoted),
        cmocka_unit_test(test_line_endings),
        cmocka_unit_test(test_line_numbers),
        cmocka_unit_test(test_utf8_and_nul),
        cmocka_unit_test(test_stray_quotes),
        cmocka_unit_test(test_unterminated_quote),
        cmocka_unit_test(test_field_cap),
        cmocka_unit_test(test_field_count_cap),
        cmocka_unit_test(test_header_cap),
        cmocka_unit_test(test_callback_abort),
        cmocka_unit_test(test_sticky_errors_and_finish),
        cmocka_unit_test(test_no_callback),
        cmocka_unit_test(test_everything_chunked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
