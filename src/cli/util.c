/* Option parsing and message helpers shared by the subcommands. */
#include "cli/cli.h"
#include "nnlab/model.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void cli_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "nnlab %s: error: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void cli_note(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "nnlab %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "nnlab %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'nnlab %s --help' for more information.\n", cmd);
    va_end(ap);
    return CLI_USAGE;
}

int cli_parse_int(const char *cmd, const char *opt, const char *s, long lo, long hi, long *out) {
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < lo || v > hi) {
        cli_usage_error(cmd, "invalid value '%s' for %s: expected an integer in [%ld, %ld]", s, opt,
                        lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_parse_u64(const char *cmd, const char *opt, const char *s, uint64_t *out) {
    char *end = NULL;
    errno = 0;
    if (s[0] == '-') {
        cli_usage_error(cmd, "invalid value '%s' for %s: expected a non-negative integer", s, opt);
        return -1;
    }
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end != '\0') {
        cli_usage_error(cmd, "invalid value '%s' for %s: expected a non-negative integer", s, opt);
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

int cli_parse_double(const char *cmd, const char *opt, const char *s, double lo, double hi,
                     double *out) {
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end != '\0' || !isfinite(v) || v < lo || v > hi) {
        cli_usage_error(cmd, "invalid value '%s' for %s: expected a number in [%g, %g]", s, opt, lo,
                        hi);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_opt_value(const char *cmd, int argc, char **argv, int *i, const char *opt,
                  const char **val) {
    const char *a = argv[*i];
    size_t n = strlen(opt);
    if (strncmp(a, opt, n) != 0) return 0;
    if (a[n] == '=') {
        *val = a + n + 1;
        return 1;
    }
    if (a[n] != '\0') return 0;
    if (*i + 1 >= argc) {
        cli_usage_error(cmd, "option %s needs a value", opt);
        return -1;
    }
    *val = argv[++*i];
    return 1;
}

int cli_stderr_tty(void) {
    return isatty(STDERR_FILENO);
}

/* One NNLAB_* switch: unset (or empty) keeps *out; otherwise the value must be
 * one of words (a NULL-terminated list), mapped to vals. */
static int env_choice(const char *cmd, const char *name, const char *const *words, const int *vals,
                      int *out) {
    const char *v = getenv(name);
    if (!v || !*v) return 0;
    for (int k = 0; words[k]; k++)
        if (!strcmp(v, words[k])) {
            *out = vals[k];
            return 0;
        }
    char want[64] = "";
    for (int k = 0; words[k]; k++)
        snprintf(want + strlen(want), sizeof want - strlen(want), "%s%s", k ? ", " : "", words[k]);
    cli_error(cmd, "%s=%s: expected one of %s (or unset)", name, v, want);
    return -1;
}

int cli_compile_options_from_env(const char *cmd, nl_compile_options *opt) {
    static const char *const bits[] = {"0", "1", NULL};
    static const char *const tiles[] = {"2", "4", NULL};
    static const char *const dx_tiles[] = {"0", "2", "4", NULL};
    static const int fuse_vals[] = {1, 0}, direct_vals[] = {NL_CONV_AUTO, NL_CONV_DIRECT};
    static const int tile_vals[] = {2, 4}, dx_vals[] = {-1, 2, 4};
    *opt = (nl_compile_options){0};
    if (env_choice(cmd, "NNLAB_FUSE", bits, fuse_vals, &opt->no_fuse) ||
        env_choice(cmd, "NNLAB_CONV_DIRECT", bits, direct_vals, &opt->conv_algo) ||
        env_choice(cmd, "NNLAB_WINO_TILE", tiles, tile_vals, &opt->wino_tile) ||
        env_choice(cmd, "NNLAB_WINO_DW_TILE", tiles, tile_vals, &opt->wino_dw_tile) ||
        env_choice(cmd, "NNLAB_WINO_DX_TILE", dx_tiles, dx_vals, &opt->wino_dx_tile))
        return -1;
    return 0;
}
