/* MLPerf's standard log keys for nnlab train (see mlperf.h). */
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "cli/cli.h"
#include "cli/mlperf.h"

int cli_mlperf_option(const char *cmd, int argc, char **argv, int *i, cli_mlperf *s) {
    static const char *const names[] = {"--submission-org", "--submission-platform",
                                        "--submission-division", "--submission-status"};
    const char **slots[] = {&s->org, &s->platform, &s->division, &s->status};
    for (int k = 0; k < 4; k++) {
        const char *v = NULL;
        int r = cli_opt_value(cmd, argc, argv, i, names[k], &v);
        if (r == 0) continue;
        if (r < 0) return -1;
        if (!*v) {
            cli_usage_error(cmd, "%s needs a non-empty value", names[k]);
            return -1;
        }
        if (k == 2 && strcmp(v, "open") && strcmp(v, "closed")) {
            cli_usage_error(cmd, "invalid value '%s' for --submission-division: open or closed", v);
            return -1;
        }
        *slots[k] = v;
        return 1;
    }
    return 0;
}

/* s as a JSON string (quotes included) into out. */
static void json_str(char *out, size_t n, const char *s) {
    size_t k = 0;
    if (n < 3) return;
    out[k++] = '"';
    for (; *s && k + 8 < n; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[k++] = '\\';
            out[k++] = (char)c;
        } else if (c < 0x20) {
            k += (size_t)snprintf(out + k, n - k, "\\u%04x", c);
        } else {
            out[k++] = (char)c;
        }
    }
    out[k++] = '"';
    out[k] = '\0';
}

static void point_str(nl_events *ev, const char *key, const char *value) {
    char v[512];
    json_str(v, sizeof v, value);
    nl_event(ev, "POINT_IN_TIME", key, v, NULL);
}

static void point_num(nl_events *ev, const char *key, const char *fmt, double x) {
    char v[64];
    snprintf(v, sizeof v, fmt, x);
    nl_event(ev, "POINT_IN_TIME", key, v, NULL);
}

void cli_mlperf_log_config(nl_events *ev, const cli_mlperf *s, const char *workload,
                           const char *opt_name, double lr, long batch, uint64_t seed) {
    if (!ev || !ev->f) return;
    char platform[256];
    if (s->platform) {
        snprintf(platform, sizeof platform, "%s", s->platform);
    } else {
        struct utsname u;
        const int cores = cli_cores(), named = uname(&u) == 0;
        snprintf(platform, sizeof platform, "%s %s, %d core%s", named ? u.sysname : "unknown",
                 named ? u.machine : "machine", cores, cores == 1 ? "" : "s");
    }
    point_str(ev, "submission_org", s->org ? s->org : "nnlab");
    point_str(ev, "submission_platform", platform);
    point_str(ev, "submission_division", s->division ? s->division : "open");
    point_str(ev, "submission_status", s->status ? s->status : "research");
    point_str(ev, "submission_benchmark", workload);
    /* nnlab does not drop the page cache before a run: logged as such */
    nl_event(ev, "POINT_IN_TIME", "cache_clear", "false", NULL);
    point_num(ev, "global_batch_size", "%.0f", (double)batch);
    point_num(ev, "micro_batch_size", "%.0f", (double)batch);
    point_num(ev, "gradient_accumulation_steps", "%.0f", 1);
    point_str(ev, "opt_name", opt_name);
    point_num(ev, "opt_base_learning_rate", "%.7g", lr);
    char v[32];
    snprintf(v, sizeof v, "%llu", (unsigned long long)seed);
    nl_event(ev, "POINT_IN_TIME", "seed", v, NULL);
    /* every multiply-add and every reduction in float32, on one process */
    point_str(ev, "lowest_numerical_precision_in_linear", "fp32");
    point_str(ev, "lowest_numerical_precision_in_attn", "fp32");
    point_str(ev, "lowest_numerical_precision_in_comm", "fp32");
    static const char *const par[] = {"tensor_parallelism", "pipeline_parallelism",
                                      "context_parallelism", "expert_parallelism"};
    for (int k = 0; k < 4; k++) nl_event(ev, "POINT_IN_TIME", par[k], "1", NULL);
    point_str(ev, "config_filename", workload);
}

void cli_mlperf_log_samples(nl_events *ev, size_t train, size_t eval) {
    point_num(ev, "train_samples", "%.0f", (double)train);
    point_num(ev, "eval_samples", "%.0f", (double)eval);
}
