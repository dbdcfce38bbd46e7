#!/usr/bin/env bash
# test_pages.sh - pages without repeats (issue 15): after=<recommendation_id>
# on the three recommendation routes continues a chain kept in a real
# redis-server (mixrec:page:<id>), over real HTTP: ten pages of 10 are 100
# distinct items whose first page is the plain answer; POST "after"
# continues a GET chain; another user's id is refused; a chain ends with
# exhausted true and never repeats; a key written late is found by the retries; bad, unknown and
# similar-items ids, Redis stopped, and paging turned off.
#   tests/test_pages.sh BUILD/mixrec
set -uo pipefail
MIXREC=$1
source "$(dirname "$0")/lib.sh"

make_test_model
start_redis
RCLI=(redis-cli -s "$TMP/redis.sock")
# A second of Redis time: the machine running the tests may be busy, and a
# page read that times out is a 503 (tested below with Redis stopped).
serve_start S --redis "unix:$TMP/redis.sock" --set log.level=warn --set redis.command_timeout_ms=1000
BASE=$BASE_S
user=$(sed -n 2p "$TMP/syn/interactions.csv" | cut -d, -f1)
item=$(sed -n 2p "$TMP/syn/interactions.csv" | cut -d, -f2)

# redis_up BASE: up to 5 s for every worker of that server to reach Redis
# (/healthz answers before they connect; a page written before would be lost)
redis_up() {
  for _ in $(seq 50); do
    curl -s "$1/readyz" | jq -e '.redis == "ok"' >/dev/null && return 0
    sleep 0.1
  done
  echo "  $1: the workers did not reach Redis"; return 1
}
check "server S: every worker reaches Redis" redis_up "$BASE"

# get NAME PATH [curl args]: the answer in $TMP/NAME.json, status in $CODE
get() {
  local name=$1 path=$2; shift 2
  CODE=$(curl -s -o "$TMP/$name.json" -w '%{http_code}' "$@" "$BASE$path")
}
post() { # NAME BODY
  get "$1" /v1/recommendations -X POST -H 'Content-Type: application/json' -d "$2"
}
rid() { jq -r .recommendation_id "$TMP/$1.json"; }
items() { jq -r '.items[].item' "$TMP/$1.json"; }
# err NAME STATUS CODE [TEXT]: a JSON error with this status and code (and
# a message containing TEXT)
err() {
  [ "$CODE" = "$2" ] && jq -e --arg c "$3" --arg t "${4:-}" \
    '.error.code == $c and (.error.message | contains($t))' "$TMP/$1.json" >/dev/null
}

# ---- ten pages of 10 ----------------------------------------------------------
get plain "/v1/users/$user/recommendations?k=10"
check "a plain answer is page 1, not exhausted" \
  jqt '.page == 1 and .exhausted == false and (.items | length) == 10' "$TMP/plain.json"
after=
codes=
for p in $(seq 10); do
  get "p$p" "/v1/users/$user/recommendations?k=10${after:+&after=$after}"
  codes+="$CODE "
  after=$(rid "p$p")
done
check "ten pages answer 200" test "$codes" = "$(printf '200 %.0s' $(seq 10))"
check "pages are numbered 1..10" \
  test "$(for p in $(seq 10); do jq -r .page "$TMP/p$p.json"; done | tr '\n' ' ')" = "1 2 3 4 5 6 7 8 9 10 "
check "ten pages of 10 hold 100 items" \
  test "$(for p in $(seq 10); do items "p$p"; done | wc -l)" = 100
check "... all distinct" \
  test "$(for p in $(seq 10); do items "p$p"; done | sort -u | wc -l)" = 100
check "page 1 is the plain answer" test "$(items p1)" = "$(items plain)"
check "no page says exhausted" \
  test "$(for p in $(seq 10); do jq -r .exhausted "$TMP/p$p.json"; done | sort -u)" = false
# With no session and the default settings (no diversity step, a ranker
# pool larger than 100), the answer for k=100 is the 100 in one go.
get k100 "/v1/users/$user/recommendations?k=100"
check "the pages continue in the order of one answer of k=100" \
  test "$(for p in $(seq 10); do items "p$p"; done)" = "$(items k100)"
key="mixrec:page:$(rid p10)"
"${RCLI[@]}" get "$key" >"$TMP/value"
check "the last page's key starts with page 10 and whose chain it is" \
  grep -qE '^page 10 [0-9a-f]{16}$' <(head -1 "$TMP/value")
