/* promtext.c - see promtext.h. Families are found by their "# HELP name"
 * line; a sample belongs to the family before it. */
#include "promtext.h"

#include <string.h>

#include "tbuf.h"

/* The family name of a "# HELP name ..." line at s (length into *n), or
 * NULL when s is not one. */
static const char *help_name(const char *s, size_t *n) {
    if (strncmp(s, "# HELP ", 7) != 0) return NULL;
    const char *name = s + 7;
    size_t k = 0;
    while (name[k] && name[k] != ' ' && name[k] != '\n')
        k++;
    *n = k;
    return name;
}

/* The sample line [s, e) with tenant's label first. */
static void put_sample(tbuf *b, const char *s, const char *e, const char *tenant) {
    size_t name = strcspn(s, "{ ");
    if (s + name > e) name = (size_t)(e - s);
    tbuf_put(b, s, name);
    const char *rest = s + name;
    if (rest < e && *rest == '{' && !strncmp(rest + 1, "tenant=\"", 8)) { /* has its own */
        tbuf_put(b, rest, (size_t)(e - rest));
        return;
    }
    tbuf_put(b, "{tenant=\"", 9);
    tbuf_put(b, tenant, strlen(tenant));
    tbuf_put(b, "\"", 1);
    if (rest < e && *rest == '{') {
        if (rest[1] != '}') tbuf_put(b, ",", 1);
        rest++;
    } else {
        tbuf_put(b, "}", 1);
    }
    tbuf_put(b, rest, (size_t)(e - rest));
}

/* Appends the lines of family fam (name, length n) of text: its header
 * when header, its samples always. */
static void put_family(tbuf *b, const char *text, const char *fam, size_t n, int header,
                       const char *tenant) {
    int in = 0;
    for (const char *s = text; *s;) {
        const char *e = strchr(s, '\n');
        e = e ? e + 1 : s + strlen(s);
        size_t hn;
        const char *h = help_name(s, &hn);
        if (h) in = hn == n && !strncmp(h, fam, n);
        if (in) {
            if (s[0] == '#') {
                if (header) tbuf_put(b, s, (size_t)(e - s));
            } else if (e > s + 1) {
                put_sample(b, s, e, tenant);
            }
        }
        s = e;
    }
}

/* Whether family fam (n bytes) has a HELP line in text before at. */
static int seen_before(const char *text, const char *at, const char *fam, size_t n) {
    for (const char *s = text; s < at;) {
        size_t hn;
        const char *h = help_name(s, &hn);
        if (h && hn == n && !strncmp(h, fam, n)) return 1;
        const char *e = strchr(s, '\n');
        s = e ? e + 1 : at;
    }
    return 0;
}

char *promtext_merge(const char *const *texts, const char *const *names, size_t n) {
    tbuf b = {0};
    /* Families in order of first appearance: those of text 0, then any
     * only a later text has. */
    for (size_t t = 0; t < n; t++) {
        for (const char *s = texts[t]; *s;) {
            const char *e = strchr(s, '\n');
            e = e ? e + 1 : s + strlen(s);
            size_t fn;
            const char *fam = help_name(s, &fn);
            int earlier = 0;
            for (size_t u = 0; fam && u < t && !earlier; u++)
                earlier = seen_before(texts[u], texts[u] + strlen(texts[u]), fam, fn);
            if (fam && !earlier && !seen_before(texts[t], s, fam, fn))
                for (size_t u = t; u < n; u++)
                    put_family(&b, texts[u], fam, fn, u == t, names[u]);
            s = e;
        }
    }
    return tbuf_take(&b);
}
