/* nnlab bench: aggregation (statistics, resampling, averaging of runs of
 * different lengths, failed runs excluded, % difference), event parsing,
 * contestants files and command templates. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "nnlab/bench.h"

static void test_describe(void) {
    nl_bench_stat s;
    const double x[] = {4, 1, NAN, 3, 2};
    nl_bench_describe(x, 5, &s);
    CHECK(s.n == 4);
    CHECK_NEAR(s.mean, 2.5, 1e-12);
    CHECK_NEAR(s.sd, sqrt(5.0 / 3.0), 1e-12); /* sample sd, n - 1 */
    CHECK_NEAR(s.median, 2.5, 1e-12);
    CHECK_NEAR(s.min, 1, 0);
    CHECK_NEAR(s.max, 4, 0);
    const double odd[] = {9, 1, 5};
    nl_bench_describe(odd, 3, &s);
    CHECK_NEAR(s.median, 5, 0);
    const double one[] = {7};
    nl_bench_describe(one, 1, &s);
    CHECK(s.n == 1 && s.mean == 7 && isnan(s.sd) && s.median == 7);
    const double none[] = {NAN, NAN};
    nl_bench_describe(none, 2, &s);
    CHECK(s.n == 0 && isnan(s.mean) && isnan(s.sd) && isnan(s.min));
    nl_bench_describe(NULL, 0, &s);
    CHECK(s.n == 0 && isnan(s.median));
}

static void test_pct(void) {
    CHECK_NEAR(nl_bench_pct_diff(12, 10), 20, 1e-12);
    CHECK_NEAR(nl_bench_pct_diff(8, 10), -20, 1e-12);
    CHECK_NEAR(nl_bench_pct_diff(10, 10), 0, 0);
    CHECK(isnan(nl_bench_pct_diff(5, 0)));
    CHECK(isnan(nl_bench_pct_diff(NAN, 10)));
    CHECK(isnan(nl_bench_pct_diff(5, NAN)));
}

static void test_resample(void) {
    CHECK(nl_bench_grid_size(1.0, 0.1) == 11);
    CHECK(nl_bench_grid_size(0.95, 0.1) == 10);
    CHECK(nl_bench_grid_size(0.0, 0.1) == 1);
    CHECK(nl_bench_grid_size(-1, 0.1) == 0);
    CHECK(nl_bench_grid_size(NAN, 0.1) == 0);
    CHECK(nl_bench_grid_size(1, 0) == 0);

    /* v = 10 t sampled at 0.05, 0.15, ... 0.95: interpolation is exact inside */
    double t[10], v[10], out[13];
    for (int i = 0; i < 10; i++) t[i] = 0.05 + 0.1 * i, v[i] = 10 * t[i];
    nl_bench_resample(t, v, 10, 1.2, 0.1, out, 13);
    CHECK_NEAR(out[0], 0.5, 1e-12); /* before the first sample: held */
    for (int k = 1; k <= 9; k++) CHECK_NEAR(out[k], k, 1e-9);
    CHECK_NEAR(out[10], 9.5, 1e-12); /* after the last one, within dt: held */
    CHECK(isnan(out[11]));           /* beyond dt after the last sample */
    nl_bench_resample(t, v, 10, 1.0, 0.1, out, 13);
    CHECK(isnan(out[11]) && isnan(out[12])); /* past t_end */
    /* t_end cuts the run short */
    nl_bench_resample(t, v, 10, 0.5, 0.1, out, 13);
    CHECK_NEAR(out[5], 5, 1e-9);
    CHECK(isnan(out[6]) && isnan(out[12]));
    /* samples that start late: beyond dt before the first one there is no value */
    double tl[2] = {0.35, 0.45}, vl[2] = {1, 3};
    nl_bench_resample(tl, vl, 2, 1.0, 0.1, out, 6);
    CHECK(isnan(out[0]) && isnan(out[1]));
    CHECK_NEAR(out[3], 1, 1e-12); /* 0.3: 0.05 before the first sample */
    CHECK_NEAR(out[4], 2, 1e-9);  /* 0.4: half way */
    CHECK(isnan(out[5]) == 0);
    /* a missing value (GPU) stays missing */
    double vn[10];
    for (int i = 0; i < 10; i++) vn[i] = i == 4 ? NAN : 1;
    nl_bench_resample(t, vn, 10, 1.0, 0.1, out, 11);
    CHECK(isnan(out[4]) && isnan(out[5]) && out[3] == 1 && out[6] == 1);
    nl_bench_resample(t, v, 0, 1.0, 0.1, out, 3);
    CHECK(isnan(out[0]) && isnan(out[2]));
}

