/* Batch normalisation's building blocks (src/layers/batchnorm.c), shared with
 * the fused batch norm + max pool of src/layers/batchnorm_maxpool.c.
 *
 * Layer scratch: mean [C] and istd [C] of the last forward (aligned), then the
 * work area: k1, k2, k3 [C] floats (aligned), then s1, s2 [C] and per-part
 * partials [BN_MAX_PARTS][2][C] as doubles, then for the fused forward the
 * parts' shifts [BN_MAX_PARTS][C] floats and counts [BN_MAX_PARTS] doubles. */
#ifndef NNLAB_LAYERS_BATCHNORM_H
#define NNLAB_LAYERS_BATCHNORM_H

#include <stddef.h>

#define BN_MAX_PARTS 16 /* parts (chunks) that sum partials */

typedef struct bn_work {
    float *k1, *k2, *k3;     /* [C] each: forward scale, shift; backward dx coefficients */
    double *s1, *s2, *parts; /* [C], [C], [BN_MAX_PARTS][2][C] */
    float *tshift;           /* [BN_MAX_PARTS][C]: part t's sums are of x - tshift[t] */
    double *tcount;          /* [BN_MAX_PARTS]: rows part t summed */
} bn_work;

static inline size_t bn_align16(size_t n) {
    return (n + 15) / 16 * 16;
}

/* The pieces of a batch-norm layer's scratch for C channels. */
static inline void bn_scratch_split(float *scratch, int C, float **mean, float **istd, bn_work *w) {
    const size_t c = (size_t)C;
    float *work = scratch + bn_align16(2 * c);
    *mean = scratch;
    *istd = scratch + c;
    w->k1 = work, w->k2 = work + c, w->k3 = work + 2 * c;
    w->s1 = (double *)(void *)(work + bn_align16(3 * c));
    w->s2 = w->s1 + c;
    w->parts = w->s2 + c;
    w->tcount = w->parts + 2 * BN_MAX_PARTS * c;
    w->tshift = (float *)(void *)(w->tcount + BN_MAX_PARTS);
}

/* Floats of scratch for C channels. */
static inline size_t bn_scratch_floats(int C) {
    const size_t c = (size_t)C;
    return bn_align16(2 * c) + bn_align16(3 * c) + 2 * (2 + 2 * BN_MAX_PARTS) * c +
           2 * BN_MAX_PARTS + BN_MAX_PARTS * c;
}

/* Parts (chunks, one partial each) worth cutting N rows of C channels into
 * (1 for small inputs; nl_parallel_parts). */
int bn_threads(size_t N, int C);

/* s1, s2 [C] = the sums of the first nparts per-part partials ([2][C] each,
 * as in bn_work.parts), added in part order: deterministic. */
void bn_add_partials(const double *parts, int nparts, int C, double *s1, double *s2);

/* sync: the layer's context, whose bn_sum (nl_model_set_bn_sync), when set,
 * makes the statistics of a training pass those of every process's slice of
 * the batch (NULL: this batch's alone). */
struct nl_layer_ctx;

/* mean, istd [C] of x [N][C]: training, the batch's (biased variance) and the
 * running statistics updated (momentum weighs the batch, running variance
 * unbiased); evaluation, the running ones. */
void batchnorm_statistics(const float *x, size_t N, int C, float eps, float momentum, int training,
                          float *run_mean, float *run_var, float *mean, float *istd, bn_work *w,
                          const struct nl_layer_ctx *sync);

/* The batch's mean and istd from s1 = sum (x - shift), s2 = sum (x - shift)^2 over
 * its N rows, and the running statistics updated (as batchnorm_statistics).
 * Synchronised, s1 and s2 become the sums over every process. */
void batchnorm_batch_statistics(double *s1, double *s2, const float *shift, size_t N, int C,
                                float eps, float momentum, float *run_mean, float *run_var,
                                float *mean, float *istd, const struct nl_layer_ctx *sync);

/* y = scale * x + shift per channel: scale = gamma * istd, shift = beta - mean * scale. */
void batchnorm_affine(const float *gamma, const float *beta, const float *mean, const float *istd,
                      int C, float *scale, float *shift);

/* From s1 = sum dy and s2 = sum dy * xhat over the N rows: dbeta, dgamma, and
 * dx = k1 * dy + k2 * x + k3 per channel (training: through the batch
 * statistics; evaluation: k2 = k3 = 0). */
/* Synchronised (training), dgamma and dbeta stay this process's (the gradient
 * reduction sums them) and the coefficients come from the sums of all. */
void batchnorm_backward_coeffs(double *s1, double *s2, const float *gamma, const float *mean,
                               const float *istd, size_t N, int C, int training, float *dgamma,
                               float *dbeta, float *k1, float *k2, float *k3,
                               const struct nl_layer_ctx *sync);

#endif
