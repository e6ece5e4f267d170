/* The serve engine's prompt reuse (rl/serve_reuse.c) on the shipped default model with the
 * serve tests' store and bundle (serve_fixture.h), on two slots, each request alone: what a
 * slot's cache keeps for the next request, what it copies from another slot, the slot a
 * request takes, and texts and adaptations equal to an engine's without reuse. */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "check.h"
#include "serve_fixture.h"

enum { MAX_NEW = T2_SERVE_FIXTURE_MAX_NEW };
static const char *const *const questions = t2_serve_fixture_questions;

/* A greedy completion of question q. */
static t2_serve_request greedy(const char *model, int q) {
    return t2_serve_fixture_completion(model, questions[q], MAX_NEW);
}

/* The ids of b (n_b >= 1) a cache holding a keeps: their common prefix, short of b's last. */
static int64_t prefix_of(const int32_t *a, int64_t n_a, const int32_t *b, int64_t n_b) {
    int64_t common = 0;
    while (common < n_a && common < n_b - 1 && a[common] == b[common]) common++;
    return common;
}

/* Prompt reuse, on two slots, each request alone: a prompt again keeps all but its last token
 * in the slot that held it (a request in between took the other, least recently used), a
 * prompt sharing a prefix with its slot keeps it, or copies a longer one from the other slot,
 * another expert keeps nothing, a chat's next turn keeps its first turn, on base and on auto
 * (whose routing pass leaves the last answer's slot alone, though it is the least recently
 * used); every text and adaptation as an engine without reuse gives them. */