static void test_mean_series(void) {
    /* run A: 10 for 1.0 s, run B: 20 for 0.5 s (different lengths) */
    double a[11], b[11], mean[11], sd[11];
    int count[11];
    for (int k = 0; k < 11; k++) a[k] = 10, b[k] = k <= 5 ? 20 : NAN;
    const double *runs[2] = {a, b};
    nl_bench_mean_series(runs, 2, 11, mean, sd, count);
    for (int k = 0; k <= 5; k++) {
        CHECK_NEAR(mean[k], 15, 1e-12);
        CHECK_NEAR(sd[k], sqrt(50.0), 1e-12);
        CHECK(count[k] == 2);
    }
    for (int k = 6; k < 11; k++) {
        CHECK_NEAR(mean[k], 10, 1e-12);
        CHECK(isnan(sd[k]) && count[k] == 1);
    }
    double n1[1] = {NAN}, m1[1], s1[1];
    int c1[1];
    const double *r1[1] = {n1};
    nl_bench_mean_series(r1, 1, 1, m1, s1, c1);
    CHECK(isnan(m1[0]) && isnan(s1[0]) && c1[0] == 0);
}

/* A run of `secs` seconds: samples every 0.1 s from -0.3 s, CPU = cpu, RSS grows. */
static void make_run(nl_bench_run *r, int k, nl_bench_status status, double secs, double cpu,
                     double acc) {
    memset(r, 0, sizeof *r);
    r->k = k;
    r->status = status;
    r->exit_status = status == NL_BENCH_OK ? 0 : 1;
    r->time_to_train_s = secs;
    r->startup_s = 0.3;
    r->wall_s = secs + 0.4;
    r->aligned_on_events = 1;
    r->data_loaded_s = 0.1;
    r->epochs = 2;
    r->epoch_start_s[0] = 0.1, r->epoch_stop_s[0] = secs / 2 - 0.1, r->eval_s[0] = secs / 2;
    r->epoch_start_s[1] = secs / 2, r->epoch_stop_s[1] = secs - 0.1, r->eval_s[1] = secs;
    r->test_accuracy[0] = acc - 0.1, r->test_accuracy[1] = acc;
    r->samples_per_s = 1000 / secs;
    r->final_loss = 0.1;
    r->background_cpu_pct = 10.0 * k;
    snprintf(r->framework_version, sizeof r->framework_version, "v%d", k);
    size_t n = (size_t)lround((secs + 0.3) / 0.1) + 2;
    nl_error err = {0};
    CHECK(nl_bench_run_alloc_samples(r, n, &err) == NL_OK);
    for (size_t i = 0; i < n; i++) {
        r->t[i] = -0.3 + 0.1 * (double)i;
        r->v[NL_BM_CPU][i] = r->t[i] < 0 ? 999 : cpu; /* start-up must not count */
        r->v[NL_BM_RSS][i] = 100 + (double)i;
    }
}

