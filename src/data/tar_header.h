/* ustar header fields, shared by the CIFAR loader (cifar.c, reads the official
 * tar.gz in place) and the dataset unpacker (tar.c). Not installed. */
#ifndef NNLAB_TAR_HEADER_H
#define NNLAB_TAR_HEADER_H

#include <stddef.h>
#include <stdint.h>

#define NL_TAR_BLOCK 512

/* A numeric field: octal digits (leading spaces or NULs, trailing spaces or
 * NULs), or GNU base-256 (high bit of the first byte set). Returns 0 and sets
 * *out, or -1 for a malformed or overflowing field. */
static inline int nl_tar_number(const uint8_t *p, size_t n, uint64_t *out) {
    uint64_t v = 0;
    size_t i = 0;
    if (p[0] & 0x80) { /* GNU base-256 */
        v = p[0] & 0x7f;
        for (i = 1; i < n; i++) {
            if (v >> 55) return -1;
            v = (v << 8) | p[i];
        }
        *out = v;
        return 0;
    }
    while (i < n && (p[i] == ' ' || p[i] == '\0')) i++;
    int digits = 0;
    for (; i < n && p[i] >= '0' && p[i] <= '7'; i++, digits++) {
        if (v >> 60) return -1;
        v = v * 8 + (uint64_t)(p[i] - '0');
    }
    for (; i < n; i++)
        if (p[i] != ' ' && p[i] != '\0') return -1;
    if (!digits) return -1;
    *out = v;
    return 0;
}

/* 1 when the header block's checksum field matches its bytes (the field
 * itself counted as spaces). */
static inline int nl_tar_checksum_ok(const uint8_t *h) {
    uint64_t want;
    if (nl_tar_number(h + 148, 8, &want)) return 0;
    uint64_t sum = 0;
    for (int i = 0; i < NL_TAR_BLOCK; i++) sum += (i >= 148 && i < 156) ? ' ' : h[i];
    return sum == want;
}

#endif
