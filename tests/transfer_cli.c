/* Inputs and checks for the `t2 transfer` tests of tests/transfer.cmake, on the shipped models:
 *   transfer_cli make DIR
 *     writes expert files for assets/default-model (its real fingerprint, its MLP matrices
 *     with their real names and shapes in name order, as `t2 train` lists them): math, code,
 *     reasoning and the classifier cls (svf, sigmoid, max_mult 2, renormalize, parameters
 *     N(0, 1) from a seed per expert); norenorm.expert (the same without renormalize);
 *     lora-math and lora-code (lora rank 2); partial.expert (up_proj on layers 0 and 2
 *     only); and the bundles corrupt.t2b (math and code, one byte changed) and
 *     truncated.t2b (the same, 9 bytes short).
 *   transfer_cli check NEW.t2b SOURCE.t2b MODEL_DIR SOURCE_MODEL_DIR
 *     checks NEW against SOURCE and the two models: NEW is made for MODEL_DIR and refused on
 *     SOURCE_MODEL_DIR (t2_bundle_check_model); its transfer record names SOURCE's model and
 *     the layer counts; each member keeps its source's name, task, config, summary and
 *     renormalize setting, is svf linear over MODEL_DIR's MLP matrices (names, order,
 *     shapes); its values are those of a plain-loop twin of the mapping (positions in floating
 *     point, to 1e-6), the corners (first layer, first singular value; last layer, last one)
 *     the source's masks exactly; with equal shapes every value is its source mask bit for
 *     bit. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/alloc.h"
#include "base/file.h"
#include "base/rng.h"
#include "bundle_fixture.h"
#include "check.h"
#include "model/config.h"
#include "model/fingerprint.h"
#include "model/targets.h"
#include "rl/bundle.h"

enum { N_EXPERTS = 4 };
static const char *const expert_names[N_EXPERTS] = {"math", "code", "reasoning", "cls"};

/* The MLP matrices of the model at dir, as `t2 train` targets them by default. */
static int mlp_targets(const char *dir, t2_safetensors *st, t2_target_list *list) {
    t2_error err = {{0}};
    const t2_target_selector mlp = {.set = T2_TARGET_SET_MLP};
    int status = t2_safetensors_open(st, dir, &err);
    if (status == 0) status = t2_targets_select(list, st, dir, &mlp, &err);
    CHECK(status == 0, "%s", err.msg);
    return status;
}

static int fingerprint_of(const char *dir, char fp[T2_FINGERPRINT_CHARS]) {
    t2_error err = {{0}};
    int status = t2_model_fingerprint_dir(dir, fp, &err);
    CHECK(status == 0, "%s", err.msg);
    return status;
}

/* An expert over targets[0..n) of options o, parameters N(0, 1) from seed. */
static void random_expert(t2_expert *e, const char *name, const char *fp,
                          const t2_adapter_options *o, const t2_target *targets, int n,
                          uint64_t seed) {
    const char **tensors = t2_alloc_array((size_t)n, sizeof *tensors);
    int64_t *rows = t2_alloc_array((size_t)n, sizeof *rows);
    int64_t *cols = t2_alloc_array((size_t)n, sizeof *cols);
    int64_t total = 0;
    for (int i = 0; i < n; i++) {
        tensors[i] = targets[i].name;
        rows[i] = targets[i].rows;
        cols[i] = targets[i].cols;
        int64_t r = rows[i] < cols[i] ? rows[i] : cols[i];
        total += o->method == T2_ADAPTER_LORA ? o->lora_rank * (rows[i] + cols[i]) : r;
    }
    float *values = t2_alloc_array((size_t)total, sizeof *values);
    t2_rng rng;
    t2_rng_init(&rng, seed);
    for (int64_t i = 0; i < total; i++) values[i] = t2_rng_normal(&rng);
    t2_bundle_fixture_expert(e, name, fp, o, name, n, tensors, rows, cols, values);
    t2_free(values);
    t2_free(tensors);
    t2_free(rows);
    t2_free(cols);
}

static void write_expert(const t2_expert *e, const char *dir, const char *file) {
    char *path = t2_bundle_fixture_path(dir, file);
    t2_error err = {{0}};
    CHECK(t2_expert_write(e, path, &err) == 0, "%s", err.msg);
    t2_free(path);
}

