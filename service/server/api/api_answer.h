/* api_answer.h - the text of a recommendation answer, written directly.
 *
 * A jansson tree per answer (an object per item, its strings and reals,
 * then the dump: %.17g per real) cost about 40 us for 20 items, as much as
 * the ranker. The items, the bulk of the answer, are written here into
 * one buffer; the answer's other fields (a few, set by several steps: the
 * impression's id, pages, experiments) stay a jansson object, dumped and
 * joined with the items: {...the object's fields...,"items":[...]}. The
 * explained answer (explain=true, rare) keeps the tree (api_items_json).
 * The same JSON either way, keys in another order. */
#ifndef API_ANSWER_H
#define API_ANSWER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "api.h"
#include "tbuf.h"

/* The answer's text (malloc'ed; NULL on OOM): o's fields and "items", one
 * object per item with item, score, propensity, title (when there is one)
 * and categories, and variant (the team's, when team is not NULL: an
 * interleaved answer of e). o is not changed. */
char *api_answer_text(const json_t *o, const mx_model *m, const catview *cv, const rec_item *items,
                      size_t n, const experiment *e, const uint8_t *team);

/* Appends s as a JSON string (quoted; escapes '"', '\\' and control
 * characters; bytes that are not UTF-8 become U+FFFD). */
void api_answer_put_string(tbuf *b, const char *s);
/* Appends v as a JSON number: %.9g (enough digits to read back as the
 * same float), with ".0" when it would look like an integer (as jansson
 * writes reals); null when not finite. */
void api_answer_put_float(tbuf *b, float v);

#endif
