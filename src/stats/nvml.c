/* NVIDIA GPU readings through NVML, loaded at run time with dlopen: no
 * build-time dependency on the driver. Only the few types and functions used
 * are declared here, with the layouts of nvml.h. */
#include "stats/stats_internal.h"

#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int nvmlReturn_t;
typedef struct nvmlDevice_st *nvmlDevice_t;

enum {
    NVML_SUCCESS = 0,
    NVML_ERROR_NOT_SUPPORTED = 3,
    NVML_ERROR_NO_PERMISSION = 4,
    NVML_ERROR_INSUFFICIENT_SIZE = 7,
};
#define NVML_VALUE_NOT_AVAILABLE 0xFFFFFFFFFFFFFFFFull

typedef struct {
    unsigned int gpu;    /* % of time a kernel ran, last sample period */
    unsigned int memory; /* % of time device memory was read or written */
} nvmlUtilization_t;

typedef struct {
    unsigned long long total, free, used; /* bytes */
} nvmlMemory_t;

/* nvmlProcessInfo_t as taken by the _v2 and _v3 process queries. */
typedef struct {
    unsigned int pid;
    unsigned long long usedGpuMemory; /* bytes, or NVML_VALUE_NOT_AVAILABLE */
    unsigned int gpuInstanceId;
    unsigned int computeInstanceId;
} nvmlProcessInfo_v2_t;

/* The original nvmlProcessInfo_t (unversioned query). */
typedef struct {
    unsigned int pid;
    unsigned long long usedGpuMemory;
} nvmlProcessInfo_v1_t;

typedef nvmlReturn_t (*fn_void)(void);
typedef nvmlReturn_t (*fn_count)(unsigned int *);
typedef nvmlReturn_t (*fn_handle)(unsigned int, nvmlDevice_t *);
typedef nvmlReturn_t (*fn_name)(nvmlDevice_t, char *, unsigned int);
typedef nvmlReturn_t (*fn_util)(nvmlDevice_t, nvmlUtilization_t *);
typedef nvmlReturn_t (*fn_mem)(nvmlDevice_t, nvmlMemory_t *);
typedef nvmlReturn_t (*fn_procs)(nvmlDevice_t, unsigned int *, void *);
typedef const char *(*fn_errstr)(nvmlReturn_t);

enum { MAX_DEV = 64, MAX_SEEN = 256 };

struct st_nvml {
    void *lib;
    fn_void shutdown;
    fn_util util;
    fn_mem mem;
    fn_errstr errstr;
    fn_procs procs[2]; /* compute, graphics */
    int procs_v1[2];   /* 1 when the query takes nvmlProcessInfo_v1_t */
    int ndev;
    nvmlDevice_t dev[MAX_DEV];
    double dev_total_mib[MAX_DEV];
    double total_mib;
    char name[96];
    /* process list buffer, grown as the driver asks */
    unsigned char *buf;
    unsigned int cap; /* entries */
    /* per-device scratch for one sample */
    double used_mib[MAX_DEV];
    int used[MAX_DEV];
    unsigned int seen_pid[MAX_SEEN]; /* members listed on the current device */
    double seen_mib[MAX_SEEN];
    int nseen;
};

static const char *errname(const st_nvml *g, nvmlReturn_t r) {
    if (g && g->errstr) {
        const char *s = g->errstr(r);
        if (s) return s;
    }
    return "NVML error";
}

static void *sym(void *lib, const char *a, const char *b) {
    void *p = dlsym(lib, a);
    if (!p && b) p = dlsym(lib, b);
    return p;
}

