/* A minimal tar.gz reader for the CIFAR archives: ustar/GNU/pax headers,
 * regular files only, one directory level, names checked before anything is
 * written. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "data/tar_header.h"
#include "store/store_internal.h"

#define BLOCK     512
#define MAX_ENTRY ((uint64_t)2 << 30)
#define MAX_TOTAL ((uint64_t)8 << 30)
#define MAX_META  65536

static int read_exact(gzFile gz, void *buf, size_t n) {
    uint8_t *p = buf;
    while (n) {
        unsigned want = n > (1u << 30) ? (1u << 30) : (unsigned)n;
        int got = gzread(gz, p, want);
        if (got <= 0) return -1;
        p += got;
        n -= (size_t)got;
    }
    return 0;
}

/* 0: a whole block, 1: end of data before any byte, -1: error or partial block. */
static int read_block(gzFile gz, uint8_t *h) {
    int got = gzread(gz, h, BLOCK);
    if (got == 0) return 1;
    if (got < 0) return -1;
    if (got < BLOCK) return read_exact(gz, h + got, (size_t)(BLOCK - got)) ? -1 : 0;
    return 0;
}

static int skip_bytes(gzFile gz, uint64_t n) {
    uint8_t buf[8192];
    while (n) {
        size_t k = n > sizeof buf ? sizeof buf : (size_t)n;
        if (read_exact(gz, buf, k)) return -1;
        n -= k;
    }
    return 0;
}

static uint64_t padded(uint64_t n) {
    return (n + BLOCK - 1) / BLOCK * BLOCK;
}

/* Finds "path=" in a pax extended header ("LEN key=value\n" records). */
static void pax_path(const char *data, size_t n, char *out, size_t outn) {
    size_t i = 0;
    while (i < n) {
        size_t len = 0, j = i;
        while (j < n && data[j] >= '0' && data[j] <= '9')
            len = len * 10 + (size_t)(data[j++] - '0');
        if (j >= n || data[j] != ' ' || len == 0 || i + len > n) return;
        const char *kv = data + j + 1;
        size_t kvn = i + len - (j + 1);
        if (kvn > 5 && !memcmp(kv, "path=", 5)) {
            size_t vn = kvn - 5;
            if (vn && kv[5 + vn - 1] == '\n') vn--;
            if (vn < outn) {
                memcpy(out, kv + 5, vn);
                out[vn] = '\0';
            }
        }
        i += len;
    }
}

static int has_dotdot(const char *p) {
    const char *s = p;
    for (const char *q = p;; q++) {
        if (*q == '/' || *q == '\0') {
            if (q - s == 2 && s[0] == '.' && s[1] == '.') return 1;
            if (!*q) return 0;
            s = q + 1;
        }
    }
}

