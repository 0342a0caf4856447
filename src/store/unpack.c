/* The dataset unpacker: extracts the regular files of one directory level of a
 * tar.gz (read through the core's tar reader, core/tar.h), names checked
 * before anything is written, files created inside the destination directory
 * only (openat, no symlink followed). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/tar.h"
#include "store/store_internal.h"

#define MAX_ENTRY ((uint64_t)2 << 30)
#define MAX_TOTAL ((uint64_t)8 << 30)
#define CHUNK     ((size_t)1 << 20)

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

static nl_status write_all(int fd, const uint8_t *p, size_t n, const char *out, nl_error *err) {
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return nl_error_set(err, NL_EIO, "%s: write failed: %s", out, strerror(errno));
        p += w;
        n -= (size_t)w;
    }
    return NL_OK;
}

/* Copies the current entry's data into dest_dir/rest. */
static nl_status extract(nl_tar *t, const nl_tar_entry *e, int dfd, const char *dest_dir,
                         const char *rest, uint8_t *buf, nl_error *err) {
    char out[4096];
    int k = snprintf(out, sizeof out, "%s/%s", dest_dir, rest);
    if (k < 0 || (size_t)k >= sizeof out)
        return nl_error_set(err, NL_EINVAL, "path too long for '%s'", rest);
    int ofd = openat(dfd, rest, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (ofd < 0) return nl_error_set(err, NL_EIO, "%s: cannot create: %s", out, strerror(errno));
    nl_status st = NL_OK;
    for (uint64_t left = e->size; !st && left;) {
        size_t got;
        st = nl_tar_read(t, buf, left < CHUNK ? (size_t)left : CHUNK, &got, err);
        if (!st) st = write_all(ofd, buf, got, out, err);
        left -= got;
    }
    if (!st && fsync(ofd) != 0)
        st = nl_error_set(err, NL_EIO, "%s: fsync failed: %s", out, strerror(errno));
    if (close(ofd) != 0 && !st)
        st = nl_error_set(err, NL_EIO, "%s: close failed: %s", out, strerror(errno));
    return st;
}

nl_status nl_untar_gz(const char *archive, const char *prefix, const char *dest_dir, int *count,
                      nl_error *err) {
    if (count) *count = 0;
    int dfd = open(dest_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0)
        return nl_error_set(err, NL_EIO, "%s: cannot open the directory: %s", dest_dir,
                            strerror(errno));
    nl_tar *t = NULL;
    nl_status st = nl_tar_open(archive, &t, err);
    uint8_t *buf = st ? NULL : malloc(CHUNK);
    if (!st && !buf) st = nl_error_set(err, NL_ENOMEM, "out of memory");
    const size_t plen = strlen(prefix);
    uint64_t total = 0;
    nl_tar_entry e;
    int end = 0;
    while (!st && !(st = nl_tar_next(t, &e, &end, err)) && !end) {
        const char *nm = e.name;
        const int under = !strncmp(nm, prefix, plen) && nm[plen] == '/';
        const char *rest = under ? nm + plen + 1 : NULL;
        if (under && has_dotdot(rest)) {
            st = nl_error_set(err, NL_EFORMAT, "%s: refusing unsafe path '%s' in the archive",
                              archive, nm);
            break;
        }
        if (!e.regular || !under || !*rest || strchr(rest, '/') || !nl_safe_relpath(rest))
            continue; /* nl_tar_next skips its data */
        if (e.size > MAX_ENTRY || total + e.size > MAX_TOTAL) {
            st = nl_error_set(err, NL_EFORMAT, "%s: entry '%s' of %llu bytes is too large", archive,
                              nm, (unsigned long long)e.size);
            break;
        }
        total += e.size;
        if ((st = extract(t, &e, dfd, dest_dir, rest, buf, err))) break;
        if (count) (*count)++;
    }
    free(buf);
    nl_tar_close(t);
    close(dfd);
    return st;
}
