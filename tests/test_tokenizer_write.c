/* t2_tokenizer_write_byte_level: the written tokenizer.json loads back, has ids 0..255 for
 * the bytes and 256.. for the special tokens, round-trips any bytes one id per byte, is the
 * same bytes every time, and bad special tokens fail without leaving a file. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/file.h"
#include "base/rng.h"
#include "check.h"
#include "model/tokenizer.h"
#include "model/tokenizer_write.h"

static const char *const specials[] = {"<|bos|>", "<|eos|>", "<|pad|>"};

static void test_round_trip(const char *path) {
    t2_error err = {{0}};
    t2_tokenizer *tok = t2_tokenizer_load(path, &err);
    CHECK(tok != NULL, "%s", err.msg);
    if (tok == NULL) return;
    CHECK(t2_tokenizer_vocab_size(tok) == 259, "vocab size %lld",
          (long long)t2_tokenizer_vocab_size(tok));
    CHECK(t2_tokenizer_bos_id(tok) == 256, "BOS %d", t2_tokenizer_bos_id(tok));
    CHECK(t2_tokenizer_token_id(tok, "<|eos|>") == 257, "<|eos|> id");
    CHECK(t2_tokenizer_token_id(tok, "\xc4\xa0") == 32, "Ġ (space) id");
    int32_t *ids;
    int64_t n = t2_tokenizer_encode(tok, "a<|eos|>\xff", 9, &ids);
    CHECK(n == 3 && ids[0] == 'a' && ids[1] == 257 && ids[2] == 255, "a<|eos|>\\xff -> %lld ids",
          (long long)n);
    t2_free(ids);
    /* every byte value is its own id, in any order */
    t2_rng rng;
    t2_rng_init(&rng, 3);
    char buf[2048];
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = (char)(i < 256 ? i : t2_rng_next(&rng));
    n = t2_tokenizer_encode(tok, buf, sizeof buf, &ids);
    int same = n == (int64_t)sizeof buf;
    for (int64_t i = 0; same && i < n; i++) same = ids[i] == (unsigned char)buf[i];
    CHECK(same, "random bytes: %lld ids for %zu bytes, or an id differs", (long long)n, sizeof buf);
    size_t len;
    char *back = t2_tokenizer_decode(tok, ids, n, &len);
    CHECK(len == sizeof buf && memcmp(back, buf, len) == 0, "random bytes do not decode back");
    t2_free(back);
    t2_free(ids);
    t2_tokenizer_free(tok);
}

static void test_bad_specials(const char *dir) {
    char path[512];
    snprintf(path, sizeof path, "%s/bad.json", dir);
    static const char *const empty[] = {"<|bos|>", ""};
    static const char *const repeated[] = {"<|a|>", "<|b|>", "<|a|>"};
    static const char *const not_utf8[] = {"<|\xff|>"};
    const char *const *lists[] = {empty, repeated, not_utf8};
    const int counts[] = {2, 3, 1};
    const char *why[] = {"is empty", "is repeated", "is not UTF-8"};
    for (int i = 0; i < 3; i++) {
        t2_error err = {{0}};
        CHECK(t2_tokenizer_write_byte_level(path, lists[i], counts[i], &err) != 0 &&
                  strstr(err.msg, path) == err.msg && strstr(err.msg, why[i]) != NULL,
              "bad special list %d: '%s'", i, err.msg);
        CHECK(access(path, F_OK) != 0, "a failed write left %s", path);
    }
    t2_error err = {{0}};
    CHECK(t2_tokenizer_write_byte_level("/nonexistent-dir/t.json", specials, 3, &err) != 0 &&
              strstr(err.msg, "/nonexistent-dir/t.json: cannot write") != NULL,
          "unwritable path: '%s'", err.msg);
}

int main(void) {
    char *dir = t2_check_temp_dir("tokenizer-write");
    char a[512], b[512];
    snprintf(a, sizeof a, "%s/a.json", dir);
    snprintf(b, sizeof b, "%s/b.json", dir);
    t2_error err = {{0}};
    CHECK(t2_tokenizer_write_byte_level(a, specials, 3, &err) == 0, "%s", err.msg);
    CHECK(t2_tokenizer_write_byte_level(b, specials, 3, &err) == 0, "%s", err.msg);
    test_round_trip(a);
    char *text_a = NULL, *text_b = NULL;
    size_t len_a = 0, len_b = 0;
    CHECK(t2_file_read(a, &text_a, &len_a, &err) == 0 &&
              t2_file_read(b, &text_b, &len_b, &err) == 0,
          "%s", err.msg);
    CHECK(text_a && text_b && len_a == len_b && memcmp(text_a, text_b, len_a) == 0,
          "two writes differ");
    CHECK(text_a && strstr(text_a, "\"merges\": []") != NULL, "no empty merge list in the file");
    t2_free(text_a);
    t2_free(text_b);
    test_bad_specials(dir);
    unlink(a);
    unlink(b);
    rmdir(dir);
    t2_free(dir);
    return t2_check_exit_code();
}
