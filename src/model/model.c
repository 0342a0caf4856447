/* The model: a pipeline of layers over three slabs (parameters, gradients,
 * state) and one activation arena planned at compile time.
 *
 * Compile lowers the layers into steps (layers/step.h: one layer, or a few run
 * as one); forward and backward run the steps in order. Unless
 * nl_compile_options.no_fuse is set, layers are fused where a step kind
 * matches them; with it every step is one layer.
 *
 * Arena layout for max batch Bm (all float, 64-byte aligned pieces), from the
 * steps:
 *   act[i]   output of layer i-1 (act[0] is the caller's input, not copied),
 *            for the outputs a step stores: its last layer's and those its
 *            kind names; in-place layers (flatten) alias their output with
 *            their input
 *   grad A/B two ping-pong buffers of the largest activation between steps, for
 *            dL/dact; each step's dout and din buffer is planned (no gradient
 *            inside a step is stored)
 *   scratch  every layer's scratch, one after another */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "layers/activation.h"
#include "layers/layer.h"
#include "layers/mse.h"
#include "layers/softmax_xent.h"
#include "layers/step.h"
#include "model/steps.h"
#include "nnlab/model.h"

#define NL_ALIGN_FLOATS 16 /* 64 bytes */

struct nl_model {
    nl_shape input;
    nl_layer *layers;
    int nlayers, cap;
    nl_step *steps; /* the plan: nsteps steps over the layers */
    int nsteps;
    nl_compile_options opt;
    nl_error build_err; /* first builder error (sticky) */
    nl_loss loss;
    int error_layer; /* the layer the last compile failed at, or -1 */
    int compiled;
    int max_batch;
    size_t nparams, nstate, nscratch;
    float *params, *grads, *state; /* slabs */
    float *arena;                  /* activations + gradients + scratch */
    size_t arena_floats;
    float **act;     /* nlayers + 1 pointers into the arena (act[0] set per call; NULL:
                        not stored, or aliased) */
    int *src;        /* act[src[i]] holds layer i's input (i = nlayers: the output) */
    float *gbuf[2];  /* ping-pong gradient buffers */
    size_t max_grad; /* floats per gradient buffer at max batch */
    int last_batch;  /* batch of the last forward */
    int last_training;
    uint64_t step, seed;
    uint64_t sample0; /* nl_model_set_sample_offset */
    nl_sum_fn bn_sum; /* nl_model_set_bn_sync */
    void *bn_user;
};

static size_t align_up(size_t n) {
    return (n + NL_ALIGN_FLOATS - 1) / NL_ALIGN_FLOATS * NL_ALIGN_FLOATS;
}

/* 64-byte aligned; zeroed when zero is set (the activation arena is not: its
 * pages are only touched, and so only count in RSS, as far as batches reach). */
static float *alloc_floats_z(size_t n, int zero) {
    if (n == 0) n = NL_ALIGN_FLOATS;
    void *p = NULL;
    if (posix_memalign(&p, 64, n * sizeof(float)) != 0) return NULL;
    if (zero) memset(p, 0, n * sizeof(float));
    return p;
}
static float *alloc_floats(size_t n) {
    return alloc_floats_z(n, 1);
}

nl_model *nl_model_new(int h, int w, int c) {
    nl_model *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->input = (nl_shape){h, w, c};
    m->error_layer = -1;
    if (h <= 0 || w <= 0 || c <= 0 || (size_t)h * w * c > (1u << 28))
        nl_error_set(&m->build_err, NL_EINVAL,
                     "model input shape %dx%dx%d: every dimension must be positive and the "
                     "product at most 2^28",
                     h, w, c);
    return m;
}

static void free_plan(nl_model *m) {
    free(m->arena);
    free(m->act);
    free(m->src);
    m->arena = NULL;
    m->act = NULL;
    m->src = NULL;
}

void nl_model_free(nl_model *m) {
    if (!m) return;
    free_plan(m);
    free(m->params);
    free(m->grads);
    free(m->state);
    free(m->layers);
    free(m->steps);
    free(m);
}

void nl_model_add(nl_model *m, const nl_layer_spec *spec) {
    if (!m || m->build_err.code) return;
    if (m->compiled) {
        nl_error_set(&m->build_err, NL_EINVAL, "cannot add a layer to a compiled model");
        return;
    }
    if (m->nlayers == m->cap) {
        int cap = m->cap ? m->cap * 2 : 8;
        nl_layer *p = realloc(m->layers, (size_t)cap * sizeof *p);
        if (!p) {
            nl_error_set(&m->build_err, NL_ENOMEM, "out of memory adding layer %d", m->nlayers);
            return;
        }
        m->layers = p;
        m->cap = cap;
    }
    nl_layer *l = &m->layers[m->nlayers++];
    memset(l, 0, sizeof *l);
    l->spec = *spec;
}

