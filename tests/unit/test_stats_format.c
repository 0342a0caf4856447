/* nnlab stats output formats: exact UnixStats lines from the study, CSV and
 * JSONL parsed back, locale independence, summary. */
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nnlab/stats.h"
#include "stats/stats_internal.h"

static nl_stats_row sample_row(void) {
    nl_stats_row r;
    memset(&r, 0, sizeof r);
    r.index = 3;
    r.t_s = 0.3004;
    r.dt_s = 0.1001;
    r.wall_ms = 1700000000123;
    r.alive = 1;
    r.procs = 2;
    r.threads = 9;
    r.cpu_pct = 187.34;
    r.cpu_machine_pct = 93.67;
    r.cpu_s = 12.3456;
    r.mem_mib = 1234.56;
    r.mem_machine_pct = 5.12;
    r.read_mib = 0.5;
    r.write_mib = 12.25;
    r.sys_cpu_pct = 95.1;
    r.sys_ram_pct = 41.04;
    r.gpu_pct = NAN;
    r.vram_mib = NAN;
    r.vram_pct = NAN;
    r.user_pct = 150.2;
    r.system_pct = 30.1;
    r.minflt_s = 1234.5;
    r.majflt_s = 2;
    r.vcsw_s = 40;
    r.ivcsw_s = 7.5;
    r.read_mib_s = 4.997;
    r.write_mib_s = 122.375;
    return r;
}

static void test_numbers(void) {
    char b[64];
    st_fmt_fixed(b, sizeof b, 1.25, 1, '.');
    CHECK(!strcmp(b, "1.3"));
    st_fmt_fixed(b, sizeof b, -0.04, 1, '.');
    CHECK_MSG(!strcmp(b, "0.0"), "got '%s'", b); /* no "-0.0" */
    st_fmt_fixed(b, sizeof b, -2.5, 2, ',');
    CHECK(!strcmp(b, "-2,50"));
    st_fmt_fixed(b, sizeof b, 42, 0, '.');
    CHECK(!strcmp(b, "42"));
    CHECK(st_fmt_fixed(b, sizeof b, NAN, 2, '.') == 0 && b[0] == '\0');
    CHECK(st_fmt_fixed(b, sizeof b, INFINITY, 2, '.') == 0 && b[0] == '\0');
    st_fmt_fixed(b, sizeof b, 1e20, 1, '.');
    CHECK_MSG(!strcmp(b, "100000000000000000000.0"), "got '%s'", b);
    st_fmt_fixed(b, sizeof b, 0.0005, 3, '.');
    CHECK(!strcmp(b, "0.001"));
    /* the study's style */
    st_fmt_study(b, sizeof b, 14.40490, 4);
    CHECK(!strcmp(b, "14,4049"));
    st_fmt_study(b, sizeof b, 0.1, 3);
    CHECK(!strcmp(b, "0,1"));
    st_fmt_study(b, sizeof b, 4.0, 5);
    CHECK_MSG(!strcmp(b, "4,0"), "got '%s'", b);
    st_fmt_study(b, sizeof b, 3.445700001, 5);
    CHECK(!strcmp(b, "3,4457"));
    st_fmt_study(b, sizeof b, 9.875094, 5);
    CHECK(!strcmp(b, "9,87509"));
}

