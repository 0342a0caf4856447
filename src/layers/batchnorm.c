/* Batch normalisation over channels.
 *
 * Activations are NHWC, so the channel is the fastest index: a batch is
 * N = B*H*W rows of C floats and the per-channel statistics are per-lane sums
 * over the rows (they vectorise along C).
 *
 *   training:  mean, var = batch statistics per channel (biased var), computed
 *              in ONE pass: sum and sum of squares of x - x[0] (shifted data:
 *              no cancellation when the mean is large), in float over blocks
 *              of 32 rows (registers), in double across blocks; each chunk
 *              sums a contiguous block of rows, partials added in chunk order
 *              y = (x - mean) / sqrt(var + eps) * gamma + beta
 *              running_mean = (1 - m) * running_mean + m * mean
 *              running_var  = (1 - m) * running_var  + m * var * N / (N - 1)
 *              (PyTorch convention: m = momentum = weight of the new batch,
 *              running variance from the unbiased batch variance)
 *   eval:      the same with the running statistics.
 *   backward:  xhat = (x - mean) * istd, dbeta = sum dy, dgamma = sum dy * xhat
 *              training: dx = gamma * istd * (dy - dbeta / N - xhat * dgamma / N)
 *              eval:     dx = gamma * istd * dy
 *
 * Parameters: gamma [C] then beta [C]. State: running mean [C] then running
 * var [C]. Scratch: mean [C] and istd [C] of the last forward, then the work
 * area of batchnorm.h (coefficients and per-part partial sums).
 *
 * Followed by a max pool, the model runs both as one (batchnorm_maxpool.c),
 * from the building blocks declared in batchnorm.h. */
#include <math.h>
#include <string.h>

#include "core/parallel.h"
#include "layers/batchnorm.h"
#include "core/simd.h"
#include "layers/layer.h"

/* Parts for N rows of C: at most BN_MAX_PARTS (nl_parallel_parts), one for
 * small inputs. */
int bn_threads(size_t N, int C) {
    if (N * (size_t)C < 16384) return 1; /* not worth waking the threads */
    return (int)nl_parallel_parts(N, BN_MAX_PARTS);
}

#define BN_BLOCK_ROWS 32 /* rows summed in float before adding to the double sums */

/* Adds the sums over rows [r0, r1) (at most BN_BLOCK_ROWS) of d and d*d with
 * d = a - shift (b == NULL), or of a and a*(b - shift)*scale, for channels
 * [c0, c0 + n), n <= VL, to s1/s2 (double). The float partials stay in
 * registers for n == VL. */
static inline void block_sums(const float *a, const float *b, const float *shift,
                              const float *scale, size_t r0, size_t r1, int C, int c0, int n,
                              double *s1, double *s2) {
    if (n == VL) {
        vf u = {0}, v = {0};
        const vf sh = v_read(shift + c0);
        if (!b) {
            for (size_t r = r0; r < r1; r++) {
                const vf x = v_read(a + r * (size_t)C + c0) - sh;
                u += x;
                v += x * x;
            }
        } else {
            const vf sc = v_read(scale + c0);
            for (size_t r = r0; r < r1; r++) {
                const vf x = v_read(a + r * (size_t)C + c0);
                const vf xh = (v_read(b + r * (size_t)C + c0) - sh) * sc;
                u += x;
                v += x * xh;
            }
        }
        for (int k = 0; k < VL; k++) s1[c0 + k] += u[k], s2[c0 + k] += v[k];
        return;
    }
    float u[VL] = {0}, v[VL] = {0};
    for (size_t r = r0; r < r1; r++) {
        const float *ar = a + r * (size_t)C + c0;
        const float *br = b ? b + r * (size_t)C + c0 : NULL;
        for (int k = 0; k < n; k++) {
            const float x = br ? ar[k] : ar[k] - shift[c0 + k];
            u[k] += x;
            v[k] += br ? x * ((br[k] - shift[c0 + k]) * scale[c0 + k]) : x * x;
        }
    }
    for (int k = 0; k < n; k++) s1[c0 + k] += u[k], s2[c0 + k] += v[k];
}

