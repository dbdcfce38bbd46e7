#!/usr/bin/env bash
# test_faults.sh - faults and hostile input that test_serve.sh does not
# cover, each against a real `mixrec serve` and a real redis-server:
#   Redis killed, paused (DEBUG SLEEP) and restarted under load; the model
#   directory replaced by broken ones and reloaded under load (rejected, the
#   old model serves on); an unreadable, truncated or overflowing model at
#   start-up (clear error, exit 1, never listening); a full disk under the
#   access log; thousands of idle connections and slow-loris clients;
#   oversized headers and bodies; invalid UTF-8 and deeply nested JSON;
#   what reaches the logs (ids sanitised, API keys never).
#   tests/test_faults.sh BUILD/mixrec
set -uo pipefail
MIXREC=$1
source "$(dirname "$0")/lib.sh"
command -v wrk >/dev/null || { echo "wrk is not installed (scripts/deps.sh)"; exit 1; }
command -v python3 >/dev/null || { echo "python3 is not installed"; exit 1; }

make_test_model
start_redis
KEY=fault-key
# on_random_port FUNC: runs `FUNC PORT` in the background on a random port
# until it answers /healthz (a random port may be taken by another socket:
# up to five tries, as serve_start does); sets SPAWN_PID and SPAWN_PORT.
on_random_port() {
  local fn=$1
  for _ in 1 2 3 4 5; do
    SPAWN_PORT=$(lib_free_port)
    ("$fn" "$SPAWN_PORT") &
    SPAWN_PID=$!
    for _ in $(seq 150); do
      curl -s -o /dev/null "http://127.0.0.1:$SPAWN_PORT/healthz" && break
      kill -0 "$SPAWN_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$SPAWN_PID" 2>/dev/null && break
    wait "$SPAWN_PID" 2>/dev/null
    echo "  ($fn did not start on port $SPAWN_PORT, trying another)"
  done
  LIB_PIDS+=("$SPAWN_PID")
}
user=$(sed -n 2p "$TMP/syn/interactions.csv" | cut -d, -f1)

