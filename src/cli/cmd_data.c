/* nnlab data: list, fetch, verify and locate datasets in the cache. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <time.h>

#include "cli/cli.h"
#include "nnlab/data.h"
#include "nnlab/fetch.h"

static const char *CMD = "data";

static void help(void) {
    printf("Usage: nnlab data list   [--data DIR] [--quick]\n"
           "       nnlab data fetch  NAME... [--data DIR] [--force] [--offline] [--quiet]\n"
           "       nnlab data verify NAME... [--data DIR] [--strict] [--quiet]\n"
           "       nnlab data path   NAME [--data DIR]\n\n"
           "Fetches datasets once into the data directory, checks them against pinned hashes,\n"
           "and tells where they are (the datasets: see the end; 'nnlab train --help' says\n"
           "which ones each workload trains on).\n\n"
           "  list     every dataset: download size, size on disk, status, location\n"
           "           (status hashes every file; --quick only looks for the files)\n"
           "  fetch    download what is missing or fails verification (mirrors in order,\n"
           "           retries with backoff, resume of an interrupted download); a file enters\n"
           "           the cache only after its hash matched. Files that are present with the\n"
           "           right structure but no pinned hash are kept; --force downloads again.\n"
           "  verify   check structure (IDX header and size, CIFAR record size and count, label\n"
           "           ranges) and hashes. Prints 'verified' only when pinned hashes vouch for\n"
           "           every data file, 'unverified' when the structure is right but no pinned\n"
           "           hash does (or the copy is known not to be the official release).\n"
           "           Exit 0 when nothing is wrong or missing; --strict: only when verified.\n"
           "  path     print the dataset's directory (exit 1, and nothing on stdout, when the\n"
           "           dataset is missing)\n\n"
           "Cache layout (= the data directory the loaders read):\n"
           "  DIR/mnist/ DIR/fashion-mnist/ DIR/kmnist/   the four IDX files as downloaded (.gz);\n"
           "                                            uncompressed copies are accepted too\n"
           "  DIR/cifar-10-batches-bin/ DIR/cifar-100-binary/   unpacked from the official tar.gz\n"
           "                                            (removed after unpacking; a tar.gz placed\n"
           "                                            in DIR by hand is accepted too)\n\n"
           "Options:\n"
           "  --data DIR    data directory (default: $NNLAB_DATA, else $XDG_CACHE_HOME/nnlab,\n"
           "                else ~/.cache/nnlab)\n"
           "  --force       fetch: download again even when the cache verifies\n"
           "  --offline     fetch: never use the network (same as NNLAB_OFFLINE=1)\n"
           "  --strict      verify: exit 1 unless every dataset is verified\n"
           "  --quick       list: do not hash, only look for the files\n"
           "  --quiet       no progress bar or notes\n"
           "  -h, --help    show this help\n\n"
           "Environment: NNLAB_DATA, NNLAB_OFFLINE, NNLAB_MIRROR (base URLs replacing the\n"
           "catalog's mirrors; URL = BASE/<path in the data directory>), NNLAB_FETCH_TIMEOUT\n"
           "(seconds to connect / without progress, default 30/60), NNLAB_FETCH_RETRIES (per\n"
           "URL, default 3), NNLAB_FETCH_BACKOFF (first pause in seconds, default 1, doubling),\n"
           "NNLAB_CATALOG (file with extra datasets, format in src/store/catalog.c).\n");
    nl_error e = {0};
    printf("\nDatasets:");
    if (nl_catalog_init(&e) == NL_OK)
        for (int i = 0; i < nl_catalog_count(); i++)
            printf("%s %s", i ? "," : "", nl_catalog_get(i)->name);
    else
        printf(" (the catalog does not load: %s)", e.msg);
    printf(".\n");
}

/* ---- progress bar and notes ---------------------------------------------------------- */

typedef struct ui {
    int quiet, tty;
    int bar_open;   /* a progress line is on screen without its newline */
    int shown_full; /* the 100% state of this file was drawn */
    char file[256];
    double t0, last;
    uint64_t done, total;
} ui;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void fmt_bytes(char *out, size_t n, uint64_t b) {
    if (b >= (uint64_t)1 << 30)
        snprintf(out, n, "%.1f GiB", (double)b / (1 << 30));
    else if (b >= (uint64_t)1 << 20)
        snprintf(out, n, "%.1f MiB", (double)b / (1 << 20));
    else if (b >= 1024)
        snprintf(out, n, "%.1f KiB", (double)b / 1024);
    else
        snprintf(out, n, "%llu B", (unsigned long long)b);
}

