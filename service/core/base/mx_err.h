/* mx_err.h - error codes and the error struct every fallible call fills.
 *
 * Convention (after libuv and jansson): functions return 0 on success or a
 * negative MX_E* code, and fill an optional mx_err (callers may pass NULL)
 * with a message a user can act on. Library code never prints or exits. */
#ifndef MX_ERR_H
#define MX_ERR_H

#include <stddef.h>

enum {
    MX_OK = 0,
    MX_EINVAL = -1,    /* bad argument or bad input data */
    MX_EIO = -2,       /* file could not be opened, read or written */
    MX_ENOMEM = -3,    /* allocation failed */
    MX_EFORMAT = -4,   /* file exists but its content is malformed */
    MX_EFAISS = -5,    /* FAISS reported an error */
    MX_ENOTFOUND = -6, /* a named thing does not exist */
    MX_EXGBOOST = -7   /* XGBoost reported an error */
};

typedef struct mx_err {
    int code;
    char msg[512];
} mx_err;

/* Fills err (if not NULL) and returns code, so callers can write
 * `return mx_err_set(err, MX_EINVAL, "...")`. */
int mx_err_set(mx_err *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prefixes an existing message, e.g. with the stage that failed. */
int mx_err_prefix(mx_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
