/* conv2d: finite-difference gradient checks (valid and same padding, stride 1
 * and 2, with and without the fused ReLU), and exact comparisons with a naive
 * direct convolution on shapes that exercise every tile remainder (filters and
 * channels not multiples of the SIMD width, odd sizes, batches that do not
 * split evenly over threads), for both algorithms (direct implicit GEMM and
 * Winograd F(2x2, 3x3) and F(4x4, 3x3)), plus run-to-run determinism and the
 * algorithms plan chooses. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gradcheck.h"
#include "nnlab/core.h"

static nl_layer_spec conv_spec(int filters, int kernel, int stride, int pad, int act) {
    nl_layer_spec s = {.kind = NL_LAYER_CONV2D,
                       .units = filters,
                       .kernel = kernel,
                       .stride = stride,
                       .padding = pad,
                       .act = act};
    return s;
}

static void gc(const char *what, nl_layer_spec s, nl_shape in, int batch) {
    gc_result r = gradcheck_layer(&s, in, batch, 200, 1.0f, 42);
    CHECK_MSG(GC_PASSED(r), "%s: ok %d, input %d/%d bad (max %.3g), params %d/%d bad (max %.3g)",
              what, r.ok, r.bad_in, r.checked_in, r.max_err_in, r.bad_param, r.checked_param,
              r.max_err_param);
}

/* Finite differences through a fused ReLU. A weight feeds every output pixel,
 * so a step of +-h flips some unit across the kink far more often than in a
 * dense layer; such probes measure the kink, not the gradient. This check
 * (same loss as gradcheck.h: L = sum(out * R)) skips a probe when the set of
 * active outputs differs between +h and -h, requires that at least 3/4 of the
 * probes are kept, and that every kept probe agrees. */
static void gc_relu(const char *what, nl_layer_spec s, nl_shape in, int batch) {
    nl_layer l = {0};
    l.spec = s;
    l.opt = gc_options;
    l.in = in;
    l.ops = nl_layer_ops_find(s.kind);
    nl_error err = {0};
    CHECK(l.ops && l.ops->plan(&l, &err) == NL_OK);
    if (!l.ops) return;
    const size_t nin = (size_t)batch * nl_shape_size(in),
                 nout = (size_t)batch * nl_shape_size(l.out);
    float *x = malloc(nin * 4), *din = malloc(nin * 4), *R = malloc(nout * 4);
    float *out = malloc(nout * 4), *dout = malloc(nout * 4), *o2 = malloc(nout * 4);
    float *p = malloc(l.nparams * 4), *g = malloc(l.nparams * 4);
    float *scr = calloc(l.ops->scratch_floats(&l, batch) + 1, 4);
    nl_rng r;
    nl_rng_seed(&r, 77);
    for (size_t i = 0; i < nin; i++) x[i] = 2 * nl_rng_uniform(&r) - 1;
    for (size_t i = 0; i < nout; i++) R[i] = 2 * nl_rng_uniform(&r) - 1;
    l.ops->init(&l, p, NULL, 78);
    for (size_t i = 0; i < l.nparams; i++) p[i] += 0.3f * (2 * nl_rng_uniform(&r) - 1);
    nl_layer_ctx c = {0};
    c.batch = batch, c.training = 1, c.in = x, c.out = out, c.params = p, c.grads = g;
    c.scratch = scr;
    l.ops->forward(&l, &c);
    memcpy(dout, R, nout * 4);
    c.dout = dout, c.din = din;
    l.ops->backward(&l, &c);
    const float h = 1e-2f;
    int kept = 0, probes = 0, bad = 0;
    double worst = 0;
    c.out = o2;
    for (int which = 0; which < 2; which++) {
        float *v = which ? p : x, *an = which ? g : din;
        const size_t n = which ? l.nparams : nin, step = n / 150 + 1;
        for (size_t i = 0; i < n; i += step) {
            const float v0 = v[i];
            double L[2];
            unsigned char *act[2];
            for (int sgn = 0; sgn < 2; sgn++) {
                v[i] = v0 + (sgn ? -h : h);
                l.ops->forward(&l, &c);
                L[sgn] = 0;
                act[sgn] = malloc(nout);
                for (size_t k = 0; k < nout; k++) {
                    L[sgn] += (double)o2[k] * R[k];
                    act[sgn][k] = o2[k] > 0.0f;
                }
            }
            v[i] = v0;
            probes++;
            if (!memcmp(act[0], act[1], nout)) {
                kept++;
                const double num = (L[0] - L[1]) / (2.0 * h), a = an[i];
                const double e = fabs(a - num) / fmax(fmax(fabs(a), fabs(num)), 1e-2);
                worst = fmax(worst, e);
                bad += e > 1e-2;
            }
            free(act[0]), free(act[1]);
        }
    }
    CHECK_MSG(kept * 4 >= probes * 3 && bad == 0,
              "%s: %d of %d probes kept (no kink crossed), %d disagree, max rel err %.3g", what,
              kept, probes, bad, worst);
    free(x), free(din), free(R), free(out), free(dout), free(o2), free(p), free(g), free(scr);
}

