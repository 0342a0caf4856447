/* Internal pieces of the resource monitor (src/stats). Not installed; the unit
 * tests include it to exercise the parsers and the NVML layer directly. */
#ifndef NNLAB_STATS_INTERNAL_H
#define NNLAB_STATS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "nnlab/stats.h"

/* ---- /proc parsing (procfs.c) ------------------------------------------- */

/* Fields of /proc/PID/stat that the monitor uses. */
typedef struct st_pstat {
    int pid;
    char comm[64];
    char state; /* R, S, D, Z, X, ... */
    int ppid;
    unsigned long long utime; /* clock ticks */
    unsigned long long stime;
    unsigned long long cutime; /* reaped children, clock ticks */
    unsigned long long cstime;
    unsigned long long minflt, cminflt; /* page faults (own, reaped children's) */
    unsigned long long majflt, cmajflt;
    long num_threads;
    unsigned long long start; /* start time, clock ticks after boot */
    long long rss_pages;
} st_pstat;

/* Parses one /proc/PID/stat line (comm may hold spaces and parentheses: the
 * last ')' ends it). Returns 0, or -1 when the text is not a stat line. */
int st_parse_stat(const char *buf, st_pstat *out);

/* /proc/PID/io: read_bytes and write_bytes. Returns 0, or -1 when missing. */
int st_parse_io(const char *buf, uint64_t *read_bytes, uint64_t *write_bytes);

/* /proc/PID/status: voluntary_ctxt_switches and nonvoluntary_ctxt_switches
 * (of the main thread, as pidstat -w reports them). Returns 0 or -1. */
int st_parse_ctxt(const char *buf, uint64_t *voluntary, uint64_t *involuntary);

/* /proc/PID/smaps_rollup: the Pss line, in KiB. Returns 0 or -1. */
int st_parse_pss(const char *buf, uint64_t *kib);

/* First line of /proc/stat: busy and total jiffies (guest time is already in
 * user time and is not added twice). Returns 0 or -1. */
int st_parse_cpu_line(const char *buf, uint64_t *busy, uint64_t *total);

/* /proc/meminfo: MemTotal and MemAvailable in KiB. Returns 0 or -1. */
int st_parse_meminfo(const char *buf, uint64_t *total_kib, uint64_t *avail_kib);

/* Reads from offset 0 of an open /proc file into buf (NUL-terminated, at most
 * cap-1 bytes). Returns the length or -1 with errno (ESRCH: process gone). */
ssize_t st_pread_text(int fd, char *buf, size_t cap);

/* open + read + close. Returns the length or -1 with errno. */
ssize_t st_read_text(const char *path, char *buf, size_t cap);

/* Sum of the first field of /proc/PID/task/TID/schedstat over the live
 * threads, in ns. Returns 0 or -1. */
int st_schedstat_ns(int pid, uint64_t *ns);

/* Tests: called (when set) just before a new descendant's /proc/PID/io is
 * opened, to make it vanish at that moment. */
extern void (*st_test_before_io_open)(int pid);

/* Forces the CPU-time source for processes opened from now on (tests):
 * -1 automatic, 0 CPU clock, 1 schedstat, 2 stat ticks. */
void st_force_cpu_source(int src);

/* ---- the sampler (stats.c) ------------------------------------------------- */

/* Reads the watched process's name again (after it has exec'd). */
void st_stats_reread_comm(nl_stats *st);

/* The members other than the watched process that were alive at the last
 * sample: up to max PIDs and their start times (clock ticks after boot, as in
 * /proc/PID/stat). Returns how many were stored. */
size_t st_stats_others(const nl_stats *st, int *pid, unsigned long long *start, size_t max);

/* ---- NVML (nvml.c) --------------------------------------------------------- */

typedef struct st_nvml st_nvml;

/* Loads NVML from path (NULL: $NNLAB_NVML_LIB, else libnvidia-ml.so.1) and
 * initialises it. NULL when there is no usable GPU: note says why. */
st_nvml *st_nvml_open(const char *path, char *note, size_t note_len);
int st_nvml_count(const st_nvml *g);
const char *st_nvml_name(const st_nvml *g);
double st_nvml_total_mib(const st_nvml *g);

/* Membership test for the processes NVML reports. */
typedef int (*st_member_fn)(void *ud, int pid);

/* One GPU reading for the tree: utilisation of the devices where a member
 * has a context (0 when none), memory used by members (MiB) and its share of
 * those devices' memory (of all devices when none). Returns 0, or -1 with a
 * message in errbuf (values NAN) when NVML failed. vram values are NAN (and 0
 * returned) when the driver cannot list processes. */
int st_nvml_sample(st_nvml *g, st_member_fn member, void *ud, double *gpu_pct, double *vram_mib,
                   double *vram_pct, char *errbuf, size_t errlen);
void st_nvml_close(st_nvml *g);

/* ---- gnuplot (gnuplot.c) --------------------------------------------------- */

/* Runs gnuplot (found on PATH, no shell) with the script on its stdin, in
 * directory dir (NULL: this one; made absolute first). Returns 0 when it
 * succeeded, 1 when gnuplot is not installed, -1 when it failed; msg says why
 * (gnuplot's last message). */
int st_gnuplot(const char *dir, const char *script, size_t len, char *msg, size_t msgn);

/* ---- formatting helpers (format.c) ---------------------------------------- */

/* Fixed-point number with `dec` decimals and the given decimal point,
 * independent of the locale. Returns characters written (NUL added). */
int st_fmt_fixed(char *buf, size_t n, double v, int dec, char point);

/* The study's number style: rounded to at most maxdec decimals, trailing
 * zeros dropped but one decimal kept ("0,1", "14,4049", "4,0"). */
int st_fmt_study(char *buf, size_t n, double v, int maxdec);

#endif
