/* Dense (fully connected) layer with an optional fused activation: ReLU in
 * its kernels, the other element-wise ones (tanh, sigmoid, gelu, leakyrelu)
 * by activation.c over its output.
 *
 *   forward:  out[B,O] = act(in[B,I] . W[I,O] + b[O])
 *   backward: dz = dout * act'(out);  dW[I,O] = in^T . dz;  db = sum_b dz;  din = dz . W^T
 *
 * Parameters in the slab: W [I][O] (row-major, one row per input feature, the
 * Keras order) then b [O].
 *
 * Two paths, chosen per batch from the density of the input:
 *  - dense: one GEMM over the batch for each product. When O is a multiple of
 *    the vector width (cifar10's 64 units), on the register-tile kernels of
 *    ukernels.c, as the convolutions; otherwise BLAS through nl_gemm. On these
 *    shapes (B = 32, I = 2304, O = 64) OpenBLAS spends most of its time
 *    packing and runs well below the kernels (bench/results/cifar10_step.md).
 *  - sparse input (less than NL_DENSE_SPARSE_MAX of the inputs non-zero; MNIST
 *    pixels are ~81% zero): a bit mask per input feature marks the samples
 *    where it is non-zero, and forward and dW touch only the rows of W whose
 *    input is non-zero somewhere in the batch:
 *        out[b,:] += x[b,i] * W[i,:]      for every non-zero x[b,i]
 *        dW[i,:]   = sum_b x[b,i] * dz[b,:]   (0 for rows with no non-zero)
 *    The arithmetic is the dense one minus the multiplications by zero; only
 *    the order of the additions differs, so results differ from the dense
 *    path by float rounding.
 * Parts (chunks of the pool's loops) split the inputs I (rows of W) in every
 * product: the forward pass sums each part's rows into its own partial output
 * and adds the partials in part order, dW is split by its rows, din by its
 * columns. While all threads run, the pool gives each thread the same parts
 * every step, so each core reads and writes the same rows of W and dW, about
 * the slice the optimizer's contiguous split gives it; results are
 * bit-identical run after run for a fixed thread count. */
#include <stdatomic.h>
#include <string.h>

#include "core/gemm.h"
#include "core/parallel.h"
#include "layers/activation.h"
#include "layers/layer.h"
#include "core/simd.h"
#include "layers/ukernels.h"

#define NL_DENSE_SPARSE_MAX 0.30
/* Most threads the sparse forward pass uses (one partial sum each in scratch). */
#define NL_DENSE_MAX_PARTS 16

/* Scratch: [0] the path the last forward took (1: sparse), then from float 16
 * on, the non-zero masks of the batch: for input i, nw = ceil(B/64) words whose
 * bit b says x[b][i] != 0. Built branch-free in one vectorisable pass; the
 * sparse kernels walk the set bits of each mask. */
static uint64_t *scratch_masks(float *scratch) {
    return (uint64_t *)(scratch + 16);
}

/* Inputs [i0, i1) of thread t of nt: contiguous, as equal as may be. */
static void row_range(int I, int nt, int t, int *i0, int *i1) {
    *i0 = (int)((long)I * t / nt);
    *i1 = (int)((long)I * (t + 1) / nt);
}

/* Fills the masks of in [B][I]; returns 1 when its density is below the
 * threshold. The masks are built in chunks of inputs, as the sparse kernels
 * below split them. A batch whose first sample is over twice the
 * threshold dense (cifar10's dense layer: all of it) takes the dense path
 * without masks: building them would cost a pass over the batch. */
typedef struct mask_job {
    uint64_t *m;
    const float *in;
    int B, I, nw;
    _Atomic size_t nnz;
} mask_job;

