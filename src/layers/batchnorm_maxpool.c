/* Batch normalisation followed by max pooling, run as one: the step kind
 * nl_step_bn_pool (layers/step.h; compile lowers every batchnorm -> maxpool2d
 * pair into one unless nl_compile_options.no_fuse is set, and a convolution
 * before the pair into conv_bn_pool.c's step). Same results as the two layers,
 * up to the order of float sums.
 *
 * Unfused, the batch-norm output y = scale * x + shift (NHWC, the size of x) is
 * written, read back by the pool, and in backward its gradient is written
 * densely though only the pool's winners are non-zero, then read twice more
 * (sums, dx): ~35 MB of memory traffic a step for cifar10's first pair. Fused:
 *
 *   forward, windows tiling the input (kernel == stride) and whole vectors of
 *            channels: image by image, one read of x gives the batch statistics
 *            and the pool at once. The winner of y is that of sign(gamma) * x,
 *            so pooling needs no statistics; the winners' x are kept (training),
 *            and the affine is applied to the small pooled tensor at the end. A
 *            convolution before the pair drives this image by image as it makes
 *            its output (begin / image / finish; conv_bn_pool.c).
 *   forward, other windows: the statistics (one read of x), then a pool of
 *            scale * x + shift computed on the fly (maxpool2d.h).
 *   backward: dy is dout at the winners and 0 elsewhere, so
 *               dbeta  = sum over the pooled outputs of dout
 *               dgamma = sum over the pooled outputs of dout * xhat[winner]
 *             (from the kept winners' x, else a gather from x; per-chunk
 *             partials in double added in chunk order: deterministic), then
 *             image by image, while the image is in cache,
 *               dx = k2 * x + k3 + (at the winners) k1 * dout
 *             written window by window for disjoint windows (the winner's term
 *             selected per lane), else an affine pass and a scatter-add. After
 *             a convolution, the convolution's backward asks for dx image by
 *             image (conv_bn_pool.c) and uses it in cache for its ReLU mask,
 *             bias and weight gradients: dx is never stored.
 *
 *   x, dx  [B][H][W][C]      dout, idx [B][OH][OW][C]  (idx: winner offsets in the image)
 *   scratch: the batch-norm layer's (mean, istd, work: batchnorm.h) and the
 *   pool's (idx, then the winners' x). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/parallel.h"
#include "layers/batchnorm.h"
#include "layers/batchnorm_maxpool.h"
#include "core/simd.h"
#include "layers/maxpool2d.h"
#include "layers/step.h"

/* Adds the shifted sums (x - sh) and (x - sh)^2 of pixels [p0, p1) of row xr
 * (channels [c, c + VL)) to u, v. */
static inline void row_sums(const float *xr, int p0, int p1, int C, int c, vf sh, vf *u, vf *v) {
    for (int p = p0; p < p1; p++) {
        const vf dv = v_read(xr + (size_t)p * C + c) - sh;
        *u += dv, *v += dv * dv;
    }
}

/* Whether the windows tile the input (K == S; rows or columns past the last
 * window allowed) and C is whole vectors: then forward goes image by image
 * (batchnorm_maxpool_image), training or not, and in training keeps the
 * winners' x for backward. */
int batchnorm_maxpool_tiled(const nl_layer *bn, const nl_layer *pool) {
    return pool->spec.kernel == pool->spec.stride && bn->in.c % VL == 0;
}

/* The winners' x [B][OH][OW][C]: the second half of the pool's scratch. */
static float *winners_x(const nl_layer *pool, const nl_layer_ctx *cp) {
    return cp->scratch + (size_t)cp->batch * nl_shape_size(pool->out);
}

/* The tiled forward, image by image: the batch statistics and the pool in ONE
 * read of x. The winner of y = scale * x + shift is that of sign(gamma) * x
 * (istd > 0; gamma == 0: every y equal, the first position wins, as in the
 * pool), so the pool needs no statistics: it writes the winners' x (in
 * training also a copy for backward, which then reads them instead of
 * gathering from x), and batchnorm_maxpool_finish applies the affine to the
 * small pooled tensor once the statistics are known. In training, part (chunk) t sums
 * x - tshift[t] (tshift: the first pixel of its first image) in float over a pooled row and in
 * double across rows; finish moves every part's sums to part 0's shift (x[0][c], as
 * batchnorm_statistics) and adds them in part order: deterministic for a fixed thread count. */
