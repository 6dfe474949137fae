/* Unit tests for engine/template: compile errors with their offsets, the
 * variable list, rendering of variables and built-ins, greeting hours,
 * spintax distribution with a fixed seed, and byte-exact UTF-8. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/template.h"

static tmpl *compile_ok(const char *text)
{
    tmpl *t = NULL;
    dp_err e;
    dp_err_clear(&e);
    int rc = tmpl_compile(text, &t, &e);
    if (rc != DP_OK)
        print_error("compile \"%s\": %s\n", text, e.msg);
    assert_int_equal(rc, DP_OK);
    assert_non_null(t);
    return t;
}

static void compile_bad(const char *text, int want_rc, const char *want_msg)
{
    tmpl *t = (tmpl *)0x1;
    dp_err e;
    dp_err_clear(&e);
    assert_int_equal(tmpl_compile(text, &t, &e), want_rc);
    assert_null(t);
    assert_int_equal(e.code, want_rc);
    if (want_msg && strcmp(e.msg, want_msg) != 0)
        print_error("compile \"%.60s\"\n got: %s\nwant: %s\n", text, e.msg, want_msg);
    if (want_msg)
        assert_string_equal(e.msg, want_msg);
}

/* Renders with the given context into a fresh string (caller frees). */
static char *render(const tmpl *t, const struct tmpl_ctx *c)
{
    dp_buf b;
    buf_init(&b, 1 << 20);
    dp_err e;
    assert_int_equal(tmpl_render(t, c, &b, &e), DP_OK);
    return buf_steal(&b);
}

static void expect_render(const char *text, const struct tmpl_ctx *c, const char *want)
{
    tmpl *t = compile_ok(text);
    char *got = render(t, c);
    assert_string_equal(got, want);
    free(got);
    tmpl_free(t);
}

static json_t *parse(const char *s)
{
    json_error_t je;
    json_t *j = json_loads(s, 0, &je);
    assert_non_null(j);
    return j;
}

static void test_plain_text_and_utf8(void **state)
{
    struct tmpl_ctx c = {0};
    expect_render("", &c, "");
    expect_render("Olá, João! Promoção de verão 🎉 — 50%", &c,
                  "Olá, João! Promoção de verão 🎉 — 50%");
    /* Lone braces, brackets and bars are text. */
    expect_render("{a} [b] c|d } ] { [", &c, "{a} [b] c|d } ] { [");
    expect_render("line1\nline2\r\n\ttab", &c, "line1\nline2\r\n\ttab");
}

static void test_variables(void **state)
{
    json_t *vars = parse("{\"cidade\":\"Recife\",\"Cupom\":\"BF50\",\"n\":42,\"pi\":2.5,"
                         "\"vip\":true,\"off\":false,\"nada\":null,\"lista\":[1],\"vazio\":\"\"}");
    struct tmpl_ctx c = {"5511999990001", "Ana", vars, 9, NULL};
    expect_render("Oi {{name}} de {{cidade}}", &c, "Oi Ana de Recife");
    expect_render("{{ name }}|{{\tcidade\t}}|{{  cupom}}", &c, "Ana|Recife|BF50");
    /* Case-insensitive fallback both ways. */
    expect_render("{{CIDADE}} {{cupom}} {{Cupom}}", &c, "Recife BF50 BF50");
    expect_render("{{n}} {{pi}} {{vip}} {{off}}", &c, "42 2.5 true false");
    /* Missing, null, arrays and empty strings render as nothing. */
    expect_render("[{{nada}}][{{lista}}][{{vazio}}][{{naoexiste}}]", &c, "[][][][]");
    /* Built-ins. */
    expect_render("{{phone}} {{PHONE}} {{Name}}", &c, "5511999990001 5511999990001 Ana");
    expect_render("{{greeting}}, {{name}}!", &c, "Bom dia, Ana!");
    /* Adjacent variables and variables at the edges. */
    expect_render("{{name}}{{cidade}}{{name}}", &c, "AnaRecifeAna");
    json_decref(vars);
}

static void test_exact_case_wins(void **state)
{
    json_t *vars = parse("{\"Cidade\":\"A\",\"cidade\":\"B\"}");
    struct tmpl_ctx c = {NULL, NULL, vars, 9, NULL};
    expect_render("{{cidade}} {{Cidade}}", &c, "B A");
    json_decref(vars);
}

