/* avgpool2d and globalavgpool2d: forward and backward against naive loops in
 * double (tiling, overlapping and gapped windows, channels that are not whole
 * vectors), finite-difference checks, the same bits for any thread count, and
 * plan errors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gradcheck.h"
#include "nnlab/core.h"

typedef struct pool_run {
    nl_layer l;
    float *out, *din;
} pool_run;

static pool_run run(nl_layer_spec spec, nl_shape in, int B, const float *x, const float *dy) {
    pool_run r = {0};
    r.l.spec = spec, r.l.in = in;
    r.l.ops = nl_layer_ops_find(spec.kind);
    nl_error err = {0};
    CHECK_MSG(r.l.ops && r.l.ops->plan(&r.l, &err) == NL_OK, "plan: %s", err.msg);
    const size_t nin = (size_t)B * nl_shape_size(in), nout = (size_t)B * nl_shape_size(r.l.out);
    r.out = malloc(nout * 4), r.din = malloc(nin * 4);
    for (size_t i = 0; i < nin; i++) r.din[i] = NAN; /* every element must be written */
    float *dout = malloc(nout * 4);
    memcpy(dout, dy, nout * 4);
    nl_layer_ctx c = {.batch = B, .training = 1, .in = x, .out = r.out, .din = r.din, .dout = dout};
    r.l.ops->forward(&r.l, &c);
    r.l.ops->backward(&r.l, &c);
    free(dout);
    return r;
}

/* The layer against the naive means and their gradient, in double. */
static void check_ref(const char *what, nl_layer_spec spec, nl_shape in, int B) {
    const int global = spec.kind == NL_LAYER_GLOBALAVGPOOL2D;
    const int H = in.h, W = in.w, C = in.c;
    const int K = global ? 0 : spec.kernel, S = global ? 1 : spec.stride;
    const int OH = global ? 1 : (H - K) / S + 1, OW = global ? 1 : (W - K) / S + 1;
    const size_t nin = (size_t)B * H * W * C, nout = (size_t)B * OH * OW * C;
    float *x = malloc(nin * 4), *dy = malloc(nout * 4);
    nl_rng g;
    nl_rng_seed(&g, 11);
    for (size_t i = 0; i < nin; i++) x[i] = 4 * nl_rng_uniform(&g) - 2;
    for (size_t i = 0; i < nout; i++) dy[i] = 2 * nl_rng_uniform(&g) - 1;
    pool_run r = run(spec, in, B, x, dy);
    CHECK_MSG(r.l.out.h == OH && r.l.out.w == OW && r.l.out.c == C, "%s: output %dx%dx%d", what,
              r.l.out.h, r.l.out.w, r.l.out.c);
    double *ref = calloc(nin, sizeof *ref);
    double worst = 0, worst_d = 0;
    for (int b = 0; b < B; b++)
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++)
                for (int c = 0; c < C; c++) {
                    const int h0 = global ? 0 : oh * S, w0 = global ? 0 : ow * S;
                    const int kh = global ? H : K, kw = global ? W : K;
                    double s = 0;
                    for (int i = 0; i < kh; i++)
                        for (int j = 0; j < kw; j++)
                            s += x[(((size_t)b * H + h0 + i) * W + w0 + j) * C + c];
                    const size_t o = (((size_t)b * OH + oh) * OW + ow) * C + c;
                    worst = fmax(worst, fabs(s / (kh * kw) - r.out[o]));
                    for (int i = 0; i < kh; i++)
                        for (int j = 0; j < kw; j++)
                            ref[(((size_t)b * H + h0 + i) * W + w0 + j) * C + c] +=
                                dy[o] / (kh * kw);
                }
    for (size_t i = 0; i < nin; i++) worst_d = fmax(worst_d, fabs(ref[i] - r.din[i]));
    CHECK_MSG(worst < 1e-6, "%s: forward differs from the naive means by %.3g", what, worst);
    CHECK_MSG(worst_d < 1e-6, "%s: input gradient differs by %.3g (NaN: not written)", what,
              worst_d);
    /* the same bits with 1, 2 and 3 threads */
    for (int t = 1; t <= 3; t++) {
        nl_set_threads(t);
        pool_run q = run(spec, in, B, x, dy);
        CHECK_MSG(memcmp(q.out, r.out, nout * 4) == 0 && memcmp(q.din, r.din, nin * 4) == 0,
                  "%s: %d threads give other bits", what, t);
        free(q.out), free(q.din);
    }
    nl_set_threads(2);
    free(r.out), free(r.din), free(ref), free(x), free(dy);
}

