/* Learning-rate schedules: the formula is stated in nnlab/optim.h, and every
 * contestant computes exactly it. */
#include <math.h>
#include <string.h>

#include "nnlab/optim.h"

static const double PI = 3.14159265358979323846;

float nl_schedule_lr(const nl_schedule *sch, float lr, uint64_t s, uint64_t steps_per_epoch,
                     uint64_t total_steps) {
    if (!sch) return lr;
    const uint64_t spe = steps_per_epoch ? steps_per_epoch : 1;
    const uint64_t W = sch->warmup > 0 ? (uint64_t)sch->warmup : 0;
    double r = (double)lr;
    switch (sch->kind) {
    case NL_SCHED_CONSTANT:
        break;
    case NL_SCHED_STEP: {
        const uint64_t size = sch->step_size > 0 ? (uint64_t)sch->step_size : 1;
        const double gamma = sch->gamma != 0.0f ? (double)sch->gamma : (double)0.1f;
        r *= pow(gamma, (double)(s / spe / size));
        break;
    }
    case NL_SCHED_COSINE: {
        const double num = s > W ? (double)(s - W) : 0.0;
        const double den = total_steps > W ? (double)(total_steps - W) : 1.0;
        r *= 0.5 * (1.0 + cos(PI * num / den));
        break;
    }
    }
    if (s < W) r *= (double)(s + 1) / (double)W;
    return (float)r;
}

nl_status nl_schedule_parse(const char *name, nl_schedule_kind *kind, nl_error *err) {
    if (!strcmp(name, "constant"))
        *kind = NL_SCHED_CONSTANT;
    else if (!strcmp(name, "step"))
        *kind = NL_SCHED_STEP;
    else if (!strcmp(name, "cosine"))
        *kind = NL_SCHED_COSINE;
    else
        return nl_error_set(err, NL_EINVAL,
                            "unknown schedule '%s' (expected constant, step or cosine)", name);
    return NL_OK;
}

const char *nl_schedule_name(nl_schedule_kind kind) {
    switch (kind) {
    case NL_SCHED_CONSTANT:
        return "constant";
    case NL_SCHED_STEP:
        return "step";
    case NL_SCHED_COSINE:
        return "cosine";
    }
    return "unknown";
}

nl_status nl_schedule_check(const nl_schedule *sch, nl_error *err) {
    if (sch->kind != NL_SCHED_CONSTANT && sch->kind != NL_SCHED_STEP &&
        sch->kind != NL_SCHED_COSINE)
        return nl_error_set(err, NL_EINVAL,
                            "unknown schedule kind %d (0 constant, 1 step, 2 cosine)",
                            (int)sch->kind);
    if (sch->warmup < 0)
        return nl_error_set(err, NL_EINVAL, "schedule warmup must be >= 0 steps (got %d)",
                            sch->warmup);
    if (sch->step_size < 0)
        return nl_error_set(err, NL_EINVAL, "schedule step_size must be >= 1 epoch (got %d)",
                            sch->step_size);
    if (!(sch->gamma >= 0.0f) || !isfinite(sch->gamma))
        return nl_error_set(err, NL_EINVAL, "schedule gamma must be a finite number >= 0 (got %g)",
                            (double)sch->gamma);
    return NL_OK;
}
