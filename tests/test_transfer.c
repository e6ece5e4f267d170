/* rl/transfer.h: cross-model transfer of expert bundles, on bundles built in memory and tiny
 * target "models" (a safetensors file with just the adapted matrices and a config's layer
 * count).
 *   - t2_transfer_resample: hand-computed r = 8 -> 3 and 3 -> 5, the r' = 1 and r = 1 edges,
 *     and n -> n copies bit for bit;
 *   - a hand-computed example: 4 layers -> 2, 3 and 1, r = 8 -> r' = 3, two matrix kinds
 *     listed out of name order (the new targets come in name order, with the target's
 *     shapes), linear source values 100 k + 10 l + i²; the classifier is mapped too; the
 *     transfer record and its note;
 *   - identity: equal layer counts and shapes give the source's masks bit for bit (sigmoid:
 *     max_mult σ(p); linear: the parameters themselves), with names, tasks, config, summary,
 *     the renormalize flag (on and off) kept, the target's fingerprint, and a bundle that
 *     survives pack/unpack and is accepted on the target model but refused on the source;
 *   - refusals, each one line with its reason and the output zeroed: lora experts, a bundle
 *     already transferred, a bundle already made for the target, a target not on a block,
 *     a missing layer, a target listed twice, a matrix the target model lacks or has as a
 *     vector. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "base/rng.h"
#include "bundle_fixture.h"
#include "check.h"
#include "model/safetensors.h"
#include "rl/bundle.h"
#include "rl/transfer.h"

static const char *const src_fp = "0123456789abcdef";
static const char *const dst_fp = "fedcba9876543210";
static char *temp_dir;

/* ---- building sources and targets ---- */

/* A matrix kind on every layer: <rest>, rows x cols. */
typedef struct kind {
    const char *rest;
    int64_t rows, cols;
} kind;

/* A tiny target model: a safetensors file holding model.layers.<l>.<rest> (zeros) for every
 * kind on every layer l < layers, plus a config of that layer count. */
typedef struct tiny_model {
    char *path;
    t2_model_config cfg;
    t2_safetensors st;
    t2_transfer_target target;
} tiny_model;

static void tiny_model_init(tiny_model *m, const char *file, int64_t layers, const kind *kinds,
                            int n_kinds) {
    memset(m, 0, sizeof *m);
    m->path = t2_bundle_fixture_path(temp_dir, file);
    m->cfg.num_hidden_layers = layers;
    t2_safetensors_writer w;
    t2_safetensors_writer_init(&w);
    char **names = t2_alloc_array((size_t)(layers * n_kinds), sizeof *names);
    float *zeros = t2_alloc_array(4096, sizeof *zeros);
    for (int64_t l = 0; l < layers; l++) {
        for (int k = 0; k < n_kinds; k++) {
            char **name = &names[l * n_kinds + k];
            *name = t2_strdup_printf("model.layers.%lld.%s", (long long)l, kinds[k].rest);
            const int64_t shape[2] = {kinds[k].rows, kinds[k].cols};
            int n_dims = kinds[k].cols == 0 ? 1 : 2; /* cols 0: a vector of rows values */
            T2_ASSERT(kinds[k].rows * (n_dims == 2 ? kinds[k].cols : 1) <= 4096);
            t2_safetensors_writer_add(&w, *name, T2_DTYPE_F32, n_dims, shape, zeros);
        }
    }
    t2_error err = {{0}};
    CHECK(t2_safetensors_writer_write(&w, m->path, &err) == 0, "%s", err.msg);
    CHECK(t2_safetensors_open(&m->st, m->path, &err) == 0, "%s", err.msg);
    t2_safetensors_writer_free(&w);
    for (int64_t i = 0; i < layers * n_kinds; i++) t2_free(names[i]);
    t2_free(names);
    t2_free(zeros);
    m->target = (t2_transfer_target){.path = m->path, .cfg = &m->cfg, .st = &m->st,
                                     .fingerprint = dst_fp};
}

static void tiny_model_free(tiny_model *m) {
    t2_safetensors_close(&m->st);
    unlink(m->path);
    t2_free(m->path);
}

