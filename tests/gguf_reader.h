/* A GGUF reader for the tests, written from the specification alone
 * (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md), independent of the writer
 * (model/gguf_write.c): it reads the whole file and checks what the spec requires: the
 * magic, version 3, every value type known, strings and arrays inside the file, tensor
 * infos (at most 4 dims, known F32 / F16 / BF16 types here), offsets multiples of the
 * alignment (general.alignment or 32), data inside the file and tensors not overlapping, and
 * the data section starting at the aligned end of the infos. Little-endian only. */
#ifndef T2_TESTS_GGUF_READER_H
#define T2_TESTS_GGUF_READER_H

#include <stddef.h>
#include <stdint.h>

typedef struct gguf_value {
    uint32_t type;       /* gguf_metadata_value_type; for arrays the element type in elem */
    uint32_t elem;       /* array element type */
    uint64_t n;          /* array length (1 for scalars) */
    uint64_t u;          /* unsigned integers and bool */
    int64_t i;           /* signed integers */
    double f;            /* floats */
    const char *str;     /* STRING: into the file's bytes (not NUL-terminated) */
    uint64_t str_len;
    const unsigned char *array; /* ARRAY: the first element's bytes */
} gguf_value;

typedef struct gguf_kv {
    char *key; /* heap, NUL-terminated */
    gguf_value value;
} gguf_kv;

typedef struct gguf_tensor {
    char *name;          /* heap */
    uint32_t n_dims;
    uint64_t ne[4];
    uint32_t type;       /* 0 F32, 1 F16, 30 BF16 */
    uint64_t offset;     /* from the start of the data section */
    const unsigned char *data; /* into the file's bytes */
    uint64_t n_bytes;
} gguf_tensor;

typedef struct gguf_file {
    unsigned char *bytes; /* the whole file (heap) */
    size_t size;
    uint32_t version;
    uint64_t alignment, data_start;
    uint64_t n_kv, n_tensors;
    gguf_kv *kv;
    gguf_tensor *tensors;
} gguf_file;

/* Reads and validates path: 0, or -1 with a one-line reason in why (size why_size). */
int gguf_read(gguf_file *g, const char *path, char *why, size_t why_size);
void gguf_free(gguf_file *g);

const gguf_kv *gguf_find_kv(const gguf_file *g, const char *key);
const gguf_tensor *gguf_find_tensor(const gguf_file *g, const char *name);

/* Array element k of an ARRAY value: strings (pointer and length), int32, float32. These walk
 * the array from its start (string arrays have variable-length elements). */
const char *gguf_array_string(const gguf_value *v, uint64_t k, uint64_t *len);
int32_t gguf_array_i32(const gguf_value *v, uint64_t k);
float gguf_array_f32(const gguf_value *v, uint64_t k);

#endif