static void test_unixstats(void) {
    char buf[512];
    /* the study's CSV sample line: 0,1;14,4049;29,2317;2;85,6117 */
    nl_stats_row r = sample_row();
    r.t_s = 0.1003;
    r.cpu_machine_pct = 14.4049;
    r.mem_machine_pct = 29.2317;
    r.gpu_pct = 2;
    r.vram_pct = 85.6117;
    r.vram_mib = 7013.3;
    CHECK(nl_stats_format_header(NL_STATS_UNIXSTATS_CSV, buf, sizeof buf) == 32);
    CHECK(!strcmp(buf, "time(s);cpu;ram;gpu;graphic ram\n"));
    size_t n = nl_stats_format_row(NL_STATS_UNIXSTATS_CSV, &r, NULL, 0.1, buf, sizeof buf);
    CHECK_MSG(!strcmp(buf, "0,1;14,4049;29,2317;2;85,6117\n"), "got '%s'", buf);
    CHECK(n == strlen(buf));

    /* the study's live line */
    r.cpu_machine_pct = 4.322271;
    r.mem_machine_pct = 9.875088;
    r.gpu_pct = 1;
    r.vram_pct = 3.44570;
    nl_stats_format_row(NL_STATS_UNIXSTATS_PRETTY, &r, NULL, 0.1, buf, sizeof buf);
    CHECK_MSG(!strcmp(buf, "Elapsed Time: 0,1    CPU: 4,32227%    RAM: 9,87509%    GPU: 1%    "
                           "Graphic RAM: 3,4457%\n"),
              "got '%s'", buf);
    CHECK(nl_stats_format_header(NL_STATS_UNIXSTATS_PRETTY, buf, sizeof buf) == 0);

    /* sample 10 at 0.1 s: "1,0"; time follows the interval grid */
    r.t_s = 0.9996;
    nl_stats_format_row(NL_STATS_UNIXSTATS_CSV, &r, NULL, 0.1, buf, sizeof buf);
    CHECK_MSG(!strncmp(buf, "1,0;", 4), "got '%s'", buf);
    r.t_s = 2.5012;
    nl_stats_format_row(NL_STATS_UNIXSTATS_CSV, &r, NULL, 0.5, buf, sizeof buf);
    CHECK_MSG(!strncmp(buf, "2,5;", 4), "got '%s'", buf);

    /* no GPU: empty cells, n/a in the live line */
    r = sample_row();
    nl_stats_format_row(NL_STATS_UNIXSTATS_CSV, &r, NULL, 0.1, buf, sizeof buf);
    CHECK_MSG(!strcmp(buf, "0,3;93,67;5,12;;\n"), "got '%s'", buf);
    nl_stats_format_row(NL_STATS_UNIXSTATS_PRETTY, &r, NULL, 0.1, buf, sizeof buf);
    CHECK_CONTAINS(buf, "GPU: n/a    Graphic RAM: n/a\n");
}

/* splits a CSV line into cells (in place) */
static int split(char *line, char sep, char **cells, int max) {
    int n = 0;
    char *p = line;
    for (;;) {
        if (n == max) return -1;
        cells[n++] = p;
        char *c = strchr(p, sep);
        if (!c) break;
        *c = '\0';
        p = c + 1;
    }
    char *nl = strchr(cells[n - 1], '\n');
    if (nl) *nl = '\0';
    return n;
}

static double cell(const char *s) {
    if (!*s) return NAN;
    char *e;
    double v = strtod(s, &e);
    return *e ? -12345 : v;
}

