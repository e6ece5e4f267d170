/* Tokenizer unit tests on the hand-built fixtures in tests/data/tokenizers/. Every expected
 * id below is worked out by hand from the fixture's vocabulary and merge ranks; the comments
 * say how. Byte-level fixtures give each byte the id equal to its value (ids 0..255).
 *   bytelevel/      GPT-2 style: old format without model.type, "a b" merges, ByteLevel
 *                   pre-tokenizer (GPT-2 regex). Merges by rank: 256 Ġt, 257 he, 258 Ġthe,
 *                   259 ll, 260 hell, 261 hello, 262 el. Added: 263 <|endoftext|>,
 *                   264 <|end|>, 265 "hello world" (not special).
 *   llama3/         Split(Llama 3 regex) + ByteLevel(use_regex false), [a, b] merges,
 *                   ignore_merges. 256 Ġt, 257 he, 258 Ġthe, 259 12, 260 123; 261 Ġworld is
 *                   in the vocabulary but no merge builds it. Added 300-302, BOS 300.
 *   sentencepiece/  Llama 2 style: Prepend("▁") + Replace(" ", "▁"), byte fallback.
 *                   0 <unk> 1 <s> 2 </s>, 3 + b = <0xb>, 259 ▁ 260 h 261 e 262 l 263 o
 *                   264 w 265 r 266 d; merges 267 ll, 268 ▁h, 269 ell, 270 ▁hell, 271 ▁hello,
 *                   272 ▁w, 273 or, 274 ▁wor, 275 ▁worl, 276 ▁world.
 *   metaspace/      Metaspace(prepend_scheme first, split), no byte fallback, fuse_unk:
 *                   0 <unk> 1 <s> 2 </s> 3 ▁ 4 h 5 e 6 l 7 o 8 w 9 r 10 d, the same merges
 *                   as ids 11 ll ... 20 ▁world.
 *   qwen2/          NFC normalizer, Split(Qwen2 regex: single digits) + ByteLevel. Merges
 *                   256 12, 257 é (c3 a9 = "Ã©"). Added: 258 <|endoftext|>, 259 <|im_start|>,
 *                   260 <|im_end|>, and 261 <|sep|> with lstrip and rstrip. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/file.h"
#include "base/rng.h"
#include "check.h"
#include "model/tokenizer.h"

static t2_tokenizer *load_fixture(const char *name) {
    char rel[256];
    snprintf(rel, sizeof rel, "tests/data/tokenizers/%s/tokenizer.json", name);
    char *path = t2_check_source_path(rel);
    t2_error err = {{0}};
    t2_tokenizer *tok = t2_tokenizer_load(path, &err);
    CHECK(tok != NULL, "loading %s: %s", name, err.msg);
    t2_free(path);
    return tok;
}

/* Encodes text and compares with want[n_want]; prints both on a mismatch. */
static void check_ids_n(const t2_tokenizer *tok, const char *what, const char *text, size_t len,
                        const int32_t *want, int64_t n_want) {
    int32_t *ids;
    int64_t n = t2_tokenizer_encode(tok, text, len, &ids);
    int same = n == n_want;
    for (int64_t i = 0; same && i < n; i++) same = ids[i] == want[i];
    if (!same) {
        char got_s[512] = "", want_s[512] = "";
        for (int64_t i = 0; i < n && strlen(got_s) < 480; i++)
            snprintf(got_s + strlen(got_s), sizeof got_s - strlen(got_s), " %d", ids[i]);
        for (int64_t i = 0; i < n_want && strlen(want_s) < 480; i++)
            snprintf(want_s + strlen(want_s), sizeof want_s - strlen(want_s), " %d", want[i]);
        CHECK(same, "%s: got [%s ] want [%s ]", what, got_s, want_s);
    }
    t2_free(ids);
}

static void check_ids(const t2_tokenizer *tok, const char *text, const int32_t *want, int64_t n) {
    check_ids_n(tok, text, text, strlen(text), want, n);
}

