/* report.html (one self-contained page: figures embedded as base64 SVG) and report.md. */
#include "harness/harness_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* OK groups of a workload sorted by mean time-to-train (fastest first). */
static size_t ranked(const nl_bench_results *res, const char *workload, const nl_bench_group **out,
                     size_t max) {
    size_t n = 0;
    for (size_t i = 0; i < res->ngroups && n < max; i++) {
        const nl_bench_group *g = &res->groups[i];
        if (strcmp(g->workload, workload) || g->runs_ok == 0 || isnan(g->time_to_train.mean))
            continue;
        size_t j = n++;
        while (j > 0 && out[j - 1]->time_to_train.mean > g->time_to_train.mean) {
            out[j] = out[j - 1];
            j--;
        }
        out[j] = g;
    }
    return n;
}

static int tdec(double v) {
    return fabs(v) < 10 ? 3 : fabs(v) < 100 ? 2 : 1;
}

/* Markdown inline text as HTML: escaped, `code` spans as <code>. */
static void md_inline_html(sbuf *b, const char *s, size_t n) {
    char *tmp = malloc(n + 1);
    if (!tmp) return;
    int code = 0;
    size_t k = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '`') {
            tmp[k] = '\0';
            sb_html(b, tmp);
            k = 0;
            if (i < n) sb_puts(b, (code = !code) ? "<code>" : "</code>");
            continue;
        }
        tmp[k++] = s[i];
    }
    if (code) sb_puts(b, "</code>");
    free(tmp);
}

/* The ten-second answer, one sentence per workload (html: with markup). */
static void verdict(sbuf *b, const nl_bench_config *cfg, const nl_bench_results *res, int html) {
    for (size_t w = 0; w < cfg->nworkloads; w++) {
        const char *wl = cfg->workloads[w];
        const nl_bench_group *r[64];
        size_t n = ranked(res, wl, r, 64);
        sb_puts(b, html ? "<li><span class=\"wl\">" : "- **");
        sb_puts(b, wl);
        sb_puts(b, html ? "</span>: " : "**: ");
        if (n == 0) {
            sb_puts(b, "no successful run.");
        } else {
            const nl_bench_group *f = r[0];
            sb_printf(b, html ? "<b>%s</b> %s, %.*f s" : "**%s** %s, %.*f s", f->contestant,
                      n > 1 ? "is fastest" : "alone", tdec(f->time_to_train.mean),
                      f->time_to_train.mean);
            if (f->time_to_train.n > 1 && isfinite(f->time_to_train.sd))
                sb_printf(b, " ± %.*f", tdec(f->time_to_train.mean), f->time_to_train.sd);
            sb_puts(b, " to train");
            for (size_t i = 1; i < n; i++) {
                double sd = NAN;
                const double ratio =
                    nl_bench_ratio(f->time_to_train.mean, f->time_to_train.sd,
                                   r[i]->time_to_train.mean, r[i]->time_to_train.sd, &sd);
                sb_printf(b, "; %s takes %.2f×", r[i]->contestant, ratio);
                if (isfinite(sd)) sb_printf(b, " ± %.2f", sd);
                sb_printf(b, " as long (%.*f s)", tdec(r[i]->time_to_train.mean),
                          r[i]->time_to_train.mean);
            }
            sb_puts(b, ". Test accuracy: ");
            for (size_t i = 0; i < n; i++) {
                sb_printf(b, "%s%s ", i ? ", " : "", r[i]->contestant);
                sb_num(b, r[i]->accuracy.mean, 4, "–");
            }
            sb_puts(b, ". Peak memory: ");
            for (size_t i = 0; i < n; i++) {
                sb_printf(b, "%s%s ", i ? ", " : "", r[i]->contestant);
                sb_num(b, r[i]->rss_peak.mean, 0, "–");
                sb_puts(b, " MiB");
            }
            sb_puts(b, ".");
        }
        int first = 1;
        for (size_t i = 0; i < res->ngroups; i++) {
            const nl_bench_group *g = &res->groups[i];
            if (strcmp(g->workload, wl)) continue;
            if (g->status == NL_BENCH_SKIPPED || g->runs_failed) {
                sb_printf(b, "%s%s", first ? " " : "; ", g->contestant);
                if (g->status == NL_BENCH_SKIPPED)
                    sb_puts(b, " skipped (not installed)");
                else
                    sb_printf(b, ": %d of %zu runs failed", g->runs_failed, g->nruns);
                first = 0;
            }
        }
        if (!first) sb_puts(b, ".");
        if (cfg->load_procs > 0) { /* speed under load, as kept of the idle speed */
            int any = 0;
            for (size_t i = 0; i < n; i++) {
                double sd = NAN;
                const double kept =
                    nl_bench_ratio(r[i]->samples_per_s.mean, r[i]->samples_per_s.sd,
                                   r[i]->load_samples_per_s.mean, r[i]->load_samples_per_s.sd, &sd);
                if (!isfinite(kept)) continue;
                if (!any++)
                    sb_printf(b, " Under load (%d busy process%s): ", cfg->load_procs,
                              cfg->load_procs == 1 ? "" : "es");
                else
                    sb_puts(b, ", ");
                sb_printf(b, "%s keeps %.0f%%", r[i]->contestant, 100 * kept);
                if (isfinite(sd)) sb_printf(b, " ± %.0f", 100 * sd);
            }
            if (any) sb_puts(b, " of its idle samples/s.");
        }
        sb_puts(b, html ? "</li>\n" : "\n");
    }
}

