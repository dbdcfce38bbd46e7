/* evtype.c - see evtype.h. */
#include "evtype.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_(id, name, def, lo, hi, help) name,
static const char *const names[EVTYPE_N] = {EVTYPE_TABLE(NAME_)};
#undef NAME_
#define DEF_(id, name, def, lo, hi, help) def,
static const char *const defaults[EVTYPE_N] = {EVTYPE_TABLE(DEF_)};
#undef DEF_

/* Other systems' names for the same engagements, as compared (lower
 * case, no '_', '-' or spaces). An add-to-cart or a favourite says "I want
 * this" short of buying it: a like. */
static const struct {
    const char *name;
    int type;
} aliases[] = {
    {"transaction", EVTYPE_PURCHASE}, {"buy", EVTYPE_PURCHASE}, {"order", EVTYPE_PURCHASE},
    {"addtocart", EVTYPE_LIKE},       {"cart", EVTYPE_LIKE},    {"favorite", EVTYPE_LIKE},
    {"favourite", EVTYPE_LIKE},
};

const char *evtype_name(int type) {
    return type >= 0 && type < EVTYPE_N ? names[type] : names[EVTYPE_VIEW];
}

int evtype_of(const char *name) {
    for (int t = 0; t < EVTYPE_N; t++)
        if (strcmp(names[t], name) == 0) return t;
    return -1;
}

int evtype_parse(const char *s, size_t len) {
    char key[24];
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '_' || s[i] == '-' || s[i] == ' ') continue;
        if (n + 1 >= sizeof(key)) return -1; /* longer than any name */
        key[n++] = (char)tolower((unsigned char)s[i]);
    }
    key[n] = '\0';
    for (int t = 0; t < EVTYPE_N; t++)
        if (strcmp(names[t], key) == 0) return t;
    for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
        if (strcmp(aliases[i].name, key) == 0) return aliases[i].type;
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
