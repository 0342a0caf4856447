/* sgemm_peak: the machine's single-precision GEMM speed with the BLAS nnlab links.
 *
 * Measures cblas_sgemm in GFLOP/s (2*M*N*K per call) for 1 and 2 threads (or
 * --threads LIST) on large square matrices, whose best figure is taken as the
 * machine's SGEMM peak, and on the GEMM shapes of the workloads with batch 32:
 * the cifar10 convolutions as im2col GEMMs over the whole batch (NHWC: rows are
 * output pixels of all images, columns output channels) forward, weight gradient
 * and input gradient, and the dense layers of cifar10 and mnist. Each figure is
 * the best of several repetitions, each repetition long enough (--min-time) to
 * be timed well. The peak gives the floor for an epoch (design.md: a cifar10
 * epoch is about 1.2 TFLOP, an mnist epoch about 0.41 MFLOP x 60000).
 *
 *     sgemm_peak [--threads 1,2] [--reps 5] [--min-time 0.2] [--out FILE.md]
 */
#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "blas_env.h"

#define MAX_THREADS_LIST 8

typedef struct shape {
    const char *name;
    int m, n, k;
    int ta, tb; /* A (m x k) stored transposed; B (k x n) stored transposed */
    int square; /* counts for the peak */
} shape;

/* Row-major C[m x n] = op(A)[m x k] * op(B)[k x n]; batch 32, NHWC im2col. */
static const shape shapes[] = {
    {"square 256", 256, 256, 256, 0, 0, 1},
    {"square 512", 512, 512, 512, 0, 0, 1},
    {"square 1024", 1024, 1024, 1024, 0, 0, 1},
    {"square 2048", 2048, 2048, 2048, 0, 0, 1},
    {"square 4096", 4096, 4096, 4096, 0, 0, 1},
    /* cifar10 conv1: 3x32x32 -> 32x30x30, K = 3*3*3 */
    {"cifar10 conv1 forward", 32 * 30 * 30, 32, 27, 0, 0, 0},
    {"cifar10 conv1 weight grad", 27, 32, 32 * 30 * 30, 1, 0, 0},
    /* cifar10 conv2: 32x15x15 -> 64x13x13, K = 32*3*3 */
    {"cifar10 conv2 forward", 32 * 13 * 13, 64, 288, 0, 0, 0},
    {"cifar10 conv2 weight grad", 288, 64, 32 * 13 * 13, 1, 0, 0},
    {"cifar10 conv2 input grad", 32 * 13 * 13, 288, 64, 0, 1, 0},
    /* cifar10 dense 2304 -> 64 */
    {"cifar10 dense1 forward", 32, 64, 2304, 0, 0, 0},
    {"cifar10 dense1 weight grad", 2304, 64, 32, 1, 0, 0},
    {"cifar10 dense1 input grad", 32, 2304, 64, 0, 1, 0},
    /* mnist dense 784 -> 128 */
    {"mnist dense1 forward", 32, 128, 784, 0, 0, 0},
    {"mnist dense1 weight grad", 784, 128, 32, 1, 0, 0},
};
#define NSHAPES ((int)(sizeof shapes / sizeof shapes[0]))

