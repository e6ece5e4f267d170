/* rl/bundle.h: expert bundles.
 *   - a bundle of three experts and a classifier, with a transfer record, survives
 *     pack/unpack and write/read with every field equal; packing is deterministic, the
 *     sealed bytes are plain protobuf, and each member inside is byte for byte its expert
 *     file; without classifier and transfer it round-trips too; t2_bundle_find finds each
 *     category and nothing else;
 *   - every truncation and every single flipped byte is refused with the one-line "not a t2
 *     expert bundle" message (also from a file), leaving the bundle zeroed;
 *   - messages that parse and carry a valid checksum but break a rule (format_version,
 *     fingerprint, counts, categories, member names and targets, the members' model, a
 *     broken member, the transfer record) are refused, each with its reason; an expert file
 *     is not a bundle, nor a bundle an expert file;
 *   - t2_bundle_check_model refuses another model's fingerprint;
 *   - t2_bundle_create refuses experts of different models, duplicate or bad names, other
 *     targets or methods, and a classifier named as a category, naming the file at fault and
 *     leaving the experts with the caller;
 *   - a failed write leaves nothing behind; t2_bundle_free takes zeroed bundles, twice. */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/file.h"
#include "bundle_fixture.h"
#include "check.h"
#include "proto/t2.pb-c.h"
#include "rl/bundle.h"
#include "rl/expert_impl.h"

static const char *const fingerprint = "0123456789abcdef";
static const char *const other_fingerprint = "fedcba9876543210";
static const char *const names[4] = {"math", "code", "reasoning", "cls"};
static const char *const paths[4] = {"math.expert", "code.expert", "reasoning.expert",
                                     "cls.expert"};

/* Member k of the test bundles (k = 3: the classifier), with values of its own. */
static void make_member(t2_expert *e, int k) {
    float values[T2_BUNDLE_FIXTURE_SVF_PARAMS];
    for (int i = 0; i < T2_BUNDLE_FIXTURE_SVF_PARAMS; i++)
        values[i] = 0.25f * (float)(k * T2_BUNDLE_FIXTURE_SVF_PARAMS + i) - 1.0f;
    t2_bundle_fixture_svf(e, names[k], fingerprint, values);
}

/* The bundle of math, code and reasoning, with the classifier cls when asked, through
 * t2_bundle_create. */
static void make_bundle(t2_bundle *b, int with_classifier) {
    t2_expert members[4];
    for (int k = 0; k < 4; k++) make_member(&members[k], k);
    t2_error err = {{0}};
    CHECK(t2_bundle_create(b, members, 3, with_classifier ? &members[3] : NULL, paths, &err) ==
              0, "create: %s", err.msg);
    for (int k = 0; k < 4; k++) t2_expert_free(&members[k]);
}

static void set_transfer(t2_bundle *b) {
    b->has_transfer = 1;
    snprintf(b->source_fingerprint, sizeof b->source_fingerprint, "%s", other_fingerprint);
    b->source_layers = 24;
    b->target_layers = 16;
    b->note = t2_strdup("layers by relative depth, singular values by relative rank");
}

/* Two experts are equal in every field: their expert-file bytes (every stored field) and
 * the parameter layout rebuilt from them. */
static void check_same_expert(const t2_expert *got, const t2_expert *want, const char *what) {
    unsigned char *a, *b;
    size_t la, lb;
    t2_expert_pack(got, &a, &la);
    t2_expert_pack(want, &b, &lb);
    CHECK(la == lb && memcmp(a, b, la) == 0, "%s: expert '%s' differs from '%s' (%zu packed "
          "bytes against %zu)", what, got->name, want->name, la, lb);
    t2_free(a);
    t2_free(b);
    CHECK(got->n == want->n && got->n_params == want->n_params, "%s: %d targets, %lld params",
          what, got->n, (long long)got->n_params);
    for (int i = 0; i < got->n && i < want->n; i++)
        CHECK(got->offsets[i] == want->offsets[i] && got->lengths[i] == want->lengths[i],
              "%s: target %d at %lld + %lld", what, i, (long long)got->offsets[i],
              (long long)got->lengths[i]);
}

