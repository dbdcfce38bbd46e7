#!/usr/bin/env bash
# test_access.sh - keys with scopes and rate limits (issue 18) over real
# HTTP, with a real redis-server: anonymous reads, a read-only key refused
# on events and admin routes, a write key refused on admin routes, a wrong
# key refused everywhere; a burst above the limit answered 429 with
# Retry-After and a JSON error, and the next request after the wait
# served; another client served in full meanwhile (wrk); X-Forwarded-For
# believed from a trusted proxy only; counts in /metrics by key id and
# never a key in /metrics, the access log or stderr; keys rotated by a
# settings reload (SIGHUP) without a restart, and a broken settings file
# changing nothing. The server must exit 0 on SIGTERM (sanitizer builds).
#   tests/test_access.sh BUILD/mixrec
set -uo pipefail
MIXREC=$1
source "$(dirname "$0")/lib.sh"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}

make_test_model
start_redis
J=(-H 'Content-Type: application/json')
USER1=$(cut -d, -f1 "$TMP/syn/interactions.csv" | sed -n 2p)
ITEM1=$(cut -d, -f2 "$TMP/syn/interactions.csv" | sed -n 2p)
EVENT="{\"events\": [{\"user\": \"$USER1\", \"item\": \"$ITEM1\", \"type\": \"click\"}]}"

# keys_file FILE READER_KEY: the settings file with the reader's key given
keys_file() {
  cat >"$1" <<EOF
{
  "auth": {
    "keys": [
      {"id": "reader", "key": "$2", "scopes": ["read"]},
      {"id": "writer", "key": "writer-secret-1", "scopes": ["read", "write"],
       "read_rate": 0, "write_rate": 2, "write_burst": 2},
      {"id": "ops", "key": "ops-secret-0001", "scopes": "admin,read", "read_rate": 0},
      {"id": "slow", "key": "slow-secret-001", "scopes": ["read"], "read_rate": 1, "read_burst": 3}
    ]
  },
  "server": {"trusted_proxies": ["127.0.0.1"]},
  "limits": {"read_rate": 2, "read_burst": 3}
}
EOF
}
keys_file "$TMP/settings.json" reader-secret-1
serve_start A --config "$TMP/settings.json" --redis "unix:$TMP/redis.sock"

# req NAME METHOD PATH [curl args]: status in CODE, body in $TMP/NAME.body,
# headers in $TMP/NAME.hdr
req() {
  local name=$1 method=$2 path=$3
  shift 3
  CODE=$(curl -s -o "$TMP/$name.body" -D "$TMP/$name.hdr" -w '%{http_code}' --max-time 10 \
    -X "$method" "$@" "$BASE_A$path")
}
# Each check below comes from an address of its own (X-Forwarded-For from
# the trusted proxy 127.0.0.1), so the per-address read limit does not mix
# them up.
n_addr=0
addr() { n_addr=$((n_addr + 1)); ADDR=(-H "X-Forwarded-For: 198.51.100.$n_addr"); }
REC=/v1/users/$USER1/recommendations?k=5

# ---- scopes --------------------------------------------------------------------
addr; req anon GET "$REC" "${ADDR[@]}"
check "anonymous read: 200 (auth.anonymous is read)" test "$CODE" = 200
addr; req anon_ev POST /v1/events "${ADDR[@]}" "${J[@]}" -d "$EVENT"
check "anonymous event: 401" test "$CODE" = 401
addr; req rd GET "$REC" "${ADDR[@]}" -H 'X-API-Key: reader-secret-1'
check "read key, read: 200" test "$CODE" = 200
addr; req rd_ev POST /v1/events "${ADDR[@]}" -H 'X-API-Key: reader-secret-1' "${J[@]}" -d "$EVENT"
check "read key, events: 403" test "$CODE" = 403
check "  saying the key lacks the write scope" \
  jqt '.error.code == "forbidden" and (.error.message | test("reader.*write scope"))' "$TMP/rd_ev.body"
