/* CSV tables: a header row naming the columns, then one sample a row. The
 * label column (nl_table_options.label, default "label") holds the target,
 * every other column is a numeric feature, in the order of the header. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/path.h"
#include "data/table.h"

/* One line of the text: [s, e), without its line end. */
typedef struct line {
    const char *s, *e;
} line;

static int is_blank(char ch) {
    return ch == ' ' || ch == '\t' || ch == '\r';
}

static void trim(const char **s, const char **e) {
    while (*s < *e && is_blank(**s)) (*s)++;
    while (*e > *s && is_blank((*e)[-1])) (*e)--;
}

/* The next line from *p (below end); 0 at the end of the text. */
static int next_line(const char **p, const char *end, line *out) {
    if (*p >= end) return 0;
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    out->s = *p;
    out->e = nl ? nl : end;
    if (out->e > out->s && out->e[-1] == '\r') out->e--;
    *p = nl ? nl + 1 : end;
    return 1;
}

static int line_blank(const line *l) {
    for (const char *c = l->s; c < l->e; c++)
        if (!is_blank(*c)) return 0;
    return 1;
}

/* The cell starting at *p on l: [cs, ce) trimmed; *p moves past its comma.
 * Returns 0 when the line has no more cells. */
static int next_cell(const char **p, const line *l, int *more, const char **cs, const char **ce) {
    if (!*more) return 0;
    const char *comma = memchr(*p, ',', (size_t)(l->e - *p));
    *cs = *p;
    *ce = comma ? comma : l->e;
    *more = comma != NULL;
    *p = comma ? comma + 1 : l->e;
    trim(cs, ce);
    return 1;
}

/* Parses [s, e) as a finite number. NULL on success, else the problem. */
static const char *parse_number(const char *s, const char *e, double *out) {
    if (s == e) return "an empty cell";
    char buf[128];
    const size_t n = (size_t)(e - s);
    if (n >= sizeof buf) return "not a number (too long)";
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    errno = 0;
    const double v = strtod(buf, &end);
    if (end != buf + n || end == buf) return "not a number";
    if (!isfinite(v)) return isnan(v) ? "NaN (not allowed)" : "infinite (not allowed)";
    if (fabs(v) > 3.4028234663852886e38) return "beyond the float32 range";
    *out = v;
    return NULL;
}

