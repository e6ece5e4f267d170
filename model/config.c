/* The model's architecture from a Hugging Face config.json (model_type llama, mistral,
 * qwen2), with generation_config.json's bos/eos ids overriding, and the reverse: writing a
 * config.json that transformers loads. Every value is checked (types, ranges, consistency).
 * Does not read weights (weights.c) or tokenizers.
 * Reference: transformers' LlamaConfig, MistralConfig, Qwen2Config (keys and defaults) and
 * modeling_rope_utils.py ("llama3" rope_scaling). */
#include "model/config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/alloc.h"
#include "base/file.h"
#include "model/json_util.h"

typedef struct model_family {
    const char *model_type;
    const char *architecture; /* transformers class written to "architectures" */
} model_family;

static const model_family families[] = {
    {"llama", "LlamaForCausalLM"},
    {"mistral", "MistralForCausalLM"},
    {"qwen2", "Qwen2ForCausalLM"},
};
enum { N_FAMILIES = sizeof families / sizeof families[0] };
#define SUPPORTED_TYPES "llama, mistral, qwen2"

/* Upper bounds keep every size product (parameter counts, slab offsets) inside int64. */
#define MAX_WIDTH (INT64_C(1) << 20)
#define MAX_FFN (INT64_C(1) << 22)
#define MAX_LAYERS (INT64_C(1) << 12)
#define MAX_HEADS (INT64_C(1) << 12)
#define MAX_VOCAB (INT64_C(1) << 24)
#define MAX_POSITIONS (INT64_C(1) << 26)

static const model_family *find_family(const char *model_type) {
    for (int i = 0; i < N_FAMILIES; i++)
        if (strcmp(families[i].model_type, model_type) == 0) return &families[i];
    return NULL;
}

int t2_model_config_o_proj_bias(const t2_model_config *cfg) {
    return cfg->attention_bias && strcmp(cfg->model_type, "llama") == 0;
}

static int require_int(const json_t *obj, const char *key, int64_t *out, const char *path,
                       t2_error *err) {
    int got = t2_json_util_get_int(obj, key, out, path, "", err);
    if (got == 0)
        return t2_error_set(err, "%s: missing required key '%s'; expected an integer", path, key);
    return got < 0 ? -1 : 0;
}

static int optional_int(const json_t *obj, const char *key, int64_t fallback, int64_t *out,
                        const char *path, t2_error *err) {
    int got = t2_json_util_get_int(obj, key, out, path, "", err);
    if (got == 0) *out = fallback;
    return got < 0 ? -1 : 0;
}

static int check_range(const char *path, const char *key, int64_t value, int64_t min,
                       int64_t max, t2_error *err) {
    if (value < min || value > max)
        return t2_error_set(err, "%s: key '%s' is %lld; expected an integer in [%lld, %lld]", path,
                            key, (long long)value, (long long)min, (long long)max);
    return 0;
}

