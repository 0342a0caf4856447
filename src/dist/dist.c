/* MPI collectives behind nl_train_dist (dist.h).
 *
 * Sums are in a fixed order, so that a run is bit-identical to the next for
 * the same number of ranks and threads, and every rank gets the same bits:
 *   floats (gradients): an all-to-all hands rank j the j-th of N chunks of
 *     every rank's vector; rank j adds them in rank order 0, 1, ..., N-1; an
 *     all-gather gives every rank every summed chunk. Each rank sends and
 *     receives 2(N-1)/N of the vector, what a ring all-reduce moves.
 *   doubles (metrics, synchronised batch-norm statistics: a few values): an
 *     all-gather of every rank's values, added in rank order on each rank.
 * MPI_Allreduce would leave the order to the library (it may change with the
 * message size, the algorithm the library picks, the topology). */
#include "dist/dist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef NNLAB_HAVE_MPI
#include <mpi.h>
#endif

struct dist_ctx {
    int rank, size;
    char host[256];
    nl_train_dist hooks;
    float *fbuf; /* all-to-all receive buffer: size x the largest chunk */
    size_t fcap;
    double *dbuf; /* all-gather buffer of sum_doubles */
    size_t dcap;
    int *counts, *displs, *rcounts, *rdispls; /* size each */
};

static int env_int(const char *name) {
    const char *v = getenv(name);
    if (!v || !*v) return 0;
    char *end;
    long n = strtol(v, &end, 10);
    return *end || n < 0 || n > 1000000 ? 0 : (int)n;
}

int dist_launched_size(void) {
    int n = env_int("OMPI_COMM_WORLD_SIZE"); /* Open MPI */
    if (!n) n = env_int("PMI_SIZE");         /* MPICH (Hydra), Intel MPI, Slurm PMI */
    return n > 0 ? n : 1;
}

int dist_rank(const dist_ctx *d) {
    return d ? d->rank : 0;
}
int dist_size(const dist_ctx *d) {
    return d ? d->size : 1;
}
const char *dist_host(const dist_ctx *d) {
    return d->host;
}

#ifdef NNLAB_HAVE_MPI

static nl_status mpi_status(int rc, const char *what, nl_error *err) {
    if (rc == MPI_SUCCESS) return NL_OK;
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    return nl_error_set(err, NL_EIO, "MPI %s failed: %s", what, msg);
}

static nl_status sum_floats(void *user, float *v, size_t n, nl_error *err) {
    dist_ctx *d = user;
    const int N = d->size;
    if (n / (size_t)N + 1 > (size_t)0x7fffffff)
        return nl_error_set(err, NL_EINVAL, "a gradient of %zu floats is too large for MPI", n);
    const size_t lo = n * (size_t)d->rank / (size_t)N, hi = n * (size_t)(d->rank + 1) / (size_t)N;
    const size_t mine = hi - lo;
    if ((size_t)N * (mine + 1) > d->fcap) {
        float *b = realloc(d->fbuf, (size_t)N * (mine + 1) * sizeof *b);
        if (!b) return nl_error_set(err, NL_ENOMEM, "out of memory for the gradient exchange");
        d->fbuf = b, d->fcap = (size_t)N * (mine + 1);
    }
    for (int j = 0; j < N; j++) { /* chunk j of v goes to rank j */
        const size_t a = n * (size_t)j / (size_t)N, b = n * (size_t)(j + 1) / (size_t)N;
        d->counts[j] = (int)(b - a), d->displs[j] = (int)a;
        d->rcounts[j] = (int)mine, d->rdispls[j] = (int)((size_t)j * mine);
    }
    nl_status st = mpi_status(MPI_Alltoallv(v, d->counts, d->displs, MPI_FLOAT, d->fbuf, d->rcounts,
                                            d->rdispls, MPI_FLOAT, MPI_COMM_WORLD),
                              "all-to-all of the gradients", err);
    if (st) return st;
    float *out = v + lo; /* this rank's chunk, summed in rank order */
    for (size_t k = 0; k < mine; k++) out[k] = d->fbuf[k];
    for (int j = 1; j < N; j++) {
        const float *p = d->fbuf + (size_t)j * mine;
        for (size_t k = 0; k < mine; k++) out[k] += p[k];
    }
    return mpi_status(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, v, d->counts, d->displs,
                                     MPI_FLOAT, MPI_COMM_WORLD),
                      "all-gather of the gradients", err);
}

