/* Phone numbers as the API stores them: digits only, country code included
 * (E.164 without the '+'), so the same person typed two ways is one contact. */
#ifndef DP_PHONE_H
#define DP_PHONE_H

#include <stdint.h>

#include "util/err.h"

/* Normalises `in` into `out` (NUL-terminated E.164 digits without '+', at
 * most 15): libphonenumber's reading of the number in the region of
 * default_cc, as util/phonenum.h describes it (separators ignored, '+' or
 * "00" for a number with its country code, national trunk prefixes dropped,
 * Brazilian numbers checked against the numbering plan, mobiles also in
 * their old 8-digit form).
 *
 * default_cc is 1 to 3 digits of a country calling code with a region
 * ("55" = BR, "1" = US, "44" = GB); NULL means "55". The code-to-region
 * mapping of the last code used is cached.
 * Returns DP_OK, or DP_EINVAL with phonenum's reason in e ("phone is
 * empty", "phone contains 'x'", "phone is too short for BR (3 digits)",
 * "phone is not a valid number for BR (10 digits)", "unknown default
 * country code \"999\""); out is then the empty string. DP_ENOMEM or
 * DP_EINTERNAL if libphonenumber failed inside. */
int phone_normalize(const char *in, const char *default_cc, char out[16], dp_err *e)
    __attribute__((warn_unused_result));

/* Whether cc can be a default country code for phone_normalize (a calling
 * code of a geographic region): DP_OK, or DP_EINVAL with a message in e.
 * For checking --country-code at start rather than on the first number. */
int phone_cc_check(const char *cc, dp_err *e) __attribute__((warn_unused_result));

/* A normalised phone (at most 15 digits) as a 64-bit key for hash maps:
 * the same phone always gives the same key, two phones never share one. */
int64_t phone_key(const char *e164);

#endif
