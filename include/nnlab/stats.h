/* nnlab/stats.h - resource monitor for a process tree.
 *
 * The sampler behind `nnlab stats` and `nnlab bench`. It watches one process
 * and (unless told otherwise) every process descended from it, and turns
 * /proc (and NVML, when an NVIDIA driver is present) into one row per sample.
 * nl_stats_run is the sampling loop (start a command or attach to a PID,
 * sample on an absolute schedule, reap):
 *
 *     static int row(void *fd, const nl_stats_row *r, const nl_stats_info *in) {
 *         char buf[512];
 *         size_t n = nl_stats_format_row(NL_STATS_CSV, r, in, 0.1, buf, sizeof buf);
 *         if (r->alive) write(*(int *)fd, buf, n);             // one whole line
 *         return 0;                                            // 1: stop
 *     }
 *     nl_stats_run_opts o = {.argv = argv, .interval_s = 0.1, .on_sample = row, .user = &fd};
 *     nl_stats_run_result res;
 *     if (nl_stats_run(&o, &res, &err) != NL_OK) ...;          // res.exit_code, res.summary
 *
 * Underneath, nl_stats_open / nl_stats_sample / nl_stats_close take one
 * reading at a time on the caller's schedule.
 *
 * What is measured (all of it per sample, over the interval since the
 * previous sample or since nl_stats_open for the first one):
 * - CPU% of the tree, 100 = one core busy. Each process's own CPU time comes
 *   from its CPU-time clock (clock_getcpuclockid: nanoseconds, threads that
 *   have exited included; /proc/PID/task/TID/schedstat and then the 10 ms
 *   ticks of /proc/PID/stat are the fall-backs). CPU time of children that
 *   exited between two samples is recovered from their parent's cutime/cstime
 *   when the parent (a member of the tree) reaps them, so short-lived
 *   children are counted too. A row never shows more than the machine's
 *   cores can do in the interval; any excess (tick rounding of reaped
 *   children) is carried into the next rows, so the total stays exact.
 * - Memory: RSS (sum over the tree; shared pages count once per process), or
 *   PSS from /proc/PID/smaps_rollup with NL_STATS_PSS (shared pages split
 *   between the processes sharing them, so the sum is not inflated; costs
 *   more: the kernel walks the page tables, about 1 ms of CPU per 64 MiB
 *   resident per sample; see bench/results/stats_cost.md).
 * - Threads and processes alive in the tree.
 * - Storage I/O: bytes read and written (read_bytes/write_bytes of
 *   /proc/PID/io, children included as they are reaped), cumulative since
 *   nl_stats_open. NAN when /proc/PID/io may not be read (another user's
 *   process and no privilege): see nl_stats_info.io_note.
 * - As pidstat shows them: user and system CPU% (the kernel's clock ticks of
 *   /proc/PID/stat), minor and major page faults, and voluntary and
 *   involuntary context switches (/proc/PID/status: each process's main
 *   thread), as rates over the interval; faults and ticks of children reaped
 *   between two samples are recovered as the CPU time is. I/O rates in MiB/s.
 * - The machine: CPU% (of all cores, 0-100, /proc/stat) and RAM% in use
 *   ((MemTotal - MemAvailable) / MemTotal, /proc/meminfo).
 * - GPU (NVIDIA, through libnvidia-ml.so.1 loaded with dlopen at open time;
 *   $NNLAB_NVML_LIB or nl_stats_opts.nvml_lib names another file): device
 *   utilisation of the GPUs the tree has a context on (NVML's device-wide
 *   figure), and the GPU memory used by the tree's processes, in MiB and as a
 *   % of those devices' memory. Without the library or a GPU the GPU values
 *   are NAN and nl_stats_info.gpu_note says why; this is never an error.
 *
 * Tree membership: the watched process plus every process whose parent is a
 * member when first seen (found by listing /proc; the listing is skipped
 * while the kernel hands out no new PID, and only new /proc entries are
 * read). Membership is sticky: a member
 * orphaned by its parent's exit stays counted until it ends. The calling
 * process itself is never counted. Processes are keyed by PID and start time
 * and read through descriptors kept open, so a reused PID is never mistaken
 * for the process it replaces.
 *
 * Missing values are NAN (formats print them as empty cells or null). The
 * library never prints and never exits; errors come back as nl_status with a
 * message in nl_error. An nl_stats handle is not thread-safe: sample it from
 * one thread at a time. */
