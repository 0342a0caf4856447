/* Running gnuplot: no shell, the script on its standard input, its messages
 * kept for the error, in a working directory resolved to an absolute path
 * first (so a relative directory is never resolved twice). Shared by
 * nl_stats_plot and the bench's figures. */
#include "stats/stats_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The last non-empty line of the messages in fd, newlines and tabs as spaces. */
static void last_message(int fd, char *msg, size_t msgn) {
    char buf[4096];
    off_t end = lseek(fd, 0, SEEK_END);
    off_t from = end > (off_t)sizeof buf - 1 ? end - (off_t)sizeof buf + 1 : 0;
    ssize_t r = pread(fd, buf, sizeof buf - 1, from);
    if (r <= 0) return;
    buf[r] = '\0';
    while (r > 0 && (buf[r - 1] == '\n' || buf[r - 1] == ' ' || buf[r - 1] == '\r')) buf[--r] = 0;
    char *l = strrchr(buf, '\n');
    l = l ? l + 1 : buf;
    for (char *p = l; *p; p++)
        if (*p == '\t' || *p == '\r') *p = ' ';
    if (*l) snprintf(msg, msgn, "gnuplot failed: %.400s", l);
}

/* write() to a pipe whose reader may have gone: EPIPE, never SIGPIPE (blocked
 * for the calling thread, a pending one consumed). */
static int write_all(int fd, const char *s, size_t n) {
    sigset_t pipe_set, old;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    int rc = 0;
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            rc = -1;
            break;
        }
        s += w, n -= (size_t)w;
    }
    if (rc && errno == EPIPE && !sigismember(&old, SIGPIPE)) {
        struct timespec zero = {0, 0};
        sigtimedwait(&pipe_set, NULL, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

int st_gnuplot(const char *dir, const char *script, size_t len, char *msg, size_t msgn) {
    snprintf(msg, msgn, "gnuplot failed");
    char cwd[PATH_MAX];
    if (dir && !realpath(dir, cwd)) {
        snprintf(msg, msgn, "cannot use the directory '%s': %s", dir, strerror(errno));
        return -1;
    }
    char errpath[] = "/tmp/nnlab-gnuplot-XXXXXX";
    int efd = mkostemp(errpath, O_CLOEXEC);
    if (efd < 0) {
        snprintf(msg, msgn, "cannot create a temporary file in /tmp: %s", strerror(errno));
        return -1;
    }
    unlink(errpath);
    int in[2] = {-1, -1}, ex[2] = {-1, -1};
    int nul = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (nul < 0 || pipe2(in, O_CLOEXEC) || pipe2(ex, O_CLOEXEC)) {
        snprintf(msg, msgn, "cannot start gnuplot: %s", strerror(errno));
        int fds[] = {efd, nul, in[0], in[1], ex[0], ex[1]};
        for (int i = 0; i < 6; i++)
            if (fds[i] >= 0) close(fds[i]);
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGPIPE, SIG_DFL);
        dup2(in[0], 0);
        dup2(nul, 1);
        dup2(efd, 2);
        int e = 0;
        if (dir && chdir(cwd) != 0) e = errno;
        if (!e) {
            char *const argv[] = {"gnuplot", NULL};
            execvp("gnuplot", argv);
            e = errno;
        }
        if (write(ex[1], &e, sizeof e) < 0) _exit(127);
        _exit(127);
    }
    close(in[0]);
    close(ex[1]);
    close(nul);
    int rc = -1;
    if (pid < 0) {
        snprintf(msg, msgn, "cannot start gnuplot: fork: %s", strerror(errno));
        close(in[1]);
        close(ex[0]);
        close(efd);
        return -1;
    }
    int e = 0;
    ssize_t r;
    while ((r = read(ex[0], &e, sizeof e)) < 0 && errno == EINTR) {
    }
    close(ex[0]);
    if (r != (ssize_t)sizeof e) write_all(in[1], script, len); /* a failure shows in its status */
    close(in[1]);
    int ws = 0;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
    }
    if (r == (ssize_t)sizeof e) {
        if (e == ENOENT) {
            snprintf(msg, msgn, "gnuplot is not installed (Debian: apt-get install gnuplot-nox)");
            rc = 1;
        } else {
            snprintf(msg, msgn, "cannot run gnuplot%s%s: %s", dir ? " in " : "", dir ? cwd : "",
                     strerror(e));
        }
    } else if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0) {
        rc = 0;
    } else {
        last_message(efd, msg, msgn);
    }
    close(efd);
    return rc;
}
