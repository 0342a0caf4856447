/* nnlab bench: the study's experiment, automated (see nnlab/bench.h). */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "nnlab/bench.h"
#include "nnlab/data.h"
#include "nnlab/model.h"

static const char *CMD = "bench";

static void usage(FILE *f) {
    fprintf(f,
            "Usage: nnlab bench [OPTIONS]\n"
            "       nnlab bench compare DIR_A DIR_B [--threshold PCT]\n\n"
            "Runs every contestant (nnlab and the Python peers, plus yours) on every workload\n"
            "N times, interleaved (A B C A B C ...), each run watched by the monitor of\n"
            "'nnlab stats' (0.1 s samples of the whole process tree); aligns the runs on their\n"
            "run_start event, averages them, and writes Table 1, figures and a report.\n\n"
            "Options:\n"
            "  --runs N              measured runs per contestant and workload (default 5)\n"
            "  --workloads LIST      comma-separated (default mnist,cifar10); a name ending\n"
            "                        in .nnm or holding a '/' is your model file, trained by\n"
            "                        every contestant ({model}); one that cannot build a\n"
            "                        layer is reported as skipped\n"
            "  --contestants LIST    comma-separated names (default: all; a contestant whose\n"
            "                        framework is missing is reported as skipped); NAME@T is\n"
            "                        NAME at T threads, reported as NAME-tT (nnlab,nnlab@1,\n"
            "                        pytorch@1,pytorch@2 races four). The multi-process ones\n"
            "                        (nnlab-mpi under mpirun, pytorch-ddp under torchrun: their\n"
            "                        command has {ranks}) are in the default list only with\n"
            "                        --ranks above 1, and are named NAME-rR (R ranks);\n"
            "                        NAME@RxT is R ranks of T threads each, NAME-rR-tT\n"
            "                        (nnlab@2,nnlab-mpi@2x1 races 1 x 2 against 2 x 1)\n"
            "  --contestants-file F  more contestants (format: see --list); a name that is\n"
            "                        already known replaces the built-in one\n"
            "  --list                show the contestants and their command templates, exit\n"
            "  --epochs N            epochs (default 3)\n"
            "  --threads N           CPU threads for every contestant (default: all, %ld here);\n"
            "                        per rank for the multi-process ones\n"
            "  --ranks N             processes of the multi-process contestants ({ranks},\n"
            "                        default 1)\n"
            "  --hostfile FILE       the hosts of mpirun's ranks ({hostfile}; default: this\n"
            "                        machine only)\n"
            "  --limit N             train on the first N training samples only (smoke tests)\n"
            "  --data DIR            data directory (default: $NNLAB_DATA, else the cache);\n"
            "                        nothing is downloaded during the bench\n"
            "  --dataset NAME        train every workload on this built-in dataset\n"
            "  --train-data PATH     your own training data (.csv or .npz), for every\n"
            "                        contestant (no data directory needed)\n"
            "  --test-data PATH      your own test data, evaluated after every epoch\n"
            "  --label COL           the target column of .csv data (default: label)\n"
            "  --peer-device DEV     cpu or cuda: the peers' --device (nnlab stays on the\n"
            "                        CPU; without it the peers are not told, and use the CPU)\n"
            "  --out DIR             results directory (default nnlab-bench-DATE-TIME)\n"
            "  --warmup N            unmeasured runs per contestant and workload first\n"
            "                        (default 0)\n"
            "  --baseline NAME       contestant the %% differences refer to (default: the\n"
            "                        first one, nnlab)\n"
            "  --seed N              run k uses seed N + k - 1 (default 1)\n"
            "  --timeout SEC         stop a run after SEC seconds: it counts as failed\n"
            "                        (default: 10 min + 5 min per epoch on mnist, 20 min\n"
            "                        per epoch on cifar10; 0: no limit). A run's whole\n"
            "                        process group ends with it, and so does what its\n"
            "                        process tree leaves running (reported in its note)\n"
            "  --wait-idle PCT       before each run, wait (10 min at most) until other\n"
            "                        processes use less than PCT%% of the machine's CPU\n"
            "  --max-other-load PCT  repeat a run during which other processes used more\n"
            "                        than PCT%% of the machine's CPU (--retries times, then\n"
            "                        keep it with a note)\n"
            "  --retries N           repeats for --max-other-load (default 3)\n"
            "  --load N              speed under load: every measured run is done twice,\n"
            "                        idle and then with N busy processes alongside (a plain\n"
            "                        CPU spin each, started by the bench just before the run\n"
            "                        and ended right after it, the same for every contestant;\n"
            "                        none outlives the bench). The bench takes about twice as\n"
            "                        long; Table 1 stays the idle runs, the report adds \"speed\n"
            "                        under load\" (samples/s idle and under load side by side)\n"
            "  --load-command CMD    the load processes run 'sh -c CMD' instead of the spin\n"
            "                        (its output discarded; N defaults to 1)\n"
            "  --paper               the study's setup: Python contestants train its Python\n"
            "                        models (mnist-keras-paper, cifar10-keras-paper), 3 epochs,\n"
            "                        5 runs (unless --epochs/--runs say otherwise)\n"
            "  -h, --help            show this help\n\n"
            "Results in --out DIR: table.md, table.csv, table.json (Table 1: time-to-train\n"
            "mean +- sd, median, min, max, %% vs baseline, test accuracy, samples/s, peak RSS,\n"
            "mean CPU%%, peak GPU memory); report.html (self-contained) and report.md;\n"
            "figures/ (PNG + SVG, gnuplot); per run CONTESTANT_WORKLOAD_runK.csv (monitor\n"
            "samples, t_s = seconds since run_start), .events, .out, .log; per contestant and\n"
            "workload _aligned.csv and _mean.csv (the runs on a common 0.1 s grid, and their\n"
            "mean and sd); with --load also CONTESTANT_WORKLOAD_load_runK.* and the\n"
            "\"Speed under load\" table (table.md, table.csv load_* columns, table.json\n"
            "config.load and rows[].under_load). samples/s = the training samples a run\n"
            "logged (epoch_stop events) / its time-to-train. Progress goes to stderr;\n"
            "Table 1 is printed on stdout.\n\n"
            "Exit status: 0 when some run succeeded, 1 when none did or on errors, 2 usage,\n"
            "130 when interrupted (the results of the runs done are still written).\n\n"
            "nnlab bench compare DIR_A DIR_B [--threshold PCT]: the same contestant x workload\n"
            "in two result directories (their table.json; A before, B after), as a Markdown\n"
            "table on stdout: mean time-to-train +- sd of each, the change (positive: B is\n"
            "slower), the noise (2 standard errors of the difference of the means, from the\n"
            "runs' spread: a change within it may be chance; unknown with one run), samples/s\n"
            "and peak RSS. With --threshold PCT, exit status 1 when some pair got slower by\n"
            "more than PCT %% and beyond the noise (a regression); else 0.\n",
            sysconf(_SC_NPROCESSORS_ONLN));
}