nl_status nl_untar_gz(const char *archive, const char *prefix, const char *dest_dir, int *count,
                      nl_error *err) {
    if (count) *count = 0;
    int fd = open(archive, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return nl_error_set(err, NL_EIO, "%s: cannot open: %s", archive, strerror(errno));
    gzFile gz = gzdopen(fd, "rb");
    if (!gz) {
        close(fd);
        return nl_error_set(err, NL_ENOMEM, "%s: cannot open gzip stream", archive);
    }
    gzbuffer(gz, 1 << 18);
    uint8_t h[BLOCK];
    char longname[4096] = "", paxname[4096] = "", name[8192];
    char *meta = NULL;
    uint8_t *buf = malloc(1 << 20);
    uint64_t offset = 0, total = 0;
    size_t plen = strlen(prefix);
    nl_status st = buf ? NL_OK : nl_error_set(err, NL_ENOMEM, "out of memory");
    int zeros = 0;
    while (!st) {
        int rb = read_block(gz, h);
        if (rb) {
            /* A missing end-of-archive marker after complete entries is tolerated. */
            if (rb == 1 && offset > 0) break;
            st = nl_error_set(err, NL_EFORMAT, "%s: truncated tar data at offset %llu", archive,
                              (unsigned long long)offset);
            break;
        }
        offset += BLOCK;
        int allzero = 1;
        for (int i = 0; i < BLOCK && allzero; i++) allzero = h[i] == 0;
        if (allzero) {
            if (++zeros == 2) break;
            continue;
        }
        zeros = 0;
        if (!nl_tar_checksum_ok(h)) {
            st = nl_error_set(err, NL_EFORMAT, "%s: corrupt tar header at offset %llu", archive,
                              (unsigned long long)(offset - BLOCK));
            break;
        }
        uint64_t size;
        if (nl_tar_number(h + 124, 12, &size)) {
            st =
                nl_error_set(err, NL_EFORMAT, "%s: bad size field in the tar header at offset %llu",
                             archive, (unsigned long long)(offset - BLOCK));
            break;
        }
        char type = (char)h[156];
        if (type == 'L' || type == 'x') { /* GNU long name, pax extended header */
            if (size > MAX_META) {
                st = nl_error_set(err, NL_EFORMAT, "%s: tar metadata entry of %llu bytes", archive,
                                  (unsigned long long)size);
                break;
            }
            free(meta);
            meta = malloc(padded(size) + 1);
            if (!meta || read_exact(gz, meta, padded(size))) {
                st = meta ? nl_error_set(err, NL_EFORMAT, "%s: truncated tar metadata", archive)
                          : nl_error_set(err, NL_ENOMEM, "out of memory");
                break;
            }
            offset += padded(size);
            meta[size] = '\0';
            if (type == 'L')
                snprintf(longname, sizeof longname, "%s", meta);
            else
                pax_path(meta, size, paxname, sizeof paxname);
            continue;
        }
        /* Entry name: pax path, GNU long name, or ustar prefix + name. */
        if (paxname[0]) {
            snprintf(name, sizeof name, "%s", paxname);
        } else if (longname[0]) {
            snprintf(name, sizeof name, "%s", longname);
        } else {
            char n100[101], p155[156];
            memcpy(n100, h, 100);
            n100[100] = '\0';
            memcpy(p155, h + 345, 155);
            p155[155] = '\0';
            if (!memcmp(h + 257, "ustar", 5) && p155[0])
                snprintf(name, sizeof name, "%s/%s", p155, n100);
            else
                snprintf(name, sizeof name, "%s", n100);
        }
        paxname[0] = longname[0] = '\0';
        const char *nm = name;
        while (nm[0] == '.' && nm[1] == '/') nm += 2;
        int regular = type == '0' || type == '\0' || type == '7';
        int under = !strncmp(nm, prefix, plen) && nm[plen] == '/';
        const char *rest = under ? nm + plen + 1 : NULL;
        if (under && has_dotdot(rest)) {
            st = nl_error_set(err, NL_EFORMAT, "%s: refusing unsafe path '%s' in the archive",
                              archive, nm);
            break;
        }
        if (!regular || !under || !*rest || strchr(rest, '/') || !nl_safe_relpath(rest)) {
            if (skip_bytes(gz, padded(size))) {
                st = nl_error_set(err, NL_EFORMAT, "%s: truncated tar data in '%s'", archive, nm);
                break;
            }
            offset += padded(size);
            continue;
        }
        if (size > MAX_ENTRY || total + size > MAX_TOTAL) {
            st = nl_error_set(err, NL_EFORMAT, "%s: entry '%s' of %llu bytes is too large", archive,
                              nm, (unsigned long long)size);
            break;
        }
        total += size;
        char out[4096];
        int k = snprintf(out, sizeof out, "%s/%s", dest_dir, rest);
        if (k < 0 || (size_t)k >= sizeof out) {
            st = nl_error_set(err, NL_EINVAL, "path too long for '%s'", rest);
            break;
        }
        int ofd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (ofd < 0) {
            st = nl_error_set(err, NL_EIO, "%s: cannot create: %s", out, strerror(errno));
            break;
        }
        uint64_t left = size;
        while (!st && left) {
            size_t chunk = left > (1u << 20) ? (1u << 20) : (size_t)left;
            if (read_exact(gz, buf, chunk)) {
                st = nl_error_set(err, NL_EFORMAT, "%s: truncated tar data in '%s'", archive, nm);
                break;
            }
            size_t done = 0;
            while (done < chunk) {
                ssize_t w = write(ofd, buf + done, chunk - done);
                if (w < 0 && errno == EINTR) continue;
                if (w < 0) {
                    st = nl_error_set(err, NL_EIO, "%s: write failed: %s", out, strerror(errno));
                    break;
                }
                done += (size_t)w;
            }
            left -= chunk;
        }
        if (!st && fsync(ofd) != 0)
            st = nl_error_set(err, NL_EIO, "%s: fsync failed: %s", out, strerror(errno));
        if (close(ofd) != 0 && !st)
            st = nl_error_set(err, NL_EIO, "%s: close failed: %s", out, strerror(errno));
        if (st) break;
        if (skip_bytes(gz, padded(size) - size)) {
            st = nl_error_set(err, NL_EFORMAT, "%s: truncated tar padding after '%s'", archive, nm);
            break;
        }
        offset += padded(size);
        if (count) (*count)++;
    }
    if (!st) {
        int zerr = 0;
        const char *zmsg = gzerror(gz, &zerr);
        if (zerr != Z_OK && zerr != Z_BUF_ERROR)
            st = nl_error_set(err, NL_EFORMAT, "%s: corrupt gzip data: %s", archive, zmsg);
    }
    free(meta);
    free(buf);
    gzclose(gz);
    return st;
}
