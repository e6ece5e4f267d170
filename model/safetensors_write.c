/* safetensors writing: collects borrowed float tensors and metadata, then writes one file
 * atomically (base/file.h) with the header padded by spaces to a multiple of 8 bytes and the
 * tensors in name order, converting to F16 / BF16 (round to nearest even) on the way; the
 * tensors may be float32 or held in bfloat16 / float16 (linalg/weight.h).
 * Does not read files (safetensors.c).
 * Reference: https://huggingface.co/docs/safetensors (layout in safetensors.h). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "base/file.h"
#include "model/safetensors.h"

struct t2_safetensors_writer_entry {
    char *name;                         /* owned copy */
    t2_dtype dtype;                     /* on disk: F32, F16 or BF16 */
    int n_dims;
    int64_t shape[T2_TENSOR_MAX_DIMS];
    int64_t n_elements;
    t2_weight data;                     /* borrowed: n_elements in their storage type */
};

typedef struct t2_safetensors_writer_entry entry;

enum { CONVERT_CHUNK = 1 << 14 }; /* elements converted per write call */

void t2_safetensors_writer_init(t2_safetensors_writer *w) { memset(w, 0, sizeof *w); }

void t2_safetensors_writer_add(t2_safetensors_writer *w, const char *name, t2_dtype dtype,
                               int n_dims, const int64_t *shape, const float *data) {
    t2_safetensors_writer_add_weight(w, name, dtype, n_dims, shape,
                                     t2_weight_of_f32((float *)data)); /* only read */
}

void t2_safetensors_writer_add_weight(t2_safetensors_writer *w, const char *name,
                                      t2_dtype dtype, int n_dims, const int64_t *shape,
                                      t2_weight data) {
    T2_ASSERT(dtype == T2_DTYPE_F32 || dtype == T2_DTYPE_F16 || dtype == T2_DTYPE_BF16);
    T2_ASSERT(n_dims >= 0 && n_dims <= T2_TENSOR_MAX_DIMS);
    if (w->n_tensors == w->cap_tensors) {
        w->cap_tensors = w->cap_tensors ? 2 * w->cap_tensors : 64;
        w->entries = t2_realloc(w->entries, (size_t)w->cap_tensors * sizeof *w->entries);
    }
    entry *e = &w->entries[w->n_tensors++];
    memset(e, 0, sizeof *e);
    e->name = t2_strdup(name);
    e->dtype = dtype;
    e->n_dims = n_dims;
    e->n_elements = 1;
    for (int d = 0; d < n_dims; d++) {
        T2_ASSERT(shape[d] >= 0);
        e->shape[d] = shape[d];
        e->n_elements *= shape[d];
    }
    e->data = data;
    T2_ASSERT(e->n_elements == 0 || data.data != NULL);
}

void t2_safetensors_writer_add_metadata(t2_safetensors_writer *w, const char *key,
                                        const char *value) {
    for (int i = 0; i < w->n_metadata; i++)
        if (strcmp(w->metadata_keys[i], key) == 0) {
            t2_free(w->metadata_values[i]);
            w->metadata_values[i] = t2_strdup(value);
            return;
        }
    if (w->n_metadata == w->cap_metadata) {
        w->cap_metadata = w->cap_metadata ? 2 * w->cap_metadata : 8;
        size_t bytes = (size_t)w->cap_metadata * sizeof(char *);
        w->metadata_keys = t2_realloc(w->metadata_keys, bytes);
        w->metadata_values = t2_realloc(w->metadata_values, bytes);
    }
    w->metadata_keys[w->n_metadata] = t2_strdup(key);
    w->metadata_values[w->n_metadata] = t2_strdup(value);
    w->n_metadata++;
}

static int compare_entries(const void *a, const void *b) {
    const entry *x = *(const entry *const *)a, *y = *(const entry *const *)b;
    return strcmp(x->name, y->name);
}

/* The header JSON for entries in `order` (compact, before padding): heap string (free()). */
static char *header_json(const t2_safetensors_writer *w,
                         entry *const *order) {
    json_t *root = json_object();
    if (w->n_metadata > 0) {
        json_t *meta = json_object();
        for (int i = 0; i < w->n_metadata; i++)
            json_object_set_new(meta, w->metadata_keys[i], json_string(w->metadata_values[i]));
        json_object_set_new(root, "__metadata__", meta);
    }
    int64_t offset = 0;
    for (int i = 0; i < w->n_tensors; i++) {
        const entry *e = order[i];
        json_t *shape = json_array();
        for (int d = 0; d < e->n_dims; d++) json_array_append_new(shape, json_integer(e->shape[d]));
        int64_t bytes = e->n_elements * (int64_t)t2_dtype_size(e->dtype);
        json_t *desc = json_object();
        json_object_set_new(desc, "dtype", json_string(t2_dtype_name(e->dtype)));
        json_object_set_new(desc, "shape", shape);
        json_object_set_new(desc, "data_offsets",
                            json_pack("[II]", (json_int_t)offset, (json_int_t)(offset + bytes)));
        json_object_set_new(root, e->name, desc);
        offset += bytes;
    }
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    T2_ASSERT(text != NULL);
    return text;
}

