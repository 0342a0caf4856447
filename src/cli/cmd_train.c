/* nnlab train WORKLOAD: load data, build, train, evaluate every epoch, report. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/checkpoint.h"
#include "cli/cli.h"
#include "cli/datasets.h"
#include "cli/owndata.h"
#include "cli/mlperf.h"
#include "cli/modelsrc.h"
#include "cli/progress.h"
#include "dist/dist.h"
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
           "  --beta1 X, --beta2 X, --eps X\n"
           "                     adam/adamw moment decays and epsilon (default 0.9, 0.999,\n"
           "                     1e-7)\n"
           "  --schedule NAME    learning rate per step: constant (default), step or cosine\n"
           "  --warmup N         linear warm-up over the first N steps (default 0)\n"
           "  --step-size N      step: epochs between decays (default 1)\n"
           "  --gamma X          step: factor per decay (default 0.1)\n"
           "  --seed N           seed for initialisation, shuffling and dropout (default:\n"
           "                     the model's, else 0)\n"
           "  --threads N        threads for nnlab and BLAS (default: all cores)\n"
           "  --limit N          train on the first N training samples only\n"
           "  --save FILE        write the trained model (with optimizer state) to FILE\n"
           "  --save-init FILE   write the initial model (before the first step) to FILE\n"
           "  --save-every-epoch FILE\n"
           "                     write a checkpoint (model, optimizer and training state)\n"
           "                     to FILE after every epoch, replacing it atomically\n"
           "  --resume FILE      continue the run a checkpoint (--save or --save-every-epoch)\n"
           "                     was saved by: its weights, optimizer state, seed, batch,\n"
           "                     schedule and shuffle position; --epochs is the total\n"
           "                     (2 epochs saved, --epochs 3 trains one more)\n"
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
           "  --submission-org NAME, --submission-platform NAME,\n"
           "  --submission-division open|closed, --submission-status NAME\n"
           "                     the MLPerf submission fields of the events (default: nnlab,\n"
           "                     the machine and its cores, open, research); the events\n"
           "                     pass mlperf-logging's compliance checker with the rules\n"
           "                     file mlperf/nnlab.yaml\n"
           "  --json             print one JSON object with the results on stdout, with\n"
           "                     the per-epoch \"history\" (loss, accuracy, test_loss,\n"
           "                     test_accuracy, epoch_seconds)\n"
           "  --sync-bn          under mpirun: batch norm takes its statistics over the\n"
           "                     whole global batch (default: each rank its own slice's)\n"
           "  --quiet            no progress on stderr\n"
           "  -h, --help         show this help\n\n"
           "Same seed and same thread count give bit-identical results.\n\n"
           "'mpirun -np N nnlab train ...' trains data-parallel on N processes (a build\n"
           "with MPI): --batch stays the global batch, rank 0 alone prints and writes\n"
           "files (docs/distributed.md).\n\n"
           "Your own data (instead of a built-in dataset):\n");
    cli_owndata_help(f);
    cli_print_datasets(f);
}

static volatile sig_atomic_t g_stop = 0;
static void on_signal(int sig) {
    g_stop = sig;
}

typedef struct fetch_ui {
    int quiet, tty, announced, open; /* open: a progress line without its newline */
    double last;
} fetch_ui;

