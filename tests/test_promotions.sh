#!/usr/bin/env bash
# test_promotions.sh - GET and PUT /v1/admin/promotions over real HTTP with
# a real redis-server and `mixrec serve` with an admin key and a promotion
# in its settings (catalog.promotions): the settings' list alone, a valid
# PUT stored in Redis and announced on mixrec:catalog:changed, shown active
# (or not, outside its window), lists over 100% of the slots and other bad
# ones refused with 422 naming the field and nothing stored, the key
# required (401/403), PATCH 405, Redis down 503, and a bad settings list
# stopping the server with exit 2.
#   tests/test_promotions.sh BUILD/mixrec
set -uo pipefail
MIXREC=$1
source "$(dirname "$0")/lib.sh"

KEY=admin-key-123
P=/v1/admin/promotions
make_test_model
start_redis
RCLI=(redis-cli -s "$TMP/redis.sock")
SETTINGS='[{"name":"base","category":"interest-1","share":0.2}]'
# a generous Redis deadline: the machine may be busy, and a write that times
# out answers 503 even when Redis applied it
MIXREC_API_KEYS=$KEY MIXREC_CATALOG_PROMOTIONS=$SETTINGS serve_start S --redis "unix:$TMP/redis.sock" \
  --set redis.command_timeout_ms=5000
BASE=$BASE_S
item=$(sed -n 2p "$TMP/syn/interactions.csv" | cut -d, -f2)
now=$(date +%s)

# req NAME METHOD [curl args]: body in $TMP/NAME.json, status in $CODE, headers in $TMP/NAME.hdr
req() {
  local name=$1 m=$2; shift 2
  CODE=$(curl -s -o "$TMP/$name.json" -D "$TMP/$name.hdr" -w '%{http_code}' -X "$m" "$@" "$BASE$P")
}
K=(-H "X-API-Key: $KEY")
J=(-H 'Content-Type: application/json')
stored() { "${RCLI[@]}" get mixrec:catalog:promotions; }

# ---- the settings' list alone ------------------------------------------------
req g0 GET "${K[@]}"
check "GET: 200" test "$CODE" = 200
check "GET: the settings' promotion, active, nothing from admin" \
  jqt '.promotions == [{"name":"base","category":"interest-1","share":0.2,"source":"settings","active":true}]' "$TMP/g0.json"
req g1 GET
check "GET without the key: 401" test "$CODE" = 401
req g2 GET -H 'X-API-Key: nope'
check "GET with a wrong key: 403" test "$CODE" = 403

# ---- a valid PUT: stored, announced, shown -------------------------------------
"${RCLI[@]}" subscribe mixrec:catalog:changed >"$TMP/sub.out" 2>&1 &
SUB=$!
LIB_PIDS+=("$SUB")
for _ in $(seq 50); do grep -q subscribe "$TMP/sub.out" && break; sleep 0.1; done
body=$(jq -nc --arg i "$item" --argjson s $((now - 60)) --argjson e $((now + 3600)) \
  '{promotions: [{name: "sale", items: [$i], share: 0.3, start: $s, end: $e},
                 {name: "old", category: "interest-2", position: 0, start: 1000, end: 2000}]}')
req p1 PUT "${K[@]}" "${J[@]}" -d "$body"
check "PUT valid: 200" test "$CODE" = 200
check "PUT answers the settings' and the stored ones, with source and active" jqt --arg i "$item" '
  [.promotions[] | {name, source, active}] == [{name: "base", source: "settings", active: true},
    {name: "sale", source: "admin", active: true}, {name: "old", source: "admin", active: false}]
  and .promotions[1].items == [$i]' "$TMP/p1.json"
check "the list is stored in Redis as given" jqt --arg i "$item" \
  'map(.name) == ["sale", "old"] and .[0].items == [$i] and .[1].start == 1000 and (.[0] | has("source") | not)' \
  <(stored)
for _ in $(seq 50); do grep -q '\*promotions' "$TMP/sub.out" && break; sleep 0.1; done
check "the change is published on mixrec:catalog:changed as *promotions" grep -q '^\*promotions$' "$TMP/sub.out"
{ kill "$SUB"; wait "$SUB"; } 2>/dev/null
req g3 GET "${K[@]}"
check "GET after the PUT: the same list" jqt --slurpfile p "$TMP/p1.json" '. == $p[0]' "$TMP/g3.json"
check "a window in the past: active false" jqt '.promotions[2].name == "old" and .promotions[2].active == false' "$TMP/g3.json"
before=$(stored)

