#!/usr/bin/env bash
# test_catalog.sh - the live catalogue (issue 15) over real HTTP, a real
# redis-server and two `mixrec serve` replicas on one model:
#   hide an item in a user's top 10 through replica A: within one second it
#   is in no answer of either replica (user, anonymous, similar); unhide:
#   back; expires_at a second ahead: gone after it; a restart keeps the
#   overrides; a rebuild (with --catalog from `mixrec export --stream
#   catalog`) keeps them and gives the hidden item no popularity; an
#   operator's title shows in answers; a new item (PUT) with a category is
#   recommended with reason "new" to a user of that category and to no one
#   without it, survives a restart, and after a rebuild with events on it is
#   an ordinary item with an embedding; bad input is refused whole (404,
#   400/422 naming the field) and nothing is half-applied.
#   tests/test_catalog.sh BUILD/mixrec
set -uo pipefail
MIXREC=$1
source "$(dirname "$0")/lib.sh"

make_test_model
start_redis
RCLI=(redis-cli -s "$TMP/redis.sock")
REDIS_URL="unix:$TMP/redis.sock"
# the watcher picks up rebuilt versions within a second
SERVE_ARGS=(--redis "$REDIS_URL" --set server.model_poll_s=1)
serve_start A "${SERVE_ARGS[@]}"
serve_start B "${SERVE_ARGS[@]}"

J='Content-Type: application/json'
# call NAME METHOD URL [curl args]: body in $TMP/NAME.json, status in $CODE
call() {
  local name=$1 method=$2 url=$3; shift 3
  CODE=$(curl -s -o "$TMP/$name.json" -w '%{http_code}' -X "$method" "$@" "$url")
}
# ids BASE PATH: the item ids of an answer, one per line
ids() { curl -s "$1$2" | jq -r '.items[].item'; }
# absent_everywhere ITEM: not in any of the answers we watch, on A and B
absent_everywhere() {
  local b
  for b in "$BASE_A" "$BASE_B"; do
    ids "$b" "/v1/users/$user/recommendations?k=10" | grep -qx "$1" && return 1
    ids "$b" "/v1/recommendations?k=50" | grep -qx "$1" && return 1
    ids "$b" "/v1/items/$neighbour/similar?k=20" | grep -qx "$1" && return 1
  done
  return 0
}
present_for_user() { ids "$1" "/v1/users/$user/recommendations?k=10" | grep -qx "$2"; }
# within SECONDS CMD...: CMD succeeds within SECONDS (polled every 0.1 s)
within() {
  local limit=$1; shift
  local t0=$(date +%s%N)
  while :; do
    "$@" && return 0
    [ $(( ($(date +%s%N) - t0) / 1000000 )) -gt $((limit * 1000)) ] && return 1
    sleep 0.1
  done
}

user=$(sed -n 2p "$TMP/syn/interactions.csv" | cut -d, -f1)
top=$(ids "$BASE_A" "/v1/users/$user/recommendations?k=10" | head -1)
# an item whose similar list holds $top, and $top among the popular answers
neighbour=$(ids "$BASE_A" "/v1/items/$top/similar?k=1" | head -1)
check "the top item is in the user's top 10 on both replicas" \
  bash -c "[ -n '$top' ] && curl -s '$BASE_B/v1/users/$user/recommendations?k=10' | grep -q '\"$top\"'"
check "similar items of its neighbour hold it" \
  bash -c "curl -s '$BASE_A/v1/items/$neighbour/similar?k=20' | grep -q '\"$top\"'"

# ---- hide, unhide -------------------------------------------------------------
call get GET "$BASE_A/v1/items/$top"
check "GET /v1/items/{item}: visible, in the model" \
  jqt '.in_model == true and .visible == true and .hidden == false and .catalogue == "redis"' "$TMP/get.json"
call hide PATCH "$BASE_A/v1/items/$top" -H "$J" -d '{"hidden": true}'
check "PATCH hidden:true answers the item hidden" \
  bash -c "[ $CODE = 200 ] && jq -e '.hidden == true and .visible == false' '$TMP/hide.json' >/dev/null"
t0=$(date +%s%N)
if within 1 absent_everywhere "$top"; then
  ok "hidden through A: gone from user, anonymous and similar answers of A and B within 1 s ($(( ($(date +%s%N) - t0) / 1000000 )) ms)"
else
  fail "hidden item still answered after 1 s"
fi
call get GET "$BASE_B/v1/items/$top"
check "GET on B shows it hidden" jqt '.hidden == true and .visible == false' "$TMP/get.json"
check "explained answers do not hold it either" \
  bash -c "! curl -s '$BASE_B/v1/users/$user/recommendations?k=20&explain=true' | grep -q '\"$top\"'"
call list GET "$BASE_A/v1/items?state=hidden"
check "GET /v1/items?state=hidden lists it" jqt --arg i "$top" '.total == 1 and .items[0].item == $i' "$TMP/list.json"
call unhide PATCH "$BASE_B/v1/items/$top" -H "$J" -d '{"hidden": false}'
if within 1 present_for_user "$BASE_A" "$top" && within 1 present_for_user "$BASE_B" "$top"; then
  ok "unhidden through B: back in the user's top 10 on A and B within 1 s"
else
  fail "unhidden item did not come back"
fi

