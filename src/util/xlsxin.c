/* XLSX reader: libzip opens the archive and inflates one part at a time,
 * expat parses each part as the bytes come out (no part is ever held whole),
 * and this file adds what an import needs on top: finding the first
 * worksheet the way Excel does (package rels -> workbook -> its rels ->
 * the part), the shared-string table, cell references turned into columns,
 * exact numbers, caps on everything a hostile file can grow, and rows
 * delivered as arrays like csvin's.
 *
 * Element names are matched on their local part ("x:row" is "row"): some
 * writers put the SpreadsheetML namespace on a prefix, and where an element
 * may appear is checked through its parents instead. */
#include "util/xlsxin.h"

#include <expat.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "util/buf.h"

#define CHUNK (64 * 1024)     /* bytes inflated and parsed per step */
#define PART_NAME_MAX 1024    /* a part name after resolution */
#define SHEET_NAME_MAX 256    /* Excel allows 31 characters */
#define MAX_DEPTH 64          /* element nesting; real parts stay under 10 */
#define TOKEN_MAX (4 << 20)   /* bytes expat may buffer without an event */
#define MAX_WORKSHEETS 65536  /* worksheet relationships kept for the lookup */
#define RELS_ARENA (16 << 20) /* their ids and targets */
#define NUM_MAX 400           /* a number in scientific notation, expanded */
#define EXCEL_MAX_COLS 16384  /* column XFD */

/* Where an element sits, from its own name and its parent's kind. */
enum {
    K_OTHER, /* anything we do not read, and everything inside it */
    K_ROOT,  /* the expected root element */
    K_SD,    /* sheetData (sheets, in the workbook) */
    K_ROW,
    K_C,
    K_V,
    K_IS, /* inline string */
    K_SI, /* shared string item */
    K_R,  /* rich text run */
    K_T,  /* text */
    K_REL /* Relationship, Sheet */
};

/* Cell types (the t attribute). */
enum { T_N, T_S, T_STR, T_INLINE, T_B, T_E, T_D };

struct xlsxin {
    zip_t *zip;
    char sheet[PART_NAME_MAX]; /* the first worksheet's part */
    zip_int64_t sheet_idx;     /* its index in the archive, found at open */
    char sheet_name[SHEET_NAME_MAX];
    dp_buf sst;        /* shared strings, each followed by a NUL */
    uint32_t *sst_off; /* where each starts in sst */
    size_t sst_n;
    size_t sst_alloc;
};

/* What every part parse shares: the parser, its error, the element stack. */
struct pctx {
    xlsxin *x;
    XML_Parser p;
    const char *part; /* for messages */
    int rc;           /* sticky; first error wins */
    int internal;     /* msg is ours to report (else rc came from a callback) */
    int done;         /* stopped on purpose: what we wanted was found */
    char msg[DP_ERR_DETAIL_MAX];
    XML_Index pos; /* byte index of the latest event */
    int depth;
    unsigned char kind[MAX_DEPTH];
};

/* ---- errors ------------------------------------------------------------- */

static void stop(struct pctx *c)
{
    (void)XML_StopParser(c->p, XML_FALSE);
}

static void fail(struct pctx *c, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(struct pctx *c, int rc, const char *fmt, ...)
{
    if (c->rc)
        return;
    c->rc = rc;
    c->internal = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->msg, sizeof c->msg, fmt, ap);
    va_end(ap);
    stop(c);
}

/* ---- small helpers ------------------------------------------------------ */

static const char *local_name(const char *name)
{
    const char *c = strrchr(name, ':');
    return c ? c + 1 : name;
}

/* The value of the attribute whose local name is want, or NULL. prefixed
 * asks for one with a namespace prefix (r:id), which is how relationship
 * ids are told from other "id" attributes. */
static const char *attr(const XML_Char **a, const char *want, int prefixed)
{
    for (size_t i = 0; a[i]; i += 2) {
        const char *ln = local_name(a[i]);
        if ((ln != a[i]) == (prefixed != 0) && strcmp(ln, want) == 0)
            return a[i + 1];
    }
    return NULL;
}

static int is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

static void trim(const char **s, size_t *n)
{
    while (*n > 0 && is_space(**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && is_space((*s)[*n - 1]))
        (*n)--;
}

/* A decimal without sign; returns 0 on success, -1 for anything else
 * (empty, stray bytes, past max). */
static int parse_uint(const char *s, size_t n, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
        if (v > max)
            return -1;
    }
    *out = v;
    return 0;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Decodes OOXML's escapes for characters XML cannot carry ("_x000D_" is a
 * CR; ECMA-376 part 1, 22.9.2.19) in place; returns the new length. The
 * output never outgrows the input: 7 bytes become at most 3. Surrogate
 * halves are left as written, since alone they are not characters. */
static size_t xstr_decode(char *s, size_t n)
{
    if (!memchr(s, '_', n))
        return n;
    size_t r = 0;
    size_t w = 0;
    while (r < n) {
        if (s[r] == '_' && r + 7 <= n && s[r + 1] == 'x' && s[r + 6] == '_') {
            int h0 = hexval(s[r + 2]);
            int h1 = hexval(s[r + 3]);
            int h2 = hexval(s[r + 4]);
            int h3 = hexval(s[r + 5]);
            if (h0 >= 0 && h1 >= 0 && h2 >= 0 && h3 >= 0) {
                unsigned cp = (unsigned)(h0 << 12 | h1 << 8 | h2 << 4 | h3);
                if (cp < 0xD800 || cp > 0xDFFF) {
                    if (cp < 0x80) {
                        s[w++] = (char)cp;
                    } else if (cp < 0x800) {
                        s[w++] = (char)(0xC0 | cp >> 6);
                        s[w++] = (char)(0x80 | (cp & 0x3F));
                    } else {
                        s[w++] = (char)(0xE0 | cp >> 12);
                        s[w++] = (char)(0x80 | (cp >> 6 & 0x3F));
                        s[w++] = (char)(0x80 | (cp & 0x3F));
                    }
                    r += 7;
                    continue;
                }
            }
        }
        s[w++] = s[r++];
    }
    return w;
}

