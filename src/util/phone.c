/* Phone normalisation for contact import and inline campaign contacts. The
 * rules favour Brazil (the product's home) but work for any default country
 * code; see phone.h for the exact order in which they apply. */
#include "util/phone.h"

#include <stdio.h>
#include <string.h>

/* Digits kept for inspection; anything longer is invalid anyway, we only
 * count it for the error message. */
#define KEEP 32

/* Length of a separator at s (ASCII or a few Unicode spaces and dashes that
 * spreadsheets produce), 0 if s is not one. */
static size_t separator_len(const unsigned char *s)
{
    switch (s[0]) {
    case ' ':
    case '\t':
    case '-':
    case '.':
    case '(':
    case ')':
        return 1;
    case 0xC2:
        return s[1] == 0xA0 ? 2 : 0; /* U+00A0 no-break space */
    case 0xE2:
        /* U+2010..U+2015 hyphens and dashes, U+202F narrow no-break space */
        if (s[1] == 0x80 && ((s[2] >= 0x90 && s[2] <= 0x95) || s[2] == 0xAF))
            return 3;
        return 0;
    default:
        return 0;
    }
}

/* Describes the offending character at s for the error message: the whole
 * UTF-8 sequence when it is one, else the byte in hex. */
static int bad_char(dp_err *e, const unsigned char *s)
{
    unsigned char c = s[0];
    if (c >= 0x21 && c < 0x7F)
        return dp_err_set(e, DP_EINVAL, "phone contains '%c'", c);
    size_t n = 0;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            n = 0;
    if (n)
        return dp_err_set(e, DP_EINVAL, "phone contains '%.*s'", (int)n, (const char *)s);
    return dp_err_set(e, DP_EINVAL, "phone contains byte 0x%02x", c);
}

static int valid_cc(const char *cc)
{
    size_t n = strlen(cc);
    if (n < 1 || n > 3 || cc[0] == '0')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (cc[i] < '0' || cc[i] > '9')
            return 0;
    return 1;
}

int phone_normalize(const char *in, const char *default_cc, char out[16], dp_err *e)
{
    const char *cc = default_cc ? default_cc : "55";
    char d[KEEP + 1];
    size_t nd = 0; /* digits seen in total */
    int plus = 0;  /* a leading '+' was given */
    int rc = DP_OK;

    out[0] = '\0';
    if (!valid_cc(cc)) {
        rc = dp_err_set(e, DP_EINVAL, "bad default country code \"%.8s\"", cc);
        goto out;
    }
    if (!in) {
        rc = dp_err_set(e, DP_EINVAL, "phone is empty");
        goto out;
    }

    const unsigned char *s = (const unsigned char *)in;
    int nonblank = 0;
    while (*s) {
        size_t sep = separator_len(s);
        if (sep) {
            if (*s != ' ' && *s != '\t' && sep == 1)
                nonblank = 1;
            s += sep;
            continue;
        }
        nonblank = 1;
        if (*s >= '0' && *s <= '9') {
            if (nd < KEEP)
                d[nd] = (char)*s;
            nd++;
        } else if (*s == '+' && nd == 0 && !plus) {
            plus = 1;
        } else {
            rc = bad_char(e, s);
            goto out;
        }
        s++;
    }
    if (!nonblank) {
        rc = dp_err_set(e, DP_EINVAL, "phone is empty");
        goto out;
    }
    if (nd < PHONE_MIN_DIGITS - 3 || nd > KEEP) {
        /* Hopeless before any prefix rule could fix it. */
        rc = dp_err_set(e, DP_EINVAL, "phone has %zu digit%s", nd, nd == 1 ? "" : "s");
        goto out;
    }
    d[nd] = '\0';

    const char *num = d;     /* digits to keep */
    const char *prefix = ""; /* country code to prepend */
    size_t n = nd;
    int intl = plus;
    if (!plus && n >= 2 && d[0] == '0' && d[1] == '0') {
        num += 2;
        n -= 2;
        intl = 1;
    }
    if (intl) {
        if (n > 0 && num[0] == '0') {
            rc = dp_err_set(e, DP_EINVAL, "phone country code cannot start with 0");
            goto out;
        }
    } else if (num[0] == '0' && strcmp(cc, "39") != 0) {
        num += 1; /* trunk prefix: the number is national */
        n -= 1;
        prefix = cc;
    } else if (strcmp(cc, "55") == 0) {
        if (n == 10 || n == 11)
            prefix = cc;
        /* 12-13 digits starting with 55, and anything else, pass as given. */
    } else if (strcmp(cc, "1") == 0 && n == 11 && num[0] == '1') {
        /* already +1 */
    } else if (n <= 11) {
        prefix = cc;
    }

    size_t total = strlen(prefix) + n;
    if (total < PHONE_MIN_DIGITS || total > PHONE_MAX_DIGITS) {
        if (nd < PHONE_MIN_DIGITS || nd > PHONE_MAX_DIGITS || !*prefix)
            rc = dp_err_set(e, DP_EINVAL, "phone has %zu digits", nd);
        else
            rc = dp_err_set(e, DP_EINVAL, "phone has %zu digits with country code %s", total,
                            prefix);
        goto out;
    }
    snprintf(out, 16, "%s%.*s", prefix, (int)n, num);
out:
    return rc;
}

int phone_br_alt(const char *e164, char alt[16])
{
    size_t n = strlen(e164);
    if (strncmp(e164, "55", 2) != 0 || strspn(e164, "0123456789") != n)
        return 0;
    /* 13 digits: 55 + DDD + 9 + 8 digits, a mobile with its ninth digit */
    if (n == 13 && e164[4] == '9' && e164[5] >= '6') {
        memcpy(alt, e164, 4);
        memcpy(alt + 4, e164 + 5, 9);
        return 1;
    }
    /* 12 digits with a mobile-looking subscriber number (starts 6-9): the old form */
    if (n == 12 && e164[4] >= '6') {
        memcpy(alt, e164, 4);
        alt[4] = '9';
        memcpy(alt + 5, e164 + 4, 9);
        return 1;
    }
    return 0;
}

int64_t phone_key(const char *e164)
{
    int64_t k = 0;
    for (const char *p = e164; *p; p++)
        k = k * 10 + (*p - '0');
    return k;
}
