#!/usr/bin/env bash
# test_experiments.sh - experiments in the settings (experiments.list) over
# real HTTP with a real redis-server and two `mixrec serve` replicas: answers
# carry the experiment and the user's variant, the variant's settings serve
# them (ranking off in one variant), a user keeps their variant on both
# replicas and after a restart, an audience share leaves users out, the
# impression records carry experiment and variant, and bad lists stop the
# server with exit 2 naming the field.
#   tests/test_experiments.sh BUILD/mixrec
set -uo pipefail
MIXREC=$1
source "$(dirname "$0")/lib.sh"

make_test_model
start_redis
RCLI=(redis-cli -s "$TMP/redis.sock")
LIST='[{"name":"ranker-ab","audience":0.8,"variants":[
  {"name":"control","share":0.5},
  {"name":"retrieval","share":0.5,"settings":{"ranking.enabled":false}}]}]'
KEY=experiments-test-key
ARGS=(--redis "unix:$TMP/redis.sock" --set log.impressions=true --set auth.api_keys=$KEY)
AK=(-H "X-API-Key: $KEY")
MIXREC_EXPERIMENTS_LIST=$LIST serve_start A "${ARGS[@]}"
MIXREC_EXPERIMENTS_LIST=$LIST serve_start B "${ARGS[@]}"

# answers BASE FILE: "user experiment variant order" for the first 60 users
answers() {
  cut -d, -f1 "$TMP/syn/interactions.csv" | sed 1d | sort -u | head -60 | while read -r u; do
    curl -s "$1/v1/users/$u/recommendations?k=5" |
      jq -r --arg u "$u" '"\($u) \(.experiment // "-") \(.variant // "-") \(.order)"'
  done >"$2"
}
answers "$BASE_A" "$TMP/a.txt"
answers "$BASE_B" "$TMP/b.txt"
n_control=$(awk '$3 == "control"' "$TMP/a.txt" | wc -l)
n_retrieval=$(awk '$3 == "retrieval"' "$TMP/a.txt" | wc -l)
n_out=$(awk '$2 == "-"' "$TMP/a.txt" | wc -l)
echo "# 60 users: control $n_control, retrieval $n_retrieval, outside the audience $n_out"
check "60 answers" test "$(wc -l <"$TMP/a.txt")" = 60
check "both variants serve users (an even split of 80% of 60)" \
  bash -c "[ $n_control -ge 10 ] && [ $n_retrieval -ge 10 ]"
check "the audience share leaves some users out (20%)" bash -c "[ $n_out -ge 2 ] && [ $n_out -le 30 ]"
check "in the experiment: its name on every answer" \
  bash -c "! awk '\$3 != \"-\" && \$2 != \"ranker-ab\"' '$TMP/a.txt' | grep -q ."
check "the variant's settings serve: control ranked, retrieval (ranking.enabled=false) not" \
  bash -c "! awk '(\$3 == \"control\" && \$4 != \"ranker\") || (\$3 == \"retrieval\" && \$4 != \"retrieval\")' '$TMP/a.txt' | grep -q ."
check "users outside the experiment are served as the settings say (ranked)" \
  bash -c "! awk '\$2 == \"-\" && \$4 != \"ranker\"' '$TMP/a.txt' | grep -q ."
check "every user has the same variant on both replicas" cmp -s "$TMP/a.txt" "$TMP/b.txt"

# ---- a restart keeps the assignment ---------------------------------------------
kill "$PID_B"; wait "$PID_B" 2>/dev/null
MIXREC_EXPERIMENTS_LIST=$LIST serve_start B "${ARGS[@]}"
answers "$BASE_B" "$TMP/b2.txt"
check "after a restart, the same variants" cmp -s "$TMP/a.txt" "$TMP/b2.txt"

# ---- another salt splits differently ---------------------------------------------
LIST2=$(jq -c '.[0].salt = "another-salt"' <<<"$LIST")
MIXREC_EXPERIMENTS_LIST=$LIST2 serve_start C "${ARGS[@]}"
answers "$BASE_C" "$TMP/c.txt"
check "a different salt gives a different split" bash -c "! cmp -s '$TMP/a.txt' '$TMP/c.txt'"

# ---- impressions carry the experiment -------------------------------------------------
# request_of RID: the request field (JSON) of the impression record with that id
request_of() {
  local out=""
  for _ in $(seq 50); do
    out=$("${RCLI[@]}" --json xrange mixrec:impressions - + |
      jq -c --arg rid "$1" '[.[] | .[1] as $f | [range(0; $f | length; 2) | {key: $f[.], value: $f[. + 1]}]
        | from_entries | select(.recommendation_id == $rid) | .request | fromjson][0] // empty')
    [ -n "$out" ] && break
    sleep 0.1
  done
  echo "$out"
}
u=$(awk '$3 == "retrieval" {print $1; exit}' "$TMP/a.txt")
rid=$(curl -s "$BASE_A/v1/users/$u/recommendations?k=5" | jq -r .recommendation_id)
check "the impression record names the experiment and the variant" \
  jqt '.experiment == "ranker-ab" and .variant == "retrieval"' <<<"$(request_of "$rid")"
u_out=$(awk '$2 == "-" {print $1; exit}' "$TMP/a.txt")
rid=$(curl -s "$BASE_A/v1/users/$u_out/recommendations?k=5" | jq -r .recommendation_id)
check "and none for a user outside it" jqt 'has("k") and (has("experiment") | not)' \
  <<<"$(request_of "$rid")"