static void check_same_bundle(const t2_bundle *got, const t2_bundle *want, const char *what) {
    CHECK(strcmp(got->model_fingerprint, want->model_fingerprint) == 0, "%s: fingerprint %s",
          what, got->model_fingerprint);
    CHECK(got->n == want->n, "%s: %d experts; expected %d", what, got->n, want->n);
    for (int i = 0; i < got->n && i < want->n; i++) {
        CHECK(strcmp(got->categories[i], want->categories[i]) == 0, "%s: category %d is '%s'",
              what, i, got->categories[i]);
        check_same_expert(&got->experts[i], &want->experts[i], what);
    }
    CHECK(got->has_classifier == want->has_classifier, "%s: has_classifier %d", what,
          got->has_classifier);
    if (got->has_classifier && want->has_classifier)
        check_same_expert(&got->classifier, &want->classifier, what);
    if (!got->has_classifier)
        CHECK(got->classifier.name == NULL && got->classifier.params == NULL,
              "%s: no classifier, but its struct is not zeroed", what);
    CHECK(got->has_transfer == want->has_transfer, "%s: has_transfer %d", what,
          got->has_transfer);
    if (got->has_transfer && want->has_transfer)
        CHECK(strcmp(got->source_fingerprint, want->source_fingerprint) == 0 &&
                  got->source_layers == want->source_layers &&
                  got->target_layers == want->target_layers &&
                  strcmp(got->note, want->note) == 0,
              "%s: transfer from %s (%lld layers) to %lld layers, note '%s'", what,
              got->source_fingerprint, (long long)got->source_layers,
              (long long)got->target_layers, got->note);
}

static void check_message(const t2_error *err, const char *want, const char *what) {
    CHECK(strstr(err->msg, want) != NULL, "%s: error '%s' lacks '%s'", what, err->msg, want);
    CHECK(strchr(err->msg, '\n') == NULL, "%s: error '%s' is not one line", what, err->msg);
}

static int is_zeroed(const t2_bundle *b) {
    return b->n == 0 && b->experts == NULL && b->categories == NULL && !b->has_classifier &&
           b->classifier.params == NULL && b->note == NULL;
}

/* The sealed bytes are plain protobuf: a parse sees the checksum, packing the parsed message
 * gives the same bytes, and each member's bytes are those of its expert file. */
static void check_wire(const unsigned char *bytes, size_t len, const t2_bundle *want) {
    T2__Bundle *m = t2__bundle__unpack(NULL, len, bytes);
    CHECK(m != NULL && m->checksum == t2_decomposition_xxh64(bytes, len - 10, 0),
          "the checksum field does not parse");
    if (m == NULL) return;
    CHECK(t2__bundle__get_packed_size(m) == len, "repacked size differs");
    unsigned char *repacked = t2_alloc(len);
    t2__bundle__pack(m, repacked);
    CHECK(memcmp(repacked, bytes, len) == 0, "repacked bytes differ");
    t2_free(repacked);
    int same_members = m->n_experts == (size_t)want->n &&
                       (m->classifier != NULL) == want->has_classifier;
    CHECK(same_members, "%zu experts, classifier %d", m->n_experts, m->classifier != NULL);
    for (int i = 0; same_members && i < want->n + want->has_classifier; i++) {
        const T2__ExpertSet *member = i < want->n ? m->experts[i] : m->classifier;
        const t2_expert *e = i < want->n ? &want->experts[i] : &want->classifier;
        unsigned char *file;
        size_t file_len;
        t2_expert_pack(e, &file, &file_len);
        size_t member_len = t2__expert_set__get_packed_size(member);
        unsigned char *inside = t2_alloc(member_len);
        t2__expert_set__pack(member, inside);
        CHECK(member_len == file_len && memcmp(inside, file, file_len) == 0,
              "member %d ('%s'): %zu bytes in the bundle, not its expert file's %zu", i,
              e->name, member_len, file_len);
        t2_free(inside);
        t2_free(file);
    }
    t2__bundle__free_unpacked(m, NULL);
}

