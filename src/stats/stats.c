/* The resource monitor's sampler: process-tree discovery, per-process
 * counters, CPU accounting across exiting children, machine and GPU figures.
 *
 * Accounting. Each member p has two CPU counters, its own CPU time S(p)
 * (nanosecond CPU clock) and the CPU time of the children it has reaped R(p)
 * (cutime + cstime of /proc/PID/stat), and an I/O counter that, in the
 * kernel, already includes reaped children. A sample adds, for every member,
 * how much each counter grew since the previous sample. When a member c
 * disappears, its parent q's R (or I/O) will grow by c's final totals, of
 * which c's last reading was already counted: that last reading becomes a
 * debt of q, paid from q's next R (I/O) growth, so only the part of c's life
 * not seen before (its last interval, or the whole life of a child that
 * lived between two samples) is added. Members are read parents first
 * (the order they were found in), which keeps a child's exit from being seen
 * in its parent's R before it is seen missing. Debts that nothing pays within
 * a few samples (a child reaped by someone else) are dropped. */
#include "nnlab/stats.h"
#include "nnlab/core.h"
#include "stats/stats_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { SRC_CLOCK = 0, SRC_SCHEDSTAT = 1, SRC_TICKS = 2 };
static const char *const src_names[] = {"clock", "schedstat", "stat ticks"};
static int g_force_src = -1;
void (*st_test_before_io_open)(int pid);
void st_force_cpu_source(int src) {
    g_force_src = src;
}

enum { DEBT_MAX_AGE = 3, FULL_SCAN_EVERY = 50 };
/* Counters of /proc/PID/stat kept like the CPU time: own + reaped children's,
 * a vanished member's last reading owed by its parent. */
enum { X_UTIME, X_STIME, X_MINFLT, X_MAJFLT, X_N };
#define MIB (1024.0 * 1024.0)

typedef struct proc {
    int pid, ppid;
    unsigned long long start;
    int fd_stat, fd_io, fd_smaps, fd_status;
    int src;
    clockid_t clk;
    int io_ok;
    int zombie, gone, root;
    long threads;
    uint64_t mem_bytes;
    /* counted so far (or the baseline) */
    uint64_t self_ns, reaped_ns, io[2];
    /* this sample's reading */
    uint64_t c_self, c_reaped, c_io[2];
    /* left by children that disappeared */
    uint64_t debt_reaped, debt_io[2];
    int debt_age;
    /* the other counters: counted so far, this sample's reading, owed */
    uint64_t x_self[X_N], x_reaped[X_N], xc_self[X_N], xc_reaped[X_N], x_debt[X_N];
    uint64_t cs[2], c_cs[2]; /* context switches (voluntary, involuntary) */
} proc;

/* pid -> value, open addressing; pid 0 marks an empty slot; no deletion. */
typedef struct pmap {
    int *key;
    uint64_t *val;
    size_t cap, n;
} pmap;

struct nl_stats {
    nl_stats_info info;
    unsigned flags;
    int self_pid;
    long page_size;
    double ns_per_tick;
    unsigned long long open_ticks;
    proc *p;
    size_t np, capp;
    pmap tracked, seen, seen_new;
    long scans;
    int fd_cpu, fd_mem, fd_loadavg;
    long last_pid[2]; /* /proc/loadavg's last PID at the last two samples */
    long quiet_scans; /* listings skipped */
    uint64_t sys_busy, sys_total;
    double t_prev;
    long index;
    double counted_ns, carry_ns;
    double io_total[2];
    st_nvml *gpu;
    int root_alive;
};

/* ---- pid map ----------------------------------------------------------------- */

static void pmap_reset(pmap *m) {
    if (m->key) memset(m->key, 0, m->cap * sizeof *m->key);
    m->n = 0;
}

static void pmap_free(pmap *m) {
    free(m->key);
    free(m->val);
    memset(m, 0, sizeof *m);
}

static size_t pmap_slot(const pmap *m, int key) {
    size_t h = (size_t)(unsigned)key * 2654435761u;
    return h & (m->cap - 1);
}

static uint64_t *pmap_get(const pmap *m, int key) {
    if (!m->cap) return NULL;
    for (size_t i = pmap_slot(m, key);; i = (i + 1) & (m->cap - 1)) {
        if (m->key[i] == key) return &m->val[i];
        if (m->key[i] == 0) return NULL;
    }
}

static int pmap_put(pmap *m, int key, uint64_t val) {
    if ((m->n + 1) * 2 > m->cap) {
        size_t ncap = m->cap ? m->cap * 2 : 256;
        pmap nm = {calloc(ncap, sizeof(int)), calloc(ncap, sizeof(uint64_t)), ncap, 0};
        if (!nm.key || !nm.val) {
            free(nm.key);
            free(nm.val);
            return -1;
        }
        for (size_t i = 0; i < m->cap; i++)
            if (m->key[i]) pmap_put(&nm, m->key[i], m->val[i]);
        pmap_free(m);
        *m = nm;
    }
    size_t i = pmap_slot(m, key);
    while (m->key[i] != 0 && m->key[i] != key) i = (i + 1) & (m->cap - 1);
    if (m->key[i] == 0) m->n++;
    m->key[i] = key;
    m->val[i] = val;
    return 0;
}

