/* The decomposition store on its own (no MPI): XXH64 against the specification's values,
 * the streaming writer (header first, factors at their offsets in any order, commit) read
 * back exactly, the validation of broken stores (truncated, wrong format, missing factor,
 * wrong shape, edited fingerprint), the model check for a loader, and the writer's
 * failure paths (unwritable folder, discard). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/file.h"
#include "check.h"
#include "model/decomposition_store.h"
#include "model/model_dir.h"

static void check_xxh64(void) {
    static const struct {
        const char *text;
        uint64_t seed, want;
    } vectors[] = {{"", 0, 0xef46db3751d8e999ull},
                   {"a", 0, 0xd24ec4f1a98c6e5bull},
                   {"abc", 0, 0x44bc2cf5ad770999ull},
                   {"Nobody inspects the spammish repetition", 0, 0xfbcea83c8a378bf1ull}};
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        uint64_t got =
            t2_decomposition_xxh64(vectors[i].text, strlen(vectors[i].text), vectors[i].seed);
        CHECK(got == vectors[i].want, "XXH64('%s') = %016llx; expected %016llx", vectors[i].text,
              (unsigned long long)got, (unsigned long long)vectors[i].want);
    }
    unsigned char bytes[100];
    for (int i = 0; i < 100; i++) bytes[i] = (unsigned char)i;
    CHECK(t2_decomposition_xxh64(bytes, 100, 0) == 0x6ac1e58032166597ull, "XXH64(0..99)");
    CHECK(t2_decomposition_xxh64(bytes, 100, 12345) == 0x028ba1ae2de4de27ull,
          "XXH64(0..99, seed 12345)");
}

/* A small "model": two matrices (3 x 5 and 4 x 2) in a safetensors file. */
static void write_model(const char *path, float scale) {
    float a[15], b[8];
    for (int i = 0; i < 15; i++) a[i] = scale * (float)(i + 1);
    for (int i = 0; i < 8; i++) b[i] = (float)(i - 3);
    t2_safetensors_writer w;
    t2_safetensors_writer_init(&w);
    t2_safetensors_writer_add(&w, "a.weight", T2_DTYPE_F32, 2, (int64_t[]){3, 5}, a);
    t2_safetensors_writer_add(&w, "b.weight", T2_DTYPE_BF16, 2, (int64_t[]){4, 2}, b);
    t2_error err = {{0}};
    CHECK(t2_safetensors_writer_write(&w, path, &err) == 0, "%s", err.msg);
    t2_safetensors_writer_free(&w);
}

/* Writes a store for the model's targets with factor values derived from their offsets,
 * putting the factors in reverse order (as ranks finishing at different times would). */
static uint64_t write_store(const char *store_path, const t2_target_list *targets) {
    uint64_t *hashes = t2_alloc_array((size_t)targets->n, sizeof *hashes);
    for (int i = 0; i < targets->n; i++)
        hashes[i] = t2_decomposition_tensor_hash(targets->items[i].tensor);
    uint64_t source = t2_decomposition_source_fingerprint(targets, hashes);
    t2_decomposition_layout layout;
    t2_decomposition_layout_init(&layout, targets, source, "precision=double", "m");
    char *temp = t2_decomposition_temp_path(store_path, 42);
    t2_decomposition_writer w;
    t2_error err = {{0}};
    CHECK(t2_decomposition_writer_create(&w, store_path, temp, &layout, &err) == 0, "%s", err.msg);
    float values[64];
    for (int i = targets->n - 1; i >= 0; i--) {
        const t2_decomposition_slot *s = &layout.slots[i];
        int64_t offsets[3] = {s->v_offset, s->s_offset, s->u_offset};
        int64_t counts[3] = {s->cols * s->rank, s->rank, s->rows * s->rank};
        for (int f = 0; f < 3; f++) {
            for (int64_t k = 0; k < counts[f]; k++) values[k] = (float)(offsets[f] + k);
            CHECK(t2_decomposition_writer_put(&w, offsets[f], values, counts[f], &err) == 0, "%s",
                  err.msg);
        }
    }
    CHECK(t2_decomposition_writer_commit(&w, &err) == 0, "%s", err.msg);
    CHECK(access(temp, F_OK) != 0, "the temporary file %s is left after the commit", temp);
    t2_free(temp);
    t2_decomposition_layout_free(&layout);
    t2_free(hashes);
    return source;
}

static void expect_open_error(const char *path, const char *fragment) {
    t2_decomposition_store store;
    t2_error err = {{0}};
    int status = t2_decomposition_store_open(&store, path, &err);
    CHECK(status != 0 && strstr(err.msg, fragment) != NULL && strstr(err.msg, path) != NULL,
          "opening %s: status %d, message '%s'; expected an error naming the file and '%s'",
          path, status, err.msg, fragment);
    t2_decomposition_store_close(&store);
}

/* Copies src to dst (only its first `keep` bytes when keep >= 0), optionally replacing one
 * string by another of the same length. */
static void copy_edited(const char *src, const char *dst, long keep, const char *from,
                        const char *to) {
    char *data = NULL;
    size_t len = 0;
    t2_error err = {{0}};
    CHECK(t2_file_read(src, &data, &len, &err) == 0, "%s", err.msg);
    if (from != NULL) {
        char *at = len > 8 ? strstr(data + 8, from) : NULL; /* in the JSON header */
        CHECK(at != NULL && strlen(from) == strlen(to), "edit '%s'", from);
        if (at != NULL) memcpy(at, to, strlen(to));
    }
    size_t n = keep >= 0 && (size_t)keep < len ? (size_t)keep : len;
    CHECK(t2_file_write_atomic(dst, data, n, &err) == 0, "%s", err.msg);
    t2_free(data);
}

