/* Keras-style progress on stderr: a bar per epoch on a terminal (redrawn at
 * most every 100 ms), one plain line per epoch otherwise. */
#include <stdio.h>
#include <string.h>

#include "cli/progress.h"
#include "nnlab/core.h"

static void fmt_secs(char *out, size_t n, double s) {
    if (s >= 3600) snprintf(out, n, "%d:%02d:%02d", (int)(s / 3600), (int)(s / 60) % 60, (int)s % 60);
    else if (s >= 60) snprintf(out, n, "%d:%02d", (int)(s / 60), (int)s % 60);
    else snprintf(out, n, "%.0fs", s);
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
    const int width = 30;
    int filled = p->steps ? (int)((long long)width * step / p->steps) : width;
    char bar[64];
    for (int i = 0; i < width; i++) bar[i] = i < filled ? '=' : '.';
    if (filled < width && filled > 0) bar[filled - 1] = '>';
    bar[width] = '\0';
    char t[32];
    double rate = secs > 0 ? (double)samples / secs : 0.0;
    if (final) {
        fmt_secs(t, sizeof t, secs);
        fprintf(stderr, "\r%*d/%d [%s] - %s %.0fus/step - loss: %.4f - accuracy: %.4f - %.0f samples/s\033[K\n",
                (int)snprintf(NULL, 0, "%d", p->steps), step, p->steps, bar, t,
                step ? secs / step * 1e6 : 0.0, loss, acc, rate);
    } else {
        double eta = step ? secs / step * (p->steps - step) : 0.0;
        fmt_secs(t, sizeof t, eta);
        fprintf(stderr, "\r%*d/%d [%s] - ETA: %s - loss: %.4f - accuracy: %.4f - %.0f samples/s\033[K",
                (int)snprintf(NULL, 0, "%d", p->steps), step, p->steps, bar, t, loss, acc, rate);
    }
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

void progress_epoch_end(progress *p, const nl_epoch_stats *s) {
    if (!p->enabled) return;
    double rate = s->train_seconds > 0 ? (double)s->samples / s->train_seconds : 0.0;
    if (p->tty)
        fprintf(stderr, "  test: accuracy %.4f - loss %.4f (%.2fs)\n", s->test_accuracy,
                s->test_loss, s->eval_seconds);
    else
        fprintf(stderr,
                "epoch %d/%d: %zu samples in %.2fs (%.0f samples/s) - loss %.4f - accuracy %.4f "
                "- test accuracy %.4f - test loss %.4f\n",
                s->epoch, p->epochs, s->samples, s->train_seconds, rate, s->loss, s->accuracy,
                s->test_accuracy, s->test_loss);
}
