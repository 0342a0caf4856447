/* Model names and model files on the command line (modelsrc.h). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/datasets.h"
#include "cli/modelsrc.h"
#include "core/path.h"

int cli_model_is_file(const char *word) {
    const size_t n = strlen(word);
    return strchr(word, '/') != NULL || (n >= 4 && !strcmp(word + n - 4, ".nnm"));
}

void cli_model_names(char *out, size_t n) {
    size_t k = 0;
    out[0] = '\0';
    for (const nl_shipped_model *s = nl_shipped_models(); s->name && k < n; s++) {
        int r = snprintf(out + k, n - k, "%s%s", k ? ", " : "", s->name);
        if (r < 0) break;
        k += (size_t)r;
    }
}

int cli_model_resolve(const char *cmd, const char *word, cli_model_src *out) {
    nl_error err = {0};
    memset(out->name, 0, sizeof out->name);
    if (cli_model_is_file(word)) {
        out->is_file = 1;
        if (nl_nnm_load(word, &out->nnm, &err)) {
            cli_error(cmd, "%s", err.msg);
            return CLI_ERR;
        }
        const char *base = strlen(word) < sizeof out->name ? word : nl_basename(word);
        snprintf(out->name, sizeof out->name, "%s", base);
        return CLI_OK;
    }
    out->is_file = 0;
    const nl_shipped_model *s = nl_shipped_model_find(word);
    if (!s) { /* the workloads first (their names as before), then the other shipped models */
        char names[256], more[512];
        size_t k = 0;
        cli_workload_names(names, sizeof names);
        more[0] = '\0';
        for (const nl_shipped_model *x = nl_shipped_models(); x->name && k < sizeof more; x++)
            if (!nl_workload_find(x->name)) {
                int r = snprintf(more + k, sizeof more - k, "%s%s", k ? ", " : "", x->name);
                if (r < 0) break;
                k += (size_t)r;
            }
        return cli_usage_error(cmd,
                               "unknown workload '%s' (known: %s); other shipped models: %s; "
                               "a model file ends in .nnm",
                               word, names, more[0] ? more : "none");
    }
    char fname[80];
    snprintf(fname, sizeof fname, "%s.nnm", s->name);
    if (nl_nnm_parse(fname, s->text, s->len, &out->nnm, &err)) {
        cli_error(cmd, "%s", err.msg); /* a broken build: the shipped files are tested */
        return CLI_ERR;
    }
    snprintf(out->name, sizeof out->name, "%s", s->name);
    return CLI_OK;
}

int cli_model_dataset(const char *word, char *out, size_t n) {
    static nl_nnm f;
    nl_error err = {0};
    const nl_shipped_model *s = cli_model_is_file(word) ? NULL : nl_shipped_model_find(word);
    nl_status st = s                         ? nl_nnm_parse(s->name, s->text, s->len, &f, &err)
                   : cli_model_is_file(word) ? nl_nnm_load(word, &f, &err)
                                             : NL_ENOTFOUND;
    if (st || !f.dataset[0]) return -1;
    snprintf(out, n, "%s", f.dataset);
    return 0;
}

int cli_model_fits(const cli_model_src *ms, const nl_dataset_info *ds, nl_error *err) {
    const nl_nnm *f = &ms->nnm;
    if (!ds->h || (ds->h == f->h && ds->w == f->w && ds->c == f->c)) return 0;
    nl_error_set(err, NL_EINVAL,
                 "%s '%s' takes %dx%dx%d inputs (%d values), dataset '%s' has %dx%dx%d "
                 "samples (%d values)",
                 ms->is_file ? "model file" : "workload", ms->name, f->h, f->w, f->c,
                 f->h * f->w * f->c, ds->name, ds->h, ds->w, ds->c, ds->h * ds->w * ds->c);
    return -1;
}
