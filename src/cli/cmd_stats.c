/* nnlab stats: the study's UnixStats monitor, per process tree. Starts or
 * finds the process, samples it on an absolute schedule, writes one whole
 * line per sample (to --output, else stderr: the command's own stdout and
 * stderr pass through untouched), and ends with a summary on stderr. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "nnlab/core.h"
#include "nnlab/stats.h"

static const char *CMD = "stats";

static void help(FILE *f) {
    fprintf(f,
            "Usage: nnlab stats [OPTIONS] -- COMMAND [ARGS...]\n"
            "       nnlab stats [OPTIONS] --pid PID\n"
            "       nnlab stats [OPTIONS] --name NAME [--wait]\n"
            "\n"
            "Watches a process and its children (CPU, memory, threads, storage I/O, GPU) every\n"
            "interval, with the machine's CPU and RAM alongside, and writes one line per sample\n"
            "to --output FILE, else to standard error (as time and perf stat do: the command's\n"
            "own standard output and error pass through untouched).\n"
            "With a COMMAND it starts it, forwards SIGINT/SIGTERM/SIGHUP/SIGQUIT sent to the\n"
            "monitor, stops when it ends and exits with its exit status (127: it could not be\n"
            "started). With --pid or --name it stops when that process ends, or on Ctrl-C\n"
            "(exit status 0).\n"
            "\n"
            "What to watch:\n"
            "  -- COMMAND ARGS    start COMMAND and watch it\n"
            "  --pid PID          watch a running process\n"
            "  --name NAME        watch the process named NAME (its comm name or the base name\n"
            "                     of argv[0]); when several match, the topmost of a tree and\n"
            "                     then the most recently started is watched, and a note says so\n"
            "  --wait             with --name: wait for such a process to appear\n"
            "  --no-children      count the one process, not its descendants\n"
            "\n"
            "Sampling:\n"
            "  --interval SECONDS time between samples (default 0.1, at least 0.01); the\n"
            "                     schedule is absolute, so samples do not drift\n"
            "  --duration SECONDS stop sampling after this long (a COMMAND keeps running and\n"
            "                     is still waited for)\n"
            "  --pss              memory as PSS (smaps_rollup: shared pages split between the\n"
            "                     processes sharing them) instead of RSS; costs more: the\n"
            "                     kernel walks the page tables, about 1 ms per 64 MiB\n"
            "                     resident per sample (use --interval 1 for big trees)\n"
            "  --no-gpu           do not load NVML\n"
            "\n"
            "Output:\n"
            "  --format FORMAT    how samples are written (default csv; see Formats)\n"
            "  --output FILE      write the samples to FILE as they come (whole lines) instead\n"
            "                     of standard error\n"
            "  --plot FILE        draw the run with gnuplot at the end (.png or .svg): CPU%% and\n"
            "                     memory on two axes from t = 0, a GPU panel when there is a\n"
            "                     GPU (a run over before the first sample: an empty figure\n"
            "                     that says so)\n"
            "  -q, --quiet        no summary and no notices on stderr\n"
            "  -h, --help         show this help\n"
            "\n"
            "Formats:\n");
    for (size_t i = 0; nl_stats_format_at(i); i++)
        fprintf(f, "  %-18s %s\n", nl_stats_format_name(nl_stats_format_at(i)),
                nl_stats_format_help(nl_stats_format_at(i)));
    fprintf(
        f, "\n"
           "Columns (csv): t_s,cpu_pct,rss_mib,sys_cpu_pct,sys_ram_pct,gpu_pct,vram_mib,vram_pct,\n"
           "threads,read_mib,write_mib,user_pct,system_pct,minflt_s,majflt_s,vcsw_s,ivcsw_s,\n"
           "read_mib_s,write_mib_s. cpu_pct is the watched tree (100 = one core busy);\n"
           "rss_mib its memory (PSS with --pss); sys_* the whole machine (CPU%% of all cores);\n"
           "gpu_pct the utilisation of the GPUs the tree uses; vram_* the GPU memory of the\n"
           "tree; read/write_mib storage I/O since the start; then, as pidstat shows them,\n"
           "user/system CPU (from the kernel's 10 ms ticks), page faults per second (minor,\n"
           "major), context switches per second (voluntary, involuntary; main threads) and\n"
           "the I/O rates in MiB/s. Empty cell: no such value (no GPU, or /proc/PID/io not\n"
           "readable). jsonl and json add wall_ms, dt_s, cpu_s, procs; json is one document\n"
           "with the samples, the session and the summary (without --output, add -q for\n"
           "standard error to hold the document alone).\n"
           "\n"
           "A run shorter than one interval has no sample: the summary says \"no sample: the\n"
           "process ended after N ms\" and gives what the kernel counted at its exit (CPU\n"
           "time, peak RSS of its largest process, faults, switches). The row taken after\n"
           "the exit is never printed; the summary counts the rows printed.\n"
           "\n"
           "The unixstats formats reproduce the layout of the study's UnixStats monitor\n"
           "(';' separated, decimal comma, time = sample number x interval):\n"
           "  time(s);cpu;ram;gpu;graphic ram        0,1;14,4049;29,2317;2;85,6117\n"
           "  Elapsed Time: 0,1    CPU: 4,32227%%    RAM: 9,87509%%    GPU: 1%%    Graphic RAM: "
           "3,4457%%\n"
           "The study's CPU and RAM were whole-system figures (its CPU even averaged since\n"
           "boot). Here they are the WATCHED PROCESS TREE's CPU and RAM as percentages of the\n"
           "whole machine (all cores, all memory); GPU and graphic RAM are as in the study.\n"
           "\n"
           "Environment: NNLAB_NVML_LIB names the NVML library to load instead of\n"
           "libnvidia-ml.so.1. Without NVML or an NVIDIA GPU the GPU cells are empty.\n"
           "\n"
           "Examples:\n"
           "  nnlab stats --output run.csv --plot run.png -- nnlab train mnist\n"
           "  nnlab stats --format unixstats-pretty --name beam.smp --wait\n");
}

/* ---- signals ---------------------------------------------------------------------- */

