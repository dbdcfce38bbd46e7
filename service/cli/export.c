/* export.c - see export.h. The stream is read in pages of XRANGE: the
 * first page starts at "(" from_id (exclusive, Redis >= 6.2) or at the
 * id of since_ms, each next one after the last id read, so entries added
 * while exporting are included up to the moment the last page comes back
 * short. The Redis URL is parsed by the service's own parser (srv_config),
 * so both accept the same forms. */
#include "export.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "pipeline.h"
#include "srv_config.h"
#include "tsparse.h"

void exp_opts_init(exp_opts *o) {
    memset(o, 0, sizeof(*o));
    o->since_ms = -1;
    o->page = 1000;
    o->timeout_ms = 5000;
}

int exp_parse_id(const char *id, uint64_t *ms, uint64_t *seq) {
    char *end;
    if (!id || *id < '0' || *id > '9') return MX_EINVAL;
    errno = 0;
    unsigned long long a = strtoull(id, &end, 10), b = 0;
    if (errno) return MX_EINVAL;
    if (*end == '-') {
        const char *p = end + 1;
        if (*p < '0' || *p > '9') return MX_EINVAL;
        b = strtoull(p, &end, 10);
        if (errno) return MX_EINVAL;
    }
    if (*end) return MX_EINVAL;
    *ms = a;
    *seq = b;
    return 0;
}

int exp_parse_since(const char *s, int64_t *ms, mx_err *err) {
    /* A plain number above 1e11 is milliseconds already: keep its precision. */
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end != s && !*end && v > 100000000000LL) {
        *ms = v;
        return 0;
    }
    int64_t sec;
    tsparse_kind kind;
    if (tsparse(s, &sec, &kind) != 0)
        return mx_err_set(err, MX_EINVAL,
                          "--since: expected unix seconds, milliseconds or ISO 8601 "
                          "(2024-12-05T10:00:00Z), got '%s'",
                          s);
    *ms = sec * 1000;
    return 0;
}

/* Connects, authenticates and selects the database of url. */
static int connect_url(const exp_opts *o, redisContext **out, mx_err *err) {
    srv_config *c = malloc(sizeof(*c));
    if (!c) return mx_err_set(err, MX_ENOMEM, "out of memory");
    srv_config_init(c);
    mx_err perr = {0};
    int rc = 0;
    if (!o->url || !o->url[0] || srv_config_set(c, "redis.url", o->url, &perr)) {
        rc = mx_err_set(err, MX_EINVAL, "%s",
                        o->url && o->url[0] ? perr.msg : "a Redis URL is required (--redis URL)");
        goto done;
    }
    int tmo = o->timeout_ms > 0 ? o->timeout_ms : 5000;
    struct timeval tv = {tmo / 1000, (tmo % 1000) * 1000};
    redisContext *ctx = c->redis_unix ? redisConnectUnixWithTimeout(c->redis_path, tv)
                                      : redisConnectWithTimeout(c->redis_host, c->redis_port, tv);
    if (!ctx || ctx->err) {
        rc = mx_err_set(err, MX_EIO, "cannot connect to Redis at %s: %s", o->url,
                        ctx ? ctx->errstr : "out of memory");
        redisFree(ctx);
        goto done;
    }
    redisSetTimeout(ctx, tv);
    redisReply *r = NULL;
    if (c->redis_password[0]) {
        r = redisCommand(ctx, "AUTH %s", c->redis_password);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            rc = mx_err_set(err, MX_EIO, "Redis at %s refused AUTH: %s", o->url,
                            r ? r->str : ctx->errstr);
            goto fail;
        }
        freeReplyObject(r);
    }
    if (c->redis_db) {
        r = redisCommand(ctx, "SELECT %d", c->redis_db);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            rc = mx_err_set(err, MX_EIO, "Redis at %s: SELECT %d: %s", o->url, c->redis_db,
                            r ? r->str : ctx->errstr);
            goto fail;
        }
        freeReplyObject(r);
    }
    *out = ctx;
    goto done;
fail:
    freeReplyObject(r);
    redisFree(ctx);
done:
    free(c);
    return rc;
}

/* Fields whose text is a number (ts, position, an impression's format) or
 * JSON (items, request, propensities) get their JSON type; the rest stay
 * strings. Items pass as they are, in either format (docs/streams.md). */
