#include "CSwitchboard.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

void sb_sha256(const void *data, size_t length, uint8_t *out) {
    SHA256((const unsigned char *)data, length, out);
}

void sb_hmac_sha256(const void *key, size_t key_length, const void *data, size_t length, uint8_t *out) {
    unsigned int out_length = 32;
    HMAC(EVP_sha256(), key, (int)key_length, (const unsigned char *)data, length, out, &out_length);
}
