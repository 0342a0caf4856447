/* Writes the seed corpus of every fuzz target: make_seeds DIR makes
 * DIR/<target>/<seed> files, built with the library's own writers where it has
 * them (model files, event lines), so the seeds follow the formats. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>
#include <zlib.h>

#include "nnlab/bench.h"
#include "nnlab/core.h"
#include "nnlab/model.h"
#include "nnlab/optim.h"
#include "nnlab/train.h"

static const char *g_dir;

static void seed(const char *target, const char *name, const void *data, size_t n) {
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", g_dir, target);
    (void)mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/%s/%s", g_dir, target, name);
    FILE *f = fopen(p, "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n)) {
        fprintf(stderr, "make_seeds: %s: %s\n", p, strerror(errno));
        exit(1);
    }
    fclose(f);
}

static uint8_t *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long k = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc((size_t)k + 1);
    *n = fread(p, 1, (size_t)k, f);
    fclose(f);
    return p;
}

static void be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8),
    p[3] = (uint8_t)v;
}

/* ---- IDX ---------------------------------------------------------------------------------- */
static size_t idx(uint8_t *buf, int rank, uint32_t n, uint32_t rows, uint32_t cols) {
    buf[0] = buf[1] = 0, buf[2] = 8, buf[3] = (uint8_t)rank;
    be32(buf + 4, n);
    size_t off = 8, per = 1;
    if (rank == 3) {
        be32(buf + 8, rows), be32(buf + 12, cols);
        off = 16, per = (size_t)rows * cols;
    }
    for (size_t i = 0; i < n * per; i++) buf[off + i] = (uint8_t)(rank == 1 ? i % 10 : i * 7);
    return off + n * per;
}

static void idx_seeds(void) {
    uint8_t buf[1 + 16 + 3 * 28 * 28];
    size_t n;
    /* fuzz_idx: a mode byte (1: rank 3, 2: as .gz, gzipped by the target,
     * 4: with 2, the bytes are the gzip stream), then the file */
    buf[0] = 1;
    n = idx(buf + 1, 3, 3, 4, 4);
    seed("fuzz_idx", "img3x4x4", buf, n + 1);
    buf[0] = 3;
    n = idx(buf + 1, 3, 3, 28, 28);
    seed("fuzz_idx", "img3x28x28-gz", buf, n + 1);
    {
        uLongf zn = compressBound((uLong)n) + 32;
        uint8_t *z = malloc(zn + 1);
        z_stream s;
        memset(&s, 0, sizeof s);
        if (deflateInit2(&s, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK) exit(1);
        s.next_in = buf + 1;
        s.avail_in = (uInt)n;
        s.next_out = z + 1;
        s.avail_out = (uInt)zn;
        if (deflate(&s, Z_FINISH) != Z_STREAM_END) exit(1);
        z[0] = 7;
        seed("fuzz_idx", "img3x28x28-gzstream", z, 1 + (zn - s.avail_out));
        deflateEnd(&s);
        free(z);
    }
    buf[0] = 0;
    n = idx(buf + 1, 1, 3, 0, 0);
    seed("fuzz_idx", "labels3", buf, n + 1);
    /* fuzz_verify: mnist members are 60000/10000 records: short files, each kind */
    buf[0] = 0;
    n = idx(buf + 1, 3, 2, 28, 28);
    seed("fuzz_verify", "images", buf, n + 1);
    buf[0] = 1;
    n = idx(buf + 1, 1, 5, 0, 0);
    seed("fuzz_verify", "labels", buf, n + 1);
}

/* ---- CIFAR --------------------------------------------------------------------------------- */
static uint8_t *cifar_records(int n, size_t *len) {
    *len = (size_t)n * 3073;
    uint8_t *p = malloc(*len);
    for (int r = 0; r < n; r++) {
        p[(size_t)r * 3073] = (uint8_t)(r % 10);
        for (int i = 1; i < 3073; i++) p[(size_t)r * 3073 + (size_t)i] = (uint8_t)(i * 13 + r);
    }
    return p;
}

static void cifar_seeds(void) {
    for (int k = 1; k <= 4; k++) {
        size_t len;
        uint8_t *rec = cifar_records(k, &len);
        uint8_t *buf = malloc(len + 1);
        buf[0] = (uint8_t)(k - 1); /* records per file = (byte % 4) + 1 */
        memcpy(buf + 1, rec, len);
        char name[32];
        snprintf(name, sizeof name, "batch-%d", k);
        seed("fuzz_cifar", name, buf, len + 1);
        free(buf);
        free(rec);
    }
}

/* ---- tar ------------------------------------------------------------------------------------ */
typedef struct tbuf {
    uint8_t *p;
    size_t n;
} tbuf;

static void tput(tbuf *t, const void *d, size_t n) {
    t->p = realloc(t->p, t->n + n);
    memcpy(t->p + t->n, d, n);
    t->n += n;
}

static void tar_entry(tbuf *t, const char *name, const void *data, size_t n, char type, int gnu) {
    uint8_t h[512] = {0};
    snprintf((char *)h, 100, "%s", name);
    memcpy(h + 100, "0000644", 8);
    memcpy(h + 108, "0000000", 8);
    memcpy(h + 116, "0000000", 8);
    snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)n);
    memcpy(h + 136, "00000000000", 12);
    h[156] = (uint8_t)type;
    if (gnu)
        memcpy(h + 257, "ustar  ", 8);
    else
        memcpy(h + 257,
               "ustar\0"
               "00",
               8);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < 512; i++) sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", sum);
    h[155] = ' ';
    tput(t, h, 512);
    if (n) tput(t, data, n);
    static const uint8_t zero[512];
    if (n % 512) tput(t, zero, 512 - n % 512);
}

