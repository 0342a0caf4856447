/* CIFAR-10 loader on small generated files (3 records per batch file through
 * nl_cifar10_load_ex): a good directory tree and a good tar.gz give the same
 * HWC images and labels; every defect is reported with the file (or member)
 * name and the record: short file, size not a multiple of 3073, label 10,
 * missing and unexpected batch files, truncated tar members (tar cut short,
 * gzip stream cut short), missing member, bad tar header. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nnlab/data.h"
#include "testutil.h"

#define R   3 /* records per file */
#define REC 3073

static const char *const names[6] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                     "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"};

/* Record r of file f: label (f + r) % 10, pixel bytes from a formula. */
static uint8_t pix(int f, int r, int c, int p) {
    return (uint8_t)(f * 31 + r * 17 + c * 101 + p * 7);
}

static void make_file(int f, uint8_t *buf) {
    for (int r = 0; r < R; r++) {
        uint8_t *s = buf + (size_t)r * REC;
        s[0] = (uint8_t)((f + r) % 10);
        for (int c = 0; c < 3; c++)
            for (int p = 0; p < 1024; p++) s[1 + c * 1024 + p] = pix(f, r, c, p);
    }
}

static void write_tree(const char *sub) {
    char p[300];
    tu_mkdir(sub);
    snprintf(p, sizeof p, "%s/cifar-10-batches-bin", sub);
    tu_mkdir(p);
    uint8_t buf[R * REC];
    for (int f = 0; f < 6; f++) {
        make_file(f, buf);
        snprintf(p, sizeof p, "%s/cifar-10-batches-bin/%s", sub, names[f]);
        tu_write(p, buf, sizeof buf);
    }
}

/* Checks the content of a loaded split against the generator. */
static void check_content(const nl_dataset *d, nl_split split, const char *what) {
    const int f0 = split == NL_SPLIT_TEST ? 5 : 0, nf = split == NL_SPLIT_TEST ? 1 : 5;
    CHECK_MSG(d->n == (size_t)nf * R && d->h == 32 && d->w == 32 && d->c == 3 &&
                  d->num_classes == 10,
              "%s: n %zu shape %dx%dx%d", what, d->n, d->h, d->w, d->c);
    if (d->n != (size_t)nf * R) return;
    int bad = 0;
    for (int f = 0; f < nf; f++)
        for (int r = 0; r < R; r++) {
            const size_t i = (size_t)f * R + r;
            bad += d->labels[i] != (f0 + f + r) % 10;
            const uint8_t *img = d->images + i * 3072;
            for (int p = 0; p < 1024; p++)
                for (int c = 0; c < 3; c++) bad += img[p * 3 + c] != pix(f0 + f, r, c, p); /* HWC */
        }
    CHECK_MSG(bad == 0, "%s: %d wrong bytes", what, bad);
}

/* ---- tar writer -------------------------------------------------------------------- */

typedef struct tarbuf {
    uint8_t *p;
    size_t n, cap;
} tarbuf;

static void tb_put(tarbuf *t, const void *data, size_t n) {
    if (t->n + n > t->cap) {
        t->cap = (t->n + n) * 2;
        t->p = realloc(t->p, t->cap);
    }
    memcpy(t->p + t->n, data, n);
    t->n += n;
}

static void tb_member(tarbuf *t, const char *name, char type, const void *data, size_t n) {
    uint8_t h[512] = {0};
    snprintf((char *)h, 100, "%s", name);
    memcpy(h + 100, "0000644", 7);
    memcpy(h + 108, "0001750", 7);
    memcpy(h + 116, "0001750", 7);
    snprintf((char *)h + 124, 12, "%011lo", (unsigned long)n);
    memcpy(h + 136, "14000000000", 11);
    h[156] = (uint8_t)type;
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < 512; i++) sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", sum);
    tb_put(t, h, 512);
    if (n) tb_put(t, data, n);
    static const uint8_t zero[512];
    if (n % 512) tb_put(t, zero, 512 - n % 512);
}

