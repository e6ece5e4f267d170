/* `t2 export --format hf|gguf`: a whole model, with an expert merged or not, in the file
 * layout other programs run (cmd/export_model.c). cmd/export.c hands these formats over. */
#ifndef T2_CMD_EXPORT_MODEL_H
#define T2_CMD_EXPORT_MODEL_H

/* The usage lines of these formats, for `t2 export --help`. */
extern const char t2_export_model_usage[];
extern const char t2_export_model_help[];

/* Runs the export; argv as t2_cmd_export got it. Returns the exit status. */
int t2_export_model_run(int argc, char **argv);

#endif
