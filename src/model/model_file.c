/* Model files.
 *
 *   offset  field
 *   0       magic "NNLABMDL" (8 bytes)
 *   8       u32 format version (1 or 2; NL_MODEL_FILE_VERSION is written)
 *   12      u32 header bytes that follow up to the tensors (for sanity checks)
 *   16      i32 input h, w, c
 *   28      u32 layer count L (1..256), then L layer records: kind, units, act,
 *           kernel, stride, padding as i32; rate, eps, momentum as f32; and in
 *           version 2 alpha as f32 (9 x 4 bytes in version 1, 10 x 4 in 2)
 *           u32 workload name length (0..63) + bytes
 *           version 2: u32 loss (nl_loss: 0 crossentropy, 1 mse)
 *           u64 parameter count P, u64 state count S
 *           u32 optimizer kind + 1 (0: no optimizer), f32 lr, beta1, beta2, eps,
 *           weight_decay, momentum, u64 step, u32 moment count (0, 1, 2)
 *           version 2: the training state (nl_train_state), 84 bytes: u32 1
 *           (0: none, every field below 0), u32 epochs completed, u32 epochs in
 *           total, u32 batch, u32 shuffle (0, 1), u64 seed, u64 samples per
 *           epoch, 4 x u64 shuffle RNG state, u32 schedule kind, i32 warmup,
 *           i32 step_size, f32 gamma
 *   then    P f32 parameters, S f32 state values, moment count x P f32
 *   last 4  u32 CRC-32 (zlib) of every byte before it
 * All integers and floats little-endian. Parameters are stored packed per layer
 * in layer order (no slab padding). A version 1 file reads as loss
 * crossentropy, alpha 0 and no training state. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/path.h"
#include "layers/layer.h"
#include "nnlab/train.h"

static const char MAGIC[8] = {'N', 'N', 'L', 'A', 'B', 'M', 'D', 'L'};

/* ---- a growable little-endian byte buffer ------------------------------------ */
typedef struct buf {
    uint8_t *p;
    size_t n, cap;
    int oom;
} buf;

static void put(buf *b, const void *src, size_t n) {
    if (b->oom) return;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n) cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}
static void put_u32(buf *b, uint32_t v) {
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put(b, x, 4);
}
static void put_u64(buf *b, uint64_t v) {
    put_u32(b, (uint32_t)v);
    put_u32(b, (uint32_t)(v >> 32));
}
static void put_f32(buf *b, float f) {
    uint32_t v;
    memcpy(&v, &f, 4);
    put_u32(b, v);
}
static void put_f32s(buf *b, const float *f, size_t n) {
    for (size_t i = 0; i < n; i++) put_f32(b, f[i]);
}

/* ---- a bounds-checked reader ------------------------------------------------- */
typedef struct rd {
    const uint8_t *p;
    size_t n, off;
    const char *path;
    nl_error *err;
    nl_status st;
} rd;

static int need(rd *r, size_t n, const char *field) {
    if (r->st) return 0;
    if (r->n - r->off < n) {
        r->st = nl_error_set(r->err, NL_EFORMAT,
                             "%s: truncated at offset %zu reading %s (%zu bytes needed, %zu left)",
                             r->path, r->off, field, n, r->n - r->off);
        return 0;
    }
    return 1;
}
static uint32_t get_u32(rd *r, const char *field) {
    if (!need(r, 4, field)) return 0;
    const uint8_t *p = r->p + r->off;
    r->off += 4;
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get_u64(rd *r, const char *field) {
    uint64_t lo = get_u32(r, field);
    uint64_t hi = get_u32(r, field);
    return lo | hi << 32;
}
static float get_f32(rd *r, const char *field) {
    uint32_t v = get_u32(r, field);
    float f;
    memcpy(&f, &v, 4);
    return f;
}
static void get_f32s(rd *r, float *dst, size_t n, const char *field) {
    if (!need(r, n * 4, field)) return;
    for (size_t i = 0; i < n; i++) dst[i] = get_f32(r, field);
}

/* ---- save ---------------------------------------------------------------------- */
/* The target is replaced with rename(2), so it must be a regular file (or not
 * exist): a device, a FIFO, a directory or a link to one is refused rather
 * than replaced. A link to a regular file is replaced by the new file. Temp
 * files are "TARGET.tmp.PID.XXXXXX" next to it; one whose process is gone (a
 * save killed midway) is removed by the next save to the same target. */

static nl_status check_target(const char *path, nl_error *err) {
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT) return NL_OK; /* new file, or a dangling link: replaced */
        return nl_error_set(err, NL_EIO, "%s: %s", path, strerror(errno));
    }
    if (S_ISREG(st.st_mode)) return NL_OK;
    return nl_error_set(err, NL_EIO,
                        "%s: is %s; a model is saved only as a regular file (it would replace "
                        "it)",
                        path, nl_file_type_name((unsigned)st.st_mode));
}

