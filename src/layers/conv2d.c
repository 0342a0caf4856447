/* 2-D convolution with bias and an optional fused ReLU.
 *
 * Layout: activations NHWC ([batch][h][w][c]), weights [KH][KW][C][F].
 * Why NHWC (and not NCHW): in NHWC the receptive field of an output pixel is
 * KH runs of KW*C contiguous floats, so each im2col row is a few contiguous
 * pieces of the input, and the convolution of the WHOLE batch is one GEMM
 *
 *     Z[B*OH*OW, F] = cols[B*OH*OW, KH*KW*C] . W[KH*KW*C, F]
 *
 * whose row-major result already is the NHWC output: no transposes before or
 * after, one GEMM per layer instead of one per image (NCHW gives one
 * [F, K] x [K, OH*OW] product per image, or a transpose of the batch). The
 * filter dimension F is contiguous in W, Z and dZ, so it is the SIMD
 * dimension of every kernel, and batch norm vectorises along C the same way
 * (per-channel statistics are per-lane sums over rows of C floats).
 *
 * Implementation: implicit GEMM. cols is never materialised: the micro-kernels
 * broadcast its elements straight from the input (zero-padded copy in scratch
 * for SAME padding), since each cols row is KH segments of KW*C floats.
 *
 *   forward   y = act(cols . W + b)      one implicit GEMM over the batch, tiles of
 *                                        MR pixels x NV*VL filters, pixel ranges
 *                                        split into one contiguous block per thread
 *   backward  dz = dy * act'(y)          (in place in dout)
 *             dW = cols^T . dz           one implicit GEMM: each thread reduces
 *             db = sum_p dz              over its block of images into its own
 *                                        partial, partials summed in thread order
 *             dx = col2im(dz . W^T)      one implicit GEMM whose store is the col2im
 *                                        scatter-add, per image (images of a block
 *                                        belong to one thread); skipped when din is
 *                                        NULL (first layer)
 * 3x3 kernels with stride 1 and >= 8 channels in and out (cifar10's conv2) run
 * the products in the Winograd domain instead: small GEMMs per image on the
 * same micro-kernels, forward F(4x4, 3x3) (36 of them, ~2.6x fewer
 * multiplications on cifar10's 13x13 outputs) or F(2x2, 3x3) (16, ~1.9x),
 * whichever needs fewer, and dW the same way; dx, as the full correlation of dz
 * with the flipped kernel, F(4x4, 3x3) (~2.6x fewer on conv2's 15x15 input)
 * where it needs fewer multiplications than F(2x2), else direct. See the
 * Winograd sections.
 * Every output element is computed by one thread in a fixed order, so results
 * are bit-identical run after run for a fixed thread count.
 *
 * Why not BLAS: OpenBLAS 0.3.21 reaches 68-99 GFLOP/s per core on these shapes
 * (K = 27 for conv1, the 288 x 64 weight gradient; its own threading is slower
 * than one thread on them), and needs the materialised cols and a separate
 * col2im pass; the kernels here sustain ~1 zmm FMA per cycle per core, about
 * 110 GFLOP/s (measured with bench/bench_cifar_step.c).
 *
 * Parameters in the slab: W [KH][KW][C][F] then b [F]. Glorot-uniform W with
 * fan_in = KH*KW*C and fan_out = KH*KW*F (Keras), zero b. */
#include <omp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "layers/activation.h"
#include "layers/conv2d.h"
#include "layers/layer.h"
#include "layers/simd.h"
#include "layers/ukernels.h"

/* Partial dW/db sums in scratch: the backward pass uses at most this many threads. */
#define CONV_MAX_PARTS 16

static inline size_t align16(size_t n) {
    return (n + 15) / 16 * 16;
}

/* ---- geometry ---------------------------------------------------------------- */

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
    int THx, TWx, nxix; /* tiles of the Hp x Wp padded input */
} conv_geom;

/* 3x3 kernels with stride 1 and at least this many channels in and out take
 * the Winograd path, unless the options ask for the direct one. */
#define WINO_MIN_CHANNELS 8
/* Threads of a Winograd pass (each has its own work buffers in scratch). */
#define WINO_MAX_THREADS 8

/* Images whose tiles the weight gradient's Winograd GEMMs take at once (K =
 * this many images' tiles): half the passes over the partial dU (see the
 * F(4x4) section). */
#define WINO_DW_IMAGES 2

/* A tile size the options force (non-zero), else the default. */
static int tile_or(int forced, int def) {
    return forced ? forced : def;
}

static conv_geom geom(const nl_layer *l, int batch) {
    conv_geom g;
    g.B = batch;
    g.H = l->in.h, g.W = l->in.w, g.C = l->in.c;
    g.KH = g.KW = l->spec.kernel;
    g.S = l->spec.stride;
    g.F = l->spec.units;
    if (l->spec.padding == NL_PAD_SAME) {
        g.OH = (g.H + g.S - 1) / g.S;
        g.OW = (g.W + g.S - 1) / g.S;
        int ph = (g.OH - 1) * g.S + g.KH - g.H, pw = (g.OW - 1) * g.S + g.KW - g.W;
        if (ph < 0) ph = 0;
        if (pw < 0) pw = 0;
        g.pt = ph / 2, g.pl = pw / 2; /* TensorFlow/Keras: the extra row goes to the bottom */
        g.Hp = g.H + ph, g.Wp = g.W + pw;
    } else {
        g.OH = (g.H - g.KH) / g.S + 1;
        g.OW = (g.W - g.KW) / g.S + 1;
        g.pt = g.pl = 0;
        g.Hp = g.H, g.Wp = g.W;
    }
    g.padded = g.Hp != g.H || g.Wp != g.W;
    g.K = g.KH * g.KW * g.C;
    g.Fp = (g.F + VL - 1) / VL * VL;
    g.Cp = (g.C + VL - 1) / VL * VL;
    const nl_compile_options *o = &l->opt;
    g.wino = g.wino_dw = g.wino_dx = 0;
    if (g.KH == 3 && g.S == 1 && g.C >= WINO_MIN_CHANNELS && g.F >= WINO_MIN_CHANNELS &&
        o->conv_algo != NL_CONV_DIRECT) {
        /* forward and weight gradient: the tile size with fewer multiplications
           (tile positions of an image), F(2x2) on a tie as its transforms are
           cheaper */
        const int t2 = ((g.OH + 1) / 2) * ((g.OW + 1) / 2) * 16;
        const int t4 = ((g.OH + 3) / 4) * ((g.OW + 3) / 4) * 36;
        g.wino = tile_or(o->wino_tile, t4 < t2 ? 4 : 2);
        g.wino_dw = tile_or(o->wino_dw_tile, t4 < t2 ? 4 : 2);
        const int x2 = ((g.Hp + 1) / 2) * ((g.Wp + 1) / 2) * 16;
        const int x4 = ((g.Hp + 3) / 4) * ((g.Wp + 3) / 4) * 36;
        /* input gradient: F(4x4) when it needs fewer multiplications than F(2x2),
           else direct (F(2x2) measured slower than the direct kernel on cifar10's
           conv2: the transform of a 64-channel dz costs more than it saves) */
        g.wino_dx = o->wino_dx_tile < 0 ? 0 : tile_or(o->wino_dx_tile, x4 < x2 ? 4 : 0);
    }
    const int m = g.wino ? g.wino : 2, md = g.wino_dw ? g.wino_dw : 2;
    g.nxi = (m + 2) * (m + 2);
    g.TH = (g.OH + m - 1) / m, g.TW = (g.OW + m - 1) / m;
    g.nxid = (md + 2) * (md + 2);
    g.THd = (g.OH + md - 1) / md, g.TWd = (g.OW + md - 1) / md;
    const int mx = g.wino_dx ? g.wino_dx : 2;
    g.nxix = (mx + 2) * (mx + 2);
    g.THx = (g.Hp + mx - 1) / mx, g.TWx = (g.Wp + mx - 1) / mx;
    return g;
}

/* Scratch layout (floats; every piece starts at a multiple of 16):
 *   xpad   [B][Hp][Wp][C]   zero-padded input (padded only), kept for backward
 *   dxpad  [B][Hp][Wp][C]   input gradient before cropping (padded only)
 *   wfwd   [K][Fp] + [Fp]   weights and bias padded to Fp (F % VL != 0 only)
 *   wt     [KH][KW][F][Cp]  weights transposed for dx = dz . W^T
 *   parts  CONV_MAX_PARTS x ([K][Fp] + [Fp])  per-thread partial dW, db
 *   dzbuf  CONV_MAX_PARTS x [OH][OW][F]      per-thread output gradient of one image,
 *                                            when backward is given dout_fn (touched
 *                                            only then) */
typedef struct conv_scratch {
    size_t xpad, dxpad, wfwd, wt, parts, dzbuf;
    size_t wu, wux, wzero, wwork, wthread; /* Winograd: U (forward, dx), zeros, work, work per
                                              thread */
    size_t wpad;                           /* offset of the padded-input copy in a thread's work */
    size_t total;
} conv_scratch;

/* Stride between the xi slices [T][n] of V, M and dM: one cache line more
 * than a slice. A transform touches 16 or 36 slices at once, and on cifar10's
 * conv2 a slice is a multiple of 4 KiB (16 tiles x 64 floats): unpadded, all
 * of them map to the same L1 sets and evict each other. */