static void bar_draw(ui *u) {
    char d[32], t[32], r[32];
    double el = now_s() - u->t0;
    fmt_bytes(d, sizeof d, u->done);
    fmt_bytes(t, sizeof t, u->total);
    fmt_bytes(r, sizeof r, el > 0.2 ? (uint64_t)((double)u->done / el) : 0);
    const char *name = u->file;
    size_t len = strlen(name);
    if (len > 36) name += len - 36;
    if (u->total) {
        int pct = (int)(100.0 * (double)u->done / (double)u->total);
        if (pct > 100) pct = 100;
        char bar[26];
        int fill = pct / 4;
        for (int i = 0; i < 25; i++) bar[i] = i < fill ? '#' : '.';
        bar[25] = '\0';
        fprintf(stderr, "\r\033[K%-36s [%s] %3d%% %s / %s  %s/s", name, bar, pct, d, t, r);
    } else {
        fprintf(stderr, "\r\033[K%-36s %s  %s/s", name, d, r);
    }
    fflush(stderr);
    u->bar_open = 1;
}

static void bar_close(ui *u) {
    if (!u->bar_open) return;
    bar_draw(u);
    fputc('\n', stderr);
    u->bar_open = 0;
}

static int on_progress(void *user, const char *file, uint64_t done, uint64_t total) {
    ui *u = user;
    if (u->quiet || !u->tty) return 0;
    if (strcmp(file, u->file) != 0) {
        bar_close(u);
        snprintf(u->file, sizeof u->file, "%s", file);
        u->t0 = now_s();
        u->last = 0;
        u->shown_full = 0;
    }
    u->done = done;
    u->total = total;
    double t = now_s();
    int finished = total && done >= total && !u->shown_full;
    if (finished) u->shown_full = 1;
    if (t - u->last >= 0.1 || finished) {
        u->last = t;
        bar_draw(u);
    }
    return 0;
}

static void on_log(void *user, const char *msg) {
    ui *u = user;
    if (u->quiet) return;
    bar_close(u);
    u->file[0] = '\0';
    cli_note(CMD, "%s", msg);
}

/* ---- helpers ------------------------------------------------------------------------------ */

/* The data directories resolve_dir made (outermost first), so that a failed
 * fetch can leave the file system as it found it. */
static char g_made[4096];
static int g_made_from = -1; /* offset in g_made of the first directory made */

/* Removes the directories resolve_dir made, innermost first, while they are
 * empty (rmdir refuses anything else). */
static void unmake_dirs(void) {
    if (g_made_from < 0) return;
    size_t k = strlen(g_made);
    while (k >= (size_t)g_made_from) {
        g_made[k] = '\0';
        if (rmdir(g_made) != 0) return;
        while (k > 0 && g_made[k - 1] != '/') k--; /* up to the parent */
        if (k-- == 0) return;
    }
}

static int resolve_dir(const char *opt, int create, char *dir, size_t n) {
    nl_error err = {0};
    const char *want = opt && *opt ? opt : getenv("NNLAB_DATA");
    if (create && want && *want) {
        struct stat st;
        if (stat(want, &st) != 0) {
            char *tmp = g_made;
            snprintf(tmp, sizeof g_made, "%s", want);
            /* cli_data_dir insists on an existing directory: make it first */
            for (char *s = tmp + 1; *s; s++)
                if (*s == '/') {
                    *s = '\0';
                    if (mkdir(tmp, 0755) == 0 && g_made_from < 0) g_made_from = (int)(s - tmp);
                    *s = '/';
                }
            if (mkdir(tmp, 0755) == 0) {
                if (g_made_from < 0) g_made_from = (int)strlen(tmp);
            } else if (errno != EEXIST) {
                cli_error(CMD, "cannot create the data directory %s: %s", tmp, strerror(errno));
                return CLI_ERR;
            }
        }
    }
    if (cli_data_dir(opt, dir, n, &err)) {
        cli_error(CMD, "%s", err.msg);
        return CLI_ERR;
    }
    return CLI_OK;
}

static int check_names(char **names, int n) {
    nl_error err = {0};
    if (nl_catalog_init(&err)) {
        cli_error(CMD, "%s", err.msg);
        return CLI_ERR;
    }
    for (int i = 0; i < n; i++) {
        const nl_data_info *d;
        if (nl_catalog_lookup(names[i], &d, &err)) return cli_usage_error(CMD, "%s", err.msg);
    }
    return CLI_OK;
}