/* The value of source parameter i of kind k on layer l for member `member`. */
typedef float (*value_fn)(int member, int k, int64_t l, int64_t i);

/* An expert named name of options o adapting every kind on layers 0 .. layers-1 (layer-major,
 * kinds in the given order), values from fn. */
static void make_expert(t2_expert *e, const char *name, int member, const t2_adapter_options *o,
                        int64_t layers, const kind *kinds, int n_kinds, value_fn fn) {
    int n = (int)(layers * n_kinds);
    char **tensors = t2_alloc_array((size_t)n, sizeof *tensors);
    int64_t *rows = t2_alloc_array((size_t)n, sizeof *rows);
    int64_t *cols = t2_alloc_array((size_t)n, sizeof *cols);
    float *values = t2_alloc_array(65536, sizeof *values);
    int64_t at = 0;
    for (int64_t l = 0; l < layers; l++) {
        for (int k = 0; k < n_kinds; k++) {
            int t = (int)(l * n_kinds + k);
            tensors[t] = t2_strdup_printf("model.layers.%lld.%s", (long long)l, kinds[k].rest);
            rows[t] = kinds[k].rows;
            cols[t] = kinds[k].cols;
            int64_t r = rows[t] < cols[t] ? rows[t] : cols[t];
            int64_t len = o->method == T2_ADAPTER_LORA ? o->lora_rank * (rows[t] + cols[t]) : r;
            for (int64_t i = 0; i < len; i++) values[at++] = fn(member, k, l, i);
        }
    }
    t2_bundle_fixture_expert(e, name, src_fp, o, name, n, (const char *const *)tensors, rows,
                             cols, values);
    for (int t = 0; t < n; t++) t2_free(tensors[t]);
    t2_free(tensors);
    t2_free(rows);
    t2_free(cols);
    t2_free(values);
}

/* A bundle of experts math and code (members 0, 1) and, when asked, the classifier cls
 * (member 2). */
static void make_bundle(t2_bundle *b, const t2_adapter_options *o, int64_t layers,
                        const kind *kinds, int n_kinds, value_fn fn, int with_classifier) {
    static const char *const names[3] = {"math", "code", "cls"};
    static const char *const paths[3] = {"math.expert", "code.expert", "cls.expert"};
    t2_expert e[3];
    for (int m = 0; m < 3; m++) make_expert(&e[m], names[m], m, o, layers, kinds, n_kinds, fn);
    t2_error err = {{0}};
    CHECK(t2_bundle_create(b, e, 2, with_classifier ? &e[2] : NULL, paths, &err) == 0,
          "create: %s", err.msg);
    for (int m = 0; m < 3; m++) t2_expert_free(&e[m]);
}

static const t2_adapter_options linear = {.method = T2_ADAPTER_SVF,
                                          .parametrization = T2_SVF_LINEAR, .max_mult = 2,
                                          .renormalize = 1};
static const t2_adapter_options sigmoid = {.method = T2_ADAPTER_SVF,
                                           .parametrization = T2_SVF_SIGMOID, .max_mult = 2,
                                           .renormalize = 1};

/* ---- resample ---- */

static void test_resample(void) {
    const float squares[8] = {0, 1, 4, 9, 16, 25, 36, 49};
    double out[8];
    /* q = 0, 3.5, 7 */
    t2_transfer_resample(out, 3, squares, 8);
    const double want3[3] = {0, 12.5, 49};
    t2_check_close_double("8 -> 3", out, want3, 3, 0, 0);
    /* q = 0, 0.5, 1, 1.5, 2 */
    const float three[3] = {1, 2, 4};
    double out5[5];
    t2_transfer_resample(out5, 5, three, 3);
    const double want5[5] = {1, 1.5, 2, 3, 4};
    t2_check_close_double("3 -> 5", out5, want5, 5, 0, 0);
    t2_transfer_resample(out, 1, squares + 3, 5);
    CHECK(out[0] == 9, "5 -> 1 gave %g; expected the first value 9", out[0]);
    const float one = 0.3f;
    t2_transfer_resample(out, 4, &one, 1);
    for (int j = 0; j < 4; j++)
        CHECK(out[j] == (double)one, "1 -> 4 value %d: %.17g; expected %.17g", j, out[j],
              (double)one);
    float odd[7];
    for (int i = 0; i < 7; i++) odd[i] = 1.0f / (float)(i + 3);
    double same[7];
    t2_transfer_resample(same, 7, odd, 7);
    for (int i = 0; i < 7; i++)
        CHECK((float)same[i] == odd[i] && same[i] == (double)odd[i],
              "7 -> 7 value %d: %.17g; expected %.17g exactly", i, same[i], (double)odd[i]);
}

