/* CIFAR-10 and CIFAR-100, binary versions (Krizhevsky): loaders for the batch
 * files in a directory and for the official tar.gz read in place.
 *
 * A record is the label byte(s), then 1024 red, 1024 green and 1024 blue
 * bytes, each plane row-major 32x32 (CHW). Records are converted to HWC (the
 * NHWC layout of every nnlab layer) as they are read.
 *
 *   CIFAR-10: 3073-byte records, label 0..9
 *     DIR/cifar-10-batches-bin/data_batch_1.bin .. data_batch_5.bin  train (50000)
 *     DIR/cifar-10-batches-bin/test_batch.bin                         test  (10000)
 *     DIR/cifar-10-binary.tar.gz   the same files under cifar-10-batches-bin/
 *   CIFAR-100: 3074-byte records, coarse label 0..19 then fine label 0..99
 *     DIR/cifar-100-binary/train.bin (50000), test.bin (10000)
 *     DIR/cifar-100-binary.tar.gz  the same files under cifar-100-binary/
 * The archive is used when the directory does not exist: it is read through
 * the core's tar reader (core/tar.h) as a stream, nothing is unpacked to disk.
 *
 * Checks: every batch file of the split present, no unexpected data_batch* or
 * test_batch* file (CIFAR-10), sizes that are whole numbers of records, the
 * expected number of records per file, every label byte in range, tar headers
 * and members cut short by the end of the archive. Messages name the file (and
 * member) and the record. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/path.h"
#include "core/tar.h"
#include "nnlab/data.h"

#define PIXELS 1024
#define CHUNK  256 /* records per read */
#define MAXF   6

/* One of the two binary versions. */
typedef struct layout {
    const char *title;        /* "CIFAR-10" */
    const char *subdir;       /* directory in the data directory, and in the archive */
    const char *archive;      /* the official tar.gz in the data directory */
    const char *const *files; /* train files, then the test file */
    int ntrain, nfiles;       /* files[0..ntrain) train, files[ntrain..nfiles) test */
    const char *train_desc, *all_desc;
    int strict_names;          /* data_batch* / test_batch* names must be among files */
    int rec;                   /* bytes per record */
    int nlabels;               /* label bytes at the start of a record */
    int bound[2];              /* label byte i is < bound[i] */
    const char *label_name[2]; /* for messages */
} layout;

static const char *const c10_files[] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                        "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"};
static const char *const c100_files[] = {"train.bin", "test.bin"};

static const layout cifar10 = {"CIFAR-10",
                               "cifar-10-batches-bin",
                               "cifar-10-binary.tar.gz",
                               c10_files,
                               5,
                               6,
                               "data_batch_1.bin .. data_batch_5.bin",
                               "data_batch_1.bin .. data_batch_5.bin and test_batch.bin",
                               1,
                               NL_CIFAR10_RECORD_BYTES,
                               1,
                               {10, 0},
                               {"label", NULL}};
static const layout cifar100 = {"CIFAR-100",
                                "cifar-100-binary",
                                "cifar-100-binary.tar.gz",
                                c100_files,
                                1,
                                2,
                                "train.bin",
                                "train.bin and test.bin",
                                0,
                                NL_CIFAR100_RECORD_BYTES,
                                2,
                                {20, 100},
                                {"coarse label", "fine label"}};

/* What a load reads: the split's files, the records each must hold (0: any
 * whole number, for the other split of an archive), which label byte is kept. */
typedef struct job {
    const layout *L;
    nl_split split;
    int first, count;  /* files of the split */
    size_t want[MAXF]; /* records per file */
    int label;         /* label byte kept */
} job;

static int file_index(const layout *L, const char *name) {
    for (int i = 0; i < L->nfiles; i++)
        if (!strcmp(name, L->files[i])) return i;
    return -1;
}

/* A name that looks like a batch file (data_batch* or test_batch*). */
static int looks_like_batch(const layout *L, const char *name) {
    if (!L->strict_names) return file_index(L, name) >= 0;
    return !strncmp(name, "data_batch", 10) || !strncmp(name, "test_batch", 10);
}

/* Converts n records (CHW planes) into HWC images and labels. rec0 is the index
 * of the first record in its file (for messages). */
