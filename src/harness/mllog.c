/* Reading the MLPerf-style event lines of a run (design.md, "Events"). */
#include "nnlab/bench.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

void nl_bench_timeline_init(nl_bench_timeline *tl) {
    memset(tl, 0, sizeof *tl);
    tl->init_start_ms = tl->run_start_ms = tl->data_loaded_ms = tl->run_stop_ms = -1;
    for (int e = 0; e < NL_BENCH_MAX_EPOCHS; e++) {
        tl->epoch_start_ms[e] = tl->epoch_stop_ms[e] = tl->eval_ms[e] = -1;
        tl->eval_accuracy[e] = NAN;
        tl->epoch_samples[e] = NAN;
    }
}

double nl_bench_timeline_samples(const nl_bench_timeline *tl) {
    double sum = 0;
    int any = 0;
    for (int e = 0; e < tl->epochs && e < NL_BENCH_MAX_EPOCHS; e++)
        if (!isnan(tl->epoch_samples[e])) sum += tl->epoch_samples[e], any = 1;
    return any ? sum : NAN;
}

/* epoch_num from metadata (1-based), or the last epoch seen; -1 when out of range. */
static int epoch_index(const nl_bench_timeline *tl, json_t *meta) {
    json_t *e = json_is_object(meta) ? json_object_get(meta, "epoch_num") : NULL;
    long n = json_is_integer(e) ? (long)json_integer_value(e)
             : json_is_real(e)  ? lround(json_real_value(e))
                                : tl->epochs;
    if (n < 1 || n > NL_BENCH_MAX_EPOCHS) return -1;
    return (int)n - 1;
}

static void malformed(nl_bench_timeline *tl, const char *p, size_t n) {
    if (tl->malformed++ == 0) {
        size_t k = n < sizeof tl->first_malformed - 1 ? n : sizeof tl->first_malformed - 1;
        for (size_t i = 0; i < k; i++) /* printable: it goes into messages */
            tl->first_malformed[i] = (unsigned char)p[i] < 0x20 ? ' ' : p[i];
        tl->first_malformed[k] = '\0';
    }
}

static void parse_line(nl_bench_timeline *tl, const char *p, size_t n) {
    static const char prefix[] = ":::MLLOG";
    while (n && (*p == ' ' || *p == '\t')) p++, n--;
    int tagged = 0;
    if (n >= sizeof prefix - 1 && !memcmp(p, prefix, sizeof prefix - 1))
        p += sizeof prefix - 1, n -= sizeof prefix - 1, tagged = 1;
    while (n && (*p == ' ' || *p == '\t')) p++, n--;
    while (n && (p[n - 1] == '\r' || p[n - 1] == ' ')) n--;
    const char *line = p;
    size_t line_n = n;
    if (n == 0) return;
    if (*p != '{') {
        tl->ignored++;
        if (tagged) malformed(tl, line, line_n);
        return;
    }
    json_error_t jerr;
    json_t *o = json_loadb(p, n, 0, &jerr);
    json_t *key = o ? json_object_get(o, "key") : NULL;
    json_t *tms = o ? json_object_get(o, "time_ms") : NULL;
    if (!json_is_object(o) || !json_is_string(key) || !json_is_number(tms) ||
        !isfinite(json_number_value(tms))) {
        tl->ignored++;
        /* an object that is not an event (a result line) is other output */
        if (tagged || !json_is_object(o) || key || tms || json_object_get(o, "event_type"))
            malformed(tl, line, line_n);
        json_decref(o);
        return;
    }
    const char *k = json_string_value(key);
    const int64_t t = (int64_t)llround(json_number_value(tms));
    json_t *meta = json_object_get(o, "metadata");
    json_t *value = json_object_get(o, "value");
    tl->events++;
    if (!strcmp(k, "init_start")) {
        if (tl->init_start_ms < 0) tl->init_start_ms = t;
    } else if (!strcmp(k, "run_start")) {
        tl->run_start_ms = t;
    } else if (!strcmp(k, "data_loaded")) {
        tl->data_loaded_ms = t;
    } else if (!strcmp(k, "run_stop")) {
        tl->run_stop_ms = t;
        json_t *st = json_is_object(meta) ? json_object_get(meta, "status") : NULL;
        snprintf(tl->run_stop_status, sizeof tl->run_stop_status, "%s",
                 json_is_string(st) ? json_string_value(st) : "");
    } else if (!strcmp(k, "epoch_start") || !strcmp(k, "epoch_stop")) {
        int e = epoch_index(tl, meta);
        if (e >= 0) {
            if (!strcmp(k, "epoch_start"))
                tl->epoch_start_ms[e] = t;
            else
                tl->epoch_stop_ms[e] = t;
            if (e + 1 > tl->epochs) tl->epochs = e + 1;
            json_t *ns = json_is_object(meta) ? json_object_get(meta, "samples") : NULL;
            if (!strcmp(k, "epoch_stop") && json_is_number(ns) && json_number_value(ns) >= 0 &&
                isfinite(json_number_value(ns)))
                tl->epoch_samples[e] = json_number_value(ns);
        }
    } else if (!strcmp(k, "eval_accuracy")) {
        int e = epoch_index(tl, meta);
        if (e >= 0) {
            tl->eval_ms[e] = t;
            tl->eval_accuracy[e] = json_is_number(value) ? json_number_value(value) : NAN;
            if (e + 1 > tl->epochs) tl->epochs = e + 1;
        }
    } /* other keys (init_stop, ...): valid events the harness does not use */
    json_decref(o);
}