static void test_prompt_reuse(t2_serve_fixture *fx) {
    /* the chats' first turns, and a request between the auto chat's turns that leaves the
     * slot of its first answer the least recently used */
    enum { N = 11, BASE_TURN = 6, AUTO_TURN = 8, BETWEEN = 9 };
    const char *first = "Question: What is 4 + 4?\nAnswer:";
    t2_chat_message turn1[1] = {{"user", first}};
    t2_serve_collect c[2][N];
    memset(c, 0, sizeof c);
    for (int reuse = 0; reuse < 2; reuse++) {
        fx->no_prompt_reuse = !reuse;
        t2_serve_engine *e = t2_serve_fixture_engine(fx, 2, 0, 0, T2_SERVE_ROUTE_PROMPT);
        if (e == NULL) return;
        t2_serve_request r[N] = {
            greedy("base", 0), greedy("base", 2), greedy("base", 0), greedy("base", 2),
            greedy("base", 1), greedy("math", 1)};
        r[BETWEEN] = greedy("base", 0);
        /* two chats, on base and on auto: the first turn, then the first, its answer and a
         * question (on auto the same again, so that the same expert answers) */
        t2_chat_message turn2[2][3];
        for (int i = 0; i < N; i++) {
            if (i == BASE_TURN || i == AUTO_TURN)
                r[i] = (t2_serve_request){.model = i == BASE_TURN ? "base" : "auto",
                                          .messages = turn1, .n_messages = 1,
                                          .max_tokens = MAX_NEW, .top_p = 1.0f};
            if (i == BASE_TURN + 1 || i == BETWEEN + 1) {
                int auto_chat = i == BETWEEN + 1, first_turn = auto_chat ? AUTO_TURN : BASE_TURN;
                t2_chat_message *m = turn2[auto_chat];
                m[0] = turn1[0];
                m[1] = (t2_chat_message){"assistant", c[reuse][first_turn].text};
                m[2] = auto_chat ? turn1[0] : (t2_chat_message){"user", questions[1]};
                r[i] = r[first_turn];
                r[i].messages = m;
                r[i].n_messages = 3;
            }
            t2_serve_collect_submit(e, &r[i], &c[reuse][i]);
            t2_serve_collect_wait(t2_serve_collect_done, &c[reuse][i], "reuse: a request alone");
        }
        t2_serve_stats st = {0};
        t2_serve_engine_stats(e, &st);
        int64_t cached = 0;
        for (int i = 0; i < N; i++) cached += c[reuse][i].result.cached_tokens;
        CHECK(st.cached_tokens == cached, "reuse %d: stats count %lld cached tokens; the "
              "requests %lld", reuse, (long long)st.cached_tokens, (long long)cached);
        t2_serve_engine_close(e);
    }
    fx->no_prompt_reuse = 0;
    int32_t *ids[4] = {0};
    int64_t n[4];
    for (int q = 0; q < 3; q++) n[q] = t2_serve_fixture_encode(fx, questions[q], &ids[q]);
    n[3] = t2_tokenizer_encode(fx->model.tok, first, strlen(first), &ids[3]); /* turn1 */
    /* slot 0 holds questions[0] (requests 0, 2), then [1] (4) and the chat (6); slot 1
     * questions[2] (1, 3), then [1] with math (5); a request keeps its own slot's prefix or
     * copies a longer one from the other slot (1 and 4) */
    int64_t shared = prefix_of(ids[0], n[0], ids[1], n[1]);
    int64_t from_2 = prefix_of(ids[2], n[2], ids[1], n[1]);
    const int64_t want[BASE_TURN + 1] = {0, prefix_of(ids[0], n[0], ids[2], n[2]), n[0] - 1,
                                         n[2] - 1, shared > from_2 ? shared : from_2, 0,
                                         prefix_of(ids[1], n[1], ids[3], n[3])};
    for (int i = 0; i < N; i++) {
        char what[64];
        snprintf(what, sizeof what, "reuse: request %d", i);
        t2_serve_collect_same_text(&c[1][i], c[0][i].text, what);
        CHECK(c[0][i].result.cached_tokens == 0 &&
                  c[1][i].result.prompt_tokens == c[0][i].result.prompt_tokens,
              "%s: %lld cached tokens without reuse, %lld prompt tokens with (%lld without); "
              "expected 0 and the same", what, (long long)c[0][i].result.cached_tokens,
              (long long)c[1][i].result.prompt_tokens, (long long)c[0][i].result.prompt_tokens);
        CHECK(strcmp(c[1][i].adaptation, c[0][i].adaptation) == 0, "%s: answered by %s, "
              "without reuse by %s", what, c[1][i].adaptation, c[0][i].adaptation);
        if (i <= BASE_TURN)
            CHECK(c[1][i].result.cached_tokens == want[i], "%s: %lld prompt tokens kept; "
                  "expected %lld", what, (long long)c[1][i].result.cached_tokens,
                  (long long)want[i]);
    }
    CHECK(shared > 0 && shared < n[0] - 1, "questions 0 and 1 share %lld tokens; expected a "
          "prefix", (long long)shared);
    for (int chat = BASE_TURN; chat <= AUTO_TURN; chat += AUTO_TURN - BASE_TURN) {
        const t2_serve_collect *turn = &c[1][chat];
        const t2_serve_collect *next = &c[1][chat == AUTO_TURN ? N - 1 : chat + 1];
        CHECK(next->result.cached_tokens >= turn->result.prompt_tokens - 1 &&
                  next->result.cached_tokens < next->result.prompt_tokens,
              "the %s chat's second turn: %lld of %lld prompt tokens kept; expected the first "
              "turn's %lld at least", chat == BASE_TURN ? "base" : "auto",
              (long long)next->result.cached_tokens,
              (long long)next->result.prompt_tokens, (long long)turn->result.prompt_tokens - 1);
    }
    CHECK(strcmp(c[1][AUTO_TURN].adaptation, c[1][N - 1].adaptation) == 0,
          "auto: the same question answered by %s, then %s", c[1][AUTO_TURN].adaptation,
          c[1][N - 1].adaptation);
    for (int q = 0; q < 4; q++) t2_free(ids[q]);
}

int main(void) {
    char *dir = t2_check_temp_dir("serve_reuse");
    t2_serve_fixture fx;
    if (t2_serve_fixture_open(&fx, dir) == 0) test_prompt_reuse(&fx);
    t2_serve_fixture_close(&fx, dir);
    t2_free(dir);
    return t2_check_exit_code();
}