static void test_group(void) {
    nl_bench_group g;
    memset(&g, 0, sizeof g);
    snprintf(g.contestant, sizeof g.contestant, "c");
    snprintf(g.workload, sizeof g.workload, "mnist");
    g.nruns = 4;
    g.runs = calloc(4, sizeof *g.runs);
    make_run(&g.runs[0], 1, NL_BENCH_OK, 2.0, 100, 0.9);
    make_run(&g.runs[1], 2, NL_BENCH_FAILED, 50.0, 5, 0.1); /* failed: excluded everywhere */
    make_run(&g.runs[2], 3, NL_BENCH_OK, 1.0, 200, 0.8);
    make_run(&g.runs[3], 4, NL_BENCH_OK, 3.0, 300, 0.7);
    nl_error err = {0};
    CHECK(nl_bench_group_aggregate(&g, 0.1, &err) == NL_OK);
    CHECK(g.runs_ok == 3 && g.runs_failed == 1);
    CHECK(g.time_to_train.n == 3);
    CHECK_NEAR(g.time_to_train.mean, 2.0, 1e-12);
    CHECK_NEAR(g.time_to_train.sd, 1.0, 1e-12);
    CHECK_NEAR(g.time_to_train.median, 2.0, 1e-12);
    CHECK_NEAR(g.time_to_train.min, 1.0, 0);
    CHECK_NEAR(g.time_to_train.max, 3.0, 0);
    CHECK_NEAR(g.accuracy.mean, 0.8, 1e-12);
    CHECK_NEAR(g.accuracy.sd, 0.1, 1e-12);
    CHECK(g.epochs == 2);
    CHECK_NEAR(g.acc_mean[0], 0.7, 1e-12);
    CHECK_NEAR(g.acc_mean[1], 0.8, 1e-12);
    CHECK_NEAR(g.cpu_mean.mean, 200, 1e-9); /* start-up samples (999) left out */
    CHECK_NEAR(g.runs[0].cpu_mean_pct, 100, 1e-9);
    CHECK(isnan(g.vram_peak.mean) && g.vram_peak.n == 0); /* no GPU */
    CHECK_NEAR(g.startup.mean, 0.3, 1e-12);
    CHECK_NEAR(g.background_cpu.mean, 80.0 / 3.0, 1e-9); /* runs 1, 3, 4 */
    CHECK_NEAR(g.data_loaded_mean, 0.1, 1e-12);
    CHECK_NEAR(g.eval_mean[1], 2.0, 1e-12);
    CHECK(!strcmp(g.framework_version, "v1"));
    /* grid sized for the longest OK run (3 s), not the failed one (50 s) */
    CHECK(g.ngrid == 31);
    CHECK(g.count[0] == 3 && g.count[10] == 3 && g.count[11] == 2 && g.count[20] == 2 &&
          g.count[21] == 1 && g.count[30] == 1);
    CHECK_NEAR(g.mean[NL_BM_CPU][5], 200, 1e-9);
    CHECK_NEAR(g.sd[NL_BM_CPU][5], 100, 1e-9);
    CHECK_NEAR(g.mean[NL_BM_CPU][15], 200, 1e-9); /* runs 1 and 4: (100 + 300) / 2 */
    CHECK_NEAR(g.mean[NL_BM_CPU][25], 300, 1e-9); /* run 4 only */
    CHECK(isnan(g.sd[NL_BM_CPU][25]));
    CHECK_NEAR(g.mean[NL_BM_RSS][0], 103, 1e-9); /* t = 0 is sample 3 of every run */
    CHECK(isnan(g.mean[NL_BM_GPU][0]));

    /* baseline: a second contestant on the same workload, 50% slower */
    nl_bench_group gs[3];
    memset(gs, 0, sizeof gs);
    gs[0] = g;
    snprintf(gs[1].contestant, sizeof gs[1].contestant, "slow");
    snprintf(gs[1].workload, sizeof gs[1].workload, "mnist");
    gs[1].nruns = 1;
    gs[1].runs = calloc(1, sizeof *gs[1].runs);
    make_run(&gs[1].runs[0], 1, NL_BENCH_OK, 3.0, 100, 0.9);
    CHECK(nl_bench_group_aggregate(&gs[1], 0.1, &err) == NL_OK);
    snprintf(gs[2].contestant, sizeof gs[2].contestant, "slow");
    snprintf(gs[2].workload, sizeof gs[2].workload, "cifar10"); /* no baseline there */
    gs[2].time_to_train.mean = 5;
    nl_bench_apply_baseline(gs, 3, "c");
    CHECK(gs[0].is_baseline && !gs[1].is_baseline);
    CHECK_NEAR(gs[0].pct_vs_baseline, 0, 1e-12);
    CHECK_NEAR(gs[1].pct_vs_baseline, 50, 1e-9);
    CHECK(isnan(gs[2].pct_vs_baseline));

    /* every run failed: nothing to average, no error */
    nl_bench_group f;
    memset(&f, 0, sizeof f);
    f.nruns = 1;
    f.runs = calloc(1, sizeof *f.runs);
    make_run(&f.runs[0], 1, NL_BENCH_FAILED, 1.0, 100, 0.5);
    CHECK(nl_bench_group_aggregate(&f, 0.1, &err) == NL_OK);
    CHECK(f.runs_ok == 0 && f.runs_failed == 1 && f.ngrid == 0 && isnan(f.time_to_train.mean));
    CHECK(nl_bench_group_aggregate(&f, 0, &err) == NL_EINVAL);
    nl_bench_group_free(&f);
    nl_bench_group_free(&gs[0]);
    nl_bench_group_free(&gs[1]);
}

