/* Inputs and checks of the PEFT adapter tests (tests/peft.cmake, model/peft.h):
 *   make DIR
 *     writes DIR/lora.expert (rank 2, alpha 16: up_proj and q_proj of layer 0, a product of
 *     kinds and layers), DIR/scattered.expert (rank 3, alpha 5.5: q_proj of layer 0, v_proj of
 *     layer 1, not a product), DIR/svf.expert, a hand-written PEFT folder DIR/foreign (no t2
 *     metadata) and bad folders, each wrong in one way: no-config, no-weights, bad-json,
 *     bad-type, bad-shape, no-b, rslora, bad-key, other-module, untargeted.
 *   check EXPERT PEFT_DIR BACK_EXPERT
 *     checks the folder `t2 export --format peft` wrote from EXPERT against the expert (every
 *     tensor's name, shape and bits; each config value, expected by hand from the fixture) and
 *     that BACK_EXPERT (`--format expert` of the folder) equals EXPERT bit for bit. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/alloc.h"
#include "base/error.h"
#include "base/file.h"
#include "bundle_fixture.h"
#include "check.h"
#include "model/safetensors.h"
#include "rl/expert.h"

static void write_text(const char *dir, const char *name, const char *text) {
    char *path = t2_bundle_fixture_path(dir, name);
    t2_error err = {{0}};
    CHECK(t2_file_write_atomic(path, text, strlen(text), &err) == 0, "%s", err.msg);
    t2_free(path);
}

static void write_expert(const char *dir, const char *name, const t2_expert *e) {
    char *path = t2_bundle_fixture_path(dir, name);
    t2_error err = {{0}};
    CHECK(t2_expert_write(e, path, &err) == 0, "%s", err.msg);
    t2_free(path);
}

/* Values with many distinct bit patterns: signs, tiny and large magnitudes. */
static void fill(float *x, int n, float seed) {
    for (int i = 0; i < n; i++) x[i] = (seed + (float)i * 0.37f) * (i % 3 == 0 ? -1e-3f : 1.7f);
}

static const char good_config[] =
    "{\"peft_type\": \"LORA\", \"task_type\": \"CAUSAL_LM\", \"r\": 2, \"lora_alpha\": 16,\n"
    " \"lora_dropout\": 0.05, \"target_modules\": [\"q_proj\", \"up_proj\"], \"bias\": \"none\",\n"
    " \"use_rslora\": false, \"fan_in_fan_out\": false, \"base_model_name_or_path\": \"tiny\"}\n";

/* A folder dir/sub with config (NULL: none) and the LoRA pairs of up_proj [4, 6] and q_proj
 * [8, 8] at rank r_file, leaving out key skip and adding key extra [2, 2] when not NULL. */
static void write_folder(const char *dir, const char *sub, const char *config, int r_file,
                         const char *skip, const char *extra, int weights) {
    char *folder = t2_bundle_fixture_path(dir, sub);
    mkdir(folder, 0777);
    if (config != NULL) write_text(folder, "adapter_config.json", config);
    static const char *const modules[2] = {"model.layers.0.mlp.up_proj",
                                           "model.layers.0.self_attn.q_proj"};
    static const int64_t rows[2] = {4, 8}, cols[2] = {6, 8};
    static float values[256];
    fill(values, 256, 0.25f);
    t2_safetensors_writer w;
    t2_safetensors_writer_init(&w);
    char keys[4][128];
    for (int i = 0; i < 2; i++) {
        int64_t a[2] = {r_file, cols[i]}, b[2] = {rows[i], r_file};
        snprintf(keys[2 * i], sizeof keys[0], "base_model.model.%s.lora_A.weight", modules[i]);
        snprintf(keys[2 * i + 1], sizeof keys[0], "base_model.model.%s.lora_B.weight", modules[i]);
        if (skip == NULL || strcmp(skip, keys[2 * i]) != 0)
            t2_safetensors_writer_add(&w, keys[2 * i], T2_DTYPE_F32, 2, a, values);
        if (skip == NULL || strcmp(skip, keys[2 * i + 1]) != 0)
            t2_safetensors_writer_add(&w, keys[2 * i + 1], T2_DTYPE_F32, 2, b, values + 64);
    }
    int64_t square[2] = {2, 2};
    if (extra != NULL) t2_safetensors_writer_add(&w, extra, T2_DTYPE_F32, 2, square, values);
    t2_safetensors_writer_add_metadata(&w, "format", "pt");
    char *path = t2_bundle_fixture_path(folder, "adapter_model.safetensors");
    t2_error err = {{0}};
    if (weights) CHECK(t2_safetensors_writer_write(&w, path, &err) == 0, "%s", err.msg);
    t2_safetensors_writer_free(&w);
    t2_free(path);
    t2_free(folder);
}

