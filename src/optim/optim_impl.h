#ifndef NNLAB_OPTIM_IMPL_H
#define NNLAB_OPTIM_IMPL_H
#include "nnlab/optim.h"
/* Update rules at learning rate lr; o->t is already incremented for this step. */
void adam_step(nl_optimizer *o, float lr, float *params, const float *grads);
void sgd_step(nl_optimizer *o, float lr, float *params, const float *grads);
/* Calls fn(k, lo, hi) from every thread of a parallel region, one contiguous
 * range of the slab per thread (16-aligned boundaries: a fixed split). The
 * update rules are elementwise, so the split never changes a result. */
typedef void (*optim_range_fn)(const void *k, long lo, long hi);
void optim_for_ranges(const nl_optimizer *o, optim_range_fn fn, const void *k);
#endif