/* Naive reference: TF/Keras padding, weights [KH][KW][C][F], double sums. */
typedef struct ref_geom {
    int B, H, W, C, K, S, F, OH, OW, pt, pl;
} ref_geom;

static ref_geom ref_geom_of(nl_layer_spec s, nl_shape in, int B) {
    ref_geom g = {B, in.h, in.w, in.c, s.kernel, s.stride, s.units, 0, 0, 0, 0};
    if (s.padding == NL_PAD_SAME) {
        g.OH = (g.H + g.S - 1) / g.S, g.OW = (g.W + g.S - 1) / g.S;
        int ph = (g.OH - 1) * g.S + g.K - g.H, pw = (g.OW - 1) * g.S + g.K - g.W;
        g.pt = ph > 0 ? ph / 2 : 0, g.pl = pw > 0 ? pw / 2 : 0;
    } else {
        g.OH = (g.H - g.K) / g.S + 1, g.OW = (g.W - g.K) / g.S + 1;
    }
    return g;
}

static int in_at(const ref_geom *g, int oh, int ow, int kh, int kw, int *ih, int *iw) {
    *ih = oh * g->S + kh - g->pt, *iw = ow * g->S + kw - g->pl;
    return *ih >= 0 && *ih < g->H && *iw >= 0 && *iw < g->W;
}

static void ref_forward(const ref_geom *g, const float *x, const float *w, const float *b, int relu,
                        double *y) {
    for (int n = 0; n < g->B; n++)
        for (int oh = 0; oh < g->OH; oh++)
            for (int ow = 0; ow < g->OW; ow++)
                for (int f = 0; f < g->F; f++) {
                    double s = b[f];
                    for (int kh = 0; kh < g->K; kh++)
                        for (int kw = 0; kw < g->K; kw++) {
                            int ih, iw;
                            if (!in_at(g, oh, ow, kh, kw, &ih, &iw)) continue;
                            for (int c = 0; c < g->C; c++)
                                s += (double)x[((n * g->H + ih) * g->W + iw) * g->C + c] *
                                     w[((kh * g->K + kw) * g->C + c) * g->F + f];
                        }
                    if (relu && s < 0) s = 0;
                    y[((n * g->OH + oh) * g->OW + ow) * g->F + f] = s;
                }
}

/* dz given (already masked by relu'); dx, dw, db accumulated in double. */
static void ref_backward(const ref_geom *g, const float *x, const float *w, const float *dz,
                         double *dx, double *dw, double *db) {
    for (int n = 0; n < g->B; n++)
        for (int oh = 0; oh < g->OH; oh++)
            for (int ow = 0; ow < g->OW; ow++)
                for (int f = 0; f < g->F; f++) {
                    const double d = dz[((n * g->OH + oh) * g->OW + ow) * g->F + f];
                    db[f] += d;
                    for (int kh = 0; kh < g->K; kh++)
                        for (int kw = 0; kw < g->K; kw++) {
                            int ih, iw;
                            if (!in_at(g, oh, ow, kh, kw, &ih, &iw)) continue;
                            for (int c = 0; c < g->C; c++) {
                                const size_t xi = ((size_t)(n * g->H + ih) * g->W + iw) * g->C + c;
                                const size_t wi = ((size_t)(kh * g->K + kw) * g->C + c) * g->F + f;
                                dw[wi] += (double)x[xi] * d;
                                dx[xi] += (double)w[wi] * d;
                            }
                        }
                }
}

static double rel_close(double a, double b) {
    return fabs(a - b) / (1.0 + fabs(b));
}

