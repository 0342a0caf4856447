/* Verification of the cache: structure and pinned hashes of every file, in
 * one streaming pass per file (gzip content is inflated on the fly). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/path.h"
#include "store/store_internal.h"
#include "nnlab/data.h"
#include "nnlab/fetch.h"

#define IN_CHUNK    (1u << 20)
#define OUT_CHUNK   (1u << 18)
#define MAX_CONTENT ((uint64_t)4 << 30) /* no dataset file here is larger */

/* ---- small path helpers ------------------------------------------------------- */

int nl_safe_relpath(const char *p) {
    if (!p || !*p || *p == '/') return 0;
    const char *s = p;
    for (const char *q = p;; q++) {
        if (*q == '/' || *q == '\0') {
            size_t n = (size_t)(q - s);
            if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
                return 0;
            if (*q == '\0') break;
            s = q + 1;
        } else if (*q == '\\' || (unsigned char)*q < 0x20 || *q == 0x7f) {
            return 0;
        }
    }
    return 1;
}

const char *nl_verdict_name(nl_verdict v) {
    switch (v) {
    case NL_VERDICT_MISSING:
        return "missing";
    case NL_VERDICT_BAD:
        return "BAD";
    case NL_VERDICT_UNVERIFIED:
        return "unverified";
    case NL_VERDICT_OK:
        return "verified";
    }
    return "?";
}

/* ---- structure checker (fed with the content in chunks) ------------------------- */

typedef struct checker {
    nl_data_kind kind;
    const nl_data_member *m;
    int num_classes;
    uint64_t pos;
    /* IDX */
    uint8_t hdr[16];
    int hdr_need, rank;
    uint64_t total; /* whole file size announced by the header */
    uint32_t dims[3];
    /* text */
    uint64_t lines;
    int in_line;
    int bad;
    char msg[256];
} checker;

