/* config.json parsing for llama / mistral / qwen2 / llama3 rope scaling (fields and defaults,
 * parameter counts against the published sizes of the real models), generation_config.json
 * overrides, write -> load round trips, and the error lines for bad values. */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/file.h"
#include "check.h"
#include "model/config.h"

/* meta-llama/Llama-2-7b-hf */
static const char *llama2 =
    "{\"architectures\": [\"LlamaForCausalLM\"], \"bos_token_id\": 1, \"eos_token_id\": 2,\n"
    " \"hidden_act\": \"silu\", \"hidden_size\": 4096, \"initializer_range\": 0.02,\n"
    " \"intermediate_size\": 11008, \"max_position_embeddings\": 4096, \"model_type\": \"llama\",\n"
    " \"num_attention_heads\": 32, \"num_hidden_layers\": 32, \"num_key_value_heads\": 32,\n"
    " \"pretraining_tp\": 1, \"rms_norm_eps\": 1e-05, \"rope_scaling\": null,\n"
    " \"tie_word_embeddings\": false, \"torch_dtype\": \"float16\", \"use_cache\": true,\n"
    " \"vocab_size\": 32000}";

/* mistralai/Mistral-7B-v0.1 (no head_dim, no num_key_value_heads defaults needed) */
static const char *mistral =
    "{\"architectures\":[\"MistralForCausalLM\"],\"bos_token_id\":1,\"eos_token_id\":2,"
    "\"hidden_act\":\"silu\",\"hidden_size\":4096,\"initializer_range\":0.02,"
    "\"intermediate_size\":14336,\"max_position_embeddings\":32768,\"model_type\":\"mistral\","
    "\"num_attention_heads\":32,\"num_hidden_layers\":32,\"num_key_value_heads\":8,"
    "\"rms_norm_eps\":1e-05,\"rope_theta\":10000.0,\"sliding_window\":4096,"
    "\"tie_word_embeddings\":false,\"torch_dtype\":\"bfloat16\",\"vocab_size\":32000}";

/* Qwen/Qwen2-0.5B */
static const char *qwen2 =
    "{\"architectures\":[\"Qwen2ForCausalLM\"],\"attention_dropout\":0.0,\"bos_token_id\":151643,"
    "\"eos_token_id\":151643,\"hidden_act\":\"silu\",\"hidden_size\":896,"
    "\"intermediate_size\":4864,\"max_position_embeddings\":131072,\"max_window_layers\":24,"
    "\"model_type\":\"qwen2\",\"num_attention_heads\":14,\"num_hidden_layers\":24,"
    "\"num_key_value_heads\":2,\"rms_norm_eps\":1e-06,\"rope_theta\":1000000.0,"
    "\"sliding_window\":131072,\"tie_word_embeddings\":true,\"torch_dtype\":\"bfloat16\","
    "\"use_sliding_window\":false,\"vocab_size\":151936}";

/* meta-llama/Llama-3.2-1B */
static const char *llama32 =
    "{\"architectures\":[\"LlamaForCausalLM\"],\"attention_bias\":false,\"bos_token_id\":128000,"
    "\"eos_token_id\":[128001,128008,128009],\"head_dim\":64,\"hidden_act\":\"silu\","
    "\"hidden_size\":2048,\"intermediate_size\":8192,\"max_position_embeddings\":131072,"
    "\"mlp_bias\":false,\"model_type\":\"llama\",\"num_attention_heads\":32,"
    "\"num_hidden_layers\":16,\"num_key_value_heads\":8,\"rms_norm_eps\":1e-05,"
    "\"rope_scaling\":{\"factor\":32.0,\"high_freq_factor\":4.0,\"low_freq_factor\":1.0,"
    "\"original_max_position_embeddings\":8192,\"rope_type\":\"llama3\"},"
    "\"rope_theta\":500000.0,\"tie_word_embeddings\":true,\"vocab_size\":128256}";

/* A small llama with every optional key absent. */
static const char *tiny =
    "{\"model_type\": \"llama\", \"hidden_size\": 64, \"intermediate_size\": 96,\n"
    " \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"vocab_size\": 100,\n"
    " \"max_position_embeddings\": 128, \"rms_norm_eps\": 1e-6}";