static inline size_t wino_xs(size_t T, size_t n) {
    return T * n + 16;
}

/* Floats of wino_pad's copy for tiles of m outputs (m + 2 inputs), plus one
 * vector of slack: a partial last vector is read whole. */
static size_t wino_pad_floats(int m, int TH, int TW, int n) {
    return (size_t)(m * TH + 2) * (size_t)(m * TW + 2) * n + VL;
}

static conv_scratch scratch_layout(const conv_geom *g) {
    conv_scratch s;
    const size_t xp = g->padded ? align16((size_t)g->B * g->Hp * g->Wp * g->C) : 0;
    size_t off = 0;
    s.xpad = off, off += xp;
    s.dxpad = off, off += xp;
    s.wfwd = off, off += (g->F % VL) ? align16((size_t)g->K * g->Fp + g->Fp) : 0;
    s.wt = off, off += align16((size_t)g->KH * g->KW * g->F * g->Cp);
    s.parts = off, off += CONV_MAX_PARTS * align16((size_t)g->K * g->Fp + g->Fp);
    s.dzbuf = off, off += CONV_MAX_PARTS * align16((size_t)g->OH * g->OW * g->F);
    s.wu = s.wux = s.wzero = s.wwork = s.wthread = s.wpad = 0;
    if (g->wino) {
        /* per thread: forward V [nxi][T][C], M [nxi][T][Fp]; backward (the dW
         * tiling) dU [nxid][C][Fp], V and dM [nxid][Td][Fp] */
        const size_t T = (size_t)g->TH * g->TW, nxi = (size_t)g->nxi;
        const size_t Td = (size_t)WINO_DW_IMAGES * g->THd * g->TWd, nxid = (size_t)g->nxid;
        const size_t fwd = align16(nxi * wino_xs(T, g->C)) + align16(nxi * wino_xs(T, g->Fp));
        const size_t Tx = (size_t)g->THx * g->TWx, nxix = (size_t)g->nxix;
        const size_t bwd =
            align16(nxid * (size_t)g->C * g->Fp) + align16(nxid * wino_xs(Td, g->C)) +
            align16(nxid * wino_xs(Td, g->Fp)) +
            (g->wino_dx ? align16(nxix * wino_xs(Tx, g->F)) + align16(nxix * wino_xs(Tx, g->Cp))
                        : 0);
        s.wu = off, off += align16(nxi * (size_t)g->C * g->Fp);
        s.wux = off, off += g->wino_dx ? align16(nxix * (size_t)g->F * g->Cp) : 0;
        s.wzero = off, off += align16((size_t)(g->Fp > g->Cp ? g->Fp : g->Cp));
        /* then wino_pad's copy, after the larger of the two */
        size_t pad = wino_pad_floats(g->wino, g->TH, g->TW, g->C);
        const size_t pd = wino_pad_floats(g->wino_dw, g->THd, g->TWd, g->C);
        const size_t px = g->wino_dx ? wino_pad_floats(g->wino_dx, g->THx, g->TWx, g->F) : 0;
        pad = pad > pd ? pad : pd;
        pad = pad > px ? pad : px;
        s.wpad = align16(fwd > bwd ? fwd : bwd);
        s.wthread = s.wpad + align16(pad);
        s.wwork = off, off += WINO_MAX_THREADS * s.wthread;
    }
    s.total = off;
    return s;
}

/* Balanced contiguous split of n items into parts: part t is [lo, hi). */
static inline void split_range(int n, int parts, int t, int *lo, int *hi) {
    *lo = (int)((long long)n * t / parts);
    *hi = (int)((long long)n * (t + 1) / parts);
}

/* ---- forward ------------------------------------------------------------------------ */

/* Copies x [B][H][W][C] into the zero-padded xp [B][Hp][Wp][C]. */
static void pad_input(const conv_geom *g, float *xp, const float *x) {
    const size_t rowp = (size_t)g->Wp * g->C, row = (size_t)g->W * g->C;
#pragma omp for schedule(static)
    for (int r = 0; r < g->B * g->Hp; r++) {
        const int b = r / g->Hp, h = r % g->Hp - g->pt;
        float *dst = xp + (size_t)r * rowp;
        if (h < 0 || h >= g->H) {
            memset(dst, 0, rowp * sizeof(float));
            continue;
        }
        const size_t left = (size_t)g->pl * g->C;
        memset(dst, 0, left * sizeof(float));
        memcpy(dst + left, x + ((size_t)b * g->H + h) * row, row * sizeof(float));
        memset(dst + left + row, 0, (rowp - left - row) * sizeof(float));
    }
}

/* Pixels [p0, p0 + n) of the batch (p = (b * OH + oh) * OW + ow), on one thread,
 * in tiles of at most mr pixels: y[p] = act(conv(x, w) + b). x is the (padded)
 * input [B][Hp][Wp][C], w [K][ldw] (ldw a multiple of VL, columns F..ldw zero),
 * bias [ldw], y [B][OH][OW][F]. Each output is the same sum in the same order
 * whatever the range: the same bits. */
static void conv2d_forward_pixels(const conv_geom *g, float *y, const float *x, const float *w,
                                  ptrdiff_t ldw, const float *bias, int relu, int p0, int n) {
    const int OHW = g->OH * g->OW;
    const int nvec = (g->F + VL - 1) / VL, nv = pick_nv(nvec), mr = pick_mr(nv);
    fwd_args a;
    a.xrow = (ptrdiff_t)g->Wp * g->C;
    a.KH = g->KH;
    a.L = g->KW * g->C;
    a.ldw = ldw;
    a.ldy = g->F;
    a.relu = relu;
    const int ntiles = (n + mr - 1) / mr;
    /* (b, oh, ow) of the next pixel, advanced without divisions */
    int b = p0 / OHW, oh = p0 % OHW / g->OW, ow = p0 % g->OW;
    for (int tile = 0; tile < ntiles; tile++) {
        int lo, hi;
        split_range(n, ntiles, tile, &lo, &hi);
        const int m = hi - lo, p = p0 + lo;
        for (int i = 0; i < m; i++) {
            a.x[i] =
                x + (((size_t)b * g->Hp + (size_t)oh * g->S) * g->Wp + (size_t)ow * g->S) * g->C;
            if (++ow == g->OW) {
                ow = 0;
                if (++oh == g->OH) oh = 0, b++;
            }
        }
        for (int v0 = 0; v0 < nvec; v0 += nv) {
            const int nvh = imin(nv, nvec - v0);
            a.w = w + (size_t)v0 * VL;
            a.bias = bias + (size_t)v0 * VL;
            a.y = y + (size_t)p * g->F + (size_t)v0 * VL;
            a.mlast = v_mask(imin(VL, g->F - (v0 + nvh - 1) * VL));
            nl_fwd_tab[m - 1][nvh - 1](&a);
        }
    }
}

/* y [B][OH][OW][F] = act(conv(x, w) + b): the batch's pixels split evenly
 * between the threads. */
static void conv2d_forward(const conv_geom *g, float *y, const float *x, const float *w,
                           ptrdiff_t ldw, const float *bias, int relu) {
    const int P = g->B * g->OH * g->OW;
#pragma omp parallel
    {
        int p_lo, p_hi;
        split_range(P, omp_get_num_threads(), omp_get_thread_num(), &p_lo, &p_hi);
        conv2d_forward_pixels(g, y, x, w, ldw, bias, relu, p_lo, p_hi - p_lo);
    }
}

/* conv2d_forward image by image, each thread a contiguous block of images,
 * handing every image's output to out_fn as soon as it is made (while it is in
 * cache). */
static void conv2d_forward_images(const conv_geom *g, float *y, const float *x, const float *w,
                                  ptrdiff_t ldw, const float *bias, int relu,
                                  void (*out_fn)(void *, int, int, const float *), void *arg) {
    const size_t yimg = (size_t)g->OH * g->OW * g->F;
    int nt = omp_get_max_threads();
    if (nt > CONV_MAX_PARTS) nt = CONV_MAX_PARTS;
    if (nt > g->B) nt = g->B;
#pragma omp parallel num_threads(nt)
    {
        const int t = omp_get_thread_num();
        int b_lo, b_hi;
        split_range(g->B, omp_get_num_threads(), t, &b_lo, &b_hi);
        for (int b = b_lo; b < b_hi; b++) {
            conv2d_forward_pixels(g, y, x, w, ldw, bias, relu, b * (g->OH * g->OW), g->OH * g->OW);
            out_fn(arg, b, t, y + (size_t)b * yimg);
        }
    }
}

