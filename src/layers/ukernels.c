/* The GEMM micro-kernels of the convolution and dense layers (see
 * ukernels.h): register tiles of MR rows x NV vectors, one instance per
 * (MR, NV) so that every loop over the tile is unrolled into registers. */
#include "layers/ukernels.h"

FORCE_INLINE void fwd_kernel(const int MR, const int NV, const fwd_args *a) {
    vf acc[MR_MAX][NV_MAX];
    UNROLL for (int v = 0; v < NV; v++) {
        const vf b = v_load(a->bias + v * VL);
        UNROLL for (int i = 0; i < MR; i++) acc[i][v] = b;
    }
    const ptrdiff_t ldw = a->ldw;
    const int L = a->L;
    for (int kh = 0; kh < a->KH; kh++) {
        const float *x[MR_MAX];
        UNROLL for (int i = 0; i < MR; i++) x[i] = a->x[i] + kh * a->xrow;
        const float *w = a->w + (ptrdiff_t)kh * L * ldw;
        for (int j = 0; j < L; j++, w += ldw) {
            vf wv[NV_MAX];
            UNROLL for (int v = 0; v < NV; v++) wv[v] = v_load(w + v * VL);
            UNROLL for (int i = 0; i < MR; i++) {
                const vf xi = v_set1(x[i][j]);
                UNROLL for (int v = 0; v < NV; v++) acc[i][v] = v_fma(xi, wv[v], acc[i][v]);
            }
        }
    }
    const vf zero = v_zero();
    UNROLL for (int i = 0; i < MR; i++) {
        float *y = a->y + i * a->ldy;
        UNROLL for (int v = 0; v < NV; v++) {
            vf r = a->relu ? v_max(acc[i][v], zero) : acc[i][v];
            if (v == NV - 1)
                v_store_m(y + v * VL, r, a->mlast);
            else
                v_store(y + v * VL, r);
        }
    }
}

FORCE_INLINE void dw_kernel(const int MR, const int NV, const dw_args *a) {
    vf acc[MR_MAX][NV_MAX];
    UNROLL for (int i = 0; i < MR; i++) {
        UNROLL for (int v = 0; v < NV; v++) {
            acc[i][v] = a->zero ? v_zero() : v_load(a->dw + i * a->ldd + v * VL);
        }
    }
    const ptrdiff_t xs = a->xs, ldz = a->ldz;
    for (int oh = 0; oh < a->OH; oh++) {
        const float *x = a->x + oh * a->xrs;
        const float *d = a->dz + (ptrdiff_t)oh * a->OW * ldz;
        for (int ow = 0; ow < a->OW; ow++, x += xs, d += ldz) {
            vf dv[NV_MAX];
            UNROLL for (int v = 0; v < NV; v++) {
                dv[v] = v == NV - 1 ? v_load_m(d + v * VL, a->mlast) : v_load(d + v * VL);
            }
            UNROLL for (int i = 0; i < MR; i++) {
                const vf xi = v_set1(x[i]);
                UNROLL for (int v = 0; v < NV; v++) acc[i][v] = v_fma(xi, dv[v], acc[i][v]);
            }
        }
    }
    UNROLL for (int i = 0; i < MR; i++) {
        UNROLL for (int v = 0; v < NV; v++) v_store(a->dw + i * a->ldd + v * VL, acc[i][v]);
    }
}

FORCE_INLINE void dx_kernel(const int MR, const int NV, const dx_args *a) {
    const int F = a->F;
    const ptrdiff_t ldz = a->ldz, ldwt = a->ldwt;
    for (int kh = 0; kh < a->KH; kh++) {
        for (int kw = 0; kw < a->KW; kw++) {
            vf acc[MR_MAX][NV_MAX];
            UNROLL for (int i = 0; i < MR; i++) {
                UNROLL for (int v = 0; v < NV; v++) acc[i][v] = v_zero();
            }
            const float *w = a->wt + (ptrdiff_t)(kh * a->KW + kw) * F * ldwt;
            const float *dz = a->dz;
            for (int f = 0; f < F; f++, w += ldwt, dz++) {
                vf wv[NV_MAX];
                UNROLL for (int v = 0; v < NV; v++) wv[v] = v_load(w + v * VL);
                UNROLL for (int i = 0; i < MR; i++) {
                    const vf di = v_set1(dz[i * ldz]);
                    UNROLL for (int v = 0; v < NV; v++) acc[i][v] = v_fma(di, wv[v], acc[i][v]);
                }
            }
            const ptrdiff_t off = kh * a->xrow + kw * a->C;
            UNROLL for (int i = 0; i < MR; i++) {
                float *dx = a->dx[i] + off;
                UNROLL for (int v = 0; v < NV; v++) {
                    const int m = v == NV - 1;
                    vf r = acc[i][v];
                    if (a->add)
                        r = v_add(m ? v_load_m(dx + v * VL, a->mlast) : v_load(dx + v * VL), r);
                    if (m)
                        v_store_m(dx + v * VL, r, a->mlast);
                    else
                        v_store(dx + v * VL, r);
                }
            }
        }
    }
}

/* One instance of each kernel per (MR, NV), in tables indexed [MR-1][NV-1]. */
#define DEF_KERNELS(MR, NV)                                                                        \
    static void fwd_##MR##_##NV(const fwd_args *a) {                                               \
        fwd_kernel(MR, NV, a);                                                                     \
    }                                                                                              \
    static void dw_##MR##_##NV(const dw_args *a) {                                                 \
        dw_kernel(MR, NV, a);                                                                      \
    }                                                                                              \
    static void dx_##MR##_##NV(const dx_args *a) {                                                 \
        dx_kernel(MR, NV, a);                                                                      \
    }
#define DEF_KERNELS_MR(MR)                                                                         \
    DEF_KERNELS(MR, 1) DEF_KERNELS(MR, 2) DEF_KERNELS(MR, 3) DEF_KERNELS(MR, 4)
DEF_KERNELS_MR(1)
DEF_KERNELS_MR(2)
DEF_KERNELS_MR(3)
DEF_KERNELS_MR(4)
DEF_KERNELS_MR(5)
DEF_KERNELS_MR(6)
DEF_KERNELS_MR(7)
DEF_KERNELS_MR(8)
DEF_KERNELS_MR(9)
DEF_KERNELS_MR(10)
DEF_KERNELS_MR(11)
DEF_KERNELS_MR(12)

#define ROW(K, MR)                                                                                 \
    { K##_##MR##_1, K##_##MR##_2, K##_##MR##_3, K##_##MR##_4 }
#define TABLE(K)                                                                                   \
    {                                                                                              \
        ROW(K, 1), ROW(K, 2), ROW(K, 3), ROW(K, 4), ROW(K, 5), ROW(K, 6), ROW(K, 7), ROW(K, 8),    \
            ROW(K, 9), ROW(K, 10), ROW(K, 11), ROW(K, 12)                                          \
    }

nl_fwd_kernel *const nl_fwd_tab[MR_MAX][NV_MAX] = TABLE(fwd);
nl_dw_kernel *const nl_dw_tab[MR_MAX][NV_MAX] = TABLE(dw);
nl_dx_kernel *const nl_dx_tab[MR_MAX][NV_MAX] = TABLE(dx);