/* config with the text `from` replaced by `to` (heap). */
static char *config_with(const char *from, const char *to) {
    const char *at = strstr(good_config, from);
    CHECK(at != NULL, "'%s' not in the config", from);
    if (at == NULL) return t2_strdup(good_config);
    return t2_strdup_printf("%.*s%s%s", (int)(at - good_config), good_config, to,
                            at + strlen(from));
}

static void make_inputs(const char *dir) {
    mkdir(dir, 0777);
    t2_expert e;
    const char *const product[2] = {"model.layers.0.mlp.up_proj.weight",
                                    "model.layers.0.self_attn.q_proj.weight"};
    const int64_t rows[2] = {4, 8}, cols[2] = {6, 8};
    float values[128];
    fill(values, 128, 0.5f);
    t2_adapter_options lora = {.method = T2_ADAPTER_LORA, .lora_rank = 2, .lora_alpha = 16};
    t2_bundle_fixture_expert(&e, "math", "0123456789abcdef", &lora, "math", 2, product, rows,
                             cols, values);
    write_expert(dir, "lora.expert", &e);
    t2_expert_free(&e);
    const char *const scattered[2] = {"model.layers.0.self_attn.q_proj.weight",
                                      "model.layers.1.self_attn.v_proj.weight"};
    const int64_t s_rows[2] = {8, 4}, s_cols[2] = {8, 8};
    t2_adapter_options lora3 = {.method = T2_ADAPTER_LORA, .lora_rank = 3, .lora_alpha = 5.5f};
    t2_bundle_fixture_expert(&e, "code", "fedcba9876543210", &lora3, "", 2, scattered, s_rows,
                             s_cols, values);
    write_expert(dir, "scattered.expert", &e);
    t2_expert_free(&e);
    const float svf[T2_BUNDLE_FIXTURE_SVF_PARAMS] = {0};
    t2_bundle_fixture_svf(&e, "svf", "0123456789abcdef", svf);
    write_expert(dir, "svf.expert", &e);
    t2_expert_free(&e);

    write_folder(dir, "foreign", good_config, 2, NULL, NULL, 1);
    write_folder(dir, "no-config", NULL, 2, NULL, NULL, 1);
    write_folder(dir, "no-weights", good_config, 2, NULL, NULL, 0);
    write_folder(dir, "bad-json", "{\"peft_type\": \"LORA\", \"r\": \n", 2, NULL, NULL, 1);
    char *c = config_with("\"LORA\"", "\"IA3\"");
    write_folder(dir, "bad-type", c, 2, NULL, NULL, 1);
    t2_free(c);
    c = config_with("\"r\": 2", "\"r\": 3");
    write_folder(dir, "bad-shape", c, 2, NULL, NULL, 1);
    t2_free(c);
    write_folder(dir, "no-b", good_config, 2,
                 "base_model.model.model.layers.0.mlp.up_proj.lora_B.weight", NULL, 1);
    c = config_with("\"use_rslora\": false", "\"use_rslora\": true");
    write_folder(dir, "rslora", c, 2, NULL, NULL, 1);
    t2_free(c);
    write_folder(dir, "bad-key", good_config, 2, NULL, "base_model.model.lm_head.weight", 1);
    write_folder(dir, "other-module", good_config, 2, NULL,
                 "base_model.model.lm_head.lora_A.weight", 1);
    c = config_with("[\"q_proj\", \"up_proj\"]", "[\"q_proj\"]");
    write_folder(dir, "untargeted", c, 2, NULL, NULL, 1);
    t2_free(c);
    write_text(dir, "text.txt", "not an expert\n");
}

