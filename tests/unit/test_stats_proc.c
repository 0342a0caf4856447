/* nnlab stats sampler: /proc parsers, open errors, exact CPU totals for a
 * process and for a tree whose children come and go, the three CPU-time
 * sources, memory, PID reuse, finding a process by name, the sampling loop
 * (nl_stats_run). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "nnlab/stats.h"
#include "stats/stats_internal.h"

static void sleep_s(double s) {
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void spin(double s) {
    double end = now_s() + s;
    volatile unsigned long x = 0;
    while (now_s() < end)
        for (int i = 0; i < 1000; i++) x++;
}

static double children_cpu(void) {
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int exited(pid_t pid) {
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0) return 1;
    return si.si_pid == pid;
}

/* Samples every `interval` until the root exits; the last row (alive == 0)
 * is taken while it is a zombie, then it is reaped. Returns rows taken. */
static int run(nl_stats *st, pid_t child, double interval, nl_stats_row *last, int *max_procs) {
    nl_error err = {0};
    int rows = 0;
    if (max_procs) *max_procs = 0;
    for (int guard = 0; guard < 1000; guard++) {
        sleep_s(interval);
        int done = exited(child);
        nl_stats_row r;
        if (nl_stats_sample(st, &r, &err) != NL_OK) {
            CHECK_MSG(0, "sample: %s", err.msg);
            break;
        }
        rows++;
        CHECK(r.cpu_pct >= 0 && isfinite(r.cpu_pct));
        if (max_procs && r.procs > *max_procs) *max_procs = r.procs;
        *last = r;
        if (done) {
            CHECK(r.alive == 0);
            break;
        }
        CHECK(r.alive == 1);
    }
    waitpid(child, NULL, 0);
    return rows;
}

static void test_parsers(void) {
    st_pstat ps;
    const char *line = "4242 (we ird) (na)me) S 17 4242 4242 0 -1 4194560 100 0 0 0 "
                       "250 30 7 3 20 0 5 0 123456 104857600 2560 18446744073709551615 1 1 0 "
                       "0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
    CHECK(st_parse_stat(line, &ps) == 0);
    CHECK(ps.pid == 4242);
    CHECK(!strcmp(ps.comm, "we ird) (na)me"));
    CHECK(ps.state == 'S');
    CHECK(ps.ppid == 17);
    CHECK(ps.utime == 250 && ps.stime == 30 && ps.cutime == 7 && ps.cstime == 3);
    CHECK(ps.num_threads == 5);
    CHECK(ps.start == 123456);
    CHECK(ps.rss_pages == 2560);
    CHECK(ps.minflt == 100 && ps.cminflt == 0 && ps.majflt == 0 && ps.cmajflt == 0);
    uint64_t vcs = 0, ivcs = 0;
    CHECK(st_parse_ctxt("Name:\tx\nThreads:\t1\nvoluntary_ctxt_switches:\t42\n"
                        "nonvoluntary_ctxt_switches:\t7\n",
                        &vcs, &ivcs) == 0);
    CHECK(vcs == 42 && ivcs == 7);
    CHECK(st_parse_ctxt("Name:\tx\n", &vcs, &ivcs) == -1);
    CHECK(st_parse_stat("", &ps) == -1);
    CHECK(st_parse_stat("12 (x) S 1 2 3", &ps) == -1);          /* truncated */
    CHECK(st_parse_stat("abc (x) S 1 2 3 4 5 6 7", &ps) == -1); /* not a pid */
    CHECK(st_parse_stat("12 x S 1 2 3 4 5 6 7 8", &ps) == -1);  /* no parentheses */

    uint64_t r = 0, w = 0;
    CHECK(st_parse_io("rchar: 10\nwchar: 20\nsyscr: 1\nsyscw: 2\nread_bytes: 4096\n"
                      "write_bytes: 8192\ncancelled_write_bytes: 0\n",
                      &r, &w) == 0);
    CHECK(r == 4096 && w == 8192);
    CHECK(st_parse_io("rchar: 10\n", &r, &w) == -1);
    uint64_t kib = 0;
    CHECK(st_parse_pss("5555-7777 ---p 0 00:00 0 [rollup]\nRss:  1668 kB\nPss:   353 kB\n"
                       "Pss_Dirty: 112 kB\n",
                       &kib) == 0);
    CHECK(kib == 353);
    uint64_t busy = 0, total = 0;
    CHECK(st_parse_cpu_line("cpu  100 5 50 800 40 1 2 2 0 0\ncpu0 ...", &busy, &total) == 0);
    CHECK(total == 1000 && busy == 160);
    CHECK(st_parse_cpu_line("intr 1 2 3", &busy, &total) == -1);
    uint64_t mt = 0, ma = 0;
    CHECK(st_parse_meminfo("MemTotal: 1000 kB\nMemFree: 100 kB\nMemAvailable: 400 kB\n", &mt,
                           &ma) == 0);
    CHECK(mt == 1000 && ma == 400);
    CHECK(st_parse_meminfo("MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 150 kB\n",
                           &mt, &ma) == 0);
    CHECK(ma == 300); /* old kernels: free + buffers + cached */
    CHECK(st_parse_meminfo("Foo: 1\n", &mt, &ma) == -1);
}

