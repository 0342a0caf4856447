/* The dataset catalog, catalog files, verification of IDX files, the tar
 * reader, nl_data_ensure offline, and nl_fetch_url over file:// URLs (no
 * network: HTTP is covered by tests/integration/data_*.sh). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "store/store_internal.h"
#include "nnlab/fetch.h"
#include "testutil.h"

static int is_hex(const char *s, size_t n) {
    if (!s || strlen(s) != n) return 0;
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789abcdef", s[i])) return 0;
    return 1;
}

static void test_builtin_catalog(void) {
    nl_error err = {0};
    CHECK(nl_catalog_init(&err) == NL_OK);
    const char *names[] = {"mnist", "fashion-mnist", "kmnist", "cifar10", "cifar100"};
    for (int i = 0; i < 5; i++) {
        const nl_data_info *d = nl_catalog_find(names[i]);
        CHECK_MSG(d != NULL, "%s missing", names[i]);
        if (!d) continue;
        CHECK(d->nmirrors >= 1 && d->ndownloads >= 1 && d->nmembers >= 1);
        CHECK(d->sources && *d->sources);
        CHECK(d->ndownloads <= NL_CATALOG_MAX_FILES && d->nmembers <= NL_CATALOG_MAX_FILES);
        if (d->kind == NL_DATA_IDX)
            CHECK(d->ndownloads == d->nmembers);
        else
            CHECK(d->ndownloads == 1);
        for (int k = 0; k < d->ndownloads; k++) {
            const nl_data_download *dl = &d->downloads[k];
            CHECK_MSG(is_hex(dl->sha256, 64), "%s sha256", dl->path);
            CHECK_MSG(is_hex(dl->md5, 32), "%s md5", dl->path);
            CHECK(dl->size > 0);
            CHECK(nl_safe_relpath(dl->path));
            if (d->kind == NL_DATA_IDX) {
                /* download k is member k, gzip-compressed, inside the dataset directory */
                char want[256];
                snprintf(want, sizeof want, "%s/%s.gz", d->subdir, d->members[k].name);
                CHECK_MSG(!strcmp(dl->path, want), "%s vs %s", dl->path, want);
            }
        }
        for (int k = 0; k < d->nmembers; k++) {
            const nl_data_member *m = &d->members[k];
            CHECK(!m->sha256 || is_hex(m->sha256, 64));
            CHECK(!m->other_sha256 || is_hex(m->other_sha256, 64));
            CHECK(m->records > 0);
        }
        CHECK(nl_data_download_size(d) > 0);
    }
    CHECK(nl_catalog_count() == 5);
    const nl_data_info *c10 = nl_catalog_find("cifar10");
    CHECK(c10 && !strcmp(c10->subdir, "cifar-10-batches-bin"));
    CHECK(c10 && c10->other_what && c10->caveat);
    const nl_data_info *c100 = nl_catalog_find("cifar100");
    CHECK(c100 && !strcmp(c100->subdir, "cifar-100-binary") && c100->kind == NL_DATA_CIFAR100);
    /* MNIST's unpacked hashes are those of shared/datasets/README.md */
    const nl_data_info *mn = nl_catalog_find("mnist");
    CHECK(mn && !strcmp(mn->members[0].sha256,
                        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"));
    CHECK(mn && mn->nmirrors >= 2); /* mirrors, tried in order */
    const nl_data_info *d = NULL;
    CHECK(nl_catalog_lookup("imagenet", &d, &err) == NL_ENOTFOUND && d == NULL);
    CHECK_CONTAINS(err.msg, "imagenet");
    CHECK_CONTAINS(err.msg, "fashion-mnist");
    CHECK_CONTAINS(err.msg, "cifar100");
}

static void test_safe_relpath(void) {
    CHECK(nl_safe_relpath("mnist/train-images-idx3-ubyte.gz"));
    CHECK(nl_safe_relpath("a"));
    CHECK(!nl_safe_relpath(""));
    CHECK(!nl_safe_relpath("/etc/passwd"));
    CHECK(!nl_safe_relpath("../x"));
    CHECK(!nl_safe_relpath("a/../b"));
    CHECK(!nl_safe_relpath("a/.."));
    CHECK(!nl_safe_relpath("./a"));
    CHECK(!nl_safe_relpath("a//b"));
    CHECK(!nl_safe_relpath("a/"));
    CHECK(!nl_safe_relpath("a\\b"));
    CHECK(!nl_safe_relpath("a\nb"));
    CHECK(nl_safe_relpath("..a/b.."));
}

static nl_status load_text(const char *name, const char *text, nl_error *err) {
    tu_write(name, text, strlen(text));
    return nl_catalog_load(tu_path(name), err);
}

static void test_catalog_file(void) {
    nl_error err = {0};
    const char *good =
        "# test catalog\n"
        "[t-idx]\n"
        "title = tiny IDX\n"
        "kind = idx\n"
        "classes = 3\n"
        "mirror = http://127.0.0.1:1/a/\n"
        "mirror = http://127.0.0.1:1/b/\n"
        "download = t-idx/img-idx3-ubyte.gz size=10 md5=0123456789abcdef0123456789abcdef\n"
        "download = t-idx/lab-idx1-ubyte.gz sha256="
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"
        "member = img-idx3-ubyte record_size=4 records=3\n"
        "member = lab-idx1-ubyte record_size=1\n"
        "\n"
        "[t-cifar]   # an archive\n"
        "kind = cifar10\n"
        "subdir = t-cifar-bin\n"
        "mirror = http://127.0.0.1:1/\n"
        "download = t-cifar.tar.gz md5=0123456789abcdef0123456789abcdef\n"
        "member = data.bin record_size=3073 records=2\n";
    CHECK(load_text("good.cat", good, &err) == NL_OK);
    const nl_data_info *d = nl_catalog_find("t-idx");
    CHECK(d && d->custom && d->kind == NL_DATA_IDX && d->num_classes == 3);
    CHECK(d && d->nmirrors == 2 && !strcmp(d->mirrors[1], "http://127.0.0.1:1/b/"));
    CHECK(d && d->ndownloads == 2 && d->downloads[0].size == 10 && d->downloads[0].md5 &&
          !d->downloads[0].sha256);
    CHECK(d && d->nmembers == 2 && d->members[0].record_size == 4 && d->members[0].records == 3);
    CHECK(d && !strcmp(d->subdir, "t-idx") && !strcmp(d->title, "tiny IDX"));
    const nl_data_info *c = nl_catalog_find("t-cifar");
    CHECK(c && c->kind == NL_DATA_CIFAR10 && !strcmp(c->subdir, "t-cifar-bin"));
    CHECK(nl_catalog_count() == 7);

    struct {
        const char *text, *frag;
    } bad[] = {
        {"[mnist]\nkind = idx\n", "already defined"},
        {"[x]\nkind = tarball\n", "kind must be"},
        {"[x]\nkind = idx\nmirror = m\ndownload = x/a.gz\nmember = a\n", "pins no hash"},
        {"[x]\nkind = idx\ndownload = ../a.gz md5=0123456789abcdef0123456789abcdef\nmember = a\n",
         "unsafe"},
        {"[x]\nkind = idx\ndownload = x/a.gz md5=0123\nmember = a\n", "md5 must be 32 hex"},
        {"[x]\nkind = idx\ndownload = x/a.gz md5=0123456789abcdef0123456789abcdef\n",
         "at least one"},
        {"[x]\ncolour = blue\n", "unknown key 'colour'"},
        {"kind = idx\n", "before the first [NAME]"},
        {"[bad name]\n", "dataset name"},
        {"[x]\nkind = idx\nmember = a/b\n", "unsafe"},
        {"[x]\nkind = cifar10\ndownload = a.tar.gz md5=0123456789abcdef0123456789abcdef\n"
         "download = b.tar.gz md5=0123456789abcdef0123456789abcdef\nmember = m\n",
         "exactly one download"},
        {"[x]\nkind = idx\nmember = a records=-3\n", "records must be"},
        {"[x]\nkind = idx\nmember = a speed=3\n", "unknown option 'speed'"},
        {"[x]\nsubdir = ..\nkind = idx\ndownload = x/a.gz md5=0123456789abcdef0123456789abcdef\n"
         "member = a\n",
         "subdir"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        nl_error e = {0};
        nl_status st = load_text("bad.cat", bad[i].text, &e);
        CHECK_MSG(st == NL_EFORMAT, "case %zu: status %d (%s)", i, (int)st, e.msg);
        CHECK_CONTAINS(e.msg, bad[i].frag);
        CHECK_CONTAINS(e.msg, "bad.cat");
    }
    CHECK(nl_catalog_find("x") == NULL); /* a failed file adds nothing partial */
    /* not even the good entries before its error (found by fuzz_catalog) */
    CHECK(load_text("half.cat",
                    "[half-a]\nkind = idx\ndownload = half-a/a.gz "
                    "md5=0123456789abcdef0123456789abcdef\nmember = a\n[half-b]\nkind = nope\n",
                    &err) == NL_EFORMAT);
    CHECK(nl_catalog_find("half-a") == NULL);
    CHECK(nl_catalog_load(tu_path("no-such.cat"), &err) == NL_EIO);
    nl_catalog_reset();
    CHECK(nl_catalog_find("t-idx") == NULL && nl_catalog_count() == 5);

    /* NNLAB_CATALOG is read on first use; a bad one is reported by init */
    setenv("NNLAB_CATALOG", tu_path("good.cat"), 1);
    nl_catalog_reset(); /* the lookup above already read the (then unset) variable */
    CHECK(nl_catalog_find("t-cifar") != NULL);
    nl_catalog_reset();
    setenv("NNLAB_CATALOG", tu_path("bad.cat"), 1);
    CHECK(nl_catalog_init(&err) == NL_EFORMAT);
    CHECK_CONTAINS(err.msg, "NNLAB_CATALOG");
    nl_catalog_reset();
    unsetenv("NNLAB_CATALOG");
}

static void test_options(void) {
    nl_fetch_options o;
    nl_error err = {0};
    unsetenv("NNLAB_OFFLINE");
    unsetenv("NNLAB_MIRROR");
    CHECK(nl_fetch_options_init(&o, &err) == NL_OK);
    CHECK(o.retries == 3 && o.connect_timeout_s == 30 && o.stall_timeout_s == 60 && !o.offline);
    CHECK(o.mirror == NULL && o.backoff_s == 1);
    setenv("NNLAB_FETCH_TIMEOUT", "2.5", 1);
    setenv("NNLAB_FETCH_RETRIES", "5", 1);
    setenv("NNLAB_FETCH_BACKOFF", "0", 1);
    setenv("NNLAB_OFFLINE", "1", 1);
    setenv("NNLAB_MIRROR", "http://127.0.0.1:1/", 1);
    CHECK(nl_fetch_options_init(&o, &err) == NL_OK);
    CHECK(o.connect_timeout_s == 2.5 && o.stall_timeout_s == 2.5 && o.retries == 5);
    CHECK(o.backoff_s == 0 && o.offline == 1 && o.mirror &&
          !strcmp(o.mirror, "http://127.0.0.1:1/"));
    setenv("NNLAB_OFFLINE", "0", 1);
    CHECK(nl_fetch_options_init(&o, &err) == NL_OK && o.offline == 0);
    setenv("NNLAB_FETCH_TIMEOUT", "soon", 1);
    CHECK(nl_fetch_options_init(&o, &err) == NL_EINVAL);
    CHECK_CONTAINS(err.msg, "NNLAB_FETCH_TIMEOUT='soon'");
    setenv("NNLAB_FETCH_TIMEOUT", "1", 1);
    setenv("NNLAB_FETCH_RETRIES", "1.5", 1);
    CHECK(nl_fetch_options_init(&o, &err) == NL_EINVAL);
    CHECK_CONTAINS(err.msg, "NNLAB_FETCH_RETRIES");
    unsetenv("NNLAB_FETCH_TIMEOUT");
    unsetenv("NNLAB_FETCH_RETRIES");
    unsetenv("NNLAB_FETCH_BACKOFF");
    unsetenv("NNLAB_OFFLINE");
    unsetenv("NNLAB_MIRROR");
}

static void test_ensure_offline(void) {
    nl_error err = {0};
    tu_mkdir("ens");
    char dir[512]; /* tu_path's buffers rotate */
    snprintf(dir, sizeof dir, "%s", tu_path("ens"));
    CHECK(nl_data_ensure(dir, "mnist", 1, NULL, NULL, &err) == NL_ENOTFOUND);
    CHECK_CONTAINS(err.msg, dir);
    CHECK_CONTAINS(err.msg, "nnlab data fetch mnist");
    CHECK_CONTAINS(err.msg, "offline");
    setenv("NNLAB_OFFLINE", "1", 1);
    CHECK(nl_data_ensure(dir, "cifar10", 0, NULL, NULL, &err) == NL_ENOTFOUND);
    CHECK_CONTAINS(err.msg, "cifar-10-batches-bin");
    CHECK_CONTAINS(err.msg, "nnlab data fetch cifar10");
    unsetenv("NNLAB_OFFLINE");
    CHECK(nl_data_ensure(dir, "no-such-set", 1, NULL, NULL, &err) == NL_ENOTFOUND);
    CHECK_CONTAINS(err.msg, "unknown dataset");
    /* present = the loader's files exist: NL_OK without network or hashing */
    tu_mkdir("ens/mnist");
    tu_write("ens/mnist/train-images-idx3-ubyte", "", 0);
    tu_write("ens/mnist/train-labels-idx1-ubyte.gz", "", 0);
    tu_write("ens/mnist/t10k-images-idx3-ubyte", "", 0);
    const nl_data_info *mn = nl_catalog_find("mnist");
    CHECK(!nl_data_present(dir, mn));
    tu_write("ens/mnist/t10k-labels-idx1-ubyte", "", 0);
    CHECK(nl_data_present(dir, mn));
    CHECK(nl_data_ensure(dir, "mnist", 1, NULL, NULL, &err) == NL_OK);
    char p[4096];
    int present = -1;
    CHECK(nl_data_path(dir, "mnist", p, sizeof p, &present, &err) == NL_OK && present == 1);
    CHECK(!strcmp(p, tu_path("ens/mnist")));
    /* the archive alone counts for CIFAR */
    tu_write("ens/cifar-10-binary.tar.gz", "x", 1);
    CHECK(nl_data_ensure(dir, "cifar10", 1, NULL, NULL, &err) == NL_OK);
    CHECK(nl_data_path(dir, "cifar10", p, sizeof p, &present, &err) == NL_OK && present == 1);
    CHECK(!strcmp(p, tu_path("ens/cifar-10-binary.tar.gz")));
    /* but verify is not fooled by empty files */
    nl_verify_report *r = malloc(sizeof *r);
    CHECK(nl_data_verify(dir, "mnist", 0, r, &err) == NL_OK);
    CHECK(r->verdict == NL_VERDICT_BAD);
    CHECK(nl_data_verify(dir, "cifar10", 0, r, &err) == NL_OK);
    CHECK(r->verdict == NL_VERDICT_BAD);
    CHECK(nl_data_verify(dir, "kmnist", 0, r, &err) == NL_OK && r->verdict == NL_VERDICT_MISSING);
    free(r);
}

static void be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8),
    p[3] = (uint8_t)v;
}