/* ---- check ---- */

static const json_t *get(const json_t *cfg, const char *key) {
    const json_t *v = json_object_get(cfg, key);
    CHECK(v != NULL, "adapter_config.json has no '%s'", key);
    return v;
}

static void check_string(const json_t *cfg, const char *key, const char *want) {
    const json_t *v = get(cfg, key);
    CHECK(v != NULL && json_is_string(v) && strcmp(json_string_value(v), want) == 0,
          "%s: expected \"%s\"", key, want);
}

static void check_false(const json_t *cfg, const char *key) {
    const json_t *v = get(cfg, key);
    CHECK(v != NULL && json_is_false(v), "%s: expected false", key);
}

/* The config values, expected by hand for the two fixtures (make_inputs). */
static void check_config(const char *dir, const t2_expert *e) {
    char *path = t2_bundle_fixture_path(dir, "adapter_config.json");
    json_error_t jerr;
    json_t *cfg = json_load_file(path, 0, &jerr);
    CHECK(cfg != NULL, "%s: %s", path, jerr.text);
    t2_free(path);
    if (cfg == NULL) return;
    int product = strcmp(e->name, "math") == 0;
    check_string(cfg, "peft_type", "LORA");
    check_string(cfg, "task_type", "CAUSAL_LM");
    check_string(cfg, "bias", "none");
    check_false(cfg, "fan_in_fan_out");
    check_false(cfg, "use_rslora");
    check_false(cfg, "use_dora");
    const json_t *r = get(cfg, "r"), *alpha = get(cfg, "lora_alpha");
    CHECK(json_is_integer(r) && json_integer_value(r) == (product ? 2 : 3), "r");
    /* PEFT's scale lora_alpha / r (Python floats, then float32) must be t2's alpha / k. */
    double a = json_number_value(alpha);
    CHECK(a == (product ? 16.0 : 5.5), "lora_alpha %.17g", a);
    CHECK(!product || json_is_integer(alpha), "lora_alpha 16 is not written as an integer");
    CHECK((float)(a / (product ? 2.0 : 3.0)) ==
              e->options.lora_alpha / (float)e->options.lora_rank,
          "scale lora_alpha / r differs from t2's alpha / k");
    const json_t *dropout = get(cfg, "lora_dropout");
    CHECK(json_is_number(dropout) && json_number_value(dropout) == 0.0, "lora_dropout");
    CHECK(json_is_null(get(cfg, "base_model_name_or_path")) ||
              json_is_string(get(cfg, "base_model_name_or_path")),
          "base_model_name_or_path");
    CHECK(json_is_null(get(cfg, "modules_to_save")), "modules_to_save");
    const json_t *tm = get(cfg, "target_modules"), *lt = get(cfg, "layers_to_transform");
    const char *want_product[2] = {"q_proj", "up_proj"};
    const char *want_full[2] = {"model.layers.0.self_attn.q_proj",
                                "model.layers.1.self_attn.v_proj"};
    CHECK(json_is_array(tm) && json_array_size(tm) == 2, "target_modules: expected 2 names");
    for (size_t i = 0; json_is_array(tm) && i < json_array_size(tm) && i < 2; i++) {
        const char *got = json_string_value(json_array_get(tm, i));
        const char *want = product ? want_product[i] : want_full[i];
        CHECK(got != NULL && strcmp(got, want) == 0, "target_modules[%zu] %s; expected %s", i,
              got ? got : "(not a string)", want);
    }
    if (product)
        CHECK(json_is_array(lt) && json_array_size(lt) == 1 &&
                  json_integer_value(json_array_get(lt, 0)) == 0,
              "layers_to_transform: expected [0]");
    else
        CHECK(json_is_null(lt), "layers_to_transform: expected null");
    json_decref(cfg);
}

