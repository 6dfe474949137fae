/* xoshiro256** by Blackman and Vigna (public domain reference algorithm),
 * seeded through splitmix64 as its authors recommend. */
#include "util/rng.h"

#include <errno.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void rng_seed(dp_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

void rng_seed_random(dp_rng *r)
{
    uint64_t seed = 0;
    unsigned char *p = (unsigned char *)&seed;
    size_t got = 0;
    while (got < sizeof seed) {
        ssize_t n = getrandom(p + got, sizeof seed - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        got += (size_t)n;
    }
    if (got < sizeof seed) {
        /* No getrandom (old kernel, seccomp): jitter only needs to differ
         * between runs, not to be secret. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed ^=
            (uint64_t)ts.tv_sec * 1000000007ULL ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32);
    }
    rng_seed(r, seed);
}

uint64_t rng_next(dp_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double rng_unit(dp_rng *r)
{
    /* The top 53 bits fill a double's mantissa exactly. */
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

int64_t rng_range(dp_rng *r, int64_t lo, int64_t hi)
{
    if (hi <= lo)
        return lo;
    /* Work in uint64 so hi - lo cannot overflow. */
    uint64_t span = (uint64_t)hi - (uint64_t)lo + 1;
    uint64_t x;
    if (span == 0) {
        x = rng_next(r); /* the whole 2^64 range */
    } else {
        /* Reject the first (2^64 mod span) values so every residue is
         * equally likely. */
        uint64_t threshold = (0 - span) % span;
        do {
            x = rng_next(r);
        } while (x < threshold);
        x %= span;
    }
    return (int64_t)((uint64_t)lo + x);
}
