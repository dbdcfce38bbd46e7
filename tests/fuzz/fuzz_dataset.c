/* fuzz_dataset.c - the interaction-log and item-metadata importers
 * (ds_load) on arbitrary files. Input: one option byte, then the
 * interaction log, then (after the first NUL byte, if any) the metadata.
 * Option bits: 0-1 log format (auto, movietweetings, csv, tsv), 2-3 metadata
 * format, 4 a value column "rating", 5 min_value 5, 6 cat_sep ';', 7 bits
 * 0-1 mean instead: JSON lines, or a detected header-less log with the
 * columns "user,item,rating,ts", "item,-,user" or "user,item,type". */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    static const ds_format fmts[4] = {DS_FMT_AUTO, DS_FMT_MOVIETWEETINGS, DS_FMT_CSV, DS_FMT_TSV};
    uint8_t opt = data[0];
    const uint8_t *log = data + 1, *meta = memchr(log, 0, size - 1);
    size_t log_n = meta ? (size_t)(meta - log) : size - 1;
    char lp[600], mp[600];
    if (snprintf(lp, sizeof(lp), "%s/ratings.dat", fz_dir()) >= (int)sizeof(lp))
        FZ_DIE("path too long");
    if (snprintf(mp, sizeof(mp), "%s/items.dat", fz_dir()) >= (int)sizeof(mp))
        FZ_DIE("path too long");
    fz_write(lp, log, log_n);
    if (meta) fz_write(mp, meta + 1, size - 1 - log_n - 1);
    ds_import_opts o;
    ds_import_opts_init(&o);
    o.format = fmts[opt & 3];
    o.items_format = fmts[(opt >> 2) & 3];
    if (opt & 16) o.value_col = "rating";
    if (opt & 32) o.min_value = 5;
    if (opt & 64) o.cat_sep = ';';
    if (opt & 128) {
        static const char *const cols[4] = {NULL, "user,item,rating,ts", "item,-,user",
                                            "user,item,type"};
        o.format = (opt & 3) ? DS_FMT_AUTO : DS_FMT_JSONL;
        o.columns = cols[opt & 3];
    }
    ds_dataset *ds = NULL;
    mx_err err = {0};
    if (ds_load(&ds, lp, meta ? mp : NULL, &o, &err) == 0) {
        /* What a build reads next must be consistent. */
        size_t n;
        const ds_event *ev = ds_events(ds, &n);
        for (size_t i = 0; i < n; i++)
            if (ev[i].user >= ds_n_users(ds) || ev[i].item >= ds_n_items(ds) ||
                (i && ev[i].ts < ev[i - 1].ts))
                FZ_DIE("inconsistent event %zu", i);
        for (uint32_t it = 0; it < ds_n_items(ds); it++) {
            size_t nc;
            const uint16_t *c = ds_item_categories(ds, it, &nc);
            for (size_t j = 0; j < nc; j++)
                if (c[j] >= ds_n_categories(ds)) FZ_DIE("category out of range");
            if (ds_find_item(ds, ds_item_id(ds, it)) != (int64_t)it) FZ_DIE("item id lookup");
        }
        ds_free(ds);
    } else if (!err.msg[0]) {
        FZ_DIE("an error without a message");
    }
    return 0;
}
