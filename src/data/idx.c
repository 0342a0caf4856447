/* IDX files (the MNIST family): raw or gzip-compressed.
 *
 * Layout: magic 0x00 0x00 <type> <rank>, then rank big-endian u32 dimensions,
 * then the data. nnlab reads type 0x08 (unsigned byte) only: images rank 3
 * (count, rows, cols), labels rank 1 (count). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/path.h"
#include "nnlab/data.h"

#define NL_READ_CHUNK (1u << 20)

static nl_status read_gz(const char *path, int fd, size_t max_bytes, uint8_t **out, size_t *len,
                         nl_error *err) {
    gzFile gz = gzdopen(fd, "rb");
    if (!gz) {
        close(fd);
        return nl_error_set(err, NL_ENOMEM, "%s: cannot open gzip stream", path);
    }
    gzbuffer(gz, 256 * 1024);
    size_t cap = 1u << 20, n = 0;
    uint8_t *buf = malloc(cap);
    nl_status st = NL_OK;
    if (!buf) {
        gzclose(gz);
        return nl_error_set(err, NL_ENOMEM, "%s: out of memory", path);
    }
    for (;;) {
        if (n == cap) {
            if (cap >= max_bytes) {
                st = nl_error_set(err, NL_EFORMAT,
                                  "%s: decompressed data exceeds the limit of %zu bytes", path,
                                  max_bytes);
                break;
            }
            size_t ncap = cap * 2 > max_bytes ? max_bytes : cap * 2;
            uint8_t *p = realloc(buf, ncap);
            if (!p) {
                st = nl_error_set(err, NL_ENOMEM, "%s: out of memory at %zu bytes", path, ncap);
                break;
            }
            buf = p;
            cap = ncap;
        }
        size_t want = cap - n > NL_READ_CHUNK ? NL_READ_CHUNK : cap - n;
        int got = gzread(gz, buf + n, (unsigned)want);
        if (got < 0) {
            int zerr = 0;
            const char *msg = gzerror(gz, &zerr);
            st = nl_error_set(err, NL_EFORMAT,
                              "%s: corrupt gzip data after %zu decompressed bytes: %s", path, n,
                              msg ? msg : "unknown zlib error");
            break;
        }
        n += (size_t)got;
        if ((size_t)got < want) {
            int zerr = 0;
            const char *msg = gzerror(gz, &zerr);
            if (zerr != Z_OK) {
                st = nl_error_set(err, NL_EFORMAT,
                                  "%s: truncated or corrupt gzip data after %zu decompressed "
                                  "bytes: %s",
                                  path, n, msg);
                break;
            }
            if (gzeof(gz)) break;
        }
    }
    gzclose(gz);
    if (st) {
        free(buf);
        return st;
    }
    *out = buf;
    *len = n;
    return NL_OK;
}

/* Opens a regular file for reading without blocking on a FIFO or device;
 * *st gets its status. */
static nl_status open_input(const char *path, int *fd, struct stat *st, nl_error *err) {
    nl_error oerr = {0};
    *fd = nl_open_regular(path, O_RDONLY, &oerr);
    if (*fd < 0) {
        if (err) *err = oerr;
        return oerr.code;
    }
    if (fstat(*fd, st) != 0) {
        const int e = errno;
        close(*fd);
        return nl_error_set(err, NL_EIO, "%s: cannot stat: %s", path, strerror(e));
    }
    return NL_OK;
}

nl_status nl_read_file(const char *path, size_t max_bytes, uint8_t **out, size_t *len,
                       nl_error *err) {
    *out = NULL;
    *len = 0;
    int fd;
    struct stat st;
    nl_status os = open_input(path, &fd, &st, err);
    if (os) return os;
    uint8_t magic[2] = {0, 0};
    ssize_t m = pread(fd, magic, 2, 0);
    if (m == 2 && magic[0] == 0x1f && magic[1] == 0x8b)
        return read_gz(path, fd, max_bytes, out, len, err);
    if ((uint64_t)st.st_size > max_bytes) {
        close(fd);
        return nl_error_set(err, NL_EFORMAT, "%s: %lld bytes exceeds the limit of %zu bytes", path,
                            (long long)st.st_size, max_bytes);
    }
    size_t size = (size_t)st.st_size;
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) {
        close(fd);
        return nl_error_set(err, NL_ENOMEM, "%s: out of memory for %zu bytes", path, size);
    }
    size_t n = 0;
    while (n < size) {
        ssize_t r = read(fd, buf + n, size - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            nl_status s = nl_error_set(err, NL_EIO, "%s: read failed at offset %zu: %s", path, n,
                                       strerror(errno));
            free(buf);
            close(fd);
            return s;
        }
        if (r == 0) break; /* file shrank while reading */
        n += (size_t)r;
    }
    close(fd);
    *out = buf;
    *len = n;
    return NL_OK;
}

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Checks the header of an IDX u8 file of the given rank (len bytes of it are
 * in buf, the whole header when len allows) and gives its dimensions, its
 * header size and the data bytes they announce. */