static void test_timeline(void) {
    const char *text =
        ":::MLLOG {\"namespace\": \"\", \"time_ms\": 1000, \"event_type\": \"INTERVAL_START\", "
        "\"key\": \"init_start\", \"value\": null, \"metadata\": {}}\n"
        "some program output\n"
        "{\"time_ms\": 1500, \"key\": \"run_start\", \"metadata\": {}}\n"
        ":::MLLOG {\"time_ms\": 1600, \"key\": \"data_loaded\"}\n"
        ":::MLLOG {\"time_ms\": 1700, \"key\": \"epoch_start\", \"metadata\": {\"epoch_num\": 1}}\n"
        ":::MLLOG {\"time_ms\": 2700, \"key\": \"epoch_stop\", \"metadata\": {\"epoch_num\": 1}}\n"
        ":::MLLOG {\"time_ms\": 2900, \"key\": \"eval_accuracy\", \"value\": 0.91, "
        "\"metadata\": {\"epoch_num\": 1}}\n"
        ":::MLLOG {\"time_ms\": 3000, \"key\": \"epoch_start\", \"metadata\": {\"epoch_num\": 2}}\n"
        ":::MLLOG {\"time_ms\": 3900, \"key\": \"eval_accuracy\", \"value\": 0.95}\n" /* no num */
        ":::MLLOG {broken json\n"
        "\n"
        ":::MLLOG {\"time_ms\": 4000, \"key\": \"run_stop\", \"metadata\": {\"status\": "
        "\"success\"}}"; /* no final newline */
    nl_bench_timeline tl;
    nl_bench_timeline_init(&tl);
    nl_bench_timeline_parse(&tl, text, strlen(text));
    CHECK(tl.init_start_ms == 1000 && tl.run_start_ms == 1500 && tl.data_loaded_ms == 1600);
    CHECK(tl.run_stop_ms == 4000 && !strcmp(tl.run_stop_status, "success"));
    CHECK(tl.epochs == 2);
    CHECK(tl.epoch_start_ms[0] == 1700 && tl.epoch_stop_ms[0] == 2700 && tl.eval_ms[0] == 2900);
    CHECK_NEAR(tl.eval_accuracy[0], 0.91, 1e-12);
    CHECK(tl.epoch_start_ms[1] == 3000 && tl.epoch_stop_ms[1] == -1 && tl.eval_ms[1] == 3900);
    CHECK_NEAR(tl.eval_accuracy[1], 0.95, 1e-12);
    CHECK(tl.events == 9 && tl.ignored == 2);
    CHECK_MSG(tl.malformed == 1 && !strcmp(tl.first_malformed, "{broken json"), "%ld [%s]",
              tl.malformed, tl.first_malformed);
    /* against the run's own clock: launch at 900 ms, exit at 4100 */
    char why[256];
    CHECK(nl_bench_timeline_check(&tl, 900, 4100, 0, why, sizeof why) == 0);
    CHECK(nl_bench_timeline_check(&tl, 1200, 4100, 0, why, sizeof why) == -1);
    CHECK_CONTAINS(why, "event init_start at -0.200 s from the launch is outside the run");
    CHECK(nl_bench_timeline_check(&tl, 1200, 4100, 500, why, sizeof why) == 0); /* slack */
    CHECK(nl_bench_timeline_check(&tl, 900, 3800, 0, why, sizeof why) == -1);
    CHECK_CONTAINS(why, "event run_stop at +3.100 s");
    nl_bench_timeline liar;
    nl_bench_timeline_init(&liar);
    const char *back = "{\"time_ms\": 2000, \"key\": \"run_start\"}\n"
                       "{\"time_ms\": 1500, \"key\": \"run_stop\"}\n"
                       "{\"framework\": \"x\"}\n" /* a result line: not malformed */
                       "{\"key\": \"epoch_start\", \"time_ms\": \"soon\"}\n"; /* malformed */
    nl_bench_timeline_parse(&liar, back, strlen(back));
    CHECK(liar.events == 2 && liar.ignored == 2 && liar.malformed == 1);
    CHECK(nl_bench_timeline_check(&liar, 1000, 3000, 0, why, sizeof why) == -1);
    CHECK_CONTAINS(why, "run_stop is 0.500 s before run_start");
    nl_bench_timeline_init(&tl);
    nl_bench_timeline_parse(&tl, "", 0);
    CHECK(tl.run_start_ms == -1 && tl.epochs == 0 && isnan(tl.eval_accuracy[0]));
}

