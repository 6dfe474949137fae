/* A hash map from int64 keys to int64 values (open addressing, linear
 * probing, backward-shift deletion so there are no tombstones). Used for ids
 * (campaign id → runner) and phones (E.164 digits fit in 64 bits). */
#ifndef DP_IMAP_H
#define DP_IMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct imap {
    int64_t *keys;
    int64_t *vals;
    unsigned char *used;
    size_t n, cap; /* cap is a power of two or 0 */
} imap;

void imap_init(imap *m);
void imap_free(imap *m);
/* Returns 1 and sets *val when found. */
int imap_get(const imap *m, int64_t key, int64_t *val);
/* Inserts or replaces; DP_OK or DP_ENOMEM. */
int imap_put(imap *m, int64_t key, int64_t val) __attribute__((warn_unused_result));
/* Returns 1 when the key was there. */
int imap_del(imap *m, int64_t key);
/* Iteration: for (size_t i = 0; i < m->cap; i++) if (m->used[i]) ... */

#endif
