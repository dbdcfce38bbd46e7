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
KEY=catalogue-test-key
SERVE_ARGS=(--redis "$REDIS_URL" --set server.model_poll_s=1 --set auth.api_keys=$KEY)
serve_start A "${SERVE_ARGS[@]}"
serve_start B "${SERVE_ARGS[@]}"

J='Content-Type: application/json'
# call NAME METHOD URL [curl args]: body in $TMP/NAME.json, status in $CODE
call() {
  local name=$1 method=$2 url=$3; shift 3
  CODE=$(curl -s -o "$TMP/$name.json" -w '%{http_code}' -X "$method" -H "X-API-Key: $KEY" "$@" "$url")
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

# ---- a new item ---------------------------------------------------------------------------
# users and categories of the synthetic world: $user's most frequent category,
# a user who never touched it, a category $user never touched
read -r fresh_cat other_user promo_cat < <(python3 - "$TMP/syn" "$user" <<'PY'
import csv, sys, collections
d, u = sys.argv[1], sys.argv[2]
cat = {r[0]: r[2] for r in csv.reader(open(d + '/items.csv'))}
by = collections.defaultdict(collections.Counter)
for r in list(csv.reader(open(d + '/interactions.csv')))[1:]:
    by[r[0]][cat.get(r[1], '?')] += 1
top = by[u].most_common(1)[0][0]
other = next(v for v in sorted(by) if by[v][top] == 0)
unseen = next(c for c in sorted(set(cat.values()) - {'categories'}) if by[u][c] == 0)
print(top, other, unseen)
PY
)
call put PUT "$BASE_A/v1/items/fresh-1" -H "$J" -d "{\"title\": \"Just published\", \"categories\": [\"$fresh_cat\"]}"
check "PUT adds an item the model never saw: new, visible" \
  bash -c "[ $CODE = 200 ] && jq -e '.new == true and .in_model == false and .visible == true' '$TMP/put.json' >/dev/null"
new_for() { curl -s "$1/v1/users/$2/recommendations?k=10&explain=true" |
  jq -e '[.items[] | select(.item == "fresh-1" and .reason == "new")] | length == 1' >/dev/null; }
check "the new item is recommended (reason new) to a user of its category, on both replicas" \
  bash -c "$(declare -f within new_for); within 1 new_for '$BASE_A' '$user' && within 1 new_for '$BASE_B' '$user'"
call ranked GET "$BASE_A/v1/users/$user/recommendations?k=10&explain=true"
check "a ranked answer: the ranker scored the new item (its features, placed by the fresh source)" \
  jqt '.order == "ranker" and ([.items[] | select(.item == "fresh-1" and .placed_by == "fresh"
       and (.features | length) > 0)] | length == 1)' "$TMP/ranked.json"
check "and to no one without that category ($other_user)" \
  bash -c "! curl -s '$BASE_B/v1/users/$other_user/recommendations?k=10' | grep -q fresh-1"
check "a session click on it: not recommended again to that user" bash -c "
  curl -s -o /dev/null -X POST -H 'X-API-Key: $KEY' -H '$J' '$BASE_A/v1/events' \
    -d '{\"events\": [{\"user\": \"$user\", \"item\": \"fresh-1\", \"type\": \"click\"}]}' &&
  sleep 0.2 && ! curl -s '$BASE_A/v1/users/$user/recommendations?k=10' | grep -q fresh-1"
call list GET "$BASE_A/v1/items?state=new"
check "GET /v1/items?state=new lists it" jqt '.total == 1 and .items[0].item == "fresh-1"' "$TMP/list.json"

# ---- promotions ---------------------------------------------------------------------------
call promo PUT "$BASE_A/v1/admin/promotions" -H "$J" \
  -d "{\"promotions\": [{\"name\": \"collection\", \"category\": \"$promo_cat\", \"share\": 0.3}]}"
