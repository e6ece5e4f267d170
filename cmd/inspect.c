/* t2 inspect PATH: prints a model's architecture (config.json), every tensor of its
 * safetensors files (name, dtype, shape) and the parameter counts; for a model folder it
 * also checks that the files hold every tensor the config implies, with the right shapes.
 * Does not load tensor data (only headers are read; files are memory-mapped).
 * Results go to stdout, errors to stderr through cmd/cli.h. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd/cli.h"
#include "cmd/commands.h"
#include "model/config.h"
#include "model/safetensors.h"
#include "model/weights.h"

static void print_help(void) {
    printf("usage: t2 inspect [OPTIONS] PATH\n\n"
           "Shows a model's architecture, every tensor (name, dtype, shape) and the parameter\n"
           "count. PATH is either a Hugging Face model folder (config.json plus model.safetensors\n"
           "or model.safetensors.index.json and its shards) or one .safetensors file.\n"
           "For a model folder the tensors are checked against config.json: a missing tensor,\n"
           "a wrong shape or an unsupported dtype is an error (exit status 1).\n\n"
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
        return t2_cli_usage(cmd, "expected one PATH (a model folder or a .safetensors file)");
    const char *path = argv[optind];
    int model = is_model_folder(path);
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
