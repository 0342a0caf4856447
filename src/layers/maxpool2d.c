/* 2-D max pooling over NHWC activations (no padding: OH = (H - K) / S + 1,
 * as Keras' "valid" pooling; trailing rows/columns that fit no window are
 * dropped).
 *
 *   forward:  out[b][oh][ow][c] = max over the K x K window of in[b][oh*S+kh][ow*S+kw][c]
 *             (the first maximum in scan order wins); the offset of the winner
 *             inside the image is recorded in scratch (int32 per output element)
 *   backward: din[b][winner] += dout[b][oh][ow][c]; zero elsewhere
 *
 * NHWC makes the window scan a loop over C contiguous lanes for each of the
 * K*K positions. Parallel over output rows (forward) and images (backward: the
 * windows of one image may overlap, so one image belongs to one thread). */
#include <stdint.h>
#include <string.h>

#include "core/parallel.h"
#include "core/simd.h"
#include "layers/layer.h"
#include "layers/maxpool2d.h"

typedef struct pool_geom {
    int B, H, W, C, K, S, OH, OW;
} pool_geom;

static pool_geom geom(const nl_layer *l, int batch) {
    pool_geom g = {batch, l->in.h, l->in.w, l->in.c, l->spec.kernel, l->spec.stride, 0, 0};
    g.OH = (g.H - g.K) / g.S + 1;
    g.OW = (g.W - g.K) / g.S + 1;
    return g;
}

/* One output pixel: maxima and their offsets for channels [0, C), of x or
 * (sc != NULL) of sc[c] * x + sh[c], the batch-norm affine applied on the fly. */
static inline __attribute__((always_inline)) void pool_pixel(const pool_geom *g, const float *x,
                                                             int32_t first, float *best,
                                                             int32_t *arg, const float *sc,
                                                             const float *sh) {
    const int C = g->C;
    int c = 0;
    for (; c + VL <= C; c += VL) { /* best and arg stay in registers */
        vf s = {0}, t = {0};
        if (sc) s = v_read(sc + c), t = v_read(sh + c);
        vf bv = sc ? s * v_read(x + first + c) + t : v_read(x + first + c);
        const vint iota = v_iota();
        vint av = (first + c) + iota;
        for (int kh = 0; kh < g->K; kh++)
            for (int kw = 0; kw < g->K; kw++) {
                if (kh == 0 && kw == 0) continue;
                const int32_t off = first + (int32_t)(((size_t)kh * g->W + kw) * C) + c;
                const vf v = sc ? s * v_read(x + off) + t : v_read(x + off);
                const vint m = v > bv; /* strict: the first maximum wins */
                bv = (vf)(((vint)v & m) | ((vint)bv & ~m));
                av = ((off + iota) & m) | (av & ~m);
            }
        v_write(best + c, bv);
        v_writei(arg + c, av);
    }
    for (; c < C; c++) {
        best[c] = sc ? sc[c] * x[first + c] + sh[c] : x[first + c];
        arg[c] = first + c;
        for (int kh = 0; kh < g->K; kh++)
            for (int kw = 0; kw < g->K; kw++) {
                const int32_t off = first + (int32_t)(((size_t)kh * g->W + kw) * C) + c;
                const float v = sc ? sc[c] * x[off] + sh[c] : x[off];
                if (v > best[c]) best[c] = v, arg[c] = off;
            }
    }
}

/* in [B][H][W][C] -> out [B][OH][OW][C], idx [B][OH][OW][C] (offsets within the
 * image); sc, sh [C] or NULL: pool sc * in + sh instead of in. */
typedef struct pool_job {
    const pool_geom *g;
    float *out;
    int32_t *idx;
    const float *in, *sc, *sh, *dout;
    const int32_t *cidx;
} pool_job;

static void forward_rows(void *ctx, size_t lo, size_t hi, size_t chunk) {
    const pool_job *j = ctx;
    const pool_geom *g = j->g;
    float *out = j->out;
    int32_t *idx = j->idx;
    const float *in = j->in, *sc = j->sc, *sh = j->sh;
    const size_t img = (size_t)g->H * g->W * g->C;
    (void)chunk;
    for (int r = (int)lo; r < (int)hi; r++) {
        const int b = r / g->OH, oh = r % g->OH;
        for (int ow = 0; ow < g->OW; ow++) {
            const size_t o = ((size_t)r * g->OW + ow) * g->C;
            const int32_t first = (int32_t)(((size_t)oh * g->S * g->W + (size_t)ow * g->S) * g->C);
            if (sc)
                pool_pixel(g, in + (size_t)b * img, first, out + o, idx + o, sc, sh);
            else
                pool_pixel(g, in + (size_t)b * img, first, out + o, idx + o, NULL, NULL);
        }
    }
}

static void maxpool2d_forward(const pool_geom *g, float *out, int32_t *idx, const float *in,
                              const float *sc, const float *sh) {
    const pool_job j = {g, out, idx, in, sc, sh, NULL, NULL};
    const size_t rows = (size_t)g->B * g->OH;
    nl_parallel_for(rows, nl_parallel_grain_even(rows, rows * g->OW * g->C >= 8192), forward_rows,
                    (void *)&j);
}

