/* NPZ tables (src/data/npz.c): archives written here with libzip (stored and
 * deflated), and by numpy when /usr/bin/python3 has it; every hostile case
 * (dtype, order, shapes, lengths, labels, NaN, truncated or corrupted zip,
 * a FIFO) an error that names the file and the array, loading nothing. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zip.h>

#include "check.h"
#include "nnlab/data.h"
#include "testutil.h"

/* A .npy file: version major, the header dict text, then data. */
static uint8_t *npy(int major, const char *dict, const void *data, size_t n, size_t *len) {
    const size_t pre = major == 1 ? 10 : 12;
    size_t h = strlen(dict) + 1; /* + '\n' */
    const size_t pad = (64 - (pre + h) % 64) % 64;
    h += pad;
    uint8_t *b = malloc(pre + h + n + 1);
    memcpy(b, "\x93NUMPY", 6);
    b[6] = (uint8_t)major, b[7] = 0;
    if (major == 1) {
        b[8] = (uint8_t)h, b[9] = (uint8_t)(h >> 8);
    } else {
        for (int k = 0; k < 4; k++) b[8 + k] = (uint8_t)(h >> (8 * k));
    }
    memcpy(b + pre, dict, strlen(dict));
    memset(b + pre + strlen(dict), ' ', pad);
    b[pre + h - 1] = '\n';
    if (n) memcpy(b + pre + h, data, n);
    *len = pre + h + n;
    return b;
}

static uint8_t *npy_simple(const char *descr, const char *shape, const void *data, size_t n,
                           size_t *len) {
    char dict[256];
    snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr,
             shape);
    return npy(1, dict, data, n, len);
}

typedef struct member {
    const char *name;
    uint8_t *data;
    size_t n;
} member;

/* Writes the members (taking them) as a zip archive at tu_path(file). */
static void write_zip(const char *file, member *m, int count, int deflate) {
    int ze = 0;
    remove(tu_path(file));
    zip_t *z = zip_open(tu_path(file), ZIP_CREATE | ZIP_TRUNCATE, &ze);
    if (!z) {
        fprintf(stderr, "zip_open %s: %d\n", file, ze);
        exit(2);
    }
    for (int i = 0; i < count; i++) {
        zip_source_t *s = zip_source_buffer(z, m[i].data, m[i].n, 1); /* freed by libzip */
        zip_int64_t k = zip_file_add(z, m[i].name, s, ZIP_FL_OVERWRITE);
        if (k < 0) exit(2);
        zip_set_file_compression(z, (zip_uint64_t)k, deflate ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0);
    }
    if (zip_close(z) != 0) exit(2);
}

/* An archive of x (float32 [n][f], values i * 0.5) and y (int64 labels i % 3). */
static void write_xy(const char *file, int n, int f, int deflate) {
    float *x = malloc((size_t)n * f * sizeof(float));
    int64_t *y = malloc((size_t)n * sizeof(int64_t));
    for (int i = 0; i < n * f; i++) x[i] = (float)i * 0.5f;
    for (int i = 0; i < n; i++) y[i] = i % 3;
    char sx[64], sy[64];
    snprintf(sx, sizeof sx, "(%d, %d)", n, f);
    snprintf(sy, sizeof sy, "(%d,)", n);
    member m[2] = {{"x.npy", NULL, 0}, {"y.npy", NULL, 0}};
    m[0].data = npy_simple("<f4", sx, x, (size_t)n * f * 4, &m[0].n);
    m[1].data = npy_simple("<i8", sy, y, (size_t)n * 8, &m[1].n);
    write_zip(file, m, 2, deflate);
    free(x);
    free(y);
}

static uint8_t *slurp(const char *file, size_t *n) {
    FILE *f = fopen(tu_path(file), "rb");
    fseek(f, 0, SEEK_END);
    long k = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)k + 1);
    *n = fread(b, 1, (size_t)k, f);
    fclose(f);
    return b;
}