check "... then holds the 100 items in order" \
  test "$(tail -n +2 "$TMP/value")" = "$(for p in $(seq 10); do items "p$p"; done)"
ttl=$("${RCLI[@]}" ttl "$key")
check "... expiring within pages.ttl_s (1800; ttl $ttl)" test "$ttl" -gt 1700 -a "$ttl" -le 1800

# ---- the impression of a later page names its chain -----------------------------
"${RCLI[@]}" --json xrange mixrec:impressions - + |
  jq '[.[] | (.[1] as $f | [range(0; $f | length; 2) | {key: $f[.], value: $f[. + 1]}] | from_entries)]' \
    >"$TMP/stream.json"
check "page 2's impression record has request.after = page 1's id" \
  jqt --arg id "$(rid p2)" --arg after "$(rid p1)" \
  '[.[] | select(.recommendation_id == $id) | .request | fromjson | .after] == [$after]' "$TMP/stream.json"
check "page 1's record has no after" \
  jqt --arg id "$(rid p1)" \
  '[.[] | select(.recommendation_id == $id) | .request | fromjson | has("after")] == [false]' "$TMP/stream.json"

# ---- POST continues a GET chain; the anonymous GET route pages too --------------
post post2 "{\"user\":\"$user\",\"k\":10,\"after\":\"$(rid p1)\"}"
check "POST with after 200, page 2" jqt '.page == 2' "$TMP/post2.json"
check "... the same items as the GET chain's page 2" test "$(items post2)" = "$(items p2)"
post post3 "{\"user\":\"$user\",\"k\":10,\"after\":\"$(rid post2)\"}"
check "POST after a POST: page 3, as the GET chain's" test "$(items post3)" = "$(items p3)"
user2=$(awk -F, -v u="$user" 'NR > 1 && $1 != u { print $1; exit }' "$TMP/syn/interactions.csv")
get other "/v1/users/$user2/recommendations?k=10&after=$(rid p1)"
check "another user's after: 400 naming after" err other 400 bad_parameter "'after'"
get visitor "/v1/recommendations?k=10&after=$(rid p1)"
check "a user's after without the user: 400 naming after" err visitor 400 bad_parameter "'after'"
get anon1 "/v1/recommendations?k=7"
get anon2 "/v1/recommendations?k=7&after=$(rid anon1)"
check "anonymous GET: page 2 of 7 repeats nothing of page 1" \
  test "$( (items anon1; items anon2) | sort -u | wc -l)" = 14

# ---- a chain until exhausted ----------------------------------------------------
# k=90 pages on a server whose limits.max_k is 400: pages 1-4 hold 90,
# page 5 the last 40, exhausted; a page after it holds nothing.
serve_start X --redis "unix:$TMP/redis.sock" --set limits.max_k=400 --set log.level=warn --set redis.command_timeout_ms=1000
check "server X: every worker reaches Redis" redis_up "$BASE_X"
after=
sizes=
for p in $(seq 7); do
  CODE=$(curl -s -o "$TMP/x$p.json" -w '%{http_code}' \
    "$BASE_X/v1/users/$user/recommendations?k=90${after:+&after=$after}")
  [ "$CODE" = 200 ] || break
  sizes+="$(jq '.items | length' "$TMP/x$p.json")/$(jq .exhausted "$TMP/x$p.json") "
  after=$(rid "x$p")
  jq -e .exhausted "$TMP/x$p.json" >/dev/null && break
done
check "pages of 90 up to max_k 400: 90 90 90 90 40, the last exhausted (got $sizes)" \
  test "$sizes" = "90/false 90/false 90/false 90/false 40/true "
check "... 400 distinct items" \
  test "$(for p in 1 2 3 4 5; do items "x$p"; done | sort -u | wc -l)" = 400
CODE=$(curl -s -o "$TMP/x6.json" -w '%{http_code}' "$BASE_X/v1/users/$user/recommendations?k=90&after=$after")
check "a page after the exhausted one: 200, no items, exhausted, page 6" \
  jqt '.items == [] and .exhausted == true and .page == 6' "$TMP/x6.json"
# a pool smaller than max_k: the category filter of one interest, for a
# visitor; pages of 10 until exhausted (at most 25) repeat nothing and end
# with what one answer of k=200 holds
get small "/v1/recommendations?k=200&categories=interest-3"
n_small=$(jq '.items | length' "$TMP/small.json")
check "a pool smaller than k ($n_small < 200) is exhausted on page 1" \
  jqt --argjson n "$n_small" '$n < 200 and .exhausted == true' "$TMP/small.json"
