/* evtype.c - see evtype.h. */
#include "evtype.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NAME_(id, name, def, lo, hi, help) name,
static const char *const names[EVTYPE_N] = {EVTYPE_TABLE(NAME_)};
#undef NAME_
#define DEF_(id, name, def, lo, hi, help) def,
static const char *const defaults[EVTYPE_N] = {EVTYPE_TABLE(DEF_)};
#undef DEF_

/* Other systems' names for the same engagements. An add-to-cart or a
 * favourite says "I want this" short of buying it: a like. */
static const struct {
    const char *name;
    int type;
} aliases[] = {
    {"transaction", EVTYPE_PURCHASE}, {"buy", EVTYPE_PURCHASE},     {"order", EVTYPE_PURCHASE},
    {"addtocart", EVTYPE_LIKE},       {"add_to_cart", EVTYPE_LIKE}, {"cart", EVTYPE_LIKE},
    {"favorite", EVTYPE_LIKE},        {"favourite", EVTYPE_LIKE},
};

const char *evtype_name(int type) {
    return type >= 0 && type < EVTYPE_N ? names[type] : names[EVTYPE_VIEW];
}

int evtype_of(const char *name) {
    for (int t = 0; t < EVTYPE_N; t++)
        if (strcmp(names[t], name) == 0) return t;
    return -1;
}

static int same(const char *a, const char *s, size_t len) {
    return strlen(a) == len && strncasecmp(a, s, len) == 0;
}

int evtype_parse(const char *s, size_t len) {
    for (int t = 0; t < EVTYPE_N; t++)
        if (same(names[t], s, len)) return t;
    for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
        if (same(aliases[i].name, s, len)) return aliases[i].type;
    return -1;
}

double evtype_default_weight(int type) {
    return type >= 0 && type < EVTYPE_N ? strtod(defaults[type], NULL) : 0;
}

void evtype_list(char *buf, size_t len) {
    size_t used = 0;
    buf[0] = '\0';
    for (int t = 0; t < EVTYPE_N && used < len; t++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", t ? ", " : "", names[t]);
}