static void checker_fail(checker *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void checker_fail(checker *k, const char *fmt, ...) {
    if (k->bad) return;
    k->bad = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(k->msg, sizeof k->msg, fmt, ap);
    va_end(ap);
}

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void idx_header_done(checker *k) {
    uint64_t n = 1;
    for (int i = 0; i < k->rank; i++) {
        k->dims[i] = be32(k->hdr + 4 + 4 * i);
        n *= k->dims[i];
        if (n > MAX_CONTENT) {
            checker_fail(k, "IDX dimensions overflow (dimension %d is %u)", i, k->dims[i]);
            return;
        }
    }
    k->total = (uint64_t)k->hdr_need + n;
    uint64_t rec = 1;
    for (int i = 1; i < k->rank; i++) rec *= k->dims[i];
    const nl_data_member *m = k->m;
    if (m->records && k->dims[0] != m->records)
        checker_fail(k, "IDX header says %u samples, expected %u", k->dims[0], m->records);
    else if (m->record_size && rec != m->record_size)
        checker_fail(k, "IDX samples are %llu bytes, expected %u", (unsigned long long)rec,
                     m->record_size);
}

static void feed_idx(checker *k, const uint8_t *p, size_t n) {
    while (n && !k->bad) {
        if (k->pos < 4) {
            k->hdr[k->pos] = *p;
            if (k->pos == 3) {
                if (k->hdr[0] || k->hdr[1] || k->hdr[2] != 0x08 || k->hdr[3] < 1 || k->hdr[3] > 3) {
                    checker_fail(k,
                                 "not an IDX u8 file: magic %02x %02x %02x %02x, expected 00 00 08 "
                                 "01..03",
                                 k->hdr[0], k->hdr[1], k->hdr[2], k->hdr[3]);
                    return;
                }
                k->rank = k->hdr[3];
                k->hdr_need = 4 + 4 * k->rank;
            }
            k->pos++, p++, n--;
            continue;
        }
        if (k->pos < (uint64_t)k->hdr_need) {
            k->hdr[k->pos] = *p;
            k->pos++, p++, n--;
            if (k->pos == (uint64_t)k->hdr_need) idx_header_done(k);
            continue;
        }
        if (k->pos + n > k->total) {
            checker_fail(k, "longer than its IDX header says (%llu bytes)",
                         (unsigned long long)k->total);
            return;
        }
        if (k->rank == 1) {
            for (size_t i = 0; i < n; i++)
                if (p[i] >= k->num_classes) {
                    checker_fail(k, "label %u at sample %llu is not below %d", p[i],
                                 (unsigned long long)(k->pos + i - (uint64_t)k->hdr_need),
                                 k->num_classes);
                    return;
                }
        }
        k->pos += n;
        n = 0;
    }
}

static void feed_records(checker *k, const uint8_t *p, size_t n) {
    uint64_t rs = k->m->record_size;
    uint64_t start = k->pos, end = k->pos + n;
    /* first record start at or after start */
    uint64_t r = (start + rs - 1) / rs * rs;
    for (; r < end && !k->bad; r += rs) {
        uint64_t rec = r / rs;
        uint8_t a = p[r - start];
        if (k->kind == NL_DATA_CIFAR100) {
            if (a >= 20)
                checker_fail(k, "record %llu: coarse label %u is not below 20",
                             (unsigned long long)rec, a);
        } else if (a >= k->num_classes) {
            checker_fail(k, "record %llu: label %u is not below %d", (unsigned long long)rec, a,
                         k->num_classes);
        }
    }
    if (k->kind == NL_DATA_CIFAR100) {
        /* fine label: byte 1 of each record */
        r = start <= 1 ? 1 : ((start - 1 + rs - 1) / rs * rs + 1);
        for (; r < end && !k->bad; r += rs) {
            uint8_t b = p[r - start];
            if (b >= 100)
                checker_fail(k, "record %llu: fine label %u is not below 100",
                             (unsigned long long)(r / rs), b);
        }
    }
    k->pos = end;
}

static void feed_text(checker *k, const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (c == '\n') {
            if (k->in_line) k->lines++;
            k->in_line = 0;
        } else if (c == 0) {
            checker_fail(k, "NUL byte at offset %llu in a text file",
                         (unsigned long long)(k->pos + i));
            return;
        } else if (c != ' ' && c != '\t' && c != '\r') {
            k->in_line = 1;
        }
    }
    k->pos += n;
}

static void checker_feed(checker *k, const uint8_t *p, size_t n) {
    if (k->bad || !k->m || !n) return;
    if (k->kind == NL_DATA_IDX)
        feed_idx(k, p, n);
    else if (k->m->record_size == 0)
        feed_text(k, p, n);
    else
        feed_records(k, p, n);
}

/* Final verdict of the checker into c. */
static void checker_finish(checker *k, nl_file_check *c) {
    const nl_data_member *m = k->m;
    if (!m) {
        c->structure_ok = 1;
        c->structure[0] = '\0';
        return;
    }
    if (!k->bad) {
        if (k->kind == NL_DATA_IDX) {
            if (k->pos < 4 || k->pos < (uint64_t)k->hdr_need)
                checker_fail(k, "truncated IDX header (%llu bytes)", (unsigned long long)k->pos);
            else if (k->pos != k->total)
                checker_fail(k, "truncated: %llu bytes, the IDX header announces %llu",
                             (unsigned long long)k->pos, (unsigned long long)k->total);
        } else if (m->record_size == 0) {
            if (k->in_line) k->lines++, k->in_line = 0;
            if (k->lines < m->records)
                checker_fail(k, "%llu non-empty lines, expected at least %u",
                             (unsigned long long)k->lines, m->records);
        } else {
            uint64_t rs = m->record_size;
            if (k->pos % rs)
                checker_fail(k, "%llu bytes is not a whole number of %llu-byte records",
                             (unsigned long long)k->pos, (unsigned long long)rs);
            else if (m->records && k->pos / rs != m->records)
                checker_fail(k, "%llu records of %llu bytes, expected %u",
                             (unsigned long long)(k->pos / rs), (unsigned long long)rs, m->records);
            else if (k->pos == 0)
                checker_fail(k, "empty file");
        }
    }
    c->structure_ok = !k->bad;
    if (k->bad) {
        snprintf(c->structure, sizeof c->structure, "%s", k->msg);
    } else if (k->kind == NL_DATA_IDX) {
        if (k->rank == 1)
            snprintf(c->structure, sizeof c->structure, "IDX: %u labels", k->dims[0]);
        else
            snprintf(c->structure, sizeof c->structure, "IDX: %u samples of %ux%u", k->dims[0],
                     k->dims[1], k->rank > 2 ? k->dims[2] : 1);
    } else if (m->record_size == 0) {
        snprintf(c->structure, sizeof c->structure, "%llu names", (unsigned long long)k->lines);
    } else {
        snprintf(c->structure, sizeof c->structure, "%llu records of %u bytes",
                 (unsigned long long)(k->pos / m->record_size), m->record_size);
    }
}

