/* Finite-difference gradient checks for the core layers and the loss. */
#include <stdlib.h>

#include "check.h"
#include "gradcheck.h"
#include "nnlab/core.h"
#include "layers/softmax_xent.h"

static void check_layer(const char *name, nl_layer_spec spec, nl_shape in, int batch) {
    gc_result r = gradcheck_layer(&spec, in, batch, 200, 1.0f, 42);
    CHECK_MSG(GC_PASSED(r), "%s: max rel err input %.3g (%d/%d bad), params %.3g (%d/%d bad)", name,
              r.max_err_in, r.bad_in, r.checked_in, r.max_err_param, r.bad_param, r.checked_param);
    CHECK_MSG(r.checked_in > 0, "%s: no input probes", name);
}

/* Both paths of dense against naive loops in double: forward output, weight
 * gradient, input gradient. density < 0.3 takes the sparse-input path; with
 * threads > 1 and B*I*O >= 256K the dense path splits the inputs among threads
 * (partial sums added afterwards). With O a multiple of 16 (of every vector
 * width) the dense path runs on the register-tile kernels, else on BLAS. */
/* Largest |sum_k a[m*am + k*ak] * b[k*bk + n*bn] - got[m*ld + n]| over the M x N
 * results: a product of strided matrices in double, against the layer's. */
static double max_product_diff(int M, int N, int K, const float *a, int am, int ak, const float *b,
                               int bk, int bn, const float *got, int ld) {
    double worst = 0;
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            double s = 0;
            for (int k = 0; k < K; k++) s += (double)a[m * am + k * ak] * b[k * bk + n * bn];
            worst = fmax(worst, fabs(s - got[m * ld + n]));
        }
    return worst;
}

static void check_dense_path(int B, int I, int O, float density, int threads) {
    nl_set_threads(threads);
    nl_layer l = {0};
    l.spec = (nl_layer_spec){.kind = NL_LAYER_DENSE, .units = O, .act = NL_ACT_RELU};
    l.in = (nl_shape){1, 1, I};
    l.ops = nl_layer_ops_find(NL_LAYER_DENSE);
    CHECK(l.ops->plan(&l, NULL) == NL_OK);
    float *x = calloc((size_t)B * I, 4), *p = calloc(l.nparams, 4), *g = calloc(l.nparams, 4);
    float *out = calloc((size_t)B * O, 4), *dout = calloc((size_t)B * O, 4);
    float *din = calloc((size_t)B * I, 4), *ref = calloc((size_t)B * O, 4);
    float *dz = calloc((size_t)B * O, 4);
    float *scr = calloc(l.ops->scratch_floats(&l, B), 4);
    nl_rng r;
    nl_rng_seed(&r, 5);
    for (int k = 0; k < B * I; k++)
        if (nl_rng_uniform(&r) < density) x[k] = nl_rng_uniform(&r) + 0.01f;
    for (size_t k = 0; k < l.nparams; k++) p[k] = (2 * nl_rng_uniform(&r) - 1) * 0.1f;
    nl_layer_ctx c = {.batch = B,
                      .training = 1,
                      .in = x,
                      .out = out,
                      .params = p,
                      .grads = g,
                      .scratch = scr,
                      .din = din,
                      .dout = dout};
    l.ops->forward(&l, &c);
    const int sparse = density < 0.3f;
    CHECK_MSG(scr[0] == (float)sparse, "B %d I %d O %d density %.2f: %s path expected", B, I, O,
              density, sparse ? "sparse" : "dense");
    /* float sums of I terms: the tolerance grows with I */
    const double tol = 1e-5 * fmax(1.0, I / 500.0);
    double worst = 0;
    for (int b = 0; b < B; b++)
        for (int o = 0; o < O; o++) {
            double s = p[(size_t)I * O + o];
            for (int i = 0; i < I; i++) s += (double)x[b * I + i] * p[i * O + o];
            ref[b * O + o] = (float)(s > 0 ? s : 0);
            worst = fmax(worst, fabs(ref[b * O + o] - out[b * O + o]));
        }
    CHECK_MSG(worst < tol, "%s forward (%d threads) differs from the reference by %g",
              sparse ? "sparse" : "dense", threads, worst);
    for (int k = 0; k < B * O; k++) dout[k] = 2 * nl_rng_uniform(&r) - 1;
    for (int k = 0; k < B * O; k++) dz[k] = ref[k] > 0 ? dout[k] : 0;
    /* stale values, as in the model's reused buffers: backward must overwrite them */
    for (size_t k = 0; k < l.nparams; k++) g[k] = 1e3f;
    for (int k = 0; k < B * I; k++) din[k] = -1e3f;
    l.ops->backward(&l, &c);
    /* dW [I][O] = x^T dz, din [B][I] = dz W^T */
    worst = max_product_diff(I, O, B, x, 1, I, dz, O, 1, g, O);
    CHECK_MSG(worst < 1e-5, "weight gradient (%d threads) differs from the reference by %g",
              threads, worst);
    worst = max_product_diff(B, I, O, dz, O, 1, p, 1, O, din, I);
    CHECK_MSG(worst < 1e-5, "input gradient (%d threads) differs from the reference by %g", threads,
              worst);
    free(x), free(p), free(g), free(out), free(dout), free(din), free(ref), free(dz), free(scr);
}

