/* t2 task list | show | score | eval: the verifiable tasks from the command line.
 *   list   the registered tasks, their kind and default level;
 *   show   samples of a task (prompt, worked answer, reference answer), as text or JSON lines;
 *   score  a JSON-lines file of completions, with the task's reward, printing the accuracy.
 * Argument parsing and output only: tasks, rewards and scoring are rl/task.h. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "rl/task.h"

static void print_usage(FILE *out) {
    fprintf(out,
            "usage: t2 task list\n"
            "       t2 task show --task NAME [--data FILE] [--split train|test] [-n K]\n"
            "                    [--start I] [--level L] [--seed S] [--jsonl]\n"
            "       t2 task score --task NAME [--data FILE] [--split train|test]\n"
            "                     --predictions FILE [--level L] [--seed S]\n"
            "       t2 task eval --task NAME --model DIR [-n N] ...  (a model's accuracy)\n"
            "\n"
            "The verifiable tasks: built-in generators (math, code, reasoning, cls and the\n"
            "held-out math_shift, code_shift, arith_code, mc_math) and dataset files (gsm8k,\n"
            "arc, qa, mbpp). Every\n"
            "sample is a prompt (\"Question: ...\\nAnswer:\" for the built-in tasks and qa; the\n"
            "paper's instruction prompts for gsm8k, arc and mbpp), a worked answer and a\n"
            "reference answer; the reward is +1 when the answer after the last marker (\"The\n"
            "answer is\", \"Answer:\", \"####\", \\boxed{}) of a completion matches, -1\n"
            "otherwise; for mbpp 1 when the completion's Python passes every test, run in a\n"
            "sandbox, else 0.\n"
            "\n"
            "'t2 task list --help', 't2 task show --help' and 't2 task score --help' say more.\n"
            "Details: docs/tasks.md.\n");
}

static void print_show_usage(FILE *out) {
    fprintf(out,
            "usage: t2 task show --task NAME [--data FILE] [--split train|test] [-n K]\n"
            "                    [--start I] [--level L] [--seed S] [--jsonl]\n"
            "\n"
            "Prints K samples of a task from index I on: each one's id, reference answer and\n"
            "match kind, then its prompt followed by its worked answer (the pretraining text).\n"
            "\n"
            "options:\n"
            "  --task NAME         a task of 't2 task list'\n"
            "  --data FILE         the JSON-lines file of a dataset task (gsm8k, arc, qa, mbpp)\n"
            "  --split train|test  the split of a built-in task (default test)\n"
            "  -n K                number of samples (default 5)\n"
            "  --start I           index of the first sample (default 0)\n"
            "  --level L           difficulty of a built-in task, 1 to 5 (default: the task's)\n"
            "  --seed S            random seed of a built-in task (default 1)\n"
            "  --train-size N      samples in the train split (default 200000)\n"
            "  --test-size N       samples in the test split (default 1000)\n"
            "  --prompt-template T dataset tasks: the prompt, {question} where the question\n"
            "                      goes (default: the task's)\n"
            "  --jsonl             print one JSON object per sample: id, prompt, answer,\n"
            "                      worked, match, category\n"
            "  -h, --help          show this help\n");
}

static void print_score_usage(FILE *out) {
    fprintf(out,
            "usage: t2 task score --task NAME [--data FILE] [--split train|test]\n"
            "                     --predictions FILE [--level L] [--seed S]\n"
            "\n"
            "Scores completions with the task's reward and prints the number scored, how many\n"
            "are correct, how many hold no answer, and the accuracy. FILE has one JSON object\n"
            "per line, {\"id\": ..., \"completion\": \"...\"}; the id is the sample's id: its\n"
            "\"id\" field where the data has one, else its 0-based line number; for built-in\n"
            "tasks the sample's index in the split. Samples without a prediction are not\n"
            "counted; an unknown or repeated id is an error.\n"
            "\n"
            "options:\n"
            "  --task NAME         a task of 't2 task list'\n"
            "  --data FILE         the JSON-lines file of a dataset task (gsm8k, arc, qa, mbpp)\n"
            "  --split train|test  the split of a built-in task (default test)\n"
            "  --predictions FILE  the completions ('-' reads standard input)\n"
            "  --level L           difficulty of a built-in task, 1 to 5 (default: the task's)\n"
            "  --seed S            random seed of a built-in task (default 1)\n"
            "  --train-size N      samples in the train split (default 200000)\n"
            "  --test-size N       samples in the test split (default 1000)\n"
            "  -h, --help          show this help\n");
}

typedef struct options {
    const char *task, *data, *predictions, *prompt_template;
    const char *split_text;
    t2_task_split split;
    int64_t n, start, level, seed, train_size, test_size;
    int jsonl;
} options;

/* Parses the flags of show (is_show) or score; returns 0 to run, else *status is the exit. */
static int parse_options(int argc, char **argv, int is_show, const char *command, options *opt,
                         int *status) {
    static const struct option longs[] = {
        {"task", required_argument, NULL, 't'},     {"data", required_argument, NULL, 'd'},
        {"split", required_argument, NULL, 's'},    {"start", required_argument, NULL, 'i'},
        {"level", required_argument, NULL, 'l'},    {"seed", required_argument, NULL, 'r'},
        {"jsonl", no_argument, NULL, 'j'},          {"predictions", required_argument, NULL, 'p'},
        {"train-size", required_argument, NULL, 'T'}, {"test-size", required_argument, NULL, 'S'},
        {"prompt-template", required_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    memset(opt, 0, sizeof *opt);
    opt->n = 5;
    opt->seed = 1;
    opt->split = T2_TASK_SPLIT_TEST;
    t2_error err = {{0}};
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, is_show ? "hn:" : "h", longs, NULL)) != -1) {
        int rc = 0;
        switch (c) {
        case 't': opt->task = optarg; break;
        case 'd': opt->data = optarg; break;
        case 's': opt->split_text = optarg; break;
        case 'n': rc = t2_cli_parse_int("n", optarg, 1, 1000000000, &opt->n, &err); break;
        case 'i': rc = t2_cli_parse_int("start", optarg, 0, INT64_MAX, &opt->start, &err); break;
        case 'l':
            rc = t2_cli_parse_int("level", optarg, T2_TASK_LEVEL_MIN, T2_TASK_LEVEL_MAX,
                                  &opt->level, &err);
            break;
        case 'r': rc = t2_cli_parse_int("seed", optarg, 0, INT64_MAX, &opt->seed, &err); break;
        case 'T':
            rc = t2_cli_parse_int("train-size", optarg, 1, INT64_MAX / 2, &opt->train_size,
                                  &err);
            break;
        case 'S':
            rc = t2_cli_parse_int("test-size", optarg, 1, INT64_MAX / 2, &opt->test_size, &err);
            break;
        case 'j': opt->jsonl = 1; break;
        case 'p': opt->predictions = optarg; break;
        case 'P': opt->prompt_template = optarg; break;
        case 'h':
            if (is_show)
                print_show_usage(stdout);
            else
                print_score_usage(stdout);
            *status = T2_EXIT_OK;
            return 1;
        default:
            *status = t2_cli_usage(command, "unknown option or missing value '%s'",
                                   argv[optind - 1]);
            return -1;
        }
        if (rc != 0) {
            *status = t2_cli_usage(command, "%s", err.msg);
            return -1;
        }
        if ((c == 'j' || c == 'i' || c == 'P') && !is_show) {
            *status = t2_cli_usage(command, "'%s' applies to 't2 task show'", argv[optind - 1]);
            return -1;
        }
        if (c == 'p' && is_show) {
            *status = t2_cli_usage(command, "--predictions applies to 't2 task score'");
            return -1;
        }
    }
    const t2_task_info *info = opt->task ? t2_task_find(opt->task) : NULL;
    int n_tasks;
    const t2_task_info *all = t2_task_list(&n_tasks);
    char known[256] = "";
    for (int i = 0; i < n_tasks; i++) {
        size_t used = strlen(known);
        snprintf(known + used, sizeof known - used, "%s%s", i ? ", " : "", all[i].name);
    }
    if (optind < argc)
        *status = t2_cli_usage(command, "unexpected argument '%s'", argv[optind]);
    else if (opt->task == NULL)
        *status = t2_cli_usage(command, "--task NAME is required; one of %s", known);
    else if (info == NULL)
        *status = t2_cli_usage(command, "--task: unknown task '%s'; expected one of %s",
                               opt->task, known);
    else if (info->is_dataset && opt->data == NULL)
        *status = t2_cli_usage(command, "task '%s' reads a JSON-lines file; give --data FILE",
                               opt->task);
    else if (!info->is_dataset && opt->data != NULL)
        *status = t2_cli_usage(command, "task '%s' is built in; --data applies to gsm8k, arc, "
                               "qa and mbpp", opt->task);
    else if (info->is_dataset && (opt->split_text || opt->level || opt->train_size ||
                                  opt->test_size))
        *status = t2_cli_usage(command, "task '%s' reads a file, which is scored whole; "
                               "--split, --level and the sizes apply to built-in tasks",
                               opt->task);
    else if (opt->split_text && strcmp(opt->split_text, "train") != 0 &&
             strcmp(opt->split_text, "test") != 0)
        *status = t2_cli_usage(command, "--split: '%s' is not a split; expected train or test",
                               opt->split_text);
    else if (!is_show && opt->predictions == NULL)
        *status = t2_cli_usage(command, "--predictions FILE is required");
    else {
        if (opt->split_text && strcmp(opt->split_text, "train") == 0)
            opt->split = T2_TASK_SPLIT_TRAIN;
        return 0;
    }
    return -1;
}

