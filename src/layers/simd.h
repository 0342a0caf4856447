/* The vector abstraction of the compute-bound kernels (convolution, dense):
 * one native vector vf of VL float lanes, with masked loads and stores for a
 * partial last vector (vmask), on AVX-512, AVX2+FMA or, elsewhere, 4-lane
 * GCC/clang vector extensions. NACC is the number of accumulator registers a
 * micro-kernel may use. Header-only: everything is static inline. */
#ifndef NNLAB_LAYERS_SIMD_H
#define NNLAB_LAYERS_SIMD_H

#include <stddef.h>
#include <string.h>

#if defined(__AVX512F__)
#include <immintrin.h>
#define VL   16
#define NACC 24 /* accumulator registers per micro-kernel (32 zmm) */
typedef __m512 vf;
typedef __mmask16 vmask;
static inline vf v_load(const float *p) {
    return _mm512_loadu_ps(p);
}
static inline vf v_load_m(const float *p, vmask m) {
    return _mm512_maskz_loadu_ps(m, p);
}
static inline void v_store(float *p, vf v) {
    _mm512_storeu_ps(p, v);
}
static inline void v_store_m(float *p, vf v, vmask m) {
    _mm512_mask_storeu_ps(p, m, v);
}
static inline vf v_set1(float x) {
    return _mm512_set1_ps(x);
}
static inline vf v_zero(void) {
    return _mm512_setzero_ps();
}
static inline vf v_fma(vf a, vf b, vf c) {
    return _mm512_fmadd_ps(a, b, c);
}
static inline vf v_add(vf a, vf b) {
    return _mm512_add_ps(a, b);
}
static inline vf v_sub(vf a, vf b) {
    return _mm512_sub_ps(a, b);
}
static inline vf v_mul(vf a, vf b) {
    return _mm512_mul_ps(a, b);
}
static inline vf v_max(vf a, vf b) {
    return _mm512_max_ps(a, b);
}
/* d where y > 0, else 0 (the ReLU's derivative applied) */
static inline vf v_where_pos(vf d, vf y) {
    return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(y, _mm512_setzero_ps(), _CMP_GT_OQ), d);
}
static inline vmask v_mask(int n) {
    return (vmask)((1u << n) - 1u);
}
#elif defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define VL   8
#define NACC 12 /* 16 ymm */
typedef __m256 vf;
typedef __m256i vmask;
static inline vf v_load(const float *p) {
    return _mm256_loadu_ps(p);
}
static inline vf v_load_m(const float *p, vmask m) {
    return _mm256_maskload_ps(p, m);
}
static inline void v_store(float *p, vf v) {
    _mm256_storeu_ps(p, v);
}
static inline void v_store_m(float *p, vf v, vmask m) {
    _mm256_maskstore_ps(p, m, v);
}
static inline vf v_set1(float x) {
    return _mm256_set1_ps(x);
}
static inline vf v_zero(void) {
    return _mm256_setzero_ps();
}
static inline vf v_fma(vf a, vf b, vf c) {
    return _mm256_fmadd_ps(a, b, c);
}
static inline vf v_add(vf a, vf b) {
    return _mm256_add_ps(a, b);
}
static inline vf v_sub(vf a, vf b) {
    return _mm256_sub_ps(a, b);
}
static inline vf v_mul(vf a, vf b) {
    return _mm256_mul_ps(a, b);
}
static inline vf v_max(vf a, vf b) {
    return _mm256_max_ps(a, b);
}
/* d where y > 0, else 0 (the ReLU's derivative applied) */
static inline vf v_where_pos(vf d, vf y) {
    return _mm256_and_ps(d, _mm256_cmp_ps(y, _mm256_setzero_ps(), _CMP_GT_OQ));
}
static inline vmask v_mask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
#else           /* portable: GCC/clang vector extensions, 4 lanes */
#define VL   4
#define NACC 12
typedef float vf __attribute__((vector_size(16)));
typedef int vmask; /* number of valid lanes */
static inline vf v_load(const float *p) {
    vf v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline vf v_load_m(const float *p, vmask m) {
    vf v = {0, 0, 0, 0};
    for (int i = 0; i < m; i++) v[i] = p[i];
    return v;
}
static inline void v_store(float *p, vf v) {
    memcpy(p, &v, sizeof v);
}
static inline void v_store_m(float *p, vf v, vmask m) {
    for (int i = 0; i < m; i++) p[i] = v[i];
}
static inline vf v_set1(float x) {
    return (vf){x, x, x, x};
}
static inline vf v_zero(void) {
    return (vf){0, 0, 0, 0};
}
static inline vf v_fma(vf a, vf b, vf c) {
    return a * b + c;
}
static inline vf v_add(vf a, vf b) {
    return a + b;
}
static inline vf v_sub(vf a, vf b) {
    return a - b;
}
static inline vf v_mul(vf a, vf b) {
    return a * b;
}
static inline vf v_max(vf a, vf b) {
    vf r;
    for (int i = 0; i < 4; i++) r[i] = a[i] > b[i] ? a[i] : b[i];
    return r;
}
static inline vf v_where_pos(vf d, vf y) {
    vf r;
    for (int i = 0; i < 4; i++) r[i] = y[i] > 0.0f ? d[i] : 0.0f;
    return r;
}
static inline vmask v_mask(int n) {
    return n;
}
#endif

/* v to p, only the lanes of m when masked */
static inline void v_store_if(float *p, vf v, int masked, vmask m) {
    if (masked)
        v_store_m(p, v, m);
    else
        v_store(p, v);
}

#define MR_MAX 12 /* pixels (or weight rows) per micro-tile */
#define NV_MAX 4  /* vectors of VL filters (or channels) per micro-tile */

#if defined(__clang__)
#define UNROLL _Pragma("unroll")
#elif defined(__GNUC__)
#define UNROLL _Pragma("GCC unroll 16")
#else
#define UNROLL
#endif
#define FORCE_INLINE static inline __attribute__((always_inline))

static inline int imin(int a, int b) {
    return a < b ? a : b;
}

/* Number of vectors per tile along the SIMD dimension, and the matching MR. */
static inline int pick_nv(int nvec) {
    return nvec < NV_MAX ? nvec : NV_MAX;
}
static inline int pick_mr(int nv) {
    return imin(MR_MAX, NACC / nv);
}

#endif