# ---- the report: counts shared by the replicas in Redis ---------------------------------
# So far: each user in the experiment had one answer from A and two from B
# (one before the restart), and one more from A above for the first
# retrieval user; C's salt is another experiment's tag (counted apart).
report() { curl -s "${AK[@]}" "$1/v1/admin/experiments/ranker-ab/report"; }
R=$(report "$BASE_A")
check "report: users per variant are the users served" \
  jqt --argjson c "$n_control" --argjson r "$n_retrieval" \
  '.variants[0].name == "control" and .variants[0].users == $c and .variants[1].users == $r' <<<"$R"
check "report: impressions per variant: three answers per user (one more for one user)" \
  jqt --argjson c "$n_control" --argjson r "$n_retrieval" \
  '.variants[0].impressions == 3 * $c and .variants[1].impressions == 3 * $r + 1' <<<"$R"
check "report: no clicks yet, click-through 0" \
  jqt '.variants[0].clicks == 0 and .variants[0].click_through.value == 0' <<<"$R"
# clicks: the first 4 control users click once on an answer of replica B,
# and one of them sends the same event twice (one event_id: stored once)
cu=$(awk '$3 == "control" {print $1}' "$TMP/a.txt" | head -4)
for u in $cu; do
  rid=$(curl -s "$BASE_B/v1/users/$u/recommendations?k=5" | jq -r .recommendation_id)
  item=$(curl -s "$BASE_B/v1/users/$u/recommendations?k=5" | jq -r '.items[0].item')
  ev=$(jq -nc --arg u "$u" --arg i "$item" --arg r "$rid" \
    '[{user: $u, item: $i, type: "click", recommendation_id: $r, position: 0, event_id: ("c-" + $u)},
      {user: $u, item: $i, type: "like", recommendation_id: $r, position: 0}]')
  curl -s "${AK[@]}" -X POST -H 'Content-Type: application/json' -d "$ev" "$BASE_A/v1/events" >/dev/null
  curl -s "${AK[@]}" -X POST -H 'Content-Type: application/json' -d "$(jq -c '.[:1]' <<<"$ev")" \
    "$BASE_A/v1/events" >/dev/null
done
R=$(report "$BASE_B")
echo "# report: $(jq -c '[.variants[] | {name, users, impressions, clicks, click_through: .click_through.value}]' <<<"$R")"
check "report (from the other replica): 4 clicks and 4 likes attributed to control, none to retrieval" \
  jqt '.variants[0].clicks == 4 and .variants[0].events.click == 4 and .variants[0].events.like == 4
       and .variants[1].clicks == 0' <<<"$R"
check "report: click-through with a 95% interval around it" \
  jqt '.variants[0].click_through | .value > 0 and .low <= .value and .value <= .high' <<<"$R"
check "report: the variant against the control (difference, p-value), the test named" \
  jqt '(.variants[1].vs_control | .difference < 0 and .p_value >= 0 and .p_value <= 1)
       and (.method | test("delta method"))' <<<"$R"
check "report: the sample-ratio check" jqt '.sample_ratio | .p_value > 0.001 and (.mismatch | not)' <<<"$R"
check "report of an unknown experiment: 404" \
  test "$(curl -s "${AK[@]}" -o /dev/null -w '%{http_code}' "$BASE_A/v1/admin/experiments/nope/report")" = 404
check "the report needs the admin key: 401 without" \
  test "$(curl -s -o /dev/null -w '%{http_code}' "$BASE_A/v1/admin/experiments/ranker-ab/report")" = 401
check "GET /v1/admin/experiments lists it with its defaults and tag" \
  jqt '.experiments[0] | .name == "ranker-ab" and .salt == "ranker-ab" and .mode == "ab"
       and (.tag | test("^[0-9a-f]{4}$"))' <<<"$(curl -s "${AK[@]}" "$BASE_A/v1/admin/experiments")"
curl -s "$BASE_A/metrics" >"$TMP/metrics"
check "/metrics counts impressions and attributed clicks per experiment and variant" \
  grep -q '^mixrec_experiment_impressions_total{experiment="ranker-ab",variant="control"} [1-9]' "$TMP/metrics"
check "/metrics: the 4 clicks (stored through replica A) on A's counter" \
  grep -q '^mixrec_experiment_attributed_events_total{experiment="ranker-ab",variant="control",type="click"} 4$' "$TMP/metrics"

# ---- bad lists stop the server, naming the field ----------------------------------------
bad() { # NAME LIST FIELD
  MIXREC_EXPERIMENTS_LIST=$2 timeout 20 "$MIXREC" serve --model "$TMP/model" \
    --listen 127.0.0.1:1 >/dev/null 2>"$TMP/bad.err"
  local rc=$?
  check "$1: exit 2 naming $3" bash -c "[ $rc = 2 ] && grep -qF -- '$3' '$TMP/bad.err'"
}
bad "shares over 1" '[{"name":"x","variants":[{"name":"a","share":0.6},{"name":"b","share":0.6}]}]' \
  "experiments.list[0].variants"
bad "a setting a variant may not change" \
  '[{"name":"x","variants":[{"name":"a","share":0.5},{"name":"b","share":0.5,"settings":{"server.workers":3}}]}]' \
  "experiments.list[0].variants[1].settings.server.workers"
bad "a value out of range" \
  '[{"name":"x","variants":[{"name":"a","share":0.5},{"name":"b","share":0.5,"settings":{"ranking.mmr_lambda":2}}]}]' \
  "experiments.list[0].variants[1].settings.ranking.mmr_lambda"
bad "interleaving of three variants" \
  '[{"name":"x","mode":"interleave","variants":[{"name":"a","share":0.5},{"name":"b","share":0.25},{"name":"c","share":0.25}]}]' \
  "experiments.list[0].variants"
finish
