/* Template compiler and renderer. Compilation turns the text into a flat
 * list of nodes (text slices, variables, spintax groups) so that rendering,
 * which runs once per message, is a loop of appends with no parsing. */
#include "engine/template.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum node_kind { N_TEXT, N_VAR, N_SPIN };
enum var_kind { V_PHONE, V_GREETING, V_NAME, V_USER };

struct node {
    enum node_kind kind;
    /* N_TEXT: slice [a, a + b) of text.
     * N_VAR:  a = var_kind, b = index into vars, c = index into spell
     *         (V_NAME, V_USER).
     * N_SPIN: options opts[a .. a + b). */
    size_t a, b, c;
};

/* One spintax option: inner[first .. first + count). */
struct opt {
    size_t first, count;
};

struct tmpl {
    char *text;
    struct node *top; /* the template, in order */
    size_t ntop, cap_top;
    struct node *inner; /* the contents of every spintax option */
    size_t ninner, cap_inner;
    struct opt *opts;
    size_t nopts, cap_opts;
    char **vars; /* distinct case-insensitively, first spelling: the public list */
    size_t nvars, cap_vars;
    char **spell; /* distinct exact spellings: what rendering looks up */
    size_t nspell, cap_spell;
};

/* Grows an array of elem-sized items to hold one more; 0 or -1. */
static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 8;
    void *p = realloc(*arr, nc * elem);
    if (!p)
        return -1;
    *arr = p;
    *cap = nc;
    return 0;
}

/* Code points before byte offset off: what the error message calls a
 * character, so the offset matches what the user sees in an editor. */
