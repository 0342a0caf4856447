/* batchnorm: training-mode gradients by finite differences, batch statistics
 * and running-statistic updates against hand-computed values (PyTorch
 * convention: momentum weighs the new batch, running var from the unbiased
 * batch variance), evaluation with the running statistics, determinism; and
 * batch norm fused with the max pool after it (batchnorm_maxpool.c): the same
 * as the two layers one after the other, and its own finite-difference check. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gradcheck.h"
#include "layers/batchnorm_maxpool.h"

static nl_layer_spec bn_spec(float eps, float momentum) {
    nl_layer_spec s = {.kind = NL_LAYER_BATCHNORM, .eps = eps, .momentum = momentum};
    return s;
}

typedef struct bn {
    nl_layer l;
    float *p, *g, *st, *scr;
} bn;

static void bn_make(bn *b, nl_shape in, int max_batch, float eps, float momentum) {
    memset(b, 0, sizeof *b);
    b->l.spec = bn_spec(eps, momentum);
    b->l.in = in;
    b->l.ops = nl_layer_ops_find(NL_LAYER_BATCHNORM);
    nl_error err = {0};
    CHECK(b->l.ops && b->l.ops->plan(&b->l, &err) == NL_OK);
    CHECK(b->l.nparams == 2 * (size_t)in.c && b->l.nstate == 2 * (size_t)in.c);
    b->p = calloc(b->l.nparams, 4);
    b->g = calloc(b->l.nparams, 4);
    b->st = calloc(b->l.nstate, 4);
    b->scr = calloc(b->l.ops->scratch_floats(&b->l, max_batch) + 1, 4);
    b->l.ops->init(&b->l, b->p, b->st, 1);
}

static void bn_free(bn *b) {
    free(b->p), free(b->g), free(b->st), free(b->scr);
}

static void bn_run(bn *b, const float *x, float *y, int batch, int training, float *dy, float *dx) {
    nl_layer_ctx c = {0};
    c.batch = batch, c.training = training, c.in = x, c.out = y;
    c.params = b->p, c.grads = b->g, c.state = b->st, c.scratch = b->scr;
    b->l.ops->forward(&b->l, &c);
    if (dy) {
        c.dout = dy, c.din = dx;
        b->l.ops->backward(&b->l, &c);
    }
}

static void gradients(void) {
    const nl_shape shapes[] = {{1, 1, 5}, {3, 4, 5}, {2, 3, 32}, {4, 4, 17}};
    for (int i = 0; i < 4; i++) {
        nl_layer_spec s = bn_spec(1e-5f, 0.1f);
        gc_result r = gradcheck_layer(&s, shapes[i], i == 0 ? 6 : 3, 200, 1.0f, 11 + i);
        CHECK_MSG(GC_PASSED(r),
                  "shape %dx%dx%d: input %d/%d bad (max %.3g), params %d/%d bad "
                  "(max %.3g)",
                  shapes[i].h, shapes[i].w, shapes[i].c, r.bad_in, r.checked_in, r.max_err_in,
                  r.bad_param, r.checked_param, r.max_err_param);
    }
}

/* N = 4 rows (batch 2 of 1x2 pixels), C = 2 channels, by hand. */
static void hand_values(void) {
    bn b;
    bn_make(&b, (nl_shape){1, 2, 2}, 2, 1e-5f, 0.1f);
    const float x[8] = {1, 10, 2, 20, 3, 30, 6, 60}; /* channel 0: 1 2 3 6; channel 1: x10 */
    b.p[0] = 2.0f, b.p[1] = 0.5f;                    /* gamma */
    b.p[2] = 1.0f, b.p[3] = -1.0f;                   /* beta */
    float y[8];
    bn_run(&b, x, y, 2, 1, NULL, NULL);
    /* channel 0: mean 3, biased var (4+1+0+9)/4 = 3.5, unbiased 14/3 */
    const double m0 = 3.0, v0 = 3.5, m1 = 30.0, v1 = 350.0;
    for (int r = 0; r < 4; r++) {
        CHECK_NEAR(y[2 * r], (x[2 * r] - m0) / sqrt(v0 + 1e-5) * 2.0 + 1.0, 1e-5);
        CHECK_NEAR(y[2 * r + 1], (x[2 * r + 1] - m1) / sqrt(v1 + 1e-5) * 0.5 - 1.0, 1e-5);
    }
    CHECK_NEAR(b.st[0], 0.1 * m0, 1e-6);                       /* running mean 0 -> 0.3 */
    CHECK_NEAR(b.st[1], 0.1 * m1, 1e-5);                       /* 3 */
    CHECK_NEAR(b.st[2], 0.9 * 1.0 + 0.1 * (14.0 / 3.0), 1e-6); /* running var, unbiased */
    CHECK_NEAR(b.st[3], 0.9 * 1.0 + 0.1 * (1400.0 / 3.0), 1e-4);
    /* a second step moves them again */
    bn_run(&b, x, y, 2, 1, NULL, NULL);
    CHECK_NEAR(b.st[0], 0.9 * 0.3 + 0.1 * m0, 1e-6);
    CHECK_NEAR(b.st[2], 0.9 * (0.9 + 0.1 * 14.0 / 3.0) + 0.1 * 14.0 / 3.0, 1e-5);

    /* gradients by hand: dbeta = sum dy, dgamma = sum dy * xhat,
     * dx = gamma/sqrt(var+eps) * (dy - mean(dy) - xhat * mean(dy * xhat)) */
    float dy[8] = {0.5f, -1, 1, 2, -0.25f, 0, 2, 1}, dx[8];
    float dyc[8];
    memcpy(dyc, dy, sizeof dy);
    bn_run(&b, x, y, 2, 1, dyc, dx);
    for (int c = 0; c < 2; c++) {
        const double mu = c ? m1 : m0, var = c ? v1 : v0, is = 1.0 / sqrt(var + 1e-5);
        double sdy = 0, sdyx = 0;
        for (int r = 0; r < 4; r++) {
            sdy += dy[2 * r + c];
            sdyx += dy[2 * r + c] * (x[2 * r + c] - mu) * is;
        }
        CHECK_NEAR(b.g[2 + c], sdy, 1e-5);
        CHECK_NEAR(b.g[c], sdyx, 1e-5);
        for (int r = 0; r < 4; r++) {
            const double xh = (x[2 * r + c] - mu) * is;
            const double want = b.p[c] * is * (dy[2 * r + c] - sdy / 4 - xh * sdyx / 4);
            CHECK_NEAR(dx[2 * r + c], want, 1e-5);
        }
    }
    bn_free(&b);
}

