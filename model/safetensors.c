/* safetensors reading: maps each file read-only, validates its header (see safetensors.h for
 * the byte layout and the rules), and hands out borrowed views of the tensors, plus element
 * range conversion to float. A folder with model.safetensors.index.json opens every shard it
 * names once.
 * Does not write files (safetensors_write.c) or know model tensor names (weights.c).
 * Reference: https://huggingface.co/docs/safetensors (format and its validation rules). */
#include "model/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/file.h"
#include "model/json_util.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors data is little-endian; this reader converts in place on little-endian hosts"
#endif

/* The growing st while it is opened: st itself has no capacity field. */
typedef struct reader {
    t2_safetensors *st;
    int cap_tensors;
} reader;

const char *t2_safetensors_shape_string(char *buf, size_t size, int n_dims,
                                        const int64_t *shape) {
    size_t used = (size_t)snprintf(buf, size, "[");
    for (int d = 0; d < n_dims && used < size; d++)
        used += (size_t)snprintf(buf + used, size - used, "%s%lld", d ? ", " : "",
                                 (long long)shape[d]);
    if (used < size) snprintf(buf + used, size - used, "]");
    return buf;
}

/* "dir/name" as a heap string, without doubling a trailing slash of dir. */
static char *join_path(const char *dir, const char *name) {
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--;
    size_t total = n + strlen(name) + 2;
    char *path = t2_alloc(total);
    snprintf(path, total, "%.*s/%s", (int)n, dir, name);
    return path;
}

/* Maps path read-only and registers it as the next file of st (so close unmaps it even when
 * its header turns out bad). named_by, when not NULL, is the index that listed the file. */
static int map_file(t2_safetensors *st, const char *path, const char *named_by, t2_error *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (named_by != NULL)
            return t2_error_set(err, "%s: cannot open: %s; expected the shard named by %s", path,
                                strerror(errno), named_by);
        return t2_error_set(err, "%s: cannot open: %s", path, strerror(errno));
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return t2_error_set(err, "%s: not a regular file; expected a .safetensors file", path);
    }
    if (sb.st_size < 8) {
        close(fd);
        return t2_error_set(err, "%s: file is truncated (%lld bytes); expected at least the "
                            "8-byte header length", path, (long long)sb.st_size);
    }
    void *map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int map_errno = errno;
    close(fd);
    if (map == MAP_FAILED)
        return t2_error_set(err, "%s: cannot map: %s", path, strerror(map_errno));
    int i = st->n_files++;
    st->paths = t2_realloc(st->paths, (size_t)st->n_files * sizeof *st->paths);
    st->maps = t2_realloc(st->maps, (size_t)st->n_files * sizeof *st->maps);
    st->map_sizes = t2_realloc(st->map_sizes, (size_t)st->n_files * sizeof *st->map_sizes);
    st->paths[i] = t2_strdup(path);
    st->maps[i] = map;
    st->map_sizes[i] = (size_t)sb.st_size;
    return 0;
}

static int parse_metadata(t2_safetensors *st, const json_t *value, int keep, const char *path,
                          t2_error *err) {
    if (!json_is_object(value))
        return t2_error_set(err, "%s: __metadata__ is %s; expected an object of strings", path,
                            t2_json_util_type_name(value));
    const char *key;
    const json_t *item;
    json_object_foreach((json_t *)value, key, item) {
        if (!json_is_string(item))
            return t2_error_set(err, "%s: __metadata__ key '%s' is %s; expected a string", path,
                                key, t2_json_util_type_name(item));
    }
    if (!keep) return 0;
    size_t n = json_object_size(value);
    st->metadata_keys = t2_alloc_array(n ? n : 1, sizeof *st->metadata_keys);
    st->metadata_values = t2_alloc_array(n ? n : 1, sizeof *st->metadata_values);
    json_object_foreach((json_t *)value, key, item) {
        st->metadata_keys[st->n_metadata] = t2_strdup(key);
        st->metadata_values[st->n_metadata] = t2_strdup(json_string_value(item));
        st->n_metadata++;
    }
    return 0;
}

