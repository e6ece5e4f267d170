/* The decomposition store: the SVD of every target matrix of a model, in one safetensors
 * file that training, evaluation and adaptation load.
 *
 * Layout (a valid safetensors file, see model/safetensors.h), for each target W (out x in,
 * r = min(out, in)), W = U diag(S) V^T as torch.svd returns it (the reference
 * implementation's key names):
 *   "<target>.U"  F32 [out, r]   left singular vectors, row-major
 *   "<target>.S"  F32 [r]        singular values, descending
 *   "<target>.V"  F32 [in, r]    right singular vectors (not V^T), row-major
 * Tensors are laid out in name order without gaps; the header is padded with spaces to a
 * multiple of 8 bytes. __metadata__ (all strings):
 *   "format"             "t2-decomposition"
 *   "format_version"     "1"
 *   "targets"            JSON array of the target names, in the order they were selected
 *   "source_fingerprint" 16 hex digits: the target tensors of the model (names, dtypes,
 *                        shapes and bytes; t2_decomposition_source_fingerprint)
 *   "options"            the options that change the result, e.g. "precision=double"
 *   "fingerprint"        16 hex digits: source_fingerprint and options together
 *   "model"              the model path it was made from (informational)
 *   "data_xxh64"         16 hex digits: the checksum of the file (t2_decomposition_store_checksum:
 *                        XXH64 of the data buffer seeded with the XXH64 of the whole header,
 *                        read with these 16 digits as '0's). Stores written before it existed
 *                        lack the key; they load unchecked (docs/formats.md).
 *
 * Writing streams: the header depends only on the target shapes, so it is written first and
 * each factor is then written at its offset as soon as it is known, by whichever process
 * computed it (pwrite into a temporary file next to the store, fsync, rename at the end:
 * a store is either absent, the old one, or complete; the committer checksums the file just
 * before its fsync). Readers validate every shape against the target list, then the
 * checksum, and refuse anything else. Nothing here uses MPI; dist/decompose.c
 * coordinates the processes. */
#ifndef T2_MODEL_DECOMPOSITION_STORE_H
#define T2_MODEL_DECOMPOSITION_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "base/background_flush.h"
#include "base/error.h"
#include "model/safetensors.h"
#include "model/targets.h"

enum { T2_FINGERPRINT_CHARS = 17 }; /* 16 hex digits and the NUL */

/* ---- fingerprints ---- */

/* XXH64 of len bytes with a seed (the xxHash specification's 64-bit hash). */
uint64_t t2_decomposition_xxh64(const void *data, size_t len, uint64_t seed);
/* A 64-bit hash of one tensor: its name, dtype, shape and data bytes. */
uint64_t t2_decomposition_tensor_hash(const t2_tensor_info *t);
/* The fingerprint of the targets from their tensor hashes (hashes[i] of targets->items[i]). */
uint64_t t2_decomposition_source_fingerprint(const t2_target_list *targets,
                                             const uint64_t *hashes);
/* The fingerprint of a store: its source fingerprint and options string together. */
uint64_t t2_decomposition_fingerprint(uint64_t source_fingerprint, const char *options);
/* 16 lower-case hex digits. */
void t2_fingerprint_format(uint64_t fingerprint, char out[T2_FINGERPRINT_CHARS]);
/* Where the 16 digits of "data_xxh64" start in a header as t2 writes it (the compact JSON
 * text "data_xxh64":"<16 characters>"), or 0 when they are not there. */
size_t t2_decomposition_checksum_find(const unsigned char *header, size_t header_bytes);
/* The store checksum of a whole file in memory (file_bytes bytes, its first header_bytes the
 * 8-byte length and the JSON header) whose 16 checksum digits start at checksum_at: XXH64 of
 * file[header_bytes, file_bytes) seeded with XXH64 (seed 0) of the header with those digits
 * read as '0'. */
uint64_t t2_decomposition_store_checksum(const unsigned char *file, size_t header_bytes,
                                         size_t file_bytes, size_t checksum_at);

/* ---- writing ---- */

/* Where each factor of each target goes: absolute byte offsets in the file. */
typedef struct t2_decomposition_slot {
    int64_t rows, cols, rank; /* out, in, min(out, in) */
    int64_t u_offset, s_offset, v_offset;
} t2_decomposition_slot;

typedef struct t2_decomposition_layout {
    int n;                        /* targets */
    t2_decomposition_slot *slots; /* [n], in target order */
    unsigned char *header;        /* the file's first header_bytes bytes */
    size_t header_bytes;
    size_t checksum_at;           /* where the checksum's 16 digits go in the header */
    int64_t file_bytes;
} t2_decomposition_layout;

/* Builds the header for targets with the given metadata (fingerprints, options, model).
 * Deterministic: every process that builds it from the same inputs gets the same bytes. */