static void test_round_trip(const char *dir) {
    t2_bundle b, back;
    t2_error err = {{0}};
    make_bundle(&b, 1);
    CHECK(b.has_classifier && b.n == 3 && strcmp(b.model_fingerprint, fingerprint) == 0,
          "created: %d experts, classifier %d, fingerprint %s", b.n, b.has_classifier,
          b.model_fingerprint);
    set_transfer(&b);
    unsigned char *bytes, *again;
    size_t len, len2;
    t2_bundle_pack(&b, &bytes, &len);
    t2_bundle_pack(&b, &again, &len2);
    CHECK(len == len2 && memcmp(bytes, again, len) == 0, "packing is not deterministic");
    CHECK(t2_bundle_unpack(&back, bytes, len, "bytes", &err) == 0, "%s", err.msg);
    check_same_bundle(&back, &b, "unpacked");
    t2_bundle_free(&back);
    check_wire(bytes, len, &b);

    char *path = t2_bundle_fixture_path(dir, "round.t2b");
    CHECK(t2_bundle_write(&b, path, &err) == 0, "%s", err.msg);
    CHECK(t2_bundle_read(&back, path, &err) == 0, "%s", err.msg);
    check_same_bundle(&back, &b, "read");
    for (int i = 0; i < 3; i++)
        CHECK(t2_bundle_find(&back, names[i]) == i, "find '%s': %d", names[i],
              t2_bundle_find(&back, names[i]));
    CHECK(t2_bundle_find(&back, "cls") == -1 && t2_bundle_find(&back, "other") == -1 &&
              t2_bundle_find(&back, "") == -1,
          "found a category that is not one");
    t2_bundle_free(&back);
    t2_bundle_free(&back); /* twice is fine */
    t2_free(bytes);
    t2_free(again);
    t2_bundle_free(&b);

    /* No classifier, no transfer, one expert short. */
    make_bundle(&b, 0);
    CHECK(t2_bundle_write(&b, path, &err) == 0, "%s", err.msg);
    CHECK(t2_bundle_read(&back, path, &err) == 0, "%s", err.msg);
    check_same_bundle(&back, &b, "no classifier");
    CHECK(!back.has_classifier && !back.has_transfer && back.note == NULL &&
              back.source_fingerprint[0] == '\0',
          "classifier %d, transfer %d", back.has_classifier, back.has_transfer);
    t2_bundle_pack(&back, &bytes, &len);
    check_wire(bytes, len, &back);
    t2_free(bytes);
    t2_bundle_free(&back);
    t2_bundle_free(&b);
    unlink(path);
    t2_free(path);
}

/* Every prefix and every single-byte change of a packed bundle is refused and leaves the
 * bundle zeroed; then the same through files, whose path the message names. */
