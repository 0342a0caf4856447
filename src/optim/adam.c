/* Adam and AdamW (decoupled weight decay, Loshchilov & Hutter).
 *
 * Elementwise, so splitting across threads never changes the result. The
 * exact form needs a square root and a division per parameter, and those two
 * dominate an optimizer step of a small model (they, not memory, bound it).
 * With AVX-512 the step uses the 14-bit reciprocal square root and reciprocal
 * estimates, each refined by one Newton-Raphson iteration (to ~1e-7 relative:
 * float rounding level), which is faster. */
#include <math.h>

#include "core/simd.h"
#include "optim/optim_impl.h"

typedef struct adam_k {
    float b1, b2, eps, lr_c1, c2, decay;
} adam_k;

#if defined(V_HAS_ESTIMATES)
/* VL parameters from i; lanes outside mask are neither read nor written. */
static inline void adam_vec(const adam_k *k, float *restrict p, const float *restrict g,
                            float *restrict m, float *restrict v, long i, vmask lanes) {
    const vf b1 = v_set1(k->b1), nb1 = v_set1(1.0f - k->b1);
    const vf b2 = v_set1(k->b2), nb2 = v_set1(1.0f - k->b2);
    const vf c2 = v_set1(k->c2), eps = v_set1(k->eps);
    const vf lr_c1 = v_set1(k->lr_c1), decay = v_set1(k->decay);
    const vf half = v_set1(0.5f), three_halves = v_set1(1.5f), two = v_set1(2.0f);
    const vf gi = v_load_m(g + i, lanes);
    const vf mi = v_fma(b1, v_load_m(m + i, lanes), v_mul(nb1, gi));
    const vf vv = v_fma(b2, v_load_m(v + i, lanes), v_mul(nb2, v_mul(gi, gi)));
    v_store_m(m + i, mi, lanes);
    v_store_m(v + i, vv, lanes);
    const vf vh = v_mul(vv, c2);
    /* s = sqrt(vh) = vh * rsqrt(vh), 0 where vh == 0 */
    vf r = v_rsqrt_est(vh);
    r = v_mul(r, v_fnma(v_mul(half, vh), v_mul(r, r), three_halves));
    const vf d = v_add(v_mul_where_pos(vh, r, vh), eps);
    /* q = 1 / d */
    vf q = v_rcp_est(d);
    q = v_mul(q, v_fnma(d, q, two));
    const vf step = v_mul(v_mul(lr_c1, mi), q);
    v_store_m(p + i, v_fms(v_load_m(p + i, lanes), decay, step), lanes);
}

/* Every element goes through the same vector arithmetic (the tail with a
 * lane mask), so a parameter's update does not depend on where a thread's
 * range starts or ends: results are the same for any split. */
static void adam_range(const adam_k *k, float *restrict p, const float *restrict g,
                       float *restrict m, float *restrict v, long lo, long hi) {
    long i = lo;
    for (; i + VL <= hi; i += VL) adam_vec(k, p, g, m, v, i, v_mask(VL));
    if (i < hi) adam_vec(k, p, g, m, v, i, v_mask((int)(hi - i)));
}
#else
static void adam_range(const adam_k *k, float *restrict p, const float *restrict g,
                       float *restrict m, float *restrict v, long lo, long hi) {
    for (long i = lo; i < hi; i++) {
        const float gi = g[i];
        const float mi = k->b1 * m[i] + (1.0f - k->b1) * gi;
        const float vi = k->b2 * v[i] + (1.0f - k->b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i] * k->decay - k->lr_c1 * mi / (sqrtf(vi * k->c2) + k->eps);
    }
}

#endif

typedef struct adam_job {
    adam_k k;
    float *p, *m, *v;
    const float *g;
} adam_job;

static void adam_job_range(const void *arg, long lo, long hi) {
    const adam_job *j = arg;
    adam_range(&j->k, j->p, j->g, j->m, j->v, lo, hi);
}

void adam_step(nl_optimizer *o, float lr, float *restrict p, const float *restrict g) {
    adam_job j = {.p = p, .g = g, .m = o->m, .v = o->v};
    j.k.b1 = o->cfg.beta1;
    j.k.b2 = o->cfg.beta2;
    j.k.eps = o->cfg.eps;
    j.k.lr_c1 = lr / (1.0f - powf(j.k.b1, (float)o->t));
    j.k.c2 = 1.0f / (1.0f - powf(j.k.b2, (float)o->t));
    j.k.decay = o->cfg.kind == NL_OPT_ADAMW ? 1.0f - lr * o->cfg.weight_decay : 1.0f;
    optim_for_ranges(o, adam_job_range, &j);
}