static nl_status parse_header(const char *name, const uint8_t *buf, size_t len, int expected_rank,
                              uint32_t dims[3], size_t *hdr_out, uint64_t *total_out,
                              nl_error *err) {
    if (len == 0)
        return nl_error_set(err, NL_EFORMAT, "%s: empty file (expected an IDX header)", name);
    if (len < 4)
        return nl_error_set(err, NL_EFORMAT,
                            "%s: truncated header: %zu bytes, the IDX magic needs 4", name, len);
    if (buf[0] != 0 || buf[1] != 0)
        return nl_error_set(err, NL_EFORMAT,
                            "%s: bad magic at offset 0: bytes %02x %02x, expected 00 00 (is this "
                            "an IDX file?)",
                            name, buf[0], buf[1]);
    if (buf[2] != 0x08)
        return nl_error_set(err, NL_EFORMAT,
                            "%s: data type 0x%02x at offset 2, expected 0x08 (unsigned byte)", name,
                            buf[2]);
    if (buf[3] != expected_rank)
        return nl_error_set(err, NL_EFORMAT, "%s: rank %u at offset 3, expected %d", name, buf[3],
                            expected_rank);
    size_t hdr = 4 + 4 * (size_t)expected_rank;
    if (len < hdr)
        return nl_error_set(err, NL_EFORMAT,
                            "%s: truncated header: %zu bytes, expected %zu for rank %d", name, len,
                            hdr, expected_rank);
    uint64_t total = 1;
    for (int i = 0; i < expected_rank; i++) {
        dims[i] = be32(buf + 4 + 4 * i);
        total *= dims[i];
        if (dims[i] == 0)
            return nl_error_set(err, NL_EFORMAT, "%s: dimension %d (offset %d) is zero", name, i,
                                4 + 4 * i);
        if (total > ((uint64_t)1 << 40))
            return nl_error_set(err, NL_EFORMAT,
                                "%s: dimensions overflow: product of the first %d dimensions "
                                "exceeds 2^40 bytes",
                                name, i + 1);
    }
    *hdr_out = hdr;
    *total_out = total;
    return NL_OK;
}

nl_status nl_idx_parse(const char *name, const uint8_t *buf, size_t len, int expected_rank,
                       uint32_t dims[3], const uint8_t **data, nl_error *err) {
    size_t hdr = 0;
    uint64_t total = 0;
    nl_status st = parse_header(name, buf, len, expected_rank, dims, &hdr, &total, err);
    if (st) return st;
    if ((uint64_t)(len - hdr) != total)
        return nl_error_set(err, NL_EFORMAT,
                            "%s: file has %zu data bytes after the %zu-byte header, the "
                            "dimensions need %llu (%s)",
                            name, len - hdr, hdr, (unsigned long long)total,
                            (uint64_t)(len - hdr) < total ? "truncated data" : "trailing bytes");
    *data = buf + hdr;
    return NL_OK;
}

/* Reads up to n bytes through zlib (plain files pass through unchanged); *got
 * < n at the end of the data. A gzip stream that ends early is reported by the
 * caller as truncated; corrupt data is an error here. */
static nl_status gz_read(gzFile gz, const char *path, uint8_t *buf, size_t n, uint64_t at,
                         size_t *got, nl_error *err) {
    size_t done = 0;
    while (done < n) {
        const size_t want = n - done > NL_READ_CHUNK ? NL_READ_CHUNK : n - done;
        const int r = gzread(gz, buf + done, (unsigned)want);
        if (r < 0) {
            int zerr = 0;
            const char *msg = gzerror(gz, &zerr);
            if (zerr == Z_BUF_ERROR) break;
            *got = done;
            return nl_error_set(err, NL_EFORMAT,
                                "%s: corrupt gzip data after %llu decompressed bytes: %s", path,
                                (unsigned long long)(at + done), msg ? msg : "unknown zlib error");
        }
        if (r == 0) break;
        done += (size_t)r;
    }
    *got = done;
    return NL_OK;
}

/* Reads an IDX file (raw or gzip) of the given rank: the header first, then
 * exactly the data it announces (at most max_bytes in all), then one byte more
 * to detect trailing data. Memory and time are bounded by the header's size,
 * whatever follows it. On success *out (malloc'd) holds the whole file. */