/* ---- one process ------------------------------------------------------------- */

static void proc_close(proc *p) {
    if (p->fd_stat >= 0) close(p->fd_stat);
    if (p->fd_io >= 0) close(p->fd_io);
    if (p->fd_smaps >= 0) close(p->fd_smaps);
    if (p->fd_status >= 0) close(p->fd_status);
    p->fd_stat = p->fd_io = p->fd_smaps = p->fd_status = -1;
}

/* Reads one member. Returns 0, or -1 when it has gone. The CPU clock is read
 * before the stat descriptor: when the latter still answers, the process was
 * alive at the clock read, so the clock (looked up by PID) was its own. */
static int proc_read(nl_stats *st, proc *p) {
    char buf[1024];
    uint64_t clk_ns = 0;
    int have_clk = 0;
    if (p->src == SRC_CLOCK) {
        struct timespec ts;
        if (clock_gettime(p->clk, &ts) == 0) {
            clk_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
            have_clk = 1;
        }
    }
    if (st_pread_text(p->fd_stat, buf, sizeof buf) < 0) return -1;
    st_pstat ps;
    if (st_parse_stat(buf, &ps) != 0 || ps.start != p->start) return -1;
    p->ppid = ps.ppid;
    p->zombie = (ps.state == 'Z' || ps.state == 'X');
    p->threads = p->zombie ? 0 : ps.num_threads;
    uint64_t ticks_ns = (uint64_t)((double)(ps.utime + ps.stime) * st->ns_per_tick);
    uint64_t self = ticks_ns;
    if (have_clk) {
        self = clk_ns;
    } else if (p->src == SRC_SCHEDSTAT && !p->zombie) {
        /* live threads only: the ticks total includes threads that exited */
        uint64_t s = 0;
        if (st_schedstat_ns(p->pid, &s) == 0 && s > self) self = s;
    }
    p->c_self = self;
    p->c_reaped = (uint64_t)((double)(ps.cutime + ps.cstime) * st->ns_per_tick);
    p->xc_self[X_UTIME] = ps.utime, p->xc_reaped[X_UTIME] = ps.cutime;
    p->xc_self[X_STIME] = ps.stime, p->xc_reaped[X_STIME] = ps.cstime;
    p->xc_self[X_MINFLT] = ps.minflt, p->xc_reaped[X_MINFLT] = ps.cminflt;
    p->xc_self[X_MAJFLT] = ps.majflt, p->xc_reaped[X_MAJFLT] = ps.cmajflt;
    p->c_cs[0] = p->cs[0], p->c_cs[1] = p->cs[1];
    if (p->fd_status >= 0 && !p->zombie) {
        char sb[4096];
        uint64_t v, iv;
        if (st_pread_text(p->fd_status, sb, sizeof sb) >= 0 && st_parse_ctxt(sb, &v, &iv) == 0)
            p->c_cs[0] = v, p->c_cs[1] = iv;
    }
    p->mem_bytes = p->zombie ? 0 : (uint64_t)ps.rss_pages * (uint64_t)st->page_size;
    if (p->fd_smaps >= 0 && !p->zombie) {
        char sb[2048];
        uint64_t kib;
        if (st_pread_text(p->fd_smaps, sb, sizeof sb) >= 0 && st_parse_pss(sb, &kib) == 0)
            p->mem_bytes = kib * 1024u;
    }
    if (p->io_ok) {
        char ib[512];
        uint64_t r = 0, w = 0;
        if (st_pread_text(p->fd_io, ib, sizeof ib) >= 0 && st_parse_io(ib, &r, &w) == 0) {
            p->c_io[0] = r;
            p->c_io[1] = w;
        } else {
            p->c_io[0] = p->io[0];
            p->c_io[1] = p->io[1];
        }
    }
    return 0;
}

/* 1 when the process behind p->fd_stat is still running (not a zombie). */
static int proc_alive(const proc *p) {
    char buf[1024];
    st_pstat ps;
    int e = errno;
    int alive = st_pread_text(p->fd_stat, buf, sizeof buf) >= 0 && st_parse_stat(buf, &ps) == 0 &&
                ps.start == p->start && ps.state != 'Z' && ps.state != 'X';
    errno = e;
    return alive;
}

static void set_baseline(proc *p, int from_zero) {
    if (from_zero) {
        p->self_ns = p->reaped_ns = 0;
        p->io[0] = p->io[1] = 0;
        memset(p->x_self, 0, sizeof p->x_self);
        memset(p->x_reaped, 0, sizeof p->x_reaped);
        p->cs[0] = p->cs[1] = 0;
    } else {
        p->self_ns = p->c_self;
        p->reaped_ns = p->c_reaped;
        p->io[0] = p->c_io[0];
        p->io[1] = p->c_io[1];
        memcpy(p->x_self, p->xc_self, sizeof p->x_self);
        memcpy(p->x_reaped, p->xc_reaped, sizeof p->x_reaped);
        p->cs[0] = p->c_cs[0], p->cs[1] = p->c_cs[1];
    }
}

