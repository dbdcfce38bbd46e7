/* retrain.c - see retrain.h. */
#include "retrain.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "export.h"
#include "judge.h"
#include "model.h"
#include "path.h"
#include "rank_train.h"

/* ---- state ------------------------------------------------------------ */

typedef struct {
    char last_id[EXP_ID_LEN]; /* the last stream id exported; "" none */
    long seq;                 /* exports written: events-1 .. events-<seq> */
    long judged_seq;          /* exports a completed run has judged */
} rt_state;

static int state_read(const char *dir, rt_state *st, mx_err *err) {
    char path[4096];
    memset(st, 0, sizeof(*st));
    path_join(path, sizeof(path), dir, "state.json");
    if (access(path, F_OK) != 0) return 0; /* a first run */
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    const char *id = j ? json_string_value(json_object_get(j, "last_id")) : NULL;
    json_t *seq = j ? json_object_get(j, "seq") : NULL,
           *js = j ? json_object_get(j, "judged_seq") : NULL;
    if (!j || !id || !json_is_integer(seq) || !json_is_integer(js) || strlen(id) >= EXP_ID_LEN) {
        json_decref(j);
        return mx_err_set(err, MX_EFORMAT,
                          "%s: unreadable retrain state (expected {\"last_id\", \"seq\", "
                          "\"judged_seq\"}); fix or remove it (removing re-exports the stream)",
                          path);
    }
    snprintf(st->last_id, sizeof(st->last_id), "%s", id);
    st->seq = (long)json_integer_value(seq);
    st->judged_seq = (long)json_integer_value(js);
    json_decref(j);
    return 0;
}

/* Written whole to state.json.tmp, then renamed over state.json. */
static int state_write(const char *dir, const rt_state *st, mx_err *err) {
    char path[4096], tmp[4096];
    path_join(path, sizeof(path), dir, "state.json");
    path_join(tmp, sizeof(tmp), dir, "state.json.tmp");
    json_t *j = json_pack("{s:s,s:I,s:I}", "last_id", st->last_id, "seq", (json_int_t)st->seq,
                          "judged_seq", (json_int_t)st->judged_seq);
    int bad = !j || json_dump_file(j, tmp, JSON_INDENT(2)) != 0 || rename(tmp, path) != 0;
    json_decref(j);
    if (bad) return mx_err_set(err, MX_EIO, "%s: cannot write: %s", path, strerror(errno));
    return 0;
}

static void export_path(const char *dir, long seq, char *out, size_t len) {
    char name[64];
    snprintf(name, sizeof(name), "events-%ld.jsonl", seq);
    path_join(out, len, dir, name);
}

/* The new entries of the stream into events-<seq + 1>.jsonl; *n gets how
 * many (0: no file). */
static int export_new(const rt_opts *o, const char *dir, rt_state *st, size_t *n, mx_err *err) {
    char path[4096], tmp[4200];
    export_path(dir, st->seq + 1, path, sizeof(path));
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return mx_err_set(err, MX_EIO, "%s: %s", tmp, strerror(errno));
    exp_opts eo;
    exp_opts_init(&eo);
    eo.url = o->redis_url;
    eo.key = o->key ? o->key : "mixrec:events";
    eo.from_id = st->last_id[0] ? st->last_id : NULL;
    eo.progress = stderr;
    exp_result res;
    int rc = exp_run(&eo, f, &res, err);
    if (fclose(f) != 0 && !rc) rc = mx_err_set(err, MX_EIO, "%s: %s", tmp, strerror(errno));
    *n = rc ? 0 : res.entries;
    if (rc || res.entries == 0) {
        remove(tmp);
        if (!rc)
            cli_log("retrain: no new events in %s%s%s", eo.key, st->last_id[0] ? " after " : "",
                    st->last_id);
        return rc;
    }
    if (res.trimmed_after_from)
        cli_log("retrain: warning: %s was trimmed past the last export (its first entry is now "
                "%s): events may have been deleted unexported; run more often or raise "
                "log.events_maxlen",
                eo.key, res.first_id);
    if (rename(tmp, path) != 0) return mx_err_set(err, MX_EIO, "%s: %s", path, strerror(errno));
    st->seq++;
    snprintf(st->last_id, sizeof(st->last_id), "%s", res.last_id);
    cli_log("retrain: exported %zu new events to %s (last id %s)", res.entries, path, res.last_id);
    return state_write(dir, st, err);
}

