/* Creating, changing and previewing campaigns. A campaign's messages are
 * made when it is created, one per phone, from its list and its inline
 * contacts, so later edits to the list do not change who a running campaign
 * reaches. Everything is written in one transaction: a request that fails
 * leaves nothing behind. */
#include <stdlib.h>
#include <string.h>

#include "engine/engine_int.h"
#include "util/buf.h"
#include "util/imap.h"
#include "util/log.h"
#include "util/phone.h"
#include "util/phonenum.h"
#include "util/timefmt.h"
#include "util/tz.h"

#define NAME_MAX_LEN 200
#define PREVIEW_MAX 50

/* Keys an API body may carry on create; anything else is a typo worth a 400. */
static const char *const create_keys[] = {
    "name",         "sender_ids",     "message",    "list_id",          "contacts",
    "start_at",     "window",         "interval",   "pause",            "resend_unknown",
    "max_attempts", "max_sender_failures", "allow_missing_vars", "start",
    "exclude_restricted", NULL};
static const char *const patch_keys[] = {"name",     "message",        "sender_ids",
                                         "start_at", "window",         "interval",
                                         "pause",    "resend_unknown", "max_attempts",
                                         "max_sender_failures",        NULL};

static int check_keys(const json_t *body, const char *const *allowed, dp_err *e)
{
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)body, k, v)
    {
        int ok = 0;
        for (size_t i = 0; allowed[i]; i++)
            ok |= strcmp(allowed[i], k) == 0;
        if (!ok)
            return dp_err_set(e, DP_EINVAL, "%s is not a campaign field that can be set here", k);
    }
    return DP_OK;
}

static int check_senders(engine *eng, int64_t ws, const struct camp_spec *s, dp_err *e)
{
    for (size_t i = 0; i < s->n_senders; i++)
        if (!engine_sender_exists(eng, ws, s->sender_ids[i]))
            return dp_err_set(e, DP_EINVAL, "sender_ids[%zu]: sender %lld does not exist", i,
                              (long long)s->sender_ids[i]);
    return DP_OK;
}

static int parse_start_at(const json_t *body, int64_t *out, dp_err *e)
{
    const json_t *v = json_object_get(body, "start_at");
    *out = 0;
    if (!v || json_is_null(v))
        return DP_OK;
    if (!json_is_string(v) || timefmt_parse(json_string_value(v), out))
        return dp_err_set(e, DP_EINVAL,
                          "start_at must be an RFC 3339 time such as 2026-12-01T09:00:00-03:00");
    return DP_OK;
}

/* ---- restricted contacts ---------------------------------------------- */

/* What the restriction lists hold of an audience, decided once per
 * campaign: the workspace's active entries are loaded into maps keyed by
 * phone (both Brazilian forms), then each contact is one look-up. */
#define RESTRICT_LISTS_MAX 256

struct restricted {
    int loaded;
    int exclude;
    size_t n_senders;
    const int64_t *sender_ids;
    imap global;  /* phone key -> list slot of its oldest global entry */
    imap per;     /* phone key -> mask of the campaign's senders it is restricted for */
    imap perlist; /* phone key -> list slot of its oldest per-sender entry */
    char *names[RESTRICT_LISTS_MAX];
    int64_t list_ids[RESTRICT_LISTS_MAX];
    int64_t by_list[RESTRICT_LISTS_MAX];
    size_t n_lists;
    int64_t total, excluded;
};

static void restricted_free(struct restricted *r)
{
    imap_free(&r->global);
    imap_free(&r->per);
    imap_free(&r->perlist);
    for (size_t i = 0; i < r->n_lists; i++)
        free(r->names[i]);
}

static int list_slot(struct restricted *r, int64_t list_id, const char *name)
{
    for (size_t i = 0; i < r->n_lists; i++)
        if (r->list_ids[i] == list_id)
            return (int)i;
    /* more lists than that in one workspace: the rest share the last slot's name */
    if (r->n_lists == RESTRICT_LISTS_MAX)
        return RESTRICT_LISTS_MAX - 1;
    if (!(r->names[r->n_lists] = strdup(name)))
        return -1;
    r->list_ids[r->n_lists] = list_id;
    return (int)r->n_lists++;
}

