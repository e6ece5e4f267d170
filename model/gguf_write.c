/* GGUF writing (see gguf_write.h): metadata serialised as it is added, tensor descriptions
 * kept until the write, which lays out the header, the tensor infos with aligned offsets and
 * then the data, converting each row on the way. Little-endian host assumed (as
 * safetensors.c checks). Reference: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md */
#include "model/gguf_write.h"

#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "base/file.h"
#include "model/safetensors.h"

struct t2_gguf_writer_tensor {
    char *name;                /* owned */
    t2_gguf_tensor_type type;
    int n_dims;
    int64_t ne[2];
    t2_weight data;            /* borrowed */
    const int64_t *row_order;  /* borrowed, or NULL */
};

typedef struct t2_gguf_writer_tensor tensor;

enum { OUT_CHUNK = 1 << 20 }; /* bytes gathered before one write */

void t2_gguf_writer_init(t2_gguf_writer *w) { memset(w, 0, sizeof *w); }

void t2_gguf_writer_free(t2_gguf_writer *w) {
    for (int i = 0; i < w->n_tensors; i++) t2_free(w->tensors[i].name);
    t2_free(w->tensors);
    t2_free(w->kv);
    memset(w, 0, sizeof *w);
}

static void put(t2_gguf_writer *w, const void *bytes, size_t len) {
    if (len == 0) return;
    if (w->kv_len + len > w->kv_cap) {
        w->kv_cap = w->kv_cap ? w->kv_cap : 4096;
        while (w->kv_len + len > w->kv_cap) w->kv_cap *= 2;
        w->kv = t2_realloc(w->kv, w->kv_cap);
    }
    memcpy(w->kv + w->kv_len, bytes, len);
    w->kv_len += len;
}

static void put_u32(t2_gguf_writer *w, uint32_t v) { put(w, &v, 4); }
static void put_u64(t2_gguf_writer *w, uint64_t v) { put(w, &v, 8); }

static void put_string(t2_gguf_writer *w, const char *s, size_t len) {
    put_u64(w, len);
    put(w, s, len);
}

/* A key and its value type; the value follows. */
static void put_key(t2_gguf_writer *w, const char *key, t2_gguf_value_type type) {
    put_string(w, key, strlen(key));
    put_u32(w, (uint32_t)type);
    w->n_kv++;
}

void t2_gguf_writer_add_u32(t2_gguf_writer *w, const char *key, uint32_t value) {
    put_key(w, key, T2_GGUF_UINT32);
    put_u32(w, value);
}

void t2_gguf_writer_add_f32(t2_gguf_writer *w, const char *key, float value) {
    put_key(w, key, T2_GGUF_FLOAT32);
    put(w, &value, 4);
}

void t2_gguf_writer_add_bool(t2_gguf_writer *w, const char *key, int value) {
    put_key(w, key, T2_GGUF_BOOL);
    unsigned char b = value != 0;
    put(w, &b, 1);
}

void t2_gguf_writer_add_string(t2_gguf_writer *w, const char *key, const char *value) {
    put_key(w, key, T2_GGUF_STRING);
    put_string(w, value, strlen(value));
}

/* An array's header: element type and count. */
static void put_array(t2_gguf_writer *w, const char *key, t2_gguf_value_type type, int64_t n) {
    T2_ASSERT(n >= 0);
    put_key(w, key, T2_GGUF_ARRAY);
    put_u32(w, (uint32_t)type);
    put_u64(w, (uint64_t)n);
}

void t2_gguf_writer_add_strings(t2_gguf_writer *w, const char *key, const char *const *strings,
                                const size_t *lens, int64_t n) {
    put_array(w, key, T2_GGUF_STRING, n);
    for (int64_t i = 0; i < n; i++) put_string(w, strings[i], lens[i]);
}

void t2_gguf_writer_add_i32s(t2_gguf_writer *w, const char *key, const int32_t *values,
                             int64_t n) {
    put_array(w, key, T2_GGUF_INT32, n);
    put(w, values, (size_t)n * 4);
}

void t2_gguf_writer_add_f32s(t2_gguf_writer *w, const char *key, const float *values,
                             int64_t n) {
    put_array(w, key, T2_GGUF_FLOAT32, n);
    put(w, values, (size_t)n * 4);
}

void t2_gguf_writer_add_tensor(t2_gguf_writer *w, const char *name, t2_gguf_tensor_type type,
                               int n_dims, const int64_t *ne, t2_weight data,
                               const int64_t *row_order) {
    T2_ASSERT(n_dims == 1 || n_dims == 2);
    T2_ASSERT(type == T2_GGUF_TENSOR_F32 || type == T2_GGUF_TENSOR_F16 ||
              type == T2_GGUF_TENSOR_BF16);
    if (w->n_tensors == w->cap_tensors) {
        w->cap_tensors = w->cap_tensors ? 2 * w->cap_tensors : 64;
        w->tensors = t2_realloc(w->tensors, (size_t)w->cap_tensors * sizeof *w->tensors);
    }
    tensor *t = &w->tensors[w->n_tensors++];
    memset(t, 0, sizeof *t);
    t->name = t2_strdup(name);
    t->type = type;
    t->n_dims = n_dims;
    t->ne[0] = ne[0];
    t->ne[1] = n_dims == 2 ? ne[1] : 1;
    T2_ASSERT(t->ne[0] >= 0 && t->ne[1] >= 0);
    t->data = data;
    t->row_order = row_order;
}

