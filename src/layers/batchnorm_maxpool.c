/* Batch normalisation followed by max pooling, run as one (the model fuses
 * every batchnorm -> maxpool2d pair; NNLAB_FUSE=0 in the environment turns it
 * off). Same results as the two layers, up to the order of float sums.
 *
 * Unfused, the batch-norm output y = scale * x + shift (NHWC, the size of x) is
 * written, read back by the pool, and in backward its gradient is written
 * densely though only the pool's winners are non-zero, then read twice more
 * (sums, dx). On the cifar10 model that is ~35 MB of memory traffic a step for
 * the first pair. Fused:
 *
 *   forward:  statistics of x (one read), then the pool reads x once more and
 *             takes the maximum of scale[c] * x + shift[c] on the fly (scale may
 *             be negative: the winner is that of y, not of x); y never exists.
 *   backward: dy is dout at the winners and 0 elsewhere, so
 *               dbeta  = sum over the pooled outputs of dout
 *               dgamma = sum over the pooled outputs of dout * xhat[winner]
 *             (a gather over the small pooled tensor, per-thread partials in
 *             double added in thread order: deterministic), then per image
 *               dx = k2 * x + k3             (every position: through the mean
 *                                             and variance of the batch)
 *               dx[winner] += k1 * dout      (scatter; += also serves
 *                                             overlapping windows)
 *             while the image is in cache: x read once, dx written once.
 *             After a convolution, the model has the convolution's backward ask
 *             for dx image by image (nl_layer_ctx.dout_fn): dx then never
 *             leaves the cache, it is used there for conv's relu mask, bias and
 *             weight gradients.
 *
 *   x, dx  [B][H][W][C]      dout, idx [B][OH][OW][C]  (idx: winner offsets in the image)
 *   scratch: the batch-norm layer's (mean, istd, work) and the pool's (idx). */
#include <omp.h>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif
#include <stdint.h>
#include <string.h>

#include "layers/batchnorm.h"
#include "layers/batchnorm_maxpool.h"
#include "layers/maxpool2d.h"

void batchnorm_maxpool_forward(const nl_layer *bn, const nl_layer *pool, const nl_layer_ctx *cb,
                               const nl_layer_ctx *cp) {
    const int C = bn->in.c;
    const size_t N = (size_t)cb->batch * bn->in.h * bn->in.w;
    float *mean, *istd;
    bn_work w;
    bn_scratch_split(cb->scratch, C, &mean, &istd, &w);
    batchnorm_statistics(cb->in, N, C, bn->spec.eps, bn->spec.momentum, cb->training, cb->state,
                         cb->state + C, mean, istd, &w);
    batchnorm_affine(cb->params, cb->params + C, mean, istd, C, w.k1, w.k2);
    maxpool2d_forward_affine(pool, cb->batch, cp->out, (int32_t *)(void *)cp->scratch, cb->in, w.k1,
                             w.k2);
}

#define SUM_BLOCK 32 /* pooled rows summed in float before the double partials */
#define LANES     16

/* s1 += sum dout, s2 += sum dout * (x[winner] - mean) * istd over pooled rows
 * [r0, r1) (r1 - r0 <= SUM_BLOCK) for channels [c0, c0 + n), n <= LANES. */
static inline void pooled_block_sums(const float *dout, const int32_t *idx, const float *x,
                                     size_t img, int ohw, const float *mean, const float *istd,
                                     size_t r0, size_t r1, int C, int c0, int n, double *s1,
                                     double *s2) {
#if defined(__AVX512F__)
    if (n == LANES) { /* the winners' x by one gather per row */
        __m512 u = _mm512_setzero_ps(), v = _mm512_setzero_ps();
        const __m512 mu = _mm512_loadu_ps(mean + c0), is = _mm512_loadu_ps(istd + c0);
        for (size_t r = r0; r < r1; r++) {
            const float *xi = x + (r / (size_t)ohw) * img;
            const __m512 d = _mm512_loadu_ps(dout + r * (size_t)C + c0);
            const __m512i ix = _mm512_loadu_si512((const void *)(idx + r * (size_t)C + c0));
            const __m512 xw = _mm512_i32gather_ps(ix, xi, 4);
            u = _mm512_add_ps(u, d);
            v = _mm512_fmadd_ps(d, _mm512_mul_ps(_mm512_sub_ps(xw, mu), is), v);
        }
        float uu[LANES], vv[LANES];
        _mm512_storeu_ps(uu, u);
        _mm512_storeu_ps(vv, v);
        for (int k = 0; k < LANES; k++) s1[c0 + k] += uu[k], s2[c0 + k] += vv[k];
        return;
    }
#endif
    float u[LANES] = {0}, v[LANES] = {0};
    for (size_t r = r0; r < r1; r++) {
        const float *xi = x + (r / (size_t)ohw) * img;
        const float *d = dout + r * (size_t)C + c0;
        const int32_t *ix = idx + r * (size_t)C + c0;
        for (int k = 0; k < n; k++) {
            u[k] += d[k];
            v[k] += d[k] * ((xi[ix[k]] - mean[c0 + k]) * istd[c0 + k]);
        }
    }
    for (int k = 0; k < n; k++) s1[c0 + k] += u[k], s2[c0 + k] += v[k];
}