/* Loading file must fail with st, load nothing, and name file and fragments. */
static void bad_file(const char *file, const nl_table_options *o, nl_status st, const char *f1,
                     const char *f2) {
    nl_dataset d;
    nl_error e = {0};
    memset(&d, 0xab, sizeof d);
    nl_status got = nl_npz_load(tu_path(file), o, &d, &e);
    CHECK_MSG(got == st, "%s: status %d, want %d (%s)", file, (int)got, (int)st, e.msg);
    CHECK(d.x == NULL && d.labels == NULL && d.y == NULL && d.n == 0);
    CHECK_CONTAINS(e.msg, file);
    if (f1) CHECK_CONTAINS(e.msg, f1);
    if (f2) CHECK_CONTAINS(e.msg, f2);
    if (got == NL_OK) nl_dataset_free(&d);
}

/* An archive with x given by (descr, shape, bytes) and y int64 labels 0..n-1 % 2. */
static void write_x(const char *file, const char *descr, const char *shape, const void *data,
                    size_t bytes, int ny) {
    int64_t y[64];
    for (int i = 0; i < ny; i++) y[i] = i % 2;
    char sy[32];
    snprintf(sy, sizeof sy, "(%d,)", ny);
    member m[2] = {{"x.npy", NULL, 0}, {"y.npy", NULL, 0}};
    m[0].data = npy_simple(descr, shape, data, bytes, &m[0].n);
    m[1].data = npy_simple("<i8", sy, y, (size_t)ny * 8, &m[1].n);
    write_zip(file, m, 2, 0);
}

static void write_y(const char *file, const char *descr, const char *shape, const void *data,
                    size_t bytes, int nx) {
    float x[64];
    for (int i = 0; i < nx; i++) x[i] = (float)i;
    char sx[32];
    snprintf(sx, sizeof sx, "(%d, 1)", nx);
    member m[2] = {{"x.npy", NULL, 0}, {"y.npy", NULL, 0}};
    m[0].data = npy_simple("<f4", sx, x, (size_t)nx * 4, &m[0].n);
    m[1].data = npy_simple(descr, shape, data, bytes, &m[1].n);
    write_zip(file, m, 2, 0);
}