/* ---- the hand-computed example ---- */

/* 100 k + 10 l + i² (member 2, the classifier: negated) */
static float hand_value(int member, int k, int64_t l, int64_t i) {
    float v = (float)(100 * k + 10 * l + i * i);
    return member == 2 ? -v : v;
}

/* Source: up_proj [8, 10] then down_proj [10, 8] (r = 8 each) on 4 layers. Target: up_proj
 * [3, 7] and down_proj [5, 3] (r' = 3). Source layer of target layer l' (4 -> layers):
 * 4 -> 2: 0, 3; 4 -> 3: 0, 1.5, 3; 4 -> 1: 0. Singular values 0, 3.5, 7: i² gives 0, 12.5, 49. */
static void test_hand(int64_t layers, const double *src_layer, const char *note) {
    const kind src_kinds[2] = {{"mlp.up_proj.weight", 8, 10}, {"mlp.down_proj.weight", 10, 8}};
    const kind dst_kinds[2] = {{"mlp.up_proj.weight", 3, 7}, {"mlp.down_proj.weight", 5, 3}};
    t2_bundle src, out;
    make_bundle(&src, &linear, 4, src_kinds, 2, hand_value, 1);
    tiny_model m;
    tiny_model_init(&m, "hand.safetensors", layers, dst_kinds, 2);
    t2_error err = {{0}};
    if (t2_transfer_bundle(&out, &src, "hand.t2b", &m.target, &err) != 0) {
        CHECK(0, "4 -> %lld layers: %s", (long long)layers, err.msg);
        goto done;
    }
    CHECK(out.n == 2 && out.has_classifier && out.has_transfer && out.source_layers == 4 &&
              out.target_layers == layers && strcmp(out.source_fingerprint, src_fp) == 0 &&
              strcmp(out.model_fingerprint, dst_fp) == 0,
          "4 -> %lld: %d experts, classifier %d, transfer %d from %s (%lld layers) to %lld "
          "layers; expected 2 experts, the classifier, from %s (4) to %lld", (long long)layers,
          out.n, out.has_classifier, out.has_transfer, out.source_fingerprint,
          (long long)out.source_layers, (long long)out.target_layers, src_fp,
          (long long)layers);
    CHECK(out.note != NULL && strstr(out.note, note) != NULL, "note '%s'; expected '%s' in it",
          out.note != NULL ? out.note : "(null)", note);
    for (int member = 0; member < 3; member++) {
        const t2_expert *e = member < 2 ? &out.experts[member] : &out.classifier;
        CHECK(e->n == 2 * layers && e->n_params == 6 * layers,
              "'%s': %d targets, %lld parameters; expected %lld, %lld", e->name, e->n,
              (long long)e->n_params, (long long)(2 * layers), (long long)(6 * layers));
        if (e->n != 2 * layers) continue;
        for (int64_t l = 0; l < layers; l++) {
            /* name order: down_proj (kind 1) before up_proj (kind 0) */
            for (int pos = 0; pos < 2; pos++) {
                int t = (int)(2 * l + pos), k = pos == 0 ? 1 : 0;
                char *name = t2_strdup_printf("model.layers.%lld.%s", (long long)l,
                                              dst_kinds[k].rest);
                CHECK(strcmp(e->tensors[t], name) == 0 && e->rows[t] == dst_kinds[k].rows &&
                          e->cols[t] == dst_kinds[k].cols && e->lengths[t] == 3 &&
                          e->offsets[t] == 3 * t,
                      "'%s' target %d: %s [%lld, %lld] at %lld (%lld); expected %s [%lld, %lld] "
                      "at %d (3)", e->name, t, e->tensors[t], (long long)e->rows[t],
                      (long long)e->cols[t], (long long)e->offsets[t], (long long)e->lengths[t],
                      name, (long long)dst_kinds[k].rows, (long long)dst_kinds[k].cols, 3 * t);
                double sign = member == 2 ? -1 : 1;
                double base = sign * (100.0 * k + 10.0 * src_layer[l]);
                const double want[3] = {base, base + sign * 12.5, base + sign * 49};
                double got[3];
                for (int j = 0; j < 3; j++) got[j] = e->params[3 * t + j];
                t2_check_close_double(name, got, want, 3, 0, 0);
                t2_free(name);
            }
        }
    }
    t2_bundle_free(&out);
done:
    tiny_model_free(&m);
    t2_bundle_free(&src);
}