static void eval_mode(void) {
    bn b;
    bn_make(&b, (nl_shape){2, 2, 3}, 4, 1e-3f, 0.1f);
    for (int c = 0; c < 3; c++) {
        b.p[c] = 1.0f + c;          /* gamma */
        b.p[3 + c] = 0.5f * c;      /* beta */
        b.st[c] = 0.25f * c - 0.1f; /* running mean */
        b.st[3 + c] = 0.5f + c;     /* running var */
    }
    float st0[6];
    memcpy(st0, b.st, sizeof st0);
    float x[4 * 12], y[4 * 12], dy[4 * 12], dyc[4 * 12], dx[4 * 12];
    nl_rng r;
    nl_rng_seed(&r, 5);
    for (int i = 0; i < 48; i++) x[i] = 4 * nl_rng_uniform(&r) - 2, dy[i] = nl_rng_uniform(&r);
    memcpy(dyc, dy, sizeof dy);
    bn_run(&b, x, y, 4, 0, dyc, dx);
    CHECK(!memcmp(st0, b.st, sizeof st0)); /* evaluation leaves the running stats alone */
    double sdy[3] = {0}, sdyx[3] = {0};
    for (int i = 0; i < 48; i++) {
        const int c = i % 3;
        const double is = 1.0 / sqrt((double)b.st[3 + c] + 1e-3);
        const double xh = (x[i] - b.st[c]) * is;
        CHECK_NEAR(y[i], xh * b.p[c] + b.p[3 + c], 1e-5);
        CHECK_NEAR(dx[i], dy[i] * b.p[c] * is, 1e-5);
        sdy[c] += dy[i];
        sdyx[c] += dy[i] * xh;
    }
    for (int c = 0; c < 3; c++) {
        CHECK_NEAR(b.g[3 + c], sdy[c], 1e-4);
        CHECK_NEAR(b.g[c], sdyx[c], 1e-4);
    }
    bn_free(&b);
}

/* Large offset: one-pass statistics in double keep the variance accurate;
 * repeated steps are bit-identical. */
