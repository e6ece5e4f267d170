/* Decomposition store reading and validation (see decomposition_store.h): the store's own
 * consistency on open, and its match with a model's weights for a loader. The file is
 * memory-mapped through model/safetensors.h, whose checks (truncation, offsets, overlaps)
 * run first; the checksum over every byte runs last. */
#include "model/decomposition_store.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/alloc.h"
#include "base/assert.h"

static const char *metadata(const t2_decomposition_store *store, const char *key) {
    return t2_safetensors_metadata(&store->st, key);
}

static int parse_fingerprint(const char *text, uint64_t *out) {
    if (text == NULL || strlen(text) != 16) return -1;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 16);
    if (errno != 0 || *end != '\0') return -1;
    *out = (uint64_t)v;
    return 0;
}

/* The target names from the "targets" metadata (a JSON array of strings). */
static int parse_targets(t2_decomposition_store *store, const char *text, t2_error *err) {
    json_error_t jerr;
    json_t *names = text ? json_loads(text, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    size_t n = json_is_array(names) ? json_array_size(names) : 0;
    int ok = n > 0 && n <= (size_t)store->st.n_tensors;
    for (size_t i = 0; ok && i < n; i++) ok = json_is_string(json_array_get(names, i));
    if (!ok) {
        json_decref(names);
        return t2_error_set(err, "%s: metadata 'targets' is missing or not a non-empty JSON "
                            "array of names; expected the list t2 decompose writes", store->path);
    }
    store->n = (int)n;
    store->names = t2_alloc_array(n, sizeof *store->names);
    for (size_t i = 0; i < n; i++)
        store->names[i] = t2_strdup(json_string_value(json_array_get(names, i)));
    json_decref(names);
    return 0;
}

/* The F32 tensor "<name><suffix>" of shape [d0] (d1 < 0) or [d0, d1]; d0 < 0 accepts any
 * first dimension. */
static const t2_tensor_info *factor(const t2_decomposition_store *store, const char *name,
                                    const char *suffix, int64_t d0, int64_t d1, t2_error *err) {
    size_t len = strlen(name) + 3;
    char *key = t2_alloc(len);
    snprintf(key, len, "%s%s", name, suffix);
    const t2_tensor_info *t = t2_safetensors_find(&store->st, key);
    int n_dims = d1 < 0 ? 1 : 2;
    char want[96], got[96];
    int64_t want_shape[2] = {d0, d1};
    if (t == NULL) {
        t2_error_set(err, "%s: tensor '%s' is missing; expected U, S and V for every target",
                     store->path, key);
    } else if (t->dtype != T2_DTYPE_F32) {
        t2_error_set(err, "%s: tensor '%s' has dtype %s; expected F32", store->path, key,
                     t2_dtype_name(t->dtype));
        t = NULL;
    } else if (t->n_dims != n_dims || (d0 >= 0 && t->shape[0] != d0) ||
               (n_dims == 2 && t->shape[1] != d1)) {
        t2_safetensors_shape_string(got, sizeof got, t->n_dims, t->shape);
        if (d0 >= 0) t2_safetensors_shape_string(want, sizeof want, n_dims, want_shape);
        else snprintf(want, sizeof want, "[rows, %lld]", (long long)d1);
        t2_error_set(err, "%s: tensor '%s' has shape %s; expected %s", store->path, key, got,
                     want);
        t = NULL;
    }
    t2_free(key);
    return t;
}

/* Each target's U [rows, r], S [r], V [cols, r] with r = min(rows, cols). */
static int check_factors(t2_decomposition_store *store, t2_error *err) {
    size_t n = (size_t)store->n;
    store->rows = t2_alloc_array(n, sizeof *store->rows);
    store->cols = t2_alloc_array(n, sizeof *store->cols);
    store->ranks = t2_alloc_array(n, sizeof *store->ranks);
    store->u = t2_alloc_array(n, sizeof *store->u);
    store->s = t2_alloc_array(n, sizeof *store->s);
    store->v = t2_alloc_array(n, sizeof *store->v);
    for (int i = 0; i < store->n; i++) {
        const char *name = store->names[i];
        if (i > 0 && t2_decomposition_store_find(store, name) != i)
            return t2_error_set(err, "%s: target '%s' is listed twice; expected each once",
                                store->path, name);
        const t2_tensor_info *s = factor(store, name, ".S", -1, -1, err);
        if (s == NULL) return -1;
        int64_t r = s->shape[0];
        const t2_tensor_info *u = factor(store, name, ".U", -1, r, err);
        const t2_tensor_info *v = u ? factor(store, name, ".V", -1, r, err) : NULL;
        if (u == NULL || v == NULL) return -1;
        int64_t rows = u->shape[0], cols = v->shape[0];
        if (r != (rows < cols ? rows : cols) || r < 1)
            return t2_error_set(err, "%s: target '%s' has rank %lld for a %lld x %lld matrix; "
                                "expected min(rows, cols)", store->path, name, (long long)r,
                                (long long)rows, (long long)cols);
        store->rows[i] = rows;
        store->cols[i] = cols;
        store->ranks[i] = r;
        store->u[i] = u;
        store->s[i] = s;
        store->v[i] = v;
    }
    if (store->st.n_tensors != 3 * store->n)
        return t2_error_set(err, "%s: holds %d tensors for %d targets; expected exactly U, S "
                            "and V of each", store->path, store->st.n_tensors, store->n);
    return 0;
}

/* The "data_xxh64" checksum against the file's bytes; a store without one (written before
 * t2 wrote it) passes unchecked. */
static int check_checksum(const t2_decomposition_store *store, t2_error *err) {
    const char *recorded = metadata(store, "data_xxh64");
    if (recorded == NULL) return 0;
    uint64_t want = 0;
    const unsigned char *file = store->st.maps[0];
    size_t file_bytes = store->st.map_sizes[0];
    uint64_t json_bytes;
    memcpy(&json_bytes, file, 8); /* little-endian host; safetensors.c checked it fits */
    size_t header_bytes = 8 + (size_t)json_bytes;
    size_t at = t2_decomposition_checksum_find(file, header_bytes);
    if (parse_fingerprint(recorded, &want) != 0 || at == 0 ||
        memcmp(file + at, recorded, T2_FINGERPRINT_CHARS - 1) != 0)
        return t2_error_set(err, "%s: metadata 'data_xxh64' is malformed; expected 16 hex "
                            "digits as t2 decompose writes them", store->path);
    uint64_t got = t2_decomposition_store_checksum(file, header_bytes, file_bytes, at);
    if (got != want) {
        char have[T2_FINGERPRINT_CHARS];
        t2_fingerprint_format(got, have);
        return t2_error_set(err, "%s: checksum %s of the file differs from the recorded %s: the "
                            "store is corrupt; expected the bytes t2 decompose wrote",
                            store->path, have, recorded);
    }
    return 0;
}

int t2_decomposition_store_open(t2_decomposition_store *store, const char *path, t2_error *err) {
    memset(store, 0, sizeof *store);
    store->path = t2_strdup(path);
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        return t2_error_set(err, "%s: is a folder; expected a decomposition store file", path);
    if (t2_safetensors_open(&store->st, path, err) != 0) return -1;
    const char *format = metadata(store, "format"), *version = metadata(store, "format_version");
    if (format == NULL || strcmp(format, "t2-decomposition") != 0)
        return t2_error_set(err, "%s: metadata 'format' is %s%s%s; expected "
                            "\"t2-decomposition\" (a store written by t2 decompose)", path,
                            format ? "\"" : "", format ? format : "missing", format ? "\"" : "");
    if (version == NULL || strcmp(version, "1") != 0)
        return t2_error_set(err, "%s: format_version %s; expected 1", path,
                            version ? version : "missing");
    if (parse_fingerprint(metadata(store, "source_fingerprint"), &store->source_fingerprint) ||
        parse_fingerprint(metadata(store, "fingerprint"), &store->fingerprint))
        return t2_error_set(err, "%s: metadata 'source_fingerprint' or 'fingerprint' is missing "
                            "or malformed; expected 16 hex digits", path);
    const char *options = metadata(store, "options"), *model = metadata(store, "model");
    store->options = t2_strdup(options ? options : "");
    store->model_path = t2_strdup(model ? model : "");
    if (t2_decomposition_fingerprint(store->source_fingerprint, store->options) !=
        store->fingerprint)
        return t2_error_set(err, "%s: fingerprint does not match its source fingerprint and "
                            "options; expected an unmodified store", path);
    if (parse_targets(store, metadata(store, "targets"), err) != 0) return -1;
    if (check_factors(store, err) != 0) return -1;
    return check_checksum(store, err);
}

int t2_decomposition_store_find(const t2_decomposition_store *store, const char *name) {
    for (int i = 0; i < store->n; i++)
        if (strcmp(store->names[i], name) == 0) return i;
    return -1;
}

/* The F32 data of a validated factor tensor: 4-byte aligned, as the layout puts every tensor
 * (the header is padded to 8 bytes, and all tensors are F32 without gaps). */
static const float *factor_data(const t2_tensor_info *t) {
    T2_ASSERT(t->dtype == T2_DTYPE_F32 && (uintptr_t)t->data % sizeof(float) == 0);
    return (const float *)(const void *)t->data;
}

void t2_decomposition_store_view(const t2_decomposition_store *store, int i, const float **u,
                                 const float **s, const float **v) {
    T2_ASSERT(i >= 0 && i < store->n);
    *u = factor_data(store->u[i]);
    *s = factor_data(store->s[i]);
    *v = factor_data(store->v[i]);
}

int t2_decomposition_store_read(const t2_decomposition_store *store, int i, float *u, float *s,
                                float *v, t2_error *err) {
    if (i < 0 || i >= store->n)
        return t2_error_set(err, "%s: no target %d; expected 0 .. %d", store->path, i,
                            store->n - 1);
    const float *u_view, *s_view, *v_view;
    t2_decomposition_store_view(store, i, &u_view, &s_view, &v_view);
    memcpy(u, u_view, (size_t)store->u[i]->n_elements * sizeof *u);
    memcpy(s, s_view, (size_t)store->s[i]->n_elements * sizeof *s);
    memcpy(v, v_view, (size_t)store->v[i]->n_elements * sizeof *v);
    return 0;
}

int t2_decomposition_store_check_model(const t2_decomposition_store *store,
                                       const t2_safetensors *st, const char *model_path,
                                       t2_error *err) {
    t2_target_list targets = {store->n, t2_alloc_array((size_t)store->n, sizeof(t2_target))};
    uint64_t *hashes = t2_alloc_array((size_t)store->n, sizeof *hashes);
    int status = 0;
    for (int i = 0; i < store->n && status == 0; i++) {
        const t2_tensor_info *t = t2_safetensors_find(st, store->names[i]);
        if (t == NULL)
            status = t2_error_set(err, "%s: target '%s' is not in the model %s; expected a "
                                  "store made from this model", store->path, store->names[i],
                                  model_path);
        else if (t->n_dims != 2 || t->shape[0] != store->rows[i] || t->shape[1] != store->cols[i])
            status = t2_error_set(err, "%s: target '%s' is %lld x %lld in the store but has "
                                  "another shape in the model %s; expected a store made from "
                                  "this model", store->path, store->names[i],
                                  (long long)store->rows[i], (long long)store->cols[i],
                                  model_path);
        else
            hashes[i] = t2_decomposition_tensor_hash(t);
        targets.items[i].name = store->names[i];
    }
    if (status == 0 && t2_decomposition_source_fingerprint(&targets, hashes) !=
                           store->source_fingerprint)
        status = t2_error_set(err, "%s: was made from other weights than the model %s "
                              "(source fingerprints differ); expected a store made from this "
                              "model: run t2 decompose again", store->path, model_path);
    t2_free(hashes);
    t2_free(targets.items);
    return status;
}

void t2_decomposition_store_close(t2_decomposition_store *store) {
    t2_safetensors_close(&store->st);
    for (int i = 0; i < store->n && store->names != NULL; i++) t2_free(store->names[i]);
    t2_free(store->names);
    t2_free(store->rows);
    t2_free(store->cols);
    t2_free(store->ranks);
    t2_free(store->u);
    t2_free(store->s);
    t2_free(store->v);
    t2_free(store->options);
    t2_free(store->model_path);
    t2_free(store->path);
    memset(store, 0, sizeof *store);
}