static t2_task *open_task(const options *opt, t2_error *err) {
    t2_task_options to = {.data_path = opt->data, .level = (int)opt->level,
                          .seed = (uint64_t)opt->seed, .train_size = opt->train_size,
                          .test_size = opt->test_size, .prompt_template = opt->prompt_template};
    return t2_task_open(opt->task, &to, err);
}

/* "math (test split of 1000 samples, level 3, seed 1)" or "gsm8k (FILE, 7473 records)". */
static void describe(const t2_task *task, const options *opt, char *out, size_t cap) {
    const t2_task_info *info = t2_task_info_of(task);
    long long size = (long long)t2_task_size(task, opt->split);
    if (info->is_dataset)
        snprintf(out, cap, "%s (%s, %lld record%s)", info->name, opt->data, size,
                 size == 1 ? "" : "s");
    else
        snprintf(out, cap, "%s (%s split of %lld samples, level %d, seed %lld)", info->name,
                 opt->split == T2_TASK_SPLIT_TRAIN ? "train" : "test", size,
                 t2_task_level(task), (long long)opt->seed);
}

static void print_json_sample(const t2_task_sample *s) {
    json_t *obj = json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", s->id, "prompt", s->prompt,
                            "answer", s->answer, "worked", s->worked, "match",
                            t2_answer_match_name(s->match));
    json_object_set_new(obj, "category", s->category ? json_string(s->category) : json_null());
    char *text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
    printf("%s\n", text);
    free(text);
    json_decref(obj);
}

