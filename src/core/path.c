/* Path and directory helpers shared by the loaders and the dataset store. */
#include "core/path.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PATH_MAX_ 4096

int nl_is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int nl_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *nl_basename(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

void nl_dirname(const char *path, char *out, size_t n) {
    const char *s = strrchr(path, '/');
    if (!s) {
        snprintf(out, n, ".");
    } else if (s == path) {
        snprintf(out, n, "/");
    } else {
        snprintf(out, n, "%.*s", (int)(s - path), path);
    }
}

nl_status nl_mkdirs(const char *path, nl_error *err) {
    char p[PATH_MAX_];
    int n = snprintf(p, sizeof p, "%s", path);
    if (n < 0 || (size_t)n >= sizeof p)
        return nl_error_set(err, NL_EINVAL, "path too long: %s", path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            int e = errno;
            *s = '/';
            return nl_error_set(err, NL_EIO, "cannot create directory %.*s: %s", (int)(s - p), p,
                                strerror(e));
        }
        *s = '/';
    }
    if (mkdir(p, 0755) != 0 && errno != EEXIST)
        return nl_error_set(err, NL_EIO, "cannot create directory %s: %s", p, strerror(errno));
    if (!nl_is_dir(p)) return nl_error_set(err, NL_EIO, "%s exists and is not a directory", p);
    return NL_OK;
}

void nl_fsync_dir(const char *path) {
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    (void)fsync(fd);
    close(fd);
}

const char *nl_file_type_name(unsigned mode) {
    switch (mode & S_IFMT) {
    case S_IFREG:
        return "a regular file";
    case S_IFDIR:
        return "a directory";
    case S_IFIFO:
        return "a FIFO";
    case S_IFCHR:
        return "a character device";
    case S_IFBLK:
        return "a block device";
    case S_IFSOCK:
        return "a socket";
    case S_IFLNK:
        return "a symbolic link";
    default:
        return "a special file";
    }
}

int nl_open_regular(const char *path, int flags, nl_error *err) {
    int fd = open(path, flags | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        nl_error_set(err, e == ENOENT ? NL_ENOTFOUND : NL_EIO, "%s: cannot open: %s", path,
                     e == ELOOP && (flags & O_NOFOLLOW) ? "is a symbolic link" : strerror(e));
        errno = e;
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        nl_error_set(err, NL_EIO, "%s: cannot stat: %s", path, strerror(e));
        close(fd);
        errno = e;
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        nl_error_set(err, NL_EIO, "%s: is %s, not a regular file", path,
                     nl_file_type_name((unsigned)st.st_mode));
        close(fd);
        errno = EINVAL;
        return -1;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
        int e = errno;
        nl_error_set(err, NL_EIO, "%s: fcntl: %s", path, strerror(e));
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}
