/* Downloads into the cache: libcurl (certificates verified, connect and stall
 * timeouts), retries with exponential backoff, resume of a partial file with a
 * Range request, hash check before an fsync'ed rename into place. */
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/path.h"
#include "store/store_internal.h"
#include "nnlab/core.h"
#include "nnlab/fetch.h"

#define URL_MAX          2048
#define PATH_MAX_        4096
#define UNKNOWN_SIZE_CAP ((uint64_t)4 << 30)

/* ---- the cache directory ------------------------------------------------------------
 * Every file the store creates, writes, renames or removes is reached from an
 * open descriptor of the data directory (which may itself be a symbolic link:
 * it is the user's choice), one component at a time with O_NOFOLLOW. A link
 * found inside is never followed: where a directory, a partial download, the
 * lock or a temporary entry should be, it is an error that names it. */

#define SYMLINK_HINT                                                                               \
    "is a symbolic link; the dataset store does not follow links inside the "                      \
    "data directory (remove it)"

typedef struct made_dirs { /* directories created by one fetch, to remove if it fails */
    int n;
    char rel[8][512];
} made_dirs;

static nl_status link_error(nl_error *err, const char *base, const char *rel) {
    return nl_error_set(err, NL_EIO, "%s/%s: " SYMLINK_HINT, base, rel);
}

/* Opens directory base/reldir ("" = base itself) from base_fd, creating missing
 * components when made is set (and recording them there). -1 with err set. */
static int open_rel_dir(int base_fd, const char *base, const char *reldir, made_dirs *made,
                        nl_error *err) {
    int fd = fcntl(base_fd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) {
        nl_error_set(err, NL_EIO, "%s: %s", base, strerror(errno));
        return -1;
    }
    char rel[PATH_MAX_];
    snprintf(rel, sizeof rel, "%s", reldir);
    size_t at = 0, n = strlen(rel);
    while (at < n) {
        size_t k = strcspn(rel + at, "/");
        char comp[256];
        if (k == 0 || k >= sizeof comp) {
            nl_error_set(err, NL_EINVAL, "%s/%s: bad path", base, reldir);
            close(fd);
            return -1;
        }
        memcpy(comp, rel + at, k);
        comp[k] = '\0';
        int nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (nfd < 0 && errno == ENOENT && made) {
            if (mkdirat(fd, comp, 0755) == 0) {
                if (made->n < 8)
                    snprintf(made->rel[made->n++], sizeof made->rel[0], "%.*s", (int)(at + k), rel);
            } else if (errno != EEXIST) {
                nl_error_set(err, NL_EIO, "cannot create directory %s/%.*s: %s", base,
                             (int)(at + k), rel, strerror(errno));
                close(fd);
                return -1;
            }
            nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        if (nfd < 0) {
            int e = errno;
            struct stat sb;
            char shown[PATH_MAX_];
            snprintf(shown, sizeof shown, "%.*s", (int)(at + k), rel);
            if (fstatat(fd, comp, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(sb.st_mode))
                link_error(err, base, shown);
            else
                nl_error_set(err, e == ENOENT ? NL_ENOTFOUND : NL_EIO, "%s/%s: cannot open: %s",
                             base, shown, e == ENOTDIR ? "not a directory" : strerror(e));
            close(fd);
            errno = e;
            return -1;
        }
        close(fd);
        fd = nfd;
        at += k;
        while (at < n && rel[at] == '/') at++;
    }
    return fd;
}

/* Removes the directories a failed fetch created (when they are empty). */
static void unmake_dirs(int base_fd, made_dirs *made) {
    for (int i = made->n - 1; i >= 0; i--) (void)unlinkat(base_fd, made->rel[i], AT_REMOVEDIR);
    made->n = 0;
}

/* Splits "a/b/c" into "a/b" and "c" ("" and "c" without a slash). */
static void split_rel(const char *rel, char *dir, size_t n, const char **name) {
    const char *s = strrchr(rel, '/');
    if (!s) {
        snprintf(dir, n, "%s", "");
        *name = rel;
    } else {
        snprintf(dir, n, "%.*s", (int)(s - rel), rel);
        *name = s + 1;
    }
}

/* Removes base/rel (a file, or a link as a link); 0 when done or not there. */
static int unlink_rel(int base_fd, const char *rel) {
    char dir[PATH_MAX_];
    const char *name;
    split_rel(rel, dir, sizeof dir, &name);
    int fd = open_rel_dir(base_fd, "", dir, NULL, NULL);
    if (fd < 0) return errno == ENOENT ? 0 : -1;
    int rc = unlinkat(fd, name, 0);
    int e = errno;
    if (rc == 0) (void)fsync(fd);
    close(fd);
    if (rc != 0 && e == ENOENT) rc = 0;
    errno = e;
    return rc;
}

/* Removes pfd/name: a directory with what is in it (depth levels of
 * subdirectories), or a single entry. Never follows a symbolic link: one met
 * inside is removed as a link. 0 on success. */
static int remove_tree_at(int pfd, const char *name, int depth) {
    int fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOTDIR || errno == ELOOP) return unlinkat(pfd, name, 0);
        return errno == ENOENT ? 0 : -1;
    }
    DIR *dir = fdopendir(fd);
    if (!dir) {
        close(fd);
        return -1;
    }
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(dir))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        struct stat st;
        if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            if (depth <= 0 || remove_tree_at(fd, de->d_name, depth - 1)) rc = -1;
        } else if (unlinkat(fd, de->d_name, 0) != 0) {
            rc = -1;
        }
    }
    closedir(dir);
    if (unlinkat(pfd, name, AT_REMOVEDIR) != 0) rc = -1;
    return rc;
}

int nl_remove_tree(const char *path) {
    char dir[PATH_MAX_];
    nl_dirname(path, dir, sizeof dir);
    const char *name = nl_basename(path);
    int pfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pfd < 0) return -1;
    struct stat st;
    int rc = -1;
    if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISLNK(st.st_mode))
        rc = remove_tree_at(pfd, name, 1);
    close(pfd);
    return rc;
}

/* Clears the store's own entry pfd/name (a temporary directory or a file)
 * before it is made again. A symbolic link there is an error naming it. */
