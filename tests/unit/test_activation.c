/* The element-wise activations (activation.c): values and derivatives against
 * double-precision formulas; finite-difference checks of the activation layer
 * and of every activation fused into dense (dense, register-tile and sparse
 * paths) and conv2d (direct and Winograd); fused against unfused (layer, then
 * an activation layer), bit for bit; the same bits for any thread count; plan
 * errors and names. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gradcheck.h"
#include "layers/activation.h"
#include "nnlab/core.h"

static double ref_act(int act, double x, double alpha) {
    const double k0 = sqrt(2.0 / M_PI), k1 = 0.044715;
    switch (act) {
    case NL_ACT_RELU:
        return x > 0 ? x : 0;
    case NL_ACT_TANH:
        return tanh(x);
    case NL_ACT_SIGMOID:
        return 1.0 / (1.0 + exp(-x));
    case NL_ACT_GELU:
        return 0.5 * x * (1.0 + tanh(k0 * (x + k1 * x * x * x)));
    case NL_ACT_LEAKYRELU:
        return x > 0 ? x : alpha * x;
    default:
        return x;
    }
}

static double ref_grad(int act, double x, double alpha) {
    const double k0 = sqrt(2.0 / M_PI), k1 = 0.044715;
    switch (act) {
    case NL_ACT_RELU:
        return x > 0;
    case NL_ACT_TANH:
        return 1 - tanh(x) * tanh(x);
    case NL_ACT_SIGMOID: {
        const double s = 1.0 / (1.0 + exp(-x));
        return s * (1 - s);
    }
    case NL_ACT_GELU: {
        const double t = tanh(k0 * (x + k1 * x * x * x));
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k0 * (1 + 3 * k1 * x * x);
    }
    case NL_ACT_LEAKYRELU:
        return x > 0 ? 1 : alpha;
    default:
        return 1;
    }
}

static const int smooth[] = {NL_ACT_TANH, NL_ACT_SIGMOID, NL_ACT_GELU, NL_ACT_LEAKYRELU};

static void values(void) {
    enum { N = 4001 };
    float *x = malloc(N * 4), *y = malloc(N * 4), *d = malloc(N * 4), *one = malloc(N * 4);
    float *keep = malloc(N * 4);
    for (int i = 0; i < N; i++) x[i] = -20.0f + 40.0f * (float)i / (N - 1), one[i] = 1.0f;
    x[7] = 0.0f, x[8] = -0.0f, x[9] = 1e-6f, x[10] = -1e-6f, x[11] = 90.0f, x[12] = -90.0f;
    x[13] = 0.625f, x[14] = -0.625f, x[15] = 0.6249f, x[16] = 1e-30f;
    static const int acts[] = {NL_ACT_RELU, NL_ACT_TANH,      NL_ACT_SIGMOID,
                               NL_ACT_GELU, NL_ACT_LEAKYRELU, NL_ACT_NONE};
    for (size_t k = 0; k < sizeof acts / sizeof acts[0]; k++) {
        const nl_activation *a = nl_activation_find(acts[k]);
        for (int al = 0; al < 2; al++) {
            const nl_layer_spec s = {.alpha = al ? 0.2f : 0.0f};
            const float alpha = nl_act_alpha(&s);
            nl_act_forward_range(a, alpha, x, y, keep, N);
            nl_act_backward_range(a, alpha, d, one, keep, y, N);
            double worst = 0, worst_d = 0;
            int worst_i = 0, worst_di = 0;
            for (int i = 0; i < N; i++) {
                const double r = ref_act(acts[k], x[i], alpha);
                const double e = fabs(y[i] - r) / (2e-6 + 1e-5 * fabs(r));
                if (e > worst) worst = e, worst_i = i;
                if (acts[k] == NL_ACT_RELU && x[i] == 0) continue; /* the kink */
                const double rg = ref_grad(acts[k], x[i], alpha);
                const double eg = fabs(d[i] - rg) / (1e-5 + 1e-5 * fabs(rg));
                if (eg > worst_d) worst_d = eg, worst_di = i;
            }
            CHECK_MSG(worst <= 1, "%s alpha %g: y(%.9g) = %.9g, expected %.9g", a->name,
                      (double)alpha, (double)x[worst_i], (double)y[worst_i],
                      ref_act(acts[k], x[worst_i], alpha));
            CHECK_MSG(worst_d <= 1, "%s alpha %g: y'(%.9g) = %.9g, expected %.9g", a->name,
                      (double)alpha, (double)x[worst_di], (double)d[worst_di],
                      ref_grad(acts[k], x[worst_di], alpha));
            int finite = 1;
            for (int i = 0; i < N; i++) finite &= isfinite(y[i]) && isfinite(d[i]);
            CHECK_MSG(finite, "%s: a non-finite value on [-90, 90]", a->name);
        }
    }
    /* NaN stays NaN (a diverged run is not hidden); infinities saturate */
    const float odd[4] = {NAN, INFINITY, -INFINITY, -NAN};
    for (size_t k = 0; k < sizeof smooth / sizeof smooth[0]; k++) {
        const nl_activation *a = nl_activation_find(smooth[k]);
        float o[4];
        nl_act_forward_range(a, 0.01f, odd, o, NULL, 4);
        CHECK_MSG(isnan(o[0]) && isnan(o[3]), "%s(NaN) = %g", a->name, (double)o[0]);
        if (smooth[k] == NL_ACT_TANH) CHECK(o[1] == 1.0f && o[2] == -1.0f);
        if (smooth[k] == NL_ACT_SIGMOID) CHECK(o[1] == 1.0f && o[2] >= 0.0f && o[2] < 1e-37f);
        if (smooth[k] == NL_ACT_GELU) CHECK(isinf(o[1]) && o[1] > 0);
    }
    /* in place, and only gelu keeps its input */
    const nl_activation *g = nl_activation_find(NL_ACT_GELU);
    memcpy(y, x, N * 4);
    nl_act_forward_range(g, 0.01f, y, y, keep, N);
    CHECK(memcmp(keep, x, N * 4) == 0);
    CHECK(g->keeps_input && nl_act_keep_floats(g, 10) == 10);
    CHECK(nl_act_keep_floats(nl_activation_find(NL_ACT_TANH), 10) == 0);
    CHECK(nl_act_keep_floats(NULL, 10) == 0);
    free(x), free(y), free(d), free(one), free(keep);
}