static volatile sig_atomic_t g_stop = 0;
static void on_signal(int sig) {
    g_stop = sig;
}
static int should_stop(void *user) {
    (void)user;
    return g_stop != 0;
}

static void on_progress(void *user, const nl_bench_progress *p) {
    (void)user;
    char eta[64] = "";
    if (isfinite(p->eta_s) && p->eta_s >= 0.5) {
        long s = lround(p->eta_s);
        if (s >= 3600)
            snprintf(eta, sizeof eta, ", ETA %ld h %02ld min", s / 3600, s % 3600 / 60);
        else if (s >= 60)
            snprintf(eta, sizeof eta, ", ETA %ld min %02ld s", s / 60, s % 60);
        else
            snprintf(eta, sizeof eta, ", ETA %ld s", s);
    }
    const char *kind = p->warmup ? "warm-up" : p->under_load ? "under load, run" : "run";
    if (!strcmp(p->what, "waiting")) {
        fprintf(stderr, "nnlab bench: waiting for the machine: %.0f%% busy with other work\n",
                p->other_pct);
        return;
    }
    if (!strcmp(p->what, "retry")) {
        fprintf(stderr,
                "nnlab bench: [%d/%d] %s on %s, %s %d of %d: other processes used %.0f%% of "
                "the machine's CPU: repeating it\n",
                p->index, p->total, p->contestant, p->workload, p->warmup ? "warm-up" : "run", p->k,
                p->runs, p->other_pct);
        return;
    }
    if (!strcmp(p->what, "start")) {
        fprintf(stderr, "nnlab bench: [%d/%d] %s on %s, %s %d of %d ...%s\n", p->index, p->total,
                p->contestant, p->workload, kind, p->k, p->runs, eta);
        return;
    }
    const nl_bench_run *r = p->run;
    if (!strcmp(p->what, "done")) {
        fprintf(stderr, "nnlab bench: [%d/%d] %s on %s, %s %d of %d: %.2f s to train", p->index,
                p->total, p->contestant, p->workload, kind, p->k, p->runs, r->time_to_train_s);
        if (r->epochs > 0 && isfinite(r->test_accuracy[r->epochs - 1]))
            fprintf(stderr, ", test accuracy %.4f", r->test_accuracy[r->epochs - 1]);
        fprintf(stderr, " (start-up %.2f s, peak RSS %.0f MiB)%s\n", r->startup_s, r->rss_peak_mib,
                eta);
        if (r->background_cpu_pct >= 25 && !p->under_load)
            fprintf(stderr,
                    "nnlab bench:   warning: other processes used %.0f%% CPU meanwhile: this "
                    "time may be inflated\n",
                    r->background_cpu_pct);
        if (r->message[0]) fprintf(stderr, "nnlab bench:   note: %s\n", r->message);
    } else if (!strcmp(p->what, "skipped")) {
        fprintf(stderr, "nnlab bench: [%d/%d] %s on %s: SKIPPED: %s\n", p->index, p->total,
                p->contestant, p->workload, r->message);
    } else {
        fprintf(stderr, "nnlab bench: [%d/%d] %s on %s, %s %d of %d: FAILED: %s%s\n", p->index,
                p->total, p->contestant, p->workload, kind, p->k, p->runs, r->message, eta);
    }
}