static void test_csv_back(void) {
    char hdr[512], buf[512];
    nl_stats_format_header(NL_STATS_CSV, hdr, sizeof hdr);
    CHECK(!strcmp(hdr, "t_s,cpu_pct,rss_mib,sys_cpu_pct,sys_ram_pct,gpu_pct,vram_mib,vram_pct,"
                       "threads,read_mib,write_mib,user_pct,system_pct,minflt_s,majflt_s,vcsw_s,"
                       "ivcsw_s,read_mib_s,write_mib_s\n"));
    nl_stats_row r = sample_row();
    nl_stats_format_row(NL_STATS_CSV, &r, NULL, 0.1, buf, sizeof buf);
    CHECK(buf[strlen(buf) - 1] == '\n');
    char *c[24];
    int n = split(buf, ',', c, 24);
    CHECK(n == 19);
    if (n != 19) return;
    CHECK_NEAR(cell(c[0]), r.t_s, 0.0005);
    CHECK_NEAR(cell(c[1]), r.cpu_pct, 0.05);
    CHECK_NEAR(cell(c[2]), r.mem_mib, 0.05);
    CHECK_NEAR(cell(c[3]), r.sys_cpu_pct, 0.05);
    CHECK_NEAR(cell(c[4]), r.sys_ram_pct, 0.05);
    CHECK(c[5][0] == '\0' && c[6][0] == '\0' && c[7][0] == '\0'); /* no GPU: empty */
    CHECK(!strcmp(c[8], "9"));
    CHECK_NEAR(cell(c[9]), r.read_mib, 0.0005);
    CHECK_NEAR(cell(c[10]), r.write_mib, 0.0005);
    CHECK_NEAR(cell(c[11]), r.user_pct, 0.05);
    CHECK_NEAR(cell(c[12]), r.system_pct, 0.05);
    CHECK_NEAR(cell(c[13]), r.minflt_s, 0.05);
    CHECK_NEAR(cell(c[14]), r.majflt_s, 0.05);
    CHECK_NEAR(cell(c[15]), r.vcsw_s, 0.05);
    CHECK_NEAR(cell(c[16]), r.ivcsw_s, 0.05);
    CHECK_NEAR(cell(c[17]), r.read_mib_s, 0.0005);
    CHECK_NEAR(cell(c[18]), r.write_mib_s, 0.0005);

    r.gpu_pct = 57;
    r.vram_mib = 1021.04;
    r.vram_pct = 12.46;
    r.read_mib = NAN;
    nl_stats_format_row(NL_STATS_CSV, &r, NULL, 0.1, buf, sizeof buf);
    n = split(buf, ',', c, 24);
    CHECK(n == 19);
    if (n != 19) return;
    CHECK_NEAR(cell(c[5]), 57, 0.05);
    CHECK_NEAR(cell(c[6]), 1021.04, 0.05);
    CHECK_NEAR(cell(c[7]), 12.46, 0.05);
    CHECK(c[9][0] == '\0');
}

/* ---- a small JSON object parser for the round trip ---- */
typedef struct jv {
    char key[32];
    char type; /* n s b 0 */
    double num;
    char str[32];
} jv;

static int parse_json(const char *p, jv *o, int max) {
    int n = 0;
    if (*p++ != '{') return -1;
    while (*p && *p != '}') {
        if (n == max || *p++ != '"') return -1;
        int k = 0;
        while (*p && *p != '"' && k < 31) o[n].key[k++] = *p++;
        o[n].key[k] = '\0';
        if (*p++ != '"' || *p++ != ':') return -1;
        if (*p == '"') {
            p++;
            k = 0;
            while (*p && *p != '"' && k < 31) o[n].str[k++] = *p++;
            o[n].str[k] = '\0';
            if (*p++ != '"') return -1;
            o[n].type = 's';
        } else if (!strncmp(p, "null", 4)) {
            o[n].type = '0', p += 4;
        } else if (!strncmp(p, "true", 4)) {
            o[n].type = 'b', o[n].num = 1, p += 4;
        } else if (!strncmp(p, "false", 5)) {
            o[n].type = 'b', o[n].num = 0, p += 5;
        } else {
            char *e;
            o[n].num = strtod(p, &e);
            if (e == p) return -1;
            o[n].type = 'n', p = e;
        }
        n++;
        if (*p == ',') p++;
    }
    if (*p++ != '}' || *p++ != '\n' || *p) return -1;
    return n;
}

static const jv *jget(const jv *o, int n, const char *k) {
    for (int i = 0; i < n; i++)
        if (!strcmp(o[i].key, k)) return &o[i];
    return NULL;
}