/* 1 when the groups of a workload train different models (--paper). */
static int different_models(const nl_bench_results *res) {
    for (size_t i = 0; i < res->ngroups; i++)
        for (size_t j = 0; j < res->ngroups; j++)
            if (!strcmp(res->groups[i].workload, res->groups[j].workload) &&
                strcmp(res->groups[i].model, res->groups[j].model) &&
                res->groups[i].status != NL_BENCH_SKIPPED &&
                res->groups[j].status != NL_BENCH_SKIPPED)
                return 1;
    return 0;
}

static const char paper_note[] =
    "different models: under --paper the Python contestants train the study's Python "
    "models (*-keras-paper) and the others the Elixir/Axon ones, so the times compare "
    "different models, not only different frameworks";

/* "a, b vs c": the contestants that ran (skipped ones are listed elsewhere). */
static void title_names(sbuf *b, const nl_bench_config *cfg, const nl_bench_results *res) {
    const char *ran[64];
    size_t n = 0;
    for (size_t i = 0; i < cfg->ncontestants && n < 64; i++) {
        int any = 0;
        for (size_t g = 0; g < res->ngroups; g++)
            any |= !strcmp(res->groups[g].contestant, cfg->contestants[i].name) &&
                   res->groups[g].status != NL_BENCH_SKIPPED;
        if (any) ran[n++] = cfg->contestants[i].name;
    }
    if (n == 0) sb_puts(b, "no contestant ran");
    for (size_t i = 0; i < n; i++)
        sb_printf(b, "%s%s", i ? (i + 1 == n ? " vs " : ", ") : "", ran[i]);
}

/* Warns when other processes were busy while the contestants trained. */
static void busy_warning(sbuf *b, const nl_bench_results *res, int html) {
    const nl_bench_group *worst = NULL;
    double most = 0;
    for (size_t i = 0; i < res->ngroups; i++) {
        const nl_bench_group *g = &res->groups[i];
        for (size_t r = 0; r < g->nruns; r++)
            if (g->runs[r].status == NL_BENCH_OK && g->runs[r].background_cpu_pct > most)
                most = g->runs[r].background_cpu_pct, worst = g;
    }
    if (!worst || most < BENCH_BUSY_PCT) return;
    sb_printf(b,
              "%sThe machine was not idle: other processes used up to %.0f%% CPU (100 = one "
              "core) on average during a run (%s on %s). Times may be inflated and spread out; "
              "rerun on an idle machine for figures to quote (table.json: background_cpu_pct "
              "of every run).%s\n",
              html ? "<p class=\"busy\">&#9888; " : "> **Warning:** ", most, worst->contestant,
              worst->workload, html ? "</p>" : "\n");
}

static void html_table(sbuf *b, const nl_bench_config *cfg, const nl_bench_results *res) {
    sb_puts(b, "<table id=\"table1\">\n<thead><tr><th>workload</th><th>contestant</th>"
               "<th>language</th><th>runs ok</th>");
    for (size_t k = 0; k < bench_table1_ncols; k++) {
        sb_puts(b, "<th>");
        bench_col_head(b, &bench_table1[k], cfg, 1);
        sb_puts(b, "</th>");
    }
    sb_puts(b, "</tr></thead>\n<tbody>\n");
    for (size_t w = 0; w < cfg->nworkloads; w++) {
        const nl_bench_group *r[64];
        size_t n = ranked(res, cfg->workloads[w], r, 64);
        for (size_t i = 0; i < res->ngroups; i++) {
            const nl_bench_group *g = &res->groups[i];
            if (strcmp(g->workload, cfg->workloads[w])) continue;
            int best = n > 1 && r[0] == g;
            sb_printf(b, "<tr class=\"%s%s\"><td>", best ? "best" : "",
                      g->status == NL_BENCH_SKIPPED ? "skipped" : "");
            sb_html(b, g->workload);
            if (strcmp(g->model, g->workload)) {
                sb_puts(b, "<br><small>model ");
                sb_html(b, g->model);
                sb_puts(b, "</small>");
            }
            sb_puts(b, "</td><td class=\"name\">");
            sb_html(b, g->contestant);
            if (best) sb_puts(b, " <span class=\"badge\">fastest</span>");
            sb_puts(b, "</td><td>");
            sb_html(b, g->language);
            sb_puts(b, "</td>");
            if (g->status == NL_BENCH_SKIPPED) {
                sb_printf(b, "<td colspan=\"%zu\" class=\"msg\">skipped: ", bench_table1_ncols + 1);
                sb_html(b, g->message);
                sb_puts(b, "</td></tr>\n");
                continue;
            }
            sb_printf(b, "<td class=\"%s\">%d/%zu</td>", g->runs_failed ? "warn" : "", g->runs_ok,
                      g->nruns);
            for (size_t k = 0; k < bench_table1_ncols; k++) {
                sb_puts(b, k == 0 ? "<td class=\"num main\">" : "<td class=\"num\">");
                bench_col_cell(b, &bench_table1[k], g, 1);
                sb_puts(b, "</td>");
            }
            sb_puts(b, "</tr>\n");
        }
    }
    sb_puts(b, "</tbody>\n</table>\n");
}

