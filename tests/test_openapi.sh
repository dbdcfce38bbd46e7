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
#   (d) every status provoked (400, 401, 403, 404, 405, 413, 415, 422, 503)
#       is documented for the operation that answered it.
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
def ops: doc.paths | to_entries[] | .key as $p | .value | to_entries[]
  | select(.key | is_method) | {path: $p, method: .key, op: .value};
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
for s in Error RecommendationList Item Interest InterestWeights EventBatch EventResult Ready Health ReloadResult; do
  check "components/schemas/$s exists" jqt --arg s "$s" '.components.schemas[$s] | type == "object"' "$DOC"
done
check "schema examples match their schemas" no_errors - 'doc.components.schemas | to_entries[]
  | select(.value.example != null) | .key as $k | .value.example | errs({"$ref": "#/components/schemas/\($k)"}; "example of \($k)")' -n
check "an apiKey security scheme in the X-API-Key header" jqt '.components.securitySchemes | to_entries
  | any(.value.type == "apiKey" and .value.in == "header" and .value.name == "X-API-Key")' "$DOC"
check "API key security exactly on the routes the table marks api_key" no_errors - '
  (doc.components.securitySchemes | to_entries | map(select(.value.type == "apiKey" and .value.name == "X-API-Key") | .key)) as $keys
  | [$routes[0].routes[] | select(.api_key) | "\(.method) \(.path)"] as $keyed
  | (doc.security // [] | select(length > 0) | "a global security requirement"),
    (ops | select(.method != "options") | ("\(.method | ascii_upcase) \(.path)" as $op | $keyed | index([$op]) != null) as $want
     | ([(.op.security // [])[] | keys[]] | any(. as $k | $keys | index([$k]) != null)) as $has
     | select($want != $has) | "\(.method) \(.path): API key security \(if $want then "missing" else "not expected" end)")' -n

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
check "every documented path has its OPTIONS preflight and one other method" no_errors - '
  doc.paths | to_entries[] | .key as $p | [.value | keys[] | select(is_method)] as $ms
  | select(($ms | index(["options"]) == null) or ($ms | length) != 2) | "\($p): methods \($ms)"' -n

# ---- error codes in the source vs the document ---------------------------------
declare -A STATUS=([API_BAD_REQUEST]=400 [API_UNAUTHORIZED]=401 [API_FORBIDDEN]=403
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
check "error codes of the source ($(wc -l <"$TMP/src_codes")) = ErrorDetail.code enum" diff "$TMP/src_codes" "$TMP/doc_codes"
# every (status, code) the source answers is documented under that status
dq -r -n '(ops | .op.responses | to_entries[] | .key as $s | .value | deref | (.["x-error-codes"] // [])[] | "\($s) \(.)"),
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
ORIGIN=https://app.example
start() { # NAME extra args...; sets BASE_<NAME> (lib.sh's serve_start)
  serve_start "$@" --set limits.max_body_bytes=4096 --set limits.max_batch=50
}
# A: Redis, an API key, CORS. B: no Redis, no API key (events 503, admin off).
start A --redis "unix:$TMP/redis.sock" --set "auth.api_keys=$KEY" --set "cors.origins=$ORIGIN"
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
  sed -E 's/\{[^}]*\}/sample/g' <<<"$p"
}
body_for() { # operationId: a valid request body for the sample server
  case $1 in
  postRecommendations)
    jq -nc --arg u "$user" --arg i "$item" --arg c "$category" \
      '{user: $u, recent_items: [$i, "ghost-item"], exclude: ["ghost-2"], categories: [$c], k: 5, explain: true}' ;;
  postEvents)
    jq -nc --arg u "$user" --arg i "$item" \
      '[{user: $u, item: $i, type: "view", ts: 1700000000}, {user: $u, item: "cold-item", type: "like"}]' ;;
  *)
    dq -c -n --arg id "$1" 'ops | select(.op.operationId == $id) | .op.requestBody.content["application/json"]
      | (.example // (.schema | deref | .example)) // empty' ;;
  esac
}

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
    want=$(dq -r -n --arg p "$tpl" '[doc.paths[$p] | keys[] | select(is_method and . != "options") | ascii_upcase] + ["OPTIONS"] | join(", ")')
    check "OPTIONS $tpl: Allow is '$want'" test "$(hdr Allow)" = "$want"
    check "OPTIONS $tpl: Access-Control-Allow-Methods is '$want'" test "$(hdr Access-Control-Allow-Methods)" = "$want"
    check "OPTIONS $tpl: Access-Control-Allow-Origin" test "$(hdr Access-Control-Allow-Origin)" = "$ORIGIN"
  fi
  if [ "$m" = get ]; then
    req "$A" HEAD "$path"
    check "HEAD $tpl is served like GET" status_is 200
    conforms "$tpl" get "HEAD $path"
  fi
done < <(dq -r -n 'ops | "\(.path) \(.method) \(.op.operationId)"')

# ---- (c) the main operations' bodies, with everything an answer can carry ------------
# (the loop above validated every 200; these make sure the optional parts showed up)
check "the request bodies the server accepts match the documented schemas" no_errors - '
  ({user: null, recent_items: ["a"], k: 3, explain: false} | errs(doc.paths["/v1/recommendations"].post.requestBody.content["application/json"].schema; "recommendations")),
  ({events: [{user: "u", item: "i", type: "dislike"}]} | errs(doc.paths["/v1/events"].post.requestBody.content["application/json"].schema; "events object")),
  ([{user: "u", item: "i", type: "purchase", ts: 0}] | errs(doc.paths["/v1/events"].post.requestBody.content["application/json"].schema; "events array"))' -n
T='/v1/users/{user}/recommendations'
req "$A" GET "/v1/users/$user/recommendations?k=7&explain=true&category=$category&exclude=$item"
conforms "$T" get "GET recommendations, explained"
check "explained items carry interest and reason" jqt '(.items | length > 0) and (.items | all(has("interest") and has("reason") and has("title")))' "$TMP/body"
req "$A" GET "/v1/users/stranger/recommendations?k=3&explain=1"
conforms "$T" get "GET recommendations, unknown user"
check "unknown user answered" jqt '.known_user == false and (.items | length == 3)' "$TMP/body"
req "$A" POST /v1/events -H "X-API-Key: $KEY" -H 'Content-Type: application/json' \
  -d "$(jq -nc --arg u "$user" '{events: [{user: $u, item: "i1", type: "like"}, {user: $u, item: "i2", type: "click"}]}')"
conforms /v1/events post "POST events {\"events\": [...]}"
req "$A" POST /v1/events -H "X-API-Key: $KEY" -H 'Content-Type: application/json' \
  -d '[{"user":"u","item":"i","type":"view"},{"user":"u","item":"i","type":"zap"},{"user":"u","item":"i","type":"view","ts":"soon"}]'
conforms /v1/events post "POST events, some rejected"
check "rejected events listed by index" jqt '.accepted == 1 and ([.rejected[].index] == [1,2])' "$TMP/body"
req "$A" GET "/v1/users/$user/interests"
conforms '/v1/users/{user}/interests' get "GET interests with a session"
check "interests with a session" jqt '.session == "ok" and .session_events >= 2 and (.session_interests | length > 0)' "$TMP/body"
req "$A" POST /v1/recommendations -H 'Content-Type: application/json' -d '{"user": null, "recent_items": ["no-such"], "explain": false}'
conforms /v1/recommendations post "POST recommendations, anonymous"
check "unknown_items listed" jqt '.unknown_items == ["no-such"] and (has("user") | not)' "$TMP/body"
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

# ---- (d) errors: each status documented for the operation that answered ---------------
S='/v1/items/{item}/similar'
R=/v1/recommendations
E=/v1/events
L=/v1/admin/reload
J=(-H 'Content-Type: application/json')
ev1='[{"user":"u","item":"i","type":"view"}]'
head -c 10000 /dev/zero | tr '\0' 'a' >"$TMP/big"
provoke "GET recommendations k=0" "$A" "$T" get "/v1/users/$user/recommendations?k=0" 400
provoke "GET recommendations k=abc" "$A" "$T" get "/v1/users/$user/recommendations?k=abc" 400
provoke "GET recommendations unknown category" "$A" "$T" get "/v1/users/$user/recommendations?category=no-such-category" 400
provoke "GET similar unknown item" "$A" "$S" get /v1/items/no-such-item/similar 404
provoke "GET similar k too large" "$A" "$S" get "/v1/items/$item/similar?k=5000" 400
provoke "POST recommendations bad JSON" "$A" "$R" post "$R" 400 "${J[@]}" -d '{"k": '
provoke "POST recommendations not an object" "$A" "$R" post "$R" 400 "${J[@]}" -d '[1,2]'
provoke "POST recommendations duplicate key" "$A" "$R" post "$R" 400 "${J[@]}" -d '{"k": 1, "k": 2}'
provoke "POST recommendations k over the limit" "$A" "$R" post "$R" 400 "${J[@]}" -d '{"k": 5000}'
provoke "POST recommendations non-string item" "$A" "$R" post "$R" 400 "${J[@]}" -d '{"recent_items": [1]}'
provoke "POST recommendations unknown category" "$A" "$R" post "$R" 400 "${J[@]}" -d '{"categories": ["no-such"]}'
provoke "POST recommendations user not a string" "$A" "$R" post "$R" 400 "${J[@]}" -d '{"user": 7}'
provoke "POST recommendations text/plain" "$A" "$R" post "$R" 415 -H 'Content-Type: text/plain' -d '{}'
provoke "POST recommendations no Content-Type" "$A" "$R" post "$R" 415 -H 'Content-Type:' -d '{}'
provoke "POST events no key" "$A" "$E" post "$E" 401 "${J[@]}" -d "$ev1"
provoke "POST events wrong key" "$A" "$E" post "$E" 403 "${J[@]}" -H 'X-API-Key: nope' -d "$ev1"
provoke "POST events text/plain" "$A" "$E" post "$E" 415 -H "X-API-Key: $KEY" -H 'Content-Type: text/plain' -d "$ev1"
provoke "POST events bad JSON" "$A" "$E" post "$E" 400 -H "X-API-Key: $KEY" "${J[@]}" -d '[{'
provoke "POST events object without events" "$A" "$E" post "$E" 400 -H "X-API-Key: $KEY" "${J[@]}" -d '{"evts": []}'
provoke "POST events no valid event" "$A" "$E" post "$E" 400 -H "X-API-Key: $KEY" "${J[@]}" \
  -d '[{"user":"u","type":"click"},{"user":"","item":"i","type":"view"},{"user":"u","item":"i","type":"view","ts":-1},7]'
check "bad_events lists every rejection by index" jqt '.error.code == "bad_events" and ([.rejected[].index] == [0,1,2,3])' "$TMP/body"
provoke "POST events empty batch" "$A" "$E" post "$E" 400 -H "X-API-Key: $KEY" "${J[@]}" -d '[]'
provoke "POST events batch over limits.max_batch" "$A" "$E" post "$E" 413 -H "X-API-Key: $KEY" "${J[@]}" \
  -d "$(jq -nc '[range(60) | {user: "u", item: "i", type: "view"}]')"
provoke "POST events without Redis" "$B" "$E" post "$E" 503 "${J[@]}" -d "$ev1"
provoke "POST events, no key configured: open" "$B" "$E" post "$E" 503 "${J[@]}" -H 'X-API-Key: anything' -d "$ev1"
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

# 405 on every path, with the Allow header the document gives
while read -r tpl m; do
  path=$(fill "$tpl")
  want="${m^^}, OPTIONS"
  for other in DELETE PUT $([ "$m" = get ] && echo POST || echo GET); do
    req "$A" "$other" "$path" -H "X-API-Key: $KEY"
    check "$other $tpl: 405" status_is 405
    conforms "$tpl" "$m" "$other $path"
    check "$other $tpl: 405 Allow is '$want'" test "$(hdr Allow)" = "$want"
  done
done < <(dq -r -n 'ops | select(.method != "options") | "\(.path) \(.method)"')

# unrouted paths: 404 not_found, as components/responses/NoRoute says
dq -n 'doc.components.responses.NoRoute | deref' >"$TMP/noroute.json"
for p in /v1/nothing "/v1/users//recommendations" "/v1/users/a%2Fb/interests" /healthz/; do
  for m in GET POST OPTIONS; do
    req "$A" "$m" "$p"
    check "$m $p: 404" status_is 404
    check_response "$m $p (NoRoute)" "$TMP/noroute.json"
  done
done

# what the document promises that this test could not provoke (information only)
dq -r -n 'ops | .method as $m | .path as $p | .op.responses | keys[] | "\($m) \($p) \(.)"' | sort -u >"$TMP/documented"
sort -u "$TMP/observed" >"$TMP/observed.u"
echo "# documented but not provoked here (not failures):"
comm -23 "$TMP/documented" "$TMP/observed.u" | sed 's/^/#   /'

finish