static sigset_t g_set, g_oldmask;

/* The signals the monitor handles itself (nl_stats_run forwards them to a command). */
static void block_signals(void) {
    sigemptyset(&g_set);
    sigaddset(&g_set, SIGINT);
    sigaddset(&g_set, SIGTERM);
    sigaddset(&g_set, SIGHUP);
    sigaddset(&g_set, SIGQUIT);
    sigprocmask(SIG_BLOCK, &g_set, &g_oldmask);
}

static void restore_signals(void) {
    sigprocmask(SIG_SETMASK, &g_oldmask, NULL);
}

/* Sleeps for `s` seconds; returns 1 when a handled signal came (stop). */
static int pause_for(double s) {
    struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};
    for (;;) {
        int r = sigtimedwait(&g_set, NULL, &ts);
        if (r > 0) return 1;
        if (errno == EAGAIN) return 0;
    }
}

/* ---- output -------------------------------------------------------------------- */

typedef struct out {
    int fd;
    int failed;
    const char *name;
} out;

static void out_write(out *o, const char *buf, size_t len) {
    if (o->failed || len == 0) return;
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(o->fd, buf + off, len - off);
        if (w < 0) {
            if (errno == EINTR) continue;
            cli_error(CMD, "cannot write to %s: %s (no more samples are written)", o->name,
                      strerror(errno));
            o->failed = 1;
            return;
        }
        off += (size_t)w;
    }
}

/* ---- main ------------------------------------------------------------------------ */

typedef struct opts {
    char **command;
    long pid;
    const char *name;
    int wait;
    double interval, duration;
    nl_stats_format format;
    const char *output, *plot;
    unsigned flags;
    int quiet;
} opts;

