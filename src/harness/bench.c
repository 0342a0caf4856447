/* The experiment: every contestant x workload, N runs interleaved, each under
 * the monitor; events and result JSON read back; runs aligned and aggregated. */
#include "harness/harness_internal.h"
#include "nnlab/core.h"
#include "nnlab/model.h"
#include "stats/stats_internal.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef NNLAB_SOURCE_DIR
#define NNLAB_SOURCE_DIR "."
#endif

/* How far an event may lie outside the run's launch-to-exit window (clock
   reading and rounding; the contestant shares the machine's clock). */
#define EVENT_SLACK_MS 2000

/* ---- reading a finished run back ----------------------------------------------------- */

/* Last non-empty line of text (trimmed, at most n-1 bytes) containing `needle`
 * (NULL: any). */
static int last_line(const char *text, const char *needle, char *out, size_t n) {
    const char *best = NULL;
    size_t best_len = 0;
    for (const char *p = text; *p;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        size_t a = 0, b = len;
        while (a < b && (p[a] == ' ' || p[a] == '\t' || p[a] == '\r')) a++;
        while (b > a && (p[b - 1] == ' ' || p[b - 1] == '\t' || p[b - 1] == '\r')) b--;
        if (b > a) {
            int match = !needle;
            if (needle) {
                for (size_t i = a; i + strlen(needle) <= b && !match; i++)
                    match = !strncmp(p + i, needle, strlen(needle));
            }
            if (match) best = p + a, best_len = b - a;
        }
        p = e ? e + 1 : p + len;
    }
    if (!best || n == 0) return 0;
    if (best_len >= n) best_len = n - 1;
    memcpy(out, best, best_len);
    out[best_len] = '\0';
    return 1;
}

/* The contestant's result: the last line of stdout that is a JSON object and
 * not an event. NULL when none; *bad = 1 when the last line that looked like
 * one ('{') was not JSON. */
static json_t *result_json(const char *text, int *bad) {
    json_t *found = NULL;
    *bad = 0;
    for (const char *p = text; *p;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        size_t a = 0;
        while (a < len && (p[a] == ' ' || p[a] == '\t')) a++;
        if (a < len && p[a] == '{') {
            json_t *o = json_loadb(p + a, len - a, 0, NULL);
            if (json_is_object(o) && !json_object_get(o, "event_type")) {
                json_decref(found);
                found = o;
                *bad = 0;
            } else {
                if (!o) *bad = 1;
                json_decref(o);
            }
        }
        p = e ? e + 1 : p + len;
    }
    return found;
}