static void write_bytes(const char *dir, const char *file, const void *bytes, size_t len) {
    char *path = t2_bundle_fixture_path(dir, file);
    t2_error err = {{0}};
    CHECK(t2_file_write_atomic(path, bytes, len, &err) == 0, "%s", err.msg);
    t2_free(path);
}

static void make_inputs(const char *dir) {
    mkdir(dir, 0755);
    char *model = t2_check_source_path("assets/default-model");
    char fp[T2_FINGERPRINT_CHARS];
    t2_safetensors st = {0};
    t2_target_list list = {0};
    if (fingerprint_of(model, fp) != 0 || mlp_targets(model, &st, &list) != 0) goto done;
    const t2_adapter_options svf = {.method = T2_ADAPTER_SVF, .parametrization = T2_SVF_SIGMOID,
                                    .max_mult = 2, .renormalize = 1};
    t2_expert e[N_EXPERTS];
    char file[64];
    for (int k = 0; k < N_EXPERTS; k++) {
        random_expert(&e[k], expert_names[k], fp, &svf, list.items, list.n, 100 + (uint64_t)k);
        snprintf(file, sizeof file, "%s.expert", expert_names[k]);
        write_expert(&e[k], dir, file);
    }
    t2_expert other;
    t2_adapter_options plain = svf;
    plain.renormalize = 0;
    random_expert(&other, "norenorm", fp, &plain, list.items, list.n, 200);
    write_expert(&other, dir, "norenorm.expert");
    t2_expert_free(&other);
    const t2_adapter_options lora = {.method = T2_ADAPTER_LORA, .lora_rank = 2,
                                     .lora_alpha = 16};
    random_expert(&other, "math", fp, &lora, list.items, list.n, 300);
    write_expert(&other, dir, "lora-math.expert");
    t2_expert_free(&other);
    random_expert(&other, "code", fp, &lora, list.items, list.n, 301);
    write_expert(&other, dir, "lora-code.expert");
    t2_expert_free(&other);
    /* up_proj of layers 0 and 2: layer 1 missing */
    t2_target partial[2];
    int n_partial = 0;
    for (int i = 0; i < list.n; i++)
        if (strcmp(list.items[i].name, "model.layers.0.mlp.up_proj.weight") == 0 ||
            strcmp(list.items[i].name, "model.layers.2.mlp.up_proj.weight") == 0)
            partial[n_partial++] = list.items[i];
    CHECK(n_partial == 2, "%d up_proj matrices of layers 0 and 2; expected 2", n_partial);
    random_expert(&other, "math", fp, &svf, partial, n_partial, 400);
    write_expert(&other, dir, "partial.expert");
    t2_expert_free(&other);

    t2_bundle b;
    t2_error err = {{0}};
    const char *const paths[2] = {"math.expert", "code.expert"};
    CHECK(t2_bundle_create(&b, e, 2, NULL, paths, &err) == 0, "%s", err.msg);
    unsigned char *bytes;
    size_t len;
    t2_bundle_pack(&b, &bytes, &len);
    write_bytes(dir, "truncated.t2b", bytes, len - 9);
    bytes[len / 2] ^= 0x10;
    write_bytes(dir, "corrupt.t2b", bytes, len);
    t2_free(bytes);
    t2_bundle_free(&b);
    for (int k = 0; k < N_EXPERTS; k++) t2_expert_free(&e[k]);
    printf("transfer inputs written to %s (%d targets of %s, fingerprint %s)\n", dir, list.n,
           model, fp);
done:
    t2_target_list_free(&list);
    t2_safetensors_close(&st);
    t2_free(model);
}

/* The mask of a source parameter, as model/adapter.h defines it. */
static float source_mask(const t2_expert *e, float p) {
    if (e->options.parametrization == T2_SVF_LINEAR) return p;
    return (float)((double)e->options.max_mult / (1.0 + exp(-(double)p)));
}

/* "<rest>" of model.layers.<l>.<rest> and l. */
static const char *rest_of(const char *name, long *layer) {
    const char *p = name + strlen("model.layers.");
    *layer = strtol(p, NULL, 10);
    return strchr(p, '.') + 1;
}

