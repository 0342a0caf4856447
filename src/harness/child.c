/* One contestant run: fork, exec under the monitor of nnlab/stats.h, sample on
 * an absolute schedule until the process exits, reap it. */
#include "harness/harness_internal.h"
#include "nnlab/core.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* environ with NAME=value set (a new array; the strings of environ are shared). */
static char **env_with(const char *name, const char *value, char **owned) {
    size_t n = 0, nl = strlen(name);
    while (environ[n]) n++;
    char **env = calloc(n + 2, sizeof *env);
    size_t len = nl + 1 + strlen(value) + 1;
    char *kv = malloc(len);
    if (!env || !kv) {
        free(env);
        free(kv);
        return NULL;
    }
    snprintf(kv, len, "%s=%s", name, value);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], name, nl) || environ[i][nl] != '=') env[k++] = environ[i];
    env[k++] = kv;
    env[k] = NULL;
    *owned = kv;
    return env;
}

static int open_pidfd(pid_t pid) {
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    (void)pid;
    return -1;
#endif
}

/* Waits until the absolute monotonic time `until` (nl_now() scale) or until
 * the process behind pidfd exits. Returns 1 when it exited. */
static int wait_tick(int pidfd, double until) {
    for (;;) {
        double left = until - nl_now();
        if (left <= 0) return 0;
        if (pidfd >= 0) {
            struct pollfd pf = {.fd = pidfd, .events = POLLIN};
            struct timespec ts = {.tv_sec = (time_t)left,
                                  .tv_nsec = (long)((left - floor(left)) * 1e9)};
            int r = ppoll(&pf, 1, &ts, NULL);
            if (r > 0) return 1;
            if (r < 0 && errno != EINTR) pidfd = -1; /* fall back to sleeping */
            continue;
        }
        struct timespec ts = {.tv_sec = (time_t)left,
                              .tv_nsec = (long)((left - floor(left)) * 1e9)};
        nanosleep(&ts, NULL);
    }
}

static nl_status push_row(bench_child *c, size_t *cap, const nl_stats_row *row, nl_error *err) {
    if (c->nrows == *cap) {
        size_t nc = *cap ? *cap * 2 : 1024;
        nl_stats_row *p = realloc(c->rows, nc * sizeof *p);
        if (!p) return nl_error_set(err, NL_ENOMEM, "out of memory for monitor samples");
        c->rows = p;
        *cap = nc;
    }
    c->rows[c->nrows++] = *row;
    return NL_OK;
}

