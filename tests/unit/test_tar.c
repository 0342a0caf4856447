/* The core's tar reader (src/core/tar.c) and its two users (the CIFAR loader
 * reading an archive in place, the store's unpacker) on archives built here:
 * ustar prefixes, GNU long names, pax paths and sizes, reading in chunks and
 * skipping; and broken ones: the F3 pax record whose length is shorter than
 * its own prefix (a stack over-read before; run under ASan), every other
 * malformed pax record, truncated members and headers, bad checksums,
 * oversized extended headers, an empty archive, a FIFO. */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "check.h"
#include "core/tar.h"
#include "nnlab/data.h"
#include "store/store_internal.h"
#include "testutil.h"

/* ---- tar writer ------------------------------------------------------------------------ */

typedef struct tarbuf {
    uint8_t *p;
    size_t n, cap;
} tarbuf;

static void tb_put(tarbuf *t, const void *data, size_t n) {
    if (t->n + n > t->cap) {
        t->cap = (t->n + n) * 2 + 1024;
        t->p = realloc(t->p, t->cap);
    }
    memcpy(t->p + t->n, data, n);
    t->n += n;
}

static void tb_pad(tarbuf *t) {
    static const uint8_t zero[512];
    if (t->n % 512) tb_put(t, zero, 512 - t->n % 512);
}

/* A header block: name (and ustar prefix, may be NULL), type, size. */
static void tb_header(tarbuf *t, const char *prefix, const char *name, char type, uint64_t size) {
    uint8_t h[512] = {0};
    memcpy(h, name, strlen(name) < 100 ? strlen(name) : 100);
    memcpy(h + 100, "0000644", 7);
    memcpy(h + 108, "0001750", 7);
    memcpy(h + 116, "0001750", 7);
    snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)size);
    memcpy(h + 136, "14000000000", 11);
    h[156] = (uint8_t)type;
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    if (prefix) memcpy(h + 345, prefix, strlen(prefix));
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < 512; i++) sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", sum);
    tb_put(t, h, 512);
}

static void tb_member(tarbuf *t, const char *name, char type, const void *data, size_t n) {
    tb_header(t, NULL, name, type, n);
    if (n) tb_put(t, data, n);
    tb_pad(t);
}

/* A pax 'x' header holding exactly the given record bytes. */
static void tb_pax(tarbuf *t, const char *records, size_t n) {
    tb_member(t, "PaxHeaders/x", 'x', records, n);
}

static void tb_end(tarbuf *t) {
    static const uint8_t zero[1024];
    tb_put(t, zero, 1024);
}

/* A well-formed pax record "LEN key=value\n". */
static size_t pax_record(char *out, size_t cap, const char *key, const char *value) {
    const size_t body = 1 + strlen(key) + 1 + strlen(value) + 1;
    size_t len = body + 1;
    while (len != body + (size_t)snprintf(NULL, 0, "%zu", len)) len++;
    snprintf(out, cap, "%zu %s=%s\n", len, key, value);
    return len;
}

static void write_tgz(const char *name, const tarbuf *t, size_t n) {
    tu_write_gz(name, t->p, n);
}

/* ---- reading helpers -------------------------------------------------------------------- */

/* Lists an archive: names joined with '|', each followed by ':' and the bytes
 * read from it (read_data) or 's' (skipped). */
static nl_status list(nl_tar *t, int read_data, char *out, size_t cap, nl_error *err) {
    out[0] = '\0';
    nl_tar_entry e;
    int end = 0;
    nl_status st;
    uint8_t buf[7]; /* odd chunks: reads cross block boundaries */
    while (!(st = nl_tar_next(t, &e, &end, err)) && !end) {
        size_t total = 0, got = 1;
        if (read_data)
            while (got && !(st = nl_tar_read(t, buf, sizeof buf, &got, err))) total += got;
        if (st) return st;
        size_t k = strlen(out);
        if (read_data)
            snprintf(out + k, cap - k, "%s%s:%zu", k ? "|" : "", e.name, total);
        else
            snprintf(out + k, cap - k, "%s%s:s", k ? "|" : "", e.name);
    }
    return st;
}

static nl_status list_mem(const tarbuf *t, size_t n, int read_data, char *out, size_t cap,
                          nl_error *err) {
    nl_tar *r = NULL;
    nl_status st = nl_tar_open_mem(t->p, n, "mem.tar", &r, err);
    if (!st) st = list(r, read_data, out, cap, err);
    nl_tar_close(r);
    return st;
}

static nl_status list_file(const char *name, int read_data, char *out, size_t cap, nl_error *err) {
    nl_tar *r = NULL;
    nl_status st = nl_tar_open(tu_path(name), &r, err);
    if (!st) st = list(r, read_data, out, cap, err);
    nl_tar_close(r);
    return st;
}

