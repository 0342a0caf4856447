/* stats_cost: what the resource monitor itself costs, watching a busy tree.
 *
 *   stats_cost [--procs N] [--threads T] [--mem MIB] [--seconds S] inproc [--pss]
 *   stats_cost [--procs N] [--threads T] [--mem MIB] [--seconds S] run -- CMD ARGS...
 *
 * Both modes first start a busy process tree: a root process with N-1
 * children (default 4 processes), each running T spinning threads (default 4)
 * and holding MIB MiB of touched memory (default 64), in its own process
 * group, killed at the end.
 *
 * inproc  samples the tree with the library (nl_stats_sample) every 100 ms
 *         for S seconds (default 30) on an absolute schedule, and reports the
 *         CPU time spent in the sampler per sample and as % of one core.
 * run     runs CMD (a monitor) with "{pid}" in its arguments replaced by the
 *         root's PID and "{pids}" by the comma-separated PIDs of the tree, waits
 *         for it, and reports its user+system CPU time (wait4) over its wall
 *         time as % of one core. The monitor must stop by itself (give it a
 *         duration); after S + 10 seconds it is killed.
 *
 * Output: one line "RESULT key=value ..." plus a readable line. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nnlab/stats.h"

static double mono(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double thread_cpu(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *spin(void *arg) {
    (void)arg;
    volatile unsigned long x = 0;
    for (;;) x++;
    return NULL;
}

/* One member of the busy tree: memory, T-1 extra threads, spins forever. */
static void member(int threads, long mem_mib, int ready_fd) {
    size_t n = (size_t)mem_mib << 20;
    char *p = malloc(n);
    for (size_t i = 0; p && i < n; i += 4096) p[i] = 1;
    for (int t = 1; t < threads; t++) {
        pthread_t th;
        pthread_create(&th, NULL, spin, NULL);
    }
    int pid = (int)getpid();
    if (write(ready_fd, &pid, sizeof pid) != (ssize_t)sizeof pid) _exit(1);
    spin(NULL);
}

/* Starts the tree; fills pids (root first). Returns the root's PID. */
static pid_t start_tree(int procs, int threads, long mem_mib, int *pids) {
    int pfd[2];
    if (pipe(pfd) != 0) return -1;
    pid_t root = fork();
    if (root == 0) {
        setpgid(0, 0);
        for (int i = 1; i < procs; i++) {
            if (fork() == 0) {
                member(threads, mem_mib, pfd[1]);
                _exit(0);
            }
        }
        member(threads, mem_mib, pfd[1]);
        _exit(0);
    }
    setpgid(root, root);
    close(pfd[1]);
    for (int i = 0; i < procs; i++) {
        if (read(pfd[0], &pids[i], sizeof pids[i]) != (ssize_t)sizeof pids[i]) return -1;
    }
    close(pfd[0]);
    /* root first in the list */
    for (int i = 0; i < procs; i++)
        if (pids[i] == root) {
            pids[i] = pids[0];
            pids[0] = root;
        }
    return root;
}

static void stop_tree(pid_t root) {
    kill(-root, SIGKILL);
    while (waitpid(root, NULL, 0) < 0 && errno == EINTR) {
    }
}

static int inproc(pid_t root, double seconds, int pss) {
    nl_stats *st = NULL;
    nl_error err = {0};
    nl_stats_opts o = {.pid = root, .flags = pss ? NL_STATS_PSS : 0};
    double c0 = thread_cpu();
    if (nl_stats_open(&st, &o, &err) != NL_OK) {
        fprintf(stderr, "stats_cost: %s\n", err.msg);
        return 1;
    }
    double open_cpu = thread_cpu() - c0;
    double t0 = mono(), total = 0, worst = 0;
    long n = 0, late = 0;
    int procs = 0, threads = 0;
    for (long k = 1; (double)k * 0.1 <= seconds; k++) {
        double when = t0 + (double)k * 0.1;
        struct timespec ts = {(time_t)when, (long)((when - floor(when)) * 1e9)};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
        }
        if (mono() - when > 0.01) late++;
        nl_stats_row r;
        double a = thread_cpu();
        if (nl_stats_sample(st, &r, &err) != NL_OK) {
            fprintf(stderr, "stats_cost: %s\n", err.msg);
            break;
        }
        double c = thread_cpu() - a;
        total += c;
        if (c > worst) worst = c;
        n++;
        procs = r.procs;
        threads = r.threads;
    }
    double wall = mono() - t0;
    nl_stats_close(st);
    printf("RESULT mode=inproc pss=%d samples=%ld procs=%d threads=%d us_per_sample=%.1f "
           "worst_us=%.1f open_us=%.1f cpu_pct_of_core=%.3f late=%ld\n",
           pss, n, procs, threads, 1e6 * total / (double)n, 1e6 * worst, 1e6 * open_cpu,
           100.0 * total / wall, late);
    printf("in-process sampler%s: %.1f us CPU per sample (worst %.1f us) watching %d processes / "
           "%d threads = %.3f %% of one core at 100 ms\n",
           pss ? " with PSS" : "", 1e6 * total / (double)n, 1e6 * worst, procs, threads,
           100.0 * total / wall);
    return 0;
}