static void print_report(const nl_verify_report *r, int quiet) {
    const nl_data_info *d = r->info;
    printf("%s: %s: %s\n", d->name, nl_verdict_name(r->verdict), r->summary);
    if (quiet) return;
    printf("  location: %s\n", r->path);
    for (int i = 0; i < r->nitems; i++)
        printf("  %-10s %s: %s\n", nl_verdict_name(r->items[i].verdict), r->items[i].file,
               r->items[i].detail);
    printf("  pinned values: %s\n", d->sources);
    if (r->verdict == NL_VERDICT_UNVERIFIED && d->caveat) printf("  note: %s\n", d->caveat);
}

/* ---- subcommands ------------------------------------------------------------------------------
 */

static int do_list(const char *dir, int quick) {
    nl_error err = {0};
    if (nl_catalog_init(&err)) {
        cli_error(CMD, "%s", err.msg);
        return CLI_ERR;
    }
    nl_verify_report *r = malloc(sizeof *r);
    if (!r) {
        cli_error(CMD, "out of memory");
        return CLI_ERR;
    }
    printf("data directory: %s\n", dir);
    printf("%-14s %-10s %-10s %-11s %s\n", "NAME", "DOWNLOAD", "ON DISK", "STATUS", "LOCATION");
    int rc = CLI_OK;
    for (int i = 0; i < nl_catalog_count(); i++) {
        const nl_data_info *d = nl_catalog_get(i);
        if (nl_data_verify(dir, d->name, quick, r, &err)) {
            cli_error(CMD, "%s: %s", d->name, err.msg);
            rc = CLI_ERR;
            continue;
        }
        char dl[32], disk[32];
        uint64_t ds = nl_data_download_size(d);
        if (ds)
            fmt_bytes(dl, sizeof dl, ds);
        else
            snprintf(dl, sizeof dl, "?");
        if (r->verdict == NL_VERDICT_MISSING)
            snprintf(disk, sizeof disk, "-");
        else
            fmt_bytes(disk, sizeof disk, r->bytes);
        const char *status = nl_verdict_name(r->verdict);
        if (quick)
            status = r->verdict == NL_VERDICT_MISSING ? "missing"
                     : r->verdict == NL_VERDICT_BAD   ? "incomplete"
                                                      : "present";
        printf("%-14s %-10s %-10s %-11s %s\n", d->name, dl, disk, status,
               r->verdict == NL_VERDICT_MISSING ? "-" : r->path);
        for (int k = 0; k < r->nitems; k++) { /* what an interrupted fetch left to resume */
            const char *part = strstr(r->items[k].detail, "partial download ");
            if (part) printf("%-14s %s\n", "", part);
        }
    }
    free(r);
    return rc;
}

static int do_verify(const char *dir, char **names, int n, int strict, int quiet) {
    nl_verify_report *r = malloc(sizeof *r);
    if (!r) {
        cli_error(CMD, "out of memory");
        return CLI_ERR;
    }
    int rc = CLI_OK;
    for (int i = 0; i < n; i++) {
        nl_error err = {0};
        if (nl_data_verify(dir, names[i], 0, r, &err)) {
            cli_error(CMD, "%s", err.msg);
            rc = CLI_ERR;
            continue;
        }
        print_report(r, quiet);
        if (r->verdict == NL_VERDICT_MISSING) {
            cli_error(CMD, "%s is not in %s; get it with: nnlab data fetch %s --data %s", names[i],
                      dir, names[i], dir);
            rc = CLI_ERR;
        } else if (r->verdict == NL_VERDICT_BAD) {
            cli_error(CMD, "%s failed verification; repair it with: nnlab data fetch %s --data %s",
                      names[i], names[i], dir);
            rc = CLI_ERR;
        } else if (r->verdict == NL_VERDICT_UNVERIFIED && strict) {
            cli_error(CMD, "%s: content not verified (--strict)", names[i]);
            rc = CLI_ERR;
        }
    }
    free(r);
    return rc;
}

static int do_fetch(const char *dir, char **names, int n, int force, int offline, int quiet) {
    nl_fetch_options o;
    nl_error err = {0};
    if (nl_fetch_options_init(&o, &err)) {
        cli_error(CMD, "%s", err.msg);
        return CLI_ERR;
    }
    ui u = {0};
    u.quiet = quiet;
    u.tty = cli_stderr_tty();
    o.force = force;
    if (offline) o.offline = 1;
    o.progress = on_progress;
    o.log = on_log;
    o.user = &u;
    nl_verify_report *r = malloc(sizeof *r);
    if (!r) {
        cli_error(CMD, "out of memory");
        return CLI_ERR;
    }
    int rc = CLI_OK;
    for (int i = 0; i < n; i++) {
        nl_status st = nl_data_fetch(dir, names[i], &o, &err);
        bar_close(&u);
        if (st) {
            cli_error(CMD, "%s: %s", names[i], err.msg);
            rc = CLI_ERR;
            continue;
        }
        if (nl_data_verify(dir, names[i], 0, r, &err)) {
            cli_error(CMD, "%s", err.msg);
            rc = CLI_ERR;
            continue;
        }
        printf("%s: %s: %s (%s)\n", names[i], nl_verdict_name(r->verdict), r->summary, r->path);
        if (r->verdict == NL_VERDICT_BAD || r->verdict == NL_VERDICT_MISSING) rc = CLI_ERR;
        if (r->verdict == NL_VERDICT_UNVERIFIED && !force && !quiet)
            cli_note(CMD,
                     "%s: kept the copy that is there (content unverified); --force "
                     "downloads the official files",
                     names[i]);
    }
    free(r);
    return rc;
}

