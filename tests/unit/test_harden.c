/* Issue 15 hardening, outside the dataset store (test_fetch.c and
 * tests/integration/data_fetch_hostile.sh cover that):
 *   F4  a model file whose stored sizes disagree with its length or its
 *       architecture is refused before anything is allocated;
 *   F6  a FIFO as model file or events file never blocks;
 *   F10 --save refuses to replace a FIFO, a directory or a link to one;
 *   F14 a failed event write is reported;
 *   F15 a temp file left by a killed save is removed by the next save.
 * alarm() turns a hang into a failure. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "nnlab/model.h"
#include "nnlab/train.h"
#include "testutil.h"

static uint8_t *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long k = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc((size_t)k);
    *n = fread(p, 1, (size_t)k, f);
    fclose(f);
    return p;
}

static void put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16),
    p[3] = (uint8_t)(v >> 24);
}

static void fix_crc(uint8_t *p, size_t n) {
    put32(p + n - 4, (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)(n - 4)));
}

static long peak_rss_kib(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* input 4x4x1 -> flatten -> dense 10 (softmax), saved without optimizer */
static nl_model *tiny(void) {
    nl_model *m = nl_model_new(4, 4, 1);
    nl_model_flatten(m);
    nl_model_dense(m, 10, NL_ACT_SOFTMAX);
    nl_error err = {0};
    if (nl_model_compile(m, 8, &err)) {
        fprintf(stderr, "compile: %s\n", err.msg);
        exit(2);
    }
    nl_model_init(m, 1);
    return m;
}

static void test_model_sizes(void) {
    nl_error err = {0};
    nl_model *m = tiny();
    CHECK(nl_model_save(tu_path("tiny.nnlab"), m, NULL, NULL, &err) == NL_OK);
    nl_model_free(m);
    size_t n = 0;
    uint8_t *good = slurp(tu_path("tiny.nnlab"), &n);
    /* format version 2: a header of 260 bytes (layer records of 40 bytes, the
     * loss, the training state), 170 parameters, the CRC */
    CHECK(good && n == 260 + 170 * 4 + 4);
    nl_model *back = NULL;
    CHECK(nl_model_load(tu_path("tiny.nnlab"), 8, &back, NULL, NULL, 0, &err) == NL_OK);
    nl_model_free(back);

    const long rss0 = peak_rss_kib();
    uint8_t *p = malloc(n);
    /* 8192x8192x1 -> flatten -> dense 10, claiming the 671 M parameters it
     * needs, in a file of 269 bytes: the file's length refuses it */
    memcpy(p, good, 260);
    put32(p + 16, 8192), put32(p + 20, 8192);
    uint64_t P = (uint64_t)8192 * 8192 * 10 + 10;
    put32(p + 120, (uint32_t)P), put32(p + 124, (uint32_t)(P >> 32));
    memset(p + 260, 0, 5);
    fix_crc(p, 269);
    tu_write("claims.nnlab", p, 269);
    CHECK(nl_model_load(tu_path("claims.nnlab"), 64, &back, NULL, NULL, 0, &err) == NL_EFORMAT);
    CHECK_CONTAINS(err.msg, "671088650 parameters");
    CHECK_CONTAINS(err.msg, "5 bytes of tensors follow offset 260");
    CHECK(back == NULL);
    /* the same architecture with the tiny model's 170 parameters: the file's
     * length agrees, the architecture does not, found before compiling */
    memcpy(p, good, n);
    put32(p + 16, 8192), put32(p + 20, 8192);
    fix_crc(p, n);
    tu_write("arch.nnlab", p, n);
    CHECK(nl_model_load(tu_path("arch.nnlab"), 64, &back, NULL, NULL, 0, &err) == NL_EFORMAT);
    CHECK_CONTAINS(err.msg, "the architecture needs 671088650");
    /* a 16384^2 input: above the limits, named with its offset */
    put32(p + 16, 70000), put32(p + 20, 16384);
    fix_crc(p, n);
    tu_write("dims.nnlab", p, n);
    CHECK(nl_model_load(tu_path("dims.nnlab"), 64, &back, NULL, NULL, 0, &err) == NL_EFORMAT);
    CHECK_CONTAINS(err.msg, "input shape 70000x16384x1 at offset 16");
    /* absurd layer units */
    memcpy(p, good, n);
    put32(p + 32 + 40 + 4, 1u << 30); /* layer 1 (dense) units */
    fix_crc(p, n);
    tu_write("units.nnlab", p, n);
    CHECK(nl_model_load(tu_path("units.nnlab"), 64, &back, NULL, NULL, 0, &err) == NL_EFORMAT);
    CHECK_CONTAINS(err.msg, "layer 1 at offset 72");
    const long grown_mib = (peak_rss_kib() - rss0) / 1024;
    CHECK_MSG(grown_mib < 64, "peak RSS grew by %ld MiB while refusing them", grown_mib);
    free(p);
    free(good);
}

