/* The dataset readers on the real files of $T2_SHARED_DATA (never copied into the project):
 * GSM8K's train.jsonl (7,473 records, calculator notes in every solution) and ARC-Easy's test
 * in AI2's layout (2,376 records, 97 with labels "1"-"4"). Every record loads, its worked
 * answer earns +1 and holds no calculator note; ids are line numbers (GSM8K) or the records'
 * ids (ARC); and ARC rewritten in the Hugging Face layout gives the same samples.
 * Skipped (exit 77) when the folder is absent. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "check.h"
#include "rl/task.h"

enum { SKIP = 77 };

static t2_task *open_data(const char *task, const char *path) {
    t2_task_options o = {path, 0, 0, 0, 0, NULL};
    t2_error err = {{0}};
    t2_task *t = t2_task_open(task, &o, &err);
    CHECK(t != NULL, "%s: %s", task, err.msg);
    return t;
}

static void gsm8k(const char *root) {
    char path[1024];
    snprintf(path, sizeof path, "%s/gsm8k/train.jsonl", root);
    t2_task *t = open_data("gsm8k", path);
    if (t == NULL) return;
    int64_t n = t2_task_size(t, T2_TASK_SPLIT_TEST), bad = 0;
    CHECK(n == 7473, "gsm8k: %lld records, want 7473", (long long)n);
    for (int64_t i = 0; i < n; i++) {
        t2_task_sample s = {0};
        t2_task_get(t, T2_TASK_SPLIT_TEST, i, &s);
        char id[24];
        snprintf(id, sizeof id, "%lld", (long long)i);
        int ok = t2_task_reward(&s, s.worked) == 1 && strstr(s.worked, "<<") == NULL &&
                 strchr(s.worked, '\n') == s.worked + strlen(s.worked) - 1 &&
                 strcmp(s.id, id) == 0 && s.match == T2_ANSWER_MATCH_NUMERIC;
        if (!ok && bad++ < 5)
            CHECK(0, "gsm8k record %lld: id %s answer '%s' worked '%s'", (long long)i, s.id,
                  s.answer, s.worked);
        t2_task_sample_free(&s);
    }
    CHECK(bad == 0, "gsm8k: %lld bad records", (long long)bad);
    t2_task_sample s = {0};
    t2_task_get(t, T2_TASK_SPLIT_TEST, 0, &s);
    CHECK(strcmp(s.answer, "72") == 0 && strstr(s.worked, "48/2 = 24 clips") != NULL,
          "gsm8k record 0: '%s' '%s'", s.answer, s.worked);
    t2_task_sample_free(&s);
    t2_task_free(t);
}

/* Writes the AI2-layout records of path in the Hugging Face layout to out. */
static int rewrite_hf(const char *path, const char *out) {
    FILE *in = fopen(path, "r"), *to = fopen(out, "w");
    char line[65536];
    int ok = in && to;
    while (ok && fgets(line, sizeof line, in)) {
        json_error_t jerr;
        json_t *r = json_loads(line, 0, &jerr);
        json_t *q = json_object_get(r, "question"), *texts = json_array(), *labels = json_array();
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(q, "choices"), i, c) {
            json_array_append(texts, json_object_get(c, "text"));
            json_array_append(labels, json_object_get(c, "label"));
        }
        json_t *hf = json_pack("{s:O, s:O, s:{s:o, s:o}, s:O}", "id", json_object_get(r, "id"),
                               "question", json_object_get(q, "stem"), "choices", "text", texts,
                               "label", labels, "answerKey", json_object_get(r, "answerKey"));
        ok = hf != NULL && json_dumpf(hf, to, JSON_COMPACT) == 0 && fputc('\n', to) != EOF;
        json_decref(hf);
        json_decref(r);
    }
    if (in) fclose(in);
    if (to && fclose(to) != 0) ok = 0;
    return ok;
}

static void arc(const char *root) {
    char path[1024];
    snprintf(path, sizeof path, "%s/arc/ARC-Easy-Test.jsonl", root);
    t2_task *t = open_data("arc", path);
    if (t == NULL) return;
    int64_t n = t2_task_size(t, T2_TASK_SPLIT_TEST), numeric = 0, bad = 0;
    CHECK(n == 2376, "arc: %lld records, want 2376", (long long)n);
    char *dir = t2_check_temp_dir("task-arc");
    char hf_path[1024];
    snprintf(hf_path, sizeof hf_path, "%s/arc_hf.jsonl", dir);
    CHECK(rewrite_hf(path, hf_path), "writing %s", hf_path);
    t2_task *hf = open_data("arc", hf_path);
    for (int64_t i = 0; hf && i < n; i++) {
        t2_task_sample s = {0}, h = {0};
        t2_task_get(t, T2_TASK_SPLIT_TEST, i, &s);
        t2_task_get(hf, T2_TASK_SPLIT_TEST, i, &h);
        numeric += s.answer[0] >= '1' && s.answer[0] <= '9';
        int ok = t2_task_reward(&s, s.worked) == 1 && s.match == T2_ANSWER_MATCH_CHOICE &&
                 strcmp(s.id, h.id) == 0 && strcmp(s.prompt, h.prompt) == 0 &&
                 strcmp(s.answer, h.answer) == 0 && t2_task_find_id(t, 0, s.id) == i;
        if (!ok && bad++ < 5)
            CHECK(0, "arc record %lld: id %s / %s, answer %s / %s", (long long)i, s.id, h.id,
                  s.answer, h.answer);
        t2_task_sample_free(&s);
        t2_task_sample_free(&h);
    }
    CHECK(bad == 0 && numeric == 97, "arc: %lld bad records, %lld numeric labels (want 97)",
          (long long)bad, (long long)numeric);
    t2_task_free(hf);
    remove(hf_path);
    remove(dir);
    t2_free(dir);
    t2_task_free(t);
}

int main(void) {
    const char *root = getenv("T2_SHARED_DATA");
    char probe[1024];
    snprintf(probe, sizeof probe, "%s/gsm8k/train.jsonl", root ? root : "");
    FILE *f = root ? fopen(probe, "r") : NULL;
    if (f == NULL) {
        fprintf(stderr, "skipped: the reference data ($T2_SHARED_DATA/gsm8k, arc) is absent\n");
        return SKIP;
    }
    fclose(f);
    gsm8k(root);
    arc(root);
    return t2_check_exit_code();
}