static void test_jsonl_back(void) {
    char buf[1024];
    nl_stats_row r = sample_row();
    nl_stats_info info;
    memset(&info, 0, sizeof info);
    info.pss = 1;
    CHECK(nl_stats_format_header(NL_STATS_JSONL, buf, sizeof buf) == 0);
    nl_stats_format_row(NL_STATS_JSONL, &r, &info, 0.1, buf, sizeof buf);
    jv o[40];
    int n = parse_json(buf, o, 40);
    CHECK_MSG(n >= 20, "parse of '%s' gave %d", buf, n);
    if (n < 20) return;
    const jv *v;
    CHECK((v = jget(o, n, "i")) && v->type == 'n' && v->num == 3);
    CHECK((v = jget(o, n, "t_s")) && fabs(v->num - 0.3004) < 0.001);
    CHECK((v = jget(o, n, "wall_ms")) && v->num == 1700000000123.0);
    CHECK((v = jget(o, n, "alive")) && v->type == 'b' && v->num == 1);
    CHECK((v = jget(o, n, "cpu_pct")) && fabs(v->num - 187.34) < 0.01);
    CHECK((v = jget(o, n, "cpu_s")) && fabs(v->num - 12.3456) < 0.0001);
    CHECK((v = jget(o, n, "rss_mib")) && fabs(v->num - 1234.56) < 0.01);
    CHECK((v = jget(o, n, "mem")) && v->type == 's' && !strcmp(v->str, "pss"));
    CHECK((v = jget(o, n, "gpu_pct")) && v->type == '0');
    CHECK((v = jget(o, n, "vram_mib")) && v->type == '0');
    CHECK((v = jget(o, n, "threads")) && v->num == 9);
    CHECK((v = jget(o, n, "write_mib")) && fabs(v->num - 12.25) < 0.0001);
}

static void test_pretty_and_errors(void) {
    char buf[512];
    nl_stats_row r = sample_row();
    size_t n = nl_stats_format_row(NL_STATS_PRETTY, &r, NULL, 0.1, buf, sizeof buf);
    CHECK(n > 0 && buf[n - 1] == '\n' && !strchr(buf, '\n')[1]);
    CHECK_CONTAINS(buf, "187.3 %");
    CHECK_CONTAINS(buf, "RSS");
    CHECK_CONTAINS(buf, "GPU   - %");
    /* too small a buffer: nothing, not half a line */
    char small[20];
    CHECK(nl_stats_format_row(NL_STATS_CSV, &r, NULL, 0.1, small, sizeof small) == 0);
    CHECK(small[0] == '\0');
    /* format names */
    nl_stats_format f;
    nl_error err = {0};
    CHECK(nl_stats_parse_format("unixstats-csv", &f, &err) == NL_OK && f == NL_STATS_UNIXSTATS_CSV);
    CHECK(nl_stats_parse_format("jsonl", &f, &err) == NL_OK && f == NL_STATS_JSONL);
    CHECK(nl_stats_parse_format("xml", &f, &err) == NL_EINVAL);
    CHECK_CONTAINS(err.msg, "unknown format 'xml'");
    CHECK_CONTAINS(err.msg, "unixstats-pretty");
    size_t nf = 0;
    for (nl_stats_format g; (g = nl_stats_format_at(nf)) != NULL; nf++) {
        CHECK(nl_stats_parse_format(nl_stats_format_name(g), &f, &err) == NL_OK);
        CHECK(f == g);
        CHECK(nl_stats_format_help(g)[0] != '\0');
    }
    CHECK(nf == 6);
    CHECK(nl_stats_format_named("xml") == NULL);
    CHECK(nl_stats_format_header(NULL, buf, sizeof buf) == 0);
}

static void test_locale(void) {
    /* a locale with a decimal comma must not leak into csv/jsonl */
    const char *names[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "C.UTF-8"};
    const char *got = NULL;
    for (int i = 0; i < 4 && !got; i++) got = setlocale(LC_NUMERIC, names[i]);
    char buf[512];
    nl_stats_row r = sample_row();
    nl_stats_format_row(NL_STATS_CSV, &r, NULL, 0.1, buf, sizeof buf);
    CHECK_MSG(!strncmp(buf, "0.300,187.3,1234.6,", 19), "locale %s: '%s'", got ? got : "C", buf);
    setlocale(LC_NUMERIC, "C");
}

