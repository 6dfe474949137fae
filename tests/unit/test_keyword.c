/* Unit tests for util/keyword: the default opt-out words against the
 * replies people actually send, each match mode, case, accents, emoji and
 * invalid UTF-8. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/keyword.h"

/* Copies s into a heap block of exactly its size, so AddressSanitizer sees
 * any read past the NUL. */
static char *exact_copy(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    assert_non_null(p);
    memcpy(p, s, n);
    return p;
}

static int m(const char *rule, enum keyword_match how, int cs, const char *text)
{
    char *r = exact_copy(rule);
    char *t = exact_copy(text);
    int got = keyword_matches(r, how, cs, t);
    free(r);
    free(t);
    return got;
}

/* Matches once and, when that is not want, names the case before failing
 * (a macro, so the failure points at the case's own line). */
#define EXPECT_MATCH(rule, how, cs, text, want)                                                    \
    do {                                                                                           \
        int got_ = m(rule, how, cs, text) != 0;                                                    \
        if (got_ != (want))                                                                        \
            print_error("rule \"%s\" %s should %smatch \"%s\"\n", rule, keyword_match_name(how),   \
                        (want) ? "" : "not ", text);                                               \
        assert_int_equal(got_, (want));                                                            \
    } while (0)
#define YES(rule, how, cs, text) EXPECT_MATCH(rule, how, cs, text, 1)
#define NO(rule, how, cs, text) EXPECT_MATCH(rule, how, cs, text, 0)

/* The default rule that matches text, or NULL. */
static const char *dnd(const char *text)
{
    const char *w;
    for (size_t i = 0; (w = keyword_default(i)) != NULL; i++)
        if (m(w, KEYWORD_DEFAULT_MATCH, 0, text))
            return w;
    return NULL;
}

static void dnd_is(const char *text, const char *want)
{
    const char *got = dnd(text);
    if ((got == NULL) != (want == NULL) || (got && strcmp(got, want) != 0))
        print_error("\"%s\": matched %s, wanted %s\n", text, got ? got : "nothing",
                    want ? want : "nothing");
    if (want)
        assert_string_equal(got, want);
    else
        assert_null(got);
}

static void test_defaults_list(void **state)
{
    const char *want[] = {"PARAR", "SAIR", "STOP", "CANCELAR", "DESCADASTRAR"};
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(keyword_default(i), want[i]);
    assert_null(keyword_default(5));
    assert_int_equal(KEYWORD_DEFAULT_MATCH, KW_CONTAINS);
    assert_string_equal(KEYWORD_DEFAULT_LIST, "do_not_disturb");
}

static void test_defaults_replies(void **state)
{
    dnd_is("sair", "SAIR");
    dnd_is("Sa\xc3\xadr!", "SAIR"); /* Saír! */
    dnd_is("SA\xc3\x8dR", "SAIR");  /* SAÍR */
    dnd_is("  STOP  ", "STOP");
    dnd_is("Stop.", "STOP");
    dnd_is("quero sair da lista", "SAIR");
    dnd_is("Por favor, quero SAIR da lista!!!", "SAIR");
    dnd_is("PARAR", "PARAR");
    dnd_is("pode parar de mandar mensagem", "PARAR");
    dnd_is("Cancelar", "CANCELAR");
    dnd_is("descadastrar-me", "DESCADASTRAR");
    dnd_is("Descadastrar\n", "DESCADASTRAR");
    dnd_is("\xf0\x9f\x9b\x91 PARAR \xf0\x9f\x9b\x91", "PARAR"); /* 🛑 PARAR 🛑 */
    dnd_is("sair\xf0\x9f\x99\x8f", "SAIR");                     /* sair🙏 */
    /* Not opt-outs for the defaults: no rule word, or the word inside
     * another word. */
    dnd_is("n\xc3\xa3o quero mais", NULL);   /* não quero mais */
    dnd_is("comparar pre\xc3\xa7os", NULL);  /* comparar preços */
    dnd_is("eles sa\xc3\xadram cedo", NULL); /* saíram */
    dnd_is("cancelaram o pedido", NULL);
    dnd_is("stopped", NULL);
    dnd_is("Obrigado!", NULL);
    dnd_is("s a i r", NULL);
    dnd_is("", NULL);
}