static void check_decode(const t2_tokenizer *tok, const int32_t *ids, int64_t n,
                         const char *want) {
    size_t len;
    char *got = t2_tokenizer_decode(tok, ids, n, &len);
    CHECK(len == strlen(want) && memcmp(got, want, len) == 0, "decode: got '%s' want '%s'", got,
          want);
    t2_free(got);
}

/* decode(encode(text)) must give text back, byte for byte. */
static void check_round_trip(const t2_tokenizer *tok, const char *what, const char *text,
                             size_t len) {
    int32_t *ids;
    int64_t n = t2_tokenizer_encode(tok, text, len, &ids);
    size_t back_len;
    char *back = t2_tokenizer_decode(tok, ids, n, &back_len);
    size_t i = 0;
    while (i < len && i < back_len && back[i] == text[i]) i++;
    CHECK(back_len == len && i == len, "%s: round trip differs at byte %zu of %zu (got %zu bytes)",
          what, i, len, back_len);
    t2_free(back);
    t2_free(ids);
}

static const char *const round_trip_texts[] = {
    "Hello, world! It's 2024: 123 4567 89.5%",
    "日本語のテキスト、中文字符。한국어 텍스트",
    "emoji 😀👍🏽 🇫🇷 ❤️ family 👨‍👩‍👧 🦙.cpp",
    "combining: e\xcc\x81 a\xcc\x80 n\xcc\x83 Z\xcd\x91\xcd\x98 \xcc\x81 at start",
    "  \t\t\n\n  \r\n   x  \t  \n\n\n",
    "\xff\xfe abc \xc3\x28 \xe2\x82 \xf0\x9f\x98 end\x80 \xed\xa0\x80 \xc0\xaf",
    "<|endoftext|><|end|> hello world <s></s> <|begin_of_text|>",
    " leading space, trailing space ",
    "",
};

static void round_trips(const t2_tokenizer *tok, const char *name, int random_bytes) {
    for (size_t i = 0; i < sizeof round_trip_texts / sizeof round_trip_texts[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "%s text %zu", name, i);
        check_round_trip(tok, what, round_trip_texts[i], strlen(round_trip_texts[i]));
    }
    check_round_trip(tok, "embedded NUL", "a\0b", 3);
    if (!random_bytes) return;
    /* Random bytes, seeded. 0xe2 is left out: a literal "▁" (e2 96 81) in the input means a
     * space to a SentencePiece tokenizer, in Hugging Face as here. */
    t2_rng rng;
    t2_rng_init(&rng, 7);
    char buf[4096];
    for (int rep = 0; rep < 20; rep++) {
        size_t len = 1 + t2_rng_next(&rng) % sizeof buf;
        for (size_t k = 0; k < len; k++) {
            buf[k] = (char)(t2_rng_next(&rng) & 0xff);
            if ((unsigned char)buf[k] == 0xe2) buf[k] = ' ';
        }
        char what[64];
        snprintf(what, sizeof what, "%s random bytes %d", name, rep);
        check_round_trip(tok, what, buf, len);
    }
}