/* leakyrelu has a kink at 0: a probe whose +-h moves a pre-activation across
 * it measures the kink (with 32 outputs a sample, one pre-activation within
 * h of 0 spoils every probe of that sample's inputs), so its checks run on
 * data with none (another seed; test_conv2d.c skips such probes instead). */
static void gc(const char *what, nl_layer_spec spec, nl_shape in, int batch, float scale) {
    const uint64_t seed = spec.act == NL_ACT_LEAKYRELU ? 7 : 42;
    gc_result r = gradcheck_layer(&spec, in, batch, 200, scale, seed);
    CHECK_MSG(GC_PASSED(r), "%s %s: ok %d, input %d/%d bad (max %.3g), params %d/%d bad (max %.3g)",
              what, nl_act_name(spec.act), r.ok, r.bad_in, r.checked_in, r.max_err_in, r.bad_param,
              r.checked_param, r.max_err_param);
    CHECK_MSG(r.checked_in > 0, "%s: no probes", what);
}

static nl_layer_spec conv(int filters, int kernel, int stride, int pad, int act) {
    return (nl_layer_spec){.kind = NL_LAYER_CONV2D,
                           .units = filters,
                           .kernel = kernel,
                           .stride = stride,
                           .padding = pad,
                           .act = act};
}

static void gradients(void) {
    /* the activation layer: every activation, C not a multiple of the vector width */
    static const int all[] = {NL_ACT_RELU,      NL_ACT_TANH, NL_ACT_SIGMOID, NL_ACT_GELU,
                              NL_ACT_LEAKYRELU, NL_ACT_NONE, NL_ACT_SOFTMAX};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
        gc("layer", (nl_layer_spec){.kind = NL_LAYER_ACTIVATION, .act = all[k]},
           (nl_shape){3, 4, 5}, 3, 2.5f);
    gc("layer alpha 0.3",
       (nl_layer_spec){.kind = NL_LAYER_ACTIVATION, .act = NL_ACT_LEAKYRELU, .alpha = 0.3f},
       (nl_shape){1, 1, 77}, 2, 1.0f);
    for (size_t k = 0; k < sizeof smooth / sizeof smooth[0]; k++) {
        const int a = smooth[k];
        /* dense: BLAS path (13 units), register-tile path (32), sparse input */
        gc("dense", (nl_layer_spec){.kind = NL_LAYER_DENSE, .units = 13, .act = a},
           (nl_shape){1, 1, 37}, 4, 1.0f);
        gc("dense tiles", (nl_layer_spec){.kind = NL_LAYER_DENSE, .units = 32, .act = a},
           (nl_shape){2, 2, 10}, 3, 1.0f);
        gc_sparsity = 0.85;
        gc("dense sparse", (nl_layer_spec){.kind = NL_LAYER_DENSE, .units = 13, .act = a},
           (nl_shape){1, 1, 37}, 4, 1.0f);
        gc_sparsity = 0.0;
        /* conv2d: direct (3 channels), Winograd (8 channels in and out), and
           the Winograd shape forced direct */
        gc("conv2d direct", conv(5, 3, 1, NL_PAD_SAME, a), (nl_shape){6, 5, 3}, 2, 1.0f);
        gc("conv2d direct stride 2", conv(4, 2, 2, NL_PAD_SAME, a), (nl_shape){7, 6, 3}, 2, 1.0f);
        gc("conv2d winograd", conv(9, 3, 1, NL_PAD_SAME, a), (nl_shape){5, 6, 8}, 2, 1.0f);
        gc_options.conv_algo = NL_CONV_DIRECT;
        gc("conv2d winograd shape, direct", conv(9, 3, 1, NL_PAD_SAME, a), (nl_shape){5, 6, 8}, 2,
           1.0f);
        gc_options.conv_algo = NL_CONV_AUTO;
    }
}

