/* Keyword matching for inbound replies (see keyword.h for the rules). The
 * folded text is never materialised: an iterator yields folded code points
 * straight from the UTF-8 input, so matching needs no buffer and no cap on
 * the reply's length, and a match is tried at each position of the reply by
 * copying the iterator. */
#include "util/keyword.h"

#include <stdint.h>
#include <string.h>

#define REPLACEMENT 0xFFFDu

/* ASCII spelling of U+00C0..U+017F; "" for the two symbols in the range. */
/* clang-format off */
static const char fold_latin[0x180 - 0xC0][3] = {
    /* U+00C0 */ "A", "A", "A", "A", "A", "A", "AE", "C",
    /* U+00C8 */ "E", "E", "E", "E", "I", "I", "I", "I",
    /* U+00D0 */ "D", "N", "O", "O", "O", "O", "O", "",
    /* U+00D8 */ "O", "U", "U", "U", "U", "Y", "TH", "ss",
    /* U+00E0 */ "a", "a", "a", "a", "a", "a", "ae", "c",
    /* U+00E8 */ "e", "e", "e", "e", "i", "i", "i", "i",
    /* U+00F0 */ "d", "n", "o", "o", "o", "o", "o", "",
    /* U+00F8 */ "o", "u", "u", "u", "u", "y", "th", "y",
    /* U+0100 */ "A", "a", "A", "a", "A", "a", "C", "c",
    /* U+0108 */ "C", "c", "C", "c", "C", "c", "D", "d",
    /* U+0110 */ "D", "d", "E", "e", "E", "e", "E", "e",
    /* U+0118 */ "E", "e", "E", "e", "G", "g", "G", "g",
    /* U+0120 */ "G", "g", "G", "g", "H", "h", "H", "h",
    /* U+0128 */ "I", "i", "I", "i", "I", "i", "I", "i",
    /* U+0130 */ "I", "i", "IJ", "ij", "J", "j", "K", "k",
    /* U+0138 */ "k", "L", "l", "L", "l", "L", "l", "L",
    /* U+0140 */ "l", "L", "l", "N", "n", "N", "n", "N",
    /* U+0148 */ "n", "n", "N", "n", "O", "o", "O", "o",
    /* U+0150 */ "O", "o", "OE", "oe", "R", "r", "R", "r",
    /* U+0158 */ "R", "r", "S", "s", "S", "s", "S", "s",
    /* U+0160 */ "S", "s", "T", "t", "T", "t", "T", "t",
    /* U+0168 */ "U", "u", "U", "u", "U", "u", "U", "u",
    /* U+0170 */ "U", "u", "U", "u", "W", "w", "Y", "y",
    /* U+0178 */ "Y", "Z", "z", "Z", "z", "Z", "z", "s",
};
/* clang-format on */

static const char *const defaults[] = {"PARAR", "SAIR", "STOP", "CANCELAR", "DESCADASTRAR"};

enum cls {
    C_DROP,  /* invisible: combining marks, zero-width characters */
    C_SPACE, /* whitespace and control characters */
    C_WORD,  /* letters and digits */
    C_OTHER  /* punctuation, symbols, emoji */
};

/* Decodes one code point at *pp (before end) and advances. An invalid or
 * truncated sequence, an overlong form or a surrogate yields U+FFFD for its
 * first byte only, so decoding resynchronises on the next byte and never
 * reads at or past end. */
