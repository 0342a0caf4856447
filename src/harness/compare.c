/* Two benches side by side (`nnlab bench compare`): their table.json rows paired
 * by contestant and workload, the change of the mean time-to-train and whether
 * the runs' spread explains it; ratios with their spread for the report. */
#include "harness/harness_internal.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

double nl_bench_ratio(double a, double sd_a, double b, double sd_b, double *sd) {
    if (sd) *sd = NAN;
    if (!(a > 0) || !(b > 0) || !isfinite(a) || !isfinite(b)) return NAN;
    const double r = b / a;
    if (sd && isfinite(sd_a) && isfinite(sd_b) && sd_a >= 0 && sd_b >= 0)
        *sd = r * sqrt((sd_a / a) * (sd_a / a) + (sd_b / b) * (sd_b / b));
    return r;
}

void nl_bench_compare_judge(nl_bench_compare_row *row, double threshold_pct) {
    const nl_bench_stat *a = &row->a, *b = &row->b;
    row->change_pct = row->noise_pct = NAN;
    row->beyond_noise = -1;
    row->regression = 0;
    if (a->n == 0 || b->n == 0) return;
    row->change_pct = nl_bench_pct_diff(b->mean, a->mean);
    if (isnan(row->change_pct)) return;
    if (a->n >= 2 && b->n >= 2 && isfinite(a->sd) && isfinite(b->sd)) {
        const double se = sqrt(a->sd * a->sd / a->n + b->sd * b->sd / b->n);
        row->noise_pct = 100.0 * 2.0 * se / a->mean;
        row->beyond_noise = fabs(row->change_pct) > row->noise_pct;
    }
    row->regression = threshold_pct >= 0 && row->change_pct > threshold_pct && row->beyond_noise;
}

static nl_status load_table(const char *dir, json_t **rows_out, json_t **root_out, nl_error *err) {
    char path[4096];
    nl_status st = bench_path(path, sizeof path, dir, "table.json", err);
    if (st) return st;
    char *text = NULL;
    size_t len = 0;
    if ((st = bench_read_file(path, 64u << 20, &text, &len, err))) return st;
    json_error_t je;
    json_t *root = json_loadb(text, len, 0, &je);
    free(text);
    if (!root) return nl_error_set(err, NL_EFORMAT, "%s:%d: not JSON: %s", path, je.line, je.text);
    json_t *rows = json_object_get(root, "rows");
    if (!json_is_array(rows)) {
        json_decref(root);
        return nl_error_set(err, NL_EFORMAT,
                            "%s: no \"rows\" array (not a table.json of nnlab bench)", path);
    }
    *rows_out = rows;
    *root_out = root;
    return NL_OK;
}

static const char *jstr(json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : "";
}

static double jnum(json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* A statistic object of table.json (n, mean, sd, ...), n = 0 when absent. */
static void jstat(json_t *o, nl_bench_stat *s) {
    s->n = 0;
    s->mean = s->sd = s->median = s->min = s->max = NAN;
    if (!json_is_object(o)) return;
    json_t *n = json_object_get(o, "n");
    s->n = json_is_integer(n) ? (int)json_integer_value(n) : 0;
    s->mean = jnum(o, "mean");
    s->sd = jnum(o, "sd");
    s->median = jnum(o, "median");
    s->min = jnum(o, "min");
    s->max = jnum(o, "max");
    if (isnan(s->mean)) s->n = 0;
}

static double jmean(json_t *row, const char *key) {
    json_t *o = json_object_get(row, key);
    return json_is_object(o) ? jnum(o, "mean") : NAN;
}

static json_t *find_row(json_t *rows, const char *contestant, const char *workload) {
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) {
        if (!strcmp(jstr(r, "contestant"), contestant) && !strcmp(jstr(r, "workload"), workload))
            return r;
    }
    return NULL;
}

static void fill_side(json_t *r, nl_bench_stat *s, double *sps, double *rss) {
    jstat(r ? json_object_get(r, "time_to_train_s") : NULL, s);
    *sps = r ? jmean(r, "samples_per_second") : NAN;
    *rss = r ? jmean(r, "peak_rss_mib") : NAN;
}

nl_status nl_bench_compare_dirs(const char *dir_a, const char *dir_b, double threshold_pct,
                                nl_bench_compare_row **rows, size_t *n, nl_error *err) {
    *rows = NULL;
    *n = 0;
    json_t *ra = NULL, *rb = NULL, *roota = NULL, *rootb = NULL;
    nl_status st = load_table(dir_a, &ra, &roota, err);
    if (!st) st = load_table(dir_b, &rb, &rootb, err);
    if (st) {
        json_decref(roota);
        return st;
    }
    const size_t cap = json_array_size(ra) + json_array_size(rb);
    nl_bench_compare_row *out = calloc(cap ? cap : 1, sizeof *out);
    if (!out) {
        json_decref(roota);
        json_decref(rootb);
        return nl_error_set(err, NL_ENOMEM, "out of memory");
    }
    size_t k = 0, i;
    json_t *r;
    for (int side = 0; side < 2; side++) {
        json_array_foreach(side ? rb : ra, i, r) {
            const char *c = jstr(r, "contestant"), *w = jstr(r, "workload");
            json_t *other = find_row(side ? ra : rb, c, w);
            if (side && other) continue; /* paired already */
            nl_bench_compare_row *x = &out[k++];
            snprintf(x->contestant, sizeof x->contestant, "%s", c);
            snprintf(x->workload, sizeof x->workload, "%s", w);
            fill_side(side ? other : r, &x->a, &x->sps_a, &x->rss_a);
            fill_side(side ? r : other, &x->b, &x->sps_b, &x->rss_b);
            nl_bench_compare_judge(x, threshold_pct);
        }
    }
    json_decref(roota);
    json_decref(rootb);
    *rows = out;
    *n = k;
    return NL_OK;
}