static nl_layer_spec avg(int k, int s) {
    return (nl_layer_spec){.kind = NL_LAYER_AVGPOOL2D, .kernel = k, .stride = s};
}

static const nl_layer_spec gap = {.kind = NL_LAYER_GLOBALAVGPOOL2D};

static void gc(const char *what, nl_layer_spec spec, nl_shape in, int batch) {
    gc_result r = gradcheck_layer(&spec, in, batch, 200, 1.0f, 42);
    CHECK_MSG(GC_PASSED(r) && r.bad_in == 0, "%s: ok %d, input %d/%d bad (max %.3g)", what, r.ok,
              r.bad_in, r.checked_in, r.max_err_in);
}

static void plan_errors(void) {
    nl_error err = {0};
    nl_layer l = {.in = {1, 1, 64}};
    l.ops = nl_layer_ops_find(NL_LAYER_AVGPOOL2D);
    l.spec = avg(2, 2);
    CHECK(l.ops->plan(&l, &err) == NL_EINVAL);
    CHECK_CONTAINS(err.msg, "input 1x1x64 is smaller than the 2x2 window");
    l.in = (nl_shape){8, 8, 3};
    l.spec = avg(0, 1);
    CHECK(l.ops->plan(&l, &err) == NL_EINVAL);
    CHECK_CONTAINS(err.msg, "avgpool2d: kernel size");
    l.spec = avg(2, 0);
    CHECK(l.ops->plan(&l, &err) == NL_EINVAL);
    CHECK_CONTAINS(err.msg, "avgpool2d: stride");
    l.spec = avg(3, 2);
    CHECK(l.ops->plan(&l, &err) == NL_OK && l.out.h == 3 && l.out.w == 3 && l.out.c == 3);
    l.spec = gap;
    l.ops = nl_layer_ops_find(NL_LAYER_GLOBALAVGPOOL2D);
    CHECK(l.ops->plan(&l, &err) == NL_OK && l.out.h == 1 && l.out.w == 1 && l.out.c == 3);
}

int main(void) {
    nl_set_threads(2);
    plan_errors();
    check_ref("2x2 tiling", avg(2, 2), (nl_shape){8, 8, 16}, 3);
    check_ref("2x2, odd input (last row dropped)", avg(2, 2), (nl_shape){7, 9, 5}, 2);
    check_ref("3x3 stride 2 (overlapping)", avg(3, 2), (nl_shape){9, 8, 19}, 3);
    check_ref("3x3 stride 1", avg(3, 1), (nl_shape){6, 7, 33}, 2);
    check_ref("2x2 stride 3 (gaps)", avg(2, 3), (nl_shape){8, 8, 4}, 2);
    check_ref("vgg 16x16x64", avg(2, 2), (nl_shape){16, 16, 64}, 4);
    check_ref("global 8x8x64", gap, (nl_shape){8, 8, 64}, 5);
    check_ref("global odd channels", gap, (nl_shape){3, 5, 21}, 3);
    check_ref("global 1x1", gap, (nl_shape){1, 1, 7}, 4);
    check_ref("large batch (several chunks)", avg(2, 2), (nl_shape){32, 32, 32}, 9);
    check_ref("global, large batch", gap, (nl_shape){16, 16, 128}, 40);
    gc("avgpool 2x2", avg(2, 2), (nl_shape){4, 6, 3}, 2);
    gc("avgpool 3x3 stride 2", avg(3, 2), (nl_shape){7, 7, 5}, 2);
    gc("globalavgpool", gap, (nl_shape){3, 4, 6}, 3);
    CHECK_DONE();
}
