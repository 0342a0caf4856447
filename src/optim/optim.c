/* Optimizer configuration and state (the update rules are in adam.c, sgd.c). */
#include <stdlib.h>
#include <string.h>

#include "core/parallel.h"
#include "nnlab/optim.h"
#include "optim/optim_impl.h"

nl_optim_config nl_optim_defaults(nl_optim_kind kind) {
    nl_optim_config c = {.kind = kind, .lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-7f};
    if (kind == NL_OPT_ADAMW) c.weight_decay = 0.01f;
    if (kind == NL_OPT_SGD) c.lr = 0.01f;
    return c;
}

const char *nl_optim_name(nl_optim_kind kind) {
    switch (kind) {
    case NL_OPT_ADAM:
        return "adam";
    case NL_OPT_ADAMW:
        return "adamw";
    case NL_OPT_SGD:
        return "sgd";
    }
    return "unknown";
}

nl_status nl_optim_parse(const char *name, nl_optim_kind *kind, nl_error *err) {
    if (!strcmp(name, "adam"))
        *kind = NL_OPT_ADAM;
    else if (!strcmp(name, "adamw"))
        *kind = NL_OPT_ADAMW;
    else if (!strcmp(name, "sgd"))
        *kind = NL_OPT_SGD;
    else
        return nl_error_set(err, NL_EINVAL, "unknown optimizer '%s' (expected adam, adamw or sgd)",
                            name);
    return NL_OK;
}

int nl_optim_state_per_param(const nl_optim_config *cfg) {
    if (cfg->kind == NL_OPT_SGD) return cfg->momentum != 0.0f ? 1 : 0;
    return 2;
}

nl_status nl_optim_init(nl_optimizer *o, const nl_optim_config *cfg, size_t nparams,
                        nl_error *err) {
    memset(o, 0, sizeof *o);
    if (!(cfg->lr > 0.0f))
        return nl_error_set(err, NL_EINVAL, "learning rate must be positive (got %g)",
                            (double)cfg->lr);
    if (cfg->kind != NL_OPT_SGD &&
        !(cfg->beta1 >= 0 && cfg->beta1 < 1 && cfg->beta2 >= 0 && cfg->beta2 < 1 && cfg->eps > 0))
        return nl_error_set(
            err, NL_EINVAL,
            "adam: beta1, beta2 must be in [0, 1) and eps positive (got %g, %g, %g)",
            (double)cfg->beta1, (double)cfg->beta2, (double)cfg->eps);
    if (cfg->momentum < 0 || cfg->momentum >= 1)
        return nl_error_set(err, NL_EINVAL, "sgd: momentum must be in [0, 1) (got %g)",
                            (double)cfg->momentum);
    if (cfg->weight_decay < 0)
        return nl_error_set(err, NL_EINVAL, "weight decay must be >= 0 (got %g)",
                            (double)cfg->weight_decay);
    if (cfg->kind != NL_OPT_ADAM && cfg->kind != NL_OPT_ADAMW && cfg->kind != NL_OPT_SGD)
        return nl_error_set(err, NL_EINVAL, "unknown optimizer kind %d (0 adam, 1 adamw, 2 sgd)",
                            (int)cfg->kind);
    /* an option the update rule would ignore is an error, not silently dropped */
    if (cfg->weight_decay != 0 && cfg->kind != NL_OPT_ADAMW)
        return nl_error_set(err, NL_EINVAL,
                            "%s: weight_decay %g is not used by it (decoupled weight decay is "
                            "adamw's)",
                            nl_optim_name(cfg->kind), (double)cfg->weight_decay);
    if (cfg->momentum != 0 && cfg->kind != NL_OPT_SGD)
        return nl_error_set(err, NL_EINVAL, "%s: momentum %g is not used by it (momentum is sgd's)",
                            nl_optim_name(cfg->kind), (double)cfg->momentum);
    o->cfg = *cfg;
    o->n = nparams;
    int k = nl_optim_state_per_param(cfg);
    if (k >= 1 && !(o->m = calloc(nparams ? nparams : 1, sizeof(float)))) goto oom;
    if (k >= 2 && !(o->v = calloc(nparams ? nparams : 1, sizeof(float)))) goto oom;
    return NL_OK;
oom:
    nl_optim_free(o);
    return nl_error_set(err, NL_ENOMEM, "out of memory for optimizer state of %zu parameters",
                        nparams);
}

void nl_optim_free(nl_optimizer *o) {
    if (!o) return;
    free(o->m);
    free(o->v);
    o->m = o->v = NULL;
}

void nl_optim_step_lr(nl_optimizer *o, float lr, float *params, const float *grads) {
    o->t++;
    switch (o->cfg.kind) {
    case NL_OPT_ADAM:
    case NL_OPT_ADAMW:
        adam_step(o, lr, params, grads);
        break;
    case NL_OPT_SGD:
        sgd_step(o, lr, params, grads);
        break;
    }
}

void nl_optim_step(nl_optimizer *o, float *params, const float *grads) {
    nl_optim_step_lr(o, o->cfg.lr, params, grads);
}

typedef struct range_job {
    optim_range_fn fn;
    const void *k;
} range_job;

static void range_chunk(void *ctx, size_t lo, size_t hi, size_t chunk) {
    const range_job *j = ctx;
    (void)chunk;
    j->fn(j->k, (long)lo, (long)hi);
}

/* Contiguous ranges, a multiple of 16 long, about two per thread: the pool
 * gives thread t the same ones step after step while all threads run. */
void optim_for_ranges(const nl_optimizer *o, optim_range_fn fn, const void *k) {
    const size_t n = o->n;
    range_job j = {fn, k};
    const size_t grain = n >= 65536 ? nl_parallel_grain(n, nl_parallel_parts(n, 64), 16) : n;
    nl_parallel_for(n, grain, range_chunk, &j);
}