/* Per-channel sums of d and d*d with d = a - shift (b == NULL: shifted data,
 * shift close to the mean keeps the variance free of cancellation), or of a
 * and a*(b - shift)*scale (dy and dy*xhat), over rows [0, N) of C floats, in
 * double: each chunk sums a contiguous block of rows (32 rows at a time in
 * float registers), and the chunk partials are added in chunk order.
 * parts: 2*C doubles per chunk. */
typedef struct sums_job {
    const float *a, *b, *shift, *scale;
    int C;
    double *parts;
} sums_job;

static void sums_chunk(void *ctx, size_t lo, size_t hi, size_t t) {
    const sums_job *j = ctx;
    const int C = j->C;
    double *p1 = j->parts + t * 2 * (size_t)C, *p2 = p1 + C;
    for (int c = 0; c < C; c++) p1[c] = p2[c] = 0.0;
    for (size_t r = lo; r < hi; r += BN_BLOCK_ROWS) {
        const size_t r1 = hi - r < BN_BLOCK_ROWS ? hi : r + BN_BLOCK_ROWS;
        for (int c0 = 0; c0 < C; c0 += VL) {
            const int n = C - c0 < VL ? C - c0 : VL;
            block_sums(j->a, j->b, j->shift, j->scale, r, r1, C, c0, n, p1, p2);
        }
    }
}

static void channel_sums(const float *a, const float *b, const float *shift, const float *scale,
                         size_t N, int C, double *s1, double *s2, double *parts) {
    const sums_job j = {a, b, shift, scale, C, parts};
    const size_t grain = nl_parallel_grain(N, (size_t)bn_threads(N, C), 1);
    nl_parallel_for(N, grain, sums_chunk, (void *)&j);
    bn_add_partials(parts, (int)nl_parallel_chunks(N, grain), C, s1, s2);
}

void bn_add_partials(const double *parts, int nparts, int C, double *s1, double *s2) {
    for (int c = 0; c < C; c++) {
        double u = 0.0, v = 0.0;
        for (int k = 0; k < nparts; k++) {
            u += parts[(size_t)k * 2 * C + c];
            v += parts[(size_t)k * 2 * C + C + c];
        }
        s1[c] = u, s2[c] = v;
    }
}

/* out = k1[c] * a + k2[c] * b + k3[c] over N rows of C channels (b == NULL:
 * no k2 term). Whole rows per thread; 16-channel chunks when C allows. */
typedef struct affine_job {
    float *out;
    const float *a, *b, *k1, *k2, *k3;
    int C;
} affine_job;

static void affine_chunk(void *ctx, size_t lo, size_t hi, size_t chunk) {
    const affine_job *j = ctx;
    float *out = j->out;
    const float *a = j->a, *b = j->b, *k1 = j->k1, *k2 = j->k2, *k3 = j->k3;
    const int C = j->C;
    (void)chunk;
    if (C % VL == 0) {
        for (size_t r = lo; r < hi; r++) {
            const size_t o = r * (size_t)C;
            for (int c = 0; c < C; c += VL) {
                vf v = v_read(k1 + c) * v_read(a + o + c) + v_read(k3 + c);
                if (b) v += v_read(k2 + c) * v_read(b + o + c);
                v_write(out + o + c, v);
            }
        }
        return;
    }
    for (size_t r = lo; r < hi; r++) {
        const size_t o = r * (size_t)C;
        for (int c = 0; c < C; c++)
            out[o + c] = k1[c] * a[o + c] + (b ? k2[c] * b[o + c] : 0.0f) + k3[c];
    }
}

static void channel_affine(float *out, const float *a, const float *b, const float *k1,
                           const float *k2, const float *k3, size_t N, int C) {
    const affine_job j = {out, a, b, k1, k2, k3, C};
    nl_parallel_for(N, nl_parallel_grain(N, (size_t)bn_threads(N, C), 1), affine_chunk, (void *)&j);
}

/* Synchronised batch norm: the sums over every process, each process's in
 * units of the loss of the global batch (its mean loss weighed by its share
 * of the samples: times its batch, summed, over its batch again, as the
 * gradient it flows into); returns the rows of all. */
