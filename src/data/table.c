/* Tables: the shared checks of the CSV and NPZ loaders, loading by
 * extension, and the validation split. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "data/table.h"

nl_table_options nl_table_defaults(void) {
    nl_table_options o;
    memset(&o, 0, sizeof o);
    return o;
}

nl_status nl_table_check_options(const nl_table_options *opt, nl_error *err) {
    if (!opt) return NL_OK;
    if (opt->targets < NL_TABLE_CLASSES || opt->targets > NL_TABLE_INPUTS)
        return nl_error_set(err, NL_EINVAL, "table options: targets %d is not an nl_table_targets",
                            opt->targets);
    if (opt->num_classes < 0 || opt->num_classes > 256)
        return nl_error_set(err, NL_EINVAL, "table options: num_classes %d is not in 0..256",
                            opt->num_classes);
    if (opt->num_targets < 0)
        return nl_error_set(err, NL_EINVAL, "table options: num_targets %d is negative",
                            opt->num_targets);
    const int given = (opt->h > 0) + (opt->w > 0) + (opt->c > 0);
    if (opt->h < 0 || opt->w < 0 || opt->c < 0 || (given != 0 && given != 3))
        return nl_error_set(err, NL_EINVAL,
                            "table options: input shape %dx%dx%d: give all three or none", opt->h,
                            opt->w, opt->c);
    return NL_OK;
}

int nl_table_class_bound(const nl_table_options *opt) {
    return opt && opt->num_classes > 0 ? opt->num_classes : 256;
}

const char *nl_table_label_problem(double v, int bound) {
    if (!isfinite(v)) return "not a finite number";
    if (v != floor(v)) return "not an integer (a class index is expected)";
    if (v < 0) return "negative (class indices start at 0)";
    if (v >= bound) return "too large";
    return NULL;
}

nl_status nl_table_shape(const char *name, const char *what, size_t features, const int *file_hwc,
                         const nl_table_options *opt, int out[3], nl_error *err) {
    const int given = opt && opt->h > 0 && opt->w > 0 && opt->c > 0;
    if (file_hwc) {
        if (given && (file_hwc[0] != opt->h || file_hwc[1] != opt->w || file_hwc[2] != opt->c))
            return nl_error_set(
                err, NL_EFORMAT, "%s: %s has samples of %dx%dx%d (HxWxC), the model takes %dx%dx%d",
                name, what, file_hwc[0], file_hwc[1], file_hwc[2], opt->h, opt->w, opt->c);
        memcpy(out, file_hwc, 3 * sizeof(int));
        return NL_OK;
    }
    if (given) {
        const size_t want = (size_t)opt->h * (size_t)opt->w * (size_t)opt->c;
        if (features != want)
            return nl_error_set(err, NL_EFORMAT,
                                "%s: %s has %zu features a sample, the model takes %dx%dx%d = %zu "
                                "inputs",
                                name, what, features, opt->h, opt->w, opt->c, want);
        out[0] = opt->h, out[1] = opt->w, out[2] = opt->c;
        return NL_OK;
    }
    if (features > (size_t)0x7fffffff)
        return nl_error_set(err, NL_EFORMAT,
                            "%s: %s has %zu features a sample, at most %d expected", name, what,
                            features, 0x7fffffff);
    out[0] = 1, out[1] = 1, out[2] = (int)features;
    return NL_OK;
}

static int has_ext(const char *path, const char *ext) {
    const size_t n = strlen(path), k = strlen(ext);
    return n > k && strcasecmp(path + n - k, ext) == 0;
}

nl_status nl_table_load(const char *path, const nl_table_options *opt, nl_dataset *d,
                        nl_error *err) {
    if (has_ext(path, ".csv")) return nl_csv_load(path, opt, d, err);
    if (has_ext(path, ".npz")) return nl_npz_load(path, opt, d, err);
    return nl_error_set(err, NL_EINVAL,
                        "%s: unknown kind of data file: expected a name ending in "
                        ".csv or .npz",
                        path);
}

/* Copies samples [from, from + count) of one array of d into a new one. */
static void *tail_copy(const void *base, size_t per_sample, size_t from, size_t count) {
    if (!base) return NULL;
    void *p = malloc(per_sample * count + 1);
    if (p) memcpy(p, (const char *)base + per_sample * from, per_sample * count);
    return p;
}

nl_status nl_dataset_split(nl_dataset *d, double fraction, nl_dataset *held, nl_error *err) {
    memset(held, 0, sizeof *held);
    if (!(fraction > 0.0 && fraction < 1.0))
        return nl_error_set(err, NL_EINVAL,
                            "validation split %g: expected a fraction between 0 and 1 (exclusive)",
                            fraction);
    /* Keras: split_at = int(n * (1 - validation_split)) */
    const size_t keep = (size_t)floor((double)d->n * (1.0 - fraction));
    if (keep == 0 || keep >= d->n)
        return nl_error_set(err, NL_EINVAL,
                            "validation split %g of %zu samples leaves %zu for training and %zu "
                            "held out: both parts must have samples",
                            fraction, d->n, keep, d->n - (keep < d->n ? keep : d->n));
    const size_t count = d->n - keep, ss = nl_dataset_sample_size(d);
    nl_dataset h = *d;
    h.n = count;
    h.images = tail_copy(d->images, ss, keep, count);
    h.x = tail_copy(d->x, ss * sizeof(float), keep, count);
    h.labels = tail_copy(d->labels, 1, keep, count);
    h.y = tail_copy(d->y, (size_t)d->targets * sizeof(float), keep, count);
    if ((d->images && !h.images) || (d->x && !h.x) || (d->labels && !h.labels) || (d->y && !h.y)) {
        nl_dataset_free(&h);
        return nl_error_set(err, NL_ENOMEM, "out of memory for a validation split of %zu samples",
                            count);
    }
    *held = h;
    d->n = keep;
    return NL_OK;
}
