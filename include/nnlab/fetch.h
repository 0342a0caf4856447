/* nnlab/fetch.h - the dataset catalog, downloads into the cache, verification.
 *
 * The cache is the data directory (see nl_data_dir in nnlab/data.h) with the
 * same layout the loaders read:
 *   DIR/mnist/, DIR/fashion-mnist/, DIR/kmnist/   the four IDX files, kept as
 *                                                  downloaded (*.gz; the loader
 *                                                  reads .gz and raw files)
 *   DIR/cifar-10-batches-bin/                      unpacked from the official
 *   DIR/cifar-100-binary/                          tar.gz, which is then deleted
 * A CIFAR archive placed by hand (DIR/cifar-10-binary.tar.gz) is accepted too.
 *
 * A download lands in the cache only after its hash matched: it is written to
 * a hidden ".NAME.part" file next to its destination, fsync'ed, hashed, and
 * renamed into place. A ".part" left by an interrupted transfer is resumed with
 * an HTTP Range request. A download whose hash does not match is deleted.
 *
 * Environment (read by nl_fetch_options_init):
 *   NNLAB_MIRROR         space- or comma-separated base URLs replacing every
 *                        catalog mirror; a file's URL is BASE + its path in the
 *                        data directory (BASE/mnist/train-images-idx3-ubyte.gz,
 *                        BASE/cifar-10-binary.tar.gz), so any HTTP server
 *                        serving a data directory is a mirror
 *   NNLAB_FETCH_TIMEOUT  seconds to connect, and seconds without progress
 *                        before a transfer is abandoned (default 30 and 60)
 *   NNLAB_FETCH_RETRIES  attempts per URL on transient errors (default 3)
 *   NNLAB_FETCH_BACKOFF  seconds before the first retry, doubled each time
 *                        (default 1, at most 30)
 *   NNLAB_OFFLINE=1      never use the network (nl_data_ensure, nl_data_fetch)
 *   NNLAB_CATALOG        a file with extra dataset entries (format in
 *                        src/store/catalog.c); built-in names cannot be redefined
 *
 * Nothing here prints; messages go through the callbacks and nl_error. */
#ifndef NNLAB_FETCH_H
#define NNLAB_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include "nnlab/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- hashes (OpenSSL libcrypto EVP) ------------------------------------ */

typedef enum nl_hash_algo { NL_HASH_MD5 = 0, NL_HASH_SHA256 = 1 } nl_hash_algo;

enum { NL_HASH_HEX_MAX = 65 }; /* 64 hex digits + NUL */

typedef struct nl_hasher nl_hasher; /* opaque */

NL_API nl_status nl_hasher_new(nl_hash_algo algo, nl_hasher **out, nl_error *err);
NL_API nl_status nl_hasher_update(nl_hasher *h, const void *data, size_t n, nl_error *err);
/* Writes the lowercase hex digest; the hasher cannot be updated afterwards. */
NL_API nl_status nl_hasher_final(nl_hasher *h, char hex[NL_HASH_HEX_MAX], nl_error *err);
NL_API void nl_hasher_free(nl_hasher *h);

NL_API nl_status nl_hash_buffer(nl_hash_algo algo, const void *data, size_t n,
                                char hex[NL_HASH_HEX_MAX], nl_error *err);
/* Hashes a whole file; *bytes (may be NULL) gets its size. */
NL_API nl_status nl_hash_file(const char *path, nl_hash_algo algo, char hex[NL_HASH_HEX_MAX],
                              uint64_t *bytes, nl_error *err);

NL_API const char *nl_hash_name(nl_hash_algo algo); /* "md5", "sha256" */
NL_API size_t nl_hash_hex_len(nl_hash_algo algo);   /* 32, 64 */
/* 1 when both are hex digests of the same value (case-insensitive). */
NL_API int nl_hash_equal(const char *a, const char *b);

/* ---- catalog -------------------------------------------------------------- */

typedef enum nl_data_kind {
    NL_DATA_IDX = 0,  /* MNIST family: one .gz download per IDX file */
    NL_DATA_CIFAR10,  /* one tar.gz; records = 1 label byte + 3072 pixels */
    NL_DATA_CIFAR100, /* one tar.gz; records = coarse, fine label + 3072 pixels */
} nl_data_kind;