/* mkdir -p */
static int make_dirs(const char *path) {
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) return -1;
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
            *p = '/';
        }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
    struct stat st;
    return stat(buf, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -1;
}

/* Splits a comma-separated list in place. */
static size_t split_list(char *s, char **out, size_t max) {
    size_t n = 0;
    for (char *tok = strtok(s, ","); tok && n < max; tok = strtok(NULL, ","))
        if (*tok) out[n++] = tok;
    return n;
}

static int file_exists(const char *dir, const char *sub, const char *name) {
    char p[PATH_MAX];
    struct stat st;
    if (snprintf(p, sizeof p, "%s/%s/%s", dir, sub, name) >= (int)sizeof p) return 0;
    if (stat(p, &st) == 0) return 1;
    if (snprintf(p, sizeof p, "%s/%s/%s.gz", dir, sub, name) >= (int)sizeof p) return 0;
    return stat(p, &st) == 0;
}

static void list_contestants(const nl_bench_contestant *c, size_t n) {
    printf("%-12s %-9s %s\n", "NAME", "LANGUAGE", "COMMAND TEMPLATE (from)");
    for (size_t i = 0; i < n; i++)
        printf("%-12s %-9s %s\n%22s(%s)\n", c[i].name, c[i].language, c[i].command, "",
               c[i].source);
    printf("\nFormat (bench/contestants.txt is the built-in file):\n");
    const char *t = nl_bench_builtin_contestants();
    /* its leading comment block documents the format */
    for (const char *p = t; *p == '#';) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        printf("%.*s\n", (int)len, p);
        if (!e) break;
        p = e + 1;
    }
}

/* "A → B" with "–" for an unknown side. */
static void pair_text(char *buf, size_t n, double a, double b) {
    char x[32] = "–", y[32] = "–";
    if (isfinite(a)) snprintf(x, sizeof x, "%.0f", a);
    if (isfinite(b)) snprintf(y, sizeof y, "%.0f", b);
    snprintf(buf, n, "%s → %s", x, y);
}