/* A non-negative integer array element, or -1. */
static int64_t array_count(const json_t *array, size_t i) {
    const json_t *v = json_array_get(array, i);
    return json_is_integer(v) && json_integer_value(v) >= 0 ? (int64_t)json_integer_value(v) : -1;
}

/* Validates one header entry and appends it to st. data/data_len: the file's data buffer. */
static int parse_tensor(reader *r, const char *path, const char *name, const json_t *value,
                        const unsigned char *data, size_t data_len, int file_index,
                        t2_error *err) {
    if (!json_is_object(value))
        return t2_error_set(err, "%s: tensor '%s' is %s; expected an object with dtype, shape "
                            "and data_offsets", path, name, t2_json_util_type_name(value));
    const json_t *dtype_json = json_object_get(value, "dtype");
    const json_t *shape_json = json_object_get(value, "shape");
    const json_t *offsets_json = json_object_get(value, "data_offsets");
    if (!json_is_string(dtype_json))
        return t2_error_set(err, "%s: tensor '%s': dtype is missing or not a string; expected "
                            "a dtype name such as \"F32\"", path, name);
    t2_dtype dtype;
    if (t2_dtype_from_name(json_string_value(dtype_json), &dtype) != 0)
        return t2_error_set(err, "%s: tensor '%s' has unknown dtype '%s'; expected one of F32, "
                            "F16, BF16, F64, I64, I32, U8", path, name,
                            json_string_value(dtype_json));
    if (!json_is_array(shape_json) || json_array_size(shape_json) > T2_TENSOR_MAX_DIMS)
        return t2_error_set(err, "%s: tensor '%s': shape is missing or not a list of at most %d "
                            "sizes; expected a list like [4096, 4096]", path, name,
                            (int)T2_TENSOR_MAX_DIMS);
    t2_tensor_info t = {.dtype = dtype, .n_dims = (int)json_array_size(shape_json),
                        .file_index = file_index};
    int64_t n_elements = 1;
    for (int d = 0; d < t.n_dims; d++) {
        t.shape[d] = array_count(shape_json, (size_t)d);
        if (t.shape[d] < 0)
            return t2_error_set(err, "%s: tensor '%s': shape element %d is not a non-negative "
                                "integer; expected a list of sizes", path, name, d);
        if (t.shape[d] != 0 && n_elements > INT64_MAX / t.shape[d])
            return t2_error_set(err, "%s: tensor '%s': shape's element count overflows; "
                                "expected a product below 2^63", path, name);
        n_elements *= t.shape[d];
    }
    int64_t elem_size = (int64_t)t2_dtype_size(dtype);
    if (n_elements > INT64_MAX / elem_size)
        return t2_error_set(err, "%s: tensor '%s': shape's byte size overflows; expected a "
                            "size below 2^63 bytes", path, name);
    int64_t begin, end;
    if (!json_is_array(offsets_json) || json_array_size(offsets_json) != 2 ||
        (begin = array_count(offsets_json, 0)) < 0 || (end = array_count(offsets_json, 1)) < 0)
        return t2_error_set(err, "%s: tensor '%s': data_offsets is missing or malformed; "
                            "expected [begin, end] with non-negative integers", path, name);
    if (end < begin)
        return t2_error_set(err, "%s: tensor '%s': data_offsets [%lld, %lld] end before they "
                            "begin; expected begin <= end", path, name, (long long)begin,
                            (long long)end);
    if ((uint64_t)end > data_len)
        return t2_error_set(err, "%s: tensor '%s': data_offsets [%lld, %lld] lie outside the "
                            "data buffer of %zu bytes; expected end <= %zu", path, name,
                            (long long)begin, (long long)end, data_len, data_len);
    if (end - begin != n_elements * elem_size) {
        char shape[256];
        t2_safetensors_shape_string(shape, sizeof shape, t.n_dims, t.shape);
        return t2_error_set(err, "%s: tensor '%s': shape %s of %s needs %lld bytes but "
                            "data_offsets [%lld, %lld] span %lld; expected equal sizes", path,
                            name, shape, t2_dtype_name(dtype),
                            (long long)(n_elements * elem_size), (long long)begin,
                            (long long)end, (long long)(end - begin));
    }
    t.n_elements = n_elements;
    t.data = data + begin;
    t.n_bytes = (size_t)(end - begin);
    t.name = t2_strdup(name);
    t2_safetensors *st = r->st;
    if (st->n_tensors == r->cap_tensors) {
        r->cap_tensors = r->cap_tensors ? 2 * r->cap_tensors : 64;
        st->tensors = t2_realloc(st->tensors, (size_t)r->cap_tensors * sizeof *st->tensors);
    }
    st->tensors[st->n_tensors++] = t;
    return 0;
}

