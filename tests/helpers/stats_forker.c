/* Race load for the nnlab stats tests: a process tree that changes all the
 * time.
 *
 *   stats_forker SECONDS [TRUTH_FILE]
 *
 * For SECONDS, every ~2 ms: fork a child that works 0-3 ms (one in four also
 * forks and waits for a grandchild that works a little), reap the children
 * that are done, and start and join a short-lived thread now and then.
 * TRUTH_FILE receives "cpu_s X" (this process and every reaped descendant,
 * from getrusage) and "children N" at the end. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double mono(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void work(double seconds) {
    double end = mono() + seconds;
    volatile unsigned long x = 0;
    while (mono() < end)
        for (int i = 0; i < 1000; i++) x++;
}

static void *thread_work(void *arg) {
    (void)arg;
    work(0.001);
    return NULL;
}

static double tv(struct timeval t) {
    return (double)t.tv_sec + (double)t.tv_usec / 1e6;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: stats_forker SECONDS [TRUTH_FILE]\n");
        return 2;
    }
    double seconds = atof(argv[1]);
    double end = mono() + seconds;
    long n = 0;
    unsigned seed = 12345;
    while (mono() < end) {
        seed = seed * 1103515245u + 12345u;
        double w = (double)((seed >> 16) % 4) * 0.001;
        pid_t p = fork();
        if (p == 0) {
            if ((seed >> 20) % 4 == 0) {
                pid_t g = fork();
                if (g == 0) {
                    work(0.0005);
                    _exit(0);
                }
                work(w);
                if (g > 0) waitpid(g, NULL, 0);
            } else {
                work(w);
            }
            _exit(0);
        }
        if (p > 0) n++;
        if (n % 16 == 0) {
            pthread_t th;
            if (pthread_create(&th, NULL, thread_work, NULL) == 0) pthread_join(th, NULL);
        }
        while (waitpid(-1, NULL, WNOHANG) > 0) {
        }
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    while (wait(NULL) > 0) {
    }
    if (argc > 2) {
        struct rusage self, kids;
        getrusage(RUSAGE_SELF, &self);
        getrusage(RUSAGE_CHILDREN, &kids);
        FILE *f = fopen(argv[2], "w");
        if (!f) return 1;
        fprintf(f, "cpu_s %.6f\nchildren %ld\n",
                tv(self.ru_utime) + tv(self.ru_stime) + tv(kids.ru_utime) + tv(kids.ru_stime), n);
        fclose(f);
    }
    return 0;
}
