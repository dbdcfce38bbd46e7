/* fuzz_vecio.c - the item-vector importers (mixrec build --item-vectors):
 * .fvecs and .npy matrices, and id lists. Input: one selector byte
 * (0: .fvecs, 1: .npy, 2: ids) then the file's bytes. */
#include "fuzz_common.h"
#include "vecio.h"

#include <math.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    static const char *const ext[3] = {"fvecs", "npy", "txt"};
    int mode = data[0] % 3;
    char p[600];
    if (snprintf(p, sizeof(p), "%s/vectors.%s", fz_dir(), ext[mode]) >= (int)sizeof(p))
        FZ_DIE("path too long");
    fz_write(p, data + 1, size - 1);
    mx_err err = {0};
    if (mode < 2) {
        float *x = NULL;
        size_t rows = 0, dim = 0;
        if (vec_read(p, &x, &rows, &dim, &err) == 0) {
            if (rows && dim && !x) FZ_DIE("no data");
            for (size_t i = 0; i < rows * dim; i++)
                if (!isfinite(x[i])) FZ_DIE("non-finite value accepted");
            free(x);
        } else if (!err.msg[0]) {
            FZ_DIE("an error without a message");
        }
    } else {
        char **ids = NULL;
        size_t n = 0;
        if (vec_read_ids(p, &ids, &n, &err) == 0) {
            for (size_t i = 0; i < n; i++)
                if (!ids[i] || !ids[i][0]) FZ_DIE("empty id accepted");
            vec_free_ids(ids, n);
        } else if (!err.msg[0]) {
            FZ_DIE("an error without a message");
        }
    }
    return 0;
}