static int compare_by_data(const void *a, const void *b) {
    const t2_tensor_info *x = *(const t2_tensor_info *const *)a;
    const t2_tensor_info *y = *(const t2_tensor_info *const *)b;
    if (x->data != y->data) return x->data < y->data ? -1 : 1;
    return x->n_bytes < y->n_bytes ? -1 : x->n_bytes > y->n_bytes;
}

/* Tensors [first, st->n_tensors) all come from one file: sorted by start, no non-empty one
 * may begin before the previous one ends. */
static int check_overlaps(const t2_safetensors *st, int first, const char *path,
                          t2_error *err) {
    int n = st->n_tensors - first;
    if (n < 2) return 0;
    const t2_tensor_info **order = t2_alloc_array((size_t)n, sizeof *order);
    for (int i = 0; i < n; i++) order[i] = &st->tensors[first + i];
    qsort(order, (size_t)n, sizeof *order, compare_by_data);
    int status = 0;
    const t2_tensor_info *prev = NULL;
    for (int i = 0; i < n && status == 0; i++) {
        if (order[i]->n_bytes == 0) continue;
        if (prev != NULL && prev->data + prev->n_bytes > order[i]->data)
            status = t2_error_set(err, "%s: tensors '%s' and '%s' overlap in the data buffer; "
                                  "expected disjoint byte ranges", path, prev->name,
                                  order[i]->name);
        prev = order[i];
    }
    t2_free(order);
    return status;
}

/* Validates the header of file i of st and appends its tensors. */
static int parse_file(reader *r, int i, t2_error *err) {
    t2_safetensors *st = r->st;
    const char *path = st->paths[i];
    const unsigned char *base = st->maps[i];
    size_t size = st->map_sizes[i];
    uint64_t header_len;
    memcpy(&header_len, base, sizeof header_len);
    if (header_len > size - 8)
        return t2_error_set(err, "%s: header length %llu runs past the end of the file (%zu "
                            "bytes); expected at most %zu", path,
                            (unsigned long long)header_len, size, size - 8);
    json_t *root = t2_json_util_parse_object((const char *)base + 8, (size_t)header_len, path,
                                             "a JSON object of tensors in the header", err);
    if (root == NULL) return -1;
    const unsigned char *data = base + 8 + header_len;
    size_t data_len = size - 8 - (size_t)header_len;
    int first = st->n_tensors, status = 0;
    const char *key;
    const json_t *value;
    json_object_foreach(root, key, value) {
        if (strcmp(key, "__metadata__") == 0)
            status = parse_metadata(st, value, i == 0, path, err);
        else
            status = parse_tensor(r, path, key, value, data, data_len, i, err);
        if (status != 0) break;
    }
    json_decref(root);
    if (status != 0) return -1;
    return check_overlaps(st, first, path, err);
}

static int compare_by_name(const void *a, const void *b) {
    return strcmp(((const t2_tensor_info *)a)->name, ((const t2_tensor_info *)b)->name);
}

