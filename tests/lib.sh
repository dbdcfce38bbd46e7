# lib.sh - helpers shared by the shell test suites (sourced, not run):
# tap-like counters, a small model, a redis-server and `mixrec serve`
# instances of the test's own, all cleaned up on exit.
#   source "$(dirname "$0")/lib.sh"   (after setting MIXREC)
TMP=$(mktemp -d)
LIB_PIDS=()
REDIS_PID=
lib_cleanup() {
  local p
  for p in "${LIB_PIDS[@]}" $REDIS_PID; do { kill -9 "$p"; wait "$p"; } 2>/dev/null; done
  rm -rf "$TMP"
}
trap lib_cleanup EXIT

pass=0
fails=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
fail() { fails=$((fails + 1)); echo "not ok - $1"; }
check() { # name, command...
  local name=$1; shift
  if "$@"; then ok "$name"; else fail "$name"; fi
}
jqt() { jq -e "$@" >/dev/null; }
# Prints the closing line and exits with the verdict.
finish() {
  if [ "$fails" != 0 ]; then # what the servers said, for a failure seen only in CI
    local f p
    for p in "${LIB_PIDS[@]}"; do
      kill -0 "$p" 2>/dev/null || echo "--- mixrec serve pid $p is gone (died or was stopped)"
    done
    for f in "$TMP"/*.err; do
      [ -s "$f" ] && { echo "--- tail of $(basename "$f")"; tail -n 15 "$f"; }
    done
  fi
  echo "$pass passed, $fails failed"
  [ "$fails" = 0 ]
  exit
}

# imp_as_columns / imp_as_rows < export.jsonl: impression lines (mixrec
# export's JSON lines) with items rewritten in the other format of
# docs/streams.md, the same answers: format 2 (columns, "format": 2,
# sources as letters) or format 1 (an array of objects with positions, no
# "format"). For tests that readers give the same result from both.
imp_as_columns() {
  jq -c 'if (.items | type) == "array" then .format = 2 | .items |= (sort_by(.position) | . as $r
    | [$r[] | keys[]] | unique - ["position"] | map(. as $k | {key: $k, value: [$r[] | .[$k]]})
    | from_entries | if .sources then .sources |= map(map({mixture: "m", single: "s",
        popular: "p"}[.]) | join("")) else . end) else . end'
}
imp_as_rows() {
  jq -c 'if (.items | type) == "object" then del(.format) | .items |= (. as $c
    | [range(0; $c.item | length) as $i | ($c | with_entries(.value |= .[$i])) + {position: $i}
       | if .sources then .sources |= (split("") | map({m: "mixture", s: "single",
           p: "popular"}[.])) else . end]) else . end'
}

# A small model from a planted synthetic world, in $TMP/syn and $TMP/model.
make_test_model() {
  "$MIXREC" synth --items 2000 --users 400 --interests 8 --dim 16 --seed 3 --out "$TMP/syn" >/dev/null 2>&1
  "$MIXREC" build --interactions "$TMP/syn/interactions.csv" --items "$TMP/syn/items.csv" \
    --set embed.dim=16 --set interests.count=8 --out "$TMP/model" >/dev/null 2>&1 ||
    { echo "cannot build the test model"; exit 1; }
}

# A real redis-server of our own, on the unix socket $TMP/redis.sock.
# sim_world: the simulated audience's world in $TMP/w (`mixrec synth`,
# 2,000 items, 1,000 users, 8 planted interests) and a model of it in
# $TMP/model, for tests that play `mixrec simulate` against a server.
sim_world() {
  "$MIXREC" synth --items 2000 --users 1000 --interests 8 --dim 16 --seed 5 --out "$TMP/w" \
    >/dev/null 2>&1 || { echo "synth failed"; exit 1; }
  "$MIXREC" build --interactions "$TMP/w/interactions.csv" --items "$TMP/w/items.csv" \
    --set embed.dim=16 --set rank_train.threads=1 --out "$TMP/model" >/dev/null 2>"$TMP/build.err" ||
    { cat "$TMP/build.err"; exit 1; }
}
start_redis() {
  redis-server --port 0 --unixsocket "$TMP/redis.sock" --save "" --appendonly no \
    --dir "$TMP" >"$TMP/redis.log" 2>&1 &
  REDIS_PID=$!
  for _ in $(seq 50); do
    redis-cli -s "$TMP/redis.sock" ping >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "redis-server did not start:"; cat "$TMP/redis.log"; exit 1
}
stop_redis() {
  { kill -9 "$REDIS_PID"; wait "$REDIS_PID"; } 2>/dev/null
  REDIS_PID=
  rm -f "$TMP/redis.sock"
}

# wait_line FILE REGEX [TENTHS]: until FILE has a line matching REGEX (grep
# -E), at most TENTHS tenths of a second (default 50); 1 if it never came.
wait_line() {
  local _
  for _ in $(seq "${3:-50}"); do
    grep -qE "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# lib_answered_by_us PID ACCESS_LOG PROBE: the server that answered the probe
# is PID, not another test's server that held the port PID failed to bind
# (its access log has the probe's request id; with access logging off, PID
# is still alive a moment later).
lib_answered_by_us() {
  local _
  for _ in 1 2 3 4 5; do
    grep -q "$3" "$2" 2>/dev/null && return 0
    sleep 0.1
  done
  [ ! -s "$2" ] && kill -0 "$1" 2>/dev/null
}

# lib_free_port: a port nothing listens on, below the kernel's ephemeral
# range, so that no outgoing connection (thousands in a load test) holds it
# when a server binds it a moment later.
lib_free_port() {
  local lo=32768 hi p
  read -r lo hi </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
  [ "${lo:-0}" -gt 12000 ] || lo=50000
  while :; do
    p=$((10000 + RANDOM % (lo - 10000)))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}

# serve_start NAME [serve args...]: `mixrec serve` on $TMP/model and a free
# port; sets BASE_<NAME> and PID_<NAME>; access log $TMP/NAME.access.log,
# stderr $TMP/NAME.err.
serve_start() {
  local name=$1; shift
  for _ in 1 2 3 4 5; do
    local port
    port=$(lib_free_port)
    "$MIXREC" serve --model "$TMP/model" --listen "127.0.0.1:$port" --workers 2 "$@" \
      >"$TMP/$name.access.log" 2>"$TMP/$name.err" &
    local pid=$!
    local probe="lib-start-$name-$$-$RANDOM"
    for _ in $(seq 50); do
      if curl -s -o /dev/null -H "X-Request-Id: $probe" "http://127.0.0.1:$port/healthz" &&
        lib_answered_by_us "$pid" "$TMP/$name.access.log" "$probe"; then
        LIB_PIDS+=("$pid")
        printf -v "BASE_$name" '%s' "http://127.0.0.1:$port"
        printf -v "PID_$name" '%s' "$pid"
        return 0
      fi
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    { kill -9 "$pid"; wait "$pid"; } 2>/dev/null
  done
  echo "server $name did not start:"; cat "$TMP/$name.err"; exit 1
}