static void test_exact(void **state)
{
    YES("SAIR", KW_EXACT, 0, "sair");
    YES("SAIR", KW_EXACT, 0, "Sa\xc3\xadr!");
    YES("SAIR", KW_EXACT, 0, "  sair  ");
    YES("SAIR", KW_EXACT, 0, "\xf0\x9f\x91\x8b sair..."); /* 👋 sair... */
    YES("sair!", KW_EXACT, 0, "SAIR");                    /* the rule's punctuation */
    NO("SAIR", KW_EXACT, 0, "sair agora");
    NO("SAIR", KW_EXACT, 0, "quero sair");
    NO("SAIR", KW_EXACT, 0, "sairr");
    NO("SAIR", KW_EXACT, 0, "");
    YES("n\xc3\xa3o quero", KW_EXACT, 0, "Nao   quero"); /* spaces collapse */
    NO("n\xc3\xa3o quero", KW_EXACT, 0, "Nao, quero");
}

static void test_starts_with(void **state)
{
    YES("SAIR", KW_STARTS_WITH, 0, "sair da lista");
    YES("SAIR", KW_STARTS_WITH, 0, "Sair, obrigado");
    YES("SAIR", KW_STARTS_WITH, 0, "\xc2\xa1sair ya"); /* ¡sair ya */
    YES("SAIR", KW_STARTS_WITH, 0, "sair");
    NO("SAIR", KW_STARTS_WITH, 0, "quero sair");
    NO("SAIR", KW_STARTS_WITH, 0, "sairam todos");
    NO("SAIR", KW_STARTS_WITH, 0, "ok, sair");
}

static void test_ends_with(void **state)
{
    YES("SAIR", KW_ENDS_WITH, 0, "quero sair");
    YES("SAIR", KW_ENDS_WITH, 0, "quero sair.");
    YES("SAIR", KW_ENDS_WITH, 0, "quero sair \xf0\x9f\x98\xa1"); /* 😡 */
    YES("SAIR", KW_ENDS_WITH, 0, "sair");
    NO("SAIR", KW_ENDS_WITH, 0, "sair da lista");
    NO("SAIR", KW_ENDS_WITH, 0, "quero sairr");
    NO("SAIR", KW_ENDS_WITH, 0, "quero resair");
    /* The last occurrence counts, not the first. */
    YES("SAIR", KW_ENDS_WITH, 0, "sair? sim, sair");
}

static void test_contains(void **state)
{
    YES("SAIR", KW_CONTAINS, 0, "quero sair da lista");
    YES("PARAR", KW_CONTAINS, 0, "parar.");
    YES("PARAR", KW_CONTAINS, 0, "(parar)");
    NO("PARAR", KW_CONTAINS, 0, "comparar pre\xc3\xa7os");
    NO("PARAR", KW_CONTAINS, 0, "pararam");
    YES("PARAR", KW_CONTAINS, 0, "comparar e parar"); /* a later occurrence */
    YES("nao quero mais", KW_CONTAINS, 0, "N\xc3\xa3o quero mais, obrigado");
    YES("nao quero mais", KW_CONTAINS, 0, "N\xc3\xa3o\tquero\n\nmais");
    NO("nao quero mais", KW_CONTAINS, 0, "n\xc3\xa3o, quero mais");
    /* Digits are word characters. */
    YES("1", KW_CONTAINS, 0, "op\xc3\xa7\xc3\xa3o 1");
    NO("1", KW_CONTAINS, 0, "10");
}