static void test_llama2(void) {
    t2_model_config cfg;
    t2_error err = {{0}};
    CHECK(t2_model_config_parse(&cfg, llama2, "llama2/config.json", &err) == 0, "%s", err.msg);
    CHECK(strcmp(cfg.model_type, "llama") == 0, "model_type %s", cfg.model_type);
    CHECK(cfg.hidden_size == 4096 && cfg.intermediate_size == 11008, "sizes");
    CHECK(cfg.num_hidden_layers == 32 && cfg.num_attention_heads == 32, "layers/heads");
    CHECK(cfg.num_key_value_heads == 32 && cfg.head_dim == 128, "kv %lld hd %lld",
          (long long)cfg.num_key_value_heads, (long long)cfg.head_dim);
    CHECK(cfg.vocab_size == 32000 && cfg.max_position_embeddings == 4096, "vocab/pos");
    CHECK(cfg.rms_norm_eps == 1e-5f, "eps %g", cfg.rms_norm_eps);
    CHECK(cfg.rope_theta == 10000.0, "rope_theta default %g", cfg.rope_theta);
    CHECK(!cfg.rope_scaling_llama3 && !cfg.tie_word_embeddings && !cfg.attention_bias, "flags");
    CHECK(cfg.bos_token_id == 1 && cfg.n_eos_token_ids == 1 && cfg.eos_token_ids[0] == 2, "ids");
    CHECK(t2_model_config_param_count(&cfg) == INT64_C(6738415616), "params %lld",
          (long long)t2_model_config_param_count(&cfg));
}

static void test_mistral(void) {
    t2_model_config cfg;
    t2_error err = {{0}};
    CHECK(t2_model_config_parse(&cfg, mistral, "mistral/config.json", &err) == 0, "%s",
          err.msg);
    CHECK(strcmp(cfg.model_type, "mistral") == 0, "model_type %s", cfg.model_type);
    CHECK(cfg.num_key_value_heads == 8 && cfg.head_dim == 128, "gqa");
    CHECK(cfg.intermediate_size == 14336 && cfg.max_position_embeddings == 32768, "sizes");
    CHECK(!cfg.attention_bias, "mistral has no biases");
    CHECK(t2_model_config_param_count(&cfg) == INT64_C(7241732096), "params %lld",
          (long long)t2_model_config_param_count(&cfg));
}

static void test_qwen2(void) {
    t2_model_config cfg;
    t2_error err = {{0}};
    CHECK(t2_model_config_parse(&cfg, qwen2, "qwen2/config.json", &err) == 0, "%s", err.msg);
    CHECK(strcmp(cfg.model_type, "qwen2") == 0, "model_type %s", cfg.model_type);
    CHECK(cfg.attention_bias == 1 && !t2_model_config_o_proj_bias(&cfg), "qwen2 q/k/v biases");
    CHECK(cfg.tie_word_embeddings == 1, "tied");
    CHECK(cfg.head_dim == 64 && cfg.num_key_value_heads == 2, "heads");
    CHECK(cfg.rope_theta == 1000000.0 && cfg.rms_norm_eps == 1e-6f, "rope/eps");
    CHECK(cfg.bos_token_id == 151643 && cfg.eos_token_ids[0] == 151643, "ids");
    CHECK(t2_model_config_param_count(&cfg) == INT64_C(494032768), "params %lld",
          (long long)t2_model_config_param_count(&cfg));
}

static void test_llama3_rope(void) {
    t2_model_config cfg;
    t2_error err = {{0}};
    CHECK(t2_model_config_parse(&cfg, llama32, "llama32/config.json", &err) == 0, "%s",
          err.msg);
    CHECK(cfg.rope_scaling_llama3 == 1, "llama3 rope scaling");
    CHECK(cfg.rope_factor == 32.0 && cfg.rope_low_freq_factor == 1.0 &&
          cfg.rope_high_freq_factor == 4.0, "factors %g %g %g", cfg.rope_factor,
          cfg.rope_low_freq_factor, cfg.rope_high_freq_factor);
    CHECK(cfg.rope_original_max_position_embeddings == 8192, "original max pos");
    CHECK(cfg.rope_theta == 500000.0, "theta %g", cfg.rope_theta);
    CHECK(cfg.n_eos_token_ids == 3 && cfg.eos_token_ids[0] == 128001 &&
          cfg.eos_token_ids[2] == 128009, "eos list (%d ids)", cfg.n_eos_token_ids);
    CHECK(cfg.head_dim == 64 && cfg.tie_word_embeddings, "head_dim / tie");
    CHECK(t2_model_config_param_count(&cfg) == INT64_C(1235814400), "params %lld",
          (long long)t2_model_config_param_count(&cfg));
}

static void test_defaults(void) {
    t2_model_config cfg;
    t2_error err = {{0}};
    CHECK(t2_model_config_parse(&cfg, tiny, "tiny/config.json", &err) == 0, "%s", err.msg);
    CHECK(cfg.num_key_value_heads == 4 && cfg.head_dim == 16, "kv/head_dim defaults");
    CHECK(cfg.rope_theta == 10000.0 && !cfg.tie_word_embeddings && !cfg.attention_bias,
          "defaults");
    CHECK(cfg.bos_token_id == -1 && cfg.n_eos_token_ids == 0, "no ids");
    /* embed 6400 + 2 * (128 + 4*4096 + 3*6144) + 64 + lm_head 6400 */
    CHECK(t2_model_config_param_count(&cfg) == 6400 + 2 * (128 + 16384 + 18432) + 64 + 6400,
          "params %lld", (long long)t2_model_config_param_count(&cfg));
}

