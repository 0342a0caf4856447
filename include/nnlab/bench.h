/* nnlab/bench.h - the experiment harness behind `nnlab bench`.
 *
 * The 2022 study ran every language x dataset five times under a monitor,
 * shifted the runs by hand to hide the dataset download, averaged them into
 * a "sixth sample", drew graphs and a table of training times. This API does
 * the same, reproducibly:
 *
 *   contestants  a plain-text list (built in, plus the user's own file):
 *                name, language, command template (see nl_bench_contestants_parse)
 *   runs         every contestant x workload run N times, interleaved
 *                (A B C A B C ...), each watched by the resource monitor of
 *                nnlab/stats.h in-process, its MLPerf-style events captured
 *   alignment    t = 0 at the run's `run_start` event (design.md, "Events");
 *                phases (data load, epochs, evaluation) from the events
 *   aggregation  each group's successful runs resampled on a common time grid
 *                and averaged, with the spread; failed runs are reported and
 *                excluded from every mean
 *   outputs      Table 1 (Markdown, CSV, JSON), gnuplot figures (PNG + SVG),
 *                report.html (self-contained) and report.md
 *
 * The aggregation part (statistics, resampling, nl_bench_group_aggregate) is
 * pure computation on caller-filled structs, so it can be tested without
 * running anything. The library never prints and never exits: progress goes
 * to a callback, errors come back as nl_status with a message in nl_error. */
#ifndef NNLAB_BENCH_H
#define NNLAB_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include "nnlab/error.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { NL_BENCH_MAX_EPOCHS = 64 };

/* The monitored quantities kept per sample (the study's four graphs). */
typedef enum nl_bench_metric {
    NL_BM_CPU,  /* CPU% of the process tree, 100 = one core busy */
    NL_BM_RSS,  /* resident memory of the tree, MiB */
    NL_BM_GPU,  /* GPU utilisation %, NAN without a GPU */
    NL_BM_VRAM, /* GPU memory used by the tree, MiB, NAN without a GPU */
    NL_BM_COUNT
} nl_bench_metric;

/* "cpu_pct", "rss_mib", "gpu_pct", "vram_mib" (the CSV column names). */
NL_API const char *nl_bench_metric_name(nl_bench_metric m);
/* Axis label, e.g. "CPU (%, 100 = one core)". */
NL_API const char *nl_bench_metric_label(nl_bench_metric m);

/* ---- statistics ------------------------------------------------------------ */

/* Summary of a sample. NAN entries of the input are ignored; n counts the
 * others. sd is the sample standard deviation (n - 1 in the denominator),
 * NAN when n < 2; every field is NAN when n == 0. */
typedef struct nl_bench_stat {
    int n;
    double mean, sd, median, min, max;
} nl_bench_stat;

NL_API void nl_bench_describe(const double *x, size_t n, nl_bench_stat *out);

/* Percentage difference of value against baseline: 100 * (value - baseline) /
 * baseline. Positive = more than the baseline (for times: slower). NAN when
 * either is NAN or baseline <= 0. */
NL_API double nl_bench_pct_diff(double value, double baseline);

/* ---- resampling onto a common time grid ---------------------------------------- */

/* Points of the grid 0, dt, 2 dt, ... that fall in [0, duration]: the grid of
 * a group is sized for its longest run. 0 when duration < 0 or dt <= 0. */
NL_API size_t nl_bench_grid_size(double duration, double dt);

/* Resamples one run's series (t ascending, seconds since run_start) onto the
 * grid t_k = k dt, k < ngrid, by linear interpolation between the samples
 * around t_k. Grid points after t_end (the run's own end: its time-to-train)
 * are NAN, so a short run stops contributing where it stopped. Before the
 * first sample or after the last one the nearest sample is held for up to dt,
 * NAN beyond. A NAN sample makes the interpolated points touching it NAN. */
NL_API void nl_bench_resample(const double *t, const double *v, size_t n, double t_end, double dt,
                              double *out, size_t ngrid);

/* Pointwise mean and sample sd of nruns resampled series of ngrid points;
 * NAN points are left out. count[k] (may be NULL) = series with a value at k;
 * mean NAN where count is 0, sd NAN where count < 2. */
NL_API void nl_bench_mean_series(const double *const *series, size_t nruns, size_t ngrid,
                                 double *mean, double *sd, int *count);

/* ---- one run ------------------------------------------------------------------------ */

