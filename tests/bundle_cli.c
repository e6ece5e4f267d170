/* Inputs and checks for the `t2 bundle create` / `t2 inspect` tests of tests/bundle.cmake:
 *   bundle_cli make DIR
 *     writes the expert files math, code, reasoning and cls (.expert: svf, model
 *     0123456789abcdef, values chosen so that the statistics `t2 inspect` prints are known),
 *     and the misfits other-model.expert (model fedcba9876543210), wide.expert (target 0 is
 *     [4, 8]), lora.expert and corrupt.expert (math.expert with one byte changed); then
 *     transfer.t2b, a bundle of math and code with a transfer record (no command writes one
 *     yet), the same bytes as bundle-named.expert, and math.expert's bytes as
 *     expert-named.t2b (for the file-type detection of `t2 inspect`);
 *   bundle_cli damage BUNDLE DIR
 *     writes DIR/truncated.t2b (BUNDLE minus its last 7 bytes) and DIR/corrupt.t2b (one byte
 *     of BUNDLE changed);
 *   bundle_cli check BUNDLE EXPERT... [--classifier FILE]
 *     checks that BUNDLE holds exactly these experts, in this order, and this classifier (or
 *     none): each member's bytes are those of its file, and the categories its names. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/alloc.h"
#include "base/file.h"
#include "bundle_fixture.h"
#include "check.h"
#include "rl/bundle.h"

static const char *const fingerprint = "0123456789abcdef";

static void write_file(const char *dir, const char *name, const void *bytes, size_t len) {
    char *path = t2_bundle_fixture_path(dir, name);
    t2_error err = {{0}};
    CHECK(t2_file_write_atomic(path, bytes, len, &err) == 0, "%s", err.msg);
    t2_free(path);
}

/* Writes e as DIR/<file>. */
static void write_expert(const t2_expert *e, const char *dir, const char *file) {
    unsigned char *bytes;
    size_t len;
    t2_expert_pack(e, &bytes, &len);
    write_file(dir, file, bytes, len);
    t2_free(bytes);
}

static void make_inputs(const char *dir) {
    mkdir(dir, 0755);
    /* Per target (up_proj [4, 6]: 4 values, down_proj [6, 3]: 3 values):
     * math mean 1.25 min 0.5 max 2, mean 1 min -1 max 4; code 1 1 1, 2 2 2;
     * reasoning 1.5 0 3, -2 -3 -1; cls 0.25 0 0.5, 0 -1 1. */
    static const char *const names[4] = {"math", "code", "reasoning", "cls"};
    static const float values[4][T2_BUNDLE_FIXTURE_SVF_PARAMS] = {
        {0.5f, 1.0f, 1.5f, 2.0f, -1.0f, 0.0f, 4.0f},
        {1.0f, 1.0f, 1.0f, 1.0f, 2.0f, 2.0f, 2.0f},
        {0.0f, 1.0f, 2.0f, 3.0f, -3.0f, -2.0f, -1.0f},
        {0.0f, 0.5f, 0.5f, 0.0f, -1.0f, 0.0f, 1.0f},
    };
    t2_expert e[4];
    char file[64];
    for (int k = 0; k < 4; k++) {
        t2_bundle_fixture_svf(&e[k], names[k], fingerprint, values[k]);
        snprintf(file, sizeof file, "%s.expert", names[k]);
        write_expert(&e[k], dir, file);
    }
    unsigned char *bytes;
    size_t len;
    t2_expert_pack(&e[0], &bytes, &len);
    write_file(dir, "expert-named.t2b", bytes, len);
    bytes[len / 2] ^= 0x04;
    write_file(dir, "corrupt.expert", bytes, len);
    t2_free(bytes);

    t2_expert misfit;
    t2_bundle_fixture_svf(&misfit, "other", "fedcba9876543210", values[1]);
    write_expert(&misfit, dir, "other-model.expert");
    t2_expert_free(&misfit);
    const char *const tensors[2] = {"model.layers.0.mlp.up_proj.weight",
                                    "model.layers.1.mlp.down_proj.weight"};
    const int64_t rows[2] = {4, 6}, wide_cols[2] = {8, 3}, cols[2] = {6, 3};
    t2_bundle_fixture_expert(&misfit, "wide", fingerprint,
                             &(t2_adapter_options){.method = T2_ADAPTER_SVF, .max_mult = 2,
                                                   .renormalize = 1},
                             "math", 2, tensors, rows, wide_cols, values[2]);
    write_expert(&misfit, dir, "wide.expert");
    t2_expert_free(&misfit);
    float lora_values[52];
    for (int i = 0; i < 52; i++) lora_values[i] = 0.01f * (float)i;
    t2_bundle_fixture_expert(&misfit, "lora", fingerprint,
                             &(t2_adapter_options){.method = T2_ADAPTER_LORA, .lora_rank = 2,
                                                   .lora_alpha = 16},
                             "math", 2, tensors, rows, cols, lora_values);
    write_expert(&misfit, dir, "lora.expert");
    t2_expert_free(&misfit);

    t2_bundle b;
    t2_error err = {{0}};
    const char *const paths[2] = {"math.expert", "code.expert"};
    CHECK(t2_bundle_create(&b, e, 2, NULL, paths, &err) == 0, "%s", err.msg);
    b.has_transfer = 1;
    snprintf(b.source_fingerprint, sizeof b.source_fingerprint, "fedcba9876543210");
    b.source_layers = 24;
    b.target_layers = 16;
    b.note = t2_strdup("layers by relative depth");
    t2_bundle_pack(&b, &bytes, &len);
    write_file(dir, "transfer.t2b", bytes, len);
    write_file(dir, "bundle-named.expert", bytes, len);
    t2_free(bytes);
    t2_bundle_free(&b);
    for (int k = 0; k < 4; k++) t2_expert_free(&e[k]);
}

