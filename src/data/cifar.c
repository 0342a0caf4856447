/* CIFAR-10, binary version (Krizhevsky): loader for the batch files in a
 * directory and for the official cifar-10-binary.tar.gz read in place.
 *
 * A record is 3073 bytes: the label (0..9), then 1024 red, 1024 green and
 * 1024 blue bytes, each plane row-major 32x32 (CHW). Records are converted to
 * HWC (the NHWC layout of every nnlab layer) as they are read.
 *
 *   DIR/cifar-10-batches-bin/data_batch_1.bin .. data_batch_5.bin   train (50000)
 *   DIR/cifar-10-batches-bin/test_batch.bin                          test  (10000)
 *   DIR/cifar-10-binary.tar.gz  the same files under cifar-10-batches-bin/, used
 *                               when the directory does not exist; read through
 *                               zlib (gzread) and parsed as tar in a stream,
 *                               nothing is unpacked to disk.
 *
 * Checks: every batch file of the split present, no unexpected data_batch* or
 * test_batch* file, sizes that are whole numbers of 3073-byte records, the
 * expected number of records per file, labels 0..9, tar headers (checksum,
 * sizes) and members cut short by the end of the archive. Messages name the
 * file (and member) and the record. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "data/tar_header.h"
#include "core/path.h"
#include "nnlab/data.h"

#define REC     NL_CIFAR10_RECORD_BYTES
#define PIXELS  1024
#define CLASSES 10
#define NBATCH  6   /* data_batch_1..5, test_batch */
#define CHUNK   256 /* records per read */

static const char *const batch_names[NBATCH] = {"data_batch_1.bin", "data_batch_2.bin",
                                                "data_batch_3.bin", "data_batch_4.bin",
                                                "data_batch_5.bin", "test_batch.bin"};

/* Index of name among batch_names, -1 when it is none of them. */
static int batch_index(const char *name) {
    for (int i = 0; i < NBATCH; i++)
        if (!strcmp(name, batch_names[i])) return i;
    return -1;
}

/* A name that looks like a batch file (data_batch* or test_batch*). */
static int looks_like_batch(const char *name) {
    return !strncmp(name, "data_batch", 10) || !strncmp(name, "test_batch", 10);
}

/* Files of a split: [first, first + count) in batch_names. */
static void split_files(nl_split split, int *first, int *count) {
    if (split == NL_SPLIT_TEST)
        *first = 5, *count = 1;
    else
        *first = 0, *count = 5;
}

/* Converts n records (CHW planes) into HWC images and labels. rec0 is the index
 * of the first record in its file (for messages). */
static nl_status convert(const uint8_t *src, size_t n, uint8_t *img, uint8_t *lab, const char *what,
                         size_t rec0, nl_error *err) {
    for (size_t r = 0; r < n; r++) {
        const uint8_t *s = src + r * REC;
        if (s[0] >= CLASSES)
            return nl_error_set(err, NL_EFORMAT,
                                "%s: record %zu (byte offset %zu): label %u is out of range 0..9",
                                what, rec0 + r, (rec0 + r) * (size_t)REC, s[0]);
        lab[r] = s[0];
        const uint8_t *R = s + 1, *G = R + PIXELS, *B = G + PIXELS;
        uint8_t *o = img + r * (size_t)PIXELS * 3;
        for (int p = 0; p < PIXELS; p++) {
            o[3 * p] = R[p];
            o[3 * p + 1] = G[p];
            o[3 * p + 2] = B[p];
        }
    }
    return NL_OK;
}

/* Record count of a file or member of `bytes` bytes, or an error naming it. */
static nl_status check_size(const char *what, uint64_t bytes, size_t want, nl_error *err) {
    if (bytes % REC)
        return nl_error_set(err, NL_EFORMAT,
                            "%s: %llu bytes is not a whole number of %d-byte records: record %llu "
                            "is truncated (%llu of %d bytes)",
                            what, (unsigned long long)bytes, REC, (unsigned long long)(bytes / REC),
                            (unsigned long long)(bytes % REC), REC);
    if (bytes / REC != want)
        return nl_error_set(err, NL_EFORMAT, "%s: %llu records (%llu bytes), expected %zu", what,
                            (unsigned long long)(bytes / REC), (unsigned long long)bytes, want);
    return NL_OK;
}