static nl_status clear_entry(int pfd, const char *base, const char *name, nl_error *err) {
    struct stat st;
    if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT
                   ? NL_OK
                   : nl_error_set(err, NL_EIO, "%s/%s: %s", base, name, strerror(errno));
    if (S_ISLNK(st.st_mode)) return link_error(err, base, name);
    if (remove_tree_at(pfd, name, 1) != 0)
        return nl_error_set(err, NL_EIO, "%s/%s: cannot remove it: %s", base, name,
                            strerror(errno));
    return NL_OK;
}

static int path_join(char *out, size_t n, const char *a, const char *b) {
    int k = snprintf(out, n, "%s/%s", a, b);
    return k >= 0 && (size_t)k < n;
}

/* ---- options ------------------------------------------------------------------------ */

static nl_status env_double(const char *name, double lo, double hi, double *out, nl_error *err) {
    const char *s = getenv(name);
    if (!s || !*s) return NL_OK;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi)
        return nl_error_set(err, NL_EINVAL, "%s='%s': expected a number in [%g, %g]", name, s, lo,
                            hi);
    *out = v;
    return NL_OK;
}

static int env_true(const char *name) {
    const char *s = getenv(name);
    return s && *s && strcmp(s, "0") && strcasecmp(s, "false") && strcasecmp(s, "no") &&
           strcasecmp(s, "off");
}

nl_status nl_fetch_options_init(nl_fetch_options *o, nl_error *err) {
    memset(o, 0, sizeof *o);
    o->connect_timeout_s = 30;
    o->stall_timeout_s = 60;
    o->retries = 3;
    o->backoff_s = 1;
    o->offline = env_true("NNLAB_OFFLINE");
    const char *m = getenv("NNLAB_MIRROR");
    o->mirror = m && *m ? m : NULL;
    double t = -1, r = -1;
    nl_status st = env_double("NNLAB_FETCH_TIMEOUT", 0.1, 86400, &t, err);
    if (!st) st = env_double("NNLAB_FETCH_RETRIES", 1, 100, &r, err);
    if (!st) st = env_double("NNLAB_FETCH_BACKOFF", 0, 3600, &o->backoff_s, err);
    if (st) return st;
    if (t > 0) o->connect_timeout_s = o->stall_timeout_s = t;
    if (r > 0) {
        if (r != floor(r))
            return nl_error_set(err, NL_EINVAL, "NNLAB_FETCH_RETRIES='%s': expected an integer",
                                getenv("NNLAB_FETCH_RETRIES"));
        o->retries = (int)r;
    }
    return NL_OK;
}

static void logf_(const nl_fetch_options *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void logf_(const nl_fetch_options *o, const char *fmt, ...) {
    if (!o || !o->log) return;
    char buf[1536];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    o->log(o->user, buf);
}

/* ---- one transfer ------------------------------------------------------------------- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;
static void curl_init(void) {
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

typedef struct xfer {
    CURL *curl;
    int fd;
    uint64_t offset;  /* bytes already in the part file when this transfer began */
    uint64_t written; /* bytes written by this transfer */
    uint64_t limit;   /* most bytes the whole file may have */
    int code_checked, restarted, too_big, cancelled;
    int ranges; /* the server answered 206 or sent Accept-Ranges: bytes */
    int exact;  /* limit is the file's exact size (else a cap with a margin) */
    char werr[256];
    const nl_fetch_options *o;
    const char *label;
    uint64_t expected;
} xfer;

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *ud) {
    xfer *x = ud;
    size_t n = size * nmemb;
    if (!x->code_checked) {
        x->code_checked = 1;
        long code = 0;
        curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &code);
        if (x->offset > 0 && code == 200) { /* the server ignored Range: start over */
            if (ftruncate(x->fd, 0) != 0 || lseek(x->fd, 0, SEEK_SET) < 0) {
                snprintf(x->werr, sizeof x->werr, "cannot truncate the partial file: %s",
                         strerror(errno));
                return 0;
            }
            x->offset = 0;
            x->restarted = 1;
        }
        if (code == 206) x->ranges = 1;
    }
    if (x->offset + x->written + n > x->limit) {
        x->too_big = 1;
        return 0;
    }
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(x->fd, ptr + done, n - done);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) {
            snprintf(x->werr, sizeof x->werr, "write failed: %s", strerror(errno));
            return 0;
        }
        done += (size_t)w;
    }
    x->written += n;
    return n;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ut,
                       curl_off_t un) {
    (void)ut;
    (void)un;
    xfer *x = ud;
    if (!x->o || !x->o->progress) return 0;
    uint64_t total = dltotal > 0 ? x->offset + (uint64_t)dltotal : x->expected;
    if (x->o->progress(x->o->user, x->label, x->offset + (uint64_t)(dlnow > 0 ? dlnow : 0),
                       total)) {
        x->cancelled = 1;
        return 1;
    }
    return 0;
}

typedef enum outcome {
    OUT_DONE,      /* transfer complete */
    OUT_RETRY,     /* transient: try the same URL again after a pause */
    OUT_NEXT,      /* this URL will not work: go to the next one */
    OUT_HOST_DOWN, /* next URL, and skip this host from now on */
    OUT_RESTART,   /* drop the partial file and try again at once */
    OUT_BADDATA,   /* the server sent something that cannot be the file */
    OUT_FATAL,     /* local problem (disk) or cancelled: stop everything */
} outcome;

/* Opens the partial file pfd/name for writing: never through a symbolic link,
 * never anything but a regular file (a FIFO there does not block). */