/* Removes dir/BASE.tmp.PID.XXXXXX files of processes that no longer exist:
 * only that pattern, only regular files (never links). */
static void remove_stale_temps(const char *dir, const char *base) {
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return;
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return;
    }
    const size_t bn = strlen(base);
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *n = de->d_name;
        if (strncmp(n, base, bn) || strncmp(n + bn, ".tmp.", 5)) continue;
        const char *q = n + bn + 5;
        char *end;
        errno = 0;
        long pid = strtol(q, &end, 10);
        if (errno || end == q || pid <= 0 || pid > INT_MAX || *end != '.' || strlen(end + 1) != 6)
            continue;
        int ok = 1;
        for (const char *c = end + 1; *c; c++)
            if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')))
                ok = 0;
        if (!ok || (pid_t)pid == getpid()) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue; /* alive (or not ours to say) */
        struct stat st;
        if (fstatat(dfd, n, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
            (void)unlinkat(dfd, n, 0);
    }
    closedir(d);
}

static nl_status write_atomic(const char *path, const uint8_t *data, size_t n, nl_error *err) {
    nl_status cs = check_target(path, err);
    if (cs) return cs;
    char dir[PATH_MAX];
    nl_dirname(path, dir, sizeof dir);
    remove_stale_temps(dir, nl_basename(path));
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld.XXXXXX", path, (long)getpid()) >= (int)sizeof tmp)
        return nl_error_set(err, NL_EINVAL, "%s: path too long", path);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return nl_error_set(err, NL_EIO, "%s: cannot create a temp file: %s", path,
                            strerror(errno));
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(fd, data + off, n - off);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) {
            nl_status st = nl_error_set(err, NL_EIO, "%s: write failed at offset %zu: %s", tmp, off,
                                        strerror(errno));
            close(fd);
            unlink(tmp);
            return st;
        }
        off += (size_t)w;
    }
    if (fchmod(fd, 0644) != 0 || fsync(fd) != 0) {
        nl_status st = nl_error_set(err, NL_EIO, "%s: fsync failed: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        return st;
    }
    /* checked again just before the rename: the target may have changed meanwhile */
    if (close(fd) != 0 || (cs = check_target(path, err)) != NL_OK || rename(tmp, path) != 0) {
        nl_status st =
            cs ? cs
               : nl_error_set(err, NL_EIO, "%s: cannot move the temp file into place: %s", path,
                              strerror(errno));
        unlink(tmp);
        return st;
    }
    nl_fsync_dir(dir); /* make the rename durable */
    return NL_OK;
}

nl_status nl_model_save(const char *path, const nl_model *m, const char *workload,
                        const nl_optimizer *opt, nl_error *err) {
    return nl_model_save_checkpoint(path, m, workload, opt, NULL, err);
}

static void put_train_state(buf *b, const nl_train_state *s) {
    const nl_train_state zero = {0};
    put_u32(b, s ? 1u : 0u);
    if (!s) s = &zero;
    put_u32(b, (uint32_t)s->epoch);
    put_u32(b, (uint32_t)s->epochs);
    put_u32(b, (uint32_t)s->batch);
    put_u32(b, s->shuffle ? 1u : 0u);
    put_u64(b, s->seed);
    put_u64(b, s->samples);
    for (int i = 0; i < 4; i++) put_u64(b, s->rng[i]);
    put_u32(b, (uint32_t)s->schedule.kind);
    put_u32(b, (uint32_t)s->schedule.warmup);
    put_u32(b, (uint32_t)s->schedule.step_size);
    put_f32(b, s->schedule.gamma);
}