static void test_good(void) {
    nl_dataset d;
    nl_error e = {0};
    for (int deflate = 0; deflate < 2; deflate++) {
        write_xy("a.npz", 5, 3, deflate);
        CHECK(nl_npz_load(tu_path("a.npz"), NULL, &d, &e) == NL_OK);
        CHECK(d.n == 5 && d.h == 1 && d.w == 1 && d.c == 3 && d.x && d.labels && !d.y);
        CHECK(d.num_classes == 3);
        if (d.x) CHECK(d.x[14] == 7.0f && d.labels[4] == 1);
        nl_dataset_free(&d);
    }
    /* in memory; by extension */
    size_t n;
    uint8_t *b = slurp("a.npz", &n);
    CHECK(nl_npz_parse("mem.npz", b, n, NULL, &d, &e) == NL_OK && d.n == 5);
    nl_dataset_free(&d);
    free(b);
    CHECK(nl_table_load(tu_path("a.npz"), NULL, &d, &e) == NL_OK && d.n == 5);
    nl_dataset_free(&d);

    /* rank 4 uint8 x, float64 integral labels, version 2 and 3 headers */
    uint8_t img[2 * 2 * 3 * 1];
    for (int i = 0; i < 12; i++) img[i] = (uint8_t)(200 + i);
    double lab[2] = {4, 1};
    member m[2] = {{"x.npy", NULL, 0}, {"y.npy", NULL, 0}};
    m[0].data = npy(2, "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2, 3, 1)}", img,
                    sizeof img, &m[0].n);
    m[1].data = npy(3, "{\"shape\": (2,), \"fortran_order\": False, \"descr\": \"<f8\"}", lab,
                    sizeof lab, &m[1].n);
    write_zip("img.npz", m, 2, 1);
    nl_table_options o = nl_table_defaults();
    o.h = 2, o.w = 3, o.c = 1, o.num_classes = 10;
    CHECK(nl_npz_load(tu_path("img.npz"), &o, &d, &e) == NL_OK);
    CHECK(d.n == 2 && d.h == 2 && d.w == 3 && d.c == 1 && d.num_classes == 10);
    if (d.x) CHECK(d.x[11] == 211.0f && d.labels[0] == 4); /* as they are, not scaled */
    nl_dataset_free(&d);
    CHECK(nl_npz_load(tu_path("img.npz"), NULL, &d, &e) == NL_OK); /* shape from the file */
    CHECK(d.h == 2 && d.w == 3 && d.c == 1 && d.num_classes == 5);
    nl_dataset_free(&d);
    /* a flat x of 6 features as the model's 2x3x1 */
    write_x("flat.npz", "<f4", "(2, 6)", (float[12]){0}, 48, 2);
    CHECK(nl_npz_load(tu_path("flat.npz"), &o, &d, &e) == NL_OK && d.h == 2 && d.w == 3);
    nl_dataset_free(&d);

    /* values: y float32 [n][2], float64 [n] */
    float yv[6] = {0.5f, -1, 2, 3, 4, 5.25f};
    write_y("v.npz", "<f4", "(3, 2)", yv, sizeof yv, 3);
    o = nl_table_defaults();
    o.targets = NL_TABLE_VALUES;
    CHECK(nl_npz_load(tu_path("v.npz"), &o, &d, &e) == NL_OK);
    CHECK(d.n == 3 && d.y && !d.labels && d.targets == 2 && d.num_classes == 0);
    if (d.y) CHECK(d.y[0] == 0.5f && d.y[5] == 5.25f);
    nl_dataset_free(&d);
    o.num_targets = 3;
    bad_file("v.npz", &o, NL_EFORMAT, "2 targets a sample", "outputs 3");
    /* int64 values, inputs only: y ignored, and not needed */
    int64_t yi[3] = {-5, 0, 7};
    write_y("vi.npz", "<i8", "(3,)", yi, sizeof yi, 3);
    o = nl_table_defaults();
    o.targets = NL_TABLE_VALUES;
    CHECK(nl_npz_load(tu_path("vi.npz"), &o, &d, &e) == NL_OK && d.y[0] == -5.0f && d.targets == 1);
    nl_dataset_free(&d);
    member only[1] = {{"x.npy", NULL, 0}};
    only[0].data = npy_simple("<f4", "(1, 2)", (float[2]){1, 2}, 8, &only[0].n);
    write_zip("xonly.npz", only, 1, 0);
    o.targets = NL_TABLE_INPUTS;
    CHECK(nl_npz_load(tu_path("xonly.npz"), &o, &d, &e) == NL_OK);
    CHECK(d.n == 1 && d.x && !d.y && !d.labels && d.x[1] == 2.0f);
    nl_dataset_free(&d);
}

