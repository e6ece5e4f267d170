/* A model -> one GGUF file for llama.cpp (see gguf_export.h): the keys, then the tensors
 * under GGUF names with the q/k rows reordered for the "llama" architecture. */
#include "model/gguf_export.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/file.h"
#include "model/gguf_vocab.h"
#include "model/gguf_write.h"
#include "model/json_util.h"
#include "model/model_tensors.h"
#include "model/rope.h"

/* HF role -> GGUF name within a block ("blk.N." prefix) or of the whole model. */
static const struct {
    const char *hf, *gguf;
} names[] = {
    {"model.embed_tokens.weight", "token_embd.weight"},
    {"model.norm.weight", "output_norm.weight"},
    {"lm_head.weight", "output.weight"},
    {"input_layernorm.weight", "attn_norm.weight"},
    {"self_attn.q_proj.weight", "attn_q.weight"},
    {"self_attn.q_proj.bias", "attn_q.bias"},
    {"self_attn.k_proj.weight", "attn_k.weight"},
    {"self_attn.k_proj.bias", "attn_k.bias"},
    {"self_attn.v_proj.weight", "attn_v.weight"},
    {"self_attn.v_proj.bias", "attn_v.bias"},
    {"self_attn.o_proj.weight", "attn_output.weight"},
    {"self_attn.o_proj.bias", "attn_output.bias"},
    {"post_attention_layernorm.weight", "ffn_norm.weight"},
    {"mlp.gate_proj.weight", "ffn_gate.weight"},
    {"mlp.up_proj.weight", "ffn_up.weight"},
    {"mlp.down_proj.weight", "ffn_down.weight"},
};

const char *t2_gguf_export_arch(const t2_model_config *cfg) {
    return strcmp(cfg->model_type, "qwen2") == 0 ? "qwen2" : "llama";
}

void t2_gguf_export_rope_order(int64_t n_heads, int64_t rows, int64_t *order) {
    int64_t hd = rows / n_heads, half = hd / 2;
    for (int64_t h = 0; h < n_heads; h++)
        for (int64_t i = 0; i < half; i++)
            for (int64_t j = 0; j < 2; j++) order[h * hd + 2 * i + j] = h * hd + j * half + i;
}

static t2_gguf_tensor_type tensor_type(t2_dtype dtype) {
    return dtype == T2_DTYPE_BF16 ? T2_GGUF_TENSOR_BF16
           : dtype == T2_DTYPE_F16 ? T2_GGUF_TENSOR_F16 : T2_GGUF_TENSOR_F32;
}

static uint32_t file_type(t2_dtype dtype) {
    return dtype == T2_DTYPE_BF16 ? 32 : dtype == T2_DTYPE_F16 ? 1 : 0;
}

/* "<arch>.<suffix>" into buf. */
static const char *key(char *buf, size_t size, const char *arch, const char *suffix) {
    snprintf(buf, size, "%s.%s", arch, suffix);
    return buf;
}