static void test_dense_paths(void) {
    for (int t = 1; t <= 2; t++) {
        check_dense_path(7, 50, 19, 0.15f, t);   /* sparse, one thread's work */
        check_dense_path(32, 784, 128, 0.2f, t); /* sparse, mnist's shape */
        check_dense_path(32, 400, 40, 1.0f, t);  /* dense, split among threads */
        check_dense_path(3, 20, 5, 1.0f, t);     /* dense, too small to split */
        /* O a multiple of the vector width: the register-tile kernels */
        check_dense_path(32, 2304, 64, 1.0f, t); /* cifar10's shape */
        check_dense_path(45, 250, 48, 1.0f, t);  /* partial vectors of inputs, odd rows */
        check_dense_path(3, 20, 16, 1.0f, t);    /* too small to split */
    }
    check_dense_path(13, 1000, 32, 1.0f, 3); /* three threads, ranges of whole vectors */
    nl_set_threads(2);
}

static void test_loss_gradient(void) {
    /* d(loss)/d(logits) against central differences in double. */
    enum { B = 5, C = 10 };
    float z[B * C], d[B * C];
    uint8_t y[B] = {0, 3, 9, 9, 5};
    nl_rng r;
    nl_rng_seed(&r, 1);
    for (int i = 0; i < B * C; i++) z[i] = 4.0f * (2 * nl_rng_uniform(&r) - 1);
    softmax_xent(z, y, B, C, d, NULL);
    double worst = 0;
    for (int i = 0; i < B * C; i++) {
        float v = z[i];
        const float h = 4e-3f;
        z[i] = v + h;
        double lp = softmax_xent(z, y, B, C, NULL, NULL);
        z[i] = v - h;
        double lm = softmax_xent(z, y, B, C, NULL, NULL);
        z[i] = v;
        double num = (lp - lm) / (2 * h);
        double e = fabs(num - d[i]) / fmax(fmax(fabs(num), fabs(d[i])), 1e-2);
        if (e > worst) worst = e;
    }
    CHECK_MSG(worst < 1e-2, "softmax cross-entropy gradient: worst relative error %.3g", worst);
}

static void test_loss_values(void) {
    /* Uniform logits: loss = log(C), every gradient (1/C - y)/B. */
    float z[2 * 4] = {0}, d[8];
    uint8_t y[2] = {1, 2};
    int correct = -1;
    float l = softmax_xent(z, y, 2, 4, d, &correct);
    CHECK_NEAR(l, log(4.0), 1e-6);
    CHECK_NEAR(d[0], 0.25 / 2, 1e-7);
    CHECK_NEAR(d[1], (0.25 - 1) / 2, 1e-7);
    /* Huge logits: stable, finite. */
    float big[4] = {1000.0f, -1000.0f, 0.0f, 500.0f};
    uint8_t y1[1] = {1};
    float lb = softmax_xent(big, y1, 1, 4, NULL, &correct);
    CHECK_NEAR(lb, 2000.0, 1e-3);
    CHECK(correct == 0);
    uint8_t y0[1] = {0};
    CHECK_NEAR(softmax_xent(big, y0, 1, 4, NULL, &correct), 0.0, 1e-6);
    CHECK(correct == 1);
}