/* Sorts all tensors by name and rejects a name that two shards both hold. */
static int sort_tensors(t2_safetensors *st, t2_error *err) {
    if (st->n_tensors > 1) qsort(st->tensors, (size_t)st->n_tensors, sizeof *st->tensors,
                                 compare_by_name);
    for (int i = 1; i < st->n_tensors; i++)
        if (strcmp(st->tensors[i - 1].name, st->tensors[i].name) == 0)
            return t2_error_set(err, "%s: tensor '%s' also appears in %s; expected each tensor "
                                "in exactly one shard", st->paths[st->tensors[i].file_index],
                                st->tensors[i].name, st->paths[st->tensors[i - 1].file_index]);
    return 0;
}

/* Shard file names in order of first appearance; *n_out of them (borrowed from root). */
static int list_shards(const json_t *weight_map, const char *index_path, const char ***out,
                       int *n_out, t2_error *err) {
    size_t cap = json_object_size(weight_map);
    const char **shards = t2_alloc_array(cap ? cap : 1, sizeof *shards);
    int n = 0;
    const char *name;
    const json_t *file;
    json_object_foreach((json_t *)weight_map, name, file) {
        if (!json_is_string(file) || json_string_length(file) == 0 ||
            strchr(json_string_value(file), '/') != NULL) {
            t2_free(shards);
            return t2_error_set(err, "%s: weight_map entry '%s' is not a shard file name; "
                                "expected a file name in the same folder", index_path, name);
        }
        int k = 0;
        while (k < n && strcmp(shards[k], json_string_value(file)) != 0) k++;
        if (k == n) shards[n++] = json_string_value(file);
    }
    *out = shards;
    *n_out = n;
    return 0;
}

/* Every tensor of the weight map is in the shard it names (shards: file k of st). */
static int check_listed(const t2_safetensors *st, const json_t *weight_map,
                        const char *const *shards, t2_error *err) {
    const char *name;
    const json_t *file;
    json_object_foreach((json_t *)weight_map, name, file) {
        const t2_tensor_info *t = t2_safetensors_find(st, name);
        int k = 0;
        while (strcmp(shards[k], json_string_value(file)) != 0) k++;
        if (t == NULL || t->file_index != k)
            return t2_error_set(err, "%s: tensor '%s' is listed in %s but absent from this "
                                "shard; expected it there", st->paths[k], name, st->index_path);
    }
    return 0;
}

static int open_index(reader *r, const char *dir, t2_error *err) {
    t2_safetensors *st = r->st;
    const char *index_path = st->index_path;
    char *text = NULL;
    size_t len = 0;
    if (t2_file_read(index_path, &text, &len, err) != 0) return -1;
    json_t *root = t2_json_util_parse_object(text, len, index_path,
                                             "an object with a \"weight_map\"", err);
    t2_free(text);
    if (root == NULL) return -1;
    const json_t *weight_map = json_object_get(root, "weight_map");
    const char **shards = NULL;
    int n_shards = 0, status = 0;
    if (!json_is_object(weight_map))
        status = t2_error_set(err, "%s: key 'weight_map' is missing or not an object; expected "
                              "an object of tensor name -> shard file", index_path);
    if (status == 0) status = list_shards(weight_map, index_path, &shards, &n_shards, err);
    for (int k = 0; k < n_shards && status == 0; k++) {
        char *shard_path = join_path(dir, shards[k]);
        status = map_file(st, shard_path, index_path, err);
        t2_free(shard_path);
        if (status == 0) status = parse_file(r, st->n_files - 1, err);
    }
    if (status == 0) status = sort_tensors(st, err);
    if (status == 0) status = check_listed(st, weight_map, shards, err);
    t2_free(shards);
    json_decref(root);
    return status;
}