static void test_bytelevel(void) {
    t2_tokenizer *tok = load_fixture("bytelevel");
    if (tok == NULL) return;
    /* "hello" -> h e l l o: (h,e) rank 1 first -> he l l o; (l,l) rank 3 -> he ll o; (he,ll)
     * rank 4 -> hell o; rank 5 -> hello. " the" -> Ġ t h e: (Ġ,t) rank 0, (h,e) rank 1, then
     * (Ġt,he) rank 2 -> Ġthe. */
    check_ids(tok, "hello the", (const int32_t[]){261, 258}, 2);
    /* merges go by rank, not left to right: (l,l) rank 3 beats (e,l) rank 6 -> e ll */
    check_ids(tok, "ell", (const int32_t[]){101, 259}, 2);
    /* equal ranks: the leftmost pair first -> ll l */
    check_ids(tok, "lll", (const int32_t[]){259, 108}, 2);
    /* GPT-2 regex: "it" "'s" " 42" "!"; no merges apply, so the byte values */
    check_ids(tok, "it's 42!", (const int32_t[]){105, 116, 39, 115, 32, 52, 50, 33}, 8);
    /* "   hello": \s+(?!\S) takes two spaces, the third joins " hello" -> Ġ hello */
    check_ids(tok, "   hello", (const int32_t[]){32, 32, 32, 261}, 4);
    check_ids(tok, "\t\n", (const int32_t[]){9, 10}, 2);
    /* added tokens are cut out first and kept whole; the longest wins at one position */
    check_ids(tok, "hello<|endoftext|> the<|end|>", (const int32_t[]){261, 263, 258, 264}, 4);
    check_ids(tok, "<|endoftext|>", (const int32_t[]){263}, 1);
    /* a non-special added token too: "say " -> "say" + " " (\s+ at the segment's end) */
    check_ids(tok, "say hello world!", (const int32_t[]){115, 97, 121, 32, 265, 33}, 6);
    check_ids(tok, "", NULL, 0);
    check_decode(tok, (const int32_t[]){261, 263, 258}, 3, "hello<|endoftext|> the");
    check_decode(tok, (const int32_t[]){261, -5, 99999, 258}, 4, "hello the"); /* unknown ids */
    CHECK(t2_tokenizer_vocab_size(tok) == 266, "vocab size %lld",
          (long long)t2_tokenizer_vocab_size(tok));
    CHECK(t2_tokenizer_token_id(tok, "\xc4\xa0the") == 258, "token_id(Ġthe)");
    CHECK(t2_tokenizer_token_id(tok, "<|end|>") == 264, "token_id(<|end|>)");
    CHECK(t2_tokenizer_token_id(tok, "nope") == -1, "token_id(nope)");
    CHECK(t2_tokenizer_bos_id(tok) == -1, "no BOS expected, got %d", t2_tokenizer_bos_id(tok));
    size_t len = 0;
    const char *bytes = t2_tokenizer_token_bytes(tok, 258, &len);
    CHECK(bytes != NULL && len == 4 && memcmp(bytes, " the", 4) == 0, "token_bytes(258)");
    CHECK(t2_tokenizer_token_bytes(tok, 266, &len) == NULL, "token_bytes(266) is no token");
    round_trips(tok, "bytelevel", 1);
    t2_tokenizer_free(tok);
}

static void test_llama3(void) {
    t2_tokenizer *tok = load_fixture("llama3");
    if (tok == NULL) return;
    /* "hello": only (h,e) merges (no ll here) -> he l l o. " world": ignore_merges finds the
     * whole pre-token Ġworld in the vocabulary (no merge path builds it). */
    check_ids(tok, "hello world", (const int32_t[]){257, 108, 108, 111, 261}, 5);
    /* Llama 3's \p{N}{1,3}: "1123" -> "112" "3"; 112 -> 1 12. (The GPT-2 regex would keep
     * "1123" whole and merge it to 1 123.) */
    check_ids(tok, "1123", (const int32_t[]){49, 259, 51}, 3);
    /* "12345" -> "123" (in the vocabulary) "45" */
    check_ids(tok, "12345", (const int32_t[]){260, 52, 53}, 3);
    /* case-insensitive contraction "'M"; " \n\nb": \s*[\r\n]+ takes " \n\n" */
    check_ids(tok, "I'M \n\nb", (const int32_t[]){73, 39, 77, 32, 10, 10, 98}, 7);
    check_ids(tok, "<|begin_of_text|>hello<|eot_id|>",
              (const int32_t[]){300, 257, 108, 108, 111, 302}, 6);
    CHECK(t2_tokenizer_bos_id(tok) == 300, "BOS %d, expected 300 from TemplateProcessing",
          t2_tokenizer_bos_id(tok));
    CHECK(t2_tokenizer_vocab_size(tok) == 303, "vocab size");
    check_decode(tok, (const int32_t[]){300, 257, 108, 108, 111, 261}, 6,
                 "<|begin_of_text|>hello world");
    round_trips(tok, "llama3", 1);
    t2_tokenizer_free(tok);
}

