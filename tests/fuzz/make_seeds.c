/* Writes the seed files of the fuzz targets that have no file among the test fixtures: the
 * binary formats t2 itself writes (safetensors, decomposition stores, experts, bundles,
 * checkpoints), each small, made with t2's own writers from the fixtures of
 * tests/bundle_fixture.c. Seeds only start the search: nothing is compared against them.
 * Run once by hand when a format changes (docs/reliability.md):
 *     build/tests/fuzz_make_seeds tests/fuzz/corpus
 * which (re)writes corpus/{safetensors,expert,bundle,checkpoint}/ files named *.seed.* .
 * The text seeds (JSON, libconfig, JSON lines, completions) are copies of fixtures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/file.h"
#include "bundle_fixture.h"
#include "model/config.h"
#include "model/decomposition_store.h"
#include "model/safetensors.h"
#include "model/weights.h"
#include "rl/bundle.h"
#include "rl/checkpoint.h"
#include "rl/expert.h"
#include "tiny_model.h"

static const char *out_dir;
static const char *const fingerprint = "0123456789abcdef";

static char *seed_path(const char *target, const char *name) {
    return t2_strdup_printf("%s/%s/%s", out_dir, target, name);
}

static void must(int status, const t2_error *err) {
    if (status == 0) return;
    fprintf(stderr, "make_seeds: %s\n", err->msg);
    exit(1);
}

static void write_bytes(const char *target, const char *name, const void *bytes, size_t len) {
    char *path = seed_path(target, name);
    t2_error err = {{0}};
    must(t2_file_write_atomic(path, bytes, len, &err), &err);
    t2_free(path);
}

/* Three dtypes and metadata; an empty header; the index of fuzz_safetensors.c's shards. */
static void safetensors_seeds(void) {
    static const float values[12] = {1, -2, 0.5f, 3, -0.25f, 8, 0, 1e-3f, 7, -7, 65504, 1e-8f};
    t2_safetensors_writer w;
    t2_safetensors_writer_init(&w);
    const int64_t s23[2] = {2, 3}, s4[1] = {4}, s22[2] = {2, 2};
    t2_safetensors_writer_add(&w, "model.embed_tokens.weight", T2_DTYPE_F32, 2, s23, values);
    t2_safetensors_writer_add(&w, "model.norm.weight", T2_DTYPE_F16, 1, s4, values);
    t2_safetensors_writer_add(&w, "lm_head.weight", T2_DTYPE_BF16, 2, s22, values + 4);
    t2_safetensors_writer_add_metadata(&w, "format", "pt");
    char *path = seed_path("safetensors", "three-dtypes.seed.safetensors");
    t2_error err = {{0}};
    must(t2_safetensors_writer_write(&w, path, &err), &err);
    t2_free(path);
    t2_safetensors_writer_free(&w);

    static const char empty[] = "\x02\0\0\0\0\0\0\0{}";
    write_bytes("safetensors", "empty.seed.safetensors", empty, sizeof empty - 1);
    static const char index[] =
        "{\"metadata\": {\"total_size\": 22}, \"weight_map\": {\"a\": \"shard-1.safetensors\", "
        "\"b\": \"shard-1.safetensors\", \"c\": \"shard-2.safetensors\"}}\n";
    write_bytes("safetensors", "index.seed.json", index, sizeof index - 1);
}

/* A decomposition store of two targets (3 x 2 and 2 x 4), factors counting up. */
static void store_seed(void) {
    t2_target items[2] = {{.name = "model.layers.0.mlp.up_proj.weight", .rows = 3, .cols = 2},
                          {.name = "model.layers.0.mlp.down_proj.weight", .rows = 2, .cols = 4}};
    t2_target_list targets = {.n = 2, .items = items};
    t2_decomposition_layout layout;
    t2_decomposition_layout_init(&layout, &targets, UINT64_C(0x0123456789abcdef),
                                 "precision=double", "model");
    unsigned char *bytes = t2_alloc_zero((size_t)layout.file_bytes);
    memcpy(bytes, layout.header, layout.header_bytes);
    for (int i = 0; i < layout.n; i++) {
        const t2_decomposition_slot *s = &layout.slots[i];
        int64_t offsets[3] = {s->u_offset, s->s_offset, s->v_offset};
        int64_t counts[3] = {s->rows * s->rank, s->rank, s->cols * s->rank};
        for (int f = 0; f < 3; f++)
            for (int64_t k = 0; k < counts[f]; k++) {
                float v = (float)(counts[f] - k);
                memcpy(bytes + offsets[f] + 4 * k, &v, sizeof v);
            }
    }
    write_bytes("safetensors", "store.seed.safetensors", bytes, (size_t)layout.file_bytes);
    t2_free(bytes);
    t2_decomposition_layout_free(&layout);
}

