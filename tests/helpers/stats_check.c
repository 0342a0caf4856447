/* Checks the output of `nnlab stats` for the integration tests.
 *
 *   stats_check csv FILE MIN_ROWS          header and every row parse back
 *   stats_check jsonl FILE MIN_ROWS        every line is a flat JSON object
 *   stats_check truth JSONL TIMELINE       monitor vs stats_load's own truth:
 *                                          mean CPU% per phase within 10
 *                                          points, RSS within 5 %
 *   stats_check race JSONL TRUTH NCPU      no absurd value; total CPU close
 *                                          to stats_forker's getrusage truth
 *                                          (TRUTH "-": values only)
 *
 * Prints what it compared; exit status 0 when everything holds. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;
static double dabs(double x) {
    return x < 0 ? -x : x;
}
#define FAIL(...)                                                                                  \
    do {                                                                                           \
        fprintf(stderr, "stats_check: FAIL: " __VA_ARGS__);                                        \
        fputc('\n', stderr);                                                                       \
        failures++;                                                                                \
    } while (0)

/* ---- a flat JSON object parser (numbers, strings, true/false/null) ---- */

enum { MAXKV = 48 };
typedef struct kv {
    char key[48];
    int type; /* 'n' number, 's' string, 'b' bool, '0' null */
    double num;
} kv;

static const char *ws(const char *p) {
    while (*p == ' ' || *p == '\t') p++;
    return p;
}

static int parse_obj(const char *s, kv *out) {
    int n = 0;
    const char *p = ws(s);
    if (*p++ != '{') return -1;
    p = ws(p);
    if (*p == '}') return 0;
    for (;;) {
        if (n == MAXKV) return -1;
        p = ws(p);
        if (*p++ != '"') return -1;
        size_t k = 0;
        while (*p && *p != '"') {
            if (k + 1 < sizeof out[n].key) out[n].key[k++] = *p;
            p++;
        }
        out[n].key[k] = '\0';
        if (*p++ != '"') return -1;
        p = ws(p);
        if (*p++ != ':') return -1;
        p = ws(p);
        if (*p == '"') {
            p++;
            while (*p && *p != '"') p += (*p == '\\' && p[1]) ? 2 : 1;
            if (*p++ != '"') return -1;
            out[n].type = 's';
        } else if (!strncmp(p, "null", 4)) {
            out[n].type = '0', p += 4;
        } else if (!strncmp(p, "true", 4)) {
            out[n].type = 'b', out[n].num = 1, p += 4;
        } else if (!strncmp(p, "false", 5)) {
            out[n].type = 'b', out[n].num = 0, p += 5;
        } else {
            char *e;
            out[n].num = strtod(p, &e);
            if (e == p) return -1;
            out[n].type = 'n';
            p = e;
        }
        n++;
        p = ws(p);
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p++ != '}') return -1;
        p = ws(p);
        return (*p == '\n' || *p == '\0') ? n : -1;
    }
}

static const kv *get(const kv *o, int n, const char *key) {
    for (int i = 0; i < n; i++)
        if (!strcmp(o[i].key, key)) return &o[i];
    return NULL;
}

static double num(const kv *o, int n, const char *key) {
    const kv *k = get(o, n, key);
    return k && k->type == 'n' ? k->num : NAN;
}

typedef struct row {
    double wall_ms, dt_s, t_s, cpu_pct, cpu_s, rss, sys_cpu, sys_ram, gpu, vram;
    int alive, threads, procs;
} row;