static void test_open_errors(void) {
    nl_stats *st = NULL;
    nl_error err = {0};
    nl_stats_opts o = {0};
    CHECK(nl_stats_open(&st, &o, &err) == NL_EINVAL && st == NULL);
    o.pid = getpid();
    CHECK(nl_stats_open(&st, &o, &err) == NL_EINVAL);
    CHECK_CONTAINS(err.msg, "this process");
    /* a PID that cannot exist: pid_max itself */
    char buf[64];
    long pid_max = 4194304;
    if (st_read_text("/proc/sys/kernel/pid_max", buf, sizeof buf) > 0) pid_max = atol(buf);
    o.pid = (int)pid_max;
    CHECK(nl_stats_open(&st, &o, &err) == NL_ENOTFOUND);
    CHECK_CONTAINS(err.msg, "no process with PID");
    /* a zombie */
    pid_t z = fork();
    if (z == 0) _exit(0);
    siginfo_t si;
    waitid(P_PID, (id_t)z, &si, WEXITED | WNOWAIT);
    o.pid = z;
    CHECK(nl_stats_open(&st, &o, &err) == NL_ENOTFOUND);
    CHECK_CONTAINS(err.msg, "zombie");
    /* ...unless the caller has just started it: then its whole life is one sample */
    for (int pss = 0; pss < 2; pss++) {
        o.flags = NL_STATS_FROM_START | NL_STATS_NO_GPU | (pss ? NL_STATS_PSS : 0);
        CHECK_MSG(nl_stats_open(&st, &o, &err) == NL_OK, "zombie, FROM_START%s: %s",
                  pss ? ", PSS" : "", err.msg);
        if (st) {
            nl_stats_row r;
            CHECK(nl_stats_sample(st, &r, &err) == NL_OK);
            CHECK(r.alive == 0 && r.procs == 0 && r.threads == 0 && r.mem_mib == 0);
            CHECK(r.cpu_s >= 0 && r.cpu_s < 0.5);
            nl_stats_close(st);
            st = NULL;
        }
    }
    o.flags = 0;
    waitpid(z, NULL, 0);
    CHECK(nl_stats_sample(NULL, NULL, &err) == NL_EINVAL);
    nl_stats_close(NULL);
}