void nl_model_set_loss(nl_model *m, nl_loss loss) {
    if (!m || m->build_err.code) return;
    if (m->compiled)
        nl_error_set(&m->build_err, NL_EINVAL, "cannot change the loss of a compiled model");
    else if (loss != NL_LOSS_CROSSENTROPY && loss != NL_LOSS_MSE)
        nl_error_set(&m->build_err, NL_EINVAL, "unknown loss %d (0 crossentropy, 1 mse)", loss);
    else
        m->loss = loss;
}

nl_loss nl_model_loss_kind(const nl_model *m) {
    return m->loss;
}

int nl_model_error_layer(const nl_model *m) {
    return m ? m->error_layer : -1;
}

void nl_model_dense(nl_model *m, int units, nl_act act) {
    nl_layer_spec s = {.kind = NL_LAYER_DENSE, .units = units, .act = act};
    nl_model_add(m, &s);
}

void nl_model_relu(nl_model *m) {
    nl_layer_spec s = {.kind = NL_LAYER_RELU};
    nl_model_add(m, &s);
}

void nl_model_dropout(nl_model *m, float rate) {
    nl_layer_spec s = {.kind = NL_LAYER_DROPOUT, .rate = rate};
    nl_model_add(m, &s);
}

nl_status nl_model_set_dropout(nl_model *m, float rate, nl_error *err) {
    if (!(rate >= 0.0f && rate < 1.0f))
        return nl_error_set(err, NL_EINVAL, "dropout rate must be in [0, 1) (got %g)",
                            (double)rate);
    if (m->compiled)
        return nl_error_set(err, NL_EINVAL, "cannot change the dropout rate of a compiled model");
    for (int i = 0; i < m->nlayers; i++)
        if (m->layers[i].spec.kind == NL_LAYER_DROPOUT) m->layers[i].spec.rate = rate;
    return NL_OK;
}

void nl_model_flatten(nl_model *m) {
    nl_layer_spec s = {.kind = NL_LAYER_FLATTEN};
    nl_model_add(m, &s);
}

void nl_model_conv2d(nl_model *m, int filters, int kernel, int stride, nl_padding pad, nl_act act) {
    nl_layer_spec s = {.kind = NL_LAYER_CONV2D, .units = filters, .act = act};
    s.kernel = kernel, s.stride = stride, s.padding = pad;
    nl_model_add(m, &s);
}

void nl_model_batchnorm(nl_model *m, float eps, float momentum) {
    nl_layer_spec s = {.kind = NL_LAYER_BATCHNORM, .eps = eps, .momentum = momentum};
    nl_model_add(m, &s);
}

void nl_model_maxpool2d(nl_model *m, int kernel, int stride) {
    nl_layer_spec s = {.kind = NL_LAYER_MAXPOOL2D, .kernel = kernel, .stride = stride};
    nl_model_add(m, &s);
}

void nl_model_avgpool2d(nl_model *m, int kernel, int stride) {
    nl_layer_spec s = {.kind = NL_LAYER_AVGPOOL2D, .kernel = kernel, .stride = stride};
    nl_model_add(m, &s);
}

void nl_model_globalavgpool2d(nl_model *m) {
    nl_layer_spec s = {.kind = NL_LAYER_GLOBALAVGPOOL2D};
    nl_model_add(m, &s);
}

void nl_model_activation(nl_model *m, nl_act act, float alpha) {
    nl_layer_spec s = {.kind = NL_LAYER_ACTIVATION, .act = act, .alpha = alpha};
    nl_model_add(m, &s);
}

/* Whether layer l applies spec.act (a layer that fuses one, or an activation layer). */
static int applies_act(const nl_layer *l) {
    return l->ops->fuses_act || l->spec.kind == NL_LAYER_ACTIVATION;
}

const char *nl_layer_kind_name(int kind) {
    const nl_layer_ops *ops = nl_layer_ops_find(kind);
    return ops ? ops->name : "unknown";
}

/* Lowers the layers into steps (fused unless no_fuse) and plans which gradient
 * buffer each step reads and writes: from the loss back, each step's din is
 * the buffer its dout is not in, except an in-place step's. */
