#!/usr/bin/env bash
# test_serve.sh - `mixrec serve` over real HTTP: every route, the JSON
# errors and their statuses, CORS, request ids, limits, reload (SIGHUP,
# broken model rejected), graceful stop, and start-up failures.
#   tests/test_serve.sh BUILD/mixrec
set -uo pipefail
MIXREC=$1
source "$(dirname "$0")/lib.sh"
PID=

make_test_model
start_redis

start() { # extra args...; sets PID and BASE (logs: $TMP/S.access.log, $TMP/S.err)
  serve_start S --set cors.origins=https://app.example --set limits.max_body_bytes=4096 \
    --redis "unix:$TMP/redis.sock" --set limits.max_batch=50 "$@"
  PID=$PID_S
  BASE=$BASE_S
}
# req METHOD PATH [curl args...]: body in $TMP/body, status in $CODE, headers in $TMP/hdr
req() {
  local method=$1 path=$2; shift 2
  CODE=$(curl -s -o "$TMP/body" -D "$TMP/hdr" -w '%{http_code}' -X "$method" "$@" "$BASE$path")
}
status_is() { [ "$CODE" = "$1" ] || { echo "  status $CODE, expected $1: $(head -c 300 "$TMP/body")"; return 1; }; }
error_code_is() { jqt --arg c "$1" '.error.code == $c and (.error.message | length > 0)' "$TMP/body"; }

start
user=$(sed -n 2p "$TMP/syn/interactions.csv" | cut -d, -f1)
item=$(sed -n 2p "$TMP/syn/interactions.csv" | cut -d, -f2)

req GET /healthz
check "healthz 200" status_is 200
check "healthz body" jqt '.status == "ok"' "$TMP/body"
check "request id header" grep -qi '^X-Request-Id: ' "$TMP/hdr"
req GET /healthz -H 'X-Request-Id: abc-123'
check "request id echoed" grep -qi '^X-Request-Id: abc-123' "$TMP/hdr"
req GET /readyz
check "readyz 200 with the model version" jqt --arg v "$(cat "$TMP/model/CURRENT")" '.model_version == $v' "$TMP/body"
check "readyz: the learned ranker is in use" jqt '.ranker.state == "ok" and .ranker.trees > 0' "$TMP/body"
req GET "/v1/users/$user/recommendations?k=10"
check "ranked answer says its order" jqt '.order == "ranker" and (.items | length == 10)' "$TMP/body"
check "ranked scores are sorted" jqt '[.items[].score] as $s | $s == ($s | sort | reverse)' "$TMP/body"
req GET /metrics
check "metrics: ranker active, answers by order" bash -c "grep -q 'mixrec_ranker_active{state=\"ok\"} 1' '$TMP/body' && grep -Eq 'mixrec_answers_by_order_total\{order=\"ranker\"\} [1-9]' '$TMP/body'"

req GET "/v1/users/$user/recommendations?k=7&explain=true"
check "recommendations 200" status_is 200
check "7 items with interest and reason" jqt '(.items | length == 7) and (.items | all(has("interest") and has("reason")))' "$TMP/body"
check "explained items: sources, the ranker's score, what placed them, 3 features" jqt '.items | all((.sources | length > 0)
  and (.rank_score | type == "number") and (.placed_by | IN("ranker", "session_quota", "diversity"))
  and (.features | length == 3) and (.features | all(has("name") and has("contribution") and has("value"))))' "$TMP/body"
