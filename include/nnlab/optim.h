/* nnlab/optim.h - optimizers over the flat parameter slab.
 *
 * Adam:  m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
 *        p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
 * AdamW: Adam plus decoupled weight decay applied first: p -= lr * wd * p
 * SGD:   with momentum mu: u = mu u + g; p -= lr u   (mu = 0: p -= lr g) */
#ifndef NNLAB_OPTIM_H
#define NNLAB_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "nnlab/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum nl_optim_kind { NL_OPT_ADAM = 0, NL_OPT_ADAMW = 1, NL_OPT_SGD = 2 } nl_optim_kind;

typedef struct nl_optim_config {
    nl_optim_kind kind;
    float lr;
    float beta1, beta2, eps; /* adam, adamw */
    float weight_decay;      /* adamw */
    float momentum;          /* sgd */
} nl_optim_config;

typedef struct nl_optimizer {
    nl_optim_config cfg;
    size_t n;     /* parameters */
    uint64_t t;   /* steps taken */
    float *m, *v; /* adam: moments; sgd: m is the momentum buffer (NULL when mu = 0) */
} nl_optimizer;

/* Defaults: Adam/AdamW lr 1e-3, b1 0.9, b2 0.999, eps 1e-7, AdamW wd 0.01; SGD lr 0.01.
 * nl_optim_init refuses options the kind does not use: weight_decay other than 0
 * except for adamw, momentum other than 0 except for sgd. */
NL_API nl_optim_config nl_optim_defaults(nl_optim_kind kind);
NL_API const char *nl_optim_name(nl_optim_kind kind);
/* "adam", "adamw", "sgd" -> kind. */
NL_API nl_status nl_optim_parse(const char *name, nl_optim_kind *kind, nl_error *err);

NL_API nl_status nl_optim_init(nl_optimizer *o, const nl_optim_config *cfg, size_t nparams,
                               nl_error *err);
NL_API void nl_optim_free(nl_optimizer *o);
/* One update of params with grads (both nparams floats) at the learning rate
 * cfg.lr. */
NL_API void nl_optim_step(nl_optimizer *o, float *params, const float *grads);
/* The same at learning rate lr (a schedule's, nl_schedule_lr); cfg.lr stays
 * the base rate. nl_optim_step(o, p, g) is nl_optim_step_lr(o, o->cfg.lr, p, g). */
NL_API void nl_optim_step_lr(nl_optimizer *o, float lr, float *params, const float *grads);
/* Floats of state per parameter (adam: 2, sgd with momentum: 1, plain sgd: 0). */
NL_API int nl_optim_state_per_param(const nl_optim_config *cfg);

/* ---- learning-rate schedules ----------------------------------------------
 * For optimizer step s (0-based, counting across epochs), E = s / steps_per_epoch
 * (integer division) the epoch, W = warmup, T = total_steps:
 *   constant: lr
 *   step:     lr * gamma^(E / step_size)            (integer division)
 *   cosine:   lr * 0.5 * (1 + cos(pi * max(s - W, 0) / max(T - W, 1)))
 * then, while s < W, times (s + 1) / W (linear warm-up). Computed in double,
 * rounded to float once. Every contestant implements exactly this. */
typedef enum nl_schedule_kind {
    NL_SCHED_CONSTANT = 0,
    NL_SCHED_STEP = 1,
    NL_SCHED_COSINE = 2,
} nl_schedule_kind;

typedef struct nl_schedule {
    nl_schedule_kind kind; /* zeroed: constant, no warm-up */
    int warmup;            /* steps of linear warm-up (0: none) */
    int step_size;         /* step: epochs between decays (0: taken as 1) */
    float gamma;           /* step: factor per decay (0: taken as 0.1) */
} nl_schedule;

/* The learning rate of step s. */
NL_API float nl_schedule_lr(const nl_schedule *sch, float lr, uint64_t s, uint64_t steps_per_epoch,
                            uint64_t total_steps);
/* "constant", "step", "cosine" -> kind. */
NL_API nl_status nl_schedule_parse(const char *name, nl_schedule_kind *kind, nl_error *err);
NL_API const char *nl_schedule_name(nl_schedule_kind kind);
/* NL_EINVAL naming the field: an unknown kind, warmup or step_size < 0, gamma
 * negative or not finite. */
NL_API nl_status nl_schedule_check(const nl_schedule *sch, nl_error *err);

#ifdef __cplusplus
}
#endif
#endif
