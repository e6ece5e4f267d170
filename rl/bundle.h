/* Expert bundles: the experts one base model adapts with, one per category, and optionally
 * the classifier expert that answers the category, in one protobuf message (Bundle of
 * proto/t2.proto, docs/formats.md):
 *
 *   format_version       1 (always written first: a bundle's first byte is 0x08)
 *   model_fingerprint    the base model's fingerprint (model/fingerprint.h)
 *   categories           the category each expert serves: its name, in the experts' order
 *   experts              each a sealed ExpertSet, byte for byte its expert file (rl/expert.h)
 *   classifier           optional
 *   transfer             optional: the bundle's experts were mapped from another model
 *   checksum             field 1000, last (the seal of rl/expert_impl.h)
 *
 * Every member (experts and classifier) records the bundle's fingerprint, has a distinct name
 * (non-empty, no spaces or control characters) and the same method, settings and targets
 * (tensor names, order, shapes) as the others, so that the experts can be mixed and one
 * adapter layout serves them all. t2_bundle_create checks this for experts given by the
 * user; reading checks it again with everything else, so a bundle that loads is whole.
 * Writes are atomic (temporary file, fsync, rename). Single-process; no MPI. */
#ifndef T2_RL_BUNDLE_H
#define T2_RL_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "model/decomposition_store.h"
#include "rl/expert.h"

enum { T2_BUNDLE_MAX_EXPERTS = 4096 }; /* experts in one bundle, read or created */

typedef struct t2_bundle {
    char model_fingerprint[T2_FINGERPRINT_CHARS]; /* the base model's (16 hex digits) */
    int n;                       /* experts, 1 to T2_BUNDLE_MAX_EXPERTS */
    t2_expert *experts;          /* [n] (owned) */
    char **categories;           /* [n] categories[i] is experts[i].name (owned copies) */
    int has_classifier;
    t2_expert classifier;        /* when has_classifier (owned); zeroed otherwise */
    /* The transfer record: the experts were mapped from the model with source_fingerprint
     * (source_layers layers) to this one (target_layers layers). */
    int has_transfer;
    char source_fingerprint[T2_FINGERPRINT_CHARS]; /* "" without a transfer */
    int64_t source_layers, target_layers;          /* >= 1 with a transfer */
    char *note;                  /* how they were mapped (owned; may be NULL or "") */
} t2_bundle;

/* Makes a bundle of n >= 1 experts and an optional classifier (NULL for none). paths[i]
 * names experts[i] in errors and paths[n] the classifier. The experts must suit one bundle
 * (see above); otherwise -1 with err naming the file at fault, for example
 *   "code.expert: expert 'code' adapts other matrices than 'math' (target 1 is 'x' against
 *    'y'); expected the same targets",
 * b zeroed and the experts untouched. On success the bundle takes the experts and the
 * classifier over (their structs are left zeroed; freeing them is harmless) and has no
 * transfer record. */
int t2_bundle_create(t2_bundle *b, t2_expert *experts, int n, t2_expert *classifier,
                     const char *const *paths, t2_error *err);

/* 0 when the bundle is for the model with this fingerprint (made, or transferred, for it);
 * else -1 with err "<bundle_path>: bundle made for another base model (fingerprint X);
 * expected Y (<model_path>)". */
int t2_bundle_check_model(const t2_bundle *b, const char *fingerprint, const char *model_path,
                          const char *bundle_path, t2_error *err);

/* The index of the expert serving category, or -1. */
int t2_bundle_find(const t2_bundle *b, const char *category);

/* Serialises to heap bytes (t2_free) in *bytes, *len. */
void t2_bundle_pack(const t2_bundle *b, unsigned char **bytes, size_t *len);
/* Parses and validates bytes (source names them in errors): 0, or -1 with one line
 * "<source>: not a t2 expert bundle (<why>); expected <what>" (a broken member:
 * "<source>: expert 2 of 3: not a t2 expert file (...)") and b zeroed. */
int t2_bundle_unpack(t2_bundle *b, const unsigned char *bytes, size_t len, const char *source,
                     t2_error *err);

/* Atomic write; on failure nothing is left at path. */
int t2_bundle_write(const t2_bundle *b, const char *path, t2_error *err);

/* `t2 bundle create`: reads the experts at paths[0..n) and the classifier at classifier_path
 * (NULL for none), makes the bundle into *b (t2_bundle_create) and writes it to out. 0, or
 * -1 with err (a file that does not read, experts that do not suit one bundle, the write)
 * and b zeroed. */
int t2_bundle_create_from_files(t2_bundle *b, const char *out, const char *const *paths, int n,
                                const char *classifier_path, t2_error *err);
/* Reads and validates a bundle file: 0, or -1 with err naming the file, b zeroed. */
int t2_bundle_read(t2_bundle *b, const char *path, t2_error *err);

void t2_bundle_free(t2_bundle *b); /* accepts a zeroed bundle; may run twice */

/* Which of t2's protobuf files bytes start like (t2 writes fields in number order):
 *   BUNDLE   0x08, field 1 as a varint: a Bundle's format_version (a training
 *            checkpoint starts so too);
 *   EXPERT   0x0A or 0x12, field 1 or 2 as a string: an ExpertSet's name, or its
 *            model_fingerprint when unnamed;
 *   UNKNOWN  anything else, or no bytes.
 * Only the start: reading still validates the whole file. */
typedef enum t2_bundle_kind {
    T2_BUNDLE_KIND_UNKNOWN,
    T2_BUNDLE_KIND_BUNDLE,
    T2_BUNDLE_KIND_EXPERT,
} t2_bundle_kind;
t2_bundle_kind t2_bundle_sniff(const unsigned char *bytes, size_t len);

#endif