static void tb_end(tarbuf *t) {
    static const uint8_t zero[1024];
    tb_put(t, zero, 1024);
}

/* A tar of the whole official layout; `mutate` (may be NULL) edits file f's bytes
 * and size before it is added; skip_file leaves one file out (-1: none). */
typedef void (*mutate_fn)(int f, uint8_t *buf, size_t *n);

static tarbuf make_tar(mutate_fn mutate, int skip_file, const char *prefix) {
    tarbuf t = {0};
    char name[200];
    snprintf(name, sizeof name, "%scifar-10-batches-bin/", prefix);
    tb_member(&t, name, '5', NULL, 0);
    snprintf(name, sizeof name, "%scifar-10-batches-bin/batches.meta.txt", prefix);
    tb_member(&t, name, '0', "airplane\nautomobile\n", 20);
    uint8_t buf[(R + 1) * REC];
    /* the official archive does not list the batches in order */
    const int order[6] = {2, 0, 1, 5, 4, 3};
    for (int k = 0; k < 6; k++) {
        const int f = order[k];
        if (f == skip_file) continue;
        size_t n = R * REC;
        make_file(f, buf);
        if (mutate) mutate(f, buf, &n);
        snprintf(name, sizeof name, "%scifar-10-batches-bin/%s", prefix, names[f]);
        tb_member(&t, name, '0', buf, n);
    }
    snprintf(name, sizeof name, "%scifar-10-batches-bin/readme.html", prefix);
    tb_member(&t, name, '0', "<html></html>\n", 14);
    tb_end(&t);
    return t;
}

/* Offset of the data of member `name` in the tar (0: not found). */
static size_t member_data(const tarbuf *t, const char *name) {
    for (size_t off = 0; off + 512 <= t->n; off += 512)
        if (!strncmp((const char *)t->p + off, name, 100)) return off + 512;
    return 0;
}

/* ---- cases ----------------------------------------------------------------------------- */

static nl_status load(const char *sub, nl_split split, nl_dataset *d, nl_error *err) {
    return nl_cifar10_load_ex(tu_path(sub), split, R, d, err);
}

static void expect_error(const char *sub, nl_split split, nl_status code, const char *frag1,
                         const char *frag2, const char *frag3) {
    nl_dataset d;
    nl_error err = {0};
    nl_status st = load(sub, split, &d, &err);
    CHECK_MSG(st == code, "%s: status %s (want %s): %s", sub, nl_status_name(st),
              nl_status_name(code), err.msg);
    CHECK(d.images == NULL && d.labels == NULL && d.n == 0);
    if (getenv("NNLAB_TEST_VERBOSE")) fprintf(stderr, "%-8s %s\n", sub, err.msg);
    if (frag1) CHECK_CONTAINS(err.msg, frag1);
    if (frag2) CHECK_CONTAINS(err.msg, frag2);
    if (frag3) CHECK_CONTAINS(err.msg, frag3);
}

static void good_tree(void) {
    write_tree("good");
    nl_dataset d;
    nl_error err = {0};
    CHECK_MSG(load("good", NL_SPLIT_TRAIN, &d, &err) == NL_OK, "%s", err.msg);
    check_content(&d, NL_SPLIT_TRAIN, "tree train");
    nl_dataset_free(&d);
    CHECK_MSG(load("good", NL_SPLIT_TEST, &d, &err) == NL_OK, "%s", err.msg);
    check_content(&d, NL_SPLIT_TEST, "tree test");
    nl_dataset_free(&d);
    /* the official entry point wants 10000 records per file */
    CHECK(nl_cifar10_load(tu_path("good"), NL_SPLIT_TEST, &d, &err) == NL_EFORMAT);
    CHECK_CONTAINS(err.msg, "test_batch.bin");
    CHECK_CONTAINS(err.msg, "expected 10000");
    /* neither directory nor archive */
    tu_mkdir("empty");
    expect_error("empty", NL_SPLIT_TRAIN, NL_ENOTFOUND, "cifar-10-batches-bin",
                 "cifar-10-binary.tar.gz", NULL);
}