nl_status nl_csv_parse(const char *name, const char *buf, size_t len, const nl_table_options *opt,
                       nl_dataset *d, nl_error *err) {
    memset(d, 0, sizeof *d);
    nl_status st = nl_table_check_options(opt, err);
    if (st) return st;
    const nl_table_options defaults = nl_table_defaults();
    if (!opt) opt = &defaults;
    const char *label = opt->label && *opt->label ? opt->label : "label";
    const char *p = buf, *end = buf + len;
    if (len >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3)) p += 3; /* a UTF-8 byte order mark */
    if (memchr(buf, '\0', len))
        return nl_error_set(err, NL_EFORMAT, "%s: has a NUL byte at offset %zu: not a text file",
                            name, (size_t)((const char *)memchr(buf, '\0', len) - buf));

    /* the header */
    line hl;
    if (!next_line(&p, end, &hl) || line_blank(&hl))
        return nl_error_set(err, NL_EFORMAT,
                            "%s: line 1 is empty: expected a header row naming the columns", name);
    size_t ncols = 0, label_col = SIZE_MAX;
    {
        const char *q = hl.s, *cs, *ce;
        int more = 1;
        while (next_cell(&q, &hl, &more, &cs, &ce)) {
            if (ce - cs >= 2 && *cs == '"' && ce[-1] == '"') cs++, ce--;
            if (cs == ce)
                return nl_error_set(err, NL_EFORMAT,
                                    "%s: line 1 (the header), column %zu: an empty column name",
                                    name, ncols + 1);
            if ((size_t)(ce - cs) == strlen(label) && !memcmp(cs, label, (size_t)(ce - cs))) {
                if (label_col != SIZE_MAX)
                    return nl_error_set(err, NL_EFORMAT,
                                        "%s: line 1 (the header): columns %zu and %zu are both "
                                        "named '%s'",
                                        name, label_col + 1, ncols + 1, label);
                label_col = ncols;
            }
            ncols++;
        }
    }
    const int inputs_only = opt->targets == NL_TABLE_INPUTS;
    if (label_col == SIZE_MAX && !inputs_only)
        return nl_error_set(err, NL_EFORMAT,
                            "%s: line 1 (the header) has no column named '%s' (the target; the "
                            "first row must name the columns, and --label picks another one): "
                            "%.*s",
                            name, label, (int)((hl.e - hl.s) > 200 ? 200 : (hl.e - hl.s)), hl.s);
    const size_t nfeat = ncols - (label_col != SIZE_MAX);
    if (nfeat == 0)
        return nl_error_set(err, NL_EFORMAT,
                            "%s: line 1 (the header): no feature columns besides "
                            "'%s'",
                            name, label);
    int shape[3];
    if ((st = nl_table_shape(name, "the table", nfeat, NULL, opt, shape, err))) return st;

    /* count the rows: blank lines may only end the file */
    size_t rows = 0;
    {
        const char *q = p;
        line l;
        size_t lineno = 1, blank_at = 0;
        while (next_line(&q, end, &l)) {
            lineno++;
            if (line_blank(&l)) {
                if (!blank_at) blank_at = lineno;
                continue;
            }
            if (blank_at)
                return nl_error_set(err, NL_EFORMAT,
                                    "%s: line %zu is empty but line %zu has data: expected %zu "
                                    "cells on every row",
                                    name, blank_at, lineno, ncols);
            rows++;
        }
    }
    if (rows == 0) return nl_error_set(err, NL_EFORMAT, "%s: no data rows after the header", name);
    if (rows > UINT32_MAX)
        return nl_error_set(err, NL_EFORMAT, "%s: %zu rows: at most %u expected", name, rows,
                            (unsigned)UINT32_MAX);

    nl_dataset t;
    memset(&t, 0, sizeof t);
    t.n = rows;
    t.h = shape[0], t.w = shape[1], t.c = shape[2];
    t.x = malloc(rows * nfeat * sizeof(float));
    const int classes = opt->targets == NL_TABLE_CLASSES, values = opt->targets == NL_TABLE_VALUES;
    if (classes) t.labels = malloc(rows);
    if (values) {
        t.y = malloc(rows * sizeof(float));
        t.targets = 1;
    }
    if (!t.x || (classes && !t.labels) || (values && !t.y)) {
        nl_dataset_free(&t);
        return nl_error_set(err, NL_ENOMEM, "%s: out of memory for %zu rows of %zu features", name,
                            rows, nfeat);
    }
    if (values && opt->num_targets > 1) {
        nl_dataset_free(&t);
        return nl_error_set(err, NL_EFORMAT,
                            "%s: a CSV table has one target column ('%s'), the model outputs %d "
                            "values",
                            name, label, opt->num_targets);
    }
    const int bound = nl_table_class_bound(opt);
    int max_label = -1;
    size_t lineno = 1, row = 0;
    line l;
    while (next_line(&p, end, &l)) {
        lineno++;
        if (line_blank(&l)) continue;
        const char *q = l.s, *cs, *ce;
        int more = 1;
        size_t col = 0, f = 0;
        int extra = 0;
        float *xr = t.x + row * nfeat;
        while (next_cell(&q, &l, &more, &cs, &ce)) {
            if (col >= ncols) {
                extra = 1;
                break;
            }
            double v = 0;
            const int is_label = col == label_col;
            if (!(is_label && inputs_only)) {
                const char *why = parse_number(cs, ce, &v);
                if (why) {
                    nl_error_set(err, NL_EFORMAT,
                                 "%s: line %zu, column %zu: '%.*s' is %s; expected a number", name,
                                 lineno, col + 1, (int)((ce - cs) > 40 ? 40 : (ce - cs)), cs, why);
                    nl_dataset_free(&t);
                    return NL_EFORMAT;
                }
            }
            if (!is_label) {
                xr[f++] = (float)v;
            } else if (classes) {
                const char *why = nl_table_label_problem(v, bound);
                if (why) {
                    nl_error_set(err, NL_EFORMAT,
                                 "%s: line %zu, column %zu ('%s'): label %.*s is %s; expected a "
                                 "class index 0..%d",
                                 name, lineno, col + 1, label,
                                 (int)((ce - cs) > 40 ? 40 : (ce - cs)), cs, why, bound - 1);
                    nl_dataset_free(&t);
                    return NL_EFORMAT;
                }
                t.labels[row] = (uint8_t)v;
                if ((int)v > max_label) max_label = (int)v;
            } else if (values) {
                t.y[row] = (float)v;
            }
            col++;
        }
        if (col != ncols || extra) {
            size_t cells = col;
            if (extra) { /* count them all */
                cells = 1;
                for (const char *c = l.s; c < l.e; c++) cells += *c == ',';
            }
            nl_error_set(err, NL_EFORMAT,
                         "%s: line %zu has %zu cells, the header has %zu: expected the same "
                         "number on every row",
                         name, lineno, cells, ncols);
            nl_dataset_free(&t);
            return NL_EFORMAT;
        }
        row++;
    }
    if (classes) t.num_classes = opt->num_classes > 0 ? opt->num_classes : max_label + 1;
    *d = t;
    return NL_OK;
}

