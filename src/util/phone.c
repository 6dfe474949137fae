/* Phone normalisation for contact import, inline campaign contacts and the
 * API: a thin front on util/phonenum (libphonenumber) that keeps the
 * calling-code interface the callers were written against. */
#include "util/phone.h"

#include <stdio.h>
#include <string.h>

#include "util/phonenum.h"

/* The last default_cc mapped to a region: every call of an import passes the
 * same code, and libphonenumber's lookup is a map search plus a string copy.
 * Thread-local so that the cache needs no lock if a second thread ever
 * normalises. */
static _Thread_local char last_cc[8];
static _Thread_local char last_region[4];

static int region_for(const char *cc, char region[4], dp_err *e)
{
    size_t n = strlen(cc);
    if (n >= 1 && n <= 3 && strcmp(cc, last_cc) == 0) {
        memcpy(region, last_region, sizeof last_region);
        return DP_OK;
    }
    /* phonenum accepts a '+'; the interface here is digits only. A
     * non-geographic code ("800" -> "001") has no national numbers to read. */
    if (n < 1 || n > 3 || strspn(cc, "0123456789") != n ||
        phonenum_region_for_cc(cc, region) != DP_OK || region[0] < 'A' || region[0] > 'Z')
        return dp_err_set(e, DP_EINVAL, "unknown default country code \"%.8s\"", cc);
    memcpy(last_cc, cc, n + 1);
    memcpy(last_region, region, sizeof last_region);
    return DP_OK;
}

int phone_normalize(const char *in, const char *default_cc, char out[16], dp_err *e)
{
    char region[4];
    int rc;
    out[0] = '\0';
    if ((rc = region_for(default_cc ? default_cc : "55", region, e)) != DP_OK)
        return rc;
    return phonenum_normalize(in, region, out, e);
}

int phone_cc_check(const char *cc, dp_err *e)
{
    char region[4];
    return region_for(cc, region, e);
}

int64_t phone_key(const char *e164)
{
    int64_t k = 0;
    for (const char *p = e164; *p; p++)
        k = k * 10 + (*p - '0');
    return k;
}