static int run(pid_t root, const int *pids, int procs, double seconds, char **cmd) {
    char pidbuf[32], pidsbuf[512] = "";
    snprintf(pidbuf, sizeof pidbuf, "%d", (int)root);
    for (int i = 0; i < procs; i++) {
        size_t len = strlen(pidsbuf);
        snprintf(pidsbuf + len, sizeof pidsbuf - len, "%s%d", i ? "," : "", pids[i]);
    }
    int argc = 0;
    while (cmd[argc]) argc++;
    char **argv = calloc((size_t)argc + 1, sizeof *argv);
    if (!argv) return 1;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(cmd[i], "{pid}"))
            argv[i] = pidbuf;
        else if (!strcmp(cmd[i], "{pids}"))
            argv[i] = pidsbuf;
        else
            argv[i] = cmd[i];
    }
    double t0 = mono();
    pid_t m = fork();
    if (m == 0) {
        execvp(argv[0], argv);
        fprintf(stderr, "stats_cost: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int status = 0;
    struct rusage ru;
    double deadline = t0 + seconds + 10;
    for (;;) {
        pid_t w = wait4(m, &status, WNOHANG, &ru);
        if (w == m) break;
        if (mono() > deadline) kill(m, SIGKILL);
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    double wall = mono() - t0;
    double cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
                 (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    printf("RESULT mode=run cmd=%s exit=%d wall_s=%.2f user_s=%.3f sys_s=%.3f cpu_pct_of_core=%.3f "
           "maxrss_kib=%ld\n",
           argv[0], WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), wall,
           (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
           (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6, 100.0 * cpu / wall,
           ru.ru_maxrss);
    printf("%s: %.3f s CPU in %.2f s = %.3f %% of one core\n", argv[0], cpu, wall,
           100.0 * cpu / wall);
    free(argv);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
    int procs = 4, threads = 4, pss = 0;
    long mem = 64;
    double seconds = 30;
    int i = 1;
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "--procs") && i + 1 < argc)
            procs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--mem") && i + 1 < argc)
            mem = atol(argv[++i]);
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atof(argv[++i]);
        else
            break;
    }
    if (i >= argc || procs < 1 || procs > 64 || threads < 1 || mem < 0 || seconds <= 0) {
        fprintf(stderr, "usage: stats_cost [--procs N] [--threads T] [--mem MIB] [--seconds S] "
                        "inproc [--pss] | run -- CMD ARGS ({pid}, {pids})\n");
        return 2;
    }
    const char *mode = argv[i++];
    if (!strcmp(mode, "inproc") && i < argc && !strcmp(argv[i], "--pss")) pss = 1, i++;
    if (!strcmp(mode, "run")) {
        if (i < argc && !strcmp(argv[i], "--")) i++;
        if (i >= argc) {
            fprintf(stderr, "stats_cost run: no command\n");
            return 2;
        }
    } else if (strcmp(mode, "inproc") != 0) {
        fprintf(stderr, "stats_cost: unknown mode '%s'\n", mode);
        return 2;
    }
    int pids[64];
    pid_t root = start_tree(procs, threads, mem, pids);
    if (root < 0) {
        fprintf(stderr, "stats_cost: cannot start the busy tree\n");
        return 1;
    }
    struct timespec settle = {0, 300 * 1000 * 1000};
    nanosleep(&settle, NULL);
    printf("busy tree: %d processes x %d spinning threads, %ld MiB each, root PID %d\n", procs,
           threads, mem, (int)root);
    fflush(stdout);
    int rc = !strcmp(mode, "inproc") ? inproc(root, seconds, pss)
                                     : run(root, pids, procs, seconds, argv + i);
    stop_tree(root);
    return rc;
}