/* Opens a new member whose /proc/PID/stat said `start`. Returns 0, 1 when it
 * vanished meanwhile, -1 with err set on a hard error (root only). */
static int proc_add(nl_stats *st, int pid, unsigned long long start, int is_root, int from_zero,
                    nl_error *err) {
    if (st->np == st->capp) {
        size_t nc = st->capp ? st->capp * 2 : 16;
        proc *np = realloc(st->p, nc * sizeof *np);
        if (!np) return nl_error_set(err, NL_ENOMEM, "out of memory tracking processes"), -1;
        st->p = np;
        st->capp = nc;
    }
    proc *p = &st->p[st->np];
    memset(p, 0, sizeof *p);
    p->pid = pid;
    p->start = start;
    p->root = is_root;
    p->fd_io = p->fd_smaps = p->fd_status = -1;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    p->fd_stat = open(path, O_RDONLY | O_CLOEXEC);
    if (p->fd_stat < 0) {
        if (is_root) {
            int e = errno;
            if (e == ENOENT || e == ESRCH)
                nl_error_set(err, NL_ENOTFOUND, "no process with PID %d", pid);
            else
                nl_error_set(err, NL_EIO, "cannot read %s: %s", path, strerror(e));
            return -1;
        }
        return 1;
    }
    /* CPU time source */
    int src = g_force_src;
    if (src < 0 || src > SRC_TICKS) {
        src = SRC_TICKS;
        struct timespec ts;
        if (clock_getcpuclockid(pid, &p->clk) == 0 && clock_gettime(p->clk, &ts) == 0) {
            src = SRC_CLOCK;
        } else {
            uint64_t ns;
            if (st_schedstat_ns(pid, &ns) == 0) src = SRC_SCHEDSTAT;
        }
    } else if (src == SRC_CLOCK && clock_getcpuclockid(pid, &p->clk) != 0) {
        src = SRC_TICKS;
    }
    p->src = src;
    snprintf(path, sizeof path, "/proc/%d/status", pid); /* context switches (optional) */
    p->fd_status = open(path, O_RDONLY | O_CLOEXEC);
    /* I/O counters: need ptrace-read permission (own processes, or root) */
    if (st_test_before_io_open && !is_root) st_test_before_io_open(pid);
    snprintf(path, sizeof path, "/proc/%d/io", pid);
    p->fd_io = open(path, O_RDONLY | O_CLOEXEC);
    if (p->fd_io >= 0) {
        p->io_ok = 1;
    } else if (errno == ENOENT || errno == ESRCH || !proc_alive(p)) {
        /* gone (or a zombie) already: only its own reading is lost */
    } else if (st->info.io_available) {
        st->info.io_available = 0;
        snprintf(st->info.io_note, sizeof st->info.io_note,
                 "read/write columns are empty: cannot read /proc/%d/io: %s%s", pid,
                 strerror(errno),
                 errno == EACCES ? " (another user's process: run as that user or as root)" : "");
    }
    if (st->flags & NL_STATS_PSS) {
        snprintf(path, sizeof path, "/proc/%d/smaps_rollup", pid);
        p->fd_smaps = open(path, O_RDONLY | O_CLOEXEC);
        int e = errno;
        char sb[2048];
        uint64_t kib;
        if (p->fd_smaps >= 0 &&
            (st_pread_text(p->fd_smaps, sb, sizeof sb) < 0 || st_parse_pss(sb, &kib) != 0)) {
            e = errno ? errno : EINVAL;
            close(p->fd_smaps);
            p->fd_smaps = -1;
        }
        int exited_root = 0;
        if (p->fd_smaps < 0 && is_root && (st->flags & NL_STATS_FROM_START)) {
            /* a command that has already exited has no smaps_rollup left */
            char sbuf[1024];
            st_pstat zs;
            exited_root = st_pread_text(p->fd_stat, sbuf, sizeof sbuf) >= 0 &&
                          st_parse_stat(sbuf, &zs) == 0 && (zs.state == 'Z' || zs.state == 'X');
        }
        if (p->fd_smaps < 0 && !exited_root) {
            if (is_root) {
                nl_error_set(err, e == ESRCH ? NL_ENOTFOUND : NL_EIO,
                             "cannot read %s for --pss: %s%s", path, strerror(e),
                             e == EACCES ? " (another user's process: run as that user or as "
                                           "root, or measure RSS without --pss)"
                                         : "");
                proc_close(p);
                return -1;
            }
            if (!st->info.mem_note[0])
                snprintf(st->info.mem_note, sizeof st->info.mem_note,
                         "PSS of PID %d unreadable (%s): its RSS is counted instead", pid,
                         strerror(e));
        }
    }
    /* the descriptors were opened while the process lived: check it still does */
    if (proc_read(st, p) != 0) {
        if (is_root) nl_error_set(err, NL_ENOTFOUND, "process %d exited while being opened", pid);
        proc_close(p);
        return is_root ? -1 : 1;
    }
    if (is_root && p->zombie && !(st->flags & NL_STATS_FROM_START)) {
        nl_error_set(err, NL_ENOTFOUND, "process %d has already exited (zombie)", pid);
        proc_close(p);
        return -1;
    }
    set_baseline(p, from_zero);
    st->np++;
    return 0;
}

