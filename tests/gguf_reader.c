/* The tests' GGUF reader (see gguf_reader.h), from the spec's structures in file order:
 * header, key-value pairs, tensor infos, padding, tensor data. */
#include "gguf_reader.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct cursor {
    const unsigned char *p, *end;
    char *why;
    size_t why_size;
    int failed;
} cursor;

static int fail(cursor *c, const char *fmt, ...) {
    if (!c->failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->why, c->why_size, fmt, ap);
        va_end(ap);
    }
    c->failed = 1;
    return -1;
}

static int take(cursor *c, void *out, size_t n) {
    if ((size_t)(c->end - c->p) < n) return fail(c, "truncated: %zu bytes needed", n);
    if (out != NULL) memcpy(out, c->p, n);
    c->p += n;
    return 0;
}

static uint64_t u64(cursor *c) {
    uint64_t v = 0;
    take(c, &v, 8);
    return v;
}

static uint32_t u32(cursor *c) {
    uint32_t v = 0;
    take(c, &v, 4);
    return v;
}

/* Size of one scalar of a type, 0 for STRING / ARRAY, -1 when unknown. */
static int scalar_size(uint32_t type) {
    switch (type) {
    case 0: case 1: case 7: return 1;
    case 2: case 3: return 2;
    case 4: case 5: case 6: return 4;
    case 10: case 11: case 12: return 8;
    case 8: case 9: return 0;
    }
    return -1;
}

static int read_string(cursor *c, const char **s, uint64_t *len) {
    *len = u64(c);
    if (c->failed) return -1;
    if ((uint64_t)(c->end - c->p) < *len) return fail(c, "string of %llu bytes past the end",
                                                     (unsigned long long)*len);
    *s = (const char *)c->p;
    c->p += *len;
    return 0;
}

static void read_scalar(cursor *c, uint32_t type, gguf_value *v) {
    unsigned char b[8] = {0};
    take(c, b, (size_t)scalar_size(type));
    switch (type) {
    case 0: v->u = b[0]; break;
    case 1: v->i = (int8_t)b[0]; break;
    case 2: { uint16_t x; memcpy(&x, b, 2); v->u = x; break; }
    case 3: { int16_t x; memcpy(&x, b, 2); v->i = x; break; }
    case 4: { uint32_t x; memcpy(&x, b, 4); v->u = x; break; }
    case 5: { int32_t x; memcpy(&x, b, 4); v->i = x; break; }
    case 6: { float x; memcpy(&x, b, 4); v->f = x; break; }
    case 7:
        v->u = b[0];
        if (b[0] > 1) fail(c, "bool value %u; expected 0 or 1", b[0]);
        break;
    case 10: memcpy(&v->u, b, 8); break;
    case 11: memcpy(&v->i, b, 8); break;
    case 12: memcpy(&v->f, b, 8); break;
    }
}

/* Skips (validating) one value of type; fills v for the top level. */
static int read_value(cursor *c, uint32_t type, gguf_value *v, int depth) {
    v->type = type;
    v->n = 1;
    int size = scalar_size(type);
    if (size < 0) return fail(c, "unknown value type %u", type);
    if (type == 8) return read_string(c, &v->str, &v->str_len);
    if (type != 9) {
        read_scalar(c, type, v);
        return c->failed ? -1 : 0;
    }
    if (depth > 4) return fail(c, "arrays nested too deep");
    v->elem = u32(c);
    v->n = u64(c);
    if (c->failed) return -1;
    v->array = c->p;
    if (scalar_size(v->elem) < 0) return fail(c, "unknown array element type %u", v->elem);
    for (uint64_t k = 0; k < v->n; k++) {
        gguf_value inner = {0};
        if (read_value(c, v->elem, &inner, depth + 1) != 0) return -1;
    }
    return 0;
}

