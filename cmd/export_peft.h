/* `t2 export --format peft` and `--format expert` (cmd/export.c dispatches here): a LoRA
 * expert file (rl/expert.h) as a PEFT adapter folder (model/peft.h), and a PEFT LoRA adapter
 * folder as a t2 LoRA expert file. Each returns the command's exit status and prints its own
 * error line ("t2 <cmd>: error: ...") or its closing "wrote" line to stderr. */
#ifndef T2_CMD_EXPORT_PEFT_H
#define T2_CMD_EXPORT_PEFT_H

/* The usage lines and help paragraph of these two formats, for `t2 export --help`. */
extern const char t2_export_peft_usage[];
extern const char t2_export_peft_help[];

/* EXPERT (a LoRA expert) -> the folder out (created; files replaced). base_model, when not
 * NULL, is written as base_model_name_or_path (e.g. the model folder or hub name). */
int t2_export_peft(const char *cmd, const char *expert_path, const char *out,
                   const char *base_model);

/* A PEFT folder -> the expert file out. The expert is made for the model whose fingerprint
 * the folder's metadata records (t2 wrote it), or for model_dir (a model folder) when given:
 * then every matrix is checked against the model's tensor of that name (present, same
 * shape), and a recorded fingerprint must match. Its name is the metadata's, else the
 * folder's last path component. */
int t2_export_peft_to_expert(const char *cmd, const char *peft_dir, const char *out,
                             const char *model_dir);

#endif