/* ---- one pass over a file -------------------------------------------------------- */

nl_status nl_check_file(const char *path, nl_file_check *c, nl_error *err) {
    c->exists = 0;
    c->bytes = c->content_bytes = 0;
    c->sha256[0] = c->md5[0] = c->content_sha256[0] = '\0';
    c->structure_ok = 0;
    c->structure[0] = '\0';
    /* O_NONBLOCK: a FIFO or a device there must not block the open */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR) return NL_OK;
        return nl_error_set(err, NL_EIO, "%s: cannot open: %s", path, strerror(errno));
    }
    c->exists = 1;
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        snprintf(c->structure, sizeof c->structure, "is %s, not a regular file",
                 nl_file_type_name((unsigned)sb.st_mode));
        return NL_OK;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    checker k = {0};
    k.kind = c->info ? c->info->kind : NL_DATA_IDX;
    k.m = c->member;
    k.num_classes = c->info ? c->info->num_classes : 10;
    nl_hasher *hs = NULL, *hm = NULL, *hc = NULL;
    uint8_t *in = malloc(IN_CHUNK), *out = c->gz ? malloc(OUT_CHUNK) : NULL;
    z_stream z;
    int z_live = 0, z_ended = 0;
    memset(&z, 0, sizeof z);
    nl_status st = NL_OK;
    if (!in || (c->gz && !out)) st = nl_error_set(err, NL_ENOMEM, "%s: out of memory", path);
    if (!st) st = nl_hasher_new(NL_HASH_SHA256, &hs, err);
    if (!st && c->want_md5 && nl_hasher_new(NL_HASH_MD5, &hm, NULL)) hm = NULL; /* FIPS: skip */
    if (!st && c->gz) st = nl_hasher_new(NL_HASH_SHA256, &hc, err);
    if (!st && c->gz) {
        if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
            st = nl_error_set(err, NL_ENOMEM, "%s: inflateInit2 failed", path);
        else
            z_live = 1;
    }
    int gz_bad = 0;
    while (!st) {
        ssize_t got = read(fd, in, IN_CHUNK);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            st = nl_error_set(err, NL_EIO, "%s: read error after %llu bytes: %s", path,
                              (unsigned long long)c->bytes, strerror(errno));
            break;
        }
        if (got == 0) break;
        c->bytes += (uint64_t)got;
        nl_hasher_update(hs, in, (size_t)got, NULL);
        if (hm) nl_hasher_update(hm, in, (size_t)got, NULL);
        if (!c->gz) {
            c->content_bytes += (uint64_t)got;
            checker_feed(&k, in, (size_t)got);
            continue;
        }
        if (gz_bad) continue; /* keep hashing the stored bytes */
        z.next_in = in;
        z.avail_in = (uInt)got;
        while (z.avail_in && !gz_bad) {
            if (z_ended) { /* another gzip member follows */
                inflateReset(&z);
                z_ended = 0;
            }
            z.next_out = out;
            z.avail_out = OUT_CHUNK;
            int rc = inflate(&z, Z_NO_FLUSH);
            size_t produced = OUT_CHUNK - z.avail_out;
            if (produced) {
                c->content_bytes += produced;
                nl_hasher_update(hc, out, produced, NULL);
                checker_feed(&k, out, produced);
                if (c->content_bytes > MAX_CONTENT) {
                    checker_fail(&k, "gzip content larger than %llu bytes",
                                 (unsigned long long)MAX_CONTENT);
                    gz_bad = 1;
                }
            }
            if (rc == Z_STREAM_END) {
                z_ended = 1;
            } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
                checker_fail(&k, "corrupt gzip data after %llu unpacked bytes: %s",
                             (unsigned long long)c->content_bytes, z.msg ? z.msg : "zlib error");
                gz_bad = 1;
                snprintf(c->structure, sizeof c->structure, "%s", k.msg);
            } else if (rc == Z_BUF_ERROR && z.avail_in == 0) {
                break;
            }
        }
    }
    if (!st && c->gz && !gz_bad && !z_ended) {
        checker_fail(&k, "truncated gzip data (%llu bytes unpacked)",
                     (unsigned long long)c->content_bytes);
        gz_bad = 1;
        snprintf(c->structure, sizeof c->structure, "%s", k.msg);
    }
    if (!st) {
        nl_hasher_final(hs, c->sha256, NULL);
        if (hm) nl_hasher_final(hm, c->md5, NULL);
        if (hc && !gz_bad) nl_hasher_final(hc, c->content_sha256, NULL);
        if (gz_bad) {
            c->structure_ok = 0;
            if (!c->structure[0]) snprintf(c->structure, sizeof c->structure, "%s", k.msg);
        } else {
            checker_finish(&k, c);
        }
    }
    if (z_live) inflateEnd(&z);
    nl_hasher_free(hs);
    nl_hasher_free(hm);
    nl_hasher_free(hc);
    free(in);
    free(out);
    close(fd);
    return st;
}

