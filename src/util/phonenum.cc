/* util/phonenum: the C interface of phonenum.h over libphonenumber.
 *
 * Why a C++ file in a C project: libphonenumber, the numbering-plan data every
 * serious phone validator uses, ships only as a C++ library (Debian's
 * libphonenumber-dev); re-deriving its per-country metadata in C would mean
 * owning a copy of the world's numbering plans. So this one file is C++,
 * exports plain C functions, and keeps every C++ type, exception and
 * allocation on its side of the boundary.
 *
 * Speed: libphonenumber's Parse() runs a dozen ICU regular expressions, about
 * 7 us a call, too slow for million-row imports. The common shapes ("+55 11
 * 99999-0001", "11999990001", "5511999990001") are therefore split into
 * country code and national number here and only checked by the library
 * (IsValidNumber, about 1 us); Parse() runs only for what that cannot settle
 * (trunk prefixes, carrier codes, Argentina's "15", invalid numbers). */
/* The project's C headers carry no extern "C" of their own; err.h is
 * included first with C linkage so phonenum.h's include of it is a no-op. */
extern "C" {
#include "util/err.h"
}
#include "util/phonenum.h"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <new>
#include <string>

#include <phonenumbers/phonenumberutil.h>

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

namespace
{

/* Digits kept from the input; more than this is too long anyway and only
 * counted for the message. */
const size_t KEEP = 32;
/* National significant numbers are at most 17 digits (ITU-T E.164 allows 15
 * with the country code); anything longer cannot be a PhoneNumber. */
const size_t NSN_MAX = 17;

/* What the caller typed, reduced to digits. */
struct typed {
    char d[KEEP + 1]; /* the digits after any '+' or "00" */
    size_t n;         /* strlen(d) */
    size_t total;     /* all digits typed, "00" included, for messages */
    bool intl;        /* a leading '+' or "00": a country code follows */
    bool idd00;       /* it was "00" */
};

/* One reading of the number: country code plus national significant number
 * (leading zeros kept, as Italy needs). */
struct reading {
    int cc;
    char nsn[NSN_MAX + 1];
    size_t len;
};

const PhoneNumberUtil &util()
{
    /* A process-wide singleton built on first use, thread-safe. */
    return *PhoneNumberUtil::GetInstance();
}

/* Length of a separator at s, 0 if s is not one: the set phone.c ignores, so
 * both normalisers accept the same spreadsheets. */
size_t separator_len(const unsigned char *s)
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

/* Describes the offending character at s: the whole UTF-8 sequence when it
 * is one (never reading past a NUL, which fails the continuation test), else
 * the byte in hex. */
int bad_char(dp_err *e, const unsigned char *s)
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
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            n = 0;
            break;
        }
    }
    if (n)
        return dp_err_set(e, DP_EINVAL, "phone contains '%.*s'", (int)n, (const char *)s);
    return dp_err_set(e, DP_EINVAL, "phone contains byte 0x%02x", c);
}

/* Reduces in to digits and the international marker. We do this instead of
 * letting Parse() extract a number from free text, because Parse() is
 * lenient in ways an import must not be: it reads "11 9999x0001" as 119999
 * extension 0001, "1-800-FLOWERS" as digits, "tel:" and "ext 2" as fine. */
