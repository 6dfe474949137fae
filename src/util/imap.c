/* int64 → int64 hash map. */
#include "util/imap.h"

#include <stdlib.h>

#include "util/err.h"

static size_t slot(const imap *m, int64_t key)
{
    uint64_t h = (uint64_t)key * 0x9E3779B97F4A7C15ull;
    h ^= h >> 29;
    return (size_t)h & (m->cap - 1);
}

void imap_init(imap *m)
{
    m->keys = m->vals = NULL;
    m->used = NULL;
    m->n = m->cap = 0;
}

void imap_free(imap *m)
{
    free(m->keys);
    free(m->vals);
    free(m->used);
    imap_init(m);
}

int imap_get(const imap *m, int64_t key, int64_t *val)
{
    if (m->cap == 0)
        return 0;
    for (size_t i = slot(m, key);; i = (i + 1) & (m->cap - 1)) {
        if (!m->used[i])
            return 0;
        if (m->keys[i] == key) {
            if (val)
                *val = m->vals[i];
            return 1;
        }
    }
}

static int grow(imap *m)
{
    size_t nc = m->cap ? m->cap * 2 : 16;
    imap nm = {.keys = malloc(nc * sizeof(int64_t)),
               .vals = malloc(nc * sizeof(int64_t)),
               .used = calloc(nc, 1),
               .n = 0,
               .cap = nc};
    if (!nm.keys || !nm.vals || !nm.used) {
        imap_free(&nm);
        return DP_ENOMEM;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->used[i])
            continue;
        size_t j = slot(&nm, m->keys[i]);
        while (nm.used[j])
            j = (j + 1) & (nc - 1);
        nm.used[j] = 1;
        nm.keys[j] = m->keys[i];
        nm.vals[j] = m->vals[i];
        nm.n++;
    }
    imap_free(m);
    *m = nm;
    return DP_OK;
}

int imap_put(imap *m, int64_t key, int64_t val)
{
    if ((m->n + 1) * 4 > m->cap * 3) {
        int rc = grow(m);
        if (rc)
            return rc;
    }
    size_t i = slot(m, key);
    while (m->used[i] && m->keys[i] != key)
        i = (i + 1) & (m->cap - 1);
    if (!m->used[i]) {
        m->used[i] = 1;
        m->keys[i] = key;
        m->n++;
    }
    m->vals[i] = val;
    return DP_OK;
}

int imap_del(imap *m, int64_t key)
{
    if (m->cap == 0)
        return 0;
    size_t mask = m->cap - 1, i = slot(m, key);
    while (m->used[i] && m->keys[i] != key)
        i = (i + 1) & mask;
    if (!m->used[i])
        return 0;
    /* Backward-shift: pull later members of the probe run into the hole. */
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!m->used[j])
            break;
        size_t k = slot(m, m->keys[j]);
        int between = (i <= j) ? (i < k && k <= j) : (i < k || k <= j);
        if (between)
            continue;
        m->keys[i] = m->keys[j];
        m->vals[i] = m->vals[j];
        i = j;
    }
    m->used[i] = 0;
    m->n--;
    return 1;
}
