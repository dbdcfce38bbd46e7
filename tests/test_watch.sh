#!/usr/bin/env bash
# test_watch.sh - `mixrec serve` watches its model root and rolls new
# versions out by itself (issue 14), with a real redis-server:
#   1. on v1 with server.model_poll_s=1, a v2 built into the same root (a
#      user v1 does not know) is served within 10 s without any signal,
#      and a loop of requests running across the swap sees only 200s;
#   2. a broken version (a copy of v2 with one file corrupted, CURRENT
#      renamed onto it) is refused: v2 keeps answering, /readyz says what
#      and why, /metrics counts it and mixrec_model_refused is 1; it is not
#      retried every poll, but is after its manifest changes or on SIGHUP;
#   3. CURRENT back at the served version withdraws the refusal (gauge 0);
#      another broken one, then a v3 build: v3 served, refusal cleared;
#   4. server.model_poll_s=0 does not watch (SIGHUP still reloads); out of
#      range values exit 2 naming the setting.
# Any sanitizer report in a server's stderr fails the test (run it with an
# ASan/UBSan build's mixrec too).
#   tests/test_watch.sh BUILD/mixrec
set -uo pipefail
MIXREC=$1
source "$(dirname "$0")/lib.sh"

make_test_model
v1=$(cat "$TMP/model/CURRENT")
NEW=watch-new-user
# v2's log: v1's plus a user v1 has never seen
{ cat "$TMP/syn/interactions.csv"
  for i in $(sed 1d "$TMP/syn/interactions.csv" | cut -d, -f2 | sort -u | head -8); do
    echo "$NEW,$i,1600009999,1"
  done; } >"$TMP/v2.csv"
build_version() { # interactions file; prints the new version (CURRENT renamed onto it)
  local before
  before=$(cat "$TMP/model/CURRENT")
  for _ in 1 2 3; do
    "$MIXREC" build --interactions "$1" --items "$TMP/syn/items.csv" --set embed.dim=16 \
      --set interests.count=8 --out "$TMP/model" >/dev/null 2>&1 ||
      { echo "cannot build a model version" >&2; return 1; }
    [ "$(cat "$TMP/model/CURRENT")" != "$before" ] && break
    sleep 1 # versions are named by the second
  done
  cat "$TMP/model/CURRENT"
}
point_at() { # version: CURRENT renamed onto it, as `mixrec build` does
  echo "$1" >"$TMP/model/CURRENT.tmp" && mv "$TMP/model/CURRENT.tmp" "$TMP/model/CURRENT"
}
get() { # path output-file: prints the status
  curl -s -m 10 -o "$2" -w '%{http_code}' "$BASE_W$1"
}
metric() { # name{labels}: its value, or "absent"
  curl -s -m 10 "$BASE_W/metrics" | awk -v m="$1" '$1 == m { print $2; found = 1 } END { if (!found) print "absent" }'
}
WAITED=0
wait_for() { # seconds, command...: polls every 0.2 s; WAITED = the ms it took
  local limit=$1 t0 now; shift
  t0=$(date +%s%N)
  while :; do
    "$@" && { now=$(date +%s%N); WAITED=$(( (now - t0) / 1000000 )); return 0; }
    now=$(date +%s%N)
    [ $(( (now - t0) / 1000000000 )) -ge "$limit" ] && return 1
    sleep 0.2
  done
}
is() { # metric value
  [ "$(metric "$1")" = "$2" ]
}
serves() { # version
  [ "$(get /readyz "$TMP/ready.body")" = 200 ] && jqt --arg v "$1" '.model_version == $v' "$TMP/ready.body"
}
refusal_of() { # version
  [ "$(get /readyz "$TMP/ready.body")" = 200 ] &&
    jqt --arg v "$1" '.model_refused.version == $v' "$TMP/ready.body"
}
no_refusal() {
  [ "$(get /readyz "$TMP/ready.body")" = 200 ] && jqt 'has("model_refused") | not' "$TMP/ready.body"
}

start_redis
user=$(sed -n 2p "$TMP/syn/interactions.csv" | cut -d, -f1)
serve_start W --redis "unix:$TMP/redis.sock" --set server.model_poll_s=1 \
  --set redis.command_timeout_ms=2000
