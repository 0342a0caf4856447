/* 2-D convolution with bias and an optional fused activation (ReLU in the
 * kernels; tanh, sigmoid, gelu, leakyrelu by activation.c on each image's
 * output as soon as it is made, while in cache): the ops table, the
 * geometry, the choice of algorithm, the scratch layout and the passes; the
 * kernels are in conv2d_direct.c (implicit GEMM) and conv2d_winograd.c.
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
 * Direct algorithm: implicit GEMM. cols is never materialised: the
 * micro-kernels broadcast its elements straight from the input (zero-padded
 * copy in scratch for SAME padding).
 *   forward   y = act(cols . W + b)      one implicit GEMM over the batch
 *   backward  dz = dy * act'(y)          (in place in dout)
 *             dW = cols^T . dz           one implicit GEMM: each part reduces
 *             db = sum_p dz              over its block of images into its own
 *                                        partial, partials summed in part order
 *             dx = col2im(dz . W^T)      one implicit GEMM whose store is the col2im
 *                                        scatter-add, per image (images of a block
 *                                        belong to one thread); skipped when din is
 *                                        NULL (first layer)
 * Winograd: 3x3 kernels with stride 1 and >= WINO_MIN_CHANNELS channels in and
 * out (cifar10's conv2) run the products in the Winograd domain instead, as
 * small GEMMs per image on the same micro-kernels: the forward pass and the
 * weight gradient by F(4x4, 3x3) or F(2x2, 3x3), whichever needs fewer
 * multiplications; the input gradient, the full correlation of dz with the
 * flipped kernel, by F(4x4) where it needs fewer multiplications than F(2x2),
 * else direct (F(2x2) measured slower than the direct kernel there). plan
 * makes these choices once (choose_tiles) and stores them in the layer; the
 * compile options can force them.
 * SAME padding: the direct algorithm reads a zero-padded copy of the batch;
 * Winograd pads each image in its thread's buffer as it transforms it, and
 * writes its input gradient straight to the unpadded image (conv_geom.wino_same).
 * Every output element is computed by one thread in a fixed order, so results
 * are bit-identical run after run for a fixed thread count.
 *
 * Why not BLAS: it needs the materialised cols and a separate col2im pass, and
 * on these shapes (K = 27 for conv1, the 288 x 64 weight gradient) runs below
 * the kernels here (bench/results/cifar10_step.md).
 *
 * Parameters in the slab: W [KH][KW][C][F] then b [F]. Glorot-uniform W with
 * fan_in = KH*KW*C and fan_out = KH*KW*F (Keras), zero b. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "layers/activation.h"
#include "layers/conv2d.h"
#include "core/parallel.h"
#include "layers/conv2d_internal.h"

/* 3x3 kernels with stride 1 and at least this many channels in and out take
 * the Winograd path, unless the options ask for the direct one. */
#define WINO_MIN_CHANNELS 8

/* ---- plan: the algorithm of each pass ------------------------------------------------- */

/* A tile size option: 0 (auto), 2 or 4. */
static int valid_tile(int t) {
    return t == 0 || t == 2 || t == 4;
}

/* A tile size the options force (non-zero), else the default. */
static int tile_or(int forced, int def) {
    return forced ? forced : def;
}

/* The output dimensions of l (its spec on its input). */
static void out_dims(const nl_layer *l, int *OH, int *OW) {
    const int H = l->in.h, W = l->in.w, K = l->spec.kernel, S = l->spec.stride;
    if (l->spec.padding == NL_PAD_SAME) {
        *OH = (H + S - 1) / S, *OW = (W + S - 1) / S;
    } else {
        *OH = (H - K) / S + 1, *OW = (W - K) / S + 1;
    }
}

/* The Winograd tile sizes of the forward pass, weight gradient and input
 * gradient (0: direct), from the shapes and l->opt. Hp x Wp is the padded
 * input. */