static int open_part(int pfd, const char *name, const char *shown, char *why, size_t whyn) {
    int fd = openat(pfd, name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        struct stat ls;
        if (e != ELOOP && fstatat(pfd, name, &ls, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(ls.st_mode))
            snprintf(why, whyn, "%.300s: is %s, not a regular file (remove it)", shown,
                     nl_file_type_name((unsigned)ls.st_mode));
        else
            snprintf(why, whyn, "%.300s: cannot create: %s", shown,
                     e == ELOOP ? SYMLINK_HINT : strerror(e));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(why, whyn, "%.300s: is %s, not a regular file (remove it)", shown,
                 nl_file_type_name((unsigned)st.st_mode));
        close(fd);
        return -1;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    return fd;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud) {
    xfer *x = ud;
    size_t n = size * nmemb;
    static const char key[] = "accept-ranges:";
    if (n > sizeof key && !strncasecmp(ptr, key, sizeof key - 1)) {
        const char *v = ptr + sizeof key - 1;
        while (*v == ' ' || *v == '\t') v++;
        if (!strncasecmp(v, "bytes", 5)) x->ranges = 1;
    }
    return n;
}

/* expected: size for progress and resume decisions (0 = unknown); exact: the
 * file must have exactly that size (no other size can pass the check); cap:
 * most bytes the file may have when it is not exact (0: UNKNOWN_SIZE_CAP).
 * *resumable: the server (or the scheme) can continue a partial file. */
static outcome transfer(const char *url, int pfd, const char *partname, const char *part,
                        const nl_fetch_options *o, const char *label, uint64_t expected, int exact,
                        uint64_t cap, char *why, size_t whyn, nl_status *fatal, int *resumed,
                        int *conn_fail, int *resumable) {
    *resumed = 0;
    *conn_fail = 0;
    *resumable = !strncmp(url, "file://", 7);
    int fd = open_part(pfd, partname, part, why, whyn);
    if (fd < 0) {
        *fatal = NL_EIO;
        return OUT_FATAL;
    }
    off_t end = lseek(fd, 0, SEEK_END);
    if (end < 0) end = 0;
    if (exact && expected && (uint64_t)end > expected) { /* longer than the file can be */
        if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) < 0)
            end = -1;
        else
            end = 0;
    }
    if (end < 0) {
        snprintf(why, whyn, "%.300s: cannot reset: %s", part, strerror(errno));
        close(fd);
        *fatal = NL_EIO;
        return OUT_FATAL;
    }
    if (exact && expected && (uint64_t)end == expected) { /* complete already: just check it */
        close(fd);
        *resumed = 1;
        return OUT_DONE;
    }
    CURL *c = curl_easy_init();
    if (!c) {
        close(fd);
        snprintf(why, whyn, "curl_easy_init failed");
        *fatal = NL_ENOMEM;
        return OUT_FATAL;
    }
    xfer x = {0};
    x.curl = c;
    x.fd = fd;
    x.offset = (uint64_t)end;
    x.limit = exact && expected ? expected : cap ? cap : UNKNOWN_SIZE_CAP;
    x.exact = exact && expected;
    x.o = o;
    x.label = label;
    x.expected = expected;
    char errbuf[CURL_ERROR_SIZE] = "";
    char agent[64];
    snprintf(agent, sizeof agent, "nnlab/%s", nl_version());
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &x);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https,file");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(c, CURLOPT_PROTOCOLS,
                     (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS | CURLPROTO_FILE));
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, agent);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(o->connect_timeout_s * 1000));
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME,
                     (long)(o->stall_timeout_s < 1 ? 1 : ceil(o->stall_timeout_s)));
    if (x.offset > 0) {
        curl_easy_setopt(c, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)x.offset);
        *resumed = 1;
    }
    CURLcode rc = curl_easy_perform(c);
    long code = 0;
    curl_off_t connect_us = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_getinfo(c, CURLINFO_CONNECT_TIME_T, &connect_us);
    curl_easy_cleanup(c);
    *conn_fail = rc == CURLE_COULDNT_CONNECT || (rc == CURLE_OPERATION_TIMEDOUT && connect_us == 0);
    if (x.restarted) *resumed = 0;
    if (x.ranges) *resumable = 1;
    int sync_bad = fsync(fd) != 0;
    close(fd);
    const char *msg = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    if (rc == CURLE_OK && sync_bad) {
        snprintf(why, whyn, "%.300s: fsync failed: %s", part, strerror(errno));
        *fatal = NL_EIO;
        return OUT_FATAL;
    }
    switch (rc) {
    case CURLE_OK:
        return OUT_DONE;
    case CURLE_ABORTED_BY_CALLBACK:
        snprintf(why, whyn, "cancelled");
        *fatal = NL_EINTR;
        return OUT_FATAL;
    case CURLE_WRITE_ERROR:
        if (x.too_big) {
            if (x.exact)
                snprintf(why, whyn, "the server sent more than the expected %llu bytes",
                         (unsigned long long)x.limit);
            else if (expected)
                snprintf(why, whyn,
                         "the server sent more than %llu bytes (the catalog's size of %llu "
                         "bytes plus a margin for a recompressed copy): stopped there",
                         (unsigned long long)x.limit, (unsigned long long)expected);
            else
                snprintf(why, whyn,
                         "the server sent more than %llu bytes, the most this file "
                         "can have: stopped there",
                         (unsigned long long)x.limit);
            return OUT_BADDATA;
        }
        snprintf(why, whyn, "%.200s: %.250s", part, x.werr[0] ? x.werr : msg);
        *fatal = NL_EIO;
        return OUT_FATAL;
    case CURLE_HTTP_RETURNED_ERROR:
        snprintf(why, whyn, "HTTP %ld", code);
        if (code == 416) return OUT_RESTART;
        if (code == 408 || code == 429 || code >= 500) return OUT_RETRY;
        return OUT_NEXT;
    case CURLE_RANGE_ERROR:
    case CURLE_BAD_DOWNLOAD_RESUME:
        snprintf(why, whyn, "resume refused: %s", msg);
        return OUT_RESTART;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        snprintf(why, whyn, "%s", msg);
        return OUT_HOST_DOWN;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        snprintf(why, whyn, "TLS certificate verification failed: %s", msg);
        return OUT_HOST_DOWN;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_FILE_COULDNT_READ_FILE:
    case CURLE_REMOTE_FILE_NOT_FOUND:
    case CURLE_LOGIN_DENIED:
    case CURLE_TOO_MANY_REDIRECTS:
        snprintf(why, whyn, "%s", msg);
        return OUT_NEXT;
    default: /* timeouts, refused or cut connections, receive errors */
        snprintf(why, whyn, "%s", msg);
        return OUT_RETRY;
    }
}

/* ---- a file from a list of URLs --------------------------------------------------------- */

typedef struct session {
    char dead[8][256]; /* hosts that could not be reached */
    int ndead;
} session;

