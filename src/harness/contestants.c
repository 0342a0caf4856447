/* Contestants files and command templates (format: nnlab/bench.h). */
#include "harness/harness_internal.h"

#include <ctype.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* bench/contestants.txt, compiled in by cmake/bench.cmake. */
extern const char nl_bench_builtin_contestants_txt[];

const char *nl_bench_builtin_contestants(void) {
    return nl_bench_builtin_contestants_txt;
}

/* ---- templates ------------------------------------------------------------------ */

typedef struct word {
    char *text; /* quotes removed, placeholders not yet replaced */
    int group;  /* 0: none; else the [group] it belongs to */
} word;

static void words_free(word *w, size_t n) {
    for (size_t i = 0; i < n; i++) free(w[i].text);
    free(w);
}

static nl_status add_word(word **w, size_t *n, sbuf *cur, int group, nl_error *err) {
    word *p = realloc(*w, (*n + 1) * sizeof *p);
    if (!p || cur->oom) {
        if (p) *w = p;
        return nl_error_set(err, NL_ENOMEM, "out of memory splitting a command template");
    }
    *w = p;
    p[*n].text = cur->s ? cur->s : strdup("");
    p[*n].group = group;
    if (!p[*n].text) return nl_error_set(err, NL_ENOMEM, "out of memory");
    (*n)++;
    sb_init(cur);
    return NL_OK;
}

/* Shell-like word splitting; '[' opening a word and ']' closing one delimit groups. */
static nl_status split_words(const char *s, word **out, size_t *nout, nl_error *err) {
    word *w = NULL;
    size_t n = 0;
    sbuf cur;
    sb_init(&cur);
    int in_word = 0, quoted = 0, group = 0, ngroups = 0, close_after = 0;
    nl_status st = NL_OK;
    for (const char *p = s;; p++) {
        const char c = *p;
        if (c == '\0' || c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            if (in_word && (cur.len > 0 || quoted)) {
                if ((st = add_word(&w, &n, &cur, group, err))) goto fail;
            } else {
                sb_free(&cur);
            }
            in_word = quoted = 0;
            if (close_after) group = 0, close_after = 0;
            if (c == '\0') break;
            continue;
        }
        if (!in_word) {
            in_word = 1;
            if (c == '[') {
                if (group) {
                    st = nl_error_set(err, NL_EFORMAT, "nested '[' groups");
                    goto fail;
                }
                group = ++ngroups;
                continue;
            }
        }
        if (c == ']' && (p[1] == '\0' || isspace((unsigned char)p[1]))) {
            if (!group) {
                st = nl_error_set(err, NL_EFORMAT, "']' without '['");
                goto fail;
            }
            close_after = 1;
            continue;
        }
        if (c == '\'') {
            const char *q = strchr(p + 1, '\'');
            if (!q) {
                st = nl_error_set(err, NL_EFORMAT, "unterminated single quote");
                goto fail;
            }
            sb_putn(&cur, p + 1, (size_t)(q - p - 1));
            quoted = 1;
            p = q;
        } else if (c == '"') {
            const char *q = p + 1;
            for (; *q && *q != '"'; q++) {
                if (*q == '\\' && (q[1] == '"' || q[1] == '\\')) q++;
                sb_putn(&cur, q, 1);
            }
            if (*q != '"') {
                st = nl_error_set(err, NL_EFORMAT, "unterminated double quote");
                goto fail;
            }
            quoted = 1;
            p = q;
        } else if (c == '\\' && p[1]) {
            sb_putn(&cur, ++p, 1);
        } else {
            sb_putn(&cur, p, 1);
        }
    }
    if (group) {
        st = nl_error_set(err, NL_EFORMAT, "'[' without ']'");
        goto fail;
    }
    *out = w;
    *nout = n;
    return NL_OK;
fail:
    sb_free(&cur);
    words_free(w, n);
    return st;
}

static const char *var_value(const nl_bench_vars *v, const char *name, size_t len, int *known) {
    static const struct {
        const char *name;
        size_t offset;
    } vars[] = {
        {"workload", offsetof(nl_bench_vars, workload)},
        {"data", offsetof(nl_bench_vars, data)},
        {"epochs", offsetof(nl_bench_vars, epochs)},
        {"seed", offsetof(nl_bench_vars, seed)},
        {"events", offsetof(nl_bench_vars, events)},
        {"threads", offsetof(nl_bench_vars, threads)},
        {"limit", offsetof(nl_bench_vars, limit)},
        {"batch", offsetof(nl_bench_vars, batch)},
        {"nnlab", offsetof(nl_bench_vars, nnlab)},
        {"root", offsetof(nl_bench_vars, root)},
        {"out", offsetof(nl_bench_vars, out)},
        {"model", offsetof(nl_bench_vars, model)},
        {"dataset", offsetof(nl_bench_vars, dataset)},
        {"train_data", offsetof(nl_bench_vars, train_data)},
        {"test_data", offsetof(nl_bench_vars, test_data)},
        {"label", offsetof(nl_bench_vars, label)},
        {"device", offsetof(nl_bench_vars, device)},
        {"ranks", offsetof(nl_bench_vars, ranks)},
        {"hostfile", offsetof(nl_bench_vars, hostfile)},
    };
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (strlen(vars[i].name) == len && !memcmp(vars[i].name, name, len)) {
            *known = 1;
            if (!v) return "x"; /* checking a template: any value will do */
            return *(const char *const *)((const char *)v + vars[i].offset);
        }
    *known = 0;
    return NULL;
}