static nl_status sum_doubles(void *user, double *v, size_t n, nl_error *err) {
    dist_ctx *d = user;
    if (n > (size_t)0x7fffffff / (size_t)d->size)
        return nl_error_set(err, NL_EINVAL, "%zu values are too many to sum over MPI", n);
    if (n * (size_t)d->size > d->dcap) {
        double *b = realloc(d->dbuf, n * (size_t)d->size * sizeof *b);
        if (!b) return nl_error_set(err, NL_ENOMEM, "out of memory for the metric exchange");
        d->dbuf = b, d->dcap = n * (size_t)d->size;
    }
    nl_status st = mpi_status(
        MPI_Allgather(v, (int)n, MPI_DOUBLE, d->dbuf, (int)n, MPI_DOUBLE, MPI_COMM_WORLD),
        "all-gather of the metrics", err);
    if (st) return st;
    for (size_t k = 0; k < n; k++) {
        double s = d->dbuf[k];
        for (int j = 1; j < d->size; j++) s += d->dbuf[(size_t)j * n + k];
        v[k] = s;
    }
    return NL_OK;
}

static nl_status broadcast(void *user, float *v, size_t n, nl_error *err) {
    (void)user;
    for (size_t at = 0; at < n;) { /* MPI counts are ints */
        const size_t part = n - at < 0x40000000 ? n - at : 0x40000000;
        nl_status st = mpi_status(MPI_Bcast(v + at, (int)part, MPI_FLOAT, 0, MPI_COMM_WORLD),
                                  "broadcast from rank 0", err);
        if (st) return st;
        at += part;
    }
    return NL_OK;
}

void dist_sum_bn(void *user, double *v, size_t n) {
    dist_ctx *d = user;
    nl_error err = {0};
    if (sum_doubles(d, v, n, &err)) dist_fail(d, "train", err.msg);
}

_Noreturn void dist_fail(dist_ctx *d, const char *cmd, const char *msg) {
    fprintf(stderr, "nnlab %s: rank %d of %d on host %s: %s\n", cmd, d->rank, d->size, d->host,
            msg);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
    _exit(1); /* MPI_Abort does not return */
}

int dist_start(const char *cmd, dist_ctx **out) {
    *out = NULL;
    if (dist_launched_size() <= 1) return 0;
    int provided = 0, rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
    if (rc != MPI_SUCCESS) {
        fprintf(stderr, "nnlab %s: MPI did not start (error %d)\n", cmd, rc);
        return -1;
    }
    dist_ctx *d = calloc(1, sizeof *d);
    int size = 0;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (d) d->counts = calloc((size_t)size * 4, sizeof *d->counts);
    if (!d || !d->counts) {
        fprintf(stderr, "nnlab %s: out of memory\n", cmd);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    d->size = size;
    MPI_Comm_rank(MPI_COMM_WORLD, &d->rank);
    d->displs = d->counts + size, d->rcounts = d->displs + size, d->rdispls = d->rcounts + size;
    if (gethostname(d->host, sizeof d->host - 1) != 0) strcpy(d->host, "?");
    d->hooks = (nl_train_dist){.rank = d->rank,
                               .size = d->size,
                               .user = d,
                               .sum_floats = sum_floats,
                               .sum_doubles = sum_doubles,
                               .broadcast = broadcast};
    *out = d;
    return 0;
}

const nl_train_dist *dist_train_hooks(dist_ctx *d) {
    return d ? &d->hooks : NULL;
}

void dist_end(dist_ctx *d) {
    if (!d) return;
    MPI_Finalize();
    free(d->fbuf), free(d->dbuf), free(d->counts), free(d);
}

#else /* no MPI in this build */

int dist_start(const char *cmd, dist_ctx **out) {
    *out = NULL;
    const int n = dist_launched_size();
    if (n <= 1) return 0;
    /* each process would train alone, all writing the same files */
    if (env_int("OMPI_COMM_WORLD_RANK") == 0 && env_int("PMI_RANK") == 0)
        fprintf(stderr,
                "nnlab %s: this nnlab was built without MPI, but it was started as one of %d "
                "processes (by mpirun or mpiexec), which would each train alone. Rebuild nnlab "
                "with MPI (apt-get install libopenmpi-dev, then cmake again: see "
                "docs/distributed.md), or run it without mpirun.\n",
                cmd, n);
    return -1;
}

const nl_train_dist *dist_train_hooks(dist_ctx *d) {
    (void)d;
    return NULL;
}

void dist_sum_bn(void *user, double *v, size_t n) {
    (void)user, (void)v, (void)n;
}

_Noreturn void dist_fail(dist_ctx *d, const char *cmd, const char *msg) {
    (void)d;
    fprintf(stderr, "nnlab %s: %s\n", cmd, msg);
    exit(1);
}

void dist_end(dist_ctx *d) {
    (void)d;
}

#endif
