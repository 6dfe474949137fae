/* The temporary store of tmpstore.h, shared by the store, restriction,
 * report and engine unit tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tmpstore.h"
#include "util/err.h"

store *tmpstore_open(struct tmpstore *t, const char *tag, const char *subdir)
{
    dp_err e = {0};
    store *st = NULL;

    memset(t, 0, sizeof *t);
    snprintf(t->dir, sizeof t->dir, "/tmp/disparo-%s-XXXXXX", tag);
    assert_non_null(mkdtemp(t->dir));
    if (subdir)
        snprintf(t->sub, sizeof t->sub, "%s/%s", t->dir, subdir);
    else
        snprintf(t->sub, sizeof t->sub, "%s", t->dir);
    snprintf(t->path, sizeof t->path, "%s/disparo.db", t->sub);
    if (store_sqlite_open(t->path, &st, &e) != DP_OK)
        fail_msg("open %s: %s", t->path, e.msg);
    return st;
}

void tmpstore_remove(struct tmpstore *t, store *st)
{
    static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
    char p[160];

    if (st)
        st->v->close(st);
    for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
        snprintf(p, sizeof p, "%s%s", t->path, suffix[i]);
        (void)unlink(p);
    }
    if (strcmp(t->sub, t->dir) != 0)
        (void)rmdir(t->sub);
    (void)rmdir(t->dir);
}
