/* Expert bundles (rl/bundle.h): making one from experts, the rules its members follow, the
 * Bundle message (proto/t2.proto) in both directions with every field validated on the way
 * in, and atomic file writes. Each member travels as its sealed expert-file bytes, so packing
 * and validating a member are rl/expert.c's (t2_expert_pack, t2_expert_unpack); the bundle
 * is sealed with the same checksum (rl/expert_impl.h). Does not choose or mix experts. */
#include "rl/bundle.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "base/file.h"
#include "proto/t2.pb-c.h"
#include "rl/expert_impl.h"

static const char *const what = "t2 expert bundle";

/* First bytes of t2's messages (a protobuf key is field << 3 | wire type). */
enum {
    KEY_VARINT_1 = 1 << 3 | 0, /* Bundle.format_version (TrainState's too) */
    KEY_STRING_1 = 1 << 3 | 2, /* ExpertSet.name */
    KEY_STRING_2 = 2 << 3 | 2, /* ExpertSet.model_fingerprint (an unnamed expert) */
};

t2_bundle_kind t2_bundle_sniff(const unsigned char *bytes, size_t len) {
    if (len == 0) return T2_BUNDLE_KIND_UNKNOWN;
    if (bytes[0] == KEY_VARINT_1) return T2_BUNDLE_KIND_BUNDLE;
    if (bytes[0] == KEY_STRING_1 || bytes[0] == KEY_STRING_2) return T2_BUNDLE_KIND_EXPERT;
    return T2_BUNDLE_KIND_UNKNOWN;
}

/* ---- the members' rules ---- */

/* A category name: non-empty, no spaces or control characters (categories are words that
 * the adaptation strategies print and match). */
static int is_category_name(const char *s) {
    if (s[0] == '\0') return 0;
    for (; *s != '\0'; s++)
        if ((unsigned char)*s <= ' ' || *s == 0x7f) return 0;
    return 1;
}

/* Reports a broken rule for member i (i == n: the classifier) and returns -1: when creating
 * (paths given) "<paths[i]>: <why>; expected <expected>", when reading "<source>: not a t2
 * expert bundle (<why>); expected <expected>". */
static int fail_member(const char *const *paths, int i, const char *source, const char *why,
                       const char *expected, t2_error *err) {
    if (paths != NULL) return t2_error_set(err, "%s: %s; expected %s", paths[i], why, expected);
    return t2_error_set(err, "%s: not a %s (%s); expected %s", source, what, why, expected);
}

/* " (<paths[j]>)" when creating, "" when reading, into buf; returns buf. */
static const char *path_note(const char *const *paths, int j, char *buf, size_t size) {
    buf[0] = '\0';
    if (paths != NULL) snprintf(buf, size, " (%s)", paths[j]);
    return buf;
}

/* Why e ("<role> '<name>'") cannot be mixed with ref, into why; 0 when it can. */
static int mismatch(const t2_expert *e, const char *role, const t2_expert *ref, char *why,
                    size_t size, const char **expected) {
    if (strcmp(e->model_fingerprint, ref->model_fingerprint) != 0) {
        snprintf(why, size, "%s '%s' was made for another base model (fingerprint %s) than "
                 "'%s' (fingerprint %s)", role, e->name, e->model_fingerprint, ref->name,
                 ref->model_fingerprint);
        *expected = "one base model for every expert";
        return -1;
    }
    if (!t2_expert_options_equal(&e->options, &ref->options)) {
        char got[160], want[160];
        snprintf(why, size, "%s '%s' is %s (%s) but '%s' is %s (%s)", role, e->name,
                 t2_adapter_method_name(e->options.method),
                 t2_expert_options_string(&e->options, got, sizeof got), ref->name,
                 t2_adapter_method_name(ref->options.method),
                 t2_expert_options_string(&ref->options, want, sizeof want));
        *expected = "the same method and settings";
        return -1;
    }
    *expected = "the same targets";
    char detail[640] = "";
    if (e->n != ref->n)
        snprintf(detail, sizeof detail, "%d target%s against %d", e->n, e->n == 1 ? "" : "s",
                 ref->n);
    for (int t = 0; detail[0] == '\0' && t < e->n; t++) {
        if (strcmp(e->tensors[t], ref->tensors[t]) != 0)
            snprintf(detail, sizeof detail, "target %d is '%s' against '%s'", t, e->tensors[t],
                     ref->tensors[t]);
        else if (e->rows[t] != ref->rows[t] || e->cols[t] != ref->cols[t])
            snprintf(detail, sizeof detail, "target '%s' has shape [%lld, %lld] against "
                     "[%lld, %lld]", e->tensors[t], (long long)e->rows[t],
                     (long long)e->cols[t], (long long)ref->rows[t], (long long)ref->cols[t]);
    }
    if (detail[0] == '\0') return 0;
    snprintf(why, size, "%s '%s' adapts other matrices than '%s' (%s)", role, e->name,
             ref->name, detail);
    return -1;
}