/* The source's mask of <rest> on layer src_layer at relative rank j of r, by the mapping's
 * formula in floating point (rl/transfer.h computes the positions as exact fractions). */
static double reference_value(const t2_expert *src, long src_layer, const char *rest,
                              int64_t j, int64_t r) {
    char name[256];
    snprintf(name, sizeof name, "model.layers.%ld.%s", src_layer, rest);
    int s = 0;
    while (s < src->n && strcmp(src->tensors[s], name) != 0) s++;
    if (s == src->n) {
        CHECK(0, "the source has no %s", name);
        return NAN;
    }
    const float *p = src->params + src->offsets[s];
    int64_t n = src->lengths[s];
    double q = r == 1 ? 0.0 : (double)j * (double)(n - 1) / (double)(r - 1);
    double u = q - floor(q);
    return (1.0 - u) * source_mask(src, p[(int64_t)floor(q)]) +
           u * source_mask(src, p[(int64_t)ceil(q)]);
}

/* Member got (of the new bundle) against its source src, over the target model's list. */
static void check_member(const t2_expert *got, const t2_expert *src, const t2_target_list *list,
                         const char *fp, long src_layers, long dst_layers) {
    CHECK(strcmp(got->name, src->name) == 0 && strcmp(got->task, src->task) == 0 &&
              strcmp(got->config, src->config) == 0,
          "member '%s' (task '%s'); expected the source's '%s' ('%s') and config", got->name,
          got->task, src->name, src->task);
    CHECK(memcmp(&got->summary, &src->summary, sizeof got->summary) == 0,
          "'%s': training summary differs from the source's", got->name);
    CHECK(got->options.method == T2_ADAPTER_SVF &&
              got->options.parametrization == T2_SVF_LINEAR &&
              got->options.renormalize == src->options.renormalize,
          "'%s': method %d parametrization %d renormalize %d; expected svf linear %d",
          got->name, got->options.method, got->options.parametrization,
          got->options.renormalize, src->options.renormalize);
    CHECK(strcmp(got->model_fingerprint, fp) == 0, "'%s': fingerprint %s; expected %s",
          got->name, got->model_fingerprint, fp);
    CHECK(got->n == list->n, "'%s': %d targets; expected %d", got->name, got->n, list->n);
    int same_shapes = src_layers == dst_layers && src->n == got->n;
    for (int i = 0; i < got->n && i < list->n; i++) {
        CHECK(strcmp(got->tensors[i], list->items[i].name) == 0 &&
                  got->rows[i] == list->items[i].rows && got->cols[i] == list->items[i].cols,
              "'%s' target %d: %s [%lld, %lld]; expected %s [%lld, %lld]", got->name, i,
              got->tensors[i], (long long)got->rows[i], (long long)got->cols[i],
              list->items[i].name, (long long)list->items[i].rows,
              (long long)list->items[i].cols);
        same_shapes = same_shapes && got->lengths[i] == src->lengths[i] &&
                      strcmp(got->tensors[i], src->tensors[i]) == 0;
    }
    if (same_shapes) {
        int64_t differ = 0, first = -1;
        for (int64_t j = 0; j < got->n_params; j++) {
            float want = source_mask(src, src->params[j]);
            if (memcmp(&got->params[j], &want, sizeof want) != 0 && differ++ == 0) first = j;
        }
        CHECK(differ == 0, "'%s': %lld of %lld values are not the source's masks bit for bit "
              "(first at %lld: %.9g against %.9g)", got->name, (long long)differ,
              (long long)got->n_params, (long long)first,
              first >= 0 ? (double)got->params[first] : 0.0,
              first >= 0 ? (double)source_mask(src, src->params[first]) : 0.0);
        return;
    }
    float *want = t2_alloc_array((size_t)got->n_params, sizeof *want);
    for (int i = 0; i < got->n; i++) {
        long layer;
        const char *rest = rest_of(got->tensors[i], &layer);
        int64_t r = got->lengths[i];
        float *w = want + got->offsets[i];
        double p = dst_layers == 1 ? 0.0 : (double)layer * (double)(src_layers - 1) /
                                               (double)(dst_layers - 1);
        double t = p - floor(p);
        for (int64_t j = 0; j < r; j++)
            w[j] = (float)((1.0 - t) * reference_value(src, (long)floor(p), rest, j, r) +
                           t * reference_value(src, (long)ceil(p), rest, j, r));
        const float *z = got->params + got->offsets[i];
        /* the corners sit on integer positions: exact */
        if (layer == 0)
            CHECK(z[0] == w[0], "'%s' %s value 0: %.9g; expected the source's first %.9g",
                  got->name, got->tensors[i], (double)z[0], (double)w[0]);
        if (layer == dst_layers - 1)
            CHECK(z[r - 1] == w[r - 1], "'%s' %s last value: %.9g; expected the source's last "
                  "%.9g", got->name, got->tensors[i], (double)z[r - 1], (double)w[r - 1]);
    }
    char what[96];
    snprintf(what, sizeof what, "'%s' against the plain-loop mapping", got->name);
    t2_check_close(what, got->params, want, got->n_params, 1e-6, 1e-6);
    t2_free(want);
}