/* ---- pruning ---------------------------------------------------------- */

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A version directory holds files only (model.h's layout). */
static int remove_version(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            path_join(path, sizeof(path), dir, e->d_name);
            unlink(path);
        }
    closedir(d);
    return rmdir(dir);
}

size_t rt_prune(const char *root, size_t keep, const char *protect) {
    if (!keep) return 0;
    char current[64] = "", path[4096], man[4096];
    model_current(root, current, sizeof(current), NULL);
    DIR *d = opendir(root);
    if (!d) return 0;
    char **names = NULL;
    size_t n = 0, cap = 0, removed = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        path_join(path, sizeof(path), root, e->d_name);
        path_join(man, sizeof(man), path, "manifest.json");
        if (access(man, F_OK) != 0) continue; /* not a version (retrain/, CURRENT) */
        if (n == cap) {
            char **nn = realloc(names, (cap = cap ? cap * 2 : 16) * sizeof(*names));
            if (!nn) break;
            names = nn;
        }
        if (!(names[n] = strdup(e->d_name))) break;
        n++;
    }
    closedir(d);
    qsort(names, n, sizeof(*names), cmp_str); /* version names sort by time */
    size_t left = n;
    for (size_t i = 0; i < n && left > keep; i++) {
        if (!strcmp(names[i], current) || (protect && !strcmp(names[i], protect))) continue;
        path_join(path, sizeof(path), root, names[i]);
        if (remove_version(path) == 0) {
            cli_log("retrain: pruned %s", path);
            removed++;
            left--;
        }
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return removed;
}

/* ---- one run ---------------------------------------------------------- */

/* ---- compaction --------------------------------------------------------- */

#define RT_COMPACT_AT 32 /* export files before they are folded into the archive */

/* Appends src to f, ending with a newline. */
static int append_file(FILE *f, const char *src) {
    FILE *in = fopen(src, "rb");
    if (!in) return -1;
    char buf[1 << 16];
    size_t got;
    int last = '\n', ok = 1;
    while (ok && (got = fread(buf, 1, sizeof(buf), in)) > 0) {
        ok = fwrite(buf, 1, got, f) == got;
        last = buf[got - 1];
    }
    ok = ok && !ferror(in) && (last == '\n' || fputc('\n', f) != EOF);
    fclose(in);
    return ok ? 0 : -1;
}

/* Beyond RT_COMPACT_AT export files, all of them are appended to
 * events-archive.jsonl (written whole to a temporary file, renamed) and
 * removed, so a long-running loop never exceeds the sources a build takes.
 * A crash between the rename and the removals leaves events twice, which
 * the import merges as repeats: harmless. */
static int compact(const char *dir, const rt_state *st, mx_err *err) {
    char path[4096], archive[4096], tmp[4200];
    size_t n = 0;
    for (long s = 1; s <= st->seq; s++) {
        export_path(dir, s, path, sizeof(path));
        n += access(path, F_OK) == 0;
    }
    if (n < RT_COMPACT_AT) return 0;
    path_join(archive, sizeof(archive), dir, "events-archive.jsonl");
    snprintf(tmp, sizeof(tmp), "%s.tmp", archive);
    FILE *f = fopen(tmp, "wb");
    int bad = !f || (access(archive, F_OK) == 0 && append_file(f, archive));
    for (long s = 1; !bad && s <= st->seq; s++) {
        export_path(dir, s, path, sizeof(path));
        if (access(path, F_OK) == 0) bad = append_file(f, path);
    }
    bad = (f && fclose(f) != 0) || bad || rename(tmp, archive) != 0;
    if (bad) {
        remove(tmp);
        return mx_err_set(err, MX_EIO, "%s: cannot compact the exports: %s", archive,
                          strerror(errno));
    }
    for (long s = 1; s <= st->seq; s++) {
        export_path(dir, s, path, sizeof(path));
        unlink(path);
    }
    cli_log("retrain: compacted %zu exports into %s", n, archive);
    return 0;
}

/* The base sources, the archive and every export, into d (a copy of
 * o->data); paths (CLI_MAX_SOURCES entries) holds their names. */
