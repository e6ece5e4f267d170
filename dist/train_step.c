/* One step of expert training over all ranks (see train.h): share the parameters, hand out
 * the rollout chunks, share the rewards and the completions, hand out the chunks' training
 * passes, sum the chunk accumulators on the parameter rank in chunk order, clip and apply
 * Adam. */
#include <math.h>
#include <mpi.h>
#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "base/progress.h"
#include "base/rng.h"
#include "dist/handout.h"
#include "dist/train_impl.h"
#include "rl/optim.h"

/* Through splitmix-seeded streams. */
uint64_t t2_train_seed(uint64_t seed, uint64_t a, uint64_t b) {
    t2_rng rng;
    t2_rng_init(&rng, seed ^ (a * 0x9E3779B97F4A7C15ull));
    uint64_t x = t2_rng_next(&rng) ^ (b * 0xD1B54A32D192ED03ull);
    t2_rng_init(&rng, x);
    return t2_rng_next(&rng);
}

static int64_t chunk_first(const t2_train_job *job, int64_t c) { return c * job->s->chunk; }
static int64_t chunk_size(const t2_train_job *job, int64_t c) {
    int64_t end = chunk_first(job, c) + job->s->chunk;
    return (end < job->s->batch ? end : job->s->batch) - chunk_first(job, c);
}
/* 1 when sample i is in a chunk this rank generated this step. */
static int own_sample(const t2_train_job *job, int64_t i) {
    return job->own_chunk[i / job->s->chunk];
}

int t2_train_share_params(t2_train_job *job, t2_error *err) {
    const t2_runtime *rt = job->rt;
    unsigned char *bytes = NULL;
    size_t len = 0;
    if (rt->rank == T2_PARAMETER_RANK) {
        t2_expert e;
        t2_expert_from_adapter(&e, job->s->name, job->s->task, &job->adapter, job->state.params,
                               job->fingerprint);
        t2_expert_pack(&e, &bytes, &len);
        t2_expert_free(&e);
    }
    unsigned long long n = len;
    MPI_Bcast(&n, 1, MPI_UNSIGNED_LONG_LONG, T2_PARAMETER_RANK, MPI_COMM_WORLD);
    T2_ASSERT(n < (1ull << 31));
    if (rt->rank != T2_PARAMETER_RANK) bytes = t2_alloc((size_t)n > 0 ? (size_t)n : 1);
    MPI_Bcast(bytes, (int)n, MPI_BYTE, T2_PARAMETER_RANK, MPI_COMM_WORLD);
    t2_expert e;
    int status = t2_expert_unpack(&e, bytes, (size_t)n, "the parameter rank's ExpertSet", err);
    if (status == 0) status = t2_expert_check_adapter(&e, &job->adapter, "ExpertSet", err);
    if (status == 0) memcpy(job->params, e.params, sizeof(float) * (size_t)e.n_params);
    t2_expert_free(&e);
    t2_free(bytes);
    return t2_runtime_agree_status(rt, status, err);
}

/* Phase 2: generate the chunks this rank is handed; marks them in own_chunk. */
static int run_rollouts(t2_train_job *job, int64_t step, const int64_t *indices, t2_error *err) {
    memset(job->own_chunk, 0, sizeof(int) * (size_t)job->n_chunks);
    t2_handout handout;
    t2_handout_start(&handout, job->rt, job->n_chunks);
    int status = 0;
    for (int64_t c; (c = t2_handout_next(&handout)) >= 0;) {
        if (status != 0) continue; /* keep asking until the hand-out ends, then agree */
        int64_t first = chunk_first(job, c), n = chunk_size(job, c);
        uint64_t seed =
            t2_train_seed((uint64_t)job->s->seed, 2 + (uint64_t)step, (uint64_t)c);
        status = t2_rollout_generate(&job->engine, indices + first, n, seed,
                                     job->rollouts + first, err);
        if (status == 0) job->own_chunk[c] = 1;
    }
    t2_handout_finish(&handout);
    return t2_runtime_agree_status(job->rt, status, err);
}

