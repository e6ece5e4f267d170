/* t2: Transformer² for MPI clusters. Dispatches to one subcommand per file in cmd/. */
#include <stdio.h>
#include <string.h>

#include "cmd/cli.h"
#include "cmd/commands.h"

typedef struct t2_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} t2_command;

static const t2_command commands[] = {
    {"generate", t2_cmd_generate, "continue a prompt with a Hugging Face model"},
    {"tokenize", t2_cmd_tokenize, "print the token ids of a text (or decode ids)"},
    {"tokenizer", t2_cmd_tokenizer, "learn a byte-level BPE tokenizer (tokenizer.json) from the built-in tasks or text files"},
    {"inspect", t2_cmd_inspect, "show a model's architecture, tensors and parameter count, or an expert file, bundle or PEFT adapter"},
    {"pretrain", t2_cmd_pretrain, "pretrain a model on built-in tasks, data parallel over MPI ranks"},
    {"new-model", t2_cmd_new_model, "write a randomly initialised Llama-style model folder"},
    {"decompose", t2_cmd_decompose, "SVD of a model's weight matrices across ranks into a store"},
    {"train", t2_cmd_train, "train an expert (SVF vectors or LoRA) on a task by RL over MPI ranks"},
    {"task", t2_cmd_task, "show a verifiable task's samples or score completions"},
    {"export", t2_cmd_export, "an expert as safetensors or a PEFT folder; a model with an expert merged as a Hugging Face folder or GGUF file"},
    {"bundle", t2_cmd_bundle, "put expert files (and a classifier) together into an expert bundle"},
    {"transfer", t2_cmd_transfer, "map an expert bundle made for one base model onto another model"},
    {"adapt", t2_cmd_adapt, "answer queries with an expert bundle: prompt, classifier or few-shot adaptation"},
    {"eval", t2_cmd_eval, "accuracy of the base model, an expert or an adaptation strategy, over MPI ranks"},
    {"demo", t2_cmd_demo, "Transformer² end to end on the default model: experts, adaptation, two tables"},
    {"report", t2_cmd_report, "an HTML page with gnuplot plots of training metrics, few-shot searches and eval reports"},
    {"serve", t2_cmd_serve, "serve the model, its experts and auto adaptation over an OpenAI-compatible HTTP API"},
};
enum { N_COMMANDS = sizeof commands / sizeof commands[0] };

static void print_help(FILE *out) {
    fprintf(out,
            "t2 — Transformer² (self-adaptive LLMs) for MPI clusters\n\n"
            "usage: t2 COMMAND [OPTIONS]      (under mpirun for distributed commands)\n\n"
            "commands:\n");
    for (int i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n't2 COMMAND --help' describes a command. Documentation: docs/.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        print_help(stderr);
        return T2_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        print_help(stdout);
        return T2_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("t2 0.1.0\n");
        return T2_EXIT_OK;
    }
    for (int i = 0; i < N_COMMANDS; i++)
        if (strcmp(argv[1], commands[i].name) == 0) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "t2: error: unknown command '%s'; expected one of:", argv[1]);
    for (int i = 0; i < N_COMMANDS; i++) fprintf(stderr, " %s", commands[i].name);
    fprintf(stderr, "\nTry 't2 --help'.\n");
    return T2_EXIT_USAGE;
}
