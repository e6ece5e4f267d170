/* The four fixed prompt formats (see prompt_format.h). Each is a list of pieces written in
 * order; a piece holding the system text is skipped when there is no system message. The
 * strings follow each family's published chat template: Meta's Llama 3 format, Mistral's
 * [INST] format (which has no system role: the system text leads the user turn), and
 * ChatML (Qwen2). */
#include "model/prompt_format.h"

#include <string.h>

#include "base/alloc.h"

enum { PIECES_MAX = 8 };

/* One piece: literal text, or the system or user message. */
typedef enum piece_kind { PIECE_TEXT, PIECE_SYSTEM, PIECE_USER } piece_kind;

typedef struct piece {
    piece_kind kind;
    const char *text;  /* PIECE_TEXT: the literal */
    int needs_system;  /* written only when there is a system message */
} piece;

typedef struct format {
    const char *name;
    piece pieces[PIECES_MAX];
    const char *stop[T2_PROMPT_FORMAT_MAX_STOPS + 1]; /* NULL-terminated */
} format;

static const format formats[] = {
    {"llama3",
     {{PIECE_TEXT, "<|begin_of_text|>", 0},
      {PIECE_TEXT, "<|start_header_id|>system<|end_header_id|>\n\n", 1},
      {PIECE_SYSTEM, NULL, 1},
      {PIECE_TEXT, "<|eot_id|>", 1},
      {PIECE_TEXT, "<|start_header_id|>user<|end_header_id|>\n\n", 0},
      {PIECE_USER, NULL, 0},
      {PIECE_TEXT, "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", 0}},
     {"<|eot_id|>", "<|end_of_text|>", NULL}},
    {"mistral",
     {{PIECE_TEXT, "<s>[INST] ", 0},
      {PIECE_SYSTEM, NULL, 1},
      {PIECE_TEXT, "\n\n", 1},
      {PIECE_USER, NULL, 0},
      {PIECE_TEXT, " [/INST]", 0}},
     {"</s>", NULL, NULL}},
    {"chatml",
     {{PIECE_TEXT, "<|im_start|>system\n", 1},
      {PIECE_SYSTEM, NULL, 1},
      {PIECE_TEXT, "<|im_end|>\n", 1},
      {PIECE_TEXT, "<|im_start|>user\n", 0},
      {PIECE_USER, NULL, 0},
      {PIECE_TEXT, "<|im_end|>\n<|im_start|>assistant\n", 0}},
     {"<|im_end|>", "<|endoftext|>", NULL}},
    {"plain",
     {{PIECE_SYSTEM, NULL, 1}, {PIECE_TEXT, "\n\n", 1}, {PIECE_USER, NULL, 0}},
     {NULL, NULL, NULL}},
};
enum { N_FORMATS = sizeof formats / sizeof formats[0] };

static const char *const names[N_FORMATS + 1] = {"llama3", "mistral", "chatml", "plain", NULL};

static const format *find(const char *name) {
    for (int i = 0; name != NULL && i < N_FORMATS; i++)
        if (strcmp(formats[i].name, name) == 0) return &formats[i];
    return NULL;
}

const char *const *t2_prompt_format_names(void) { return names; }

char *t2_prompt_format_apply(const char *name, const char *system, const char *user,
                             t2_error *err) {
    const format *f = find(name);
    if (f == NULL) {
        t2_error_set(err, "prompt format '%s' is not known; expected one of llama3, mistral, "
                     "chatml, plain", name ? name : "(null)");
        return NULL;
    }
    int has_system = system != NULL && system[0] != '\0';
    const char *parts[PIECES_MAX];
    size_t total = 0;
    for (int i = 0; i < PIECES_MAX; i++) {
        const piece *p = &f->pieces[i];
        parts[i] = p->kind == PIECE_SYSTEM ? system : p->kind == PIECE_USER ? user : p->text;
        if (p->needs_system && !has_system) parts[i] = NULL;
        if (parts[i] != NULL) total += strlen(parts[i]);
    }
    char *out = t2_alloc(total + 1), *w = out;
    for (int i = 0; i < PIECES_MAX; i++) {
        if (parts[i] == NULL) continue;
        size_t n = strlen(parts[i]);
        memcpy(w, parts[i], n);
        w += n;
    }
    *w = '\0';
    return out;
}

const char *const *t2_prompt_format_stop_strings(const char *name) {
    const format *f = find(name);
    return f ? f->stop : NULL;
}
