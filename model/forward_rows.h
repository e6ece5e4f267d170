/* The forward's elementwise stages between its GEMMs (RMSNorm, biases, RoPE and the KV
 * cache stores, SwiGLU), for forward.c: each splits the chunk's rows over the worker pool of
 * the forward's attention (model/worker_pool.h, t2_forward_attention_set_threads). A row's
 * result does not depend on the split, so the bits are those of one thread. Not a public
 * header. */
#ifndef T2_MODEL_FORWARD_ROWS_H
#define T2_MODEL_FORWARD_ROWS_H

#include "model/forward.h"

/* f->row_piece from the chunk's pieces: the index of the piece that holds each row. */
void t2_forward_rows_map(t2_forward *f, const t2_forward_piece *pieces, int64_t n_pieces);

/* f->xn = RMSNorm(f->x) with `weight`, rows [0, rows). */
void t2_forward_rows_norm(t2_forward *f, const float *weight, int64_t rows);

/* What a rope stage touches in f->qkv: the queries, the keys and values. */
enum { T2_FORWARD_ROWS_Q = 1, T2_FORWARD_ROWS_KV = 2 };

/* For rows [0, rows) of f->qkv, the parts named (T2_FORWARD_ROWS_*): lw's q / k and v biases
 * (when present), RoPE on q / k at each row's position (its piece's, by f->row_piece), and
 * k and v into the cache. */
void t2_forward_rows_rope_store(t2_forward *f, t2_kv_cache *cache, int64_t layer,
                                const t2_layer_weights *lw, const t2_forward_piece *pieces,
                                int64_t rows, int parts);

/* The queries only, of rows [0, n_pieces) of f->qkv where row p is the last token of piece
 * p: lw's q bias (when present) and RoPE at that token's position. */
void t2_forward_rows_rope_last_q(t2_forward *f, const t2_layer_weights *lw,
                                 const t2_forward_piece *pieces, int64_t n_pieces);

/* The MLP's input: f->x += lw's output bias (when present), then f->xn = RMSNorm(f->x) with
 * lw->post_norm, rows [0, rows). */
void t2_forward_rows_mlp_input(t2_forward *f, const t2_layer_weights *lw, int64_t rows);

/* The gate half of f->mlp = silu(gate) * up, rows [0, rows). */
void t2_forward_rows_swiglu(t2_forward *f, int64_t rows);

#endif
