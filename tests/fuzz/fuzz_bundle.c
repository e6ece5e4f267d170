/* Fuzz target: expert bundles (rl/bundle.c t2_bundle_unpack: the seal, the sniffing of the
 * first byte, the Bundle message, every member read as a sealed expert file, the members'
 * rules, the transfer record). Every input is tried as it is, resealed as a whole
 * (t2_fuzz_try_resealed), and, when it parses as a Bundle, with every member's checksum and the
 * bundle's made right, so mutations of a member reach the member checks. An accepted bundle
 * is packed again and must unpack to the same members.
 * Seeds: tests/fuzz/corpus/bundle/ (tests/fuzz/make_seeds.c). */
#include <string.h>

#include "base/alloc.h"
#include "harness.h"
#include "model/decomposition_store.h"
#include "proto/t2.pb-c.h"
#include "rl/bundle.h"

static void try_bytes(const unsigned char *bytes, size_t len) {
    t2_error err = {{0}};
    t2_bundle b, back;
    if (t2_bundle_unpack(&b, bytes, len, "fuzz.bundle", &err) == 0) {
        for (int i = 0; i < b.n; i++)
            t2_fuzz_require(t2_bundle_find(&b, b.categories[i]) == i, "category not found");
        t2_bundle_check_model(&b, "0123456789abcdef", "model", "fuzz.bundle", &err);
        unsigned char *packed;
        size_t packed_len;
        t2_bundle_pack(&b, &packed, &packed_len);
        t2_fuzz_require(t2_bundle_unpack(&back, packed, packed_len, "packed", &err) == 0,
                        err.msg);
        t2_fuzz_require(back.n == b.n && back.has_classifier == b.has_classifier &&
                        back.has_transfer == b.has_transfer &&
                        strcmp(back.model_fingerprint, b.model_fingerprint) == 0,
                        "bundle packed and unpacked differs");
        for (int i = 0; i < b.n; i++)
            t2_fuzz_require(strcmp(back.categories[i], b.categories[i]) == 0 &&
                            back.experts[i].n_params == b.experts[i].n_params,
                            "bundle member packed and unpacked differs");
        t2_bundle_free(&back);
        t2_free(packed);
    }
    t2_bundle_free(&b);
}

/* m's checksum set to the XXH64 of its serialisation without it. */
static void seal_member(T2__ExpertSet *m) {
    m->checksum = 0;
    size_t len = t2__expert_set__get_packed_size(m);
    unsigned char *bytes = t2_alloc(len + 1);
    t2__expert_set__pack(m, bytes);
    m->checksum = t2_decomposition_xxh64(bytes, len, 0);
    t2_free(bytes);
}

/* The bundle of data with every seal made right, or nothing when data is no Bundle. */
static void try_deep_resealed(const uint8_t *data, size_t size) {
    T2__Bundle *m = t2__bundle__unpack(NULL, size, data);
    if (m == NULL) return;
    for (size_t i = 0; i < m->n_experts; i++) seal_member(m->experts[i]);
    if (m->classifier != NULL) seal_member(m->classifier);
    m->checksum = 0;
    size_t len = t2__bundle__get_packed_size(m);
    unsigned char *body = t2_alloc(len + 1);
    t2__bundle__pack(m, body);
    t2__bundle__free_unpacked(m, NULL);
    t2_fuzz_try_resealed(body, len, try_bytes);
    t2_free(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    try_bytes(data, size);
    t2_fuzz_try_resealed(data, size, try_bytes);
    try_deep_resealed(data, size);
    return 0;
}