/* Runs the layer through its ops table and compares with the reference. */
static void compare_ref(const char *what, nl_layer_spec s, nl_shape in, int B, int with_dx) {
    nl_layer l = {0};
    l.spec = s;
    l.opt = gc_options;
    l.in = in;
    l.ops = nl_layer_ops_find(s.kind);
    nl_error err = {0};
    CHECK(l.ops && l.ops->plan(&l, &err) == NL_OK);
    if (!l.ops) return;
    const ref_geom g = ref_geom_of(s, in, B);
    CHECK(l.out.h == g.OH && l.out.w == g.OW && l.out.c == g.F);
    const size_t nin = (size_t)B * nl_shape_size(in), nout = (size_t)B * nl_shape_size(l.out);
    float *x = malloc(nin * 4), *y = malloc(nout * 4), *dy = malloc(nout * 4);
    float *dz = malloc(nout * 4), *dx = malloc(nin * 4);
    float *p = malloc(l.nparams * 4), *gr = malloc(l.nparams * 4);
    float *scr = calloc(l.ops->scratch_floats(&l, B) + 1, 4);
    double *ry = calloc(nout, 8), *rdx = calloc(nin, 8), *rdw = calloc(l.nparams, 8);
    nl_rng r;
    nl_rng_seed(&r, 7);
    for (size_t i = 0; i < nin; i++) x[i] = 2 * nl_rng_uniform(&r) - 1;
    for (size_t i = 0; i < nout; i++) dy[i] = 2 * nl_rng_uniform(&r) - 1;
    l.ops->init(&l, p, NULL, 3);
    const size_t nw = (size_t)g.K * g.K * g.C * g.F;
    for (int f = 0; f < g.F; f++) p[nw + f] = 0.1f * (float)(f % 5) - 0.2f; /* non-zero bias */
    for (size_t i = 0; i < l.nparams; i++) gr[i] = NAN; /* backward must write every gradient */
    for (size_t i = 0; i < nin; i++) dx[i] = NAN;
    nl_layer_ctx c = {0};
    c.batch = B, c.training = 1, c.in = x, c.out = y, c.params = p, c.grads = gr, c.scratch = scr;
    l.ops->forward(&l, &c);
    const int relu = s.act == NL_ACT_RELU;
    ref_forward(&g, x, p, p + nw, relu, ry);
    double e = 0;
    for (size_t i = 0; i < nout; i++) e = fmax(e, rel_close(y[i], ry[i]));
    CHECK_MSG(e < 1e-5, "%s: forward max rel err %.3g", what, e);
    for (size_t i = 0; i < nout; i++) dz[i] = relu && y[i] <= 0 ? 0.0f : dy[i];
    ref_backward(&g, x, p, dz, rdx, rdw, rdw + nw);
    c.dout = dy;
    c.din = with_dx ? dx : NULL;
    l.ops->backward(&l, &c);
    e = 0;
    for (size_t i = 0; i < l.nparams; i++) e = fmax(e, rel_close(gr[i], rdw[i]));
    CHECK_MSG(e < 1e-4, "%s: dW/db max rel err %.3g", what, e);
    if (with_dx) {
        e = 0;
        for (size_t i = 0; i < nin; i++) e = fmax(e, rel_close(dx[i], rdx[i]));
        CHECK_MSG(e < 1e-5, "%s: dx max rel err %.3g", what, e);
    } else {
        int untouched = 1;
        for (size_t i = 0; i < nin; i++) untouched &= isnan(dx[i]);
        CHECK_MSG(untouched, "%s: din NULL must skip the input gradient", what);
    }
    /* determinism: the same step again gives bit-identical results */
    float *y2 = malloc(nout * 4), *g2 = malloc(l.nparams * 4), *dy2 = malloc(nout * 4);
    nl_rng_seed(&r, 7);
    for (size_t i = 0; i < nin; i++) (void)nl_rng_uniform(&r);
    for (size_t i = 0; i < nout; i++) dy2[i] = 2 * nl_rng_uniform(&r) - 1;
    c.out = y2, c.grads = g2, c.dout = dy2, c.din = NULL;
    l.ops->forward(&l, &c);
    l.ops->backward(&l, &c);
    CHECK_MSG(!memcmp(y, y2, nout * 4) && !memcmp(gr, g2, l.nparams * 4), "%s: second run differs",
              what);
    free(x), free(y), free(dy), free(dz), free(dx), free(p), free(gr), free(scr);
    free(ry), free(rdx), free(rdw), free(y2), free(g2), free(dy2);
}