/* ---- discovery ----------------------------------------------------------------- */

typedef struct cand {
    int pid, ppid;
    unsigned long long start;
    int taken;
} cand;

static int all_digits(const char *s) {
    if (!*s) return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9') return 0;
    return 1;
}

static int rebuild_tracked(nl_stats *st) {
    pmap_reset(&st->tracked);
    for (size_t i = 0; i < st->np; i++)
        if (pmap_put(&st->tracked, st->p[i].pid, (uint64_t)i + 1) != 0) return -1;
    return 0;
}

/* The last PID the kernel handed out (5th field of /proc/loadavg), -1 if
 * unknown. Unchanged means no process or thread was created since. */
static long last_pid(nl_stats *st) {
    char buf[128];
    if (st->fd_loadavg < 0 || st_pread_text(st->fd_loadavg, buf, sizeof buf) < 0) return -1;
    const char *p = strrchr(buf, ' ');
    return p ? strtol(p + 1, NULL, 10) : -1;
}

/* Finds processes whose parent is a member. Listing /proc is the costly
 * part of a sample, so it is skipped while no PID has been handed out since
 * the sample before the previous one (the extra sample covers a process
 * whose PID was taken just before a listing it did not yet appear in). Of the
 * listing, only entries not seen before (by PID and inode: a reused PID gets
 * a new inode) are read; every FULL_SCAN_EVERY listings all are. */
static nl_status discover(nl_stats *st, int initial, nl_error *err) {
    if (rebuild_tracked(st) != 0) return nl_error_set(err, NL_ENOMEM, "out of memory");
    long lp = last_pid(st);
    int quiet = !initial && lp >= 0 && lp == st->last_pid[0] && lp == st->last_pid[1];
    st->last_pid[1] = st->last_pid[0];
    st->last_pid[0] = lp;
    if (quiet && ++st->quiet_scans % FULL_SCAN_EVERY != 0) return NL_OK;
    DIR *d = opendir("/proc");
    if (!d) return nl_error_set(err, NL_EIO, "cannot list /proc: %s", strerror(errno));
    int full = (st->scans++ % FULL_SCAN_EVERY) == 0;
    pmap_reset(&st->seen_new);
    cand *c = NULL;
    size_t nc = 0, cc = 0;
    nl_status rc = NL_OK;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!all_digits(de->d_name)) continue;
        int pid = atoi(de->d_name);
        if (pid <= 0 || pid == st->self_pid) continue;
        if (pmap_get(&st->tracked, pid)) continue;
        uint64_t ino = (uint64_t)de->d_ino;
        if (pmap_put(&st->seen_new, pid, ino) != 0) {
            rc = nl_error_set(err, NL_ENOMEM, "out of memory");
            break;
        }
        if (!full) {
            uint64_t *old = pmap_get(&st->seen, pid);
            if (old && *old == ino) continue;
        }
        char path[64], buf[1024];
        snprintf(path, sizeof path, "/proc/%d/stat", pid);
        st_pstat ps;
        if (st_read_text(path, buf, sizeof buf) < 0 || st_parse_stat(buf, &ps) != 0) continue;
        if (ps.ppid <= 0) continue;
        if (nc == cc) {
            size_t ncap = cc ? cc * 2 : 64;
            cand *n2 = realloc(c, ncap * sizeof *n2);
            if (!n2) {
                rc = nl_error_set(err, NL_ENOMEM, "out of memory");
                break;
            }
            c = n2;
            cc = ncap;
        }
        c[nc++] = (cand){pid, ps.ppid, ps.start, 0};
    }
    closedir(d);
    pmap tmp = st->seen;
    st->seen = st->seen_new;
    st->seen_new = tmp;
    int changed = 1;
    while (rc == NL_OK && changed) {
        changed = 0;
        for (size_t i = 0; i < nc; i++) {
            if (c[i].taken || !pmap_get(&st->tracked, c[i].ppid)) continue;
            c[i].taken = 1;
            int from_zero = !initial && c[i].start >= st->open_ticks;
            if (initial && (st->flags & NL_STATS_FROM_START)) from_zero = 1;
            int r = proc_add(st, c[i].pid, c[i].start, 0, from_zero, err);
            if (r < 0) {
                rc = err ? err->code : NL_ENOMEM;
                break;
            }
            if (r == 0) {
                if (pmap_put(&st->tracked, c[i].pid, (uint64_t)st->np) != 0) {
                    rc = nl_error_set(err, NL_ENOMEM, "out of memory");
                    break;
                }
                changed = 1;
            }
        }
    }
    free(c);
    return rc;
}

