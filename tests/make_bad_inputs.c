/* Fixture generator for the `t2 inspect` tests of tests/model_io.cmake: writes into the
 * folder given as argv[1] a few good model folders and one broken input per validation rule
 * (safetensors headers built byte by byte, model folders with a tensor missing or misshapen,
 * bad config.json files, broken shard indexes). Runs as a FIXTURES_SETUP test. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "base/file.h"
#include "check.h"
#include "model/weights.h"

static const char *out_dir;

/* out_dir/a[/b] as a heap string. */
static char *path_of(const char *a, const char *b) {
    size_t n = strlen(out_dir) + strlen(a) + (b ? strlen(b) : 0) + 3;
    char *path = t2_alloc(n);
    snprintf(path, n, b ? "%s/%s/%s" : "%s/%s", out_dir, a, b);
    return path;
}

static char *make_dir(const char *name) {
    char *path = path_of(name, NULL);
    CHECK(mkdir(path, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", path, strerror(errno));
    return path;
}

static void write_text(const char *dir, const char *name, const char *text) {
    char *path = path_of(dir, name);
    t2_error err = {{0}};
    CHECK(t2_file_write_atomic(path, text, strlen(text), &err) == 0, "%s", err.msg);
    t2_free(path);
}

/* A safetensors file from raw parts: the header text (padded with spaces to a multiple of 8
 * unless declared_len is non-zero, which is then written as the header length) followed by
 * data_len zero bytes. */
static void write_raw(const char *name, const char *header, uint64_t declared_len,
                      size_t data_len) {
    size_t len = strlen(header), padded = (len + 7) / 8 * 8;
    uint64_t n = declared_len ? declared_len : padded;
    size_t total = 8 + padded + data_len;
    unsigned char *bytes = t2_alloc_zero(total);
    memcpy(bytes, &n, 8);
    memcpy(bytes + 8, header, len);
    memset(bytes + 8 + len, ' ', padded - len);
    char *path = path_of(name, NULL);
    t2_error err = {{0}};
    CHECK(t2_file_write_atomic(path, bytes, total, &err) == 0, "%s", err.msg);
    t2_free(path);
    t2_free(bytes);
}

static void write_bad_files(void) {
    char *path = path_of("truncated.safetensors", NULL);
    t2_error err = {{0}};
    CHECK(t2_file_write_atomic(path, "\x10\0\0\0\0", 5, &err) == 0, "%s", err.msg);
    t2_free(path);
    write_raw("header_past_end.safetensors", "{}", 4096, 16);
    write_raw("offsets_outside.safetensors",
              "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 0, 8);
    write_raw("end_before_begin.safetensors",
              "{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}}", 0, 8);
    write_raw("overlapping.safetensors",
              "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
              "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}", 0, 24);
    write_raw("unknown_dtype.safetensors",
              "{\"w\":{\"dtype\":\"Q4_K\",\"shape\":[4],\"data_offsets\":[0,16]}}", 0, 16);
    write_raw("size_mismatch.safetensors",
              "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,16]}}", 0, 16);
    write_raw("shape_overflow.safetensors",
              "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4],"
              "\"data_offsets\":[0,0]}}", 0, 0);
    write_raw("header_invalid_json.safetensors", "{\"w\": {\"dtype\": \"F32\", \"shape\": [2]",
              0, 8);
    write_raw("header_not_object.safetensors", "[1, 2, 3]", 0, 0);
    write_raw("duplicate_key.safetensors",
              "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
              "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 0, 8);
    write_raw("bad_metadata.safetensors", "{\"__metadata__\":{\"k\":1}}", 0, 0);
}

/* The tensors of a model, as the visitor hands them out. */
typedef struct tensor_ref {
    char name[96];
    int n_dims;
    int64_t shape[2];
    const float *data;
} tensor_ref;

typedef struct tensor_list {
    tensor_ref items[128];
    int n;
} tensor_list;

static void collect(void *ctx, const char *name, int n_dims, const int64_t *shape, float *data) {
    tensor_list *list = ctx;
    T2_ASSERT(list->n < 128);
    tensor_ref *t = &list->items[list->n++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->n_dims = n_dims;
    t->shape[0] = shape[0];
    t->shape[1] = n_dims > 1 ? shape[1] : 0;
    t->data = data;
}

/* A small model whose config.json goes into every model folder. */
typedef struct model {
    t2_model_config cfg;
    t2_model_weights weights;
    tensor_list tensors;
} model;

static void model_init(model *m, int tie) {
    memset(m, 0, sizeof *m);
    t2_model_config *cfg = &m->cfg;
    *cfg = t2_model_config_llama(16, 24, 4, 2, 1, 32, 64);
    cfg->tie_word_embeddings = tie;
    cfg->bos_token_id = 1;
    cfg->eos_token_ids[0] = 2;
    cfg->n_eos_token_ids = 1;
    t2_model_weights_init(&m->weights, cfg);
    t2_model_weights_init_random(&m->weights, cfg, 5, 0.02f);
    t2_model_weights_visit(&m->weights, cfg, collect, &m->tensors);
}

/* Which shard (0 or 1) tensor i goes to; -1 leaves it out. */
typedef int (*shard_rule)(const tensor_list *tensors, int i, int shard);

/* Writes shard `shard` of m (rule decides membership) to dir/file; shrink names a tensor
 * written one row short. */
static void write_shard(const model *m, const char *dir, const char *file, shard_rule rule,
                        int shard, const char *shrink) {
    t2_safetensors_writer w;
    t2_safetensors_writer_init(&w);
    for (int i = 0; i < m->tensors.n; i++) {
        const tensor_ref *t = &m->tensors.items[i];
        if (!rule(&m->tensors, i, shard)) continue;
        int64_t shape[2] = {t->shape[0], t->shape[1]};
        if (shrink != NULL && strcmp(t->name, shrink) == 0) shape[0]--;
        t2_safetensors_writer_add(&w, t->name, T2_DTYPE_BF16, t->n_dims, shape, t->data);
    }
    char *path = path_of(dir, file);
    t2_error err = {{0}};
    CHECK(t2_safetensors_writer_write(&w, path, &err) == 0, "%s", err.msg);
    t2_free(path);
    t2_safetensors_writer_free(&w);
}

static int all_tensors(const tensor_list *tensors, int i, int shard) { return 1; }

static int all_but_up3(const tensor_list *tensors, int i, int shard) {
    return strcmp(tensors->items[i].name, "model.layers.3.mlp.up_proj.weight") != 0;
}

static int first_half(const tensor_list *tensors, int i, int shard) {
    return (i < tensors->n / 2) == (shard == 0);
}

/* Like first_half, but the final norm is in both shards. */
static int norm_twice(const tensor_list *tensors, int i, int shard) {
    return first_half(tensors, i, shard) ||
           strcmp(tensors->items[i].name, "model.norm.weight") == 0;
}

static const char *shard_files[2] = {"model-00001-of-00002.safetensors",
                                     "model-00002-of-00002.safetensors"};

/* The index for a first_half split; with lie set, the first tensor of shard 2 is listed
 * under shard 1. */
static void write_index(const model *m, const char *dir, int lie) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    fprintf(f, "{\"metadata\": {\"total_size\": 0}, \"weight_map\": {");
    int half = m->tensors.n / 2;
    for (int i = 0; i < m->tensors.n; i++) {
        int shard = i < half || (lie && i == half) ? 0 : 1;
        fprintf(f, "%s\n  \"%s\": \"%s\"", i ? "," : "", m->tensors.items[i].name,
                shard_files[shard]);
    }
    fprintf(f, "\n}}\n");
    fclose(f);
    write_text(dir, "model.safetensors.index.json", text);
    free(text);
}

static void write_config(const model *m, const char *dir) {
    char *path = path_of(dir, "config.json");
    t2_error err = {{0}};
    CHECK(t2_model_config_write(&m->cfg, path, &err) == 0, "%s", err.msg);
    t2_free(path);
}

static void write_model_dirs(void) {
    model m, tied;
    model_init(&m, 0);
    model_init(&tied, 1);
    static const char *dirs[] = {"good", "good_sharded", "good_tied_with_lm_head",
                                 "missing_tensor", "shape_mismatch", "missing_shard",
                                 "absent_in_shard", "duplicate_across_shards",
                                 "index_invalid_json", "no_weights"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        t2_free(make_dir(dirs[i]));
        write_config(strncmp(dirs[i], "good_tied", 9) == 0 ? &tied : &m, dirs[i]);
    }
    write_shard(&m, "good", "model.safetensors", all_tensors, 0, NULL);
    write_text("good", "generation_config.json", "{\"eos_token_id\": [2, 3]}");
    for (int k = 0; k < 2; k++) {
        write_shard(&m, "good_sharded", shard_files[k], first_half, k, NULL);
        write_shard(&m, "absent_in_shard", shard_files[k], first_half, k, NULL);
        write_shard(&m, "duplicate_across_shards", shard_files[k], norm_twice, k, NULL);
    }
    write_index(&m, "good_sharded", 0);
    write_index(&m, "absent_in_shard", 1);
    write_index(&m, "duplicate_across_shards", 0);
    /* The tied model's file carries an lm_head anyway (ignored). */
    write_shard(&m, "good_tied_with_lm_head", "model.safetensors", all_tensors, 0, NULL);
    write_shard(&m, "missing_tensor", "model.safetensors", all_but_up3, 0, NULL);
    write_shard(&m, "shape_mismatch", "model.safetensors", all_tensors, 0, "model.norm.weight");
    write_shard(&m, "missing_shard", shard_files[0], first_half, 0, NULL);
    char *absent = path_of("missing_shard", shard_files[1]);
    unlink(absent);
    t2_free(absent);
    write_index(&m, "missing_shard", 0);
    write_text("index_invalid_json", "model.safetensors.index.json", "{\"weight_map\": {\"a\" ");
    t2_model_weights_free(&m.weights);
    t2_model_weights_free(&tied.weights);
}

/* Folders whose config.json (or generation_config.json) is broken. */
static void write_bad_configs(void) {
    static const char *good =
        "{\n  \"model_type\": \"llama\",\n  \"hidden_size\": 16,\n  \"intermediate_size\": 24,\n"
        "  \"num_hidden_layers\": 2,\n  \"num_attention_heads\": 4,\n  \"vocab_size\": 32,\n"
        "  \"max_position_embeddings\": 64,\n  \"rms_norm_eps\": 1e-05\n}\n";
    static const struct {
        const char *dir, *from, *to;
    } cases[] = {
        {"config_invalid_json", "\"hidden_size\": 16,", "\"hidden_size\": 16 16,"},
        {"config_missing_key", "  \"hidden_size\": 16,\n", ""},
        {"config_wrong_type", "\"num_hidden_layers\": 2", "\"num_hidden_layers\": \"2\""},
        {"config_unknown_type", "\"llama\"", "\"gpt2\""},
        {"config_heads", "\"num_attention_heads\": 4",
         "\"num_attention_heads\": 4, \"num_key_value_heads\": 3"},
        {"config_rope_type", "\"rms_norm_eps\"",
         "\"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4.0}, \"rms_norm_eps\""},
        {"generation_invalid_json", "", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *at = strstr(good, cases[i].from);
        CHECK(at != NULL, "'%s' not in the template", cases[i].from);
        size_t n = strlen(good) + strlen(cases[i].to) + 1;
        char *text = t2_alloc(n);
        snprintf(text, n, "%.*s%s%s", (int)(at - good), good, cases[i].to,
                 at + strlen(cases[i].from));
        t2_free(make_dir(cases[i].dir));
        write_text(cases[i].dir, "config.json", text);
        t2_free(text);
    }
    write_text("generation_invalid_json", "generation_config.json", "{\"eos_token_id\": [2,}");
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: make_bad_inputs OUT_DIR\n");
        return 2;
    }
    out_dir = argv[1];
    CHECK(mkdir(out_dir, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", out_dir,
          strerror(errno));
    write_bad_files();
    write_model_dirs();
    write_bad_configs();
    return t2_check_exit_code();
}
