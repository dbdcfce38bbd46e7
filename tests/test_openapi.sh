#!/usr/bin/env bash
# test_openapi.sh - proto/openapi.json and `mixrec serve` kept in step:
#   (a) the document: valid JSON, OpenAPI 3.x, every $ref resolves, every
#       operation and response well formed, examples match their schemas;
#   (b) the route table (`mixrec routes --json`, the table the server
#       routes by, so a new route without documentation fails) is exactly
#       the documented operations, API keys where the table asks for them, and every documented operation is served (not 404/405)
#       by a real server (real redis-server on a unix socket, API key set);
#   (c) every response observed matches the schema documented for its
#       operation and status (required properties, types, enums, no
#       undocumented properties, nested items too); errors have the Error
#       shape and a code the response lists in x-error-codes; the error
#       codes in the server's source are exactly the documented ones;
#   (d) every status provoked (400, 401, 403, 404, 405, 413, 415, 422, 431, 503)
#       is documented for the operation that answered it: every error code
#       of the one vocabulary (unknown/duplicate parameters, unknown fields,
#       ids over 256 bytes, too many ids) and of event tokens (minted with a
#       key, posted as Bearer, expired, altered, another user's events).
#   tests/test_openapi.sh BUILD/mixrec SOURCE_ROOT
set -uo pipefail
MIXREC=$1
SRC=$2
DOC=$SRC/proto/openapi.json
# The sources that answer errors: the API's handlers and its HTTP transport.
ERROR_SOURCES=("$SRC"/service/server/api/*.c "$SRC"/service/server/http/*.c)
source "$(dirname "$0")/lib.sh"
"$MIXREC" routes --json >"$TMP/routes.json" || { echo "mixrec routes --json failed"; exit 1; }

# ---- jq helpers over the document -----------------------------------------
# errs(schema; at): one message per way the input breaks the schema (the
# subset of OpenAPI 3.0 schema objects this document uses).
LIB='
def doc: $docs[0];
def ptr($r): $r | ltrimstr("#/") | split("/") | map(gsub("~1"; "/") | gsub("~0"; "~"));
def deref: if type == "object" and has("$ref") then .["$ref"] as $r | doc | getpath(ptr($r)) | deref else . end;
def is_method: . as $k | any(("get", "put", "post", "delete", "options", "head", "patch", "trace"); . == $k);
# The tenant copies (/v1/tenants/{tenant}/...) are made from the plain paths
# by scripts/openapi-tenants, checked current below: ops are the plain ones.
def all_ops: doc.paths | to_entries[] | .key as $p | .value | to_entries[]
  | select(.key | is_method) | {path: $p, method: .key, op: .value};
def ops: all_ops | select(.path | startswith("/v1/tenants/{tenant}/") | not);
def typeok($t):
  if $t == "integer" then type == "number" and . == floor
  elif $t == "number" then type == "number"
  else type == $t end;
def errs($s0; $at):
  . as $v | ($s0 | deref) as $s
  | if $v == null and $s.nullable == true then empty
    elif $s.oneOf != null then
      ([$s.oneOf[] as $b | select([$v | errs($b; $at)] | length == 0)] | length) as $n
      | if $n == 1 then empty else "\($at): matches \($n) of the \($s.oneOf | length) oneOf schemas" end
    elif $s.type != null and ($v | typeok($s.type) | not) then
      "\($at): \($v | type) where the schema says \($s.type)"
    else
      (if $s.enum != null and ([$s.enum[] == $v] | any | not) then
         "\($at): \($v | tojson) is not one of \($s.enum | tojson)" else empty end),
      (if $s.allOf != null then $s.allOf[] as $b | $v | errs($b; $at) else empty end),
      (if ($v | type) == "number" then
         (if $s.minimum != null and ($v < $s.minimum or ($s.exclusiveMinimum == true and $v == $s.minimum))
          then "\($at): \($v) is below the minimum \($s.minimum)" else empty end),
         (if $s.maximum != null and ($v > $s.maximum or ($s.exclusiveMaximum == true and $v == $s.maximum))
          then "\($at): \($v) is above the maximum \($s.maximum)" else empty end)
       else empty end),
      (if ($v | type) == "string" then
         (if $s.minLength != null and ($v | length) < $s.minLength then "\($at): shorter than \($s.minLength)" else empty end),
         (if $s.maxLength != null and ($v | length) > $s.maxLength then "\($at): longer than \($s.maxLength)" else empty end),
         (if $s.pattern != null and ($v | test($s.pattern) | not) then "\($at): does not match \($s.pattern)" else empty end)
       else empty end),
      (if ($v | type) == "array" then
         (if $s.minItems != null and ($v | length) < $s.minItems then "\($at): fewer than \($s.minItems) items" else empty end),
         (if $s.maxItems != null and ($v | length) > $s.maxItems then "\($at): more than \($s.maxItems) items" else empty end),
         (if $s.items != null then range(0; $v | length) as $i | $v[$i] | errs($s.items; "\($at)[\($i)]") else empty end)
       else empty end),
      (if ($v | type) == "object" then
         (($s.required // [])[] | select(. as $r | $v | has($r) | not) | "\($at): required property \(tojson) is missing"),
         ($v | keys_unsorted[] as $k
          | ($s.properties // {})[$k] as $ps
          | if $ps != null then $v[$k] | errs($ps; "\($at).\($k)")
            elif $s.additionalProperties == false then "\($at): property \($k | tojson) is not in the schema"
            elif ($s.additionalProperties | type) == "object" then $v[$k] | errs($s.additionalProperties; "\($at).\($k)")
            else empty end)
       else empty end)
    end;
def error_shape: type == "object" and (.error | type) == "object" and (.error.code | type) == "string"
  and (.error.message | type) == "string" and (.error.message | length) > 0;
'
dq() { # [jq options] PROGRAM [jq options and files]: jq with $docs and the helpers above
  local pre=()
  while [ $# -gt 0 ]; do
    case $1 in
    --arg | --argjson | --slurpfile | --rawfile) pre+=("$1" "$2" "$3"); shift 3 ;;
    -*) pre+=("$1"); shift ;;
    *) break ;;
    esac
  done
  local prog=$1
  shift
  jq --slurpfile docs "$DOC" --slurpfile routes "$TMP/routes.json" "${pre[@]}" "$LIB $prog" "$@"
}
# prints the messages, succeeds when there are none
no_errors() { # FILE_OR_- PROGRAM [jq args]: PROGRAM emits messages
  local input=$1 prog=$2; shift 2
  local out
  out=$(dq "[$prog] | .[]" -r "$@" "$input" 2>&1) || { echo "  jq: $out"; return 1; }
  [ -z "$out" ] && return 0
  echo "$out" | head -20 | sed 's/^/  /'
  return 1
}

# ---- (a) the document --------------------------------------------------------
if ! jq empty "$DOC" 2>"$TMP/jqerr"; then
  fail "proto/openapi.json is valid JSON: $(cat "$TMP/jqerr")"
  finish
fi
ok "proto/openapi.json is valid JSON"
check "openapi 3.x" jqt '.openapi | type == "string" and test("^3\\.")' "$DOC"
check "info has a title and a version" jqt '(.info.title | type == "string") and (.info.version | type == "string")' "$DOC"
check "paths is a non-empty object" jqt '(.paths | type == "object") and (.paths | length > 0)' "$DOC"
check "every \$ref resolves" no_errors "$DOC" '. as $d | [.. | objects | select(has("$ref")) | .["$ref"]] | unique | .[]
  | select(. as $r | (startswith("#/") | not) or ($d | getpath(ptr($r)) == null)) | "unresolved \(.)"'
check "every operation has a unique operationId" no_errors - '[ops | .op.operationId] | (map(select(type != "string")) | length | select(. > 0) | "\(.) operations without operationId"),
  (group_by(.) | map(select(length > 1) | .[0])[] | "duplicate operationId \(.)")' -n
check "every operation has a success response and only 3-digit statuses" no_errors - 'ops
  | (select(.op.responses | keys | any(test("^2")) | not) | "\(.method) \(.path): no 2xx response"),
    (.op.responses | keys[] | select(test("^[1-5][0-9][0-9]$") | not) | "\(.): not a status")' -n
check "every response has a description and declares X-Request-Id" no_errors - '
  ([ops | .op.responses | to_entries[] | .value | deref] + [doc.components.responses[]]) | .[]
  | (select((.description | type) != "string") | "a response without description"),
    (select(.headers["X-Request-Id"] == null) | "\(.description): no X-Request-Id header")' -n
check "every error response is documented with the Error shape and its codes" no_errors - '
  ops | .method as $m | .path as $p | .op.responses | to_entries[] | select(.key | test("^[45]"))
  | .key as $s | (.value | deref) as $r | ($r.content["application/json"].schema | deref) as $sch
  | (select($sch == null) | "\($m) \($p) \($s): no application/json schema"),
    (select($sch != null and (($sch.required // []) | index(["error"]) == null or ($sch.properties.error | deref).required != ["code", "message"]))
     | "\($m) \($p) \($s): not the Error shape"),
    (select(($r["x-error-codes"] | type) != "array" or ($r["x-error-codes"] | length) == 0) | "\($m) \($p) \($s): no x-error-codes")' -n
check "every path template parameter is declared (in: path, required)" no_errors - '
  doc.paths | to_entries[] | .key as $p | .value as $item
  | ($p | [scan("\\{([^}]+)\\}")[0]]) as $names
  | ($item | to_entries[] | select(.key | is_method) | .key) as $m
  | ([($item.parameters // [])[], ($item[$m].parameters // [])[] | deref | select(.in == "path")]) as $decl
  | ($names[] | . as $n | select([$decl[] | select(.name == $n and .required == true)] | length == 0)
     | "\($m) \($p): {\($n)} is not declared"),
    ($decl[] | select(.name as $n | $names | index([$n]) == null) | "\($m) \($p): path parameter \(.name) not in the path")' -n
for s in Error EventsError RecommendationList SimilarList Item Interest InterestWeights RecommendationRequest \
  Event EventBatch EventResult TokenRequest TokenResult Index Ready Health ReloadResult; do
  check "components/schemas/$s exists" jqt --arg s "$s" '.components.schemas[$s] | type == "object"' "$DOC"
done
check "schema examples match their schemas" no_errors - 'doc.components.schemas | to_entries[]
  | select(.value.example != null) | .key as $k | .value.example | errs({"$ref": "#/components/schemas/\($k)"}; "example of \($k)")' -n
check "an apiKey security scheme in the X-API-Key header" jqt '.components.securitySchemes | to_entries
  | any(.value.type == "apiKey" and .value.in == "header" and .value.name == "X-API-Key")' "$DOC"
check "API key security exactly on the routes the table marks api_key" no_errors - '
  (doc.components.securitySchemes | to_entries | map(select(.value.type == "apiKey" and .value.name == "X-API-Key") | .key)) as $keys
  | [$routes[0].routes[] | select(.api_key or .scope == "read") | "\(.method) \(.path)"] as $keyed
  | (doc.security // [] | select(length > 0) | "a global security requirement"),
    (ops | select(.method != "options") | ("\(.method | ascii_upcase) \(.path)" as $op | $keyed | index([$op]) != null) as $want
     | ([(.op.security // [])[] | keys[]] | any(. as $k | $keys | index([$k]) != null)) as $has
     | select($want != $has) | "\(.method) \(.path): API key security \(if $want then "missing" else "not expected" end)")' -n
check "every operation's x-scope is the table's scope (read, write, admin; none: absent)" no_errors - '
  ops | select(.method != "options") | "\(.method | ascii_upcase) \(.path)" as $op
  | ([$routes[0].routes[] | select("\(.method) \(.path)" == $op) | .scope][0] // "") as $want
  | (.op["x-scope"] // "") as $has
  | select($want != $has) | "\($op): x-scope \($has | tojson), the table says \($want | tojson)"' -n
check "read operations take a key or none (an anonymous alternative); write and admin ones do not" no_errors - '
  ops | select(.op["x-scope"] != null) | "\(.method | ascii_upcase) \(.path)" as $op
  | ((.op.security // []) | any(. == {})) as $anon
  | select($anon != (.op["x-scope"] == "read")) | "\($op): anonymous alternative \($anon)"' -n
check "every operation with a scope documents 429 rate_limited with Retry-After" no_errors - '
  ops | select(.op["x-scope"] != null) | "\(.method | ascii_upcase) \(.path)" as $op
  | (.op.responses["429"] | deref) as $r
  | select($r == null or ($r["x-error-codes"] | index(["rate_limited"]) == null) or $r.headers["Retry-After"] == null)
  | "\($op): no 429 rate_limited with Retry-After"' -n
check "the tenant paths are current copies of the plain ones (scripts/openapi-tenants --check)" \
  python3 "$SRC/scripts/openapi-tenants" --check
check "every /v1 path but /v1/tenants has its tenant copy with the tenant parameter" no_errors - '
  doc.paths | keys[] | select(startswith("/v1/") and . != "/v1/tenants" and (startswith("/v1/tenants/") | not))
  | . as $p | ("/v1/tenants/{tenant}" + ($p | ltrimstr("/v1"))) as $t
  | select((doc.paths[$t].parameters // []) | index([{"$ref": "#/components/parameters/Tenant"}]) == null)
  | "\($p): no copy \($t) with the Tenant parameter"' -n
# Event tokens: the routes whose table row has API_TOKEN_OK (the JSON of `mixrec routes`
# does not carry that flag, so it is read from the table in api.c).
tr '\n' ' ' <"$SRC/service/server/api/api.c" |
  grep -oE '\{"(GET|POST|PUT|PATCH)", *"[^"]+", *"[a-z_]+", *[^,{}]*API_TOKEN_OK' |
  sed -E 's/^\{"([A-Z]+)", *"([^"]+)".*/\1 \2/' | sort -u >"$TMP/token_ops"
check "route table rows that take an event token ($(wc -l <"$TMP/token_ops")) found in api.c" test -s "$TMP/token_ops"
check "an http bearer security scheme for event tokens" jqt '.components.securitySchemes | to_entries
  | any(.value.type == "http" and .value.scheme == "bearer")' "$DOC"
check "bearer security exactly on the routes that take an event token, as an alternative to the API key" no_errors - '
  (doc.components.securitySchemes | to_entries | map(select(.value.type == "http" and .value.scheme == "bearer") | .key)) as $bearer
  | (doc.components.securitySchemes | to_entries | map(select(.value.type == "apiKey") | .key)) as $keys
  | ($token | split("\n") | map(select(length > 0))) as $tok
  | ops | select(.method != "options") | "\(.method | ascii_upcase) \(.path)" as $op
  | (.op.security // []) as $sec
  | ([$sec[] | keys[]] | any(. as $k | $bearer | index([$k]) != null)) as $has
  | ($tok | index([$op]) != null) as $want
  | (select($want != $has) | "\($op): bearer security \(if $want then "missing" else "not expected" end)"),
    (select($has and ([$sec[] | select(keys | any(. as $k | $keys | index([$k]) != null))] | length) == 0)
     | "\($op): the bearer scheme without the API key as an alternative"),
    ($sec[] | select(length > 1) | "\($op): a requirement that needs \(keys | join(" and ")) together")' \
  -n --rawfile token "$TMP/token_ops"

# ---- (b) the route table vs the document --------------------------------------
jq -r '.routes[] | "\(.method) \(.path | gsub("\\{[^}]*\\}"; "{}")) \(.name)"' "$TMP/routes.json" >"$TMP/src_routes"
check "routes from mixrec routes --json ($(wc -l <"$TMP/src_routes"))" test -s "$TMP/src_routes"
check "route names are unique" bash -c "[ \"\$(awk '{print \$3}' '$TMP/src_routes' | sort | uniq -d)\" = '' ]"
awk '{print $1, $2}' "$TMP/src_routes" | sort -u >"$TMP/src_ops"
dq -r -n 'ops | select(.method != "options") | "\(.method | ascii_upcase) \(.path | gsub("\\{[^}]*\\}"; "{}"))"' |
  sort -u >"$TMP/doc_ops"
while read -r m p; do
  check "source route $m $p is documented" grep -qx "$m $p" "$TMP/doc_ops"
done <"$TMP/src_ops"
while read -r m p; do
  check "documented $m $p is a route of the source" grep -qx "$m $p" "$TMP/src_ops"
done <"$TMP/doc_ops"
# A path may take two methods (GET and POST /v1/recommendations): each is a row of the table.
check "every documented path has its OPTIONS preflight and at least one other method" no_errors - '
  doc.paths | to_entries[] | .key as $p | [.value | keys[] | select(is_method)] as $ms
  | select(($ms | index(["options"]) == null) or ($ms | length) < 2) | "\($p): methods \($ms)"' -n
check "the Allow header enum is exactly the method lists of the table's paths (table order)" no_errors - '
  ([$routes[0].routes | group_by(.path)[] | (map(.method) + ["OPTIONS"] | join(", "))] | unique) as $want
  | (doc.components.headers.Allow.schema.enum | sort) as $doc
  | (doc.components.headers["Access-Control-Allow-Methods"].schema.enum | sort) as $cors
  | (select($doc != $want) | "Allow enum \($doc), the table gives \($want)"),
    (select($cors != $want) | "Access-Control-Allow-Methods enum \($cors), the table gives \($want)")' -n
# One vocabulary: the query parameters an operation documents are exactly its table row's
# (`query` in mixrec routes --json), each defined once in components/parameters.
check "every operation documents exactly the query parameters of its route" no_errors - '
  ops | select(.method != "options") | .path as $p | (.method | ascii_upcase) as $m
  | ([(doc.paths[$p].parameters // [])[], (.op.parameters // [])[] | deref | select(.in == "query") | .name] | sort) as $doc
  | ([$routes[0].routes[] | select(.path == $p and .method == $m) | .query | split(",")[] | select(length > 0)] | sort) as $src
  | select($doc != $src) | "\($m) \($p): documents \($doc), the route takes \($src)"' -n
check "query parameters are shared from components/parameters (no inline copies)" no_errors - '
  ops | .method as $m | .path as $p | (.op.parameters // [])[] | select(has("$ref") | not)
  | "\($m) \($p): inline parameter \(.name)"' -n
check "the JSON bodies take the query vocabulary: RecommendationRequest = GET /v1/recommendations query" no_errors - '
  ([doc.components.schemas.RecommendationRequest.properties | keys[]] | sort) as $doc
  | ([$routes[0].routes[] | select(.path == "/v1/recommendations" and .method == "GET") | .query | split(",")[]] | sort) as $src
  | select($doc != $src) | "RecommendationRequest has \($doc), GET /v1/recommendations takes \($src)"' -n
# the body fields the source accepts (api_body_object(r, "a,b") and an event's fields[])
tokens_fields=$(grep -oE 'api_body_object\(r, "[a-z_,]+"\)' "$SRC/service/server/api/api_auth.c" | sed -E 's/.*"([^"]+)".*/\1/')
event_fields=$(tr '\n' ' ' <"$SRC/service/server/api/api_events.c" | grep -oE 'fields\[\] = \{[^}]*\}' | grep -oE '"[a-z_]+"' | tr -d '"' | paste -sd, -)
check "TokenRequest properties are the fields POST /v1/tokens takes ($tokens_fields)" jqt --arg f "$tokens_fields" \
  '([.components.schemas.TokenRequest.properties | keys[]] | sort) == ($f | split(",") | sort) and .components.schemas.TokenRequest.additionalProperties == false' "$DOC"
check "Event properties are the fields an event takes ($event_fields)" jqt --arg f "$event_fields" \
  '([.components.schemas.Event.properties | keys[]] | sort) == ($f | split(",") | sort) and .components.schemas.Event.additionalProperties == false' "$DOC"
# the checks every route runs before its handler, documented on every operation they apply to
check "every operation documents 400 unknown_parameter (every route checks its query)" no_errors - '
  ops | select(.method != "options") | select((.op.responses["400"] | deref | .["x-error-codes"] // []) | index(["unknown_parameter"]) == null)
  | "\(.method) \(.path): no 400 unknown_parameter"' -n
check "operations with query parameters document 400 duplicate_parameter" no_errors - '
  ops | select(.method != "options") | .path as $p
  | select([(.op.parameters // [])[] | deref | select(.in == "query")] | length > 0)
  | select((.op.responses["400"] | deref | .["x-error-codes"] // []) | index(["duplicate_parameter"]) == null)
  | "\(.method) \($p): no 400 duplicate_parameter"' -n
check "operations with a path id document 400 id_too_long" no_errors - '
  ops | select(.method != "options") | select(.path | test("\\{"))
  | select((.op.responses["400"] | deref | .["x-error-codes"] // []) | index(["id_too_long"]) == null)
  | "\(.method) \(.path): no 400 id_too_long"' -n
check "operations with a JSON body document 400 bad_json and unknown_field" no_errors - '
  ops | select(.op.requestBody != null)
  | (.op.responses["400"] | deref | .["x-error-codes"] // []) as $c
  | select(($c | index(["bad_json"]) == null) or ($c | index(["unknown_field"]) == null))
  | "\(.method) \(.path): 400 lacks bad_json or unknown_field"' -n
check "the metrics description names every route of the table (route label)" no_errors - '
  (doc.paths["/metrics"].get.description) as $d
  | ($routes[0].routes[].name, "unmatched") | select(. as $n | $d | test("\\b" + $n + "\\b") | not)
  | "route \(.) not in the /metrics description"' -n

# ---- error codes in the source vs the document ---------------------------------
declare -A STATUS=([API_BAD_REQUEST]=400 [API_UNAUTHORIZED]=401 [API_FORBIDDEN]=403 [API_TOO_MANY_REQUESTS]=429
  [API_NOT_FOUND]=404 [API_METHOD_NOT_ALLOWED]=405 [API_CONTENT_TOO_LARGE]=413
  [API_UNSUPPORTED_MEDIA_TYPE]=415 [API_UNPROCESSABLE_CONTENT]=422
  [API_INTERNAL_ERROR]=500 [API_UNAVAILABLE]=503 [API_HEADERS_TOO_LARGE]=431)
cat "${ERROR_SOURCES[@]}" | tr '\n' ' ' | grep -oE '(api_error|answer_now)\([^,()]*, *API_[A-Z_]+, *"[a-z_]+"' |
  sed -E 's/^[a-z_]+\([^,]*, *//' |
  sed -E 's/, *"/ /; s/"$//' | sort -u >"$TMP/src_pairs"
{ awk '{print $2}' "$TMP/src_pairs"
  cat "${ERROR_SOURCES[@]}" | tr '\n' ' ' | grep -oE '"code", *"[a-z_]+"' | sed -E 's/.*"([a-z_]+)"$/\1/'
} | sort -u >"$TMP/src_codes"
jq -r '.components.schemas.ErrorDetail.properties.code.enum[]' "$DOC" | sort -u >"$TMP/doc_codes"
# the scan must see the codes of the checks every route runs and of event tokens
for c in unknown_parameter duplicate_parameter unknown_field id_too_long token_expired bad_events; do
  check "the source scan finds the error code $c" grep -qx "$c" "$TMP/src_codes"
done
check "error codes of the source ($(wc -l <"$TMP/src_codes")) = ErrorDetail.code enum" diff "$TMP/src_codes" "$TMP/doc_codes"
# every (status, code) the source answers is documented under that status
dq -r -n '(all_ops | .op.responses | to_entries[] | .key as $s | .value | deref | (.["x-error-codes"] // [])[] | "\($s) \(.)"),
  (doc.components.responses.NoRoute["x-error-codes"][] | "404 \(.)")' | sort -u >"$TMP/doc_pairs"
while read -r st code; do
  s=${STATUS[$st]:-?}
  check "source answers $s $code: documented" grep -qx "$s $code" "$TMP/doc_pairs"
done <"$TMP/src_pairs"
while read -r s code; do
  if grep -q " $code\$" "$TMP/src_pairs"; then
    st=$(grep " $code\$" "$TMP/src_pairs" | awk '{print $1}' | while read -r x; do echo "${STATUS[$x]:-?}"; done | tr '\n' ' ')
    check "documented $s $code: the source answers it with that status" bash -c "[[ ' $st' == *' $s '* ]]"
  else
    check "documented $s $code: the source has that code" grep -qx "$code" "$TMP/src_codes"
  fi
done <"$TMP/doc_pairs"

# ---- a real server -------------------------------------------------------------
make_test_model
user=$(sed -n 2p "$TMP/syn/interactions.csv" | cut -d, -f1)
item=$(sed -n 2p "$TMP/syn/interactions.csv" | cut -d, -f2)
category=$(sed -n 2p "$TMP/syn/items.csv" | cut -d, -f3 | cut -d'|' -f1)

start_redis

KEY=test-key-1
SECRET=test-token-secret
ORIGIN=https://app.example
start() { # NAME extra args...; sets BASE_<NAME> (lib.sh's serve_start)
  serve_start "$@" --set limits.max_body_bytes=4096 --set limits.max_batch=50
}
# A: Redis, an API key, a token secret, CORS. B: no Redis, no API key (events 503, admin
# off, tokens open and not checked). A's Redis deadline is generous: on a busy machine a
# reply later than the default 50 ms drops the worker's connection until it reconnects,
# and the routes that need Redis (events, admin promotions) would answer 503 meanwhile.
start A --redis "unix:$TMP/redis.sock" --set "auth.api_keys=$KEY" --set "cors.origins=$ORIGIN" \
  --set "auth.token_secret=$SECRET" --set redis.command_timeout_ms=2000 \
  --set 'experiments.list=[{"name":"sample","audience":0.5,"variants":[{"name":"a","share":0.5},{"name":"b","share":0.5}]},
    {"name":"sample-il","mode":"interleave","variants":[{"name":"a","share":0.5},{"name":"b","share":0.5,"settings":{"ranking.enabled":false}}]}]'
start B --redis ""
A=$BASE_A
B=$BASE_B

# req BASE METHOD PATH [curl args]: status in $CODE, body in $TMP/body, headers in $TMP/hdr
req() {
  local base=$1 method=$2 path=$3; shift 3
  : >"$TMP/body"
  : >"$TMP/hdr"
  if [ "$method" = HEAD ]; then
    CODE=$(curl -s -I -o /dev/null -D "$TMP/hdr" -w '%{http_code}' --max-time 20 "$@" "$base$path")
  else
    CODE=$(curl -s -o "$TMP/body" -D "$TMP/hdr" -w '%{http_code}' --max-time 20 -X "$method" "$@" "$base$path")
  fi
  METHOD=$method
}
hdr() { grep -i "^$1:" "$TMP/hdr" | head -1 | cut -d: -f2- | sed 's/^ *//; s/\r$//'; }
is_error_body() { dq -e error_shape "$TMP/body" >/dev/null; }
status_is() { [ "$CODE" = "$1" ] || { echo "  status $CODE, expected $1: $(head -c 300 "$TMP/body")"; return 1; }; }
served() { [ "$CODE" != 404 ] && [ "$CODE" != 405 ] && [ "$CODE" != 000 ] ||
  { echo "  status $CODE: $(head -c 300 "$TMP/body")"; return 1; }; }
: >"$TMP/observed"

# check_response LABEL RESPONSE_JSON_FILE: the last response against a documented response object
check_response() {
  local label=$1 resp=$2 ct types
  types=$(jq -r '(.content // {}) | keys | join(" ")' "$resp")
  ct=$(hdr Content-Type | cut -d';' -f1 | tr -d ' ')
  if [ -z "$types" ]; then
    check "$label: no body, as documented" test ! -s "$TMP/body"
  elif [ "$METHOD" != HEAD ]; then
    check "$label: Content-Type $ct is documented ($types)" bash -c "[[ ' $types ' == *' $ct '* ]]"
    if [ "$ct" = application/json ]; then
      check "$label: body matches the documented schema" no_errors "$TMP/body" \
        'errs($r[0].content["application/json"].schema; "$")' --slurpfile r "$resp"
    fi
  fi
  check "$label: X-Request-Id header" test -n "$(hdr X-Request-Id)"
  while read -r h; do
    case $h in Access-Control-* | X-Request-Id) continue ;; esac # CORS: only for an allowed Origin
    check "$label: documented header $h present" test -n "$(hdr "$h")"
  done < <(jq -r '(.headers // {}) | keys[]' "$resp")
  if [ "$CODE" -ge 400 ] && [ "$METHOD" != HEAD ]; then
    check "$label: Error shape" is_error_body
    check "$label: error code $(jq -r '.error.code' "$TMP/body" 2>/dev/null) is in x-error-codes" \
      jqt --slurpfile r "$resp" '.error.code as $c | $r[0]["x-error-codes"] | index([$c]) != null' "$TMP/body"
  fi
}
# conforms TEMPLATE METHOD LABEL: the last response's status is documented for
# the operation, and the response matches it
conforms() {
  local tpl=$1 m=$2 label=$3
  echo "$m $tpl $CODE" >>"$TMP/observed"
  dq -n --arg p "$tpl" --arg m "$m" --arg s "$CODE" 'doc.paths[$p][$m].responses[$s] // empty | deref' >"$TMP/resp.json"
  if [ ! -s "$TMP/resp.json" ]; then
    fail "$label: status $CODE is documented for ${m^^} $tpl"
    return
  fi
  ok "$label: status $CODE is documented for ${m^^} $tpl"
  check_response "$label" "$TMP/resp.json"
}
# provoke LABEL BASE TEMPLATE METHOD PATH WANT [curl args]
provoke() {
  local label=$1 base=$2 tpl=$3 m=$4 path=$5 want=$6; shift 6
  req "$base" "${m^^}" "$path" "$@"
  check "$label: $want" status_is "$want"
  conforms "$tpl" "$m" "$label"
}
fill() { # a template with sample parameters
  local p=$1
  p=${p//\{user\}/$user}
  p=${p//\{item\}/$item}
  p=${p//\{tenant\}/default} # the plain routes' tenant, by its name
  sed -E 's/\{[^}]*\}/sample/g' <<<"$p"
}
body_for() { # operationId: a valid request body for the sample server
  case $1 in
  postRecommendations)
    jq -nc --arg u "$user" --arg i "$item" --arg c "$category" \
      '{user: $u, recent_items: [$i, "ghost-item"], exclude: ["ghost-2"], categories: [$c], k: 5, explain: true}' ;;
  postEvents) # ts in seconds, milliseconds and ISO 8601
    jq -nc --arg u "$user" --arg i "$item" --arg iso "$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)" \
      '[{user: $u, item: $i, type: "view", ts: 1700000000}, {user: $u, item: "cold-item", type: "like", ts: 1700000000123},
        {user: $u, item: $i, type: "click", ts: $iso}, {user: $u, item: $i, type: "purchase"}]' ;;
  postToken)
    jq -nc --arg u "$user" '{user: $u, ttl_s: 600}' ;;
  *)
    dq -c -n --arg id "$1" 'ops | select(.op.operationId == $id) | .op.requestBody.content["application/json"]
      | (.example // (.schema | deref | .example)) // empty' ;;
  esac
}

allow_of() { # PATH_TEMPLATE: the Allow header the table gives (its rows' methods in order, OPTIONS)
  jq -r --arg p "$1" '[.routes[] | select(.path == $p) | .method] + ["OPTIONS"] | join(", ")' "$TMP/routes.json"
}
ALLOW_HEADERS=$(jq -r '.components.headers["Access-Control-Allow-Headers"].schema.enum[0]' "$DOC")

# ---- (b) every documented operation is served -----------------------------------
while read -r tpl m opid; do
  path=$(fill "$tpl")
  args=()
  if [ "$m" = options ]; then
    args+=(-H "Origin: $ORIGIN" -H "Access-Control-Request-Method: GET")
  fi
  if dq -e -n --arg p "$tpl" --arg m "$m" '(doc.paths[$p][$m].security // []) | length > 0' >/dev/null; then
    args+=(-H "X-API-Key: $KEY")
  fi
  if dq -e -n --arg p "$tpl" --arg m "$m" 'doc.paths[$p][$m].requestBody != null' >/dev/null; then
    body=$(body_for "$opid")
    if [ -n "$body" ]; then
      args+=(-H 'Content-Type: application/json' --data-binary "$body")
      check "${m^^} $tpl: the sample body matches the documented request schema" no_errors - \
        '$b | errs(doc.paths[$p][$m].requestBody.content["application/json"].schema; "body")' \
        -n --arg p "$tpl" --arg m "$m" --argjson b "$body"
    fi
  fi
  req "$A" "${m^^}" "$path" "${args[@]}"
  check "${m^^} $tpl ($opid) is served" served
  conforms "$tpl" "$m" "${m^^} $path"
  if [ "$m" = options ]; then
    want=$(allow_of "$tpl")
    check "OPTIONS $tpl: Allow is '$want'" test "$(hdr Allow)" = "$want"
    check "OPTIONS $tpl: Access-Control-Allow-Methods is '$want'" test "$(hdr Access-Control-Allow-Methods)" = "$want"
    check "OPTIONS $tpl: Access-Control-Allow-Origin" test "$(hdr Access-Control-Allow-Origin)" = "$ORIGIN"
    check "OPTIONS $tpl: Access-Control-Allow-Headers is the documented one (with Authorization)" \
      test "$(hdr Access-Control-Allow-Headers)" = "$ALLOW_HEADERS"
  fi
  if [ "$m" = get ]; then
    req "$A" HEAD "$path" "${args[@]}" # the API key too, where GET needs it
    check "HEAD $tpl is served like GET" status_is 200
    conforms "$tpl" get "HEAD $path"
  fi
done < <(dq -r -n 'ops | "\(.path) \(.method) \(.op.operationId)"')

# ---- (c) the main operations' bodies, with everything an answer can carry ------------
# (the loop above validated every 200; these make sure the optional parts showed up)
check "the request bodies the server accepts match the documented schemas" no_errors - '
  ({user: null, recent_items: ["a"], k: 3, explain: false} | errs(doc.paths["/v1/recommendations"].post.requestBody.content["application/json"].schema; "recommendations")),
  ({events: [{user: "u", item: "i", type: "dislike"}]} | errs(doc.paths["/v1/events"].post.requestBody.content["application/json"].schema; "events object")),
  ([{user: "u", item: "i", type: "purchase", ts: 0}, {user: "u", item: "i", type: "view", ts: "2026-12-04T10:00:00+02:00"}]
   | errs(doc.paths["/v1/events"].post.requestBody.content["application/json"].schema; "events array")),
  ({user: "u"} | errs(doc.paths["/v1/tokens"].post.requestBody.content["application/json"].schema; "token request"))' -n
check "bodies the server refuses do not match the documented schemas" no_errors - '
  ({recentItems: ["a"]}, {user: "u", explain: "yes"}, {categories: [range(17) | "c"]}
   | select([errs(doc.paths["/v1/recommendations"].post.requestBody.content["application/json"].schema; "")] | length == 0)
   | "recommendations body \(tojson) matches the schema"),
  ({events: [], extra: 1}, [{user: "u", item: "i", type: "view", source: "web"}]
   | select([errs(doc.paths["/v1/events"].post.requestBody.content["application/json"].schema; "")] | length == 0)
   | "events body \(tojson) matches the schema"),
  ({user: "u", ttl_s: 10}, {user: "u", ttl: 60}, {ttl_s: 60}
   | select([errs(doc.paths["/v1/tokens"].post.requestBody.content["application/json"].schema; "")] | length == 0)
   | "token body \(tojson) matches the schema")' -n

# the entry points
req "$A" GET /
conforms / get "GET /"
check "GET / names the document, the page, health, readiness and metrics" jqt \
  '. == {service: "mixrec", api: "/openapi.json", inspector: "/ui/", health: "/healthz", ready: "/readyz", metrics: "/metrics"}' "$TMP/body"
req "$A" GET /openapi.json
conforms /openapi.json get "GET /openapi.json"
check "GET /openapi.json is this document" jqt --slurpfile d "$DOC" '. == $d[0]' "$TMP/body"

T='/v1/users/{user}/recommendations'
G=/v1/recommendations
S='/v1/items/{item}/similar'
req "$A" GET "/v1/users/$user/recommendations?k=7&explain=true&categories=$category&exclude=$item,ghost-1&recent_items=ghost-2,ghost-1"
conforms "$T" get "GET recommendations, explained, with unknown ids"
check "explained items carry interest and reason" jqt '(.items | length > 0) and (.items | all(has("reason") and has("title")))' "$TMP/body"
check "unknown ids of exclude and recent_items listed once, in order" jqt '.unknown_items == ["ghost-1", "ghost-2"] and .user != null' "$TMP/body"
check "categories keep items of the category" jqt --arg c "$category" '.items | all(.categories | index([$c]) != null)' "$TMP/body"
req "$A" GET "/v1/users/$user/recommendations?k=3"
conforms "$T" get "GET recommendations, defaults"
check "explain is off by default; no unknown_items when there are none" jqt \
  '(.items | length == 3) and (.items | all((has("reason") or has("interest")) | not)) and (has("unknown_items") | not)' "$TMP/body"
req "$A" GET "/v1/users/stranger/recommendations?k=3&explain=1"
conforms "$T" get "GET recommendations, unknown user"
check "unknown user answered" jqt '.known_user == false and (.items | length == 3)' "$TMP/body"
req "$A" GET "$G?k=4&recent_items=$item,ghost-3&explain=0"
conforms "$G" get "GET /v1/recommendations, anonymous"
check "anonymous: session none, no user, unknown ids listed" jqt \
  '.session == "none" and (has("user") | not) and .known_user == false and .unknown_items == ["ghost-3"] and (.items | length == 4)' "$TMP/body"
req "$A" GET "/v1/items/$item/similar?k=5&exclude=ghost-4&categories=$category&explain=true"
conforms "$S" get "GET similar, explained, with an unknown excluded id"
check "similar: explained, unknown ids listed" jqt --arg i "$item" \
  '.item == $i and .unknown_items == ["ghost-4"] and (.items | length > 0) and (.items | all(has("reason")))' "$TMP/body"

# events: every ts form, unknown items reported, rejections by index
req "$A" POST /v1/events -H "X-API-Key: $KEY" -H 'Content-Type: application/json' \
  -d "$(jq -nc --arg u "$user" '{events: [{user: $u, item: "new-1", type: "like"}, {user: $u, item: "new-2", type: "click"}]}')"
conforms /v1/events post "POST events {\"events\": [...]}"
check "unknown items of stored events listed" jqt '.accepted == 2 and .unknown_items == ["new-1", "new-2"]' "$TMP/body"
now=$(date +%s)
req "$A" POST /v1/events -H "X-API-Key: $KEY" -H 'Content-Type: application/json' \
  -d "$(jq -nc --arg i "$item" --argjson now "$now" --arg iso "$(date -u -d '-2 hours' +%Y-%m-%dT%H:%M:%S.250+00:00)" \
    '[{user: "u", item: $i, type: "view"}, {user: "u", item: $i, type: "zap"}, {user: "u", item: $i, type: "view", ts: "soon"},
      {user: "u", item: $i, type: "view", ts: (($now + 2 * 86400) * 1000)}, {user: "u", item: $i, type: "view", source: "web"},
      {user: "u", item: $i, type: "like", ts: ($now * 1000)}, {user: "u", item: $i, type: "click", ts: $iso},
      {user: "u", item: $i, type: "dislike", ts: ($now | tostring)}, {user: "u", item: ("x" * 257), type: "view"},
      {user: "u", item: $i, type: "view", ts: (($now + 3600) | tostring)}]')"
conforms /v1/events post "POST events, some rejected"
check "rejected events listed by index (bad type, bad ts, ts two days ahead, unknown field, item over 256 bytes)" \
  jqt '.accepted == 5 and ([.rejected[].index] == [1,2,3,4,8]) and (has("unknown_items") | not)' "$TMP/body"
check "an unknown event field is named in its rejection" jqt '.rejected[] | select(.index == 4) | .error | test("source")' "$TMP/body"
req "$A" GET "/v1/users/$user/interests"
conforms '/v1/users/{user}/interests' get "GET interests with a session"
check "interests with a session" jqt '.session == "ok" and .session_events >= 2 and (.session_interests | length > 0)' "$TMP/body"
req "$A" GET "$G?user=$user&k=3"
conforms "$G" get "GET /v1/recommendations?user="
check "GET /v1/recommendations?user= reads the session" jqt --arg u "$user" '.user == $u and .session == "ok" and .known_user' "$TMP/body"
req "$A" POST "$G" -H 'Content-Type: application/json' -d "$(jq -nc --arg u "$user" '{user: $u, k: 3}')"
conforms "$G" post "POST recommendations with a user"
check "POST with a user reads the session too" jqt --arg u "$user" '.user == $u and .session == "ok" and (.items | all(has("reason") | not))' "$TMP/body"
req "$A" POST "$G" -H 'Content-Type: application/json' -d '{"user": null, "recent_items": ["no-such"], "explain": false, "k": null}'
conforms "$G" post "POST recommendations, anonymous"
check "unknown_items listed; no user; session none" jqt '.unknown_items == ["no-such"] and (has("user") | not) and .session == "none" and (.items | length == 20)' "$TMP/body"
# an interleaved answer, a click on it, and the interleaving report
il_user=
for u in $(cut -d, -f1 "$TMP/syn/interactions.csv" | sed 1d | sort -u | head -40); do
  req "$A" GET "/v1/users/$u/recommendations?k=6"
  jqt '.variant == "interleaved"' "$TMP/body" && { il_user=$u; break; }
done
check "some user of the first 40 is in the interleaving experiment" test -n "$il_user"
conforms "$T" get "GET recommendations, interleaved"
check "an interleaved answer's items say which variant placed them" jqt \
  '.experiment == "sample-il" and (.items | length == 6) and all(.items[]; .variant == "a" or .variant == "b")' "$TMP/body"
il_click=$(jq -c --arg u "$il_user" '[{user: $u, item: .items[0].item, type: "click", recommendation_id, position: 0}]' "$TMP/body")
il_team=$(jq -r '.items[0].variant' "$TMP/body")
req "$A" POST /v1/events -H "X-API-Key: $KEY" -H 'Content-Type: application/json' -d "$il_click"
check "the click on the interleaved answer is stored" jqt '.accepted == 1' "$TMP/body"
req "$A" GET /v1/admin/experiments/sample-il/report -H "X-API-Key: $KEY"
conforms '/v1/admin/experiments/{name}/report' get "GET an interleaving experiment's report"
check "the interleaving report credits the click to the variant that placed the item" jqt --arg t "$il_team" \
  '.mode == "interleave" and .interleaving.answers >= 1 and .interleaving.answers_with_clicks == 1 and
   (.variants[] | select(.name == $t) | .wins == 1 and .clicks == 1)' "$TMP/body"
# the experiment list replaced at runtime (issue 16): PUT, PUT null, DELETE, and their errors;
# A ends on its settings' list (the same experiments, so what follows is unchanged)
X=/v1/admin/experiments
XJ=(-H 'Content-Type: application/json')
xlist=$(curl -s -H "X-API-Key: $KEY" "$A$X" | jq -c '{experiments: [.experiments[] | del(.tag)]}')
provoke "PUT experiments: A's own list, as GET gives it" "$A" "$X" put "$X" 200 -H "X-API-Key: $KEY" "${XJ[@]}" -d "$xlist"
check "PUT answers the list with its tags" jqt '[.experiments[].name] == ["sample", "sample-il"] and all(.experiments[]; .tag | test("^[0-9a-f]{4}$"))' "$TMP/body"
provoke "PUT experiments: a bad share" "$A" "$X" put "$X" 400 -H "X-API-Key: $KEY" "${XJ[@]}" \
  -d '{"experiments": [{"name": "x", "variants": [{"name": "a", "share": 0.6}, {"name": "b", "share": 0.6}]}]}'
check "invalid_experiments names the field" jqt '.error.code == "invalid_experiments" and .error.field == "experiments[0].variants"' "$TMP/body"
provoke "PUT experiments: a tag (not an input)" "$A" "$X" put "$X" 400 -H "X-API-Key: $KEY" "${XJ[@]}" \
  -d "$(curl -s -H "X-API-Key: $KEY" "$A$X")"
check "invalid_experiments names the tag" jqt '.error.code == "invalid_experiments" and .error.field == "experiments[0].tag"' "$TMP/body"
provoke "PUT experiments without the list" "$A" "$X" put "$X" 400 -H "X-API-Key: $KEY" "${XJ[@]}" -d '{}'
check "bad_parameter" jqt '.error.code == "bad_parameter"' "$TMP/body"
provoke "PUT experiments with another field" "$A" "$X" put "$X" 400 -H "X-API-Key: $KEY" "${XJ[@]}" -d '{"experiments": [], "x": 1}'
check "unknown_field" jqt '.error.code == "unknown_field"' "$TMP/body"
provoke "PUT experiments bad JSON" "$A" "$X" put "$X" 400 -H "X-API-Key: $KEY" "${XJ[@]}" -d '{"experiments": ['
provoke "PUT experiments text/plain" "$A" "$X" put "$X" 415 -H "X-API-Key: $KEY" -H 'Content-Type: text/plain' -d "$xlist"
provoke "PUT experiments no key" "$A" "$X" put "$X" 401 "${XJ[@]}" -d "$xlist"
provoke "PUT experiments wrong key" "$A" "$X" put "$X" 403 -H 'X-API-Key: nope' "${XJ[@]}" -d "$xlist"
provoke "PUT experiments, no key configured" "$B" "$X" put "$X" 403 "${XJ[@]}" -d "$xlist"
check "admin_disabled" jqt '.error.code == "admin_disabled"' "$TMP/body"
provoke "PUT experiments null" "$A" "$X" put "$X" 200 -H "X-API-Key: $KEY" "${XJ[@]}" -d '{"experiments": null}'
provoke "DELETE experiments" "$A" "$X" delete "$X" 200 -H "X-API-Key: $KEY"
check "DELETE answers the settings' list" jqt '[.experiments[].name] == ["sample", "sample-il"]' "$TMP/body"
provoke "DELETE experiments with a query" "$A" "$X" delete "$X?x=1" 400 -H "X-API-Key: $KEY"
provoke "DELETE experiments no key" "$A" "$X" delete "$X" 401
req "$A" GET /readyz
check "readyz with Redis" jqt '.redis == "ok"' "$TMP/body"
req "$B" GET /readyz
conforms /readyz get "GET readyz without Redis"
req "$B" GET "/v1/users/$user/recommendations?k=2"
conforms "$T" get "GET recommendations without Redis"
check "session unavailable without Redis" jqt '.session == "unavailable"' "$TMP/body"
req "$A" GET /healthz -H 'X-Request-Id: test-id-42' -H "Origin: $ORIGIN"
check "X-Request-Id echoed" test "$(hdr X-Request-Id)" = test-id-42
check "CORS grant for an allowed origin" test "$(hdr Access-Control-Allow-Origin)" = "$ORIGIN"

# the metrics of events, and every family the server exposes is in the description
req "$A" GET /metrics
conforms /metrics get "GET /metrics"
for m in 'mixrec_events_total{outcome="stored"}' 'mixrec_events_total{outcome="rejected"}' \
  mixrec_events_unknown_items_total 'mixrec_events_stored_total{type="view"}' 'mixrec_events_stored_total{type="dislike"}'; do
  check "metrics: $m counted" grep -qF "$m " "$TMP/body"
  check "metrics: $m is positive" bash -c "grep -F '$m ' '$TMP/body' | grep -qE ' [1-9][0-9]*\$'"
done
check 'metrics: mixrec_events_total{outcome="failed"} exposed' grep -qF 'mixrec_events_total{outcome="failed"} ' "$TMP/body"
check "metrics: a series per event type" test "$(grep -c '^mixrec_events_stored_total{type=' "$TMP/body")" = 5
grep -oE '^# TYPE [a-z_]+' "$TMP/body" | awk '{print $3}' | sort -u >"$TMP/families"
check "metrics: $(wc -l <"$TMP/families") families exposed" test -s "$TMP/families"
while read -r f; do
  check "metrics family $f is in the /metrics description" \
    jqt --arg f "$f" '.paths["/metrics"].get.description | contains("`" + $f)' "$DOC"
done <"$TMP/families"

# ---- event tokens: minted with a key, they post their own user's events only -------------
K=/v1/tokens
E=/v1/events
J=(-H 'Content-Type: application/json')
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
make_token() { # USER EXPIRES_AT: a token signed as server A signs (api_auth.h: expiry.user.HMAC)
  local payload
  payload="$2.$(printf '%s' "$1" | b64url)"
  printf '%s.%s' "$payload" "$(printf '%s' "$payload" | openssl dgst -sha256 -hmac "$SECRET" -binary | b64url)"
}
provoke "POST tokens" "$A" "$K" post "$K" 200 -H "X-API-Key: $KEY" "${J[@]}" -d "$(jq -nc --arg u "$user" '{user: $u, ttl_s: 600}')"
token=$(jq -r .token "$TMP/body")
check "the token is for the user, for ttl_s seconds" jqt --arg u "$user" --argjson now "$(date +%s)" \
  '.user == $u and .ttl_s == 600 and (.expires_at - $now | . >= 590 and . <= 610)' "$TMP/body"
provoke "POST tokens, ttl_s by default" "$A" "$K" post "$K" 200 -H "X-API-Key: $KEY" "${J[@]}" -d '{"user": "visitor-9"}'
check "ttl_s defaults to 3600" jqt '.ttl_s == 3600 and .user == "visitor-9"' "$TMP/body"
evu=$(jq -nc --arg u "$user" --arg i "$item" '[{user: $u, item: $i, type: "click"}, {user: $u, item: "new-item", type: "view"}]')
provoke "POST events with the user's event token" "$A" "$E" post "$E" 200 -H "Authorization: Bearer $token" "${J[@]}" -d "$evu"
check "events posted with a token are stored" jqt '.accepted == 2 and .unknown_items == ["new-item"]' "$TMP/body"
provoke "POST events with an event token, another user's event" "$A" "$E" post "$E" 403 -H "Authorization: Bearer $token" "${J[@]}" \
  -d "$(jq -nc --arg u "$user" --arg i "$item" '[{user: $u, item: $i, type: "click"}, {user: "someone-else", item: $i, type: "click"}]')"
check "another user's event: forbidden" jqt '.error.code == "forbidden" and (.error.message | test("someone-else"))' "$TMP/body"
i=$((${#token} - 10))
[ "${token:i:1}" = A ] && c=B || c=A
provoke "POST events with an altered token" "$A" "$E" post "$E" 403 -H "Authorization: Bearer ${token:0:i}$c${token:i+1}" "${J[@]}" -d "$evu"
provoke "POST events with a token for another user" "$A" "$E" post "$E" 403 \
  -H "Authorization: Bearer $(printf '%s' "$token" | sed -E 's/^([0-9]+)\.[^.]+/\1.c29tZW9uZQ/')" "${J[@]}" -d "$evu"
provoke "POST events with a token signed like the server's" "$A" "$E" post "$E" 200 \
  -H "Authorization: Bearer $(make_token "$user" $(($(date +%s) + 120)))" "${J[@]}" -d "$evu"
provoke "POST events with an expired token" "$A" "$E" post "$E" 401 \
  -H "Authorization: Bearer $(make_token "$user" $(($(date +%s) - 5)))" "${J[@]}" -d "$evu"
check "token_expired" jqt '.error.code == "token_expired"' "$TMP/body"
provoke "POST events, a bad key wins over a good token" "$A" "$E" post "$E" 403 -H "X-API-Key: nope" -H "Authorization: Bearer $token" "${J[@]}" -d "$evu"
provoke "POST tokens with a Bearer token and no key" "$A" "$K" post "$K" 401 -H "Authorization: Bearer $token" "${J[@]}" -d '{"user": "u"}'
provoke "POST tokens no key" "$A" "$K" post "$K" 401 "${J[@]}" -d '{"user": "u"}'
provoke "POST tokens wrong key" "$A" "$K" post "$K" 403 -H 'X-API-Key: nope' "${J[@]}" -d '{"user": "u"}'
provoke "POST admin reload with an event token" "$A" /v1/admin/reload post /v1/admin/reload 401 -H "Authorization: Bearer $token"
provoke "POST tokens without a key configured: open" "$B" "$K" post "$K" 200 "${J[@]}" -d '{"user": "u", "ttl_s": 60}'
provoke "POST events without a key configured: a Bearer token is not checked" "$B" "$E" post "$E" 503 \
  -H 'Authorization: Bearer not-a-token' "${J[@]}" -d "$evu"
check "admitted (only Redis is missing)" jqt '.error.code == "redis_unavailable"' "$TMP/body"

# ---- (d) errors: each status documented for the operation that answered ---------------
R=/v1/recommendations
L=/v1/admin/reload
ev1='[{"user":"u","item":"i","type":"view"}]'
long=$(printf 'u%.0s' $(seq 257))
head -c 10000 /dev/zero | tr '\0' 'a' >"$TMP/big"
# every route checks its query: a parameter it does not take is 400 unknown_parameter
while read -r tpl m; do
  provoke "${m^^} $tpl?bogus=1" "$A" "$tpl" "$m" "$(fill "$tpl")?bogus=1" 400
  check "${m^^} $tpl?bogus=1: unknown_parameter" jqt '.error.code == "unknown_parameter"' "$TMP/body"
done < <(dq -r -n 'ops | select(.method != "options") | "\(.path) \(.method)"')
provoke "GET recommendations category= (the old name)" "$A" "$T" get "/v1/users/$user/recommendations?category=$category" 400
check "unknown_parameter suggests categories" jqt '.error.code == "unknown_parameter" and (.error.message | contains("did you mean '"'categories'"'"))' "$TMP/body"
provoke "GET /v1/recommendations recentItems=" "$A" "$G" get "$G?recentItems=$item" 400
check "unknown_parameter suggests recent_items" jqt '.error.message | contains("did you mean '"'recent_items'"'")' "$TMP/body"
provoke "GET similar recent_items (not taken there)" "$A" "$S" get "/v1/items/$item/similar?recent_items=$item" 400
check "similar: recent_items is unknown_parameter" jqt '.error.code == "unknown_parameter"' "$TMP/body"
provoke "GET /metrics?name=x" "$A" /metrics get "/metrics?name=x" 400
provoke "GET recommendations k twice" "$A" "$T" get "/v1/users/$user/recommendations?k=5&k=7" 400
check "duplicate_parameter" jqt '.error.code == "duplicate_parameter"' "$TMP/body"
provoke "GET /v1/recommendations user twice" "$A" "$G" get "$G?user=a&user=b" 400
check "duplicate_parameter" jqt '.error.code == "duplicate_parameter"' "$TMP/body"
provoke "GET similar explain twice" "$A" "$S" get "/v1/items/$item/similar?explain=1&explain=0" 400
check "duplicate_parameter" jqt '.error.code == "duplicate_parameter"' "$TMP/body"
provoke "GET recommendations 33 query parameters" "$A" "$T" get "/v1/users/$user/recommendations?$(printf 'k=1&%.0s' $(seq 32))k=1" 400
check "more than 32 parameters: bad_parameter" jqt '.error.code == "bad_parameter"' "$TMP/body"
provoke "GET healthz 33 query parameters" "$A" /healthz get "/healthz?$(printf 'a=1&%.0s' $(seq 32))a=1" 400
provoke "GET recommendations k=0" "$A" "$T" get "/v1/users/$user/recommendations?k=0" 400
provoke "GET recommendations k=abc" "$A" "$T" get "/v1/users/$user/recommendations?k=abc" 400
provoke "GET recommendations explain=yes" "$A" "$T" get "/v1/users/$user/recommendations?explain=yes" 400
check "explain=yes: bad_parameter" jqt '.error.code == "bad_parameter"' "$TMP/body"
provoke "GET recommendations unknown category" "$A" "$T" get "/v1/users/$user/recommendations?categories=no-such-category" 400
check "unknown_category" jqt '.error.code == "unknown_category"' "$TMP/body"
provoke "GET recommendations 17 categories" "$A" "$T" get "/v1/users/$user/recommendations?categories=$(printf "$category,%.0s" $(seq 16))$category" 400
check "17 categories: bad_parameter" jqt '.error.code == "bad_parameter"' "$TMP/body"
provoke "GET recommendations 257 excluded ids" "$A" "$T" get "/v1/users/$user/recommendations?exclude=$(seq -s, -f 'x%g' 257)" 400
check "257 ids: bad_parameter" jqt '.error.code == "bad_parameter"' "$TMP/body"
provoke "GET recommendations 256 excluded ids" "$A" "$T" get "/v1/users/$user/recommendations?k=2&exclude=$(seq -s, -f 'x%g' 256)" 200
check "256 unknown ids: listed" jqt '.unknown_items | length == 256' "$TMP/body"
provoke "GET /v1/recommendations user empty" "$A" "$G" get "$G?user=" 400
provoke "GET recommendations user of 257 bytes" "$A" "$T" get "/v1/users/$long/recommendations" 400
check "id_too_long" jqt '.error.code == "id_too_long"' "$TMP/body"
provoke "GET recommendations user of 256 bytes" "$A" "$T" get "/v1/users/${long:1}/recommendations?k=1" 200
provoke "GET interests user of 257 bytes" "$A" '/v1/users/{user}/interests' get "/v1/users/$long/interests" 400
check "id_too_long" jqt '.error.code == "id_too_long"' "$TMP/body"
provoke "GET similar item of 257 bytes" "$A" "$S" get "/v1/items/$long/similar" 400
check "id_too_long" jqt '.error.code == "id_too_long"' "$TMP/body"
provoke "GET recommendations exclude id of 257 bytes" "$A" "$T" get "/v1/users/$user/recommendations?exclude=$long" 400
check "id_too_long" jqt '.error.code == "id_too_long"' "$TMP/body"
provoke "GET /v1/recommendations user of 257 bytes" "$A" "$G" get "$G?user=$long" 400
check "id_too_long" jqt '.error.code == "id_too_long"' "$TMP/body"
provoke "GET healthz with 17 KiB of headers" "$A" /healthz get /healthz 431 -H "X-Padding: $(head -c 17000 /dev/zero | tr '\0' p)"
check "headers_too_large" jqt '.error.code == "headers_too_large"' "$TMP/body"
provoke "GET similar unknown item" "$A" "$S" get /v1/items/no-such-item/similar 404
provoke "GET similar k too large" "$A" "$S" get "/v1/items/$item/similar?k=5000" 400
provoke "POST recommendations bad JSON" "$A" "$R" post "$R" 400 "${J[@]}" -d '{"k": '
provoke "POST recommendations not an object" "$A" "$R" post "$R" 400 "${J[@]}" -d '[1,2]'
provoke "POST recommendations duplicate key" "$A" "$R" post "$R" 400 "${J[@]}" -d '{"k": 1, "k": 2}'
provoke "POST recommendations k over the limit" "$A" "$R" post "$R" 400 "${J[@]}" -d '{"k": 5000}'
provoke "POST recommendations non-string item" "$A" "$R" post "$R" 400 "${J[@]}" -d '{"recent_items": [1]}'
provoke "POST recommendations unknown category" "$A" "$R" post "$R" 400 "${J[@]}" -d '{"categories": ["no-such"]}'
provoke "POST recommendations user not a string" "$A" "$R" post "$R" 400 "${J[@]}" -d '{"user": 7}'
provoke "POST recommendations explain not a boolean" "$A" "$R" post "$R" 400 "${J[@]}" -d '{"explain": "yes"}'
provoke "POST recommendations unknown field" "$A" "$R" post "$R" 400 "${J[@]}" -d '{"recentItems": ["a"]}'
check "unknown_field suggests recent_items" jqt '.error.code == "unknown_field" and (.error.message | contains("did you mean '"'recent_items'"'"))' "$TMP/body"
provoke "POST recommendations 257 recent items" "$A" "$R" post "$R" 400 "${J[@]}" -d "$(jq -nc '{recent_items: [range(257) | "x\(.)"]}')"
check "257 ids: bad_parameter" jqt '.error.code == "bad_parameter"' "$TMP/body"
provoke "POST recommendations recent item of 257 bytes" "$A" "$R" post "$R" 400 "${J[@]}" -d "{\"recent_items\": [\"$long\"]}"
check "id_too_long" jqt '.error.code == "id_too_long"' "$TMP/body"
provoke "POST recommendations user of 257 bytes" "$A" "$R" post "$R" 400 "${J[@]}" -d "{\"user\": \"$long\"}"
check "id_too_long" jqt '.error.code == "id_too_long"' "$TMP/body"
provoke "POST recommendations text/plain" "$A" "$R" post "$R" 415 -H 'Content-Type: text/plain' -d '{}'
provoke "POST recommendations no Content-Type" "$A" "$R" post "$R" 415 -H 'Content-Type:' -d '{}'
provoke "POST tokens ttl_s too short" "$A" "$K" post "$K" 400 -H "X-API-Key: $KEY" "${J[@]}" -d '{"user": "u", "ttl_s": 10}'
provoke "POST tokens ttl_s over auth.token_max_ttl_s" "$A" "$K" post "$K" 400 -H "X-API-Key: $KEY" "${J[@]}" -d '{"user": "u", "ttl_s": 86401}'
provoke "POST tokens without user" "$A" "$K" post "$K" 400 -H "X-API-Key: $KEY" "${J[@]}" -d '{"ttl_s": 60}'
check "bad_parameter" jqt '.error.code == "bad_parameter"' "$TMP/body"
provoke "POST tokens unknown field" "$A" "$K" post "$K" 400 -H "X-API-Key: $KEY" "${J[@]}" -d '{"user": "u", "ttl": 60}'
check "unknown_field" jqt '.error.code == "unknown_field"' "$TMP/body"
provoke "POST tokens user of 257 bytes" "$A" "$K" post "$K" 400 -H "X-API-Key: $KEY" "${J[@]}" -d "{\"user\": \"$long\"}"
check "id_too_long" jqt '.error.code == "id_too_long"' "$TMP/body"
provoke "POST tokens bad JSON" "$A" "$K" post "$K" 400 -H "X-API-Key: $KEY" "${J[@]}" -d '{"user": '
provoke "POST tokens text/plain" "$A" "$K" post "$K" 415 -H "X-API-Key: $KEY" -H 'Content-Type: text/plain' -d '{"user": "u"}'
provoke "POST events no key" "$A" "$E" post "$E" 401 "${J[@]}" -d "$ev1"
provoke "POST events wrong key" "$A" "$E" post "$E" 403 "${J[@]}" -H 'X-API-Key: nope' -d "$ev1"
provoke "POST events text/plain" "$A" "$E" post "$E" 415 -H "X-API-Key: $KEY" -H 'Content-Type: text/plain' -d "$ev1"
provoke "POST events bad JSON" "$A" "$E" post "$E" 400 -H "X-API-Key: $KEY" "${J[@]}" -d '[{'
provoke "POST events object without events" "$A" "$E" post "$E" 400 -H "X-API-Key: $KEY" "${J[@]}" -d '{"evts": []}'
provoke "POST events object with another field" "$A" "$E" post "$E" 400 -H "X-API-Key: $KEY" "${J[@]}" -d "{\"events\": $ev1, \"source\": \"web\"}"
check "unknown_field" jqt '.error.code == "unknown_field"' "$TMP/body"
provoke "POST events events not an array" "$A" "$E" post "$E" 400 -H "X-API-Key: $KEY" "${J[@]}" -d '{"events": 3}'
check "bad_json" jqt '.error.code == "bad_json"' "$TMP/body"
provoke "POST events no valid event" "$A" "$E" post "$E" 400 -H "X-API-Key: $KEY" "${J[@]}" \
  -d "[{\"user\":\"u\",\"type\":\"click\"},{\"user\":\"\",\"item\":\"i\",\"type\":\"view\"},{\"user\":\"u\",\"item\":\"i\",\"type\":\"view\",\"ts\":-1},7,{\"user\":\"$long\",\"item\":\"i\",\"type\":\"view\"},{\"user\":\"u\",\"item\":\"i\",\"type\":\"view\",\"extra\":1}]"
check "bad_events lists every rejection by index" jqt '.error.code == "bad_events" and ([.rejected[].index] == [0,1,2,3,4,5])' "$TMP/body"
provoke "POST events empty batch" "$A" "$E" post "$E" 400 -H "X-API-Key: $KEY" "${J[@]}" -d '[]'
provoke "POST events batch over limits.max_batch" "$A" "$E" post "$E" 413 -H "X-API-Key: $KEY" "${J[@]}" \
  -d "$(jq -nc '[range(60) | {user: "u", item: "i", type: "view"}]')"
provoke "POST events without Redis" "$B" "$E" post "$E" 503 "${J[@]}" -d "$ev1"
provoke "POST events, no key configured: open" "$B" "$E" post "$E" 503 "${J[@]}" -H 'X-API-Key: anything' -d "$ev1"
# pages (after=): a chain continued on GET and POST, a bad id, an id of
# similar items, a key gone, no Redis
rid1=$(curl -s "$A/v1/users/$user/recommendations?k=3" | jq -r .recommendation_id)
provoke "GET recommendations after an answer" "$A" "$T" get "/v1/users/$user/recommendations?k=3&after=$rid1" 200
check "page 2" jqt '.page == 2' "$TMP/body"
provoke "POST recommendations after an answer" "$A" "$R" post "$R" 200 "${J[@]}" -d "{\"user\":\"$user\",\"k\":3,\"after\":\"$rid1\"}"
provoke "GET /v1/recommendations after not an id" "$A" "$G" get "$G?after=nope" 400
simid=$(curl -s "$A/v1/items/$item/similar?k=3" | jq -r .recommendation_id)
provoke "GET /v1/recommendations after an id of similar items" "$A" "$G" get "$G?after=$simid" 400
redis-cli -s "$TMP/redis.sock" del "mixrec:page:$rid1" >/dev/null
provoke "GET /v1/recommendations after a chain no longer kept" "$A" "$G" get "$G?after=$rid1" 404
check "unknown_recommendation" jqt '.error.code == "unknown_recommendation"' "$TMP/body"
provoke "GET /v1/recommendations after, no Redis" "$B" "$G" get "$G?after=$rid1" 503
check "pages_unavailable" jqt '.error.code == "pages_unavailable"' "$TMP/body"
provoke "POST admin reload no key" "$A" "$L" post "$L" 401
provoke "POST admin reload wrong key" "$A" "$L" post "$L" 403 -H 'X-API-Key: nope'
provoke "POST admin reload, no key configured" "$B" "$L" post "$L" 403
check "admin_disabled" jqt '.error.code == "admin_disabled"' "$TMP/body"
good=$(cat "$TMP/model/CURRENT")
echo broken >"$TMP/model/CURRENT"
provoke "POST admin reload broken model" "$A" "$L" post "$L" 422 -H "X-API-Key: $KEY"
echo "$good" >"$TMP/model/CURRENT"
provoke "POST admin reload" "$A" "$L" post "$L" 200 -H "X-API-Key: $KEY"
check "reloaded the current version" jqt --arg v "$good" '.model_version == $v' "$TMP/body"

# a body over limits.max_body_bytes: 413 on every operation but the preflight
while read -r tpl m; do
  provoke "${m^^} $tpl with a big body" "$A" "$tpl" "$m" "$(fill "$tpl")" 413 \
    -H "X-API-Key: $KEY" "${J[@]}" --data-binary @"$TMP/big"
done < <(dq -r -n 'ops | select(.method != "options") | "\(.path) \(.method)"')

# 405 on every path for the methods it does not take, with the Allow header of the table
# (documented in the Allow enum); a path may take two methods (/v1/recommendations)
while read -r tpl m; do
  path=$(fill "$tpl")
  want=$(allow_of "$tpl")
  check "$tpl: Allow '$want' is documented" jqt --arg a "$want" '.components.headers.Allow.schema.enum | index([$a]) != null' "$DOC"
  for other in DELETE PUT PATCH GET POST; do
    [[ ", $want, " == *", $other, "* ]] && continue
    req "$A" "$other" "$path" -H "X-API-Key: $KEY"
    check "$other $tpl: 405" status_is 405
    conforms "$tpl" "$m" "$other $path"
    check "$other $tpl: 405 Allow is '$want'" test "$(hdr Allow)" = "$want"
    check "$other $tpl: the 405 message names the methods" jqt --arg a "$want" '.error.message | contains($a)' "$TMP/body"
  done
done < <(dq -r -n 'doc.paths | to_entries[] | select(.key | startswith("/v1/tenants/{tenant}/") | not)
  | "\(.key) \([.value | keys[] | select(is_method and . != "options")][0])"')

# the tenant paths: the default tenant by its name, an unknown tenant
TP='/v1/tenants/{tenant}/users/{user}/recommendations'
provoke "GET recommendations under /v1/tenants/default" "$A" "$TP" get "/v1/tenants/default/users/$user/recommendations" 200
provoke "GET recommendations of an unknown tenant" "$A" "$TP" get "/v1/tenants/nope/users/$user/recommendations" 404
check "  unknown_tenant" jqt '.error.code == "unknown_tenant"' "$TMP/body"
provoke "POST events under /v1/tenants/default without a key" "$A" '/v1/tenants/{tenant}/events' post \
  /v1/tenants/default/events 401 "${J[@]}" -d "$ev1"
provoke "GET recommendations with a wrong key (a key sent is checked)" "$A" '/v1/users/{user}/recommendations' get \
  "/v1/users/$user/recommendations" 403 -H 'X-API-Key: nope'

# unrouted paths: 404 not_found, as components/responses/NoRoute says, pointing to the
# document and the inspector page
dq -n 'doc.components.responses.NoRoute | deref' >"$TMP/noroute.json"
for p in /v1/nothing "/v1/users//recommendations" "/v1/users/a%2Fb/interests" /healthz/ /v1/tokens/x; do
  for m in GET POST OPTIONS; do
    req "$A" "$m" "$p"
    check "$m $p: 404" status_is 404
    check_response "$m $p (NoRoute)" "$TMP/noroute.json"
  done
  check "$p: the 404 points to /openapi.json and /ui/" \
    jqt '.error.message | contains("/openapi.json") and contains("/ui/")' "$TMP/body"
done

# what the document promises that this test could not provoke (information only)
dq -r -n 'ops | .method as $m | .path as $p | .op.responses | keys[] | "\($m) \($p) \(.)"' | sort -u >"$TMP/documented"
sort -u "$TMP/observed" >"$TMP/observed.u"
echo "# documented but not provoked here (not failures):"
comm -23 "$TMP/documented" "$TMP/observed.u" | sed 's/^/#   /'

finish
