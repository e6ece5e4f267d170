/* `t2 new-model`: writes a randomly initialised Llama-family model folder (config.json,
 * model.safetensors, tokenizer.json with a byte-level vocabulary, or the BPE tokenizer of
 * --tokenizer DIR, t2 tokenizer train's output). The starting point of
 * pretraining, the model behind tests and benchmarks, and the default model of the README
 * until a trained one ships. Same flags and seed give byte-identical files. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/alloc.h"
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "model/config.h"
#include "model/safetensors.h"
#include "base/file.h"
#include "model/tokenizer.h"
#include "model/tokenizer_write.h"
#include "model/weights.h"

static const char *const special_tokens[] = {"<|bos|>", "<|eos|>", "<|pad|>"};
enum { N_SPECIAL = 3, N_BYTE_TOKENS = 256 };

static void print_usage(FILE *out) {
    fprintf(out,
            "usage: t2 new-model --out DIR [options]\n\n"
            "Writes a randomly initialised Llama-family model folder (config.json,\n"
            "model.safetensors, tokenizer.json with 256 byte tokens + <|bos|> <|eos|> <|pad|>,\n"
            "tokenizer_config.json: no BOS/EOS added, no chat template).\n\n"
            "  --out DIR             folder to write (created if missing; its model files are replaced)\n"
            "  --model-type TYPE     llama (default), mistral or qwen2 (q/k/v biases)\n"
            "  --hidden N            hidden size (default 128)\n"
            "  --layers N            transformer blocks (default 4)\n"
            "  --heads N             attention heads (default 4)\n"
            "  --kv-heads N          key/value heads (default 2)\n"
            "  --ffn N               MLP width (default 352)\n"
            "  --vocab N             vocabulary size, at least 259 (default 259, or the tokenizer's)\n"
            "  --tokenizer DIR       take DIR's tokenizer.json and tokenizer_config.json (t2\n"
            "                        tokenizer train writes them) instead of the byte-level one\n"
            "  --max-positions N     context length (default 1024)\n"
            "  --tie                 tie lm_head to the embeddings\n"
            "  --seed S              random seed (default 1)\n"
            "  --std X               standard deviation of the weights (default 0.02)\n"
            "  --dtype D             F32 (default), F16 or BF16 on disk\n"
            "  --help                this text\n");
}

static int parse_dtype(const char *text, t2_dtype *out) {
    if (strcmp(text, "F32") == 0) *out = T2_DTYPE_F32;
    else if (strcmp(text, "F16") == 0) *out = T2_DTYPE_F16;
    else if (strcmp(text, "BF16") == 0) *out = T2_DTYPE_BF16;
    else return -1;
    return 0;
}

static void default_config(t2_model_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->model_type, sizeof cfg->model_type, "llama");
    cfg->hidden_size = 128;
    cfg->num_hidden_layers = 4;
    cfg->num_attention_heads = 4;
    cfg->num_key_value_heads = 2;
    cfg->intermediate_size = 352;
    cfg->vocab_size = N_BYTE_TOKENS + N_SPECIAL;
    cfg->max_position_embeddings = 1024;
    cfg->rms_norm_eps = 1e-5f;
    cfg->rope_theta = 10000.0;
    cfg->bos_token_id = N_BYTE_TOKENS;
    cfg->eos_token_ids[0] = N_BYTE_TOKENS + 1;
    cfg->n_eos_token_ids = 1;
}

/* Copies from/name to dir/name. */
static int copy_file(const char *from, const char *dir, const char *name, t2_error *err) {
    char *src = t2_strdup_printf("%s/%s", from, name), *dst = t2_strdup_printf("%s/%s", dir, name);
    char *data = NULL;
    size_t len = 0;
    int status = t2_file_read(src, &data, &len, err);
    if (status == 0) status = t2_file_write_atomic(dst, data, len, err);
    t2_free(data);
    t2_free(src);
    t2_free(dst);
    return status;
}

/* --tokenizer DIR: its vocabulary size and the ids of <|bos|> and <|eos|>, which it must have
 * (t2 tokenizer train's tokenizers do). 0, or -1 with err. */