check "PUT /v1/admin/promotions stores an active promotion" bash -c "[ $CODE = 200 ]"
promoted_count() { curl -s "$1/v1/users/$user/recommendations?k=10&explain=true" |
  jq --arg c "$promo_cat" '[.items[] | select(.categories | index($c))] | length'; }
share_ok() { local c; c=$(promoted_count "$1"); [ "$c" -ge 2 ] && [ "$c" -le 4 ]; }
check "a promoted category takes its share (3 of 10, +-1) for a user who has not seen it, on both replicas" \
  bash -c "$(declare -f within promoted_count share_ok); user='$user' promo_cat='$promo_cat'; within 1 share_ok '$BASE_A' && within 1 share_ok '$BASE_B'"
check "promoted items are marked (reason promoted, placed_by promotion)" bash -c "
  curl -s '$BASE_B/v1/users/$user/recommendations?k=10&explain=true' |
    jq -e '[.items[] | select(.reason == \"promoted\" and .placed_by == \"promotion\")] | length >= 2' >/dev/null"
check "promoted items obey the request's exclusions" bash -c "
  ex=\$(curl -s '$BASE_A/v1/users/$user/recommendations?k=10&explain=true' | jq -r '[.items[] | select(.reason == \"promoted\") | .item] | join(\",\")');
  ! curl -s \"$BASE_A/v1/users/$user/recommendations?k=10&exclude=\$ex\" | jq -r '.items[].item' | grep -qx \"\$(echo \$ex | cut -d, -f1)\""
check "mixrec_promoted_total counts them" bash -c "curl -s '$BASE_A/metrics' | grep -q 'mixrec_promoted_total{promotion=\"collection\"} [1-9]'"
past_end=$(( $(date +%s) - 10 ))
call promo PUT "$BASE_A/v1/admin/promotions" -H "$J" \
  -d "{\"promotions\": [{\"name\": \"over\", \"category\": \"$promo_cat\", \"share\": 0.3, \"start\": 1000, \"end\": $past_end}]}"
none_promoted() { [ "$(curl -s "$1/v1/users/$user/recommendations?k=10&explain=true" | jq '[.items[] | select(.reason == "promoted")] | length')" = 0 ]; }
check "outside its window a promotion places nothing" \
  bash -c "$(declare -f within none_promoted); user='$user'; within 1 none_promoted '$BASE_A' && within 1 none_promoted '$BASE_B'"
call promo PUT "$BASE_A/v1/admin/promotions" -H "$J" -d '{"promotions": []}'

# ---- an operator's categories steer the request's category filters ---------------------
second=$(ids "$BASE_A" "/v1/users/$user/recommendations?k=10" | sed -n 2p)
orig_cats=$(curl -s "$BASE_A/v1/items/$second" | jq -c .categories)
in_filtered() { ids "$1" "/v1/users/$user/recommendations?k=10&categories=$promo_cat" | grep -qx "$second"; }
check "before: the user's second item is not in $promo_cat's filtered answer" bash -c "
  [ -n '$second' ] && ! curl -s '$BASE_B/v1/users/$user/recommendations?k=10&categories=$promo_cat' | jq -r '.items[].item' | grep -qx '$second'"
call recat PATCH "$BASE_A/v1/items/$second" -H "$J" -d "{\"categories\": [\"$promo_cat\"]}"
check "PATCH categories: the item now passes categories=$promo_cat on both replicas" \
  bash -c "$(declare -f within ids in_filtered); user='$user' promo_cat='$promo_cat' second='$second'; within 1 in_filtered '$BASE_A' && within 1 in_filtered '$BASE_B'"
check "... and exclude_categories=$promo_cat leaves it out" bash -c "
  ! curl -s '$BASE_B/v1/users/$user/recommendations?k=10&exclude_categories=$promo_cat' | jq -r '.items[].item' | grep -qx '$second'"
call recat PATCH "$BASE_A/v1/items/$second" -H "$J" -d "{\"categories\": $orig_cats}"

