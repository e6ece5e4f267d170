/* `t2 export --format gguf` (model/gguf_export.h), run by tests/export.cmake:
 *   test_export_gguf check FILE MODEL STORE EXPERT DTYPE PRE
 *     reads FILE with the tests' own GGUF reader (tests/gguf_reader.c, written from the
 *     spec) and checks it against MODEL with EXPERT applied in memory ("-": none): every
 *     key with its type and value (general.*, the architecture's hyperparameters from
 *     config.json, the tokenizer keys against tokenizer.json and tokenizer_config.json read
 *     here with jansson, tokenizer.ggml.pre = PRE) and no other key; every tensor's GGUF
 *     name, dims [cols, rows], type (matrices DTYPE, vectors F32) and bytes: the in-memory
 *     weight rounded to the type, with the q / k rows of each head reordered from Hugging
 *     Face's halves to llama.cpp's adjacent pairs for the llama architecture (a HF row
 *     h*hd + j*hd/2 + i is the file's row h*hd + 2i + j), and no other tensor;
 *   test_export_gguf variant OUT MODEL llama3|qwen2|unknown|rope
 *     writes OUT, MODEL with its tokenizer.json pre-tokenizer a Split by the Llama-3 or
 *     Qwen2 regex (or another one) before a ByteLevel step without regex, and a
 *     tokenizer_config.json with pad_token and add_bos_token true; or (rope) with Llama 3.1
 *     rope scaling in config.json, whose rope_freqs.weight the check then recomputes. */
#include <jansson.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "check.h"
#include "gguf_reader.h"
#include "linalg/blis_setup.h"
#include "model/model_dir.h"
#include "model/model_tensors.h"
#include "rl/expert.h"
#include "rl/expert_apply.h"