void st_stats_reread_comm(nl_stats *st) {
    char buf[1024];
    st_pstat ps;
    if (st->np && st->p[0].root && st_pread_text(st->p[0].fd_stat, buf, sizeof buf) >= 0 &&
        st_parse_stat(buf, &ps) == 0 && ps.start == st->p[0].start)
        snprintf(st->info.comm, sizeof st->info.comm, "%s", ps.comm);
}

size_t st_stats_others(const nl_stats *st, int *pid, unsigned long long *start, size_t max) {
    size_t n = 0;
    for (size_t i = 0; i < st->np && n < max; i++) {
        const proc *p = &st->p[i];
        if (p->root || p->zombie) continue;
        pid[n] = p->pid;
        start[n] = p->start;
        n++;
    }
    return n;
}

static int is_member(void *ud, int pid) {
    nl_stats *st = ud;
    uint64_t *v = pmap_get(&st->tracked, pid);
    return v && *v >= 1 && *v <= st->np && !st->p[*v - 1].zombie;
}

/* ---- machine figures ---------------------------------------------------------- */

static nl_status read_sys(nl_stats *st, uint64_t *busy, uint64_t *total, double *ram_pct,
                          nl_error *err) {
    char buf[4096];
    if (st_pread_text(st->fd_cpu, buf, sizeof buf) < 0)
        return nl_error_set(err, NL_EIO, "cannot read /proc/stat: %s", strerror(errno));
    if (st_parse_cpu_line(buf, busy, total) != 0)
        return nl_error_set(err, NL_EFORMAT, "/proc/stat: first line is not a 'cpu' line");
    if (st_pread_text(st->fd_mem, buf, sizeof buf) < 0)
        return nl_error_set(err, NL_EIO, "cannot read /proc/meminfo: %s", strerror(errno));
    uint64_t tot = 0, avail = 0;
    if (st_parse_meminfo(buf, &tot, &avail) != 0 || tot == 0)
        return nl_error_set(err, NL_EFORMAT, "/proc/meminfo: no MemTotal/MemAvailable");
    st->info.mem_total_mib = (double)tot / 1024.0;
    *ram_pct = 100.0 * (double)(tot > avail ? tot - avail : 0) / (double)tot;
    return NL_OK;
}

/* ---- public API ------------------------------------------------------------------- */

nl_status nl_stats_open(nl_stats **out, const nl_stats_opts *opts, nl_error *err) {
    if (!out || !opts) return nl_error_set(err, NL_EINVAL, "nl_stats_open: NULL argument");
    *out = NULL;
    if (opts->pid <= 0)
        return nl_error_set(err, NL_EINVAL, "nl_stats_open: pid must be > 0 (got %d)", opts->pid);
    nl_stats *st = calloc(1, sizeof *st);
    if (!st) return nl_error_set(err, NL_ENOMEM, "out of memory");
    st->fd_cpu = st->fd_mem = st->fd_loadavg = -1;
    st->last_pid[0] = st->last_pid[1] = -1;
    st->flags = opts->flags;
    st->self_pid = (int)getpid();
    st->page_size = sysconf(_SC_PAGESIZE);
    long tck = sysconf(_SC_CLK_TCK);
    st->ns_per_tick = 1e9 / (double)(tck > 0 ? tck : 100);
    struct timespec bt;
    clock_gettime(CLOCK_BOOTTIME, &bt);
    st->open_ticks = (unsigned long long)(((double)bt.tv_sec + bt.tv_nsec * 1e-9) *
                                          (double)(tck > 0 ? tck : 100));
    nl_stats_info *in = &st->info;
    in->pid = opts->pid;
    in->children = !(opts->flags & NL_STATS_NO_CHILDREN);
    in->pss = !!(opts->flags & NL_STATS_PSS);
    long nc = sysconf(_SC_NPROCESSORS_ONLN);
    in->ncpu = nc > 0 ? (int)nc : 1;
    in->io_available = 1;
    nl_status rc = NL_OK;

    if (opts->pid == st->self_pid) {
        rc = nl_error_set(err, NL_EINVAL,
                          "PID %d is this process: the monitor does not count itself", opts->pid);
        goto fail;
    }
    st->fd_cpu = open("/proc/stat", O_RDONLY | O_CLOEXEC);
    st->fd_loadavg = open("/proc/loadavg", O_RDONLY | O_CLOEXEC); /* optional */
    st->fd_mem = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
    if (st->fd_cpu < 0 || st->fd_mem < 0) {
        rc = nl_error_set(err, NL_EIO,
                          "cannot open /proc/stat or /proc/meminfo: %s (is /proc "
                          "mounted?)",
                          strerror(errno));
        goto fail;
    }
    double ram;
    rc = read_sys(st, &st->sys_busy, &st->sys_total, &ram, err);
    if (rc != NL_OK) goto fail;

    /* the root: its stat tells whether it exists and gives its start time */
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", opts->pid);
    st_pstat ps;
    if (st_read_text(path, buf, sizeof buf) < 0) {
        int e = errno;
        if (e == ENOENT || e == ESRCH)
            rc = nl_error_set(err, NL_ENOTFOUND, "no process with PID %d", opts->pid);
        else
            rc = nl_error_set(err, NL_EIO, "cannot read %s: %s", path, strerror(e));
        goto fail;
    }
    if (st_parse_stat(buf, &ps) != 0) {
        rc = nl_error_set(err, NL_EFORMAT, "%s: unexpected content '%.60s'", path, buf);
        goto fail;
    }
    snprintf(in->comm, sizeof in->comm, "%s", ps.comm);
    if (proc_add(st, opts->pid, ps.start, 1, !!(opts->flags & NL_STATS_FROM_START), err) != 0) {
        rc = err ? err->code : NL_EIO;
        if (rc == NL_OK) rc = NL_EIO;
        goto fail;
    }
    in->cpu_source = src_names[st->p[0].src];
    st->root_alive = 1;
    if (in->children) {
        rc = discover(st, 1, err);
        if (rc != NL_OK) goto fail;
    } else {
        rebuild_tracked(st);
    }
    if (!(opts->flags & NL_STATS_NO_GPU)) {
        st->gpu = st_nvml_open(opts->nvml_lib, in->gpu_note, sizeof in->gpu_note);
        if (st->gpu) {
            in->gpu_available = 1;
            in->gpu_count = st_nvml_count(st->gpu);
            snprintf(in->gpu_name, sizeof in->gpu_name, "%s", st_nvml_name(st->gpu));
            in->vram_total_mib = st_nvml_total_mib(st->gpu);
        }
    } else {
        snprintf(in->gpu_note, sizeof in->gpu_note, "GPU monitoring disabled");
    }
    in->t0 = st->t_prev = nl_now();
    in->wall0_ms = nl_wall_ms();
    *out = st;
    return NL_OK;
fail:
    nl_stats_close(st);
    return rc;
}