static size_t bn_sum_all(const nl_layer_ctx *sync, double *s1, double *s2, size_t N, int C,
                         double weight) {
    for (int c = 0; c < C; c++) s1[c] *= weight, s2[c] *= weight;
    double n = (double)N;
    sync->bn_sum(sync->bn_user, s1, (size_t)C);
    sync->bn_sum(sync->bn_user, s2, (size_t)C);
    sync->bn_sum(sync->bn_user, &n, 1);
    for (int c = 0; c < C; c++) s1[c] /= weight, s2[c] /= weight;
    return (size_t)n;
}

void batchnorm_batch_statistics(double *s1, double *s2, const float *shift, size_t N, int C,
                                float eps, float momentum, float *run_mean, float *run_var,
                                float *mean, float *istd, const nl_layer_ctx *sync) {
    if (sync && sync->bn_sum) {
        /* to one shift on every process, the running mean (the same on all):
           sum (x - r) = sum (x - a) + N d, sum (x - r)^2 = sum (x - a)^2 + 2 d sum (x - a)
           + N d^2 with d = a - r */
        for (int c = 0; c < C; c++) {
            const double d = (double)shift[c] - (double)run_mean[c];
            s2[c] += 2.0 * d * s1[c] + (double)N * d * d;
            s1[c] += (double)N * d;
        }
        N = bn_sum_all(sync, s1, s2, N, C, 1.0);
        shift = run_mean; /* read before it is updated, channel by channel */
    }
    for (int c = 0; c < C; c++) {
        const double d = s1[c] / (double)N, mu = (double)shift[c] + d;
        double var = s2[c] / (double)N - d * d;
        if (var < 0.0) var = 0.0;
        mean[c] = (float)mu;
        istd[c] = (float)(1.0 / sqrt(var + (double)eps));
        const double unbiased = N > 1 ? var * (double)N / (double)(N - 1) : var;
        run_mean[c] = (1.0f - momentum) * run_mean[c] + momentum * (float)mu;
        run_var[c] = (1.0f - momentum) * run_var[c] + momentum * (float)unbiased;
    }
}

void batchnorm_statistics(const float *x, size_t N, int C, float eps, float momentum, int training,
                          float *run_mean, float *run_var, float *mean, float *istd, bn_work *w,
                          const nl_layer_ctx *sync) {
    if (training) {
        double *s1 = w->s1, *s2 = w->s2, *parts = w->parts;
        /* sums of x - x[0][c]: the first row is a sample of each channel, so
         * the shifted values are of the order of the standard deviation */
        channel_sums(x, NULL, x, NULL, N, C, s1, s2, parts);
        batchnorm_batch_statistics(s1, s2, x, N, C, eps, momentum, run_mean, run_var, mean, istd,
                                   sync);
    } else {
        for (int c = 0; c < C; c++) {
            mean[c] = run_mean[c];
            istd[c] = (float)(1.0 / sqrt((double)run_var[c] + (double)eps));
        }
    }
}

void batchnorm_affine(const float *gamma, const float *beta, const float *mean, const float *istd,
                      int C, float *scale, float *shift) {
    for (int c = 0; c < C; c++) {
        scale[c] = gamma[c] * istd[c];
        shift[c] = beta[c] - mean[c] * scale[c];
    }
}

/* x, y [N][C]; gamma, beta [C]; running mean/var [C] (updated in training);
 * mean, istd [C] written for backward. */
static void batchnorm_forward(float *y, const float *x, const float *gamma, const float *beta,
                              float *run_mean, float *run_var, float *mean, float *istd, size_t N,
                              int C, float eps, float momentum, int training, bn_work *w,
                              const nl_layer_ctx *sync) {
    batchnorm_statistics(x, N, C, eps, momentum, training, run_mean, run_var, mean, istd, w, sync);
    batchnorm_affine(gamma, beta, mean, istd, C, w->k1, w->k2);
    channel_affine(y, x, NULL, w->k1, NULL, w->k2, N, C);
}

