/* The store interface: everything disparo keeps on disk goes through this
 * table of function pointers, so the engine and the API do not know whether
 * SQLite (store/sqlite.c, the default) or PostgreSQL (later) is underneath.
 *
 * Transactions are batched for throughput: the first write after a commit
 * opens a transaction, and every later write joins it until commit() is
 * called. The engine commits once per turn of the event loop, before any
 * message it marked `sending` in that turn is handed to a sender; API
 * handlers that change data commit before they answer. Reads see the
 * connection's own uncommitted writes. The store is used from one thread.
 *
 * Times are wall-clock milliseconds since the Unix epoch; 0 means "none".
 * Functions return DP_OK or a negative dp_code (DP_ENOTFOUND when a row does
 * not exist, DP_ECONFLICT on a unique name, DP_EDB otherwise) with detail in e.
 * Strings in row structs filled by the store are owned by the row: release
 * them with the matching *_row_clear() function. */
#ifndef DP_STORE_H
#define DP_STORE_H

#include <jansson.h>
#include <stdint.h>

#include "util/err.h"

typedef struct store store;

enum msg_status {
    MS_QUEUED,
    MS_SENDING,
    MS_SENT,
    MS_DELIVERED,
    MS_READ,
    MS_FAILED,
    MS_SKIPPED,
    MS_UNKNOWN,
    MS__COUNT
};

enum camp_status { CS_DRAFT, CS_SCHEDULED, CS_RUNNING, CS_PAUSED, CS_COMPLETED, CS_CANCELLED, CS__COUNT };

const char *msg_status_name(int st);
int msg_status_parse(const char *s); /* -1 if unknown */
const char *camp_status_name(int st);
int camp_status_parse(const char *s);

struct st_sender {
    int64_t id, ws;
    char *name;
    char *provider;
    json_t *config; /* full config, secrets included */
    double rate_per_second;
    int64_t daily_limit;
    int active; /* 1 = active, 0 = disabled */
    int64_t created_at;
};
void st_sender_clear(struct st_sender *s);

struct st_campaign {
    int64_t id, ws;
    char *name;
    int status;          /* enum camp_status */
    char *state_reason;  /* NULL when not waiting */
    json_t *spec;        /* message, sender_ids, audience, window, interval, pause, options */
    int64_t start_at, created_at, started_at, finished_at, next_send_at;
    int64_t sends_since_rest; /* pacing state that survives a restart */
    int64_t rest_until;
    int64_t counts[MS__COUNT]; /* as last committed plus this transaction's deltas */
    int64_t total;
    int64_t replied, clicked; /* messages answered, and answered with a button */
};
void st_campaign_clear(struct st_campaign *c);

struct st_message {
    int64_t id, campaign_id;
    char *phone;
    char *name;      /* may be NULL */
    char *vars;      /* JSON object text, may be NULL */
    int status;      /* enum msg_status */
    int attempts;
    int64_t sender_id; /* 0 = none yet */
    char *provider_id; /* may be NULL */
    char *error_code;  /* may be NULL */
    char *error_detail;
    int64_t queued_at, sent_at, delivered_at, read_at, failed_at;
    int64_t next_attempt_at; /* a queued message waiting for a retry */
    char *reply;     /* the contact's last answer, may be NULL */
    char *button_id; /* the button it clicked, may be NULL */
    int64_t replied_at, clicked_at;
};
void st_message_clear(struct st_message *m);

struct st_event {
    int64_t id, campaign_id, at;
    const char *type;   /* borrowed during the callback */
    const char *detail; /* JSON object text, borrowed during the callback */
};

struct st_list {
    int64_t id, ws;
    const char *name; /* borrowed during the callback / until the next call */
    int64_t members;
    int64_t created_at;
};

/* A contact as the store keeps it; strings borrowed during the callback
 * (name and vars may be NULL; vars is JSON object text). */
struct st_contact {
    int64_t id, ws;
    const char *phone;
    const char *name;
    const char *vars;
    int64_t created_at, updated_at;
};