static void url_host(const char *url, char *out, size_t n) {
    const char *s = strstr(url, "://");
    s = s ? s + 3 : url;
    size_t k = strcspn(s, "/?#");
    snprintf(out, n, "%.*s", (int)k, s);
}

static int host_dead(const session *s, const char *url) {
    char h[256];
    url_host(url, h, sizeof h);
    for (int i = 0; i < s->ndead; i++)
        if (!strcmp(s->dead[i], h)) return 1;
    return 0;
}

static void mark_dead(session *s, const char *url) {
    if (s->ndead >= 8 || host_dead(s, url)) return;
    url_host(url, s->dead[s->ndead++], sizeof s->dead[0]);
}

static void sleep_s(double s) {
    if (s <= 0) return;
    struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void append(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t n, const char *fmt, ...) {
    size_t len = strlen(buf);
    if (len + 1 >= n) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + len, n - len, fmt, ap);
    va_end(ap);
}

/* Fetches base/rel (base open as base_fd) through base/DIR/.NAME.part. On
 * failure the partial file stays only when the transfer can be resumed, and
 * the directories this call created are removed again when empty. */
static nl_status fetch_url_session(session *ss, const char *const *urls, int nurls, int base_fd,
                                   const char *base, const char *rel, const char *label,
                                   uint64_t expected, int exact, uint64_t cap,
                                   nl_fetch_check_fn check, void *ctx, const nl_fetch_options *o,
                                   nl_error *err) {
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK)
        return nl_error_set(err, NL_ENET, "curl_global_init failed: %s",
                            curl_easy_strerror(curl_init_rc));
    if (o->offline) return nl_error_set(err, NL_ENOTFOUND, "%s: not downloaded: offline", label);
    if (nurls <= 0) return nl_error_set(err, NL_EINVAL, "%s: no URL to fetch it from", label);
    char reldir[PATH_MAX_], part[PATH_MAX_], dest[PATH_MAX_], partname[300];
    const char *name;
    split_rel(rel, reldir, sizeof reldir, &name);
    int k1 = snprintf(partname, sizeof partname, ".%s.part", name);
    int k2 = snprintf(part, sizeof part, "%s/%s%s%s", base, reldir, reldir[0] ? "/" : "", partname);
    int k3 = snprintf(dest, sizeof dest, "%s/%s", base, rel);
    if (k1 < 0 || k2 < 0 || k3 < 0 || (size_t)k1 >= sizeof partname || (size_t)k2 >= sizeof part ||
        (size_t)k3 >= sizeof dest)
        return nl_error_set(err, NL_EINVAL, "path too long: %s/%s", base, rel);
    made_dirs made = {0};
    int dfd = open_rel_dir(base_fd, base, reldir, &made, err);
    if (dfd < 0) {
        unmake_dirs(base_fd, &made);
        return err ? err->code : NL_EIO;
    }

    char fails[NL_ERROR_MSG_MAX] = "", mismatch[NL_ERROR_MSG_MAX] = "";
    int retries = o->retries < 1 ? 1 : o->retries;
    int resumable = 0; /* a server (or file://) that can continue the partial file */
    nl_status st = NL_OK;
    for (int u = 0; u < nurls && !st; u++) {
        const char *url = urls[u];
        if (host_dead(ss, url)) {
            append(fails, sizeof fails, "%s%s: skipped (host unreachable earlier)",
                   fails[0] ? "; " : "", url);
            continue;
        }
        double delay = o->backoff_s;
        int restarts = 0;
        for (int attempt = 1; attempt <= retries;) {
            logf_(o, "%s: fetching %s%s", label, url, attempt > 1 ? " (again)" : "");
            char why[512] = "";
            nl_status fatal = NL_OK;
            int resumed = 0, conn_fail = 0, can_resume = 0;
            outcome oc = transfer(url, dfd, partname, part, o, label, expected, exact, cap, why,
                                  sizeof why, &fatal, &resumed, &conn_fail, &can_resume);
            resumable |= can_resume;
            if (oc == OUT_DONE) {
                nl_error ce = {0};
                nl_status cs = check ? check(ctx, part, &ce) : NL_OK;
                if (cs == NL_OK) {
                    if (renameat(dfd, partname, dfd, name) != 0) {
                        st = nl_error_set(err, NL_EIO, "cannot move %s to %s: %s", part, dest,
                                          strerror(errno));
                        break;
                    }
                    (void)fsync(dfd);
                    close(dfd);
                    logf_(o, "%s: saved %s", label, dest);
                    return NL_OK;
                }
                unlinkat(dfd, partname, 0);
                if (cs != NL_ECHECKSUM) {
                    st = nl_error_set(err, cs, "%s", ce.msg);
                    break;
                }
                if (resumed && restarts == 0) { /* maybe a stale partial file: once from 0 */
                    logf_(o, "%s: the resumed download does not check out (%s); starting over",
                          label, ce.msg);
                    restarts++;
                    continue;
                }
                logf_(o, "%s: %s; the download was deleted", label, ce.msg);
                if (!mismatch[0])
                    snprintf(mismatch, sizeof mismatch,
                             "%.700s (from %.250s); the download was deleted", ce.msg, url);
                append(fails, sizeof fails, "%s%s: hash mismatch", fails[0] ? "; " : "", url);
                break;
            }
            if (oc == OUT_FATAL) {
                if (fatal == NL_EINTR)
                    st = nl_error_set(err, NL_EINTR, "%s: download cancelled", label);
                else
                    st = nl_error_set(err, fatal, "%s: %s", label, why);
                break;
            }
            if (oc == OUT_RESTART || oc == OUT_BADDATA) {
                unlinkat(dfd, partname, 0);
                if (oc == OUT_BADDATA || restarts > 0) {
                    logf_(o, "%s: %s from %s", label, why, url);
                    append(fails, sizeof fails, "%s%s: %s", fails[0] ? "; " : "", url, why);
                    break;
                }
                logf_(o, "%s: %s; starting over", label, why);
                restarts++;
                continue;
            }
            if (oc == OUT_NEXT || oc == OUT_HOST_DOWN) {
                logf_(o, "%s: %s: %s", label, url, why);
                append(fails, sizeof fails, "%s%s: %s", fails[0] ? "; " : "", url, why);
                if (oc == OUT_HOST_DOWN) mark_dead(ss, url);
                break;
            }
            /* OUT_RETRY */
            if (attempt == retries) {
                logf_(o, "%s: %s: %s (gave up after %d attempt%s)", label, url, why, attempt,
                      attempt == 1 ? "" : "s");
                append(fails, sizeof fails, "%s%s: %s (after %d attempt%s)", fails[0] ? "; " : "",
                       url, why, attempt, attempt == 1 ? "" : "s");
                if (conn_fail) mark_dead(ss, url); /* spare the next files the wait */
                break;
            }
            logf_(o, "%s: %s: %s; retrying in %.3g s", label, url, why, delay);
            sleep_s(delay);
            delay = delay * 2 > 30 ? 30 : delay * 2;
            attempt++;
        }
    }
    if (!st && mismatch[0]) st = nl_error_set(err, NL_ECHECKSUM, "%s", mismatch);
    if (!st) st = nl_error_set(err, NL_ENET, "%s: could not be downloaded: %s", label, fails);
    /* Leave the directory as it was found, but for a partial file that the
     * next fetch can resume (nnlab data list shows it). */
    struct stat ps;
    int kept = 0;
    if (fstatat(dfd, partname, &ps, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(ps.st_mode)) {
        if (resumable && ps.st_size > 0) {
            kept = 1;
            logf_(o, "%s: kept the partial file %s (%lld bytes): the next fetch resumes it", label,
                  part, (long long)ps.st_size);
            if (err && strlen(err->msg) + strlen(part) + 80 < sizeof err->msg)
                append(err->msg, sizeof err->msg, " (the partial file %s is resumed next time)",
                       part);
        } else {
            unlinkat(dfd, partname, 0);
        }
    }
    close(dfd);
    if (!kept) unmake_dirs(base_fd, &made);
    return st;
}