code=$(get "/v1/users/$NEW/recommendations?k=5" "$TMP/before.body")
check "v1 ($v1) serves and does not know $NEW" \
  bash -c "[ '$code' = 200 ] && jq -e --arg v '$v1' '.model_version == \$v and (.known_user | not)' '$TMP/before.body' >/dev/null"
check "no refusal at start" no_refusal
check "  mixrec_model_refused 0" is mixrec_model_refused 0

# ---- 1. v2 built into the root is served by itself, no request fails -----------
# The load: one request after another, for at most 40 s or 4000 requests,
# until told to stop; every status is written down.
load() {
  local end=$((SECONDS + 40)) n=0
  while [ ! -e "$TMP/stop" ] && [ "$SECONDS" -lt "$end" ] && [ "$n" -lt 4000 ]; do
    curl -s -m 10 -o /dev/null -w '%{http_code}\n' "$BASE_W/v1/users/$user/recommendations?k=10"
    n=$((n + 1))
  done >"$TMP/load.codes"
}
load &
LOAD=$!
sleep 1
v2=$(build_version "$TMP/v2.csv")
check "v2 built into the same root ($v2, CURRENT names it)" bash -c "[ -n '$v2' ] && [ '$v2' != '$v1' ]"
if wait_for 10 serves "$v2"; then ok "v2 served without a signal, ${WAITED} ms after CURRENT changed (< 10 s)"
else fail "v2 served without a signal within 10 s (serves $(jq -r .model_version "$TMP/ready.body"))"; fi
sleep 1 # requests on v2 too
touch "$TMP/stop"
wait "$LOAD"
total=$(wc -l <"$TMP/load.codes")
bad=$(grep -vc '^200$' "$TMP/load.codes")
check "the load across the swap: $total requests, every one 200 ($bad others)" \
  bash -c "[ '$total' -ge 10 ] && [ '$bad' = 0 ]"
code=$(get "/v1/users/$NEW/recommendations?k=5" "$TMP/after.body")
check "  the answer comes from v2, which knows $NEW" \
  bash -c "[ '$code' = 200 ] && jq -e --arg v '$v2' '.model_version == \$v and .known_user' '$TMP/after.body' >/dev/null"
check "  the log says what was loaded and why" grep -q "model reloaded: $v2 (CURRENT changed, was $v1)" "$TMP/W.err"
OK='mixrec_model_reloads_total{result="ok"}'
REJ='mixrec_model_reloads_total{result="rejected"}'
check "  counted: $OK 1" is "$OK" 1
check "  mixrec_model_info names v2" is "mixrec_model_info{version=\"$v2\"}" 1

# ---- 2. a broken version is refused, v2 keeps serving ----------------------------
bad1=broken-1
cp -a "$TMP/model/$v2" "$TMP/model/$bad1"
printf 'ZZZZ' | dd of="$TMP/model/$bad1/item_vectors.f32" bs=1 seek=64 conv=notrunc status=none
point_at "$bad1"
if wait_for 10 refusal_of "$bad1"; then ok "the broken version is refused within ${WAITED} ms"
else fail "the broken version is refused within 10 s ($(cat "$TMP/ready.body"))"; fi
check "  /readyz: 200, ready, v2 serving, the refusal with its reason and time" \
  jqt --arg v "$v2" --arg b "$bad1" '.status == "ready" and .model_version == $v and
    .model_refused.version == $b and (.model_refused.error | test("item_vectors.f32")) and
    (.model_refused.at | type == "number" and . > 1600000000)' "$TMP/ready.body"
conforms_ready() { # the body against the Ready schema the server publishes
  get /openapi.json "$TMP/openapi.json" >/dev/null
  python3 - "$TMP/openapi.json" "$TMP/ready.body" <<'PY'
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))["components"]["schemas"]["Ready"]
jsonschema.validate(json.load(open(sys.argv[2])), schema)
PY
}
check "  and it conforms to the published Ready schema (proto/openapi.json)" conforms_ready
code=$(get "/v1/users/$NEW/recommendations?k=5" "$TMP/refused.body")
check "  answers still come from v2" \
  bash -c "[ '$code' = 200 ] && jq -e --arg v '$v2' '.model_version == \$v and .known_user' '$TMP/refused.body' >/dev/null"
