/* Internal to rl/expert.c, rl/train_state.c and rl/bundle.c (not a public header): the
 * checksum that seals every ExpertSet, TrainState and Bundle message (proto/t2.proto), and the
 * checks on experts that bundles share.
 *
 * A sealed message is the protobuf-c serialisation of the message with its checksum unset,
 * followed by the checksum field written by hand: the key of field 1000 with wire type 1
 * (varint bytes C1 3E) and the XXH64 (seed 0) of every byte before it, little-endian. As
 * field 1000 is the highest number of every message, so the result is exactly what protobuf
 * would write with the checksum set, so any protobuf reader can parse it. */
#ifndef T2_RL_EXPERT_IMPL_H
#define T2_RL_EXPERT_IMPL_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

#include "base/error.h"
#include "model/adapter.h"

enum {
    T2_EXPERT_FORMAT_VERSION = 1,      /* ExpertSet.format_version written and accepted */
    T2_TRAIN_STATE_FORMAT_VERSION = 1, /* TrainState.format_version written and accepted */
    T2_BUNDLE_FORMAT_VERSION = 1,      /* Bundle.format_version written and accepted */
};

/* Serialises m (its checksum field 0) and appends the checksum field: heap bytes (t2_free)
 * in *bytes, *len. */
void t2_expert_seal(const ProtobufCMessage *m, unsigned char **bytes, size_t *len);

/* 0 when bytes end in a checksum field that matches the bytes before it; else -1 with err
 * "<source>: not a <what> (<why>); expected <...>". */
int t2_expert_check_seal(const unsigned char *bytes, size_t len, const char *source,
                         const char *what, t2_error *err);

/* Whether two option sets train and compose the same way (settings of the other method and
 * max_mult of the linear parametrization do not matter). */
int t2_expert_options_equal(const t2_adapter_options *a, const t2_adapter_options *b);

/* Whether s is a model fingerprint: 16 lower-case hex digits. */
int t2_expert_is_fingerprint(const char *s);

#endif
