/* bench_train: nnlab against its Python peers on one workload, head to head.
 *
 * Runs `nnlab train W --json --quiet` and the peer scripts (peers/, Python) in turn,
 * interleaved (A B C A B C ...) so that drift in the machine's speed falls on all
 * alike, each at every thread setting asked for. For every child it takes the wall
 * time (fork to wait4) and the peak RSS and CPU time from wait4's rusage, parses
 * the final JSON line the child prints and the event lines it writes to --events
 * (design.md, "Events") for the samples/s of every epoch. It writes a Markdown
 * report with the exact command line to bench/results/<name>.md (and prints it),
 * and the raw figures of every run to bench/results/<name>.json.
 *
 * A peer that exits with status 3 has no framework installed: it is reported as
 * skipped with the install hint it printed, and not run again.
 *
 *     bench_train --workload mnist --data ../shared/datasets --runs 3
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "blas_env.h"

#ifndef NNLAB_SOURCE_DIR
#define NNLAB_SOURCE_DIR "."
#endif

#define MAX_VARIANTS 32
#define MAX_RUNS     100
#define MAX_EPOCHS   64
#define MAX_ARGS     64
#define EXIT_SKIPPED 3

/* ---- small helpers ---------------------------------------------------------------- */

static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("bench_train: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static char *xstrdup(const char *s) {
    char *p = strdup(s);
    if (!p) die("out of memory");
    return p;
}

static char *xprintf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0) die("out of memory");
    va_end(ap);
    return s;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int is_file(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static void mkdir_p(const char *path) {
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(buf, 0777) && errno != EEXIST) die("cannot create %s: %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0777) && errno != EEXIST) die("cannot create %s: %s", buf, strerror(errno));
}

/* Whole file into a malloc'd NUL-terminated string (NULL if unreadable). */
static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    if (!buf) die("out of memory");
    size_t n;
    while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 2) {
            cap *= 2;
            buf = realloc(buf, cap);
            if (!buf) die("out of memory");
        }
    }
    fclose(f);
    buf[len] = 0;
    return buf;
}