static nl_status alloc_dataset(nl_dataset *d, size_t n, nl_error *err) {
    memset(d, 0, sizeof *d);
    d->images = malloc(n * PIXELS * 3);
    d->labels = malloc(n ? n : 1);
    if (!d->images || !d->labels) {
        nl_dataset_free(d);
        return nl_error_set(err, NL_ENOMEM, "out of memory for %zu CIFAR-10 images", n);
    }
    d->n = n;
    d->h = 32, d->w = 32, d->c = 3;
    d->num_classes = CLASSES;
    return NL_OK;
}

/* ---- directory of batch files ------------------------------------------------ */

static nl_status check_extra_files(const char *bdir, nl_error *err) {
    DIR *dh = opendir(bdir);
    if (!dh) return nl_error_set(err, NL_EIO, "%s: cannot list: %s", bdir, strerror(errno));
    nl_status st = NL_OK;
    struct dirent *e;
    while ((e = readdir(dh)) != NULL) {
        if (looks_like_batch(e->d_name) && batch_index(e->d_name) < 0) {
            st = nl_error_set(err, NL_EFORMAT,
                              "%s/%s: unexpected batch file (CIFAR-10 has data_batch_1.bin .. "
                              "data_batch_5.bin and test_batch.bin)",
                              bdir, e->d_name);
            break;
        }
    }
    closedir(dh);
    return st;
}

static nl_status load_file(const char *path, size_t want, uint8_t *img, uint8_t *lab, uint8_t *buf,
                           nl_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT)
            return nl_error_set(err, NL_ENOTFOUND, "%s: batch file is missing", path);
        return nl_error_set(err, NL_EIO, "%s: cannot open: %s", path, strerror(errno));
    }
    struct stat sb;
    nl_status st = NL_OK;
    if (fstat(fileno(f), &sb) != 0) {
        st = nl_error_set(err, NL_EIO, "%s: cannot stat: %s", path, strerror(errno));
    } else if (!S_ISREG(sb.st_mode)) {
        st = nl_error_set(err, NL_EFORMAT, "%s: not a regular file", path);
    } else {
        st = check_size(path, (uint64_t)sb.st_size, want, err);
    }
    for (size_t r = 0; st == NL_OK && r < want; r += CHUNK) {
        const size_t n = want - r < CHUNK ? want - r : CHUNK;
        const size_t got = fread(buf, 1, n * REC, f);
        if (got != n * REC) {
            st = ferror(f) ? nl_error_set(err, NL_EIO, "%s: read error in record %zu: %s", path,
                                          r + got / REC, strerror(errno))
                           : nl_error_set(err, NL_EFORMAT,
                                          "%s: file ends in record %zu (it shrank while read)",
                                          path, r + got / REC);
            break;
        }
        st = convert(buf, n, img + r * PIXELS * 3, lab + r, path, r, err);
    }
    fclose(f);
    return st;
}

