/* Error reporting: formatted messages into caller-owned nl_error. */
#include "nnlab/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

nl_status nl_error_set(nl_error *err, nl_status code, const char *fmt, ...) {
    if (!err) return code;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}

nl_status nl_error_prefix(nl_error *err, const char *fmt, ...) {
    if (!err) return NL_OK;
    char prefix[NL_ERROR_MSG_MAX], old[NL_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    size_t n = strlen(prefix);
    if (n > sizeof err->msg - 3) n = sizeof err->msg - 3;
    memcpy(err->msg, prefix, n);
    memcpy(err->msg + n, ": ", 2);
    size_t rest = sizeof err->msg - n - 3;
    size_t k = strlen(old);
    if (k > rest) k = rest;
    memcpy(err->msg + n + 2, old, k);
    err->msg[n + 2 + k] = '\0';
    return err->code;
}

void nl_error_clear(nl_error *err) {
    if (!err) return;
    err->code = NL_OK;
    err->msg[0] = '\0';
}

const char *nl_status_name(nl_status code) {
    switch (code) {
    case NL_OK: return "ok";
    case NL_EINVAL: return "invalid argument";
    case NL_EIO: return "i/o error";
    case NL_EFORMAT: return "bad format";
    case NL_ENOMEM: return "out of memory";
    case NL_ENOTFOUND: return "not found";
    case NL_ENOTSUP: return "not supported";
    case NL_ECHECKSUM: return "checksum mismatch";
    case NL_ENET: return "network error";
    case NL_EINTR: return "interrupted";
    }
    return "unknown error";
}