/* CPU total of one busy process, from each CPU-time source. */
static void test_cpu_exact(int src, double tol) {
    st_force_cpu_source(src);
    double before = children_cpu();
    pid_t pid = fork();
    if (pid == 0) {
        spin(0.5);
        _exit(0);
    }
    nl_stats *st = NULL;
    nl_error err = {0};
    nl_stats_opts o = {.pid = pid, .flags = NL_STATS_FROM_START | NL_STATS_NO_GPU};
    CHECK(nl_stats_open(&st, &o, &err) == NL_OK);
    if (!st) {
        waitpid(pid, NULL, 0);
        return;
    }
    const nl_stats_info *in = nl_stats_get_info(st);
    static const char *const names[] = {"clock", "schedstat", "stat ticks"};
    CHECK_MSG(!strcmp(in->cpu_source, names[src]), "source %s, wanted %s", in->cpu_source,
              names[src]);
    CHECK(in->ncpu >= 1 && in->mem_total_mib > 0 && in->pid == pid);
    CHECK(!in->gpu_available && in->gpu_note[0]);
    nl_stats_row last;
    int rows = run(st, pid, 0.1, &last, NULL);
    double truth = children_cpu() - before;
    CHECK(rows >= 4);
    CHECK_MSG(fabs(last.cpu_s - truth) <= tol, "source %s: monitor %.4f s, getrusage %.4f s",
              names[src], last.cpu_s, truth);
    nl_stats_close(st);
    st_force_cpu_source(-1);
}

/* A tree whose children live a few ms each: their CPU is found through the
 * parent's cutime when they are reaped. */
static void test_tree(unsigned flags) {
    double before = children_cpu();
    pid_t pid = fork();
    if (pid == 0) {
        double end = now_s() + 0.8;
        while (now_s() < end) {
            pid_t g = fork();
            if (g == 0) {
                spin(0.004);
                _exit(0);
            }
            if (g > 0) waitpid(g, NULL, 0);
            sleep_s(0.002);
        }
        _exit(0);
    }
    nl_stats *st = NULL;
    nl_error err = {0};
    nl_stats_opts o = {.pid = pid, .flags = flags | NL_STATS_FROM_START | NL_STATS_NO_GPU};
    CHECK(nl_stats_open(&st, &o, &err) == NL_OK);
    if (!st) {
        waitpid(pid, NULL, 0);
        return;
    }
    nl_stats_row last;
    int maxp = 0;
    run(st, pid, 0.05, &last, &maxp);
    double truth = children_cpu() - before;
    if (flags & NL_STATS_NO_CHILDREN) {
        CHECK(maxp == 1);
        CHECK_MSG(last.cpu_s < 0.5 * truth, "no-children: %.4f s of a tree total %.4f s",
                  last.cpu_s, truth);
    } else {
        CHECK_MSG(fabs(last.cpu_s - truth) <= 0.1 * truth + 0.03,
                  "tree: monitor %.4f s, getrusage %.4f s", last.cpu_s, truth);
    }
    nl_stats_close(st);
}

/* A child that appears during the run is found within a few samples, and
 * leaves the tree when it ends. */
static void test_discovery(void) {
    pid_t pid = fork();
    if (pid == 0) {
        sleep_s(0.15);
        pid_t g = fork();
        if (g == 0) {
            sleep_s(0.3);
            _exit(0);
        }
        waitpid(g, NULL, 0);
        sleep_s(0.2);
        _exit(0);
    }
    nl_stats *st = NULL;
    nl_error err = {0};
    nl_stats_opts o = {.pid = pid, .flags = NL_STATS_NO_GPU};
    CHECK(nl_stats_open(&st, &o, &err) == NL_OK);
    if (!st) {
        waitpid(pid, NULL, 0);
        return;
    }
    double first2 = -1, last2 = -1;
    int after = 0;
    for (int i = 0; i < 200; i++) {
        sleep_s(0.025);
        int done = exited(pid);
        nl_stats_row r;
        CHECK(nl_stats_sample(st, &r, &err) == NL_OK);
        if (r.procs == 2) {
            if (first2 < 0) first2 = r.t_s;
            last2 = r.t_s;
        }
        if (first2 >= 0 && r.procs == 1) after = 1;
        if (done) break;
    }
    waitpid(pid, NULL, 0);
    CHECK_MSG(first2 >= 0 && first2 < 0.35, "grandchild (started at 0.15 s) first seen at %.3f s",
              first2);
    CHECK_MSG(last2 > 0.3 && after, "grandchild seen until %.3f s, gone after: %d", last2, after);
    nl_stats_close(st);
}

static long self_rss_kib(void) {
    char buf[256];
    if (st_read_text("/proc/self/statm", buf, sizeof buf) < 0) return 0;
    long pages = 0, res = 0;
    sscanf(buf, "%ld %ld", &pages, &res);
    return res * (sysconf(_SC_PAGESIZE) / 1024);
}

