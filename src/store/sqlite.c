/* The SQLite store: the default backend behind store.h, one connection used
 * from the event-loop thread. Writes are batched into one transaction that
 * the first write after a commit opens (BEGIN IMMEDIATE) and commit() closes;
 * with synchronous=FULL a commit is on disk before the engine hands anything
 * to a gateway, and batching spreads that fsync over a whole loop turn.
 * Every statement is prepared once at open and kept (the engine calls
 * message_update about 100,000 times a second at full speed), and the schema
 * is embedded below as migration steps tracked by PRAGMA user_version, so the
 * binary needs no file besides the database itself. */
#include "store/store.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "util/keyword.h"

/* Statuses are stored as their enum values, and some SQL below (the queued,
 * recovery, receipt and in-use queries) names them as literals. Reordering
 * the enums would silently reinterpret every existing database, so the
 * values are pinned here. */
_Static_assert(MS_QUEUED == 0 && MS_SENDING == 1 && MS_SENT == 2 && MS_DELIVERED == 3 &&
                   MS_READ == 4 && MS_FAILED == 5 && MS_SKIPPED == 6 && MS_UNKNOWN == 7 &&
                   MS__COUNT == 8,
               "message statuses are stored on disk by value");
_Static_assert(CS_DRAFT == 0 && CS_SCHEDULED == 1 && CS_RUNNING == 2 && CS_PAUSED == 3 &&
                   CS_COMPLETED == 4 && CS_CANCELLED == 5,
               "campaign statuses are stored on disk by value");

/* ---- schema ------------------------------------------------------------ */

/* Migration steps, applied in order inside one transaction; the database's
 * user_version is the number of steps already applied. Append, never edit:
 * a released step has already run on someone's data. */
static const char *const migrations[] = {
    /* 1: the initial schema. Times are epoch milliseconds, 0 = none; JSON
     * columns hold compact object text. STRICT makes a type slip an error
     * instead of a silently converted value. */
    "CREATE TABLE workspaces ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL"
    ") STRICT;"

    "CREATE TABLE tokens ("
    "  id INTEGER PRIMARY KEY,"
    "  ws INTEGER NOT NULL REFERENCES workspaces (id),"
    "  name TEXT NOT NULL,"
    "  hash TEXT NOT NULL UNIQUE," /* SHA-256 hex; the token itself is never kept */
    "  created_at INTEGER NOT NULL"
    ") STRICT;"

    /* Senders are soft-deleted (deleted_at) because messages and the daily
     * limit bookkeeping keep pointing at them; names need not be unique. */
    "CREATE TABLE senders ("
    "  id INTEGER PRIMARY KEY,"
    "  ws INTEGER NOT NULL REFERENCES workspaces (id),"
    "  name TEXT NOT NULL,"
    "  provider TEXT NOT NULL,"
    "  config TEXT NOT NULL DEFAULT '{}',"
    "  rate_per_second REAL NOT NULL DEFAULT 0,"
    "  daily_limit INTEGER NOT NULL DEFAULT 0,"
    "  active INTEGER NOT NULL DEFAULT 1,"
    "  created_at INTEGER NOT NULL,"
    "  deleted_at INTEGER NOT NULL DEFAULT 0"
    ") STRICT;"

    "CREATE TABLE sender_recipients ("
    "  sender_id INTEGER NOT NULL REFERENCES senders (id),"
    "  phone TEXT NOT NULL,"
    "  at INTEGER NOT NULL,"
    "  PRIMARY KEY (sender_id, phone)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE INDEX sender_recipients_at ON sender_recipients (sender_id, at);"

    /* members is kept by the triggers below so that listing lists does not
     * count a million-row membership every time. */
    "CREATE TABLE lists ("
    "  id INTEGER PRIMARY KEY,"
    "  ws INTEGER NOT NULL REFERENCES workspaces (id),"
    "  name TEXT NOT NULL,"
    "  members INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL,"
    "  UNIQUE (ws, name)"
    ") STRICT;"

    "CREATE TABLE contacts ("
    "  id INTEGER PRIMARY KEY,"
    "  ws INTEGER NOT NULL REFERENCES workspaces (id),"
    "  phone TEXT NOT NULL,"
    "  name TEXT,"
    "  vars TEXT,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  UNIQUE (ws, phone)"
    ") STRICT;"

    /* A rowid table on purpose: the rowid records insertion order, which is
     * the order members are listed in; list_members_order is (list_id, rowid). */
    "CREATE TABLE list_members ("
    "  list_id INTEGER NOT NULL REFERENCES lists (id),"
    "  contact_id INTEGER NOT NULL REFERENCES contacts (id),"
    "  PRIMARY KEY (list_id, contact_id)"
    ") STRICT;"
    "CREATE INDEX list_members_order ON list_members (list_id);"
    "CREATE TRIGGER list_members_count_add AFTER INSERT ON list_members BEGIN"
    "  UPDATE lists SET members = members + 1 WHERE id = new.list_id;"
    " END;"
    "CREATE TRIGGER list_members_count_del AFTER DELETE ON list_members BEGIN"
    "  UPDATE lists SET members = members - 1 WHERE id = old.list_id;"
    " END;"

    /* The n_* columns are the per-status message counts, moved by deltas in
     * the same transaction as the messages they count; total is their sum. */
    "CREATE TABLE campaigns ("
    "  id INTEGER PRIMARY KEY,"
    "  ws INTEGER NOT NULL REFERENCES workspaces (id),"
    "  name TEXT NOT NULL,"
    "  status INTEGER NOT NULL,"
    "  state_reason TEXT,"
    "  spec TEXT NOT NULL DEFAULT '{}',"
    "  start_at INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL DEFAULT 0,"
    "  started_at INTEGER NOT NULL DEFAULT 0,"
    "  finished_at INTEGER NOT NULL DEFAULT 0,"
    "  next_send_at INTEGER NOT NULL DEFAULT 0,"
    "  sends_since_rest INTEGER NOT NULL DEFAULT 0,"
    "  rest_until INTEGER NOT NULL DEFAULT 0,"
    "  n_queued INTEGER NOT NULL DEFAULT 0,"
    "  n_sending INTEGER NOT NULL DEFAULT 0,"
    "  n_sent INTEGER NOT NULL DEFAULT 0,"
    "  n_delivered INTEGER NOT NULL DEFAULT 0,"
    "  n_read INTEGER NOT NULL DEFAULT 0,"
    "  n_failed INTEGER NOT NULL DEFAULT 0,"
    "  n_skipped INTEGER NOT NULL DEFAULT 0,"
    "  n_unknown INTEGER NOT NULL DEFAULT 0,"
    "  total INTEGER NOT NULL DEFAULT 0"
    ") STRICT;"

    /* The hot table. No UNIQUE (campaign_id, phone): a repeated phone is
     * stored as a skipped row. sender_id is not a foreign key (0 = none, and
     * senders are never really deleted) so that updating it costs no lookup.
     * Each index is paid for on every message_update that changes its
     * columns, so there are only the three the queries need:
     *   messages_campaign  (campaign_id, rowid)          message_list, any status
     *   messages_status    (campaign_id, status, rowid)  message_queued (status = 0),
     *                      message_list by status, recovery (status = 1)
     *   messages_receipt   (sender_id, provider_id, rowid)  receipts; partial, so
     *                      that messages without a provider id cost nothing there.
     * A partial index for queued messages would only duplicate messages_status
     * (the planner picks messages_status for message_queued anyway) and add a
     * fourth index write to every status change. */
    "CREATE TABLE messages ("
    "  id INTEGER PRIMARY KEY,"
    "  campaign_id INTEGER NOT NULL REFERENCES campaigns (id),"
    "  phone TEXT NOT NULL,"
    "  name TEXT,"
    "  vars TEXT,"
    "  status INTEGER NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  sender_id INTEGER NOT NULL DEFAULT 0,"
    "  provider_id TEXT,"
    "  error_code TEXT,"
    "  error_detail TEXT,"
    "  queued_at INTEGER NOT NULL DEFAULT 0,"
    "  sent_at INTEGER NOT NULL DEFAULT 0,"
    "  delivered_at INTEGER NOT NULL DEFAULT 0,"
    "  read_at INTEGER NOT NULL DEFAULT 0,"
    "  failed_at INTEGER NOT NULL DEFAULT 0,"
    "  next_attempt_at INTEGER NOT NULL DEFAULT 0"
    ") STRICT;"
    "CREATE INDEX messages_campaign ON messages (campaign_id);"
    "CREATE INDEX messages_status ON messages (campaign_id, status);"
    "CREATE INDEX messages_receipt ON messages (sender_id, provider_id)"
    "  WHERE provider_id IS NOT NULL;"

    "CREATE TABLE events ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  campaign_id INTEGER NOT NULL REFERENCES campaigns (id),"
    "  at INTEGER NOT NULL,"
    "  type TEXT NOT NULL,"
    "  detail TEXT NOT NULL DEFAULT '{}'"
    ") STRICT;"
    "CREATE INDEX events_campaign ON events (campaign_id);",

    /* 2: replies and clicks (attributed to the message a contact answers),
     * and receipts that arrive before the send's own answer is recorded.
     * messages_phone is written at insert only: claims and results do not
     * change phone, so the hot path does not pay for it. */
    "ALTER TABLE messages ADD COLUMN reply TEXT;"
    "ALTER TABLE messages ADD COLUMN button_id TEXT;"
    "ALTER TABLE messages ADD COLUMN replied_at INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE messages ADD COLUMN clicked_at INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX messages_phone ON messages (phone);"
    "ALTER TABLE campaigns ADD COLUMN n_replied INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE campaigns ADD COLUMN n_clicked INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE early_receipts ("
    "  sender_id INTEGER NOT NULL,"
    "  provider_id TEXT NOT NULL,"
    "  status INTEGER NOT NULL,"
    "  at INTEGER NOT NULL,"
    "  code TEXT,"
    "  detail TEXT"
    ") STRICT;"
    "CREATE INDEX early_receipts_key ON early_receipts (sender_id, provider_id);",

    /* 3: restriction lists (who must not be messaged) and their entries. The
     * four kinds the seed system had are made per workspace on first use;
     * retention_days 0 = permanent. An entry applies to every sender
     * (sender_id 0) or to one, until expires_at (0 = never): expired entries
     * stop applying by the query itself, no cleanup job needed. */
    "CREATE TABLE restriction_lists ("
    "  id INTEGER PRIMARY KEY,"
    "  ws INTEGER NOT NULL REFERENCES workspaces (id),"
    "  name TEXT NOT NULL,"
    "  retention_days INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL,"
    "  UNIQUE (ws, name)"
    ") STRICT;"
    "CREATE TABLE restrictions ("
    "  id INTEGER PRIMARY KEY,"
    "  list_id INTEGER NOT NULL REFERENCES restriction_lists (id),"
    "  ws INTEGER NOT NULL,"
    "  phone TEXT NOT NULL,"
    "  sender_id INTEGER NOT NULL DEFAULT 0,"
    "  reason TEXT,"
    "  source TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL DEFAULT 0,"
    "  UNIQUE (list_id, phone, sender_id)"
    ") STRICT;"
    "CREATE INDEX restrictions_phone ON restrictions (ws, phone);",

    /* 4: members added are counted by the store per transaction (a
     * million-row import paid a trigger's UPDATE on every row). */
    "DROP TRIGGER list_members_count_add;",

    /* 5: keyword rules: an inbound reply that matches puts its sender's
     * phone on a restriction list. A workspace without rules gets the
     * defaults (PARAR, SAIR, STOP, CANCELAR, DESCADASTRAR) on first use. */
    "CREATE TABLE keyword_rules ("
    "  id INTEGER PRIMARY KEY,"
    "  ws INTEGER NOT NULL REFERENCES workspaces (id),"
    "  keyword TEXT NOT NULL,"
    "  match TEXT NOT NULL,"
    "  case_sensitive INTEGER NOT NULL DEFAULT 0,"
    "  list TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL"
    ") STRICT;"
    "CREATE INDEX keyword_rules_ws ON keyword_rules (ws);",

    /* 6: restriction lists API: the workspaces whose default keyword rules
     * were made (an operator who deletes every rule must not get them back;
     * workspaces that already have rules count as seeded), an index for the
     * background purge of expired entries and one to page a list's entries. */
    "CREATE TABLE keyword_seeded (ws INTEGER PRIMARY KEY) STRICT;"
    "INSERT INTO keyword_seeded (ws) SELECT DISTINCT ws FROM keyword_rules;"
    "CREATE INDEX restrictions_expiry ON restrictions (expires_at) WHERE expires_at != 0;"
    "CREATE INDEX restrictions_list ON restrictions (list_id, id);",

    /* 7: contact list names are one name whatever the case ("Clientes" and
     * "clientes" were two lists, and an import into ?list=CLIENTES made a
     * third). Lists that already collide keep the oldest name; the others
     * get their id appended, so nothing is lost. NOCASE folds ASCII only. */
    "UPDATE lists SET name = name || ' (' || id || ')' WHERE EXISTS (SELECT 1 FROM lists o"
    "  WHERE o.ws = lists.ws AND o.name = lists.name COLLATE NOCASE AND o.id < lists.id);"
    "CREATE UNIQUE INDEX lists_name_nocase ON lists (ws, name COLLATE NOCASE);",
};

#define N_MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

/* ---- statements -------------------------------------------------------- */

#define SENDER_COLS                                                                                \
    "id, ws, name, provider, config, rate_per_second, daily_limit, active, created_at"
enum { SC_ID, SC_WS, SC_NAME, SC_PROVIDER, SC_CONFIG, SC_RATE, SC_LIMIT, SC_ACTIVE, SC_CREATED };

#define CAMP_COLS                                                                                  \
    "id, ws, name, status, state_reason, spec, start_at, created_at, started_at, finished_at, "    \
    "next_send_at, sends_since_rest, rest_until, n_queued, n_sending, n_sent, n_delivered, "       \
    "n_read, n_failed, n_skipped, n_unknown, total, n_replied, n_clicked"
enum {
    CC_ID,
    CC_WS,
    CC_NAME,
    CC_STATUS,
    CC_REASON,
    CC_SPEC,
    CC_START_AT,
    CC_CREATED,
    CC_STARTED,
    CC_FINISHED,
    CC_NEXT_SEND,
    CC_SENDS_SINCE_REST,
    CC_REST_UNTIL,
    CC_COUNTS /* MS__COUNT columns */,
    CC_TOTAL = CC_COUNTS + MS__COUNT,
    CC_REPLIED,
    CC_CLICKED
};

#define MSG_COLS                                                                                   \
    "id, campaign_id, phone, name, vars, status, attempts, sender_id, provider_id, error_code, "   \
    "error_detail, queued_at, sent_at, delivered_at, read_at, failed_at, next_attempt_at, "       \
    "reply, button_id, replied_at, clicked_at"
enum {
    MC_ID,
    MC_CAMPAIGN,
    MC_PHONE,
    MC_NAME,
    MC_VARS,
    MC_STATUS,
    MC_ATTEMPTS,
    MC_SENDER,
    MC_PROVIDER_ID,
    MC_ERROR_CODE,
    MC_ERROR_DETAIL,
    MC_QUEUED_AT,
    MC_SENT_AT,
    MC_DELIVERED_AT,
    MC_READ_AT,
    MC_FAILED_AT,
    MC_NEXT_ATTEMPT,
    MC_REPLY,
    MC_BUTTON,
    MC_REPLIED_AT,
    MC_CLICKED_AT
};