/* One forward and backward of layer spec on x (in, batch B) with output
 * gradient dy; returns the planned layer and fills *out, *din, *grads (malloc'd;
 * params from init, then perturbed by seed). */
typedef struct run {
    nl_layer l;
    float *out, *din, *grads, *params, *scratch;
} run;

static run run_layer(nl_layer_spec spec, nl_shape in, int B, const float *x, const float *dy,
                     const float *params) {
    run r = {0};
    r.l.spec = spec;
    r.l.in = in;
    r.l.opt = gc_options;
    r.l.ops = nl_layer_ops_find(spec.kind);
    CHECK(r.l.ops && r.l.ops->plan(&r.l, NULL) == NL_OK);
    const size_t nin = (size_t)B * nl_shape_size(in), nout = (size_t)B * nl_shape_size(r.l.out);
    r.out = calloc(nout + 1, 4), r.din = calloc(nin + 1, 4), r.grads = calloc(r.l.nparams + 1, 4);
    r.params = calloc(r.l.nparams + 1, 4);
    r.scratch = calloc((r.l.ops->scratch_floats ? r.l.ops->scratch_floats(&r.l, B) : 0) + 1, 4);
    if (params) memcpy(r.params, params, r.l.nparams * 4);
    float *dout = malloc((nout + 1) * 4);
    memcpy(dout, dy, nout * 4);
    nl_layer_ctx c = {.batch = B,
                      .training = 1,
                      .in = x,
                      .out = r.out,
                      .params = r.params,
                      .grads = r.grads,
                      .scratch = r.scratch,
                      .din = r.din,
                      .dout = dout};
    r.l.ops->forward(&r.l, &c);
    r.l.ops->backward(&r.l, &c);
    free(dout);
    return r;
}

static void run_free(run *r) {
    free(r->out), free(r->din), free(r->grads), free(r->params), free(r->scratch);
}