/* Writes a number in scientific notation as a plain decimal, exactly, by
 * moving the decimal point in the digits rather than going through a
 * double: a phone typed into Excel comes back as "5.511999990001E+12" from
 * some writers and must read as "5511999990001". Returns the length
 * written to out (NUL-terminated), or 0 to keep s as it is: not scientific
 * notation, or too long to expand into cap bytes. */
static size_t num_plain(const char *s, size_t n, char *out, size_t cap)
{
    char dig[NUM_MAX];
    size_t nd = 0;
    size_t i = 0;
    int neg = 0;
    long intd = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) {
        neg = s[i] == '-';
        i++;
    }
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, intd++) {
        if (nd >= sizeof dig)
            return 0;
        dig[nd++] = s[i];
    }
    if (i < n && s[i] == '.') {
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
            if (nd >= sizeof dig)
                return 0;
            dig[nd++] = s[i];
        }
    }
    if (nd == 0 || i >= n || (s[i] != 'E' && s[i] != 'e'))
        return 0;
    i++;
    int eneg = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) {
        eneg = s[i] == '-';
        i++;
    }
    long ex = 0;
    size_t ed = 0;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, ed++) {
        ex = ex * 10 + (s[i] - '0');
        if (ex > 100000) /* far past anything that fits cap */
            return 0;
    }
    if (ed == 0 || i != n)
        return 0;

    /* The value is 0.D x 10^p with D the digits sans leading zeros. */
    long p = intd + (eneg ? -ex : ex);
    const char *d = dig;
    while (nd > 0 && *d == '0') {
        d++;
        nd--;
        p--;
    }
    while (nd > 0 && d[nd - 1] == '0')
        nd--;
    size_t w = 0;
    if (nd == 0) {
        if (cap < 2)
            return 0;
        out[w++] = '0';
        out[w] = '\0';
        return w;
    }
    size_t need = (size_t)neg + 1;
    if (p <= 0)
        need += 2 + (size_t)(-p) + nd;
    else if ((size_t)p >= nd)
        need += (size_t)p;
    else
        need += nd + 1;
    if (need > cap)
        return 0;
    if (neg)
        out[w++] = '-';
    if (p <= 0) {
        out[w++] = '0';
        out[w++] = '.';
        memset(out + w, '0', (size_t)(-p));
        w += (size_t)(-p);
        memcpy(out + w, d, nd);
        w += nd;
    } else if ((size_t)p >= nd) {
        memcpy(out + w, d, nd);
        w += nd;
        memset(out + w, '0', (size_t)p - nd);
        w += (size_t)p - nd;
    } else {
        memcpy(out + w, d, (size_t)p);
        w += (size_t)p;
        out[w++] = '.';
        memcpy(out + w, d + p, nd - (size_t)p);
        w += nd - (size_t)p;
    }
    out[w] = '\0';
    return w;
}

/* "C" for column 2; out holds at least 4 bytes. */
static void col_name(size_t col, char *out)
{
    char tmp[8];
    size_t n = 0;
    col++;
    while (col > 0 && n < sizeof tmp) {
        tmp[n++] = (char)('A' + (col - 1) % 26);
        col = (col - 1) / 26;
    }
    for (size_t i = 0; i < n && i < 3; i++)
        out[i] = tmp[n - 1 - i];
    out[n < 3 ? n : 3] = '\0';
}

/* The column of a reference like "AB12" (0-based), or -1. */
static long ref_col(const char *ref)
{
    long col = 0;
    size_t i = 0;
    for (; ref[i] >= 'A' && ref[i] <= 'Z'; i++) {
        if (i >= 3)
            return -1;
        col = col * 26 + (ref[i] - 'A' + 1);
    }
    if (i == 0 || col > EXCEL_MAX_COLS)
        return -1;
    return col - 1;
}

/* ---- part names --------------------------------------------------------- */

/* Resolves a relationship target against the folder of the part that owns
 * the relationship ("xl/" for the workbook): "worksheets/sheet1.xml" ->
 * "xl/worksheets/sheet1.xml", "/xl/a.xml" -> "xl/a.xml", "../b.xml" ->
 * "b.xml"; %XX escapes are decoded. Returns 0, or -1 when the result does
 * not fit out or climbs above the package root. */
static int resolve(const char *dir, const char *target, char *out, size_t cap)
{
    char full[PART_NAME_MAX * 2];
    size_t n = 0;
    if (target[0] == '/') {
        target++;
    } else {
        size_t dl = strlen(dir);
        if (dl >= sizeof full)
            return -1;
        memcpy(full, dir, dl);
        n = dl;
    }
    for (size_t i = 0; target[i]; i++) {
        char ch = target[i];
        if (ch == '%' && hexval(target[i + 1]) >= 0 && hexval(target[i + 2]) >= 0) {
            ch = (char)(hexval(target[i + 1]) << 4 | hexval(target[i + 2]));
            i += 2;
        }
        if (n + 1 >= sizeof full)
            return -1;
        full[n++] = ch;
    }
    full[n] = '\0';

    size_t o = 0;
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && full[j] != '/')
            j++;
        size_t len = j - i;
        if (len == 0 || (len == 1 && full[i] == '.')) {
            /* nothing */
        } else if (len == 2 && full[i] == '.' && full[i + 1] == '.') {
            if (o == 0)
                return -1;
            while (o > 0 && out[o - 1] != '/')
                o--;
            if (o > 0)
                o--;
        } else {
            if (o + (o > 0) + len + 1 > cap)
                return -1;
            if (o > 0)
                out[o++] = '/';
            memcpy(out + o, full + i, len);
            o += len;
        }
        i = j + 1;
    }
    if (o == 0)
        return -1;
    out[o] = '\0';
    return 0;
}