#define LIST_COLS "id, ws, name, members, created_at"
#define CONTACT_COLS "id, ws, phone, name, vars, created_at, updated_at"
#define CONTACT_COLS_C "c.id, c.ws, c.phone, c.name, c.vars, c.created_at, c.updated_at"

/* Every statement the store runs. "ws = 0 matches any workspace" is written
 * as (?1 = 0 OR ws = ?1) throughout; the tables it applies to are small. */
#define QUERIES(X)                                                                                 \
    X(Q_BEGIN, "BEGIN IMMEDIATE")                                                                  \
    X(Q_COMMIT, "COMMIT")                                                                          \
    X(Q_ROLLBACK, "ROLLBACK")                                                                      \
    X(Q_SAVEPOINT, "SAVEPOINT op")                                                                 \
    X(Q_RELEASE, "RELEASE op")                                                                     \
    X(Q_ROLLBACK_TO, "ROLLBACK TO op")                                                             \
    X(Q_WS_ANY, "SELECT EXISTS (SELECT 1 FROM workspaces)")                                        \
    X(Q_WS_INSERT, "INSERT INTO workspaces (id, name, created_at) VALUES (1, 'default', ?1)")      \
    X(Q_WS_CREATE, "INSERT INTO workspaces (name, created_at) VALUES (?1, ?2)")                    \
    X(Q_TOKEN_INSERT, "INSERT INTO tokens (ws, name, hash, created_at) VALUES (?1, ?2, ?3, ?4)")   \
    X(Q_TOKEN_LOOKUP, "SELECT ws FROM tokens WHERE hash = ?1")                                     \
    X(Q_SENDER_INSERT,                                                                             \
      "INSERT INTO senders (ws, name, provider, config, rate_per_second, daily_limit, active, "    \
      "created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")                                       \
    X(Q_SENDER_GET, "SELECT " SENDER_COLS " FROM senders"                                          \
                    " WHERE id = ?2 AND deleted_at = 0 AND (?1 = 0 OR ws = ?1)")                   \
    X(Q_SENDER_LIST, "SELECT " SENDER_COLS " FROM senders"                                         \
                     " WHERE deleted_at = 0 AND (?1 = 0 OR ws = ?1) ORDER BY id")                  \
    X(Q_SENDER_UPDATE,                                                                             \
      "UPDATE senders SET name = ?3, provider = ?4, config = ?5, rate_per_second = ?6,"            \
      " daily_limit = ?7, active = ?8 WHERE id = ?2 AND deleted_at = 0 AND (?1 = 0 OR ws = ?1)")   \
    X(Q_SENDER_DELETE, "UPDATE senders SET deleted_at = ?3"                                        \
                       " WHERE id = ?2 AND deleted_at = 0 AND (?1 = 0 OR ws = ?1)")                \
    /* 4 and 5 are CS_COMPLETED and CS_CANCELLED (pinned above). */                                \
    X(Q_SENDER_IN_USE,                                                                             \
      "SELECT EXISTS (SELECT 1 FROM campaigns c, json_each(c.spec, '$.sender_ids') j"              \
      " WHERE c.status NOT IN (4, 5) AND (?1 = 0 OR c.ws = ?1) AND j.value = ?2)")                 \
    /* max(): a late touch never moves the last-sent time backwards. */                            \
    X(Q_RECIP_TOUCH, "INSERT INTO sender_recipients (sender_id, phone, at) VALUES (?1, ?2, ?3)"    \
                     " ON CONFLICT (sender_id, phone) DO UPDATE SET at = max(at, excluded.at)")    \
    X(Q_RECIP_LIST, "SELECT phone, at FROM sender_recipients"                                      \
                    " WHERE sender_id = ?1 AND at >= ?2 ORDER BY at")                              \
    X(Q_LIST_INSERT, "INSERT INTO lists (ws, name, created_at) VALUES (?1, ?2, ?3)")               \
    X(Q_LIST_FIND, "SELECT id FROM lists WHERE name = ?2 COLLATE NOCASE AND (?1 = 0 OR ws = ?1)"   \
                   " ORDER BY id LIMIT 1")                                                         \
    X(Q_LIST_GET, "SELECT " LIST_COLS " FROM lists WHERE id = ?2 AND (?1 = 0 OR ws = ?1)")         \
    X(Q_LIST_ALL, "SELECT " LIST_COLS " FROM lists WHERE (?1 = 0 OR ws = ?1) ORDER BY id")         \
    X(Q_CONTACT_FIND, "SELECT id, vars FROM contacts WHERE ws = ?1 AND phone = ?2")                \
    X(Q_CONTACT_INSERT, "INSERT INTO contacts (ws, phone, name, vars, created_at, updated_at)"     \
                        " VALUES (?1, ?2, ?3, ?4, ?5, ?5)")                                        \
    X(Q_CONTACT_UPDATE, "UPDATE contacts SET name = coalesce(?2, name),"                           \
                        " vars = coalesce(?3, vars), updated_at = ?4 WHERE id = ?1")               \
    /* OR IGNORE: adding a member twice keeps its first position. */                               \
    X(Q_MEMBER_ADD, "INSERT OR IGNORE INTO list_members (list_id, contact_id) VALUES (?1, ?2)")    \
    X(Q_MEMBERS, "SELECT c.phone, c.name, c.vars FROM list_members m"                              \
                 " JOIN contacts c ON c.id = m.contact_id"                                         \
                 " WHERE m.list_id = ?1 ORDER BY m.rowid LIMIT ?2")                                \
    /* contacts: lists and members CRUD, search, history */                                    \
    X(Q_LIST_RENAME, "UPDATE lists SET name = ?3 WHERE id = ?2 AND ws = ?1")                       \
    /* the count trigger fires per member on a list about to go: cheap, and                        \
     * the same path as removing one member */                                                     \
    X(Q_LIST_DEL_MEMBERS, "DELETE FROM list_members WHERE list_id = ?1")                           \
    X(Q_LIST_DELETE, "DELETE FROM lists WHERE id = ?2 AND ws = ?1")                                \
    X(Q_MEMBER_DEL, "DELETE FROM list_members WHERE list_id = ?1 AND contact_id = ?2")             \
    /* keyset on the primary key (list_id, contact_id): no sort, no OFFSET */                       \
    X(Q_MEMBERS_PAGE, "SELECT " CONTACT_COLS_C " FROM list_members m"                              \
                      " JOIN contacts c ON c.id = m.contact_id"                                     \
                      " WHERE m.list_id = ?1 AND m.contact_id > ?2 ORDER BY m.contact_id LIMIT ?3") \
    /* walks contacts by id and stops at limit matches: a page of a common                         \
     * match is quick, a rare one scans the workspace's contacts (a prefix                         \
     * range on contacts (ws, phone) would come out in phone order, not the                         \
     * id order the cursor needs) */                                                               \
    /* +ws: walk the primary key in id order; by the (ws, phone) index SQLite                      \
     * would read the whole workspace and sort it before the first row */                          \
    X(Q_CONTACT_SEARCH, "SELECT " CONTACT_COLS " FROM contacts WHERE +ws = ?1 AND id > ?2"         \
                        " AND ((?3 IS NULL AND ?4 IS NULL) OR instr(phone, ?3) > 0"                 \
                        " OR instr(lower(name), ?4) > 0) ORDER BY id LIMIT ?5")                     \
    X(Q_CONTACT_GET, "SELECT " CONTACT_COLS " FROM contacts WHERE ws = ?1 AND id = ?2")            \
    X(Q_CONTACT_BY_PHONE, "SELECT " CONTACT_COLS " FROM contacts WHERE ws = ?1 AND phone = ?2")    \
    /* list_members has no contact_id index: probe its primary key per list */                     \
    X(Q_CONTACT_LISTS, "SELECT " LIST_COLS " FROM lists l WHERE ws = ?1 AND EXISTS"                \
                       " (SELECT 1 FROM list_members m WHERE m.list_id = l.id"                      \
                       " AND m.contact_id = ?2) ORDER BY id")                                       \
    /* messages_phone (phone), whose rowid order gives newest first */                             \
    X(Q_CONTACT_HISTORY, "SELECT " MSG_COLS ", (SELECT name FROM campaigns c"                      \
                         " WHERE c.id = campaign_id) FROM messages WHERE phone = ?2"                \
                         " AND (?3 = 0 OR id < ?3) AND campaign_id IN"                              \
                         " (SELECT id FROM campaigns WHERE ws = ?1) ORDER BY id DESC LIMIT ?4")     \
    X(Q_CONTACT_DEL_MEMBERS, "DELETE FROM list_members WHERE contact_id = ?2"                      \
                             " AND list_id IN (SELECT id FROM lists WHERE ws = ?1)")                \
    X(Q_CONTACT_DELETE, "DELETE FROM contacts WHERE id = ?2 AND ws = ?1")                          \
    X(Q_CAMP_INSERT,                                                                               \
      "INSERT INTO campaigns (ws, name, status, state_reason, spec, start_at, created_at,"         \
      " started_at, finished_at, next_send_at, sends_since_rest, rest_until, n_queued,"            \
      " n_sending, n_sent, n_delivered, n_read, n_failed, n_skipped, n_unknown, total)"            \
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,"       \
      " ?18, ?19, ?20, ?21)")                                                                      \
    X(Q_CAMP_UPDATE,                                                                               \
      "UPDATE campaigns SET name = ?3, status = ?4, state_reason = ?5, spec = ?6, start_at = ?7,"  \
      " started_at = ?8, finished_at = ?9, next_send_at = ?10, sends_since_rest = ?11,"            \
      " rest_until = ?12 WHERE id = ?2 AND (?1 = 0 OR ws = ?1)")                                   \
    X(Q_CAMP_GET, "SELECT " CAMP_COLS " FROM campaigns WHERE id = ?2 AND (?1 = 0 OR ws = ?1)")     \
    X(Q_CAMP_LIST, "SELECT " CAMP_COLS " FROM campaigns"                                           \
                   " WHERE (?1 = 0 OR ws = ?1) AND (?2 < 0 OR status = ?2) ORDER BY id DESC")      \
    X(Q_CAMP_COUNTS,                                                                               \
      "UPDATE campaigns SET n_queued = n_queued + ?2, n_sending = n_sending + ?3,"                 \
      " n_sent = n_sent + ?4, n_delivered = n_delivered + ?5, n_read = n_read + ?6,"               \
      " n_failed = n_failed + ?7, n_skipped = n_skipped + ?8, n_unknown = n_unknown + ?9,"         \
      " total = total + ?10 WHERE id = ?1")                                                        \
    X(Q_MSG_INSERT,                                                                                \
      "INSERT INTO messages (campaign_id, phone, name, vars, status, attempts, sender_id,"         \
      " provider_id, error_code, error_detail, queued_at, sent_at, delivered_at, read_at,"         \
      " failed_at, next_attempt_at)"                                                               \
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)")           \
    X(Q_MSG_UPDATE,                                                                                \
      "UPDATE messages SET status = ?2, attempts = ?3, sender_id = ?4, provider_id = ?5,"          \
      " error_code = ?6, error_detail = ?7, queued_at = ?8, sent_at = ?9, delivered_at = ?10,"     \
      " read_at = ?11, failed_at = ?12, next_attempt_at = ?13 WHERE id = ?1")                      \
    X(Q_MSG_QUEUED, "SELECT " MSG_COLS " FROM messages"                                            \
                    " WHERE campaign_id = ?1 AND status = 0 AND id > ?2 ORDER BY id LIMIT ?3")     \
    X(Q_MSG_LIST, "SELECT " MSG_COLS " FROM messages"                                              \
                  " WHERE campaign_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3")                      \
    X(Q_MSG_LIST_STATUS, "SELECT " MSG_COLS " FROM messages WHERE campaign_id = ?1"                \
                         " AND status = ?4 AND id > ?2 ORDER BY id LIMIT ?3")                      \
    /* Newest first: if a gateway ever reuses an id, the latest send is meant. */                  \
    X(Q_MSG_RECEIPT_FIND, "SELECT id, campaign_id, status FROM messages"                           \
                          " WHERE sender_id = ?1 AND provider_id = ?2 ORDER BY id DESC LIMIT 1")   \
    /* ?2 is the new status (2 sent, 3 delivered, 4 read, 5 failed): a later                       \
     * stage fills the earlier stages' times that no receipt reported. */                          \
    X(Q_MSG_RECEIPT_SET,                                                                           \
      "UPDATE messages SET status = ?2,"                                                           \
      " sent_at = CASE WHEN ?2 IN (2, 3, 4) AND sent_at = 0 THEN ?3 ELSE sent_at END,"             \
      " delivered_at = CASE WHEN ?2 IN (3, 4) AND delivered_at = 0 THEN ?3 ELSE delivered_at END," \
      " read_at = CASE WHEN ?2 = 4 AND read_at = 0 THEN ?3 ELSE read_at END,"                      \
      " failed_at = CASE WHEN ?2 = 5 THEN ?3 ELSE failed_at END,"                                  \
      " error_code = CASE WHEN ?2 = 5 THEN ?4 ELSE error_code END,"                                \
      " error_detail = CASE WHEN ?2 = 5 THEN ?5 ELSE error_detail END"                             \
      " WHERE id = ?1")                                                                            \
    X(Q_MSG_RECOVER, "UPDATE messages SET status = ?2 WHERE campaign_id = ?1 AND status = 1")      \
    /* the message a reply answers: the one it quotes, else the latest one                         \
     * this sender delivered to that phone */                                                       \
    X(Q_MSG_REPLY_BY_CONTEXT, "SELECT id, campaign_id, replied_at, clicked_at FROM messages"       \
                              " WHERE sender_id = ?1 AND provider_id = ?2 ORDER BY id DESC LIMIT 1") \
    X(Q_MSG_REPLY_BY_PHONE, "SELECT id, campaign_id, replied_at, clicked_at FROM messages"         \
                            " WHERE phone = ?2 AND sender_id = ?1 AND status IN (2, 3, 4)"          \
                            " ORDER BY sent_at DESC, id DESC LIMIT 1")                              \
    X(Q_MSG_REPLY_SET, "UPDATE messages SET reply = coalesce(?2, reply),"                          \
                       " button_id = coalesce(?3, button_id),"                                      \
                       " replied_at = CASE WHEN replied_at = 0 THEN ?4 ELSE replied_at END,"        \
                       " clicked_at = CASE WHEN ?3 IS NOT NULL AND clicked_at = 0 THEN ?4"          \
                       " ELSE clicked_at END WHERE id = ?1")                                        \
    X(Q_CAMP_REPLIES, "UPDATE campaigns SET n_replied = n_replied + ?2,"                           \
                      " n_clicked = n_clicked + ?3 WHERE id = ?1")                                  \
    X(Q_EARLY_PARK, "INSERT INTO early_receipts (sender_id, provider_id, status, at, code, detail)" \
                    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)")                                              \
    X(Q_EARLY_TAKE, "SELECT status, at, code, detail FROM early_receipts"                          \
                    " WHERE sender_id = ?1 AND provider_id = ?2 ORDER BY status")                   \
    X(Q_EARLY_DROP, "DELETE FROM early_receipts WHERE sender_id = ?1 AND provider_id = ?2")        \
    X(Q_LIST_MEMBERS_ADD, "UPDATE lists SET members = members + ?2 WHERE id = ?1")                \
    X(Q_KW_INSERT, "INSERT INTO keyword_rules (ws, keyword, match, case_sensitive, list,"          \
                   " created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")                                  \
    X(Q_EARLY_COUNT, "SELECT count(*) FROM early_receipts")                                        \
    X(Q_RESTRICT_ANY, "SELECT EXISTS (SELECT 1 FROM restrictions)")                                \
    X(Q_RLIST_FIND, "SELECT id, retention_days FROM restriction_lists WHERE ws = ?1 AND name = ?2") \
    X(Q_RLIST_INSERT, "INSERT INTO restriction_lists (ws, name, retention_days, created_at)"       \
                      " VALUES (?1, ?2, ?3, ?4)")                                                   \
    /* a repeat refreshes the entry: the newest reason and expiry win */                          \
    X(Q_RESTRICT_ADD,                                                                              \
      "INSERT INTO restrictions (list_id, ws, phone, sender_id, reason, source, created_at,"       \
      " expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"                                        \
      " ON CONFLICT (list_id, phone, sender_id) DO UPDATE SET reason = excluded.reason,"           \
      " source = excluded.source, created_at = excluded.created_at,"                               \
      " expires_at = excluded.expires_at")                                                         \
    X(Q_RESTRICT_CHECK,                                                                            \
      "SELECT l.name FROM restrictions r JOIN restriction_lists l ON l.id = r.list_id"             \
      " WHERE r.ws = ?1 AND r.phone IN (?2, ?3) AND (r.sender_id = 0 OR r.sender_id = ?4)"         \
      " AND (r.expires_at = 0 OR r.expires_at > ?5) ORDER BY r.id LIMIT 1")                        \
    X(Q_RLIST_SEL,                                                                                 \
      "SELECT l.id, l.name, l.retention_days, l.created_at, (SELECT count(*) FROM restrictions r"  \
      " WHERE r.list_id = l.id AND (r.expires_at = 0 OR r.expires_at > ?2))"                       \
      " FROM restriction_lists l WHERE l.ws = ?1 AND (?3 = 0 OR l.id = ?3)"                        \
      " AND (?4 IS NULL OR l.name = ?4) ORDER BY l.id")                                            \
    X(Q_RLIST_UPDATE, "UPDATE restriction_lists SET name = coalesce(?3, name),"                    \
                      " retention_days = CASE WHEN ?4 < 0 THEN retention_days ELSE ?4 END"          \
                      " WHERE ws = ?1 AND id = ?2")                                                 \
    X(Q_RLIST_DELETE, "DELETE FROM restriction_lists WHERE ws = ?1 AND id = ?2")                   \
    X(Q_RLIST_DAYS, "SELECT retention_days FROM restriction_lists WHERE ws = ?1 AND id = ?2")      \
    X(Q_RLIST_DROP_ENTRIES, "DELETE FROM restrictions WHERE list_id = ?1")                         \
    X(Q_KW_RELIST, "UPDATE keyword_rules SET list = ?3 WHERE ws = ?1 AND list = ?2")               \
    X(Q_KW_USES, "SELECT count(*) FROM keyword_rules WHERE ws = ?1 AND list = ?2")                 \
    X(Q_RESTRICT_EXISTS,                                                                           \
      "SELECT 1 FROM restrictions WHERE list_id = ?1 AND phone = ?2 AND sender_id = ?3")           \
    X(Q_RESTRICT_REMOVE, "DELETE FROM restrictions WHERE ws = ?1 AND list_id = ?2"                 \
                         " AND phone IN (?3, ?4) AND (?5 < 0 OR sender_id = ?5)")                  \
    X(Q_RESTRICT_ENTRIES,                                                                          \
      "SELECT r.id, r.list_id, l.name, r.phone, r.sender_id, r.reason, r.source, r.created_at,"    \
      " r.expires_at FROM restrictions r JOIN restriction_lists l ON l.id = r.list_id"             \
      " WHERE r.ws = ?1 AND (?2 = 0 OR r.list_id = ?2) AND (?3 IS NULL OR r.phone IN (?3, ?4))"    \
      " AND (?5 < 0 OR r.sender_id = ?5) AND r.id > ?6"                                            \
      " AND (?7 != 0 OR r.expires_at = 0 OR r.expires_at > ?8) ORDER BY r.id LIMIT ?9")            \
    X(Q_RESTRICT_PURGE, "DELETE FROM restrictions WHERE id IN (SELECT id FROM restrictions"        \
                        " WHERE expires_at != 0 AND expires_at <= ?1 LIMIT ?2)")                   \
    X(Q_KW_ROWS, "SELECT id, keyword, match, case_sensitive, list, created_at FROM keyword_rules" \
                 " WHERE ws = ?1 AND (?2 = 0 OR id = ?2) ORDER BY id")                              \
    X(Q_KW_SEEDED, "SELECT EXISTS (SELECT 1 FROM keyword_seeded WHERE ws = ?1)")                   \
    X(Q_KW_SEED_MARK, "INSERT OR IGNORE INTO keyword_seeded (ws) VALUES (?1)")                     \
    X(Q_KW_UPDATE, "UPDATE keyword_rules SET keyword = coalesce(?3, keyword),"                     \
                   " match = coalesce(?4, match),"                                                  \
                   " case_sensitive = CASE WHEN ?5 < 0 THEN case_sensitive ELSE ?5 END,"            \
                   " list = coalesce(?6, list) WHERE ws = ?1 AND id = ?2")                          \
    X(Q_KW_DELETE, "DELETE FROM keyword_rules WHERE ws = ?1 AND id = ?2")                          \
    X(Q_EVENT_INSERT,                                                                              \
      "INSERT INTO events (campaign_id, at, type, detail) VALUES (?1, ?2, ?3, ?4)")                \
    X(Q_EVENT_LIST, "SELECT id, campaign_id, at, type, detail FROM events"                         \
                    " WHERE campaign_id = ?1 ORDER BY id DESC LIMIT ?2")

enum qid {
#define Q_ENUM(id, sql) id,
    QUERIES(Q_ENUM)
#undef Q_ENUM
        Q__COUNT
};

static const char *const q_sql[Q__COUNT] = {
#define Q_SQL(id, sql) sql,
    QUERIES(Q_SQL)
#undef Q_SQL
};

static const char *const q_name[Q__COUNT] = {
#define Q_NAME(id, sql) #id,
    QUERIES(Q_NAME)
#undef Q_NAME
};

/* The handle: store first, so the store * callers hold is a struct sq *. */
struct sq {
    store base;
    sqlite3 *db;
    sqlite3_stmt *q[Q__COUNT];
    /* lists.members grows by this much for pend_list at the next commit or
     * list read: one UPDATE per import instead of one per row */
    int64_t pend_list, pend_members;
};

static struct sq *sq_of(store *st)
{
    return (struct sq *)st;
}

/* ---- helpers ----------------------------------------------------------- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Turns the connection's last error into a dp_code: a unique key is a
 * conflict, a dangling reference means the row it names does not exist. Call
 * it before the statement is reset. */
static int db_fail(sqlite3 *db, dp_err *e, const char *what)
{
    int x = sqlite3_extended_errcode(db);
    int code = DP_EDB;
    if (x == SQLITE_CONSTRAINT_UNIQUE || x == SQLITE_CONSTRAINT_PRIMARYKEY)
        code = DP_ECONFLICT;
    else if (x == SQLITE_CONSTRAINT_FOREIGNKEY)
        code = DP_ENOTFOUND;
    return dp_err_set(e, code, "%s: %s", what, sqlite3_errmsg(db));
}

/* The cached statement for id, or NULL (with e set) when it is still running
 * because a callback re-entered the store with the query that called it:
 * resetting it here would pull the rows out from under the outer loop. */
static sqlite3_stmt *q_get(struct sq *sq, enum qid id, dp_err *e)
{
    sqlite3_stmt *s = sq->q[id];
    if (sqlite3_stmt_busy(s)) {
        dp_err_set(e, DP_EINTERNAL, "%s: statement re-entered from a callback", q_name[id]);
        return NULL;
    }
    return s;
}

/* Every statement goes back through here on every path, so none is left
 * holding a read snapshot or pointers to the caller's strings. */
static void q_done(sqlite3_stmt *s)
{
    if (!s)
        return;
    (void)sqlite3_reset(s); /* repeats the step's error, which was already reported */
    (void)sqlite3_clear_bindings(s);
}

/* One statement parameter. Built with qi/qt/qd so that the compiler checks
 * each value's type: a printf-style format with varargs would read an int
 * passed for an int64_t as garbage without a warning. */
struct qarg {
    char type; /* 'i', 't' or 'd' */
    union {
        int64_t i;
        const char *t;
        double d;
    } v;
};

static struct qarg qi(int64_t v)
{
    return (struct qarg){.type = 'i', .v.i = v};
}

/* Text is bound SQLITE_STATIC: every caller's string outlives the step.
 * NULL binds SQL NULL. */
static struct qarg qt(const char *v)
{
    return (struct qarg){.type = 't', .v.t = v};
}

static struct qarg qd(double v)
{
    return (struct qarg){.type = 'd', .v.d = v};
}

/* The parameter list of a q_* call: an array and its length, ?1 first. */
#define QARGS(...)                                                                                 \
    (const struct qarg[]){__VA_ARGS__},                                                            \
        (int)(sizeof((const struct qarg[]){__VA_ARGS__}) / sizeof(struct qarg))

/* *out = the cached statement id with ?1..?n bound to a. On failure *out is
 * NULL and e says why: DP_EINTERNAL when the statement is re-entered (see
 * q_get), else the bind error under what. On success the caller q_done()s
 * *out on every path. */
static int q_bind(struct sq *sq, sqlite3_stmt **out, enum qid id, const char *what, dp_err *e,
                  const struct qarg *a, int n)
{
    sqlite3_stmt *s = q_get(sq, id, e);
    int bad = 0;
    *out = NULL;
    if (!s)
        return DP_EINTERNAL;
    for (int i = 0; i < n && !bad; i++) {
        if (a[i].type == 'i')
            bad = sqlite3_bind_int64(s, i + 1, (sqlite3_int64)a[i].v.i);
        else if (a[i].type == 'd')
            bad = sqlite3_bind_double(s, i + 1, a[i].v.d);
        else if (a[i].v.t)
            bad = sqlite3_bind_text(s, i + 1, a[i].v.t, -1, SQLITE_STATIC);
        else
            bad = sqlite3_bind_null(s, i + 1);
    }
    if (bad) {
        int rc = db_fail(sq->db, e, what);
        q_done(s);
        return rc;
    }
    *out = s;
    return DP_OK;
}

/* Runs a write that returns no rows. sqlite3_changes() and
 * sqlite3_last_insert_rowid() still tell about it afterwards: the reset
 * does not touch them. Opening the transaction is the caller's business. */
static int q_exec(struct sq *sq, enum qid id, const char *what, dp_err *e, const struct qarg *a,
                  int n)
{
    sqlite3_stmt *s;
    int rc = q_bind(sq, &s, id, what, e, a, n);
    if (rc == DP_OK && sqlite3_step(s) != SQLITE_DONE)
        rc = db_fail(sq->db, e, what);
    q_done(s);
    return rc;
}

/* Steps to the first row of a read. DP_OK: *out stands on the row, and the
 * caller reads it and q_done()s *out. DP_ENOTFOUND: there is no row, and e
 * is left for the caller to word (each says "not found" its own way).
 * Anything else: the error, in e (a read never fails on a foreign key, so
 * DP_ENOTFOUND always means "no row"). Except on DP_OK *out is NULL. */
static int q_one(struct sq *sq, sqlite3_stmt **out, enum qid id, const char *what, dp_err *e,
                 const struct qarg *a, int n)
{
    sqlite3_stmt *s;
    int rc = q_bind(sq, &s, id, what, e, a, n);
    int step;
    *out = NULL;
    if (rc != DP_OK)
        return rc;
    step = sqlite3_step(s);
    if (step == SQLITE_ROW) {
        *out = s;
        return DP_OK;
    }
    rc = step == SQLITE_DONE ? DP_ENOTFOUND : db_fail(sq->db, e, what);
    q_done(s);
    return rc;
}

/* The row loop: `while (rc == DP_OK && q_next(sq, s, what, &rc, e))`. 1
 * while s stands on a row; 0 at the end, with *rc set if the step failed. */
static int q_next(struct sq *sq, sqlite3_stmt *s, const char *what, int *rc, dp_err *e)
{
    int step = sqlite3_step(s);
    if (step == SQLITE_ROW)
        return 1;
    if (step != SQLITE_DONE)
        *rc = db_fail(sq->db, e, what);
    return 0;
}

/* Borrowed column text (NULL for SQL NULL), valid until the next step/reset. */
static const char *c_text(sqlite3_stmt *s, int i)
{
    return (const char *)sqlite3_column_text(s, i);
}

static int64_t c_i64(sqlite3_stmt *s, int i)
{
    return (int64_t)sqlite3_column_int64(s, i);
}

/* The first column of the one row of a statement without parameters. */
static int scalar(struct sq *sq, int q, int64_t *out, const char *what, dp_err *e)
{
    sqlite3_stmt *s = q_get(sq, q, e);
    int rc = DP_OK;
    if (!s)
        return DP_EINTERNAL;
    if (sqlite3_step(s) == SQLITE_ROW)
        *out = c_i64(s, 0);
    else
        rc = db_fail(sq->db, e, what);
    q_done(s);
    return rc;
}

/* *dst = a copy of src (NULL stays NULL); the caller owns the copy. */
static int dup_str(const char *src, char **dst, dp_err *e)
{
    *dst = NULL;
    if (!src)
        return DP_OK;
    *dst = strdup(src);
    if (!*dst)
        return dp_err_set(e, DP_ENOMEM, "out of memory");
    return DP_OK;
}

/* Compact JSON text for a column (caller frees); NULL j gives "{}" because
 * the JSON columns are NOT NULL objects. */
static int json_text(const json_t *j, char **out, dp_err *e)
{
    *out = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : strdup("{}");
    if (!*out)
        return dp_err_set(e, DP_ENOMEM, "cannot encode JSON");
    return DP_OK;
}

/* Parses a JSON column into a new reference (NULL text gives an empty object). */
static int json_parse(const char *text, const char *what, json_t **out, dp_err *e)
{
    json_error_t je;
    *out = text ? json_loads(text, JSON_DECODE_ANY, &je) : json_object();
    if (!*out)
        return dp_err_set(e, DP_EDB, "%s: stored JSON is corrupt: %s", what,
                          text ? je.text : "out of memory");
    return DP_OK;
}

/* Runs a statement without parameters or rows (BEGIN, COMMIT, ...). */
static int run(struct sq *sq, enum qid id, dp_err *e)
{
    sqlite3_stmt *s = q_get(sq, id, e);
    int rc = DP_OK;
    if (!s)
        return DP_EINTERNAL;
    if (sqlite3_step(s) != SQLITE_DONE)
        rc = db_fail(sq->db, e, q_name[id]);
    q_done(s);
    return rc;
}

/* The batching rule: the first write after a commit opens the transaction;
 * IMMEDIATE so that a second process (the CLI, a backup) makes us wait at
 * BEGIN, within busy_timeout, rather than fail halfway through a batch. */
static int write_begin(struct sq *sq, dp_err *e)
{
    if (!sqlite3_get_autocommit(sq->db))
        return DP_OK;
    return run(sq, Q_BEGIN, e);
}

/* A savepoint around the few operations that write more than once, so that
 * a failure half way leaves the batch as it was before the call. */
static int op_begin(struct sq *sq, dp_err *e)
{
    int rc = write_begin(sq, e);
    if (rc == DP_OK)
        rc = run(sq, Q_SAVEPOINT, e);
    return rc;
}

static int op_end(struct sq *sq, int rc, dp_err *e)
{
    if (rc == DP_OK) {
        rc = run(sq, Q_RELEASE, e);
        if (rc == DP_OK)
            return DP_OK;
    }
    /* Errors here are ignored: the first one is in e, and after an I/O error
     * SQLite may already have rolled the whole transaction (and savepoint) back. */
    (void)run(sq, Q_ROLLBACK_TO, NULL);
    (void)run(sq, Q_RELEASE, NULL);
    return rc;
}

static int not_found(dp_err *e, const char *what, int64_t id)
{
    return dp_err_set(e, DP_ENOTFOUND, "%s %lld not found", what, (long long)id);
}

/* LIMIT -1 is SQLite for "no limit". */
static int64_t sql_limit(int64_t limit)
{
    return limit > 0 ? limit : -1;
}

/* ---- transactions ------------------------------------------------------ */

static void sq_rollback(store *st)
{
    struct sq *sq = sq_of(st);
    sq->pend_members = 0;
    if (!sqlite3_get_autocommit(sq->db))
        (void)run(sq, Q_ROLLBACK, NULL); /* void by interface; nothing useful to do on failure */
}

/* A failed COMMIT is rolled back at once: the caller has to treat the whole
 * batch as lost either way, and a transaction left open would silently
 * absorb the next batch's writes into a commit that already failed once. */
/* Writes the pending member count (see struct sq). */
static int members_flush(struct sq *sq, dp_err *e)
{
    int rc;
    if (!sq->pend_members)
        return DP_OK;
    rc = q_exec(sq, Q_LIST_MEMBERS_ADD, "list_add", e,
                QARGS(qi(sq->pend_list), qi(sq->pend_members)));
    if (rc == DP_OK)
        sq->pend_members = 0;
    return rc;
}

static int sq_commit(store *st, dp_err *e)
{
    struct sq *sq = sq_of(st);
    int rc;
    if (sqlite3_get_autocommit(sq->db))
        return DP_OK;
    if ((rc = members_flush(sq, e)) != DP_OK) {
        sq_rollback(st);
        return rc;
    }
    rc = run(sq, Q_COMMIT, e);
    if (rc != DP_OK)
        sq_rollback(st);
    return rc;
}

static int sq_in_transaction(store *st)
{
    return !sqlite3_get_autocommit(sq_of(st)->db);
}

static void sq_close(store *st)
{
    struct sq *sq = sq_of(st);
    if (!sq)
        return;
    if (sq->db && !sqlite3_get_autocommit(sq->db))
        (void)sqlite3_exec(sq->db, "ROLLBACK", NULL, NULL, NULL); /* uncommitted work is lost */
    for (int i = 0; i < Q__COUNT; i++)
        sqlite3_finalize(sq->q[i]); /* accepts NULL */
    sqlite3_close_v2(sq->db);
    free(sq);
}

/* ---- workspaces and tokens --------------------------------------------- */

static int insert_token(struct sq *sq, int64_t ws, const char *name, const char *hash, int64_t *id,
                        dp_err *e)
{
    int rc = q_exec(sq, Q_TOKEN_INSERT, "token_create", e,
                    QARGS(qi(ws), qt(name), qt(hash), qi(now_ms())));
    if (rc == DP_OK && id)
        *id = (int64_t)sqlite3_last_insert_rowid(sq->db);
    return rc;
}

/* Inserts s as a new sender row; config NULL is stored as {}. */
static int insert_sender(struct sq *sq, struct st_sender *s, dp_err *e)
{
    char *config = NULL;
    int rc = json_text(s->config, &config, e);
    if (rc != DP_OK)
        return rc;
    if (s->created_at == 0)
        s->created_at = now_ms();
    rc = q_exec(sq, Q_SENDER_INSERT, "sender_create", e,
                QARGS(qi(s->ws), qt(s->name), qt(s->provider), qt(config),
                      qd(s->rate_per_second), qi(s->daily_limit), qi(s->active ? 1 : 0),
                      qi(s->created_at)));
    if (rc == DP_OK)
        s->id = (int64_t)sqlite3_last_insert_rowid(sq->db);
    free(config);
    return rc;
}

static int sq_bootstrap(store *st, const char *admin_token_hash, int *created, dp_err *e)
{
    struct sq *sq = sq_of(st);
    int64_t exists = 0;
    int rc;

    *created = 0;
    if (!admin_token_hash || !*admin_token_hash)
        return dp_err_set(e, DP_EINVAL, "bootstrap: admin token hash missing");
    rc = scalar(sq, Q_WS_ANY, &exists, "bootstrap", e);
    if (rc != DP_OK)
        return rc;

    if (!exists) {
        struct st_sender sb = {
            .ws = 1,
            .name = (char *)"sandbox",
            .provider = (char *)"sandbox",
            .active = 1,
        };
        sb.config = json_pack("{s:i}", "latency_ms", 0);
        rc = op_begin(sq, e);
        if (rc != DP_OK) {
            json_decref(sb.config);
            return rc;
        }
        rc = q_exec(sq, Q_WS_INSERT, "bootstrap", e, QARGS(qi(now_ms())));
        if (rc == DP_OK)
            rc = insert_sender(sq, &sb, e);
        if (rc == DP_OK)
            rc = insert_token(sq, 1, "admin", admin_token_hash, NULL, e);
        json_decref(sb.config);
        rc = op_end(sq, rc, e);
        if (rc != DP_OK)
            return rc;
        *created = 1;
    }
    rc = sq_commit(st, e);
    if (rc != DP_OK)
        *created = 0;
    return rc;
}

static int sq_workspace_create(store *st, const char *name, int64_t *id, dp_err *e)
{
    struct sq *sq = sq_of(st);
    struct st_sender sb = {.name = (char *)"sandbox", .provider = (char *)"sandbox", .active = 1};
    int rc = op_begin(sq, e);
    if (rc != DP_OK)
        return rc;
    rc = q_exec(sq, Q_WS_CREATE, "workspace_create", e, QARGS(qt(name), qi(now_ms())));
    if (rc == DP_OK) {
        *id = (int64_t)sqlite3_last_insert_rowid(sq->db);
        sb.ws = *id;
        sb.config = json_pack("{s:i}", "latency_ms", 0);
        rc = insert_sender(sq, &sb, e);
        json_decref(sb.config);
    }
    return op_end(sq, rc, e);
}

static int sq_token_create(store *st, int64_t ws, const char *name, const char *hash, int64_t *id,
                           dp_err *e)
{
    struct sq *sq = sq_of(st);
    int rc;
    if (!name || !hash)
        return dp_err_set(e, DP_EINVAL, "token_create: name and hash are required");
    rc = write_begin(sq, e);
    if (rc == DP_OK)
        rc = insert_token(sq, ws, name, hash, id, e);
    return rc;
}

static int sq_token_lookup(store *st, const char *hash, int64_t *ws, dp_err *e)
{
    struct sq *sq = sq_of(st);
    sqlite3_stmt *s;
    int rc = q_one(sq, &s, Q_TOKEN_LOOKUP, "token_lookup", e, QARGS(qt(hash)));
    if (rc == DP_OK)
        *ws = c_i64(s, 0);
    else if (rc == DP_ENOTFOUND)
        rc = dp_err_set(e, DP_ENOTFOUND, "no such token");
    q_done(s);
    return rc;
}

/* ---- senders ----------------------------------------------------------- */

/* Fills s from the current row. With copy the strings are the row's own
 * (release with st_sender_clear); without, they are borrowed from the
 * statement and only config (always a new reference) must be released. */
static int read_sender(sqlite3_stmt *q, struct st_sender *s, int copy, dp_err *e)
{
    int rc = DP_OK;
    memset(s, 0, sizeof *s);
    s->id = c_i64(q, SC_ID);
    s->ws = c_i64(q, SC_WS);
    s->rate_per_second = sqlite3_column_double(q, SC_RATE);
    s->daily_limit = c_i64(q, SC_LIMIT);
    s->active = sqlite3_column_int(q, SC_ACTIVE) != 0;
    s->created_at = c_i64(q, SC_CREATED);
    if (copy) {
        rc = dup_str(c_text(q, SC_NAME), &s->name, e);
        if (rc == DP_OK)
            rc = dup_str(c_text(q, SC_PROVIDER), &s->provider, e);
    } else {
        /* The callback gets a const row, so lending the statement's text is safe. */
        s->name = (char *)c_text(q, SC_NAME);
        s->provider = (char *)c_text(q, SC_PROVIDER);
    }
    if (rc == DP_OK)
        rc = json_parse(c_text(q, SC_CONFIG), "senders.config", &s->config, e);
    if (rc != DP_OK && copy)
        st_sender_clear(s);
    return rc;
}

static int sq_sender_create(store *st, struct st_sender *s, dp_err *e)
{
    struct sq *sq = sq_of(st);
    int rc;
    if (!s->name || !s->provider)
        return dp_err_set(e, DP_EINVAL, "sender_create: name and provider are required");
    rc = write_begin(sq, e);
    if (rc == DP_OK)
        rc = insert_sender(sq, s, e);
    return rc;
}

static int sq_sender_get(store *st, int64_t ws, int64_t id, struct st_sender *out, dp_err *e)
{
    struct sq *sq = sq_of(st);
    sqlite3_stmt *s;
    int rc;
    memset(out, 0, sizeof *out);
    rc = q_one(sq, &s, Q_SENDER_GET, "sender_get", e, QARGS(qi(ws), qi(id)));
    if (rc == DP_OK)
        rc = read_sender(s, out, 1, e);
    else if (rc == DP_ENOTFOUND)
        rc = not_found(e, "sender", id);
    q_done(s);
    return rc;
}

static int sq_sender_list(store *st, int64_t ws, st_sender_cb cb, void *ud, dp_err *e)
{
    struct sq *sq = sq_of(st);
    sqlite3_stmt *s;
    int rc = q_bind(sq, &s, Q_SENDER_LIST, "sender_list", e, QARGS(qi(ws)));
    while (rc == DP_OK && q_next(sq, s, "sender_list", &rc, e)) {
        struct st_sender row;
        rc = read_sender(s, &row, 0, e);
        if (rc != DP_OK)
            break;
        rc = cb(ud, &row);
        json_decref(row.config);
    }
    q_done(s);
    return rc;
}

static int sq_sender_update(store *st, const struct st_sender *sd, dp_err *e)
{
    struct sq *sq = sq_of(st);
    char *config = NULL;
    int rc;
    if (!sd->name || !sd->provider)
        return dp_err_set(e, DP_EINVAL, "sender_update: name and provider are required");
    rc = json_text(sd->config, &config, e);
    if (rc == DP_OK)
        rc = write_begin(sq, e);
    if (rc == DP_OK)
        rc = q_exec(sq, Q_SENDER_UPDATE, "sender_update", e,
                    QARGS(qi(sd->ws), qi(sd->id), qt(sd->name), qt(sd->provider), qt(config),
                          qd(sd->rate_per_second), qi(sd->daily_limit), qi(sd->active ? 1 : 0)));
    if (rc == DP_OK && sqlite3_changes(sq->db) == 0)
        rc = not_found(e, "sender", sd->id);
    free(config);
    return rc;
}

static int sq_sender_delete(store *st, int64_t ws, int64_t id, dp_err *e)
{
    struct sq *sq = sq_of(st);
    int rc = write_begin(sq, e);
    if (rc == DP_OK)
        rc = q_exec(sq, Q_SENDER_DELETE, "sender_delete", e, QARGS(qi(ws), qi(id), qi(now_ms())));
    if (rc == DP_OK && sqlite3_changes(sq->db) == 0)
        rc = not_found(e, "sender", id);
    return rc;
}

static int sq_sender_in_use(store *st, int64_t ws, int64_t id, int *in_use, dp_err *e)
{
    struct sq *sq = sq_of(st);
    sqlite3_stmt *s;
    int rc;
    *in_use = 0;
    rc = q_one(sq, &s, Q_SENDER_IN_USE, "sender_in_use", e, QARGS(qi(ws), qi(id)));
    if (rc == DP_OK)
        *in_use = sqlite3_column_int(s, 0) != 0;
    else if (rc == DP_ENOTFOUND) /* EXISTS always gives a row */
        rc = db_fail(sq->db, e, "sender_in_use");
    q_done(s);
    return rc;
}

static int sq_sender_recipient_touch(store *st, int64_t sender_id, const char *phone, int64_t at,
                                     dp_err *e)
{
    struct sq *sq = sq_of(st);
    int rc;
    if (!phone)
        return dp_err_set(e, DP_EINVAL, "sender_recipient_touch: phone is required");
    rc = write_begin(sq, e);
    if (rc == DP_OK)
        rc = q_exec(sq, Q_RECIP_TOUCH, "sender_recipient_touch", e,
                    QARGS(qi(sender_id), qt(phone), qi(at)));
    return rc;
}

static int sq_sender_recipients(store *st, int64_t sender_id, int64_t since, st_recipient_cb cb,
                                void *ud, dp_err *e)
{
    struct sq *sq = sq_of(st);
    sqlite3_stmt *s;
    int rc = q_bind(sq, &s, Q_RECIP_LIST, "sender_recipients", e, QARGS(qi(sender_id), qi(since)));
    while (rc == DP_OK && q_next(sq, s, "sender_recipients", &rc, e))
        rc = cb(ud, c_text(s, 0), c_i64(s, 1));
    q_done(s);
    return rc;
}

/* ---- lists and contacts ------------------------------------------------ */

static int sq_list_create(store *st, int64_t ws, const char *name, int64_t *id, dp_err *e)
{
    struct sq *sq = sq_of(st);
    int rc;
    if (!name)
        return dp_err_set(e, DP_EINVAL, "list_create: name is required");
    rc = write_begin(sq, e);
    if (rc == DP_OK)
        rc = q_exec(sq, Q_LIST_INSERT, "list_create", e, QARGS(qi(ws), qt(name), qi(now_ms())));
    if (rc == DP_ECONFLICT)
        rc = dp_err_set(e, DP_ECONFLICT, "a list named \"%s\" already exists", name);
    if (rc == DP_OK && id)
        *id = (int64_t)sqlite3_last_insert_rowid(sq->db);
    return rc;
}

static int sq_list_find(store *st, int64_t ws, const char *name, int64_t *id, dp_err *e)
{
    struct sq *sq = sq_of(st);
    sqlite3_stmt *s;
    int rc = q_one(sq, &s, Q_LIST_FIND, "list_find", e, QARGS(qi(ws), qt(name)));
    if (rc == DP_OK)
        *id = c_i64(s, 0);
    else if (rc == DP_ENOTFOUND)
        rc = dp_err_set(e, DP_ENOTFOUND, "no list named \"%s\"", name ? name : "");
    q_done(s);
    return rc;
}

/* The current row of a LIST_COLS query, strings borrowed from s. */
static struct st_list read_list(sqlite3_stmt *s)
{
    return (struct st_list){
        .id = c_i64(s, 0),
        .ws = c_i64(s, 1),
        .name = c_text(s, 2),
        .members = c_i64(s, 3),
        .created_at = c_i64(s, 4),
    };
}

/* Runs a list query (Q_LIST_GET or Q_LIST_ALL) and hands each row to cb. */
static int lists_each(struct sq *sq, enum qid id, int64_t ws, int64_t list_id, st_list_cb cb,
                      void *ud, int *rows, dp_err *e)
{
    const struct qarg a[] = {qi(ws), qi(list_id)};
    sqlite3_stmt *s;
    int rc = q_bind(sq, &s, id, q_name[id], e, a, id == Q_LIST_GET ? 2 : 1);
    *rows = 0;
    while (rc == DP_OK && q_next(sq, s, q_name[id], &rc, e)) {
        struct st_list l = read_list(s);
        (*rows)++;
        if (cb)
            rc = cb(ud, &l);
    }
    q_done(s);
    return rc;
}

static int sq_list_get(store *st, int64_t ws, int64_t id, st_list_cb cb, void *ud, dp_err *e)
{
    int rows = 0;
    int rc = members_flush(sq_of(st), e);
    if (rc == DP_OK)
        rc = lists_each(sq_of(st), Q_LIST_GET, ws, id, cb, ud, &rows, e);
    if (rc == DP_OK && rows == 0)
        rc = not_found(e, "list", id);
    return rc;
}

static int sq_list_all(store *st, int64_t ws, st_list_cb cb, void *ud, dp_err *e)
{
    int rows = 0;
    int rc = members_flush(sq_of(st), e);
    return rc ? rc : lists_each(sq_of(st), Q_LIST_ALL, ws, 0, cb, ud, &rows, e);
}

/* Read, merge in C, write back: jansson's json_object_update is exactly
 * "key by key, new values win" (SQLite's json_patch would also recurse into
 * nested objects and delete keys whose new value is null). */
static int sq_contact_upsert(store *st, int64_t ws, const char *phone, const char *name,
                             const json_t *vars, int64_t *contact_id, int *created, dp_err *e)
{
    struct sq *sq = sq_of(st);
    sqlite3_stmt *s;
    json_t *merged = NULL;
    char *text = NULL;
    int64_t id = 0;
    int found = 0;
    int rc;

    if (!phone || !*phone)
        return dp_err_set(e, DP_EINVAL, "contact_upsert: phone is required");
    if (vars && !json_is_object(vars))
        return dp_err_set(e, DP_EINVAL, "contact_upsert: vars must be a JSON object");
    rc = write_begin(sq, e);
    if (rc != DP_OK)
        return rc;

    rc = q_one(sq, &s, Q_CONTACT_FIND, "contact_upsert", e, QARGS(qi(ws), qt(phone)));
    if (rc == DP_OK) {
        found = 1;
        id = c_i64(s, 0);
        if (vars && json_object_size(vars) > 0)
            rc = json_parse(c_text(s, 1), "contacts.vars", &merged, e);
    } else if (rc == DP_ENOTFOUND) {
        rc = DP_OK;
    }
    q_done(s);
    if (rc != DP_OK)
        goto out;

    if (found) {
        if (merged) {
            /* update() only takes references to vars' values; vars is unchanged. */
            if (!json_is_object(merged) || json_object_update(merged, (json_t *)vars) != 0) {
                rc = dp_err_set(e, DP_EDB, "contact_upsert: stored vars are not an object");
                goto out;
            }
            rc = json_text(merged, &text, e);
            if (rc != DP_OK)
                goto out;
        }
        if (!name && !text)
            goto done; /* nothing to change */
        rc = q_exec(sq, Q_CONTACT_UPDATE, "contact_upsert", e,
                    QARGS(qi(id), qt(name), qt(text), qi(now_ms())));
    } else {
        if (vars) {
            rc = json_text(vars, &text, e);
            if (rc != DP_OK)
                goto out;
        }
        rc = q_exec(sq, Q_CONTACT_INSERT, "contact_upsert", e,
                    QARGS(qi(ws), qt(phone), qt(name), qt(text), qi(now_ms())));
        id = (int64_t)sqlite3_last_insert_rowid(sq->db);
    }
    if (rc != DP_OK)
        goto out;
done:
    if (contact_id)
        *contact_id = id;
    if (created)
        *created = !found;
out:
    json_decref(merged);
    free(text);
    return rc;
}

static int sq_list_add(store *st, int64_t list_id, int64_t contact_id, dp_err *e)
{
    struct sq *sq = sq_of(st);
    int rc = write_begin(sq, e);
    if (rc != DP_OK)
        return rc;
    /* a missing list or contact: DP_ENOTFOUND */
    rc = q_exec(sq, Q_MEMBER_ADD, "list_add", e, QARGS(qi(list_id), qi(contact_id)));
    if (rc == DP_OK && sqlite3_changes(sq->db) == 1) {
        if (sq->pend_members && sq->pend_list != list_id)
            rc = members_flush(sq, e);
        if (rc == DP_OK) {
            sq->pend_list = list_id;
            sq->pend_members++;
        }
    }
    return rc;
}

static int sq_list_members(store *st, int64_t ws, int64_t list_id, int64_t limit, st_member_cb cb,
                           void *ud, dp_err *e)
{
    struct sq *sq = sq_of(st);
    sqlite3_stmt *s;
    int rows = 0;
    int rc;

    /* The workspace check, so that another workspace's list is not found. */
    rc = lists_each(sq, Q_LIST_GET, ws, list_id, NULL, NULL, &rows, e);
    if (rc != DP_OK)
        return rc;
    if (rows == 0)
        return not_found(e, "list", list_id);
    rc = q_bind(sq, &s, Q_MEMBERS, "list_members", e, QARGS(qi(list_id), qi(sql_limit(limit))));
    while (rc == DP_OK && q_next(sq, s, "list_members", &rc, e))
        rc = cb(ud, c_text(s, 0), c_text(s, 1), c_text(s, 2));
    q_done(s);
    return rc;
}

/* ---- contacts: lists and members CRUD, search, history ----------------- */

static void read_message(sqlite3_stmt *q, struct st_message *m);

/* Runs a one-statement write bound with (a[, b]) and reports how many rows it
 * changed. */
static int write2(struct sq *sq, enum qid id, int64_t a, int64_t b, int *changed, dp_err *e)
{
    const struct qarg args[] = {qi(a), qi(b)};
    int rc = write_begin(sq, e);
    if (rc != DP_OK)
        return rc;
    rc = q_exec(sq, id, q_name[id], e, args, sqlite3_bind_parameter_count(sq->q[id]) > 1 ? 2 : 1);
    if (rc == DP_OK && changed)
        *changed = sqlite3_changes(sq->db);
    return rc;
}

static int sq_list_rename(store *st, int64_t ws, int64_t id, const char *name, dp_err *e)
{
    struct sq *sq = sq_of(st);
    int rc;
    if (!name || !*name)
        return dp_err_set(e, DP_EINVAL, "list_rename: name is required");
    rc = write_begin(sq, e);
    if (rc == DP_OK)
        rc = q_exec(sq, Q_LIST_RENAME, "list_rename", e, QARGS(qi(ws), qi(id), qt(name)));
    if (rc == DP_ECONFLICT)
        rc = dp_err_set(e, DP_ECONFLICT, "a list named \"%s\" already exists", name);
    else if (rc == DP_OK && sqlite3_changes(sq->db) == 0)
        rc = not_found(e, "list", id);
    return rc;
}

static int sq_list_delete(store *st, int64_t ws, int64_t id, dp_err *e)
{
    struct sq *sq = sq_of(st);
    int rows = 0, changed = 0;
    int rc = members_flush(sq, e);
    if (rc == DP_OK)
        rc = lists_each(sq, Q_LIST_GET, ws, id, NULL, NULL, &rows, e);
    if (rc != DP_OK)
        return rc;
    if (rows == 0)
        return not_found(e, "list", id);
    if ((rc = op_begin(sq, e)) != DP_OK)
        return rc;
    rc = write2(sq, Q_LIST_DEL_MEMBERS, id, 0, NULL, e);
    if (rc == DP_OK)
        rc = write2(sq, Q_LIST_DELETE, ws, id, &changed, e);
    return op_end(sq, rc, e);
}

static int sq_list_remove(store *st, int64_t list_id, int64_t contact_id, int *removed, dp_err *e)
{
    int changed = 0;
    /* the delete trigger counts it; pending adds are a separate delta */
    int rc = write2(sq_of(st), Q_MEMBER_DEL, list_id, contact_id, &changed, e);
    if (removed)
        *removed = rc == DP_OK && changed > 0;
    return rc;
}

/* Hands each contact row of a prepared, bound statement to cb. */
static int contacts_each(struct sq *sq, sqlite3_stmt *s, const char *what, st_contact_cb cb,
                         void *ud, int *rows, dp_err *e)
{
    int rc = DP_OK;
    while (rc == DP_OK && q_next(sq, s, what, &rc, e)) {
        struct st_contact c = {
            .id = c_i64(s, 0),
            .ws = c_i64(s, 1),
            .phone = c_text(s, 2),
            .name = c_text(s, 3),
            .vars = c_text(s, 4),
            .created_at = c_i64(s, 5),
            .updated_at = c_i64(s, 6),
        };
        if (rows)
            (*rows)++;
        if (cb)
            rc = cb(ud, &c);
    }
    return rc;
}

static int sq_list_members_page(store *st, int64_t ws, int64_t list_id, int64_t after,
                                int64_t limit, st_contact_cb cb, void *ud, dp_err *e)
{
    struct sq *sq = sq_of(st);
    sqlite3_stmt *s;
    int rows = 0;
    int rc = lists_each(sq, Q_LIST_GET, ws, list_id, NULL, NULL, &rows, e);
    if (rc != DP_OK)
        return rc;
    if (rows == 0)
        return not_found(e, "list", list_id);
    rc = q_bind(sq, &s, Q_MEMBERS_PAGE, "list_members_page", e,
                QARGS(qi(list_id), qi(after), qi(sql_limit(limit))));
    if (rc == DP_OK)
        rc = contacts_each(sq, s, "list_members_page", cb, ud, NULL, e);
    q_done(s);
    return rc;
}

static int sq_contact_search(store *st, int64_t ws, const char *digits, const char *text,
                             int64_t after, int64_t limit, st_contact_cb cb, void *ud, dp_err *e)
{
    struct sq *sq = sq_of(st);
    sqlite3_stmt *s;
    int rc = q_bind(sq, &s, Q_CONTACT_SEARCH, "contact_search", e,
                    QARGS(qi(ws), qi(after), qt(digits), qt(text), qi(sql_limit(limit))));
    if (rc == DP_OK)
        rc = contacts_each(sq, s, "contact_search", cb, ud, NULL, e);
    q_done(s);
    return rc;
}

static int sq_contact_get(store *st, int64_t ws, int64_t id, const char *phone, st_contact_cb cb,
                          void *ud, dp_err *e)
{
    struct sq *sq = sq_of(st);
    sqlite3_stmt *s;
    int rows = 0;
    int rc = q_bind(sq, &s, phone ? Q_CONTACT_BY_PHONE : Q_CONTACT_GET, "contact_get", e,
                    QARGS(qi(ws), phone ? qt(phone) : qi(id)));
    if (rc == DP_OK)
        rc = contacts_each(sq, s, "contact_get", cb, ud, &rows, e);
    q_done(s);
    if (rc == DP_OK && rows == 0) {
        if (phone)
            rc = dp_err_set(e, DP_ENOTFOUND, "no contact with phone %s", phone);
        else
            rc = not_found(e, "contact", id);
    }
    return rc;
}

static int sq_contact_lists(store *st, int64_t ws, int64_t contact_id, st_list_cb cb, void *ud,
                            dp_err *e)
{
    struct sq *sq = sq_of(st);
    sqlite3_stmt *s;
    int rc = members_flush(sq, e);
    if (rc != DP_OK)
        return rc;
    rc = q_bind(sq, &s, Q_CONTACT_LISTS, "contact_lists", e, QARGS(qi(ws), qi(contact_id)));
    while (rc == DP_OK && q_next(sq, s, "contact_lists", &rc, e)) {
        struct st_list l = read_list(s);
        rc = cb(ud, &l);
    }
    q_done(s);
    return rc;
}

static int sq_contact_history(store *st, int64_t ws, const char *phone, int64_t before,
                              int64_t limit, st_history_cb cb, void *ud, dp_err *e)
{
    struct sq *sq = sq_of(st);
    sqlite3_stmt *s;
    int rc = q_bind(sq, &s, Q_CONTACT_HISTORY, "contact_history", e,
                    QARGS(qi(ws), qt(phone), qi(before), qi(sql_limit(limit))));
    while (rc == DP_OK && q_next(sq, s, "contact_history", &rc, e)) {
        struct st_message m;
        read_message(s, &m);
        rc = cb(ud, &m, c_text(s, MC_CLICKED_AT + 1));
    }
    q_done(s);
    return rc;
}

static int sq_contact_delete(store *st, int64_t ws, int64_t id, dp_err *e)
{
    struct sq *sq = sq_of(st);
    int changed = 0;
    int rc = members_flush(sq, e);
    if (rc != DP_OK)
        return rc;
    if ((rc = op_begin(sq, e)) != DP_OK)
        return rc;
    rc = write2(sq, Q_CONTACT_DEL_MEMBERS, ws, id, NULL, e);
    if (rc == DP_OK)
        rc = write2(sq, Q_CONTACT_DELETE, ws, id, &changed, e);
    if (rc == DP_OK && changed == 0)
        rc = not_found(e, "contact", id);
    return op_end(sq, rc, e);
}

/* ---- campaigns --------------------------------------------------------- */

/* As read_sender: copy decides whether strings are owned or borrowed; spec
 * is always a new reference. */
static int read_campaign(sqlite3_stmt *q, struct st_campaign *c, int copy, dp_err *e)
{
    int rc = DP_OK;
    memset(c, 0, sizeof *c);
    c->id = c_i64(q, CC_ID);
    c->ws = c_i64(q, CC_WS);
    c->status = sqlite3_column_int(q, CC_STATUS);
    c->start_at = c_i64(q, CC_START_AT);
    c->created_at = c_i64(q, CC_CREATED);
    c->started_at = c_i64(q, CC_STARTED);
    c->finished_at = c_i64(q, CC_FINISHED);
    c->next_send_at = c_i64(q, CC_NEXT_SEND);
    c->sends_since_rest = c_i64(q, CC_SENDS_SINCE_REST);
    c->rest_until = c_i64(q, CC_REST_UNTIL);
    for (int i = 0; i < MS__COUNT; i++)
        c->counts[i] = c_i64(q, CC_COUNTS + i);
    c->total = c_i64(q, CC_TOTAL);
    c->replied = c_i64(q, CC_REPLIED);
    c->clicked = c_i64(q, CC_CLICKED);
    if (copy) {
        rc = dup_str(c_text(q, CC_NAME), &c->name, e);
        if (rc == DP_OK)
            rc = dup_str(c_text(q, CC_REASON), &c->state_reason, e);
    } else {
        c->name = (char *)c_text(q, CC_NAME);
        c->state_reason = (char *)c_text(q, CC_REASON);
    }
    if (rc == DP_OK)
        rc = json_parse(c_text(q, CC_SPEC), "campaigns.spec", &c->spec, e);
    if (rc != DP_OK && copy)
        st_campaign_clear(c);
    return rc;
}

/* Stores c as given, counts included (normally all zero: the caller adds the
 * deltas of the messages it inserts); created_at 0 becomes now. */
static int sq_campaign_create(store *st, struct st_campaign *c, dp_err *e)
{
    struct sq *sq = sq_of(st);
    struct qarg a[13 + MS__COUNT];
    char *spec = NULL;
    int64_t total = 0;
    int rc;

    if (!c->name)
        return dp_err_set(e, DP_EINVAL, "campaign_create: name is required");
    rc = json_text(c->spec, &spec, e);
    if (rc == DP_OK)
        rc = write_begin(sq, e);
    if (rc != DP_OK)
        goto out;
    if (c->created_at == 0)
        c->created_at = now_ms();
    a[0] = qi(c->ws);
    a[1] = qt(c->name);
    a[2] = qi(c->status);
    a[3] = qt(c->state_reason);
    a[4] = qt(spec);
    a[5] = qi(c->start_at);
    a[6] = qi(c->created_at);
    a[7] = qi(c->started_at);
    a[8] = qi(c->finished_at);
    a[9] = qi(c->next_send_at);
    a[10] = qi(c->sends_since_rest);
    a[11] = qi(c->rest_until);
    for (int i = 0; i < MS__COUNT; i++) {
        a[12 + i] = qi(c->counts[i]);
        total += c->counts[i];
    }
    a[12 + MS__COUNT] = qi(total);
    rc = q_exec(sq, Q_CAMP_INSERT, "campaign_create", e, a, 13 + MS__COUNT);
    if (rc == DP_OK) {
        c->id = (int64_t)sqlite3_last_insert_rowid(sq->db);
        c->total = total;
    }
out:
    free(spec);
    return rc;
}

static int sq_campaign_update(store *st, const struct st_campaign *c, dp_err *e)
{
    struct sq *sq = sq_of(st);
    char *spec = NULL;
    int rc;

    if (!c->name)
        return dp_err_set(e, DP_EINVAL, "campaign_update: name is required");
    rc = json_text(c->spec, &spec, e);
    if (rc == DP_OK)
        rc = write_begin(sq, e);
    if (rc == DP_OK)
        rc = q_exec(sq, Q_CAMP_UPDATE, "campaign_update", e,
                    QARGS(qi(c->ws), qi(c->id), qt(c->name), qi(c->status), qt(c->state_reason),
                          qt(spec), qi(c->start_at), qi(c->started_at), qi(c->finished_at),
                          qi(c->next_send_at), qi(c->sends_since_rest), qi(c->rest_until)));
    if (rc == DP_OK && sqlite3_changes(sq->db) == 0)
        rc = not_found(e, "campaign", c->id);
    free(spec);
    return rc;
}

static int sq_campaign_get(store *st, int64_t ws, int64_t id, struct st_campaign *out, dp_err *e)
{
    struct sq *sq = sq_of(st);
    sqlite3_stmt *s;
    int rc;
    memset(out, 0, sizeof *out);
    rc = q_one(sq, &s, Q_CAMP_GET, "campaign_get", e, QARGS(qi(ws), qi(id)));
    if (rc == DP_OK)
        rc = read_campaign(s, out, 1, e);
    else if (rc == DP_ENOTFOUND)
        rc = not_found(e, "campaign", id);
    q_done(s);
    return rc;
}

static int sq_campaign_list(store *st, int64_t ws, int status, st_campaign_cb cb, void *ud,
                            dp_err *e)
{
    struct sq *sq = sq_of(st);
    sqlite3_stmt *s;
    int rc = q_bind(sq, &s, Q_CAMP_LIST, "campaign_list", e, QARGS(qi(ws), qi(status)));
    while (rc == DP_OK && q_next(sq, s, "campaign_list", &rc, e)) {
        struct st_campaign row;
        rc = read_campaign(s, &row, 0, e);
        if (rc != DP_OK)
            break;
        rc = cb(ud, &row);
        json_decref(row.spec);
    }
    q_done(s);
    return rc;
}

static int counts_add(struct sq *sq, int64_t id, const int64_t delta[MS__COUNT], dp_err *e)
{
    struct qarg a[2 + MS__COUNT];
    int64_t total = 0;
    int any = 0;
    int rc;

    for (int i = 0; i < MS__COUNT; i++) {
        total += delta[i];
        any |= delta[i] != 0;
        a[1 + i] = qi(delta[i]);
    }
    if (!any)
        return DP_OK; /* the engine calls this every turn; do not open a transaction for nothing */
    a[0] = qi(id);
    a[1 + MS__COUNT] = qi(total);
    rc = write_begin(sq, e);
    if (rc == DP_OK)
        rc = q_exec(sq, Q_CAMP_COUNTS, "campaign_counts_add", e, a, 2 + MS__COUNT);
    if (rc == DP_OK && sqlite3_changes(sq->db) == 0)
        rc = not_found(e, "campaign", id);
    return rc;
}

static int sq_campaign_counts_add(store *st, int64_t id, const int64_t delta[MS__COUNT], dp_err *e)
{
    return counts_add(sq_of(st), id, delta, e);
}

/* ---- messages ---------------------------------------------------------- */

/* Fills m from the current row with strings borrowed from the statement:
 * messages only ever reach callers through callbacks. */
static void read_message(sqlite3_stmt *q, struct st_message *m)
{
    m->id = c_i64(q, MC_ID);
    m->campaign_id = c_i64(q, MC_CAMPAIGN);
    m->phone = (char *)c_text(q, MC_PHONE);
    m->name = (char *)c_text(q, MC_NAME);
    m->vars = (char *)c_text(q, MC_VARS);
    m->status = sqlite3_column_int(q, MC_STATUS);
    m->attempts = sqlite3_column_int(q, MC_ATTEMPTS);
    m->sender_id = c_i64(q, MC_SENDER);
    m->provider_id = (char *)c_text(q, MC_PROVIDER_ID);
    m->error_code = (char *)c_text(q, MC_ERROR_CODE);
    m->error_detail = (char *)c_text(q, MC_ERROR_DETAIL);
    m->queued_at = c_i64(q, MC_QUEUED_AT);
    m->sent_at = c_i64(q, MC_SENT_AT);
    m->delivered_at = c_i64(q, MC_DELIVERED_AT);
    m->read_at = c_i64(q, MC_READ_AT);
    m->failed_at = c_i64(q, MC_FAILED_AT);
    m->next_attempt_at = c_i64(q, MC_NEXT_ATTEMPT);
    m->reply = (char *)c_text(q, MC_REPLY);
    m->button_id = (char *)c_text(q, MC_BUTTON);
    m->replied_at = c_i64(q, MC_REPLIED_AT);
    m->clicked_at = c_i64(q, MC_CLICKED_AT);
}

static int sq_message_insert(store *st, struct st_message *m, dp_err *e)
{
    struct sq *sq = sq_of(st);
    int rc;
    if (!m->phone)
        return dp_err_set(e, DP_EINVAL, "message_insert: phone is required");
    rc = write_begin(sq, e);
    if (rc != DP_OK)
        return rc;
    /* a missing campaign: DP_ENOTFOUND */
    rc = q_exec(sq, Q_MSG_INSERT, "message_insert", e,
                QARGS(qi(m->campaign_id), qt(m->phone), qt(m->name), qt(m->vars), qi(m->status),
                      qi(m->attempts), qi(m->sender_id), qt(m->provider_id), qt(m->error_code),
                      qt(m->error_detail), qi(m->queued_at), qi(m->sent_at),
                      qi(m->delivered_at), qi(m->read_at), qi(m->failed_at),
                      qi(m->next_attempt_at)));
    if (rc == DP_OK)
        m->id = (int64_t)sqlite3_last_insert_rowid(sq->db);
    return rc;
}

/* The hot path: two calls per message sent. */
static int sq_message_update(store *st, const struct st_message *m, dp_err *e)
{
    struct sq *sq = sq_of(st);
    int rc = write_begin(sq, e);
    if (rc != DP_OK)
        return rc;
    rc = q_exec(sq, Q_MSG_UPDATE, "message_update", e,
                QARGS(qi(m->id), qi(m->status), qi(m->attempts), qi(m->sender_id),
                      qt(m->provider_id), qt(m->error_code), qt(m->error_detail),
                      qi(m->queued_at), qi(m->sent_at), qi(m->delivered_at), qi(m->read_at),
                      qi(m->failed_at), qi(m->next_attempt_at)));
    if (rc == DP_OK && sqlite3_changes(sq->db) == 0)
        rc = not_found(e, "message", m->id);
    return rc;
}

/* Runs a message query whose ?1..?3 are campaign, after_id and limit. */
static int messages_each(struct sq *sq, enum qid id, int64_t campaign_id, int status,
                         int64_t after_id, int64_t limit, st_message_cb cb, void *ud, dp_err *e)
{
    const struct qarg a[] = {qi(campaign_id), qi(after_id), qi(sql_limit(limit)), qi(status)};
    sqlite3_stmt *s;
    int rc = q_bind(sq, &s, id, q_name[id], e, a, id == Q_MSG_LIST_STATUS ? 4 : 3);
    while (rc == DP_OK && q_next(sq, s, q_name[id], &rc, e)) {
        struct st_message m;
        read_message(s, &m);
        rc = cb(ud, &m);
    }
    q_done(s);
    return rc;
}

static int sq_message_queued(store *st, int64_t campaign_id, int64_t after_id, int64_t limit,
                             st_message_cb cb, void *ud, dp_err *e)
{
    return messages_each(sq_of(st), Q_MSG_QUEUED, campaign_id, MS_QUEUED, after_id, limit, cb, ud,
                         e);
}

static int sq_message_list(store *st, int64_t campaign_id, int status, int64_t after_id,
                           int64_t limit, st_message_cb cb, void *ud, dp_err *e)
{
    return messages_each(sq_of(st), status < 0 ? Q_MSG_LIST : Q_MSG_LIST_STATUS, campaign_id,
                         status, after_id, limit, cb, ud, e);
}

/* Whether a receipt may move a message from status old to nw (one of sent,
 * delivered, read, failed). Forward along queued < sending < sent <
 * delivered < read; failed only after sending or sent (a gateway may reject
 * what it first accepted) and never after delivery; unknown -- we crashed
 * while sending -- yields to whatever the gateway proves; failed and
 * skipped are final. */
static int receipt_moves(int old, int nw)
{
    switch (old) {
    case MS_QUEUED:
    case MS_SENDING:
    case MS_SENT:
    case MS_DELIVERED:
    case MS_READ:
        if (nw == MS_FAILED)
            return old == MS_SENDING || old == MS_SENT;
        return nw > old; /* the enum lists queued..read in their order */
    case MS_UNKNOWN:
        return 1;
    default:
        return 0;
    }
}

static int sq_message_receipt(store *st, int64_t sender_id, const char *provider_id, int new_status,
                              int64_t at, const char *code, const char *detail,
                              int64_t *campaign_id, int *old_status, int *changed, dp_err *e)
{
    struct sq *sq = sq_of(st);
    sqlite3_stmt *s;
    int64_t msg_id = 0;
    int old = 0;
    int rc = DP_OK;

    *changed = 0;
    if (new_status != MS_SENT && new_status != MS_DELIVERED && new_status != MS_READ &&
        new_status != MS_FAILED)
        return dp_err_set(e, DP_EINVAL, "message_receipt: status %s is not a receipt",
                          msg_status_name(new_status));
    if (!provider_id)
        return dp_err_set(e, DP_EINVAL, "message_receipt: provider id is required");
    /* Read and write under the same write lock, so the forward-only decision
     * is made on the status the update will overwrite. */
    rc = write_begin(sq, e);
    if (rc != DP_OK)
        return rc;

    rc = q_one(sq, &s, Q_MSG_RECEIPT_FIND, "message_receipt", e,
               QARGS(qi(sender_id), qt(provider_id)));
    if (rc == DP_OK) {
        msg_id = c_i64(s, 0);
        *campaign_id = c_i64(s, 1);
        old = sqlite3_column_int(s, 2);
        *old_status = old;
    } else if (rc == DP_ENOTFOUND) {
        rc = dp_err_set(e, DP_ENOTFOUND, "no message with provider id \"%s\" from sender %lld",
                        provider_id, (long long)sender_id);
    }
    q_done(s);
    if (rc != DP_OK || !receipt_moves(old, new_status))
        return rc; /* a late or repeated receipt changes nothing */

    rc = q_exec(sq, Q_MSG_RECEIPT_SET, "message_receipt", e,
                QARGS(qi(msg_id), qi(new_status), qi(at),
                      qt(new_status == MS_FAILED ? code : NULL),
                      qt(new_status == MS_FAILED ? detail : NULL)));
    if (rc == DP_OK)
        *changed = 1;
    return rc;
}

static int sq_message_recover(store *st, int64_t campaign_id, int resend, int64_t *n, dp_err *e)
{
    struct sq *sq = sq_of(st);
    int64_t delta[MS__COUNT] = {0};
    int to = resend ? MS_QUEUED : MS_UNKNOWN;
    int64_t moved = 0;
    int rc;

    *n = 0;
    rc = op_begin(sq, e);
    if (rc != DP_OK)
        return rc;
    rc = q_exec(sq, Q_MSG_RECOVER, "message_recover", e, QARGS(qi(campaign_id), qi(to)));
    if (rc == DP_OK)
        moved = (int64_t)sqlite3_changes64(sq->db);
    if (moved > 0) {
        delta[MS_SENDING] = -moved;
        delta[to] = moved;
        rc = counts_add(sq, campaign_id, delta, e);
    }
    rc = op_end(sq, rc, e);
    if (rc == DP_OK)
        *n = moved;
    return rc;
}

static int sq_message_reply(store *st, int64_t sender_id, const char *phone,
                            const char *context_id, const char *text, const char *button_id,
                            int64_t at, int64_t *campaign_id, int *first_reply, int *first_click,
                            dp_err *e)
{
    struct sq *sq = sq_of(st);
    sqlite3_stmt *s;
    int64_t msg_id = 0, replied_at = 0, clicked_at = 0;
    int rc;
    *first_reply = *first_click = 0;
    if (!phone)
        return dp_err_set(e, DP_EINVAL, "message_reply: phone is required");
    rc = op_begin(sq, e);
    if (rc != DP_OK)
        return rc;
    /* the quoted message first; a quote of something disparo did not send
     * (or no quote at all) falls back to the latest send to that phone */
    for (int pass = context_id ? 0 : 1; pass < 2 && !msg_id && rc == DP_OK; pass++) {
        rc = q_one(sq, &s, pass == 0 ? Q_MSG_REPLY_BY_CONTEXT : Q_MSG_REPLY_BY_PHONE,
                   "message_reply", e, QARGS(qi(sender_id), qt(pass == 0 ? context_id : phone)));
        if (rc == DP_OK) {
            msg_id = c_i64(s, 0);
            *campaign_id = c_i64(s, 1);
            replied_at = c_i64(s, 2);
            clicked_at = c_i64(s, 3);
        } else if (rc == DP_ENOTFOUND) {
            rc = DP_OK;
        }
        q_done(s);
    }
    if (rc == DP_OK && !msg_id)
        rc = dp_err_set(e, DP_ENOTFOUND, "no message from sender %lld to %s to answer",
                        (long long)sender_id, phone);
    if (rc == DP_OK)
        rc = q_exec(sq, Q_MSG_REPLY_SET, "message_reply", e,
                    QARGS(qi(msg_id), qt(text), qt(button_id), qi(at)));
    if (rc != DP_OK)
        return op_end(sq, rc, e);
    *first_reply = replied_at == 0;
    *first_click = button_id && clicked_at == 0;
    if (*first_reply || *first_click)
        rc = q_exec(sq, Q_CAMP_REPLIES, "message_reply", e,
                    QARGS(qi(*campaign_id), qi(*first_reply), qi(*first_click)));
    return op_end(sq, rc, e);
}

static int sq_receipt_park(store *st, int64_t sender_id, const char *provider_id, int status,
                           int64_t at, const char *code, const char *detail, dp_err *e)
{
    struct sq *sq = sq_of(st);
    int rc = write_begin(sq, e);
    if (rc == DP_OK)
        rc = q_exec(sq, Q_EARLY_PARK, "receipt_park", e,
                    QARGS(qi(sender_id), qt(provider_id), qi(status), qi(at), qt(code),
                          qt(detail)));
    return rc;
}

static int sq_receipt_parked_count(store *st, int64_t *n, dp_err *e)
{
    return scalar(sq_of(st), Q_EARLY_COUNT, n, "receipt_parked_count", e);
}

static int sq_restriction_any(store *st, int *any, dp_err *e)
{
    int64_t v = 0;
    int rc = scalar(sq_of(st), Q_RESTRICT_ANY, &v, "restriction_any", e);
    *any = v != 0;
    return rc;
}

static int sq_receipt_take(store *st, int64_t sender_id, const char *provider_id,
                           st_receipt_cb cb, void *ud, dp_err *e)
{
    struct sq *sq = sq_of(st);
    sqlite3_stmt *s;
    int found = 0;
    int rc = q_bind(sq, &s, Q_EARLY_TAKE, "receipt_take", e,
                    QARGS(qi(sender_id), qt(provider_id)));
    /* applied in status order (sent < delivered < read), as they happened */
    while (rc == DP_OK && q_next(sq, s, "receipt_take", &rc, e)) {
        found = 1;
        rc = cb(ud, sqlite3_column_int(s, 0), c_i64(s, 1), c_text(s, 2), c_text(s, 3));
    }
    q_done(s);
    if (rc == DP_OK && found) {
        rc = write_begin(sq, e);
        if (rc == DP_OK)
            rc = q_exec(sq, Q_EARLY_DROP, "receipt_take", e,
                        QARGS(qi(sender_id), qt(provider_id)));
    }
    return rc;
}

/* ---- restrictions ------------------------------------------------------ */

/* The built-in lists and how long their entries last (days, 0 = forever),
 * as the seed system had them. */
static const struct {
    const char *name;
    int64_t days;
} builtin_lists[] = {
    {"do_not_disturb", 0}, {"blocked", 365}, {"not_interested", 7}, {"no_whatsapp", 0}};

/* The index of the built-in list called name, or -1. */
static int rlist_builtin(const char *name)
{
    for (size_t i = 0; i < sizeof builtin_lists / sizeof builtin_lists[0]; i++)
        if (strcmp(builtin_lists[i].name, name) == 0)
            return (int)i;
    return -1;
}

static int rlist_get(struct sq *sq, int64_t ws, const char *name, int64_t *id, int64_t *days,
                     dp_err *e)
{
    sqlite3_stmt *s;
    int i;
    int rc = q_one(sq, &s, Q_RLIST_FIND, "restriction_add", e, QARGS(qi(ws), qt(name)));
    if (rc == DP_OK) {
        *id = c_i64(s, 0);
        *days = c_i64(s, 1);
    }
    q_done(s);
    if (rc != DP_ENOTFOUND)
        return rc;
    i = rlist_builtin(name);
    if (i < 0)
        return dp_err_set(e, DP_ENOTFOUND, "restriction list %s not found", name);
    rc = write_begin(sq, e);
    if (rc == DP_OK)
        rc = q_exec(sq, Q_RLIST_INSERT, "restriction_add", e,
                    QARGS(qi(ws), qt(name), qi(builtin_lists[i].days), qi(now_ms())));
    if (rc == DP_OK) {
        *id = (int64_t)sqlite3_last_insert_rowid(sq->db);
        *days = builtin_lists[i].days;
    }
    return rc;
}

static int sq_restriction_add(store *st, int64_t ws, const char *list, const char *phone,
                              int64_t sender_id, const char *reason, const char *source,
                              int64_t at, dp_err *e)
{
    struct sq *sq = sq_of(st);
    int64_t list_id = 0, days = 0;
    int rc = op_begin(sq, e);
    if (rc != DP_OK)
        return rc;
    rc = rlist_get(sq, ws, list, &list_id, &days, e);
    if (rc == DP_OK)
        rc = q_exec(sq, Q_RESTRICT_ADD, "restriction_add", e,
                    QARGS(qi(list_id), qi(ws), qt(phone), qi(sender_id), qt(reason), qt(source),
                          qi(at), qi(days ? at + days * 86400000LL : 0)));
    return op_end(sq, rc, e);
}

static int sq_restriction_check(store *st, int64_t ws, const char *phone, const char *alt,
                                int64_t sender_id, int64_t now, char *list, size_t cap,
                                dp_err *e)
{
    struct sq *sq = sq_of(st);
    sqlite3_stmt *s;
    int rc;
    list[0] = '\0';
    rc = q_one(sq, &s, Q_RESTRICT_CHECK, "restriction_check", e,
               QARGS(qi(ws), qt(phone), qt(alt ? alt : phone), qi(sender_id), qi(now)));
    if (rc == DP_OK)
        snprintf(list, cap, "%s", c_text(s, 0));
    else if (rc == DP_ENOTFOUND)
        rc = DP_OK;
    q_done(s);
    return rc;
}

/* Makes the default rules the first time a workspace's rules are used; the
 * keyword_seeded row, not the absence of rules, says it happened, so an
 * operator who deleted them all keeps none. */
static int kw_seed(struct sq *sq, int64_t ws, dp_err *e)
{
    sqlite3_stmt *s;
    int seeded = 0;
    int rc = q_one(sq, &s, Q_KW_SEEDED, "keyword_rules", e, QARGS(qi(ws)));
    if (rc == DP_OK)
        seeded = sqlite3_column_int(s, 0);
    else if (rc == DP_ENOTFOUND) /* EXISTS always gives a row */
        rc = db_fail(sq->db, e, "keyword_rules");
    q_done(s);
    if (rc != DP_OK || seeded)
        return rc;
    /* first use: the defaults (keyword.h), case-insensitive */
    if ((rc = op_begin(sq, e)) != DP_OK)
        return rc;
    for (size_t i = 0; keyword_default(i) && rc == DP_OK; i++)
        rc = q_exec(sq, Q_KW_INSERT, "keyword_rules", e,
                    QARGS(qi(ws), qt(keyword_default(i)),
                          qt(keyword_match_name(KEYWORD_DEFAULT_MATCH)), qi(0),
                          qt(KEYWORD_DEFAULT_LIST), qi(now_ms())));
    if (rc == DP_OK)
        rc = q_exec(sq, Q_KW_SEED_MARK, "keyword_rules", e, QARGS(qi(ws)));
    return op_end(sq, rc, e);
}

/* ---- restriction lists and keyword rules, as operators manage them ---- */

/* The built-in lists exist from the first look at a workspace's lists. */
static int rlists_ensure(struct sq *sq, int64_t ws, dp_err *e)
{
    int rc = DP_OK;
    for (size_t i = 0; i < sizeof builtin_lists / sizeof builtin_lists[0] && rc == DP_OK; i++) {
        int64_t id, days;
        rc = rlist_get(sq, ws, builtin_lists[i].name, &id, &days, e);
    }
    return rc;
}

static int rlist_rows(struct sq *sq, int64_t ws, int64_t id, const char *name, int64_t now,
                      st_rlist_cb cb, void *ud, int *found, dp_err *e)
{
    sqlite3_stmt *s;
    int rc = q_bind(sq, &s, Q_RLIST_SEL, "rlist", e, QARGS(qi(ws), qi(now), qi(id), qt(name)));
    while (rc == DP_OK && q_next(sq, s, "rlist", &rc, e)) {
        struct st_rlist l = {.id = c_i64(s, 0),
                             .ws = ws,
                             .retention_days = c_i64(s, 2),
                             .created_at = c_i64(s, 3),
                             .entries = c_i64(s, 4)};
        snprintf(l.name, sizeof l.name, "%s", c_text(s, 1));
        l.builtin = rlist_builtin(l.name) >= 0;
        if (found)
            *found = 1;
        rc = cb(ud, &l);
    }
    q_done(s);
    return rc;
}

static int sq_rlist_all(store *st, int64_t ws, int64_t now, st_rlist_cb cb, void *ud, dp_err *e)
{
    struct sq *sq = sq_of(st);
    int rc = rlists_ensure(sq, ws, e);
    if (rc == DP_OK)
        rc = rlist_rows(sq, ws, 0, NULL, now, cb, ud, NULL, e);
    return rc;
}

static int rlist_copy_cb(void *ud, const struct st_rlist *l)
{
    *(struct st_rlist *)ud = *l;
    return 0;
}

static int sq_rlist_get(store *st, int64_t ws, int64_t id, const char *name, int64_t now,
                        struct st_rlist *out, dp_err *e)
{
    struct sq *sq = sq_of(st);
    int found = 0;
    int rc = rlists_ensure(sq, ws, e);
    if (rc == DP_OK)
        rc = rlist_rows(sq, ws, id > 0 ? id : 0, id > 0 ? NULL : name, now, rlist_copy_cb, out,
                        &found, e);
    if (rc == DP_OK && !found) {
        if (id > 0)
            rc = not_found(e, "restriction list", id);
        else
            rc = dp_err_set(e, DP_ENOTFOUND, "restriction list %s not found", name ? name : "");
    }
    return rc;
}

static int sq_rlist_create(store *st, int64_t ws, const char *name, int64_t retention_days,
                           int64_t *id, dp_err *e)
{
    struct sq *sq = sq_of(st);
    int rc = op_begin(sq, e);
    if (rc != DP_OK)
        return rc;
    /* built-in names are taken even before the built-in list exists */
    rc = rlists_ensure(sq, ws, e);
    if (rc == DP_OK) {
        rc = q_exec(sq, Q_RLIST_INSERT, "rlist_create", e,
                    QARGS(qi(ws), qt(name), qi(retention_days), qi(now_ms())));
        if (rc == DP_OK)
            *id = (int64_t)sqlite3_last_insert_rowid(sq->db);
        else if (rc == DP_ECONFLICT)
            dp_err_set(e, DP_ECONFLICT, "a restriction list named %s already exists", name);
    }
    return op_end(sq, rc, e);
}

/* *cur = list id of ws when it is an operator's own; a built-in list is
 * DP_EINVAL, with why saying what is fixed about it. */
static int rlist_custom(store *st, int64_t ws, int64_t id, const char *why, struct st_rlist *cur,
                        dp_err *e)
{
    int rc = sq_rlist_get(st, ws, id, NULL, now_ms(), cur, e);
    if (rc == DP_OK && cur->builtin)
        rc = dp_err_set(e, DP_EINVAL, "%s is a built-in list%s", cur->name, why);
    return rc;
}

static int sq_rlist_update(store *st, int64_t ws, int64_t id, const char *name,
                           int64_t retention_days, dp_err *e)
{
    struct sq *sq = sq_of(st);
    struct st_rlist cur;
    int rc = op_begin(sq, e);
    if (rc != DP_OK)
        return rc;
    if ((rc = rlist_custom(st, ws, id, ": its name and retention are fixed", &cur, e)) != DP_OK)
        goto out;
    rc = q_exec(sq, Q_RLIST_UPDATE, "rlist_update", e,
                QARGS(qi(ws), qi(id), qt(name), qi(retention_days)));
    if (rc == DP_ECONFLICT)
        dp_err_set(e, DP_ECONFLICT, "a restriction list named %s already exists", name);
    /* keyword rules name their list: they follow it */
    if (rc == DP_OK && name && strcmp(name, cur.name) != 0)
        rc = q_exec(sq, Q_KW_RELIST, "rlist_update", e, QARGS(qi(ws), qt(cur.name), qt(name)));
out:
    return op_end(sq, rc, e);
}

static int sq_rlist_delete(store *st, int64_t ws, int64_t id, int64_t *entries, dp_err *e)
{
    struct sq *sq = sq_of(st);
    struct st_rlist cur;
    sqlite3_stmt *s;
    int64_t uses = 0;
    int rc = op_begin(sq, e);
    if (rc != DP_OK)
        return rc;
    *entries = 0;
    if ((rc = rlist_custom(st, ws, id, " and cannot be deleted", &cur, e)) != DP_OK)
        goto out;
    rc = q_one(sq, &s, Q_KW_USES, "rlist_delete", e, QARGS(qi(ws), qt(cur.name)));
    if (rc == DP_OK)
        uses = c_i64(s, 0);
    else if (rc == DP_ENOTFOUND) /* count(*) always gives a row */
        rc = db_fail(sq->db, e, "rlist_delete");
    q_done(s);
    if (rc != DP_OK)
        goto out;
    if (uses) {
        rc = dp_err_set(e, DP_ECONFLICT,
                        "%lld keyword rule(s) put phones on %s: delete them or point them at "
                        "another list first",
                        (long long)uses, cur.name);
        goto out;
    }
    rc = q_exec(sq, Q_RLIST_DROP_ENTRIES, "rlist_delete", e, QARGS(qi(id)));
    if (rc != DP_OK)
        goto out;
    *entries = sqlite3_changes(sq->db);
    rc = q_exec(sq, Q_RLIST_DELETE, "rlist_delete", e, QARGS(qi(ws), qi(id)));
out:
    return op_end(sq, rc, e);
}

/* No savepoint: one read and one write, cheap enough for a 100k-row import
 * in the caller's transaction. */
static int sq_restriction_put(store *st, int64_t ws, int64_t list_id, const char *phone,
                              int64_t sender_id, const char *reason, const char *source,
                              int64_t at, int64_t expires_at, int *created, dp_err *e)
{
    struct sq *sq = sq_of(st);
    sqlite3_stmt *s;
    int64_t days = 0;
    int rc;
    if (expires_at < 0) {
        /* not rlist_get: its entry count would make an import quadratic */
        rc = q_one(sq, &s, Q_RLIST_DAYS, "restriction_put", e, QARGS(qi(ws), qi(list_id)));
        if (rc == DP_OK)
            days = c_i64(s, 0);
        else if (rc == DP_ENOTFOUND)
            rc = not_found(e, "restriction list", list_id);
        q_done(s);
        if (rc != DP_OK)
            return rc;
        expires_at = days ? at + days * 86400000LL : 0;
    }
    if (created) {
        rc = q_one(sq, &s, Q_RESTRICT_EXISTS, "restriction_put", e,
                   QARGS(qi(list_id), qt(phone), qi(sender_id)));
        q_done(s);
        if (rc != DP_OK && rc != DP_ENOTFOUND)
            return rc;
        *created = rc == DP_ENOTFOUND;
    }
    rc = write_begin(sq, e);
    if (rc == DP_OK)
        rc = q_exec(sq, Q_RESTRICT_ADD, "restriction_put", e,
                    QARGS(qi(list_id), qi(ws), qt(phone), qi(sender_id), qt(reason), qt(source),
                          qi(at), qi(expires_at)));
    return rc;
}

static int sq_restriction_remove(store *st, int64_t ws, int64_t list_id, const char *phone,
                                 const char *alt, int64_t sender_id, int64_t *n, dp_err *e)
{
    struct sq *sq = sq_of(st);
    int rc = write_begin(sq, e);
    *n = 0;
    if (rc == DP_OK)
        rc = q_exec(sq, Q_RESTRICT_REMOVE, "restriction_remove", e,
                    QARGS(qi(ws), qi(list_id), qt(phone), qt(alt ? alt : phone), qi(sender_id)));
    if (rc == DP_OK)
        *n = sqlite3_changes(sq->db);
    return rc;
}

static int sq_restriction_entries(store *st, int64_t ws, const struct st_rentry_filter *f,
                                  st_rentry_cb cb, void *ud, dp_err *e)
{
    struct sq *sq = sq_of(st);
    sqlite3_stmt *s;
    int rc = q_bind(sq, &s, Q_RESTRICT_ENTRIES, "restriction_entries", e,
                    QARGS(qi(ws), qi(f->list_id), qt(f->phone), qt(f->alt ? f->alt : f->phone),
                          qi(f->sender_id), qi(f->after), qi(f->include_expired), qi(f->now),
                          qi(sql_limit(f->limit))));
    while (rc == DP_OK && q_next(sq, s, "restriction_entries", &rc, e)) {
        struct st_rentry r = {.id = c_i64(s, 0),
                              .list_id = c_i64(s, 1),
                              .list = c_text(s, 2),
                              .phone = c_text(s, 3),
                              .sender_id = c_i64(s, 4),
                              .reason = c_text(s, 5),
                              .source = c_text(s, 6),
                              .created_at = c_i64(s, 7),
                              .expires_at = c_i64(s, 8)};
        rc = cb(ud, &r);
    }
    q_done(s);
    return rc;
}

static int sq_restriction_purge(store *st, int64_t now, int64_t limit, int64_t *n, dp_err *e)
{
    struct sq *sq = sq_of(st);
    int rc = write_begin(sq, e);
    *n = 0;
    if (rc == DP_OK)
        rc = q_exec(sq, Q_RESTRICT_PURGE, "restriction_purge", e,
                    QARGS(qi(now), qi(sql_limit(limit))));
    if (rc == DP_OK)
        *n = sqlite3_changes(sq->db);
    return rc;
}

static int sq_kwrule_list(store *st, int64_t ws, int64_t id, st_kwrule_cb cb, void *ud, dp_err *e)
{
    struct sq *sq = sq_of(st);
    sqlite3_stmt *s;
    int rc, found = 0;
    if ((rc = kw_seed(sq, ws, e)) != DP_OK)
        return rc;
    rc = q_bind(sq, &s, Q_KW_ROWS, "kwrule_list", e, QARGS(qi(ws), qi(id)));
    while (rc == DP_OK && q_next(sq, s, "kwrule_list", &rc, e)) {
        struct st_kwrule k = {.id = c_i64(s, 0),
                              .keyword = c_text(s, 1),
                              .match = c_text(s, 2),
                              .case_sensitive = sqlite3_column_int(s, 3),
                              .list = c_text(s, 4),
                              .created_at = c_i64(s, 5)};
        found = 1;
        rc = cb(ud, &k);
    }
    q_done(s);
    if (rc == DP_OK && id > 0 && !found)
        rc = not_found(e, "keyword rule", id);
    return rc;
}

static int sq_kwrule_add(store *st, int64_t ws, const char *keyword, const char *match,
                         int case_sensitive, const char *list, int64_t *id, dp_err *e)
{
    struct sq *sq = sq_of(st);
    /* seeded first: the operator's first rule must not stand in for the defaults */
    int rc = kw_seed(sq, ws, e);
    if (rc == DP_OK)
        rc = write_begin(sq, e);
    if (rc == DP_OK)
        rc = q_exec(sq, Q_KW_INSERT, "kwrule_add", e,
                    QARGS(qi(ws), qt(keyword), qt(match), qi(case_sensitive ? 1 : 0), qt(list),
                          qi(now_ms())));
    if (rc == DP_OK)
        *id = (int64_t)sqlite3_last_insert_rowid(sq->db);
    return rc;
}

static int sq_kwrule_update(store *st, int64_t ws, int64_t id, const char *keyword,
                            const char *match, int case_sensitive, const char *list, dp_err *e)
{
    struct sq *sq = sq_of(st);
    int rc = write_begin(sq, e);
    if (rc == DP_OK)
        rc = q_exec(sq, Q_KW_UPDATE, "kwrule_update", e,
                    QARGS(qi(ws), qi(id), qt(keyword), qt(match),
                          qi(case_sensitive < 0 ? -1 : case_sensitive ? 1 : 0), qt(list)));
    if (rc == DP_OK && sqlite3_changes(sq->db) == 0)
        rc = not_found(e, "keyword rule", id);
    return rc;
}

static int sq_kwrule_delete(store *st, int64_t ws, int64_t id, dp_err *e)
{
    struct sq *sq = sq_of(st);
    int rc = write_begin(sq, e);
    if (rc == DP_OK)
        rc = q_exec(sq, Q_KW_DELETE, "kwrule_delete", e, QARGS(qi(ws), qi(id)));
    if (rc == DP_OK && sqlite3_changes(sq->db) == 0)
        rc = not_found(e, "keyword rule", id);
    return rc;
}

/* ---- events ------------------------------------------------------------ */

static int sq_event_add(store *st, int64_t campaign_id, int64_t at, const char *type,
                        const json_t *detail, dp_err *e)
{
    struct sq *sq = sq_of(st);
    char *text = NULL;
    int rc;
    if (!type)
        return dp_err_set(e, DP_EINVAL, "event_add: type is required");
    rc = json_text(detail, &text, e);
    if (rc == DP_OK)
        rc = write_begin(sq, e);
    if (rc == DP_OK)
        rc = q_exec(sq, Q_EVENT_INSERT, "event_add", e,
                    QARGS(qi(campaign_id), qi(at), qt(type), qt(text)));
    free(text);
    return rc;
}

static int sq_event_list(store *st, int64_t campaign_id, int64_t limit, st_event_cb cb, void *ud,
                         dp_err *e)
{
    struct sq *sq = sq_of(st);
    sqlite3_stmt *s;
    int rc = q_bind(sq, &s, Q_EVENT_LIST, "event_list", e,
                    QARGS(qi(campaign_id), qi(sql_limit(limit))));
    while (rc == DP_OK && q_next(sq, s, "event_list", &rc, e)) {
        struct st_event ev = {
            .id = c_i64(s, 0),
            .campaign_id = c_i64(s, 1),
            .at = c_i64(s, 2),
            .type = c_text(s, 3),
            .detail = c_text(s, 4),
        };
        rc = cb(ud, &ev);
    }
    q_done(s);
    return rc;
}

static const char *sq_path(store *st)
{
    const char *p = sqlite3_db_filename(sq_of(st)->db, "main");
    return p ? p : "";
}

/* ---- opening ----------------------------------------------------------- */

static const struct store_vtab sqlite_vtab = {
    .name = "sqlite",
    .close = sq_close,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .in_transaction = sq_in_transaction,
    .bootstrap = sq_bootstrap,
    .restriction_add = sq_restriction_add,
    .rlist_all = sq_rlist_all,
    .rlist_get = sq_rlist_get,
    .rlist_create = sq_rlist_create,
    .rlist_update = sq_rlist_update,
    .rlist_delete = sq_rlist_delete,
    .restriction_put = sq_restriction_put,
    .restriction_remove = sq_restriction_remove,
    .restriction_entries = sq_restriction_entries,
    .restriction_purge = sq_restriction_purge,
    .kwrule_list = sq_kwrule_list,
    .kwrule_add = sq_kwrule_add,
    .kwrule_update = sq_kwrule_update,
    .kwrule_delete = sq_kwrule_delete,
    .receipt_parked_count = sq_receipt_parked_count,
    .restriction_any = sq_restriction_any,
    .restriction_check = sq_restriction_check,
    .message_reply = sq_message_reply,
    .receipt_park = sq_receipt_park,
    .receipt_take = sq_receipt_take,
    .workspace_create = sq_workspace_create,
    .token_create = sq_token_create,
    .token_lookup = sq_token_lookup,
    .sender_create = sq_sender_create,
    .sender_get = sq_sender_get,
    .sender_list = sq_sender_list,
    .sender_update = sq_sender_update,
    .sender_delete = sq_sender_delete,
    .sender_in_use = sq_sender_in_use,
    .sender_recipient_touch = sq_sender_recipient_touch,
    .sender_recipients = sq_sender_recipients,
    .list_create = sq_list_create,
    .list_find = sq_list_find,
    .list_get = sq_list_get,
    .list_all = sq_list_all,
    .contact_upsert = sq_contact_upsert,
    .list_add = sq_list_add,
    .list_members = sq_list_members,
    .list_rename = sq_list_rename,
    .list_delete = sq_list_delete,
    .list_remove = sq_list_remove,
    .list_members_page = sq_list_members_page,
    .contact_search = sq_contact_search,
    .contact_get = sq_contact_get,
    .contact_lists = sq_contact_lists,
    .contact_history = sq_contact_history,
    .contact_delete = sq_contact_delete,
    .campaign_create = sq_campaign_create,
    .campaign_update = sq_campaign_update,
    .campaign_get = sq_campaign_get,
    .campaign_list = sq_campaign_list,
    .campaign_counts_add = sq_campaign_counts_add,
    .message_insert = sq_message_insert,
    .message_update = sq_message_update,
    .message_queued = sq_message_queued,
    .message_list = sq_message_list,
    .message_receipt = sq_message_receipt,
    .message_recover = sq_message_recover,
    .event_add = sq_event_add,
    .event_list = sq_event_list,
    .path = sq_path,
};

/* mkdir -p of the directory part of path. 0700: the database holds sender
 * credentials. */
static int make_parent_dirs(const char *path, dp_err *e)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    size_t n;
    if (!slash || slash == path)
        return DP_OK;
    n = (size_t)(slash - path);
    if (n >= sizeof dir)
        return dp_err_set(e, DP_EINVAL, "database path too long");
    memcpy(dir, path, n);
    dir[n] = '\0';
    for (char *p = dir + 1;; p++) {
        char c = *p;
        if (c != '/' && c != '\0')
            continue;
        *p = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST)
            return dp_err_errno(e, dir);
        *p = c;
        if (c == '\0')
            break;
    }
    return DP_OK;
}