static void plan_steps(nl_model *m) {
    m->nsteps = nl_steps_lower(m->layers, m->nlayers, !m->opt.no_fuse, m->steps);
    int cur = 0; /* the last step's dout: where the loss writes dL/dlogits */
    for (int k = m->nsteps - 1; k >= 0; k--) {
        nl_step *s = &m->steps[k];
        s->gout = cur;
        if (s->first == 0) {
            s->gin = -1;
        } else if (s->in_place) {
            s->gin = cur;
        } else {
            s->gin = cur ^ 1;
            cur ^= 1;
        }
    }
}

/* Whether layer j of step s has an output buffer of its own: not in place, and
 * the step's last layer or one whose output its kind stores. */
static int output_stored(const nl_model *m, const nl_step *s, int j) {
    return !m->layers[s->first + j].ops->in_place &&
           (j == s->count - 1 || (s->ops->stored >> j & 1u));
}

static nl_status plan_memory(nl_model *m, int max_batch, nl_error *err) {
    free_plan(m);
    const int n = m->nlayers;
    m->act = calloc((size_t)n + 1, sizeof *m->act);
    m->src = calloc((size_t)n + 1, sizeof *m->src);
    if (!m->act || !m->src) {
        free_plan(m);
        return nl_error_set(err, NL_ENOMEM, "out of memory planning %d layers", n);
    }
    /* which buffer holds each layer's input; the outputs a step stores */
    size_t max_grad = (size_t)max_batch * nl_shape_size(m->input);
    size_t act_total = 0, scratch_total = 0;
    for (int k = 0; k < m->nsteps; k++) {
        const nl_step *s = &m->steps[k];
        for (int j = 0; j < s->count; j++) {
            const int i = s->first + j;
            const size_t a = (size_t)max_batch * nl_shape_size(m->layers[i].out);
            m->src[i + 1] = m->layers[i].ops->in_place ? m->src[i] : i + 1;
            if (output_stored(m, s, j)) act_total += align_up(a);
            if (j == s->count - 1 && a > max_grad) max_grad = a;
        }
    }
    for (int i = 0; i < n; i++) {
        nl_layer *l = &m->layers[i];
        l->scratch_off = scratch_total;
        if (l->ops->scratch_floats) scratch_total += align_up(l->ops->scratch_floats(l, max_batch));
    }
    max_grad = align_up(max_grad);
    m->arena_floats = act_total + 2 * max_grad + scratch_total;
    m->arena = alloc_floats_z(m->arena_floats, 0);
    if (!m->arena) {
        free_plan(m);
        return nl_error_set(err, NL_ENOMEM,
                            "out of memory planning %zu MiB of activations for batch %d",
                            m->arena_floats * 4 >> 20, max_batch);
    }
    float *p = m->arena;
    for (int k = 0; k < m->nsteps; k++) {
        const nl_step *s = &m->steps[k];
        for (int j = 0; j < s->count; j++) {
            const int i = s->first + j;
            if (!output_stored(m, s, j)) continue; /* aliased to its input's, or never written */
            m->act[i + 1] = p;
            p += align_up((size_t)max_batch * nl_shape_size(m->layers[i].out));
        }
    }
    m->gbuf[0] = p;
    m->gbuf[1] = p + max_grad;
    p += 2 * max_grad;
    m->nscratch = scratch_total;
    for (int i = 0; i < n; i++)
        m->layers[i].scratch_off = (size_t)(p - m->arena) + m->layers[i].scratch_off;
    m->max_grad = max_grad;
    m->max_batch = max_batch;
    return NL_OK;
}

