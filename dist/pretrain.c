/* Data-parallel pretraining (see pretrain.h). Each rank runs rows rank, rank + size, ... of
 * every step in micro-batches, the gradient slabs are summed with one MPI_Allreduce, and the
 * identical AdamW update runs everywhere. Rank 0 alone writes checkpoints, metrics and the
 * result; every failure is agreed on by all ranks before anyone stops. */
#include "dist/pretrain.h"

#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/file.h"
#include "base/log.h"
#include "base/progress.h"
#include "dist/stop_signal.h"
#include "model/config.h"
#include "model/model_dir.h"
#include "model/safetensors.h"
#include "model/tokenizer.h"
#include "model/train.h"
#include "model/weights.h"
#include "rl/checkpoint.h"
#include "rl/corpus.h"
#include "rl/distill_loss.h"
#include "rl/optim.h"

/* One tensor's place in the slab and whether weight decay applies to it (matrices only). */
typedef struct slab_segment {
    int64_t offset, count;
    int decay;
} slab_segment;

typedef struct pretrain_state {
    t2_model_dir model;    /* config, weights being trained, tokenizer */
    t2_model_weights grads, adam_m, adam_v;
    t2_corpus corpus;
    t2_trainer *trainer;
    slab_segment *segments;
    int n_segments;
    int32_t *rows;         /* micro_batch x (seq_len + 1) */
    int32_t *inputs, *targets;
    float *loss_weights;   /* micro_batch x seq_len */
    char run_id[512];
    /* distillation (teacher set): the teacher, its forward, and per cell the term's value */
    t2_model_dir teacher;
    t2_trainer *teacher_trainer;
    double *distill_cells; /* micro_batch x seq_len */
} pretrain_state;

/* The distillation term of a micro-batch: the teacher's logits of the same rows, and α times
 * the step's per-token weight as the term's scale. */
typedef struct distill_term {
    pretrain_state *ps;
    const float *teacher_logits; /* rows x vocab */
    double scale, temperature;
} distill_term;

static void distill_logit_grad(void *ctx, int64_t begin, int64_t end, const float *logits,
                               float *dlogits, int64_t vocab) {
    const distill_term *d = ctx;
    for (int64_t i = begin; i < end; i++)
        d->ps->distill_cells[i] = t2_distill_loss_backward(
            dlogits + (i - begin) * vocab, logits + (i - begin) * vocab,
            d->teacher_logits + i * vocab, vocab, d->temperature, d->scale);
}

typedef struct segment_list {
    const float *slab;
    slab_segment *items;
    int n;
} segment_list;

static void collect_segment(void *ctx, const char *name, int n_dims, const int64_t *shape,
                            float *data) {
    (void)name;
    segment_list *list = ctx;
    int64_t count = 1;
    for (int d = 0; d < n_dims; d++) count *= shape[d];
    list->items = t2_realloc(list->items, sizeof *list->items * (size_t)(list->n + 1));
    list->items[list->n++] = (slab_segment){data - list->slab, count, n_dims >= 2};
}

static void state_free(pretrain_state *ps) {
    t2_trainer_free(ps->trainer);
    t2_trainer_free(ps->teacher_trainer);
    t2_model_dir_free(&ps->teacher);
    t2_free(ps->distill_cells);
    t2_corpus_free(&ps->corpus);
    t2_model_dir_free(&ps->model);
    t2_model_weights_free(&ps->grads);
    t2_model_weights_free(&ps->adam_m);
    t2_model_weights_free(&ps->adam_v);
    t2_free(ps->segments);
    t2_free(ps->rows);
    t2_free(ps->inputs);
    t2_free(ps->targets);
    t2_free(ps->loss_weights);
    memset(ps, 0, sizeof *ps);
}

/* Replaces the loaded model by the layers `list` names ("0,3"): keep_layers. */
static int keep_layers(pretrain_state *ps, const char *list, t2_error *err) {
    const t2_model_config *cfg = &ps->model.cfg;
    enum { MAX_KEPT = 256 };
    int64_t n_src = cfg->num_hidden_layers, layers[MAX_KEPT], n = 0;
    for (const char *p = list; *p != '\0';) {
        if (n == MAX_KEPT)
            return t2_error_set(err, "keep_layers: more than %d layers; expected fewer", MAX_KEPT);
        char *end;
        long long layer = strtoll(p, &end, 10);
        if (end == p || (*end != ',' && *end != '\0'))
            return t2_error_set(err, "keep_layers: '%s' is not a comma list of layer numbers",
                                list);
        if (layer < 0 || layer >= n_src)
            return t2_error_set(err, "keep_layers: layer %lld is out of range; expected 0 to "
                                "%lld (the init_model's layers)", layer, (long long)n_src - 1);
        if (n > 0 && layer <= layers[n - 1])
            return t2_error_set(err, "keep_layers: '%s' is not increasing; expected each layer "
                                "once, in order", list);
        layers[n++] = layer;
        p = *end == ',' ? end + 1 : end;
    }
    if (n == 0) return t2_error_set(err, "keep_layers: empty; expected layer numbers");
    t2_model_config small = *cfg;
    small.num_hidden_layers = n;
    t2_model_weights kept;
    t2_model_weights_init(&kept, &small);
    t2_model_weights_keep_layers(&kept, &small, &ps->model.weights, cfg, layers);
    t2_model_weights_free(&ps->model.weights);
    ps->model.weights = kept;
    ps->model.cfg = small;
    return 0;
}