static row *read_jsonl(const char *path, int *nrows) {
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        exit(2);
    }
    row *r = NULL;
    int n = 0, cap = 0;
    char line[4096];
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        kv o[MAXKV];
        int k = parse_obj(line, o);
        if (k < 0) {
            FAIL("%s:%d: not a flat JSON object: %.80s", path, lineno, line);
            continue;
        }
        static const char *const need[] = {
            "i",       "t_s",      "dt_s",     "wall_ms",  "alive",       "procs",
            "threads", "cpu_pct",  "cpu_s",    "rss_mib",  "sys_cpu_pct", "sys_ram_pct",
            "gpu_pct", "vram_mib", "vram_pct", "read_mib", "write_mib"};
        for (size_t j = 0; j < sizeof need / sizeof need[0]; j++)
            if (!get(o, k, need[j])) FAIL("%s:%d: key '%s' missing", path, lineno, need[j]);
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            r = realloc(r, (size_t)cap * sizeof *r);
            if (!r) exit(2);
        }
        row *x = &r[n++];
        x->wall_ms = num(o, k, "wall_ms");
        x->dt_s = num(o, k, "dt_s");
        x->t_s = num(o, k, "t_s");
        x->cpu_pct = num(o, k, "cpu_pct");
        x->cpu_s = num(o, k, "cpu_s");
        x->rss = num(o, k, "rss_mib");
        x->sys_cpu = num(o, k, "sys_cpu_pct");
        x->sys_ram = num(o, k, "sys_ram_pct");
        x->gpu = num(o, k, "gpu_pct");
        x->vram = num(o, k, "vram_mib");
        const kv *a = get(o, k, "alive");
        x->alive = a && a->type == 'b' && a->num > 0;
        x->threads = (int)num(o, k, "threads");
        x->procs = (int)num(o, k, "procs");
    }
    fclose(f);
    *nrows = n;
    return r;
}

/* ---- csv ---- */

static int is_number(const char *s, size_t len) {
    size_t i = 0;
    if (i < len && s[i] == '-') i++;
    size_t d0 = i;
    while (i < len && isdigit((unsigned char)s[i])) i++;
    if (i == d0) return 0;
    if (i < len && s[i] == '.') {
        i++;
        size_t d1 = i;
        while (i < len && isdigit((unsigned char)s[i])) i++;
        if (i == d1) return 0;
    }
    return i == len;
}

static int check_csv(const char *path, int min_rows) {
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return 2;
    }
    char line[4096];
    const char *hdr = "t_s,cpu_pct,rss_mib,sys_cpu_pct,sys_ram_pct,gpu_pct,vram_mib,vram_pct,"
                      "threads,read_mib,write_mib,user_pct,system_pct,minflt_s,majflt_s,vcsw_s,"
                      "ivcsw_s,read_mib_s,write_mib_s\n";
    if (!fgets(line, sizeof line, f) || strcmp(line, hdr)) FAIL("%s: header is '%s'", path, line);
    int rows = 0;
    double prev_t = -1;
    while (fgets(line, sizeof line, f)) {
        rows++;
        size_t len = strlen(line);
        if (len == 0 || line[len - 1] != '\n') {
            FAIL("%s: row %d is not a whole line", path, rows);
            continue;
        }
        line[--len] = '\0';
        int cells = 0;
        const char *p = line;
        for (;;) {
            const char *c = strchr(p, ',');
            size_t cl = c ? (size_t)(c - p) : strlen(p);
            cells++;
            if (cl > 0 && !is_number(p, cl))
                FAIL("%s: row %d cell %d '%.*s' is not a number", path, rows, cells, (int)cl, p);
            if (cl == 0 && (cells <= 5 || cells == 9 || (cells >= 12 && cells <= 17)))
                FAIL("%s: row %d cell %d is empty", path, rows, cells);
            if (cells == 1) {
                double t = atof(p);
                if (t <= prev_t) FAIL("%s: row %d time %g does not increase", path, rows, t);
                prev_t = t;
            }
            if (!c) break;
            p = c + 1;
        }
        if (cells != 19) FAIL("%s: row %d has %d cells, expected 19", path, rows, cells);
    }
    fclose(f);
    if (rows < min_rows) FAIL("%s: %d rows, expected at least %d", path, rows, min_rows);
    printf("csv %s: %d rows parsed\n", path, rows);
    return failures ? 1 : 0;
}

