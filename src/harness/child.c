/* One contestant run: its files and environment, then the monitor's sampling
 * loop (nl_stats_run) with every sample kept. */
#include "harness/harness_internal.h"
#include "nnlab/core.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

/* environ with NAME=value set (a new array; the strings of environ are shared). */
static char **env_with(const char *name, const char *value, char **owned) {
    size_t n = 0, nl = strlen(name);
    while (environ[n]) n++;
    char **env = calloc(n + 2, sizeof *env);
    size_t len = nl + 1 + strlen(value) + 1;
    char *kv = malloc(len);
    if (!env || !kv) {
        free(env);
        free(kv);
        return NULL;
    }
    snprintf(kv, len, "%s=%s", name, value);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], name, nl) || environ[i][nl] != '=') env[k++] = environ[i];
    env[k++] = kv;
    env[k] = NULL;
    *owned = kv;
    return env;
}

typedef struct collect {
    bench_child *c;
    size_t cap;
    int oom;
} collect;

static int on_sample(void *user, const nl_stats_row *row, const nl_stats_info *info) {
    (void)info;
    collect *k = user;
    bench_child *c = k->c;
    if (c->nrows == k->cap && !k->oom) {
        size_t nc = k->cap ? k->cap * 2 : 1024;
        nl_stats_row *p = realloc(c->rows, nc * sizeof *p);
        if (p) {
            c->rows = p;
            k->cap = nc;
        } else {
            k->oom = 1; /* ends the run: it cannot be measured */
        }
    }
    if (c->nrows < k->cap) c->rows[c->nrows++] = *row;
    if (!c->interrupted && c->should_stop && c->should_stop(c->user)) c->interrupted = 1;
    return k->oom || c->interrupted;
}

nl_status bench_child_run(bench_child *c, nl_error *err) {
    c->exit_status = -1;
    c->timed_out = c->interrupted = c->leftovers = 0;
    c->exec_error[0] = '\0';
    c->rows = NULL;
    c->nrows = 0;
    c->info_valid = 0;
    c->wall_s = NAN;
    nl_status st = NL_OK;
    int fd_out = -1, fd_log = -1, fd_null = -1;
    char *kv = NULL;
    char **env = NULL;

    fd_out = open(c->out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    fd_log = open(c->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    fd_null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd_out < 0 || fd_log < 0 || fd_null < 0) {
        st = nl_error_set(err, NL_EIO, "cannot create %s or %s: %s", c->out_path, c->log_path,
                          strerror(errno));
        goto out;
    }
    env = env_with("NNLAB_EVENTS", c->events_path, &kv);
    if (!env) {
        st = nl_error_set(err, NL_ENOMEM, "out of memory");
        goto out;
    }
    const int stdio[3] = {fd_null, fd_out, fd_log};
    collect k = {.c = c};
    nl_stats_run_opts o = {.argv = c->argv,
                           .envp = env,
                           .stdio = stdio,
                           .contain = 1,
                           .interval_s = c->interval_s > 0 ? c->interval_s : 0.1,
                           .timeout_s = c->timeout_s,
                           .on_sample = on_sample,
                           .user = &k};
    nl_stats_run_result res;
    st = nl_stats_run(&o, &res, err);
    if (!st && k.oom) st = nl_error_set(err, NL_ENOMEM, "out of memory for monitor samples");
    c->launch_ms = res.launch_ms;
    c->wall_s = res.wall_s;
    c->exit_status = res.exit_code;
    c->timed_out = res.timed_out;
    c->leftovers = res.leftovers;
    c->info = res.info;
    c->info_valid = res.info_valid;
    if (res.exec_errno)
        snprintf(c->exec_error, sizeof c->exec_error, "cannot run %s: %s", c->argv[0],
                 strerror(res.exec_errno));
out:
    if (fd_out >= 0) close(fd_out);
    if (fd_log >= 0) close(fd_log);
    if (fd_null >= 0) close(fd_null);
    free(env);
    free(kv);
    return st;
}