nl_status nl_table_read_file(const char *path, size_t max, char **out, size_t *len, nl_error *err) {
    *out = NULL, *len = 0;
    int fd = nl_open_regular(path, O_RDONLY, err);
    if (fd < 0) return err ? err->code : NL_EIO;
    struct stat st;
    memset(&st, 0, sizeof st);
    size_t cap = 65536;
    if (fstat(fd, &st) == 0 && (uint64_t)st.st_size > max) {
        close(fd);
        return nl_error_set(err, NL_EFORMAT, "%s: larger than %zu bytes (the limit)", path, max);
    }
    if (st.st_size > 0) cap = (size_t)st.st_size + 1;
    if (cap > max) cap = max;
    char *b = malloc(cap + 1);
    size_t n = 0;
    nl_status rc = NL_OK;
    if (!b) {
        rc = nl_error_set(err, NL_ENOMEM, "%s: out of memory for %zu bytes", path, cap);
        goto done;
    }
    for (;;) {
        if (n == cap) {
            if (cap >= max) { /* full: only the end of the file may follow */
                ssize_t r = read(fd, b + n, 1);
                if (r == 0) break;
                if (r < 0 && errno == EINTR) continue;
                rc = nl_error_set(err, r < 0 ? NL_EIO : NL_EFORMAT,
                                  "%s: larger than %zu bytes (the limit)", path, max);
                goto done;
            }
            size_t ncap = cap > max / 2 ? max : cap * 2;
            char *nb = realloc(b, ncap + 1);
            if (!nb) {
                rc = nl_error_set(err, NL_ENOMEM, "%s: out of memory for %zu bytes", path, ncap);
                goto done;
            }
            b = nb, cap = ncap;
        }
        ssize_t r = read(fd, b + n, cap - n);
        if (r < 0) {
            if (errno == EINTR) continue;
            rc = nl_error_set(err, NL_EIO, "%s: read error at offset %zu: %s", path, n,
                              strerror(errno));
            goto done;
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    b[n] = '\0';
done:
    close(fd);
    if (rc) {
        free(b);
        return rc;
    }
    *out = b, *len = n;
    return NL_OK;
}

nl_status nl_csv_load(const char *path, const nl_table_options *opt, nl_dataset *d, nl_error *err) {
    memset(d, 0, sizeof *d);
    char *buf;
    size_t len;
    nl_status st = nl_table_read_file(
        path, opt && opt->max_bytes ? opt->max_bytes : NL_TABLE_MAX_BYTES, &buf, &len, err);
    if (st) return st;
    st = nl_csv_parse(path, buf, len, opt, d, err);
    free(buf);
    return st;
}