static int run_show(int argc, char **argv) {
    const char *command = "task show";
    options opt;
    int status = T2_EXIT_OK;
    if (parse_options(argc, argv, 1, command, &opt, &status) != 0) return status;
    t2_error err = {{0}};
    t2_task *task = open_task(&opt, &err);
    if (task == NULL) return t2_cli_fail_error(command, &err);
    int64_t size = t2_task_size(task, opt.split);
    if (opt.start >= size) {
        t2_task_free(task);
        return t2_cli_fail(command, "--start: %lld is past the last sample; expected 0 to %lld",
                           (long long)opt.start, (long long)size - 1);
    }
    int64_t end = opt.n < size - opt.start ? opt.start + opt.n : size;
    if (!opt.jsonl) {
        char what[1200];
        describe(task, &opt, what, sizeof what);
        printf("# %s: samples %lld to %lld\n", what, (long long)opt.start, (long long)end - 1);
    }
    for (int64_t i = opt.start; i < end; i++) {
        t2_task_sample s = {0};
        t2_task_get(task, opt.split, i, &s);
        if (opt.jsonl)
            print_json_sample(&s);
        else
            printf("\n== %lld  id %s  answer %s  (%s match)\n%s%s", (long long)i, s.id, s.answer,
                   t2_answer_match_name(s.match), s.prompt, s.worked);
        t2_task_sample_free(&s);
    }
    t2_task_free(task);
    if (fflush(stdout) != 0 || ferror(stdout))
        return t2_cli_fail(command, "cannot write to standard output");
    return T2_EXIT_OK;
}

