/* The model: a pipeline of layers over three slabs (parameters, gradients,
 * state) and one activation arena planned at compile time.
 *
 * Arena layout for max batch Bm (all float, 64-byte aligned pieces):
 *   act[i]   output of layer i-1 (act[0] is the caller's input, not copied)
 *   grad A/B two ping-pong buffers of the largest activation, for dL/dact
 *   scratch  every layer's scratch, one after another
 * Layers marked in_place (flatten) alias their output with their input.
 *
 * Fusion: a batchnorm followed by a maxpool2d runs as one step
 * (layers/batchnorm_maxpool.c); the batch-norm output is then never written and
 * gets no buffer; a convolution before the pair takes the pair's input gradient
 * image by image in its backward (nl_layer_ctx.dout_fn), so that is never stored
 * either. When the pair's windows tile its input, the convolution also hands its
 * output over image by image in forward (out_fn: pooled while in cache).
 * nl_compile_options.no_fuse turns it off (to compare). */
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "layers/batchnorm_maxpool.h"
#include "layers/layer.h"
#include "layers/softmax_xent.h"
#include "nnlab/model.h"

#define NL_ALIGN_FLOATS 16 /* 64 bytes */

struct nl_model {
    nl_shape input;
    nl_layer *layers;
    int nlayers, cap;
    nl_compile_options opt;
    nl_error build_err; /* first builder error (sticky) */
    int compiled;
    int max_batch;
    size_t nparams, nstate, nscratch;
    float *params, *grads, *state; /* slabs */
    float *arena;                  /* activations + gradients + scratch */
    size_t arena_floats;
    float **act;    /* nlayers + 1 pointers into the arena (act[0] set per call) */
    float *gbuf[2]; /* ping-pong gradient buffers */
    size_t max_act; /* floats per activation buffer at max batch */
    int last_batch; /* batch of the last forward */
    int last_training;
    uint64_t step, seed;
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
    m->arena = NULL;
    m->act = NULL;
}

