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
struct dp_buf;

typedef struct sender sender; /* one configured gateway account; opaque */

/* Media sent by link: every gateway disparo speaks fetches it from the URL,
 * so nothing is uploaded per message. */
struct sender_media {
    const char *url;
    const char *kind;     /* "image", "video", "audio" or "document" */
    const char *filename; /* for documents; may be NULL */
};

/* A pre-approved template (Cloud API). Body parameters are already resolved
 * from the contact, in the order the campaign declared them. */
struct sender_template {
    const char *name;
    const char *language; /* e.g. "pt_BR" */
    const char *const *params;
    size_t nparams;
    const struct sender_media *header; /* image/video/document header, or NULL */
};

/* A quick-reply button (UAZAPI /send/menu, Cloud API interactive). */
struct sender_button {
    const char *id;
    const char *title;
};

/* What the engine hands a sender for one message. All strings are borrowed
 * for the duration of the send() call only: a sender copies what it keeps. */
struct sender_msg {
    int64_t message_id;
    int64_t campaign_id;
    const char *to;              /* E.164 digits, no '+' */
    const char *text;            /* rendered; the caption when there is media */
    const char *idempotency_key; /* stable across retries of one message */
    int attempt;                 /* 1 for the first try */
    const struct sender_media *media;    /* NULL = none */
    const struct sender_template *tmpl;  /* NULL = not a template message */
    const struct sender_button *buttons; /* nbuttons of them, or NULL */
    size_t nbuttons;
};

enum send_outcome {
    SEND_OK,        /* the gateway accepted the message */
    SEND_TRANSIENT, /* not sent; retrying later may work (network, 429, 5xx, idempotent timeout) */
    SEND_PERMANENT, /* not sent; retrying will not help */
    SEND_AMBIGUOUS, /* may or may not have been sent (timeout on a non-idempotent gateway) */
};

/* What a failure says beyond retry-or-not, for the engine to act on. */
enum send_action {
    ACT_NONE,
    ACT_STOP_SENDER,  /* the account cannot send (banned, token expired, payment, policy):
                         out of every campaign's rotation, with the reason, until healthy */
    ACT_UNAVAILABLE,  /* the gateway is disconnected: the message goes back to `queued`
                         without counting an attempt; the sender rests until healthy */
    ACT_BAD_TEMPLATE, /* the campaign's message itself is refused (template missing,
                         paused, wrong parameters): after 3 the campaign pauses */
};

struct send_result {
    enum send_outcome outcome;
    int sender_fault;       /* the failure says the account/gateway is sick, not the recipient */
    enum send_action action;
    int no_whatsapp;        /* the gateway says this number has no WhatsApp */
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
    /* An inbound message from a contact: a text, or a button click (button_id
     * set). context_id is the provider id of the message it answers, if the
     * gateway says; NULL otherwise. Strings are borrowed for the call. */
    void (*inbound)(void *ud, int64_t sender_id, const char *from, const char *text,
                    const char *button_id, const char *context_id);
    /* The gateway says, outside a send's own answer (in a receipt), that this
     * number has no WhatsApp. May be NULL. */
    void (*no_whatsapp)(void *ud, int64_t sender_id, const char *phone);
};

/* A gateway's callback to /webhooks/{sender_id}[/{secret}], as received. */
struct sender_webhook_req {
    const char *method;      /* "GET" or "POST" */
    const char *query;       /* raw query string, or NULL */
    const char *path_secret; /* what follows /webhooks/{id}/, or NULL */
    const char *body;
    size_t body_len;
    /* Request header by name (case-insensitive), NULL when absent. */
    const char *(*header)(const void *ctx, const char *name);
    const void *ctx;
};

/* A gateway account's health, as its own status API reports it. */
struct sender_health {
    int ok;           /* 1 = may send */
    char state[32];   /* gateway's word: "CONNECTED", "GREEN", "FLAGGED", "disconnected"... */
    char detail[256];
};
typedef void (*sender_health_fn)(void *ud, const struct sender_health *h);

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
    /* Handles a callback from the gateway: checks its signature or secret,
     * reports each receipt and inbound message through the hooks, and sets
     * the HTTP status and reply body (capped). A request that fails the
     * check gets 401 (403 for a failed subscription check) and changes
     * nothing. NULL when the gateway sends no callbacks. */
    int (*webhook)(sender *s, const struct sender_webhook_req *req, int *status,
                   struct dp_buf *reply);
    /* Asks the gateway whether the account can send; done follows later,
     * exactly once. NULL when there is nothing to ask. */
    int (*health)(sender *s, sender_health_fn done, void *ud);
    /* Whether a timeout may be retried safely (the gateway deduplicates):
     * when 0 a timed-out send is SEND_AMBIGUOUS. */
    int idempotent;
    /* rate_per_second given to a new sender that names none (0 = unlimited):
     * 80 for the Cloud API, Meta's default throughput. */
    double default_rate;
    /* The least time between two messages to one phone from one sender
     * (Meta's pair rate limit: 6 s); 0 = no spacing. */
    int64_t pair_gap_ms;
};

/* The registry of providers. Returns NULL for an unknown name. */
const struct sender_vtab *sender_find(const char *provider);
/* NULL-terminated list of every provider, for error messages and docs. */
const struct sender_vtab *const *sender_all(void);

#endif