/* The error line for a config text, which must contain want. */
static void expect_error(const char *json, const char *want) {
    t2_model_config cfg;
    t2_error err = {{0}};
    int status = t2_model_config_parse(&cfg, json, "m/config.json", &err);
    CHECK(status == -1, "parse of a bad config returned %d (want -1; wanted error '%s')", status,
          want);
    CHECK(strstr(err.msg, want) != NULL, "error '%s' does not contain '%s'", err.msg, want);
}

/* tiny with `from` replaced by `to` */
static char *tiny_with(const char *from, const char *to) {
    const char *at = strstr(tiny, from);
    CHECK(at != NULL, "'%s' is not in the tiny config", from);
    if (at == NULL) return t2_strdup(tiny);
    size_t n = strlen(tiny) - strlen(from) + strlen(to) + 1;
    char *out = t2_alloc(n);
    snprintf(out, n, "%.*s%s%s", (int)(at - tiny), tiny, to, at + strlen(from));
    return out;
}

static void expect_tiny_error(const char *from, const char *to, const char *want) {
    char *json = tiny_with(from, to);
    expect_error(json, want);
    t2_free(json);
}

static void test_errors(void) {
    expect_tiny_error("\"hidden_size\": 64, ", "",
                      "m/config.json: missing required key 'hidden_size'; expected an integer");
    expect_tiny_error("\"rms_norm_eps\": 1e-6", "\"rope_theta\": 1",
                      "m/config.json: missing required key 'rms_norm_eps'; expected a number");
    expect_tiny_error("\"num_hidden_layers\": 2", "\"num_hidden_layers\": \"2\"",
                      "m/config.json: key 'num_hidden_layers' is a string; expected an integer");
    expect_tiny_error("\"hidden_size\": 64", "\"hidden_size\": 64.5",
                      "key 'hidden_size' is a real number; expected an integer");
    expect_tiny_error("1e-6}", "1e-6, \"tie_word_embeddings\": 1}",
                      "key 'tie_word_embeddings' is an integer; expected true or false");
    expect_tiny_error("\"llama\"", "\"gpt2\"",
                      "model_type 'gpt2' is not supported; expected one of llama, mistral, qwen2");
    expect_tiny_error("\"num_attention_heads\": 4", "\"num_attention_heads\": 5",
                      "num_attention_heads 5 does not divide hidden_size 64");
    expect_tiny_error("\"num_attention_heads\": 4",
                      "\"num_attention_heads\": 4, \"num_key_value_heads\": 3",
                      "num_key_value_heads 3 does not divide num_attention_heads 4");
    expect_tiny_error("\"num_hidden_layers\": 2", "\"num_hidden_layers\": 0",
                      "key 'num_hidden_layers' is 0; expected an integer in [1, ");
    expect_tiny_error("\"intermediate_size\": 96", "\"intermediate_size\": -96",
                      "key 'intermediate_size' is -96");
    expect_tiny_error("1e-6}", "1e-6, \"rope_scaling\": {\"type\": \"linear\", \"factor\": 2}}",
                      "rope_scaling type 'linear' is not supported; expected \"llama3\" or null");
    expect_tiny_error("1e-6}", "1e-6, \"rope_scaling\": {\"rope_type\": \"llama3\", "
                      "\"factor\": 8, \"low_freq_factor\": 1, \"high_freq_factor\": 4}}",
                      "missing required key 'rope_scaling.original_max_position_embeddings'");
    expect_tiny_error("1e-6}", "1e-6, \"rope_scaling\": {\"rope_type\": \"llama3\", "
                      "\"factor\": \"8\"}}", "key 'rope_scaling.factor' is a string");
    expect_tiny_error("1e-6}", "1e-6, \"eos_token_id\": [1, \"2\"]}",
                      "key 'eos_token_id' element 1 is a string; expected an integer");
    expect_tiny_error("1e-6}", "1e-6, \"eos_token_id\": 100}",
                      "eos_token_id 100 is outside the vocabulary");
    expect_tiny_error("1e-6}", "1e-6, \"hidden_act\": \"gelu\"}",
                      "hidden_act 'gelu' is not supported; expected \"silu\"");
    expect_tiny_error("1e-6}", "1e-6, \"mlp_bias\": true}", "mlp_bias true is not supported");
    expect_tiny_error("\"hidden_size\": 64,", "\"hidden_size\": 64,,",
                      "m/config.json: invalid JSON at line 1 column 43");
    expect_error("[1, 2]", "m/config.json: the JSON text is an array; expected a JSON object");
}