void t2_decomposition_layout_init(t2_decomposition_layout *layout, const t2_target_list *targets,
                                  uint64_t source_fingerprint, const char *options,
                                  const char *model_path);
void t2_decomposition_layout_free(t2_decomposition_layout *layout);

/* One process's handle on the temporary store file. Its factors reach the disk while the
 * process goes on decomposing (a background flusher), so the commit's one fsync is short. */
typedef struct t2_decomposition_writer {
    int fd;          /* -1 when closed */
    char *path;      /* the final store path (owned) */
    char *temp_path; /* "<path>.tmp.<id>" (owned) */
    t2_background_flush flush;
    /* the creator's (0 on attached writers): where the commit writes the checksum */
    size_t header_bytes, checksum_at;
    int64_t file_bytes;
} t2_decomposition_writer;

/* The temporary file name for path with a job-unique id (e.g. rank 0's pid): heap string. */
char *t2_decomposition_temp_path(const char *path, long id);
/* Removes stale temporary files of path (base/file.h: those of writers that are gone),
 * creates the temporary file (failing if it exists), writes the header and sizes the file.
 * On failure (-1, err "<path>: cannot write: ...") nothing is left behind. */
int t2_decomposition_writer_create(t2_decomposition_writer *w, const char *path,
                                   const char *temp_path, const t2_decomposition_layout *layout,
                                   t2_error *err);
/* Opens the temporary file another process created, for writing factors. */
int t2_decomposition_writer_attach(t2_decomposition_writer *w, const char *path,
                                   const char *temp_path, t2_error *err);
/* Writes count floats at byte offset `offset` (from a slot). 0 or -1 with err. */
int t2_decomposition_writer_put(t2_decomposition_writer *w, int64_t offset, const float *data,
                                int64_t count, t2_error *err);
/* Closes this process's handle (every writer, before the commit; a write error the system
 * reports late surfaces here). Safe on a closed or zeroed writer. */
int t2_decomposition_writer_close(t2_decomposition_writer *w, t2_error *err);
/* The creator, after every writer closed: checksums the temporary file (reading it back),
 * writes the checksum into the header, fsyncs the file once (all writers' data), renames it
 * over the store and syncs the folder. On failure the temporary file is removed and the
 * store at path (if any) is untouched. */
int t2_decomposition_writer_commit(t2_decomposition_writer *w, t2_error *err);
/* Closes (without error) and removes the temporary file; frees the names. Safe on a zeroed
 * writer; call on the creator only (others call t2_decomposition_writer_free). */
void t2_decomposition_writer_discard(t2_decomposition_writer *w);
void t2_decomposition_writer_free(t2_decomposition_writer *w); /* closes, frees the names */

/* ---- reading ---- */

typedef struct t2_decomposition_store {
    t2_safetensors st;
    char *path;
    int n;                          /* targets */
    char **names;                   /* [n] target names */
    int64_t *rows, *cols, *ranks;   /* [n] */
    const t2_tensor_info **u, **s, **v; /* [n] borrowed from st */
    uint64_t source_fingerprint, fingerprint;
    char *options;
    char *model_path;               /* as recorded; may be empty */
} t2_decomposition_store;

/* Opens and validates a store: a readable safetensors file, format and version, the target
 * list, for each target the three F32 tensors with consistent shapes, and nothing else; then
 * the checksum over the whole file when it has one (reads every byte: about a second per
 * few GB from the page cache). 0, or -1 with err "<path>: <problem>; expected ..." and store
 * safe to close. */
int t2_decomposition_store_open(t2_decomposition_store *store, const char *path, t2_error *err);
/* The index of target `name`, or -1. */
int t2_decomposition_store_find(const t2_decomposition_store *store, const char *name);
/* Target i's factors in place in the store's mapping (read-only, valid until the store is
 * closed, shared by every process that maps the file): u (rows x r), s (r), v (cols x r). */
void t2_decomposition_store_view(const t2_decomposition_store *store, int i, const float **u,
                                 const float **s, const float **v);
/* Copies target i's factors into u (rows x r), s (r), v (cols x r). */
int t2_decomposition_store_read(const t2_decomposition_store *store, int i, float *u, float *s,
                                float *v, t2_error *err);
/* For a loader (training): checks that the model (st, opened from model_path) holds every
 * target with the same shape and the same bytes (source fingerprint). -1 with err naming
 * the store, the model and the difference. Reads every target tensor of the model. */
int t2_decomposition_store_check_model(const t2_decomposition_store *store,
                                       const t2_safetensors *st, const char *model_path,
                                       t2_error *err);
void t2_decomposition_store_close(t2_decomposition_store *store); /* zeroed ok; twice ok */

#endif
