/* Batched generation with continuous batching over KV cache slots (see generate.h).
 * Reference: Hugging Face's GenerationMixin.generate (stopping at eos_token_id, stop_strings,
 * max_new_tokens), vLLM's scheduler (continuous batching). */
#include "model/generate.h"

#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"

/* What the loop tracks for one prompt. */
typedef struct seq_state {
    int64_t slot;       /* cache slot while active, -1 otherwise */
    int prefilled;      /* the prompt is in the cache */
    t2_rng rng;
    t2_generate_stream stream;
} seq_state;

uint64_t t2_generate_seed(uint64_t seed, int64_t i) {
    /* distinct, well-mixed streams per sequence; t2_rng_init mixes further (splitmix64) */
    return seed ^ (0x9E3779B97F4A7C15ull * (uint64_t)(i + 1));
}

void t2_generate_free(t2_generation *out, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        t2_free(out[i].tokens);
        t2_free(out[i].text);
        out[i].tokens = NULL;
        out[i].text = NULL;
        out[i].n_tokens = 0;
        out[i].text_len = 0;
    }
}

static int is_eos(const t2_generate_params *params, int32_t token) {
    for (int i = 0; i < params->n_eos_ids; i++)
        if (params->eos_ids[i] == token) return 1;
    return 0;
}

static void append_text(t2_generation *g, t2_generate_stream *st, const char *bytes, size_t len) {
    if (g->text_len + len + 1 > st->text_cap) {
        size_t cap = st->text_cap * 2;
        while (cap < g->text_len + len + 1) cap *= 2;
        g->text = t2_realloc(g->text, cap);
        st->text_cap = cap;
    }
    memcpy(g->text + g->text_len, bytes, len);
    g->text_len += len;
    g->text[g->text_len] = '\0';
}

/* Searches the text's tail that the last `added` bytes could have completed for a stop
 * string; on a match cuts the text before it and returns 1. */
static int cut_at_stop(t2_generation *g, const t2_generate_params *params, size_t added) {
    size_t best = g->text_len;
    for (int s = 0; s < params->n_stop_strings; s++) {
        const char *stop = params->stop_strings[s];
        size_t stop_len = strlen(stop);
        if (stop_len > g->text_len) continue;
        size_t old_len = g->text_len - added;
        size_t from = old_len > stop_len - 1 ? old_len - (stop_len - 1) : 0;
        for (size_t at = from; at + stop_len <= g->text_len && at < best; at++)
            if (memcmp(g->text + at, stop, stop_len) == 0) best = at;
    }
    if (best == g->text_len) return 0;
    g->text_len = best;
    g->text[best] = '\0';
    return 1;
}

/* Bytes at the end of the text that are a proper prefix of some stop string (held back
 * from streaming while the sequence runs). */
static size_t stop_prefix_len(const t2_generation *g, const t2_generate_params *params) {
    size_t held = 0;
    for (int s = 0; s < params->n_stop_strings; s++) {
        const char *stop = params->stop_strings[s];
        size_t stop_len = strlen(stop);
        for (size_t k = stop_len - 1; k > held; k--)
            if (k <= g->text_len && memcmp(g->text + g->text_len - k, stop, k) == 0) {
                held = k;
                break;
            }
    }
    return held;
}

static void emit(t2_generation *g, t2_generate_stream *st, int64_t seq, size_t upto,
                 t2_generate_text_fn on_text, void *ctx) {
    if (upto <= st->emitted) return;
    if (on_text != NULL) on_text(ctx, seq, g->text + st->emitted, upto - st->emitted);
    st->emitted = upto;
}

void t2_generate_start(t2_generation *g, t2_generate_stream *st, int64_t max_new_tokens) {
    T2_ASSERT(max_new_tokens >= 1);
    memset(g, 0, sizeof *g);
    g->tokens = t2_alloc_array((size_t)max_new_tokens, sizeof(int32_t));
    st->text_cap = 64;
    st->emitted = 0;
    g->text = t2_alloc_zero(st->text_cap);
}

int t2_generate_accept(t2_generation *g, t2_generate_stream *st, int64_t seq, int32_t token,
                       const t2_tokenizer *tok, const t2_generate_params *params,
                       t2_generate_text_fn on_text, void *ctx) {
    g->tokens[g->n_tokens++] = token;
    if (is_eos(params, token)) {
        g->finish = T2_FINISH_EOS;
        emit(g, st, seq, g->text_len, on_text, ctx);
        return 1;
    }
    if (tok != NULL) {
        size_t len = 0;
        const char *bytes = t2_tokenizer_token_bytes(tok, token, &len);
        if (bytes != NULL && len > 0) {
            append_text(g, st, bytes, len);
            if (cut_at_stop(g, params, len)) {
                g->finish = T2_FINISH_STOP;
                emit(g, st, seq, g->text_len, on_text, ctx);
                return 1;
            }
        }
    }
    if (g->n_tokens == params->max_new_tokens) {
        g->finish = T2_FINISH_LENGTH;
        emit(g, st, seq, g->text_len, on_text, ctx);
        return 1;
    }
    emit(g, st, seq, g->text_len - stop_prefix_len(g, params), on_text, ctx);
    return 0;
}

/* Everything the forward would reject, checked before any prompt starts (so nothing has been
 * streamed when an error is returned). */
