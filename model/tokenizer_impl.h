/* The tokenizer's internals, shared by its files and by nothing else:
 *   tokenizer_load.c    tokenizer.json -> t2_tokenizer (vocabulary, merges, added tokens,
 *                       normalizers, pre-tokenizer steps)
 *   tokenizer_pretok.c  one text segment -> normalized text -> pre-tokens (regex splits)
 *   tokenizer_bpe.c     the merge table and BPE of one pre-token
 *   tokenizer_post.c    the post-processor: the ids an encoding with special tokens adds
 *   tokenizer.c         the public calls: added-token matching, encode, decode, look-ups
 * The pipeline follows Hugging Face tokenizers: added tokens are cut out first; each segment
 * between them is normalized, pre-tokenized and each pre-token BPE-encoded. */
#ifndef T2_MODEL_TOKENIZER_IMPL_H
#define T2_MODEL_TOKENIZER_IMPL_H

#include <stddef.h>
#include <stdint.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <jansson.h>
#include <pcre2.h>

#include "model/strmap.h"
#include "model/tokenizer.h"

/* The two families of BPE tokenizers. */
typedef enum t2_tokenizer_kind {
    T2_TOKENIZER_BYTE_LEVEL,    /* GPT-2 bytes->unicode alphabet; initial symbols are bytes */
    T2_TOKENIZER_SENTENCEPIECE, /* "▁" for spaces; initial symbols are UTF-8 characters, with
                                   <0xXX> byte fallback */
} t2_tokenizer_kind;

/* Normalizer steps, applied in order to each segment between added tokens. */
typedef enum t2_tokenizer_norm_kind {
    T2_TOKENIZER_NORM_NFC,     /* Unicode NFC (utf8proc) */
    T2_TOKENIZER_NORM_PREPEND, /* prepend `text` to a non-empty segment */
    T2_TOKENIZER_NORM_REPLACE, /* replace every `pattern` by `text` */
} t2_tokenizer_norm_kind;

typedef struct t2_tokenizer_norm {
    t2_tokenizer_norm_kind kind;
    char *pattern; /* REPLACE only: the literal searched for, [pattern_len] */
    size_t pattern_len;
    char *text;    /* PREPEND / REPLACE: the literal inserted, [text_len] */
    size_t text_len;
} t2_tokenizer_norm;

/* What a split step does with the regex's matches (Hugging Face SplitDelimiterBehavior). */
typedef enum t2_tokenizer_split_behavior {
    T2_TOKENIZER_SPLIT_ISOLATED,       /* matches and the text between them are pre-tokens */
    T2_TOKENIZER_SPLIT_REMOVED,        /* matches are dropped */
    T2_TOKENIZER_SPLIT_MERGED_PREVIOUS, /* a match joins the piece before it */
    T2_TOKENIZER_SPLIT_MERGED_NEXT,    /* a match joins the piece after it */
} t2_tokenizer_split_behavior;

typedef struct t2_tokenizer_split {
    pcre2_code *regex; /* compiled with UTF, UCP, MATCH_INVALID_UTF; JIT when available */
    t2_tokenizer_split_behavior behavior;
} t2_tokenizer_split;

/* How the first pre-tokenizer step rewrites a whole segment before any split. */
typedef enum t2_tokenizer_prefix {
    T2_TOKENIZER_PREFIX_NONE,
    T2_TOKENIZER_PREFIX_ALWAYS, /* every segment not starting with the space marker */
    T2_TOKENIZER_PREFIX_FIRST,  /* only the segment at the start of the text */
} t2_tokenizer_prefix;

/* Which decoded leading spaces decode drops to undo the encoder's prepended "▁". */
typedef enum t2_tokenizer_strip {
    T2_TOKENIZER_STRIP_NONE,
    T2_TOKENIZER_STRIP_SEGMENTS, /* at the start and after every added token */
    T2_TOKENIZER_STRIP_FIRST,    /* only at the start of the ids */
} t2_tokenizer_strip;

typedef struct t2_tokenizer_added {
    char *content; /* the literal text, [len] */
    size_t len;
    int32_t id;
    int lstrip, rstrip; /* also swallow whitespace to the left / right of a match */
} t2_tokenizer_added;

/* The BPE merge table: (left id, right id) -> (rank, merged id). Open addressing. */
typedef struct t2_tokenizer_merge_slot {
    uint64_t key;   /* (left << 32 | right) + 1; 0 = empty */
    int32_t rank;   /* position in model.merges: lower merges first */
    int32_t merged; /* id of left + right */
} t2_tokenizer_merge_slot;

typedef struct t2_tokenizer_merges {
    t2_tokenizer_merge_slot *slots; /* [n_slots], a power of two >= 1.5 n */
    size_t n_slots, n;
} t2_tokenizer_merges;

struct t2_tokenizer {
    t2_tokenizer_kind kind;
    t2_strmap vocab;    /* token string (as written in the file) -> id; added tokens too */
    int64_t n_ids;      /* 1 + the largest id */
    /* What each id decodes to: bytes [piece_off[id], piece_off[id] + piece_len[id]) of
     * pieces. piece_len is -1 for ids no token has. */
    char *pieces;
    size_t *piece_off;  /* [n_ids] */
    int32_t *piece_len; /* [n_ids] */
    uint8_t *is_added;  /* [n_ids]: 1 for added tokens */
    int32_t byte_id[256]; /* byte-level: the id of each byte; SentencePiece: <0xXX>, or -1 */
    uint32_t byte_cp[256]; /* byte-level: the code point spelling each byte in the vocabulary */
    int32_t unk_id;       /* -1 when none */
    int fuse_unk, byte_fallback, ignore_merges;
    t2_tokenizer_merges merges;

