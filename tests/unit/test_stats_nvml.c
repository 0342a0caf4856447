/* nnlab stats GPU path, against the fake NVML library built beside the tests
 * (tests/fake_nvml): loading failures, per-process memory, utilisation, error
 * returns, a process list that grows between calls. */
#include <dlfcn.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "nnlab/stats.h"
#include "stats/stats_internal.h"

static char g_lib[PATH_MAX + 64];
static int g_member;

static int member(void *ud, int pid) {
    (void)ud;
    return pid == g_member;
}

static void clear_env(void) {
    static const char *const vars[] = {
        "FAKE_NVML_INIT_FAIL", "FAKE_NVML_DEVICES",    "FAKE_NVML_UTIL",
        "FAKE_NVML_TOTAL_MIB", "FAKE_NVML_PIDS",       "FAKE_NVML_GRAPHICS_PIDS",
        "FAKE_NVML_GROW",      "FAKE_NVML_FAIL_AFTER", "FAKE_NVML_PROCS_UNSUPPORTED"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) unsetenv(vars[i]);
}

static void setpids(const char *var, int pid, int mib, int other, int other_mib) {
    char buf[128];
    snprintf(buf, sizeof buf, "%d:%d,%d:%d", pid, mib, other, other_mib);
    setenv(var, buf, 1);
}

static void test_load_failures(void) {
    char note[256];
    CHECK(st_nvml_open("/nonexistent/libnvidia-ml.so.1", note, sizeof note) == NULL);
    CHECK_CONTAINS(note, "cannot load /nonexistent/libnvidia-ml.so.1");
    setenv("FAKE_NVML_INIT_FAIL", "1", 1);
    CHECK(st_nvml_open(g_lib, note, sizeof note) == NULL);
    CHECK_CONTAINS(note, "nvmlInit failed");
    CHECK_CONTAINS(note, "Driver Not Loaded");
    clear_env();
    setenv("FAKE_NVML_DEVICES", "0", 1);
    CHECK(st_nvml_open(g_lib, note, sizeof note) == NULL);
    CHECK_CONTAINS(note, "found no GPU");
    clear_env();
    /* NNLAB_NVML_LIB picks the library when no path is given */
    setenv("NNLAB_NVML_LIB", g_lib, 1);
    st_nvml *g = st_nvml_open(NULL, note, sizeof note);
    CHECK(g != NULL && note[0] == '\0');
    CHECK(st_nvml_count(g) == 1);
    CHECK(!strcmp(st_nvml_name(g), "Fake GPU 0"));
    CHECK_NEAR(st_nvml_total_mib(g), 8192, 1e-9);
    st_nvml_close(g);
    unsetenv("NNLAB_NVML_LIB");
}

static void test_readings(void) {
    char note[256], msg[256];
    double gpu, vram, pct;
    g_member = 4242;
    setpids("FAKE_NVML_PIDS", 4242, 512, 777, 256);
    setenv("FAKE_NVML_UTIL", "37", 1);
    st_nvml *g = st_nvml_open(g_lib, note, sizeof note);
    CHECK(g != NULL);
    if (!g) return;
    CHECK(st_nvml_sample(g, member, NULL, &gpu, &vram, &pct, msg, sizeof msg) == 0);
    CHECK_NEAR(gpu, 37, 1e-9);
    CHECK_NEAR(vram, 512, 1e-9); /* the other process's 256 MiB is not the tree's */
    CHECK_NEAR(pct, 100.0 * 512 / 8192, 1e-9);

    /* the same process with a graphics context too: counted once */
    setpids("FAKE_NVML_GRAPHICS_PIDS", 4242, 600, 778, 100);
    CHECK(st_nvml_sample(g, member, NULL, &gpu, &vram, &pct, msg, sizeof msg) == 0);
    CHECK_NEAR(vram, 600, 1e-9);
    unsetenv("FAKE_NVML_GRAPHICS_PIDS");

    /* no context of the tree on the GPU: 0 %, 0 MiB */
    g_member = 1;
    CHECK(st_nvml_sample(g, member, NULL, &gpu, &vram, &pct, msg, sizeof msg) == 0);
    CHECK(gpu == 0 && vram == 0 && pct == 0);
    g_member = 4242;

    /* the list grows between the size query and the fetch */
    setenv("FAKE_NVML_GROW", "1", 1);
    for (int i = 0; i < 5; i++) {
        CHECK(st_nvml_sample(g, member, NULL, &gpu, &vram, &pct, msg, sizeof msg) == 0);
        CHECK_NEAR(vram, 512, 1e-9);
    }
    void *h = dlopen(g_lib, RTLD_NOW | RTLD_NOLOAD);
    void (*stats)(long *, long *, long *) =
        h ? (void (*)(long *, long *, long *))dlsym(h, "fake_nvml_stats") : NULL;
    CHECK(stats != NULL);
    if (stats) {
        long calls = 0, insufficient = 0, util = 0;
        stats(&calls, &insufficient, &util);
        CHECK_MSG(insufficient >= 2, "INSUFFICIENT_SIZE answered %ld times in %ld calls",
                  insufficient, calls);
    }
    if (h) dlclose(h);
    unsetenv("FAKE_NVML_GROW");

    /* process queries unsupported: utilisation only */
    setenv("FAKE_NVML_PROCS_UNSUPPORTED", "1", 1);
    CHECK(st_nvml_sample(g, member, NULL, &gpu, &vram, &pct, msg, sizeof msg) == 0);
    CHECK(gpu == 0 && isnan(vram) && isnan(pct));
    unsetenv("FAKE_NVML_PROCS_UNSUPPORTED");

    /* the GPU falls off the bus */
    setenv("FAKE_NVML_FAIL_AFTER", "0", 1);
    CHECK(st_nvml_sample(g, member, NULL, &gpu, &vram, &pct, msg, sizeof msg) == -1);
    CHECK(isnan(gpu) && isnan(vram) && isnan(pct));
    CHECK_CONTAINS(msg, "GPU is lost");
    unsetenv("FAKE_NVML_FAIL_AFTER");
    st_nvml_close(g);
    clear_env();

    /* two GPUs, the tree on the first: % of that device only */
    setenv("FAKE_NVML_DEVICES", "2", 1);
    setenv("FAKE_NVML_TOTAL_MIB", "4096", 1);
    setpids("FAKE_NVML_PIDS", 4242, 1024, 777, 1);
    g = st_nvml_open(g_lib, note, sizeof note);
    CHECK(g && st_nvml_count(g) == 2);
    if (g) {
        CHECK_NEAR(st_nvml_total_mib(g), 8192, 1e-9);
        CHECK(st_nvml_sample(g, member, NULL, &gpu, &vram, &pct, msg, sizeof msg) == 0);
        CHECK_NEAR(vram, 1024, 1e-9);
        CHECK_NEAR(pct, 25.0, 1e-9);
        st_nvml_close(g);
    }
    clear_env();
}