/* "xl/workbook.xml" -> dir "xl/" and rels "xl/_rels/workbook.xml.rels". */
static int rels_of(const char *part, char *dir, char *rels, size_t cap)
{
    const char *slash = strrchr(part, '/');
    size_t dl = slash ? (size_t)(slash - part) + 1 : 0;
    if (dl >= cap)
        return -1;
    memcpy(dir, part, dl);
    dir[dl] = '\0';
    int n = snprintf(rels, cap, "%s_rels/%s.rels", dir, part + dl);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* ---- driving one part through expat ------------------------------------- */

static int zip_fail(dp_err *e, zip_error_t *ze, const char *part)
{
    int code = zip_error_code_zip(ze);
    if (code == ZIP_ER_MEMORY)
        return dp_err_set(e, DP_ENOMEM, "out of memory");
    if (code == ZIP_ER_NOPASSWD || code == ZIP_ER_WRONGPASSWD || code == ZIP_ER_ENCRNOTSUPP)
        return dp_err_set(e, DP_EINVAL, "the workbook is encrypted (save it without a password)");
    if (code == ZIP_ER_COMPNOTSUPP)
        return dp_err_set(e, DP_EINVAL, "not an XLSX file: %s uses an unsupported compression",
                          part);
    return dp_err_set(e, DP_EINVAL, "damaged XLSX file: %s (%s)", part, zip_error_strerror(ze));
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal)
{
    struct pctx *c = ud;
    /* Excel never writes one; refusing it rules out entity tricks. */
    fail(c, DP_EINVAL, "damaged XLSX file: %s has a DTD", c->part);
}

static void XMLCALL on_other(void *ud, const XML_Char *s, int len)
{
    struct pctx *c = ud;
    c->pos = XML_GetCurrentByteIndex(c->p);
}

/* A parser with the handlers every part needs; the caller adds its own. */
static XML_Parser parser_new(struct pctx *c)
{
    XML_Parser p = XML_ParserCreate(NULL);
    if (!p)
        return NULL;
    c->p = p;
    XML_SetUserData(p, c);
    XML_SetStartDoctypeDeclHandler(p, on_doctype);
    XML_SetDefaultHandlerExpand(p, on_other);
    return p;
}

/* Returns DP_OK when the part exists, DP_ENOTFOUND when it does not. */
static int part_find(xlsxin *x, const char *name, zip_int64_t *idx)
{
    *idx = zip_name_locate(x->zip, name, ZIP_FL_NOCASE);
    return *idx < 0 ? DP_ENOTFOUND : DP_OK;
}

/* Inflates part idx and feeds it chunk by chunk to a parser of its own
 * with c as user data and the given handlers (text may be NULL), checking
 * the bomb limits both against the sizes the archive declares and against
 * the bytes that really come out. */
static int part_parse(struct pctx *c, zip_int64_t idx, XML_StartElementHandler start,
                      XML_EndElementHandler end, XML_CharacterDataHandler text, dp_err *e)
{
    zip_t *zip = c->x->zip;
    zip_file_t *f = NULL;
    zip_stat_t st;
    uint64_t total = 0;
    int rc = DP_OK;

    if (!parser_new(c))
        return dp_err_set(e, DP_ENOMEM, "out of memory");
    XML_SetElementHandler(c->p, start, end);
    if (text)
        XML_SetCharacterDataHandler(c->p, text);
    zip_stat_init(&st);
    if (zip_stat_index(zip, (zip_uint64_t)idx, 0, &st) != 0) {
        rc = zip_fail(e, zip_get_error(zip), c->part);
        goto out;
    }
    if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE) {
        rc = dp_err_set(e, DP_EINVAL, "the workbook is encrypted (save it without a password)");
        goto out;
    }
    if (!(st.valid & ZIP_STAT_SIZE) || !(st.valid & ZIP_STAT_COMP_SIZE)) {
        rc = dp_err_set(e, DP_EINVAL, "damaged XLSX file: %s has no sizes", c->part);
        goto out;
    }
    if (st.size > XLSXIN_MAX_PART) {
        rc = dp_err_set(e, DP_ETOOBIG, "%s is larger than %llu bytes uncompressed", c->part,
                        (unsigned long long)XLSXIN_MAX_PART);
        goto out;
    }
    if (st.size > XLSXIN_RATIO_FLOOR &&
        st.size / (st.comp_size ? st.comp_size : 1) > XLSXIN_MAX_RATIO) {
        rc = dp_err_set(e, DP_ETOOBIG, "%s inflates more than %d times (a zip bomb?)", c->part,
                        XLSXIN_MAX_RATIO);
        goto out;
    }
    f = zip_fopen_index(zip, (zip_uint64_t)idx, 0);
    if (!f) {
        rc = zip_fail(e, zip_get_error(zip), c->part);
        goto out;
    }
    for (;;) {
        void *buf = XML_GetBuffer(c->p, CHUNK);
        if (!buf) {
            rc = dp_err_set(e, DP_ENOMEM, "out of memory");
            goto out;
        }
        zip_int64_t n = zip_fread(f, buf, CHUNK);
        if (n < 0) {
            rc = zip_fail(e, zip_file_get_error(f), c->part);
            goto out;
        }
        total += (uint64_t)n;
        /* The declared size passed the checks above; a stream that runs
         * past it is lying about itself. */
        if (total > st.size) {
            rc = dp_err_set(e, DP_EINVAL, "damaged XLSX file: %s is longer than declared", c->part);
            goto out;
        }
        if (XML_ParseBuffer(c->p, (int)n, n == 0) != XML_STATUS_OK) {
            if (c->rc) {
                rc = c->rc;
                if (c->internal)
                    dp_err_set(e, rc, "%s", c->msg);
            } else if (!c->done) {
                rc = dp_err_set(e, DP_EINVAL, "damaged XLSX file: %s line %lu: %s", c->part,
                                (unsigned long)XML_GetCurrentLineNumber(c->p),
                                XML_ErrorString(XML_GetErrorCode(c->p)));
            }
            goto out;
        }
        /* expat holds an unfinished token whole; one that never ends
         * (a 2 GB attribute) would grow its buffer without bound. */
        if (total - (uint64_t)c->pos > TOKEN_MAX) {
            rc = dp_err_set(e, DP_EINVAL, "damaged XLSX file: %s has a token longer than %d bytes",
                            c->part, TOKEN_MAX);
            goto out;
        }
        if (n == 0)
            break;
    }
out:
    if (f)
        (void)zip_fclose(f);
    XML_ParserFree(c->p);
    c->p = NULL;
    return rc;
}

