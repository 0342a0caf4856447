/* Model files, format version 2: the loss, the leakyrelu slope and the
 * training state of a checkpoint round-trip; version 1 files (written here by
 * hand, byte for byte as the old layout) still load; hostile version 2 fields
 * are errors naming the field and its offset. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "check.h"
#include "nnlab/core.h"
#include "nnlab/model.h"
#include "nnlab/train.h"
#include "testutil.h"

static uint8_t *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long k = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc((size_t)k);
    *n = fread(p, 1, (size_t)k, f);
    fclose(f);
    return p;
}

static void put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16),
    p[3] = (uint8_t)(v >> 24);
}

static void fix_crc(uint8_t *p, size_t n) {
    put32(p + n - 4, (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)(n - 4)));
}

/* input 1x1x4 -> dense 8 relu (alpha 0.2 stored) -> dense 2 linear, mse */
static nl_model *reg_model(void) {
    nl_model *m = nl_model_new(1, 1, 4);
    nl_layer_spec d = {.kind = NL_LAYER_DENSE, .units = 8, .act = NL_ACT_RELU, .alpha = 0.2f};
    nl_model_add(m, &d);
    nl_model_dense(m, 2, NL_ACT_NONE);
    nl_model_set_loss(m, NL_LOSS_MSE);
    return m;
}

/* Offsets in reg_model's files (workload "reg"): records from 32, 40 bytes each. */
enum {
    L = 2,
    LOSS_OFF = 32 + 40 * L + 4 + 3,
    OPT_OFF = LOSS_OFF + 4 + 16,
    STATE_OFF = OPT_OFF + 40,
    TENSOR_OFF = STATE_OFF + 84,
};

static const nl_train_state STATE = {.epoch = 2,
                                     .epochs = 5,
                                     .batch = 16,
                                     .shuffle = 1,
                                     .seed = 0x123456789abcULL,
                                     .samples = 1000,
                                     .rng = {1, 2, 0xffffffffffffffffULL, 4},
                                     .schedule = {NL_SCHED_COSINE, 30, 0, 0.0f}};

