/* Small wrappers over OpenSSL libcrypto: API tokens and their hashes. */
#ifndef DP_CRYPTO_H
#define DP_CRYPTO_H

#include <stddef.h>

#define CRYPTO_TOKEN_LEN 68 /* "dp_" + 64 hex + NUL */
#define CRYPTO_SHA256_HEX 65

/* A new random API token ("dp_" + 32 random bytes in hex). DP_OK or DP_EINTERNAL. */
int crypto_token(char out[CRYPTO_TOKEN_LEN]) __attribute__((warn_unused_result));
void crypto_sha256_hex(const void *data, size_t len, char out[CRYPTO_SHA256_HEX]);
/* Constant-time comparison of two equal-length buffers; 1 when equal. */
int crypto_equal(const void *a, const void *b, size_t len);

#endif