static void choose_tiles(nl_layer *l, int OH, int OW, int Hp, int Wp) {
    const nl_compile_options *o = &l->opt;
    const int C = l->in.c, F = l->spec.units;
    l->conv_tiles.fwd = l->conv_tiles.dw = l->conv_tiles.dx = 0;
    if (l->spec.kernel != 3 || l->spec.stride != 1 || C < WINO_MIN_CHANNELS ||
        F < WINO_MIN_CHANNELS || o->conv_algo == NL_CONV_DIRECT)
        return;
    /* forward and weight gradient: the tile size with fewer multiplications
       (tile positions of an image), F(2x2) on a tie as its transforms are
       cheaper */
    const int t2 = ((OH + 1) / 2) * ((OW + 1) / 2) * 16;
    const int t4 = ((OH + 3) / 4) * ((OW + 3) / 4) * 36;
    l->conv_tiles.fwd = tile_or(o->wino_tile, t4 < t2 ? 4 : 2);
    l->conv_tiles.dw = tile_or(o->wino_dw_tile, t4 < t2 ? 4 : 2);
    /* input gradient: F(4x4) when it needs fewer multiplications than F(2x2),
       else direct (the transform of dz costs F(2x2) more than it saves) */
    const int x2 = ((Hp + 1) / 2) * ((Wp + 1) / 2) * 16;
    const int x4 = ((Hp + 3) / 4) * ((Wp + 3) / 4) * 36;
    l->conv_tiles.dx = o->wino_dx_tile < 0 ? 0 : tile_or(o->wino_dx_tile, x4 < x2 ? 4 : 0);
}

/* ---- geometry and scratch ------------------------------------------------------------- */

static conv_geom geom(const nl_layer *l, int batch) {
    conv_geom g;
    g.B = batch;
    g.H = l->in.h, g.W = l->in.w, g.C = l->in.c;
    g.KH = g.KW = l->spec.kernel;
    g.S = l->spec.stride;
    g.F = l->spec.units;
    out_dims(l, &g.OH, &g.OW);
    if (l->spec.padding == NL_PAD_SAME) {
        int ph = (g.OH - 1) * g.S + g.KH - g.H, pw = (g.OW - 1) * g.S + g.KW - g.W;
        if (ph < 0) ph = 0;
        if (pw < 0) pw = 0;
        g.pt = ph / 2, g.pl = pw / 2; /* TensorFlow/Keras: the extra row goes to the bottom */
        g.Hp = g.H + ph, g.Wp = g.W + pw;
    } else {
        g.pt = g.pl = 0;
        g.Hp = g.H, g.Wp = g.W;
    }
    g.padded = g.Hp != g.H || g.Wp != g.W;
    g.K = g.KH * g.KW * g.C;
    g.Fp = (g.F + VL - 1) / VL * VL;
    g.Cp = (g.C + VL - 1) / VL * VL;
    g.wino = l->conv_tiles.fwd, g.wino_dw = l->conv_tiles.dw, g.wino_dx = l->conv_tiles.dx;
    const int m = g.wino ? g.wino : 2, md = g.wino_dw ? g.wino_dw : 2;
    g.nxi = (m + 2) * (m + 2);
    g.TH = (g.OH + m - 1) / m, g.TW = (g.OW + m - 1) / m;
    g.nxid = (md + 2) * (md + 2);
    g.THd = (g.OH + md - 1) / md, g.TWd = (g.OW + md - 1) / md;
    const int mx = g.wino_dx ? g.wino_dx : 2;
    g.nxix = (mx + 2) * (mx + 2);
    g.wino_same = g.wino && g.wino_dw && g.padded && g.pt == g.pl;
    g.xpadded = g.padded && !g.wino_same;
    g.dxpadded = g.padded && !(g.wino_same && g.wino_dx);
    const int xh = g.wino_same ? g.H : g.Hp, xw = g.wino_same ? g.W : g.Wp;
    g.THx = (xh + mx - 1) / mx, g.TWx = (xw + mx - 1) / mx;
    g.keep = nl_act_keep_floats(nl_act_fused(l), 1) != 0;
    return g;
}