static void plan_errors(void) {
    nl_error err = {0};
    nl_layer l = {0};
    l.ops = nl_layer_ops_find(NL_LAYER_CONV2D);
    CHECK(l.ops != NULL);
    if (!l.ops) return;
    l.in = (nl_shape){2, 2, 3};
    l.spec = conv_spec(8, 3, 1, NL_PAD_VALID, NL_ACT_NONE);
    CHECK(l.ops->plan(&l, &err) == NL_EINVAL);
    CHECK_CONTAINS(err.msg, "smaller than the 3x3 kernel");
    l.spec = conv_spec(8, 3, 1, NL_PAD_SAME, NL_ACT_NONE);
    CHECK(l.ops->plan(&l, &err) == NL_OK && l.out.h == 2 && l.out.w == 2);
    l.spec = conv_spec(0, 3, 1, NL_PAD_SAME, NL_ACT_NONE);
    CHECK(l.ops->plan(&l, &err) == NL_EINVAL);
    l.spec = conv_spec(4, 3, 0, NL_PAD_SAME, NL_ACT_NONE);
    CHECK(l.ops->plan(&l, &err) == NL_EINVAL);
    l.spec = conv_spec(4, 3, 1, 7, NL_ACT_NONE);
    CHECK(l.ops->plan(&l, &err) == NL_EINVAL);
    l.spec = conv_spec(4, 3, 1, NL_PAD_SAME, NL_ACT_SOFTMAX);
    CHECK(l.ops->plan(&l, &err) == NL_EINVAL);
    /* tile options other than 0, 2, 4 (and -1 for dx) */
    l.spec = conv_spec(8, 3, 1, NL_PAD_SAME, NL_ACT_NONE);
    l.in = (nl_shape){6, 6, 8};
    l.opt.wino_tile = 3;
    CHECK(l.ops->plan(&l, &err) == NL_EINVAL);
    CHECK_CONTAINS(err.msg, "Winograd tile options 3, 0, 0");
    l.opt.wino_tile = 0, l.opt.wino_dw_tile = -1;
    CHECK(l.ops->plan(&l, &err) == NL_EINVAL);
    l.opt.wino_dw_tile = 0, l.opt.wino_dx_tile = -1;
    CHECK(l.ops->plan(&l, &err) == NL_OK && l.conv_tiles.dx == 0);
    l.opt = (nl_compile_options){0};
    /* shapes and parameter count of the cifar10 layers */
    l.in = (nl_shape){32, 32, 3};
    l.spec = conv_spec(32, 3, 1, NL_PAD_VALID, NL_ACT_RELU);
    CHECK(l.ops->plan(&l, &err) == NL_OK && l.out.h == 30 && l.out.w == 30 && l.out.c == 32);
    CHECK(l.nparams == 3 * 3 * 3 * 32 + 32);
    l.in = (nl_shape){15, 15, 32};
    l.spec = conv_spec(64, 3, 2, NL_PAD_SAME, NL_ACT_RELU);
    CHECK(l.ops->plan(&l, &err) == NL_OK && l.out.h == 8 && l.out.w == 8 && l.out.c == 64);
}

static void init_stats(void) {
    nl_layer l = {0};
    l.ops = nl_layer_ops_find(NL_LAYER_CONV2D);
    l.in = (nl_shape){15, 15, 32};
    l.spec = conv_spec(64, 3, 1, NL_PAD_VALID, NL_ACT_RELU);
    nl_error err = {0};
    CHECK(l.ops->plan(&l, &err) == NL_OK);
    float *p = malloc(l.nparams * 4);
    l.ops->init(&l, p, NULL, 1);
    const size_t nw = 3 * 3 * 32 * 64;
    const double limit = sqrt(6.0 / (3 * 3 * 32 + 3 * 3 * 64)); /* Keras fans */
    double mx = 0, sum2 = 0;
    for (size_t i = 0; i < nw; i++) mx = fmax(mx, fabs(p[i])), sum2 += (double)p[i] * p[i];
    CHECK(mx <= limit && mx > 0.95 * limit);
    CHECK_NEAR(sqrt(sum2 / nw), limit / sqrt(3.0), 0.02 * limit);
    int zero_bias = 1;
    for (int f = 0; f < 64; f++) zero_bias &= p[nw + f] == 0.0f;
    CHECK(zero_bias);
    free(p);
}

