/* What every store implementation shares: the names of message and campaign
 * statuses (as the API spells them) and the functions that release the rows
 * a store fills in. Backend-specific code lives in sqlite.c (and later pg.c). */
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

/* Indexed by enum msg_status / enum camp_status; the API and the CSV export
 * use these exact words, so they are part of the public contract. */
static const char *const msg_names[MS__COUNT] = {
    "queued", "sending", "sent", "delivered", "read", "failed", "skipped", "unknown",
};

static const char *const camp_names[CS__COUNT] = {
    "draft", "scheduled", "running", "paused", "completed", "cancelled",
};

/* "invalid" rather than NULL so that a bug shows up in the output instead of
 * crashing a printf; it is not a name either parser accepts. */
static const char *name_of(const char *const *names, int n, int v)
{
    if (v < 0 || v >= n)
        return "invalid";
    return names[v];
}

static int parse_of(const char *const *names, int n, const char *s)
{
    if (!s)
        return -1;
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

const char *msg_status_name(int st)
{
    return name_of(msg_names, MS__COUNT, st);
}

int msg_status_parse(const char *s)
{
    return parse_of(msg_names, MS__COUNT, s);
}

const char *camp_status_name(int st)
{
    return name_of(camp_names, CS__COUNT, st);
}

int camp_status_parse(const char *s)
{
    return parse_of(camp_names, CS__COUNT, s);
}

/* The clear functions free what the row owns and zero it, so clearing twice
 * (or clearing a row that was never filled but was zeroed) is harmless. */
void st_sender_clear(struct st_sender *s)
{
    if (!s)
        return;
    free(s->name);
    free(s->provider);
    json_decref(s->config);
    memset(s, 0, sizeof *s);
}

void st_campaign_clear(struct st_campaign *c)
{
    if (!c)
        return;
    free(c->name);
    free(c->state_reason);
    json_decref(c->spec);
    memset(c, 0, sizeof *c);
}

void st_message_clear(struct st_message *m)
{
    if (!m)
        return;
    free(m->phone);
    free(m->name);
    free(m->vars);
    free(m->provider_id);
    free(m->error_code);
    free(m->error_detail);
    free(m->reply);
    free(m->button_id);
    memset(m, 0, sizeof *m);
}