/* Checks that experts[0..n) and the classifier (may be NULL) suit one bundle: category
 * names, distinct, and each mixable with experts[0]. Errors name paths[i] when given (when
 * creating), else the bundle source. */
static int check_members(const t2_expert *experts, int n, const t2_expert *classifier,
                         const char *const *paths, const char *source, t2_error *err) {
    char why[900], note[300];
    const char *expected;
    for (int i = 0; i <= n; i++) {
        const t2_expert *e = i < n ? &experts[i] : classifier;
        if (e == NULL) break;
        const char *role = i < n ? "expert" : "classifier";
        if (!is_category_name(e->name)) {
            char who[32] = "the classifier";
            if (i < n) snprintf(who, sizeof who, "expert %d", i + 1);
            snprintf(why, sizeof why, "%s %s", who,
                     e->name[0] == '\0' ? "has no name"
                                        : "has a name with a space or control character");
            return fail_member(paths, i, source, why, "a name of one word: the category an "
                               "expert serves", err);
        }
        for (int j = 0; j < i && j < n; j++) {
            if (strcmp(e->name, experts[j].name) != 0) continue;
            snprintf(why, sizeof why, "%s '%s' has the name of expert %d%s", role, e->name,
                     j + 1, path_note(paths, j, note, sizeof note));
            return fail_member(paths, i, source, why,
                               i < n ? "distinct names (each is the category its expert serves)"
                                     : "a classifier name that is not a category", err);
        }
        if (i > 0 && mismatch(e, role, &experts[0], why, sizeof why, &expected) != 0)
            return fail_member(paths, i, source, why, expected, err);
    }
    return 0;
}

/* ---- making, checking, finding ---- */

int t2_bundle_create(t2_bundle *b, t2_expert *experts, int n, t2_expert *classifier,
                     const char *const *paths, t2_error *err) {
    T2_ASSERT(n >= 1 && paths != NULL);
    memset(b, 0, sizeof *b);
    if (n > T2_BUNDLE_MAX_EXPERTS)
        return t2_error_set(err, "%s: one expert too many for a bundle; expected at most %d "
                            "experts", paths[T2_BUNDLE_MAX_EXPERTS], T2_BUNDLE_MAX_EXPERTS);
    if (check_members(experts, n, classifier, paths, NULL, err) != 0) return -1;
    snprintf(b->model_fingerprint, sizeof b->model_fingerprint, "%s",
             experts[0].model_fingerprint);
    b->n = n;
    b->experts = t2_alloc_array((size_t)n, sizeof *b->experts);
    b->categories = t2_alloc_array((size_t)n, sizeof *b->categories);
    for (int i = 0; i < n; i++) {
        b->experts[i] = experts[i];
        memset(&experts[i], 0, sizeof experts[i]);
        b->categories[i] = t2_strdup(b->experts[i].name);
    }
    if (classifier != NULL) {
        b->has_classifier = 1;
        b->classifier = *classifier;
        memset(classifier, 0, sizeof *classifier);
    }
    return 0;
}

int t2_bundle_check_model(const t2_bundle *b, const char *fingerprint, const char *model_path,
                          const char *bundle_path, t2_error *err) {
    if (strcmp(b->model_fingerprint, fingerprint) == 0) return 0;
    if (b->has_transfer)
        return t2_error_set(err, "%s: bundle made for another base model (fingerprint %s, "
                            "transferred from %s); expected %s (%s)", bundle_path,
                            b->model_fingerprint, b->source_fingerprint, fingerprint,
                            model_path);
    return t2_error_set(err, "%s: bundle made for another base model (fingerprint %s); "
                        "expected %s (%s)", bundle_path, b->model_fingerprint, fingerprint,
                        model_path);
}

int t2_bundle_find(const t2_bundle *b, const char *category) {
    for (int i = 0; i < b->n; i++)
        if (strcmp(b->categories[i], category) == 0) return i;
    return -1;
}

void t2_bundle_free(t2_bundle *b) {
    for (int i = 0; i < b->n && b->experts != NULL; i++) t2_expert_free(&b->experts[i]);
    for (int i = 0; i < b->n && b->categories != NULL; i++) t2_free(b->categories[i]);
    t2_free(b->experts);
    t2_free(b->categories);
    t2_expert_free(&b->classifier);
    t2_free(b->note);
    memset(b, 0, sizeof *b);
}

/* ---- Bundle ---- */

/* e as the message of its expert file, checksum set: t2_expert_pack's bytes parsed back
 * (free with t2__expert_set__free_unpacked). Packed inside the bundle, it gives those bytes
 * again. */
