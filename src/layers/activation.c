/* The activation table (activation.h), the element-wise activations and the
 * activation layer (NL_LAYER_ACTIVATION). A new activation adds a row here and
 * its code in act_vec / grad_vec below.
 *
 *   tanh      y = tanh(x)                                  y' = 1 - y^2
 *   sigmoid   y = 1 / (1 + exp(-x))                        y' = y (1 - y)
 *   gelu      y = x/2 (1 + t), t = tanh(k0 (x + k1 x^3))   y' = (1 + t)/2 + x/2 (1 - t^2) k0
 *             k0 = sqrt(2/pi), k1 = 0.044715                    (1 + 3 k1 x^2)
 *             (the tanh approximation, PyTorch's approximate="tanh", Keras's approximate=True)
 *   leakyrelu y = x > 0 ? x : alpha x                      y' = y > 0 ? 1 : alpha
 *   relu      y = max(x, 0)                                y' = y > 0
 *   none, softmax (as a layer: the loss applies softmax)  the identity
 *
 * Vectorised (core/simd.h) with a polynomial exp (Cephes' expf: range
 * reduction by ln 2, a degree-6 polynomial; gelu's argument comes scaled by
 * log2(e) and takes a plain 2^t) and tanh (Cephes' tanhf: an odd
 * polynomial below 0.625, 1 - 2 / (exp(2|x|) + 1) above); test_activation
 * bounds both against double precision. Every element goes through the same vector code (a partial
 * last vector with masked loads and stores), so an element's result does not depend on where a
 * chunk of the threaded loops starts. */
#include <math.h>
#include <string.h>

#include "core/parallel.h"
#include "core/simd.h"
#include "layers/activation.h"

static const nl_activation all_acts[] = {
    {NL_ACT_NONE, "none", 0, 0, 0, 0},           {NL_ACT_RELU, "relu", 1, 0, 0, 0},
    {NL_ACT_SOFTMAX, "softmax", 0, 1, 0, 0},     {NL_ACT_TANH, "tanh", 0, 0, 1, 0},
    {NL_ACT_SIGMOID, "sigmoid", 0, 0, 1, 0},     {NL_ACT_GELU, "gelu", 0, 0, 1, 1},
    {NL_ACT_LEAKYRELU, "leakyrelu", 0, 0, 1, 0},
};

const nl_activation *nl_activation_find(int act) {
    for (size_t i = 0; i < sizeof all_acts / sizeof all_acts[0]; i++)
        if ((int)all_acts[i].act == act) return &all_acts[i];
    return NULL;
}

const char *nl_act_name(int act) {
    const nl_activation *a = nl_activation_find(act);
    return a ? a->name : NULL;
}

const nl_activation *nl_act_fused(const nl_layer *l) {
    const nl_activation *a = nl_activation_find(l->spec.act);
    return a && a->elementwise ? a : NULL;
}

float nl_act_alpha(const nl_layer_spec *spec) {
    return spec->alpha == 0.0f ? 0.01f : spec->alpha;
}

nl_status nl_act_check(const nl_activation *a, const nl_layer_spec *spec, const char *what,
                       nl_error *err) {
    if (a->act == NL_ACT_LEAKYRELU && !(spec->alpha >= 0.0f && spec->alpha <= 1e30f))
        return nl_error_set(err, NL_EINVAL,
                            "%s: leakyrelu alpha must be a positive number (got %g; 0: the "
                            "default 0.01)",
                            what, (double)spec->alpha);
    return NL_OK;
}

size_t nl_act_keep_floats(const nl_activation *a, size_t n) {
    return a && a->keeps_input ? n : 0;
}

/* ---- vector math ----------------------------------------------------------------------- */

static inline vf vsel(vint m, vf a, vf b) { /* a where m, else b */
    return (vf)(((vint)a & m) | ((vint)b & ~m));
}