static uint32_t decode(const unsigned char **pp, const unsigned char *end)
{
    const unsigned char *p = *pp;
    unsigned char c = p[0];
    uint32_t cp = REPLACEMENT;
    uint32_t min = 0;
    size_t n = 1;

    if (c < 0x80) {
        cp = c;
        goto out;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        min = 0x80;
        cp = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        min = 0x800;
        cp = c & 0x0Fu;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        min = 0x10000;
        cp = c & 0x07u;
    } else {
        goto bad;
    }
    if ((size_t)(end - p) < n)
        goto bad;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            goto bad;
        cp = (cp << 6) | (p[i] & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        goto bad;
    goto out;
bad:
    cp = REPLACEMENT;
    n = 1;
out:
    *pp = p + n;
    return cp;
}

/* Fullwidth ASCII (U+FF01..U+FF5E, what Japanese and Chinese keyboards
 * type) as ASCII. */
static uint32_t narrow(uint32_t c)
{
    if (c >= 0xFF01 && c <= 0xFF5E)
        return c - 0xFF01 + 0x21;
    if (c == 0x3000)
        return ' ';
    return c;
}

static enum cls classify(uint32_t c)
{
    if (c < 0x80) {
        if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))
            return C_WORD;
        if (c <= 0x20 || c == 0x7F)
            return C_SPACE;
        return C_OTHER;
    }
    if (c <= 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
        c == 0x202F || c == 0x205F || c == 0x3000)
        return C_SPACE; /* C1 controls (NEL), no-break and typographic spaces */
    if (c == 0xAD || (c >= 0x300 && c <= 0x36F) || (c >= 0x1AB0 && c <= 0x1AFF) ||
        (c >= 0x1DC0 && c <= 0x1DFF) || (c >= 0x200B && c <= 0x200F) ||
        (c >= 0x202A && c <= 0x202E) || (c >= 0x2060 && c <= 0x206F) ||
        (c >= 0x20D0 && c <= 0x20FF) || (c >= 0xFE00 && c <= 0xFE0F) ||
        (c >= 0xFE20 && c <= 0xFE2F) || c == 0xFEFF || (c >= 0xE0000 && c <= 0xE01EF))
        return C_DROP; /* soft hyphen, combining marks, zero-width and bidi
                        * controls, variation selectors (emoji style), tags */
    if (c < 0xC0)
        return (c == 0xAA || c == 0xB5 || c == 0xBA) ? C_WORD : C_OTHER; /* ª µ º */
    if (c == 0xD7 || c == 0xF7)
        return C_OTHER; /* × ÷ */
    if ((c >= 0x2010 && c <= 0x2BFF) || (c >= 0x3001 && c <= 0x303F) ||
        (c >= 0xFE10 && c <= 0xFE1F) || (c >= 0xFE30 && c <= 0xFE6F) ||
        (c >= 0xFF5F && c <= 0xFF65) || (c >= 0xFFF0 && c <= 0xFFFF) ||
        (c >= 0x1F000 && c <= 0x1FAFF))
        return C_OTHER; /* punctuation, symbols, arrows, dingbats, emoji */
    return C_WORD;
}

/* Yields the folded code points of [p, end). */
struct kw_it {
    const unsigned char *p;
    const unsigned char *end;
    int fold_case;
    uint32_t pending; /* second letter of a two-letter folding (æ -> ae) */
};

static struct kw_it it_make(const char *s, size_t len, int fold_case)
{
    struct kw_it it = {(const unsigned char *)s, (const unsigned char *)s + len, fold_case, 0};
    return it;
}