/* ---- judging --------------------------------------------------------------------- */

static int pins_match(const nl_data_download *dl, const nl_file_check *c, char *why, size_t n) {
    int pinned = 0;
    if (dl->sha256) {
        pinned = 1;
        if (!nl_hash_equal(dl->sha256, c->sha256)) {
            snprintf(why, n, "sha256 mismatch: expected %s, found %s", dl->sha256, c->sha256);
            return 0;
        }
    }
    if (dl->md5 && c->md5[0]) {
        pinned = 1;
        if (!nl_hash_equal(dl->md5, c->md5)) {
            snprintf(why, n, "md5 mismatch: expected %s, found %s", dl->md5, c->md5);
            return 0;
        }
    }
    if (!pinned) {
        snprintf(why, n, "no hash is pinned for this download");
        return 0;
    }
    if (dl->sha256 && dl->md5 && c->md5[0])
        snprintf(why, n, "sha256 %.16s... and md5 %.12s... match the pinned values", c->sha256,
                 c->md5);
    else if (dl->sha256)
        snprintf(why, n, "sha256 %.16s... matches the pinned value", c->sha256);
    else
        snprintf(why, n, "md5 %s matches the pinned value (md5 catches accidents, not forgery)",
                 c->md5);
    return 1;
}

nl_verdict nl_judge_download(const nl_data_info *d, const nl_data_download *dl,
                             const nl_data_member *m, const nl_file_check *c, char *detail,
                             size_t n) {
    char why[300];
    (void)d;
    if (!c->exists) {
        snprintf(detail, n, "not there");
        return NL_VERDICT_MISSING;
    }
    int ok = pins_match(dl, c, why, sizeof why);
    if (m && c->gz) {
        if (!c->structure_ok) {
            snprintf(detail, n, "%s%s%s", c->structure, ok ? "" : "; ", ok ? "" : why);
            return NL_VERDICT_BAD;
        }
        if (ok) {
            snprintf(detail, n, "%s; %s", why, c->structure);
            return NL_VERDICT_OK;
        }
        if (m->sha256 && nl_hash_equal(m->sha256, c->content_sha256)) {
            snprintf(detail, n,
                     "recompressed copy: the .gz is not the pinned download, but its unpacked "
                     "content matches the pinned sha256 %.16s...; %s",
                     c->content_sha256, c->structure);
            return NL_VERDICT_OK;
        }
        if (m->sha256)
            snprintf(detail, n, "%s; unpacked content sha256 mismatch too: expected %s, found %s",
                     why, m->sha256, c->content_sha256);
        else
            snprintf(detail, n, "%s", why);
        return NL_VERDICT_BAD;
    }
    snprintf(detail, n, "%s", why);
    return ok ? NL_VERDICT_OK : NL_VERDICT_BAD;
}