static int parse(int argc, char **argv, opts *o) {
    memset(o, 0, sizeof *o);
    o->interval = 0.1;
    o->format = NL_STATS_CSV;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        int r;
        if (!strcmp(a, "--")) {
            if (i + 1 >= argc) return cli_usage_error(CMD, "'--' must be followed by a command");
            o->command = argv + i + 1;
            break;
        }
        if (a[0] != '-') { /* `nnlab stats CMD ARGS` without -- */
            o->command = argv + i;
            break;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            help(stdout);
            return -1;
        }
        if (!strcmp(a, "--wait")) {
            o->wait = 1;
        } else if (!strcmp(a, "--pss")) {
            o->flags |= NL_STATS_PSS;
        } else if (!strcmp(a, "--no-children")) {
            o->flags |= NL_STATS_NO_CHILDREN;
        } else if (!strcmp(a, "--no-gpu")) {
            o->flags |= NL_STATS_NO_GPU;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            o->quiet = 1;
        } else if ((r = cli_opt_value(CMD, argc, argv, &i, "--pid", &v)) != 0) {
            if (r < 0 || cli_parse_int(CMD, "--pid", v, 1, 0x7fffffff, &o->pid)) return CLI_USAGE;
        } else if ((r = cli_opt_value(CMD, argc, argv, &i, "--name", &v)) != 0) {
            if (r < 0) return CLI_USAGE;
            if (!*v) return cli_usage_error(CMD, "--name needs a non-empty name");
            o->name = v;
        } else if ((r = cli_opt_value(CMD, argc, argv, &i, "--interval", &v)) != 0) {
            if (r < 0 || cli_parse_double(CMD, "--interval", v, 0.01, 3600, &o->interval))
                return CLI_USAGE;
        } else if ((r = cli_opt_value(CMD, argc, argv, &i, "--duration", &v)) != 0) {
            if (r < 0 || cli_parse_double(CMD, "--duration", v, 0.001, 1e9, &o->duration))
                return CLI_USAGE;
        } else if ((r = cli_opt_value(CMD, argc, argv, &i, "--format", &v)) != 0) {
            nl_error err = {0};
            if (r < 0) return CLI_USAGE;
            if (nl_stats_parse_format(v, &o->format, &err) != NL_OK)
                return cli_usage_error(CMD, "%s", err.msg);
        } else if ((r = cli_opt_value(CMD, argc, argv, &i, "--output", &v)) != 0) {
            if (r < 0) return CLI_USAGE;
            o->output = v;
        } else if ((r = cli_opt_value(CMD, argc, argv, &i, "--plot", &v)) != 0) {
            if (r < 0) return CLI_USAGE;
            size_t n = strlen(v);
            if (n < 5 || (strcmp(v + n - 4, ".png") && strcmp(v + n - 4, ".svg")))
                return cli_usage_error(CMD,
                                       "--plot '%s': expected a file name ending in .png "
                                       "or .svg",
                                       v);
            o->plot = v;
        } else {
            return cli_usage_error(CMD, "unknown option '%s'", a);
        }
    }
    int targets = (o->command != NULL) + (o->pid != 0) + (o->name != NULL);
    if (targets == 0)
        return cli_usage_error(CMD, "nothing to watch: give -- COMMAND, --pid PID or --name NAME");
    if (targets > 1) return cli_usage_error(CMD, "give only one of -- COMMAND, --pid and --name");
    if (o->wait && !o->name) return cli_usage_error(CMD, "--wait goes with --name");
    return CLI_OK;
}

typedef struct run_ctx {
    const opts *o;
    out *ou;
    char line[1024];
    nl_stats_row *rows; /* for --plot */
    size_t nrows, caprows;
    long gpu_errors_seen;
    int mem_noted;
} run_ctx;

static void on_open(void *user, const nl_stats_info *info) {
    run_ctx *c = user;
    if (!c->o->quiet) {
        if (info->gpu_note[0]) cli_note(CMD, "%s; GPU cells are empty", info->gpu_note);
        if (!info->io_available) cli_note(CMD, "%s", info->io_note);
    }
    out_write(c->ou, c->line, nl_stats_format_header(c->o->format, c->line, sizeof c->line));
}

static int on_sample(void *user, const nl_stats_row *row, const nl_stats_info *info) {
    run_ctx *c = user;
    if (!c->o->quiet && info->gpu_errors > c->gpu_errors_seen) {
        if (c->gpu_errors_seen == 0)
            cli_note(CMD, "GPU reading failed: %s (GPU cells empty while it fails)",
                     info->gpu_error);
        c->gpu_errors_seen = info->gpu_errors;
    }
    if (!c->o->quiet && !c->mem_noted && info->mem_note[0]) {
        cli_note(CMD, "%s", info->mem_note);
        c->mem_noted = 1;
    }
    if (!row->alive) return 0; /* the final partial sample counts in the summary only */
    out_write(
        c->ou, c->line,
        nl_stats_format_row(c->o->format, row, info, c->o->interval, c->line, sizeof c->line));
    if (c->o->plot) {
        if (c->nrows == c->caprows) {
            size_t nc = c->caprows ? c->caprows * 2 : 1024;
            nl_stats_row *nr = realloc(c->rows, nc * sizeof *nr);
            if (nr) {
                c->rows = nr;
                c->caprows = nc;
            }
        }
        if (c->nrows < c->caprows) c->rows[c->nrows++] = *row;
    }
    return 0;
}

/* The process name for a message: control characters as \n, \t or \xHH. */
static void escape_name(const char *s, char *buf, size_t n) {
    size_t k = 0;
    for (; *s && k + 5 < n; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '\n')
            buf[k++] = '\\', buf[k++] = 'n';
        else if (ch == '\t')
            buf[k++] = '\\', buf[k++] = 't';
        else if (ch == '\\')
            buf[k++] = '\\', buf[k++] = '\\';
        else if (ch < 0x20 || ch == 0x7f)
            k += (size_t)snprintf(buf + k, n - k, "\\x%02x", ch);
        else
            buf[k++] = (char)ch;
    }
    buf[k] = '\0';
}