# ---- expiry -----------------------------------------------------------------------
exp=$(( $(date +%s) + 1 ))
call expire PATCH "$BASE_A/v1/items/$top" -H "$J" -d "{\"expires_at\": $exp}"
check "PATCH expires_at a second ahead: stored" jqt --argjson e "$exp" '.expires_at == $e' "$TMP/expire.json"
sleep 2.2
check "after its expiry it is in no answer of A or B" absent_everywhere "$top"
call get GET "$BASE_A/v1/items/$top"
check "GET says expired" jqt '.expired == true and .visible == false' "$TMP/get.json"
call clear PATCH "$BASE_A/v1/items/$top" -H "$J" -d '{"expires_at": null}'
check "expires_at null clears it: back" within 1 present_for_user "$BASE_B" "$top"

# ---- an operator's title ------------------------------------------------------------
call title PATCH "$BASE_A/v1/items/$top" -H "$J" -d '{"title": "Renamed by an operator"}'
check "a new title shows in the answers" within 1 bash -c \
  "curl -s '$BASE_B/v1/users/$user/recommendations?k=10' | jq -e --arg i '$top' '.items[] | select(.item == \$i) | .title == \"Renamed by an operator\"' >/dev/null"

# ---- bad input: nothing half-applied ---------------------------------------------------
call bad PATCH "$BASE_A/v1/items/no-such-item" -H "$J" -d '{"hidden": true}'
check "PATCH of an unknown item: 404" bash -c "[ $CODE = 404 ] && jq -e '.error.code == \"unknown_item\"' '$TMP/bad.json' >/dev/null"
call bad PATCH "$BASE_A/v1/items/$top" -H "$J" -d '{"hidden": true, "expires_at": -5}'
check "a negative timestamp: 422 naming expires_at" \
  bash -c "[ $CODE = 422 ] && jq -e '.error.field == \"expires_at\"' '$TMP/bad.json' >/dev/null"
call bad PATCH "$BASE_A/v1/items/$top" -H "$J" -d '{"hidden": true, "expires_at": 99999999999}'
check "an absurd timestamp: 422" bash -c "[ $CODE = 422 ]"
call bad PATCH "$BASE_A/v1/items/$top" -H "$J" -d '{"hidden": true, "categories": ["ok", 5]}'
check "invalid categories: 400 naming categories[1]" \
  bash -c "[ $CODE = 400 ] && jq -e '.error.field == \"categories[1]\"' '$TMP/bad.json' >/dev/null"
call bad PATCH "$BASE_A/v1/items/$top" -H "$J" -d '{"hidden": "yes"}'
check "hidden not a boolean: 400" bash -c "[ $CODE = 400 ]"
call bad PATCH "$BASE_A/v1/items/$top" -H "$J" -d '{"colour": "red"}'
check "an unknown field: 400" bash -c "[ $CODE = 400 ]"
call bad PUT "$BASE_A/v1/items/brand-new" -H "$J" -d '{"title": "x", "vector": [1, 2, 3]}'
check "a vector of the wrong length: 422 naming vector" \
  bash -c "[ $CODE = 422 ] && jq -e '.error.field == \"vector\"' '$TMP/bad.json' >/dev/null"
call get GET "$BASE_A/v1/items/$top"
check "after the refused changes the item is still visible (nothing half-applied)" \
  jqt '.hidden == false and .visible == true' "$TMP/get.json"
call get GET "$BASE_A/v1/items/brand-new"
check "the refused PUT added nothing" bash -c "[ $CODE = 404 ]"

# ---- restart and rebuild keep the overrides -------------------------------------------
call hide PATCH "$BASE_A/v1/items/$top" -H "$J" -d '{"hidden": true}'
# the most popular item, hidden before the rebuild: the new model must not
# keep it at the top of the popular list once it is shown again
popular=$(ids "$BASE_A" "/v1/recommendations?k=1" | head -1)
call hide PATCH "$BASE_A/v1/items/$popular" -H "$J" -d '{"hidden": true}'
kill "$PID_B"; wait "$PID_B" 2>/dev/null
serve_start B "${SERVE_ARGS[@]}"
check "a restarted replica keeps the override (hidden item absent)" within 2 absent_everywhere "$top"

"$MIXREC" export --redis "$REDIS_URL" --stream catalog --out "$TMP/catalog.jsonl" 2>"$TMP/export.err"
check "mixrec export --stream catalog writes the records" \
  bash -c "jq -e --arg i '$top' 'select(.item == \$i) | .hidden == true' '$TMP/catalog.jsonl' >/dev/null"
v0=$(curl -s "$BASE_A/readyz" | jq -r .model_version)
"$MIXREC" build --interactions "$TMP/syn/interactions.csv" --items "$TMP/syn/items.csv" \
  --set embed.dim=16 --set interests.count=8 --catalog "$TMP/catalog.jsonl" --out "$TMP/model" \
  >"$TMP/rebuild.out" 2>"$TMP/rebuild.err"
check "build --catalog reads the records" grep -q "catalogue .*hidden or expired" "$TMP/rebuild.err"
new_version() { [ "$(curl -s "$1/readyz" | jq -r .model_version)" != "$v0" ]; }
check "both replicas load the rebuilt model" bash -c "$(declare -f within new_version); within 10 new_version '$BASE_A' && within 10 new_version '$BASE_B'"
check "after the rebuild the item is still hidden everywhere" absent_everywhere "$top"
call unhide PATCH "$BASE_A/v1/items/$popular" -H "$J" -d '{"hidden": false}'
sleep 0.3
check "the rebuilt model gave the item hidden at build time no popularity (was the most popular)" \
  bash -c "[ -n '$popular' ] && ! curl -s '$BASE_A/v1/recommendations?k=50' | grep -q '\"$popular\"'"
call unhide PATCH "$BASE_A/v1/items/$top" -H "$J" -d '{"hidden": false}'

finish