st_nvml *st_nvml_open(const char *path, char *note, size_t note_len) {
    if (!path) path = getenv("NNLAB_NVML_LIB");
    if (!path || !*path) path = "libnvidia-ml.so.1";
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char *e = dlerror();
        snprintf(note, note_len, "no NVIDIA GPU monitoring: cannot load %s (%s)", path,
                 e ? e : "unknown reason");
        return NULL;
    }
    st_nvml *g = calloc(1, sizeof *g);
    if (!g) {
        dlclose(lib);
        snprintf(note, note_len, "no GPU monitoring: out of memory");
        return NULL;
    }
    g->lib = lib;
    fn_void init = (fn_void)sym(lib, "nvmlInit_v2", "nvmlInit");
    g->shutdown = (fn_void)sym(lib, "nvmlShutdown", NULL);
    fn_count count = (fn_count)sym(lib, "nvmlDeviceGetCount_v2", "nvmlDeviceGetCount");
    fn_handle handle =
        (fn_handle)sym(lib, "nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetHandleByIndex");
    fn_name getname = (fn_name)sym(lib, "nvmlDeviceGetName", NULL);
    g->util = (fn_util)sym(lib, "nvmlDeviceGetUtilizationRates", NULL);
    g->mem = (fn_mem)sym(lib, "nvmlDeviceGetMemoryInfo", NULL);
    g->errstr = (fn_errstr)sym(lib, "nvmlErrorString", NULL);
    static const char *const qn[2][3] = {
        {"nvmlDeviceGetComputeRunningProcesses_v3", "nvmlDeviceGetComputeRunningProcesses_v2",
         "nvmlDeviceGetComputeRunningProcesses"},
        {"nvmlDeviceGetGraphicsRunningProcesses_v3", "nvmlDeviceGetGraphicsRunningProcesses_v2",
         "nvmlDeviceGetGraphicsRunningProcesses"}};
    for (int k = 0; k < 2; k++) {
        for (int v = 0; v < 3 && !g->procs[k]; v++) {
            g->procs[k] = (fn_procs)dlsym(lib, qn[k][v]);
            g->procs_v1[k] = (v == 2);
        }
    }
    if (!init || !count || !handle || !g->util || !g->mem) {
        snprintf(note, note_len, "no NVIDIA GPU monitoring: %s lacks the NVML functions used",
                 path);
        dlclose(lib);
        free(g);
        return NULL;
    }
    nvmlReturn_t r = init();
    if (r != NVML_SUCCESS) {
        snprintf(note, note_len, "no NVIDIA GPU monitoring: nvmlInit failed: %s (%d)",
                 errname(g, r), r);
        dlclose(lib);
        free(g);
        return NULL;
    }
    unsigned int n = 0;
    r = count(&n);
    if (r != NVML_SUCCESS || n == 0) {
        if (r != NVML_SUCCESS)
            snprintf(note, note_len, "no NVIDIA GPU monitoring: nvmlDeviceGetCount failed: %s (%d)",
                     errname(g, r), r);
        else
            snprintf(note, note_len, "no NVIDIA GPU monitoring: NVML found no GPU");
        st_nvml_close(g);
        return NULL;
    }
    if (n > MAX_DEV) n = MAX_DEV;
    for (unsigned int i = 0; i < n; i++) {
        nvmlDevice_t d = NULL;
        r = handle(i, &d);
        if (r != NVML_SUCCESS) continue; /* e.g. no permission for this one */
        nvmlMemory_t m;
        double total = 0;
        if (g->mem(d, &m) == NVML_SUCCESS) total = (double)m.total / (1024.0 * 1024.0);
        g->dev_total_mib[g->ndev] = total;
        g->total_mib += total;
        g->dev[g->ndev++] = d;
        if (g->ndev == 1 && getname && getname(d, g->name, sizeof g->name) != NVML_SUCCESS)
            g->name[0] = '\0';
        g->name[sizeof g->name - 1] = '\0';
    }
    if (g->ndev == 0) {
        snprintf(note, note_len, "no NVIDIA GPU monitoring: no GPU handle could be obtained");
        st_nvml_close(g);
        return NULL;
    }
    g->cap = 16;
    g->buf = malloc((size_t)g->cap * sizeof(nvmlProcessInfo_v2_t));
    if (!g->buf) {
        snprintf(note, note_len, "no GPU monitoring: out of memory");
        st_nvml_close(g);
        return NULL;
    }
    if (note_len) note[0] = '\0';
    return g;
}

int st_nvml_count(const st_nvml *g) {
    return g ? g->ndev : 0;
}
const char *st_nvml_name(const st_nvml *g) {
    return g ? g->name : "";
}
double st_nvml_total_mib(const st_nvml *g) {
    return g ? g->total_mib : 0;
}

/* Adds the members' memory on device i from one process query. Returns NVML
 * status. The list may grow between the size query and the fetch: retry. */