/* One file to download. */
typedef struct nl_data_download {
    const char *path;   /* where it lands, relative to the data directory */
    uint64_t size;      /* bytes, 0 when unknown */
    const char *sha256; /* pinned SHA-256 of the download, or NULL */
    const char *md5;    /* the authors' / a reference MD5, or NULL */
} nl_data_download;

/* One file of the dataset as the loaders read it (IDX: the gunzipped file;
 * archives: a file unpacked into the dataset directory). */
typedef struct nl_data_member {
    const char *name;         /* relative to the dataset directory */
    uint32_t record_size;     /* bytes per sample (IDX images: rows*cols, labels: 1;
                                 CIFAR: 3073 / 3074); 0 for a text file */
    uint32_t records;         /* samples expected; text: at least this many non-empty
                                 lines; 0 = any count */
    const char *sha256;       /* pinned SHA-256 of this file, or NULL (unknown) */
    const char *other_sha256; /* SHA-256 of a known copy that is NOT the official
                                 release (see nl_data_info.other_what), or NULL */
} nl_data_member;

typedef struct nl_data_info {
    const char *name;   /* "mnist", "fashion-mnist", "kmnist", "cifar10", "cifar100" */
    const char *title;  /* one line for humans */
    const char *subdir; /* dataset directory inside the data directory */
    nl_data_kind kind;
    int num_classes; /* labels of IDX files are < num_classes */
    /* Base URLs tried in order; a download's URL is base + basename(path). */
    const char *const *mirrors;
    int nmirrors;
    /* IDX: downloads[i] is members[i] gzip-compressed. Archives: one download
     * (the tar.gz) whose files under subdir/ are the members. */
    const nl_data_download *downloads;
    int ndownloads;
    const nl_data_member *members;
    int nmembers;
    const char *sources;    /* where every pinned value comes from (for humans) */
    const char *caveat;     /* what could not be verified, or NULL */
    const char *other_what; /* what the other_sha256 copy is, or NULL */
    int custom;             /* 1 when it comes from NNLAB_CATALOG */
} nl_data_info;

/* Loads $NNLAB_CATALOG once (later calls return the first result). Every
 * lookup calls it; call it first to get the parse error of a bad file. */
NL_API nl_status nl_catalog_init(nl_error *err);
NL_API int nl_catalog_count(void);
NL_API const nl_data_info *nl_catalog_get(int i);
/* NULL when name is unknown. */
NL_API const nl_data_info *nl_catalog_find(const char *name);
/* Like nl_catalog_find; NL_ENOTFOUND lists the known names. */
NL_API nl_status nl_catalog_lookup(const char *name, const nl_data_info **out, nl_error *err);
/* Parses a catalog file and adds its entries (also used for NNLAB_CATALOG). */
NL_API nl_status nl_catalog_load(const char *path, nl_error *err);
/* Frees the entries added from files (built-ins stay). */
NL_API void nl_catalog_reset(void);
/* Total bytes to download for a dataset (0 when a size is unknown). */
NL_API uint64_t nl_data_download_size(const nl_data_info *d);

/* ---- verification --------------------------------------------------------- */

typedef enum nl_verdict {
    NL_VERDICT_MISSING = 0, /* not in the cache */
    NL_VERDICT_BAD,         /* wrong hash, broken structure, or incomplete */
    NL_VERDICT_UNVERIFIED,  /* structure is right, but no pinned hash vouches for the
                               content (none is known, or it is a known non-official copy) */
    NL_VERDICT_OK,          /* every file matches a pinned hash */
} nl_verdict;

NL_API const char *nl_verdict_name(nl_verdict v); /* "missing", "BAD", "unverified", "verified" */

enum { NL_VERIFY_ITEMS_MAX = 16 };

typedef struct nl_verify_item {
    char file[256]; /* relative to the data directory */
    nl_verdict verdict;
    char detail[640]; /* what was checked, what was expected and found */
} nl_verify_item;

typedef struct nl_verify_report {
    const nl_data_info *info;
    nl_verdict verdict; /* overall */
    char path[4096];    /* the dataset directory (or archive when only it is there) */
    uint64_t bytes;     /* bytes on disk of the checked files */
    int nitems;
    nl_verify_item items[NL_VERIFY_ITEMS_MAX];
    char summary[768]; /* one line: the overall result in words */
} nl_verify_report;