nl_status nl_model_save_checkpoint(const char *path, const nl_model *cm, const char *workload,
                                   const nl_optimizer *opt, const nl_train_state *tstate,
                                   nl_error *err) {
    nl_model *m = (nl_model *)cm; /* the accessors are not const; nothing is changed */
    if (tstate && (tstate->epoch < 0 || tstate->epochs < tstate->epoch || tstate->batch < 1))
        return nl_error_set(err, NL_EINVAL,
                            "%s: training state with %d of %d epochs done and batch %d", path,
                            tstate->epoch, tstate->epochs, tstate->batch);
    buf b = {0};
    put(&b, MAGIC, 8);
    put_u32(&b, NL_MODEL_FILE_VERSION);
    put_u32(&b, 0); /* header size, patched below */
    int h, w, c;
    nl_model_layer_shape(m, -1, &h, &w, &c);
    put_u32(&b, (uint32_t)h);
    put_u32(&b, (uint32_t)w);
    put_u32(&b, (uint32_t)c);
    const int L = nl_model_num_layers(m);
    put_u32(&b, (uint32_t)L);
    for (int i = 0; i < L; i++) {
        const nl_layer_spec *s = nl_model_layer_spec(m, i);
        put_u32(&b, (uint32_t)s->kind);
        put_u32(&b, (uint32_t)s->units);
        put_u32(&b, (uint32_t)s->act);
        put_u32(&b, (uint32_t)s->kernel);
        put_u32(&b, (uint32_t)s->stride);
        put_u32(&b, (uint32_t)s->padding);
        put_f32(&b, s->rate);
        put_f32(&b, s->eps);
        put_f32(&b, s->momentum);
        put_f32(&b, s->alpha);
    }
    size_t wl = workload ? strlen(workload) : 0;
    if (wl > 63) wl = 63;
    put_u32(&b, (uint32_t)wl);
    put(&b, workload ? workload : "", wl);
    put_u32(&b, (uint32_t)nl_model_loss_kind(m));
    const size_t P = nl_model_num_params(m), S = nl_model_num_state(m);
    put_u64(&b, P);
    put_u64(&b, S);
    const int moments = opt && opt->n ? (opt->v ? 2 : opt->m ? 1 : 0) : 0;
    if (opt && opt->n) {
        put_u32(&b, (uint32_t)opt->cfg.kind + 1);
        put_f32(&b, opt->cfg.lr);
        put_f32(&b, opt->cfg.beta1);
        put_f32(&b, opt->cfg.beta2);
        put_f32(&b, opt->cfg.eps);
        put_f32(&b, opt->cfg.weight_decay);
        put_f32(&b, opt->cfg.momentum);
        put_u64(&b, opt->t);
        put_u32(&b, (uint32_t)moments);
    } else {
        put_u32(&b, 0);
        for (int i = 0; i < 6; i++) put_f32(&b, 0.0f);
        put_u64(&b, 0);
        put_u32(&b, 0);
    }
    put_train_state(&b, tstate);
    size_t header = b.n - 16;
    const float *params = nl_model_params(m), *state = nl_model_state(m);
    for (int i = 0; i < L; i++)
        put_f32s(&b, params + nl_model_layer_param_offset(m, i), nl_model_layer_params(m, i));
    for (int i = 0; i < L; i++)
        put_f32s(&b, state + nl_model_layer_state_offset(m, i), nl_model_layer_state(m, i));
    for (int k = 0; k < moments; k++) {
        const float *mom = k == 0 ? opt->m : opt->v;
        for (int i = 0; i < L; i++)
            put_f32s(&b, mom + nl_model_layer_param_offset(m, i), nl_model_layer_params(m, i));
    }
    if (b.oom) {
        free(b.p);
        return nl_error_set(err, NL_ENOMEM, "%s: out of memory serialising the model", path);
    }
    b.p[12] = (uint8_t)header, b.p[13] = (uint8_t)(header >> 8);
    b.p[14] = (uint8_t)(header >> 16), b.p[15] = (uint8_t)(header >> 24);
    uLong crc = crc32(0L, Z_NULL, 0);
    for (size_t off = 0; off < b.n; off += 1u << 30) {
        size_t chunk = b.n - off < (1u << 30) ? b.n - off : (1u << 30);
        crc = crc32(crc, b.p + off, (uInt)chunk);
    }
    put_u32(&b, (uint32_t)crc);
    nl_status st = b.oom ? nl_error_set(err, NL_ENOMEM, "%s: out of memory", path)
                         : write_atomic(path, b.p, b.n, err);
    free(b.p);
    return st;
}