addr; req rd_adm POST /v1/admin/reload "${ADDR[@]}" -H 'X-API-Key: reader-secret-1'
check "read key, admin reload: 403" test "$CODE" = 403
addr; req rd_exp GET /v1/admin/experiments "${ADDR[@]}" -H 'X-API-Key: reader-secret-1'
check "read key, admin experiments: 403" test "$CODE" = 403
addr; req rd_item PATCH "/v1/items/$ITEM1" "${ADDR[@]}" -H 'X-API-Key: reader-secret-1' "${J[@]}" \
  -d '{"hidden": true}'
check "read key, catalogue change: 403" test "$CODE" = 403
addr; req wr_ev POST /v1/events "${ADDR[@]}" -H 'X-API-Key: writer-secret-1' "${J[@]}" -d "$EVENT"
check "write key, events: 200" test "$CODE" = 200
check "  the event is stored in Redis" \
  bash -c "[ \"\$(redis-cli -s '$TMP/redis.sock' xlen mixrec:events)\" -ge 1 ]"
addr; req wr_exp GET /v1/admin/experiments "${ADDR[@]}" -H 'X-API-Key: writer-secret-1'
check "write key, admin route: 403" test "$CODE" = 403
addr; req ops_exp GET /v1/admin/experiments "${ADDR[@]}" -H 'X-API-Key: ops-secret-0001'
check "admin key, admin route: 200" test "$CODE" = 200
addr; req ops_ev POST /v1/events "${ADDR[@]}" -H 'X-API-Key: ops-secret-0001' "${J[@]}" -d "$EVENT"
check "admin key without write, events: 403" test "$CODE" = 403
addr; req bad GET "$REC" "${ADDR[@]}" -H 'X-API-Key: not-a-key-at-all'
check "wrong key on a read: 403 (a key sent is checked)" test "$CODE" = 403
addr; req tok POST /v1/tokens "${ADDR[@]}" -H 'X-API-Key: writer-secret-1' "${J[@]}" \
  -d "{\"user\": \"$USER1\"}"
TOKEN=$(jq -r .token "$TMP/tok.body")
addr; req tok_ev POST /v1/events "${ADDR[@]}" -H "Authorization: Bearer $TOKEN" "${J[@]}" -d "$EVENT"
check "an event token from the write key posts the user's events: 200" test "$CODE" = 200
req health GET /healthz
check "health needs no key" test "$CODE" = 200

# ---- rate limits ---------------------------------------------------------------
# A burst from one address: limits.read_burst=3 go through, then 429.
codes=""
for i in 1 2 3 4 5; do
  req burst GET "$REC" -H 'X-Forwarded-For: 203.0.113.50'
  codes="$codes $CODE"
  [ "$CODE" = 429 ] && break
done
echo "# burst from 203.0.113.50:$codes"
check "a burst above the address's limit: 3 served, then 429" test "$codes" = " 200 200 200 429"
RETRY=$(tr -d '\r' <"$TMP/burst.hdr" | sed -n 's/^Retry-After: *//Ip')
check "  with Retry-After (${RETRY:-none} s)" bash -c "[ '${RETRY:-0}' -ge 1 ] 2>/dev/null"
check "  and a JSON error rate_limited" jqt '.error.code == "rate_limited"' "$TMP/burst.body"
sleep "${RETRY:-1}"
req after GET "$REC" -H 'X-Forwarded-For: 203.0.113.50'
check "the next request after Retry-After: 200" test "$CODE" = 200
req other GET "$REC" -H 'X-Forwarded-For: 203.0.113.51'
check "another address meanwhile: 200" test "$CODE" = 200
req direct GET "$REC" -H 'X-Forwarded-For: 203.0.113.50' --interface 127.0.0.2
check "X-Forwarded-For from an untrusted peer (127.0.0.2) is not believed: its own budget" \
  test "$CODE" = 200

codes=""
for i in 1 2 3 4; do
  req wburst POST /v1/events -H 'X-API-Key: writer-secret-1' "${J[@]}" -d "$EVENT"
  codes="$codes $CODE"
done
check "the write key's own write budget (burst 2): 200 200 429 429 ($codes)" \
  test "$codes" = " 200 200 429 429"