#ifndef NNLAB_STATS_H
#define NNLAB_STATS_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "nnlab/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nl_stats nl_stats;

/* Flags for nl_stats_opts.flags. */
enum {
    NL_STATS_NO_CHILDREN = 1u << 0, /* count the one process, not its descendants (its
                                       I/O still includes children it has reaped: the
                                       kernel adds them together) */
    NL_STATS_PSS = 1u << 1,         /* memory = PSS (smaps_rollup) instead of RSS */
    NL_STATS_NO_GPU = 1u << 2,      /* do not load NVML */
    NL_STATS_FROM_START = 1u << 3,  /* count the CPU time and I/O the processes used before
                                       nl_stats_open too (for a command the caller has just
                                       started: the summary then covers all of it); the
                                       process may even have exited already (a zombie not
                                       yet reaped): the first sample then has alive == 0
                                       and its whole CPU time */
};

typedef struct nl_stats_opts {
    int pid;              /* process to watch (required, > 0) */
    unsigned flags;       /* NL_STATS_* */
    const char *nvml_lib; /* NULL: $NNLAB_NVML_LIB if set, else "libnvidia-ml.so.1" */
} nl_stats_opts;

/* Facts about the session, filled by nl_stats_open (see nl_stats_get_info). */
typedef struct nl_stats_info {
    int pid;                /* the watched process */
    char comm[64];          /* its name (/proc/PID/comm) at open time */
    int children;           /* 1 when descendants are counted */
    int pss;                /* 1 when memory is PSS */
    int ncpu;               /* online CPUs: 100 * ncpu is the machine's CPU% */
    double mem_total_mib;   /* MemTotal */
    const char *cpu_source; /* "clock", "schedstat" or "stat ticks" (for the root) */
    char mem_note[256];     /* set when some member's PSS could not be read (RSS used) */
    int io_available;       /* 0 when /proc/PID/io could not be read */
    char io_note[256];      /* why, when io_available == 0 */
    int gpu_available;      /* 1 when NVML loaded and found at least one GPU */
    int gpu_count;          /* NVIDIA devices seen */
    char gpu_name[96];      /* name of device 0 */
    double vram_total_mib;  /* all devices */
    char gpu_note[256];     /* why GPU values are NAN (no library, no GPU...) */
    long gpu_errors;        /* NVML calls that failed during sampling */
    char gpu_error[256];    /* the last such failure */
    double t0;              /* nl_now() at open: rows' t_s count from here */
    int64_t wall0_ms;       /* wall clock at open, ms since the epoch */
} nl_stats_info;

/* One sample. */
typedef struct nl_stats_row {
    long index;             /* 1 for the first sample after nl_stats_open */
    double t_s;             /* monotonic seconds since nl_stats_open */
    double dt_s;            /* length of the interval this row covers */
    int64_t wall_ms;        /* wall clock of the sample, ms since the epoch */
    int alive;              /* 0 once the watched process has exited (or is a zombie) */
    int procs;              /* processes of the tree alive at the sample */
    int threads;            /* their threads */
    double cpu_pct;         /* tree CPU over the interval, 100 = one core */
    double cpu_machine_pct; /* cpu_pct / ncpu: % of the whole machine */
    double cpu_s;           /* CPU seconds used by the tree since nl_stats_open */
    double mem_mib;         /* RSS (or PSS) of the tree, MiB */
    double mem_machine_pct; /* mem_mib as a % of MemTotal */
    double read_mib;        /* storage bytes read since open, MiB (NAN: unknown) */
    double write_mib;       /* storage bytes written since open, MiB (NAN: unknown) */
    double sys_cpu_pct;     /* machine CPU over the interval, 0-100 (all cores) */
    double sys_ram_pct;     /* machine RAM in use, % */
    double gpu_pct;         /* GPU utilisation %, NAN without GPU */
    double vram_mib;        /* GPU memory used by the tree, MiB, NAN without GPU */
    double vram_pct;        /* vram_mib as a % of the memory of the devices used */
    /* pidstat's figures, over the interval (rates per second):
     * user/system CPU from the kernel's clock ticks (10 ms: coarse; their sum can
     * differ from cpu_pct, which comes from the nanosecond CPU clock), page faults
     * (minor: no I/O; major: read from storage), context switches (voluntary: it
     * waited; involuntary: it was preempted; each process's main thread, as
     * pidstat -w counts them), storage I/O (NAN: unknown). */
    double user_pct, system_pct;    /* 100 = one core */
    double minflt_s, majflt_s;      /* page faults per second */
    double vcsw_s, ivcsw_s;         /* context switches per second */
    double read_mib_s, write_mib_s; /* storage I/O, MiB/s */
} nl_stats_row;

