/* The monitor's sampling loop (nl_stats_run): starts a command or attaches to
 * a process, samples it on an absolute schedule until it exits, a deadline or
 * a stop, and reaps what it started. `nnlab stats` and the bench harness both
 * run their processes through it. */
#include "nnlab/core.h"
#include "nnlab/stats.h"
#include "stats/stats_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

enum { GRACE_S = 3, LEFTOVERS_MAX = 256 };

typedef struct loop {
    const nl_stats_run_opts *o;
    nl_stats_run_result *res;
    pid_t pid;   /* the watched process */
    int command; /* 1: started here (ours to reap) */
    int pidfd;   /* -1: not available, poll by ticks */
    int sigfd;   /* -1: no signals to handle */
    int exited;  /* the watched process has exited (a zombie when ours) */
    double t_launch, term_at, kill_at;
    int ended[LEFTOVERS_MAX]; /* leftovers killed (counted once) */
    int nended;
    int before[LEFTOVERS_MAX]; /* this process's children before the start: not orphans */
    int nbefore;
} loop;

/* SIGKILL to a leftover; counted in res->leftovers the first time. */
static void end_one(loop *L, int pid) {
    for (int i = 0; i < L->nended; i++)
        if (L->ended[i] == pid) {
            kill(pid, SIGKILL);
            return;
        }
    if (kill(pid, SIGKILL) != 0) return;
    L->res->leftovers++;
    if (L->nended < LEFTOVERS_MAX) L->ended[L->nended++] = pid;
}

static int open_pidfd(pid_t pid) {
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    (void)pid;
    return -1;
#endif
}

/* 1 when our child has exited (left a zombie, so a last sample can read it). */
static int child_exited(pid_t pid) {
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0) return errno == ECHILD;
    return si.si_pid == pid;
}

static void signal_command(loop *L, int sig) {
    if (L->o->contain) kill(-L->pid, sig);
    kill(L->pid, sig);
}

/* Timeout and stop requests: SIGTERM, then SIGKILL GRACE_S seconds later. */
static void escalate(loop *L, double now) {
    if (!L->command || L->exited) return;
    if (!L->res->timed_out && L->o->timeout_s > 0 && now - L->t_launch >= L->o->timeout_s) {
        L->res->timed_out = 1;
        if (!isfinite(L->term_at)) L->term_at = now;
    }
    if (L->term_at <= now) {
        signal_command(L, SIGTERM);
        L->term_at = INFINITY;
        L->kill_at = now + GRACE_S;
    }
    if (L->kill_at <= now) {
        signal_command(L, SIGKILL);
        L->kill_at = INFINITY;
    }
}

/* One signal from the caller's set: forwarded to a started command (unless the
 * kernel sent it, as a terminal does to its whole process group, which holds
 * the command already); for an attached process it ends the sampling. */