nl_status nl_fetch_url(const char *const *urls, int nurls, const char *dest, const char *label,
                       uint64_t expected_size, nl_fetch_check_fn check, void *check_ctx,
                       const nl_fetch_options *o, nl_error *err) {
    session ss = {0};
    nl_fetch_options def;
    if (!o) {
        nl_status st = nl_fetch_options_init(&def, err);
        if (st) return st;
        o = &def;
    }
    if (o->offline)
        return nl_error_set(err, NL_ENOTFOUND, "%s: not downloaded: offline",
                            label ? label : nl_basename(dest));
    char dir[PATH_MAX_];
    nl_dirname(dest, dir, sizeof dir);
    const char *name = nl_basename(dest);
    if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
        return nl_error_set(err, NL_EINVAL, "%s: not a file name", dest);
    if (!o->offline) {
        nl_status st = nl_mkdirs(dir, err);
        if (st) return st;
    }
    int bfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (bfd < 0)
        return nl_error_set(err, o->offline ? NL_ENOTFOUND : NL_EIO, "%s: cannot open: %s", dir,
                            strerror(errno));
    nl_status st =
        fetch_url_session(&ss, urls, nurls, bfd, dir, name, label ? label : name, expected_size,
                          expected_size != 0, 0, check, check_ctx, o, err);
    close(bfd);
    return st;
}

/* ---- datasets ----------------------------------------------------------------------------- */

/* URLs for one download: NNLAB_MIRROR bases + its path, or catalog bases + its name. */
static int make_urls(const nl_data_info *d, const nl_data_download *dl, const nl_fetch_options *o,
                     char urls[][URL_MAX], int max) {
    int n = 0;
    if (o->mirror) {
        const char *s = o->mirror;
        while (*s && n < max) {
            size_t k = strcspn(s, " ,\t\n");
            if (k) {
                int slash = s[k - 1] == '/';
                snprintf(urls[n++], URL_MAX, "%.*s%s%s", (int)k, s, slash ? "" : "/", dl->path);
            }
            s += k;
            while (*s == ' ' || *s == ',' || *s == '\t' || *s == '\n') s++;
        }
        return n;
    }
    for (int i = 0; i < d->nmirrors && n < max; i++) {
        const char *b = d->mirrors[i];
        size_t k = strlen(b);
        snprintf(urls[n++], URL_MAX, "%s%s%s", b, k && b[k - 1] == '/' ? "" : "/",
                 nl_basename(dl->path));
    }
    return n;
}

typedef struct dl_check_ctx {
    const nl_data_info *d;
    const nl_data_download *dl;
    const nl_data_member *m; /* IDX member, NULL for an archive */
} dl_check_ctx;

static nl_status check_download(void *vctx, const char *part, nl_error *err) {
    dl_check_ctx *x = vctx;
    nl_file_check c = {0};
    c.info = x->d;
    c.member = x->m;
    c.gz = x->m != NULL;
    c.want_md5 = x->dl->md5 != NULL;
    nl_status st = nl_check_file(part, &c, err);
    if (st) return st;
    char detail[640];
    nl_verdict v = nl_judge_download(x->d, x->dl, x->m, &c, detail, sizeof detail);
    if (v == NL_VERDICT_OK) return NL_OK;
    return nl_error_set(err, NL_ECHECKSUM, "%s: %s", x->dl->path, detail);
}

/* Most bytes a download may have when its size is not exact (a recompressed
 * copy, checked through its content): the catalog's size plus a margin, or
 * for an IDX .gz without a size the member's own size plus gzip's overhead on
 * incompressible data. 0: no bound known (UNKNOWN_SIZE_CAP applies). */
static uint64_t size_cap(const nl_data_download *dl, const nl_data_member *m) {
    uint64_t cap = 0;
    if (dl->size) cap = dl->size + dl->size / 4 + 65536;
    if (m && m->record_size > 0 && m->records > 0) {
        uint64_t content = (uint64_t)m->record_size * (uint64_t)m->records + 64;
        uint64_t gz = content + content / 64 + 65536;
        if (!cap || gz < cap) cap = gz;
    }
    return cap;
}

