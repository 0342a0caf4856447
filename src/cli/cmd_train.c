/* nnlab train WORKLOAD: load data, build, train, evaluate every epoch, report. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/datasets.h"
#include "cli/modelsrc.h"
#include "cli/progress.h"
#include "nnlab/core.h"
#include "nnlab/data.h"
#include "nnlab/fetch.h"
#include "nnlab/model.h"
#include "nnlab/optim.h"
#include "nnlab/train.h"

static const char *CMD = "train";

static void usage(FILE *f) {
    fprintf(
        f, "Usage: nnlab train MODEL [OPTIONS]\n\n"
           "Trains a model and reports test accuracy after every epoch. MODEL is a shipped\n"
           "model (see 'nnlab models': the study's workloads and more) or a model file\n"
           "(FILE.nnm, or any path with a '/'; docs/model-file.md). The file's batch, epochs,\n"
           "seed, optimizer, schedule and dataset lines are the defaults the options below\n"
           "override; the study's: 3 epochs, batch 32, Adam (lr 1e-3).\n\n"
           "Options:\n"
           "  --data DIR         data directory (default: $NNLAB_DATA, else $XDG_CACHE_HOME/nnlab\n"
           "                     or ~/.cache/nnlab); MNIST in DIR/mnist/, CIFAR-10 in\n"
           "                     DIR/cifar-10-batches-bin/\n"
           "  --offline          never download a missing dataset (also NNLAB_OFFLINE=1);\n"
           "                     by default a missing dataset is fetched into DIR first\n"
           "                     (the download is never part of the measured run)\n"
           "  --dataset NAME     train on another dataset of the same input shape: the\n"
           "                     last layer gets one unit per class (see below)\n"
           "  --epochs N         epochs (default: the model's, else 3)\n"
           "  --batch N          batch size (default: the model's, else 32)\n"
           "  --lr X             learning rate (default: the model's)\n"
           "  --optimizer NAME   adam, adamw or sgd (default: the model's)\n"
           "  --weight-decay X   adamw decoupled weight decay (default 0.01)\n"
           "  --momentum X       sgd momentum (default 0)\n"
           "  --seed N           seed for initialisation, shuffling and dropout (default:\n"
           "                     the model's, else 0)\n"
           "  --threads N        threads for nnlab and BLAS (default: all cores)\n"
           "  --limit N          train on the first N training samples only\n"
           "  --save FILE        write the trained model (with optimizer state) to FILE\n"
           "  --save-init FILE   write the initial model (before the first step) to FILE\n"
           "  --no-shuffle       train on the batches in dataset order (default: reshuffled\n"
           "                     every epoch)\n"
           "  --dropout X        drop rate of every dropout layer instead of the workload's\n"
           "                     (0: dropout off)\n"
           "  --step-log FILE    write every step's loss (the mean over its batch) to FILE as\n"
           "                     CSV: a header 'step,loss', then one line per step\n"
           "  --save-steps DIR   write the model (with optimizer state) after every step to\n"
           "                     DIR/step-N.nlm, N the optimizer's step (1, 2, ...)\n"
           "  --events FILE      write MLPerf-style event lines to FILE ('-': stdout);\n"
           "                     default $NNLAB_EVENTS, else no events. A FIFO or pipe\n"
           "                     works if its reader is already there; a reader that\n"
           "                     stalls for 10 s ends the events. A failed event write\n"
           "                     (disk full, reader gone) makes the run exit 1\n"
           "  --json             print one JSON object with the results on stdout\n"
           "  --quiet            no progress on stderr\n"
           "  -h, --help         show this help\n\n"
           "Same seed and same thread count give bit-identical results.\n");
    cli_print_datasets(f);
}

static volatile sig_atomic_t g_stop = 0;
static void on_signal(int sig) {
    g_stop = sig;
}

typedef struct fetch_ui {
    int quiet, tty, announced;
    double last;
} fetch_ui;

static int fetch_progress(void *user, const char *file, uint64_t done, uint64_t total) {
    fetch_ui *u = user;
    if (u->quiet) return 0;
    if (!u->announced) {
        u->announced = 1;
        fprintf(stderr, "nnlab train: dataset missing: downloading it first (not measured; "
                        "--offline prevents this)\n");
    }
    double now = nl_now();
    if (u->tty && (now - u->last >= 0.1 || (total && done == total))) {
        u->last = now;
        if (total)
            fprintf(stderr, "\r  %s: %.1f / %.1f MiB\033[K", file, (double)done / 1048576.0,
                    (double)total / 1048576.0);
        else
            fprintf(stderr, "\r  %s: %.1f MiB\033[K", file, (double)done / 1048576.0);
        if (total && done == total) fputc('\n', stderr);
    }
    return g_stop != 0;
}

/* What the training hooks write to: the progress lines, the --step-log file
 * and the --save-steps models. A failure in step_end stops training (through
 * should_stop) and is reported afterwards. */