typedef enum nl_bench_status {
    NL_BENCH_OK = 0,  /* exit status 0 and, when it logged run_stop, status success */
    NL_BENCH_FAILED,  /* non-zero exit, a signal, a timeout or run_stop "aborted" */
    NL_BENCH_SKIPPED, /* exit status 3: the framework is not installed (message: hint) */
} nl_bench_status;

NL_API const char *nl_bench_status_name(nl_bench_status s); /* "ok", "failed", "skipped" */

typedef struct nl_bench_run {
    int k; /* run number within its group, 1-based */
    nl_bench_status status;
    int exit_status;   /* exit code, 128 + N for signal N, -1 when it never started */
    char message[512]; /* why it failed or was skipped; notes for an OK run */
    /* timing, seconds (NAN when unknown) */
    double startup_s;       /* launch to run_start: interpreter start, imports, init */
    double time_to_train_s; /* run_start to run_stop (design.md): the table's figure */
    double wall_s;          /* launch to exit */
    int aligned_on_events;  /* 0: the run logged no run_start, t = 0 is its launch */
    /* phases, seconds since run_start (NAN when not logged) */
    double data_loaded_s;
    int epochs; /* epochs logged */
    double epoch_start_s[NL_BENCH_MAX_EPOCHS];
    double epoch_stop_s[NL_BENCH_MAX_EPOCHS];
    double eval_s[NL_BENCH_MAX_EPOCHS]; /* eval_accuracy logged (end of evaluation) */
    double test_accuracy[NL_BENCH_MAX_EPOCHS];
    /* samples trained (epoch_stop events) / time_to_train_s: the rate the table
       shows, consistent with its time (NAN when the events give no samples) */
    double samples_per_s;
    double samples_trained;
    /* from the contestant's result JSON (NAN / "" when absent) */
    double reported_samples_per_s; /* its own figure (typically the training steps alone) */
    double final_loss;
    double reported_rss_peak_mib; /* its own peak RSS; used when no sample saw the tree */
    char framework[64];
    char framework_version[96];
    char python_version[32]; /* the result's "python_version" (a Python contestant's own) */
    /* monitor samples, t = seconds since run_start (negative: before it) */
    size_t nsamples;
    double *t;
    double *v[NL_BM_COUNT];
    /* summaries of the samples */
    double cpu_mean_pct;  /* mean tree CPU% between run_start and run_stop */
    double rss_peak_mib;  /* highest tree RSS of the whole run */
    double gpu_mean_pct;  /* NAN without GPU values */
    double vram_peak_mib; /* NAN without GPU values */
    /* CPU% used by the rest of the machine while it trained (machine CPU minus the
       tree's, 100 = one core; NAN unknown): other work that may have slowed it */
    double background_cpu_pct;
} nl_bench_run;

/* Allocates r->t and r->v[] for n samples (NAN-filled), freeing older ones. */
NL_API nl_status nl_bench_run_alloc_samples(nl_bench_run *r, size_t n, nl_error *err);
/* Fills cpu_mean_pct, rss_peak_mib, gpu_mean_pct, vram_peak_mib from the
 * samples and time_to_train_s. rss_peak_mib falls back to reported_rss_peak_mib
 * (when > 0) if no sample saw the tree alive: a run over before the first sample. */
NL_API void nl_bench_run_summarize(nl_bench_run *r);
NL_API void nl_bench_run_free(nl_bench_run *r);

/* ---- a group: one contestant on one workload ----------------------------------- */

