/* A stand-in for libnvidia-ml.so.1: the NVML functions nnlab stats calls,
 * driven by environment variables read at each call, so tests exercise the
 * GPU code path on machines without a GPU (load it with NNLAB_NVML_LIB).
 *
 *   FAKE_NVML_INIT_FAIL=1        nvmlInit fails (driver not loaded)
 *   FAKE_NVML_DEVICES=N          number of GPUs (default 1; 0 = none)
 *   FAKE_NVML_UTIL=P             utilisation % of every GPU (default 42)
 *   FAKE_NVML_TOTAL_MIB=M        memory of every GPU (default 8192)
 *   FAKE_NVML_PIDS=pid:mib,...   compute processes on GPU 0
 *   FAKE_NVML_GRAPHICS_PIDS=...  graphics processes on GPU 0
 *   FAKE_NVML_GROW=1             add foreign processes at every call, so the
 *                                list is longer than the size just reported
 *   FAKE_NVML_FAIL_AFTER=N       utilisation queries fail (GPU lost) after N
 *   FAKE_NVML_PROCS_UNSUPPORTED=1  process queries return NOT_SUPPORTED
 *
 * fake_nvml_stats() reports how often the process queries were called and
 * how often they answered INSUFFICIENT_SIZE. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int nvmlReturn_t;
typedef struct nvmlDevice_st *nvmlDevice_t;
typedef struct {
    unsigned int gpu, memory;
} nvmlUtilization_t;
typedef struct {
    unsigned long long total, free, used;
} nvmlMemory_t;
typedef struct {
    unsigned int pid;
    unsigned long long usedGpuMemory;
    unsigned int gpuInstanceId, computeInstanceId;
} nvmlProcessInfo_t;
typedef struct {
    unsigned int pid;
    unsigned long long usedGpuMemory;
} nvmlProcessInfo_v1_t;

static long g_proc_calls, g_insufficient, g_util_calls, g_grow;

static long env_long(const char *name, long def) {
    const char *s = getenv(name);
    return s && *s ? strtol(s, NULL, 10) : def;
}

void fake_nvml_stats(long *proc_calls, long *insufficient, long *util_calls) {
    *proc_calls = g_proc_calls;
    *insufficient = g_insufficient;
    *util_calls = g_util_calls;
}

nvmlReturn_t nvmlInit_v2(void) {
    g_proc_calls = g_insufficient = g_util_calls = g_grow = 0;
    return env_long("FAKE_NVML_INIT_FAIL", 0) ? 9 /* DRIVER_NOT_LOADED */ : 0;
}
nvmlReturn_t nvmlInit(void) {
    return nvmlInit_v2();
}
nvmlReturn_t nvmlShutdown(void) {
    return 0;
}

const char *nvmlErrorString(nvmlReturn_t r) {
    switch (r) {
    case 0:
        return "Success";
    case 3:
        return "Not Supported";
    case 7:
        return "Insufficient Size";
    case 9:
        return "Driver Not Loaded";
    case 15:
        return "GPU is lost";
    default:
        return "Unknown Error";
    }
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *n) {
    *n = (unsigned)env_long("FAKE_NVML_DEVICES", 1);
    return 0;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int i, nvmlDevice_t *d) {
    if (i >= (unsigned)env_long("FAKE_NVML_DEVICES", 1)) return 2; /* INVALID_ARGUMENT */
    *d = (nvmlDevice_t)(uintptr_t)(i + 1);
    return 0;
}

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t d, char *name, unsigned int len) {
    snprintf(name, len, "Fake GPU %u", (unsigned)(uintptr_t)d - 1);
    return 0;
}

nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t d, nvmlUtilization_t *u) {
    (void)d;
    long fail_after = env_long("FAKE_NVML_FAIL_AFTER", -1);
    if (fail_after >= 0 && g_util_calls >= fail_after) return 15; /* GPU_IS_LOST */
    g_util_calls++;
    u->gpu = (unsigned)env_long("FAKE_NVML_UTIL", 42);
    u->memory = u->gpu / 2;
    return 0;
}

nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t d, nvmlMemory_t *m) {
    (void)d;
    m->total = (unsigned long long)env_long("FAKE_NVML_TOTAL_MIB", 8192) << 20;
    m->used = m->total / 4;
    m->free = m->total - m->used;
    return 0;
}

/* Fills the list for device d from the variable; returns NVML status. */
static nvmlReturn_t procs(const char *var, nvmlDevice_t d, unsigned int *count, void *out,
                          size_t esz) {
    g_proc_calls++;
    if (env_long("FAKE_NVML_PROCS_UNSUPPORTED", 0)) return 3;
    unsigned int pids[256];
    unsigned long long mem[256];
    unsigned int n = 0;
    const char *s = (uintptr_t)d == 1 ? getenv(var) : NULL;
    while (s && *s && n < 256) {
        char *e;
        pids[n] = (unsigned)strtoul(s, &e, 10);
        if (*e != ':') break;
        mem[n++] = strtoull(e + 1, &e, 10) << 20;
        s = *e == ',' ? e + 1 : e;
    }
    if (env_long("FAKE_NVML_GROW", 0)) {
        g_grow += 5; /* other users' processes keep arriving */
        for (long k = 0; k < g_grow && n < 256; k++) {
            pids[n] = 4000000u + (unsigned)k;
            mem[n++] = 64ull << 20;
        }
    }
    if (*count < n) {
        *count = n;
        g_insufficient++;
        return 7; /* INSUFFICIENT_SIZE */
    }
    for (unsigned int i = 0; i < n; i++) {
        if (esz == sizeof(nvmlProcessInfo_t)) {
            nvmlProcessInfo_t *p = (nvmlProcessInfo_t *)out + i;
            memset(p, 0, sizeof *p);
            p->pid = pids[i];
            p->usedGpuMemory = mem[i];
        } else {
            nvmlProcessInfo_v1_t *p = (nvmlProcessInfo_v1_t *)out + i;
            p->pid = pids[i];
            p->usedGpuMemory = mem[i];
        }
    }
    *count = n;
    return 0;
}

nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t d, unsigned int *c,
                                                     nvmlProcessInfo_t *p) {
    return procs("FAKE_NVML_PIDS", d, c, p, sizeof *p);
}
nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v2(nvmlDevice_t d, unsigned int *c,
                                                     nvmlProcessInfo_t *p) {
    return procs("FAKE_NVML_PIDS", d, c, p, sizeof *p);
}
nvmlReturn_t nvmlDeviceGetComputeRunningProcesses(nvmlDevice_t d, unsigned int *c,
                                                  nvmlProcessInfo_v1_t *p) {
    return procs("FAKE_NVML_PIDS", d, c, p, sizeof *p);
}
nvmlReturn_t nvmlDeviceGetGraphicsRunningProcesses_v3(nvmlDevice_t d, unsigned int *c,
                                                      nvmlProcessInfo_t *p) {
    return procs("FAKE_NVML_GRAPHICS_PIDS", d, c, p, sizeof *p);
}
