/* `t2 tokenizer train`: learns a byte-level BPE tokenizer (model/tokenizer_train.h) from the
 * built-in tasks' corpus (the pretraining mix syntax, rl/corpus.h) and/or text files, and
 * writes DIR/tokenizer.json (Hugging Face format: bytes, <|bos|> <|eos|> <|pad|>, the
 * merges) and DIR/tokenizer_config.json, which `t2 new-model --tokenizer DIR` puts into a new
 * model. One process; the same inputs give byte-identical files. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/alloc.h"
#include "base/file.h"
#include "base/progress.h"
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "model/tokenizer.h"
#include "model/tokenizer_train.h"
#include "model/tokenizer_write.h"
#include "rl/corpus.h"

static const char *const special_tokens[] = {"<|bos|>", "<|eos|>", "<|pad|>"};
enum { N_SPECIAL = 3, MAX_TEXTS = 64, PROGRESS_LINES = 20 };

static void print_usage(FILE *out) {
    fprintf(out,
            "usage: t2 tokenizer train --out DIR --vocab-size N [--corpus MIX] [--text FILE ...]\n"
            "                          [options]\n\n"
            "Learns a byte-level BPE tokenizer (GPT-2's pre-tokenizer and merges, as Hugging\n"
            "Face tokenizers trains one) on documents of the built-in tasks and/or text files,\n"
            "and writes DIR/tokenizer.json (256 byte tokens, <|bos|> <|eos|> <|pad|> as ids\n"
            "256-258, then one token per merge) and DIR/tokenizer_config.json (no BOS/EOS\n"
            "added, no chat template). `t2 new-model --tokenizer DIR` builds a model on it.\n\n"
            "  --out DIR             folder to write (created if missing)\n"
            "  --vocab-size N        ids in all: 259 + merges, at most 1048576 (required)\n"
            "  --corpus MIX          built-in tasks, pretraining syntax task[:weight][@level],...\n"
            "                        (e.g. math:3,code:3,reasoning:3,cls:1)\n"
            "  --documents N         documents drawn from the corpus mix (default 100000)\n"
            "  --text FILE           a text file to learn from as a whole (repeatable)\n"
            "  --min-frequency N     a merge's pair must occur this often (default 2)\n"
            "  --seed S              seed of the tasks' generators and of the draw (default 1)\n"
            "  --help                this text\n");
}

typedef struct train_options {
    const char *out, *corpus;
    const char *texts[MAX_TEXTS];
    int n_texts;
    int64_t vocab_size, documents, min_frequency, seed;
} train_options;

static int parse(int argc, char **argv, train_options *o, t2_error *err) {
    enum { OPT_OUT = 256, OPT_VOCAB, OPT_CORPUS, OPT_DOCS, OPT_TEXT, OPT_MIN, OPT_SEED,
           OPT_HELP };
    static const struct option options[] = {
        {"out", required_argument, NULL, OPT_OUT},
        {"vocab-size", required_argument, NULL, OPT_VOCAB},
        {"corpus", required_argument, NULL, OPT_CORPUS},
        {"documents", required_argument, NULL, OPT_DOCS},
        {"text", required_argument, NULL, OPT_TEXT},
        {"min-frequency", required_argument, NULL, OPT_MIN},
        {"seed", required_argument, NULL, OPT_SEED},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0}};
    *o = (train_options){.documents = 100000, .min_frequency = 2, .seed = 1};
    optind = 1;
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        int rc = 0;
        switch (opt) {
        case OPT_OUT: o->out = optarg; break;
        case OPT_CORPUS: o->corpus = optarg; break;
        case OPT_TEXT:
            if (o->n_texts == MAX_TEXTS)
                return t2_error_set(err, "--text: more than %d files; expected fewer", MAX_TEXTS);
            o->texts[o->n_texts++] = optarg;
            break;
        case OPT_VOCAB:
            rc = t2_cli_parse_int("vocab-size", optarg, 256 + N_SPECIAL, 1 << 20, &o->vocab_size,
                                  err);
            break;
        case OPT_DOCS:
            rc = t2_cli_parse_int("documents", optarg, 1, INT64_MAX / 2, &o->documents, err);
            break;
        case OPT_MIN:
            rc = t2_cli_parse_int("min-frequency", optarg, 1, INT64_MAX, &o->min_frequency, err);
            break;
        case OPT_SEED: rc = t2_cli_parse_int("seed", optarg, 0, INT64_MAX, &o->seed, err); break;
        case OPT_HELP: return 1;
        default: return t2_error_set(err, "unknown option '%s'", argv[optind - 1]);
        }
        if (rc != 0) return -1;
    }
    if (optind < argc) return t2_error_set(err, "unexpected argument '%s'", argv[optind]);
    if (o->out == NULL) return t2_error_set(err, "--out DIR is required");
    if (o->vocab_size == 0) return t2_error_set(err, "--vocab-size N is required");
    if (o->corpus == NULL && o->n_texts == 0)
        return t2_error_set(err, "nothing to learn from; expected --corpus MIX and/or --text FILE");
    return 0;
}

/* Counts the pre-tokens of the corpus documents and the text files. */
static int read_inputs(const train_options *o, t2_bpe_trainer *trainer, t2_error *err) {
    for (int i = 0; i < o->n_texts; i++) {
        char *text = NULL;
        size_t len = 0;
        if (t2_file_read(o->texts[i], &text, &len, err) != 0) return -1;
        t2_bpe_trainer_add(trainer, text, len);
        t2_free(text);
    }
    if (o->corpus == NULL) return 0;
    t2_corpus corpus;
    if (t2_corpus_init(&corpus, o->corpus, (uint64_t)o->seed, NULL, -1, err) != 0) return -1;
    for (int64_t d = 0; d < o->documents; d++) {
        size_t len = 0;
        char *text = t2_corpus_document(&corpus, T2_TASK_SPLIT_TRAIN, d, &len);
        t2_bpe_trainer_add(trainer, text, len);
        t2_free(text);
    }
    t2_corpus_free(&corpus);
    return 0;
}