/* ---- cases ------------------------------------------------------------------------------- */

static void good_names(void) {
    tarbuf t = {0};
    char longname[300], rec[400], out[2048];
    tb_member(&t, "dir/", '5', NULL, 0);
    tb_member(&t, "./dir/plain.bin", '0', "hello", 5);
    /* ustar prefix + name */
    tb_header(&t, "a/very/long/prefix", "file.txt", '0', 3);
    tb_put(&t, "abc", 3);
    tb_pad(&t);
    /* GNU long name (with its NUL) */
    memset(longname, 'g', 250);
    memcpy(longname, "dir/", 4);
    longname[250] = '\0';
    tb_member(&t, "././@LongLink", 'L', longname, 251);
    tb_member(&t, "dir/gggg-cut", '0', "0123456789", 10);
    /* pax path and size (the header's size field says 0: pax wins) */
    memset(longname, 'p', 200);
    memcpy(longname, "dir/", 4);
    longname[200] = '\0';
    size_t n = pax_record(rec, sizeof rec, "path", longname);
    n += pax_record(rec + n, sizeof rec - n, "mtime", "1700000000.5");
    n += pax_record(rec + n, sizeof rec - n, "size", "600");
    tb_pax(&t, rec, n);
    tb_header(&t, NULL, "dir/pppp-cut", '0', 0);
    uint8_t big[600];
    for (int i = 0; i < 600; i++) big[i] = (uint8_t)i;
    tb_put(&t, big, 600);
    tb_pad(&t);
    /* a global pax header names nothing */
    n = pax_record(rec, sizeof rec, "comment", "global");
    tb_member(&t, "pax_global_header", 'g', rec, n);
    tb_member(&t, "dir/link", '2', NULL, 0);
    tb_member(&t, "dir/last", '0', "z", 1);
    tb_end(&t);

    char want[2048];
    memset(longname, 'g', 250);
    memcpy(longname, "dir/", 4);
    longname[250] = '\0';
    char pname[201];
    memset(pname, 'p', 200);
    memcpy(pname, "dir/", 4);
    pname[200] = '\0';
    snprintf(want, sizeof want,
             "dir/:0|dir/plain.bin:5|a/very/long/prefix/file.txt:3|%s:10|%s:600|dir/link:0|"
             "dir/last:1",
             longname, pname);
    nl_error err = {0};
    CHECK_MSG(list_mem(&t, t.n, 1, out, sizeof out, &err) == NL_OK, "%s", err.msg);
    CHECK_MSG(!strcmp(out, want), "got %s", out);
    /* the same, gzip'ed, skipping every entry's data */
    write_tgz("good.tar.gz", &t, t.n);
    CHECK_MSG(list_file("good.tar.gz", 0, out, sizeof out, &err) == NL_OK, "%s", err.msg);
    CHECK(strstr(out, "dir/plain.bin:s|a/very/long/prefix/file.txt:s") != NULL);
    CHECK(strstr(out, "dir/last:s") != NULL);
    /* the same as a plain tar file */
    tu_write("good.tar", t.p, t.n);
    CHECK_MSG(list_file("good.tar", 1, out, sizeof out, &err) == NL_OK, "%s", err.msg);
    CHECK_MSG(!strcmp(out, want), "got %s", out);
    /* the data of the pax-sized entry comes back intact */
    nl_tar *r = NULL;
    nl_tar_entry e;
    int end = 0, found = 0;
    CHECK(nl_tar_open_mem(t.p, t.n, "mem", &r, &err) == NL_OK);
    while (nl_tar_next(r, &e, &end, &err) == NL_OK && !end) {
        if (e.size != 600) continue;
        uint8_t back[700];
        size_t got = 0;
        CHECK(nl_tar_read(r, back, sizeof back, &got, &err) == NL_OK);
        CHECK(got == 600 && !memcmp(back, big, 600));
        CHECK(e.regular && e.type == '0');
        found = 1;
    }
    CHECK(found && end);
    nl_tar_close(r);
    /* a missing end-of-archive marker after a complete entry is tolerated */
    CHECK_MSG(list_mem(&t, t.n - 1024, 1, out, sizeof out, &err) == NL_OK, "%s", err.msg);
    CHECK_MSG(!strcmp(out, want), "got %s", out);
    free(t.p);
}

/* Expects the archive (plain, in memory, and gzip'ed as a file) to fail with
 * NL_EFORMAT and a message containing the fragments. */