static int restricted_entry_cb(void *ud, const struct st_rentry *en)
{
    struct restricted *r = ud;
    char forms[2][PHONENUM_MAX];
    size_t nf = phonenum_variants(en->phone, forms);
    int slot = list_slot(r, en->list_id, en->list);
    int64_t bit = 0;
    if (slot < 0)
        return DP_ENOMEM;
    if (en->sender_id) {
        size_t i;
        for (i = 0; i < r->n_senders; i++)
            if (r->sender_ids[i] == en->sender_id)
                break;
        if (i == r->n_senders)
            return 0; /* another sender's entry: no bearing on this campaign */
        bit = (int64_t)((uint64_t)1 << i);
    }
    for (size_t k = 0; k < nf; k++) {
        int64_t key = phone_key(forms[k]), v = 0;
        /* entries come oldest first: the first list seen is the one named */
        if (!bit) {
            if (!imap_get(&r->global, key, NULL) && imap_put(&r->global, key, slot))
                return DP_ENOMEM;
            continue;
        }
        (void)imap_get(&r->per, key, &v);
        if (imap_put(&r->per, key, v | bit))
            return DP_ENOMEM;
        if (!imap_get(&r->perlist, key, NULL) && imap_put(&r->perlist, key, slot))
            return DP_ENOMEM;
    }
    return 0;
}

static int restricted_load(engine *eng, int64_t ws, struct restricted *r, int64_t now, dp_err *e)
{
    store *st = engine_store(eng);
    int any = 0, rc;
    imap_init(&r->global);
    imap_init(&r->per);
    imap_init(&r->perlist);
    r->loaded = 1;
    if ((rc = st->v->restriction_any(st, &any, e)) || !any)
        return rc;
    struct st_rentry_filter f = {.sender_id = -1, .now = now};
    rc = st->v->restriction_entries(st, ws, &f, restricted_entry_cb, r, e);
    if (rc == DP_ENOMEM)
        dp_err_set(e, DP_ENOMEM, NULL);
    return rc;
}

/* The list slot restricting this phone for every sender, or -1. */
static int restricted_slot(const struct restricted *r, int64_t key)
{
    int64_t v;
    if (!r->loaded)
        return -1;
    if (imap_get(&r->global, key, &v))
        return (int)v;
    if (r->n_senders && imap_get(&r->per, key, &v)) {
        uint64_t all = r->n_senders >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << r->n_senders) - 1;
        if (((uint64_t)v & all) == all && imap_get(&r->perlist, key, &v))
            return (int)v;
    }
    return -1;
}

static json_t *restricted_json(const struct restricted *r)
{
    json_t *by = json_object();
    for (size_t i = 0; i < r->n_lists; i++)
        if (r->by_list[i])
            json_object_set_new(by, r->names[i], json_integer(r->by_list[i]));
    return json_pack("{s:I, s:o, s:I}", "total", (json_int_t)r->total, "by_list", by, "excluded",
                     (json_int_t)r->excluded);
}

/* ---- audience --------------------------------------------------------- */

struct audience {
    engine *eng;
    const struct camp_spec *spec;
    int64_t campaign_id; /* 0 = only count (preview) */
    int64_t now;
    imap seen;
    int64_t counts[MS__COUNT];
    int64_t *missing; /* per template variable */
    int64_t missing_params[SPEC_MAX_PARAMS];
    json_t *previews; /* preview mode */
    size_t preview_limit;
    dp_err *e;
    int rc;
    struct restricted r;
};