static void mask_rows(void *ctx, size_t lo, size_t hi, size_t chunk) {
    mask_job *j = ctx;
    const int B = j->B, I = j->I, nw = j->nw, i0 = (int)lo, i1 = (int)hi;
    uint64_t *m = j->m;
    (void)chunk;
    uint64_t *mi = m + (size_t)i0 * nw;
    memset(mi, 0, (size_t)(i1 - i0) * nw * sizeof *m);
    for (int b = 0; b < B; b++) {
        const float *x = j->in + (size_t)b * I;
        uint64_t *mw = m + b / 64;
        const int sh = b % 64;
        for (int i = i0; i < i1; i++) mw[(size_t)i * nw] |= (uint64_t)(x[i] != 0.0f) << sh;
    }
    size_t nnz = 0;
    for (size_t k = (size_t)i0 * nw; k < (size_t)i1 * nw; k++)
        nnz += (size_t)__builtin_popcountll(m[k]);
    atomic_fetch_add_explicit(&j->nnz, nnz, memory_order_relaxed); /* an exact integer sum */
}

static int build_masks(uint64_t *m, const float *in, int B, int I) {
    size_t nnz0 = 0;
    for (int i = 0; i < I; i++) nnz0 += in[i] != 0.0f;
    if ((double)nnz0 > 2 * NL_DENSE_SPARSE_MAX * I) return 0;
    mask_job j = {m, in, B, I, (B + 63) / 64, 0};
    nl_parallel_for((size_t)I, nl_parallel_grain_even((size_t)I, (size_t)B * I >= 16384), mask_rows,
                    &j);
    const size_t nnz = atomic_load(&j.nnz);
    return (double)nnz <= NL_DENSE_SPARSE_MAX * (double)B * I;
}

/* Rows of out [b0, b1) = act(bias + the nt partials [B][O], added in part order). */
static void add_partials(float *out, const float *part, const float *bias, int B, int O, int nt,
                         int b0, int b1, int relu) {
    (void)B;
    for (int b = b0; b < b1; b++) {
        float *restrict y = out + (size_t)b * O;
        for (int o = 0; o < O; o++) y[o] = bias[o];
        for (int u = 0; u < nt; u++) {
            const float *restrict p = part + ((size_t)u * B + b) * O;
            for (int o = 0; o < O; o++) y[o] += p[o];
        }
        if (relu)
            for (int o = 0; o < O; o++) y[o] = y[o] > 0.0f ? y[o] : 0.0f;
    }
}

/* The forward passes' loops: parts over the inputs, then the sum of the parts. */
typedef struct fwd_job {
    float *out, *part;
    const float *zeros, *in, *w, *bias;
    const uint64_t *m;
    int B, I, O, relu, nparts, uk;
} fwd_job;

static void sum_parts_rows(void *ctx, size_t lo, size_t hi, size_t chunk) {
    const fwd_job *j = ctx;
    (void)chunk;
    add_partials(j->out, j->part, j->bias, j->B, j->O, j->nparts, (int)lo, (int)hi, j->relu);
}

/* Adds the parts of out, in a loop over its rows when that is enough work to
 * be worth one more synchronisation (a small batch: on this thread). */
static void sum_parts(fwd_job *j) {
    const size_t B = (size_t)j->B, work = B * (size_t)j->O * (size_t)j->nparts;
    nl_parallel_for(B, nl_parallel_grain_even(B, j->nparts > 1 && work >= 65536), sum_parts_rows,
                    j);
}

/* out[b, :] = bias + sum over non-zero x[b,i] of x[b,i] * W[i, :], relu optional.
 *
 * Threads split the inputs (rows of W), not the outputs: each core then reads
 * and, in dW and the optimizer step (one contiguous slice of the slab per
 * thread), writes the same rows of W, dW and Adam's moments every step, and
 * they stay in its cache. Split by columns instead, two cores write
 * neighbouring cache lines of every row, and the hardware prefetchers keep
 * pulling each other's lines across (2 threads slower than 1). Each part (a
 * chunk of rows; the pool gives a thread the same parts loop after loop while
 * all threads run) sums its rows into its own partial [B][O]; the partials are
 * then added in part order, so results are bit-identical run after run for a
 * fixed thread count. part holds NL_DENSE_MAX_PARTS * B * O floats (only the
 * first parts are touched). */