/* <figure> with the SVG (or PNG) embedded as a data URI. */
static void html_figure(sbuf *b, const char *out_dir, const bench_figure *f) {
    char path[4300];
    const char *kind = "svg+xml";
    snprintf(path, sizeof path, "%s/figures/%s.svg", out_dir, f->name);
    char *data = NULL;
    size_t len = 0;
    nl_error ig = {0};
    if (bench_read_file(path, BENCH_OUTPUT_MAX, &data, &len, &ig)) {
        snprintf(path, sizeof path, "%s/figures/%s.png", out_dir, f->name);
        kind = "png";
        if (bench_read_file(path, BENCH_OUTPUT_MAX, &data, &len, &ig)) return;
    }
    sb_puts(b, "<figure id=\"fig-");
    sb_html(b, f->name);
    sb_puts(b, "\"><img class=\"figure\" alt=\"");
    sb_html(b, f->title);
    sb_printf(b, "\" src=\"data:image/%s;base64,", kind);
    sb_base64(b, (const unsigned char *)data, len);
    sb_puts(b, "\"><figcaption>");
    sb_html(b, f->caption);
    sb_puts(b, " <span class=\"files\">(figures/");
    sb_html(b, f->name);
    sb_puts(b, ".png, .svg)</span></figcaption></figure>\n");
    free(data);
}

/* The "Speed under load" table (HTML). */
static void html_load_table(sbuf *b, const nl_bench_config *cfg, const nl_bench_results *res) {
    char what[400];
    bench_load_text(what, sizeof what, cfg);
    sb_puts(b, "<p class=\"note\">Every measured run was repeated with ");
    md_inline_html(b, what, strlen(what));
    sb_puts(b, " alongside, started just before the run and ended right after it. Kept = "
               "samples/s under load ÷ idle, ± its spread from the runs.</p>\n");
    sb_puts(b, "<table>\n<thead><tr><th>workload</th><th>contestant</th><th>runs ok under load</th>"
               "<th>samples/s idle</th><th>samples/s under load</th><th>kept</th>"
               "<th>time-to-train idle (s)</th><th>under load (s)</th>"
               "<th>others' CPU under load (%)</th></tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < res->ngroups; i++) {
        const nl_bench_group *g = &res->groups[i];
        if (g->status == NL_BENCH_SKIPPED) continue;
        double ksd = NAN;
        const double kept =
            nl_bench_ratio(g->samples_per_s.mean, g->samples_per_s.sd, g->load_samples_per_s.mean,
                           g->load_samples_per_s.sd, &ksd);
        sb_puts(b, "<tr><td>");
        sb_html(b, g->workload);
        sb_puts(b, "</td><td class=\"name\">");
        sb_html(b, g->contestant);
        sb_printf(b, "</td><td class=\"num\">%d/%zu</td><td class=\"num\">", g->load_runs_ok,
                  g->nload_runs);
        sb_num(b, g->samples_per_s.mean, 0, "–");
        sb_puts(b, "</td><td class=\"num\">");
        sb_num(b, g->load_samples_per_s.mean, 0, "–");
        sb_puts(b, "</td><td class=\"num main\">");
        if (isfinite(kept)) {
            sb_printf(b, "%.0f%%", 100 * kept);
            if (isfinite(ksd)) sb_printf(b, "<span class=\"sd\"> ± %.0f</span>", 100 * ksd);
        } else {
            sb_puts(b, "–");
        }
        sb_puts(b, "</td><td class=\"num\">");
        sb_num(b, g->time_to_train.mean, tdec(g->time_to_train.mean), "–");
        sb_puts(b, "</td><td class=\"num\">");
        sb_num(b, g->load_time_to_train.mean, tdec(g->load_time_to_train.mean), "–");
        sb_puts(b, "</td><td class=\"num\">");
        sb_num(b, g->load_background_cpu.mean, 0, "–");
        sb_puts(b, "</td></tr>\n");
    }
    sb_puts(b, "</tbody>\n</table>\n");
}

