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
    snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old);
    return err->code;
}

const char *mx_strerror(int code) {
    switch (code) {
    case MX_OK: return "ok";
    case MX_EINVAL: return "invalid input";
    case MX_EIO: return "i/o error";
    case MX_ENOMEM: return "out of memory";
    case MX_EFORMAT: return "malformed file";
    case MX_EFAISS: return "faiss error";
    case MX_ENOTFOUND: return "not found";
    default: return "unknown error";
    }
}
