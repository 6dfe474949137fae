/* Tokens are random, and the server keeps only their SHA-256, so a copy of
 * the database does not hand out working tokens. */
#include "util/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>

#include "util/err.h"

static void hex(const unsigned char *in, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[in[i] >> 4];
        out[2 * i + 1] = d[in[i] & 15];
    }
    out[2 * n] = '\0';
}

int crypto_token(char out[CRYPTO_TOKEN_LEN])
{
    unsigned char raw[32];
    if (RAND_bytes(raw, sizeof raw) != 1)
        return DP_EINTERNAL;
    out[0] = 'd';
    out[1] = 'p';
    out[2] = '_';
    hex(raw, sizeof raw, out + 3);
    return DP_OK;
}

void crypto_sha256_hex(const void *data, size_t len, char out[CRYPTO_SHA256_HEX])
{
    unsigned char md[32];
    unsigned int n = 0;
    EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
    hex(md, 32, out);
}

int crypto_equal(const void *a, const void *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}
