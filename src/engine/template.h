/* Message templates: a campaign's text is compiled once, then rendered per
 * contact. Syntax:
 *   {{var}}        a variable, [A-Za-z0-9_]+, spaces allowed inside the
 *                  braces ({{ name }}). Built-ins: phone, greeting, name
 *                  (matched case-insensitively); any other name is looked up
 *                  in the contact's vars.
 *   [[a|b|c]]      spintax: one option chosen uniformly per render. Options
 *                  may hold text and {{vars}} but not another [[...]].
 * Everything else is copied byte for byte (UTF-8 passes through). A stray
 * "}}" or "]]" is an error too, since it is almost always a typo of a
 * variable or spintax. */
#ifndef DP_TEMPLATE_H
#define DP_TEMPLATE_H

#include <jansson.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/rng.h"

/* Longest template text accepted, in bytes. */
#define TMPL_MAX_TEXT (64 * 1024)

typedef struct tmpl tmpl;

/* Compiles text (NUL-terminated, borrowed: the template keeps its own copy).
 * On success *out is a new template the caller frees with tmpl_free.
 * Returns DP_OK; DP_EINVAL for a syntax error, with the 0-based character
 * (code point) offset in the message, e.g. "unclosed '{{' at character 7";
 * DP_ETOOBIG over TMPL_MAX_TEXT bytes; DP_ENOMEM. */
int tmpl_compile(const char *text, tmpl **out, dp_err *e) __attribute__((warn_unused_result));
/* Accepts NULL. */
void tmpl_free(tmpl *t);

/* The distinct variables the template uses, in order of first use, except
 * the built-ins phone and greeting (name IS listed: a contact may lack one).
 * Names are deduplicated case-insensitively and keep their first spelling.
 * The string is borrowed from t; i < tmpl_var_count. */
size_t tmpl_var_count(const tmpl *t);
const char *tmpl_var_name(const tmpl *t, size_t i);

struct tmpl_ctx {
    const char *phone;  /* may be NULL */
    const char *name;   /* may be NULL; when NULL or "" vars["name"] is tried */
    const json_t *vars; /* object of strings, may be NULL; borrowed */
    int local_hour;     /* 0-23, for {{greeting}} */
    dp_rng *rng;        /* for spintax; NULL always takes the first option */
};

/* The greeting for a local hour: "Bom dia" 5-11, "Boa tarde" 12-17,
 * "Boa noite" otherwise. */
const char *tmpl_greeting(int local_hour);

/* Appends the rendered text to out. A variable the contact lacks renders as
 * "". Vars are looked up by exact name first, then case-insensitively;
 * strings render as they are, numbers in decimal, true/false as words;
 * null, arrays and objects count as missing.
 * Returns DP_OK, or DP_ETOOBIG / DP_ENOMEM from the buffer, in which case
 * out is left as it was before the call. */
int tmpl_render(const tmpl *t, const struct tmpl_ctx *c, dp_buf *out, dp_err *e)
    __attribute__((warn_unused_result));

/* Missing-variable checks, for refusing a campaign whose contacts lack
 * data and for reporting {"var": count}. A contact lacks a variable when it
 * renders as "" (absent, null, array, object or empty string; for name,
 * the name argument is also empty). Arguments as in tmpl_ctx.
 *
 * tmpl_var_missing: 1 if the contact lacks variable i, else 0. To count per
 *   variable, loop i over tmpl_var_count for each contact.
 * tmpl_missing: the index of the first variable the contact lacks, or -1. */
int tmpl_var_missing(const tmpl *t, size_t i, const char *name, const json_t *vars);
int tmpl_missing(const tmpl *t, const char *name, const json_t *vars);

#endif