# ---- restart and rebuild keep the overrides -------------------------------------------
call hide PATCH "$BASE_A/v1/items/$top" -H "$J" -d '{"hidden": true}'
check "hidden again before the restart (200)" bash -c "[ $CODE = 200 ] || { cat '$TMP/hide.json'; false; }"
# the most popular item, hidden before the rebuild: the new model must not
# keep it at the top of the popular list once it is shown again
popular=$(ids "$BASE_A" "/v1/recommendations?k=1" | head -1)
call hide PATCH "$BASE_A/v1/items/$popular" -H "$J" -d '{"hidden": true}'
kill "$PID_B"; wait "$PID_B" 2>/dev/null
serve_start B "${SERVE_ARGS[@]}"
check "a restarted replica keeps the override (hidden item absent)" within 2 absent_everywhere "$top"
check "a restarted replica serves the new item (to a user of its category)" \
  bash -c "$(declare -f within new_for); within 2 new_for '$BASE_B' '$(sed -n 2p "$TMP/syn/interactions.csv" | cut -d, -f1 | grep -vx "$user" || echo "$other_user")' || curl -s '$BASE_B/v1/items/fresh-1' | jq -e '.new == true and .visible == true' >/dev/null"

"$MIXREC" export --redis "$REDIS_URL" --stream catalog --out "$TMP/catalog.jsonl" 2>"$TMP/export.err"
check "mixrec export --stream catalog writes the records" \
  jqt -s --arg i "$top" 'any(.[]; .item == $i and .hidden == true)' "$TMP/catalog.jsonl"
# events on the new item from ten users: the next model trains on it
for v in $(cut -d, -f1 "$TMP/syn/interactions.csv" | sed 1d | sort -u | head -10); do
  curl -s -o /dev/null -X POST -H "X-API-Key: $KEY" -H "$J" "$BASE_A/v1/events" \
    -d "{\"events\": [{\"user\": \"$v\", \"item\": \"fresh-1\", \"type\": \"like\"}]}"
done
"$MIXREC" export --redis "$REDIS_URL" --out "$TMP/events.jsonl" 2>/dev/null
v0=$(curl -s "$BASE_A/readyz" | jq -r .model_version)
"$MIXREC" build --interactions "$TMP/syn/interactions.csv" --interactions "$TMP/events.jsonl" \
  --items "$TMP/syn/items.csv" \
  --set embed.dim=16 --set interests.count=8 --catalog "$TMP/catalog.jsonl" --out "$TMP/model" \
  >"$TMP/rebuild.out" 2>"$TMP/rebuild.err"
check "build --catalog reads the records" grep -q "catalogue .*hidden or expired" "$TMP/rebuild.err"
new_version() { [ "$(curl -s "$1/readyz" | jq -r .model_version)" != "$v0" ]; }
check "both replicas load the rebuilt model" bash -c "v0='$v0'; $(declare -f within new_version); within 10 new_version '$BASE_A' && within 10 new_version '$BASE_B'"
check "after the rebuild the item is still hidden everywhere" absent_everywhere "$top"
call get GET "$BASE_A/v1/items/fresh-1"
check "after a rebuild with events on it the new item is an ordinary item, with its categories" \
  jqt --arg c "$fresh_cat" '.in_model == true and .new == false and (.categories | index($c))' "$TMP/get.json"
call sim GET "$BASE_A/v1/items/fresh-1/similar?k=5"
check "... and has an embedding (similar items answer)" \
  bash -c "[ $CODE = 200 ] && jq -e '.items | length == 5' '$TMP/sim.json' >/dev/null"
call unhide PATCH "$BASE_A/v1/items/$popular" -H "$J" -d '{"hidden": false}'
sleep 0.3
check "the rebuilt model gave the item hidden at build time no popularity (was the most popular)" \
  bash -c "[ -n '$popular' ] && ! curl -s '$BASE_A/v1/recommendations?k=50' | grep -q '\"$popular\"'"
call unhide PATCH "$BASE_A/v1/items/$top" -H "$J" -d '{"hidden": false}'

finish