static int read_tokenizer(const char *from, t2_model_config *cfg, int vocab_given,
                          t2_error *err) {
    char *path = t2_strdup_printf("%s/tokenizer.json", from);
    t2_tokenizer *tok = t2_tokenizer_load(path, err);
    int status = tok == NULL ? -1 : 0;
    if (status == 0) {
        int32_t bos = t2_tokenizer_token_id(tok, special_tokens[0]);
        int32_t eos = t2_tokenizer_token_id(tok, special_tokens[1]);
        int64_t n = t2_tokenizer_vocab_size(tok);
        if (bos < 0 || eos < 0)
            status = t2_error_set(err, "%s: no %s or %s token; expected a tokenizer made by t2 "
                                  "tokenizer train", path, special_tokens[0], special_tokens[1]);
        else if (vocab_given && cfg->vocab_size < n)
            status = t2_error_set(err, "--vocab: %lld is smaller than the tokenizer's %lld ids; "
                                  "expected at least %lld", (long long)cfg->vocab_size,
                                  (long long)n, (long long)n);
        if (status == 0) {
            if (!vocab_given) cfg->vocab_size = n;
            cfg->bos_token_id = bos;
            cfg->eos_token_ids[0] = eos;
        }
    }
    t2_tokenizer_free(tok);
    t2_free(path);
    return status;
}

/* Writes the four files of the folder (the tokenizer's two copied from tokenizer_dir when
 * set). */
static int write_model(const char *dir, const t2_model_config *cfg, uint64_t seed, float std,
                       t2_dtype dtype, const char *tokenizer_dir, t2_error *err) {
    size_t n = strlen(dir) + 32;
    char *path = t2_alloc(n);
    t2_model_weights weights;
    t2_model_weights_init(&weights, cfg);
    t2_model_weights_init_random(&weights, cfg, seed, std);
    t2_safetensors_writer writer;
    t2_safetensors_writer_init(&writer);
    t2_model_weights_add_to_writer(&weights, cfg, &writer, dtype);
    t2_safetensors_writer_add_metadata(&writer, "format", "pt");

    int status = 0;
    snprintf(path, n, "%s/model.safetensors", dir);
    status = t2_safetensors_writer_write(&writer, path, err);
    if (status == 0 && tokenizer_dir != NULL) {
        status = copy_file(tokenizer_dir, dir, "tokenizer.json", err);
        if (status == 0) status = copy_file(tokenizer_dir, dir, "tokenizer_config.json", err);
    } else if (status == 0) {
        snprintf(path, n, "%s/tokenizer.json", dir);
        status = t2_tokenizer_write_byte_level(path, special_tokens, N_SPECIAL, err);
        if (status == 0) {
            snprintf(path, n, "%s/tokenizer_config.json", dir);
            status = t2_tokenizer_write_config(path, special_tokens[0], special_tokens[1], err);
        }
    }
    if (status == 0) {
        snprintf(path, n, "%s/config.json", dir);
        status = t2_model_config_write(cfg, path, err);
    }
    t2_safetensors_writer_free(&writer);
    t2_model_weights_free(&weights);
    t2_free(path);
    return status;
}

