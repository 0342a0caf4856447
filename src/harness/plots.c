/* The bench's figures, drawn by gnuplot (st_gnuplot; data inline as datablocks):
 *   usage_<c>_<w>       one contestant on one workload: CPU, RAM (GPU, GPU memory)
 *                       over time, every run thin and the mean bold (study figs 5-8)
 *   compare_<w>_<m>     one metric, the contestants' means side by side (figs 9-16)
 *   time                time-to-train per workload, mean with sd error bars and runs
 *   accuracy            test accuracy after every epoch, mean +- sd
 * Each as figures/NAME.png and figures/NAME.svg, with figures/NAME.gp (the script:
 * `cd figures && gnuplot NAME.gp` redraws it) and figures/index.txt (the list). */
#include "harness/harness_internal.h"
#include "stats/stats_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct plotter {
    char dir[4096]; /* out_dir/figures */
    int cairo;      /* pngcairo available */
    sbuf index;     /* figures/index.txt */
    int drawn, failed;
    char first_error[512];
} plotter;

/* gnuplot string in double quotes (\" \\ escaped; newlines dropped). */
static void gp_str(sbuf *b, const char *s) {
    sb_puts(b, "\"");
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') sb_puts(b, "\\");
        if (*s == '\n') continue;
        sb_putn(b, s, 1);
    }
    sb_puts(b, "\"");
}

static void gp_num(sbuf *b, double v) {
    if (isfinite(v))
        sb_printf(b, " %.6g", v);
    else
        sb_puts(b, " NaN");
}

/* Runs a gnuplot script (pre, then script) in dir; returns 0 on success. */
static int run_gnuplot(const char *dir, const char *script, const char *pre, char *msg,
                       size_t msgn) {
    sbuf all;
    sb_init(&all);
    if (pre) sb_puts(&all, pre);
    sb_puts(&all, script);
    if (all.oom) {
        sb_free(&all);
        snprintf(msg, msgn, "out of memory");
        return -1;
    }
    int r = st_gnuplot(dir, all.s, all.len, msg, msgn);
    sb_free(&all);
    return r == 0 ? 0 : -1;
}

static void terminal(sbuf *b, const plotter *pl, int svg, int w, int h) {
    if (svg)
        sb_printf(b, "set terminal svg size %d,%d font 'Sans,12' noenhanced background '#ffffff'\n",
                  w, h);
    else if (pl->cairo)
        sb_printf(b, "set terminal pngcairo size %d,%d font 'Sans,10' noenhanced\n", w, h);
    else
        sb_printf(b, "set terminal png size %d,%d noenhanced\n", w, h);
}

/* Draws the figure (datablocks + terminal-independent commands) as NAME.png
 * and NAME.svg; saves the script as NAME.gp. */
static void draw(plotter *pl, const char *name, const sbuf *data, const sbuf *cmds, int w, int h,
                 const char *section, const char *title, const char *caption) {
    char msg[512] = "";
    sbuf s;
    sb_init(&s);
    sb_printf(&s, "# nnlab bench figure: %s\n# redraw: gnuplot %s.gp (in this directory)\n", title,
              name);
    sb_printf(&s, "if (!exists(\"out\")) out = \"%s\"\nset encoding utf8\n", name);
    sb_puts(&s, "set datafile missing 'NaN'\n");
    sb_puts(&s, data->s ? data->s : "");
    for (int svg = 0; svg < 2; svg++) {
        sb_printf(&s, "\n# ---- %s ----\n", svg ? "SVG" : "PNG");
        terminal(&s, pl, svg, w, h);
        sb_printf(&s, "set output out.'%s'\n", svg ? ".svg" : ".png");
        sb_puts(&s, cmds->s ? cmds->s : "");
        sb_puts(&s, "unset output\n");
    }
    char gp[4300], tmpname[300];
    snprintf(gp, sizeof gp, "%s/%s.gp", pl->dir, name);
    snprintf(tmpname, sizeof tmpname, "out = '%s.tmp'\n", name);
    nl_error e2 = {0};
    int ok = !s.oom && !bench_write_file(gp, s.s, s.len, &e2);
    if (!ok) bench_strf(msg, sizeof msg, "%s", s.oom ? "out of memory" : e2.msg);
    if (ok) ok = !run_gnuplot(pl->dir, s.s, tmpname, msg, sizeof msg);
    for (int svg = 0; ok && svg < 2; svg++) {
        char from[4400], to[4400];
        snprintf(from, sizeof from, "%s/%s.tmp%s", pl->dir, name, svg ? ".svg" : ".png");
        snprintf(to, sizeof to, "%s/%s%s", pl->dir, name, svg ? ".svg" : ".png");
        struct stat sb;
        if (stat(from, &sb) != 0 || sb.st_size == 0 || rename(from, to) != 0) {
            bench_strf(msg, sizeof msg, "gnuplot wrote no %s", to);
            ok = 0;
        }
    }
    if (ok) {
        pl->drawn++;
        sb_printf(&pl->index, "%s\t%s\t%s\t%s\n", section, name, title, caption);
    } else {
        pl->failed++;
        if (!pl->first_error[0])
            bench_strf(pl->first_error, sizeof pl->first_error, "%s: %s", name, msg);
        for (int svg = 0; svg < 2; svg++) {
            char from[4400];
            snprintf(from, sizeof from, "%s/%s.tmp%s", pl->dir, name, svg ? ".svg" : ".png");
            unlink(from);
        }
    }
    sb_free(&s);
}