conv_scratch conv_scratch_layout(const conv_geom *g) {
    conv_scratch s;
    const size_t xp = align16((size_t)g->B * g->Hp * g->Wp * g->C);
    size_t off = 0;
    s.xpad = off, off += g->xpadded ? xp : 0;
    s.dxpad = off, off += g->dxpadded ? xp : 0;
    s.wfwd = off, off += (g->F % VL) ? align16((size_t)g->K * g->Fp + g->Fp) : 0;
    s.wt = off, off += align16((size_t)g->KH * g->KW * g->F * g->Cp);
    s.parts = off, off += CONV_MAX_PARTS * conv_part_floats(g);
    s.dzbuf = off, off += CONV_MAX_PARTS * align16((size_t)g->OH * g->OW * g->F);
    s.keep = off, off += g->keep ? align16((size_t)g->B * g->OH * g->OW * g->F) : 0;
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

/* ---- forward ------------------------------------------------------------------------ */

/* Copies x [B][H][W][C] into the zero-padded xp [B][Hp][Wp][C]. */
typedef struct pad_job {
    const conv_geom *g;
    float *xp;
    const float *x;
} pad_job;

static void pad_rows(void *ctx, size_t lo, size_t hi, size_t chunk) {
    const pad_job *j = ctx;
    const conv_geom *g = j->g;
    float *xp = j->xp;
    const float *x = j->x;
    const size_t rowp = (size_t)g->Wp * g->C, row = (size_t)g->W * g->C;
    (void)chunk;
    for (int r = (int)lo; r < (int)hi; r++) {
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

static void pad_input(const conv_geom *g, float *xp, const float *x) {
    const pad_job j = {g, xp, x};
    const size_t rows = (size_t)g->B * g->Hp;
    nl_parallel_for(rows, nl_parallel_grain_even(rows, 1), pad_rows, (void *)&j);
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

/* wt [KH][KW][F][Cp] = W^T for the input gradient: wt[kh][kw][f][c] =
 * w[kh][kw][c][f], zero for c >= C; kernel positions [k0, k1). */
static void transpose_weights(const conv_geom *g, const float *w, float *wt, int k0, int k1) {
    for (int kk = k0; kk < k1; kk++) {
        float *o = wt + (size_t)kk * g->F * g->Cp;
        const float *s = w + (size_t)kk * g->C * g->F;
        for (int f = 0; f < g->F; f++) {
            for (int c = 0; c < g->C; c++) o[(size_t)f * g->Cp + c] = s[(size_t)c * g->F + f];
            for (int c = g->C; c < g->Cp; c++) o[(size_t)f * g->Cp + c] = 0.0f;
        }
    }
}

/* The backward pass's loops (conv2d_backward). */
typedef struct bwd_job {
    const conv_geom *g;
    const conv_scratch *sl;
    float *dx, *dw, *db, *dy, *scratch, *dxp;
    const float *x, *y, *w;
    int relu, dout_relu;
    void (*dout_fn)(void *, int, const float *, float *);
    void *dout_arg;
    const nl_activation *act; /* an element-wise activation fused into the layer, or NULL */
    float alpha;
    int nparts;   /* chunks of the image loop: one partial each */
    size_t nfin;  /* rows of the tail loop that finish dW (K, or C with Winograd) */
    size_t ncrop; /* rows of the tail loop that crop dx (0 unless padded) */
} bwd_job;

static void bwd_transpose(void *ctx, size_t lo, size_t hi, size_t chunk) {
    const bwd_job *j = ctx;
    (void)chunk;
    transpose_weights(j->g, j->w, j->scratch + j->sl->wt, (int)lo, (int)hi);
}

static void bwd_dx_weights(void *ctx, size_t lo, size_t hi, size_t chunk) {
    const bwd_job *j = ctx;
    (void)chunk;
    conv_wino_dx_weights(j->g, j->sl, j->scratch, j->scratch + j->sl->wt, (int)lo, (int)hi);
}

/* Part t: for each image of its block, dz = dy * act'(y) in place and the
 * db partial (dy == NULL: dz is made by dout_fn into the part's buffer, in
 * cache for what follows, with the ReLU's derivative when dout_relu); the dW
 * partial over the image; dx of the image when wanted, each by its algorithm. */
static void bwd_images(void *ctx, size_t lo, size_t hi, size_t t) {
    const bwd_job *j = ctx;
    const conv_geom *g = j->g;
    const conv_scratch sl = *j->sl;
    float *scratch = j->scratch, *dy = j->dy, *dx = j->dx;
    const float *wt = scratch + sl.wt;
    const size_t part_floats = conv_part_floats(g);
    const int OHW = g->OH * g->OW;
    const size_t pimg = (size_t)g->Hp * g->Wp * g->C, img = (size_t)g->H * g->W * g->C;
    const size_t ximg = g->xpadded ? pimg : img, dximg = dx && g->dxpadded ? pimg : img;
    float *part = scratch + sl.parts + t * part_floats, *dbp = part + (size_t)g->K * g->Fp;
    memset(part, 0, part_floats * sizeof(float));
    const conv_wino_work ws = conv_wino_work_of(g, &sl, scratch, (int)t);
    if (g->wino_dw) memset(ws.dU, 0, (size_t)g->nxid * g->C * g->Fp * sizeof(float));
    const int b_lo = (int)lo, b_hi = (int)hi;
    float *dzbuf = scratch + sl.dzbuf + t * align16((size_t)OHW * g->F);
    for (int b = b_lo; b < b_hi; b++) {
        const float *yb = j->y + (size_t)b * OHW * g->F;
        float *dz = dy ? dy + (size_t)b * OHW * g->F : dzbuf;
        if (!dy) j->dout_fn(j->dout_arg, b, yb, dz);
        if (j->act) /* dz = dy * act'(the pre-activation, y), the element-wise activation's */
            nl_act_backward_range(j->act, j->alpha, dz, dz,
                                  g->keep ? scratch + sl.keep + (size_t)b * OHW * g->F : NULL, yb,
                                  (size_t)OHW * g->F);
        /* dz = dy * relu'(y) (unless dout_fn did it); db partial */
        mask_and_bias(dz, yb, OHW, g->F, j->relu && !(j->dout_fn && j->dout_relu), dbp);
        const float *xb = j->x + (size_t)b * ximg;
        if (g->wino_dw) { /* WINO_DW_IMAGES images at a time */
            const int slot = (b - b_lo) % WINO_DW_IMAGES;
            conv_wino_dw_image(g, &ws, slot, slot == WINO_DW_IMAGES - 1 || b == b_hi - 1, xb, dz);
        } else {
            conv_direct_dw_image(g, xb, dz, part);
        }
        if (!dx) continue;
        float *dxb = j->dxp + (size_t)b * dximg;
        if (g->wino_dx)
            conv_wino_dx_image(g, &sl, scratch, &ws, dz, dxb);
        else
            conv_direct_dx_image(g, wt, dz, dxb);
    }
}

/* The tail, one loop: rows [0, nfin) finish dW (the partials in part order),
 * row nfin sums db (in part order), the rows after it crop the padded dx. */
static void bwd_tail(void *ctx, size_t lo, size_t hi, size_t chunk) {
    const bwd_job *j = ctx;
    const conv_geom *g = j->g;
    const float *parts = j->scratch + j->sl->parts;
    const size_t part_floats = conv_part_floats(g);
    (void)chunk;
    if (lo < j->nfin) {
        const int f0 = (int)lo, f1 = (int)(hi < j->nfin ? hi : j->nfin);
        if (g->wino_dw)
            conv_wino_dw_finish(g, j->sl, j->scratch, j->nparts, j->dw, f0, f1);
        else
            conv_direct_dw_finish(g, parts, j->nparts, j->dw, f0, f1);
    }
    if (lo <= j->nfin && j->nfin < hi) {
        for (int f = 0; f < g->F; f++) {
            const size_t o = (size_t)g->K * g->Fp + f;
            float s = parts[o];
            for (int tt = 1; tt < j->nparts; tt++) s += parts[tt * part_floats + o];
            j->db[f] = s;
        }
    }
    const size_t c0 = lo > j->nfin + 1 ? lo - j->nfin - 1 : 0;
    const size_t c1 = hi > j->nfin + 1 ? hi - j->nfin - 1 : 0;
    const size_t row = (size_t)g->W * g->C;
    for (size_t r = c0; r < c1; r++) {
        const size_t b = r / (size_t)g->H, h = r % (size_t)g->H;
        memcpy(j->dx + r * row, j->dxp + ((b * g->Hp + h + g->pt) * g->Wp + g->pl) * g->C,
               row * sizeof(float));
    }
}

/* The image loop (bwd_images), its parts' partials then added in part order
 * for dW and db, and dx cropped when padded; W^T (and its Winograd transform)
 * first when dx is wanted.
 *   x   (padded) input [B][Hp][Wp][C]      y, dy  [B][OH][OW][F]
 *   w   [KH][KW][C][F]                     dw [K][F], db [F]
 *   dx  [B][H][W][C] or NULL               scratch: see conv_scratch */
static void conv2d_backward(const conv_geom *g, float *dx, float *dw, float *db, float *dy,
                            const float *x, const float *y, const float *w, int relu,
                            const nl_activation *act, float alpha, float *scratch,
                            void (*dout_fn)(void *, int, const float *, float *), void *dout_arg,
                            int dout_relu) {
    const conv_scratch sl = conv_scratch_layout(g);
    const int wino = g->wino_dw || g->wino_dx;
    bwd_job j = {.g = g,
                 .sl = &sl,
                 .dx = dx,
                 .dw = dw,
                 .db = db,
                 .dy = dy,
                 .scratch = scratch,
                 .dxp = dx && g->dxpadded ? scratch + sl.dxpad : dx,
                 .x = x,
                 .y = y,
                 .w = w,
                 .relu = relu,
                 .dout_relu = dout_relu,
                 .dout_fn = dout_fn,
                 .dout_arg = dout_arg,
                 .act = act,
                 .alpha = alpha};
    const size_t maxp =
        wino && WINO_MAX_THREADS < CONV_MAX_PARTS ? WINO_MAX_THREADS : CONV_MAX_PARTS;
    const size_t B = (size_t)g->B, grain = nl_parallel_grain(B, nl_parallel_parts(B, maxp), 1);
    j.nparts = (int)nl_parallel_chunks(B, grain);
    if (dx) {
        if (g->wino_dx) /* the input gradient GEMMs' bias */
            memset(scratch + sl.wzero, 0, (size_t)(g->Fp > g->Cp ? g->Fp : g->Cp) * sizeof(float));
        const size_t kk = (size_t)g->KH * g->KW;
        nl_parallel_for(kk, nl_parallel_grain_even(kk, 1), bwd_transpose, &j);
        if (g->wino_dx)
            nl_parallel_for((size_t)g->F, nl_parallel_grain_even((size_t)g->F, 1), bwd_dx_weights,
                            &j);
    }
    nl_parallel_for(B, grain, bwd_images, &j);
    j.nfin = g->wino_dw ? (size_t)g->C : (size_t)g->K;
    j.ncrop = dx && g->dxpadded ? (size_t)g->B * g->H : 0;
    const size_t tail = j.nfin + 1 + j.ncrop;
    nl_parallel_for(tail, nl_parallel_grain_even(tail, 1), bwd_tail, &j);
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
        return nl_error_set(err, NL_EINVAL,
                            "conv2d: activation %s not supported (none, relu, tanh, sigmoid, "
                            "gelu or leakyrelu)",
                            act ? act->name : "unknown");
    nl_status st = nl_act_check(act, s, "conv2d", err);
    if (st) return st;
    if (s->padding == NL_PAD_VALID && (l->in.h < s->kernel || l->in.w < s->kernel))
        return nl_error_set(err, NL_EINVAL,
                            "conv2d: input %dx%d is smaller than the %dx%d kernel with valid "
                            "padding",
                            l->in.h, l->in.w, s->kernel, s->kernel);
    const double K = (double)s->kernel * s->kernel * l->in.c;
    if (K * s->units > 1 << 28)
        return nl_error_set(err, NL_EINVAL, "conv2d: %g weights is too many", K * s->units);
    const nl_compile_options *o = &l->opt;
    if (!valid_tile(o->wino_tile) || !valid_tile(o->wino_dw_tile) ||
        !(valid_tile(o->wino_dx_tile) || o->wino_dx_tile == -1))
        return nl_error_set(err, NL_EINVAL,
                            "conv2d: Winograd tile options %d, %d, %d (forward, dW, dx): expected "
                            "0 (auto), 2 or 4, or -1 (direct) for dx",
                            o->wino_tile, o->wino_dw_tile, o->wino_dx_tile);
    l->conv_tiles.fwd = l->conv_tiles.dw = l->conv_tiles.dx = 0;
    const conv_geom g0 = geom(l, 1); /* the padded input, whatever the algorithm */
    choose_tiles(l, g0.OH, g0.OW, g0.Hp, g0.Wp);
    l->out = (nl_shape){g0.OH, g0.OW, s->units};
    l->nparams = (size_t)g0.K * g0.F + (size_t)g0.F;
    l->nstate = 0;
    l->relu = act->relu;
    return NL_OK;
}

static size_t scratch_floats(const nl_layer *l, int max_batch) {
    const conv_geom g = geom(l, max_batch);
    return conv_scratch_layout(&g).total;
}

static void init(const nl_layer *l, float *params, float *state, uint64_t seed) {
    const conv_geom g = geom(l, 1);
    nl_glorot_uniform(params, (size_t)g.K * g.F, g.K, g.KH * g.KW * g.F, seed);
    memset(params + (size_t)g.K * g.F, 0, (size_t)g.F * sizeof(float));
}

/* The fused element-wise activation on image b's output, then the caller's sink. */
typedef struct act_sink {
    const nl_activation *act;
    float alpha;
    float *out, *keep; /* [B][img] */
    size_t img;
    conv2d_image_sink sink;
    void *arg;
} act_sink;

static void act_image(void *arg, int b, int t, const float *y) {
    const act_sink *a = arg;
    float *yb = a->out + (size_t)b * a->img;
    nl_act_forward_range(a->act, a->alpha, yb, yb, a->keep ? a->keep + (size_t)b * a->img : NULL,
                         a->img);
    if (a->sink) a->sink(a->arg, b, t, y);
}

void conv2d_forward_to(const nl_layer *l, const nl_layer_ctx *c, conv2d_image_sink sink,
                       void *arg) {
    const conv_geom g = geom(l, c->batch);
    const conv_scratch sl = conv_scratch_layout(&g);
    act_sink as;
    if ((as.act = nl_act_fused(l))) { /* every image through act_image */
        as.alpha = nl_act_alpha(&l->spec);
        as.out = c->out;
        as.keep = g.keep ? c->scratch + sl.keep : NULL;
        as.img = (size_t)g.OH * g.OW * g.F;
        as.sink = sink, as.arg = arg;
        sink = act_image, arg = &as;
    }
    const float *x = c->in;
    const int relu = l->relu;
    if (g.xpadded) {
        float *xp = c->scratch + sl.xpad;
        pad_input(&g, xp, c->in);
        x = xp;
    }
    const float *bias = c->params + (size_t)g.K * g.F;
    if (g.wino) {
        conv_wino_forward(&g, &sl, c->scratch, c->out, x, c->params, bias, relu, sink, arg);
        return;
    }
    const float *w;
    ptrdiff_t ldw;
    conv_direct_weights(&g, c->params, c->scratch + sl.wfwd, &w, &ldw, &bias);
    conv_direct_forward(&g, c->out, x, w, ldw, bias, relu, sink, arg);
}

void conv2d_backward_from(const nl_layer *l, const nl_layer_ctx *c, conv2d_dout_source source,
                          void *arg, int source_relu) {
    const conv_geom g = geom(l, c->batch);
    const conv_scratch sl = conv_scratch_layout(&g);
    const float *x = g.xpadded ? c->scratch + sl.xpad : c->in;
    conv2d_backward(&g, c->din, c->grads, c->grads + (size_t)g.K * g.F, source ? NULL : c->dout, x,
                    c->out, c->params, l->relu, nl_act_fused(l), nl_act_alpha(&l->spec), c->scratch,
                    source, arg, source_relu);
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
