/* Minimal unit-test helpers: CHECK records failures and goes on; main ends
 * with CHECK_DONE(), which prints "N passed, N failed" and sets the exit code. */
#ifndef NNLAB_CHECK_H
#define NNLAB_CHECK_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int check_passed_, check_failed_;

#define CHECK(cond)                                                                         \
    do {                                                                                    \
        if (cond) {                                                                         \
            check_passed_++;                                                                \
        } else {                                                                            \
            check_failed_++;                                                                \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);        \
        }                                                                                   \
    } while (0)

#define CHECK_MSG(cond, ...)                                                                \
    do {                                                                                    \
        if (cond) {                                                                         \
            check_passed_++;                                                                \
        } else {                                                                            \
            check_failed_++;                                                                \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);        \
            fprintf(stderr, __VA_ARGS__);                                                   \
            fputc('\n', stderr);                                                            \
        }                                                                                   \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                               \
    CHECK_MSG(fabs((double)(a) - (double)(b)) <= (tol), "%.9g vs %.9g (tol %g)", (double)(a), \
              (double)(b), (double)(tol))

/* The error message must contain every given fragment. */
#define CHECK_CONTAINS(msg, frag) CHECK_MSG(strstr((msg), (frag)) != NULL, "'%s' lacks '%s'", (msg), (frag))

#define CHECK_DONE()                                                                        \
    do {                                                                                    \
        printf("%d passed, %d failed\n", check_passed_, check_failed_);                     \
        return check_failed_ ? 1 : 0;                                                       \
    } while (0)

#endif