/* exp(x), x clamped to [-87, 88] (no overflow, no denormal scale); NaN stays NaN */
static inline vf vexp(vf x0) {
    const vf lo = v_set1(-87.0f), hi = v_set1(88.0f);
    const vint num = x0 == x0;
    vf x = vsel(x0 > lo, x0, lo); /* NaN -> lo here, put back at the end */
    x = vsel(x < hi, x, hi);
    const vf magic = v_set1(12582912.0f); /* 1.5 * 2^23: adding it rounds to an integer */
    const vf t = v_fma(x, v_set1(1.44269504088896341f), magic);
    const vf n = v_sub(t, magic);
    const vint ni = (vint)t - 0x4B400000; /* the integer n, from t's low mantissa bits */
    vf r = v_fnma(n, v_set1(0.693359375f), x);
    r = v_fnma(n, v_set1(-2.12194440e-4f), r);
    vf p = v_set1(1.9875691500e-4f);
    p = v_fma(p, r, v_set1(1.3981999507e-3f));
    p = v_fma(p, r, v_set1(8.3334519073e-3f));
    p = v_fma(p, r, v_set1(4.1665795894e-2f));
    p = v_fma(p, r, v_set1(1.6666665459e-1f));
    p = v_fma(p, r, v_set1(5.0000001201e-1f));
    const vf y = v_add(v_fma(v_mul(p, r), r, r), v_set1(1.0f));
    return vsel(num, v_mul(y, (vf)((ni + 127) << 23)), x0);
}

/* 2^t, t clamped to [-126, 126] (no overflow, no denormal); NaN stays NaN.
 * For arguments that come scaled by log2(e) already (gelu's): t = n + f with
 * n the nearest integer, 2^f by its Taylor polynomial of degree 6 on
 * |f| <= 1/2 (relative error below 2e-7), times 2^n. */
static inline vf vexp2(vf t) {
#if defined(__AVX512F__)
    t = _mm512_min_ps(v_set1(126.0f), _mm512_max_ps(v_set1(-126.0f), t)); /* NaN: t */
    const vf n = _mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
#else
    const vint num = t == t;
    t = vsel(t < v_set1(-126.0f), v_set1(-126.0f), t);
    t = vsel(t > v_set1(126.0f), v_set1(126.0f), t);
    const vf magic = v_set1(12582912.0f); /* 1.5 * 2^23: adding it rounds to an integer */
    const vf r = v_add(t, magic);
    const vf n = v_sub(r, magic);
#endif
    const vf f = v_sub(t, n);
    vf p = v_set1(1.5403530393381608e-4f); /* ln(2)^k / k!, k = 6 .. 1 */
    p = v_fma(p, f, v_set1(1.3333558146428443e-3f));
    p = v_fma(p, f, v_set1(9.6181291076284772e-3f));
    p = v_fma(p, f, v_set1(5.5504108664821580e-2f));
    p = v_fma(p, f, v_set1(2.4022650695910071e-1f));
    p = v_fma(p, f, v_set1(6.9314718055994531e-1f));
    p = v_fma(p, f, v_set1(1.0f));
#if defined(__AVX512F__)
    return _mm512_scalef_ps(p, n);
#else
    const vint ni = (vint)r - 0x4B400000; /* the integer n, from r's low mantissa bits */
    return vsel(num, v_mul(p, (vf)((ni + 127) << 23)), t);
#endif
}

/* 1 / d for d >= 1 (finite): the ISA's estimate and one Newton step (a few
 * ulp), where it has one; a division (several times slower) elsewhere */
static inline vf vrecip(vf d) {
#if defined(V_HAS_ESTIMATES)
    const vf r = v_rcp_est(d);
    return v_mul(r, v_fnma(d, r, v_set1(2.0f)));
#else
    return v_set1(1.0f) / d;
#endif
}

static inline vf vtanh(vf x) {
    const vint sign = (vint)x & ~0x7fffffff;
    const vf ax = (vf)((vint)x & 0x7fffffff);
    const vf one = v_set1(1.0f);
    const vf big = v_fnma(v_set1(2.0f), vrecip(v_add(vexp(v_add(ax, ax)), one)), one);
    const vf z = v_mul(ax, ax);
    vf p = v_set1(-5.70498872745e-3f);
    p = v_fma(p, z, v_set1(2.06390887954e-2f));
    p = v_fma(p, z, v_set1(-5.37397155531e-2f));
    p = v_fma(p, z, v_set1(1.33314422036e-1f));
    p = v_fma(p, z, v_set1(-3.33332819422e-1f));
    const vf small = v_fma(v_mul(p, z), ax, ax);
    return (vf)((vint)vsel(ax > v_set1(0.625f), big, small) | sign);
}

