/* Internal helpers of the experiment harness (src/harness/). */
#ifndef NNLAB_HARNESS_INTERNAL_H
#define NNLAB_HARNESS_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "nnlab/bench.h"
#include "nnlab/stats.h"

/* Growable string. On allocation failure it stays usable and sets oom. */
typedef struct sbuf {
    char *s;
    size_t len, cap;
    int oom;
} sbuf;

void sb_init(sbuf *b);
void sb_free(sbuf *b);
void sb_putn(sbuf *b, const char *s, size_t n);
void sb_puts(sbuf *b, const char *s);
void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_vprintf(sbuf *b, const char *fmt, va_list ap);
/* Escaped for HTML text and attribute values. */
void sb_html(sbuf *b, const char *s);
/* A CSV field (quoted when needed). */
void sb_csv(sbuf *b, const char *s);
/* Base64 of n bytes. */
void sb_base64(sbuf *b, const unsigned char *p, size_t n);
/* Number with dec decimals, or `missing` when not finite. */
void sb_num(sbuf *b, double v, int dec, const char *missing);

/* Writes len bytes to path through a temporary file beside it, renamed once
 * complete (so path is the old file or the whole new one). */
nl_status bench_write_file(const char *path, const char *data, size_t len, nl_error *err);
/* Reads a whole regular file of at most max bytes (NUL-terminated, *len
 * without the NUL). A directory, FIFO or device is refused without blocking
 * (NL_EINVAL), as is a longer file; NL_EIO when it cannot be opened. */
nl_status bench_read_file(const char *path, size_t max, char **data, size_t *len, nl_error *err);
/* What the harness reads back of a run (events, stdout, stderr) at most. */
#define BENCH_OUTPUT_MAX ((size_t)256 << 20)
/* dir/name into out; NL_EINVAL when too long. */
nl_status bench_path(char *out, size_t n, const char *dir, const char *name, nl_error *err);
/* Safe file-name part: letters, digits, '-', '_', '.'; others become '_'. */
void bench_slug(char *out, size_t n, const char *s);
/* snprintf that may truncate on purpose (messages, labels). */
void bench_strf(char *out, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* "N threads", and how the thread variants (NAME-tT) differ, for headings. */
void bench_threads_text(char *out, size_t n, const nl_bench_config *cfg);
/* Human duration: "42 s", "3 min 05 s", "1 h 02 min". */
void bench_fmt_duration(char *out, size_t n, double s);

/* One monitored child process. */
typedef struct bench_child {
    /* in */
    char **argv;
    const char *events_path; /* exported as NNLAB_EVENTS */
    const char *out_path;    /* the child's stdout */
    const char *log_path;    /* the child's stderr */
    double interval_s;
    double timeout_s;
    int (*should_stop)(void *user);
    void *user;
    /* out */
    int exit_status; /* exit code, 128 + signal, -1 never started */
    int timed_out, interrupted;
    int leftovers; /* processes of its tree still running after it exited, ended */
    char exec_error[256];
    int64_t launch_ms;  /* wall clock at fork */
    double wall_s;      /* fork to reaped */
    nl_stats_row *rows; /* monitor samples (malloc'd) */
    size_t nrows;
    nl_stats_info info;
    int info_valid;
} bench_child;

/* Starts argv under the monitor (nl_stats_run, contained: its own process
 * group, nothing of it outlives the run), keeps every sample, reaps it.
 * Errors only when it could not be started or watched at all. */
nl_status bench_child_run(bench_child *c, nl_error *err);

/* Background load (--load): N busy processes around each run. */
enum { BENCH_LOAD_MAX = 256 };
typedef struct bench_load {
    int n;
    int pid[BENCH_LOAD_MAX];
} bench_load;
/* Starts n processes: a plain CPU spin, or `sh -c command` (its output to
 * /dev/null). Each in its own process group, SIGKILLed if the bench dies. */
nl_status bench_load_start(bench_load *l, int n, const char *command, nl_error *err);
/* Ends them (SIGKILL to each group) and reaps them. */
void bench_load_stop(bench_load *l);

/* The figures' and report's shared naming: <slug(contestant)>_<slug(workload)>. */
void bench_group_base(char *out, size_t n, const nl_bench_group *g);

/* Colour of contestant i (index in config order): strong and faint. */
const char *bench_color(size_t i);
const char *bench_color_faint(size_t i);

/* Which figures exist (filled by nl_bench_write_figures, read by the report). */
typedef struct bench_figure {
    char name[128]; /* file stem under figures/ */
    char title[256];
    char caption[512];
    char section[32]; /* "summary", "compare", "usage" */
} bench_figure;

/* The list of figures written by the last nl_bench_write_figures in out_dir
 * (figures/index.txt). */
size_t bench_figures_list(const char *out_dir, bench_figure **out);

/* Other processes' CPU% above which a run's machine counts as busy. */
#define BENCH_BUSY_PCT 25.0

/* A figure column of Table 1: heading (+ a second line in HTML), what of which
 * statistic of the group it shows, decimals (-1: a time's, from its mean). */
typedef struct bench_col {
    const char *head, *sub;
    int kind;
    size_t offset; /* of the nl_bench_stat in nl_bench_group */
    int dec;
} bench_col;
extern const bench_col bench_table1[];
extern const size_t bench_table1_ncols;
void bench_col_head(sbuf *b, const bench_col *c, const nl_bench_config *cfg, int html);
void bench_col_cell(sbuf *b, const bench_col *c, const nl_bench_group *g, int html);

/* Shared by table.c and report.c. */
const char *bench_baseline_name(const nl_bench_config *cfg);
void bench_table_md(sbuf *b, const nl_bench_config *cfg, const nl_bench_results *res);
void bench_problems_md(sbuf *b, const nl_bench_results *res);
/* "N busy processes (a plain CPU spin each)" or "N processes running `CMD`". */
void bench_load_text(char *out, size_t n, const nl_bench_config *cfg);
/* The "Speed under load" section (table.md, report.md). */
void bench_load_table_md(sbuf *b, const nl_bench_config *cfg, const nl_bench_results *res);

#endif