/* ---- identity ---- */

static float random_value(int member, int k, int64_t l, int64_t i) {
    t2_rng rng;
    t2_rng_init(&rng, (uint64_t)(1000 * member + 100 * k + 10 * l + i));
    return 3.0f * t2_rng_normal(&rng);
}

static float mask_of(const t2_adapter_options *o, float p) {
    if (o->parametrization == T2_SVF_LINEAR) return p;
    return (float)((double)o->max_mult / (1.0 + exp(-(double)p)));
}

/* Same layer count and shapes (names in name order already): every value is the mask. */
static void test_identity(const t2_adapter_options *o) {
    const kind kinds[2] = {{"mlp.up_proj.weight", 4, 6}, {"self_attn.q_proj.weight", 6, 6}};
    t2_bundle src, out;
    make_bundle(&src, o, 3, kinds, 2, random_value, 1);
    tiny_model m;
    tiny_model_init(&m, "same.safetensors", 3, kinds, 2);
    t2_error err = {{0}};
    if (t2_transfer_bundle(&out, &src, "same.t2b", &m.target, &err) != 0) {
        CHECK(0, "same shapes: %s", err.msg);
        goto done;
    }
    CHECK(out.note != NULL && strstr(out.note, "copied exactly") != NULL,
          "note '%s'; expected 'copied exactly'", out.note != NULL ? out.note : "(null)");
    for (int member = 0; member < 3; member++) {
        const t2_expert *e = member < 2 ? &out.experts[member] : &out.classifier;
        const t2_expert *s = member < 2 ? &src.experts[member] : &src.classifier;
        CHECK(strcmp(e->name, s->name) == 0 && strcmp(e->task, s->task) == 0 &&
                  strcmp(e->config, s->config) == 0 &&
                  memcmp(&e->summary, &s->summary, sizeof e->summary) == 0,
              "'%s': name, task, config or summary differ from the source's", e->name);
        CHECK(member == 2 || strcmp(out.categories[member], s->name) == 0,
              "category %d '%s'; expected '%s'", member, out.categories[member], s->name);
        CHECK(e->options.method == T2_ADAPTER_SVF &&
                  e->options.parametrization == T2_SVF_LINEAR &&
                  e->options.renormalize == o->renormalize,
              "'%s': method %d parametrization %d renormalize %d; expected svf linear %d",
              e->name, e->options.method, e->options.parametrization, e->options.renormalize,
              o->renormalize);
        CHECK(strcmp(e->model_fingerprint, dst_fp) == 0, "'%s': fingerprint %s; expected %s",
              e->name, e->model_fingerprint, dst_fp);
        CHECK(e->n == s->n && e->n_params == s->n_params, "'%s': %d targets %lld parameters; "
              "expected %d, %lld", e->name, e->n, (long long)e->n_params, s->n,
              (long long)s->n_params);
        for (int t = 0; t < e->n && t < s->n; t++)
            CHECK(strcmp(e->tensors[t], s->tensors[t]) == 0 && e->rows[t] == s->rows[t] &&
                      e->cols[t] == s->cols[t] && e->offsets[t] == s->offsets[t],
                  "'%s' target %d: %s; expected %s with its shape and offset", e->name, t,
                  e->tensors[t], s->tensors[t]);
        int64_t differ = 0;
        for (int64_t j = 0; j < e->n_params && e->n_params == s->n_params; j++) {
            float want = mask_of(o, s->params[j]);
            if (memcmp(&e->params[j], &want, sizeof want) != 0 && differ++ == 0)
                CHECK(0, "'%s' value %lld: %.9g; expected the mask %.9g bit for bit", e->name,
                      (long long)j, (double)e->params[j], (double)want);
        }
        CHECK(differ == 0, "'%s': %lld values differ from the source's masks", e->name,
              (long long)differ);
    }
    /* accepted on the target, refused on the source, and a valid bundle */
    CHECK(t2_bundle_check_model(&out, dst_fp, "target", "same.t2b", &err) == 0,
          "refused on the target: %s", err.msg);
    err.msg[0] = '\0';
    CHECK(t2_bundle_check_model(&out, src_fp, "source", "same.t2b", &err) != 0 &&
              strstr(err.msg, "transferred from 0123456789abcdef") != NULL,
          "on the source model: '%s'; expected a refusal naming the transfer", err.msg);
    unsigned char *bytes;
    size_t len;
    t2_bundle_pack(&out, &bytes, &len);
    t2_bundle back;
    CHECK(t2_bundle_unpack(&back, bytes, len, "same.t2b", &err) == 0, "unpack: %s", err.msg);
    CHECK(back.has_transfer && back.source_layers == 3 && back.target_layers == 3,
          "read back: transfer %d from %lld to %lld layers; expected 3 to 3", back.has_transfer,
          (long long)back.source_layers, (long long)back.target_layers);
    t2_bundle_free(&back);
    t2_free(bytes);
    t2_bundle_free(&out);
done:
    tiny_model_free(&m);
    t2_bundle_free(&src);
}