static void check(const char *new_path, const char *src_path, const char *model,
                  const char *src_model) {
    t2_bundle got = {0}, src = {0};
    t2_error err = {{0}};
    t2_model_config cfg;
    char fp[T2_FINGERPRINT_CHARS], src_fp[T2_FINGERPRINT_CHARS];
    t2_safetensors st = {0};
    t2_target_list list = {0};
    if (t2_bundle_read(&got, new_path, &err) != 0 || t2_bundle_read(&src, src_path, &err) != 0 ||
        t2_model_config_load(&cfg, model, &err) != 0) {
        CHECK(0, "%s", err.msg);
        goto done;
    }
    if (fingerprint_of(model, fp) != 0 || fingerprint_of(src_model, src_fp) != 0 ||
        mlp_targets(model, &st, &list) != 0)
        goto done;
    CHECK(t2_bundle_check_model(&got, fp, model, new_path, &err) == 0,
          "refused on its own model: %s", err.msg);
    err.msg[0] = '\0';
    CHECK(t2_bundle_check_model(&got, src_fp, src_model, new_path, &err) != 0 &&
              strstr(err.msg, "transferred from") != NULL,
          "on the source model: '%s'; expected a refusal naming the transfer", err.msg);
    CHECK(got.has_transfer && strcmp(got.source_fingerprint, src.model_fingerprint) == 0 &&
              strcmp(src.model_fingerprint, src_fp) == 0,
          "transfer %d from %s; expected from %s", got.has_transfer, got.source_fingerprint,
          src_fp);
    CHECK(got.source_layers == 4 && got.target_layers == cfg.num_hidden_layers,
          "transfer from %lld to %lld layers; expected 4 to %lld", (long long)got.source_layers,
          (long long)got.target_layers, (long long)cfg.num_hidden_layers);
    CHECK(got.n == src.n && got.has_classifier == src.has_classifier,
          "%d experts, classifier %d; expected %d, %d", got.n, got.has_classifier, src.n,
          src.has_classifier);
    for (int i = 0; i <= got.n && i <= src.n; i++) {
        if (i == got.n && !(got.has_classifier && src.has_classifier)) break;
        const t2_expert *g = i < got.n ? &got.experts[i] : &got.classifier;
        const t2_expert *s = i < src.n ? &src.experts[i] : &src.classifier;
        check_member(g, s, &list, fp, (long)got.source_layers, (long)got.target_layers);
    }
    printf("%s: %d experts%s mapped from %s (%lld layers) to %s (%lld layers) checked\n",
           new_path, got.n, got.has_classifier ? " and the classifier" : "", src_path,
           (long long)got.source_layers, model, (long long)got.target_layers);
done:
    t2_target_list_free(&list);
    t2_safetensors_close(&st);
    t2_bundle_free(&got);
    t2_bundle_free(&src);
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "make") == 0) {
        make_inputs(argv[2]);
    } else if (argc == 6 && strcmp(argv[1], "check") == 0) {
        check(argv[2], argv[3], argv[4], argv[5]);
    } else {
        fprintf(stderr, "usage: transfer_cli make DIR | transfer_cli check NEW.t2b SOURCE.t2b "
                        "MODEL_DIR SOURCE_MODEL_DIR\n");
        return 2;
    }
    return t2_check_exit_code();
}
