/* A sharded model folder (model.safetensors.index.json naming two shards) opens and loads
 * exactly like the same model in one model.safetensors: same tensors, same bytes, same
 * weights; each shard is mapped once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/file.h"
#include "check.h"
#include "model/weights.h"

static t2_model_config small_config(void) {
    t2_model_config cfg;
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.model_type, sizeof cfg.model_type, "qwen2");
    cfg.hidden_size = 24;
    cfg.intermediate_size = 40;
    cfg.num_hidden_layers = 4;
    cfg.num_attention_heads = 6;
    cfg.num_key_value_heads = 2;
    cfg.head_dim = 4;
    cfg.vocab_size = 30;
    cfg.max_position_embeddings = 32;
    cfg.rms_norm_eps = 1e-6f;
    cfg.rope_theta = 1e6;
    cfg.attention_bias = 1;
    cfg.bos_token_id = -1;
    return cfg;
}

static char *join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *path = t2_alloc(n);
    snprintf(path, n, "%s/%s", dir, name);
    return path;
}

/* Splits the tensors between two writers (the first `split` visited go to shard 1) and
 * records the weight map. */
typedef struct shard_plan {
    t2_safetensors_writer *shards[2];
    int visited, split;
    FILE *index; /* the weight_map being written */
} shard_plan;

static const char *shard_names[2] = {"model-00001-of-00002.safetensors",
                                     "model-00002-of-00002.safetensors"};

static void add_to_shard(void *ctx, const char *name, int n_dims, const int64_t *shape,
                         float *data) {
    shard_plan *plan = ctx;
    int k = plan->visited++ < plan->split ? 0 : 1;
    t2_safetensors_writer_add(plan->shards[k], name, T2_DTYPE_BF16, n_dims, shape, data);
    fprintf(plan->index, "%s\n    \"%s\": \"%s\"", plan->visited > 1 ? "," : "", name,
            shard_names[k]);
}

static void write_sharded(const t2_model_weights *w, const t2_model_config *cfg,
                          const char *dir) {
    t2_safetensors_writer one, two;
    t2_safetensors_writer_init(&one);
    t2_safetensors_writer_init(&two);
    char *index_text = NULL;
    size_t index_len = 0;
    shard_plan plan = {.shards = {&one, &two}, .split = 20,
                       .index = open_memstream(&index_text, &index_len)};
    fprintf(plan.index, "{\n  \"metadata\": {\"total_size\": 0},\n  \"weight_map\": {");
    t2_model_weights_visit(w, cfg, add_to_shard, &plan);
    fprintf(plan.index, "\n  }\n}\n");
    fclose(plan.index);
    t2_error err = {{0}};
    for (int k = 0; k < 2; k++) {
        char *path = join(dir, shard_names[k]);
        CHECK(t2_safetensors_writer_write(plan.shards[k], path, &err) == 0, "%s", err.msg);
        t2_free(path);
    }
    char *index_path = join(dir, "model.safetensors.index.json");
    CHECK(t2_file_write_atomic(index_path, index_text, index_len, &err) == 0, "%s", err.msg);
    free(index_text);
    t2_free(index_path);
    t2_safetensors_writer_free(&one);
    t2_safetensors_writer_free(&two);
}

static void write_single(const t2_model_weights *w, const t2_model_config *cfg,
                         const char *dir) {
    t2_safetensors_writer writer;
    t2_safetensors_writer_init(&writer);
    t2_model_weights_add_to_writer(w, cfg, &writer, T2_DTYPE_BF16);
    char *path = join(dir, "model.safetensors");
    t2_error err = {{0}};
    CHECK(t2_safetensors_writer_write(&writer, path, &err) == 0, "%s", err.msg);
    t2_free(path);
    t2_safetensors_writer_free(&writer);
}