typedef struct nl_bench_group {
    char contestant[64];
    char language[32];
    char workload[64];      /* as benchmarked (table row) */
    char model[64];         /* as trained: differs with --paper (the study's Python variants) */
    nl_bench_status status; /* SKIPPED when the framework is missing; else OK */
    char message[512];      /* the skip hint */
    nl_bench_run *runs;     /* owned (nl_bench_group_free) */
    size_t nruns;
    /* filled by nl_bench_group_aggregate, over the OK runs only */
    int runs_ok, runs_failed;
    nl_bench_stat time_to_train, accuracy, samples_per_s, rss_peak, cpu_mean, vram_peak, gpu_mean,
        startup, wall, background_cpu;
    int epochs; /* epochs with a test accuracy in some OK run */
    double acc_mean[NL_BENCH_MAX_EPOCHS], acc_sd[NL_BENCH_MAX_EPOCHS];
    double data_loaded_mean; /* phases, mean over the OK runs */
    double epoch_start_mean[NL_BENCH_MAX_EPOCHS], epoch_stop_mean[NL_BENCH_MAX_EPOCHS],
        eval_mean[NL_BENCH_MAX_EPOCHS];
    char framework_version[96];
    char python_version[32]; /* the first OK run's */
    /* under load (nl_bench_config.load_procs > 0): the same runs with the load alongside,
       aggregated like the idle ones (the statistics only) */
    nl_bench_run *load_runs; /* owned */
    size_t nload_runs;
    int load_runs_ok, load_runs_failed;
    nl_bench_stat load_time_to_train, load_samples_per_s, load_background_cpu;
    /* filled by nl_bench_apply_baseline */
    double pct_vs_baseline; /* time-to-train mean vs the baseline's, NAN when unknown */
    int is_baseline;
    /* the study's sixth sample: OK runs resampled on t_k = k dt and averaged */
    double dt;
    size_t ngrid;
    double *mean[NL_BM_COUNT];
    double *sd[NL_BM_COUNT];
    int *count; /* runs contributing at each grid point */
} nl_bench_group;

/* Computes the statistics, the per-epoch accuracy, the phases and the mean
 * series (grid step dt) of g's OK runs; failed runs are only counted. Calls
 * nl_bench_run_summarize on every OK run. NL_ENOMEM, NL_EINVAL (dt <= 0). */
NL_API nl_status nl_bench_group_aggregate(nl_bench_group *g, double dt, nl_error *err);

/* Sets pct_vs_baseline / is_baseline for every group, comparing each with the
 * group of contestant `baseline` on the same workload. */
NL_API void nl_bench_apply_baseline(nl_bench_group *groups, size_t ngroups, const char *baseline);

NL_API void nl_bench_group_free(nl_bench_group *g);

/* ---- events (design.md, "Events") ------------------------------------------------ */

/* What a run logged. Times are ms since the epoch, -1 when absent. */
typedef struct nl_bench_timeline {
    int64_t init_start_ms, run_start_ms, data_loaded_ms, run_stop_ms;
    char run_stop_status[16]; /* "success", "aborted" or "" */
    int epochs;               /* highest epoch_num seen */
    int64_t epoch_start_ms[NL_BENCH_MAX_EPOCHS], epoch_stop_ms[NL_BENCH_MAX_EPOCHS],
        eval_ms[NL_BENCH_MAX_EPOCHS];
    double eval_accuracy[NL_BENCH_MAX_EPOCHS]; /* NAN when absent */
    double epoch_samples[NL_BENCH_MAX_EPOCHS]; /* epoch_stop's metadata "samples", NAN absent */
    long events;                               /* lines understood */
    long ignored;                              /* other lines (program output, malformed) */
    long malformed;           /* of those: ":::MLLOG" lines that are no event, '{' lines that
                                 are no JSON, objects with a key or time_ms that is bad */
    char first_malformed[96]; /* the first of them (control characters as spaces) */
} nl_bench_timeline;

NL_API void nl_bench_timeline_init(nl_bench_timeline *tl);

/* The training samples the run logged (sum of epoch_stop's "samples"), NAN when
 * no epoch_stop said. */
NL_API double nl_bench_timeline_samples(const nl_bench_timeline *tl);

/* Adds the event lines of text (len bytes): one JSON object per line, with or
 * without the ":::MLLOG " prefix; other lines are counted in tl->ignored.
 * Epochs are numbered from 1 (epoch_num). Never fails on content. */
NL_API void nl_bench_timeline_parse(nl_bench_timeline *tl, const char *text, size_t len);

/* Checks the events against the run's own clock: every event time must lie in
 * [from_ms - slack_ms, to_ms + slack_ms] (launch to exit, ms since the epoch)
 * and run_stop must not come before run_start. Returns 0, or -1 with the
 * first contradiction in why. */
NL_API int nl_bench_timeline_check(const nl_bench_timeline *tl, int64_t from_ms, int64_t to_ms,
                                   int64_t slack_ms, char *why, size_t n);

/* ---- contestants --------------------------------------------------------------------- */

