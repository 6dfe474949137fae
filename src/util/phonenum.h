/* Country-aware phone numbers on top of Google's libphonenumber: the numbers
 * disparo stores are E.164 digits without the '+', checked against the
 * numbering plan of their country instead of by length alone, and restriction
 * lists match Brazilian mobiles with and without the ninth digit.
 *
 * The implementation is C++ (phonenum.cc) because libphonenumber only has a
 * C++ API; this header is the whole C interface, nothing C++ leaks out of it.
 * All functions are thread-safe and never throw. */
#ifndef DP_PHONENUM_H
#define DP_PHONENUM_H

#include <stddef.h>

#include "util/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* E.164 allows 15 digits; buffers hold them and the NUL. */
#define PHONENUM_MAX 16

/* Normalises what a person or a spreadsheet typed into E.164 digits.
 *
 * Accepted: digits; spaces, tabs, no-break spaces, '-', '.', '(', ')' and the
 * Unicode dashes anywhere (the same set as phone.h); one leading '+', or a
 * leading "00", for a number that includes its country code. Anything else
 * (letters, "ext", "tel:", a second '+') is rejected rather than guessed at.
 *
 * Without '+' or "00" the number is read the way libphonenumber reads it in
 * default_region: national trunk prefixes are dropped ("0 11 ...", BR's
 * "0 21 11 ..." carrier selection, RU's "8 ...", US's "1 ..."), a leading
 * country code of that region is recognised ("5511..."), Italy keeps its 0.
 * When that reading is not a valid number but the digits are a valid number
 * with their own country code ("351912345678", "4915112345678" under BR),
 * the international reading wins, since exports of WhatsApp contacts are
 * digits without '+'. Except under BR: digits of a Brazilian length (8 to 11)
 * stay Brazilian, so "(20) 99999-0001" is rejected as a typo instead of
 * becoming a number in Egypt, and "12125550123" asks for its '+'.
 *
 * The number must then be *possible* (a length its country uses, a country
 * code that exists), not necessarily *valid* (inside a range the metadata
 * knows): Debian's metadata is frozen with the release while countries open
 * new ranges. Brazil is the exception: its plan is complete in the metadata
 * (every DDD; mobiles 9XXXXXXXX, landlines [2-5]XXXXXXX), so a Brazilian
 * number must be valid, or be a mobile in the 8-digit form it had before the
 * ninth digit ("55 11 8888-0001"), which WhatsApp still uses for many older
 * accounts. phonenum_kind() tells valid from merely possible.
 *
 * Stored numbers are only guaranteed to come back unchanged when fed with a
 * '+' in front: bare digits are ambiguous ("3222345678" is a Brussels
 * landline with its country code and a Brazilian one without).
 *
 * default_region: ISO 3166 alpha-2 ("BR", "us"); NULL means "BR".
 * out: E.164 digits without '+', NUL-terminated; "" on error.
 * Returns DP_OK; DP_EINVAL with a reason in e ("phone is empty", "phone
 * contains 'x'", "phone is too short for BR (3 digits)", "phone is too long
 * for PT (13 digits)", "phone is not a valid number for BR (8 digits)",
 * "phone is not a possible number for DE (N digits)", "phone has an invalid
 * country code", "unknown default region \"XX\""; N counts every digit
 * typed); DP_ENOMEM or DP_EINTERNAL if libphonenumber failed inside. */
int phonenum_normalize(const char *in, const char *default_region, char out[PHONENUM_MAX],
                       dp_err *e) __attribute__((warn_unused_result));

/* The region whose numbering plan a country calling code belongs to, to map
 * `--country-code 55` to "BR": "55" -> "BR", "1" -> "US", "44" -> "GB",
 * "800" -> "001" (non-geographic). cc is 1 to 3 digits, a '+' is allowed.
 * Returns DP_OK, or DP_EINVAL (region set to "") for an unassigned code. */
int phonenum_region_for_cc(const char *cc, char region[4]) __attribute__((warn_unused_result));

/* What the numbering plan says an E.164 number (digits, no '+') is. */
enum phonenum_kind {
    PHONENUM_UNKNOWN = 0,     /* possible, but in no range the metadata knows */
    PHONENUM_FIXED,           /* landline */
    PHONENUM_MOBILE,          /* mobile, including BR's pre-ninth-digit form */
    PHONENUM_FIXED_OR_MOBILE, /* the plan cannot tell (US, CA, ...) */
    PHONENUM_OTHER,           /* toll-free, premium, shared cost, VoIP, pager ... */
    PHONENUM_BAD              /* not E.164 digits with a known country code */
};
enum phonenum_kind phonenum_kind(const char *e164);

/* 1 when e164 may reach a phone that runs WhatsApp as a mobile: a mobile,
 * a number the plan cannot tell from a landline, or a Brazilian mobile
 * without its ninth digit. 0 otherwise (landlines, unknown ranges, garbage). */
int phonenum_is_mobile(const char *e164);

/* The forms under which e164 (normalised digits, no '+') may appear in a
 * restriction list. A Brazilian mobile is known with and without the ninth
 * digit: 55 DD 9 XXXXXXXX <-> 55 DD XXXXXXXX where the first X is 6 to 9
 * (8-digit numbers starting 2 to 5 are landlines, a different subscriber).
 * out[0] is always e164 itself, out[1] the other form when there is one.
 * Pure string work, no libphonenumber. Returns 1 or 2; 0 (nothing written)
 * when e164 is NULL or not 8 to 15 digits. */
size_t phonenum_variants(const char *e164, char out[2][PHONENUM_MAX]);

#ifdef __cplusplus
}
#endif

#endif
