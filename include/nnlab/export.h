/* nnlab/export.h - NL_API marks the public functions of libnnlab and
 * libnnlab-tools. Both libraries are built with -fvisibility=hidden, so only
 * what carries NL_API is exported from the shared objects; everything else is
 * internal, whatever its name. */
#ifndef NNLAB_EXPORT_H
#define NNLAB_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define NL_API __attribute__((visibility("default")))
#else
#define NL_API
#endif

#endif