/* Phase 3: every rank learns every reward and computes the same advantages. */
static void share_rewards(t2_train_job *job, t2_train_step_stats *stats) {
    int64_t batch = job->s->batch;
    memset(job->rewards, 0, sizeof(float) * (size_t)batch);
    for (int64_t i = 0; i < batch; i++)
        if (own_sample(job, i)) job->rewards[i] = job->rollouts[i].reward;
    /* each slot is non-zero on one rank only, so the sum is exact */
    MPI_Allreduce(MPI_IN_PLACE, job->rewards, (int)batch, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    t2_rollout_advantages(job->rewards, batch, job->reward_norm, (float)job->s->reward_clip,
                          job->advantages);
    double sum = 0.0, squares = 0.0, correct = 0.0;
    for (int64_t i = 0; i < batch; i++) {
        sum += job->rewards[i];
        squares += (double)job->rewards[i] * job->rewards[i];
        correct += job->rewards[i] > 0;
    }
    stats->reward_mean = sum / (double)batch;
    stats->reward_std = sqrt(fmax(squares / (double)batch - stats->reward_mean * stats->reward_mean, 0.0));
    stats->accuracy = correct / (double)batch;
}

/* Phase 3 (cont.): every rank gets every rollout (sample index, lengths, tokens; the rewards
 * are shared already), so any rank can run any chunk's training pass. Each sample is filled
 * in on the one rank that generated it and zero elsewhere, so the sums are exact. */
static void share_rollouts(t2_train_job *job) {
    if (job->rt->size == 1) return; /* one rank generated them all */
    int64_t batch = job->s->batch;
    int64_t *fields = t2_alloc_array((size_t)(3 * batch), sizeof *fields);
    for (int64_t i = 0; i < batch; i++) {
        if (!own_sample(job, i)) continue;
        const t2_rollout *r = &job->rollouts[i];
        fields[3 * i] = r->index;
        fields[3 * i + 1] = r->prompt_len;
        fields[3 * i + 2] = r->completion_len;
    }
    MPI_Allreduce(MPI_IN_PLACE, fields, (int)(3 * batch), MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
    int64_t *offset = t2_alloc_array((size_t)batch + 1, sizeof *offset);
    for (int64_t i = 0; i < batch; i++)
        offset[i + 1] = offset[i] + fields[3 * i + 1] + fields[3 * i + 2];
    T2_ASSERT(offset[batch] < (1ll << 31));
    int32_t *tokens =
        t2_alloc_array((size_t)(offset[batch] > 0 ? offset[batch] : 1), sizeof *tokens);
    for (int64_t i = 0; i < batch; i++)
        if (own_sample(job, i))
            memcpy(tokens + offset[i], job->rollouts[i].tokens,
                   sizeof *tokens * (size_t)(offset[i + 1] - offset[i]));
    MPI_Allreduce(MPI_IN_PLACE, tokens, (int)offset[batch], MPI_INT32_T, MPI_SUM, MPI_COMM_WORLD);
    for (int64_t i = 0; i < batch; i++) {
        if (own_sample(job, i)) continue;
        size_t n = (size_t)(offset[i + 1] - offset[i]);
        t2_rollout *r = &job->rollouts[i];
        *r = (t2_rollout){.index = fields[3 * i], .prompt_len = fields[3 * i + 1],
                          .completion_len = fields[3 * i + 2], .reward = job->rewards[i]};
        r->tokens = t2_alloc_array(n > 0 ? n : 1, sizeof *r->tokens);
        memcpy(r->tokens, tokens + offset[i], sizeof *tokens * n);
    }
    t2_free(tokens);
    t2_free(offset);
    t2_free(fields);
}

/* Phase 3 (cont.): the training passes, each chunk into its own accumulator, handed out to
 * whichever rank asks next — the ranks that generated the longest chunks are not the ones
 * left with the most training to do. A chunk's accumulator does not depend on the rank that
 * fills it (the same tokens, advantages and parameters everywhere). */
static int run_backward(t2_train_job *job, double *loss, t2_error *err) {
    int64_t accum = job->adapter.accum_size, batch = job->s->batch;
    memset(job->chunk_accum, 0, sizeof(float) * (size_t)(job->n_chunks * accum));
    memset(job->per_prompt, 0, sizeof(double) * (size_t)(2 * batch));
    share_rollouts(job);
    *loss = 0.0;
    int status = 0;
    t2_handout handout;
    t2_handout_start(&handout, job->rt, job->n_chunks);
    for (int64_t c; (c = t2_handout_next(&handout)) >= 0;) {
        if (status != 0) continue; /* keep asking until the hand-out ends, then agree */
        int64_t first = chunk_first(job, c), n = chunk_size(job, c);
        for (int64_t i = first; i < first + n; i++)
            job->rollouts[i].advantage = job->advantages[i];
        t2_adapter_grad_ctx ctx = {.adapter = &job->adapter, .params = job->params,
                                   .accum = job->chunk_accum + c * accum};
        double part = 0.0;
        status = t2_rollout_backward(&job->engine, job->rollouts + first, n, &ctx, &part, err);
        *loss += part;
        for (int64_t i = first; i < first + n; i++) {
            job->per_prompt[2 * i] = job->rollouts[i].kl;
            job->per_prompt[2 * i + 1] =
                (double)(job->rollouts[i].prompt_len + job->rollouts[i].completion_len);
        }
    }
    t2_handout_finish(&handout);
    t2_rollout_free(job->rollouts, batch);
    return status;
}

/* Phase 4 on the parameter rank: Σ chunks in order -> gradient -> clip -> Adam. */
static double apply_update(t2_train_job *job, int64_t step) {
    const t2_adapter *a = &job->adapter;
    float *total = job->chunk_accum; /* chunk 0's slot becomes the sum */
    for (int64_t c = 1; c < job->n_chunks; c++) {
        const float *part = job->chunk_accum + c * a->accum_size;
        for (int64_t i = 0; i < a->accum_size; i++) total[i] += part[i];
    }
    t2_adapter_gradient(a, job->state.params, total, job->grad);
    double norm = sqrt(t2_sum_squares(job->grad, a->n_params));
    float scale = t2_clip_factor(norm, (float)job->s->clip);
    if (scale != 1.0f)
        for (int64_t i = 0; i < a->n_params; i++) job->grad[i] *= scale;
    t2_adamw_config cfg = {.lr = (float)job->s->lr, .beta1 = (float)job->s->beta1,
                           .beta2 = (float)job->s->beta2, .eps = (float)job->s->eps};
    t2_adamw_step(&cfg, step, cfg.lr, 0, job->state.params, job->grad, job->state.adam_m,
                  job->state.adam_v, a->n_params);
    job->state.step = step;
    return norm;
}

int t2_train_step(t2_train_job *job, int64_t step, t2_train_step_stats *stats, t2_error *err) {
    const t2_runtime *rt = job->rt;
    int64_t batch = job->s->batch;
    memset(stats, 0, sizeof *stats);
    int64_t *indices = t2_alloc_array((size_t)batch, sizeof *indices);
    t2_train_prompts_draw(&job->prompts, step, indices);
    double t0 = t2_time_now();
    int status = run_rollouts(job, step, indices, err);
    t2_free(indices);
    if (status != 0) return -1;
    double t1 = t2_time_now();
    share_rewards(job, stats);
    status = run_backward(job, &stats->loss, err);
    double t2 = t2_time_now();
    /* the agreement also waits for the slowest rank: that is load imbalance, not transfer */
    if (t2_runtime_agree_status(rt, status, err) != 0) return -1;
    double t3 = t2_time_now();
    int64_t floats = job->n_chunks * job->adapter.accum_size;
    T2_ASSERT(floats < (1ll << 31));
    int root = T2_PARAMETER_RANK, is_root = rt->rank == root;
    /* each chunk's slot is non-zero on one rank only, so the sum is exact */
    MPI_Reduce(is_root ? MPI_IN_PLACE : job->chunk_accum, job->chunk_accum, (int)floats,
               MPI_FLOAT, MPI_SUM, root, MPI_COMM_WORLD);
    MPI_Reduce(is_root ? MPI_IN_PLACE : job->per_prompt, job->per_prompt, (int)(2 * batch),
               MPI_DOUBLE, MPI_SUM, root, MPI_COMM_WORLD);
    double loss = stats->loss;
    MPI_Reduce(&loss, &stats->loss, 1, MPI_DOUBLE, MPI_SUM, root, MPI_COMM_WORLD);
    double t4 = t2_time_now();
    if (is_root) {
        stats->grad_norm = apply_update(job, step);
        for (int64_t i = 0; i < batch; i++) {
            stats->kl += job->per_prompt[2 * i] / (double)batch;
            stats->tokens += (int64_t)job->per_prompt[2 * i + 1];
        }
    }
    double t5 = t2_time_now();
    stats->seconds_rollout = t1 - t0;
    stats->seconds_backward = t2 - t1;
    stats->seconds_wait = t3 - t2;
    stats->seconds_comm = t4 - t3;
    stats->seconds_update = t5 - t4;
    return 0;
}