static int check_jsonl(const char *path, int min_rows) {
    int n;
    row *r = read_jsonl(path, &n);
    for (int i = 0; i < n; i++)
        if (i > 0 && !(r[i].t_s > r[i - 1].t_s)) FAIL("%s: row %d: t_s does not increase", path, i);
    if (n < min_rows) FAIL("%s: %d rows, expected at least %d", path, n, min_rows);
    printf("jsonl %s: %d rows parsed\n", path, n);
    free(r);
    return failures ? 1 : 0;
}

/* ---- truth ---- */

static double pts[40000][2];
static int npts;

static double cpu_at(double w) {
    if (npts == 0) return NAN;
    if (w <= pts[0][0]) return pts[0][1];
    for (int i = 1; i < npts; i++) {
        if (w <= pts[i][0]) {
            double a = pts[i - 1][0], b = pts[i][0];
            double f = b > a ? (w - a) / (b - a) : 1;
            return pts[i - 1][1] + f * (pts[i][1] - pts[i - 1][1]);
        }
    }
    return pts[npts - 1][1];
}

static int check_truth(const char *jsonl, const char *timeline) {
    int n;
    row *r = read_jsonl(jsonl, &n);
    FILE *f = fopen(timeline, "r");
    if (!f) {
        perror(timeline);
        return 2;
    }
    char line[256];
    double ph[4][2] = {{0}};
    long mem = 0, prss = 0, crss = 0;
    while (fgets(line, sizeof line, f)) {
        int k;
        double a, b;
        if (sscanf(line, "phase %d %lf %lf", &k, &a, &b) == 3 && k >= 1 && k <= 3) {
            ph[k][0] = a;
            ph[k][1] = b;
        } else if (sscanf(line, "cpu %lf %lf", &a, &b) == 2 && npts < 40000) {
            pts[npts][0] = a;
            pts[npts][1] = b;
            npts++;
        } else {
            sscanf(line, "mem_mib %ld", &mem);
            sscanf(line, "parent_rss_kib %ld", &prss);
            sscanf(line, "child_rss_kib %ld", &crss);
        }
    }
    fclose(f);
    if (!ph[3][1] || npts < 10) {
        FAIL("%s: incomplete timeline", timeline);
        return 1;
    }
    static const char *const names[] = {"", "one core", "two threads", "sleep"};
    static const double nominal[] = {0, 100, 200, 0};
    for (int k = 1; k <= 3; k++) {
        double lo = ph[k][0] + 50, hi = ph[k][1] - 30;
        double sum = 0, dts = 0, a = 0, b = 0, rss_sum = 0;
        int cnt = 0;
        for (int i = 0; i < n; i++) {
            double end = r[i].wall_ms, start = end - r[i].dt_s * 1000.0;
            if (start < lo || end > hi) continue;
            if (!cnt) a = start;
            b = end;
            sum += r[i].cpu_pct * r[i].dt_s;
            dts += r[i].dt_s;
            rss_sum += r[i].rss;
            cnt++;
        }
        if (cnt < 4) {
            FAIL("phase %d (%s): only %d samples inside it", k, names[k], cnt);
            continue;
        }
        double mon = sum / dts;
        double truth = 100.0 * (cpu_at(b) - cpu_at(a)) / (b - a);
        printf("phase %d %-11s: %2d samples, monitor %6.1f %%, truth %6.1f %% (nominal %3.0f), "
               "diff %+5.1f\n",
               k, names[k], cnt, mon, truth, nominal[k], mon - truth);
        if (dabs(mon - truth) > 10.0)
            FAIL("phase %d: monitor CPU %.1f %% vs truth %.1f %%: more than 10 points apart", k,
                 mon, truth);
        if (k == 3) {
            double rss = rss_sum / cnt, want = (double)(prss + crss) / 1024.0;
            printf("memory: monitor RSS %.1f MiB, truth %.1f MiB (child touched %ld MiB), "
                   "diff %+.2f %%\n",
                   rss, want, mem, 100.0 * (rss - want) / want);
            if (dabs(rss - want) > 0.05 * want)
                FAIL("RSS %.1f MiB vs truth %.1f MiB: more than 5 %% apart", rss, want);
            if ((double)crss / 1024.0 < (double)mem)
                FAIL("the child's RSS %.1f MiB is below the %ld MiB it touched", crss / 1024.0,
                     mem);
        }
    }
    free(r);
    return failures ? 1 : 0;
}

