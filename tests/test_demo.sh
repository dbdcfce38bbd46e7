#!/usr/bin/env bash
# test_demo.sh - scripts/demo, on a model directory of the test's own:
#   (a) another server on the demo's port: the demo fails at once, names the
#       port and how to pick another, never prints "serving" or "Try:";
#   (b) a port bound by another process but not listening (the check before
#       `mixrec serve` cannot see it): the demo notices its server died and
#       fails instead of printing "Try:";
#   (c) model versions: a run builds one and deletes all but the two newest,
#       a second run with the same inputs reuses it (same version count);
#   (d) a free port: the demo serves, /readyz names the version in CURRENT,
#       SIGTERM stops it with status 0 and frees the port.
# The evaluation table is skipped (DEMO_EVAL=0); the demo's own redis-server.
#   tests/test_demo.sh BUILD/mixrec SOURCE_ROOT
set -uo pipefail
MIXREC=$1
SRC=${2:-$(cd "$(dirname "$0")/.." && pwd)}
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
unset MIXREC_REDIS DEMO_PORT DEMO_SERVE DEMO_EVAL
export DEMO_MIXREC=$MIXREC DEMO_MODEL=$TMP/model DEMO_EVAL=0
DEMO_PID=
OTHER_PID=
demo_cleanup() { # the demo stops its server and redis-server on SIGTERM
  [ -z "$DEMO_PID" ] || { kill -TERM "$DEMO_PID"; wait "$DEMO_PID"; } 2>/dev/null
  [ -z "$OTHER_PID" ] || { kill -9 "$OTHER_PID"; wait "$OTHER_PID"; } 2>/dev/null
  lib_cleanup
}
trap demo_cleanup EXIT

busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  local p
  while :; do
    p=$(lib_free_port)
    busy "$p" || { echo "$p"; return; }
  done
}
stop_other() { { kill -9 "$OTHER_PID"; wait "$OTHER_PID"; } 2>/dev/null; OTHER_PID=; }
versions() { find "$TMP/model" -mindepth 1 -maxdepth 1 -type d -name '[0-9]*T*Z*' | wc -l; }

# (a) a foreign HTTP server on the port
port=$(free_port)
mkdir -p "$TMP/www"
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$TMP/www" >/dev/null 2>&1 &
OTHER_PID=$!
for _ in $(seq 300); do busy "$port" && break; sleep 0.1; done
check "a foreign server is on port $port" busy "$port"
t0=$(date +%s)
timeout 120 "$SRC/scripts/demo" --port "$port" >"$TMP/a.out" 2>&1
rc=$?
t1=$(date +%s)
check "foreign server: the demo fails (status $rc)" test "$rc" = 1
check "foreign server: the message names the port and --port" \
  grep -q "port $port .*taken.*scripts/demo --port [0-9]" "$TMP/a.out"
check "foreign server: no 'serving' nor 'Try:'" bash -c "! grep -q -e serving -e 'Try:' '$TMP/a.out'"
check "foreign server: fails at once (no model built, $((t1 - t0)) s)" \
  bash -c "[ ! -e '$TMP/model' ] && [ $((t1 - t0)) -le 5 ]"
stop_other
[ "$fails" = 0 ] || cat "$TMP/a.out"

# (c) versions: three old ones seeded, one run builds and keeps two, the next reuses
mkdir -p "$TMP/model"
for d in 20200101T000000Z 20200102T000000Z 20200103T000000Z; do
  mkdir "$TMP/model/$d" && echo '{}' >"$TMP/model/$d/manifest.json"
done
mkdir "$TMP/model/notes" # not a version: left alone
DEMO_SERVE=0 timeout 300 "$SRC/scripts/demo" >"$TMP/c1.out" 2>&1
check "first run: status 0" test $? = 0
check "first run: built a model" grep -q '^== building the demo model' "$TMP/c1.out"
v1=$(versions)
cur=$(cat "$TMP/model/CURRENT")
check "first run: two versions kept ($v1), the newest is CURRENT" \
  bash -c "[ $v1 = 2 ] && [ -d '$TMP/model/$cur' ] && [ -d '$TMP/model/20200103T000000Z' ]"
check "first run: other folders left alone" test -d "$TMP/model/notes"
DEMO_SERVE=0 timeout 300 "$SRC/scripts/demo" --no-serve >"$TMP/c2.out" 2>&1
check "second run: status 0" test $? = 0
check "second run: reuses the model" grep -q "^== reusing the demo model $TMP/model/$cur" "$TMP/c2.out"
check "second run: same versions ($(versions)) and CURRENT" \
  bash -c "[ $(versions) = $v1 ] && [ \"\$(cat '$TMP/model/CURRENT')\" = $cur ]"
[ "$fails" = 0 ] || cat "$TMP/c1.out" "$TMP/c2.out"

# (b) a port bound but not listening: only the server's death tells
port=$(free_port)
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); print("bound", flush=True)
time.sleep(600)' "$port" >"$TMP/bound" 2>&1 &
OTHER_PID=$!
for _ in $(seq 100); do grep -q bound "$TMP/bound" && break; sleep 0.1; done
timeout 120 "$SRC/scripts/demo" --port "$port" >"$TMP/b.out" 2>&1
rc=$?
check "bound port: the demo fails (status $rc)" test "$rc" = 1
check "bound port: says the server stopped" grep -q "mixrec serve stopped .* port $port" "$TMP/b.out"
check "bound port: no 'serving' nor 'Try:'" bash -c "! grep -q -e serving -e 'Try:' '$TMP/b.out'"
stop_other
[ "$fails" = 0 ] || cat "$TMP/b.out"

# (d) a free port: the demo's own server answers
port=$(free_port)
DEMO_PORT=$port "$SRC/scripts/demo" >"$TMP/d.out" 2>&1 &
DEMO_PID=$!
for _ in $(seq 600); do grep -q '^Try:' "$TMP/d.out" && break; sleep 0.1; done
check "free port: the demo prints 'Try:'" grep -q '^Try:' "$TMP/d.out"
check "free port: /readyz names the version in CURRENT" \
  bash -c "curl -s http://127.0.0.1:$port/readyz | jq -e --arg v '$cur' '.model_version == \$v' >/dev/null"
check "free port: recommendations answer" \
  curl -sf -o /dev/null "http://127.0.0.1:$port/v1/users/42/recommendations?k=5"
kill -TERM "$DEMO_PID"
wait "$DEMO_PID"
rc=$?
DEMO_PID=
check "free port: SIGTERM stops the demo (status $rc)" test "$rc" = 0
check "free port: the port is free again" bash -c "! (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null"
[ "$fails" = 0 ] || cat "$TMP/d.out"
finish