int clean(const char *in, typed *t, dp_err *e)
{
    const unsigned char *s = (const unsigned char *)in;
    bool plus = false;
    bool nonblank = false;
    t->n = 0;
    t->total = 0;
    while (*s) {
        size_t sep = separator_len(s);
        if (sep) {
            if (*s != ' ' && *s != '\t' && sep == 1)
                nonblank = true;
            s += sep;
            continue;
        }
        nonblank = true;
        if (*s >= '0' && *s <= '9') {
            if (t->total < KEEP)
                t->d[t->total] = (char)*s;
            t->total++;
        } else if (*s == '+' && t->total == 0 && !plus) {
            plus = true;
        } else {
            return bad_char(e, s);
        }
        s++;
    }
    if (!nonblank)
        return dp_err_set(e, DP_EINVAL, "phone is empty");
    if (t->total == 0)
        return dp_err_set(e, DP_EINVAL, "phone has no digits");
    if (t->total > KEEP)
        return dp_err_set(e, DP_EINVAL, "phone is too long (%zu digits)", t->total);
    t->d[t->total] = '\0';
    t->n = t->total;
    t->intl = plus;
    t->idd00 = false;
    if (!plus && t->n >= 2 && t->d[0] == '0' && t->d[1] == '0') {
        /* "00" is the international prefix nearly everywhere, and never
         * starts a Brazilian national number. Brazil's own IDD is "00" plus
         * a carrier ("0021 ..."); Parse() gets that case below when reading
         * the rest as a country code fails. */
        memmove(t->d, t->d + 2, t->n - 1);
        t->n -= 2;
        t->intl = true;
        t->idd00 = true;
    }
    return DP_OK;
}

/* Checks and upper-cases the default region into reg; *cc gets its calling
 * code. */
int region_arg(const char *in, char reg[3], int *cc, dp_err *e)
{
    const char *r = in ? in : "BR";
    for (size_t i = 0; i < 2; i++) {
        char c = r[i];
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (c < 'A' || c > 'Z')
            return dp_err_set(e, DP_EINVAL, "unknown default region \"%.8s\"", r);
        reg[i] = c;
    }
    reg[2] = '\0';
    if (r[2] != '\0')
        return dp_err_set(e, DP_EINVAL, "unknown default region \"%.8s\"", r);
    *cc = util().GetCountryCodeForRegion(reg);
    if (*cc == 0)
        return dp_err_set(e, DP_EINVAL, "unknown default region \"%.8s\"", r);
    return DP_OK;
}

/* The region (or "001" for non-geographic codes) of a calling code into
 * out; false when the code is unassigned. */
bool region_of(int cc, char out[4])
{
    std::string r; /* two or three letters: no allocation (short string) */
    util().GetRegionCodeForCountryCode(cc, &r);
    if (r == "ZZ" || r.size() > 3)
        return false;
    memcpy(out, r.c_str(), r.size() + 1);
    return true;
}

/* Reads d as country code plus national number. Calling codes are
 * prefix-free, so the first assigned prefix of 1 to 3 digits is the one. */
bool split_cc(const char *d, size_t n, reading *r)
{
    int cc = 0;
    for (size_t i = 0; i < 3 && i < n; i++) {
        cc = cc * 10 + (d[i] - '0');
        if (cc == 0)
            return false;
        char reg[4];
        if (!region_of(cc, reg))
            continue;
        size_t len = n - (i + 1);
        if (len == 0 || len > NSN_MAX)
            return false;
        r->cc = cc;
        memcpy(r->nsn, d + i + 1, len);
        r->nsn[len] = '\0';
        r->len = len;
        return true;
    }
    return false;
}

bool set_national(reading *r, int cc, const char *d, size_t n)
{
    if (n == 0 || n > NSN_MAX)
        return false;
    r->cc = cc;
    memcpy(r->nsn, d, n);
    r->nsn[n] = '\0';
    r->len = n;
    return true;
}

/* The PhoneNumber Parse() would have produced for r. */
void to_number(const reading *r, PhoneNumber *pn)
{
    uint64_t v = 0;
    for (size_t i = 0; i < r->len; i++)
        v = v * 10 + (uint64_t)(r->nsn[i] - '0');
    pn->set_country_code(r->cc);
    pn->set_national_number(v);
    size_t z = 0;
    while (z + 1 < r->len && r->nsn[z] == '0')
        z++;
    if (z > 0) {
        pn->set_italian_leading_zero(true);
        if (z > 1)
            pn->set_number_of_leading_zeros((int32_t)z);
    }
}

bool from_number(const PhoneNumber &pn, reading *r)
{
    std::string nsn;
    util().GetNationalSignificantNumber(pn, &nsn);
    return set_national(r, pn.country_code(), nsn.c_str(), nsn.size());
}

