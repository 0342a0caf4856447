/* The MLPerf training log's standard keys in `nnlab train --events`: the
 * submission fields, the run's hyperparameters and sample counts that the
 * official compliance checker requires (mlperf/nnlab.yaml is nnlab's rules
 * file for it; the per-epoch block/eval keys are written by the loop). */
#ifndef NNLAB_CLI_MLPERF_H
#define NNLAB_CLI_MLPERF_H

#include <stddef.h>
#include <stdint.h>

#include "nnlab/train.h"

typedef struct cli_mlperf {
    const char *org;      /* --submission-org, default "nnlab" */
    const char *platform; /* --submission-platform, default "<machine>, N cores" */
    const char *division; /* --submission-division open|closed, default "open" */
    const char *status;   /* --submission-status, default "research" */
} cli_mlperf;

/* Takes one --submission-* option at argv[*i] (both "--opt V" and
 * "--opt=V"): 1 when it was one (value stored in *s), -1 on a missing or bad
 * value (message printed), 0 when argv[*i] is none of them. */
int cli_mlperf_option(const char *cmd, int argc, char **argv, int *i, cli_mlperf *s);

/* Between init_start and init_stop: submission_*, cache_clear and the run's
 * configuration (global_batch_size, opt_name, opt_base_learning_rate, seed,
 * precision and parallelism, config_filename = the workload). */
void cli_mlperf_log_config(nl_events *ev, const cli_mlperf *s, const char *workload,
                           const char *opt_name, double lr, long batch, uint64_t seed);
/* After the data is loaded: train_samples and eval_samples. */
void cli_mlperf_log_samples(nl_events *ev, size_t train, size_t eval);

#endif