static void take_signal(loop *L) {
    struct signalfd_siginfo si;
    while (read(L->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (L->command) {
            if (si.ssi_code != SI_KERNEL) kill(L->pid, (int)si.ssi_signo);
        } else if (!L->res->stopped) {
            L->res->stopped = (int)si.ssi_signo;
        }
    }
}

/* Waits until `until` (nl_now() scale, INFINITY: the exit), handling signals
 * and the timeout meanwhile. Returns 1 when the watched process has exited or
 * a signal ended an attached watch. */
static int wait_until(loop *L, double until) {
    for (;;) {
        double now = nl_now();
        escalate(L, now);
        if (L->exited || L->res->stopped) return 1;
        if (L->command && L->pidfd < 0 && child_exited(L->pid)) return L->exited = 1;
        double next = until;
        if (isfinite(L->term_at) && L->term_at < next) next = L->term_at;
        if (isfinite(L->kill_at) && L->kill_at < next) next = L->kill_at;
        if (L->command && L->o->timeout_s > 0 && !L->res->timed_out &&
            L->t_launch + L->o->timeout_s < next)
            next = L->t_launch + L->o->timeout_s;
        if (now >= until) return 0;
        double left = next - now;
        if (left < 0) left = 0;
        if (L->pidfd < 0 && L->command && left > 0.02) left = 0.02; /* poll the child */
        if (!isfinite(left)) left = 3600;
        struct pollfd pf[2];
        int n = 0, ip = -1, is = -1;
        if (L->pidfd >= 0) ip = n, pf[n++] = (struct pollfd){.fd = L->pidfd, .events = POLLIN};
        if (L->sigfd >= 0) is = n, pf[n++] = (struct pollfd){.fd = L->sigfd, .events = POLLIN};
        struct timespec ts = {(time_t)left, (long)((left - floor(left)) * 1e9)};
        int r = ppoll(n ? pf : NULL, (nfds_t)n, &ts, NULL);
        if (r < 0 && errno != EINTR) { /* fall back to ticks */
            if (L->pidfd >= 0) close(L->pidfd);
            L->pidfd = -1;
            nanosleep(&ts, NULL);
            continue;
        }
        if (r > 0 && is >= 0 && (pf[is].revents & POLLIN)) take_signal(L);
        if (r > 0 && ip >= 0 && (pf[ip].revents & (POLLIN | POLLHUP))) L->exited = 1;
    }
}

/* Starts the command: forked, then held until the monitor has opened it (so
 * that it is watched from its first instruction), then exec'd. The exec error
 * comes back through a close-on-exec pipe. */
static nl_status start(loop *L, int go[2], int ex[2], nl_error *err) {
    const nl_stats_run_opts *o = L->o;
    if (pipe2(go, O_CLOEXEC) || pipe2(ex, O_CLOEXEC))
        return nl_error_set(err, NL_EIO, "cannot create a pipe: %s", strerror(errno));
    char *const *env = o->envp ? o->envp : environ;
    fflush(NULL);
    pid_t parent = getpid();
    L->res->launch_ms = nl_wall_ms();
    L->t_launch = nl_now();
    pid_t pid = fork();
    if (pid < 0)
        return nl_error_set(err, NL_EIO, "cannot start '%s': fork: %s", o->argv[0],
                            strerror(errno));
    if (pid == 0) {
        if (o->contain) { /* its own group, ended with the monitor */
            setpgid(0, 0);
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent) _exit(127);
        }
        signal(SIGPIPE, SIG_DFL);
        if (o->signals) sigprocmask(SIG_UNBLOCK, o->signals, NULL);
        if (o->stdio)
            for (int i = 0; i < 3; i++)
                if (o->stdio[i] >= 0 && o->stdio[i] != i) dup2(o->stdio[i], i);
        char b;
        close(go[1]);
        while (read(go[0], &b, 1) < 0 && errno == EINTR) {
        }
        execvpe(o->argv[0], o->argv, env);
        int e = errno;
        if (write(ex[1], &e, sizeof e) < 0) _exit(127);
        _exit(127);
    }
    if (o->contain) setpgid(pid, pid); /* also done by the child: whichever runs first */
    close(go[0]), go[0] = -1;
    close(ex[1]), ex[1] = -1;
    L->pid = pid;
    L->command = 1;
    return NL_OK;
}

/* Reaps the command; its rusage (it and the children it waited for) goes into
 * the summary. */
static void reap(loop *L) {
    int ws = 0;
    struct rusage ru;
    pid_t r;
    memset(&ru, 0, sizeof ru);
    while ((r = wait4(L->pid, &ws, 0, &ru)) < 0 && errno == EINTR) {
    }
    L->res->exit_code = WIFEXITED(ws) ? WEXITSTATUS(ws) : WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : -1;
    if (r == L->pid) {
        nl_stats_summary *s = &L->res->summary;
        s->exit_valid = 1;
        s->exit_user_s = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6;
        s->exit_system_s = (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
        s->exit_maxrss_mib = (double)ru.ru_maxrss / 1024.0; /* KiB on Linux */
        s->exit_minflt = ru.ru_minflt;
        s->exit_majflt = ru.ru_majflt;
        s->exit_vcsw = ru.ru_nvcsw;
        s->exit_ivcsw = ru.ru_nivcsw;
    }
}

/* The members of the tree still running, by PID and start time. */
static void end_members(loop *L, nl_stats *st) {
    int pids[LEFTOVERS_MAX];
    unsigned long long starts[LEFTOVERS_MAX];
    size_t n = st_stats_others(st, pids, starts, LEFTOVERS_MAX);
    for (size_t i = 0; i < n; i++) {
        char path[64], buf[1024];
        st_pstat ps;
        snprintf(path, sizeof path, "/proc/%d/stat", pids[i]);
        if (st_read_text(path, buf, sizeof buf) < 0 || st_parse_stat(buf, &ps) != 0) continue;
        if (ps.start != starts[i] || ps.state == 'Z' || ps.state == 'X') continue;
        end_one(L, pids[i]);
    }
}

/* With contain this process is the subreaper of the command's tree: an orphan
 * (a daemon that forked twice and left the session) becomes its child. Kills
 * its children other than the command and reaps those that have exited;
 * *left: how many children remain. */
static int was_child_before(const loop *L, long pid) {
    for (int i = 0; i < L->nbefore; i++)
        if (L->before[i] == pid) return 1;
    return 0;
}

static void sweep_orphans(loop *L, int *left) {
    *left = 0;
    DIR *d = opendir("/proc");
    if (!d) return;
    const int self = (int)getpid();
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        char *end;
        long pid = strtol(de->d_name, &end, 10);
        if (*end || pid <= 0 || pid == (long)L->pid || was_child_before(L, pid)) continue;
        char path[64], buf[1024];
        st_pstat ps;
        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        if (st_read_text(path, buf, sizeof buf) < 0 || st_parse_stat(buf, &ps) != 0) continue;
        if (ps.ppid != self) continue;
        if (ps.state == 'Z' || ps.state == 'X') {
            if (waitpid((pid_t)pid, NULL, WNOHANG) != (pid_t)pid) (*left)++;
        } else {
            end_one(L, (int)pid);
            (*left)++;
        }
    }
    closedir(d);
}