/* IDX u8 file: rank 3 (n, 2, 2) or rank 1 (n). */
static size_t make_idx(uint8_t *buf, int rank, uint32_t n, uint8_t fill) {
    buf[0] = buf[1] = 0, buf[2] = 8, buf[3] = (uint8_t)rank;
    be32(buf + 4, n);
    size_t off = 8, per = 1;
    if (rank == 3) {
        be32(buf + 8, 2), be32(buf + 12, 2);
        off = 16;
        per = 4;
    }
    for (size_t i = 0; i < n * per; i++) buf[off + i] = (uint8_t)((fill + i) % 3);
    return off + n * per;
}

static nl_verdict verify_one(const char *dir, const char *name, nl_verify_report *r) {
    nl_error err = {0};
    CHECK(nl_data_verify(dir, name, 0, r, &err) == NL_OK);
    return r->verdict;
}

static void test_verify_idx(void) {
    nl_error err = {0};
    uint8_t img[64], lab[16];
    size_t ni = make_idx(img, 3, 3, 0), nlab = make_idx(lab, 1, 3, 1);
    char hi[NL_HASH_HEX_MAX], hl[NL_HASH_HEX_MAX], cat[1024];
    nl_hash_buffer(NL_HASH_SHA256, img, ni, hi, &err);
    nl_hash_buffer(NL_HASH_SHA256, lab, nlab, hl, &err);
    snprintf(cat, sizeof cat,
             "[v-idx]\nkind = idx\nclasses = 3\nmirror = file:///nonexistent/\n"
             "download = v-idx/img-idx3-ubyte.gz md5=0123456789abcdef0123456789abcdef\n"
             "download = v-idx/lab-idx1-ubyte.gz md5=0123456789abcdef0123456789abcdef\n"
             "member = img-idx3-ubyte record_size=4 records=3 sha256=%s\n"
             "member = lab-idx1-ubyte record_size=1 records=3\n",
             hi);
    CHECK(load_text("v.cat", cat, &err) == NL_OK);
    tu_mkdir("v");
    tu_mkdir("v/v-idx");
    char dir[512];
    snprintf(dir, sizeof dir, "%s", tu_path("v"));
    nl_verify_report *r = malloc(sizeof *r);
    CHECK(verify_one(dir, "v-idx", r) == NL_VERDICT_MISSING);

    tu_write("v/v-idx/img-idx3-ubyte", img, ni);
    tu_write("v/v-idx/lab-idx1-ubyte", lab, nlab);
    /* images pinned and right, labels have no pin: unverified, said so */
    CHECK(verify_one(dir, "v-idx", r) == NL_VERDICT_UNVERIFIED);
    CHECK(r->nitems == 2 && r->items[0].verdict == NL_VERDICT_OK);
    CHECK(r->items[1].verdict == NL_VERDICT_UNVERIFIED);
    CHECK_CONTAINS(r->items[1].detail, "content unverified");
    CHECK_CONTAINS(r->summary, "unverified");

    /* a wrong byte: sha256 mismatch naming expected and found */
    img[20] ^= 1;
    tu_write("v/v-idx/img-idx3-ubyte", img, ni);
    CHECK(verify_one(dir, "v-idx", r) == NL_VERDICT_BAD);
    CHECK_CONTAINS(r->items[0].detail, "sha256 mismatch");
    CHECK_CONTAINS(r->items[0].detail, hi);
    CHECK_CONTAINS(r->items[0].file, "v-idx/img-idx3-ubyte");
    img[20] ^= 1;

    /* structure: magic, truncation, trailing bytes, count, label range */
    uint8_t bad[64];
    memcpy(bad, img, ni);
    bad[2] = 9;
    tu_write("v/v-idx/img-idx3-ubyte", bad, ni);
    CHECK(verify_one(dir, "v-idx", r) == NL_VERDICT_BAD);
    CHECK_CONTAINS(r->items[0].detail, "not an IDX u8 file");
    tu_write("v/v-idx/img-idx3-ubyte", img, ni - 1);
    CHECK(verify_one(dir, "v-idx", r) == NL_VERDICT_BAD);
    CHECK_CONTAINS(r->items[0].detail, "truncated");
    memcpy(bad, img, ni);
    bad[ni] = 0;
    tu_write("v/v-idx/img-idx3-ubyte", bad, ni + 1);
    CHECK(verify_one(dir, "v-idx", r) == NL_VERDICT_BAD);
    CHECK_CONTAINS(r->items[0].detail, "longer than");
    size_t n4 = make_idx(bad, 3, 4, 0);
    tu_write("v/v-idx/img-idx3-ubyte", bad, n4);
    CHECK(verify_one(dir, "v-idx", r) == NL_VERDICT_BAD);
    CHECK_CONTAINS(r->items[0].detail, "4 samples, expected 3");
    tu_write("v/v-idx/img-idx3-ubyte", img, ni);
    memcpy(bad, lab, nlab);
    bad[9] = 3; /* classes = 3 */
    tu_write("v/v-idx/lab-idx1-ubyte", bad, nlab);
    CHECK(verify_one(dir, "v-idx", r) == NL_VERDICT_BAD);
    CHECK_CONTAINS(r->items[1].detail, "label 3 at sample 1 is not below 3");
    tu_write("v/v-idx/lab-idx1-ubyte", lab, nlab);

    /* the .gz form: not the pinned download (md5 differs), but its content is
     * pinned and matches -> verified as a recompressed copy */
    unlink(tu_path("v/v-idx/img-idx3-ubyte"));
    tu_write_gz("v/v-idx/img-idx3-ubyte.gz", img, ni);
    CHECK(verify_one(dir, "v-idx", r) == NL_VERDICT_UNVERIFIED); /* labels still unpinned */
    CHECK(r->items[0].verdict == NL_VERDICT_OK);
    CHECK_CONTAINS(r->items[0].detail, "recompressed");
    /* a corrupt .gz */
    tu_write("v/v-idx/img-idx3-ubyte.gz", "\x1f\x8b\x08\x00garbage", 12);
    CHECK(verify_one(dir, "v-idx", r) == NL_VERDICT_BAD);
    CHECK_CONTAINS(r->items[0].detail, "gzip");
    CHECK(nl_data_verify(dir, "v-idx", 1, r, &err) == NL_OK && r->verdict == NL_VERDICT_UNVERIFIED);
    free(r);
    nl_catalog_reset();
}

