/* Internals of the dataset store (src/store/: catalog, verify, fetch, unpack; not installed). */
#ifndef NNLAB_STORE_INTERNAL_H
#define NNLAB_STORE_INTERNAL_H

#include <stdint.h>

#include "core/path.h"
#include "nnlab/fetch.h"

/* Most downloads, mirrors or members one catalog entry may have. */
enum { NL_CATALOG_MAX_FILES = 8 };

/* 1 when p is a non-empty relative path whose components are neither empty,
 * ".", nor "..", and that has no backslash or control character. */
int nl_safe_relpath(const char *p);

/* One file checked in a single pass: hashes of the stored bytes, and for a
 * gzip file the hash of its content; structure of the content against member. */
typedef struct nl_file_check {
    /* inputs */
    const nl_data_info *info;
    const nl_data_member *member; /* NULL: no structure check */
    int gz;                       /* content is the gunzipped file */
    int want_md5;
    /* outputs */
    int exists;
    uint64_t bytes;         /* size on disk */
    uint64_t content_bytes; /* bytes of content (gunzipped when gz) */
    char sha256[NL_HASH_HEX_MAX], md5[NL_HASH_HEX_MAX];
    char content_sha256[NL_HASH_HEX_MAX]; /* gz only */
    int structure_ok;
    char structure[320]; /* "60000 records of 784 bytes", or what is wrong */
} nl_file_check;

/* Fills c. A missing file gives NL_OK with c->exists = 0; an unreadable one
 * NL_EIO (message names the file). */
nl_status nl_check_file(const char *path, nl_file_check *c, nl_error *err);

/* Judges a download (IDX .gz with its member, or an archive with member NULL)
 * and a plain member file. detail gets one line. */
nl_verdict nl_judge_download(const nl_data_info *d, const nl_data_download *dl,
                             const nl_data_member *m, const nl_file_check *c, char *detail,
                             size_t n);
nl_verdict nl_judge_member(const nl_data_info *d, const nl_data_member *m, const nl_file_check *c,
                           char *detail, size_t n, int *is_other);

/* Extracts the regular files under prefix/ (one level: prefix/NAME) of a
 * tar.gz into dest_dir, fsync'ing each. Other entries are skipped; an entry
 * under prefix/ with an unsafe name or a size above 2 GiB is an error. *count
 * (may be NULL) gets the number of files written. */
nl_status nl_untar_gz(const char *archive, const char *prefix, const char *dest_dir, int *count,
                      nl_error *err);

/* Removes a directory and the files in it (two levels at most); 0 on success. */
int nl_remove_tree(const char *path);

#endif
