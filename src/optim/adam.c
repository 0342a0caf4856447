/* Adam and AdamW (decoupled weight decay, Loshchilov & Hutter).
 *
 * Elementwise, so splitting across threads never changes the result. The
 * exact form needs a square root and a division per parameter, and those two
 * dominate an optimizer step of a small model (they, not memory, bound it).
 * With AVX-512 the step uses the 14-bit reciprocal square root and reciprocal
 * estimates, each refined by one Newton-Raphson iteration (to ~1e-7 relative:
 * float rounding level), which is faster. */
#include <math.h>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "optim/optim_impl.h"

typedef struct adam_k {
    float b1, b2, eps, lr_c1, c2, decay;
} adam_k;

#if defined(__AVX512F__)
/* 16 parameters from i; lanes outside mask are neither read nor written. */
static inline void adam16(const adam_k *k, float *restrict p, const float *restrict g,
                          float *restrict m, float *restrict v, long i, __mmask16 lanes) {
    const __m512 b1 = _mm512_set1_ps(k->b1), nb1 = _mm512_set1_ps(1.0f - k->b1);
    const __m512 b2 = _mm512_set1_ps(k->b2), nb2 = _mm512_set1_ps(1.0f - k->b2);
    const __m512 c2 = _mm512_set1_ps(k->c2), eps = _mm512_set1_ps(k->eps);
    const __m512 lr_c1 = _mm512_set1_ps(k->lr_c1), decay = _mm512_set1_ps(k->decay);
    const __m512 half = _mm512_set1_ps(0.5f), three_halves = _mm512_set1_ps(1.5f);
    const __m512 two = _mm512_set1_ps(2.0f), zero = _mm512_setzero_ps();
    __m512 gi = _mm512_maskz_loadu_ps(lanes, g + i);
    __m512 mi = _mm512_fmadd_ps(b1, _mm512_maskz_loadu_ps(lanes, m + i), _mm512_mul_ps(nb1, gi));
    __m512 vi = _mm512_fmadd_ps(b2, _mm512_maskz_loadu_ps(lanes, v + i),
                                _mm512_mul_ps(nb2, _mm512_mul_ps(gi, gi)));
    _mm512_mask_storeu_ps(m + i, lanes, mi);
    _mm512_mask_storeu_ps(v + i, lanes, vi);
    __m512 vh = _mm512_mul_ps(vi, c2);
    /* s = sqrt(vh) = vh * rsqrt(vh), 0 where vh == 0 */
    __m512 r = _mm512_rsqrt14_ps(vh);
    r = _mm512_mul_ps(r,
                      _mm512_fnmadd_ps(_mm512_mul_ps(half, vh), _mm512_mul_ps(r, r), three_halves));
    __mmask16 pos = _mm512_cmp_ps_mask(vh, zero, _CMP_GT_OQ);
    __m512 d = _mm512_add_ps(_mm512_maskz_mul_ps(pos, vh, r), eps);
    /* q = 1 / d */
    __m512 q = _mm512_rcp14_ps(d);
    q = _mm512_mul_ps(q, _mm512_fnmadd_ps(d, q, two));
    __m512 step = _mm512_mul_ps(_mm512_mul_ps(lr_c1, mi), q);
    _mm512_mask_storeu_ps(p + i, lanes,
                          _mm512_fmsub_ps(_mm512_maskz_loadu_ps(lanes, p + i), decay, step));
}

/* Every element goes through the same vector arithmetic (the tail with a
 * lane mask), so a parameter's update does not depend on where a thread's
 * range starts or ends: results are the same for any split. */
static void adam_range(const adam_k *k, float *restrict p, const float *restrict g,
                       float *restrict m, float *restrict v, long lo, long hi) {
    long i = lo;
    for (; i + 16 <= hi; i += 16) adam16(k, p, g, m, v, i, 0xFFFF);
    if (i < hi) adam16(k, p, g, m, v, i, (__mmask16)((1u << (hi - i)) - 1));
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

void adam_step(nl_optimizer *o, float *restrict p, const float *restrict g) {
    adam_job j = {.p = p, .g = g, .m = o->m, .v = o->v};
    j.k.b1 = o->cfg.beta1;
    j.k.b2 = o->cfg.beta2;
    j.k.eps = o->cfg.eps;
    j.k.lr_c1 = o->cfg.lr / (1.0f - powf(j.k.b1, (float)o->t));
    j.k.c2 = 1.0f / (1.0f - powf(j.k.b2, (float)o->t));
    j.k.decay = o->cfg.kind == NL_OPT_ADAMW ? 1.0f - o->cfg.lr * o->cfg.weight_decay : 1.0f;
    optim_for_ranges(o, adam_job_range, &j);
}