static json_t *field_value(const char *name, const char *v, size_t len, exp_result *res) {
    static const char *const numbers[] = {"ts", "position", "format", NULL};
    static const char *const docs[] = {"items", "request", "propensities", NULL};
    for (int i = 0; numbers[i]; i++) {
        if (strcmp(name, numbers[i])) continue;
        char *end;
        errno = 0;
        long long n = strtoll(v, &end, 10);
        if (len && end == v + len && !errno) return json_integer(n);
    }
    for (int i = 0; docs[i]; i++) {
        if (strcmp(name, docs[i])) continue;
        json_t *j = json_loadb(v, len, JSON_DECODE_ANY, NULL);
        if (j) return j;
        res->unparsed++;
    }
    return json_stringn(v, len);
}

/* One XRANGE entry [id, [f1, v1, ...]] as one line. */
static int write_entry(const redisReply *e, FILE *out, exp_result *res, mx_err *err) {
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
        e->element[0]->type != REDIS_REPLY_STRING || e->element[1]->type != REDIS_REPLY_ARRAY)
        return mx_err_set(err, MX_EIO, "unexpected XRANGE reply");
    const redisReply *kv = e->element[1];
    json_t *obj = json_object();
    for (size_t i = 0; obj && i + 1 < kv->elements; i += 2) {
        const redisReply *k = kv->element[i], *v = kv->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING) continue;
        json_object_set_new(obj, k->str, field_value(k->str, v->str, v->len, res));
    }
    if (obj) json_object_set_new(obj, "stream_id", json_string(e->element[0]->str));
    char *line = obj ? json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(obj);
    if (!line) return mx_err_set(err, MX_ENOMEM, "out of memory");
    int ok = fputs(line, out) >= 0 && fputc('\n', out) != EOF;
    free(line);
    if (!ok) return mx_err_set(err, MX_EIO, "cannot write the export: %s", strerror(errno));
    snprintf(res->last_id, sizeof(res->last_id), "%s", e->element[0]->str);
    res->entries++;
    return 0;
}

static int id_cmp(uint64_t am, uint64_t as, uint64_t bm, uint64_t bs) {
    return am != bm ? (am < bm ? -1 : 1) : as != bs ? (as < bs ? -1 : 1) : 0;
}

/* Trimming removes the oldest entries first: a stream whose first entry
 * is later than from_id has lost from_id, and maybe entries after it. */
static void check_trimmed(redisContext *ctx, const exp_opts *o, exp_result *res) {
    uint64_t fm, fs, dm, ds;
    if (!o->from_id || exp_parse_id(o->from_id, &fm, &fs)) return;
    redisReply *r = redisCommand(ctx, "XRANGE %s - + COUNT 1", o->key);
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
        r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements == 2 &&
        r->element[0]->element[0]->type == REDIS_REPLY_STRING) {
        const char *first = r->element[0]->element[0]->str;
        if (!exp_parse_id(first, &dm, &ds) && id_cmp(dm, ds, fm, fs) > 0) {
            res->trimmed_after_from = 1;
            snprintf(res->first_id, sizeof(res->first_id), "%s", first);
        }
    }
    freeReplyObject(r);
}

static void progress(const exp_opts *o, const exp_result *res, double t0, int last) {
    if (!o->progress) return;
    double dt = pipe_now() - t0;
    fprintf(o->progress, "export %s: %zu entries, %.0f/s, last id %s%s\n", o->key, res->entries,
            dt > 0 ? (double)res->entries / dt : 0.0, res->last_id[0] ? res->last_id : "-",
            last ? " (done)" : "");
}