static void test_memory(void) {
    int pfd[2];
    if (pipe(pfd) != 0) return;
    long parent_kib = self_rss_kib();
    pid_t pid = fork();
    if (pid == 0) {
        size_t n = 64u << 20;
        /* volatile: the pages must be touched (clang drops stores to memory that is
           never read) */
        volatile char *p = malloc(n);
        for (size_t i = 0; p && i < n; i += 4096) p[i] = 1;
        char c = 'x';
        if (write(pfd[1], &c, 1) != 1) _exit(1);
        sleep_s(5);
        _exit(p ? 0 : 1);
    }
    char c;
    if (read(pfd[0], &c, 1) != 1) return;
    double hi = 64.0 + parent_kib / 1024.0 + 8.0;
    for (int pss = 0; pss < 2; pss++) {
        nl_stats *st = NULL;
        nl_error err = {0};
        nl_stats_opts o = {.pid = pid, .flags = NL_STATS_NO_GPU | (pss ? NL_STATS_PSS : 0)};
        CHECK(nl_stats_open(&st, &o, &err) == NL_OK);
        if (!st) break;
        sleep_s(0.05);
        nl_stats_row r;
        CHECK(nl_stats_sample(st, &r, &err) == NL_OK);
        CHECK_MSG(r.mem_mib >= 64.0 && r.mem_mib <= hi, "%s %.1f MiB, expected 64..%.1f",
                  pss ? "PSS" : "RSS", r.mem_mib, hi);
        CHECK(r.procs == 1 && r.threads == 1 && r.alive == 1);
        CHECK(r.sys_ram_pct > 0 && r.sys_ram_pct < 100);
        CHECK(r.mem_machine_pct > 0);
        CHECK(nl_stats_get_info(st)->pss == pss);
        nl_stats_close(st);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(pfd[0]);
    close(pfd[1]);
}

/* A watched process that ends and whose PID is given to a new process
 * (arranged through /proc/sys/kernel/ns_last_pid where permitted). */
static void test_pid_reuse(void) {
    pid_t a = fork();
    if (a == 0) {
        sleep_s(10);
        _exit(0);
    }
    nl_stats *st = NULL;
    nl_error err = {0};
    nl_stats_opts o = {.pid = a, .flags = NL_STATS_NO_GPU};
    CHECK(nl_stats_open(&st, &o, &err) == NL_OK);
    kill(a, SIGKILL);
    waitpid(a, NULL, 0);
    int fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY);
    pid_t b = -1;
    if (fd >= 0) {
        char buf[32];
        int n = snprintf(buf, sizeof buf, "%d", a - 1);
        if (write(fd, buf, (size_t)n) == n) {
            b = fork();
            if (b == 0) {
                spin(0.4);
                _exit(0);
            }
        }
        close(fd);
    }
    if (b != a) printf("note: PID %d was not reused (got %d): reuse path not exercised\n", a, b);
    sleep_s(0.2);
    nl_stats_row r;
    if (st) {
        CHECK(nl_stats_sample(st, &r, &err) == NL_OK);
        CHECK_MSG(r.alive == 0 && r.procs == 0, "after the PID was reused: alive %d procs %d",
                  r.alive, r.procs);
        CHECK_MSG(r.cpu_pct < 5.0, "the new process's CPU was counted: %.1f %%", r.cpu_pct);
        CHECK(nl_stats_sample(st, &r, &err) == NL_OK && r.alive == 0);
        nl_stats_close(st);
    }
    if (b > 0) {
        kill(b, SIGKILL);
        waitpid(b, NULL, 0);
    }
}