const nl_stats_info *nl_stats_get_info(const nl_stats *st) {
    return st ? &st->info : NULL;
}

static uint64_t pay(uint64_t *debt, uint64_t growth) {
    uint64_t take = *debt < growth ? *debt : growth;
    *debt -= take;
    return growth - take;
}

static uint64_t grow(uint64_t *last, uint64_t cur) {
    uint64_t d = cur > *last ? cur - *last : 0;
    if (cur > *last) *last = cur;
    return d;
}

nl_status nl_stats_sample(nl_stats *st, nl_stats_row *row, nl_error *err) {
    if (!st || !row) return nl_error_set(err, NL_EINVAL, "nl_stats_sample: NULL argument");
    memset(row, 0, sizeof *row);
    double t = nl_now();
    row->wall_ms = nl_wall_ms();

    /* 1. read the members, parents first */
    for (size_t i = 0; i < st->np; i++) st->p[i].gone = proc_read(st, &st->p[i]) != 0;

    /* 2. members that disappeared leave their last reading as a debt to their
     * parent (youngest first, so a debt passes on up a vanished chain) */
    for (;;) {
        proc *y = NULL;
        for (size_t i = 0; i < st->np; i++) {
            proc *p = &st->p[i];
            if (p->gone == 1 && (!y || p->start > y->start)) y = p;
        }
        if (!y) break;
        y->gone = 2;
        if (y->root) st->root_alive = 0;
        for (size_t i = 0; i < st->np; i++) {
            proc *q = &st->p[i];
            if (q == y || q->pid != y->ppid || q->gone == 2 || q->start > y->start) continue;
            q->debt_reaped += y->self_ns + y->reaped_ns + y->debt_reaped;
            q->debt_io[0] += y->io[0] + y->debt_io[0];
            q->debt_io[1] += y->io[1] + y->debt_io[1];
            for (int k = 0; k < X_N; k++)
                q->x_debt[k] += y->x_self[k] + y->x_reaped[k] + y->x_debt[k];
            q->debt_age = 0;
            break;
        }
    }
    size_t w = 0;
    for (size_t i = 0; i < st->np; i++) {
        if (st->p[i].gone) {
            proc_close(&st->p[i]);
            continue;
        }
        st->p[w++] = st->p[i];
    }
    st->np = w;

    /* 3. new members */
    if (st->info.children) {
        nl_status rc = discover(st, 0, err);
        if (rc != NL_OK) return rc;
    } else {
        rebuild_tracked(st);
    }

    /* 4. growth of every counter */
    double cpu_ns = 0, io_d[2] = {0, 0}, x_d[X_N] = {0}, cs_d[2] = {0, 0};
    uint64_t mem = 0;
    for (size_t i = 0; i < st->np; i++) {
        proc *p = &st->p[i];
        uint64_t ds = grow(&p->self_ns, p->c_self);
        uint64_t dr = pay(&p->debt_reaped, grow(&p->reaped_ns, p->c_reaped));
        if (!st->info.children) dr = 0; /* the one process: not its reaped children */
        cpu_ns += (double)(ds + dr);
        if (p->io_ok) {
            for (int k = 0; k < 2; k++)
                io_d[k] += (double)pay(&p->debt_io[k], grow(&p->io[k], p->c_io[k]));
        }
        int owes = 0;
        for (int k = 0; k < X_N; k++) {
            uint64_t xs = grow(&p->x_self[k], p->xc_self[k]);
            uint64_t xr = pay(&p->x_debt[k], grow(&p->x_reaped[k], p->xc_reaped[k]));
            x_d[k] += (double)(xs + (st->info.children ? xr : 0));
            owes |= p->x_debt[k] != 0;
        }
        for (int k = 0; k < 2; k++) cs_d[k] += (double)grow(&p->cs[k], p->c_cs[k]);
        if (p->debt_reaped || p->debt_io[0] || p->debt_io[1] || owes) {
            if (++p->debt_age > DEBT_MAX_AGE) {
                p->debt_reaped = p->debt_io[0] = p->debt_io[1] = 0;
                memset(p->x_debt, 0, sizeof p->x_debt);
            }
        }
        if (p->root && p->zombie) st->root_alive = 0;
        if (!p->zombie) {
            row->procs++;
            row->threads += (int)p->threads;
            mem += p->mem_bytes;
        }
    }
    if (st->np == 0) st->root_alive = 0;

    double dt = t - st->t_prev;
    if (dt <= 0) dt = 1e-9;
    st->t_prev = t;
    st->counted_ns += cpu_ns;
    st->carry_ns += cpu_ns;
    double cap = (double)st->info.ncpu * dt * 1e9;
    double shown = st->carry_ns < cap ? st->carry_ns : cap;
    st->carry_ns -= shown;
    st->io_total[0] += io_d[0];
    st->io_total[1] += io_d[1];

    row->index = ++st->index;
    row->t_s = t - st->info.t0;
    row->dt_s = dt;
    row->alive = st->root_alive;
    row->cpu_pct = 100.0 * shown / (dt * 1e9);
    row->cpu_machine_pct = row->cpu_pct / st->info.ncpu;
    row->cpu_s = st->counted_ns / 1e9;
    row->mem_mib = (double)mem / MIB;
    row->read_mib = st->info.io_available ? st->io_total[0] / MIB : NAN;
    row->write_mib = st->info.io_available ? st->io_total[1] / MIB : NAN;
    row->read_mib_s = st->info.io_available ? io_d[0] / MIB / dt : NAN;
    row->write_mib_s = st->info.io_available ? io_d[1] / MIB / dt : NAN;
    {
        const double tick_s = st->ns_per_tick / 1e9, most = 100.0 * st->info.ncpu;
        row->user_pct = 100.0 * x_d[X_UTIME] * tick_s / dt;
        row->system_pct = 100.0 * x_d[X_STIME] * tick_s / dt;
        if (row->user_pct > most) row->user_pct = most;
        if (row->system_pct > most) row->system_pct = most;
        row->minflt_s = x_d[X_MINFLT] / dt;
        row->majflt_s = x_d[X_MAJFLT] / dt;
        row->vcsw_s = cs_d[0] / dt;
        row->ivcsw_s = cs_d[1] / dt;
    }

    uint64_t busy = 0, total = 0;
    double ram = NAN;
    nl_status rc = read_sys(st, &busy, &total, &ram, err);
    if (rc != NL_OK) return rc;
    uint64_t db = busy > st->sys_busy ? busy - st->sys_busy : 0;
    uint64_t dtot = total > st->sys_total ? total - st->sys_total : 0;
    row->sys_cpu_pct = dtot ? 100.0 * (double)db / (double)dtot : 0.0;
    if (row->sys_cpu_pct > 100.0) row->sys_cpu_pct = 100.0;
    st->sys_busy = busy;
    st->sys_total = total;
    row->sys_ram_pct = ram;
    row->mem_machine_pct = 100.0 * row->mem_mib / st->info.mem_total_mib;

    row->gpu_pct = row->vram_mib = row->vram_pct = NAN;
    if (st->gpu) {
        char msg[256];
        if (st_nvml_sample(st->gpu, is_member, st, &row->gpu_pct, &row->vram_mib, &row->vram_pct,
                           msg, sizeof msg) != 0) {
            st->info.gpu_errors++;
            snprintf(st->info.gpu_error, sizeof st->info.gpu_error, "%s", msg);
        }
    }
    return NL_OK;
}