static void test_model_fifo(void) {
    nl_error err = {0};
    CHECK(mkfifo(tu_path("model.fifo"), 0644) == 0);
    nl_model *m = NULL;
    CHECK(nl_model_load(tu_path("model.fifo"), 8, &m, NULL, NULL, 0, &err) == NL_EIO);
    CHECK_CONTAINS(err.msg, "is a FIFO, not a regular file");
    CHECK(nl_model_load(tu_path("."), 8, &m, NULL, NULL, 0, &err) != NL_OK);
}

static void test_save_targets(void) {
    nl_error err = {0};
    nl_model *m = tiny();
    struct stat st;
    /* a FIFO, a directory, a link to a FIFO: refused, left as they are */
    CHECK(mkfifo(tu_path("out.fifo"), 0644) == 0);
    CHECK(nl_model_save(tu_path("out.fifo"), m, NULL, NULL, &err) == NL_EIO);
    CHECK_CONTAINS(err.msg, "is a FIFO; a model is saved only as a regular file");
    CHECK(lstat(tu_path("out.fifo"), &st) == 0 && S_ISFIFO(st.st_mode));
    tu_mkdir("out.dir");
    CHECK(nl_model_save(tu_path("out.dir"), m, NULL, NULL, &err) == NL_EIO);
    CHECK_CONTAINS(err.msg, "is a directory");
    char target[1024];
    snprintf(target, sizeof target, "%s", tu_path("out.fifo"));
    CHECK(symlink(target, tu_path("link.nnlab")) == 0);
    CHECK(nl_model_save(tu_path("link.nnlab"), m, NULL, NULL, &err) == NL_EIO);
    CHECK(lstat(tu_path("link.nnlab"), &st) == 0 && S_ISLNK(st.st_mode));
    CHECK(lstat(tu_path("out.fifo"), &st) == 0 && S_ISFIFO(st.st_mode));
    /* no temp file is left next to any of them */
    CHECK(access(tu_path("out.fifo.tmp"), F_OK) != 0);

    /* F15: a save killed midway left OUT.tmp.PID.XXXXXX behind; the next save
     * removes it, but not a live process's, a link, a directory or another
     * name */
    pid_t child = fork();
    if (child == 0) _exit(0);
    waitpid(child, NULL, 0); /* now a pid of no process */
    char stale[64], live[64], other[64];
    snprintf(stale, sizeof stale, "m.nnlab.tmp.%d.aB3xYz", (int)child);
    snprintf(live, sizeof live, "m.nnlab.tmp.%d.Qw12er", (int)getppid());
    snprintf(other, sizeof other, "m.nnlab.tmpx.%d.aB3xYz", (int)child);
    tu_write(stale, "junk", 4);
    tu_write(live, "busy", 4);
    tu_write(other, "mine", 4);
    char lnk[64];
    snprintf(lnk, sizeof lnk, "m.nnlab.tmp.%d.LiNk00", (int)child);
    CHECK(symlink(tu_path(other), tu_path(lnk)) == 0);
    char sub[64];
    snprintf(sub, sizeof sub, "m.nnlab.tmp.%d.DiR000", (int)child);
    tu_mkdir(sub);
    CHECK(nl_model_save(tu_path("m.nnlab"), m, NULL, NULL, &err) == NL_OK);
    CHECK_MSG(access(tu_path(stale), F_OK) != 0, "%s was not removed", stale);
    CHECK(access(tu_path(live), F_OK) == 0);
    CHECK(access(tu_path(other), F_OK) == 0);
    CHECK(lstat(tu_path(lnk), &st) == 0 && S_ISLNK(st.st_mode));
    CHECK(stat(tu_path(sub), &st) == 0 && S_ISDIR(st.st_mode));
    /* a link to a regular file is replaced by the new file */
    CHECK(symlink(tu_path(other), tu_path("l2.nnlab")) == 0);
    CHECK(nl_model_save(tu_path("l2.nnlab"), m, NULL, NULL, &err) == NL_OK);
    CHECK(lstat(tu_path("l2.nnlab"), &st) == 0 && S_ISREG(st.st_mode));
    nl_model_free(m);
}