static void test_truncated_and_corrupt(const char *dir) {
    t2_bundle b, back;
    t2_error err = {{0}};
    make_bundle(&b, 1);
    set_transfer(&b);
    unsigned char *bytes;
    size_t len;
    t2_bundle_pack(&b, &bytes, &len);
    int accepted = 0, left = 0;
    for (size_t cut = 0; cut < len; cut++) {
        if (t2_bundle_unpack(&back, bytes, cut, "cut", &err) == 0) accepted++;
        left += !is_zeroed(&back);
        if (cut == len / 2) check_message(&err, "cut: not a t2 expert bundle (", "truncated");
        t2_bundle_free(&back);
    }
    CHECK(accepted == 0 && left == 0, "%d of %zu truncations accepted, %d not zeroed",
          accepted, len, left);
    accepted = left = 0;
    for (size_t at = 0; at < len; at++) {
        bytes[at] ^= 0x10;
        if (t2_bundle_unpack(&back, bytes, len, "flip", &err) == 0) accepted++;
        left += !is_zeroed(&back);
        t2_bundle_free(&back);
        bytes[at] ^= 0x10;
    }
    CHECK(accepted == 0 && left == 0, "%d of %zu corrupted bytes accepted, %d not zeroed",
          accepted, len, left);
    check_message(&err, "flip: not a t2 expert bundle (checksum ", "corrupt");

    char *path = t2_bundle_fixture_path(dir, "damaged.t2b");
    CHECK(t2_file_write_atomic(path, bytes, len - 7, &err) == 0, "%s", err.msg);
    CHECK(t2_bundle_read(&back, path, &err) != 0, "truncated file accepted");
    check_message(&err, "damaged.t2b: not a t2 expert bundle (", "truncated file");
    check_message(&err, "truncated, or not written by t2); expected ", "truncated file");
    bytes[len / 3] ^= 0xff;
    CHECK(t2_file_write_atomic(path, bytes, len, &err) == 0, "%s", err.msg);
    CHECK(t2_bundle_read(&back, path, &err) != 0, "corrupt file accepted");
    check_message(&err, "damaged.t2b: not a t2 expert bundle (checksum ", "corrupt file");
    CHECK(is_zeroed(&back), "failed read left memory");
    unlink(path);
    CHECK(t2_bundle_read(&back, path, &err) != 0, "missing file accepted");
    check_message(&err, "damaged.t2b: cannot open", "missing file");
    t2_free(path);
    t2_free(bytes);
    t2_bundle_free(&b);
}

/* ---- rule-breaking messages: the packed bundle, parsed, changed, sealed again ---- */

static T2__ExpertSet *wide_member; /* a sealed expert 'wide' with other targets */

typedef void (*edit_fn)(T2__Bundle *m);
static void edit_version(T2__Bundle *m) { m->format_version = 2; }
static void edit_fingerprint(T2__Bundle *m) { m->model_fingerprint = "0123"; }
static void edit_other_model(T2__Bundle *m) { m->model_fingerprint = "fedcba9876543210"; }
static void edit_no_experts(T2__Bundle *m) { m->n_experts = m->n_categories = 0; }
static void edit_categories(T2__Bundle *m) { m->n_categories = 2; }
static void edit_category(T2__Bundle *m) { m->categories[1] = "coder"; }
static void edit_duplicate(T2__Bundle *m) { m->experts[2] = m->experts[0]; }
static void edit_classifier(T2__Bundle *m) { m->classifier = m->experts[1]; }
static void edit_targets(T2__Bundle *m) { m->experts[1] = wide_member; }
static void edit_member(T2__Bundle *m) { m->experts[1]->checksum ^= 1; }
static void edit_transfer(T2__Bundle *m) { m->transfer->source_fingerprint = "nope"; }
static void edit_layers(T2__Bundle *m) { m->transfer->source_layers = 0; }

