/* static_files.h - the inspector page: static files served under /ui/.
 *
 * The page (service/ui/: index.html, app.js, style.css) is plain files with
 * no build step; it talks to the public REST API like any other client.
 * This module answers GET and HEAD for "/ui" (a redirect to "/ui/") and
 * every path under "/ui/" from one directory (server.ui_dir), on the HTTP
 * thread, like /healthz: the files are small and in the page cache.
 *
 * Safety: a path is served only when every segment is made of
 * [A-Za-z0-9_.-], starts with neither a dot nor a dash, and the file it
 * names (symlinks resolved) is a regular file inside the directory. So
 * "..", hidden files and escapes through symlinks all answer 404.
 * Caching: a weak ETag (size and modification time) with
 * "Cache-Control: no-cache": browsers revalidate and get 304 while the
 * file is unchanged, and see a new version as soon as it is deployed.
 *
 * Stateless and thread-safe: nothing is cached between requests. */
#ifndef STATIC_FILES_H
#define STATIC_FILES_H

#include <stddef.h>

#include <microhttpd.h>

/* 1 if url (decoded path, no query) is "/ui" or starts with "/ui/". */
int sf_is_ui_path(const char *url);

/* The directory the page is served from. setting is server.ui_dir: ""
 * turns the page off (returns -1); "auto" picks the first of
 *   <dir of the executable>/../share/mixrec/ui   (installed layout)
 *   <dir of the executable>/../service/ui        (build dir in a checkout)
 *   the source tree's service/ui and <prefix>/share/mixrec/ui (compiled in)
 * that holds index.html (-1 if none does); any other value is used as
 * given. Writes the path to out (size bytes); 0 on success. */
int sf_resolve_dir(const char *setting, char *out, size_t size);

/* Queues the answer for a GET/HEAD of url on connection c: the file, a
 * 301 to "/ui/", 304 for a matching If-None-Match, 404 (also when the page
 * is off) or 405 for another method; errors are the API's JSON shape.
 * request_id is echoed in X-Request-Id. *status receives the status sent
 * (for the access log and metrics). Returns libmicrohttpd's verdict. */
enum MHD_Result sf_answer(struct MHD_Connection *c, const char *ui_dir_setting, const char *method,
                          const char *url, const char *request_id, int *status);

#endif