static double jnumber(json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static void jstring(json_t *o, const char *key, char *out, size_t n) {
    json_t *v = json_object_get(o, key);
    if (json_is_string(v)) snprintf(out, n, "%s", json_string_value(v));
}

static double ms_since(int64_t t_ms, int64_t base_ms) {
    return t_ms < 0 ? NAN : (double)(t_ms - base_ms) / 1000.0;
}

/* Fills r from the child's outcome, its events, its stdout and stderr. */
static nl_status read_run(nl_bench_run *r, const bench_child *c, nl_error *err) {
    char *events = NULL, *out = NULL, *log = NULL;
    size_t elen = 0, olen = 0, llen = 0;
    nl_error ignore = {0};
    if (bench_read_file(c->events_path, BENCH_OUTPUT_MAX, &events, &elen, &ignore))
        events = NULL, elen = 0;
    if (bench_read_file(c->out_path, BENCH_OUTPUT_MAX, &out, &olen, &ignore)) out = NULL, olen = 0;
    if (bench_read_file(c->log_path, BENCH_OUTPUT_MAX, &log, &llen, &ignore)) log = NULL, llen = 0;

    nl_bench_timeline tl;
    nl_bench_timeline_init(&tl);
    if (events) nl_bench_timeline_parse(&tl, events, elen);
    if (tl.run_start_ms < 0 && out) { /* events on stdout instead */
        long bad = tl.malformed;
        char first[sizeof tl.first_malformed];
        memcpy(first, tl.first_malformed, sizeof first);
        nl_bench_timeline_init(&tl);
        nl_bench_timeline_parse(&tl, out, olen);
        if (bad) tl.malformed += bad, memcpy(tl.first_malformed, first, sizeof first);
    }
    int bad_result = 0;
    json_t *res = out ? result_json(out, &bad_result) : NULL;

    r->exit_status = c->exit_status;
    r->wall_s = c->wall_s;
    r->message[0] = '\0';
    char line[400] = "";
    if (c->exec_error[0]) {
        r->status = NL_BENCH_FAILED;
        snprintf(r->message, sizeof r->message, "%s", c->exec_error);
    } else if (c->interrupted) {
        r->status = NL_BENCH_FAILED;
        snprintf(r->message, sizeof r->message, "interrupted");
    } else if (c->timed_out) {
        r->status = NL_BENCH_FAILED;
        snprintf(r->message, sizeof r->message, "timed out after %.0f s, stopped", c->timeout_s);
    } else if (c->exit_status == 3) {
        r->status = NL_BENCH_SKIPPED;
        if (log && last_line(log, "skipped", line, sizeof line))
            snprintf(r->message, sizeof r->message, "%s", line);
        else
            snprintf(r->message, sizeof r->message, "exit status 3 (framework not installed)%s%s",
                     log && last_line(log, NULL, line, sizeof line) ? ": " : "",
                     log && *line ? line : "");
    } else if (c->exit_status != 0) {
        r->status = NL_BENCH_FAILED;
        int has = log && last_line(log, NULL, line, sizeof line);
        if (c->exit_status > 128)
            snprintf(r->message, sizeof r->message, "killed by signal %d%s%s", c->exit_status - 128,
                     has ? ": " : "", has ? line : "");
        else
            snprintf(r->message, sizeof r->message, "exit status %d%s%s", c->exit_status,
                     has ? ": " : "", has ? line : "");
    } else if (!strcmp(tl.run_stop_status, "aborted")) {
        r->status = NL_BENCH_FAILED;
        snprintf(r->message, sizeof r->message, "exit status 0 but run_stop says aborted");
    } else {
        r->status = NL_BENCH_OK;
    }
    /* the events against the run's own clock (launch to exit): a run that
       contradicts it is failed, and its events are not used */
    char why[300];
    if (r->status != NL_BENCH_SKIPPED && !c->exec_error[0] &&
        nl_bench_timeline_check(&tl, c->launch_ms,
                                c->launch_ms + (int64_t)llround(c->wall_s * 1000.0), EVENT_SLACK_MS,
                                why, sizeof why)) {
        r->status = NL_BENCH_FAILED;
        snprintf(r->message, sizeof r->message, "%s", why);
        nl_bench_timeline_init(&tl);
    }
    /* exit status 0 is not enough: the events must give a time-to-train, or
       there must be nothing malformed in what it wrote */
    if (r->status == NL_BENCH_OK && !(tl.run_start_ms >= 0 && tl.run_stop_ms >= 0)) {
        if (tl.run_start_ms >= 0) {
            r->status = NL_BENCH_FAILED;
            snprintf(r->message, sizeof r->message, "no run_stop event");
        } else if (bad_result) {
            r->status = NL_BENCH_FAILED;
            snprintf(r->message, sizeof r->message,
                     "unparsable result: the last JSON line of its output is not JSON");
        } else if (tl.malformed) {
            r->status = NL_BENCH_FAILED;
            snprintf(r->message, sizeof r->message,
                     "unparsable events: %ld malformed line%s (first: %s)", tl.malformed,
                     tl.malformed == 1 ? "" : "s", tl.first_malformed);
        }
    }

    /* alignment: t = 0 at run_start */
    int64_t base = c->launch_ms;
    r->aligned_on_events = tl.run_start_ms >= 0;
    if (r->aligned_on_events) base = tl.run_start_ms;
    r->startup_s = r->aligned_on_events ? ms_since(tl.run_start_ms, c->launch_ms) : NAN;
    const double exit_s = (double)(c->launch_ms - base) / 1000.0 + c->wall_s;
    if (tl.run_start_ms >= 0 && tl.run_stop_ms >= 0) {
        r->time_to_train_s = ms_since(tl.run_stop_ms, base);
    } else {
        r->time_to_train_s = exit_s;
        if (r->status == NL_BENCH_OK)
            snprintf(r->message, sizeof r->message, "%s",
                     r->aligned_on_events
                         ? "no run_stop event"
                         : "no run_start event: aligned on the launch, time-to-train is the "
                           "whole command");
    }
    r->data_loaded_s = ms_since(tl.data_loaded_ms, base);
    r->epochs = tl.epochs;
    for (int e = 0; e < NL_BENCH_MAX_EPOCHS; e++) {
        r->epoch_start_s[e] = ms_since(tl.epoch_start_ms[e], base);
        r->epoch_stop_s[e] = ms_since(tl.epoch_stop_ms[e], base);
        r->eval_s[e] = ms_since(tl.eval_ms[e], base);
        r->test_accuracy[e] = tl.eval_accuracy[e];
    }
    r->samples_per_s = r->reported_samples_per_s = r->final_loss = r->reported_rss_peak_mib = NAN;
    r->samples_trained = nl_bench_timeline_samples(&tl);
    if (r->samples_trained > 0 && r->time_to_train_s > 0)
        r->samples_per_s = r->samples_trained / r->time_to_train_s;
    r->framework[0] = r->framework_version[0] = r->python_version[0] = '\0';
    if (res) {
        r->reported_samples_per_s = jnumber(res, "samples_per_second");
        r->final_loss = jnumber(res, "final_loss");
        r->reported_rss_peak_mib = jnumber(res, "peak_rss_mib");
        jstring(res, "framework", r->framework, sizeof r->framework);
        jstring(res, "framework_version", r->framework_version, sizeof r->framework_version);
        jstring(res, "python_version", r->python_version, sizeof r->python_version);
        json_t *acc = json_object_get(res, "test_accuracy");
        if (json_is_number(acc) && r->epochs == 0) { /* a single figure */
            r->epochs = 1;
            r->test_accuracy[0] = json_number_value(acc);
        } else if (json_is_array(acc)) {
            size_t na = json_array_size(acc);
            for (size_t e = 0; e < na && e < NL_BENCH_MAX_EPOCHS; e++) {
                json_t *a = json_array_get(acc, e);
                if (isnan(r->test_accuracy[e]) && json_is_number(a))
                    r->test_accuracy[e] = json_number_value(a);
            }
            if ((int)na > r->epochs)
                r->epochs = na > NL_BENCH_MAX_EPOCHS ? NL_BENCH_MAX_EPOCHS : (int)na;
        }
    }
    json_decref(res);
    free(events);
    free(out);
    free(log);

    /* monitor samples on the aligned clock */
    nl_status st = nl_bench_run_alloc_samples(r, c->nrows, err);
    if (st) return st;
    const double off = c->info_valid ? (double)(c->info.wall0_ms - base) / 1000.0 : 0.0;
    for (size_t i = 0; i < c->nrows; i++) {
        const nl_stats_row *row = &c->rows[i];
        r->t[i] = off + row->t_s;
        r->v[NL_BM_CPU][i] = row->cpu_pct;
        /* a process that has exited has no memory: not a reading */
        r->v[NL_BM_RSS][i] = row->alive || row->mem_mib > 0 ? row->mem_mib : NAN;
        r->v[NL_BM_GPU][i] = row->gpu_pct;
        r->v[NL_BM_VRAM][i] = row->vram_mib;
    }
    nl_bench_run_summarize(r);
    /* the rest of the machine during training: machine CPU minus the tree's */
    double bg = 0;
    long nbg = 0;
    const int ncpu = c->info_valid && c->info.ncpu > 0 ? c->info.ncpu : 1;
    for (size_t i = 0; i < c->nrows; i++) {
        const nl_stats_row *row = &c->rows[i];
        if (r->t[i] <= 0 || (i > 0 && r->t[i - 1] >= r->time_to_train_s)) continue;
        if (isnan(row->sys_cpu_pct) || isnan(row->cpu_pct)) continue;
        double other = row->sys_cpu_pct * ncpu - row->cpu_pct;
        bg += other > 0 ? other : 0;
        nbg++;
    }
    r->background_cpu_pct = nbg ? bg / (double)nbg : NAN;
    int sampled_rss = 0;
    for (size_t i = 0; i < r->nsamples && !sampled_rss; i++)
        sampled_rss = !isnan(r->v[NL_BM_RSS][i]);
    if (!sampled_rss && r->rss_peak_mib > 0) {
        /* over before the monitor's first sample: summarize took the contestant's own figure */
        if (!r->message[0])
            snprintf(r->message, sizeof r->message,
                     "ended before the monitor's first sample: peak RSS as it reported it");
    }
    if (c->leftovers > 0) {
        size_t ml = strlen(r->message);
        bench_strf(r->message + ml, sizeof r->message - ml,
                   "%s%d process%s of its tree still ran after it exited (a daemon?): ended",
                   ml ? "; " : "", c->leftovers, c->leftovers == 1 ? "" : "es");
    }
    return NL_OK;
}

/* The run's samples as design.md CSV, t_s = seconds since run_start (the row
 * taken after the exit is left out: its CPU time is in the run's figures). */
static nl_status write_run_csv(const char *path, const bench_child *c, const nl_bench_run *r,
                               nl_error *err) {
    sbuf b;
    sb_init(&b);
    char line[1024];
    size_t n = nl_stats_format_header(NL_STATS_CSV, line, sizeof line);
    sb_putn(&b, line, n);
    const double off = c->nrows ? r->t[0] - c->rows[0].t_s : 0.0;
    for (size_t i = 0; i < c->nrows; i++) {
        nl_stats_row row = c->rows[i];
        if (!row.alive) continue; /* taken after the exit: no memory or threads to show */
        row.t_s += off;
        n = nl_stats_format_row(NL_STATS_CSV, &row, &c->info, c->interval_s, line, sizeof line);
        sb_putn(&b, line, n);
    }
    nl_status st = b.oom ? nl_error_set(err, NL_ENOMEM, "out of memory writing %s", path)
                         : bench_write_file(path, b.s, b.len, err);
    sb_free(&b);
    return st;
}

/* ---- the experiment ---------------------------------------------------------------------- */

static int is_python(const char *language) {
    return !strcasecmp(language, "python");
}

static void model_for(const nl_bench_config *cfg, const nl_bench_contestant *c, const char *w,
                      char *out, size_t n) {
    if (nl_bench_is_model_file(w))
        nl_bench_model_file_name(w, out, n);
    else if (cfg->paper && is_python(c->language) && (!strcmp(w, "mnist") || !strcmp(w, "cifar10")))
        snprintf(out, n, "%s-keras-paper", w);
    else
        snprintf(out, n, "%s", w);
}

int nl_bench_is_model_file(const char *workload) {
    const size_t n = strlen(workload);
    return strchr(workload, '/') || (n > 4 && !strcmp(workload + n - 4, ".nnm"));
}

void nl_bench_model_file_name(const char *path, char *out, size_t n) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t len = strlen(base);
    if (len > 4 && !strcmp(base + len - 4, ".nnm")) len -= 4;
    snprintf(out, n, "%.*s", (int)len, base);
}

