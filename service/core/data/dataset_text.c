/* dataset_text.c - the text layer under the readers (dataset_read.c):
 * whole files, lines, the layout of a file (format and separator, detected
 * from its first line) and the fields of a CSV/TSV/"::" line.
 *
 * A file is read into one buffer and lines and fields are cut in place
 * (CSV quotes are undone where they stand, fields are NUL-terminated over
 * their separators), so a line costs no allocation. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "dataset_internal.h"
#include "hash.h"

int ds__read_file(ds_text *t, const char *path, uint64_t *fnv, mx_err *err) {
    memset(t, 0, sizeof(*t));
    FILE *f = fopen(path, "rb");
    if (!f) return mx_err_set(err, MX_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    size_t cap = fstat(fileno(f), &sb) == 0 && sb.st_size > 0 ? (size_t)sb.st_size + 1 : 4096;
    int rc = 0, c;
    t->buf = malloc(cap);
    if (!t->buf) goto oom;
    for (;;) {
        size_t want = cap - 1 - t->size, got = fread(t->buf + t->size, 1, want, f);
        t->size += got;
        /* A full buffer is usually the whole file (sized by fstat): probe
         * one byte before doubling. */
        if (got < want || (c = fgetc(f)) == EOF) break;
        char *b = realloc(t->buf, cap *= 2);
        if (!b) goto oom;
        t->buf = b;
        t->buf[t->size++] = (char)c;
    }
    if (ferror(f)) {
        rc = mx_err_set(err, MX_EIO, "%s: cannot read: %s", path, strerror(errno));
        goto done;
    }
    *fnv = hash_fnv1a(HASH_FNV_BASIS, t->buf, t->size);
    t->buf[t->size] = '\0';
    if (t->size >= 3 && memcmp(t->buf, "\xEF\xBB\xBF", 3) == 0) t->pos = 3; /* UTF-8 BOM */
done:
    fclose(f);
    if (rc < 0) {
        free(t->buf);
        t->buf = NULL;
    }
    return rc;
oom:
    rc = mx_err_set(err, MX_ENOMEM, "%s: out of memory reading the file", path);
    goto done;
}

int ds__next_line(ds_text *t, char **line, size_t *len) {
    if (t->pos >= t->size) return 0;
    char *s = t->buf + t->pos, *nl = memchr(s, '\n', t->size - t->pos);
    size_t n = nl ? (size_t)(nl - s) : t->size - t->pos;
    t->pos += n + (nl != NULL);
    if (n && s[n - 1] == '\r') n--;
    t->lineno++;
    *line = s;
    *len = n;
    return 1;
}

int ds__blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r') return 0;
    return 1;
}

/* The separator of a delimited line: the most frequent of tab, ';' and
 * ',' outside quotes, ties in that order (a header rarely holds any of
 * them but its separator; a quoted title may hold the others). */
static char detect_sep(const char *s, size_t n) {
    static const char cand[3] = {'\t', ';', ','};
    size_t count[3] = {0, 0, 0};
    int quoted = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') quoted = !quoted;
        for (int k = 0; k < 3 && !quoted; k++)
            count[k] += s[i] == cand[k];
    }
    int best = 2; /* nothing found: one column, comma-separated */
    for (int k = 1; k >= 0; k--)
        if (count[k] && count[k] >= count[best]) best = k;
    return cand[best];
}

ds_layout ds__detect(const char *s, size_t n, ds_format fmt, char sep) {
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    /* '[' too: no CSV starts so, and a JSON array should hear it is no object */
    if (fmt == DS_FMT_AUTO && i < n && (s[i] == '{' || s[i] == '['))
        return (ds_layout){DS_FMT_JSONL, 0};
    if (fmt == DS_FMT_AUTO && !sep)
        for (size_t k = 0; k + 1 < n; k++)
            if (s[k] == ':' && s[k + 1] == ':') return (ds_layout){DS_FMT_MOVIETWEETINGS, 0};
    if (fmt == DS_FMT_MOVIETWEETINGS || fmt == DS_FMT_JSONL) return (ds_layout){fmt, 0};
    if (fmt == DS_FMT_TSV) return (ds_layout){DS_FMT_TSV, '\t'};
    if (!sep) sep = detect_sep(s, n);
    /* Tab-separated files have no quoting (a quote is text), unless the
     * user asked for CSV with a tab separator. */
    if (fmt == DS_FMT_AUTO && sep == '\t') return (ds_layout){DS_FMT_TSV, '\t'};
    return (ds_layout){DS_FMT_CSV, sep};
}