void nl_stats_close(nl_stats *st) {
    if (!st) return;
    for (size_t i = 0; i < st->np; i++) proc_close(&st->p[i]);
    free(st->p);
    pmap_free(&st->tracked);
    pmap_free(&st->seen);
    pmap_free(&st->seen_new);
    if (st->fd_cpu >= 0) close(st->fd_cpu);
    if (st->fd_mem >= 0) close(st->fd_mem);
    if (st->fd_loadavg >= 0) close(st->fd_loadavg);
    st_nvml_close(st->gpu);
    free(st);
}

/* ---- finding a process by name ---------------------------------------------------- */

typedef struct pent {
    int pid, ppid;
    unsigned long long start;
    int match;
} pent;

static const pent *find_pent(const pent *e, size_t n, int pid) {
    for (size_t i = 0; i < n; i++)
        if (e[i].pid == pid) return &e[i];
    return NULL;
}

/* 1 when `anc` is a strict ancestor of pid (ppid chain, bounded). */
static int is_ancestor(const pent *e, size_t n, int anc, int pid) {
    const pent *x = find_pent(e, n, pid);
    for (int depth = 0; x && depth < 4096; depth++) {
        if (x->ppid == anc) return 1;
        if (x->ppid <= 0) return 0;
        x = find_pent(e, n, x->ppid);
    }
    return 0;
}

