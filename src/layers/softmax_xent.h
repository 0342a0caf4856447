#ifndef NNLAB_SOFTMAX_XENT_H
#define NNLAB_SOFTMAX_XENT_H
#include <stdint.h>
/* logits [B][C], labels [B] in [0, C); dlogits [B][C] or NULL. Returns the mean
 * loss; *correct (may be NULL) gets the number of argmax hits. */
float softmax_xent(const float *logits, const uint8_t *labels, int B, int C, float *dlogits,
                   int *correct);
#endif