/* Iteration callbacks return 0 to go on, nonzero to stop (that value is returned). */
typedef int (*st_sender_cb)(void *ud, const struct st_sender *s);
typedef int (*st_campaign_cb)(void *ud, const struct st_campaign *c);
typedef int (*st_message_cb)(void *ud, const struct st_message *m);
typedef int (*st_event_cb)(void *ud, const struct st_event *ev);
typedef int (*st_list_cb)(void *ud, const struct st_list *l);
/* A list member: borrowed strings; vars is JSON object text or NULL. */
typedef int (*st_member_cb)(void *ud, const char *phone, const char *name, const char *vars);
typedef int (*st_contact_cb)(void *ud, const struct st_contact *c);
/* A message sent to a contact, with the name of its campaign (borrowed). */
typedef int (*st_history_cb)(void *ud, const struct st_message *m, const char *campaign_name);
typedef int (*st_recipient_cb)(void *ud, const char *phone, int64_t at);
typedef int (*st_receipt_cb)(void *ud, int status, int64_t at, const char *code,
                             const char *detail);

/* A restriction list with how many entries apply now (not expired). */
#define RLIST_NAME_MAX 64
struct st_rlist {
    int64_t id, ws;
    char name[RLIST_NAME_MAX + 1];
    int64_t retention_days; /* 0 = permanent */
    int builtin;            /* do_not_disturb, blocked, not_interested, no_whatsapp */
    int64_t entries;        /* active at the `now` given to the call */
    int64_t created_at;
};
/* A restriction entry; strings borrowed during the callback. */
struct st_rentry {
    int64_t id, list_id, sender_id; /* sender_id 0 = every sender */
    const char *list, *phone, *reason, *source; /* reason may be NULL */
    int64_t created_at, expires_at;             /* expires_at 0 = never */
};
/* Which entries restriction_entries() walks. */
struct st_rentry_filter {
    int64_t list_id;         /* 0 = every list of the workspace */
    const char *phone, *alt; /* NULL = any phone; alt (may be NULL) = its other form */
    int64_t sender_id;       /* -1 = any, 0 = global entries only, else that sender's */
    int64_t after;           /* entry id, exclusive: keyset pagination */
    int64_t limit;           /* 0 = all */
    int64_t now;             /* entries with 0 < expires_at <= now are expired */
    int include_expired;
};
/* A keyword rule with its id; strings borrowed during the callback. */
struct st_kwrule {
    int64_t id;
    const char *keyword, *match, *list;
    int case_sensitive;
    int64_t created_at;
};
typedef int (*st_rlist_cb)(void *ud, const struct st_rlist *l);
typedef int (*st_rentry_cb)(void *ud, const struct st_rentry *r);
typedef int (*st_kwrule_cb)(void *ud, const struct st_kwrule *k);

struct store_vtab {
    const char *name; /* "sqlite" */
    void (*close)(store *st);
    int (*commit)(store *st, dp_err *e);
    void (*rollback)(store *st);
    int (*in_transaction)(store *st);

    /* First start: when no workspace exists, creates workspace 1, a sandbox
     * sender named "sandbox" and an admin token with this SHA-256 hex hash;
     * *created says whether it did. Commits. */
    int (*bootstrap)(store *st, const char *admin_token_hash, int *created, dp_err *e);
    /* A new workspace with its own sandbox sender, like the first one. */
    int (*workspace_create)(store *st, const char *name, int64_t *id, dp_err *e);
    int (*token_create)(store *st, int64_t ws, const char *name, const char *hash, int64_t *id,
                        dp_err *e);
    /* DP_ENOTFOUND when no token has this hash. */
    int (*token_lookup)(store *st, const char *hash, int64_t *ws, dp_err *e);

    int (*sender_create)(store *st, struct st_sender *s, dp_err *e); /* sets s->id, created_at */
    /* ws = 0 matches any workspace (the engine's view). Deleted senders are not found. */
    int (*sender_get)(store *st, int64_t ws, int64_t id, struct st_sender *out, dp_err *e);
    int (*sender_list)(store *st, int64_t ws, st_sender_cb cb, void *ud, dp_err *e);
    int (*sender_update)(store *st, const struct st_sender *s, dp_err *e); /* by s->id */
    int (*sender_delete)(store *st, int64_t ws, int64_t id, dp_err *e);
    /* Whether a campaign that is not completed or cancelled lists this sender. */
    int (*sender_in_use)(store *st, int64_t ws, int64_t id, int *in_use, dp_err *e);
    /* Daily-limit bookkeeping: the last time each phone was sent to by a sender. */
    int (*sender_recipient_touch)(store *st, int64_t sender_id, const char *phone, int64_t at,
                                  dp_err *e);
    int (*sender_recipients)(store *st, int64_t sender_id, int64_t since, st_recipient_cb cb,
                             void *ud, dp_err *e);