check "scores are non-increasing, with explain too" jqt '[.items[].score] as $s | $s == ($s | sort | reverse)' "$TMP/body"
seen=$(grep "^$user," "$TMP/syn/interactions.csv" | cut -d, -f2 | jq -R . | jq -s .)
check "engaged items excluded" jqt --argjson s "$seen" '([.items[].item] - $s) | length == 7' "$TMP/body"
first=$(jq -r '.items[0].item' "$TMP/body")
req GET "/v1/users/$user/recommendations?k=7&exclude=$first"
check "exclude parameter" jqt --arg i "$first" '[.items[].item] | index($i) == null' "$TMP/body"
check "no explanation unless asked" jqt '.items | all(has("reason") | not)' "$TMP/body"
req GET "/v1/users/$user/recommendations?k=5&categories=interest-3&explain=true"
check "category filter" jqt '.items | all(.categories | index("interest-3") != null)' "$TMP/body"
req GET "/v1/users/$user/recommendations?categories=no-such-category"
check "unknown category 400" status_is 400
check "unknown category code" error_code_is unknown_category
req GET "/v1/users/$user/recommendations?k=0"
check "k=0 400" status_is 400
check "bad k code" error_code_is bad_parameter
req GET "/v1/users/$user/recommendations?k=abc"
check "k=abc 400" status_is 400
req GET "/v1/users/stranger/recommendations?k=5&explain=true"
check "unknown user: 200, popular" jqt '(.known_user == false) and ([.items[].reason] | unique == ["popular"])' "$TMP/body"
check "unknown user: the answer says why it is popular" jqt '.explanation == "unknown user and no session: popular items"' "$TMP/body"
req GET "/v1/users/$user/interests"
check "interests 200" status_is 200
check "interests long-term weights sum to 1" jqt '([.long_term[].weight] | add) > 0.99 and ([.long_term[].weight] | add) < 1.01' "$TMP/body"
req GET "/v1/items/$item/similar?k=4"
check "similar 200" status_is 200
check "similar excludes the item" jqt --arg i "$item" '(.items | length == 4) and ([.items[].item] | index($i) == null)' "$TMP/body"
req GET /v1/items/no-such-item/similar
check "unknown item 404" status_is 404
check "unknown item code" error_code_is unknown_item

# sessions: events land in Redis and shift the very next answer
req GET /readyz
check "readyz: redis ok" jqt '.redis == "ok" and .status == "ready"' "$TMP/body"
# the user's weakest long-term interest, and items of it the user has not seen
req GET "/v1/users/$user/interests"
weak=$(jq -r '.long_term | min_by(.weight) | .id' "$TMP/body")
req GET "/v1/users/$user/recommendations?k=20&explain=true"
before=$(jq --argjson c "$weak" '[.items[] | select(.interest.id == $c)] | length' "$TMP/body")
mapfile -t weak_items < <("$MIXREC" recommend --model "$TMP/model" --user nobody --k 200 --json 2>/dev/null |
  jq -r --argjson c "$weak" '.items[] | select(.interest.id == $c) | .item' | head -3)
check "found items of the weak interest" test "${#weak_items[@]}" -ge 1
events=$(printf '%s\n' "${weak_items[@]}" | jq -R --arg u "$user" '{user: $u, item: ., type: "like"}' | jq -s .)
req POST /v1/events -H 'Content-Type: application/json' -d "$events"
check "events accepted" jqt --argjson n "${#weak_items[@]}" '.accepted == $n and (.rejected | length == 0)' "$TMP/body"
check "events stored in Redis" test "$(redis-cli -s "$TMP/redis.sock" llen "mixrec:session:$user")" = "${#weak_items[@]}"
req GET "/v1/users/$user/recommendations?k=20&explain=true"
after=$(jq --argjson c "$weak" '[.items[] | select(.interest.id == $c)] | length' "$TMP/body")
check "the next answer moves towards the session's interest ($before -> $after)" test "$after" -gt "$before"
check "session reasons appear" jqt '[.items[].reason] | index("session") != null' "$TMP/body"
check "liked items are excluded now" jqt --arg i "${weak_items[0]}" '[.items[].item] | index($i) == null' "$TMP/body"
req GET "/v1/users/$user/interests"
check "interests show the session" jqt --argjson c "$weak" '.session_share > 0 and (.session_interests | map(.id) | index($c) != null)' "$TMP/body"
# a dislike (issue 13): its interest goes negative in /interests, falls in
# the blend, and the very next answer moves away from it
duser=$(cut -d, -f1 "$TMP/syn/interactions.csv" | sed 1d | grep -vx "$user" | sort -u | head -1)
req GET "/v1/users/$duser/interests"
cp "$TMP/body" "$TMP/int0"
req GET "/v1/users/$duser/recommendations?k=10&explain=true"
cp "$TMP/body" "$TMP/rec0"
top=$(jq '[.items[].interest.id] | group_by(.) | max_by(length) | .[0]' "$TMP/rec0")
ntop0=$(jq --argjson c "$top" '[.items[] | select(.interest.id == $c)] | length' "$TMP/rec0")
victim=$(jq -r --argjson c "$top" '[.items[] | select(.interest.id == $c)][0].item' "$TMP/rec0")
req POST /v1/events -H 'Content-Type: application/json' -d "[{\"user\":\"$duser\",\"item\":\"$victim\",\"type\":\"dislike\"}]"
check "dislike accepted" jqt '.accepted == 1' "$TMP/body"
req GET "/v1/users/$duser/interests"
check "/interests: the disliked interest is negative in session_interests" \
  jqt --argjson c "$top" '.session_interests | map(select(.id == $c and .weight < 0)) | length == 1' "$TMP/body"