void nl_bench_timeline_parse(nl_bench_timeline *tl, const char *text, size_t len) {
    size_t i = 0;
    while (i < len) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - text) : len;
        parse_line(tl, text + i, end - i);
        i = end + 1;
    }
}

/* An event time in ms since the epoch, as seconds from `from`, for messages. */
static double rel_s(int64_t t, int64_t from) {
    return (double)(t - from) / 1000.0;
}

int nl_bench_timeline_check(const nl_bench_timeline *tl, int64_t from_ms, int64_t to_ms,
                            int64_t slack_ms, char *why, size_t n) {
    typedef struct {
        const char *key;
        int64_t t;
        int epoch;
    } event_time;
    event_time ev[4 + 3 * NL_BENCH_MAX_EPOCHS];
    size_t k = 0;
    ev[k++] = (event_time){"init_start", tl->init_start_ms, 0};
    ev[k++] = (event_time){"run_start", tl->run_start_ms, 0};
    ev[k++] = (event_time){"data_loaded", tl->data_loaded_ms, 0};
    ev[k++] = (event_time){"run_stop", tl->run_stop_ms, 0};
    for (int e = 0; e < NL_BENCH_MAX_EPOCHS; e++) {
        ev[k++] = (event_time){"epoch_start", tl->epoch_start_ms[e], e + 1};
        ev[k++] = (event_time){"epoch_stop", tl->epoch_stop_ms[e], e + 1};
        ev[k++] = (event_time){"eval_accuracy", tl->eval_ms[e], e + 1};
    }
    for (size_t i = 0; i < k; i++) {
        if (ev[i].t < 0) continue;
        if (ev[i].t < from_ms - slack_ms || ev[i].t > to_ms + slack_ms) {
            char ep[32] = "";
            if (ev[i].epoch) snprintf(ep, sizeof ep, " (epoch %d)", ev[i].epoch);
            snprintf(why, n,
                     "event %s%s at %+.3f s from the launch is outside the run (launch to exit: "
                     "0 to %.3f s)",
                     ev[i].key, ep, rel_s(ev[i].t, from_ms), rel_s(to_ms, from_ms));
            return -1;
        }
    }
    if (tl->run_start_ms >= 0 && tl->run_stop_ms >= 0 && tl->run_stop_ms < tl->run_start_ms) {
        snprintf(why, n, "event run_stop is %.3f s before run_start",
                 rel_s(tl->run_start_ms, tl->run_stop_ms));
        return -1;
    }
    return 0;
}