/* ---- Winograd F(2x2, 3x3) ---------------------------------------------------------------
 *
 * For 3x3 kernels with stride 1 (cifar10's conv2) the products run in the
 * Winograd domain: 2x2 output tiles from 4x4 input tiles d,
 *     Y = A^T [ sum_c (G g G^T) .* (B^T d B) ] A
 * i.e. 16 independent GEMMs, one per position xi of the transformed 4x4 tile,
 *     M_xi[T, F] = V_xi[T, C] . U_xi[C, F]       (T tiles of an image)
 * with 2.25x fewer multiplications than the direct product before the edge
 * tiles (13x13 outputs are 7x7 tiles of 2x2: 1.94x). The micro-kernels (ukernels.c)
 * do the GEMMs. The weight gradient uses the adjoint transforms:
 *   dM = A dY A^T per tile, dU_xi[C, F] = sum_t V_xi[t, C]^T . dM_xi[t, F],
 *   dW = G^T dU G (per-thread partial dU, summed in thread order), the GEMMs
 *   over the tiles of WINO_DW_IMAGES images at once (K = 2 x 49 on cifar10's
 *   conv2; its default, F(4x4), has 2 x 16).
 * The input gradient dx is the full correlation of dz (zero-padded by 2) with
 * the kernel flipped and transposed (the same transforms, from the flipped
 * W^T, origin -2): as F(2x2) it has 64 tiles for cifar10's 15x15 dx and
 * measured slower than the direct kernel (conv2 backward 1.70 against 1.65
 * ms), so it runs F(4x4) (16 tiles: 1.45 ms) or direct.
 * Each thread works image by image in its own L2-sized buffers: no
 * synchronisation inside a pass, results independent of scheduling.
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
 *   G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
 *   A^T = [1 1 1 0; 0 1 -1 -1] */

/* U[xi][r][ld] (xi stride R*ld) = G g G^T of the 3x3 kernels g of row r < R,
 * column q < Q: g[kh][kw] = w[k*ks + r*rs + q] with k = kh*3 + kw, or
 * k = 8 - (kh*3 + kw) when flip (the kernel rotated by 180 degrees); columns
 * Q..ld are zero (ld is a multiple of VL). The forward pass's weights are
 * w [3][3][C][F] (R = C, Q = F); the input gradient's are the transposed
 * wt [3][3][F][Cp], flipped (R = F, Q = C). Vectorised along the columns.
 * Called inside a parallel region (omp for over rows). */
static void wino2_weights(const float *w, ptrdiff_t ks, ptrdiff_t rs, int flip, int R, int Q,
                          float *U, size_t ld) {
    const size_t xs = (size_t)R * ld;
    const int nvec = (int)(ld / VL);
    const vf half = v_set1(0.5f);
#pragma omp for schedule(static)
    for (int r = 0; r < R; r++) {
        for (int v = 0; v < nvec; v++) {
            const int q = v * VL, lanes = imin(VL, Q - q);
            const vmask m = v_mask(lanes);
            vf g[3][3], t[4][3];
            UNROLL for (int kh = 0; kh < 3; kh++) UNROLL for (int kw = 0; kw < 3; kw++) {
                const int k = flip ? 8 - (kh * 3 + kw) : kh * 3 + kw;
                const float *p = w + k * ks + r * rs + q;
                g[kh][kw] = lanes == VL ? v_load(p) : v_load_m(p, m);
            }
            UNROLL for (int l = 0; l < 3; l++) { /* t = G g */
                const vf s = v_add(g[0][l], g[2][l]);
                t[0][l] = g[0][l];
                t[1][l] = v_mul(half, v_add(s, g[1][l]));
                t[2][l] = v_mul(half, v_sub(s, g[1][l]));
                t[3][l] = g[2][l];
            }
            UNROLL for (int a = 0; a < 4; a++) { /* U = t G^T */
                float *u = U + (size_t)(a * 4) * xs + (size_t)r * ld + q;
                const vf s = v_add(t[a][0], t[a][2]);
                v_store(u, t[a][0]);
                v_store(u + xs, v_mul(half, v_add(s, t[a][1])));
                v_store(u + 2 * xs, v_mul(half, v_sub(s, t[a][1])));
                v_store(u + 3 * xs, t[a][2]);
            }
        }
    }
}

/* B^T d B of one 4x4 tile of VL lanes: d[a][b] at p + a*rs + b*cs; V element
 * xi = a*4 + b goes to out + xi*xs (masked to the lanes of m when masked). */
FORCE_INLINE void wino2_input_tile(const float *p, ptrdiff_t rs, ptrdiff_t cs, float *out,
                                   size_t xs, int masked, vmask m) {
    vf u[4][4];
    UNROLL for (int b = 0; b < 4; b++) { /* u = B^T d, column b */
        const vf d0 = v_load(p + b * cs), d1 = v_load(p + rs + b * cs);
        const vf d2 = v_load(p + 2 * rs + b * cs), d3 = v_load(p + 3 * rs + b * cs);
        u[0][b] = v_sub(d0, d2);
        u[1][b] = v_add(d1, d2);
        u[2][b] = v_sub(d2, d1);
        u[3][b] = v_sub(d1, d3);
    }
    UNROLL for (int a = 0; a < 4; a++) { /* V = u B, row a */
        const vf r[4] = {v_sub(u[a][0], u[a][2]), v_add(u[a][1], u[a][2]), v_sub(u[a][2], u[a][1]),
                         v_sub(u[a][1], u[a][3])};
        UNROLL for (int b = 0; b < 4; b++) {
            float *q = out + (size_t)(a * 4 + b) * xs;
            v_store_if(q, r[b], masked, m);
        }
    }
}

/* pad [Hn][Wn][n] = the rows o .. o + Hn - 1 and columns o .. o + Wn - 1 of
 * x [H][W][n], zero outside the image. */
static void wino_pad(const float *x, int H, int W, int n, int o, int Hn, int Wn, float *pad) {
    const int c0 = imin(Wn, o < 0 ? -o : 0), c1 = W - o < Wn ? W - o : Wn;
    const size_t row = (size_t)Wn * n;
    for (int r = 0; r < Hn; r++) {
        float *d = pad + (size_t)r * row;
        const int xr = r + o;
        if (xr < 0 || xr >= H || c1 <= c0) {
            memset(d, 0, row * sizeof(float));
            continue;
        }
        memset(d, 0, (size_t)c0 * n * sizeof(float));
        memcpy(d + (size_t)c0 * n, x + ((size_t)xr * W + (size_t)(c0 + o)) * n,
               (size_t)(c1 - c0) * n * sizeof(float));
        memset(d + (size_t)c1 * n, 0, (size_t)(Wn - c1) * n * sizeof(float));
    }
}

/* A^T m A + bias of one tile of VL lanes, m[xi] at mp + xi*xs: Y[i][j] to
 * y[i][j] (2x2, row-major). */
FORCE_INLINE void wino2_output_tile(const float *mp, size_t xs, vf bv, vf y[2][2]) {
    vf s[2][4];
    UNROLL for (int b = 0; b < 4; b++) { /* s = A^T m */
        const vf m0 = v_load(mp + (size_t)b * xs), m1 = v_load(mp + (size_t)(4 + b) * xs);
        const vf m2 = v_load(mp + (size_t)(8 + b) * xs), m3 = v_load(mp + (size_t)(12 + b) * xs);
        s[0][b] = v_add(v_add(m0, m1), m2);
        s[1][b] = v_sub(v_sub(m1, m2), m3);
    }
    UNROLL for (int i = 0; i < 2; i++) { /* Y = s A */
        y[i][0] = v_add(v_add(v_add(s[i][0], s[i][1]), s[i][2]), bv);
        y[i][1] = v_add(v_sub(v_sub(s[i][1], s[i][2]), s[i][3]), bv);
    }
}

/* y [H][W][n] (rows < H, columns < W of the 2x2 tiles) = A^T M A (+ bias, relu)
 * from M[xi][t][ldm] (xi stride wino_xs(T, ldm), ldm a multiple of VL). */
static void wino2_output(const float *M, int TH, int TW, size_t ldm, int n, float *y, int H, int W,
                         const float *bias, int relu) {
    const size_t xs = wino_xs((size_t)TH * TW, ldm);
    const int nvec = (n + VL - 1) / VL;
    const vmask ml = v_mask(n - (nvec - 1) * VL);
    const vf zero = v_zero();
    for (int ty = 0; ty < TH; ty++) {
        const int rows = 2 * ty + 1 < H ? 2 : 1;
        for (int tx = 0; tx < TW; tx++) {
            const int t = ty * TW + tx, cols = 2 * tx + 1 < W ? 2 : 1;
            float *yt = y + ((size_t)(2 * ty) * W + 2 * tx) * n;
            for (int v = 0; v < nvec; v++) {
                const int last = v == nvec - 1;
                const vf bv =
                    bias ? (last ? v_load_m(bias + v * VL, ml) : v_load(bias + v * VL)) : zero;
                vf r[2][2];
                wino2_output_tile(M + (size_t)t * ldm + v * VL, xs, bv, r);
                if (relu)
                    UNROLL for (int i = 0; i < 2; i++) UNROLL for (int j = 0; j < 2; j++) r[i][j] =
                        v_max(r[i][j], zero);
                float *q = yt + v * VL;
                if (rows == 2 && cols == 2 && !(last && n % VL)) {
                    v_store(q, r[0][0]);
                    v_store(q + n, r[0][1]);
                    v_store(q + (size_t)W * n, r[1][0]);
                    v_store(q + (size_t)W * n + n, r[1][1]);
                    continue;
                }
                for (int i = 0; i < rows; i++)
                    for (int j = 0; j < cols; j++) {
                        float *p = q + ((size_t)i * W + j) * n;
                        v_store_if(p, r[i][j], last, ml);
                    }
            }
        }
    }
}

/* dM = A e A^T of one 2x2 tile of VL lanes, e[i][j] at p + i*rs + j*cs, to
 * out + xi*xs: the adjoint of wino2_output_tile. */