typedef struct train_ui {
    progress prog;
    FILE *step_log; /* NULL: no step log */
    const char *step_log_path;
    const char *save_steps; /* NULL: no model per step */
    const nl_model *m;
    const nl_optimizer *opt;
    const char *workload;
    nl_error err; /* the first failure in step_end (err.code != 0) */
} train_ui;

static void hook_epoch_start(void *u, int e, int n, int steps) {
    progress_epoch_start(&((train_ui *)u)->prog, e, n, steps);
}
static void hook_step(void *u, int e, int s, int steps, size_t samples, double loss, double acc,
                      double secs) {
    progress_step(&((train_ui *)u)->prog, s, samples, loss, acc, secs);
}
static void hook_epoch_end(void *u, const nl_epoch_stats *s) {
    progress_epoch_end(&((train_ui *)u)->prog, s);
}
static void hook_step_end(void *u, uint64_t step, float loss) {
    train_ui *ui = u;
    if (ui->err.code) return;
    if (ui->step_log &&
        fprintf(ui->step_log, "%llu,%.9g\n", (unsigned long long)step, (double)loss) < 0)
        nl_error_set(&ui->err, NL_EIO, "%s: write error on the step log at step %llu",
                     ui->step_log_path, (unsigned long long)step);
    if (ui->save_steps) {
        char path[4096];
        if (snprintf(path, sizeof path, "%s/step-%llu.nlm", ui->save_steps,
                     (unsigned long long)step) >= (int)sizeof path)
            nl_error_set(&ui->err, NL_EINVAL, "--save-steps: path too long: %s", ui->save_steps);
        else
            nl_model_save(path, ui->m, ui->workload, ui->opt, &ui->err);
    }
}
static int hook_should_stop(void *u) {
    return g_stop != 0 || ((train_ui *)u)->err.code != 0;
}

int cmd_train(int argc, char **argv) {
    const char *workload = NULL, *data_opt = NULL, *dataset_opt = NULL, *save = NULL;
    const char *save_init = NULL, *step_log_path = NULL, *save_steps = NULL;
    const char *events_path = getenv("NNLAB_EVENTS"), *opt_name = NULL;
    long epochs = -1, batch = -1, threads = 0; /* -1: the model's */
    uint64_t seed = 0, limit = 0;
    int seed_set = 0;
    double lr = -1, wd = -1, momentum = -1, dropout = -1;
    int json = 0, quiet = 0, offline = 0, shuffle = 1;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int r;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return CLI_OK;
        }