static T2__ExpertSet *sealed_message(const t2_expert *e) {
    unsigned char *bytes;
    size_t len;
    t2_expert_pack(e, &bytes, &len);
    T2__ExpertSet *m = t2__expert_set__unpack(NULL, len, bytes);
    T2_ASSERT(m != NULL);
    t2_free(bytes);
    return m;
}

void t2_bundle_pack(const t2_bundle *b, unsigned char **bytes, size_t *len) {
    T2_ASSERT(b->n >= 1 && b->n <= T2_BUNDLE_MAX_EXPERTS);
    T2__ExpertSet **experts = t2_alloc_array((size_t)b->n, sizeof *experts);
    for (int i = 0; i < b->n; i++) {
        T2_ASSERT(strcmp(b->categories[i], b->experts[i].name) == 0);
        experts[i] = sealed_message(&b->experts[i]);
    }
    /* protobuf-c's fields are not const; packing only reads them. */
    T2__Transfer transfer = T2__TRANSFER__INIT;
    T2__Bundle m = T2__BUNDLE__INIT;
    m.format_version = T2_BUNDLE_FORMAT_VERSION;
    m.model_fingerprint = (char *)b->model_fingerprint;
    m.n_categories = (size_t)b->n;
    m.categories = b->categories;
    m.n_experts = (size_t)b->n;
    m.experts = experts;
    m.classifier = b->has_classifier ? sealed_message(&b->classifier) : NULL;
    if (b->has_transfer) {
        transfer.source_fingerprint = (char *)b->source_fingerprint;
        transfer.source_layers = b->source_layers;
        transfer.target_layers = b->target_layers;
        transfer.note = b->note != NULL ? b->note : "";
        m.transfer = &transfer;
    }
    t2_expert_seal(&m.base, bytes, len);
    for (int i = 0; i < b->n; i++) t2__expert_set__free_unpacked(experts[i], NULL);
    t2_free(experts);
    if (m.classifier != NULL) t2__expert_set__free_unpacked(m.classifier, NULL);
}

/* Member m of a bundle into e: its bytes (those of the expert file it was made from) checked
 * and read by t2_expert_unpack, with errors "<source>: <label>: not a t2 expert file (...)". */
static int member_from_message(t2_expert *e, const T2__ExpertSet *m, const char *source,
                               const char *label, t2_error *err) {
    size_t len = t2__expert_set__get_packed_size(m);
    unsigned char *bytes = t2_alloc(len + 1);
    size_t packed = t2__expert_set__pack(m, bytes);
    T2_ASSERT(packed == len);
    size_t size = strlen(source) + strlen(label) + 3;
    char *where = t2_alloc(size);
    snprintf(where, size, "%s: %s", source, label);
    int status = t2_expert_unpack(e, bytes, len, where, err);
    t2_free(where);
    t2_free(bytes);
    return status;
}

static int transfer_from_message(t2_bundle *b, const T2__Transfer *m, const char *source,
                                 t2_error *err) {
    if (!t2_expert_is_fingerprint(m->source_fingerprint))
        return t2_error_set(err, "%s: not a %s (transfer source_fingerprint '%.40s'); expected "
                            "16 lower-case hex digits", source, what, m->source_fingerprint);
    if (m->source_layers < 1 || m->target_layers < 1)
        return t2_error_set(err, "%s: not a %s (transfer from %lld to %lld layers); expected "
                            "layer counts >= 1", source, what, (long long)m->source_layers,
                            (long long)m->target_layers);
    b->has_transfer = 1;
    snprintf(b->source_fingerprint, sizeof b->source_fingerprint, "%s", m->source_fingerprint);
    b->source_layers = m->source_layers;
    b->target_layers = m->target_layers;
    b->note = t2_strdup(m->note);
    return 0;
}