static size_t char_offset(const char *s, size_t off)
{
    size_t n = 0;
    for (size_t i = 0; i < off; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            n++;
    return n;
}

struct parser {
    tmpl *t;
    int in_spin;
    size_t spin_first_opt; /* first option of the open spintax */
    size_t opt_first;      /* first inner node of the open option */
};

static int emit(struct parser *p, enum node_kind kind, size_t a, size_t b, size_t c)
{
    tmpl *t = p->t;
    struct node n = {kind, a, b, c};
    if (p->in_spin) {
        if (grow((void **)&t->inner, &t->cap_inner, t->ninner, sizeof n))
            return DP_ENOMEM;
        t->inner[t->ninner++] = n;
    } else {
        if (grow((void **)&t->top, &t->cap_top, t->ntop, sizeof n))
            return DP_ENOMEM;
        t->top[t->ntop++] = n;
    }
    return DP_OK;
}

static int emit_text(struct parser *p, size_t from, size_t to)
{
    return to > from ? emit(p, N_TEXT, from, to - from, 0) : DP_OK;
}

static int end_option(struct parser *p)
{
    tmpl *t = p->t;
    if (grow((void **)&t->opts, &t->cap_opts, t->nopts, sizeof *t->opts))
        return DP_ENOMEM;
    t->opts[t->nopts].first = p->opt_first;
    t->opts[t->nopts].count = t->ninner - p->opt_first;
    t->nopts++;
    p->opt_first = t->ninner;
    return DP_OK;
}

/* Index of name in list (compared with cmp), adding a copy if new;
 * SIZE_MAX on ENOMEM. */
static size_t intern(char ***list, size_t *n, size_t *cap, const char *name, size_t len,
                     int (*cmp)(const char *, const char *, size_t))
{
    for (size_t i = 0; i < *n; i++)
        if (strlen((*list)[i]) == len && cmp((*list)[i], name, len) == 0)
            return i;
    if (grow((void **)list, cap, *n, sizeof **list))
        return SIZE_MAX;
    char *copy = strndup(name, len);
    if (!copy)
        return SIZE_MAX;
    (*list)[*n] = copy;
    return (*n)++;
}

static int is_name_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/* Parses the variable whose "{{" is at i and emits it; *next is the offset
 * after its "}}". */
static int parse_var(struct parser *p, size_t i, size_t *next, dp_err *e)
{
    const char *s = p->t->text;
    const char *close = strstr(s + i + 2, "}}");
    if (!close)
        return dp_err_set(e, DP_EINVAL, "unclosed '{{' at character %zu", char_offset(s, i));
    size_t b = i + 2, end = (size_t)(close - s);
    while (b < end && (s[b] == ' ' || s[b] == '\t'))
        b++;
    size_t z = end;
    while (z > b && (s[z - 1] == ' ' || s[z - 1] == '\t'))
        z--;
    int ok = z > b;
    for (size_t k = b; k < z; k++)
        if (!is_name_char(s[k]))
            ok = 0;
    if (!ok)
        return dp_err_set(e, DP_EINVAL,
                          "invalid variable name \"%.*s\" at character %zu (letters, digits and "
                          "_ only)",
                          (int)(end - i - 2 > 40 ? 40 : end - i - 2), s + i + 2, char_offset(s, i));
    size_t len = z - b;
    enum var_kind kind = V_USER;
    if (len == 5 && strncasecmp(s + b, "phone", 5) == 0)
        kind = V_PHONE;
    else if (len == 8 && strncasecmp(s + b, "greeting", 8) == 0)
        kind = V_GREETING;
    else if (len == 4 && strncasecmp(s + b, "name", 4) == 0)
        kind = V_NAME;
    size_t idx = 0, sp = 0;
    if (kind == V_NAME || kind == V_USER) {
        tmpl *t = p->t;
        idx = intern(&t->vars, &t->nvars, &t->cap_vars, s + b, len, strncasecmp);
        sp = intern(&t->spell, &t->nspell, &t->cap_spell, s + b, len, strncmp);
        if (idx == SIZE_MAX || sp == SIZE_MAX)
            return dp_err_set(e, DP_ENOMEM, NULL);
    }
    *next = end + 2;
    int rc = emit(p, N_VAR, (size_t)kind, idx, sp);
    return rc ? dp_err_set(e, rc, NULL) : DP_OK;
}

static int parse(tmpl *t, size_t len, dp_err *e)
{
    struct parser p = {t, 0, 0, 0};
    const char *s = t->text;
    size_t i = 0, text_from = 0, spin_at = 0;
    int rc = DP_OK;

    while (i < len) {
        char c = s[i], d = s[i + 1]; /* s[len] is the NUL */
        if (c == '{' && d == '{') {
            size_t next = 0;
            rc = emit_text(&p, text_from, i);
            if (rc == DP_OK)
                rc = parse_var(&p, i, &next, e);
            if (rc)
                goto out;
            i = text_from = next;
        } else if (c == '}' && d == '}') {
            rc = dp_err_set(e, DP_EINVAL, "unmatched '}}' at character %zu", char_offset(s, i));
            goto out;
        } else if (c == '[' && d == '[') {
            if (p.in_spin) {
                rc = dp_err_set(e, DP_EINVAL,
                                "nested '[[' at character %zu (spintax cannot be nested)",
                                char_offset(s, i));
                goto out;
            }
            rc = emit_text(&p, text_from, i);
            if (rc)
                goto oom;
            p.in_spin = 1;
            p.spin_first_opt = t->nopts;
            p.opt_first = t->ninner;
            spin_at = i;
            i = text_from = i + 2;
        } else if (c == ']' && d == ']') {
            if (!p.in_spin) {
                rc = dp_err_set(e, DP_EINVAL, "unmatched ']]' at character %zu", char_offset(s, i));
                goto out;
            }
            rc = emit_text(&p, text_from, i);
            if (rc == DP_OK)
                rc = end_option(&p);
            if (rc)
                goto oom;
            p.in_spin = 0;
            rc = emit(&p, N_SPIN, p.spin_first_opt, t->nopts - p.spin_first_opt, 0);
            if (rc)
                goto oom;
            i = text_from = i + 2;
        } else if (c == '|' && p.in_spin) {
            rc = emit_text(&p, text_from, i);
            if (rc == DP_OK)
                rc = end_option(&p);
            if (rc)
                goto oom;
            i = text_from = i + 1;
        } else {
            i++;
        }
    }
    if (p.in_spin) {
        rc = dp_err_set(e, DP_EINVAL, "unclosed '[[' at character %zu", char_offset(s, spin_at));
        goto out;
    }
    rc = emit_text(&p, text_from, len);
    if (rc)
        goto oom;
out:
    return rc;
oom:
    return dp_err_set(e, DP_ENOMEM, NULL);
}

void tmpl_free(tmpl *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nvars; i++)
        free(t->vars[i]);
    free(t->vars);
    for (size_t i = 0; i < t->nspell; i++)
        free(t->spell[i]);
    free(t->spell);
    free(t->top);
    free(t->inner);
    free(t->opts);
    free(t->text);
    free(t);
}

int tmpl_compile(const char *text, tmpl **out, dp_err *e)
{
    tmpl *t = NULL;
    int rc = DP_OK;

    *out = NULL;
    if (!text) {
        rc = dp_err_set(e, DP_EINVAL, "template text is missing");
        goto out;
    }
    size_t len = strnlen(text, TMPL_MAX_TEXT + 1);
    if (len > TMPL_MAX_TEXT) {
        rc = dp_err_set(e, DP_ETOOBIG, "template is longer than %d bytes", TMPL_MAX_TEXT);
        goto out;
    }
    t = calloc(1, sizeof *t);
    if (t)
        t->text = strndup(text, len);
    if (!t || !t->text) {
        rc = dp_err_set(e, DP_ENOMEM, NULL);
        goto out;
    }
    rc = parse(t, len, e);
    if (rc)
        goto out;
    *out = t;
    t = NULL;
out:
    tmpl_free(t);
    return rc;
}