/* Runs SQL that needs no parameters, outside the statement cache (setup only). */
static int exec_sql(sqlite3 *db, const char *sql, const char *what, dp_err *e)
{
    char *msg = NULL;
    int rc = DP_OK;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        rc = dp_err_set(e, DP_EDB, "%s: %s", what, msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
    }
    return rc;
}

/* The first column of the first row of sql as an integer, or as text into
 * buf when buf is given. */
static int query_one(sqlite3 *db, const char *sql, int64_t *num, char *buf, size_t bufsz, dp_err *e)
{
    sqlite3_stmt *s = NULL;
    int rc = DP_OK;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK || sqlite3_step(s) != SQLITE_ROW) {
        rc = db_fail(db, e, sql);
        goto out;
    }
    if (num)
        *num = c_i64(s, 0);
    if (buf)
        snprintf(buf, bufsz, "%s", c_text(s, 0) ? c_text(s, 0) : "");
out:
    sqlite3_finalize(s);
    return rc;
}

/* Brings the schema up to N_MIGRATIONS in one transaction, so a crash
 * mid-migration leaves the previous version intact. */
static int migrate(sqlite3 *db, dp_err *e)
{
    char sql[64];
    int64_t v = 0;
    int rc = query_one(db, "PRAGMA user_version", &v, NULL, 0, e);
    if (rc != DP_OK || v == N_MIGRATIONS)
        return rc;
    rc = exec_sql(db, "BEGIN IMMEDIATE", "migrate", e);
    if (rc != DP_OK)
        return rc;
    /* Again under the write lock: another process may have just migrated. */
    rc = query_one(db, "PRAGMA user_version", &v, NULL, 0, e);
    if (rc != DP_OK)
        goto out;
    if (v < 0 || v > N_MIGRATIONS) {
        rc = dp_err_set(e, DP_EDB, "database schema version %lld is newer than this binary's (%d)",
                        (long long)v, N_MIGRATIONS);
        goto out;
    }
    for (int i = (int)v; i < N_MIGRATIONS && rc == DP_OK; i++) {
        char what[32];
        snprintf(what, sizeof what, "migration %d", i + 1);
        rc = exec_sql(db, migrations[i], what, e);
    }
    if (rc != DP_OK)
        goto out;
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", N_MIGRATIONS);
    rc = exec_sql(db, sql, "migrate", e);
    if (rc == DP_OK)
        rc = exec_sql(db, "COMMIT", "migrate", e);
out:
    if (rc != DP_OK && !sqlite3_get_autocommit(db))
        (void)exec_sql(db, "ROLLBACK", "migrate", NULL);
    return rc;
}

