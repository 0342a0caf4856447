#ifndef NNLAB_CLI_PROGRESS_H
#define NNLAB_CLI_PROGRESS_H
#include <stddef.h>

#include "nnlab/train.h"

typedef struct progress {
    int enabled, tty;
    int epoch, epochs, steps;
    int line_open; /* a bar is on screen without its newline */
    double last_draw;
} progress;

void progress_init(progress *p, int enabled, int tty);
void progress_epoch_start(progress *p, int epoch, int epochs, int steps);
void progress_step(progress *p, int step, size_t samples, double loss, double acc, double secs);
void progress_epoch_end(progress *p, const nl_epoch_stats *s);
/* Ends a bar's line that is still open (before an error message or after an
 * interrupt), so what follows starts on a line of its own. */
void progress_end_line(progress *p);

/* The terminal's width in columns for stderr: TIOCGWINSZ, else $COLUMNS,
 * else 80. */
int progress_columns(void);
/* Time per step as Keras writes it: "2s/step", "14ms/step", "850us/step". */
void progress_fmt_step_time(char *out, size_t n, double secs_per_step);
/* Lays out one bar line in at most cols - 1 characters (the last column is
 * left free so that no terminal wraps): the bar narrows down to 10 cells,
 * then the trailing items go (samples/s, accuracy, loss, time), then the bar. */
void progress_format_line(char *out, size_t n, int cols, int step, int steps, const char *timing,
                          double loss, double acc, double rate);
#endif
