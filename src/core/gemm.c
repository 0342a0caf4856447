/* Threaded, deterministic GEMM on top of CBLAS (see gemm.h). */
#include "core/gemm.h"

#include <cblas.h>
#include <omp.h>

/* Below this many multiply-adds a single thread is faster than two. */
#define NL_GEMM_PAR_MIN (256 * 1024)

static void gemm1(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                  const float *B, int ldb, float beta, float *C, int ldc) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N,
                K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void nl_gemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
             const float *B, int ldb, float beta, float *C, int ldc) {
    nl_gemm_split(NL_SPLIT_AUTO, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void nl_gemm_split(nl_split_dim split, int ta, int tb, int M, int N, int K, float alpha,
                   const float *A, int lda, const float *B, int ldb, float beta, float *C,
                   int ldc) {
    if (M <= 0 || N <= 0) return;
    int nt = omp_in_parallel() ? 1 : omp_get_max_threads();
    if (nt <= 1 || (double)M * N * K < NL_GEMM_PAR_MIN) {
        gemm1(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    const int split_m = split == NL_SPLIT_M || (split == NL_SPLIT_AUTO && M >= N);
    const int dim = split_m ? M : N;
    /* Blocks of a multiple of 16 (the widest SIMD kernels) where possible. */
    int chunk = (dim + nt - 1) / nt;
    if (dim >= 16 * nt) chunk = (chunk + 15) / 16 * 16;
#pragma omp parallel num_threads(nt)
    {
        int t = omp_get_thread_num();
        int lo = t * chunk, hi = lo + chunk;
        if (hi > dim) hi = dim;
        if (lo < hi) {
            int n = hi - lo;
            if (split_m) {
                const float *a = ta ? A + lo : A + (long)lo * lda;
                gemm1(ta, tb, n, N, K, alpha, a, lda, B, ldb, beta, C + (long)lo * ldc, ldc);
            } else {
                const float *b = tb ? B + (long)lo * ldb : B + lo;
                gemm1(ta, tb, M, n, K, alpha, A, lda, b, ldb, beta, C + lo, ldc);
            }
        }
    }
}