/* Checks the dataset in data_dir: structure of every file (IDX header and
 * size, CIFAR record size and count, label ranges) and its hashes against the
 * pinned values. Never uses the network, never writes. Returns NL_OK when the
 * report was made, whatever its verdict; quick = 1 only checks which files
 * exist (verdict UNVERIFIED when all are there). */
NL_API nl_status nl_data_verify(const char *data_dir, const char *dataset, int quick,
                                nl_verify_report *rep, nl_error *err);

/* 1 when every file a loader needs is there (no hashing). */
NL_API int nl_data_present(const char *data_dir, const nl_data_info *d);

/* The dataset's directory in data_dir (or its archive when only that exists).
 * *present (may be NULL) as nl_data_present. */
NL_API nl_status nl_data_path(const char *data_dir, const char *dataset, char *out, size_t out_size,
                              int *present, nl_error *err);

/* ---- fetching ------------------------------------------------------------- */

/* Progress of one download: bytes done of total (0 = unknown) of file (its
 * path in the data directory). Return non-zero to cancel (NL_EINTR). */
typedef int (*nl_fetch_progress_fn)(void *user, const char *file, uint64_t done, uint64_t total);
/* Notes for humans: which URL is tried, retries, files replaced. */
typedef void (*nl_fetch_log_fn)(void *user, const char *msg);

typedef struct nl_fetch_options {
    int offline;              /* never use the network */
    int force;                /* download again even when the cache is verified */
    double connect_timeout_s; /* seconds to connect */
    double stall_timeout_s;   /* seconds below 1 KiB/s before a transfer is abandoned */
    int retries;              /* attempts per URL on transient errors, >= 1 */
    double backoff_s;         /* delay before the first retry; doubles, at most 30 s */
    const char *mirror;       /* NULL, or base URLs replacing the catalog's (NNLAB_MIRROR) */
    nl_fetch_progress_fn progress;
    nl_fetch_log_fn log;
    void *user;
} nl_fetch_options;

/* Defaults, then the NNLAB_FETCH_* / NNLAB_MIRROR / NNLAB_OFFLINE environment.
 * NL_EINVAL names a malformed variable. */
NL_API nl_status nl_fetch_options_init(nl_fetch_options *o, nl_error *err);

/* Makes the dataset present and verified in data_dir (created when missing):
 * files already verified are kept; missing or bad ones are downloaded (mirrors
 * in order, retries with backoff, resume), checked and moved into place; a bad
 * file the download replaces is deleted. Files whose content cannot be verified
 * (no pinned hash) but whose structure is right are kept unless o->force.
 * NL_ECHECKSUM names the file, the expected and the found hash; NL_ENET the
 * URLs and what failed; NL_ENOTFOUND when offline and files are missing. */
NL_API nl_status nl_data_fetch(const char *data_dir, const char *dataset, const nl_fetch_options *o,
                               nl_error *err);

/* For `nnlab train`: NL_OK at once (no network, no hashing) when the files are
 * present; otherwise fetches them with default options (environment included)
 * unless offline or NNLAB_OFFLINE=1, in which case NL_ENOTFOUND says where it
 * looked and which command fetches the dataset. */
NL_API nl_status nl_data_ensure(const char *data_dir, const char *dataset, int offline,
                                nl_fetch_progress_fn progress, void *user, nl_error *err);

/* Downloads one file from urls (tried in order) into dest (a path), checking
 * it with check (NULL: no check) before the rename. check returns NL_OK to
 * accept, NL_ECHECKSUM (message naming expected and found) to reject; a
 * rejected download is deleted and the next URL tried. expected_size, when
 * not 0, is the exact size: a server sending more is cut off. label names the
 * file in messages and progress (NULL: basename of dest). */
typedef nl_status (*nl_fetch_check_fn)(void *ctx, const char *part_path, nl_error *err);
NL_API nl_status nl_fetch_url(const char *const *urls, int nurls, const char *dest,
                              const char *label, uint64_t expected_size, nl_fetch_check_fn check,
                              void *check_ctx, const nl_fetch_options *o, nl_error *err);

#ifdef __cplusplus
}
#endif
#endif