/* Notes this process's children before the command starts (the caller's own,
 * such as the bench's load processes): they are no orphans of the command. */
static void note_children(loop *L) {
    DIR *d = opendir("/proc");
    if (!d) return;
    const int self = (int)getpid();
    struct dirent *de;
    while ((de = readdir(d)) != NULL && L->nbefore < LEFTOVERS_MAX) {
        char *end;
        long pid = strtol(de->d_name, &end, 10);
        if (*end || pid <= 0) continue;
        char path[64], buf[1024];
        st_pstat ps;
        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        if (st_read_text(path, buf, sizeof buf) < 0 || st_parse_stat(buf, &ps) != 0) continue;
        if (ps.ppid == self) L->before[L->nbefore++] = (int)pid;
    }
    closedir(d);
}

/* Ends what the command left running: its process group, the members of the
 * tree the monitor saw (a daemon that left the group with setsid), and the
 * orphans this process adopted as their subreaper; reaps the latter. */
static void end_leftovers(loop *L, nl_stats *st) {
    if (!L->o->contain) return;
    kill(-L->pid, SIGKILL);
    if (st) end_members(L, st);
    for (int i = 0; i < 200; i++) { /* orphans of killed parents keep coming for a moment */
        int left = 0;
        sweep_orphans(L, &left);
        if (!left) break;
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
}

nl_status nl_stats_run(const nl_stats_run_opts *o, nl_stats_run_result *res, nl_error *err) {
    if (!o || !res) return nl_error_set(err, NL_EINVAL, "nl_stats_run: NULL argument");
    memset(res, 0, sizeof *res);
    res->exit_code = -1;
    res->wall_s = NAN;
    nl_stats_summary_init(&res->summary);
    if (!(o->interval_s > 0))
        return nl_error_set(err, NL_EINVAL, "nl_stats_run: interval must be > 0 (got %g)",
                            o->interval_s);
    if ((o->argv == NULL) == (o->pid <= 0))
        return nl_error_set(err, NL_EINVAL, "nl_stats_run: give a command (argv) or a pid");
    if (o->argv && !o->argv[0]) return nl_error_set(err, NL_EINVAL, "nl_stats_run: empty command");

    loop L = {.o = o, .res = res, .pid = o->pid, .pidfd = -1, .sigfd = -1};
    L.term_at = L.kill_at = INFINITY;
    int go[2] = {-1, -1}, ex[2] = {-1, -1};
    nl_stats *st = NULL;
    nl_status rc = NL_OK;
    if (o->signals) {
        L.sigfd = signalfd(-1, o->signals, SFD_NONBLOCK | SFD_CLOEXEC);
        if (L.sigfd < 0)
            return nl_error_set(err, NL_EIO, "cannot watch signals: signalfd: %s", strerror(errno));
    }
    int was_subreaper = 0;
    if (o->argv && o->contain) {
        note_children(&L);
        prctl(PR_GET_CHILD_SUBREAPER, &was_subreaper);
        prctl(PR_SET_CHILD_SUBREAPER, 1);
    }
    if (o->argv) {
        rc = start(&L, go, ex, err);
        if (rc) goto out;
    } else {
        L.t_launch = nl_now();
        res->launch_ms = nl_wall_ms();
    }
    res->pid = (int)L.pid;

    nl_stats_opts so = {.pid = (int)L.pid,
                        .flags = o->flags | (L.command ? NL_STATS_FROM_START : 0),
                        .nvml_lib = o->nvml_lib};
    rc = nl_stats_open(&st, &so, err);
    if (rc) {
        if (L.command) { /* never let go: it has not run anything */
            kill(L.pid, SIGKILL);
            reap(&L);
            res->exit_code = -1;
            nl_error_prefix(err, "cannot watch %s", o->argv[0]);
        }
        goto out;
    }
    res->info = *nl_stats_get_info(st);
    res->info_valid = 1;
    L.pidfd = open_pidfd(L.pid);
    if (L.command) {
        if (write(go[1], "g", 1) < 0) { /* it died before exec: the pipe below says so */
        }
        close(go[1]), go[1] = -1;
        int e = 0;
        ssize_t r;
        while ((r = read(ex[0], &e, sizeof e)) < 0 && errno == EINTR) {
        }
        if (r == (ssize_t)sizeof e) { /* exec failed: an outcome, not an error */
            reap(&L);
            res->exit_code = 127;
            res->exec_errno = e ? e : ENOEXEC;
            res->wall_s = nl_now() - L.t_launch;
            goto out;
        }
    }
    if (L.command) { /* its name is the program's now (or at the first sample), not ours */
        st_stats_reread_comm(st);
        res->info = *nl_stats_get_info(st);
    }
    if (o->on_open) o->on_open(o->user, &res->info);

    const double t0 = res->info.t0, iv = o->interval_s;
    int after_exit = 0;
    for (long k = 1;; k++) {
        if (o->duration_s > 0 && (double)k * iv > o->duration_s + 1e-9) break;
        if (wait_until(&L, t0 + (double)k * iv) && res->stopped && !L.command) break;
        nl_stats_row row;
        if ((rc = nl_stats_sample(st, &row, err)) != NL_OK) break;
        /* the kernel closes the exec pipe just before it renames the process */
        if (L.command && res->samples == 0) st_stats_reread_comm(st);
        res->samples++;
        nl_stats_summary_add(&res->summary, &row);
        if (o->on_sample && o->on_sample(o->user, &row, nl_stats_get_info(st))) {
            if (!L.command) {
                res->stopped = -1;
                break;
            }
            if (!res->stopped) res->stopped = -1, L.term_at = nl_now();
        }
        if (!row.alive) break;
        /* exited but not yet seen so: sample the zombie once more */
        if (L.exited && after_exit++) break;
        /* behind schedule (machine busy, monitor stopped): skip the ticks missed
         * and any closer than half an interval rather than sample in a burst */
        double now = nl_now();
        long next = k + 1;
        while (t0 + (double)next * iv < now + 0.5 * iv) next++;
        res->missed += next - (k + 1);
        k = next - 1;
    }
    if (L.command) {
        if (rc) L.term_at = nl_now(), L.kill_at = INFINITY;
        /* sampling may end before the command (--duration): wait for its exit,
         * still forwarding signals and keeping the timeout */
        wait_until(&L, INFINITY);
        res->wall_s = nl_now() - L.t_launch;
        end_leftovers(&L, st);
        reap(&L);
        /* the CPU time counts from the launch (NL_STATS_FROM_START): so does the mean */
        nl_stats_summary *s = &res->summary;
        if (isfinite(res->wall_s) && res->wall_s > 0) {
            s->duration_s = res->wall_s;
            s->cpu_mean_pct = 100.0 * s->cpu_s / res->wall_s;
            const double most = 100.0 * (res->info_valid ? res->info.ncpu : 1);
            if (s->cpu_mean_pct > most) s->cpu_mean_pct = most;
        }
    } else {
        res->wall_s = nl_now() - L.t_launch;
    }
out:
    if (o->argv && o->contain) prctl(PR_SET_CHILD_SUBREAPER, was_subreaper);
    if (st) res->info = *nl_stats_get_info(st); /* with the notes and errors of sampling */
    nl_stats_close(st);
    if (L.pidfd >= 0) close(L.pidfd);
    if (L.sigfd >= 0) close(L.sigfd);
    int fds[] = {go[0], go[1], ex[0], ex[1]};
    for (size_t i = 0; i < 4; i++)
        if (fds[i] >= 0) close(fds[i]);
    return rc;
}
