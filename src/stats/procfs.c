/* /proc readers and parsers for the resource monitor. Parsing is separate
 * from reading so the unit tests can feed synthetic text. */
#include "stats/stats_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int st_parse_stat(const char *buf, st_pstat *out) {
    memset(out, 0, sizeof *out);
    char *end = NULL;
    long pid = strtol(buf, &end, 10);
    if (end == buf || pid <= 0 || *end != ' ' || end[1] != '(') return -1;
    const char *open = end + 1;
    const char *close = strrchr(open, ')');
    if (!close || close[1] != ' ') return -1;
    size_t clen = (size_t)(close - open - 1);
    if (clen >= sizeof out->comm) clen = sizeof out->comm - 1;
    memcpy(out->comm, open + 1, clen);
    out->comm[clen] = '\0';
    out->pid = (int)pid;
    const char *p = close + 2;
    if (!*p) return -1;
    out->state = *p++;
    /* Fields after the state, numbered as in proc(5): 4 ppid ... 52. */
    unsigned long long f[53] = {0};
    int field = 4;
    while (field <= 24) {
        while (*p == ' ') p++;
        if (!*p || *p == '\n') break;
        char *e = NULL;
        errno = 0;
        if (*p == '-') {
            long long v = strtoll(p, &e, 10);
            f[field] = (unsigned long long)v;
        } else {
            f[field] = strtoull(p, &e, 10);
        }
        if (e == p || errno) return -1;
        p = e;
        field++;
    }
    if (field <= 24) return -1; /* need at least up to rss */
    out->ppid = (int)f[4];
    out->utime = f[14];
    out->stime = f[15];
    out->cutime = (unsigned long long)((long long)f[16] < 0 ? 0 : f[16]);
    out->cstime = (unsigned long long)((long long)f[17] < 0 ? 0 : f[17]);
    out->minflt = f[10];
    out->cminflt = f[11];
    out->majflt = f[12];
    out->cmajflt = f[13];
    out->num_threads = (long)f[20];
    out->start = f[22];
    out->rss_pages = (long long)f[24];
    if (out->rss_pages < 0) out->rss_pages = 0;
    return 0;
}

static int field_u64(const char *buf, const char *key, uint64_t *out) {
    size_t klen = strlen(key);
    const char *p = buf;
    while (p && *p) {
        if (!strncmp(p, key, klen)) {
            const char *v = p + klen;
            while (*v == ' ' || *v == '\t') v++;
            char *e = NULL;
            errno = 0;
            unsigned long long x = strtoull(v, &e, 10);
            if (e == v || errno) return -1;
            *out = x;
            return 0;
        }
        p = strchr(p, '\n');
        if (p) p++;
    }
    return -1;
}

int st_parse_io(const char *buf, uint64_t *read_bytes, uint64_t *write_bytes) {
    if (field_u64(buf, "read_bytes:", read_bytes) || field_u64(buf, "write_bytes:", write_bytes))
        return -1;
    return 0;
}

int st_parse_ctxt(const char *buf, uint64_t *voluntary, uint64_t *involuntary) {
    if (field_u64(buf, "voluntary_ctxt_switches:", voluntary) ||
        field_u64(buf, "nonvoluntary_ctxt_switches:", involuntary))
        return -1;
    return 0;
}

int st_parse_pss(const char *buf, uint64_t *kib) {
    return field_u64(buf, "Pss:", kib);
}

int st_parse_cpu_line(const char *buf, uint64_t *busy, uint64_t *total) {
    if (strncmp(buf, "cpu ", 4) != 0) return -1;
    const char *p = buf + 4;
    uint64_t v[8] = {0};
    int n = 0;
    while (n < 8) {
        while (*p == ' ') p++;
        if (*p < '0' || *p > '9') break;
        char *e = NULL;
        v[n++] = strtoull(p, &e, 10);
        p = e;
    }
    if (n < 4) return -1;
    /* user nice system idle iowait irq softirq steal */
    uint64_t t = 0;
    for (int i = 0; i < n; i++) t += v[i];
    *total = t;
    *busy = t - v[3] - (n > 4 ? v[4] : 0);
    return 0;
}

int st_parse_meminfo(const char *buf, uint64_t *total_kib, uint64_t *avail_kib) {
    if (field_u64(buf, "MemTotal:", total_kib)) return -1;
    if (field_u64(buf, "MemAvailable:", avail_kib)) {
        /* Kernels before 3.14: free + buffers + cached is the usual estimate. */
        uint64_t fr = 0, bu = 0, ca = 0;
        if (field_u64(buf, "MemFree:", &fr)) return -1;
        field_u64(buf, "Buffers:", &bu);
        field_u64(buf, "Cached:", &ca);
        *avail_kib = fr + bu + ca;
    }
    return 0;
}

ssize_t st_pread_text(int fd, char *buf, size_t cap) {
    size_t got = 0;
    while (got + 1 < cap) {
        ssize_t r = pread(fd, buf + got, cap - 1 - got, (off_t)got);
        if (r < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (r == 0) break;
        got += (size_t)r;
        /* /proc files come whole from one read when the buffer is large
         * enough: a short read is the end (another pread would make the
         * kernel generate the file again, only to return nothing) */
        if ((size_t)r < cap - 1 - (got - (size_t)r)) break;
    }
    buf[got] = '\0';
    if (got == 0) {
        errno = ESRCH; /* /proc files of a dead process read as empty on some kernels */
        return -1;
    }
    return (ssize_t)got;
}

ssize_t st_read_text(const char *path, char *buf, size_t cap) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t r = st_pread_text(fd, buf, cap);
    int e = errno;
    close(fd);
    errno = e;
    return r;
}

int st_schedstat_ns(int pid, uint64_t *ns) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", pid);
    DIR *d = opendir(path);
    if (!d) return -1;
    uint64_t sum = 0;
    int any = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] < '0' || de->d_name[0] > '9') continue;
        char p2[320], buf[128];
        snprintf(p2, sizeof p2, "/proc/%d/task/%s/schedstat", pid, de->d_name);
        if (st_read_text(p2, buf, sizeof buf) < 0) continue; /* thread just exited */
        sum += strtoull(buf, NULL, 10);
        any = 1;
    }
    closedir(d);
    if (!any) return -1;
    *ns = sum;
    return 0;
}
