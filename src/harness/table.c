/* Table 1 (Markdown, CSV, JSON) and the aligned series files. */
#include "harness/harness_internal.h"

#include <jansson.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Seconds with 3 significant-ish decimals: 5.213, 42.17, 312.4. */
static int time_dec(double v) {
    return fabs(v) < 10 ? 3 : fabs(v) < 100 ? 2 : 1;
}

const char *bench_baseline_name(const nl_bench_config *cfg) {
    return cfg->baseline ? cfg->baseline : cfg->ncontestants ? cfg->contestants[0].name : "";
}

/* ---- Table 1's figures, one column each (table.md, report.md, report.html) ---- */

enum { CELL_MEAN_SD, CELL_MEDIAN, CELL_MIN, CELL_MAX, CELL_MEAN, CELL_PCT };

/* Every figure column of Table 1 after workload, contestant, language, runs. */
const bench_col bench_table1[] = {
    {"time-to-train (s)", "mean ± sd", CELL_MEAN_SD, offsetof(nl_bench_group, time_to_train), -1},
    {"median", NULL, CELL_MEDIAN, offsetof(nl_bench_group, time_to_train), -1},
    {"min", NULL, CELL_MIN, offsetof(nl_bench_group, time_to_train), -1},
    {"max", NULL, CELL_MAX, offsetof(nl_bench_group, time_to_train), -1},
    {"vs ", NULL, CELL_PCT, 0, 1}, /* + the baseline's name */
    {"test accuracy", NULL, CELL_MEAN_SD, offsetof(nl_bench_group, accuracy), 4},
    {"samples/s", "trained ÷ time-to-train", CELL_MEAN, offsetof(nl_bench_group, samples_per_s), 0},
    {"peak RSS (MiB)", NULL, CELL_MEAN, offsetof(nl_bench_group, rss_peak), 0},
    {"mean CPU (%)", NULL, CELL_MEAN, offsetof(nl_bench_group, cpu_mean), 0},
    {"peak GPU mem (MiB)", NULL, CELL_MEAN, offsetof(nl_bench_group, vram_peak), 0},
};
const size_t bench_table1_ncols = sizeof bench_table1 / sizeof bench_table1[0];

void bench_col_head(sbuf *b, const bench_col *c, const nl_bench_config *cfg, int html) {
    if (html) {
        sb_html(b, c->head);
        if (c->kind == CELL_PCT) sb_html(b, bench_baseline_name(cfg));
        if (c->sub) sb_printf(b, "<br><small>%s</small>", c->sub);
    } else {
        sb_puts(b, c->head);
        if (c->kind == CELL_PCT) sb_puts(b, bench_baseline_name(cfg));
    }
}

void bench_col_cell(sbuf *b, const bench_col *c, const nl_bench_group *g, int html) {
    if (c->kind == CELL_PCT) {
        if (g->is_baseline && g->runs_ok)
            sb_puts(b, "baseline");
        else if (!isfinite(g->pct_vs_baseline))
            sb_puts(b, "–");
        else if (html)
            sb_printf(b, "<span class=\"%s\">%+.1f%%</span>",
                      g->pct_vs_baseline > 0 ? "slower" : "faster", g->pct_vs_baseline);
        else
            sb_printf(b, "%+.1f%%", g->pct_vs_baseline);
        return;
    }
    const nl_bench_stat *s = (const nl_bench_stat *)((const char *)g + c->offset);
    /* times: the decimals of the row's mean, so that its columns line up */
    const int dec = c->dec >= 0 ? c->dec : time_dec(s->mean);
    switch (c->kind) {
    case CELL_MEAN_SD:
        if (s->n == 0) {
            sb_puts(b, "–");
            return;
        }
        sb_num(b, s->mean, dec, "–");
        if (s->n > 1 && isfinite(s->sd)) {
            sb_puts(b, html ? "<span class=\"sd\"> ± " : " ± ");
            sb_num(b, s->sd, dec, "–");
            if (html) sb_puts(b, "</span>");
        }
        return;
    case CELL_MEDIAN:
        sb_num(b, s->median, dec, "–");
        return;
    case CELL_MIN:
        sb_num(b, s->min, dec, "–");
        return;
    case CELL_MAX:
        sb_num(b, s->max, dec, "–");
        return;
    default:
        sb_num(b, s->mean, dec, "–");
    }
}