void batchnorm_maxpool_begin(const nl_layer *bn, const nl_layer_ctx *cb) {
    const int C = bn->in.c;
    const float *gamma = cb->params;
    float *mean, *istd;
    bn_work w;
    bn_scratch_split(cb->scratch, C, &mean, &istd, &w);
    for (int c = 0; c < C; c++) w.k3[c] = gamma[c] > 0.0f ? 1.0f : gamma[c] < 0.0f ? -1.0f : 0.0f;
    for (int t = 0; t < BN_MAX_PARTS; t++) w.tcount[t] = 0.0;
    if (!cb->training) { /* the running statistics: known now */
        batchnorm_statistics(NULL, 0, C, bn->spec.eps, bn->spec.momentum, 0, cb->state,
                             cb->state + C, mean, istd, &w, NULL);
        batchnorm_affine(gamma, gamma + C, mean, istd, C, w.k1, w.k2);
    }
}

void batchnorm_maxpool_image(void *args, int b, int t, const float *xb) {
    const batchnorm_maxpool_args *a = args;
    const nl_layer *bn = a->bn, *pool = a->pool;
    const int H = bn->in.h, W = bn->in.w, C = bn->in.c;
    const int K = pool->spec.kernel, OH = pool->out.h, OW = pool->out.w;
    const size_t oimg = (size_t)OH * OW * C;
    const int training = a->cb->training;
    float *mean, *istd;
    bn_work w;
    bn_scratch_split(a->cb->scratch, C, &mean, &istd, &w);
    float *out = a->cp->out + (size_t)b * oimg, *xw = winners_x(pool, a->cp) + (size_t)b * oimg;
    int32_t *idx = (int32_t *)(void *)a->cp->scratch + (size_t)b * oimg;
    double *p1 = w.parts + (size_t)t * 2 * C, *p2 = p1 + C;
    float *tsh = w.tshift + (size_t)t * C;
    if (training && w.tcount[t] == 0.0) { /* thread t's first image */
        memcpy(tsh, xb, (size_t)C * sizeof(float));
        for (int c = 0; c < C; c++) p1[c] = p2[c] = 0.0;
    }
    const vint iota = v_iota();
    for (int oh = 0; oh < OH; oh++) {
        for (int c = 0; c < C; c += VL) {
            const vf sh = v_read(tsh + c), s = v_read(w.k3 + c);
            vf u = {0}, v = {0};
            for (int ow = 0; ow < OW; ow++) {
                const int32_t first = (int32_t)(((size_t)oh * K * W + (size_t)ow * K) * C) + c;
                vf bx = v_read(xb + first);
                vf bs = s * bx;
                vint av = first + iota;
                vf dv = bx - sh;
                u += dv, v += dv * dv;
                for (int kh = 0; kh < K; kh++)
                    for (int kw = 0; kw < K; kw++) {
                        if (kh == 0 && kw == 0) continue;
                        const int32_t off = first + (int32_t)(((size_t)kh * W + kw) * C);
                        const vf xv = v_read(xb + off), sv = s * xv;
                        const vint m = sv > bs; /* strict: the first maximum wins */
                        bs = (vf)(((vint)sv & m) | ((vint)bs & ~m));
                        bx = (vf)(((vint)xv & m) | ((vint)bx & ~m));
                        av = ((off + iota) & m) | (av & ~m);
                        dv = xv - sh;
                        u += dv, v += dv * dv;
                    }
                const size_t o = ((size_t)oh * OW + ow) * C + c;
                v_write(out + o, bx);
                if (training) v_write(xw + o, bx);
                v_writei(idx + o, av);
            }
            if (!training) continue;
            /* pixels in no window: columns right of the last window in these rows,
               and the rows below the last pooled row */
            for (int h = oh * K; h < oh * K + K && OW * K < W; h++)
                row_sums(xb + (size_t)h * W * C, OW * K, W, C, c, sh, &u, &v);
            if (oh == OH - 1)
                for (int h = OH * K; h < H; h++)
                    row_sums(xb + (size_t)h * W * C, 0, W, C, c, sh, &u, &v);
            for (int k = 0; k < VL; k++) p1[c + k] += u[k], p2[c + k] += v[k];
        }
    }
    if (training) w.tcount[t] += (double)H * W;
}

