#ifndef NNLAB_OPTIM_IMPL_H
#define NNLAB_OPTIM_IMPL_H
#include "nnlab/optim.h"
/* Update rules; o->t is already incremented for this step. */
void adam_step(nl_optimizer *o, float *params, const float *grads);
void sgd_step(nl_optimizer *o, float *params, const float *grads);
#endif
