/* Average pooling over NHWC activations: avgpool2d (a K x K window, stride S,
 * no padding: OH = (H - K) / S + 1, as Keras' "valid" pooling) and
 * globalavgpool2d (the whole image: H x W x C -> 1 x 1 x C).
 *
 *   avgpool2d  forward:  out[b][oh][ow][c] = (1/K^2) sum_{kh,kw} in[b][oh*S+kh][ow*S+kw][c]
 *              backward: din[b][h][w][c] = (1/K^2) sum over the windows (oh, ow) that
 *                        hold (h, w) of dout[b][oh][ow][c]   (0 where none does)
 *   global     forward:  out[b][c] = (1/(H W)) sum_{h,w} in[b][h][w][c]
 *              backward: din[b][h][w][c] = dout[b][c] / (H W)
 *
 * Every output element is a sum in a fixed order (window rows, then columns;
 * the pixels in scan order), vectorised along the C contiguous channels with
 * a masked last vector. The backward pass gathers (each input pixel sums the
 * few windows over it) instead of scattering, so overlapping windows need no
 * atomics. Threads (nl_parallel_for) take fixed chunks of output rows
 * (forward) and input rows (backward) or of images (global): disjoint
 * outputs, the same bits for any thread count. */
#include <string.h>

#include "core/parallel.h"
#include "core/simd.h"
#include "layers/layer.h"

/* Rows of `per_row` floats per chunk: about 32K floats of work. */
static size_t rows_grain(size_t per_row) {
    const size_t g = 32768 / (per_row ? per_row : 1);
    return g ? g : 1;
}

/* ---- avgpool2d --------------------------------------------------------------------------- */

typedef struct avg_geom {
    int B, H, W, C, K, S, OH, OW;
    float inv; /* 1 / K^2 */
} avg_geom;

static avg_geom avg_geom_of(const nl_layer *l, int batch) {
    avg_geom g = {batch, l->in.h, l->in.w, l->in.c, l->spec.kernel, l->spec.stride, 0, 0, 0.0f};
    g.OH = (g.H - g.K) / g.S + 1;
    g.OW = (g.W - g.K) / g.S + 1;
    g.inv = 1.0f / (float)(g.K * g.K);
    return g;
}

typedef struct avg_job {
    const avg_geom *g;
    float *dst;
    const float *src;
} avg_job;

/* Output rows [r0, r1) of B*OH: out = the window means of in. */
static void avg_forward_rows(void *ctx, size_t r0, size_t r1, size_t chunk) {
    (void)chunk;
    const avg_job *j = ctx;
    const avg_geom *g = j->g;
    const int C = g->C, nvec = (C + VL - 1) / VL;
    const vmask ml = v_mask(C - (nvec - 1) * VL);
    const vf inv = v_set1(g->inv);
    for (size_t r = r0; r < r1; r++) {
        const int b = (int)(r / (size_t)g->OH), oh = (int)(r % (size_t)g->OH);
        const float *img = j->src + (size_t)b * g->H * g->W * C;
        for (int ow = 0; ow < g->OW; ow++) {
            const float *x0 = img + ((size_t)oh * g->S * g->W + (size_t)ow * g->S) * C;
            float *y = j->dst + (r * (size_t)g->OW + (size_t)ow) * C;
            for (int v = 0; v < nvec; v++) {
                const int last = v == nvec - 1 && C % VL;
                vf s = v_zero();
                for (int kh = 0; kh < g->K; kh++)
                    for (int kw = 0; kw < g->K; kw++) {
                        const float *p = x0 + ((size_t)kh * g->W + kw) * C + (size_t)v * VL;
                        s = v_add(s, last ? v_load_m(p, ml) : v_load(p));
                    }
                v_store_if(y + (size_t)v * VL, v_mul(s, inv), last, ml);
            }
        }
    }
}

/* The windows along one axis that hold input position h: [*lo, *hi). */
static void windows_over(int h, int K, int S, int O, int *lo, int *hi) {
    const int a = h - K + 1;
    *lo = a <= 0 ? 0 : (a + S - 1) / S;
    const int b = h / S + 1;
    *hi = b < O ? b : O;
}

