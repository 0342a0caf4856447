/* conv2d by Winograd F(m x m, 3x3), m = 2 or 4 (3x3 kernels, stride 1; see
 * conv2d.c for when): m x m output tiles from (m + 2) x (m + 2) input tiles d,
 *     Y = A^T [ sum_c (G g G^T) .* (B^T d B) ] A
 * i.e. (m + 2)^2 independent GEMMs, one per position xi of the transformed tile,
 *     M_xi[T, F] = V_xi[T, C] . U_xi[C, F]       (T tiles of an image)
 * on the micro-kernels of ukernels.c. Multiplications an output: 4 for F(2x2),
 * 2.25 for F(4x4), against 9 for the direct product (before the edge tiles).
 * The weight gradient uses the adjoint transforms:
 *   dM = A dY A^T per tile, dU_xi[C, F] = sum_t V_xi[t, C]^T . dM_xi[t, F],
 *   dW = G^T dU G (per-part partial dU, summed in part order), the GEMMs
 *   over the tiles of WINO_DW_IMAGES images at once (a longer K, fewer passes
 *   over dU).
 * The input gradient dx is the full correlation of dz (zero-padded by 2) with
 * the kernel flipped and transposed: the same transforms, from the flipped
 * W^T, origin -2.
 * Each part works image by image in its own L2-sized buffers: no
 * synchronisation inside a pass, results independent of scheduling.
 *
 * Each tile size is one wino_tile table of passes, instantiated from the
 * templates below with its 1-D transforms (a constant function argument of an
 * always-inline template: inlined, no call per tile). The matrices:
 * F(2x2, 3x3)
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
 *   G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
 *   A^T = [1 1 1 0; 0 1 -1 -1]
 * F(4x4, 3x3), Lavin and Gray's (interpolation points 0, 1, -1, 2, -2 and infinity):
 *   B^T = [4  0 -5  0 1 0]      G = [ 1/4     0     0 ]   A^T = [1 1  1 1  1 0]
 *         [0 -4 -4  1 1 0]          [-1/6  -1/6  -1/6 ]         [0 1 -1 2 -2 0]
 *         [0  4 -4 -1 1 0]          [-1/6   1/6  -1/6 ]         [0 1  1 4  4 0]
 *         [0 -2 -1  2 1 0]          [1/24  1/12   1/6 ]         [0 1 -1 8 -8 1]
 *         [0  2 -1 -2 1 0]          [1/24 -1/12   1/6 ]
 *         [0  4  0 -5 0 1]          [ 0      0     1  ]
 * Its rounding error is larger (constants up to 8 in A^T); test_conv2d bounds
 * it on cifar10's conv2 shape. */
#include <string.h>

#include "core/parallel.h"
#include "layers/conv2d_internal.h"

/* ---- 1-D transforms ---------------------------------------------------------------------- */

/* A 1-D transform of vectors: out = X in (X one of B^T, A^T, A, G, G^T). */
typedef void wino_1d(const vf *in, vf *out);

/* F(2x2): r = B^T d (4 from 4) */
FORCE_INLINE void f2_bt(const vf d[4], vf r[4]) {
    r[0] = v_sub(d[0], d[2]);
    r[1] = v_add(d[1], d[2]);
    r[2] = v_sub(d[2], d[1]);
    r[3] = v_sub(d[1], d[3]);
}

/* F(2x2): y = A^T m (2 from 4) */
FORCE_INLINE void f2_at(const vf m[4], vf y[2]) {
    y[0] = v_add(v_add(m[0], m[1]), m[2]);
    y[1] = v_sub(v_sub(m[1], m[2]), m[3]);
}

/* F(2x2): p = A e (4 from 2), the adjoint of f2_at */
FORCE_INLINE void f2_a(const vf e[2], vf p[4]) {
    p[0] = e[0];
    p[1] = v_add(e[0], e[1]);
    p[2] = v_sub(e[0], e[1]);
    p[3] = v_sub(v_zero(), e[1]);
}