static nl_status convert(const job *J, const uint8_t *src, size_t n, uint8_t *img, uint8_t *lab,
                         const char *what, size_t rec0, nl_error *err) {
    const layout *L = J->L;
    for (size_t r = 0; r < n; r++) {
        const uint8_t *s = src + r * (size_t)L->rec;
        for (int b = 0; b < L->nlabels; b++)
            if (s[b] >= L->bound[b])
                return nl_error_set(err, NL_EFORMAT,
                                    "%s: record %zu (byte offset %zu): %s %u is out of range 0..%d",
                                    what, rec0 + r, (rec0 + r) * (size_t)L->rec + (size_t)b,
                                    L->label_name[b], s[b], L->bound[b] - 1);
        lab[r] = s[J->label];
        const uint8_t *R = s + L->nlabels, *G = R + PIXELS, *B = G + PIXELS;
        uint8_t *o = img + r * (size_t)PIXELS * 3;
        for (int p = 0; p < PIXELS; p++) {
            o[3 * p] = R[p];
            o[3 * p + 1] = G[p];
            o[3 * p + 2] = B[p];
        }
    }
    return NL_OK;
}

/* The size of a file or member checked against whole records and (want > 0)
 * the expected count; an error names it. */
static nl_status check_size(const layout *L, const char *what, uint64_t bytes, size_t want,
                            nl_error *err) {
    if (bytes % (uint64_t)L->rec)
        return nl_error_set(err, NL_EFORMAT,
                            "%s: %llu bytes is not a whole number of %d-byte records: record %llu "
                            "is truncated (%llu of %d bytes)",
                            what, (unsigned long long)bytes, L->rec,
                            (unsigned long long)(bytes / (uint64_t)L->rec),
                            (unsigned long long)(bytes % (uint64_t)L->rec), L->rec);
    if (want && bytes / (uint64_t)L->rec != want)
        return nl_error_set(err, NL_EFORMAT, "%s: %llu records (%llu bytes), expected %zu", what,
                            (unsigned long long)(bytes / (uint64_t)L->rec),
                            (unsigned long long)bytes, want);
    return NL_OK;
}

static nl_status alloc_dataset(const job *J, nl_dataset *d, nl_error *err) {
    size_t n = 0;
    for (int i = 0; i < J->count; i++) n += J->want[J->first + i];
    memset(d, 0, sizeof *d);
    d->images = malloc(n ? n * PIXELS * 3 : 1);
    d->labels = malloc(n ? n : 1);
    if (!d->images || !d->labels) {
        nl_dataset_free(d);
        return nl_error_set(err, NL_ENOMEM, "out of memory for %zu %s images", n, J->L->title);
    }
    d->n = n;
    d->h = 32, d->w = 32, d->c = 3;
    d->num_classes = J->L->bound[J->label];
    return NL_OK;
}

/* First sample of file i of the split in the dataset. */
static size_t file_start(const job *J, int i) {
    size_t s = 0;
    for (int k = J->first; k < i; k++) s += J->want[k];
    return s;
}

/* ---- directory of batch files ------------------------------------------------ */

static nl_status check_extra_files(const layout *L, const char *bdir, nl_error *err) {
    if (!L->strict_names) return NL_OK;
    DIR *dh = opendir(bdir);
    if (!dh) return nl_error_set(err, NL_EIO, "%s: cannot list: %s", bdir, strerror(errno));
    nl_status st = NL_OK;
    struct dirent *e;
    while ((e = readdir(dh)) != NULL) {
        if (looks_like_batch(L, e->d_name) && file_index(L, e->d_name) < 0) {
            st = nl_error_set(err, NL_EFORMAT, "%s/%s: unexpected batch file (%s has %s)", bdir,
                              e->d_name, L->title, L->all_desc);
            break;
        }
    }
    closedir(dh);
    return st;
}

