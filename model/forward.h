/* The batched transformer forward (Llama / Mistral / Qwen2) with a KV cache.
 *
 * One call runs many sequences of different lengths together: each sequence names its KV
 * cache slot and brings its new tokens (a whole prompt to prefill, one token to decode, or
 * anything between); its positions continue from what the slot already holds. All rows of
 * all sequences go through every linear layer as ONE GEMM (Y = X Wᵀ with the Hugging Face
 * out x in weights), so decoding hundreds of sequences costs a few large GEMMs per layer
 * rather than many small ones. Attention runs against the cache (model/forward_attention.h):
 * GEMMs over blocks of query rows for long runs (prefill), a kernel over blocks of cached
 * positions shared among the threads for short ones (decode, linalg/decode_attention.h).
 *
 * Per layer, for the rows X of the batch (R x d):
 *   Xn = RMSNorm(X) ; [Q K V] = Xn [Wq Wk Wv]ᵀ (+ biases) ; RoPE(Q), RoPE(K) at each row's
 *   position ; K, V -> cache ; A = causal GQA attention ; X += A Woᵀ (+ bias, llama only) ;
 *   Xn = RMSNorm(X) ; [G U] = Xn [Wg Wu]ᵀ ; X += (silu(G) * U) Wdᵀ
 * then logits = RMSNorm(X) lm_headᵀ (lm_head = embed_tokens when tied).
 * With only the last logits wanted, the last layer's attention output, MLP and lm_head run
 * for each sequence's last row alone.
 *
 * Memory: the workspace holds every activation for max_rows rows, allocated once at init;
 * a call with more rows is split into chunks of at most max_rows rows (a long prompt may be
 * split across chunks; its positions continue through the cache). Nothing is allocated per
 * call, layer or token.
 * Threading: the GEMMs use BLIS's threads (linalg/blis_setup.h), decode attention as many
 * OpenMP threads (results do not depend on their number); the rest is one thread.
 * Reference: Hugging Face transformers' modeling_llama.py (LlamaModel.forward). */
#ifndef T2_MODEL_FORWARD_H
#define T2_MODEL_FORWARD_H

#include <stdint.h>

#include "base/error.h"
#include "model/config.h"
#include "model/forward_attention.h"
#include "model/kv_cache.h"
#include "model/rope.h"
#include "model/train.h"
#include "model/weights.h"

/* One sequence of a batch. */
typedef struct t2_forward_seq {
    int64_t slot;          /* KV cache slot; positions continue from its length */
    int64_t n_tokens;      /* new tokens, >= 1 */
    const int32_t *tokens; /* [n_tokens], borrowed */
    int group;             /* weights group (t2_forward_set_groups); read only when set */
} t2_forward_seq;

typedef enum t2_forward_logits {
    T2_FORWARD_LOGITS_ALL = 0,  /* one row per token, in batch order (sum of n_tokens rows) */
    T2_FORWARD_LOGITS_LAST = 1, /* one row per sequence: after its last new token */
} t2_forward_logits;

/* One run of consecutive tokens of one sequence inside a chunk (internal bookkeeping). */
typedef struct t2_forward_piece {
    int64_t slot;
    int64_t first_pos;     /* position of the piece's first token */
    int64_t n;             /* tokens in the piece */
    int64_t row;           /* first row in the chunk */
    const int32_t *tokens; /* [n], borrowed */
    int is_last;           /* holds the sequence's last new token */
    int group;             /* the sequence's weights group (0 without groups) */
} t2_forward_piece;

/* One matrix of a block in factored form for every weights group at once:
 * W_g = U diag(scale_g) Vᵀ, so Y = ((X V) ⊙ scale_g) Uᵀ for the rows of group g, with U and
 * V shared: one pass over them for all groups (an SVF expert is a per-row scale between two
 * shared GEMMs). */
typedef struct t2_forward_factor {
    int64_t layer;
    t2_linear_kind kind;
    int64_t rank;        /* r */
    t2_weight u;         /* out x r */
    t2_weight vt;        /* r x in (Vᵀ, row-major) */
    const float *scale;  /* [n_groups x r]: group g's diagonal at g * r */
} t2_forward_factor;

/* A contiguous run of a chunk's rows of one weights group, in one form (internal
 * bookkeeping). */
typedef struct t2_forward_run_span {
    int group;
    int64_t row, n;
    int factored;  /* rows of short pieces (decode) when the call is factored */
} t2_forward_run_span;

enum { T2_FORWARD_FACTORED_PIECE_ROWS = 8 }; /* longer pieces (prefill) run composed */

