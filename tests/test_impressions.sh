#!/usr/bin/env bash
# test_impressions.sh - every recommendation answer carries a
# recommendation_id and leaves one impression record in the Redis stream
# (issue 14), over real HTTP with a real redis-server: the four answering
# routes, the record's fields against the answer it describes (format 2:
# items as columns), an
# anonymous request, log.impressions=false, an error reply from Redis and
# Redis killed (answers still 200, records counted as dropped), and the
# attribution and click-through metrics present at 0.
#   tests/test_impressions.sh BUILD/mixrec
set -uo pipefail
MIXREC=$1
source "$(dirname "$0")/lib.sh"

make_test_model
start_redis
RCLI=(redis-cli -s "$TMP/redis.sock")
serve_start S --redis "unix:$TMP/redis.sock"
BASE=$BASE_S
user=$(sed -n 2p "$TMP/syn/interactions.csv" | cut -d, -f1)
item=$(sed -n 2p "$TMP/syn/interactions.csv" | cut -d, -f2)
item2=$(sed -n 3p "$TMP/syn/interactions.csv" | cut -d, -f2)

# get NAME PATH [curl args]: the answer in $TMP/NAME.json, status in $CODE
get() {
  local name=$1 path=$2; shift 2
  CODE=$(curl -s -o "$TMP/$name.json" -w '%{http_code}' "$@" "$BASE$path")
}
# metric NAME{labels}: its value in the server's /metrics (empty if absent)
metric() {
  curl -s "$BASE/metrics" | awk -v m="$1" 'index($0, m " ") == 1 { print $2 }'
}
# wait_xlen KEY N: up to 5 s for the stream to hold N entries
wait_xlen() {
  for _ in $(seq 50); do
    [ "$("${RCLI[@]}" xlen "$1")" = "$2" ] && return 0
    sleep 0.1
  done
  echo "  $1 holds $("${RCLI[@]}" xlen "$1") entries, expected $2"; return 1
}

# ---- the four answering routes ---------------------------------------------
get a1 "/v1/users/$user/recommendations?k=5&exclude=$item2&explain=true"
check "user recommendations 200" test "$CODE" = 200
get a2 /v1/recommendations -X POST -H 'Content-Type: application/json' \
  -d "{\"user\":\"$user\",\"k\":4,\"recent_items\":[\"$item\"],\"categories\":[\"interest-3\"]}"
check "POST recommendations 200" test "$CODE" = 200
get a3 "/v1/recommendations?k=3&exclude_categories=interest-1,interest-2&min_age=1s&max_age=520w"
check "anonymous GET recommendations 200" test "$CODE" = 200
get a4 "/v1/items/$item/similar?k=4"
check "similar items 200" test "$CODE" = 200
for a in a1 a2 a3 a4; do
  check "$a: a 24-character URL-safe recommendation_id" \
    jqt '.recommendation_id | test("^[A-Za-z0-9_-]{24}$")' "$TMP/$a.json"
done
check "the four ids are distinct" \
  test "$(jq -r .recommendation_id "$TMP"/a{1,2,3,4}.json | sort -u | wc -l)" = 4

# ---- one record per answer, matching it -------------------------------------
check "the stream holds one record per answer" wait_xlen mixrec:impressions 4
# the stream as [{stream_id, field: value...}]
"${RCLI[@]}" --json xrange mixrec:impressions - + |
  jq '[.[] | {stream_id: .[0]} + (.[1] as $f | [range(0; $f | length; 2) | {key: $f[.], value: $f[. + 1]}] | from_entries)]' \
  >"$TMP/stream.json"
