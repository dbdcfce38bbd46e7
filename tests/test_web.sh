#!/usr/bin/env bash
# test_web.sh - a web team's first day over real HTTP (issue 13): one
# vocabulary on every route, limits that are errors, unknown ids reported,
# event timestamps in seconds, milliseconds and ISO 8601, every event
# counted, GET / and /openapi.json, and a page posting events with a
# short-lived token through CORS (real redis-server, real server).
#   tests/test_web.sh BUILD/mixrec SOURCE_ROOT
set -uo pipefail
MIXREC=$1
SRC=$2
source "$(dirname "$0")/lib.sh"

make_test_model
start_redis
ORIGIN=https://shop.example
serve_start W --redis "unix:$TMP/redis.sock" --set auth.api_keys=backend-key \
  --set cors.origins=$ORIGIN
BASE=$BASE_W
req() { # METHOD PATH [curl args...]: body in $TMP/body, status in $CODE, headers in $TMP/hdr
  local method=$1 path=$2; shift 2
  CODE=$(curl -s -o "$TMP/body" -D "$TMP/hdr" -w '%{http_code}' -X "$method" "$@" "$BASE$path")
}
json() { req "$@" -H 'Content-Type: application/json'; }
status_is() { [ "$CODE" = "$1" ] || { echo "  status $CODE, expected $1: $(head -c 300 "$TMP/body")"; return 1; }; }
error_is() { status_is "$1" && jqt --arg c "$2" '.error.code == $c' "$TMP/body"; }
metric() { curl -s "$BASE/metrics" | sed -n "s/^$1 //p"; }
user=$(sed -n 2p "$TMP/syn/interactions.csv" | cut -d, -f1)
item=$(sed -n 2p "$TMP/syn/interactions.csv" | cut -d, -f2)
KEY=(-H 'X-API-Key: backend-key')

# ---- where things are
req GET /
check "GET / points to the API document and the page" jqt '.api == "/openapi.json" and .inspector == "/ui/"' "$TMP/body"
req GET /openapi.json
check "GET /openapi.json is proto/openapi.json" bash -c "cmp -s '$TMP/body' '$SRC/proto/openapi.json'"
req GET /v1/nothing
check "unknown path: 404 pointing to /openapi.json and /ui/" bash -c "[ $CODE = 404 ] && grep -q '/openapi.json' '$TMP/body' && grep -q '/ui/' '$TMP/body'"

# ---- one vocabulary, one set of defaults
req GET "/v1/users/$user/recommendations?k=5&categories=interest-2"
check "GET: categories filters" jqt '(.items | length > 0) and (.items | all(.categories | index("interest-2") != null))' "$TMP/body"
check "GET: no explanation by default" jqt '.items | all(has("reason") | not)' "$TMP/body"
json POST /v1/recommendations -d '{"k": 5, "categories": ["interest-2"]}'
check "POST: the same categories filter" jqt '(.items | length == 5) and (.items | all(.categories | index("interest-2") != null))' "$TMP/body"
check "POST: no explanation by default" jqt '.items | all(has("reason") | not)' "$TMP/body"
check "POST without a user: session none" jqt '.session == "none"' "$TMP/body"
req GET "/v1/recommendations?recent_items=$item&k=4&explain=true"
check "GET /v1/recommendations: anonymous with recent items" jqt '(.items | length == 4) and (.items | all(has("reason"))) and .session == "none"' "$TMP/body"
req GET "/v1/users/$user/recommendations?category=interest-2"
check "a misspelt parameter is 400, naming it and the right one" bash -c "[ $CODE = 400 ] && jq -e '.error.code == \"unknown_parameter\" and (.error.message | test(\"category.*did you mean .categories.\"))' '$TMP/body' >/dev/null"
json POST /v1/recommendations -d '{"recentItems": ["x"]}'
check "a misspelt body field is 400 naming it" bash -c "[ $CODE = 400 ] && jq -e '.error.code == \"unknown_field\" and (.error.message | test(\"recentItems.*recent_items\"))' '$TMP/body' >/dev/null"
req GET "/v1/users/$user/recommendations?k=5&k=7"
check "k=5&k=7: 400, not a silent choice" error_is 400 duplicate_parameter
ids=$(seq -s, -f 'x%g' 300)
req GET "/v1/users/$user/recommendations?exclude=$ids"
check "300 exclude ids on GET: 400, not a silent cut" error_is 400 bad_parameter
long=$(head -c 600 /dev/zero | tr '\0' u)
req GET "/v1/users/$long/recommendations"
check "a 600-byte user id: 400 id_too_long (not 404)" error_is 400 id_too_long
unavailable0=$(metric 'mixrec_session_reads_total{result="unavailable"}')
long=$(head -c 256 /dev/zero | tr '\0' v)
req GET "/v1/users/$long/recommendations?k=3"
check "a 256-byte user id: its session is read" jqt '.session == "ok"' "$TMP/body"
check "and no unavailable session read is counted" test "$(metric 'mixrec_session_reads_total{result="unavailable"}')" = "$unavailable0"
first=$(curl -s "$BASE/v1/items/$item/similar?k=3" | jq -r '.items[0].item')
req GET "/v1/items/$item/similar?k=3&exclude=$first&categories=interest-1"
check "similar: exclude and categories" jqt --arg f "$first" '(.items | length == 3) and ([.items[].item] | index($f) == null) and (.items | all(.categories | index("interest-1") != null))' "$TMP/body"

