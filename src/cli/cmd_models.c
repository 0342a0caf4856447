/* nnlab models: the workloads and a Keras-style summary of each. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "nnlab/model.h"

static const char *CMD = "models";

static void shape_str(char *out, size_t n, int h, int w, int c) {
    if (h == 1 && w == 1) snprintf(out, n, "(None, %d)", c);
    else snprintf(out, n, "(None, %d, %d, %d)", h, w, c);
}

static int summary(const nl_workload_info *wi) {
    nl_error err = {0};
    nl_model *m = NULL;
    if (nl_workload_build(wi->name, &m, &err) || nl_model_compile(m, 1, &err)) {
        cli_error(CMD, "%s: %s", wi->name, err.msg);
        nl_model_free(m);
        return CLI_ERR;
    }
    printf("Workload: %s (dataset %s, %s lr %g)\n  %s\n", wi->name, wi->dataset, wi->optimizer,
           (double)wi->lr, wi->description);
    printf("  %-28s %-22s %10s\n", "Layer (type)", "Output Shape", "Param #");
    char shp[64], name[64];
    int h, w, c;
    nl_model_layer_shape(m, -1, &h, &w, &c);
    shape_str(shp, sizeof shp, h, w, c);
    printf("  %-28s %-22s %10d\n", "input (Input)", shp, 0);
    for (int i = 0; i < nl_model_num_layers(m); i++) {
        const nl_layer_spec *s = nl_model_layer_spec(m, i);
        const char *kind = nl_layer_kind_name(s->kind);
        const char *act = s->act != NL_ACT_NONE ? nl_act_name(s->act) : NULL;
        snprintf(name, sizeof name, "%s_%d (%s%s%s)", kind, i, kind, act ? "+" : "",
                 act ? act : "");
        nl_model_layer_shape(m, i, &h, &w, &c);
        shape_str(shp, sizeof shp, h, w, c);
        printf("  %-28s %-22s %10zu\n", name, shp, nl_model_layer_params(m, i));
    }
    size_t st = nl_model_num_state(m);
    printf("  Total params: %zu (trainable %zu, non-trainable %zu)\n\n",
           nl_model_num_params(m) + st, nl_model_num_params(m), st);
    nl_model_free(m);
    return CLI_OK;
}

int cmd_models(int argc, char **argv) {
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("Usage: nnlab models [WORKLOAD]\n\nLists the workloads (design.md) with a "
                   "Keras-style summary: layer, output shape, parameters.\n");
            return CLI_OK;
        }
        if (argv[i][0] == '-') return cli_usage_error(CMD, "unknown option '%s'", argv[i]);
        only = argv[i];
    }
    if (only && !nl_workload_find(only))
        return cli_usage_error(CMD, "unknown workload '%s'", only);
    int rc = CLI_OK;
    for (const nl_workload_info *w = nl_workloads(); w->name; w++)
        if (!only || !strcmp(only, w->name))
            if (summary(w) != CLI_OK) rc = CLI_ERR;
    return rc;
}