/* F(2x2): u = G g (4 from 3) */
FORCE_INLINE void f2_g(const vf g[3], vf u[4]) {
    const vf half = v_set1(0.5f), s = v_add(g[0], g[2]);
    u[0] = g[0];
    u[1] = v_mul(half, v_add(s, g[1]));
    u[2] = v_mul(half, v_sub(s, g[1]));
    u[3] = g[2];
}

/* F(2x2): g = G^T u (3 from 4), the adjoint of f2_g */
FORCE_INLINE void f2_gt(const vf u[4], vf g[3]) {
    const vf half = v_set1(0.5f), h = v_mul(half, v_add(u[1], u[2]));
    g[0] = v_add(u[0], h);
    g[1] = v_mul(half, v_sub(u[1], u[2]));
    g[2] = v_add(h, u[3]);
}

/* F(4x4): r = B^T d (6 from 6) */
FORCE_INLINE void f4_bt(const vf d[6], vf r[6]) {
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

/* F(4x4): y = A^T m (4 from 6) */
FORCE_INLINE void f4_at(const vf m[6], vf y[4]) {
    const vf s12 = v_add(m[1], m[2]), d12 = v_sub(m[1], m[2]);
    const vf s34 = v_add(m[3], m[4]), d34 = v_sub(m[3], m[4]);
    y[0] = v_add(v_add(m[0], s12), s34);
    y[1] = v_fma(v_set1(2.0f), d34, d12);
    y[2] = v_fma(v_set1(4.0f), s34, s12);
    y[3] = v_add(v_fma(v_set1(8.0f), d34, d12), m[5]);
}

/* F(4x4): p = A e (6 from 4), the adjoint of f4_at */
FORCE_INLINE void f4_a(const vf e[4], vf p[6]) {
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

/* F(4x4): u = G g (6 from 3) */
FORCE_INLINE void f4_g(const vf g[3], vf u[6]) {
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

/* F(4x4): g = G^T u (3 from 6), the adjoint of f4_g */
FORCE_INLINE void f4_gt(const vf u[6], vf g[3]) {
    const vf s12 = v_add(u[1], u[2]), d12 = v_sub(u[1], u[2]);
    const vf s34 = v_add(u[3], u[4]), d34 = v_sub(u[3], u[4]);
    const vf sixth = v_set1(1.0f / 6.0f);
    g[0] = v_fma(v_set1(0.25f), u[0],
                 v_fma(v_set1(-1.0f / 6.0f), s12, v_mul(v_set1(1.0f / 24.0f), s34)));
    g[1] = v_fma(v_set1(-1.0f / 6.0f), d12, v_mul(v_set1(1.0f / 12.0f), d34));
    g[2] = v_add(v_mul(sixth, v_sub(s34, s12)), u[5]);
}

/* Where the output adjoint reads a tile e of dz: e[i][j] at p + i*rs + j*cs,
 * zero outside the image (i >= rows or j >= cols), masked loads in a partial
 * last vector; plain loads when straight (the whole tile inside, whole
 * vectors). */
typedef struct adj_src {
    const float *p;
    ptrdiff_t rs, cs;
    int rows, cols, straight, masked;
    vmask ml;
} adj_src;

FORCE_INLINE vf adj_load(const adj_src *s, int i, int j) {
    const float *q = s->p + i * s->rs + j * s->cs;
    if (s->straight) return v_load(q);
    return i >= s->rows || j >= s->cols ? v_zero() : s->masked ? v_load_m(q, s->ml) : v_load(q);
}

/* dM = A e A^T of one m x m tile e of VL lanes to out + xi*xs (xi = a*(m+2) + b).
 * The two sizes apply A in different orders (F(2x2) down the columns first,
 * F(4x4) along the rows first), each as it always has: the order fixes the
 * rounding. */
typedef void wino_adjoint_tile(const adj_src *s, float *out, size_t xs);

FORCE_INLINE void f2_adjoint_tile(const adj_src *s, float *out, size_t xs) {
    vf p[4][2]; /* p[:, j] = A e[:, j] */
    UNROLL for (int j = 0; j < 2; j++) {
        const vf c[2] = {adj_load(s, 0, j), adj_load(s, 1, j)};
        vf r[4];
        f2_a(c, r);
        UNROLL for (int a = 0; a < 4; a++) p[a][j] = r[a];
    }
    UNROLL for (int a = 0; a < 4; a++) { /* row a of p A^T */
        vf q[4];
        f2_a(p[a], q);
        UNROLL for (int b = 0; b < 4; b++) v_store(out + (size_t)(a * 4 + b) * xs, q[b]);
    }
}

FORCE_INLINE void f4_adjoint_tile(const adj_src *s, float *out, size_t xs) {
    vf p[4][6]; /* p[i] = A e[i, :] */
    UNROLL for (int i = 0; i < 4; i++) {
        vf e[4];
        UNROLL for (int j = 0; j < 4; j++) e[j] = adj_load(s, i, j);
        f4_a(e, p[i]);
    }
    UNROLL for (int b = 0; b < 6; b++) { /* column b of A p */
        const vf c[4] = {p[0][b], p[1][b], p[2][b], p[3][b]};
        vf r[6];
        f4_a(c, r);
        UNROLL for (int a = 0; a < 6; a++) v_store(out + (size_t)(a * 6 + b) * xs, r[a]);
    }
}

/* ---- the passes, as templates over the tile size m and its 1-D transforms -------------- */

/* U[xi][r][ld] (xi = a*(m+2) + b, xi stride R*ld) = G g G^T of the 3x3 kernels g
 * of row r < R, column q < Q: g[kh][kw] = w[k*ks + r*rs + q] with k = kh*3 + kw,
 * or k = 8 - (kh*3 + kw) when flip (the kernel rotated by 180 degrees); columns
 * Q..ld are zero (ld a multiple of VL). The forward pass's weights are
 * w [3][3][C][F] (R = C, Q = F); the input gradient's the transposed
 * wt [3][3][F][Cp], flipped (R = F, Q = C). Vectorised along the columns;
 * rows [r0, r1) (one chunk of a parallel loop over the rows). */
FORCE_INLINE void weights_t(const int m, wino_1d *g1, const float *w, ptrdiff_t ks, ptrdiff_t rs,
                            int flip, int R, int Q, float *U, size_t ld, int r0, int r1) {
    const int n = m + 2;
    const size_t xs = (size_t)R * ld;
    const int nvec = (int)(ld / VL);
    for (int r = r0; r < r1; r++) {
        for (int v = 0; v < nvec; v++) {
            const int q = v * VL, lanes = imin(VL, Q - q);
            const vmask msk = v_mask(lanes);
            vf col[3][6]; /* col[kw] = G g[:, kw] */
            UNROLL for (int kw = 0; kw < 3; kw++) {
                vf g[3];
                UNROLL for (int kh = 0; kh < 3; kh++) {
                    const int k = flip ? 8 - (kh * 3 + kw) : kh * 3 + kw;
                    const float *p = w + k * ks + r * rs + q;
                    g[kh] = lanes == VL ? v_load(p) : v_load_m(p, msk);
                }
                g1(g, col[kw]);
            }
            UNROLL for (int a = 0; a < n; a++) { /* row a of (G g) G^T */
                const vf g[3] = {col[0][a], col[1][a], col[2][a]};
                vf u[6];
                g1(g, u);
                float *o = U + (size_t)(a * n) * xs + (size_t)r * ld + q;
                UNROLL for (int b = 0; b < n; b++) v_store(o + (size_t)b * xs, u[b]);
            }
        }
    }
}

/* B^T d B of one (m+2) x (m+2) tile of VL lanes: d[a][b] at p + a*rs + b*cs; V
 * element xi = a*(m+2) + b goes to out + xi*xs (masked to the lanes of msk when
 * masked). */
FORCE_INLINE void input_tile(const int m, wino_1d *bt, const float *p, ptrdiff_t rs, ptrdiff_t cs,
                             float *out, size_t xs, int masked, vmask msk) {
    const int n = m + 2;
    vf u[6][6]; /* u[b] = B^T d[:, b], column b */
    UNROLL for (int b = 0; b < n; b++) {
        vf d[6];
        UNROLL for (int a = 0; a < n; a++) d[a] = v_load(p + a * rs + b * cs);
        bt(d, u[b]);
    }
    UNROLL for (int a = 0; a < n; a++) { /* row a of (B^T d) B */
        vf d[6], r[6];
        UNROLL for (int b = 0; b < n; b++) d[b] = u[b][a];
        bt(d, r);
        UNROLL for (int b = 0; b < n; b++) {
            float *q = out + (size_t)(a * n + b) * xs;
            v_store_if(q, r[b], masked, msk);
        }
    }
}

/* V[xi][t][n] (row stride n, xi stride wino_xs(Ts, n), Ts >= T) = B^T d B for
 * the tiles d of x [.][W][n] with origin (m*ty, m*tx), t = ty*TW + tx, all of
 * them inside x and read in place; a partial last vector of n with masked
 * stores (reading whole vectors: see wino_pad_floats). */
FORCE_INLINE void input_tiles_t(const int m, wino_1d *bt, const float *x, int W, int n, int TH,
                                int TW, float *V, int Ts) {
    const size_t xs = wino_xs((size_t)Ts, n);
    const int nvec = (n + VL - 1) / VL, nfull = n / VL;
    const vmask ml = v_mask(n - (nvec - 1) * VL);
    const ptrdiff_t rs = (ptrdiff_t)W * n;
    for (int ty = 0; ty < TH; ty++)
        for (int tx = 0; tx < TW; tx++) {
            const float *p = x + ((ptrdiff_t)(m * ty) * W + m * tx) * n;
            float *out = V + (size_t)(ty * TW + tx) * n;
            for (int v = 0; v < nfull; v++)
                input_tile(m, bt, p + v * VL, rs, n, out + v * VL, xs, 0, ml);
            if (nfull == nvec) continue; /* the partial last vector: masked stores */
            input_tile(m, bt, p + nfull * VL, rs, n, out + nfull * VL, xs, 1, ml);
        }
}

/* y [H][W][n] (rows < H, columns < W of the m x m tiles) = A^T M A (+ bias,
 * relu) from M[xi][t][ldm] (xi stride wino_xs(TH * TW, ldm), ldm a multiple of
 * VL). */
FORCE_INLINE void output_t(const int m, wino_1d *at, const float *M, int TH, int TW, size_t ldm,
                           int n, float *y, int H, int W, const float *bias, int relu) {
    const int k = m + 2;
    const size_t xs = wino_xs((size_t)TH * TW, ldm);
    const int nvec = (n + VL - 1) / VL;
    const vmask ml = v_mask(n - (nvec - 1) * VL);
    const vf zero = v_zero();
    for (int ty = 0; ty < TH; ty++) {
        const int rows = imin(m, H - m * ty);
        for (int tx = 0; tx < TW; tx++) {
            const int t = ty * TW + tx, cols = imin(m, W - m * tx);
            float *yt = y + ((size_t)(m * ty) * W + m * tx) * n;
            for (int v = 0; v < nvec; v++) {
                const int last = v == nvec - 1;
                const vf bv =
                    bias ? (last ? v_load_m(bias + v * VL, ml) : v_load(bias + v * VL)) : zero;
                const float *mp = M + (size_t)t * ldm + v * VL;
                vf s[6][4]; /* s[b] = A^T m[:, b], column b */
                UNROLL for (int b = 0; b < k; b++) {
                    vf mm[6];
                    UNROLL for (int a = 0; a < k; a++) mm[a] =
                        v_load(mp + (size_t)(a * k + b) * xs);
                    at(mm, s[b]);
                }
                float *q = yt + v * VL;
                const int full = rows == m && cols == m && !(last && n % VL);
                UNROLL for (int i = 0; i < m; i++) { /* row i of (A^T m) A */
                    vf mm[6], r[4];
                    UNROLL for (int b = 0; b < k; b++) mm[b] = s[b][i];
                    at(mm, r);
                    UNROLL for (int j = 0; j < m; j++) {
                        r[j] = v_add(r[j], bv);
                        if (relu) r[j] = v_max(r[j], zero);
                    }
                    if (full) {
                        UNROLL for (int j = 0; j < m; j++)
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

/* dM[xi][t][ldm] = A dY A^T for the m x m tiles of dz [H][W][n] (zero outside):
 * the adjoint of output_t. Lanes n..ldm are zero. Whole tiles of whole vectors
 * load straight, the others through bounds checks and masks. The xi slices are
 * wino_xs(Ts, ldm) apart (Ts >= TH * TW: room for more images' tiles after
 * these). */
FORCE_INLINE void output_adjoint_t(const int m, wino_adjoint_tile *tile, const float *dz, int H,
                                   int W, int n, int TH, int TW, float *dM, size_t ldm, int Ts) {
    const size_t xs = wino_xs((size_t)Ts, ldm);
    const int nvec = (n + VL - 1) / VL;
    const vmask ml = v_mask(n - (nvec - 1) * VL);
    adj_src src;
    src.rs = (ptrdiff_t)W * n, src.cs = n, src.ml = ml;
    for (int ty = 0; ty < TH; ty++) {
        for (int tx = 0; tx < TW; tx++) {
            const int t = ty * TW + tx;
            src.rows = H - m * ty, src.cols = W - m * tx;
            const int full = src.rows >= m && src.cols >= m;
            for (int v = 0; v < nvec; v++) {
                src.masked = v == nvec - 1 && n % VL;
                src.straight = full && !src.masked;
                src.p = dz + ((size_t)(m * ty) * W + m * tx) * n + v * VL;
                tile(&src, dM + (size_t)t * ldm + v * VL, xs);
            }
        }
    }
}

/* dw [3][3][C][F] = G^T (the sum of the nparts partial dU [(m+2)^2][C][ldd],
 * part_stride apart, in order) G, vectorised along the filters; channels
 * [c0, c1) (one chunk of a parallel loop over the channels). */
FORCE_INLINE void dw_finish_t(const int m, wino_1d *gt, const float *dU, size_t part_stride,
                              int nparts, int C, int F, size_t ldd, float *dw, int c0, int c1) {
    const int n = m + 2;
    const size_t xs = (size_t)C * ldd;
    const int nvec = (F + VL - 1) / VL;
    for (int c = c0; c < c1; c++) {
        for (int v = 0; v < nvec; v++) {
            const int f = v * VL, last = F - f < VL;
            const vmask msk = v_mask(last ? F - f : VL);
            vf t[6][3]; /* t[a] = G^T dU[a, :], row a */
            UNROLL for (int a = 0; a < n; a++) {
                vf u[6];
                UNROLL for (int b = 0; b < n; b++) {
                    const float *p = dU + (size_t)(a * n + b) * xs + (size_t)c * ldd + f;
                    vf s = v_load(p);
                    for (int k = 1; k < nparts; k++) s = v_add(s, v_load(p + k * part_stride));
                    u[b] = s;
                }
                gt(u, t[a]);
            }
            UNROLL for (int kw = 0; kw < 3; kw++) { /* column kw of G^T t */
                vf u[6], g[3];
                UNROLL for (int a = 0; a < n; a++) u[a] = t[a][kw];
                gt(u, g);
                UNROLL for (int kh = 0; kh < 3; kh++) {
                    float *o = dw + ((size_t)(kh * 3 + kw) * C + c) * F + f;
                    v_store_if(o, g[kh], last, msk);
                }
            }
        }
    }
}

/* ---- one table per tile size ------------------------------------------------------------ */

typedef struct wino_tile {
    int m; /* m x m output tiles, (m + 2) x (m + 2) input tiles */
    void (*weights)(const float *w, ptrdiff_t ks, ptrdiff_t rs, int flip, int R, int Q, float *U,
                    size_t ld, int r0, int r1);
    void (*input_tiles)(const float *x, int W, int n, int TH, int TW, float *V, int Ts);
    void (*output)(const float *M, int TH, int TW, size_t ldm, int n, float *y, int H, int W,
                   const float *bias, int relu);
    void (*output_adjoint)(const float *dz, int H, int W, int n, int TH, int TW, float *dM,
                           size_t ldm, int Ts);
    void (*dw_finish)(const float *dU, size_t part_stride, int nparts, int C, int F, size_t ldd,
                      float *dw, int c0, int c1);
} wino_tile;

/* The passes of F(M x M, 3x3) from the templates, and their table wino_fM. */
#define DEF_WINO_TILE(M, BT, AT, ADJOINT_TILE, G, GT)                                              \
    static void f##M##_weights(const float *w, ptrdiff_t ks, ptrdiff_t rs, int flip, int R, int Q, \
                               float *U, size_t ld, int r0, int r1) {                              \
        weights_t(M, G, w, ks, rs, flip, R, Q, U, ld, r0, r1);                                     \
    }                                                                                              \
    static void f##M##_input_tiles(const float *x, int W, int n, int TH, int TW, float *V,         \
                                   int Ts) {                                                       \
        input_tiles_t(M, BT, x, W, n, TH, TW, V, Ts);                                              \
    }                                                                                              \
    static void f##M##_output(const float *Mm, int TH, int TW, size_t ldm, int n, float *y, int H, \
                              int W, const float *bias, int relu) {                                \
        output_t(M, AT, Mm, TH, TW, ldm, n, y, H, W, bias, relu);                                  \
    }                                                                                              \
    static void f##M##_output_adjoint(const float *dz, int H, int W, int n, int TH, int TW,        \
                                      float *dM, size_t ldm, int Ts) {                             \
        output_adjoint_t(M, ADJOINT_TILE, dz, H, W, n, TH, TW, dM, ldm, Ts);                       \
    }                                                                                              \
    static void f##M##_dw_finish(const float *dU, size_t part_stride, int nparts, int C, int F,    \
                                 size_t ldd, float *dw, int c0, int c1) {                          \
        dw_finish_t(M, GT, dU, part_stride, nparts, C, F, ldd, dw, c0, c1);                        \
    }                                                                                              \
    static const wino_tile wino_f##M = {M,                                                         \
                                        f##M##_weights,                                            \
                                        f##M##_input_tiles,                                        \
                                        f##M##_output,                                             \
                                        f##M##_output_adjoint,                                     \
                                        f##M##_dw_finish};

DEF_WINO_TILE(2, f2_bt, f2_at, f2_adjoint_tile, f2_g, f2_gt)
DEF_WINO_TILE(4, f4_bt, f4_at, f4_adjoint_tile, f4_g, f4_gt)

/* The table of tile size m (2 or 4: conv2d's plan chooses no other). */
static const wino_tile *tile_of(int m) {
    static const wino_tile *const tiles[5] = {[2] = &wino_f2, [4] = &wino_f4};
    return tiles[m];
}

/* ---- shared pieces of the passes -------------------------------------------------------- */

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

/* V = the input transform of the tiles of x [H][W][n] with origin
 * (m*ty + o, m*tx + o) (input_tiles_t), rows and columns outside the image
 * zero. When every tile is inside the image and n is whole vectors, x is read
 * in place; otherwise from a zero-padded copy in pad (wino_pad_floats(m, TH,
 * TW, n)), so every tile takes the same straight-line path. */
static void wino_input(const wino_tile *tt, const float *x, int H, int W, int n, int TH, int TW,
                       int o, float *V, int Ts, float *pad) {
    const int Hn = tt->m * TH + 2, Wn = tt->m * TW + 2;
    if (o != 0 || Hn > H || Wn > W || n % VL) {
        wino_pad(x, H, W, n, o, Hn, Wn, pad);
        x = pad, W = Wn;
    }
    tt->input_tiles(x, W, n, TH, TW, V, Ts);
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

/* ---- the passes -------------------------------------------------------------------------- */

typedef struct wino_fwd_job {
    const conv_geom *g;
    const conv_scratch *sl;
    float *scratch, *y;
    const float *x, *w, *bias;
    int relu;
    conv_out_fn *out_fn;
    void *out_arg;
    const wino_tile *tt;
    float *U, *zeros;
} wino_fwd_job;

static void wino_fwd_weights(void *ctx, size_t lo, size_t hi, size_t chunk) {
    const wino_fwd_job *j = ctx;
    const conv_geom *g = j->g;
    (void)chunk;
    j->tt->weights(j->w, (ptrdiff_t)g->C * g->F, g->F, 0, g->C, g->F, j->U, (size_t)g->Fp, (int)lo,
                   (int)hi);
}

static void wino_fwd_images(void *ctx, size_t lo, size_t hi, size_t t) {
    const wino_fwd_job *j = ctx;
    const conv_geom *g = j->g;
    const conv_scratch *sl = j->sl;
    const wino_tile *tt = j->tt;
    const int T = g->TH * g->TW;
    /* wino_same: x is the unpadded input, each image padded in the tile reader */
    const int xH = g->wino_same ? g->H : g->Hp, xW = g->wino_same ? g->W : g->Wp;
    const int xo = g->wino_same ? -g->pt : 0;
    const size_t ximg = (size_t)xH * xW * g->C, yimg = (size_t)g->OH * g->OW * g->F;
    float *V = j->scratch + sl->wwork + t * sl->wthread, *pad = V + sl->wpad;
    float *M = V + align16(g->nxi * wino_xs(T, g->C));
    for (int b = (int)lo; b < (int)hi; b++) {
        float *yb = j->y + (size_t)b * yimg;
        wino_input(tt, j->x + (size_t)b * ximg, xH, xW, g->C, g->TH, g->TW, xo, V, T, pad);
        wino_gemms(g->nxi, V, j->U, M, T, g->C, (size_t)g->Fp, j->zeros);
        tt->output(M, g->TH, g->TW, (size_t)g->Fp, g->F, yb, g->OH, g->OW, j->bias, j->relu);
        if (j->out_fn) j->out_fn(j->out_arg, b, (int)t, yb);
    }
}

void conv_wino_forward(const conv_geom *g, const conv_scratch *sl, float *scratch, float *y,
                       const float *x, const float *w, const float *bias, int relu,
                       conv_out_fn *out_fn, void *out_arg) {
    const wino_tile *tt = tile_of(g->wino);
    float *U = scratch + sl->wu, *zeros = scratch + sl->wzero;
    memset(zeros, 0, (size_t)g->Fp * sizeof(float));
    wino_fwd_job j = {g, sl, scratch, y, x, w, bias, relu, out_fn, out_arg, tt, U, zeros};
    /* the weights' transform, a loop over their rows; then the images, chunk
       t on work buffers t */
    nl_parallel_for((size_t)g->C, nl_parallel_grain_even((size_t)g->C, 1), wino_fwd_weights, &j);
    const size_t nt = nl_parallel_parts((size_t)g->B, WINO_MAX_THREADS);
    nl_parallel_for((size_t)g->B, nl_parallel_grain((size_t)g->B, nt, 1), wino_fwd_images, &j);
}

conv_wino_work conv_wino_work_of(const conv_geom *g, const conv_scratch *sl, float *scratch,
                                 int t) {
    const size_t Ts = (size_t)WINO_DW_IMAGES * g->THd * g->TWd, Tx = (size_t)g->THx * g->TWx;
    conv_wino_work ws;
    ws.dU = scratch + sl->wwork + (size_t)t * sl->wthread;
    ws.pad = ws.dU + sl->wpad;
    ws.V = ws.dU + align16((size_t)g->nxid * g->C * g->Fp);
    ws.dM = ws.V + align16(g->nxid * wino_xs(Ts, g->C));
    ws.Vx = ws.dM + align16(g->nxid * wino_xs(Ts, g->Fp));
    ws.Mx = ws.Vx + align16(g->nxix * wino_xs(Tx, g->F));
    return ws;
}

void conv_wino_dx_weights(const conv_geom *g, const conv_scratch *sl, float *scratch,
                          const float *wt, int r0, int r1) {
    tile_of(g->wino_dx)
        ->weights(wt, (ptrdiff_t)g->F * g->Cp, g->Cp, 1, g->F, g->C, scratch + sl->wux,
                  (size_t)g->Cp, r0, r1);
}

void conv_wino_dw_image(const conv_geom *g, const conv_wino_work *ws, int slot, int flush,
                        const float *xb, const float *dz) {
    const wino_tile *tt = tile_of(g->wino_dw);
    const int T = g->THd * g->TWd, Ts = WINO_DW_IMAGES * T;
    if (g->wino_same) /* the unpadded image, from origin -pt */
        wino_input(tt, xb, g->H, g->W, g->C, g->THd, g->TWd, -g->pt,
                   ws->V + (size_t)slot * T * g->C, Ts, ws->pad);
    else
        wino_input(tt, xb, g->Hp, g->Wp, g->C, g->THd, g->TWd, 0, ws->V + (size_t)slot * T * g->C,
                   Ts, ws->pad);
    tt->output_adjoint(dz, g->OH, g->OW, g->F, g->THd, g->TWd, ws->dM + (size_t)slot * T * g->Fp,
                       (size_t)g->Fp, Ts);
    if (flush)
        wino_dw_gemms(g->nxid, ws->V, ws->dM, ws->dU, (slot + 1) * T, Ts, g->C, (size_t)g->Fp);
}

void conv_wino_dx_image(const conv_geom *g, const conv_scratch *sl, const float *scratch,
                        const conv_wino_work *ws, const float *dz, float *dxb) {
    const wino_tile *tt = tile_of(g->wino_dx);
    const int Tx = g->THx * g->TWx;
    /* the padded gradient from origin -2; with wino_same only its rows and
       columns [pt, pt + H), so from origin pt - 2, to H x W */
    const int o = g->wino_same ? g->pt - 2 : -2;
    wino_input(tt, dz, g->OH, g->OW, g->F, g->THx, g->TWx, o, ws->Vx, Tx, ws->pad);
    wino_gemms(g->nxix, ws->Vx, scratch + sl->wux, ws->Mx, Tx, g->F, (size_t)g->Cp,
               scratch + sl->wzero);
    tt->output(ws->Mx, g->THx, g->TWx, (size_t)g->Cp, g->C, dxb, g->wino_same ? g->H : g->Hp,
               g->wino_same ? g->W : g->Wp, NULL, 0);
}

void conv_wino_dw_finish(const conv_geom *g, const conv_scratch *sl, const float *scratch,
                         int nparts, float *dw, int c0, int c1) {
    tile_of(g->wino_dw)
        ->dw_finish(scratch + sl->wwork, sl->wthread, nparts, g->C, g->F, (size_t)g->Fp, dw, c0,
                    c1);
}
