/* conv2d's internal interface: the geometry and scratch layout (conv2d.c)
 * shared by its two algorithms, the direct implicit GEMM (conv2d_direct.c)
 * and Winograd (conv2d_winograd.c). conv2d.c chooses the algorithm of each
 * pass at plan time (nl_layer.conv_tiles), lays out the scratch and runs the
 * passes; the algorithm files hold the kernels. */
#ifndef NNLAB_LAYERS_CONV2D_INTERNAL_H
#define NNLAB_LAYERS_CONV2D_INTERNAL_H

#include <stddef.h>

#include "layers/layer.h"
#include "core/simd.h"
#include "layers/ukernels.h"

/* Partial dW/db sums in scratch: the backward pass uses at most this many threads. */
#define CONV_MAX_PARTS 16
/* Threads of a Winograd pass (each has its own work buffers in scratch). */
#define WINO_MAX_THREADS 8
/* Images whose tiles the weight gradient's Winograd GEMMs take at once (K =
 * this many images' tiles): fewer passes over the partial dU. */
#define WINO_DW_IMAGES 2

static inline size_t align16(size_t n) {
    return (n + 15) / 16 * 16;
}

/* Balanced contiguous split of n items into parts: part t is [lo, hi). */
static inline void split_range(int n, int parts, int t, int *lo, int *hi) {
    *lo = (int)((long long)n * t / parts);
    *hi = (int)((long long)n * (t + 1) / parts);
}

typedef struct conv_geom {
    int B, H, W, C;   /* input */
    int KH, KW, S, F; /* kernel, stride, filters */
    int OH, OW;       /* output */
    int pt, pl;       /* zero padding on top / left */
    int Hp, Wp;       /* input dims after padding (== H, W when not padded) */
    int padded;
    int K, Fp, Cp; /* K = KH*KW*C; F and C rounded up to VL */
    int wino;      /* forward by Winograd F(m x m, 3x3): the output tile size m (2, 4), else 0 */
    int TH, TW;    /* its m x m output tiles of an image: ceil(OH/m) x ceil(OW/m) */
    int nxi;       /* (m + 2)^2 positions of a transformed tile */
    int wino_dw;   /* the same for the weight gradient (0 when wino is 0), */
    int THd, TWd, nxid; /* its tiles and positions */
    int wino_dx;        /* and for the input gradient, a full correlation of dz: */
    int THx, TWx, nxix; /* tiles of the Hp x Wp padded input (H x W: wino_same) */
    int wino_same;      /* SAME padding on Winograd in every pass but maybe dx: the passes
                           read x as H x W from origin (-pt, -pt) (pt == pl), zero outside,
                           each image padded in its thread's buffer (wino_pad), so there is
                           no padded copy of the batch; a Winograd dx is written straight
                           to H x W */
    int xpadded;        /* x is the padded copy xpad (padded, not wino_same) */
    int dxpadded;       /* dx is made in dxpad, then cropped (padded, not a wino_same dx) */
    int keep;           /* a fused activation keeps the pre-activation (gelu: conv2d.c) */
} conv_geom;

/* Scratch layout (floats; every piece starts at a multiple of 16):
 *   xpad   [B][Hp][Wp][C]   zero-padded input (xpadded only), kept for backward
 *   dxpad  [B][Hp][Wp][C]   input gradient before cropping (dxpadded only)
 *   wfwd   [K][Fp] + [Fp]   weights and bias padded to Fp (F % VL != 0 only)
 *   wt     [KH][KW][F][Cp]  weights transposed for dx = dz . W^T
 *   parts  CONV_MAX_PARTS x ([K][Fp] + [Fp])  per-part partial dW, db
 *   dzbuf  CONV_MAX_PARTS x [OH][OW][F]      per-part output gradient of one image,
 *                                            when backward is given dout_fn (touched
 *                                            only then)
 *   keep   [B][OH][OW][F]   the pre-activation of a fused gelu (keep only)
 * and for Winograd:
 *   wu     [nxi][C][Fp]     the forward pass's transformed weights U
 *   wux    [nxix][F][Cp]    the input gradient's (wino_dx only)
 *   wzero  [max(Fp, Cp)]    zeros (the GEMMs' bias)
 *   wwork  WINO_MAX_THREADS x wthread: each part's work buffers (conv_wino_work),
 *          then at wpad its copy for wino_pad */
typedef struct conv_scratch {
    size_t xpad, dxpad, wfwd, wt, parts, dzbuf, keep;
    size_t wu, wux, wzero, wwork, wthread, wpad;
    size_t total;
} conv_scratch;

conv_scratch conv_scratch_layout(const conv_geom *g);

/* Floats of a partial dW, db in parts. */
static inline size_t conv_part_floats(const conv_geom *g) {
    return align16((size_t)g->K * g->Fp + g->Fp);
}

