/* safetensors files: memory-mapped reading (single file or a sharded folder with
 * model.safetensors.index.json) and writing.
 *
 * Byte layout of one file (https://huggingface.co/docs/safetensors):
 *   [0, 8)        N, the header length, little-endian u64
 *   [8, 8+N)      UTF-8 JSON: { "<name>": {"dtype": "F32", "shape": [..], "data_offsets": [b, e]},
 *                               ..., "__metadata__": {"<k>": "<v>"} (optional) }
 *   [8+N, end)    the data buffer; tensor bytes are [8+N+b, 8+N+e), row-major, little-endian.
 * Validation on open: header inside the file and valid JSON, every dtype known, every shape's
 * element count x dtype size == e - b, offsets inside the data buffer, no two tensors
 * overlapping. Each failure is one line naming the file, the tensor and the problem. */
#ifndef T2_MODEL_SAFETENSORS_H
#define T2_MODEL_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "linalg/weight.h"

typedef enum t2_dtype {
    T2_DTYPE_F32 = 0,
    T2_DTYPE_F16 = 1,
    T2_DTYPE_BF16 = 2,
    T2_DTYPE_F64 = 3,
    T2_DTYPE_I64 = 4,
    T2_DTYPE_I32 = 5,
    T2_DTYPE_U8 = 6,
} t2_dtype;

const char *t2_dtype_name(t2_dtype dtype); /* "F32", ... */
size_t t2_dtype_size(t2_dtype dtype);       /* bytes per element */
/* The dtype named `name` ("F32", ...): 0, or -1 when the name is not one of the above. */
int t2_dtype_from_name(const char *name, t2_dtype *out);
/* IEEE half and bfloat16 <-> float. Narrowing rounds to nearest, ties to even; overflow gives
 * inf, NaN stays NaN (quiet), subnormals are exact or rounded like any other value. */
float t2_dtype_f16_to_f32(uint16_t h);
uint16_t t2_dtype_f32_to_f16(float f);
float t2_dtype_bf16_to_f32(uint16_t h);
uint16_t t2_dtype_f32_to_bf16(float f);

enum { T2_TENSOR_MAX_DIMS = 8 };

typedef struct t2_tensor_info {
    char *name;                        /* Hugging Face name */
    t2_dtype dtype;
    int n_dims;
    int64_t shape[T2_TENSOR_MAX_DIMS];
    int64_t n_elements;
    const unsigned char *data;         /* borrowed: points into the file's mapping */
    size_t n_bytes;
    int file_index;                    /* which shard */
} t2_tensor_info;

typedef struct t2_safetensors {
    char *index_path;      /* model.safetensors.index.json when sharded, else NULL */
    int n_files;
    char **paths;          /* [n_files] */
    void **maps;           /* [n_files] mmap base addresses */
    size_t *map_sizes;     /* [n_files] */
    int n_tensors;
    t2_tensor_info *tensors; /* [n_tensors], sorted by name */
    int n_metadata;
    char **metadata_keys;    /* [n_metadata], from the first file's __metadata__ */
    char **metadata_values;
} t2_safetensors;

/* Opens `path`: a .safetensors file, or a model folder holding model.safetensors or
 * model.safetensors.index.json (then every shard it names). 0 on success; -1 with err set and
 * st left safe to pass to t2_safetensors_close. */
int t2_safetensors_open(t2_safetensors *st, const char *path, t2_error *err);
void t2_safetensors_close(t2_safetensors *st); /* accepts zeroed/half-built; may run twice */

/* The tensor of that name, or NULL. */
const t2_tensor_info *t2_safetensors_find(const t2_safetensors *st, const char *name);

/* Converts elements [first, first + count) of tensor t (row-major order) to float into out.
 * F32, F16, BF16 and F64 are supported; other dtypes return -1 with err set. */
int t2_safetensors_read_f32(const t2_tensor_info *t, int64_t first, int64_t count, float *out,
                            t2_error *err);

/* Writes "[d0, d1, ...]" into buf (truncated to size) and returns buf; for messages. */
const char *t2_safetensors_shape_string(char *buf, size_t size, int n_dims,
                                        const int64_t *shape);

/* The metadata value for key, or NULL. */
const char *t2_safetensors_metadata(const t2_safetensors *st, const char *key);

/* Writer: collects tensors (borrowed float data, stored as `dtype` on disk: F32, F16 or BF16
 * with round-to-nearest-even) and metadata, then writes one file atomically. */
typedef struct t2_safetensors_writer {
    int n_tensors, cap_tensors;
    struct t2_safetensors_writer_entry *entries;
    int n_metadata, cap_metadata;
    char **metadata_keys, **metadata_values;
} t2_safetensors_writer;

void t2_safetensors_writer_init(t2_safetensors_writer *w);
/* data: n_elements floats, borrowed until write returns. name is copied. */
void t2_safetensors_writer_add(t2_safetensors_writer *w, const char *name, t2_dtype dtype,
                               int n_dims, const int64_t *shape, const float *data);
/* The same for a tensor held in its storage type (linalg/weight.h: float32, bfloat16 or
 * float16, borrowed until write returns): copied as it is when that type is dtype, else
 * widened and narrowed a chunk at a time (never a float32 copy of the whole tensor). */
void t2_safetensors_writer_add_weight(t2_safetensors_writer *w, const char *name,
                                      t2_dtype dtype, int n_dims, const int64_t *shape,
                                      t2_weight data);
void t2_safetensors_writer_add_metadata(t2_safetensors_writer *w, const char *key,
                                        const char *value);
/* Writes the file atomically (temp + fsync + rename); on failure nothing is left at path. */
int t2_safetensors_writer_write(t2_safetensors_writer *w, const char *path, t2_error *err);
void t2_safetensors_writer_free(t2_safetensors_writer *w);

#endif