static void tree_errors(void) {
    uint8_t buf[(R + 1) * REC];
    /* short file: a whole record missing */
    write_tree("short");
    make_file(1, buf);
    tu_write("short/cifar-10-batches-bin/data_batch_2.bin", buf, (R - 1) * REC);
    expect_error("short", NL_SPLIT_TRAIN, NL_EFORMAT, "data_batch_2.bin", "2 records",
                 "expected 3");
    /* size not a multiple of the record size: the last record is cut */
    write_tree("cut");
    make_file(4, buf);
    tu_write("cut/cifar-10-batches-bin/data_batch_5.bin", buf, R * REC - 100);
    expect_error("cut", NL_SPLIT_TRAIN, NL_EFORMAT, "data_batch_5.bin", "3073-byte records",
                 "record 2 is truncated");
    /* label 10 in the second record of the test file */
    write_tree("label");
    make_file(5, buf);
    buf[REC] = 10;
    tu_write("label/cifar-10-batches-bin/test_batch.bin", buf, R * REC);
    expect_error("label", NL_SPLIT_TEST, NL_EFORMAT, "test_batch.bin", "record 1",
                 "label 10 is out of range");
    /* the train split does not read the test file */
    nl_dataset d;
    nl_error err = {0};
    CHECK(load("label", NL_SPLIT_TRAIN, &d, &err) == NL_OK);
    nl_dataset_free(&d);
    /* missing batch file */
    write_tree("missing");
    CHECK(remove(tu_path("missing/cifar-10-batches-bin/data_batch_4.bin")) == 0);
    expect_error("missing", NL_SPLIT_TRAIN, NL_ENOTFOUND, "data_batch_4.bin", "missing", NULL);
    CHECK(load("missing", NL_SPLIT_TEST, &d, &err) == NL_OK);
    nl_dataset_free(&d);
    /* unexpected extra batch file */
    write_tree("extra");
    make_file(0, buf);
    tu_write("extra/cifar-10-batches-bin/data_batch_6.bin", buf, R * REC);
    expect_error("extra", NL_SPLIT_TRAIN, NL_EFORMAT, "data_batch_6.bin", "unexpected batch file",
                 NULL);
    /* a FIFO in place of a batch file is refused without blocking */
    write_tree("fifo");
    CHECK(remove(tu_path("fifo/cifar-10-batches-bin/test_batch.bin")) == 0);
    CHECK(mkfifo(tu_path("fifo/cifar-10-batches-bin/test_batch.bin"), 0600) == 0);
    expect_error("fifo", NL_SPLIT_TEST, NL_EFORMAT, "test_batch.bin", "not a regular file", NULL);
    /* other files are fine */
    write_tree("other");
    tu_write("other/cifar-10-batches-bin/batches.meta.txt", "airplane\n", 9);
    CHECK(load("other", NL_SPLIT_TRAIN, &d, &err) == NL_OK);
    nl_dataset_free(&d);
}

static void write_tgz(const char *sub, const tarbuf *t, size_t n) {
    tu_mkdir(sub);
    char p[300];
    snprintf(p, sizeof p, "%s/cifar-10-binary.tar.gz", sub);
    tu_write_gz(p, t->p, n);
}

static void mut_label(int f, uint8_t *buf, size_t *n) {
    (void)n;
    if (f == 2) buf[2 * REC] = 10;
}
static void mut_size(int f, uint8_t *buf, size_t *n) {
    (void)buf;
    if (f == 0) *n -= 5;
}
static void mut_long(int f, uint8_t *buf, size_t *n) {
    if (f == 5) {
        memcpy(buf + R * REC, buf, REC);
        *n += REC;
    }
}