/* The structural checks shared by parsing and writing. */
static int validate(const t2_model_config *cfg, const char *path, t2_error *err) {
    if (find_family(cfg->model_type) == NULL)
        return t2_error_set(err, "%s: model_type '%s' is not supported; expected one of "
                            SUPPORTED_TYPES, path, cfg->model_type);
    if (check_range(path, "hidden_size", cfg->hidden_size, 1, MAX_WIDTH, err) ||
        check_range(path, "intermediate_size", cfg->intermediate_size, 1, MAX_FFN, err) ||
        check_range(path, "num_hidden_layers", cfg->num_hidden_layers, 1, MAX_LAYERS, err) ||
        check_range(path, "num_attention_heads", cfg->num_attention_heads, 1, MAX_HEADS, err) ||
        check_range(path, "num_key_value_heads", cfg->num_key_value_heads, 1,
                    cfg->num_attention_heads, err) ||
        check_range(path, "head_dim", cfg->head_dim, 2, MAX_WIDTH, err) ||
        check_range(path, "vocab_size", cfg->vocab_size, 1, MAX_VOCAB, err) ||
        check_range(path, "max_position_embeddings", cfg->max_position_embeddings, 1,
                    MAX_POSITIONS, err))
        return -1;
    if (cfg->num_attention_heads % cfg->num_key_value_heads != 0)
        return t2_error_set(err, "%s: num_key_value_heads %lld does not divide "
                            "num_attention_heads %lld; expected a divisor (grouped-query "
                            "attention)", path, (long long)cfg->num_key_value_heads,
                            (long long)cfg->num_attention_heads);
    if (cfg->head_dim % 2 != 0)
        return t2_error_set(err, "%s: head_dim is %lld; expected an even number (RoPE rotates "
                            "pairs)", path, (long long)cfg->head_dim);
    if (!(cfg->rms_norm_eps > 0.0f) || !isfinite(cfg->rms_norm_eps))
        return t2_error_set(err, "%s: key 'rms_norm_eps' is %g; expected a positive number",
                            path, cfg->rms_norm_eps);
    if (!(cfg->rope_theta > 0.0) || !isfinite(cfg->rope_theta))
        return t2_error_set(err, "%s: key 'rope_theta' is %g; expected a positive number", path,
                            cfg->rope_theta);
    if (cfg->rope_scaling_llama3 &&
        (!(cfg->rope_factor >= 1.0) || !isfinite(cfg->rope_factor) ||
         !(cfg->rope_low_freq_factor > 0.0) ||
         !(cfg->rope_high_freq_factor > cfg->rope_low_freq_factor) ||
         !isfinite(cfg->rope_high_freq_factor) || cfg->rope_original_max_position_embeddings < 1))
        return t2_error_set(err, "%s: rope_scaling (factor %g, low_freq_factor %g, "
                            "high_freq_factor %g, original_max_position_embeddings %lld) is "
                            "inconsistent; expected factor >= 1, 0 < low < high, original > 0",
                            path, cfg->rope_factor, cfg->rope_low_freq_factor,
                            cfg->rope_high_freq_factor,
                            (long long)cfg->rope_original_max_position_embeddings);
    if (strcmp(cfg->model_type, "qwen2") == 0 && !cfg->attention_bias)
        return t2_error_set(err, "%s: attention_bias is false; expected true for model_type "
                            "qwen2 (its q/k/v projections always have biases)", path);
    if (strcmp(cfg->model_type, "mistral") == 0 && cfg->attention_bias)
        return t2_error_set(err, "%s: attention_bias is true; expected false for model_type "
                            "mistral", path);
    if (cfg->bos_token_id < -1 || cfg->bos_token_id >= cfg->vocab_size)
        return t2_error_set(err, "%s: bos_token_id %lld is outside the vocabulary; expected an "
                            "id in [0, %lld)", path, (long long)cfg->bos_token_id,
                            (long long)cfg->vocab_size);
    if (cfg->n_eos_token_ids < 0 || cfg->n_eos_token_ids > T2_MAX_EOS_IDS)
        return t2_error_set(err, "%s: %d eos_token_ids; expected at most %d", path,
                            cfg->n_eos_token_ids, (int)T2_MAX_EOS_IDS);
    for (int i = 0; i < cfg->n_eos_token_ids; i++)
        if (cfg->eos_token_ids[i] < 0 || cfg->eos_token_ids[i] >= cfg->vocab_size)
            return t2_error_set(err, "%s: eos_token_id %lld is outside the vocabulary; expected "
                                "an id in [0, %lld)", path, (long long)cfg->eos_token_ids[i],
                                (long long)cfg->vocab_size);
    return 0;
}

/* eos_token_id: an integer or a list of integers. Returns 1 when present (ids replaced), 0
 * when absent or null, -1 on a bad value. */