static int name_matches(int pid, const char *comm, const char *name) {
    size_t nl = strlen(name);
    if (!strcmp(comm, name)) return 1;
    if (nl > 15 && strlen(comm) == 15 && !strncmp(comm, name, 15)) return 1;
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
    ssize_t r = st_read_text(path, buf, sizeof buf);
    if (r <= 0) return 0;
    const char *a0 = buf; /* argv[0], NUL-terminated */
    const char *base = strrchr(a0, '/');
    base = base ? base + 1 : a0;
    return !strcmp(base, name) || !strcmp(a0, name);
}

static void append(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t n, const char *fmt, ...) {
    size_t len = strlen(buf);
    if (len + 1 >= n) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + len, n - len, fmt, ap);
    va_end(ap);
}

nl_status nl_stats_find_name(const char *name, int exclude, nl_stats_match *m, nl_error *err) {
    if (!name || !*name || !m)
        return nl_error_set(err, NL_EINVAL, "nl_stats_find_name: empty name");
    memset(m, 0, sizeof *m);
    DIR *d = opendir("/proc");
    if (!d) return nl_error_set(err, NL_EIO, "cannot list /proc: %s", strerror(errno));
    pent *e = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!all_digits(de->d_name)) continue;
        int pid = atoi(de->d_name);
        char path[64], buf[1024];
        snprintf(path, sizeof path, "/proc/%d/stat", pid);
        st_pstat ps;
        if (st_read_text(path, buf, sizeof buf) < 0 || st_parse_stat(buf, &ps) != 0) continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 256;
            pent *ne = realloc(e, nc * sizeof *ne);
            if (!ne) {
                closedir(d);
                free(e);
                return nl_error_set(err, NL_ENOMEM, "out of memory");
            }
            e = ne;
            cap = nc;
        }
        int match = pid != exclude && ps.state != 'Z' && ps.state != 'X' &&
                    name_matches(pid, ps.comm, name);
        e[n++] = (pent){pid, ps.ppid, ps.start, match};
    }
    closedir(d);
    /* candidates, by PID (readdir order of /proc is ascending already) */
    int best = -1, ntop = 0, ndesc = 0, nanc = 0;
    char desc[128] = "", anc[128] = "", top[256] = "";
    for (int pass = 0; pass < 2 && best < 0; pass++) {
        for (size_t i = 0; i < n; i++) {
            if (!e[i].match) continue;
            if (pass == 0) {
                if (m->count < NL_STATS_MATCH_MAX) m->pids[m->count] = e[i].pid;
                m->count++;
            }
            int under = 0;
            for (size_t j = 0; j < n && !under; j++)
                if (j != i && e[j].match && is_ancestor(e, n, e[j].pid, e[i].pid)) under = 1;
            if (under) {
                if (pass == 0) {
                    ndesc++;
                    append(desc, sizeof desc, "%s%d", ndesc > 1 ? ", " : "", e[i].pid);
                }
                continue;
            }
            int mine = exclude > 0 && is_ancestor(e, n, e[i].pid, exclude);
            if (mine && pass == 0) {
                nanc++;
                append(anc, sizeof anc, "%s%d", nanc > 1 ? ", " : "", e[i].pid);
                continue;
            }
            if (pass == 0) {
                ntop++;
                append(top, sizeof top, "%s%d", ntop > 1 ? ", " : "", e[i].pid);
            }
            if (best < 0 || e[i].start > e[best].start ||
                (e[i].start == e[best].start && e[i].pid > e[best].pid))
                best = (int)i;
        }
        /* pass 1 only when every top-level match is an ancestor of the monitor */
    }
    if (m->count == 0) {
        free(e);
        return nl_error_set(err, NL_ENOTFOUND, "no process named '%s'", name);
    }
    m->pid = e[best].pid;
    if (m->count > 1) {
        snprintf(m->why, sizeof m->why, "%d processes match '%s'; watching PID %d", m->count, name,
                 m->pid);
        if (ntop > 1) append(m->why, sizeof m->why, ", the most recently started of %s", top);
        if (ndesc)
            append(m->why, sizeof m->why,
                   "; %s descend%s from another match and %s counted in "
                   "its tree",
                   desc, ndesc > 1 ? "" : "s", ndesc > 1 ? "are" : "is");
        if (nanc)
            append(m->why, sizeof m->why, "; %s %s this monitor's ancestor%s", anc,
                   nanc > 1 ? "are" : "is", nanc > 1 ? "s" : "");
        append(m->why, sizeof m->why, " (use --pid to choose)");
    }
    free(e);
    return NL_OK;
}