/* Replaces the placeholders of one word. *missing = 1 when one has no value. */
static nl_status substitute(const char *text, const nl_bench_vars *vars, sbuf *out, int *missing,
                            nl_error *err) {
    *missing = 0;
    for (const char *p = text; *p;) {
        if (*p == '{') {
            const char *q = p + 1;
            while ((*q >= 'a' && *q <= 'z') || *q == '_') q++;
            if (*q == '}' && q > p + 1) {
                int known;
                const char *val = var_value(vars, p + 1, (size_t)(q - p - 1), &known);
                if (!known)
                    return nl_error_set(err, NL_EFORMAT,
                                        "unknown placeholder {%.*s} (known: {workload} {data} "
                                        "{epochs} {seed} {events} {threads} {limit} {batch} "
                                        "{nnlab} {root} {out} {model} {dataset} "
                                        "{train_data} {test_data} {label} {device} "
                                        "{ranks} {hostfile})",
                                        (int)(q - p - 1), p + 1);
                if (!val || !*val)
                    *missing = 1;
                else
                    sb_puts(out, val);
                p = q + 1;
                continue;
            }
        }
        sb_putn(out, p, 1);
        p++;
    }
    return out->oom ? nl_error_set(err, NL_ENOMEM, "out of memory") : NL_OK;
}

void nl_bench_argv_free(char **argv) {
    if (!argv) return;
    for (char **a = argv; *a; a++) free(*a);
    free(argv);
}

nl_status nl_bench_expand(const char *tmpl, const nl_bench_vars *vars, char ***argv_out,
                          nl_error *err) {
    *argv_out = NULL;
    word *w = NULL;
    size_t n = 0;
    nl_status st = split_words(tmpl, &w, &n, err);
    if (st) return st;
    char **argv = calloc(n + 1, sizeof *argv);
    char **vals = calloc(n + 1, sizeof *vals);
    int *drop = calloc(n + 2, sizeof *drop); /* per group id (ids <= n) */
    if (!argv || !vals || !drop) {
        st = nl_error_set(err, NL_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        sbuf b;
        sb_init(&b);
        int missing;
        if ((st = substitute(w[i].text, vars, &b, &missing, err))) {
            sb_free(&b);
            goto done;
        }
        if (missing && !w[i].group) {
            sb_free(&b);
            st = nl_error_set(err, NL_EFORMAT,
                              "a placeholder in '%s' has no value (put the words that need "
                              "it in a [group] to drop them instead)",
                              w[i].text);
            goto done;
        }
        if (missing) drop[w[i].group] = 1;
        vals[i] = b.s ? b.s : strdup("");
        if (!vals[i]) {
            st = nl_error_set(err, NL_ENOMEM, "out of memory");
            goto done;
        }
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (w[i].group && drop[w[i].group]) continue;
        argv[k++] = vals[i];
        vals[i] = NULL;
    }
    if (k == 0) {
        st = nl_error_set(err, NL_EFORMAT, "empty command");
        goto done;
    }
    *argv_out = argv;
    argv = NULL;
done:
    if (vals)
        for (size_t i = 0; i < n; i++) free(vals[i]);
    free(vals);
    free(drop);
    nl_bench_argv_free(argv);
    words_free(w, n);
    return st;
}

nl_status nl_bench_contestant_variant(const nl_bench_contestant *c, int threads,
                                      nl_bench_contestant *out, nl_error *err) {
    if (threads < 1)
        return nl_error_set(err, NL_EINVAL, "%s@%d: threads must be >= 1", c->name, threads);
    nl_bench_contestant v = *c;
    int n = snprintf(v.name, sizeof v.name, "%s-t%d", c->name, threads);
    if (n < 0 || (size_t)n >= sizeof v.name)
        return nl_error_set(err, NL_EINVAL, "%s@%d: name too long", c->name, threads);
    v.threads = threads;
    *out = v;
    return NL_OK;
}

int nl_bench_contestant_multiprocess(const nl_bench_contestant *c) {
    return strstr(c->command, "{ranks}") != NULL;
}

nl_status nl_bench_contestant_ranks(const nl_bench_contestant *c, int ranks, int threads,
                                    nl_bench_contestant *out, nl_error *err) {
    if (ranks < 1 || threads < 0)
        return nl_error_set(err, NL_EINVAL, "%s@%dx%d: ranks must be >= 1 and threads >= 1",
                            c->name, ranks, threads);
    nl_bench_contestant v = *c;
    int n = threads > 0 ? snprintf(v.name, sizeof v.name, "%s-r%d-t%d", c->name, ranks, threads)
                        : snprintf(v.name, sizeof v.name, "%s-r%d", c->name, ranks);
    if (n < 0 || (size_t)n >= sizeof v.name)
        return nl_error_set(err, NL_EINVAL, "%s@%dx%d: name too long", c->name, ranks, threads);
    v.ranks = ranks;
    if (threads > 0) v.threads = threads;
    *out = v;
    return NL_OK;
}

/* ---- contestants files ---------------------------------------------------------------- */

static int valid_name(const char *s) {
    if (!*s) return 0;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '-' || *s == '_' || *s == '.')) return 0;
    return 1;
}

