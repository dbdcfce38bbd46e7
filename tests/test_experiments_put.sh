#!/usr/bin/env bash
# test_experiments_put.sh - experiments changed at runtime (issue 16) over
# real HTTP, with a real redis-server and two `mixrec serve` replicas on it:
# a PUT on replica A is served by replica B within a bounded wait (its GET
# and its answers' experiment and variant); a bad list is 400 naming the
# field and changes nothing; PUTs under a steady stream of recommendation
# requests lose no request and crash nothing; /metrics follows names
# across the change; a restarted replica takes the stored list over its
# settings file's; DELETE (and a PUT of null) return to the settings
# file's list; with Redis stopped a PUT is 503 and serving goes on. Both
# servers must exit 0 on SIGTERM: run with a sanitizer build (ASan, or
# TSan with TSAN_OPTIONS=exitcode=66) a report fails the test.
#   tests/test_experiments_put.sh BUILD/mixrec
set -uo pipefail
MIXREC=$1
source "$(dirname "$0")/lib.sh"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} # libgomp is not instrumented (TSan)

make_test_model
start_redis
RCLI=(redis-cli -s "$TMP/redis.sock")
KEY=xput-key
AK=(-H "X-API-Key: $KEY")
J=(-H 'Content-Type: application/json')
X=/v1/admin/experiments
FILE_LIST='[{"name":"file-exp","variants":[{"name":"control","share":0.5},{"name":"other","share":0.5}]}]'
ARGS=(--redis "unix:$TMP/redis.sock" --set auth.api_keys=$KEY --set redis.command_timeout_ms=2000)
MIXREC_EXPERIMENTS_LIST=$FILE_LIST serve_start A "${ARGS[@]}"
MIXREC_EXPERIMENTS_LIST=$FILE_LIST serve_start B "${ARGS[@]}"
USERS=$(cut -d, -f1 "$TMP/syn/interactions.csv" | sed 1d | sort -u | head -30)

names() { curl -s "${AK[@]}" "$1$X" | jq -c '[.experiments[].name]'; }
# wait_names BASE WANT [TENTHS]: until BASE's GET shows WANT (default 5 s);
# the seconds it took in $WAITED
wait_names() {
  local t0=$(date +%s%N) i
  for ((i = 0; i < ${3:-50}; i++)); do
    if [ "$(names "$1")" = "$2" ]; then
      WAITED=$(awk -v n="$(($(date +%s%N) - t0))" 'BEGIN {printf "%.2f", n / 1e9}')
      return 0
    fi
    sleep 0.1
  done
  WAITED=never
  return 1
}
# put BASE BODY: status in $CODE, body in $TMP/put.json
put() {
  CODE=$(curl -s -o "$TMP/put.json" -w '%{http_code}' -X PUT "${AK[@]}" "${J[@]}" -d "$2" "$1$X")
}
# answers BASE FILE: "user experiment variant order" for USERS
answers() {
  for u in $USERS; do
    curl -s "$1/v1/users/$u/recommendations?k=5" |
      jq -r --arg u "$u" '"\($u) \(.experiment // "-") \(.variant // "-") \(.order)"'
  done >"$2"
}
metric() { curl -s "$1/metrics" | grep -F "$2" | awk '{print $2}'; }

check "A and B start with the settings file's list" \
  bash -c "[ '$(names "$BASE_A")' = '[\"file-exp\"]' ] && [ '$(names "$BASE_B")' = '[\"file-exp\"]' ]"
answers "$BASE_B" "$TMP/b0.txt"
check "B serves the settings file's experiment" bash -c "! awk '\$2 != \"file-exp\"' '$TMP/b0.txt' | grep -q ."
file_control=$(metric "$BASE_B" 'mixrec_experiment_impressions_total{experiment="file-exp",variant="control"}')

# ---- a PUT on A, served by B --------------------------------------------------
NEW='{"experiments":[{"name":"runtime-exp","salt":"s1","variants":[
  {"name":"alpha","share":0.5},{"name":"beta","share":0.5,"settings":{"ranking.enabled":false}}]}]}'
put "$BASE_A" "$NEW"
check "PUT on A: 200" test "$CODE" = 200
check "PUT answers the new list as GET gives it" \
  bash -c "[ \"\$(jq -S . '$TMP/put.json')\" = \"\$(curl -s ${AK[*]@Q} '$BASE_A$X' | jq -S .)\" ]"