req() { # METHOD PATH [curl args...]: body $TMP/body, status $CODE
  local method=$1 path=$2; shift 2
  CODE=$(curl -s -m 10 -o "$TMP/body" -D "$TMP/hdr" -w '%{http_code}' -X "$method" "$@" "$BASE$path")
}
status_is() { [ "$CODE" = "$1" ] || { echo "  status $CODE, expected $1: $(head -c 300 "$TMP/body")"; return 1; }; }
error_code_is() { jqt --arg c "$1" '.error.code == $c and (.error.message | length > 0)' "$TMP/body"; }
version_is() { req GET /readyz; jqt --arg v "$1" '.model_version == $v' "$TMP/body"; }
alive() { kill -0 "$PID" 2>/dev/null && req GET /healthz && [ "$CODE" = 200 ]; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
fds() { ls "/proc/$1/fd" | wc -l; }

# Mixed load: recommendations for known users, every 4th request an event
# for a user of its own. Counts answers by kind and status (wrk's done()).
users=$(cut -d, -f1 "$TMP/syn/interactions.csv" | sed 1d | sort -u | head -50 | sed 's/.*/"&"/' | paste -sd,)
cat >"$TMP/load.lua" <<LUA
local users = {$users}
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) counts = {}; n = 0; id = math.random(1, 1000000000) end
function request()
  n = n + 1
  if n % 4 == 0 then
    return wrk.format("POST", "/v1/events", {["Content-Type"] = "application/json", ["X-API-Key"] = "$KEY"},
      '[{"user":"load-' .. id .. '-' .. n .. '","item":"i1","type":"click"}]')
  end
  return wrk.format("GET", "/v1/users/" .. users[n % #users + 1] .. "/recommendations?k=10")
end
function response(status, headers, body)
  local kind = body:find('"accepted"', 1, true) and "event" or
               body:find('"items"', 1, true) and "recs" or
               body:find('redis_unavailable', 1, true) and "refused" or "other"
  if kind == "other" and not said then said = true; io.stderr:write("answer ", status, " ", body, "\n") end
  local k = kind .. " " .. status
  counts[k] = (counts[k] or 0) + 1
end
function done(summary, latency, requests)
  local all = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("counts")) do all[k] = (all[k] or 0) + v end
  end
  for k, v in pairs(all) do io.write(string.format("count %s %d\n", k, v)) end
  io.write(string.format("max_ms %.1f\n", latency.max / 1000))
end
LUA
load_start() { # seconds
  wrk -t2 -c8 -d"$1"s -s "$TMP/load.lua" "$BASE" >"$TMP/wrk.out" 2>&1 &
  WRK=$!
}
count() { awk -v k="$1" -v s="$2" '$1 == "count" && $2 == k && $3 == s {n = $4} END {print n + 0}' "$TMP/wrk.out"; }
others() { # answers not of the given kind/status pairs
  awk -v ok="$*" 'BEGIN {split(ok, a, " "); for (i in a) allowed[a[i]] = 1}
    $1 == "count" && !(($2 "/" $3) in allowed) {n += $4} END {print n + 0}' "$TMP/wrk.out"
}
answers() { grep '^count' "$TMP/wrk.out" | cut -d' ' -f2- | paste -sd, | sed 's/,/, /g'; }
no_socket_errors() { ! grep -q 'Socket errors' "$TMP/wrk.out" || { grep 'Socket errors' "$TMP/wrk.out"; return 1; }; }

# (CURRENT not watched: only the admin route reloads here, so every
# rejection below is counted exactly once)
serve_start F --redis "unix:$TMP/redis.sock" --set auth.api_keys=$KEY --set log.level=warn \
  --set server.model_poll_s=0
PID=$PID_F
BASE=$BASE_F
good=$(cat "$TMP/model/CURRENT")

# ---- Redis killed, then restarted, under load ------------------------------
load_start 5
sleep 1.2; stop_redis; sleep 1.5; start_redis
wait "$WRK"
check "redis killed under load: no socket error" no_socket_errors
check "redis killed under load: every recommendation 200 ($(answers))" \
  test "$(others recs/200 event/200 refused/503)" = 0
check "redis killed under load: events refused (503) while it was down ($(count refused 503))" \
  test "$(count refused 503)" -gt 0
check "redis killed under load: events stored before and after ($(count event 200))" \
  test "$(count event 200)" -gt 0
for _ in $(seq 50); do req GET /readyz; jqt '.redis == "ok"' "$TMP/body" && break; sleep 0.1; done
check "redis restarted: every worker reconnected" jqt '.redis == "ok" and .redis_connected_workers == .workers' "$TMP/body"
# Every worker, not just one: a connection that broke with writes pending
# used to stay "connected" but dead (hiredis 0.14's libuv adapter), so
# every other request failed for good.
for i in $(seq 10); do
  req POST /v1/events -H 'Content-Type: application/json' -H "X-API-Key: $KEY" \
    -d '[{"user":"after-restart","item":"i1","type":"view"}]'
done
check "redis restarted: 10 of 10 events stored again, whichever worker took them ($CODE $(head -c 100 "$TMP/body"))" \
  test "$(redis-cli -s "$TMP/redis.sock" llen mixrec:session:after-restart)" = 10

# ---- Redis paused (DEBUG SLEEP) under load ----------------------------------
load_start 4
sleep 1; redis-cli -s "$TMP/redis.sock" debug sleep 1.5 >/dev/null &
SLEEPER=$!
wait "$WRK"; wait "$SLEEPER"
check "redis paused under load: no socket error" no_socket_errors
check "redis paused under load: recommendations all 200, events 200 or 503 ($(answers))" \
  test "$(others recs/200 event/200 refused/503)" = 0
max=$(awk '$1 == "max_ms" {printf "%d", $2}' "$TMP/wrk.out")
check "redis paused under load: slowest answer ${max} ms, not the 1.5 s pause" test "$max" -lt 1000
# (the commands queued while it slept are answered first: allow a moment)
for _ in $(seq 30); do req GET "/v1/users/$user/recommendations?k=5"; jqt '.session == "ok"' "$TMP/body" && break; sleep 0.1; done
check "redis awake again: sessions read" jqt '.session == "ok"' "$TMP/body"

# ---- the model directory replaced by broken ones, reloaded under load --------
vdir="$TMP/model/$good"
cp -a "$TMP/model" "$TMP/model.good"
fnv() { python3 -c 'import sys
h = 14695981039346656037
for c in open(sys.argv[1], "rb").read(): h = ((h ^ c) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
print("%016x" % h)' "$1"; }
restore_model() { rm -rf "$TMP/model"; cp -a "$TMP/model.good" "$TMP/model"; }
REJECTED=0
reload_rejected() {
  REJECTED=$((REJECTED + 1))
  req POST /v1/admin/reload -H "X-API-Key: $KEY"
  cp "$TMP/body" "$TMP/reload.body"
  status_is 422 && error_code_is model_rejected && version_is "$good" &&
    { req GET "/v1/users/$user/recommendations?k=3"; status_is 200; }
}
flip_byte() { # file offset
  printf '\x5a' | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
load_start 8
restore_model; truncate -s 100 "$vdir/user_vectors.f32"
check "broken model rejected: truncated array" reload_rejected
restore_model; flip_byte "$vdir/item_vectors.f32" 64
check "broken model rejected: one byte changed (checksum)" reload_rejected
restore_model; flip_byte "$vdir/index.faiss" $(( $(stat -c %s "$vdir/index.faiss") / 2 ))
check "broken model rejected: corrupt index.faiss (checksum, FAISS never reads it)" reload_rejected
check "  and the message names the index" jqt '.error.message | test("index.faiss")' "$TMP/reload.body"
restore_model; rm "$vdir/index.faiss"
check "broken model rejected: index missing" reload_rejected
restore_model; echo '{"format": "mixrec-model", "format_version": 1, "counts": {' >"$vdir/manifest.json"
check "broken model rejected: truncated manifest" reload_rejected
restore_model; echo no-such-version >"$TMP/model/CURRENT"
check "broken model rejected: CURRENT names nothing" reload_rejected
# Counts that overflow the size arithmetic, with matching (empty) files and
# checksums: once an out-of-bounds read, now rejected (found by fuzz_model).
restore_model
python3 - "$vdir" <<'PY'
import json, os, sys
d = sys.argv[1]
def fnv(b):
    h = 14695981039346656037
    for c in b: h = ((h ^ c) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h
man = json.load(open(os.path.join(d, "manifest.json")))
man["counts"]["items"] = 1 << 62
for name, size in [("item_vectors.f32", 0), ("item_interest.u32", 0), ("popularity.f32", 0),
                   ("popularity_count.f32", 0), ("category_ptr.u32", 4), ("category_ids.u16", 0)]:
    open(os.path.join(d, name), "wb").write(b"\0" * size)
    man["files"][name] = {"bytes": size, "fnv1a": fnv(b"\0" * size)}
json.dump(man, open(os.path.join(d, "manifest.json"), "w"))
PY
check "broken model rejected: counts that overflow (2^62 items)" reload_rejected
rm -rf "$TMP/model"; mkdir "$TMP/model"
check "broken model rejected: the whole directory replaced by an empty one" reload_rejected
restore_model; kill -HUP "$PID"; sleep 0.3
wait "$WRK"
check "reloads under load: no socket error" no_socket_errors
# (an event may be refused when Redis is slower than its 50 ms deadline on
# a busy machine: the client is told, and that is not the reload's doing)
check "reloads under load: every answer 200 ($(answers))" \
  test "$(others recs/200 event/200 refused/503)" = 0
check "reloads under load: the good model still serves" version_is "$good"
req GET /metrics
check "every rejection counted ($REJECTED)" grep -q "^mixrec_model_reloads_total{result=\"rejected\"} $REJECTED\$" "$TMP/body"

# ---- a broken model at start-up: clear error, exit 1, never listening ---------
port=$(lib_free_port)
startup_fails() { # what, expected text in stderr
  "$MIXREC" serve --model "$TMP/bad" --listen "127.0.0.1:$port" >/dev/null 2>"$TMP/start.err" &
  local p=$! listened=0
  for _ in $(seq 20); do
    curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && listened=1
    kill -0 "$p" 2>/dev/null || break
    sleep 0.05
  done
  wait "$p"; local rc=$?
  [ "$rc" = 1 ] || { echo "  exit $rc, expected 1"; return 1; }
  [ "$listened" = 0 ] || { echo "  it answered on the port"; return 1; }
  grep -q -- "$1" "$TMP/start.err" || { echo "  stderr: $(cat "$TMP/start.err")"; return 1; }
}
rm -rf "$TMP/bad"; cp -a "$TMP/model.good" "$TMP/bad"
head -c 1000 "$TMP/model.good/$good/item_vectors.f32" >"$TMP/bad/$good/item_vectors.f32" # as a full disk leaves it
check "start-up, model truncated by a full disk: exit 1, names the file, never listens" startup_fails "item_vectors.f32"
rm -rf "$TMP/bad"; cp -a "$TMP/model.good" "$TMP/bad"
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
  chmod 0600 "$TMP/bad/$good/users.txt"
  chmod o+rx "$TMP" "$TMP/bad" "$TMP/bad/$good"
  asuser() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
else
  chmod 0000 "$TMP/bad/$good/users.txt"
  asuser() { "$@"; }
fi
startup_fails_as() {
  asuser "$MIXREC" serve --model "$TMP/bad" --listen "127.0.0.1:$port" >/dev/null 2>"$TMP/start.err"
  local rc=$?
  [ "$rc" = 1 ] && grep -q "users.txt" "$TMP/start.err" && grep -qi "permission denied" "$TMP/start.err" ||
    { echo "  exit $rc: $(cat "$TMP/start.err")"; return 1; }
}
check "start-up, a model file it may not read: exit 1, names it (permission denied)" startup_fails_as

# ---- a full disk under the access log -----------------------------------------
full_disk_server() { # port
  exec "$MIXREC" serve --model "$TMP/model" --listen "127.0.0.1:$1" --workers 1 >/dev/full 2>"$TMP/full.err"
}
on_random_port full_disk_server
FULL=$SPAWN_PID port2=$SPAWN_PORT
ok_n=0
for _ in $(seq 50); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port2/v1/users/$user/recommendations?k=3")" = 200 ] && ok_n=$((ok_n + 1))
done
check "access log on a full disk (/dev/full): 50 of 50 requests served ($ok_n)" test "$ok_n" = 50
kill -TERM "$FULL"; wait "$FULL"
check "and it still stops cleanly (exit 0)" test $? = 0

# ---- thousands of idle connections, slow-loris clients ------------------------
kill -TERM "$PID"; wait "$PID"
serve_start C --set limits.max_connections=600 --set limits.request_timeout_s=2 --set log.level=warn
PID=$PID_C
BASE=$BASE_C
PORT=${BASE##*:}
cat >"$TMP/conns.py" <<'PY'
# conns.py MODE PORT N SECONDS [QUIET]: N idle connections (MODE idle), or N
# slow-loris clients sending one header byte every 0.2 s (MODE loris) for
# SECONDS, then silent for QUIET seconds; prints how many connected and how
# many the server closed.
import socket, sys, time
mode, port, n, secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
quiet = float(sys.argv[5]) if len(sys.argv) > 5 else 0
socks = []
for _ in range(n):
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect(("127.0.0.1", port))
        s.setblocking(False)
        socks.append(s)
    except OSError:
        s.close()
line = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 10000
start, i, closed = time.time(), 0, set()
while time.time() < start + secs + quiet and len(closed) < len(socks):
    if time.time() > start + secs: mode = "idle"
    time.sleep(0.2)
    for k, s in enumerate(socks):
        if k in closed: continue
        try:
            if mode == "loris": s.send(line[i % len(line):i % len(line) + 1])
            if s.recv(1) == b"": closed.add(k)
        except BlockingIOError: pass
        except OSError: closed.add(k)
    i += 1
print(len(socks), len(closed), flush=True)
PY
fd0=$(fds "$PID")
python3 "$TMP/conns.py" idle "$PORT" 400 4 >"$TMP/idle1.out" &
CP=$!
sleep 1
t0=$(date +%s%N); req GET "/v1/users/$user/recommendations?k=5"; ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "400 idle connections (limit 600): others still served in ${ms} ms" bash -c "[ $CODE = 200 ] && [ $ms -lt 1000 ]"
wait "$CP"
read -r opened closed <"$TMP/idle1.out"
check "idle connections closed by the server after request_timeout_s ($closed of $opened)" test "$closed" = "$opened"
python3 "$TMP/conns.py" idle "$PORT" 3000 4 >"$TMP/idle2.out" 2>&1 &
CP=$!
sleep 1.5
peak=$(fds "$PID")
check "3000 idle connections: open sockets held to the limit ($peak fds, limit 600 + $fd0)" test "$peak" -le $((600 + fd0 + 10))
served=0
for _ in $(seq 40); do req GET /healthz; [ "$CODE" = 200 ] && { served=1; break; }; sleep 0.1; done
check "3000 idle connections: another client is served once timeouts free slots" test "$served" = 1
wait "$CP"
for _ in $(seq 50); do [ "$(fds "$PID")" -le $((fd0 + 5)) ] && break; sleep 0.1; done
check "after the flood, sockets back to the idle count ($(fds "$PID"), was $fd0)" test "$(fds "$PID")" -le $((fd0 + 5))
# A file descriptor limit below limits.max_connections (4096 by default; a
# service's soft limit is often 1024): connections stop short of it, so a
# reload can still open the model's files. Before, a flood took every
# descriptor and the reload failed with "Too many open files".
fd_limited_server() { # port
  ulimit -n 256
  exec "$MIXREC" serve --model "$TMP/model" --listen "127.0.0.1:$1" --workers 2 \
    --set limits.request_timeout_s=3 >/dev/null 2>"$TMP/fd.err"
}
on_random_port fd_limited_server
FDS=$SPAWN_PID port3=$SPAWN_PORT
python3 "$TMP/conns.py" idle "$port3" 1000 3 >/dev/null 2>&1 &
CP=$!
sleep 1
kill -HUP "$FDS"
# SIGHUP logs "settings reloaded" first, then the model's line
wait_line "$TMP/fd.err" "model reloaded|reload rejected" 100
check "fd limit 256, 1000 idle connections: a reload still opens the model ($(fds "$FDS") fds)" \
  grep -q "model reloaded" "$TMP/fd.err" || cat "$TMP/fd.err"
wait "$CP"
kill -TERM "$FDS"; wait "$FDS"

python3 "$TMP/conns.py" loris "$PORT" 300 5 4 >"$TMP/loris.out" 2>&1 &
CP=$!
sleep 1
slow=0; worst=0
for _ in $(seq 20); do
  t0=$(date +%s%N); req GET "/v1/users/$user/recommendations?k=5"; ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  [ "$CODE" = 200 ] || slow=$((slow + 1)); [ "$ms" -gt "$worst" ] && worst=$ms
done
check "300 slow-loris clients: 20 of 20 other requests served (slowest ${worst} ms)" bash -c "[ $slow = 0 ] && [ $worst -lt 1000 ]"
wait "$CP"
read -r opened closed <"$TMP/loris.out"
check "slow-loris clients closed request_timeout_s after they stall ($closed of $opened)" test "$closed" = "$opened"
check "still alive" alive

# ---- oversized headers and bodies ---------------------------------------------
rss0=$(rss_kb "$PID")
{ printf 'X-Huge: '; head -c 300000 /dev/zero | tr '\0' a; echo; } >"$TMP/hdrfile"
req GET /healthz -H @"$TMP/hdrfile"
check "300 KB header: refused (431 or closed), not served ($CODE)" bash -c "[ $CODE = 431 ] || [ $CODE = 000 ]"
hdrs=(); for i in $(seq 400); do hdrs+=(-H "X-H$i: $(head -c 60 /dev/zero | tr '\0' b)"); done
req GET /healthz "${hdrs[@]}"
check "400 headers (26 KB): 431 in JSON" bash -c "[ $CODE = 431 ] && jq -e '.error.code == \"headers_too_large\"' '$TMP/body' >/dev/null"
head -c 50000000 /dev/zero | tr '\0' x >"$TMP/huge"
req POST /v1/recommendations -H 'Content-Type: application/json' --data-binary @"$TMP/huge"
check "50 MB body: 413 in JSON" bash -c "[ $CODE = 413 ] && jq -e '.error.code == \"body_too_large\"' '$TMP/body' >/dev/null"
req POST /v1/recommendations -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' --data-binary @"$TMP/huge"
check "50 MB chunked body: 413" status_is 413
rss1=$(rss_kb "$PID")
check "and the server did not keep them (RSS ${rss0} -> ${rss1} KiB)" test $((rss1 - rss0)) -lt 20000
python3 - "$PORT" <<'PY' >"$TMP/short.out"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"POST /v1/recommendations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          b"Content-Length: 10000000000\r\n\r\n{\"k\":")
s.close()
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(5)
s.sendall(b"POST /v1/recommendations HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n")
print(s.recv(100).split(b"\r\n")[0].decode())
PY
check "a client that promises 10 GB and hangs up, a negative length: refused, still alive" \
  bash -c "grep -q ' 4[0-9][0-9] ' '$TMP/short.out' && curl -sf -o /dev/null '$BASE/healthz'"
rm -f "$TMP/huge"

# ---- invalid UTF-8 and deeply nested JSON ---------------------------------------
req GET "/v1/users/%FF%FEx/recommendations"
check "user id that is not UTF-8: 400 in JSON (was an empty {} body)" error_code_is bad_parameter
req GET "/v1/items/n%90pe/similar"
check "item id that is not UTF-8: 400 in JSON" error_code_is bad_parameter
req GET "/v1/users/%C3%A9t%C3%A9/interests"
check "UTF-8 user id: 200, echoed" jqt '.user == "été"' "$TMP/body"
req GET "/v1/users/$user/recommendations?categories=%C0%AF"
check "category that is not UTF-8: 400 with a valid JSON message" error_code_is bad_parameter
printf '{"user":"\xff\xfe","k":3}' >"$TMP/badutf"
req POST /v1/recommendations -H 'Content-Type: application/json' --data-binary @"$TMP/badutf"
check "JSON body with invalid UTF-8: 400 bad_json" error_code_is bad_json
req POST /v1/events -H 'Content-Type: application/json' -H "X-API-Key: $KEY" --data-binary @"$TMP/badutf"
check "events with invalid UTF-8: 400 bad_json" error_code_is bad_json
req POST /v1/recommendations -H 'Content-Type: application/json' -d '{"user":"u\u0000x"}'
check "JSON string with a NUL: 400" status_is 400
head -c 200000 /dev/zero | tr '\0' '[' >"$TMP/nested"
req POST /v1/recommendations -H 'Content-Type: application/json' --data-binary @"$TMP/nested"
check "200,000 nested arrays: 400 bad_json" error_code_is bad_json
python3 -c 'print("{\"a\":" * 50000 + "1" + "}" * 50000)' >"$TMP/nested"
req POST /v1/events -H 'Content-Type: application/json' -H "X-API-Key: $KEY" --data-binary @"$TMP/nested"
check "50,000 nested objects: 400 bad_json" error_code_is bad_json
check "still alive" alive

# ---- what reaches the logs ------------------------------------------------------
kill -TERM "$PID"; wait "$PID"
serve_start L --redis "unix:$TMP/redis.sock" --set auth.api_keys=$KEY
PID=$PID_L
BASE=$BASE_L
req GET /healthz -H $'X-Request-Id: a"b\\c\x01d{}' 
check "request id sanitised before it is echoed" grep -q '^X-Request-Id: a_b_c_d{}' "$TMP/hdr"
req GET '/v1/users/%22%7D%2C%7B%22admin%22%3Atrue%5C/recommendations?k=2'
req GET '/v1/users/bob%0Ainjected/interests'
req POST /v1/events -H 'Content-Type: application/json' -H 'X-API-Key: wrong-secret-123' -d '[{"user":"u","item":"i","type":"view"}]'
check "a wrong API key is refused (403)" status_is 403
req POST /v1/events -H 'Content-Type: application/json' -H "X-API-Key: $KEY" -d '[{"user":"u","item":"i","type":"view"}]'
kill -TERM "$PID"; wait "$PID"
check "every access log line is one JSON object" jqt -s 'length > 0 and all(type == "object")' "$TMP/L.access.log"
check "user ids logged sanitised (no quote, no newline)" \
  jqt -s '[.[].user // "" | select(test("[\"\\n\\\\]"))] | length == 0' "$TMP/L.access.log"
check "the injected user is there, defanged" grep -qF '"user":"_},{_admin_:true_"' "$TMP/L.access.log"
check "API keys, right or wrong, never logged" bash -c "! grep -q -e '$KEY' -e wrong-secret-123 '$TMP/L.access.log' '$TMP/L.err'"

finish