static int is_file(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

static int open_any(reader *r, const char *path, t2_error *err) {
    t2_safetensors *st = r->st;
    struct stat sb;
    if (stat(path, &sb) != 0) return t2_error_set(err, "%s: cannot open: %s", path,
                                                  strerror(errno));
    if (!S_ISDIR(sb.st_mode)) {
        if (map_file(st, path, NULL, err) != 0 || parse_file(r, 0, err) != 0) return -1;
        return sort_tensors(st, err);
    }
    char *single = join_path(path, "model.safetensors");
    int status;
    if (is_file(single)) {
        status = map_file(st, single, NULL, err);
        if (status == 0) status = parse_file(r, 0, err);
        if (status == 0) status = sort_tensors(st, err);
    } else {
        st->index_path = join_path(path, "model.safetensors.index.json");
        if (is_file(st->index_path))
            status = open_index(r, path, err);
        else
            status = t2_error_set(err, "%s: no model.safetensors or model.safetensors.index.json "
                                  "in this folder; expected a Hugging Face model folder", path);
    }
    t2_free(single);
    return status;
}

int t2_safetensors_open(t2_safetensors *st, const char *path, t2_error *err) {
    memset(st, 0, sizeof *st);
    reader r = {.st = st};
    if (open_any(&r, path, err) != 0) {
        t2_safetensors_close(st);
        return -1;
    }
    return 0;
}

void t2_safetensors_close(t2_safetensors *st) {
    for (int i = 0; i < st->n_files; i++) {
        if (st->maps != NULL && st->maps[i] != NULL) munmap(st->maps[i], st->map_sizes[i]);
        if (st->paths != NULL) t2_free(st->paths[i]);
    }
    for (int i = 0; i < st->n_tensors; i++) t2_free(st->tensors[i].name);
    for (int i = 0; i < st->n_metadata; i++) {
        t2_free(st->metadata_keys[i]);
        t2_free(st->metadata_values[i]);
    }
    t2_free(st->index_path);
    t2_free(st->paths);
    t2_free(st->maps);
    t2_free(st->map_sizes);
    t2_free(st->tensors);
    t2_free(st->metadata_keys);
    t2_free(st->metadata_values);
    memset(st, 0, sizeof *st);
}

const t2_tensor_info *t2_safetensors_find(const t2_safetensors *st, const char *name) {
    if (st->n_tensors == 0) return NULL;
    t2_tensor_info key = {.name = (char *)name};
    return bsearch(&key, st->tensors, (size_t)st->n_tensors, sizeof *st->tensors,
                   compare_by_name);
}

const char *t2_safetensors_metadata(const t2_safetensors *st, const char *key) {
    for (int i = 0; i < st->n_metadata; i++)
        if (strcmp(st->metadata_keys[i], key) == 0) return st->metadata_values[i];
    return NULL;
}

int t2_safetensors_read_f32(const t2_tensor_info *t, int64_t first, int64_t count, float *out,
                            t2_error *err) {
    if (first < 0 || count < 0 || first > t->n_elements || count > t->n_elements - first)
        return t2_error_set(err, "tensor '%s': elements [%lld, %lld + %lld) are outside its "
                            "%lld elements; expected a range inside the tensor", t->name,
                            (long long)first, (long long)first, (long long)count,
                            (long long)t->n_elements);
    const unsigned char *src = t->data + (size_t)first * t2_dtype_size(t->dtype);
    switch (t->dtype) {
    case T2_DTYPE_F32:
        memcpy(out, src, (size_t)count * sizeof *out);
        return 0;
    case T2_DTYPE_F64:
        for (int64_t i = 0; i < count; i++) {
            double v;
            memcpy(&v, src + 8 * i, sizeof v);
            out[i] = (float)v;
        }
        return 0;
    case T2_DTYPE_F16:
        for (int64_t i = 0; i < count; i++) {
            uint16_t h;
            memcpy(&h, src + 2 * i, sizeof h);
            out[i] = t2_dtype_f16_to_f32(h);
        }
        return 0;
    case T2_DTYPE_BF16:
        for (int64_t i = 0; i < count; i++) {
            uint16_t h;
            memcpy(&h, src + 2 * i, sizeof h);
            out[i] = t2_dtype_bf16_to_f32(h);
        }
        return 0;
    default:
        return t2_error_set(err, "tensor '%s': dtype %s cannot be read as float; expected F32, "
                            "F16, BF16 or F64", t->name, t2_dtype_name(t->dtype));
    }
}
