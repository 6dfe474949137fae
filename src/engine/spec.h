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
#define SPEC_MAX_PARAMS 16
#define SPEC_MAX_BUTTONS 3

/* Media by link (message.media, or a template's header). */
struct spec_media {
    char *url; /* owned; NULL = none */
    char kind[16];
    char *filename;
};

struct camp_spec {
    char *text;  /* owned; "" for a template message without text */
    tmpl *tmpl;  /* owned, compiled from text */
    struct spec_media media;
    /* a Cloud API template: name, language, body parameters by variable name */
    char *tmpl_name;
    char tmpl_lang[16];
    char *params[SPEC_MAX_PARAMS];
    size_t n_params;
    struct spec_media header;
    /* quick-reply buttons */
    char *button_ids[SPEC_MAX_BUTTONS];
    char *button_titles[SPEC_MAX_BUTTONS];
    size_t n_buttons;
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
/* The campaign's message object as the API shows it (new reference). */
json_t *spec_message_json(const struct camp_spec *s);
/* A template parameter's value for one contact: the built-ins "name" and
 * "phone", else the contact's variable of that name; "" when it has none.
 * Borrowed from the arguments. */
const char *spec_param_value(const char *param, const char *name, const char *phone,
                             const json_t *vars);
/* The timezone used for {{greeting}}: the window's, else America/Sao_Paulo. */
const char *spec_timezone(const struct camp_spec *s);

#endif
