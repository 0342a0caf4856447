/* Path and directory helpers (src/core/path.c). Not installed: internal to
 * nnlab, but exported from libnnlab (NL_API) because libnnlab-tools (the
 * dataset store) calls them too. */
#ifndef NNLAB_CORE_PATH_H
#define NNLAB_CORE_PATH_H

#include <stddef.h>

#include "nnlab/error.h"
#include "nnlab/export.h"

/* 1 when path is (stat follows links) a regular file / a directory. */
NL_API int nl_is_file(const char *path);
NL_API int nl_is_dir(const char *path);
/* "a/b/c" -> "c"; "a/b/c" -> "a/b" into out ("." when there is no slash). */
NL_API const char *nl_basename(const char *path);
NL_API void nl_dirname(const char *path, char *out, size_t n);
/* mkdir -p. */
NL_API nl_status nl_mkdirs(const char *path, nl_error *err);
/* fsync of a directory (after a rename in it); errors ignored. */
NL_API void nl_fsync_dir(const char *path);

/* Opens path for reading (flags: O_RDONLY plus O_NOFOLLOW or the like) without
 * blocking on a FIFO or a device: opened with O_NONBLOCK | O_CLOEXEC, refused
 * unless it is a regular file, then O_NONBLOCK is cleared. Returns the fd, or
 * -1 with err set (NL_ENOTFOUND when it does not exist, NL_EIO otherwise; the
 * message names the path and, for a special file, its type). */
NL_API int nl_open_regular(const char *path, int flags, nl_error *err);
/* The file type of mode in words ("a FIFO", "a directory", ...). */
NL_API const char *nl_file_type_name(unsigned mode);

#endif
