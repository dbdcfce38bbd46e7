#!/usr/bin/env bash
# test_tsan.sh - the worker pool and model reloads under ThreadSanitizer:
# a `mixrec serve` built with -fsanitize=thread (scripts/tsan builds it in
# build-tsan) answers a mixed load (recommendations, interests, similar
# items, events, readiness, metrics) on 2 workers while the model is
# reloaded 150 times by SIGHUP and by the admin route (two versions in turn,
# then a broken one) and Redis is killed and restarted; then it stops on SIGTERM. Passes
# when the server exits 0 and ThreadSanitizer reported nothing (reports go
# to $TMP/tsan.*; suppressions in tests/tsan.supp, each explained there).
#   tests/test_tsan.sh BUILD-TSAN/mixrec
set -uo pipefail
MIXREC=$1
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
command -v wrk >/dev/null || { echo "wrk is not installed (scripts/deps.sh)"; exit 1; }

# Build the model single-threaded: libgomp is not instrumented, so OpenMP's
# own synchronisation would look like races. The server runs FAISS on one
# thread per worker anyway (omp_set_num_threads(1)).
export OMP_NUM_THREADS=1
export TSAN_OPTIONS="halt_on_error=0 exitcode=66 second_deadlock_stack=1 log_path=$TMP/tsan suppressions=$HERE/tsan.supp"
make_test_model
v1=$(cat "$TMP/model/CURRENT")
sleep 1 # versions are named by the second
"$MIXREC" build --interactions "$TMP/syn/interactions.csv" --set embed.dim=8 --set interests.count=8 \
  --out "$TMP/model" >/dev/null 2>&1 # another version (built by the same TSan binary, one thread)
v2=$(cat "$TMP/model/CURRENT")
echo "$v1" >"$TMP/model/CURRENT"
start_redis
KEY=tsan-key
# Session reads wait 20 ms (testing.session_delay_ms), as on a busy Redis:
# many requests are in flight across each reload.
serve_start T --redis "unix:$TMP/redis.sock" --set auth.api_keys=$KEY --set log.level=warn \
  --set redis.command_timeout_ms=500 --set testing.session_delay_ms=20
BASE=$BASE_T
PID=$PID_T
user=$(sed -n 2p "$TMP/syn/interactions.csv" | cut -d, -f1)
item=$(sed -n 2p "$TMP/syn/interactions.csv" | cut -d, -f2)
item2=$(sed -n 3p "$TMP/syn/interactions.csv" | cut -d, -f2)

cat >"$TMP/mix.lua" <<LUA
local n = 0
function request()
  n = n + 1
  local k = n % 6
  if k == 0 then
    return wrk.format("POST", "/v1/events", {["Content-Type"] = "application/json", ["X-API-Key"] = "$KEY"},
      '[{"user":"$user","item":"$item","type":"click"},{"user":"t' .. n .. '","item":"$item","type":"view"}]')
  elseif k == 1 then return wrk.format("GET", "/v1/users/$user/interests")
  elseif k == 2 then return wrk.format("GET", "/v1/items/$item/similar?k=10")
  elseif k == 3 then
    return wrk.format("POST", "/v1/recommendations", {["Content-Type"] = "application/json"},
      '{"recent_items":["$item"],"exclude":["$item2"],"k":10}')
  end
  return wrk.format("GET", "/v1/users/$user/recommendations?k=10&explain=true&exclude=$item2")
end
LUA
wrk -t2 -c8 -d24s -s "$TMP/mix.lua" "$BASE" >"$TMP/wrk.out" 2>&1 &
WRK=$!
(for _ in $(seq 60); do curl -s -o /dev/null "$BASE/readyz"; curl -s -o /dev/null "$BASE/metrics"; sleep 0.3; done) &
POLL=$!
sleep 1
# 150 reloads under load, alternating the two versions, by the admin route
# and by SIGHUP (issue 11: before requests held their model, this freed a
# model under a request within a few dozen reloads).
for i in $(seq 150); do
  if [ $((i % 2)) = 0 ]; then echo "$v1" >"$TMP/model/CURRENT"; else echo "$v2" >"$TMP/model/CURRENT"; fi
  if [ $((i % 3)) = 0 ]; then kill -HUP "$PID"; sleep 0.05; else
    curl -s -o /dev/null -X POST -H "X-API-Key: $KEY" "$BASE/v1/admin/reload"; fi
  sleep 0.03
done
echo "$v2" >"$TMP/model/CURRENT"
curl -s -o /dev/null -X POST -H "X-API-Key: $KEY" "$BASE/v1/admin/reload" &
kill -HUP "$PID"; sleep 0.7
good=$(cat "$TMP/model/CURRENT")
echo broken >"$TMP/model/CURRENT"
curl -s -o /dev/null -X POST -H "X-API-Key: $KEY" "$BASE/v1/admin/reload"
kill -HUP "$PID"; sleep 0.5
echo "$good" >"$TMP/model/CURRENT"
stop_redis; sleep 1; start_redis
sleep 0.5
kill -HUP "$PID"
wait "$WRK"; wait "$POLL"
check "load served under TSan" grep -q "requests in" "$TMP/wrk.out"
check "no failed requests" bash -c "! grep -q 'Socket errors' '$TMP/wrk.out'"
kill -TERM "$PID"; wait "$PID"; rc=$?
LIB_PIDS=()
check "server exits 0 after SIGTERM (66 = TSan reports)" test "$rc" = 0
reports=$(cat "$TMP"/tsan.* 2>/dev/null | grep -c '^WARNING: ThreadSanitizer')
check "ThreadSanitizer reported nothing ($reports reports)" test "$reports" = 0
[ "$reports" = 0 ] || cat "$TMP"/tsan.* | head -120
finish
