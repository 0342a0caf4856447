/* nnlab/train.h - the training loop, evaluation, events and model files.
 *
 * Data flows one way: dataset (u8 or float) -> batch gather (shuffle, scale)
 * -> forward -> loss (softmax cross-entropy or mse, the model's) -> backward
 * -> optimizer (at the schedule's learning rate) -> metrics -> hooks/events.
 * The loop allocates its buffers once before the first step. */
#ifndef NNLAB_TRAIN_H
#define NNLAB_TRAIN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "nnlab/data.h"
#include "nnlab/error.h"
#include "nnlab/model.h"
#include "nnlab/optim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- events: MLPerf-style log lines (design.md) --------------------------- */
typedef struct nl_events {
    FILE *f;        /* NULL: events disabled */
    int owned;      /* close f on nl_events_close */
    int error;      /* errno of the first failed write (0: none); no events after it */
    long lost;      /* events not written because of it */
    char path[256]; /* as given to nl_events_open, for messages */
} nl_events;

/* path NULL or "": disabled; "-": stdout; else the file (truncated). A FIFO,
 * a pipe or a terminal may be given as well: a FIFO needs its reader already
 * (else an error at once), and a reader that takes no line for
 * NL_EVENTS_STALL_S seconds ends the events with an error, so training never
 * waits on it for longer. */
enum { NL_EVENTS_STALL_S = 10 };
NL_API nl_status nl_events_open(nl_events *ev, const char *path, nl_error *err);
NL_API void nl_events_close(nl_events *ev);
/* NL_EIO when an event could not be written (disk full, a reader gone or
 * stalled): the message names the file, the reason and how many were lost. */
NL_API nl_status nl_events_status(const nl_events *ev, nl_error *err);
/* type: "INTERVAL_START", "INTERVAL_END" or "POINT_IN_TIME"; value_json and
 * metadata_json are JSON text (NULL: null / {}). Each line is written whole
 * (flushed); a failed write is kept for nl_events_status. */
NL_API void nl_event(nl_events *ev, const char *type, const char *key, const char *value_json,
                     const char *metadata_json);

/* ---- training ------------------------------------------------------------- */

/* Where a run stands at the end of an epoch: what a checkpoint stores so that
 * training continues as if it had not stopped (nl_train_config.resume). The
 * optimizer's own state (moments, step count) is kept by the optimizer. */
typedef struct nl_train_state {
    int epoch;            /* epochs completed */
    int epochs;           /* the total the run was configured for */
    int batch;            /* training batch size */
    int shuffle;          /* nl_train_config.shuffle */
    uint64_t seed;        /* nl_train_config.seed */
    uint64_t samples;     /* training samples per epoch */
    uint64_t rng[4];      /* the shuffle RNG as it is at the start of epoch `epoch` + 1 */
    nl_schedule schedule; /* nl_train_config.schedule */
} nl_train_state;

typedef struct nl_epoch_stats {
    int epoch;       /* 1-based */
    size_t samples;  /* training samples seen this epoch */
    double loss;     /* mean training loss over the epoch */
    double accuracy; /* training accuracy over the epoch (dropout active); NAN for mse */
    double test_loss;
    double test_accuracy; /* NAN for mse */
    double train_seconds; /* the epoch's training steps */
    double eval_seconds;  /* the evaluation after it */
} nl_epoch_stats;

typedef struct nl_train_hooks {
    void *user;
    void (*epoch_start)(void *user, int epoch, int epochs, int steps);
    /* After every step: running mean loss/accuracy of the epoch so far. */
    void (*step)(void *user, int epoch, int step, int steps, size_t samples, double loss,
                 double accuracy, double epoch_seconds);
    void (*epoch_end)(void *user, const nl_epoch_stats *s);
    /* Polled between steps; non-zero stops training with NL_EINTR. */
    int (*should_stop)(void *user);
    /* After every step's optimizer update, with the optimizer's step count
     * (1, 2, ... from a fresh optimizer, counting across epochs) and the step's
     * own loss (the mean over its batch, the loss the gradient was taken of).
     * The model and optimizer may be read (e.g. saved) here, not changed. */
    void (*step_end)(void *user, uint64_t step, float loss);
    /* After every epoch (after epoch_end): the state of the run at this point,
     * to save with the model and optimizer (nl_model_save_checkpoint) for a
     * resume. The model and optimizer may be read here, not changed. */
    void (*epoch_state)(void *user, const nl_train_state *s);
} nl_train_hooks;

/* Data-parallel training (docs/distributed.md): the loop runs on each of
 * `size` processes, this one being `rank`. Every process takes its fixed slice
 * [b*rank/size, b*(rank+1)/size) of each global batch of b samples of the
 * same seeded shuffle (dropout masks by the sample's place in the global
 * batch), weights its mean gradient by its share of the batch and calls
 * sum_floats between the backward pass and the optimizer step (the step's
 * loss and count by sum_doubles); process r evaluates the r-th of `size`
 * contiguous shares of the evaluation set and the sums are summed.
 * Rank 0's parameters and batch-norm running statistics are given to every
 * process at the start, the statistics before every step (broadcast). The
 * three must return the same values on every rank (a fixed-order sum makes
 * runs bit-identical); a non-zero status stops training with it. A process
 * that takes no part may leave the hooks NULL with size <= 1. */