/* A Brazilian mobile in its 8-digit form, before the ninth digit (2012-16):
 * WhatsApp still knows many accounts by it, the metadata no longer does. */
bool br_legacy_mobile(const reading *r)
{
    if (r->cc != 55 || r->len != 10)
        return false;
    const char *s = r->nsn;
    if (s[0] < '1' || s[1] < '1' || s[2] < '6')
        return false;
    reading nine = {55, {s[0], s[1], '9'}, 11};
    memcpy(nine.nsn + 3, s + 2, 8);
    nine.nsn[11] = '\0';
    PhoneNumber pn;
    to_number(&nine, &pn);
    return util().GetNumberType(pn) == PhoneNumberUtil::MOBILE;
}

bool valid(const reading *r)
{
    PhoneNumber pn;
    to_number(r, &pn);
    return util().IsValidNumber(pn) || br_legacy_mobile(r);
}

/* Brazil's plan is complete in the metadata (every DDD, mobiles 9XXXXXXXX,
 * landlines [2-5]XXXXXXX), so there a possible-but-invalid number is a typo
 * ("9999-0001" without DDD, "11 1234-5678"), not a range opened after the
 * metadata was frozen. */
bool strict(int cc)
{
    return cc == 55;
}

int emit(const reading *r, char out[PHONENUM_MAX], size_t total, dp_err *e)
{
    int n = snprintf(out, PHONENUM_MAX, "%d%s", r->cc, r->nsn);
    if (n < 0 || n >= PHONENUM_MAX) {
        out[0] = '\0';
        return dp_err_set(e, DP_EINVAL, "phone is too long (%zu digits)", total);
    }
    return DP_OK;
}

int fail_possible(dp_err *e, PhoneNumberUtil::ValidationResult v, int cc, size_t total)
{
    char reg[4];
    if (!region_of(cc, reg))
        return dp_err_set(e, DP_EINVAL, "phone has an invalid country code");
    switch (v) {
    case PhoneNumberUtil::TOO_SHORT:
        return dp_err_set(e, DP_EINVAL, "phone is too short for %s (%zu digits)", reg, total);
    case PhoneNumberUtil::TOO_LONG:
        return dp_err_set(e, DP_EINVAL, "phone is too long for %s (%zu digits)", reg, total);
    case PhoneNumberUtil::IS_POSSIBLE_LOCAL_ONLY:
        return dp_err_set(e, DP_EINVAL, "phone lacks an area code for %s (%zu digits)", reg, total);
    case PhoneNumberUtil::INVALID_COUNTRY_CODE:
        return dp_err_set(e, DP_EINVAL, "phone has an invalid country code");
    case PhoneNumberUtil::IS_POSSIBLE: /* only for strict regions */
        return dp_err_set(e, DP_EINVAL, "phone is not a valid number for %s (%zu digits)", reg,
                          total);
    default:
        return dp_err_set(e, DP_EINVAL, "phone is not a possible number for %s (%zu digits)", reg,
                          total);
    }
}

int fail_parse(dp_err *e, PhoneNumberUtil::ErrorType t, int cc, size_t total)
{
    switch (t) {
    case PhoneNumberUtil::INVALID_COUNTRY_CODE_ERROR:
        return dp_err_set(e, DP_EINVAL, "phone has an invalid country code");
    case PhoneNumberUtil::TOO_SHORT_AFTER_IDD:
    case PhoneNumberUtil::TOO_SHORT_NSN:
        return fail_possible(e, PhoneNumberUtil::TOO_SHORT, cc, total);
    case PhoneNumberUtil::TOO_LONG_NSN:
        return fail_possible(e, PhoneNumberUtil::TOO_LONG, cc, total);
    default:
        return dp_err_set(e, DP_EINVAL, "phone is not a number");
    }
}

/* A merely possible national number that still starts with its country's
 * trunk prefix ("+381 00 347..." typed with one 0 too many, "+375 8 8...")
 * is rejected: libphonenumber strips one prefix per reading, so the result
 * would change each time it is normalised again, and valid numbers never
 * start with it (the prefix exists because no number does). */
