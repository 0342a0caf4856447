/* Shared by the libFuzzer targets (tests/fuzz/fuzz_*.c): a private scratch
 * directory, file writers, in-memory gzip, the tar checksum fix-up. */
#ifndef NNLAB_FUZZ_UTIL_H
#define NNLAB_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static char fz_dir_[256];

/* The scratch directory of this process (made once, under $TMPDIR). */
static const char *fz_dir(void) {
    if (!fz_dir_[0]) {
        const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
        snprintf(fz_dir_, sizeof fz_dir_, "%s/nnlab-fuzz-XXXXXX", base);
        if (!mkdtemp(fz_dir_)) abort();
    }
    return fz_dir_;
}

static const char *fz_path(const char *name) {
    static char p[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", fz_dir(), name);
    return p[k];
}

static void fz_mkdir(const char *name) {
    (void)mkdir(fz_path(name), 0755);
}

static void fz_write(const char *name, const void *data, size_t n) {
    FILE *f = fopen(fz_path(name), "wb");
    if (!f) abort();
    if (n && fwrite(data, 1, n, f) != n) abort();
    fclose(f);
}

/* gzip of data (malloc'd, *out_n bytes). */
static uint8_t *fz_gzip(const uint8_t *data, size_t n, size_t *out_n) {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 1, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK) abort();
    size_t cap = deflateBound(&z, (uLong)n) + 64;
    uint8_t *out = malloc(cap);
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) abort();
    *out_n = cap - z.avail_out;
    deflateEnd(&z);
    return out;
}

static uint64_t fz_octal(const uint8_t *p, size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n && p[i] >= '0' && p[i] <= '7'; i++) v = v * 8 + (uint64_t)(p[i] - '0');
    return v;
}

/* Rewrites the checksum of every tar header in buf (walking header, data,
 * header, ...) so that the fuzzer's mutations reach past the checksum test. */
static void fz_fix_tar(uint8_t *buf, size_t n) {
    size_t off = 0;
    while (off + 512 <= n) {
        uint8_t *h = buf + off;
        int zero = 1;
        for (int i = 0; i < 512 && zero; i++) zero = h[i] == 0;
        if (zero) {
            off += 512;
            continue;
        }
        memset(h + 148, ' ', 8);
        unsigned sum = 0;
        for (int i = 0; i < 512; i++) sum += h[i];
        snprintf((char *)h + 148, 8, "%06o", sum & 0777777);
        h[155] = ' ';
        uint64_t size = (h[124] & 0x80) ? 0 : fz_octal(h + 124, 12);
        if (size > n) break;
        off += 512 + (size_t)((size + 511) / 512 * 512);
    }
}

#endif