/* nnlab bench compare DIR_A DIR_B [--threshold PCT] */
static int bench_compare(int argc, char **argv) {
    const char *dirs[2] = {NULL, NULL};
    double threshold = -1;
    int nd = 0;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int r;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return CLI_OK;
        }
        if ((r = cli_opt_value(CMD, argc, argv, &i, "--threshold", &v)) != 0) {
            if (r < 0 || cli_parse_double(CMD, "--threshold", v, 0, 1e6, &threshold))
                return CLI_USAGE;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_usage_error(CMD, "compare: unknown option '%s'", argv[i]);
        } else if (nd < 2) {
            dirs[nd++] = argv[i];
        } else {
            return cli_usage_error(CMD, "compare: unexpected argument '%s' (give two directories)",
                                   argv[i]);
        }
    }
    if (nd != 2) return cli_usage_error(CMD, "compare needs two result directories: DIR_A DIR_B");
    nl_error err = {0};
    nl_bench_compare_row *rows = NULL;
    size_t n = 0;
    if (nl_bench_compare_dirs(dirs[0], dirs[1], threshold, &rows, &n, &err)) {
        cli_error(CMD, "compare: %s", err.msg);
        return CLI_ERR;
    }
    printf("# nnlab bench compare\n\nA: %s\nB: %s\n\n", dirs[0], dirs[1]);
    printf("| workload | contestant | A: time-to-train (s) | B: time-to-train (s) | change | "
           "noise | verdict | samples/s A → B | peak RSS (MiB) A → B |\n");
    printf("|---|---|---:|---:|---:|---:|---|---:|---:|\n");
    int regressions = 0;
    for (size_t i = 0; i < n; i++) {
        const nl_bench_compare_row *x = &rows[i];
        char a[64], b[64], ch[32], no[32], sps[64], rss[64];
        const nl_bench_stat *st[2] = {&x->a, &x->b};
        char *cell[2] = {a, b};
        for (int k = 0; k < 2; k++) {
            if (st[k]->n == 0)
                snprintf(cell[k], 64, "–");
            else if (st[k]->n > 1 && isfinite(st[k]->sd))
                snprintf(cell[k], 64, "%.3f ± %.3f (%d)", st[k]->mean, st[k]->sd, st[k]->n);
            else
                snprintf(cell[k], 64, "%.3f (%d)", st[k]->mean, st[k]->n);
        }
        if (isfinite(x->change_pct))
            snprintf(ch, sizeof ch, "%+.1f %%", x->change_pct);
        else
            snprintf(ch, sizeof ch, "–");
        if (isfinite(x->noise_pct))
            snprintf(no, sizeof no, "± %.1f %%", x->noise_pct);
        else
            snprintf(no, sizeof no, "unknown");
        const char *verdict = x->a.n == 0            ? "only in B"
                              : x->b.n == 0          ? "only in A"
                              : x->regression        ? "REGRESSION"
                              : x->beyond_noise == 0 ? "within the noise"
                              : x->beyond_noise < 0  ? (x->change_pct > 0 ? "slower (noise unknown)"
                                                                          : "faster (noise unknown)")
                              : x->change_pct > 0    ? "slower"
                                                     : "faster";
        regressions += x->regression;
        pair_text(sps, sizeof sps, x->sps_a, x->sps_b);
        pair_text(rss, sizeof rss, x->rss_a, x->rss_b);
        printf("| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", x->workload, x->contestant, a, b,
               ch, no, verdict, sps, rss);
    }
    free(rows);
    if (threshold >= 0) {
        printf("\n%d regression%s beyond %.1f %% and the noise.\n", regressions,
               regressions == 1 ? "" : "s", threshold);
        if (regressions) return CLI_ERR;
    }
    return CLI_OK;
}

/* The data options: --dataset or --train-data, not both; the files must exist. */
static int check_data_options(const char *dataset, const char *train, const char *test,
                              const char *label) {
    if (dataset && train)
        return cli_usage_error(CMD, "--dataset and --train-data exclude each other");
    if (test && !train) return cli_usage_error(CMD, "--test-data needs --train-data");
    if (label && !train) return cli_usage_error(CMD, "--label needs --train-data");
    if (dataset && strcmp(dataset, "mnist") && strcmp(dataset, "cifar10"))
        return cli_usage_error(CMD, "--dataset: unknown dataset '%s' (built in: mnist, cifar10)",
                               dataset);
    const char *files[2] = {train, test};
    for (int i = 0; i < 2; i++) {
        struct stat st;
        if (files[i] && (stat(files[i], &st) != 0 || !S_ISREG(st.st_mode))) {
            cli_error(CMD, "%s: %s", files[i], errno ? strerror(errno) : "not a regular file");
            return CLI_ERR;
        }
    }
    return CLI_OK;
}

/* A model file given as a workload: it must be a readable regular file (each
 * contestant reads and checks it). */
static int check_model_file(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) {
        cli_error(CMD, "model file %s: %s", path, strerror(errno));
        return CLI_ERR;
    }
    if (!S_ISREG(st.st_mode) || access(path, R_OK) != 0) {
        cli_error(CMD, "model file %s: not a readable regular file", path);
        return CLI_ERR;
    }
    return CLI_OK;
}

