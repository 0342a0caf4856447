/* Weight initialisers. */
#include <math.h>

#include "core/rng.h"
#include "layers/layer.h"

void nl_glorot_uniform(float *w, size_t n, int fan_in, int fan_out, uint64_t seed) {
    const float limit = sqrtf(6.0f / (float)(fan_in + fan_out));
    nl_rng r;
    nl_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) w[i] = (2.0f * nl_rng_uniform(&r) - 1.0f) * limit;
}
