/* The byte-level BPE trainer (model/tokenizer_train.h) and the tokenizer.json it is written
 * to (model/tokenizer_write.h t2_tokenizer_write_bpe):
 *   - on tests/reference/bpe/corpus.txt the merges equal those of the plain Python trainer
 *     tests/reference/bpe_reference.py (every round recounted from scratch), in order;
 *   - written and loaded back (t2_tokenizer_load), the tokenizer encodes the corpus's first
 *     lines to the ids that reference's rank-order BPE encoder gives, decodes the whole
 *     corpus back byte for byte, in fewer ids than bytes, and keeps the special tokens at
 *     256..258;
 *   - min_frequency stops training, max_merges bounds it, a second run gives the same merges,
 *     and non-ASCII text (pre-tokens of multi-byte characters) round-trips. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/file.h"
#include "check.h"
#include "model/tokenizer.h"
#include "model/tokenizer_train.h"
#include "model/tokenizer_write.h"

enum { MERGES = 300, FIRST_ID = 259 };
static const char *const specials[] = {"<|bos|>", "<|eos|>", "<|pad|>"};

static char *read_reference(const char *name, size_t *len) {
    char *path = t2_check_source_path(name);
    char *text = NULL;
    t2_error err = {{0}};
    CHECK(t2_file_read(path, &text, len, &err) == 0, "%s", err.msg);
    t2_free(path);
    return text;
}

static int64_t train(const char *text, size_t len, int64_t max_merges, int64_t min_frequency,
                     t2_bpe_merge **merges) {
    t2_bpe_trainer *t = t2_bpe_trainer_new();
    t2_bpe_trainer_add(t, text, len);
    int64_t n = t2_bpe_trainer_train(t, max_merges, min_frequency, FIRST_ID, merges, NULL, NULL);
    t2_bpe_trainer_free(t);
    return n;
}

static void test_merges_match_reference(const char *corpus, size_t len, t2_bpe_merge **out,
                                        int64_t *n_out) {
    size_t want_len = 0;
    char *want = read_reference("tests/reference/bpe/merges.txt", &want_len);
    t2_bpe_merge *merges = NULL;
    int64_t n = train(corpus, len, MERGES, 2, &merges);
    int64_t lines = 0, mismatch = -1;
    char *save = NULL;
    for (char *line = strtok_r(want, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save), lines++) {
        int a, b;
        CHECK(sscanf(line, "%d %d", &a, &b) == 2, "merges.txt line %lld: '%s'", (long long)lines,
              line);
        if (mismatch < 0 && (lines >= n || merges[lines].left != a || merges[lines].right != b))
            mismatch = lines;
    }
    CHECK(n == lines && mismatch < 0, "%lld merges, the reference %lld; first difference at "
          "merge %lld", (long long)n, (long long)lines, (long long)mismatch);
    t2_free(want);
    *out = merges;
    *n_out = n;
}

static t2_tokenizer *write_and_load(const char *dir, const t2_bpe_merge *merges, int64_t n) {
    char *path = t2_strdup_printf("%s/tokenizer.json", dir);
    t2_error err = {{0}};
    CHECK(t2_tokenizer_write_bpe(path, specials, 3, merges, n, &err) == 0, "%s", err.msg);
    t2_tokenizer *tok = t2_tokenizer_load(path, &err);
    CHECK(tok != NULL, "load: %s", err.msg);
    t2_free(path);
    return tok;
}

/* The first five lines of the corpus against the reference's ids, line by line. */
static void test_encode(t2_tokenizer *tok, const char *corpus, size_t len) {
    size_t enc_len = 0;
    char *encoded = read_reference("tests/reference/bpe/encoded.txt", &enc_len);
    const char *line = corpus, *want = encoded;
    for (int k = 0; k < 5; k++) {
        const char *end = strchr(line, '\n'), *want_end = strchr(want, '\n');
        CHECK(end != NULL && want_end != NULL, "line %d: missing", k);
        if (end == NULL || want_end == NULL) break;
        int32_t *ids = NULL;
        int64_t got = t2_tokenizer_encode(tok, line, (size_t)(end - line), &ids);
        char text[4096] = "";
        size_t at = 0;
        for (int64_t i = 0; i < got && at + 16 < sizeof text; i++)
            at += (size_t)snprintf(text + at, sizeof text - at, "%s%d", i ? " " : "", ids[i]);
        CHECK(strlen(text) == (size_t)(want_end - want) &&
                  memcmp(text, want, (size_t)(want_end - want)) == 0,
              "line %d: ids '%s'; the reference '%.*s'", k, text, (int)(want_end - want), want);
        t2_free(ids);
        line = end + 1;
        want = want_end + 1;
    }
    t2_free(encoded);

    int32_t *ids = NULL;
    int64_t n_ids = t2_tokenizer_encode(tok, corpus, len, &ids);
    size_t back_len = 0;
    char *back = t2_tokenizer_decode(tok, ids, n_ids, &back_len);
    CHECK(back_len == len && memcmp(back, corpus, len) == 0, "the corpus does not decode back");
    CHECK(n_ids * 2 < (int64_t)len, "%lld ids for %zu bytes; expected fewer than half",
          (long long)n_ids, len);
    t2_free(ids);
    t2_free(back);
    const char *marked = "<|bos|>Question:<|eos|>";
    n_ids = t2_tokenizer_encode(tok, marked, strlen(marked), &ids);
    CHECK(n_ids >= 3 && ids[0] == 256 && ids[n_ids - 1] == 257,
          "special tokens: %lld ids, first %d, last %d; expected 256 ... 257", (long long)n_ids,
          n_ids > 0 ? ids[0] : -1, n_ids > 0 ? ids[n_ids - 1] : -1);
    t2_free(ids);
}

