/* npy.h - the header of a NumPy .npy file: its Python dict literal parsed
 * (dtype, order, shape). The file's preamble and data are read by vecio.c.
 * Stateless; thread-safe. */
#ifndef NPY_NPY_H
#define NPY_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "mx_err.h"

#define NPY_MAX_NDIM 32

typedef struct npy_header {
    char descr[32];
    int has_descr, has_order, has_shape;
    int fortran;
    size_t ndim;
    uint64_t shape[NPY_MAX_NDIM];
} npy_header;

/* Parses the len bytes of text (the dict literal) into *h; a malformed or
 * incomplete header is MX_EFORMAT naming path and the offset. */
int npy_parse_header(const char *text, size_t len, const char *path, npy_header *h, mx_err *err);

/* h's shape as NumPy prints it, "(3, 4)" or "(3,)", into buf. */
void npy_shape_str(const npy_header *h, char *buf, size_t cap);

#endif