static void expect_bad(const char *what, const tarbuf *t, size_t n, const char *frag1,
                       const char *frag2) {
    char out[4096], name[64];
    for (int gz = 0; gz < 2; gz++) {
        nl_error err = {0};
        nl_status st;
        if (gz) {
            snprintf(name, sizeof name, "%s.tar.gz", what);
            write_tgz(name, t, n);
            st = list_file(name, 1, out, sizeof out, &err);
        } else {
            st = list_mem(t, n, 1, out, sizeof out, &err);
        }
        CHECK_MSG(st == NL_EFORMAT, "%s (%s): status %s: %s", what, gz ? "gz" : "mem",
                  nl_status_name(st), err.msg);
        if (getenv("NNLAB_TEST_VERBOSE")) fprintf(stderr, "%-10s %s\n", what, err.msg);
        if (frag1) CHECK_CONTAINS(err.msg, frag1);
        if (frag2) CHECK_CONTAINS(err.msg, frag2);
        CHECK_CONTAINS(err.msg, gz ? name : "mem.tar");
    }
}

/* The F3 archive: a pax record "1 path=AAA..." (its length, 1, shorter than
 * its own prefix) filling the extended header, then a member. */
static void make_f3(tarbuf *t) {
    char rec[1000];
    memcpy(rec, "1 path=", 7);
    memset(rec + 7, 'A', sizeof rec - 7);
    tb_pax(t, rec, sizeof rec);
    tb_member(t, "cifar-10-batches-bin/data_batch_1.bin", '0', "x", 1);
    tb_end(t);
}

