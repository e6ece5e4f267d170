/* The forward's elementwise stages on the worker pool (see forward_rows.h). */
#include "model/forward_rows.h"

#include "linalg/ops.h"

/* What a stage's rows need; each stage reads the fields it names. */
typedef struct rows_stage {
    t2_forward *f;
    t2_kv_cache *cache;
    const t2_layer_weights *lw;
    const t2_forward_piece *pieces;
    const float *norm;
    int64_t layer;
    int parts;     /* rope stages: T2_FORWARD_ROWS_Q and / or T2_FORWARD_ROWS_KV */
    int last_rows; /* rope stages: row p is the last token of piece p (else f->row_piece) */
} rows_stage;

void t2_forward_rows_map(t2_forward *f, const t2_forward_piece *pieces, int64_t n_pieces) {
    for (int64_t p = 0; p < n_pieces; p++)
        for (int64_t t = 0; t < pieces[p].n; t++) f->row_piece[pieces[p].row + t] = p;
}

static void norm_rows(void *ctx, int64_t begin, int64_t end, int worker) {
    (void)worker;
    const rows_stage *s = ctx;
    const t2_forward *f = s->f;
    int64_t d = f->cfg->hidden_size;
    t2_rmsnorm_forward(f->xn + begin * d, f->x + begin * d, s->norm, end - begin, d,
                       f->cfg->rms_norm_eps);
}

void t2_forward_rows_norm(t2_forward *f, const float *weight, int64_t rows) {
    rows_stage s = {.f = f, .norm = weight};
    t2_worker_pool_run(f->attention.pool, rows, norm_rows, &s);
}

static void rope_store_rows(void *ctx, int64_t begin, int64_t end, int worker) {
    (void)worker;
    const rows_stage *s = ctx;
    const t2_forward *f = s->f;
    const t2_layer_weights *lw = s->lw;
    int64_t hd = f->cfg->head_dim, n_heads = f->cfg->num_attention_heads;
    int64_t n_kv = f->cfg->num_key_value_heads, ld = f->qkv_ld;
    int q = s->parts & T2_FORWARD_ROWS_Q, kv = s->parts & T2_FORWARD_ROWS_KV;
    float *rows = f->qkv + begin * ld;
    if (q && lw->bq) t2_add_bias(rows, lw->bq, end - begin, f->q_dim, ld);
    if (kv && lw->bk) t2_add_bias(rows + f->q_dim, lw->bk, end - begin, f->kv_dim, ld);
    if (kv && lw->bv)
        t2_add_bias(rows + f->q_dim + f->kv_dim, lw->bv, end - begin, f->kv_dim, ld);
    for (int64_t row = begin; row < end; row++) {
        const t2_forward_piece *piece = &s->pieces[s->last_rows ? row : f->row_piece[row]];
        int64_t pos = piece->first_pos + (s->last_rows ? piece->n - 1 : row - piece->row);
        float *q_row = f->qkv + row * ld;
        float *k_row = q_row + f->q_dim, *v_row = k_row + f->kv_dim;
        const float *cos = t2_rope_cos(&f->rope, pos), *sin = t2_rope_sin(&f->rope, pos);
        if (q) t2_rope_forward(q_row, n_heads, hd, cos, sin);
        if (!kv) continue;
        t2_rope_forward(k_row, n_kv, hd, cos, sin);
        for (int64_t h = 0; h < n_kv; h++)
            t2_kv_cache_store(s->cache, piece->slot, s->layer, h, pos, k_row + h * hd,
                              v_row + h * hd);
    }
}

void t2_forward_rows_rope_store(t2_forward *f, t2_kv_cache *cache, int64_t layer,
                                const t2_layer_weights *lw, const t2_forward_piece *pieces,
                                int64_t rows, int parts) {
    rows_stage s = {.f = f, .cache = cache, .lw = lw, .pieces = pieces, .layer = layer,
                    .parts = parts};
    t2_worker_pool_run(f->attention.pool, rows, rope_store_rows, &s);
}

void t2_forward_rows_rope_last_q(t2_forward *f, const t2_layer_weights *lw,
                                 const t2_forward_piece *pieces, int64_t n_pieces) {
    rows_stage s = {.f = f, .lw = lw, .pieces = pieces, .parts = T2_FORWARD_ROWS_Q,
                    .last_rows = 1};
    t2_worker_pool_run(f->attention.pool, n_pieces, rope_store_rows, &s);
}

static void mlp_input_rows(void *ctx, int64_t begin, int64_t end, int worker) {
    const rows_stage *s = ctx;
    int64_t d = s->f->cfg->hidden_size;
    if (s->lw->bo) t2_add_bias(s->f->x + begin * d, s->lw->bo, end - begin, d, d);
    norm_rows(ctx, begin, end, worker);
}

void t2_forward_rows_mlp_input(t2_forward *f, const t2_layer_weights *lw, int64_t rows) {
    rows_stage s = {.f = f, .lw = lw, .norm = lw->post_norm};
    t2_worker_pool_run(f->attention.pool, rows, mlp_input_rows, &s);
}

static void swiglu_rows(void *ctx, int64_t begin, int64_t end, int worker) {
    (void)worker;
    const t2_forward *f = ((const rows_stage *)ctx)->f;
    int64_t ffn = f->cfg->intermediate_size, ld = 2 * ffn;
    float *rows = f->mlp + begin * ld;
    t2_swiglu_forward(rows, ld, rows, ld, rows + ffn, ld, end - begin, ffn);
}

void t2_forward_rows_swiglu(t2_forward *f, int64_t rows) {
    rows_stage s = {.f = f};
    t2_worker_pool_run(f->attention.pool, rows, swiglu_rows, &s);
}