/* Stride between the xi slices [T][n] of V, M and dM: one cache line more
 * than a slice. A transform touches 16 or 36 slices at once, and on cifar10's
 * conv2 a slice is a multiple of 4 KiB (16 tiles x 64 floats): unpadded, all
 * of them map to the same L1 sets and evict each other. */
static inline size_t wino_xs(size_t T, size_t n) {
    return T * n + 16;
}

/* Floats of wino_pad's copy for tiles of m outputs (m + 2 inputs), plus one
 * vector of slack: a partial last vector is read whole. */
static inline size_t wino_pad_floats(int m, int TH, int TW, int n) {
    return (size_t)(m * TH + 2) * (size_t)(m * TW + 2) * n + VL;
}

typedef void conv_out_fn(void *arg, int b, int t, const float *y);

/* ---- direct implicit GEMM (conv2d_direct.c) ---- */

/* The forward weights and bias: the parameters, or (F % VL) their copy padded
 * to whole vectors at wp in scratch. */
void conv_direct_weights(const conv_geom *g, const float *params, float *wp, const float **w,
                         ptrdiff_t *ldw, const float **bias);
/* y [B][OH][OW][F] = act(conv(x, w) + b), x the (padded) input [B][Hp][Wp][C],
 * w [K][ldw]: the batch's pixels split evenly between the threads, or with
 * out_fn, image by image (each part a contiguous block of images), handing
 * every image's output to out_fn while it is in cache. */
void conv_direct_forward(const conv_geom *g, float *y, const float *x, const float *w,
                         ptrdiff_t ldw, const float *bias, int relu, conv_out_fn *out_fn,
                         void *out_arg);
/* The dW partial part [K][Fp] += cols_b^T . dz_b of one image (xb its padded
 * input, dz [OH][OW][F]). */
void conv_direct_dw_image(const conv_geom *g, const float *xb, const float *dz, float *part);
/* dxb [Hp][Wp][C] (or [H][W][C] when not padded) = col2im(dz_b . W^T), from
 * wt [KH][KW][F][Cp]. */
void conv_direct_dx_image(const conv_geom *g, const float *wt, const float *dz, float *dxb);
/* Rows [k0, k1) of dw [K][F] = the sum of the nparts partials in part order
 * (one chunk of a parallel loop over K). */
void conv_direct_dw_finish(const conv_geom *g, const float *parts, int nparts, float *dw, int k0,
                           int k1);

/* ---- Winograd F(2x2, 3x3) and F(4x4, 3x3) (conv2d_winograd.c) ---- */

/* y [B][OH][OW][F] = act(conv(x, w) + b) by Winograd F(g->wino); x the
 * padded input when xpadded, else the input, w [3][3][C][F], out_fn as in
 * conv_direct_forward. */
void conv_wino_forward(const conv_geom *g, const conv_scratch *sl, float *scratch, float *y,
                       const float *x, const float *w, const float *bias, int relu,
                       conv_out_fn *out_fn, void *out_arg);

/* One backward thread's Winograd buffers (in its slice of wwork): the dW
 * partial dU [nxid][C][Fp], V and dM of WINO_DW_IMAGES images' tiles, the
 * input gradient's Vx and Mx, and the padded copy. */
typedef struct conv_wino_work {
    float *dU, *V, *dM, *Vx, *Mx, *pad;
} conv_wino_work;
conv_wino_work conv_wino_work_of(const conv_geom *g, const conv_scratch *sl, float *scratch, int t);

/* Rows [r0, r1) (of F) of the input gradient's U = the transform of the
 * flipped W^T, from wt [3][3][F][Cp] (one chunk of a parallel loop). */
void conv_wino_dx_weights(const conv_geom *g, const conv_scratch *sl, float *scratch,
                          const float *wt, int r0, int r1);
/* The weight gradient of image b, the slot-th of its group of WINO_DW_IMAGES
 * (xb its image of x as in conv_wino_forward, dz [OH][OW][F]); the group's GEMMs into dU run when
 * flush (its last image, or the thread's last). */
void conv_wino_dw_image(const conv_geom *g, const conv_wino_work *ws, int slot, int flush,
                        const float *xb, const float *dz);
/* dxb [Hp][Wp][C] ([H][W][C], the padded one cropped, with wino_same) = the
 * full correlation of dz_b with the flipped W^T. */
void conv_wino_dx_image(const conv_geom *g, const conv_scratch *sl, const float *scratch,
                        const conv_wino_work *ws, const float *dz, float *dxb);
/* Channels [c0, c1) of dw [3][3][C][F] = G^T (the sum of the nparts parts' dU
 * in part order) G (one chunk of a parallel loop over C). */
void conv_wino_dw_finish(const conv_geom *g, const conv_scratch *sl, const float *scratch,
                         int nparts, float *dw, int c0, int c1);

#endif
