/* Expert training: setting a run up on every rank, the step loop with validation,
 * checkpoints, metrics and progress, and the expert file at the end (see train.h; one step
 * is train_step.c). */
#include <errno.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/file.h"
#include "base/log.h"
#include "base/progress.h"
#include "dist/stop_signal.h"
#include "dist/train_impl.h"
#include "model/fingerprint.h"
#include "model/safetensors.h"
#include "model/targets.h"
#include "rl/evaluate.h"

enum { VAL_BATCH = 64 };

static void job_free(t2_train_job *job) {
    t2_rollout_engine_free(&job->engine);
    t2_train_prompts_free(&job->prompts);
    t2_task_free(job->task);
    t2_adapter_free(&job->adapter);
    t2_decomposition_store_close(&job->store);
    t2_model_weights_free(&job->policy);
    t2_node_shared_free(&job->policy_targets);
    t2_model_dir_free(&job->model);
    t2_train_state_free(&job->state);
    if (job->rollouts != NULL) t2_rollout_free(job->rollouts, job->s->batch);
    t2_free(job->params);
    t2_free(job->chunk_accum);
    t2_free(job->grad);
    t2_free(job->rollouts);
    t2_free(job->own_chunk);
    t2_free(job->rewards);
    t2_free(job->advantages);
    t2_free(job->per_prompt);
    t2_append_file_close(&job->metrics);
    memset(job, 0, sizeof *job);
}

/* The names of the adapted matrices: the selection of settings.targets on the model. */
static int select_targets(t2_train_job *job, const t2_safetensors *st, t2_target_list *list,
                          t2_error *err) {
    t2_target_selector sel = {.set = T2_TARGET_SET_MLP};
    if (t2_target_set_from_name(job->s->targets, &sel.set) != 0) sel.glob = job->s->targets;
    return t2_targets_select(list, st, job->s->model, &sel, err);
}

static int parse_names(t2_train_job *job, t2_adapter_options *opt, t2_error *err) {
    const t2_train_settings *s = job->s;
    memset(opt, 0, sizeof *opt);
    if (t2_adapter_method_from_name(s->method, &opt->method) != 0)
        return t2_error_set(err, "method: '%s'; expected svf or lora", s->method);
    if (t2_svf_parametrization_from_name(s->parametrization, &opt->parametrization) != 0)
        return t2_error_set(err, "parametrization: '%s'; expected sigmoid or linear",
                            s->parametrization);
    t2_objective objective;
    if (t2_objective_from_name(s->objective, &objective) != 0)
        return t2_error_set(err, "objective: '%s'; expected reinforce or sft", s->objective);
    t2_weight_type kv_cache;
    if (t2_kv_cache_type_parse("kv_cache", s->kv_cache, &kv_cache, err) != 0) return -1;
    if (t2_reward_norm_from_name(s->reward_norm, &job->reward_norm) != 0)
        return t2_error_set(err, "reward_norm: '%s'; expected none, center or standardize",
                            s->reward_norm);
    if (opt->method == T2_ADAPTER_SVF && s->store == NULL)
        return t2_error_set(err, "store: not set; expected the decomposition store of the model "
                            "(t2 decompose) for method svf");
    opt->max_mult = (float)s->max_mult;
    opt->renormalize = s->renormalize;
    opt->lora_rank = s->lora_rank;
    opt->lora_alpha = (float)s->lora_alpha;
    job->rollout = (t2_rollout_options){
        .objective = objective,
        .max_new_tokens = s->max_new_tokens,
        .sampler = {.temperature = (float)s->temperature, .top_k = s->top_k,
                    .top_p = (float)s->top_p},
        .kl_beta = (float)s->kl_beta,
        .batch_prompts = s->batch,
        .trainer_bytes = s->trainer_memory << 20,
        .kv_cache = kv_cache,
    };
    return 0;
}