static const char css[] =
    "body{font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;"
    "color:#1d232a;margin:0;background:#f6f7f9}"
    "main{max-width:1180px;margin:0 auto;padding:24px 28px 60px;background:#fff;"
    "box-shadow:0 0 0 1px #e4e7eb}"
    "h1{font-size:26px;margin:8px 0 2px}h2{font-size:20px;margin:34px 0 10px;"
    "border-bottom:2px solid #e4e7eb;padding-bottom:4px}h3{font-size:16px;margin:22px 0 6px}"
    ".sub{color:#5b6673;margin:0 0 16px}"
    ".verdict{background:#eef6ff;border-left:5px solid #0072B2;padding:10px 16px;"
    "margin:14px 0 8px;font-size:16px}.verdict ul{margin:4px 0;padding-left:18px}"
    ".verdict .wl{font-weight:700;text-transform:uppercase;letter-spacing:.03em;"
    "font-size:13px;color:#0072B2}"
    "table{border-collapse:collapse;width:100%;font-size:13.5px;margin:8px 0}"
    "th,td{padding:5px 8px;border-bottom:1px solid #e4e7eb;text-align:left;"
    "vertical-align:top}th{background:#f0f2f5;font-weight:600}"
    "td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
    "td.main{font-weight:700}.sd{color:#6b7785;font-weight:400}td.name{white-space:nowrap}"
    "tr.best td{background:#f0fbf4}.badge{background:#009E73;color:#fff;border-radius:9px;"
    "padding:0 7px;font-size:11px;font-weight:600;margin-left:4px}"
    ".slower{color:#b33c00}.faster{color:#007a55}tr.skipped td{color:#7b8590}"
    "td.msg{font-style:italic}td.warn{color:#b33c00;font-weight:700}"
    "table.kv{width:auto}table.kv th{background:none;width:170px}"
    ".grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(440px,1fr));gap:0 22px}"
    "figure{margin:18px 0 26px}figure img{max-width:100%;height:auto;border:1px solid #e4e7eb}"
    "figcaption{color:#4a5561;font-size:13.5px;margin-top:4px}.files{color:#8a949e}"
    "code,pre{font:12.5px/1.4 ui-monospace,'DejaVu Sans Mono',monospace;background:#f3f4f6;"
    "border-radius:3px}code{padding:1px 4px}pre{padding:8px 10px;overflow-x:auto;"
    "white-space:pre-wrap;word-break:break-all}"
    ".note{color:#5b6673;font-size:13.5px}ul.problems li{color:#8a3300}"
    "img.broken{outline:3px solid #d00}.w{white-space:nowrap}"
    ".busy{background:#fff4e5;border-left:5px solid #D55E00;padding:8px 14px;margin:8px 0}";

static void html_kv(sbuf *b, const char *k, const char *v) {
    sb_puts(b, "<tr><th>");
    sb_html(b, k);
    sb_puts(b, "</th><td>");
    sb_html(b, v);
    sb_puts(b, "</td></tr>\n");
}

static const char *group_version(const nl_bench_results *res, const char *contestant) {
    for (size_t i = 0; i < res->ngroups; i++)
        if (!strcmp(res->groups[i].contestant, contestant) && res->groups[i].framework_version[0])
            return res->groups[i].framework_version;
    return "";
}

static const char *group_python(const nl_bench_results *res, const char *contestant) {
    for (size_t i = 0; i < res->ngroups; i++)
        if (!strcmp(res->groups[i].contestant, contestant) && res->groups[i].python_version[0])
            return res->groups[i].python_version;
    return "";
}

/* Every run: its time, speed and the other processes' CPU meanwhile (html or md). */
static void runs_table(sbuf *b, const nl_bench_results *res, int html) {
    if (html)
        sb_puts(b, "<table>\n<thead><tr><th>workload</th><th>contestant</th><th>run</th>"
                   "<th>status</th><th>time-to-train (s)</th><th>samples/s</th><th>peak RSS "
                   "(MiB)</th><th>background CPU (%, 100 = one core)</th></tr></thead>\n<tbody>\n");
    else
        sb_puts(b, "| workload | contestant | run | status | time-to-train (s) | samples/s | peak "
                   "RSS (MiB) | background CPU (%) |\n|---|---|---:|---|---:|---:|---:|---:|\n");
    for (size_t i = 0; i < res->ngroups; i++) {
        const nl_bench_group *g = &res->groups[i];
        for (int load = 0; load < 2; load++) {
            const nl_bench_run *runs = load ? g->load_runs : g->runs;
            const size_t n = load ? g->nload_runs : g->nruns;
            for (size_t r = 0; r < n; r++) {
                const nl_bench_run *x = &runs[r];
                char k[32];
                snprintf(k, sizeof k, "%d%s", x->k, load ? " (under load)" : "");
                const char *cells[4] = {g->workload, g->contestant, k,
                                        nl_bench_status_name(x->status)};
                sb_puts(b, html ? "<tr>" : "|");
                for (int c = 0; c < 4; c++) {
                    sb_puts(b, html ? "<td>" : " ");
                    if (html)
                        sb_html(b, cells[c]);
                    else
                        sb_puts(b, cells[c]);
                    sb_puts(b, html ? "</td>" : " |");
                }
                const double v[4] = {x->time_to_train_s, x->samples_per_s, x->rss_peak_mib,
                                     x->background_cpu_pct};
                const int dec[4] = {3, 0, 0, 0};
                for (int c = 0; c < 4; c++) {
                    sb_puts(b, html ? "<td class=\"num\">" : " ");
                    sb_num(b, v[c], dec[c], "–");
                    sb_puts(b, html ? "</td>" : " |");
                }
                sb_puts(b, html ? "</tr>\n" : "\n");
            }
        }
    }
    if (html) sb_puts(b, "</tbody>\n</table>\n");
}

