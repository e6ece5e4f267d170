/* Base-model fingerprints (see fingerprint.h): per-tensor hashes from the decomposition
 * store's XXH64 (model/decomposition_store.c), combined in name order. */
#include "model/fingerprint.h"

#include "base/alloc.h"

void t2_model_fingerprint(const t2_safetensors *st, char out[T2_FINGERPRINT_CHARS]) {
    /* st->tensors is sorted by name across all shards (model/safetensors.h). */
    uint64_t *hashes = t2_alloc_array((size_t)(st->n_tensors > 0 ? st->n_tensors : 1),
                                      sizeof *hashes);
    for (int i = 0; i < st->n_tensors; i++)
        hashes[i] = t2_decomposition_tensor_hash(&st->tensors[i]);
    uint64_t h = t2_decomposition_xxh64(hashes, (size_t)st->n_tensors * sizeof *hashes, 0);
    t2_free(hashes);
    t2_fingerprint_format(h, out);
}

int t2_model_fingerprint_dir(const char *model_dir, char out[T2_FINGERPRINT_CHARS],
                             t2_error *err) {
    out[0] = '\0';
    t2_safetensors st;
    int status = t2_safetensors_open(&st, model_dir, err);
    if (status == 0) t2_model_fingerprint(&st, out);
    t2_safetensors_close(&st);
    return status;
}
