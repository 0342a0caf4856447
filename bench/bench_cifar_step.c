/* bench_cifar_step: where the time of a cifar10 training step goes.
 *
 *   bench_cifar_step [--batch N] [--steps N] [--threads N] [--workload NAME]
 *
 * 1. Per layer: the workload's layers run one after another through their ops
 *    tables (the model's own pipeline, rebuilt here so each call can be timed)
 *    on random data; forward and backward time per step, GFLOP/s of the
 *    convolution and dense layers. As in the model, a batch norm and the max
 *    pool after it run as one (one row), and a convolution before such a pair
 *    makes the pair's input gradient image by image in its own backward (its
 *    backward time includes that); NNLAB_FUSE=0 times the layers one by one.
 * 2. Whole step through the public API (forward, loss + backward, Adam), the
 *    figure an epoch is made of; projected epoch time for 50000 samples.
 * Numbers are medians over the timed steps, and for the whole step also the
 * fastest step (the development machine is shared: medians and minima are
 * steadier than means). Output: a table on stdout. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layers/batchnorm_maxpool.h"
#include "layers/layer.h"
#include "layers/softmax_xent.h"
#include "nnlab/core.h"
#include "nnlab/model.h"
#include "nnlab/optim.h"
#include "blas_env.h"

static nl_layer_ctx make_ctx(float **act, float **scr, float **par, float **grd, float **st, int i,
                             int B, int step) {
    nl_layer_ctx c = {0};
    c.batch = B, c.training = 1, c.in = act[i], c.out = act[i + 1];
    c.params = par[i], c.grads = grd[i], c.state = st[i], c.scratch = scr[i];
    c.seed = 1, c.step = (uint64_t)step, c.layer_index = i;
    return c;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static float *falloc(size_t n) {
    void *p = NULL;
    if (posix_memalign(&p, 64, (n ? n : 1) * sizeof(float))) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    memset(p, 0, (n ? n : 1) * sizeof(float));
    return p;
}

/* Multiply-adds x2 of forward and backward for one sample. */
static void layer_flops(const nl_layer *l, int first, double *fwd, double *bwd) {
    *fwd = *bwd = 0;
    if (l->spec.kind == NL_LAYER_CONV2D) {
        const double k = (double)l->spec.kernel * l->spec.kernel * l->in.c;
        *fwd = 2.0 * l->out.h * l->out.w * l->out.c * k;
        *bwd = *fwd * (first ? 1 : 2);
    } else if (l->spec.kind == NL_LAYER_DENSE) {
        *fwd = 2.0 * (double)nl_shape_size(l->in) * l->spec.units;
        *bwd = *fwd * (first ? 1 : 2);
    }
}

static int env_is(const char *name, const char *value) {
    const char *e = getenv(name);
    return e && !strcmp(e, value);
}

/* NNLAB_WINO_*_TILE: "2" or "4", "0" (direct; the input gradient only), else 0 (auto). */
static int env_tile(const char *name) {
    const char *e = getenv(name);
    if (!e || !e[0] || e[1]) return 0;
    return e[0] == '2' || e[0] == '4' ? e[0] - '0' : e[0] == '0' ? -1 : 0;
}

