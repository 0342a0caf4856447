/* Option parsing and message helpers shared by the subcommands. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#endif
#include "cli/cli.h"
#include "nnlab/data.h"
#include "nnlab/error.h"
#include "nnlab/model.h"

#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

int cli_cores(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

void cli_warn_threads(const char *cmd, long threads) {
    const int cores = cli_cores();
    if (threads > cores)
        fprintf(stderr,
                "nnlab %s: warning: --threads %ld is more than the %d core%s this process can "
                "use; running anyway (the extra threads share cores, which is usually slower)\n",
                cmd, threads, cores, cores == 1 ? "" : "s");
}

static const char *kind_name(mode_t m) {
    if (S_ISDIR(m)) return "a directory";
    if (S_ISFIFO(m)) return "a FIFO";
    if (S_ISCHR(m) || S_ISBLK(m)) return "a device";
    if (S_ISSOCK(m)) return "a socket";
    return "not a regular file";
}

int cli_check_output(const char *opt, const char *path, const char *what, nl_error *err) {
    struct stat st;
    if (!path || !*path) {
        nl_error_set(err, NL_EINVAL, "%s: empty path", opt);
        return -1;
    }
    if (!what) {
        if (stat(path, &st) != 0) {
            nl_error_set(err, NL_EIO, "%s %s: %s (the directory must exist)", opt, path,
                         strerror(errno));
            return -1;
        }
        if (!S_ISDIR(st.st_mode)) {
            nl_error_set(err, NL_EINVAL, "%s %s: not a directory", opt, path);
            return -1;
        }
        if (access(path, W_OK | X_OK) != 0) {
            nl_error_set(err, NL_EIO, "%s %s: cannot write into it: %s", opt, path,
                         strerror(errno));
            return -1;
        }
        return 0;
    }
    if (stat(path, &st) == 0) {
        if (!S_ISREG(st.st_mode)) {
            nl_error_set(err, NL_EINVAL, "%s %s: is %s; %s only as a regular file", opt, path,
                         kind_name(st.st_mode), what);
            return -1;
        }
    } else if (errno != ENOENT) {
        nl_error_set(err, NL_EIO, "%s %s: %s", opt, path, strerror(errno));
        return -1;
    }
    /* the file is written next to its target and renamed, or created: its
     * directory must exist and take new files */
    char parent[4096];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(parent, sizeof parent, ".");
    else if (slash == path)
        snprintf(parent, sizeof parent, "/");
    else
        snprintf(parent, sizeof parent, "%.*s", (int)(slash - path), path);
    if (stat(parent, &st) != 0) {
        nl_error_set(err, NL_EIO, "%s %s: directory %s: %s", opt, path, parent, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        nl_error_set(err, NL_EINVAL, "%s %s: %s is not a directory", opt, path, parent);
        return -1;
    }
    if (access(parent, W_OK | X_OK) != 0) {
        nl_error_set(err, NL_EIO, "%s %s: cannot create files in %s: %s", opt, path, parent,
                     strerror(errno));
        return -1;
    }
    return 0;
}

/* Replaces err's message by m, cut to fit. */
static void set_msg(nl_error *err, const char *m) {
    size_t n = strlen(m);
    if (n >= sizeof err->msg) n = sizeof err->msg - 1;
    memcpy(err->msg, m, n);
    err->msg[n] = '\0';
}

int cli_data_dir(const char *opt, char *out, size_t out_size, nl_error *err) {
    const char *env = getenv("NNLAB_DATA");
    const char *dir = opt && *opt ? opt : env && *env ? env : NULL;
    const char *from = opt && *opt ? "--data" : dir ? "NNLAB_DATA" : NULL;
    if (nl_data_dir(dir, out, out_size, err) == NL_OK) return 0;
    char msg[NL_ERROR_MSG_MAX + 512];
    if (from)
        snprintf(msg, sizeof msg, "%s (from %s)", err->msg, from);
    else
        snprintf(msg, sizeof msg, "%s; pass --data DIR or set NNLAB_DATA", err->msg);
    set_msg(err, msg);
    return -1;
}

void cli_data_hint(nl_error *err, const char *dataset) {
    if (err->code != NL_ENOTFOUND) return;
    char msg[NL_ERROR_MSG_MAX + 512];
    snprintf(msg, sizeof msg,
             "%s. Get it with 'nnlab data fetch %s', or point --data DIR (or NNLAB_DATA) at a "
             "directory that has it ('nnlab data --help' shows the layout)",
             err->msg, dataset);
    set_msg(err, msg);
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