void t2_train_settings_init(t2_train_settings *s) {
    memset(s, 0, sizeof *s);
    s->targets = t2_strdup("mlp");
    s->method = t2_strdup("svf");
    s->parametrization = t2_strdup("sigmoid");
    s->max_mult = 2.0;
    s->renormalize = 1;
    s->lora_rank = 4;
    s->lora_alpha = 8.0;
    s->objective = t2_strdup("reinforce");
    s->lr = 2e-3;
    s->clip = 1e-3;
    s->beta1 = 0.9;
    s->beta2 = 0.999;
    s->eps = 1e-8;
    s->steps = 100;
    s->batch = 256;
    s->chunk = 16;
    s->trainer_memory = 1024;
    s->kv_cache = t2_strdup("f32");
    s->temperature = 1.0;
    s->top_p = 1.0;
    s->max_new_tokens = 96;
    s->reward_norm = t2_strdup("none");
    s->prompt = t2_prompt_settings_default();
    s->prompt.format = t2_strdup("auto");
    s->task_seed = 1;
    s->seed = 1;
    s->val_every = 10;
    s->val_samples = 200;
    s->control.checkpoint_every = 10;
    s->control.resume = 1;
}

/* The run's identity: everything that changes the expert (not steps, files or intervals). */
static void make_run_id(t2_train_job *job) {
    const t2_train_settings *s = job->s;
    char text[2048];
    snprintf(text, sizeof text,
             "model=%s task=%s/%s/%lld/%lld/%lld targets=%s method=%s/%s/%g/%d/%lld/%g objective=%s "
             "lr=%g clip=%g betas=%g/%g/%g batch=%lld chunk=%lld sampling=%g/%lld/%g "
             "max_new=%lld reward=%s/%g kl=%g seed=%lld val=%lld prompt=%s/%d/%d/%s/%s",
             job->fingerprint, s->task, s->task_data ? s->task_data : "", (long long)s->task_level,
             (long long)s->task_seed, (long long)s->task_train_size, s->targets, s->method, s->parametrization, s->max_mult,
             s->renormalize, (long long)s->lora_rank, s->lora_alpha, s->objective, s->lr, s->clip,
             s->beta1, s->beta2, s->eps, (long long)s->batch, (long long)s->chunk,
             s->temperature, (long long)s->top_k, s->top_p, (long long)s->max_new_tokens,
             s->reward_norm, s->reward_clip, s->kl_beta, (long long)s->seed,
             (long long)s->val_samples, job->model.prompt.format, job->model.prompt.bos_id,
             job->model.prompt.eos_id, job->model.prompt.system ? job->model.prompt.system : "",
             s->prompt_template ? s->prompt_template : "");
    /* rollouts on a float16 cache differ; float32 runs keep the identity they had */
    if (strcmp(s->kv_cache, "f32") != 0)
        snprintf(text + strlen(text), sizeof text - strlen(text), " kv=%s", s->kv_cache);
    t2_fingerprint_format(t2_decomposition_xxh64(text, strlen(text), 0), job->run_id);
}

/* 0 when a file can be created at path (its folder exists and is writable), else -1 with
 * err naming the key: checked before training so a long run does not fail at its end. */
static int check_writable(const char *key, const char *path, t2_error *err) {
    char *dir = t2_strdup(path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL) strcpy(dir, ".");
    else if (slash == dir) slash[1] = '\0';
    else *slash = '\0';
    int ok = access(dir, W_OK) == 0;
    int status = ok ? 0 : t2_error_set(err, "%s: cannot write %s (folder %s: %s); expected a "
                                       "path in a writable folder", key, path, dir,
                                       strerror(errno));
    t2_free(dir);
    return status;
}