static nl_status download_one(session *ss, int dfd, const char *data_dir, const nl_data_info *d,
                              const nl_data_download *dl, const nl_data_member *m,
                              const nl_fetch_options *o, nl_error *err) {
    char urls[NL_CATALOG_MAX_FILES + 8][URL_MAX];
    int n = make_urls(d, dl, o, urls, NL_CATALOG_MAX_FILES + 8);
    const char *ptrs[NL_CATALOG_MAX_FILES + 8];
    for (int i = 0; i < n; i++) ptrs[i] = urls[i];
    dl_check_ctx ctx = {d, dl, m};
    /* A recompressed copy (another size) may pass through its unpacked content. */
    int exact = !(m && m->sha256);
    return fetch_url_session(ss, ptrs, n, dfd, data_dir, dl->path, dl->path, dl->size, exact,
                             exact ? 0 : size_cap(dl, m), check_download, &ctx, o, err);
}

static nl_verdict judge_path(const nl_data_info *d, const nl_data_download *dl,
                             const nl_data_member *m, const char *path, int as_download,
                             char *detail, size_t n) {
    nl_file_check c = {0};
    c.info = d;
    c.member = m;
    c.gz = as_download && m != NULL;
    c.want_md5 = as_download && dl && dl->md5;
    nl_error e = {0};
    if (nl_check_file(path, &c, &e)) {
        snprintf(detail, n, "%.600s", e.msg);
        return NL_VERDICT_BAD;
    }
    if (as_download) return nl_judge_download(d, dl, m, &c, detail, n);
    return nl_judge_member(d, m, &c, detail, n, NULL);
}

static int usable(nl_verdict v) {
    return v == NL_VERDICT_OK || v == NL_VERDICT_UNVERIFIED;
}

static nl_status offline_error(const char *data_dir, const nl_data_info *d, const char *missing,
                               nl_error *err) {
    return nl_error_set(
        err, NL_ENOTFOUND,
        "dataset '%s' is not complete in %s (looked for %s) and the network is off "
        "(--offline or NNLAB_OFFLINE); fetch it with: nnlab data fetch %s --data %s",
        d->name, data_dir, missing, d->name, data_dir);
}

static nl_status fetch_idx(session *ss, int dfd, const char *data_dir, const nl_data_info *d,
                           const nl_fetch_options *o, nl_error *err) {
    int need[NL_CATALOG_MAX_FILES] = {0}, bad_raw[NL_CATALOG_MAX_FILES] = {0};
    char raw[NL_CATALOG_MAX_FILES][PATH_MAX_], gz[NL_CATALOG_MAX_FILES][PATH_MAX_];
    char raw_rel[NL_CATALOG_MAX_FILES][512];
    char missing[768] = "";
    int nneed = 0;
    for (int i = 0; i < d->nmembers; i++) {
        const nl_data_member *m = &d->members[i];
        const nl_data_download *dl = &d->downloads[i];
        char rel[512], detail[640];
        snprintf(rel, sizeof rel, "%s/%s", d->subdir, m->name);
        snprintf(raw_rel[i], sizeof raw_rel[i], "%s", rel);
        if (!path_join(raw[i], sizeof raw[i], data_dir, rel) ||
            !path_join(gz[i], sizeof gz[i], data_dir, dl->path))
            return nl_error_set(err, NL_EINVAL, "data directory path is too long");
        int raw_there = access(raw[i], F_OK) == 0, gz_there = access(gz[i], F_OK) == 0;
        nl_verdict vr = NL_VERDICT_MISSING, vg = NL_VERDICT_MISSING;
        if (raw_there) {
            vr = judge_path(d, dl, m, raw[i], 0, detail, sizeof detail);
            if (!usable(vr)) {
                bad_raw[i] = 1;
                logf_(o, "%s: %s", rel, detail);
            }
        }
        if (gz_there) {
            vg = judge_path(d, dl, m, gz[i], 1, detail, sizeof detail);
            if (!usable(vg)) logf_(o, "%s: %s", dl->path, detail);
        }
        if (o->force) {
            need[i] = 1;
            bad_raw[i] = raw_there; /* the fresh download replaces it */
        } else if (raw_there && usable(vr)) {
            need[i] = 0;
            if (gz_there && !usable(vg)) { /* a corrupt leftover next to a good file */
                if (unlink_rel(dfd, dl->path) == 0) logf_(o, "%s: removed (corrupt)", dl->path);
            }
        } else if (gz_there && usable(vg)) {
            need[i] = 0;
        } else {
            need[i] = 1;
        }
        if (need[i]) {
            nneed++;
            append(missing, sizeof missing, "%s%s", missing[0] ? ", " : "", dl->path);
        }
    }
    if (nneed && o->offline) return offline_error(data_dir, d, missing, err);
    for (int i = 0; i < d->nmembers; i++) {
        if (need[i]) {
            nl_status st =
                download_one(ss, dfd, data_dir, d, &d->downloads[i], &d->members[i], o, err);
            if (st) return st;
        }
        if (bad_raw[i]) { /* the loader prefers the raw file: it must go */
            if (unlink_rel(dfd, raw_rel[i]) == 0)
                logf_(o, "%s/%s: removed (%s)", d->subdir, d->members[i].name,
                      o->force ? "replaced by the download" : "corrupt");
            else
                return nl_error_set(err, NL_EIO,
                                    "%s cannot be removed (%s): the loader would read it instead "
                                    "of the verified %s",
                                    raw[i], strerror(errno), gz[i]);
        }
    }
    return NL_OK;
}

/* Checks the members unpacked into dir. NL_EFORMAT for a structure problem,
 * NL_ECHECKSUM when a pinned member hash disagrees. */
static nl_status check_unpacked(const nl_data_info *d, const char *dir, const char *archive,
                                nl_error *err) {
    for (int i = 0; i < d->nmembers; i++) {
        const nl_data_member *m = &d->members[i];
        char p[PATH_MAX_], detail[640];
        if (!path_join(p, sizeof p, dir, m->name))
            return nl_error_set(err, NL_EINVAL, "path too long");
        nl_file_check c = {0};
        c.info = d;
        c.member = m;
        nl_status st = nl_check_file(p, &c, err);
        if (st) return st;
        if (!c.exists)
            return nl_error_set(err, NL_EFORMAT, "%s: has no %s/%s", archive, d->subdir, m->name);
        nl_verdict v = nl_judge_member(d, m, &c, detail, sizeof detail, NULL);
        if (!c.structure_ok)
            return nl_error_set(err, NL_EFORMAT, "%s: %s/%s: %s", archive, d->subdir, m->name,
                                detail);
        if (v == NL_VERDICT_BAD)
            return nl_error_set(err, NL_ECHECKSUM,
                                "%s/%s unpacked from the verified %s: %s. The catalog's pinned "
                                "value for the unpacked file may be wrong (%s); the verified "
                                "archive is kept in the data directory, where the loader reads it",
                                d->subdir, m->name, archive, detail, d->sources);
    }
    return NL_OK;
}

