/* t2 generate: continues a prompt with a Hugging Face model folder (config.json,
 * model.safetensors or a sharded index, tokenizer.json, tokenizer_config.json). The prompt is
 * encoded by model/prompt_encoder.h (plain by default, or a chat format). The generated text
 * alone goes to standard output, streamed as tokens arrive and exactly the continuation of
 * the prompt; statistics go to standard error with --verbose. Argument parsing, loading and
 * output only: the maths is model/forward.h, model/sampler.h and model/generate.h. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/progress.h"
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "linalg/blis_setup.h"
#include "linalg/skinny.h"
#include "model/config.h"
#include "model/generate.h"
#include "model/model_dir.h"
#include "model/prompt_encoder.h"
#include "model/prompt_format.h"
#include "model/tokenizer.h"

static const char *const command = "generate";

enum { MAX_STOPS = 16, PREFILL_ROWS = 512 };

static void print_usage(FILE *out) {
    fprintf(out,
            "usage: t2 generate --model DIR --prompt TEXT [--max-new-tokens N]\n"
            "                   [--temperature T] [--seed S] [--top-k K] [--top-p P]\n"
            "                   [--format auto|plain|llama3|llama2|mistral|chatml]\n"
            "                   [--system TEXT] [--no-special-tokens] [--bos] [--stop STR]...\n"
            "                   [--kv-cache f32|f16] [--verbose]\n"
            "\n"
            "Continues TEXT with the model in DIR (a Hugging Face folder: config.json,\n"
            "model.safetensors, tokenizer.json, tokenizer_config.json) and prints the\n"
            "continuation alone, as it is generated. Generation stops at an end-of-sequence\n"
            "token of the model's config, at the chat format's end-of-turn, at a stop string,\n"
            "or after N new tokens.\n"
            "\n"
            "options:\n"
            "  --model DIR           the model folder\n"
            "  --prompt TEXT         the prompt (special tokens written in it are kept whole)\n"
            "  --max-new-tokens N    at most N new tokens (default 64)\n"
            "  --temperature T       0 is greedy (default); higher is more random\n"
            "  --seed S              seed of the sampling stream (default 0)\n"
            "  --top-k K             sample among the K most probable tokens (0: all; default)\n"
            "  --top-p P             sample from the smallest set of most probable tokens whose\n"
            "                        probabilities add up to P (default 1: all)\n"
            "  --format F            plain (default): TEXT as it is, with the BOS / EOS the\n"
            "                        model's tokenizer files add; llama3, llama2, mistral or\n"
            "                        chatml: TEXT as the user turn of that chat template, with\n"
            "                        the assistant's turn opened; auto: the family of the\n"
            "                        model's chat_template (plain when it has none)\n"
            "  --system TEXT         a system message (chat formats only)\n"
            "  --no-special-tokens   add no BOS / EOS to a plain prompt\n"
            "  --bos                 make the model's BOS token the first token\n"
            "  --stop STR            stop when the text contains STR (not printed); repeatable\n"
            "  --kv-cache T          the attention cache's type: f32 (default) or f16 (half the\n"
            "                        memory and the bytes a step reads; keys and values rounded)\n"
            "  --verbose             print token counts and speed to standard error\n"
            "  -h, --help            show this help\n"
            "\n"
            "Details: docs/inference.md.\n");
}

typedef struct options {
    const char *model_dir, *prompt, *format, *system;
    int64_t max_new_tokens, top_k, seed;
    double temperature, top_p;
    const char *stops[MAX_STOPS];
    int n_stops, bos, verbose, no_special_tokens;
    t2_weight_type kv_cache;
} options;

/* Parses the flags; returns 0 to run, else the exit status to return (usage or --help). */
static int parse_options(int argc, char **argv, options *opt, int *done) {
    static const struct option longs[] = {
        {"model", required_argument, NULL, 'm'},   {"prompt", required_argument, NULL, 'p'},
        {"max-new-tokens", required_argument, NULL, 'n'},
        {"temperature", required_argument, NULL, 't'},
        {"seed", required_argument, NULL, 's'},    {"top-k", required_argument, NULL, 'k'},
        {"top-p", required_argument, NULL, 'P'},   {"format", required_argument, NULL, 'f'},
        {"stop", required_argument, NULL, 'S'},    {"bos", no_argument, NULL, 'b'},
        {"system", required_argument, NULL, 'y'},  {"no-special-tokens", no_argument, NULL, 'N'},
        {"verbose", no_argument, NULL, 'v'},       {"help", no_argument, NULL, 'h'},
        {"kv-cache", required_argument, NULL, 'K'},
        {NULL, 0, NULL, 0},
    };
    memset(opt, 0, sizeof *opt);
    opt->max_new_tokens = 64;
    opt->top_p = 1.0;
    opt->format = "plain";
    opterr = 0;
    optind = 1;
    *done = 1;
    t2_error err = {{0}};
    int c, rc = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        switch (c) {
        case 'm': opt->model_dir = optarg; break;
        case 'p': opt->prompt = optarg; break;
        case 'f': opt->format = optarg; break;
        case 'b': opt->bos = 1; break;
        case 'y': opt->system = optarg; break;
        case 'N': opt->no_special_tokens = 1; break;
        case 'v': opt->verbose = 1; break;
        case 'n':
            rc = t2_cli_parse_int("max-new-tokens", optarg, 0, 1 << 20, &opt->max_new_tokens,
                                  &err);
            break;
        case 's': rc = t2_cli_parse_int("seed", optarg, 0, INT64_MAX, &opt->seed, &err); break;
        case 'k': rc = t2_cli_parse_int("top-k", optarg, 0, INT32_MAX, &opt->top_k, &err); break;
        case 't':
            rc = t2_cli_parse_float("temperature", optarg, 0.0, 100.0, &opt->temperature, &err);
            break;
        case 'P':
            rc = t2_cli_parse_float("top-p", optarg, 0.0, 1.0, &opt->top_p, &err);
            if (rc == 0 && opt->top_p == 0.0)
                rc = t2_error_set(&err, "--top-p: '%s' is not valid; expected a number in "
                                  "(0, 1]", optarg);
            break;
        case 'S':
            if (optarg[0] == '\0') {
                rc = t2_error_set(&err, "--stop: empty; expected a non-empty string");
            } else if (opt->n_stops == MAX_STOPS) {
                rc = t2_error_set(&err, "--stop: more than %d stop strings", MAX_STOPS);
            } else {
                opt->stops[opt->n_stops++] = optarg;
            }
            break;
        case 'K': rc = t2_kv_cache_type_parse("--kv-cache", optarg, &opt->kv_cache, &err); break;
        case 'h': print_usage(stdout); return T2_EXIT_OK;
        default:
            return t2_cli_usage(command, "unknown option or missing value '%s'",
                                argv[optind - 1]);
        }
    }
    if (rc != 0) return t2_cli_usage(command, "%s", err.msg);
    if (optind < argc)
        return t2_cli_usage(command, "unexpected argument '%s' (quote the prompt and pass it "
                            "with --prompt)", argv[optind]);
    if (opt->model_dir == NULL) return t2_cli_usage(command, "--model DIR is required");
    if (opt->prompt == NULL) return t2_cli_usage(command, "--prompt TEXT is required");
    if (strcmp(opt->format, "auto") != 0 && t2_prompt_format_find(opt->format) == NULL)
        return t2_cli_usage(command, "--format: '%s' is not known; expected auto, plain, "
                            "llama3, llama2, mistral or chatml", opt->format);
    *done = 0;
    return 0;
}