/* ---- tar ------------------------------------------------------------------------------------ */

static void tar_entry(gzFile g, const char *name, const void *data, size_t n, char type) {
    uint8_t h[512] = {0};
    snprintf((char *)h, 100, "%s", name);
    memcpy(h + 100, "0000644", 8);
    memcpy(h + 108, "0000000", 8);
    memcpy(h + 116, "0000000", 8);
    snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)n);
    memcpy(h + 136, "00000000000", 12);
    h[156] = (uint8_t)type;
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < 512; i++) sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", sum);
    h[155] = ' ';
    gzwrite(g, h, 512);
    if (n) gzwrite(g, data, (unsigned)n);
    static const uint8_t zero[512];
    if (n % 512) gzwrite(g, zero, (unsigned)(512 - n % 512));
}

static void tar_end(gzFile g) {
    static const uint8_t zero[1024];
    gzwrite(g, zero, 1024);
    gzclose(g);
}

static void test_untar(void) {
    nl_error err = {0};
    gzFile g = gzopen(tu_path("a.tar.gz"), "wb");
    tar_entry(g, "pfx/", NULL, 0, '5');
    tar_entry(g, "pfx/one.bin", "hello", 5, '0');
    tar_entry(g, "pfx/sub/deep.bin", "deep", 4, '0');
    tar_entry(g, "other/two.bin", "other", 5, '0');
    tar_entry(g, "./pfx/three.txt", "x\ny\n", 4, '0');
    tar_entry(g, "pfx/link", NULL, 0, '2');
    tar_end(g);
    tu_mkdir("ux");
    int count = -1;
    CHECK(nl_untar_gz(tu_path("a.tar.gz"), "pfx", tu_path("ux"), &count, &err) == NL_OK);
    CHECK_MSG(count == 2, "count %d (%s)", count, err.msg);
    char hex[NL_HASH_HEX_MAX], want[NL_HASH_HEX_MAX];
    CHECK(nl_hash_file(tu_path("ux/one.bin"), NL_HASH_SHA256, hex, NULL, &err) == NL_OK);
    nl_hash_buffer(NL_HASH_SHA256, "hello", 5, want, &err);
    CHECK(!strcmp(hex, want));
    CHECK(nl_is_file(tu_path("ux/three.txt")));
    CHECK(!nl_is_file(tu_path("ux/two.bin")) && !nl_is_file(tu_path("ux/deep.bin")));
    CHECK(access(tu_path("ux/link"), F_OK) != 0);

    /* an escape attempt stops everything */
    g = gzopen(tu_path("evil.tar.gz"), "wb");
    tar_entry(g, "pfx/../../evil.txt", "boo", 3, '0');
    tar_end(g);
    tu_mkdir("ue");
    CHECK(nl_untar_gz(tu_path("evil.tar.gz"), "pfx", tu_path("ue"), NULL, &err) == NL_EFORMAT);
    CHECK_CONTAINS(err.msg, "unsafe path");
    CHECK(access(tu_path("evil.txt"), F_OK) != 0);

    /* a corrupt header checksum, and truncated data */
    g = gzopen(tu_path("t.tar.gz"), "wb");
    uint8_t block[512] = {0};
    memcpy(block, "pfx/x", 5);
    memcpy(block + 124, "00000000010", 11);
    memcpy(block + 148, "000001", 6);
    gzwrite(g, block, 512);
    tar_end(g);
    CHECK(nl_untar_gz(tu_path("t.tar.gz"), "pfx", tu_path("ue"), NULL, &err) == NL_EFORMAT);
    CHECK_CONTAINS(err.msg, "corrupt tar header");
    g = gzopen(tu_path("t2.tar.gz"), "wb");
    char big[2000];
    memset(big, 'q', sizeof big);
    tar_entry(g, "pfx/big.bin", big, sizeof big, '0');
    gzclose(g);
    /* cut the uncompressed tar short by rewriting it through a truncated buffer */
    {
        gzFile in = gzopen(tu_path("t2.tar.gz"), "rb");
        uint8_t all[4096];
        int n = gzread(in, all, sizeof all);
        gzclose(in);
        gzFile out = gzopen(tu_path("t3.tar.gz"), "wb");
        gzwrite(out, all, (unsigned)(n - 700));
        gzclose(out);
    }
    CHECK(nl_untar_gz(tu_path("t3.tar.gz"), "pfx", tu_path("ue"), NULL, &err) == NL_EFORMAT);
    CHECK_CONTAINS(err.msg, "truncated");
}