static void test_dropout(void) {
    /* Training: kept elements scaled by 1/(1-rate), about rate dropped; eval: identity. */
    nl_layer l = {0};
    l.spec = (nl_layer_spec){.kind = NL_LAYER_DROPOUT, .rate = 0.5f};
    l.in = (nl_shape){1, 1, 1000};
    l.ops = nl_layer_ops_find(NL_LAYER_DROPOUT);
    CHECK(l.ops && l.ops->plan(&l, NULL) == NL_OK);
    float *x = malloc(4 * 4000), *out = malloc(4 * 4000), *mask = malloc(4 * 4000);
    for (int i = 0; i < 4000; i++) x[i] = 1.0f;
    nl_layer_ctx c = {
        .batch = 4, .training = 1, .in = x, .out = out, .scratch = mask, .seed = 3, .step = 1};
    l.ops->forward(&l, &c);
    int zeros = 0, twos = 0;
    for (int i = 0; i < 4000; i++) zeros += out[i] == 0.0f, twos += out[i] == 2.0f;
    CHECK(zeros + twos == 4000);
    CHECK_MSG(abs(zeros - 2000) < 200, "dropped %d of 4000 at rate 0.5", zeros);
    /* Another step gives another mask; the same step the same mask. */
    float *out2 = malloc(4 * 4000);
    c.out = out2;
    l.ops->forward(&l, &c);
    CHECK(memcmp(out, out2, 4 * 4000) == 0);
    c.step = 2;
    l.ops->forward(&l, &c);
    CHECK(memcmp(out, out2, 4 * 4000) != 0);
    c.training = 0;
    l.ops->forward(&l, &c);
    int same = 1;
    for (int i = 0; i < 4000; i++) same &= out2[i] == 1.0f;
    CHECK_MSG(same, "dropout at evaluation must be the identity");
    l.spec.rate = 1.0f;
    CHECK(l.ops->plan(&l, NULL) != NL_OK);
    free(x), free(out), free(out2), free(mask);
}

int main(void) {
    nl_shape flat = {1, 1, 37};
    check_layer("dense", (nl_layer_spec){.kind = NL_LAYER_DENSE, .units = 13}, flat, 4);
    check_layer("dense+relu",
                (nl_layer_spec){.kind = NL_LAYER_DENSE, .units = 13, .act = NL_ACT_RELU}, flat, 4);
    check_layer("dense on image input", (nl_layer_spec){.kind = NL_LAYER_DENSE, .units = 9},
                (nl_shape){4, 5, 3}, 3);
    check_layer("dense, one sample",
                (nl_layer_spec){.kind = NL_LAYER_DENSE, .units = 7, .act = NL_ACT_RELU}, flat, 1);
    gc_sparsity = 0.85; /* the sparse-input path of dense */
    check_layer("dense+relu, sparse input",
                (nl_layer_spec){.kind = NL_LAYER_DENSE, .units = 13, .act = NL_ACT_RELU}, flat, 4);
    gc_sparsity = 0.0;
    test_dense_paths();
    check_layer("relu", (nl_layer_spec){.kind = NL_LAYER_RELU}, (nl_shape){3, 3, 4}, 5);
    check_layer("dropout", (nl_layer_spec){.kind = NL_LAYER_DROPOUT, .rate = 0.3f}, flat, 6);
    check_layer("flatten", (nl_layer_spec){.kind = NL_LAYER_FLATTEN}, (nl_shape){2, 3, 4}, 3);
    test_loss_gradient();
    test_loss_values();
    test_dropout();
    CHECK_DONE();
}
