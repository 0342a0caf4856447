/* Small helpers of the bench harness: strings, files, names. */
#include "harness/harness_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void sb_init(sbuf *b) {
    memset(b, 0, sizeof *b);
}

void sb_free(sbuf *b) {
    free(b->s);
    sb_init(b);
}

static int sb_grow(sbuf *b, size_t extra) {
    if (b->oom) return -1;
    if (b->len + extra + 1 <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) cap *= 2;
    char *p = realloc(b->s, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->s = p;
    b->cap = cap;
    return 0;
}

void sb_putn(sbuf *b, const char *s, size_t n) {
    if (sb_grow(b, n)) return;
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void sb_puts(sbuf *b, const char *s) {
    sb_putn(b, s, strlen(s));
}

void sb_vprintf(sbuf *b, const char *fmt, va_list ap) {
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0 || sb_grow(b, (size_t)n)) return;
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void sb_printf(sbuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(b, fmt, ap);
    va_end(ap);
}

void sb_html(sbuf *b, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '&':
            sb_puts(b, "&amp;");
            break;
        case '<':
            sb_puts(b, "&lt;");
            break;
        case '>':
            sb_puts(b, "&gt;");
            break;
        case '"':
            sb_puts(b, "&quot;");
            break;
        case '\'':
            sb_puts(b, "&#39;");
            break;
        default:
            sb_putn(b, s, 1);
        }
    }
}

void sb_csv(sbuf *b, const char *s) {
    if (!strpbrk(s, ",\"\n\r")) {
        sb_puts(b, s);
        return;
    }
    sb_puts(b, "\"");
    for (; *s; s++) {
        if (*s == '"') sb_puts(b, "\"");
        sb_putn(b, s, 1);
    }
    sb_puts(b, "\"");
}

void sb_base64(sbuf *b, const unsigned char *p, size_t n) {
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (sb_grow(b, (n + 2) / 3 * 4)) return;
    char *o = b->s + b->len;
    size_t i = 0;
    for (; i + 2 < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
        *o++ = tab[v >> 18 & 63], *o++ = tab[v >> 12 & 63], *o++ = tab[v >> 6 & 63];
        *o++ = tab[v & 63];
    }
    if (i < n) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0);
        *o++ = tab[v >> 18 & 63], *o++ = tab[v >> 12 & 63];
        *o++ = i + 1 < n ? tab[v >> 6 & 63] : '=';
        *o++ = '=';
    }
    b->len = (size_t)(o - b->s);
    b->s[b->len] = '\0';
}

void sb_num(sbuf *b, double v, int dec, const char *missing) {
    if (!isfinite(v))
        sb_puts(b, missing);
    else
        sb_printf(b, "%.*f", dec, v);
}

nl_status bench_write_file(const char *path, const char *data, size_t len, nl_error *err) {
    size_t pl = strlen(path);
    char *tmp = malloc(pl + 16);
    if (!tmp) return nl_error_set(err, NL_ENOMEM, "out of memory writing %s", path);
    memcpy(tmp, path, pl);
    memcpy(tmp + pl, ".tmp.XXXXXX", 12);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        nl_status s = nl_error_set(err, NL_EIO, "%s: cannot create a temporary file: %s", path,
                                   strerror(errno));
        free(tmp);
        return s;
    }
    fchmod(fd, 0644);
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            nl_status s = nl_error_set(err, NL_EIO, "%s: write failed: %s", tmp, strerror(errno));
            close(fd);
            unlink(tmp);
            free(tmp);
            return s;
        }
        off += (size_t)w;
    }
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        nl_status s = nl_error_set(err, NL_EIO, "%s: cannot write: %s", path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return s;
    }
    free(tmp);
    return NL_OK;
}