/* Contestants file (bench/contestants.txt is the built-in one). One contestant
 * a line: NAME LANGUAGE COMMAND-TEMPLATE, whitespace-separated, the template
 * running to the end of the line; '#' starts a comment line, a line ending
 * in '\' continues on the next. NAME: letters, digits, '-', '_', '.'.
 * The template is split into words like a shell would ('single', "double"
 * quotes, backslash) but is never run by a shell; placeholders {workload}
 * {data} {epochs} {seed} {events} {threads} {limit} {batch} {nnlab} (this
 * nnlab program) {root} (nnlab's source tree: peers/ is there) {out} {model}
 * {dataset} {train_data} {test_data} {label} {device} {ranks} {hostfile}
 * (nl_bench_vars) are replaced everywhere, quotes included, and values are
 * never split. A template that uses {ranks} starts several processes under a
 * launcher (mpirun, torchrun): a multi-process contestant. An
 * unknown {lowercase} word is an error; other braces are literal text. A
 * bracketed group of words "[--limit {limit}]" is dropped when a placeholder
 * in it has no value. */
typedef struct nl_bench_contestant {
    char name[64];
    char language[32];
    char command[2048];
    char source[256]; /* "FILE:LINE" it came from */
    int threads;      /* > 0: its {threads}, instead of the bench's (a thread variant) */
    int ranks;        /* > 0: its {ranks}, instead of the bench's (a rank variant) */
} nl_bench_contestant;

/* A thread variant of c: named NAME-tTHREADS, run with {threads} = threads. */
NL_API nl_status nl_bench_contestant_variant(const nl_bench_contestant *c, int threads,
                                             nl_bench_contestant *out, nl_error *err);

/* 1 when c's template uses {ranks}: it runs several processes under a launcher. */
NL_API int nl_bench_contestant_multiprocess(const nl_bench_contestant *c);

/* A rank variant of c: named NAME-rRANKS, or NAME-rRANKS-tTHREADS with threads
 * > 0 (0: the bench's threads), run with {ranks} = ranks (>= 1). `nnlab
 * bench` names every multi-process contestant so, so that the ranks show in
 * every table and the same contestant can run at several rank counts. */
NL_API nl_status nl_bench_contestant_ranks(const nl_bench_contestant *c, int ranks, int threads,
                                           nl_bench_contestant *out, nl_error *err);

/* The built-in list (bench/contestants.txt, compiled in). */
NL_API const char *nl_bench_builtin_contestants(void);

/* Parses text and appends its contestants to *list (realloc'd; *n updated).
 * A name already in the list is replaced (the user's file overrides the
 * built-in one). Every template is checked (placeholders, quotes, groups).
 * NL_EFORMAT with "SOURCE:LINE: why". */
NL_API nl_status nl_bench_contestants_parse(const char *text, const char *source,
                                            nl_bench_contestant **list, size_t *n, nl_error *err);

/* Reads a contestants file and parses it as nl_bench_contestants_parse does.
 * Only a regular file of at most 1 MiB is read (a directory, a FIFO, a device
 * such as /dev/zero are refused before anything is read: NL_EINVAL);
 * NL_EIO when it cannot be opened; messages start with the path. */
NL_API nl_status nl_bench_contestants_load(const char *path, nl_bench_contestant **list, size_t *n,
                                           nl_error *err);

/* Placeholder values (NULL or "": no value). */
typedef struct nl_bench_vars {
    const char *workload, *data, *epochs, *seed, *events, *threads, *limit, *batch, *nnlab, *root,
        *out;
    /* the model file and the data options: {model} (the .nnm path; a built-in
       workload's name when its shipped file is absent), {dataset} {train_data}
       {test_data} {label} (the bench's options, passed through), {device}
       (--peer-device) */
    const char *model, *dataset, *train_data, *test_data, *label, *device;
    /* {ranks}: the processes a multi-process contestant starts (the bench's --ranks
       or its own); {hostfile}: the bench's --hostfile, passed to the launcher */
    const char *ranks, *hostfile;
} nl_bench_vars;

/* Expands a template into a NULL-terminated argv (free with
 * nl_bench_argv_free). NL_EFORMAT: bad quoting, unknown placeholder, a
 * placeholder without value outside a [group], an empty command. */
NL_API nl_status nl_bench_expand(const char *tmpl, const nl_bench_vars *vars, char ***argv,
                                 nl_error *err);
NL_API void nl_bench_argv_free(char **argv);

/* ---- the machine ------------------------------------------------------------------------- */