int exp_run(const exp_opts *o, FILE *out, exp_result *res, mx_err *err) {
    memset(res, 0, sizeof(*res));
    double t0 = pipe_now();
    char start[EXP_ID_LEN + 2];
    uint64_t ms = 0, seq = 0;
    if (!o->key || !o->key[0]) return mx_err_set(err, MX_EINVAL, "no stream key");
    if (o->from_id && o->from_id[0]) {
        if (exp_parse_id(o->from_id, &ms, &seq))
            return mx_err_set(err, MX_EINVAL,
                              "--from: expected a stream id like 1733390000000-0, got '%s'",
                              o->from_id);
        snprintf(start, sizeof(start), "(%" PRIu64 "-%" PRIu64, ms, seq);
    } else {
        snprintf(start, sizeof(start), "-");
    }
    /* --since and --from together: the later of the two */
    if (o->since_ms >= 0 && (!o->from_id || !o->from_id[0] || (uint64_t)o->since_ms > ms))
        snprintf(start, sizeof(start), "%" PRId64 "-0", o->since_ms);
    redisContext *ctx = NULL;
    int rc = connect_url(o, &ctx, err);
    if (rc) return rc;
    redisReply *r = redisCommand(ctx, "EXISTS %s", o->key);
    if (!r || r->type != REDIS_REPLY_INTEGER) {
        rc = mx_err_set(err, MX_EIO, "Redis at %s: EXISTS %s: %s", o->url, o->key,
                        r && r->type == REDIS_REPLY_ERROR ? r->str : ctx->errstr);
        goto done;
    }
    res->stream_missing = r->integer == 0;
    freeReplyObject(r);
    r = NULL;
    if (!res->stream_missing) check_trimmed(ctx, o, res);
    size_t page = o->page ? o->page : 1000;
    double last_report = t0;
    while (!res->stream_missing && (!o->count || res->entries < o->count)) {
        size_t want = o->count && o->count - res->entries < page ? o->count - res->entries : page;
        char cnt[24]; /* hiredis's format has no %zu */
        snprintf(cnt, sizeof(cnt), "%zu", want);
        r = redisCommand(ctx, "XRANGE %s %s + COUNT %s", o->key, start, cnt);
        if (!r || r->type != REDIS_REPLY_ARRAY) {
            rc = mx_err_set(err, MX_EIO, "Redis at %s: XRANGE %s: %s", o->url, o->key,
                            r && r->type == REDIS_REPLY_ERROR ? r->str
                            : r                               ? "unexpected reply"
                                                              : ctx->errstr);
            goto done;
        }
        for (size_t i = 0; i < r->elements && !rc; i++)
            rc = write_entry(r->element[i], out, res, err);
        size_t got = r->elements;
        freeReplyObject(r);
        r = NULL;
        if (rc) goto done;
        if (got < want) break;
        snprintf(start, sizeof(start), "(%s", res->last_id);
        if (pipe_now() - last_report >= 1.0) {
            progress(o, res, t0, 0);
            last_report = pipe_now();
        }
    }
    if (fflush(out) != 0)
        rc = mx_err_set(err, MX_EIO, "cannot write the export: %s", strerror(errno));
done:
    freeReplyObject(r);
    redisFree(ctx);
    res->seconds = pipe_now() - t0;
    if (!rc) progress(o, res, t0, 1);
    return rc;
}

/* One record of the catalogue hash as a line: {"item": id, ...record}. */
static int write_record(const redisReply *k, const redisReply *v, FILE *out, exp_result *res,
                        mx_err *err) {
    json_t *o = json_loadb(v->str, (size_t)v->len, 0, NULL);
    if (!json_is_object(o)) { /* not ours to fix: keep it out of the file, count it */
        json_decref(o);
        res->unparsed++;
        return 0;
    }
    json_object_set_new(o, "item", json_stringn(k->str, (size_t)k->len));
    int rc = json_dumpf(o, out, JSON_COMPACT | JSON_SORT_KEYS) || fputc('\n', out) == EOF;
    json_decref(o);
    if (rc) return mx_err_set(err, MX_EIO, "write error: %s", strerror(errno));
    res->entries++;
    return 0;
}

int exp_catalog(const exp_opts *o, FILE *out, exp_result *res, mx_err *err) {
    memset(res, 0, sizeof(*res));
    double t0 = pipe_now();
    redisContext *ctx = NULL;
    int rc = connect_url(o, &ctx, err);
    if (rc) return rc;
    char cursor[32] = "0";
    do { /* HSCAN: a big catalogue does not block Redis or fill one reply */
        redisReply *r = redisCommand(ctx, "HSCAN %s %s COUNT 1000", o->key, cursor);
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
            r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_ARRAY) {
            rc = mx_err_set(err, MX_EIO, "HSCAN %s at %s: %s", o->key, o->url,
                            r && r->type == REDIS_REPLY_ERROR
                                ? r->str
                                : (ctx->err ? ctx->errstr : "bad reply"));
            freeReplyObject(r);
            break;
        }
        snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
        const redisReply *kv = r->element[1];
        for (size_t i = 0; !rc && i + 1 < kv->elements; i += 2)
            if (kv->element[i]->type == REDIS_REPLY_STRING &&
                kv->element[i + 1]->type == REDIS_REPLY_STRING)
                rc = write_record(kv->element[i], kv->element[i + 1], out, res, err);
        freeReplyObject(r);
    } while (!rc && strcmp(cursor, "0"));
    redisFree(ctx);
    res->seconds = pipe_now() - t0;
    return rc;
}