# rec NAME ROUTE USER: the record carrying answer NAME's id matches the answer:
# format 2, items as columns (docs/streams.md) of the answer's length, its
# ids in answer order (position = index), its scores and propensities
rec_matches() {
  local name=$1 route=$2 u=$3
  jq -e --slurpfile a "$TMP/$name.json" --arg route "$route" --arg user "$u" '
    $a[0] as $a | ($a.items | length) as $n
    | [.[] | select(.recommendation_id == $a.recommendation_id)] as $r
    | ($r | length == 1) and ($r[0] as $r
    | $r.route == $route and $r.user == $user and $r.model == $a.model_version
    and $r.order == ($a.order // "retrieval") and $r.format == "2"
    and ($r.ts | test("^[0-9]{13}$"))
    and ($r.ts | tonumber) > (now * 1000 - 600000) and ($r.ts | tonumber) <= (now * 1000 + 1000)
    and ($r.items | fromjson) as $it
    | ($it | type == "object")
    and ($it | keys == ["item", "placed_by", "propensity", "rank_score", "reason", "score", "sources"])
    and ($it | all(.[]; type == "array" and length == $n))
    and $n > 0 and $it.item == [$a.items[].item]
    and ([range(0; $n) as $i | ($it.score[$i] - $a.items[$i].score) | fabs < 1e-5] | all)
    and ([range(0; $n) as $i | ($it.propensity[$i] - $a.items[$i].propensity) | fabs < 1e-6] | all)
    and ($it.sources | all(type == "string" and test("^m?s?p?$")))
    and ($it.reason + $it.placed_by | all(type == "string"))
    and ($it.rank_score | all(type == "number" or . == null)))' \
    "$TMP/stream.json" >/dev/null
}
check "user recommendations: route, user, model, order, items in answer order" \
  rec_matches a1 user_recommendations "$user"
check "POST recommendations: its record" rec_matches a2 recommendations "$user"
check "user recommendations (explained): each column is the answer's field, sources as letters" \
  jq -e --slurpfile a "$TMP/a1.json" '$a[0] as $a
    | .[] | select(.recommendation_id == $a.recommendation_id) | .items | fromjson
    | .reason == [$a.items[].reason] and .placed_by == [$a.items[].placed_by]
    and .sources == [$a.items[].sources | map({mixture: "m", single: "s", popular: "p"}[.]) | join("")]
    and ([range(0; $a.items | length) as $i | (.rank_score[$i] - $a.items[$i].rank_score) | fabs < 1e-5]
         | all)' "$TMP/stream.json"
check "anonymous GET: its record, with an empty user" rec_matches a3 recommendations_get ""
check "similar items: its record (retrieval order)" rec_matches a4 item_similar ""
req_of() { jq --slurpfile a "$TMP/$1.json" '.[] | select(.recommendation_id == $a[0].recommendation_id) | .request | fromjson' "$TMP/stream.json"; }
check "request of a1: k, exclude, session; no filter it did not give" \
  jqt --arg x "$item2" '.k == 5 and .exclude == [$x] and .recent_items == 0 and .session == "ok" and .categories == []
    and (has("exclude_categories") or has("min_age") or has("max_age") | not)' <(req_of a1)
check "request of a2: categories, recent items" \
  jqt '.k == 4 and .categories == ["interest-3"] and .recent_items == 1 and .exclude == []' <(req_of a2)
check "request of a3: anonymous, no session read, its filters (ages in seconds)" \
  jqt '.k == 3 and .session == "none" and .exclude_categories == ["interest-1","interest-2"]
    and .min_age == 1 and .max_age == 314496000' <(req_of a3)
check "request of a4: the item" jqt --arg i "$item" '.k == 4 and .item == $i and .session == "none"' <(req_of a4)

# ---- metrics ------------------------------------------------------------------
m_user=$(metric 'mixrec_impressions_total{route="user_recommendations",order="ranker"}')
check "impressions counted by route and order" test "${m_user:-0}" = 1
m_sim=$(metric 'mixrec_impressions_total{route="item_similar",order="retrieval"}')
check "similar counted in retrieval order" test "${m_sim:-0}" = 1
check "no impression dropped" test "$(metric mixrec_impressions_dropped_total)" = 0
check "attributed events at 0" \
  test "$(metric 'mixrec_attributed_events_total{type="click",route="recommendations",order="ranker"}')" = 0
check "click-through overall at 0" test "$(metric 'mixrec_click_through{route="all",order="all"}')" = 0
check "click-through by route and order at 0" \
  test "$(metric 'mixrec_click_through{route="item_similar",order="retrieval"}')" = 0

# ---- log.impressions=false: answers keep their ids, nothing is written ---------
serve_start N --redis "unix:$TMP/redis.sock" --set log.impressions=false \
  --set log.impressions_stream=mixrec:off
BASE=$BASE_N
get n1 "/v1/users/$user/recommendations?k=5"
get n2 "/v1/items/$item/similar?k=3"
check "off: answers still carry ids" jqt '.recommendation_id | length == 24' "$TMP/n1.json"
sleep 0.3
check "off: no stream written" test "$("${RCLI[@]}" exists mixrec:off)" = 0
check "off: the main stream unchanged" test "$("${RCLI[@]}" xlen mixrec:impressions)" = 4
check "off: answers still counted" \
  test "$(metric 'mixrec_impressions_total{route="item_similar",order="retrieval"}')" = 1

# ---- Redis refuses the record (a key of another type): dropped, answer served ----
"${RCLI[@]}" set mixrec:wrongtype x >/dev/null
serve_start W --redis "unix:$TMP/redis.sock" --set log.impressions_stream=mixrec:wrongtype
BASE=$BASE_W
get w1 "/v1/items/$item/similar?k=3"
check "error reply: the answer is served" test "$CODE" = 200
for _ in $(seq 20); do [ "$(metric mixrec_impressions_dropped_total)" = 1 ] && break; sleep 0.1; done
check "error reply: the record counted as dropped" test "$(metric mixrec_impressions_dropped_total)" = 1

# ---- Redis killed: answers keep coming, records are counted as dropped ---------
BASE=$BASE_S
stop_redis
n=0
for i in 1 2 3 4 5 6; do
  get k$i "/v1/users/$user/recommendations?k=5"
  [ "$CODE" = 200 ] && jqt '.recommendation_id | length == 24' "$TMP/k$i.json" && n=$((n + 1))
  get s$i "/v1/items/$item/similar?k=3"
  [ "$CODE" = 200 ] && n=$((n + 1))
  get p$i /v1/recommendations -X POST -H 'Content-Type: application/json' -d '{"k":3}'
  [ "$CODE" = 200 ] && n=$((n + 1))
done
check "Redis down: 18 answers of 18 are 200 with ids" test "$n" = 18
for _ in $(seq 30); do [ "$(metric mixrec_impressions_dropped_total)" = 18 ] && break; sleep 0.1; done
check "Redis down: every record dropped and counted ($(metric mixrec_impressions_dropped_total) of 18)" \
  test "$(metric mixrec_impressions_dropped_total)" = 18
check "Redis down: every answer counted as an impression" \
  test "$(metric 'mixrec_impressions_total{route="item_similar",order="retrieval"}')" = 7
finish