static void compare_files(const t2_safetensors *a, const t2_safetensors *b) {
    CHECK(a->n_tensors == b->n_tensors, "%d vs %d tensors", a->n_tensors, b->n_tensors);
    for (int i = 0; i < a->n_tensors && i < b->n_tensors; i++) {
        const t2_tensor_info *x = &a->tensors[i], *y = &b->tensors[i];
        int same = strcmp(x->name, y->name) == 0 && x->dtype == y->dtype &&
                   x->n_dims == y->n_dims && x->n_bytes == y->n_bytes &&
                   memcmp(x->shape, y->shape, sizeof x->shape) == 0 &&
                   memcmp(x->data, y->data, x->n_bytes) == 0;
        CHECK(same, "tensor %d: '%s' (single) differs from '%s' (sharded)", i, x->name, y->name);
    }
}

int main(void) {
    t2_model_config cfg = small_config();
    t2_model_weights w;
    t2_model_weights_init(&w, &cfg);
    t2_model_weights_init_random(&w, &cfg, 11, 0.3f);
    char *single_dir = t2_check_temp_dir("single"), *sharded_dir = t2_check_temp_dir("sharded");
    write_single(&w, &cfg, single_dir);
    write_sharded(&w, &cfg, sharded_dir);

    t2_safetensors single, sharded;
    t2_error err = {{0}};
    CHECK(t2_safetensors_open(&single, single_dir, &err) == 0, "%s", err.msg);
    CHECK(t2_safetensors_open(&sharded, sharded_dir, &err) == 0, "%s", err.msg);
    CHECK(single.n_files == 1 && single.index_path == NULL, "single file");
    CHECK(sharded.n_files == 2 && sharded.index_path != NULL &&
          strstr(sharded.index_path, "model.safetensors.index.json") != NULL,
          "each shard opened once: %d files", sharded.n_files);
    CHECK(t2_safetensors_find(&sharded, "model.embed_tokens.weight")->file_index == 0 &&
          t2_safetensors_find(&sharded, "lm_head.weight")->file_index == 1, "shard of tensors");
    compare_files(&single, &sharded);

    t2_model_weights from_single, from_sharded;
    t2_model_weights_init(&from_single, &cfg);
    t2_model_weights_init(&from_sharded, &cfg);
    CHECK(t2_model_weights_load(&from_single, &cfg, &single, &err) == 0, "%s", err.msg);
    CHECK(t2_model_weights_load(&from_sharded, &cfg, &sharded, &err) == 0, "%s", err.msg);
    CHECK(memcmp(from_single.slab, from_sharded.slab,
                 (size_t)from_single.slab_floats * sizeof(float)) == 0,
          "sharded and single-file loads give the same weights");
    int64_t bad = 0;
    for (int64_t i = 0; i < w.slab_floats; i++)
        bad += from_sharded.slab[i] != t2_dtype_bf16_to_f32(t2_dtype_f32_to_bf16(w.slab[i]));
    CHECK(bad == 0, "%lld loaded values differ from the bf16 rounding of the originals",
          (long long)bad);

    /* One shard opened alone holds only its own tensors. */
    char *shard_path = join(sharded_dir, shard_names[1]);
    t2_safetensors shard;
    CHECK(t2_safetensors_open(&shard, shard_path, &err) == 0, "%s", err.msg);
    CHECK(shard.n_tensors + 20 == sharded.n_tensors, "shard 2 holds %d tensors",
          shard.n_tensors);
    t2_safetensors_close(&shard);

    t2_model_weights_free(&from_single);
    t2_model_weights_free(&from_sharded);
    t2_safetensors_close(&single);
    t2_safetensors_close(&sharded);
    t2_model_weights_free(&w);
    char *paths[] = {join(single_dir, "model.safetensors"), join(sharded_dir, shard_names[0]),
                     shard_path, join(sharded_dir, "model.safetensors.index.json"), single_dir,
                     sharded_dir};
    for (int i = 0; i < 6; i++) {
        remove(paths[i]);
        t2_free(paths[i]);
    }
    return t2_check_exit_code();
}
