/* Byte-level BPE training: GPT-2's scheme, as Hugging Face tokenizers' BpeTrainer with a
 * ByteLevel pre-tokenizer (use_regex) builds it.
 *
 *   1. Text is cut into pre-tokens by GPT-2's pattern (the pre-tokenizer t2's own
 *      tokenizer.json files name: ByteLevel, use_regex, no prefix space), and each distinct
 *      pre-token is counted.
 *   2. Every pre-token starts as its bytes. Each round counts the adjacent symbol pairs over
 *      all pre-tokens (weighted by their counts), merges the most frequent pair into a new
 *      symbol (ties: the pair with the smaller left id, then the smaller right id) in every
 *      pre-token, left to right, and records the merge. Rounds stop at the asked number of
 *      merges or when no pair occurs min_frequency times.
 *
 * Ids: bytes 0..255 (as t2_tokenizer_write_byte_level numbers them), then the special
 * tokens, then merge i as first_merge_id + i. Pair counts are kept up to date as merges
 * rewrite the pre-tokens that hold them (only those are touched), so training costs about
 * (merges x the symbols of the distinct pre-tokens) comparisons. Single-threaded. */
#ifndef T2_MODEL_TOKENIZER_TRAIN_H
#define T2_MODEL_TOKENIZER_TRAIN_H

#include <stddef.h>
#include <stdint.h>

typedef struct t2_bpe_trainer t2_bpe_trainer;

typedef struct t2_bpe_merge {
    int32_t left, right; /* the ids merged, in order */
} t2_bpe_merge;

t2_bpe_trainer *t2_bpe_trainer_new(void);
void t2_bpe_trainer_free(t2_bpe_trainer *t); /* NULL ok */

/* Counts the pre-tokens of text (len bytes, any bytes). */
void t2_bpe_trainer_add(t2_bpe_trainer *t, const char *text, size_t len);

/* Distinct pre-tokens counted, and all their occurrences. */
int64_t t2_bpe_trainer_distinct(const t2_bpe_trainer *t);
int64_t t2_bpe_trainer_occurrences(const t2_bpe_trainer *t);

/* Called after every merge (done of at most `of`); may be NULL. */
typedef void (*t2_bpe_progress_fn)(void *ctx, int64_t done, int64_t of);

/* Learns up to max_merges merges (ids from first_merge_id, >= 256), each occurring at least
 * min_frequency (>= 1) times; *merges (heap, t2_free) gets them in order. Returns their
 * number. Call once. */
int64_t t2_bpe_trainer_train(t2_bpe_trainer *t, int64_t max_merges, int64_t min_frequency,
                             int32_t first_merge_id, t2_bpe_merge **merges,
                             t2_bpe_progress_fn progress, void *ctx);

#endif
