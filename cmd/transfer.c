/* `t2 transfer`: maps an expert bundle made for one base model onto another model and writes
 * the new bundle (docs/cli.md). Argument parsing, reading the inputs and output only: the
 * mapping is rl/transfer.c, the bundle format rl/bundle.c. */
#include <getopt.h>
#include <stdio.h>

#include "cmd/cli.h"
#include "cmd/commands.h"
#include "model/config.h"
#include "model/fingerprint.h"
#include "model/safetensors.h"
#include "model/weights.h"
#include "rl/bundle.h"
#include "rl/transfer.h"

static const char *const cmd = "transfer";

static void print_usage(FILE *out) {
    fprintf(out,
            "usage: t2 transfer --bundle FILE --to MODEL_DIR --out FILE\n\n"
            "Maps every expert (and the classifier) of a bundle made for one base model onto\n"
            "another base model and writes a bundle made for MODEL_DIR. Layer l' of the L'\n"
            "layers of MODEL_DIR takes the masks at relative depth l' (L-1)/(L'-1) of the L\n"
            "source layers, singular value j' of r' the source masks at relative rank\n"
            "j' (r-1)/(r'-1), interpolated linearly; equal layer counts and ranks copy the\n"
            "masks exactly. The new experts are svf with the linear parametrization (z = the\n"
            "mapped mask) and the source's renormalize setting; the bundle records where it\n"
            "came from ('t2 inspect FILE' shows it). LoRA bundles, bundles already transferred\n"
            "(transfer the original instead) and bundles already made for MODEL_DIR are\n"
            "refused. The file is written atomically: on failure nothing is left at FILE.\n\n"
            "options:\n"
            "  --bundle FILE   the expert bundle to map (t2 bundle create), e.g. experts.t2b\n"
            "  --to DIR        the model folder to map it onto (config.json, safetensors)\n"
            "  --out FILE      the bundle to write (replaced if it exists)\n"
            "  -h, --help      this text\n");
}

/* The target model's config, tensors (checked against the config, not loaded) and
 * fingerprint; then the mapping and the write. */
static int transfer(const char *bundle_path, const char *model_path, const char *out) {
    t2_error err = {{0}};
    t2_bundle src = {0}, mapped = {0};
    t2_model_config cfg;
    t2_safetensors st = {0};
    char fingerprint[T2_FINGERPRINT_CHARS] = "";
    int status = t2_bundle_read(&src, bundle_path, &err);
    if (status == 0) status = t2_model_config_load(&cfg, model_path, &err);
    if (status == 0) status = t2_safetensors_open(&st, model_path, &err);
    if (status == 0) status = t2_model_weights_check(&cfg, &st, &err);
    if (status == 0) {
        t2_model_fingerprint(&st, fingerprint);
        const t2_transfer_target target = {.path = model_path, .cfg = &cfg, .st = &st,
                                           .fingerprint = fingerprint};
        status = t2_transfer_bundle(&mapped, &src, bundle_path, &target, &err);
    }
    if (status == 0) status = t2_bundle_write(&mapped, out, &err);
    if (status == 0)
        fprintf(stderr, "t2 transfer: wrote %s (%d expert%s%s; %lld layers -> %lld, from model "
                "%s to %s)\n", out, mapped.n, mapped.n == 1 ? "" : "s",
                mapped.has_classifier ? " + classifier" : "", (long long)mapped.source_layers,
                (long long)mapped.target_layers, mapped.source_fingerprint,
                mapped.model_fingerprint);
    t2_bundle_free(&mapped);
    t2_bundle_free(&src);
    t2_safetensors_close(&st);
    return status == 0 ? T2_EXIT_OK : t2_cli_fail_error(cmd, &err);
}

int t2_cmd_transfer(int argc, char **argv) {
    enum { OPT_BUNDLE = 256, OPT_TO, OPT_OUT };
    static const struct option options[] = {{"bundle", required_argument, NULL, OPT_BUNDLE},
                                            {"to", required_argument, NULL, OPT_TO},
                                            {"out", required_argument, NULL, OPT_OUT},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    const char *bundle = NULL, *to = NULL, *out = NULL;
    optind = 1;
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (opt) {
        case OPT_BUNDLE: bundle = optarg; break;
        case OPT_TO: to = optarg; break;
        case OPT_OUT: out = optarg; break;
        case 'h': print_usage(stdout); return T2_EXIT_OK;
        case ':': return t2_cli_usage(cmd, "option '%s' needs a value", argv[optind - 1]);
        default: return t2_cli_usage(cmd, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return t2_cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
    if (bundle == NULL) return t2_cli_usage(cmd, "--bundle FILE is required");
    if (to == NULL) return t2_cli_usage(cmd, "--to MODEL_DIR is required");
    if (out == NULL) return t2_cli_usage(cmd, "--out FILE is required");
    return transfer(bundle, to, out);
}