void nl_model_free(nl_model *m) {
    if (!m) return;
    free_plan(m);
    free(m->params);
    free(m->grads);
    free(m->state);
    free(m->layers);
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

const char *nl_layer_kind_name(int kind) {
    const nl_layer_ops *ops = nl_layer_ops_find(kind);
    if (ops) return ops->name;
    switch (kind) {
    case NL_LAYER_CONV2D:
        return "conv2d";
    case NL_LAYER_BATCHNORM:
        return "batchnorm";
    case NL_LAYER_MAXPOOL2D:
        return "maxpool2d";
    default:
        return "unknown";
    }
}

static nl_status plan_memory(nl_model *m, int max_batch, nl_error *err) {
    free_plan(m);
    size_t max_act = (size_t)max_batch * nl_shape_size(m->input);
    size_t act_total = 0, scratch_total = 0;
    for (int i = 0; i < m->nlayers; i++) {
        nl_layer *l = &m->layers[i];
        size_t a = (size_t)max_batch * nl_shape_size(l->out);
        if (a > max_act) max_act = a;
        if (!l->ops->in_place && !l->fused_next) act_total += align_up(a);
        l->scratch_off = scratch_total;
        if (l->ops->scratch_floats) scratch_total += align_up(l->ops->scratch_floats(l, max_batch));
    }
    max_act = align_up(max_act);
    m->arena_floats = act_total + 2 * max_act + scratch_total;
    m->arena = alloc_floats_z(m->arena_floats, 0);
    m->act = calloc((size_t)m->nlayers + 1, sizeof *m->act);
    if (!m->arena || !m->act) {
        free_plan(m);
        return nl_error_set(err, NL_ENOMEM,
                            "out of memory planning %zu MiB of activations for batch %d",
                            m->arena_floats * 4 >> 20, max_batch);
    }
    float *p = m->arena;
    for (int i = 0; i < m->nlayers; i++) {
        nl_layer *l = &m->layers[i];
        if (l->ops->in_place || l->fused_next) {
            m->act[i + 1] = NULL; /* aliased to act[i] at run time, or never written */
        } else {
            m->act[i + 1] = p;
            p += align_up((size_t)max_batch * nl_shape_size(l->out));
        }
    }
    m->gbuf[0] = p;
    m->gbuf[1] = p + max_act;
    p += 2 * max_act;
    m->nscratch = scratch_total;
    for (int i = 0; i < m->nlayers; i++)
        m->layers[i].scratch_off = (size_t)(p - m->arena) + m->layers[i].scratch_off;
    m->max_act = max_act;
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
        l->ops = nl_layer_ops_find(l->spec.kind);
        if (!l->ops)
            return nl_error_set(err, NL_ENOTSUP, "layer %d: kind %d (%s) is not available", i,
                                l->spec.kind, nl_layer_kind_name(l->spec.kind));
        l->in = cur;
        l->opt = m->opt; /* plan chooses algorithms from the options */
        nl_status st = l->ops->plan(l, err);
        if (st) return nl_error_prefix(err, "layer %d (%s)", i, l->ops->name);
        if (l->spec.act == NL_ACT_SOFTMAX && i != m->nlayers - 1)
            return nl_error_set(err, NL_EINVAL,
                                "layer %d (%s): softmax is only supported on the last layer", i,
                                l->ops->name);
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
    batchnorm_maxpool_plan(m->layers, m->nlayers, !m->opt.no_fuse);
    const nl_layer *last = &m->layers[m->nlayers - 1];
    if (last->spec.kind != NL_LAYER_DENSE || last->spec.act != NL_ACT_SOFTMAX)
        return nl_error_set(err, NL_EINVAL,
                            "the last layer must be dense with softmax activation (the loss is "
                            "softmax cross-entropy)");
    if (last->out.c > 256)
        return nl_error_set(err, NL_EINVAL, "at most 256 classes (labels are bytes), got %d",
                            last->out.c);
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
    batchnorm_maxpool_plan(m->layers, m->nlayers, !m->opt.no_fuse);
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
    return m->nlayers ? m->layers[m->nlayers - 1].spec.units : 0;
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

static nl_layer_ctx make_ctx(nl_model *m, int i, int batch, int training) {
    nl_layer *l = &m->layers[i];
    nl_layer_ctx c = {0};
    c.batch = batch;
    c.training = training;
    c.in = m->act[i];
    c.out = l->ops->in_place ? m->act[i] : m->act[i + 1];
    c.params = m->params + l->param_off;
    c.grads = m->grads + l->param_off;
    c.state = m->state + l->state_off;
    c.scratch = m->arena + l->scratch_off;
    c.seed = m->seed;
    c.step = m->step;
    c.layer_index = i;
    return c;
}

const float *nl_model_forward(nl_model *m, const float *x, int batch, int training) {
    if (!m || !m->compiled || batch <= 0 || batch > m->max_batch) return NULL;
    m->act[0] = (float *)x; /* read only: no layer writes its input */
    for (int i = 0; i < m->nlayers; i++) {
        nl_layer *l = &m->layers[i];
        if (l->ops->in_place) m->act[i + 1] = m->act[i];
        nl_layer_ctx c = make_ctx(m, i, batch, training);
        if (l->feeds_next) { /* this layer hands its output to the fused pair image by image */
            nl_layer_ctx cb = make_ctx(m, i + 1, batch, training);
            nl_layer_ctx cp = make_ctx(m, i + 2, batch, training);
            const batchnorm_maxpool_args args = {&m->layers[i + 1], &m->layers[i + 2], &cb, &cp, 0};
            c.out_fn = batchnorm_maxpool_image;
            c.out_arg = (void *)&args;
            batchnorm_maxpool_begin(&m->layers[i + 1], &cb);
            l->ops->forward(l, &c);
            batchnorm_maxpool_finish(&m->layers[i + 1], &m->layers[i + 2], &cb, &cp);
            i += 2;
            continue;
        }
        if (l->fused_next) { /* this layer and the next as one */
            nl_layer_ctx cn = make_ctx(m, i + 1, batch, training);
            batchnorm_maxpool_forward(l, &m->layers[i + 1], &c, &cn);
            i++;
            continue;
        }
        l->ops->forward(l, &c);
    }
    m->last_batch = batch;
    m->last_training = training;
    return m->act[m->nlayers];
}

float nl_model_loss_backward(nl_model *m, const uint8_t *labels, int batch, int backward,
                             int *correct) {
    const int C = nl_model_num_classes(m);
    const float *logits = m->act[m->nlayers];
    int cur = 0;
    float *dlogits = backward ? m->gbuf[cur] : NULL;
    float loss = softmax_xent(logits, labels, batch, C, dlogits, correct);
    if (!backward) return loss;
    for (int i = m->nlayers - 1; i >= 0; i--) {
        nl_layer *l = &m->layers[i];
        nl_layer_ctx c = make_ctx(m, i, batch, m->last_training);
        c.dout = m->gbuf[cur];
        if (i > 1 && m->layers[i - 1].fused_next && m->layers[i - 2].ops->dout_fn_ok) {
            /* batch norm i - 1 + pool i as one, and the layer before them (a convolution)
               takes their input gradient image by image: it is never stored */
            nl_layer_ctx cb = make_ctx(m, i - 1, batch, m->last_training);
            batchnorm_maxpool_backward_params(&m->layers[i - 1], l, &cb, &c);
            const int relu = m->layers[i - 2].spec.act == NL_ACT_RELU;
            const batchnorm_maxpool_args args = {&m->layers[i - 1], l, &cb, &c, relu};
            nl_layer_ctx cc = make_ctx(m, i - 2, batch, m->last_training);
            cc.dout = NULL;
            cc.dout_fn = batchnorm_maxpool_dx_image;
            cc.dout_arg = (void *)&args;
            cc.dout_fn_relu = relu;
            cc.din = i - 2 == 0 ? NULL : m->gbuf[cur ^ 1]; /* not the buffer dout is in */
            m->layers[i - 2].ops->backward(&m->layers[i - 2], &cc);
            cur ^= 1;
            i -= 2;
            continue;
        }
        if (i > 0 && m->layers[i - 1].fused_next) { /* layer i - 1 and this one as one */
            nl_layer_ctx cb = make_ctx(m, i - 1, batch, m->last_training);
            cb.din = i - 1 == 0 ? NULL : m->gbuf[cur ^ 1]; /* not the buffer dout is in */
            batchnorm_maxpool_backward(&m->layers[i - 1], l, &cb, &c);
            cur ^= 1;
            i--;
            continue;
        }
        if (i == 0) {
            c.din = NULL;
        } else if (l->ops->in_place) {
            c.din = c.dout;
        } else {
            c.din = m->gbuf[cur ^ 1];
            cur ^= 1;
        }
        l->ops->backward(l, &c);
    }
    return loss;
}