static void test_rules(void) {
    static const struct {
        edit_fn edit;
        const char *message;
    } cases[] = {
        {edit_version, "edited: not a t2 expert bundle (format_version 2); expected 1"},
        {edit_fingerprint, "(model_fingerprint '0123'); expected 16 lower-case hex digits"},
        {edit_other_model, "(it is for base model fedcba9876543210 but its expert 'math' for "
                           "0123456789abcdef); expected the bundle's model for every expert"},
        {edit_no_experts, "(0 experts); expected 1 to 4096"},
        {edit_categories, "(2 categories for 3 experts); expected one category per expert"},
        {edit_category, "(category 2 differs from the name of its expert 'code'); expected each "
                        "expert named after the category it serves"},
        {edit_duplicate, "(expert 'math' has the name of expert 1); expected distinct names"},
        {edit_classifier, "(classifier 'code' has the name of expert 2); expected a classifier "
                          "name that is not a category"},
        {edit_targets, "(expert 'wide' adapts other matrices than 'math' (target "
                       "'model.layers.0.mlp.up_proj.weight' has shape [4, 8] against [4, 6])); "
                       "expected the same targets"},
        {edit_member, "edited: expert 2 of 3: not a t2 expert file (checksum "},
        {edit_transfer, "(transfer source_fingerprint 'nope'); expected 16 lower-case hex"},
        {edit_layers, "(transfer from 0 to 16 layers); expected layer counts >= 1"},
    };
    const char *const tensors[2] = {"model.layers.0.mlp.up_proj.weight",
                                    "model.layers.1.mlp.down_proj.weight"};
    const int64_t rows[2] = {4, 6}, cols[2] = {8, 3};
    const float values[7] = {1, 2, 3, 4, 5, 6, 7};
    t2_expert wide;
    t2_bundle_fixture_expert(&wide, "wide", fingerprint,
                             &(t2_adapter_options){.method = T2_ADAPTER_SVF, .max_mult = 2,
                                                   .renormalize = 1},
                             "math", 2, tensors, rows, cols, values);
    unsigned char *bytes;
    size_t len;
    t2_expert_pack(&wide, &bytes, &len);
    wide_member = t2__expert_set__unpack(NULL, len, bytes);
    t2_free(bytes);
    t2_expert_free(&wide);

    t2_bundle b, back;
    make_bundle(&b, 1);
    set_transfer(&b);
    t2_bundle_pack(&b, &bytes, &len);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        T2__Bundle *m = t2__bundle__unpack(NULL, len, bytes);
        CHECK(m != NULL && wide_member != NULL, "the packed bundle does not parse");
        if (m == NULL || wide_member == NULL) break;
        /* Keep what free_unpacked frees: the edits replace pointers and counts. */
        T2__Bundle saved = *m;
        T2__Transfer saved_transfer = *m->transfer;
        T2__ExpertSet *saved_experts[3] = {m->experts[0], m->experts[1], m->experts[2]};
        char *saved_category = m->categories[1];
        uint64_t saved_checksum = m->experts[1]->checksum;
        m->checksum = 0;
        cases[c].edit(m);
        unsigned char *sealed;
        size_t sealed_len;
        t2_expert_seal(&m->base, &sealed, &sealed_len);
        t2_error err = {{0}};
        CHECK(t2_bundle_unpack(&back, sealed, sealed_len, "edited", &err) != 0,
              "case %zu (%s) accepted", c, cases[c].message);
        CHECK(is_zeroed(&back), "case %zu left the bundle filled", c);
        check_message(&err, "edited: ", cases[c].message);
        check_message(&err, cases[c].message, cases[c].message);
        t2_bundle_free(&back);
        t2_free(sealed);
        *m = saved;
        *m->transfer = saved_transfer;
        memcpy(m->experts, saved_experts, sizeof saved_experts);
        m->categories[1] = saved_category;
        m->experts[1]->checksum = saved_checksum;
        t2__bundle__free_unpacked(m, NULL);
    }
    t2__expert_set__free_unpacked(wide_member, NULL);
    t2_free(bytes);

    /* An expert file is not a bundle, and a bundle is not an expert file. */
    t2_error err = {{0}};
    t2_expert_pack(&b.experts[0], &bytes, &len);
    CHECK(t2_bundle_sniff(bytes, len) == T2_BUNDLE_KIND_EXPERT, "an expert file not sniffed");
    CHECK(t2_bundle_unpack(&back, bytes, len, "math.expert", &err) != 0, "expert as bundle");
    check_message(&err, "math.expert: not a t2 expert bundle (it is an expert file); expected "
                  "a bundle of expert files (t2 bundle create)", "expert as bundle");
    t2_free(bytes);
    t2_bundle_pack(&b, &bytes, &len);
    CHECK(t2_bundle_sniff(bytes, len) == T2_BUNDLE_KIND_BUNDLE, "a bundle not sniffed");
    t2_expert e;
    CHECK(t2_expert_unpack(&e, bytes, len, "b.t2b", &err) != 0, "bundle as expert");
    check_message(&err, "b.t2b: not a t2 expert file (", "bundle as expert");
    t2_expert_free(&e);
    t2_free(bytes);
    const unsigned char text[] = "hello", nothing[1] = {0};
    CHECK(t2_bundle_sniff(text, 5) == T2_BUNDLE_KIND_UNKNOWN &&
              t2_bundle_sniff(nothing, 0) == T2_BUNDLE_KIND_UNKNOWN,
          "text or nothing sniffed as a t2 file");
    t2_bundle_free(&b);
}

