/* evtype.h - the event types (view, click, like, purchase, dislike) and
 * their default weights: the one table both the builder (an interaction
 * log's type column, bconfig's events.* rows) and the service (session
 * events, srv_config's events.* rows) read, so a type weighs the same
 * offline and online.
 *
 * EVTYPE_TABLE(X) expands X(ID, name, default, min, max, help) once per
 * type, in id order; the settings tables build their events.<name> rows
 * from it, so each default is written here and nowhere else. Stateless. */
#ifndef EVTYPE_EVTYPE_H
#define EVTYPE_EVTYPE_H

#include <stddef.h>

/* default: the weight as the text `--set` takes (settings rows want text) */
#define EVTYPE_TABLE(X)                                                                            \
    X(EVTYPE_VIEW, "view", "1", -100, 100, "weight of a view")                                     \
    X(EVTYPE_CLICK, "click", "2", -100, 100, "weight of a click")                                  \
    X(EVTYPE_LIKE, "like", "3", -100, 100, "weight of a like")                                     \
    X(EVTYPE_PURCHASE, "purchase", "5", -100, 100, "weight of a purchase")                         \
    X(EVTYPE_DISLIKE, "dislike", "-3", -100, 0,                                                    \
      "weight of a dislike (negative: pushes its interest down)")

#define EVTYPE_ENUM_(id, name, def, lo, hi, help) id,
enum { EVTYPE_TABLE(EVTYPE_ENUM_) EVTYPE_N };
#undef EVTYPE_ENUM_

/* The type's name ("view" for an unknown id, the service's fallback). */
const char *evtype_name(int type);

/* The type called exactly name, or -1: the service's API names. */
int evtype_of(const char *name);

/* The type of a value in an exported log, or -1: case, '_', '-' and
 * spaces ignored ("Add to cart" is addtocart), and a few names other
 * systems use for the same engagement (transaction, buy, order ->
 * purchase; addtocart, cart, favorite, favourite -> like; an impression is
 * not an engagement and stays unknown). */
int evtype_parse(const char *s, size_t len);

/* The default weight of type (its table entry as a number). */
double evtype_default_weight(int type);

/* Writes the names of every type, comma-separated ("view, click, ..."),
 * into buf (len > 0; truncated to fit). */
void evtype_list(char *buf, size_t len);

#endif