/* plan's choice (nl_layer.conv_tiles) on shape s, in with options o. */
static void check_tiles(const char *what, nl_layer_spec s, nl_shape in, nl_compile_options o,
                        int fwd, int dw, int dx) {
    nl_layer l = {0};
    l.spec = s, l.in = in, l.opt = o;
    l.ops = nl_layer_ops_find(NL_LAYER_CONV2D);
    nl_error err = {0};
    CHECK(l.ops && l.ops->plan(&l, &err) == NL_OK);
    CHECK_MSG(l.conv_tiles.fwd == fwd && l.conv_tiles.dw == dw && l.conv_tiles.dx == dx,
              "%s: tiles fwd %d dW %d dx %d, expected %d %d %d", what, l.conv_tiles.fwd,
              l.conv_tiles.dw, l.conv_tiles.dx, fwd, dw, dx);
}

static void plan_choice(void) {
    const nl_compile_options au = {0};
    const nl_layer_spec conv2 = conv_spec(64, 3, 1, NL_PAD_VALID, NL_ACT_RELU);
    const nl_shape conv2_in = {15, 15, 32};
    /* cifar10's conv1: 3 input channels, direct */
    check_tiles("cifar conv1", conv_spec(32, 3, 1, NL_PAD_VALID, NL_ACT_RELU),
                (nl_shape){32, 32, 3}, au, 0, 0, 0);
    /* conv2: 13x13 outputs, F(4x4) 16 tiles x 36 = 576 products a channel pair
       against F(2x2) 49 x 16 = 784; dx on the 15x15 input, 576 against 1024 */
    check_tiles("cifar conv2", conv2, conv2_in, au, 4, 4, 4);
    /* 6x6 outputs: 4 x 36 = 9 x 16, a tie goes to F(2x2); dx 8x8: 144 < 256 */
    check_tiles("tie", conv_spec(16, 3, 1, NL_PAD_VALID, NL_ACT_NONE), (nl_shape){8, 8, 16}, au, 2,
                2, 4);
    /* 3x3 outputs: 36 < 64; dx 5x5: 144 = 144, direct */
    check_tiles("dx direct", conv_spec(8, 3, 1, NL_PAD_VALID, NL_ACT_NONE), (nl_shape){5, 5, 8}, au,
                4, 4, 0);
    /* 1x1 output: F(2x2) (16 < 36); dx 3x3: 36 < 64 */
    check_tiles("1x1 output", conv_spec(8, 3, 1, NL_PAD_VALID, NL_ACT_NONE), (nl_shape){3, 3, 8},
                au, 2, 2, 4);
    /* same padding: dx on the 17x17 padded input, 25 x 36 = 900 < 81 x 16 */
    check_tiles("same", conv_spec(64, 3, 1, NL_PAD_SAME, NL_ACT_RELU), conv2_in, au, 4, 4, 4);
    /* what Winograd does not run: stride 2, 5x5, 7 filters */
    check_tiles("stride 2", conv_spec(64, 3, 2, NL_PAD_SAME, NL_ACT_RELU), conv2_in, au, 0, 0, 0);
    check_tiles("5x5", conv_spec(64, 5, 1, NL_PAD_SAME, NL_ACT_RELU), conv2_in, au, 0, 0, 0);
    check_tiles("7 filters", conv_spec(7, 3, 1, NL_PAD_SAME, NL_ACT_RELU), conv2_in, au, 0, 0, 0);
    /* the options */
    nl_compile_options o = au;
    o.conv_algo = NL_CONV_DIRECT;
    check_tiles("conv2 direct", conv2, conv2_in, o, 0, 0, 0);
    o = au, o.wino_tile = 2;
    check_tiles("conv2 forward F(2x2)", conv2, conv2_in, o, 2, 4, 4);
    o = au, o.wino_dw_tile = 2, o.wino_dx_tile = 2;
    check_tiles("conv2 dW, dx F(2x2)", conv2, conv2_in, o, 4, 2, 2);
    o = au, o.wino_dx_tile = -1;
    check_tiles("conv2 dx direct", conv2, conv2_in, o, 4, 4, 0);
    o = au, o.wino_tile = o.wino_dw_tile = o.wino_dx_tile = 4;
    check_tiles("conv1, tiles forced", conv_spec(32, 3, 1, NL_PAD_VALID, NL_ACT_RELU),
                (nl_shape){32, 32, 3}, o, 0, 0, 0);
    o = au, o.wino_dx_tile = 4;
    check_tiles("dx F(4x4) forced", conv_spec(8, 3, 1, NL_PAD_VALID, NL_ACT_NONE),
                (nl_shape){5, 5, 8}, o, 4, 4, 4);
}