#define GELU_K0 0.7978845608028654f /* sqrt(2 / pi) */
#define GELU_K1 0.044715f
/* -2 u log2(e) = x (GELU_C1 + GELU_C2 x^2): exp(-2u) = 2^that */
#define GELU_C1 (-2.0f * GELU_K0 * 1.4426950408889634f)
#define GELU_C2 (-2.0f * GELU_K0 * GELU_K1 * 1.4426950408889634f)

/* y = a(x) for one vector (kind a compile-time constant where inlined) */
FORCE_INLINE vf act_vec(int kind, vf x, vf alpha) {
    const vf zero = v_zero(), one = v_set1(1.0f);
    switch (kind) {
    case NL_ACT_RELU:
        return v_max(x, zero);
    case NL_ACT_TANH:
        return vtanh(x);
    case NL_ACT_SIGMOID:
        return vrecip(v_add(one, vexp(v_sub(zero, x))));
    case NL_ACT_GELU: { /* 0.5 x (1 + tanh u) = x sigmoid(2u): one exp2, one reciprocal */
        const vf t = v_mul(x, v_fma(v_set1(GELU_C2), v_mul(x, x), v_set1(GELU_C1)));
        return v_mul(x, vrecip(v_add(one, vexp2(t))));
    }
    case NL_ACT_LEAKYRELU:
        return vsel(x > zero, x, v_mul(alpha, x));
    default:
        return x;
    }
}

/* dout * a'(x) for one vector, from y (and x: gelu) */
FORCE_INLINE vf grad_vec(int kind, vf d, vf x, vf y, vf alpha) {
    const vf zero = v_zero(), one = v_set1(1.0f);
    switch (kind) {
    case NL_ACT_RELU:
        return v_where_pos(d, y);
    case NL_ACT_TANH:
        return v_mul(d, v_fnma(y, y, one));
    case NL_ACT_SIGMOID:
        return v_mul(d, v_mul(y, v_sub(one, y)));
    case NL_ACT_GELU: { /* with s = sigmoid(2u): gelu' = s + 2 x s (1 - s) u' */
        const vf x2 = v_mul(x, x);
        const vf sg =
            vrecip(v_add(one, vexp2(v_mul(x, v_fma(v_set1(GELU_C2), x2, v_set1(GELU_C1))))));
        const vf du = v_mul(v_set1(2.0f * GELU_K0), v_fma(v_set1(3.0f * GELU_K1), x2, one));
        const vf g = v_fma(v_mul(v_mul(x, sg), v_sub(one, sg)), du, sg);
        return v_mul(d, g);
    }
    case NL_ACT_LEAKYRELU:
        return vsel(y > zero, d, v_mul(alpha, d));
    default:
        return d;
    }
}

FORCE_INLINE void forward_t(int kind, float alpha, const float *x, float *y, float *keep,
                            size_t n) {
    const vf av = v_set1(alpha);
    size_t i = 0;
    for (; i + VL <= n; i += VL) {
        const vf xv = v_load(x + i);
        if (keep) v_store(keep + i, xv);
        v_store(y + i, act_vec(kind, xv, av));
    }
    if (i == n) return;
    const vmask m = v_mask((int)(n - i));
    const vf xv = v_load_m(x + i, m);
    if (keep) v_store_m(keep + i, xv, m);
    v_store_m(y + i, act_vec(kind, xv, av), m);
}

FORCE_INLINE void backward_t(int kind, float alpha, float *din, const float *dout, const float *x,
                             const float *y, size_t n) {
    const vf av = v_set1(alpha);
    const int needs_x = kind == NL_ACT_GELU;
    size_t i = 0;
    for (; i + VL <= n; i += VL) {
        const vf xv = needs_x ? v_load(x + i) : v_zero();
        v_store(din + i, grad_vec(kind, v_load(dout + i), xv, v_load(y + i), av));
    }
    if (i == n) return;
    const vmask m = v_mask((int)(n - i));
    const vf xv = needs_x ? v_load_m(x + i, m) : v_zero();
    v_store_m(din + i, grad_vec(kind, v_load_m(dout + i, m), xv, v_load_m(y + i, m), av), m);
}