nl_verdict nl_judge_member(const nl_data_info *d, const nl_data_member *m, const nl_file_check *c,
                           char *detail, size_t n, int *is_other) {
    if (is_other) *is_other = 0;
    if (!c->exists) {
        snprintf(detail, n, "not there");
        return NL_VERDICT_MISSING;
    }
    if (!c->structure_ok) {
        snprintf(detail, n, "%s", c->structure[0] ? c->structure : "unreadable");
        return NL_VERDICT_BAD;
    }
    if (m->sha256 && nl_hash_equal(m->sha256, c->sha256)) {
        snprintf(detail, n, "sha256 %.16s... matches the pinned value; %s", c->sha256,
                 c->structure);
        return NL_VERDICT_OK;
    }
    if (m->other_sha256 && nl_hash_equal(m->other_sha256, c->sha256)) {
        if (is_other) *is_other = 1;
        (void)d;
        snprintf(detail, n,
                 "NOT the official file: sha256 %.16s... is not the official file's (%.16s...); it "
                 "is the known non-official copy's; %s",
                 c->sha256, m->sha256 ? m->sha256 : "unknown", c->structure);
        return NL_VERDICT_UNVERIFIED;
    }
    if (m->sha256) {
        snprintf(detail, n, "sha256 mismatch: expected %s, found %s; %s", m->sha256, c->sha256,
                 c->structure);
        return NL_VERDICT_BAD;
    }
    snprintf(detail, n, "%s; no pinned hash for this file: content unverified", c->structure);
    return NL_VERDICT_UNVERIFIED;
}

/* ---- whole datasets ------------------------------------------------------------------ */

static int join(char *out, size_t n, const char *a, const char *b) {
    int k = snprintf(out, n, "%s/%s", a, b);
    return k >= 0 && (size_t)k < n;
}

static int join3(char *out, size_t n, const char *a, const char *b, const char *c) {
    int k = snprintf(out, n, "%s/%s/%s", a, b, c);
    return k >= 0 && (size_t)k < n;
}

int nl_data_present(const char *data_dir, const nl_data_info *d) {
    char p[4096];
    if (d->kind == NL_DATA_IDX) {
        for (int i = 0; i < d->nmembers; i++) {
            if (!join3(p, sizeof p, data_dir, d->subdir, d->members[i].name)) return 0;
            if (nl_is_file(p)) continue;
            if (!join(p, sizeof p, data_dir, d->downloads[i].path) || !nl_is_file(p)) return 0;
        }
        return 1;
    }
    int all = 1;
    for (int i = 0; i < d->nmembers && all; i++) {
        if (d->members[i].record_size == 0) continue; /* name lists: loaders do not need them */
        if (!join3(p, sizeof p, data_dir, d->subdir, d->members[i].name) || !nl_is_file(p)) all = 0;
    }
    if (all) return 1;
    return join(p, sizeof p, data_dir, d->downloads[0].path) && nl_is_file(p);
}