static char *write_text(const char *dir, const char *name, const char *text) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *path = t2_alloc(n);
    snprintf(path, n, "%s/%s", dir, name);
    t2_error err = {{0}};
    CHECK(t2_file_write_atomic(path, text, strlen(text), &err) == 0, "%s", err.msg);
    return path;
}

static void test_load_and_generation_config(void) {
    char *dir = t2_check_temp_dir("config");
    t2_free(write_text(dir, "config.json", llama2));
    t2_model_config cfg;
    t2_error err = {{0}};
    CHECK(t2_model_config_load(&cfg, dir, &err) == 0, "%s", err.msg);
    CHECK(cfg.eos_token_ids[0] == 2 && cfg.bos_token_id == 1, "ids from config.json");
    t2_free(write_text(dir, "generation_config.json",
                       "{\"bos_token_id\": 5, \"eos_token_id\": [2, 7], \"do_sample\": true}"));
    CHECK(t2_model_config_load(&cfg, dir, &err) == 0, "%s", err.msg);
    CHECK(cfg.bos_token_id == 5 && cfg.n_eos_token_ids == 2 && cfg.eos_token_ids[1] == 7,
          "generation_config overrides: bos %lld, %d eos", (long long)cfg.bos_token_id,
          cfg.n_eos_token_ids);
    char *gen = write_text(dir, "generation_config.json", "{\"eos_token_id\": }");
    CHECK(t2_model_config_load(&cfg, dir, &err) == -1, "bad generation_config accepted");
    CHECK(strstr(err.msg, "generation_config.json: invalid JSON at line 1") != NULL, "%s",
          err.msg);
    remove(gen);
    t2_free(gen);
    char *config = write_text(dir, "config.json", "{\"model_type\": \"llama\", \"hidden_size\": 8");
    CHECK(t2_model_config_load(&cfg, dir, &err) == -1, "truncated config accepted");
    CHECK(strstr(err.msg, "config.json: invalid JSON at line 1") != NULL, "%s", err.msg);
    remove(config);
    t2_free(config);
    CHECK(t2_model_config_load(&cfg, dir, &err) == -1 &&
          strstr(err.msg, "config.json: cannot open") != NULL, "absent config: '%s'", err.msg);
    remove(dir);
    t2_free(dir);
}

/* write(parse(text)) then parse again gives the same struct. */
static void check_round_trip(const char *text) {
    char *dir = t2_check_temp_dir("config-rt");
    size_t n = strlen(dir) + 16;
    char *path = t2_alloc(n);
    snprintf(path, n, "%s/config.json", dir);
    t2_model_config cfg, back;
    t2_error err = {{0}};
    CHECK(t2_model_config_parse(&cfg, text, "in", &err) == 0, "%s", err.msg);
    CHECK(t2_model_config_write(&cfg, path, &err) == 0, "%s", err.msg);
    CHECK(t2_model_config_load(&back, dir, &err) == 0, "%s", err.msg);
    CHECK(memcmp(&cfg, &back, sizeof cfg) == 0, "round trip of %s changed the config",
          cfg.model_type);
    char *written = NULL;
    size_t len = 0;
    CHECK(t2_file_read(path, &written, &len, &err) == 0, "%s", err.msg);
    CHECK(strstr(written, "\"torch_dtype\": \"float32\"") != NULL, "torch_dtype missing");
    CHECK(strstr(written, "ForCausalLM\"]") != NULL, "architectures missing");
    t2_free(written);
    remove(path);
    remove(dir);
    t2_free(path);
    t2_free(dir);
}

static void test_write(void) {
    check_round_trip(llama2);
    check_round_trip(mistral);
    check_round_trip(qwen2);
    check_round_trip(llama32);
    check_round_trip(tiny);
    t2_model_config cfg;
    t2_error err = {{0}};
    CHECK(t2_model_config_parse(&cfg, qwen2, "in", &err) == 0, "%s", err.msg);
    cfg.attention_bias = 0;
    CHECK(t2_model_config_write(&cfg, "/nonexistent/config.json", &err) == -1 &&
          strstr(err.msg, "attention_bias is false; expected true") != NULL,
          "inconsistent qwen2 config written: '%s'", err.msg);
}

int main(void) {
    test_llama2();
    test_mistral();
    test_qwen2();
    test_llama3_rope();
    test_defaults();
    test_errors();
    test_load_and_generation_config();
    test_write();
    return t2_check_exit_code();
}
