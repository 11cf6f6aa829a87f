/* fixture.h - reader for the golden fixture files written by the scripts in tests/ref.
 *
 * Format (little-endian), one file per case, extension .anfx:
 *   8 bytes  magic "ANFX0001"
 *   u32      number of tensors
 *   per tensor:
 *     u32 name length, then the name bytes (no terminator)
 *     u32 dtype: 0 = float32, 1 = int32, 2 = uint8
 *     u32 ndim, then ndim u32 dims
 *     the data, prod(dims) elements, C order
 * Scalars (case parameters) are stored as int32 or float32 tensors of shape [1].
 */
#ifndef ALPHANET_TESTS_FIXTURE_H
#define ALPHANET_TESTS_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char name[64];
    int dtype; /* 0 f32, 1 i32, 2 u8 */
    int ndim;
    int dims[8];
    size_t count;
    void *data;
} fx_tensor;

typedef struct {
    char path[512];
    int ntensors;
    fx_tensor *t;
} fx_file;

/* Loads FIXTURE_DIR/<rel>; aborts the test with a message if it is missing or malformed. */
fx_file *fx_load(const char *rel);
void fx_free(fx_file *f);
/* Named tensor; aborts if absent or of another dtype. */
const float *fx_f32(const fx_file *f, const char *name, size_t *count);
const int32_t *fx_i32(const fx_file *f, const char *name, size_t *count);
const uint8_t *fx_u8(const fx_file *f, const char *name, size_t *count);
const fx_tensor *fx_get(const fx_file *f, const char *name);
int fx_has(const fx_file *f, const char *name);
/* Scalar parameters. */
int fx_int(const fx_file *f, const char *name);
float fx_float(const fx_file *f, const char *name);

/* malloc that aborts the test when out of memory (never NULL, also for 0 bytes). */
void *fx_xmalloc(size_t bytes);
/* NCHW [n][c][h][w] -> a new CHWN [c][h][w][n] copy (the library's layout, layout.h). */
float *fx_nchw_to_chwn(const float *src, int n, int c, int h, int w);
/* Float32 image tensor `name` [n][c][h][w], as a new CHWN copy; aborts if not f32 4-D. */
float *fx_images(const fx_file *f, const char *name, int *n, int *c, int *h, int *w);
/* The '\n'-terminated names in uint8 tensor `blob`: returns their count and a NULL-terminated
 * array of them in *out (free with fx_names_free); aborts if the last is not terminated. */
int fx_names(const fx_file *f, const char *blob, char ***out);
void fx_names_free(char **names);

#endif