/* Total and idle jiffies of all CPUs (/proc/stat). */
static int cpu_jiffies(unsigned long long *total, unsigned long long *idle) {
    FILE *f = fopen("/proc/stat", "r");
    if (!f) return -1;
    unsigned long long v[8] = {0};
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                   &v[4], &v[5], &v[6], &v[7]);
    fclose(f);
    if (n < 4) return -1;
    *total = 0;
    for (int i = 0; i < n; i++) *total += v[i];
    *idle = v[3] + (n > 4 ? v[4] : 0);
    return 0;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static float *rand_matrix(size_t n, unsigned *seed) {
    float *p = malloc(n * sizeof *p);
    if (!p) {
        fprintf(stderr, "sgemm_peak: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++) {
        *seed = *seed * 1664525u + 1013904223u;
        p[i] = (float)((*seed >> 8) & 0xffff) / 65536.0f - 0.5f;
    }
    return p;
}

static void gemm(const shape *s, const float *a, const float *b, float *c) {
    int lda = s->ta ? s->m : s->k;
    int ldb = s->tb ? s->k : s->n;
    cblas_sgemm(CblasRowMajor, s->ta ? CblasTrans : CblasNoTrans, s->tb ? CblasTrans : CblasNoTrans,
                s->m, s->n, s->k, 1.0f, a, lda, b, ldb, 0.0f, c, s->n);
}

/* Best GFLOP/s over reps repetitions of at least min_time seconds each. */
static double measure(const shape *s, int reps, double min_time) {
    unsigned seed = 12345;
    float *a = rand_matrix((size_t)s->m * (size_t)s->k, &seed);
    float *b = rand_matrix((size_t)s->k * (size_t)s->n, &seed);
    float *c = rand_matrix((size_t)s->m * (size_t)s->n, &seed);
    double flop = 2.0 * s->m * s->n * s->k;
    gemm(s, a, b, c); /* warm-up: thread start, page faults */
    double t0 = now_s();
    gemm(s, a, b, c);
    double one = now_s() - t0;
    long calls = one > 0 ? (long)(min_time / one) + 1 : 1000;
    if (calls < 1) calls = 1;
    double best = 0;
    for (int r = 0; r < reps; r++) {
        t0 = now_s();
        for (long i = 0; i < calls; i++) gemm(s, a, b, c);
        double dt = now_s() - t0;
        double g = flop * (double)calls / dt * 1e-9;
        if (g > best) best = g;
    }
    free(a);
    free(b);
    free(c);
    return best;
}

static void usage(FILE *f) {
    fprintf(f, "Usage: sgemm_peak [--threads LIST] [--reps N] [--min-time S] [--quick] "
               "[--out FILE]\n\n"
               "SGEMM GFLOP/s of the linked BLAS: large squares (the peak) and the GEMM\n"
               "shapes of the cifar10 and mnist workloads at batch 32.\n\n"
               "  --threads LIST  thread counts (default 1,2)\n"
               "  --reps N        repetitions, the best counts (default 5)\n"
               "  --min-time S    seconds per repetition at least (default 0.2)\n"
               "  --quick         skip square 4096\n"
               "  --out FILE      also write the Markdown table to FILE\n");
}

static void report(FILE *f, int nthr, const int *thr, double res[][MAX_THREADS_LIST],
                   const int *skip, int reps, double min_time, const double *other) {
    struct utsname u;
    if (uname(&u)) memset(&u, 0, sizeof u);
    char model[256] = "unknown CPU", line[512];
    FILE *ci = fopen("/proc/cpuinfo", "r");
    if (ci) {
        while (fgets(line, sizeof line, ci))
            if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
                char *c = strchr(line, ':') + 2;
                c[strcspn(c, "\n")] = 0;
                snprintf(model, sizeof model, "%s", c);
                break;
            }
        fclose(ci);
    }
    fprintf(f, "# SGEMM peak\n\n- machine: %s, %ld CPUs online, %s %s\n", model,
            sysconf(_SC_NPROCESSORS_ONLN), u.sysname, u.release);
    fprintf(f, "- BLAS: OpenBLAS %s (core %s)\n", openblas_get_config(), openblas_get_corename());
    fprintf(f,
            "- cblas_sgemm, row-major, float32; GFLOP/s = 2*M*N*K / time; best of %d "
            "repetitions of >= %.2f s each\n\n",
            reps, min_time);
    fprintf(f, "| shape | M | N | K | op(A) op(B) |");
    for (int t = 0; t < nthr; t++)
        fprintf(f, " %d thread%s GFLOP/s |", thr[t], thr[t] > 1 ? "s" : "");
    fprintf(f, "\n|---|---:|---:|---:|---|");
    for (int t = 0; t < nthr; t++) fprintf(f, "---:|");
    fprintf(f, "\n");
    double peak[MAX_THREADS_LIST] = {0};
    for (int i = 0; i < NSHAPES; i++) {
        if (skip[i]) continue;
        const shape *s = &shapes[i];
        fprintf(f, "| %s | %d | %d | %d | %s %s |", s->name, s->m, s->n, s->k, s->ta ? "T" : "N",
                s->tb ? "T" : "N");
        for (int t = 0; t < nthr; t++) {
            fprintf(f, " %.1f |", res[i][t]);
            if (s->square && res[i][t] > peak[t]) peak[t] = res[i][t];
        }
        fprintf(f, "\n");
    }
    fprintf(f, "\n| threads | SGEMM peak GFLOP/s | cifar10 epoch floor (1.2 TFLOP) "
               "| mnist epoch floor (0.41 MFLOP x 60000) | other load %% |\n"
               "|---:|---:|---:|---:|---:|\n");
    for (int t = 0; t < nthr; t++)
        fprintf(f, "| %d | %.1f | %.2f s | %.3f s | %.0f |\n", thr[t], peak[t],
                1.2e12 / (peak[t] * 1e9), 0.41e6 * 60000.0 / (peak[t] * 1e9), other[t]);
    fprintf(f, "\nOther load: the share of the machine's CPU used by other processes while "
               "the row was measured (the machine's busy time less this program's); figures "
               "measured with much other load are too low.\n");
}