static int parse_eos(const json_t *obj, t2_model_config *cfg, const char *path,
                     t2_error *err) {
    const json_t *value = json_object_get(obj, "eos_token_id");
    if (value == NULL || json_is_null(value)) return 0;
    int64_t id;
    if (t2_json_util_as_int(value, &id)) {
        cfg->eos_token_ids[0] = id;
        cfg->n_eos_token_ids = 1;
        return 1;
    }
    if (!json_is_array(value) || json_array_size(value) > T2_MAX_EOS_IDS)
        return t2_error_set(err, "%s: key 'eos_token_id' is %s; expected an integer or a list "
                            "of at most %d integers", path, t2_json_util_type_name(value),
                            (int)T2_MAX_EOS_IDS);
    for (size_t i = 0; i < json_array_size(value); i++)
        if (!t2_json_util_as_int(json_array_get(value, i), &cfg->eos_token_ids[i]))
            return t2_error_set(err, "%s: key 'eos_token_id' element %zu is %s; expected an "
                                "integer", path, i,
                                t2_json_util_type_name(json_array_get(value, i)));
    cfg->n_eos_token_ids = (int)json_array_size(value);
    return 1;
}

static int parse_rope_scaling(const json_t *root, t2_model_config *cfg, const char *path,
                              t2_error *err) {
    const json_t *rs = json_object_get(root, "rope_scaling");
    if (rs == NULL || json_is_null(rs)) return 0;
    if (!json_is_object(rs))
        return t2_error_set(err, "%s: key 'rope_scaling' is %s; expected an object or null", path,
                            t2_json_util_type_name(rs));
    const char *type = NULL;
    int got = t2_json_util_get_string(rs, "rope_type", &type, path, "rope_scaling.", err);
    if (got == 0) got = t2_json_util_get_string(rs, "type", &type, path, "rope_scaling.", err);
    if (got < 0) return -1;
    if (got == 0)
        return t2_error_set(err, "%s: rope_scaling has no 'rope_type' (or 'type'); expected "
                            "\"llama3\"", path);
    if (strcmp(type, "default") == 0) return 0;
    if (strcmp(type, "llama3") != 0)
        return t2_error_set(err, "%s: rope_scaling type '%s' is not supported; expected "
                            "\"llama3\" or null", path, type);
    static const char *const keys[] = {"factor", "low_freq_factor", "high_freq_factor"};
    double *values[] = {&cfg->rope_factor, &cfg->rope_low_freq_factor,
                        &cfg->rope_high_freq_factor};
    for (int i = 0; i < 3; i++) {
        got = t2_json_util_get_number(rs, keys[i], values[i], path, "rope_scaling.", err);
        if (got < 0) return -1;
        if (got == 0)
            return t2_error_set(err, "%s: missing required key 'rope_scaling.%s'; expected a "
                                "number", path, keys[i]);
    }
    got = t2_json_util_get_int(rs, "original_max_position_embeddings",
                               &cfg->rope_original_max_position_embeddings, path,
                               "rope_scaling.", err);
    if (got < 0) return -1;
    if (got == 0)
        return t2_error_set(err, "%s: missing required key "
                            "'rope_scaling.original_max_position_embeddings'; expected an "
                            "integer", path);
    cfg->rope_scaling_llama3 = 1;
    return 0;
}

/* Keys that change the architecture in ways t2 does not implement: refuse them clearly. */
static int check_unsupported(const json_t *root, const char *path, t2_error *err) {
    const char *act = NULL;
    int got = t2_json_util_get_string(root, "hidden_act", &act, path, "", err);
    if (got < 0) return -1;
    if (got == 1 && strcmp(act, "silu") != 0)
        return t2_error_set(err, "%s: hidden_act '%s' is not supported; expected \"silu\"", path,
                            act);
    int mlp_bias = 0;
    if (t2_json_util_get_bool(root, "mlp_bias", &mlp_bias, path, "", err) < 0) return -1;
    if (mlp_bias)
        return t2_error_set(err, "%s: mlp_bias true is not supported; expected false", path);
    return 0;
}

