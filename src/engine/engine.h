/* The campaign engine: every campaign is paced by its own timer in the one
 * event loop, senders are shared fairly through per-sender token buckets and
 * wait queues, and every message's state goes through the store before a
 * gateway hears of it. HTTP handlers drive it through these functions; the
 * engine never calls back into HTTP. */
#ifndef DP_ENGINE_H
#define DP_ENGINE_H

#include <jansson.h>
#include <stdint.h>

#include "store/store.h"
#include "util/err.h"

struct event_base;
typedef struct engine engine;

struct engine_opts {
    const char *country_code; /* default country code for national numbers, e.g. "55" */
    int64_t health_period_ms; /* how often a healthy gateway is asked; 0 = 3 min */
    int64_t hold_recheck_ms;  /* how often a held one is; 0 = 30 s */
};

/* Borrowed: base and st outlive the engine. */
int engine_new(struct event_base *base, store *st, const struct engine_opts *o, engine **out,
               dp_err *e) __attribute__((warn_unused_result));
/* Stops timers and abandons sends in flight (their messages stay `sending`
 * and become `unknown` on the next start, exactly as after a crash, unless
 * they were committed as finished first). Accepts NULL. */
void engine_free(engine *eng);
/* Loads senders and live campaigns, recovering what a crash left `sending`. */
int engine_start(engine *eng, dp_err *e) __attribute__((warn_unused_result));
/* Makes everything the engine did so far durable and hands claimed messages
 * to their senders. API handlers call it before they write, so a rollback of
 * their own work never undoes the engine's. */
int engine_flush(engine *eng, dp_err *e) __attribute__((warn_unused_result));
/* Finishes work in flight for up to timeout_ms, then flushes (graceful stop). */
void engine_drain(engine *eng, int timeout_ms);

/* A sender row changed (created, updated, deleted) and was committed. */
int engine_sender_changed(engine *eng, int64_t sender_id, dp_err *e);
struct sender_webhook_req;
struct dp_buf;
/* A gateway's callback for a sender (public: the sender checks the
 * signature or secret). Receipts and replies it carries are committed
 * before this returns, so a 2xx tells the gateway nothing will be lost.
 * DP_ENOTFOUND when the sender does not exist or takes no callbacks. */
int engine_webhook(engine *eng, int64_t sender_id, const struct sender_webhook_req *req,
                   int *status, struct dp_buf *reply, dp_err *e);

/* Sends one message through a sender, outside any campaign, to check its
 * configuration (POST /senders/{id}/test). done(ud, result) follows later,
 * unless the engine is freed first. DP_ENOTFOUND when the sender is not in
 * workspace ws; DP_EINVAL when the sender refuses the message outright. */
struct send_result;
typedef void (*engine_test_fn)(void *ud, const struct send_result *r);
int engine_sender_test(engine *eng, int64_t ws, int64_t sender_id, const char *phone,
                       const char *text, engine_test_fn done, void *ud, dp_err *e);
/* Forgets the callback of a test whose caller went away. */
void engine_sender_test_cancel(engine *eng, void *ud);

/* What the engine knows of a sender's health, for the API (new reference):
 * {in_rotation, held_reason, state, detail, checked_at}. */
json_t *engine_sender_health(engine *eng, int64_t sender_id);

/* Whether a sender id exists (and is not deleted) in workspace ws. */
int engine_sender_exists(engine *eng, int64_t ws, int64_t sender_id);

enum camp_action { CA_START, CA_PAUSE, CA_RESUME, CA_CANCEL };
int engine_campaign_action(engine *eng, int64_t ws, int64_t id, enum camp_action a, dp_err *e);
/* Creates a campaign from an API body. On DP_EMISSINGVARS, *missing (new
 * reference) maps each variable to how many contacts lack it. */
int engine_campaign_create(engine *eng, int64_t ws, const json_t *body, int64_t *id,
                           json_t **missing, dp_err *e);
int engine_campaign_patch(engine *eng, int64_t ws, int64_t id, const json_t *body, dp_err *e);
/* Renders the template for a few contacts: {"previews": [...], "missing": {...}}. */
int engine_campaign_preview(engine *eng, int64_t ws, const json_t *body, json_t **out,
                            dp_err *e);
/* Fills in what only the running engine knows (live counts, state_reason,
 * next_send_at) on a row just read from the store. */
void engine_campaign_overlay(engine *eng, struct st_campaign *c);

/* Restriction entries were added or removed outside the engine (the API):
 * the engine re-reads whether any exist, which decides if sends look them
 * up at all. */
void engine_restrictions_changed(engine *eng);

/* engine_campaign_create, also giving (when restricted is not NULL, on
 * success) what restriction lists hold of the audience right now:
 * {"total", "by_list": {name: n}, "excluded"}. A contact counts when an
 * active entry would skip it whichever of the campaign's senders sends:
 * a global entry, or entries for every one of its senders; it is counted
 * once, under the list of the oldest such entry. With "exclude_restricted":
 * true in body those contacts get no message at all (excluded = total). */
int engine_campaign_create_ex(engine *eng, int64_t ws, const json_t *body, int64_t *id,
                              json_t **missing, json_t **restricted, dp_err *e);

/* The default country code for national phone numbers ("55"). */
const char *engine_country_code(engine *eng);

/* Live figures for metrics and tests. */
struct engine_stats {
    int64_t campaigns_loaded;
    int64_t in_flight;
    int64_t sent_total;
    int64_t commits;
};
void engine_stats(engine *eng, struct engine_stats *out);

#endif