static int gather_sources(const rt_opts *o, const char *dir, const rt_state *st, cli_data *d,
                          char (*paths)[4096], size_t *n_exports, mx_err *err) {
    *d = *o->data;
    *n_exports = 0;
    path_join(paths[0], 4096, dir, "events-archive.jsonl");
    if (access(paths[0], R_OK) == 0 && d->n_sources < CLI_MAX_SOURCES)
        d->sources[d->n_sources++] = paths[(*n_exports)++];
    for (long s = 1; s <= st->seq; s++) {
        char p[4096];
        export_path(dir, s, p, sizeof(p));
        if (access(p, R_OK) != 0) continue; /* compacted, or removed by hand: fine */
        if (d->n_sources >= CLI_MAX_SOURCES || *n_exports >= CLI_MAX_SOURCES)
            return mx_err_set(err, MX_EINVAL,
                              "more than %d sources: concatenate the exports in %s into one file",
                              CLI_MAX_SOURCES, dir);
        memcpy(paths[*n_exports], p, sizeof(p));
        d->sources[d->n_sources++] = paths[(*n_exports)++];
    }
    return 0;
}

typedef struct {
    mx_model *serving;
    char serving_version[64];
    mx_model *cand;  /* judged: built on the events before the cut-off */
    mx_model *final; /* saved: cand, or rebuilt on everything when promoted */
    int rebuilt;     /* final was rebuilt on every event after the judgement */
    jdg_result jr;
} run_models;

static int build(const ds_dataset *ds, const ds_event *ev, size_t n, const cli_data *d,
                 mx_model **out, mx_err *err) {
    rkt_report rr;
    pipe_timings t;
    cli_log("retrain: building on %zu events", n);
    int rc = rkt_build(ds, ev, n, &d->cfg, &d->in, out, &t, &rr, err);
    if (!rc) cli_log_build_report(*out);
    return rc;
}

/* Builds the judged candidate, judges it, builds the version to save. */
static int build_and_judge(const rt_opts *o, const ds_dataset *ds, const cli_data *d, run_models *r,
                           mx_err *err) {
    size_t n = 0;
    const ds_event *ev = ds_events(ds, &n);
    int64_t cut = jdg_cutoff(ev, n, o->holdout, r->serving ? r->serving->t_ref : INT64_MIN);
    size_t n_train = 0;
    while (n_train < n && ev[n_train].ts < cut)
        n_train++;
    if (n_train == 0 && r->serving)
        return mx_err_set(err, MX_EINVAL,
                          "no event before the judged window (cut-off %lld): nothing to build the "
                          "candidate from",
                          (long long)cut);
    if (n_train == 0) n_train = n; /* first model, one timestamp: nothing to hold out */
    cli_log("retrain: window from ts %lld: candidate on %zu events, %zu held out", (long long)cut,
            n_train, n - n_train);
    int rc = build(ds, ev, n_train, d, &r->cand, err);
    if (!rc)
        rc = jdg_compare(ds, r->cand, r->serving, cut, d->cfg.min_train, o->margin,
                         d->cfg.ranker.session_hours, &r->jr, err);
    if (rc) return rc;
    cli_log("retrain: judged %zu users (%zu window events; %zu users only the candidate knows): "
            "candidate ndcg@10 %.4f, serving %s %.4f -> %s (%s)",
            r->jr.judged_users, r->jr.judged_events, r->jr.candidate_only, r->jr.candidate.main,
            r->serving_version[0] ? r->serving_version : "(none)", r->jr.serving.main,
            r->jr.promote ? "promote" : "keep", r->jr.reason);
    if (r->jr.promote && n_train < n) {
        r->rebuilt = 1;
        return build(ds, ev, n, d, &r->final, err);
    }
    r->final = r->cand;
    r->cand = NULL;
    return 0;
}

/* Saves r->final (CURRENT untouched) with the manifest's "retrain" object,
 * then points CURRENT at it when promoted. */
