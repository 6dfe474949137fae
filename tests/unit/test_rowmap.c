/* Unit tests for util/rowmap: the column mapping CSV and XLSX imports share. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/rowmap.h"

/* A row from string literals, as the readers hand it over (writable copies). */
struct row {
    size_t n;
    char buf[8][32];
    char *f[8];
    size_t lens[8];
};

/* f points into r itself, so a row is filled in place, never copied */
static void mk(struct row *r, size_t n, const char *const *cells)
{
    memset(r, 0, sizeof *r);
    r->n = n;
    for (size_t i = 0; i < n; i++) {
        strncpy(r->buf[i], cells[i], sizeof r->buf[i] - 1);
        r->f[i] = r->buf[i];
        r->lens[i] = strlen(r->buf[i]);
    }
}

#define ROW(r, ...)                                                                                \
    struct row r;                                                                                  \
    mk(&r, sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *),                           \
       (const char *[]){__VA_ARGS__})

static void test_default_columns(void **state)
{
    rowmap *m = NULL;
    dp_err e = {0};
    ROW(h, "Nome", "PHONE", "cidade", "", "Name");
    assert_int_equal(rowmap_new(&m, NULL, 1, h.n, h.f, h.lens, &e), DP_OK);
    ROW(r, "Ana Maria", "11 99999-0001", "Recife", "ignored", "Ana");
    assert_string_equal(rowmap_phone(m, r.n, r.f, r.lens), "11 99999-0001");
    assert_string_equal(rowmap_name(m, r.n, r.f, r.lens), "Ana");
    json_t *v = rowmap_vars(m, r.n, r.f, r.lens);
    /* "Nome" is a variable, the unnamed column is dropped */
    assert_int_equal(json_object_size(v), 2);
    assert_string_equal(json_string_value(json_object_get(v, "Nome")), "Ana Maria");
    assert_string_equal(json_string_value(json_object_get(v, "cidade")), "Recife");
    json_decref(v);
    /* a short row: no name, fewer vars; an empty phone cell */
    ROW(s, "Beto", "");
    assert_null(rowmap_phone(m, s.n, s.f, s.lens));
    assert_null(rowmap_name(m, s.n, s.f, s.lens));
    v = rowmap_vars(m, s.n, s.f, s.lens);
    assert_int_equal(json_object_size(v), 1);
    json_decref(v);
    rowmap_free(m);
}

static void test_phone_header_named(void **state)
{
    rowmap *m = NULL;
    dp_err e = {0};
    ROW(h, "phone", "Celular", "celular");
    assert_int_equal(rowmap_new(&m, "CELULAR", 1, h.n, h.f, h.lens, &e), DP_OK);
    ROW(r, "1", "2", "3");
    /* the first match wins; "phone" is then an ordinary variable */
    assert_string_equal(rowmap_phone(m, r.n, r.f, r.lens), "2");
    json_t *v = rowmap_vars(m, r.n, r.f, r.lens);
    assert_string_equal(json_string_value(json_object_get(v, "phone")), "1");
    assert_string_equal(json_string_value(json_object_get(v, "celular")), "3");
    json_decref(v);
    rowmap_free(m);
}

static void test_missing_phone_lists_headers(void **state)
{
    rowmap *m = NULL;
    dp_err e = {0};
    ROW(h, "name", "cidade");
    assert_int_equal(rowmap_new(&m, "whatsapp", 3, h.n, h.f, h.lens, &e), DP_ECSV);
    assert_non_null(strstr(e.msg, "line 3: no \"whatsapp\" column"));
    assert_non_null(strstr(e.msg, "\"name\", \"cidade\""));
    json_t *hs = rowmap_headers(m);
    assert_int_equal(json_array_size(hs), 2);
    assert_string_equal(json_string_value(json_array_get(hs, 1)), "cidade");
    json_decref(hs);
    rowmap_free(m);
    /* an empty header */
    struct row none = {0};
    assert_int_equal(rowmap_new(&m, NULL, 1, 0, none.f, none.lens, &e), DP_ECSV);
    assert_non_null(strstr(e.msg, "headers: none"));
    rowmap_free(m);
    rowmap_free(NULL);
}

static void test_not_utf8_cell_left_out(void **state)
{
    rowmap *m = NULL;
    dp_err e = {0};
    ROW(h, "phone", "a", "b");
    assert_int_equal(rowmap_new(&m, NULL, 1, h.n, h.f, h.lens, &e), DP_OK);
    ROW(r, "5511999990001", "\xff", "ok");
    json_t *v = rowmap_vars(m, r.n, r.f, r.lens);
    assert_non_null(v);
    assert_int_equal(json_object_size(v), 1);
    assert_string_equal(json_string_value(json_object_get(v, "b")), "ok");
    json_decref(v);
    rowmap_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_columns),
        cmocka_unit_test(test_phone_header_named),
        cmocka_unit_test(test_missing_phone_lists_headers),
        cmocka_unit_test(test_not_utf8_cell_left_out),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