/* A model takes the options into its plan whether they come before or after
 * nl_model_compile: the same outputs and gradients either way. */
static nl_model *conv2_model(const nl_compile_options *before, const nl_compile_options *after) {
    nl_model *m = nl_model_new(15, 15, 32);
    nl_model_conv2d(m, 64, 3, 1, NL_PAD_VALID, NL_ACT_RELU);
    nl_model_flatten(m);
    nl_model_dense(m, 10, NL_ACT_SOFTMAX);
    nl_error err = {0};
    if (before) CHECK(nl_model_set_options(m, before, &err) == NL_OK);
    CHECK(nl_model_compile(m, 4, &err) == NL_OK);
    if (after) CHECK(nl_model_set_options(m, after, &err) == NL_OK);
    nl_model_init(m, 5);
    return m;
}

static void model_options(void) {
    const nl_compile_options direct = {.conv_algo = NL_CONV_DIRECT};
    nl_model *m[3] = {conv2_model(NULL, NULL), conv2_model(&direct, NULL),
                      conv2_model(NULL, &direct)};
    const size_t in = nl_model_input_size(m[0]), np = nl_model_param_slab_size(m[0]);
    float *x = malloc(4 * in * sizeof *x);
    nl_rng r;
    nl_rng_seed(&r, 11);
    for (size_t i = 0; i < 4 * in; i++) x[i] = 2 * nl_rng_uniform(&r) - 1;
    const uint8_t y[4] = {1, 2, 3, 4};
    float *out[3], *grad[3];
    for (int k = 0; k < 3; k++) {
        const float *o = nl_model_forward(m[k], x, 4, 1);
        out[k] = malloc(40 * sizeof(float));
        memcpy(out[k], o, 40 * sizeof(float));
        nl_model_loss_backward(m[k], y, 4, 1, NULL);
        grad[k] = nl_model_grads(m[k]);
    }
    CHECK_MSG(!memcmp(out[1], out[2], 40 * sizeof(float)) &&
                  !memcmp(grad[1], grad[2], np * sizeof(float)),
              "options after compile: results differ from the same options before it");
    CHECK_MSG(memcmp(grad[0], grad[1], np * sizeof(float)) != 0,
              "direct and Winograd gave the same bits: the options were not applied");
    for (int k = 0; k < 3; k++) free(out[k]), nl_model_free(m[k]);
    free(x);
}

/* padding=same by TensorFlow's rule (out = ceil(H/S), pad_total = max((out-1) S
 * + K - H, 0), pad_total / 2 before, the rest after; the naive reference
 * pads the same way) with odd and even kernels and stride 2, on the direct
 * algorithm and, for the 3x3 stride 1 shapes it takes, on Winograd; the
 * output shapes by hand. */