static const char llama3_regex[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
static const char qwen2_regex[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/* ---- keys ---------------------------------------------------------------------------- */

static int n_checked_keys;

static const gguf_value *want_key(const gguf_file *g, const char *key, uint32_t type) {
    const gguf_kv *kv = gguf_find_kv(g, key);
    n_checked_keys++;
    CHECK(kv != NULL, "no key %s", key);
    if (kv == NULL) return NULL;
    CHECK(kv->value.type == type, "%s has value type %u; expected %u", key, kv->value.type, type);
    return kv->value.type == type ? &kv->value : NULL;
}

static void want_u32(const gguf_file *g, const char *key, uint64_t value) {
    const gguf_value *v = want_key(g, key, 4);
    if (v != NULL) CHECK(v->u == value, "%s = %llu; expected %llu", key,
                         (unsigned long long)v->u, (unsigned long long)value);
}

static void want_f32(const gguf_file *g, const char *key, float value) {
    const gguf_value *v = want_key(g, key, 6);
    if (v != NULL) CHECK((float)v->f == value, "%s = %.9g; expected %.9g", key, v->f, value);
}

static void want_bool(const gguf_file *g, const char *key, int value) {
    const gguf_value *v = want_key(g, key, 7);
    if (v != NULL) CHECK((int)v->u == value, "%s = %d; expected %d", key, (int)v->u, value);
}

static void want_string(const gguf_file *g, const char *key, const char *value) {
    const gguf_value *v = want_key(g, key, 8);
    if (v != NULL)
        CHECK(v->str_len == strlen(value) && memcmp(v->str, value, v->str_len) == 0,
              "%s = '%.*s'; expected '%s'", key, (int)v->str_len, v->str, value);
}

static json_t *load_json(const char *dir, const char *name) {
    char *path = t2_model_dir_path(dir, name);
    json_t *root = json_load_file(path, 0, NULL);
    t2_free(path);
    return root;
}

/* The id of token text in tokenizer.json (vocab or added), or -1. */
static int64_t token_id(const json_t *tok, const char *text) {
    const json_t *id =
        json_object_get(json_object_get(json_object_get(tok, "model"), "vocab"), text);
    if (json_is_integer(id)) return json_integer_value(id);
    const json_t *added = json_object_get(tok, "added_tokens");
    for (size_t i = 0; i < json_array_size(added); i++)
        if (strcmp(json_string_value(json_object_get(json_array_get(added, i), "content")), text) ==
            0)
            return json_integer_value(json_object_get(json_array_get(added, i), "id"));
    return -1;
}

static void check_vocab(const gguf_file *g, const char *model, int64_t vocab, const char *pre,
                        const t2_model_config *cfg) {
    json_t *tok = load_json(model, "tokenizer.json"),
           *tc = load_json(model, "tokenizer_config.json");
    CHECK(tok != NULL, "%s: no tokenizer.json", model);
    if (tok == NULL) return;
    want_string(g, "tokenizer.ggml.model", "gpt2");
    want_string(g, "tokenizer.ggml.pre", pre);
    /* tokens and types, id by id */
    char **text = calloc((size_t)vocab, sizeof *text);
    int32_t *types = calloc((size_t)vocab, sizeof *types);
    const char *key;
    json_t *value;
    json_object_foreach(json_object_get(json_object_get(tok, "model"), "vocab"), key, value) {
        text[json_integer_value(value)] = strdup(key);
        types[json_integer_value(value)] = 1;
    }
    const json_t *added = json_object_get(tok, "added_tokens");
    for (size_t i = 0; i < json_array_size(added); i++) {
        const json_t *a = json_array_get(added, i);
        int64_t id = json_integer_value(json_object_get(a, "id"));
        free(text[id]);
        text[id] = strdup(json_string_value(json_object_get(a, "content")));
        types[id] = json_is_true(json_object_get(a, "special")) ? 3 : 4;
    }
    const gguf_value *tokens = want_key(g, "tokenizer.ggml.tokens", 9);
    const gguf_value *type_list = want_key(g, "tokenizer.ggml.token_type", 9);
    if (tokens != NULL && type_list != NULL) {
        CHECK(tokens->elem == 8 && tokens->n == (uint64_t)vocab,
              "tokens: %llu of type %u; "
              "expected %lld strings",
              (unsigned long long)tokens->n, tokens->elem, (long long)vocab);
        CHECK(type_list->elem == 5 && type_list->n == (uint64_t)vocab, "token_type: %llu of "
              "type %u; expected %lld int32", (unsigned long long)type_list->n, type_list->elem,
              (long long)vocab);
        for (int64_t id = 0; id < vocab && tokens->n == (uint64_t)vocab; id++) {
            char pad[32];
            snprintf(pad, sizeof pad, "[PAD%lld]", (long long)id);
            const char *want = text[id] != NULL ? text[id] : pad;
            int32_t want_type = text[id] != NULL ? types[id] : 5;
            uint64_t len;
            const char *got = gguf_array_string(tokens, (uint64_t)id, &len);
            CHECK(len == strlen(want) && memcmp(got, want, len) == 0, "token %lld is '%.*s'; "
                  "expected '%s'", (long long)id, (int)len, got, want);
            CHECK(gguf_array_i32(type_list, (uint64_t)id) == want_type, "token %lld has type "
                  "%d; expected %d", (long long)id, gguf_array_i32(type_list, (uint64_t)id),
                  want_type);
        }
    }
    const json_t *merges = json_object_get(json_object_get(tok, "model"), "merges");
    const gguf_value *m = want_key(g, "tokenizer.ggml.merges", 9);
    if (m != NULL) {
        CHECK(m->elem == 8 && m->n == json_array_size(merges), "merges: %llu; expected %zu",
              (unsigned long long)m->n, json_array_size(merges));
        for (size_t k = 0; k < json_array_size(merges) && m->n == json_array_size(merges); k++) {
            uint64_t len;
            const char *got = gguf_array_string(m, k, &len);
            const char *want = json_string_value(json_array_get(merges, k));
            CHECK(want != NULL && len == strlen(want) && memcmp(got, want, len) == 0,
                  "merge %zu differs", k);
        }
    }
    want_u32(g, "tokenizer.ggml.bos_token_id", (uint64_t)cfg->bos_token_id);
    want_u32(g, "tokenizer.ggml.eos_token_id", (uint64_t)cfg->eos_token_ids[0]);
    const json_t *pad = json_object_get(tc, "pad_token");
    if (json_is_string(pad))
        want_u32(g, "tokenizer.ggml.padding_token_id",
                 (uint64_t)token_id(tok, json_string_value(pad)));
    want_bool(g, "tokenizer.ggml.add_bos_token",
              json_is_true(json_object_get(tc, "add_bos_token")));
    want_bool(g, "tokenizer.ggml.add_eos_token",
              json_is_true(json_object_get(tc, "add_eos_token")));
    for (int64_t id = 0; id < vocab; id++) free(text[id]);
    free(text);
    free(types);
    json_decref(tc);
    json_decref(tok);
}

static const char *arch_key(char *buf, size_t size, const char *arch, const char *suffix) {
    snprintf(buf, size, "%s.%s", arch, suffix);
    return buf;
}

static void check_keys(const gguf_file *g, const t2_model_config *cfg, const char *model,
                       const char *expert_name, const char *dtype, const char *pre) {
    const char *arch = strcmp(cfg->model_type, "qwen2") == 0 ? "qwen2" : "llama";
    char k[128], name[256], base[256];
    snprintf(base, sizeof base, "%s", model);
    snprintf(name, sizeof name, "%s%s%s", basename(base), expert_name ? "-" : "",
             expert_name ? expert_name : "");
    n_checked_keys = 0;
    want_string(g, "general.architecture", arch);
    want_string(g, "general.name", name);
    want_u32(g, "general.file_type", strcmp(dtype, "BF16") == 0 ? 32 : strcmp(dtype, "F16") == 0);
    want_u32(g, "general.quantization_version", 2);
    want_u32(g, arch_key(k, sizeof k, arch, "vocab_size"), (uint64_t)cfg->vocab_size);
    want_u32(g, arch_key(k, sizeof k, arch, "context_length"),
             (uint64_t)cfg->max_position_embeddings);
    want_u32(g, arch_key(k, sizeof k, arch, "embedding_length"), (uint64_t)cfg->hidden_size);
    want_u32(g, arch_key(k, sizeof k, arch, "block_count"), (uint64_t)cfg->num_hidden_layers);
    want_u32(g, arch_key(k, sizeof k, arch, "feed_forward_length"),
             (uint64_t)cfg->intermediate_size);
    want_u32(g, arch_key(k, sizeof k, arch, "attention.head_count"),
             (uint64_t)cfg->num_attention_heads);
    want_u32(g, arch_key(k, sizeof k, arch, "attention.head_count_kv"),
             (uint64_t)cfg->num_key_value_heads);
    want_u32(g, arch_key(k, sizeof k, arch, "rope.dimension_count"), (uint64_t)cfg->head_dim);
    if (cfg->head_dim * cfg->num_attention_heads != cfg->hidden_size) {
        want_u32(g, arch_key(k, sizeof k, arch, "attention.key_length"), (uint64_t)cfg->head_dim);
        want_u32(g, arch_key(k, sizeof k, arch, "attention.value_length"), (uint64_t)cfg->head_dim);
    }
    want_f32(g, arch_key(k, sizeof k, arch, "rope.freq_base"), (float)cfg->rope_theta);
    want_f32(g, arch_key(k, sizeof k, arch, "attention.layer_norm_rms_epsilon"), cfg->rms_norm_eps);
    if (expert_name != NULL) want_string(g, "t2.expert", expert_name);
    check_vocab(g, model, cfg->vocab_size, pre, cfg);
    CHECK((uint64_t)n_checked_keys == g->n_kv, "the file has %llu keys; expected the %d checked",
          (unsigned long long)g->n_kv, n_checked_keys);
}

/* ---- tensors ------------------------------------------------------------------------- */

/* GGUF name of a HF tensor (a table of its own, not the exporter's). */
static void gguf_name(const t2_model_tensor *t, char *out, size_t size) {
    static const char *const map[][2] = {{"model.embed_tokens.weight", "token_embd.weight"},
                                         {"model.norm.weight", "output_norm.weight"},
                                         {"lm_head.weight", "output.weight"},
                                         {"input_layernorm.weight", "attn_norm"},
                                         {"post_attention_layernorm.weight", "ffn_norm"},
                                         {"self_attn.q_proj", "attn_q"},
                                         {"self_attn.k_proj", "attn_k"},
                                         {"self_attn.v_proj", "attn_v"},
                                         {"self_attn.o_proj", "attn_output"},
                                         {"mlp.gate_proj", "ffn_gate"},
                                         {"mlp.up_proj", "ffn_up"},
                                         {"mlp.down_proj", "ffn_down"}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        size_t len = strlen(map[i][0]);
        if (strncmp(t->role, map[i][0], len) != 0) continue;
        if (t->layer < 0) {
            snprintf(out, size, "%s", map[i][1]);
        } else if (strstr(map[i][1], "norm") != NULL) {
            snprintf(out, size, "blk.%lld.%s.weight", (long long)t->layer, map[i][1]);
        } else {
            snprintf(out, size, "blk.%lld.%s%s", (long long)t->layer, map[i][1], t->role + len);
        }
        return;
    }
    snprintf(out, size, "?");
}

static float decode(const unsigned char *data, uint32_t type, uint64_t k) {
    if (type == 0) {
        float x;
        memcpy(&x, data + 4 * k, 4);
        return x;
    }
    uint16_t h;
    memcpy(&h, data + 2 * k, 2);
    return type == 30 ? t2_dtype_bf16_to_f32(h) : t2_dtype_f16_to_f32(h);
}

static float rounded(uint32_t type, float x) {
    if (type == 30) return t2_dtype_bf16_to_f32(t2_dtype_f32_to_bf16(x));
    if (type == 1) return t2_dtype_f16_to_f32(t2_dtype_f32_to_f16(x));
    return x;
}

/* rope_freqs.weight: llama.cpp divides each rotary frequency i by factor[i]; with Llama 3.1
 * scaling (transformers' _compute_llama3_parameters, written out here in double) the factor
 * is 1 for wavelengths below orig / high_freq_factor, `factor` above orig / low_freq_factor,
 * and 1 / ((1 - s) / factor + s), s = (orig / wavelength - low) / (high - low), between. */
static void check_rope_freqs(const gguf_file *g, const t2_model_config *cfg) {
    const gguf_tensor *x = gguf_find_tensor(g, "rope_freqs.weight");
    int64_t half = cfg->head_dim / 2;
    CHECK(x != NULL && x->n_dims == 1 && x->ne[0] == (uint64_t)half && x->type == 0,
          "rope_freqs.weight: missing, or not F32 [%lld]", (long long)half);
    if (x == NULL || x->ne[0] != (uint64_t)half) return;
    double orig = (double)cfg->rope_original_max_position_embeddings;
    double low = cfg->rope_low_freq_factor, high = cfg->rope_high_freq_factor;
    int regimes[3] = {0, 0, 0};
    for (int64_t i = 0; i < half; i++) {
        double freq = pow(cfg->rope_theta, -2.0 * (double)i / (double)cfg->head_dim);
        double wavelength = 2.0 * M_PI / freq, want;
        if (wavelength < orig / high) {
            want = 1.0;
            regimes[0]++;
        } else if (wavelength > orig / low) {
            want = cfg->rope_factor;
            regimes[2]++;
        } else {
            double smooth = (orig / wavelength - low) / (high - low);
            want = 1.0 / ((1.0 - smooth) / cfg->rope_factor + smooth);
            regimes[1]++;
        }
        float got = decode(x->data, 0, (uint64_t)i);
        CHECK(fabs(got - want) <= 1e-5 * want, "rope_freqs[%lld] = %.9g; expected %.9g",
              (long long)i, got, want);
    }
    printf("rope_freqs: %lld factors (%d unscaled, %d smoothed, %d scaled)\n", (long long)half,
           regimes[0], regimes[1], regimes[2]);
}

static void check_tensors(const gguf_file *g, const t2_model_dir *ref, uint32_t matrix_type) {
    const t2_model_config *cfg = &ref->cfg;
    int llama = strcmp(cfg->model_type, "qwen2") != 0;
    t2_model_tensor *tensors = NULL;
    int n = t2_model_tensors_list(cfg, &ref->weights, &tensors);
    int rope = cfg->rope_scaling_llama3;
    CHECK(g->n_tensors == (uint64_t)(n + rope), "%llu tensors; expected %d",
          (unsigned long long)g->n_tensors, n + rope);
    if (rope) check_rope_freqs(g, cfg);
    int64_t mismatched = 0, compared = 0;
    for (int i = 0; i < n; i++) {
        const t2_model_tensor *t = &tensors[i];
        char name[96];
        gguf_name(t, name, sizeof name);
        const gguf_tensor *x = gguf_find_tensor(g, name);
        CHECK(x != NULL, "no tensor %s (for %s)", name, t->name);
        if (x == NULL) continue;
        uint32_t type = t->n_dims == 2 ? matrix_type : 0;
        int shape_ok = x->n_dims == (uint32_t)t->n_dims && x->type == type &&
                       (t->n_dims == 1 ? x->ne[0] == (uint64_t)t->shape[0]
                                       : x->ne[0] == (uint64_t)t->shape[1] &&
                                             x->ne[1] == (uint64_t)t->shape[0]);
        CHECK(shape_ok, "%s: %u dims [%llu, %llu] type %u; expected %d dims of %s, type %u",
              name, x->n_dims, (unsigned long long)x->ne[0], (unsigned long long)x->ne[1],
              x->type, t->n_dims, t->name, type);
        if (!shape_ok) continue;
        int64_t rows = t->n_dims == 2 ? t->shape[0] : 1, cols = t->n_dims == 2 ? t->shape[1] : 1;
        int64_t heads = strstr(t->role, "q_proj") ? cfg->num_attention_heads
                        : strstr(t->role, "k_proj") ? cfg->num_key_value_heads : 0;
        int64_t count = t->shape[0] * (t->n_dims == 2 ? t->shape[1] : 1);
        float *want = t2_alloc_array((size_t)count, sizeof *want);
        t2_weight_widen(want, t->data, 0, count);
        /* a bias reorders its elements as the matrix its rows */
        int64_t units = t->n_dims == 2 ? rows : t->shape[0], width = t->n_dims == 2 ? cols : 1;
        for (int64_t hf = 0; hf < units; hf++) {
            int64_t file = hf;
            if (llama && heads > 0) {
                int64_t hd = units / heads, half = hd / 2, h = hf / hd, in = hf % hd;
                int64_t j = in / half, k = in % half;
                file = h * hd + 2 * k + j;
            }
            for (int64_t c = 0; c < width; c++) {
                float w = rounded(type, want[hf * width + c]);
                float got = decode(x->data, type, (uint64_t)(file * width + c));
                if (memcmp(&w, &got, sizeof w) != 0 && mismatched++ < 5)
                    CHECK(0, "%s row %lld col %lld = %.9g; expected %.9g (%s row %lld)", name,
                          (long long)file, (long long)c, got, w, t->name, (long long)hf);
            }
        }
        compared += count;
        t2_free(want);
    }
    CHECK(mismatched == 0, "%lld of %lld values differ", (long long)mismatched,
          (long long)compared);
    printf("tensors: %d, %lld values compared bitwise, %lld differ\n", n, (long long)compared,
           (long long)mismatched);
    t2_free(tensors);
}

static int check(const char *file, const char *model, const char *store, const char *expert,
                 const char *dtype, const char *pre) {
    gguf_file g;
    char why[256];
    if (gguf_read(&g, file, why, sizeof why) != 0) {
        CHECK(0, "%s: %s", file, why);
        gguf_free(&g);
        return t2_check_exit_code();
    }
    printf("%s: version %u, %llu keys, %llu tensors, data at %llu, alignment %llu\n", file,
           g.version, (unsigned long long)g.n_kv, (unsigned long long)g.n_tensors,
           (unsigned long long)g.data_start, (unsigned long long)g.alignment);
    t2_model_dir ref;
    t2_error err = {{0}};
    char *expert_name = NULL;
    if (t2_model_dir_load(&ref, model, &err) == 0 && strcmp(expert, "-") != 0) {
        t2_expert e;
        CHECK(t2_expert_read(&e, expert, &err) == 0, "%s", err.msg);
        CHECK(t2_expert_apply(&e, expert, &ref, model, store, &err) == 0, "%s", err.msg);
        expert_name = e.name != NULL ? t2_strdup(e.name) : NULL;
        t2_expert_free(&e);
    }
    CHECK(err.msg[0] == '\0', "%s", err.msg);
    if (err.msg[0] == '\0') {
        uint32_t type = strcmp(dtype, "BF16") == 0 ? 30 : strcmp(dtype, "F16") == 0 ? 1 : 0;
        check_keys(&g, &ref.cfg, model, expert_name, dtype, pre);
        check_tensors(&g, &ref, type);
    }
    t2_free(expert_name);
    t2_model_dir_free(&ref);
    gguf_free(&g);
    return t2_check_exit_code();
}

/* ---- variant ------------------------------------------------------------------------- */

static int variant(const char *out, const char *model, const char *kind) {
    mkdir(out, 0755);
    const char *files[] = {"config.json", "model.safetensors", "tokenizer.json",
                           "tokenizer_config.json"};
    for (size_t i = 0; i < 4; i++) {
        char *src = t2_model_dir_path(model, files[i]), *dst = t2_model_dir_path(out, files[i]);
        char *abs = realpath(src, NULL);
        unlink(dst);
        CHECK(abs != NULL && symlink(abs, dst) == 0, "cannot link %s", dst);
        free(abs);
        t2_free(src);
        t2_free(dst);
    }
    json_t *tok = load_json(model, "tokenizer.json"),
           *tc = load_json(model, "tokenizer_config.json");
    if (strcmp(kind, "rope") == 0) { /* Llama 3.1 rope scaling, every regime at head_dim 32 */
        json_t *config = load_json(model, "config.json");
        json_object_set_new(config, "rope_scaling",
                            json_pack("{s:s, s:f, s:f, s:f, s:i}", "rope_type", "llama3", "factor",
                                      8.0, "low_freq_factor", 1.0, "high_freq_factor", 4.0,
                                      "original_max_position_embeddings", 64));
        char *path = t2_model_dir_path(out, "config.json");
        unlink(path);
        CHECK(json_dump_file(config, path, JSON_INDENT(2)) == 0, "cannot write %s", path);
        t2_free(path);
        json_decref(config);
        json_decref(tok);
        json_decref(tc);
        return t2_check_exit_code();
    }
    const char *regex = strcmp(kind, "llama3") == 0 ? llama3_regex
                        : strcmp(kind, "qwen2") == 0 ? qwen2_regex : "\\s+|[0-9]+";
    json_t *pre = json_pack("{s:s, s:[{s:s, s:{s:s}, s:s, s:b}, {s:s, s:b, s:b, s:b}]}",
                            "type", "Sequence", "pretokenizers", "type", "Split", "pattern",
                            "Regex", regex, "behavior", "Isolated", "invert", 0, "type",
                            "ByteLevel", "add_prefix_space", 0, "trim_offsets", 1, "use_regex", 0);
    json_object_set_new(tok, "pre_tokenizer", pre);
    json_object_set_new(tc, "pad_token", json_string("<|pad|>"));
    json_object_set_new(tc, "add_bos_token", json_true());
    char *tok_path = t2_model_dir_path(out, "tokenizer.json");
    char *tc_path = t2_model_dir_path(out, "tokenizer_config.json");
    unlink(tok_path); /* the links made above: the files written here replace them */
    unlink(tc_path);
    CHECK(json_dump_file(tok, tok_path, JSON_INDENT(2)) == 0, "cannot write %s", tok_path);
    CHECK(json_dump_file(tc, tc_path, JSON_INDENT(2)) == 0, "cannot write %s", tc_path);
    t2_free(tok_path);
    t2_free(tc_path);
    json_decref(tok);
    json_decref(tc);
    return t2_check_exit_code();
}

int main(int argc, char **argv) {
    t2_blis_setup(0, 1);
    if (argc == 8 && strcmp(argv[1], "check") == 0)
        return check(argv[2], argv[3], argv[4], argv[5], argv[6], argv[7]);
    if (argc == 5 && strcmp(argv[1], "variant") == 0) return variant(argv[2], argv[3], argv[4]);
    fprintf(stderr, "usage: test_export_gguf check FILE MODEL STORE EXPERT DTYPE PRE | variant "
                    "OUT MODEL llama3|qwen2|unknown|rope\n");
    return 2;
}