nl_status nl_model_compile(nl_model *m, int max_batch, nl_error *err) {
    if (!m) return nl_error_set(err, NL_EINVAL, "model is NULL");
    if (m->build_err.code) {
        if (err) *err = m->build_err;
        return m->build_err.code;
    }
    if (m->compiled) return nl_model_set_max_batch(m, max_batch, err);
    if (max_batch <= 0 || max_batch > 65536)
        return nl_error_set(err, NL_EINVAL, "batch size %d: expected 1..65536", max_batch);
    if (m->nlayers == 0) return nl_error_set(err, NL_EINVAL, "model has no layers");
    nl_shape cur = m->input;
    size_t np = 0, ns = 0;
    for (int i = 0; i < m->nlayers; i++) {
        nl_layer *l = &m->layers[i];
        m->error_layer = i; /* until its checks pass */
        l->ops = nl_layer_ops_find(l->spec.kind);
        if (!l->ops)
            return nl_error_set(err, NL_ENOTSUP, "layer %d: kind %d (%s) is not available", i,
                                l->spec.kind, nl_layer_kind_name(l->spec.kind));
        l->in = cur;
        l->opt = m->opt; /* plan chooses algorithms from the options */
        nl_status st = l->ops->plan(l, err);
        if (st) return nl_error_prefix(err, "layer %d (%s)", i, l->ops->name);
        const nl_activation *act = applies_act(l) ? nl_activation_find(l->spec.act) : NULL;
        if (act && act->with_loss && i != m->nlayers - 1)
            return nl_error_set(err, NL_EINVAL,
                                "layer %d (%s): %s is only supported as the last layer (fused "
                                "with the crossentropy loss)",
                                i, l->ops->name, act->name);
        if (nl_shape_size(l->out) == 0 || nl_shape_size(l->out) > (1u << 28))
            return nl_error_set(err, NL_EINVAL,
                                "layer %d (%s): output shape %dx%dx%d is empty or too large", i,
                                l->ops->name, l->out.h, l->out.w, l->out.c);
        l->param_off = np;
        np += align_up(l->nparams);
        l->state_off = ns;
        ns += align_up(l->nstate);
        cur = l->out;
    }
    for (int i = 0; i < m->nlayers; i++) m->layers[i].opt = m->opt;
    /* the loss against the last layer (m->error_layer is still its index) */
    const int li = m->nlayers - 1;
    const nl_layer *last = &m->layers[li];
    const nl_activation *last_act = applies_act(last) ? nl_activation_find(last->spec.act) : NULL;
    const size_t nout = nl_shape_size(last->out);
    if (m->loss == NL_LOSS_CROSSENTROPY) {
        if (!last_act || !last_act->with_loss)
            return nl_error_set(err, NL_EINVAL,
                                "layer %d (%s): the crossentropy loss needs softmax on the last "
                                "layer (dense N softmax, or a softmax layer)",
                                li, last->ops->name);
        if (nout > 256)
            return nl_error_set(err, NL_EINVAL,
                                "layer %d (%s): crossentropy over %zu classes: at most 256 "
                                "(labels are bytes)",
                                li, last->ops->name, nout);
    } else if (last_act && last_act->with_loss) {
        return nl_error_set(err, NL_EINVAL,
                            "layer %d (%s): mse with softmax: the mse loss takes the outputs as "
                            "they are (end in a linear layer)",
                            li, last->ops->name);
    }
    m->error_layer = -1;
    free(m->steps);
    m->steps = malloc((size_t)m->nlayers * sizeof *m->steps);
    if (!m->steps)
        return nl_error_set(err, NL_ENOMEM, "out of memory planning %d layers", m->nlayers);
    plan_steps(m);
    m->nparams = np;
    m->nstate = ns;
    m->params = alloc_floats(np);
    m->grads = alloc_floats(np);
    m->state = alloc_floats(ns);
    if (!m->params || !m->grads || !m->state)
        return nl_error_set(err, NL_ENOMEM, "out of memory for %zu parameters", np);
    nl_status st = plan_memory(m, max_batch, err);
    if (st) return st;
    m->compiled = 1;
    nl_model_init(m, 0);
    return NL_OK;
}

nl_status nl_model_set_max_batch(nl_model *m, int max_batch, nl_error *err) {
    if (!m->compiled) return nl_model_compile(m, max_batch, err);
    if (max_batch <= 0 || max_batch > 65536)
        return nl_error_set(err, NL_EINVAL, "batch size %d: expected 1..65536", max_batch);
    if (max_batch <= m->max_batch) return NL_OK; /* grow only */
    return plan_memory(m, max_batch, err);
}