/* Loads the teacher and checks it reads the same tokens (teacher). */
static int load_teacher(pretrain_state *ps, const t2_pretrain_settings *s, t2_error *err) {
    if (t2_model_dir_load(&ps->teacher, s->teacher, err) != 0) return -1;
    const t2_model_config *t = &ps->teacher.cfg, *m = &ps->model.cfg;
    if (t->vocab_size != m->vocab_size)
        return t2_error_set(err, "teacher: %s has a vocabulary of %lld; expected the model's "
                            "%lld (the same tokenizer)", s->teacher, (long long)t->vocab_size,
                            (long long)m->vocab_size);
    if (t->max_position_embeddings < s->seq_len)
        return t2_error_set(err, "teacher: %s has %lld positions; expected at least seq_len = "
                            "%lld", s->teacher, (long long)t->max_position_embeddings,
                            (long long)s->seq_len);
    ps->teacher_trainer = t2_trainer_new(t, &ps->teacher.weights, s->micro_batch, s->seq_len);
    ps->distill_cells = t2_alloc_array((size_t)(s->micro_batch * s->seq_len), sizeof(double));
    return 0;
}

/* Loads the starting model, tokenizer and corpus on this rank (local; may fail). */
static int state_load(pretrain_state *ps, const t2_pretrain_settings *s, t2_error *err) {
    if (t2_model_dir_load_writable(&ps->model, s->init_model, err) != 0) return -1;
    if (s->keep_layers != NULL && keep_layers(ps, s->keep_layers, err) != 0) return -1;
    if (s->teacher != NULL && load_teacher(ps, s, err) != 0) return -1;
    if (ps->model.cfg.n_eos_token_ids < 1)
        return t2_error_set(err, "%s/config.json: no eos_token_id; expected one to separate "
                            "documents", s->init_model);
    if (t2_corpus_init(&ps->corpus, s->corpus, (uint64_t)s->seed, ps->model.tok,
                       (int32_t)ps->model.cfg.eos_token_ids[0], err) != 0)
        return -1;
    t2_model_weights_init(&ps->grads, &ps->model.cfg);
    t2_model_weights_init(&ps->adam_m, &ps->model.cfg);
    t2_model_weights_init(&ps->adam_v, &ps->model.cfg);
    segment_list list = {.slab = ps->model.weights.slab};
    t2_model_weights_visit(&ps->model.weights, &ps->model.cfg, collect_segment, &list);
    ps->segments = list.items;
    ps->n_segments = list.n;
    int64_t cells = s->micro_batch * s->seq_len;
    ps->rows = t2_alloc_array((size_t)(s->micro_batch * (s->seq_len + 1)), sizeof *ps->rows);
    ps->inputs = t2_alloc_array((size_t)cells, sizeof *ps->inputs);
    ps->targets = t2_alloc_array((size_t)cells, sizeof *ps->targets);
    ps->loss_weights = t2_alloc_array((size_t)cells, sizeof *ps->loss_weights);
    int at = snprintf(ps->run_id, sizeof ps->run_id,
                      "seed=%lld corpus=%s batch=%lld seq_len=%lld steps=%lld",
                      (long long)s->seed, s->corpus, (long long)s->batch_seqs,
                      (long long)s->seq_len, (long long)s->steps);
    if (s->keep_layers != NULL)
        at += snprintf(ps->run_id + at, sizeof ps->run_id - (size_t)at, " keep_layers=%s",
                       s->keep_layers);
    if (s->teacher != NULL)
        snprintf(ps->run_id + at, sizeof ps->run_id - (size_t)at, " teacher=%s distill=%g/%g",
                 s->teacher, s->distill, s->distill_temperature);
    return 0;
}

/* Runs forward/backward over this rank's rows [rows of `step`] of `split`, adding into the
 * gradients when train is set; returns the summed weighted loss in *loss. */
