/* The sender interface: one implementation per gateway (sandbox, webhook, and
 * later cloudapi, uazapi, evolution), each in its own file, all behind this
 * table of function pointers. A sender only talks to its gateway: it never
 * touches the store; results, receipts and inbound replies go back to the
 * engine through callbacks. Everything runs on the engine's event loop. */
#ifndef DP_SENDER_H
#define DP_SENDER_H

#include <jansson.h>
#include <stdint.h>

#include "util/err.h"

struct event_base;
struct dp_timers;
struct httpc;

typedef struct sender sender; /* one configured gateway account; opaque */

/* What the engine hands a sender for one message. All strings are borrowed
 * for the duration of the send() call only: a sender copies what it keeps. */
struct sender_msg {
    int64_t message_id;
    int64_t campaign_id;
    const char *to;              /* E.164 digits, no '+' */
    const char *text;            /* rendered */
    const char *idempotency_key; /* stable across retries of one message */
    int attempt;                 /* 1 for the first try */
};

enum send_outcome {
    SEND_OK,        /* the gateway accepted the message */
    SEND_TRANSIENT, /* not sent; retrying later may work (network, 429, 5xx, idempotent timeout) */
    SEND_PERMANENT, /* not sent; retrying will not help */
    SEND_AMBIGUOUS, /* may or may not have been sent (timeout on a non-idempotent gateway) */
};

struct send_result {
    enum send_outcome outcome;
    int sender_fault;       /* the failure says the account/gateway is sick, not the recipient */
    int64_t retry_after_ms; /* gateway's Retry-After, 0 if none */
    char provider_id[128];  /* on SEND_OK, the gateway's message id ("" if none) */
    char code[64];          /* short machine code on failure, e.g. "http_400", "timeout" */
    char detail[256];       /* human detail on failure */
};

/* Message status values that receipts may report (same order as the store's). */
enum receipt_status { RECEIPT_SENT, RECEIPT_DELIVERED, RECEIPT_READ, RECEIPT_FAILED };

/* How senders reach back into the engine. */
struct sender_hooks {
    void *ud;
    /* A gateway receipt for a message this sender sent earlier. */
    void (*receipt)(void *ud, int64_t sender_id, const char *provider_id, enum receipt_status st,
                    const char *code, const char *detail);
    /* An inbound message from a contact. */
    void (*inbound)(void *ud, int64_t sender_id, const char *from, const char *text);
};

/* What every sender instance may use; all borrowed, outliving the sender. */
struct sender_env {
    struct event_base *base;
    struct dp_timers *timers;
    struct httpc *http;
    const struct sender_hooks *hooks;
};

/* Called exactly once per accepted send(), always from the event loop and
 * never from inside send() itself. */
typedef void (*sender_done_fn)(void *ud, const struct send_result *r);

struct sender_vtab {
    const char *provider; /* "sandbox", "webhook", ... */
    /* Checks a config object and fills in defaults, in place. On a bad or
     * missing field returns DP_EINVAL with e naming it ("config.url is required"). */
    int (*validate)(json_t *config, dp_err *e);
    /* Config keys whose values are secrets: accepted, never shown. NULL-terminated. */
    const char *const *secret_fields;
    /* Builds an instance from a validated config (borrowed; copy what you keep). */
    int (*create)(const struct sender_env *env, int64_t id, const json_t *config, sender **out,
                  dp_err *e);
    /* Frees the instance. Sends still in flight are abandoned: their done
     * callbacks are not called. Accepts NULL. */
    void (*destroy)(sender *s);
    /* Starts sending m; done(ud, result) follows later. Returns DP_OK, or an
     * error when the send could not even be started (done is then not called). */
    int (*send)(sender *s, const struct sender_msg *m, sender_done_fn done, void *ud);
    /* How many sends may be in flight at once for this instance (0 = no limit). */
    int (*max_in_flight)(const sender *s);
};

/* The registry of providers. Returns NULL for an unknown name. */
const struct sender_vtab *sender_find(const char *provider);
/* NULL-terminated list of every provider, for error messages and docs. */
const struct sender_vtab *const *sender_all(void);

#endif
