/* The .nnm model-file reader (docs/model-file.md): one directive a line,
 * '#' starts a comment, words separated by blanks, options as key=value.
 * Every message starts "FILE:LINE:COL: " and names the word and what was
 * expected. The shapes are followed layer by layer here (the rules of the
 * layers' plans) so that a layer that does not fit is named by its line;
 * nl_nnm_compile catches what only the library's plan knows. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/path.h"
#include "nnlab/model.h"
#include "nnlab/optim.h"

enum { MAX_WORDS = 32, MAX_PARAMS = 1 << 28 };

typedef struct word {
    const char *s;
    int n;   /* bytes */
    int col; /* 1-based */
} word;

typedef struct parser {
    nl_nnm *f;
    const char *name;
    nl_error *err;
    int line;
    int eol_col; /* the column after the last word of the line */
    int loss_line, optim_line, schedule_line, batch_line, epochs_line, seed_line, dataset_line;
} parser;

/* The word as printable text for a message (at most 40 bytes, '?' for a byte
 * that is not printable ASCII). */
static const char *wtext(const char *s, int n, char *buf, size_t size) {
    size_t k = 0;
    int i;
    for (i = 0; i < n && k + 4 < size && i < 40; i++) {
        unsigned char ch = (unsigned char)s[i];
        buf[k++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
    }
    if (i < n) buf[k++] = '.', buf[k++] = '.', buf[k++] = '.';
    buf[k] = '\0';
    return buf;
}

static nl_status perr(parser *p, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static nl_status perr(parser *p, int line, int col, const char *fmt, ...) {
    char msg[NL_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return nl_error_set(p->err, NL_EFORMAT, "%s:%d:%d: %s", p->name, line, col, msg);
}

static int weq(const word *w, const char *s) {
    return (size_t)w->n == strlen(s) && !memcmp(w->s, s, (size_t)w->n);
}

/* A whole number in [lo, hi]; what names it in the message ("UNITS"). */
static nl_status get_int(parser *p, const char *dir, const word *w, const char *what, long long lo,
                         long long hi, long long *out) {
    char buf[64], t[64];
    int ok = w->n > 0 && w->n < (int)sizeof buf;
    long long v = 0;
    if (ok) {
        memcpy(buf, w->s, (size_t)w->n);
        buf[w->n] = '\0';
        ok = (buf[0] >= '0' && buf[0] <= '9') || (buf[0] == '-' && buf[1] >= '0' && buf[1] <= '9');
        if (ok) {
            char *end = NULL;
            errno = 0;
            v = strtoll(buf, &end, 10);
            ok = *end == '\0';
            if (ok && errno == ERANGE) v = buf[0] == '-' ? LLONG_MIN : LLONG_MAX;
        }
    }
    if (!ok)
        return perr(p, p->line, w->col,
                    "%s: '%s' is not a whole number (expected %s in %lld..%lld)", dir,
                    wtext(w->s, w->n, t, sizeof t), what, lo, hi);
    if (v < lo || v > hi)
        return perr(p, p->line, w->col, "%s: %s %s is out of range (expected %lld..%lld)", dir,
                    what, wtext(w->s, w->n, t, sizeof t), lo, hi);
    *out = v;
    return NL_OK;
}

/* A finite number in [lo, hi] (lo excluded when lo_open). */
static nl_status get_float(parser *p, const char *dir, const word *w, const char *what, double lo,
                           double hi, int lo_open, float *out) {
    char buf[64], t[64];
    int ok = w->n > 0 && w->n < (int)sizeof buf;
    float v = 0;
    if (ok) { /* strtof: one rounding from the decimal text to float */
        memcpy(buf, w->s, (size_t)w->n);
        buf[w->n] = '\0';
        char *end = NULL;
        v = strtof(buf, &end);
        ok = end != buf && *end == '\0' && isfinite(v);
    }
    const char *range = lo_open ? "(" : "[";
    if (!ok)
        return perr(p, p->line, w->col, "%s: '%s' is not a number (expected %s in %s%g, %g])", dir,
                    wtext(w->s, w->n, t, sizeof t), what, range, lo, hi);
    if (v < lo || v > hi || (lo_open && v == lo))
        return perr(p, p->line, w->col, "%s: %s %s is out of range (expected %s%g, %g])", dir, what,
                    wtext(w->s, w->n, t, sizeof t), range, lo, hi);
    *out = v;
    return NL_OK;
}

/* ---- one directive: its positional words and its key=value options ---- */

typedef struct args {
    const word *dir;
    word pos[MAX_WORDS];
    int npos;
    word key[MAX_WORDS], val[MAX_WORDS];
    int nopt;
    int used[MAX_WORDS]; /* options taken */
} args;

static const word *opt(args *a, const char *key) {
    for (int i = 0; i < a->nopt; i++)
        if (weq(&a->key[i], key)) {
            a->used[i] = 1;
            return &a->val[i];
        }
    return NULL;
}

/* Every option given must be one of the comma-separated allowed keys. */
static nl_status check_opts(parser *p, const args *a, const char *dirname, const char *allowed) {
    char t[64];
    for (int i = 0; i < a->nopt; i++) {
        for (int j = 0; j < i; j++)
            if (a->key[j].n == a->key[i].n &&
                !memcmp(a->key[j].s, a->key[i].s, (size_t)a->key[i].n))
                return perr(p, p->line, a->key[i].col, "%s: option '%s=' given twice", dirname,
                            wtext(a->key[i].s, a->key[i].n, t, sizeof t));
        int ok = 0;
        const char *s = allowed;
        while (*s) {
            const char *e = strchr(s, ',');
            size_t n = e ? (size_t)(e - s) : strlen(s);
            if ((size_t)a->key[i].n == n && !memcmp(a->key[i].s, s, n)) ok = 1;
            s += n + (e ? 1 : 0);
        }
        if (!ok) {
            if (!*allowed)
                return perr(p, p->line, a->key[i].col, "%s: unknown option '%s=' (%s takes none)",
                            dirname, wtext(a->key[i].s, a->key[i].n, t, sizeof t), dirname);
            char list[256] = "";
            size_t k = 0;
            for (s = allowed; *s && k + 8 < sizeof list;) {
                const char *e = strchr(s, ',');
                size_t n = e ? (size_t)(e - s) : strlen(s);
                k += (size_t)snprintf(list + k, sizeof list - k, "%s%.*s=", k ? ", " : "", (int)n,
                                      s);
                s += n + (e ? 1 : 0);
            }
            return perr(p, p->line, a->key[i].col, "%s: unknown option '%s=' (expected %s)",
                        dirname, wtext(a->key[i].s, a->key[i].n, t, sizeof t), list);
        }
        if (a->val[i].n == 0)
            return perr(p, p->line, a->val[i].col, "%s: missing value after '%s='", dirname,
                        wtext(a->key[i].s, a->key[i].n, t, sizeof t));
    }
    return NL_OK;
}

/* Positional word i, or "missing WHAT" at the end of the line. */
static nl_status need_pos(parser *p, const args *a, int i, const char *dirname, const char *what,
                          const char *expected) {
    if (i < a->npos) return NL_OK;
    return perr(p, p->line, p->eol_col, "%s: missing %s (%s)", dirname, what, expected);
}

/* No positional word after the first n. */
static nl_status no_more(parser *p, const args *a, int n, const char *dirname, const char *usage) {
    char t[64];
    if (a->npos <= n) return NL_OK;
    return perr(p, p->line, a->pos[n].col,
                "%s: unexpected '%s' (trailing words: the syntax is '%s')", dirname,
                wtext(a->pos[n].s, a->pos[n].n, t, sizeof t), usage);
}

static const struct {
    const char *name;
    int act;
} act_names[] = {
    {"linear", NL_ACT_NONE},         {"none", NL_ACT_NONE},       {"relu", NL_ACT_RELU},
    {"tanh", NL_ACT_TANH},           {"sigmoid", NL_ACT_SIGMOID}, {"gelu", NL_ACT_GELU},
    {"leakyrelu", NL_ACT_LEAKYRELU}, {"softmax", NL_ACT_SOFTMAX},
};
#define ACT_LIST "linear, relu, tanh, sigmoid, gelu, leakyrelu or softmax"

static int find_act(const word *w) {
    for (size_t i = 0; i < sizeof act_names / sizeof act_names[0]; i++)
        if (weq(w, act_names[i].name)) return act_names[i].act;
    return -1;
}

static nl_status add_layer(parser *p, const args *a, const nl_layer_spec *s, nl_nnm_layer **out) {
    nl_nnm *f = p->f;
    if (!f->input_line)
        return perr(p, p->line, a->dir->col,
                    "%.*s before input: a model starts with 'input H W C' or 'input N'", a->dir->n,
                    a->dir->s);
    if (f->nlayers >= NL_NNM_MAX_LAYERS)
        return perr(p, p->line, a->dir->col, "more than %d layers", NL_NNM_MAX_LAYERS);
    nl_nnm_layer *L = &f->layers[f->nlayers++];
    memset(L, 0, sizeof *L);
    L->spec = *s;
    L->line = p->line;
    L->col = a->dir->col;
    /* the directive as written: its words, one blank between */
    size_t k = 0;
    const word *ws[2 * MAX_WORDS + 1];
    int nw = 0;
    ws[nw++] = a->dir;
    for (int i = 0; i < a->npos; i++) ws[nw++] = &a->pos[i];
    for (int i = 0; i < nw && k + 2 < sizeof L->text; i++) {
        char t[64];
        k += (size_t)snprintf(L->text + k, sizeof L->text - k, "%s%s", i ? " " : "",
                              wtext(ws[i]->s, ws[i]->n, t, sizeof t));
    }
    for (int i = 0; i < a->nopt && k + 2 < sizeof L->text; i++) {
        char t1[64], t2[64];
        k += (size_t)snprintf(L->text + k, sizeof L->text - k, " %s=%s",
                              wtext(a->key[i].s, a->key[i].n, t1, sizeof t1),
                              wtext(a->val[i].s, a->val[i].n, t2, sizeof t2));
    }
    if (k >= sizeof L->text) L->text[sizeof L->text - 1] = '\0';
    if (out) *out = L;
    return NL_OK;
}

/* ACT at positional i (optional) and alpha= for leakyrelu. */
static nl_status get_act(parser *p, args *a, int i, const char *dirname, nl_layer_spec *s,
                         int *act_col) {
    char t[64];
    s->act = NL_ACT_NONE;
    *act_col = 0;
    if (i < a->npos) {
        int act = find_act(&a->pos[i]);
        if (act < 0)
            return perr(p, p->line, a->pos[i].col, "%s: unknown activation '%s' (expected %s)",
                        dirname, wtext(a->pos[i].s, a->pos[i].n, t, sizeof t), ACT_LIST);
        s->act = act;
        *act_col = a->pos[i].col;
    }
    const word *al = opt(a, "alpha");
    if (al) {
        if (s->act != NL_ACT_LEAKYRELU)
            return perr(p, p->line, al->col - 6, "%s: alpha= applies to leakyrelu only", dirname);
        if (get_float(p, dirname, al, "alpha", 0, 1, 1, &s->alpha)) return p->err->code;
    } else if (s->act == NL_ACT_LEAKYRELU) {
        s->alpha = 0.01f;
    }
    return NL_OK;
}

/* Pooling: K [stride=K]. */
static nl_status pool(parser *p, args *a, const char *dirname, int kind) {
    long long k, st;
    nl_layer_spec s = {.kind = kind};
    if (check_opts(p, a, dirname, "stride") ||
        need_pos(p, a, 0, dirname, "K", "the window size, a whole number in 1..64") ||
        get_int(p, dirname, &a->pos[0], "K", 1, 64, &k) ||
        no_more(p, a, 1, dirname,
                kind == NL_LAYER_MAXPOOL2D ? "maxpool2d K [stride=K]" : "avgpool2d K [stride=K]"))
        return p->err->code;
    st = k;
    const word *sw = opt(a, "stride");
    if (sw && get_int(p, dirname, sw, "stride", 1, 64, &st)) return p->err->code;
    s.kernel = (int)k, s.stride = (int)st;
    return add_layer(p, a, &s, NULL);
}

static nl_status directive(parser *p, args *a) {
    nl_nnm *f = p->f;
    char t[64];
    const word *d = a->dir;
    char dn[32];
    wtext(d->s, d->n, dn, sizeof dn);
    nl_layer_spec s = {0};
    long long v;
    int act_col = 0;
    if (weq(d, "input")) {
        if (f->input_line)
            return perr(p, p->line, d->col, "a second input (the first is on line %d)",
                        f->input_line);
        if (check_opts(p, a, dn, "")) return p->err->code;
        if (a->npos == 0)
            return perr(p, p->line, p->eol_col,
                        "input: missing the shape (expected 'input H W C' or 'input N')");
        if (a->npos == 1) {
            if (get_int(p, dn, &a->pos[0], "N", 1, MAX_PARAMS, &v)) return p->err->code;
            f->h = f->w = 1, f->c = (int)v;
        } else if (a->npos == 3) {
            long long hw[3];
            for (int i = 0; i < 3; i++)
                if (get_int(p, dn, &a->pos[i], i == 0 ? "H" : i == 1 ? "W" : "C", 1, 65536, &hw[i]))
                    return p->err->code;
            if (hw[0] * hw[1] * hw[2] > MAX_PARAMS)
                return perr(p, p->line, a->pos[0].col,
                            "input: %lldx%lldx%lld is %lld values, at most 2^28", hw[0], hw[1],
                            hw[2], hw[0] * hw[1] * hw[2]);
            f->h = (int)hw[0], f->w = (int)hw[1], f->c = (int)hw[2];
        } else {
            return perr(p, p->line, a->pos[a->npos == 2 ? 1 : 3].col,
                        "input: %d numbers (expected 'input H W C' or 'input N')", a->npos);
        }
        f->input_line = p->line;
        return NL_OK;
    }
    if (weq(d, "dense")) {
        s.kind = NL_LAYER_DENSE;
        nl_nnm_layer *L;
        if (check_opts(p, a, dn, "alpha") ||
            need_pos(p, a, 0, dn, "UNITS", "the output features, a whole number in 1..65536") ||
            get_int(p, dn, &a->pos[0], "UNITS", 1, 65536, &v) ||
            get_act(p, a, 1, dn, &s, &act_col) ||
            no_more(p, a, 2, dn, "dense UNITS [ACT] [alpha=]"))
            return p->err->code;
        s.units = (int)v;
        if (add_layer(p, a, &s, &L)) return p->err->code;
        if (act_col) L->act_line = p->line, L->act_col = act_col;
        return NL_OK;
    }
    if (weq(d, "conv2d")) {
        long long k, st = 1;
        s.kind = NL_LAYER_CONV2D;
        nl_nnm_layer *L;
        if (check_opts(p, a, dn, "stride,padding,alpha") ||
            need_pos(p, a, 0, dn, "FILTERS", "the output channels, a whole number in 1..65536") ||
            get_int(p, dn, &a->pos[0], "FILTERS", 1, 65536, &v) ||
            need_pos(p, a, 1, dn, "KERNEL", "the kernel size, a whole number in 1..64") ||
            get_int(p, dn, &a->pos[1], "KERNEL", 1, 64, &k) || get_act(p, a, 2, dn, &s, &act_col) ||
            no_more(p, a, 3, dn, "conv2d FILTERS KERNEL [ACT] [stride=1] [padding=valid|same]"))
            return p->err->code;
        const word *sw = opt(a, "stride"), *pw = opt(a, "padding");
        if (sw && get_int(p, dn, sw, "stride", 1, 64, &st)) return p->err->code;
        s.padding = NL_PAD_VALID;
        if (pw) {
            if (weq(pw, "same"))
                s.padding = NL_PAD_SAME;
            else if (!weq(pw, "valid"))
                return perr(p, p->line, pw->col, "conv2d: padding '%s' (expected valid or same)",
                            wtext(pw->s, pw->n, t, sizeof t));
        }
        if (s.act == NL_ACT_SOFTMAX)
            return perr(p, p->line, act_col,
                        "conv2d: softmax is only the activation of the last dense layer");
        s.units = (int)v, s.kernel = (int)k, s.stride = (int)st;
        if (add_layer(p, a, &s, &L)) return p->err->code;
        if (act_col) L->act_line = p->line, L->act_col = act_col;
        return NL_OK;
    }
    if (weq(d, "maxpool2d")) return pool(p, a, dn, NL_LAYER_MAXPOOL2D);
    if (weq(d, "avgpool2d")) return pool(p, a, dn, NL_LAYER_AVGPOOL2D);
    if (weq(d, "globalavgpool2d") || weq(d, "flatten")) {
        s.kind = weq(d, "flatten") ? NL_LAYER_FLATTEN : NL_LAYER_GLOBALAVGPOOL2D;
        if (check_opts(p, a, dn, "") || no_more(p, a, 0, dn, dn)) return p->err->code;
        return add_layer(p, a, &s, NULL);
    }
    if (weq(d, "batchnorm")) {
        s.kind = NL_LAYER_BATCHNORM;
        s.eps = 1e-5f, s.momentum = 0.1f;
        if (check_opts(p, a, dn, "eps,momentum") ||
            no_more(p, a, 0, dn, "batchnorm [eps=1e-5] [momentum=0.1]"))
            return p->err->code;
        const word *ew = opt(a, "eps"), *mw = opt(a, "momentum");
        if ((ew && get_float(p, dn, ew, "eps", 0, 1, 1, &s.eps)) ||
            (mw && get_float(p, dn, mw, "momentum", 0, 1, 0, &s.momentum)))
            return p->err->code;
        return add_layer(p, a, &s, NULL);
    }
    if (weq(d, "dropout")) {
        s.kind = NL_LAYER_DROPOUT;
        if (check_opts(p, a, dn, "") ||
            need_pos(p, a, 0, dn, "RATE", "the drop probability, a number in [0, 1)") ||
            no_more(p, a, 1, dn, "dropout RATE"))
            return p->err->code;
        if (get_float(p, dn, &a->pos[0], "RATE", 0, 1, 0, &s.rate)) return p->err->code;
        if (!(s.rate < 1.0f))
            return perr(p, p->line, a->pos[0].col,
                        "dropout: RATE 1 is out of range (expected [0, 1): 1 drops everything)");
        return add_layer(p, a, &s, NULL);
    }
    int act = find_act(d);
    if (act > 0) { /* an activation layer (linear/none are no layer) */
        if (check_opts(p, a, dn, act == NL_ACT_LEAKYRELU ? "alpha" : "") ||
            no_more(p, a, 0, dn, act == NL_ACT_LEAKYRELU ? "leakyrelu [alpha=0.01]" : dn))
            return p->err->code;
        if (act == NL_ACT_SOFTMAX) {
            /* the softmax of the last dense layer, written as a layer of its own */
            nl_nnm_layer *prev = f->nlayers ? &f->layers[f->nlayers - 1] : NULL;
            if (!f->input_line)
                return perr(p, p->line, d->col,
                            "softmax before input: a model starts with 'input H W C' or 'input N'");
            if (!prev || prev->spec.kind != NL_LAYER_DENSE || prev->spec.act != NL_ACT_NONE)
                return perr(p, p->line, d->col,
                            "softmax after '%s': softmax is only the activation of the last "
                            "dense layer ('dense N softmax', or 'softmax' right after a linear "
                            "'dense N')",
                            prev ? prev->text : "input");
            prev->spec.act = NL_ACT_SOFTMAX;
            prev->act_line = p->line, prev->act_col = d->col;
            return NL_OK;
        }
        if (act == NL_ACT_RELU) {
            s.kind = NL_LAYER_RELU;
        } else {
            s.kind = NL_LAYER_ACTIVATION;
            s.act = act;
            if (act == NL_ACT_LEAKYRELU) {
                s.alpha = 0.01f;
                const word *al = opt(a, "alpha");
                if (al && get_float(p, dn, al, "alpha", 0, 1, 1, &s.alpha)) return p->err->code;
            }
        }
        return add_layer(p, a, &s, NULL);
    }
    /* the training settings: once each, anywhere in the file */
#define ONCE(bit, line_field, what)                                                                \
    do {                                                                                           \
        if (f->set & (bit))                                                                        \
            return perr(p, p->line, d->col, "%s given twice (the first is on line %d)", what,      \
                        p->line_field);                                                            \
        f->set |= (bit);                                                                           \
        p->line_field = p->line;                                                                   \
    } while (0)
    if (weq(d, "loss")) {
        ONCE(NL_NNM_SET_LOSS, loss_line, "loss");
        if (check_opts(p, a, dn, "") || need_pos(p, a, 0, dn, "the loss", "crossentropy or mse") ||
            no_more(p, a, 1, dn, "loss crossentropy|mse"))
            return p->err->code;
        if (weq(&a->pos[0], "crossentropy"))
            f->loss = NL_LOSS_CROSSENTROPY;
        else if (weq(&a->pos[0], "mse"))
            f->loss = NL_LOSS_MSE;
        else
            return perr(p, p->line, a->pos[0].col,
                        "loss: unknown loss '%s' (expected crossentropy or mse)",
                        wtext(a->pos[0].s, a->pos[0].n, t, sizeof t));
        return NL_OK;
    }
    if (weq(d, "optimizer")) {
        ONCE(NL_NNM_SET_OPTIMIZER, optim_line, "optimizer");
        if (check_opts(p, a, dn, "lr,beta1,beta2,eps,weight_decay,momentum") ||
            need_pos(p, a, 0, dn, "the optimizer", "adam, adamw or sgd") ||
            no_more(p, a, 1, dn,
                    "optimizer adam|adamw|sgd [lr=] [beta1=] [beta2=] [eps=] "
                    "[weight_decay=] [momentum=]"))
            return p->err->code;
        nl_optim_kind kind;
        if (weq(&a->pos[0], "adam"))
            kind = NL_OPT_ADAM;
        else if (weq(&a->pos[0], "adamw"))
            kind = NL_OPT_ADAMW;
        else if (weq(&a->pos[0], "sgd"))
            kind = NL_OPT_SGD;
        else
            return perr(p, p->line, a->pos[0].col,
                        "optimizer: unknown optimizer '%s' (expected adam, adamw or sgd)",
                        wtext(a->pos[0].s, a->pos[0].n, t, sizeof t));
        nl_optim_config c = nl_optim_defaults(kind);
        static const struct {
            const char *key;
            unsigned kinds; /* bit per nl_optim_kind */
            double lo, hi;
            int lo_open;
            size_t off;
        } keys[] = {
            {"lr", 7, 0, 100, 1, offsetof(nl_optim_config, lr)},
            {"beta1", 3, 0, 0.999999, 0, offsetof(nl_optim_config, beta1)},
            {"beta2", 3, 0, 0.999999, 0, offsetof(nl_optim_config, beta2)},
            {"eps", 3, 0, 1, 1, offsetof(nl_optim_config, eps)},
            {"weight_decay", 2, 0, 10, 0, offsetof(nl_optim_config, weight_decay)},
            {"momentum", 4, 0, 0.9999, 0, offsetof(nl_optim_config, momentum)},
        };
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
            const word *w = opt(a, keys[i].key);
            if (!w) continue;
            if (!(keys[i].kinds >> kind & 1u))
                return perr(p, p->line, w->col - (int)strlen(keys[i].key) - 1,
                            "optimizer: %s= does not apply to %s (it is for %s)", keys[i].key,
                            nl_optim_name(kind),
                            keys[i].kinds == 4   ? "sgd"
                            : keys[i].kinds == 2 ? "adamw"
                                                 : "adam and adamw");
            if (get_float(p, dn, w, keys[i].key, keys[i].lo, keys[i].hi, keys[i].lo_open,
                          (float *)((char *)&c + keys[i].off)))
                return p->err->code;
        }
        f->optim = c;
        return NL_OK;
    }
    if (weq(d, "schedule")) {
        ONCE(NL_NNM_SET_SCHEDULE, schedule_line, "schedule");
        if (check_opts(p, a, dn, "warmup,step_size,gamma") ||
            need_pos(p, a, 0, dn, "the schedule", "constant, step or cosine") ||
            no_more(p, a, 1, dn, "schedule constant|step|cosine [warmup=] [step_size=] [gamma=]"))
            return p->err->code;
        nl_schedule sc = {0};
        if (weq(&a->pos[0], "constant"))
            sc.kind = NL_SCHED_CONSTANT;
        else if (weq(&a->pos[0], "step"))
            sc.kind = NL_SCHED_STEP;
        else if (weq(&a->pos[0], "cosine"))
            sc.kind = NL_SCHED_COSINE;
        else
            return perr(p, p->line, a->pos[0].col,
                        "schedule: unknown schedule '%s' (expected constant, step or cosine)",
                        wtext(a->pos[0].s, a->pos[0].n, t, sizeof t));
        if (sc.kind == NL_SCHED_STEP) sc.step_size = 1, sc.gamma = 0.1f;
        const word *ww = opt(a, "warmup"), *sw = opt(a, "step_size"), *gw = opt(a, "gamma");
        if (ww) {
            if (get_int(p, dn, ww, "warmup", 0, 1000000000, &v)) return p->err->code;
            sc.warmup = (int)v;
        }
        if ((sw || gw) && sc.kind != NL_SCHED_STEP)
            return perr(p, p->line, (sw ? sw : gw)->col - (sw ? 10 : 6),
                        "schedule: %s= applies to the step schedule only",
                        sw ? "step_size" : "gamma");
        if (sw) {
            if (get_int(p, dn, sw, "step_size", 1, 100000, &v)) return p->err->code;
            sc.step_size = (int)v;
        }
        if (gw && get_float(p, dn, gw, "gamma", 0, 1, 1, &sc.gamma)) return p->err->code;
        f->schedule = sc;
        return NL_OK;
    }
    if (weq(d, "batch") || weq(d, "epochs")) {
        const int is_batch = weq(d, "batch");
        if (is_batch)
            ONCE(NL_NNM_SET_BATCH, batch_line, "batch");
        else
            ONCE(NL_NNM_SET_EPOCHS, epochs_line, "epochs");
        if (check_opts(p, a, dn, "") ||
            need_pos(p, a, 0, dn, "N",
                     is_batch ? "a whole number in 1..65536" : "a whole number in 1..100000") ||
            no_more(p, a, 1, dn, is_batch ? "batch N" : "epochs N") ||
            get_int(p, dn, &a->pos[0], "N", 1, is_batch ? 65536 : 100000, &v))
            return p->err->code;
        if (is_batch)
            f->batch = (int)v;
        else
            f->epochs = (int)v;
        return NL_OK;
    }
    if (weq(d, "seed")) {
        ONCE(NL_NNM_SET_SEED, seed_line, "seed");
        if (check_opts(p, a, dn, "") ||
            need_pos(p, a, 0, dn, "N", "a whole number in 0..18446744073709551615") ||
            no_more(p, a, 1, dn, "seed N"))
            return p->err->code;
        const word *w = &a->pos[0];
        uint64_t sv = 0;
        int ok = w->n > 0 && w->n <= 20;
        for (int i = 0; ok && i < w->n; i++) {
            unsigned dgt = (unsigned)(w->s[i] - '0');
            if (dgt > 9 || sv > (UINT64_MAX - dgt) / 10)
                ok = 0;
            else
                sv = sv * 10 + dgt;
        }
        if (!ok)
            return perr(p, p->line, w->col,
                        "seed: '%s' is not a whole number in 0..18446744073709551615",
                        wtext(w->s, w->n, t, sizeof t));
        f->seed = sv;
        return NL_OK;
    }
    if (weq(d, "dataset")) {
        ONCE(NL_NNM_SET_DATASET, dataset_line, "dataset");
        if (check_opts(p, a, dn, "") || need_pos(p, a, 0, dn, "NAME", "a dataset name") ||
            no_more(p, a, 1, dn, "dataset NAME"))
            return p->err->code;
        const word *w = &a->pos[0];
        int ok = w->n < (int)sizeof f->dataset;
        for (int i = 0; ok && i < w->n; i++) {
            char ch = w->s[i];
            ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                 ch == '-' || ch == '_' || ch == '.';
        }
        if (!ok)
            return perr(p, p->line, w->col,
                        "dataset: '%s' is not a dataset name (letters, digits, '-', '_', '.'; "
                        "at most 63)",
                        wtext(w->s, w->n, t, sizeof t));
        memcpy(f->dataset, w->s, (size_t)w->n);
        f->dataset[w->n] = '\0';
        return NL_OK;
    }
#undef ONCE
    return perr(p, p->line, d->col,
                "unknown directive '%s' (expected input, dense, conv2d, maxpool2d, avgpool2d, "
                "globalavgpool2d, batchnorm, dropout, flatten, relu, tanh, sigmoid, gelu, "
                "leakyrelu, softmax, loss, optimizer, schedule, batch, epochs, seed or dataset)",
                wtext(d->s, d->n, t, sizeof t));
}

/* ---- the whole model: shapes, parameters, the loss and softmax ---- */

static nl_status check_model(parser *p) {
    nl_nnm *f = p->f;
    if (!f->input_line)
        return perr(p, p->line > 0 ? p->line : 1, 1,
                    "no input directive (expected 'input H W C' or 'input N' before the layers)");
    if (f->nlayers == 0)
        return perr(p, f->input_line, 1, "no layers after input (a model needs at least one)");
    int h = f->h, w = f->w, c = f->c;
    size_t params = 0, state = 0, values = (size_t)h * w * c;
    for (int i = 0; i < f->nlayers; i++) {
        nl_nnm_layer *L = &f->layers[i];
        const nl_layer_spec *s = &L->spec;
        int oh = h, ow = w, oc = c;
        size_t np = 0;
        switch (s->kind) {
        case NL_LAYER_DENSE:
            oh = ow = 1, oc = s->units;
            np = ((size_t)h * w * c + 1) * (size_t)s->units;
            break;
        case NL_LAYER_CONV2D:
            if (s->padding == NL_PAD_SAME) {
                oh = (h + s->stride - 1) / s->stride, ow = (w + s->stride - 1) / s->stride;
            } else {
                if (h < s->kernel || w < s->kernel)
                    return perr(p, L->line, L->col,
                                "%s on a %dx%dx%d input: the %dx%d kernel does not fit with "
                                "padding=valid (use a smaller kernel or padding=same)",
                                L->text, h, w, c, s->kernel, s->kernel);
                oh = (h - s->kernel) / s->stride + 1, ow = (w - s->kernel) / s->stride + 1;
            }
            oc = s->units;
            np = (size_t)s->kernel * s->kernel * c * s->units + (size_t)s->units;
            break;
        case NL_LAYER_MAXPOOL2D:
        case NL_LAYER_AVGPOOL2D:
            if (h < s->kernel || w < s->kernel)
                return perr(p, L->line, L->col,
                            "%s on a %dx%dx%d input: the %dx%d window is larger than the input",
                            L->text, h, w, c, s->kernel, s->kernel);
            oh = (h - s->kernel) / s->stride + 1, ow = (w - s->kernel) / s->stride + 1;
            break;
        case NL_LAYER_GLOBALAVGPOOL2D:
            oh = ow = 1;
            break;
        case NL_LAYER_FLATTEN:
            oh = ow = 1, oc = h * w * c;
            break;
        case NL_LAYER_BATCHNORM:
            np = 2 * (size_t)c;
            state += 2 * (size_t)c;
            break;
        default:
            break; /* dropout, activations: the shape stays */
        }
        if ((size_t)oh * ow * oc > (size_t)MAX_PARAMS)
            return perr(p, L->line, L->col, "%s on a %dx%dx%d input: output %dx%dx%d is too large",
                        L->text, h, w, c, oh, ow, oc);
        params += np;
        values += (size_t)oh * ow * oc;
        if (params > (size_t)MAX_PARAMS)
            return perr(p, L->line, L->col,
                        "%s on a %dx%dx%d input: the model reaches %zu parameters, at most 2^28",
                        L->text, h, w, c, params);
        const int last = i == f->nlayers - 1;
        if (s->act == NL_ACT_SOFTMAX && f->loss == NL_LOSS_MSE)
            return perr(p, L->act_line, L->act_col,
                        "softmax with loss mse (line %d): mse takes the outputs as they are; end "
                        "in a linear layer",
                        p->loss_line);
        if (s->act == NL_ACT_SOFTMAX && !last)
            return perr(p, L->act_line, L->act_col,
                        "softmax is not on the last layer: with loss crossentropy it is fused "
                        "with the loss and ends the model ('dense N softmax' last)");
        if (last && f->loss == NL_LOSS_CROSSENTROPY) {
            if (s->kind != NL_LAYER_DENSE || s->act != NL_ACT_SOFTMAX)
                return perr(p, L->line, L->col,
                            "'%s' is the last layer: with loss crossentropy the model ends in "
                            "'dense N softmax' (for regression say 'loss mse')",
                            L->text);
            if (s->units < 2 || s->units > 256)
                return perr(p, L->line, L->col,
                            "'%s': %d classes with loss crossentropy (expected 2..256)", L->text,
                            s->units);
        }
        h = oh, w = ow, c = oc;
    }
    f->params = params;
    f->state = state;
    f->values = values;
    return NL_OK;
}

static void add_description(nl_nnm *f, const char *s, int n) {
    while (n > 0 && (*s == ' ' || *s == '\t')) s++, n--;
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    size_t k = strlen(f->description);
    if (n <= 0 || k + 2 >= sizeof f->description) return;
    if (k) f->description[k++] = ' ';
    for (int i = 0; i < n && k + 1 < sizeof f->description; i++) {
        unsigned char ch = (unsigned char)s[i];
        f->description[k++] = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
    }
    f->description[k] = '\0';
}

nl_status nl_nnm_parse(const char *name, const char *text, size_t len, nl_nnm *f, nl_error *err) {
    if (!f) return nl_error_set(err, NL_EINVAL, "nl_nnm_parse: no output");
    memset(f, 0, sizeof *f);
    snprintf(f->name, sizeof f->name, "%s", name ? name : "(model)");
    f->loss = NL_LOSS_CROSSENTROPY;
    f->optim = nl_optim_defaults(NL_OPT_ADAM);
    f->batch = 32;
    f->epochs = 3;
    parser p = {.f = f, .name = f->name, .err = err};
    if (!text && len) return nl_error_set(err, NL_EINVAL, "nl_nnm_parse: no text");
    if (len > NL_NNM_MAX_BYTES)
        return nl_error_set(err, NL_EFORMAT, "%s: %zu bytes, a model file has at most %d", f->name,
                            len, NL_NNM_MAX_BYTES);
    int in_description = 1, seen_comment = 0;
    size_t pos = 0;
    while (pos < len) {
        size_t end = pos;
        while (end < len && text[end] != '\n') end++;
        p.line++;
        const char *ln = text + pos;
        size_t n = end - pos;
        pos = end + 1;
        if (n && ln[n - 1] == '\r') n--;
        for (size_t i = 0; i < n; i++)
            if (ln[i] == '\0')
                return perr(&p, p.line, (int)i + 1, "a NUL byte (a model file is text)");
        if (n > 4096) return perr(&p, p.line, 4097, "line longer than 4096 bytes");
        /* the words before a '#' */
        args a;
        memset(&a, 0, sizeof a);
        word words[MAX_WORDS + 1];
        int nw = 0;
        size_t i = 0, comment = n;
        while (i < n) {
            while (i < n && (ln[i] == ' ' || ln[i] == '\t')) i++;
            if (i >= n) break;
            if (ln[i] == '#') {
                comment = i;
                break;
            }
            size_t j = i;
            while (j < n && ln[j] != ' ' && ln[j] != '\t' && ln[j] != '#') j++;
            if (nw == MAX_WORDS)
                return perr(&p, p.line, (int)i + 1, "more than %d words on a line", MAX_WORDS);
            words[nw++] = (word){ln + i, (int)(j - i), (int)i + 1};
            i = j;
        }
        p.eol_col = nw ? words[nw - 1].col + words[nw - 1].n + 1 : 1;
        if (nw == 0) {
            size_t before = strlen(f->description);
            if (in_description && comment < n)
                add_description(f, ln + comment + 1, (int)(n - comment - 1));
            if (strlen(f->description) > before)
                seen_comment = 1;
            else if (seen_comment)
                in_description = 0; /* a blank line ends the first block */
            continue;
        }
        in_description = 0;
        a.dir = &words[0];
        for (int k = 1; k < nw; k++) {
            const char *eq = memchr(words[k].s, '=', (size_t)words[k].n);
            if (!eq) {
                if (a.nopt) {
                    char t[64];
                    return perr(&p, p.line, words[k].col,
                                "%.*s: '%s' after the options (positional values come first)",
                                a.dir->n > 31 ? 31 : a.dir->n, a.dir->s,
                                wtext(words[k].s, words[k].n, t, sizeof t));
                }
                a.pos[a.npos++] = words[k];
            } else {
                int kn = (int)(eq - words[k].s);
                a.key[a.nopt] = (word){words[k].s, kn, words[k].col};
                a.val[a.nopt] = (word){eq + 1, words[k].n - kn - 1, words[k].col + kn + 1};
                a.nopt++;
            }
        }
        if (memchr(a.dir->s, '=', (size_t)a.dir->n)) {
            char t[64];
            return perr(&p, p.line, a.dir->col,
                        "'%s': a line starts with a directive, not an option",
                        wtext(a.dir->s, a.dir->n, t, sizeof t));
        }
        if (directive(&p, &a)) return err ? err->code : NL_EFORMAT;
    }
    return check_model(&p);
}

nl_status nl_nnm_load(const char *path, nl_nnm *out, nl_error *err) {
    if (!path) return nl_error_set(err, NL_EINVAL, "nl_nnm_load: no path");
    int fd = nl_open_regular(path, O_RDONLY, err);
    if (fd < 0) return err ? err->code : NL_EIO;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return nl_error_set(err, NL_EIO, "%s: %s", path, strerror(e));
    }
    if (st.st_size > NL_NNM_MAX_BYTES) {
        close(fd);
        return nl_error_set(err, NL_EFORMAT, "%s: %lld bytes, a model file has at most %d", path,
                            (long long)st.st_size, NL_NNM_MAX_BYTES);
    }
    char *buf = malloc(NL_NNM_MAX_BYTES + 1);
    if (!buf) {
        close(fd);
        return nl_error_set(err, NL_ENOMEM, "%s: out of memory", path);
    }
    size_t n = 0;
    for (;;) { /* read to the end: the file may have grown since fstat */
        ssize_t r = read(fd, buf + n, NL_NNM_MAX_BYTES + 1 - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            free(buf);
            return nl_error_set(err, NL_EIO, "%s: read error at offset %zu: %s", path, n,
                                strerror(e));
        }
        if (r == 0) break;
        n += (size_t)r;
        if (n > NL_NNM_MAX_BYTES) {
            close(fd);
            free(buf);
            return nl_error_set(err, NL_EFORMAT,
                                "%s: more than %d bytes, a model file has at "
                                "most %d",
                                path, NL_NNM_MAX_BYTES, NL_NNM_MAX_BYTES);
        }
    }
    close(fd);
    nl_status s = nl_nnm_parse(path, buf, n, out, err);
    free(buf);
    return s;
}

nl_status nl_nnm_build(const nl_nnm *f, int classes, nl_model **out, nl_error *err) {
    if (!out) return nl_error_set(err, NL_EINVAL, "nl_nnm_build: no output");
    *out = NULL;
    if (!f || !f->input_line || f->nlayers <= 0 || f->nlayers > NL_NNM_MAX_LAYERS)
        return nl_error_set(err, NL_EINVAL, "nl_nnm_build: %s has no parsed model",
                            f ? f->name : "(null)");
    const nl_nnm_layer *last = &f->layers[f->nlayers - 1];
    if (classes && last->spec.kind != NL_LAYER_DENSE)
        return nl_error_set(err, NL_EINVAL,
                            "%s:%d:%d: %d outputs asked for, but the last layer '%s' is not dense",
                            f->name, last->line, last->col, classes, last->text);
    if (classes < 0 || classes > 65536)
        return nl_error_set(err, NL_EINVAL, "%s: %d outputs, expected 1..65536", f->name, classes);
    nl_model *m = nl_model_new(f->h, f->w, f->c);
    if (!m) return nl_error_set(err, NL_ENOMEM, "%s: out of memory building the model", f->name);
    for (int i = 0; i < f->nlayers; i++) {
        nl_layer_spec s = f->layers[i].spec;
        if (classes && i == f->nlayers - 1) s.units = classes;
        nl_model_add(m, &s);
    }
    nl_model_set_loss(m, f->loss);
    *out = m;
    return NL_OK;
}

nl_status nl_nnm_compile(const nl_nnm *f, nl_model *m, int max_batch, nl_error *err) {
    nl_error e = {0};
    if (nl_model_compile(m, max_batch, &e) == NL_OK) return NL_OK;
    const int i = nl_model_error_layer(m);
    if (!f || i < 0 || i >= f->nlayers) {
        if (err) *err = e;
        return e.code;
    }
    const nl_nnm_layer *L = &f->layers[i];
    int h, w, c;
    nl_model_layer_shape(m, i - 1, &h, &w, &c);
    return nl_error_set(err, e.code, "%s:%d:%d: %s on a %dx%dx%d input: %s", f->name, L->line,
                        L->col, L->text, h, w, c, e.msg);
}

nl_status nl_nnm_check(const nl_nnm *f, nl_error *err) {
    nl_model *m = NULL;
    nl_status s = nl_nnm_build(f, 0, &m, err);
    if (!s) s = nl_nnm_compile(f, m, 1, err);
    nl_model_free(m);
    return s;
}

/* ---- the shipped models (the generated source of cmake/models.cmake) ---- */

extern const nl_shipped_model nl_shipped_models_table[];

const nl_shipped_model *nl_shipped_models(void) {
    return nl_shipped_models_table;
}

const nl_shipped_model *nl_shipped_model_find(const char *name) {
    for (const nl_shipped_model *s = nl_shipped_models_table; name && s->name; s++)
        if (!strcmp(s->name, name)) return s;
    return NULL;
}
