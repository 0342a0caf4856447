/* Parallel loops (parallel.h) on a persistent pool of nnlab's own threads.
 *
 * A loop of C chunks is cut into R home ranges, one per thread (the calling
 * thread is thread 0, the pool's workers 1 .. R-1): range r holds chunks
 * [C*r/R, C*(r+1)/R). Each range has one atomic word, the loop's generation
 * (upper 32 bits) and the next unclaimed chunk of the range (lower 32 bits). A
 * thread claims chunks from its own range first, in order (so on an idle
 * machine it keeps touching the same data loop after loop, as a static split
 * would), then from the other ranges in turn. A claim is a compare-and-swap
 * that also checks the generation: a worker that wakes late for a loop that
 * has ended finds the words already at a newer generation (or its ranges
 * empty) and claims nothing, so it never runs a chunk of one loop with the
 * parameters of another. The loop's parameters are read only after a
 * successful claim; the loop cannot end (and its parameters cannot change)
 * before that chunk is counted done.
 *
 * The calling thread publishes a loop, wakes the workers that sleep, runs
 * chunks itself, and returns when the done count reaches C: it waits only for
 * chunks that a running thread has claimed, never for a thread that has not
 * woken. Idle workers spin for a few microseconds before they sleep on a
 * futex; the caller, when the last chunks are on other threads, spins a little
 * longer (they are running) and then sleeps too. */
#include "core/parallel.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#define HAVE_MXCSR  1
#else
#define cpu_relax() ((void)0)
#define HAVE_MXCSR  0
#endif

#define POOL_MAX       64    /* threads, the caller included */
#define WORKER_SPIN_NS 5000  /* an idle worker spins this long before it sleeps */
#define CALLER_SPIN_NS 20000 /* the caller waits this long for claimed chunks before it sleeps */

typedef struct {
    _Alignas(64) _Atomic uint64_t w; /* generation << 32 | next chunk */
} range_word;

static struct {
    pthread_mutex_t run; /* held by the thread whose loop the pool runs */
    int threads;         /* configured (0: not yet chosen) */
    int started;         /* workers running */
    int started_for;     /* the setting they were started for (0: none) */
    int nranges;         /* started + 1, fixed while the workers live */
    uint32_t gen;        /* the current loop's generation (caller only) */
    pthread_t tid[POOL_MAX];
    _Alignas(64) _Atomic uint64_t phase; /* generation << 32 | chunks */
    range_word next[POOL_MAX];
    _Alignas(64) _Atomic uint32_t done;
    _Atomic uint32_t waiting;          /* the caller sleeps on done */
    _Alignas(64) _Atomic uint32_t seq; /* bumped for every loop: the workers' futex */
    _Atomic int sleepers;
    _Atomic int stop;
    /* the loop: written before it is published, read after a claim */
    nl_range_fn fn;
    void *ctx;
    size_t n, grain;
    unsigned csr;
    _Atomic unsigned hold_ms[POOL_MAX];
    _Atomic unsigned long worker_chunks;
} P = {.run = PTHREAD_MUTEX_INITIALIZER};

static _Thread_local int t_in_loop;

static long futex(_Atomic uint32_t *addr, int op, uint32_t val) {
    return syscall(SYS_futex, (uint32_t *)addr, op, val, NULL, NULL, 0);
}

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void run_chunk(size_t k) {
    const size_t b = k * P.grain, e = b + P.grain < P.n ? b + P.grain : P.n;
    P.fn(P.ctx, b, e, k);
}

/* Claims the next chunk of range r of a loop of generation gen with C chunks
 * in R ranges; returns it, or -1 when the range is empty or the loop over. */
static long claim(int r, uint32_t gen, uint32_t C, int R) {
    const uint32_t end = (uint32_t)((uint64_t)C * (uint64_t)(r + 1) / (uint64_t)R);
    uint64_t v = atomic_load_explicit(&P.next[r].w, memory_order_acquire);
    for (;;) {
        if ((uint32_t)(v >> 32) != gen || (uint32_t)v >= end) return -1;
        if (atomic_compare_exchange_weak_explicit(&P.next[r].w, &v, v + 1, memory_order_acq_rel,
                                                  memory_order_acquire))
            return (long)(uint32_t)v;
    }
}

/* Counts one chunk done; wakes the caller when it was the last and it sleeps. */
static void chunk_done(uint32_t C) {
    if (atomic_fetch_add(&P.done, 1) + 1 == C && atomic_load(&P.waiting))
        futex(&P.done, FUTEX_WAKE_PRIVATE, 1);
}

/* Thread `self` runs what it can claim of the loop of generation gen. */
static unsigned long run_claims(int self, uint32_t gen, uint32_t C, int R, int worker) {
    unsigned long ran = 0;
    for (int i = 0; i < R; i++) {
        const int r = (self + i) % R;
        long k;
        while ((k = claim(r, gen, C, R)) >= 0) {
#if HAVE_MXCSR
            if (worker && _mm_getcsr() != P.csr) _mm_setcsr(P.csr);
#endif
            run_chunk((size_t)k);
            chunk_done(C);
            ran++;
        }
    }
    (void)worker;
    return ran;
}