/* Element stack: push the kind of a new element, fail on runaway nesting. */
static int push(struct pctx *c, int kind)
{
    if (c->depth >= MAX_DEPTH) {
        fail(c, DP_EINVAL, "damaged XLSX file: %s nests deeper than %d", c->part, MAX_DEPTH);
        return -1;
    }
    c->kind[c->depth++] = (unsigned char)kind;
    return 0;
}

static int parent(const struct pctx *c)
{
    return c->depth > 0 ? c->kind[c->depth - 1] : -1;
}

/* ---- relationships ------------------------------------------------------ */

struct rel {
    const char *id;
    const char *target; /* resolved part name */
};

struct rels_ctx {
    struct pctx b;
    const char *dir;            /* folder of the owning part */
    char office[PART_NAME_MAX]; /* package rels: the workbook */
    char sst[PART_NAME_MAX];    /* workbook rels: the shared strings */
    dp_buf arena;               /* worksheet ids and targets, NUL-separated */
    size_t *offs;               /* pairs of offsets into arena */
    size_t n;
    size_t alloc;
};

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s);
    size_t k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static void XMLCALL rels_start(void *ud, const XML_Char *name, const XML_Char **a)
{
    struct rels_ctx *r = ud;
    struct pctx *c = &r->b;
    const char *ln = local_name(name);
    c->pos = XML_GetCurrentByteIndex(c->p);
    int kind = K_OTHER;
    if (parent(c) < 0)
        kind = strcmp(ln, "Relationships") == 0 ? K_ROOT : K_OTHER;
    else if (parent(c) == K_ROOT && strcmp(ln, "Relationship") == 0)
        kind = K_REL;
    if (push(c, kind) != 0 || kind != K_REL)
        return;

    const char *id = attr(a, "Id", 0);
    const char *type = attr(a, "Type", 0);
    const char *target = attr(a, "Target", 0);
    const char *mode = attr(a, "TargetMode", 0);
    char part[PART_NAME_MAX];
    if (!id || !type || !target || (mode && strcmp(mode, "External") == 0))
        return;
    if (resolve(r->dir, target, part, sizeof part) != 0)
        return; /* not a part we could open anyway */
    if (ends_with(type, "/officeDocument") && !r->office[0]) {
        snprintf(r->office, sizeof r->office, "%s", part);
    } else if (ends_with(type, "/sharedStrings") && !r->sst[0]) {
        snprintf(r->sst, sizeof r->sst, "%s", part);
    } else if (ends_with(type, "/worksheet")) {
        if (r->n >= MAX_WORKSHEETS) {
            fail(c, DP_EINVAL, "the workbook has more than %d worksheets", MAX_WORKSHEETS);
            return;
        }
        if (r->n == r->alloc) {
            size_t na = r->alloc ? r->alloc * 2 : 16;
            size_t *no = realloc(r->offs, na * 2 * sizeof *no);
            if (!no) {
                fail(c, DP_ENOMEM, "out of memory");
                return;
            }
            r->offs = no;
            r->alloc = na;
        }
        size_t io = r->arena.len;
        size_t to = io + strlen(id) + 1;
        if (buf_append(&r->arena, id, strlen(id) + 1) != DP_OK ||
            buf_append(&r->arena, part, strlen(part) + 1) != DP_OK) {
            fail(c, DP_EINVAL, "damaged XLSX file: %s is too large", c->part);
            return;
        }
        r->offs[2 * r->n] = io;
        r->offs[2 * r->n + 1] = to;
        r->n++;
    }
}

static void XMLCALL gen_end(void *ud, const XML_Char *name)
{
    struct pctx *c = ud;
    c->pos = XML_GetCurrentByteIndex(c->p);
    if (c->depth > 0)
        c->depth--;
}

static void rels_free(struct rels_ctx *r)
{
    buf_free(&r->arena);
    free(r->offs);
}

/* Parses the rels of part (if it has any) into r. A missing rels part is
 * not an error: r simply stays empty. */
static int rels_load(xlsxin *x, const char *part, struct rels_ctx *r, char *dir, dp_err *e)
{
    char rels[PART_NAME_MAX];
    zip_int64_t idx;
    int rc = DP_OK;

    memset(r, 0, sizeof *r);
    buf_init(&r->arena, RELS_ARENA);
    if (rels_of(part, dir, rels, PART_NAME_MAX) != 0)
        goto out;
    r->dir = dir;
    if (part_find(x, rels, &idx) != DP_OK)
        goto out;
    r->b.x = x;
    r->b.part = rels;
    rc = part_parse(&r->b, idx, rels_start, gen_end, NULL, e);
out:
    r->b.part = NULL;
    return rc;
}