static void test_case_sensitivity(void **state)
{
    YES("SAIR", KW_EXACT, 1, "SAIR");
    YES("SAIR", KW_EXACT, 1, "SA\xc3\x8dR"); /* SAÍR */
    NO("SAIR", KW_EXACT, 1, "sair");
    NO("SAIR", KW_EXACT, 1, "Sair");
    NO("SAIR", KW_EXACT, 1, "Sa\xc3\xadr");
    YES("sair", KW_CONTAINS, 1, "quero sa\xc3\xadr");
    NO("sair", KW_CONTAINS, 1, "quero SAIR");
    /* Case-insensitive: any mix. */
    YES("sAiR", KW_EXACT, 0, "SaIr");
    YES("Sa\xc3\xadr", KW_EXACT, 0, "SAIR"); /* accents in the rule fold too */
}

static void test_accents(void **state)
{
    /* Composed and decomposed (i + U+0301 COMBINING ACUTE) forms. */
    YES("SAIR", KW_EXACT, 0, "Sai\xcc\x81r");
    YES("A\xc3\x87\xc3\x83O", KW_EXACT, 1, "ACAO"); /* AÇÃO */
    YES("acao", KW_EXACT, 0, "a\xc3\xa7\xc3\xa3o");
    /* Octal escapes where a hex escape would swallow the next letter. */
    YES("descadastrar", KW_EXACT, 0, "D\303\211SC\303\200D\303\202STR\303\204R"); /* DÉSCÀDÂSTRÄR */
    YES("pinguim", KW_EXACT, 0, "ping\xc3\xbcim");                                /* ü */
    YES("manana", KW_EXACT, 0, "ma\303\261ana");                                  /* ñ */
    YES("strasse", KW_EXACT, 0, "Stra\303\237e");                                 /* ß */
    YES("lodz", KW_EXACT, 0, "\305\201\303\263d\305\272");                        /* Łódź */
    YES("oeuvre", KW_EXACT, 0, "\xc5\x93uvre");                                   /* œuvre */
    YES("1o andar", KW_EXACT, 0, "1\xc2\xba andar");                              /* 1º */
    /* Fullwidth letters, no-break spaces, zero-width joiners. */
    YES("SAIR", KW_EXACT, 0, "\xef\xbc\xb3\xef\xbc\xa1\xef\xbc\xa9\xef\xbc\xb2");
    YES("quero sair", KW_EXACT, 0, "quero\xc2\xa0sair");
    YES("sair", KW_EXACT, 0, "sa\xe2\x80\x8bir");
}

static void test_emoji(void **state)
{
    /* A rule of emoji only matches as it is, without word boundaries. */
    YES("\xf0\x9f\x91\x8d", KW_EXACT, 0, "\xf0\x9f\x91\x8d");
    YES("\xf0\x9f\x91\x8d", KW_EXACT, 0, " \xf0\x9f\x91\x8d\xf0\x9f\x91\x8d ");
    NO("\xf0\x9f\x91\x8d", KW_EXACT, 0, "ok \xf0\x9f\x91\x8d");
    YES("\xf0\x9f\x91\x8d", KW_CONTAINS, 0, "ok\xf0\x9f\x91\x8d");
    NO("\xf0\x9f\x91\x8d", KW_CONTAINS, 0, "\xf0\x9f\x91\x8e");
    /* Variation selector 16 (emoji style) is ignored: ❤️ is ❤. */
    YES("\xe2\x9d\xa4", KW_EXACT, 0, "\xe2\x9d\xa4\xef\xb8\x8f");
    YES("\xe2\x9d\xa4\xef\xb8\x8f", KW_EXACT, 0, "\xe2\x9d\xa4");
    /* Keycap 1️⃣ is the digit 1. */
    YES("1", KW_EXACT, 0, "1\xef\xb8\x8f\xe2\x83\xa3");
    /* Emoji next to a word are boundaries; emoji alone match no word. */
    YES("STOP", KW_EXACT, 0, "\xf0\x9f\x98\xa1STOP\xf0\x9f\x98\xa1");
    NO("STOP", KW_CONTAINS, 0, "\xf0\x9f\x98\xa1\xf0\x9f\x98\xa1");
}