static void test_name_sources(void **state)
{
    json_t *vars = parse("{\"name\":\"FromVars\"}");
    struct tmpl_ctx c = {NULL, "Bia", vars, 9, NULL};
    expect_render("{{name}}", &c, "Bia");
    c.name = NULL;
    expect_render("{{name}}", &c, "FromVars");
    c.name = "";
    expect_render("{{name}}", &c, "FromVars");
    c.vars = NULL;
    expect_render("[{{name}}][{{phone}}]", &c, "[][]");
    json_decref(vars);
}

static void test_non_object_vars(void **state)
{
    json_t *arr = parse("[\"x\"]");
    struct tmpl_ctx c = {NULL, NULL, arr, 9, NULL};
    expect_render("[{{x}}]", &c, "[]");
    json_decref(arr);
}

static void test_greeting_boundaries(void **state)
{
    const struct {
        int h;
        const char *g;
    } cases[] = {{0, "Boa noite"},  {4, "Boa noite"},  {5, "Bom dia"},    {11, "Bom dia"},
                 {12, "Boa tarde"}, {17, "Boa tarde"}, {18, "Boa noite"}, {23, "Boa noite"},
                 {-1, "Boa noite"}, {24, "Boa noite"}};
    tmpl *t = compile_ok("{{greeting}}");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tmpl_ctx c = {NULL, NULL, NULL, cases[i].h, NULL};
        char *s = render(t, &c);
        assert_string_equal(s, cases[i].g);
        assert_string_equal(tmpl_greeting(cases[i].h), cases[i].g);
        free(s);
    }
    tmpl_free(t);
}

static void test_var_list(void **state)
{
    tmpl *t = compile_ok("{{greeting}} {{Cidade}} {{name}} {{phone}} {{cidade}} [[{{cupom}}|x]] "
                         "{{ CUPOM }} {{Name}} {{z_9}}");
    assert_int_equal(tmpl_var_count(t), 4);
    assert_string_equal(tmpl_var_name(t, 0), "Cidade");
    assert_string_equal(tmpl_var_name(t, 1), "name");
    assert_string_equal(tmpl_var_name(t, 2), "cupom");
    assert_string_equal(tmpl_var_name(t, 3), "z_9");
    assert_null(tmpl_var_name(t, 4));
    tmpl_free(t);

    t = compile_ok("Olá {{greeting}} {{phone}}");
    assert_int_equal(tmpl_var_count(t), 0);
    tmpl_free(t);
}

static void test_missing(void **state)
{
    tmpl *t = compile_ok("{{name}} {{cidade}} {{cupom}}");
    json_t *full = parse("{\"CIDADE\":\"Recife\",\"cupom\":\"X\"}");
    json_t *partial = parse("{\"cidade\":\"\",\"cupom\":7}");
    json_t *nulls = parse("{\"cidade\":null,\"cupom\":{}}");

    assert_int_equal(tmpl_missing(t, "Ana", full), -1);
    assert_int_equal(tmpl_missing(t, NULL, full), 0);
    assert_int_equal(tmpl_missing(t, "", full), 0);
    assert_int_equal(tmpl_missing(t, "Ana", partial), 1);
    assert_int_equal(tmpl_missing(t, "Ana", nulls), 1);
    assert_int_equal(tmpl_missing(t, "Ana", NULL), 1);

    /* Per-variable counting over a set of contacts. */
    const char *names[] = {"Ana", NULL, "Bia", ""};
    json_t *vs[] = {full, partial, nulls, NULL};
    size_t counts[3] = {0};
    for (size_t k = 0; k < 4; k++)
        for (size_t i = 0; i < tmpl_var_count(t); i++)
            counts[i] += (size_t)tmpl_var_missing(t, i, names[k], vs[k]);
    assert_int_equal(counts[0], 2); /* name */
    assert_int_equal(counts[1], 3); /* cidade */
    assert_int_equal(counts[2], 2); /* cupom */
    assert_int_equal(tmpl_var_missing(t, 99, "Ana", full), 0);

    /* name given in vars only. */
    json_t *nv = parse("{\"Name\":\"Caio\",\"cidade\":\"x\",\"cupom\":\"y\"}");
    assert_int_equal(tmpl_missing(t, NULL, nv), -1);

    /* Consistency: missing exactly when it renders empty. */
    tmpl *one = compile_ok("{{cidade}}");
    json_t *cases[] = {full, partial, nulls, nv};
    for (size_t k = 0; k < 4; k++) {
        struct tmpl_ctx c = {NULL, NULL, cases[k], 9, NULL};
        char *s = render(one, &c);
        assert_int_equal(tmpl_missing(one, NULL, cases[k]) == 0, s[0] == '\0');
        free(s);
    }
    tmpl_free(one);

    json_decref(full);
    json_decref(partial);
    json_decref(nulls);
    json_decref(nv);
    tmpl_free(t);
}

