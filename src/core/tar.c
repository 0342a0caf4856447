/* The streaming tar reader (see tar.h). */
#include "core/path.h"
#include "core/tar.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

struct nl_tar {
    gzFile gz;          /* file source, or NULL */
    const uint8_t *mem; /* memory source */
    size_t memn, mempos;
    char *path;
    uint64_t pos;       /* bytes of the tar stream consumed */
    uint64_t left, pad; /* data bytes of the current entry not read, then its padding */
    uint64_t size;      /* size of the current entry */
    int in_entry, ended, truncated;
    char name[NL_TAR_NAME_MAX + 1];     /* current entry */
    char longname[NL_TAR_NAME_MAX + 1]; /* from a GNU 'L' or pax 'x' header, for the next entry */
    int has_longname, has_paxsize;
    uint64_t paxsize;
    uint8_t meta[NL_TAR_META_MAX + NL_TAR_BLOCK];
};

/* ---- the byte source ------------------------------------------------------------------- */

/* Reads up to n bytes; *got < n only at the end of the data (a gzip stream
 * that ends early counts as the end: the caller reports the truncation). */
static nl_status src_read(nl_tar *t, void *buf, size_t n, size_t *got, nl_error *err) {
    size_t done = 0;
    if (!t->gz) {
        size_t k = t->memn - t->mempos < n ? t->memn - t->mempos : n;
        memcpy(buf, t->mem + t->mempos, k);
        t->mempos += k;
        done = k;
    }
    while (t->gz && done < n) {
        const size_t want = n - done > (1u << 30) ? (1u << 30) : n - done;
        const int r = gzread(t->gz, (uint8_t *)buf + done, (unsigned)want);
        if (r < 0) {
            int code = 0;
            const char *msg = gzerror(t->gz, &code);
            if (code == Z_BUF_ERROR) break; /* truncated gzip stream: the data ends here */
            t->pos += done;
            *got = done;
            return nl_error_set(err, NL_EFORMAT, "%s: gzip data is corrupt at tar offset %llu: %s",
                                t->path, (unsigned long long)t->pos, msg ? msg : "zlib error");
        }
        if (r == 0) break;
        done += (size_t)r;
    }
    t->pos += done;
    *got = done;
    return NL_OK;
}

/* Skips n bytes; NL_EFORMAT naming `what` when the data ends first. */
static nl_status src_skip(nl_tar *t, uint64_t n, const char *what, nl_error *err) {
    uint8_t buf[16384];
    const uint64_t total = n;
    while (n) {
        const size_t k = n > sizeof buf ? sizeof buf : (size_t)n;
        size_t got;
        nl_status st = src_read(t, buf, k, &got, err);
        if (st) return st;
        if (got < k) {
            t->truncated = 1;
            return nl_error_set(err, NL_EFORMAT,
                                "%s: the archive is truncated inside %s (%llu of %llu bytes "
                                "missing)",
                                t->path, what, (unsigned long long)(n - got),
                                (unsigned long long)total);
        }
        n -= k;
    }
    return NL_OK;
}

/* ---- header fields --------------------------------------------------------------------- */

/* A numeric field: octal digits (leading spaces or NULs, trailing spaces or
 * NULs), or GNU base-256 (high bit of the first byte set). 0 and *out, or -1
 * for a malformed or overflowing field. */