static size_t element_size(t2_gguf_tensor_type type) { return type == T2_GGUF_TENSOR_F32 ? 4 : 2; }

static uint64_t tensor_bytes(const tensor *t) {
    return (uint64_t)(t->ne[0] * t->ne[1]) * element_size(t->type);
}

static uint64_t align_up(uint64_t offset) {
    return (offset + T2_GGUF_ALIGNMENT - 1) / T2_GGUF_ALIGNMENT * T2_GGUF_ALIGNMENT;
}

/* Buffered output: bytes gathered in `data` and written OUT_CHUNK at a time. */
typedef struct out_buffer {
    t2_atomic_file *file;
    unsigned char *data;
    size_t len;
    uint64_t written; /* bytes written or buffered since the start of the file */
} out_buffer;

static int flush(out_buffer *b, t2_error *err) {
    int status = b->len > 0 ? t2_atomic_file_write(b->file, b->data, b->len, err) : 0;
    b->len = 0;
    return status;
}

static int emit(out_buffer *b, const void *bytes, size_t len, t2_error *err) {
    const unsigned char *p = bytes;
    while (len > 0) {
        if (b->len == OUT_CHUNK && flush(b, err) != 0) return -1;
        size_t n = OUT_CHUNK - b->len < len ? OUT_CHUNK - b->len : len;
        memcpy(b->data + b->len, p, n);
        b->len += n;
        b->written += n;
        p += n;
        len -= n;
    }
    return 0;
}

static int emit_u32(out_buffer *b, uint32_t v, t2_error *err) { return emit(b, &v, 4, err); }
static int emit_u64(out_buffer *b, uint64_t v, t2_error *err) { return emit(b, &v, 8, err); }

/* Zeros up to the next multiple of the alignment. */
static int pad(out_buffer *b, t2_error *err) {
    static const unsigned char zeros[T2_GGUF_ALIGNMENT];
    return emit(b, zeros, (size_t)(align_up(b->written) - b->written), err);
}

/* One tensor's rows in its type: row (a float32 scratch of ne[0]) and half (ne[0] u16). */
static int emit_tensor(out_buffer *b, const tensor *t, float *row, uint16_t *half,
                       t2_error *err) {
    int64_t cols = t->ne[0];
    for (int64_t r = 0; r < t->ne[1]; r++) {
        int64_t src = t->row_order != NULL ? t->row_order[r] : r;
        T2_ASSERT(src >= 0 && src < t->ne[1]);
        t2_weight_widen(row, t->data, src * cols, cols);
        const void *bytes = row;
        if (t->type == T2_GGUF_TENSOR_F16) {
            for (int64_t c = 0; c < cols; c++) half[c] = t2_dtype_f32_to_f16(row[c]);
            bytes = half;
        } else if (t->type == T2_GGUF_TENSOR_BF16) {
            for (int64_t c = 0; c < cols; c++) half[c] = t2_dtype_f32_to_bf16(row[c]);
            bytes = half;
        }
        if (emit(b, bytes, (size_t)cols * element_size(t->type), err) != 0) return -1;
    }
    return 0;
}

static int write_all(const t2_gguf_writer *w, out_buffer *b, t2_error *err) {
    int status = emit(b, "GGUF", 4, err);
    if (status == 0) status = emit_u32(b, T2_GGUF_VERSION, err);
    if (status == 0) status = emit_u64(b, (uint64_t)w->n_tensors, err);
    if (status == 0) status = emit_u64(b, (uint64_t)w->n_kv, err);
    if (status == 0) status = emit(b, w->kv, w->kv_len, err);
    uint64_t offset = 0;
    int64_t widest = 1;
    for (int i = 0; i < w->n_tensors && status == 0; i++) {
        const tensor *t = &w->tensors[i];
        size_t len = strlen(t->name);
        status = emit_u64(b, len, err);
        if (status == 0) status = emit(b, t->name, len, err);
        if (status == 0) status = emit_u32(b, (uint32_t)t->n_dims, err);
        for (int d = 0; d < t->n_dims && status == 0; d++)
            status = emit_u64(b, (uint64_t)t->ne[d], err);
        if (status == 0) status = emit_u32(b, (uint32_t)t->type, err);
        if (status == 0) status = emit_u64(b, offset, err);
        offset = align_up(offset + tensor_bytes(t));
        if (t->ne[0] > widest) widest = t->ne[0];
    }
    if (status == 0) status = pad(b, err);
    float *row = t2_alloc_array((size_t)widest, sizeof *row);
    uint16_t *half = t2_alloc_array((size_t)widest, sizeof *half);
    for (int i = 0; i < w->n_tensors && status == 0; i++) {
        status = emit_tensor(b, &w->tensors[i], row, half, err);
        if (status == 0) status = pad(b, err);
    }
    t2_free(half);
    t2_free(row);
    if (status == 0) status = flush(b, err);
    return status;
}

int t2_gguf_writer_write(const t2_gguf_writer *w, const char *path, t2_error *err) {
    t2_atomic_file f;
    if (t2_atomic_file_open(&f, path, err) != 0) return -1;
    out_buffer b = {&f, t2_alloc(OUT_CHUNK), 0, 0};
    int status = write_all(w, &b, err);
    t2_free(b.data);
    if (status == 0) return t2_atomic_file_commit(&f, err);
    t2_atomic_file_abort(&f);
    return -1;
}