/* ---- load ------------------------------------------------------------------------ */
#define MODEL_FILE_MAX ((uint64_t)1 << 32)
#define DIM_MAX        65536     /* input height, width, channels */
#define UNITS_MAX      (1 << 24) /* dense units, conv2d filters */
#define KERNEL_MAX     4096      /* kernel, stride */

/* The whole file: a regular file only (a FIFO or a device is refused without
 * blocking), at most MODEL_FILE_MAX bytes. */
static nl_status read_model_file(const char *path, uint8_t **out, size_t *len, nl_error *err) {
    *out = NULL;
    *len = 0;
    int fd = nl_open_regular(path, O_RDONLY, err);
    if (fd < 0) return err ? err->code : NL_EIO;
    struct stat st;
    if (fstat(fd, &st) != 0 || (uint64_t)st.st_size > MODEL_FILE_MAX) {
        close(fd);
        return nl_error_set(err, NL_EFORMAT, "%s: %lld bytes, more than a model file may have",
                            path, (long long)st.st_size);
    }
    size_t size = (size_t)st.st_size, n = 0;
    uint8_t *bytes = malloc(size ? size : 1);
    if (!bytes) {
        close(fd);
        return nl_error_set(err, NL_ENOMEM, "%s: out of memory for %zu bytes", path, size);
    }
    while (n < size) {
        ssize_t r = read(fd, bytes + n, size - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            nl_status s = nl_error_set(err, NL_EIO, "%s: read failed at offset %zu: %s", path, n,
                                       strerror(errno));
            free(bytes);
            close(fd);
            return s;
        }
        if (r == 0) break; /* the file shrank while reading */
        n += (size_t)r;
    }
    close(fd);
    *out = bytes;
    *len = n;
    return NL_OK;
}

/* Parameter and state counts of the architecture, planned layer by layer
 * without allocating anything. 0 when a layer cannot be planned: then
 * nl_model_compile reports why, also before it allocates. */
static int dry_plan(int h, int w, int c, const nl_layer_spec *specs, uint32_t L, uint64_t *np,
                    uint64_t *ns) {
    nl_shape cur = {h, w, c};
    *np = *ns = 0;
    for (uint32_t i = 0; i < L; i++) {
        nl_layer l;
        memset(&l, 0, sizeof l);
        l.spec = specs[i];
        l.in = cur;
        l.ops = nl_layer_ops_find(l.spec.kind);
        if (!l.ops || l.ops->plan(&l, NULL) != NL_OK) return 0;
        if (nl_shape_size(l.out) == 0 || nl_shape_size(l.out) > (1u << 28)) return 0;
        *np += l.nparams;
        *ns += l.nstate;
        cur = l.out;
    }
    return 1;
}
/* The training state block (version 2), checked field by field. */
static void get_train_state(rd *r, nl_train_state *ts, int *present) {
    const size_t at = r->off;
    uint32_t flag = get_u32(r, "training state flag");
    ts->epoch = (int32_t)get_u32(r, "training state epoch");
    ts->epochs = (int32_t)get_u32(r, "training state epochs");
    ts->batch = (int32_t)get_u32(r, "training state batch");
    uint32_t shuffle = get_u32(r, "training state shuffle");
    ts->seed = get_u64(r, "training state seed");
    ts->samples = get_u64(r, "training state samples");
    for (int i = 0; i < 4; i++) ts->rng[i] = get_u64(r, "training state RNG");
    uint32_t kind = get_u32(r, "schedule kind");
    ts->schedule.warmup = (int32_t)get_u32(r, "schedule warmup");
    ts->schedule.step_size = (int32_t)get_u32(r, "schedule step_size");
    ts->schedule.gamma = get_f32(r, "schedule gamma");
    if (r->st) return;
    ts->shuffle = (int)shuffle;
    ts->schedule.kind = (nl_schedule_kind)(kind <= NL_SCHED_COSINE ? kind : 0);
    *present = flag == 1;
    if (flag > 1) {
        r->st = nl_error_set(r->err, NL_EFORMAT,
                             "%s: training state flag %u at offset %zu, expected 0 (none) or 1",
                             r->path, flag, at);
        return;
    }
    if (!flag) return;
    if (ts->epochs < 1 || ts->epoch < 0 || ts->epoch > ts->epochs || ts->batch < 1 || shuffle > 1 ||
        ts->samples == 0 || ts->samples > UINT32_MAX) {
        r->st = nl_error_set(r->err, NL_EFORMAT,
                             "%s: training state at offset %zu: %d of %d epochs done, batch %d, "
                             "shuffle %u, %llu samples (expected 0 <= done <= epochs, epochs and "
                             "batch >= 1, shuffle 0 or 1, 1..%u samples)",
                             r->path, at, ts->epoch, ts->epochs, ts->batch, shuffle,
                             (unsigned long long)ts->samples, UINT32_MAX);
        return;
    }
    nl_schedule sch = ts->schedule;
    sch.kind = (nl_schedule_kind)kind;
    if (kind > NL_SCHED_COSINE || nl_schedule_check(&sch, r->err) != NL_OK) {
        r->st = nl_error_set(r->err, NL_EFORMAT,
                             "%s: training state at offset %zu: schedule kind %u, warmup %d, "
                             "step_size %d, gamma %g (expected kind 0..2, warmup and step_size "
                             ">= 0, gamma finite >= 0)",
                             r->path, at, kind, sch.warmup, sch.step_size, (double)sch.gamma);
        return;
    }
}