static pid_t named_child(const char *name, int grandchild, int *ready_fd) {
    int pfd[2];
    if (pipe(pfd) != 0) return -1;
    pid_t p = fork();
    if (p == 0) {
        setpgid(0, 0); /* the test kills the whole group */
        prctl(PR_SET_NAME, name, 0, 0, 0);
        if (grandchild) {
            pid_t g = fork();
            if (g == 0) {
                prctl(PR_SET_NAME, name, 0, 0, 0);
                if (write(pfd[1], "g", 1) != 1) _exit(1);
                sleep_s(10);
                _exit(0);
            }
        }
        if (write(pfd[1], "p", 1) != 1) _exit(1);
        sleep_s(10);
        _exit(0);
    }
    close(pfd[1]);
    char c;
    for (int i = 0; i < 1 + grandchild; i++)
        if (read(pfd[0], &c, 1) != 1) break;
    *ready_fd = pfd[0];
    return p;
}

static void test_find_name(void) {
    char name[16];
    snprintf(name, sizeof name, "nlst%d", (int)(getpid() % 100000));
    nl_stats_match m;
    nl_error err = {0};
    CHECK(nl_stats_find_name(name, getpid(), &m, &err) == NL_ENOTFOUND);
    CHECK_CONTAINS(err.msg, name);
    CHECK(nl_stats_find_name("", getpid(), &m, &err) == NL_EINVAL);
    int fa, fb;
    pid_t a = named_child(name, 1, &fa);
    CHECK(nl_stats_find_name(name, getpid(), &m, &err) == NL_OK);
    CHECK(m.pid == a && m.count == 2);
    CHECK_CONTAINS(m.why, "descends from another match");
    sleep_s(0.02); /* a later start time (10 ms ticks) */
    pid_t b = named_child(name, 0, &fb);
    CHECK(nl_stats_find_name(name, getpid(), &m, &err) == NL_OK);
    CHECK_MSG(m.pid == b && m.count == 3, "chose %d of %d (a %d b %d): %s", m.pid, m.count, a, b,
              m.why);
    CHECK_CONTAINS(m.why, "most recently started");
    /* the monitor's own name is never a match for itself */
    char self[64] = "";
    st_read_text("/proc/self/comm", self, sizeof self);
    self[strcspn(self, "\n")] = '\0';
    if (nl_stats_find_name(self, getpid(), &m, &err) == NL_OK) CHECK(m.pid != getpid());
    kill(-a, SIGKILL);
    kill(-b, SIGKILL);
    waitpid(a, NULL, 0);
    waitpid(b, NULL, 0);
    close(fa);
    close(fb);
}

/* A child that vanishes (killed and reaped) just before its /proc/PID/io is
 * opened loses only its own reading: the run keeps its I/O (issue 15 F16). */
static void vanish(int pid) {
    kill(pid, SIGKILL);
    for (int i = 0; i < 200 && kill(pid, 0) == 0; i++) sleep_s(0.005);
}

static void test_vanished_io(void) {
    pid_t root = fork();
    if (root == 0) {
        signal(SIGCHLD, SIG_IGN); /* reaps its children at once */
        if (fork() == 0) {
            sleep_s(10);
            _exit(0);
        }
        sleep_s(10);
        _exit(0);
    }
    sleep_s(0.1);
    st_test_before_io_open = vanish;
    nl_stats *st = NULL;
    nl_error err = {0};
    nl_stats_opts o = {.pid = (int)root, .flags = NL_STATS_NO_GPU};
    CHECK(nl_stats_open(&st, &o, &err) == NL_OK);
    st_test_before_io_open = NULL;
    if (st) {
        nl_stats_row row;
        CHECK(nl_stats_sample(st, &row, &err) == NL_OK);
        CHECK_MSG(nl_stats_get_info(st)->io_available, "%s", nl_stats_get_info(st)->io_note);
        CHECK(isfinite(row.read_mib) && isfinite(row.write_mib) && row.procs == 1);
        nl_stats_close(st);
    }
    kill(root, SIGKILL);
    waitpid(root, NULL, 0);
}

typedef struct counts {
    int opened, samples, last_alive, stop_at;
} counts;

static void count_open(void *user, const nl_stats_info *info) {
    counts *c = user;
    c->opened++;
    (void)info;
}

static int count_sample(void *user, const nl_stats_row *row, const nl_stats_info *info) {
    counts *c = user;
    (void)info;
    c->samples++;
    c->last_alive = row->alive;
    return c->stop_at > 0 && c->samples >= c->stop_at;
}