# ---- refused: 422 naming the field, nothing stored --------------------------------
# refuse NAME BODY FIELD TEXT
refuse() {
  req "$1" PUT "${K[@]}" "${J[@]}" -d "$2"
  check "$1: 422" test "$CODE" = 422
  check "$1: field $3" jqt --arg f "$3" --arg t "$4" \
    '.error.code == "invalid_promotions" and .error.field == $f and (.error.message | startswith($f)) and (.error.message | contains($t))' \
    "$TMP/$1.json"
  check "$1: the stored list is unchanged" test "$(stored)" = "$before"
}
refuse over_settings '{"promotions":[{"name":"big","category":"interest-3","share":0.9}]}' \
  'promotions[0].share' 'the shares sum to 1.1, over 100% of the slots'
refuse over_list '{"promotions":[{"name":"a","category":"interest-3","share":0.5},{"name":"b","category":"interest-4","share":0.5}]}' \
  'promotions[1].share' 'the shares sum to 1.2, over 100% of the slots'
refuse bad_share '{"promotions":[{"name":"a","category":"interest-3","share":1.5}]}' \
  'promotions[0].share' 'share must be in (0, 1]'
refuse both '{"promotions":[{"name":"a","items":["x"],"category":"interest-3","share":0.1}]}' \
  'promotions[0]' 'either items or category'
refuse dup_name '{"promotions":[{"name":"a","items":["x"],"position":1},{"name":"a","items":["y"],"position":2}]}' \
  'promotions[1].name' "duplicate name"
refuse settings_name '{"promotions":[{"name":"base","items":["x"],"position":1}]}' \
  'promotions[0].name' "duplicate name"
refuse window '{"promotions":[{"name":"a","items":["x"],"position":1,"start":2000,"end":1000}]}' \
  'promotions[0].end' 'end must be after start'
refuse position '{"promotions":[{"name":"a","items":["x"],"position":200}]}' \
  'promotions[0].position' 'position must be an integer in 0..199'
req nobody PUT "${K[@]}" "${J[@]}" -d '{"promos": []}'
check "PUT with another field: 400 unknown_field" jqt '.error.code == "unknown_field"' "$TMP/nobody.json"
req empty PUT "${K[@]}" "${J[@]}" -d '{}'
check "PUT without promotions: 400" test "$CODE" = 400
req text PUT "${K[@]}" -H 'Content-Type: text/plain' -d '{"promotions": []}'
check "PUT text/plain: 415" test "$CODE" = 415
req nokey PUT "${J[@]}" -d '{"promotions": []}'
check "PUT without the key: 401" test "$CODE" = 401
check "nothing stored by the refused requests" test "$(stored)" = "$before"
req patch PATCH "${K[@]}" "${J[@]}" -d '{"promotions": []}'
check "PATCH: 405" test "$CODE" = 405
check "PATCH: Allow is GET, PUT, OPTIONS" grep -qi '^Allow: GET, PUT, OPTIONS' "$TMP/patch.hdr"

# ---- metrics ---------------------------------------------------------------------
curl -s "$BASE/metrics" >"$TMP/metrics"
check "metrics: mixrec_promoted_total and mixrec_fresh_total" \
  grep -q '^mixrec_promoted_total{promotion="other"} 0$' "$TMP/metrics"
check "metrics: mixrec_fresh_total" grep -q '^mixrec_fresh_total 0$' "$TMP/metrics"

# ---- an empty list clears the admin ones -------------------------------------------
req clear PUT "${K[@]}" "${J[@]}" -d '{"promotions": []}'
check "PUT []: 200, only the settings' left" jqt '.promotions | map(.source) == ["settings"]' "$TMP/clear.json"
check "PUT []: stored as []" test "$(stored)" = "[]"

# ---- Redis down -------------------------------------------------------------------
stop_redis
req down_put PUT "${K[@]}" "${J[@]}" -d "$body"
check "PUT with Redis down: 503 redis_unavailable" \
  jqt '.error.code == "redis_unavailable"' "$TMP/down_put.json"
check "PUT with Redis down: status 503" test "$CODE" = 503
req down_get GET "${K[@]}"
check "GET with Redis down: 503" test "$CODE" = 503
req down_bad PUT "${K[@]}" "${J[@]}" -d '{"promotions":[{"name":"big","category":"c","share":0.9}]}'
check "a bad list with Redis down: still 422 (checked first)" test "$CODE" = 422

# ---- a bad settings list stops the server -----------------------------------------
MIXREC_CATALOG_PROMOTIONS='[{"name":"a","category":"c","share":0.7},{"name":"b","category":"c","share":0.7}]' \
  timeout 20 "$MIXREC" serve --model "$TMP/model" --listen 127.0.0.1:$(lib_free_port) --redis "" >/dev/null 2>"$TMP/bad.err"
rc=$?
check "bad catalog.promotions: exit 2" test "$rc" = 2
check "bad catalog.promotions: the field named" grep -q 'catalog.promotions\[1\].share: the shares sum to 1.4' "$TMP/bad.err"

finish