static void precision_and_determinism(void) {
    const int B = 32, C = 32;
    const nl_shape in = {30, 30, C};
    bn b;
    bn_make(&b, in, B, 1e-5f, 0.1f);
    const size_t n = (size_t)B * nl_shape_size(in);
    float *x = malloc(n * 4), *y = malloc(n * 4), *y2 = malloc(n * 4), *dy = malloc(n * 4);
    float *dx = malloc(n * 4), *dx2 = malloc(n * 4), *g1 = malloc(2 * C * 4);
    nl_rng r;
    nl_rng_seed(&r, 9);
    for (size_t i = 0; i < n; i++) x[i] = 1000.0f + (float)(i % C) + (2 * nl_rng_uniform(&r) - 1);
    for (size_t i = 0; i < n; i++) dy[i] = 2 * nl_rng_uniform(&r) - 1;
    float *dyc = malloc(n * 4);
    memcpy(dyc, dy, n * 4);
    bn_run(&b, x, y, B, 1, dyc, dx);
    memcpy(g1, b.g, 2 * C * 4);
    /* normalised output: mean 0, variance 1 per channel (gamma 1, beta 0) */
    double worst_m = 0, worst_v = 0;
    for (int c = 0; c < C; c++) {
        double s = 0, q = 0;
        for (size_t i = c; i < n; i += C) s += y[i], q += (double)y[i] * y[i];
        const double m = s / (double)(n / C);
        worst_m = fmax(worst_m, fabs(m));
        worst_v = fmax(worst_v, fabs(q / (double)(n / C) - m * m - 1.0));
    }
    CHECK_MSG(worst_m < 1e-3 && worst_v < 1e-2, "mean err %.3g var err %.3g", worst_m, worst_v);
    memcpy(dyc, dy, n * 4);
    bn_run(&b, x, y2, B, 1, dyc, dx2);
    CHECK(!memcmp(y, y2, n * 4) && !memcmp(dx, dx2, n * 4) && !memcmp(g1, b.g, 2 * C * 4));
    free(x), free(y), free(y2), free(dy), free(dyc), free(dx), free(dx2), free(g1);
    bn_free(&b);
}

static void plan_errors(void) {
    nl_layer l = {0};
    l.ops = nl_layer_ops_find(NL_LAYER_BATCHNORM);
    l.in = (nl_shape){2, 2, 4};
    nl_error err = {0};
    l.spec = bn_spec(0.0f, 0.1f);
    CHECK(l.ops->plan(&l, &err) == NL_EINVAL);
    CHECK_CONTAINS(err.msg, "eps");
    l.spec = bn_spec(1e-5f, 1.5f);
    CHECK(l.ops->plan(&l, &err) == NL_EINVAL);
    CHECK_CONTAINS(err.msg, "momentum");
    l.spec = bn_spec(1e-5f, 0.1f);
    CHECK(l.ops->plan(&l, &err) == NL_OK && l.out.h == 2 && l.out.w == 2 && l.out.c == 4);
    float p[8], st[8];
    l.ops->init(&l, p, st, 0);
    CHECK(p[0] == 1.0f && p[3] == 1.0f && p[4] == 0.0f && p[7] == 0.0f);
    CHECK(st[0] == 0.0f && st[3] == 0.0f && st[4] == 1.0f && st[7] == 1.0f);
}

/* ---- fused with the max pool that follows ---------------------------------------- */

typedef struct pair {
    bn b;
    nl_layer pool;
    float *pscr; /* the pool's scratch: winner offsets */
} pair;

static void pair_make(pair *q, nl_shape in, int k, int s, int max_batch, uint64_t seed) {
    bn_make(&q->b, in, max_batch, 1e-5f, 0.1f);
    memset(&q->pool, 0, sizeof q->pool);
    q->pool.spec = (nl_layer_spec){.kind = NL_LAYER_MAXPOOL2D, .kernel = k, .stride = s};
    q->pool.in = q->b.l.out;
    q->pool.ops = nl_layer_ops_find(NL_LAYER_MAXPOOL2D);
    nl_error err = {0};
    CHECK(q->pool.ops && q->pool.ops->plan(&q->pool, &err) == NL_OK);
    CHECK(batchnorm_maxpool_fusable(&q->b.l, &q->pool));
    q->pscr = calloc(q->pool.ops->scratch_floats(&q->pool, max_batch) + 1, 4);
    nl_rng r;
    nl_rng_seed(&r, seed);
    for (int c = 0; c < in.c; c++) { /* gamma of both signs: the winner is that of y */
        q->b.p[c] = (nl_rng_uniform(&r) < 0.3f ? -1.0f : 1.0f) * (0.5f + nl_rng_uniform(&r));
        q->b.p[in.c + c] = nl_rng_uniform(&r) - 0.5f;
        q->b.st[c] = 0.2f * nl_rng_uniform(&r);
        q->b.st[in.c + c] = 0.5f + nl_rng_uniform(&r);
    }
    if (in.c > 1) q->b.p[1] = 0.0f; /* gamma 0: every y of a window equal, the first wins */
}

