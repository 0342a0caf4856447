/* Aggregation: statistics, resampling onto a common grid, the sixth sample. */
#include "nnlab/bench.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const metric_names[NL_BM_COUNT] = {"cpu_pct", "rss_mib", "gpu_pct", "vram_mib"};
static const char *const metric_labels[NL_BM_COUNT] = {"CPU (%, 100 = one core)",
                                                       "RAM: resident memory (MiB)",
                                                       "GPU utilisation (%)", "GPU memory (MiB)"};

const char *nl_bench_metric_name(nl_bench_metric m) {
    return (unsigned)m < NL_BM_COUNT ? metric_names[m] : "?";
}

const char *nl_bench_metric_label(nl_bench_metric m) {
    return (unsigned)m < NL_BM_COUNT ? metric_labels[m] : "?";
}

const char *nl_bench_status_name(nl_bench_status s) {
    switch (s) {
    case NL_BENCH_OK:
        return "ok";
    case NL_BENCH_FAILED:
        return "failed";
    case NL_BENCH_SKIPPED:
        return "skipped";
    }
    return "?";
}

/* ---- statistics -------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void nl_bench_describe(const double *x, size_t n, nl_bench_stat *out) {
    out->n = 0;
    out->mean = out->sd = out->median = out->min = out->max = NAN;
    double *v = malloc((n ? n : 1) * sizeof *v);
    size_t m = 0;
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(x[i])) {
            if (v) v[m] = x[i];
            m++;
            sum += x[i];
        }
    if (m == 0) {
        free(v);
        return;
    }
    out->n = (int)m;
    out->mean = sum / (double)m;
    double ss = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(x[i])) ss += (x[i] - out->mean) * (x[i] - out->mean);
    out->sd = m > 1 ? sqrt(ss / (double)(m - 1)) : NAN;
    if (v) {
        qsort(v, m, sizeof *v, cmp_double);
        out->min = v[0];
        out->max = v[m - 1];
        out->median = m % 2 ? v[m / 2] : 0.5 * (v[m / 2 - 1] + v[m / 2]);
    } else { /* no memory for the sort: min/max still exact, median unknown */
        out->min = INFINITY, out->max = -INFINITY;
        for (size_t i = 0; i < n; i++)
            if (!isnan(x[i])) {
                if (x[i] < out->min) out->min = x[i];
                if (x[i] > out->max) out->max = x[i];
            }
    }
    free(v);
}

double nl_bench_pct_diff(double value, double baseline) {
    if (isnan(value) || isnan(baseline) || !(baseline > 0)) return NAN;
    return 100.0 * (value - baseline) / baseline;
}

/* ---- resampling -------------------------------------------------------------- */

size_t nl_bench_grid_size(double duration, double dt) {
    if (!(dt > 0) || !(duration >= 0) || !isfinite(duration)) return 0;
    return (size_t)floor(duration / dt + 1e-9) + 1;
}

void nl_bench_resample(const double *t, const double *v, size_t n, double t_end, double dt,
                       double *out, size_t ngrid) {
    const double eps = 1e-9;
    size_t i = 0; /* t[i] <= tk < t[i+1] once past the first sample */
    for (size_t k = 0; k < ngrid; k++) {
        const double tk = (double)k * dt;
        if (n == 0 || tk > t_end + eps) {
            out[k] = NAN;
            continue;
        }
        if (tk < t[0]) {
            out[k] = t[0] - tk <= dt + eps ? v[0] : NAN;
            continue;
        }
        while (i + 1 < n && t[i + 1] <= tk) i++;
        if (i + 1 >= n) { /* past the last sample */
            out[k] = tk - t[n - 1] <= dt + eps ? v[n - 1] : NAN;
            continue;
        }
        const double span = t[i + 1] - t[i];
        const double a = span > 0 ? (tk - t[i]) / span : 1.0;
        out[k] = v[i] + a * (v[i + 1] - v[i]); /* NAN in, NAN out */
    }
}

