/* api_interleave.h - answers of an interleaved experiment (experiment.h,
 * mode "interleave"): both variants' recommendations for the request,
 * merged by team draft (interleave.h), each item marked with the variant
 * that placed it. The rest of the answer (pages, the live catalogue's
 * placement) works on the merged list as on any other; items placed there
 * (promotions, fresh items) belong to neither variant.
 *
 * Used on a worker's thread for one request; nothing is shared. */
#ifndef API_INTERLEAVE_H
#define API_INTERLEAVE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "api.h"
#include "experiment.h"
#include "recommend.h"

#define API_NO_TEAM 255 /* an item neither variant placed */
/* The variant an interleaved answer names (its items name their own). */
#define API_INTERLEAVED "interleaved"

/* Up to q->k items of both variants of e (variant 0's request runs last,
 * so the context's "last answer" state is the control's) into out, their
 * teams (0, 1) into team. 0, or rec_recommend's error. */
int api_interleave_recommend(rec_ctx *ctx, const experiment *e, const rec_query *q, rec_item *out,
                             size_t *n, uint8_t *team, mx_err *err);

/* The teams of the final items (after placement), found by item in the
 * merged list (merged, merged_team: nm entries): team[i] for final[i], or
 * API_NO_TEAM. */
void api_interleave_follow(const rec_item *merged, const uint8_t *merged_team, size_t nm,
                           const rec_item *final, size_t nf, uint8_t *team);

/* Sets "variant" on each item object of items (a JSON array of n) that a
 * variant of e placed. */
void api_interleave_mark(json_t *items, const experiment *e, const uint8_t *team, size_t n);

#endif