FORCE_INLINE void wino2_adjoint_tile(const vf e[2][2], float *out, size_t xs) {
    vf p[4][2]; /* p = A e */
    UNROLL for (int j = 0; j < 2; j++) {
        p[0][j] = e[0][j];
        p[1][j] = v_add(e[0][j], e[1][j]);
        p[2][j] = v_sub(e[0][j], e[1][j]);
        p[3][j] = v_sub(v_zero(), e[1][j]);
    }
    UNROLL for (int a = 0; a < 4; a++) { /* dM = p A^T */
        const vf q[4] = {p[a][0], v_add(p[a][0], p[a][1]), v_sub(p[a][0], p[a][1]),
                         v_sub(v_zero(), p[a][1])};
        UNROLL for (int b = 0; b < 4; b++) v_store(out + (size_t)(a * 4 + b) * xs, q[b]);
    }
}

/* dM[xi][t][ldm] = A dY A^T for the 2x2 tiles of dz [H][W][n] (zero outside):
 * the adjoint of wino2_output. Lanes n..ldm are zero. Whole tiles of whole
 * vectors load straight; the others through bounds checks and masks. The xi
 * slices are wino_xs(Ts, ldm) apart (Ts >= TH * TW: room for more images' tiles
 * after these). */
static void wino2_output_adjoint(const float *dz, int H, int W, int n, int TH, int TW, float *dM,
                                 size_t ldm, int Ts) {
    const size_t xs = wino_xs((size_t)Ts, ldm);
    const int nvec = (n + VL - 1) / VL, nfull = n / VL;
    const vmask ml = v_mask(n - (nvec - 1) * VL);
    const size_t rs = (size_t)W * n;
    for (int ty = 0; ty < TH; ty++) {
        for (int tx = 0; tx < TW; tx++) {
            const int t = ty * TW + tx;
            const float *p0 = dz + ((size_t)(2 * ty) * W + 2 * tx) * n;
            float *out = dM + (size_t)t * ldm;
            int v = 0;
            if (2 * ty + 1 < H && 2 * tx + 1 < W)
                for (; v < nfull; v++) {
                    const float *p = p0 + v * VL;
                    const vf e[2][2] = {{v_load(p), v_load(p + n)},
                                        {v_load(p + rs), v_load(p + rs + n)}};
                    wino2_adjoint_tile(e, out + v * VL, xs);
                }
            for (; v < nvec; v++) {
                const int last = v == nvec - 1;
                vf e[2][2];
                for (int i = 0; i < 2; i++)
                    for (int j = 0; j < 2; j++) {
                        const int r = 2 * ty + i, c = 2 * tx + j;
                        const float *p = dz + ((size_t)r * W + c) * n + v * VL;
                        e[i][j] = r >= H || c >= W ? v_zero() : last ? v_load_m(p, ml) : v_load(p);
                    }
                wino2_adjoint_tile(e, out + v * VL, xs);
            }
        }
    }
}

/* ---- Winograd F(4x4, 3x3) ------------------------------------------------------------
 *
 * The same scheme on 4x4 output tiles from 6x6 input tiles: 36 GEMMs instead
 * of 16, on 4x fewer tiles, so 2.25 multiplications an output instead of 4
 * (cifar10's conv2: 13x13 outputs are 4x4 tiles of 4x4, 576 tile positions
 * an image and channel pair against 784 for F(2x2)). The matrices are Lavin
 * and Gray's (interpolation points 0, 1, -1, 2, -2 and infinity):
 *   B^T = [4  0 -5  0 1 0]      G = [ 1/4     0     0 ]   A^T = [1 1  1 1  1 0]
 *         [0 -4 -4  1 1 0]          [-1/6  -1/6  -1/6 ]         [0 1 -1 2 -2 0]
 *         [0  4 -4 -1 1 0]          [-1/6   1/6  -1/6 ]         [0 1  1 4  4 0]
 *         [0 -2 -1  2 1 0]          [1/24  1/12   1/6 ]         [0 1 -1 8 -8 1]
 *         [0  2 -1 -2 1 0]          [1/24 -1/12   1/6 ]
 *         [0  4  0 -5 0 1]          [ 0      0     1  ]
 * Each 1-D transform below is written out with its common subexpressions.
 *
 * Forward and input gradient, by default: on cifar10's conv2 it takes the
 * forward product from ~0.71 to ~0.66 ms a batch (bench_cifar_step, 2
 * threads), and the backward pass, with dx by F(4x4) instead of the direct
 * kernel, from ~1.64 to ~1.46 ms. The weight gradient too, with the GEMMs
 * over two images' tiles: with one image's 16 they are short (K = 16) and
 * each pass reads and writes the whole 295 KB partial dU. Measured on one
 * thread (bench_cifar_step --threads 1, the steadiest figure on the shared
 * VM), training step medians: F(2x2) one image at a time 4.70-4.77 ms, two
 * 4.76-4.81, four 4.95-5.00; F(4x4) one 4.70-4.79, two 4.64-4.71, four
 * 4.71-4.77. nl_compile_options' wino_tile, wino_dw_tile (2 or 4) and
 * wino_dx_tile (-1: direct, 2 or 4) force the tile sizes, for
 * comparisons. Its rounding
 * error is larger (constants up to 8 in A^T): on cifar10's conv2 shape the
 * forward output stays within 1e-5 * (1 + |y|) of a double-precision
 * reference (test_conv2d). */

/* r = B^T d for 6 vectors */
FORCE_INLINE void w4_bt(const vf d[6], vf r[6]) {
    const vf four = v_set1(4.0f), m5 = v_set1(-5.0f), m4 = v_set1(-4.0f), two = v_set1(2.0f);
    const vf t0 = v_fma(m4, d[2], d[4]), t1 = v_fma(m4, d[1], d[3]);
    const vf t2 = v_sub(d[4], d[2]), t3 = v_mul(two, v_sub(d[3], d[1]));
    r[0] = v_fma(four, d[0], v_fma(m5, d[2], d[4]));
    r[1] = v_add(t0, t1);
    r[2] = v_sub(t0, t1);
    r[3] = v_add(t2, t3);
    r[4] = v_sub(t2, t3);
    r[5] = v_fma(four, d[1], v_fma(m5, d[3], d[5]));
}

/* y = A^T m (4 from 6) */
FORCE_INLINE void w4_at(const vf m[6], vf y[4]) {
    const vf s12 = v_add(m[1], m[2]), d12 = v_sub(m[1], m[2]);
    const vf s34 = v_add(m[3], m[4]), d34 = v_sub(m[3], m[4]);
    y[0] = v_add(v_add(m[0], s12), s34);
    y[1] = v_fma(v_set1(2.0f), d34, d12);
    y[2] = v_fma(v_set1(4.0f), s34, s12);
    y[3] = v_add(v_fma(v_set1(8.0f), d34, d12), m[5]);
}

/* p = A e (6 from 4): the adjoint of w4_at */
FORCE_INLINE void w4_a(const vf e[4], vf p[6]) {
    const vf a = v_add(e[0], e[2]), b = v_add(e[1], e[3]);
    const vf c = v_fma(v_set1(4.0f), e[2], e[0]);
    const vf d = v_mul(v_set1(2.0f), v_fma(v_set1(4.0f), e[3], e[1]));
    p[0] = e[0];
    p[1] = v_add(a, b);
    p[2] = v_sub(a, b);
    p[3] = v_add(c, d);
    p[4] = v_sub(c, d);
    p[5] = e[3];
}

/* u = G g (6 from 3) */
FORCE_INLINE void w4_g(const vf g[3], vf u[6]) {
    const vf s = v_add(g[0], g[2]);
    const vf q = v_fma(v_set1(1.0f / 24.0f), g[0], v_mul(v_set1(1.0f / 6.0f), g[2]));
    const vf h = v_mul(v_set1(1.0f / 12.0f), g[1]);
    u[0] = v_mul(v_set1(0.25f), g[0]);
    u[1] = v_mul(v_set1(-1.0f / 6.0f), v_add(s, g[1]));
    u[2] = v_mul(v_set1(-1.0f / 6.0f), v_sub(s, g[1]));
    u[3] = v_add(q, h);
    u[4] = v_sub(q, h);
    u[5] = g[2];
}

/* g = G^T u (3 from 6): the adjoint of w4_g */
FORCE_INLINE void w4_gt(const vf u[6], vf g[3]) {
    const vf s12 = v_add(u[1], u[2]), d12 = v_sub(u[1], u[2]);
    const vf s34 = v_add(u[3], u[4]), d34 = v_sub(u[3], u[4]);
    const vf sixth = v_set1(1.0f / 6.0f);
    g[0] = v_fma(v_set1(0.25f), u[0],
                 v_fma(v_set1(-1.0f / 6.0f), s12, v_mul(v_set1(1.0f / 24.0f), s34)));
    g[1] = v_fma(v_set1(-1.0f / 6.0f), d12, v_mul(v_set1(1.0f / 12.0f), d34));
    g[2] = v_add(v_mul(sixth, v_sub(s34, s12)), u[5]);
}

