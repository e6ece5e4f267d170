/* GPT-2's real tokenizer.json against the 46 test strings and ids llama.cpp ships
 * (models/ggml-vocab-gpt-2.gguf.inp / .out, made with Hugging Face's tokenizer), from
 * $T2_SHARED_DATA/tokenizers/gpt2. The .inp file is the cases, each followed by
 * "\n__ggml_vocab_test__\n"; the .out file has one line of space-separated ids per case.
 * Every case must give exactly those ids and decode back to its bytes. Skipped (exit 77)
 * when the folder is absent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/file.h"
#include "check.h"
#include "model/tokenizer.h"

static const char separator[] = "\n__ggml_vocab_test__\n";

static char *data_path(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *path = t2_alloc(n);
    snprintf(path, n, "%s/%s", dir, name);
    return path;
}

/* Parses one line of ids; returns the count. */
static int64_t parse_ids(const char *line, size_t len, int32_t *ids, int64_t cap) {
    int64_t n = 0;
    char *copy = t2_strndup(line, len), *p = copy, *end;
    for (;;) {
        long v = strtol(p, &end, 10);
        if (end == p) break;
        if (n < cap) ids[n] = (int32_t)v;
        n++;
        p = end;
    }
    t2_free(copy);
    return n;
}

static void check_cases(const t2_tokenizer *tok, const char *inp, size_t inp_len, const char *out) {
    int32_t want[512];
    const char *text = inp, *inp_end = inp + inp_len, *line = out;
    int n_cases = 0;
    while (text < inp_end) {
        const char *sep = strstr(text, separator);
        CHECK(sep != NULL, "case %d is not followed by the separator", n_cases);
        if (sep == NULL) break;
        const char *eol = strchr(line, '\n');
        CHECK(eol != NULL, "the .out file has no line for case %d", n_cases);
        if (eol == NULL) break;
        int64_t n_want = parse_ids(line, (size_t)(eol - line), want, 512);
        size_t len = (size_t)(sep - text);
        int32_t *ids;
        int64_t n = t2_tokenizer_encode(tok, text, len, &ids);
        int64_t same = 0;
        while (same < n && same < n_want && ids[same] == want[same]) same++;
        CHECK(same == n && n == n_want,
              "case %d ('%.*s'): got %lld ids, want %lld; they differ from id %lld on", n_cases,
              (int)(len < 40 ? len : 40), text, (long long)n, (long long)n_want, (long long)same);
        size_t back_len;
        char *back = t2_tokenizer_decode(tok, ids, n, &back_len);
        CHECK(back_len == len && memcmp(back, text, len) == 0, "case %d does not decode back",
              n_cases);
        t2_free(back);
        t2_free(ids);
        text = sep + strlen(separator);
        line = eol + 1;
        n_cases++;
    }
    CHECK(n_cases == 46, "read %d cases; expected 46", n_cases);
    CHECK(*line == '\0', "the .out file has more lines than cases");
    fprintf(stderr, "ok   %d GPT-2 cases\n", n_cases);
}

int main(void) {
    const char *shared = getenv("T2_SHARED_DATA");
    char *dir = data_path(shared ? shared : "../shared/data", "tokenizers/gpt2");
    char *json = data_path(dir, "tokenizer.json");
    char *inp_path = data_path(dir, "ggml-vocab-gpt-2.gguf.inp");
    char *out_path = data_path(dir, "ggml-vocab-gpt-2.gguf.out");
    char *inp = NULL, *out = NULL;
    size_t inp_len, out_len;
    t2_error err = {{0}};
    if (t2_file_read(inp_path, &inp, &inp_len, &err) != 0 ||
        t2_file_read(out_path, &out, &out_len, &err) != 0) {
        fprintf(stderr, "skipped: GPT-2 test vectors not found (%s)\n", err.msg);
        t2_free(inp);
        t2_free(dir);
        t2_free(json);
        t2_free(inp_path);
        t2_free(out_path);
        return 77;
    }
    t2_tokenizer *tok = t2_tokenizer_load(json, &err);
    CHECK(tok != NULL, "%s", err.msg);
    if (tok != NULL) {
        CHECK(t2_tokenizer_vocab_size(tok) == 50257, "vocab size %lld",
              (long long)t2_tokenizer_vocab_size(tok));
        CHECK(t2_tokenizer_bos_id(tok) == -1, "GPT-2 has no BOS; got %d", t2_tokenizer_bos_id(tok));
        CHECK(t2_tokenizer_token_id(tok, "<|endoftext|>") == 50256, "<|endoftext|> id");
        check_cases(tok, inp, inp_len, out);
        t2_tokenizer_free(tok);
    }
    t2_free(inp);
    t2_free(out);
    t2_free(dir);
    t2_free(json);
    t2_free(inp_path);
    t2_free(out_path);
    return t2_check_exit_code();
}
