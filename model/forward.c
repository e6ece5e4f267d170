/* The batched transformer forward (see forward.h for the maths, batching and memory).
 * Reference: Hugging Face transformers, modeling_llama.py / modeling_qwen2.py. */
#include "model/forward.h"

#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "linalg/weight.h"
#include "model/forward_groups.h"
#include "model/forward_rows.h"

void t2_forward_init(t2_forward *f, const t2_model_config *cfg, const t2_model_weights *weights,
                     int64_t max_rows, int64_t max_positions) {
    T2_ASSERT(max_rows > 0 && max_positions > 0);
    T2_ASSERT(cfg->num_attention_heads % cfg->num_key_value_heads == 0);
    memset(f, 0, sizeof *f);
    f->cfg = cfg;
    f->weights = weights;
    f->max_rows = max_rows;
    f->max_positions = max_positions;
    f->q_dim = cfg->num_attention_heads * cfg->head_dim;
    f->kv_dim = cfg->num_key_value_heads * cfg->head_dim;
    f->qkv_ld = f->q_dim + 2 * f->kv_dim;
    t2_rope_init(&f->rope, cfg, max_positions);

    int64_t d = cfg->hidden_size, ffn = cfg->intermediate_size;
    int64_t sizes[5] = {max_rows * d, max_rows * d, max_rows * f->qkv_ld, max_rows * f->q_dim,
                        max_rows * 2 * ffn};
    float **views[5] = {&f->x, &f->xn, &f->qkv, &f->attn, &f->mlp};
    int64_t total = 0;
    for (int i = 0; i < 5; i++) total += (sizes[i] + 15) / 16 * 16; /* 64-byte aligned views */
    f->slab = t2_alloc_array((size_t)total, sizeof(float));
    float *next = f->slab;
    for (int i = 0; i < 5; i++) {
        *views[i] = next;
        next += (sizes[i] + 15) / 16 * 16;
    }
    f->pieces = t2_alloc_array((size_t)max_rows, sizeof(t2_forward_piece));
    f->spans = t2_alloc_array((size_t)max_rows, sizeof(t2_forward_attention_span));
    f->row_piece = t2_alloc_array((size_t)max_rows, sizeof(int64_t));
    t2_forward_attention_init(&f->attention, cfg, max_rows, max_positions);
}

void t2_forward_free(t2_forward *f) {
    t2_rope_free(&f->rope);
    t2_free(f->slab);
    t2_free(f->pieces);
    t2_free(f->spans);
    t2_free(f->row_piece);
    t2_forward_attention_free(&f->attention);
    t2_forward_groups_free(f);
    f->slab = NULL;
    f->pieces = NULL;
    f->spans = NULL;
    f->row_piece = NULL;
}

int64_t t2_forward_logits_rows(const t2_forward_seq *seqs, int64_t n_seqs,
                               t2_forward_logits which) {
    if (which == T2_FORWARD_LOGITS_LAST) return n_seqs;
    int64_t rows = 0;
    for (int64_t s = 0; s < n_seqs; s++) rows += seqs[s].n_tokens;
    return rows;
}

/* out (rows x n_out, ld_out) = in (rows x n_in, ld_in) Wᵀ + beta * out; W: n_out x n_in. */
static void linear(float *out, int64_t ld_out, const float *in, int64_t ld_in, t2_weight w,
                   int64_t rows, int64_t n_out, int64_t n_in, float beta) {
    T2_ASSERT(w.data != NULL); /* an absent matrix runs only in factored form */
    t2_weight_gemm(out, ld_out, in, ld_in, w, rows, n_out, n_in, beta);
}

/* Columns of f->qkv where projection `kind` (Q, K or V) writes, and how many. */
static int64_t qkv_column(const t2_forward *f, t2_linear_kind kind) {
    return kind == T2_LINEAR_Q ? 0 : kind == T2_LINEAR_K ? f->q_dim : f->q_dim + f->kv_dim;
}
static int64_t qkv_width(const t2_forward *f, t2_linear_kind kind) {
    return kind == T2_LINEAR_Q ? f->q_dim : f->kv_dim;
}

/* Projections [first, first + count) of Q, K, V of rows [row, row + rows) of f->xn into their
 * columns of f->qkv with lw's matrices: matrices that lie one after the other in memory run as
 * one GEMM (Q, K and V usually do: one (q_dim + 2 kv_dim) x d matrix). */