static int argv_is(char **argv, const char *const *want) {
    int i = 0;
    for (; want[i]; i++)
        if (!argv[i] || strcmp(argv[i], want[i])) return 0;
    return argv[i] == NULL;
}

static void test_contestants(void) {
    nl_error err = {0};
    nl_bench_contestant *list = NULL;
    size_t n = 0;
    /* the built-in file parses and has nnlab first */
    CHECK(nl_bench_contestants_parse(nl_bench_builtin_contestants(), "builtin", &list, &n, &err) ==
          NL_OK);
    CHECK(n >= 2 && !strcmp(list[0].name, "nnlab") && !strcmp(list[0].language, "C"));
    size_t builtin = n;
    const char *mine = "# comment\n"
                       "\n"
                       "axon  Elixir  sh -c 'cd ~/axon && mix run train.exs {workload} \\\n"
                       "   {events}'\n"
                       "nnlab C echo replaced\n";
    CHECK(nl_bench_contestants_parse(mine, "mine.txt", &list, &n, &err) == NL_OK);
    CHECK(n == builtin + 1);
    CHECK(!strcmp(list[0].name, "nnlab") && !strcmp(list[0].command, "echo replaced"));
    CHECK(!strcmp(list[n - 1].name, "axon") && !strcmp(list[n - 1].language, "Elixir"));
    CHECK(!strcmp(list[n - 1].source, "mine.txt:3"));
    free(list);
    list = NULL, n = 0;

    CHECK(nl_bench_contestants_parse("x Py run --epochs {epoch}\n", "f", &list, &n, &err) ==
          NL_EFORMAT);
    CHECK_CONTAINS(err.msg, "f:1");
    CHECK_CONTAINS(err.msg, "{epoch}");
    CHECK(nl_bench_contestants_parse("\n\nbad/name C true\n", "f", &list, &n, &err) == NL_EFORMAT);
    CHECK_CONTAINS(err.msg, "f:3");
    CHECK(nl_bench_contestants_parse("onlyname\n", "f", &list, &n, &err) == NL_EFORMAT);
    CHECK(nl_bench_contestants_parse("q C echo 'open\n", "f", &list, &n, &err) == NL_EFORMAT);
    CHECK_CONTAINS(err.msg, "quote");
    CHECK(nl_bench_contestants_parse("g C run [--limit {limit}\n", "f", &list, &n, &err) ==
          NL_EFORMAT);
    free(list);

    /* expansion */
    nl_bench_vars v = {.workload = "mnist",
                       .data = "/d ata",
                       .epochs = "3",
                       .seed = "7",
                       .events = "/o/e.events",
                       .threads = "2",
                       .limit = NULL,
                       .batch = "32",
                       .nnlab = "/bin/nnlab",
                       .root = "/src",
                       .out = "/o"};
    char **argv = NULL;
    CHECK(nl_bench_expand("{nnlab} train {workload} --data {data} [--limit {limit}] --seed={seed}",
                          &v, &argv, &err) == NL_OK);
    const char *w1[] = {"/bin/nnlab", "train", "mnist", "--data", "/d ata", "--seed=7", NULL};
    CHECK(argv && argv_is(argv, w1));
    nl_bench_argv_free(argv);
    v.limit = "512";
    CHECK(nl_bench_expand("run [--limit {limit}] [ -q ] end", &v, &argv, &err) == NL_OK);
    const char *w2[] = {"run", "--limit", "512", "-q", "end", NULL};
    CHECK(argv && argv_is(argv, w2));
    nl_bench_argv_free(argv);
    CHECK(nl_bench_expand("sh -c 'mix run -e \"%{a: 1}\" {workload}' \"x y\" a\\ b {events}", &v,
                          &argv, &err) == NL_OK);
    const char *w3[] = {"sh",          "-c", "mix run -e \"%{a: 1}\" mnist", "x y", "a b",
                        "/o/e.events", NULL};
    CHECK(argv && argv_is(argv, w3));
    nl_bench_argv_free(argv);
    v.threads = NULL;
    CHECK(nl_bench_expand("run --threads {threads}", &v, &argv, &err) == NL_EFORMAT);
    CHECK(argv == NULL);
    CHECK_CONTAINS(err.msg, "no value");
    CHECK(nl_bench_expand("[{threads}]", &v, &argv, &err) == NL_EFORMAT); /* nothing left */
    CHECK(nl_bench_expand("   ", &v, &argv, &err) == NL_EFORMAT);
    CHECK(nl_bench_expand("'' x", &v, &argv, &err) == NL_OK); /* an empty quoted word stays */
    const char *w4[] = {"", "x", NULL};
    CHECK(argv && argv_is(argv, w4));
    nl_bench_argv_free(argv);
}