static void tar_end(tbuf *t) {
    static const uint8_t zero[1024];
    tput(t, zero, 1024);
}

static void tar_seeds(void) {
    size_t len;
    uint8_t *rec = cifar_records(2, &len);
    const char meta[] = "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n";
    tbuf t = {0};
    tar_entry(&t, "cifar-10-batches-bin/", NULL, 0, '5', 0);
    tar_entry(&t, "cifar-10-batches-bin/batches.meta.txt", meta, sizeof meta - 1, '0', 0);
    tar_entry(&t, "cifar-10-batches-bin/test_batch.bin", rec, len, '0', 0);
    tar_end(&t);
    seed("fuzz_tar", "ustar", t.p, t.n);
    free(t.p);
    /* GNU long name, pax path, a link and a file outside the prefix */
    t = (tbuf){0};
    const char *longname = "cifar-10-batches-bin/test_batch.bin";
    tar_entry(&t, "././@LongLink", longname, strlen(longname) + 1, 'L', 1);
    tar_entry(&t, "short", rec, len, '0', 1);
    char pax[128];
    int k = snprintf(pax, sizeof pax, "%d path=cifar-10-batches-bin/readme.html\n", 0);
    k = snprintf(pax, sizeof pax, "%d path=cifar-10-batches-bin/readme.html\n", k + 2);
    tar_entry(&t, "PaxHeaders/readme", pax, (size_t)k, 'x', 0);
    tar_entry(&t, "x", "<p>hi</p>\n", 10, '0', 0);
    tar_entry(&t, "cifar-10-batches-bin/link", NULL, 0, '2', 0);
    tar_entry(&t, "other/file.bin", "abc", 3, '0', 0);
    tar_end(&t);
    seed("fuzz_tar", "gnu-pax", t.p, t.n);
    free(t.p);
    free(rec);
}

/* ---- model files ---------------------------------------------------------------------------- */
static void model_seed_state(const char *name, nl_model *m, nl_optim_kind okind,
                             const nl_train_state *ts) {
    nl_error err = {0};
    if (nl_model_compile(m, 4, &err)) {
        fprintf(stderr, "make_seeds: %s: %s\n", name, err.msg);
        exit(1);
    }
    nl_model_init(m, 1);
    nl_optimizer opt = {0};
    nl_optim_config cfg = nl_optim_defaults(okind);
    char p[1024];
    snprintf(p, sizeof p, "%s/%s.tmp", g_dir, name);
    if ((int)okind >= 0 && nl_optim_init(&opt, &cfg, nl_model_param_slab_size(m), &err)) exit(1);
    if (nl_model_save_checkpoint(p, m, "fuzz", (int)okind >= 0 ? &opt : NULL, ts, &err)) {
        fprintf(stderr, "make_seeds: %s\n", err.msg);
        exit(1);
    }
    size_t n;
    uint8_t *data = slurp(p, &n);
    unlink(p);
    seed("fuzz_model", name, data, n);
    free(data);
    nl_optim_free(&opt);
    nl_model_free(m);
}