static void qkv_rows(t2_forward *f, const t2_layer_weights *lw, t2_linear_kind first,
                     int count, int64_t row, int64_t rows) {
    int64_t d = f->cfg->hidden_size;
    const t2_weight *w[3] = {&lw->wq, &lw->wk, &lw->wv};
    const float *in = f->xn + row * d;
    float *out = f->qkv + row * f->qkv_ld;
    for (int k = (int)first - (int)T2_LINEAR_Q, end = k + count; k < end;) {
        int64_t width = qkv_width(f, (t2_linear_kind)(T2_LINEAR_Q + k));
        int next = k + 1;
        for (; next < end && t2_weight_follows(*w[next - 1], width * d, *w[next]); next++)
            width += qkv_width(f, (t2_linear_kind)(T2_LINEAR_Q + next));
        linear(out + qkv_column(f, (t2_linear_kind)(T2_LINEAR_Q + k)), f->qkv_ld, in, d, *w[k],
               rows, width, d, 0.0f);
        k = next;
    }
}

/* Projections [first, first + count) of Q, K, V of `rows` rows of f->xn into f->qkv: group
 * 0's matrices for all rows when the groups share them; else, in factored form, each matrix
 * through t2_forward_groups_linear, or, composed, each run of one group with its group's
 * matrices. */
static void qkv_projection(t2_forward *f, int64_t layer, t2_linear_kind first, int count,
                           int64_t rows) {
    int64_t d = f->cfg->hidden_size;
    if (t2_forward_groups_share(f, layer, first, count)) {
        qkv_rows(f, t2_forward_group_layer(f, 0, layer), first, count, 0, rows);
    } else if (f->form != T2_FORWARD_COMPOSED) {
        for (int k = (int)first; k < (int)first + count; k++)
            t2_forward_groups_linear(f, layer, (t2_linear_kind)k,
                                     f->qkv + qkv_column(f, (t2_linear_kind)k), f->qkv_ld,
                                     f->xn, d, rows, qkv_width(f, (t2_linear_kind)k), d, 0.0f);
    } else {
        for (int64_t i = 0; i < f->n_runs; i++)
            qkv_rows(f, t2_forward_group_layer(f, f->runs[i].group, layer), first, count,
                     f->runs[i].row, f->runs[i].n);
    }
}

/* Attention output of every piece into f->attn (rows as in f->qkv). When last_only, piece p
 * contributes only its last query token, read from and written to row p. */
static void attention(t2_forward *f, const t2_kv_cache *cache, int64_t layer,
                      const t2_forward_piece *pieces, int64_t n_pieces, int last_only) {
    for (int64_t p = 0; p < n_pieces; p++) {
        const t2_forward_piece *piece = &pieces[p];
        f->spans[p] = last_only
            ? (t2_forward_attention_span){piece->slot, piece->first_pos + piece->n - 1, 1, p}
            : (t2_forward_attention_span){piece->slot, piece->first_pos, piece->n, piece->row};
    }
    t2_forward_attention_run(&f->attention, f->attn, f->q_dim, f->qkv, f->qkv_ld, cache, layer,
                             f->spans, n_pieces);
}

/* Moves each last piece's last row (x, and xn or q) to the front: row i for the i-th last
 * piece, and rewrites the pieces list to hold only last pieces. Returns their count. Rows
 * only move towards the front, in order, so no source is overwritten before it is read. */
static int64_t keep_last_rows(t2_forward *f, t2_forward_piece *pieces, int64_t n_pieces,
                              int move_xn) {
    int64_t d = f->cfg->hidden_size, kept = 0;
    for (int64_t p = 0; p < n_pieces; p++) {
        if (!pieces[p].is_last) continue;
        int64_t src = pieces[p].row + pieces[p].n - 1;
        memmove(f->x + kept * d, f->x + src * d, (size_t)d * sizeof(float));
        if (move_xn)
            memmove(f->xn + kept * d, f->xn + src * d, (size_t)d * sizeof(float));
        else
            memmove(f->qkv + kept * f->qkv_ld, f->qkv + src * f->qkv_ld,
                    (size_t)f->q_dim * sizeof(float));
        pieces[kept++] = pieces[p];
    }
    return kept;
}

/* The rows that keep_last_rows keeps. */
static int64_t last_rows(const t2_forward_piece *pieces, int64_t n_pieces) {
    int64_t kept = 0;
    for (int64_t p = 0; p < n_pieces; p++) kept += pieces[p].is_last;
    return kept;
}