/* Loads the model, the store, the task and the adapter. Local. */
static int job_setup(t2_train_job *job, t2_error *err) {
    const t2_train_settings *s = job->s;
    t2_adapter_options options;
    if (parse_names(job, &options, err) != 0) return -1;
    if (job->rt->rank == T2_PARAMETER_RANK &&
        (check_writable("out", s->out, err) != 0 ||
         (s->control.checkpoint_dir != NULL &&
          check_writable("checkpoint_dir", s->control.checkpoint_dir, err) != 0)))
        return -1;
    if (t2_model_dir_load(&job->model, s->model, err) != 0) return -1;
    t2_safetensors st;
    if (t2_safetensors_open(&st, s->model, err) != 0) return -1;
    t2_target_list targets = {0};
    int status = select_targets(job, &st, &targets, err);
    if (status == 0 && options.method == T2_ADAPTER_SVF) {
        status = t2_decomposition_store_open(&job->store, s->store, err);
        if (status == 0 && job->rt->rank == T2_PARAMETER_RANK)
            status = t2_decomposition_store_check_model(&job->store, &st, s->model, err);
    }
    if (status == 0 && job->rt->rank == T2_PARAMETER_RANK)
        t2_model_fingerprint(&st, job->fingerprint);
    if (status == 0) {
        const char **names = t2_alloc_array((size_t)targets.n, sizeof *names);
        for (int i = 0; i < targets.n; i++) names[i] = targets.items[i].name;
        status = t2_adapter_init(&job->adapter, &options, &job->model.cfg, names, targets.n,
                                 options.method == T2_ADAPTER_SVF ? &job->store : NULL,
                                 &job->model.weights, err);
        t2_free(names);
    }
    t2_target_list_free(&targets);
    t2_safetensors_close(&st);
    if (status != 0) return -1;
    t2_task_options topt = {.data_path = s->task_data, .level = (int)s->task_level,
                            .seed = (uint64_t)s->task_seed, .train_size = s->task_train_size,
                            .prompt_template = s->prompt_template};
    job->task = t2_task_open(s->task, &topt, err);
    if (job->task == NULL || t2_evaluate_use_prompt(&job->model, &s->prompt, job->task, err) != 0)
        return -1;
    /* mbpp's programs: the node's CPUs shared between its ranks */
    t2_sandbox_limits limits;
    t2_sandbox_limits_default(&limits);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    limits.jobs = cpus > job->rt->ranks_on_node ? (int)(cpus / job->rt->ranks_on_node) : 1;
    t2_task_set_sandbox_limits(job->task, &limits);
    int64_t train_size = t2_task_size(job->task, T2_TASK_SPLIT_TRAIN);
    if (s->val_samples >= train_size)
        return t2_error_set(err, "val_samples: %lld of the %lld train items of task %s; expected "
                            "fewer, so that some remain to train on", (long long)s->val_samples,
                            (long long)train_size, s->task);
    if (s->max_new_tokens >= job->model.cfg.max_position_embeddings)
        return t2_error_set(err, "max_new_tokens: %lld; expected fewer than the model's %lld "
                            "positions, to leave room for the prompt",
                            (long long)s->max_new_tokens,
                            (long long)job->model.cfg.max_position_embeddings);
    return 0;
}

/* Collective, after job_setup succeeded on every rank: measures the prompts the run draws
 * and validates on, sizes the rollout engine for the longest and the buffers for the batch. */
