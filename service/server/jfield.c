/* jfield.c - see jfield.h. */
#include "jfield.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int jfield_fail(char *field, size_t field_size, const char *name, mx_err *err, const char *fmt,
                ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (field && field_size) snprintf(field, field_size, "%s", name);
    return mx_err_set(err, MX_EINVAL, "%s: %s", name, msg);
}

void jfield_at(char *f, const char *at, const char *fmt, ...) {
    size_t n = strnlen(at, JFIELD_MAX - 1);
    memcpy(f, at, n);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f + n, JFIELD_MAX - n, fmt, ap);
    va_end(ap);
}

static int name_ok(const char *s, size_t len, size_t max_len) {
    if (len < 1 || len > max_len) return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

int jfield_load_list(const char *text, const char *what, json_t **out, char *field,
                     size_t field_size, mx_err *err) {
    *out = NULL;
    if (!text || !text[strspn(text, " \t\r\n")]) {
        if (!(*out = json_array())) return mx_err_set(err, MX_ENOMEM, "out of memory for %s", what);
        return 0;
    }
    json_error_t je;
    if (!(*out = json_loads(text, JSON_REJECT_DUPLICATES, &je)))
        return jfield_fail(field, field_size, what, err, "invalid JSON at line %d column %d: %s",
                           je.line, je.column, je.text);
    return 0;
}

int jfield_name(const json_t *o, const char *at, size_t max_len, const char **out, char *field,
                size_t field_size, mx_err *err) {
    const json_t *name = json_object_get(o, "name");
    char f[JFIELD_MAX];
    jfield_at(f, at, ".name");
    if (!json_is_string(name) ||
        !name_ok(json_string_value(name), json_string_length(name), max_len))
        return jfield_fail(field, field_size, f, err,
                           "a name is 1..%zu characters of A-Z a-z 0-9 _ . -", max_len);
    *out = json_string_value(name);
    return 0;
}