static void test_invalid_utf8(void **state)
{
    /* A bad byte is a non-word character: it separates words. */
    NO("SAIR", KW_CONTAINS, 0,
       "sa\xff"
       "ir");
    YES("SAIR", KW_CONTAINS, 0, "\xffsair\xff");
    YES("SAIR", KW_EXACT, 0, "sair\xc3");             /* truncated 2-byte */
    YES("SAIR", KW_EXACT, 0, "sair\xf0\x9f\x98");     /* truncated 4-byte */
    YES("SAIR", KW_EXACT, 0, "\xe2\x82sair");         /* truncated, then ASCII */
    YES("SAIR", KW_EXACT, 0, "sair\xc0\xaf");         /* overlong '/' */
    YES("SAIR", KW_EXACT, 0, "sair\xed\xa0\x80");     /* UTF-16 surrogate */
    YES("SAIR", KW_EXACT, 0, "sair\xf4\x90\x80\x80"); /* past U+10FFFF */
    NO("SAIR", KW_CONTAINS, 0, "\x80\x80\x80");
    NO("SAIR", KW_CONTAINS, 0, "\xc3");
    /* Invalid bytes in a rule fold the same way. */
    YES("sair\xff", KW_EXACT, 0, "sair");
}

static void test_long_text(void **state)
{
    size_t n = 64 * 1024;
    char *t = malloc(n + 16);
    assert_non_null(t);
    for (size_t i = 0; i < n; i += 4)
        memcpy(t + i, "bla ", 4);
    memcpy(t + n, "sair", 5);
    YES("SAIR", KW_CONTAINS, 0, t);
    YES("SAIR", KW_ENDS_WITH, 0, t);
    NO("SAIR", KW_STARTS_WITH, 0, t);
    NO("SAIR", KW_EXACT, 0, t);
    free(t);
}

static void test_null_and_empty(void **state)
{
    assert_false(keyword_matches(NULL, KW_CONTAINS, 0, "sair"));
    assert_false(keyword_matches("sair", KW_CONTAINS, 0, NULL));
    NO("", KW_CONTAINS, 0, "sair");
    NO("   ", KW_CONTAINS, 0, "sair");
    NO("\xe2\x80\x8b", KW_CONTAINS, 0, "sair"); /* only a zero-width space */
}

static void fold_is(const char *in, int cs, const char *want)
{
    char out[64];
    size_t n = keyword_fold(in, cs, out, sizeof out);
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
}

static void test_fold(void **state)
{
    fold_is("  Sa\xc3\xadr   DA\tLista  ", 0, "sair da lista");
    fold_is("  Sa\xc3\xadr   DA\tLista  ", 1, "Sair DA Lista");
    fold_is("A\xc3\xa7\xc3\xa3o", 0, "acao");
    fold_is("\xc3\x86\xc3\x98\xc3\x85", 1, "AEOA"); /* ÆØÅ */
    fold_is("\xc3\x86", 0, "ae");
    fold_is("\xef\xbc\xb3\xef\xbc\xa1\xef\xbc\xa9\xef\xbc\xb2", 0, "sair");
    fold_is("\xce\xa3\xcf\x84\xce\xbf\xcf\x80", 0,
            "\xce\xa3\xcf\x84\xce\xbf\xcf\x80"); /* Greek kept */
    fold_is("a\xffz", 0, "a\xef\xbf\xbdz");
    fold_is("\xf0\x9f\x91\x8d ok", 0, "\xf0\x9f\x91\x8d ok");
    fold_is("\xc3\x97", 0, "\xc3\x97"); /* × is not a letter */
    fold_is("", 0, "");
    fold_is(" \t\n ", 0, "");
    fold_is(NULL, 0, "");
}