static void same_padding(void) {
    static const struct {
        int k, s, h, w, oh, ow;
    } shapes[] = {
        {2, 1, 5, 6, 5, 6}, /* pad 1: 0 before, 1 after */
        {2, 2, 7, 8, 4, 4}, /* rows: (4-1)*2+2-7 = 1; columns 0 */
        {4, 1, 5, 5, 5, 5}, /* pad 3: 1 before, 2 after */
        {4, 2, 9, 6, 5, 3}, /* rows 3, columns 2 */
        {3, 2, 8, 7, 4, 4}, /* rows 1, columns 2 */
        {5, 2, 6, 6, 3, 3}, /* 3: 1 before, 2 after */
        {3, 1, 6, 5, 6, 5},
    };
    for (int algo = 0; algo < 2; algo++) {
        gc_options.conv_algo = algo ? NL_CONV_DIRECT : NL_CONV_AUTO;
        for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
            char what[96];
            snprintf(what, sizeof what, "same %dx%d stride %d on %dx%d (%s)", shapes[k].k,
                     shapes[k].k, shapes[k].s, shapes[k].h, shapes[k].w, algo ? "direct" : "auto");
            nl_layer l = {.spec = conv_spec(9, shapes[k].k, shapes[k].s, NL_PAD_SAME, NL_ACT_NONE),
                          .in = {shapes[k].h, shapes[k].w, 8},
                          .opt = gc_options};
            l.ops = nl_layer_ops_find(NL_LAYER_CONV2D);
            CHECK(l.ops->plan(&l, NULL) == NL_OK);
            CHECK_MSG(l.out.h == shapes[k].oh && l.out.w == shapes[k].ow, "%s: output %dx%d", what,
                      l.out.h, l.out.w);
            const int wino = !algo && shapes[k].k == 3 && shapes[k].s == 1;
            CHECK_MSG((l.conv_tiles.fwd != 0) == wino, "%s: forward tile %d", what,
                      l.conv_tiles.fwd);
            compare_ref(what, l.spec, l.in, 3, 1);
            gc(what, l.spec, l.in, 2);
        }
    }
    gc_options.conv_algo = NL_CONV_AUTO;
    /* a VGG-style 3x3 same convolution on 16 channels: Winograd in every pass */
    nl_layer l = {.spec = conv_spec(32, 3, 1, NL_PAD_SAME, NL_ACT_GELU), .in = {16, 16, 16}};
    l.ops = nl_layer_ops_find(NL_LAYER_CONV2D);
    CHECK(l.ops->plan(&l, NULL) == NL_OK);
    CHECK(l.conv_tiles.fwd == 4 && l.conv_tiles.dw == 4 && l.conv_tiles.dx == 4);
    l.spec.act = NL_ACT_NONE;
    compare_ref("vgg same 16x16x16", l.spec, l.in, 3, 1);
}