# One client held at its limit (the slow key, 1 read a second) while
# another (the writer key, unlimited reads) is served by wrk at full speed.
cat >"$TMP/slow.lua" <<'EOF'
wrk.headers["X-API-Key"] = "slow-secret-001"
EOF
cat >"$TMP/fast.lua" <<'EOF'
wrk.headers["X-API-Key"] = "writer-secret-1"
EOF
wrk -t1 -c4 -d4s -s "$TMP/slow.lua" "$BASE_A$REC" >"$TMP/slow.out" 2>&1 &
SLOW=$!
wrk -t1 -c4 -d4s -s "$TMP/fast.lua" "$BASE_A$REC" >"$TMP/fast.out" 2>&1
wait $SLOW
slow_n=$(awk '/requests in/ {print $1}' "$TMP/slow.out")
slow_bad=$(awk '/Non-2xx/ {print $NF}' "$TMP/slow.out")
fast_n=$(awk '/requests in/ {print $1}' "$TMP/fast.out")
fast_bad=$(awk '/Non-2xx/ {print $NF}' "$TMP/fast.out")
echo "# limited client: ${slow_n:-?} requests, ${slow_bad:-0} refused; other client: ${fast_n:-?} requests, ${fast_bad:-0} refused"
check "the limited client was refused almost always" \
  bash -c "[ '${slow_bad:-0}' -ge $(( ${slow_n:-0} - 10 )) ] && [ '${slow_n:-0}' -gt 20 ]"
check "the other client was served every request" \
  bash -c "[ -z '$fast_bad' ] && [ '${fast_n:-0}' -gt 100 ]"
check "the other client had no socket errors" bash -c "! grep -q 'Socket errors' '$TMP/fast.out'"

curl -s "$BASE_A/metrics" >"$TMP/metrics.txt"
m() { grep -F "$1" "$TMP/metrics.txt" | awk '{print $2}'; }
check "metrics: 429s of anonymous reads counted" \
  bash -c "[ '$(m 'mixrec_rate_limited_total{tenant="default",key="anonymous",budget="read"}')' -ge 1 ]"
check "metrics: 429s of the slow key counted under its id" \
  bash -c "[ '$(m 'mixrec_rate_limited_total{tenant="default",key="slow",budget="read"}')' -ge 10 ]"
check "metrics: the writer's write 429s" \
  bash -c "[ '$(m 'mixrec_rate_limited_total{tenant="default",key="writer",budget="write"}')' -ge 2 ]"
check "metrics: the 429s per route" grep -q 'status="429"' "$TMP/metrics.txt"
check "no key secret in /metrics, the access log or stderr" \
  bash -c "! grep -l -e 'secret-' '$TMP/metrics.txt' '$TMP/A.access.log' '$TMP/A.err'"
check "the access log names the key id" grep -q '"key":"writer"' "$TMP/A.access.log"

# ---- rotation by a settings reload --------------------------------------------
keys_file "$TMP/settings.json" reader-secret-2
kill -HUP "$PID_A"
wait_line "$TMP/A.err" "settings reloaded"
check "SIGHUP: settings reloaded (logged)" grep -q "settings reloaded: 4 API keys" "$TMP/A.err"
addr; req rot_old GET "$REC" "${ADDR[@]}" -H 'X-API-Key: reader-secret-1'
check "the rotated-out key: 403" test "$CODE" = 403
addr; req rot_new GET "$REC" "${ADDR[@]}" -H 'X-API-Key: reader-secret-2'
check "the new key: 200, same process" \
  bash -c "[ '$CODE' = 200 ] && kill -0 $PID_A"
echo '{"auth": {"keys": [{"id": "x"' >"$TMP/settings.json"
kill -HUP "$PID_A"
wait_line "$TMP/A.err" "settings reload rejected"
check "a broken settings file: the reload is rejected (logged)" \
  grep -q "settings reload rejected" "$TMP/A.err"
addr; req rot_keep GET "$REC" "${ADDR[@]}" -H 'X-API-Key: reader-secret-2'
check "  and the keys in force stay" test "$CODE" = 200
req health2 GET /healthz
check "  and the server is up" test "$CODE" = 200

kill -TERM "$PID_A"
wait "$PID_A"
rc=$?
check "the server exits 0 on SIGTERM ($rc)" test "$rc" = 0
finish