static nl_status load_dir(const char *bdir, nl_split split, size_t per_file, nl_dataset *d,
                          nl_error *err) {
    nl_status st = check_extra_files(bdir, err);
    if (st) return st;
    int first, count;
    split_files(split, &first, &count);
    char path[4096];
    for (int i = 0; i < count; i++) { /* all missing files reported before any reading */
        struct stat sb;
        int n = snprintf(path, sizeof path, "%s/%s", bdir, batch_names[first + i]);
        if (n < 0 || (size_t)n >= sizeof path)
            return nl_error_set(err, NL_EINVAL, "CIFAR-10 path too long: %s", bdir);
        if (stat(path, &sb) != 0 && errno == ENOENT)
            return nl_error_set(
                err, NL_ENOTFOUND, "%s: batch file is missing (CIFAR-10 %s needs %s)", path,
                split == NL_SPLIT_TEST ? "test" : "train",
                split == NL_SPLIT_TEST ? "test_batch.bin" : "data_batch_1.bin .. data_batch_5.bin");
    }
    if ((st = alloc_dataset(d, (size_t)count * per_file, err))) return st;
    uint8_t *buf = malloc((size_t)CHUNK * REC);
    if (!buf) {
        nl_dataset_free(d);
        return nl_error_set(err, NL_ENOMEM, "out of memory");
    }
    for (int i = 0; i < count && st == NL_OK; i++) {
        const int n = snprintf(path, sizeof path, "%s/%s", bdir, batch_names[first + i]);
        if (n < 0 || (size_t)n >= sizeof path) break; /* checked above */
        st = load_file(path, per_file, d->images + (size_t)i * per_file * PIXELS * 3,
                       d->labels + (size_t)i * per_file, buf, err);
    }
    free(buf);
    if (st) nl_dataset_free(d);
    return st;
}

/* ---- the official tar.gz, streamed ---------------------------------------------------- */

#define TBLOCK 512

typedef struct tar_in {
    gzFile gz;
    const char *path;
    uint64_t pos; /* bytes of the tar stream consumed */
} tar_in;

/* Reads up to n bytes; returns the number read (< n at the end of the data,
 * including a gzip stream that ends early) or -1 on corrupt gzip data, with a
 * message naming `what` (the archive, or the archive and member). */
static long long tar_read(tar_in *t, void *buf, size_t n, const char *what, nl_error *err) {
    size_t done = 0;
    while (done < n) {
        size_t want = n - done > (1u << 30) ? (1u << 30) : n - done;
        int got = gzread(t->gz, (uint8_t *)buf + done, (unsigned)want);
        if (got < 0) {
            int code;
            const char *msg = gzerror(t->gz, &code);
            if (code == Z_BUF_ERROR) break; /* truncated gzip stream: the data ends here */
            nl_error_set(err, NL_EFORMAT, "%s: gzip data is corrupt at tar offset %llu: %s", what,
                         (unsigned long long)(t->pos + done), msg);
            return -1;
        }
        if (got == 0) break;
        done += (size_t)got;
    }
    t->pos += done;
    return (long long)done;
}

static int all_zero(const uint8_t *h) {
    for (int i = 0; i < TBLOCK; i++)
        if (h[i]) return 0;
    return 1;
}

/* Skips n bytes of member data (and nothing else). */
static nl_status tar_skip(tar_in *t, uint64_t n, const char *member, nl_error *err) {
    uint8_t buf[16384];
    while (n) {
        const size_t k = n > sizeof buf ? sizeof buf : (size_t)n;
        long long got = tar_read(t, buf, k, t->path, err);
        if (got < 0) return NL_EFORMAT;
        if ((size_t)got < k)
            return nl_error_set(err, NL_EFORMAT,
                                "%s: the archive is truncated inside member %s (%llu bytes "
                                "missing)",
                                t->path, member, (unsigned long long)(n - (uint64_t)got));
        n -= k;
    }
    return NL_OK;
}

/* Extracts the pax "path" record from extended header data. */
static void pax_path(const char *data, size_t n, char *out, size_t outn) {
    size_t i = 0;
    while (i < n) {
        size_t len = 0, j = i;
        while (j < n && data[j] >= '0' && data[j] <= '9')
            len = len * 10 + (size_t)(data[j++] - '0');
        if (j >= n || data[j] != ' ' || len == 0 || i + len > n) return;
        const char *kv = data + j + 1;
        const size_t kvn = i + len - (j + 1);
        if (kvn > 5 && !strncmp(kv, "path=", 5)) {
            size_t vn = kvn - 5;
            if (vn && kv[5 + vn - 1] == '\n') vn--;
            if (vn >= outn) vn = outn - 1;
            memcpy(out, kv + 5, vn);
            out[vn] = '\0';
        }
        i += len;
    }
}

