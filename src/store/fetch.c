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

/* ---- filesystem helpers ---------------------------------------------------------- */

static int remove_tree_depth(const char *path, int depth) {
    DIR *dir = opendir(path);
    if (!dir) return unlink(path);
    struct dirent *de;
    int rc = 0;
    char p[PATH_MAX_];
    while ((de = readdir(dir))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        int n = snprintf(p, sizeof p, "%s/%s", path, de->d_name);
        if (n < 0 || (size_t)n >= sizeof p) {
            rc = -1;
            continue;
        }
        struct stat st;
        if (lstat(p, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            if (depth <= 0 || remove_tree_depth(p, depth - 1)) rc = -1;
        } else if (unlink(p) != 0) {
            rc = -1;
        }
    }
    closedir(dir);
    if (rmdir(path) != 0) rc = -1;
    return rc;
}

int nl_remove_tree(const char *path) {
    return remove_tree_depth(path, 1);
}

static int path_join(char *out, size_t n, const char *a, const char *b) {
    int k = snprintf(out, n, "%s/%s", a, b);
    return k >= 0 && (size_t)k < n;
}

/* DIR/.../.NAME.part for DIR/.../NAME */
static int part_path(char *out, size_t n, const char *dest) {
    char dir[PATH_MAX_];
    nl_dirname(dest, dir, sizeof dir);
    int k = snprintf(out, n, "%s/.%s.part", dir, nl_basename(dest));
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

/* expected: size for progress and resume decisions (0 = unknown); exact: the
 * file must have exactly that size (no other size can pass the check). */
static outcome transfer(const char *url, const char *part, const nl_fetch_options *o,
                        const char *label, uint64_t expected, int exact, char *why, size_t whyn,
                        nl_status *fatal, int *resumed, int *conn_fail) {
    *resumed = 0;
    *conn_fail = 0;
    int fd = open(part, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(why, whyn, "%.300s: cannot create: %s", part, strerror(errno));
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
    x.limit = exact && expected ? expected : UNKNOWN_SIZE_CAP;
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
            snprintf(why, whyn, "the server sent more than the expected %llu bytes",
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

static nl_status fetch_url_session(session *ss, const char *const *urls, int nurls,
                                   const char *dest, const char *label, uint64_t expected,
                                   int exact, nl_fetch_check_fn check, void *ctx,
                                   const nl_fetch_options *o, nl_error *err) {
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK)
        return nl_error_set(err, NL_ENET, "curl_global_init failed: %s",
                            curl_easy_strerror(curl_init_rc));
    if (o->offline) return nl_error_set(err, NL_ENOTFOUND, "%s: not downloaded: offline", label);
    if (nurls <= 0) return nl_error_set(err, NL_EINVAL, "%s: no URL to fetch it from", label);
    char part[PATH_MAX_], dir[PATH_MAX_];
    if (!part_path(part, sizeof part, dest))
        return nl_error_set(err, NL_EINVAL, "path too long: %s", dest);
    nl_dirname(dest, dir, sizeof dir);
    nl_status st = nl_mkdirs(dir, err);
    if (st) return st;

    char fails[NL_ERROR_MSG_MAX] = "", mismatch[NL_ERROR_MSG_MAX] = "";
    int retries = o->retries < 1 ? 1 : o->retries;
    for (int u = 0; u < nurls; u++) {
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
            int resumed = 0, conn_fail = 0;
            outcome oc = transfer(url, part, o, label, expected, exact, why, sizeof why, &fatal,
                                  &resumed, &conn_fail);
            if (oc == OUT_DONE) {
                nl_error ce = {0};
                nl_status cs = check ? check(ctx, part, &ce) : NL_OK;
                if (cs == NL_OK) {
                    if (rename(part, dest) != 0)
                        return nl_error_set(err, NL_EIO, "cannot move %s to %s: %s", part, dest,
                                            strerror(errno));
                    nl_fsync_dir(dir);
                    logf_(o, "%s: saved %s", label, dest);
                    return NL_OK;
                }
                unlink(part);
                if (cs != NL_ECHECKSUM) {
                    return nl_error_set(err, cs, "%s", ce.msg);
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
                    return nl_error_set(err, NL_EINTR,
                                        "%s: download cancelled (the partial file %s is resumed "
                                        "next time)",
                                        label, part);
                return nl_error_set(err, fatal, "%s: %s", label, why);
            }
            if (oc == OUT_RESTART || oc == OUT_BADDATA) {
                unlink(part);
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
    if (mismatch[0]) return nl_error_set(err, NL_ECHECKSUM, "%s", mismatch);
    return nl_error_set(err, NL_ENET, "%s: could not be downloaded: %s", label, fails);
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
    return fetch_url_session(&ss, urls, nurls, dest, label ? label : nl_basename(dest),
                             expected_size, expected_size != 0, check, check_ctx, o, err);
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

static nl_status download_one(session *ss, const char *data_dir, const nl_data_info *d,
                              const nl_data_download *dl, const nl_data_member *m,
                              const nl_fetch_options *o, nl_error *err) {
    char urls[NL_CATALOG_MAX_FILES + 8][URL_MAX];
    int n = make_urls(d, dl, o, urls, NL_CATALOG_MAX_FILES + 8);
    const char *ptrs[NL_CATALOG_MAX_FILES + 8];
    for (int i = 0; i < n; i++) ptrs[i] = urls[i];
    char dest[PATH_MAX_];
    if (!path_join(dest, sizeof dest, data_dir, dl->path))
        return nl_error_set(err, NL_EINVAL, "path too long: %s/%s", data_dir, dl->path);
    dl_check_ctx ctx = {d, dl, m};
    /* A recompressed copy (another size) may pass through its unpacked content. */
    int exact = !(m && m->sha256);
    return fetch_url_session(ss, ptrs, n, dest, dl->path, dl->size, exact, check_download, &ctx, o,
                             err);
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

static nl_status fetch_idx(session *ss, const char *data_dir, const nl_data_info *d,
                           const nl_fetch_options *o, nl_error *err) {
    int need[NL_CATALOG_MAX_FILES] = {0}, bad_raw[NL_CATALOG_MAX_FILES] = {0};
    char raw[NL_CATALOG_MAX_FILES][PATH_MAX_], gz[NL_CATALOG_MAX_FILES][PATH_MAX_];
    char missing[768] = "";
    int nneed = 0;
    for (int i = 0; i < d->nmembers; i++) {
        const nl_data_member *m = &d->members[i];
        const nl_data_download *dl = &d->downloads[i];
        char rel[512], detail[640];
        snprintf(rel, sizeof rel, "%s/%s", d->subdir, m->name);
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
                if (unlink(gz[i]) == 0) logf_(o, "%s: removed (corrupt)", dl->path);
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
            nl_status st = download_one(ss, data_dir, d, &d->downloads[i], &d->members[i], o, err);
            if (st) return st;
        }
        if (bad_raw[i]) { /* the loader prefers the raw file: it must go */
            if (unlink(raw[i]) == 0)
                logf_(o, "%s/%s: removed (%s)", d->subdir, d->members[i].name,
                      o->force ? "replaced by the download" : "corrupt");
            else if (errno != ENOENT)
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

static nl_status install_archive(const char *data_dir, const nl_data_info *d, const char *archive,
                                 const nl_fetch_options *o, nl_error *err) {
    char tmp[PATH_MAX_], old[PATH_MAX_], final[PATH_MAX_];
    int k1 = snprintf(tmp, sizeof tmp, "%s/.%s.unpack", data_dir, d->subdir);
    int k2 = snprintf(old, sizeof old, "%s/.%s.old", data_dir, d->subdir);
    int k3 = snprintf(final, sizeof final, "%s/%s", data_dir, d->subdir);
    if (k1 < 0 || k2 < 0 || k3 < 0 || (size_t)k1 >= sizeof tmp || (size_t)k2 >= sizeof old ||
        (size_t)k3 >= sizeof final)
        return nl_error_set(err, NL_EINVAL, "data directory path is too long");
    if (access(tmp, F_OK) == 0) nl_remove_tree(tmp);
    if (mkdir(tmp, 0755) != 0)
        return nl_error_set(err, NL_EIO, "cannot create %s: %s", tmp, strerror(errno));
    logf_(o, "%s: unpacking into %s", d->downloads[0].path, final);
    int count = 0;
    nl_status st = nl_untar_gz(archive, d->subdir, tmp, &count, err);
    if (!st) st = check_unpacked(d, tmp, d->downloads[0].path, err);
    if (!st) {
        nl_fsync_dir(tmp);
        if (access(old, F_OK) == 0) nl_remove_tree(old);
        if (access(final, F_OK) == 0 && rename(final, old) != 0)
            st = nl_error_set(err, NL_EIO, "cannot move the old %s aside: %s", final,
                              strerror(errno));
    }
    if (!st && rename(tmp, final) != 0) {
        st = nl_error_set(err, NL_EIO, "cannot move %s to %s: %s", tmp, final, strerror(errno));
        rename(old, final); /* put the old one back */
    }
    if (st) {
        nl_remove_tree(tmp);
        return st;
    }
    nl_fsync_dir(data_dir);
    if (access(old, F_OK) == 0 && nl_remove_tree(old) != 0)
        logf_(o, "could not remove the replaced copy %s", old);
    if (unlink(archive) == 0) {
        nl_fsync_dir(data_dir);
        logf_(o, "%s: unpacked %d files; archive removed", d->downloads[0].path, count);
    }
    return NL_OK;
}

static nl_status fetch_archive(session *ss, const char *data_dir, const nl_data_info *d,
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
            unlink(archive);
        }
    }
    if (!have_archive) {
        if (o->offline) {
            char what[PATH_MAX_ * 2 + 8];
            snprintf(what, sizeof what, "%s/ or %s", dir, archive);
            return offline_error(data_dir, d, what, err);
        }
        nl_status st = download_one(ss, data_dir, d, dl, NULL, o, err);
        if (st) return st;
    }
    return install_archive(data_dir, d, archive, o, err);
}

/* Only one nnlab fetches into a data directory at a time. */
static int lock_data_dir(const char *data_dir, const nl_fetch_options *o, nl_error *err) {
    char p[PATH_MAX_];
    if (!path_join(p, sizeof p, data_dir, ".nnlab-fetch.lock")) {
        nl_error_set(err, NL_EINVAL, "data directory path is too long");
        return -1;
    }
    int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 && (errno == EACCES || errno == EROFS || errno == EPERM))
        return -2; /* read-only: fine while nothing needs writing, and any write says why */
    if (fd < 0) {
        nl_error_set(err, NL_EIO, "cannot create the lock file %s: %s", p, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        logf_(o, "waiting for another nnlab that is fetching into %s", data_dir);
        while (flock(fd, LOCK_EX) != 0 && errno == EINTR) {
        }
    }
    return fd;
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
    if (!opt->offline && !nl_is_dir(data_dir)) {
        st = nl_mkdirs(data_dir, err);
        if (st) return st;
    }
    int lock = -1;
    if (!opt->offline) {
        lock = lock_data_dir(data_dir, opt, err);
        if (lock == -1) return err ? err->code : NL_EIO;
    }
    session ss = {0};
    st = d->kind == NL_DATA_IDX ? fetch_idx(&ss, data_dir, d, opt, err)
                                : fetch_archive(&ss, data_dir, d, opt, err);
    if (lock >= 0) close(lock);
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