static void test_sentencepiece(void) {
    t2_tokenizer *tok = load_fixture("sentencepiece");
    if (tok == NULL) return;
    /* "hello world" -> "▁hello▁world", one word (no pre-tokenizer): (l,l) rank 0, (▁,h) 1,
     * (e,ll) 2, (▁h,ell) 3, (▁hell,o) 4 -> ▁hello; (▁,w) 5, (o,r) 6, 7, 8, 9 -> ▁world */
    check_ids(tok, "hello world", (const int32_t[]){271, 276}, 2);
    /* 'i' is not in the vocabulary: byte fallback <0x69> = 3 + 0x69 */
    check_ids(tok, "hi", (const int32_t[]){268, 108}, 2);
    /* 😀 = f0 9f 98 80 -> four byte tokens after ▁ */
    check_ids(tok, "\xf0\x9f\x98\x80",
              (const int32_t[]){259, 3 + 0xf0, 3 + 0x9f, 3 + 0x98, 3 + 0x80}, 5);
    /* every segment between added tokens gets its own "▁" (Prepend normalizer) */
    check_ids(tok, "<s>hello", (const int32_t[]){1, 271}, 2);
    check_ids(tok, "hello</s>", (const int32_t[]){271, 2}, 2);
    /* a leading space stays: "▁▁hello" */
    check_ids(tok, " hello", (const int32_t[]){259, 271}, 2);
    /* decode drops exactly the prepended space of each segment */
    check_decode(tok, (const int32_t[]){1, 271}, 2, "<s>hello");
    check_decode(tok, (const int32_t[]){259, 271}, 2, " hello");
    check_decode(tok, (const int32_t[]){271, 276, 2}, 3, "hello world</s>");
    CHECK(t2_tokenizer_bos_id(tok) == 1, "BOS %d, expected 1", t2_tokenizer_bos_id(tok));
    size_t len = 0;
    const char *bytes = t2_tokenizer_token_bytes(tok, 3 + 0x0a, &len);
    CHECK(bytes != NULL && len == 1 && bytes[0] == '\n', "token_bytes(<0x0A>)");
    bytes = t2_tokenizer_token_bytes(tok, 276, &len);
    CHECK(bytes != NULL && len == 6 && memcmp(bytes, " world", 6) == 0, "token_bytes(▁world)");
    round_trips(tok, "sentencepiece", 1);
    /* Not quadratic: one 200,000-character word (no pre-tokenizer) -> ▁ then 100,000 × ll */
    size_t n = 200000;
    char *text = t2_alloc(n);
    memset(text, 'l', n);
    int32_t *want = t2_alloc((n / 2 + 1) * sizeof *want);
    want[0] = 259;
    for (size_t i = 1; i <= n / 2; i++) want[i] = 267;
    check_ids_n(tok, "200,000 l", text, n, want, (int64_t)(n / 2 + 1));
    t2_free(want);
    t2_free(text);
    t2_tokenizer_free(tok);
}

static void test_metaspace(void) {
    t2_tokenizer *tok = load_fixture("metaspace");
    if (tok == NULL) return;
    /* "▁hello▁world" split before each ▁ -> ▁hello ▁world */
    check_ids(tok, "hello world", (const int32_t[]){15, 20}, 2);
    /* no byte fallback: i, y, u are <unk>; "▁hi" -> ▁h <unk>; "▁you" -> ▁ <unk> o <unk> */
    check_ids(tok, "hi you", (const int32_t[]){12, 0, 3, 0, 7, 0}, 6);
    /* fuse_unk: x y z are one <unk> */
    check_ids(tok, "xyz", (const int32_t[]){3, 0}, 2);
    /* prepend_scheme "first": no ▁ after an added token -> h ell o */
    check_ids(tok, "<s>hello", (const int32_t[]){1, 4, 13, 7}, 4);
    /* a text already starting with a space gets no second ▁ */
    check_ids(tok, " hello", (const int32_t[]){15}, 1);
    check_decode(tok, (const int32_t[]){15, 20}, 2, "hello world");
    check_decode(tok, (const int32_t[]){1, 4, 13, 7}, 4, "<s>hello");
    CHECK(t2_tokenizer_bos_id(tok) == 1, "BOS %d, expected 1 (<s>, no post-processor)",
          t2_tokenizer_bos_id(tok));
    t2_tokenizer_free(tok);
}

