/* GGUF files (version 3, little-endian), as llama.cpp and other GGML programs read them:
 * metadata key-value pairs and tensors, written in one pass, atomically (base/file.h).
 *
 * Byte layout (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md):
 *   u32 magic "GGUF" (bytes 47 47 55 46), u32 version 3, u64 tensor count, u64 key count;
 *   each key: string key, u32 value type, value (string = u64 length + bytes, no NUL;
 *     array = u32 element type, u64 count, elements);
 *   each tensor: string name, u32 n_dims, u64 ne[n_dims] (ne[0] the fastest-varying, i.e. the
 *     columns of a row-major matrix), u32 ggml type, u64 offset from the start of the data;
 *   zero padding to the alignment (general.alignment, 32 when absent; this writer writes 32
 *     and no general.alignment key), then each tensor's data at its offset, a multiple of the
 *     alignment, zero-padded to the next tensor.
 * Tensors may be F32, F16 or BF16; their data comes from float32 or half-precision views
 * (linalg/weight.h), converted (round to nearest even) a row at a time, optionally with the
 * rows in another order. Not here: which keys and tensors a model needs (gguf_export.h). */
#ifndef T2_MODEL_GGUF_WRITE_H
#define T2_MODEL_GGUF_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "linalg/weight.h"

enum { T2_GGUF_VERSION = 3, T2_GGUF_ALIGNMENT = 32 };

/* Metadata value types (gguf_metadata_value_type). */
typedef enum t2_gguf_value_type {
    T2_GGUF_UINT8 = 0, T2_GGUF_INT8 = 1, T2_GGUF_UINT16 = 2, T2_GGUF_INT16 = 3,
    T2_GGUF_UINT32 = 4, T2_GGUF_INT32 = 5, T2_GGUF_FLOAT32 = 6, T2_GGUF_BOOL = 7,
    T2_GGUF_STRING = 8, T2_GGUF_ARRAY = 9, T2_GGUF_UINT64 = 10, T2_GGUF_INT64 = 11,
    T2_GGUF_FLOAT64 = 12,
} t2_gguf_value_type;

/* Tensor element types (ggml_type) this writer produces. */
typedef enum t2_gguf_tensor_type {
    T2_GGUF_TENSOR_F32 = 0,
    T2_GGUF_TENSOR_F16 = 1,
    T2_GGUF_TENSOR_BF16 = 30,
} t2_gguf_tensor_type;

typedef struct t2_gguf_writer {
    unsigned char *kv;   /* the serialised key-value pairs so far */
    size_t kv_len, kv_cap;
    int64_t n_kv;
    int n_tensors, cap_tensors;
    struct t2_gguf_writer_tensor *tensors;
} t2_gguf_writer;

void t2_gguf_writer_init(t2_gguf_writer *w);
void t2_gguf_writer_free(t2_gguf_writer *w); /* zeroed ok; twice ok */

/* Metadata, in the order added (keys are not checked for duplicates: callers add each once). */
void t2_gguf_writer_add_u32(t2_gguf_writer *w, const char *key, uint32_t value);
void t2_gguf_writer_add_f32(t2_gguf_writer *w, const char *key, float value);
void t2_gguf_writer_add_bool(t2_gguf_writer *w, const char *key, int value);
void t2_gguf_writer_add_string(t2_gguf_writer *w, const char *key, const char *value);
/* Arrays: n strings (strings[i] of lens[i] bytes), int32 or float32 values. */
void t2_gguf_writer_add_strings(t2_gguf_writer *w, const char *key, const char *const *strings,
                                const size_t *lens, int64_t n);
void t2_gguf_writer_add_i32s(t2_gguf_writer *w, const char *key, const int32_t *values,
                             int64_t n);
void t2_gguf_writer_add_f32s(t2_gguf_writer *w, const char *key, const float *values,
                             int64_t n);

/* A tensor of n_dims (1 or 2) dimensions ne (ggml order: ne[0] = elements per row, ne[1] =
 * rows), stored as type; data (borrowed until write returns) holds the rows row-major. When
 * row_order is not NULL (ne[1] values, borrowed), row r of the file is row row_order[r] of
 * data. name is copied. */
void t2_gguf_writer_add_tensor(t2_gguf_writer *w, const char *name, t2_gguf_tensor_type type,
                               int n_dims, const int64_t *ne, t2_weight data,
                               const int64_t *row_order);

/* Writes the file atomically (temp + fsync + rename). 0, or -1 with err ("<path>: cannot
 * write: ...") and nothing left at path. */
int t2_gguf_writer_write(const t2_gguf_writer *w, const char *path, t2_error *err);

#endif