static void test_variants_and_limits(void) {
    nl_error err = {0};
    nl_bench_contestant c = {.name = "pytorch", .language = "Python", .command = "true"}, v;
    CHECK(nl_bench_contestant_variant(&c, 2, &v, &err) == NL_OK);
    CHECK(!strcmp(v.name, "pytorch-t2") && v.threads == 2 && !strcmp(v.command, "true"));
    CHECK(nl_bench_contestant_variant(&c, 0, &v, &err) == NL_EINVAL);
    /* rank variants of a multi-process contestant ({ranks} in its command) */
    CHECK(!nl_bench_contestant_multiprocess(&c));
    nl_bench_contestant m = {.name = "ddp", .language = "Python", .command = "run -n {ranks}"};
    CHECK(nl_bench_contestant_multiprocess(&m));
    CHECK(nl_bench_contestant_ranks(&m, 2, 1, &v, &err) == NL_OK);
    CHECK(!strcmp(v.name, "ddp-r2-t1") && v.ranks == 2 && v.threads == 1);
    CHECK(nl_bench_contestant_ranks(&m, 4, 0, &v, &err) == NL_OK);
    CHECK(!strcmp(v.name, "ddp-r4") && v.ranks == 4 && v.threads == 0);
    CHECK(nl_bench_contestant_ranks(&m, 0, 1, &v, &err) == NL_EINVAL);
    nl_bench_vars rv = {.ranks = "2", .hostfile = NULL};
    char **argv = NULL;
    CHECK(nl_bench_expand("mpirun -np {ranks} [--hostfile {hostfile}] x", &rv, &argv, &err) ==
          NL_OK);
    const char *w1[] = {"mpirun", "-np", "2", "x", NULL};
    CHECK(argv && argv_is(argv, w1));
    nl_bench_argv_free(argv);
    rv.hostfile = "/h f";
    CHECK(nl_bench_expand("mpirun -np {ranks} [--hostfile {hostfile}] x", &rv, &argv, &err) ==
          NL_OK);
    const char *w2[] = {"mpirun", "-np", "2", "--hostfile", "/h f", "x", NULL};
    CHECK(argv && argv_is(argv, w2));
    nl_bench_argv_free(argv);
    /* the default timeout grows with the epochs and is longer on CIFAR-10 */
    CHECK(nl_bench_default_timeout("mnist", 3) == 600 + 3 * 300);
    CHECK(nl_bench_default_timeout("cifar10", 3) == 600 + 3 * 1200);
    CHECK(nl_bench_default_timeout("mnist", 1) < nl_bench_default_timeout("mnist", 2));
    /* a contestants file must be a regular file */
    nl_bench_contestant *list = NULL;
    size_t n = 0;
    CHECK(nl_bench_contestants_load("/dev/zero", &list, &n, &err) == NL_EINVAL);
    CHECK_CONTAINS(err.msg, "not a regular file (a character device)");
    CHECK(nl_bench_contestants_load("/", &list, &n, &err) == NL_EINVAL);
    CHECK_CONTAINS(err.msg, "a directory");
    CHECK(nl_bench_contestants_load("/nonexistent/c.txt", &list, &n, &err) == NL_EIO);
    char path[] = "/tmp/nnlab-test-contestants-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    const char text[] = "mine Shell echo {seed}\n";
    CHECK(write(fd, text, sizeof text - 1) == (ssize_t)(sizeof text - 1));
    close(fd);
    CHECK(nl_bench_contestants_load(path, &list, &n, &err) == NL_OK);
    CHECK(n == 1 && !strcmp(list[0].name, "mine"));
    unlink(path);
    free(list);
}