int main(int argc, char **argv) {
    bench_fix_blas_core(argv);
    int B = 32, steps = 100, threads = 0;
    const char *workload = "cifar10";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--batch") && i + 1 < argc)
            B = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--steps") && i + 1 < argc)
            steps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--workload") && i + 1 < argc)
            workload = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--batch N] [--steps N] [--threads N] [--workload NAME]\n",
                    argv[0]);
            return 2;
        }
    }
    if (B <= 0 || steps <= 0) return 2;
    threads = nl_set_threads(threads);
    nl_error err = {0};
    nl_model *m = NULL;
    /* the library takes no switches from the environment; this program does, to
       compare algorithms: NNLAB_FUSE=0, NNLAB_CONV_DIRECT=1, NNLAB_WINO_TILE,
       NNLAB_WINO_DW_TILE (2 or 4), NNLAB_WINO_DX_TILE (0: direct, 2 or 4) */
    nl_compile_options copt = {0};
    copt.no_fuse = env_is("NNLAB_FUSE", "0");
    copt.conv_algo = env_is("NNLAB_CONV_DIRECT", "1") ? NL_CONV_DIRECT : NL_CONV_AUTO;
    copt.wino_tile = env_tile("NNLAB_WINO_TILE");
    copt.wino_dw_tile = env_tile("NNLAB_WINO_DW_TILE");
    copt.wino_dx_tile = env_tile("NNLAB_WINO_DX_TILE");
    if (nl_workload_build(workload, &m, &err) || nl_model_set_options(m, &copt, &err) ||
        nl_model_compile(m, B, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    const int nl = nl_model_num_layers(m);
    printf("bench_cifar_step: %s, batch %d, %d threads, %d timed steps\nBLAS: %s\n\n", workload, B,
           threads, steps, nl_blas_info());

    /* ---- 1. per layer ---- */
    nl_layer *L = calloc((size_t)nl, sizeof *L);
    float **act = calloc((size_t)nl + 1, sizeof *act), **scr = calloc((size_t)nl, sizeof *scr);
    float **par = calloc((size_t)nl, sizeof *par), **grd = calloc((size_t)nl, sizeof *grd);
    float **st = calloc((size_t)nl, sizeof *st);
    int h, w, c;
    nl_model_layer_shape(m, -1, &h, &w, &c);
    nl_shape cur = {h, w, c};
    size_t max_act = (size_t)B * nl_shape_size(cur);
    for (int i = 0; i < nl; i++) {
        L[i].spec = *nl_model_layer_spec(m, i);
        L[i].in = cur;
        L[i].ops = nl_layer_ops_find(L[i].spec.kind);
        L[i].opt = copt;
        if (!L[i].ops || L[i].ops->plan(&L[i], &err)) {
            fprintf(stderr, "layer %d: %s\n", i, err.msg);
            return 1;
        }
        cur = L[i].out;
        const size_t a = (size_t)B * nl_shape_size(cur);
        if (a > max_act) max_act = a;
        act[i + 1] = L[i].ops->in_place ? act[i] : falloc(a);
        scr[i] = falloc(L[i].ops->scratch_floats ? L[i].ops->scratch_floats(&L[i], B) : 0);
        par[i] = falloc(L[i].nparams);
        grd[i] = falloc(L[i].nparams);
        st[i] = falloc(L[i].nstate);
        if (L[i].ops->init) L[i].ops->init(&L[i], par[i], st[i], 1234 + (uint64_t)i);
    }
    const int fuse = batchnorm_maxpool_plan(L, nl, !copt.no_fuse); /* the model's rule */
    float *g0 = falloc(max_act), *g1 = falloc(max_act);
    /* A pool of distinct random batches with random labels, cycled: training on
     * one repeated batch would drive the gradients towards zero (denormals). */
    enum { NPOOL = 64 };
    const size_t in_size = (size_t)B * nl_shape_size(L[0].in);
    float *pool = falloc(in_size * NPOOL);
    uint8_t *labels = malloc((size_t)B * NPOOL);
    uint64_t rs = 88172645463325252ULL;
    for (size_t i = 0; i < in_size * NPOOL; i++) {
        rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
        pool[i] = (float)(rs >> 40) * 0x1.0p-24f;
    }
    for (int i = 0; i < B * NPOOL; i++) {
        rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
        labels[i] = (uint8_t)(rs % 10);
    }

    const int warm = 10;
    double *tf = calloc((size_t)nl * steps, sizeof(double));
    double *tb = calloc((size_t)nl * steps, sizeof(double));
    double *tl = calloc((size_t)steps, sizeof(double));
    for (int s = -warm; s < steps; s++) {
        act[0] = pool + (size_t)((s + warm) % NPOOL) * in_size;
        for (int i = 0; i < nl; i++) {
            nl_layer_ctx ctx = make_ctx(act, scr, par, grd, st, i, B, s + warm);
            double t0 = nl_now();
            if (L[i].feeds_next) { /* the conv pools each image as it makes it: its row */
                nl_layer_ctx cb = make_ctx(act, scr, par, grd, st, i + 1, B, s + warm);
                nl_layer_ctx cp = make_ctx(act, scr, par, grd, st, i + 2, B, s + warm);
                const batchnorm_maxpool_args args = {&L[i + 1], &L[i + 2], &cb, &cp, 0};
                ctx.out_fn = batchnorm_maxpool_image, ctx.out_arg = (void *)&args;
                batchnorm_maxpool_begin(&L[i + 1], &cb);
                L[i].ops->forward(&L[i], &ctx);
                double t1 = nl_now();
                batchnorm_maxpool_finish(&L[i + 1], &L[i + 2], &cb, &cp);
                if (s >= 0) {
                    tf[(size_t)i * steps + s] = t1 - t0;
                    tf[(size_t)(i + 1) * steps + s] = nl_now() - t1;
                }
                i += 2;
                continue;
            }
            if (L[i].fused_next) { /* this and the next layer, one row */
                nl_layer_ctx cn = make_ctx(act, scr, par, grd, st, i + 1, B, s + warm);
                batchnorm_maxpool_forward(&L[i], &L[i + 1], &ctx, &cn);
                if (s >= 0) tf[(size_t)i * steps + s] = nl_now() - t0;
                i++;
                continue;
            }
            L[i].ops->forward(&L[i], &ctx);
            if (s >= 0) tf[(size_t)i * steps + s] = nl_now() - t0;
        }
        double t0 = nl_now();
        int correct;
        softmax_xent(act[nl], labels + (size_t)((s + warm) % NPOOL) * B, B, L[nl - 1].spec.units,
                     g0, &correct);
        if (s >= 0) tl[s] = nl_now() - t0;
        float *cur_g = g0, *other = g1;
        for (int i = nl - 1; i >= 0; i--) {
            nl_layer_ctx ctx = make_ctx(act, scr, par, grd, st, i, B, s + warm);
            ctx.dout = cur_g;
            if (i > 0 && L[i - 1].fused_next) { /* the pair: row i - 1 */
                nl_layer_ctx cb = make_ctx(act, scr, par, grd, st, i - 1, B, s + warm);
                t0 = nl_now();
                if (i > 1 && L[i - 2].ops->dout_fn_ok) {
                    batchnorm_maxpool_backward_params(&L[i - 1], &L[i], &cb, &ctx);
                    if (s >= 0) tb[(size_t)(i - 1) * steps + s] = nl_now() - t0;
                    const int relu = L[i - 2].spec.act == NL_ACT_RELU; /* as model.c */
                    const batchnorm_maxpool_args args = {&L[i - 1], &L[i], &cb, &ctx, relu};
                    nl_layer_ctx cc = make_ctx(act, scr, par, grd, st, i - 2, B, s + warm);
                    cc.dout_fn = batchnorm_maxpool_dx_image, cc.dout_arg = (void *)&args;
                    cc.dout_fn_relu = relu;
                    cc.din = i - 2 == 0 ? NULL : other;
                    t0 = nl_now();
                    L[i - 2].ops->backward(&L[i - 2], &cc);
                    if (s >= 0) tb[(size_t)(i - 2) * steps + s] = nl_now() - t0;
                    i -= 2;
                } else {
                    cb.din = i - 1 == 0 ? NULL : other;
                    batchnorm_maxpool_backward(&L[i - 1], &L[i], &cb, &ctx);
                    if (s >= 0) tb[(size_t)(i - 1) * steps + s] = nl_now() - t0;
                    i -= 1;
                }
                float *t = cur_g;
                cur_g = other, other = t;
                continue;
            }
            ctx.din = i == 0 ? NULL : L[i].ops->in_place ? cur_g : other;
            t0 = nl_now();
            L[i].ops->backward(&L[i], &ctx);
            if (s >= 0) tb[(size_t)i * steps + s] = nl_now() - t0;
            if (i > 0 && !L[i].ops->in_place) {
                float *t = cur_g;
                cur_g = other, other = t;
            }
        }
    }
    printf("%-3s %-15s %-12s %10s %10s %10s %10s\n", "#", "layer", "output", "fwd ms", "bwd ms",
           "fwd GF/s", "bwd GF/s");
    double sum_f = 0, sum_b = 0, flops = 0;
    for (int i = 0; i < nl; i++) {
        if (i > 0 && L[i - 1].fused_next) continue; /* in the row of the pair */
        const double f = median(tf + (size_t)i * steps, steps);
        const double b = median(tb + (size_t)i * steps, steps);
        double ff, fb;
        layer_flops(&L[i], i == 0, &ff, &fb);
        char shape[32], name[40];
        const nl_layer *o = L[i].fused_next ? &L[i + 1] : &L[i];
        snprintf(shape, sizeof shape, "%dx%dx%d", o->out.h, o->out.w, o->out.c);
        snprintf(name, sizeof name, "%s%s", L[i].ops->name, L[i].fused_next ? "+pool" : "");
        char gf[16] = "", gb[16] = "";
        if (ff > 0) {
            snprintf(gf, sizeof gf, "%.1f", ff * B / f * 1e-9);
            snprintf(gb, sizeof gb, "%.1f", fb * B / b * 1e-9);
        }
        printf("%-3d %-15s %-12s %10.3f %10.3f %10s %10s\n", i, name, shape, f * 1e3, b * 1e3, gf,
               gb);
        sum_f += f, sum_b += b, flops += (ff + fb) * B;
    }
    const double loss_t = median(tl, steps);
    if (fuse)
        printf("(batchnorm+pool: the pair run as one. A conv2d before it hands it each image's\n"
               " output as it makes it, and makes the pair's input gradient in its own\n"
               " backward: its fwd and bwd ms include that pooling and that gradient.)\n");
    printf("    %-15s %-12s %10.3f\n", "loss", "", loss_t * 1e3);
    printf("    %-15s %-12s %10.3f %10.3f   sum %.3f ms, %.1f MFLOP/step, %.1f GFLOP/s\n\n",
           "total", "", sum_f * 1e3, sum_b * 1e3, (sum_f + sum_b + loss_t) * 1e3, flops * 1e-6,
           flops / (sum_f + sum_b + loss_t) * 1e-9);

    /* ---- 2. whole step through the public API ---- */
    nl_optimizer opt;
    nl_optim_config oc = nl_optim_defaults(NL_OPT_ADAM);
    if (nl_optim_init(&opt, &oc, nl_model_num_params(m), &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    double *ts = calloc((size_t)steps, sizeof(double)), *to = calloc((size_t)steps, sizeof(double));
    for (int s = -warm; s < steps; s++) {
        nl_model_set_step(m, (uint64_t)(s + warm), 1);
        double t0 = nl_now();
        const int k = (s + warm) % NPOOL;
        nl_model_forward(m, pool + (size_t)k * in_size, B, 1);
        int correct;
        nl_model_loss_backward(m, labels + (size_t)k * B, B, 1, &correct);
        double t1 = nl_now();
        nl_optim_step(&opt, nl_model_params(m), nl_model_grads(m));
        double t2 = nl_now();
        if (s >= 0) ts[s] = t2 - t0, to[s] = t2 - t1;
    }
    double best = ts[0], mean = 0;
    for (int s = 0; s < steps; s++) best = ts[s] < best ? ts[s] : best, mean += ts[s] / steps;
    const double step = median(ts, steps), optt = median(to, steps);
    const double nsteps = ceil(50000.0 / B);
    printf("model step (forward + loss + backward + adam): median %.3f ms (adam %.3f ms), %.1f "
           "GFLOP/s; fastest step %.3f ms, %.1f GFLOP/s; mean %.3f ms\n",
           step * 1e3, optt * 1e3, flops / step * 1e-9, best * 1e3, flops / best * 1e-9,
           mean * 1e3);
    printf("projected training time of an epoch (50000 samples, %d steps): %.2f s (median step), "
           "%.2f s (fastest step)\n",
           (int)nsteps, step * nsteps, best * nsteps);
    printf("activation + scratch memory planned for batch %d: %.1f MiB; peak RSS %.1f MiB\n", B,
           nl_model_activation_bytes(m) / 1048576.0, nl_peak_rss_mib());
    nl_optim_free(&opt);
    nl_model_free(m);
    return 0;
}