typedef struct nl_bench_machine {
    char cpu_model[160];
    int cpus;       /* online logical CPUs */
    double mem_gib; /* MemTotal */
    char gpu[256];  /* "NVIDIA ... (1 device)" or "none (why)" */
    char os[160];
    char host[64];
    char date[40]; /* start of the bench, local time, ISO 8601 */
    char nnlab_version[32];
    char blas[160];
    char compiler[128]; /* nnlab's compiler, e.g. "GNU 12.2.0" */
    char cflags[256];   /* and its flags, e.g. "-O3 -DNDEBUG -O3 -fno-math-errno (Release)" */
    char python[64];    /* `python3 --version` on PATH ("Python 3.11.2"), "" when none */
} nl_bench_machine;

NL_API void nl_bench_machine_probe(nl_bench_machine *m);

/* ---- the whole experiment ------------------------------------------------------------- */

typedef struct nl_bench_progress {
    const char *what; /* "start", "done", "skipped", "failed"; "waiting" (for an idle
                         machine: other_pct), "retry" (the run just done is repeated:
                         other_pct was above max_other_pct) */
    double other_pct; /* % of the machine's CPU other processes used (waiting, retry) */
    int index, total; /* this run among all the runs planned (warm-ups included) */
    const char *contestant, *workload;
    int k, runs;             /* run k of runs (of this group) */
    int warmup;              /* 1 for a warm-up run (not measured) */
    int under_load;          /* 1 for the run with the load alongside (--load) */
    double eta_s;            /* estimated time left, NAN when unknown */
    const nl_bench_run *run; /* the run just finished ("done", "failed", "skipped") */
} nl_bench_progress;

typedef struct nl_bench_config {
    const nl_bench_contestant *contestants; /* the ones to run, in this order */
    size_t ncontestants;
    const char *const *workloads;
    size_t nworkloads;
    int runs;   /* measured runs per group */
    int warmup; /* unmeasured runs per group before them */
    int epochs;
    int threads;    /* passed as {threads}: per process (per rank) */
    int ranks;      /* passed as {ranks} to multi-process contestants (< 1: 1) */
    const char *hostfile; /* {hostfile}; NULL: none (groups with it dropped) */
    int nnlab_without_mpi; /* 1: the {nnlab} program has no MPI: a multi-process contestant
                              that runs it with more than one rank is skipped */
    uint64_t limit; /* 0: no {limit} (groups with it dropped) */
    uint64_t seed;  /* run k gets seed + k - 1 */
    int paper;      /* contestants of language "Python" train W-keras-paper */
    const char *data_dir;
    const char *out_dir;  /* must exist */
    const char *baseline; /* contestant name; NULL: the first one */
    const char *nnlab_path;
    const char *root_dir; /* {root}; NULL: nnlab's source tree as built */
    /* A workload that ends in ".nnm" or holds a '/' is a model file: {model} is
       its path, its table name the file's name without ".nnm". A built-in
       workload's {model} is MODELS_DIR/NAME.nnm when that file exists, else NAME. */
    const char *models_dir;                               /* NULL: {root}/models */
    const char *dataset, *train_data, *test_data, *label; /* passed on; NULL: none */
    const char *peer_device;  /* {device}: "cpu" or "cuda" for the peers; NULL: none */
    double interval_s;        /* monitor period, 0.1 */
    double timeout_s;         /* per run: > 0 seconds; 0: the workload's default
                                 (nl_bench_default_timeout); < 0: none */
    double wait_idle_pct;     /* > 0: before each run, wait (10 min at most) until other
                                 processes use less than this % of the machine's CPU */
    double max_other_pct;     /* > 0: a measured run during which other processes used
                                 more than this % of the machine's CPU is repeated... */
    int retries;              /* ...up to this many times (then kept, with a note) */
    int load_procs;           /* > 0: every measured run is done twice, idle and then with
                                 this many busy processes alongside (started just before it,
                                 ended right after it) */
    const char *load_command; /* NULL: the load is a plain CPU spin; else each load process
                                 runs `sh -c load_command` */
    const char *command_line; /* shown in the report */
    void (*progress)(void *user, const nl_bench_progress *p);
    int (*should_stop)(void *user); /* non-zero: stop the current run and the bench */
    void *user;
} nl_bench_config;

typedef struct nl_bench_results {
    nl_bench_group *groups; /* workload-major, contestants in config order */
    size_t ngroups;
    nl_bench_machine machine;
    double dt;        /* grid step */
    double elapsed_s; /* whole bench */
    int interrupted;
    char warnings[2048]; /* non-fatal problems (figures not drawn...), one a line */
} nl_bench_results;

