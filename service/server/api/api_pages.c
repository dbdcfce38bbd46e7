/* api_pages.c - see api_pages.h. The one file of api/ that reads a hiredis
 * reply itself: a GET's string, through sess_command (sessions.h). */
#include "api_pages.h"

#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "hash.h"
#include "rid.h"

#define PAGES_RETRIES 4
#define PAGES_RETRY_MS 25

struct api_pages {
    char *text;        /* the key's value, its lines cut by NULs (owned) */
    const char **ids;  /* the items shown, in order (into text) */
    const char **byid; /* the same, sorted for bsearch */
    size_t n;
    int page;      /* the page number of the answer that stored it */
    uint64_t user; /* whose chain it is (user_tag) */
};

void api_pages_free(api_pages *p) {
    if (!p) return;
    free(p->text);
    free(p->ids);
    free(p->byid);
    free(p);
}

/* "<redis.prefix>page:<rid>", the prefix of the other keys (sessions.h). */
static int page_key(const api_req *r, const char *rid, char *buf, size_t size) {
    int n = snprintf(buf, size, "%spage:%s", r->env->cfg->redis_prefix, rid);
    return n > 0 && (size_t)n < size ? n : -1;
}

int api_pages_param(const api_args *a, const char **after) {
    if (api_param_id(a, "after", after)) return -1;
    if (!*after) return 0;
    if (a->r->env->cfg->pages_ttl_s == 0) {
        api_error(a->r, API_BAD_REQUEST, "paging_disabled",
                  "'after' needs paging, which is off on this server (pages.ttl_s = 0)");
        return -1;
    }
    int route;
    if (rid_parse(*after, &route, NULL)) {
        api_error(a->r, API_BAD_REQUEST, "bad_parameter",
                  "'after' must be the recommendation_id of an earlier answer of this service");
        return -1;
    }
    if (route == RID_ROUTE_ITEM_SIMILAR) {
        api_error(a->r, API_BAD_REQUEST, "bad_parameter",
                  "'after' is the recommendation_id of similar items; pages continue "
                  "recommendations only");
        return -1;
    }
    return 0;
}

/* Whose chain a value is: a hash of the user ("" for a visitor), so that
 * any id (even one with a newline) fits on the value's first line. */
static uint64_t user_tag(const char *user) {
    return hash_fnv1a(HASH_FNV_BASIS, user ? user : "", user ? strlen(user) : 0);
}