int gguf_read(gguf_file *g, const char *path, char *why, size_t why_size) {
    memset(g, 0, sizeof *g);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(why, why_size, "%s: cannot open", path);
        return -1;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    g->bytes = malloc(size > 0 ? (size_t)size : 1);
    g->size = fread(g->bytes, 1, (size_t)size, f);
    fclose(f);
    cursor c = {g->bytes, g->bytes + g->size, why, why_size, 0};
    char magic[4] = {0};
    take(&c, magic, 4);
    if (memcmp(magic, "GGUF", 4) != 0) return fail(&c, "magic is not GGUF");
    g->version = u32(&c);
    if (g->version != 3) return fail(&c, "version %u; expected 3", g->version);
    g->n_tensors = u64(&c);
    g->n_kv = u64(&c);
    if (c.failed || g->n_kv > g->size || g->n_tensors > g->size)
        return fail(&c, "counts past the file's size");
    g->kv = calloc(g->n_kv ? g->n_kv : 1, sizeof *g->kv);
    g->tensors = calloc(g->n_tensors ? g->n_tensors : 1, sizeof *g->tensors);
    g->alignment = 32;
    for (uint64_t k = 0; k < g->n_kv && !c.failed; k++) {
        const char *key = NULL;
        uint64_t len;
        if (read_string(&c, &key, &len) != 0) break;
        g->kv[k].key = calloc(len + 1, 1);
        memcpy(g->kv[k].key, key, len);
        uint32_t type = u32(&c);
        if (read_value(&c, type, &g->kv[k].value, 0) != 0) break;
        for (uint64_t j = 0; j < k; j++)
            if (strcmp(g->kv[j].key, g->kv[k].key) == 0) fail(&c, "key %s twice", g->kv[k].key);
        if (strcmp(g->kv[k].key, "general.alignment") == 0) {
            if (type != 4 || g->kv[k].value.u == 0 || g->kv[k].value.u % 8 != 0)
                fail(&c, "general.alignment is not a u32 multiple of 8");
            g->alignment = g->kv[k].value.u;
        }
    }
    for (uint64_t t = 0; t < g->n_tensors && !c.failed; t++) {
        gguf_tensor *x = &g->tensors[t];
        const char *name = NULL;
        uint64_t len;
        if (read_string(&c, &name, &len) != 0) break;
        if (len > 64) fail(&c, "tensor name of %llu bytes; at most 64", (unsigned long long)len);
        x->name = calloc(len + 1, 1);
        memcpy(x->name, name, len);
        x->n_dims = u32(&c);
        if (x->n_dims < 1 || x->n_dims > 4) fail(&c, "%s: %u dims", x->name, x->n_dims);
        uint64_t count = 1;
        for (uint32_t d = 0; d < x->n_dims && !c.failed; d++) {
            x->ne[d] = u64(&c);
            count *= x->ne[d];
        }
        x->type = u32(&c);
        x->offset = u64(&c);
        if (x->type != 0 && x->type != 1 && x->type != 30)
            fail(&c, "%s: type %u; expected F32, F16 or BF16", x->name, x->type);
        x->n_bytes = count * (x->type == 0 ? 4 : 2);
        if (x->offset % g->alignment != 0)
            fail(&c, "%s: offset %llu not a multiple of %llu", x->name,
                 (unsigned long long)x->offset, (unsigned long long)g->alignment);
    }
    if (c.failed) return -1;
    uint64_t infos_end = (uint64_t)(c.p - g->bytes);
    g->data_start = infos_end + (g->alignment - infos_end % g->alignment) % g->alignment;
    for (uint64_t p = infos_end; p < g->data_start && p < g->size; p++)
        if (g->bytes[p] != 0) return fail(&c, "padding byte %llu is not 0", (unsigned long long)p);
    for (uint64_t t = 0; t < g->n_tensors; t++) {
        gguf_tensor *x = &g->tensors[t];
        if (g->data_start + x->offset + x->n_bytes > g->size)
            return fail(&c, "%s: data past the end of the file", x->name);
        x->data = g->bytes + g->data_start + x->offset;
        for (uint64_t u = 0; u < t; u++) {
            const gguf_tensor *y = &g->tensors[u];
            if (x->offset < y->offset + y->n_bytes && y->offset < x->offset + x->n_bytes)
                return fail(&c, "%s overlaps %s", x->name, y->name);
            if (strcmp(x->name, y->name) == 0) return fail(&c, "tensor %s twice", x->name);
        }
    }
    return 0;
}

void gguf_free(gguf_file *g) {
    for (uint64_t k = 0; g->kv != NULL && k < g->n_kv; k++) free(g->kv[k].key);
    for (uint64_t t = 0; g->tensors != NULL && t < g->n_tensors; t++) free(g->tensors[t].name);
    free(g->kv);
    free(g->tensors);
    free(g->bytes);
    memset(g, 0, sizeof *g);
}

const gguf_kv *gguf_find_kv(const gguf_file *g, const char *key) {
    for (uint64_t k = 0; k < g->n_kv; k++)
        if (strcmp(g->kv[k].key, key) == 0) return &g->kv[k];
    return NULL;
}

const gguf_tensor *gguf_find_tensor(const gguf_file *g, const char *name) {
    for (uint64_t t = 0; t < g->n_tensors; t++)
        if (strcmp(g->tensors[t].name, name) == 0) return &g->tensors[t];
    return NULL;
}

const char *gguf_array_string(const gguf_value *v, uint64_t k, uint64_t *len) {
    const unsigned char *p = v->array;
    for (uint64_t j = 0;; j++) {
        uint64_t n;
        memcpy(&n, p, 8);
        if (j == k) {
            *len = n;
            return (const char *)p + 8;
        }
        p += 8 + n;
    }
}

int32_t gguf_array_i32(const gguf_value *v, uint64_t k) {
    int32_t x;
    memcpy(&x, v->array + 4 * k, 4);
    return x;
}

float gguf_array_f32(const gguf_value *v, uint64_t k) {
    float x;
    memcpy(&x, v->array + 4 * k, 4);
    return x;
}