/* ---- the figures --------------------------------------------------------------------- */

static int group_has_gpu(const nl_bench_group *g) {
    for (size_t k = 0; k < g->ngrid; k++)
        if (!isnan(g->mean[NL_BM_GPU][k]) || !isnan(g->mean[NL_BM_VRAM][k])) return 1;
    return 0;
}

/* The time axis of a group: its mean grid or its longest run, never an empty range
   (a run shorter than one sampling interval has a one-point grid). */
static double group_xmax(const nl_bench_group *g) {
    double x = g->ngrid ? (double)(g->ngrid - 1) * g->dt : 0;
    for (size_t r = 0; r < g->nruns; r++)
        if (g->runs[r].status == NL_BENCH_OK && g->runs[r].time_to_train_s > x)
            x = g->runs[r].time_to_train_s;
    return x > 0 ? x : g->dt > 0 ? g->dt : 0.1;
}

/* Lines need two points: a short mean grid is drawn with its points marked. */
static const char *mean_style(const nl_bench_group *g) {
    return g->ngrid < 3 ? "linespoints pt 7 ps 0.6" : "lines";
}

static size_t contestant_index(const nl_bench_config *cfg, const char *name) {
    for (size_t i = 0; i < cfg->ncontestants; i++)
        if (!strcmp(cfg->contestants[i].name, name)) return i;
    return 0;
}