/* ---- workbook ----------------------------------------------------------- */

struct wb_ctx {
    struct pctx b;
    struct rel *ws; /* worksheet relationships, sorted by id */
    size_t nws;
    size_t nsheets; /* <sheet> elements seen */
};

static int rel_cmp(const void *a, const void *b)
{
    return strcmp(((const struct rel *)a)->id, ((const struct rel *)b)->id);
}

static void XMLCALL wb_start(void *ud, const XML_Char *name, const XML_Char **a)
{
    struct wb_ctx *w = ud;
    struct pctx *c = &w->b;
    const char *ln = local_name(name);
    c->pos = XML_GetCurrentByteIndex(c->p);
    int kind = K_OTHER;
    if (parent(c) < 0) {
        if (strcmp(ln, "workbook") != 0) {
            fail(c, DP_EINVAL, "not an XLSX file: %s is not a workbook", c->part);
            return;
        }
        kind = K_ROOT;
    } else if (parent(c) == K_ROOT && strcmp(ln, "sheets") == 0) {
        kind = K_SD;
    } else if (parent(c) == K_SD && strcmp(ln, "sheet") == 0) {
        kind = K_REL;
    }
    if (push(c, kind) != 0 || kind != K_REL)
        return;

    /* Sheets are listed in tab order; the first one that is a worksheet
     * (not a chart sheet) is the one a person sees as "the sheet". */
    w->nsheets++;
    const char *rid = attr(a, "id", 1);
    if (!rid || w->nws == 0)
        return;
    struct rel key = {rid, NULL};
    const struct rel *hit = bsearch(&key, w->ws, w->nws, sizeof *w->ws, rel_cmp);
    if (!hit)
        return;
    const char *nm = attr(a, "name", 0);
    snprintf(c->x->sheet, sizeof c->x->sheet, "%s", hit->target);
    snprintf(c->x->sheet_name, sizeof c->x->sheet_name, "%s", nm ? nm : "");
    c->done = 1;
    stop(c);
}

/* Finds the workbook part, its first worksheet, and the shared strings'
 * part name (into sst, "" when the workbook has none). */
static int find_sheet(xlsxin *x, char *sst, dp_err *e)
{
    struct rels_ctx pkg;
    struct rels_ctx wbr;
    struct wb_ctx w;
    char dir[PART_NAME_MAX];
    char wbdir[PART_NAME_MAX];
    char wb[PART_NAME_MAX];
    zip_int64_t idx;
    int rc;

    memset(&w, 0, sizeof w);
    memset(&wbr, 0, sizeof wbr);
    buf_init(&wbr.arena, 0);
    rc = rels_load(x, "", &pkg, dir, e);
    snprintf(wb, sizeof wb, "%s", pkg.office[0] ? pkg.office : "xl/workbook.xml");
    rels_free(&pkg);
    if (rc)
        goto out;
    if (part_find(x, wb, &idx) != DP_OK) {
        rc = dp_err_set(e, DP_EINVAL, "not an XLSX file: the archive has no workbook");
        goto out;
    }
    rc = rels_load(x, wb, &wbr, wbdir, e);
    if (rc)
        goto out;
    snprintf(sst, PART_NAME_MAX, "%s", wbr.sst);
    if (wbr.n > 0) {
        w.ws = calloc(wbr.n, sizeof *w.ws);
        if (!w.ws) {
            rc = dp_err_set(e, DP_ENOMEM, "out of memory");
            goto out;
        }
        for (size_t i = 0; i < wbr.n; i++) {
            w.ws[i].id = wbr.arena.data + wbr.offs[2 * i];
            w.ws[i].target = wbr.arena.data + wbr.offs[2 * i + 1];
        }
        w.nws = wbr.n;
        qsort(w.ws, w.nws, sizeof *w.ws, rel_cmp);
    }
    w.b.x = x;
    w.b.part = wb;
    rc = part_parse(&w.b, idx, wb_start, gen_end, NULL, e);
    if (rc)
        goto out;
    if (!x->sheet[0]) {
        rc =
            dp_err_set(e, DP_EINVAL,
                       w.nsheets ? "the workbook has no worksheets" : "the workbook has no sheets");
        goto out;
    }
    if (part_find(x, x->sheet, &x->sheet_idx) != DP_OK)
        rc = dp_err_set(e, DP_EINVAL, "damaged XLSX file: the sheet %s is missing", x->sheet);
out:
    free(w.ws);
    rels_free(&wbr);
    return rc;
}

/* ---- shared strings ----------------------------------------------------- */

struct sst_ctx {
    struct pctx b;
    size_t start; /* where the current item's text starts in x->sst */
};

static void XMLCALL sst_start(void *ud, const XML_Char *name, const XML_Char **a)
{
    struct sst_ctx *s = ud;
    struct pctx *c = &s->b;
    xlsxin *x = c->x;
    const char *ln = local_name(name);
    int par = parent(c);
    c->pos = XML_GetCurrentByteIndex(c->p);
    int kind = K_OTHER;
    if (par < 0) {
        if (strcmp(ln, "sst") != 0) {
            fail(c, DP_EINVAL, "damaged XLSX file: %s is not a shared-string table", c->part);
            return;
        }
        kind = K_ROOT;
    } else if (par == K_ROOT && strcmp(ln, "si") == 0) {
        kind = K_SI;
    } else if ((par == K_SI || par == K_R) && strcmp(ln, "t") == 0) {
        kind = K_T;
    } else if (par == K_SI && strcmp(ln, "r") == 0) {
        kind = K_R;
    } /* rPh (phonetic guide) and its t stay K_OTHER: not part of the value */
    if (push(c, kind) != 0)
        return;
    if (kind != K_SI)
        return;
    if (x->sst_n >= XLSXIN_MAX_SST_COUNT) {
        fail(c, DP_ETOOBIG, "the workbook has more than %u shared strings", XLSXIN_MAX_SST_COUNT);
        return;
    }
    if (x->sst_n == x->sst_alloc) {
        size_t na = x->sst_alloc ? x->sst_alloc * 2 : 1024;
        uint32_t *no = realloc(x->sst_off, na * sizeof *no);
        if (!no) {
            fail(c, DP_ENOMEM, "out of memory");
            return;
        }
        x->sst_off = no;
        x->sst_alloc = na;
    }
    s->start = x->sst.len;
}