typedef struct progress_ctx {
    t2_progress bar;
    int64_t every;
} progress_ctx;

static void on_merge(void *ctx, int64_t done, int64_t of) {
    progress_ctx *p = ctx;
    if (done % p->every == 0 || done == of) t2_progress_update(&p->bar, done, NULL);
}

/* The ids the tokenizer encodes the inputs' first documents to, against their bytes. */
static void report(const train_options *o, const char *path, int64_t n_merges,
                   const t2_bpe_trainer *trainer) {
    t2_error err = {{0}};
    t2_tokenizer *tok = t2_tokenizer_load(path, &err);
    if (tok == NULL) return;
    t2_corpus corpus;
    int64_t bytes = 0, ids = 0;
    if (o->corpus != NULL &&
        t2_corpus_init(&corpus, o->corpus, (uint64_t)o->seed, NULL, -1, &err) == 0) {
        for (int64_t d = 0; d < 1000 && d < o->documents; d++) {
            size_t len = 0;
            char *text = t2_corpus_document(&corpus, T2_TASK_SPLIT_TEST, d, &len);
            int32_t *out = NULL;
            ids += t2_tokenizer_encode(tok, text, len, &out);
            bytes += (int64_t)len;
            t2_free(out);
            t2_free(text);
        }
        t2_corpus_free(&corpus);
    }
    fprintf(stderr, "t2 tokenizer train: wrote %s: %lld merges, %lld ids (%lld distinct "
            "pre-tokens of %lld)", path, (long long)n_merges,
            (long long)(256 + N_SPECIAL + n_merges), (long long)t2_bpe_trainer_distinct(trainer),
            (long long)t2_bpe_trainer_occurrences(trainer));
    if (ids > 0)
        fprintf(stderr, "; %.2f bytes per token on 1000 test documents of the mix",
                (double)bytes / (double)ids);
    fprintf(stderr, "\n");
    t2_tokenizer_free(tok);
}

static int train(int argc, char **argv) {
    const char *cmd = "tokenizer train";
    train_options o;
    t2_error err = {{0}};
    int rc = parse(argc, argv, &o, &err);
    if (rc == 1) {
        print_usage(stdout);
        return T2_EXIT_OK;
    }
    if (rc != 0) return t2_cli_usage(cmd, "%s", err.msg);
    if (mkdir(o.out, 0777) != 0) {
        struct stat st;
        if (stat(o.out, &st) != 0 || !S_ISDIR(st.st_mode))
            return t2_cli_fail(cmd, "%s: cannot create the folder; expected a writable path",
                               o.out);
    }
    t2_bpe_trainer *trainer = t2_bpe_trainer_new();
    if (read_inputs(&o, trainer, &err) != 0) {
        t2_bpe_trainer_free(trainer);
        return t2_cli_fail_error(cmd, &err);
    }
    int64_t want = o.vocab_size - 256 - N_SPECIAL;
    progress_ctx p = {.every = want / PROGRESS_LINES > 0 ? want / PROGRESS_LINES : 1};
    t2_progress_init(&p.bar, "tokenizer", want);
    t2_bpe_merge *merges = NULL;
    int64_t n = t2_bpe_trainer_train(trainer, want, o.min_frequency, 256 + N_SPECIAL, &merges,
                                     on_merge, &p);
    t2_progress_finish(&p.bar);
    char *path = t2_strdup_printf("%s/tokenizer.json", o.out);
    char *config = t2_strdup_printf("%s/tokenizer_config.json", o.out);
    int status = t2_tokenizer_write_bpe(path, special_tokens, N_SPECIAL, merges, n, &err);
    if (status == 0)
        status = t2_tokenizer_write_config(config, special_tokens[0], special_tokens[1], &err);
    if (status == 0) report(&o, path, n, trainer);
    t2_free(merges);
    t2_free(path);
    t2_free(config);
    t2_bpe_trainer_free(trainer);
    return status == 0 ? T2_EXIT_OK : t2_cli_fail_error(cmd, &err);
}

int t2_cmd_tokenizer(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "train") == 0) return train(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "--help") == 0) {
        print_usage(stdout);
        return T2_EXIT_OK;
    }
    return t2_cli_usage("tokenizer", "expected the subcommand train (t2 tokenizer train --help)");
}
