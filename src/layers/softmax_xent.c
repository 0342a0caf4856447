/* Softmax fused with categorical cross-entropy, numerically stable.
 *
 *   p = softmax(z) computed as exp(z - max z) / sum;  loss = -mean_b log p[b][y_b]
 *   dL/dz = (p - onehot(y)) / B
 *
 * log p[y] is taken as (z[y] - max) - log(sum), never log(p), so a confident
 * wrong prediction gives a large finite loss instead of inf. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "layers/softmax_xent.h"

float softmax_xent(const float *logits, const uint8_t *labels, int B, int C, float *dlogits,
                   int *correct) {
    double total = 0.0;
    int right = 0;
    const float inv_b = 1.0f / (float)B;
    for (int b = 0; b < B; b++) {
        const float *z = logits + (size_t)b * C;
        int arg = 0;
        float mx = z[0];
        for (int k = 1; k < C; k++)
            if (z[k] > mx) mx = z[k], arg = k;
        float sum = 0.0f;
        for (int k = 0; k < C; k++) sum += expf(z[k] - mx);
        const int y = labels[b];
        total += (double)(logf(sum) - (z[y] - mx));
        right += arg == y;
        if (dlogits) {
            float *d = dlogits + (size_t)b * C;
            const float inv_sum = 1.0f / sum;
            for (int k = 0; k < C; k++) d[k] = expf(z[k] - mx) * inv_sum * inv_b;
            d[y] -= inv_b;
        }
    }
    if (correct) *correct = right;
    return (float)(total / B);
}