nl_status bench_child_run(bench_child *c, nl_error *err) {
    c->exit_status = -1;
    c->timed_out = c->interrupted = 0;
    c->exec_error[0] = '\0';
    c->rows = NULL;
    c->nrows = 0;
    c->info_valid = 0;
    c->wall_s = NAN;
    nl_status st = NL_OK;
    int fd_out = -1, fd_log = -1, fd_null = -1, go[2] = {-1, -1}, ex[2] = {-1, -1}, pidfd = -1;
    char *kv = NULL;
    char **env = NULL;
    nl_stats *mon = NULL;

    fd_out = open(c->out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    fd_log = open(c->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    fd_null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd_out < 0 || fd_log < 0 || fd_null < 0) {
        st = nl_error_set(err, NL_EIO, "cannot create %s or %s: %s", c->out_path, c->log_path,
                          strerror(errno));
        goto out;
    }
    if (pipe2(go, O_CLOEXEC) || pipe2(ex, O_CLOEXEC)) {
        st = nl_error_set(err, NL_EIO, "pipe: %s", strerror(errno));
        goto out;
    }
    env = env_with("NNLAB_EVENTS", c->events_path, &kv);
    if (!env) {
        st = nl_error_set(err, NL_ENOMEM, "out of memory");
        goto out;
    }
    fflush(NULL);
    c->launch_ms = nl_wall_ms();
    const double t_launch = nl_now();
    pid_t pid = fork();
    if (pid < 0) {
        st = nl_error_set(err, NL_EIO, "fork: %s", strerror(errno));
        goto out;
    }
    if (pid == 0) { /* child: own process group, stdio to the files, wait for the go */
        setpgid(0, 0);
        signal(SIGPIPE, SIG_DFL);
        dup2(fd_null, 0);
        dup2(fd_out, 1);
        dup2(fd_log, 2);
        char b;
        while (read(go[0], &b, 1) < 0 && errno == EINTR) {
        }
        execvpe(c->argv[0], c->argv, env);
        int e = errno;
        if (write(ex[1], &e, sizeof e) < 0) _exit(127);
        _exit(127);
    }
    setpgid(pid, pid); /* also done by the child: whichever runs first */
    close(go[0]), go[0] = -1;
    close(ex[1]), ex[1] = -1;

    nl_stats_opts o = {.pid = pid, .flags = NL_STATS_FROM_START};
    st = nl_stats_open(&mon, &o, err);
    if (st) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        nl_error_prefix(err, "cannot watch %s", c->argv[0]);
        goto out;
    }
    c->info = *nl_stats_get_info(mon);
    c->info_valid = 1;
    pidfd = open_pidfd(pid);
    if (write(go[1], "g", 1) < 0) { /* the child died before exec */
    }
    close(go[1]), go[1] = -1;
    int e = 0;
    ssize_t r;
    while ((r = read(ex[0], &e, sizeof e)) < 0 && errno == EINTR) {
    }
    if (r == (ssize_t)sizeof e) { /* exec failed: a failed run, not a bench error */
        snprintf(c->exec_error, sizeof c->exec_error, "cannot run %s: %s", c->argv[0], strerror(e));
        int ws;
        waitpid(pid, &ws, 0);
        c->exit_status = 127;
        c->wall_s = nl_now() - t_launch;
        goto out;
    }

    size_t cap = 0;
    const double t0 = c->info.t0, iv = c->interval_s > 0 ? c->interval_s : 0.1;
    double kill_at = INFINITY, sigkill_at = INFINITY;
    long k = 0;
    for (;;) {
        k++;
        double now = nl_now();
        if (t0 + (double)k * iv < now) k = (long)ceil((now - t0) / iv); /* fell behind: skip */
        int exited = wait_tick(pidfd, t0 + (double)k * iv);
        nl_stats_row row;
        if (nl_stats_sample(mon, &row, err)) {
            st = NL_EIO;
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            goto out;
        }
        if ((st = push_row(c, &cap, &row, err))) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            goto out;
        }
        if (!row.alive || exited) break;
        now = nl_now();
        if (!c->timed_out && c->timeout_s > 0 && now - t_launch > c->timeout_s)
            c->timed_out = 1, kill_at = now;
        if (!c->interrupted && c->should_stop && c->should_stop(c->user))
            c->interrupted = 1, kill_at = now;
        if (kill_at <= now) {
            kill(-pid, SIGTERM);
            kill(pid, SIGTERM);
            sigkill_at = now + 3.0, kill_at = INFINITY;
        }
        if (sigkill_at <= now) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            sigkill_at = INFINITY;
        }
    }
    /* The leader has exited (a zombie until reaped, so its group id cannot be reused):
       whatever it left behind in its group must not run into the next run. */
    const double t_exit = nl_now();
    kill(-pid, SIGKILL);
    int ws = 0;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
    }
    c->wall_s = t_exit - t_launch;
    c->exit_status = WIFEXITED(ws) ? WEXITSTATUS(ws) : WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : -1;
out:
    nl_stats_close(mon);
    if (pidfd >= 0) close(pidfd);
    int fds[] = {fd_out, fd_log, fd_null, go[0], go[1], ex[0], ex[1]};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
        if (fds[i] >= 0) close(fds[i]);
    free(env);
    free(kv);
    return st;
}