static int job_size(t2_train_job *job, t2_error *err) {
    const t2_train_settings *s = job->s;
    const t2_model_config *cfg = &job->model.cfg;
    int64_t train_size = t2_task_size(job->task, T2_TASK_SPLIT_TRAIN);
    t2_train_prompts *p = &job->prompts;
    int status = t2_train_prompts_measure(p, job->rt, job->task, &job->model.prompt, train_size,
                                          train_size - s->val_samples,
                                          cfg->max_position_embeddings - s->max_new_tokens,
                                          (uint64_t)s->seed, s->batch, s->steps, err);
    if (p->skipped > 0 && job->rt->rank == T2_PARAMETER_RANK)
        t2_log(T2_LOG_INFO, "train: skipping %lld train item%s whose prompt cannot fit the "
               "model's %lld positions with max_new_tokens %lld (the first: item %lld)",
               (long long)p->skipped, p->skipped == 1 ? "" : "s",
               (long long)cfg->max_position_embeddings, (long long)s->max_new_tokens,
               (long long)p->first_skipped);
    if (status != 0) return -1;
    if (job->rt->rank == T2_PARAMETER_RANK)
        t2_log(T2_LOG_INFO, "train: measured the prompts of the %lld items the %lld steps "
               "draw and validate on; the longest drawn: %lld tokens (train item %lld)",
               (long long)p->measured, (long long)s->steps, (long long)p->longest,
               (long long)p->longest_item);
    if (t2_rollout_engine_init(&job->engine, cfg, &job->policy, &job->model.weights,
                               &job->model.prompt, job->task, &job->rollout, s->chunk,
                               p->longest, err) != 0)
        return -1;
    if (job->rt->rank == T2_PARAMETER_RANK && job->engine.pass_seqs < s->chunk)
        t2_log(T2_LOG_INFO, "train: training passes of %lld sequence%s (trainer_memory %lld MB)",
               (long long)job->engine.pass_seqs, job->engine.pass_seqs == 1 ? "" : "s",
               (long long)s->trainer_memory);
    int64_t n_params = job->adapter.n_params;
    job->n_chunks = (s->batch + s->chunk - 1) / s->chunk;
    job->params = t2_alloc_array((size_t)n_params, sizeof *job->params);
    job->chunk_accum = t2_alloc_array((size_t)(job->n_chunks * job->adapter.accum_size),
                                      sizeof *job->chunk_accum);
    job->grad = t2_alloc_array((size_t)n_params, sizeof *job->grad);
    job->rollouts = t2_alloc_zero((size_t)s->batch * sizeof *job->rollouts);
    job->own_chunk = t2_alloc_array((size_t)job->n_chunks, sizeof *job->own_chunk);
    job->rewards = t2_alloc_array((size_t)s->batch, sizeof *job->rewards);
    job->advantages = t2_alloc_array((size_t)s->batch, sizeof *job->advantages);
    job->per_prompt = t2_alloc_array((size_t)(2 * s->batch), sizeof *job->per_prompt);
    return 0;
}

static char *state_path(const t2_train_settings *s) {
    return t2_model_dir_path(s->control.checkpoint_dir, "train-state.pb");
}

/* Parameter rank: the initial state, or the checkpoint's when resuming. Local. */
static int job_start_state(t2_train_job *job, t2_error *err) {
    const t2_train_settings *s = job->s;
    int64_t n = job->adapter.n_params;
    if (s->control.resume && s->control.checkpoint_dir != NULL) {
        char *path = state_path(s);
        struct stat info;
        int status = 0, found = stat(path, &info) == 0;
        if (found) status = t2_train_state_read(&job->state, path, job->run_id, n, err);
        t2_free(path);
        if (found || status != 0) return status;
    }
    t2_train_state_init(&job->state, job->run_id, n);
    t2_adapter_init_params(&job->adapter, (uint64_t)s->seed, job->state.params);
    memcpy(job->state.best_params, job->state.params, sizeof(float) * (size_t)n);
    job->state.best_val_accuracy = -1.0;
    return 0;
}

/* Collective: greedy accuracy of the composed policy on the validation items, each rank
 * evaluating a contiguous share of them, one call per run of consecutive items (a single
 * call unless an item was skipped). */
