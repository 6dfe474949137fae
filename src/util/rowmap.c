/* Column mapping for contact imports (rowmap.h): the header is copied once,
 * so each data row costs one pass over its fields. */
#include "util/rowmap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct rowmap {
    int phone_col, name_col; /* -1 when absent */
    size_t ncols;
    char *cols[ROWMAP_MAX_COLS];
    size_t lens[ROWMAP_MAX_COLS];
};

int rowmap_new(rowmap **out, const char *phone_header, size_t line, size_t n, char **f,
               const size_t *lens, dp_err *e)
{
    const char *want = phone_header ? phone_header : "phone";
    rowmap *m = calloc(1, sizeof *m);
    *out = NULL;
    if (!m)
        return dp_err_set(e, DP_ENOMEM, NULL);
    *out = m;
    m->phone_col = m->name_col = -1;
    if (n > ROWMAP_MAX_COLS)
        return dp_err_set(e, DP_ECSV, "line %zu: more than %d columns", line, ROWMAP_MAX_COLS);
    for (size_t i = 0; i < n; i++) {
        /* memcpy, not strndup: a cell may hold a NUL byte */
        m->cols[i] = malloc(lens[i] + 1);
        if (!m->cols[i])
            return dp_err_set(e, DP_ENOMEM, NULL);
        memcpy(m->cols[i], f[i], lens[i]);
        m->cols[i][lens[i]] = '\0';
        m->lens[i] = lens[i];
        m->ncols = i + 1;
        if (m->phone_col < 0 && strcasecmp(m->cols[i], want) == 0)
            m->phone_col = (int)i;
        else if (m->name_col < 0 && strcasecmp(m->cols[i], "name") == 0)
            m->name_col = (int)i;
    }
    if (m->phone_col >= 0)
        return DP_OK;
    /* the headers seen go into the message, cut to fit */
    char seen[160] = "";
    size_t used = 0;
    for (size_t i = 0; i < n && used < sizeof seen; i++) {
        int w = snprintf(seen + used, sizeof seen - used, "%s\"%s\"", i ? ", " : "", m->cols[i]);
        used += w > 0 ? (size_t)w : 0;
    }
    return dp_err_set(e, DP_ECSV,
                      "line %zu: no \"%s\" column in the header (headers: %s); name the phone "
                      "column with ?phone_column=",
                      line, want, n ? seen : "none");
}

json_t *rowmap_headers(const rowmap *m)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < m->ncols; i++)
        json_array_append_new(a, json_stringn(m->cols[i], m->lens[i]));
    return a;
}

static const char *cell(int col, size_t n, char **f, const size_t *lens)
{
    if (col < 0 || (size_t)col >= n || lens[col] == 0)
        return NULL;
    return f[col];
}

const char *rowmap_phone(const rowmap *m, size_t n, char **f, const size_t *lens)
{
    return cell(m->phone_col, n, f, lens);
}

const char *rowmap_name(const rowmap *m, size_t n, char **f, const size_t *lens)
{
    return cell(m->name_col, n, f, lens);
}

json_t *rowmap_vars(const rowmap *m, size_t n, char **f, const size_t *lens)
{
    json_t *vars = json_object();
    for (size_t i = 0; vars && i < n && i < m->ncols; i++) {
        if ((int)i == m->phone_col || (int)i == m->name_col || !m->cols[i][0])
            continue;
        /* a cell or header that is not UTF-8 is left out rather than the row */
        (void)json_object_set_new(vars, m->cols[i], json_stringn(f[i], lens[i]));
    }
    return vars;
}

void rowmap_free(rowmap *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->ncols; i++)
        free(m->cols[i]);
    free(m);
}