static void test_check_model(void) {
    t2_bundle b;
    t2_error err = {{0}};
    make_bundle(&b, 0);
    CHECK(t2_bundle_check_model(&b, fingerprint, "m", "x.t2b", &err) == 0, "%s", err.msg);
    CHECK(t2_bundle_check_model(&b, other_fingerprint, "models/small", "x.t2b", &err) != 0,
          "another model's fingerprint accepted");
    check_message(&err, "x.t2b: bundle made for another base model (fingerprint "
                  "0123456789abcdef); expected fedcba9876543210 (models/small)", "model");
    set_transfer(&b);
    CHECK(t2_bundle_check_model(&b, fingerprint, "m", "x.t2b", &err) == 0, "%s", err.msg);
    CHECK(t2_bundle_check_model(&b, other_fingerprint, "models/big", "x.t2b", &err) != 0,
          "the transfer's source model accepted");
    check_message(&err, "x.t2b: bundle made for another base model (fingerprint "
                  "0123456789abcdef, transferred from fedcba9876543210); expected "
                  "fedcba9876543210 (models/big)", "transferred");
    t2_bundle_free(&b);
}

/* ---- t2_bundle_create's refusals ---- */

typedef void (*spoil_fn)(t2_expert *members);
static void spoil_model(t2_expert *m) {
    snprintf(m[1].model_fingerprint, sizeof m[1].model_fingerprint, "%s", other_fingerprint);
}
static void rename_member(t2_expert *e, const char *name) {
    t2_free(e->name);
    e->name = t2_strdup(name);
}
static void spoil_duplicate(t2_expert *m) { rename_member(&m[2], "math"); }
static void spoil_no_name(t2_expert *m) { rename_member(&m[0], ""); }
static void spoil_space(t2_expert *m) { rename_member(&m[1], "my code"); }
static void spoil_classifier_name(t2_expert *m) { rename_member(&m[3], "code"); }
static void spoil_classifier_model(t2_expert *m) {
    snprintf(m[3].model_fingerprint, sizeof m[3].model_fingerprint, "%s", other_fingerprint);
}
static void spoil_shape(t2_expert *m) { m[1].cols[0] = 8; }
static void spoil_tensor(t2_expert *m) {
    t2_free(m[2].tensors[1]);
    m[2].tensors[1] = t2_strdup("model.layers.1.mlp.gate_proj.weight");
}
static void spoil_count(t2_expert *m) { m[1].n = 1; }
static void spoil_max_mult(t2_expert *m) { m[1].options.max_mult = 3; }
static void spoil_method(t2_expert *m) {
    m[2].options = (t2_adapter_options){.method = T2_ADAPTER_LORA, .lora_rank = 2,
                                        .lora_alpha = 16};
}

