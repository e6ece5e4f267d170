/* t2 inspect PATH: prints a model's architecture (config.json), every tensor of its
 * safetensors files (name, dtype, shape) and the parameter counts; for a model folder it
 * also checks that the files hold every tensor the config implies, with the right shapes,
 * and shows what its tokenizer files say (the BOS / EOS a plain encoding adds, the chat
 * family of its chat_template).
 * Does not load tensor data (only headers are read; files are memory-mapped).
 * PATH may also be an expert file (rl/expert.h) or an expert bundle (rl/bundle.h), shown by
 * cmd/inspect_expert.c, or a PEFT adapter folder (a folder with adapter_config.json), shown
 * by cmd/inspect_peft.c; this file decides what a path holds (classify_file).
 * Results go to stdout, errors to stderr through cmd/cli.h. */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd/cli.h"
#include "cmd/commands.h"
#include "cmd/inspect_expert.h"
#include "base/alloc.h"
#include "model/config.h"
#include "model/model_dir.h"
#include "model/peft.h"
#include "model/prompt_format.h"
#include "model/safetensors.h"
#include "model/tokenizer.h"
#include "model/tokenizer_config.h"
#include "model/weights.h"
#include "rl/bundle.h"

static void print_help(void) {
    printf("usage: t2 inspect [OPTIONS] PATH\n\n"
           "Shows a model's architecture, every tensor (name, dtype, shape) and the parameter\n"
           "count. PATH is either a Hugging Face model folder (config.json plus model.safetensors\n"
           "or model.safetensors.index.json and its shards) or one .safetensors file.\n"
           "For a model folder the tensors are checked against config.json: a missing tensor,\n"
           "a wrong shape or an unsupported dtype is an error (exit status 1). Its tokenizer\n"
           "files (tokenizer.json, tokenizer_config.json) are read too: which BOS / EOS a\n"
           "plain encoding adds and which chat family its chat_template is (llama3, llama2,\n"
           "mistral, chatml; plain without one); a tokenizer file t2 cannot read is an error.\n\n"
           "PATH may also be an expert file (written by training): then its name, task, method\n"
           "and settings, the fingerprint of the base model it was made for, every target\n"
           "(tensor, shape, parameters; for svf the mean, min and max of its vector), the\n"
           "trainable parameters, the training summary and config.\n\n"
           "PATH may also be an expert bundle (t2 bundle create): then the base model's\n"
           "fingerprint, the categories, the classifier, the transfer record, and for each\n"
           "expert (and the classifier) its name, task, method, targets, parameters and a\n"
           "training summary line. A corrupt or truncated expert file or bundle is an error\n"
           "(exit status 1).\n\n"
           "PATH may also be a PEFT LoRA adapter folder (adapter_config.json and\n"
           "adapter_model.safetensors, as t2 export --format peft writes it): then its r,\n"
           "lora_alpha, target modules and layers, and each adapted matrix with the shapes of\n"
           "its lora_A and lora_B; a folder t2 cannot use as a LoRA expert (another\n"
           "peft_type, a shape that disagrees with r, a missing matrix) is an error.\n\n"
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

/* "BOS '<s>' (1)" or "no BOS" into out. */
static void describe_token(char *out, size_t size, const t2_tokenizer *tok, const char *what,
                           int32_t id) {
    size_t len = 0;
    const char *text = id >= 0 ? t2_tokenizer_token_bytes(tok, id, &len) : NULL;
    if (text == NULL)
        snprintf(out, size, "no %s", what);
    else
        snprintf(out, size, "%s '%.*s' (%d)", what, (int)(len < 64 ? len : 64), text, id);
}

/* Prints what the folder's tokenizer files say. Returns 0, or -1 with err when a file cannot
 * be read. A folder without tokenizer.json has nothing to show. */
static int print_tokenizer(const char *dir, t2_error *err) {
    char *path = t2_model_dir_path(dir, "tokenizer.json");
    FILE *probe = fopen(path, "rb");
    if (probe == NULL) {
        t2_free(path);
        printf("tokenizer: none (no tokenizer.json)\n");
        return 0;
    }
    fclose(probe);
    t2_tokenizer *tok = t2_tokenizer_load(path, err);
    t2_free(path);
    if (tok == NULL) return -1;
    path = t2_model_dir_path(dir, "tokenizer_config.json");
    t2_tokenizer_config tc;
    int rc = t2_tokenizer_config_load(&tc, path, err);
    t2_free(path);
    int32_t bos = -1, eos = -1;
    if (rc == 0) rc = t2_tokenizer_config_added_ids(&tc, tok, &bos, &eos, err);
    if (rc == 0) {
        char b[128], e[128];
        describe_token(b, sizeof b, tok, "BOS", bos);
        describe_token(e, sizeof e, tok, "EOS", eos);
        printf("tokenizer (%s):\n", tc.path ? "tokenizer.json, tokenizer_config.json"
                                            : "tokenizer.json");
        printf("  %-26s %lld\n", "vocabulary", (long long)t2_tokenizer_vocab_size(tok));
        printf("  %-26s %s, %s\n", "plain encoding adds", b, e);
        t2_error why = {{0}};
        const char *family = t2_prompt_format_detect(tc.chat_template,
                                                     tc.path ? tc.path : "tokenizer_config.json",
                                                     &why);
        if (family == NULL)
            printf("  %-26s not recognised (%s)\n", "chat template", why.msg);
        else if (tc.chat_template == NULL)
            printf("  %-26s none (prompt format plain)\n", "chat template");
        else
            printf("  %-26s %s\n", "chat template", family);
    }
    t2_tokenizer_config_free(&tc);
    t2_tokenizer_free(tok);
    return rc;
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

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

typedef enum file_kind { KIND_SAFETENSORS, KIND_EXPERT, KIND_BUNDLE } file_kind;

/* What a file holds, from its first bytes where they tell and from its name otherwise, in
 * this order:
 *   1. it starts like safetensors (a little-endian header length that fits the file, then
 *      '{'; no protobuf file of t2 does: byte 7 of its length would have to be 0);
 *   2. its name ends in .safetensors (so a broken safetensors file is reported as one);
 *   3. it starts like a bundle or an expert file (t2_bundle_sniff: the first protobuf key);
 *   4. its name ends in .t2b: a bundle;
 *   5. anything else: an expert file, whose reader says what is wrong with it.
 * An unreadable file goes by its name, and its reader reports why it cannot be opened. */
static file_kind classify_file(const char *path) {
    unsigned char head[9];
    size_t got = 0;
    long size = -1;
    FILE *f = fopen(path, "rb");
    if (f != NULL) {
        got = fread(head, 1, sizeof head, f);
        if (fseek(f, 0, SEEK_END) == 0) size = ftell(f);
        fclose(f);
    }
    if (got == sizeof head && size >= 0) {
        uint64_t header = 0;
        for (int b = 0; b < 8; b++) header |= (uint64_t)head[b] << (8 * b);
        if (header <= (uint64_t)size - 8 && head[8] == '{') return KIND_SAFETENSORS;
    }
    if (ends_with(path, ".safetensors")) return KIND_SAFETENSORS;
    t2_bundle_kind kind = t2_bundle_sniff(head, got);
    if (kind == T2_BUNDLE_KIND_BUNDLE) return KIND_BUNDLE;
    if (kind == T2_BUNDLE_KIND_EXPERT) return KIND_EXPERT;
    return ends_with(path, ".t2b") ? KIND_BUNDLE : KIND_EXPERT;
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
        return t2_cli_usage(cmd, "expected one PATH (a model folder, a .safetensors file, "
                            "an expert file or an expert bundle)");
    const char *path = argv[optind];
    int model = is_model_folder(path);
    if (model && t2_peft_is_folder(path)) return t2_inspect_peft_folder(cmd, path);
    file_kind kind = model ? KIND_SAFETENSORS : classify_file(path);
    if (kind == KIND_EXPERT) return t2_inspect_expert_file(cmd, path);
    if (kind == KIND_BUNDLE) return t2_inspect_expert_bundle(cmd, path);
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
    if (model && status == T2_EXIT_OK && print_tokenizer(path, &err) != 0) {
        fflush(stdout);
        status = t2_cli_fail_error(cmd, &err);
    }
    t2_safetensors_close(&st);
    return status;
}