static void sparse_part(void *ctx, size_t lo, size_t hi, size_t t) {
    const fwd_job *j = ctx;
    const int B = j->B, I = j->I, O = j->O, nw = (B + 63) / 64;
    const float *in = j->in, *w = j->w;
    const uint64_t *m = j->m;
    float *restrict y0 = j->part + t * (size_t)B * O;
    memset(y0, 0, (size_t)B * O * sizeof(float));
    for (int i = (int)lo; i < (int)hi; i++) {
        const float *restrict wi = w + (size_t)i * O;
        for (int q = 0; q < nw; q++) {
            for (uint64_t bits = m[(size_t)i * nw + q]; bits; bits &= bits - 1) {
                const int b = q * 64 + __builtin_ctzll(bits);
                const float x = in[(size_t)b * I + i];
                float *restrict y = y0 + (size_t)b * O;
                for (int o = 0; o < O; o++) y[o] += x * wi[o];
            }
        }
    }
}

static void dense_forward_sparse(float *out, float *part, const float *in, const uint64_t *m,
                                 const float *w, const float *bias, int B, int I, int O, int relu) {
    fwd_job j = {out, part, NULL, in, w, bias, m, B, I, O, relu, 1, 0};
    const size_t parts = B * O >= 4096 ? nl_parallel_parts((size_t)I, NL_DENSE_MAX_PARTS) : 1;
    const size_t grain = nl_parallel_grain((size_t)I, parts, 1);
    j.nparts = (int)nl_parallel_chunks((size_t)I, grain);
    nl_parallel_for((size_t)I, grain, sparse_part, &j);
    sum_parts(&j);
}

/* dW[i, :] = sum over samples b with x[b,i] != 0 of x[b,i] * dz[b, :];
 * chunks of rows, as in the forward pass. */
typedef struct dw_job {
    float *dw, *din, *dout, *wt;
    const float *in, *dz, *w;
    const uint64_t *m;
    int B, I, O;
} dw_job;

static void sparse_dw_rows(void *ctx, size_t lo, size_t hi, size_t chunk) {
    const dw_job *j = ctx;
    const int B = j->B, I = j->I, O = j->O, nw = (B + 63) / 64;
    (void)chunk;
    for (int i = (int)lo; i < (int)hi; i++) {
        float *restrict g = j->dw + (size_t)i * O;
        memset(g, 0, (size_t)O * sizeof(float));
        for (int q = 0; q < nw; q++) {
            for (uint64_t bits = j->m[(size_t)i * nw + q]; bits; bits &= bits - 1) {
                const int b = q * 64 + __builtin_ctzll(bits);
                const float x = j->in[(size_t)b * I + i];
                const float *restrict d = j->dz + (size_t)b * O;
                for (int o = 0; o < O; o++) g[o] += x * d[o];
            }
        }
    }
}

static void dense_dw_sparse(float *dw, const float *in, const uint64_t *m, const float *dz, int I,
                            int O, int B) {
    const dw_job j = {dw, NULL, NULL, NULL, in, dz, NULL, m, B, I, O};
    nl_parallel_for((size_t)I, nl_parallel_grain_even((size_t)I, B * O >= 4096), sparse_dw_rows,
                    (void *)&j);
}

/* y [B][O] = act(bias + in[:, i0:i1] . W[i0:i1, :]) on the register-tile
 * kernels (O a multiple of VL); bias is zeros for a partial sum. */