/* {model} of a group: the model file given, else the shipped MODELS_DIR/NAME.nnm
 * of the model it trains, else NAME (a contestant that knows the workload by name). */
static void model_arg(const nl_bench_config *cfg, const char *root, const char *workload,
                      const char *model, char *out, size_t n) {
    if (nl_bench_is_model_file(workload)) {
        snprintf(out, n, "%s", workload);
        return;
    }
    char p[4096];
    struct stat st;
    if (cfg->models_dir)
        snprintf(p, sizeof p, "%s/%s.nnm", cfg->models_dir, model);
    else
        snprintf(p, sizeof p, "%s/models/%s.nnm", root, model);
    snprintf(out, n, "%s", stat(p, &st) == 0 && S_ISREG(st.st_mode) ? p : model);
}

/* 1 when the program `prog` can be run: a path to an executable, or a name found
 * in a directory of PATH (as execvp looks for it). */
static int program_found(const char *prog) {
    if (strchr(prog, '/')) return access(prog, X_OK) == 0;
    const char *path = getenv("PATH");
    if (!path || !*path) path = "/usr/local/bin:/usr/bin:/bin";
    for (const char *p = path;;) {
        const char *e = strchr(p, ':');
        const size_t len = e ? (size_t)(e - p) : strlen(p);
        char f[4096];
        if (snprintf(f, sizeof f, "%.*s/%s", (int)len, len ? p : ".", prog) < (int)sizeof f &&
            access(f, X_OK) == 0)
            return 1;
        if (!e) return 0;
        p = e + 1;
    }
}