void nl_act_forward_range(const nl_activation *a, float alpha, const float *x, float *y,
                          float *keep, size_t n) {
    if (!a->keeps_input) keep = NULL;
    switch (a->act) {
    case NL_ACT_RELU:
        forward_t(NL_ACT_RELU, alpha, x, y, keep, n);
        break;
    case NL_ACT_TANH:
        forward_t(NL_ACT_TANH, alpha, x, y, keep, n);
        break;
    case NL_ACT_SIGMOID:
        forward_t(NL_ACT_SIGMOID, alpha, x, y, keep, n);
        break;
    case NL_ACT_GELU:
        forward_t(NL_ACT_GELU, alpha, x, y, keep, n);
        break;
    case NL_ACT_LEAKYRELU:
        forward_t(NL_ACT_LEAKYRELU, alpha, x, y, keep, n);
        break;
    default: /* the identity */
        if (y != x) memcpy(y, x, n * sizeof(float));
    }
}

void nl_act_backward_range(const nl_activation *a, float alpha, float *din, const float *dout,
                           const float *x, const float *y, size_t n) {
    switch (a->act) {
    case NL_ACT_RELU:
        backward_t(NL_ACT_RELU, alpha, din, dout, x, y, n);
        break;
    case NL_ACT_TANH:
        backward_t(NL_ACT_TANH, alpha, din, dout, x, y, n);
        break;
    case NL_ACT_SIGMOID:
        backward_t(NL_ACT_SIGMOID, alpha, din, dout, x, y, n);
        break;
    case NL_ACT_GELU:
        backward_t(NL_ACT_GELU, alpha, din, dout, x, y, n);
        break;
    case NL_ACT_LEAKYRELU:
        backward_t(NL_ACT_LEAKYRELU, alpha, din, dout, x, y, n);
        break;
    default:
        if (din != dout) memcpy(din, dout, n * sizeof(float));
    }
}

/* ---- threaded --------------------------------------------------------------------------- */

/* Elements per chunk: a few hundred microseconds of gelu, whole vectors. */
#define ACT_GRAIN 16384

typedef struct act_job {
    const nl_activation *a;
    float alpha;
    float *out;
    const float *in, *x, *y;
    float *keep;
    int backward;
} act_job;

static void act_chunk(void *ctx, size_t b, size_t e, size_t chunk) {
    (void)chunk;
    const act_job *j = ctx;
    if (j->backward)
        nl_act_backward_range(j->a, j->alpha, j->out + b, j->in + b, j->x ? j->x + b : NULL,
                              j->y + b, e - b);
    else
        nl_act_forward_range(j->a, j->alpha, j->in + b, j->out + b, j->keep ? j->keep + b : NULL,
                             e - b);
}

void nl_act_forward(const nl_activation *a, float alpha, const float *x, float *y, float *keep,
                    size_t n) {
    act_job j = {a, alpha, y, x, NULL, NULL, keep, 0};
    nl_parallel_for(n, ACT_GRAIN, act_chunk, &j);
}

void nl_act_backward(const nl_activation *a, float alpha, float *din, const float *dout,
                     const float *x, const float *y, size_t n) {
    act_job j = {a, alpha, din, dout, x, y, NULL, 1};
    nl_parallel_for(n, ACT_GRAIN, act_chunk, &j);
}

/* ---- the activation layer ----------------------------------------------------------------
 *   forward:  out = act(in)        backward: din = dout * act'(in, out)
 * softmax (only as the last layer with the cross-entropy loss) and none are
 * the identity here: the loss applies softmax. */

static nl_status plan(nl_layer *l, nl_error *err) {
    const nl_activation *a = nl_activation_find(l->spec.act);
    if (!a)
        return nl_error_set(err, NL_EINVAL,
                            "activation: unknown activation %d (relu, tanh, sigmoid, gelu, "
                            "leakyrelu, softmax or none)",
                            l->spec.act);
    nl_status st = nl_act_check(a, &l->spec, "activation", err);
    if (st) return st;
    l->out = l->in;
    return NL_OK;
}

static void forward(const nl_layer *l, const nl_layer_ctx *c) {
    nl_act_forward(nl_activation_find(l->spec.act), nl_act_alpha(&l->spec), c->in, c->out, NULL,
                   (size_t)c->batch * nl_shape_size(l->in));
}

static void backward(const nl_layer *l, const nl_layer_ctx *c) {
    if (!c->din) return;
    nl_act_backward(nl_activation_find(l->spec.act), nl_act_alpha(&l->spec), c->din, c->dout, c->in,
                    c->out, (size_t)c->batch * nl_shape_size(l->in));
}

const nl_layer_ops nl_activation_ops = {
    .kind = NL_LAYER_ACTIVATION,
    .name = "activation",
    .plan = plan,
    .forward = forward,
    .backward = backward,
};