static void bad_pax(void) {
    tarbuf t = {0};
    make_f3(&t);
    expect_bad("f3", &t, t.n, "shorter than its own prefix", "offset 0");
    free(t.p);
    /* the F3 archive through both users of the reader */
    t = (tarbuf){0};
    make_f3(&t);
    tu_mkdir("f3");
    write_tgz("f3/cifar-10-binary.tar.gz", &t, t.n);
    struct stat sb;
    CHECK(stat(tu_path("f3/cifar-10-binary.tar.gz"), &sb) == 0 && sb.st_size < 2048);
    nl_dataset d;
    nl_error err = {0};
    CHECK(nl_cifar10_load(tu_path("f3"), NL_SPLIT_TRAIN, &d, &err) == NL_EFORMAT);
    CHECK_CONTAINS(err.msg, "pax");
    CHECK(d.images == NULL);
    tu_mkdir("f3out");
    CHECK(nl_untar_gz(tu_path("f3/cifar-10-binary.tar.gz"), "cifar-10-batches-bin",
                      tu_path("f3out"), NULL, &err) == NL_EFORMAT);
    CHECK_CONTAINS(err.msg, "shorter than its own prefix");
    CHECK(!nl_is_file(tu_path("f3out/data_batch_1.bin")));
    free(t.p);

    struct {
        const char *what, *rec, *frag;
    } cases[] = {
        {"len0", "0 path=x\n", "shorter than its own prefix"},
        {"len3", "3 ab=\n", "shorter than its own prefix"},
        {"wronglen", "5 p=x\n", "newline"}, /* 6 bytes: the 5th is not the newline */
        {"past", "99 path=abc\n", "runs past the end"},
        {"nolen", "path=abc\n", "decimal length"},
        {"nospace", "12path=abcd\n", "decimal length"},
        {"nonl", "11 path=abc", "newline"},
        {"noeq", "10 pathab\n", "key=value"},
        {"emptykey", "7 =abc\n", "key=value"},
        {"badsize", "12 size=1x3\n", "bad size"},
        {"emptypath", "8 path=\n", "path of 0 bytes"},
        {"hugelen", "99999999999999999999999 path=a\n", "decimal length"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        t = (tarbuf){0};
        tb_pax(&t, cases[i].rec, strlen(cases[i].rec));
        tb_member(&t, "f", '0', "x", 1);
        tb_end(&t);
        expect_bad(cases[i].what, &t, t.n, cases[i].frag, "pax");
        free(t.p);
    }
    /* a record exactly filling the header is fine; one byte more is not */
    char rec[64];
    size_t n = pax_record(rec, sizeof rec, "path", "ok/name");
    t = (tarbuf){0};
    tb_pax(&t, rec, n);
    tb_member(&t, "f", '0', "x", 1);
    tb_end(&t);
    char out[256];
    CHECK_MSG(list_mem(&t, t.n, 1, out, sizeof out, &err) == NL_OK, "%s", err.msg);
    CHECK_MSG(!strcmp(out, "ok/name:1"), "got %s", out);
    free(t.p);
    t = (tarbuf){0};
    tb_pax(&t, rec, n - 1); /* the header's size cuts the record's newline off */
    tb_member(&t, "f", '0', "x", 1);
    tb_end(&t);
    expect_bad("cutrec", &t, t.n, "runs past the end", NULL);
    free(t.p);
    /* an extended header above the limit */
    t = (tarbuf){0};
    char *huge = malloc(NL_TAR_META_MAX + 1);
    memset(huge, 'a', NL_TAR_META_MAX + 1);
    tb_pax(&t, huge, NL_TAR_META_MAX + 1);
    tb_end(&t);
    expect_bad("hugemeta", &t, t.n, "extended data", "65536");
    free(huge);
    free(t.p);
    /* a GNU long name over the name limit, and an empty one */
    t = (tarbuf){0};
    char *ln = malloc(NL_TAR_NAME_MAX + 2);
    memset(ln, 'n', NL_TAR_NAME_MAX + 1);
    ln[NL_TAR_NAME_MAX + 1] = '\0';
    tb_member(&t, "././@LongLink", 'L', ln, NL_TAR_NAME_MAX + 2);
    tb_member(&t, "f", '0', "x", 1);
    tb_end(&t);
    expect_bad("longL", &t, t.n, "GNU long name", "4096 bytes");
    free(ln);
    free(t.p);
    /* an extended header, then the end: its entry is missing */
    t = (tarbuf){0};
    tb_pax(&t, rec, n);
    expect_bad("paxend", &t, t.n, "after an extended header", NULL);
    free(t.p);
}

static void bad_archives(void) {
    tarbuf t = {0};
    uint8_t data[2000];
    memset(data, 'q', sizeof data);
    tb_member(&t, "a.bin", '0', data, 700);
    tb_member(&t, "b.bin", '0', data, sizeof data);
    tb_end(&t);
    /* truncated member: read, then skipped */
    expect_bad("trunc", &t, 512 + 1024 + 512 + 1500, "member b.bin is truncated",
               "after 1500 of its 2000 bytes");
    {
        nl_tar *r = NULL;
        nl_error err = {0};
        char out[256];
        CHECK(nl_tar_open_mem(t.p, 512 + 1024 + 512 + 1500, "mem.tar", &r, &err) == NL_OK);
        CHECK(list(r, 0, out, sizeof out, &err) == NL_EFORMAT);
        CHECK_CONTAINS(err.msg, "truncated inside member b.bin");
        CHECK(nl_tar_truncated(r));
        nl_tar_close(r);
    }
    /* truncated in a header, and in the padding */
    expect_bad("hdrcut", &t, 512 + 1024 + 100, "truncated in a tar header", "offset 1536");
    expect_bad("padcut", &t, 512 + 1024 + 512 + 2000 + 10, "truncated inside member b.bin", NULL);
    /* bad checksum */
    tarbuf c = {0};
    tb_put(&c, t.p, t.n);
    c.p[512 + 1024 + 3] ^= 0x01;
    expect_bad("cksum", &c, c.n, "corrupt tar header at offset 1536", "bad checksum");
    /* bad size field (checksum fixed) */
    memcpy(c.p, t.p, t.n);
    memcpy(c.p + 124, "0000000009x0", 12);
    memset(c.p + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < 512; i++) sum += c.p[i];
    snprintf((char *)c.p + 148, 8, "%06o", sum);
    expect_bad("size", &c, c.n, "bad size field", "offset 0");
    free(c.p);
    /* an empty archive, and random bytes */
    expect_bad("empty", &t, 0, "empty archive", NULL);
    tarbuf g = {0};
    uint8_t junk[1024];
    for (int i = 0; i < 1024; i++) junk[i] = (uint8_t)(i * 37 + 11);
    tb_put(&g, junk, sizeof junk);
    expect_bad("junk", &g, g.n, "corrupt tar header at offset 0", NULL);
    free(g.p);
    /* a gzip stream cut short reads as a truncated archive */
    write_tgz("gzcut.tar.gz", &t, t.n);
    FILE *f = fopen(tu_path("gzcut.tar.gz"), "rb");
    uint8_t gz[8192];
    size_t gn = fread(gz, 1, sizeof gz, f);
    fclose(f);
    tu_write("gzcut.tar.gz", gz, gn / 2);
    char out[256];
    nl_error err = {0};
    CHECK(list_file("gzcut.tar.gz", 1, out, sizeof out, &err) == NL_EFORMAT);
    CHECK_CONTAINS(err.msg, "truncated");
    free(t.p);
    /* a FIFO is refused at once, a missing file is NL_ENOTFOUND */
    CHECK(mkfifo(tu_path("fifo"), 0600) == 0);
    nl_tar *r = NULL;
    CHECK(nl_tar_open(tu_path("fifo"), &r, &err) == NL_EIO && r == NULL);
    CHECK_CONTAINS(err.msg, "not a regular file");
    CHECK(nl_tar_open(tu_path("nothing.tar"), &r, &err) == NL_ENOTFOUND);
    CHECK_CONTAINS(err.msg, "nothing.tar");
}

int main(void) {
    tu_tmpdir();
    good_names();
    bad_pax();
    bad_archives();
    tu_cleanup();
    CHECK_DONE();
}