/* ---- nl_fetch_url over file:// ------------------------------------------------------------------
 */

typedef struct {
    const char *sha;
    int calls;
} want_ctx;

static nl_status check_sha(void *vctx, const char *part, nl_error *err) {
    want_ctx *w = vctx;
    char hex[NL_HASH_HEX_MAX];
    w->calls++;
    nl_status st = nl_hash_file(part, NL_HASH_SHA256, hex, NULL, err);
    if (st) return st;
    if (!nl_hash_equal(hex, w->sha))
        return nl_error_set(err, NL_ECHECKSUM, "sha256 mismatch: expected %s, found %s", w->sha,
                            hex);
    return NL_OK;
}

static void note(void *user, const char *msg) {
    (void)user;
    (void)msg;
}

static int progress_calls;
static int on_progress(void *user, const char *file, uint64_t done, uint64_t total) {
    (void)user;
    (void)file;
    (void)done;
    (void)total;
    progress_calls++;
    return 0;
}

static void test_fetch_file_urls(void) {
    nl_error err = {0};
    char payload[5000];
    for (size_t i = 0; i < sizeof payload; i++) payload[i] = (char)(i * 7);
    tu_mkdir("src");
    tu_write("src/payload.bin", payload, sizeof payload);
    char sha[NL_HASH_HEX_MAX];
    nl_hash_buffer(NL_HASH_SHA256, payload, sizeof payload, sha, &err);
    char u0[600], u1[600];
    snprintf(u0, sizeof u0, "file://%s", tu_path("src/nope.bin"));
    snprintf(u1, sizeof u1, "file://%s", tu_path("src/payload.bin"));
    const char *urls[] = {u0, u1};
    nl_fetch_options o;
    CHECK(nl_fetch_options_init(&o, &err) == NL_OK);
    o.retries = 1;
    o.backoff_s = 0;
    o.log = note;
    o.progress = on_progress;
    want_ctx w = {sha, 0};
    char dest[512];
    snprintf(dest, sizeof dest, "%s", tu_path("cache/sub/payload.bin"));
    CHECK(nl_fetch_url(urls, 2, dest, NULL, sizeof payload, check_sha, &w, &o, &err) == NL_OK);
    CHECK(w.calls == 1);
    char hex[NL_HASH_HEX_MAX];
    CHECK(nl_hash_file(dest, NL_HASH_SHA256, hex, NULL, &err) == NL_OK && !strcmp(hex, sha));
    CHECK(access(tu_path("cache/sub/.payload.bin.part"), F_OK) != 0);
    CHECK(progress_calls > 0);

    /* wrong hash: deleted, message names the file, expected and found */
    unlink(dest);
    want_ctx w2 = {"0000000000000000000000000000000000000000000000000000000000000000", 0};
    CHECK(nl_fetch_url(urls, 2, dest, "sub/payload.bin", 0, check_sha, &w2, &o, &err) ==
          NL_ECHECKSUM);
    CHECK_CONTAINS(err.msg, "expected 0000000000000000");
    CHECK_CONTAINS(err.msg, sha);
    CHECK_CONTAINS(err.msg, "deleted");
    CHECK(access(dest, F_OK) != 0);
    CHECK(access(tu_path("cache/sub/.payload.bin.part"), F_OK) != 0);

    /* a partial file from an earlier run is resumed */
    tu_write("cache/sub/.payload.bin.part", payload, 1234);
    want_ctx w3 = {sha, 0};
    CHECK(nl_fetch_url(urls + 1, 1, dest, NULL, sizeof payload, check_sha, &w3, &o, &err) == NL_OK);
    CHECK(nl_hash_file(dest, NL_HASH_SHA256, hex, NULL, &err) == NL_OK && !strcmp(hex, sha));
    /* a stale partial file that does not belong to it: detected, started over */
    unlink(dest);
    tu_write("cache/sub/.payload.bin.part", "garbage!", 8);
    want_ctx w4 = {sha, 0};
    CHECK(nl_fetch_url(urls + 1, 1, dest, NULL, sizeof payload, check_sha, &w4, &o, &err) == NL_OK);
    CHECK(w4.calls == 2);
    CHECK(nl_hash_file(dest, NL_HASH_SHA256, hex, NULL, &err) == NL_OK && !strcmp(hex, sha));

    /* nothing reachable */
    CHECK(nl_fetch_url(urls, 1, tu_path("cache/x"), NULL, 0, NULL, NULL, &o, &err) == NL_ENET);
    CHECK_CONTAINS(err.msg, "nope.bin");
    /* offline */
    o.offline = 1;
    CHECK(nl_fetch_url(urls + 1, 1, tu_path("cache/y"), NULL, 0, NULL, NULL, &o, &err) ==
          NL_ENOTFOUND);
    o.offline = 0;
    /* unsupported scheme is refused, not fetched */
    const char *ftp[] = {"ftp://127.0.0.1/x"};
    CHECK(nl_fetch_url(ftp, 1, tu_path("cache/z"), NULL, 0, NULL, NULL, &o, &err) == NL_ENET);
}

