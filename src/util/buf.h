/* A growable byte buffer with a hard cap (after curl's dynbuf): anything that
 * network input can grow is bounded by the cap given at init. The content is
 * always NUL-terminated so it can be used as a C string. */
#ifndef DP_BUF_H
#define DP_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct dp_buf {
    char *data; /* owned; NULL until the first append */
    size_t len;
    size_t alloc;
    size_t cap; /* the most len may ever reach */
} dp_buf;

void buf_init(dp_buf *b, size_t cap);
/* Frees the memory; the buffer can be reused after buf_init. Accepts NULL. */
void buf_free(dp_buf *b);
/* Keeps the allocation, empties the content. */
void buf_reset(dp_buf *b);
/* Return DP_OK, DP_ETOOBIG when the cap would be passed (nothing is appended),
 * or DP_ENOMEM. */
int buf_append(dp_buf *b, const void *p, size_t n) __attribute__((warn_unused_result));
int buf_puts(dp_buf *b, const char *s) __attribute__((warn_unused_result));
int buf_printf(dp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)))
__attribute__((warn_unused_result));
int buf_vprintf(dp_buf *b, const char *fmt, va_list ap) __attribute__((warn_unused_result));
/* Hands the content to the caller (who frees it) and empties the buffer. */
char *buf_steal(dp_buf *b);
/* The content as a C string ("" when empty); borrowed. */
const char *buf_str(const dp_buf *b);

#endif