check "/interests: it falls in the blend" jqt --argjson c "$top" --slurpfile b "$TMP/int0" \
  '([.blended[] | select(.id == $c) | .weight] + [0])[0] < ($b[0].blended[] | select(.id == $c) | .weight)' "$TMP/body"
check "/interests: long_term unchanged, in its own order" jqt --slurpfile b "$TMP/int0" \
  '.long_term == $b[0].long_term and ([.long_term[].weight] as $w | $w == ($w | sort | reverse))' "$TMP/body"
req GET "/v1/users/$duser/recommendations?k=10&explain=true"
ntop1=$(jq --argjson c "$top" '[.items[] | select(.interest.id == $c)] | length' "$TMP/body")
check "the next answer drops the disliked item" jqt --arg i "$victim" '[.items[].item] | index($i) == null' "$TMP/body"
check "and moves away from its interest ($ntop0 -> $ntop1 of 10)" test "$ntop1" -lt "$ntop0"
req POST /v1/events -H 'Content-Type: application/json' \
  -d '[{"user":"new-user","item":"new-item","type":"view"},{"user":"u","type":"click"},{"user":"u","item":"i","type":"zap"},{"user":"u","item":"i","type":"click","ts":"soon"}]'
check "cold users and items accepted, bad events rejected by index" jqt '.accepted == 1 and ([.rejected[].index] == [1,2,3])' "$TMP/body"
req POST /v1/events -H 'Content-Type: application/json' -d '[{"user":"u","type":"click"}]'
check "a batch with no valid event: 400 with the reasons" jqt '.error.code == "bad_events" and (.rejected | length == 1)' "$TMP/body"
big=$(jq -n '[range(60) | {user: "u", item: "i", type: "view"}]')
req POST /v1/events -H 'Content-Type: application/json' -d "$big"
check "batch over limits.max_batch: 413" status_is 413

# Redis goes away: answers degrade to the long-term profile, events are refused
stop_redis
req GET "/v1/users/$user/recommendations?k=5"
check "recommendations still 200 without Redis" status_is 200
check "and say the session is unavailable" jqt '.session == "unavailable" and (.items | length == 5)' "$TMP/body"
req GET /readyz
check "readyz says degraded" jqt '.redis == "degraded"' "$TMP/body"
req POST /v1/events -H 'Content-Type: application/json' -d '[{"user":"u","item":"i","type":"view"}]'
check "events refused with 503 while Redis is down" status_is 503
check "503 code redis_unavailable" error_code_is redis_unavailable
start_redis
for _ in $(seq 50); do req GET /readyz; jqt '.redis == "ok"' "$TMP/body" && break; sleep 0.1; done
check "reconnects by itself when Redis returns" jqt '.redis == "ok"' "$TMP/body"
req POST /v1/events -H 'Content-Type: application/json' -d '[{"user":"u","item":"i","type":"view"}]'
check "events accepted again" jqt '.accepted == 1' "$TMP/body"

# POST /v1/recommendations
req POST /v1/recommendations -H 'Content-Type: application/json' \
  -d "{\"recent_items\": [\"$item\", \"ghost\"], \"k\": 6, \"explain\": true}"
check "POST 200" status_is 200
check "unknown ids listed, not fatal" jqt '(.unknown_items == ["ghost"]) and (.items | length == 6)' "$TMP/body"
check "recent item excluded" jqt --arg i "$item" '[.items[].item] | index($i) == null' "$TMP/body"
check "session reasons for an anonymous visitor" jqt '[.items[].reason] | index("session") != null' "$TMP/body"
req POST /v1/recommendations -H 'Content-Type: text/plain' -d '{}'
check "wrong content type 415" status_is 415
req POST /v1/recommendations -H 'Content-Type: application/json' -d '{"k": '
check "bad JSON 400" status_is 400
check "bad JSON code" error_code_is bad_json
req POST /v1/recommendations -H 'Content-Type: application/json' -d '[1,2]'
check "non-object body 400" status_is 400
req POST /v1/recommendations -H 'Content-Type: application/json' -d '{"k": 5000}'
check "k over the limit 400" status_is 400
req POST /v1/recommendations -H 'Content-Type: application/json' -d '{"recent_items": [1]}'
check "non-string item 400" status_is 400
head -c 10000 /dev/zero | tr '\0' 'a' >"$TMP/big"
req POST /v1/recommendations -H 'Content-Type: application/json' --data-binary @"$TMP/big"
check "body over limits.max_body_bytes 413" status_is 413

