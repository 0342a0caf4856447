/* Mean squared error, the regression loss (mse.h).
 *
 *   loss = sum_{b,k} (y - t)^2 / (B K);   dL/dy = 2 (y - t) / (B K)
 *
 * The sum runs in double, in a fixed order, so it does not depend on threads. */
#include <stddef.h>

#include "layers/mse.h"

float mse_loss(const float *y, const float *t, int B, int K, float *dy) {
    const size_t n = (size_t)B * (size_t)K;
    const float scale = 2.0f / (float)n;
    double total = 0.0;
    for (size_t i = 0; i < n; i++) {
        const float e = y[i] - t[i];
        total += (double)e * (double)e;
        if (dy) dy[i] = scale * e;
    }
    return (float)(total / (double)n);
}
