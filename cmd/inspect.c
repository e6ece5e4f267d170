/* t2 inspect PATH: prints a model's architecture (config.json), every tensor of its
 * safetensors files (name, dtype, shape) and the parameter counts; for a model folder it
 * also checks that the files hold every tensor the config implies, with the right shapes.
 * Does not load tensor data (only headers are read; files are memory-mapped).
 * PATH may also be an expert file (rl/expert.h): then its name, task, method, base-model
 * fingerprint, targets, parameter count and training summary (the file is read and
 * validated whole; experts are small).
 * Results go to stdout, errors to stderr through cmd/cli.h. */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/alloc.h"
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "model/adapter.h"
#include "model/config.h"
#include "model/safetensors.h"
#include "model/weights.h"
#include "rl/expert.h"

static void print_help(void) {
    printf("usage: t2 inspect [OPTIONS] PATH\n\n"
           "Shows a model's architecture, every tensor (name, dtype, shape) and the parameter\n"
           "count. PATH is either a Hugging Face model folder (config.json plus model.safetensors\n"
           "or model.safetensors.index.json and its shards) or one .safetensors file.\n"
           "For a model folder the tensors are checked against config.json: a missing tensor,\n"
           "a wrong shape or an unsupported dtype is an error (exit status 1).\n\n"
           "PATH may also be an expert file (written by training): then its name, task, method\n"
           "and settings, the fingerprint of the base model it was made for, every target\n"
           "(tensor, shape, parameters; for svf the mean, min and max of its vector), the\n"
           "trainable parameters, the training summary and config. A corrupt or truncated\n"
           "expert file is an error (exit status 1).\n\n"
           "options:\n"
           "  -h, --help   show this help and exit\n");
}

static void print_config(const t2_model_config *cfg) {
    printf("architecture (config.json):\n");
    printf("  %-26s %s\n", "model_type", cfg->model_type);
    printf("  %-26s %lld\n", "hidden_size", (long long)cfg->hidden_size);
    printf("  %-26s %lld\n", "intermediate_size", (long long)cfg->intermediate_size);
    printf("  %-26s %lld\n", "num_hidden_layers", (long long)cfg->num_hidden_layers);
    printf("  %-26s %lld (kv heads %lld, head_dim %lld)\n", "num_attention_heads",
           (long long)cfg->num_attention_heads, (long long)cfg->num_key_value_heads,
           (long long)cfg->head_dim);
    printf("  %-26s %lld\n", "vocab_size", (long long)cfg->vocab_size);
    printf("  %-26s %lld\n", "max_position_embeddings", (long long)cfg->max_position_embeddings);
    printf("  %-26s %g\n", "rms_norm_eps", cfg->rms_norm_eps);
    printf("  %-26s %g\n", "rope_theta", cfg->rope_theta);
    if (cfg->rope_scaling_llama3)
        printf("  %-26s llama3 (factor %g, low_freq_factor %g, high_freq_factor %g, "
               "original_max_position_embeddings %lld)\n", "rope_scaling", cfg->rope_factor,
               cfg->rope_low_freq_factor, cfg->rope_high_freq_factor,
               (long long)cfg->rope_original_max_position_embeddings);
    else
        printf("  %-26s none\n", "rope_scaling");
    printf("  %-26s %s\n", "tie_word_embeddings", cfg->tie_word_embeddings ? "true" : "false");
    printf("  %-26s %s\n", "attention_bias",
           t2_model_config_o_proj_bias(cfg) ? "q, k, v, o"
           : cfg->attention_bias            ? "q, k, v"
                                            : "none");
    if (cfg->bos_token_id >= 0)
        printf("  %-26s %lld\n", "bos_token_id", (long long)cfg->bos_token_id);
    else
        printf("  %-26s none\n", "bos_token_id");
    printf("  %-26s", "eos_token_id");
    for (int i = 0; i < cfg->n_eos_token_ids; i++)
        printf("%s%lld", i ? ", " : " ", (long long)cfg->eos_token_ids[i]);
    printf("%s\n", cfg->n_eos_token_ids ? "" : " none");
}

/* Prints the tensors and returns their total element count. */
static int64_t print_tensors(const t2_safetensors *st) {
    int width = 4;
    for (int i = 0; i < st->n_tensors; i++) {
        int len = (int)strlen(st->tensors[i].name);
        if (len > width) width = len;
    }
    printf("tensors: %d in %d file%s\n", st->n_tensors, st->n_files, st->n_files == 1 ? "" : "s");
    int64_t total = 0;
    for (int i = 0; i < st->n_tensors; i++) {
        const t2_tensor_info *t = &st->tensors[i];
        char shape[256];
        t2_safetensors_shape_string(shape, sizeof shape, t->n_dims, t->shape);
        printf("  %-*s  %-4s  %s\n", width, t->name, t2_dtype_name(t->dtype), shape);
        total += t->n_elements;
    }
    for (int i = 0; i < st->n_metadata; i++)
        printf("metadata: %s = %s\n", st->metadata_keys[i], st->metadata_values[i]);
    return total;
}

