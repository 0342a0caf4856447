/* bench_cifar_step: where the time of a cifar10 training step goes.
 *
 *   bench_cifar_step [--batch N] [--steps N] [--threads N] [--workload NAME|FILE.nnm]
 *
 * 1. Per step: the compiled model's own steps (model/steps.h: a layer, or
 *    layers the model runs as one, such as a convolution with the batch norm
 *    and max pool after it) run one at a time, so each can be timed, on random
 *    data; forward and backward time per training step, GFLOP/s of the steps
 *    with convolution and dense layers. NNLAB_FUSE=0 compiles one layer per
 *    step.
 * 2. Whole step through the public API (forward, loss + backward, Adam), the
 *    figure an epoch is made of; projected epoch time for 50000 samples.
 * Numbers are medians over the timed steps, and for the whole step also the
 * fastest step (the development machine is shared: medians and minima are
 * steadier than means). Output: a table on stdout. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/steps.h"
#include "nnlab/core.h"
#include "nnlab/model.h"
#include "nnlab/optim.h"
#include "blas_env.h"

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

/* Multiply-adds x2 of forward and backward for one sample of layer i. */
static void layer_flops(const nl_model *m, int i, double *fwd, double *bwd) {
    const nl_layer_spec *s = nl_model_layer_spec(m, i);
    int ih, iw, ic, oh, ow, oc;
    nl_model_layer_shape(m, i - 1, &ih, &iw, &ic);
    nl_model_layer_shape(m, i, &oh, &ow, &oc);
    *fwd = *bwd = 0;
    if (s->kind == NL_LAYER_CONV2D) {
        const double k = (double)s->kernel * s->kernel * ic;
        *fwd = 2.0 * oh * ow * oc * k;
        *bwd = *fwd * (i == 0 ? 1 : 2);
    } else if (s->kind == NL_LAYER_DENSE) {
        *fwd = 2.0 * (double)ih * iw * ic * s->units;
        *bwd = *fwd * (i == 0 ? 1 : 2);
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
            fprintf(stderr, "usage: %s [--batch N] [--steps N] [--threads N] [--workload NAME|FILE.nnm]\n",
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
    const size_t wl = strlen(workload);
    nl_nnm file;
    if (wl > 4 && !strcmp(workload + wl - 4, ".nnm")) { /* a model file */
        if (nl_nnm_load(workload, &file, &err) || nl_nnm_build(&file, 0, &m, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
    } else if (nl_workload_build(workload, &m, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    if (nl_model_set_options(m, &copt, &err) || nl_model_compile(m, B, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    const int ns = nl_model_num_steps(m);
    printf("bench_cifar_step: %s, batch %d, %d threads, %d timed steps\nBLAS: %s\n\n", workload, B,
           threads, steps, nl_blas_info());

    /* ---- 1. per step ---- */
    /* A pool of distinct random batches with random labels, cycled: training on
     * one repeated batch would drive the gradients towards zero (denormals). */
    enum { NPOOL = 64 };
    const size_t in_size = (size_t)B * nl_model_input_size(m);
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
    double *tf = calloc((size_t)ns * steps, sizeof(double));
    double *tb = calloc((size_t)ns * steps, sizeof(double));
    double *tl = calloc((size_t)steps, sizeof(double));
    for (int s = -warm; s < steps; s++) {
        const int k = (s + warm) % NPOOL;
        const float *x = pool + (size_t)k * in_size;
        nl_model_set_step(m, (uint64_t)(s + warm), 1);
        for (int j = 0; j < ns; j++) {
            const double t0 = nl_now();
            nl_model_step_forward(m, j, x, B, 1);
            if (s >= 0) tf[(size_t)j * steps + s] = nl_now() - t0;
        }
        double t0 = nl_now();
        int correct;
        nl_model_loss(m, labels + (size_t)k * B, B, 1, &correct);
        if (s >= 0) tl[s] = nl_now() - t0;
        for (int j = ns - 1; j >= 0; j--) {
            t0 = nl_now();
            nl_model_step_backward(m, j, B);
            if (s >= 0) tb[(size_t)j * steps + s] = nl_now() - t0;
        }
    }
    printf("%-3s %-15s %-12s %10s %10s %10s %10s\n", "#", "step", "output", "fwd ms", "bwd ms",
           "fwd GF/s", "bwd GF/s");
    double sum_f = 0, sum_b = 0, flops = 0;
    int fused = 0;
    for (int j = 0; j < ns; j++) {
        const double f = median(tf + (size_t)j * steps, steps);
        const double b = median(tb + (size_t)j * steps, steps);
        int first, count, oh, ow, oc;
        nl_model_step_layers(m, j, &first, &count);
        double ff = 0, fb = 0;
        for (int i = first; i < first + count; i++) {
            double lf, lb;
            layer_flops(m, i, &lf, &lb);
            ff += lf, fb += lb;
        }
        fused |= count > 1;
        nl_model_layer_shape(m, first + count - 1, &oh, &ow, &oc);
        char shape[32];
        snprintf(shape, sizeof shape, "%dx%dx%d", oh, ow, oc);
        char gf[16] = "", gb[16] = "";
        if (ff > 0) {
            snprintf(gf, sizeof gf, "%.1f", ff * B / f * 1e-9);
            snprintf(gb, sizeof gb, "%.1f", fb * B / b * 1e-9);
        }
        printf("%-3d %-15s %-12s %10.3f %10.3f %10s %10s\n", first, nl_model_step_name(m, j), shape,
               f * 1e3, b * 1e3, gf, gb);
        sum_f += f, sum_b += b, flops += (ff + fb) * B;
    }
    const double loss_t = median(tl, steps);
    if (fused)
        printf("(a step of several layers runs them as one; # is its first layer. conv2d+bn+pool:\n"
               " the convolution hands the pair each image's output as it makes it, and makes\n"
               " the pair's input gradient in its own backward.)\n");
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