#define OPT(name) ((r = cli_opt_value(CMD, argc, argv, &i, name, &v)) != 0)
        if (OPT("--data")) {
            if (r < 0) return CLI_USAGE;
            data_opt = v;
        } else if (OPT("--dataset")) {
            if (r < 0) return CLI_USAGE;
            dataset_opt = v;
        } else if (OPT("--epochs")) {
            if (r < 0 || cli_parse_int(CMD, "--epochs", v, 1, 100000, &epochs)) return CLI_USAGE;
        } else if (OPT("--batch")) {
            if (r < 0 || cli_parse_int(CMD, "--batch", v, 1, 65536, &batch)) return CLI_USAGE;
        } else if (OPT("--lr")) {
            if (r < 0 || cli_parse_double(CMD, "--lr", v, 1e-12, 100, &lr)) return CLI_USAGE;
        } else if (OPT("--optimizer")) {
            if (r < 0) return CLI_USAGE;
            opt_name = v;
        } else if (OPT("--weight-decay")) {
            if (r < 0 || cli_parse_double(CMD, "--weight-decay", v, 0, 10, &wd)) return CLI_USAGE;
        } else if (OPT("--momentum")) {
            if (r < 0 || cli_parse_double(CMD, "--momentum", v, 0, 0.9999, &momentum))
                return CLI_USAGE;
        } else if (OPT("--seed")) {
            if (r < 0 || cli_parse_u64(CMD, "--seed", v, &seed)) return CLI_USAGE;
            seed_set = 1;
        } else if (OPT("--threads")) {
            if (r < 0 || cli_parse_int(CMD, "--threads", v, 1, 1024, &threads)) return CLI_USAGE;
        } else if (OPT("--limit")) {
            if (r < 0 || cli_parse_u64(CMD, "--limit", v, &limit)) return CLI_USAGE;
            if (limit == 0) return cli_usage_error(CMD, "--limit must be at least 1");
        } else if (OPT("--save")) {
            if (r < 0) return CLI_USAGE;
            save = v;
        } else if (OPT("--save-init")) {
            if (r < 0) return CLI_USAGE;
            save_init = v;
        } else if (OPT("--save-steps")) {
            if (r < 0) return CLI_USAGE;
            save_steps = v;
        } else if (OPT("--step-log")) {
            if (r < 0) return CLI_USAGE;
            step_log_path = v;
        } else if (OPT("--dropout")) {
            if (r < 0 || cli_parse_double(CMD, "--dropout", v, 0, 0.99, &dropout)) return CLI_USAGE;
        } else if (!strcmp(argv[i], "--no-shuffle")) {
            shuffle = 0;
        } else if (OPT("--events")) {
            if (r < 0) return CLI_USAGE;
            events_path = v;
        } else if (!strcmp(argv[i], "--offline")) {
            offline = 1;
        } else if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q")) {
            quiet = 1;
        } else if (argv[i][0] == '-') {
            return cli_usage_error(CMD, "unknown option '%s'", argv[i]);
        } else if (!workload) {
            workload = argv[i];
        } else {
            return cli_usage_error(CMD, "unexpected argument '%s' (one model at a time)", argv[i]);
        }
