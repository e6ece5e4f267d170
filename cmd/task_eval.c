/* `t2 task eval`: a model's accuracy on a task split (greedy by default), with a 95 %
 * interval, token counts and speed; optionally the completions as JSON lines that
 * `t2 task score` reads. Single process; `t2 eval` (under MPI) shards the same work. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/progress.h"
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "linalg/blis_setup.h"
#include "model/model_dir.h"
#include "rl/evaluate.h"
#include "rl/expert_apply.h"
#include "rl/task.h"

static const char *const command = "task eval";

static void print_usage(FILE *out) {
    fprintf(out,
            "usage: t2 task eval --task NAME --model DIR [options]\n\n"
            "Completes the task's prompts with the model and prints its accuracy (reward +1)\n"
            "with a 95 %% Wilson interval.\n\n"
            "  --task NAME            a task of 't2 task list'\n"
            "  --model DIR            Hugging Face model folder\n"
            "  --expert FILE          apply a trained expert (t2 train) to the model first\n"
            "  --store FILE           the model's decomposition store (SVF experts)\n"
            "  --data FILE            the JSON-lines file of a dataset task\n"
            "  --split train|test     split of a built-in task (default test)\n"
            "  -n N                   samples from the first (default: the whole split)\n"
            "  --level L, --seed S    task difficulty and seed (defaults: the task's, 1)\n"
            "  --batch B              sequences decoded together (default 64)\n"
            "  --max-new-tokens N     completion budget (default 96)\n"
            "  --temperature T        0 = greedy (default)\n"
            "  --predictions-out FILE write {\"id\", \"completion\"} JSON lines\n"
            "  --prompt-format F      auto (default: the model's chat template, plain without\n"
            "                         one), plain, llama3, llama2, mistral or chatml\n"
            "  --system-prompt TEXT   chat formats: the system message\n"
            "  --no-add-special-tokens  plain format: no BOS/EOS (default: as the model's\n"
            "                         tokenizer files say)\n"
            "  --prompt-template T    dataset tasks: the prompt, {question} where the\n"
            "                         question goes (default: the task's)\n"
            "  -h, --help             this text\n");
}

typedef struct eval_options {
    const char *task, *model, *data, *predictions_out, *expert, *store, *prompt_template;
    t2_prompt_settings prompt;
    int64_t n, level, seed, batch, max_new_tokens;
    double temperature;
    t2_task_split split;
} eval_options;

static int parse(int argc, char **argv, eval_options *o, int *done) {
    static const struct option longs[] = {
        {"task", required_argument, NULL, 't'},  {"model", required_argument, NULL, 'm'},
        {"data", required_argument, NULL, 'd'},  {"split", required_argument, NULL, 's'},
        {"level", required_argument, NULL, 'l'}, {"seed", required_argument, NULL, 'S'},
        {"batch", required_argument, NULL, 'b'}, {"max-new-tokens", required_argument, NULL, 'x'},
        {"temperature", required_argument, NULL, 'T'},
        {"predictions-out", required_argument, NULL, 'p'}, {"help", no_argument, NULL, 'h'},
        {"expert", required_argument, NULL, 'e'}, {"store", required_argument, NULL, 'r'},
        {"prompt-format", required_argument, NULL, 'f'},
        {"system-prompt", required_argument, NULL, 'y'},
        {"add-special-tokens", no_argument, NULL, 'a'},
        {"no-add-special-tokens", no_argument, NULL, 'A'},
        {"prompt-template", required_argument, NULL, 'P'},
        {NULL, 0, NULL, 0}};
    memset(o, 0, sizeof *o);
    o->seed = 1;
    o->batch = 64;
    o->max_new_tokens = 96;
    o->split = T2_TASK_SPLIT_TEST;
    o->prompt = t2_prompt_settings_default();
    t2_error err = {{0}};
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "n:h", longs, NULL)) != -1) {
        int rc = 0;
        switch (c) {
        case 't': o->task = optarg; break;
        case 'm': o->model = optarg; break;
        case 'd': o->data = optarg; break;
        case 'p': o->predictions_out = optarg; break;
        case 'e': o->expert = optarg; break;
        case 'r': o->store = optarg; break;
        case 'f': o->prompt.format = optarg; break;
        case 'y': o->prompt.system = optarg; break;
        case 'a': o->prompt.add_special_tokens = 1; break;
        case 'A': o->prompt.add_special_tokens = 0; break;
        case 'P': o->prompt_template = optarg; break;
        case 's':
            if (strcmp(optarg, "train") == 0) o->split = T2_TASK_SPLIT_TRAIN;
            else if (strcmp(optarg, "test") != 0)
                return *done = t2_cli_usage(command, "--split: '%s' is not a split; expected train or test", optarg), -1;
            break;
        case 'n': rc = t2_cli_parse_int("n", optarg, 1, INT64_MAX, &o->n, &err); break;
        case 'l': rc = t2_cli_parse_int("level", optarg, 1, 5, &o->level, &err); break;
        case 'S': rc = t2_cli_parse_int("seed", optarg, 0, INT64_MAX, &o->seed, &err); break;
        case 'b': rc = t2_cli_parse_int("batch", optarg, 1, 4096, &o->batch, &err); break;
        case 'x': rc = t2_cli_parse_int("max-new-tokens", optarg, 1, 1 << 20, &o->max_new_tokens, &err); break;
        case 'T': rc = t2_cli_parse_float("temperature", optarg, 0, 100, &o->temperature, &err); break;
        case 'h': print_usage(stdout); *done = T2_EXIT_OK; return -1;
        default: *done = t2_cli_usage(command, "unknown option '%s'", argv[optind - 1]); return -1;
        }
        if (rc != 0) {
            *done = t2_cli_usage(command, "%s", err.msg);
            return -1;
        }
    }
    if (optind < argc) *done = t2_cli_usage(command, "unexpected argument '%s'", argv[optind]);
    else if (o->task == NULL || o->model == NULL) *done = t2_cli_usage(command, "--task and --model are required");
    else return 0;
    return -1;
}

static int write_predictions(const char *path, const t2_task *task, t2_task_split split,
                             const t2_eval_result *r, t2_error *err) {
    FILE *f = fopen(path, "w");
    if (f == NULL) return t2_error_set(err, "%s: cannot write; expected a writable path", path);
    for (int64_t i = 0; i < r->n; i++) {
        t2_task_sample s = {0};
        t2_task_get(task, split, i, &s);
        json_t *obj = json_pack("{s:s, s:s}", "id", s.id, "completion", r->completions[i]);
        char *line = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
        fprintf(f, "%s\n", line);
        free(line);
        json_decref(obj);
        t2_task_sample_free(&s);
    }
    return fclose(f) == 0 ? 0 : t2_error_set(err, "%s: write failed", path);
}

static int apply_expert(const eval_options *o, t2_model_dir *model, t2_error *err) {
    t2_expert e;
    if (t2_expert_read(&e, o->expert, err) != 0) return -1;
    int status = t2_expert_apply(&e, o->expert, model, o->model, o->store, err);
    t2_expert_free(&e);
    return status;
}

int t2_cmd_task_eval(int argc, char **argv) {
    eval_options o;
    int done = 0;
    if (parse(argc, argv, &o, &done) != 0) return done;
    t2_blis_setup(0, 1);
    t2_error err = {{0}};
    t2_task_options to = {.data_path = o.data, .level = (int)o.level, .seed = (uint64_t)o.seed,
                          .prompt_template = o.prompt_template};
    t2_task *task = t2_task_open(o.task, &to, &err);
    if (task == NULL) return t2_cli_fail_error(command, &err);
    t2_model_dir model;
    if (t2_model_dir_load(&model, o.model, &err) != 0 ||
        t2_evaluate_use_prompt(&model, &o.prompt, task, &err) != 0 ||
        (o.expert != NULL && apply_expert(&o, &model, &err) != 0)) {
        t2_model_dir_free(&model);
        t2_task_free(task);
        return t2_cli_fail_error(command, &err);
    }
    int64_t size = t2_task_size(task, o.split);
    t2_eval_options eo = {.first = 0, .n = o.n > 0 && o.n < size ? o.n : size, .batch = o.batch,
                          .max_new_tokens = o.max_new_tokens,
                          .sampler = {(float)o.temperature, 0, 1.0f}, .seed = (uint64_t)o.seed};
    double start = t2_time_now();
    t2_eval_result r;
    int status = t2_evaluate_task(&model, task, o.split, &eo, o.predictions_out != NULL, &r, &err);
    double seconds = t2_time_now() - start;
    if (status == 0 && o.predictions_out != NULL)
        status = write_predictions(o.predictions_out, task, o.split, &r, &err);
    if (status == 0) {
        double lo, hi;
        t2_eval_interval(r.correct, r.n, &lo, &hi);
        printf("task:       %s (%s split, level %d)\n", o.task,
               o.split == T2_TASK_SPLIT_TEST ? "test" : "train", t2_task_level(task));
        printf("model:      %s\n", o.model);
        if (o.expert != NULL) printf("expert:     %s\n", o.expert);
        printf("samples:    %lld\n", (long long)r.n);
        printf("correct:    %lld\n", (long long)r.correct);
        printf("no answer:  %lld\n", (long long)r.no_answer);
        printf("accuracy:   %.4f  (95%% interval %.4f-%.4f)\n", (double)r.correct / (double)r.n, lo, hi);
        printf("tokens:     %lld prompt, %lld generated, %.1f s, %.0f generated tokens/s\n",
               (long long)r.prompt_tokens, (long long)r.new_tokens, seconds,
               (double)r.new_tokens / seconds);
    }
    t2_eval_result_free(&r);
    t2_model_dir_free(&model);
    t2_task_free(task);
    return status == 0 ? T2_EXIT_OK : t2_cli_fail_error(command, &err);
}