/* ---- refusals ---- */

static float small_value(int member, int k, int64_t l, int64_t i) {
    return 0.01f * (float)(member + k + l + i);
}

/* src onto a target: must fail with want in the message and out zeroed. */
static void expect_refused(const char *what, const t2_bundle *src,
                           const t2_transfer_target *target, const char *want) {
    t2_bundle out;
    memset(&out, 0x5a, sizeof out);
    t2_error err = {{0}};
    int status = t2_transfer_bundle(&out, src, "src.t2b", target, &err);
    CHECK(status == -1 && strstr(err.msg, want) != NULL && strchr(err.msg, '\n') == NULL,
          "%s: status %d, '%s'; expected -1 and one line with '%s'", what, status, err.msg, want);
    CHECK(out.n == 0 && out.experts == NULL && out.note == NULL && !out.has_transfer,
          "%s: the output is not zeroed", what);
    if (status == 0 || out.experts == NULL) t2_bundle_free(&out);
}

/* One expert over the given tensor names (shape 4 x 6, svf linear), as a bundle. */
static void bundle_of_names(t2_bundle *b, const char *const *tensors, int n) {
    int64_t rows[4] = {4, 4, 4, 4}, cols[4] = {6, 6, 6, 6};
    float values[16] = {0};
    t2_expert e;
    t2_bundle_fixture_expert(&e, "math", src_fp, &linear, "math", n, tensors, rows, cols,
                             values);
    const char *const paths[1] = {"math.expert"};
    t2_error err = {{0}};
    CHECK(t2_bundle_create(b, &e, 1, NULL, paths, &err) == 0, "create: %s", err.msg);
    t2_expert_free(&e);
}