/* spec with act fused against spec with none, then the activation layer. */
static void fused_vs_layer(const char *what, nl_layer_spec spec, nl_shape in, int B) {
    nl_layer l = {.spec = spec, .in = in, .opt = gc_options};
    l.ops = nl_layer_ops_find(spec.kind);
    CHECK(l.ops->plan(&l, NULL) == NL_OK);
    const size_t nin = (size_t)B * nl_shape_size(in), nout = (size_t)B * nl_shape_size(l.out);
    float *x = malloc(nin * 4), *dy = malloc(nout * 4), *p = malloc((l.nparams + 1) * 4);
    nl_rng g;
    nl_rng_seed(&g, 9);
    for (size_t i = 0; i < nin; i++) x[i] = 2 * nl_rng_uniform(&g) - 1;
    for (size_t i = 0; i < nout; i++) dy[i] = 2 * nl_rng_uniform(&g) - 1;
    for (size_t i = 0; i < l.nparams; i++) p[i] = 0.3f * (2 * nl_rng_uniform(&g) - 1);
    run f = run_layer(spec, in, B, x, dy, p);
    nl_layer_spec lin = spec;
    lin.act = NL_ACT_NONE;
    const nl_layer_spec as = {.kind = NL_LAYER_ACTIVATION, .act = spec.act, .alpha = spec.alpha};
    /* the linear layer's forward, then the activation layer's forward and backward */
    run z = run_layer(lin, in, B, x, dy, p);
    run a = run_layer(as, l.out, B, z.out, dy, NULL);
    run u = run_layer(lin, in, B, x, a.din, p);
    CHECK_MSG(memcmp(f.out, a.out, nout * 4) == 0, "%s %s: fused output differs", what,
              nl_act_name(spec.act));
    CHECK_MSG(memcmp(f.din, u.din, nin * 4) == 0, "%s %s: fused input gradient differs", what,
              nl_act_name(spec.act));
    CHECK_MSG(memcmp(f.grads, u.grads, l.nparams * 4) == 0, "%s %s: fused weight gradient differs",
              what, nl_act_name(spec.act));
    run_free(&f), run_free(&z), run_free(&a), run_free(&u);
    free(x), free(dy), free(p);
}

static void fused_matches_layers(void) {
    for (size_t k = 0; k < sizeof smooth / sizeof smooth[0]; k++) {
        const int a = smooth[k];
        fused_vs_layer("dense", (nl_layer_spec){.kind = NL_LAYER_DENSE, .units = 64, .act = a},
                       (nl_shape){1, 1, 300}, 17);
        fused_vs_layer("dense blas", (nl_layer_spec){.kind = NL_LAYER_DENSE, .units = 10, .act = a},
                       (nl_shape){1, 1, 50}, 5);
        fused_vs_layer("conv2d winograd", conv(32, 3, 1, NL_PAD_SAME, a), (nl_shape){9, 8, 16}, 5);
        fused_vs_layer("conv2d direct", conv(19, 3, 2, NL_PAD_SAME, a), (nl_shape){9, 8, 5}, 5);
    }
    fused_vs_layer(
        "dense alpha",
        (nl_layer_spec){
            .kind = NL_LAYER_DENSE, .units = 16, .act = NL_ACT_LEAKYRELU, .alpha = 0.25f},
        (nl_shape){1, 1, 20}, 3);
}

static void threads(void) {
    enum { N = 300007 };
    float *x = malloc(N * 4), *y1 = malloc(N * 4), *y2 = malloc(N * 4), *d1 = malloc(N * 4);
    float *d2 = malloc(N * 4), *k = malloc(N * 4);
    nl_rng g;
    nl_rng_seed(&g, 3);
    for (int i = 0; i < N; i++) x[i] = 8 * nl_rng_uniform(&g) - 4;
    for (size_t a = 0; a < sizeof smooth / sizeof smooth[0]; a++) {
        const nl_activation *act = nl_activation_find(smooth[a]);
        nl_set_threads(1);
        nl_act_forward(act, 0.01f, x, y1, k, N);
        nl_act_backward(act, 0.01f, d1, x, k, y1, N);
        for (int t = 2; t <= 3; t++) {
            nl_set_threads(t);
            nl_act_forward(act, 0.01f, x, y2, k, N);
            nl_act_backward(act, 0.01f, d2, x, k, y2, N);
            CHECK_MSG(memcmp(y1, y2, N * 4) == 0 && memcmp(d1, d2, N * 4) == 0,
                      "%s: %d threads give other bits than 1", act->name, t);
        }
        /* one chunk at a time gives the same bits as the whole */
        nl_act_forward_range(act, 0.01f, x, y2, NULL, 1000);
        nl_act_forward_range(act, 0.01f, x + 1000, y2 + 1000, NULL, N - 1000);
        CHECK(memcmp(y1, y2, N * 4) == 0);
    }
    nl_set_threads(2);
    free(x), free(y1), free(y2), free(d1), free(d2), free(k);
}