static const char *contestant_status(const nl_bench_results *res, const char *contestant, char *buf,
                                     size_t n) {
    int ok = 0, failed = 0, skipped = 0;
    size_t runs = 0;
    for (size_t i = 0; i < res->ngroups; i++) {
        const nl_bench_group *g = &res->groups[i];
        if (strcmp(g->contestant, contestant)) continue;
        if (g->status == NL_BENCH_SKIPPED) skipped++;
        ok += g->runs_ok, failed += g->runs_failed, runs += g->nruns;
    }
    if (skipped && !ok)
        snprintf(buf, n, "skipped");
    else
        snprintf(buf, n, "%d of %zu runs ok%s", ok, runs, failed ? " (failures below)" : "");
    return buf;
}

/* The Method section as Markdown bullets (one a line). */
static void method_md(sbuf *b, const nl_bench_config *cfg, const nl_bench_results *res) {
    const char *li = "- ", *end = "\n";
    char threads[160];
    bench_threads_text(threads, sizeof threads, cfg);
    sb_printf(b,
              "%sEvery contestant ran every workload %d time%s%s, interleaved (A B C A B C "
              "…) so that drift in the machine's speed falls on all alike; same data files, "
              "%d epoch%s, batch 32, %s, seed %llu + run number − 1.%s",
              li, cfg->runs, cfg->runs == 1 ? "" : "s",
              cfg->warmup ? " after unmeasured warm-up runs" : "", cfg->epochs,
              cfg->epochs == 1 ? "" : "s", threads, (unsigned long long)cfg->seed, end);
    if (cfg->limit)
        sb_printf(b,
                  "%sTraining set cut to the first %llu samples (--limit): a smoke test, "
                  "not a measurement of full training.%s",
                  li, (unsigned long long)cfg->limit, end);
    if (cfg->paper)
        sb_printf(b,
                  "%s--paper: Python contestants train the study's Python models "
                  "(*-keras-paper), the others the Elixir/Axon models, as published.%s",
                  li, end);
    sb_printf(b,
              "%sEach run was watched in-process by nnlab's monitor (the code of `nnlab "
              "stats`): the whole process tree, sampled every %.1f s on an absolute schedule. "
              "CPU%% is of one core (200 = two cores busy).%s",
              li, res->dt, end);
    sb_printf(b,
              "%sTimelines are aligned on each run's `run_start` event (t = 0), logged "
              "before the dataset is touched; the interpreter start and imports before it "
              "are reported as start-up, not as training. Time-to-train = `run_stop` − "
              "`run_start`. Nothing is downloaded during a run: every contestant reads the "
              "same files from %s.%s",
              li, cfg->data_dir, end);
    sb_printf(b,
              "%sThe mean curves (the study's \"sixth sample\") resample every successful "
              "run onto a common %.1f s grid by linear interpolation and average the runs "
              "point by point; a run stops contributing after its own run_stop. sd is the "
              "sample standard deviation (n − 1). Failed runs are listed and left out of "
              "every mean.%s",
              li, res->dt, end);
    sb_printf(b,
              "%s\"vs %s\" is the %% difference of the mean time-to-train against that "
              "contestant on the same workload (positive = slower). A ratio \"r× ± s\" is the "
              "ratio of the mean times, s its spread from the runs' sds (relative sds added in "
              "quadrature, as hyperfine does).%s",
              li, bench_baseline_name(cfg), end);
    sb_printf(b,
              "%ssamples/s = the training samples a run logged (its `epoch_stop` events) ÷ its "
              "time-to-train, so it agrees with the time column; the contestant's own figure "
              "(usually over its training steps alone) is kept in table.json as "
              "reported_samples_per_second.%s",
              li, end);
    sb_printf(b,
              "%sBackground CPU: the machine's CPU minus the contestant's own while it trained "
              "(100 = one core), every run's in the Runs table below and in table.json; above "
              "%.0f%% the page warns that times may be inflated.%s",
              li, BENCH_BUSY_PCT, end);
    if (cfg->load_procs > 0) {
        char what[400];
        bench_load_text(what, sizeof what, cfg);
        sb_printf(b,
                  "%s--load: every measured run was done twice, idle and then with %s "
                  "alongside, started by the bench just before the run and ended (SIGKILL, "
                  "reaped) right after it; Table 1 shows the idle runs, \"Speed under load\" "
                  "both.%s",
                  li, what, end);
    }
}

static void method_text(sbuf *b, const nl_bench_config *cfg, const nl_bench_results *res,
                        int html) {
    if (!html) {
        method_md(b, cfg, res);
        return;
    }
    sbuf m;
    sb_init(&m);
    method_md(&m, cfg, res);
    for (const char *line = m.s; line && *line;) {
        const char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        if (len > 2 && !strncmp(line, "- ", 2)) {
            sb_puts(b, "<li>");
            md_inline_html(b, line + 2, len - 2);
            sb_puts(b, "</li>\n");
        }
        line = eol ? eol + 1 : NULL;
    }
    sb_free(&m);
}

/* A command template as HTML: each word kept whole (no break inside "--quiet"). */
static void html_command(sbuf *b, const char *cmd) {
    const char *p = cmd;
    while (*p) {
        size_t sp = strspn(p, " \t");
        if (sp) {
            sb_puts(b, " ");
            p += sp;
            continue;
        }
        size_t w = strcspn(p, " \t");
        char *word = strndup(p, w);
        if (word) {
            sb_puts(b, "<span class=\"w\">");
            sb_html(b, word);
            sb_puts(b, "</span>");
            free(word);
        }
        p += w;
    }
}

