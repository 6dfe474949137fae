/* A campaign's settings ("spec"): parsed and validated from the API's JSON,
 * stored as normalised JSON (defaults filled in), and compiled for the
 * engine. The same parser serves create, PATCH (merge then re-validate) and
 * loading after a restart, so the rules live in one place. */
#ifndef DP_SPEC_H
#define DP_SPEC_H

#include <jansson.h>
#include <stdint.h>

#include "engine/pacing.h"
#include "engine/template.h"
#include "engine/window.h"
#include "util/err.h"

#define SPEC_MAX_SENDERS 64

struct camp_spec {
    char *text;  /* owned */
    tmpl *tmpl;  /* owned, compiled from text */
    int64_t sender_ids[SPEC_MAX_SENDERS];
    size_t n_senders;
    int has_window;
    dp_window window;
    pacing_interval interval;
    int64_t pause_after; /* 0 = no pauses */
    int64_t pause_for_ms;
    int resend_unknown;
    int max_attempts;
    int max_sender_failures;
    int64_t list_id;        /* 0 = none */
    int64_t inline_contacts; /* how many contacts came inline, for the API's audience view */
};

/* Parses the settings in j (an API body or a stored spec; unknown keys are
 * the caller's business). Fills s; the caller frees it with spec_clear().
 * On error returns DP_EINVAL with e naming the field. */
int spec_parse(const json_t *j, struct camp_spec *s, dp_err *e) __attribute__((warn_unused_result));
/* The normalised JSON to store (new reference). */
json_t *spec_to_json(const struct camp_spec *s);
void spec_clear(struct camp_spec *s);
/* The timezone used for {{greeting}}: the window's, else America/Sao_Paulo. */
const char *spec_timezone(const struct camp_spec *s);

#endif