static void good_tgz(void) {
    tarbuf t = make_tar(NULL, -1, "");
    write_tgz("tgz", &t, t.n);
    nl_dataset d;
    nl_error err = {0};
    CHECK_MSG(load("tgz", NL_SPLIT_TRAIN, &d, &err) == NL_OK, "%s", err.msg);
    check_content(&d, NL_SPLIT_TRAIN, "tgz train");
    nl_dataset_free(&d);
    CHECK_MSG(load("tgz", NL_SPLIT_TEST, &d, &err) == NL_OK, "%s", err.msg);
    check_content(&d, NL_SPLIT_TEST, "tgz test");
    nl_dataset_free(&d);
    free(t.p);
    /* members named ./cifar-10-batches-bin/... */
    t = make_tar(NULL, -1, "./");
    write_tgz("tgzdot", &t, t.n);
    CHECK_MSG(load("tgzdot", NL_SPLIT_TEST, &d, &err) == NL_OK, "%s", err.msg);
    check_content(&d, NL_SPLIT_TEST, "tgz ./ test");
    nl_dataset_free(&d);
    free(t.p);
    /* a directory wins over the archive */
    write_tree("both");
    t = make_tar(mut_label, -1, "");
    write_tgz("both", &t, t.n);
    CHECK(load("both", NL_SPLIT_TRAIN, &d, &err) == NL_OK);
    nl_dataset_free(&d);
    free(t.p);
}

static void tgz_errors(void) {
    /* truncated member: the tar ends inside data_batch_3.bin's record 1 */
    tarbuf t = make_tar(NULL, -1, "");
    size_t at = member_data(&t, "cifar-10-batches-bin/data_batch_3.bin");
    CHECK(at > 0);
    write_tgz("trunc", &t, at + REC + 1000);
    expect_error("trunc", NL_SPLIT_TRAIN, NL_EFORMAT, "cifar-10-binary.tar.gz",
                 "data_batch_3.bin is truncated", "record 1 of 3");
    /* truncated member of the other split: still reported */
    at = member_data(&t, "cifar-10-batches-bin/test_batch.bin");
    write_tgz("trunc2", &t, at + 100);
    expect_error("trunc2", NL_SPLIT_TRAIN, NL_EFORMAT, "test_batch.bin", "truncated", NULL);
    /* the gzip stream itself cut short inside data_batch_1.bin */
    write_tgz("gzcut", &t, t.n);
    {
        FILE *f = fopen(tu_path("gzcut/cifar-10-binary.tar.gz"), "rb");
        CHECK(f != NULL);
        uint8_t *gz = malloc(t.n + 1024);
        size_t gzn = fread(gz, 1, t.n + 1024, f);
        fclose(f);
        tu_write("gzcut/cifar-10-binary.tar.gz", gz, gzn / 4);
        free(gz);
        nl_dataset d;
        nl_error err = {0};
        CHECK(load("gzcut", NL_SPLIT_TRAIN, &d, &err) == NL_EFORMAT);
        CHECK_CONTAINS(err.msg, "cifar-10-binary.tar.gz");
        CHECK_CONTAINS(err.msg, "truncated");
    }
    free(t.p);
    /* label out of range: member and record named */
    t = make_tar(mut_label, -1, "");
    write_tgz("tlabel", &t, t.n);
    expect_error("tlabel", NL_SPLIT_TRAIN, NL_EFORMAT,
                 "member cifar-10-batches-bin/data_batch_3.bin", "record 2", "label 10");
    free(t.p);
    /* member size not a multiple of 3073 */
    t = make_tar(mut_size, -1, "");
    write_tgz("tsize", &t, t.n);
    expect_error("tsize", NL_SPLIT_TEST, NL_EFORMAT, "data_batch_1.bin", "3073-byte records",
                 "truncated");
    free(t.p);
    /* too many records */
    t = make_tar(mut_long, -1, "");
    write_tgz("tlong", &t, t.n);
    expect_error("tlong", NL_SPLIT_TEST, NL_EFORMAT, "test_batch.bin", "4 records", "expected 3");
    free(t.p);
    /* missing member */
    t = make_tar(NULL, 4, "");
    write_tgz("tmiss", &t, t.n);
    expect_error("tmiss", NL_SPLIT_TRAIN, NL_EFORMAT, "data_batch_5.bin", "missing", NULL);
    nl_dataset d;
    nl_error err = {0};
    CHECK(load("tmiss", NL_SPLIT_TEST, &d, &err) == NL_OK);
    nl_dataset_free(&d);
    free(t.p);
    /* unexpected batch member */
    t = make_tar(NULL, -1, "");
    t.n -= 1024; /* drop the end marker, append one more member */
    {
        uint8_t buf[R * REC];
        make_file(0, buf);
        tb_member(&t, "cifar-10-batches-bin/data_batch_0.bin", '0', buf, sizeof buf);
        tb_end(&t);
    }
    write_tgz("textra", &t, t.n);
    expect_error("textra", NL_SPLIT_TEST, NL_EFORMAT, "data_batch_0.bin", "unexpected", NULL);
    free(t.p);
    /* damaged header */
    t = make_tar(NULL, -1, "");
    at = member_data(&t, "cifar-10-batches-bin/data_batch_2.bin");
    t.p[at - 512 + 3] ^= 0x20;
    write_tgz("thdr", &t, t.n);
    expect_error("thdr", NL_SPLIT_TRAIN, NL_EFORMAT, "cifar-10-binary.tar.gz", "corrupt tar header",
                 NULL);
    free(t.p);
}