static void test_summary(void) {
    nl_stats_summary s;
    nl_stats_summary_init(&s);
    nl_stats_row r = sample_row();
    for (int i = 1; i <= 10; i++) {
        r.t_s = 0.1 * i;
        r.cpu_s = 0.05 * i; /* 50 % on average */
        r.cpu_pct = i == 4 ? 90 : 50;
        r.mem_mib = 100 + i;
        r.threads = i;
        r.gpu_pct = i <= 5 ? NAN : 60;
        r.vram_mib = i <= 5 ? NAN : 500 + i;
        nl_stats_summary_add(&s, &r);
    }
    CHECK(s.samples == 10);
    CHECK_NEAR(s.duration_s, 1.0, 1e-9);
    CHECK_NEAR(s.cpu_mean_pct, 50.0, 1e-6);
    CHECK_NEAR(s.cpu_peak_pct, 90.0, 1e-9);
    CHECK_NEAR(s.mem_peak_mib, 110.0, 1e-9);
    CHECK(s.threads_peak == 10);
    CHECK(s.gpu_seen);
    CHECK_NEAR(s.gpu_mean_pct, 60.0, 1e-9);
    CHECK_NEAR(s.vram_peak_mib, 510.0, 1e-9);
    nl_stats_info info;
    memset(&info, 0, sizeof info);
    info.ncpu = 2;
    info.mem_total_mib = 1000;
    char buf[2048];
    size_t n = nl_stats_summary_format(&s, &info, buf, sizeof buf);
    CHECK(n > 0 && buf[n - 1] == '\n');
    CHECK_CONTAINS(buf, "mean 50.0 %, peak 90.0 %");
    CHECK_CONTAINS(buf, "peak 110.0 MiB RSS (11.0 % of 1000 MiB)");
    CHECK_CONTAINS(buf, "memory peak 510.0 MiB");
    CHECK_CONTAINS(buf, "2 cores");

    nl_stats_summary_init(&s);
    r = sample_row();
    nl_stats_summary_add(&s, &r);
    nl_stats_summary_format(&s, &info, buf, sizeof buf);
    CHECK_CONTAINS(buf, "GPU           none");
}

/* The row taken after the exit adds CPU time and counts but is no sample; a
 * run over before the first sample says so, with the kernel's figures. */
static void test_summary_exit_row(void) {
    nl_stats_summary s;
    nl_stats_summary_init(&s);
    nl_stats_row r = sample_row();
    r.t_s = 0.1, r.dt_s = 0.1, r.cpu_s = 0.05, r.cpu_pct = 50, r.mem_mib = 10, r.threads = 2;
    r.minflt_s = 100;
    nl_stats_summary_add(&s, &r);
    r.t_s = 0.15, r.dt_s = 0.05, r.cpu_s = 0.1, r.cpu_pct = 100, r.mem_mib = 0, r.threads = 0;
    r.alive = 0;
    nl_stats_summary_add(&s, &r);
    CHECK(s.samples == 1);                  /* the rows a program prints */
    CHECK_NEAR(s.cpu_s, 0.1, 1e-12);        /* the last interval's CPU counted */
    CHECK_NEAR(s.cpu_peak_pct, 50.0, 1e-9); /* from the samples only */
    CHECK_NEAR(s.mem_peak_mib, 10.0, 1e-9);
    CHECK(s.threads_peak == 2);
    CHECK_NEAR(s.minflt, 100 * 0.1 + 100 * 0.05, 1e-9);

    nl_stats_summary_init(&s);
    r.t_s = 0.004, r.dt_s = 0.004, r.cpu_s = 0.002;
    nl_stats_summary_add(&s, &r);
    s.duration_s = 0.0042;
    s.cpu_mean_pct = 100 * 0.002 / 0.0042;
    s.exit_valid = 1;
    s.exit_user_s = 0.001, s.exit_system_s = 0.001, s.exit_maxrss_mib = 2.5;
    s.exit_minflt = 90, s.exit_vcsw = 1;
    CHECK(s.samples == 0 && isnan(s.cpu_peak_pct) && isnan(s.mem_peak_mib));
    nl_stats_info info;
    memset(&info, 0, sizeof info);
    info.ncpu = 2;
    char buf[2048];
    nl_stats_summary_format(&s, &info, buf, sizeof buf);
    CHECK_CONTAINS(buf, "no sample     the process ended after 4 ms");
    CHECK_CONTAINS(buf, "CPU           mean 47.6 % (100 % = one core, 2 cores)");
    CHECK_CONTAINS(buf, "peak 2.5 MiB RSS of its largest process (the kernel's, at exit)");
    CHECK_CONTAINS(buf, "90 minor, 0 major");
    CHECK(!strstr(buf, "peak 0.0 MiB") && !strstr(buf, "processes     peak 0"));
}