static int parse_root(t2_model_config *cfg, const json_t *root, const char *path,
                      t2_error *err) {
    memset(cfg, 0, sizeof *cfg);
    const char *model_type = NULL;
    int got = t2_json_util_get_string(root, "model_type", &model_type, path, "", err);
    if (got < 0) return -1;
    if (got == 0)
        return t2_error_set(err, "%s: missing required key 'model_type'; expected one of "
                            SUPPORTED_TYPES, path);
    if (find_family(model_type) == NULL)
        return t2_error_set(err, "%s: model_type '%s' is not supported; expected one of "
                            SUPPORTED_TYPES, path, model_type);
    snprintf(cfg->model_type, sizeof cfg->model_type, "%s", model_type);
    if (require_int(root, "hidden_size", &cfg->hidden_size, path, err) ||
        require_int(root, "intermediate_size", &cfg->intermediate_size, path, err) ||
        require_int(root, "num_hidden_layers", &cfg->num_hidden_layers, path, err) ||
        require_int(root, "num_attention_heads", &cfg->num_attention_heads, path, err) ||
        require_int(root, "vocab_size", &cfg->vocab_size, path, err) ||
        require_int(root, "max_position_embeddings", &cfg->max_position_embeddings, path, err))
        return -1;
    if (check_range(path, "hidden_size", cfg->hidden_size, 1, MAX_WIDTH, err) ||
        check_range(path, "num_attention_heads", cfg->num_attention_heads, 1, MAX_HEADS, err))
        return -1;
    if (optional_int(root, "num_key_value_heads", cfg->num_attention_heads,
                     &cfg->num_key_value_heads, path, err))
        return -1;
    got = t2_json_util_get_int(root, "head_dim", &cfg->head_dim, path, "", err);
    if (got < 0) return -1;
    if (got == 0 && cfg->hidden_size % cfg->num_attention_heads != 0)
        return t2_error_set(err, "%s: num_attention_heads %lld does not divide hidden_size %lld; "
                            "expected a divisor (or an explicit head_dim)", path,
                            (long long)cfg->num_attention_heads, (long long)cfg->hidden_size);
    if (got == 0) cfg->head_dim = cfg->hidden_size / cfg->num_attention_heads;
    double eps = 0.0;
    got = t2_json_util_get_number(root, "rms_norm_eps", &eps, path, "", err);
    if (got < 0) return -1;
    if (got == 0)
        return t2_error_set(err, "%s: missing required key 'rms_norm_eps'; expected a number",
                            path);
    cfg->rms_norm_eps = (float)eps;
    cfg->rope_theta = 10000.0;
    if (t2_json_util_get_number(root, "rope_theta", &cfg->rope_theta, path, "", err) < 0 ||
        parse_rope_scaling(root, cfg, path, err) != 0 ||
        t2_json_util_get_bool(root, "tie_word_embeddings", &cfg->tie_word_embeddings, path, "",
                              err) < 0 ||
        check_unsupported(root, path, err) != 0)
        return -1;
    if (strcmp(model_type, "qwen2") == 0)
        cfg->attention_bias = 1; /* Qwen2Attention: q/k/v always biased, o_proj never */
    else if (strcmp(model_type, "llama") == 0 &&
             t2_json_util_get_bool(root, "attention_bias", &cfg->attention_bias, path, "",
                                   err) < 0)
        return -1;
    if (optional_int(root, "bos_token_id", -1, &cfg->bos_token_id, path, err) ||
        parse_eos(root, cfg, path, err) < 0)
        return -1;
    return validate(cfg, path, err);
}

int t2_model_config_parse(t2_model_config *cfg, const char *json_text, const char *path,
                          t2_error *err) {
    json_t *root = t2_json_util_parse_object(json_text, strlen(json_text), path,
                                             "a JSON object (Hugging Face config.json)", err);
    if (root == NULL) return -1;
    int status = parse_root(cfg, root, path, err);
    json_decref(root);
    return status;
}