/* A folder is a model folder (its config.json is required); a file is read as safetensors. */
static int is_model_folder(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* Whether a file is to be read as safetensors rather than as an expert file: its name ends
 * in .safetensors, it cannot be opened (the safetensors reader reports why), or it starts
 * like one (a header length that fits the file, then '{'). An expert file never does: its
 * first byte is a protobuf field key, which makes the length far larger than any file. */
static int is_safetensors_file(const char *path) {
    size_t n = strlen(path), suffix = strlen(".safetensors");
    if (n >= suffix && strcmp(path + n - suffix, ".safetensors") == 0) return 1;
    FILE *f = fopen(path, "rb");
    if (f == NULL) return 1;
    unsigned char head[9];
    int whole = fread(head, 1, sizeof head, f) == sizeof head;
    int seek = whole && fseek(f, 0, SEEK_END) == 0;
    long size = seek ? ftell(f) : -1;
    fclose(f);
    if (!whole || size < 0) return 0;
    uint64_t header = 0;
    for (int b = 0; b < 8; b++) header |= (uint64_t)head[b] << (8 * b);
    return header <= (uint64_t)size - 8 && head[8] == '{';
}

/* Mean, min and max of n floats (n >= 1). */
static void vector_stats(const float *x, int64_t n, double *mean, double *min, double *max) {
    double sum = 0;
    *min = *max = x[0];
    for (int64_t i = 0; i < n; i++) {
        sum += x[i];
        if (x[i] < *min) *min = x[i];
        if (x[i] > *max) *max = x[i];
    }
    *mean = sum / (double)n;
}

static void print_expert(const t2_expert *e, const char *path) {
    char options[256];
    printf("expert: %s\n", path);
    printf("  %-26s %s\n", "name", e->name);
    printf("  %-26s %s\n", "task", e->task[0] != '\0' ? e->task : "(none)");
    printf("  %-26s %s (%s)\n", "method", t2_adapter_method_name(e->options.method),
           t2_expert_options_string(&e->options, options, sizeof options));
    printf("  %-26s %s\n", "model fingerprint", e->model_fingerprint);
    int name_width = 4, shape_width = 0, count_width = 0;
    char (*shapes)[48] = t2_alloc_array((size_t)e->n, sizeof *shapes);
    for (int i = 0; i < e->n; i++) {
        int len = (int)strlen(e->tensors[i]);
        if (len > name_width) name_width = len;
        len = snprintf(shapes[i], sizeof shapes[i], "[%lld, %lld]", (long long)e->rows[i],
                       (long long)e->cols[i]);
        if (len > shape_width) shape_width = len;
        len = snprintf(NULL, 0, "%lld", (long long)e->lengths[i]);
        if (len > count_width) count_width = len;
    }
    printf("targets: %d\n", e->n);
    for (int i = 0; i < e->n; i++) {
        printf("  %-*s  %-*s  %*lld parameters", name_width, e->tensors[i], shape_width,
               shapes[i], count_width, (long long)e->lengths[i]);
        if (e->options.method == T2_ADAPTER_SVF) {
            double mean, min, max;
            vector_stats(e->params + e->offsets[i], e->lengths[i], &mean, &min, &max);
            printf("  mean %-11.6g min %-11.6g max %.6g", mean, min, max);
        }
        printf("\n");
    }
    t2_free(shapes);
    printf("parameters: %lld trainable\n", (long long)e->n_params);
    const t2_expert_summary *s = &e->summary;
    printf("training summary:\n");
    printf("  %-26s %lld\n", "steps", (long long)s->steps);
    printf("  %-26s %lld\n", "best step", (long long)s->best_step);
    printf("  %-26s %.4f (%lld samples)\n", "best validation accuracy", s->best_val_accuracy,
           (long long)s->val_samples);
    printf("  %-26s %.1f s\n", "wall time", s->wall_seconds);
    printf("  %-26s %lld\n", "tokens", (long long)s->tokens);
    printf("  %-26s %lld\n", "ranks", (long long)s->ranks);
    if (e->config[0] == '\0') {
        printf("training config: (none)\n");
        return;
    }
    printf("training config:\n");
    for (const char *line = e->config; *line != '\0';) {
        const char *end = strchr(line, '\n');
        int len = end != NULL ? (int)(end - line) : (int)strlen(line);
        printf("  %.*s\n", len, line);
        line += len + (end != NULL);
    }
}

static int inspect_expert(const char *cmd, const char *path) {
    t2_expert e;
    t2_error err = {{0}};
    if (t2_expert_read(&e, path, &err) != 0) return t2_cli_fail_error(cmd, &err);
    print_expert(&e, path);
    t2_expert_free(&e);
    return T2_EXIT_OK;
}

int t2_cmd_inspect(int argc, char **argv) {
    static const struct option options[] = {{"help", no_argument, NULL, 'h'}, {0, 0, 0, 0}};
    const char *cmd = argv[0];
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (opt == 'h') {
            print_help();
            return T2_EXIT_OK;
        }
        return t2_cli_usage(cmd, "unknown option '%s'", argv[optind - 1]);
    }
    if (argc - optind != 1)
        return t2_cli_usage(cmd, "expected one PATH (a model folder, a .safetensors file or "
                            "an expert file)");
    const char *path = argv[optind];
    int model = is_model_folder(path);
    if (!model && !is_safetensors_file(path)) return inspect_expert(cmd, path);
    t2_error err = {{0}};
    t2_model_config cfg;
    if (model && t2_model_config_load(&cfg, path, &err) != 0) return t2_cli_fail_error(cmd, &err);
    t2_safetensors st;
    if (t2_safetensors_open(&st, path, &err) != 0) return t2_cli_fail_error(cmd, &err);
    printf("%s: %s\n", model ? "model" : "file", path);
    if (model) print_config(&cfg);
    int64_t total = print_tensors(&st);
    printf("parameters: %lld in the files", (long long)total);
    if (model)
        printf("; %lld implied by config.json", (long long)t2_model_config_param_count(&cfg));
    printf("\n");
    int status = T2_EXIT_OK;
    if (model && t2_model_weights_check(&cfg, &st, &err) != 0) {
        fflush(stdout);
        status = t2_cli_fail_error(cmd, &err);
    }
    t2_safetensors_close(&st);
    return status;
}