size_t tmpl_var_count(const tmpl *t)
{
    return t->nvars;
}

const char *tmpl_var_name(const tmpl *t, size_t i)
{
    return i < t->nvars ? t->vars[i] : NULL;
}

const char *tmpl_greeting(int h)
{
    if (h >= 5 && h <= 11)
        return "Bom dia";
    if (h >= 12 && h <= 17)
        return "Boa tarde";
    return "Boa noite";
}

/* The text of vars[name]: exact key first, then any case. Numbers are
 * printed into scratch. Returns NULL when missing; *len gets the length. */
static const char *lookup(const json_t *vars, const char *name, char *scratch, size_t cap,
                          size_t *len)
{
    if (!json_is_object(vars))
        return NULL;
    const json_t *v = json_object_get(vars, name);
    if (!v) {
        const char *k;
        const json_t *x;
        /* json_object_foreach wants a non-const object; it does not modify. */
        json_object_foreach((json_t *)vars, k, x)
        {
            if (strcasecmp(k, name) == 0) {
                v = x;
                break;
            }
        }
    }
    if (!v)
        return NULL;
    int n = -1;
    switch (json_typeof(v)) {
    case JSON_STRING:
        *len = json_string_length(v);
        return json_string_value(v);
    case JSON_INTEGER:
        n = snprintf(scratch, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        n = snprintf(scratch, cap, "%.15g", json_real_value(v));
        break;
    case JSON_TRUE:
        n = snprintf(scratch, cap, "true");
        break;
    case JSON_FALSE:
        n = snprintf(scratch, cap, "false");
        break;
    default:
        return NULL;
    }
    if (n < 0 || (size_t)n >= cap)
        return NULL;
    *len = (size_t)n;
    return scratch;
}

/* The value of a variable spelled key for a contact; NULL when it would
 * render empty. */
static const char *var_value(enum var_kind kind, const char *key, const char *name,
                             const json_t *vars, char *scratch, size_t cap, size_t *len)
{
    if (kind == V_NAME && name && *name) {
        *len = strlen(name);
        return name;
    }
    const char *v = lookup(vars, key, scratch, cap, len);
    return v && *len ? v : NULL;
}

static int render_nodes(const tmpl *t, const struct node *nodes, size_t n, const struct tmpl_ctx *c,
                        dp_buf *out)
{
    int rc = DP_OK;
    char scratch[64];
    for (size_t k = 0; k < n && rc == DP_OK; k++) {
        const struct node *nd = &nodes[k];
        if (nd->kind == N_TEXT) {
            rc = buf_append(out, t->text + nd->a, nd->b);
        } else if (nd->kind == N_SPIN) {
            size_t pick = 0;
            if (c->rng && nd->b > 1)
                pick = (size_t)rng_range(c->rng, 0, (int64_t)nd->b - 1);
            const struct opt *o = &t->opts[nd->a + pick];
            rc = render_nodes(t, t->inner + o->first, o->count, c, out);
        } else if (nd->a == V_PHONE) {
            rc = c->phone ? buf_puts(out, c->phone) : DP_OK;
        } else if (nd->a == V_GREETING) {
            rc = buf_puts(out, tmpl_greeting(c->local_hour));
        } else {
            size_t len = 0;
            const char *v = var_value((enum var_kind)nd->a, t->spell[nd->c], c->name, c->vars,
                                      scratch, sizeof scratch, &len);
            rc = v ? buf_append(out, v, len) : DP_OK;
        }
    }
    return rc;
}

int tmpl_render(const tmpl *t, const struct tmpl_ctx *c, dp_buf *out, dp_err *e)
{
    size_t len0 = out->len;
    int rc = render_nodes(t, t->top, t->ntop, c, out);
    if (rc) {
        /* Leave the buffer as the caller gave it. */
        out->len = len0;
        if (out->data)
            out->data[len0] = '\0';
        if (rc == DP_ETOOBIG)
            return dp_err_set(e, rc, "rendered message longer than %zu bytes", out->cap);
        return dp_err_set(e, rc, NULL);
    }
    return DP_OK;
}

int tmpl_var_missing(const tmpl *t, size_t i, const char *name, const json_t *vars)
{
    if (i >= t->nvars)
        return 0;
    /* The built-in "name" is the only listed variable with a second source. */
    enum var_kind kind = strcasecmp(t->vars[i], "name") == 0 ? V_NAME : V_USER;
    char scratch[64];
    size_t len = 0;
    return var_value(kind, t->vars[i], name, vars, scratch, sizeof scratch, &len) == NULL;
}

int tmpl_missing(const tmpl *t, const char *name, const json_t *vars)
{
    for (size_t i = 0; i < t->nvars; i++)
        if (tmpl_var_missing(t, i, name, vars))
            return (int)i;
    return -1;
}