int store_sqlite_open(const char *path, store **out, dp_err *e)
{
    struct sq *sq = NULL;
    char mode[16];
    int rc;

    *out = NULL;
    if (!path || !*path)
        return dp_err_set(e, DP_EINVAL, "database path is empty");
    rc = make_parent_dirs(path, e);
    if (rc != DP_OK)
        return rc;
    sq = calloc(1, sizeof *sq);
    if (!sq)
        return dp_err_set(e, DP_ENOMEM, "out of memory");
    sq->base.v = &sqlite_vtab;

    /* NOMUTEX: the store is used from one thread, so SQLite's own locking
     * would be pure overhead on the hot path. */
    if (sqlite3_open_v2(path, &sq->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        rc = dp_err_set(e, DP_EDB, "%s: %s", path,
                        sq->db ? sqlite3_errmsg(sq->db) : "cannot allocate a connection");
        goto out;
    }
    (void)sqlite3_extended_result_codes(sq->db, 1); /* tell UNIQUE from FOREIGN KEY */
    (void)sqlite3_busy_timeout(sq->db, 5000);

    rc = query_one(sq->db, "PRAGMA journal_mode = WAL", NULL, mode, sizeof mode, e);
    if (rc != DP_OK)
        goto out;
    /* An in-memory database (tests) reports "memory" and cannot do WAL. */
    if (strcmp(mode, "wal") != 0 && strcmp(mode, "memory") != 0) {
        rc = dp_err_set(e, DP_EDB, "%s: cannot use WAL journal (got %s)", path, mode);
        goto out;
    }
    /* synchronous=FULL: a commit must be on disk before the engine calls a
     * gateway, or a crash could forget a message that was really sent.
     * journal_size_limit trims the WAL back after a large burst. */
    rc = exec_sql(sq->db,
                  "PRAGMA synchronous = FULL;"
                  "PRAGMA foreign_keys = ON;"
                  "PRAGMA temp_store = MEMORY;"
                  "PRAGMA cache_size = -32768;"
                  "PRAGMA journal_size_limit = 67108864;",
                  "configure", e);
    if (rc != DP_OK)
        goto out;
    rc = migrate(sq->db, e);
    if (rc != DP_OK)
        goto out;
    for (int i = 0; i < Q__COUNT; i++) {
        if (sqlite3_prepare_v3(sq->db, q_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &sq->q[i], NULL) !=
            SQLITE_OK) {
            rc = dp_err_set(e, DP_EDB, "prepare %s: %s", q_name[i], sqlite3_errmsg(sq->db));
            goto out;
        }
    }
    *out = &sq->base;
    sq = NULL;
out:
    sq_close(sq ? &sq->base : NULL);
    return rc;
}
