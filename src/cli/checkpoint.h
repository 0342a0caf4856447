/* The checkpoint and history parts of `nnlab train`: --resume (load a
 * checkpoint and check it is a model of the workload given), and the per-epoch
 * history of --json. */
#ifndef NNLAB_CLI_CHECKPOINT_H
#define NNLAB_CLI_CHECKPOINT_H

#include <stdio.h>

#include "nnlab/model.h"
#include "nnlab/optim.h"
#include "nnlab/train.h"

/* Loads the checkpoint at path for a model like *m (built, compiled or not,
 * for the workload `workload`): on success *m is replaced by the loaded model
 * (compiled for max_batch), *opt holds its optimizer state and *state the
 * training state. Errors: no training state or optimizer state in the file, or
 * an architecture other than *m's (the message names both models). */
nl_status ckpt_resume(const char *path, const char *workload, int max_batch, nl_model **m,
                      nl_optimizer *opt, nl_train_state *state, nl_error *err);

/* Writes `"history": {...}` (no trailing separator): one list per metric over
 * epochs first+1 .. epochs (stats[first .. epochs-1]); accuracy lists only for
 * cross-entropy, test lists only with a test set. Numbers as %.17g, so the
 * values are the training's to every digit. */
void ckpt_json_history(FILE *f, const nl_epoch_stats *stats, int first, int epochs, int has_test,
                       int mse);

/* A JSON number, or null for NAN and infinities (mse has no accuracy). */
void ckpt_json_number(FILE *f, const char *fmt, double v);

#endif
