/* The list of a model's tensors with views of their data (see model_tensors.h). */
#include "model/model_tensors.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"

typedef struct tensor_list {
    t2_model_tensor *items;
    int n, cap;
} tensor_list;

static void push(tensor_list *list, int64_t layer, const char *role, int64_t rows, int64_t cols,
                 t2_weight data) {
    if (list->n == list->cap) {
        list->cap = list->cap ? 2 * list->cap : 64;
        list->items = t2_realloc(list->items, (size_t)list->cap * sizeof *list->items);
    }
    t2_model_tensor *t = &list->items[list->n++];
    memset(t, 0, sizeof *t);
    if (layer >= 0)
        snprintf(t->name, sizeof t->name, "model.layers.%lld.%s", (long long)layer, role);
    else
        snprintf(t->name, sizeof t->name, "%s", role);
    t->layer = layer;
    t->role = role;
    t->n_dims = cols > 0 ? 2 : 1;
    t->shape[0] = rows;
    t->shape[1] = cols;
    t->data = data;
    T2_ASSERT(data.data != NULL);
}

/* A float32 vector as a view (only read). */
static t2_weight vector(const float *v) { return t2_weight_of_f32((float *)v); }

int t2_model_tensors_list(const t2_model_config *cfg, const t2_model_weights *w,
                          t2_model_tensor **out) {
    tensor_list list = {0};
    int64_t d = cfg->hidden_size, ffn = cfg->intermediate_size;
    int64_t q_width = cfg->num_attention_heads * cfg->head_dim;
    int64_t kv_width = cfg->num_key_value_heads * cfg->head_dim;
    int bias = cfg->attention_bias, o_bias = t2_model_config_o_proj_bias(cfg);
    push(&list, -1, "model.embed_tokens.weight", cfg->vocab_size, d, w->embed);
    for (int64_t l = 0; l < cfg->num_hidden_layers; l++) {
        const t2_layer_weights *lw = &w->layers[l];
        push(&list, l, "input_layernorm.weight", d, 0, vector(lw->input_norm));
        push(&list, l, "self_attn.q_proj.weight", q_width, d, lw->wq);
        if (bias) push(&list, l, "self_attn.q_proj.bias", q_width, 0, vector(lw->bq));
        push(&list, l, "self_attn.k_proj.weight", kv_width, d, lw->wk);
        if (bias) push(&list, l, "self_attn.k_proj.bias", kv_width, 0, vector(lw->bk));
        push(&list, l, "self_attn.v_proj.weight", kv_width, d, lw->wv);
        if (bias) push(&list, l, "self_attn.v_proj.bias", kv_width, 0, vector(lw->bv));
        push(&list, l, "self_attn.o_proj.weight", d, q_width, lw->wo);
        if (o_bias) push(&list, l, "self_attn.o_proj.bias", d, 0, vector(lw->bo));
        push(&list, l, "post_attention_layernorm.weight", d, 0, vector(lw->post_norm));
        push(&list, l, "mlp.gate_proj.weight", ffn, d, lw->w_gate);
        push(&list, l, "mlp.up_proj.weight", ffn, d, lw->w_up);
        push(&list, l, "mlp.down_proj.weight", d, ffn, lw->w_down);
    }
    push(&list, -1, "model.norm.weight", d, 0, vector(w->final_norm));
    if (!cfg->tie_word_embeddings)
        push(&list, -1, "lm_head.weight", cfg->vocab_size, d, w->lm_head);
    *out = list.items;
    return list.n;
}

int64_t t2_model_tensor_bytes(const t2_model_tensor *t, int64_t element_size) {
    return t->shape[0] * (t->n_dims == 2 ? t->shape[1] : 1) * element_size;
}