static nl_status install_archive(int dfd, const char *data_dir, const nl_data_info *d,
                                 const char *archive, const nl_fetch_options *o, nl_error *err) {
    char tmp[300], old[300], tmp_path[PATH_MAX_], final[PATH_MAX_];
    int k1 = snprintf(tmp, sizeof tmp, ".%s.unpack", d->subdir);
    int k2 = snprintf(old, sizeof old, ".%s.old", d->subdir);
    int k3 = snprintf(final, sizeof final, "%s/%s", data_dir, d->subdir);
    int k4 = snprintf(tmp_path, sizeof tmp_path, "%s/%s", data_dir, tmp);
    if (k1 < 0 || k2 < 0 || k3 < 0 || k4 < 0 || (size_t)k1 >= sizeof tmp ||
        (size_t)k2 >= sizeof old || (size_t)k3 >= sizeof final || (size_t)k4 >= sizeof tmp_path)
        return nl_error_set(err, NL_EINVAL, "data directory path is too long");
    nl_status st = clear_entry(dfd, data_dir, tmp, err);
    if (st) return st;
    if (mkdirat(dfd, tmp, 0755) != 0)
        return nl_error_set(err, NL_EIO, "cannot create %s: %s", tmp_path, strerror(errno));
    logf_(o, "%s: unpacking into %s", d->downloads[0].path, final);
    int count = 0;
    st = nl_untar_gz(archive, d->subdir, tmp_path, &count, err);
    if (!st) st = check_unpacked(d, tmp_path, d->downloads[0].path, err);
    int moved = 0;
    if (!st) {
        int tfd = openat(dfd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (tfd >= 0) {
            (void)fsync(tfd);
            close(tfd);
        }
        st = clear_entry(dfd, data_dir, old, err);
    }
    if (!st) {
        struct stat fs;
        if (fstatat(dfd, d->subdir, &fs, AT_SYMLINK_NOFOLLOW) == 0) {
            /* a link there is moved aside as a link, never followed */
            if (renameat(dfd, d->subdir, dfd, old) != 0)
                st = nl_error_set(err, NL_EIO, "cannot move the old %s aside: %s", final,
                                  strerror(errno));
            else
                moved = 1;
        }
    }
    if (!st && renameat(dfd, tmp, dfd, d->subdir) != 0) {
        st =
            nl_error_set(err, NL_EIO, "cannot move %s to %s: %s", tmp_path, final, strerror(errno));
        if (moved) (void)renameat(dfd, old, dfd, d->subdir); /* put the old one back */
    }
    if (st) {
        (void)remove_tree_at(dfd, tmp, 1);
        return st;
    }
    (void)fsync(dfd);
    if (moved && remove_tree_at(dfd, old, 1) != 0)
        logf_(o, "could not remove the replaced copy %s/%s", data_dir, old);
    if (unlink_rel(dfd, d->downloads[0].path) == 0) {
        (void)fsync(dfd);
        logf_(o, "%s: unpacked %d files; archive removed", d->downloads[0].path, count);
    }
    return NL_OK;
}

static nl_status fetch_archive(session *ss, int dfd, const char *data_dir, const nl_data_info *d,
                               const nl_fetch_options *o, nl_error *err) {
    const nl_data_download *dl = &d->downloads[0];
    char dir[PATH_MAX_], archive[PATH_MAX_], detail[640];
    if (!path_join(dir, sizeof dir, data_dir, d->subdir) ||
        !path_join(archive, sizeof archive, data_dir, dl->path))
        return nl_error_set(err, NL_EINVAL, "data directory path is too long");
    if (!o->force && nl_is_dir(dir)) {
        int ok = 1;
        for (int i = 0; i < d->nmembers && ok; i++) {
            char p[PATH_MAX_];
            if (!path_join(p, sizeof p, dir, d->members[i].name)) return NL_EINVAL;
            nl_verdict v = judge_path(d, NULL, &d->members[i], p, 0, detail, sizeof detail);
            if (!usable(v)) {
                logf_(o, "%s/%s: %s", d->subdir, d->members[i].name, detail);
                ok = 0;
            }
        }
        if (ok) return NL_OK;
    }
    int have_archive = 0;
    if (access(archive, F_OK) == 0) {
        nl_verdict v = judge_path(d, dl, NULL, archive, 1, detail, sizeof detail);
        if (v == NL_VERDICT_OK && !o->force) {
            have_archive = 1;
        } else {
            logf_(o, "%s: %s; removing it", dl->path,
                  v == NL_VERDICT_OK ? "re-downloading" : detail);
            if (unlink_rel(dfd, dl->path) != 0)
                return nl_error_set(err, NL_EIO, "%s: cannot remove it: %s", archive,
                                    strerror(errno));
        }
    }
    if (!have_archive) {
        if (o->offline) {
            char what[PATH_MAX_ * 2 + 8];
            snprintf(what, sizeof what, "%s/ or %s", dir, archive);
            return offline_error(data_dir, d, what, err);
        }
        nl_status st = download_one(ss, dfd, data_dir, d, dl, NULL, o, err);
        if (st) return st;
    }
    return install_archive(dfd, data_dir, d, archive, o, err);
}

#define LOCK_NAME ".nnlab-fetch.lock"

/* Only one nnlab fetches into a data directory at a time. The lock file is
 * removed by its holder when done; a waiter that then finds its file unlinked
 * or replaced opens it again. */
static int lock_data_dir(int dfd, const char *data_dir, const nl_fetch_options *o, nl_error *err) {
    for (int tries = 0; tries < 1000; tries++) {
        int fd =
            openat(dfd, LOCK_NAME, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
        if (fd < 0 && (errno == EACCES || errno == EROFS || errno == EPERM))
            return -2; /* read-only: fine while nothing needs writing, and any write says why */
        if (fd < 0) {
            nl_error_set(err, NL_EIO, "cannot create the lock file %s/%s: %s", data_dir, LOCK_NAME,
                         errno == ELOOP ? SYMLINK_HINT : strerror(errno));
            return -1;
        }
        struct stat a, b;
        if (fstat(fd, &a) != 0 || !S_ISREG(a.st_mode)) {
            nl_error_set(err, NL_EIO, "the lock file %s/%s is %s, not a regular file (remove it)",
                         data_dir, LOCK_NAME, nl_file_type_name((unsigned)a.st_mode));
            close(fd);
            return -1;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            if (tries == 0)
                logf_(o, "waiting for another nnlab that is fetching into %s", data_dir);
            while (flock(fd, LOCK_EX) != 0 && errno == EINTR) {
            }
        }
        if (fstatat(dfd, LOCK_NAME, &b, AT_SYMLINK_NOFOLLOW) == 0 && a.st_dev == b.st_dev &&
            a.st_ino == b.st_ino)
            return fd;
        close(fd); /* the holder removed it meanwhile */
    }
    nl_error_set(err, NL_EIO, "%s/%s: could not take the lock", data_dir, LOCK_NAME);
    return -1;
}

static void unlock_data_dir(int dfd, int fd) {
    if (fd < 0) return;
    (void)unlinkat(dfd, LOCK_NAME, 0);
    close(fd);
}

/* The first directory of path that does not exist yet ("" when it exists). */
static void first_missing(const char *path, char *out, size_t n) {
    out[0] = '\0';
    char p[PATH_MAX_];
    snprintf(p, sizeof p, "%s", path);
    while (p[0] && access(p, F_OK) != 0) {
        snprintf(out, n, "%s", p);
        char *s = strrchr(p, '/');
        if (!s || s == p) break;
        *s = '\0';
    }
}

/* Removes the empty directories from path up to and including top. */
static void remove_empty_dirs(const char *path, const char *top) {
    char p[PATH_MAX_];
    snprintf(p, sizeof p, "%s", path);
    size_t tn = strlen(top);
    while (strlen(p) >= tn && rmdir(p) == 0) {
        if (strlen(p) == tn) break;
        char *s = strrchr(p, '/');
        if (!s || s == p) break;
        *s = '\0';
    }
}

nl_status nl_data_fetch(const char *data_dir, const char *dataset, const nl_fetch_options *opt,
                        nl_error *err) {
    const nl_data_info *d;
    nl_status st = nl_catalog_lookup(dataset, &d, err);
    if (st) return st;
    nl_fetch_options def;
    if (!opt) {
        st = nl_fetch_options_init(&def, err);
        if (st) return st;
        opt = &def;
    }
    /* Nothing to do: return before writing anything (not even the lock file),
     * so a read-only or shared data directory stays untouched. An archive
     * without its directory is still unpacked. */
    if (!opt->force) {
        nl_verify_report *r = malloc(sizeof *r);
        char dir[PATH_MAX_];
        if (!r) return nl_error_set(err, NL_ENOMEM, "out of memory");
        int done = nl_data_verify(data_dir, dataset, 0, r, NULL) == NL_OK &&
                   (r->verdict == NL_VERDICT_OK || r->verdict == NL_VERDICT_UNVERIFIED);
        free(r);
        if (done && d->kind != NL_DATA_IDX &&
            (!path_join(dir, sizeof dir, data_dir, d->subdir) || !nl_is_dir(dir)))
            done = 0;
        if (done) return NL_OK;
    }
    char made_top[PATH_MAX_] = "";
    if (!opt->offline && !nl_is_dir(data_dir)) {
        first_missing(data_dir, made_top, sizeof made_top);
        st = nl_mkdirs(data_dir, err);
        if (st) return st;
    }
    int dfd = open(data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        if (opt->offline) { /* nothing there: say what to fetch */
            session ss = {0};
            return d->kind == NL_DATA_IDX ? fetch_idx(&ss, -1, data_dir, d, opt, err)
                                          : fetch_archive(&ss, -1, data_dir, d, opt, err);
        }
        return nl_error_set(err, NL_EIO, "%s: cannot open the data directory: %s", data_dir,
                            strerror(errno));
    }
    int lock = -1;
    if (!opt->offline) {
        lock = lock_data_dir(dfd, data_dir, opt, err);
        if (lock == -1) {
            close(dfd);
            if (made_top[0]) remove_empty_dirs(data_dir, made_top);
            return err ? err->code : NL_EIO;
        }
    }
    session ss = {0};
    st = d->kind == NL_DATA_IDX ? fetch_idx(&ss, dfd, data_dir, d, opt, err)
                                : fetch_archive(&ss, dfd, data_dir, d, opt, err);
    unlock_data_dir(dfd, lock);
    close(dfd);
    if (st && made_top[0]) remove_empty_dirs(data_dir, made_top);
    return st;
}

nl_status nl_data_ensure(const char *data_dir, const char *dataset, int offline,
                         nl_fetch_progress_fn progress, void *user, nl_error *err) {
    const nl_data_info *d;
    nl_status st = nl_catalog_lookup(dataset, &d, err);
    if (st) return st;
    if (nl_data_present(data_dir, d)) return NL_OK;
    nl_fetch_options o;
    st = nl_fetch_options_init(&o, err);
    if (st) return st;
    if (offline) o.offline = 1;
    if (o.offline) {
        char what[1024];
        if (d->kind == NL_DATA_IDX)
            snprintf(what, sizeof what, "%s/%s/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]",
                     data_dir, d->subdir);
        else
            snprintf(what, sizeof what, "%s/%s/ and %s/%s", data_dir, d->subdir, data_dir,
                     d->downloads[0].path);
        if (d->custom || d->nmembers != 4) {
            snprintf(what, sizeof what, "%s/%s/", data_dir, d->subdir);
        }
        return offline_error(data_dir, d, what, err);
    }
    o.progress = progress;
    o.user = user;
    return nl_data_fetch(data_dir, dataset, &o, err);
}
