/* t2 tokenize: prints the token ids of a text, or (--decode) the text of token ids, with a
 * model folder's tokenizer.json and tokenizer_config.json (--model DIR) or a tokenizer.json
 * file alone (--tokenizer FILE). Encoding adds the BOS / EOS those files ask for, as Hugging
 * Face's encode does (model/tokenizer_config.h), and prints the ids space-separated on one
 * line ending in "\n"; decoding prints the decoded bytes exactly, with nothing added.
 * Argument parsing and output only: the tokenizer is model/tokenizer.h. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/file.h"
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "model/tokenizer.h"
#include "model/tokenizer_config.h"

static const char *const command = "tokenize";

static void print_usage(FILE *out) {
    fprintf(out,
            "usage: t2 tokenize (--model DIR | --tokenizer FILE) [--no-special-tokens] [--bos]\n"
            "                   [--file PATH | TEXT]\n"
            "       t2 tokenize (--model DIR | --tokenizer FILE) --decode [--file PATH | ID...]\n"
            "\n"
            "Prints the token ids of TEXT, or of the exact bytes of a file, space-separated on\n"
            "one line, with the BOS / EOS the tokenizer files add (as Hugging Face's encode).\n"
            "With --decode, prints the text that token ids decode to, exactly as it is (no\n"
            "newline is added).\n"
            "\n"
            "options:\n"
            "  --model DIR       a Hugging Face model folder: its tokenizer.json, and its\n"
            "                    tokenizer_config.json's add_bos_token / add_eos_token\n"
            "  --tokenizer FILE  a Hugging Face tokenizer.json alone\n"
            "  --file PATH       read the text (with --decode: the ids, separated by white\n"
            "                    space) from PATH; '-' reads standard input\n"
            "  --no-special-tokens  add no BOS / EOS\n"
            "  --bos             make the tokenizer's BOS id the first id (when it has one)\n"
            "  --decode          turn ids (arguments or --file) back into text\n"
            "  -h, --help        show this help\n"
            "\n"
            "Special tokens written in the text (e.g. <|endoftext|>) are kept as one id.\n"
            "Details: docs/tokenizer.md.\n");
}

typedef struct options {
    const char *model_dir, *tokenizer_path, *file;
    int bos, decode, no_special;
} options;

/* Parses the flags; returns -1 after a usage error was printed (exit 2), 1 for --help. */
static int parse_options(int argc, char **argv, options *opt, int *status) {
    static const struct option longs[] = {
        {"model", required_argument, NULL, 'm'}, {"tokenizer", required_argument, NULL, 't'},
        {"file", required_argument, NULL, 'f'},  {"bos", no_argument, NULL, 'b'},
        {"decode", no_argument, NULL, 'd'},      {"help", no_argument, NULL, 'h'},
        {"no-special-tokens", no_argument, NULL, 'n'},
        {NULL, 0, NULL, 0},
    };
    memset(opt, 0, sizeof *opt);
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, ":h", longs, NULL)) != -1) {
        switch (c) {
        case 'm': opt->model_dir = optarg; break;
        case 't': opt->tokenizer_path = optarg; break;
        case 'f': opt->file = optarg; break;
        case 'b': opt->bos = 1; break;
        case 'd': opt->decode = 1; break;
        case 'n': opt->no_special = 1; break;
        case 'h':
            print_usage(stdout);
            *status = T2_EXIT_OK;
            return 1;
        case ':':
            *status = t2_cli_usage(command, "option '%s' needs a value", argv[optind - 1]);
            return -1;
        default:
            *status = t2_cli_usage(command, "unknown option '%s'", argv[optind - 1]);
            return -1;
        }
    }
    int n_args = argc - optind;
    if ((opt->model_dir != NULL) == (opt->tokenizer_path != NULL))
        *status = t2_cli_usage(command, "give one of --model DIR or --tokenizer FILE");
    else if (opt->decode && (opt->bos || opt->no_special))
        *status = t2_cli_usage(command, "%s applies to encoding, not to --decode",
                               opt->bos ? "--bos" : "--no-special-tokens");
    else if (opt->file != NULL && n_args > 0)
        *status = t2_cli_usage(command, "give either --file or %s arguments, not both",
                               opt->decode ? "ID" : "TEXT");
    else if (!opt->decode && opt->file == NULL && n_args != 1)
        *status = t2_cli_usage(command, "expected one TEXT argument (quote it) or --file; got %d",
                               n_args);
    else if (opt->decode && opt->file == NULL && n_args == 0)
        *status = t2_cli_usage(command, "--decode needs ids as arguments or --file");
    else
        return 0;
    return -1;
}