const char *ds__format_name(ds_format fmt) {
    switch (fmt) {
    case DS_FMT_MOVIETWEETINGS:
        return "movietweetings (::)";
    case DS_FMT_TSV:
        return "TSV";
    case DS_FMT_JSONL:
        return "JSON lines";
    default:
        return "CSV";
    }
}

static int push(ds_fields *fs, char *p, size_t n) {
    if (buf_reserve((void **)&fs->f, &fs->cap, fs->n + 1, sizeof(*fs->f))) return MX_ENOMEM;
    fs->f[fs->n++] = (ds_field){p, n};
    return 0;
}

static int is_pad(char c, char sep) {
    return c == ' ' || (c == '\t' && sep != '\t');
}

/* Cuts a CSV/TSV line into fields. CSV fields may be quoted ("" is a quote
 * inside); the unquoting happens in place. TSV has no quoting. */
static int split_delimited(char *s, char *end, char sep, int quotes, ds_fields *fs,
                           const char **why) {
    for (;;) {
        while (s < end && is_pad(*s, sep))
            s++;
        if (quotes && s < end && *s == '"') {
            char *out = s, *q = s + 1;
            for (;;) {
                if (q >= end) {
                    *why = "unterminated quote (a quoted field ends at its line)";
                    return MX_EFORMAT;
                }
                if (*q == '"') {
                    if (q + 1 < end && q[1] == '"') {
                        *out++ = '"';
                        q += 2;
                        continue;
                    }
                    q++;
                    break;
                }
                *out++ = *q++;
            }
            if (push(fs, s, (size_t)(out - s)) < 0) return MX_ENOMEM;
            while (q < end && is_pad(*q, sep))
                q++;
            if (q == end) return 0;
            if (*q != sep) {
                fs->n--; /* the error is in the field just cut */
                *why = "text after a closing quote (expected the separator)";
                return MX_EFORMAT;
            }
            s = q + 1;
            continue;
        }
        char *q = s < end ? memchr(s, sep, (size_t)(end - s)) : NULL, *e = q ? q : end;
        while (e > s && is_pad(e[-1], sep))
            e--;
        if (push(fs, s, (size_t)(e - s)) < 0) return MX_ENOMEM;
        if (!q) return 0;
        s = q + 1;
    }
}

/* The byte after a field is its separator, padding, the line end or the
 * spare byte after the buffer, none of which is needed once the line is
 * split: that is where its NUL goes. */
int ds__split(char *line, size_t len, const ds_layout *l, ds_fields *fs, const char **why,
              size_t *col) {
    char *s = line, *end = line + len;
    int rc = 0;
    fs->n = 0;
    if (l->fmt == DS_FMT_MOVIETWEETINGS) {
        for (;;) {
            char *sep = NULL;
            for (char *q = s; (q = memchr(q, ':', (size_t)(end - q))) && q + 1 < end; q++)
                if (q[1] == ':') {
                    sep = q;
                    break;
                }
            if (push(fs, s, (size_t)((sep ? sep : end) - s)) < 0) return MX_ENOMEM;
            if (!sep) break;
            s = sep + 2;
        }
    } else {
        rc = split_delimited(s, end, l->sep, l->fmt == DS_FMT_CSV, fs, why);
    }
    if (rc == MX_ENOMEM) *why = "out of memory";
    *col = fs->n + 1;
    for (size_t i = 0; i < fs->n; i++)
        fs->f[i].p[fs->f[i].n] = '\0';
    return rc;
}