int main(int argc, char **argv) {
    bench_fix_blas_core(argv);
    int thr[MAX_THREADS_LIST] = {1, 2}, nthr = 2, reps = 5, quick = 0;
    double min_time = 0.2;
    const char *out = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--quick")) {
            quick = 1;
        } else if (i + 1 < argc && !strcmp(a, "--threads")) {
            char buf[128];
            snprintf(buf, sizeof buf, "%s", argv[++i]);
            nthr = 0;
            for (char *p = strtok(buf, ","); p && nthr < MAX_THREADS_LIST; p = strtok(NULL, ","))
                thr[nthr++] = atoi(p);
            for (int t = 0; t < nthr; t++)
                if (thr[t] < 1) {
                    fprintf(stderr, "sgemm_peak: bad thread count in --threads\n");
                    return 2;
                }
            if (!nthr) {
                fprintf(stderr, "sgemm_peak: empty --threads\n");
                return 2;
            }
        } else if (i + 1 < argc && !strcmp(a, "--reps")) {
            reps = atoi(argv[++i]);
            if (reps < 1) {
                fprintf(stderr, "sgemm_peak: --reps must be >= 1\n");
                return 2;
            }
        } else if (i + 1 < argc && !strcmp(a, "--min-time")) {
            min_time = atof(argv[++i]);
            if (!(min_time > 0)) {
                fprintf(stderr, "sgemm_peak: --min-time must be > 0\n");
                return 2;
            }
        } else if (i + 1 < argc && !strcmp(a, "--out")) {
            out = argv[++i];
        } else {
            fprintf(stderr, "sgemm_peak: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }

    static double res[NSHAPES][MAX_THREADS_LIST];
    double other[MAX_THREADS_LIST];
    int skip[NSHAPES] = {0};
    for (int i = 0; i < NSHAPES; i++) skip[i] = quick && shapes[i].m == 4096;
    /* Each thread count in a child process of its own: OpenBLAS and the OpenMP runtime
     * size their pools and buffers on first use, and a pool first used with one thread
     * measures two threads badly. */
    for (int t = 0; t < nthr; t++) {
        int fds[2];
        if (pipe(fds)) {
            fprintf(stderr, "sgemm_peak: pipe: %s\n", strerror(errno));
            return 1;
        }
        fflush(stdout);
        fflush(stderr);
        unsigned long long jt0 = 0, ji0 = 0, jt1 = 0, ji1 = 0;
        int have_j = cpu_jiffies(&jt0, &ji0) == 0;
        pid_t pid = fork();
        if (pid < 0) {
            fprintf(stderr, "sgemm_peak: fork: %s\n", strerror(errno));
            return 1;
        }
        if (pid == 0) {
            close(fds[0]);
            openblas_set_num_threads(thr[t]);
            omp_set_num_threads(thr[t]);
            for (int i = 0; i < NSHAPES; i++) {
                double g = skip[i] ? 0.0 : measure(&shapes[i], reps, min_time);
                if (!skip[i])
                    fprintf(stderr, "%d thread(s) %-34s %8.1f GFLOP/s\n", thr[t], shapes[i].name,
                            g);
                if (write(fds[1], &g, sizeof g) != (ssize_t)sizeof g) _exit(1);
            }
            _exit(0);
        }
        close(fds[1]);
        for (int i = 0; i < NSHAPES; i++) {
            double g = NAN;
            size_t got = 0;
            while (got < sizeof g) {
                ssize_t n = read(fds[0], (char *)&g + got, sizeof g - got);
                if (n < 0 && errno == EINTR) continue;
                if (n <= 0) break;
                got += (size_t)n;
            }
            res[i][t] = got == sizeof g ? g : NAN;
        }
        close(fds[0]);
        int st = 0;
        struct rusage ru;
        memset(&ru, 0, sizeof ru);
        while (wait4(pid, &st, 0, &ru) < 0 && errno == EINTR) {
        }
        other[t] = NAN;
        if (have_j && cpu_jiffies(&jt1, &ji1) == 0 && jt1 > jt0) {
            double hz = (double)sysconf(_SC_CLK_TCK), all = (double)(jt1 - jt0) / hz;
            double busy = all - (double)(ji1 - ji0) / hz;
            double mine = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
                          (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
            other[t] = 100.0 * (busy > mine ? busy - mine : 0) / all;
        }
        if (!WIFEXITED(st) || WEXITSTATUS(st)) {
            fprintf(stderr, "sgemm_peak: the measurement with %d thread(s) failed\n", thr[t]);
            return 1;
        }
    }
    report(stdout, nthr, thr, res, skip, reps, min_time, other);
    if (out) {
        FILE *f = fopen(out, "w");
        if (!f) {
            fprintf(stderr, "sgemm_peak: cannot write %s: %s\n", out, strerror(errno));
            return 1;
        }
        report(f, nthr, thr, res, skip, reps, min_time, other);
        fclose(f);
    }
    return 0;
}
