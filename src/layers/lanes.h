/* One native vector of float / int32 lanes for the memory-bound layers (batch
 * norm, max pooling and their fusion): GCC/clang vector extensions sized to the
 * target, so no vector is wider than its registers; comparisons give -1/0 lane
 * masks. Loads and stores are unaligned (memcpy). */
#ifndef NNLAB_LAYERS_LANES_H
#define NNLAB_LAYERS_LANES_H

#include <stdint.h>
#include <string.h>

#if defined(__AVX512F__)
#define PL 16
#elif defined(__AVX__)
#define PL 8
#else
#define PL 4
#endif
typedef float fvec __attribute__((vector_size(PL * sizeof(float))));
typedef int32_t ivec __attribute__((vector_size(PL * sizeof(int32_t))));

static inline fvec ldf(const float *p) {
    fvec v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline ivec ldi(const int32_t *p) {
    ivec v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline void stf(float *p, fvec v) {
    memcpy(p, &v, sizeof v);
}
static inline void sti(int32_t *p, ivec v) {
    memcpy(p, &v, sizeof v);
}
/* 0, 1, ..., PL - 1 as ldi(iota_lanes) */
static const int32_t iota_lanes[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

#endif