int cmd_bench(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "compare")) return bench_compare(argc - 1, argv + 1);
    long runs = 5, epochs = 3, threads = 0, warmup = 0;
    double timeout = 0, wait_idle = 0, max_other = 0;
    long retries = 3, load = 0, ranks = 0;
    const char *load_command = NULL;
    int timeout_set = 0;
    uint64_t limit = 0, seed = 1;
    const char *workloads_opt = NULL, *contestants_opt = NULL, *file_opt = NULL, *out_opt = NULL,
               *data_opt = NULL, *baseline = NULL;
    const char *dataset_opt = NULL, *train_opt = NULL, *test_opt = NULL, *label_opt = NULL,
               *device_opt = NULL, *hostfile_opt = NULL;
    int paper = 0, list = 0, runs_set = 0, epochs_set = 0;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int r;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return CLI_OK;
        }
#define OPT(name) ((r = cli_opt_value(CMD, argc, argv, &i, name, &v)) != 0)
        if (OPT("--runs")) {
            if (r < 0 || cli_parse_int(CMD, "--runs", v, 1, 1000, &runs)) return CLI_USAGE;
            runs_set = 1;
        } else if (OPT("--workloads")) {
            if (r < 0) return CLI_USAGE;
            workloads_opt = v;
        } else if (OPT("--contestants-file")) {
            if (r < 0) return CLI_USAGE;
            file_opt = v;
        } else if (OPT("--contestants")) {
            if (r < 0) return CLI_USAGE;
            contestants_opt = v;
        } else if (OPT("--epochs")) {
            if (r < 0 || cli_parse_int(CMD, "--epochs", v, 1, NL_BENCH_MAX_EPOCHS, &epochs))
                return CLI_USAGE;
            epochs_set = 1;
        } else if (OPT("--ranks")) {
            if (r < 0 || cli_parse_int(CMD, "--ranks", v, 1, 4096, &ranks)) return CLI_USAGE;
        } else if (OPT("--hostfile")) {
            if (r < 0) return CLI_USAGE;
            if (!*v) return cli_usage_error(CMD, "--hostfile needs a file");
            hostfile_opt = v;
        } else if (OPT("--threads")) {
            if (r < 0 || cli_parse_int(CMD, "--threads", v, 1, 1024, &threads)) return CLI_USAGE;
        } else if (OPT("--limit")) {
            if (r < 0 || cli_parse_u64(CMD, "--limit", v, &limit)) return CLI_USAGE;
            if (limit == 0) return cli_usage_error(CMD, "--limit must be at least 1");
        } else if (OPT("--data")) {
            if (r < 0) return CLI_USAGE;
            data_opt = v;
        } else if (OPT("--dataset")) {
            if (r < 0) return CLI_USAGE;
            dataset_opt = v;
        } else if (OPT("--train-data")) {
            if (r < 0) return CLI_USAGE;
            train_opt = v;
        } else if (OPT("--test-data")) {
            if (r < 0) return CLI_USAGE;
            test_opt = v;
        } else if (OPT("--label")) {
            if (r < 0) return CLI_USAGE;
            label_opt = v;
        } else if (OPT("--peer-device")) {
            if (r < 0) return CLI_USAGE;
            if (strcmp(v, "cpu") && strcmp(v, "cuda"))
                return cli_usage_error(CMD, "--peer-device: '%s': expected cpu or cuda", v);
            device_opt = v;
        } else if (OPT("--out")) {
            if (r < 0) return CLI_USAGE;
            out_opt = v;
        } else if (OPT("--warmup")) {
            if (r < 0 || cli_parse_int(CMD, "--warmup", v, 0, 100, &warmup)) return CLI_USAGE;
        } else if (OPT("--baseline")) {
            if (r < 0) return CLI_USAGE;
            baseline = v;
        } else if (OPT("--seed")) {
            if (r < 0 || cli_parse_u64(CMD, "--seed", v, &seed)) return CLI_USAGE;
        } else if (OPT("--timeout")) {
            if (r < 0 || cli_parse_double(CMD, "--timeout", v, 0, 1e7, &timeout)) return CLI_USAGE;
            timeout_set = 1;
        } else if (OPT("--wait-idle")) {
            if (r < 0 || cli_parse_double(CMD, "--wait-idle", v, 1, 100, &wait_idle))
                return CLI_USAGE;
        } else if (OPT("--max-other-load")) {
            if (r < 0 || cli_parse_double(CMD, "--max-other-load", v, 1, 100, &max_other))
                return CLI_USAGE;
        } else if (OPT("--retries")) {
            if (r < 0 || cli_parse_int(CMD, "--retries", v, 0, 100, &retries)) return CLI_USAGE;
        } else if (OPT("--load")) {
            if (r < 0 || cli_parse_int(CMD, "--load", v, 1, 256, &load)) return CLI_USAGE;
        } else if (OPT("--load-command")) {
            if (r < 0) return CLI_USAGE;
            if (!*v) return cli_usage_error(CMD, "--load-command needs a command");
            load_command = v;
        } else if (!strcmp(argv[i], "--paper")) {
            paper = 1;
        } else if (!strcmp(argv[i], "--list")) {
            list = 1;
        } else if (argv[i][0] == '-') {
            return cli_usage_error(CMD, "unknown option '%s'", argv[i]);
        } else {
            return cli_usage_error(CMD, "unexpected argument '%s'", argv[i]);
        }