static nl_status read_idx(const char *path, int rank, size_t max_bytes, uint8_t **out, size_t *len,
                          nl_error *err) {
    *out = NULL;
    *len = 0;
    int fd;
    struct stat sb;
    nl_status os = open_input(path, &fd, &sb, err);
    if (os) return os;
    uint8_t magic[2] = {0, 0};
    const int gzipped = pread(fd, magic, 2, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    const char *what = gzipped ? "decompressed data" : "file";
    gzFile gz = gzdopen(fd, "rb");
    if (!gz) {
        close(fd);
        return nl_error_set(err, NL_ENOMEM, "%s: cannot open the gzip stream", path);
    }
    gzbuffer(gz, 256 * 1024);
    uint8_t head[16], probe;
    const size_t hlen = 4 + 4 * (size_t)rank;
    size_t got = 0, hdr = 0;
    uint64_t total = 0;
    uint32_t dims[3];
    uint8_t *buf = NULL;
    nl_status st = gz_read(gz, path, head, hlen, 0, &got, err);
    if (!st && gzipped && got < hlen &&
        (got < 4 || (head[0] == 0 && head[1] == 0 && head[2] == 8 && head[3] == rank)))
        st = nl_error_set(err, NL_EFORMAT,
                          "%s: truncated header: the decompressed gzip data ends after %zu "
                          "bytes, an IDX header of rank %d needs %zu",
                          path, got, rank, hlen);
    if (!st) st = parse_header(path, head, got, rank, dims, &hdr, &total, err);
    if (!st && total > max_bytes - hdr)
        st = nl_error_set(err, NL_EFORMAT,
                          "%s: the IDX header announces %llu data bytes, more than the limit of "
                          "%zu",
                          path, (unsigned long long)total, max_bytes - hdr);
    if (!st && !gzipped && (uint64_t)sb.st_size != hdr + total)
        st =
            nl_error_set(err, NL_EFORMAT,
                         "%s: file has %llu data bytes after the %zu-byte header, the "
                         "dimensions need %llu (%s)",
                         path, (unsigned long long)sb.st_size - hdr, hdr, (unsigned long long)total,
                         (uint64_t)sb.st_size < hdr + total ? "truncated data" : "trailing bytes");
    /* The buffer grows with the data that really arrives (a gzip stream can
       announce far more than it holds): a raw file's size was checked above,
       a gzip stream starts at a few times its compressed size and doubles. */
    size_t cap = hdr + (size_t)total, have = 0;
    if (gzipped) {
        const size_t start = (size_t)sb.st_size < ((size_t)1 << 28) ? 4 * (size_t)sb.st_size : cap;
        const size_t first = hdr + (start > ((size_t)1 << 20) ? start : ((size_t)1 << 20));
        if (first < cap) cap = first;
    }
    if (!st && !(buf = malloc(cap)))
        st = nl_error_set(err, NL_ENOMEM, "%s: out of memory for %zu bytes", path, cap);
    if (!st) memcpy(buf, head, hdr);
    while (!st && have < total) {
        if (hdr + have == cap) {
            const size_t want = hdr + (size_t)total;
            const size_t next = cap > want / 2 ? want : 2 * cap;
            uint8_t *p = realloc(buf, next);
            if (!p) {
                st = nl_error_set(err, NL_ENOMEM, "%s: out of memory for %zu bytes", path, next);
                break;
            }
            buf = p, cap = next;
        }
        const size_t chunk = cap - hdr - have;
        st = gz_read(gz, path, buf + hdr + have, chunk, hdr + have, &got, err);
        have += got;
        if (got < chunk) break; /* the end of the data */
    }
    if (!st && have < total)
        st = nl_error_set(err, NL_EFORMAT,
                          "%s: %s ends after %zu of the %llu data bytes its IDX header "
                          "announces (truncated data%s)",
                          path, what, have, (unsigned long long)total,
                          gzipped ? ", or a truncated gzip stream" : "");
    if (!st) { /* one byte more: trailing data, and the gzip trailer's check at the end */
        st = gz_read(gz, path, &probe, 1, hdr + total, &got, err);
        if (!st && got)
            st = nl_error_set(err, NL_EFORMAT,
                              "%s: %s goes on past the %llu bytes its IDX header announces "
                              "(%zu-byte header + %llu data bytes): trailing bytes",
                              path, what, (unsigned long long)(hdr + total), hdr,
                              (unsigned long long)total);
    }
    gzclose(gz);
    if (st) {
        free(buf);
        return st;
    }
    *out = buf;
    *len = hdr + (size_t)total;
    return NL_OK;
}

nl_status nl_idx_load(const char *images_path, const char *labels_path, int num_classes,
                      nl_dataset *d, nl_error *err) {
    memset(d, 0, sizeof *d);
    uint8_t *ibuf = NULL, *lbuf = NULL;
    size_t ilen = 0, llen = 0;
    uint32_t idims[3] = {0}, ldims[3] = {0};
    const uint8_t *idata = NULL, *ldata = NULL;
    const size_t max = (size_t)1 << 32;
    nl_status st = read_idx(images_path, 3, max, &ibuf, &ilen, err);
    if (st) goto out;
    st = nl_idx_parse(images_path, ibuf, ilen, 3, idims, &idata, err);
    if (st) goto out;
    st = read_idx(labels_path, 1, max, &lbuf, &llen, err);
    if (st) goto out;
    st = nl_idx_parse(labels_path, lbuf, llen, 1, ldims, &ldata, err);
    if (st) goto out;
    if (idims[0] != ldims[0]) {
        st = nl_error_set(err, NL_EFORMAT,
                          "%s has %u images but %s has %u labels: the counts must match",
                          images_path, idims[0], labels_path, ldims[0]);
        goto out;
    }
    if (idims[1] > 4096 || idims[2] > 4096) {
        st = nl_error_set(err, NL_EFORMAT, "%s: image size %ux%u is larger than 4096x4096",
                          images_path, idims[1], idims[2]);
        goto out;
    }
    for (uint32_t i = 0; i < ldims[0]; i++) {
        if (ldata[i] >= num_classes) {
            st = nl_error_set(err, NL_EFORMAT,
                              "%s: label %u of record %u (offset %u) is out of range, expected "
                              "0..%d",
                              labels_path, ldata[i], i, 8 + i, num_classes - 1);
            goto out;
        }
    }
    /* Keep the data in place: move it to the front of the buffers. */
    size_t isz = (size_t)idims[0] * idims[1] * idims[2];
    memmove(ibuf, idata, isz);
    memmove(lbuf, ldata, ldims[0]);
    d->n = idims[0];
    d->h = (int)idims[1];
    d->w = (int)idims[2];
    d->c = 1;
    d->num_classes = num_classes;
    d->images = ibuf;
    d->labels = lbuf;
    ibuf = lbuf = NULL;
out:
    free(ibuf);
    free(lbuf);
    return st;
}

static int exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

static const char *const mnist_files[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                           "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};

nl_status nl_idx_dataset_load(const char *dir, const nl_dataset_info *info, nl_split split,
                              nl_dataset *d, nl_error *err) {
    memset(d, 0, sizeof *d);
    const char *const *files = info->files ? info->files : mnist_files;
    const char *name[2] = {files[split == NL_SPLIT_TEST ? 2 : 0],
                           files[split == NL_SPLIT_TEST ? 3 : 1]};
    const char *subdir = info->subdir ? info->subdir : info->name;
    const char *sfx[2] = {"", ".gz"};
    char path[2][4096];
    for (int f = 0; f < 2; f++) {
        int found = 0;
        for (int k = 0; k < 2 && !found; k++) {
            const int n =
                snprintf(path[f], sizeof path[f], "%s/%s/%s%s", dir, subdir, name[f], sfx[k]);
            if (n < 0 || (size_t)n >= sizeof path[f])
                return nl_error_set(err, NL_EINVAL, "%s: data directory path too long", info->name);
            found = exists(path[f]);
        }
        if (!found) {
            if (!info->files)
                return nl_error_set(err, NL_ENOTFOUND,
                                    "%s dataset not found: looked for %s/%s/%s[.gz] (the "
                                    "directory needs %s/{train,t10k}-{images-idx3,labels-idx1}-"
                                    "ubyte[.gz])",
                                    subdir, dir, subdir, name[f], subdir);
            return nl_error_set(err, NL_ENOTFOUND, "%s dataset not found: looked for %s/%s/%s[.gz]",
                                info->name, dir, subdir, name[f]);
        }
    }
    const int classes = info->num_classes > 0 ? info->num_classes : 10;
    return nl_idx_load(path[0], path[1], classes, d, err);
}

nl_status nl_mnist_load(const char *dir, const char *subdir, nl_split split, nl_dataset *d,
                        nl_error *err) {
    const nl_dataset_info info = {.name = subdir,
                                  .subdir = subdir,
                                  .catalog = subdir,
                                  .num_classes = 10,
                                  .load = nl_idx_dataset_load};
    return nl_idx_dataset_load(dir, &info, split, d, err);
}
