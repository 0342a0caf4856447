/* Threaded, deterministic GEMM on top of CBLAS (see gemm.h). */
#include "core/gemm.h"

#include <cblas.h>
#include <pthread.h>

#include "core/parallel.h"

/* Below this many multiply-adds a single thread is faster than two. */
#define NL_GEMM_PAR_MIN (256 * 1024)

extern void openblas_set_num_threads(int);

/* OpenBLAS runs on the calling thread, inside the pool's chunks: its own
 * threads would compete with the pool's. */
static pthread_once_t blas_once = PTHREAD_ONCE_INIT;
static void blas_single(void) {
    openblas_set_num_threads(1);
}

static void gemm1(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                  const float *B, int ldb, float beta, float *C, int ldc) {
    pthread_once(&blas_once, blas_single);
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N,
                K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void nl_gemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
             const float *B, int ldb, float beta, float *C, int ldc) {
    nl_gemm_split(NL_SPLIT_AUTO, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

typedef struct gemm_job {
    int split_m, ta, tb, M, N, K, lda, ldb, ldc;
    float alpha, beta;
    const float *A, *B;
    float *C;
} gemm_job;

static void gemm_chunk(void *ctx, size_t lo, size_t hi, size_t chunk) {
    const gemm_job *j = ctx;
    const int n = (int)(hi - lo);
    (void)chunk;
    if (j->split_m) {
        const float *a = j->ta ? j->A + lo : j->A + (long)lo * j->lda;
        gemm1(j->ta, j->tb, n, j->N, j->K, j->alpha, a, j->lda, j->B, j->ldb, j->beta,
              j->C + (long)lo * j->ldc, j->ldc);
    } else {
        const float *b = j->tb ? j->B + (long)lo * j->ldb : j->B + lo;
        gemm1(j->ta, j->tb, j->M, n, j->K, j->alpha, j->A, j->lda, b, j->ldb, j->beta, j->C + lo,
              j->ldc);
    }
}

void nl_gemm_split(nl_split_dim split, int ta, int tb, int M, int N, int K, float alpha,
                   const float *A, int lda, const float *B, int ldb, float beta, float *C,
                   int ldc) {
    if (M <= 0 || N <= 0) return;
    const int nt = nl_parallel_in_loop() ? 1 : nl_parallel_threads();
    if (nt <= 1 || (double)M * N * K < NL_GEMM_PAR_MIN) {
        gemm1(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    const int split_m = split == NL_SPLIT_M || (split == NL_SPLIT_AUTO && M >= N);
    const int dim = split_m ? M : N;
    /* One block per thread, of a multiple of 16 (the widest SIMD kernels)
     * where possible: each block is one BLAS call, which packs its operands. */
    const size_t grain = nl_parallel_grain((size_t)dim, (size_t)nt, dim >= 16 * nt ? 16 : 1);
    gemm_job j = {split_m, ta, tb, M, N, K, lda, ldb, ldc, alpha, beta, A, B, C};
    nl_parallel_for((size_t)dim, grain, gemm_chunk, &j);
}