static int run_rows(pretrain_state *ps, const t2_pretrain_settings *s, const t2_runtime *rt,
                    t2_task_split split, int64_t step, int64_t n_rows, float weight, int train,
                    double *loss, t2_error *err) {
    *loss = 0.0;
    int64_t len = s->seq_len;
    int64_t row = rt->rank;
    while (row < n_rows) {
        int64_t n = 0;
        for (; n < s->micro_batch && row < n_rows; n++, row += rt->size) {
            int32_t *r = ps->rows + n * (len + 1);
            t2_corpus_fill_row(&ps->corpus, split, step, row, r, len + 1);
            memcpy(ps->inputs + n * len, r, sizeof *r * (size_t)len);
            memcpy(ps->targets + n * len, r + 1, sizeof *r * (size_t)len);
        }
        int distil = train && ps->teacher_trainer != NULL;
        float ce_weight = distil ? (float)((1.0 - s->distill) * weight) : weight;
        for (int64_t i = 0; i < n * len; i++) ps->loss_weights[i] = ce_weight;
        t2_train_batch batch = {.n_seqs = n, .seq_len = len, .tokens = ps->inputs,
                                .targets = ps->targets, .weights = ps->loss_weights};
        double part = 0.0;
        int status;
        if (distil) {
            double ignored;
            status = t2_trainer_loss(ps->teacher_trainer, &batch, NULL, &ignored, err);
            distill_term term = {ps, t2_trainer_logits(ps->teacher_trainer),
                                 s->distill * weight, s->distill_temperature};
            t2_trainer_set_logit_term(ps->trainer, distill_logit_grad, &term);
            t2_train_options opt = {.grads = &ps->grads};
            if (status == 0) status = t2_trainer_step(ps->trainer, &batch, &opt, &part, err);
            t2_trainer_set_logit_term(ps->trainer, NULL, NULL);
            for (int64_t i = 0; status == 0 && i < n * len; i++)
                part += term.scale * ps->distill_cells[i];
        } else if (train) {
            t2_train_options opt = {.grads = &ps->grads};
            status = t2_trainer_step(ps->trainer, &batch, &opt, &part, err);
        } else {
            status = t2_trainer_loss(ps->trainer, &batch, NULL, &part, err);
        }
        if (status != 0) return -1;
        *loss += part;
    }
    return 0;
}