static void test_qwen2(void) {
    t2_tokenizer *tok = load_fixture("qwen2");
    if (tok == NULL) return;
    /* NFC: e + U+0301 becomes é = c3 a9, which merges (without NFC: 101 204 129) */
    check_ids(tok, "e\xcc\x81", (const int32_t[]){257}, 1);
    check_ids(tok, "\xc3\xa9", (const int32_t[]){257}, 1);
    check_decode(tok, (const int32_t[]){257}, 1, "\xc3\xa9");
    /* Qwen2's \p{N} makes each digit a pre-token, so "1 2" never merges */
    check_ids(tok, "123", (const int32_t[]){49, 50, 51}, 3);
    /* lstrip / rstrip: <|sep|> takes the spaces on both sides */
    check_ids(tok, "a <|sep|> b", (const int32_t[]){97, 261, 98}, 3);
    /* "\n" is not the optional prefix of a word: \s*[\r\n]+ takes it alone */
    check_ids(tok, "<|im_start|>user\nhi<|im_end|>\n",
              (const int32_t[]){259, 117, 115, 101, 114, 10, 104, 105, 260, 10}, 10);
    CHECK(t2_tokenizer_bos_id(tok) == -1, "no BOS expected, got %d", t2_tokenizer_bos_id(tok));
    /* NFC text (no combining marks here) still round-trips */
    check_round_trip(tok, "qwen2", round_trip_texts[0], strlen(round_trip_texts[0]));
    check_round_trip(tok, "qwen2 invalid UTF-8", round_trip_texts[5], strlen(round_trip_texts[5]));
    t2_tokenizer_free(tok);
}

/* Long runs through the byte-level regexes (whitespace lookahead, letter and digit runs). */
static void test_long_runs(void) {
    t2_tokenizer *tok = load_fixture("bytelevel");
    if (tok == NULL) return;
    size_t n = 300000;
    char *text = t2_alloc(n);
    static const char fill[] = {' ', 'a', '7', '\n', '!'};
    for (size_t f = 0; f < sizeof fill; f++) {
        memset(text, fill[f], n);
        text[n - 1] = 'x';
        char what[64];
        snprintf(what, sizeof what, "300,000 × 0x%02x", fill[f]);
        check_round_trip(tok, what, text, n);
    }
    t2_free(text);
    t2_tokenizer_free(tok);
}

/* Writes json to dir/tokenizer.json, loads it and expects "<path>: ...want...". */
static void expect_load_error(const char *dir, const char *json, const char *want) {
    char path[512];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    t2_error err = {{0}};
    CHECK(t2_file_write_atomic(path, json, strlen(json), &err) == 0, "%s", err.msg);
    t2_tokenizer *tok = t2_tokenizer_load(path, &err);
    CHECK(tok == NULL && strstr(err.msg, want) != NULL && strstr(err.msg, path) == err.msg,
          "expected '<path>: ...%s...', got '%s'", want, tok ? "(loaded)" : err.msg);
    t2_tokenizer_free(tok);
}

