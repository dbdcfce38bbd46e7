/* rid.h - recommendation ids: the `recommendation_id` every answer carries
 * and its impression record is keyed by (docs: the impressions stream).
 *
 * An id is 24 URL-safe characters (base64url of 18 bytes, no padding):
 * one byte of version, route and order, 6 random bytes drawn once per
 * generator, a 16-bit experiment tag (0: none), a 56-bit per-generator
 * counter passed through a bijective mix (so consecutive ids do not look
 * consecutive), and a 16-bit check over the rest. Uniqueness: within a
 * generator the counter never repeats (2^56 ids); two generators collide
 * only if their random prefixes do. The route, the order and the
 * experiment variant that made the answer are in the id, so any replica
 * can attribute an event carrying it without a lookup; the check
 * makes rid_parse refuse ids this service did not make (random strings
 * pass with odds of about 1 in 2^21).
 *
 * The route and order codes below are part of the format (never reorder;
 * add new routes at the end, at most 16).
 *
 * Threading: a rid_gen belongs to one thread (each worker has its own, no
 * lock); rid_parse and the name functions are stateless and thread-safe. */
#ifndef RID_RID_H
#define RID_RID_H

#define RID_LEN 24

/* The answering routes (names as in the API's route table). */
enum {
    RID_ROUTE_USER_RECOMMENDATIONS = 0, /* GET /v1/users/{user}/recommendations */
    RID_ROUTE_RECOMMENDATIONS = 1,      /* POST /v1/recommendations */
    RID_ROUTE_RECOMMENDATIONS_GET = 2,  /* GET /v1/recommendations */
    RID_ROUTE_ITEM_SIMILAR = 3,         /* GET /v1/items/{item}/similar */
    RID_N_ROUTES = 4
};

/* What ordered the answer (the answer's "order"). */
enum { RID_ORDER_RETRIEVAL = 0, RID_ORDER_RANKER = 1, RID_N_ORDERS = 2 };

/* "user_recommendations", ...; NULL out of range. */
const char *rid_route_name(int route);
/* The code of a route name, -1 when it is not an answering route. */
int rid_route_of(const char *name);
/* "retrieval", "ranker"; NULL out of range. */
const char *rid_order_name(int order);

typedef struct rid_gen rid_gen;

/* A generator seeded from the kernel (getrandom, else /dev/urandom); NULL
 * when neither gives random bytes or memory is short. */
rid_gen *rid_gen_new(void);
void rid_gen_free(rid_gen *g); /* NULL is a no-op */

/* A new id for route and order into out (RID_LEN characters and a NUL).
 * 0, or -1 (out is "") when route or order is out of range. */
int rid_make(rid_gen *g, int route, int order, char out[RID_LEN + 1]);
/* The same, carrying tag (experiment.h's experiment_tag: which experiment
 * and variant served the answer; 0: none). */
int rid_make_tagged(rid_gen *g, int route, int order, unsigned tag, char out[RID_LEN + 1]);

/* 0 when id is one this service makes (exactly RID_LEN base64url
 * characters, known version, route and order codes, matching check), with
 * its route and order in *route and *order (either may be NULL); -1
 * otherwise (NULL id too). Ids of the first version (before tags) parse,
 * with tag 0. */
int rid_parse(const char *id, int *route, int *order);
/* rid_parse, with the id's tag in *tag (may be NULL). */
int rid_parse_tagged(const char *id, int *route, int *order, unsigned *tag);

#endif
