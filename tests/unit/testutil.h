/* Temp directories and file writers for tests. */
#ifndef NNLAB_TESTUTIL_H
#define NNLAB_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static char tu_dir[256];

/* Creates a fresh temp directory (removed by tu_cleanup). */
__attribute__((unused)) static const char *tu_tmpdir(void) {
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(tu_dir, sizeof tu_dir, "%s/nnlab-test-XXXXXX", base);
    if (!mkdtemp(tu_dir)) {
        perror("mkdtemp");
        exit(2);
    }
    return tu_dir;
}

__attribute__((unused)) static void tu_cleanup(void) {
    char cmd[512];
    if (tu_dir[0] && strstr(tu_dir, "nnlab-test-")) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tu_dir);
        if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", tu_dir);
    }
}

__attribute__((unused)) static const char *tu_path(const char *name) {
    static char p[8][1024];
    static int k;
    k = (k + 1) % 8;
    snprintf(p[k], sizeof p[k], "%s/%s", tu_dir, name);
    return p[k];
}

__attribute__((unused)) static void tu_write(const char *name, const void *data, size_t n) {
    FILE *f = fopen(tu_path(name), "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n)) {
        perror(name);
        exit(2);
    }
    fclose(f);
}

__attribute__((unused)) static void tu_write_gz(const char *name, const void *data, size_t n) {
    gzFile g = gzopen(tu_path(name), "wb");
    if (!g || (n && gzwrite(g, data, (unsigned)n) != (int)n)) {
        fprintf(stderr, "gz write %s failed\n", name);
        exit(2);
    }
    gzclose(g);
}

__attribute__((unused)) static void tu_mkdir(const char *name) { mkdir(tu_path(name), 0755); }

#endif
