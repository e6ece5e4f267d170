/* The t2 subcommands: each takes its own argv (argv[0] is the subcommand's name) and returns
 * the process exit status: 0 success, 1 failure (bad input, I/O), 2 usage error. */
#ifndef T2_CMD_COMMANDS_H
#define T2_CMD_COMMANDS_H

int t2_cmd_generate(int argc, char **argv);
int t2_cmd_tokenize(int argc, char **argv);
int t2_cmd_tokenizer(int argc, char **argv); /* t2 tokenizer train */
int t2_cmd_inspect(int argc, char **argv);
int t2_cmd_new_model(int argc, char **argv);
int t2_cmd_pretrain(int argc, char **argv);
int t2_cmd_decompose(int argc, char **argv);
int t2_cmd_train(int argc, char **argv);
int t2_cmd_task(int argc, char **argv);
int t2_cmd_task_eval(int argc, char **argv); /* t2 task eval */
int t2_cmd_export(int argc, char **argv);
int t2_cmd_bundle(int argc, char **argv); /* t2 bundle create */
int t2_cmd_eval(int argc, char **argv);
int t2_cmd_demo(int argc, char **argv);
int t2_cmd_transfer(int argc, char **argv);
int t2_cmd_adapt(int argc, char **argv);
int t2_cmd_report(int argc, char **argv);
int t2_cmd_serve(int argc, char **argv);

#endif