static void test_round_trip(void) {
    nl_error err = {0};
    nl_model *m = reg_model();
    CHECK_MSG(nl_model_compile(m, 4, &err) == NL_OK, "%s", err.msg);
    nl_model_init(m, 7);
    nl_optim_config oc = nl_optim_defaults(NL_OPT_SGD);
    oc.momentum = 0.9f, oc.lr = 0.05f;
    nl_optimizer o;
    CHECK(nl_optim_init(&o, &oc, nl_model_param_slab_size(m), &err) == NL_OK);
    float *g = nl_model_grads(m); /* the layers' parameters only (not the slab's padding) */
    memset(g, 0, nl_model_param_slab_size(m) * sizeof *g);
    for (int l = 0; l < nl_model_num_layers(m); l++)
        for (size_t i = 0; i < nl_model_layer_params(m, l); i++)
            g[nl_model_layer_param_offset(m, l) + i] = 0.01f * (float)(i % 5);
    nl_optim_step(&o, nl_model_params(m), g);
    const char *path = tu_path("ck.nnlab");
    CHECK(nl_model_save_checkpoint(path, m, "reg", &o, &STATE, &err) == NL_OK);
    size_t n = 0;
    uint8_t *b = slurp(path, &n);
    CHECK(b && n == TENSOR_OFF + (58 + 58) * 4 + 4 && b[8] == 2 && b[LOSS_OFF] == 1);

    nl_model *m2 = NULL;
    nl_optimizer o2;
    nl_train_state st;
    int has = 0;
    char name[64];
    CHECK_MSG(nl_model_load_checkpoint(path, 4, &m2, &o2, name, sizeof name, &st, &has, &err) ==
                  NL_OK,
              "%s", err.msg);
    if (m2) {
        CHECK(has == 1 && !memcmp(&st, &STATE, sizeof st) && !strcmp(name, "reg"));
        CHECK(nl_model_loss_kind(m2) == NL_LOSS_MSE);
        CHECK(nl_model_layer_spec(m2, 0)->alpha == 0.2f && nl_model_layer_spec(m2, 1)->alpha == 0);
        CHECK(!memcmp(nl_model_params(m2), nl_model_params(m), nl_model_param_slab_size(m) * 4));
        CHECK(o2.cfg.kind == NL_OPT_SGD && o2.cfg.momentum == 0.9f && o2.t == 1);
        CHECK(!memcmp(o2.m, o.m, o.n * 4));
        nl_optim_free(&o2);
        nl_model_free(m2);
    }
    /* the plain save: no training state, read as such */
    CHECK(nl_model_save(path, m, "reg", NULL, &err) == NL_OK);
    has = 1;
    CHECK(nl_model_load_checkpoint(path, 4, &m2, &o2, NULL, 0, &st, &has, &err) == NL_OK);
    CHECK(has == 0 && o2.n == 0 && m2 && nl_model_loss_kind(m2) == NL_LOSS_MSE);
    nl_model_free(m2);
    /* a state that cannot be is not saved */
    nl_train_state bad = STATE;
    bad.epoch = 6;
    CHECK(nl_model_save_checkpoint(path, m, "reg", &o, &bad, &err) == NL_EINVAL);
    CHECK_CONTAINS(err.msg, "6 of 5 epochs");

    /* hostile version 2 fields, the CRC made right so the parser sees them */
    struct {
        size_t off;
        uint32_t value;
        nl_status want;
        const char *frag;
    } cases[] = {
        {8, 3, NL_ENOTSUP, "format version 3 at offset 8, this nnlab reads versions 1 to 2"},
        {LOSS_OFF, 7, NL_EFORMAT, "loss 7 at offset"},
        {STATE_OFF, 2, NL_EFORMAT, "training state flag 2 at offset"},
        {STATE_OFF + 4, 9, NL_EFORMAT, "9 of 5 epochs done"},
        {STATE_OFF + 12, 0, NL_EFORMAT, "batch 0"},
        {STATE_OFF + 16, 5, NL_EFORMAT, "shuffle 5"},
        {STATE_OFF + 68, 9, NL_EFORMAT, "schedule kind 9"},
        {STATE_OFF + 72, 0x80000000u, NL_EFORMAT, "warmup -2147483648"},
        {STATE_OFF + 80, 0x7fc00000u, NL_EFORMAT, "gamma nan"},
        {32 + 36, 0x7f800000u, NL_EFORMAT, "layer 0 at offset 32"}, /* alpha inf */
    };
    char msg[64];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t *c = malloc(n);
        memcpy(c, b, n);
        put32(c + cases[i].off, cases[i].value);
        fix_crc(c, n);
        snprintf(msg, sizeof msg, "hostile%zu.nnlab", i);
        tu_write(msg, c, n);
        m2 = NULL;
        err.msg[0] = '\0';
        nl_status s = nl_model_load_checkpoint(tu_path(msg), 4, &m2, &o2, NULL, 0, &st, &has, &err);
        CHECK_MSG(s == cases[i].want, "case %zu: status %d", i, (int)s);
        CHECK_CONTAINS(err.msg, cases[i].frag);
        CHECK_CONTAINS(err.msg, msg);
        CHECK(m2 == NULL);
        free(c);
    }
    /* cut inside the training state block */
    uint8_t *c = malloc(STATE_OFF + 30 + 4);
    memcpy(c, b, STATE_OFF + 30);
    fix_crc(c, STATE_OFF + 30 + 4);
    tu_write("cut.nnlab", c, STATE_OFF + 30 + 4);
    CHECK(nl_model_load(tu_path("cut.nnlab"), 4, &m2, NULL, NULL, 0, &err) == NL_EFORMAT);
    CHECK_CONTAINS(err.msg, "reading training state");
    free(c);
    free(b);
    nl_optim_free(&o);
    nl_model_free(m);
}

/* ---- a version 1 file, written by hand ---------------------------------------- */
typedef struct wbuf {
    uint8_t p[4096];
    size_t n;
} wbuf;
static void w32(wbuf *b, uint32_t v) {
    put32(b->p + b->n, v);
    b->n += 4;
}
static void wf(wbuf *b, float f) {
    uint32_t v;
    memcpy(&v, &f, 4);
    w32(b, v);
}