    int (*list_create)(store *st, int64_t ws, const char *name, int64_t *id, dp_err *e);
    int (*list_find)(store *st, int64_t ws, const char *name, int64_t *id, dp_err *e);
    int (*list_get)(store *st, int64_t ws, int64_t id, st_list_cb cb, void *ud, dp_err *e);
    int (*list_all)(store *st, int64_t ws, st_list_cb cb, void *ud, dp_err *e);
    /* Inserts or updates the workspace's contact with this phone: name replaces
     * when not NULL, vars (a JSON object, may be NULL) are merged key by key.
     * *created = 1 for a new contact. */
    int (*contact_upsert)(store *st, int64_t ws, const char *phone, const char *name,
                          const json_t *vars, int64_t *contact_id, int *created, dp_err *e);
    int (*list_add)(store *st, int64_t list_id, int64_t contact_id, dp_err *e);
    /* Members in insertion order; limit 0 = all. */
    int (*list_members)(store *st, int64_t ws, int64_t list_id, int64_t limit, st_member_cb cb,
                        void *ud, dp_err *e);
    /* Renames a list of ws: DP_ENOTFOUND, or DP_ECONFLICT when ws already
     * has a list with that name. */
    int (*list_rename)(store *st, int64_t ws, int64_t id, const char *name, dp_err *e);
    /* Deletes a list of ws with its memberships; the contacts stay, and so do
     * campaigns made from it (their messages were written at creation). */
    int (*list_delete)(store *st, int64_t ws, int64_t id, dp_err *e);
    /* Takes a contact off a list; *removed says whether it was a member. */
    int (*list_remove)(store *st, int64_t list_id, int64_t contact_id, int *removed, dp_err *e);
    /* Members of a list of ws by contact id, after that id (exclusive), at
     * most limit (0 = all): keyset pages. DP_ENOTFOUND for another ws's list. */
    int (*list_members_page)(store *st, int64_t ws, int64_t list_id, int64_t after,
                             int64_t limit, st_contact_cb cb, void *ud, dp_err *e);
    /* Contacts of ws by id after `after`, at most limit. q NULL = all; else
     * a contact matches when its phone contains digits (NULL = no phone
     * match) or its name contains text, ASCII case-insensitively. */
    int (*contact_search)(store *st, int64_t ws, const char *digits, const char *text,
                          int64_t after, int64_t limit, st_contact_cb cb, void *ud, dp_err *e);
    /* One contact of ws, by id (phone NULL) or by phone. DP_ENOTFOUND. */
    int (*contact_get)(store *st, int64_t ws, int64_t id, const char *phone, st_contact_cb cb,
                       void *ud, dp_err *e);
    /* The lists of ws a contact is on, by list id. */
    int (*contact_lists)(store *st, int64_t ws, int64_t contact_id, st_list_cb cb, void *ud,
                         dp_err *e);
    /* Messages of ws's campaigns to phone, newest first, with id < before
     * (0 = from the newest), at most limit. */
    int (*contact_history)(store *st, int64_t ws, const char *phone, int64_t before,
                           int64_t limit, st_history_cb cb, void *ud, dp_err *e);
    /* Deletes a contact of ws and its memberships (messages keep their copy
     * of the phone). DP_ENOTFOUND. */
    int (*contact_delete)(store *st, int64_t ws, int64_t id, dp_err *e);

    int (*campaign_create)(store *st, struct st_campaign *c, dp_err *e); /* sets c->id */
    /* Writes name, status, state_reason, spec, times and pacing state (not counts). */
    int (*campaign_update)(store *st, const struct st_campaign *c, dp_err *e);
    int (*campaign_get)(store *st, int64_t ws, int64_t id, struct st_campaign *out, dp_err *e);
    /* status < 0 = any; newest first. ws = 0 = every workspace. */
    int (*campaign_list)(store *st, int64_t ws, int status, st_campaign_cb cb, void *ud,
                         dp_err *e);
    /* Adds per-status deltas to the campaign's stored counts. */
    int (*campaign_counts_add)(store *st, int64_t id, const int64_t delta[MS__COUNT], dp_err *e);

