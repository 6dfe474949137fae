/* Private to src/engine/: what engine.c (the loop, senders, runners) shares
 * with create.c (campaign creation, PATCH, preview). Not for other folders. */
#ifndef DP_ENGINE_INT_H
#define DP_ENGINE_INT_H

#include "engine/engine.h"
#include "engine/spec.h"
#include "util/rng.h"

store *engine_store(engine *eng);
dp_rng *engine_rng(engine *eng);
/* Loads a committed campaign row into a runner and starts it per its status. */
int engine_campaign_load(engine *eng, const struct st_campaign *row, dp_err *e);
/* Replaces a loaded (paused) campaign's settings after a committed PATCH. */
void engine_campaign_respec(engine *eng, int64_t id, const char *name, struct camp_spec *spec,
                            json_t *spec_json, int64_t start_at);
/* The status the engine has for a loaded campaign, or -1. */
int engine_campaign_status(engine *eng, int64_t id);
/* Appends an event and logs it; errors are the caller's to handle. */
int engine_event(engine *eng, int64_t campaign_id, const char *type, json_t *detail_owned,
                 dp_err *e);

#endif
