/* `t2 bundle create`: puts expert files (rl/expert.h) together into one expert bundle
 * (rl/bundle.h) for their base model, one expert per category (the expert's name), with an
 * optional classifier expert. Argument parsing and output only: the rules a bundle's
 * members follow and the file format are rl/bundle.c. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "rl/bundle.h"

static const char *const cmd = "bundle create";

static void print_usage(FILE *out) {
    fprintf(out,
            "usage: t2 bundle create --out FILE EXPERT... [--classifier FILE]\n\n"
            "Writes an expert bundle: the expert files given, one per category (an expert's\n"
            "name is the category it serves, e.g. math, code, reasoning), and optionally the\n"
            "classifier expert that answers the category, with the fingerprint of their base\n"
            "model. The experts (and the classifier) must be made for the same base model and\n"
            "have distinct one-word names and the same method, settings and targets, so that\n"
            "they can be mixed. 't2 inspect FILE' lists what a bundle holds.\n"
            "The file is written atomically: on failure nothing is left at FILE.\n\n"
            "options:\n"
            "  --out FILE          the bundle to write (replaced if it exists), e.g. experts.t2b\n"
            "  --classifier FILE   the classifier expert (optional)\n"
            "  -h, --help          this text\n");
}

/* Reads the experts and the classifier (when given), bundles and writes them. */
static int create(const char *out, char **paths, int n, const char *classifier_path) {
    t2_error err = {{0}};
    t2_bundle b;
    int status = t2_bundle_create_from_files(&b, out, (const char *const *)paths, n,
                                             classifier_path, &err);
    if (status == 0) {
        fprintf(stderr, "t2 bundle: wrote %s (%d expert%s:", out, b.n, b.n == 1 ? "" : "s");
        for (int i = 0; i < b.n; i++) fprintf(stderr, "%s%s", i > 0 ? ", " : " ", b.categories[i]);
        fprintf(stderr, "; classifier %s; base model %s)\n",
                b.has_classifier ? b.classifier.name : "none", b.model_fingerprint);
    }
    t2_bundle_free(&b);
    return status == 0 ? T2_EXIT_OK : t2_cli_fail_error(cmd, &err);
}

static int run_create(int argc, char **argv) {
    enum { OPT_OUT = 256, OPT_CLASSIFIER };
    static const struct option options[] = {{"out", required_argument, NULL, OPT_OUT},
                                            {"classifier", required_argument, NULL, OPT_CLASSIFIER},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    const char *out = NULL, *classifier = NULL;
    optind = 1;
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (opt) {
        case OPT_OUT: out = optarg; break;
        case OPT_CLASSIFIER: classifier = optarg; break;
        case 'h': print_usage(stdout); return T2_EXIT_OK;
        case ':': return t2_cli_usage(cmd, "option '%s' needs a value", argv[optind - 1]);
        default: return t2_cli_usage(cmd, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (out == NULL) return t2_cli_usage(cmd, "--out FILE is required");
    int n = argc - optind;
    if (n == 0) return t2_cli_usage(cmd, "expected one or more EXPERT files to bundle");
    return create(out, argv + optind, n, classifier);
}

int t2_cmd_bundle(int argc, char **argv) {
    if (argc < 2) {
        print_usage(stderr);
        return T2_EXIT_USAGE;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
        print_usage(stdout);
        return T2_EXIT_OK;
    }
    if (strcmp(sub, "create") == 0) return run_create(argc - 1, argv + 1);
    return t2_cli_usage("bundle", "unknown subcommand '%s'; expected create", sub);
}