    /* Adds a message (m->id is set). The caller adds the matching count delta. */
    int (*message_insert)(store *st, struct st_message *m, dp_err *e);
    /* Writes every mutable field of m (status, attempts, sender, provider id,
     * error, times, next_attempt_at) by m->id. */
    int (*message_update)(store *st, const struct st_message *m, dp_err *e);
    /* Queued messages of a campaign with id > after_id, by id, at most limit. */
    int (*message_queued)(store *st, int64_t campaign_id, int64_t after_id, int64_t limit,
                          st_message_cb cb, void *ud, dp_err *e);
    /* Messages of a campaign by id, after_id exclusive; status < 0 = any. */
    int (*message_list)(store *st, int64_t campaign_id, int status, int64_t after_id,
                        int64_t limit, st_message_cb cb, void *ud, dp_err *e);
    /* A gateway receipt: finds the message this sender sent with provider_id
     * and moves it to new_status (MS_SENT, MS_DELIVERED, MS_READ or MS_FAILED)
     * only if that is forward (a late "delivered" after "read" changes
     * nothing), setting the matching *_at and, for MS_FAILED, the error. Fills
     * *campaign_id and *old_status; *changed says whether it moved.
     * DP_ENOTFOUND when no message matches. The caller adjusts counts. */
    int (*message_receipt)(store *st, int64_t sender_id, const char *provider_id, int new_status,
                           int64_t at, const char *code, const char *detail,
                           int64_t *campaign_id, int *old_status, int *changed, dp_err *e);
    /* After a crash: every `sending` message of the campaign becomes `unknown`
     * (or `queued` again when resend is set); *n says how many. Adjusts the
     * stored counts itself. */
    int (*message_recover)(store *st, int64_t campaign_id, int resend, int64_t *n, dp_err *e);

    /* An answer from a contact: attributed to the message it quotes
     * (context_id, a provider id; may be NULL), else to the latest message
     * this sender sent that phone. Records the text (and button) and moves
     * the campaign's replied/clicked counts on the first of each.
     * DP_ENOTFOUND when no message fits. */
    int (*message_reply)(store *st, int64_t sender_id, const char *phone, const char *context_id,
                         const char *text, const char *button_id, int64_t at,
                         int64_t *campaign_id, int *first_reply, int *first_click, dp_err *e);
    /* A receipt for a provider id not recorded yet (the gateway was faster
     * than its own answer): kept until receipt_take() finds it. */
    int (*receipt_park)(store *st, int64_t sender_id, const char *provider_id, int status,
                        int64_t at, const char *code, const char *detail, dp_err *e);
    /* How many receipts are parked, and whether any restriction entry exists
     * at all: the engine skips both per-message look-ups while they are 0. */
    int (*receipt_parked_count)(store *st, int64_t *n, dp_err *e);
    int (*restriction_any)(store *st, int *any, dp_err *e);
    /* Hands the parked receipts of a provider id to cb, in status order, and
     * forgets them. */
    int (*receipt_take)(store *st, int64_t sender_id, const char *provider_id, st_receipt_cb cb,
                        void *ud, dp_err *e);

    /* Puts phone on a restriction list of workspace ws (the built-in
     * do_not_disturb, blocked, not_interested and no_whatsapp are made on
     * first use), for every sender (sender_id 0) or one; the entry expires
     * after the list's retention, counted from at. A repeat refreshes it. */
    int (*restriction_add)(store *st, int64_t ws, const char *list, const char *phone,
                           int64_t sender_id, const char *reason, const char *source, int64_t at,
                           dp_err *e);
    /* Whether phone (or alt, its other form, may be NULL) is restricted for
     * sender_id at time now: the list's name goes to list ("" when free). */
    int (*restriction_check)(store *st, int64_t ws, const char *phone, const char *alt,
                             int64_t sender_id, int64_t now, char *list, size_t cap, dp_err *e);