static int fetch_progress(void *user, const char *file, uint64_t done, uint64_t total) {
    fetch_ui *u = user;
    if (u->quiet) return 0;
    if (g_stop) { /* end a progress line before the error message */
        if (u->open) fputc('\n', stderr);
        u->open = 0;
        return 1;
    }
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
        u->open = 1;
        if (total && done == total) fputc('\n', stderr), u->open = 0;
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
    nl_error err; /* the first failure in step_end or epoch_state (err.code != 0) */
    /* checkpoints: --save-every-epoch, and the latest state for --save */
    const char *save_every; /* NULL: none */
    nl_train_state last;
    int have_last;
    /* a --save-steps file at an epoch's end is a checkpoint too (the training
     * state of that epoch) */
    const nl_train_config *tc;
    size_t samples;
    uint64_t steps; /* per epoch */
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
        else {
            nl_train_state ts;
            const int at_end = ui->tc && ui->steps && step % ui->steps == 0;
            if (at_end) nl_train_state_at(ui->tc, ui->samples, (int)(step / ui->steps), &ts);
            nl_model_save_checkpoint(path, ui->m, ui->workload, ui->opt, at_end ? &ts : NULL,
                                     &ui->err);
        }
    }
}
static void hook_epoch_state(void *u, const nl_train_state *s) {
    train_ui *ui = u;
    ui->last = *s;
    ui->have_last = 1;
    if (ui->save_every && !ui->err.code)
        nl_model_save_checkpoint(ui->save_every, ui->m, ui->workload, ui->opt, s, &ui->err);
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
    double lr = -1, wd = -1, momentum = -1, dropout = -1;
    int json = 0, quiet = 0, offline = 0, shuffle = 1;
    cli_owndata own = {0}; /* --train-data, --test-data, --label, --val-split */
    cli_mlperf mlp = {0};
    /* schedule, optimizer moments, checkpoints (issue 13) */
    const char *resume = NULL, *save_every = NULL, *sched_name = NULL;
    const char *fixed_opt = NULL; /* an optimizer/model option --resume cannot change */
    long warmup = -1, step_size = -1;
    double gamma = -1, beta1 = -1, beta2 = -1, eps = -1;
    int seed_given = 0, batch_given = 0, shuffle_given = 0;
    int sync_bn = 0; /* data-parallel training (issue 17) */
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
        } else if (OPT("--resume")) {
            if (r < 0) return CLI_USAGE;
            resume = v;
        } else if (OPT("--save-every-epoch")) {
            if (r < 0) return CLI_USAGE;
            save_every = v;
        } else if (OPT("--schedule")) {
            if (r < 0) return CLI_USAGE;
            sched_name = v;
        } else if (OPT("--warmup")) {
            if (r < 0 || cli_parse_int(CMD, "--warmup", v, 0, 1000000000, &warmup))
                return CLI_USAGE;
        } else if (OPT("--step-size")) {
            if (r < 0 || cli_parse_int(CMD, "--step-size", v, 1, 1000000, &step_size))
                return CLI_USAGE;
        } else if (OPT("--gamma")) {
            if (r < 0 || cli_parse_double(CMD, "--gamma", v, 1e-12, 1e6, &gamma)) return CLI_USAGE;
        } else if (OPT("--beta1")) {
            if (r < 0 || cli_parse_double(CMD, "--beta1", v, 0, 0.999999, &beta1)) return CLI_USAGE;
            fixed_opt = "--beta1";
        } else if (OPT("--beta2")) {
            if (r < 0 || cli_parse_double(CMD, "--beta2", v, 0, 0.999999, &beta2)) return CLI_USAGE;
            fixed_opt = "--beta2";
        } else if (OPT("--eps")) {
            if (r < 0 || cli_parse_double(CMD, "--eps", v, 1e-30, 1, &eps)) return CLI_USAGE;
            fixed_opt = "--eps";
        } else if (OPT("--epochs")) {
            if (r < 0 || cli_parse_int(CMD, "--epochs", v, 1, 100000, &epochs)) return CLI_USAGE;
        } else if (OPT("--batch")) {
            if (r < 0 || cli_parse_int(CMD, "--batch", v, 1, 65536, &batch)) return CLI_USAGE;
            batch_given = 1;
        } else if (OPT("--lr")) {
            if (r < 0 || cli_parse_double(CMD, "--lr", v, 1e-12, 100, &lr)) return CLI_USAGE;
            fixed_opt = "--lr";
        } else if (OPT("--optimizer")) {
            if (r < 0) return CLI_USAGE;
            opt_name = v;
            fixed_opt = "--optimizer";
        } else if (OPT("--weight-decay")) {
            if (r < 0 || cli_parse_double(CMD, "--weight-decay", v, 0, 10, &wd)) return CLI_USAGE;
            fixed_opt = "--weight-decay";
        } else if (OPT("--momentum")) {
            if (r < 0 || cli_parse_double(CMD, "--momentum", v, 0, 0.9999, &momentum))
                return CLI_USAGE;
            fixed_opt = "--momentum";
        } else if (OPT("--seed")) {
            if (r < 0 || cli_parse_u64(CMD, "--seed", v, &seed)) return CLI_USAGE;
            seed_given = 1;
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
            fixed_opt = "--dropout";
        } else if (!strcmp(argv[i], "--no-shuffle")) {
            shuffle = 0;
            shuffle_given = 1;
        } else if (OPT("--events")) {
            if (r < 0) return CLI_USAGE;
            events_path = v;
        } else if (!strcmp(argv[i], "--sync-bn")) {
            sync_bn = 1;
        } else if (!strcmp(argv[i], "--offline")) {
            offline = 1;
        } else if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q")) {
            quiet = 1;
        } else if ((r = cli_owndata_option(CMD, argc, argv, &i, &own)) != 0) {
            if (r < 0) return CLI_USAGE;
        } else if ((r = cli_mlperf_option(CMD, argc, argv, &i, &mlp)) != 0) {
            if (r < 0) return CLI_USAGE;
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
    /* --json's stdout is one JSON object: event lines cannot share it */
    if (json && events_path && !strcmp(events_path, "-"))
        return cli_usage_error(CMD, "--json prints one JSON object on stdout: send the events "
                                    "(--events or NNLAB_EVENTS) to a file, not '-'");
    if (threads) cli_warn_threads(CMD, threads);
    /* the model (modelsrc.h): its file's lines are the defaults of the options */
    static cli_model_src ms;
    int mrc = cli_model_resolve(CMD, workload, &ms);
    if (mrc != CLI_OK) return mrc;
    const nl_nnm *nnm = &ms.nnm;
    workload = ms.name;
    if (epochs < 0) epochs = nnm->epochs;
    if (batch < 0) batch = nnm->batch;
    if (!seed_given) seed = nnm->seed;
    if (cli_owndata_check(CMD, &own, dataset_opt)) return CLI_USAGE;
    cli_dataset ds = {0};
    if (!own.train_path) {
        if (!dataset_opt && !nnm->dataset[0])
            return cli_usage_error(
                CMD, "%s names no dataset: pass --dataset NAME or --train-data PATH", nnm->name);
        nl_error derr = {0};
        if (cli_dataset_resolve(dataset_opt ? dataset_opt : nnm->dataset, &ds, &derr) ||
            cli_model_fits(&ms, &ds.info, &derr))
            return cli_usage_error(CMD, "%s", derr.msg);
    }
    /* own data: the model keeps its outputs, the labels must be below them */
    const char *dataset = own.train_path ? own.train_path : ds.info.name;
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
    /* the optimizer's moments, the schedule, --resume's restrictions */
    if (beta1 >= 0 || beta2 >= 0 || eps >= 0) {
        if (okind == NL_OPT_SGD)
            return cli_usage_error(CMD,
                                   "--beta1, --beta2 and --eps need --optimizer adam or adamw");
        if (beta1 >= 0) ocfg.beta1 = (float)beta1;
        if (beta2 >= 0) ocfg.beta2 = (float)beta2;
        if (eps >= 0) ocfg.eps = (float)eps;
    }
    nl_schedule sched = nnm->schedule; /* the model's, unless --schedule names another */
    if (sched_name) {
        nl_schedule_kind sk;
        if (nl_schedule_parse(sched_name, &sk, &err))
            return cli_usage_error(CMD, "--schedule: %s", err.msg);
        if (sk != sched.kind) sched = (nl_schedule){.kind = sk};
    }
    if ((step_size >= 0 || gamma >= 0) && sched.kind != NL_SCHED_STEP)
        return cli_usage_error(CMD, "--step-size and --gamma need --schedule step");
    if (warmup >= 0) sched.warmup = (int)warmup;
    if (step_size >= 0) sched.step_size = (int)step_size;
    if (gamma >= 0) sched.gamma = (float)gamma;
    if (resume && (fixed_opt || sched_name || warmup >= 0))
        return cli_usage_error(CMD,
                               "%s cannot be given with --resume: the run continues with the "
                               "checkpoint's optimizer, model and schedule",
                               fixed_opt    ? fixed_opt
                               : sched_name ? "--schedule"
                                            : "--warmup");

    /* ---- from here on, errors are runtime errors (exit 1) ---- */
    /* Data-parallel under mpirun (src/dist): every rank trains its slice of
     * each batch; rank 0 alone prints and writes files. A missing dataset is
     * an error on its host (ranks do not download side by side). */
    dist_ctx *dc = NULL;
    if (dist_start(CMD, &dc)) return CLI_ERR;
    if (dc) {
        offline = 1;
        if (dist_rank(dc) != 0) {
            if (!freopen("/dev/null", "w", stdout)) dist_fail(dc, CMD, "cannot close stdout");
            quiet = 1, events_path = NULL, save = save_init = step_log_path = NULL;
            save_steps = save_every = NULL;
        }
    }
    { /* every output can be written: found out now, not after training */
        nl_error oerr = {0};
        if ((save && cli_check_output("--save", save, "a model is saved", &oerr)) ||
            (save_init && cli_check_output("--save-init", save_init, "a model is saved", &oerr)) ||
            (step_log_path &&
             cli_check_output("--step-log", step_log_path, "the step log is written", &oerr)) ||
            (save_steps && cli_check_output("--save-steps", save_steps, NULL, &oerr))) {
            if (dc) dist_fail(dc, CMD, oerr.msg);
            cli_error(CMD, "%s", oerr.msg);
            return CLI_ERR;
        }
    }
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
    cli_mlperf_log_config(&ev, &mlp, workload, nl_optim_name(okind), (double)ocfg.lr, batch, seed);
    /* crossentropy on a named dataset: the last layer gets one unit per class of it; own data
       keeps the model's outputs */
    const int classes =
        nnm->loss == NL_LOSS_CROSSENTROPY && !own.train_path ? ds.info.num_classes : 0;
    if (!stats || nl_nnm_build(nnm, classes, &m, &err) ||
        (dropout >= 0 && nl_model_set_dropout(m, (float)dropout, &err)) ||
        nl_model_set_options(m, &copt, &err) || nl_nnm_compile(nnm, m, (int)batch, &err))
        goto fail;
    nl_train_state rstate;
    if (resume) { /* the checkpoint's model, optimizer and run settings */
        if (ckpt_resume(resume, workload, (int)batch, &m, &opt, &rstate, &err) ||
            nl_model_set_options(m, &copt, &err))
            goto fail;
        if ((seed_given && seed != rstate.seed) || (batch_given && batch != rstate.batch) ||
            (shuffle_given && shuffle != rstate.shuffle)) {
            nl_error_set(&err, NL_EINVAL,
                         "--resume %s: the checkpoint's run has seed %llu, batch %d%s; a resumed "
                         "run keeps them (leave out --seed, --batch, --no-shuffle)",
                         resume, (unsigned long long)rstate.seed, rstate.batch,
                         rstate.shuffle ? ", shuffled" : ", not shuffled");
            goto fail;
        }
        seed = rstate.seed, batch = rstate.batch, shuffle = rstate.shuffle;
        sched = rstate.schedule;
        okind = opt.cfg.kind, ocfg = opt.cfg;
    } else {
        nl_model_init(m, seed);
        if (nl_optim_init(&opt, &ocfg, nl_model_param_slab_size(m), &err)) goto fail;
    }
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
    fetch_ui fui = {.quiet = quiet, .tty = cli_stderr_tty()};
    if (!own.train_path &&
        (cli_data_dir(data_opt, dir, sizeof dir, &err) ||
         nl_data_ensure(dir, ds.info.catalog, offline, fetch_progress, &fui, &err)))
        goto fail;
    nl_event(&ev, "INTERVAL_END", "init_stop", NULL, NULL);
    nl_event(&ev, "INTERVAL_START", "run_start", NULL, NULL);
    const double t_run = nl_now();
    if (own.train_path ? cli_owndata_load(&own, m, &train, &test, &err)
                       : (nl_dataset_load_info(dir, &ds.info, NL_SPLIT_TRAIN, &train, &err) ||
                          (own.val_split <= 0 &&
                           nl_dataset_load_info(dir, &ds.info, NL_SPLIT_TEST, &test, &err)))) {
        if (!own.train_path) cli_data_hint(&err, ds.info.catalog ? ds.info.catalog : dataset);
        goto fail;
    }
    if (cli_owndata_split(&own, &train, &test, &err)) goto fail; /* --val-split */
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
    cli_mlperf_log_samples(&ev, train.n, test.n);
    if (!quiet && !json)
        cli_note(
            CMD,
            "%s on %s: %zu training, %zu test samples, %zu parameters, batch %ld, %s, %d thread%s",
            workload, dataset, train.n, test.n, nl_model_num_params(m), batch, nl_optim_name(okind),
            nthreads, nthreads == 1 ? "" : "s");

    progress_init(&ui.prog, !quiet, cli_stderr_tty());
    ui.step_log_path = step_log_path, ui.save_steps = save_steps;
    ui.m = m, ui.opt = &opt, ui.workload = workload;
    ui.save_every = save_every;
    nl_train_hooks hooks = {.user = &ui,
                            .epoch_start = hook_epoch_start,
                            .step = hook_step,
                            .epoch_end = hook_epoch_end,
                            .should_stop = hook_should_stop,
                            .step_end = ui.step_log || save_steps ? hook_step_end : NULL,
                            .epoch_state = hook_epoch_state};
    nl_train_config tc = nl_train_defaults();
    tc.epochs = (int)epochs;
    tc.batch = (int)batch;
    tc.seed = seed;
    tc.shuffle = shuffle;
    tc.events = &ev;
    tc.schedule = sched;
    tc.resume = resume ? &rstate : NULL;
    tc.dist = dist_train_hooks(dc);
    if (dc && sync_bn) nl_model_set_bn_sync(m, dist_sum_bn, dc);
    const int first = resume ? rstate.epoch : 0; /* epochs done before this run */
    ui.tc = &tc, ui.samples = train.n, ui.steps = (train.n + (size_t)batch - 1) / (size_t)batch;
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
    if (save &&
        nl_model_save_checkpoint(save, m, workload, &opt, ui.have_last ? &ui.last : NULL, &err))
        goto fail;
    status = "success";
    snprintf(meta, sizeof meta, "{\"status\": \"%s\"}", status);
    nl_event(&ev, "INTERVAL_END", "run_stop", NULL, meta);

    double train_s = 0, samples = 0;
    for (int e = first; e < epochs; e++)
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
        for (int e = first; e < epochs; e++) {
            if (e > first) fputs(", ", stdout);
            ckpt_json_number(stdout, "%.4f", stats[e].test_accuracy);
        }
        printf("], \"epoch_seconds\": [");
        for (int e = first; e < epochs; e++)
            printf("%s%.4f", e > first ? ", " : "", stats[e].train_seconds);
        printf("], \"peak_rss_mib\": %.1f, ", rss);
        /* schedule, resume and the per-epoch history (issue 13) */
        printf("\"schedule\": \"%s\", \"initial_epoch\": %d, ", nl_schedule_name(sched.kind),
               first);
        ckpt_json_history(stdout, stats, first, (int)epochs, 1,
                          nl_model_loss_kind(m) == NL_LOSS_MSE);
        if (dc)
            printf(", \"ranks\": %d, \"sync_bn\": %s", dist_size(dc), sync_bn ? "true" : "false");
        printf("}\n");
    } else {
        printf("%s on %s, %ld epoch%s, batch %ld, %d thread%s, seed %llu\n", workload, dataset,
               epochs, epochs == 1 ? "" : "s", batch, nthreads, nthreads == 1 ? "" : "s",
               (unsigned long long)seed);
        const int mse = nl_model_loss_kind(m) == NL_LOSS_MSE; /* losses, no accuracy */
        if (mse)
            printf("%5s  %12s  %12s  %8s  %12s\n", "epoch", "loss", "test loss", "seconds",
                   "samples/s");
        else
            printf("%5s  %10s  %9s  %9s  %8s  %12s\n", "epoch", "loss", "accuracy", "test acc",
                   "seconds", "samples/s");
        for (int e = first; e < epochs; e++) {
            const double sps = (double)stats[e].samples / stats[e].train_seconds;
            if (mse)
                printf("%5d  %12.6g  %12.6g  %8.3f  %12.0f\n", e + 1, stats[e].loss,
                       stats[e].test_loss, stats[e].train_seconds, sps);
            else
                printf("%5d  %10.4f  %9.4f  %9.4f  %8.3f  %12.0f\n", e + 1, stats[e].loss,
                       stats[e].accuracy, stats[e].test_accuracy, stats[e].train_seconds, sps);
        }
        if (mse)
            printf("test loss %.6g", stats[epochs - 1].test_loss);
        else
            printf("test accuracy %.4f", stats[epochs - 1].test_accuracy);
        printf("; training %.3f s (%.0f samples/s); whole command %.3f s; peak RSS %.1f MiB\n",
               train_s, samples / train_s, total_s, rss);
        if (save) printf("model saved to %s\n", save);
    }
    (void)train_wall;
    rc = CLI_OK;
    goto done;
fail:
    progress_end_line(&ui.prog);         /* an interrupted bar: the message gets its own line */
    if (dc) dist_fail(dc, CMD, err.msg); /* ends every rank, never a hang */
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
    if (rc == CLI_OK)
        dist_end(dc);
    else if (dc)
        dist_fail(dc, CMD, "the run failed");
    return rc;
}