static void pair_free(pair *q) {
    bn_free(&q->b);
    free(q->pscr);
}

/* One forward (and backward when dp) of the pair, fused or as two layers; p the
 * pooled output, dx the input gradient (NULL: none asked for). */
static void pair_run(pair *q, int fused, const float *x, float *p, int batch, int training,
                     const float *dp, float *dx) {
    const size_t ny = (size_t)batch * nl_shape_size(q->b.l.out);
    const size_t np = (size_t)batch * nl_shape_size(q->pool.out);
    float *y = calloc(ny, 4), *dy = calloc(ny, 4), *dpc = calloc(np, 4);
    nl_layer_ctx cb = {0}, cp = {0};
    cb.batch = cp.batch = batch, cb.training = cp.training = training;
    cb.in = x, cb.out = y, cb.params = q->b.p, cb.grads = q->b.g, cb.state = q->b.st;
    cb.scratch = q->b.scr;
    cp.in = y, cp.out = p, cp.scratch = q->pscr;
    if (fused) {
        cb.out = NULL, cp.in = NULL; /* the fused step must not touch y */
        batchnorm_maxpool_forward(&q->b.l, &q->pool, &cb, &cp);
    } else {
        q->b.l.ops->forward(&q->b.l, &cb);
        q->pool.ops->forward(&q->pool, &cp);
    }
    if (dp) {
        memcpy(dpc, dp, np * 4);
        cp.dout = dpc, cp.din = dy;
        cb.dout = dy, cb.din = dx;
        if (fused) {
            cp.din = NULL, cb.dout = NULL;
            batchnorm_maxpool_backward(&q->b.l, &q->pool, &cb, &cp);
        } else {
            q->pool.ops->backward(&q->pool, &cp);
            q->b.l.ops->backward(&q->b.l, &cb);
        }
    }
    free(y), free(dy), free(dpc);
}

static double max_rel(const float *a, const float *b, size_t n) {
    double w = 0;
    for (size_t i = 0; i < n; i++)
        w = fmax(w, fabs((double)a[i] - b[i]) / fmax(1e-3, fmax(fabs(a[i]), fabs(b[i]))));
    return w;
}

static void fused_matches_layers(void) {
    static const struct {
        nl_shape in;
        int k, s, batch;
    } cases[] = {
        {{30, 30, 32}, 2, 2, 8}, /* cifar10's first pair: windows cover the input */
        {{13, 13, 20}, 2, 2, 5}, /* last row and column in no window; C not a vector multiple */
        {{6, 7, 3}, 3, 1, 3},    /* overlapping windows */
        {{1, 1, 4}, 1, 1, 1},    /* one pixel, one sample */
        {{8, 7, 17}, 2, 3, 2},   /* gaps between the windows */
        {{13, 13, 32}, 2, 2, 3}, /* one pass for statistics and pool, a row and a column left */
        {{11, 10, 16}, 3, 3, 2}, /* the same with 3x3 windows, two rows and a column left */
        {{13, 13, 64}, 2, 2, 3}, /* cifar10's second pair */
    };
    for (int t = 0; t < 8; t++)
        for (int training = 1; training >= 0; training--) {
            pair u, f;
            pair_make(&u, cases[t].in, cases[t].k, cases[t].s, cases[t].batch, 40 + t);
            pair_make(&f, cases[t].in, cases[t].k, cases[t].s, cases[t].batch, 40 + t);
            const int B = cases[t].batch, C = cases[t].in.c;
            const size_t nx = (size_t)B * nl_shape_size(cases[t].in);
            const size_t np = (size_t)B * nl_shape_size(u.pool.out);
            float *x = malloc(nx * 4), *dx1 = malloc(nx * 4), *dx2 = malloc(nx * 4);
            float *p1 = malloc(np * 4), *p2 = malloc(np * 4), *dp = malloc(np * 4);
            nl_rng r;
            nl_rng_seed(&r, 70 + t);
            for (size_t i = 0; i < nx; i++) x[i] = 3 * nl_rng_uniform(&r) - 1;
            for (size_t i = 0; i < np; i++) dp[i] = 2 * nl_rng_uniform(&r) - 1;
            pair_run(&u, 0, x, p1, B, training, dp, dx1);
            pair_run(&f, 1, x, p2, B, training, dp, dx2);
            const double ep = max_rel(p1, p2, np), edx = max_rel(dx1, dx2, nx);
            const double eg = max_rel(u.b.g, f.b.g, 2 * (size_t)C);
            /* the statistics may be summed in another order: float rounding apart */
            CHECK_MSG(ep < 5e-4, "case %d training %d: pooled output differs by %.3g", t, training,
                      ep);
            CHECK_MSG(!memcmp(u.pscr, f.pscr, np * 4), "case %d training %d: winners differ", t,
                      training);
            CHECK_MSG(max_rel(u.b.st, f.b.st, 2 * (size_t)C) < 1e-5,
                      "case %d training %d: running statistics differ", t, training);
            CHECK_MSG(eg < 1e-4 && edx < 1e-4, "case %d training %d: dgamma/dbeta %.3g, dx %.3g", t,
                      training, eg, edx);
            /* no input gradient asked for: the parameter gradients alone */
            memset(f.b.g, 0, 2 * (size_t)C * 4);
            pair_run(&f, 1, x, p2, B, training, dp, NULL);
            CHECK(max_rel(u.b.g, f.b.g, 2 * (size_t)C) < 1e-4);
            free(x), free(dx1), free(dx2), free(p1), free(p2), free(dp);
            pair_free(&u), pair_free(&f);
        }
}