typedef struct finish_job {
    float *out;
    const float *k1, *k2;
    int C;
} finish_job;

static void finish_chunk(void *ctx, size_t lo, size_t hi, size_t chunk) {
    const finish_job *j = ctx;
    (void)chunk;
    for (size_t q = lo; q < hi; q++)
        for (int c = 0; c < j->C; c += VL) {
            float *y = j->out + q * (size_t)j->C + c;
            v_write(y, v_read(j->k1 + c) * v_read(y) + v_read(j->k2 + c));
        }
}

void batchnorm_maxpool_finish(const nl_layer *bn, const nl_layer *pool, const nl_layer_ctx *cb,
                              const nl_layer_ctx *cp) {
    const int C = bn->in.c;
    const size_t N = (size_t)cb->batch * bn->in.h * bn->in.w;
    const float *gamma = cb->params;
    float *mean, *istd, *out = cp->out;
    bn_work w;
    bn_scratch_split(cb->scratch, C, &mean, &istd, &w);
    if (cb->training) {
        /* every thread's sums moved to thread 0's shift (d = its shift - thread 0's):
           sum (x - a0) = sum (x - at) + n d, sum (x - a0)^2 = sum (x - at)^2 + 2 d sum (x - at) + n
           d^2 */
        const float *a0 = w.tshift;
        for (int c = 0; c < C; c++) {
            double su = 0.0, sv = 0.0;
            for (int t = 0; t < BN_MAX_PARTS; t++) {
                const double n = w.tcount[t];
                if (n == 0.0) continue;
                const double d = (double)w.tshift[(size_t)t * C + c] - a0[c];
                const double u = w.parts[(size_t)t * 2 * C + c],
                             v = w.parts[(size_t)t * 2 * C + C + c];
                su += u + n * d;
                sv += v + 2.0 * d * u + n * d * d;
            }
            w.s1[c] = su, w.s2[c] = sv;
        }
        batchnorm_batch_statistics(w.s1, w.s2, a0, N, C, bn->spec.eps, bn->spec.momentum, cb->state,
                                   cb->state + C, mean, istd, cb);
        batchnorm_affine(gamma, gamma + C, mean, istd, C, w.k1, w.k2);
    }
    /* the winners' x -> y */
    const size_t q1 = (size_t)cb->batch * pool->out.h * pool->out.w;
    const finish_job j = {out, w.k1, w.k2, C};
    nl_parallel_for(q1, nl_parallel_grain_even(q1, q1 * C >= 16384), finish_chunk, (void *)&j);
}

static void images_chunk(void *ctx, size_t lo, size_t hi, size_t t) {
    const batchnorm_maxpool_args *a = ctx;
    const size_t img = nl_shape_size(a->bn->in);
    for (size_t b = lo; b < hi; b++)
        batchnorm_maxpool_image(ctx, (int)b, (int)t, a->cb->in + b * img);
}

void batchnorm_maxpool_forward(const nl_layer *bn, const nl_layer *pool, const nl_layer_ctx *cb,
                               const nl_layer_ctx *cp) {
    const int C = bn->in.c, B = cb->batch;
    const size_t N = (size_t)B * bn->in.h * bn->in.w;
    if (batchnorm_maxpool_tiled(bn, pool)) {
        const batchnorm_maxpool_args args = {bn, pool, cb, cp, 0};
        int nt = bn_threads(N, C);
        if (nt > B) nt = B;
        batchnorm_maxpool_begin(bn, cb);
        /* chunk t: images in order, the partials of part t */
        nl_parallel_for((size_t)B, nl_parallel_grain((size_t)B, (size_t)nt, 1), images_chunk,
                        (void *)&args);
        batchnorm_maxpool_finish(bn, pool, cb, cp);
        return;
    }
    float *mean, *istd;
    bn_work w;
    bn_scratch_split(cb->scratch, C, &mean, &istd, &w);
    batchnorm_statistics(cb->in, N, C, bn->spec.eps, bn->spec.momentum, cb->training, cb->state,
                         cb->state + C, mean, istd, &w, cb);
    batchnorm_affine(cb->params, cb->params + C, mean, istd, C, w.k1, w.k2);
    maxpool2d_forward_affine(pool, cb->batch, cp->out, (int32_t *)(void *)cp->scratch, cb->in, w.k1,
                             w.k2);
}

