/* Capped growable buffer. */
#include "util/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"

void buf_init(dp_buf *b, size_t cap)
{
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
    b->cap = cap;
}

void buf_free(dp_buf *b)
{
    if (!b)
        return;
    free(b->data);
    b->data = NULL;
    b->len = b->alloc = 0;
}

void buf_reset(dp_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

static int grow(dp_buf *b, size_t need)
{
    if (need > b->cap)
        return DP_ETOOBIG;
    if (need + 1 <= b->alloc)
        return DP_OK;
    size_t a = b->alloc ? b->alloc : 64;
    while (a < need + 1)
        a *= 2;
    if (a > b->cap + 1)
        a = b->cap + 1;
    char *p = realloc(b->data, a);
    if (!p)
        return DP_ENOMEM;
    b->data = p;
    b->alloc = a;
    return DP_OK;
}

int buf_append(dp_buf *b, const void *p, size_t n)
{
    int rc = grow(b, b->len + n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return DP_OK;
}

int buf_puts(dp_buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

int buf_vprintf(dp_buf *b, const char *fmt, va_list ap)
{
    va_list cp;
    va_copy(cp, ap);
    int n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0)
        return DP_EINVAL;
    int rc = grow(b, b->len + (size_t)n);
    if (rc)
        return rc;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return DP_OK;
}

int buf_printf(dp_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

char *buf_steal(dp_buf *b)
{
    char *p = b->data;
    if (!p)
        p = calloc(1, 1);
    b->data = NULL;
    b->len = b->alloc = 0;
    return p;
}

const char *buf_str(const dp_buf *b)
{
    return b->data ? b->data : "";
}