static void uk_forward(float *y, const float *in, const float *w, const float *bias, int B, int I,
                       int O, int i0, int i1, int relu) {
    const int nvec = O / VL, nv = pick_nv(nvec), mr = pick_mr(nv);
    const int ntiles = (B + mr - 1) / mr;
    fwd_args a;
    a.xrow = 0;
    a.KH = 1;
    a.L = i1 - i0;
    a.ldw = O;
    a.ldy = O;
    a.relu = relu;
    a.mlast = v_mask(VL);
    for (int tile = 0; tile < ntiles; tile++) {
        int lo, hi;
        row_range(B, ntiles, tile, &lo, &hi);
        for (int r = 0; r < hi - lo; r++) a.x[r] = in + (size_t)(lo + r) * I + i0;
        for (int v0 = 0; v0 < nvec; v0 += nv) {
            const int nvh = imin(nv, nvec - v0);
            a.w = w + (size_t)i0 * O + (size_t)v0 * VL;
            a.bias = bias + (size_t)v0 * VL;
            a.y = y + (size_t)lo * O + (size_t)v0 * VL;
            nl_fwd_tab[hi - lo - 1][nvh - 1](&a);
        }
    }
}

/* dW[i0:i1, :] = in[:, i0:i1]^T . dz (O a multiple of VL). */
static void uk_dw(float *dw, const float *in, const float *dz, int B, int I, int O, int i0,
                  int i1) {
    const int nvec = O / VL, nv = pick_nv(nvec), mr = pick_mr(nv);
    const int n = i1 - i0, ntiles = (n + mr - 1) / mr;
    dw_args a;
    a.xs = I;
    a.xrs = 0;
    a.OH = 1;
    a.OW = B;
    a.ldz = O;
    a.ldd = O;
    a.mlast = v_mask(VL);
    a.zero = 1;
    for (int tile = 0; tile < ntiles; tile++) {
        int lo, hi;
        row_range(n, ntiles, tile, &lo, &hi);
        a.x = in + i0 + lo;
        for (int v0 = 0; v0 < nvec; v0 += nv) {
            const int nvh = imin(nv, nvec - v0);
            a.dz = dz + (size_t)v0 * VL;
            a.dw = dw + (size_t)(i0 + lo) * O + (size_t)v0 * VL;
            nl_dw_tab[hi - lo - 1][nvh - 1](&a);
        }
    }
}

/* wt [O][ld] = the rows [i0, i1) of W [I][O] transposed, columns i1 - i0 .. ld
 * zero (ld a multiple of VL). */
static void transpose_rows(float *wt, size_t ld, const float *w, int O, int i0, int i1) {
    const int n = i1 - i0;
    int r = 0;
#if defined(V_HAS_TRANSPOSE)
    for (; r + VL <= n; r += VL) { /* VL x VL blocks in registers */
        for (int o = 0; o + VL <= O; o += VL) {
            vf q[VL];
            for (int k = 0; k < VL; k++) q[k] = v_load(w + (size_t)(i0 + r + k) * O + o);
            v_transpose(q);
            for (int k = 0; k < VL; k++) v_store(wt + (size_t)(o + k) * ld + r, q[k]);
        }
    }
#endif
    for (int o = 0; o < O; o++) {
        float *restrict d = wt + (size_t)o * ld;
        for (int k = r; k < n; k++) d[k] = w[(size_t)(i0 + k) * O + o];
        for (int k = n; k < (int)ld; k++) d[k] = 0.0f;
    }
}

/* din[:, i0:i1] = dz . W[i0:i1, :]^T, from wt [O][ld] (transpose_rows). */
static void uk_dx(float *din, const float *dz, const float *wt, size_t ld, int B, int I, int O,
                  int i0, int i1) {
    const int n = i1 - i0, nvec = (n + VL - 1) / VL, nv = pick_nv(nvec), mr = pick_mr(nv);
    const int ntiles = (B + mr - 1) / mr;
    dx_args a;
    a.ldz = O;
    a.F = O;
    a.KH = a.KW = 1;
    a.ldwt = (ptrdiff_t)ld;
    a.xrow = a.C = 0;
    a.add = 0;
    for (int tile = 0; tile < ntiles; tile++) {
        int lo, hi;
        row_range(B, ntiles, tile, &lo, &hi);
        a.dz = dz + (size_t)lo * O;
        for (int v0 = 0; v0 < nvec; v0 += nv) {
            const int nvh = imin(nv, nvec - v0);
            a.wt = wt + (size_t)v0 * VL;
            for (int r = 0; r < hi - lo; r++)
                a.dx[r] = din + (size_t)(lo + r) * I + i0 + (size_t)v0 * VL;
            a.mlast = v_mask(imin(VL, n - (v0 + nvh - 1) * VL));
            nl_dx_tab[hi - lo - 1][nvh - 1](&a);
        }
    }
}