static nl_status write_html(const char *path, const char *out_dir, const nl_bench_config *cfg,
                            const nl_bench_results *res, const bench_figure *figs, size_t nfigs,
                            nl_error *err) {
    sbuf b;
    sb_init(&b);
    const nl_bench_machine *m = &res->machine;
    sb_puts(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                "<title>nnlab bench: ");
    for (size_t w = 0; w < cfg->nworkloads; w++) {
        if (w) sb_puts(&b, ", ");
        sb_html(&b, cfg->workloads[w]);
    }
    sb_printf(&b, "</title>\n<style>%s</style>\n</head>\n<body>\n<main>\n", css);
    sb_puts(&b, "<h1>nnlab bench: ");
    sbuf names;
    sb_init(&names);
    title_names(&names, cfg, res);
    sb_html(&b, names.s ? names.s : "");
    sb_free(&names);
    sb_puts(&b, " on ");
    for (size_t w = 0; w < cfg->nworkloads; w++) {
        if (w) sb_puts(&b, " and ");
        sb_html(&b, cfg->workloads[w]);
    }
    if (different_models(res)) sb_puts(&b, " (different models)");
    sb_puts(&b, "</h1>\n");
    if (different_models(res)) {
        sb_puts(&b, "<p class=\"busy\">&#9888; ");
        sb_html(&b, paper_note);
        sb_puts(&b, ".</p>\n");
    }
    sb_puts(&b, "<p class=\"sub\">");
    char threads[160];
    bench_threads_text(threads, sizeof threads, cfg);
    sb_printf(&b, "%d run%s each · %d epoch%s · ", cfg->runs, cfg->runs == 1 ? "" : "s",
              cfg->epochs, cfg->epochs == 1 ? "" : "s");
    sb_html(&b, threads);
    if (cfg->limit) sb_printf(&b, " · %llu training samples", (unsigned long long)cfg->limit);
    sb_puts(&b, " · ");
    sb_html(&b, m->cpu_model);
    sb_printf(&b, ", %d CPUs, %.1f GiB · ", m->cpus, m->mem_gib);
    sb_html(&b, m->date);
    sb_puts(&b, "</p>\n");
    if (res->interrupted)
        sb_puts(&b, "<p class=\"note\"><b>Interrupted:</b> the bench was stopped before all "
                    "runs were done; these are the runs completed.</p>\n");
    sb_puts(&b, "<div class=\"verdict\"><ul>\n");
    verdict(&b, cfg, res, 1);
    sb_puts(&b, "</ul></div>\n");
    busy_warning(&b, res, 1);

    sb_puts(&b, "<h2 id=\"table\">Table 1: time-to-train</h2>\n");
    html_table(&b, cfg, res);
    sb_puts(&b, "<p class=\"note\">Mean ± sd over the successful runs. Time-to-train is "
                "run_stop − run_start from each run's events; test accuracy after the last "
                "epoch; samples/s = the training samples of a run (its epoch_stop events) ÷ "
                "its time-to-train, so the two agree; peak RSS, mean CPU (100 = one core, during "
                "training) and GPU memory "
                "from the monitor. Also as table.md, table.csv and table.json.</p>\n");
    sbuf p;
    sb_init(&p);
    bench_problems_md(&p, res);
    if (p.len) {
        sb_puts(&b, "<h3>Skipped contestants and failed runs</h3>\n<ul class=\"problems\">\n");
        for (char *line = p.s; line && *line;) {
            char *eol = strchr(line, '\n');
            if (eol) *eol = '\0';
            sb_puts(&b, "<li>");
            /* "- **name** rest" -> <b>name</b> rest */
            const char *s = line + 2;
            if (!strncmp(s, "**", 2)) {
                const char *e = strstr(s + 2, "**");
                if (e) {
                    sb_puts(&b, "<b>");
                    char nm[128];
                    snprintf(nm, sizeof nm, "%.*s", (int)(e - s - 2), s + 2);
                    sb_html(&b, nm);
                    sb_puts(&b, "</b>");
                    s = e + 2;
                }
            }
            sb_html(&b, s);
            sb_puts(&b, "</li>\n");
            line = eol ? eol + 1 : NULL;
        }
        sb_puts(&b, "</ul>\n");
    }
    sb_free(&p);

    static const char *const sections[][2] = {{"summary", "Time and accuracy"},
                                              {"load", "Speed under load"},
                                              {"compare", "Resource use, contestants side by side"},
                                              {"usage", "Each contestant's runs"}};
    for (size_t s = 0; s < 4; s++) {
        int any = 0;
        for (size_t i = 0; i < nfigs; i++) any |= !strcmp(figs[i].section, sections[s][0]);
        if (s == 1 && cfg->load_procs > 0) { /* the table, with or without its figure */
            sb_puts(&b, "<h2 id=\"load\">Speed under load</h2>\n");
            html_load_table(&b, cfg, res);
            for (size_t i = 0; i < nfigs; i++)
                if (!strcmp(figs[i].section, "load")) html_figure(&b, out_dir, &figs[i]);
            continue;
        }
        if (!any || s == 1) continue;
        sb_printf(&b, "<h2 id=\"%s\">%s</h2>\n", sections[s][0], sections[s][1]);
        if (s == 0) sb_puts(&b, "<div class=\"grid\">\n");
        for (size_t i = 0; i < nfigs; i++)
            if (!strcmp(figs[i].section, sections[s][0])) html_figure(&b, out_dir, &figs[i]);
        if (s == 0) sb_puts(&b, "</div>\n");
    }
    if (nfigs == 0)
        sb_puts(&b, "<p class=\"note\">No figures: gnuplot was not available (Debian: "
                    "gnuplot-nox).</p>\n");

    sb_puts(&b, "<h2 id=\"machine\">Machine</h2>\n<table class=\"kv\">\n");
    html_kv(&b, "CPU", m->cpu_model);
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%d logical CPUs", m->cpus);
    html_kv(&b, "cores", tmp);
    snprintf(tmp, sizeof tmp, "%.1f GiB", m->mem_gib);
    html_kv(&b, "memory", tmp);
    html_kv(&b, "GPU", m->gpu);
    html_kv(&b, "system", m->os);
    html_kv(&b, "host", m->host);
    snprintf(tmp, sizeof tmp, "nnlab %s, BLAS %s", m->nnlab_version, m->blas);
    html_kv(&b, "nnlab", tmp);
    html_kv(&b, "started", m->date);
    bench_fmt_duration(tmp, sizeof tmp, res->elapsed_s);
    html_kv(&b, "bench took", tmp);
    html_kv(&b, "compiler", m->compiler);
    html_kv(&b, "flags", m->cflags);
    html_kv(&b, "Python", m->python[0] ? m->python : "none on PATH");
    if (cfg->command_line) {
        sb_puts(&b, "<tr><th>command</th><td><code>");
        html_command(&b, cfg->command_line);
        sb_puts(&b, "</code></td></tr>\n");
    }
    sb_puts(&b, "</table>\n");

    sb_puts(
        &b,
        "<h2 "
        "id=\"contestants\">Contestants</h2>\n<table>\n<thead><tr><th>name</th><th>language</th>"
        "<th>framework version</th><th>status</th><th>command template</th></tr>"
        "</thead>\n<tbody>\n");
    for (size_t i = 0; i < cfg->ncontestants; i++) {
        const nl_bench_contestant *c = &cfg->contestants[i];
        sb_puts(&b, "<tr><td class=\"name\">");
        sb_html(&b, c->name);
        sb_puts(&b, "</td><td>");
        sb_html(&b, c->language);
        sb_puts(&b, "</td><td>");
        const char *v = group_version(res, c->name);
        sb_html(&b, *v ? v : "–");
        const char *py = group_python(res, c->name);
        if (*py) {
            sb_puts(&b, " <small>(Python ");
            sb_html(&b, py);
            sb_puts(&b, ")</small>");
        }
        sb_puts(&b, "</td><td>");
        sb_html(&b, contestant_status(res, c->name, tmp, sizeof tmp));
        sb_puts(&b, "</td><td><code>");
        html_command(&b, c->command);
        sb_puts(&b, "</code></td></tr>\n");
    }
    sb_puts(&b, "</tbody>\n</table>\n");

    sb_puts(&b, "<h2 id=\"runs\">Runs</h2>\n");
    runs_table(&b, res, 1);
    sb_puts(&b, "<h2 id=\"method\">Method</h2>\n<ul>\n");
    method_text(&b, cfg, res, 1);
    sb_puts(&b,
            "</ul>\n<h2 id=\"files\">Files</h2>\n<p class=\"note\">In this directory: table.md, "
            "table.csv, table.json (every run's figures too); per run "
            "<code>CONTESTANT_WORKLOAD_runK.csv</code> (monitor samples, t_s = seconds "
            "since run_start, negative before it), <code>.events</code>, <code>.out</code> "
            "(stdout) and <code>.log</code> (stderr); per contestant and workload "
            "<code>_aligned.csv</code> (runs on the common grid) and <code>_mean.csv</code> "
            "(mean and sd); figures/ (PNG, SVG and the gnuplot script of every figure). "
            "With --load, the runs under load as <code>CONTESTANT_WORKLOAD_load_runK.*</code>."
            "</p>\n");
    /* marks figures that fail to decode (and lets a headless browser count them) */
    sb_puts(&b, "<script>\nwindow.addEventListener('load', function () {\n"
                "  var ok = 0, imgs = document.querySelectorAll('img.figure');\n"
                "  imgs.forEach(function (i) {\n"
                "    if (i.complete && i.naturalWidth > 0) { ok++; i.setAttribute('data-rendered', "
                "'1'); }\n"
                "    else i.classList.add('broken');\n  });\n"
                "  document.body.setAttribute('data-figures', imgs.length);\n"
                "  document.body.setAttribute('data-figures-rendered', ok);\n});\n</script>\n");
    sb_puts(&b, "</main>\n</body>\n</html>\n");
    nl_status st = b.oom ? nl_error_set(err, NL_ENOMEM, "out of memory writing report.html")
                         : bench_write_file(path, b.s, b.len, err);
    sb_free(&b);
    return st;
}

