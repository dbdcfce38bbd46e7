/* cli_slates.c - see cli_slates.h. */
#include "cli_slates.h"

#include "cli_util.h"

int cli_slates_add(cli_slates *s, const char *path) {
    if (s->n == CLI_SLATES_MAX_FILES) {
        fprintf(stderr, "mixrec: at most %d --impressions files\n", CLI_SLATES_MAX_FILES);
        return 2;
    }
    s->paths[s->n++] = path;
    return 0;
}

int cli_slates_load(cli_slates *s, pipe_inputs *in) {
    if (!s->n) return 0;
    mx_err err = {0};
    if (!(s->log = imp_log_new())) {
        fprintf(stderr, "mixrec: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < s->n; i++) {
        imp_stats before = *imp_log_stats(s->log);
        if (imp_log_read(s->log, s->paths[i], &err)) {
            fprintf(stderr, "mixrec: --impressions %s\n", err.msg);
            return 1;
        }
        const imp_stats *a = imp_log_stats(s->log);
        cli_log("impressions %s: %zu lines, %zu slates; skipped %zu not JSON, %zu not a slate, "
                "%zu anonymous, %zu without items",
                s->paths[i], a->lines - before.lines, a->slates - before.slates,
                a->bad_json - before.bad_json, a->not_slate - before.not_slate,
                a->anonymous - before.anonymous, a->empty - before.empty);
    }
    in->impressions = s->log;
    return 0;
}

void cli_slates_free(cli_slates *s) {
    imp_log_free(s->log);
    s->log = NULL;
}

void cli_slates_print(FILE *f, const rkt_report *rr, int had_impressions) {
    const slt_report *s = &rr->slates;
    if (rr->on_slates == 2)
        fprintf(f,
                "ranker trained on: slates + temporal split (%zu of %zu logged slates; %zu + %zu "
                "groups in all, %zu rows, %zu engaged)\n",
                s->used, s->read, rr->users_train, rr->users_valid, rr->rows, rr->positives);
    else if (rr->on_slates)
        fprintf(f,
                "ranker trained on: slates (%zu of %zu logged slates; %zu training + %zu "
                "validation groups, %zu rows, %zu engaged; features from a model of the %zu "
                "events before the first slate)\n",
                s->used, s->read, rr->users_train, rr->users_valid, rr->rows, rr->positives,
                s->early_events);
    else if (had_impressions)
        fprintf(f, "ranker trained on: temporal split (slates not used: %s)\n", rr->slates_why);
    else
        fprintf(f, "ranker trained on: temporal split (no --impressions)\n");
}