static void test_hostile(void) {
    nl_table_options o = nl_table_defaults();
    float x4[4] = {1, 2, 3, 4};
    /* dtypes */
    write_x("f2.npz", "<f2", "(2, 1)", x4, 4, 2);
    bad_file("f2.npz", NULL, NL_EFORMAT, "array x", "dtype '<f2' is not supported");
    write_x("be.npz", ">f4", "(2, 1)", x4, 8, 2);
    bad_file("be.npz", NULL, NL_EFORMAT, "'>f4'", "little-endian");
    write_x("obj.npz", "|O", "(2, 1)", x4, 16, 2);
    bad_file("obj.npz", NULL, NL_EFORMAT, "'|O'", NULL);
    {
        member m[2] = {{"x.npy", NULL, 0}, {"y.npy", NULL, 0}};
        m[0].data = npy(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,)}", x4,
                        8, &m[0].n);
        m[1].data = npy_simple("<i8", "(2,)", (int64_t[2]){0, 1}, 16, &m[1].n);
        write_zip("struct.npz", m, 2, 0);
        bad_file("struct.npz", NULL, NL_EFORMAT, "structured", NULL);
    }
    /* Fortran order */
    {
        member m[2] = {{"x.npy", NULL, 0}, {"y.npy", NULL, 0}};
        m[0].data =
            npy(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2)}", x4, 16, &m[0].n);
        m[1].data = npy_simple("<i8", "(2,)", (int64_t[2]){0, 1}, 16, &m[1].n);
        write_zip("fortran.npz", m, 2, 0);
        bad_file("fortran.npz", NULL, NL_EFORMAT, "array x", "Fortran order");
    }
    /* huge declared shapes: bounded by the bytes, nothing allocated for them */
    write_x("huge.npz", "<f4", "(1099511627776, 1099511627776)", x4, 16, 2);
    bad_file("huge.npz", NULL, NL_EFORMAT, "array x", "16 bytes of data");
    write_x("huge2.npz", "<f4", "(4000000000, 4)", x4, 16, 2);
    bad_file("huge2.npz", NULL, NL_EFORMAT, "(4000000000, 4)", "16 bytes");
    write_x("toolong.npz", "<f4", "(99999999999999999999999, 1)", x4, 16, 2);
    bad_file("toolong.npz", NULL, NL_EFORMAT, "too large", NULL);
    /* shape and bytes disagree (a truncated array) */
    write_x("short.npz", "<f4", "(2, 2)", x4, 12, 2);
    bad_file("short.npz", NULL, NL_EFORMAT, "shape (2, 2) of float32", "12 bytes");
    /* ranks */
    write_x("r3.npz", "<f4", "(2, 2, 1)", x4, 16, 2);
    bad_file("r3.npz", NULL, NL_EFORMAT, "rank 3", "[n][H][W][C]");
    write_x("r5.npz", "<f4", "(1, 1, 1, 1, 4)", x4, 16, 1);
    bad_file("r5.npz", NULL, NL_EFORMAT, "more than 4 dimensions", NULL);
    write_x("empty.npz", "<f4", "(0, 4)", x4, 0, 0);
    bad_file("empty.npz", NULL, NL_EFORMAT, "no samples", NULL);
    /* x and y of different lengths */
    write_x("len.npz", "<f4", "(2, 2)", x4, 16, 3);
    bad_file("len.npz", NULL, NL_EFORMAT, "array x has 2 samples, array y 3", NULL);
    /* NaN / inf in x, in float64 beyond float32 */
    float xn[4] = {1, NAN, 3, 4};
    write_x("nan.npz", "<f4", "(2, 2)", xn, 16, 2);
    bad_file("nan.npz", NULL, NL_EFORMAT, "x[0][1] is NaN", NULL);
    float xi[4] = {1, 2, 3, INFINITY};
    write_x("inf.npz", "<f4", "(2, 2)", xi, 16, 2);
    bad_file("inf.npz", NULL, NL_EFORMAT, "x[1][1] is infinite", NULL);
    double xd[2] = {1, 1e300};
    write_x("big.npz", "<f8", "(2, 1)", xd, 16, 2);
    bad_file("big.npz", NULL, NL_EFORMAT, "x[1][0]", "float32");
    /* labels */
    write_y("lab256.npz", "<i8", "(2,)", (int64_t[2]){0, 256}, 16, 2);
    bad_file("lab256.npz", NULL, NL_EFORMAT, "y[1] = 256", "too large");
    write_y("labneg.npz", "<i8", "(2,)", (int64_t[2]){-1, 0}, 16, 2);
    bad_file("labneg.npz", NULL, NL_EFORMAT, "y[0] = -1", "negative");
    write_y("labfrac.npz", "<f4", "(2,)", (float[2]){0, 1.5f}, 8, 2);
    bad_file("labfrac.npz", NULL, NL_EFORMAT, "y[1] = 1.5", "not an integer");
    write_y("labnan.npz", "<f8", "(2,)", (double[2]){0, NAN}, 16, 2);
    bad_file("labnan.npz", NULL, NL_EFORMAT, "y[1]", "finite");
    o.num_classes = 2;
    write_y("lab2.npz", "<i8", "(2,)", (int64_t[2]){0, 2}, 16, 2);
    bad_file("lab2.npz", &o, NL_EFORMAT, "y[1] = 2", "0..1");
    write_y("onehot.npz", "<f4", "(2, 2)", (float[4]){1, 0, 0, 1}, 16, 2);
    bad_file("onehot.npz", NULL, NL_EFORMAT, "2 values a sample", "one class index");
    o = nl_table_defaults();
    o.targets = NL_TABLE_VALUES;
    write_y("ynan.npz", "<f4", "(2,)", (float[2]){0, NAN}, 8, 2);
    bad_file("ynan.npz", &o, NL_EFORMAT, "y[1] is NaN", NULL);
    /* the model's input shape */
    write_xy("shape.npz", 3, 5, 0);
    o = nl_table_defaults();
    o.h = 28, o.w = 28, o.c = 1;
    bad_file("shape.npz", &o, NL_EFORMAT, "5 features", "28x28x1 = 784");
    {
        uint8_t img[12] = {0};
        write_x("img4.npz", "|u1", "(2, 3, 2, 1)", img, 12, 2);
        o.h = 2, o.w = 3, o.c = 1;
        bad_file("img4.npz", &o, NL_EFORMAT, "3x2x1", "2x3x1");
    }
    /* missing arrays */
    {
        member m[1] = {{"y.npy", NULL, 0}};
        m[0].data = npy_simple("<i8", "(1,)", (int64_t[1]){0}, 8, &m[0].n);
        write_zip("noy.npz", m, 1, 0);
        bad_file("noy.npz", NULL, NL_EFORMAT, "no array 'x'", NULL);
        member m2[1] = {{"x.npy", NULL, 0}};
        m2[0].data = npy_simple("<f4", "(1, 1)", (float[1]){0}, 4, &m2[0].n);
        write_zip("nox.npz", m2, 1, 0);
        bad_file("nox.npz", NULL, NL_EFORMAT, "no array 'y'", NULL);
    }
    /* bad .npy headers */
    {
        const char *dicts[][2] = {
            {"{'descr': '<f4', 'shape': (1, 1)}", "no 'fortran_order' key"},
            {"{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1), 'extra': 1}",
             "unknown key 'extra'"},
            {"{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1, 1)}", "neither True"},
            {"{'descr': '<f4', 'fortran_order': False, 'shape': [1, 1]}", "not a tuple"},
            {"{'descr': '<f4', 'fortran_order': False, 'shape': (1, -1)}", "expected a dimension"},
            {"('descr', '<f4')", "expected a dict"},
            {"{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1)} junk", "after the dict"},
        };
        for (size_t i = 0; i < sizeof dicts / sizeof dicts[0]; i++) {
            member m[2] = {{"x.npy", NULL, 0}, {"y.npy", NULL, 0}};
            m[0].data = npy(1, dicts[i][0], x4, 4, &m[0].n);
            m[1].data = npy_simple("<i8", "(1,)", (int64_t[1]){0}, 8, &m[1].n);
            write_zip("hdr.npz", m, 2, 0);
            bad_file("hdr.npz", NULL, NL_EFORMAT, "array x", dicts[i][1]);
        }
        member m[2] = {{"x.npy", NULL, 0}, {"y.npy", NULL, 0}};
        m[0].data =
            npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1)}", x4, 4, &m[0].n);
        m[0].data[6] = 4; /* version 4.0 */
        m[1].data = npy_simple("<i8", "(1,)", (int64_t[1]){0}, 8, &m[1].n);
        write_zip("v4.npz", m, 2, 0);
        bad_file("v4.npz", NULL, NL_EFORMAT, "version 4.0", NULL);
        member m2[2] = {{"x.npy", NULL, 0}, {"y.npy", NULL, 0}};
        m2[0].data = malloc(16);
        memcpy(m2[0].data, "not an npy file!", 16);
        m2[0].n = 16;
        m2[1].data = npy_simple("<i8", "(1,)", (int64_t[1]){0}, 8, &m2[1].n);
        write_zip("magic.npz", m2, 2, 0);
        bad_file("magic.npz", NULL, NL_EFORMAT, "magic", NULL);
        member m3[2] = {{"x.npy", NULL, 0}, {"y.npy", NULL, 0}};
        m3[0].data =
            npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1)}", x4, 4, &m3[0].n);
        m3[0].data[8] = 0xff, m3[0].data[9] = 0x7f; /* header length beyond the member */
        m3[1].data = npy_simple("<i8", "(1,)", (int64_t[1]){0}, 8, &m3[1].n);
        write_zip("hlen.npz", m3, 2, 0);
        bad_file("hlen.npz", NULL, NL_EFORMAT, "declares 32767 bytes", NULL);
    }
    /* truncated and corrupted archives, not a zip at all */
    size_t n;
    write_xy("good.npz", 50, 20, 1);
    uint8_t *b = slurp("good.npz", &n);
    for (size_t cut = 0; cut < n; cut += n / 7 + 1) {
        tu_write("cut.npz", b, cut);
        bad_file("cut.npz", NULL, NL_EFORMAT, NULL, NULL);
    }
    tu_write("cut.npz", b, n - 1);
    bad_file("cut.npz", NULL, NL_EFORMAT, "zip", NULL);
    uint8_t *c = malloc(n);
    memcpy(c, b, n);
    for (size_t i = 60; i < 120 && i < n; i++) c[i] ^= 0x5a; /* inside x.npy's deflated data */
    tu_write("corrupt.npz", c, n);
    bad_file("corrupt.npz", NULL, NL_EFORMAT, "x.npy", NULL);
    nl_dataset d;
    nl_error e = {0};
    CHECK(nl_npz_parse("corrupt-mem.npz", c, n, NULL, &d, &e) == NL_EFORMAT && d.x == NULL);
    CHECK_CONTAINS(e.msg, "corrupt-mem.npz");
    free(c);
    free(b);
    tu_write("text.npz", "a,b,label\n1,2,3\n", 16);
    bad_file("text.npz", NULL, NL_EFORMAT, "not a readable zip archive", NULL);
    /* a FIFO, a directory, a missing file */
    CHECK(mkfifo(tu_path("fifo.npz"), 0600) == 0);
    bad_file("fifo.npz", NULL, NL_EIO, "FIFO", NULL);
    tu_mkdir("dir.npz");
    bad_file("dir.npz", NULL, NL_EIO, "directory", NULL);
    bad_file("missing.npz", NULL, NL_ENOTFOUND, NULL, NULL);
    /* the byte limit per array */
    write_xy("limit.npz", 100, 10, 1);
    o = nl_table_defaults();
    o.max_bytes = 1000;
    bad_file("limit.npz", &o, NL_EFORMAT, "x.npy", "larger than 1000 bytes");
}

