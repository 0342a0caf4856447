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

nl_status nl_read_file(const char *path, size_t max_bytes, uint8_t **out, size_t *len,
                       nl_error *err) {
    *out = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return nl_error_set(err, errno == ENOENT ? NL_ENOTFOUND : NL_EIO, "%s: cannot open: %s",
                            path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return nl_error_set(err, NL_EIO, "%s: not a regular file", path);
    }
    uint8_t magic[2] = {0, 0};
    ssize_t m = pread(fd, magic, 2, 0);
    if (m == 2 && magic[0] == 0x1f && magic[1] == 0x8b) return read_gz(path, fd, max_bytes, out, len, err);
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

nl_status nl_idx_parse(const char *name, const uint8_t *buf, size_t len, int expected_rank,
                       uint32_t dims[3], const uint8_t **data, nl_error *err) {
    if (len == 0) return nl_error_set(err, NL_EFORMAT, "%s: empty file (expected an IDX header)", name);
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
                            "%s: data type 0x%02x at offset 2, expected 0x08 (unsigned byte)",
                            name, buf[2]);
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
    if ((uint64_t)(len - hdr) != total)
        return nl_error_set(err, NL_EFORMAT,
                            "%s: file has %zu data bytes after the %zu-byte header, the "
                            "dimensions need %llu (%s)",
                            name, len - hdr, hdr, (unsigned long long)total,
                            (uint64_t)(len - hdr) < total ? "truncated data" : "trailing bytes");
    *data = buf + hdr;
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
    nl_status st = nl_read_file(images_path, max, &ibuf, &ilen, err);
    if (st) goto out;
    st = nl_idx_parse(images_path, ibuf, ilen, 3, idims, &idata, err);
    if (st) goto out;
    st = nl_read_file(labels_path, max, &lbuf, &llen, err);
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

nl_status nl_mnist_load(const char *dir, const char *subdir, nl_split split, nl_dataset *d,
                        nl_error *err) {
    const char *prefix = split == NL_SPLIT_TRAIN ? "train" : "t10k";
    char img[4096], lab[4096];
    char tried[2 * 4096 + 64];
    const char *sfx[2] = {"", ".gz"};
    int found_i = -1, found_l = -1;
    for (int k = 0; k < 2; k++) {
        snprintf(img, sizeof img, "%s/%s/%s-images-idx3-ubyte%s", dir, subdir, prefix, sfx[k]);
        if (found_i < 0 && exists(img)) found_i = k;
        snprintf(lab, sizeof lab, "%s/%s/%s-labels-idx1-ubyte%s", dir, subdir, prefix, sfx[k]);
        if (found_l < 0 && exists(lab)) found_l = k;
    }
    if (found_i < 0 || found_l < 0) {
        snprintf(tried, sizeof tried, "%s/%s/%s-%s-ubyte[.gz]", dir, subdir, prefix,
                 found_i < 0 ? "images-idx3" : "labels-idx1");
        return nl_error_set(err, NL_ENOTFOUND,
                            "%s dataset not found: looked for %s. Get the files with 'nnlab "
                            "data fetch %s', or point --data / NNLAB_DATA at a directory that has "
                            "%s/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]",
                            subdir, tried, subdir, subdir);
    }
    snprintf(img, sizeof img, "%s/%s/%s-images-idx3-ubyte%s", dir, subdir, prefix, sfx[found_i]);
    snprintf(lab, sizeof lab, "%s/%s/%s-labels-idx1-ubyte%s", dir, subdir, prefix, sfx[found_l]);
    return nl_idx_load(img, lab, 10, d, err);
}