# ---- events: timestamps, unknown items, counters; POST reads the session
now=$(date +%s)
iso=$(date -u -d "@$((now - 60))" +%Y-%m-%dT%H:%M:%SZ)
json POST /v1/events "${KEY[@]}" -d "[{\"user\":\"web-1\",\"item\":\"$item\",\"type\":\"click\",\"ts\":$(((now - 120) * 1000))},
  {\"user\":\"web-1\",\"item\":\"$item\",\"type\":\"view\",\"ts\":\"$iso\"},
  {\"user\":\"web-1\",\"item\":\"nosuchitem\",\"type\":\"like\"}]"
check "events: milliseconds and ISO 8601 accepted" jqt '.accepted == 3 and (.rejected | length == 0)' "$TMP/body"
check "events: an unknown item is reported" jqt '.unknown_items == ["nosuchitem"]' "$TMP/body"
stored=$(redis-cli -s "$TMP/redis.sock" lrange mixrec:session:web-1 0 -1 | cut -f1 | tr '\n' ' ')
check "stored timestamps are seconds: $stored" test "$stored" = "$((now - 120)) $((now - 60)) $now " -o "$stored" = "$((now - 120)) $((now - 60)) $((now + 1)) "
check "unknown-item events counted" test "$(metric mixrec_events_unknown_items_total)" = 1
check "events counted by type" test "$(metric 'mixrec_events_stored_total{type="click"}')" = 1
rejected0=$(metric 'mixrec_events_total{outcome="rejected"}')
json POST /v1/events "${KEY[@]}" -d '[{"user":"u","item":"i","type":"click","ts":"tomorrow-ish"},{"user":"u","type":"click"}]'
check "ts in unknown units: 400 saying which units" bash -c "[ $CODE = 400 ] && grep -q 'milliseconds or ISO 8601' '$TMP/body'"
check "a batch of only invalid events is counted" test "$(metric 'mixrec_events_total{outcome="rejected"}')" = $((rejected0 + 2))
json POST /v1/recommendations -d '{"user": "web-1", "k": 5, "explain": true}'
check "POST with a user reads their session" jqt '.session == "ok" and .known_user == false and ([.items[].reason] | index("session") != null)' "$TMP/body"

# ---- a page posts events with a token its backend got (no key in JavaScript)
json POST /v1/tokens "${KEY[@]}" -d '{"user": "visitor-9", "ttl_s": 600}'
check "the backend mints a token with its key" jqt '(.token | length > 20) and .user == "visitor-9"' "$TMP/body"
token=$(jq -r .token "$TMP/body")
req OPTIONS /v1/events -H "Origin: $ORIGIN" -H 'Access-Control-Request-Method: POST' \
  -H 'Access-Control-Request-Headers: authorization, content-type'
check "preflight from the page allows Authorization" bash -c "[ $CODE = 204 ] && grep -qi '^Access-Control-Allow-Headers:.*Authorization' '$TMP/hdr' && grep -qi '^Access-Control-Allow-Origin: $ORIGIN' '$TMP/hdr'"
json POST /v1/events -H "Origin: $ORIGIN" -H "Authorization: Bearer $token" -d "[{\"user\":\"visitor-9\",\"item\":\"$item\",\"type\":\"click\"}]"
check "the page posts its visitor's events with the token" bash -c "[ $CODE = 200 ] && grep -qi '^Access-Control-Allow-Origin: $ORIGIN' '$TMP/hdr'"
check "and they are stored" test "$(redis-cli -s "$TMP/redis.sock" llen mixrec:session:visitor-9)" = 1
json POST /v1/events -H "Authorization: Bearer $token" -d "[{\"user\":\"someone-else\",\"item\":\"$item\",\"type\":\"click\"}]"
check "not another user's events" error_is 403 forbidden
json POST /v1/events -d "[{\"user\":\"visitor-9\",\"item\":\"$item\",\"type\":\"click\"}]"
check "without key or token: 401 saying how" bash -c "[ $CODE = 401 ] && grep -q 'POST /v1/tokens' '$TMP/body'"
check "tokens and keys never reach the access log" bash -c "! grep -q -e backend-key -e '${token:0:20}' '$TMP/W.access.log'"

finish