static nl_status parse_entry(const char *line, const char *source, int lineno,
                             nl_bench_contestant *c, nl_error *err) {
    memset(c, 0, sizeof *c);
    const char *p = line;
    while (isspace((unsigned char)*p)) p++;
    const char *name = p;
    while (*p && !isspace((unsigned char)*p)) p++;
    size_t nlen = (size_t)(p - name);
    while (isspace((unsigned char)*p)) p++;
    const char *lang = p;
    while (*p && !isspace((unsigned char)*p)) p++;
    size_t llen = (size_t)(p - lang);
    while (isspace((unsigned char)*p)) p++;
    const char *cmd = p;
    size_t clen = strlen(cmd);
    while (clen && isspace((unsigned char)cmd[clen - 1])) clen--;
    if (!llen || !clen)
        return nl_error_set(err, NL_EFORMAT,
                            "%s:%d: expected NAME LANGUAGE COMMAND-TEMPLATE, got '%s'", source,
                            lineno, name);
    if (nlen >= sizeof c->name || llen >= sizeof c->language || clen >= sizeof c->command)
        return nl_error_set(err, NL_EFORMAT, "%s:%d: name, language or command too long", source,
                            lineno);
    memcpy(c->name, name, nlen);
    memcpy(c->language, lang, llen);
    memcpy(c->command, cmd, clen);
    if (!valid_name(c->name))
        return nl_error_set(err, NL_EFORMAT,
                            "%s:%d: contestant name '%s': use letters, digits, '-', '_', '.'",
                            source, lineno, c->name);
    snprintf(c->source, sizeof c->source, "%s:%d", source, lineno);
    char **argv = NULL;
    nl_error e2 = {0};
    if (nl_bench_expand(c->command, NULL, &argv, &e2))
        return nl_error_set(err, NL_EFORMAT, "%s:%d: contestant %s: %s", source, lineno, c->name,
                            e2.msg);
    nl_bench_argv_free(argv);
    return NL_OK;
}

/* Appends c, or replaces the contestant of the same name. */
static nl_status add_contestant(nl_bench_contestant **list, size_t *n, const nl_bench_contestant *c,
                                nl_error *err) {
    size_t i = 0;
    while (i < *n && strcmp((*list)[i].name, c->name)) i++;
    if (i == *n) {
        nl_bench_contestant *nl = realloc(*list, (*n + 1) * sizeof *nl);
        if (!nl) return nl_error_set(err, NL_ENOMEM, "out of memory");
        *list = nl;
        (*n)++;
    }
    (*list)[i] = *c;
    return NL_OK;
}

nl_status nl_bench_contestants_parse(const char *text, const char *source,
                                     nl_bench_contestant **list, size_t *n, nl_error *err) {
    sbuf line;
    sb_init(&line);
    int lineno = 0, start_line = 0;
    nl_status st = NL_OK;
    const char *p = text;
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        lineno++;
        if (len && p[len - 1] == '\r') len--;
        const char *q = p;
        while (q < p + len && isspace((unsigned char)*q)) q++;
        int comment = line.len == 0 && (q == p + len || *q == '#');
        if (!comment) {
            if (line.len == 0) start_line = lineno;
            int cont = len > 0 && p[len - 1] == '\\';
            sb_putn(&line, p, cont ? len - 1 : len);
            if (cont) {
                sb_puts(&line, " ");
            } else {
                nl_bench_contestant c;
                if (line.oom) st = nl_error_set(err, NL_ENOMEM, "out of memory");
                if (!st) st = parse_entry(line.s, source, start_line, &c, err);
                if (!st) st = add_contestant(list, n, &c, err);
                if (st) break;
                line.len = 0;
                line.s[0] = '\0';
            }
        }
        p = eol ? eol + 1 : p + strlen(p);
    }
    if (!st && line.len > 0) { /* a continuation at the end of the file */
        nl_bench_contestant c;
        st = parse_entry(line.s, source, start_line, &c, err);
        if (!st) st = add_contestant(list, n, &c, err);
    }
    sb_free(&line);
    return st;
}

nl_status nl_bench_contestants_load(const char *path, nl_bench_contestant **list, size_t *n,
                                    nl_error *err) {
    char *text = NULL;
    size_t len = 0;
    nl_status st = bench_read_file(path, (size_t)1 << 20, &text, &len, err);
    if (st) return st;
    const char *nul = memchr(text, '\0', len);
    if (nul)
        st = nl_error_set(err, NL_EFORMAT, "%s: a NUL byte at offset %zu: not a text file", path,
                          (size_t)(nul - text));
    else
        st = nl_bench_contestants_parse(text, path, list, n, err);
    free(text);
    return st;
}