/* The storage type that is e's dtype on disk. */
static t2_weight_type disk_type(t2_dtype dtype) {
    return dtype == T2_DTYPE_F32 ? T2_WEIGHT_F32
           : dtype == T2_DTYPE_BF16 ? T2_WEIGHT_BF16 : T2_WEIGHT_F16;
}

/* Writes e's data converted to its dtype, a chunk at a time (widened into `wide` first when
 * held in another half-precision type). */
static int write_entry(t2_atomic_file *f, const entry *e,
                       uint16_t *chunk, float *wide, t2_error *err) {
    if (e->data.type == disk_type(e->dtype))
        return t2_atomic_file_write(f, e->data.data,
                                    (size_t)e->n_elements * t2_dtype_size(e->dtype), err);
    for (int64_t first = 0; first < e->n_elements; first += CONVERT_CHUNK) {
        int64_t n = e->n_elements - first < CONVERT_CHUNK ? e->n_elements - first : CONVERT_CHUNK;
        const float *src = wide;
        if (e->data.type == T2_WEIGHT_F32)
            src = e->data.f32 + first;
        else
            t2_weight_widen(wide, e->data, first, n);
        if (e->dtype == T2_DTYPE_F32) {
            if (t2_atomic_file_write(f, src, (size_t)n * sizeof *src, err) != 0) return -1;
            continue;
        }
        if (e->dtype == T2_DTYPE_F16)
            for (int64_t i = 0; i < n; i++) chunk[i] = t2_dtype_f32_to_f16(src[i]);
        else
            for (int64_t i = 0; i < n; i++) chunk[i] = t2_dtype_f32_to_bf16(src[i]);
        if (t2_atomic_file_write(f, chunk, (size_t)n * sizeof *chunk, err) != 0) return -1;
    }
    return 0;
}

/* Rejects what the reader would reject: duplicate names (order is sorted) and the reserved
 * "__metadata__" name. */
static int check_names(entry *const *order, int n,
                       const char *path, t2_error *err) {
    for (int i = 0; i < n; i++) {
        if (strcmp(order[i]->name, "__metadata__") == 0)
            return t2_error_set(err, "%s: tensor name '__metadata__' is reserved; expected "
                                "another name", path);
        if (i > 0 && strcmp(order[i - 1]->name, order[i]->name) == 0)
            return t2_error_set(err, "%s: tensor '%s' added twice; expected unique names", path,
                                order[i]->name);
    }
    return 0;
}

int t2_safetensors_writer_write(t2_safetensors_writer *w, const char *path, t2_error *err) {
    entry **order = t2_alloc_array(w->n_tensors ? (size_t)w->n_tensors : 1, sizeof *order);
    for (int i = 0; i < w->n_tensors; i++) order[i] = &w->entries[i];
    qsort(order, (size_t)w->n_tensors, sizeof *order, compare_entries);
    if (check_names(order, w->n_tensors, path, err) != 0) {
        t2_free(order);
        return -1;
    }
    char *json = header_json(w, order);
    size_t json_len = strlen(json), header_len = (json_len + 7) / 8 * 8;
    char *header = t2_alloc(8 + header_len);
    uint64_t n = header_len; /* little-endian host (checked in safetensors.c) */
    memcpy(header, &n, 8);
    memcpy(header + 8, json, json_len);
    memset(header + 8 + json_len, ' ', header_len - json_len);
    free(json);
    uint16_t *chunk = t2_alloc(CONVERT_CHUNK * sizeof *chunk);
    float *wide = t2_alloc(CONVERT_CHUNK * sizeof *wide);
    t2_atomic_file f;
    int status = t2_atomic_file_open(&f, path, err);
    if (status == 0) status = t2_atomic_file_write(&f, header, 8 + header_len, err);
    for (int i = 0; i < w->n_tensors && status == 0; i++)
        status = write_entry(&f, order[i], chunk, wide, err);
    if (status == 0)
        status = t2_atomic_file_commit(&f, err);
    else
        t2_atomic_file_abort(&f);
    t2_free(chunk);
    t2_free(wide);
    t2_free(header);
    t2_free(order);
    return status;
}

void t2_safetensors_writer_free(t2_safetensors_writer *w) {
    for (int i = 0; i < w->n_tensors; i++) t2_free(w->entries[i].name);
    for (int i = 0; i < w->n_metadata; i++) {
        t2_free(w->metadata_keys[i]);
        t2_free(w->metadata_values[i]);
    }
    t2_free(w->entries);
    t2_free(w->metadata_keys);
    t2_free(w->metadata_values);
    memset(w, 0, sizeof *w);
}