check "the answer has the defaults and the tag" \
  jqt '.experiments[0] | .name == "runtime-exp" and .salt == "s1" and .mode == "ab" and .audience == 1
       and (.tag | test("^[0-9a-f]{4}$"))' "$TMP/put.json"
check "stored in Redis with its version" \
  bash -c "[ \"\$(${RCLI[*]} hget mixrec:experiments version)\" = 1 ] &&
           ${RCLI[*]} hget mixrec:experiments json | jq -e '.[0].name == \"runtime-exp\"' >/dev/null"
wait_names "$BASE_B" '["runtime-exp"]'
echo "# B served the new list after ${WAITED} s"
check "B's GET shows A's list within 3 s (${WAITED} s)" \
  bash -c "[ '$WAITED' != never ] && awk 'BEGIN {exit !($WAITED <= 3)}'"
answers "$BASE_B" "$TMP/b1.txt"
n_alpha=$(awk '$3 == "alpha"' "$TMP/b1.txt" | wc -l)
n_beta=$(awk '$3 == "beta"' "$TMP/b1.txt" | wc -l)
echo "# B after the PUT: alpha $n_alpha, beta $n_beta of 30"
check "B's answers carry the new experiment and both of its variants" \
  bash -c "[ $((n_alpha + n_beta)) = 30 ] && [ $n_alpha -ge 3 ] && [ $n_beta -ge 3 ]"
check "the new variant's settings serve on B (beta: ranking off)" \
  bash -c "! awk '\$3 == \"beta\" && \$4 != \"retrieval\"' '$TMP/b1.txt' | grep -q ."
answers "$BASE_A" "$TMP/a1.txt"
check "every user has the same new variant on A and B" cmp -s "$TMP/a1.txt" "$TMP/b1.txt"
check "/metrics on B: the new variants count from 0 by name" \
  test "$(metric "$BASE_B" 'mixrec_experiment_impressions_total{experiment="runtime-exp",variant="alpha"}')" = "$n_alpha"
check "/metrics on B: the removed experiment keeps its final totals" \
  test "$(metric "$BASE_B" 'mixrec_experiment_impressions_total{experiment="file-exp",variant="control"}')" = "$file_control"
check "/metrics: the version in force on both replicas" bash -c \
  "[ '$(metric "$BASE_A" 'mixrec_experiments_version{source="redis"}')' = 1 ] &&
   [ '$(metric "$BASE_B" 'mixrec_experiments_version{source="redis"}')' = 1 ]"
u=$(awk '$3 == "beta" {print $1; exit}' "$TMP/b1.txt")
rid=$(curl -s "$BASE_B/v1/users/$u/recommendations?k=5" | jq -r .recommendation_id)
item=$(curl -s "$BASE_B/v1/users/$u/recommendations?k=5" | jq -r '.items[0].item')
curl -s "${AK[@]}" "${J[@]}" -d "[{\"user\":\"$u\",\"item\":\"$item\",\"type\":\"click\",\"recommendation_id\":\"$rid\"}]" \
  "$BASE_A/v1/events" >/dev/null
check "a click on B's answer is attributed on A (by the new list's tag)" test \
  "$(metric "$BASE_A" 'mixrec_experiment_attributed_events_total{experiment="runtime-exp",variant="beta",type="click"}')" = 1
check "the new experiment's report reads every replica's counts" \
  jqt --argjson a "$n_alpha" '.variants[0].name == "alpha" and .variants[0].impressions >= 2 * $a and .variants[1].clicks == 1' \
  <<<"$(curl -s "${AK[@]}" "$BASE_A$X/runtime-exp/report")"

# ---- bad lists: 400 naming the field, nothing changes ---------------------------
bad() { # NAME BODY FIELD
  put "$BASE_B" "$2"
  check "$1: 400 invalid_experiments naming $3" \
    jqt --arg f "$3" '.error.code == "invalid_experiments" and .error.field == $f and (.error.message | startswith($f))' \
    "$TMP/put.json"
  check "$1: the status is 400" test "$CODE" = 400
}
bad "a value out of range" '{"experiments":[{"name":"x","variants":[{"name":"a","share":0.5},
  {"name":"b","share":0.5,"settings":{"ranking.mmr_lambda":2}}]}]}' "experiments[0].variants[1].settings.ranking.mmr_lambda"
bad "shares over 1" '{"experiments":[{"name":"x","variants":[{"name":"a","share":0.6},{"name":"b","share":0.6}]}]}' \
  "experiments[0].variants"