static int validate(t2_train_job *job, double *accuracy, t2_error *err) {
    const t2_runtime *rt = job->rt;
    const int64_t *items = job->prompts.val, n = job->prompts.n_val;
    int64_t lo = n * rt->rank / rt->size, hi = n * (rt->rank + 1) / rt->size;
    t2_model_dir view = job->model; /* the policy weights, borrowed */
    view.weights = job->policy;
    t2_eval_options opt = {.batch = VAL_BATCH, .max_new_tokens = job->s->max_new_tokens,
                           .sampler = {.temperature = 0.0f, .top_p = 1.0f},
                           .kv_cache = job->rollout.kv_cache};
    long long correct = 0;
    int status = 0;
    for (int64_t i = lo, end; status == 0 && i < hi; i = end) {
        for (end = i + 1; end < hi && items[end] == items[end - 1] + 1; end++) {}
        opt.first = items[i];
        opt.n = end - i;
        t2_eval_result result = {0};
        status = t2_evaluate_task(&view, job->task, T2_TASK_SPLIT_TRAIN, &opt, 0, &result, err);
        correct += result.correct;
        t2_eval_result_free(&result);
    }
    if (t2_runtime_agree_status(rt, status, err) != 0) return -1;
    MPI_Allreduce(MPI_IN_PLACE, &correct, 1, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
    *accuracy = n > 0 ? (double)correct / (double)n : 0.0;
    return 0;
}

/* Parameter rank: keeps the parameters when they validate better than the best so far. */
static void keep_if_best(t2_train_job *job, double accuracy, int64_t step) {
    if (accuracy <= job->state.best_val_accuracy) return;
    job->state.best_val_accuracy = accuracy;
    job->state.best_step = step;
    memcpy(job->state.best_params, job->params, sizeof(float) * (size_t)job->adapter.n_params);
}

static int save_state(t2_train_job *job, double elapsed, t2_error *err) {
    int status = 0;
    if (job->rt->rank == T2_PARAMETER_RANK) {
        mkdir(job->s->control.checkpoint_dir, 0777);
        char *path = state_path(job->s);
        job->state.elapsed_seconds = elapsed;
        status = t2_train_state_write(&job->state, path, err);
        t2_free(path);
    }
    return t2_runtime_agree_status(job->rt, status, err);
}

/* Parameter rank: appends the step's line; a failed append is the run's error
 * (base/file.h: the file keeps its earlier lines whole). */
static int write_metrics(t2_append_file *f, int64_t step, const t2_train_step_stats *st,
                         double val, double elapsed, t2_error *err) {
    if (f->path == NULL) return 0;
    char line[1024], val_text[64] = "";
    if (!isnan(val)) snprintf(val_text, sizeof val_text, "\"val_accuracy\": %.6f, ", val);
    int len = snprintf(line, sizeof line, "{\"step\": %lld, \"reward_mean\": %.6f, "
                       "\"reward_std\": %.6f, \"accuracy\": %.6f, \"kl\": %.6g, \"loss\": %.6g, "
                       "\"grad_norm\": %.6g, \"tokens\": %lld, %s\"seconds\": {\"rollout\": %.4f, "
                       "\"backward\": %.4f, \"wait\": %.4f, \"communication\": %.4f, "
                       "\"update\": %.4f}, \"elapsed\": %.3f}\n", (long long)step, st->reward_mean,
                       st->reward_std, st->accuracy, st->kl, st->loss, st->grad_norm,
                       (long long)st->tokens, val_text, st->seconds_rollout,
                       st->seconds_backward, st->seconds_wait, st->seconds_comm,
                       st->seconds_update, elapsed);
    return t2_append_file_line(f, line, (size_t)len, err);
}

/* After a stop signal at the end of `step` (agreed by every rank): the checkpoint of that step
 * unless it was just written, one line from the parameter rank, T2_STOP_SIGNAL_STOPPED. */
static int stop_run(t2_train_job *job, int64_t step, int saved, int signal_number,
                    double elapsed, t2_error *err) {
    const char *dir = job->s->control.checkpoint_dir;
    if (dir != NULL && !saved && save_state(job, elapsed, err) != 0) return -1;
    if (job->rt->rank == T2_PARAMETER_RANK && dir != NULL)
        t2_log(T2_LOG_INFO, "train: stopped by %s after step %lld; checkpoint in %s; exit %d "
               "(the same command with resume on continues from it)",
               t2_stop_signal_name(signal_number), (long long)step, dir, T2_STOP_SIGNAL_EXIT);
    else if (job->rt->rank == T2_PARAMETER_RANK)
        t2_log(T2_LOG_INFO, "train: stopped by %s after step %lld; no checkpoint_dir, so "
               "nothing to resume from; exit %d", t2_stop_signal_name(signal_number),
               (long long)step, T2_STOP_SIGNAL_EXIT);
    return T2_STOP_SIGNAL_STOPPED;
}

/* Parameter rank: the expert file from the best parameters. */
static int write_expert(t2_train_job *job, int64_t steps, double elapsed, t2_error *err) {
    t2_expert e;
    const t2_train_settings *s = job->s;
    t2_expert_from_adapter(&e, s->name, s->task, &job->adapter, job->state.best_params,
                           job->fingerprint);
    t2_free(e.config);
    e.config = t2_strdup(s->config_text != NULL ? s->config_text : "");
    e.summary = (t2_expert_summary){
        .steps = steps, .best_step = job->state.best_step,
        .best_val_accuracy = job->state.best_val_accuracy < 0 ? 0 : job->state.best_val_accuracy,
        .val_samples = job->prompts.n_val, .wall_seconds = elapsed, .tokens = job->state.tokens,
        .ranks = job->rt->size};
    int status = t2_expert_write(&e, s->out, err);
    t2_expert_free(&e);
    return status;
}

/* Collective: the policy weights are the base weights but for the targets, which the ranks
 * of a node hold once, in node-shared memory (composing them is the same work on every rank:
 * each rank of a node composes a share of the targets). */
static void policy_setup(t2_train_job *job) {
    const char **names = t2_adapter_target_names(&job->adapter);
    int64_t floats = t2_model_weights_private_floats(&job->model.cfg, names, job->adapter.n);
    t2_node_shared_init(&job->policy_targets, (size_t)floats * sizeof(float));
    t2_model_weights_share_into(&job->policy, &job->model.weights, &job->model.cfg, names,
                                job->adapter.n, job->policy_targets.base);
    t2_free(names);
}

/* Collective: shares the parameter rank's parameters and composes the policy weights W'
 * from them, each rank its share of the node's targets; adds the seconds of each part to
 * *comm and *compose. */
static int refresh_policy(t2_train_job *job, double *comm, double *compose, t2_error *err) {
    double t0 = t2_time_now();
    if (t2_train_share_params(job, err) != 0) return -1;
    double t1 = t2_time_now();
    const t2_node_shared *node = &job->policy_targets;
    t2_node_shared_barrier(node); /* no rank of the node still reads the last policy */
    t2_adapter_compose_part(&job->adapter, job->params, &job->policy, node->node_rank,
                            node->node_size);
    t2_node_shared_barrier(node); /* every share composed */
    *comm += t1 - t0;
    *compose += t2_time_now() - t1;
    return 0;
}

static int train_loop(t2_train_job *job, t2_error *err) {
    const t2_train_settings *s = job->s;
    int is_root = job->rt->rank == T2_PARAMETER_RANK;
    long long start = is_root ? job->state.step : 0;
    MPI_Bcast(&start, 1, MPI_LONG_LONG, T2_PARAMETER_RANK, MPI_COMM_WORLD);
    int64_t end = s->control.stop_after > 0 && s->control.stop_after < s->steps ? s->control.stop_after : s->steps;
    double base_elapsed = is_root ? job->state.elapsed_seconds : 0.0, t0 = t2_time_now();
    t2_progress progress;
    t2_progress_init(&progress, "train", s->steps);
    double val = NAN, comm = 0.0, compose = 0.0;
    if (refresh_policy(job, &comm, &compose, err) != 0) return -1;
    int shared = 1; /* the workers hold the parameter rank's current parameters */
    if (start == 0) {
        if (validate(job, &val, err) != 0) return -1;
        if (is_root) keep_if_best(job, val, 0);
        t2_log(T2_LOG_INFO, "train: validation accuracy before training %.4f", val);
    }
    for (int64_t step = start + 1; step <= end; step++) {
        comm = compose = 0.0;
        if (!shared && refresh_policy(job, &comm, &compose, err) != 0) return -1;
        t2_train_step_stats stats;
        if (t2_train_step(job, step, &stats, err) != 0) return -1;
        shared = 0;
        stats.seconds_comm += comm;
        stats.seconds_update += compose;
        val = NAN;
        int validate_now = (s->val_every > 0 && step % s->val_every == 0) || step == s->steps;
        if (validate_now) {
            if (refresh_policy(job, &comm, &compose, err) != 0 || validate(job, &val, err) != 0)
                return -1;
            shared = 1;
            if (is_root) keep_if_best(job, val, step);
        }
        double elapsed = base_elapsed + t2_time_now() - t0;
        int status = 0;
        if (is_root) {
            job->state.tokens += stats.tokens;
            status = write_metrics(&job->metrics, step, &stats, val, elapsed, err);
        }
        if (t2_runtime_agree_status(job->rt, status, err) != 0) return -1;
        if (is_root) {
            char note[160];
            int len = snprintf(note, sizeof note, "reward %+.3f  acc %.3f", stats.reward_mean,
                               stats.accuracy);
            if (!isnan(val)) snprintf(note + len, sizeof note - (size_t)len, "  val %.3f", val);
            t2_progress_update(&progress, step, note);
        }
        int saved = s->control.checkpoint_dir != NULL &&
                    (step % s->control.checkpoint_every == 0 || step == end);
        if (saved && save_state(job, elapsed, err) != 0) return -1;
        int stop = t2_stop_signal_agree(job->rt);
        if (stop != 0) {
            t2_progress_finish(&progress);
            return stop_run(job, step, saved, stop, elapsed, err);
        }
    }
    t2_progress_finish(&progress);
    if (end < s->steps) return 0;
    int status = is_root ? write_expert(job, end, base_elapsed + t2_time_now() - t0, err) : 0;
    return t2_runtime_agree_status(job->rt, status, err);
}

/* On resume: keeps the metrics lines of steps up to the checkpoint's (a crashed run may
 * have written later ones, which the resumed run writes again). A missing file is fine. */
static int trim_metrics(const char *path, int64_t step, t2_error *err) {
    char *text = NULL;
    size_t len = 0;
    t2_error ignored = {{0}};
    if (t2_file_read(path, &text, &len, &ignored) != 0) return 0;
    size_t keep = 0;
    for (char *line = text; line < text + len;) {
        char *end = memchr(line, '\n', (size_t)(text + len - line));
        end = end != NULL ? end + 1 : text + len;
        long long at = 0;
        if (sscanf(line, "{\"step\": %lld", &at) != 1 || at > step) break;
        keep = (size_t)(end - text);
        line = end;
    }
    int status = t2_file_write_atomic(path, text, keep, err);
    t2_free(text);
    return status;
}

int t2_train_run(const t2_runtime *rt, const t2_train_settings *s, t2_error *err) {
    t2_train_job job;
    memset(&job, 0, sizeof job);
    job.rt = rt;
    job.s = s;
    int status = t2_runtime_agree_status(rt, job_setup(&job, err), err);
    if (status == 0) status = t2_runtime_agree_status(rt, job_size(&job, err), err);
    if (status != 0) {
        job_free(&job);
        return -1;
    }
    policy_setup(&job);
    MPI_Bcast(job.fingerprint, sizeof job.fingerprint, MPI_CHAR, T2_PARAMETER_RANK,
              MPI_COMM_WORLD);
    make_run_id(&job);
    status = rt->rank == T2_PARAMETER_RANK ? job_start_state(&job, err) : 0;
    if (status == 0 && rt->rank == T2_PARAMETER_RANK && s->control.metrics != NULL) {
        if (job.state.step > 0) status = trim_metrics(s->control.metrics, job.state.step, err);
        if (status == 0)
            status = t2_append_file_open(&job.metrics, s->control.metrics, job.state.step == 0,
                                         err);
    }
    if (t2_runtime_agree_status(rt, status, err) == 0) {
        if (rt->rank == T2_PARAMETER_RANK && job.state.step > 0)
            t2_log(T2_LOG_INFO, "train: resuming after step %lld", (long long)job.state.step);
        t2_stop_signal_install();
        status = train_loop(&job, err);
        t2_stop_signal_remove();
        /* what the job holds at its end: everything it allocated is still live */
        if (t2_runtime_agree(rt, status == 0)) t2_runtime_log_memory(rt, "after training");
    } else {
        status = -1;
    }
    job_free(&job);
    return status;
}