/* Parses the white-space separated ids in text; `where` names their source in errors. */
static int parse_ids(const t2_tokenizer *tok, const char *text, const char *where, int32_t **ids,
                     int64_t *n, int64_t *cap, t2_error *err) {
    int64_t max_id = t2_tokenizer_vocab_size(tok) - 1;
    const char *p = text;
    for (;;) {
        p += strspn(p, " \t\r\n\v\f");
        if (*p == '\0') return 0;
        size_t len = strcspn(p, " \t\r\n\v\f");
        char word[32];
        char *end = NULL;
        long long v = -1;
        if (len < sizeof word) {
            memcpy(word, p, len);
            word[len] = '\0';
            v = strtoll(word, &end, 10);
        }
        if (end == NULL || end == word || *end != '\0' || v < 0 || v > max_id)
            return t2_error_set(err, "%s: '%.*s' is not a token id; expected an integer in "
                                "[0, %lld]", where, (int)(len < 40 ? len : 40), p,
                                (long long)max_id);
        if (*n == *cap) {
            *cap = *cap ? 2 * *cap : 256;
            *ids = t2_realloc(*ids, (size_t)*cap * sizeof **ids);
        }
        (*ids)[(*n)++] = (int32_t)v;
        p += len;
    }
}

static int run_decode(const t2_tokenizer *tok, const options *opt, int n_args, char **args) {
    t2_error err = {{0}};
    int32_t *ids = NULL;
    int64_t n = 0, cap = 0;
    int rc = 0;
    if (opt->file != NULL) {
        char *text;
        size_t len;
        rc = t2_file_read(opt->file, &text, &len, &err);
        if (rc == 0) {
            rc = parse_ids(tok, text, opt->file, &ids, &n, &cap, &err);
            t2_free(text);
        }
    }
    for (int i = 0; rc == 0 && i < n_args; i++)
        rc = parse_ids(tok, args[i], "--decode", &ids, &n, &cap, &err);
    if (rc != 0) {
        t2_free(ids);
        return t2_cli_fail_error(command, &err);
    }
    size_t len;
    char *text = t2_tokenizer_decode(tok, ids, n, &len);
    fwrite(text, 1, len, stdout);
    t2_free(text);
    t2_free(ids);
    return T2_EXIT_OK;
}

/* Prints ids, space-separated, ending in a newline. */
static void print_ids(const int32_t *ids, int64_t n) {
    for (int64_t i = 0; i < n; i++) printf("%s%d", i ? " " : "", ids[i]);
    putchar('\n');
}

static int run_encode(const t2_tokenizer *tok, const t2_tokenizer_config *tc, const options *opt,
                      const char *arg) {
    t2_error err = {{0}};
    int32_t bos = -1, eos = -1;
    if (!opt->no_special && t2_tokenizer_config_added_ids(tc, tok, &bos, &eos, &err) != 0)
        return t2_cli_fail_error(command, &err);
    int32_t forced = t2_tokenizer_bos_id(tok);
    if (opt->bos && forced < 0)
        fprintf(stderr, "t2 %s: warning: the tokenizer has no BOS token; --bos adds nothing\n",
                command);
    if (opt->bos && forced >= 0) bos = forced;
    char *text = NULL;
    size_t len = 0;
    if (opt->file != NULL && t2_file_read(opt->file, &text, &len, &err) != 0)
        return t2_cli_fail_error(command, &err);
    int32_t *body;
    int64_t n = opt->file ? t2_tokenizer_encode(tok, text, len, &body)
                          : t2_tokenizer_encode(tok, arg, strlen(arg), &body);
    t2_free(text);
    int32_t *ids = t2_alloc_array((size_t)n + 2, sizeof *ids);
    int64_t total = 0;
    if (bos >= 0) ids[total++] = bos;
    for (int64_t i = 0; i < n; i++) ids[total++] = body[i];
    if (eos >= 0) ids[total++] = eos;
    print_ids(ids, total);
    t2_free(body);
    t2_free(ids);
    return T2_EXIT_OK;
}

int t2_cmd_tokenize(int argc, char **argv) {
    options opt;
    int status = T2_EXIT_OK;
    if (parse_options(argc, argv, &opt, &status) != 0) return status;
    char *path = NULL, *config_path = NULL;
    if (opt.model_dir != NULL) {
        path = t2_strdup_printf("%s/tokenizer.json", opt.model_dir);
        config_path = t2_strdup_printf("%s/tokenizer_config.json", opt.model_dir);
    }
    t2_error err = {{0}};
    t2_tokenizer_config tc = {.add_bos_token = -1, .add_eos_token = -1}; /* --tokenizer: none */
    t2_tokenizer *tok = t2_tokenizer_load(path ? path : opt.tokenizer_path, &err);
    int rc = tok != NULL ? 0 : -1;
    if (rc == 0 && config_path != NULL) rc = t2_tokenizer_config_load(&tc, config_path, &err);
    t2_free(path);
    t2_free(config_path);
    if (rc != 0) {
        t2_tokenizer_config_free(&tc);
        t2_tokenizer_free(tok);
        return t2_cli_fail_error(command, &err);
    }
    status = opt.decode ? run_decode(tok, &opt, argc - optind, argv + optind)
                        : run_encode(tok, &tc, &opt, argv[optind]);
    t2_tokenizer_config_free(&tc);
    t2_tokenizer_free(tok);
    if (status == T2_EXIT_OK && (fflush(stdout) != 0 || ferror(stdout)))
        return t2_cli_fail(command, "cannot write to standard output");
    return status;
}