bool trunk_prefix_left(const reading *r)
{
    char reg[4];
    if (!region_of(r->cc, reg))
        return false;
    std::string ndd; /* "0", "8": no allocation */
    util().GetNddPrefixForRegion(reg, true, &ndd);
    return !ndd.empty() && strncmp(r->nsn, ndd.c_str(), ndd.size()) == 0;
}

/* Accepts r when its country's plan allows it; otherwise records why not and
 * returns the error. */
int accept_possible(const reading *r, char out[PHONENUM_MAX], size_t total, dp_err *e)
{
    if (trunk_prefix_left(r))
        return dp_err_set(e, DP_EINVAL, "phone has a trunk prefix after its country code");
    PhoneNumber pn;
    to_number(r, &pn);
    PhoneNumberUtil::ValidationResult v = util().IsPossibleNumberWithReason(pn);
    if (v == PhoneNumberUtil::IS_POSSIBLE && !strict(r->cc))
        return emit(r, out, total, e);
    return fail_possible(e, v, r->cc, total);
}

/* libphonenumber's own reading of the digits after prefix ("+", "00" or
 * ""), for what the fast paths could not settle. Its reading, unlike ours,
 * strips a trunk prefix after the country code ("+43 0 2711...") and applies
 * each country's rewriting rules, so a number is only ever accepted as
 * merely possible in the form Parse() gives it, and normalising "+" and the
 * result gives the result again. */
PhoneNumberUtil::ErrorType parse(const char *prefix, const typed *t, const char *reg, reading *r)
{
    char buf[KEEP + 4];
    snprintf(buf, sizeof buf, "%s%s", prefix, t->d);
    PhoneNumber pn;
    PhoneNumberUtil::ErrorType err = util().Parse(std::string(buf), reg, &pn);
    if (err != PhoneNumberUtil::NO_PARSING_ERROR)
        return err;
    if (!from_number(pn, r))
        return PhoneNumberUtil::TOO_LONG_NSN;
    return err;
}

/* Length of the region's national trunk prefix at the start of d, or 0. */
size_t ndd_len(const char *reg, const char *d)
{
    std::string ndd; /* "0", "1", "8": no allocation */
    util().GetNddPrefixForRegion(reg, true, &ndd);
    if (!ndd.empty() && strncmp(d, ndd.c_str(), ndd.size()) == 0)
        return ndd.size();
    return 0;
}

/* A number typed with '+' or "00". */
int read_intl(const typed *t, const char *reg, int region_cc, char out[PHONENUM_MAX], dp_err *e)
{
    reading fast = {};
    reading r = {};
    bool have_cc = split_cc(t->d, t->n, &fast);
    if (have_cc && valid(&fast))
        return emit(&fast, out, t->total, e);
    if (!have_cc && !t->idd00)
        return dp_err_set(e, DP_EINVAL, "phone has an invalid country code");
    /* "+55 (011) ...", "+54 11 15 ...", or not valid. */
    PhoneNumberUtil::ErrorType err = parse("+", t, reg, &r);
    if (err == PhoneNumberUtil::NO_PARSING_ERROR) {
        if (valid(&r))
            return emit(&r, out, t->total, e);
        return accept_possible(&r, out, t->total, e);
    }
    if (!have_cc) {
        /* "0021 55 11 ...": Brazil's IDD with a carrier, if the region
         * knows its own international prefix. */
        err = parse("00", t, reg, &r);
        if (err == PhoneNumberUtil::NO_PARSING_ERROR)
            return valid(&r) ? emit(&r, out, t->total, e) : accept_possible(&r, out, t->total, e);
        return dp_err_set(e, DP_EINVAL, "phone has an invalid country code");
    }
    return fail_parse(e, err, fast.cc, t->total);
}

bool possible(const reading *r)
{
    PhoneNumber pn;
    to_number(r, &pn);
    return util().IsPossibleNumberWithReason(pn) == PhoneNumberUtil::IS_POSSIBLE;
}