/* One contact of the audience; vars is an object or NULL. */
static int audience_add(struct audience *a, const char *raw_phone, const char *name,
                        const json_t *vars)
{
    char phone[16];
    dp_err pe;
    const char *skip = NULL;
    char detail[DP_ERR_DETAIL_MAX] = "";
    int64_t key = 0;
    if (phone_normalize(raw_phone, engine_country_code(a->eng), phone, &pe)) {
        skip = "invalid_phone";
        snprintf(detail, sizeof detail, "%s", pe.msg);
        snprintf(phone, sizeof phone, "%.15s", raw_phone ? raw_phone : "");
    } else {
        key = phone_key(phone);
        if (imap_get(&a->seen, key, NULL)) {
            skip = "duplicate";
            snprintf(detail, sizeof detail, "the phone appears earlier in the audience");
        } else if (imap_put(&a->seen, key, 1)) {
            return a->rc = dp_err_set(a->e, DP_ENOMEM, NULL);
        }
    }
    if (!skip) {
        int slot = restricted_slot(&a->r, key);
        if (slot >= 0) {
            a->r.total++;
            a->r.by_list[slot]++;
            if (a->r.exclude) {
                a->r.excluded++;
                return 0;
            }
        }
        const tmpl *t = a->spec->tmpl;
        for (size_t i = 0; i < tmpl_var_count(t); i++)
            if (tmpl_var_missing(t, i, name, vars))
                a->missing[i]++;
        for (size_t i = 0; i < a->spec->n_params; i++)
            if (!*spec_param_value(a->spec->params[i], name, phone, vars))
                a->missing_params[i]++;
    }
    if (a->previews && !skip && json_array_size(a->previews) < a->preview_limit) {
        dp_buf b;
        buf_init(&b, 256 * 1024);
        struct tmpl_ctx ctx = {.phone = phone,
                               .name = name,
                               .vars = vars,
                               .local_hour = tz_local_hour(spec_timezone(a->spec), a->now / 1000),
                               .rng = engine_rng(a->eng)};
        dp_err re;
        if (tmpl_render(a->spec->tmpl, &ctx, &b, &re) == DP_OK)
            json_array_append_new(a->previews,
                                  json_pack("{s:s, s:s}", "phone", phone, "text", buf_str(&b)));
        buf_free(&b);
    }
    a->counts[skip ? MS_SKIPPED : MS_QUEUED]++;
    if (!a->campaign_id)
        return 0;
    char *vtxt = vars && json_object_size(vars) ? json_dumps(vars, JSON_COMPACT) : NULL;
    struct st_message m = {
        .campaign_id = a->campaign_id,
        .phone = phone,
        .name = (char *)(name && *name ? name : NULL),
        .vars = vtxt,
        .status = skip ? MS_SKIPPED : MS_QUEUED,
        .error_code = (char *)skip,
        .error_detail = skip ? detail : NULL,
        .queued_at = a->now,
    };
    store *st = engine_store(a->eng);
    int rc = st->v->message_insert(st, &m, a->e);
    free(vtxt);
    if (rc)
        return a->rc = rc;
    return 0;
}

static int member_cb(void *ud, const char *phone, const char *name, const char *vars_txt)
{
    struct audience *a = ud;
    json_t *vars = vars_txt ? json_loads(vars_txt, 0, NULL) : NULL;
    int rc = audience_add(a, phone, name, vars);
    json_decref(vars);
    return rc;
}

static int check_contacts(const json_t *contacts, dp_err *e)
{
    if (!contacts || json_is_null(contacts))
        return DP_OK;
    if (!json_is_array(contacts))
        return dp_err_set(e, DP_EINVAL, "contacts must be an array of {phone, name, vars}");
    size_t i;
    const json_t *c;
    json_array_foreach(contacts, i, c)
    {
        if (!json_is_object(c) || !json_is_string(json_object_get(c, "phone")))
            return dp_err_set(e, DP_EINVAL, "contacts[%zu].phone is required", i);
        const json_t *n = json_object_get(c, "name");
        if (n && !json_is_null(n) && !json_is_string(n))
            return dp_err_set(e, DP_EINVAL, "contacts[%zu].name must be a string", i);
        const json_t *v = json_object_get(c, "vars");
        if (v && !json_is_null(v)) {
            if (!json_is_object(v))
                return dp_err_set(e, DP_EINVAL, "contacts[%zu].vars must be an object", i);
            const char *k;
            const json_t *x;
            json_object_foreach((json_t *)v, k, x)
            {
                if (!json_is_string(x))
                    return dp_err_set(e, DP_EINVAL, "contacts[%zu].vars.%s must be a string", i,
                                      k);
            }
        }
    }
    return DP_OK;
}

static int audience_walk(struct audience *a, int64_t ws, int64_t list_id, const json_t *contacts,
                         int64_t list_limit)
{
    store *st = engine_store(a->eng);
    if (list_id) {
        int rc = st->v->list_members(st, ws, list_id, list_limit, member_cb, a, a->e);
        if (a->rc)
            return a->rc;
        if (rc)
            return rc;
    }
    size_t i;
    const json_t *c;
    json_array_foreach(contacts, i, c)
    {
        const json_t *n = json_object_get(c, "name");
        const json_t *v = json_object_get(c, "vars");
        if (audience_add(a, json_string_value(json_object_get(c, "phone")),
                         json_is_string(n) ? json_string_value(n) : NULL,
                         json_is_object(v) ? v : NULL))
            return a->rc;
    }
    return DP_OK;
}