nl_status bench_read_file(const char *path, size_t max, char **data, size_t *len, nl_error *err) {
    *data = NULL;
    *len = 0;
    /* O_NONBLOCK: opening a FIFO must not wait for a writer */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) return nl_error_set(err, NL_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    nl_status st = NL_OK;
    char *text = NULL;
    if (fstat(fd, &sb) != 0) {
        st = nl_error_set(err, NL_EIO, "%s: cannot stat: %s", path, strerror(errno));
    } else if (!S_ISREG(sb.st_mode)) {
        st = nl_error_set(err, NL_EINVAL, "%s: not a regular file (%s)", path,
                          S_ISDIR(sb.st_mode)    ? "a directory"
                          : S_ISFIFO(sb.st_mode) ? "a FIFO"
                          : S_ISCHR(sb.st_mode)  ? "a character device"
                          : S_ISBLK(sb.st_mode)  ? "a block device"
                          : S_ISSOCK(sb.st_mode) ? "a socket"
                                                 : "not a file");
    } else if ((uint64_t)sb.st_size > max) {
        st = nl_error_set(err, NL_EINVAL, "%s: %lld bytes, larger than the limit of %zu", path,
                          (long long)sb.st_size, max);
    } else if (!(text = malloc((size_t)sb.st_size + 1))) {
        st = nl_error_set(err, NL_ENOMEM, "%s: out of memory reading it", path);
    }
    size_t cap = st ? 0 : (size_t)sb.st_size, n = 0;
    while (!st) { /* bounded even if the file grows meanwhile */
        if (n == cap) {
            if (cap >= max) {
                char c;
                ssize_t r = read(fd, &c, 1);
                if (r > 0)
                    st =
                        nl_error_set(err, NL_EINVAL, "%s: larger than the limit of %zu", path, max);
                if (r < 0 && errno == EINTR) continue;
                break;
            }
            size_t nc = cap * 2 + 4096 < max ? cap * 2 + 4096 : max;
            char *p = realloc(text, nc + 1);
            if (!p) {
                st = nl_error_set(err, NL_ENOMEM, "%s: out of memory reading it", path);
                break;
            }
            text = p;
            cap = nc;
        }
        ssize_t r = read(fd, text + n, cap - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) st = nl_error_set(err, NL_EIO, "%s: read error: %s", path, strerror(errno));
        if (r <= 0) break;
        n += (size_t)r;
    }
    close(fd);
    if (st) {
        free(text);
        return st;
    }
    text[n] = '\0';
    *data = text;
    *len = n;
    return NL_OK;
}

nl_status bench_path(char *out, size_t n, const char *dir, const char *name, nl_error *err) {
    int r = snprintf(out, n, "%s/%s", dir, name);
    if (r < 0 || (size_t)r >= n)
        return nl_error_set(err, NL_EINVAL, "path too long: %s/%s", dir, name);
    return NL_OK;
}

void bench_slug(char *out, size_t n, const char *s) {
    size_t k = 0;
    for (; *s && k + 1 < n; s++) {
        char c = *s;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_' || c == '.';
        out[k++] = ok ? c : '_';
    }
    if (n) out[k] = '\0';
}

void bench_strf(char *out, size_t n, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(out, n, fmt, ap);
    va_end(ap);
    (void)r;
}

void bench_fmt_duration(char *out, size_t n, double s) {
    if (!isfinite(s) || s < 0) {
        snprintf(out, n, "?");
        return;
    }
    long t = lround(s);
    if (t < 60)
        snprintf(out, n, "%ld s", t);
    else if (t < 3600)
        snprintf(out, n, "%ld min %02ld s", t / 60, t % 60);
    else
        snprintf(out, n, "%ld h %02ld min", t / 3600, (t % 3600) / 60);
}

void bench_group_base(char *out, size_t n, const nl_bench_group *g) {
    char c[64], w[64];
    bench_slug(c, sizeof c, g->contestant);
    bench_slug(w, sizeof w, g->workload);
    snprintf(out, n, "%s_%s", c, w);
}

/* Colour-blind-friendly palette (Okabe-Ito, then Tableau), faint = mixed with white. */
static const char *const colors[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                     "#E69F00", "#56B4E9", "#8C564B", "#7F7F7F"};
static const char *const faint[] = {"#9CC3E0", "#EEBB99", "#99D8C7", "#EBC9DC",
                                    "#F5D599", "#BBE1F6", "#D1BBB7", "#CCCCCC"};

const char *bench_color(size_t i) {
    return colors[i % (sizeof colors / sizeof colors[0])];
}
const char *bench_color_faint(size_t i) {
    return faint[i % (sizeof faint / sizeof faint[0])];
}

void bench_threads_text(char *out, size_t n, const nl_bench_config *cfg) {
    int variants = 0, multi = 0, multi_t = 0;
    for (size_t i = 0; i < cfg->ncontestants; i++) {
        const nl_bench_contestant *c = &cfg->contestants[i];
        const int mp = nl_bench_contestant_multiprocess(c);
        variants += !mp && c->threads > 0;
        multi += mp;
        multi_t += mp && c->threads > 0;
    }
    snprintf(out, n, "%d thread%s%s%s%s%s%s", cfg->threads, cfg->threads == 1 ? "" : "s",
             multi ? " per process" : "", variants || multi ? " (" : "",
             variants ? "NAME-tT: T threads" : "", variants && multi ? "; " : "",
             !multi    ? ""
             : multi_t ? "NAME-rR-tT: R ranks x T threads)"
                       : "NAME-rR: R ranks)");
    if (variants && !multi) strncat(out, ")", n - strlen(out) - 1);
}
