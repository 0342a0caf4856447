/* Data-parallel training over MPI for `nnlab train` (docs/distributed.md).
 *
 * The training core knows nothing of MPI: it takes the hooks of
 * nl_train_dist (nnlab/train.h) and nl_model_set_bn_sync (nnlab/model.h),
 * and this module implements them with MPI collectives. It is part of the
 * program, not of the libraries, and uses MPI only when CMake found it
 * (NNLAB_HAVE_MPI); without MPI it still recognises a start under mpirun
 * with more than one process and says that it cannot take part. */
#ifndef NNLAB_DIST_H
#define NNLAB_DIST_H

#include <stddef.h>

#include "nnlab/train.h"

typedef struct dist_ctx dist_ctx;

/* The processes the launcher (mpirun, mpiexec) started, from its environment
 * (OMPI_COMM_WORLD_SIZE, PMI_SIZE): 1 when not started by one. */
int dist_launched_size(void);

/* Starts MPI when this process is one of several started by mpirun: *out is
 * then the context (else NULL: one process, as without MPI). Returns 0, or -1
 * with a message on stderr naming cmd (this build has no MPI, or MPI failed
 * to start). */
int dist_start(const char *cmd, dist_ctx **out);

int dist_rank(const dist_ctx *d);
int dist_size(const dist_ctx *d);
/* This host's name, for messages. */
const char *dist_host(const dist_ctx *d);

/* The loop's hooks over this context. */
const nl_train_dist *dist_train_hooks(dist_ctx *d);
/* --sync-bn: the sum for nl_model_set_bn_sync (user: the context). */
void dist_sum_bn(void *user, double *v, size_t n);

/* A failure on this rank ends the whole job: the message, naming the rank and
 * the host, on stderr, then MPI_Abort with status 1 (never returns). */
_Noreturn void dist_fail(dist_ctx *d, const char *cmd, const char *msg);

/* Ends MPI after a successful run (every rank calls it) and frees d. */
void dist_end(dist_ctx *d);

#endif