static void test_refusals(void) {
    const kind kinds[1] = {{"mlp.up_proj.weight", 4, 6}};
    tiny_model m;
    tiny_model_init(&m, "refuse.safetensors", 2, kinds, 1);

    t2_bundle b;
    const t2_adapter_options lora = {.method = T2_ADAPTER_LORA, .lora_rank = 2,
                                     .lora_alpha = 16};
    make_bundle(&b, &lora, 2, kinds, 1, small_value, 0);
    expect_refused("lora", &b, &m.target,
                   "src.t2b: the bundle's experts are lora (rank=2 alpha=16) and cannot be "
                   "transferred; expected svf experts");
    t2_bundle_free(&b);

    make_bundle(&b, &sigmoid, 2, kinds, 1, small_value, 0);
    b.has_transfer = 1;
    snprintf(b.source_fingerprint, sizeof b.source_fingerprint, "%s", "00000000000000aa");
    b.source_layers = 8;
    b.target_layers = 2;
    expect_refused("transferred", &b, &m.target,
                   "src.t2b: already transferred (from model 00000000000000aa, 8 layers, to "
                   "0123456789abcdef, 2 layers); expected a bundle trained on its model");
    b.has_transfer = 0;
    t2_transfer_target same = m.target;
    same.fingerprint = src_fp;
    expect_refused("same model", &b, &same,
                   "already made for " /* path */);
    t2_bundle_free(&b);

    const char *const off_block[2] = {"model.layers.0.mlp.up_proj.weight", "lm_head.weight"};
    bundle_of_names(&b, off_block, 2);
    expect_refused("off a block", &b, &m.target,
                   "src.t2b: expert 'math' adapts lm_head.weight, which is not on a transformer "
                   "block; expected model.layers.<L>.<name> targets");
    t2_bundle_free(&b);
    const char *const holes[2] = {"model.layers.0.mlp.up_proj.weight",
                                  "model.layers.2.mlp.up_proj.weight"};
    bundle_of_names(&b, holes, 2);
    expect_refused("missing layer", &b, &m.target,
                   "src.t2b: expert 'math' adapts mlp.up_proj.weight on some layers but not on "
                   "layer 1; expected every adapted matrix on every layer 0 to 2");
    t2_bundle_free(&b);
    const char *const twice[3] = {"model.layers.0.mlp.up_proj.weight",
                                  "model.layers.1.mlp.up_proj.weight",
                                  "model.layers.0.mlp.up_proj.weight"};
    bundle_of_names(&b, twice, 3);
    expect_refused("twice", &b, &m.target,
                   "src.t2b: expert 'math' adapts model.layers.0.mlp.up_proj.weight twice; "
                   "expected each target once");
    t2_bundle_free(&b);
    const char *const leading_zero[1] = {"model.layers.01.mlp.up_proj.weight"};
    bundle_of_names(&b, leading_zero, 1);
    expect_refused("leading zero", &b, &m.target, "not on a transformer block");
    t2_bundle_free(&b);

    /* the target model lacks down_proj on layer 1 (it has up_proj only), or has a vector */
    const kind two[2] = {{"mlp.up_proj.weight", 4, 6}, {"mlp.down_proj.weight", 6, 4}};
    make_bundle(&b, &sigmoid, 2, two, 2, small_value, 0);
    char *want = t2_strdup_printf("%s: no tensor model.layers.0.mlp.down_proj.weight; expected "
                                  "every matrix the bundle adapts (mlp.down_proj.weight) on "
                                  "every layer", m.path);
    expect_refused("missing matrix", &b, &m.target, want);
    t2_free(want);
    tiny_model v;
    const kind vector[2] = {{"mlp.up_proj.weight", 4, 6}, {"mlp.down_proj.weight", 6, 0}};
    tiny_model_init(&v, "vector.safetensors", 2, vector, 2);
    expect_refused("vector", &b, &v.target,
                   "model.layers.0.mlp.down_proj.weight has shape [6]; expected a non-empty "
                   "matrix (the bundle adapts mlp.down_proj.weight)");
    tiny_model_free(&v);
    t2_bundle_free(&b);
    tiny_model_free(&m);
}

int main(void) {
    temp_dir = t2_check_temp_dir("transfer");
    test_resample();
    const double to2[2] = {0, 3}, to3[3] = {0, 1.5, 3}, to1[1] = {0};
    test_hand(2, to2, "layers by relative depth (4 to 2), singular values by relative rank");
    test_hand(3, to3, "layers by relative depth (4 to 3)");
    test_hand(1, to1, "layers by relative depth (4 to 1)");
    t2_adapter_options o = sigmoid;
    test_identity(&o);
    o.renormalize = 0;
    test_identity(&o);
    o = linear;
    test_identity(&o);
    o.renormalize = 0;
    test_identity(&o);
    test_refusals();
    rmdir(temp_dir);
    t2_free(temp_dir);
    return t2_check_exit_code();
}
