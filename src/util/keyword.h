/* Keyword rules for inbound replies: a reply that matches a rule puts its
 * sender on a list (the defaults put "SAIR", "PARAR", "STOP"... on
 * do_not_disturb). People answer on phones, so matching ignores accents
 * ("Saír" is "SAIR"), spacing, punctuation and emoji around the words, and
 * optionally case.
 *
 * How text is compared. Both the rule and the reply are folded:
 *   - Latin-1 Supplement and Latin Extended-A letters become ASCII: á à â ã
 *     ä å -> a, ç -> c, é ê -> e, í -> i, ó ô õ -> o, ú ü -> u, ñ -> n, with
 *     the case kept (Í -> I); æ -> ae, œ -> oe, ß -> ss, ª -> a, º -> o;
 *     combining accents (decomposed text, "i" + U+0301) are dropped, as are
 *     zero-width characters and emoji variation selectors; fullwidth ASCII
 *     (ＳＡＩＲ) becomes ASCII;
 *   - case-insensitive rules also lower-case ASCII (other scripts keep
 *     their case);
 *   - runs of whitespace (Unicode spaces and line breaks included) become
 *     one space;
 *   - invalid UTF-8 bytes become U+FFFD each, never read past the end.
 * A *word character* is an ASCII letter or digit after folding, or any other
 * letter-like code point (Greek, Cyrillic, CJK...); spaces, punctuation,
 * symbols and emoji are not.
 *
 * A rule matches where its folded text occurs in the folded reply on word
 * boundaries: an edge of the rule that is a word character must meet a
 * non-word character or the end of the reply, so "PARAR" does not match
 * "comparar" and "SAIR" does not match "sairam". A rule's own leading and
 * trailing punctuation is ignored ("sair!" is "sair") unless the rule is
 * nothing but punctuation or emoji ("👍"), which then matches as it is. Then:
 *   KW_EXACT        nothing but non-word characters around the occurrence:
 *                   "Saír!", "  STOP  ", "🛑 parar 🛑";
 *   KW_STARTS_WITH  nothing but non-word characters before it: "sair da lista";
 *   KW_ENDS_WITH    nothing but non-word characters after it: "quero sair.";
 *   KW_CONTAINS     anywhere: "por favor, quero SAIR da lista". */
#ifndef DP_KEYWORD_H
#define DP_KEYWORD_H

#include <stddef.h>

#include "util/err.h"

enum keyword_match { KW_EXACT, KW_CONTAINS, KW_STARTS_WITH, KW_ENDS_WITH };

/* The longest rule accepted by keyword_rule_check, in bytes as typed. */
#define KEYWORD_RULE_MAX 128

/* The defaults: KW_CONTAINS, case-insensitive, onto this list. Contains
 * rather than exact because "quero sair da lista" is an opt-out too, and
 * missing one costs more (complaints, blocks, the sender's quality rating)
 * than muting someone who wrote "pode parar de mandar?" in another sense. */
#define KEYWORD_DEFAULT_MATCH KW_CONTAINS
#define KEYWORD_DEFAULT_LIST "do_not_disturb"

/* The i-th default rule ("PARAR", "SAIR", "STOP", "CANCELAR",
 * "DESCADASTRAR"), NULL past the last. Static strings. */
const char *keyword_default(size_t i);

/* Writes the folded form of in (rules above; leading and trailing spaces
 * trimmed) to out, at most cap bytes with the NUL, cut only between
 * characters. in may be NULL (folds to ""). Returns the length the whole
 * folded text needs without the NUL, as snprintf does: the output was cut
 * when the result is >= cap. */
size_t keyword_fold(const char *in, int case_sensitive, char *out, size_t cap);

/* 1 when text matches rule under how (see above), else 0; also 0 when rule
 * or text is NULL or the rule folds to nothing. No allocation and no limit
 * on either length; time is at most proportional to their product. */
int keyword_matches(const char *rule, enum keyword_match how, int case_sensitive, const char *text);

/* Checks a rule before it is stored: not NULL, valid UTF-8, at most
 * KEYWORD_RULE_MAX bytes, something left after folding. Returns DP_OK or
 * DP_EINVAL with the reason in e. */
int keyword_rule_check(const char *rule, dp_err *e) __attribute__((warn_unused_result));

/* "exact", "contains", "starts_with", "ends_with" <-> enum keyword_match.
 * keyword_match_parse returns DP_OK or DP_EINVAL (reason in e);
 * keyword_match_name returns a static string, "exact" for unknown values. */
int keyword_match_parse(const char *name, enum keyword_match *how, dp_err *e)
    __attribute__((warn_unused_result));
const char *keyword_match_name(enum keyword_match how);

#endif