/* Markdown table (shared with report.md). */
void bench_table_md(sbuf *b, const nl_bench_config *cfg, const nl_bench_results *res) {
    sb_puts(b, "| workload | contestant | language | runs ok |");
    for (size_t k = 0; k < bench_table1_ncols; k++) {
        sb_puts(b, " ");
        bench_col_head(b, &bench_table1[k], cfg, 0);
        sb_puts(b, " |");
    }
    sb_puts(b, "\n|---|---|---|---:|");
    for (size_t k = 0; k < bench_table1_ncols; k++) sb_puts(b, "---:|");
    sb_puts(b, "\n");
    for (size_t i = 0; i < res->ngroups; i++) {
        const nl_bench_group *g = &res->groups[i];
        if (g->status == NL_BENCH_SKIPPED) continue;
        sb_printf(b, "| %s", g->workload);
        if (strcmp(g->model, g->workload)) sb_printf(b, " (model %s)", g->model);
        sb_printf(b, " | %s | %s | %d/%zu |", g->contestant, g->language, g->runs_ok, g->nruns);
        for (size_t k = 0; k < bench_table1_ncols; k++) {
            sb_puts(b, " ");
            bench_col_cell(b, &bench_table1[k], g, 0);
            sb_puts(b, " |");
        }
        sb_puts(b, "\n");
    }
}

/* Skipped contestants and failed runs, as Markdown bullets (shared with report.md). */
void bench_problems_md(sbuf *b, const nl_bench_results *res) {
    for (size_t i = 0; i < res->ngroups; i++) {
        const nl_bench_group *g = &res->groups[i];
        if (g->status == NL_BENCH_SKIPPED)
            sb_printf(b, "- **%s** on %s: skipped — %s\n", g->contestant, g->workload, g->message);
        for (size_t r = 0; r < g->nruns; r++)
            if (g->runs[r].status == NL_BENCH_FAILED)
                sb_printf(b, "- **%s** on %s, run %d: failed (excluded from the means) — %s\n",
                          g->contestant, g->workload, g->runs[r].k, g->runs[r].message);
    }
}

static void table_md_file(sbuf *b, const nl_bench_config *cfg, const nl_bench_results *res) {
    char threads[160];
    bench_threads_text(threads, sizeof threads, cfg);
    sb_printf(b, "# Table 1: time-to-train\n\n");
    sb_printf(b,
              "%d run%s per contestant and workload (interleaved), %d epoch%s, batch 32, "
              "%s. Time-to-train = `run_stop` − `run_start` from each run's events, "
              "mean ± sd over the successful runs; \"vs %s\" = %% difference of the mean "
              "(positive: slower). Test accuracy after the last epoch. samples/s = the "
              "training samples of the run (its `epoch_stop` events) ÷ its time-to-train, so "
              "the two agree (the contestant's own figure, usually over the training steps "
              "alone, is in table.json as reported_samples_per_second). Peak RSS, mean CPU "
              "(100 = one core, between run_start and run_stop) and GPU memory from the "
              "monitor (0.1 s samples, whole process tree).\n\n",
              cfg->runs, cfg->runs == 1 ? "" : "s", cfg->epochs, cfg->epochs == 1 ? "" : "s",
              threads, bench_baseline_name(cfg));
    bench_table_md(b, cfg, res);
    if (cfg->load_procs > 0) {
        sb_puts(b, "\n");
        bench_load_table_md(b, cfg, res);
    }
    sbuf p;
    sb_init(&p);
    bench_problems_md(&p, res);
    if (p.len) sb_printf(b, "\n%s", p.s);
    sb_free(&p);
}

