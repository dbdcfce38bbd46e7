/* main.c - the mixrec executable: dispatches to a subcommand. */
#include <stdio.h>
#include <string.h>

#include "commands.h"

#ifndef MIXREC_VERSION
#define MIXREC_VERSION "0.1.0"
#endif

static void usage(FILE *f) {
    fprintf(f,
            "mixrec %s - multi-interest recommendations (kNN-Embed)\n\n"
            "Usage: mixrec COMMAND [OPTIONS]\n\n"
            "Commands:\n"
            "  build      train a model from an interaction log and save a new version\n"
            "  eval       build on the past, score the future: retrieval methods side by side\n"
            "  eval-logged another configuration's click-through, off-policy from the logs\n"
            "  tune       search the quality settings for this data, write them as a config\n"
            "  export     write the service's event or impression stream as JSON lines\n"
            "  retrain    export new events, rebuild, judge against the serving version, promote\n"
            "  synth      generate a synthetic catalogue with planted multi-interest users\n"
            "  simulate   a synthetic world's users clicking on a running server's answers\n"
            "  recommend  recommendations from a saved model, explained\n"
            "  similar    items similar to an item\n"
            "  serve      the REST/JSON service\n"
            "  routes     the service's routes (--json: as the OpenAPI check reads them)\n"
            "  bench      load time, memory and single-thread retrieval latency of a model\n\n"
            "`mixrec COMMAND --help` explains every option of a command.\n",
            MIXREC_VERSION);
}

int main(int argc, char **argv) {
#ifdef MIXREC_FAISS_AVX2
    /* Built with AVX2 FAISS kernels (scripts/deps.sh): fail clearly rather
     * than with SIGILL on a CPU without them. */
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
        fprintf(stderr, "mixrec: this build uses AVX2/FMA FAISS kernels and this CPU lacks them; "
                        "rebuild with MIXREC_FAISS_SIMD=none scripts/setup\n");
        return 1;
    }
#endif
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version")) {
        printf("mixrec %s\n", MIXREC_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "bench")) return cmd_bench(argc - 2, argv + 2);
    if (!strcmp(cmd, "recommend")) return cmd_recommend(argc - 2, argv + 2);
    if (!strcmp(cmd, "similar")) return cmd_similar(argc - 2, argv + 2);
    if (!strcmp(cmd, "serve")) return cmd_serve(argc - 2, argv + 2);
    if (!strcmp(cmd, "routes")) return cmd_routes(argc - 2, argv + 2);
    if (!strcmp(cmd, "build")) return cmd_build(argc - 2, argv + 2);
    if (!strcmp(cmd, "eval")) return cmd_eval(argc - 2, argv + 2);
    if (!strcmp(cmd, "eval-logged")) return cmd_eval_logged(argc - 2, argv + 2);
    if (!strcmp(cmd, "tune")) return cmd_tune(argc - 2, argv + 2);
    if (!strcmp(cmd, "synth")) return cmd_synth(argc - 2, argv + 2);
    if (!strcmp(cmd, "export")) return cmd_export(argc - 2, argv + 2);
    if (!strcmp(cmd, "simulate")) return cmd_simulate(argc - 2, argv + 2);
    if (!strcmp(cmd, "retrain")) return cmd_retrain(argc - 2, argv + 2);
    fprintf(stderr, "mixrec: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return 2;
}