/* ---- CIFAR-100 ----------------------------------------------------------------------- */

#define REC100     3074
#define R100_TRAIN 7
#define R100_TEST  4

/* Record r of file f (0 train, 1 test): coarse (f + r) % 20, fine (f * 13 + r * 29) % 100. */
static void make100(int f, int n, uint8_t *buf) {
    for (int r = 0; r < n; r++) {
        uint8_t *s = buf + (size_t)r * REC100;
        s[0] = (uint8_t)((f + r) % 20);
        s[1] = (uint8_t)((f * 13 + r * 29) % 100);
        for (int c = 0; c < 3; c++)
            for (int p = 0; p < 1024; p++) s[2 + c * 1024 + p] = pix(f + 7, r, c, p);
    }
}

static void check100(const nl_dataset *d, int f, int n, int coarse, const char *what) {
    CHECK_MSG(d->n == (size_t)n && d->h == 32 && d->w == 32 && d->c == 3 &&
                  d->num_classes == (coarse ? 20 : 100),
              "%s: n %zu shape %dx%dx%d classes %d", what, d->n, d->h, d->w, d->c, d->num_classes);
    if (d->n != (size_t)n) return;
    int bad = 0, maxlab = 0;
    for (int r = 0; r < n; r++) {
        const int want = coarse ? (f + r) % 20 : (f * 13 + r * 29) % 100;
        bad += d->labels[r] != want;
        if (d->labels[r] > maxlab) maxlab = d->labels[r];
        const uint8_t *img = d->images + (size_t)r * 3072;
        for (int p = 0; p < 1024; p++)
            for (int c = 0; c < 3; c++) bad += img[p * 3 + c] != pix(f + 7, r, c, p);
    }
    CHECK_MSG(bad == 0, "%s: %d wrong bytes", what, bad);
    CHECK(maxlab < (coarse ? 20 : 100));
}

static void write_tree100(const char *sub) {
    char p[300];
    tu_mkdir(sub);
    snprintf(p, sizeof p, "%s/cifar-100-binary", sub);
    tu_mkdir(p);
    uint8_t buf[R100_TRAIN * REC100];
    make100(0, R100_TRAIN, buf);
    snprintf(p, sizeof p, "%s/cifar-100-binary/train.bin", sub);
    tu_write(p, buf, sizeof buf);
    make100(1, R100_TEST, buf);
    snprintf(p, sizeof p, "%s/cifar-100-binary/test.bin", sub);
    tu_write(p, buf, (size_t)R100_TEST * REC100);
    snprintf(p, sizeof p, "%s/cifar-100-binary/fine_label_names.txt", sub);
    tu_write(p, "apple\n", 6);
}