nl_status nl_data_path(const char *data_dir, const char *dataset, char *out, size_t out_size,
                       int *present, nl_error *err) {
    const nl_data_info *d;
    nl_status st = nl_catalog_lookup(dataset, &d, err);
    if (st) return st;
    int pres = nl_data_present(data_dir, d);
    if (present) *present = pres;
    char dir[4096], arch[4096];
    if (!join(dir, sizeof dir, data_dir, d->subdir) ||
        !join(arch, sizeof arch, data_dir, d->downloads[0].path))
        return nl_error_set(err, NL_EINVAL, "data directory path is too long");
    const char *p = dir;
    if (d->kind != NL_DATA_IDX && pres && !nl_is_dir(dir) && nl_is_file(arch)) p = arch;
    if (strlen(p) + 1 > out_size) return nl_error_set(err, NL_EINVAL, "path buffer too small");
    snprintf(out, out_size, "%s", p);
    return NL_OK;
}

static nl_verify_item *add_item(nl_verify_report *r, const char *file) {
    if (r->nitems >= NL_VERIFY_ITEMS_MAX) return NULL;
    nl_verify_item *it = &r->items[r->nitems++];
    memset(it, 0, sizeof *it);
    snprintf(it->file, sizeof it->file, "%.255s", file);
    return it;
}

/* Checks one file into an item; an I/O error becomes a BAD item. */
/* A partial download of data_dir/dl_path left by a fetch that can resume it
 * (fetch.c names it DIR/.NAME.part): said in the item's detail. */
static void note_partial(nl_verify_item *it, const char *data_dir, const char *dl_path) {
    const char *s = strrchr(dl_path, '/');
    char rel[600], p[4096];
    if (s)
        snprintf(rel, sizeof rel, "%.*s/.%s.part", (int)(s - dl_path), dl_path, s + 1);
    else
        snprintf(rel, sizeof rel, ".%s.part", dl_path);
    struct stat sb;
    if (!join(p, sizeof p, data_dir, rel) || lstat(p, &sb) != 0 || !S_ISREG(sb.st_mode)) return;
    size_t k = strlen(it->detail);
    snprintf(it->detail + k, sizeof it->detail - k,
             "%spartial download %.300s (%lld bytes), resumed by the next fetch", k ? "; " : "",
             rel, (long long)sb.st_size);
}

static void check_into(nl_verify_report *r, nl_verify_item *it, const char *path,
                       nl_file_check *c) {
    nl_error e = {0};
    if (nl_check_file(path, c, &e)) {
        c->exists = 1;
        c->structure_ok = 0;
        snprintf(c->structure, sizeof c->structure, "%.300s", e.msg);
    }
    if (c->exists) r->bytes += c->bytes;
    (void)it;
}