# header limit (limits.max_header_bytes, 16 KiB by default): JSON, not a server page
req GET /healthz -H "X-Big: $(head -c 20000 /dev/zero | tr '\0' 'a')"
check "oversized headers: 431" status_is 431
check "431 is JSON" error_code_is headers_too_large

# routing errors
req GET /v1/nothing
check "unknown route 404" status_is 404
check "404 is JSON" error_code_is not_found
req DELETE /healthz
check "wrong method 405" status_is 405
check "405 says what is allowed" grep -qi '^Allow: GET' "$TMP/hdr"
req PUT /v1/recommendations
check "PUT on a GET/POST path 405" status_is 405
check "405 names both methods" grep -qi '^Allow: POST, GET, OPTIONS' "$TMP/hdr"

# CORS
req GET /healthz -H 'Origin: https://app.example'
check "CORS allowed origin" grep -qi '^Access-Control-Allow-Origin: https://app.example' "$TMP/hdr"
req GET /healthz -H 'Origin: https://evil.example'
check "CORS other origin gets no grant" bash -c "! grep -qi '^Access-Control-Allow-Origin' '$TMP/hdr'"
req OPTIONS /v1/recommendations -H 'Origin: https://app.example' -H 'Access-Control-Request-Method: POST'
check "preflight 204" status_is 204
check "preflight allows POST" grep -qi '^Access-Control-Allow-Methods: POST' "$TMP/hdr"

# metrics (Prometheus text format)
req GET /metrics
check "metrics 200" status_is 200
check "metrics are text/plain" grep -qi '^Content-Type: text/plain' "$TMP/hdr"
check "requests counted per route and status" grep -q '^mixrec_http_requests_total{route="user_recommendations",status="200"} [1-9]' "$TMP/body"
check "errors counted too" grep -q '^mixrec_http_requests_total{route="user_recommendations",status="400"} [1-9]' "$TMP/body"
check "latency histogram per route and status" grep -q '^mixrec_http_request_duration_seconds_bucket{route="user_recommendations",status="200",le="+Inf"} [1-9]' "$TMP/body"
check "session reads counted" grep -q '^mixrec_session_reads_total{result="ok"} [1-9]' "$TMP/body"
check "events counted" grep -q '^mixrec_events_total{outcome="stored"} [1-9]' "$TMP/body"
check "candidates counted per retrieval source" grep -q '^mixrec_candidates_total{source="popular"} [1-9]' "$TMP/body"
check "recommendation requests counted" grep -q '^mixrec_recommendation_requests_total [1-9]' "$TMP/body"
check "redis errors counted" grep -q '^mixrec_redis_errors_total [1-9]' "$TMP/body"
check "model version exposed" grep -q "^mixrec_model_info{version=\"$(cat "$TMP/model/CURRENT")\"} 1" "$TMP/body"
check "redis up" grep -q '^mixrec_redis_up 1' "$TMP/body"
req POST /v1/admin/reload
check "admin routes are off without API keys" status_is 403
check "says how to turn them on" error_code_is admin_disabled

# access log: one JSON line per request
check "access log lines are JSON with status and latency" bash -c "tail -5 '$TMP/S.access.log' | jq -e 'has(\"status\") and has(\"latency_ms\") and has(\"request_id\")' >/dev/null"
check "access log names the user" grep -q "\"user\":\"$user\"" "$TMP/S.access.log"

# reload: a new version is picked up on SIGHUP; a broken one is rejected
old=$(cat "$TMP/model/CURRENT")
sleep 1
"$MIXREC" build --interactions "$TMP/syn/interactions.csv" --set embed.dim=8 --set interests.count=8 \
  --out "$TMP/model" >/dev/null 2>&1