void batchnorm_maxpool_backward_params(const nl_layer *bn, const nl_layer *pool,
                                       const nl_layer_ctx *cb, const nl_layer_ctx *cp) {
    const int C = bn->in.c, B = cb->batch;
    const size_t img = (size_t)bn->in.h * bn->in.w * C, N = (size_t)B * bn->in.h * bn->in.w;
    const int ohw = pool->out.h * pool->out.w;
    const size_t M = (size_t)B * ohw; /* pooled rows */
    const float *x = cb->in, *dout = cp->dout, *gamma = cb->params;
    const int32_t *idx = (const int32_t *)(const void *)cp->scratch;
    float *mean, *istd;
    bn_work w;
    bn_scratch_split(cb->scratch, C, &mean, &istd, &w);
    int nt = bn_threads(M, C);
    if (nt > B) nt = B;
#pragma omp parallel num_threads(nt)
    {
        const int t = omp_get_thread_num(), nth = omp_get_num_threads();
        /* sums over the pooled rows: thread t a contiguous block */
        const size_t lo = M * (size_t)t / (size_t)nth, hi = M * (size_t)(t + 1) / (size_t)nth;
        double *p1 = w.parts + (size_t)t * 2 * C, *p2 = p1 + C;
        for (int c = 0; c < C; c++) p1[c] = p2[c] = 0.0;
        for (size_t r = lo; r < hi; r += SUM_BLOCK) {
            const size_t r1 = hi - r < SUM_BLOCK ? hi : r + SUM_BLOCK;
            for (int c0 = 0; c0 < C; c0 += LANES)
                pooled_block_sums(dout, idx, x, img, ohw, mean, istd, r, r1, C, c0,
                                  C - c0 < LANES ? C - c0 : LANES, p1, p2);
        }
#pragma omp barrier
        /* partials in thread order, then the coefficients */
#pragma omp single
        {
            for (int c = 0; c < C; c++) {
                double u = 0.0, v = 0.0;
                for (int k = 0; k < nth; k++) {
                    u += w.parts[(size_t)k * 2 * C + c];
                    v += w.parts[(size_t)k * 2 * C + C + c];
                }
                w.s1[c] = u, w.s2[c] = v;
            }
            batchnorm_backward_coeffs(w.s1, w.s2, gamma, mean, istd, N, C, cb->training, cb->grads,
                                      cb->grads + C, w.k1, w.k2, w.k3);
        }
    }
}

void batchnorm_maxpool_dx_image(void *args, int b, float *di) {
    const batchnorm_maxpool_args *a = args;
    const int C = a->bn->in.c;
    const size_t img = (size_t)a->bn->in.h * a->bn->in.w * C;
    const size_t oimg = (size_t)a->pool->out.h * a->pool->out.w * C;
    float *mean, *istd;
    bn_work w;
    bn_scratch_split(a->cb->scratch, C, &mean, &istd, &w);
    const float *k1 = w.k1, *k2 = w.k2, *k3 = w.k3;
    const float *xi = a->cb->in + (size_t)b * img;
    for (size_t o = 0; o < img; o += (size_t)C)
        for (int c = 0; c < C; c++) di[o + c] = k2[c] * xi[o + c] + k3[c];
    const float *d = a->cp->dout + (size_t)b * oimg;
    const int32_t *ix = (const int32_t *)(const void *)a->cp->scratch + (size_t)b * oimg;
    for (size_t o = 0; o < oimg; o += (size_t)C)
        for (int c = 0; c < C; c++) di[ix[o + c]] += k1[c] * d[o + c];
}

void batchnorm_maxpool_backward(const nl_layer *bn, const nl_layer *pool, const nl_layer_ctx *cb,
                                const nl_layer_ctx *cp) {
    batchnorm_maxpool_backward_params(bn, pool, cb, cp);
    if (!cb->din) return;
    const batchnorm_maxpool_args a = {bn, pool, cb, cp};
    const size_t img = nl_shape_size(bn->in);
    int nt = bn_threads((size_t)cb->batch * bn->in.h * bn->in.w, bn->in.c);
    if (nt > cb->batch) nt = cb->batch;
#pragma omp parallel for schedule(static) num_threads(nt)
    for (int b = 0; b < cb->batch; b++)
        batchnorm_maxpool_dx_image((void *)&a, b, cb->din + (size_t)b * img);
}

int batchnorm_maxpool_fusable(const nl_layer *a, const nl_layer *b) {
    return a->spec.kind == NL_LAYER_BATCHNORM && b->spec.kind == NL_LAYER_MAXPOOL2D &&
           a->out.c == b->in.c && a->out.h == b->in.h && a->out.w == b->in.w;
}