static void XMLCALL sst_text(void *ud, const XML_Char *t, int len)
{
    struct sst_ctx *s = ud;
    struct pctx *c = &s->b;
    c->pos = XML_GetCurrentByteIndex(c->p);
    if (parent(c) != K_T || c->rc)
        return;
    if (buf_append(&c->x->sst, t, (size_t)len) != DP_OK)
        fail(c, DP_ETOOBIG, "the shared strings pass %u bytes", XLSXIN_MAX_SST_BYTES);
}

static void XMLCALL sst_end(void *ud, const XML_Char *name)
{
    struct sst_ctx *s = ud;
    struct pctx *c = &s->b;
    xlsxin *x = c->x;
    int kind = parent(c);
    gen_end(ud, name);
    if (kind != K_SI || c->rc)
        return;
    static const char nul = '\0';
    /* A string with an empty table so far has no buffer yet. */
    size_t n = x->sst.len - s->start;
    if (n > 0)
        x->sst.len = s->start + xstr_decode(x->sst.data + s->start, n);
    if (buf_append(&x->sst, &nul, 1) != DP_OK) {
        fail(c, DP_ETOOBIG, "the shared strings pass %u bytes", XLSXIN_MAX_SST_BYTES);
        return;
    }
    x->sst_off[x->sst_n++] = (uint32_t)s->start;
}

static int sst_load(xlsxin *x, const char *part, dp_err *e)
{
    struct sst_ctx s;
    zip_int64_t idx;

    /* Writers that forget the relationship still use the usual name. */
    if (!part[0])
        part = "xl/sharedStrings.xml";
    if (part_find(x, part, &idx) != DP_OK)
        return DP_OK;
    memset(&s, 0, sizeof s);
    s.b.x = x;
    s.b.part = part;
    return part_parse(&s.b, idx, sst_start, sst_end, sst_text, e);
}

/* ---- open / free -------------------------------------------------------- */

/* What to say about bytes that are not a ZIP: the OLE container is what
 * both old .xls files and password-protected .xlsx files are. */
static int not_zip(dp_err *e, const unsigned char *head, size_t n)
{
    static const unsigned char ole[8] = {0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1};
    if (n >= sizeof ole && memcmp(head, ole, sizeof ole) == 0)
        return dp_err_set(e, DP_EINVAL,
                          "not an XLSX file: it is an old .xls file or a password-protected "
                          "workbook (save it as .xlsx without a password)");
    return dp_err_set(e, DP_EINVAL, "not an XLSX file");
}

/* Everything after the archive is open; frees x on failure. */
static int finish_open(xlsxin *x, xlsxin **out, dp_err *e)
{
    char sst[PART_NAME_MAX];
    int rc;

    sst[0] = '\0';
    rc = find_sheet(x, sst, e);
    if (rc)
        goto out;
    rc = sst_load(x, sst, e);
    if (rc)
        goto out;
    *out = x;
    x = NULL;
out:
    xlsxin_free(x);
    return rc;
}

static xlsxin *alloc_x(void)
{
    xlsxin *x = calloc(1, sizeof *x);
    if (x)
        buf_init(&x->sst, XLSXIN_MAX_SST_BYTES);
    return x;
}

int xlsxin_open_mem(const void *data, size_t len, xlsxin **out, dp_err *e)
{
    zip_error_t ze;
    zip_source_t *src = NULL;
    xlsxin *x = NULL;
    int rc = DP_OK;

    *out = NULL;
    zip_error_init(&ze);
    if (len < 4 || memcmp(data, "PK\3\4", 4) != 0) {
        rc = not_zip(e, data, len);
        goto out;
    }
    x = alloc_x();
    if (!x) {
        rc = dp_err_set(e, DP_ENOMEM, "out of memory");
        goto out;
    }
    src = zip_source_buffer_create(data, len, 0, &ze);
    if (!src) {
        rc = dp_err_set(e, DP_ENOMEM, "out of memory");
        goto out;
    }
    x->zip = zip_open_from_source(src, ZIP_RDONLY, &ze);
    if (!x->zip) {
        rc = zip_error_code_zip(&ze) == ZIP_ER_MEMORY
                 ? dp_err_set(e, DP_ENOMEM, "out of memory")
                 : dp_err_set(e, DP_EINVAL,
                              "not an XLSX file (the ZIP archive is damaged or truncated)");
        goto out;
    }
    src = NULL; /* the archive owns it now */
    rc = finish_open(x, out, e);
    x = NULL;
out:
    zip_source_free(src);
    zip_error_fini(&ze);
    xlsxin_free(x);
    return rc;
}