static void fig_line(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fig_line(sbuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(b, fmt, ap);
    va_end(ap);
    sb_puts(b, "\n");
}

static void phase_objects(sbuf *b, const nl_bench_group *g) {
    int obj = 1;
    if (isfinite(g->data_loaded_mean) && g->data_loaded_mean > 0) {
        fig_line(b,
                 "set object %d rect from 0, graph 0 to %.4f, graph 1 fc rgb '#e8e8e8' "
                 "fs solid 1.0 noborder behind",
                 obj++, g->data_loaded_mean);
    }
    for (int e = 0; e < g->epochs && e < NL_BENCH_MAX_EPOCHS; e++) {
        double a = g->epoch_stop_mean[e], z = g->eval_mean[e];
        if (isfinite(a) && isfinite(z) && z > a)
            fig_line(b,
                     "set object %d rect from %.4f, graph 0 to %.4f, graph 1 fc rgb '#fbe9c9' "
                     "fs solid 1.0 noborder behind",
                     obj++, a, z);
        double s = g->epoch_start_mean[e];
        if (g->epochs <= 12 && isfinite(s) && isfinite(a))
            fig_line(b,
                     "set label %d 'epoch %d' at %.4f, graph 0.96 center tc rgb '#777777' "
                     "font ',8' front",
                     e + 1, e + 1, 0.5 * (s + a));
    }
}

/* Whether panel m of the usage figure has anything to draw: a mean value or a
   run's sample up to its end. */
static int usage_has_values(const nl_bench_group *g, int m) {
    for (size_t k = 0; k < g->ngrid; k++)
        if (!isnan(g->mean[m][k])) return 1;
    for (size_t r = 0; r < g->nruns; r++) {
        const nl_bench_run *x = &g->runs[r];
        if (x->status != NL_BENCH_OK) continue;
        for (size_t i = 0; i < x->nsamples; i++)
            if (x->t[i] <= x->time_to_train_s + 1e-9 && !isnan(x->v[m][i])) return 1;
    }
    return 0;
}

static void fig_usage(plotter *pl, const nl_bench_config *cfg, const nl_bench_group *g) {
    if (g->runs_ok == 0 || g->ngrid == 0) return;
    const size_t ci = contestant_index(cfg, g->contestant);
    const int gpu = group_has_gpu(g);
    const int nm = gpu ? 4 : 2;
    sbuf b;
    sb_init(&b);
    /* data: every OK run's samples from 0 to its end, then the mean */
    for (size_t r = 0; r < g->nruns; r++) {
        const nl_bench_run *x = &g->runs[r];
        if (x->status != NL_BENCH_OK) continue;
        sb_printf(&b, "$run%d << EOD\n", x->k);
        int any = 0;
        for (size_t i = 0; i < x->nsamples; i++) {
            if (i + 1 < x->nsamples && x->t[i + 1] < 0) continue; /* from the last one before 0 */
            if (x->t[i] > x->time_to_train_s + 1e-9) break;
            gp_num(&b, x->t[i]);
            for (int m = 0; m < NL_BM_COUNT; m++) gp_num(&b, x->v[m][i]);
            sb_puts(&b, "\n");
            any = 1;
        }
        if (!any) sb_puts(&b, "0 NaN NaN NaN NaN\n");
        sb_puts(&b, "EOD\n");
    }
    sb_puts(&b, "$mean << EOD\n");
    for (size_t k = 0; k < g->ngrid; k++) {
        gp_num(&b, (double)k * g->dt);
        for (int m = 0; m < NL_BM_COUNT; m++) gp_num(&b, g->mean[m][k]);
        sb_puts(&b, "\n");
    }
    sb_puts(&b, "EOD\n");
    char title[256];
    if (g->runs_ok == 1)
        snprintf(title, sizeof title, "%s on %s: 1 run", g->contestant, g->workload);
    else
        snprintf(title, sizeof title, "%s on %s: %d runs (thin) and their mean (bold)",
                 g->contestant, g->workload, g->runs_ok);
    sbuf c;
    sb_init(&c);
    fig_line(&c, "set multiplot layout %d,2 title '%s' font ',12'", nm / 2, title);
    fig_line(&c, "set grid lc rgb '#dddddd'");
    fig_line(&c, "set border 3");
    fig_line(&c, "set tics nomirror");
    fig_line(&c, "set xlabel 'seconds since run_start'");
    fig_line(&c, "set xrange [0:%.4f]", group_xmax(g));
    fig_line(&c, "unset key"); /* the title says: runs thin, mean bold */
    phase_objects(&c, g);
    for (int m = 0; m < nm; m++) {
        fig_line(&c, "set title '%s'", nl_bench_metric_label(m));
        if (!usage_has_values(g, m)) { /* e.g. a run over before the first RSS sample */
            fig_line(&c, "set yrange [0:1]\nset offsets 0, 0, 0, 0");
            fig_line(&c, "set label 99 'no sample while it trained' at graph 0.5, graph 0.5 "
                         "center tc rgb '#777777'");
            fig_line(&c, "plot NaN notitle\nunset label 99");
            continue;
        }
        fig_line(&c, "set yrange [0:*]\nset offsets 0, 0, graph 0.12, 0");
        sbuf p;
        sb_init(&p);
        sb_puts(&p, "plot ");
        for (size_t r = 0; r < g->nruns; r++) {
            const nl_bench_run *x = &g->runs[r];
            if (x->status != NL_BENCH_OK) continue;
            sb_printf(&p, "$run%d using 1:%d with lines lw 1 lc rgb '%s' %s, ", x->k, m + 2,
                      bench_color_faint(ci), p.len < 8 ? "title 'runs'" : "notitle");
        }
        sb_printf(&p, "$mean using 1:%d with %s lw 2.5 lc rgb '%s' title 'mean'", m + 2,
                  mean_style(g), bench_color(ci));
        fig_line(&c, "%s", p.s);
        sb_free(&p);
    }
    fig_line(&c, "unset multiplot");
    char base[200], name[256], caption[512];
    bench_group_base(base, sizeof base, g);
    snprintf(name, sizeof name, "usage_%s", base);
    snprintf(caption, sizeof caption,
             "%s on %s: resource use over time, t = 0 at run_start. Thin lines: each run; bold: "
             "the mean of the runs on a %.1f s grid. Grey: data loading; amber: evaluation "
             "after each epoch (mean phase times from the events).%s",
             g->contestant, g->workload, g->dt, gpu ? "" : " No GPU values: GPU panels left out.");
    draw(pl, name, &b, &c, 1100, gpu ? 760 : 420, "usage", title, caption);
    sb_free(&b);
    sb_free(&c);
}

/* The figure a group's runs give for metric m when its curve has fewer than two
   points (a run shorter than two samples): the CPU mean or the peak of its runs
   (for RSS its own report when no sample caught it). NAN when none. */
static double group_summary_value(const nl_bench_group *g, nl_bench_metric m) {
    switch (m) {
    case NL_BM_CPU:
        return g->cpu_mean.mean;
    case NL_BM_RSS:
        return g->rss_peak.mean;
    case NL_BM_GPU:
        return g->gpu_mean.mean;
    default:
        return g->vram_peak.mean;
    }
}

/* 0: no curve, else how many points of the mean curve have a value. */
static size_t curve_points(const nl_bench_group *g, nl_bench_metric m) {
    size_t n = 0;
    for (size_t k = 0; k < g->ngrid; k++) n += !isnan(g->mean[m][k]);
    return n;
}

/* 1 when no sample of the group's OK runs saw a value of metric m. */
static int never_sampled(const nl_bench_group *g, nl_bench_metric m) {
    for (size_t r = 0; r < g->nruns; r++) {
        const nl_bench_run *x = &g->runs[r];
        if (x->status != NL_BENCH_OK) continue;
        for (size_t i = 0; i < x->nsamples; i++)
            if (!isnan(x->v[m][i])) return 0;
    }
    return 1;
}

static void fig_compare(plotter *pl, const nl_bench_config *cfg, const nl_bench_results *res,
                        const char *workload, nl_bench_metric m) {
    sbuf b;
    sb_init(&b);
    int n = 0, curves = 0;
    double xmax = 0;
    /* 0: not drawn, 1: its mean curve, 2: a flat line at its runs' figure */
    int *how = calloc(res->ngroups ? res->ngroups : 1, sizeof *how);
    if (!how) {
        sb_free(&b);
        return;
    }
    for (size_t i = 0; i < res->ngroups; i++) {
        const nl_bench_group *g = &res->groups[i];
        if (strcmp(g->workload, workload) || g->runs_ok == 0) continue;
        const size_t pts = g->ngrid ? curve_points(g, m) : 0;
        const double flat = group_summary_value(g, m);
        if (pts >= 2) {
            how[i] = 1;
            sb_printf(&b, "$g%zu << EOD\n", i);
            for (size_t k = 0; k < g->ngrid; k++) {
                double sd = isnan(g->sd[m][k]) ? 0 : g->sd[m][k];
                gp_num(&b, (double)k * g->dt);
                gp_num(&b, g->mean[m][k]);
                gp_num(&b, isnan(g->mean[m][k]) ? NAN : sd);
                sb_puts(&b, "\n");
            }
            sb_puts(&b, "EOD\n");
            curves++;
        } else if (isfinite(flat)) { /* every contestant appears: its runs' own figure */
            how[i] = 2;
            sb_printf(&b, "$g%zu << EOD\n", i);
            gp_num(&b, 0), gp_num(&b, flat), gp_num(&b, 0), sb_puts(&b, "\n");
            gp_num(&b, group_xmax(g)), gp_num(&b, flat), gp_num(&b, 0), sb_puts(&b, "\n");
            sb_puts(&b, "EOD\n");
        } else {
            continue;
        }
        const double end = group_xmax(g);
        if (end > xmax) xmax = end;
        n++;
    }
    /* GPU figures only where some contestant has GPU values */
    if (n == 0 || (curves == 0 && (m == NL_BM_GPU || m == NL_BM_VRAM))) {
        free(how);
        sb_free(&b);
        return;
    }
    char title[256];
    snprintf(title, sizeof title, "%s: %s, mean of the runs (band: ± 1 sd)", workload,
             nl_bench_metric_label(m));
    sbuf c;
    sb_init(&c);
    fig_line(&c, "set title '%s' font ',12'", title);
    fig_line(&c, "set grid lc rgb '#dddddd'");
    fig_line(&c, "set border 3");
    fig_line(&c, "set tics nomirror");
    fig_line(&c, "set xlabel 'seconds since run_start'");
    fig_line(&c, "set ylabel '%s'", nl_bench_metric_label(m));
    fig_line(&c, "set xrange [0:%.4f]", xmax > 0 ? xmax : 1.0);
    fig_line(&c, "set yrange [0:*]\nset offsets 0, 0, graph 0.08, 0");
    fig_line(&c, "set key outside right top");
    /* the band never goes below 0, nor CPU above what the machine's cores can do */
    const double top = 100.0 * (res->machine.cpus > 0 ? res->machine.cpus : 1);
    char hi[96];
    if (m == NL_BM_CPU)
        snprintf(hi, sizeof hi, "($2+$3>%.0f?%.0f:$2+$3)", top, top);
    else
        snprintf(hi, sizeof hi, "($2+$3)");
    sbuf p;
    sb_init(&p);
    sb_puts(&p, "plot ");
    int first = 1, flats = 0;
    for (size_t i = 0; i < res->ngroups; i++) {
        const nl_bench_group *g = &res->groups[i];
        if (!how[i]) continue;
        size_t ci = contestant_index(cfg, g->contestant);
        if (how[i] == 1) {
            sb_printf(&p,
                      "%s$g%zu using 1:($2-$3<0?0:$2-$3):%s with filledcurves fc rgb '%s' fs "
                      "transparent solid 0.18 noborder notitle, $g%zu using 1:2 with %s lw 2.2 lc "
                      "rgb '%s' title '%s'",
                      first ? "" : ", ", i, hi, bench_color(ci), i, mean_style(g), bench_color(ci),
                      g->contestant);
        } else {
            const char *why =
                m == NL_BM_RSS && never_sampled(g, m) ? "its own peak RSS: no sample caught it"
                : m == NL_BM_CPU || m == NL_BM_GPU    ? "mean of its runs: too short for a curve"
                                                      : "peak of its runs: too short for a curve";
            sb_printf(&p, "%s$g%zu using 1:2 with lines dt 2 lw 2.2 lc rgb '%s' title '%s (%s)'",
                      first ? "" : ", ", i, bench_color(ci), g->contestant, why);
            flats++;
        }
        first = 0;
    }
    fig_line(&c, "%s", p.s);
    sb_free(&p);
    free(how);
    char name[256], slug[64], caption[512];
    bench_slug(slug, sizeof slug, workload);
    snprintf(name, sizeof name, "compare_%s_%s", slug, nl_bench_metric_name(m));
    snprintf(caption, sizeof caption,
             "%s, %s: every contestant's mean over its runs (t = 0 at run_start), shaded ± 1 "
             "standard deviation across the runs%s. A line ends where the contestant's longest "
             "run ended.%s",
             workload, nl_bench_metric_label(m),
             m == NL_BM_CPU ? " (clipped at the machine's cores)" : "",
             flats ? " Dashed: a contestant whose runs were too short for a curve, drawn at the "
                     "figure of its runs (marked in the key)."
                   : "");
    draw(pl, name, &b, &c, 1000, 440, "compare", title, caption);
    sb_free(&b);
    sb_free(&c);
}

static unsigned color_int(const char *hex) {
    return (unsigned)strtoul(hex + 1, NULL, 16);
}

/* The gnuplot script of a row of bar panels, one per workload, over the data
 * blocks $tW (bars: x, label, mean, sd, colour, text, text y) and $pW (the
 * runs' dots). */
static void bar_panels(sbuf *c, const nl_bench_config *cfg, const char *title, const char *ylabel,
                       const char *yrange) {
    fig_line(c, "set multiplot layout 1,%zu title '%s' font ',12'", cfg->nworkloads, title);
    fig_line(c, "set style fill solid 0.85 noborder");
    fig_line(c, "set boxwidth 0.6");
    fig_line(c, "set grid ytics lc rgb '#dddddd'");
    fig_line(c, "set border 3");
    fig_line(c, "set tics nomirror");
    fig_line(c, "set ylabel '%s'", ylabel);
    fig_line(c, "set yrange %s", yrange);
    fig_line(c, "set offsets 0.5, 0.5, 0, 0");
    fig_line(c, "unset key");
    for (size_t w = 0; w < cfg->nworkloads; w++) {
        fig_line(c, "set title '%s'", cfg->workloads[w]);
        fig_line(c,
                 "plot $t%zu using 1:3:(0.6):5:xtic(2) with boxes lc rgb variable, $t%zu using "
                 "1:($3-$4):(0):(2*$4) with vectors heads size screen 0.012,90 lc rgb '#333333' "
                 "lw 1.5, $p%zu using 1:2 with points pt 7 ps 0.5 lc rgb '#222222', $t%zu using "
                 "1:7:6 with labels offset 0,0.9 font ',9'",
                 w, w, w, w);
    }
    fig_line(c, "unset multiplot");
}

static void fig_time(plotter *pl, const nl_bench_config *cfg, const nl_bench_results *res) {
    sbuf b;
    sb_init(&b);
    int panels = 0;
    for (size_t w = 0; w < cfg->nworkloads; w++) {
        int x = 0;
        sb_printf(&b, "$t%zu << EOD\n", w);
        for (size_t i = 0; i < res->ngroups; i++) {
            const nl_bench_group *g = &res->groups[i];
            if (strcmp(g->workload, cfg->workloads[w]) || g->runs_ok == 0) continue;
            char label[96];
            if (g->is_baseline)
                snprintf(label, sizeof label, "%.*f s", g->time_to_train.mean < 10 ? 2 : 1,
                         g->time_to_train.mean);
            else if (isfinite(g->pct_vs_baseline))
                snprintf(label, sizeof label, "%.*f s (%+.0f%%)",
                         g->time_to_train.mean < 10 ? 2 : 1, g->time_to_train.mean,
                         g->pct_vs_baseline);
            else
                snprintf(label, sizeof label, "%.*f s", g->time_to_train.mean < 10 ? 2 : 1,
                         g->time_to_train.mean);
            sb_printf(&b, "%d ", x);
            gp_str(&b, g->contestant);
            gp_num(&b, g->time_to_train.mean);
            const double sd = g->time_to_train.sd; /* NAN with one run: no error bar */
            gp_num(&b, sd > 0 ? sd : NAN);
            sb_printf(&b, " %u ", color_int(bench_color(contestant_index(cfg, g->contestant))));
            gp_str(&b, label);
            gp_num(&b, g->time_to_train.mean + (sd > 0 ? sd : 0)); /* label height */
            sb_puts(&b, "\n");
            x++;
        }
        if (x == 0) sb_puts(&b, "0 \"\" NaN NaN 0 \"\" NaN\n");
        sb_puts(&b, "EOD\n");
        sb_printf(&b, "$p%zu << EOD\n", w);
        x = 0;
        int pts = 0;
        for (size_t i = 0; i < res->ngroups; i++) {
            const nl_bench_group *g = &res->groups[i];
            if (strcmp(g->workload, cfg->workloads[w]) || g->runs_ok == 0) continue;
            for (size_t r = 0; r < g->nruns; r++)
                if (g->runs[r].status == NL_BENCH_OK) {
                    sb_printf(&b, "%d", x);
                    gp_num(&b, g->runs[r].time_to_train_s);
                    sb_puts(&b, "\n");
                    pts++;
                }
            x++;
        }
        if (!pts) sb_puts(&b, "0 NaN\n");
        sb_puts(&b, "EOD\n");
        if (x > 0) panels++;
    }
    if (panels == 0) {
        sb_free(&b);
        return;
    }
    sbuf c;
    sb_init(&c);
    bar_panels(&c, cfg, "Time-to-train (run_start to run_stop): mean, ± 1 sd, and each run (dots)",
               "seconds", "[0:*]");
    int wpx = 120 + 380 * (int)cfg->nworkloads;
    draw(pl, "time", &b, &c, wpx < 700 ? 700 : wpx, 460, "summary", "Time-to-train per workload",
         "Time-to-train (run_stop − run_start from each run's events): bars are the means, "
         "error bars ± 1 standard deviation, dots the single runs; labels give the mean and "
         "the % difference against the baseline.");
    sb_free(&b);
    sb_free(&c);
}

static double acc_value(const nl_bench_group *g, double *sd) {
    *sd = g->accuracy.sd;
    return g->accuracy.mean;
}

static double acc_run(const nl_bench_run *r) {
    return r->epochs > 0 ? r->test_accuracy[r->epochs - 1] : NAN;
}

/* With one epoch: test accuracy as bars (mean, ± 1 sd, each run a dot). */
static void fig_accuracy_bars(plotter *pl, const nl_bench_config *cfg,
                              const nl_bench_results *res) {
    sbuf b;
    sb_init(&b);
    int panels = 0;
    for (size_t w = 0; w < cfg->nworkloads; w++) {
        int x = 0, pts = 0;
        sb_printf(&b, "$t%zu << EOD\n", w);
        for (size_t i = 0; i < res->ngroups; i++) {
            const nl_bench_group *g = &res->groups[i];
            if (strcmp(g->workload, cfg->workloads[w]) || g->runs_ok == 0 || g->epochs == 0)
                continue;
            double sd = NAN, v = acc_value(g, &sd);
            char label[64];
            snprintf(label, sizeof label, "%.4f", v);
            sb_printf(&b, "%d ", x);
            gp_str(&b, g->contestant);
            gp_num(&b, v);
            gp_num(&b, sd > 0 ? sd : NAN);
            sb_printf(
                &b, " %u ",
                (unsigned)strtoul(bench_color(contestant_index(cfg, g->contestant)) + 1, NULL, 16));
            gp_str(&b, label);
            gp_num(&b, v + (sd > 0 ? sd : 0));
            sb_puts(&b, "\n");
            x++;
        }
        if (x == 0) sb_puts(&b, "0 \"\" NaN NaN 0 \"\" NaN\n");
        sb_puts(&b, "EOD\n");
        sb_printf(&b, "$p%zu << EOD\n", w);
        x = 0;
        for (size_t i = 0; i < res->ngroups; i++) {
            const nl_bench_group *g = &res->groups[i];
            if (strcmp(g->workload, cfg->workloads[w]) || g->runs_ok == 0 || g->epochs == 0)
                continue;
            for (size_t r = 0; r < g->nruns; r++)
                if (g->runs[r].status == NL_BENCH_OK && isfinite(acc_run(&g->runs[r]))) {
                    sb_printf(&b, "%d", x);
                    gp_num(&b, acc_run(&g->runs[r]));
                    sb_puts(&b, "\n");
                    pts++;
                }
            x++;
        }
        if (!pts) sb_puts(&b, "0 NaN\n");
        sb_puts(&b, "EOD\n");
        if (x > 0) panels++;
    }
    if (panels == 0) {
        sb_free(&b);
        return;
    }
    sbuf c;
    sb_init(&c);
    bar_panels(&c, cfg, "Test accuracy after the epoch: mean, ± 1 sd, and each run (dots)",
               "test accuracy", "[0:1.08]");
    int wpx = 120 + 380 * (int)cfg->nworkloads;
    draw(pl, "accuracy", &b, &c, wpx < 700 ? 700 : wpx, 420, "summary", "Test accuracy",
         "Test accuracy on the test set after the one epoch, from the eval_accuracy events: "
         "bars are the means over the runs, error bars ± 1 standard deviation, dots the single "
         "runs.");
    sb_free(&b);
    sb_free(&c);
}

static void fig_accuracy(plotter *pl, const nl_bench_config *cfg, const nl_bench_results *res) {
    int most = 0;
    for (size_t i = 0; i < res->ngroups; i++)
        if (res->groups[i].runs_ok && res->groups[i].epochs > most) most = res->groups[i].epochs;
    if (most == 1) { /* one point per contestant: bars, not stacked error bars */
        fig_accuracy_bars(pl, cfg, res);
        return;
    }
    sbuf b;
    sb_init(&b);
    int any = 0, maxep = 1;
    for (size_t i = 0; i < res->ngroups; i++) {
        const nl_bench_group *g = &res->groups[i];
        if (g->runs_ok == 0 || g->epochs == 0) continue;
        sb_printf(&b, "$a%zu << EOD\n", i);
        for (int e = 0; e < g->epochs; e++) {
            sb_printf(&b, "%d", e + 1);
            gp_num(&b, g->acc_mean[e]);
            gp_num(&b, isfinite(g->acc_sd[e]) ? g->acc_sd[e] : 0);
            sb_puts(&b, "\n");
        }
        sb_puts(&b, "EOD\n");
        if (g->epochs > maxep) maxep = g->epochs;
        any = 1;
    }
    if (!any) {
        sb_free(&b);
        return;
    }
    sbuf c;
    sb_init(&c);
    fig_line(&c,
             "set multiplot layout 1,%zu title 'Test accuracy after each epoch (mean ± 1 sd "
             "over the runs)' font ',12'",
             cfg->nworkloads);
    fig_line(&c, "set grid lc rgb '#dddddd'");
    fig_line(&c, "set border 3");
    fig_line(&c, "set tics nomirror");
    fig_line(&c, "set xlabel 'epoch'");
    fig_line(&c, "set ylabel 'test accuracy'");
    fig_line(&c, "set xrange [0.7:%f]", maxep + 0.3);
    fig_line(&c, "set xtics 1");
    fig_line(&c, "set key bottom right");
    for (size_t w = 0; w < cfg->nworkloads; w++) {
        fig_line(&c, "set title '%s'", cfg->workloads[w]);
        sbuf p;
        sb_init(&p);
        for (size_t i = 0; i < res->ngroups; i++) {
            const nl_bench_group *g = &res->groups[i];
            if (strcmp(g->workload, cfg->workloads[w]) || g->runs_ok == 0 || g->epochs == 0)
                continue;
            const char *col = bench_color(contestant_index(cfg, g->contestant));
            sb_printf(&p,
                      "%s$a%zu using 1:2:3 with yerrorlines lw 2 pt 7 ps 0.8 lc rgb '%s' "
                      "title '%s'",
                      p.len ? ", " : "plot ", i, col, g->contestant);
        }
        if (p.len == 0) sb_puts(&p, "plot NaN notitle");
        fig_line(&c, "%s", p.s);
        sb_free(&p);
    }
    fig_line(&c, "unset multiplot");
    int wpx = 120 + 380 * (int)cfg->nworkloads;
    draw(pl, "accuracy", &b, &c, wpx < 700 ? 700 : wpx, 420, "summary", "Test accuracy per epoch",
         "Test accuracy on the 10000 test images after every epoch, from the eval_accuracy "
         "events: mean over the runs, error bars ± 1 standard deviation.");
    sb_free(&b);
    sb_free(&c);
}

/* --load: each contestant's samples/s idle and under load, side by side. */
static void fig_load(plotter *pl, const nl_bench_config *cfg, const nl_bench_results *res) {
    if (cfg->load_procs <= 0) return;
    sbuf b;
    sb_init(&b);
    int panels = 0;
    for (size_t w = 0; w < cfg->nworkloads; w++) {
        int x = 0;
        sb_printf(&b, "$l%zu << EOD\n", w);
        for (size_t i = 0; i < res->ngroups; i++) {
            const nl_bench_group *g = &res->groups[i];
            if (strcmp(g->workload, cfg->workloads[w]) || g->status == NL_BENCH_SKIPPED) continue;
            if (g->runs_ok == 0 && g->load_runs_ok == 0) continue;
            double ksd = NAN;
            const double kept =
                nl_bench_ratio(g->samples_per_s.mean, g->samples_per_s.sd,
                               g->load_samples_per_s.mean, g->load_samples_per_s.sd, &ksd);
            char label[64] = "";
            if (isfinite(kept)) snprintf(label, sizeof label, "kept %.0f%%", 100 * kept);
            const double top = isfinite(g->samples_per_s.mean) &&
                                       !(g->samples_per_s.mean < g->load_samples_per_s.mean)
                                   ? g->samples_per_s.mean
                                   : g->load_samples_per_s.mean;
            sb_printf(&b, "%d ", x);
            gp_str(&b, g->contestant);
            gp_num(&b, g->samples_per_s.mean);
            gp_num(&b, g->samples_per_s.sd > 0 ? g->samples_per_s.sd : NAN);
            gp_num(&b, g->load_samples_per_s.mean);
            gp_num(&b, g->load_samples_per_s.sd > 0 ? g->load_samples_per_s.sd : NAN);
            sb_printf(
                &b, " %u ",
                (unsigned)strtoul(bench_color(contestant_index(cfg, g->contestant)) + 1, NULL, 16));
            gp_str(&b, label);
            gp_num(&b, top);
            sb_puts(&b, "\n");
            x++;
        }
        if (x == 0) sb_puts(&b, "0 \"\" NaN NaN NaN NaN 0 \"\" NaN\n");
        sb_puts(&b, "EOD\n");
        if (x > 0) panels++;
    }
    if (panels == 0) {
        sb_free(&b);
        return;
    }
    char what[400], title[512];
    bench_load_text(what, sizeof what, cfg);
    bench_strf(title, sizeof title,
               "Speed under load: samples/s idle (solid) and with %d load process%s (hatched)",
               cfg->load_procs, cfg->load_procs == 1 ? "" : "es");
    sbuf c;
    sb_init(&c);
    fig_line(&c, "set multiplot layout 1,%zu title '%s' font ',12'", cfg->nworkloads, title);
    fig_line(&c, "set boxwidth 0.38");
    fig_line(&c, "set grid ytics lc rgb '#dddddd'");
    fig_line(&c, "set border 3");
    fig_line(&c, "set tics nomirror");
    fig_line(&c, "set ylabel 'samples/s (samples trained / time-to-train)'");
    fig_line(&c, "set yrange [0:*]");
    fig_line(&c, "set offsets 0.5, 0.5, graph 0.12, 0");
    fig_line(&c, "unset key");
    for (size_t w = 0; w < cfg->nworkloads; w++) {
        fig_line(&c, "set title '%s'", cfg->workloads[w]);
        fig_line(
            &c,
            "plot $l%zu using ($1-0.2):3:(0.38):7:xtic(2) with boxes lc rgb variable fs "
            "solid 0.85 noborder, $l%zu using ($1+0.2):5:(0.38):7 with boxes lc rgb variable "
            "fs pattern 4 border, $l%zu using ($1-0.2):($3-$4):(0):(2*$4) with vectors heads size "
            "screen 0.01,90 lc rgb '#333333', $l%zu using ($1+0.2):($5-$6):(0):(2*$6) with "
            "vectors heads size screen 0.01,90 lc rgb '#333333', $l%zu using 1:9:8 with "
            "labels offset 0,1 font ',9'",
            w, w, w, w, w);
    }
    fig_line(&c, "unset multiplot");
    char caption[600];
    bench_strf(caption, sizeof caption,
               "Each contestant's samples/s (training samples ÷ time-to-train) on an idle machine "
               "(solid) and with %s alongside every run (hatched), mean of the runs ± 1 sd; "
               "\"kept\" is the ratio.",
               what);
    for (char *q = caption; *q; q++)
        if (*q == '`') *q = '\'';
    int wpx = 120 + 420 * (int)cfg->nworkloads;
    draw(pl, "load_speed", &b, &c, wpx < 700 ? 700 : wpx, 460, "load", "Speed under load", caption);
    sb_free(&b);
    sb_free(&c);
}

/* ---- entry point ----------------------------------------------------------------------- */

static int probe_cairo(void) {
    char msg[256];
    return run_gnuplot("/", "set terminal pngcairo\n", NULL, msg, sizeof msg) == 0;
}

nl_status nl_bench_write_figures(const char *out_dir, const nl_bench_config *cfg,
                                 nl_bench_results *res, nl_error *err) {
    plotter pl;
    memset(&pl, 0, sizeof pl);
    sb_init(&pl.index);
    nl_status st = bench_path(pl.dir, sizeof pl.dir, out_dir, "figures", err);
    if (st) return st;
    if (mkdir(pl.dir, 0755) != 0 && errno != EEXIST)
        return nl_error_set(err, NL_EIO, "%s: cannot create: %s", pl.dir, strerror(errno));
    char msg[256], idx[4200];
    snprintf(idx, sizeof idx, "%s/index.txt", pl.dir);
    unlink(idx); /* the report must not show figures of an older bench */
    if (run_gnuplot(pl.dir, "exit\n", NULL, msg, sizeof msg))
        return nl_error_set(err, NL_ENOTSUP, "no figures: %s", msg);
    pl.cairo = probe_cairo();

    fig_time(&pl, cfg, res);
    fig_accuracy(&pl, cfg, res);
    fig_load(&pl, cfg, res);
    for (size_t w = 0; w < cfg->nworkloads; w++)
        for (int m = 0; m < NL_BM_COUNT; m++) fig_compare(&pl, cfg, res, cfg->workloads[w], m);
    for (size_t i = 0; i < res->ngroups; i++) fig_usage(&pl, cfg, &res->groups[i]);

    if (pl.index.oom) st = nl_error_set(err, NL_ENOMEM, "out of memory");
    if (!st) st = bench_write_file(idx, pl.index.s ? pl.index.s : "", pl.index.len, err);
    sb_free(&pl.index);
    if (st) return st;
    if (pl.failed)
        return nl_error_set(err, NL_EIO, "%d figure%s not drawn (%d drawn); first: %s", pl.failed,
                            pl.failed == 1 ? "" : "s", pl.drawn, pl.first_error);
    return NL_OK;
}

size_t bench_figures_list(const char *out_dir, bench_figure **out) {
    *out = NULL;
    char path[4200], *text = NULL;
    size_t len = 0, n = 0;
    nl_error ig = {0};
    snprintf(path, sizeof path, "%s/figures/index.txt", out_dir);
    if (bench_read_file(path, BENCH_OUTPUT_MAX, &text, &len, &ig)) return 0;
    for (char *line = text; line && *line;) {
        char *eol = strchr(line, '\n');
        if (eol) *eol = '\0';
        char *f[4] = {line, NULL, NULL, NULL};
        for (int i = 1; i < 4 && f[i - 1]; i++) {
            char *tab = strchr(f[i - 1], '\t');
            if (tab) *tab = '\0', f[i] = tab + 1;
        }
        if (f[3]) {
            bench_figure *p = realloc(*out, (n + 1) * sizeof *p);
            if (!p) break;
            *out = p;
            snprintf(p[n].section, sizeof p[n].section, "%s", f[0]);
            snprintf(p[n].name, sizeof p[n].name, "%s", f[1]);
            snprintf(p[n].title, sizeof p[n].title, "%s", f[2]);
            snprintf(p[n].caption, sizeof p[n].caption, "%s", f[3]);
            n++;
        }
        line = eol ? eol + 1 : NULL;
    }
    free(text);
    return n;
}