/* Starts watching opts->pid: checks that it exists and can be read, finds its
 * descendants, loads NVML, and takes the baseline reading the first sample
 * is measured against. Errors: NL_EINVAL (bad options), NL_ENOTFOUND (no such
 * process, or already exited: see NL_STATS_FROM_START), NL_EIO (/proc unreadable, e.g. smaps_rollup
 * of another user's process with NL_STATS_PSS: the message says which file and why), NL_ENOMEM. */
NL_API nl_status nl_stats_open(nl_stats **out, const nl_stats_opts *opts, nl_error *err);

/* Takes one sample now. Fills every field of *row. When the watched process
 * has exited since the previous sample (or is a zombie not yet reaped),
 * returns NL_OK with row->alive == 0: the row still counts the CPU used up to
 * the exit, as far as it could be read. Errors only for what makes sampling
 * impossible (/proc/stat unreadable, out of memory). */
NL_API nl_status nl_stats_sample(nl_stats *st, nl_stats_row *row, nl_error *err);

NL_API const nl_stats_info *nl_stats_get_info(const nl_stats *st);

/* Closes descriptors, unloads NVML, frees. NULL is allowed. */
NL_API void nl_stats_close(nl_stats *st);

/* ---- finding a process by name ------------------------------------------ */

enum { NL_STATS_MATCH_MAX = 32 };

typedef struct nl_stats_match {
    int pid;                      /* the process chosen */
    int count;                    /* processes that matched */
    int pids[NL_STATS_MATCH_MAX]; /* the first of them, by PID */
    char why[512];                /* which one was chosen and why (when count > 1) */
} nl_stats_match;

/* Looks for processes named NAME: the name in /proc/PID/comm (the kernel
 * keeps 15 characters: a longer NAME matches on its first 15), or the base
 * name of argv[0]. Zombies and the pid `exclude` (pass getpid()) are skipped.
 * When several match: descendants of another match are dropped (the tree is
 * watched anyway), then ancestors of `exclude`, then the most recently
 * started one is taken; m->why says so. NL_ENOTFOUND when none matches. */
NL_API nl_status nl_stats_find_name(const char *name, int exclude, nl_stats_match *m,
                                    nl_error *err);

/* ---- output formats ------------------------------------------------------ */

/* A format is an entry of the monitor's table of formats (src/stats/format.c):
 * its name, a one-line description, its header and row writers. */
typedef const struct nl_stats_format_def *nl_stats_format;

/* The i-th format of the table, NULL past its end (to list them all). */
NL_API nl_stats_format nl_stats_format_at(size_t i);
/* The format of that name, NULL when there is none. */
NL_API nl_stats_format nl_stats_format_named(const char *name);
/* As nl_stats_format_named, with an error listing the names there are. */
NL_API nl_status nl_stats_parse_format(const char *name, nl_stats_format *out, nl_error *err);
NL_API const char *nl_stats_format_name(nl_stats_format fmt);
NL_API const char *nl_stats_format_help(nl_stats_format fmt); /* one line, for --help */

/* The built-in formats, for code that names one. */
#define NL_STATS_CSV              nl_stats_format_named("csv")
#define NL_STATS_PRETTY           nl_stats_format_named("pretty")
#define NL_STATS_JSONL            nl_stats_format_named("jsonl")
#define NL_STATS_JSON             nl_stats_format_named("json")
#define NL_STATS_UNIXSTATS_PRETTY nl_stats_format_named("unixstats-pretty")
#define NL_STATS_UNIXSTATS_CSV    nl_stats_format_named("unixstats-csv")

/* The header line of a format, '\n' included, into buf (NUL-terminated).
 * Returns its length: 0 for formats without header. CSV:
 * t_s,cpu_pct,rss_mib,sys_cpu_pct,sys_ram_pct,gpu_pct,vram_mib,vram_pct,threads,read_mib,write_mib,
 * user_pct,system_pct,minflt_s,majflt_s,vcsw_s,ivcsw_s,read_mib_s,write_mib_s
 * UnixStats CSV: time(s);cpu;ram;gpu;graphic ram
 * json ("one document"): its header opens the document, each row is an element
 * of its "samples" array, nl_stats_format_footer closes it. */