int xlsxin_open_file(const char *path, xlsxin **out, dp_err *e)
{
    unsigned char head[8];
    size_t nh = 0;
    xlsxin *x = NULL;
    FILE *f = NULL;
    int zerr = 0;
    int rc = DP_OK;

    *out = NULL;
    f = fopen(path, "rb");
    if (!f) {
        rc = dp_err_errno(e, path);
        goto out;
    }
    nh = fread(head, 1, sizeof head, f);
    if (nh < 4 || memcmp(head, "PK\3\4", 4) != 0) {
        rc = ferror(f) ? dp_err_errno(e, path) : not_zip(e, head, nh);
        goto out;
    }
    x = alloc_x();
    if (!x) {
        rc = dp_err_set(e, DP_ENOMEM, "out of memory");
        goto out;
    }
    x->zip = zip_open(path, ZIP_RDONLY, &zerr);
    if (!x->zip) {
        if (zerr == ZIP_ER_MEMORY)
            rc = dp_err_set(e, DP_ENOMEM, "out of memory");
        else if (zerr == ZIP_ER_OPEN || zerr == ZIP_ER_READ)
            rc = dp_err_errno(e, path);
        else
            rc = dp_err_set(e, DP_EINVAL,
                            "not an XLSX file (the ZIP archive is damaged or truncated)");
        goto out;
    }
    rc = finish_open(x, out, e);
    x = NULL;
out:
    if (f)
        (void)fclose(f);
    xlsxin_free(x);
    return rc;
}

void xlsxin_free(xlsxin *x)
{
    if (!x)
        return;
    if (x->zip)
        zip_discard(x->zip);
    buf_free(&x->sst);
    free(x->sst_off);
    free(x);
}

const char *xlsxin_sheet_name(const xlsxin *x)
{
    return x->sheet_name;
}

/* ---- the sheet ---------------------------------------------------------- */

struct sheet_ctx {
    struct pctx b;
    xlsxin_row_fn cb;
    void *ud;

    size_t row;      /* number of the row being read */
    size_t prev_row; /* of the previous one, 0 before the first */
    long last_col;   /* column of the previous cell in this row, -1 at start */

    /* The cell being read. */
    size_t col;
    int type;
    int has_value;
    dp_buf cell; /* text of its v, or of its inline string */

    /* The row being assembled: fields each followed by a NUL. */
    dp_buf rowbuf;
    size_t nf;     /* fields placed */
    size_t filled; /* fields up to the last non-empty one */
    size_t offs[XLSXIN_MAX_FIELDS];
    size_t lens[XLSXIN_MAX_FIELDS];
    char *ptrs[XLSXIN_MAX_FIELDS];
};

static void cell_fail(struct sheet_ctx *s, const char *what)
{
    char cn[4];
    col_name(s->col, cn);
    fail(&s->b, DP_ECSV, "row %zu: cell %s%zu %s", s->row, cn, s->row, what);
}

static void row_start(struct sheet_ctx *s, const XML_Char **a)
{
    const char *r = attr(a, "r", 0);
    uint64_t n = s->prev_row + 1;
    if (r && parse_uint(r, strlen(r), SIZE_MAX / 2, &n) != 0) {
        fail(&s->b, DP_EINVAL, "damaged XLSX file: bad row number \"%.32s\" after row %zu", r,
             s->prev_row);
        return;
    }
    if (n <= s->prev_row || n == 0) {
        fail(&s->b, DP_EINVAL, "damaged XLSX file: row %llu comes after row %zu",
             (unsigned long long)n, s->prev_row);
        return;
    }
    s->row = (size_t)n;
    s->last_col = -1;
    s->nf = 0;
    s->filled = 0;
    buf_reset(&s->rowbuf);
}

static void cell_start(struct sheet_ctx *s, const XML_Char **a)
{
    const char *r = attr(a, "r", 0);
    const char *t = attr(a, "t", 0);
    long col = s->last_col + 1;
    if (r) {
        col = ref_col(r);
        if (col < 0) {
            fail(&s->b, DP_EINVAL, "damaged XLSX file: row %zu: bad cell reference \"%.16s\"",
                 s->row, r);
            return;
        }
        if (col <= s->last_col) {
            fail(&s->b, DP_EINVAL, "damaged XLSX file: row %zu: cell %.16s is out of order", s->row,
                 r);
            return;
        }
    }
    s->last_col = col;
    s->col = (size_t)col;
    s->has_value = 0;
    buf_reset(&s->cell);
    s->type = T_N;
    if (!t || strcmp(t, "n") == 0)
        s->type = T_N;
    else if (strcmp(t, "s") == 0)
        s->type = T_S;
    else if (strcmp(t, "str") == 0)
        s->type = T_STR;
    else if (strcmp(t, "inlineStr") == 0)
        s->type = T_INLINE;
    else if (strcmp(t, "b") == 0)
        s->type = T_B;
    else if (strcmp(t, "e") == 0)
        s->type = T_E;
    else if (strcmp(t, "d") == 0)
        s->type = T_D;
    else
        fail(&s->b, DP_EINVAL, "damaged XLSX file: row %zu: unknown cell type \"%.16s\"", s->row,
             t);
}

/* Adds one field to the row; "" fields fill the gap before col. */
static void place(struct sheet_ctx *s, size_t col, const char *v, size_t n)
{
    static const char nul = '\0';
    if (n > XLSXIN_MAX_FIELD) {
        cell_fail(s, "is longer than 65536 bytes");
        return;
    }
    if (col >= XLSXIN_MAX_FIELDS) {
        if (n > 0)
            fail(&s->b, DP_ECSV, "row %zu: more than %d columns", s->row, XLSXIN_MAX_FIELDS);
        return;
    }
    while (s->nf <= col) {
        int last = s->nf == col;
        size_t len = last ? n : 0;
        s->offs[s->nf] = s->rowbuf.len;
        s->lens[s->nf] = len;
        if ((len && buf_append(&s->rowbuf, v, len) != DP_OK) ||
            buf_append(&s->rowbuf, &nul, 1) != DP_OK) {
            fail(&s->b, DP_ENOMEM, "out of memory");
            return;
        }
        s->nf++;
    }
    if (n > 0)
        s->filled = s->nf;
}