/* out = act(in . W + b) in one GEMM over the whole batch, the dense path.
 * With several threads and enough work, split along the inputs (rows of W) as
 * the sparse kernels do, each part one GEMM of its rows into its partial
 * [B][O], the partials added in part order: each core reads only the rows of
 * W it updates in the optimizer step (a split along O would have every core
 * read half of every row, fetching the other core's freshly written lines).
 * part: NL_DENSE_MAX_PARTS * B * O floats. */
static void dense_part(void *ctx, size_t lo, size_t hi, size_t t) {
    const fwd_job *j = ctx;
    const int B = j->B, I = j->I, O = j->O, i0 = (int)lo, i1 = (int)hi;
    float *y0 = j->part + t * (size_t)B * O;
    if (j->uk) {
        uk_forward(y0, j->in, j->w, j->zeros, B, I, O, i0, i1, 0);
    } else {
        /* inside a loop's chunk nl_gemm runs on this thread alone */
        nl_gemm(0, 0, B, O, i1 - i0, 1.0f, j->in + i0, I, j->w + (size_t)i0 * O, O, 0.0f, y0, O);
    }
}

static void dense_forward(float *out, float *part, const float *zeros, const float *in,
                          const float *w, const float *bias, int B, int I, int O, int relu) {
    const int uk = O % VL == 0; /* the register-tile kernels, else BLAS */
    const int maxt = nl_parallel_threads();
    const int nt = maxt < NL_DENSE_MAX_PARTS ? maxt : NL_DENSE_MAX_PARTS;
    if (nt < 2 || nl_parallel_in_loop() || (double)B * I * O < 256.0 * 1024 || I < 16 * nt) {
        if (uk) {
            uk_forward(out, in, w, bias, B, I, O, 0, I, relu);
            return;
        }
        for (int r = 0; r < B; r++) memcpy(out + (size_t)r * O, bias, (size_t)O * sizeof(float));
        nl_gemm(0, 0, B, O, I, 1.0f, in, I, w, O, 1.0f, out, O);
        if (relu)
            for (size_t k = 0; k < (size_t)B * O; k++) out[k] = out[k] > 0.0f ? out[k] : 0.0f;
        return;
    }
    fwd_job j = {out, part, zeros, in, w, bias, NULL, B, I, O, relu, 1, uk};
    const size_t grain =
        nl_parallel_grain((size_t)I, nl_parallel_parts((size_t)I, NL_DENSE_MAX_PARTS), uk ? VL : 1);
    j.nparts = (int)nl_parallel_chunks((size_t)I, grain);
    nl_parallel_for((size_t)I, grain, dense_part, &j);
    sum_parts(&j);
}

/* Part t of the backward pass on the register-tile kernels: rows [lo, hi) of
 * dW, columns [lo, hi) of din (lo a multiple of VL). */
static void backward_part(void *ctx, size_t lo, size_t hi, size_t t) {
    const dw_job *j = ctx;
    const int B = j->B, I = j->I, O = j->O, i0 = (int)lo, i1 = (int)hi;
    uk_dw(j->dw, j->in, j->dout, B, I, O, i0, i1);
    if (j->din) {
        const size_t ld = (size_t)(i1 - i0 + VL - 1) / VL * VL;
        float *wtt = j->wt + (size_t)O * ((size_t)i0 + t * VL);
        transpose_rows(wtt, ld, j->w, O, i0, i1);
        uk_dx(j->din, j->dout, wtt, ld, B, I, O, i0, i1);
    }
}

