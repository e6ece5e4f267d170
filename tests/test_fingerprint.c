/* model/fingerprint.h: the base-model fingerprint of expert files.
 *   - the same model written twice gives the same 16 hex digits, from the folder and from
 *     the opened safetensors alike;
 *   - one changed byte of one tensor, or the same values stored as F16, gives another;
 *   - the same tensors split over two shards with an index give the same fingerprint;
 *   - a folder without weights is an error with the reader's message. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/file.h"
#include "check.h"
#include "model/fingerprint.h"
#include "model_fixture.h"
#include "model/model_dir.h"

static void fingerprint_of(const char *dir, char out[T2_FINGERPRINT_CHARS]) {
    t2_error err = {{0}};
    CHECK(t2_model_fingerprint_dir(dir, out, &err) == 0, "%s", err.msg);
    size_t n = strlen(out), hex = strspn(out, "0123456789abcdef");
    CHECK(n == 16 && hex == 16, "%s: fingerprint '%s'; expected 16 lower-case hex digits", dir,
          out);
}

/* dir/model.safetensors with w's tensors stored as dtype. */
static void write_weights(const char *dir, const t2_model_config *cfg, const t2_model_weights *w,
                          t2_dtype dtype) {
    mkdir(dir, 0755);
    t2_safetensors_writer writer;
    t2_safetensors_writer_init(&writer);
    t2_model_weights_add_to_writer(w, cfg, &writer, dtype);
    char *path = t2_model_dir_path(dir, "model.safetensors");
    t2_error err = {{0}};
    CHECK(t2_safetensors_writer_write(&writer, path, &err) == 0, "%s", err.msg);
    t2_safetensors_writer_free(&writer);
    t2_free(path);
}

