/* nnlab's one vector dialect: a native vector vf of VL float lanes (and vint
 * of VL int32 lanes), with masked loads and stores for a partial last vector
 * (vmask), for every vectorised kernel (convolution, dense, batch norm, max
 * pooling, Adam). One rule picks the ISA, at compile time:
 *   AVX-512F            VL 16  (__m512)
 *   AVX2 and FMA        VL 8   (__m256)
 *   otherwise           VL 4   (GCC/clang vector extensions)
 * vf and vint are plain GCC/clang vector types in every case (converting
 * implicitly to and from the intrinsics' types), so the element-wise
 * operators (+ - * & | ~, comparisons giving -1/0 int32 lanes, v[i]) work on
 * them too; the v_ functions are the operations those do not cover (loads and
 * stores, fused multiply-add, masks). A few operations exist only where the ISA
 * has them: V_HAS_ESTIMATES (v_rsqrt_est, v_rcp_est) and V_HAS_TRANSPOSE
 * (v_transpose), both with AVX-512. Header-only: everything is static inline. */
#ifndef NNLAB_CORE_SIMD_H
#define NNLAB_CORE_SIMD_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__AVX512F__)
#include <immintrin.h>
#define VL 16
typedef float vf __attribute__((vector_size(64))); /* as __m512 */
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
/* a*b + c, a*b - c, c - a*b, each rounded once */
static inline vf v_fma(vf a, vf b, vf c) {
    return _mm512_fmadd_ps(a, b, c);
}
static inline vf v_fms(vf a, vf b, vf c) {
    return _mm512_fmsub_ps(a, b, c);
}
static inline vf v_fnma(vf a, vf b, vf c) {
    return _mm512_fnmadd_ps(a, b, c);
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
/* a * b where y > 0, else 0 */
static inline vf v_mul_where_pos(vf a, vf b, vf y) {
    return _mm512_maskz_mul_ps(_mm512_cmp_ps_mask(y, _mm512_setzero_ps(), _CMP_GT_OQ), a, b);
}
static inline vmask v_mask(int n) {
    return (vmask)((1u << n) - 1u);
}
#define V_HAS_ESTIMATES 1
/* estimates of 1/sqrt(x) and 1/x, relative error below 2^-14 */
static inline vf v_rsqrt_est(vf x) {
    return _mm512_rsqrt14_ps(x);
}
static inline vf v_rcp_est(vf x) {
    return _mm512_rcp14_ps(x);
}
#define V_HAS_TRANSPOSE 1
/* q[i][j] = q[j][i]: the VL x VL block of floats in q[0..VL) transposed in registers */
static inline void v_transpose(vf q[VL]) {
    vf t[16];
    for (int k = 0; k < 8; k++) { /* 2x2 blocks of floats */
        t[2 * k] = _mm512_unpacklo_ps(q[2 * k], q[2 * k + 1]);
        t[2 * k + 1] = _mm512_unpackhi_ps(q[2 * k], q[2 * k + 1]);
    }
    for (int k = 0; k < 4; k++) { /* 4x4 */
        const __m512d a = _mm512_castps_pd(t[4 * k]), b = _mm512_castps_pd(t[4 * k + 1]);
        const __m512d c = _mm512_castps_pd(t[4 * k + 2]);
        const __m512d d = _mm512_castps_pd(t[4 * k + 3]);
        q[4 * k] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        q[4 * k + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        q[4 * k + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        q[4 * k + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    for (int k = 0; k < 4; k++) { /* 128-bit lanes */
        t[k] = _mm512_shuffle_f32x4(q[k], q[k + 4], 0x88);
        t[k + 4] = _mm512_shuffle_f32x4(q[k], q[k + 4], 0xdd);
        t[k + 8] = _mm512_shuffle_f32x4(q[k + 8], q[k + 12], 0x88);
        t[k + 12] = _mm512_shuffle_f32x4(q[k + 8], q[k + 12], 0xdd);
    }
    for (int k = 0; k < 4; k++) {
        q[k] = _mm512_shuffle_f32x4(t[k], t[k + 8], 0x88);
        q[k + 8] = _mm512_shuffle_f32x4(t[k], t[k + 8], 0xdd);
        q[k + 4] = _mm512_shuffle_f32x4(t[k + 4], t[k + 12], 0x88);
        q[k + 12] = _mm512_shuffle_f32x4(t[k + 4], t[k + 12], 0xdd);
    }
}
#elif defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define VL 8
typedef float vf __attribute__((vector_size(32))); /* as __m256 */
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
static inline vf v_fms(vf a, vf b, vf c) {
    return _mm256_fmsub_ps(a, b, c);
}
static inline vf v_fnma(vf a, vf b, vf c) {
    return _mm256_fnmadd_ps(a, b, c);
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
/* a * b where y > 0, else 0 */
static inline vf v_mul_where_pos(vf a, vf b, vf y) {
    return v_where_pos(_mm256_mul_ps(a, b), y);
}
static inline vmask v_mask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
#else /* portable: GCC/clang vector extensions, 4 lanes */
#define VL 4
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
static inline vf v_fms(vf a, vf b, vf c) {
    return a * b - c;
}
static inline vf v_fnma(vf a, vf b, vf c) {
    return c - a * b;
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
static inline vf v_mul_where_pos(vf a, vf b, vf y) {
    return v_where_pos(a * b, y);
}
static inline vmask v_mask(int n) {
    return n;
}
#endif

/* VL int32 lanes, the type of vf's comparisons */
typedef int32_t vint __attribute__((vector_size(VL * sizeof(int32_t))));

/* The same unaligned accesses as v_load / v_store, written as memcpy, and
 * their int32 forms. GCC schedules and allocates registers differently for the
 * two spellings; the element-wise code of batch norm and pooling was tuned
 * with this one and the GEMM kernels with the intrinsics, so each keeps its
 * own. */
static inline vf v_read(const float *p) {
    vf v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline void v_write(float *p, vf v) {
    memcpy(p, &v, sizeof v);
}
static inline vint v_readi(const int32_t *p) {
    vint v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline void v_writei(int32_t *p, vint v) {
    memcpy(p, &v, sizeof v);
}
/* 0, 1, ..., VL - 1 */
static inline vint v_iota(void) {
    static const int32_t iota[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    return v_readi(iota);
}

/* v to p, only the lanes of m when masked */
static inline void v_store_if(float *p, vf v, int masked, vmask m) {
    if (masked)
        v_store_m(p, v, m);
    else
        v_store(p, v);
}

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

#endif