static void test_limits(const char *corpus, size_t len, const t2_bpe_merge *first, int64_t n) {
    t2_bpe_merge *merges = NULL;
    CHECK(train(corpus, len, 10, 2, &merges) == 10 &&
              memcmp(merges, first, 10 * sizeof *merges) == 0,
          "max_merges 10: not the first 10 merges");
    t2_free(merges);
    CHECK(train(corpus, len, MERGES, 1000000, &merges) == 0, "min_frequency 1e6: merges made");
    t2_free(merges);
    CHECK(train(corpus, len, MERGES, 2, &merges) == n &&
              memcmp(merges, first, (size_t)n * sizeof *merges) == 0,
          "a second run differs");
    t2_free(merges);
}

static void test_unicode(const char *dir) {
    const char *text = "naïve café naïve café über straße 東京 東京 東京 ünïcödé ünïcödé";
    t2_bpe_merge *merges = NULL;
    int64_t n = train(text, strlen(text), 50, 2, &merges);
    CHECK(n > 0, "no merges on repeated non-ASCII words");
    t2_tokenizer *tok = write_and_load(dir, merges, n);
    int32_t *ids = NULL;
    int64_t n_ids = t2_tokenizer_encode(tok, text, strlen(text), &ids);
    size_t back_len = 0;
    char *back = t2_tokenizer_decode(tok, ids, n_ids, &back_len);
    CHECK(back_len == strlen(text) && memcmp(back, text, back_len) == 0 &&
              n_ids < (int64_t)strlen(text),
          "non-ASCII text: %lld ids, decodes to '%.*s'", (long long)n_ids, (int)back_len, back);
    t2_free(ids);
    t2_free(back);
    t2_tokenizer_free(tok);
    t2_free(merges);
}

int main(void) {
    size_t len = 0;
    char *corpus = read_reference("tests/reference/bpe/corpus.txt", &len);
    char *dir = t2_check_temp_dir("bpe");
    t2_bpe_merge *merges = NULL;
    int64_t n = 0;
    test_merges_match_reference(corpus, len, &merges, &n);
    t2_tokenizer *tok = write_and_load(dir, merges, n);
    test_encode(tok, corpus, len);
    test_limits(corpus, len, merges, n);
    test_unicode(dir);
    t2_tokenizer_free(tok);
    t2_free(merges);
    t2_free(corpus);
    char *path = t2_strdup_printf("%s/tokenizer.json", dir);
    unlink(path);
    rmdir(dir);
    t2_free(path);
    t2_free(dir);
    return t2_check_exit_code();
}