void nl_bench_mean_series(const double *const *series, size_t nruns, size_t ngrid, double *mean,
                          double *sd, int *count) {
    for (size_t k = 0; k < ngrid; k++) {
        double sum = 0;
        int c = 0;
        for (size_t r = 0; r < nruns; r++)
            if (!isnan(series[r][k])) sum += series[r][k], c++;
        double m = c ? sum / c : NAN, ss = 0;
        for (size_t r = 0; r < nruns; r++)
            if (!isnan(series[r][k])) ss += (series[r][k] - m) * (series[r][k] - m);
        if (mean) mean[k] = m;
        if (sd) sd[k] = c > 1 ? sqrt(ss / (c - 1)) : NAN;
        if (count) count[k] = c;
    }
}

/* ---- runs ---------------------------------------------------------------------- */

nl_status nl_bench_run_alloc_samples(nl_bench_run *r, size_t n, nl_error *err) {
    free(r->t);
    r->t = NULL;
    for (int m = 0; m < NL_BM_COUNT; m++) free(r->v[m]), r->v[m] = NULL;
    r->nsamples = 0;
    size_t sz = (n ? n : 1) * sizeof(double);
    r->t = malloc(sz);
    int ok = r->t != NULL;
    for (int m = 0; m < NL_BM_COUNT; m++) ok &= (r->v[m] = malloc(sz)) != NULL;
    if (!ok) {
        nl_bench_run_free(r);
        return nl_error_set(err, NL_ENOMEM, "out of memory for %zu monitor samples", n);
    }
    for (size_t i = 0; i < n; i++) {
        r->t[i] = NAN;
        for (int m = 0; m < NL_BM_COUNT; m++) r->v[m][i] = NAN;
    }
    r->nsamples = n;
    return NL_OK;
}

void nl_bench_run_summarize(nl_bench_run *r) {
    double cpu = 0, gpu = 0, rss = NAN, vram = NAN;
    long ncpu = 0, ngpu = 0;
    const double end = isnan(r->time_to_train_s) ? INFINITY : r->time_to_train_s;
    for (size_t i = 0; i < r->nsamples; i++) {
        const double t = r->t[i];
        const double *const *v = (const double *const *)r->v;
        if (!isnan(v[NL_BM_RSS][i]) && !(v[NL_BM_RSS][i] <= rss)) rss = v[NL_BM_RSS][i];
        if (!isnan(v[NL_BM_VRAM][i]) && !(v[NL_BM_VRAM][i] <= vram)) vram = v[NL_BM_VRAM][i];
        /* a sample at t covers (t - interval, t]: the window is (0, end], plus the
           sample that straddles its end */
        if (t > 0 && (t <= end || i == 0 || r->t[i - 1] < end)) {
            if (!isnan(v[NL_BM_CPU][i])) cpu += v[NL_BM_CPU][i], ncpu++;
            if (!isnan(v[NL_BM_GPU][i])) gpu += v[NL_BM_GPU][i], ngpu++;
        }
    }
    r->cpu_mean_pct = ncpu ? cpu / ncpu : NAN;
    r->gpu_mean_pct = ngpu ? gpu / ngpu : NAN;
    r->rss_peak_mib = isnan(rss) && r->reported_rss_peak_mib > 0 ? r->reported_rss_peak_mib : rss;
    r->vram_peak_mib = vram;
}

void nl_bench_run_free(nl_bench_run *r) {
    if (!r) return;
    free(r->t);
    r->t = NULL;
    for (int m = 0; m < NL_BM_COUNT; m++) free(r->v[m]), r->v[m] = NULL;
    r->nsamples = 0;
}

/* ---- groups -------------------------------------------------------------------- */

static void group_free_series(nl_bench_group *g) {
    for (int m = 0; m < NL_BM_COUNT; m++) {
        free(g->mean[m]), g->mean[m] = NULL;
        free(g->sd[m]), g->sd[m] = NULL;
    }
    free(g->count);
    g->count = NULL;
    g->ngrid = 0;
}

static double nan_mean(const double *x, size_t n) {
    double s = 0;
    int c = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(x[i])) s += x[i], c++;
    return c ? s / c : NAN;
}

