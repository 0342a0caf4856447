#ifndef NNLAB_CLI_PROGRESS_H
#define NNLAB_CLI_PROGRESS_H
#include <stddef.h>

#include "nnlab/train.h"

typedef struct progress {
    int enabled, tty;
    int epoch, epochs, steps;
    double last_draw;
} progress;

void progress_init(progress *p, int enabled, int tty);
void progress_epoch_start(progress *p, int epoch, int epochs, int steps);
void progress_step(progress *p, int step, size_t samples, double loss, double acc, double secs);
void progress_epoch_end(progress *p, const nl_epoch_stats *s);
#endif
