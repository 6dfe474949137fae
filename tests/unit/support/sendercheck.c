/* The checks of sendercheck.h, shared by the unit tests of every sender. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <jansson.h>

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