/* U[xi][r][ld] = G g G^T (xi = a*6 + b), arguments as wino2_weights. */
static void wino4_weights(const float *w, ptrdiff_t ks, ptrdiff_t rs, int flip, int R, int Q,
                          float *U, size_t ld) {
    const size_t xs = (size_t)R * ld;
    const int nvec = (int)(ld / VL);
#pragma omp for schedule(static)
    for (int r = 0; r < R; r++) {
        for (int v = 0; v < nvec; v++) {
            const int q = v * VL, lanes = imin(VL, Q - q);
            const vmask m = v_mask(lanes);
            vf col[3][6]; /* col[kw] = G g[:, kw] */
            UNROLL for (int kw = 0; kw < 3; kw++) {
                vf g[3];
                UNROLL for (int kh = 0; kh < 3; kh++) {
                    const int k = flip ? 8 - (kh * 3 + kw) : kh * 3 + kw;
                    const float *p = w + k * ks + r * rs + q;
                    g[kh] = lanes == VL ? v_load(p) : v_load_m(p, m);
                }
                w4_g(g, col[kw]);
            }
            UNROLL for (int a = 0; a < 6; a++) { /* row a of (G g) G^T */
                const vf g[3] = {col[0][a], col[1][a], col[2][a]};
                vf u[6];
                w4_g(g, u);
                float *o = U + (size_t)(a * 6) * xs + (size_t)r * ld + q;
                UNROLL for (int b = 0; b < 6; b++) v_store(o + (size_t)b * xs, u[b]);
            }
        }
    }
}

/* B^T d B of one 6x6 tile, as wino2_input_tile. */
FORCE_INLINE void wino4_input_tile(const float *p, ptrdiff_t rs, ptrdiff_t cs, float *out,
                                   size_t xs, int masked, vmask m) {
    vf u[6][6]; /* u[b] = B^T d[:, b], column b */
    UNROLL for (int b = 0; b < 6; b++) {
        vf d[6];
        UNROLL for (int a = 0; a < 6; a++) d[a] = v_load(p + a * rs + b * cs);
        w4_bt(d, u[b]);
    }
    UNROLL for (int a = 0; a < 6; a++) { /* row a of (B^T d) B */
        const vf d[6] = {u[0][a], u[1][a], u[2][a], u[3][a], u[4][a], u[5][a]};
        vf r[6];
        w4_bt(d, r);
        UNROLL for (int b = 0; b < 6; b++) {
            float *q = out + (size_t)(a * 6 + b) * xs;
            v_store_if(q, r[b], masked, m);
        }
    }
}

/* The tiles of wino_input, m (2 or 4) a constant after inlining. */
FORCE_INLINE void wino_input_tiles(const int m, const float *x, int W, int n, int TH, int TW,
                                   float *V, int Ts) {
    const size_t xs = wino_xs((size_t)Ts, n);
    const int nvec = (n + VL - 1) / VL, nfull = n / VL;
    const vmask ml = v_mask(n - (nvec - 1) * VL);
    const ptrdiff_t rs = (ptrdiff_t)W * n;
    for (int ty = 0; ty < TH; ty++)
        for (int tx = 0; tx < TW; tx++) {
            const float *p = x + ((ptrdiff_t)(m * ty) * W + m * tx) * n;
            float *out = V + (size_t)(ty * TW + tx) * n;
            for (int v = 0; v < nfull; v++) {
                if (m == 4)
                    wino4_input_tile(p + v * VL, rs, n, out + v * VL, xs, 0, ml);
                else
                    wino2_input_tile(p + v * VL, rs, n, out + v * VL, xs, 0, ml);
            }
            if (nfull == nvec) continue; /* the partial last vector: masked stores */
            if (m == 4)
                wino4_input_tile(p + nfull * VL, rs, n, out + nfull * VL, xs, 1, ml);
            else
                wino2_input_tile(p + nfull * VL, rs, n, out + nfull * VL, xs, 1, ml);
        }
}

/* V[xi][t][n] (row stride n, xi stride wino_xs(Ts, n), Ts >= T) = B^T d B for the
 * (m + 2) x (m + 2) tiles d of x [H][W][n] with origin (m*ty + o, m*tx + o),
 * t = ty*TW + tx, m = 2 or 4; rows and columns outside the image are zero.
 * When every tile is inside the image and n is whole vectors, x is read in
 * place; otherwise from a zero-padded copy in pad (wino_pad_floats(m, TH, TW,
 * n)), so every tile takes the same straight-line path (a partial last vector
 * with masked stores). */
static void wino_input(int m, const float *x, int H, int W, int n, int TH, int TW, int o, float *V,
                       int Ts, float *pad) {
    const int Hn = m * TH + 2, Wn = m * TW + 2;
    if (o != 0 || Hn > H || Wn > W || n % VL) {
        wino_pad(x, H, W, n, o, Hn, Wn, pad);
        x = pad, W = Wn;
    }
    if (m == 4)
        wino_input_tiles(4, x, W, n, TH, TW, V, Ts);
    else
        wino_input_tiles(2, x, W, n, TH, TW, V, Ts);
}

/* y = A^T M A (+ bias, relu) for the 4x4 tiles, as wino2_output. */
static void wino4_output(const float *M, int TH, int TW, size_t ldm, int n, float *y, int H, int W,
                         const float *bias, int relu) {
    const size_t xs = wino_xs((size_t)TH * TW, ldm);
    const int nvec = (n + VL - 1) / VL;
    const vmask ml = v_mask(n - (nvec - 1) * VL);
    const vf zero = v_zero();
    for (int ty = 0; ty < TH; ty++) {
        const int rows = imin(4, H - 4 * ty);
        for (int tx = 0; tx < TW; tx++) {
            const int t = ty * TW + tx, cols = imin(4, W - 4 * tx);
            float *yt = y + ((size_t)(4 * ty) * W + 4 * tx) * n;
            for (int v = 0; v < nvec; v++) {
                const int last = v == nvec - 1;
                const vf bv =
                    bias ? (last ? v_load_m(bias + v * VL, ml) : v_load(bias + v * VL)) : zero;
                const float *mp = M + (size_t)t * ldm + v * VL;
                vf s[6][4]; /* s[b] = A^T m[:, b], column b */
                UNROLL for (int b = 0; b < 6; b++) {
                    vf m[6];
                    UNROLL for (int a = 0; a < 6; a++) m[a] = v_load(mp + (size_t)(a * 6 + b) * xs);
                    w4_at(m, s[b]);
                }
                float *q = yt + v * VL;
                const int full = rows == 4 && cols == 4 && !(last && n % VL);
                UNROLL for (int i = 0; i < 4; i++) { /* row i of (A^T m) A */
                    const vf m[6] = {s[0][i], s[1][i], s[2][i], s[3][i], s[4][i], s[5][i]};
                    vf r[4];
                    w4_at(m, r);
                    UNROLL for (int j = 0; j < 4; j++) {
                        r[j] = v_add(r[j], bv);
                        if (relu) r[j] = v_max(r[j], zero);
                    }
                    if (full) {
                        UNROLL for (int j = 0; j < 4; j++)
                            v_store(q + ((size_t)i * W + j) * n, r[j]);
                        continue;
                    }
                    if (i >= rows) continue;
                    for (int j = 0; j < cols; j++) {
                        float *p = q + ((size_t)i * W + j) * n;
                        v_store_if(p, r[j], last, ml);
                    }
                }
            }
        }
    }
}

/* dM[xi][t][ldm] = A dY A^T for the 4x4 tiles of dz [H][W][n] (zero outside),
 * the adjoint of wino4_output; lanes n..ldm are zero; slices as in
 * wino2_output_adjoint. */
static void wino4_output_adjoint(const float *dz, int H, int W, int n, int TH, int TW, float *dM,
                                 size_t ldm, int Ts) {
    const size_t xs = wino_xs((size_t)Ts, ldm);
    const int nvec = (n + VL - 1) / VL;
    const vmask ml = v_mask(n - (nvec - 1) * VL);
    for (int ty = 0; ty < TH; ty++) {
        for (int tx = 0; tx < TW; tx++) {
            const int t = ty * TW + tx;
            const int full = 4 * ty + 3 < H && 4 * tx + 3 < W;
            for (int v = 0; v < nvec; v++) {
                const int last = v == nvec - 1 && n % VL;
                vf p[4][6]; /* p[i] = A e[i, :], row i */
                UNROLL for (int i = 0; i < 4; i++) {
                    vf e[4];
                    UNROLL for (int j = 0; j < 4; j++) {
                        const int r = 4 * ty + i, c = 4 * tx + j;
                        const float *q = dz + ((size_t)r * W + c) * n + v * VL;
                        if (full && !last)
                            e[j] = v_load(q);
                        else
                            e[j] = r >= H || c >= W ? v_zero() : last ? v_load_m(q, ml) : v_load(q);
                    }
                    w4_a(e, p[i]);
                }
                float *out = dM + (size_t)t * ldm + v * VL;
                UNROLL for (int b = 0; b < 6; b++) { /* column b of A (p) */
                    const vf e[4] = {p[0][b], p[1][b], p[2][b], p[3][b]};
                    vf r[6];
                    w4_a(e, r);
                    UNROLL for (int a = 0; a < 6; a++)
                        v_store(out + (size_t)(a * 6 + b) * xs, r[a]);
                }
            }
        }
    }
}

/* dw [3][3][C][F] = G^T (sum of the nparts partial dU [36][C][ldd]) G, as
 * wino2_dw_finish. */