/* "dir/name" as a heap string. */
static char *join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *path = t2_alloc(n);
    snprintf(path, n, "%s/%s", dir, name);
    return path;
}

/* generation_config.json's bos/eos ids, when present, replace config.json's. */
static int apply_generation_config(t2_model_config *cfg, const char *path, t2_error *err) {
    char *text = NULL;
    size_t len = 0;
    if (t2_file_read(path, &text, &len, err) != 0) return -1;
    json_t *root = t2_json_util_parse_object(text, len, path,
                                             "a JSON object (generation_config.json)", err);
    t2_free(text);
    if (root == NULL) return -1;
    int64_t bos = 0;
    int got = t2_json_util_get_int(root, "bos_token_id", &bos, path, "", err);
    if (got == 1) cfg->bos_token_id = bos;
    int status = got < 0 || parse_eos(root, cfg, path, err) < 0 ? -1 : 0;
    json_decref(root);
    return status == 0 ? validate(cfg, path, err) : -1;
}

int t2_model_config_load(t2_model_config *cfg, const char *model_dir, t2_error *err) {
    char *path = join(model_dir, "config.json");
    char *text = NULL;
    size_t len = 0;
    int status = t2_file_read(path, &text, &len, err);
    if (status == 0) {
        json_t *root = t2_json_util_parse_object(text, len, path,
                                                 "a JSON object (Hugging Face config.json)", err);
        status = root == NULL ? -1 : parse_root(cfg, root, path, err);
        json_decref(root);
    }
    t2_free(text);
    t2_free(path);
    if (status != 0) return -1;
    char *gen_path = join(model_dir, "generation_config.json");
    struct stat sb;
    if (stat(gen_path, &sb) == 0) status = apply_generation_config(cfg, gen_path, err);
    t2_free(gen_path);
    return status;
}

/* A growing text buffer for writing. */
typedef struct text_buf {
    char *data;
    size_t len, cap;
} text_buf;

static void append(text_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void append(text_buf *b, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        b->cap = 2 * b->cap + (size_t)n + 1;
        b->data = t2_realloc(b->data, b->cap);
    }
}

/* The shortest decimal that reads back as v (as a float when as_float), with ".0" added to
 * integral values as Python's json does. */
static void format_number(char *out, size_t size, double v, int as_float) {
    for (int digits = 1; digits <= 17; digits++) {
        snprintf(out, size, "%.*g", digits, v);
        double back = strtod(out, NULL);
        if (as_float ? (float)back == (float)v : back == v) break;
    }
    if (strpbrk(out, ".e") == NULL) strncat(out, ".0", size - strlen(out) - 1);
}

