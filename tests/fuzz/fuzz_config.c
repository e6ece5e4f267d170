/* Fuzz target: a model folder's config.json and generation_config.json (model/config.c).
 * Every input is tried
 *   - as config.json text (t2_model_config_parse); when it is accepted, the parameter count
 *     is computed (no overflow within the accepted ranges) and the config goes through the
 *     writer and back: t2_model_config_write then t2_model_config_load must give the same
 *     config (t2 new-model and t2 pretrain write the config.json others read);
 *   - as generation_config.json beside a fixed config.json (the default model's) through
 *     t2_model_config_load, which applies its bos/eos ids and validates again.
 * Seeds: tests/fuzz/corpus/config/ (the assets' config.json files and generation configs). */
#include <string.h>

#include "base/alloc.h"
#include "base/file.h"
#include "harness.h"
#include "model/config.h"

static const char base_config[] =
    "{\"architectures\": [\"LlamaForCausalLM\"], \"attention_bias\": false, \"bos_token_id\": 256,"
    " \"eos_token_id\": 257, \"head_dim\": 32, \"hidden_act\": \"silu\", \"hidden_size\": 192,"
    " \"intermediate_size\": 512, \"max_position_embeddings\": 512, \"model_type\": \"llama\","
    " \"num_attention_heads\": 6, \"num_hidden_layers\": 4, \"num_key_value_heads\": 2,"
    " \"rms_norm_eps\": 1e-05, \"rope_scaling\": null, \"rope_theta\": 1e+04,"
    " \"tie_word_embeddings\": false, \"torch_dtype\": \"float32\", \"vocab_size\": 259}\n";

static char *gen_dir, *gen_path, *trip_dir, *trip_path;

static void setup(void) {
    gen_dir = t2_fuzz_path("gen");
    t2_fuzz_mkdir(gen_dir);
    char *config_path = t2_strdup_printf("%s/config.json", gen_dir);
    t2_fuzz_write(config_path, (const uint8_t *)base_config, strlen(base_config));
    t2_free(config_path);
    gen_path = t2_strdup_printf("%s/generation_config.json", gen_dir);
    trip_dir = t2_fuzz_path("trip");
    t2_fuzz_mkdir(trip_dir);
    trip_path = t2_strdup_printf("%s/config.json", trip_dir);
}

static int same(const t2_model_config *a, const t2_model_config *b) {
    if (strcmp(a->model_type, b->model_type) != 0 || a->hidden_size != b->hidden_size ||
        a->intermediate_size != b->intermediate_size ||
        a->num_hidden_layers != b->num_hidden_layers ||
        a->num_attention_heads != b->num_attention_heads ||
        a->num_key_value_heads != b->num_key_value_heads || a->head_dim != b->head_dim ||
        a->vocab_size != b->vocab_size ||
        a->max_position_embeddings != b->max_position_embeddings ||
        a->rms_norm_eps != b->rms_norm_eps || a->rope_theta != b->rope_theta ||
        a->rope_scaling_llama3 != b->rope_scaling_llama3 ||
        a->tie_word_embeddings != b->tie_word_embeddings ||
        a->attention_bias != b->attention_bias || a->bos_token_id != b->bos_token_id ||
        a->n_eos_token_ids != b->n_eos_token_ids)
        return 0;
    if (a->rope_scaling_llama3 &&
        (a->rope_factor != b->rope_factor || a->rope_low_freq_factor != b->rope_low_freq_factor ||
         a->rope_high_freq_factor != b->rope_high_freq_factor ||
         a->rope_original_max_position_embeddings != b->rope_original_max_position_embeddings))
        return 0;
    for (int i = 0; i < a->n_eos_token_ids; i++)
        if (a->eos_token_ids[i] != b->eos_token_ids[i]) return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (gen_dir == NULL) setup();
    t2_error err = {{0}};
    char *text = t2_fuzz_text(data, size);
    t2_model_config cfg, back;
    memset(&cfg, 0, sizeof cfg);
    if (t2_model_config_parse(&cfg, text, "config.json", &err) == 0) {
        t2_fuzz_require(t2_model_config_param_count(&cfg) > 0, "parameter count not positive");
        t2_fuzz_require(t2_model_config_write(&cfg, trip_path, &err) == 0, err.msg);
        memset(&back, 0, sizeof back);
        t2_fuzz_require(t2_model_config_load(&back, trip_dir, &err) == 0, err.msg);
        t2_fuzz_require(same(&cfg, &back), "config.json written and read back differs");
    }
    t2_free(text);

    t2_fuzz_write(gen_path, data, size);
    memset(&cfg, 0, sizeof cfg);
    t2_model_config_load(&cfg, gen_dir, &err);
    return 0;
}