static int process_running(int pid) {
    char path[64], buf[1024];
    st_pstat ps;
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    return st_read_text(path, buf, sizeof buf) >= 0 && st_parse_stat(buf, &ps) == 0 &&
           ps.state != 'Z' && ps.state != 'X';
}

static void test_run(void) {
    nl_error err = {0};
    nl_stats_run_result res;
    counts c = {0};
    /* a command: its exit status, every sample to the callback, the last one dead */
    char *exit3[] = {"sh", "-c", "sleep 0.25; exit 3", NULL};
    nl_stats_run_opts o = {.argv = exit3,
                           .flags = NL_STATS_NO_GPU,
                           .interval_s = 0.05,
                           .on_open = count_open,
                           .on_sample = count_sample,
                           .user = &c};
    CHECK(nl_stats_run(&o, &res, &err) == NL_OK);
    CHECK(res.exit_code == 3 && res.exec_errno == 0 && !res.timed_out && !res.stopped);
    CHECK(c.opened == 1 && c.samples == res.samples && c.samples >= 3 && c.last_alive == 0);
    /* the summary counts the samples of the live process: not the row after the exit */
    CHECK(res.info_valid && !strcmp(res.info.comm, "sh") && res.summary.samples == res.samples - 1);
    /* the kernel's figures at the reaping, and the mean over launch to exit */
    CHECK(res.summary.exit_valid && res.summary.exit_maxrss_mib > 0 && res.summary.exit_minflt > 0);
    CHECK_NEAR(res.summary.duration_s, res.wall_s, 1e-9);
    CHECK(res.wall_s >= 0.24 && res.wall_s < 5);
    /* a command that cannot be executed is an outcome */
    char *none[] = {"/nonexistent/nnlab-test", NULL};
    c = (counts){0};
    o.argv = none;
    CHECK(nl_stats_run(&o, &res, &err) == NL_OK);
    CHECK(res.exit_code == 127 && res.exec_errno == ENOENT && c.samples == 0);
    /* the timeout: SIGTERM */
    char *slow[] = {"sleep", "10", NULL};
    o.argv = slow;
    o.timeout_s = 0.2;
    double t0 = now_s();
    CHECK(nl_stats_run(&o, &res, &err) == NL_OK);
    CHECK(res.timed_out && res.exit_code == 128 + SIGTERM && now_s() - t0 < 3);
    /* on_sample stops it */
    o.timeout_s = 0;
    c = (counts){.stop_at = 3};
    CHECK(nl_stats_run(&o, &res, &err) == NL_OK);
    CHECK(res.stopped == -1 && res.exit_code == 128 + SIGTERM && c.samples >= 3);
    /* --duration: sampling ends, the command is still waited for */
    char *half[] = {"sleep", "0.5", NULL};
    o.argv = half;
    o.duration_s = 0.12;
    c = (counts){0};
    CHECK(nl_stats_run(&o, &res, &err) == NL_OK);
    CHECK(res.exit_code == 0 && c.samples <= 3 && res.wall_s >= 0.45);
    o.duration_s = 0;
    /* contained: the daemon its tree leaves behind is ended and counted */
    char *daemon[] = {"sh", "-c", "setsid sleep 30 & echo $! > /tmp/nnlab-run-test.pid; sleep 0.3",
                      NULL};
    o.argv = daemon;
    o.contain = 1;
    CHECK(nl_stats_run(&o, &res, &err) == NL_OK);
    CHECK(res.exit_code == 0 && res.leftovers == 1);
    FILE *f = fopen("/tmp/nnlab-run-test.pid", "r");
    int dpid = 0;
    CHECK(f && fscanf(f, "%d", &dpid) == 1);
    if (f) fclose(f);
    unlink("/tmp/nnlab-run-test.pid");
    sleep_s(0.1);
    CHECK(dpid > 0 && !process_running(dpid));
    if (dpid > 0) kill(dpid, SIGKILL);
    /* a daemon that forked twice (its parent gone before the first sample) is
       adopted by this process as the subreaper, ended and reaped */
    char *twice[] = {"sh", "-c", "(setsid sleep 30 & echo $! > /tmp/nnlab-run-test.pid); sleep 0.2",
                     NULL};
    o.argv = twice;
    CHECK(nl_stats_run(&o, &res, &err) == NL_OK);
    CHECK(res.exit_code == 0 && res.leftovers == 1);
    f = fopen("/tmp/nnlab-run-test.pid", "r");
    dpid = 0;
    CHECK(f && fscanf(f, "%d", &dpid) == 1);
    if (f) fclose(f);
    unlink("/tmp/nnlab-run-test.pid");
    CHECK(dpid > 0 && !process_running(dpid));
    CHECK(waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD); /* nothing left to reap */
    int sub = -1;
    CHECK(prctl(PR_GET_CHILD_SUBREAPER, &sub) == 0 && sub == 0); /* restored */
    if (dpid > 0) kill(dpid, SIGKILL);
    o.contain = 0;
    /* a running process: sampled until it exits */
    pid_t p = fork();
    if (p == 0) {
        sleep_s(0.3);
        _exit(0);
    }
    nl_stats_run_opts po = {.pid = (int)p, .flags = NL_STATS_NO_GPU, .interval_s = 0.05};
    t0 = now_s();
    CHECK(nl_stats_run(&po, &res, &err) == NL_OK);
    CHECK(res.exit_code == -1 && res.samples >= 3 && now_s() - t0 < 3);
    waitpid(p, NULL, 0);
    /* bad options */
    po.argv = slow;
    CHECK(nl_stats_run(&po, &res, &err) == NL_EINVAL);
    po.argv = NULL;
    po.interval_s = 0;
    CHECK(nl_stats_run(&po, &res, &err) == NL_EINVAL);
}