nl_status nl_model_set_options(nl_model *m, const nl_compile_options *opt, nl_error *err) {
    if (!m || !opt) return nl_error_set(err, NL_EINVAL, "model or options is NULL");
    if (opt->no_fuse != 0 && opt->no_fuse != 1)
        return nl_error_set(err, NL_EINVAL, "option no_fuse %d: expected 0 or 1", opt->no_fuse);
    if (opt->conv_algo != NL_CONV_AUTO && opt->conv_algo != NL_CONV_DIRECT)
        return nl_error_set(err, NL_EINVAL, "option conv_algo %d: expected auto (0) or direct (1)",
                            opt->conv_algo);
    const int *tiles[] = {&opt->wino_tile, &opt->wino_dw_tile, &opt->wino_dx_tile};
    static const char *const names[] = {"wino_tile", "wino_dw_tile", "wino_dx_tile"};
    for (int k = 0; k < 3; k++) {
        const int t = *tiles[k];
        if (t != 0 && t != 2 && t != 4 && !(k == 2 && t == -1))
            return nl_error_set(err, NL_EINVAL, "option %s %d: expected 0 (auto), 2 or 4%s",
                                names[k], t, k == 2 ? " or -1 (direct)" : "");
    }
    m->opt = *opt;
    if (!m->compiled) return NL_OK;
    for (int i = 0; i < m->nlayers; i++) { /* plan again: the algorithms follow the options */
        nl_layer *l = &m->layers[i];
        l->opt = m->opt;
        nl_status st = l->ops->plan(l, err);
        if (st) return nl_error_prefix(err, "layer %d (%s)", i, l->ops->name);
    }
    plan_steps(m);
    return plan_memory(m, m->max_batch, err);
}

void nl_model_init(nl_model *m, uint64_t seed) {
    if (!m || !m->compiled) return;
    memset(m->params, 0, m->nparams * sizeof(float));
    memset(m->state, 0, m->nstate * sizeof(float));
    for (int i = 0; i < m->nlayers; i++) {
        const nl_layer *l = &m->layers[i];
        if (l->ops->init)
            l->ops->init(l, m->params + l->param_off, m->state + l->state_off,
                         nl_hash2(seed, (uint64_t)i + 1));
    }
}

int nl_model_num_layers(const nl_model *m) {
    return m->nlayers;
}
const nl_layer_spec *nl_model_layer_spec(const nl_model *m, int i) {
    return (i >= 0 && i < m->nlayers) ? &m->layers[i].spec : NULL;
}
void nl_model_layer_shape(const nl_model *m, int i, int *h, int *w, int *c) {
    nl_shape s = (i < 0 || i >= m->nlayers) ? m->input : m->layers[i].out;
    *h = s.h, *w = s.w, *c = s.c;
}
size_t nl_model_layer_params(const nl_model *m, int i) {
    return (i >= 0 && i < m->nlayers) ? m->layers[i].nparams : 0;
}
size_t nl_model_num_params(const nl_model *m) {
    size_t n = 0;
    for (int i = 0; i < m->nlayers; i++) n += m->layers[i].nparams;
    return n;
}
size_t nl_model_num_state(const nl_model *m) {
    size_t n = 0;
    for (int i = 0; i < m->nlayers; i++) n += m->layers[i].nstate;
    return n;
}
int nl_model_num_classes(const nl_model *m) {
    if (!m->nlayers || m->loss != NL_LOSS_CROSSENTROPY) return 0;
    const nl_layer *last = &m->layers[m->nlayers - 1];
    if (m->compiled) return (int)nl_shape_size(last->out);
    return last->spec.kind == NL_LAYER_DENSE ? last->spec.units : 0;
}
int nl_model_num_outputs(const nl_model *m) {
    return m->nlayers && m->compiled ? (int)nl_shape_size(m->layers[m->nlayers - 1].out) : 0;
}
size_t nl_model_input_size(const nl_model *m) {
    return nl_shape_size(m->input);
}
size_t nl_model_param_slab_size(const nl_model *m) {
    return m->nparams;
}
size_t nl_model_layer_param_offset(const nl_model *m, int i) {
    return m->layers[i].param_off;
}
size_t nl_model_layer_state_offset(const nl_model *m, int i) {
    return m->layers[i].state_off;
}
size_t nl_model_layer_state(const nl_model *m, int i) {
    return (i >= 0 && i < m->nlayers) ? m->layers[i].nstate : 0;
}
float *nl_model_params(nl_model *m) {
    return m->params;
}
float *nl_model_grads(nl_model *m) {
    return m->grads;
}
float *nl_model_state(nl_model *m) {
    return m->state;
}
size_t nl_model_activation_bytes(const nl_model *m) {
    return m->arena_floats * sizeof(float);
}

void nl_model_set_step(nl_model *m, uint64_t step, uint64_t seed) {
    m->step = step;
    m->seed = seed;
}

void nl_model_set_sample_offset(nl_model *m, uint64_t first) {
    m->sample0 = first;
}

void nl_model_set_bn_sync(nl_model *m, nl_sum_fn sum, void *user) {
    m->bn_sum = sum;
    m->bn_user = user;
}