int t2_model_config_write(const t2_model_config *cfg, const char *path, t2_error *err) {
    if (validate(cfg, path, err) != 0) return -1;
    const model_family *family = find_family(cfg->model_type);
    text_buf b = {.data = t2_alloc(1024), .cap = 1024};
    char num[64];
    append(&b, "{\n  \"architectures\": [\"%s\"],\n", family->architecture);
    if (strcmp(cfg->model_type, "llama") == 0)
        append(&b, "  \"attention_bias\": %s,\n", cfg->attention_bias ? "true" : "false");
    if (cfg->bos_token_id >= 0)
        append(&b, "  \"bos_token_id\": %lld,\n", (long long)cfg->bos_token_id);
    else
        append(&b, "  \"bos_token_id\": null,\n");
    if (cfg->n_eos_token_ids == 1) {
        append(&b, "  \"eos_token_id\": %lld,\n", (long long)cfg->eos_token_ids[0]);
    } else {
        append(&b, "  \"eos_token_id\": %s", cfg->n_eos_token_ids ? "[" : "null");
        for (int i = 0; i < cfg->n_eos_token_ids; i++)
            append(&b, "%s%lld", i ? ", " : "", (long long)cfg->eos_token_ids[i]);
        append(&b, "%s,\n", cfg->n_eos_token_ids ? "]" : "");
    }
    append(&b, "  \"head_dim\": %lld,\n  \"hidden_act\": \"silu\",\n  \"hidden_size\": %lld,\n"
           "  \"intermediate_size\": %lld,\n  \"max_position_embeddings\": %lld,\n"
           "  \"model_type\": \"%s\",\n  \"num_attention_heads\": %lld,\n"
           "  \"num_hidden_layers\": %lld,\n  \"num_key_value_heads\": %lld,\n",
           (long long)cfg->head_dim, (long long)cfg->hidden_size,
           (long long)cfg->intermediate_size, (long long)cfg->max_position_embeddings,
           cfg->model_type, (long long)cfg->num_attention_heads,
           (long long)cfg->num_hidden_layers, (long long)cfg->num_key_value_heads);
    format_number(num, sizeof num, cfg->rms_norm_eps, 1);
    append(&b, "  \"rms_norm_eps\": %s,\n", num);
    if (cfg->rope_scaling_llama3) {
        append(&b, "  \"rope_scaling\": {\n");
        format_number(num, sizeof num, cfg->rope_factor, 0);
        append(&b, "    \"factor\": %s,\n", num);
        format_number(num, sizeof num, cfg->rope_high_freq_factor, 0);
        append(&b, "    \"high_freq_factor\": %s,\n", num);
        format_number(num, sizeof num, cfg->rope_low_freq_factor, 0);
        append(&b, "    \"low_freq_factor\": %s,\n", num);
        append(&b, "    \"original_max_position_embeddings\": %lld,\n"
               "    \"rope_type\": \"llama3\"\n  },\n",
               (long long)cfg->rope_original_max_position_embeddings);
    } else {
        append(&b, "  \"rope_scaling\": null,\n");
    }
    format_number(num, sizeof num, cfg->rope_theta, 0);
    append(&b, "  \"rope_theta\": %s,\n  \"tie_word_embeddings\": %s,\n"
           "  \"torch_dtype\": \"float32\",\n  \"vocab_size\": %lld\n}\n", num,
           cfg->tie_word_embeddings ? "true" : "false", (long long)cfg->vocab_size);
    int status = t2_file_write_atomic(path, b.data, b.len, err);
    t2_free(b.data);
    return status;
}

t2_model_config t2_model_config_llama(int64_t d, int64_t ffn, int64_t layers, int64_t heads,
                                      int64_t kv_heads, int64_t vocab, int64_t max_positions) {
    t2_model_config cfg;
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.model_type, sizeof cfg.model_type, "llama");
    cfg.hidden_size = d;
    cfg.intermediate_size = ffn;
    cfg.num_hidden_layers = layers;
    cfg.num_attention_heads = heads;
    cfg.num_key_value_heads = kv_heads;
    cfg.head_dim = d / heads;
    cfg.vocab_size = vocab;
    cfg.max_position_embeddings = max_positions;
    cfg.rms_norm_eps = 1e-5f;
    cfg.rope_theta = 10000.0;
    cfg.bos_token_id = -1;
    return cfg;
}

int64_t t2_model_config_param_count(const t2_model_config *cfg) {
    int64_t d = cfg->hidden_size, ffn = cfg->intermediate_size;
    int64_t q_width = cfg->num_attention_heads * cfg->head_dim;
    int64_t kv_width = cfg->num_key_value_heads * cfg->head_dim;
    int64_t per_layer = 2 * d                          /* the two RMSNorm weights */
                        + q_width * d + 2 * kv_width * d /* q, k, v */
                        + d * q_width                    /* o */
                        + 3 * ffn * d;                   /* gate, up, down */
    if (cfg->attention_bias) per_layer += q_width + 2 * kv_width;
    if (t2_model_config_o_proj_bias(cfg)) per_layer += d;
    int64_t embed = cfg->vocab_size * d;
    return embed + cfg->num_hidden_layers * per_layer + d + (cfg->tie_word_embeddings ? 0 : embed);
}