after=
for p in $(seq 25); do
  get "c$p" "/v1/recommendations?k=10&categories=interest-3${after:+&after=$after}"
  [ "$CODE" = 200 ] || break
  after=$(rid "c$p")
  jq -e .exhausted "$TMP/c$p.json" >/dev/null && break
done
check "pages of 10 in that pool end exhausted after $p pages" \
  jqt '.exhausted == true and (.items | length) < 10' "$TMP/c$p.json"
check "... having shown the pool's $n_small items once each" \
  test "$(for i in $(seq "$p"); do items "c$i"; done | sort | uniq -c | awk '$1 == 1' | wc -l)/$(for i in $(seq "$p"); do items "c$i"; done | wc -l)" = "$n_small/$n_small"

# ---- a key written late is found by the retries --------------------------------
get late1 "/v1/users/$user/recommendations?k=5"
lkey="mixrec:page:$(rid late1)"
sleep 0.2
value=$("${RCLI[@]}" get "$lkey")
"${RCLI[@]}" del "$lkey" >/dev/null
curl -s -o "$TMP/late2.json" -w '%{http_code}' "$BASE/v1/users/$user/recommendations?k=5&after=$(rid late1)" \
  >"$TMP/late2.code" &
cpid=$!
sleep 0.03
"${RCLI[@]}" set "$lkey" "$value" >/dev/null
wait "$cpid"
check "a key written 30 ms after the request is found: 200, page 2" \
  test "$(cat "$TMP/late2.code")/$(jq .page "$TMP/late2.json")" = "200/2"

# ---- bad, unknown and similar-items ids -------------------------------------------
get bad "/v1/users/$user/recommendations?k=5&after=not-an-id"
check "a malformed after: 400 naming after" err bad 400 bad_parameter "'after'"
post badpost '{"k":5,"after":17}'
check "a number as after in a body: 400 naming after" err badpost 400 bad_parameter "'after'"
sim=$(curl -s "$BASE/v1/items/$item/similar?k=3" | jq -r .recommendation_id)
get sim "/v1/recommendations?k=5&after=$sim"
check "an id of similar items: 400 naming after" err sim 400 bad_parameter "'after'"
"${RCLI[@]}" del "mixrec:page:$(rid anon2)" >/dev/null
t0=$(date +%s%N)
get unknown "/v1/recommendations?k=5&after=$(rid anon2)"
ms=$((($(date +%s%N) - t0) / 1000000))
check "a well-formed id with no key: 404 unknown_recommendation" err unknown 404 unknown_recommendation
check "... after the retries (4 x 25 ms; took $ms ms)" test "$ms" -ge 95

# ---- paging off -------------------------------------------------------------------
"${RCLI[@]}" --scan --pattern 'mixrec:page:*' | wc -l >"$TMP/before"
serve_start O --redis "unix:$TMP/redis.sock" --set pages.ttl_s=0 --set log.level=warn --set redis.command_timeout_ms=1000
check "server O: every worker reaches Redis" redis_up "$BASE_O"
CODE=$(curl -s -o "$TMP/off1.json" -w '%{http_code}' "$BASE_O/v1/users/$user/recommendations?k=5")
check "pages.ttl_s=0: a plain answer 200, page 1" test "$CODE/$(jq .page "$TMP/off1.json")" = 200/1
CODE=$(curl -s -o "$TMP/off2.json" -w '%{http_code}' "$BASE_O/v1/users/$user/recommendations?k=5&after=$(rid p1)")
check "pages.ttl_s=0: after answers 400 paging_disabled" err off2 400 paging_disabled
sleep 0.2
check "pages.ttl_s=0 writes no page key" \
  test "$("${RCLI[@]}" --scan --pattern 'mixrec:page:*' | wc -l)" = "$(cat "$TMP/before")"

# ---- Redis stopped ----------------------------------------------------------------
stop_redis
get down "/v1/users/$user/recommendations?k=5&after=$(rid p1)"
check "after with Redis stopped: 503 pages_unavailable (JSON)" err down 503 pages_unavailable
get down_plain "/v1/users/$user/recommendations?k=5"
check "a plain request with Redis stopped: still 200" test "$CODE" = 200
check "the server is still alive" kill -0 "$PID_S"

finish
