/* nnlab/error.h - status codes and error messages.
 *
 * Every fallible library call returns an nl_status and, on failure, fills an
 * nl_error whose message names the file, the offset or field, and what was
 * expected. The library never prints and never exits; callers decide. */
#ifndef NNLAB_ERROR_H
#define NNLAB_ERROR_H

#include "nnlab/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum nl_status {
    NL_OK = 0,
    NL_EINVAL,    /* bad argument or configuration */
    NL_EIO,       /* read/write/open failed (errno text in the message) */
    NL_EFORMAT,   /* file content does not match its format */
    NL_ENOMEM,    /* allocation failed */
    NL_ENOTFOUND, /* file, dataset, workload or process does not exist */
    NL_ENOTSUP,   /* feature or file version not supported */
    NL_ECHECKSUM, /* checksum or hash mismatch */
    NL_ENET,      /* network transfer failed */
    NL_EINTR,     /* interrupted by a signal or a callback */
} nl_status;

enum { NL_ERROR_MSG_MAX = 1024 };

typedef struct nl_error {
    nl_status code;
    char msg[NL_ERROR_MSG_MAX];
} nl_error;

/* Sets err (when not NULL) and returns code. printf-style message. */
NL_API nl_status nl_error_set(nl_error *err, nl_status code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Prefixes the existing message with more context ("while loading X: ..."). */
NL_API nl_status nl_error_prefix(nl_error *err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

NL_API void nl_error_clear(nl_error *err);
NL_API const char *nl_status_name(nl_status code);

#ifdef __cplusplus
}
#endif
#endif