static nl_layer_ctx make_ctx(const nl_model *m, int i, int batch, int training) {
    const nl_layer *l = &m->layers[i];
    nl_layer_ctx c = {0};
    c.batch = batch;
    c.training = training;
    c.in = m->act[m->src[i]];
    c.out = m->act[m->src[i + 1]];
    c.params = m->params + l->param_off;
    c.grads = m->grads + l->param_off;
    c.state = m->state + l->state_off;
    c.scratch = m->arena + l->scratch_off;
    c.seed = m->seed;
    c.step = m->step;
    c.sample0 = m->sample0;
    c.bn_sum = m->bn_sum;
    c.bn_user = m->bn_user;
    c.layer_index = i;
    return c;
}

/* The contexts of step s's layers. */
static void step_ctx(const nl_model *m, const nl_step *s, int batch, int training,
                     nl_layer_ctx c[NL_STEP_MAX_LAYERS]) {
    for (int j = 0; j < s->count; j++) c[j] = make_ctx(m, s->first + j, batch, training);
}

int nl_model_num_steps(const nl_model *m) {
    return m->compiled ? m->nsteps : 0;
}

const char *nl_model_step_name(const nl_model *m, int k) {
    return k >= 0 && k < nl_model_num_steps(m) ? nl_step_name(&m->steps[k], m->layers) : NULL;
}

void nl_model_step_layers(const nl_model *m, int k, int *first, int *count) {
    const int ok = k >= 0 && k < nl_model_num_steps(m);
    *first = ok ? m->steps[k].first : 0;
    *count = ok ? m->steps[k].count : 0;
}

void nl_model_step_forward(nl_model *m, int k, const float *x, int batch, int training) {
    const nl_step *s = &m->steps[k];
    nl_layer_ctx c[NL_STEP_MAX_LAYERS];
    m->act[0] = (float *)x; /* read only: no layer writes its input */
    step_ctx(m, s, batch, training, c);
    s->ops->forward(s, &m->layers[s->first], c);
    m->last_batch = batch;
    m->last_training = training;
}

float nl_model_loss(nl_model *m, const uint8_t *labels, int batch, int backward, int *correct) {
    if (m->loss != NL_LOSS_CROSSENTROPY) return NAN;
    const float *logits = m->act[m->src[m->nlayers]];
    float *dlogits = backward ? m->gbuf[m->steps[m->nsteps - 1].gout] : NULL;
    return softmax_xent(logits, labels, batch, nl_model_num_classes(m), dlogits, correct);
}

void nl_model_step_backward(nl_model *m, int k, int batch) {
    const nl_step *s = &m->steps[k];
    nl_layer_ctx c[NL_STEP_MAX_LAYERS];
    step_ctx(m, s, batch, m->last_training, c);
    c[s->count - 1].dout = m->gbuf[s->gout];
    c[0].din = s->gin < 0 ? NULL : m->gbuf[s->gin];
    s->ops->backward(s, &m->layers[s->first], c);
}

const float *nl_model_forward(nl_model *m, const float *x, int batch, int training) {
    if (!m || !m->compiled || batch <= 0 || batch > m->max_batch) return NULL;
    for (int k = 0; k < m->nsteps; k++) nl_model_step_forward(m, k, x, batch, training);
    return m->act[m->src[m->nlayers]];
}

float nl_model_loss_backward_values(nl_model *m, const float *targets, int batch, int backward) {
    if (!m || !m->compiled || m->loss != NL_LOSS_MSE || batch <= 0 || batch > m->max_batch)
        return NAN;
    const float *y = m->act[m->src[m->nlayers]];
    float *dy = backward ? m->gbuf[m->steps[m->nsteps - 1].gout] : NULL;
    const float loss = mse_loss(y, targets, batch, nl_model_num_outputs(m), dy);
    if (!backward) return loss;
    for (int k = m->nsteps - 1; k >= 0; k--) nl_model_step_backward(m, k, batch);
    return loss;
}

float nl_model_loss_backward(nl_model *m, const uint8_t *labels, int batch, int backward,
                             int *correct) {
    if (!m || !m->compiled || m->loss != NL_LOSS_CROSSENTROPY || batch <= 0 || batch > m->max_batch)
        return NAN;
    const float loss = nl_model_loss(m, labels, batch, backward, correct);
    if (!backward) return loss;
    for (int k = m->nsteps - 1; k >= 0; k--) nl_model_step_backward(m, k, batch);
    return loss;
}