static void plan_errors_and_names(void) {
    nl_error err = {0};
    nl_layer l = {.in = {2, 2, 3}};
    l.spec = (nl_layer_spec){.kind = NL_LAYER_ACTIVATION, .act = 42};
    l.ops = nl_layer_ops_find(NL_LAYER_ACTIVATION);
    CHECK(l.ops->plan(&l, &err) == NL_EINVAL);
    CHECK_CONTAINS(err.msg, "unknown activation 42");
    l.spec.act = NL_ACT_LEAKYRELU, l.spec.alpha = -0.5f;
    CHECK(l.ops->plan(&l, &err) == NL_EINVAL);
    CHECK_CONTAINS(err.msg, "alpha");
    l.spec.alpha = NAN;
    CHECK(l.ops->plan(&l, &err) == NL_EINVAL);
    l.spec.alpha = 0.0f;
    CHECK(l.ops->plan(&l, &err) == NL_OK);
    CHECK(l.out.h == 2 && l.out.w == 2 && l.out.c == 3);
    l.spec = (nl_layer_spec){
        .kind = NL_LAYER_DENSE, .units = 4, .act = NL_ACT_LEAKYRELU, .alpha = -1.0f};
    l.ops = nl_layer_ops_find(NL_LAYER_DENSE);
    CHECK(l.ops->plan(&l, &err) == NL_EINVAL);
    CHECK_CONTAINS(err.msg, "dense: leakyrelu alpha");
    l.spec = conv(4, 1, 1, NL_PAD_VALID, NL_ACT_SOFTMAX);
    l.ops = nl_layer_ops_find(NL_LAYER_CONV2D);
    CHECK(l.ops->plan(&l, &err) == NL_EINVAL);
    CHECK_CONTAINS(err.msg, "softmax not supported");
    l.spec.act = NL_ACT_GELU;
    CHECK(l.ops->plan(&l, &err) == NL_OK);
    static const struct {
        int act;
        const char *name;
    } names[] = {{NL_ACT_NONE, "none"},          {NL_ACT_RELU, "relu"},
                 {NL_ACT_SOFTMAX, "softmax"},    {NL_ACT_TANH, "tanh"},
                 {NL_ACT_SIGMOID, "sigmoid"},    {NL_ACT_GELU, "gelu"},
                 {NL_ACT_LEAKYRELU, "leakyrelu"}};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
        CHECK(nl_act_name(names[k].act) && !strcmp(nl_act_name(names[k].act), names[k].name));
    CHECK(nl_act_name(99) == NULL);
    CHECK(!strcmp(nl_layer_kind_name(NL_LAYER_ACTIVATION), "activation"));
    CHECK(!strcmp(nl_layer_kind_name(NL_LAYER_AVGPOOL2D), "avgpool2d"));
    CHECK(!strcmp(nl_layer_kind_name(NL_LAYER_GLOBALAVGPOOL2D), "globalavgpool2d"));
    CHECK(nl_act_alpha(&(nl_layer_spec){.alpha = 0.0f}) == 0.01f);
    CHECK(nl_act_alpha(&(nl_layer_spec){.alpha = 0.5f}) == 0.5f);
}

int main(void) {
    nl_set_threads(2);
    values();
    gradients();
    fused_matches_layers();
    threads();
    plan_errors_and_names();
    CHECK_DONE();
}