static void model_seed(const char *name, nl_model *m, nl_optim_kind okind) {
    model_seed_state(name, m, okind, NULL);
}

/* Little-endian writers of the hand-made version 1 file. */
typedef struct lebuf {
    uint8_t p[1024];
    size_t n;
} lebuf;
static void le32(lebuf *b, uint32_t v) {
    b->p[b->n] = (uint8_t)v, b->p[b->n + 1] = (uint8_t)(v >> 8);
    b->p[b->n + 2] = (uint8_t)(v >> 16), b->p[b->n + 3] = (uint8_t)(v >> 24);
    b->n += 4;
}
static void lef(lebuf *b, float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    le32(b, u);
}

/* A version 1 file (the layout before the loss, alpha and the training
 * state), byte for byte: input 2x2x1 -> flatten -> dense 3 softmax with Adam
 * state. */
static void model_seed_v1(void) {
    lebuf b = {.n = 8};
    memcpy(b.p, "NNLABMDL", 8);
    const uint32_t head[] = {1, 0, 2, 2, 1, 2}; /* version, header size, h, w, c, layers */
    for (int i = 0; i < 6; i++) le32(&b, head[i]);
    const uint32_t rec[2][6] = {{NL_LAYER_FLATTEN, 0, 0, 0, 0, 0},
                                {NL_LAYER_DENSE, 3, NL_ACT_SOFTMAX, 0, 0, 0}};
    for (int l = 0; l < 2; l++) {
        for (int k = 0; k < 6; k++) le32(&b, rec[l][k]);
        for (int k = 0; k < 3; k++) lef(&b, 0.0f); /* rate, eps, momentum */
    }
    le32(&b, 4);
    memcpy(b.p + b.n, "fuzz", 4);
    b.n += 4;
    le32(&b, 15), le32(&b, 0), le32(&b, 0), le32(&b, 0); /* P, S (u64) */
    le32(&b, NL_OPT_ADAM + 1);
    const float oc[6] = {1e-3f, 0.9f, 0.999f, 1e-7f, 0.0f, 0.0f};
    for (int i = 0; i < 6; i++) lef(&b, oc[i]);
    le32(&b, 3), le32(&b, 0), le32(&b, 2); /* step 3 (u64), 2 moments */
    const size_t header = b.n - 16;
    b.n = 12;
    le32(&b, (uint32_t)header);
    b.n = header + 16;
    for (int i = 0; i < 45; i++) lef(&b, 0.01f * (float)(i % 9 - 4));
    le32(&b, (uint32_t)crc32(crc32(0L, Z_NULL, 0), b.p, (uInt)b.n));
    seed("fuzz_model", "v1-dense-adam", b.p, b.n);
}