static void test_ratio(void) {
    double sd = 0;
    /* hyperfine's propagation: 3.34 x with relative sds 1 % and 1 % */
    double r = nl_bench_ratio(1.0, 0.01, 3.34, 0.0334, &sd);
    CHECK_NEAR(r, 3.34, 1e-12);
    CHECK_NEAR(sd, 3.34 * sqrt(2.0) * 0.01, 1e-12);
    r = nl_bench_ratio(2.0, NAN, 4.0, 0.1, &sd); /* one run: no spread */
    CHECK_NEAR(r, 2.0, 1e-12);
    CHECK(isnan(sd));
    CHECK(isnan(nl_bench_ratio(0, 0.1, 1, 0.1, &sd)) && isnan(sd));
    CHECK(isnan(nl_bench_ratio(1, 0.1, NAN, 0.1, NULL)));
}

static nl_bench_stat stat_of(int n, double mean, double sd) {
    nl_bench_stat s = {n, mean, sd, mean, mean, mean};
    return s;
}

static void test_compare_judge(void) {
    nl_bench_compare_row x;
    memset(&x, 0, sizeof x);
    /* 10 % slower, 5 runs each with sd 0.1 s on 10 s: noise 2 sqrt(2 * 0.01 / 5) / 10 */
    x.a = stat_of(5, 10.0, 0.1);
    x.b = stat_of(5, 11.0, 0.1);
    nl_bench_compare_judge(&x, 5);
    CHECK_NEAR(x.change_pct, 10.0, 1e-9);
    CHECK_NEAR(x.noise_pct, 100 * 2 * sqrt(0.02 / 5) / 10, 1e-9);
    CHECK(x.beyond_noise == 1 && x.regression == 1);
    nl_bench_compare_judge(&x, 15); /* below the threshold */
    CHECK(x.regression == 0);
    nl_bench_compare_judge(&x, -1); /* no threshold: never a regression */
    CHECK(x.regression == 0 && x.beyond_noise == 1);
    /* the same change with a wide spread: within the noise, no regression */
    x.a = stat_of(3, 10.0, 2.0);
    x.b = stat_of(3, 11.0, 2.0);
    nl_bench_compare_judge(&x, 5);
    CHECK(x.beyond_noise == 0 && x.regression == 0);
    /* faster is never a regression */
    x.a = stat_of(5, 10.0, 0.1);
    x.b = stat_of(5, 8.0, 0.1);
    nl_bench_compare_judge(&x, 0);
    CHECK(x.change_pct < 0 && x.beyond_noise == 1 && x.regression == 0);
    /* one run: noise unknown, judged by the threshold alone */
    x.a = stat_of(1, 10.0, NAN);
    x.b = stat_of(1, 12.0, NAN);
    nl_bench_compare_judge(&x, 5);
    CHECK(isnan(x.noise_pct) && x.beyond_noise == -1 && x.regression == 1);
    /* only on one side */
    x.b = stat_of(0, NAN, NAN);
    nl_bench_compare_judge(&x, 5);
    CHECK(isnan(x.change_pct) && x.regression == 0);
}

