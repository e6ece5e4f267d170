/* Inputs and checks for the `t2 inspect` / `t2 export` tests of tests/expert.cmake:
 *   expert_cli make DIR
 *     writes DIR/svf.expert and DIR/lora.expert (values chosen so the statistics `t2 inspect`
 *     prints are known: see tests/expert.cmake), DIR/truncated.expert (svf.expert minus its
 *     last 5 bytes), DIR/corrupt.expert (one byte of svf.expert changed) and DIR/garbage
 *     (a line of text);
 *   expert_cli check-export EXPERT FILE
 *     checks that the safetensors FILE `t2 export` wrote holds exactly the expert's
 *     parameters under the documented keys and shapes, bitwise, and its metadata.
 * The experts come from tests/bundle_fixture.c. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/alloc.h"
#include "base/file.h"
#include "bundle_fixture.h"
#include "check.h"
#include "model/safetensors.h"
#include "rl/expert.h"

static void write_file(const char *dir, const char *name, const void *bytes, size_t len) {
    char *path = t2_bundle_fixture_path(dir, name);
    t2_error err = {{0}};
    CHECK(t2_file_write_atomic(path, bytes, len, &err) == 0, "%s", err.msg);
    t2_free(path);
}

static void make_inputs(const char *dir) {
    mkdir(dir, 0755);
    t2_error err = {{0}};
    t2_expert e;
    /* svf: target 0 has mean 1.25, min 0.5, max 2; target 1 mean 1, min -1, max 4. */
    const float svf_values[T2_BUNDLE_FIXTURE_SVF_PARAMS] = {0.5f, 1.0f, 1.5f, 2.0f,
                                                            -1.0f, 0.0f, 4.0f};
    t2_bundle_fixture_svf(&e, "math", "0123456789abcdef", svf_values);
    char *path = t2_bundle_fixture_path(dir, "svf.expert");
    CHECK(t2_expert_write(&e, path, &err) == 0, "%s", err.msg);
    t2_free(path);
    unsigned char *bytes;
    size_t len;
    t2_expert_pack(&e, &bytes, &len);
    write_file(dir, "truncated.expert", bytes, len - 5);
    bytes[len / 2] ^= 0x04;
    write_file(dir, "corrupt.expert", bytes, len);
    t2_free(bytes);
    t2_expert_free(&e);

    /* lora, rank 2: [4, 6] has 2 (4 + 6) = 20 parameters, [8, 8] has 32. */
    const char *const lora_tensors[2] = {"model.layers.0.mlp.up_proj.weight",
                                         "model.layers.0.self_attn.q_proj.weight"};
    const int64_t lora_rows[2] = {4, 8}, lora_cols[2] = {6, 8};
    float lora_values[52];
    for (int i = 0; i < 52; i++) lora_values[i] = 0.01f * (float)i - 0.2f;
    t2_adapter_options lora = {.method = T2_ADAPTER_LORA, .lora_rank = 2, .lora_alpha = 16};
    t2_bundle_fixture_expert(&e, "math", "0123456789abcdef", &lora, "", 2, lora_tensors,
                             lora_rows, lora_cols, lora_values);
    path = t2_bundle_fixture_path(dir, "lora.expert");
    CHECK(t2_expert_write(&e, path, &err) == 0, "%s", err.msg);
    t2_free(path);
    t2_expert_free(&e);

    const char *text = "hello, this is not an expert\n";
    write_file(dir, "garbage", text, strlen(text));
}

/* Tensor `key` of st is F32 with the given shape and holds values exactly. */
static void check_tensor(const t2_safetensors *st, const char *key, int n_dims,
                         const int64_t *shape, const float *values) {
    const t2_tensor_info *t = t2_safetensors_find(st, key);
    CHECK(t != NULL, "no tensor '%s' in the export", key);
    if (t == NULL) return;
    int same_shape = t->n_dims == n_dims && t->dtype == T2_DTYPE_F32;
    for (int d = 0; same_shape && d < n_dims; d++) same_shape = t->shape[d] == shape[d];
    CHECK(same_shape, "tensor '%s' has the wrong dtype or shape", key);
    if (!same_shape) return;
    float *got = t2_alloc_array((size_t)t->n_elements, sizeof *got);
    t2_error err = {{0}};
    CHECK(t2_safetensors_read_f32(t, 0, t->n_elements, got, &err) == 0, "%s", err.msg);
    t2_check_close(key, got, values, t->n_elements, 0, 0);
    t2_free(got);
}

static void check_metadata(const t2_safetensors *st, const char *key, const char *want) {
    const char *got = t2_safetensors_metadata(st, key);
    CHECK(got != NULL && strcmp(got, want) == 0, "metadata %s = '%s'; expected '%s'", key,
          got != NULL ? got : "(missing)", want);
}

static void check_export(const char *expert_path, const char *file) {
    t2_expert e;
    t2_safetensors st;
    memset(&st, 0, sizeof st);
    t2_error err = {{0}};
    if (t2_expert_read(&e, expert_path, &err) != 0 || t2_safetensors_open(&st, file, &err) != 0) {
        CHECK(0, "%s", err.msg);
        t2_safetensors_close(&st);
        t2_expert_free(&e);
        return;
    }
    int lora = e.options.method == T2_ADAPTER_LORA;
    CHECK(st.n_tensors == (lora ? 2 : 1) * e.n, "%d tensors; expected %d", st.n_tensors,
          (lora ? 2 : 1) * e.n);
    for (int i = 0; i < e.n; i++) {
        const float *values = e.params + e.offsets[i];
        if (!lora) {
            check_tensor(&st, e.tensors[i], 1, &e.lengths[i], values);
            continue;
        }
        int64_t k = e.options.lora_rank;
        int64_t a_shape[2] = {k, e.cols[i]}, b_shape[2] = {e.rows[i], k};
        char key[512];
        size_t stem = strlen(e.tensors[i]) - strlen(".weight");
        snprintf(key, sizeof key, "%.*s.lora_A.weight", (int)stem, e.tensors[i]);
        check_tensor(&st, key, 2, a_shape, values);
        snprintf(key, sizeof key, "%.*s.lora_B.weight", (int)stem, e.tensors[i]);
        check_tensor(&st, key, 2, b_shape, values + k * e.cols[i]);
    }
    char options[256];
    check_metadata(&st, "name", e.name);
    check_metadata(&st, "task", e.task);
    check_metadata(&st, "method", lora ? "lora" : "svf");
    check_metadata(&st, "options", t2_expert_options_string(&e.options, options, sizeof options));
    check_metadata(&st, "model_fingerprint", e.model_fingerprint);
    printf("%s matches %s: %d tensors\n", file, expert_path, st.n_tensors);
    t2_safetensors_close(&st);
    t2_expert_free(&e);
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "make") == 0)
        make_inputs(argv[2]);
    else if (argc == 4 && strcmp(argv[1], "check-export") == 0)
        check_export(argv[2], argv[3]);
    else {
        fprintf(stderr, "usage: expert_cli make DIR | expert_cli check-export EXPERT FILE\n");
        return 2;
    }
    return t2_check_exit_code();
}