/* A number typed without a country marker: the region's reading first; the
 * digits as an international number second, when the national reading is
 * not valid. Under a strict region digits of a length the region uses stay
 * national: "(20) 99999-0001" is a Brazilian typo, not a number in Egypt. */
int read_national(const typed *t, const char *reg, int region_cc, char out[PHONENUM_MAX], dp_err *e)
{
    reading nat = {};
    reading intl = {};
    reading r = {};
    size_t ndd = ndd_len(reg, t->d);
    bool have_cc = split_cc(t->d, t->n, &intl);
    /* Digits that start with the region's own country code and make a
     * valid number after it are that number: "4915112345678" under DE is
     * not a landline in area 4915 (libphonenumber's reading). Under BR a
     * number in DDD 55 does not qualify: the 8 or 9 digits after its DDD
     * are no valid number on their own. */
    if (have_cc && intl.cc == region_cc && valid(&intl))
        return emit(&intl, out, t->total, e);
    bool have_nat = ndd == 0 && set_national(&nat, region_cc, t->d, t->n);
    if (have_nat && valid(&nat))
        return emit(&nat, out, t->total, e);
    /* "0 11 99999-0001", "0800 ...": Brazil's trunk 0 by hand, since Parse()
     * costs ten times more. A carrier code after the 0 leaves 12 or 13
     * digits, never valid, and goes to Parse() below. Other regions have
     * trunk rules of their own (AR, MX) and always go to Parse(). */
    reading stripped = {};
    if (ndd > 0 && strict(region_cc) &&
        set_national(&stripped, region_cc, t->d + ndd, t->n - ndd) && valid(&stripped))
        return emit(&stripped, out, t->total, e);
    bool foreign_valid = have_cc && valid(&intl);
    if (have_cc && strict(region_cc) && have_nat && possible(&nat))
        have_cc = false;
    if (have_cc && foreign_valid)
        return emit(&intl, out, t->total, e);

    PhoneNumberUtil::ErrorType err = parse("", t, reg, &r);
    int rc;
    if (err == PhoneNumberUtil::NO_PARSING_ERROR) {
        if (valid(&r))
            return emit(&r, out, t->total, e);
        /* Neither reading is valid: take a possible one, the national
         * first, and explain with the national reading's reason. */
        rc = accept_possible(&r, out, t->total, e);
    } else {
        rc = fail_parse(e, err, region_cc, t->total);
    }
    if (rc != DP_OK && have_cc) {
        reading alt = {};
        if (parse("+", t, reg, &alt) == PhoneNumberUtil::NO_PARSING_ERROR &&
            accept_possible(&alt, out, t->total, NULL) == DP_OK)
            return DP_OK;
    }
    if (rc == DP_EINVAL && foreign_valid) {
        char rr[4];
        if (!region_of(region_cc, rr))
            rr[0] = '\0';
        rc = dp_err_set(e, DP_EINVAL,
                        "phone is not a valid number for %s (%zu digits); write + before a "
                        "foreign number",
                        rr, t->total);
    }
    return rc;
}

int normalize(const char *in, const char *default_region, char out[PHONENUM_MAX], dp_err *e)
{
    typed t;
    char reg[3];
    int region_cc = 0;
    int rc = DP_OK;

    if (!in) {
        rc = dp_err_set(e, DP_EINVAL, "phone is empty");
        goto out;
    }
    rc = region_arg(default_region, reg, &region_cc, e);
    if (rc != DP_OK)
        goto out;
    rc = clean(in, &t, e);
    if (rc != DP_OK)
        goto out;
    if (t.intl)
        rc = read_intl(&t, reg, region_cc, out, e);
    else
        rc = read_national(&t, reg, region_cc, out, e);
out:
    if (rc != DP_OK)
        out[0] = '\0';
    return rc;
}

