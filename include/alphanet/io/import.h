/* import.h - from a folder of photos in the class-per-folder layout to record shards (records.h).
 *
 * SPLIT_DIR/<class>/<image> (JPEG or PNG, any size): classes are the sub-folders in byte order,
 * their position is the label; images are listed in byte order of their paths, so every rank
 * and every run sees the same list. The command line (`alphanet data import folder`) hands the
 * shards to ranks and writes them; this module has no MPI.
 */
#ifndef ALPHANET_IO_IMPORT_H
#define ALPHANET_IO_IMPORT_H

#include <stdint.h>

#include "alphanet/common.h"
#include "alphanet/io/records.h"

typedef struct {
    long n;
    char **paths;   /* [n] */
    int32_t *labels; /* [n] */
    int classes;
    char (*class_names)[AN_CLASS_NAME_MAX];
} an_folder_list;

/* Lists SPLIT_DIR. With `classes` (from the training split) the folders must be among them;
 * otherwise the class list is SPLIT_DIR's sub-folders. */
an_status an_folder_scan(an_folder_list *l, const char *split_dir, const an_folder_list *classes);
void an_folder_list_free(an_folder_list *l);

typedef struct {
    int size;      /* shorter side of the stored images, at most (0 = keep sizes) */
    int quality;   /* JPEG quality */
    int encoding;  /* AN_ENC_JPEG or AN_ENC_RAW */
    int channels;  /* 1 or 3 */
} an_import_opts;

/* Converts image `path` and appends its record to shard s (s->data grown; offsets, shapes and
 * crc of record s->n filled, s->n incremented; *cap is the capacity of s->data). A JPEG that
 * needs no resize is kept byte for byte. */
an_status an_import_image(an_records_shard *s, size_t *cap, const char *path, int32_t label, const an_import_opts *o);

#endif
