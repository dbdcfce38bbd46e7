/* mx_err.c - see mx_err.h. */
#include "mx_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int mx_err_set(mx_err *err, int code, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
    }
    return code;
}

int mx_err_prefix(mx_err *err, const char *fmt, ...) {
    if (!err) return 0;
    char prefix[256], old[sizeof(err->msg)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof(old));
    /* Truncation is acceptable: the start of the message matters most. */
    size_t n = strlen(prefix);
    if (n > sizeof(err->msg) - 3) n = sizeof(err->msg) - 3;
    memcpy(err->msg, prefix, n);
    memcpy(err->msg + n, ": ", 2);
    size_t rest = sizeof(err->msg) - n - 3;
    size_t ol = strnlen(old, rest);
    memcpy(err->msg + n + 2, old, ol);
    err->msg[n + 2 + ol] = 0;
    return err->code;
}