static nl_status load_tar(const char *path, nl_split split, size_t per_file, nl_dataset *d,
                          nl_error *err) {
    tar_in t = {0};
    t.path = path;
    t.gz = gzopen(path, "rb");
    if (!t.gz) return nl_error_set(err, NL_EIO, "%s: cannot open: %s", path, strerror(errno));
    gzbuffer(t.gz, 1 << 17);
    int first, count;
    split_files(split, &first, &count);
    nl_status st = alloc_dataset(d, (size_t)count * per_file, err);
    uint8_t *buf = st ? NULL : malloc((size_t)CHUNK * REC);
    if (!st && !buf) st = nl_error_set(err, NL_ENOMEM, "out of memory");
    int seen[NBATCH] = {0};
    char longname[1024] = "";
    uint8_t h[TBLOCK];
    while (st == NL_OK) {
        const uint64_t hpos = t.pos;
        long long got = tar_read(&t, h, TBLOCK, path, err);
        if (got < 0) {
            st = NL_EFORMAT;
            break;
        }
        if (got == 0) {
            st = nl_error_set(err, NL_EFORMAT,
                              "%s: the archive is truncated: it ends at offset %llu without the "
                              "end-of-archive blocks",
                              path, (unsigned long long)hpos);
            break;
        }
        if (got < TBLOCK) {
            st = nl_error_set(err, NL_EFORMAT,
                              "%s: the archive is truncated in a tar header at "
                              "offset %llu",
                              path, (unsigned long long)hpos);
            break;
        }
        if (all_zero(h)) break; /* end-of-archive marker */
        if (!nl_tar_checksum_ok(h)) {
            st = nl_error_set(err, NL_EFORMAT,
                              "%s: corrupt tar header at offset %llu (bad checksum): not a tar "
                              "archive, or damaged",
                              path, (unsigned long long)hpos);
            break;
        }
        uint64_t size;
        if (nl_tar_number(h + 124, 12, &size)) {
            st = nl_error_set(err, NL_EFORMAT, "%s: tar header at offset %llu has a bad size field",
                              path, (unsigned long long)hpos);
            break;
        }
        const uint64_t padded = (size + TBLOCK - 1) / TBLOCK * TBLOCK;
        const char type = (char)h[156];
        char name[1024];
        if (longname[0]) {
            snprintf(name, sizeof name, "%s", longname);
            longname[0] = '\0';
        } else {
            char nm[101], prefix[156];
            memcpy(nm, h, 100), nm[100] = '\0';
            memcpy(prefix, h + 345, 155), prefix[155] = '\0';
            if (!memcmp(h + 257, "ustar", 5) && prefix[0])
                snprintf(name, sizeof name, "%s/%s", prefix, nm);
            else
                snprintf(name, sizeof name, "%s", nm);
        }
        if (type == 'L' || type == 'x') { /* GNU long name, pax header: name of the next entry */
            if (size >= sizeof longname) {
                st = tar_skip(&t, padded, name, err);
                continue;
            }
            char meta[1024];
            got = tar_read(&t, meta, (size_t)padded, path, err);
            if (got < 0 || (uint64_t)got < padded) {
                if (got >= 0)
                    nl_error_set(err, NL_EFORMAT,
                                 "%s: the archive is truncated in a tar header "
                                 "at offset %llu",
                                 path, (unsigned long long)hpos);
                st = NL_EFORMAT;
                break;
            }
            if (type == 'L') {
                memcpy(longname, meta, (size_t)size);
                longname[size] = '\0';
            } else {
                pax_path(meta, (size_t)size, longname, sizeof longname);
            }
            continue;
        }
        const char *n = name;
        while (n[0] == '.' && n[1] == '/') n += 2;
        const char *base = strrchr(n, '/');
        base = base ? base + 1 : n;
        const int in_dir = (size_t)(base - n) == strlen("cifar-10-batches-bin/") &&
                           !strncmp(n, "cifar-10-batches-bin/", strlen("cifar-10-batches-bin/"));
        const int regular = type == '0' || type == '\0' || type == '7';
        const int bi = batch_index(base);
        if (!in_dir || !regular || !looks_like_batch(base)) {
            st = tar_skip(&t, padded, n, err);
            continue;
        }
        char what[1400];
        if (snprintf(what, sizeof what, "%s: member %s", path, n) >= (int)sizeof what)
            what[sizeof what - 1] = '\0'; /* long names are cut in messages only */
        if (bi < 0) {
            st = nl_error_set(err, NL_EFORMAT,
                              "%s: unexpected batch file (CIFAR-10 has data_batch_1.bin .. "
                              "data_batch_5.bin and test_batch.bin)",
                              what);
            break;
        }
        if (seen[bi]++) {
            st = nl_error_set(err, NL_EFORMAT, "%s: appears twice in the archive", what);
            break;
        }
        if (bi < first || bi >= first + count) { /* the other split: checked, then skipped */
            if ((st = check_size(what, size, per_file, err))) break;
            st = tar_skip(&t, padded, n, err);
            continue;
        }
        if ((st = check_size(what, size, per_file, err))) break;
        uint8_t *img = d->images + (size_t)(bi - first) * per_file * PIXELS * 3;
        uint8_t *lab = d->labels + (size_t)(bi - first) * per_file;
        for (size_t r = 0; r < per_file; r += CHUNK) {
            const size_t k = per_file - r < CHUNK ? per_file - r : CHUNK;
            got = tar_read(&t, buf, k * REC, what, err);
            if (got < 0) {
                st = NL_EFORMAT;
                break;
            }
            if ((size_t)got < k * REC) {
                const size_t at = r + (size_t)got / REC;
                st = nl_error_set(err, NL_EFORMAT,
                                  "%s is truncated: the archive ends in record %zu of %zu (%llu of "
                                  "%llu bytes present)",
                                  what, at, per_file, (unsigned long long)(r * REC + (size_t)got),
                                  (unsigned long long)size);
                break;
            }
            if ((st = convert(buf, k, img + r * PIXELS * 3, lab + r, what, r, err))) break;
        }
        if (st == NL_OK) st = tar_skip(&t, padded - size, n, err);
    }
    for (int i = 0; st == NL_OK && i < count; i++)
        if (!seen[first + i])
            st = nl_error_set(err, NL_EFORMAT,
                              "%s: member cifar-10-batches-bin/%s is missing from the archive",
                              path, batch_names[first + i]);
    free(buf);
    gzclose(t.gz);
    if (st) nl_dataset_free(d);
    return st;
}