bad "a duplicate name" '{"experiments":[{"name":"x","variants":[{"name":"a","share":0.5},{"name":"b","share":0.5}]},
  {"name":"x","variants":[{"name":"a","share":0.5},{"name":"b","share":0.5}]}]}' "experiments[1].name"
bad "not an array" '{"experiments":3}' "experiments"
put "$BASE_B" '{"list":[]}'
check "a body without experiments: 400 unknown_field" jqt '.error.code == "unknown_field"' "$TMP/put.json"
check "nothing changed: both still serve runtime-exp, version 1" bash -c \
  "[ '$(names "$BASE_A")' = '[\"runtime-exp\"]' ] && [ '$(names "$BASE_B")' = '[\"runtime-exp\"]' ] &&
   [ \"\$(${RCLI[*]} hget mixrec:experiments version)\" = 1 ]"

# ---- PUTs under a steady stream of requests -----------------------------------
LIST2='{"experiments":[{"name":"second","mode":"interleave","audience":0.5,"variants":[{"name":"l","share":0.5},
  {"name":"r","share":0.5,"settings":{"ranking.enabled":false}}]},
  {"name":"runtime-exp","salt":"s1","variants":[{"name":"alpha","share":0.5},{"name":"beta","share":0.5,"settings":{"ranking.enabled":false}}]}]}'
LIST3='{"experiments":[{"name":"third","audience":0.7,"variants":[{"name":"p","share":0.3},{"name":"q","share":0.7}]}]}'
# stream BASE N OUT: N recommendation requests, one "status experiment variant" line each
stream() {
  local i u code
  for ((i = 0; i < $2; i++)); do
    u=$(sed -n "$((i % 30 + 1))p" <<<"$USERS")
    code=$(curl -s --max-time 20 -o "$3.body" -w '%{http_code}' "$1/v1/users/$u/recommendations?k=5")
    echo "$code $(jq -r '"\(.experiment // "-") \(.variant // "-")"' "$3.body" 2>/dev/null || echo bad)"
  done >"$3"
}
stream "$BASE_A" 150 "$TMP/s1.txt" & S1=$!
stream "$BASE_B" 150 "$TMP/s2.txt" & S2=$!
stream "$BASE_A" 150 "$TMP/s3.txt" & S3=$!
WRK=
if command -v wrk >/dev/null; then
  printf 'local n = 0\nfunction request()\n  n = n + 1\n  return wrk.format("GET", "/v1/users/" .. ({%s})[n %% 30 + 1] .. "/recommendations?k=5")\nend\n' \
    "$(sed 's/.*/"&"/' <<<"$USERS" | paste -sd,)" >"$TMP/stream.lua"
  wrk -t1 -c4 -d6s -s "$TMP/stream.lua" "$BASE_B" >"$TMP/wrk.out" 2>&1 & WRK=$!
fi
# PUTs on A and B in turn, every 0.3 s for as long as the streams run (12 to 80)
puts=0
puts_ok=0
while [ $puts -lt 12 ] || { [ $puts -lt 80 ] && jobs -r | grep -q .; }; do
  puts=$((puts + 1))
  case $((puts % 3)) in 0) body=$NEW ;; 1) body=$LIST2 ;; 2) body=$LIST3 ;; esac
  if [ $((puts % 2)) = 0 ]; then put "$BASE_A" "$body"; else put "$BASE_B" "$body"; fi
  [ "$CODE" = 200 ] && puts_ok=$((puts_ok + 1))
  sleep 0.3
done
wait $S1 $S2 $S3
[ -n "$WRK" ] && wait $WRK
cat "$TMP"/s[123].txt >"$TMP/stream.txt"
echo "# under $puts PUTs: $(wc -l <"$TMP/stream.txt") requests; by experiment and variant:" \
  "$(awk '{print $2 "/" $3}' "$TMP/stream.txt" | sort | uniq -c | tr -s ' \n' ' ')"
check "$puts PUTs under load: all 200 ($puts_ok)" test "$puts_ok" = "$puts"
check "450 requests under the PUTs, every one answered 200" \
  bash -c "[ \$(wc -l <'$TMP/stream.txt') = 450 ] && [ \$(awk '\$1 == 200' '$TMP/stream.txt' | wc -l) = 450 ]"
check "every answer names an experiment and variant of one of the lists (or none)" \
  bash -c "! grep -vE '^200 (runtime-exp (alpha|beta)|second interleaved|third (p|q)|- -)$' '$TMP/stream.txt' | grep -q ."