int main(void) {
    check_xxh64();
    char *dir = t2_check_temp_dir("decompose_store");
    char *model = t2_model_dir_path(dir, "model.safetensors"), *other = t2_model_dir_path(dir, "other.safetensors");
    char *store_path = t2_model_dir_path(dir, "store.safetensors"), *bad = t2_model_dir_path(dir, "bad.safetensors");
    write_model(model, 1.0f);
    write_model(other, 2.0f);
    t2_safetensors st, st_other;
    t2_error err = {{0}};
    CHECK(t2_safetensors_open(&st, model, &err) == 0, "%s", err.msg);
    CHECK(t2_safetensors_open(&st_other, other, &err) == 0, "%s", err.msg);
    t2_target_list targets;
    t2_target_selector all = {T2_TARGET_SET_ALL, "*.weight", NULL};
    CHECK(t2_targets_select(&targets, &st, model, &all, &err) == 0 && targets.n == 2, "%s",
          err.msg);
    uint64_t source = write_store(store_path, &targets);

    /* Read back: shapes, metadata, and every value where the writer put it. */
    t2_decomposition_store store;
    CHECK(t2_decomposition_store_open(&store, store_path, &err) == 0, "%s", err.msg);
    CHECK(store.n == 2 && store.source_fingerprint == source &&
              strcmp(store.options, "precision=double") == 0,
          "store: %d targets, options '%s'", store.n, store.options ? store.options : "");
    int b = t2_decomposition_store_find(&store, "b.weight");
    CHECK(b == 1 && store.rows[b] == 4 && store.cols[b] == 2 && store.ranks[b] == 2,
          "b.weight: index %d", b);
    CHECK(t2_decomposition_store_find(&store, "c.weight") == -1, "found a target never written");
    float u[8], s[2], v[4];
    CHECK(t2_decomposition_store_read(&store, b, u, s, v, &err) == 0, "%s", err.msg);
    CHECK(s[1] - s[0] == 1.0f && u[7] - u[0] == 7.0f && v[3] - v[0] == 3.0f &&
              (int64_t)u[0] - (int64_t)s[0] == 2 * 4,
          "factor values not where they were written: s %g %g, u %g..%g, v %g..%g", s[0], s[1],
          u[0], u[7], v[0], v[3]);
    CHECK(t2_decomposition_store_check_model(&store, &st, model, &err) == 0, "%s", err.msg);
    int status = t2_decomposition_store_check_model(&store, &st_other, other, &err);
    CHECK(status != 0 && strstr(err.msg, "other weights") != NULL,
          "a store of other weights was accepted for a model: '%s'", err.msg);
    t2_decomposition_store_close(&store);

    /* Broken stores. */
    struct stat sb;
    CHECK(stat(store_path, &sb) == 0, "stat %s", store_path);
    copy_edited(store_path, bad, (long)sb.st_size - 4, NULL, NULL);
    expect_open_error(bad, "lie outside the data buffer");
    copy_edited(store_path, bad, 5, NULL, NULL);
    expect_open_error(bad, "truncated");
    copy_edited(store_path, bad, -1, "t2-decomposition", "t3-decomposition");
    expect_open_error(bad, "expected \"t2-decomposition\"");
    copy_edited(store_path, bad, -1, "\"a.weight.V\"", "\"a.weight.X\"");
    expect_open_error(bad, "tensor 'a.weight.V' is missing");
    copy_edited(store_path, bad, -1, "precision=double", "precision=floats");
    expect_open_error(bad, "fingerprint does not match");
    expect_open_error(dir, "is a folder");
    copy_edited(model, bad, -1, NULL, NULL);
    expect_open_error(bad, "metadata 'format' is missing");

    /* The writer: an unwritable folder fails with the path; discard leaves nothing. */
    t2_decomposition_layout layout;
    t2_decomposition_layout_init(&layout, &targets, source, "precision=double", "m");
    t2_decomposition_writer w;
    status = t2_decomposition_writer_create(&w, "/nonexistent/dir/s.safetensors",
                                            "/nonexistent/dir/s.safetensors.tmp.1", &layout, &err);
    CHECK(status != 0 && strstr(err.msg, "/nonexistent/dir/s.safetensors: cannot write") != NULL,
          "unwritable: '%s'", err.msg);
    char *temp = t2_decomposition_temp_path(bad, 7);
    CHECK(t2_decomposition_writer_create(&w, bad, temp, &layout, &err) == 0, "%s", err.msg);
    t2_decomposition_writer_discard(&w);
    CHECK(access(temp, F_OK) != 0, "discard left %s", temp);
    t2_free(temp);
    t2_decomposition_layout_free(&layout);

    t2_target_list_free(&targets);
    t2_safetensors_close(&st);
    t2_safetensors_close(&st_other);
    t2_free(model);
    t2_free(other);
    t2_free(store_path);
    t2_free(bad);
    CHECK(t2_check_remove_tree(dir) == 0, "cannot remove %s", dir);
    t2_free(dir);
    return t2_check_exit_code();
}