static void damage(const char *bundle, const char *dir) {
    char *bytes;
    size_t len;
    t2_error err = {{0}};
    CHECK(t2_file_read(bundle, &bytes, &len, &err) == 0, "%s", err.msg);
    if (bytes == NULL) return;
    write_file(dir, "truncated.t2b", bytes, len - 7);
    bytes[len / 2] ^= 0x20;
    write_file(dir, "corrupt.t2b", bytes, len);
    t2_free(bytes);
}

/* Member e of the bundle is byte for byte the expert file at path. */
static void check_member(const t2_expert *e, const char *path) {
    char *file;
    size_t file_len;
    t2_error err = {{0}};
    CHECK(t2_file_read(path, &file, &file_len, &err) == 0, "%s", err.msg);
    if (file == NULL) return;
    unsigned char *bytes;
    size_t len;
    t2_expert_pack(e, &bytes, &len);
    CHECK(len == file_len && memcmp(bytes, file, len) == 0,
          "member '%s' (%zu bytes) differs from %s (%zu bytes)", e->name, len, path, file_len);
    t2_free(bytes);
    t2_free(file);
}

static void check(const char *bundle, int n, char **experts, const char *classifier) {
    t2_bundle b;
    t2_error err = {{0}};
    if (t2_bundle_read(&b, bundle, &err) != 0) {
        CHECK(0, "%s", err.msg);
        return;
    }
    CHECK(b.n == n && b.has_classifier == (classifier != NULL), "%d experts, classifier %d; "
          "expected %d, %d", b.n, b.has_classifier, n, classifier != NULL);
    for (int i = 0; i < n && i < b.n; i++) {
        check_member(&b.experts[i], experts[i]);
        CHECK(strcmp(b.categories[i], b.experts[i].name) == 0, "category %d is '%s', its "
              "expert '%s'", i, b.categories[i], b.experts[i].name);
    }
    if (classifier != NULL && b.has_classifier) check_member(&b.classifier, classifier);
    printf("%s holds %d experts%s as their files\n", bundle, b.n,
           b.has_classifier ? " and the classifier" : "");
    t2_bundle_free(&b);
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "make") == 0) {
        make_inputs(argv[2]);
    } else if (argc == 4 && strcmp(argv[1], "damage") == 0) {
        damage(argv[2], argv[3]);
    } else if (argc >= 4 && strcmp(argv[1], "check") == 0) {
        int n = argc - 3;
        const char *classifier = NULL;
        if (n >= 2 && strcmp(argv[argc - 2], "--classifier") == 0) {
            classifier = argv[argc - 1];
            n -= 2;
        }
        check(argv[2], n, argv + 3, classifier);
    } else {
        fprintf(stderr, "usage: bundle_cli make DIR | bundle_cli damage BUNDLE DIR | "
                        "bundle_cli check BUNDLE EXPERT... [--classifier FILE]\n");
        return 2;
    }
    return t2_check_exit_code();
}