/* Reads normalised digits into r; false for anything else. */
bool e164_reading(const char *e164, reading *r)
{
    if (!e164)
        return false;
    size_t n = strnlen(e164, PHONENUM_MAX);
    if (n < 8 || n >= PHONENUM_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (e164[i] < '0' || e164[i] > '9')
            return false;
    return split_cc(e164, n, r);
}

enum phonenum_kind kind(const char *e164)
{
    reading r;
    if (!e164_reading(e164, &r))
        return PHONENUM_BAD;
    PhoneNumber pn;
    to_number(&r, &pn);
    switch (util().GetNumberType(pn)) {
    case PhoneNumberUtil::FIXED_LINE:
        return PHONENUM_FIXED;
    case PhoneNumberUtil::MOBILE:
        return PHONENUM_MOBILE;
    case PhoneNumberUtil::FIXED_LINE_OR_MOBILE:
        return PHONENUM_FIXED_OR_MOBILE;
    case PhoneNumberUtil::UNKNOWN:
        return br_legacy_mobile(&r) ? PHONENUM_MOBILE : PHONENUM_UNKNOWN;
    default:
        return PHONENUM_OTHER;
    }
}

} // namespace

extern "C" int phonenum_normalize(const char *in, const char *default_region,
                                  char out[PHONENUM_MAX], dp_err *e)
{
    /* Nothing may unwind into C: libphonenumber, protobuf and std::string
     * can throw std::bad_alloc, and we catch the rest as a matter of
     * principle. */
    try {
        return normalize(in, default_region, out, e);
    } catch (const std::bad_alloc &) {
        out[0] = '\0';
        return dp_err_set(e, DP_ENOMEM, "out of memory checking a phone");
    } catch (...) {
        out[0] = '\0';
        return dp_err_set(e, DP_EINTERNAL, "phone check failed inside libphonenumber");
    }
}

extern "C" int phonenum_region_for_cc(const char *cc, char region[4])
{
    region[0] = '\0';
    try {
        if (!cc)
            return DP_EINVAL;
        const char *s = cc[0] == '+' ? cc + 1 : cc;
        size_t n = strnlen(s, 4);
        if (n < 1 || n > 3 || s[0] == '0')
            return DP_EINVAL;
        int v = 0;
        for (size_t i = 0; i < n; i++) {
            if (s[i] < '0' || s[i] > '9')
                return DP_EINVAL;
            v = v * 10 + (s[i] - '0');
        }
        return region_of(v, region) ? DP_OK : DP_EINVAL;
    } catch (...) {
        region[0] = '\0';
        return DP_EINTERNAL;
    }
}

extern "C" enum phonenum_kind phonenum_kind(const char *e164)
{
    try {
        return kind(e164);
    } catch (...) {
        return PHONENUM_BAD;
    }
}

extern "C" int phonenum_is_mobile(const char *e164)
{
    enum phonenum_kind k = phonenum_kind(e164);
    return k == PHONENUM_MOBILE || k == PHONENUM_FIXED_OR_MOBILE;
}

extern "C" size_t phonenum_variants(const char *e164, char out[2][PHONENUM_MAX])
{
    if (!e164)
        return 0;
    size_t n = strnlen(e164, PHONENUM_MAX);
    if (n < 8 || n >= PHONENUM_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (e164[i] < '0' || e164[i] > '9')
            return 0;
    memcpy(out[0], e164, n + 1);
    if (e164[0] != '5' || e164[1] != '5' || e164[2] < '1' || e164[3] < '1')
        return 1;
    /* 55 DD 9 [6-9]XXXXXXX -> 55 DD [6-9]XXXXXXX */
    if (n == 13 && e164[4] == '9' && e164[5] >= '6') {
        memcpy(out[1], e164, 4);
        memcpy(out[1] + 4, e164 + 5, 9); /* 8 digits and the NUL */
        return 2;
    }
    /* 55 DD [6-9]XXXXXXX -> 55 DD 9 [6-9]XXXXXXX */
    if (n == 12 && e164[4] >= '6') {
        memcpy(out[1], e164, 4);
        out[1][4] = '9';
        memcpy(out[1] + 5, e164 + 4, 9);
        return 2;
    }
    return 1;
}