/* dout is turned into dz in place when relu is fused. din may be NULL. wt:
 * O * (I + NL_DENSE_MAX_PARTS * VL) floats for the transposed weights. */
static void dense_backward(float *din, float *dw, float *db, float *dout, const float *in,
                           const float *out, const float *w, float *wt, int B, int I, int O,
                           int relu) {
    if (relu) {
        const size_t n = (size_t)B * O;
        for (size_t i = 0; i < n; i++)
            if (out[i] <= 0.0f) dout[i] = 0.0f;
    }
    /* db[o] = sum over the batch, in a fixed order. */
    for (int o = 0; o < O; o++) db[o] = 0.0f;
    for (int r = 0; r < B; r++) {
        const float *d = dout + (size_t)r * O;
        for (int o = 0; o < O; o++) db[o] += d[o];
    }
    /* dW split by its rows and din by its columns: both are the inputs, so
     * each thread touches the rows of W and dW it owns in the forward pass
     * and (about) in the optimizer's contiguous split. */
    if (O % VL) {
        nl_gemm_split(NL_SPLIT_M, 1, 0, I, O, B, 1.0f, in, I, dout, O, 0.0f, dw, O);
        if (din) nl_gemm_split(NL_SPLIT_N, 0, 1, B, I, O, 1.0f, dout, O, w, O, 0.0f, din, I);
        return;
    }
    /* On the register-tile kernels: each part transposes its own rows of W
     * into its own part of wt for the input gradient, so no part waits for
     * another. */
    const int maxt = nl_parallel_threads();
    const int nt = maxt < NL_DENSE_MAX_PARTS ? maxt : NL_DENSE_MAX_PARTS;
    const int par =
        nt >= 2 && !nl_parallel_in_loop() && (double)B * I * O >= 256.0 * 1024 && I >= 16 * nt;
    const dw_job j = {dw, din, dout, wt, in, NULL, w, NULL, B, I, O};
    const size_t parts = par ? nl_parallel_parts((size_t)I, NL_DENSE_MAX_PARTS) : 1;
    nl_parallel_for((size_t)I, nl_parallel_grain((size_t)I, parts, VL), backward_part, (void *)&j);
}

static nl_status plan(nl_layer *l, nl_error *err) {
    if (l->spec.units <= 0)
        return nl_error_set(err, NL_EINVAL, "dense: units must be positive (got %d)",
                            l->spec.units);
    const nl_activation *act = nl_activation_find(l->spec.act);
    if (!act) return nl_error_set(err, NL_EINVAL, "dense: unknown activation %d", l->spec.act);
    nl_status st = nl_act_check(act, &l->spec, "dense", err);
    if (st) return st;
    const size_t I = nl_shape_size(l->in);
    l->out = (nl_shape){1, 1, l->spec.units};
    l->nparams = I * (size_t)l->spec.units + (size_t)l->spec.units;
    l->relu = act->relu; /* softmax: applied by the loss */
    return NL_OK;
}

static size_t mask_floats(size_t I, int max_batch) {
    return 2 * I * (size_t)((max_batch + 63) / 64);
}

/* Scratch for a batch of B, in floats: a flag (padded to 64 bytes), the
 * I * ceil(B/64) 64-bit masks, the forward pass's partial sums
 * [NL_DENSE_MAX_PARTS][B][O], O zeros (the partials' bias), the transposed
 * weights of the input gradient, each piece 64-byte aligned, and last the
 * pre-activation [B][O] a fused gelu keeps (nl_act_keep_floats). */
typedef struct dense_scratch {
    size_t part, zeros, wt, keep, total;
} dense_scratch;

static dense_scratch scratch_layout(size_t I, size_t O, int B) {
    dense_scratch d;
    d.part = 16 + (mask_floats(I, B) + 15) / 16 * 16;
    d.zeros = d.part + (size_t)NL_DENSE_MAX_PARTS * (size_t)B * O;
    d.zeros = (d.zeros + 15) / 16 * 16;
    d.wt = d.zeros + (O + 15) / 16 * 16;
    d.keep = (d.wt + O * (I + (size_t)NL_DENSE_MAX_PARTS * VL) + 15) / 16 * 16;
    d.total = d.keep;
    return d;
}