static void test_spintax_distribution(void **state)
{
    tmpl *t = compile_ok("[[a|b|c]]");
    dp_rng r;
    rng_seed(&r, 123);
    struct tmpl_ctx c = {NULL, NULL, NULL, 9, &r};
    int n[3] = {0};
    const int N = 30000;
    for (int i = 0; i < N; i++) {
        char *s = render(t, &c);
        assert_int_equal(strlen(s), 1);
        assert_true(s[0] >= 'a' && s[0] <= 'c');
        n[s[0] - 'a']++;
        free(s);
    }
    for (int i = 0; i < 3; i++)
        assert_true(n[i] > 9500 && n[i] < 10500);
    tmpl_free(t);
}

static void test_spintax_options(void **state)
{
    dp_rng r;
    rng_seed(&r, 5);
    json_t *vars = parse("{\"loja\":\"Centro\"}");
    struct tmpl_ctx c = {NULL, "Ana", vars, 14, &r};
    tmpl *t = compile_ok("[[Oi|Olá|{{greeting}}]] {{name}}, [[visite a loja {{loja}}|"
                         "passe na {{loja}}||]]!");
    const char *want1[] = {"Oi Ana, ", "Olá Ana, ", "Boa tarde Ana, "};
    const char *want2[] = {"visite a loja Centro!", "passe na Centro!", "!"};
    int seen[3][3] = {{0}};
    for (int i = 0; i < 2000; i++) {
        char *s = render(t, &c);
        int a = -1, b = -1;
        for (int k = 0; k < 3; k++) {
            size_t l = strlen(want1[k]);
            if (strncmp(s, want1[k], l) == 0) {
                for (int m = 0; m < 3; m++)
                    if (strcmp(s + l, want2[m]) == 0) {
                        a = k;
                        b = m;
                    }
            }
        }
        if (a < 0)
            print_error("unexpected render: %s\n", s);
        assert_true(a >= 0 && b >= 0);
        seen[a][b]++;
        free(s);
    }
    /* Both groups vary independently: all 9 combinations occur. The empty
     * options ("" and "") make the second group 2/4 "!". */
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++)
            assert_true(seen[a][b] > 50);
    /* Variables inside options are listed. */
    assert_int_equal(tmpl_var_count(t), 2);
    assert_string_equal(tmpl_var_name(t, 0), "name");
    assert_string_equal(tmpl_var_name(t, 1), "loja");
    tmpl_free(t);
    json_decref(vars);
}

static void test_spintax_edge_shapes(void **state)
{
    struct tmpl_ctx c = {0};
    expect_render("[[só uma]]", &c, "só uma");
    expect_render("x[[]]y", &c, "xy");
    /* No generator: always the first option. */
    expect_render("[[primeira|segunda]] [[|b]]", &c, "primeira ");
    /* A third bracket is text. */
    expect_render("[[a]]]", &c, "a]");
    expect_render("[[[a|b]]", &c, "[a");
}

static void test_spintax_deterministic(void **state)
{
    tmpl *t = compile_ok("[[1|2|3|4|5|6|7|8]][[a|b|c|d]]");
    dp_rng r1, r2;
    rng_seed(&r1, 77);
    rng_seed(&r2, 77);
    struct tmpl_ctx c1 = {NULL, NULL, NULL, 9, &r1};
    struct tmpl_ctx c2 = {NULL, NULL, NULL, 9, &r2};
    int differ = 0;
    char *prev = NULL;
    for (int i = 0; i < 200; i++) {
        char *a = render(t, &c1);
        char *b = render(t, &c2);
        assert_string_equal(a, b);
        if (prev && strcmp(prev, a) != 0)
            differ++;
        free(prev);
        free(b);
        prev = a;
    }
    free(prev);
    assert_true(differ > 150);
    tmpl_free(t);
}

