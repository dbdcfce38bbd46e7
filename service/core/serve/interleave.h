/* interleave.h - team-draft interleaving (Radlinski, Kurup and Joachims,
 * "How does clickthrough data reflect retrieval quality?", CIKM 2008):
 * one list from two rankings, each item credited to the ranking (team)
 * that contributed it, so that a click is a vote for its team.
 *
 * Rounds: the team with fewer picks so far picks next (a coin decides
 * when both have as many), and a pick is the team's highest-ranked item
 * not yet in the list. Each team's picks keep its own order, the two
 * teams' counts differ by at most one at every prefix, and which team
 * leads is random, so neither ranking is favoured by position.
 *
 * Pure, thread-safe. */
#ifndef INTERLEAVE_INTERLEAVE_H
#define INTERLEAVE_INTERLEAVE_H

#include <stddef.h>
#include <stdint.h>

#include "recommend.h"

/* Interleaves a (na items) and b (nb) into out (capacity k): team[i] is 0
 * when out[i] came from a, 1 from b. coins: random bits, one used per
 * round where the teams are level (bit r of coins for the r-th such
 * round, cycling after 64). Items are the same by interleave_same_item.
 * Returns the
 * length: min(k, distinct items of a and b). */
/* Whether x and y are the same item: the same model id or, for items the
 * model does not know, the same extra id. */
int interleave_same_item(const rec_item *x, const rec_item *y);

size_t interleave_team_draft(const rec_item *a, size_t na, const rec_item *b, size_t nb, size_t k,
                             uint64_t coins, rec_item *out, uint8_t *team);

#endif
