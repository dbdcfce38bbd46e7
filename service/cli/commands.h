/* commands.h - the subcommands of the mixrec executable. Each takes the
 * arguments after its name and returns the process exit code
 * (0 ok, 1 failure, 2 usage or configuration error). */
#ifndef CLI_COMMANDS_H
#define CLI_COMMANDS_H

int cmd_bench(int argc, char **argv);
int cmd_build(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_synth(int argc, char **argv);
int cmd_recommend(int argc, char **argv);
int cmd_similar(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_routes(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_retrain(int argc, char **argv);
int cmd_simulate(int argc, char **argv);
int cmd_eval_logged(int argc, char **argv);
int cmd_tune(int argc, char **argv);

#endif
