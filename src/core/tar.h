/* The one tar reader (internal, not installed): a streaming iterator over a
 * tar archive, gzip-compressed or not, used by the CIFAR loaders (which read
 * the official tar.gz in place) and by the dataset store's unpacker.
 *
 * Headers: ustar (prefix + name), GNU long names ('L'), pax extended headers
 * ('x': path and size records; 'g' and GNU 'K' are read and ignored). Every
 * header's checksum and size field is checked, every pax record's length
 * against the record and the extended header, and a name longer than
 * NL_TAR_NAME_MAX is an error, as is an archive that ends inside a header or an
 * entry. The archive ends at the first all-zero block, or at the end of the
 * data after a complete entry. Messages name the archive, the entry and the
 * offset in the tar stream.
 *
 *   nl_tar *t;
 *   nl_tar_entry e;
 *   int end = 0;
 *   if (nl_tar_open(path, &t, err)) return ...;
 *   while (!(st = nl_tar_next(t, &e, &end, err)) && !end)
 *       ... nl_tar_read(t, buf, n, &got, err) ...   (unread data is skipped)
 *   nl_tar_close(t); */
#ifndef NNLAB_CORE_TAR_H
#define NNLAB_CORE_TAR_H

#include <stddef.h>
#include <stdint.h>

#include "nnlab/error.h"

enum {
    NL_TAR_BLOCK = 512,
    NL_TAR_NAME_MAX = 4095,  /* longest entry name accepted (bytes) */
    NL_TAR_META_MAX = 65536, /* longest GNU long-name or pax header data accepted */
};

typedef struct nl_tar nl_tar;

typedef struct nl_tar_entry {
    const char *name; /* leading "./" removed; valid until the next nl_tar_next */
    uint64_t size;    /* bytes of data (a pax "size" record wins over the header) */
    uint64_t offset;  /* offset of the entry's header in the tar stream */
    char type;        /* the ustar typeflag: '0', '5' (directory), '2' (symlink), ... */
    int regular;      /* 1 for a regular file ('0', '\0' or '7') */
} nl_tar_entry;

/* Opens a tar file, gzip-compressed or plain; a path that is not a regular
 * file is refused (without blocking on a FIFO). */
NL_API nl_status nl_tar_open(const char *path, nl_tar **out, nl_error *err);

/* Reads a plain (uncompressed) tar held in memory; data must outlive the
 * reader. label names it in messages. */
NL_API nl_status nl_tar_open_mem(const void *data, size_t n, const char *label, nl_tar **out,
                                 nl_error *err);

/* Moves to the next entry, skipping what is left of the current one. *end is 1
 * (and e untouched) at the end of the archive. */
NL_API nl_status nl_tar_next(nl_tar *t, nl_tar_entry *e, int *end, nl_error *err);

/* Reads up to n bytes of the current entry's data; *got is less than n only
 * when the entry has fewer bytes left. An archive that ends inside the entry
 * is NL_EFORMAT ("truncated", nl_tar_truncated() is 1) with *got the bytes
 * that were there; corrupt gzip data is NL_EFORMAT too. */
NL_API nl_status nl_tar_read(nl_tar *t, void *buf, size_t n, size_t *got, nl_error *err);

/* 1 after the archive was found to end inside a header or an entry. */
NL_API int nl_tar_truncated(const nl_tar *t);

/* The archive's path or label, for messages. */
NL_API const char *nl_tar_path(const nl_tar *t);

NL_API void nl_tar_close(nl_tar *t);

#endif
