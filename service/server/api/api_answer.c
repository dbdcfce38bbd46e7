/* api_answer.c - see api_answer.h. */
#include "api_answer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numfmt.h"

/* The length of the UTF-8 character at p (1 to 4), 0 when the bytes there
 * are not one (overlong forms, surrogates, past U+10FFFF: as jansson
 * refuses them). */
static size_t utf8_len(const unsigned char *p) {
    if (p[0] < 0x80) return 1;
    size_t n = (p[0] >> 5) == 6 ? 2 : (p[0] >> 4) == 14 ? 3 : (p[0] >> 3) == 30 ? 4 : 0;
    if (n == 0) return 0;
    unsigned cp = p[0] & (0x7fu >> n);
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (p[i] & 0x3fu);
    }
    static const unsigned min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return n;
}

void api_answer_put_string(tbuf *b, const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    tbuf_put(b, "\"", 1);
    size_t run = 0; /* bytes copied as they are, pending */
    while (p[run]) {
        unsigned char c = p[run];
        size_t n = c >= 0x20 && c != '"' && c != '\\' ? utf8_len(p + run) : 0;
        if (n) {
            run += n;
            continue;
        }
        tbuf_put(b, (const char *)p, run);
        p += run;
        run = 0;
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\', esc[1] = (char)c;
            tbuf_put(b, esc, 2);
        } else if (c < 0x20) {
            snprintf(esc, sizeof(esc), "\\u%04x", c);
            tbuf_put(b, esc, 6);
        } else {
            tbuf_put(b, "\\ufffd", 6); /* not UTF-8 */
        }
        p++;
    }
    tbuf_put(b, (const char *)p, run);
    tbuf_put(b, "\"", 1);
}

void api_answer_put_float(tbuf *b, float v) {
    char num[NUMFMT_FLOAT9_MAX];
    if (!isfinite(v)) {
        tbuf_put(b, "null", 4);
        return;
    }
    if (v == 1.0f) { /* propensity of every greedy item, the first score */
        tbuf_put(b, "1.0", 3);
        return;
    }
    size_t n = numfmt_float9(num, v); /* printf's %.9g, without printf */
    tbuf_put(b, num, n);
    if (!strpbrk(num, ".eE")) tbuf_put(b, ".0", 2);
}

static void put_item(tbuf *b, const mx_model *m, const catview *cv, const rec_item *it,
                     const char *variant) {
    tbuf_put(b, "{\"item\":", 8);
    api_answer_put_string(b, api_item_id(m, it));
    tbuf_put(b, ",\"score\":", 9);
    api_answer_put_float(b, it->score);
    tbuf_put(b, ",\"propensity\":", 14);
    api_answer_put_float(b, (float)rec_item_propensity(it));
    api_item_desc d = api_describe(m, it, cv);
    if (d.title) {
        tbuf_put(b, ",\"title\":", 9);
        api_answer_put_string(b, d.title);
    }
    tbuf_put(b, ",\"categories\":[", 15);
    for (size_t j = 0; j < d.n_cats; j++) {
        if (j) tbuf_put(b, ",", 1);
        api_answer_put_string(b, api_desc_category(m, &d, j));
    }
    tbuf_put(b, "]", 1);
    if (variant) {
        tbuf_put(b, ",\"variant\":", 11);
        api_answer_put_string(b, variant);
    }
    tbuf_put(b, "}", 1);
}

char *api_answer_text(const json_t *o, const mx_model *m, const catview *cv, const rec_item *items,
                      size_t n, const experiment *e, const uint8_t *team) {
    char *fields = json_dumps(o, JSON_COMPACT);
    size_t len = fields ? strlen(fields) : 0;
    if (len < 2 || fields[len - 1] != '}') {
        free(fields);
        return NULL;
    }
    tbuf b = {0};
    tbuf_put(&b, fields, len - 1); /* without its closing brace */
    free(fields);
    tbuf_put(&b, len > 2 ? ",\"items\":[" : "\"items\":[", len > 2 ? 10 : 9);
    for (size_t i = 0; i < n; i++) {
        if (i) tbuf_put(&b, ",", 1);
        const char *variant = team && e && team[i] < 2 ? e->variants[team[i]].name : NULL;
        put_item(&b, m, cv, &items[i], variant);
    }
    tbuf_put(&b, "]}", 2);
    return tbuf_take(&b);
}
