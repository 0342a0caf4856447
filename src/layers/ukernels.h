/* GEMM micro-kernels shared by the convolution and the dense layer.
 *
 * Each kernel computes one register tile of MR rows x NV vectors of VL lanes
 * (MR <= MR_MAX, NV <= NV_MAX, MR * NV <= NACC accumulators): the SIMD
 * dimension is the contiguous one of the weights and of the output gradient
 * (filters, or channels for the input gradient), and the other operand is
 * broadcast one float at a time. The tables hold one instance per shape,
 * indexed [MR - 1][NV - 1]. Only the last of the NV vectors may be partial
 * (mlast); its loads and stores are masked. */
#ifndef NNLAB_LAYERS_UKERNELS_H
#define NNLAB_LAYERS_UKERNELS_H

#include "core/simd.h"

/* Accumulator registers a micro-kernel may use: 24 of AVX-512's 32 zmm, 12 of
 * the 16 ymm (or xmm) registers otherwise. */
#if VL == 16
#define NACC 24
#else
#define NACC 12
#endif
#define MR_MAX 12 /* pixels (or weight rows) per micro-tile */
#define NV_MAX 4  /* vectors of VL filters (or channels) per micro-tile */

/* Number of vectors per tile along the SIMD dimension, and the matching MR. */
static inline int pick_nv(int nvec) {
    return nvec < NV_MAX ? nvec : NV_MAX;
}
static inline int pick_mr(int nv) {
    return imin(MR_MAX, NACC / nv);
}

/* Forward tile: MR output pixels x NV vectors of filters.
 *   y[i][v] = act(b[v] + sum_{kh, j < L} x[i][kh*xrow + j] * w[(kh*L + j)*ldw + v])
 * x[i] points at pixel i's receptive field (row 0, column 0, channel 0). */
typedef struct fwd_args {
    const float *x[MR_MAX];
    ptrdiff_t xrow; /* Wp*C */
    int KH, L;      /* L = KW*C */
    const float *w; /* at the tile's first filter */
    ptrdiff_t ldw;
    const float *bias;
    float *y; /* pixel 0, first filter; pixel i at y + i*ldy */
    ptrdiff_t ldy;
    vmask mlast; /* valid lanes of the last vector */
    int relu;
} fwd_args;

/* Weight-gradient tile: MR rows of dW (consecutive k inside one kh segment) x
 * NV vectors of filters, accumulated over the OH x OW pixels of one image:
 *   dw[i][v] (+)= sum_{oh, ow} x[oh*xrs + ow*xs + i] * dz[(oh*OW + ow)*ldz + v] */
typedef struct dw_args {
    const float *x;    /* image's padded input + kh*xrow + j0 */
    ptrdiff_t xs, xrs; /* S*C (next pixel), S*Wp*C (next output row) */
    int OH, OW;
    const float *dz; /* image's dz + f0 */
    ptrdiff_t ldz;   /* F */
    float *dw;       /* partial + k0*ldd + f0 */
    ptrdiff_t ldd;   /* Fp */
    vmask mlast;
    int zero; /* start from 0 instead of adding to dw */
} dw_args;

/* Input-gradient tile: MR output pixels x NV vectors of input channels. For
 * every kernel offset (kh, kw):
 *   dx[i] + kh*xrow + kw*C + v  (+)=  sum_f dz[i*ldz + f] * wt[((kh*KW + kw)*F + f)*ldwt + v]
 * (with add, the col2im scatter fused into the GEMM's store). */
typedef struct dx_args {
    const float *dz; /* tile's pixel 0; pixel i at dz + i*ldz */
    ptrdiff_t ldz;
    int F, KH, KW;
    const float *wt; /* transposed weights + c0 */
    ptrdiff_t ldwt;  /* Cp */
    float *dx[MR_MAX];
    ptrdiff_t xrow, C;
    vmask mlast;
    int add; /* add to dx (the col2im scatter-add) instead of storing */
} dx_args;

typedef void nl_fwd_kernel(const fwd_args *);
typedef void nl_dw_kernel(const dw_args *);
typedef void nl_dx_kernel(const dx_args *);
extern nl_fwd_kernel *const nl_fwd_tab[MR_MAX][NV_MAX];
extern nl_dw_kernel *const nl_dw_tab[MR_MAX][NV_MAX];
extern nl_dx_kernel *const nl_dx_tab[MR_MAX][NV_MAX];

#endif