#define SUM_BLOCK 32 /* pooled rows summed in float before the double partials */
#define LANES     16

/* s1 += sum dout, s2 += sum dout * (x[winner] - mean) * istd over pooled rows
 * [r0, r1) (r1 - r0 <= SUM_BLOCK) for channels [c0, c0 + n), n <= LANES. */
static inline void pooled_block_sums(const float *dout, const int32_t *idx, const float *x,
                                     const float *xw, size_t img, int ohw, const float *mean,
                                     const float *istd, size_t r0, size_t r1, int C, int c0, int n,
                                     double *s1, double *s2) {
    if (xw && n == LANES) { /* the winners' x kept by the forward pass */
        float u[LANES] = {0}, v[LANES] = {0};
        for (size_t r = r0; r < r1; r++) {
            const float *d = dout + r * (size_t)C + c0, *xr = xw + r * (size_t)C + c0;
            for (int k = 0; k < LANES; k++) {
                u[k] += d[k];
                v[k] += d[k] * ((xr[k] - mean[c0 + k]) * istd[c0 + k]);
            }
        }
        for (int k = 0; k < LANES; k++) s1[c0 + k] += u[k], s2[c0 + k] += v[k];
        return;
    }
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

typedef struct psums_job {
    const float *dout;
    const int32_t *idx;
    const float *x, *xw;
    size_t img;
    int ohw;
    const float *mean, *istd;
    int C;
    double *parts;
} psums_job;

static void psums_chunk(void *ctx, size_t lo, size_t hi, size_t t) {
    const psums_job *j = ctx;
    const int C = j->C;
    double *p1 = j->parts + t * 2 * (size_t)C, *p2 = p1 + C;
    for (int c = 0; c < C; c++) p1[c] = p2[c] = 0.0;
    for (size_t r = lo; r < hi; r += SUM_BLOCK) {
        const size_t r1 = hi - r < SUM_BLOCK ? hi : r + SUM_BLOCK;
        for (int c0 = 0; c0 < C; c0 += LANES)
            pooled_block_sums(j->dout, j->idx, j->x, j->xw, j->img, j->ohw, j->mean, j->istd, r, r1,
                              C, c0, C - c0 < LANES ? C - c0 : LANES, p1, p2);
    }
}

void batchnorm_maxpool_backward_params(const nl_layer *bn, const nl_layer *pool,
                                       const nl_layer_ctx *cb, const nl_layer_ctx *cp) {
    const int C = bn->in.c, B = cb->batch;
    const size_t img = (size_t)bn->in.h * bn->in.w * C, N = (size_t)B * bn->in.h * bn->in.w;
    const int ohw = pool->out.h * pool->out.w;
    const size_t M = (size_t)B * ohw; /* pooled rows */
    const float *x = cb->in, *dout = cp->dout, *gamma = cb->params;
    const int32_t *idx = (const int32_t *)(const void *)cp->scratch;
    /* the winners' x, kept by a tiled training forward; else gathered from x */
    const float *xw =
        cb->training && batchnorm_maxpool_tiled(bn, pool) ? winners_x(pool, cp) : NULL;
    float *mean, *istd;
    bn_work w;
    bn_scratch_split(cb->scratch, C, &mean, &istd, &w);
    int nt = bn_threads(M, C);
    if (nt > B) nt = B;
    /* sums over the pooled rows: chunk t a contiguous block, partial t */
    const psums_job j = {dout, idx, x, xw, img, ohw, mean, istd, C, w.parts};
    const size_t grain = nl_parallel_grain(M, (size_t)nt, 1);
    nl_parallel_for(M, grain, psums_chunk, (void *)&j);
    const int nused = (int)nl_parallel_chunks(M, grain);
    /* partials in chunk order, then the coefficients */
    bn_add_partials(w.parts, nused, C, w.s1, w.s2);
    batchnorm_backward_coeffs(w.s1, w.s2, gamma, mean, istd, N, C, cb->training, cb->grads,
                              cb->grads + C, w.k1, w.k2, w.k3, cb);
}

/* v where x > 0, else 0: the derivative of the ReLU that made x applied. */
static inline vf where_pos(vf v, vf x) {
    return (vf)((vint)v & (x > 0.0f));
}

/* di [n][C] = k2 * xi + k3 for n pixels (zero where xi <= 0 when relu). */
static void dx_affine(float *di, const float *xi, size_t n, int C, const float *k2, const float *k3,
                      int relu) {
    for (size_t o = 0; o < n * (size_t)C; o += (size_t)C) {
        int c = 0;
        for (; c + VL <= C; c += VL) {
            const vf x = v_read(xi + o + c), v = v_read(k2 + c) * x + v_read(k3 + c);
            v_write(di + o + c, relu ? where_pos(v, x) : v);
        }
        for (; c < C; c++) {
            const float v = k2[c] * xi[o + c] + k3[c];
            di[o + c] = relu && !(xi[o + c] > 0.0f) ? 0.0f : v;
        }
    }
}

/* The 2x2, stride-2 windows of batchnorm_maxpool_dx_image for C = NVEC * VL
 * channels, NVEC a constant: the coefficients stay in registers and the
 * loops unroll. */
static inline __attribute__((always_inline)) void
dx_windows_2x2(float *di, const float *xi, const float *d, const int32_t *ix, int OH, int OW, int W,
               const float *k1, const float *k2, const float *k3, int relu, const int NVEC) {
    const int C = NVEC * VL;
    vf c1[4], c2[4], c3[4];
    for (int v = 0; v < NVEC; v++)
        c1[v] = v_read(k1 + v * VL), c2[v] = v_read(k2 + v * VL), c3[v] = v_read(k3 + v * VL);
    const vint iota = v_iota();
    for (int oh = 0; oh < OH; oh++)
        for (int ow = 0; ow < OW; ow++) {
            const size_t o = ((size_t)oh * OW + ow) * C;
            const int32_t base = (int32_t)(((size_t)oh * 2 * W + (size_t)ow * 2) * C);
            vf g[4];
            vint w[4];
            for (int v = 0; v < NVEC; v++)
                g[v] = c1[v] * v_read(d + o + v * VL), w[v] = v_readi(ix + o + v * VL) - iota;
            for (int kh = 0; kh < 2; kh++)
                for (int kw = 0; kw < 2; kw++) {
                    const int32_t off = base + (int32_t)(((size_t)kh * W + kw) * C);
                    for (int v = 0; v < NVEC; v++) {
                        const vint m = w[v] == off + v * VL;
                        const vf x = v_read(xi + off + v * VL);
                        const vf r = c2[v] * x + c3[v] + (vf)((vint)g[v] & m);
                        v_write(di + off + v * VL, relu ? where_pos(r, x) : r);
                    }
                }
        }
}

void batchnorm_maxpool_dx_image(void *args, int b, const float *xi, float *di) {
    const batchnorm_maxpool_args *a = args;
    const int C = a->bn->in.c, H = a->bn->in.h, W = a->bn->in.w;
    const int OH = a->pool->out.h, OW = a->pool->out.w, K = a->pool->spec.kernel,
              S = a->pool->spec.stride;
    const size_t oimg = (size_t)OH * OW * C;
    float *mean, *istd;
    bn_work w;
    bn_scratch_split(a->cb->scratch, C, &mean, &istd, &w);
    const float *k1 = w.k1, *k2 = w.k2, *k3 = w.k3;
    const float *d = a->cp->dout + (size_t)b * oimg;
    const int32_t *ix = (const int32_t *)(const void *)a->cp->scratch + (size_t)b * oimg;
    const int relu = a->relu;
    if (K > S) { /* overlapping windows: affine everywhere, then the winners' part added */
        dx_affine(di, xi, (size_t)H * W, C, k2, k3, 0);
        for (size_t o = 0; o < oimg; o += (size_t)C)
            for (int c = 0; c < C; c++) di[ix[o + c]] += k1[c] * d[o + c];
        if (relu)
            for (size_t k = 0; k < (size_t)H * W * C; k++)
                if (!(xi[k] > 0.0f)) di[k] = 0.0f;
        return;
    }
    /* disjoint windows: each position written once, window by window, with the
       winner's term selected by lane (no scatter); positions in no window (the
       last rows or columns, or gaps when S > K) get the affine part alone */
    if (!(K == S && OH * S == H && OW * S == W)) dx_affine(di, xi, (size_t)H * W, C, k2, k3, relu);
    if (K == 2 && S == 2 && C == 2 * VL) { /* cifar10's first pair: constants in registers */
        dx_windows_2x2(di, xi, d, ix, OH, OW, W, k1, k2, k3, relu, 2);
        return;
    }
    if (K == 2 && S == 2 && C == 4 * VL) {
        dx_windows_2x2(di, xi, d, ix, OH, OW, W, k1, k2, k3, relu, 4);
        return;
    }
    for (int oh = 0; oh < OH; oh++)
        for (int ow = 0; ow < OW; ow++) {
            const size_t o = ((size_t)oh * OW + ow) * C;
            const int32_t base = (int32_t)(((size_t)oh * S * W + (size_t)ow * S) * C);
            for (int kh = 0; kh < K; kh++)
                for (int kw = 0; kw < K; kw++) {
                    const int32_t off = base + (int32_t)(((size_t)kh * W + kw) * C);
                    int c = 0;
                    for (; c + VL <= C; c += VL) {
                        const vint m = v_readi(ix + o + c) == (off + c) + v_iota();
                        const vf g = (vf)((vint)(v_read(k1 + c) * v_read(d + o + c)) & m);
                        const vf x = v_read(xi + off + c),
                                 v = v_read(k2 + c) * x + v_read(k3 + c) + g;
                        v_write(di + off + c, relu ? where_pos(v, x) : v);
                    }
                    for (; c < C; c++) {
                        const float v = k2[c] * xi[off + c] + k3[c] +
                                        (ix[o + c] == off + c ? k1[c] * d[o + c] : 0.0f);
                        di[off + c] = relu && !(xi[off + c] > 0.0f) ? 0.0f : v;
                    }
                }
        }
}

static void dx_chunk(void *ctx, size_t lo, size_t hi, size_t chunk) {
    const batchnorm_maxpool_args *a = ctx;
    const size_t img = nl_shape_size(a->bn->in);
    (void)chunk;
    for (size_t b = lo; b < hi; b++)
        batchnorm_maxpool_dx_image(ctx, (int)b, a->cb->in + b * img, a->cb->din + b * img);
}

void batchnorm_maxpool_backward(const nl_layer *bn, const nl_layer *pool, const nl_layer_ctx *cb,
                                const nl_layer_ctx *cp) {
    batchnorm_maxpool_backward_params(bn, pool, cb, cp);
    if (!cb->din) return;
    const batchnorm_maxpool_args a = {bn, pool, cb, cp, 0};
    int nt = bn_threads((size_t)cb->batch * bn->in.h * bn->in.w, bn->in.c);
    if (nt > cb->batch) nt = cb->batch;
    nl_parallel_for((size_t)cb->batch, nl_parallel_grain((size_t)cb->batch, (size_t)nt, 1),
                    dx_chunk, (void *)&a);
}

int batchnorm_maxpool_fusable(const nl_layer *a, const nl_layer *b) {
    return a->spec.kind == NL_LAYER_BATCHNORM && b->spec.kind == NL_LAYER_MAXPOOL2D &&
           a->out.c == b->in.c && a->out.h == b->in.h && a->out.w == b->in.w;
}

/* ---- the step kind ---- */

static int step_matches(const nl_layer *L) {
    return batchnorm_maxpool_fusable(&L[0], &L[1]);
}

static void step_forward(const nl_step *s, const nl_layer *L, const nl_layer_ctx *c) {
    (void)s;
    batchnorm_maxpool_forward(&L[0], &L[1], &c[0], &c[1]);
}

static void step_backward(const nl_step *s, const nl_layer *L, const nl_layer_ctx *c) {
    (void)s;
    batchnorm_maxpool_backward(&L[0], &L[1], &c[0], &c[1]);
}

/* The batch-norm output is never stored. */
const nl_step_ops nl_step_bn_pool = {
    .name = "batchnorm+pool",
    .count = 2,
    .matches = step_matches,
    .stored = 2,
    .forward = step_forward,
    .backward = step_backward,
};
