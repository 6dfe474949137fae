/* A SQLite store in a fresh temporary directory, for the unit tests that
 * need a real database: made in a test's setup, removed (with its -wal,
 * -shm and -journal files) in its teardown, and the OK() check their store
 * calls share. Failures fail the running test. */
#ifndef DP_TEST_TMPSTORE_H
#define DP_TEST_TMPSTORE_H

#include "store/store.h"
#include "util/err.h"

/* OK(call) fails the test when a store call (or any call taking a dp_err)
 * does not return DP_OK, printing the code and the detail; inside it the
 * call names its dp_err E. */
#define OK(call)                                                                                   \
    do {                                                                                           \
        dp_err e_ = {0};                                                                           \
        int rc_ = (call);                                                                          \
        if (rc_ != DP_OK)                                                                          \
            fail_msg("%s -> %d (%s): %s", #call, rc_, dp_strerror(rc_), e_.msg);                   \
    } while (0)
#define E (&e_)

struct tmpstore {
    char dir[64];   /* /tmp/disparo-TAG-XXXXXX */
    char sub[96];   /* the database's directory: dir, or dir/SUB */
    char path[128]; /* sub/disparo.db, for reopening */
};

/* Creates the directory /tmp/disparo-<tag>-XXXXXX and opens a new store at
 * disparo.db inside it, or inside its subdirectory subdir when subdir is not
 * NULL (left for the store to create). Returns the store, owned by the caller
 * until tmpstore_remove. */
store *tmpstore_open(struct tmpstore *t, const char *tag, const char *subdir);

/* Closes st (NULL when the test already closed it) and removes the database
 * files and the directories tmpstore_open made. */
void tmpstore_remove(struct tmpstore *t, store *st);

#endif