static void cell_end(struct sheet_ctx *s)
{
    xlsxin *x = s->b.x;
    char num[NUM_MAX];
    const char *v = s->cell.data ? s->cell.data : "";
    size_t n = s->cell.len;
    uint64_t idx;

    if (!s->has_value)
        return;
    switch (s->type) {
    case T_S:
        trim(&v, &n);
        if (parse_uint(v, n, UINT32_MAX, &idx) != 0 || idx >= x->sst_n) {
            cell_fail(s, "refers to a shared string the workbook does not have");
            return;
        }
        v = x->sst.data + x->sst_off[idx];
        n = (idx + 1 < x->sst_n ? x->sst_off[idx + 1] : x->sst.len) - x->sst_off[idx] - 1;
        break;
    case T_N: {
        trim(&v, &n);
        size_t k = num_plain(v, n, num, sizeof num);
        if (k > 0) {
            v = num;
            n = k;
        }
        break;
    }
    case T_B:
        trim(&v, &n);
        if (n == 1 && v[0] == '1') {
            v = "TRUE";
            n = 4;
        } else if (n == 1 && v[0] == '0') {
            v = "FALSE";
            n = 5;
        }
        break;
    case T_STR:
    case T_INLINE:
        if (n > 0)
            n = xstr_decode(s->cell.data, n);
        break;
    default: /* errors and ISO dates: as written */
        trim(&v, &n);
        break;
    }
    place(s, s->col, v, n);
}

static void row_end(struct sheet_ctx *s)
{
    s->prev_row = s->row;
    if (s->filled == 0)
        return; /* no value anywhere: formatting only, or blank */
    for (size_t i = 0; i < s->filled; i++)
        s->ptrs[i] = s->rowbuf.data + s->offs[i];
    int rc = s->cb ? s->cb(s->ud, s->row, s->filled, s->ptrs, s->lens) : 0;
    if (rc) {
        s->b.rc = rc;
        s->b.internal = 0;
        stop(&s->b);
    }
}

static void XMLCALL sheet_start(void *ud, const XML_Char *name, const XML_Char **a)
{
    struct sheet_ctx *s = ud;
    struct pctx *c = &s->b;
    const char *ln = local_name(name);
    int par = parent(c);
    c->pos = XML_GetCurrentByteIndex(c->p);
    int kind = K_OTHER;
    switch (par) {
    case -1:
        if (strcmp(ln, "worksheet") != 0) {
            fail(c, DP_EINVAL, "damaged XLSX file: %s is not a worksheet", c->part);
            return;
        }
        kind = K_ROOT;
        break;
    case K_ROOT:
        if (strcmp(ln, "sheetData") == 0)
            kind = K_SD;
        break;
    case K_SD:
        if (strcmp(ln, "row") == 0)
            kind = K_ROW;
        break;
    case K_ROW:
        if (strcmp(ln, "c") == 0)
            kind = K_C;
        break;
    case K_C:
        if (strcmp(ln, "v") == 0)
            kind = K_V;
        else if (strcmp(ln, "is") == 0)
            kind = K_IS;
        break;
    case K_IS:
        if (strcmp(ln, "t") == 0)
            kind = K_T;
        else if (strcmp(ln, "r") == 0)
            kind = K_R;
        break;
    case K_R:
        if (strcmp(ln, "t") == 0)
            kind = K_T;
        break;
    default:
        break;
    }
    if (push(c, kind) != 0)
        return;
    if (kind == K_ROW) {
        row_start(s, a);
    } else if (kind == K_C) {
        cell_start(s, a);
    } else if (kind == K_V && s->type != T_INLINE) {
        s->has_value = 1;
        buf_reset(&s->cell); /* a second v replaces the first */
    } else if (kind == K_IS && s->type == T_INLINE) {
        s->has_value = 1;
    }
}

static void XMLCALL sheet_end(void *ud, const XML_Char *name)
{
    struct sheet_ctx *s = ud;
    struct pctx *c = &s->b;
    int kind = parent(c);
    gen_end(ud, name);
    if (c->rc)
        return;
    if (kind == K_C) {
        cell_end(s);
    } else if (kind == K_ROW) {
        row_end(s);
    } else if (kind == K_SD) {
        /* The rest of the part (merged cells, page setup) is not data. */
        c->done = 1;
        stop(c);
    }
}

static void XMLCALL sheet_text(void *ud, const XML_Char *t, int len)
{
    struct sheet_ctx *s = ud;
    struct pctx *c = &s->b;
    int kind = parent(c);
    c->pos = XML_GetCurrentByteIndex(c->p);
    if (c->rc)
        return;
    if ((kind == K_V && s->type != T_INLINE) || (kind == K_T && s->type == T_INLINE)) {
        if (buf_append(&s->cell, t, (size_t)len) != DP_OK)
            cell_fail(s, "is longer than 65536 bytes");
    }
}

int xlsxin_rows(xlsxin *x, xlsxin_row_fn cb, void *ud, dp_err *e)
{
    struct sheet_ctx *s = NULL;
    int rc = DP_OK;

    s = calloc(1, sizeof *s);
    if (!s) {
        rc = dp_err_set(e, DP_ENOMEM, "out of memory");
        goto out;
    }
    s->b.x = x;
    s->b.part = x->sheet;
    s->cb = cb;
    s->ud = ud;
    /* Raw cell text may carry _xHHHH_ escapes that shrink on decoding,
     * but the cap is on what the file holds, which is what costs memory. */
    buf_init(&s->cell, XLSXIN_MAX_FIELD);
    buf_init(&s->rowbuf, (size_t)XLSXIN_MAX_FIELDS * (XLSXIN_MAX_FIELD + 1));
    rc = part_parse(&s->b, x->sheet_idx, sheet_start, sheet_end, sheet_text, e);
out:
    if (s) {
        buf_free(&s->cell);
        buf_free(&s->rowbuf);
        free(s);
    }
    return rc;
}
