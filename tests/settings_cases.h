/* settings_cases.h - runs the invalid-settings data cases of
 * tests/data/settings (see its README) against one table of the settings
 * engine: every case must fail, with a message holding each line of its
 * `error` file, and leave the settings as they were. */
#ifndef MX_SETTINGS_CASES_H
#define MX_SETTINGS_CASES_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settings.h"
#include "tap.h"

static size_t settings_case_read(const char *path, char *buf, size_t size) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, size - 1, f);
    fclose(f);
    buf[n] = 0;
    return n;
}

/* Runs the cases whose folder starts with prefix on obj (of obj_size
 * bytes, already initialised); returns how many ran. */
static int settings_run_cases(const char *data_dir, const char *prefix, const settings_table *t,
                              void *obj, size_t obj_size) {
    char dir[512], path[1024], text[4096], want[1024];
    snprintf(dir, sizeof(dir), "%s/settings", data_dir);
    DIR *d = opendir(dir);
    if (!d) FAIL("no %s", dir);
    void *before = malloc(obj_size);
    ASSERT(before != NULL);
    int ran = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, prefix, strlen(prefix)) != 0) continue;
        mx_err err = {0};
        int rc;
        memcpy(before, obj, obj_size);
        snprintf(path, sizeof(path), "%s/%s/config.json", dir, de->d_name);
        if (settings_case_read(path, text, sizeof(text))) {
            rc = settings_load_file(t, obj, path, &err);
            if (rc == 0) FAIL("case %s: the file loaded", de->d_name);
            ASSERT_CONTAINS(err.msg, path);
        } else {
            snprintf(path, sizeof(path), "%s/%s/set", dir, de->d_name);
            if (!settings_case_read(path, text, sizeof(text)))
                FAIL("case %s: no input", de->d_name);
            text[strcspn(text, "\n")] = 0;
            char *eq = strchr(text, '=');
            if (!eq) FAIL("case %s: set needs NAME=VALUE", de->d_name);
            *eq = 0;
            rc = settings_set(t, obj, text, eq + 1, 0, &err);
            if (rc == 0) FAIL("case %s: --set %s=%s succeeded", de->d_name, text, eq + 1);
            ASSERT(memcmp(before, obj, obj_size) == 0); /* a failed set changes nothing */
        }
        ASSERT(rc < 0 && err.code == rc);
        snprintf(path, sizeof(path), "%s/%s/error", dir, de->d_name);
        if (!settings_case_read(path, want, sizeof(want))) FAIL("case %s: no error", de->d_name);
        for (char *line = strtok(want, "\n"); line; line = strtok(NULL, "\n"))
            if (!strstr(err.msg, line))
                FAIL("case %s: '%s' is not in the message \"%s\"", de->d_name, line, err.msg);
        ran++;
    }
    closedir(d);
    free(before);
    return ran;
}

#endif