/* [G U] of rows [row, row + rows) of f->xn into f->mlp with lw's matrices: one GEMM when
 * gate and up lie one after the other in memory, else two. */
static void gate_up_rows(t2_forward *f, const t2_layer_weights *lw, int64_t row, int64_t rows) {
    int64_t d = f->cfg->hidden_size, ffn = f->cfg->intermediate_size, ld = 2 * ffn;
    const float *in = f->xn + row * d;
    float *out = f->mlp + row * ld;
    if (t2_weight_follows(lw->w_gate, ffn * d, lw->w_up)) {
        linear(out, ld, in, d, lw->w_gate, rows, 2 * ffn, d, 0.0f);
    } else {
        linear(out, ld, in, d, lw->w_gate, rows, ffn, d, 0.0f);
        linear(out + ffn, ld, in, d, lw->w_up, rows, ffn, d, 0.0f);
    }
}

/* The MLP block on `rows` rows: X += (silu(G) * U) Wdᵀ with [G U] = RMSNorm(X) [Wg Wu]ᵀ
 * (the groups' matrices as in qkv_projection), f->xn = RMSNorm(X) already written. */
static void mlp(t2_forward *f, int64_t layer, int64_t rows) {
    int64_t d = f->cfg->hidden_size, ffn = f->cfg->intermediate_size, ld = 2 * ffn;
    const t2_layer_weights *lw = t2_forward_group_layer(f, 0, layer);
    if (t2_forward_groups_share(f, layer, T2_LINEAR_GATE, 2)) {
        gate_up_rows(f, lw, 0, rows);
    } else if (f->form != T2_FORWARD_COMPOSED) {
        t2_forward_groups_linear(f, layer, T2_LINEAR_GATE, f->mlp, ld, f->xn, d, rows, ffn, d,
                                 0.0f);
        t2_forward_groups_linear(f, layer, T2_LINEAR_UP, f->mlp + ffn, ld, f->xn, d, rows, ffn,
                                 d, 0.0f);
    } else {
        for (int64_t i = 0; i < f->n_runs; i++)
            gate_up_rows(f, t2_forward_group_layer(f, f->runs[i].group, layer), f->runs[i].row,
                         f->runs[i].n);
    }
    t2_forward_rows_swiglu(f, rows);
    t2_forward_groups_linear(f, layer, T2_LINEAR_DOWN, f->x, d, f->mlp, ld, rows, d, ffn, 1.0f);
}

/* One chunk (rows <= max_rows) through every layer; logits rows written to `logits`
 * (ALL: one per row; LAST: one per last piece, in order). */
static void run_chunk(t2_forward *f, t2_kv_cache *cache, t2_forward_piece *pieces,
                      int64_t n_pieces, int64_t rows, t2_forward_logits which, float *logits) {
    const t2_model_config *cfg = f->cfg;
    const t2_model_weights *w = f->weights;
    int64_t d = cfg->hidden_size;
    for (int64_t p = 0; p < n_pieces; p++)
        for (int64_t t = 0; t < pieces[p].n; t++)
            t2_weight_widen(f->x + (pieces[p].row + t) * d, w->embed,
                            (int64_t)pieces[p].tokens[t] * d, d);

    t2_forward_groups_runs(f, pieces, n_pieces, 0);
    t2_forward_rows_map(f, pieces, n_pieces);
    for (int64_t layer = 0; layer < cfg->num_hidden_layers; layer++) {
        const t2_layer_weights *lw = &w->layers[layer];
        int last_only = which == T2_FORWARD_LOGITS_LAST && layer == cfg->num_hidden_layers - 1;
        /* the last layer's queries only for the rows kept (a prompt: its last token) */
        int queries_later = last_only && last_rows(pieces, n_pieces) < rows;
        t2_forward_rows_norm(f, lw->input_norm, rows);
        if (queries_later) {
            qkv_projection(f, layer, T2_LINEAR_K, 2, rows);
            t2_forward_rows_rope_store(f, cache, layer, lw, pieces, rows, T2_FORWARD_ROWS_KV);
        } else {
            qkv_projection(f, layer, T2_LINEAR_Q, 3, rows);
            t2_forward_rows_rope_store(f, cache, layer, lw, pieces, rows,
                                       T2_FORWARD_ROWS_Q | T2_FORWARD_ROWS_KV);
        }
        if (last_only) {
            rows = n_pieces = keep_last_rows(f, pieces, n_pieces, queries_later);
            t2_forward_groups_runs(f, pieces, n_pieces, 1);
        }
        if (queries_later) {
            qkv_projection(f, layer, T2_LINEAR_Q, 1, rows);
            t2_forward_rows_rope_last_q(f, lw, pieces, rows);
        }
        attention(f, cache, layer, pieces, n_pieces, last_only);
        t2_forward_groups_linear(f, layer, T2_LINEAR_O, f->x, d, f->attn, f->q_dim, rows, d,
                                 f->q_dim, 1.0f);
        t2_forward_rows_mlp_input(f, lw, rows);
        mlp(f, layer, rows);
    }
    t2_forward_rows_norm(f, w->final_norm, rows);
    linear(logits, cfg->vocab_size, f->xn, d, w->lm_head, rows, cfg->vocab_size, d, 0.0f);
}