/* Why a contestant cannot run here, before it is started ("skipped: ..." in why):
 * its program (or launcher) is not installed, or it would run an nnlab built
 * without MPI as several ranks. 0 when nothing stands in its way. */
static int cannot_start(const nl_bench_config *cfg, const nl_bench_contestant *ct, char **argv,
                        const char *nnlab, int ranks, char *why, size_t n) {
    if (!program_found(argv[0])) {
        const char *base = strrchr(argv[0], '/');
        base = base ? base + 1 : argv[0];
        const char *hint = "not found on PATH";
        if (!strcmp(base, "mpirun") || !strcmp(base, "mpiexec") || !strcmp(base, "orterun") ||
            !strcmp(base, "prterun"))
            hint = "not found on PATH: install Open MPI (apt-get install openmpi-bin)";
        else if (!strcmp(base, "torchrun"))
            hint = "not found on PATH: install PyTorch (apt-get install python3-torch)";
        else if (strchr(argv[0], '/'))
            hint = "not found or not executable";
        bench_strf(why, n, "skipped: %s %s", argv[0], hint);
        return 1;
    }
    if (cfg->nnlab_without_mpi && ranks > 1 && nl_bench_contestant_multiprocess(ct))
        for (char **a = argv + 1; *a; a++)
            if (!strcmp(*a, nnlab)) {
                bench_strf(why, n,
                           "skipped: this nnlab was built without MPI and cannot train as %d "
                           "ranks (install libopenmpi-dev and build it again: "
                           "docs/distributed.md)",
                           ranks);
                return 1;
            }
    return 0;
}

