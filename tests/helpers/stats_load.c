/* Ground-truth load for the nnlab stats tests.
 *
 *   stats_load --timeline FILE [--mem MIB] [--phase SECONDS]
 *
 * Forks a child (the monitor must count the tree) that allocates and touches
 * MIB MiB (default 96), then busies one core for SECONDS (default 1.2), then
 * two threads for SECONDS, then sleeps for SECONDS. The parent only waits.
 * FILE receives what really happened, measured by the processes themselves:
 *   mem_mib M               memory touched by the child
 *   parent_rss_kib N        the parent's RSS (VmRSS)
 *   child_rss_kib N         the child's RSS at the start of the sleep phase
 *   phase K START END       wall clock (ms since the epoch) of phase K = 1, 2, 3
 *   cpu WALL_MS CPU_MS      the child's CPU time (all threads) at that wall time,
 *                           every few ms: the truth for any window */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double cpu_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double mono(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6)) v = strtol(line + 6, NULL, 10);
    if (f) fclose(f);
    return v;
}

enum { MAXPTS = 20000 };
static double pts[MAXPTS][2];
static int npts;

static void mark(void) {
    if (npts < MAXPTS) {
        pts[npts][0] = wall_ms();
        pts[npts][1] = cpu_ms();
        npts++;
    }
}

static volatile int spin_stop;
static void *spinner(void *arg) {
    (void)arg;
    volatile unsigned long x = 0;
    while (!spin_stop) x++;
    return NULL;
}

/* busy until `seconds` have passed, marking the timeline every ~5 ms */
static void busy(double seconds) {
    double end = mono() + seconds, next = 0;
    volatile unsigned long x = 0;
    for (;;) {
        double t = mono();
        if (t >= end) break;
        if (t >= next) {
            mark();
            next = t + 0.005;
        }
        for (int i = 0; i < 10000; i++) x++;
    }
    mark();
}

int main(int argc, char **argv) {
    const char *timeline = NULL;
    long mem = 96;
    double phase = 1.2;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--timeline") && i + 1 < argc)
            timeline = argv[++i];
        else if (!strcmp(argv[i], "--mem") && i + 1 < argc)
            mem = atol(argv[++i]);
        else if (!strcmp(argv[i], "--phase") && i + 1 < argc)
            phase = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: stats_load --timeline FILE [--mem MIB] [--phase SECONDS]\n");
            return 2;
        }
    }
    if (!timeline || mem < 1 || phase <= 0) return 2;
    FILE *f = fopen(timeline, "w");
    if (!f) {
        perror(timeline);
        return 1;
    }
    fprintf(f, "mem_mib %ld\nparent_rss_kib %ld\n", mem, rss_kib());
    fflush(f);
    pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid == 0) {
        size_t bytes = (size_t)mem << 20;
        unsigned char *buf = malloc(bytes);
        if (!buf) _exit(1);
        for (size_t i = 0; i < bytes; i += 4096) buf[i] = (unsigned char)(i >> 12 | 1);
        double ph[3][2];
        ph[0][0] = wall_ms();
        mark();
        busy(phase); /* one core */
        ph[0][1] = ph[1][0] = wall_ms();
        pthread_t th;
        spin_stop = 0;
        pthread_create(&th, NULL, spinner, NULL);
        busy(phase); /* two threads */
        spin_stop = 1;
        pthread_join(th, NULL);
        mark();
        ph[1][1] = ph[2][0] = wall_ms();
        long child_rss = rss_kib();
        double end = mono() + phase;
        while (mono() < end) { /* sleep */
            struct timespec ts = {0, 50 * 1000 * 1000};
            nanosleep(&ts, NULL);
            mark();
        }
        ph[2][1] = wall_ms();
        unsigned long sum = 0;
        for (size_t i = 0; i < bytes; i += 4096) sum += buf[i];
        fprintf(f, "child_rss_kib %ld\n", child_rss);
        for (int k = 0; k < 3; k++) fprintf(f, "phase %d %.3f %.3f\n", k + 1, ph[k][0], ph[k][1]);
        for (int i = 0; i < npts; i++) fprintf(f, "cpu %.3f %.3f\n", pts[i][0], pts[i][1]);
        fprintf(f, "checksum %lu\n", sum);
        fclose(f);
        _exit(0);
    }
    fclose(f);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0) {
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