/* The default time limit of one run: 10 minutes for start-up and data, plus
 * per epoch 5 minutes on MNIST workloads and 20 minutes on the others (about
 * ten times the slowest contestant seen: a single-threaded Python peer). */
NL_API double nl_bench_default_timeout(const char *workload, int epochs);

/* 1 when a workload names a model file (ends in ".nnm" or holds a '/'). */
NL_API int nl_bench_is_model_file(const char *workload);
/* Its name in tables and file names: the file's name without ".nnm". */
NL_API void nl_bench_model_file_name(const char *path, char *out, size_t n);

/* Runs the experiment and aggregates it; writes the per-run files
 * (<contestant>_<workload>_run<k>.csv/.events/.out/.log) in cfg->out_dir.
 * A failed or skipped run is a result, not an error; errors are what stops
 * the bench (out_dir unwritable, out of memory, NL_EINTR when should_stop).
 * On NL_EINTR res holds the runs done so far, aggregated. */
NL_API nl_status nl_bench_execute(const nl_bench_config *cfg, nl_bench_results *res, nl_error *err);

/* Table 1 as table.md, table.csv, table.json in out_dir. */
NL_API nl_status nl_bench_write_table(const char *out_dir, const nl_bench_config *cfg,
                                      const nl_bench_results *res, nl_error *err);

/* Per group: <c>_<w>_aligned.csv (every OK run on the common grid, t from 0)
 * and <c>_<w>_mean.csv (the sixth sample: mean and sd per metric). */
NL_API nl_status nl_bench_write_series(const char *out_dir, const nl_bench_results *res,
                                       nl_error *err);

/* Figures in out_dir/figures/ (PNG and SVG, plus the gnuplot script of each).
 * NL_ENOTSUP when gnuplot cannot be run. */
NL_API nl_status nl_bench_write_figures(const char *out_dir, const nl_bench_config *cfg,
                                        nl_bench_results *res, nl_error *err);

/* report.html (self-contained: figures embedded) and report.md. */
NL_API nl_status nl_bench_write_report(const char *out_dir, const nl_bench_config *cfg,
                                       const nl_bench_results *res, nl_error *err);

NL_API void nl_bench_results_free(nl_bench_results *res);

/* ---- ratios and comparisons ------------------------------------------------------------ */

/* b / a (e.g. a contestant's time over the fastest one's) and its sd from the
 * runs' spread (first-order propagation of the relative sds, as hyperfine
 * does: sd = r sqrt((sd_a/a)^2 + (sd_b/b)^2)); *sd is NAN when either sd is
 * unknown (one run). NAN when a or b is not > 0. */
NL_API double nl_bench_ratio(double a, double sd_a, double b, double sd_b, double *sd);

/* One contestant x workload in two result directories (A: before, B: after). */
typedef struct nl_bench_compare_row {
    char workload[64], contestant[64];
    nl_bench_stat a, b;  /* time-to-train (s); n == 0: not in that directory (or no OK run) */
    double change_pct;   /* 100 (b - a) / a of the means: positive = slower; NAN unknown */
    double noise_pct;    /* the change the runs' spread explains: 2 standard errors of the
                            difference of the means, 2 sqrt(sd_a^2/n_a + sd_b^2/n_b), as a % of
                            a; NAN when a side has fewer than 2 runs */
    int beyond_noise;    /* 1: |change| > noise, 0: within it, -1: unknown */
    int regression;      /* slower by more than the threshold, and not within the noise */
    double sps_a, sps_b; /* samples/s (means), NAN unknown */
    double rss_a, rss_b; /* peak RSS (MiB, means), NAN unknown */
} nl_bench_compare_row;

/* Fills row's change, noise, beyond_noise and regression from row->a and row->b
 * (threshold_pct < 0: nothing is a regression). */
NL_API void nl_bench_compare_judge(nl_bench_compare_row *row, double threshold_pct);

/* Reads DIR/table.json of two benches and pairs their rows by contestant and
 * workload (A's order, then those only in B). *rows is malloc'd. NL_EIO /
 * NL_EFORMAT (naming the file) when a table cannot be read. */
NL_API nl_status nl_bench_compare_dirs(const char *dir_a, const char *dir_b, double threshold_pct,
                                       nl_bench_compare_row **rows, size_t *n, nl_error *err);

#ifdef __cplusplus
}
#endif
#endif