/* ---- race ---- */

static int check_race(const char *jsonl, const char *truthf, int ncpu) {
    int n;
    row *r = read_jsonl(jsonl, &n);
    double cap = 100.0 * ncpu + 1.0;
    int bad = 0;
    double peak = 0;
    for (int i = 0; i < n && bad < 10; i++) {
        row *x = &r[i];
        if (!isfinite(x->cpu_pct) || x->cpu_pct < 0 || x->cpu_pct > cap) {
            FAIL("row %d: cpu_pct %g outside [0, %g]", i, x->cpu_pct, cap);
            bad++;
        }
        if (!isfinite(x->rss) || x->rss <= 0 || x->rss > 4096) {
            FAIL("row %d: rss_mib %g absurd", i, x->rss);
            bad++;
        }
        if (!isfinite(x->sys_cpu) || x->sys_cpu < 0 || x->sys_cpu > 100) {
            FAIL("row %d: sys_cpu_pct %g outside [0, 100]", i, x->sys_cpu);
            bad++;
        }
        if (!isfinite(x->sys_ram) || x->sys_ram < 0 || x->sys_ram > 100) {
            FAIL("row %d: sys_ram_pct %g outside [0, 100]", i, x->sys_ram);
            bad++;
        }
        if (x->threads < 1 || x->threads > 100000 || x->procs < 1 || x->procs > 100000) {
            FAIL("row %d: threads %d, procs %d", i, x->threads, x->procs);
            bad++;
        }
        if (i > 0 && x->cpu_s < r[i - 1].cpu_s) {
            FAIL("row %d: cumulative cpu_s went down (%g < %g)", i, x->cpu_s, r[i - 1].cpu_s);
            bad++;
        }
        if (x->cpu_pct > peak) peak = x->cpu_pct;
    }
    FILE *f = strcmp(truthf, "-") ? fopen(truthf, "r") : NULL;
    double truth = NAN;
    long children = 0;
    if (f) {
        char line[128];
        while (fgets(line, sizeof line, f)) {
            sscanf(line, "cpu_s %lf", &truth);
            sscanf(line, "children %ld", &children);
        }
        fclose(f);
    }
    if (n < 10) FAIL("only %d rows", n);
    if (n > 0 && isfinite(truth)) {
        double mon = r[n - 1].cpu_s;
        printf("race: %d rows, %ld children forked, peak %.1f %%, monitor %.3f CPU-s vs "
               "getrusage %.3f CPU-s\n",
               n, children, peak, mon, truth);
        /* the last row is taken up to one interval before the end */
        if (dabs(mon - truth) > 0.15 * truth + 0.05)
            FAIL("total CPU %.3f s vs truth %.3f s: more than 15 %% apart", mon, truth);
    } else if (strcmp(truthf, "-") != 0) {
        FAIL("%s: no cpu_s line", truthf);
    } else {
        printf("race: %d rows, peak %.1f %%, no absurd value\n", n, peak);
    }
    free(r);
    return failures ? 1 : 0;
}

int main(int argc, char **argv) {
    if (argc >= 4 && !strcmp(argv[1], "csv")) return check_csv(argv[2], atoi(argv[3]));
    if (argc >= 4 && !strcmp(argv[1], "jsonl")) return check_jsonl(argv[2], atoi(argv[3]));
    if (argc >= 4 && !strcmp(argv[1], "truth")) return check_truth(argv[2], argv[3]);
    if (argc >= 5 && !strcmp(argv[1], "race")) return check_race(argv[2], argv[3], atoi(argv[4]));
    fprintf(stderr, "usage: stats_check csv|jsonl FILE MIN | truth JSONL TIMELINE | race JSONL "
                    "TRUTH NCPU\n");
    return 2;
}