/* Waits until seq differs from last (spins briefly, then sleeps); returns it. */
static uint32_t wait_loop(uint32_t last) {
    uint32_t s;
    const int64_t t0 = now_ns();
    for (unsigned i = 1;; i++) {
        if ((s = atomic_load_explicit(&P.seq, memory_order_acquire)) != last) return s;
        cpu_relax();
        if (i % 64 == 0 && now_ns() - t0 > WORKER_SPIN_NS) break;
    }
    atomic_fetch_add(&P.sleepers, 1);
    while ((s = atomic_load(&P.seq)) == last) futex(&P.seq, FUTEX_WAIT_PRIVATE, last);
    atomic_fetch_sub(&P.sleepers, 1);
    return s;
}

static void *worker_main(void *arg) {
    const int self = (int)(intptr_t)arg, R = P.nranges;
    t_in_loop = 1;
    uint32_t last = 0;
    for (;;) {
        last = wait_loop(last);
        if (atomic_load(&P.stop)) break;
        const unsigned hold = atomic_load_explicit(&P.hold_ms[self], memory_order_relaxed);
        if (hold) {
            struct timespec ts = {hold / 1000, (long)(hold % 1000) * 1000000L};
            while (nanosleep(&ts, &ts) && errno == EINTR) {
            }
        }
        const uint64_t ph = atomic_load_explicit(&P.phase, memory_order_acquire);
        const uint32_t C = (uint32_t)ph;
        if (C == 0) continue;
        const unsigned long ran = run_claims(self, (uint32_t)(ph >> 32), C, R, 1);
        if (ran) atomic_fetch_add_explicit(&P.worker_chunks, ran, memory_order_relaxed);
    }
    return NULL;
}