static void add_model_keys(t2_gguf_writer *w, const t2_model_config *cfg,
                           const t2_gguf_export_options *o) {
    const char *arch = t2_gguf_export_arch(cfg);
    char k[96];
    t2_gguf_writer_add_string(w, "general.architecture", arch);
    t2_gguf_writer_add_string(w, "general.name", o->name);
    t2_gguf_writer_add_u32(w, "general.file_type", file_type(o->dtype));
    t2_gguf_writer_add_u32(w, "general.quantization_version", 2);
    t2_gguf_writer_add_u32(w, key(k, sizeof k, arch, "vocab_size"), (uint32_t)cfg->vocab_size);
    t2_gguf_writer_add_u32(w, key(k, sizeof k, arch, "context_length"),
                           (uint32_t)cfg->max_position_embeddings);
    t2_gguf_writer_add_u32(w, key(k, sizeof k, arch, "embedding_length"),
                           (uint32_t)cfg->hidden_size);
    t2_gguf_writer_add_u32(w, key(k, sizeof k, arch, "block_count"),
                           (uint32_t)cfg->num_hidden_layers);
    t2_gguf_writer_add_u32(w, key(k, sizeof k, arch, "feed_forward_length"),
                           (uint32_t)cfg->intermediate_size);
    t2_gguf_writer_add_u32(w, key(k, sizeof k, arch, "attention.head_count"),
                           (uint32_t)cfg->num_attention_heads);
    t2_gguf_writer_add_u32(w, key(k, sizeof k, arch, "attention.head_count_kv"),
                           (uint32_t)cfg->num_key_value_heads);
    if (cfg->head_dim * cfg->num_attention_heads != cfg->hidden_size) {
        t2_gguf_writer_add_u32(w, key(k, sizeof k, arch, "attention.key_length"),
                               (uint32_t)cfg->head_dim);
        t2_gguf_writer_add_u32(w, key(k, sizeof k, arch, "attention.value_length"),
                               (uint32_t)cfg->head_dim);
    }
    t2_gguf_writer_add_u32(w, key(k, sizeof k, arch, "rope.dimension_count"),
                           (uint32_t)cfg->head_dim);
    t2_gguf_writer_add_f32(w, key(k, sizeof k, arch, "rope.freq_base"), (float)cfg->rope_theta);
    t2_gguf_writer_add_f32(w, key(k, sizeof k, arch, "attention.layer_norm_rms_epsilon"),
                           cfg->rms_norm_eps);
    if (o->expert != NULL) t2_gguf_writer_add_string(w, "t2.expert", o->expert);
}

/* tokenizer_config.json's pad_token (a string or an AddedToken's content) as an id, or -1. */
static int64_t pad_id(const char *src_dir, const t2_tokenizer *tok) {
    char *path = t2_model_dir_path(src_dir, "tokenizer_config.json"), *text = NULL;
    size_t len = 0;
    t2_error ignored = {{0}};
    int64_t id = -1;
    if (t2_file_read(path, &text, &len, &ignored) == 0) {
        json_t *root = json_loadb(text, len, 0, NULL);
        json_t *pad = json_object_get(root, "pad_token");
        if (json_is_object(pad)) pad = json_object_get(pad, "content");
        if (json_is_string(pad)) id = t2_tokenizer_token_id(tok, json_string_value(pad));
        json_decref(root);
    }
    t2_free(text);
    t2_free(path);
    return id;
}

static int add_vocab_keys(t2_gguf_writer *w, const char *src_dir, const t2_model_dir *m,
                          t2_error *err) {
    int32_t added_bos = -1, added_eos = -1;
    if (t2_tokenizer_config_added_ids(&m->tok_config, m->tok, &added_bos, &added_eos, err) != 0)
        return -1;
    t2_gguf_vocab_special s = {
        .bos = m->cfg.bos_token_id >= 0 ? m->cfg.bos_token_id
               : added_bos >= 0         ? added_bos
                                        : t2_tokenizer_bos_id(m->tok),
        .eos = m->cfg.n_eos_token_ids > 0 ? m->cfg.eos_token_ids[0] : added_eos,
        .pad = pad_id(src_dir, m->tok),
        .add_bos = added_bos >= 0,
        .add_eos = added_eos >= 0,
        .chat_template = m->tok_config.chat_template,
    };
    char *path = t2_model_dir_path(src_dir, "tokenizer.json");
    int status = t2_gguf_vocab_add(w, path, m->cfg.vocab_size, &s, err);
    t2_free(path);
    return status;
}

static const char *gguf_role(const char *hf_role) {
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(names[i].hf, hf_role) == 0) return names[i].gguf;
    return NULL;
}

/* What the tensors need until the write: row orders of q and k, permuted bias copies and
 * the rope factors. */
typedef struct keep {
    int64_t *q_order, *k_order;
    float **biases;
    int n_biases;
    float *rope_freqs;
} keep;

