/* IDX loader on small files written here, good and broken, and a gzip bomb
 * (F5: a small header followed by far more compressed data) that must fail
 * fast with bounded memory. */
#include <sys/resource.h>
#include <time.h>

#include "check.h"
#include "nnlab/data.h"
#include "testutil.h"

static size_t idx_images(uint8_t *b, uint32_t n, uint32_t r, uint32_t c) {
    uint8_t h[16] = {0, 0, 8, 3};
    uint32_t d[3] = {n, r, c};
    for (int i = 0; i < 3; i++)
        h[4 + 4 * i] = d[i] >> 24, h[5 + 4 * i] = d[i] >> 16, h[6 + 4 * i] = d[i] >> 8,
                  h[7 + 4 * i] = d[i];
    memcpy(b, h, 16);
    for (uint32_t i = 0; i < n * r * c; i++) b[16 + i] = (uint8_t)(i * 7);
    return 16 + (size_t)n * r * c;
}

static size_t idx_labels(uint8_t *b, uint32_t n, const uint8_t *labels) {
    uint8_t h[8] = {0, 0, 8, 1, n >> 24, n >> 16, n >> 8, n};
    memcpy(b, h, 8);
    memcpy(b + 8, labels, n);
    return 8 + n;
}

static long peak_rss_kib(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A gzip file: the bytes of head, then `zeros` zero bytes. */
static void write_bomb(const char *name, const uint8_t *head, size_t n, size_t zeros) {
    gzFile g = gzopen(tu_path(name), "wb1");
    if (!g || gzwrite(g, head, (unsigned)n) != (int)n) exit(2);
    static uint8_t zero[1 << 16];
    for (size_t k = 0; k < zeros; k += sizeof zero)
        if (gzwrite(g, zero, sizeof zero) != (int)sizeof zero) exit(2);
    gzclose(g);
}

/* F5: the header announces 5 images of 4x3 (60 bytes); 256 MiB follow. Reading
 * stops one byte past the announced size: no allocation beyond it, no time
 * spent inflating the rest. */
static void gzip_bomb(const uint8_t *img, size_t ni, const uint8_t *lab, size_t nlab) {
    write_bomb("bomb-images.gz", img, ni, (size_t)256 << 20);
    write_bomb("bomb-labels.gz", lab, nlab, (size_t)256 << 20);
    tu_write("lab-ok", lab, nlab);
    tu_write("img-ok", img, ni);
    nl_error err = {0};
    nl_dataset d;
    const long rss0 = peak_rss_kib();
    const double t0 = now_s();
    CHECK(nl_idx_load(tu_path("bomb-images.gz"), tu_path("lab-ok"), 10, &d, &err) == NL_EFORMAT);
    CHECK_CONTAINS(err.msg, tu_path("bomb-images.gz"));
    CHECK_CONTAINS(err.msg, "76 bytes its IDX header announces");
    CHECK_CONTAINS(err.msg, "trailing");
    CHECK(nl_idx_load(tu_path("img-ok"), tu_path("bomb-labels.gz"), 10, &d, &err) == NL_EFORMAT);
    CHECK_CONTAINS(err.msg, tu_path("bomb-labels.gz"));
    CHECK_CONTAINS(err.msg, "13 bytes its IDX header announces");
    const double secs = now_s() - t0;
    const long grew = peak_rss_kib() - rss0;
    CHECK_MSG(secs < 1.0, "the bombs took %.3f s", secs);
    CHECK_MSG(grew < 16 * 1024, "peak RSS grew by %ld KiB", grew);
    /* a header announcing more than the loader's limit (2^36 bytes: 4096 x 4096
     * x 4096) is refused before any allocation */
    uint8_t big[16] = {0, 0, 8, 3, 0, 0, 0x10, 0, 0, 0, 0x10, 0, 0, 0, 0x10, 0};
    write_bomb("huge.gz", big, 16, 1 << 20);
    CHECK(nl_idx_load(tu_path("huge.gz"), tu_path("lab-ok"), 10, &d, &err) == NL_EFORMAT);
    CHECK_CONTAINS(err.msg, "announces 68719476736 data bytes, more than the limit");
    CHECK_CONTAINS(err.msg, tu_path("huge.gz"));
    /* a small gzip stream announcing 3.75 GiB (within the limit: 1024 x 2048 x
     * 1920) but holding 1 MiB is reported as truncated. Its buffer grows with
     * the data that arrives instead of being allocated at the announced size:
     * tests/fuzz/regressions/fuzz_idx/oom-gzip-announces-4gb guards that, under
     * libFuzzer's malloc limit (untouched pages never show in RSS). */
    uint8_t tall[16] = {0, 0, 8, 3, 0, 0, 4, 0, 0, 0, 8, 0, 0, 0, 7, 0x80};
    write_bomb("tall.gz", tall, 16, 1 << 20);
    CHECK(nl_idx_load(tu_path("tall.gz"), tu_path("lab-ok"), 10, &d, &err) == NL_EFORMAT);
    CHECK_CONTAINS(err.msg, "ends after 1048576 of the 4026531840 data bytes");
    /* the announced size, but not all of it there */
    write_bomb("short.gz", img, ni - 7, 0);
    CHECK(nl_idx_load(tu_path("short.gz"), tu_path("lab-ok"), 10, &d, &err) == NL_EFORMAT);
    CHECK_CONTAINS(err.msg, "ends after 53 of the 60 data bytes");
}

static nl_status load(const char *img, const char *lab, nl_error *err) {
    nl_dataset d;
    nl_status st = nl_idx_load(tu_path(img), tu_path(lab), 10, &d, err);
    if (!st) nl_dataset_free(&d);
    return st;
}

int main(void) {
    tu_tmpdir();
    uint8_t img[16 + 5 * 4 * 3], lab[8 + 5], bad[256];
    const uint8_t labels[5] = {0, 9, 3, 3, 7};
    size_t ni = idx_images(img, 5, 4, 3), nlab = idx_labels(lab, 5, labels);
    tu_write("img", img, ni);
    tu_write("lab", lab, nlab);
    nl_error err = {0};
    nl_dataset d;

    /* good raw and gz files */
    CHECK(nl_idx_load(tu_path("img"), tu_path("lab"), 10, &d, &err) == NL_OK);
    CHECK(d.n == 5 && d.h == 4 && d.w == 3 && d.c == 1);
    CHECK(d.labels[1] == 9 && d.images[1] == 7);
    nl_dataset_free(&d);
    tu_write_gz("img.gz", img, ni);
    tu_write_gz("lab.gz", lab, nlab);
    CHECK(nl_idx_load(tu_path("img.gz"), tu_path("lab.gz"), 10, &d, &err) == NL_OK);
    CHECK(d.n == 5 && d.images[2] == 14);
    nl_dataset_free(&d);

    /* wrong magic */
    memcpy(bad, img, ni);
    bad[0] = 0x42;
    tu_write("magic", bad, ni);
    CHECK(load("magic", "lab", &err) == NL_EFORMAT);
    CHECK_CONTAINS(err.msg, "magic");
    CHECK_CONTAINS(err.msg, tu_path("magic"));
    /* wrong data type, wrong rank (labels file given as images) */
    memcpy(bad, img, ni);
    bad[2] = 0x0d;
    tu_write("type", bad, ni);
    CHECK(load("type", "lab", &err) == NL_EFORMAT);
    CHECK_CONTAINS(err.msg, "data type");
    CHECK(load("lab", "lab", &err) == NL_EFORMAT);
    CHECK_CONTAINS(err.msg, "rank 1");
    /* truncated header */
    tu_write("hdr", img, 10);
    CHECK(load("hdr", "lab", &err) == NL_EFORMAT);
    CHECK_CONTAINS(err.msg, "truncated header");
    /* truncated data, trailing data */
    tu_write("short", img, ni - 3);
    CHECK(load("short", "lab", &err) == NL_EFORMAT);
    CHECK_CONTAINS(err.msg, "truncated data");
    memcpy(bad, img, ni);
    tu_write("long", bad, ni + 2);
    CHECK(load("long", "lab", &err) == NL_EFORMAT);
    CHECK_CONTAINS(err.msg, "trailing");
    /* count mismatch */
    uint8_t lab4[8 + 4];
    size_t n4 = idx_labels(lab4, 4, labels);
    tu_write("lab4", lab4, n4);
    CHECK(load("img", "lab4", &err) == NL_EFORMAT);
    CHECK_CONTAINS(err.msg, "5 images");
    CHECK_CONTAINS(err.msg, "4 labels");
    /* label 10 and 255 */
    const uint8_t l10[5] = {0, 1, 10, 3, 4}, l255[5] = {255, 1, 2, 3, 4};
    uint8_t lb[16];
    tu_write("l10", lb, idx_labels(lb, 5, l10));
    CHECK(load("img", "l10", &err) == NL_EFORMAT);
    CHECK_CONTAINS(err.msg, "label 10 of record 2");
    tu_write("l255", lb, idx_labels(lb, 5, l255));
    CHECK(load("img", "l255", &err) == NL_EFORMAT);
    CHECK_CONTAINS(err.msg, "label 255 of record 0");
    /* dimensions whose product overflows: 2^31 x 2^31 x 2^31 */
    uint8_t ov[16] = {0, 0, 8, 3, 0x80, 0, 0, 0, 0x80, 0, 0, 0, 0x80, 0, 0, 0};
    tu_write("overflow", ov, 16);
    CHECK(load("overflow", "lab", &err) == NL_EFORMAT);
    CHECK_CONTAINS(err.msg, "overflow");
    /* zero dimension */
    uint8_t zd[16] = {0, 0, 8, 3, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 3};
    tu_write("zerodim", zd, 16);
    CHECK(load("zerodim", "lab", &err) == NL_EFORMAT);
    /* empty file, missing file, directory in place of a file */
    tu_write("empty", "", 0);
    CHECK(load("empty", "lab", &err) == NL_EFORMAT);
    CHECK_CONTAINS(err.msg, "empty");
    CHECK(load("nonexistent", "lab", &err) == NL_ENOTFOUND);
    CHECK_CONTAINS(err.msg, "nonexistent");
    tu_mkdir("adir");
    CHECK(load("adir", "lab", &err) == NL_EIO);
    CHECK_CONTAINS(err.msg, "not a regular file");
    /* a FIFO is refused at once (no writer: opening it must not block) */
    CHECK(mkfifo(tu_path("fifo"), 0600) == 0);
    CHECK(load("fifo", "lab", &err) == NL_EIO);
    CHECK_CONTAINS(err.msg, "not a regular file");
    uint8_t *fbuf = NULL;
    size_t flen = 0;
    CHECK(nl_read_file(tu_path("fifo"), 1 << 20, &fbuf, &flen, &err) == NL_EIO && !fbuf);
    /* corrupt gzip: flip bytes in the deflate stream; truncated gzip */
    FILE *f = fopen(tu_path("img.gz"), "rb");
    uint8_t gz[4096];
    size_t gn = fread(gz, 1, sizeof gz, f);
    fclose(f);
    memcpy(bad, gz, gn < sizeof bad ? gn : sizeof bad);
    uint8_t *cz = malloc(gn);
    memcpy(cz, gz, gn);
    for (size_t i = 12; i < gn - 8; i += 3) cz[i] ^= 0x5a;
    tu_write("corrupt.gz", cz, gn);
    CHECK(load("corrupt.gz", "lab", &err) == NL_EFORMAT);
    CHECK_CONTAINS(err.msg, "gzip");
    tu_write("trunc.gz", gz, gn / 2);
    CHECK(load("trunc.gz", "lab", &err) == NL_EFORMAT);
    CHECK_CONTAINS(err.msg, "gzip");
    free(cz);

    /* the directory layout: DIR/mnist/{train,t10k}-... with .gz and raw mixed */
    tu_mkdir("data");
    tu_mkdir("data/mnist");
    tu_write_gz("data/mnist/train-images-idx3-ubyte.gz", img, ni);
    tu_write("data/mnist/train-labels-idx1-ubyte", lab, nlab);
    CHECK(nl_mnist_load(tu_path("data"), "mnist", NL_SPLIT_TRAIN, &d, &err) == NL_OK);
    CHECK(d.n == 5);
    nl_dataset_free(&d);
    CHECK(nl_mnist_load(tu_path("data"), "mnist", NL_SPLIT_TEST, &d, &err) == NL_ENOTFOUND);
    CHECK_CONTAINS(err.msg, "t10k-images-idx3-ubyte[.gz]");
    CHECK_CONTAINS(err.msg, "mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]");
    /* the library's message is about the library: the CLI adds its own hints */
    CHECK(!strstr(err.msg, "nnlab data") && !strstr(err.msg, "--data") &&
          !strstr(err.msg, "NNLAB_DATA"));

    /* nl_data_dir: the caller's directory, else the per-user cache; never $NNLAB_DATA */
    {
        char dir[4096];
        setenv("NNLAB_DATA", tu_path("data"), 1);
        setenv("XDG_CACHE_HOME", "/nonexistent-cache", 1);
        CHECK(nl_data_dir(NULL, dir, sizeof dir, &err) == NL_OK);
        CHECK(!strcmp(dir, "/nonexistent-cache/nnlab"));
        CHECK(nl_data_dir(tu_path("data"), dir, sizeof dir, &err) == NL_OK);
        CHECK(!strcmp(dir, tu_path("data")));
        CHECK(nl_data_dir(tu_path("data/none"), dir, sizeof dir, &err) == NL_ENOTFOUND);
        CHECK(!strstr(err.msg, "--data") && !strstr(err.msg, "NNLAB_DATA"));
        unsetenv("NNLAB_DATA");
        unsetenv("XDG_CACHE_HOME");
    }

    gzip_bomb(img, ni, lab, nlab);

    /* batch gather scales to [0, 1] */
    CHECK(nl_idx_load(tu_path("img"), tu_path("lab"), 10, &d, &err) == NL_OK);
    uint32_t idx[2] = {4, 0};
    float x[2 * 12];
    uint8_t y[2];
    nl_batch_gather(&d, idx, 2, x, y);
    CHECK(y[0] == 7 && y[1] == 0);
    CHECK_NEAR(x[0], (uint8_t)(48 * 7) / 255.0, 1e-7);
    CHECK_NEAR(x[12 + 1], 7 / 255.0, 1e-7);
    nl_dataset_free(&d);
    tu_cleanup();
    CHECK_DONE();
}
