/* Phone numbers as the API stores them: digits only, country code included
 * (E.164 without the '+'), so the same person typed two ways is one contact. */
#ifndef DP_PHONE_H
#define DP_PHONE_H

#include <stdint.h>

#include "util/err.h"

#define PHONE_MIN_DIGITS 8
#define PHONE_MAX_DIGITS 15

/* Normalises `in` into `out` (NUL-terminated, at most 15 digits).
 *
 * Spaces, tabs, no-break spaces, '-', '.', '(' and ')' are ignored anywhere.
 * Then, on the digits:
 *   - a leading '+' or "00" means they already include a country code;
 *   - a single leading '0' is a national trunk prefix: it is dropped and the
 *     default country code is prepended (except for Italy, "39", where the
 *     0 belongs to the number);
 *   - default_cc "55" (Brazil): 10 or 11 digits (DDD + number) get 55;
 *     12 or 13 digits starting with 55 are already international;
 *   - default_cc "1" (NANP): 11 digits starting with 1 are already
 *     international;
 *   - any other national number of at most 11 digits gets the default code;
 *   - everything else is taken as already international.
 * The result must have 8 to 15 digits.
 *
 * default_cc is 1 to 3 digits; NULL means "55".
 * Returns DP_OK, or DP_EINVAL with a reason in e ("phone has 3 digits",
 * "phone contains 'x'", "phone is empty"); out is then the empty string. */
int phone_normalize(const char *in, const char *default_cc, char out[16], dp_err *e)
    __attribute__((warn_unused_result));

/* The other form of a Brazilian mobile number, with or without the ninth
 * digit (55 DD 9XXXXXXXX ⇄ 55 DD XXXXXXXX): WhatsApp still knows some
 * contacts by the old 8-digit form, so a restriction on either must hold for
 * both. Returns 1 and fills alt when there is one, else 0. */
int phone_br_alt(const char *e164, char alt[16]);

/* A normalised phone (at most 15 digits) as a 64-bit key for hash maps:
 * the same phone always gives the same key, two phones never share one. */
int64_t phone_key(const char *e164);

#endif