static int tar_number(const uint8_t *p, size_t n, uint64_t *out) {
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

/* 1 when the header's checksum field matches its bytes (the field counted as spaces). */
static int checksum_ok(const uint8_t *h) {
    uint64_t want;
    if (tar_number(h + 148, 8, &want)) return 0;
    uint64_t sum = 0;
    for (int i = 0; i < NL_TAR_BLOCK; i++) sum += (i >= 148 && i < 156) ? ' ' : h[i];
    return sum == want;
}

static int all_zero(const uint8_t *h) {
    for (int i = 0; i < NL_TAR_BLOCK; i++)
        if (h[i]) return 0;
    return 1;
}

static uint64_t padded(uint64_t n) {
    return (n + NL_TAR_BLOCK - 1) / NL_TAR_BLOCK * NL_TAR_BLOCK;
}

/* Parses pax records "LEN key=value\n" (LEN counts the whole record, itself
 * included) from n bytes of extended header data; keeps "path" and "size". */
static nl_status pax_parse(nl_tar *t, const char *data, size_t n, uint64_t hpos, nl_error *err) {
    size_t i = 0;
    while (i < n) {
        size_t j = i, len = 0;
        int digits = 0;
        while (j < n && data[j] >= '0' && data[j] <= '9' && digits < 19)
            len = len * 10 + (size_t)(data[j++] - '0'), digits++;
        const char *why = NULL;
        if (!digits || j >= n || data[j] != ' ')
            why = "does not start with a decimal length and a space";
        else if (len > n - i)
            why = "has a length that runs past the end of the extended header";
        else if (len < (j - i) + 1 + 3) /* the prefix, the space, then at least "k=\n" */
            why = "has a length shorter than its own prefix";
        else if (data[i + len - 1] != '\n')
            why = "does not end with a newline";
        if (why)
            return nl_error_set(err, NL_EFORMAT,
                                "%s: malformed pax extended header at offset %llu: the record at "
                                "byte %zu of %zu %s",
                                t->path, (unsigned long long)hpos, i, n, why);
        const char *kv = data + j + 1;
        const size_t kvn = i + len - 1 - (j + 1); /* without the newline */
        const char *eq = memchr(kv, '=', kvn);
        if (!eq || eq == kv)
            return nl_error_set(err, NL_EFORMAT,
                                "%s: malformed pax extended header at offset %llu: the record at "
                                "byte %zu has no 'key=value'",
                                t->path, (unsigned long long)hpos, i);
        const size_t kn = (size_t)(eq - kv), vn = kvn - kn - 1;
        const char *val = eq + 1;
        if (kn == 4 && !memcmp(kv, "path", 4)) {
            if (vn == 0 || vn > NL_TAR_NAME_MAX || memchr(val, '\0', vn))
                return nl_error_set(err, NL_EFORMAT,
                                    "%s: pax extended header at offset %llu: path of %zu bytes "
                                    "(expected 1..%d bytes without NUL)",
                                    t->path, (unsigned long long)hpos, vn, NL_TAR_NAME_MAX);
            memcpy(t->longname, val, vn);
            t->longname[vn] = '\0';
            t->has_longname = 1;
        } else if (kn == 4 && !memcmp(kv, "size", 4)) {
            uint64_t v = 0;
            size_t k = 0;
            for (; k < vn && val[k] >= '0' && val[k] <= '9' && k < 18; k++)
                v = v * 10 + (uint64_t)(val[k] - '0');
            if (k == 0 || k != vn)
                return nl_error_set(
                    err, NL_EFORMAT, "%s: pax extended header at offset %llu: bad size '%.*s'",
                    t->path, (unsigned long long)hpos, (int)(vn > 40 ? 40 : vn), val);
            t->paxsize = v;
            t->has_paxsize = 1;
        }
        i += len;
    }
    return NL_OK;
}

/* ---- the iterator ------------------------------------------------------------------------ */

static nl_status tar_new(const char *label, nl_tar **out, nl_error *err) {
    nl_tar *t = calloc(1, sizeof *t);
    if (t) t->path = strdup(label ? label : "(tar)");
    if (!t || !t->path) {
        free(t);
        return nl_error_set(err, NL_ENOMEM, "out of memory for a tar reader");
    }
    *out = t;
    return NL_OK;
}

nl_status nl_tar_open(const char *path, nl_tar **out, nl_error *err) {
    *out = NULL;
    nl_error oerr = {0};
    int fd = nl_open_regular(path, O_RDONLY, &oerr); /* a FIFO must not block here */
    if (fd < 0) {
        if (err) *err = oerr;
        return oerr.code;
    }
    nl_tar *t = NULL;
    nl_status st = tar_new(path, &t, err);
    if (st) {
        close(fd);
        return st;
    }
    t->gz = gzdopen(fd, "rb");
    if (!t->gz) {
        close(fd);
        nl_tar_close(t);
        return nl_error_set(err, NL_ENOMEM, "%s: cannot open the gzip stream", path);
    }
    gzbuffer(t->gz, 1 << 17);
    *out = t;
    return NL_OK;
}

nl_status nl_tar_open_mem(const void *data, size_t n, const char *label, nl_tar **out,
                          nl_error *err) {
    *out = NULL;
    nl_tar *t = NULL;
    nl_status st = tar_new(label, &t, err);
    if (st) return st;
    t->mem = data;
    t->memn = n;
    *out = t;
    return NL_OK;
}

/* Reads one header block at the current position: 0 and h, 1 at the end of
 * the data before any byte, or an error. */
static nl_status read_header(nl_tar *t, uint8_t *h, int *eof, nl_error *err) {
    const uint64_t hpos = t->pos;
    size_t got;
    nl_status st = src_read(t, h, NL_TAR_BLOCK, &got, err);
    if (st) return st;
    *eof = got == 0;
    if (got && got < NL_TAR_BLOCK) {
        t->truncated = 1;
        return nl_error_set(err, NL_EFORMAT,
                            "%s: the archive is truncated in a tar header at offset %llu", t->path,
                            (unsigned long long)hpos);
    }
    return NL_OK;
}

nl_status nl_tar_next(nl_tar *t, nl_tar_entry *e, int *end, nl_error *err) {
    *end = 0;
    if (t->ended) {
        *end = 1;
        return NL_OK;
    }
    if (t->in_entry) {
        char what[NL_TAR_NAME_MAX + 16];
        snprintf(what, sizeof what, "member %s", t->name);
        nl_status st = src_skip(t, t->left, what, err);
        if (!st) st = src_skip(t, t->pad, what, err);
        t->left = t->pad = 0;
        t->in_entry = 0;
        if (st) return st;
    }
    int meta_pending = 0; /* an extended header was read: an entry must follow */
    for (;;) {
        const uint64_t hpos = t->pos;
        uint8_t h[NL_TAR_BLOCK];
        int eof;
        nl_status st = read_header(t, h, &eof, err);
        if (st) return st;
        if (eof) {
            if (hpos == 0)
                return nl_error_set(err, NL_EFORMAT, "%s: empty archive (no tar header)", t->path);
            if (meta_pending) {
                t->truncated = 1;
                return nl_error_set(err, NL_EFORMAT,
                                    "%s: the archive ends at offset %llu after an extended "
                                    "header, without its entry",
                                    t->path, (unsigned long long)hpos);
            }
            t->ended = *end = 1; /* a missing end-of-archive marker is tolerated */
            return NL_OK;
        }
        if (all_zero(h)) {
            t->ended = *end = 1;
            return NL_OK;
        }
        if (!checksum_ok(h))
            return nl_error_set(err, NL_EFORMAT,
                                "%s: corrupt tar header at offset %llu (bad checksum): not a tar "
                                "archive, or damaged",
                                t->path, (unsigned long long)hpos);
        uint64_t size;
        if (tar_number(h + 124, 12, &size))
            return nl_error_set(err, NL_EFORMAT,
                                "%s: tar header at offset %llu has a bad size field", t->path,
                                (unsigned long long)hpos);
        const char type = (char)h[156];
        if (type == 'L' || type == 'K' || type == 'x' || type == 'g') {
            if (size > NL_TAR_META_MAX)
                return nl_error_set(err, NL_EFORMAT,
                                    "%s: tar header at offset %llu (type '%c') has %llu bytes of "
                                    "extended data, more than the %d accepted",
                                    t->path, (unsigned long long)hpos, type,
                                    (unsigned long long)size, NL_TAR_META_MAX);
            const size_t p = (size_t)padded(size);
            size_t got;
            if ((st = src_read(t, t->meta, p, &got, err))) return st;
            if (got < p) {
                t->truncated = 1;
                return nl_error_set(err, NL_EFORMAT,
                                    "%s: the archive is truncated inside the extended header at "
                                    "offset %llu",
                                    t->path, (unsigned long long)hpos);
            }
            const char *data = (const char *)t->meta;
            if (type == 'L') {
                const size_t n = strnlen(data, (size_t)size);
                if (n == 0 || n > NL_TAR_NAME_MAX)
                    return nl_error_set(err, NL_EFORMAT,
                                        "%s: GNU long name at offset %llu has %zu bytes, expected "
                                        "1..%d",
                                        t->path, (unsigned long long)hpos, n, NL_TAR_NAME_MAX);
                memcpy(t->longname, data, n);
                t->longname[n] = '\0';
                t->has_longname = 1;
            } else if (type == 'x') {
                if ((st = pax_parse(t, data, (size_t)size, hpos, err))) return st;
            } /* 'g' (global pax records) and 'K' (long link names) do not name entries */
            meta_pending = t->has_longname || t->has_paxsize;
            continue;
        }
        if (t->has_longname) {
            memcpy(t->name, t->longname, sizeof t->name);
        } else {
            char nm[101], prefix[156];
            memcpy(nm, h, 100), nm[100] = '\0';
            memcpy(prefix, h + 345, 155), prefix[155] = '\0';
            if (!memcmp(h + 257, "ustar", 5) && prefix[0])
                snprintf(t->name, sizeof t->name, "%s/%s", prefix, nm);
            else
                snprintf(t->name, sizeof t->name, "%s", nm);
        }
        if (t->has_paxsize) size = t->paxsize;
        t->has_longname = t->has_paxsize = 0;
        const char *n = t->name;
        while (n[0] == '.' && n[1] == '/') n += 2;
        e->name = n;
        e->size = size;
        e->offset = hpos;
        e->type = type;
        e->regular = type == '0' || type == '\0' || type == '7';
        t->size = size;
        t->left = size;
        t->pad = padded(size) - size;
        t->in_entry = 1;
        return NL_OK;
    }
}

nl_status nl_tar_read(nl_tar *t, void *buf, size_t n, size_t *got, nl_error *err) {
    *got = 0;
    if (!t->in_entry) return NL_OK;
    const size_t k = t->left < n ? (size_t)t->left : n;
    nl_status st = src_read(t, buf, k, got, err);
    t->left -= *got;
    if (st) return st;
    if (*got < k) {
        t->truncated = 1;
        return nl_error_set(err, NL_EFORMAT,
                            "%s: member %s is truncated: the archive ends after %llu of its %llu "
                            "bytes",
                            t->path, t->name, (unsigned long long)(t->size - t->left),
                            (unsigned long long)t->size);
    }
    return NL_OK;
}

int nl_tar_truncated(const nl_tar *t) {
    return t->truncated;
}

const char *nl_tar_path(const nl_tar *t) {
    return t->path;
}

void nl_tar_close(nl_tar *t) {
    if (!t) return;
    if (t->gz) gzclose(t->gz);
    free(t->path);
    free(t);
}
