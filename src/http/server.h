/* The HTTP server: libevent's evhttp on the engine's loop. It checks tokens,
 * parses JSON and hands requests to the API handlers. */
#ifndef DP_SERVER_H
#define DP_SERVER_H

#include "engine/engine.h"
#include "store/store.h"
#include "util/err.h"

struct event_base;
typedef struct server server;

/* listen is "host:port"; port 0 picks a free one. Borrowed: base, eng, st. */
int server_new(struct event_base *base, const char *listen, engine *eng, store *st, server **out,
               dp_err *e) __attribute__((warn_unused_result));
/* The port actually bound. */
int server_port(const server *s);
void server_free(server *s);

#endif