static int do_path(const char *dir, const char *name) {
    char p[4096];
    int present = 0;
    nl_error err = {0};
    if (nl_data_path(dir, name, p, sizeof p, &present, &err)) {
        cli_error(CMD, "%s", err.msg);
        return CLI_ERR;
    }
    if (!present) { /* nothing on stdout: no path to use */
        cli_error(CMD,
                  "%s is missing: nothing at %s (data directory %s); get it with: nnlab data "
                  "fetch %s --data %s",
                  name, p, dir, name, dir);
        return CLI_ERR;
    }
    printf("%s\n", p);
    return CLI_OK;
}

int cmd_data(int argc, char **argv) {
    const char *sub = NULL, *data_opt = NULL;
    int force = 0, offline = 0, strict = 0, quick = 0, quiet = 0;
    char **names = calloc((size_t)argc + 1, sizeof *names);
    int nnames = 0, rc;
    if (!names) {
        cli_error(CMD, "out of memory");
        return CLI_ERR;
    }
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int m;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            help();
            free(names);
            return CLI_OK;
        }
        if ((m = cli_opt_value(CMD, argc, argv, &i, "--data", &v)) != 0) {
            if (m < 0) {
                free(names);
                return CLI_USAGE;
            }
            data_opt = v;
        } else if (!strcmp(argv[i], "--force")) {
            force = 1;
        } else if (!strcmp(argv[i], "--offline")) {
            offline = 1;
        } else if (!strcmp(argv[i], "--strict")) {
            strict = 1;
        } else if (!strcmp(argv[i], "--quick")) {
            quick = 1;
        } else if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q")) {
            quiet = 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            free(names);
            return cli_usage_error(CMD, "unknown option '%s'", argv[i]);
        } else if (!sub) {
            sub = argv[i];
        } else {
            names[nnames++] = argv[i];
        }
    }
    if (!sub) {
        free(names);
        return cli_usage_error(CMD, "missing subcommand: list, fetch, verify or path");
    }
    int is_list = !strcmp(sub, "list"), is_fetch = !strcmp(sub, "fetch"),
        is_verify = !strcmp(sub, "verify"), is_path = !strcmp(sub, "path");
    if (!is_list && !is_fetch && !is_verify && !is_path) {
        free(names);
        return cli_usage_error(
            CMD, "unknown subcommand '%s' (expected list, fetch, verify or path)", sub);
    }
    const char *bad = NULL;
    if (force && !is_fetch)
        bad = "--force";
    else if (offline && !is_fetch)
        bad = "--offline";
    else if (strict && !is_verify)
        bad = "--strict";
    else if (quick && !is_list)
        bad = "--quick";
    if (bad) {
        free(names);
        return cli_usage_error(CMD, "%s does not apply to 'data %s'", bad, sub);
    }
    if (is_list && nnames) {
        free(names);
        return cli_usage_error(CMD, "'data list' takes no dataset names");
    }
    if ((is_fetch || is_verify) && !nnames) {
        free(names);
        return cli_usage_error(CMD, "'data %s' needs at least one dataset name", sub);
    }
    if (is_path && nnames != 1) {
        free(names);
        return cli_usage_error(CMD, "'data path' takes exactly one dataset name");
    }
    if ((rc = check_names(names, nnames)) != CLI_OK) {
        free(names);
        return rc;
    }
    char dir[4096];
    if ((rc = resolve_dir(data_opt, is_fetch, dir, sizeof dir)) != CLI_OK) {
        free(names);
        return rc;
    }
    if (is_list)
        rc = do_list(dir, quick);
    else if (is_verify)
        rc = do_verify(dir, names, nnames, strict, quiet);
    else if (is_fetch) {
        rc = do_fetch(dir, names, nnames, force, offline, quiet);
        if (rc != CLI_OK) unmake_dirs(); /* a failed fetch leaves no directory it made */
    } else
        rc = do_path(dir, names[0]);
    free(names);
    return rc;
}
