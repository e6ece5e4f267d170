/* `t2 inspect` on t2's own files and on PEFT adapter folders (cmd/inspect.c decides what a
 * path holds): an expert file (rl/expert.h), an expert bundle (rl/bundle.h) or a PEFT LoRA
 * adapter folder (model/peft.h), read and validated whole, then printed to stdout. Each
 * returns the exit status; a bad file is one line on stderr and exit 1. */
#ifndef T2_CMD_INSPECT_EXPERT_H
#define T2_CMD_INSPECT_EXPERT_H

/* cmd: the subcommand's name for error lines. */
int t2_inspect_expert_file(const char *cmd, const char *path);
int t2_inspect_expert_bundle(const char *cmd, const char *path);
/* A PEFT LoRA adapter folder (model/peft.h), read and checked whole (cmd/inspect_peft.c). */
int t2_inspect_peft_folder(const char *cmd, const char *path);

#endif
