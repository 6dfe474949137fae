/* One error type for the whole project: a negative code from one table, plus a
 * bounded human-readable detail. Functions that can fail return DP_OK (0) or a
 * negative dp_code and, when the caller passes a dp_err, fill in the detail. */
#ifndef DP_ERR_H
#define DP_ERR_H

#include <stddef.h>

/* X(name, value, api code, http status, default message) */
#define DP_ERRORS(X)                                                                               \
    X(DP_OK, 0, "ok", 200, "ok")                                                                   \
    X(DP_EINVAL, -1, "bad_request", 400, "invalid request")                                      \
    X(DP_EJSON, -2, "invalid_json", 400, "malformed JSON")                                         \
    X(DP_ECSV, -3, "invalid_csv", 400, "malformed CSV")                                            \
    X(DP_ENOTFOUND, -4, "not_found", 404, "not found")                                             \
    X(DP_ECONFLICT, -5, "conflict", 409, "conflict")                                               \
    X(DP_EAUTH, -6, "unauthorized", 401, "missing or invalid token")                               \
    X(DP_ETOOBIG, -7, "payload_too_large", 413, "payload too large")                               \
    X(DP_ENOMEM, -8, "internal", 500, "out of memory")                                             \
    X(DP_EIO, -9, "internal", 500, "I/O error")                                                    \
    X(DP_EDB, -10, "internal", 500, "database error")                                              \
    X(DP_EMISSINGVARS, -11, "missing_vars", 400, "template variables missing")                     \
    X(DP_ETRANSITION, -12, "invalid_transition", 409, "transition not allowed")                    \
    X(DP_ENET, -13, "network", 502, "network error")                                               \
    X(DP_EINTERNAL, -14, "internal", 500, "internal error")                                        \
    X(DP_EFORBIDDEN, -15, "forbidden", 403, "not allowed for this token")

typedef enum dp_code {
#define DP_X_ENUM(name, val, api, http, msg) name = val,
    DP_ERRORS(DP_X_ENUM)
#undef DP_X_ENUM
} dp_code;

#define DP_ERR_DETAIL_MAX 256

typedef struct dp_err {
    int code;                      /* a dp_code */
    char msg[DP_ERR_DETAIL_MAX];   /* human detail, always NUL-terminated */
} dp_err;

const char *dp_strerror(int code);
/* The stable machine-readable name the API puts in error.code. */
const char *dp_err_api_code(int code);
int dp_err_http_status(int code);

/* Records code and a printf-style detail into e (which may be NULL); returns
 * code so callers can write `return dp_err_set(e, DP_EINVAL, "...")`. */
int dp_err_set(dp_err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Converts errno after a failed system call. */
int dp_err_errno(dp_err *e, const char *what);
void dp_err_clear(dp_err *e);

#endif