static void svf_member(t2_expert *e, const char *name, float shift) {
    float values[T2_BUNDLE_FIXTURE_SVF_PARAMS];
    for (int i = 0; i < T2_BUNDLE_FIXTURE_SVF_PARAMS; i++) values[i] = 0.25f * (float)i - shift;
    t2_bundle_fixture_svf(e, name, fingerprint, values);
}

static void expert_seeds(void) {
    t2_expert e;
    unsigned char *bytes;
    size_t len;
    svf_member(&e, "math", 1);
    t2_expert_pack(&e, &bytes, &len);
    write_bytes("expert", "svf.seed.expert", bytes, len);
    t2_free(bytes);
    t2_expert_free(&e);

    const t2_adapter_options lora = {.method = T2_ADAPTER_LORA, .lora_rank = 2,
                                     .lora_alpha = 4};
    const char *const tensors[1] = {"model.layers.0.self_attn.q_proj.weight"};
    const int64_t rows[1] = {3}, cols[1] = {2};
    float values[10];
    for (int i = 0; i < 10; i++) values[i] = 0.1f * (float)i;
    t2_bundle_fixture_expert(&e, "code", fingerprint, &lora, "code", 1, tensors, rows, cols,
                             values);
    t2_expert_pack(&e, &bytes, &len);
    write_bytes("expert", "lora.seed.expert", bytes, len);
    t2_free(bytes);
    t2_expert_free(&e);
}

static void bundle_seeds(void) {
    t2_expert members[3];
    svf_member(&members[0], "math", 1);
    svf_member(&members[1], "code", 2);
    svf_member(&members[2], "cls", 3);
    const char *const paths[3] = {"math.expert", "code.expert", "cls.expert"};
    t2_bundle b;
    t2_error err = {{0}};
    must(t2_bundle_create(&b, members, 2, &members[2], paths, &err), &err);
    unsigned char *bytes;
    size_t len;
    t2_bundle_pack(&b, &bytes, &len);
    write_bytes("bundle", "classifier.seed.bundle", bytes, len);
    t2_free(bytes);
    /* the same with a transfer record, as t2 transfer writes it */
    b.has_transfer = 1;
    snprintf(b.source_fingerprint, sizeof b.source_fingerprint, "fedcba9876543210");
    b.source_layers = 4;
    b.target_layers = 2;
    b.note = t2_strdup("layers by relative depth");
    t2_bundle_pack(&b, &bytes, &len);
    write_bytes("bundle", "transfer.seed.bundle", bytes, len);
    t2_free(bytes);
    t2_bundle_free(&b);
    for (int i = 0; i < 3; i++) t2_expert_free(&members[i]);
}

/* A TrainState of 5 parameters and a pretraining checkpoint of fuzz_checkpoint.c's model. */
static void checkpoint_seeds(void) {
    t2_train_state s;
    t2_train_state_init(&s, "fuzz-run", 5);
    for (int i = 0; i < 5; i++) {
        s.params[i] = (float)i;
        s.adam_m[i] = 0.5f * (float)i;
        s.adam_v[i] = 0.25f * (float)i;
        s.best_params[i] = -(float)i;
    }
    s.step = 7;
    s.best_step = 5;
    s.best_val_accuracy = 0.5;
    s.elapsed_seconds = 1.5;
    s.tokens = 1000;
    char *path = seed_path("checkpoint", "state.seed.ckpt");
    t2_error err = {{0}};
    must(t2_train_state_write(&s, path, &err), &err);
    t2_free(path);
    t2_train_state_free(&s);

    t2_model_config cfg;
    t2_fuzz_tiny_config(&cfg);
    t2_model_weights w, m, v;
    t2_model_weights_init(&w, &cfg);
    t2_model_weights_init(&m, &cfg);
    t2_model_weights_init(&v, &cfg);
    t2_model_weights_init_random(&w, &cfg, 1, 0.02f);
    path = seed_path("checkpoint", "pretrain.seed.safetensors");
    must(t2_checkpoint_write(path, &cfg, &w, &m, &v, 3, "fuzz-run", &err), &err);
    t2_free(path);
    t2_model_weights_free(&w);
    t2_model_weights_free(&m);
    t2_model_weights_free(&v);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR (tests/fuzz/corpus)\n", argv[0]);
        return 2;
    }
    out_dir = argv[1];
    safetensors_seeds();
    store_seed();
    expert_seeds();
    bundle_seeds();
    checkpoint_seeds();
    return 0;
}