void maxpool2d_forward_affine(const nl_layer *l, int batch, float *out, int32_t *idx,
                              const float *in, const float *scale, const float *shift) {
    const pool_geom g = geom(l, batch);
    maxpool2d_forward(&g, out, idx, in, scale, shift);
}

/* din [B][H][W][C] from dout [B][OH][OW][C] and the recorded winners. */
static void backward_images(void *ctx, size_t lo, size_t hi, size_t chunk) {
    const pool_job *j = ctx;
    const pool_geom *g = j->g;
    float *din = j->out;
    const float *dout = j->dout;
    const int32_t *idx = j->cidx;
    (void)chunk;
    const size_t img = (size_t)g->H * g->W * g->C, oimg = (size_t)g->OH * g->OW * g->C;
    /* Windows that do not overlap (K <= S) are written position by position, so
     * din needs clearing only where no window reaches; overlapping windows
     * accumulate into a cleared image. */
    const int disjoint = g->K <= g->S;
    const int covered = disjoint && g->K == g->S && g->OH * g->S == g->H && g->OW * g->S == g->W;
    const int C = g->C;
    for (int b = (int)lo; b < (int)hi; b++) {
        float *dx = din + (size_t)b * img;
        const float *dy = dout + (size_t)b * oimg;
        const int32_t *ix = idx + (size_t)b * oimg;
        if (!covered) memset(dx, 0, img * sizeof(float));
        if (!disjoint) {
            for (size_t o = 0; o < oimg; o++) dx[ix[o]] += dy[o];
            continue;
        }
        for (int oh = 0; oh < g->OH; oh++) {
            for (int ow = 0; ow < g->OW; ow++) {
                const size_t o = ((size_t)oh * g->OW + ow) * C;
                const int32_t base = (int32_t)(((size_t)oh * g->S * g->W + (size_t)ow * g->S) * C);
                for (int kh = 0; kh < g->K; kh++) {
                    for (int kw = 0; kw < g->K; kw++) {
                        const int32_t off = base + (int32_t)(((size_t)kh * g->W + kw) * C);
                        float *d = dx + off;
                        int c = 0;
                        for (; c + VL <= C; c += VL) {
                            const vint m = v_readi(ix + o + c) == (off + c) + v_iota();
                            v_write(d + c, (vf)((vint)v_read(dy + o + c) & m));
                        }
                        for (; c < C; c++) d[c] = ix[o + c] == off + c ? dy[o + c] : 0.0f;
                    }
                }
            }
        }
    }
}

static void maxpool2d_backward(const pool_geom *g, float *din, const float *dout,
                               const int32_t *idx) {
    const pool_job j = {g, din, NULL, NULL, NULL, NULL, dout, idx};
    const size_t B = (size_t)g->B, img = (size_t)g->H * g->W * g->C;
    nl_parallel_for(B, nl_parallel_grain_even(B, B * img >= 8192), backward_images, (void *)&j);
}

static nl_status plan(nl_layer *l, nl_error *err) {
    const nl_layer_spec *s = &l->spec;
    if (s->kernel <= 0 || s->kernel > 64)
        return nl_error_set(err, NL_EINVAL, "maxpool2d: kernel size must be in 1..64 (got %d)",
                            s->kernel);
    if (s->stride <= 0 || s->stride > 64)
        return nl_error_set(err, NL_EINVAL, "maxpool2d: stride must be in 1..64 (got %d)",
                            s->stride);
    if (l->in.h < s->kernel || l->in.w < s->kernel)
        return nl_error_set(err, NL_EINVAL,
                            "maxpool2d: input %dx%d is smaller than the %dx%d window", l->in.h,
                            l->in.w, s->kernel, s->kernel);
    if (nl_shape_size(l->in) > INT32_MAX)
        return nl_error_set(err, NL_EINVAL,
                            "maxpool2d: input of %zu floats per sample is too large",
                            nl_shape_size(l->in));
    const pool_geom g = geom(l, 1);
    l->out = (nl_shape){g.OH, g.OW, l->in.c};
    return NL_OK;
}

/* One int32 winner offset per output element; then as many floats for the
 * batch norm fused before the pool (batchnorm_maxpool.c: the winners' input
 * values in training; pages never touched otherwise). */
static size_t scratch_floats(const nl_layer *l, int max_batch) {
    return 2 * (size_t)max_batch * nl_shape_size(l->out);
}

static void forward(const nl_layer *l, const nl_layer_ctx *c) {
    const pool_geom g = geom(l, c->batch);
    maxpool2d_forward(&g, c->out, (int32_t *)(void *)c->scratch, c->in, NULL, NULL);
}

static void backward(const nl_layer *l, const nl_layer_ctx *c) {
    if (!c->din) return;
    const pool_geom g = geom(l, c->batch);
    maxpool2d_backward(&g, c->din, c->dout, (const int32_t *)(const void *)c->scratch);
}

const nl_layer_ops nl_maxpool2d_ops = {
    .kind = NL_LAYER_MAXPOOL2D,
    .name = "maxpool2d",
    .plan = plan,
    .scratch_floats = scratch_floats,
    .forward = forward,
    .backward = backward,
};