void bench_load_text(char *out, size_t n, const nl_bench_config *cfg) {
    if (cfg->load_command)
        bench_strf(out, n, "%d process%s running `%s`", cfg->load_procs,
                   cfg->load_procs == 1 ? "" : "es", cfg->load_command);
    else
        bench_strf(out, n, "%d busy process%s (a plain CPU spin each)", cfg->load_procs,
                   cfg->load_procs == 1 ? "" : "es");
}

/* The idle and loaded runs side by side (table.md, report.md). */
void bench_load_table_md(sbuf *b, const nl_bench_config *cfg, const nl_bench_results *res) {
    char what[400];
    bench_load_text(what, sizeof what, cfg);
    sb_printf(b,
              "## Speed under load\n\nEvery measured run was repeated with %s alongside, "
              "started just before the run and ended right after it. Kept = samples/s under "
              "load ÷ idle.\n\n",
              what);
    sb_puts(b,
            "| workload | contestant | runs ok under load | samples/s idle | samples/s under load "
            "| kept | time-to-train idle (s) | under load (s) | others' CPU under load (%) |\n"
            "|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (size_t i = 0; i < res->ngroups; i++) {
        const nl_bench_group *g = &res->groups[i];
        if (g->status == NL_BENCH_SKIPPED) continue;
        double ksd = NAN;
        const double kept =
            nl_bench_ratio(g->samples_per_s.mean, g->samples_per_s.sd, g->load_samples_per_s.mean,
                           g->load_samples_per_s.sd, &ksd);
        sb_printf(b, "| %s | %s | %d/%zu | ", g->workload, g->contestant, g->load_runs_ok,
                  g->nload_runs);
        sb_num(b, g->samples_per_s.mean, 0, "–");
        sb_puts(b, " | ");
        sb_num(b, g->load_samples_per_s.mean, 0, "–");
        sb_puts(b, " | ");
        if (isfinite(kept)) {
            sb_printf(b, "%.0f %%", 100 * kept);
            if (isfinite(ksd)) sb_printf(b, " ± %.0f", 100 * ksd);
        } else {
            sb_puts(b, "–");
        }
        sb_puts(b, " | ");
        sb_num(b, g->time_to_train.mean, time_dec(g->time_to_train.mean), "–");
        sb_puts(b, " | ");
        sb_num(b, g->load_time_to_train.mean, time_dec(g->load_time_to_train.mean), "–");
        sb_puts(b, " | ");
        sb_num(b, g->load_background_cpu.mean, 0, "–");
        sb_puts(b, " |\n");
    }
}

static void csv_num(sbuf *b, double v, int dec) {
    sb_puts(b, ",");
    sb_num(b, v, dec, "");
}

static void table_csv(sbuf *b, const nl_bench_config *cfg, const nl_bench_results *res) {
    sb_puts(b, "workload,model,contestant,language,framework_version,status,runs,runs_ok,"
               "runs_failed,time_to_train_mean_s,time_to_train_sd_s,time_to_train_median_s,"
               "time_to_train_min_s,time_to_train_max_s,baseline,pct_vs_baseline,"
               "test_accuracy_mean,test_accuracy_sd,samples_per_s_mean,peak_rss_mib_mean,"
               "cpu_mean_pct,peak_vram_mib_mean,gpu_mean_pct,startup_mean_s,wall_mean_s,"
               "background_cpu_pct,load_processes,load_runs_ok,load_time_to_train_mean_s,"
               "load_samples_per_s_mean,load_background_cpu_pct\n");
    const char *base = bench_baseline_name(cfg);
    for (size_t i = 0; i < res->ngroups; i++) {
        const nl_bench_group *g = &res->groups[i];
        sb_csv(b, g->workload), sb_puts(b, ",");
        sb_csv(b, g->model), sb_puts(b, ",");
        sb_csv(b, g->contestant), sb_puts(b, ",");
        sb_csv(b, g->language), sb_puts(b, ",");
        sb_csv(b, g->framework_version), sb_puts(b, ",");
        sb_puts(b, g->status == NL_BENCH_SKIPPED ? "skipped" : g->runs_ok == 0 ? "failed" : "ok");
        sb_printf(b, ",%zu,%d,%d", g->nruns, g->runs_ok, g->runs_failed);
        csv_num(b, g->time_to_train.mean, 4);
        csv_num(b, g->time_to_train.sd, 4);
        csv_num(b, g->time_to_train.median, 4);
        csv_num(b, g->time_to_train.min, 4);
        csv_num(b, g->time_to_train.max, 4);
        sb_puts(b, ",");
        sb_csv(b, base);
        csv_num(b, g->pct_vs_baseline, 2);
        csv_num(b, g->accuracy.mean, 5);
        csv_num(b, g->accuracy.sd, 5);
        csv_num(b, g->samples_per_s.mean, 1);
        csv_num(b, g->rss_peak.mean, 1);
        csv_num(b, g->cpu_mean.mean, 1);
        csv_num(b, g->vram_peak.mean, 1);
        csv_num(b, g->gpu_mean.mean, 1);
        csv_num(b, g->startup.mean, 3);
        csv_num(b, g->wall.mean, 3);
        csv_num(b, g->background_cpu.mean, 1);
        sb_printf(b, ",%d,", cfg->load_procs);
        if (cfg->load_procs > 0) sb_printf(b, "%d", g->load_runs_ok);
        csv_num(b, g->load_time_to_train.mean, 4);
        csv_num(b, g->load_samples_per_s.mean, 1);
        csv_num(b, g->load_background_cpu.mean, 1);
        sb_puts(b, "\n");
    }
}

