/* Output formats of the resource monitor and its end-of-run summary. Numbers
 * are formatted here, not by printf's %f, so the decimal point is '.' (or the
 * study's ',') whatever locale the embedding program has set. */
#include "nnlab/stats.h"
#include "stats/stats_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const long long pow10_ll[] = {1,      10,      100,      1000,      10000,
                                     100000, 1000000, 10000000, 100000000, 1000000000};

int st_fmt_fixed(char *buf, size_t n, double v, int dec, char point) {
    if (n == 0) return 0;
    buf[0] = '\0';
    if (!isfinite(v)) return 0;
    if (dec < 0) dec = 0;
    if (dec > 9) dec = 9;
    double x = v * (double)pow10_ll[dec];
    if (fabs(x) >= 9e15) { /* beyond exact integers: let printf do it */
        int len = snprintf(buf, n, "%.*f", dec, v);
        for (char *p = buf; *p; p++)
            if (*p != '-' && (*p < '0' || *p > '9')) *p = point;
        return len < 0 ? 0 : (len >= (int)n ? (int)n - 1 : len);
    }
    long long q = llround(x);
    int neg = q < 0;
    if (neg) q = -q;
    long long ip = q / pow10_ll[dec], fp = q % pow10_ll[dec];
    int len;
    if (dec > 0)
        len = snprintf(buf, n, "%s%lld%c%0*lld", neg ? "-" : "", ip, point, dec, fp);
    else
        len = snprintf(buf, n, "%s%lld", neg ? "-" : "", ip);
    return len < 0 ? 0 : (len >= (int)n ? (int)n - 1 : len);
}

int st_fmt_study(char *buf, size_t n, double v, int maxdec) {
    int len = st_fmt_fixed(buf, n, v, maxdec, ',');
    char *c = strchr(buf, ',');
    if (!c) return len;
    char *end = buf + len;
    while (end > c + 2 && end[-1] == '0') end--;
    *end = '\0';
    return (int)(end - buf);
}

/* Appends to a line buffer; tracks overflow. */
typedef struct line {
    char *buf;
    size_t n, len;
    int over;
} line;