/* The prompt's ids (model/prompt_encoder.h), with the BOS put first when --bos asks for it
 * and the encoding did not already start with it. Heap array, or -1 with err. */
static int64_t encode_prompt(const t2_model_dir *m, const t2_prompt_encoder *enc,
                             const options *opt, int32_t **ids, t2_error *err) {
    int32_t *body = NULL;
    int64_t n = t2_prompt_encoder_encode(enc, opt->prompt, &body);
    int64_t bos = -1;
    if (opt->bos) {
        bos = m->cfg.bos_token_id >= 0 ? m->cfg.bos_token_id : t2_tokenizer_bos_id(m->tok);
        if (bos < 0) {
            t2_free(body);
            return t2_error_set(err, "--bos: the model has no BOS token (config.json "
                                "bos_token_id, tokenizer.json); expected a model with one");
        }
        if (n > 0 && body[0] == bos) bos = -1;
    }
    if (n + (bos >= 0) == 0)
        return t2_error_set(err, "--prompt: no tokens to start from; expected a non-empty "
                            "prompt or --bos");
    *ids = t2_alloc_array((size_t)(n + (bos >= 0)), sizeof(int32_t));
    if (bos >= 0) (*ids)[0] = (int32_t)bos;
    if (n > 0) memcpy(*ids + (bos >= 0), body, (size_t)n * sizeof(int32_t));
    t2_free(body);
    return n + (bos >= 0);
}

/* When the first text came out (0: not yet): the end of the prompt's prefill, near enough
 * for --verbose's split of the time (text may wait for a stop string's end). */
typedef struct first_text {
    double at;
} first_text;

static void write_text(void *ctx, int64_t seq, const char *text, size_t len) {
    first_text *first = ctx;
    (void)seq;
    if (first->at == 0.0) first->at = t2_time_now();
    fwrite(text, 1, len, stdout);
    fflush(stdout);
}

