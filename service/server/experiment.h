/* experiment.h - online experiments: a stable split of the audience into
 * variants that serve with different settings.
 *
 * Format (the setting `experiments`, a JSON array):
 *   {"name": "ranker-off",          1..64 chars of [A-Za-z0-9_.-], unique
 *    "salt": "2026-12",             optional, 1..64 bytes; default the name
 *    "audience": 0.5,               optional, share of ids in it, (0, 1]; default 1
 *    "mode": "ab",                  optional: "ab" (default) or "interleave"
 *                                   (exactly two variants)
 *    "variants": [                  2..EXPERIMENT_MAX_VARIANTS
 *      {"name": "control", "share": 0.5},
 *      {"name": "no-ranker", "share": 0.5, "settings": {"ranking.enabled": false}}]}
 * Variant names are unique within their experiment; shares are in (0, 1]
 * and sum to 1. `settings` overrides per-request settings (experiment_
 * per_request lists them: what api_rec_params reads per request) with the
 * settings engine's own parsing, ranges
 * and messages: a variant serves with the base configuration plus its
 * overrides. Errors name the field as written
 * (`experiments[0].variants[1].settings.ranking.enabled`).
 *
 * Assignment: an id (a user, or an anonymous visitor's id) is hashed with
 * the salt (FNV-1a 64, then a 64-bit finaliser) to u in [0, 1); it is in
 * the experiment when u < audience, and its variant is the one whose
 * cumulative share first exceeds u / audience. Stable across requests,
 * replicas and restarts; experiments with different salts split
 * independently.
 *
 * Thread-safety: a list is immutable after experiment_parse; any number of
 * threads may read it. */
#ifndef EXPERIMENT_EXPERIMENT_H
#define EXPERIMENT_EXPERIMENT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "jfield.h"
#include "mx_err.h"
#include "srv_config.h"

#define EXPERIMENT_MAX 32         /* experiments in one list */
#define EXPERIMENT_MAX_VARIANTS 8 /* variants of one experiment */
#define EXPERIMENT_MAX_NAME 64    /* bytes of a name or a salt */

typedef enum { EXPERIMENT_AB, EXPERIMENT_INTERLEAVE } experiment_mode;

/* A variant; pointers borrowed from its list. */
typedef struct experiment_variant {
    const char *name;
    double share;
    const srv_config *cfg; /* the base configuration with the variant's overrides */
    size_t n_overrides;    /* settings the variant changes */
} experiment_variant;

typedef struct experiment {
    const char *name;
    const char *salt;
    double audience;
    experiment_mode mode;
    const experiment_variant *variants;
    size_t n_variants;
    /* What answers carry in their recommendation_id (rid.h) so that any
     * replica can attribute an event to the variant without a lookup:
     * tag | variant index is a variant's tag. A 13-bit hash of name and
     * salt, shifted left by 3 and never 0; unique within a list (parsing
     * refuses a collision). A new salt is a new tag: attribution to the
     * old split stops. */
    unsigned tag;
} experiment;

typedef struct experiment_list experiment_list;

/* Parses and checks arr (borrowed; a JSON array) on top of base (borrowed
 * for the call; each variant keeps its own copy), where `what` names it
 * in errors ("experiments"). On success *out is a new list (free it with
 * experiment_list_free); on error *out is NULL, field (field_size bytes,
 * JFIELD_MAX is enough; may be NULL) holds the offending field, err the
 * message starting with it, and the return is MX_EINVAL (MX_ENOMEM). */
int experiment_parse(const json_t *arr, const char *what, const srv_config *base,
                     experiment_list **out, char *field, size_t field_size, mx_err *err);
/* The same from JSON text (the setting's value; "" is the empty list). */
int experiment_parse_text(const char *text, const char *what, const srv_config *base,
                          experiment_list **out, char *field, size_t field_size, mx_err *err);
void experiment_list_free(experiment_list *l);

size_t experiment_count(const experiment_list *l);
/* Experiment i < experiment_count(l), borrowed from l. */
const experiment *experiment_at(const experiment_list *l, size_t i);

/* The variant index of id in e, or -1 when id is outside its audience. */
int experiment_assign(const experiment *e, const char *id);

/* The experiment that serves id: the first of l (in list order) whose
 * audience holds it, into *e, and id's variant in it. NULL (and *e NULL)
 * when none does or id is NULL: experiments overlapping on the same ids
 * are not layered, the earlier one wins. */
const experiment_variant *experiment_pick(const experiment_list *l, const char *id,
                                          const experiment **e);

/* Experiment i of l as JSON (a new object): name, salt, audience, mode
 * and tag with their defaults filled in, and the variants as given. */
json_t *experiment_json(const experiment_list *l, size_t i);

/* The experiment of l named name, or NULL. */
const experiment *experiment_named(const experiment_list *l, const char *name);

/* The variant slot of an interleaved answer (both variants' items in one
 * list): its tag is e->tag | EXPERIMENT_TEAMS, and experiment_of_tag
 * returns EXPERIMENT_TEAMS for it. Never a variant index (interleaving
 * has two). */
#define EXPERIMENT_TEAMS 7

/* The tag of variant v of e (see experiment.tag). */
unsigned experiment_variant_tag(const experiment *e, size_t v);
/* The experiment of l whose variant carries tag: its index in l into
 * *index, and the variant's index as the return (EXPERIMENT_TEAMS for an
 * interleaved answer); -1 when no variant of l does (tag 0, an experiment
 * removed or re-salted since). */
int experiment_of_tag(const experiment_list *l, unsigned tag, size_t *index);

/* The settings a variant may override (NULL-terminated). */
const char *const *experiment_per_request(void);

#endif
