/* api_index.c - see api_index.h. */
#include "api_index.h"

#include <stdlib.h>
#include <string.h>

/* proto/openapi.json, generated into openapi_json.c at build time. */
extern const unsigned char api_index_openapi_text[];
extern const unsigned long api_index_openapi_text_len;

void api_index_root(api_req *r) {
    api_respond_json(r, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "service", "mixrec", "api",
                                  "/openapi.json", "inspector", "/ui/", "health", "/healthz",
                                  "ready", "/readyz", "metrics", "/metrics"));
    api_finish(r);
}

void api_index_openapi(api_req *r) {
    char *copy = malloc(api_index_openapi_text_len + 1);
    if (copy) memcpy(copy, api_index_openapi_text, api_index_openapi_text_len + 1);
    api_respond(r, API_OK, copy);
    api_finish(r);
}