static int check_prompts(const t2_kv_cache *cache, int64_t vocab, const int32_t *const *prompts,
                         const int64_t *prompt_lens, int64_t n_prompts, int64_t max_new_tokens,
                         t2_error *err) {
    for (int64_t i = 0; i < n_prompts; i++) {
        if (prompt_lens[i] < 1)
            return t2_error_set(err, "prompt %lld: empty; expected at least one token",
                                (long long)i);
        for (int64_t t = 0; t < prompt_lens[i]; t++)
            if (prompts[i][t] < 0 || prompts[i][t] >= vocab)
                return t2_error_set(err, "prompt %lld, token %lld: id %d is outside the model's "
                                    "vocabulary; expected 0 <= id < %lld", (long long)i,
                                    (long long)t, prompts[i][t], (long long)vocab);
        /* the last sampled token is never fed back, so it needs no position */
        int64_t positions = prompt_lens[i] + (max_new_tokens > 0 ? max_new_tokens - 1 : 0);
        if (positions > cache->capacity)
            return t2_error_set(err, "prompt %lld: %lld tokens + %lld new tokens need %lld "
                                "positions; expected at most the KV cache capacity %lld",
                                (long long)i, (long long)prompt_lens[i],
                                (long long)max_new_tokens, (long long)positions,
                                (long long)cache->capacity);
    }
    return 0;
}

int t2_generate_run(t2_forward *f, t2_kv_cache *cache, const t2_tokenizer *tok,
                    const int32_t *const *prompts, const int64_t *prompt_lens, int64_t n_prompts,
                    const t2_generate_params *params, t2_generation *out,
                    t2_generate_text_fn on_text, void *ctx, t2_error *err) {
    T2_ASSERT(params->max_new_tokens >= 0 && n_prompts >= 0);
    T2_ASSERT(tok != NULL || params->n_stop_strings == 0);
    for (int s = 0; s < params->n_stop_strings; s++)
        T2_ASSERT(params->stop_strings[s][0] != '\0');
    memset(out, 0, (size_t)n_prompts * sizeof *out);
    if (check_prompts(cache, f->cfg->vocab_size, prompts, prompt_lens, n_prompts,
                      params->max_new_tokens, err) != 0)
        return -1;
    if (params->max_new_tokens == 0) {
        for (int64_t i = 0; i < n_prompts; i++) {
            out[i].text = t2_alloc_zero(1);
            out[i].finish = T2_FINISH_LENGTH;
        }
        return 0;
    }

    int64_t vocab = f->cfg->vocab_size, n_slots = cache->n_slots;
    seq_state *state = t2_alloc_array((size_t)n_prompts, sizeof *state);
    int64_t *slot_seq = t2_alloc_array((size_t)n_slots, sizeof *slot_seq); /* -1: free */
    t2_forward_seq *batch = t2_alloc_array((size_t)n_slots, sizeof *batch);
    int64_t *batch_seq = t2_alloc_array((size_t)n_slots, sizeof *batch_seq);
    int32_t *last_token = t2_alloc_array((size_t)n_prompts, sizeof *last_token);
    float *logits = t2_alloc((size_t)(n_slots * vocab) * sizeof(float));
    t2_sampler sampler;
    t2_sampler_init(&sampler, &params->sampler, vocab);
    for (int64_t i = 0; i < n_prompts; i++) {
        state[i].slot = -1;
        t2_rng_init(&state[i].rng, t2_generate_seed(params->seed, i));
        t2_generate_start(&out[i], &state[i].stream, params->max_new_tokens);
    }
    for (int64_t s = 0; s < n_slots; s++) slot_seq[s] = -1;
    t2_kv_cache_reset_all(cache);

    int64_t next_prompt = 0, n_active = 0;
    while (n_active > 0 || next_prompt < n_prompts) {
        for (int64_t s = 0; s < n_slots && next_prompt < n_prompts; s++) {
            if (slot_seq[s] >= 0) continue;
            slot_seq[s] = next_prompt;
            state[next_prompt].slot = s;
            t2_kv_cache_reset(cache, s);
            next_prompt++;
            n_active++;
        }
        int64_t n_batch = 0;
        for (int64_t s = 0; s < n_slots; s++) {
            int64_t i = slot_seq[s];
            if (i < 0) continue;
            batch[n_batch].slot = s;
            batch[n_batch].group = 0;
            if (state[i].prefilled) {
                batch[n_batch].tokens = &last_token[i];
                batch[n_batch].n_tokens = 1;
            } else {
                batch[n_batch].tokens = prompts[i];
                batch[n_batch].n_tokens = prompt_lens[i];
                state[i].prefilled = 1;
            }
            batch_seq[n_batch++] = i;
        }
        /* check_prompts ruled out every input the forward rejects */
        int forward_rc = t2_forward_run(f, cache, batch, n_batch, T2_FORWARD_LOGITS_LAST, logits,
                                        err);
        T2_ASSERT(forward_rc == 0);
        for (int64_t b = 0; b < n_batch; b++) {
            int64_t i = batch_seq[b];
            int32_t token = t2_sampler_sample(&sampler, logits + b * vocab, &state[i].rng);
            last_token[i] = token;
            if (t2_generate_accept(&out[i], &state[i].stream, i, token, tok, params, on_text,
                                   ctx)) {
                slot_seq[state[i].slot] = -1;
                state[i].slot = -1;
                n_active--;
            }
        }
    }

    t2_sampler_free(&sampler);
    t2_free(logits);
    t2_free(last_token);
    t2_free(batch_seq);
    t2_free(batch);
    t2_free(slot_seq);
    t2_free(state);
    return 0;
}