static json_t *missing_json(const struct audience *a)
{
    json_t *m = json_object();
    for (size_t i = 0; i < tmpl_var_count(a->spec->tmpl); i++)
        if (a->missing[i])
            json_object_set_new(m, tmpl_var_name(a->spec->tmpl, i), json_integer(a->missing[i]));
    /* a template parameter is a variable too; the larger count wins a tie of names */
    for (size_t i = 0; i < a->spec->n_params; i++) {
        json_int_t had = json_integer_value(json_object_get(m, a->spec->params[i]));
        if (a->missing_params[i] > had)
            json_object_set_new(m, a->spec->params[i], json_integer(a->missing_params[i]));
    }
    return m;
}

static int64_t missing_total(const struct audience *a)
{
    int64_t n = 0;
    for (size_t i = 0; i < tmpl_var_count(a->spec->tmpl); i++)
        n += a->missing[i];
    for (size_t i = 0; i < a->spec->n_params; i++)
        n += a->missing_params[i];
    return n;
}

static int list_found_cb(void *ud, const struct st_list *l)
{
    (void)l;
    *(int *)ud = 1;
    return 0;
}

static int check_list(engine *eng, int64_t ws, int64_t list_id, dp_err *e)
{
    if (!list_id)
        return DP_OK;
    store *st = engine_store(eng);
    int found = 0;
    int rc = st->v->list_get(st, ws, list_id, list_found_cb, &found, e);
    if (rc == DP_ENOTFOUND || (!rc && !found))
        return dp_err_set(e, DP_EINVAL, "list_id: list %lld does not exist", (long long)list_id);
    return rc;
}

/* ---- create ----------------------------------------------------------- */

int engine_campaign_create(engine *eng, int64_t ws, const json_t *body, int64_t *id,
                           json_t **missing, dp_err *e)
{
    return engine_campaign_create_ex(eng, ws, body, id, missing, NULL, e);
}