/* The input gradient as a convolution with a ReLU asks for it image by image
 * (relu 1: zero where x <= 0), against the plain one masked afterwards, on
 * cifar10's pairs (32 and 64 channels, 2x2 windows: the unrolled paths) and on
 * 16 and 20 channels. */
static void fused_dx_relu(void) {
    static const nl_shape shapes[] = {{30, 30, 32}, {13, 13, 64}, {13, 13, 16}, {9, 8, 20}};
    for (int t = 0; t < 4; t++) {
        const nl_shape in = shapes[t];
        const int B = 3;
        pair q;
        pair_make(&q, in, 2, 2, B, 90 + t);
        const size_t img = nl_shape_size(in), nx = (size_t)B * img;
        const size_t np = (size_t)B * nl_shape_size(q.pool.out);
        float *x = malloc(nx * 4), *p = malloc(np * 4), *dp = malloc(np * 4);
        float *d0 = malloc(img * 4), *d1 = malloc(img * 4);
        nl_rng r;
        nl_rng_seed(&r, 30 + t);
        for (size_t i = 0; i < nx; i++) x[i] = 3 * nl_rng_uniform(&r) - 1;
        for (size_t i = 0; i < np; i++) dp[i] = 2 * nl_rng_uniform(&r) - 1;
        nl_layer_ctx cb = {0}, cp = {0};
        cb.batch = cp.batch = B, cb.training = cp.training = 1;
        cb.in = x, cb.params = q.b.p, cb.grads = q.b.g, cb.state = q.b.st, cb.scratch = q.b.scr;
        cp.out = p, cp.scratch = q.pscr, cp.dout = dp;
        batchnorm_maxpool_forward(&q.b.l, &q.pool, &cb, &cp);
        batchnorm_maxpool_backward_params(&q.b.l, &q.pool, &cb, &cp);
        int ok = 1, nonzero = 0;
        for (int b = 0; b < B; b++) {
            const float *xb = x + (size_t)b * img;
            batchnorm_maxpool_args a = {&q.b.l, &q.pool, &cb, &cp, 0};
            batchnorm_maxpool_dx_image(&a, b, xb, d0);
            a.relu = 1;
            batchnorm_maxpool_dx_image(&a, b, xb, d1);
            for (size_t i = 0; i < img; i++) {
                const float want = xb[i] > 0.0f ? d0[i] : 0.0f;
                ok &= !memcmp(&want, &d1[i], 4);
                nonzero += d1[i] != 0.0f;
            }
        }
        CHECK_MSG(ok && nonzero > 0, "%dx%dx%d: relu dx is not the masked dx", in.h, in.w, in.c);
        free(x), free(p), free(dp), free(d0), free(d1);
        pair_free(&q);
    }
}