static double allreduce_sum(double value) {
    double total = 0.0;
    MPI_Allreduce(&value, &total, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    return total;
}

/* Validation loss (mean per token) over eval_rows rows of the test split, all ranks. */
static int validation_loss(pretrain_state *ps, const t2_pretrain_settings *s,
                           const t2_runtime *rt, double *out, t2_error *err) {
    double local = 0.0;
    float weight = 1.0f / (float)(s->eval_rows * s->seq_len);
    int status = run_rows(ps, s, rt, T2_TASK_SPLIT_TEST, 0, s->eval_rows, weight, 0, &local, err);
    if (t2_runtime_agree_status(rt, status, err) != 0) return -1;
    *out = allreduce_sum(local);
    return 0;
}

/* The AdamW update of the whole model from the summed gradient; returns the global norm. */
static double apply_update(pretrain_state *ps, const t2_pretrain_settings *s, int64_t step) {
    double norm = sqrt(t2_sum_squares(ps->grads.slab, ps->grads.slab_floats));
    float scale = t2_clip_factor(norm, (float)s->clip);
    if (scale != 1.0f)
        for (int64_t i = 0; i < ps->grads.slab_floats; i++) ps->grads.slab[i] *= scale;
    t2_adamw_config cfg = {.lr = (float)s->lr, .beta1 = (float)s->beta1,
                           .beta2 = (float)s->beta2, .eps = 1e-8f,
                           .weight_decay = (float)s->weight_decay};
    float lr = t2_lr_schedule((float)s->lr, (float)s->min_lr, s->warmup, s->steps, step);
    for (int i = 0; i < ps->n_segments; i++) {
        const slab_segment *seg = &ps->segments[i];
        t2_adamw_step(&cfg, step, lr, seg->decay, ps->model.weights.slab + seg->offset,
                      ps->grads.slab + seg->offset, ps->adam_m.slab + seg->offset,
                      ps->adam_v.slab + seg->offset, seg->count);
    }
    return norm;
}

/* Rank 0: writes the model folder (config, weights, tokenizer) atomically per file. */
static int write_result(pretrain_state *ps, const t2_pretrain_settings *s, t2_error *err) {
    mkdir(s->out, 0777);
    char *path = t2_model_dir_path(s->out, "model.safetensors");
    t2_safetensors_writer writer;
    t2_safetensors_writer_init(&writer);
    t2_model_weights_add_to_writer(&ps->model.weights, &ps->model.cfg, &writer, T2_DTYPE_F32);
    t2_safetensors_writer_add_metadata(&writer, "format", "pt");
    t2_safetensors_writer_add_metadata(&writer, "t2_pretrain", ps->run_id);
    int status = t2_safetensors_writer_write(&writer, path, err);
    t2_safetensors_writer_free(&writer);
    t2_free(path);
    if (status == 0) {
        path = t2_model_dir_path(s->out, "config.json");
        status = t2_model_config_write(&ps->model.cfg, path, err);
        t2_free(path);
    }
    /* the tokenizer's files as they are (tokenizer_config.json when the start has one) */
    static const char *const tokenizer_files[] = {"tokenizer.json", "tokenizer_config.json"};
    for (int i = 0; status == 0 && i < 2; i++) {
        char *src = t2_model_dir_path(s->init_model, tokenizer_files[i]), *text = NULL;
        size_t len = 0;
        if (i == 0 || access(src, F_OK) == 0) status = t2_file_read(src, &text, &len, err);
        if (status == 0 && text != NULL) {
            path = t2_model_dir_path(s->out, tokenizer_files[i]);
            status = t2_file_write_atomic(path, text, len, err);
            t2_free(path);
        }
        t2_free(text);
        t2_free(src);
    }
    return status;
}

/* Appends the step's line (rank 0); a failed append is the run's error (base/file.h). */
static int write_metrics(t2_append_file *metrics, int64_t step, double loss, double val_loss,
                         float lr, double norm, int64_t tokens, double seconds, t2_error *err) {
    if (metrics->path == NULL) return 0;
    char line[512], val[64] = "";
    if (!isnan(val_loss)) snprintf(val, sizeof val, "\"val_loss\": %.6f, ", val_loss);
    int len = snprintf(line, sizeof line, "{\"step\": %lld, \"loss\": %.6f, %s\"lr\": %.6g, "
                       "\"grad_norm\": %.6g, \"tokens\": %lld, \"seconds\": %.3f}\n",
                       (long long)step, loss, val, lr, norm, (long long)tokens, seconds);
    return t2_append_file_line(metrics, line, (size_t)len, err);
}

/* Resumes from the checkpoint when asked and present (all ranks read it). */
static int maybe_resume(pretrain_state *ps, const t2_pretrain_settings *s, int64_t *start,
                        t2_error *err) {
    *start = 0;
    if (!s->control.resume || s->control.checkpoint_dir == NULL) return 0;
    char *path = t2_model_dir_path(s->control.checkpoint_dir, "checkpoint.safetensors");
    struct stat st;
    int status = 0;
    if (stat(path, &st) == 0)
        status = t2_checkpoint_read(path, &ps->model.cfg, &ps->model.weights, &ps->adam_m, &ps->adam_v,
                                    start, ps->run_id, err);
    t2_free(path);
    return status;
}

static int save_checkpoint(pretrain_state *ps, const t2_pretrain_settings *s,
                           const t2_runtime *rt, int64_t step, t2_error *err) {
    int status = 0;
    if (rt->rank == 0) {
        mkdir(s->control.checkpoint_dir, 0777);
        char *path = t2_model_dir_path(s->control.checkpoint_dir, "checkpoint.safetensors");
        status = t2_checkpoint_write(path, &ps->model.cfg, &ps->model.weights, &ps->adam_m, &ps->adam_v,
                                     step, ps->run_id, err);
        t2_free(path);
    }
    return t2_runtime_agree_status(rt, status, err);
}

/* After a stop signal at the end of `step` (agreed by every rank): the checkpoint of that step
 * unless it was just written, one line from rank 0, T2_STOP_SIGNAL_STOPPED. */
static int stop_run(pretrain_state *ps, const t2_pretrain_settings *s, const t2_runtime *rt,
                    int64_t step, int saved, int signal_number, t2_error *err) {
    const char *dir = s->control.checkpoint_dir;
    if (dir != NULL && !saved && save_checkpoint(ps, s, rt, step, err) != 0) return -1;
    if (rt->rank == 0 && dir != NULL)
        t2_log(T2_LOG_INFO, "pretrain: stopped by %s after step %lld; checkpoint in %s; exit %d "
               "(the same command with resume on continues from it)",
               t2_stop_signal_name(signal_number), (long long)step, dir, T2_STOP_SIGNAL_EXIT);
    else if (rt->rank == 0)
        t2_log(T2_LOG_INFO, "pretrain: stopped by %s after step %lld; no checkpoint_dir, so "
               "nothing to resume from; exit %d", t2_stop_signal_name(signal_number),
               (long long)step, T2_STOP_SIGNAL_EXIT);
    return T2_STOP_SIGNAL_STOPPED;
}

/* Collective. 0 at the end, T2_STOP_SIGNAL_STOPPED after a stop signal (checkpointed), -1 on
 * an error. */
static int train_loop(pretrain_state *ps, const t2_pretrain_settings *s, const t2_runtime *rt,
                      int64_t start, t2_append_file *metrics, t2_error *err) {
    t2_progress progress;
    t2_progress_init(&progress, "pretrain", s->steps);
    double t0 = t2_time_now();
    float weight = 1.0f / (float)(s->batch_seqs * s->seq_len);
    int64_t end = s->control.stop_after > 0 && s->control.stop_after < s->steps ? s->control.stop_after : s->steps;
    for (int64_t step = start + 1; step <= end; step++) {
        memset(ps->grads.slab, 0, sizeof(float) * (size_t)ps->grads.slab_floats);
        double local = 0.0;
        int status = run_rows(ps, s, rt, T2_TASK_SPLIT_TRAIN, step, s->batch_seqs, weight, 1,
                              &local, err);
        if (t2_runtime_agree_status(rt, status, err) != 0) return -1;
        MPI_Allreduce(MPI_IN_PLACE, ps->grads.slab, (int)ps->grads.slab_floats, MPI_FLOAT,
                      MPI_SUM, MPI_COMM_WORLD);
        double loss = allreduce_sum(local);
        double norm = apply_update(ps, s, step);
        double val_loss = NAN;
        int last = step == s->steps;
        if ((s->eval_every > 0 && step % s->eval_every == 0) || last)
            if (validation_loss(ps, s, rt, &val_loss, err) != 0) return -1;
        float lr = t2_lr_schedule((float)s->lr, (float)s->min_lr, s->warmup, s->steps, step);
        int64_t tokens = step * s->batch_seqs * s->seq_len;
        status = rt->rank == 0 ? write_metrics(metrics, step, loss, val_loss, lr, norm, tokens,
                                               t2_time_now() - t0, err) : 0;
        if (t2_runtime_agree_status(rt, status, err) != 0) return -1;
        if (rt->rank == 0) {
            char note[160];
            if (isnan(val_loss))
                snprintf(note, sizeof note, "loss %.4f  lr %.2e", loss, lr);
            else
                snprintf(note, sizeof note, "loss %.4f  val %.4f  lr %.2e", loss, val_loss, lr);
            t2_progress_update(&progress, step, note);
        }
        int saved = s->control.checkpoint_dir != NULL &&
                    (step % s->control.checkpoint_every == 0 || step == end);
        if (saved && save_checkpoint(ps, s, rt, step, err) != 0) return -1;
        int stop = t2_stop_signal_agree(rt);
        if (stop != 0) {
            t2_progress_finish(&progress);
            return stop_run(ps, s, rt, step, saved, stop, err);
        }
    }
    t2_progress_finish(&progress);
    return 0;
}

int t2_pretrain_run(const t2_runtime *rt, const t2_pretrain_settings *s, t2_error *err) {
    pretrain_state ps;
    memset(&ps, 0, sizeof ps);
    int status = state_load(&ps, s, err);
    if (t2_runtime_agree_status(rt, status, err) != 0) {
        state_free(&ps);
        return -1;
    }
    ps.trainer = t2_trainer_new(&ps.model.cfg, &ps.model.weights, s->micro_batch, s->seq_len);
    int64_t start = 0;
    status = maybe_resume(&ps, s, &start, err);
    if (t2_runtime_agree_status(rt, status, err) != 0) {
        state_free(&ps);
        return -1;
    }
    if (start > 0) t2_log(T2_LOG_INFO, "pretrain: resuming after step %lld", (long long)start);
    t2_append_file metrics = {.fd = -1};
    status = 0;
    if (rt->rank == 0 && s->control.metrics != NULL)
        status = t2_append_file_open(&metrics, s->control.metrics, start == 0, err);
    if (t2_runtime_agree_status(rt, status, err) == 0) {
        t2_stop_signal_install();
        status = train_loop(&ps, s, rt, start, &metrics, err);
        t2_stop_signal_remove();
    } else {
        status = -1;
    }
    t2_append_file_close(&metrics);
    if (status == 0) {
        int local = rt->rank == 0 ? write_result(&ps, s, err) : 0;
        status = t2_runtime_agree_status(rt, local, err);
    }
    state_free(&ps);
    return status;
}
