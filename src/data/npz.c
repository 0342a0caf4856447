/* NPZ tables: a zip archive (read with libzip) holding x.npy and y.npy, as
 * numpy.savez and numpy.savez_compressed write them. The .npy header is
 * parsed here: the magic, version 1, 2 or 3, and the header dict with descr,
 * fortran_order and shape. */
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zip.h>

#include "core/path.h"
#include "data/table.h"

typedef enum npy_dtype { NPY_F4, NPY_F8, NPY_U1, NPY_I8 } npy_dtype;

enum { NPY_MAX_RANK = 4 };

/* One parsed array: its dtype, shape, and data (inside the member's bytes). */
typedef struct npy {
    npy_dtype dtype;
    size_t itemsize;
    int rank;
    uint64_t shape[NPY_MAX_RANK];
    size_t count; /* elements */
    const uint8_t *data;
} npy;

static const char *dtype_name(npy_dtype t) {
    static const char *names[] = {"float32", "float64", "uint8", "int64"};
    return names[t];
}

static void skip_ws(const char **p, const char *e) {
    while (*p < e && (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r')) (*p)++;
}

/* A Python string literal ('...' or "...") at *p: [*s, *s + *n). */
static int py_string(const char **p, const char *e, const char **s, size_t *n) {
    if (*p >= e || (**p != '\'' && **p != '"')) return 0;
    const char q = **p;
    const char *start = *p + 1, *c = start;
    while (c < e && *c != q) {
        if (*c == '\\') return 0;
        c++;
    }
    if (c >= e) return 0;
    *s = start, *n = (size_t)(c - start);
    *p = c + 1;
    return 1;
}

static int word_is(const char *s, size_t n, const char *w) {
    return n == strlen(w) && !memcmp(s, w, n);
}

/* Parses the .npy bytes of member `what` of archive `name`. */
static nl_status npy_parse(const char *name, const char *what, const uint8_t *b, size_t len, npy *a,
                           nl_error *err) {
    memset(a, 0, sizeof *a);
    if (len < 10 || memcmp(b, "\x93NUMPY", 6) != 0)
        return nl_error_set(err, NL_EFORMAT,
                            "%s: %s: not a .npy array (expected the magic \\x93NUMPY at offset 0)",
                            name, what);
    const int major = b[6], minor = b[7];
    size_t hlen, off;
    if (major == 1) {
        hlen = (size_t)b[8] | (size_t)b[9] << 8;
        off = 10;
    } else if (major == 2 || major == 3) {
        if (len < 12)
            return nl_error_set(err, NL_EFORMAT, "%s: %s: truncated .npy header", name, what);
        hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
        off = 12;
    } else {
        return nl_error_set(err, NL_EFORMAT,
                            "%s: %s: .npy format version %d.%d: expected 1.0, 2.0 or 3.0", name,
                            what, major, minor);
    }
    if (hlen > len - off)
        return nl_error_set(err, NL_EFORMAT,
                            "%s: %s: the .npy header declares %zu bytes, only %zu follow", name,
                            what, hlen, len - off);
    const char *p = (const char *)b + off, *e = p + hlen;
    int have_descr = 0, have_order = 0, have_shape = 0;
    skip_ws(&p, e);
    if (p >= e || *p != '{')
        return nl_error_set(err, NL_EFORMAT,
                            "%s: %s: .npy header: expected a dict ('{') at "
                            "offset %zu",
                            name, what, (size_t)(p - (const char *)b));
    p++;
    for (;;) {
        skip_ws(&p, e);
        if (p < e && *p == '}') {
            p++;
            break;
        }
        const char *k;
        size_t kn;
        const size_t at = (size_t)(p - (const char *)b);
        if (!py_string(&p, e, &k, &kn))
            return nl_error_set(err, NL_EFORMAT,
                                "%s: %s: .npy header, offset %zu: expected a quoted key or '}'",
                                name, what, at);
        skip_ws(&p, e);
        if (p >= e || *p != ':')
            return nl_error_set(err, NL_EFORMAT, "%s: %s: .npy header: expected ':' after '%.*s'",
                                name, what, (int)kn, k);
        p++;
        skip_ws(&p, e);
        if (word_is(k, kn, "descr")) {
            const char *v;
            size_t vn;
            if (!py_string(&p, e, &v, &vn))
                return nl_error_set(err, NL_EFORMAT,
                                    "%s: %s: .npy header: descr is not a string (a structured "
                                    "dtype?): expected '<f4', '<f8', '|u1' or '<i8'",
                                    name, what);
            if (word_is(v, vn, "<f4"))
                a->dtype = NPY_F4, a->itemsize = 4;
            else if (word_is(v, vn, "<f8"))
                a->dtype = NPY_F8, a->itemsize = 8;
            else if (word_is(v, vn, "|u1") || word_is(v, vn, "<u1"))
                a->dtype = NPY_U1, a->itemsize = 1;
            else if (word_is(v, vn, "<i8"))
                a->dtype = NPY_I8, a->itemsize = 8;
            else
                return nl_error_set(err, NL_EFORMAT,
                                    "%s: %s: dtype '%.*s' is not supported: expected float32 "
                                    "('<f4'), float64 ('<f8'), uint8 ('|u1') or int64 ('<i8'), "
                                    "little-endian",
                                    name, what, (int)(vn > 32 ? 32 : vn), v);
            have_descr = 1;
        } else if (word_is(k, kn, "fortran_order")) {
            if ((size_t)(e - p) >= 5 && !memcmp(p, "False", 5)) {
                p += 5;
            } else if ((size_t)(e - p) >= 4 && !memcmp(p, "True", 4)) {
                return nl_error_set(err, NL_EFORMAT,
                                    "%s: %s: stored in Fortran order: expected C order (save "
                                    "numpy.ascontiguousarray(a))",
                                    name, what);
            } else {
                return nl_error_set(err, NL_EFORMAT,
                                    "%s: %s: .npy header: fortran_order is neither True nor False",
                                    name, what);
            }
            have_order = 1;
        } else if (word_is(k, kn, "shape")) {
            if (p >= e || *p != '(')
                return nl_error_set(err, NL_EFORMAT, "%s: %s: .npy header: shape is not a tuple",
                                    name, what);
            p++;
            a->rank = 0;
            for (;;) {
                skip_ws(&p, e);
                if (p < e && *p == ')') {
                    p++;
                    break;
                }
                if (p >= e || *p < '0' || *p > '9')
                    return nl_error_set(err, NL_EFORMAT,
                                        "%s: %s: .npy header: shape: expected a dimension or ')'",
                                        name, what);
                uint64_t v = 0;
                while (p < e && *p >= '0' && *p <= '9') {
                    if (v > (UINT64_C(1) << 50))
                        return nl_error_set(err, NL_EFORMAT,
                                            "%s: %s: .npy header: a dimension of the shape is "
                                            "too large",
                                            name, what);
                    v = v * 10 + (uint64_t)(*p++ - '0');
                }
                if (a->rank == NPY_MAX_RANK)
                    return nl_error_set(err, NL_EFORMAT,
                                        "%s: %s: more than %d dimensions: expected rank 1, 2 or 4",
                                        name, what, NPY_MAX_RANK);
                a->shape[a->rank++] = v;
                skip_ws(&p, e);
                if (p < e && *p == ',')
                    p++;
                else if (p < e && *p == ')')
                    continue;
                else
                    return nl_error_set(err, NL_EFORMAT,
                                        "%s: %s: .npy header: shape: expected ',' or ')'", name,
                                        what);
            }
            have_shape = 1;
        } else {
            return nl_error_set(err, NL_EFORMAT, "%s: %s: .npy header: unknown key '%.*s'", name,
                                what, (int)(kn > 32 ? 32 : kn), k);
        }
        skip_ws(&p, e);
        if (p < e && *p == ',')
            p++;
        else if (p < e && *p == '}')
            continue;
        else
            return nl_error_set(
                err, NL_EFORMAT,
                "%s: %s: .npy header: expected ',' or '}' after the value of '%.*s'", name, what,
                (int)kn, k);
    }
    skip_ws(&p, e);
    if (p != e)
        return nl_error_set(err, NL_EFORMAT, "%s: %s: .npy header: unexpected bytes after the dict",
                            name, what);
    if (!have_descr || !have_order || !have_shape)
        return nl_error_set(err, NL_EFORMAT, "%s: %s: .npy header: no '%s' key", name, what,
                            !have_descr   ? "descr"
                            : !have_order ? "fortran_order"
                                          : "shape");
    const size_t data_bytes = len - off - hlen;
    /* the element count, bounded by the bytes that are really there */
    uint64_t count = 1;
    for (int i = 0; i < a->rank; i++) {
        if (a->shape[i] != 0 && count > (uint64_t)data_bytes / a->shape[i]) {
            count = UINT64_MAX;
            break;
        }
        count *= a->shape[i];
    }
    if (count == UINT64_MAX || count * a->itemsize != data_bytes) {
        char dims[128] = "";
        size_t dn = 0;
        for (int i = 0; i < a->rank; i++)
            dn += (size_t)snprintf(dims + dn, sizeof dims - dn, "%s%llu", i ? ", " : "",
                                   (unsigned long long)a->shape[i]);
        return nl_error_set(err, NL_EFORMAT,
                            "%s: %s: the header declares shape (%s) of %s, the array has %zu "
                            "bytes of data%s",
                            name, what, dims, dtype_name(a->dtype), data_bytes,
                            count == UINT64_MAX ? " (far fewer)" : "");
    }
    a->count = (size_t)count;
    a->data = b + off + hlen;
    return NL_OK;
}

/* Element i of a as a double (little-endian in the file). */
static double npy_get(const npy *a, size_t i) {
    const uint8_t *p = a->data + i * a->itemsize;
    uint64_t u = 0;
    for (size_t k = 0; k < a->itemsize; k++) u |= (uint64_t)p[k] << (8 * k);
    switch (a->dtype) {
    case NPY_F4: {
        uint32_t v = (uint32_t)u;
        float f;
        memcpy(&f, &v, 4);
        return f;
    }
    case NPY_F8: {
        double f;
        memcpy(&f, &u, 8);
        return f;
    }
    case NPY_U1:
        return (double)(uint8_t)u;
    case NPY_I8:
        return (double)(int64_t)u;
    }
    return 0;
}

/* "x[3][17]" for element i of a. */
static void elem_name(const char *arr, const npy *a, size_t i, char *out, size_t n) {
    size_t idx[NPY_MAX_RANK];
    for (int k = a->rank - 1; k >= 0; k--) {
        idx[k] = a->shape[k] ? i % a->shape[k] : 0;
        i = a->shape[k] ? i / a->shape[k] : 0;
    }
    size_t o = (size_t)snprintf(out, n, "%s", arr);
    for (int k = 0; k < a->rank && o < n; k++)
        o += (size_t)snprintf(out + o, n - o, "[%zu]", idx[k]);
}

static const char *zip_code_text(int code, char *buf, size_t n) {
    zip_error_t ze;
    zip_error_init_with_code(&ze, code);
    snprintf(buf, n, "%s", zip_error_strerror(&ze));
    zip_error_fini(&ze);
    return buf;
}

/* Reads member `member` of the archive into *out (malloc'd): NL_ENOTFOUND
 * when it is not there. The buffer grows with the bytes that arrive. */
static nl_status read_member(zip_t *za, const char *name, const char *member, size_t max,
                             uint8_t **out, size_t *len, nl_error *err) {
    *out = NULL, *len = 0;
    zip_int64_t idx = zip_name_locate(za, member, 0);
    if (idx < 0) return NL_ENOTFOUND;
    zip_stat_t zs;
    zip_stat_init(&zs);
    size_t cap = 1 << 16;
    if (zip_stat_index(za, (zip_uint64_t)idx, 0, &zs) == 0 && (zs.valid & ZIP_STAT_SIZE) &&
        zs.size < (1u << 24))
        cap = (size_t)zs.size + 1;
    if (cap > max) cap = max;
    zip_file_t *zf = zip_fopen_index(za, (zip_uint64_t)idx, 0);
    if (!zf)
        return nl_error_set(err, NL_EFORMAT, "%s: cannot read %s: %s", name, member,
                            zip_strerror(za));
    uint8_t *b = malloc(cap);
    size_t n = 0;
    nl_status rc = NL_OK;
    if (!b) {
        rc = nl_error_set(err, NL_ENOMEM, "%s: %s: out of memory", name, member);
        goto done;
    }
    for (;;) {
        if (n == cap) {
            if (cap >= max) { /* full: only the end of the member may follow */
                uint8_t one;
                zip_int64_t r = zip_fread(zf, &one, 1);
                if (r == 0) break;
                rc = nl_error_set(err, NL_EFORMAT, "%s: %s: larger than %zu bytes (the limit)",
                                  name, member, max);
                goto done;
            }
            size_t ncap = cap > max / 2 ? max : cap * 2;
            uint8_t *nb = realloc(b, ncap);
            if (!nb) {
                rc = nl_error_set(err, NL_ENOMEM, "%s: %s: out of memory for %zu bytes", name,
                                  member, ncap);
                goto done;
            }
            b = nb, cap = ncap;
        }
        zip_int64_t r = zip_fread(zf, b + n, cap - n);
        if (r < 0) {
            rc = nl_error_set(err, NL_EFORMAT, "%s: %s: corrupted at byte %zu: %s", name, member, n,
                              zip_file_strerror(zf));
            goto done;
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    if ((zs.valid & ZIP_STAT_SIZE) && zs.size != n)
        rc = nl_error_set(err, NL_EFORMAT,
                          "%s: %s: the archive declares %llu bytes, %zu could be read", name,
                          member, (unsigned long long)zs.size, n);
done:
    zip_fclose(zf);
    if (rc) {
        free(b);
        return rc;
    }
    *out = b, *len = n;
    return NL_OK;
}

/* Reads x and y from an open archive into d. */
static nl_status npz_read(zip_t *za, const char *name, const nl_table_options *opt, nl_dataset *d,
                          nl_error *err) {
    const size_t max = opt->max_bytes ? opt->max_bytes : NL_TABLE_MAX_BYTES;
    uint8_t *xb = NULL, *yb = NULL;
    size_t xn = 0, yn = 0;
    nl_dataset t;
    memset(&t, 0, sizeof t);
    char where[96];
    nl_status st = read_member(za, name, "x.npy", max, &xb, &xn, err);
    if (st == NL_ENOTFOUND)
        st = nl_error_set(err, NL_EFORMAT,
                          "%s: no array 'x' (x.npy) in the archive: expected arrays x and y "
                          "(numpy.savez(path, x=..., y=...))",
                          name);
    if (st) goto done;
    const int want_y = opt->targets != NL_TABLE_INPUTS;
    if (want_y) {
        st = read_member(za, name, "y.npy", max, &yb, &yn, err);
        if (st == NL_ENOTFOUND)
            st = nl_error_set(err, NL_EFORMAT,
                              "%s: no array 'y' (y.npy) in the archive: expected arrays x and y "
                              "(numpy.savez(path, x=..., y=...))",
                              name);
        if (st) goto done;
    }
    npy x, y;
    if ((st = npy_parse(name, "array x", xb, xn, &x, err))) goto done;
    if (want_y && (st = npy_parse(name, "array y", yb, yn, &y, err))) goto done;
    if (x.rank != 2 && x.rank != 4) {
        st = nl_error_set(err, NL_EFORMAT,
                          "%s: array x has rank %d: expected [n][features] (rank 2) or "
                          "[n][H][W][C] (rank 4)",
                          name, x.rank);
        goto done;
    }
    const size_t n = (size_t)x.shape[0];
    if (n == 0) {
        st = nl_error_set(err, NL_EFORMAT, "%s: array x has no samples", name);
        goto done;
    }
    if (n > UINT32_MAX) {
        st = nl_error_set(err, NL_EFORMAT, "%s: array x has %zu samples: at most %u expected", name,
                          n, (unsigned)UINT32_MAX);
        goto done;
    }
    const size_t per = x.count / n;
    int shape[3];
    if (x.rank == 4) {
        for (int k = 1; k < 4; k++)
            if (x.shape[k] == 0 || x.shape[k] > 0x7fffffff) {
                st = nl_error_set(err, NL_EFORMAT, "%s: array x: dimension %d is %llu", name, k,
                                  (unsigned long long)x.shape[k]);
                goto done;
            }
        const int fh[3] = {(int)x.shape[1], (int)x.shape[2], (int)x.shape[3]};
        st = nl_table_shape(name, "array x", per, fh, opt, shape, err);
    } else {
        if (per == 0) {
            st = nl_error_set(err, NL_EFORMAT, "%s: array x has no features (shape [%zu][0])", name,
                              n);
            goto done;
        }
        st = nl_table_shape(name, "array x", per, NULL, opt, shape, err);
    }
    if (st) goto done;
    size_t k = 0;
    if (want_y) {
        if (y.rank < 1 || y.shape[0] != n) {
            st = nl_error_set(err, NL_EFORMAT,
                              "%s: array x has %zu samples, array y %llu: expected the same "
                              "number",
                              name, n, y.rank < 1 ? 0ULL : (unsigned long long)y.shape[0]);
            goto done;
        }
        k = y.count / n;
        if (opt->targets == NL_TABLE_CLASSES && (y.rank > 2 || k != 1)) {
            st = nl_error_set(err, NL_EFORMAT,
                              "%s: array y has %zu values a sample: expected one class index a "
                              "sample (shape [n])",
                              name, k);
            goto done;
        }
        if (opt->targets == NL_TABLE_VALUES && (y.rank > 2 || k == 0 || k > 0x7fffffff)) {
            st = nl_error_set(err, NL_EFORMAT,
                              "%s: array y has rank %d and %zu values a sample: expected [n] or "
                              "[n][k] float targets",
                              name, y.rank, k);
            goto done;
        }
        if (opt->targets == NL_TABLE_VALUES && opt->num_targets && k != (size_t)opt->num_targets) {
            st = nl_error_set(err, NL_EFORMAT,
                              "%s: array y has %zu targets a sample, the model outputs %d", name, k,
                              opt->num_targets);
            goto done;
        }
    }
    t.n = n;
    t.h = shape[0], t.w = shape[1], t.c = shape[2];
    t.x = malloc(x.count * sizeof(float));
    if (opt->targets == NL_TABLE_CLASSES) t.labels = malloc(n);
    if (opt->targets == NL_TABLE_VALUES) {
        t.y = malloc(y.count * sizeof(float));
        t.targets = (int)k;
    }
    if (!t.x || (opt->targets == NL_TABLE_CLASSES && !t.labels) ||
        (opt->targets == NL_TABLE_VALUES && !t.y)) {
        st = nl_error_set(err, NL_ENOMEM, "%s: out of memory for %zu samples", name, n);
        goto done;
    }
    for (size_t i = 0; i < x.count; i++) {
        const double v = npy_get(&x, i);
        if (!isfinite(v) || fabs(v) > 3.4028234663852886e38) {
            elem_name("x", &x, i, where, sizeof where);
            st =
                nl_error_set(err, NL_EFORMAT, "%s: %s is %s: expected a finite number", name, where,
                             isnan(v)   ? "NaN"
                             : isinf(v) ? "infinite"
                                        : "beyond float32");
            goto done;
        }
        t.x[i] = (float)v;
    }
    if (opt->targets == NL_TABLE_CLASSES) {
        const int bound = nl_table_class_bound(opt);
        int max_label = -1;
        for (size_t i = 0; i < n; i++) {
            const double v = npy_get(&y, i);
            const char *why = nl_table_label_problem(v, bound);
            if (why) {
                elem_name("y", &y, i, where, sizeof where);
                st = nl_error_set(err, NL_EFORMAT,
                                  "%s: %s = %.9g is %s: expected a class index 0..%d", name, where,
                                  v, why, bound - 1);
                goto done;
            }
            t.labels[i] = (uint8_t)v;
            if ((int)v > max_label) max_label = (int)v;
        }
        t.num_classes = opt->num_classes > 0 ? opt->num_classes : max_label + 1;
    } else if (opt->targets == NL_TABLE_VALUES) {
        for (size_t i = 0; i < y.count; i++) {
            const double v = npy_get(&y, i);
            if (!isfinite(v) || fabs(v) > 3.4028234663852886e38) {
                elem_name("y", &y, i, where, sizeof where);
                st = nl_error_set(err, NL_EFORMAT, "%s: %s is %s: expected a finite number", name,
                                  where,
                                  isnan(v)   ? "NaN"
                                  : isinf(v) ? "infinite"
                                             : "beyond float32");
                goto done;
            }
            t.y[i] = (float)v;
        }
    }
done:
    free(xb);
    free(yb);
    if (st) {
        nl_dataset_free(&t);
        return st;
    }
    *d = t;
    return NL_OK;
}

static nl_status open_fail(const char *name, int code, nl_error *err) {
    char buf[128];
    return nl_error_set(err, NL_EFORMAT, "%s: not a readable zip archive (an .npz file): %s", name,
                        zip_code_text(code, buf, sizeof buf));
}

nl_status nl_npz_parse(const char *name, const void *buf, size_t len, const nl_table_options *opt,
                       nl_dataset *d, nl_error *err) {
    memset(d, 0, sizeof *d);
    nl_status st = nl_table_check_options(opt, err);
    if (st) return st;
    const nl_table_options defaults = nl_table_defaults();
    if (!opt) opt = &defaults;
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(len ? buf : "", len, 0, &ze);
    if (!src) {
        zip_error_fini(&ze);
        return nl_error_set(err, NL_ENOMEM, "%s: out of memory", name);
    }
    zip_t *za = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze);
    if (!za) {
        const int code = zip_error_code_zip(&ze);
        zip_source_free(src);
        zip_error_fini(&ze);
        return open_fail(name, code, err);
    }
    zip_error_fini(&ze);
    st = npz_read(za, name, opt, d, err);
    zip_discard(za);
    return st;
}

nl_status nl_npz_load(const char *path, const nl_table_options *opt, nl_dataset *d, nl_error *err) {
    memset(d, 0, sizeof *d);
    nl_status st = nl_table_check_options(opt, err);
    if (st) return st;
    const nl_table_options defaults = nl_table_defaults();
    if (!opt) opt = &defaults;
    int fd = nl_open_regular(path, O_RDONLY, err);
    if (fd < 0) return err ? err->code : NL_EIO;
    int code = 0;
    zip_t *za = zip_fdopen(fd, ZIP_RDONLY | ZIP_CHECKCONS, &code);
    if (!za) {
        close(fd);
        return open_fail(path, code, err);
    }
    st = npz_read(za, path, opt, d, err);
    zip_discard(za);
    return st;
}