NL_API size_t nl_stats_format_header(nl_stats_format fmt, char *buf, size_t n);

/* One row as one line, '\n' included, into buf (NUL-terminated; 1024 bytes
 * always suffice). Returns its length, or 0 when buf is too small. Numbers use
 * '.' whatever the locale; missing values are empty cells (CSV) or null
 * (JSONL). info (may be NULL) labels RSS/PSS in the pretty format.
 * UnixStats formats, as the study printed them: decimal comma, time =
 * round(t_s / interval_s) * interval_s (the study's sample index / 10 at the
 * default 0.1 s), cpu = cpu_machine_pct, ram = mem_machine_pct, gpu =
 * gpu_pct, graphic ram = vram_pct; values rounded to 4 (CSV) or 5 (pretty)
 * decimals with trailing zeros dropped, GPU% as an integer, e.g.
 *   0,1;14,4049;29,2317;2;85,6117
 *   Elapsed Time: 0,1    CPU: 4,32227%    RAM: 9,87509%    GPU: 1%    Graphic RAM: 3,4457% */
NL_API size_t nl_stats_format_row(nl_stats_format fmt, const nl_stats_row *row,
                                  const nl_stats_info *info, double interval_s, char *buf,
                                  size_t n);

struct nl_stats_summary;
/* What ends the output of a format, '\n' included, into buf (NUL-terminated;
 * 4096 bytes always suffice): for json the summary and the session's facts
 * and the closing brackets; 0 for formats without footer. info may be NULL. */
NL_API size_t nl_stats_format_footer(nl_stats_format fmt, const struct nl_stats_summary *s,
                                     const nl_stats_info *info, double interval_s, char *buf,
                                     size_t n);

/* ---- summary --------------------------------------------------------------- */

/* The rows of a live process are the samples; the row taken once it has exited
 * (alive == 0) adds the CPU time, I/O and counts up to the exit, but is no
 * sample: a process that has exited has no memory or threads to read. */
typedef struct nl_stats_summary {
    long samples;        /* rows added with alive == 1 (the rows a program prints) */
    double duration_s;   /* t_s of the last row; nl_stats_run: a command's launch to exit */
    double cpu_s;        /* CPU seconds of the tree (last row's cpu_s) */
    double cpu_mean_pct; /* 100 * cpu_s / duration_s, at most 100 * the cores */
    double cpu_peak_pct; /* highest cpu_pct of the samples, NAN without samples */
    double mem_peak_mib; /* highest mem_mib of the samples, NAN without samples */
    int procs_peak;
    int threads_peak;
    double read_mib; /* last known, NAN if unknown */
    double write_mib;
    int gpu_seen;        /* 1 when some row had GPU values */
    double gpu_mean_pct; /* mean over rows with GPU values */
    double gpu_peak_pct;
    double vram_peak_mib;
    double sys_cpu_mean_pct; /* mean of rows' machine CPU% */
    long gpu_samples;        /* accumulators behind the means */
    double gpu_sum_pct;
    double sys_cpu_sum_pct;
    /* totals over every row, the last (the process exited) included */
    double user_s, system_s; /* CPU seconds from the ticks */
    double minflt, majflt;   /* page faults */
    double vcsw, ivcsw;      /* context switches */
    /* A command's own figures from the kernel when it was reaped (wait4; it and
     * the children it waited for, all threads): exact where sampling is not,
     * and all there is for a run over before the first sample. */
    int exit_valid;
    double exit_user_s, exit_system_s;
    double exit_maxrss_mib; /* the largest process's peak RSS (not the tree's sum) */
    long exit_minflt, exit_majflt, exit_vcsw, exit_ivcsw;
} nl_stats_summary;

NL_API void nl_stats_summary_init(nl_stats_summary *s);
NL_API void nl_stats_summary_add(nl_stats_summary *s, const nl_stats_row *row);

/* Multi-line human-readable summary (duration, mean and peak CPU%, peak
 * memory, peak GPU memory, I/O, faults and context switches), '\n'-terminated,
 * into buf. Without samples it says "no sample: the process ended after N ms"
 * and gives the figures there are (the kernel's at exit). Returns length. */
NL_API size_t nl_stats_summary_format(const nl_stats_summary *s, const nl_stats_info *info,
                                      char *buf, size_t n);

/* ---- the sampling loop --------------------------------------------------------- */

/* What nl_stats_run starts or watches, and how. Zero-initialise, then set a
 * command (argv) or a pid, and interval_s. */
