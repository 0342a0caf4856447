/* The named workloads of design.md: every contestant implements these exactly.
 * Each is a shipped model file (models/NAME.nnm, embedded in the library):
 * its input, layers, dataset, optimizer and learning rate come from there,
 * its description from the file's first comment lines. The last layer has one
 * unit per class of the dataset trained on (10 on the workload's own). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "nnlab/model.h"

enum { NWORKLOADS = 4 };

/* The study's workloads, in the order they are listed. */
static const char *const names[NWORKLOADS] = {"mnist", "mnist-keras-paper", "cifar10",
                                              "cifar10-keras-paper"};

static nl_nnm parsed[NWORKLOADS];
static nl_workload_info table[NWORKLOADS + 1];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void build_from(int k, nl_model *m, int classes) {
    const nl_nnm *f = &parsed[k];
    for (int i = 0; i < f->nlayers; i++) {
        nl_layer_spec s = f->layers[i].spec;
        if (i == f->nlayers - 1) s.units = classes;
        nl_model_add(m, &s);
    }
    nl_model_set_loss(m, f->loss);
}
static void build_0(nl_model *m, int classes) {
    build_from(0, m, classes);
}
static void build_1(nl_model *m, int classes) {
    build_from(1, m, classes);
}
static void build_2(nl_model *m, int classes) {
    build_from(2, m, classes);
}
static void build_3(nl_model *m, int classes) {
    build_from(3, m, classes);
}
static void (*const builders[NWORKLOADS])(nl_model *, int) = {build_0, build_1, build_2, build_3};

/* Parses the embedded files once. A row whose file is missing or does not
 * parse (a broken build) is left out; test_workloads checks all four. */
static void init_table(void) {
    int n = 0;
    for (int k = 0; k < NWORKLOADS; k++) {
        const nl_shipped_model *s = nl_shipped_model_find(names[k]);
        nl_error err = {0};
        char fname[64];
        snprintf(fname, sizeof fname, "%s.nnm", names[k]);
        if (!s || nl_nnm_parse(fname, s->text, s->len, &parsed[k], &err) != NL_OK) continue;
        const nl_nnm *f = &parsed[k];
        table[n++] = (nl_workload_info){
            .name = names[k],
            .dataset = f->dataset,
            .description = f->description,
            .optimizer = nl_optim_name(f->optim.kind),
            .lr = f->optim.lr,
            .h = f->h,
            .w = f->w,
            .c = f->c,
            .classes = f->layers[f->nlayers - 1].spec.units,
            .build = builders[k],
        };
    }
    memset(&table[n], 0, sizeof table[n]);
}

const nl_workload_info *nl_workloads(void) {
    pthread_once(&once, init_table);
    return table;
}

const nl_workload_info *nl_workload_find(const char *name) {
    for (const nl_workload_info *w = nl_workloads(); name && w->name; w++)
        if (!strcmp(w->name, name)) return w;
    return NULL;
}

nl_status nl_workload_build_for(const char *name, int h, int w, int c, int classes, nl_model **out,
                                nl_error *err) {
    *out = NULL;
    const nl_workload_info *wi = nl_workload_find(name);
    if (!wi) {
        char known[256] = "";
        size_t k = 0;
        for (const nl_workload_info *x = nl_workloads(); x->name && k < sizeof known; x++) {
            int n = snprintf(known + k, sizeof known - k, "%s%s", k ? ", " : "", x->name);
            if (n < 0) break;
            k += (size_t)n;
        }
        return nl_error_set(err, NL_ENOTFOUND, "unknown workload '%s' (known: %s)",
                            name ? name : "(null)", known);
    }
    if (h != wi->h || w != wi->w || c != wi->c)
        return nl_error_set(err, NL_EINVAL,
                            "workload '%s' takes %dx%dx%d inputs (%d values), the data has "
                            "%dx%dx%d (%lld values)",
                            wi->name, wi->h, wi->w, wi->c, wi->h * wi->w * wi->c, h, w, c,
                            (long long)h * w * c);
    if (classes < 2 || classes > 65536)
        return nl_error_set(err, NL_EINVAL, "workload '%s': %d classes, expected 2..65536",
                            wi->name, classes);
    nl_model *m = nl_model_new(h, w, c);
    if (!m) return nl_error_set(err, NL_ENOMEM, "out of memory building workload '%s'", name);
    wi->build(m, classes);
    *out = m;
    return NL_OK;
}

nl_status nl_workload_build(const char *name, nl_model **out, nl_error *err) {
    const nl_workload_info *wi = nl_workload_find(name);
    if (!wi) return nl_workload_build_for(name, 0, 0, 0, 0, out, err);
    return nl_workload_build_for(name, wi->h, wi->w, wi->c, wi->classes, out, err);
}
