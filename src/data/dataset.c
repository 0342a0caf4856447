/* Dataset memory, batching (u8 -> float scaled per batch) and the data directory. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/parallel.h"
#include "core/path.h"
#include "nnlab/data.h"

void nl_dataset_free(nl_dataset *d) {
    if (!d) return;
    free(d->images);
    free(d->labels);
    free(d->x);
    free(d->y);
    memset(d, 0, sizeof *d);
}

void nl_dataset_truncate(nl_dataset *d, size_t n) {
    if (n < d->n) d->n = n;
}

typedef struct gather_job {
    const nl_dataset *d;
    const uint32_t *idx;
    float *out;
    size_t ss;
} gather_job;

static void gather_chunk(void *ctx, size_t lo, size_t hi, size_t chunk) {
    const gather_job *j = ctx;
    const float scale = 1.0f / 255.0f;
    (void)chunk;
    for (size_t i = lo; i < hi; i++) {
        const uint8_t *src = j->d->images + (size_t)j->idx[i] * j->ss;
        float *dst = j->out + i * j->ss;
        for (size_t k = 0; k < j->ss; k++) dst[k] = (float)src[k] * scale;
    }
}

void nl_batch_gather(const nl_dataset *d, const uint32_t *idx, int count, float *out,
                     uint8_t *labels) {
    const size_t ss = nl_dataset_sample_size(d);
    if (d->x) {
        for (int i = 0; i < count; i++)
            memcpy(out + (size_t)i * ss, d->x + (size_t)idx[i] * ss, ss * sizeof(float));
    } else {
        gather_job j = {d, idx, out, ss};
        /* samples per chunk: about 16k pixels; small batches on one thread */
        const size_t grain = (size_t)count * ss >= 32768 ? (16384 + ss - 1) / ss : (size_t)count;
        nl_parallel_for((size_t)count, grain, gather_chunk, &j);
    }
    if (labels && d->labels)
        for (int i = 0; i < count; i++) labels[i] = d->labels[idx[i]];
}

void nl_batch_gather_y(const nl_dataset *d, const uint32_t *idx, int count, float *y) {
    if (!d->y) return;
    const size_t k = (size_t)d->targets;
    for (int i = 0; i < count; i++)
        memcpy(y + (size_t)i * k, d->y + (size_t)idx[i] * k, k * sizeof(float));
}

void nl_batch_prefetch(const nl_dataset *d, const uint32_t *idx, int count) {
    const size_t ss = nl_dataset_sample_size(d);
    const size_t bytes = d->x ? ss * sizeof(float) : ss;
    const char *base = d->x ? (const char *)d->x : (const char *)d->images;
    for (int i = 0; i < count; i++) {
        const char *src = base + (size_t)idx[i] * bytes;
        for (size_t k = 0; k < bytes; k += 64) __builtin_prefetch(src + k, 0, 1);
    }
}

nl_status nl_data_dir(const char *explicit_dir, char *out, size_t out_size, nl_error *err) {
    int n, given = 0;
    if (explicit_dir && *explicit_dir) {
        given = 1;
        n = snprintf(out, out_size, "%s", explicit_dir);
    } else if (getenv("XDG_CACHE_HOME") && *getenv("XDG_CACHE_HOME")) {
        n = snprintf(out, out_size, "%s/nnlab", getenv("XDG_CACHE_HOME"));
    } else if (getenv("HOME") && *getenv("HOME")) {
        n = snprintf(out, out_size, "%s/.cache/nnlab", getenv("HOME"));
    } else {
        return nl_error_set(err, NL_ENOTFOUND,
                            "no data directory given and no default one (HOME and "
                            "XDG_CACHE_HOME are unset)");
    }
    if (n < 0 || (size_t)n >= out_size)
        return nl_error_set(err, NL_EINVAL, "data directory path is too long");
    if (given && !nl_is_dir(out))
        return nl_error_set(err, NL_ENOTFOUND, "data directory '%s' is not a directory", out);
    return NL_OK;
}