static void model_seeds(void) {
    model_seed_v1();
    nl_model *m = nl_model_new(4, 4, 1);
    nl_model_flatten(m);
    nl_model_dense(m, 3, NL_ACT_SOFTMAX);
    model_seed("dense", m, (nl_optim_kind)-1);
    m = nl_model_new(4, 4, 1);
    nl_model_flatten(m);
    nl_model_dense(m, 5, NL_ACT_RELU);
    nl_model_dropout(m, 0.25f);
    nl_model_dense(m, 3, NL_ACT_SOFTMAX);
    model_seed("mlp-adam", m, NL_OPT_ADAM);
    m = nl_model_new(6, 6, 2);
    nl_model_conv2d(m, 3, 3, 1, NL_PAD_SAME, NL_ACT_NONE);
    nl_model_batchnorm(m, 1e-5f, 0.9f);
    nl_model_relu(m);
    nl_model_maxpool2d(m, 2, 2);
    nl_model_flatten(m);
    nl_model_dense(m, 2, NL_ACT_SOFTMAX);
    model_seed("conv-bn-pool-sgd", m, NL_OPT_SGD);
    m = nl_model_new(8, 8, 3); /* batch norm + pool right after a conv: the fused path */
    nl_model_conv2d(m, 4, 3, 1, NL_PAD_SAME, NL_ACT_NONE);
    nl_model_batchnorm(m, 1e-3f, 0.99f);
    nl_model_maxpool2d(m, 2, 2);
    nl_model_flatten(m);
    nl_model_dense(m, 10, NL_ACT_SOFTMAX);
    model_seed("conv-bn-pool-fused-adam", m, NL_OPT_ADAM);
    m = nl_model_new(5, 5, 1);
    nl_model_conv2d(m, 2, 3, 2, NL_PAD_VALID, NL_ACT_RELU);
    nl_model_flatten(m);
    nl_model_dense(m, 2, NL_ACT_SOFTMAX);
    model_seed("conv-stride-adamw", m, NL_OPT_ADAMW);
    /* version 2: an mse model with a checkpoint's training state */
    m = nl_model_new(1, 1, 4);
    nl_model_dense(m, 6, NL_ACT_RELU);
    nl_model_dense(m, 2, NL_ACT_NONE);
    nl_model_set_loss(m, NL_LOSS_MSE);
    const nl_train_state ts = {.epoch = 1,
                               .epochs = 3,
                               .batch = 8,
                               .shuffle = 1,
                               .seed = 5,
                               .samples = 40,
                               .rng = {1, 2, 3, 4},
                               .schedule = {NL_SCHED_COSINE, 4, 0, 0.0f}};
    model_seed_state("mse-checkpoint-sgd", m, NL_OPT_SGD, &ts);
}

/* ---- text formats --------------------------------------------------------------------------- */
static void text(const char *target, const char *name, const char *s) {
    seed(target, name, s, strlen(s));
}

static void text_seeds(void) {
    text("fuzz_catalog", "idx",
         "# a catalog\n[t-idx]\ntitle = tiny\nkind = idx\nclasses = 3\n"
         "mirror = http://127.0.0.1:1/a/\n"
         "download = t-idx/img-idx3-ubyte.gz size=10 md5=0123456789abcdef0123456789abcdef\n"
         "download = t-idx/lab-idx1-ubyte.gz sha256="
         "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"
         "member = img-idx3-ubyte record_size=4 records=3 sha256="
         "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"
         "member = lab-idx1-ubyte record_size=1\n");
    text("fuzz_catalog", "cifar",
         "[t-c]   # an archive\nkind = cifar10\nsubdir = t-c-bin\nmirror = http://127.0.0.1:1/\n"
         "download = t-c.tar.gz md5=0123456789abcdef0123456789abcdef\n"
         "member = data.bin record_size=3073 records=2\nmember = names.txt records=10\n"
         "[t-c100]\nkind = cifar100\nsubdir = c100\n"
         "download = c100.tar.gz sha256="
         "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff size=99\n"
         "member = train.bin record_size=3074 records=1\n");
    const char *builtin = nl_bench_builtin_contestants();
    text("fuzz_contestants", "builtin", builtin);
    text("fuzz_contestants", "groups",
         "mine  C  {nnlab} train {workload} --data {data} [--epochs {epochs}] [--seed {seed}] "
         "\\\n   [--events {events}] 'quoted arg' \"dq {threads}\"\n# comment\n"
         "other python python3 {root}/peers/x.py [--limit {limit}] [--batch {batch}] {out}\n");
    /* event lines as nnlab writes them, and a result line */
    char p[1024];
    snprintf(p, sizeof p, "%s/events.tmp", g_dir);
    nl_events ev;
    nl_error err = {0};
    if (nl_events_open(&ev, p, &err)) exit(1);
    nl_event(&ev, "INTERVAL_START", "init_start", NULL, "{\"workload\": \"mnist\"}");
    nl_event(&ev, "INTERVAL_END", "init_stop", NULL, NULL);
    nl_event(&ev, "INTERVAL_START", "run_start", NULL, NULL);
    nl_event(&ev, "POINT_IN_TIME", "data_loaded", NULL, "{\"train_samples\": 60000}");
    for (int e = 1; e <= 2; e++) {
        char md[64];
        snprintf(md, sizeof md, "{\"epoch_num\": %d}", e);
        nl_event(&ev, "INTERVAL_START", "epoch_start", NULL, md);
        nl_event(&ev, "INTERVAL_END", "epoch_stop", NULL, md);
        nl_event(&ev, "POINT_IN_TIME", "eval_accuracy", "0.97", md);
    }
    nl_event(&ev, "INTERVAL_END", "run_stop", NULL, "{\"status\": \"success\"}");
    nl_events_close(&ev);
    size_t n;
    uint8_t *evs = slurp(p, &n);
    unlink(p);
    seed("fuzz_mllog", "nnlab", evs, n);
    text("fuzz_mllog", "bare",
         "{\"time_ms\": 5, \"event_type\": \"INTERVAL_START\", \"key\": \"run_start\"}\nnoise\n"
         "{\"time_ms\": 9, \"key\": \"run_stop\", \"metadata\": {\"status\": \"aborted\"}}\n");
    const char *res = "{\"framework\": \"nnlab\", \"framework_version\": \"0.1\", \"workload\": "
                      "\"mnist\", \"samples_per_second\": 1234.5, \"final_loss\": 0.1, "
                      "\"test_accuracy\": [0.9, 0.95], \"peak_rss_mib\": 99.5}\n";
    uint8_t *both = malloc(n + strlen(res) + 1);
    memcpy(both, evs, n);
    memcpy(both + n, res, strlen(res));
    seed("fuzz_result_json", "events-then-result", both, n + strlen(res));
    text("fuzz_result_json", "single", "progress...\n  {\"test_accuracy\": 0.5}\n");
    free(both);
    free(evs);
}