static const char *finish_name(t2_finish_reason finish) {
    switch (finish) {
    case T2_FINISH_EOS: return "end-of-sequence token";
    case T2_FINISH_STOP: return "stop string";
    case T2_FINISH_LENGTH: break;
    }
    return "max-new-tokens";
}

static int run(const options *opt) {
    double start = t2_time_now();
    t2_model_dir m;
    t2_error err = {{0}};
    if (t2_model_dir_load(&m, opt->model_dir, &err) != 0) {
        t2_model_dir_free(&m);
        return t2_cli_fail_error(command, &err);
    }
    /* the encoder only reads the settings' strings (non-const for cmd/settings.h's tables) */
    t2_prompt_settings settings = {(char *)opt->format, !opt->no_special_tokens,
                                   (char *)opt->system};
    t2_prompt_encoder enc;
    int32_t *prompt = NULL;
    int64_t n_prompt = -1;
    if (t2_prompt_encoder_init(&enc, m.tok, &m.tok_config, &settings, &err) == 0)
        n_prompt = encode_prompt(&m, &enc, opt, &prompt, &err);
    if (n_prompt < 0) {
        t2_prompt_encoder_free(&enc);
        t2_model_dir_free(&m);
        return t2_cli_fail_error(command, &err);
    }
    const char *stops[MAX_STOPS + T2_PROMPT_ENCODER_MAX_STOPS];
    int n_stops = 0;
    for (int i = 0; i < opt->n_stops; i++) stops[n_stops++] = opt->stops[i];
    for (int i = 0; enc.stops[i] != NULL; i++) stops[n_stops++] = enc.stops[i];

    int64_t capacity = n_prompt + (opt->max_new_tokens > 0 ? opt->max_new_tokens - 1 : 0);
    t2_forward f;
    t2_kv_cache cache;
    t2_forward_init(&f, &m.cfg, &m.weights, n_prompt < PREFILL_ROWS ? n_prompt : PREFILL_ROWS,
                    capacity);
    t2_kv_cache_init_typed(&cache, &m.cfg, 1, capacity, opt->kv_cache);
    t2_generate_params params = {
        .max_new_tokens = opt->max_new_tokens,
        .sampler = {(float)opt->temperature, opt->top_k, (float)opt->top_p},
        .seed = (uint64_t)opt->seed,
        .eos_ids = m.cfg.eos_token_ids,
        .n_eos_ids = m.cfg.n_eos_token_ids,
        .stop_strings = stops,
        .n_stop_strings = n_stops,
    };
    double loaded_at = t2_time_now();
    t2_generation out;
    const int32_t *prompts[1] = {prompt};
    first_text first = {0.0};
    int rc = t2_generate_run(&f, &cache, m.tok, prompts, &n_prompt, 1, &params, &out,
                             write_text, &first, &err);
    double end = t2_time_now();
    if (rc == 0 && opt->verbose) {
        int type = t2_model_weights_matrix_type(&m.weights, &m.cfg);
        fprintf(stderr, "t2 generate: %lld prompt tokens, %lld new tokens (stopped at %s); "
                "load %.2f s, generation %.2f s, %.1f tokens/s\n", (long long)n_prompt,
                (long long)out.n_tokens, finish_name(out.finish), loaded_at - start,
                end - loaded_at, (double)out.n_tokens / (end - loaded_at));
        if (first.at > 0.0 && out.n_tokens > 1)
            fprintf(stderr, "t2 generate: prompt and first token %.2f s, then %.1f tokens/s; "
                    "weights %s, KV cache %s, skinny kernel %s, %d threads\n",
                    first.at - loaded_at, (double)(out.n_tokens - 1) / (end - first.at),
                    type >= 0 ? t2_weight_type_name((t2_weight_type)type) : "mixed",
                    t2_weight_type_name(opt->kv_cache),
                    t2_skinny_kernel_name(t2_skinny_active_kernel()), t2_blis_threads());
    }
    if (rc == 0) t2_generate_free(&out, 1);
    t2_kv_cache_free(&cache);
    t2_forward_free(&f);
    t2_free(prompt);
    t2_prompt_encoder_free(&enc);
    t2_model_dir_free(&m);
    if (rc != 0) return t2_cli_fail_error(command, &err);
    if (fflush(stdout) != 0 || ferror(stdout))
        return t2_cli_fail(command, "cannot write to standard output");
    return T2_EXIT_OK;
}

int t2_cmd_generate(int argc, char **argv) {
    options opt;
    int done;
    int status = parse_options(argc, argv, &opt, &done);
    if (done) return status;
    t2_blis_setup(0, 1);
    return run(&opt);
}