#undef OPT
    }
    if (load_command && load == 0) load = 1;
    if (paper) {
        if (!runs_set) runs = 5;
        if (!epochs_set) epochs = 3;
    }

    /* ---- contestants ---- */
    nl_error err = {0};
    nl_bench_contestant *all = NULL, *chosen = NULL;
    size_t nall = 0, nchosen = 0;
    int rc = CLI_ERR;
    char *wl_buf = NULL, *ct_buf = NULL;
    nl_bench_results res = {0};
    char cmdline[4096] = "";
    if (nl_bench_contestants_parse(nl_bench_builtin_contestants(), "bench/contestants.txt", &all,
                                   &nall, &err)) {
        cli_error(CMD, "built-in contestants: %s", err.msg);
        goto done;
    }
    if (file_opt && nl_bench_contestants_load(file_opt, &all, &nall, &err)) {
        rc = cli_usage_error(CMD, "--contestants-file: %s", err.msg);
        goto done;
    }
    if (list) {
        list_contestants(all, nall);
        rc = CLI_OK;
        goto done;
    }
    chosen = calloc(nall + 64, sizeof *chosen); /* + the NAME@T variants */
    if (!chosen) goto done;
    if (contestants_opt) {
        ct_buf = strdup(contestants_opt);
        char *names[64];
        size_t n = ct_buf ? split_list(ct_buf, names, 64) : 0;
        if (n == 0) {
            rc = cli_usage_error(CMD, "--contestants: empty list");
            goto done;
        }
        for (size_t i = 0; i < n; i++) {
            long th = 0, rk = 0;
            char *at = strchr(names[i], '@');
            if (at) {
                *at = '\0';
                char *x = strchr(at + 1, 'x');
                if (x) { /* NAME@RxT */
                    *x = '\0';
                    if (cli_parse_int(CMD, "--contestants NAME@RANKSxTHREADS", at + 1, 1, 4096,
                                      &rk) ||
                        cli_parse_int(CMD, "--contestants NAME@RANKSxTHREADS", x + 1, 1, 1024,
                                      &th)) {
                        rc = CLI_USAGE;
                        goto done;
                    }
                } else if (cli_parse_int(CMD, "--contestants NAME@THREADS", at + 1, 1, 1024, &th)) {
                    rc = CLI_USAGE;
                    goto done;
                }
            }
            size_t j = 0;
            while (j < nall && strcmp(all[j].name, names[i])) j++;
            if (j == nall) {
                char known[1024] = "";
                for (size_t k = 0; k < nall; k++)
                    snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s",
                             k ? ", " : "", all[k].name);
                rc = cli_usage_error(CMD, "unknown contestant '%s' (known: %s)", names[i], known);
                goto done;
            }
            nl_bench_contestant c = all[j];
            if (rk > 0 && !nl_bench_contestant_multiprocess(&all[j])) {
                rc = cli_usage_error(CMD,
                                     "--contestants %s@%ldx%ld: %s runs one process (its "
                                     "command has no {ranks}); give %s@%ld for threads",
                                     names[i], rk, th, names[i], names[i], th);
                goto done;
            }
            if (nl_bench_contestant_multiprocess(&all[j])
                    ? nl_bench_contestant_ranks(&all[j],
                                                (int)(rk > 0      ? rk
                                                      : ranks > 0 ? ranks
                                                                  : 1),
                                                (int)th, &c, &err)
                    : th > 0 && nl_bench_contestant_variant(&all[j], (int)th, &c, &err)) {
                rc = cli_usage_error(CMD, "--contestants: %s", err.msg);
                goto done;
            }
            int dup = 0;
            for (size_t k = 0; k < nchosen; k++) dup |= !strcmp(chosen[k].name, c.name);
            if (!dup) chosen[nchosen++] = c;
        }
    } else { /* all; the multi-process ones only with more than one rank */
        for (size_t j = 0; j < nall; j++) {
            if (!nl_bench_contestant_multiprocess(&all[j])) {
                chosen[nchosen++] = all[j];
            } else if (ranks > 1) {
                if (nl_bench_contestant_ranks(&all[j], (int)ranks, 0, &chosen[nchosen], &err)) {
                    rc = cli_usage_error(CMD, "%s", err.msg);
                    goto done;
                }
                nchosen++;
            }
        }
    }
    if (baseline) {
        int found = 0;
        for (size_t k = 0; k < nchosen; k++) found |= !strcmp(chosen[k].name, baseline);
        if (!found) {
            rc = cli_usage_error(CMD, "--baseline %s is not among the contestants", baseline);
            goto done;
        }
    }

    /* ---- workloads and data ---- */
    wl_buf = strdup(workloads_opt ? workloads_opt : "mnist,cifar10");
    char *wl[16];
    size_t nwl = wl_buf ? split_list(wl_buf, wl, 16) : 0;
    if (nwl == 0) {
        rc = cli_usage_error(CMD, "--workloads: empty list");
        goto done;
    }
    if ((rc = check_data_options(dataset_opt, train_opt, test_opt, label_opt)) != CLI_OK) goto done;
    rc = CLI_ERR;
    for (size_t i = 0; i < nwl; i++) {
        const nl_workload_info *wi = nl_workload_find(wl[i]);
        if (!wi && nl_bench_is_model_file(wl[i])) {
            if ((rc = check_model_file(wl[i])) != CLI_OK) goto done;
            rc = CLI_ERR;
            for (size_t j = 0; j < i; j++)
                if (!strcmp(wl[i], wl[j])) {
                    rc = cli_usage_error(CMD, "workload '%s' given twice", wl[i]);
                    goto done;
                }
            continue;
        }
        if (!wi) {
            rc = cli_usage_error(CMD,
                                 "unknown workload '%s' (known: mnist, cifar10, "
                                 "mnist-keras-paper, cifar10-keras-paper, or a model file "
                                 "FILE.nnm)",
                                 wl[i]);
            goto done;
        }
        for (size_t j = 0; j < i; j++)
            if (!strcmp(wl[i], wl[j])) {
                rc = cli_usage_error(CMD, "workload '%s' given twice", wl[i]);
                goto done;
            }
    }
    char data[PATH_MAX];
    if (cli_data_dir(data_opt, data, sizeof data, &err)) {
        if (!train_opt) {
            cli_error(CMD, "%s", err.msg);
            goto done;
        }
        /* own data: no data directory is read, {data} is only passed on */
        snprintf(data, sizeof data, "%s", data_opt ? data_opt : ".");
    }
    for (size_t i = 0; i < nwl && !train_opt; i++) {
        const nl_workload_info *wi = nl_workload_find(wl[i]);
        const char *ds = dataset_opt ? dataset_opt : wi ? wi->dataset : NULL;
        if (!ds) continue; /* a model file: its `dataset` line, checked by each contestant */
        int mn = !strcmp(ds, "mnist");
        if (!file_exists(data, mn ? "mnist" : "cifar-10-batches-bin",
                         mn ? "train-images-idx3-ubyte" : "data_batch_1.bin")) {
            cli_error(CMD,
                      "no %s data in %s/%s (the bench never downloads during a run: fetch "
                      "first with 'nnlab data fetch %s --data %s', or give --data DIR)",
                      mn ? "MNIST" : "CIFAR-10", data, mn ? "mnist" : "cifar-10-batches-bin", ds,
                      data);
            goto done;
        }
    }

    /* ---- output directory ---- */
    char out[PATH_MAX];
    if (out_opt) {
        snprintf(out, sizeof out, "%s", out_opt);
    } else {
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        strftime(out, sizeof out, "nnlab-bench-%Y%m%d-%H%M%S", &tm);
    }
    if (make_dirs(out) != 0) {
        cli_error(CMD, "cannot create the output directory %s: %s", out, strerror(errno));
        goto done;
    }
    char self[PATH_MAX];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    if (sl > 0)
        self[sl] = '\0';
    else
        snprintf(self, sizeof self, "%s", "nnlab");
    {
        size_t len = 0;
        len += (size_t)snprintf(cmdline + len, sizeof cmdline - len, "nnlab");
        for (int i = 0; i < argc && len < sizeof cmdline; i++)
            len += (size_t)snprintf(cmdline + len, sizeof cmdline - len,
                                    strpbrk(argv[i], " \t'\"") ? " '%s'" : " %s", argv[i]);
    }

    if (threads == 0)
        threads = sysconf(_SC_NPROCESSORS_ONLN) > 0 ? sysconf(_SC_NPROCESSORS_ONLN) : 1;
    nl_bench_config cfg = {.contestants = chosen,
                           .ncontestants = nchosen,
                           .workloads = (const char *const *)wl,
                           .nworkloads = nwl,
                           .runs = (int)runs,
                           .warmup = (int)warmup,
                           .epochs = (int)epochs,
                           .threads = (int)threads,
                           .ranks = ranks > 0 ? (int)ranks : 1,
                           .hostfile = hostfile_opt,
#ifdef NNLAB_HAVE_MPI
                           .nnlab_without_mpi = 0,
#else
                           .nnlab_without_mpi = 1,
#endif
                           .limit = limit,
                           .seed = seed,
                           .paper = paper,
                           .data_dir = data,
                           .out_dir = out,
                           .baseline = baseline,
                           .nnlab_path = self,
                           .root_dir = getenv("NNLAB_ROOT"),
                           .dataset = dataset_opt,
                           .train_data = train_opt,
                           .test_data = test_opt,
                           .label = label_opt,
                           .peer_device = device_opt,
                           .interval_s = 0.1,
                           .timeout_s = !timeout_set  ? 0
                                        : timeout > 0 ? timeout
                                                      : -1,
                           .wait_idle_pct = wait_idle,
                           .max_other_pct = max_other,
                           .retries = (int)retries,
                           .load_procs = (int)load,
                           .load_command = load_command,
                           .command_line = cmdline,
                           .progress = on_progress,
                           .should_stop = should_stop,
                           .user = NULL};
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    cli_note(CMD,
             "%zu contestant%s x %zu workload%s x %ld run%s%s, %ld epoch%s, %ld threads; "
             "data %s; results in %s",
             nchosen, nchosen == 1 ? "" : "s", nwl, nwl == 1 ? "" : "s", runs, runs == 1 ? "" : "s",
             warmup ? " (+ warm-up)" : "", epochs, epochs == 1 ? "" : "s", threads, data, out);
    if (load)
        cli_note(CMD, "each run also under load: %ld busy process%s (%s) alongside", load,
                 load == 1 ? "" : "es", load_command ? load_command : "a plain CPU spin");

    nl_status st = nl_bench_execute(&cfg, &res, &err);
    if (st && st != NL_EINTR) {
        cli_error(CMD, "%s", err.msg);
        goto done;
    }
    if (st == NL_EINTR) cli_note(CMD, "%s: writing the results of the runs done", err.msg);
    nl_error e2 = {0};
    if (nl_bench_write_table(out, &cfg, &res, &e2) || nl_bench_write_series(out, &res, &e2)) {
        cli_error(CMD, "%s", e2.msg);
        goto done;
    }
    if (nl_bench_write_figures(out, &cfg, &res, &e2)) cli_note(CMD, "warning: %s", e2.msg);
    if (nl_bench_write_report(out, &cfg, &res, &e2)) {
        cli_error(CMD, "%s", e2.msg);
        goto done;
    }
    if (res.warnings[0]) fprintf(stderr, "nnlab bench: warnings:\n%s", res.warnings);

    /* Table 1 on stdout */
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/table.md", out);
    FILE *f = fopen(path, "r");
    if (f) {
        char buf[4096];
        size_t got;
        while ((got = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, got, stdout);
        fclose(f);
    }
    fflush(stdout);
    int any_ok = 0;
    for (size_t i = 0; i < res.ngroups; i++) any_ok |= res.groups[i].runs_ok > 0;
    cli_note(CMD,
             "done in %.0f s; report: %s/report.html (also report.md, table.csv, "
             "table.json, figures/)",
             res.elapsed_s, out);
    rc = res.interrupted ? 130 : any_ok ? CLI_OK : CLI_ERR;
    if (!any_ok && !res.interrupted) cli_error(CMD, "no run succeeded");
done:
    nl_bench_results_free(&res);
    free(all);
    free(chosen);
    free(wl_buf);
    free(ct_buf);
    return rc;
}