static size_t scratch_floats(const nl_layer *l, int max_batch) {
    return scratch_layout(nl_shape_size(l->in), (size_t)l->spec.units, max_batch).total +
           nl_act_keep_floats(nl_act_fused(l), (size_t)max_batch * (size_t)l->spec.units);
}

static void init(const nl_layer *l, float *params, float *state, uint64_t seed) {
    const int I = (int)nl_shape_size(l->in), O = l->spec.units;
    nl_glorot_uniform(params, (size_t)I * O, I, O, seed);
    memset(params + (size_t)I * O, 0, (size_t)O * sizeof(float));
}

static void forward(const nl_layer *l, const nl_layer_ctx *c) {
    const int I = (int)nl_shape_size(l->in), O = l->spec.units, B = c->batch;
    const float *w = c->params, *b = c->params + (size_t)I * O;
    uint64_t *m = scratch_masks(c->scratch);
    const int sparse = build_masks(m, c->in, B, I);
    c->scratch[0] = (float)sparse;
    /* the partial sums follow this batch's masks */
    const dense_scratch sl = scratch_layout((size_t)I, (size_t)O, B);
    float *part = c->scratch + sl.part, *zeros = c->scratch + sl.zeros;
    const int relu = l->relu;
    if (sparse) {
        dense_forward_sparse(c->out, part, c->in, m, w, b, B, I, O, relu);
    } else {
        memset(zeros, 0, (size_t)O * sizeof(float));
        dense_forward(c->out, part, zeros, c->in, w, b, B, I, O, relu);
    }
    const nl_activation *fa = nl_act_fused(l);
    if (fa)
        nl_act_forward(fa, nl_act_alpha(&l->spec), c->out, c->out,
                       fa->keeps_input ? c->scratch + sl.keep : NULL, (size_t)B * O);
}

static void backward(const nl_layer *l, const nl_layer_ctx *c) {
    const int I = (int)nl_shape_size(l->in), O = l->spec.units, B = c->batch;
    const nl_activation *fa = nl_act_fused(l);
    if (fa) /* dout = dz: the activation's derivative, before either path */
        nl_act_backward(fa, nl_act_alpha(&l->spec), c->dout, c->dout,
                        fa->keeps_input ? c->scratch + scratch_layout((size_t)I, (size_t)O, B).keep
                                        : NULL,
                        c->out, (size_t)B * O);
    if (c->scratch[0] == 0.0f) {
        dense_backward(c->din, c->grads, c->grads + (size_t)I * O, c->dout, c->in, c->out,
                       c->params, c->scratch + scratch_layout((size_t)I, (size_t)O, B).wt, B, I, O,
                       l->relu);
        return;
    }
    /* sparse input: dz and db as in the dense path, dW from the CSC, din by GEMM */
    float *dz = c->dout, *db = c->grads + (size_t)I * O;
    if (l->relu)
        for (size_t k = 0; k < (size_t)B * O; k++)
            if (c->out[k] <= 0.0f) dz[k] = 0.0f;
    for (int o = 0; o < O; o++) db[o] = 0.0f;
    for (int r = 0; r < B; r++)
        for (int o = 0; o < O; o++) db[o] += dz[(size_t)r * O + o];
    dense_dw_sparse(c->grads, c->in, scratch_masks(c->scratch), dz, I, O, B);
    if (c->din) nl_gemm(0, 1, B, I, O, 1.0f, dz, O, c->params, O, 0.0f, c->din, I);
}

const nl_layer_ops nl_dense_ops = {
    .kind = NL_LAYER_DENSE,
    .name = "dense",
    .plan = plan,
    .scratch_floats = scratch_floats,
    .init = init,
    .forward = forward,
    .backward = backward,
    .fuses_act = 1,
};