typedef struct eta_state {
    double sum_all;
    int n_all;
    double *sum; /* per group */
    int *n;
} eta_state;

/* Runs of a group in round rd: one, two for a measured round with --load. */
static int runs_in_round(const nl_bench_config *cfg, int rd) {
    return 1 + (rd >= cfg->warmup && cfg->load_procs > 0);
}

static double eta_estimate(const eta_state *es, const nl_bench_config *cfg,
                           const nl_bench_results *res, int rounds, int round, size_t gi) {
    if (es->n_all == 0) return NAN;
    double left = 0;
    for (int rd = round; rd < rounds; rd++)
        for (size_t g = (rd == round ? gi : 0); g < res->ngroups; g++) {
            if (res->groups[g].status == NL_BENCH_SKIPPED) continue;
            left += runs_in_round(cfg, rd) *
                    (es->n[g] ? es->sum[g] / es->n[g] : es->sum_all / es->n_all);
        }
    return left;
}

static void warn(nl_bench_results *res, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(nl_bench_results *res, const char *fmt, ...) {
    size_t len = strlen(res->warnings);
    if (len + 2 >= sizeof res->warnings) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->warnings + len, sizeof res->warnings - len - 1, fmt, ap);
    va_end(ap);
    strcat(res->warnings, "\n");
}

double nl_bench_default_timeout(const char *workload, int epochs) {
    const nl_workload_info *w = workload ? nl_workload_find(workload) : NULL;
    const double per_epoch = w && w->dataset && !strcmp(w->dataset, "mnist") ? 300 : 1200;
    return 600 + (epochs > 0 ? epochs : 1) * per_epoch;
}

/* % of the machine's CPU busy over `seconds` (this process sleeps meanwhile, so
 * all of it is other work); NAN when /proc/stat cannot be read. */