int main(void) {
    plan_errors();
    same_padding();
    init_stats();
    plan_choice();
    model_options();

    /* finite differences */
    gc("valid 3x3", conv_spec(5, 3, 1, NL_PAD_VALID, NL_ACT_NONE), (nl_shape){6, 7, 3}, 2);
    gc_relu("valid 3x3 relu", conv_spec(4, 3, 1, NL_PAD_VALID, NL_ACT_RELU), (nl_shape){6, 6, 2},
            3);
    gc("same 3x3", conv_spec(6, 3, 1, NL_PAD_SAME, NL_ACT_NONE), (nl_shape){5, 6, 3}, 2);
    gc_relu("same 3x3 relu", conv_spec(3, 3, 1, NL_PAD_SAME, NL_ACT_RELU), (nl_shape){5, 5, 4}, 2);
    gc("valid stride 2", conv_spec(4, 3, 2, NL_PAD_VALID, NL_ACT_NONE), (nl_shape){7, 8, 2}, 2);
    gc("same stride 2", conv_spec(5, 3, 2, NL_PAD_SAME, NL_ACT_NONE), (nl_shape){7, 6, 3}, 2);
    gc_relu("same stride 2 relu", conv_spec(5, 3, 2, NL_PAD_SAME, NL_ACT_RELU), (nl_shape){8, 8, 2},
            3);
    gc("same 4x4 (uneven pad)", conv_spec(3, 4, 1, NL_PAD_SAME, NL_ACT_NONE), (nl_shape){5, 5, 2},
       2);
    gc("1x1", conv_spec(17, 1, 1, NL_PAD_VALID, NL_ACT_NONE), (nl_shape){3, 3, 5}, 2);

    /* exact comparisons with the naive convolution */
    compare_ref("cifar conv1", conv_spec(32, 3, 1, NL_PAD_VALID, NL_ACT_RELU),
                (nl_shape){32, 32, 3}, 5, 1);
    compare_ref("cifar conv2", conv_spec(64, 3, 1, NL_PAD_VALID, NL_ACT_RELU),
                (nl_shape){15, 15, 32}, 3, 1);
    compare_ref("first layer (din NULL)", conv_spec(32, 3, 1, NL_PAD_VALID, NL_ACT_RELU),
                (nl_shape){9, 9, 3}, 3, 0);
    compare_ref("odd filters", conv_spec(37, 3, 1, NL_PAD_VALID, NL_ACT_NONE), (nl_shape){7, 9, 5},
                3, 1);
    compare_ref("same, stride 2, odd", conv_spec(21, 3, 2, NL_PAD_SAME, NL_ACT_RELU),
                (nl_shape){9, 11, 19}, 3, 1);
    compare_ref("5x5 same, wide", conv_spec(80, 5, 1, NL_PAD_SAME, NL_ACT_NONE),
                (nl_shape){6, 7, 40}, 2, 1);
    compare_ref("stride 3 valid", conv_spec(16, 2, 3, NL_PAD_VALID, NL_ACT_NONE),
                (nl_shape){10, 8, 16}, 1, 1);
    compare_ref("one filter", conv_spec(1, 3, 1, NL_PAD_SAME, NL_ACT_RELU), (nl_shape){4, 4, 1}, 4,
                1);
    /* Winograd path (3x3, stride 1, >= 8 channels in and out), forward F(2x2) or
     * F(4x4) by shape, weight gradient F(2x2), input gradient F(4x4) or direct by
     * shape: channel and filter counts that are not multiples of the SIMD width,
     * edge tiles half outside the output, a single partial tile, several filter
     * groups. Then again with the tile sizes forced (forward, dW, dx). */
    static const int tiles[][3] = {{0, 0, 0}, {2, 4, 2}, {4, 4, 4}, {4, 2, -1}};
    for (int k = 0; k < 4; k++) {
        gc_options.wino_tile = tiles[k][0];
        gc_options.wino_dw_tile = tiles[k][1];
        gc_options.wino_dx_tile = tiles[k][2];
        compare_ref("winograd same, odd", conv_spec(37, 3, 1, NL_PAD_SAME, NL_ACT_RELU),
                    (nl_shape){7, 9, 19}, 3, 1);
        compare_ref("winograd valid, even tiles", conv_spec(16, 3, 1, NL_PAD_VALID, NL_ACT_NONE),
                    (nl_shape){10, 10, 16}, 2, 1);
        compare_ref("winograd 1x1 output", conv_spec(8, 3, 1, NL_PAD_VALID, NL_ACT_NONE),
                    (nl_shape){3, 3, 8}, 4, 1);
        compare_ref("winograd wide", conv_spec(80, 3, 1, NL_PAD_SAME, NL_ACT_NONE),
                    (nl_shape){6, 5, 8}, 2, 1);
        compare_ref("winograd first layer", conv_spec(24, 3, 1, NL_PAD_VALID, NL_ACT_RELU),
                    (nl_shape){8, 11, 12}, 3, 0);
        compare_ref("winograd cifar conv2", conv_spec(64, 3, 1, NL_PAD_VALID, NL_ACT_RELU),
                    (nl_shape){15, 15, 32}, 2, 1);
        gc("winograd same", conv_spec(9, 3, 1, NL_PAD_SAME, NL_ACT_NONE), (nl_shape){5, 6, 8}, 2);
        gc("winograd valid", conv_spec(10, 3, 1, NL_PAD_VALID, NL_ACT_NONE), (nl_shape){6, 7, 9},
           2);
    }
    gc_options = (nl_compile_options){0};
    gc_relu("winograd same relu", conv_spec(8, 3, 1, NL_PAD_SAME, NL_ACT_RELU), (nl_shape){5, 5, 8},
            2);
    /* the direct algorithm on the same shapes */
    gc_options.conv_algo = NL_CONV_DIRECT;
    compare_ref("direct cifar conv2", conv_spec(64, 3, 1, NL_PAD_VALID, NL_ACT_RELU),
                (nl_shape){15, 15, 32}, 3, 1);
    compare_ref("direct same, odd", conv_spec(37, 3, 1, NL_PAD_SAME, NL_ACT_RELU),
                (nl_shape){7, 9, 19}, 3, 1);
    gc_options.conv_algo = NL_CONV_AUTO;
    /* same results whatever the number of threads, up to the partial sums of dW */
    int nt = nl_get_threads();
    nl_set_threads(1);
    compare_ref("cifar conv2, 1 thread", conv_spec(64, 3, 1, NL_PAD_VALID, NL_ACT_RELU),
                (nl_shape){15, 15, 32}, 3, 1);
    nl_set_threads(3);
    compare_ref("odd filters, 3 threads", conv_spec(37, 3, 1, NL_PAD_SAME, NL_ACT_RELU),
                (nl_shape){7, 9, 5}, 5, 1);
    compare_ref("winograd, 3 threads", conv_spec(37, 3, 1, NL_PAD_SAME, NL_ACT_RELU),
                (nl_shape){7, 9, 19}, 5, 1);
    nl_set_threads(nt);
    CHECK_DONE();
}