static void test_events(void) {
    nl_error err = {0};
    nl_events ev;
    /* F14: /dev/full loses every event: reported, with the count */
    CHECK(nl_events_open(&ev, "/dev/full", &err) == NL_OK);
    CHECK(nl_events_status(&ev, &err) == NL_OK);
    nl_event(&ev, "POINT_IN_TIME", "a", NULL, NULL);
    nl_event(&ev, "POINT_IN_TIME", "b", NULL, NULL);
    CHECK(nl_events_status(&ev, &err) == NL_EIO);
    CHECK_CONTAINS(err.msg, "/dev/full");
    CHECK_CONTAINS(err.msg, strerror(ENOSPC));
    CHECK_CONTAINS(err.msg, "2 events lost");
    nl_events_close(&ev);
    /* a regular file: every line there, no error */
    CHECK(nl_events_open(&ev, tu_path("ev.log"), &err) == NL_OK);
    nl_event(&ev, "POINT_IN_TIME", "k", "1", "{\"x\": 2}");
    CHECK(nl_events_status(&ev, &err) == NL_OK);
    nl_events_close(&ev);
    size_t n = 0;
    uint8_t *text = slurp(tu_path("ev.log"), &n);
    CHECK(text && n > 20 && !memcmp(text, ":::MLLOG {", 10) && text[n - 1] == '\n');
    free(text);
    /* F6: a FIFO without a reader: an error at once, not a hang */
    CHECK(mkfifo(tu_path("ev.fifo"), 0644) == 0);
    CHECK(nl_events_open(&ev, tu_path("ev.fifo"), &err) == NL_EIO);
    CHECK_CONTAINS(err.msg, "FIFO with no reader");
    /* a reader that goes away: EPIPE reported, no SIGPIPE */
    int rfd = open(tu_path("ev.fifo"), O_RDONLY | O_NONBLOCK);
    CHECK(rfd >= 0);
    CHECK(nl_events_open(&ev, tu_path("ev.fifo"), &err) == NL_OK);
    nl_event(&ev, "POINT_IN_TIME", "one", NULL, NULL);
    CHECK(nl_events_status(&ev, &err) == NL_OK);
    close(rfd);
    nl_event(&ev, "POINT_IN_TIME", "two", NULL, NULL);
    CHECK(nl_events_status(&ev, &err) == NL_EIO);
    CHECK_CONTAINS(err.msg, "the reader went away");
    nl_events_close(&ev);
    /* a reader that never reads: training waits NL_EVENTS_STALL_S at most */
    rfd = open(tu_path("ev.fifo"), O_RDONLY | O_NONBLOCK);
    CHECK(nl_events_open(&ev, tu_path("ev.fifo"), &err) == NL_OK);
    time_t t0 = time(NULL);
    char big[4096];
    memset(big, '1', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    for (int i = 0; i < 100 && !ev.error; i++) nl_event(&ev, "POINT_IN_TIME", "k", big, NULL);
    const long took = (long)(time(NULL) - t0);
    CHECK(nl_events_status(&ev, &err) == NL_EIO);
    CHECK_CONTAINS(err.msg, "took no line");
    CHECK_MSG(took <= NL_EVENTS_STALL_S + 3, "blocked for %ld s", took);
    nl_events_close(&ev);
    close(rfd);
}

int main(void) {
    alarm(120);
    tu_tmpdir();
    test_model_sizes();
    test_model_fifo();
    test_save_targets();
    test_events();
    tu_cleanup();
    CHECK_DONE();
}