/* A bias reordered as the rows of its matrix (a copy kept in k). */
static t2_weight reorder_bias(keep *k, const float *bias, const int64_t *order, int64_t n) {
    float *copy = t2_alloc_array((size_t)n, sizeof *copy);
    for (int64_t r = 0; r < n; r++) copy[r] = bias[order[r]];
    k->biases = t2_realloc(k->biases, (size_t)(k->n_biases + 1) * sizeof *k->biases);
    k->biases[k->n_biases++] = copy;
    return t2_weight_of_f32(copy);
}

static void add_tensors(t2_gguf_writer *w, const t2_model_config *cfg, const t2_model_weights *mw,
                        t2_dtype dtype, keep *k) {
    int permute = strcmp(t2_gguf_export_arch(cfg), "llama") == 0;
    int64_t q_rows = cfg->num_attention_heads * cfg->head_dim;
    int64_t kv_rows = cfg->num_key_value_heads * cfg->head_dim;
    k->q_order = t2_alloc_array((size_t)q_rows, sizeof *k->q_order);
    k->k_order = t2_alloc_array((size_t)kv_rows, sizeof *k->k_order);
    t2_gguf_export_rope_order(cfg->num_attention_heads, q_rows, k->q_order);
    t2_gguf_export_rope_order(cfg->num_key_value_heads, kv_rows, k->k_order);
    t2_model_tensor *tensors = NULL;
    int n = t2_model_tensors_list(cfg, mw, &tensors);
    for (int i = 0; i < n; i++) {
        const t2_model_tensor *t = &tensors[i];
        char name[96];
        if (t->layer >= 0)
            snprintf(name, sizeof name, "blk.%lld.%s", (long long)t->layer, gguf_role(t->role));
        else
            snprintf(name, sizeof name, "%s", gguf_role(t->role));
        const int64_t *order = NULL;
        if (permute && strncmp(t->role, "self_attn.q_proj.", 17) == 0) order = k->q_order;
        if (permute && strncmp(t->role, "self_attn.k_proj.", 17) == 0) order = k->k_order;
        t2_weight data = t->data;
        if (t->n_dims == 1) {
            if (order != NULL) data = reorder_bias(k, t->data.f32, order, t->shape[0]);
            t2_gguf_writer_add_tensor(w, name, T2_GGUF_TENSOR_F32, 1, t->shape, data, NULL);
        } else {
            int64_t ne[2] = {t->shape[1], t->shape[0]};
            t2_gguf_writer_add_tensor(w, name, tensor_type(dtype), 2, ne, data, order);
        }
    }
    t2_free(tensors);
    if (cfg->rope_scaling_llama3) { /* llama.cpp divides each frequency by its factor */
        int64_t half = cfg->head_dim / 2;
        t2_model_config plain = *cfg;
        plain.rope_scaling_llama3 = 0;
        float *base = t2_alloc_array((size_t)half, sizeof *base);
        k->rope_freqs = t2_alloc_array((size_t)half, sizeof *k->rope_freqs);
        t2_rope_inv_freq(base, &plain);
        t2_rope_inv_freq(k->rope_freqs, cfg);
        for (int64_t i = 0; i < half; i++) k->rope_freqs[i] = base[i] / k->rope_freqs[i];
        t2_free(base);
        t2_gguf_writer_add_tensor(w, "rope_freqs.weight", T2_GGUF_TENSOR_F32, 1, &half,
                                  t2_weight_of_f32(k->rope_freqs), NULL);
    }
}

int t2_gguf_export_write(const char *src_dir, const t2_model_dir *m,
                         const t2_gguf_export_options *options, const char *out,
                         t2_error *err) {
    t2_gguf_writer w;
    t2_gguf_writer_init(&w);
    keep k = {0};
    add_model_keys(&w, &m->cfg, options);
    int status = add_vocab_keys(&w, src_dir, m, err);
    if (status == 0) {
        add_tensors(&w, &m->cfg, &m->weights, options->dtype, &k);
        status = t2_gguf_writer_write(&w, out, err);
    }
    t2_gguf_writer_free(&w);
    for (int i = 0; i < k.n_biases; i++) t2_free(k.biases[i]);
    t2_free(k.biases);
    t2_free(k.q_order);
    t2_free(k.k_order);
    t2_free(k.rope_freqs);
    return status;
}