typedef struct nl_train_dist {
    int rank, size;
    void *user;
    /* v[0..n) := the sum over every process of its v (the gradient) */
    nl_status (*sum_floats)(void *user, float *v, size_t n, nl_error *err);
    /* the same for metrics (losses, counts) */
    nl_status (*sum_doubles)(void *user, double *v, size_t n, nl_error *err);
    /* v[0..n) := rank 0's v */
    nl_status (*broadcast)(void *user, float *v, size_t n, nl_error *err);
} nl_train_dist;

typedef struct nl_train_config {
    int epochs;           /* default 3 */
    int batch;            /* default 32 */
    int eval_batch;       /* 0: the training batch, at least NL_EVAL_BATCH */
    uint64_t seed;        /* shuffling, init (by the caller), dropout */
    int shuffle;          /* 1 (default): reshuffle every epoch; 0: batches in dataset order */
    nl_schedule schedule; /* the learning rate per step from the optimizer's lr (zeroed:
                             constant) */
    nl_events *events;
    /* NULL: a fresh run from epoch 1. Else the state of a checkpoint: training
     * continues with epoch resume->epoch + 1 up to cfg->epochs (the total, as
     * Keras's initial_epoch and epochs), with the shuffle order and the
     * dropout masks the uninterrupted run would have had. Its seed, batch,
     * shuffle, schedule and sample count must be this run's, the optimizer's
     * step count resume->epoch x steps per epoch (NL_EINVAL naming the first
     * that differs). */
    const nl_train_state *resume;
    /* NULL (or size <= 1): one process. Else data-parallel (nl_train_dist);
     * stats, hooks and the events then hold the global figures on every rank
     * (the caller lets one rank write them). */
    const nl_train_dist *dist;
} nl_train_config;

NL_API nl_train_config nl_train_defaults(void);

/* The state of a run of cfg on `samples` training samples after `epoch`
 * epochs (the shuffle RNG replayed; nothing is allocated). */
NL_API void nl_train_state_at(const nl_train_config *cfg, uint64_t samples, int epoch,
                              nl_train_state *out);

/* Trains m (compiled for at least cfg->batch) with opt. test may be NULL (no
 * evaluation). stats (may be NULL) receives cfg->epochs entries, entry e - 1
 * for epoch e (on a resume the entries of the epochs done before are left as
 * they are). The loss is the model's (nl_model_loss_kind): cross-entropy
 * needs labels, mse float targets (nl_check_dataset). */
NL_API nl_status nl_train(nl_model *m, nl_optimizer *opt, const nl_dataset *train,
                          const nl_dataset *test, const nl_train_config *cfg,
                          const nl_train_hooks *hooks, nl_epoch_stats *stats, nl_error *err);

/* Evaluation's batch where none is given: small enough that a batch's
 * activations stay in the caches from one layer to the next (evaluation is
 * forward only, one image at a time on every layer that is not a GEMM), large
 * enough to keep every thread busy. */
#define NL_EVAL_BATCH 32

/* Accuracy and mean loss on all of d, in batches of `batch` samples (<= 0:
 * NL_EVAL_BATCH); the accuracy is NAN for a model trained with mse. */
NL_API nl_status nl_evaluate(nl_model *m, const nl_dataset *d, int batch, double *accuracy,
                             double *loss, nl_error *err);

/* Checks that a dataset fits a model: the sample shape is the model's input;
 * cross-entropy: class labels, no more classes than outputs; mse: float targets,
 * one per output. */
NL_API nl_status nl_check_dataset(const nl_model *m, const nl_dataset *d, const char *what,
                                  nl_error *err);

/* ---- model files -------------------------------------------------------------
 * Little-endian, versioned, CRC-32 over everything before the trailer; written
 * to a temp file, fsync'd and renamed into place. Holds the input shape, every
 * layer spec, the loss, the workload name, parameters, state (BN running
 * statistics), and optionally the optimizer's configuration, step count and
 * moments and the training state (nl_train_state) of a checkpoint. Version 2
 * is written; versions 1 (no loss, no leakyrelu slope, no training state) and
 * 2 are read. The layout is in src/model/model_file.c. */
#define NL_MODEL_FILE_VERSION 2

/* opt may be NULL (no optimizer state saved). */
NL_API nl_status nl_model_save(const char *path, const nl_model *m, const char *workload,
                               const nl_optimizer *opt, nl_error *err);
/* The same with the training state of a checkpoint (state may be NULL). */
NL_API nl_status nl_model_save_checkpoint(const char *path, const nl_model *m, const char *workload,
                                          const nl_optimizer *opt, const nl_train_state *state,
                                          nl_error *err);
/* Loads a model compiled for max_batch; *opt (may be NULL) gets the optimizer
 * state when the file has it (opt->n == 0 otherwise). workload receives the
 * stored name (may be NULL). */
NL_API nl_status nl_model_load(const char *path, int max_batch, nl_model **out, nl_optimizer *opt,
                               char *workload, size_t workload_size, nl_error *err);
/* The same, and *has_state (may be NULL) is 1 when the file holds a training
 * state, then in *state (may be NULL), else 0. */
NL_API nl_status nl_model_load_checkpoint(const char *path, int max_batch, nl_model **out,
                                          nl_optimizer *opt, char *workload, size_t workload_size,
                                          nl_train_state *state, int *has_state, nl_error *err);

#ifdef __cplusplus
}
#endif
#endif
