/* Keras-style progress on stderr: a bar per epoch on a terminal (redrawn at
 * most every 100 ms, fitted to the terminal's width), one plain line per
 * epoch otherwise. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli/progress.h"
#include "nnlab/core.h"

static void fmt_secs(char *out, size_t n, double s) {
    if (s >= 3600)
        snprintf(out, n, "%d:%02d:%02d", (int)(s / 3600), (int)(s / 60) % 60, (int)s % 60);
    else if (s >= 60)
        snprintf(out, n, "%d:%02d", (int)(s / 60), (int)s % 60);
    else
        snprintf(out, n, "%.0fs", s);
}

void progress_fmt_step_time(char *out, size_t n, double t) {
    if (t >= 1 || t <= 0)
        snprintf(out, n, "%.0fs/step", t > 0 ? t : 0.0);
    else if (t >= 1e-3)
        snprintf(out, n, "%.0fms/step", t * 1e3);
    else
        snprintf(out, n, "%.0fus/step", t * 1e6);
}

int progress_columns(void) {
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
    const char *c = getenv("COLUMNS");
    if (c && *c) {
        char *end = NULL;
        long v = strtol(c, &end, 10);
        if (*end == '\0' && v > 0 && v < 100000) return (int)v;
    }
    return 80;
}

void progress_format_line(char *out, size_t n, int cols, int step, int steps, const char *timing,
                          double loss, double acc, double rate) {
    enum { BAR_MAX = 30, BAR_MIN = 10, NITEMS = 4 };
    char head[48], items[NITEMS][96];
    snprintf(head, sizeof head, "%*d/%d", snprintf(NULL, 0, "%d", steps), step, steps);
    snprintf(items[0], sizeof items[0], "%s", timing);
    snprintf(items[1], sizeof items[1], "loss: %.4f", loss);
    int nitems = NITEMS;
    if (isnan(acc)) { /* mse: no accuracy */
        snprintf(items[2], sizeof items[2], "%.0f samples/s", rate);
        nitems = NITEMS - 1;
    } else {
        snprintf(items[2], sizeof items[2], "accuracy: %.4f", acc);
        snprintf(items[3], sizeof items[3], "%.0f samples/s", rate);
    }
    const int room = cols - 1;
    int keep = NITEMS, barw = -1;
    /* the widest layout that fits: a bar of BAR_MIN..BAR_MAX cells and as
     * many items as room allows; without a bar when even that is too wide */
    for (int with_bar = 1; with_bar >= 0 && barw < 0; with_bar--)
        for (keep = nitems; keep >= 0; keep--) {
            int len = (int)strlen(head);
            for (int i = 0; i < keep; i++) len += 3 + (int)strlen(items[i]);
            if (!with_bar) {
                if (len <= room || keep == 0) {
                    barw = 0;
                    break;
                }
                continue;
            }
            int avail = room - len - 3; /* " [" and "]" */
            if (avail >= BAR_MIN) {
                barw = avail < BAR_MAX ? avail : BAR_MAX;
                break;
            }
        }
    size_t k = 0;
#define PUT(...)                                                                                   \
    do {                                                                                           \
        int w_ = snprintf(out + k, k < n ? n - k : 0, __VA_ARGS__);                                \
        if (w_ > 0) k += (size_t)w_;                                                               \
    } while (0)
    PUT("%s", head);
    if (barw > 0) {
        char bar[BAR_MAX + 1];
        int filled = steps ? (int)((long long)barw * step / steps) : barw;
        for (int i = 0; i < barw; i++) bar[i] = i < filled ? '=' : '.';
        if (filled < barw && filled > 0) bar[filled - 1] = '>';
        bar[barw] = '\0';
        PUT(" [%s]", bar);
    }
    for (int i = 0; i < keep; i++) PUT(" - %s", items[i]);
#undef PUT
    if (n && room > 0 && (size_t)room < n && strlen(out) > (size_t)room) out[room] = '\0';
}

void progress_init(progress *p, int enabled, int tty) {
    memset(p, 0, sizeof *p);
    p->enabled = enabled;
    p->tty = tty;
}

void progress_epoch_start(progress *p, int epoch, int epochs, int steps) {
    p->epoch = epoch;
    p->epochs = epochs;
    p->steps = steps;
    p->last_draw = 0.0;
    if (p->enabled && p->tty) fprintf(stderr, "Epoch %d/%d\n", epoch, epochs);
}

static void draw(progress *p, int step, size_t samples, double loss, double acc, double secs,
                 int final) {
    char t[32], timing[80], line[512];
    double rate = secs > 0 ? (double)samples / secs : 0.0;
    if (final) {
        char per[32];
        fmt_secs(t, sizeof t, secs);
        progress_fmt_step_time(per, sizeof per, step ? secs / step : 0.0);
        snprintf(timing, sizeof timing, "%s %s", t, per);
    } else {
        double eta = step ? secs / step * (p->steps - step) : 0.0;
        fmt_secs(t, sizeof t, eta);
        snprintf(timing, sizeof timing, "ETA: %s", t);
    }
    progress_format_line(line, sizeof line, progress_columns(), step, p->steps, timing, loss, acc,
                         rate);
    fprintf(stderr, "\r%s\033[K%s", line, final ? "\n" : "");
    p->line_open = !final;
    fflush(stderr);
}

void progress_step(progress *p, int step, size_t samples, double loss, double acc, double secs) {
    if (!p->enabled || !p->tty) return;
    if (step == p->steps) {
        draw(p, step, samples, loss, acc, secs, 1);
        return;
    }
    if (secs - p->last_draw < 0.1) return;
    p->last_draw = secs;
    draw(p, step, samples, loss, acc, secs, 0);
}

void progress_end_line(progress *p) {
    if (!p->line_open) return;
    fputc('\n', stderr);
    fflush(stderr);
    p->line_open = 0;
}

void progress_epoch_end(progress *p, const nl_epoch_stats *s) {
    if (!p->enabled) return;
    progress_end_line(p);
    double rate = s->train_seconds > 0 ? (double)s->samples / s->train_seconds : 0.0;
    if (isnan(s->accuracy)) /* mse: losses only */
        fprintf(
            stderr,
            "%sepoch %d/%d: %zu samples in %.2fs (%.0f samples/s) - loss %.6g - test loss %.6g\n",
            p->tty ? "  " : "", s->epoch, p->epochs, s->samples, s->train_seconds, rate, s->loss,
            s->test_loss);
    else if (p->tty)
        fprintf(stderr, "  test: accuracy %.4f - loss %.4f (%.2fs)\n", s->test_accuracy,
                s->test_loss, s->eval_seconds);
    else
        fprintf(stderr,
                "epoch %d/%d: %zu samples in %.2fs (%.0f samples/s) - loss %.4f - accuracy %.4f "
                "- test accuracy %.4f - test loss %.4f\n",
                s->epoch, p->epochs, s->samples, s->train_seconds, rate, s->loss, s->accuracy,
                s->test_accuracy, s->test_loss);
}
