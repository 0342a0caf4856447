/* Figure of a monitored run, drawn by gnuplot (like psrecord --plot): CPU% on
 * the left axis, memory on the right one, a GPU panel when there are GPU
 * values. The data go to gnuplot inline (a datablock), the figure to a
 * temporary file beside the target, renamed once complete. */
#include "nnlab/stats.h"
#include "stats/stats_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* gnuplot single-quoted string: only ' needs escaping (doubled). */
static void gp_quote(FILE *f, const char *s) {
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'') fputc('\'', f);
        if (*s == '\n') continue;
        fputc(*s, f);
    }
    fputc('\'', f);
}

/* One data column: the number, or NaN. */
static void col(FILE *f, double v, int dec) {
    char b[64];
    if (st_fmt_fixed(b, sizeof b, v, dec, '.'))
        fprintf(f, " %s", b);
    else
        fputs(" NaN", f);
}

static const char *ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcasecmp(s + a - b, suf) ? s + a - b : NULL;
}

nl_status nl_stats_plot(const char *path, const nl_stats_row *rows, size_t nrows,
                        const nl_stats_info *info, nl_error *err) {
    if (!path || !*path) return nl_error_set(err, NL_EINVAL, "plot: no output file given");
    int svg = 0;
    if (ends_with(path, ".svg"))
        svg = 1;
    else if (!ends_with(path, ".png"))
        return nl_error_set(err, NL_EINVAL,
                            "plot file '%s': expected a name ending in .png or .svg", path);
    int gpu = 0;
    for (size_t i = 0; i < nrows; i++)
        if (isfinite(rows[i].gpu_pct) || isfinite(rows[i].vram_mib)) gpu = 1;

    size_t plen = strlen(path);
    char *tmp = malloc(plen + 32);
    if (!tmp) return nl_error_set(err, NL_ENOMEM, "out of memory");
    snprintf(tmp, plen + 32, "%s.tmp%ld", path, (long)getpid());
    char *script = NULL;
    size_t slen = 0;
    FILE *g = open_memstream(&script, &slen);
    if (!g) {
        free(tmp);
        return nl_error_set(err, NL_ENOMEM, "out of memory");
    }
    /* terminal: cairo when this gnuplot has it */
    if (svg) {
        fputs("set terminal svg size 1000,", g);
    } else {
        fputs("if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) "
              "{ set terminal pngcairo noenhanced size 1000,",
              g);
        fputs(gpu ? "800 }" : "500 }", g);
        fputs(" else { set terminal png size 1000,", g);
    }
    fputs(gpu ? "800" : "500", g);
    fputs(svg ? " noenhanced\n" : " }\n", g);
    fputs("set output ", g);
    gp_quote(g, tmp);
    fputs("\n$d << EOD\n", g);
    double xmax = 0;
    if (nrows == 0) fputs(" 0 NaN NaN NaN NaN\n", g); /* an empty figure that says why */
    for (size_t i = 0; i < nrows; i++) {
        if (rows[i].t_s > xmax) xmax = rows[i].t_s;
        col(g, rows[i].t_s, 3);
        col(g, rows[i].cpu_pct, 2);
        col(g, rows[i].mem_mib, 2);
        col(g, rows[i].gpu_pct, 1);
        col(g, rows[i].vram_mib, 2);
        fputc('\n', g);
    }
    fputs("EOD\n", g);
    char title[200];
    if (info)
        snprintf(title, sizeof title, "nnlab stats: PID %d (%s)%s", info->pid, info->comm,
                 info->children ? " and its children" : "");
    else
        snprintf(title, sizeof title, "nnlab stats");
    const char *mem = info && info->pss ? "PSS" : "RSS";
    /* the time axis starts at the start, and a short run still gets a range */
    fprintf(g, "set xrange [0:%.4f]\n", xmax > 0 ? xmax * 1.02 : 1.0);
    fputs("set grid\nset xlabel 'time (s)'\nset key below horizontal\nset ytics nomirror\nset "
          "y2tics\n",
          g);
    fputs(nrows == 0 ? "set yrange [0:100]\nset y2range [0:1]\n"
                     : "set yrange [0:*]\nset y2range [0:*]\n",
          g);
    /* lines need two points: mark each sample of a short run */
    fputs(nrows < 3 ? "set style data linespoints\nset pointsize 1.2\n" : "set style data lines\n",
          g);
    if (nrows == 0)
        fputs("set label 1 'no sample: the run was shorter than one sampling interval' at graph "
              "0.5, graph 0.5 center\n",
              g);
    if (gpu) fputs("set multiplot layout 2,1\n", g);
    fputs("set title ", g);
    gp_quote(g, title);
    fprintf(g, "\nset ylabel 'CPU (%%, 100 = one core)'\nset y2label '%s (MiB)'\n", mem);
    fprintf(g,
            "plot $d using 1:2 axes x1y1 lw 2 lc rgb '#1f77b4' title 'CPU %%', "
            "$d using 1:3 axes x1y2 lw 2 lc rgb '#d62728' title '%s (MiB)'\n",
            mem);
    if (gpu) {
        fputs("set title 'GPU'\nset ylabel 'GPU utilisation (%)'\nset y2label 'GPU memory (MiB)'\n"
              "set yrange [0:100]\n"
              "plot $d using 1:4 axes x1y1 lw 2 lc rgb '#2ca02c' title 'GPU %', "
              "$d using 1:5 axes x1y2 lw 2 lc rgb '#9467bd' title 'GPU memory (MiB)'\n"
              "unset multiplot\n",
              g);
    }
    fputs("set output\n", g);
    nl_status rc = NL_OK;
    if (fclose(g) != 0 || !script) {
        free(script);
        free(tmp);
        return nl_error_set(err, NL_ENOMEM, "out of memory");
    }
    char msg[512];
    int gr = st_gnuplot(NULL, script, slen, msg, sizeof msg);
    free(script);
    if (gr != 0) {
        if (gr > 0)
            rc = nl_error_set(err, NL_ENOTSUP, "plot: %s", msg);
        else
            rc = nl_error_set(err, NL_EIO, "plot: gnuplot failed drawing '%s': %s", path, msg);
        unlink(tmp);
    } else {
        int fd = open(tmp, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            rc = nl_error_set(err, NL_EIO, "plot: gnuplot wrote no figure to '%s'", tmp);
        } else {
            fsync(fd);
            close(fd);
            if (rename(tmp, path) != 0) {
                rc = nl_error_set(err, NL_EIO, "plot: cannot rename '%s' to '%s': %s", tmp, path,
                                  strerror(errno));
                unlink(tmp);
            }
        }
    }
    free(tmp);
    return rc;
}