int engine_campaign_create_ex(engine *eng, int64_t ws, const json_t *body, int64_t *id,
                              json_t **missing, json_t **restricted, dp_err *e)
{
    store *st = engine_store(eng);
    struct camp_spec spec;
    struct audience a = {0};
    json_t *spec_json = NULL;
    int have_spec = 0, rc;
    int64_t start_at = 0, now = timefmt_now_ms();
    *missing = NULL;
    imap_init(&a.seen);

    if ((rc = engine_flush(eng, e)))
        return rc;
    if (!json_is_object(body))
        return dp_err_set(e, DP_EINVAL, "the body must be a JSON object");
    if ((rc = check_keys(body, create_keys, e)))
        return rc;
    const json_t *name = json_object_get(body, "name");
    if (!json_is_string(name) || json_string_length(name) == 0 ||
        json_string_length(name) > NAME_MAX_LEN)
        return dp_err_set(e, DP_EINVAL, "name is required: a string of 1 to %d characters",
                          NAME_MAX_LEN);
    const json_t *contacts = json_object_get(body, "contacts");
    const json_t *start = json_object_get(body, "start");
    const json_t *allow = json_object_get(body, "allow_missing_vars");
    const json_t *excl = json_object_get(body, "exclude_restricted");
    if (start && !json_is_boolean(start))
        return dp_err_set(e, DP_EINVAL, "start must be true or false");
    if (excl && !json_is_boolean(excl))
        return dp_err_set(e, DP_EINVAL, "exclude_restricted must be true or false");
    if (allow && !json_is_boolean(allow))
        return dp_err_set(e, DP_EINVAL, "allow_missing_vars must be true or false");
    if ((rc = check_contacts(contacts, e)) || (rc = parse_start_at(body, &start_at, e)))
        return rc;
    if ((rc = spec_parse(body, &spec, e)))
        return rc;
    have_spec = 1;
    if ((rc = check_senders(eng, ws, &spec, e)) || (rc = check_list(eng, ws, spec.list_id, e)))
        goto out;
    if (!spec.list_id && json_array_size(contacts) == 0) {
        rc = dp_err_set(e, DP_EINVAL, "the audience is empty: give list_id or contacts");
        goto out;
    }
    spec.inline_contacts = (int64_t)json_array_size(contacts);
    spec_json = spec_to_json(&spec);

    int go = json_is_true(start);
    struct st_campaign row = {
        .ws = ws,
        .name = (char *)json_string_value(name),
        .status = go ? (start_at > now ? CS_SCHEDULED : CS_RUNNING) : CS_DRAFT,
        .spec = spec_json,
        .start_at = start_at,
        .created_at = now,
        .started_at = go && start_at <= now ? now : 0,
        .next_send_at = go ? (start_at > now ? start_at : now) : 0,
    };
    if ((rc = st->v->campaign_create(st, &row, e)))
        goto rollback;

    a.eng = eng;
    a.spec = &spec;
    a.campaign_id = row.id;
    a.now = now;
    a.e = e;
    a.missing = calloc(tmpl_var_count(spec.tmpl) + 1, sizeof *a.missing);
    if (!a.missing) {
        rc = dp_err_set(e, DP_ENOMEM, NULL);
        goto rollback;
    }
    a.r.exclude = json_is_true(excl);
    a.r.sender_ids = spec.sender_ids;
    a.r.n_senders = spec.n_senders;
    if ((rc = restricted_load(eng, ws, &a.r, now, e)))
        goto rollback;
    if ((rc = audience_walk(&a, ws, spec.list_id, contacts, 0)))
        goto rollback;
    if (missing_total(&a) && !json_is_true(allow)) {
        *missing = missing_json(&a);
        rc = dp_err_set(e, DP_EMISSINGVARS,
                        "the template uses variables some contacts lack; fill them in or set "
                        "allow_missing_vars");
        goto rollback;
    }
    if ((rc = st->v->campaign_counts_add(st, row.id, a.counts, e)))
        goto rollback;
    if ((rc = engine_event(eng, row.id, "created",
                           json_pack("{s:I, s:I, s:o}", "messages",
                                     (json_int_t)a.counts[MS_QUEUED], "skipped",
                                     (json_int_t)a.counts[MS_SKIPPED], "restricted",
                                     restricted_json(&a.r)),
                           e)))
        goto rollback;
    if (go && (rc = engine_event(eng, row.id,
                                 row.status == CS_SCHEDULED ? "scheduled" : "started", NULL, e)))
        goto rollback;
    if ((rc = st->v->commit(st, e)))
        goto rollback;
    *id = row.id;
    if (restricted)
        *restricted = restricted_json(&a.r);
    log_info(go ? (row.status == CS_SCHEDULED ? "campaign scheduled" : "campaign started")
                : "campaign created",
             "campaign=%lld messages=%lld skipped=%lld", (long long)row.id,
             (long long)a.counts[MS_QUEUED], (long long)a.counts[MS_SKIPPED]);
    if (go) {
        /* committed: a failure to load now is logged and retried at next start */
        dp_err le;
        if (engine_campaign_load(eng, &row, &le))
            log_error("campaign not loaded", "campaign=%lld err=\"%s\"", (long long)row.id,
                      le.msg);
    }
    goto out;
rollback:
    st->v->rollback(st);
out:
    free(a.missing);
    imap_free(&a.seen);
    restricted_free(&a.r);
    json_decref(spec_json);
    if (have_spec)
        spec_clear(&spec);
    return rc;
}

/* ---- patch ------------------------------------------------------------ */