static void test_bad_files(void) {
    char *dir = t2_check_temp_dir("tokenizer");
    t2_error err = {{0}};
    char path[512];
    snprintf(path, sizeof path, "%s/absent.json", dir);
    CHECK(t2_tokenizer_load(path, &err) == NULL && strstr(err.msg, "cannot open") != NULL,
          "missing file: %s", err.msg);
    char *invalid = t2_check_source_path("tests/data/tokenizers/invalid/tokenizer.json");
    CHECK(t2_tokenizer_load(invalid, &err) == NULL &&
              strstr(err.msg, "invalid JSON at line 3 column") != NULL,
          "invalid JSON: %s", err.msg);
    t2_free(invalid);
    char *wordpiece = t2_check_source_path("tests/data/tokenizers/wordpiece/tokenizer.json");
    CHECK(t2_tokenizer_load(wordpiece, &err) == NULL &&
              strstr(err.msg, ": model type 'WordPiece' is not supported; expected BPE "
                              "(byte-level or SentencePiece-style)") != NULL,
          "WordPiece: %s", err.msg);
    t2_free(wordpiece);
    expect_load_error(dir, "[1, 2]", "is an array; expected a Hugging Face tokenizer.json");
    expect_load_error(dir, "{\"model\": {\"type\": \"Unigram\", \"vocab\": []}}",
                      "model type 'Unigram' is not supported");
    expect_load_error(dir, "{\"model\": {\"vocab\": {\"a\": 0}}}",
                      "model type '(none, and no merges)' is not supported");
    static const char bpe_head[] = "{\"pre_tokenizer\": {\"type\": \"Metaspace\"}, "
                                   "\"model\": {\"type\": \"BPE\", ";
    char json[1024];
    snprintf(json, sizeof json, "%s\"vocab\": {\"a\": 0, \"b\": 1}, \"merges\": [\"a c\"]}}",
             bpe_head);
    expect_load_error(dir, json, "model.merges[0] ('a' + 'c'): 'c' is not in the vocab");
    snprintf(json, sizeof json, "%s\"vocab\": {\"a\": 0}, \"merges\": [\"a a b\"]}}", bpe_head);
    expect_load_error(dir, json, "model.merges[0] is not a merge");
    snprintf(json, sizeof json, "%s\"vocab\": {\"a\": -3}, \"merges\": []}}", bpe_head);
    expect_load_error(dir, json, "model.vocab['a'] is not a valid id");
    snprintf(json, sizeof json, "%s\"vocab\": {\"a\": 4000000000}, \"merges\": []}}", bpe_head);
    expect_load_error(dir, json, "model.vocab['a'] is not a valid id; expected an integer in "
                      "[0, 16777216)");
    expect_load_error(dir, "{\"added_tokens\": [{\"id\": 1}], \"pre_tokenizer\": {\"type\": "
                      "\"Metaspace\"}, \"model\": {\"type\": \"BPE\", \"vocab\": {}, "
                      "\"merges\": []}}",
                      "added_tokens[0] is not a token");
    expect_load_error(dir, "{\"pre_tokenizer\": {\"type\": \"Whitespace\"}, \"model\": {\"type\": "
                      "\"BPE\", \"vocab\": {}, \"merges\": []}}",
                      "pre_tokenizer type 'Whitespace' is not supported");
    expect_load_error(dir, "{\"normalizer\": {\"type\": \"Lowercase\"}, \"model\": {\"type\": "
                      "\"BPE\", \"vocab\": {}, \"merges\": []}}",
                      "normalizer type 'Lowercase' is not supported");
    expect_load_error(dir, "{\"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": {\"Regex\": "
                      "\"(a\"}, \"behavior\": \"Isolated\"}, \"model\": {\"type\": \"BPE\", "
                      "\"vocab\": {}, \"merges\": []}}",
                      "pre_tokenizer regex '(a': missing closing parenthesis");
    expect_load_error(dir, "{\"pre_tokenizer\": {\"type\": \"ByteLevel\"}, \"model\": {\"type\": "
                      "\"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}}",
                      "model.vocab has no token 'Ā' for byte 0x00; expected all 256");
    expect_load_error(dir, "{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}}",
                      "expected BPE (byte-level or SentencePiece-style)");
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    unlink(path);
    rmdir(dir);
    t2_free(dir);
}

int main(void) {
    test_bytelevel();
    test_llama3();
    test_sentencepiece();
    test_metaspace();
    test_qwen2();
    test_long_runs();
    test_bad_files();
    return t2_check_exit_code();
}