    /* Restriction lists and keyword rules as operators manage them (the
     * API's /restriction-lists and /keyword-rules). Listing and lookups make
     * the built-in lists exist first, so they always show. */
    int (*rlist_all)(store *st, int64_t ws, int64_t now, st_rlist_cb cb, void *ud, dp_err *e);
    /* By id (id > 0) or else by name; DP_ENOTFOUND when the workspace has no such list. */
    int (*rlist_get)(store *st, int64_t ws, int64_t id, const char *name, int64_t now,
                     struct st_rlist *out, dp_err *e);
    /* DP_ECONFLICT when the name is taken (built-in names always are). */
    int (*rlist_create)(store *st, int64_t ws, const char *name, int64_t retention_days,
                        int64_t *id, dp_err *e);
    /* name NULL / retention_days < 0 keep the current value. Keyword rules
     * follow a rename. A new retention applies to entries added from then
     * on: an entry's expiry is fixed when it is added. DP_EINVAL for a
     * built-in list, DP_ECONFLICT for a taken name. */
    int (*rlist_update)(store *st, int64_t ws, int64_t id, const char *name,
                        int64_t retention_days, dp_err *e);
    /* Deletes a custom list and all its entries (*entries says how many).
     * DP_EINVAL for a built-in list, DP_ECONFLICT while a keyword rule
     * targets it. */
    int (*rlist_delete)(store *st, int64_t ws, int64_t id, int64_t *entries, dp_err *e);
    /* Adds or refreshes an entry of list list_id (which must be in ws);
     * expires_at < 0 means "after the list's retention, counted from at",
     * 0 never. *created (may be NULL) says whether the entry is new. */
    int (*restriction_put)(store *st, int64_t ws, int64_t list_id, const char *phone,
                           int64_t sender_id, const char *reason, const char *source, int64_t at,
                           int64_t expires_at, int *created, dp_err *e);
    /* Removes the entries of phone (and alt, its other form; may be NULL) in
     * a list: every sender's when sender_id < 0, else that one's (0 = the
     * global entry). *n says how many went. */
    int (*restriction_remove)(store *st, int64_t ws, int64_t list_id, const char *phone,
                              const char *alt, int64_t sender_id, int64_t *n, dp_err *e);
    /* Entries of the workspace matching f, by id. */
    int (*restriction_entries)(store *st, int64_t ws, const struct st_rentry_filter *f,
                               st_rentry_cb cb, void *ud, dp_err *e);
    /* Deletes at most limit entries that expired at or before now (every
     * workspace); *n says how many, so a caller can come back while n == limit. */
    int (*restriction_purge)(store *st, int64_t now, int64_t limit, int64_t *n, dp_err *e);
    /* Keyword rules with their ids, oldest first (id > 0: only that one);
     * the engine matches every inbound reply against them. The defaults
     * (PARAR, SAIR, STOP, CANCELAR, DESCADASTRAR: contains, any case, to
     * do_not_disturb) are made once per workspace, on first use: a workspace
     * whose operator deleted every rule keeps none. match is "exact",
     * "contains", "starts_with" or "ends_with"; list names the restriction
     * list a match puts the phone on. */
    int (*kwrule_list)(store *st, int64_t ws, int64_t id, st_kwrule_cb cb, void *ud, dp_err *e);
    int (*kwrule_add)(store *st, int64_t ws, const char *keyword, const char *match,
                      int case_sensitive, const char *list, int64_t *id, dp_err *e);
    /* NULL strings and case_sensitive < 0 keep the current value. */
    int (*kwrule_update)(store *st, int64_t ws, int64_t id, const char *keyword,
                         const char *match, int case_sensitive, const char *list, dp_err *e);
    int (*kwrule_delete)(store *st, int64_t ws, int64_t id, dp_err *e);

    int (*event_add)(store *st, int64_t campaign_id, int64_t at, const char *type,
                     const json_t *detail, dp_err *e);
    /* Newest first. */
    int (*event_list)(store *st, int64_t campaign_id, int64_t limit, st_event_cb cb, void *ud,
                      dp_err *e);

    /* The database file, for readers on other connections (reports built in
     * a worker thread, store/sqlite_report.h); "" for an in-memory store.
     * Borrowed, valid until close. */
    const char *(*path)(store *st);
};

struct store {
    const struct store_vtab *v;
};

/* Opens (creating and migrating as needed) the SQLite store at path.
 * The caller closes it with st->v->close(st). */
int store_sqlite_open(const char *path, store **out, dp_err *e);

#endif