static nl_status load100(const char *sub, nl_split split, nl_cifar100_labels labels, nl_dataset *d,
                         nl_error *err) {
    return nl_cifar100_load_ex(tu_path(sub), split, labels,
                               split == NL_SPLIT_TEST ? R100_TEST : R100_TRAIN, d, err);
}

static void expect100(const char *sub, nl_split split, nl_cifar100_labels labels, nl_status code,
                      const char *frag1, const char *frag2) {
    nl_dataset d;
    nl_error err = {0};
    nl_status st = load100(sub, split, labels, &d, &err);
    CHECK_MSG(st == code, "%s: status %s (want %s): %s", sub, nl_status_name(st),
              nl_status_name(code), err.msg);
    CHECK(d.images == NULL && d.labels == NULL && d.n == 0);
    if (getenv("NNLAB_TEST_VERBOSE")) fprintf(stderr, "%-8s %s\n", sub, err.msg);
    if (frag1) CHECK_CONTAINS(err.msg, frag1);
    if (frag2) CHECK_CONTAINS(err.msg, frag2);
}

static void cifar100(void) {
    nl_dataset d;
    nl_error err = {0};
    /* tree: fine and coarse labels, both splits */
    write_tree100("c100");
    for (int coarse = 0; coarse < 2; coarse++) {
        const nl_cifar100_labels lb = coarse ? NL_CIFAR100_COARSE : NL_CIFAR100_FINE;
        CHECK_MSG(load100("c100", NL_SPLIT_TRAIN, lb, &d, &err) == NL_OK, "%s", err.msg);
        check100(&d, 0, R100_TRAIN, coarse, coarse ? "tree train coarse" : "tree train fine");
        nl_dataset_free(&d);
        CHECK_MSG(load100("c100", NL_SPLIT_TEST, lb, &d, &err) == NL_OK, "%s", err.msg);
        check100(&d, 1, R100_TEST, coarse, coarse ? "tree test coarse" : "tree test fine");
        nl_dataset_free(&d);
    }
    /* the official counts are wanted by the plain entry point */
    CHECK(nl_cifar100_load(tu_path("c100"), NL_SPLIT_TEST, NL_CIFAR100_FINE, &d, &err) ==
          NL_EFORMAT);
    CHECK_CONTAINS(err.msg, "test.bin");
    CHECK_CONTAINS(err.msg, "expected 10000");
    /* through the dataset table: the name picks the label set */
    CHECK(nl_dataset_find("cifar100") && nl_dataset_find("cifar100")->num_classes == 100);
    CHECK(nl_dataset_find("cifar100-coarse") &&
          nl_dataset_find("cifar100-coarse")->num_classes == 20);
    /* labels out of range: fine 100 in record 2, coarse 20 in record 1 */
    uint8_t buf[(R100_TRAIN + 1) * REC100];
    write_tree100("fine");
    make100(0, R100_TRAIN, buf);
    buf[2 * REC100 + 1] = 100;
    tu_write("fine/cifar-100-binary/train.bin", buf, (size_t)R100_TRAIN * REC100);
    expect100("fine", NL_SPLIT_TRAIN, NL_CIFAR100_FINE, NL_EFORMAT, "record 2",
              "fine label 100 is out of range 0..99");
    /* a bad fine label is refused when the coarse labels are asked for too */
    expect100("fine", NL_SPLIT_TRAIN, NL_CIFAR100_COARSE, NL_EFORMAT, "train.bin",
              "fine label 100");
    write_tree100("coarse");
    make100(1, R100_TEST, buf);
    buf[1 * REC100] = 20;
    tu_write("coarse/cifar-100-binary/test.bin", buf, (size_t)R100_TEST * REC100);
    expect100("coarse", NL_SPLIT_TEST, NL_CIFAR100_FINE, NL_EFORMAT, "record 1",
              "coarse label 20 is out of range 0..19");
    /* truncated file: not a whole number of 3074-byte records; one record short */
    write_tree100("cut100");
    make100(0, R100_TRAIN, buf);
    tu_write("cut100/cifar-100-binary/train.bin", buf, (size_t)R100_TRAIN * REC100 - 10);
    expect100("cut100", NL_SPLIT_TRAIN, NL_CIFAR100_FINE, NL_EFORMAT, "3074-byte records",
              "record 6 is truncated");
    tu_write("cut100/cifar-100-binary/train.bin", buf, (size_t)(R100_TRAIN - 1) * REC100);
    expect100("cut100", NL_SPLIT_TRAIN, NL_CIFAR100_FINE, NL_EFORMAT, "6 records", "expected 7");
    /* missing file */
    write_tree100("miss100");
    CHECK(remove(tu_path("miss100/cifar-100-binary/test.bin")) == 0);
    expect100("miss100", NL_SPLIT_TEST, NL_CIFAR100_FINE, NL_ENOTFOUND, "test.bin", "missing");
    tu_mkdir("none100");
    expect100("none100", NL_SPLIT_TEST, NL_CIFAR100_FINE, NL_ENOTFOUND, "cifar-100-binary",
              "cifar-100-binary.tar.gz");

    /* the tar.gz read in place, members in the official order (test first) */
    tarbuf t = {0};
    tb_member(&t, "cifar-100-binary/", '5', NULL, 0);
    make100(1, R100_TEST, buf);
    tb_member(&t, "cifar-100-binary/test.bin", '0', buf, (size_t)R100_TEST * REC100);
    tb_member(&t, "cifar-100-binary/coarse_label_names.txt", '0', "fish\n", 5);
    make100(0, R100_TRAIN, buf);
    tb_member(&t, "cifar-100-binary/train.bin", '0', buf, (size_t)R100_TRAIN * REC100);
    tb_end(&t);
    tu_mkdir("t100");
    tu_write_gz("t100/cifar-100-binary.tar.gz", t.p, t.n);
    CHECK_MSG(load100("t100", NL_SPLIT_TRAIN, NL_CIFAR100_COARSE, &d, &err) == NL_OK, "%s",
              err.msg);
    check100(&d, 0, R100_TRAIN, 1, "tgz train coarse");
    nl_dataset_free(&d);
    CHECK_MSG(load100("t100", NL_SPLIT_TEST, NL_CIFAR100_FINE, &d, &err) == NL_OK, "%s", err.msg);
    check100(&d, 1, R100_TEST, 0, "tgz test fine");
    nl_dataset_free(&d);
    /* cut inside train.bin's record 3 */
    const size_t at = member_data(&t, "cifar-100-binary/train.bin");
    CHECK(at > 0);
    tu_mkdir("t100cut");
    tu_write_gz("t100cut/cifar-100-binary.tar.gz", t.p, at + 3 * REC100 + 50);
    expect100("t100cut", NL_SPLIT_TRAIN, NL_CIFAR100_FINE, NL_EFORMAT,
              "member cifar-100-binary/train.bin is truncated", "record 3 of 7");
    /* the test split is read first, but the damaged archive is still refused */
    expect100("t100cut", NL_SPLIT_TEST, NL_CIFAR100_FINE, NL_EFORMAT,
              "truncated inside member cifar-100-binary/train.bin", NULL);
    nl_dataset_free(&d);
    free(t.p);
}

int main(void) {
    tu_tmpdir();
    cifar100();
    good_tree();
    tree_errors();
    good_tgz();
    tgz_errors();
    tu_cleanup();
    CHECK_DONE();
}