/* ---- tables: CSV and NPZ ------------------------------------------------------------------ */
static void mode_text(const char *target, const char *name, uint8_t mode, const char *s) {
    size_t n = strlen(s);
    uint8_t *b = malloc(n + 1);
    b[0] = mode;
    memcpy(b + 1, s, n);
    seed(target, name, b, n + 1);
    free(b);
}

/* A .npy array (version 1) of the given descr and shape, data bytes after it. */
static size_t npy_bytes(uint8_t *out, const char *descr, const char *shape, const void *data,
                        size_t n) {
    char head[256];
    int h = snprintf(head, sizeof head, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                     descr, shape);
    while ((10 + h + 1) % 64) head[h++] = ' ';
    head[h++] = '\n';
    memcpy(out, "\x93NUMPY\x01\x00", 8);
    out[8] = (uint8_t)h, out[9] = (uint8_t)(h >> 8);
    memcpy(out + 10, head, (size_t)h);
    memcpy(out + 10 + h, data, n);
    return 10 + (size_t)h + n;
}

static void table_seeds(void) {
    /* fuzz_csv: mode byte (0 classes, 1 values, 2 inputs; 4: shape 2x2x1; 8: 3 classes;
     * 16: label column "y"; 32: through a file), then the text */
    mode_text("fuzz_csv", "classes", 0, "a,b,label\n1,2,0\n3.5,-4,2\n");
    mode_text("fuzz_csv", "crlf-shape", 4 | 32,
              "\xEF\xBB\xBFp0, p1 ,p2,p3,label\r\n"
              "0,0.5,1,1e-3,1\r\n1,1,1,1,0\r\n\r\n");
    mode_text("fuzz_csv", "values-y", 1 | 16, "y,f\n0.25,1\n-3,2\n");
    mode_text("fuzz_csv", "inputs", 2, "f,label,g\n1,cat,2\n");
    mode_text("fuzz_csv", "three-classes", 8, "label,x\n0,1\n2,2\n");

    /* fuzz_npz, mode 0/2: L (2 bytes), x.npy, y.npy (zipped by the target) */
    float x[8] = {0, 0.5f, 1, 2, 3, 4, 5, 6};
    int64_t y[2] = {1, 0};
    uint8_t b[1024], xb[512], yb[256];
    size_t xn = npy_bytes(xb, "<f4", "(2, 4)", x, sizeof x);
    size_t yn = npy_bytes(yb, "<i8", "(2,)", y, sizeof y);
    for (int m = 0; m < 2; m++) {
        b[0] = (uint8_t)(m ? 2 | 16 : 0);
        b[1] = (uint8_t)xn, b[2] = (uint8_t)(xn >> 8);
        memcpy(b + 3, xb, xn);
        memcpy(b + 3 + xn, yb, yn);
        seed("fuzz_npz", m ? "members-deflated-shape" : "members", b, 3 + xn + yn);
    }
    uint8_t img[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    float yv[4] = {0.5f, 1, -1, 2};
    xn = npy_bytes(xb, "|u1", "(2, 2, 2, 1)", img, sizeof img);
    yn = npy_bytes(yb, "<f4", "(2, 2)", yv, sizeof yv);
    b[0] = 4; /* values */
    b[1] = (uint8_t)xn, b[2] = (uint8_t)(xn >> 8);
    memcpy(b + 3, xb, xn);
    memcpy(b + 3 + xn, yb, yn);
    seed("fuzz_npz", "members-rank4-values", b, 3 + xn + yn);
    /* mode 1: a whole archive, as libzip writes it */
    char p[1024];
    snprintf(p, sizeof p, "%s/npz.tmp", g_dir);
    int ze = 0;
    zip_t *z = zip_open(p, ZIP_CREATE | ZIP_TRUNCATE, &ze);
    if (!z) exit(1);
    xn = npy_bytes(xb, "<f4", "(2, 4)", x, sizeof x);
    yn = npy_bytes(yb, "<i8", "(2,)", y, sizeof y);
    zip_int64_t k = zip_file_add(z, "x.npy", zip_source_buffer(z, xb, xn, 0), 0);
    zip_set_file_compression(z, (zip_uint64_t)k, ZIP_CM_DEFLATE, 0);
    zip_file_add(z, "y.npy", zip_source_buffer(z, yb, yn, 0), 0);
    if (zip_close(z) != 0) exit(1);
    size_t n;
    uint8_t *a = slurp(p, &n);
    unlink(p);
    uint8_t *w = malloc(n + 1);
    w[0] = 1;
    memcpy(w + 1, a, n);
    seed("fuzz_npz", "archive", w, n + 1);
    free(w);
    free(a);
}

/* ---- model files (.nnm): the shipped ones and one with every directive ---- */
static void nnm_seeds(void) {
    for (const nl_shipped_model *s = nl_shipped_models(); s->name; s++)
        seed("fuzz_nnm", s->name, s->text, s->len);
    text("fuzz_nnm", "every-directive",
         "# every directive\ndataset d\ninput 8 8 2\nconv2d 4 3 relu stride=1 padding=same\n"
         "batchnorm eps=0.001 momentum=0.2\nmaxpool2d 2 stride=2\navgpool2d 2\n"
         "conv2d 4 1 leakyrelu alpha=0.2\ntanh\nsigmoid\ngelu\nleakyrelu alpha=0.1\nrelu\n"
         "globalavgpool2d\nflatten\ndense 6 tanh\nbatchnorm\ndropout 0.25\ndense 3\nsoftmax\n"
         "loss crossentropy\noptimizer adamw lr=0.002 beta1=0.8 beta2=0.99 eps=1e-8 "
         "weight_decay=0.05\nschedule step warmup=10 step_size=2 gamma=0.5\nbatch 16\nepochs 5\n"
         "seed 42\n");
    text("fuzz_nnm", "mse",
         "input 3\ndense 4 relu\ndense 2 linear\nloss mse\n"
         "optimizer sgd lr=0.05 momentum=0.9\nschedule cosine warmup=5\n");
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: make_seeds DIR\n");
        return 2;
    }
    g_dir = argv[1];
    if (mkdir(g_dir, 0755) != 0 && errno != EEXIST) {
        perror(g_dir);
        return 1;
    }
    nl_set_threads(1);
    idx_seeds();
    cifar_seeds();
    tar_seeds();
    model_seeds();
    text_seeds();
    table_seeds();
    nnm_seeds();
    return 0;
}