static nvmlReturn_t add_procs(st_nvml *g, int i, int k, st_member_fn member, void *ud) {
    if (!g->procs[k]) return NVML_ERROR_NOT_SUPPORTED;
    size_t esz = g->procs_v1[k] ? sizeof(nvmlProcessInfo_v1_t) : sizeof(nvmlProcessInfo_v2_t);
    nvmlReturn_t r = NVML_SUCCESS;
    unsigned int n = 0;
    for (int attempt = 0; attempt < 8; attempt++) {
        n = g->cap;
        r = g->procs[k](g->dev[i], &n, g->buf);
        if (r != NVML_ERROR_INSUFFICIENT_SIZE) break;
        unsigned int want = (n > g->cap ? n : g->cap) * 2 + 8;
        if (want > 1u << 20) return r;
        unsigned char *nb = realloc(g->buf, (size_t)want * sizeof(nvmlProcessInfo_v2_t));
        if (!nb) return r;
        g->buf = nb;
        g->cap = want;
    }
    if (r != NVML_SUCCESS) return r;
    if (n > g->cap) n = g->cap;
    for (unsigned int j = 0; j < n; j++) {
        const unsigned char *e = g->buf + (size_t)j * esz;
        unsigned int pid;
        unsigned long long used;
        if (g->procs_v1[k]) {
            const nvmlProcessInfo_v1_t *p = (const nvmlProcessInfo_v1_t *)(const void *)e;
            pid = p->pid;
            used = p->usedGpuMemory;
        } else {
            const nvmlProcessInfo_v2_t *p = (const nvmlProcessInfo_v2_t *)(const void *)e;
            pid = p->pid;
            used = p->usedGpuMemory;
        }
        if (!member(ud, (int)pid)) continue;
        g->used[i] = 1;
        if (used == NVML_VALUE_NOT_AVAILABLE) continue;
        double mib = (double)used / (1024.0 * 1024.0);
        /* A process with compute and graphics contexts is listed by both
         * queries with the same memory: count each pid once, the larger. */
        int s = 0;
        while (s < g->nseen && g->seen_pid[s] != pid) s++;
        if (s < g->nseen) {
            if (mib > g->seen_mib[s]) g->seen_mib[s] = mib;
        } else if (g->nseen < MAX_SEEN) {
            g->seen_pid[g->nseen] = pid;
            g->seen_mib[g->nseen++] = mib;
        }
    }
    return NVML_SUCCESS;
}

int st_nvml_sample(st_nvml *g, st_member_fn member, void *ud, double *gpu_pct, double *vram_mib,
                   double *vram_pct, char *errbuf, size_t errlen) {
    *gpu_pct = *vram_mib = *vram_pct = NAN;
    if (!g) return -1;
    double util_sum = 0, mem_sum = 0, tot_sum = 0;
    int nused = 0, procs_ok = 0;
    for (int i = 0; i < g->ndev; i++) {
        nvmlUtilization_t u;
        nvmlReturn_t r = g->util(g->dev[i], &u);
        if (r != NVML_SUCCESS) {
            snprintf(errbuf, errlen, "nvmlDeviceGetUtilizationRates(GPU %d): %s (%d)", i,
                     errname(g, r), r);
            return -1;
        }
        g->used[i] = 0;
        g->nseen = 0;
        int any_ok = 0;
        for (int k = 0; k < 2; k++) {
            nvmlReturn_t rp = add_procs(g, i, k, member, ud);
            if (rp == NVML_SUCCESS) {
                any_ok = 1;
            } else if (rp != NVML_ERROR_NOT_SUPPORTED && rp != NVML_ERROR_NO_PERMISSION) {
                snprintf(errbuf, errlen, "nvmlDevice%sRunningProcesses(GPU %d): %s (%d)",
                         k ? "GetGraphics" : "GetCompute", i, errname(g, rp), rp);
                return -1;
            }
        }
        g->used_mib[i] = 0;
        for (int s = 0; s < g->nseen; s++) g->used_mib[i] += g->seen_mib[s];
        procs_ok |= any_ok;
        if (g->used[i]) {
            nused++;
            util_sum += u.gpu;
            mem_sum += g->used_mib[i];
            tot_sum += g->dev_total_mib[i];
        }
    }
    *gpu_pct = nused ? util_sum / nused : 0.0;
    if (procs_ok) {
        *vram_mib = mem_sum;
        double denom = nused ? tot_sum : g->total_mib;
        *vram_pct = denom > 0 ? 100.0 * mem_sum / denom : NAN;
    }
    return 0;
}

void st_nvml_close(st_nvml *g) {
    if (!g) return;
    if (g->shutdown) g->shutdown();
    if (g->lib) dlclose(g->lib);
    free(g->buf);
    free(g);
}