/* The forms of t2_forward_set_form. */
typedef enum t2_forward_form {
    T2_FORWARD_COMPOSED = 0,        /* each run of one group with its group's matrices */
    T2_FORWARD_FACTORED_DECODE = 1, /* pieces of at most T2_FORWARD_FACTORED_PIECE_ROWS
                                     * factored, longer ones composed */
    T2_FORWARD_FACTORED_ALL = 2,    /* every piece factored: for groups whose factored
                                     * matrices are absent (data NULL, no composed copy) */
} t2_forward_form;

typedef struct t2_forward {
    const t2_model_config *cfg;     /* borrowed */
    const t2_model_weights *weights; /* borrowed */
    int64_t max_rows;               /* rows per chunk */
    int64_t max_positions;          /* rope table length: positions must stay below it */
    int64_t q_dim, kv_dim, qkv_ld;  /* n_heads*hd, n_kv*hd, q_dim + 2*kv_dim */
    t2_rope rope;
    float *slab;                    /* owns the views below */
    float *x;       /* max_rows x d: residual stream */
    float *xn;      /* max_rows x d: normed input of the current sub-layer */
    float *qkv;     /* max_rows x qkv_ld: q | k | v of each row */
    float *attn;    /* max_rows x q_dim: attention output */
    float *mlp;     /* max_rows x 2*ffn: gate | up; silu(gate)*up overwrites the gate half */
    t2_forward_piece *pieces; /* [max_rows] of the current chunk */
    t2_forward_attention_span *spans; /* [max_rows]: the pieces' query rows for attention */
    int64_t *row_piece;               /* [max_rows]: the piece of each row of the chunk */
    t2_forward_attention attention;   /* its workspace, thread count and worker pool (which
                                       * the elementwise stages share) */
    /* weights groups (t2_forward_set_groups); n_groups 0: every row uses `weights` */
    int n_groups;
    const t2_model_weights *const *groups;  /* [n_groups], borrowed */
    const t2_forward_factor **factor_of;    /* [layers x T2_LINEAR_COUNT] or NULL entries */
    t2_forward_form form;     /* which rows' matrices with a factor run factored */
    float *factor_work;       /* max_rows x the largest rank */
    t2_forward_run_span *runs; /* [max_rows] of the current stage of the chunk */
    int64_t n_runs;
} t2_forward;

/* Prepares a workspace for (cfg, weights), both borrowed and kept alive by the caller, for
 * chunks of up to max_rows rows and positions below max_positions. */
void t2_forward_init(t2_forward *f, const t2_model_config *cfg, const t2_model_weights *weights,
                     int64_t max_rows, int64_t max_positions);
void t2_forward_free(t2_forward *f); /* accepts a zeroed object; may run twice */

/* Lets one call run sequences with different weights: sequence s uses groups[seqs[s].group].
 * The groups must have cfg's shapes; a matrix that is the same view in every group runs as
 * one GEMM over all rows, the others once per run of rows of one group (composed form) or,
 * when factors[] holds that (layer, kind) and t2_forward_set_form chose a factored form,
 * in factored form: the rows of pieces of at most T2_FORWARD_FACTORED_PIECE_ROWS tokens
 * (decode; all pieces under T2_FORWARD_FACTORED_ALL) in one pair of GEMMs per stretch of
 * consecutive such rows, whatever their groups, and longer pieces (prefill, where a group's
 * own W' is the cheaper product) composed. A group's matrix with a factor may be absent (data
 * NULL) when the caller runs only T2_FORWARD_FACTORED_ALL. groups[0] replaces `weights`.
 * Everything is borrowed and must outlive the workspace's use; factors may be NULL
 * (n_factors 0). Call once, after init. */
void t2_forward_set_groups(t2_forward *f, const t2_model_weights *const *groups, int n_groups,
                           const t2_forward_factor *factors, int n_factors);
/* Chooses the form of the factored matrices for the next calls. Every form gives each row
 * its group's product; they differ by float32 rounding only. */
void t2_forward_set_form(t2_forward *f, t2_forward_form form);

/* Runs the batch: appends each sequence's keys/values to its slot and writes logits
 * (float32, vocab_size per row): n_seqs rows for T2_FORWARD_LOGITS_LAST, sum of n_tokens
 * rows for T2_FORWARD_LOGITS_ALL. Each slot may appear at most once per call (asserted).
 * Returns 0, or -1 with err set and the cache untouched when a token id is outside the
 * vocabulary or a slot would overflow the cache capacity or max_positions. */
int t2_forward_run(t2_forward *f, t2_kv_cache *cache, const t2_forward_seq *seqs,
                   int64_t n_seqs, t2_forward_logits which, float *logits, t2_error *err);

/* Total rows the logits of a call hold: n_seqs or the sum of n_tokens. */
int64_t t2_forward_logits_rows(const t2_forward_seq *seqs, int64_t n_seqs,
                               t2_forward_logits which);

#endif
