/* SHA-256 and MD5 through OpenSSL's libcrypto EVP interface. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/path.h"
#include "nnlab/fetch.h"

struct nl_hasher {
    EVP_MD_CTX *ctx;
    nl_hash_algo algo;
    int done;
};

const char *nl_hash_name(nl_hash_algo algo) {
    return algo == NL_HASH_MD5 ? "md5" : "sha256";
}

size_t nl_hash_hex_len(nl_hash_algo algo) {
    return algo == NL_HASH_MD5 ? 32 : 64;
}

nl_status nl_hasher_new(nl_hash_algo algo, nl_hasher **out, nl_error *err) {
    *out = NULL;
    if (algo != NL_HASH_MD5 && algo != NL_HASH_SHA256)
        return nl_error_set(err, NL_EINVAL, "unknown hash algorithm %d", (int)algo);
    nl_hasher *h = calloc(1, sizeof *h);
    if (!h)
        return nl_error_set(err, NL_ENOMEM, "out of memory for a %s hasher", nl_hash_name(algo));
    h->algo = algo;
    h->ctx = EVP_MD_CTX_new();
    if (!h->ctx) {
        free(h);
        return nl_error_set(err, NL_ENOMEM, "EVP_MD_CTX_new failed");
    }
    const EVP_MD *md = algo == NL_HASH_MD5 ? EVP_md5() : EVP_sha256();
    if (!md || EVP_DigestInit_ex(h->ctx, md, NULL) != 1) {
        EVP_MD_CTX_free(h->ctx);
        free(h);
        /* MD5 is refused by OpenSSL in FIPS mode. */
        return nl_error_set(err, NL_ENOTSUP, "OpenSSL cannot compute %s here (FIPS mode?)",
                            nl_hash_name(algo));
    }
    *out = h;
    return NL_OK;
}

nl_status nl_hasher_update(nl_hasher *h, const void *data, size_t n, nl_error *err) {
    if (h->done)
        return nl_error_set(err, NL_EINVAL, "%s hasher used after final", nl_hash_name(h->algo));
    if (n && EVP_DigestUpdate(h->ctx, data, n) != 1)
        return nl_error_set(err, NL_EINVAL, "EVP_DigestUpdate (%s) failed", nl_hash_name(h->algo));
    return NL_OK;
}

nl_status nl_hasher_final(nl_hasher *h, char hex[NL_HASH_HEX_MAX], nl_error *err) {
    static const char digits[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    hex[0] = '\0';
    if (h->done)
        return nl_error_set(err, NL_EINVAL, "%s hasher finalised twice", nl_hash_name(h->algo));
    h->done = 1;
    if (EVP_DigestFinal_ex(h->ctx, md, &len) != 1 || len * 2 + 1 > NL_HASH_HEX_MAX)
        return nl_error_set(err, NL_EINVAL, "EVP_DigestFinal_ex (%s) failed",
                            nl_hash_name(h->algo));
    for (unsigned int i = 0; i < len; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[2 * len] = '\0';
    return NL_OK;
}

void nl_hasher_free(nl_hasher *h) {
    if (!h) return;
    EVP_MD_CTX_free(h->ctx);
    free(h);
}

nl_status nl_hash_buffer(nl_hash_algo algo, const void *data, size_t n, char hex[NL_HASH_HEX_MAX],
                         nl_error *err) {
    nl_hasher *h;
    nl_status st = nl_hasher_new(algo, &h, err);
    if (st) return st;
    st = nl_hasher_update(h, data, n, err);
    if (!st) st = nl_hasher_final(h, hex, err);
    nl_hasher_free(h);
    return st;
}

nl_status nl_hash_file(const char *path, nl_hash_algo algo, char hex[NL_HASH_HEX_MAX],
                       uint64_t *bytes, nl_error *err) {
    enum { CHUNK = 1 << 20 };
    int fd = nl_open_regular(path, O_RDONLY, err); /* a FIFO must not block */
    if (fd < 0) { /* missing or not a regular file: both NL_EIO here */
        if (err) err->code = NL_EIO;
        return NL_EIO;
    }
    unsigned char *buf = malloc(CHUNK);
    nl_hasher *h = NULL;
    nl_status st = buf ? nl_hasher_new(algo, &h, err)
                       : nl_error_set(err, NL_ENOMEM, "%s: out of memory", path);
    uint64_t total = 0;
    while (!st) {
        ssize_t got = read(fd, buf, CHUNK);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            st = nl_error_set(err, NL_EIO, "%s: read error after %llu bytes: %s", path,
                              (unsigned long long)total, strerror(errno));
            break;
        }
        if (got == 0) break;
        total += (uint64_t)got;
        st = nl_hasher_update(h, buf, (size_t)got, err);
    }
    if (!st) st = nl_hasher_final(h, hex, err);
    if (!st && bytes) *bytes = total;
    nl_hasher_free(h);
    free(buf);
    close(fd);
    return st;
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int nl_hash_equal(const char *a, const char *b) {
    if (!a || !b) return 0;
    size_t n = strlen(a);
    if (n == 0 || n != strlen(b)) return 0;
    for (size_t i = 0; i < n; i++) {
        int x = hexval((unsigned char)a[i]), y = hexval((unsigned char)b[i]);
        if (x < 0 || y < 0 || x != y) return 0;
    }
    return 1;
}