int t2_cmd_new_model(int argc, char **argv) {
    const char *cmd = "new-model";
    enum { OPT_HIDDEN = 256, OPT_LAYERS, OPT_HEADS, OPT_KV, OPT_FFN, OPT_VOCAB, OPT_POS,
           OPT_SEED, OPT_STD, OPT_DTYPE, OPT_TYPE, OPT_TIE, OPT_OUT, OPT_TOKENIZER, OPT_HELP };
    static const struct option options[] = {
        {"out", required_argument, NULL, OPT_OUT},       {"hidden", required_argument, NULL, OPT_HIDDEN},
        {"layers", required_argument, NULL, OPT_LAYERS}, {"heads", required_argument, NULL, OPT_HEADS},
        {"kv-heads", required_argument, NULL, OPT_KV},   {"ffn", required_argument, NULL, OPT_FFN},
        {"vocab", required_argument, NULL, OPT_VOCAB},   {"max-positions", required_argument, NULL, OPT_POS},
        {"seed", required_argument, NULL, OPT_SEED},     {"std", required_argument, NULL, OPT_STD},
        {"dtype", required_argument, NULL, OPT_DTYPE},   {"model-type", required_argument, NULL, OPT_TYPE},
        {"tie", no_argument, NULL, OPT_TIE},             {"help", no_argument, NULL, OPT_HELP},
        {"tokenizer", required_argument, NULL, OPT_TOKENIZER},
        {NULL, 0, NULL, 0}};
    t2_model_config cfg;
    default_config(&cfg);
    const char *out_dir = NULL, *tokenizer_dir = NULL;
    int vocab_given = 0;
    int64_t seed = 1;
    double std = 0.02;
    t2_dtype dtype = T2_DTYPE_F32;
    t2_error err = {{0}};
    optind = 1;
    opterr = 0;
    int opt, index = 0;
    while ((opt = getopt_long(argc, argv, "", options, &index)) != -1) {
        int64_t *size_field = NULL;
        switch (opt) {
        case OPT_OUT: out_dir = optarg; break;
        case OPT_TOKENIZER: tokenizer_dir = optarg; break;
        case OPT_HIDDEN: size_field = &cfg.hidden_size; break;
        case OPT_LAYERS: size_field = &cfg.num_hidden_layers; break;
        case OPT_HEADS: size_field = &cfg.num_attention_heads; break;
        case OPT_KV: size_field = &cfg.num_key_value_heads; break;
        case OPT_FFN: size_field = &cfg.intermediate_size; break;
        case OPT_VOCAB:
            size_field = &cfg.vocab_size;
            vocab_given = 1;
            break;
        case OPT_POS: size_field = &cfg.max_position_embeddings; break;
        case OPT_TIE: cfg.tie_word_embeddings = 1; break;
        case OPT_SEED:
            if (t2_cli_parse_int("seed", optarg, 0, INT64_MAX, &seed, &err) != 0)
                return t2_cli_usage(cmd, "%s", err.msg);
            break;
        case OPT_STD:
            if (t2_cli_parse_float("std", optarg, 0.0, 10.0, &std, &err) != 0)
                return t2_cli_usage(cmd, "%s", err.msg);
            break;
        case OPT_DTYPE:
            if (parse_dtype(optarg, &dtype) != 0)
                return t2_cli_usage(cmd, "--dtype: '%s' is not valid; expected F32, F16 or BF16", optarg);
            break;
        case OPT_TYPE:
            if (strcmp(optarg, "llama") && strcmp(optarg, "mistral") && strcmp(optarg, "qwen2"))
                return t2_cli_usage(cmd, "--model-type: '%s' is not valid; expected llama, mistral or qwen2", optarg);
            snprintf(cfg.model_type, sizeof cfg.model_type, "%s", optarg);
            cfg.attention_bias = strcmp(optarg, "qwen2") == 0;
            break;
        case OPT_HELP: print_usage(stdout); return T2_EXIT_OK;
        default: return t2_cli_usage(cmd, "unknown option '%s'", argv[optind - 1]);
        }
        if (size_field != NULL &&
            t2_cli_parse_int(options[index].name, optarg, 1, 1 << 20, size_field, &err) != 0)
            return t2_cli_usage(cmd, "%s", err.msg);
    }
    if (optind < argc) return t2_cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
    if (out_dir == NULL) return t2_cli_usage(cmd, "--out DIR is required");
    if (tokenizer_dir != NULL && read_tokenizer(tokenizer_dir, &cfg, vocab_given, &err) != 0)
        return t2_cli_fail_error(cmd, &err);
    if (cfg.vocab_size < N_BYTE_TOKENS + N_SPECIAL)
        return t2_cli_usage(cmd, "--vocab: %lld is too small; expected at least %d (byte tokens "
                            "and specials)", (long long)cfg.vocab_size, N_BYTE_TOKENS + N_SPECIAL);
    if (cfg.hidden_size % cfg.num_attention_heads != 0 ||
        cfg.num_attention_heads % cfg.num_key_value_heads != 0 ||
        (cfg.hidden_size / cfg.num_attention_heads) % 2 != 0)
        return t2_cli_usage(cmd, "--heads/--kv-heads: %lld heads and %lld KV heads do not fit "
                            "hidden size %lld; expected heads dividing hidden (even head size) "
                            "and KV heads dividing heads", (long long)cfg.num_attention_heads,
                            (long long)cfg.num_key_value_heads, (long long)cfg.hidden_size);
    cfg.head_dim = cfg.hidden_size / cfg.num_attention_heads;

    if (mkdir(out_dir, 0777) != 0) {
        struct stat st;
        if (stat(out_dir, &st) != 0 || !S_ISDIR(st.st_mode))
            return t2_cli_fail(cmd, "%s: cannot create the folder; expected a writable path", out_dir);
    }
    if (write_model(out_dir, &cfg, (uint64_t)seed, (float)std, dtype, tokenizer_dir, &err) != 0)
        return t2_cli_fail_error(cmd, &err);
    fprintf(stderr, "t2 new-model: wrote %s (%lld parameters)\n", out_dir,
            (long long)t2_model_config_param_count(&cfg));
    return T2_EXIT_OK;
}