/* Validates m and fills b (zeroed by the caller; freed by the caller on failure). */
static int bundle_from_message(t2_bundle *b, const T2__Bundle *m, const char *source,
                               t2_error *err) {
    if (m->format_version != T2_BUNDLE_FORMAT_VERSION)
        return t2_error_set(err, "%s: not a %s (format_version %u); expected %d", source, what,
                            m->format_version, T2_BUNDLE_FORMAT_VERSION);
    if (!t2_expert_is_fingerprint(m->model_fingerprint))
        return t2_error_set(err, "%s: not a %s (model_fingerprint '%.40s'); expected 16 "
                            "lower-case hex digits", source, what, m->model_fingerprint);
    if (m->n_experts < 1 || m->n_experts > T2_BUNDLE_MAX_EXPERTS)
        return t2_error_set(err, "%s: not a %s (%zu experts); expected 1 to %d", source, what,
                            m->n_experts, T2_BUNDLE_MAX_EXPERTS);
    if (m->n_categories != m->n_experts)
        return t2_error_set(err, "%s: not a %s (%zu categories for %zu experts); expected one "
                            "category per expert", source, what, m->n_categories,
                            m->n_experts);
    snprintf(b->model_fingerprint, sizeof b->model_fingerprint, "%s", m->model_fingerprint);
    b->n = (int)m->n_experts;
    b->experts = t2_alloc_array((size_t)b->n, sizeof *b->experts);
    char label[64];
    for (int i = 0; i < b->n; i++) {
        snprintf(label, sizeof label, "expert %d of %d", i + 1, b->n);
        if (member_from_message(&b->experts[i], m->experts[i], source, label, err) != 0)
            return -1;
    }
    if (m->classifier != NULL) {
        b->has_classifier = 1;
        if (member_from_message(&b->classifier, m->classifier, source, "classifier", err) != 0)
            return -1;
    }
    if (check_members(b->experts, b->n, b->has_classifier ? &b->classifier : NULL, NULL,
                      source, err) != 0)
        return -1;
    const t2_expert *first = &b->experts[0];
    if (strcmp(first->model_fingerprint, b->model_fingerprint) != 0)
        return t2_error_set(err, "%s: not a %s (it is for base model %s but its expert '%s' "
                            "for %s); expected the bundle's model for every expert", source,
                            what, b->model_fingerprint, first->name, first->model_fingerprint);
    b->categories = t2_alloc_array((size_t)b->n, sizeof *b->categories);
    for (int i = 0; i < b->n; i++) {
        if (strcmp(m->categories[i], b->experts[i].name) != 0)
            return t2_error_set(err, "%s: not a %s (category %d differs from the name of its "
                                "expert '%s'); expected each expert named after the category "
                                "it serves", source, what, i + 1, b->experts[i].name);
        b->categories[i] = t2_strdup(m->categories[i]);
    }
    if (m->transfer != NULL && transfer_from_message(b, m->transfer, source, err) != 0)
        return -1;
    return 0;
}

int t2_bundle_unpack(t2_bundle *b, const unsigned char *bytes, size_t len, const char *source,
                     t2_error *err) {
    memset(b, 0, sizeof *b);
    if (t2_expert_check_seal(bytes, len, source, what, err) != 0) return -1;
    t2_bundle_kind kind = t2_bundle_sniff(bytes, len);
    if (kind == T2_BUNDLE_KIND_EXPERT)
        return t2_error_set(err, "%s: not a %s (it is an expert file); expected a bundle of "
                            "expert files (t2 bundle create)", source, what);
    if (kind != T2_BUNDLE_KIND_BUNDLE)
        return t2_error_set(err, "%s: not a %s (its first field is not format_version); "
                            "expected proto/t2.proto's Bundle", source, what);
    T2__Bundle *m = t2__bundle__unpack(NULL, len, bytes);
    if (m == NULL)
        return t2_error_set(err, "%s: not a %s (the bytes do not parse as a Bundle message); "
                            "expected proto/t2.proto's Bundle", source, what);
    int status = bundle_from_message(b, m, source, err);
    t2__bundle__free_unpacked(m, NULL);
    if (status != 0) t2_bundle_free(b);
    return status;
}

int t2_bundle_write(const t2_bundle *b, const char *path, t2_error *err) {
    unsigned char *bytes;
    size_t len;
    t2_bundle_pack(b, &bytes, &len);
    int status = t2_file_write_atomic(path, bytes, len, err);
    t2_free(bytes);
    return status;
}

int t2_bundle_create_from_files(t2_bundle *b, const char *out, const char *const *paths, int n,
                                const char *classifier_path, t2_error *err) {
    memset(b, 0, sizeof *b);
    int members = n + (classifier_path != NULL);
    t2_expert *experts = t2_alloc_array((size_t)members, sizeof *experts);
    const char **names = t2_alloc_array((size_t)members, sizeof *names);
    int status = 0;
    for (int i = 0; i < members && status == 0; i++) {
        names[i] = i < n ? paths[i] : classifier_path;
        status = t2_expert_read(&experts[i], names[i], err);
    }
    if (status == 0)
        status = t2_bundle_create(b, experts, n, classifier_path != NULL ? &experts[n] : NULL,
                                  names, err);
    if (status == 0) status = t2_bundle_write(b, out, err);
    if (status != 0) t2_bundle_free(b);
    for (int i = 0; i < members; i++) t2_expert_free(&experts[i]);
    t2_free(experts);
    t2_free(names);
    return status;
}

int t2_bundle_read(t2_bundle *b, const char *path, t2_error *err) {
    memset(b, 0, sizeof *b);
    char *bytes;
    size_t len;
    if (t2_file_read(path, &bytes, &len, err) != 0) return -1;
    int status = t2_bundle_unpack(b, (const unsigned char *)bytes, len, path, err);
    t2_free(bytes);
    return status;
}
