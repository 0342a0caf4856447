/* Path and directory helpers (internal; src/core/path.c). */
#ifndef NNLAB_CORE_PATH_H
#define NNLAB_CORE_PATH_H

#include <stddef.h>

#include "nnlab/error.h"

/* 1 when path is (stat follows links) a regular file / a directory. */
int nl_is_file(const char *path);
int nl_is_dir(const char *path);
/* "a/b/c" -> "c"; "a/b/c" -> "a/b" into out ("." when there is no slash). */
const char *nl_basename(const char *path);
void nl_dirname(const char *path, char *out, size_t n);
/* mkdir -p. */
nl_status nl_mkdirs(const char *path, nl_error *err);
/* fsync of a directory (after a rename in it); errors ignored. */
void nl_fsync_dir(const char *path);

#endif