static json_t *jnum(double v) {
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *jstat(const nl_bench_stat *s) {
    json_t *o = json_object();
    json_object_set_new(o, "n", json_integer(s->n));
    json_object_set_new(o, "mean", jnum(s->mean));
    json_object_set_new(o, "sd", jnum(s->sd));
    json_object_set_new(o, "median", jnum(s->median));
    json_object_set_new(o, "min", jnum(s->min));
    json_object_set_new(o, "max", jnum(s->max));
    return o;
}

static json_t *jarr(const double *x, int n) {
    json_t *a = json_array();
    for (int i = 0; i < n; i++) json_array_append_new(a, jnum(x[i]));
    return a;
}

static json_t *bench_machine_json(const nl_bench_machine *m) {
    json_t *o = json_object();
    json_object_set_new(o, "cpu", json_string(m->cpu_model));
    json_object_set_new(o, "cpus", json_integer(m->cpus));
    json_object_set_new(o, "memory_gib", jnum(m->mem_gib));
    json_object_set_new(o, "gpu", json_string(m->gpu));
    json_object_set_new(o, "os", json_string(m->os));
    json_object_set_new(o, "host", json_string(m->host));
    json_object_set_new(o, "date", json_string(m->date));
    json_object_set_new(o, "nnlab_version", json_string(m->nnlab_version));
    json_object_set_new(o, "blas", json_string(m->blas));
    return o;
}

static json_t *table_json(const nl_bench_config *cfg, const nl_bench_results *res) {
    json_t *root = json_object();
    json_t *c = json_object();
    json_object_set_new(c, "runs", json_integer(cfg->runs));
    json_object_set_new(c, "warmup", json_integer(cfg->warmup));
    json_object_set_new(c, "epochs", json_integer(cfg->epochs));
    json_object_set_new(c, "batch", json_integer(32));
    json_object_set_new(c, "threads", json_integer(cfg->threads));
    json_object_set_new(c, "ranks", json_integer(cfg->ranks > 0 ? cfg->ranks : 1));
    json_object_set_new(c, "hostfile", cfg->hostfile ? json_string(cfg->hostfile) : json_null());
    json_object_set_new(c, "limit",
                        cfg->limit ? json_integer((json_int_t)cfg->limit) : json_null());
    json_object_set_new(c, "seed", json_integer((json_int_t)cfg->seed));
    json_object_set_new(c, "paper", json_boolean(cfg->paper));
    json_object_set_new(c, "data", json_string(cfg->data_dir));
    json_object_set_new(c, "baseline", json_string(bench_baseline_name(cfg)));
    json_object_set_new(c, "interval_s", jnum(res->dt));
    if (cfg->load_procs > 0) {
        json_t *ld = json_object();
        json_object_set_new(ld, "processes", json_integer(cfg->load_procs));
        json_object_set_new(ld, "kind", json_string(cfg->load_command ? "command" : "spin"));
        json_object_set_new(ld, "command",
                            cfg->load_command ? json_string(cfg->load_command) : json_null());
        json_object_set_new(c, "load", ld);
    } else {
        json_object_set_new(c, "load", json_null());
    }
    json_object_set_new(c, "command_line",
                        cfg->command_line ? json_string(cfg->command_line) : json_null());
    json_t *cs = json_array();
    for (size_t i = 0; i < cfg->ncontestants; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(cfg->contestants[i].name));
        json_object_set_new(o, "language", json_string(cfg->contestants[i].language));
        json_object_set_new(o, "command", json_string(cfg->contestants[i].command));
        const nl_bench_contestant *ct = &cfg->contestants[i];
        const int threads = ct->threads > 0 ? ct->threads : cfg->threads;
        /* processes: a multi-process contestant's ranks, each with `threads` threads */
        const int ranks = !nl_bench_contestant_multiprocess(ct) ? 1
                          : ct->ranks > 0                       ? ct->ranks
                          : cfg->ranks > 0                      ? cfg->ranks
                                                                : 1;
        json_object_set_new(o, "threads", json_integer(threads));
        json_object_set_new(o, "ranks", json_integer(ranks));
        json_object_set_new(o, "total_threads", json_integer((json_int_t)ranks * threads));
        json_array_append_new(cs, o);
    }
    json_object_set_new(c, "contestants", cs);
    json_object_set_new(root, "config", c);
    json_object_set_new(root, "machine", bench_machine_json(&res->machine));
    json_object_set_new(root, "elapsed_s", jnum(res->elapsed_s));
    json_object_set_new(root, "interrupted", json_boolean(res->interrupted));
    json_t *rows = json_array();
    for (size_t i = 0; i < res->ngroups; i++) {
        const nl_bench_group *g = &res->groups[i];
        json_t *o = json_object();
        json_object_set_new(o, "workload", json_string(g->workload));
        json_object_set_new(o, "model", json_string(g->model));
        json_object_set_new(o, "contestant", json_string(g->contestant));
        json_object_set_new(o, "language", json_string(g->language));
        json_object_set_new(o, "framework_version", json_string(g->framework_version));
        json_object_set_new(o, "status",
                            json_string(g->status == NL_BENCH_SKIPPED ? "skipped"
                                        : g->runs_ok == 0             ? "failed"
                                                                      : "ok"));
        if (g->status == NL_BENCH_SKIPPED)
            json_object_set_new(o, "message", json_string(g->message));
        json_object_set_new(o, "runs_ok", json_integer(g->runs_ok));
        json_object_set_new(o, "runs_failed", json_integer(g->runs_failed));
        json_object_set_new(o, "time_to_train_s", jstat(&g->time_to_train));
        json_object_set_new(o, "pct_vs_baseline", jnum(g->pct_vs_baseline));
        json_object_set_new(o, "is_baseline", json_boolean(g->is_baseline));
        json_object_set_new(o, "test_accuracy", jstat(&g->accuracy));
        json_object_set_new(o, "test_accuracy_per_epoch_mean", jarr(g->acc_mean, g->epochs));
        json_object_set_new(o, "test_accuracy_per_epoch_sd", jarr(g->acc_sd, g->epochs));
        json_object_set_new(o, "samples_per_second", jstat(&g->samples_per_s));
        json_object_set_new(o, "peak_rss_mib", jstat(&g->rss_peak));
        json_object_set_new(o, "cpu_mean_pct", jstat(&g->cpu_mean));
        json_object_set_new(o, "peak_vram_mib", jstat(&g->vram_peak));
        json_object_set_new(o, "gpu_mean_pct", jstat(&g->gpu_mean));
        json_object_set_new(o, "startup_s", jstat(&g->startup));
        json_object_set_new(o, "wall_s", jstat(&g->wall));
        json_object_set_new(o, "background_cpu_pct", jstat(&g->background_cpu));
        json_t *ph = json_object();
        json_object_set_new(ph, "data_loaded_s", jnum(g->data_loaded_mean));
        json_object_set_new(ph, "epoch_start_s", jarr(g->epoch_start_mean, g->epochs));
        json_object_set_new(ph, "epoch_stop_s", jarr(g->epoch_stop_mean, g->epochs));
        json_object_set_new(ph, "eval_s", jarr(g->eval_mean, g->epochs));
        json_object_set_new(o, "phases_mean", ph);
        json_t *runs = json_array();
        for (size_t r = 0; r < g->nruns; r++) {
            const nl_bench_run *x = &g->runs[r];
            json_t *ro = json_object();
            json_object_set_new(ro, "run", json_integer(x->k));
            json_object_set_new(ro, "status", json_string(nl_bench_status_name(x->status)));
            json_object_set_new(ro, "exit_status", json_integer(x->exit_status));
            if (x->message[0]) json_object_set_new(ro, "message", json_string(x->message));
            json_object_set_new(ro, "time_to_train_s", jnum(x->time_to_train_s));
            json_object_set_new(ro, "startup_s", jnum(x->startup_s));
            json_object_set_new(ro, "wall_s", jnum(x->wall_s));
            json_object_set_new(ro, "aligned_on_events", json_boolean(x->aligned_on_events));
            json_object_set_new(ro, "test_accuracy", jarr(x->test_accuracy, x->epochs));
            json_object_set_new(ro, "samples_per_second", jnum(x->samples_per_s));
            json_object_set_new(ro, "samples_trained", jnum(x->samples_trained));
            json_object_set_new(ro, "reported_samples_per_second", jnum(x->reported_samples_per_s));
            json_object_set_new(ro, "final_loss", jnum(x->final_loss));
            json_object_set_new(ro, "peak_rss_mib", jnum(x->rss_peak_mib));
            json_object_set_new(ro, "cpu_mean_pct", jnum(x->cpu_mean_pct));
            json_object_set_new(ro, "peak_vram_mib", jnum(x->vram_peak_mib));
            json_object_set_new(ro, "background_cpu_pct", jnum(x->background_cpu_pct));
            json_object_set_new(ro, "samples", json_integer((json_int_t)x->nsamples));
            json_array_append_new(runs, ro);
        }
        json_object_set_new(o, "runs", runs);
        if (cfg->load_procs > 0) {
            json_t *ul = json_object();
            json_object_set_new(ul, "runs_ok", json_integer(g->load_runs_ok));
            json_object_set_new(ul, "runs_failed", json_integer(g->load_runs_failed));
            json_object_set_new(ul, "time_to_train_s", jstat(&g->load_time_to_train));
            json_object_set_new(ul, "samples_per_second", jstat(&g->load_samples_per_s));
            json_object_set_new(ul, "background_cpu_pct", jstat(&g->load_background_cpu));
            double ksd = NAN;
            double kept =
                nl_bench_ratio(g->samples_per_s.mean, g->samples_per_s.sd,
                               g->load_samples_per_s.mean, g->load_samples_per_s.sd, &ksd);
            json_object_set_new(ul, "kept", jnum(kept));
            json_object_set_new(ul, "kept_sd", jnum(ksd));
            json_t *lr = json_array();
            for (size_t r = 0; r < g->nload_runs; r++) {
                const nl_bench_run *x = &g->load_runs[r];
                json_t *ro = json_object();
                json_object_set_new(ro, "run", json_integer(x->k));
                json_object_set_new(ro, "status", json_string(nl_bench_status_name(x->status)));
                json_object_set_new(ro, "exit_status", json_integer(x->exit_status));
                if (x->message[0]) json_object_set_new(ro, "message", json_string(x->message));
                json_object_set_new(ro, "time_to_train_s", jnum(x->time_to_train_s));
                json_object_set_new(ro, "samples_per_second", jnum(x->samples_per_s));
                json_object_set_new(ro, "background_cpu_pct", jnum(x->background_cpu_pct));
                json_array_append_new(lr, ro);
            }
            json_object_set_new(ul, "runs", lr);
            json_object_set_new(o, "under_load", ul);
        }
        json_array_append_new(rows, o);
    }
    json_object_set_new(root, "rows", rows);
    return root;
}