int cmd_stats(int argc, char **argv) {
    opts o;
    int rc = parse(argc, argv, &o);
    if (rc != CLI_OK) return rc < 0 ? CLI_OK : rc;

    nl_error err = {0};
    /* the output first: a file that cannot be created stops us before the
     * command is started */
    out ou = {STDERR_FILENO, 0, "standard error"};
    if (o.output) {
        ou.fd = open(o.output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ou.name = o.output;
        if (ou.fd < 0) {
            cli_error(CMD, "cannot create %s: %s", o.output, strerror(errno));
            return CLI_ERR;
        }
    }
    block_signals();
    signal(SIGPIPE, SIG_IGN);
    long pid = o.pid;

    if (o.name) {
        nl_stats_match m;
        int announced = 0;
        for (;;) {
            nl_status s = nl_stats_find_name(o.name, (int)getpid(), &m, &err);
            if (s == NL_OK) break;
            if (s != NL_ENOTFOUND || !o.wait) {
                cli_error(CMD, "%s%s", err.msg,
                          s == NL_ENOTFOUND ? " (use --wait to wait for it)" : "");
                restore_signals();
                if (o.output) close(ou.fd);
                return CLI_ERR;
            }
            if (!announced && !o.quiet) cli_note(CMD, "waiting for a process named '%s'", o.name);
            announced = 1;
            if (pause_for(o.interval > 0.1 ? o.interval : 0.1)) {
                restore_signals();
                if (o.output) close(ou.fd);
                return CLI_OK;
            }
        }
        pid = m.pid;
        if (!o.quiet) {
            if (m.count > 1)
                cli_note(CMD, "%s", m.why);
            else
                cli_note(CMD, "watching PID %d", m.pid);
        }
    }

    run_ctx ctx = {.o = &o, .ou = &ou};
    nl_stats_run_opts ro = {.argv = o.command,
                            .pid = o.command ? 0 : (int)pid,
                            .flags = o.flags,
                            .interval_s = o.interval,
                            .duration_s = o.duration,
                            .signals = &g_set,
                            .on_open = on_open,
                            .on_sample = on_sample,
                            .user = &ctx};
    nl_stats_run_result res;
    nl_status st = nl_stats_run(&ro, &res, &err);
    restore_signals();
    int result = CLI_OK;
    if (st != NL_OK) {
        cli_error(CMD, "%s", err.msg);
        result = CLI_ERR;
    } else if (res.exec_errno) {
        cli_error(CMD, "cannot run '%s': %s", o.command[0], strerror(res.exec_errno));
    }
    if (res.info_valid) { /* what closes the format (json) */
        char foot[4096];
        out_write(&ou, foot,
                  nl_stats_format_footer(o.format, &res.summary, &res.info, o.interval, foot,
                                         sizeof foot));
    }
    if (o.output) {
        if (fsync(ou.fd) != 0 && errno != EINVAL && !ou.failed)
            cli_error(CMD, "cannot sync %s: %s", o.output, strerror(errno));
        if (close(ou.fd) != 0 && !ou.failed) {
            cli_error(CMD, "cannot write %s: %s", o.output, strerror(errno));
            result = CLI_ERR;
        }
    }
    if (ou.failed) result = CLI_ERR;
    if (res.exec_errno) {
        free(ctx.rows);
        return 127;
    }
    const nl_stats_info *info = &res.info;
    if (!o.quiet && res.info_valid) {
        char buf[2048], name[4 * sizeof info->comm + 1];
        nl_stats_summary_format(&res.summary, info, buf, sizeof buf);
        escape_name(info->comm, name, sizeof name);
        fprintf(stderr, "nnlab stats: PID %d (%s)%s, every %g s:\n%s", info->pid, name,
                info->children ? " and its children" : "", o.interval, buf);
        if (res.missed)
            fprintf(stderr,
                    "  late          %ld ticks skipped (the monitor was not scheduled "
                    "in time)\n",
                    res.missed);
    }
    if (o.plot && res.info_valid) {
        if (nl_stats_plot(o.plot, ctx.rows, ctx.nrows, info, &err) != NL_OK) {
            cli_error(CMD, "%s", err.msg);
            result = CLI_ERR;
        } else if (!o.quiet) {
            cli_note(CMD, "plot written to %s", o.plot);
        }
    }
    free(ctx.rows);
    if (o.command && res.exit_code > 0) return res.exit_code;
    return result;
}