/* Input rows [r0, r1) of B*H: din = the sum of the window gradients over each pixel / K^2. */
static void avg_backward_rows(void *ctx, size_t r0, size_t r1, size_t chunk) {
    (void)chunk;
    const avg_job *j = ctx;
    const avg_geom *g = j->g;
    const int C = g->C, nvec = (C + VL - 1) / VL;
    const vmask ml = v_mask(C - (nvec - 1) * VL);
    const vf inv = v_set1(g->inv);
    for (size_t r = r0; r < r1; r++) {
        const int b = (int)(r / (size_t)g->H), h = (int)(r % (size_t)g->H);
        const float *dy = j->src + (size_t)b * g->OH * g->OW * C;
        float *dx = j->dst + r * (size_t)g->W * C;
        int oh0, oh1;
        windows_over(h, g->K, g->S, g->OH, &oh0, &oh1);
        for (int w = 0; w < g->W; w++) {
            int ow0, ow1;
            windows_over(w, g->K, g->S, g->OW, &ow0, &ow1);
            float *d = dx + (size_t)w * C;
            for (int v = 0; v < nvec; v++) {
                const int last = v == nvec - 1 && C % VL;
                vf s = v_zero();
                for (int oh = oh0; oh < oh1; oh++)
                    for (int ow = ow0; ow < ow1; ow++) {
                        const float *p = dy + ((size_t)oh * g->OW + ow) * C + (size_t)v * VL;
                        s = v_add(s, last ? v_load_m(p, ml) : v_load(p));
                    }
                v_store_if(d + (size_t)v * VL, v_mul(s, inv), last, ml);
            }
        }
    }
}

static nl_status avg_plan(nl_layer *l, nl_error *err) {
    const nl_layer_spec *s = &l->spec;
    if (s->kernel <= 0 || s->kernel > 64)
        return nl_error_set(err, NL_EINVAL, "avgpool2d: kernel size must be in 1..64 (got %d)",
                            s->kernel);
    if (s->stride <= 0 || s->stride > 64)
        return nl_error_set(err, NL_EINVAL, "avgpool2d: stride must be in 1..64 (got %d)",
                            s->stride);
    if (l->in.h < s->kernel || l->in.w < s->kernel)
        return nl_error_set(err, NL_EINVAL,
                            "avgpool2d: input %dx%dx%d is smaller than the %dx%d window", l->in.h,
                            l->in.w, l->in.c, s->kernel, s->kernel);
    const avg_geom g = avg_geom_of(l, 1);
    l->out = (nl_shape){g.OH, g.OW, l->in.c};
    return NL_OK;
}

static void avg_forward(const nl_layer *l, const nl_layer_ctx *c) {
    const avg_geom g = avg_geom_of(l, c->batch);
    avg_job j = {&g, c->out, c->in};
    nl_parallel_for((size_t)g.B * g.OH, rows_grain((size_t)g.OW * g.K * g.K * g.C),
                    avg_forward_rows, &j);
}

static void avg_backward(const nl_layer *l, const nl_layer_ctx *c) {
    if (!c->din) return;
    const avg_geom g = avg_geom_of(l, c->batch);
    avg_job j = {&g, c->din, c->dout};
    const int cover = (g.K + g.S - 1) / g.S; /* windows over a pixel, per axis, at most */
    nl_parallel_for((size_t)g.B * g.H, rows_grain((size_t)g.W * cover * cover * g.C),
                    avg_backward_rows, &j);
}

const nl_layer_ops nl_avgpool2d_ops = {
    .kind = NL_LAYER_AVGPOOL2D,
    .name = "avgpool2d",
    .plan = avg_plan,
    .forward = avg_forward,
    .backward = avg_backward,
};

/* ---- globalavgpool2d --------------------------------------------------------------------- */

typedef struct gap_job {
    int P, C; /* pixels of an image, channels */
    float *dst;
    const float *src;
} gap_job;