new=$(cat "$TMP/model/CURRENT")
kill -HUP "$PID"
for _ in $(seq 30); do req GET /readyz; jqt --arg v "$new" '.model_version == $v' "$TMP/body" && break; sleep 0.1; done
check "SIGHUP reloads the new version" jqt --arg v "$new" '.model_version == $v' "$TMP/body"
mkdir "$TMP/model/broken" && echo '{"format": "mixrec-model", "format_version": 1}' >"$TMP/model/broken/manifest.json"
echo broken >"$TMP/model/CURRENT"
kill -HUP "$PID"
sleep 0.5
req GET /readyz
check "broken model rejected, previous keeps serving" jqt --arg v "$new" '.model_version == $v' "$TMP/body"
check "rejection logged" grep -q "reload rejected" "$TMP/S.err"
req GET "/v1/users/$user/recommendations?k=3"
check "still answering after a rejected reload" status_is 200
echo "$old" >"$TMP/model/CURRENT"

# faults: a slow Redis, slow and vanishing clients, reloads under load
kill -STOP "$REDIS_PID" # Redis paused: connected, but silent
t0=$(date +%s%N)
req GET "/v1/users/$user/recommendations?k=5"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "slow Redis: still 200" status_is 200
check "slow Redis: answered from the long-term profile in ${ms} ms (< 500)" test "$ms" -lt 500
check "slow Redis: session marked unavailable" jqt '.session == "unavailable"' "$TMP/body"
kill -CONT "$REDIS_PID"
for _ in $(seq 30); do req GET "/v1/users/$user/recommendations?k=5"; jqt '.session == "ok"' "$TMP/body" && break; sleep 0.1; done
check "after the slow spell, sessions are read again" jqt '.session == "ok"' "$TMP/body"
exec 3<>"/dev/tcp/127.0.0.1/${BASE##*:}"
printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n' >&3 # a slow client that never finishes
for _ in $(seq 20); do curl -s -m 0.002 -o /dev/null "$BASE/v1/users/$user/recommendations?k=50"; done
req GET /healthz
check "slow and vanishing clients do not wedge the server" status_is 200
exec 3>&-
if command -v wrk >/dev/null; then
  printf 'request = function() return wrk.format("GET", "/v1/users/%s/recommendations?k=10") end\n' "$user" >"$TMP/load.lua"
  wrk -t1 -c4 -d3s -s "$TMP/load.lua" "$BASE" >"$TMP/wrk.out" 2>&1 &
  wrkpid=$!
  sleep 0.5; kill -HUP "$PID"; sleep 1; kill -HUP "$PID"
  wait "$wrkpid"
  check "reloads under load: requests served" grep -q "requests in" "$TMP/wrk.out"
  check "reloads under load: no failed request" bash -c "! grep -qE 'Non-2xx|Socket errors' '$TMP/wrk.out'"
else
  fail "wrk is not installed (scripts/deps.sh installs it)"
fi

# graceful stop
kill -TERM "$PID"
wait "$PID"
check "SIGTERM exits 0" test $? = 0
PID=

# API keys on write routes
# (a busy CI machine must not turn an event into a 503; CURRENT not
# watched, so the reloads counted below are exactly the admin route's)
start --set auth.api_keys=k1,k2 --set redis.command_timeout_ms=2000 --set server.model_poll_s=0
req POST /v1/events -H 'Content-Type: application/json' -d '[{"user":"u","item":"i","type":"view"}]'
check "no API key: 401" status_is 401
req POST /v1/events -H 'Content-Type: application/json' -H 'X-API-Key: nope' -d '[{"user":"u","item":"i","type":"view"}]'
check "wrong API key: 403" status_is 403
req POST /v1/events -H 'Content-Type: application/json' -H 'X-API-Key: k2' -d '[{"user":"u","item":"i","type":"view"}]'
check "right API key: 200" status_is 200
req GET "/v1/users/$user/recommendations?k=3"
check "reads need no key" status_is 200
check "keys never reach the access log" bash -c "! grep -q k2 '$TMP/S.access.log'"
req POST /v1/admin/reload
check "admin reload needs the key" status_is 401
req POST /v1/admin/reload -H 'X-API-Key: k1'
check "admin reload 200 with the version" jqt --arg v "$(cat "$TMP/model/CURRENT")" '.model_version == $v' "$TMP/body"
good=$(cat "$TMP/model/CURRENT")
echo broken >"$TMP/model/CURRENT"
req POST /v1/admin/reload -H 'X-API-Key: k1'
check "a broken model is rejected (422) with the reason" jqt '.error.code == "model_rejected" and (.error.message | test("broken"))' "$TMP/body"
req GET /readyz
check "and the previous model keeps serving" jqt --arg v "$good" '.model_version == $v' "$TMP/body"
echo "$good" >"$TMP/model/CURRENT"
req GET /metrics
check "reloads counted by result" bash -c "grep -q '^mixrec_model_reloads_total{result=\"ok\"} 1' '$TMP/body' && grep -q '^mixrec_model_reloads_total{result=\"rejected\"} 1' '$TMP/body'"
kill -TERM "$PID"; wait "$PID"; PID=

