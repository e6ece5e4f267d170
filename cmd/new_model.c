/* placeholder until the new_model command lands; replaced by its owner */
#include "cmd/commands.h"
#include "cmd/cli.h"
int t2_cmd_new_model(int argc, char **argv) { (void)argc; return t2_cli_fail(argv[0], "not built yet"); }