static void test_create_refusals(void) {
    static const struct {
        spoil_fn spoil;
        const char *message;
    } cases[] = {
        {spoil_model, "code.expert: expert 'code' was made for another base model (fingerprint "
                      "fedcba9876543210) than 'math' (fingerprint 0123456789abcdef); expected "
                      "one base model for every expert"},
        {spoil_duplicate, "reasoning.expert: expert 'math' has the name of expert 1 "
                          "(math.expert); expected distinct names (each is the category its "
                          "expert serves)"},
        {spoil_no_name, "math.expert: expert 1 has no name; expected a name of one word: the "
                        "category an expert serves"},
        {spoil_space, "code.expert: expert 2 has a name with a space or control character; "
                      "expected a name of one word"},
        {spoil_classifier_name, "cls.expert: classifier 'code' has the name of expert 2 "
                                "(code.expert); expected a classifier name that is not a "
                                "category"},
        {spoil_classifier_model, "cls.expert: classifier 'cls' was made for another base "
                                 "model (fingerprint fedcba9876543210) than 'math'"},
        {spoil_shape, "code.expert: expert 'code' adapts other matrices than 'math' (target "
                      "'model.layers.0.mlp.up_proj.weight' has shape [4, 8] against [4, 6]); "
                      "expected the same targets"},
        {spoil_tensor, "reasoning.expert: expert 'reasoning' adapts other matrices than 'math' "
                       "(target 1 is 'model.layers.1.mlp.gate_proj.weight' against "
                       "'model.layers.1.mlp.down_proj.weight'); expected the same targets"},
        {spoil_count, "code.expert: expert 'code' adapts other matrices than 'math' (1 target "
                      "against 2); expected the same targets"},
        {spoil_max_mult, "code.expert: expert 'code' is svf (parametrization=sigmoid "
                         "max_mult=3 renormalize=true) but 'math' is svf (parametrization="
                         "sigmoid max_mult=2 renormalize=true); expected the same method and "
                         "settings"},
        {spoil_method, "reasoning.expert: expert 'reasoning' is lora (rank=2 alpha=16) but "
                       "'math' is svf"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        t2_expert members[4];
        for (int k = 0; k < 4; k++) make_member(&members[k], k);
        int n = members[1].n;
        cases[c].spoil(members);
        t2_bundle b;
        t2_error err = {{0}};
        CHECK(t2_bundle_create(&b, members, 3, &members[3], paths, &err) != 0,
              "case %zu (%s) accepted", c, cases[c].message);
        check_message(&err, cases[c].message, cases[c].message);
        CHECK(is_zeroed(&b), "case %zu: the bundle is not zeroed", c);
        for (int k = 0; k < 4; k++)
            CHECK(members[k].params != NULL && members[k].name != NULL,
                  "case %zu: member %d taken although creating failed", c, k);
        members[1].n = n; /* spoil_count hid a target the expert still owns */
        for (int k = 0; k < 4; k++) t2_expert_free(&members[k]);
    }

    /* One expert alone is a bundle; the experts move into it. */
    t2_expert one;
    make_member(&one, 2);
    t2_bundle b;
    t2_error err = {{0}};
    CHECK(t2_bundle_create(&b, &one, 1, NULL, paths + 2, &err) == 0, "%s", err.msg);
    CHECK(one.params == NULL && one.name == NULL, "the expert was not moved into the bundle");
    CHECK(b.n == 1 && strcmp(b.categories[0], "reasoning") == 0 && !b.has_classifier,
          "one expert: %d experts", b.n);
    t2_bundle_free(&b);
    t2_expert_free(&one);
}

static void test_failed_writes(const char *dir) {
    t2_bundle b;
    t2_error err = {{0}};
    make_bundle(&b, 1);
    char *folder = t2_bundle_fixture_path(dir, "taken");
    CHECK(mkdir(folder, 0755) == 0, "mkdir %s", folder);
    CHECK(t2_bundle_write(&b, folder, &err) != 0, "writing over a folder succeeded");
    check_message(&err, "taken: write failed", "folder");
    CHECK(t2_check_count_entries(dir) == 1, "%d entries left in %s; expected only the folder",
          t2_check_count_entries(dir), dir);
    rmdir(folder);
    t2_free(folder);
    char *missing = t2_bundle_fixture_path(dir, "no-such-folder/x.t2b");
    CHECK(t2_bundle_write(&b, missing, &err) != 0, "writing into a missing folder succeeded");
    check_message(&err, "no-such-folder/x.t2b: cannot write: No such file", "missing");
    CHECK(t2_check_count_entries(dir) == 0, "%d entries left in %s", t2_check_count_entries(dir), dir);
    t2_free(missing);
    t2_bundle_free(&b);

    t2_bundle zeroed = {0};
    t2_bundle_free(&zeroed);
    t2_bundle_free(&zeroed);
    CHECK(is_zeroed(&zeroed), "freeing a zeroed bundle changed it");
}

int main(void) {
    char *dir = t2_check_temp_dir("bundle");
    test_round_trip(dir);
    test_truncated_and_corrupt(dir);
    test_rules();
    test_check_model();
    test_create_refusals();
    test_failed_writes(dir);
    rmdir(dir);
    t2_free(dir);
    return t2_check_exit_code();
}