    t2_tokenizer_added *added; /* [n_added], sorted by first byte, then longest first */
    int n_added;
    int added_first[257]; /* added[added_first[b] .. added_first[b+1]) start with byte b */

    t2_tokenizer_norm *norms; /* [n_norms] */
    int n_norms;
    t2_tokenizer_prefix prefix; /* the first pre-tokenizer step's segment rewrite */
    char prefix_marker[8];     /* what is prepended: " " (ByteLevel) or "▁" (Metaspace) */
    size_t prefix_marker_len;
    int replace_spaces;        /* Metaspace: spaces become prefix_marker first */
    t2_tokenizer_split *splits; /* [n_splits], applied in order */
    int n_splits;
    t2_tokenizer_strip strip;
    int32_t bos_id;       /* see t2_tokenizer_bos_id */
    int has_template;     /* the post-processor holds a TemplateProcessing */
    int32_t template_bos, template_eos; /* the ids it puts before / after the text, or -1 */
};

/* At most this many split steps in a pre-tokenizer (real files use one to three). */
enum { T2_TOKENIZER_MAX_SPLITS = 8 };

typedef struct t2_tokenizer_span {
    size_t start, end; /* byte offsets in the piece being split */
    int is_match;
} t2_tokenizer_span;

/* Per-call scratch of one encode; grown on demand, freed at the end of the call. */
typedef struct t2_tokenizer_state {
    int32_t *ids;          /* the output, [n_ids] of [cap_ids] */
    int64_t n_ids, cap_ids;
    char *norm[2];         /* ping-pong buffers for normalizers, [norm_cap[k]] */
    size_t norm_cap[2];
    t2_tokenizer_span *spans[T2_TOKENIZER_MAX_SPLITS]; /* per split level, [span_cap[l]] */
    size_t span_cap[T2_TOKENIZER_MAX_SPLITS];
    pcre2_match_data *match;
    /* BPE of one pre-token */
    int32_t *sym, *prev, *next; /* [sym_cap] symbol ids and links */
    size_t sym_cap;
    void *heap;            /* [3 sym_cap] candidate merges, see tokenizer_bpe.c */
    char *bytes;           /* byte-level spelling for ignore_merges look-ups, [bytes_cap] */
    size_t bytes_cap;
    /* pre-tokens met earlier in this call -> their ids: cache maps the bytes to an offset in
     * cached, where cached[off] is the count and the ids follow */
    t2_strmap cache;
    int32_t *cached;       /* [n_cached] of [cap_cached] */
    size_t n_cached, cap_cached;
} t2_tokenizer_state;

/* Appends one id to the output. */
void t2_tokenizer_state_push(t2_tokenizer_state *st, int32_t id);

/* tokenizer_bpe.c */
void t2_tokenizer_merges_init(t2_tokenizer_merges *m, size_t expected);
void t2_tokenizer_merges_free(t2_tokenizer_merges *m);
/* Adds the merge (left, right) -> merged with the given rank; a repeated pair takes the later
 * rank, as in Hugging Face. */
void t2_tokenizer_merges_put(t2_tokenizer_merges *m, int32_t left, int32_t right, int32_t rank,
                             int32_t merged);
/* BPE-encodes one pre-token (bytes in the model's spelling: raw bytes for byte-level, the
 * normalized "▁" text for SentencePiece) and appends its ids to st. */
void t2_tokenizer_bpe_encode(const t2_tokenizer *tok, t2_tokenizer_state *st, const char *piece,
                             size_t len);
void t2_tokenizer_bpe_free_state(t2_tokenizer_state *st);

/* tokenizer_pretok.c */
/* Length of the UTF-8 character at s (1 for a byte that does not start a valid one). */
size_t t2_tokenizer_utf8_len(const unsigned char *s, size_t avail);
/* Normalizes, pre-tokenizes and BPE-encodes one non-empty segment of text between added
 * tokens; at_start says it begins at offset 0 of the text. */
void t2_tokenizer_pretok_encode(const t2_tokenizer *tok, t2_tokenizer_state *st,
                                const char *text, size_t len, int at_start);
void t2_tokenizer_pretok_free_state(t2_tokenizer_state *st);
/* Compiles a split regex (pattern of len bytes; literal when is_literal). Returns NULL with
 * err = "<what>: <PCRE2 message> at offset N; expected ..." on a bad pattern. */
pcre2_code *t2_tokenizer_pretok_compile(const char *pattern, size_t len, int is_literal,
                                        const char *what, t2_error *err);
/* The GPT-2 pre-tokenizer pattern that ByteLevel{use_regex: true} splits with. */
extern const char t2_tokenizer_pretok_gpt2_pattern[];

/* tokenizer_post.c */
/* Reads tokenizer.json's post_processor (node: NULL when absent) into has_template,
 * template_bos and template_eos. Returns 0, or -1 with err = "<path>: post_processor type 'X'
 * is not supported; expected TemplateProcessing, ByteLevel or a Sequence of them" (or a
 * TemplateProcessing that is not special tokens around $A). Needs the vocabulary loaded. */
int t2_tokenizer_post_load(t2_tokenizer *tok, const json_t *node, const char *path,
                           t2_error *err);

/* tokenizer_load.c helper also used by tokenizer_write.c: the GPT-2 bytes->unicode table,
 * the code point each byte is spelt with in a byte-level vocabulary. */
void t2_tokenizer_byte_to_unicode(uint32_t codepoint[256]);
/* Writes the UTF-8 form of a code point below U+0800 (the bytes->unicode alphabet's range);
 * returns its length. */
size_t t2_tokenizer_utf8_put_small(char *out, uint32_t cp);

#endif