int engine_campaign_patch(engine *eng, int64_t ws, int64_t id, const json_t *body, dp_err *e)
{
    store *st = engine_store(eng);
    struct st_campaign row = {0};
    struct camp_spec spec;
    int have_spec = 0, rc;
    json_t *merged = NULL;
    if ((rc = engine_flush(eng, e)))
        return rc;
    if (!json_is_object(body))
        return dp_err_set(e, DP_EINVAL, "the body must be a JSON object");
    if ((rc = check_keys(body, patch_keys, e)))
        return rc;
    if ((rc = st->v->campaign_get(st, ws, id, &row, e)))
        return rc;
    int live = engine_campaign_status(eng, id);
    int cur = live >= 0 ? live : row.status;
    if (cur != CS_DRAFT && cur != CS_PAUSED) {
        rc = dp_err_set(e, DP_ETRANSITION, "only a draft or paused campaign can be changed; this one is %s",
                        camp_status_name(cur));
        goto out;
    }
    const json_t *name = json_object_get(body, "name");
    if (name && (!json_is_string(name) || json_string_length(name) == 0 ||
                 json_string_length(name) > NAME_MAX_LEN)) {
        rc = dp_err_set(e, DP_EINVAL, "name must be a string of 1 to %d characters", NAME_MAX_LEN);
        goto out;
    }
    int64_t start_at = row.start_at;
    if (json_object_get(body, "start_at") && (rc = parse_start_at(body, &start_at, e)))
        goto out;
    merged = json_deep_copy(row.spec);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)body, k, v)
    {
        if (strcmp(k, "name") && strcmp(k, "start_at"))
            json_object_set(merged, k, v);
    }
    if ((rc = spec_parse(merged, &spec, e)))
        goto out;
    have_spec = 1;
    if ((rc = check_senders(eng, ws, &spec, e)))
        goto out;
    json_t *norm = spec_to_json(&spec);
    struct st_campaign w = row;
    w.status = cur;
    w.spec = norm;
    w.start_at = start_at;
    if (name)
        w.name = (char *)json_string_value(name);
    rc = st->v->campaign_update(st, &w, e);
    if (!rc)
        rc = engine_event(eng, id, "updated", NULL, e);
    if (!rc)
        rc = st->v->commit(st, e);
    if (rc) {
        st->v->rollback(st);
        json_decref(norm);
        goto out;
    }
    if (live >= 0) {
        engine_campaign_respec(eng, id, w.name, &spec, norm, start_at);
        have_spec = 0;
    } else {
        json_decref(norm);
    }
out:
    json_decref(merged);
    if (have_spec)
        spec_clear(&spec);
    st_campaign_clear(&row);
    return rc;
}

/* ---- preview ---------------------------------------------------------- */

int engine_campaign_preview(engine *eng, int64_t ws, const json_t *body, json_t **out, dp_err *e)
{
    struct audience a = {0};
    struct camp_spec spec;
    int rc;
    json_t *full = NULL;
    imap_init(&a.seen);
    if (!json_is_object(body))
        return dp_err_set(e, DP_EINVAL, "the body must be a JSON object");
    const json_t *contacts = json_object_get(body, "contacts");
    if ((rc = check_contacts(contacts, e)))
        return rc;
    json_int_t limit = 5;
    const json_t *lim = json_object_get(body, "limit");
    if (lim) {
        if (!json_is_integer(lim) || json_integer_value(lim) < 1 ||
            json_integer_value(lim) > PREVIEW_MAX)
            return dp_err_set(e, DP_EINVAL, "limit must be an integer from 1 to %d", PREVIEW_MAX);
        limit = json_integer_value(lim);
    }
    /* the preview needs no senders: borrow a placeholder so the spec parses */
    full = json_deep_copy(body);
    if (!json_object_get(full, "sender_ids"))
        json_object_set_new(full, "sender_ids", json_pack("[i]", 1));
    if ((rc = spec_parse(full, &spec, e)))
        goto out_nospec;
    if ((rc = check_list(eng, ws, spec.list_id, e)))
        goto out;
    a.eng = eng;
    a.spec = &spec;
    a.now = timefmt_now_ms();
    a.e = e;
    a.previews = json_array();
    a.preview_limit = (size_t)limit;
    a.missing = calloc(tmpl_var_count(spec.tmpl) + 1, sizeof *a.missing);
    if (!a.missing || !a.previews) {
        rc = dp_err_set(e, DP_ENOMEM, NULL);
        goto out;
    }
    /* without sender_ids only global entries count (the placeholder sender is no sender) */
    a.r.sender_ids = spec.sender_ids;
    a.r.n_senders = json_object_get(body, "sender_ids") ? spec.n_senders : 0;
    a.r.exclude = json_is_true(json_object_get(body, "exclude_restricted"));
    if ((rc = restricted_load(eng, ws, &a.r, a.now, e)))
        goto out;
    if ((rc = audience_walk(&a, ws, spec.list_id, contacts, 0)))
        goto out;
    *out = json_pack("{s:O, s:o, s:I, s:o}", "previews", a.previews, "missing", missing_json(&a),
                     "contacts", (json_int_t)a.counts[MS_QUEUED], "restricted",
                     restricted_json(&a.r));
out:
    spec_clear(&spec);
out_nospec:
    json_decref(a.previews);
    free(a.missing);
    imap_free(&a.seen);
    restricted_free(&a.r);
    json_decref(full);
    return rc;
}