static uint32_t lower(uint32_t c, int fold_case)
{
    return (fold_case && c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

/* The next folded code point, 0 at the end (the input holds no NUL: it is
 * a C string). A run of whitespace comes out as one ' '. */
static uint32_t it_next(struct kw_it *it)
{
    if (it->pending) {
        uint32_t c = it->pending;
        it->pending = 0;
        return c;
    }
    while (it->p < it->end) {
        uint32_t c = narrow(decode(&it->p, it->end));
        enum cls k = classify(c);
        if (k == C_DROP)
            continue;
        if (k == C_SPACE) {
            /* Swallow the rest of the run, invisible characters included. */
            while (it->p < it->end) {
                const unsigned char *q = it->p;
                enum cls nk = classify(narrow(decode(&q, it->end)));
                if (nk != C_SPACE && nk != C_DROP)
                    break;
                it->p = q;
            }
            return ' ';
        }
        if (c == 0xAA)
            return 'a';
        if (c == 0xBA)
            return 'o';
        if (c >= 0xC0 && c < 0x180 && fold_latin[c - 0xC0][0]) {
            const char *f = fold_latin[c - 0xC0];
            if (f[1])
                it->pending = lower((unsigned char)f[1], it->fold_case);
            return lower((unsigned char)f[0], it->fold_case);
        }
        return lower(c, it->fold_case);
    }
    return 0;
}

static int is_word(uint32_t c)
{
    return c != 0 && classify(c) == C_WORD;
}

/* The part of a rule that is matched: from its first to its last word
 * character, or, for a rule of punctuation and emoji only, from its first to
 * its last non-space character. */
struct span {
    const char *start;
    size_t len;
    int first_word; /* its first / last code point is a word character */
    int last_word;
};

static int rule_span(const char *rule, int fold_case, struct span *sp)
{
    struct kw_it it = it_make(rule, strlen(rule), fold_case);
    const unsigned char *w0 = NULL, *w1 = NULL; /* word characters */
    const unsigned char *n0 = NULL, *n1 = NULL; /* non-space characters */
    for (;;) {
        const unsigned char *before = it.p;
        int second_half = it.pending != 0;
        uint32_t c = it_next(&it);
        if (!c)
            break;
        if (c == ' ')
            continue;
        /* The second letter of a folding belongs to the code point before,
         * already recorded as a start. */
        if (!second_half && !n0)
            n0 = before;
        if (!second_half && !w0 && is_word(c))
            w0 = before;
        if (it.pending == 0) {
            n1 = it.p;
            if (is_word(c))
                w1 = it.p;
        }
    }
    if (w0 && w1) {
        sp->start = (const char *)w0;
        sp->len = (size_t)(w1 - w0);
        sp->first_word = 1;
        sp->last_word = 1;
        return 1;
    }
    if (n0 && n1) {
        sp->start = (const char *)n0;
        sp->len = (size_t)(n1 - n0);
        sp->first_word = 0;
        sp->last_word = 0;
        return 1;
    }
    return 0;
}

/* Where the text's last word character ends (the start if it has none):
 * past it, only non-word characters. */
static const unsigned char *word_tail(const char *text, size_t len, int fold_case)
{
    struct kw_it it = it_make(text, len, fold_case);
    const unsigned char *tail = it.p;
    uint32_t c;
    while ((c = it_next(&it)) != 0) {
        if (it.pending == 0 && is_word(c))
            tail = it.p;
    }
    return tail;
}

/* Consumes the rule's code points from t; 1 when all of them matched. */
static int match_here(struct kw_it *t, const struct span *sp, int fold_case)
{
    struct kw_it r = it_make(sp->start, sp->len, fold_case);
    for (;;) {
        uint32_t rc = it_next(&r);
        if (!rc)
            return 1;
        if (it_next(t) != rc)
            return 0;
    }
}

int keyword_matches(const char *rule, enum keyword_match how, int case_sensitive, const char *text)
{
    int fold_case = !case_sensitive;
    struct span sp;
    int anchored_start = how == KW_EXACT || how == KW_STARTS_WITH;
    int anchored_end = how == KW_EXACT || how == KW_ENDS_WITH;
    int matched = 0;

    if (!rule || !text || !rule_span(rule, fold_case, &sp))
        goto out;
    size_t len = strlen(text);
    const unsigned char *tail = anchored_end ? word_tail(text, len, fold_case) : NULL;
    struct kw_it t = it_make(text, len, fold_case);
    int prev_word = 0; /* the code point before t is a word character */
    for (;;) {
        if (!(sp.first_word && prev_word)) {
            struct kw_it a = t;
            if (match_here(&a, &sp, fold_case)) {
                int ok = 1;
                if (sp.last_word) {
                    struct kw_it b = a;
                    ok = !is_word(it_next(&b));
                }
                if (ok && anchored_end)
                    ok = a.pending == 0 && a.p >= tail;
                if (ok) {
                    matched = 1;
                    break;
                }
            }
        }
        uint32_t c = it_next(&t);
        if (!c)
            break;
        prev_word = is_word(c);
        if (anchored_start && prev_word)
            break; /* a word before every later position */
    }
out:
    return matched;
}

static size_t put_utf8(uint32_t c, char *dst)
{
    if (c < 0x80) {
        dst[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        dst[0] = (char)(0xC0 | (c >> 6));
        dst[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        dst[0] = (char)(0xE0 | (c >> 12));
        dst[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        dst[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    dst[0] = (char)(0xF0 | (c >> 18));
    dst[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    dst[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    dst[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

size_t keyword_fold(const char *in, int case_sensitive, char *out, size_t cap)
{
    size_t need = 0; /* bytes of the whole folded text */
    size_t used = 0; /* bytes written to out */
    int full = 0;    /* a character did not fit: write no more */
    int any = 0;     /* something before: a space is not leading */
    int space = 0;   /* a space waits for something after it */
    struct kw_it it = it_make(in ? in : "", in ? strlen(in) : 0, !case_sensitive);
    uint32_t c;

    while ((c = it_next(&it)) != 0) {
        if (c == ' ') {
            space = any;
            continue;
        }
        char enc[5] = {' '};
        size_t n = space;
        n += put_utf8(c, enc + n);
        space = 0;
        any = 1;
        if (!full && cap > 0 && used + n < cap) {
            memcpy(out + used, enc, n);
            used += n;
        } else {
            full = 1;
        }
        need += n;
    }
    if (cap > 0)
        out[used] = '\0';
    return need;
}

int keyword_rule_check(const char *rule, dp_err *e)
{
    struct span sp;
    if (!rule)
        return dp_err_set(e, DP_EINVAL, "keyword is missing");
    size_t len = strlen(rule);
    if (len > KEYWORD_RULE_MAX)
        return dp_err_set(e, DP_EINVAL, "keyword is longer than %d bytes", KEYWORD_RULE_MAX);
    const unsigned char *p = (const unsigned char *)rule;
    const unsigned char *end = p + len;
    while (p < end) {
        const unsigned char *at = p;
        (void)decode(&p, end);
        if (p - at == 1 && at[0] >= 0x80) /* an invalid byte, not a U+FFFD typed */
            return dp_err_set(e, DP_EINVAL, "keyword is not valid UTF-8 (byte %zu)",
                              (size_t)(at - (const unsigned char *)rule) + 1);
    }
    if (!rule_span(rule, 1, &sp))
        return dp_err_set(e, DP_EINVAL, "keyword is empty");
    return DP_OK;
}

static const char *const match_names[] = {
    [KW_EXACT] = "exact",
    [KW_CONTAINS] = "contains",
    [KW_STARTS_WITH] = "starts_with",
    [KW_ENDS_WITH] = "ends_with",
};

int keyword_match_parse(const char *name, enum keyword_match *how, dp_err *e)
{
    for (size_t i = 0; name && i < sizeof match_names / sizeof match_names[0]; i++) {
        if (strcmp(name, match_names[i]) == 0) {
            *how = (enum keyword_match)i;
            return DP_OK;
        }
    }
    return dp_err_set(e, DP_EINVAL,
                      "match must be exact, contains, starts_with or ends_with, not \"%.32s\"",
                      name ? name : "");
}

const char *keyword_match_name(enum keyword_match how)
{
    if ((size_t)how < sizeof match_names / sizeof match_names[0])
        return match_names[how];
    return match_names[KW_EXACT];
}

const char *keyword_default(size_t i)
{
    return i < sizeof defaults / sizeof defaults[0] ? defaults[i] : NULL;
}