static void wino4_dw_finish(const float *dU, size_t part_stride, int nparts, int C, int F,
                            size_t ldd, float *dw) {
    const size_t xs = (size_t)C * ldd;
    const int nvec = (F + VL - 1) / VL;
#pragma omp for schedule(static)
    for (int c = 0; c < C; c++) {
        for (int v = 0; v < nvec; v++) {
            const int f = v * VL, last = F - f < VL;
            const vmask m = v_mask(last ? F - f : VL);
            vf t[6][3]; /* t[a] = G^T dU[a, :], row a */
            UNROLL for (int a = 0; a < 6; a++) {
                vf u[6];
                UNROLL for (int b = 0; b < 6; b++) {
                    const float *p = dU + (size_t)(a * 6 + b) * xs + (size_t)c * ldd + f;
                    vf s = v_load(p);
                    for (int k = 1; k < nparts; k++) s = v_add(s, v_load(p + k * part_stride));
                    u[b] = s;
                }
                w4_gt(u, t[a]);
            }
            UNROLL for (int kw = 0; kw < 3; kw++) { /* column kw of G^T t */
                const vf u[6] = {t[0][kw], t[1][kw], t[2][kw], t[3][kw], t[4][kw], t[5][kw]};
                vf g[3];
                w4_gt(u, g);
                UNROLL for (int kh = 0; kh < 3; kh++) {
                    float *o = dw + ((size_t)(kh * 3 + kw) * C + c) * F + f;
                    v_store_if(o, g[kh], last, m);
                }
            }
        }
    }
}

/* The nxi GEMMs M_xi[T][ldm] = V_xi[T][K] . U_xi[K][ldu] (ldm == ldu, multiple of VL). */
static void wino_gemms(int nxi, const float *V, const float *U, float *M, int T, int K, size_t ld,
                       const float *zeros) {
    const int nvec = (int)(ld / VL), nv = pick_nv(nvec), mr = pick_mr(nv);
    const int ntiles = (T + mr - 1) / mr;
    fwd_args a;
    a.xrow = 0;
    a.KH = 1;
    a.L = K;
    a.ldw = (ptrdiff_t)ld;
    a.ldy = (ptrdiff_t)ld;
    a.relu = 0;
    a.mlast = v_mask(VL);
    for (int xi = 0; xi < nxi; xi++) {
        const float *Vx = V + xi * wino_xs(T, K), *Ux = U + (size_t)xi * K * ld;
        float *Mx = M + xi * wino_xs(T, ld);
        for (int tile = 0; tile < ntiles; tile++) {
            int lo, hi;
            split_range(T, ntiles, tile, &lo, &hi);
            for (int i = 0; i < hi - lo; i++) a.x[i] = Vx + (size_t)(lo + i) * K;
            for (int v0 = 0; v0 < nvec; v0 += nv) {
                const int nvh = imin(nv, nvec - v0);
                a.w = Ux + (size_t)v0 * VL;
                a.bias = zeros;
                a.y = Mx + (size_t)lo * ld + (size_t)v0 * VL;
                nl_fwd_tab[hi - lo - 1][nvh - 1](&a);
            }
        }
    }
}

/* y [B][OH][OW][F] = act(conv(x, w) + b) by Winograd; x is the (padded) input. */
static void conv2d_forward_wino(const conv_geom *g, float *y, const float *x, const float *w,
                                const float *bias, int relu, float *scratch,
                                void (*out_fn)(void *, int, int, const float *), void *arg) {
    const conv_scratch sl = scratch_layout(g);
    float *U = scratch + sl.wu, *zeros = scratch + sl.wzero;
    const int T = g->TH * g->TW;
    const size_t ximg = (size_t)g->Hp * g->Wp * g->C, yimg = (size_t)g->OH * g->OW * g->F;
    memset(zeros, 0, (size_t)g->Fp * sizeof(float));
    int nt = omp_get_max_threads();
    if (nt > WINO_MAX_THREADS) nt = WINO_MAX_THREADS;
#pragma omp parallel num_threads(nt)
    {
        const ptrdiff_t ks = (ptrdiff_t)g->C * g->F;
        if (g->wino == 4)
            wino4_weights(w, ks, g->F, 0, g->C, g->F, U, (size_t)g->Fp);
        else
            wino2_weights(w, ks, g->F, 0, g->C, g->F, U, (size_t)g->Fp);
        const int nth = omp_get_num_threads(), t = omp_get_thread_num();
        float *V = scratch + sl.wwork + (size_t)t * sl.wthread, *pad = V + sl.wpad;
        float *M = V + align16(g->nxi * wino_xs(T, g->C));
        int b_lo, b_hi;
        split_range(g->B, nth, t, &b_lo, &b_hi);
        for (int b = b_lo; b < b_hi; b++) {
            float *yb = y + (size_t)b * yimg;
            wino_input(g->wino, x + (size_t)b * ximg, g->Hp, g->Wp, g->C, g->TH, g->TW, 0, V, T,
                       pad);
            wino_gemms(g->nxi, V, U, M, T, g->C, (size_t)g->Fp, zeros);
            if (g->wino == 4)
                wino4_output(M, g->TH, g->TW, (size_t)g->Fp, g->F, yb, g->OH, g->OW, bias, relu);
            else
                wino2_output(M, g->TH, g->TW, (size_t)g->Fp, g->F, yb, g->OH, g->OW, bias, relu);
            if (out_fn) out_fn(arg, b, t, y + (size_t)b * yimg);
        }
    }
}

/* dU_xi[C][ldd] += sum_t V_xi[t][C]^T . dM_xi[t][ldd] over the T tiles t (of
 * one image or more) in slices wino_xs(Ts, .) apart. */
static void wino_dw_gemms(int nxi, const float *V, const float *dM, float *dU, int T, int Ts, int C,
                          size_t ldd) {
    const int nvec = (int)(ldd / VL), nv = pick_nv(nvec), mr = pick_mr(nv);
    const int ntiles = (C + mr - 1) / mr;
    dw_args a;
    a.zero = 0;
    a.xs = C;
    a.xrs = 0;
    a.OH = 1;
    a.OW = T;
    a.ldz = (ptrdiff_t)ldd;
    a.ldd = (ptrdiff_t)ldd;
    a.mlast = v_mask(VL);
    for (int xi = 0; xi < nxi; xi++) {
        for (int tile = 0; tile < ntiles; tile++) {
            int c0, c1;
            split_range(C, ntiles, tile, &c0, &c1);
            a.x = V + xi * wino_xs(Ts, C) + c0;
            for (int v0 = 0; v0 < nvec; v0 += nv) {
                const int nvh = imin(nv, nvec - v0);
                a.dz = dM + xi * wino_xs(Ts, ldd) + (size_t)v0 * VL;
                a.dw = dU + ((size_t)xi * C + c0) * ldd + (size_t)v0 * VL;
                nl_dw_tab[c1 - c0 - 1][nvh - 1](&a);
            }
        }
    }
}

/* dw [3][3][C][F] = G^T (sum of the nparts partial dU [16][C][ldd]) G,
 * vectorised along the filters. Called inside a parallel region (omp for
 * over channels). */
static void wino2_dw_finish(const float *dU, size_t part_stride, int nparts, int C, int F,
                            size_t ldd, float *dw) {
    const size_t xs = (size_t)C * ldd;
    const int nvec = (F + VL - 1) / VL;
    const vf half = v_set1(0.5f);
#pragma omp for schedule(static)
    for (int c = 0; c < C; c++) {
        for (int v = 0; v < nvec; v++) {
            const int f = v * VL, last = F - f < VL;
            const vmask m = v_mask(last ? F - f : VL);
            vf u[16], t[4][3];
            UNROLL for (int xi = 0; xi < 16; xi++) {
                const float *p = dU + xi * xs + (size_t)c * ldd + f;
                vf s = v_load(p);
                for (int k = 1; k < nparts; k++) s = v_add(s, v_load(p + k * part_stride));
                u[xi] = s;
            }
            UNROLL for (int a = 0; a < 4; a++) { /* t = dU G (4x3) */
                const vf *r = u + 4 * a;
                const vf h = v_mul(half, v_add(r[1], r[2]));
                t[a][0] = v_add(r[0], h);
                t[a][1] = v_mul(half, v_sub(r[1], r[2]));
                t[a][2] = v_add(h, r[3]);
            }
            UNROLL for (int kw = 0; kw < 3; kw++) { /* dW = G^T t */
                const vf h = v_mul(half, v_add(t[1][kw], t[2][kw]));
                const vf g[3] = {v_add(t[0][kw], h), v_mul(half, v_sub(t[1][kw], t[2][kw])),
                                 v_add(h, t[3][kw])};
                UNROLL for (int kh = 0; kh < 3; kh++) {
                    float *o = dw + ((size_t)(kh * 3 + kw) * C + c) * F + f;
                    v_store_if(o, g[kh], last, m);
                }
            }
        }
    }
}

/* ---- backward ----------------------------------------------------------------------- */

/* dz [P][F] *= relu'(y) (relu only) and db [F] += the sum of dz over the P pixels.
 * 32 filters at a time, their sums in registers over all the pixels (not a
 * load-add-store of db per pixel: a chain through memory), in MB_CHAINS
 * independent chains (pixel p adds to chain p % MB_CHAINS) so that the adds do
 * not wait on each other's latency. */