/* An argument quoted for a POSIX shell when it needs to be. */
static char *shell_quote(const char *a) {
    int plain = *a != 0;
    for (const char *p = a; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=:,+@%", *p))
            plain = 0;
    if (plain) return xstrdup(a);
    size_t n = 3;
    for (const char *p = a; *p; p++) n += *p == '\'' ? 4 : 1;
    char *q = malloc(n), *o = q;
    if (!q) die("out of memory");
    *o++ = '\'';
    for (const char *p = a; *p; p++) {
        if (*p == '\'') {
            memcpy(o, "'\\''", 4);
            o += 4;
        } else {
            *o++ = *p;
        }
    }
    *o++ = '\'';
    *o = 0;
    return q;
}

static char *join_argv(char *const *argv) {
    size_t cap = 256, len = 0;
    char *s = malloc(cap);
    if (!s) die("out of memory");
    s[0] = 0;
    for (int i = 0; argv[i]; i++) {
        char *q = shell_quote(argv[i]);
        size_t need = len + strlen(q) + 2;
        if (need > cap) {
            while (need > cap) cap *= 2;
            s = realloc(s, cap);
            if (!s) die("out of memory");
        }
        len += (size_t)sprintf(s + len, "%s%s", i ? " " : "", q);
        free(q);
    }
    return s;
}

/* The command as shown in the report: paths inside the source tree relative
 * to it ("./build/nnlab", "./peers/..."), so that the report names no folder
 * of the machine it was made on. In place (the result is never longer). */
static char *repo_relative(char *s) {
    const char *root = NNLAB_SOURCE_DIR "/";
    const size_t n = strlen(root);
    if (n <= 1) return s;
    char *w = s;
    for (const char *r = s; *r;) {
        if (!strncmp(r, root, n)) {
            *w++ = '.', *w++ = '/';
            r += n;
        } else {
            *w++ = *r++;
        }
    }
    *w = 0;
    return s;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(const double *v, int n) {
    if (n <= 0) return NAN;
    double t[MAX_RUNS];
    memcpy(t, v, (size_t)n * sizeof *t);
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

static double vmin(const double *v, int n) {
    double m = INFINITY;
    for (int i = 0; i < n; i++) m = v[i] < m ? v[i] : m;
    return m;
}

static double vmax(const double *v, int n) {
    double m = -INFINITY;
    for (int i = 0; i < n; i++) m = v[i] > m ? v[i] : m;
    return m;
}

/* ---- contestants ------------------------------------------------------------------------ */

typedef enum { K_NNLAB, K_TORCH, K_KERAS_TF, K_KERAS_JAX } kind;

typedef struct run_result {
    int status;       /* exit status, or 128 + signal */
    double bg;        /* % of the machine's CPU busy with other work just before the run */
    double bg_during; /* the same during the run (machine's busy time less the child's) */
    int repeats;      /* runs thrown away before this one for too much other load */
    double wall;      /* seconds, fork to wait4 */
    double rss;       /* MiB, ru_maxrss of the child */
    double cpu;       /* user + system seconds of the child */
    int have_json;
    double train_s, total_s, sps, final_loss, json_rss;
    int nacc;
    double acc[MAX_EPOCHS];
    int nep; /* epochs found in the events file */
    double ep_sps[MAX_EPOCHS];
    double ttt; /* time to train: run_stop - run_start from the events, seconds */
    char version[128];
    char framework[64];
    int threads_reported;
} run_result;

typedef struct variant {
    kind k;
    char label[64];  /* "nnlab", "pytorch t1", ... */
    char family[32]; /* "nnlab", "pytorch", "keras-tensorflow", "keras-jax" */
    int threads;     /* 0: the contestant's default */
    int skipped;
    char hint[512];
    char *template_cmd; /* the command with {events} in place of the events file */
    int nruns;
    run_result runs[MAX_RUNS];
} variant;

typedef struct options {
    const char *workload, *data, *nnlab, *python, *venv, *peers_dir, *out, *name;
    int runs, epochs, limit, seed, warmup;
    double wait_idle; /* wait before each run until other work uses less than this % */
    double max_other; /* repeat a run during which other work used more than this % */
    int retries;      /* ... at most this many times */
    char peers[256];
    char peer_threads[128];
    char nnlab_threads[128];
} options;

typedef struct argvec {
    int n;
    char *v[MAX_ARGS];
} argvec;

static void av_add(argvec *a, const char *s) {
    if (a->n >= MAX_ARGS - 1) die("too many arguments");
    a->v[a->n++] = xstrdup(s);
    a->v[a->n] = NULL;
}

static void av_free(argvec *a) {
    for (int i = 0; i < a->n; i++) free(a->v[i]);
    a->n = 0;
}

static void build_argv(const options *o, const variant *v, const char *events, argvec *a) {
    char num[32];
    a->n = 0;
    a->v[0] = NULL;
    if (v->k == K_NNLAB) {
        av_add(a, o->nnlab);
        av_add(a, "train");
        av_add(a, o->workload);
    } else {
        char *py = NULL, *script = NULL;
        if (v->k == K_TORCH) {
            py = xstrdup(o->python);
            script = xprintf("%s/torch_train.py", o->peers_dir);
        } else {
            const char *env = v->k == K_KERAS_TF ? "keras-tf" : "keras-jax";
            py = xprintf("%s/%s/bin/python", o->venv, env);
            if (!is_file(py)) {
                free(py);
                py = xstrdup(o->python); /* the script says "skipped" if Keras is missing */
            }
            script = xprintf("%s/keras_train.py", o->peers_dir);
        }
        av_add(a, py);
        av_add(a, script);
        free(py);
        free(script);
        if (v->k == K_KERAS_TF || v->k == K_KERAS_JAX) {
            av_add(a, "--backend");
            av_add(a, v->k == K_KERAS_TF ? "tensorflow" : "jax");
        }
        av_add(a, "--workload");
        av_add(a, o->workload);
    }
    av_add(a, "--data");
    av_add(a, o->data);
    av_add(a, "--epochs");
    snprintf(num, sizeof num, "%d", o->epochs);
    av_add(a, num);
    av_add(a, "--seed");
    snprintf(num, sizeof num, "%d", o->seed);
    av_add(a, num);
    if (v->threads > 0) {
        av_add(a, "--threads");
        snprintf(num, sizeof num, "%d", v->threads);
        av_add(a, num);
    }
    if (o->limit > 0) {
        av_add(a, "--limit");
        snprintf(num, sizeof num, "%d", o->limit);
        av_add(a, num);
    }
    av_add(a, "--events");
    av_add(a, events);
    av_add(a, "--json");
    av_add(a, "--quiet");
}

/* ---- the rest of the machine ---------------------------------------------------------- */

/* Total and idle jiffies of all CPUs from /proc/stat. */
static int cpu_jiffies(unsigned long long *total, unsigned long long *idle) {
    FILE *f = fopen("/proc/stat", "r");
    if (!f) return -1;
    unsigned long long v[10] = {0};
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
                   &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]);
    fclose(f);
    if (n < 4) return -1;
    *total = 0;
    for (int i = 0; i < 8 && i < n; i++) *total += v[i]; /* guest time is inside user */
    *idle = v[3] + (n > 4 ? v[4] : 0);
    return 0;
}

/* Percentage of the machine's CPU time used by other processes over `seconds`
 * (this program sleeps meanwhile, so all of it is someone else's). */
static double background_busy(double seconds) {
    unsigned long long t0, i0, t1, i1;
    if (cpu_jiffies(&t0, &i0)) return NAN;
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    while (nanosleep(&ts, &ts) && errno == EINTR) {
    }
    if (cpu_jiffies(&t1, &i1) || t1 <= t0) return NAN;
    return 100.0 * (1.0 - (double)(i1 - i0) / (double)(t1 - t0));
}

/* Measures the background load before a run; with --wait-idle, first waits (at most
 * 10 minutes) until it drops below the threshold. */
static double settle(const options *o) {
    double bg = background_busy(0.5);
    if (o->wait_idle <= 0) return bg;
    double t0 = now_s();
    int said = 0;
    while (!(bg < o->wait_idle) && now_s() - t0 < 600) {
        if (!said++) fprintf(stderr, "waiting for the machine: %.0f%% busy with other work\n", bg);
        bg = background_busy(2.0);
    }
    return bg;
}

/* ---- running one child --------------------------------------------------------------- */

/* Runs argv with stdout captured (returned, malloc'd) and stderr to err_path. */
static char *run_child(char *const *argv, const char *err_path, run_result *r) {
    int fds[2];
    if (pipe(fds)) die("pipe: %s", strerror(errno));
    fflush(stdout);
    fflush(stderr);
    unsigned long long jt0 = 0, ji0 = 0, jt1 = 0, ji1 = 0;
    int have_j = cpu_jiffies(&jt0, &ji0) == 0;
    double t0 = now_s();
    pid_t pid = fork();
    if (pid < 0) die("fork: %s", strerror(errno));
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], STDOUT_FILENO);
        close(fds[1]);
        int fe = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fe >= 0) {
            dup2(fe, STDERR_FILENO);
            close(fe);
        }
        int fi = open("/dev/null", O_RDONLY);
        if (fi >= 0) {
            dup2(fi, STDIN_FILENO);
            close(fi);
        }
        unsetenv("NNLAB_EVENTS"); /* every contestant gets --events */
        execvp(argv[0], argv);
        fprintf(stderr, "bench_train: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(fds[1]);
    size_t cap = 4096, len = 0;
    char *out = malloc(cap);
    if (!out) die("out of memory");
    for (;;) {
        if (cap - len < 1024) {
            cap *= 2;
            out = realloc(out, cap);
            if (!out) die("out of memory");
        }
        ssize_t n = read(fds[0], out + len, cap - len - 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        len += (size_t)n;
    }
    out[len] = 0;
    close(fds[0]);
    int st = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    while (wait4(pid, &st, 0, &ru) < 0)
        if (errno != EINTR) die("wait4: %s", strerror(errno));
    r->wall = now_s() - t0;
    r->rss = (double)ru.ru_maxrss / 1024.0;
    r->cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
             (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    r->bg_during = NAN;
    if (have_j && cpu_jiffies(&jt1, &ji1) == 0 && jt1 > jt0) {
        double hz = (double)sysconf(_SC_CLK_TCK);
        double all = (double)(jt1 - jt0) / hz, busy = all - (double)(ji1 - ji0) / hz;
        double other = busy - r->cpu;
        r->bg_during = 100.0 * (other > 0 ? other : 0) / all;
    }
    return out;
}

static double jnum(json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* The last line of stdout that is a JSON object: the contestant's --json result. */
static void parse_result(char *out, run_result *r) {
    char *line = NULL;
    for (char *p = strtok(out, "\n"); p; p = strtok(NULL, "\n"))
        if (*p == '{') line = p;
    if (!line) return;
    json_error_t err;
    json_t *o = json_loads(line, 0, &err);
    if (!json_is_object(o)) {
        json_decref(o);
        return;
    }
    r->have_json = 1;
    r->train_s = jnum(o, "train_seconds");
    r->total_s = jnum(o, "total_seconds");
    r->sps = jnum(o, "samples_per_second");
    r->final_loss = jnum(o, "final_loss");
    r->json_rss = jnum(o, "peak_rss_mib");
    double th = jnum(o, "threads");
    r->threads_reported = isnan(th) ? 0 : (int)th;
    json_t *acc = json_object_get(o, "test_accuracy");
    r->nacc = 0;
    if (json_is_array(acc))
        for (size_t i = 0; i < json_array_size(acc) && r->nacc < MAX_EPOCHS; i++)
            r->acc[r->nacc++] = json_number_value(json_array_get(acc, i));
    const char *s = json_string_value(json_object_get(o, "framework_version"));
    snprintf(r->version, sizeof r->version, "%s", s ? s : "");
    s = json_string_value(json_object_get(o, "framework"));
    snprintf(r->framework, sizeof r->framework, "%s", s ? s : "");
    json_decref(o);
}

/* Per-epoch samples/s and time-to-train from the event lines (":::MLLOG " optional). */
static void parse_events(const char *path, run_result *r) {
    char *text = slurp(path);
    r->nep = 0;
    r->ttt = NAN;
    if (!text) return;
    double start[MAX_EPOCHS + 1] = {0}, run_start = NAN;
    for (char *p = strtok(text, "\n"); p; p = strtok(NULL, "\n")) {
        char *j = strchr(p, '{');
        if (!j) continue;
        json_error_t err;
        json_t *o = json_loads(j, 0, &err);
        if (!json_is_object(o)) {
            json_decref(o);
            continue;
        }
        const char *key = json_string_value(json_object_get(o, "key"));
        double t = jnum(o, "time_ms") / 1000.0;
        json_t *md = json_object_get(o, "metadata");
        double ep = jnum(md, "epoch_num");
        if (key && !strcmp(key, "run_start")) run_start = t;
        if (key && !strcmp(key, "run_stop")) r->ttt = t - run_start;
        if (key && !isnan(ep) && ep >= 1 && ep <= MAX_EPOCHS) {
            int e = (int)ep;
            if (!strcmp(key, "epoch_start")) start[e] = t;
            if (!strcmp(key, "epoch_stop") && start[e] > 0) {
                double samples = jnum(md, "samples");
                double dt = t - start[e];
                if (e > r->nep) r->nep = e;
                r->ep_sps[e - 1] = (!isnan(samples) && dt > 0) ? samples / dt : NAN;
            }
        }
        json_decref(o);
    }
    free(text);
}

/* First line of the file that starts with "skipped:" (the peer's install hint). */
static void read_hint(const char *path, char *hint, size_t n) {
    char *text = slurp(path);
    snprintf(hint, n, "exit status 3");
    if (!text) return;
    for (char *p = strtok(text, "\n"); p; p = strtok(NULL, "\n"))
        if (!strncmp(p, "skipped:", 8)) {
            snprintf(hint, n, "%s", p);
            break;
        }
    free(text);
}

/* ---- report ------------------------------------------------------------------------------ */

/* With --max-other-load, the medians leave out the runs during which other work used
 * more of the machine than that (unless every run was so disturbed). */
static double g_max_other;

typedef struct summary {
    int ok;
    int okruns;    /* runs that succeeded */
    int disturbed; /* of which left out for other load */
    double sps, sps_lo, sps_hi, train, wall, wall_lo, wall_hi, rss, acc, ttt, cpu;
    double ep_sps[MAX_EPOCHS];
    int nep;
} summary;

static summary summarize(const variant *v) {
    summary s;
    memset(&s, 0, sizeof s);
    double sps[MAX_RUNS], train[MAX_RUNS], wall[MAX_RUNS], rss[MAX_RUNS], acc[MAX_RUNS],
        ttt[MAX_RUNS], cpu[MAX_RUNS], eps[MAX_EPOCHS][MAX_RUNS];
    int nep = MAX_EPOCHS;
    for (int i = 0; i < v->nruns; i++) {
        const run_result *r = &v->runs[i];
        if (r->status != 0 || !r->have_json) continue;
        s.okruns++;
    }
    int all_disturbed = 1;
    for (int i = 0; i < v->nruns; i++) {
        const run_result *r = &v->runs[i];
        if (r->status == 0 && r->have_json && !(g_max_other > 0 && r->bg_during > g_max_other))
            all_disturbed = 0;
    }
    for (int i = 0; i < v->nruns; i++) {
        const run_result *r = &v->runs[i];
        if (r->status != 0 || !r->have_json) continue;
        if (!all_disturbed && g_max_other > 0 && r->bg_during > g_max_other) {
            s.disturbed++;
            continue;
        }
        sps[s.ok] = r->sps;
        train[s.ok] = r->train_s;
        wall[s.ok] = r->wall;
        rss[s.ok] = r->rss;
        acc[s.ok] = r->nacc ? r->acc[r->nacc - 1] : NAN;
        ttt[s.ok] = r->ttt;
        cpu[s.ok] = r->cpu;
        for (int e = 0; e < r->nep; e++) eps[e][s.ok] = r->ep_sps[e];
        if (r->nep < nep) nep = r->nep;
        s.ok++;
    }
    if (!s.ok) return s;
    s.sps = median(sps, s.ok);
    s.sps_lo = vmin(sps, s.ok);
    s.sps_hi = vmax(sps, s.ok);
    s.train = median(train, s.ok);
    s.wall = median(wall, s.ok);
    s.wall_lo = vmin(wall, s.ok);
    s.wall_hi = vmax(wall, s.ok);
    s.rss = median(rss, s.ok);
    s.acc = median(acc, s.ok);
    s.ttt = median(ttt, s.ok);
    s.cpu = median(cpu, s.ok);
    s.nep = nep;
    for (int e = 0; e < nep; e++) s.ep_sps[e] = median(eps[e], s.ok);
    return s;
}

static void fmt_num(char *buf, size_t n, double x, int decimals) {
    if (isnan(x))
        snprintf(buf, n, "–");
    else
        snprintf(buf, n, "%.*f", decimals, x);
}

static void machine_info(char *buf, size_t n) {
    char model[256] = "unknown CPU";
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    if (f) {
        while (fgets(line, sizeof line, f))
            if (!strncmp(line, "model name", 10)) {
                char *c = strchr(line, ':');
                if (c) {
                    c += 2;
                    c[strcspn(c, "\n")] = 0;
                    snprintf(model, sizeof model, "%s", c);
                }
                break;
            }
        fclose(f);
    }
    double mem_gib = 0;
    f = fopen("/proc/meminfo", "r");
    if (f) {
        while (fgets(line, sizeof line, f)) {
            long kb;
            if (sscanf(line, "MemTotal: %ld kB", &kb) == 1) mem_gib = (double)kb / 1048576.0;
        }
        fclose(f);
    }
    struct utsname u;
    if (uname(&u)) memset(&u, 0, sizeof u);
    snprintf(buf, n, "%s, %ld CPUs online, %.1f GiB RAM, %s %s %s", model,
             sysconf(_SC_NPROCESSORS_ONLN), mem_gib, u.sysname, u.release, u.machine);
}

static void write_report(FILE *f, const options *o, variant *vs, int nv, const char *cmdline,
                         const char *started) {
    char machine[512], a[64], b[64], c[64], d[64], e[64];
    machine_info(machine, sizeof machine);
    fprintf(f, "# `%s`: nnlab against its peers\n\n", o->workload);
    fprintf(f, "- date: %s\n- machine: %s\n", started, machine);
    fprintf(f, "- command: `%s`\n", cmdline);
    fprintf(f, "- %d run(s) per contestant, interleaved (", o->runs);
    for (int i = 0; i < nv; i++) fprintf(f, "%s%s", i ? ", " : "", vs[i].label);
    fprintf(f, "), %d untimed warm-up run(s) each; workload `%s`, %d epoch(s), seed %d%s\n",
            o->warmup, o->workload, o->epochs, o->seed,
            o->limit > 0 ? ", training set limited" : "");
    if (o->limit > 0) fprintf(f, "- training samples: first %d\n", o->limit);
    if (o->max_other > 0)
        fprintf(f,
                "- runs during which other processes used more than %.0f%% of the machine's CPU "
                "were repeated (up to %d times) and are left out of the medians (\"runs "
                "used\") unless all of a contestant's runs were so disturbed\n",
                o->max_other, o->retries);
    fprintf(f, "- figures: median over the successful runs, [min–max] where given. "
               "samples/s and train s are the contestant's own (training loop only, "
               "evaluation excluded); whole command s is wall time from fork to exit "
               "(interpreter start, imports, data load, training and every evaluation); "
               "peak RSS and CPU s come from wait4's rusage. Other load (table \"Every run\") "
               "is the share of the machine's CPU that other processes used in the half "
               "second before a run and during it (the machine's busy time less the run's "
               "own CPU time): figures from runs with much other load are not to be "
               "trusted.\n\n");

    fprintf(f,
            "| contestant | version | threads | runs used/ok/all | samples/s | samples/s per epoch "
            "| train s | time to train s | whole command s | CPU s | peak RSS MiB "
            "| test accuracy |\n");
    fprintf(f, "|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < nv; i++) {
        variant *v = &vs[i];
        if (v->skipped) {
            fprintf(f, "| %s | skipped | | | | %s | | | | | | |\n", v->label, v->hint);
            continue;
        }
        summary s = summarize(v);
        const char *ver = "";
        int th = v->threads;
        for (int r = 0; r < v->nruns; r++)
            if (v->runs[r].have_json) {
                ver = v->runs[r].version;
                th = v->runs[r].threads_reported ? v->runs[r].threads_reported : th;
                break;
            }
        if (!s.ok) {
            fprintf(f, "| %s | %s | %d | 0/0/%d | failed | | | | | | | |\n", v->label, ver, th,
                    v->nruns);
            continue;
        }
        char eps[512] = "";
        size_t len = 0;
        for (int ep = 0; ep < s.nep && len < sizeof eps - 32; ep++)
            len += (size_t)snprintf(eps + len, sizeof eps - len, "%s%.0f", ep ? " / " : "",
                                    s.ep_sps[ep]);
        if (!s.nep) snprintf(eps, sizeof eps, "–");
        fmt_num(a, sizeof a, s.train, 3);
        fmt_num(b, sizeof b, s.ttt, 3);
        fmt_num(c, sizeof c, s.cpu, 2);
        fmt_num(d, sizeof d, s.rss, 1);
        fmt_num(e, sizeof e, s.acc * 100.0, 2);
        fprintf(f,
                "| %s | %s | %d | %d/%d/%d | %.0f [%.0f–%.0f] | %s | %s | %s | %.3f [%.3f–%.3f] "
                "| %s | %s | %s%% |\n",
                v->label, ver, th, s.ok, s.okruns, v->nruns, s.sps, s.sps_lo, s.sps_hi, eps, a, b,
                s.wall, s.wall_lo, s.wall_hi, c, d, e);
    }

    /* nnlab (its fastest setting) against each peer framework at its fastest setting */
    int best_nnlab = -1;
    summary sn;
    memset(&sn, 0, sizeof sn);
    for (int i = 0; i < nv; i++) {
        if (vs[i].k != K_NNLAB || vs[i].skipped) continue;
        summary s = summarize(&vs[i]);
        if (s.ok && (best_nnlab < 0 || s.sps > sn.sps)) best_nnlab = i, sn = s;
    }
    if (best_nnlab >= 0) {
        fprintf(f,
                "\n## nnlab / peer\n\n%s against each peer at its fastest thread "
                "setting (highest median samples/s). Every column is nnlab's figure "
                "divided by the peer's: above 1 is better for nnlab in samples/s and "
                "accuracy, below 1 is better for nnlab in seconds and RSS.\n\n",
                vs[best_nnlab].label);
        fprintf(f, "| peer (fastest setting) | samples/s | train s | whole command s "
                   "| peak RSS | test accuracy |\n|---|---:|---:|---:|---:|---:|\n");
        const char *fams[] = {"pytorch", "keras-tensorflow", "keras-jax"};
        for (int fi = 0; fi < 3; fi++) {
            int best = -1;
            summary sb;
            memset(&sb, 0, sizeof sb);
            for (int i = 0; i < nv; i++) {
                if (vs[i].k == K_NNLAB || vs[i].skipped || strcmp(vs[i].family, fams[fi])) continue;
                summary s = summarize(&vs[i]);
                if (s.ok && (best < 0 || s.sps > sb.sps)) best = i, sb = s;
            }
            if (best < 0) continue;
            fprintf(f, "| %s | %.2fx | %.3fx | %.3fx | %.3fx | %.4fx |\n", vs[best].label,
                    sn.sps / sb.sps, sn.train / sb.train, sn.wall / sb.wall, sn.rss / sb.rss,
                    sn.acc / sb.acc);
        }
    }

    fprintf(f, "\n## Commands\n\n");
    for (int i = 0; i < nv; i++)
        fprintf(f, "- %s: `%s`\n", vs[i].label, vs[i].template_cmd ? vs[i].template_cmd : "");

    fprintf(f, "\n## Every run\n\n| order | contestant | run | exit | whole command s | train s "
               "| samples/s | peak RSS MiB | CPU s | other load before %% | other load during %% "
               "| test accuracy per epoch |\n"
               "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
    int order = 0;
    for (int r = 0; r < MAX_RUNS; r++) {
        int any = 0;
        for (int i = 0; i < nv; i++) {
            variant *v = &vs[i];
            if (r >= v->nruns) continue;
            any = 1;
            run_result *x = &v->runs[r];
            char accs[512] = "";
            size_t len = 0;
            for (int k = 0; k < x->nacc && len < sizeof accs - 16; k++)
                len += (size_t)snprintf(accs + len, sizeof accs - len, "%s%.2f%%", k ? " " : "",
                                        x->acc[k] * 100.0);
            fmt_num(a, sizeof a, x->have_json ? x->train_s : NAN, 3);
            fmt_num(b, sizeof b, x->have_json ? x->sps : NAN, 0);
            fmt_num(c, sizeof c, x->bg, 0);
            fmt_num(d, sizeof d, x->bg_during, 0);
            if (x->repeats) {
                size_t dl = strlen(d);
                snprintf(d + dl, sizeof d - dl, " (%d disturbed before)", x->repeats);
            }
            fprintf(f, "| %d | %s | %d | %d | %.3f | %s | %s | %.1f | %.2f | %s | %s | %s |\n",
                    ++order, v->label, r + 1, x->status, x->wall, a, b, x->rss, x->cpu, c, d, accs);
        }
        if (!any) break;
    }
}

static json_t *runs_json(const options *o, variant *vs, int nv, const char *cmdline,
                         const char *started) {
    json_t *root = json_object();
    json_object_set_new(root, "command", json_string(cmdline));
    json_object_set_new(root, "date", json_string(started));
    json_object_set_new(root, "workload", json_string(o->workload));
    json_object_set_new(root, "epochs", json_integer(o->epochs));
    json_object_set_new(root, "limit", json_integer(o->limit));
    json_t *arr = json_array();
    for (int i = 0; i < nv; i++) {
        variant *v = &vs[i];
        json_t *c = json_object();
        json_object_set_new(c, "contestant", json_string(v->label));
        json_object_set_new(c, "family", json_string(v->family));
        json_object_set_new(c, "threads", json_integer(v->threads));
        json_object_set_new(c, "command", json_string(v->template_cmd ? v->template_cmd : ""));
        if (v->skipped) json_object_set_new(c, "skipped", json_string(v->hint));
        json_t *runs = json_array();
        for (int r = 0; r < v->nruns; r++) {
            run_result *x = &v->runs[r];
            json_t *j = json_object();
            json_object_set_new(j, "exit_status", json_integer(x->status));
            json_object_set_new(j, "wall_seconds", json_real(x->wall));
            json_object_set_new(j, "peak_rss_mib", json_real(x->rss));
            json_object_set_new(j, "cpu_seconds", json_real(x->cpu));
            if (!isnan(x->bg)) json_object_set_new(j, "other_load_before_pct", json_real(x->bg));
            if (!isnan(x->bg_during))
                json_object_set_new(j, "other_load_during_pct", json_real(x->bg_during));
            json_object_set_new(j, "repeats", json_integer(x->repeats));
            if (x->have_json) {
                json_object_set_new(j, "framework_version", json_string(x->version));
                json_object_set_new(j, "train_seconds", json_real(x->train_s));
                json_object_set_new(j, "total_seconds", json_real(x->total_s));
                json_object_set_new(j, "samples_per_second", json_real(x->sps));
                json_object_set_new(j, "final_loss", json_real(x->final_loss));
                json_t *acc = json_array();
                for (int k = 0; k < x->nacc; k++) json_array_append_new(acc, json_real(x->acc[k]));
                json_object_set_new(j, "test_accuracy", acc);
            }
            json_t *eps = json_array();
            for (int k = 0; k < x->nep; k++)
                json_array_append_new(eps,
                                      isnan(x->ep_sps[k]) ? json_null() : json_real(x->ep_sps[k]));
            json_object_set_new(j, "epoch_samples_per_second", eps);
            if (!isnan(x->ttt)) json_object_set_new(j, "time_to_train_seconds", json_real(x->ttt));
            json_array_append_new(runs, j);
        }
        json_object_set_new(c, "runs", runs);
        json_array_append_new(arr, c);
    }
    json_object_set_new(root, "contestants", arr);
    return root;
}

/* ---- command line ---------------------------------------------------------------------- */

static void usage(FILE *f) {
    fprintf(f,
            "Usage: bench_train [OPTIONS]\n\n"
            "Runs `nnlab train` and the Python peers (peers/) interleaved, several times each,\n"
            "and writes a Markdown table (samples/s, train and whole-command seconds, peak RSS,\n"
            "test accuracy, nnlab/peer ratios) to OUT/NAME.md, raw figures to OUT/NAME.json.\n\n"
            "Options:\n"
            "  --workload W          mnist, cifar10, mnist-keras-paper, cifar10-keras-paper "
            "(default mnist)\n"
            "  --data DIR            data directory (default $NNLAB_DATA, else "
            "<source>/../shared/datasets)\n"
            "  --runs N              timed runs per contestant (default 3)\n"
            "  --warmup N            untimed runs per contestant first (default 0)\n"
            "  --epochs N            epochs (default 3)\n"
            "  --limit N             first N training samples only (default: all)\n"
            "  --seed N              seed for every contestant (default 42)\n"
            "  --wait-idle PCT       before each run wait (up to 10 min) until other processes\n"
            "                        use less than PCT%% of the machine's CPU (default: no wait)\n"
            "  --max-other-load PCT  run again (see --retries) a run during which other processes\n"
            "                        used more than PCT%% of the machine's CPU (default: never)\n"
            "  --retries N           at most N repeats of a disturbed run (default 3)\n"
            "  --nnlab PATH          the nnlab program (default: nnlab of this build)\n"
            "  --nnlab-threads LIST  nnlab thread settings, 0 = its default (default 0)\n"
            "  --peers LIST          torch,keras-tf,keras-jax or none (default torch)\n"
            "  --peer-threads LIST   thread settings for every peer (default 1,2)\n"
            "  --python PATH         Python for the torch peer (default /usr/bin/python3)\n"
            "  --venv DIR            folder of the keras-tf/ and keras-jax/ environments\n"
            "                        (default <source>/.venv-peers)\n"
            "  --peers-dir DIR       folder of the peer scripts (default <source>/peers)\n"
            "  --out DIR             results folder (default <source>/bench/results)\n"
            "  --name NAME           report name (default: the workload, plus -limitN)\n"
            "  -h, --help            this help\n\n"
            "Children's stderr and events go to OUT/tmp/. A peer exiting with status 3 has\n"
            "no framework: it is reported as skipped with its install hint.\n");
}

static int parse_int(const char *opt, const char *s, int lo) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < lo || v > INT_MAX) {
        fprintf(stderr, "bench_train: bad value for %s: '%s'\n", opt, s);
        exit(2);
    }
    return (int)v;
}

static int parse_list(const char *opt, const char *s, int *out, int max) {
    char buf[128];
    snprintf(buf, sizeof buf, "%s", s);
    int n = 0;
    for (char *p = strtok(buf, ","); p; p = strtok(NULL, ",")) {
        if (n >= max) die("too many values for %s", opt);
        out[n++] = parse_int(opt, p, 0);
    }
    if (!n) die("empty list for %s", opt);
    return n;
}

static char *default_nnlab(void) {
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *s = strrchr(exe, '/');
        if (s) {
            *s = 0;
            char *cand = xprintf("%s/../nnlab", exe);
            char real[PATH_MAX];
            if (is_file(cand) && realpath(cand, real)) {
                free(cand);
                return xstrdup(real);
            }
            free(cand);
        }
    }
    return xstrdup("nnlab");
}

int main(int argc, char **argv) {
    bench_fix_blas_core(argv);
    options o;
    memset(&o, 0, sizeof o);
    o.workload = "mnist";
    o.runs = 3;
    o.epochs = 3;
    o.seed = 42;
    o.retries = 3;
    o.python = is_file("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
    snprintf(o.peers, sizeof o.peers, "torch");
    snprintf(o.peer_threads, sizeof o.peer_threads, "1,2");
    snprintf(o.nnlab_threads, sizeof o.nnlab_threads, "0");

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (a[0] != '-' || a[1] != '-' || i + 1 >= argc) {
            fprintf(stderr,
                    "bench_train: unknown or incomplete option '%s'\n"
                    "Try 'bench_train --help'.\n",
                    a);
            return 2;
        }
        const char *v = argv[++i];
        if (!strcmp(a, "--workload"))
            o.workload = v;
        else if (!strcmp(a, "--data"))
            o.data = v;
        else if (!strcmp(a, "--runs"))
            o.runs = parse_int(a, v, 1);
        else if (!strcmp(a, "--warmup"))
            o.warmup = parse_int(a, v, 0);
        else if (!strcmp(a, "--epochs"))
            o.epochs = parse_int(a, v, 1);
        else if (!strcmp(a, "--limit"))
            o.limit = parse_int(a, v, 0);
        else if (!strcmp(a, "--seed"))
            o.seed = parse_int(a, v, 0);
        else if (!strcmp(a, "--wait-idle"))
            o.wait_idle = parse_int(a, v, 1);
        else if (!strcmp(a, "--max-other-load"))
            o.max_other = parse_int(a, v, 1);
        else if (!strcmp(a, "--retries"))
            o.retries = parse_int(a, v, 0);
        else if (!strcmp(a, "--nnlab"))
            o.nnlab = v;
        else if (!strcmp(a, "--nnlab-threads"))
            snprintf(o.nnlab_threads, sizeof o.nnlab_threads, "%s", v);
        else if (!strcmp(a, "--peers"))
            snprintf(o.peers, sizeof o.peers, "%s", v);
        else if (!strcmp(a, "--peer-threads"))
            snprintf(o.peer_threads, sizeof o.peer_threads, "%s", v);
        else if (!strcmp(a, "--python"))
            o.python = v;
        else if (!strcmp(a, "--venv"))
            o.venv = v;
        else if (!strcmp(a, "--peers-dir"))
            o.peers_dir = v;
        else if (!strcmp(a, "--out"))
            o.out = v;
        else if (!strcmp(a, "--name"))
            o.name = v;
        else {
            fprintf(stderr, "bench_train: unknown option '%s'\nTry 'bench_train --help'.\n", a);
            return 2;
        }
    }
    g_max_other = o.max_other;
    if (o.runs > MAX_RUNS) die("--runs: at most %d", MAX_RUNS);
    if (o.epochs > MAX_EPOCHS) die("--epochs: at most %d", MAX_EPOCHS);
    if (!o.data) {
        const char *env = getenv("NNLAB_DATA");
        o.data = env && *env ? env : NNLAB_SOURCE_DIR "/../shared/datasets";
    }
    if (!is_dir(o.data)) die("data directory %s does not exist (use --data DIR)", o.data);
    if (!o.nnlab) o.nnlab = default_nnlab();
    if (!o.venv) o.venv = NNLAB_SOURCE_DIR "/.venv-peers";
    if (!o.peers_dir) o.peers_dir = NNLAB_SOURCE_DIR "/peers";
    if (!o.out) o.out = NNLAB_SOURCE_DIR "/bench/results";
    char *name =
        o.name ? xstrdup(o.name)
               : (o.limit > 0 ? xprintf("%s-limit%d", o.workload, o.limit) : xstrdup(o.workload));
    if (strchr(name, '/')) die("--name must not contain '/'");

    /* contestants */
    static variant vs[MAX_VARIANTS];
    int nv = 0, th[16], nth;
    nth = parse_list("--nnlab-threads", o.nnlab_threads, th, 16);
    for (int i = 0; i < nth; i++) {
        if (nv >= MAX_VARIANTS) die("too many contestants");
        variant *v = &vs[nv++];
        v->k = K_NNLAB;
        v->threads = th[i];
        snprintf(v->family, sizeof v->family, "nnlab");
        if (th[i] > 0)
            snprintf(v->label, sizeof v->label, "nnlab t%d", th[i]);
        else
            snprintf(v->label, sizeof v->label, "nnlab");
    }
    if (strcmp(o.peers, "none")) {
        nth = parse_list("--peer-threads", o.peer_threads, th, 16);
        char buf[256];
        snprintf(buf, sizeof buf, "%s", o.peers);
        char *save = NULL;
        for (char *p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
            kind k;
            const char *fam;
            if (!strcmp(p, "torch") || !strcmp(p, "pytorch"))
                k = K_TORCH, fam = "pytorch";
            else if (!strcmp(p, "keras-tf") || !strcmp(p, "keras-tensorflow"))
                k = K_KERAS_TF, fam = "keras-tensorflow";
            else if (!strcmp(p, "keras-jax"))
                k = K_KERAS_JAX, fam = "keras-jax";
            else
                die("unknown peer '%s' (torch, keras-tf, keras-jax)", p);
            for (int i = 0; i < nth; i++) {
                if (nv >= MAX_VARIANTS) die("too many contestants");
                variant *v = &vs[nv++];
                v->k = k;
                v->threads = th[i];
                snprintf(v->family, sizeof v->family, "%s", fam);
                if (th[i] > 0)
                    snprintf(v->label, sizeof v->label, "%s t%d", fam, th[i]);
                else
                    snprintf(v->label, sizeof v->label, "%s", fam);
            }
        }
    }

    char *tmpdir = xprintf("%s/tmp", o.out);
    mkdir_p(tmpdir);
    char *cmdline = join_argv(argv);
    char started[64];
    time_t t = time(NULL);
    strftime(started, sizeof started, "%Y-%m-%d %H:%M:%S %z", localtime(&t));
    for (int i = 0; i < nv; i++) {
        argvec a = {0};
        build_argv(&o, &vs[i], "{events}", &a);
        vs[i].template_cmd = repo_relative(join_argv(a.v));
        av_free(&a);
    }

    /* warm-up, then the timed runs, interleaved */
    int total = o.warmup + o.runs;
    for (int r = 0; r < total; r++) {
        int warm = r < o.warmup;
        for (int i = 0; i < nv; i++) {
            variant *v = &vs[i];
            if (v->skipped) continue;
            char slug[96];
            snprintf(slug, sizeof slug, "%s", v->label);
            for (char *p = slug; *p; p++)
                if (*p == ' ') *p = '_';
            char *events = xprintf("%s/%s_%s_%s%d.events", tmpdir, name, slug,
                                   warm ? "warmup" : "run", warm ? r + 1 : r - o.warmup + 1);
            char *errp = xprintf("%s/%s_%s_%s%d.stderr", tmpdir, name, slug,
                                 warm ? "warmup" : "run", warm ? r + 1 : r - o.warmup + 1);
            unlink(events);
            argvec a = {0};
            build_argv(&o, v, events, &a);
            run_result res;
            for (int attempt = 0;; attempt++) {
                memset(&res, 0, sizeof res);
                res.ttt = NAN;
                res.bg = settle(&o);
                res.repeats = attempt;
                char *out = run_child(a.v, errp, &res);
                parse_result(out, &res);
                parse_events(events, &res);
                free(out);
                /* disturbed by other work: once more, a few times at most */
                if (o.max_other > 0 && res.status == 0 && res.bg_during > o.max_other &&
                    attempt < o.retries) {
                    fprintf(stderr, "%s: %.0f%% other load during the run, running it again\n",
                            v->label, res.bg_during);
                    continue;
                }
                break;
            }
            av_free(&a);
            if (res.status == EXIT_SKIPPED) {
                v->skipped = 1;
                read_hint(errp, v->hint, sizeof v->hint);
                fprintf(stderr, "%s: %s\n", v->label, v->hint);
            } else {
                fprintf(stderr,
                        "%s %d/%d %-22s exit %d  %7.3f s  %8.0f samples/s  %6.1f MiB  "
                        "accuracy %.2f%%%s%s\n",
                        warm ? "warm-up" : "run", warm ? r + 1 : r - o.warmup + 1,
                        warm ? o.warmup : o.runs, v->label, res.status, res.wall,
                        res.have_json ? res.sps : NAN, res.rss,
                        res.nacc ? 100.0 * res.acc[res.nacc - 1] : NAN, res.status ? "  see " : "",
                        res.status ? errp : "");
                if (!warm) v->runs[v->nruns++] = res;
            }
            free(events);
            free(errp);
        }
    }

    /* report */
    char *md_path = xprintf("%s/%s.md", o.out, name);
    char *json_path = xprintf("%s/%s.json", o.out, name);
    FILE *f = fopen(md_path, "w");
    if (!f) die("cannot write %s: %s", md_path, strerror(errno));
    write_report(f, &o, vs, nv, cmdline, started);
    fclose(f);
    write_report(stdout, &o, vs, nv, cmdline, started);
    fflush(stdout);
    json_t *j = runs_json(&o, vs, nv, cmdline, started);
    if (json_dump_file(j, json_path, JSON_INDENT(2) | JSON_REAL_PRECISION(10)))
        die("cannot write %s", json_path);
    json_decref(j);
    fprintf(stderr, "\nwrote %s and %s\n", md_path, json_path);

    int failed = 0;
    for (int i = 0; i < nv; i++) {
        if (vs[i].skipped) continue;
        summary s = summarize(&vs[i]);
        if (!s.ok) failed = 1;
    }
    free(md_path);
    free(json_path);
    free(cmdline);
    free(tmpdir);
    free(name);
    return failed ? 1 : 0;
}