check "  /metrics: mixrec_model_refused 1" is mixrec_model_refused 1
check "  /metrics: $REJ 1" is "$REJ" 1
check "  the log says what was refused and why" \
  grep -q "model watch: version refused: $bad1 ($v2 keeps serving): .*item_vectors.f32" "$TMP/W.err"
sleep 3.5 # three more polls
check "  not retried every poll: still 1 rejection" is "$REJ" 1
check "  and 1 log line" test "$(grep -c "version refused: $bad1" "$TMP/W.err")" = 1
touch -d '+1 sec' "$TMP/model/$bad1/manifest.json"
check "  retried once its manifest changes" wait_for 10 is "$REJ" 2
kill -HUP "$PID_W"
check "  and on SIGHUP (an explicit reload always loads)" wait_for 10 is "$REJ" 3
check "  still refused" refusal_of "$bad1"
check "  still v2" serves "$v2"

# ---- 3. CURRENT back at a good version: the refusal goes ---------------------------
point_at "$v2"
check "CURRENT back at the served v2: the refusal is withdrawn" wait_for 10 no_refusal
check "  mixrec_model_refused 0" is mixrec_model_refused 0
check "  without a reload: v2 still served" serves "$v2"
check "  and still 1 ok reload" is "$OK" 1
check "  logged" grep -q "refusal withdrawn, CURRENT names: $v2" "$TMP/W.err"
bad2=broken-2
mkdir "$TMP/model/$bad2" # no manifest at all
point_at "$bad2"
check "an empty version directory is refused too" wait_for 10 refusal_of "$bad2"
check "  with a reason naming it" jqt --arg b "$bad2" '.model_refused.error | contains($b)' "$TMP/ready.body"
v3=$(build_version "$TMP/syn/interactions.csv")
if wait_for 10 serves "$v3"; then ok "then v3 ($v3) built: served within ${WAITED} ms"
else fail "then v3 built: served within 10 s"; fi
check "  the refusal is cleared" no_refusal
check "  mixrec_model_refused 0" is mixrec_model_refused 0
check "  2 ok reloads" is "$OK" 2
code=$(get "/v1/users/$NEW/recommendations?k=5" "$TMP/v3.body")
check "  v3 (built without $NEW) answers and does not know $NEW" \
  bash -c "[ '$code' = 200 ] && jq -e --arg v '$v3' '.model_version == \$v and (.known_user | not)' '$TMP/v3.body' >/dev/null"
no_sanitizer_report() { # stderr file (an ASan/UBSan build of mixrec)
  ! grep -qE 'ERROR: (Address|Thread|Leak)Sanitizer|WARNING: ThreadSanitizer|runtime error:' "$1"
}
kill -TERM "$PID_W"
wait "$PID_W"
check "  SIGTERM: exits 0" test $? = 0
check "  no sanitizer report" no_sanitizer_report "$TMP/W.err"

# ---- 4. model_poll_s=0 does not watch; bad values are refused ----------------------
point_at "$v1"
serve_start Z --redis "unix:$TMP/redis.sock" --set server.model_poll_s=0
BASE_W=$BASE_Z
point_at "$v2"
sleep 3
check "model_poll_s=0: CURRENT changed, $v1 still served after 3 s" serves "$v1"
check "  and no reload happened" is "$OK" 0
kill -HUP "$PID_Z"
check "  SIGHUP still reloads ($v2)" wait_for 10 serves "$v2"
kill -TERM "$PID_Z"
wait "$PID_Z"
check "  SIGTERM: exits 0" test $? = 0
check "  no sanitizer report" no_sanitizer_report "$TMP/Z.err"
for v in -1 86401 1.5 soon; do
  "$MIXREC" serve --model "$TMP/model" --listen 127.0.0.1:1 --set server.model_poll_s=$v \
    >/dev/null 2>"$TMP/bad.err"
  rc=$?
  check "server.model_poll_s=$v: exit 2 naming the setting" \
    bash -c "[ '$rc' = 2 ] && grep -q 'server.model_poll_s' '$TMP/bad.err'"
done
LIB_PIDS=()
finish