static nl_status write_md(const char *path, const nl_bench_config *cfg, const nl_bench_results *res,
                          const bench_figure *figs, size_t nfigs, nl_error *err) {
    sbuf b;
    sb_init(&b);
    const nl_bench_machine *m = &res->machine;
    sb_puts(&b, "# nnlab bench: ");
    title_names(&b, cfg, res);
    sb_puts(&b, " on ");
    for (size_t w = 0; w < cfg->nworkloads; w++)
        sb_printf(&b, "%s%s", w ? " and " : "", cfg->workloads[w]);
    if (different_models(res)) sb_printf(&b, " (different models)\n\n> **Note:** %s.", paper_note);
    char threads[160];
    bench_threads_text(threads, sizeof threads, cfg);
    sb_printf(&b, "\n\n%d run%s each, %d epoch%s, %s", cfg->runs, cfg->runs == 1 ? "" : "s",
              cfg->epochs, cfg->epochs == 1 ? "" : "s", threads);
    if (cfg->limit) sb_printf(&b, ", %llu training samples", (unsigned long long)cfg->limit);
    sb_printf(&b, "; %s, %d CPUs, %.1f GiB; %s.\n\n", m->cpu_model, m->cpus, m->mem_gib, m->date);
    if (res->interrupted) sb_puts(&b, "**Interrupted**: only the runs completed are shown.\n\n");
    verdict(&b, cfg, res, 0);
    sb_puts(&b, "\n");
    busy_warning(&b, res, 0);
    sb_puts(&b, "## Table 1: time-to-train\n\n");
    bench_table_md(&b, cfg, res);
    sb_puts(&b, "\nMean ± sd over the successful runs (table.csv and table.json have every "
                "figure).\n");
    sbuf p;
    sb_init(&p);
    bench_problems_md(&p, res);
    if (p.len) sb_printf(&b, "\n### Skipped contestants and failed runs\n\n%s", p.s);
    sb_free(&p);
    if (cfg->load_procs > 0) {
        sb_puts(&b, "\n");
        bench_load_table_md(&b, cfg, res);
    }
    for (size_t i = 0; i < nfigs; i++)
        sb_printf(&b, "\n### %s\n\n![%s](figures/%s.png)\n\n%s\n", figs[i].title, figs[i].title,
                  figs[i].name, figs[i].caption);
    sb_puts(&b, "\n## Machine\n\n");
    sb_printf(&b,
              "- CPU: %s (%d logical CPUs)\n- memory: %.1f GiB\n- GPU: %s\n- system: %s\n"
              "- nnlab %s, BLAS %s\n- compiler: %s, flags: %s\n- Python: %s\n",
              m->cpu_model, m->cpus, m->mem_gib, m->gpu, m->os, m->nnlab_version, m->blas,
              m->compiler, m->cflags, m->python[0] ? m->python : "none on PATH");
    if (cfg->command_line) sb_printf(&b, "- command: `%s`\n", cfg->command_line);
    sb_puts(&b, "\n## Contestants\n\n| name | language | framework version | status | command "
                "template |\n|---|---|---|---|---|\n");
    for (size_t i = 0; i < cfg->ncontestants; i++) {
        char tmp[128];
        const char *v = group_version(res, cfg->contestants[i].name);
        const char *py = group_python(res, cfg->contestants[i].name);
        char ver[160];
        bench_strf(ver, sizeof ver, "%s%s%s%s", *v ? v : "–", *py ? " (Python " : "", py,
                   *py ? ")" : "");
        sb_printf(&b, "| %s | %s | %s | %s | `", cfg->contestants[i].name,
                  cfg->contestants[i].language, ver,
                  contestant_status(res, cfg->contestants[i].name, tmp, sizeof tmp));
        for (const char *s = cfg->contestants[i].command; *s; s++) {
            if (*s == '|') sb_puts(&b, "\\");
            sb_putn(&b, s, 1);
        }
        sb_puts(&b, "` |\n");
    }
    sb_puts(&b, "\n## Runs\n\n");
    runs_table(&b, res, 0);
    sb_puts(&b, "\n## Method\n\n");
    method_text(&b, cfg, res, 0);
    nl_status st = b.oom ? nl_error_set(err, NL_ENOMEM, "out of memory writing report.md")
                         : bench_write_file(path, b.s, b.len, err);
    sb_free(&b);
    return st;
}

nl_status nl_bench_write_report(const char *out_dir, const nl_bench_config *cfg,
                                const nl_bench_results *res, nl_error *err) {
    bench_figure *figs = NULL;
    size_t nfigs = bench_figures_list(out_dir, &figs);
    char path[4096];
    nl_status st = bench_path(path, sizeof path, out_dir, "report.html", err);
    if (!st) st = write_html(path, out_dir, cfg, res, figs, nfigs, err);
    if (!st) st = bench_path(path, sizeof path, out_dir, "report.md", err);
    if (!st) st = write_md(path, cfg, res, figs, nfigs, err);
    free(figs);
    return st;
}