#define MB_CHUNK  32
#define MB_CHAINS 4 /* (the final sum below adds four) */
static void mask_and_bias(float *dz, const float *y, int P, int F, int relu, float *db) {
    enum { NVEC = MB_CHUNK / VL };
    int f0 = 0;
    for (; f0 + MB_CHUNK <= F; f0 += MB_CHUNK) {
        vf acc[MB_CHAINS][NVEC];
        UNROLL for (int j = 0; j < MB_CHAINS; j++) UNROLL for (int v = 0; v < NVEC; v++) acc[j][v] =
            v_zero();
        for (int p0 = 0; p0 < P; p0 += MB_CHAINS) {
            const int n = imin(MB_CHAINS, P - p0);
            UNROLL for (int j = 0; j < MB_CHAINS; j++) {
                if (j >= n) break;
                float *d = dz + (size_t)(p0 + j) * F + f0;
                const float *yy = y + (size_t)(p0 + j) * F + f0;
                UNROLL for (int v = 0; v < NVEC; v++) {
                    vf x = v_load(d + v * VL);
                    if (relu) {
                        x = v_where_pos(x, v_load(yy + v * VL));
                        v_store(d + v * VL, x);
                    }
                    acc[j][v] = v_add(acc[j][v], x);
                }
            }
        }
        float sum[MB_CHUNK];
        UNROLL for (int v = 0; v < NVEC; v++) {
            const vf a = v_add(acc[0][v], acc[1][v]), b = v_add(acc[2][v], acc[3][v]);
            v_store(sum + v * VL, v_add(a, b));
        }
        for (int f = 0; f < MB_CHUNK; f++) db[f0 + f] += sum[f];
    }
    if (f0 == F) return;
    for (int p = 0; p < P; p++) { /* the last F % 32 filters */
        float *d = dz + (size_t)p * F;
        const float *yy = y + (size_t)p * F;
        if (relu)
            for (int f = f0; f < F; f++) d[f] = yy[f] > 0.0f ? d[f] : 0.0f;
        for (int f = f0; f < F; f++) db[f] += d[f];
    }
}

/* Per thread: for each image of its block, dz = dy * relu'(y) in place and the
 * db partial (dy == NULL: dz is made by dout_fn into the thread's buffer, in
 * cache for what follows, with the ReLU's derivative when dout_relu); the dW
 * partial over the image; dx of the image when wanted.
 * Then dW, db = sum of the partials in thread order; dx cropped when padded.
 *   x   (padded) input [B][Hp][Wp][C]      y, dy  [B][OH][OW][F]
 *   w   [KH][KW][C][F]                     dw [K][F], db [F]
 *   dx  [B][H][W][C] or NULL               scratch: see scratch_layout */
static void conv2d_backward(const conv_geom *g, float *dx, float *dw, float *db, float *dy,
                            const float *x, const float *y, const float *w, int relu,
                            float *scratch, void (*dout_fn)(void *, int, const float *, float *),
                            void *dout_arg, int dout_relu) {
    const conv_scratch sl = scratch_layout(g);
    float *wt = scratch + sl.wt, *parts = scratch + sl.parts;
    float *dxp = dx && g->padded ? scratch + sl.dxpad : dx;
    const size_t part_floats = align16((size_t)g->K * g->Fp + g->Fp);
    const int OHW = g->OH * g->OW, L = g->KW * g->C;
    const int T = g->THd * g->TWd;     /* the weight gradient's Winograd tiles of an image */
    const int Ts = WINO_DW_IMAGES * T; /* and of the images its GEMMs take at once */
    const int fvec = (g->F + VL - 1) / VL, nvf = pick_nv(fvec), mrw = pick_mr(nvf);
    const int cvec = (g->C + VL - 1) / VL, nvc = pick_nv(cvec), mrx = pick_mr(nvc);
    const size_t ximg = (size_t)g->Hp * g->Wp * g->C,
                 dximg = dx && g->padded ? ximg : (size_t)g->H * g->W * g->C;
    int nt = omp_get_max_threads();
    if (nt > CONV_MAX_PARTS) nt = CONV_MAX_PARTS;
    if (g->wino && nt > WINO_MAX_THREADS) nt = WINO_MAX_THREADS;
    if (nt > g->B) nt = g->B;
    if (dx && g->wino_dx) /* the input gradient GEMMs' bias */
        memset(scratch + sl.wzero, 0, (size_t)(g->Fp > g->Cp ? g->Fp : g->Cp) * sizeof(float));
#pragma omp parallel num_threads(nt)
    {
        const int nth = omp_get_num_threads(), t = omp_get_thread_num();
        if (dx) {
            /* W^T for the input gradient: wt[kh][kw][f][c] = w[kh][kw][c][f], zero for c >= C */
#pragma omp for schedule(static)
            for (int kk = 0; kk < g->KH * g->KW; kk++) {
                float *o = wt + (size_t)kk * g->F * g->Cp;
                const float *s = w + (size_t)kk * g->C * g->F;
                for (int f = 0; f < g->F; f++) {
                    for (int c = 0; c < g->C; c++)
                        o[(size_t)f * g->Cp + c] = s[(size_t)c * g->F + f];
                    for (int c = g->C; c < g->Cp; c++) o[(size_t)f * g->Cp + c] = 0.0f;
                }
            }
            /* Winograd input gradient: the transform of the flipped W^T */
            const ptrdiff_t ks = (ptrdiff_t)g->F * g->Cp;
            if (g->wino_dx == 4)
                wino4_weights(wt, ks, g->Cp, 1, g->F, g->C, scratch + sl.wux, (size_t)g->Cp);
            else if (g->wino_dx == 2)
                wino2_weights(wt, ks, g->Cp, 1, g->F, g->C, scratch + sl.wux, (size_t)g->Cp);
        }
        float *part = parts + (size_t)t * part_floats, *dbp = part + (size_t)g->K * g->Fp;
        memset(part, 0, part_floats * sizeof(float));
        /* Winograd buffers of this thread: dU partial, V, dM */
        float *dU = scratch + sl.wwork + (size_t)t * sl.wthread, *pad = dU + sl.wpad;
        float *V = dU + align16((size_t)g->nxid * g->C * g->Fp);
        float *dM = V + align16(g->nxid * wino_xs(Ts, g->C));
        if (g->wino) memset(dU, 0, (size_t)g->nxid * g->C * g->Fp * sizeof(float));
        /* and the input gradient's: V [nxix][Tx][F], M [nxix][Tx][Cp] */
        const int Tx = g->THx * g->TWx;
        float *Vx = dM + align16(g->nxid * wino_xs(Ts, g->Fp));
        float *Mx = Vx + align16(g->nxix * wino_xs(Tx, g->F));
        int b_lo, b_hi;
        split_range(g->B, nth, t, &b_lo, &b_hi);
        dw_args da;
        da.zero = 0;
        da.xs = (ptrdiff_t)g->S * g->C;
        da.xrs = (ptrdiff_t)g->S * g->Wp * g->C;
        da.OH = g->OH, da.OW = g->OW;
        da.ldz = g->F;
        da.ldd = g->Fp;
        dx_args xa;
        xa.add = 1;
        xa.ldz = g->F;
        xa.F = g->F, xa.KH = g->KH, xa.KW = g->KW;
        xa.ldwt = g->Cp;
        xa.xrow = (ptrdiff_t)g->Wp * g->C;
        xa.C = g->C;
        float *dzbuf = scratch + sl.dzbuf + (size_t)t * align16((size_t)OHW * g->F);
        for (int b = b_lo; b < b_hi; b++) {
            const float *yb = y + (size_t)b * OHW * g->F;
            float *dz = dy ? dy + (size_t)b * OHW * g->F : dzbuf;
            if (!dy) dout_fn(dout_arg, b, yb, dz);
            /* dz = dy * relu'(y) (unless dout_fn did it); db partial */
            mask_and_bias(dz, yb, OHW, g->F, relu && !(dout_fn && dout_relu), dbp);
            const float *xb = x + (size_t)b * ximg;
            if (g->wino) { /* dU += V^T . (A dz A^T), WINO_DW_IMAGES images at a time */
                const int slot = (b - b_lo) % WINO_DW_IMAGES;
                wino_input(g->wino_dw, xb, g->Hp, g->Wp, g->C, g->THd, g->TWd, 0,
                           V + (size_t)slot * T * g->C, Ts, pad);
                float *dMs = dM + (size_t)slot * T * g->Fp;
                if (g->wino_dw == 4)
                    wino4_output_adjoint(dz, g->OH, g->OW, g->F, g->THd, g->TWd, dMs, (size_t)g->Fp,
                                         Ts);
                else
                    wino2_output_adjoint(dz, g->OH, g->OW, g->F, g->THd, g->TWd, dMs, (size_t)g->Fp,
                                         Ts);
                if (slot == WINO_DW_IMAGES - 1 || b == b_hi - 1)
                    wino_dw_gemms(g->nxid, V, dM, dU, (slot + 1) * T, Ts, g->C, (size_t)g->Fp);
            } else { /* dW partial += cols_b^T . dz_b */
                for (int kh = 0; kh < g->KH; kh++) {
                    const int ntiles = (L + mrw - 1) / mrw;
                    for (int tile = 0; tile < ntiles; tile++) {
                        int j0, j1;
                        split_range(L, ntiles, tile, &j0, &j1);
                        da.x = xb + (size_t)kh * g->Wp * g->C + j0;
                        const int k0 = kh * L + j0;
                        for (int v0 = 0; v0 < fvec; v0 += nvf) {
                            const int nvh = imin(nvf, fvec - v0);
                            da.dz = dz + (size_t)v0 * VL;
                            da.dw = part + (size_t)k0 * g->Fp + (size_t)v0 * VL;
                            da.mlast = v_mask(imin(VL, g->F - (v0 + nvh - 1) * VL));
                            nl_dw_tab[j1 - j0 - 1][nvh - 1](&da);
                        }
                    }
                }
            }
            if (!dx) continue;
            float *dxb = dxp + (size_t)b * dximg;
            if (g->wino_dx) { /* dx_b = the full correlation of dz_b with the flipped W^T */
                const float *Ux = scratch + sl.wux, *zeros = scratch + sl.wzero;
                wino_input(g->wino_dx, dz, g->OH, g->OW, g->F, g->THx, g->TWx, -2, Vx, Tx, pad);
                wino_gemms(g->nxix, Vx, Ux, Mx, Tx, g->F, (size_t)g->Cp, zeros);
                if (g->wino_dx == 4)
                    wino4_output(Mx, g->THx, g->TWx, (size_t)g->Cp, g->C, dxb, g->Hp, g->Wp, NULL,
                                 0);
                else
                    wino2_output(Mx, g->THx, g->TWx, (size_t)g->Cp, g->C, dxb, g->Hp, g->Wp, NULL,
                                 0);
                continue;
            }
            /* dx_b = col2im(dz_b . W^T) */
            memset(dxb, 0, dximg * sizeof(float));
            const int ntiles = (OHW + mrx - 1) / mrx;
            for (int tile = 0; tile < ntiles; tile++) {
                int p0, p1;
                split_range(OHW, ntiles, tile, &p0, &p1);
                const int m = p1 - p0;
                xa.dz = dz + (size_t)p0 * g->F;
                for (int v0 = 0; v0 < cvec; v0 += nvc) {
                    const int nvh = imin(nvc, cvec - v0);
                    for (int i = 0; i < m; i++) {
                        const int p = p0 + i, oh = p / g->OW, ow = p % g->OW;
                        xa.dx[i] = dxb + ((size_t)oh * g->S * g->Wp + (size_t)ow * g->S) * g->C +
                                   (size_t)v0 * VL;
                    }
                    xa.wt = wt + (size_t)v0 * VL;
                    xa.mlast = v_mask(imin(VL, g->C - (v0 + nvh - 1) * VL));
                    nl_dx_tab[m - 1][nvh - 1](&xa);
                }
            }
        }
#pragma omp barrier
        /* dW, db: partial sums in thread order */
        if (g->wino) {
            if (g->wino_dw == 4)
                wino4_dw_finish(scratch + sl.wwork, sl.wthread, nth, g->C, g->F, (size_t)g->Fp, dw);
            else
                wino2_dw_finish(scratch + sl.wwork, sl.wthread, nth, g->C, g->F, (size_t)g->Fp, dw);
        } else {
#pragma omp for schedule(static)
            for (int k = 0; k < g->K; k++) {
                for (int f = 0; f < g->F; f++) {
                    float s = parts[(size_t)k * g->Fp + f];
                    for (int tt = 1; tt < nth; tt++)
                        s += parts[tt * part_floats + (size_t)k * g->Fp + f];
                    dw[(size_t)k * g->F + f] = s;
                }
            }
        }
#pragma omp single
        for (int f = 0; f < g->F; f++) {
            const size_t o = (size_t)g->K * g->Fp + f;
            float s = parts[o];
            for (int tt = 1; tt < nth; tt++) s += parts[tt * part_floats + o];
            db[f] = s;
        }
        /* crop the padded input gradient */
        if (dx && g->padded) {
            const size_t row = (size_t)g->W * g->C;
#pragma omp for schedule(static)
            for (int r = 0; r < g->B * g->H; r++) {
                const int b = r / g->H, h = r % g->H;
                memcpy(dx + (size_t)r * row,
                       dxp + (((size_t)b * g->Hp + h + g->pt) * g->Wp + g->pl) * g->C,
                       row * sizeof(float));
            }
        }
    }
}