#undef OPT
    }
    if (!workload) return cli_usage_error(CMD, "missing MODEL (see 'nnlab models')");
    /* the model (modelsrc.h): its file's lines are the defaults of the options */
    static cli_model_src ms;
    int mrc = cli_model_resolve(CMD, workload, &ms);
    if (mrc != CLI_OK) return mrc;
    const nl_nnm *nnm = &ms.nnm;
    workload = ms.name;
    if (epochs < 0) epochs = nnm->epochs;
    if (batch < 0) batch = nnm->batch;
    if (!seed_set) seed = nnm->seed;
    if (!dataset_opt && !nnm->dataset[0])
        return cli_usage_error(CMD, "%s names no dataset: pass --dataset NAME", nnm->name);
    cli_dataset ds;
    {
        nl_error derr = {0};
        if (cli_dataset_resolve(dataset_opt ? dataset_opt : nnm->dataset, &ds, &derr) ||
            cli_model_fits(&ms, &ds.info, &derr))
            return cli_usage_error(CMD, "%s", derr.msg);
    }
    const char *dataset = ds.info.name;
    nl_error err = {0};
    nl_optim_kind okind = nnm->optim.kind;
    if (opt_name && nl_optim_parse(opt_name, &okind, &err))
        return cli_usage_error(CMD, "%s", err.msg);
    /* another optimizer than the model's starts from that one's defaults */
    nl_optim_config ocfg = okind == nnm->optim.kind ? nnm->optim : nl_optim_defaults(okind);
    if (lr > 0) ocfg.lr = (float)lr;
    if (wd >= 0) {
        if (okind != NL_OPT_ADAMW)
            return cli_usage_error(CMD, "--weight-decay needs --optimizer adamw");
        ocfg.weight_decay = (float)wd;
    }
    if (momentum >= 0) {
        if (okind != NL_OPT_SGD) return cli_usage_error(CMD, "--momentum needs --optimizer sgd");
        ocfg.momentum = (float)momentum;
    }

    /* ---- from here on, errors are runtime errors (exit 1) ---- */
    const double t_start = nl_now();
    nl_events ev = {0};
    if (nl_events_open(&ev, events_path, &err)) {
        cli_error(CMD, "%s", err.msg);
        return CLI_ERR;
    }
    nl_compile_options copt;
    if (cli_compile_options_from_env(CMD, &copt)) return CLI_USAGE;
    int nthreads = nl_set_threads((int)threads);
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    int rc = CLI_ERR;
    nl_dataset train = {0}, test = {0};
    nl_model *m = NULL;
    nl_optimizer opt = {0};
    nl_epoch_stats *stats = calloc((size_t)epochs, sizeof *stats);
    train_ui ui = {0};
    char dir[4096], meta[512];
    const char *status = "aborted";

    snprintf(meta, sizeof meta, "{\"workload\": \"%s\", \"framework\": \"nnlab\", \"threads\": %d}",
             workload, nthreads);
    nl_event(&ev, "INTERVAL_START", "init_start", NULL, meta);
    /* crossentropy: the last layer gets one unit per class of the dataset */
    const int classes = nnm->loss == NL_LOSS_CROSSENTROPY ? ds.info.num_classes : 0;
    if (!stats || nl_nnm_build(nnm, classes, &m, &err) ||
        (dropout >= 0 && nl_model_set_dropout(m, (float)dropout, &err)) ||
        nl_model_set_options(m, &copt, &err) || nl_nnm_compile(nnm, m, (int)batch, &err))
        goto fail;
    nl_model_init(m, seed);
    if (nl_optim_init(&opt, &ocfg, nl_model_param_slab_size(m), &err)) goto fail;
    if (save_init && nl_model_save(save_init, m, workload, &opt, &err)) goto fail;
    if (step_log_path) {
        ui.step_log = fopen(step_log_path, "w");
        if (!ui.step_log) {
            nl_error_set(&err, NL_EIO, "%s: cannot open the step log: %s", step_log_path,
                         strerror(errno));
            goto fail;
        }
        fputs("step,loss\n", ui.step_log);
    }
    if (nl_data_dir(data_opt, dir, sizeof dir, &err)) goto fail;
    fetch_ui fui = {.quiet = quiet, .tty = cli_stderr_tty()};
    if (nl_data_ensure(dir, ds.info.catalog, offline, fetch_progress, &fui, &err)) goto fail;
    nl_event(&ev, "INTERVAL_END", "init_stop", NULL, NULL);
    nl_event(&ev, "INTERVAL_START", "run_start", NULL, NULL);
    const double t_run = nl_now();
    if (nl_dataset_load_info(dir, &ds.info, NL_SPLIT_TRAIN, &train, &err) ||
        nl_dataset_load_info(dir, &ds.info, NL_SPLIT_TEST, &test, &err))
        goto fail;
    if (train.h != nnm->h || train.w != nnm->w || train.c != nnm->c || test.h != train.h ||
        test.w != train.w || test.c != train.c) {
        nl_error_set(&err, NL_EFORMAT,
                     "%s '%s' takes %dx%dx%d inputs, dataset '%s' has %dx%dx%d training "
                     "and %dx%dx%d test samples",
                     ms.is_file ? "model file" : "workload", workload, nnm->h, nnm->w, nnm->c,
                     dataset, train.h, train.w, train.c, test.h, test.w, test.c);
        goto fail;
    }
    if (limit) nl_dataset_truncate(&train, (size_t)limit);
    snprintf(meta, sizeof meta,
             "{\"dataset\": \"%s\", \"train_samples\": %zu, \"test_samples\": %zu}", dataset,
             train.n, test.n);
    nl_event(&ev, "POINT_IN_TIME", "data_loaded", NULL, meta);
    if (!quiet && !json)
        cli_note(
            CMD,
            "%s on %s: %zu training, %zu test samples, %zu parameters, batch %ld, %s, %d threads",
            workload, dataset, train.n, test.n, nl_model_num_params(m), batch, nl_optim_name(okind),
            nthreads);

    progress_init(&ui.prog, !quiet, cli_stderr_tty());
    ui.step_log_path = step_log_path, ui.save_steps = save_steps;
    ui.m = m, ui.opt = &opt, ui.workload = workload;
    nl_train_hooks hooks = {.user = &ui,
                            .epoch_start = hook_epoch_start,
                            .step = hook_step,
                            .epoch_end = hook_epoch_end,
                            .should_stop = hook_should_stop,
                            .step_end = ui.step_log || save_steps ? hook_step_end : NULL};
    nl_train_config tc = nl_train_defaults();
    tc.epochs = (int)epochs;
    tc.batch = (int)batch;
    tc.seed = seed;
    tc.shuffle = shuffle;
    tc.schedule = nnm->schedule;
    tc.events = &ev;
    const double t_train = nl_now();
    nl_status tst = nl_train(m, &opt, &train, &test, &tc, &hooks, stats, &err);
    const double train_wall = nl_now() - t_train;
    if (ui.err.code) { /* a failure of the step log or --save-steps stopped training */
        err = ui.err;
        goto fail;
    }
    if (tst) goto fail;
    if (ui.step_log) {
        FILE *f = ui.step_log;
        ui.step_log = NULL;
        if (fclose(f) != 0) {
            nl_error_set(&err, NL_EIO, "%s: write error on the step log", step_log_path);
            goto fail;
        }
    }
    if (save && nl_model_save(save, m, workload, &opt, &err)) goto fail;
    status = "success";
    snprintf(meta, sizeof meta, "{\"status\": \"%s\"}", status);
    nl_event(&ev, "INTERVAL_END", "run_stop", NULL, meta);

    double train_s = 0, samples = 0;
    for (int e = 0; e < epochs; e++)
        train_s += stats[e].train_seconds, samples += (double)stats[e].samples;
    const double total_s = nl_now() - t_start, rss = nl_peak_rss_mib();
    if (json) {
        printf("{\"framework\": \"nnlab\", \"framework_version\": \"%s\", \"workload\": \"%s\", "
               "\"dataset\": \"%s\", \"epochs\": %ld, \"batch\": %ld, \"threads\": %d, \"seed\": "
               "%llu, \"optimizer\": \"%s\", \"lr\": %g, \"train_samples\": %zu, "
               "\"train_seconds\": %.4f, \"run_seconds\": %.4f, \"total_seconds\": %.4f, "
               "\"samples_per_second\": %.1f, \"final_loss\": %.6f, \"test_accuracy\": [",
               nl_version(), workload, dataset, epochs, batch, nthreads, (unsigned long long)seed,
               nl_optim_name(okind), (double)ocfg.lr, train.n, train_s, nl_now() - t_run, total_s,
               samples / train_s, stats[epochs - 1].loss);
        for (int e = 0; e < epochs; e++) printf("%s%.4f", e ? ", " : "", stats[e].test_accuracy);
        printf("], \"epoch_seconds\": [");
        for (int e = 0; e < epochs; e++) printf("%s%.4f", e ? ", " : "", stats[e].train_seconds);
        printf("], \"peak_rss_mib\": %.1f}\n", rss);
    } else {
        printf("%s on %s, %ld epochs, batch %ld, %d threads, seed %llu\n", workload, dataset,
               epochs, batch, nthreads, (unsigned long long)seed);
        printf("%5s  %10s  %9s  %9s  %8s  %12s\n", "epoch", "loss", "accuracy", "test acc",
               "seconds", "samples/s");
        for (int e = 0; e < epochs; e++)
            printf("%5d  %10.4f  %9.4f  %9.4f  %8.3f  %12.0f\n", e + 1, stats[e].loss,
                   stats[e].accuracy, stats[e].test_accuracy, stats[e].train_seconds,
                   (double)stats[e].samples / stats[e].train_seconds);
        printf("test accuracy %.4f; training %.3f s (%.0f samples/s); whole command %.3f s; "
               "peak RSS %.1f MiB\n",
               stats[epochs - 1].test_accuracy, train_s, samples / train_s, total_s, rss);
        if (save) printf("model saved to %s\n", save);
    }
    (void)train_wall;
    rc = CLI_OK;
    goto done;
fail:
    cli_error(CMD, "%s", err.msg);
    snprintf(meta, sizeof meta, "{\"status\": \"%s\"}", status);
    nl_event(&ev, "INTERVAL_END", "run_stop", NULL, meta);
    if (g_stop) rc = 128 + (int)g_stop;
done:
    if (ui.step_log) fclose(ui.step_log);
    if (nl_events_status(&ev, &err) && rc == CLI_OK) { /* lost events fail the run */
        cli_error(CMD, "%s", err.msg);
        rc = CLI_ERR;
    }
    nl_events_close(&ev);
    nl_optim_free(&opt);
    nl_model_free(m);
    nl_dataset_free(&train);
    nl_dataset_free(&test);
    free(stats);
    return rc;
}
