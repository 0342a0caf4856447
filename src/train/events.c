/* MLPerf-style event lines (design.md, "Events"):
 *   :::MLLOG {"namespace": "", "time_ms": ..., "event_type": ..., "key": ..., "value": ...,
 * "metadata": {...}} A file of our own is written with write(2), a line at a time, so that a FIFO
 * or a pipe (opened non-blocking) can be waited on with a time limit. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nnlab/core.h"
#include "nnlab/train.h"

nl_status nl_events_open(nl_events *ev, const char *path, nl_error *err) {
    memset(ev, 0, sizeof *ev);
    if (!path || !*path) return NL_OK;
    snprintf(ev->path, sizeof ev->path, "%s", path);
    if (!strcmp(path, "-")) {
        ev->f = stdout;
        return NL_OK;
    }
    /* O_NONBLOCK: a FIFO without a reader fails at once instead of waiting */
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NONBLOCK | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        if (e == ENXIO)
            return nl_error_set(err, NL_EIO,
                                "%s: a FIFO with no reader: start the program that reads the "
                                "events first",
                                path);
        return nl_error_set(err, NL_EIO, "%s: cannot open the events file: %s", path, strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
        close(fd);
        return nl_error_set(err, NL_EIO, "%s: cannot write events to a directory", path);
    }
    if (S_ISREG(st.st_mode)) { /* a regular file never blocks: plain writes */
        int fl = fcntl(fd, F_GETFL);
        if (fl >= 0) (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    }
    ev->f = fdopen(fd, "w");
    if (!ev->f) {
        close(fd);
        return nl_error_set(err, NL_ENOMEM, "%s: cannot open the events file: out of memory", path);
    }
    ev->owned = 1;
    return NL_OK;
}

void nl_events_close(nl_events *ev) {
    if (ev->f && ev->owned) fclose(ev->f);
    ev->f = NULL;
    ev->owned = 0;
}

nl_status nl_events_status(const nl_events *ev, nl_error *err) {
    if (!ev || !ev->error) return NL_OK;
    const char *why = ev->error == ETIMEDOUT ? "the reader took no line for a while"
                      : ev->error == EPIPE   ? "the reader went away"
                                             : strerror(ev->error);
    return nl_error_set(err, NL_EIO, "%s: writing the events failed (%s): %ld event%s lost",
                        ev->path[0] ? ev->path : "events", why, ev->lost, ev->lost == 1 ? "" : "s");
}

/* Writes all of p to fd, waiting at most NL_EVENTS_STALL_S seconds in all
 * for a non-blocking reader to make room. 0, or an errno value. A reader that
 * went away is EPIPE, never a SIGPIPE that ends the program. */
static int write_some(int fd, const char *p, size_t n);
static int write_all(int fd, const char *p, size_t n) {
    sigset_t pipe_set, old, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    sigpending(&pending);
    int was_pending = sigismember(&pending, SIGPIPE);
    int e = write_some(fd, p, n);
    if (e == EPIPE && !was_pending) { /* consume the SIGPIPE this write raised */
        struct timespec zero = {0, 0};
        (void)sigtimedwait(&pipe_set, NULL, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return e;
}

static int write_some(int fd, const char *p, size_t n) {
    int waited_ms = 0;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (waited_ms >= NL_EVENTS_STALL_S * 1000) return ETIMEDOUT;
            struct pollfd pf = {.fd = fd, .events = POLLOUT};
            (void)poll(&pf, 1, 100);
            waited_ms += 100;
            continue;
        }
        return w < 0 ? errno : EIO;
    }
    return 0;
}

void nl_event(nl_events *ev, const char *type, const char *key, const char *value_json,
              const char *metadata_json) {
    if (!ev || !ev->f) return;
    if (ev->error) {
        ev->lost++;
        return;
    }
    char small[1024], *line = small;
    const char *fmt = ":::MLLOG {\"namespace\": \"\", \"time_ms\": %lld, \"event_type\": \"%s\", "
                      "\"key\": \"%s\", \"value\": %s, \"metadata\": %s}\n";
    const long long ms = (long long)nl_wall_ms();
    const char *v = value_json ? value_json : "null", *md = metadata_json ? metadata_json : "{}";
    int n = snprintf(small, sizeof small, fmt, ms, type, key, v, md);
    if (n < 0) return;
    if ((size_t)n >= sizeof small) {
        line = malloc((size_t)n + 1);
        if (!line) {
            ev->error = ENOMEM;
            ev->lost++;
            return;
        }
        snprintf(line, (size_t)n + 1, fmt, ms, type, key, v, md);
    }
    int e = 0;
    if (ev->owned) {
        e = write_all(fileno(ev->f), line, (size_t)n);
    } else {
        if (fwrite(line, 1, (size_t)n, ev->f) != (size_t)n || fflush(ev->f) != 0)
            e = errno ? errno : EIO;
    }
    if (line != small) free(line);
    if (e) {
        ev->error = e;
        ev->lost++;
    }
}