static nl_status put_file(const char *dir, const char *name, sbuf *b, nl_error *err) {
    char path[4096];
    nl_status st = bench_path(path, sizeof path, dir, name, err);
    if (!st && b->oom) st = nl_error_set(err, NL_ENOMEM, "out of memory writing %s", name);
    if (!st) st = bench_write_file(path, b->s ? b->s : "", b->len, err);
    sb_free(b);
    return st;
}

nl_status nl_bench_write_table(const char *out_dir, const nl_bench_config *cfg,
                               const nl_bench_results *res, nl_error *err) {
    sbuf b;
    sb_init(&b);
    table_md_file(&b, cfg, res);
    nl_status st = put_file(out_dir, "table.md", &b, err);
    if (st) return st;
    table_csv(&b, cfg, res);
    if ((st = put_file(out_dir, "table.csv", &b, err))) return st;
    json_t *j = table_json(cfg, res);
    char *s = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    if (!s) return nl_error_set(err, NL_ENOMEM, "out of memory writing table.json");
    sb_puts(&b, s);
    sb_puts(&b, "\n");
    free(s);
    return put_file(out_dir, "table.json", &b, err);
}

nl_status nl_bench_write_series(const char *out_dir, const nl_bench_results *res, nl_error *err) {
    for (size_t i = 0; i < res->ngroups; i++) {
        const nl_bench_group *g = &res->groups[i];
        if (g->runs_ok == 0 || g->ngrid == 0) continue;
        char base[200], name[256];
        bench_group_base(base, sizeof base, g);
        sbuf b;
        sb_init(&b);
        sb_puts(&b, "t_s,runs");
        for (int m = 0; m < NL_BM_COUNT; m++)
            sb_printf(&b, ",%s_mean,%s_sd", nl_bench_metric_name(m), nl_bench_metric_name(m));
        sb_puts(&b, "\n");
        for (size_t k = 0; k < g->ngrid; k++) {
            sb_printf(&b, "%.3f,%d", (double)k * g->dt, g->count[k]);
            for (int m = 0; m < NL_BM_COUNT; m++) {
                csv_num(&b, g->mean[m][k], 3);
                csv_num(&b, g->sd[m][k], 3);
            }
            sb_puts(&b, "\n");
        }
        snprintf(name, sizeof name, "%s_mean.csv", base);
        nl_status st = put_file(out_dir, name, &b, err);
        if (st) return st;

        sb_puts(&b, "run,t_s");
        for (int m = 0; m < NL_BM_COUNT; m++) sb_printf(&b, ",%s", nl_bench_metric_name(m));
        sb_puts(&b, "\n");
        double *tmp = malloc(NL_BM_COUNT * g->ngrid * sizeof *tmp);
        if (!tmp) return nl_error_set(err, NL_ENOMEM, "out of memory");
        for (size_t r = 0; r < g->nruns; r++) {
            const nl_bench_run *x = &g->runs[r];
            if (x->status != NL_BENCH_OK) continue;
            for (int m = 0; m < NL_BM_COUNT; m++)
                nl_bench_resample(x->t, x->v[m], x->nsamples, x->time_to_train_s, g->dt,
                                  tmp + m * g->ngrid, g->ngrid);
            for (size_t k = 0; k < g->ngrid; k++) {
                if ((double)k * g->dt > x->time_to_train_s + 1e-9) break;
                sb_printf(&b, "%d,%.3f", x->k, (double)k * g->dt);
                for (int m = 0; m < NL_BM_COUNT; m++) csv_num(&b, tmp[m * g->ngrid + k], 3);
                sb_puts(&b, "\n");
            }
        }
        free(tmp);
        snprintf(name, sizeof name, "%s_aligned.csv", base);
        if ((st = put_file(out_dir, name, &b, err))) return st;
    }
    return NL_OK;
}