typedef struct nl_stats_run_opts {
    char *const *argv;       /* command to start (PATH searched), NULL-terminated */
    char *const *envp;       /* its environment; NULL: this process's */
    const int *stdio;        /* NULL: it inherits stdin/out/err; else the three
                                descriptors it gets as 0, 1, 2 (-1: inherit that one) */
    int contain;             /* its processes do not outlive the run: it gets its own
                                process group and is SIGKILLed if this process dies; during
                                the run this process is the subreaper of its tree (orphans,
                                such as a daemon that forked twice, become its children);
                                when it exits, its group, every process of its tree still
                                running and every adopted orphan (not the children this
                                process had before the run) are ended (counted in
                                leftovers) and reaped */
    int pid;                 /* instead of argv: watch this running process */
    unsigned flags;          /* NL_STATS_* (NL_STATS_FROM_START is added for a command) */
    const char *nvml_lib;    /* as nl_stats_opts.nvml_lib */
    double interval_s;       /* sample period (> 0); sample k is taken at open + k * interval */
    double duration_s;       /* > 0: stop sampling after this long (a command is still
                                waited for) */
    double timeout_s;        /* > 0: a command still running this long after its start
                                gets SIGTERM (its group with contain), SIGKILL 3 s later */
    const sigset_t *signals; /* signals the caller has blocked (sigprocmask) for the loop
                                to handle: sent on to a command (except those the kernel
                                sends a whole terminal process group, which reached it
                                already); they end the sampling of a pid. The command
                                starts with them unblocked. NULL: none */
    /* Called once the monitor is open (before the first sample). */
    void (*on_open)(void *user, const nl_stats_info *info);
    /* Called with every sample, the last one (alive == 0, the process has exited)
     * included. Non-zero: stop: a command is ended as on timeout (and still
     * sampled until it exits), the watch of a pid ends. */
    int (*on_sample)(void *user, const nl_stats_row *row, const nl_stats_info *info);
    void *user;
} nl_stats_run_opts;

typedef struct nl_stats_run_result {
    int pid;           /* the process watched */
    int exit_code;     /* a command's: exit code, 128 + N after signal N, 127 when it
                          could not be executed (exec_errno says why); -1 for a pid */
    int exec_errno;    /* errno of the failed exec, 0 when it ran */
    int timed_out;     /* the timeout ended it */
    int stopped;       /* sampling ended early: the signal number (pid mode), -1 when
                          on_sample asked to */
    int leftovers;     /* with contain: processes of its tree ended after it exited */
    long samples;      /* rows taken (= on_sample calls) */
    long missed;       /* ticks skipped because the monitor was late */
    int64_t launch_ms; /* wall clock at the start (the fork of a command) */
    double wall_s;     /* start to exit (pid: to the end of sampling) */
    int info_valid;    /* info is filled (the monitor opened) */
    nl_stats_info info;
    nl_stats_summary summary; /* over every sample */
} nl_stats_run_result;

/* Starts o->argv (held until the monitor has opened it, so it is watched from
 * its first instruction) or attaches to o->pid, samples it every interval on
 * an absolute schedule (a late monitor skips ticks, never bursts) until it
 * exits, the duration ends or on_sample stops it; waits for a command's exit
 * with pidfd (ticks where the kernel has none), forwarding signals and keeping
 * the timeout, and reaps it. A command that cannot be executed is a result
 * (exit_code 127), not an error. Errors: NL_EINVAL, what nl_stats_open and
 * nl_stats_sample return (a command is then ended and reaped), NL_EIO (fork,
 * pipe). *res is filled in every case. */
NL_API nl_status nl_stats_run(const nl_stats_run_opts *o, nl_stats_run_result *res, nl_error *err);

/* ---- plot -------------------------------------------------------------------- */

/* Draws the run with gnuplot (run without a shell; must be on PATH): CPU% on
 * the left axis and memory (MiB) on the right one, and a second panel with
 * GPU% and GPU memory when any row has GPU values. path must end in .png or
 * .svg; the figure is written to a temporary file beside it, synced and then
 * renamed, so path is either the old file or the complete new one.
 * NL_ENOTSUP when gnuplot cannot be run, NL_EIO when it fails (its message
 * is quoted). info may be NULL. */
NL_API nl_status nl_stats_plot(const char *path, const nl_stats_row *rows, size_t nrows,
                               const nl_stats_info *info, nl_error *err);

#ifdef __cplusplus
}
#endif
#endif
