/* Fuzz target: the safetensors reader (model/safetensors.c) and the readers built on it.
 * Every input is tried three ways:
 *   - as a .safetensors file: header length, JSON header, dtypes, shapes, offsets, overlaps,
 *     __metadata__; every tensor's bytes must lie inside the file and match its shape, it
 *     must be found by its name, and its first and last elements are read as float;
 *   - as the same file opened as a decomposition store (model/decomposition_store_read.c:
 *     format, version, target list, factor shapes), whose factors must have the shapes of
 *     its targets;
 *   - as model.safetensors.index.json in a folder that also holds two fixed shards
 *     (shard-1.safetensors: "a" F32 [2], "b" BF16 [2, 2]; shard-2.safetensors: "c" F16 [3]):
 *     weight_map, shard names, every tensor in the shard it is listed in, none twice.
 * Seeds: tests/fuzz/corpus/safetensors/ (tests/fuzz/make_seeds.c). */
#include <string.h>

#include "base/alloc.h"
#include "harness.h"
#include "model/decomposition_store.h"
#include "model/safetensors.h"

static char *file_path, *index_dir, *index_path;

static void write_shard(const char *name, int n, const char *const *names,
                        const t2_dtype *dtypes, const int *n_dims, const int64_t shapes[][2]) {
    static const float values[8] = {1.0f, -2.0f, 0.5f, 3.0f, -0.25f, 8.0f, 0.0f, 1e-3f};
    t2_safetensors_writer w;
    t2_safetensors_writer_init(&w);
    for (int i = 0; i < n; i++)
        t2_safetensors_writer_add(&w, names[i], dtypes[i], n_dims[i], shapes[i], values);
    char *path = t2_strdup_printf("%s/%s", index_dir, name);
    t2_error err = {{0}};
    t2_fuzz_require(t2_safetensors_writer_write(&w, path, &err) == 0, err.msg);
    t2_free(path);
    t2_safetensors_writer_free(&w);
}

static void setup(void) {
    file_path = t2_fuzz_path("one.safetensors");
    index_dir = t2_fuzz_path("sharded");
    index_path = t2_strdup_printf("%s/model.safetensors.index.json", index_dir);
    t2_fuzz_mkdir(index_dir);
    const char *names1[2] = {"a", "b"}, *names2[1] = {"c"};
    const t2_dtype dtypes1[2] = {T2_DTYPE_F32, T2_DTYPE_BF16}, dtypes2[1] = {T2_DTYPE_F16};
    const int dims1[2] = {1, 2}, dims2[1] = {1};
    const int64_t shapes1[2][2] = {{2, 0}, {2, 2}}, shapes2[1][2] = {{3, 0}};
    write_shard("shard-1.safetensors", 2, names1, dtypes1, dims1, shapes1);
    write_shard("shard-2.safetensors", 1, names2, dtypes2, dims2, shapes2);
}

/* The reader's promises, checked directly: the mapping is not ASan-instrumented, so an
 * offset check gone wrong would read past the file unnoticed. */
static void check_tensor(const t2_safetensors *st, const t2_tensor_info *t) {
    t2_fuzz_require(t->file_index >= 0 && t->file_index < st->n_files, "tensor of no file");
    const unsigned char *base = st->maps[t->file_index];
    size_t map_size = st->map_sizes[t->file_index];
    t2_fuzz_require(t->data >= base && t->n_bytes <= map_size &&
                    (size_t)(t->data - base) <= map_size - t->n_bytes,
                    "tensor bytes outside the file");
    t2_fuzz_require((uint64_t)t->n_elements * t2_dtype_size(t->dtype) == t->n_bytes,
                    "tensor bytes differ from its shape");
}

/* Checks every tensor, looks each up, reads its first and last elements as float. */
static void use(const t2_safetensors *st) {
    float out[16];
    char shape[128];
    t2_error err = {{0}};
    for (int i = 0; i < st->n_tensors; i++) {
        const t2_tensor_info *t = &st->tensors[i];
        check_tensor(st, t);
        t2_fuzz_require(t2_safetensors_find(st, t->name) == t, "tensor not found by name");
        int64_t count = t->n_elements < 16 ? t->n_elements : 16;
        t2_safetensors_read_f32(t, 0, count, out, &err);
        t2_safetensors_read_f32(t, t->n_elements - count, count, out, &err);
        t2_safetensors_shape_string(shape, sizeof shape, t->n_dims, t->shape);
    }
    t2_safetensors_metadata(st, "format");
}

/* A store's factors have the shapes it records: u rows x r, s r, v cols x r, all F32. */
static void use_store(const t2_decomposition_store *store) {
    for (int i = 0; i < store->n; i++) {
        t2_fuzz_require(t2_decomposition_store_find(store, store->names[i]) == i,
                        "store target not found by name");
        const t2_tensor_info *u = store->u[i], *s = store->s[i], *v = store->v[i];
        check_tensor(&store->st, u);
        check_tensor(&store->st, s);
        check_tensor(&store->st, v);
        int64_t r = store->ranks[i];
        t2_fuzz_require(u->dtype == T2_DTYPE_F32 && s->dtype == T2_DTYPE_F32 &&
                        v->dtype == T2_DTYPE_F32 && u->n_elements == store->rows[i] * r &&
                        s->n_elements == r && v->n_elements == store->cols[i] * r,
                        "store factors differ from the target's shape");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (file_path == NULL) setup();
    t2_error err = {{0}};

    t2_fuzz_write(file_path, data, size);
    t2_safetensors st;
    if (t2_safetensors_open(&st, file_path, &err) == 0) use(&st);
    t2_safetensors_close(&st);

    t2_decomposition_store store;
    if (t2_decomposition_store_open(&store, file_path, &err) == 0) use_store(&store);
    t2_decomposition_store_close(&store);

    t2_fuzz_write(index_path, data, size);
    if (t2_safetensors_open(&st, index_dir, &err) == 0) use(&st);
    t2_safetensors_close(&st);
    return 0;
}