nl_status nl_data_verify(const char *data_dir, const char *dataset, int quick, nl_verify_report *r,
                         nl_error *err) {
    const nl_data_info *d;
    memset(r, 0, sizeof *r);
    nl_status st = nl_catalog_lookup(dataset, &d, err);
    if (st) return st;
    r->info = d;
    char dir[4096], p[4096], rel[512];
    if (!join(dir, sizeof dir, data_dir, d->subdir))
        return nl_error_set(err, NL_EINVAL, "data directory path is too long");
    snprintf(r->path, sizeof r->path, "%s", dir);
    int n_missing = 0, n_bad = 0, n_unver = 0, n_ok = 0, n_items = 0, n_other = 0, n_text_unver = 0;
    nl_file_check c;

    if (d->kind == NL_DATA_IDX) {
        for (int i = 0; i < d->nmembers; i++) {
            const nl_data_member *m = &d->members[i];
            const nl_data_download *dl = &d->downloads[i];
            int found = 0;
            /* raw file (the loader prefers it) */
            snprintf(rel, sizeof rel, "%s/%s", d->subdir, m->name);
            if (!join(p, sizeof p, data_dir, rel)) continue;
            if (access(p, F_OK) == 0) {
                nl_verify_item *it = add_item(r, rel);
                if (!it) break;
                found = 1;
                memset(&c, 0, sizeof c);
                c.info = d;
                c.member = m;
                if (quick) {
                    struct stat sb;
                    r->bytes += stat(p, &sb) == 0 ? (uint64_t)sb.st_size : 0;
                    it->verdict = NL_VERDICT_UNVERIFIED;
                    snprintf(it->detail, sizeof it->detail, "present (not checked)");
                } else {
                    check_into(r, it, p, &c);
                    it->verdict = nl_judge_member(d, m, &c, it->detail, sizeof it->detail, NULL);
                }
            }
            /* .gz as downloaded */
            if (!join(p, sizeof p, data_dir, dl->path)) continue;
            if (access(p, F_OK) == 0) {
                nl_verify_item *it = add_item(r, dl->path);
                if (!it) break;
                found = 1;
                memset(&c, 0, sizeof c);
                c.info = d;
                c.member = m;
                c.gz = 1;
                c.want_md5 = dl->md5 != NULL;
                if (quick) {
                    struct stat sb;
                    r->bytes += stat(p, &sb) == 0 ? (uint64_t)sb.st_size : 0;
                    it->verdict = NL_VERDICT_UNVERIFIED;
                    snprintf(it->detail, sizeof it->detail, "present (not checked)");
                } else {
                    check_into(r, it, p, &c);
                    it->verdict = nl_judge_download(d, dl, m, &c, it->detail, sizeof it->detail);
                }
            }
            if (!found) {
                snprintf(rel, sizeof rel, "%s/%s[.gz]", d->subdir, m->name);
                nl_verify_item *it = add_item(r, rel);
                if (!it) break;
                it->verdict = NL_VERDICT_MISSING;
                snprintf(it->detail, sizeof it->detail, "not there");
                note_partial(it, data_dir, dl->path);
            }
        }
    } else {
        int dir_there = nl_is_dir(dir);
        if (!join(p, sizeof p, data_dir, d->downloads[0].path))
            return nl_error_set(err, NL_EINVAL, "data directory path is too long");
        int arch_there = access(p, F_OK) == 0;
        if (dir_there || !arch_there) {
            for (int i = 0; i < d->nmembers; i++) {
                const nl_data_member *m = &d->members[i];
                snprintf(rel, sizeof rel, "%s/%s", d->subdir, m->name);
                nl_verify_item *it = add_item(r, rel);
                if (!it) break;
                if (!join(p, sizeof p, data_dir, rel)) continue;
                memset(&c, 0, sizeof c);
                c.info = d;
                c.member = m;
                if (quick) {
                    struct stat sb;
                    int ex = stat(p, &sb) == 0;
                    r->bytes += ex ? (uint64_t)sb.st_size : 0;
                    it->verdict = ex ? NL_VERDICT_UNVERIFIED : NL_VERDICT_MISSING;
                    snprintf(it->detail, sizeof it->detail,
                             ex ? "present (not checked)" : "not there");
                } else {
                    check_into(r, it, p, &c);
                    int other = 0;
                    it->verdict = nl_judge_member(d, m, &c, it->detail, sizeof it->detail, &other);
                    n_other += other;
                    if (it->verdict == NL_VERDICT_UNVERIFIED && m->record_size == 0 && !m->sha256)
                        n_text_unver++;
                }
            }
            if (!dir_there && !arch_there && r->nitems > 0)
                note_partial(&r->items[0], data_dir, d->downloads[0].path);
        }
        if (arch_there) {
            const nl_data_download *dl = &d->downloads[0];
            nl_verify_item *it = add_item(r, dl->path);
            if (it) {
                if (!dir_there) snprintf(r->path, sizeof r->path, "%s", p);
                memset(&c, 0, sizeof c);
                c.info = d;
                c.want_md5 = dl->md5 != NULL;
                if (quick) {
                    struct stat sb;
                    r->bytes += stat(p, &sb) == 0 ? (uint64_t)sb.st_size : 0;
                    it->verdict = NL_VERDICT_UNVERIFIED;
                    snprintf(it->detail, sizeof it->detail, "present (not checked)");
                } else {
                    check_into(r, it, p, &c);
                    it->verdict = nl_judge_download(d, dl, NULL, &c, it->detail, sizeof it->detail);
                }
            }
        }
    }

    /* CIFAR-10: what verify accepts, the loader must read (it also reads the
     * archive in place when only that is there). */
    if (!quick && d->kind == NL_DATA_CIFAR10 && !d->custom &&
        !strcmp(d->subdir, "cifar-10-batches-bin")) {
        int fine = r->nitems > 0;
        for (int i = 0; i < r->nitems; i++)
            if (r->items[i].verdict == NL_VERDICT_BAD || r->items[i].verdict == NL_VERDICT_MISSING)
                fine = 0;
        for (int split = 0; fine && split < 2; split++) {
            nl_dataset ds;
            nl_error e = {0};
            if (nl_cifar10_load(data_dir, split ? NL_SPLIT_TEST : NL_SPLIT_TRAIN, &ds, &e)) {
                nl_verify_item *it = add_item(r, d->subdir);
                if (it) {
                    it->verdict = NL_VERDICT_BAD;
                    snprintf(it->detail, sizeof it->detail,
                             "the CIFAR-10 loader refuses it: %.560s", e.msg);
                }
                fine = 0;
            } else {
                nl_dataset_free(&ds);
            }
        }
    }

    for (int i = 0; i < r->nitems; i++) {
        n_items++;
        switch (r->items[i].verdict) {
        case NL_VERDICT_MISSING:
            n_missing++;
            break;
        case NL_VERDICT_BAD:
            n_bad++;
            break;
        case NL_VERDICT_UNVERIFIED:
            n_unver++;
            break;
        case NL_VERDICT_OK:
            n_ok++;
            break;
        }
    }
    if (n_missing == n_items) {
        r->verdict = NL_VERDICT_MISSING;
        snprintf(r->summary, sizeof r->summary, "not in %s", data_dir);
    } else if (n_bad || n_missing) {
        r->verdict = NL_VERDICT_BAD;
        snprintf(r->summary, sizeof r->summary, "%d of %d files %s", n_bad + n_missing, n_items,
                 !n_missing ? "failed verification"
                 : n_bad    ? "failed verification or are missing"
                            : "are missing");
    } else if (quick) {
        r->verdict = NL_VERDICT_UNVERIFIED;
        snprintf(r->summary, sizeof r->summary, "present (hashes not checked)");
    } else if (n_other) {
        r->verdict = NL_VERDICT_UNVERIFIED;
        snprintf(r->summary, sizeof r->summary,
                 "NOT the official release: %d file(s) match %s; structure is right, content "
                 "unverified",
                 n_other, d->other_what ? d->other_what : "a known non-official copy");
    } else if (n_unver > n_text_unver || (n_unver && n_ok == 0)) {
        r->verdict = NL_VERDICT_UNVERIFIED;
        snprintf(r->summary, sizeof r->summary,
                 "structure is right; content unverified for %d file(s)%s%s", n_unver,
                 d->caveat ? ": " : " (no pinned hash)", d->caveat ? d->caveat : "");
    } else {
        /* The caveat concerns the pinned hashes of unpacked files: say it when
         * those were what vouched for the data. */
        int members_checked = d->kind != NL_DATA_IDX && nl_is_dir(dir);
        const char *cav = members_checked && d->caveat ? d->caveat : NULL;
        r->verdict = NL_VERDICT_OK;
        if (n_text_unver)
            snprintf(r->summary, sizeof r->summary,
                     "every data file matches its pinned hash (%d class-name file(s) "
                     "checked for structure only)%s%s",
                     n_text_unver, cav ? "; note: " : "", cav ? cav : "");
        else
            snprintf(r->summary, sizeof r->summary, "every file matches its pinned hash%s%s",
                     cav ? "; note: " : "", cav ? cav : "");
    }
    return NL_OK;
}