/* L = sum(pooled * R): central differences on x, gamma and beta of the fused step. */
static void fused_gradients(void) {
    const nl_shape in = {4, 5, 3};
    const int B = 3;
    pair q;
    pair_make(&q, in, 2, 2, B, 7);
    const size_t nx = (size_t)B * nl_shape_size(in), np = (size_t)B * nl_shape_size(q.pool.out);
    double *xd = malloc(nx * sizeof *xd);
    float *x = malloc(nx * 4), *dx = malloc(nx * 4), *p = malloc(np * 4), *R = malloc(np * 4);
    nl_rng r;
    nl_rng_seed(&r, 8);
    for (size_t i = 0; i < nx; i++) x[i] = 4 * nl_rng_uniform(&r) - 2, xd[i] = x[i];
    for (size_t i = 0; i < np; i++) R[i] = 2 * nl_rng_uniform(&r) - 1;
    pair_run(&q, 1, x, p, B, 1, R, dx);
    float g[6];
    memcpy(g, q.b.g, sizeof g);
    const float h = 3e-3f;
    int bad = 0, checked = 0;
    double worst = 0;
    /* loss at the current x and params (running statistics move each call: unused by L) */
#define LOSS(out)                                                                                  \
    do {                                                                                           \
        pair_run(&q, 1, x, p, B, 1, NULL, NULL);                                                   \
        double s_ = 0;                                                                             \
        for (size_t j = 0; j < np; j++) s_ += (double)p[j] * R[j];                                 \
        out = s_;                                                                                  \
    } while (0)
    for (size_t i = 0; i < nx; i++) {
        double lp, lm;
        x[i] = (float)(xd[i] + h);
        LOSS(lp);
        x[i] = (float)(xd[i] - h);
        LOSS(lm);
        x[i] = (float)xd[i];
        const double num = (lp - lm) / (2 * h), e = gc_relerr(dx[i], num);
        worst = fmax(worst, e), bad += e > GC_TOL, checked++;
    }
    for (int k = 0; k < 6; k++) {
        const float keep = q.b.p[k];
        double lp, lm;
        q.b.p[k] = keep + h;
        LOSS(lp);
        q.b.p[k] = keep - h;
        LOSS(lm);
        q.b.p[k] = keep;
        const double num = (lp - lm) / (2 * h), e = gc_relerr(g[k], num);
        worst = fmax(worst, e), bad += e > GC_TOL, checked++;
    }
#undef LOSS
    /* a probe whose step moves a winner (a kink of max) may disagree: at most 2 of 66 */
    CHECK_MSG(bad <= 2, "%d of %d probes off (worst relative error %.3g)", bad, checked, worst);
    free(xd), free(x), free(dx), free(p), free(R);
    pair_free(&q);
}

/* After a dense layer (input 1x1xN: N features): statistics per feature over
 * the batch, each feature normalised on its own; running mean per feature. */
static void after_dense(void) {
    enum { B = 16, N = 33 };
    bn b;
    bn_make(&b, (nl_shape){1, 1, N}, B, 1e-5f, 0.1f);
    float x[B * N], y[B * N];
    nl_rng r;
    nl_rng_seed(&r, 21);
    for (int i = 0; i < B; i++)
        for (int f = 0; f < N; f++)
            x[i * N + f] = 0.5f * f + (f + 1) * (2 * nl_rng_uniform(&r) - 1);
    bn_run(&b, x, y, B, 1, NULL, NULL);
    double worst_mean = 0, worst_var = 0, worst_run = 0;
    for (int f = 0; f < N; f++) {
        double m = 0, v = 0, xm = 0;
        for (int i = 0; i < B; i++) m += y[i * N + f], xm += x[i * N + f];
        m /= B, xm /= B;
        for (int i = 0; i < B; i++) v += (y[i * N + f] - m) * (y[i * N + f] - m);
        v /= B;
        worst_mean = fmax(worst_mean, fabs(m));
        worst_var = fmax(worst_var, fabs(v - 1));
        worst_run = fmax(worst_run, fabs(b.st[f] - 0.1 * xm)); /* running mean from 0 */
    }
    CHECK_MSG(worst_mean < 1e-5, "per-feature means up to %.3g", worst_mean);
    CHECK_MSG(worst_var < 1e-3, "per-feature variances off 1 by up to %.3g", worst_var);
    CHECK_MSG(worst_run < 1e-5, "running means off by %.3g", worst_run);
    bn_free(&b);
}

int main(void) {
    plan_errors();
    after_dense();
    gradients();
    hand_values();
    eval_mode();
    precision_and_determinism();
    fused_matches_layers();
    fused_dx_relu();
    fused_gradients();
    CHECK_DONE();
}