static int run_score(int argc, char **argv) {
    const char *command = "task score";
    options opt;
    int status = T2_EXIT_OK;
    if (parse_options(argc, argv, 0, command, &opt, &status) != 0) return status;
    t2_error err = {{0}};
    t2_task *task = open_task(&opt, &err);
    if (task == NULL) return t2_cli_fail_error(command, &err);
    int64_t n, correct, no_answer;
    if (t2_task_score_file(task, opt.split, opt.predictions, &n, &correct, &no_answer, &err) !=
        0) {
        t2_task_free(task);
        return t2_cli_fail_error(command, &err);
    }
    char what[1200];
    describe(task, &opt, what, sizeof what);
    t2_task_free(task);
    printf("task:        %s\n", what);
    printf("predictions: %lld\n", (long long)n);
    printf("correct:     %lld\n", (long long)correct);
    printf("no answer:   %lld\n", (long long)no_answer);
    printf("accuracy:    %.4f\n", (double)correct / (double)n);
    if (fflush(stdout) != 0 || ferror(stdout))
        return t2_cli_fail(command, "cannot write to standard output");
    return T2_EXIT_OK;
}

static int run_list(int argc, char **argv) {
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: t2 task list\n\nLists the tasks: name, kind (built-in generator, "
               "held-out generator or dataset file), default level and what it asks.\n");
        return T2_EXIT_OK;
    }
    if (argc > 1) return t2_cli_usage("task list", "unexpected argument '%s'", argv[1]);
    int n;
    const t2_task_info *all = t2_task_list(&n);
    printf("%-11s %-9s %-5s %s\n", "task", "kind", "level", "what it asks");
    for (int i = 0; i < n; i++) {
        char level[8] = "-";
        if (!all[i].is_dataset) snprintf(level, sizeof level, "%d", all[i].default_level);
        printf("%-11s %-9s %-5s %s\n", all[i].name,
               all[i].is_dataset   ? "dataset"
               : all[i].is_heldout ? "held-out"
                                   : "built-in",
               level, all[i].summary);
    }
    return T2_EXIT_OK;
}

int t2_cmd_task(int argc, char **argv) {
    if (argc < 2) {
        print_usage(stderr);
        return T2_EXIT_USAGE;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
        print_usage(stdout);
        return T2_EXIT_OK;
    }
    if (strcmp(sub, "list") == 0) return run_list(argc - 1, argv + 1);
    if (strcmp(sub, "show") == 0) return run_show(argc - 1, argv + 1);
    if (strcmp(sub, "score") == 0) return run_score(argc - 1, argv + 1);
    if (strcmp(sub, "eval") == 0) return t2_cmd_task_eval(argc - 1, argv + 1);
    return t2_cli_usage("task", "unknown subcommand '%s'; expected list, show, score or eval", sub);
}