/* json: header + rows + footer make one document. */
static void test_json_document(void) {
    char doc[16384] = "", buf[4096];
    nl_stats_format f = NL_STATS_JSON;
    CHECK(f != NULL);
    if (!f) return;
    CHECK(nl_stats_format_header(f, buf, sizeof buf) > 0);
    strcat(doc, buf);
    nl_stats_summary s;
    nl_stats_summary_init(&s);
    for (int i = 1; i <= 3; i++) {
        nl_stats_row r = sample_row();
        r.index = i;
        r.t_s = 0.1 * i;
        nl_stats_summary_add(&s, &r);
        CHECK(nl_stats_format_row(f, &r, NULL, 0.1, buf, sizeof buf) > 0);
        strcat(doc, buf);
    }
    nl_stats_info info;
    memset(&info, 0, sizeof info);
    info.pid = 42;
    snprintf(info.comm, sizeof info.comm, "a\"b\\c");
    info.ncpu = 2;
    size_t n = nl_stats_format_footer(f, &s, &info, 0.1, buf, sizeof buf);
    CHECK(n > 0 && buf[n - 1] == '\n');
    strcat(doc, buf);
    /* structure: one object, three samples separated by commas, closed */
    CHECK(!strncmp(doc, "{\"format\":\"nnlab-stats\",\"samples\":[\n{\"i\":1,", 40));
    CHECK_CONTAINS(doc, "}\n,{\"i\":2,");
    CHECK_CONTAINS(doc, "}\n,{\"i\":3,");
    CHECK_CONTAINS(doc, "],\"interval_s\":0.100,\"info\":{\"pid\":42,\"comm\":\"a\\\"b\\\\c\"");
    CHECK_CONTAINS(doc, "\"summary\":{\"samples\":3,");
    CHECK_CONTAINS(doc, "\"minflt_s\":1234.5");
    CHECK(!strcmp(doc + strlen(doc) - 3, "}}\n"));
    int depth = 0, ok = 1;
    for (const char *p = doc; *p; p++) {
        if (*p == '"') { /* skip strings */
            for (p++; *p && *p != '"'; p++)
                if (*p == '\\') p++;
            continue;
        }
        if (*p == '{' || *p == '[') depth++;
        if (*p == '}' || *p == ']') depth--;
        if (depth < 0) ok = 0;
    }
    CHECK(ok && depth == 0);
    /* the other formats have no footer */
    CHECK(nl_stats_format_footer(NL_STATS_CSV, &s, &info, 0.1, buf, sizeof buf) == 0);
    CHECK(nl_stats_format_footer(NL_STATS_JSONL, &s, &info, 0.1, buf, sizeof buf) == 0);
}

int main(void) {
    test_numbers();
    test_unixstats();
    test_csv_back();
    test_jsonl_back();
    test_pretty_and_errors();
    test_locale();
    test_summary();
    test_summary_exit_row();
    test_json_document();
    CHECK_DONE();
}