static int by_name(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The value "page N U\n<item>\n..." (U: user_tag in hex) as a chain;
 * NULL when it is not one. */
static api_pages *pages_parse(const char *s, size_t len) {
    api_pages *p = calloc(1, sizeof(*p));
    if (!p || !(p->text = malloc(len + 1))) goto err;
    memcpy(p->text, s, len);
    p->text[len] = 0;
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += p->text[i] == '\n';
    if (!(p->ids = malloc(lines * sizeof(*p->ids))) ||
        !(p->byid = malloc(lines * sizeof(*p->byid))))
        goto err;
    char *save = NULL, *line = strtok_r(p->text, "\n", &save);
    char *end;
    if (!line || strncmp(line, "page ", 5) != 0) goto err;
    long page = strtol(line + 5, &end, 10);
    if (*end != ' ' || page < 1 || page > 1000000000) goto err;
    p->page = (int)page;
    p->user = strtoull(end + 1, &end, 16);
    if (*end) goto err;
    while ((line = strtok_r(NULL, "\n", &save)))
        p->ids[p->n++] = line;
    memcpy(p->byid, p->ids, p->n * sizeof(*p->ids));
    qsort(p->byid, p->n, sizeof(*p->byid), by_name);
    return p;
err:
    api_pages_free(p);
    return NULL;
}

/* ---- reading a chain -------------------------------------------------------- */

typedef struct reading {
    api_req *r;
    const char *after, *user;
    api_pages_fn done;
    void *arg;
    int tries;
} reading;

static void send_get(void *arg);

static void read_done(reading *rd, api_pages *p) {
    api_req *r = rd->r;
    api_pages_fn done = rd->done;
    void *arg = rd->arg;
    free(rd);
    done(r, arg, p);
}

static void on_get(void *arg, int ok, const struct redisReply *reply, const char *error) {
    reading *rd = arg;
    api_req *r = rd->r;
    if (!ok) {
        api_error(r, API_UNAVAILABLE, "pages_unavailable",
                  "the earlier pages of 'after' are kept in Redis, which did not answer (%s); "
                  "try again",
                  error ? error : "no reply");
        read_done(rd, NULL);
        return;
    }
    if (reply->type == REDIS_REPLY_NIL) {
        /* maybe a write of another worker or replica still on its way */
        if (rd->tries++ < PAGES_RETRIES && wk_defer(r->worker, PAGES_RETRY_MS, send_get, rd) == 0)
            return;
        api_error(r, API_NOT_FOUND, "unknown_recommendation",
                  "no pages are kept for after=%s: expired (pages.ttl_s) or never served",
                  rd->after);
        read_done(rd, NULL);
        return;
    }
    api_pages *p = reply->type == REDIS_REPLY_STRING ? pages_parse(reply->str, reply->len) : NULL;
    if (!p)
        api_error(r, API_INTERNAL_ERROR, "internal",
                  "the pages kept for after=%s are not in the expected form", rd->after);
    else if (p->user != user_tag(rd->user)) {
        api_error(r, API_BAD_REQUEST, "bad_parameter",
                  "'after' continues the pages of another user (or of a visitor); pass the "
                  "recommendation_id of this user's previous page");
        api_pages_free(p);
        p = NULL;
    }
    read_done(rd, p);
}

static void send_get(void *arg) {
    reading *rd = arg;
    char key[128];
    int n = page_key(rd->r, rd->after, key, sizeof(key));
    const char *argv[2] = {"GET", key};
    size_t len[2] = {3, (size_t)n};
    sess_command(wk_sessions(rd->r->worker), 2, argv, len, on_get, rd);
}

void api_pages_read(api_req *r, const char *after, const char *user, api_pages_fn done, void *arg) {
    reading *rd = malloc(sizeof(*rd));
    if (!rd) {
        api_error(r, API_INTERNAL_ERROR, "internal", "out of memory");
        done(r, arg, NULL);
        return;
    }
    *rd = (reading){.r = r, .after = after, .user = user, .done = done, .arg = arg};
    char key[128];
    if (!wk_sessions(r->worker) || page_key(r, after, key, sizeof(key)) < 0) {
        api_error(r, API_UNAVAILABLE, "pages_unavailable",
                  "'after' needs the Redis this server keeps pages in, and it has none "
                  "(redis.url)");
        read_done(rd, NULL);
        return;
    }
    send_get(rd);
}

/* ---- continuing it ------------------------------------------------------------ */

size_t api_pages_k(const api_pages *p, size_t k, size_t max_k) {
    size_t want = (p ? p->n : 0) + k;
    return want < max_k ? want : max_k;
}

static int shown(const api_pages *p, const char *id) {
    return id && bsearch(&id, p->byid, p->n, sizeof(*p->byid), by_name) != NULL;
}

int api_pages_shown(const void *pages, const char *id) {
    return pages && shown(pages, id);
}

size_t api_pages_cut(const api_pages *p, const mx_model *m, rec_item *items, size_t n, size_t k) {
    size_t kept = 0;
    for (size_t i = 0; i < n && kept < k; i++)
        if (!p || !shown(p, api_item_id(m, &items[i]))) items[kept++] = items[i];
    return kept;
}

/* SET <prefix>page:<rid> "page N U\n<shown>\n<new>..." EX ttl, fire and forget. */
static void store(api_req *r, const char *rid, const char *user, const api_pages *p,
                  const mx_model *m, const rec_item *items, size_t n, int page) {
    char key[128], ttl[24];
    int key_len = page_key(r, rid, key, sizeof(key));
    if (key_len < 0) return;
    size_t len = 40, at = 0;
    for (size_t i = 0; p && i < p->n; i++)
        len += strlen(p->ids[i]) + 1;
    for (size_t i = 0; i < n; i++) {
        const char *id = api_item_id(m, &items[i]);
        len += id ? strlen(id) + 1 : 0;
    }
    char *v = malloc(len);
    if (!v) return; /* the next page will answer 404: as if it had expired */
    at += (size_t)snprintf(v, len, "page %d %016llx", page, (unsigned long long)user_tag(user));
    for (size_t i = 0; p && i < p->n; i++) {
        size_t l = strlen(p->ids[i]);
        v[at++] = '\n';
        memcpy(v + at, p->ids[i], l);
        at += l;
    }
    for (size_t i = 0; i < n; i++) {
        const char *id = api_item_id(m, &items[i]);
        if (!id) continue;
        size_t l = strlen(id);
        v[at++] = '\n';
        memcpy(v + at, id, l);
        at += l;
    }
    int ttl_len = snprintf(ttl, sizeof(ttl), "%d", r->env->cfg->pages_ttl_s);
    const char *argv[5] = {"SET", key, v, "EX", ttl};
    size_t lens[5] = {3, (size_t)key_len, at, 2, (size_t)ttl_len};
    sess_command(wk_sessions(r->worker), 5, argv, lens, NULL, NULL); /* argv copied */
    free(v);
}

void api_pages_answer(api_req *r, json_t *o, const char *user, const api_pages *p,
                      const mx_model *m, const rec_item *items, size_t n, size_t k, size_t max_k) {
    int page = p ? p->page + 1 : 1;
    size_t total = (p ? p->n : 0) + n;
    json_object_set_new(o, "page", json_integer(page));
    json_object_set_new(o, "exhausted", json_boolean(n < k || total >= max_k));
    const char *rid = json_string_value(json_object_get(o, "recommendation_id"));
    if (rid && r->env->cfg->pages_ttl_s > 0 && wk_sessions(r->worker))
        store(r, rid, user, p, m, items, n, page);
}