nl_status nl_model_load(const char *path, int max_batch, nl_model **out, nl_optimizer *opt,
                        char *workload, size_t workload_size, nl_error *err) {
    return nl_model_load_checkpoint(path, max_batch, out, opt, workload, workload_size, NULL, NULL,
                                    err);
}

nl_status nl_model_load_checkpoint(const char *path, int max_batch, nl_model **out,
                                   nl_optimizer *opt, char *workload, size_t workload_size,
                                   nl_train_state *tstate, int *has_state, nl_error *err) {
    *out = NULL;
    if (opt) memset(opt, 0, sizeof *opt);
    if (tstate) memset(tstate, 0, sizeof *tstate);
    if (has_state) *has_state = 0;
    uint8_t *data = NULL;
    size_t n = 0;
    nl_status st = read_model_file(path, &data, &n, err);
    if (st) return st;
    nl_model *m = NULL;
    rd r = {.p = data, .n = n, .path = path, .err = err};
    if (n < 8 + 8 + 4 || memcmp(data, MAGIC, 8) != 0) {
        st = nl_error_set(err, NL_EFORMAT,
                          n < 8 ? "%s: too short for a model file (%zu bytes)"
                                : "%s: not an nnlab model file (bad magic at offset 0; %zu bytes)",
                          path, n);
        goto fail;
    }
    /* Checksum first: everything after it may then be trusted to be what was written. */
    uint32_t stored = (uint32_t)data[n - 4] | (uint32_t)data[n - 3] << 8 |
                      (uint32_t)data[n - 2] << 16 | (uint32_t)data[n - 1] << 24;
    uLong crc = crc32(0L, Z_NULL, 0);
    for (size_t off = 0; off < n - 4; off += 1u << 30) {
        size_t chunk = n - 4 - off < (1u << 30) ? n - 4 - off : (1u << 30);
        crc = crc32(crc, data + off, (uInt)chunk);
    }
    r.off = 8;
    uint32_t version = get_u32(&r, "format version");
    if (version != 1 && version != 2) {
        st = nl_error_set(err, NL_ENOTSUP,
                          "%s: format version %u at offset 8, this nnlab reads versions 1 to %d",
                          path, version, NL_MODEL_FILE_VERSION);
        goto fail;
    }
    if ((uint32_t)crc != stored) {
        st = nl_error_set(err, NL_ECHECKSUM,
                          "%s: checksum mismatch (stored CRC-32 %08x at offset %zu, computed "
                          "%08x): the file is truncated or was modified",
                          path, stored, n - 4, (uint32_t)crc);
        goto fail;
    }
    r.n = n - 4; /* the reader must not run into the trailer */
    (void)get_u32(&r, "header size");
    int32_t h = (int32_t)get_u32(&r, "input height");
    int32_t w = (int32_t)get_u32(&r, "input width");
    int32_t c = (int32_t)get_u32(&r, "input channels");
    uint32_t L = get_u32(&r, "layer count");
    if (r.st) goto rfail;
    if (L == 0 || L > 256) {
        st = nl_error_set(err, NL_EFORMAT, "%s: layer count %u at offset 28, expected 1..256", path,
                          L);
        goto fail;
    }
    if (h < 1 || w < 1 || c < 1 || h > DIM_MAX || w > DIM_MAX || c > DIM_MAX) {
        st = nl_error_set(err, NL_EFORMAT,
                          "%s: input shape %dx%dx%d at offset 16: every dimension must be in "
                          "1..%d",
                          path, h, w, c, DIM_MAX);
        goto fail;
    }
    nl_layer_spec specs[256];
    for (uint32_t i = 0; i < L; i++) {
        nl_layer_spec s;
        size_t at = r.off;
        s.kind = (int32_t)get_u32(&r, "layer kind");
        s.units = (int32_t)get_u32(&r, "layer units");
        s.act = (int32_t)get_u32(&r, "layer activation");
        s.kernel = (int32_t)get_u32(&r, "layer kernel");
        s.stride = (int32_t)get_u32(&r, "layer stride");
        s.padding = (int32_t)get_u32(&r, "layer padding");
        s.rate = get_f32(&r, "layer rate");
        s.eps = get_f32(&r, "layer eps");
        s.momentum = get_f32(&r, "layer momentum");
        s.alpha = version >= 2 ? get_f32(&r, "layer alpha") : 0.0f;
        if (r.st) goto rfail;
        if (!isfinite(s.rate) || !isfinite(s.eps) || !isfinite(s.momentum) || !isfinite(s.alpha)) {
            st = nl_error_set(err, NL_EFORMAT,
                              "%s: layer %u at offset %zu: rate %g, eps %g, momentum %g, alpha %g "
                              "(expected finite numbers)",
                              path, i, at, (double)s.rate, (double)s.eps, (double)s.momentum,
                              (double)s.alpha);
            goto fail;
        }
        if (s.units < 0 || s.units > UNITS_MAX || s.kernel < 0 || s.kernel > KERNEL_MAX ||
            s.stride < 0 || s.stride > KERNEL_MAX) {
            st = nl_error_set(err, NL_EFORMAT,
                              "%s: layer %u at offset %zu: units %d, kernel %d, stride %d "
                              "(expected units 0..%d, kernel and stride 0..%d)",
                              path, i, at, s.units, s.kernel, s.stride, UNITS_MAX, KERNEL_MAX);
            goto fail;
        }
        specs[i] = s;
    }
    uint32_t wl = get_u32(&r, "workload name length");
    if (r.st) goto rfail;
    if (wl > 63) {
        st = nl_error_set(err, NL_EFORMAT,
                          "%s: workload name length %u at offset %zu, expected <= 63", path, wl,
                          r.off - 4);
        goto fail;
    }
    if (!need(&r, wl, "workload name")) goto rfail;
    if (workload && workload_size) {
        size_t k = wl < workload_size - 1 ? wl : workload_size - 1;
        memcpy(workload, r.p + r.off, k);
        workload[k] = '\0';
    }
    r.off += wl;
    const size_t loss_at = r.off;
    uint32_t loss = version >= 2 ? get_u32(&r, "loss") : (uint32_t)NL_LOSS_CROSSENTROPY;
    if (r.st) goto rfail;
    if (loss != NL_LOSS_CROSSENTROPY && loss != NL_LOSS_MSE) {
        st = nl_error_set(err, NL_EFORMAT,
                          "%s: loss %u at offset %zu, expected 0 (crossentropy) or 1 (mse)", path,
                          loss, loss_at);
        goto fail;
    }
    uint64_t P = get_u64(&r, "parameter count");
    uint64_t S = get_u64(&r, "state count");
    uint32_t okind = get_u32(&r, "optimizer kind");
    nl_optim_config oc = {0};
    oc.lr = get_f32(&r, "optimizer lr");
    oc.beta1 = get_f32(&r, "optimizer beta1");
    oc.beta2 = get_f32(&r, "optimizer beta2");
    oc.eps = get_f32(&r, "optimizer eps");
    oc.weight_decay = get_f32(&r, "optimizer weight_decay");
    oc.momentum = get_f32(&r, "optimizer momentum");
    uint64_t ostep = get_u64(&r, "optimizer step");
    uint32_t moments = get_u32(&r, "optimizer moment count");
    if (r.st) goto rfail;
    if (okind > 3 || moments > 2) {
        st = nl_error_set(err, NL_EFORMAT, "%s: optimizer kind %u / moment count %u out of range",
                          path, okind, moments);
        goto fail;
    }
    nl_train_state ts = {0};
    int ts_present = 0;
    if (version >= 2) get_train_state(&r, &ts, &ts_present);
    if (r.st) goto rfail;
    /* Sizes against the file before anything is allocated: the stored counts
     * must fill the rest of the file exactly, and be what the architecture
     * needs. */
    const uint64_t left = r.n - r.off, per = 1 + (uint64_t)moments;
    if (P > left / 4 / per || S > left / 4 || (P * per + S) * 4 != left) {
        st = nl_error_set(err, NL_EFORMAT,
                          "%s: stores %llu parameters, %llu state values and %u optimizer "
                          "moments, but %llu bytes of tensors follow offset %zu",
                          path, (unsigned long long)P, (unsigned long long)S, moments,
                          (unsigned long long)left, r.off);
        goto fail;
    }
    uint64_t arch_p, arch_s;
    if (dry_plan(h, w, c, specs, L, &arch_p, &arch_s) && (arch_p != P || arch_s != S)) {
        st = nl_error_set(err, NL_EFORMAT,
                          "%s: stores %llu parameters and %llu state values, the architecture "
                          "needs %llu and %llu",
                          path, (unsigned long long)P, (unsigned long long)S,
                          (unsigned long long)arch_p, (unsigned long long)arch_s);
        goto fail;
    }
    m = nl_model_new(h, w, c);
    if (!m) {
        st = nl_error_set(err, NL_ENOMEM, "%s: out of memory", path);
        goto fail;
    }
    for (uint32_t i = 0; i < L; i++) nl_model_add(m, &specs[i]);
    nl_model_set_loss(m, (nl_loss)loss);
    st = nl_model_compile(m, max_batch, err);
    if (st) {
        nl_error_prefix(err, "%s: the stored architecture is invalid", path);
        goto fail;
    }
    if (P != nl_model_num_params(m) || S != nl_model_num_state(m)) {
        st = nl_error_set(err, NL_EFORMAT,
                          "%s: stores %llu parameters and %llu state values, the architecture "
                          "needs %zu and %zu",
                          path, (unsigned long long)P, (unsigned long long)S,
                          nl_model_num_params(m), nl_model_num_state(m));
        goto fail;
    }
    size_t expect = (P * (1 + (uint64_t)moments) + S) * 4;
    if (r.n - r.off != expect) {
        st =
            nl_error_set(err, NL_EFORMAT, "%s: %zu bytes of tensors after offset %zu, expected %zu",
                         path, r.n - r.off, r.off, expect);
        goto fail;
    }
    float *params = nl_model_params(m), *state = nl_model_state(m);
    for (int i = 0; i < (int)L; i++)
        get_f32s(&r, params + nl_model_layer_param_offset(m, i), nl_model_layer_params(m, i),
                 "parameters");
    for (int i = 0; i < (int)L; i++)
        get_f32s(&r, state + nl_model_layer_state_offset(m, i), nl_model_layer_state(m, i),
                 "state");
    if (opt && okind) {
        oc.kind = (nl_optim_kind)(okind - 1);
        if ((st = nl_optim_init(opt, &oc, nl_model_param_slab_size(m), err))) {
            nl_error_prefix(err, "%s: stored optimizer", path);
            goto fail;
        }
        opt->t = ostep;
        for (uint32_t k = 0; k < moments; k++) {
            float *mom = k == 0 ? opt->m : opt->v;
            if (!mom) {
                st =
                    nl_error_set(err, NL_EFORMAT, "%s: %u optimizer moments stored, %s keeps fewer",
                                 path, moments, nl_optim_name(oc.kind));
                goto fail;
            }
            for (int i = 0; i < (int)L; i++)
                get_f32s(&r, mom + nl_model_layer_param_offset(m, i), nl_model_layer_params(m, i),
                         "optimizer moments");
        }
    }
    if (r.st) goto rfail;
    free(data);
    if (tstate && ts_present) *tstate = ts;
    if (has_state) *has_state = ts_present;
    *out = m;
    return NL_OK;
rfail:
    st = r.st;
fail:
    if (opt) nl_optim_free(opt);
    nl_model_free(m);
    free(data);
    return st;
}