/* pidstat's figures summed over the rows: page faults and context switches. */
typedef struct totals {
    double minflt, vcsw, user_s;
} totals;

static int add_totals(void *user, const nl_stats_row *r, const nl_stats_info *info) {
    (void)info;
    totals *t = user;
    t->minflt += r->minflt_s * r->dt_s;
    t->vcsw += r->vcsw_s * r->dt_s;
    t->user_s += r->user_pct / 100 * r->dt_s;
    return 0;
}

/* Faults of children that lived between two samples are counted when their
 * parent reaps them (like their CPU time): 4 children touching 8 MiB each. */
static void test_faults_and_switches(void) {
    char *argv[] = {"sh", "-c",
                    "for i in 1 2 3 4; do dd if=/dev/zero of=/dev/null bs=8M count=1 2>/dev/null; "
                    "done; sleep 0.3",
                    NULL};
    totals t = {0};
    nl_stats_run_opts o = {.argv = argv,
                           .flags = NL_STATS_NO_GPU,
                           .interval_s = 0.05,
                           .on_sample = add_totals,
                           .user = &t};
    nl_stats_run_result res;
    nl_error err = {0};
    CHECK(nl_stats_run(&o, &res, &err) == NL_OK && res.exit_code == 0);
    /* dd fills an 8 MiB buffer: at least 2048 pages of faults each */
    CHECK_MSG(t.minflt >= 4 * 2048 * 0.9, "minor faults counted: %.0f", t.minflt);
    CHECK_MSG(t.vcsw >= 1, "voluntary switches counted: %.0f", t.vcsw);
    CHECK_NEAR(t.minflt, res.summary.minflt, 1e-6 * t.minflt + 1e-9);
    CHECK(res.summary.exit_valid && (double)res.summary.exit_minflt >= 4 * 2048 * 0.9);
}

int main(void) {
    test_parsers();
    test_open_errors();
    test_cpu_exact(0, 0.005);
    test_cpu_exact(1, 0.025);
    test_cpu_exact(2, 0.025);
    test_tree(0);
    test_tree(NL_STATS_NO_CHILDREN);
    test_discovery();
    test_memory();
    test_pid_reuse();
    test_find_name();
    test_run();
    test_faults_and_switches();
    test_vanished_io();
    CHECK_DONE();
}