if [ -n "$WRK" ]; then
  echo "# wrk on B meanwhile: $(grep -E 'requests in' "$TMP/wrk.out" | sed 's/^ *//')"
  check "wrk on B: no socket errors and no non-2xx answers" \
    bash -c "grep -q 'requests in' '$TMP/wrk.out' && ! grep -qE 'Socket errors|Non-2xx' '$TMP/wrk.out'"
fi
check "A and B are alive after the PUTs" bash -c "kill -0 $PID_A && kill -0 $PID_B"
last=$(jq -c '[.experiments[].name]' <<<"$body")
wait_names "$BASE_A" "$last" && wait_names "$BASE_B" "$last"
check "both replicas converge on the last list within 5 s" test "$WAITED" != never

# ---- a restarted replica takes the stored list over its settings file's ------------
kill -TERM "$PID_B"
wait "$PID_B"
rc_b=$?
check "B exits 0 on SIGTERM (a sanitizer report fails it)" test "$rc_b" = 0
MIXREC_EXPERIMENTS_LIST=$FILE_LIST serve_start B "${ARGS[@]}"
wait_names "$BASE_B" "$last" 30
echo "# the restarted B served the stored list after ${WAITED} s"
check "restarted with the settings file's list, B serves the stored one (Redis wins)" test "$WAITED" != never

# ---- DELETE and PUT null return to the settings file's list --------------------------
CODE=$(curl -s -o "$TMP/del.json" -w '%{http_code}' -X DELETE "${AK[@]}" "$BASE_B$X")
check "DELETE on B: 200 with the settings file's list" \
  bash -c "[ $CODE = 200 ] && jq -e '[.experiments[].name] == [\"file-exp\"]' '$TMP/del.json' >/dev/null"
check "DELETE erased the stored list (the version still grows)" \
  bash -c "[ -z \"\$(${RCLI[*]} hget mixrec:experiments json)\" ] && [ \"\$(${RCLI[*]} hget mixrec:experiments version)\" = $((puts + 2)) ]"
wait_names "$BASE_A" '["file-exp"]'
check "A returns to the settings file's list within 3 s (${WAITED} s)" \
  bash -c "[ '$WAITED' != never ] && awk 'BEGIN {exit !($WAITED <= 3)}'"
answers "$BASE_A" "$TMP/a2.txt"
check "A's answers carry the settings file's experiment again, as before" \
  bash -c "cmp -s <(awk '{print \$1, \$2, \$3}' '$TMP/a2.txt') <(awk '{print \$1, \$2, \$3}' '$TMP/b0.txt')"
put "$BASE_A" "$LIST3"
wait_names "$BASE_B" '["third"]'
put "$BASE_A" '{"experiments":null}'
check "PUT of null: 200 with the settings file's list" \
  bash -c "[ $CODE = 200 ] && jq -e '[.experiments[].name] == [\"file-exp\"]' '$TMP/put.json' >/dev/null"
check "and B follows" wait_names "$BASE_B" '["file-exp"]'
put "$BASE_A" '{"experiments":[]}'
check "PUT of []: no experiment on either replica" \
  bash -c "[ $CODE = 200 ] && jq -e '.experiments == []' '$TMP/put.json' >/dev/null"
check "and B follows ([])" wait_names "$BASE_B" '[]'

# ---- Redis stopped: PUT is 503, serving goes on ------------------------------
put "$BASE_A" "$LIST3"
wait_names "$BASE_B" '["third"]'
stop_redis
put "$BASE_A" "$NEW"
check "Redis stopped: PUT is 503 redis_unavailable" \
  bash -c "[ $CODE = 503 ] && jq -e '.error.code == \"redis_unavailable\"' '$TMP/put.json' >/dev/null"
CODE=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "${AK[@]}" "$BASE_B$X")
check "Redis stopped: DELETE is 503" test "$CODE" = 503
check "the list in force stays on both" bash -c "[ '$(names "$BASE_A")' = '[\"third\"]' ] && [ '$(names "$BASE_B")' = '[\"third\"]' ]"
answers "$BASE_A" "$TMP/a3.txt"
check "serving goes on with it (30 answers of 'third' or none)" \
  bash -c "[ \$(wc -l <'$TMP/a3.txt') = 30 ] && ! awk '\$2 != \"third\" && \$2 != \"-\"' '$TMP/a3.txt' | grep -q ."

for p in "$PID_A" "$PID_B"; do
  kill -TERM "$p"
  wait "$p"
  rc=$?
  check "server $p exits 0 on SIGTERM (a sanitizer report fails it)" test "$rc" = 0
done
LIB_PIDS=()
finish
