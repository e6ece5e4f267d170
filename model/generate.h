/* Generating continuations of many prompts at once.
 *
 * Continuous batching over the KV cache's slots: up to n_slots sequences are active; each
 * forward call prefills the prompts that just got a slot together with one decode token of
 * every other active sequence (model/forward.h), and a slot freed by a finished sequence
 * takes the next waiting prompt in the following call. Only each sequence's last logits
 * are computed.
 *
 * A sequence stops at the first of:
 *   - a sampled token in eos_ids (T2_FINISH_EOS; the token is kept in `tokens`, its text
 *     is not added);
 *   - its text containing one of stop_strings (T2_FINISH_STOP; the text is cut before the
 *     stop string, `tokens` keeps the token that completed it);
 *   - max_new_tokens tokens (T2_FINISH_LENGTH).
 * Text is the concatenation of the generated tokens' bytes (t2_tokenizer_token_bytes):
 * exactly what follows the prompt. Sequence i samples from its own t2_rng stream seeded
 * with t2_generate_seed(seed, i), so its tokens do not depend on which other prompts share
 * the batch (up to the last bits of the batched GEMMs).
 * Single-process; no MPI. Does not format or tokenize prompts (cmd/ and rl/ do). */
#ifndef T2_MODEL_GENERATE_H
#define T2_MODEL_GENERATE_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "model/forward.h"
#include "model/kv_cache.h"
#include "model/sampler.h"
#include "model/tokenizer.h"

typedef enum t2_finish_reason {
    T2_FINISH_LENGTH = 0, /* max_new_tokens reached */
    T2_FINISH_EOS = 1,    /* an end-of-sequence token was sampled */
    T2_FINISH_STOP = 2,   /* a stop string appeared in the text */
} t2_finish_reason;

typedef struct t2_generate_params {
    int64_t max_new_tokens;           /* >= 0 */
    t2_sampler_params sampler;
    uint64_t seed;
    const int64_t *eos_ids;           /* [n_eos_ids], borrowed */
    int n_eos_ids;
    const char *const *stop_strings;  /* [n_stop_strings] non-empty, borrowed; need a tokenizer */
    int n_stop_strings;
} t2_generate_params;

typedef struct t2_generation {
    int32_t *tokens;       /* [n_tokens] generated ids (heap) */
    int64_t n_tokens;
    char *text;            /* NUL-terminated generated text (heap); "" without a tokenizer */
    size_t text_len;
    t2_finish_reason finish;
} t2_generation;

/* Called with each piece of a sequence's text as soon as it is final: text that could
 * still turn out to be the start of a stop string is held back until it cannot. The pieces
 * of sequence `seq` concatenate to its final text. */
typedef void (*t2_generate_text_fn)(void *ctx, int64_t seq, const char *text, size_t len);

/* Continues n_prompts prompts (prompts[i]: prompt_lens[i] >= 1 token ids). Uses every slot
 * of cache (emptied first) and f's workspace; tok may be NULL when there are no stop strings
 * (texts stay empty). on_text may be NULL. out: n_prompts results, filled on success (free
 * with t2_generate_free). Returns 0, or -1 with err set and out zeroed, before anything is
 * generated, when a prompt is empty, holds an id outside the model's vocabulary, or with
 * max_new_tokens does not fit a cache slot. */
int t2_generate_run(t2_forward *f, t2_kv_cache *cache, const t2_tokenizer *tok,
                    const int32_t *const *prompts, const int64_t *prompt_lens, int64_t n_prompts,
                    const t2_generate_params *params, t2_generation *out,
                    t2_generate_text_fn on_text, void *ctx, t2_error *err);

/* Frees n results (accepts zeroed ones). */
void t2_generate_free(t2_generation *out, int64_t n);

/* One sequence's text bookkeeping, for callers that run their own decoding loop with the
 * stopping rules above (rl/serve_engine.c; t2_generate_run keeps one per prompt):
 * t2_generate_start, then t2_generate_accept for each sampled token until it returns 1. */
typedef struct t2_generate_stream {
    size_t text_cap; /* bytes allocated for the generation's text (NUL included) */
    size_t emitted;  /* bytes of text already handed to on_text */
} t2_generate_stream;

/* Makes g an empty generation with room for max_new_tokens >= 1 tokens (free it with
 * t2_generate_free) and st its fresh bookkeeping. */
void t2_generate_start(t2_generation *g, t2_generate_stream *st, int64_t max_new_tokens);

/* Records token, sampled for sequence seq, in g: appends it (and its text, with a tokenizer),
 * streams the text that became final through on_text (may be NULL) and returns 1 when the
 * sequence is finished (g->finish says why: an EOS id, a stop string, max_new_tokens of
 * params), else 0. Call at most params->max_new_tokens times. */
int t2_generate_accept(t2_generation *g, t2_generate_stream *st, int64_t seq, int32_t token,
                       const t2_tokenizer *tok, const t2_generate_params *params,
                       t2_generate_text_fn on_text, void *ctx);

/* The seed of sequence i's random stream. */
uint64_t t2_generate_seed(uint64_t seed, int64_t i);

#endif
