/* api_pages.h - pages without repeats on the three recommendation routes:
 * `after=<recommendation_id>` (query, or "after" in a POST body) answers
 * the next k for the same request, never repeating what the earlier pages
 * of that chain showed, in the order the first answer would have
 * continued.
 *
 * Storage: every recommendation answer stores what its chain has shown so
 * far under its own id, fire and forget on the worker's Redis client:
 *   SET mixrec:page:<recommendation_id> "page N U\n<item>\n<item>..." EX pages.ttl_s
 * (N: the answer's page number; U: whose chain it is, 16 hex digits of
 * FNV-1a 64 of the user id, "" for a visitor; then the chain's items in
 * the order they were shown, one per line). A client passes the latest id for the next
 * page. pages.ttl_s = 0 turns paging off: nothing is written and `after`
 * answers 400 paging_disabled.
 *
 * The rule: with S items shown so far, the recommender is asked for
 * min(S + k, limits.max_k) with the same parameters (and the user's
 * session as it is now), the shown items are dropped, the first k stay.
 * An answer has "page" (1 without after, the previous page + 1 with it)
 * and "exhausted": true when no later page can bring anything (fewer than
 * k were left, or the chain has reached limits.max_k items).
 *
 * Threading: on the request's worker, with its model lease (api.h). */
#ifndef API_PAGES_H
#define API_PAGES_H

#include "api.h"

/* What a chain has shown (the key's value, parsed). */
typedef struct api_pages api_pages;

/* `after` of the request: *after NULL when absent, else the id (borrowed
 * from the request). 0, or -1 with a 400 answer: not a string, not a
 * recommendation_id this service made, one of similar items (each naming
 * `after`), or paging_disabled. */
int api_pages_param(const api_args *a, const char **after);

/* Called once on the worker: pages is the chain of after (owned by the
 * callee: api_pages_free), or NULL when the answer is already given (404
 * unknown_recommendation, 503 pages_unavailable); done then answers or
 * just calls api_finish. */
typedef void (*api_pages_fn)(api_req *r, void *arg, api_pages *pages);

/* Reads the chain of after for user (NULL: a visitor; both borrowed until
 * done runs). A missing key may be a write still in flight from another
 * worker or replica: it is asked for again every 25 ms, 4 times, before
 * the 404. A chain of another user: 400 naming `after`. Redis down, slow
 * or not configured: 503. */
void api_pages_read(api_req *r, const char *after, const char *user, api_pages_fn done, void *arg);

/* How many to ask the recommender for: k without a chain (p NULL), else
 * shown + k, at most max_k. */
size_t api_pages_k(const api_pages *p, size_t k, size_t max_k);

/* Drops from items[0..n) what the chain has shown (ids as on m) and keeps
 * the first k, in order; returns how many stay. p NULL: min(n, k). */
size_t api_pages_cut(const api_pages *p, const mx_model *m, rec_item *items, size_t n, size_t k);

/* Completes the answer o (borrowed; api_impression has given it its
 * "recommendation_id") with "page" and "exhausted", and stores the chain
 * of user (NULL: a visitor): what p showed, then items[0..n), under the
 * answer's id when paging is on and there is Redis. k: what the request
 * asked for; max_k: the limit. */
void api_pages_answer(api_req *r, json_t *o, const char *user, const api_pages *p,
                      const mx_model *m, const rec_item *items, size_t n, size_t k, size_t max_k);

/* 1 when an earlier page of the chain p (an api_pages *, may be NULL)
 * showed item id: the shape catview_ask.shown takes. */
int api_pages_shown(const void *p, const char *id);
void api_pages_free(api_pages *p); /* NULL is a no-op */

#endif