/* dst: src's tensors dealt round-robin (in name order) over two shards, with an index. */
static void write_sharded(const char *src, const char *dst) {
    mkdir(dst, 0755);
    t2_safetensors st;
    t2_error err = {{0}};
    CHECK(t2_safetensors_open(&st, src, &err) == 0, "%s", err.msg);
    t2_safetensors_writer shards[2];
    const char *shard_names[2] = {"model-00001-of-00002.safetensors",
                                  "model-00002-of-00002.safetensors"};
    float **data = t2_alloc_array((size_t)st.n_tensors, sizeof *data);
    size_t cap = 256 + 128 * (size_t)st.n_tensors, used = 0;
    char *index = t2_alloc(cap);
    used += (size_t)snprintf(index, cap, "{\"metadata\": {}, \"weight_map\": {");
    for (int k = 0; k < 2; k++) t2_safetensors_writer_init(&shards[k]);
    for (int i = 0; i < st.n_tensors; i++) {
        const t2_tensor_info *t = &st.tensors[i];
        data[i] = t2_alloc_array((size_t)t->n_elements, sizeof(float));
        CHECK(t2_safetensors_read_f32(t, 0, t->n_elements, data[i], &err) == 0, "%s", err.msg);
        t2_safetensors_writer_add(&shards[i % 2], t->name, T2_DTYPE_F32, t->n_dims, t->shape,
                                  data[i]);
        used += (size_t)snprintf(index + used, cap - used, "%s\"%s\": \"%s\"", i ? ", " : "",
                                 t->name, shard_names[i % 2]);
    }
    snprintf(index + used, cap - used, "}}\n");
    for (int k = 0; k < 2; k++) {
        char *path = t2_model_dir_path(dst, shard_names[k]);
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
}

/* dst/model.safetensors: src's with one byte of the last tensor's data changed. */
static void write_changed_byte(const char *src, const char *dst) {
    mkdir(dst, 0755);
    char *in = t2_model_dir_path(src, "model.safetensors"), *out = t2_model_dir_path(dst, "model.safetensors");
    char *bytes;
    size_t len;
    t2_error err = {{0}};
    CHECK(t2_file_read(in, &bytes, &len, &err) == 0, "%s", err.msg);
    bytes[len - 2] ^= 0x01;
    CHECK(t2_file_write_atomic(out, bytes, len, &err) == 0, "%s", err.msg);
    t2_free(bytes);
    t2_free(in);
    t2_free(out);
}

static void remove_files(const char *dir, const char *const *files, int n) {
    for (int i = 0; i < n; i++) {
        char *path = t2_model_dir_path(dir, files[i]);
        unlink(path);
        t2_free(path);
    }
    rmdir(dir);
}

int main(void) {
    char *root = t2_check_temp_dir("fingerprint");
    char *a = t2_model_dir_path(root, "a"), *b = t2_model_dir_path(root, "b"), *sharded = t2_model_dir_path(root, "sharded"),
         *changed = t2_model_dir_path(root, "changed"), *half = t2_model_dir_path(root, "half"), *none = t2_model_dir_path(root, "none");
    t2_model_config cfg;
    t2_model_weights w;
    CHECK(t2_model_fixture_config(&cfg, "llama") == 0, "no llama fixture");
    t2_model_fixture_weights(&w, &cfg, "llama");
    write_weights(a, &cfg, &w, T2_DTYPE_F32);
    write_weights(b, &cfg, &w, T2_DTYPE_F32);
    write_weights(half, &cfg, &w, T2_DTYPE_F16);
    write_sharded(a, sharded);
    write_changed_byte(a, changed);

    char fa[T2_FINGERPRINT_CHARS], fb[T2_FINGERPRINT_CHARS], fs[T2_FINGERPRINT_CHARS],
        fc[T2_FINGERPRINT_CHARS], fh[T2_FINGERPRINT_CHARS], fst[T2_FINGERPRINT_CHARS];
    fingerprint_of(a, fa);
    fingerprint_of(b, fb);
    fingerprint_of(sharded, fs);
    fingerprint_of(changed, fc);
    fingerprint_of(half, fh);
    CHECK(strcmp(fa, fb) == 0, "same model: %s and %s", fa, fb);
    CHECK(strcmp(fa, fs) == 0, "sharded copy: %s; expected %s as the single file", fs, fa);
    CHECK(strcmp(fa, fc) != 0, "one changed byte kept fingerprint %s", fc);
    CHECK(strcmp(fa, fh) != 0, "F16 copy kept fingerprint %s", fh);

    t2_safetensors st;
    t2_error err = {{0}};
    char *file = t2_model_dir_path(a, "model.safetensors");
    CHECK(t2_safetensors_open(&st, file, &err) == 0, "%s", err.msg);
    t2_model_fingerprint(&st, fst);
    CHECK(strcmp(fa, fst) == 0, "opened file: %s; expected %s as its folder", fst, fa);
    t2_safetensors_close(&st);
    t2_free(file);

    mkdir(none, 0755);
    char fn[T2_FINGERPRINT_CHARS] = "x";
    CHECK(t2_model_fingerprint_dir(none, fn, &err) != 0, "a folder without weights accepted");
    CHECK(strstr(err.msg, "none: no model.safetensors") != NULL && fn[0] == '\0',
          "error '%s', out '%s'", err.msg, fn);
    printf("fingerprint %s (single file and shards), %s (one byte changed), %s (F16)\n", fa, fc,
           fh);

    const char *const single[] = {"model.safetensors"};
    const char *const shards[] = {"model-00001-of-00002.safetensors",
                                  "model-00002-of-00002.safetensors",
                                  "model.safetensors.index.json"};
    remove_files(a, single, 1);
    remove_files(b, single, 1);
    remove_files(half, single, 1);
    remove_files(changed, single, 1);
    remove_files(sharded, shards, 3);
    rmdir(none);
    rmdir(root);
    t2_model_weights_free(&w);
    t2_free(a);
    t2_free(b);
    t2_free(sharded);
    t2_free(changed);
    t2_free(half);
    t2_free(none);
    t2_free(root);
    return t2_check_exit_code();
}
