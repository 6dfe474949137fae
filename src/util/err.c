/* The project's error table and its accessors. */
#include "util/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct err_row {
    int code;
    const char *api;
    int http;
    const char *msg;
};

static const struct err_row rows[] = {
#define DP_X_ROW(name, val, api, http, msg) {val, api, http, msg},
    DP_ERRORS(DP_X_ROW)
#undef DP_X_ROW
};

static const struct err_row *find(int code)
{
    const struct err_row *internal = NULL;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (rows[i].code == code)
            return &rows[i];
        if (rows[i].code == DP_EINTERNAL)
            internal = &rows[i];
    }
    return internal; /* an unknown code is a bug: report it as internal */
}

const char *dp_strerror(int code)
{
    return find(code)->msg;
}

const char *dp_err_api_code(int code)
{
    return find(code)->api;
}

int dp_err_http_status(int code)
{
    return find(code)->http;
}

int dp_err_set(dp_err *e, int code, const char *fmt, ...)
{
    if (!e)
        return code;
    e->code = code;
    if (!fmt) {
        snprintf(e->msg, sizeof e->msg, "%s", dp_strerror(code));
        return code;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return code;
}

int dp_err_errno(dp_err *e, const char *what)
{
    int saved = errno;
    int code = saved == ENOMEM ? DP_ENOMEM : DP_EIO;
    return dp_err_set(e, code, "%s: %s", what, strerror(saved));
}

void dp_err_clear(dp_err *e)
{
    if (!e)
        return;
    e->code = DP_OK;
    e->msg[0] = '\0';
}
