/* The bench's background load (--load N): N busy processes of one fixed kind
 * started just before a run and ended right after it, the same for every run
 * of every contestant. Each is a child of the bench in its own process group,
 * SIGKILLed by the kernel if the bench dies, and ended and reaped here. */
#include "harness/harness_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* The plain CPU spin: no memory, no I/O, no system calls. */
static void spin(void) {
    volatile unsigned long x = 0;
    for (;;) x++;
}

/* A load command: sh -c COMMAND in this process group, watched by this process,
 * which the kernel sends SIGTERM when the bench dies: it then ends the whole
 * group (what the command started too), itself included. */
static void run_command(const char *command) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, &old);
    pid_t pid = fork();
    if (pid == 0) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (fd >= 0) dup2(fd, 0), dup2(fd, 1), dup2(fd, 2);
        execl("/bin/sh", "sh", "-c", command, (char *)NULL);
        _exit(127);
    }
    if (pid < 0) _exit(127);
    for (;;) {
        int sig = sigwaitinfo(&set, NULL);
        if (sig == SIGTERM) kill(0, SIGKILL);
        if (sig == SIGCHLD && waitpid(pid, NULL, WNOHANG) == pid) _exit(0);
    }
}

nl_status bench_load_start(bench_load *l, int n, const char *command, nl_error *err) {
    memset(l, 0, sizeof *l);
    if (n <= 0) return NL_OK;
    if (n > BENCH_LOAD_MAX)
        return nl_error_set(err, NL_EINVAL, "--load %d: at most %d processes", n, BENCH_LOAD_MAX);
    const pid_t parent = getpid();
    fflush(NULL);
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            int e = errno;
            bench_load_stop(l);
            return nl_error_set(err, NL_EIO, "cannot start load process %d of %d: fork: %s", i + 1,
                                n, strerror(e));
        }
        if (pid == 0) {
            setpgid(0, 0);
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent) _exit(0);
            signal(SIGINT, SIG_IGN); /* a Ctrl-C is the bench's to handle */
            if (command) run_command(command);
            spin();
        }
        setpgid(pid, pid); /* also done by the child: whichever runs first */
        l->pid[l->n++] = pid;
    }
    return NL_OK;
}

void bench_load_stop(bench_load *l) {
    for (int i = 0; i < l->n; i++) {
        kill(-l->pid[i], SIGKILL); /* its group: what a --load-command started too */
        kill(l->pid[i], SIGKILL);
    }
    for (int i = 0; i < l->n; i++)
        while (waitpid(l->pid[i], NULL, 0) < 0 && errno == EINTR) {
        }
    l->n = 0;
}