static double machine_busy_pct(double seconds) {
    char buf[4096];
    uint64_t b0, t0, b1, t1;
    if (st_read_text("/proc/stat", buf, sizeof buf) < 0 || st_parse_cpu_line(buf, &b0, &t0))
        return NAN;
    struct timespec ts = {(time_t)seconds, (long)((seconds - floor(seconds)) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    if (st_read_text("/proc/stat", buf, sizeof buf) < 0 || st_parse_cpu_line(buf, &b1, &t1) ||
        t1 <= t0)
        return NAN;
    return 100.0 * (double)(b1 - b0) / (double)(t1 - t0);
}

/* Waits (10 minutes at most, or until should_stop) for other work to drop below
 * cfg->wait_idle_pct of the machine. */
static void wait_idle(const nl_bench_config *cfg) {
    const double t0 = nl_now();
    double busy = machine_busy_pct(0.5);
    int said = 0;
    while (busy >= cfg->wait_idle_pct && nl_now() - t0 < 600 &&
           !(cfg->should_stop && cfg->should_stop(cfg->user))) {
        if (!said++ && cfg->progress) {
            nl_bench_progress p = {.what = "waiting", .other_pct = busy, .eta_s = NAN};
            cfg->progress(cfg->user, &p);
        }
        busy = machine_busy_pct(2.0);
    }
}

nl_status nl_bench_execute(const nl_bench_config *cfg, nl_bench_results *res, nl_error *err) {
    memset(res, 0, sizeof *res);
    const double t_bench = nl_now();
    if (!cfg->ncontestants || !cfg->nworkloads || cfg->runs < 1 || cfg->warmup < 0 ||
        cfg->epochs < 1 || !cfg->out_dir || !cfg->data_dir)
        return nl_error_set(err, NL_EINVAL,
                            "bench needs contestants, workloads, runs >= 1, epochs >= 1, an "
                            "output and a data directory");
    const double iv = cfg->interval_s > 0 ? cfg->interval_s : 0.1;
    res->dt = iv;
    nl_bench_machine_probe(&res->machine);
    res->ngroups = cfg->ncontestants * cfg->nworkloads;
    res->groups = calloc(res->ngroups, sizeof *res->groups);
    eta_state es = {0};
    es.sum = calloc(res->ngroups, sizeof *es.sum);
    es.n = calloc(res->ngroups, sizeof *es.n);
    if (!res->groups || !es.sum || !es.n) {
        free(es.sum);
        free(es.n);
        nl_bench_results_free(res);
        return nl_error_set(err, NL_ENOMEM, "out of memory");
    }
    for (size_t w = 0; w < cfg->nworkloads; w++)
        for (size_t c = 0; c < cfg->ncontestants; c++) {
            nl_bench_group *g = &res->groups[w * cfg->ncontestants + c];
            const nl_bench_contestant *ct = &cfg->contestants[c];
            snprintf(g->contestant, sizeof g->contestant, "%s", ct->name);
            snprintf(g->language, sizeof g->language, "%s", ct->language);
            if (nl_bench_is_model_file(cfg->workloads[w]))
                nl_bench_model_file_name(cfg->workloads[w], g->workload, sizeof g->workload);
            else
                snprintf(g->workload, sizeof g->workload, "%s", cfg->workloads[w]);
            model_for(cfg, ct, cfg->workloads[w], g->model, sizeof g->model);
            g->pct_vs_baseline = NAN;
            g->runs = calloc((size_t)cfg->runs, sizeof *g->runs);
            if (cfg->load_procs > 0) g->load_runs = calloc((size_t)cfg->runs, sizeof *g->load_runs);
            if (!g->runs || (cfg->load_procs > 0 && !g->load_runs)) {
                free(es.sum);
                free(es.n);
                nl_bench_results_free(res);
                return nl_error_set(err, NL_ENOMEM, "out of memory");
            }
        }

    char s_epochs[32], s_threads[32], s_limit[32], s_seed[32], s_ranks[32];
    snprintf(s_epochs, sizeof s_epochs, "%d", cfg->epochs);
    snprintf(s_threads, sizeof s_threads, "%d", cfg->threads);
    snprintf(s_limit, sizeof s_limit, "%llu", (unsigned long long)cfg->limit);
    const char *root = cfg->root_dir ? cfg->root_dir : NNLAB_SOURCE_DIR;
    const int rounds = cfg->warmup + cfg->runs;
    int done = 0, gpu_probed = 0;
    nl_status st = NL_OK;

    for (int round = 0; round < rounds && !st; round++) {
        const int warm = round < cfg->warmup;
        const int k = warm ? round + 1 : round - cfg->warmup + 1;
        for (size_t gi = 0; gi < res->ngroups && !st; gi++) {
            nl_bench_group *g = &res->groups[gi];
            if (g->status == NL_BENCH_SKIPPED) continue;
            const nl_bench_contestant *ct = &cfg->contestants[gi % cfg->ncontestants];
            /* phase 0 idle; with --load, phase 1 the same run under load (back to phase:) */
            const int last_phase = runs_in_round(cfg, round) - 1;
            int loaded = 0;
        phase:;
            char base[256], events[4096], outp[4096], logp[4096], csv[4096], name[200];
            bench_group_base(name, sizeof name, g);
            snprintf(base, sizeof base, "%s_%s%s%d", name, loaded ? "load_" : "",
                     warm ? "warmup" : "run", k);
#define PATH(buf, ext)                                                                             \
    do {                                                                                           \
        char f_[300];                                                                              \
        snprintf(f_, sizeof f_, "%s%s", base, ext);                                                \
        if ((st = bench_path(buf, sizeof buf, cfg->out_dir, f_, err))) goto stop;                  \
    } while (0)
            PATH(events, ".events");
            PATH(outp, ".out");
            PATH(logp, ".log");
            PATH(csv, ".csv");
#undef PATH
            unlink(events); /* contestants may append */
            snprintf(s_seed, sizeof s_seed, "%llu",
                     (unsigned long long)(cfg->seed + (uint64_t)(warm ? 0 : k - 1)));
            char model_path[4096];
            model_arg(cfg, root, cfg->workloads[gi / cfg->ncontestants], g->model, model_path,
                      sizeof model_path);
            nl_bench_vars vars = {.workload = g->model,
                                  .model = model_path,
                                  .dataset = cfg->dataset,
                                  .train_data = cfg->train_data,
                                  .test_data = cfg->test_data,
                                  .label = cfg->label,
                                  .device = cfg->peer_device,
                                  .data = cfg->data_dir,
                                  .epochs = s_epochs,
                                  .seed = s_seed,
                                  .events = events,
                                  .threads = ct->threads > 0 || cfg->threads > 0 ? s_threads : NULL,
                                  .limit = cfg->limit ? s_limit : NULL,
                                  .batch = "32",
                                  .nnlab = cfg->nnlab_path ? cfg->nnlab_path : "nnlab",
                                  .root = root,
                                  .out = cfg->out_dir,
                                  .ranks = s_ranks,
                                  .hostfile = cfg->hostfile};
            snprintf(s_threads, sizeof s_threads, "%d",
                     ct->threads > 0 ? ct->threads : cfg->threads);
            const int ranks = ct->ranks > 0 ? ct->ranks : cfg->ranks > 0 ? cfg->ranks : 1;
            snprintf(s_ranks, sizeof s_ranks, "%d", ranks);
            const double timeout_s = cfg->timeout_s > 0 ? cfg->timeout_s
                                     : cfg->timeout_s == 0
                                         ? nl_bench_default_timeout(g->model, cfg->epochs)
                                         : 0;
            int attempt = 0;
        again:
            if (cfg->wait_idle_pct > 0) wait_idle(cfg);
            nl_bench_run run = {0};
            run.k = k;
            bench_child child = {.events_path = events,
                                 .out_path = outp,
                                 .log_path = logp,
                                 .interval_s = iv,
                                 .timeout_s = timeout_s,
                                 .should_stop = cfg->should_stop,
                                 .user = cfg->user};
            nl_bench_progress pr = {.what = "start",
                                    .index = done + 1,
                                    .total = 0,
                                    .contestant = g->contestant,
                                    .workload = g->workload,
                                    .k = k,
                                    .runs = warm ? cfg->warmup : cfg->runs,
                                    .warmup = warm,
                                    .under_load = loaded,
                                    .eta_s = eta_estimate(&es, cfg, res, rounds, round, gi)};
            { /* runs still planned, this one included */
                int left = 0;
                for (int rd = round; rd < rounds; rd++)
                    for (size_t g2 = (rd == round ? gi : 0); g2 < res->ngroups; g2++)
                        left +=
                            (res->groups[g2].status != NL_BENCH_SKIPPED) * runs_in_round(cfg, rd);
                pr.total = done + left - loaded; /* the idle run of this group is done */
            }
            if (cfg->progress) cfg->progress(cfg->user, &pr);
            nl_error e2 = {0};
            if (nl_bench_expand(ct->command, &vars, &child.argv, &e2)) {
                run.status = NL_BENCH_FAILED;
                run.exit_status = -1;
                bench_strf(run.message, sizeof run.message, "command template: %s", e2.msg);
                run.time_to_train_s = run.wall_s = run.startup_s = NAN;
            } else if (cannot_start(cfg, ct, child.argv, vars.nnlab, ranks, run.message,
                                    sizeof run.message)) {
                run.status = NL_BENCH_SKIPPED;
                run.exit_status = -1;
                run.time_to_train_s = run.wall_s = run.startup_s = NAN;
                nl_bench_argv_free(child.argv);
            } else {
                bench_load load = {0};
                if (loaded) st = bench_load_start(&load, cfg->load_procs, cfg->load_command, err);
                if (!st) st = bench_child_run(&child, err);
                bench_load_stop(&load);
                if (!st) st = read_run(&run, &child, err);
                if (!st) st = write_run_csv(csv, &child, &run, err);
                if (!gpu_probed && child.info_valid) {
                    gpu_probed = 1;
                    const nl_stats_info *in = &child.info;
                    if (in->gpu_available)
                        snprintf(res->machine.gpu, sizeof res->machine.gpu, "%s (%d device%s)",
                                 in->gpu_name, in->gpu_count, in->gpu_count == 1 ? "" : "s");
                    else
                        bench_strf(res->machine.gpu, sizeof res->machine.gpu, "none (%s)",
                                   in->gpu_note[0] ? in->gpu_note : "no NVIDIA GPU seen");
                }
                free(child.rows);
                nl_bench_argv_free(child.argv);
                if (child.interrupted) res->interrupted = 1;
            }
            if (st) {
                nl_bench_run_free(&run);
                goto stop;
            }
            if (!warm && !loaded && cfg->max_other_pct > 0 && run.status == NL_BENCH_OK &&
                !res->interrupted) {
                const double other =
                    run.background_cpu_pct / (res->machine.cpus > 0 ? res->machine.cpus : 1);
                if (other > cfg->max_other_pct) {
                    if (attempt < cfg->retries) {
                        attempt++;
                        pr.what = "retry";
                        pr.run = &run;
                        pr.other_pct = other;
                        if (cfg->progress) cfg->progress(cfg->user, &pr);
                        nl_bench_run_free(&run);
                        goto again;
                    }
                    size_t ml = strlen(run.message);
                    bench_strf(
                        run.message + ml, sizeof run.message - ml,
                        "%sother processes used %.0f%% of the machine's CPU (above %.0f%%%s)",
                        ml ? "; " : "", other, cfg->max_other_pct,
                        cfg->retries ? ", after every retry" : "");
                }
            }
            done++;
            if (!res->interrupted && isfinite(run.wall_s)) {
                es.sum[gi] += run.wall_s, es.n[gi]++;
                es.sum_all += run.wall_s, es.n_all++;
            }
            if (run.status == NL_BENCH_SKIPPED) {
                g->status = NL_BENCH_SKIPPED;
                const char *why = run.message;
                if (!strncasecmp(why, "skipped:", 8)) why += 8; /* the hint itself */
                while (*why == ' ') why++;
                bench_strf(g->message, sizeof g->message, "%s", why);
            }
            pr.what = run.status == NL_BENCH_OK ? "done" : nl_bench_status_name(run.status);
            pr.run = &run;
            pr.eta_s = eta_estimate(&es, cfg, res, rounds, round, gi + 1 - (loaded < last_phase));
            if (cfg->progress) cfg->progress(cfg->user, &pr);
            if (run.status == NL_BENCH_SKIPPED || res->interrupted) {
                /* not a run of the group: nothing ran, or the user stopped it */
                nl_bench_run_free(&run);
            } else if (warm) {
                if (run.status == NL_BENCH_OK) { /* a warm-up leaves nothing behind */
                    unlink(events), unlink(outp), unlink(logp), unlink(csv);
                } else if (run.status == NL_BENCH_FAILED) {
                    warn(res, "%s on %s: warm-up run %d failed: %s (files %s.*)", g->contestant,
                         g->workload, k, run.message, base);
                }
                nl_bench_run_free(&run);
            } else if (loaded) {
                g->load_runs[g->nload_runs++] = run;
            } else {
                g->runs[g->nruns++] = run;
            }
            if (res->interrupted) {
                st = nl_error_set(err, NL_EINTR, "interrupted during %s on %s, run %d%s",
                                  g->contestant, g->workload, k, loaded ? " under load" : "");
                goto stop;
            }
            if (g->status != NL_BENCH_SKIPPED && loaded++ < last_phase) goto phase;
        }
    }
stop:
    free(es.sum);
    free(es.n);
    if (st && st != NL_EINTR) return st;
    for (size_t gi = 0; gi < res->ngroups; gi++) {
        nl_error e2 = {0};
        if (nl_bench_group_aggregate(&res->groups[gi], iv, &e2)) {
            return nl_error_set(err, e2.code, "%s", e2.msg);
        }
    }
    nl_bench_apply_baseline(res->groups, res->ngroups,
                            cfg->baseline ? cfg->baseline : cfg->contestants[0].name);
    res->elapsed_s = nl_now() - t_bench;
    return st;
}

void nl_bench_results_free(nl_bench_results *res) {
    if (!res) return;
    for (size_t i = 0; i < res->ngroups; i++) nl_bench_group_free(&res->groups[i]);
    free(res->groups);
    res->groups = NULL;
    res->ngroups = 0;
}