static void put(line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(line *l, const char *fmt, ...) {
    if (l->over) return;
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(l->buf + l->len, l->n - l->len, fmt, ap);
    va_end(ap);
    if (r < 0 || (size_t)r >= l->n - l->len) {
        l->over = 1;
        return;
    }
    l->len += (size_t)r;
}

/* number, or empty when NAN */
static void num(line *l, double v, int dec) {
    char b[64];
    st_fmt_fixed(b, sizeof b, v, dec, '.');
    put(l, "%s", b);
}

/* number, or null when NAN */
static void jnum(line *l, const char *key, double v, int dec) {
    char b[64];
    if (isfinite(v)) {
        st_fmt_fixed(b, sizeof b, v, dec, '.');
        put(l, ",\"%s\":%s", key, b);
    } else {
        put(l, ",\"%s\":null", key);
    }
}

/* right-aligned number or "-" */
static void pnum(line *l, double v, int dec, int width) {
    char b[64];
    if (!st_fmt_fixed(b, sizeof b, v, dec, '.')) snprintf(b, sizeof b, "-");
    put(l, "%*s", width, b);
}

static size_t finish(line *l) {
    if (l->over) {
        if (l->n) l->buf[0] = '\0';
        return 0;
    }
    return l->len;
}

/* ---- the formats: one function each for the header and a row ------------------ */

typedef struct row_ctx {
    const nl_stats_row *r;
    const nl_stats_info *info; /* may be NULL */
    double interval_s;
} row_ctx;

static void csv_header(line *l) {
    put(l, "t_s,cpu_pct,rss_mib,sys_cpu_pct,sys_ram_pct,gpu_pct,vram_mib,vram_pct,threads,"
           "read_mib,write_mib,user_pct,system_pct,minflt_s,majflt_s,vcsw_s,ivcsw_s,read_mib_s,"
           "write_mib_s\n");
}

static void csv_row(line *l, const row_ctx *c) {
    const nl_stats_row *r = c->r;
    num(l, r->t_s, 3), put(l, ",");
    num(l, r->cpu_pct, 1), put(l, ",");
    num(l, r->mem_mib, 1), put(l, ",");
    num(l, r->sys_cpu_pct, 1), put(l, ",");
    num(l, r->sys_ram_pct, 1), put(l, ",");
    num(l, r->gpu_pct, 1), put(l, ",");
    num(l, r->vram_mib, 1), put(l, ",");
    num(l, r->vram_pct, 1), put(l, ",");
    put(l, "%d,", r->threads);
    num(l, r->read_mib, 3), put(l, ",");
    num(l, r->write_mib, 3), put(l, ",");
    num(l, r->user_pct, 1), put(l, ",");
    num(l, r->system_pct, 1), put(l, ",");
    num(l, r->minflt_s, 1), put(l, ",");
    num(l, r->majflt_s, 1), put(l, ",");
    num(l, r->vcsw_s, 1), put(l, ",");
    num(l, r->ivcsw_s, 1), put(l, ",");
    num(l, r->read_mib_s, 3), put(l, ",");
    num(l, r->write_mib_s, 3), put(l, "\n");
}

/* One sample as a JSON object, without the line end. */
static void json_object_row(line *l, const row_ctx *c) {
    const nl_stats_row *r = c->r;
    put(l, "{\"i\":%ld", r->index);
    jnum(l, "t_s", r->t_s, 3);
    jnum(l, "dt_s", r->dt_s, 4);
    put(l, ",\"wall_ms\":%lld,\"alive\":%s,\"procs\":%d,\"threads\":%d", (long long)r->wall_ms,
        r->alive ? "true" : "false", r->procs, r->threads);
    jnum(l, "cpu_pct", r->cpu_pct, 2);
    jnum(l, "cpu_machine_pct", r->cpu_machine_pct, 3);
    jnum(l, "cpu_s", r->cpu_s, 4);
    jnum(l, "rss_mib", r->mem_mib, 2);
    put(l, ",\"mem\":\"%s\"", c->info && c->info->pss ? "pss" : "rss");
    jnum(l, "ram_machine_pct", r->mem_machine_pct, 3);
    jnum(l, "sys_cpu_pct", r->sys_cpu_pct, 2);
    jnum(l, "sys_ram_pct", r->sys_ram_pct, 2);
    jnum(l, "gpu_pct", r->gpu_pct, 1);
    jnum(l, "vram_mib", r->vram_mib, 2);
    jnum(l, "vram_pct", r->vram_pct, 3);
    jnum(l, "read_mib", r->read_mib, 4);
    jnum(l, "write_mib", r->write_mib, 4);
    jnum(l, "user_pct", r->user_pct, 1);
    jnum(l, "system_pct", r->system_pct, 1);
    jnum(l, "minflt_s", r->minflt_s, 1);
    jnum(l, "majflt_s", r->majflt_s, 1);
    jnum(l, "vcsw_s", r->vcsw_s, 1);
    jnum(l, "ivcsw_s", r->ivcsw_s, 1);
    jnum(l, "read_mib_s", r->read_mib_s, 4);
    jnum(l, "write_mib_s", r->write_mib_s, 4);
    put(l, "}");
}

static void jsonl_row(line *l, const row_ctx *c) {
    json_object_row(l, c);
    put(l, "\n");
}

/* json: one document, {"samples": [row, row, ...], "info": {...}, "summary": {...}} */
static void json_header(line *l) {
    put(l, "{\"format\":\"nnlab-stats\",\"samples\":[\n");
}

static void json_row(line *l, const row_ctx *c) {
    if (c->r->index > 1) put(l, ",");
    json_object_row(l, c);
    put(l, "\n");
}

static void json_footer(line *l, const nl_stats_summary *s, const nl_stats_info *in,
                        double interval_s) {
    put(l, "],\"interval_s\":");
    num(l, interval_s, 3);
    if (in) {
        put(l, ",\"info\":{\"pid\":%d,\"comm\":\"", in->pid);
        for (const char *p = in->comm; *p; p++) { /* JSON string escapes */
            unsigned char ch = (unsigned char)*p;
            if (ch == '"' || ch == '\\')
                put(l, "\\%c", ch);
            else if (ch < 0x20 || ch == 0x7f)
                put(l, "\\u%04x", ch);
            else
                put(l, "%c", ch);
        }
        put(l, "\",\"children\":%s,\"mem\":\"%s\",\"ncpu\":%d", in->children ? "true" : "false",
            in->pss ? "pss" : "rss", in->ncpu);
        jnum(l, "mem_total_mib", in->mem_total_mib, 1);
        put(l, ",\"cpu_source\":\"%s\",\"io_available\":%s,\"gpu_available\":%s}",
            in->cpu_source ? in->cpu_source : "", in->io_available ? "true" : "false",
            in->gpu_available ? "true" : "false");
    }
    if (s) {
        put(l, ",\"summary\":{\"samples\":%ld", s->samples);
        jnum(l, "duration_s", s->duration_s, 4);
        jnum(l, "cpu_s", s->cpu_s, 4);
        jnum(l, "cpu_mean_pct", s->cpu_mean_pct, 2);
        jnum(l, "cpu_peak_pct", s->cpu_peak_pct, 2);
        jnum(l, "mem_peak_mib", s->mem_peak_mib, 2);
        put(l, ",\"procs_peak\":%d,\"threads_peak\":%d", s->procs_peak, s->threads_peak);
        jnum(l, "read_mib", s->read_mib, 4);
        jnum(l, "write_mib", s->write_mib, 4);
        jnum(l, "user_s", s->user_s, 3);
        jnum(l, "system_s", s->system_s, 3);
        jnum(l, "minflt", s->minflt, 0);
        jnum(l, "majflt", s->majflt, 0);
        jnum(l, "vcsw", s->vcsw, 0);
        jnum(l, "ivcsw", s->ivcsw, 0);
        jnum(l, "gpu_mean_pct", s->gpu_mean_pct, 2);
        jnum(l, "gpu_peak_pct", s->gpu_peak_pct, 2);
        jnum(l, "vram_peak_mib", s->vram_peak_mib, 2);
        jnum(l, "sys_cpu_mean_pct", s->sys_cpu_mean_pct, 2);
        if (s->exit_valid) {
            put(l, ",\"at_exit\":{");
            put(l, "\"user_s\":");
            num(l, s->exit_user_s, 4);
            put(l, ",\"system_s\":");
            num(l, s->exit_system_s, 4);
            put(l, ",\"maxrss_mib\":");
            num(l, s->exit_maxrss_mib, 2);
            put(l, ",\"minflt\":%ld,\"majflt\":%ld,\"vcsw\":%ld,\"ivcsw\":%ld}", s->exit_minflt,
                s->exit_majflt, s->exit_vcsw, s->exit_ivcsw);
        }
        put(l, "}");
    }
    put(l, "}\n");
}

static void pretty_row(line *l, const row_ctx *c) {
    const nl_stats_row *r = c->r;
    int pss = c->info && c->info->pss;
    pnum(l, r->t_s, 2, 8), put(l, " s  CPU ");
    pnum(l, r->cpu_pct, 1, 6), put(l, " %%  %s ", pss ? "PSS" : "RSS");
    pnum(l, r->mem_mib, 1, 8), put(l, " MiB  threads %3d  | machine CPU ", r->threads);
    pnum(l, r->sys_cpu_pct, 1, 5), put(l, " %%  RAM ");
    pnum(l, r->sys_ram_pct, 1, 5), put(l, " %%  | GPU ");
    pnum(l, r->gpu_pct, 0, 3), put(l, " %%  VRAM ");
    pnum(l, r->vram_mib, 1, 7), put(l, " MiB  | read ");
    pnum(l, r->read_mib, 1, 7), put(l, " MiB  written ");
    pnum(l, r->write_mib, 1, 7), put(l, " MiB\n");
}

/* The study's UnixStats values: time, cpu, ram, gpu, graphic ram. */
static void unixstats_values(const row_ctx *c, int dec, char b[5][64]) {
    const nl_stats_row *r = c->r;
    double iv = c->interval_s > 0 ? c->interval_s : 0.1;
    st_fmt_study(b[0], 64, round(r->t_s / iv) * iv, 3);
    st_fmt_study(b[1], 64, r->cpu_machine_pct, dec);
    st_fmt_study(b[2], 64, r->mem_machine_pct, dec);
    b[3][0] = '\0';
    if (isfinite(r->gpu_pct)) snprintf(b[3], 64, "%.0f", round(r->gpu_pct));
    st_fmt_study(b[4], 64, r->vram_pct, dec);
}

static void unixstats_pretty_row(line *l, const row_ctx *c) {
    char b[5][64];
    unixstats_values(c, 5, b);
    put(l, "Elapsed Time: %s    CPU: %s%%    RAM: %s%%    ", b[0], b[1], b[2]);
    if (b[3][0])
        put(l, "GPU: %s%%    ", b[3]);
    else
        put(l, "GPU: n/a    ");
    if (b[4][0])
        put(l, "Graphic RAM: %s%%\n", b[4]);
    else
        put(l, "Graphic RAM: n/a\n");
}

static void unixstats_csv_header(line *l) {
    put(l, "time(s);cpu;ram;gpu;graphic ram\n");
}

static void unixstats_csv_row(line *l, const row_ctx *c) {
    char b[5][64];
    unixstats_values(c, 4, b);
    put(l, "%s;%s;%s;%s;%s\n", b[0], b[1], b[2], b[3], b[4]);
}

struct nl_stats_format_def {
    const char *name;
    const char *help;
    void (*header)(line *l); /* NULL: no header */
    void (*row)(line *l, const row_ctx *c);
    /* NULL: no footer */
    void (*footer)(line *l, const nl_stats_summary *s, const nl_stats_info *info,
                   double interval_s);
};

/* Every output format: adding one is a row here plus its functions above. */
static const struct nl_stats_format_def formats[] = {
    {"csv", "header + one comma-separated line per sample (the default)", csv_header, csv_row,
     NULL},
    {"pretty", "one aligned, readable line per sample", NULL, pretty_row, NULL},
    {"jsonl", "one JSON object per sample, null for missing values", NULL, jsonl_row, NULL},
    {"json", "one JSON document: the samples, the session and the summary", json_header, json_row,
     json_footer},
    {"unixstats-pretty", "the study's UnixStats live line", NULL, unixstats_pretty_row, NULL},
    {"unixstats-csv", "the study's UnixStats CSV (';', decimal comma)", unixstats_csv_header,
     unixstats_csv_row, NULL},
};
enum { NFORMATS = sizeof formats / sizeof formats[0] };

nl_stats_format nl_stats_format_at(size_t i) {
    return i < NFORMATS ? &formats[i] : NULL;
}

nl_stats_format nl_stats_format_named(const char *name) {
    for (size_t i = 0; name && i < NFORMATS; i++)
        if (!strcmp(name, formats[i].name)) return &formats[i];
    return NULL;
}

nl_status nl_stats_parse_format(const char *name, nl_stats_format *out, nl_error *err) {
    nl_stats_format f = nl_stats_format_named(name);
    if (f) {
        *out = f;
        return NL_OK;
    }
    char known[256] = "";
    for (size_t i = 0, len = 0; i < NFORMATS && len < sizeof known; i++)
        len += (size_t)snprintf(known + len, sizeof known - len, "%s%s",
                                i == 0             ? ""
                                : i + 1 < NFORMATS ? ", "
                                                   : " or ",
                                formats[i].name);
    return nl_error_set(err, NL_EINVAL, "unknown format '%s': expected %s", name ? name : "(null)",
                        known);
}

const char *nl_stats_format_name(nl_stats_format fmt) {
    return fmt ? fmt->name : "unknown";
}

const char *nl_stats_format_help(nl_stats_format fmt) {
    return fmt ? fmt->help : "";
}

size_t nl_stats_format_header(nl_stats_format fmt, char *buf, size_t n) {
    line l = {buf, n, 0, 0};
    if (n) buf[0] = '\0';
    if (fmt && fmt->header) fmt->header(&l);
    return finish(&l);
}

size_t nl_stats_format_footer(nl_stats_format fmt, const nl_stats_summary *s,
                              const nl_stats_info *info, double interval_s, char *buf, size_t n) {
    line l = {buf, n, 0, 0};
    if (n) buf[0] = '\0';
    if (fmt && fmt->footer) fmt->footer(&l, s, info, interval_s);
    return finish(&l);
}

size_t nl_stats_format_row(nl_stats_format fmt, const nl_stats_row *r, const nl_stats_info *info,
                           double interval_s, char *buf, size_t n) {
    line l = {buf, n, 0, 0};
    if (n) buf[0] = '\0';
    if (!r || !fmt) return 0;
    row_ctx c = {r, info, interval_s};
    fmt->row(&l, &c);
    return finish(&l);
}

/* ---- summary ----------------------------------------------------------------- */

void nl_stats_summary_init(nl_stats_summary *s) {
    memset(s, 0, sizeof *s);
    s->read_mib = s->write_mib = NAN;
    s->cpu_peak_pct = s->mem_peak_mib = NAN;
    s->gpu_mean_pct = s->gpu_peak_pct = s->vram_peak_mib = NAN;
    s->exit_user_s = s->exit_system_s = s->exit_maxrss_mib = NAN;
}

static double maxd(double a, double b) {
    if (!isfinite(a)) return b;
    if (!isfinite(b)) return a;
    return a > b ? a : b;
}

static double add_rate(double total, double rate, double dt) {
    return isfinite(rate) && isfinite(dt) ? total + rate * dt : total;
}

void nl_stats_summary_add(nl_stats_summary *s, const nl_stats_row *r) {
    s->duration_s = r->t_s;
    s->cpu_s = r->cpu_s;
    s->cpu_mean_pct = r->t_s > 0 ? 100.0 * r->cpu_s / r->t_s : 0.0;
    s->read_mib = r->read_mib;
    s->write_mib = r->write_mib;
    s->user_s = add_rate(s->user_s, r->user_pct / 100.0, r->dt_s);
    s->system_s = add_rate(s->system_s, r->system_pct / 100.0, r->dt_s);
    s->minflt = add_rate(s->minflt, r->minflt_s, r->dt_s);
    s->majflt = add_rate(s->majflt, r->majflt_s, r->dt_s);
    s->vcsw = add_rate(s->vcsw, r->vcsw_s, r->dt_s);
    s->ivcsw = add_rate(s->ivcsw, r->ivcsw_s, r->dt_s);
    if (!r->alive) return; /* after the exit: counted above, but no sample */
    s->samples++;
    s->cpu_peak_pct = maxd(s->cpu_peak_pct, r->cpu_pct);
    s->mem_peak_mib = maxd(s->mem_peak_mib, r->mem_mib);
    if (r->procs > s->procs_peak) s->procs_peak = r->procs;
    if (r->threads > s->threads_peak) s->threads_peak = r->threads;
    if (isfinite(r->sys_cpu_pct)) {
        s->sys_cpu_sum_pct += r->sys_cpu_pct;
        s->sys_cpu_mean_pct = s->sys_cpu_sum_pct / (double)s->samples;
    }
    if (isfinite(r->gpu_pct)) {
        s->gpu_seen = 1;
        s->gpu_samples++;
        s->gpu_sum_pct += r->gpu_pct;
        s->gpu_mean_pct = s->gpu_sum_pct / (double)s->gpu_samples;
        s->gpu_peak_pct = maxd(s->gpu_peak_pct, r->gpu_pct);
    }
    if (isfinite(r->vram_mib)) {
        s->gpu_seen = 1;
        s->vram_peak_mib = maxd(s->vram_peak_mib, r->vram_mib);
    }
}

/* A count for the summary: 12, 3.4 k, 5.6 M. */
static void count_text(char *b, size_t n, double v) {
    char x[40];
    if (!isfinite(v)) {
        snprintf(b, n, "unknown");
    } else if (v < 10000) {
        st_fmt_fixed(b, n, v, 0, '.');
    } else if (v < 1e7) {
        st_fmt_fixed(x, sizeof x, v / 1e3, 1, '.');
        snprintf(b, n, "%s k", x);
    } else {
        st_fmt_fixed(x, sizeof x, v / 1e6, 1, '.');
        snprintf(b, n, "%s M", x);
    }
}

size_t nl_stats_summary_format(const nl_stats_summary *s, const nl_stats_info *info, char *buf,
                               size_t n) {
    line l = {buf, n, 0, 0};
    if (n) buf[0] = '\0';
    char a[64], b[64], c[64], d[64];
    const int none = s->samples == 0;
    st_fmt_fixed(a, sizeof a, s->duration_s, 3, '.');
    if (none) {
        st_fmt_fixed(b, sizeof b, s->duration_s * 1000.0, 0, '.');
        put(&l, "  no sample     the process ended after %s ms, before the first sample\n", b);
    } else {
        put(&l, "  duration      %s s, %ld sample%s\n", a, s->samples, s->samples == 1 ? "" : "s");
    }
    st_fmt_fixed(a, sizeof a, s->cpu_mean_pct, 1, '.');
    st_fmt_fixed(c, sizeof c, s->cpu_s, 3, '.');
    if (none) {
        put(&l, "  CPU           mean %s %% (100 %% = one core", a);
    } else {
        st_fmt_fixed(b, sizeof b, s->cpu_peak_pct, 1, '.');
        put(&l, "  CPU           mean %s %%, peak %s %% (100 %% = one core", a, b);
    }
    if (info) put(&l, ", %d cores", info->ncpu);
    put(&l, "); %s CPU-seconds", c);
    double us = s->exit_valid ? s->exit_user_s : s->user_s;
    double ss = s->exit_valid ? s->exit_system_s : s->system_s;
    st_fmt_fixed(a, sizeof a, us, 3, '.');
    st_fmt_fixed(b, sizeof b, ss, 3, '.');
    if (a[0] && b[0]) put(&l, ": %s s user, %s s system", a, b);
    put(&l, "\n");
    const char *kind = info && info->pss ? "PSS" : "RSS";
    if (isfinite(s->mem_peak_mib)) {
        st_fmt_fixed(a, sizeof a, s->mem_peak_mib, 1, '.');
        put(&l, "  memory        peak %s MiB %s", a, kind);
        if (info && info->mem_total_mib > 0) {
            st_fmt_fixed(b, sizeof b, 100.0 * s->mem_peak_mib / info->mem_total_mib, 1, '.');
            st_fmt_fixed(c, sizeof c, info->mem_total_mib, 0, '.');
            put(&l, " (%s %% of %s MiB)", b, c);
        }
        put(&l, "\n");
    } else if (s->exit_valid && isfinite(s->exit_maxrss_mib)) {
        st_fmt_fixed(a, sizeof a, s->exit_maxrss_mib, 1, '.');
        put(&l, "  memory        peak %s MiB RSS of its largest process (the kernel's, at exit)\n",
            a);
    } else {
        put(&l, "  memory        unknown (no sample)\n");
    }
    if (!none)
        put(&l, "  processes     peak %d, threads peak %d\n", s->procs_peak, s->threads_peak);
    if (isfinite(s->read_mib)) {
        st_fmt_fixed(a, sizeof a, s->read_mib, 1, '.');
        st_fmt_fixed(b, sizeof b, s->write_mib, 1, '.');
        put(&l, "  storage I/O   read %s MiB, written %s MiB", a, b);
        if (s->duration_s > 0 && !none) {
            st_fmt_fixed(c, sizeof c, s->read_mib / s->duration_s, 2, '.');
            st_fmt_fixed(d, sizeof d, s->write_mib / s->duration_s, 2, '.');
            put(&l, " (%s and %s MiB/s)", c, d);
        }
        put(&l, "\n");
    } else {
        put(&l, "  storage I/O   unknown\n");
    }
    count_text(a, sizeof a, s->exit_valid ? (double)s->exit_minflt : s->minflt);
    count_text(b, sizeof b, s->exit_valid ? (double)s->exit_majflt : s->majflt);
    put(&l, "  page faults   %s minor, %s major\n", a, b);
    count_text(a, sizeof a, s->exit_valid ? (double)s->exit_vcsw : s->vcsw);
    count_text(b, sizeof b, s->exit_valid ? (double)s->exit_ivcsw : s->ivcsw);
    put(&l, "  switches      %s voluntary, %s involuntary%s\n", a, b,
        s->exit_valid ? "" : " (main threads)");
    if (s->gpu_seen) {
        st_fmt_fixed(a, sizeof a, s->gpu_mean_pct, 1, '.');
        st_fmt_fixed(b, sizeof b, s->gpu_peak_pct, 1, '.');
        st_fmt_fixed(c, sizeof c, s->vram_peak_mib, 1, '.');
        put(&l, "  GPU           utilisation mean %s %%, peak %s %%; memory peak %s MiB\n", a, b,
            c[0] ? c : "unknown");
    } else {
        put(&l, "  GPU           none\n");
    }
    if (!none) {
        st_fmt_fixed(a, sizeof a, s->sys_cpu_mean_pct, 1, '.');
        put(&l, "  machine CPU   mean %s %% of all cores\n", a);
    }
    return finish(&l);
}
