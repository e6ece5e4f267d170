/* Test fixture: rewrites a single-file F32 model as a sharded folder,
 *   test_decompose_shards SRC_DIR DST_DIR
 * with its tensors dealt round-robin (in name order) over three shards
 * model-0000K-of-00003.safetensors and a model.safetensors.index.json naming them, so that
 * consecutive layers' matrices live in different files. The tensors keep their names, dtype
 * and bytes: a decomposition of DST_DIR has the fingerprint of one of SRC_DIR. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/alloc.h"
#include "base/file.h"
#include "check.h"
#include "model/safetensors.h"
#include "model/model_dir.h"

enum { SHARDS = 3 };

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: test_decompose_shards SRC_DIR DST_DIR\n");
        return 2;
    }
    const char *src = argv[1], *dst = argv[2];
    mkdir(dst, 0777);
    t2_safetensors st;
    t2_error err = {{0}};
    if (t2_safetensors_open(&st, src, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    t2_safetensors_writer shards[SHARDS];
    char names[SHARDS][64];
    for (int k = 0; k < SHARDS; k++) {
        t2_safetensors_writer_init(&shards[k]);
        snprintf(names[k], sizeof names[k], "model-%05d-of-%05d.safetensors", k + 1, SHARDS);
    }
    float **data = t2_alloc_array((size_t)st.n_tensors, sizeof *data);
    size_t cap = 1024 + 64 * (size_t)st.n_tensors, used = 0;
    char *index = t2_alloc(cap);
    used += (size_t)snprintf(index, cap, "{\n  \"metadata\": {},\n  \"weight_map\": {");
    for (int i = 0; i < st.n_tensors; i++) {
        const t2_tensor_info *t = &st.tensors[i];
        CHECK(t->dtype == T2_DTYPE_F32, "%s is %s; expected F32 so bytes survive", t->name,
              t2_dtype_name(t->dtype));
        data[i] = t2_alloc((size_t)t->n_elements * sizeof(float));
        CHECK(t2_safetensors_read_f32(t, 0, t->n_elements, data[i], &err) == 0, "%s", err.msg);
        t2_safetensors_writer_add(&shards[i % SHARDS], t->name, T2_DTYPE_F32, t->n_dims, t->shape,
                                  data[i]);
        size_t need = strlen(t->name) + 64;
        if (used + need >= cap) {
            cap = 2 * (cap + need);
            index = t2_realloc(index, cap);
        }
        used += (size_t)snprintf(index + used, cap - used, "%s\n    \"%s\": \"%s\"", i ? "," : "",
                                 t->name, names[i % SHARDS]);
    }
    snprintf(index + used, cap - used, "\n  }\n}\n");
    for (int k = 0; k < SHARDS; k++) {
        char *path = t2_model_dir_path(dst, names[k]);
        CHECK(t2_safetensors_writer_write(&shards[k], path, &err) == 0, "%s", err.msg);
        t2_safetensors_writer_free(&shards[k]);
        t2_free(path);
    }
    char *index_path = t2_model_dir_path(dst, "model.safetensors.index.json");
    CHECK(t2_file_write_atomic(index_path, index, strlen(index), &err) == 0, "%s", err.msg);
    for (int i = 0; i < st.n_tensors; i++) t2_free(data[i]);
    t2_free(data);
    t2_free(index);
    t2_free(index_path);
    t2_safetensors_close(&st);
    return t2_check_exit_code();
}