static int cpu_count(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        const int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
    const long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

static void after_fork_child(void) {
    /* only the forking thread exists in the child: start afresh */
    P.started = 0;
    P.started_for = 0;
    P.nranges = 1;
    atomic_store(&P.sleepers, 0);
    pthread_mutex_init(&P.run, NULL);
}

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static void init_once(void) {
    pthread_atfork(NULL, NULL, after_fork_child);
    if (P.threads == 0) P.threads = cpu_count() < POOL_MAX ? cpu_count() : POOL_MAX;
    P.nranges = 1;
}

/* With P.run held. */
static void stop_workers(void) {
    if (!P.started) return;
    atomic_store(&P.stop, 1);
    atomic_fetch_add(&P.seq, 1);
    futex(&P.seq, FUTEX_WAKE_PRIVATE, INT_MAX);
    for (int i = 1; i <= P.started; i++) pthread_join(P.tid[i], NULL);
    atomic_store(&P.stop, 0);
    P.started = 0;
    P.nranges = 1;
}

/* With P.run held: starts the workers the setting asks for (as many as the
 * system gives). */
static void start_workers(void) {
    const int want = P.threads - 1;
    /* A new generation with no chunks: the ranges of the last loop were cut
     * for another number of threads, and a new worker must not read them. */
    if (++P.gen == 0) P.gen = 1;
    atomic_store(&P.phase, (uint64_t)P.gen << 32);
    for (int r = 0; r < POOL_MAX; r++) atomic_store(&P.next[r].w, (uint64_t)P.gen << 32);
    P.nranges = want + 1; /* read by the workers: set before they start */
    int i = 1;
    for (; i <= want; i++)
        if (pthread_create(&P.tid[i], NULL, worker_main, (void *)(intptr_t)i)) break;
    P.started = i - 1;
    if (P.started != want) { /* fewer than asked for: restart with those */
        const int got = P.started;
        stop_workers();
        P.nranges = got + 1;
        for (i = 1; i <= got; i++)
            if (pthread_create(&P.tid[i], NULL, worker_main, (void *)(intptr_t)i)) break;
        P.started = i - 1;
        if (P.started != got) stop_workers();
    }
}

/* At exit or when the library is unloaded: the workers must not outlive its
 * code. */
__attribute__((destructor)) static void pool_shutdown(void) {
    if (pthread_mutex_trylock(&P.run) != 0) return; /* a loop is running: leave it */
    stop_workers();
    P.started_for = 0;
    pthread_mutex_unlock(&P.run);
}

static void run_serial(size_t n, size_t grain, nl_range_fn fn, void *ctx, size_t chunks) {
    const int outer = t_in_loop;
    t_in_loop = 1;
    for (size_t k = 0; k < chunks; k++) {
        const size_t b = k * grain, e = b + grain < n ? b + grain : n;
        fn(ctx, b, e, k);
    }
    t_in_loop = outer;
}

void nl_parallel_for(size_t n, size_t grain, nl_range_fn fn, void *ctx) {
    if (grain == 0) grain = 1;
    const size_t chunks = nl_parallel_chunks(n, grain);
    if (chunks == 0) return;
    pthread_once(&g_once, init_once);
    if (chunks == 1 || t_in_loop || chunks >= UINT32_MAX || P.threads <= 1 ||
        pthread_mutex_trylock(&P.run) != 0) {
        run_serial(n, grain, fn, ctx, chunks);
        return;
    }
    if (P.started_for != P.threads) { /* as many as the system gives */
        stop_workers();
        P.started_for = P.threads;
        start_workers();
    }
    const int R = P.nranges;
    if (R <= 1) {
        pthread_mutex_unlock(&P.run);
        run_serial(n, grain, fn, ctx, chunks);
        return;
    }
    const uint32_t C = (uint32_t)chunks;
    if (++P.gen == 0) P.gen = 1;
    const uint32_t gen = P.gen;
    P.fn = fn, P.ctx = ctx, P.n = n, P.grain = grain;
#if HAVE_MXCSR
    P.csr = _mm_getcsr();
#endif
    atomic_store_explicit(&P.done, 0, memory_order_relaxed);
    for (int r = 0; r < R; r++) {
        const uint64_t begin = (uint64_t)C * (uint64_t)r / (uint64_t)R;
        atomic_store_explicit(&P.next[r].w, (uint64_t)gen << 32 | begin, memory_order_release);
    }
    atomic_store_explicit(&P.phase, (uint64_t)gen << 32 | C, memory_order_release);
    atomic_fetch_add(&P.seq, 1);
    if (atomic_load(&P.sleepers) > 0) futex(&P.seq, FUTEX_WAKE_PRIVATE, INT_MAX);

    t_in_loop = 1;
    run_claims(0, gen, C, R, 0);
    t_in_loop = 0;

    /* the rest is on threads that claimed it and are running it */
    if (atomic_load(&P.done) != C) {
        const int64_t t0 = now_ns();
        for (unsigned i = 1; atomic_load_explicit(&P.done, memory_order_acquire) != C; i++) {
            cpu_relax();
            if (i % 64 == 0 && now_ns() - t0 > CALLER_SPIN_NS) break;
        }
        atomic_store(&P.waiting, 1);
        uint32_t d;
        while ((d = atomic_load(&P.done)) != C) futex(&P.done, FUTEX_WAIT_PRIVATE, d);
        atomic_store(&P.waiting, 0);
    }
    pthread_mutex_unlock(&P.run);
}

int nl_parallel_threads(void) {
    pthread_once(&g_once, init_once);
    return P.threads > 0 ? P.threads : 1;
}

int nl_parallel_set_threads(int n) {
    pthread_once(&g_once, init_once);
    if (n <= 0) n = cpu_count();
    if (n > POOL_MAX) n = POOL_MAX;
    if (t_in_loop) return P.threads; /* not from inside a loop */
    pthread_mutex_lock(&P.run);
    if (n != P.threads) {
        stop_workers();
        P.threads = n;
        P.started_for = 0;
    }
    pthread_mutex_unlock(&P.run);
    return n;
}

int nl_parallel_in_loop(void) {
    return t_in_loop;
}

size_t nl_parallel_parts(size_t n, size_t max_parts) {
    const size_t t = (size_t)nl_parallel_threads();
    size_t p = t <= 1 ? 1 : 2 * t;
    if (p > max_parts) p = max_parts;
    if (p > n) p = n;
    return p ? p : 1;
}

size_t nl_parallel_grain(size_t n, size_t parts, size_t align) {
    if (parts == 0) parts = 1;
    if (align == 0) align = 1;
    size_t g = (n + parts - 1) / parts;
    g = (g + align - 1) / align * align;
    return g ? g : 1;
}

size_t nl_parallel_grain_even(size_t n, int worth) {
    if (!worth || nl_parallel_threads() <= 1) return n ? n : 1;
    return nl_parallel_grain(n, nl_parallel_parts(n, 64), 1);
}

void nl_parallel_reduce(size_t n, size_t grain, nl_range_fn fn, void *ctx, double *parts,
                        size_t width, double *out) {
    nl_parallel_for(n, grain, fn, ctx);
    const size_t C = nl_parallel_chunks(n, grain);
    for (size_t k = 0; k < width; k++) {
        double s = 0.0;
        for (size_t c = 0; c < C; c++) s += parts[c * width + k];
        out[k] = s;
    }
}

void nl_parallel_test_hold(int worker, unsigned ms) {
    if (worker > 0 && worker < POOL_MAX) atomic_store(&P.hold_ms[worker], ms);
}

unsigned long nl_parallel_test_worker_chunks(void) {
    return atomic_load(&P.worker_chunks);
}