static void test_syntax_errors(void **state)
{
    compile_bad("Oi {{name", DP_EINVAL, "unclosed '{{' at character 3");
    compile_bad("{{", DP_EINVAL, "unclosed '{{' at character 0");
    compile_bad("Oi [[a|b", DP_EINVAL, "unclosed '[[' at character 3");
    compile_bad("[[a|[[b]]]]", DP_EINVAL, "nested '[[' at character 4 (spintax cannot be nested)");
    compile_bad("Oi name}}", DP_EINVAL, "unmatched '}}' at character 7");
    compile_bad("a|b]]", DP_EINVAL, "unmatched ']]' at character 3");
    compile_bad("{{}}", DP_EINVAL,
                "invalid variable name \"\" at character 0 (letters, digits and _ only)");
    compile_bad("{{  }}", DP_EINVAL,
                "invalid variable name \"  \" at character 0 (letters, digits and _ only)");
    compile_bad("x {{first name}}", DP_EINVAL,
                "invalid variable name \"first name\" at character 2 (letters, digits and _ "
                "only)");
    compile_bad("{{a-b}}", DP_EINVAL, NULL);
    compile_bad("{{nome_é}}", DP_EINVAL, NULL);
    compile_bad("{{{name}}}", DP_EINVAL, NULL);
    /* Offsets count characters, not bytes: "Olá ção " is 8 characters and
     * 10 bytes. */
    compile_bad("Olá ção {{x", DP_EINVAL, "unclosed '{{' at character 8");
    compile_bad("🎉🎉 [[x", DP_EINVAL, "unclosed '[[' at character 3");
    /* Errors inside spintax. */
    compile_bad("[[a|{{b]]", DP_EINVAL, "unclosed '{{' at character 4");
    compile_bad("[[a|b}}]]", DP_EINVAL, "unmatched '}}' at character 5");
    compile_bad(NULL, DP_EINVAL, "template text is missing");
}

static void test_size_cap(void **state)
{
    char *big = malloc(TMPL_MAX_TEXT + 2);
    assert_non_null(big);
    memset(big, 'x', TMPL_MAX_TEXT + 1);
    big[TMPL_MAX_TEXT + 1] = '\0';
    compile_bad(big, DP_ETOOBIG, "template is longer than 65536 bytes");
    big[TMPL_MAX_TEXT] = '\0';
    tmpl *t = compile_ok(big);
    struct tmpl_ctx c = {0};
    char *s = render(t, &c);
    assert_int_equal(strlen(s), TMPL_MAX_TEXT);
    free(s);
    tmpl_free(t);
    free(big);
}

static void test_render_appends_and_caps(void **state)
{
    tmpl *t = compile_ok("Oi {{name}}!");
    struct tmpl_ctx c = {NULL, "Ana", NULL, 9, NULL};
    dp_buf b;
    buf_init(&b, 12);
    assert_int_equal(buf_puts(&b, "[x] "), DP_OK);
    assert_int_equal(tmpl_render(t, &c, &b, NULL), DP_OK);
    assert_string_equal(buf_str(&b), "[x] Oi Ana!");
    /* Over the cap: error, and the buffer is as before the call. */
    dp_err e;
    dp_err_clear(&e);
    assert_int_equal(tmpl_render(t, &c, &b, &e), DP_ETOOBIG);
    assert_int_equal(e.code, DP_ETOOBIG);
    assert_string_equal(e.msg, "rendered message longer than 12 bytes");
    assert_string_equal(buf_str(&b), "[x] Oi Ana!");
    assert_int_equal(b.len, 11);
    buf_free(&b);
    tmpl_free(t);
}

static void test_many_nodes(void **state)
{
    /* Thousands of variables and groups: arrays grow correctly. */
    size_t n = 3000;
    char *text = malloc(n * 24 + 1);
    assert_non_null(text);
    size_t off = 0;
    for (size_t i = 0; i < n; i++)
        off += (size_t)snprintf(text + off, 24, "{{v%zu}}[[a|b]]-", i % 1000);
    tmpl *t = compile_ok(text);
    assert_int_equal(tmpl_var_count(t), 1000);
    assert_string_equal(tmpl_var_name(t, 999), "v999");
    json_t *vars = parse("{\"v7\":\"S\"}");
    struct tmpl_ctx c = {NULL, NULL, vars, 9, NULL};
    char *s = render(t, &c);
    assert_int_equal(strlen(s), n * 2 + 3);
    assert_memory_equal(s, "a-a-a-a-a-a-a-Sa-", 17);
    free(s);
    json_decref(vars);
    tmpl_free(t);
    free(text);
}

static void test_free_null(void **state)
{
    tmpl_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_text_and_utf8),
        cmocka_unit_test(test_variables),
        cmocka_unit_test(test_exact_case_wins),
        cmocka_unit_test(test_name_sources),
        cmocka_unit_test(test_non_object_vars),
        cmocka_unit_test(test_greeting_boundaries),
        cmocka_unit_test(test_var_list),
        cmocka_unit_test(test_missing),
        cmocka_unit_test(test_spintax_distribution),
        cmocka_unit_test(test_spintax_options),
        cmocka_unit_test(test_spintax_edge_shapes),
        cmocka_unit_test(test_spintax_deterministic),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_size_cap),
        cmocka_unit_test(test_render_appends_and_caps),
        cmocka_unit_test(test_many_nodes),
        cmocka_unit_test(test_free_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
