/* The checks of sendercheck.h, shared by the unit tests of every sender. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <jansson.h>

#include "fakehttp.h"
#include "sendercheck.h"
#include "util/err.h"

void sendercheck_invalid(const struct sender_vtab *vt, const char *cfg_text, const char *needle)
{
    dp_err e = {0};
    json_t *cfg = json_loads(cfg_text, 0, NULL);
    if (!cfg)
        fail_msg("bad test JSON: %s", cfg_text);
    assert_int_equal(vt->validate(cfg, &e), DP_EINVAL);
    assert_int_equal(e.code, DP_EINVAL);
    if (!strstr(e.msg, needle))
        fail_msg("error \"%s\" does not mention \"%s\"", e.msg, needle);
    json_decref(cfg);
}

void sendercheck_send(struct event_base *base, const struct sender_vtab *vt, sender *s,
                      const struct sender_msg *m, sender_done_fn done, void *ud,
                      const int *n_done)
{
    int before = *n_done;
    assert_int_equal(vt->send(s, m, done, ud), DP_OK);
    assert_int_equal(*n_done, before); /* never synchronous */
    fakehttp_run_until(base, n_done, before + 1);
}

void sendercheck_health(struct event_base *base, const struct sender_vtab *vt, sender *s,
                        sender_health_fn done, void *ud, const int *n_health)
{
    int before = *n_health;
    assert_int_equal(vt->health(s, done, ud), DP_OK);
    assert_int_equal(*n_health, before); /* never synchronous */
    fakehttp_run_until(base, n_health, before + 1);
}