# the learned ranker: used when present; absent, rejected or disabled, the
# answers come in retrieval order and /readyz and /metrics say why
"$MIXREC" build --interactions "$TMP/syn/interactions.csv" --items "$TMP/syn/items.csv" \
  --set embed.dim=16 --set interests.count=8 --set rank_train.enabled=0 --out "$TMP/model-plain" >/dev/null 2>&1
check "a model without a ranker has no ranker.json" test ! -e "$TMP/model-plain/$(cat "$TMP/model-plain/CURRENT")/ranker.json"
cp -r "$TMP/model" "$TMP/model-mismatch"
mm="$TMP/model-mismatch/$(cat "$TMP/model-mismatch/CURRENT")/manifest.json"
jq '.ranker.features[12] = "pop_tomorrow"' "$mm" >"$mm.new" && mv "$mm.new" "$mm"
for variant in "plain:absent:$TMP/model-plain" "mismatch:rejected:$TMP/model-mismatch" "off:disabled:$TMP/model"; do
  IFS=: read -r name state dir <<<"$variant"
  extra=(); [ "$name" = off ] && extra=(--set ranking.enabled=0)
  serve_start R --model "$dir" --redis "unix:$TMP/redis.sock" "${extra[@]}"
  code=$(curl -s -o "$TMP/rbody" -w '%{http_code}' "$BASE_R/readyz")
  check "$name ranker: readyz 200, ready, state $state" jqt --arg s "$state" '.status == "ready" and .ranker.state == $s' "$TMP/rbody"
  [ "$name" = mismatch ] && check "mismatch: readyz names the feature" jqt '.ranker.detail | test("pop_tomorrow") and test("pop_day")' "$TMP/rbody"
  code=$(curl -s -o "$TMP/rbody" -w '%{http_code}' "$BASE_R/v1/users/$user/recommendations?k=10")
  check "$name ranker: answers 200 in retrieval order" bash -c "[ $code = 200 ] && jq -e '.order == \"retrieval\" and (.items | length == 10)' '$TMP/rbody' >/dev/null"
  curl -s -o "$TMP/rbody" "$BASE_R/metrics"
  check "$name ranker: metrics say $state" grep -q "mixrec_ranker_active{state=\"$state\"} 0" "$TMP/rbody"
  kill "$PID_R"; wait "$PID_R" 2>/dev/null
done

# start-up failures
"$MIXREC" serve --model "$TMP/model" --listen nonsense >/dev/null 2>"$TMP/err"
check "bad listen address: exit 2" test $? = 2
check "names the setting" grep -q "server.listen" "$TMP/err"
MIXREC_SERVER_WORKRES=2 "$MIXREC" serve --model "$TMP/model" >/dev/null 2>"$TMP/err"
check "mistyped MIXREC_ variable: exit 2" test $? = 2
"$MIXREC" serve >/dev/null 2>"$TMP/err"
check "no model dir: exit 2" test $? = 2
"$MIXREC" serve --model "$TMP/nowhere" --listen 127.0.0.1:1 >/dev/null 2>"$TMP/err"
check "unreadable model: exit 1, before listening" test $? = 1
check "says why" grep -q "cannot start" "$TMP/err"
# a port another server holds: refuse, never share it (no SO_REUSEPORT)
serve_start P --redis ""
timeout 20 "$MIXREC" serve --model "$TMP/model" --listen "${BASE_P#http://}" --redis "" >/dev/null 2>"$TMP/err"
check "port in use: exit 1" test $? = 1
check "port in use: says so" grep -q "cannot listen" "$TMP/err"
check "the first server still answers" curl -sf -o /dev/null "$BASE_P/healthz"

finish
