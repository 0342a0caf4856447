/* GEMM entry point for all layers: row-major C = alpha * op(A) * op(B) + beta * C,
 * op(A) [M,K], op(B) [K,N], C [M,N].
 *
 * Threads: outside a parallel loop (core/parallel.h), the output is split
 * along its larger dimension into one contiguous block per thread, each block
 * one chunk of the pool and one single-threaded BLAS call; inside a loop's
 * chunk, one BLAS call on that thread. Every C element is computed by exactly one thread with the same
 * K-loop, so results do not depend on scheduling: bit-identical run after run
 * for a fixed thread count. */
#ifndef NNLAB_GEMM_H
#define NNLAB_GEMM_H

void nl_gemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
             const float *B, int ldb, float beta, float *C, int ldc);

/* Which output dimension nl_gemm_split divides among threads. Layers pick the
 * one that keeps each thread on the same slice of a weight matrix in forward,
 * backward and the optimizer step, so the slice stays in that core's cache. */
typedef enum nl_split_dim { NL_SPLIT_AUTO = 0, NL_SPLIT_M = 1, NL_SPLIT_N = 2 } nl_split_dim;

void nl_gemm_split(nl_split_dim split, int trans_a, int trans_b, int M, int N, int K, float alpha,
                   const float *A, int lda, const float *B, int ldb, float beta, float *C,
                   int ldc);

#endif