static int save(const rt_opts *o, const rt_state *st, size_t n_exports, run_models *r,
                char *version, mx_err *err) {
    json_t *rj = jdg_to_json(&r->jr);
    if (!rj) return mx_err_set(err, MX_ENOMEM, "out of memory");
    json_object_set_new(
        rj, "saved_model",
        json_string(r->rebuilt ? "rebuilt on every event (the window included) after the judgement"
                               : "the judged candidate (events before the cut-off)"));
    json_object_set_new(rj, "exports", json_integer((json_int_t)n_exports));
    json_object_set_new(rj, "stream_last_id", json_string(st->last_id));
    json_t *extra = json_pack("{s:o}", "retrain", rj);
    model_save_options so = {.no_current = 1, .manifest_extra = extra};
    int rc = model_save_opts(r->final, o->root, &so, version, err);
    json_decref(extra);
    if (rc) return rc;
    if (r->jr.promote && (rc = model_promote(o->root, version, err))) return rc;
    if (r->jr.promote)
        cli_log("retrain: promoted %s/%s (%s)", o->root, version, r->jr.reason);
    else
        cli_log("retrain: kept %s; the candidate is saved as %s/%s, not served (%s)",
                r->serving_version, o->root, version, r->jr.reason);
    return 0;
}

static int run_locked(const rt_opts *o, const char *dir, rt_outcome *outcome, mx_err *err);

int rt_run_once(const rt_opts *o, rt_outcome *outcome, mx_err *err) {
    char dir[4096];
    path_join(dir, sizeof(dir), o->root, "retrain");
    if ((mkdir(o->root, 0755) != 0 && errno != EEXIST) ||
        (mkdir(dir, 0755) != 0 && errno != EEXIST))
        return mx_err_set(err, MX_EIO, "%s: %s", dir, strerror(errno));
    /* one run per root: a second trainer (or a CronJob overlapping the
     * loop) fails instead of exporting the same entries twice */
    char lock[4096];
    path_join(lock, sizeof(lock), dir, "lock");
    int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lfd < 0) return mx_err_set(err, MX_EIO, "%s: %s", lock, strerror(errno));
    if (flock(lfd, LOCK_EX | LOCK_NB) != 0) {
        close(lfd);
        return mx_err_set(err, MX_EIO, "%s: another `mixrec retrain` runs on %s", lock, o->root);
    }
    int rc = run_locked(o, dir, outcome, err);
    close(lfd); /* releases the lock */
    return rc;
}

static int run_locked(const rt_opts *o, const char *dir, rt_outcome *outcome, mx_err *err) {
    rt_state st;
    size_t n_new = 0, n_exports = 0;
    int rc = state_read(dir, &st, err);
    if (!rc) rc = export_new(o, dir, &st, &n_new, err);
    if (rc) return rc;
    run_models r = {0};
    int has_current =
        model_current(o->root, r.serving_version, sizeof(r.serving_version), NULL) == 0;
    if (has_current && st.judged_seq >= st.seq) {
        cli_log("retrain: nothing new since the last run; %s keeps serving", r.serving_version);
        *outcome = RT_NOTHING_NEW;
        return 0;
    }
    if (has_current && model_load(o->root, &r.serving, err)) {
        cli_log("retrain: warning: the serving version %s does not load (%s): the candidate is "
                "judged against nothing",
                r.serving_version, err->msg);
        r.serving = NULL;
    }
    cli_data *d = malloc(sizeof(*d));
    char(*paths)[4096] = malloc((size_t)CLI_MAX_SOURCES * 4096);
    ds_dataset *ds = NULL;
    char version[64] = "";
    if (!d || !paths) rc = mx_err_set(err, MX_ENOMEM, "out of memory");
    if (!rc) rc = compact(dir, &st, err);
    if (!rc) rc = gather_sources(o, dir, &st, d, paths, &n_exports, err);
    if (!rc && cli_data_finish(d, &ds))
        rc = mx_err_set(err, MX_EFORMAT, "cannot load the base log and the exports (above)");
    if (!rc) rc = build_and_judge(o, ds, d, &r, err);
    if (!rc) rc = save(o, &st, n_exports, &r, version, err);
    if (!rc) {
        st.judged_seq = st.seq;
        rc = state_write(dir, &st, err);
        *outcome = r.jr.promote ? RT_PROMOTED : RT_KEPT;
        rt_prune(o->root, o->keep, version);
    }
    model_free(r.serving);
    model_free(r.cand);
    model_free(r.final);
    ds_free(ds);
    free(paths);
    free(d);
    return rc;
}