/* ---- the store never follows a link it meets (issue 15, F1) ---------------------------------- */

static void test_no_follow(void) {
    nl_error err = {0};
    tu_mkdir("nf");
    tu_mkdir("nf/victim");
    tu_write("nf/victim/keep.txt", "keep", 4);
    tu_mkdir("nf/tree");
    tu_write("nf/tree/a.bin", "a", 1);
    char target[512];
    snprintf(target, sizeof target, "%s", tu_path("nf/victim"));
    CHECK(symlink(target, tu_path("nf/tree/link")) == 0);
    CHECK(symlink(target, tu_path("nf/toplink")) == 0);
    /* a link as the tree itself: refused, nothing behind it touched */
    CHECK(nl_remove_tree(tu_path("nf/toplink")) != 0);
    CHECK(nl_is_file(tu_path("nf/victim/keep.txt")));
    /* a link inside the tree: removed as a link */
    CHECK(nl_remove_tree(tu_path("nf/tree")) == 0);
    CHECK(access(tu_path("nf/tree"), F_OK) != 0);
    CHECK(nl_is_file(tu_path("nf/victim/keep.txt")));

    /* a failed fetch removes the data directories it created */
    const char *cat = "[nf-idx]\nkind = idx\nmirror = file:///nonexistent/nnlab/\n"
                      "download = nf-idx/a-idx1-ubyte.gz size=10 "
                      "md5=0123456789abcdef0123456789abcdef\n"
                      "member = a-idx1-ubyte record_size=1 records=2\n";
    CHECK(load_text("nf.cat", cat, &err) == NL_OK);
    nl_fetch_options o;
    CHECK(nl_fetch_options_init(&o, &err) == NL_OK);
    o.retries = 1;
    o.backoff_s = 0;
    o.log = note;
    char dir[512];
    snprintf(dir, sizeof dir, "%s", tu_path("nf/new/deeper"));
    CHECK(nl_data_fetch(dir, "nf-idx", &o, &err) == NL_ENET);
    CHECK_MSG(access(tu_path("nf/new"), F_OK) != 0, "%s left behind", tu_path("nf/new"));
    /* and in an existing one, leaves nothing (no lock, no dataset directory) */
    tu_mkdir("nf/old");
    snprintf(dir, sizeof dir, "%s", tu_path("nf/old"));
    CHECK(nl_data_fetch(dir, "nf-idx", &o, &err) == NL_ENET);
    CHECK(access(tu_path("nf/old/nf-idx"), F_OK) != 0);
    CHECK(access(tu_path("nf/old/.nnlab-fetch.lock"), F_OK) != 0);
    CHECK(nl_is_dir(tu_path("nf/old")));
    nl_catalog_reset();
}

int main(void) {
    unsetenv("NNLAB_CATALOG");
    tu_tmpdir();
    test_builtin_catalog();
    test_safe_relpath();
    test_catalog_file();
    test_options();
    test_ensure_offline();
    test_verify_idx();
    test_untar();
    test_fetch_file_urls();
    test_no_follow();
    tu_cleanup();
    CHECK_DONE();
}