static void test_version1(void) {
    /* input 2x2x1 -> flatten -> dense 3 softmax, Adam at step 5 with both moments */
    wbuf b = {.n = 0};
    memcpy(b.p, "NNLABMDL", 8);
    b.n = 8;
    w32(&b, 1);
    w32(&b, 0); /* header size, patched */
    w32(&b, 2), w32(&b, 2), w32(&b, 1);
    w32(&b, 2);
    const int32_t rec[2][6] = {{NL_LAYER_FLATTEN, 0, 0, 0, 0, 0},
                               {NL_LAYER_DENSE, 3, NL_ACT_SOFTMAX, 0, 0, 0}};
    for (int l = 0; l < 2; l++) {
        for (int k = 0; k < 6; k++) w32(&b, (uint32_t)rec[l][k]);
        wf(&b, 0), wf(&b, 0), wf(&b, 0); /* rate, eps, momentum: no alpha in version 1 */
    }
    w32(&b, 3);
    memcpy(b.p + b.n, "old", 3);
    b.n += 3;
    w32(&b, 15), w32(&b, 0); /* P = 15 (u64) */
    w32(&b, 0), w32(&b, 0);  /* S = 0 */
    w32(&b, NL_OPT_ADAM + 1);
    wf(&b, 1e-3f), wf(&b, 0.9f), wf(&b, 0.999f), wf(&b, 1e-7f), wf(&b, 0), wf(&b, 0);
    w32(&b, 5), w32(&b, 0); /* step 5 */
    w32(&b, 2);             /* moments */
    put32(b.p + 12, (uint32_t)(b.n - 16));
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < 15; i++) wf(&b, (float)(k + 1) * 0.01f * (float)(i - 7));
    b.n += 4;
    fix_crc(b.p, b.n);
    tu_write("v1.nnlab", b.p, b.n);

    nl_error err = {0};
    nl_model *m = NULL;
    nl_optimizer o;
    nl_train_state st;
    int has = 1;
    char name[64];
    CHECK_MSG(nl_model_load_checkpoint(tu_path("v1.nnlab"), 4, &m, &o, name, sizeof name, &st, &has,
                                       &err) == NL_OK,
              "%s", err.msg);
    if (!m) return;
    CHECK(has == 0 && !strcmp(name, "old"));
    CHECK(nl_model_loss_kind(m) == NL_LOSS_CROSSENTROPY);
    CHECK(nl_model_num_layers(m) == 2 && nl_model_layer_spec(m, 1)->units == 3);
    CHECK(nl_model_layer_spec(m, 1)->alpha == 0.0f);
    CHECK(nl_model_num_params(m) == 15 && o.t == 5 && o.cfg.kind == NL_OPT_ADAM);
    const float *p = nl_model_params(m) + nl_model_layer_param_offset(m, 1);
    const float *mv = o.m + nl_model_layer_param_offset(m, 1);
    const float *vv = o.v + nl_model_layer_param_offset(m, 1);
    int same = 1;
    for (int i = 0; i < 15; i++)
        same &= p[i] == 0.01f * (float)(i - 7) && mv[i] == 2 * 0.01f * (float)(i - 7) &&
                vv[i] == 3 * 0.01f * (float)(i - 7);
    CHECK(same);
    /* saved again it is a version 2 file with the same parameters */
    CHECK(nl_model_save(tu_path("v2.nnlab"), m, name, &o, &err) == NL_OK);
    nl_model *m2 = NULL;
    CHECK(nl_model_load(tu_path("v2.nnlab"), 4, &m2, NULL, NULL, 0, &err) == NL_OK);
    CHECK(m2 && !memcmp(nl_model_params(m2), nl_model_params(m), nl_model_param_slab_size(m) * 4));
    size_t n = 0;
    uint8_t *v2 = slurp(tu_path("v2.nnlab"), &n);
    CHECK(v2 && v2[8] == 2);
    free(v2);
    nl_model_free(m2);
    nl_optim_free(&o);
    nl_model_free(m);
}

int main(void) {
    tu_tmpdir();
    nl_set_threads(1);
    test_round_trip();
    test_version1();
    tu_cleanup();
    CHECK_DONE();
}