/* numpy's own files, when this machine's python3 has numpy. */
static void test_numpy(void) {
    if (system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0) {
        printf("numpy not available: numpy-written files not tested\n");
        return;
    }
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import numpy as np; d='%s';"
             "x=np.arange(24, dtype=np.float64).reshape(6, 4) / 8; y=np.array([0,1,2,0,1,5]);"
             "np.savez(d + '/np.npz', x=x, y=y);"
             "np.savez_compressed(d + '/npc.npz', x=x.astype(np.float32), y=y.astype(np.uint8));"
             "np.savez(d + '/npimg.npz', x=np.zeros((3, 4, 4, 2), np.uint8), y=np.ones(3));"
             "np.savez(d + '/npf.npz', x=np.asfortranarray(x), y=y);"
             "np.savez(d + '/npv.npz', x=x, y=np.stack([y, y], 1).astype(np.float32))\"",
             tu_dir);
    CHECK(system(cmd) == 0);
    const char *files[] = {"np.npz", "npc.npz"};
    for (int i = 0; i < 2; i++) {
        nl_dataset d;
        nl_error e = {0};
        CHECK_MSG(nl_npz_load(tu_path(files[i]), NULL, &d, &e) == NL_OK, "%s", e.msg);
        CHECK(d.n == 6 && d.c == 4 && d.num_classes == 6);
        if (d.x) CHECK(d.x[23] == 23.0f / 8 && d.labels[5] == 5);
        nl_dataset_free(&d);
    }
    nl_dataset d;
    nl_error e = {0};
    CHECK(nl_npz_load(tu_path("npimg.npz"), NULL, &d, &e) == NL_OK);
    CHECK(d.n == 3 && d.h == 4 && d.w == 4 && d.c == 2 && d.labels && d.labels[2] == 1);
    nl_dataset_free(&d);
    bad_file("npf.npz", NULL, NL_EFORMAT, "Fortran order", NULL);
    nl_table_options o = nl_table_defaults();
    o.targets = NL_TABLE_VALUES;
    CHECK(nl_npz_load(tu_path("npv.npz"), &o, &d, &e) == NL_OK);
    CHECK(d.targets == 2 && d.y && d.y[11] == 5.0f);
    nl_dataset_free(&d);
}

int main(void) {
    tu_tmpdir();
    test_good();
    test_hostile();
    test_numpy();
    tu_cleanup();
    CHECK_DONE();
}