/* Through the public API, watching a real child. */
static void test_public(void) {
    pid_t pid = fork();
    if (pid == 0) {
        sleep(5);
        _exit(0);
    }
    setpids("FAKE_NVML_PIDS", pid, 2048, 999999, 64);
    setenv("FAKE_NVML_UTIL", "88", 1);
    nl_stats *st = NULL;
    nl_error err = {0};
    nl_stats_opts o = {.pid = pid, .nvml_lib = g_lib};
    CHECK(nl_stats_open(&st, &o, &err) == NL_OK);
    if (st) {
        const nl_stats_info *in = nl_stats_get_info(st);
        CHECK(in->gpu_available && in->gpu_count == 1 && !in->gpu_note[0]);
        CHECK(!strcmp(in->gpu_name, "Fake GPU 0"));
        struct timespec ts = {0, 50000000};
        nanosleep(&ts, NULL);
        nl_stats_row r;
        CHECK(nl_stats_sample(st, &r, &err) == NL_OK);
        CHECK_NEAR(r.gpu_pct, 88, 1e-9);
        CHECK_NEAR(r.vram_mib, 2048, 1e-9);
        CHECK_NEAR(r.vram_pct, 25.0, 1e-9);
        char line[512];
        nl_stats_format_row(NL_STATS_CSV, &r, in, 0.1, line, sizeof line);
        CHECK_CONTAINS(line, ",88.0,2048.0,25.0,");
        /* GPU errors during the run: empty cells, counted, never an error */
        setenv("FAKE_NVML_FAIL_AFTER", "0", 1);
        CHECK(nl_stats_sample(st, &r, &err) == NL_OK);
        CHECK(isnan(r.gpu_pct) && isnan(r.vram_mib));
        CHECK(in->gpu_errors == 1);
        CHECK_CONTAINS(in->gpu_error, "GPU is lost");
        nl_stats_close(st);
    }
    clear_env();
    /* no library: empty GPU values and a note, not an error */
    o.nvml_lib = "/nonexistent/libnvidia-ml.so.1";
    CHECK(nl_stats_open(&st, &o, &err) == NL_OK);
    if (st) {
        const nl_stats_info *in = nl_stats_get_info(st);
        CHECK(!in->gpu_available);
        CHECK_CONTAINS(in->gpu_note, "cannot load");
        nl_stats_row r;
        CHECK(nl_stats_sample(st, &r, &err) == NL_OK);
        CHECK(isnan(r.gpu_pct) && isnan(r.vram_mib) && isnan(r.vram_pct));
        nl_stats_close(st);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

int main(void) {
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return 1;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash) *slash = '\0';
    snprintf(g_lib, sizeof g_lib, "%s/libnnlab_fake_nvml.so", exe);
    if (access(g_lib, R_OK) != 0) {
        fprintf(stderr, "fake NVML library not found at %s (built by cmake/stats.cmake)\n", g_lib);
        return 1;
    }
    clear_env();
    test_load_failures();
    test_readings();
    test_public();
    CHECK_DONE();
}