static nl_status load_file(const job *J, const char *path, size_t want, uint8_t *img, uint8_t *lab,
                           uint8_t *buf, nl_error *err) {
    const layout *L = J->L;
    const int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a FIFO must not block */
    if (fd < 0) {
        if (errno == ENOENT)
            return nl_error_set(err, NL_ENOTFOUND, "%s: batch file is missing", path);
        return nl_error_set(err, NL_EIO, "%s: cannot open: %s", path, strerror(errno));
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        const int e = errno;
        close(fd);
        return nl_error_set(err, NL_EIO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return nl_error_set(err, NL_EFORMAT, "%s: not a regular file", path);
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        close(fd);
        return nl_error_set(err, NL_ENOMEM, "%s: cannot open a stream", path);
    }
    nl_status st = check_size(L, path, (uint64_t)sb.st_size, want, err);
    for (size_t r = 0; st == NL_OK && r < want; r += CHUNK) {
        const size_t n = want - r < CHUNK ? want - r : CHUNK;
        const size_t got = fread(buf, 1, n * (size_t)L->rec, f);
        if (got != n * (size_t)L->rec) {
            st = ferror(f) ? nl_error_set(err, NL_EIO, "%s: read error in record %zu: %s", path,
                                          r + got / (size_t)L->rec, strerror(errno))
                           : nl_error_set(err, NL_EFORMAT,
                                          "%s: file ends in record %zu (it shrank while read)",
                                          path, r + got / (size_t)L->rec);
            break;
        }
        st = convert(J, buf, n, img + r * PIXELS * 3, lab + r, path, r, err);
    }
    fclose(f);
    return st;
}

static nl_status load_dir(const job *J, const char *bdir, nl_dataset *d, nl_error *err) {
    const layout *L = J->L;
    nl_status st = check_extra_files(L, bdir, err);
    if (st) return st;
    char path[4096];
    for (int i = 0; i < J->count; i++) { /* all missing files reported before any reading */
        struct stat sb;
        int n = snprintf(path, sizeof path, "%s/%s", bdir, L->files[J->first + i]);
        if (n < 0 || (size_t)n >= sizeof path)
            return nl_error_set(err, NL_EINVAL, "%s path too long: %s", L->title, bdir);
        if (stat(path, &sb) != 0 && errno == ENOENT)
            return nl_error_set(err, NL_ENOTFOUND, "%s: batch file is missing (%s %s needs %s)",
                                path, L->title, J->split == NL_SPLIT_TEST ? "test" : "train",
                                J->split == NL_SPLIT_TEST ? L->files[L->ntrain] : L->train_desc);
    }
    if ((st = alloc_dataset(J, d, err))) return st;
    uint8_t *buf = malloc((size_t)CHUNK * (size_t)L->rec);
    if (!buf) {
        nl_dataset_free(d);
        return nl_error_set(err, NL_ENOMEM, "out of memory");
    }
    for (int i = 0; i < J->count && st == NL_OK; i++) {
        const int fi = J->first + i;
        const int n = snprintf(path, sizeof path, "%s/%s", bdir, L->files[fi]);
        if (n < 0 || (size_t)n >= sizeof path) break; /* checked above */
        const size_t s0 = file_start(J, fi);
        st = load_file(J, path, J->want[fi], d->images + s0 * PIXELS * 3, d->labels + s0, buf, err);
    }
    free(buf);
    if (st) nl_dataset_free(d);
    return st;
}

/* ---- the official tar.gz, streamed ---------------------------------------------------- */

/* Reads the records of the current member (want of them) into img/lab. */
static nl_status read_member(const job *J, nl_tar *t, const char *what, size_t want, uint64_t size,
                             uint8_t *img, uint8_t *lab, uint8_t *buf, nl_error *err) {
    const size_t rec = (size_t)J->L->rec;
    for (size_t r = 0; r < want; r += CHUNK) {
        const size_t k = want - r < CHUNK ? want - r : CHUNK;
        size_t got;
        nl_status st = nl_tar_read(t, buf, k * rec, &got, err);
        if (st && nl_tar_truncated(t))
            return nl_error_set(err, NL_EFORMAT,
                                "%s is truncated: the archive ends in record %zu of %zu (%llu of "
                                "%llu bytes present)",
                                what, r + got / rec, want, (unsigned long long)(r * rec + got),
                                (unsigned long long)size);
        if (st) return st;
        if ((st = convert(J, buf, k, img + r * PIXELS * 3, lab + r, what, r, err))) return st;
    }
    return NL_OK;
}

static nl_status load_tar(const job *J, const char *path, nl_dataset *d, nl_error *err) {
    const layout *L = J->L;
    nl_tar *t = NULL;
    nl_status st = nl_tar_open(path, &t, err);
    if (st) return st;
    if ((st = alloc_dataset(J, d, err))) {
        nl_tar_close(t);
        return st;
    }
    uint8_t *buf = malloc((size_t)CHUNK * (size_t)L->rec);
    if (!buf) st = nl_error_set(err, NL_ENOMEM, "out of memory");
    int seen[MAXF] = {0};
    const size_t slen = strlen(L->subdir);
    nl_tar_entry e;
    int end = 0;
    while (st == NL_OK && !(st = nl_tar_next(t, &e, &end, err)) && !end) {
        const char *n = e.name;
        const char *base = strrchr(n, '/');
        base = base ? base + 1 : n;
        const int in_dir = (size_t)(base - n) == slen + 1 && !strncmp(n, L->subdir, slen);
        if (!in_dir || !e.regular || !looks_like_batch(L, base)) continue; /* skipped */
        char what[NL_TAR_NAME_MAX + 600];
        snprintf(what, sizeof what, "%.500s: member %s", path, n);
        const int fi = file_index(L, base);
        if (fi < 0) {
            st = nl_error_set(err, NL_EFORMAT, "%s: unexpected batch file (%s has %s)", what,
                              L->title, L->all_desc);
            break;
        }
        if (seen[fi]++) {
            st = nl_error_set(err, NL_EFORMAT, "%s: appears twice in the archive", what);
            break;
        }
        if ((st = check_size(L, what, e.size, J->want[fi], err))) break;
        if (fi < J->first || fi >= J->first + J->count)
            continue; /* the other split: checked, then skipped by nl_tar_next */
        const size_t s0 = file_start(J, fi);
        st = read_member(J, t, what, J->want[fi], e.size, d->images + s0 * PIXELS * 3,
                         d->labels + s0, buf, err);
    }
    for (int i = 0; st == NL_OK && i < J->count; i++)
        if (!seen[J->first + i])
            st = nl_error_set(err, NL_EFORMAT, "%s: member %s/%s is missing from the archive", path,
                              L->subdir, L->files[J->first + i]);
    free(buf);
    nl_tar_close(t);
    if (st) nl_dataset_free(d);
    return st;
}

/* ---- entry points ------------------------------------------------------------------------ */

static nl_status load(const job *J, const char *dir, nl_dataset *d, nl_error *err) {
    const layout *L = J->L;
    memset(d, 0, sizeof *d);
    if (!dir || !*dir) return nl_error_set(err, NL_EINVAL, "%s: no data directory given", L->title);
    for (int i = 0; i < J->count; i++)
        if (J->want[J->first + i] == 0 || J->want[J->first + i] > 1000000)
            return nl_error_set(err, NL_EINVAL, "%s: %zu records per file is not plausible",
                                L->title, J->want[J->first + i]);
    char bdir[4096], tgz[4096];
    int a = snprintf(bdir, sizeof bdir, "%s/%s", dir, L->subdir);
    int b = snprintf(tgz, sizeof tgz, "%s/%s", dir, L->archive);
    if (a < 0 || b < 0 || (size_t)a >= sizeof bdir || (size_t)b >= sizeof tgz)
        return nl_error_set(err, NL_EINVAL, "%s: data directory path too long", L->title);
    if (nl_is_dir(bdir)) return load_dir(J, bdir, d, err);
    struct stat sb;
    if (stat(tgz, &sb) == 0) return load_tar(J, tgz, d, err);
    return nl_error_set(err, NL_ENOTFOUND, "%s not found: neither %s/ nor %s exists", L->title,
                        bdir, tgz);
}

nl_status nl_cifar10_load_ex(const char *dir, nl_split split, size_t records_per_file,
                             nl_dataset *d, nl_error *err) {
    job J = {.L = &cifar10, .split = split, .label = 0};
    J.first = split == NL_SPLIT_TEST ? 5 : 0;
    J.count = split == NL_SPLIT_TEST ? 1 : 5;
    for (int i = 0; i < 6; i++) J.want[i] = records_per_file;
    return load(&J, dir, d, err);
}

nl_status nl_cifar10_load(const char *dir, nl_split split, nl_dataset *d, nl_error *err) {
    return nl_cifar10_load_ex(dir, split, NL_CIFAR10_RECORDS_PER_FILE, d, err);
}

nl_status nl_cifar100_load_ex(const char *dir, nl_split split, nl_cifar100_labels labels,
                              size_t records, nl_dataset *d, nl_error *err) {
    memset(d, 0, sizeof *d);
    if (labels != NL_CIFAR100_FINE && labels != NL_CIFAR100_COARSE)
        return nl_error_set(err, NL_EINVAL, "CIFAR-100: label set %d is neither fine nor coarse",
                            (int)labels);
    job J = {.L = &cifar100, .split = split, .label = labels == NL_CIFAR100_COARSE ? 0 : 1};
    J.first = split == NL_SPLIT_TEST ? 1 : 0;
    J.count = 1;
    J.want[J.first] = records; /* the other split's file: any whole number of records */
    return load(&J, dir, d, err);
}

nl_status nl_cifar100_load(const char *dir, nl_split split, nl_cifar100_labels labels,
                           nl_dataset *d, nl_error *err) {
    return nl_cifar100_load_ex(
        dir, split, labels,
        split == NL_SPLIT_TEST ? NL_CIFAR100_TEST_RECORDS : NL_CIFAR100_TRAIN_RECORDS, d, err);
}
