/* What the bench ran on: CPU model, cores, memory, OS (the GPU comes from the monitor). */
#include "harness/harness_internal.h"
#include "nnlab/core.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static void trim(char *s) {
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\t')) s[--n] = '\0';
    size_t i = 0;
    while (s[i] == ' ' || s[i] == '\t') i++;
    if (i) memmove(s, s + i, n - i + 1);
}

/* Value of the first "key<spaces>: value" line of a /proc file. */
static int proc_field(const char *path, const char *key, char *out, size_t n) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char line[512];
    size_t kl = strlen(key);
    int found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        if (strncmp(line, key, kl)) continue;
        char *c = strchr(line + kl, ':');
        if (!c) continue;
        for (char *p = line + kl; p < c; p++)
            if (*p != ' ' && *p != '\t') goto next;
        snprintf(out, n, "%s", c + 1);
        trim(out);
        found = 1;
    next:;
    }
    fclose(f);
    return found;
}

#ifndef NNLAB_BUILD_COMPILER
#ifdef __clang__
#define NNLAB_BUILD_COMPILER "Clang " __clang_version__
#else
#define NNLAB_BUILD_COMPILER "GNU " __VERSION__
#endif
#endif
#ifndef NNLAB_BUILD_FLAGS
#define NNLAB_BUILD_FLAGS "unknown"
#endif
#ifndef NNLAB_BUILD_TYPE
#define NNLAB_BUILD_TYPE ""
#endif

/* The first line `python3 --version` prints (run without a shell; 5 s at most). */
static void probe_python(char *out, size_t n) {
    out[0] = '\0';
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        dup2(p[1], 2);
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0) dup2(null, 0);
        alarm(5);
        execlp("python3", "python3", "--version", (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    char buf[256];
    size_t got = 0;
    ssize_t r;
    while (pid > 0 && got + 1 < sizeof buf &&
           ((r = read(p[0], buf + got, sizeof buf - 1 - got)) > 0 || (r < 0 && errno == EINTR)))
        if (r > 0) got += (size_t)r;
    close(p[0]);
    buf[got] = '\0';
    int ws = 0;
    if (pid > 0)
        while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
        }
    if (pid > 0 && WIFEXITED(ws) && WEXITSTATUS(ws) == 0 && !strncmp(buf, "Python ", 7)) {
        buf[strcspn(buf, "\r\n")] = '\0';
        bench_strf(out, n, "%s", buf);
    }
}

void nl_bench_machine_probe(nl_bench_machine *m) {
    memset(m, 0, sizeof *m);
    if (!proc_field("/proc/cpuinfo", "model name", m->cpu_model, sizeof m->cpu_model) &&
        !proc_field("/proc/cpuinfo", "Hardware", m->cpu_model, sizeof m->cpu_model) &&
        !proc_field("/proc/cpuinfo", "Processor", m->cpu_model, sizeof m->cpu_model))
        snprintf(m->cpu_model, sizeof m->cpu_model, "unknown CPU");
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    m->cpus = n > 0 ? (int)n : 1;
    char mem[64];
    long kib = 0;
    if (proc_field("/proc/meminfo", "MemTotal", mem, sizeof mem)) sscanf(mem, "%ld", &kib);
    m->mem_gib = (double)kib / (1024.0 * 1024.0);
    snprintf(m->gpu, sizeof m->gpu, "not probed");
    struct utsname u;
    char pretty[128] = "";
    FILE *f = fopen("/etc/os-release", "r");
    if (f) { /* PRETTY_NAME="Debian GNU/Linux 12 (bookworm)" (key=value, not key: value) */
        char line[256];
        while (fgets(line, sizeof line, f))
            if (!strncmp(line, "PRETTY_NAME=", 12)) {
                char *v = line + 12;
                trim(v);
                size_t l = strlen(v);
                if (l >= 2 && v[0] == '"' && v[l - 1] == '"') v[l - 1] = '\0', v++;
                bench_strf(pretty, sizeof pretty, "%s", v);
            }
        fclose(f);
    }
    if (uname(&u) == 0) {
        bench_strf(m->os, sizeof m->os, "%s%s%s %s %s", pretty, *pretty ? ", " : "", u.sysname,
                   u.release, u.machine);
        bench_strf(m->host, sizeof m->host, "%s", u.nodename);
    } else {
        bench_strf(m->os, sizeof m->os, "%s", *pretty ? pretty : "unknown");
    }
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(m->date, sizeof m->date, "%Y-%m-%d %H:%M:%S %z", &tm);
    snprintf(m->nnlab_version, sizeof m->nnlab_version, "%s", nl_version());
    snprintf(m->blas, sizeof m->blas, "%s", nl_blas_info());
    snprintf(m->compiler, sizeof m->compiler, "%s", NNLAB_BUILD_COMPILER);
    bench_strf(m->cflags, sizeof m->cflags, "%s%s%s%s", NNLAB_BUILD_FLAGS,
               *NNLAB_BUILD_TYPE ? " (" : "", NNLAB_BUILD_TYPE, *NNLAB_BUILD_TYPE ? ")" : "");
    probe_python(m->python, sizeof m->python);
}