/* The runs under load: their time, speed and background, over the OK ones. */
static nl_status aggregate_load(nl_bench_group *g, nl_error *err) {
    const size_t n = g->nload_runs;
    g->load_runs_ok = g->load_runs_failed = 0;
    double *col = calloc(3 * (n ? n : 1), sizeof *col);
    if (!col) return nl_error_set(err, NL_ENOMEM, "out of memory aggregating %s", g->contestant);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        nl_bench_run *r = &g->load_runs[i];
        if (r->status == NL_BENCH_FAILED) g->load_runs_failed++;
        if (r->status != NL_BENCH_OK) continue;
        g->load_runs_ok++;
        nl_bench_run_summarize(r);
        col[m] = r->time_to_train_s;
        col[n + m] = r->samples_per_s;
        col[2 * n + m] = r->background_cpu_pct;
        m++;
    }
    nl_bench_describe(col, m, &g->load_time_to_train);
    nl_bench_describe(col + n, m, &g->load_samples_per_s);
    nl_bench_describe(col + 2 * n, m, &g->load_background_cpu);
    free(col);
    return NL_OK;
}

nl_status nl_bench_group_aggregate(nl_bench_group *g, double dt, nl_error *err) {
    if (!(dt > 0)) return nl_error_set(err, NL_EINVAL, "grid step must be > 0 (got %g)", dt);
    nl_status lst = aggregate_load(g, err);
    if (lst) return lst;
    group_free_series(g);
    g->dt = dt;
    g->runs_ok = g->runs_failed = 0;
    g->epochs = 0;
    const size_t n = g->nruns;
    double *col = calloc(11 * (n ? n : 1), sizeof *col);
    if (!col) return nl_error_set(err, NL_ENOMEM, "out of memory aggregating %s", g->contestant);
    double *tt = col, *acc = col + n, *sps = col + 2 * n, *rss = col + 3 * n, *cpu = col + 4 * n,
           *vram = col + 5 * n, *gpu = col + 6 * n, *start = col + 7 * n, *wall = col + 8 * n,
           *tmp = col + 9 * n, *bg = col + 10 * n;
    size_t m = 0; /* OK runs */
    int found_version = 0;
    g->framework_version[0] = g->python_version[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        nl_bench_run *r = &g->runs[i];
        if (r->status == NL_BENCH_FAILED) g->runs_failed++;
        if (r->status != NL_BENCH_OK) continue;
        g->runs_ok++;
        nl_bench_run_summarize(r);
        tt[m] = r->time_to_train_s;
        acc[m] = r->epochs > 0 ? r->test_accuracy[r->epochs - 1] : NAN;
        sps[m] = r->samples_per_s;
        rss[m] = r->rss_peak_mib;
        cpu[m] = r->cpu_mean_pct;
        vram[m] = r->vram_peak_mib;
        gpu[m] = r->gpu_mean_pct;
        start[m] = r->startup_s;
        wall[m] = r->wall_s;
        bg[m] = r->background_cpu_pct;
        if (r->epochs > g->epochs) g->epochs = r->epochs;
        if (!g->python_version[0] && r->python_version[0])
            snprintf(g->python_version, sizeof g->python_version, "%s", r->python_version);
        if (!found_version && r->framework_version[0]) {
            snprintf(g->framework_version, sizeof g->framework_version, "%s", r->framework_version);
            found_version = 1;
        }
        m++;
    }
    nl_bench_describe(tt, m, &g->time_to_train);
    nl_bench_describe(acc, m, &g->accuracy);
    nl_bench_describe(sps, m, &g->samples_per_s);
    nl_bench_describe(rss, m, &g->rss_peak);
    nl_bench_describe(cpu, m, &g->cpu_mean);
    nl_bench_describe(vram, m, &g->vram_peak);
    nl_bench_describe(gpu, m, &g->gpu_mean);
    nl_bench_describe(start, m, &g->startup);
    nl_bench_describe(wall, m, &g->wall);
    nl_bench_describe(bg, m, &g->background_cpu);

    /* per epoch: accuracy and phases, over the OK runs that logged the epoch */
#define OVER_OK(expr)                                                                              \
    do {                                                                                           \
        size_t j_ = 0;                                                                             \
        for (size_t i_ = 0; i_ < n; i_++) {                                                        \
            const nl_bench_run *r = &g->runs[i_];                                                  \
            if (r->status == NL_BENCH_OK) tmp[j_++] = (expr);                                      \
        }                                                                                          \
    } while (0)
    for (int e = 0; e < g->epochs; e++) {
        nl_bench_stat s;
        OVER_OK(e < r->epochs ? r->test_accuracy[e] : NAN);
        nl_bench_describe(tmp, m, &s);
        g->acc_mean[e] = s.mean;
        g->acc_sd[e] = s.sd;
        OVER_OK(e < r->epochs ? r->epoch_start_s[e] : NAN);
        g->epoch_start_mean[e] = nan_mean(tmp, m);
        OVER_OK(e < r->epochs ? r->epoch_stop_s[e] : NAN);
        g->epoch_stop_mean[e] = nan_mean(tmp, m);
        OVER_OK(e < r->epochs ? r->eval_s[e] : NAN);
        g->eval_mean[e] = nan_mean(tmp, m);
    }
    OVER_OK(r->data_loaded_s);
    g->data_loaded_mean = nan_mean(tmp, m);
#undef OVER_OK
    free(col);

    /* the sixth sample: grid sized for the longest OK run */
    double longest = NAN;
    for (size_t i = 0; i < n; i++)
        if (g->runs[i].status == NL_BENCH_OK && !isnan(g->runs[i].time_to_train_s) &&
            !(g->runs[i].time_to_train_s <= longest))
            longest = g->runs[i].time_to_train_s;
    const size_t ng = m ? nl_bench_grid_size(longest, dt) : 0;
    if (ng == 0) return NL_OK;
    double **series = calloc(m, sizeof *series);
    double *buf = malloc(m * ng * sizeof *buf);
    g->count = malloc(ng * sizeof *g->count);
    int ok = series && buf && g->count;
    for (int k = 0; k < NL_BM_COUNT && ok; k++) {
        ok &= (g->mean[k] = malloc(ng * sizeof(double))) != NULL;
        ok &= (g->sd[k] = malloc(ng * sizeof(double))) != NULL;
    }
    if (!ok) {
        free(series);
        free(buf);
        group_free_series(g);
        return nl_error_set(err, NL_ENOMEM, "out of memory for the mean series of %s",
                            g->contestant);
    }
    g->ngrid = ng;
    for (size_t j = 0; j < m; j++) series[j] = buf + j * ng;
    for (int k = 0; k < NL_BM_COUNT; k++) {
        size_t j = 0;
        for (size_t i = 0; i < n; i++) {
            const nl_bench_run *r = &g->runs[i];
            if (r->status != NL_BENCH_OK) continue;
            nl_bench_resample(r->t, r->v[k], r->nsamples, r->time_to_train_s, dt, series[j], ng);
            j++;
        }
        nl_bench_mean_series((const double *const *)series, m, ng, g->mean[k], g->sd[k],
                             k == 0 ? g->count : NULL);
    }
    free(series);
    free(buf);
    return NL_OK;
}

void nl_bench_apply_baseline(nl_bench_group *groups, size_t ngroups, const char *baseline) {
    for (size_t i = 0; i < ngroups; i++) {
        nl_bench_group *g = &groups[i];
        g->pct_vs_baseline = NAN;
        g->is_baseline = baseline && !strcmp(g->contestant, baseline);
        if (!baseline) continue;
        for (size_t j = 0; j < ngroups; j++) {
            const nl_bench_group *b = &groups[j];
            if (strcmp(b->workload, g->workload) || strcmp(b->contestant, baseline)) continue;
            g->pct_vs_baseline = nl_bench_pct_diff(g->time_to_train.mean, b->time_to_train.mean);
            break;
        }
    }
}

void nl_bench_group_free(nl_bench_group *g) {
    if (!g) return;
    for (size_t i = 0; i < g->nruns; i++) nl_bench_run_free(&g->runs[i]);
    free(g->runs);
    g->runs = NULL;
    g->nruns = 0;
    for (size_t i = 0; i < g->nload_runs; i++) nl_bench_run_free(&g->load_runs[i]);
    free(g->load_runs);
    g->load_runs = NULL;
    g->nload_runs = 0;
    group_free_series(g);
}