/* Images [b0, b1): out[b] = the mean of the P pixels of in[b]. */
static void gap_forward_images(void *ctx, size_t b0, size_t b1, size_t chunk) {
    (void)chunk;
    const gap_job *j = ctx;
    const int C = j->C, nvec = (C + VL - 1) / VL;
    const vmask ml = v_mask(C - (nvec - 1) * VL);
    const vf inv = v_set1(1.0f / (float)j->P);
    for (size_t b = b0; b < b1; b++) {
        const float *x = j->src + b * (size_t)j->P * C;
        float *y = j->dst + b * (size_t)C;
        /* 4 vectors of channels at a time, their sums in registers over all pixels */
        int v = 0;
        for (; v + 4 <= nvec && (v + 4) * VL <= C; v += 4) {
            vf s0 = v_zero(), s1 = v_zero(), s2 = v_zero(), s3 = v_zero();
            for (int p = 0; p < j->P; p++) {
                const float *q = x + (size_t)p * C + (size_t)v * VL;
                s0 = v_add(s0, v_load(q));
                s1 = v_add(s1, v_load(q + VL));
                s2 = v_add(s2, v_load(q + 2 * VL));
                s3 = v_add(s3, v_load(q + 3 * VL));
            }
            float *o = y + (size_t)v * VL;
            v_store(o, v_mul(s0, inv));
            v_store(o + VL, v_mul(s1, inv));
            v_store(o + 2 * VL, v_mul(s2, inv));
            v_store(o + 3 * VL, v_mul(s3, inv));
        }
        for (; v < nvec; v++) {
            const int last = v == nvec - 1 && C % VL;
            vf s = v_zero();
            for (int p = 0; p < j->P; p++) {
                const float *q = x + (size_t)p * C + (size_t)v * VL;
                s = v_add(s, last ? v_load_m(q, ml) : v_load(q));
            }
            v_store_if(y + (size_t)v * VL, v_mul(s, inv), last, ml);
        }
    }
}

/* Images [b0, b1): din[b][p] = dout[b] / P for every pixel p. */
static void gap_backward_images(void *ctx, size_t b0, size_t b1, size_t chunk) {
    (void)chunk;
    const gap_job *j = ctx;
    const int C = j->C, nvec = (C + VL - 1) / VL;
    const vmask ml = v_mask(C - (nvec - 1) * VL);
    const vf inv = v_set1(1.0f / (float)j->P);
    for (size_t b = b0; b < b1; b++) {
        const float *dy = j->src + b * (size_t)C;
        float *dx = j->dst + b * (size_t)j->P * C;
        for (int v = 0; v < nvec; v++) {
            const int last = v == nvec - 1 && C % VL;
            const vf g =
                v_mul(last ? v_load_m(dy + (size_t)v * VL, ml) : v_load(dy + (size_t)v * VL), inv);
            for (int p = 0; p < j->P; p++)
                v_store_if(dx + (size_t)p * C + (size_t)v * VL, g, last, ml);
        }
    }
}

static nl_status gap_plan(nl_layer *l, nl_error *err) {
    (void)err;
    l->out = (nl_shape){1, 1, l->in.c};
    return NL_OK;
}

static void gap_forward(const nl_layer *l, const nl_layer_ctx *c) {
    gap_job j = {l->in.h * l->in.w, l->in.c, c->out, c->in};
    nl_parallel_for((size_t)c->batch, rows_grain(nl_shape_size(l->in)), gap_forward_images, &j);
}

static void gap_backward(const nl_layer *l, const nl_layer_ctx *c) {
    if (!c->din) return;
    gap_job j = {l->in.h * l->in.w, l->in.c, c->din, c->dout};
    nl_parallel_for((size_t)c->batch, rows_grain(nl_shape_size(l->in)), gap_backward_images, &j);
}

const nl_layer_ops nl_globalavgpool2d_ops = {
    .kind = NL_LAYER_GLOBALAVGPOOL2D,
    .name = "globalavgpool2d",
    .plan = gap_plan,
    .forward = gap_forward,
    .backward = gap_backward,
};