/* Every tensor of the folder is the expert's, bit for bit, under PEFT's name and shape. */
static void check_weights(const char *dir, const t2_expert *e) {
    char *path = t2_bundle_fixture_path(dir, "adapter_model.safetensors");
    t2_safetensors st;
    t2_error err = {{0}};
    int opened = t2_safetensors_open(&st, path, &err) == 0;
    CHECK(opened, "%s", err.msg);
    t2_free(path);
    if (!opened) return;
    CHECK(st.n_tensors == 2 * e->n, "%d tensors; expected %d", st.n_tensors, 2 * e->n);
    int64_t k = e->options.lora_rank;
    for (int i = 0; i < e->n; i++) {
        const float *values = e->params + e->offsets[i];
        size_t stem = strlen(e->tensors[i]) - strlen(".weight");
        for (int m = 0; m < 2; m++) {
            char key[256];
            snprintf(key, sizeof key, "base_model.model.%.*s.lora_%c.weight", (int)stem,
                     e->tensors[i], m == 0 ? 'A' : 'B');
            const t2_tensor_info *t = t2_safetensors_find(&st, key);
            CHECK(t != NULL, "no tensor %s", key);
            if (t == NULL) continue;
            int64_t d0 = m == 0 ? k : e->rows[i], d1 = m == 0 ? e->cols[i] : k;
            CHECK(t->dtype == T2_DTYPE_F32 && t->n_dims == 2 && t->shape[0] == d0 &&
                      t->shape[1] == d1,
                  "%s: expected F32 [%lld, %lld]", key, (long long)d0, (long long)d1);
            const float *want = values + (m == 0 ? 0 : k * e->cols[i]);
            if (t->n_bytes == (size_t)(d0 * d1) * sizeof(float))
                CHECK(memcmp(t->data, want, t->n_bytes) == 0, "%s: values differ", key);
        }
    }
    const char *format = t2_safetensors_metadata(&st, "format");
    CHECK(format != NULL && strcmp(format, "pt") == 0, "metadata format: expected pt");
    const char *fp = t2_safetensors_metadata(&st, "model_fingerprint");
    CHECK(fp != NULL && strcmp(fp, e->model_fingerprint) == 0, "metadata model_fingerprint");
    t2_safetensors_close(&st);
}

static void check_back(const t2_expert *e, const char *back_path) {
    t2_expert b;
    t2_error err = {{0}};
    int read = t2_expert_read(&b, back_path, &err) == 0;
    CHECK(read, "%s", err.msg);
    if (!read) return;
    CHECK(b.options.method == T2_ADAPTER_LORA && b.options.lora_rank == e->options.lora_rank &&
              b.options.lora_alpha == e->options.lora_alpha,
          "method or options differ");
    CHECK(strcmp(b.name, e->name) == 0 && strcmp(b.task, e->task) == 0, "name or task differ");
    CHECK(strcmp(b.model_fingerprint, e->model_fingerprint) == 0, "fingerprint differs");
    CHECK(b.n == e->n && b.n_params == e->n_params, "%d targets, %lld parameters; expected %d, "
          "%lld", b.n, (long long)b.n_params, e->n, (long long)e->n_params);
    for (int i = 0; b.n == e->n && i < e->n; i++)
        CHECK(strcmp(b.tensors[i], e->tensors[i]) == 0 && b.rows[i] == e->rows[i] &&
                  b.cols[i] == e->cols[i] && b.offsets[i] == e->offsets[i],
              "target %d differs", i);
    if (b.n_params == e->n_params)
        CHECK(memcmp(b.params, e->params, (size_t)e->n_params * sizeof(float)) == 0,
              "parameters differ");
    t2_expert_free(&b);
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "make") == 0) {
        make_inputs(argv[2]);
    } else if (argc == 5 && strcmp(argv[1], "check") == 0) {
        t2_expert e;
        t2_error err = {{0}};
        if (t2_expert_read(&e, argv[2], &err) != 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        check_config(argv[3], &e);
        check_weights(argv[3], &e);
        check_back(&e, argv[4]);
        if (t2_check_exit_code() == 0)
            printf("%s round trip of %s: config, %d tensors and the expert match\n", argv[3],
                   argv[2], 2 * e.n);
        t2_expert_free(&e);
    } else {
        fprintf(stderr, "usage: test_peft_make_inputs make DIR | check EXPERT PEFT_DIR BACK\n");
        return 2;
    }
    return t2_check_exit_code();
}