/* Checks the batch before anything is touched (see t2_forward_run). */
static int validate(t2_forward *f, t2_kv_cache *cache, const t2_forward_seq *seqs,
                    int64_t n_seqs, t2_error *err) {
    uint64_t epoch = ++cache->epoch;
    for (int64_t s = 0; s < n_seqs; s++) {
        const t2_forward_seq *seq = &seqs[s];
        T2_ASSERT(seq->slot >= 0 && seq->slot < cache->n_slots && seq->n_tokens >= 1);
        T2_ASSERT(f->n_groups == 0 || (seq->group >= 0 && seq->group < f->n_groups));
        T2_ASSERT(cache->mark[seq->slot] != epoch); /* a slot appears once per call */
        cache->mark[seq->slot] = epoch;
        int64_t end = cache->length[seq->slot] + seq->n_tokens;
        if (end > cache->capacity)
            return t2_error_set(err, "KV cache slot %lld: %lld held + %lld new positions exceed "
                                "its capacity; expected at most %lld", (long long)seq->slot,
                                (long long)cache->length[seq->slot], (long long)seq->n_tokens,
                                (long long)cache->capacity);
        if (end > f->max_positions)
            return t2_error_set(err, "sequence %lld: position %lld is past the forward's range; "
                                "expected positions below %lld", (long long)s,
                                (long long)(end - 1), (long long)f->max_positions);
        for (int64_t t = 0; t < seq->n_tokens; t++)
            if (seq->tokens[t] < 0 || seq->tokens[t] >= f->cfg->vocab_size)
                return t2_error_set(err, "sequence %lld, token %lld: id %d is outside the "
                                    "vocabulary; expected 0 <= id < %lld", (long long)s,
                                    (long long)t, seq->tokens[t],
                                    (long long)f->cfg->vocab_size);
    }
    return 0;
}

int t2_forward_run(t2_forward *f, t2_kv_cache *cache, const t2_forward_seq *seqs,
                   int64_t n_seqs, t2_forward_logits which, float *logits, t2_error *err) {
    T2_ASSERT(cache->n_layers == f->cfg->num_hidden_layers &&
              cache->n_kv_heads == f->cfg->num_key_value_heads &&
              cache->head_dim == f->cfg->head_dim);
    if (validate(f, cache, seqs, n_seqs, err) != 0) return -1;
    int64_t vocab = f->cfg->vocab_size;
    int64_t seq = 0, done = 0; /* next sequence, and its tokens already run */
    int64_t out_row = 0;       /* next logits row */
    while (seq < n_seqs) {
        int64_t rows = 0, n_pieces = 0, n_last = 0;
        while (seq < n_seqs && rows < f->max_rows) {
            const t2_forward_seq *s = &seqs[seq];
            int64_t take = s->n_tokens - done;
            if (take > f->max_rows - rows) take = f->max_rows - rows;
            t2_forward_piece *piece = &f->pieces[n_pieces++];
            piece->slot = s->slot;
            piece->first_pos = cache->length[s->slot];
            piece->n = take;
            piece->row = rows;
            piece->tokens = s->tokens + done;
            piece->is_last = done + take == s->n_tokens;
            piece->group = f->n_groups > 0 ? s->group : 0;
            /* the piece keeps its first position; the slot's next piece follows it */
            cache->length[s->slot] += take;
            rows += take;
            done += take;
            if (piece->is_last) {
                n_last++;
                seq++;
                done = 0;
            }
        }
        run_chunk(f, cache, f->pieces, n_pieces, rows, which, logits + out_row * vocab);
        out_row += which == T2_FORWARD_LOGITS_LAST ? n_last : rows;
    }
    return 0;
}
