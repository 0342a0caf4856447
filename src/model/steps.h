/* The model's steps, one at a time: an internal interface (not exported) for
 * benchmarks and tests that look inside a compiled model (bench_cifar_step
 * times each step). nl_model_forward is nl_model_step_forward for k = 0, 1, ...;
 * nl_model_loss_backward is nl_model_loss, then nl_model_step_backward for
 * k = last, ..., 0. Step k must be run after the steps before it (forward) or
 * after it (backward) of the same batch. */
#ifndef NNLAB_MODEL_STEPS_H
#define NNLAB_MODEL_STEPS_H

#include <stdint.h>

#include "nnlab/model.h"

/* Steps of the compiled model (0 before compile). */
int nl_model_num_steps(const nl_model *m);
/* Step k's name: its layer's kind for one layer ("conv2d"), else its step
 * kind's ("conv2d+bn+pool"); NULL when k is out of range. */
const char *nl_model_step_name(const nl_model *m, int k);
/* Step k runs layers [first, first + count) (0, 0 when k is out of range). */
void nl_model_step_layers(const nl_model *m, int k, int *first, int *count);

/* Forward of step k on the model's input x [batch][input size] (as given to
 * nl_model_forward). */
void nl_model_step_forward(nl_model *m, int k, const float *x, int batch, int training);
/* The loss of the last forward's logits; with backward, dL/dlogits into the
 * gradient buffer the last step reads. */
float nl_model_loss(nl_model *m, const uint8_t *labels, int batch, int backward, int *correct);
/* Backward of step k. */
void nl_model_step_backward(nl_model *m, int k, int batch);

#endif