/* The runs under load are aggregated apart from the idle ones. */
static void test_group_load(void) {
    nl_bench_group g;
    memset(&g, 0, sizeof g);
    snprintf(g.contestant, sizeof g.contestant, "c");
    snprintf(g.workload, sizeof g.workload, "mnist");
    g.nruns = 2;
    g.runs = calloc(2, sizeof *g.runs);
    g.nload_runs = 3;
    g.load_runs = calloc(3, sizeof *g.load_runs);
    CHECK(g.runs && g.load_runs);
    if (!g.runs || !g.load_runs) return;
    make_run(&g.runs[0], 1, NL_BENCH_OK, 1.0, 100, 0.9);
    make_run(&g.runs[1], 2, NL_BENCH_OK, 1.0, 100, 0.9);
    make_run(&g.load_runs[0], 1, NL_BENCH_OK, 2.0, 50, 0.9);
    make_run(&g.load_runs[1], 2, NL_BENCH_OK, 4.0, 50, 0.9);
    make_run(&g.load_runs[2], 3, NL_BENCH_FAILED, 9.0, 50, 0.9);
    nl_error err = {0};
    CHECK(nl_bench_group_aggregate(&g, 0.1, &err) == NL_OK);
    CHECK(g.runs_ok == 2 && g.load_runs_ok == 2 && g.load_runs_failed == 1);
    CHECK_NEAR(g.time_to_train.mean, 1.0, 1e-12); /* idle figures untouched */
    CHECK_NEAR(g.load_time_to_train.mean, 3.0, 1e-12);
    CHECK_NEAR(g.load_samples_per_s.mean, (500.0 + 250.0) / 2, 1e-9);
    CHECK_NEAR(g.load_background_cpu.mean, 15.0, 1e-12); /* 10 k for runs 1 and 2 */
    double sd = 0;
    const double kept = nl_bench_ratio(g.samples_per_s.mean, g.samples_per_s.sd,
                                       g.load_samples_per_s.mean, g.load_samples_per_s.sd, &sd);
    CHECK_NEAR(kept, 375.0 / 1000.0, 1e-12);
    nl_bench_group_free(&g);
    CHECK(g.load_runs == NULL && g.nload_runs == 0);
}

int main(void) {
    test_ratio();
    test_group_load();
    test_compare_judge();
    test_describe();
    test_pct();
    test_resample();
    test_mean_series();
    test_group();
    test_timeline();
    test_contestants();
    test_variants_and_limits();
    CHECK_DONE();
}
