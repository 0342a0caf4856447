/* conv2d by implicit GEMM (the direct algorithm; see conv2d.c): the
 * micro-kernels of ukernels.c broadcast the elements of cols straight from the
 * (padded) input, since each row of cols is KH segments of KW*C contiguous
 * floats.
 *   forward  tiles of MR pixels x NV*VL filters, the batch's pixels split into
 *            contiguous blocks, about two per thread
 *   dW       per image, tiles of MR rows of dW x NV*VL filters, into the
 *            thread's partial
 *   dx       per image, tiles of MR pixels x NV*VL channels whose store is the
 *            col2im scatter-add */
#include <string.h>

#include "core/parallel.h"
#include "layers/conv2d_internal.h"

void conv_direct_weights(const conv_geom *g, const float *params, float *wp, const float **w,
                         ptrdiff_t *ldw, const float **bias) {
    *w = params, *bias = params + (size_t)g->K * g->F, *ldw = g->F;
    if (g->F % VL == 0) return;
    float *bp = wp + (size_t)g->K * g->Fp;
    for (int k = 0; k < g->K; k++) {
        memcpy(wp + (size_t)k * g->Fp, *w + (size_t)k * g->F, (size_t)g->F * sizeof(float));
        memset(wp + (size_t)k * g->Fp + g->F, 0, (size_t)(g->Fp - g->F) * sizeof(float));
    }
    memcpy(bp, *bias, (size_t)g->F * sizeof(float));
    memset(bp + g->F, 0, (size_t)(g->Fp - g->F) * sizeof(float));
    *w = wp, *bias = bp, *ldw = g->Fp;
}

/* Pixels [p0, p0 + n) of the batch (p = (b * OH + oh) * OW + ow), on one thread,
 * in tiles of at most mr pixels: y[p] = act(conv(x, w) + b). w [K][ldw] (ldw a
 * multiple of VL, columns F..ldw zero), bias [ldw]. Each output is the same sum
 * in the same order whatever the range: the same bits. */
static void forward_pixels(const conv_geom *g, float *y, const float *x, const float *w,
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

typedef struct direct_fwd_job {
    const conv_geom *g;
    float *y;
    const float *x, *w, *bias;
    ptrdiff_t ldw;
    int relu;
    conv_out_fn *out_fn;
    void *out_arg;
} direct_fwd_job;

static void fwd_pixels_chunk(void *ctx, size_t lo, size_t hi, size_t chunk) {
    const direct_fwd_job *j = ctx;
    (void)chunk;
    forward_pixels(j->g, j->y, j->x, j->w, j->ldw, j->bias, j->relu, (int)lo, (int)(hi - lo));
}

static void fwd_images_chunk(void *ctx, size_t lo, size_t hi, size_t t) {
    const direct_fwd_job *j = ctx;
    const conv_geom *g = j->g;
    const size_t yimg = (size_t)g->OH * g->OW * g->F;
    for (int b = (int)lo; b < (int)hi; b++) {
        forward_pixels(g, j->y, j->x, j->w, j->ldw, j->bias, j->relu, b * (g->OH * g->OW),
                       g->OH * g->OW);
        j->out_fn(j->out_arg, b, (int)t, j->y + (size_t)b * yimg);
    }
}

void conv_direct_forward(const conv_geom *g, float *y, const float *x, const float *w,
                         ptrdiff_t ldw, const float *bias, int relu, conv_out_fn *out_fn,
                         void *out_arg) {
    const direct_fwd_job j = {g, y, x, w, bias, ldw, relu, out_fn, out_arg};
    if (!out_fn) { /* every pixel on its own: results do not depend on the split */
        const size_t P = (size_t)g->B * g->OH * g->OW;
        nl_parallel_for(P, nl_parallel_grain_even(P, 1), fwd_pixels_chunk, (void *)&j);
        return;
    }
    /* chunk t: a contiguous block of images, handed to out_fn as part t */
    const size_t nt = nl_parallel_parts((size_t)g->B, CONV_MAX_PARTS);
    nl_parallel_for((size_t)g->B, nl_parallel_grain((size_t)g->B, nt, 1), fwd_images_chunk,
                    (void *)&j);
}

void conv_direct_dw_image(const conv_geom *g, const float *xb, const float *dz, float *part) {
    const int L = g->KW * g->C;
    const int fvec = (g->F + VL - 1) / VL, nvf = pick_nv(fvec), mrw = pick_mr(nvf);
    dw_args da;
    da.zero = 0;
    da.xs = (ptrdiff_t)g->S * g->C;
    da.xrs = (ptrdiff_t)g->S * g->Wp * g->C;
    da.OH = g->OH, da.OW = g->OW;
    da.ldz = g->F;
    da.ldd = g->Fp;
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

void conv_direct_dx_image(const conv_geom *g, const float *wt, const float *dz, float *dxb) {
    const int OHW = g->OH * g->OW;
    const int cvec = (g->C + VL - 1) / VL, nvc = pick_nv(cvec), mrx = pick_mr(nvc);
    const size_t dximg = g->padded ? (size_t)g->Hp * g->Wp * g->C : (size_t)g->H * g->W * g->C;
    dx_args xa;
    xa.add = 1;
    xa.ldz = g->F;
    xa.F = g->F, xa.KH = g->KH, xa.KW = g->KW;
    xa.ldwt = g->Cp;
    xa.xrow = (ptrdiff_t)g->Wp * g->C;
    xa.C = g->C;
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
                xa.dx[i] =
                    dxb + ((size_t)oh * g->S * g->Wp + (size_t)ow * g->S) * g->C + (size_t)v0 * VL;
            }
            xa.wt = wt + (size_t)v0 * VL;
            xa.mlast = v_mask(imin(VL, g->C - (v0 + nvh - 1) * VL));
            nl_dx_tab[m - 1][nvh - 1](&xa);
        }
    }
}

void conv_direct_dw_finish(const conv_geom *g, const float *parts, int nparts, float *dw, int k0,
                           int k1) {
    const size_t part_floats = conv_part_floats(g);
    for (int k = k0; k < k1; k++) {
        for (int f = 0; f < g->F; f++) {
            float s = parts[(size_t)k * g->Fp + f];
            for (int tt = 1; tt < nparts; tt++)
                s += parts[tt * part_floats + (size_t)k * g->Fp + f];
            dw[(size_t)k * g->F + f] = s;
        }
    }
}