static void test_fold_cap(void **state)
{
    char out[8];
    memset(out, 'X', sizeof out);
    assert_int_equal(keyword_fold("sair da lista", 0, out, 5), 13);
    assert_string_equal(out, "sair");
    assert_int_equal(out[5], 'X');
    /* Cut between characters: the 4-byte emoji does not fit, and nothing
     * after it is written either. */
    assert_int_equal(keyword_fold("a\xf0\x9f\x98\x80"
                                  "b",
                                  0, out, 4),
                     6);
    assert_string_equal(out, "a");
    assert_int_equal(keyword_fold("sair", 0, out, 1), 4);
    assert_string_equal(out, "");
    assert_int_equal(keyword_fold("sair", 0, NULL, 0), 4);
    assert_int_equal(keyword_fold("sair", 0, out, 5), 4);
    assert_string_equal(out, "sair");
}

static void test_rule_check(void **state)
{
    dp_err e;
    dp_err_clear(&e);
    assert_int_equal(keyword_rule_check("SAIR", &e), DP_OK);
    assert_int_equal(keyword_rule_check("n\xc3\xa3o quero", &e), DP_OK);
    assert_int_equal(keyword_rule_check("\xf0\x9f\x91\x8d", &e), DP_OK);
    assert_int_equal(keyword_rule_check("\xef\xbf\xbd", &e), DP_OK); /* U+FFFD typed */
    assert_int_equal(keyword_rule_check(NULL, &e), DP_EINVAL);
    assert_string_equal(e.msg, "keyword is missing");
    assert_int_equal(keyword_rule_check("", &e), DP_EINVAL);
    assert_string_equal(e.msg, "keyword is empty");
    assert_int_equal(keyword_rule_check(" \xe2\x80\x8b ", &e), DP_EINVAL);
    assert_string_equal(e.msg, "keyword is empty");
    assert_int_equal(keyword_rule_check("sa\xffir", &e), DP_EINVAL);
    assert_string_equal(e.msg, "keyword is not valid UTF-8 (byte 3)");
    char big[KEYWORD_RULE_MAX + 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(keyword_rule_check(big, &e), DP_EINVAL);
    assert_string_equal(e.msg, "keyword is longer than 128 bytes");
    big[KEYWORD_RULE_MAX] = '\0';
    assert_int_equal(keyword_rule_check(big, &e), DP_OK);
    assert_int_equal(keyword_rule_check("", NULL), DP_EINVAL);
}

static void test_match_names(void **state)
{
    const char *names[] = {"exact", "contains", "starts_with", "ends_with"};
    enum keyword_match want[] = {KW_EXACT, KW_CONTAINS, KW_STARTS_WITH, KW_ENDS_WITH};
    for (size_t i = 0; i < 4; i++) {
        enum keyword_match how = KW_EXACT;
        assert_int_equal(keyword_match_parse(names[i], &how, NULL), DP_OK);
        assert_int_equal(how, want[i]);
        assert_string_equal(keyword_match_name(how), names[i]);
    }
    dp_err e;
    enum keyword_match how = KW_CONTAINS;
    assert_int_equal(keyword_match_parse("regex", &how, &e), DP_EINVAL);
    assert_string_equal(e.msg,
                        "match must be exact, contains, starts_with or ends_with, not \"regex\"");
    assert_int_equal(how, KW_CONTAINS);
    assert_int_equal(keyword_match_parse(NULL, &how, NULL), DP_EINVAL);
    assert_int_equal(keyword_match_parse("EXACT", &how, NULL), DP_EINVAL);
    assert_string_equal(keyword_match_name((enum keyword_match)42), "exact");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_list),
        cmocka_unit_test(test_defaults_replies),
        cmocka_unit_test(test_exact),
        cmocka_unit_test(test_starts_with),
        cmocka_unit_test(test_ends_with),
        cmocka_unit_test(test_contains),
        cmocka_unit_test(test_case_sensitivity),
        cmocka_unit_test(test_accents),
        cmocka_unit_test(test_emoji),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_long_text),
        cmocka_unit_test(test_null_and_empty),
        cmocka_unit_test(test_fold),
        cmocka_unit_test(test_fold_cap),
        cmocka_unit_test(test_rule_check),
        cmocka_unit_test(test_match_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