/* ---- ops table ---------------------------------------------------------------------- */

static nl_status plan(nl_layer *l, nl_error *err) {
    const nl_layer_spec *s = &l->spec;
    if (s->units <= 0)
        return nl_error_set(err, NL_EINVAL, "conv2d: filters must be positive (got %d)", s->units);
    if (s->kernel <= 0 || s->kernel > 64)
        return nl_error_set(err, NL_EINVAL, "conv2d: kernel size must be in 1..64 (got %d)",
                            s->kernel);
    if (s->stride <= 0 || s->stride > 64)
        return nl_error_set(err, NL_EINVAL, "conv2d: stride must be in 1..64 (got %d)", s->stride);
    if (s->padding != NL_PAD_VALID && s->padding != NL_PAD_SAME)
        return nl_error_set(err, NL_EINVAL, "conv2d: unknown padding %d (0 valid, 1 same)",
                            s->padding);
    const nl_activation *act = nl_activation_find(s->act);
    if (!act || act->with_loss)
        return nl_error_set(err, NL_EINVAL, "conv2d: activation %d not supported (none or relu)",
                            s->act);
    if (s->padding == NL_PAD_VALID && (l->in.h < s->kernel || l->in.w < s->kernel))
        return nl_error_set(err, NL_EINVAL,
                            "conv2d: input %dx%d is smaller than the %dx%d kernel with valid "
                            "padding",
                            l->in.h, l->in.w, s->kernel, s->kernel);
    const double K = (double)s->kernel * s->kernel * l->in.c;
    if (K * s->units > 1 << 28)
        return nl_error_set(err, NL_EINVAL, "conv2d: %g weights is too many", K * s->units);
    const conv_geom g = geom(l, 1);
    l->out = (nl_shape){g.OH, g.OW, s->units};
    l->nparams = (size_t)g.K * g.F + (size_t)g.F;
    l->nstate = 0;
    l->relu = act->relu;
    return NL_OK;
}

static size_t scratch_floats(const nl_layer *l, int max_batch) {
    const conv_geom g = geom(l, max_batch);
    return scratch_layout(&g).total;
}

static void init(const nl_layer *l, float *params, float *state, uint64_t seed) {
    const conv_geom g = geom(l, 1);
    nl_glorot_uniform(params, (size_t)g.K * g.F, g.K, g.KH * g.KW * g.F, seed);
    memset(params + (size_t)g.K * g.F, 0, (size_t)g.F * sizeof(float));
}

/* The direct path's weights and bias: the parameters, or (F % VL) their copy
 * padded to whole vectors in scratch. */
static void direct_weights(const conv_geom *g, const conv_scratch *sl, const nl_layer_ctx *c,
                           const float **w, ptrdiff_t *ldw, const float **bias) {
    *w = c->params, *bias = c->params + (size_t)g->K * g->F, *ldw = g->F;
    if (g->F % VL == 0) return;
    float *wp = c->scratch + sl->wfwd, *bp = wp + (size_t)g->K * g->Fp;
    for (int k = 0; k < g->K; k++) {
        memcpy(wp + (size_t)k * g->Fp, *w + (size_t)k * g->F, (size_t)g->F * sizeof(float));
        memset(wp + (size_t)k * g->Fp + g->F, 0, (size_t)(g->Fp - g->F) * sizeof(float));
    }
    memcpy(bp, *bias, (size_t)g->F * sizeof(float));
    memset(bp + g->F, 0, (size_t)(g->Fp - g->F) * sizeof(float));
    *w = wp, *bias = bp, *ldw = g->Fp;
}

void conv2d_forward_to(const nl_layer *l, const nl_layer_ctx *c, conv2d_image_sink sink,
                       void *arg) {
    const conv_geom g = geom(l, c->batch);
    const conv_scratch sl = scratch_layout(&g);
    const float *x = c->in;
    const int relu = l->relu;
    if (g.padded) {
        float *xp = c->scratch + sl.xpad;
#pragma omp parallel
        pad_input(&g, xp, c->in);
        x = xp;
    }
    if (g.wino) {
        conv2d_forward_wino(&g, c->out, x, c->params, c->params + (size_t)g.K * g.F, relu,
                            c->scratch, sink, arg);
        return;
    }
    const float *w, *bias;
    ptrdiff_t ldw;
    direct_weights(&g, &sl, c, &w, &ldw, &bias);
    if (sink)
        conv2d_forward_images(&g, c->out, x, w, ldw, bias, relu, sink, arg);
    else
        conv2d_forward(&g, c->out, x, w, ldw, bias, relu);
}

void conv2d_backward_from(const nl_layer *l, const nl_layer_ctx *c, conv2d_dout_source source,
                          void *arg, int source_relu) {
    const conv_geom g = geom(l, c->batch);
    const conv_scratch sl = scratch_layout(&g);
    const float *x = g.padded ? c->scratch + sl.xpad : c->in;
    conv2d_backward(&g, c->din, c->grads, c->grads + (size_t)g.K * g.F, source ? NULL : c->dout, x,
                    c->out, c->params, l->relu, c->scratch, source, arg, source_relu);
}

static void forward(const nl_layer *l, const nl_layer_ctx *c) {
    conv2d_forward_to(l, c, NULL, NULL);
}

static void backward(const nl_layer *l, const nl_layer_ctx *c) {
    conv2d_backward_from(l, c, NULL, NULL, 0);
}

const nl_layer_ops nl_conv2d_ops = {
    .kind = NL_LAYER_CONV2D,
    .name = "conv2d",
    .plan = plan,
    .scratch_floats = scratch_floats,
    .init = init,
    .forward = forward,
    .backward = backward,
    .fuses_act = 1,
};