/* ---- entry points ------------------------------------------------------------------------ */

nl_status nl_cifar10_load_ex(const char *dir, nl_split split, size_t records_per_file,
                             nl_dataset *d, nl_error *err) {
    memset(d, 0, sizeof *d);
    if (!dir || !*dir) return nl_error_set(err, NL_EINVAL, "CIFAR-10: no data directory given");
    if (records_per_file == 0 || records_per_file > 1000000)
        return nl_error_set(err, NL_EINVAL, "CIFAR-10: %zu records per file is not plausible",
                            records_per_file);
    char bdir[4096], tgz[4096];
    int a = snprintf(bdir, sizeof bdir, "%s/cifar-10-batches-bin", dir);
    int b = snprintf(tgz, sizeof tgz, "%s/cifar-10-binary.tar.gz", dir);
    if (a < 0 || b < 0 || (size_t)a >= sizeof bdir || (size_t)b >= sizeof tgz)
        return nl_error_set(err, NL_EINVAL, "CIFAR-10: data directory path too long");
    if (nl_is_dir(bdir)) return load_dir(bdir, split, records_per_file, d, err);
    struct stat sb;
    if (stat(tgz, &sb) == 0) return load_tar(tgz, split, records_per_file, d, err);
    return nl_error_set(err, NL_ENOTFOUND, "CIFAR-10 not found: neither %s/ nor %s exists", bdir,
                        tgz);
}

nl_status nl_cifar10_load(const char *dir, nl_split split, nl_dataset *d, nl_error *err) {
    return nl_cifar10_load_ex(dir, split, NL_CIFAR10_RECORDS_PER_FILE, d, err);
}
