/* Fake HTTP servers for the unit tests: an evhttp on 127.0.0.1 with a port
 * the kernel picks, in the test's own event loop, and what every fake gateway
 * needs around it: answering now or later, dropping a connection, copying
 * what a request carried, running the loop until something happened, and the
 * sender_env a sender under test gets. Failures fail the running test. */
#ifndef DP_TEST_FAKEHTTP_H
#define DP_TEST_FAKEHTTP_H

#include <stddef.h>

struct event_base;
struct evhttp;
struct evhttp_request;
struct sender_env;
struct sender_hooks;

typedef void (*fakehttp_cb)(struct evhttp_request *req, void *arg);

/* Starts an evhttp on 127.0.0.1:0 in base that hands every request to
 * cb(req, arg), and stores its port in *port. methods is evhttp's mask of
 * allowed methods, 0 for evhttp's default. The caller frees it (evhttp_free). */
struct evhttp *fakehttp_listen(struct event_base *base, fakehttp_cb cb, void *arg, int methods,
                               int *port);

/* A port on 127.0.0.1 that nothing listens on: connecting to it is refused. */
int fakehttp_dead_port(void);

/* Runs base until *counter reaches want; fails the test after 10 s. */
void fakehttp_run_until(struct event_base *base, const int *counter, int want);
/* Runs base for ms milliseconds. */
void fakehttp_run_for(struct event_base *base, int ms);

/* Answers req: status (reason "X"), body (NULL for none) and, when not NULL,
 * Content-Type and Retry-After. Strings are borrowed for the call. */
void fakehttp_reply(struct evhttp_request *req, int status, const char *content_type,
                    const char *body, const char *retry_after);
/* fakehttp_reply ms milliseconds from now (at once when ms <= 0). The strings
 * are copied; the test lets every delayed answer arrive. */
void fakehttp_reply_later(struct event_base *base, struct evhttp_request *req, int ms, int status,
                          const char *content_type, const char *body, const char *retry_after);
/* Closes req's connection without an answer on the next loop turn: not from
 * inside the request callback, where evhttp still holds the connection. */
void fakehttp_drop(struct event_base *base, struct evhttp_request *req);

/* Copies req's body into dst (size bytes), cut to fit and NUL-terminated;
 * returns how many bytes were copied. */
size_t fakehttp_body(struct evhttp_request *req, char *dst, size_t size);
/* Copies the value of req's header name into dst ("" when absent); 1 when
 * the header is there, even empty. */
int fakehttp_header(struct evhttp_request *req, const char *name, char *dst, size_t size);
/* req's method: "GET", "POST", "PUT", "DELETE", or "OTHER". A static string. */
const char *fakehttp_method(struct evhttp_request *req);

/* Fills env for a sender under test on base: a new httpc and new timers,
 * hooks borrowed (they must outlive env). Free with fakehttp_env_free. */
void fakehttp_env(struct sender_env *env, struct event_base *base,
                  const struct sender_hooks *hooks);
/* Frees the httpc and the timers of fakehttp_env, after the sender. */
void fakehttp_env_free(struct sender_env *env);

#endif