void batchnorm_backward_coeffs(double *s1, double *s2, const float *gamma, const float *mean,
                               const float *istd, size_t N, int C, int training, float *dgamma,
                               float *dbeta, float *k1, float *k2, float *k3,
                               const nl_layer_ctx *sync) {
    for (int c = 0; c < C; c++) {
        dbeta[c] = (float)s1[c];
        dgamma[c] = (float)s2[c];
    }
    if (training && sync && sync->bn_sum) N = bn_sum_all(sync, s1, s2, N, C, sync->batch);
    const double inv_n = 1.0 / (double)N;
    for (int c = 0; c < C; c++) {
        /* dx = a * (dy - dbeta/N - (x - mean) * istd * dgamma/N) = k1*dy + k2*x + k3 */
        const double a = (double)gamma[c] * istd[c];
        if (training) {
            const double mb = s1[c] * inv_n, mg = s2[c] * inv_n * istd[c];
            k1[c] = (float)a;
            k2[c] = (float)(-a * mg);
            k3[c] = (float)(a * (mg * mean[c] - mb));
        } else {
            k1[c] = (float)a;
            k2[c] = 0.0f;
            k3[c] = 0.0f;
        }
    }
}

/* dx may be NULL. dgamma, dbeta [C] are written. mean/istd from forward. */
static void batchnorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy,
                               const float *x, const float *gamma, const float *mean,
                               const float *istd, size_t N, int C, int training, bn_work *w,
                               const nl_layer_ctx *sync) {
    channel_sums(dy, x, mean, istd, N, C, w->s1, w->s2, w->parts);
    batchnorm_backward_coeffs(w->s1, w->s2, gamma, mean, istd, N, C, training, dgamma, dbeta, w->k1,
                              w->k2, w->k3, sync);
    if (dx) channel_affine(dx, dy, x, w->k1, w->k2, w->k3, N, C);
}

/* ---- ops table ---------------------------------------------------------------------- */

static nl_status plan(nl_layer *l, nl_error *err) {
    if (!(l->spec.eps > 0.0f) || !isfinite(l->spec.eps))
        return nl_error_set(err, NL_EINVAL, "batchnorm: eps must be positive (got %g)",
                            (double)l->spec.eps);
    if (!(l->spec.momentum >= 0.0f && l->spec.momentum <= 1.0f))
        return nl_error_set(err, NL_EINVAL, "batchnorm: momentum must be in [0, 1] (got %g)",
                            (double)l->spec.momentum);
    l->out = l->in;
    l->nparams = 2 * (size_t)l->in.c;
    l->nstate = 2 * (size_t)l->in.c;
    return NL_OK;
}

static size_t scratch_floats(const nl_layer *l, int max_batch) {
    (void)max_batch;
    return bn_scratch_floats(l->in.c);
}

static void init(const nl_layer *l, float *params, float *state, uint64_t seed) {
    const int C = l->in.c;
    for (int c = 0; c < C; c++) {
        params[c] = 1.0f;     /* gamma */
        params[C + c] = 0.0f; /* beta */
        state[c] = 0.0f;      /* running mean */
        state[C + c] = 1.0f;  /* running var */
    }
}

static void forward(const nl_layer *l, const nl_layer_ctx *c) {
    const int C = l->in.c;
    const size_t N = (size_t)c->batch * l->in.h * l->in.w;
    float *mean, *istd;
    bn_work w;
    bn_scratch_split(c->scratch, C, &mean, &istd, &w);
    batchnorm_forward(c->out, c->in, c->params, c->params + C, c->state, c->state + C, mean, istd,
                      N, C, l->spec.eps, l->spec.momentum, c->training, &w, c);
}

static void backward(const nl_layer *l, const nl_layer_ctx *c) {
    const int C = l->in.c;
    const size_t N = (size_t)c->batch * l->in.h * l->in.w;
    float *mean, *istd;
    bn_work w;
    bn_scratch_split(c->scratch, C, &mean, &istd, &w);
    batchnorm_backward(c->din, c->grads, c->grads + C, c->dout, c->in, c->params, mean, istd, N, C,
                       c->training, &w, c);
}

const nl_layer_ops nl_batchnorm_ops = {
    .kind = NL_LAYER_BATCHNORM,
    .name = "batchnorm",
    .plan = plan,
    .scratch_floats = scratch_floats,
    .init = init,
    .forward = forward,
    .backward = backward,
};
