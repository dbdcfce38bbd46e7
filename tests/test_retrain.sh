#!/usr/bin/env bash
# test_retrain.sh - the loop offline, with a real redis-server: events put
# into mixrec:events as the service writes them (XADD, the stream contract
# of docs), `mixrec export` (fields, types, resume, --since, impressions,
# missing stream, bad URL, unreachable Redis), `mixrec build` with two
# --interactions sources (per-source counts; the new user u_new is known),
# `mixrec retrain` one shot (promotes: CURRENT changes, the manifest has the
# retrain object, u_new gets long-term interests), a second run with
# nothing new, --keep pruning, Redis down (fails, CURRENT unchanged) and
# the --every loop stopping on SIGTERM; a worse candidate (crippled settings)
# kept, compaction of many exports, an empty root, one run per root.
#   tests/test_retrain.sh BUILD/mixrec
set -uo pipefail
MIXREC=$(realpath "$1")
source "$(dirname "$0")/lib.sh"
# a small world; no ranker (seconds per build), every window user judged
SETS=(--set embed.dim=8 --set interests.count=6 --set rank_train.enabled=0 --set eval.min_train=1)
"$MIXREC" synth --items 600 --users 300 --interests 6 --dim 8 --seed 3 --out "$TMP/syn" >/dev/null 2>&1
BASE=$TMP/syn/interactions.csv
"$MIXREC" build --interactions "$BASE" "${SETS[@]}" --out "$TMP/root" >/dev/null 2>"$TMP/b0.err" ||
  { cat "$TMP/b0.err"; echo "cannot build the base model"; exit 1; }
start_redis
URL="unix:$TMP/redis.sock"
jqs() { jq -se "$@" >/dev/null; }
R() { redis-cli -s "$TMP/redis.sock" "$@"; }
TMAX=$(tail -n +2 "$BASE" | cut -d, -f3 | sort -n | tail -1)

# ---- events as the service writes them ---------------------------------------
# 20 known users x 3 clicks, u_new x 6 events on known items; some carry
# event_id, recommendation_id and position
t=$((TMAX + 10))
for u in $(seq 1 20); do
  for k in 1 2 3; do
    R XADD mixrec:events '*' user "u$u" item "i$((u * 7 + k * 13))" type click ts $t >/dev/null
    t=$((t + 10))
  done
done
for k in 1 2 3 4 5 6; do
  R XADD mixrec:events '*' user u_new item "i$((k * 11))" type like ts $t event_id "ev-$k" \
    recommendation_id AAAAAAAAAAAAAAAAAAAAAAA$k position $((k - 1)) >/dev/null
  t=$((t + 10))
done
check "66 events in the stream" test "$(R XLEN mixrec:events)" = 66

# ---- export --------------------------------------------------------------------
"$MIXREC" export --redis "$URL" --out "$TMP/e1.jsonl" 2>"$TMP/e1.err"
check "export: exit 0" test $? = 0
check "export: 66 lines" test "$(wc -l <"$TMP/e1.jsonl")" = 66
check "export: every line has user, item, type strings, ts a number, stream_id" \
  jqs 'length == 66 and all(.[]; (.user|type) == "string" and (.item|type) == "string"
    and (.type|type) == "string" and (.ts|type) == "number" and (.stream_id|test("^[0-9]+-[0-9]+$")))' "$TMP/e1.jsonl"
check "export: event_id, recommendation_id strings, position a number where given" \
  jqs '[.[] | select(.user == "u_new")] | length == 6 and all(.[]; (.event_id|type) == "string"
    and (.recommendation_id|length) == 24 and (.position|type) == "number")' "$TMP/e1.jsonl"
check "export: the others have no position" jqs '[.[] | select(.position)] | length == 6' "$TMP/e1.jsonl"
LAST=$(tail -1 "$TMP/e1.jsonl" | jq -r .stream_id)
check "export: stderr says where to resume (next: --from $LAST)" grep -qx "next: --from $LAST" "$TMP/e1.err"
check "export: progress on stderr (entries, last id)" grep -q "66 entries.*last id $LAST" "$TMP/e1.err"
R XADD mixrec:events '*' user u_new item i77 type click ts $t >/dev/null
R XADD mixrec:events '*' user u3 item i88 type view ts $((t + 1)) >/dev/null
t=$((t + 10))
"$MIXREC" export --redis "$URL" --from "$LAST" >"$TMP/e2.jsonl" 2>"$TMP/e2.err"
check "export --from: only the 2 new entries" test "$(wc -l <"$TMP/e2.jsonl")" = 2
check "export --from: the first is after $LAST" \
  test "$(head -1 "$TMP/e2.jsonl" | jq -r .item)" = i77
LAST2=$(tail -1 "$TMP/e2.jsonl" | jq -r .stream_id)
"$MIXREC" export --redis "$URL" --from "$LAST2" >"$TMP/e3.jsonl" 2>"$TMP/e3.err"
check "export --from the last id: nothing, exit 0, says so" \
  bash -c "test ! -s '$TMP/e3.jsonl' && grep -q 'no new entries' '$TMP/e3.err'"
MID_MS=${LAST%%-*}
"$MIXREC" export --redis "$URL" --since "$MID_MS" >"$TMP/e4.jsonl" 2>/dev/null
check "export --since (ms of the 66th entry): 3 entries" test "$(wc -l <"$TMP/e4.jsonl")" = 3
"$MIXREC" export --redis "$URL" --since 2100-01-01T00:00:00Z >"$TMP/e5.jsonl" 2>/dev/null
check "export --since ISO 8601 in the future: nothing" test ! -s "$TMP/e5.jsonl"
"$MIXREC" export --redis "$URL" --count 5 >"$TMP/e6.jsonl" 2>/dev/null
check "export --count 5" test "$(wc -l <"$TMP/e6.jsonl")" = 5
R XADD mixrec:impressions '*' recommendation_id BBBBBBBBBBBBBBBBBBBBBBBB ts 1733390000123 user u1 \
  route user_recommendations model v1 order retrieval \
  items '[{"item":"i1","position":0,"score":0.5,"sources":["mixture"],"reason":"r"}]' \
  request '{"k":10,"categories":[],"exclude":[],"recent_items":0,"session":"ok"}' >/dev/null
R XADD mixrec:impressions '*' recommendation_id CCCCCCCCCCCCCCCCCCCCCCCC ts 1733390000456 user u1 \
  route user_recommendations model v1 order retrieval format 2 \
  items '{"item":["i1","i2"],"score":[0.5,0.25],"sources":["m",""],"reason":["r","r"],"placed_by":["retrieval","retrieval"],"rank_score":[null,null],"propensity":[1,1]}' \
  request '{"k":10,"categories":[],"exclude":[],"recent_items":0,"session":"ok"}' >/dev/null
"$MIXREC" export --redis "$URL" --stream impressions >"$TMP/imp.jsonl" 2>/dev/null
check "export --stream impressions: items an array, request an object, ts a number" \
  jqt '(.items|type) == "array" and .items[0].item == "i1" and (.request|type) == "object"
    and .request.k == 10 and .ts == 1733390000123 and .route == "user_recommendations"
    and has("format") == false' <(sed -n 1p "$TMP/imp.jsonl")
check "export of a format 2 record: format a number, items the columns as written" \
  jqt '.format == 2 and .items.item == ["i1", "i2"] and .items.sources == ["m", ""]
    and .items.rank_score == [null, null] and .ts == 1733390000456' <(sed -n 2p "$TMP/imp.jsonl")
"$MIXREC" export --redis "$URL" --key no:such:stream >"$TMP/e7.jsonl" 2>"$TMP/e7.err"
check "export: a missing stream is 0 entries, exit 0, said" \
  bash -c "test \$? = 0 && test ! -s '$TMP/e7.jsonl' && grep -q 'does not exist' '$TMP/e7.err'"
"$MIXREC" export --redis "$URL" --key no:such:stream >/dev/null 2>&1
check "export: missing stream exit code 0" test $? = 0
"$MIXREC" export --redis "http://127.0.0.1:6379" >/dev/null 2>"$TMP/e8.err"
rc=$?
check "export: a bad URL fails clearly (exit $rc)" bash -c "test $rc != 0 && grep -q 'redis.url' '$TMP/e8.err'"
"$MIXREC" export --redis "redis://127.0.0.1:1/0" >/dev/null 2>"$TMP/e9.err"
rc=$?
check "export: unreachable Redis fails clearly (exit $rc)" \
  bash -c "test $rc != 0 && grep -q 'cannot connect to Redis at redis://127.0.0.1:1/0' '$TMP/e9.err'"
"$MIXREC" export --redis "$URL" --from yesterday >/dev/null 2>"$TMP/e10.err"
check "export: a bad --from is a usage error" test $? = 2

# ---- build from two sources ----------------------------------------------------
"$MIXREC" recommend --model "$TMP/root" --user u_new >"$TMP/r0.out" 2>&1
check "before: u_new is unknown (cold start)" grep -q "not in the model" "$TMP/r0.out"
"$MIXREC" build --interactions "$BASE" --interactions "$TMP/e1.jsonl" "${SETS[@]}" \
  --out "$TMP/two" >"$TMP/two.out" 2>"$TMP/two.err"
check "build with two sources: exit 0" test $? = 0
check "build: source 1 line (CSV)" grep -q "source 1: .*interactions.csv: CSV" "$TMP/two.err"
check "build: source 2 line (JSON lines, 66 rows)" grep -q "source 2: .*e1.jsonl: JSON lines.*66 rows, 66 events" "$TMP/two.err"
check "build: source 2 counts users, items, new ones, drops" \
  grep -q "source 2: 66 lines -> 66 events, 21 users (1 new), .* items (.* new); dropped 0 unknown type" "$TMP/two.err"
"$MIXREC" recommend --model "$TMP/two" --user u_new >"$TMP/r1.out" 2>&1
check "build: the model knows u_new" bash -c "! grep -q 'not in the model' '$TMP/r1.out' && grep -q '^interests' '$TMP/r1.out'"
"$MIXREC" eval --interactions "$BASE" --interactions "$TMP/e1.jsonl" "${SETS[@]}" --json \
  >"$TMP/eval.json" 2>/dev/null
check "eval takes the same sources" jqt '.dataset.events > 6000 and (.dataset.sources|length) == 2' "$TMP/eval.json"

# ---- retrain, one shot ----------------------------------------------------------
V0=$(cat "$TMP/root/CURRENT")
RT=("$MIXREC" retrain --model "$TMP/root" --base "$BASE" --redis "$URL" --keep 2 "${SETS[@]}")
"${RT[@]}" >"$TMP/rt1.out" 2>"$TMP/rt1.err"
rc=$?
check "retrain: promotes (exit 0)" test $rc = 0
[ $rc = 0 ] || cat "$TMP/rt1.err"
V1=$(cat "$TMP/root/CURRENT")
check "retrain: CURRENT changed ($V0 -> $V1)" test "$V0" != "$V1"
check "retrain: exported 68 events" bash -c "test \$(wc -l <'$TMP/root/retrain/events-1.jsonl') = 68"
check "retrain: state has the last id" jqt --arg id "$LAST2" '.last_id == $id and .seq == 1 and .judged_seq == 1' "$TMP/root/retrain/state.json"
M="$TMP/root/$V1/manifest.json"
check "manifest: retrain object with the decision and both sides' figures" \
  jqt --arg v0 "$V0" '.retrain.decision == "promote" and .retrain.serving.version == $v0
    and (.retrain.candidate["ndcg@10"]|type) == "number" and (.retrain.serving["ndcg@10"]|type) == "number"
    and .retrain.judged_users > 0 and .retrain.margin == 0.02 and (.retrain.cutoff|type) == "number"' "$M"
check "manifest: the promoted version was rebuilt on every event" \
  jqt '.retrain.saved_model | test("rebuilt on every event")' "$M"
check "retrain: a log line with the decision and both figures" \
  grep -q "candidate ndcg@10 [0-9.]*, serving $V0 [0-9.]* -> promote" "$TMP/rt1.err"
"$MIXREC" recommend --model "$TMP/root" --user u_new >"$TMP/r2.out" 2>&1
check "after retrain: u_new is known, with long-term interests" \
  bash -c "! grep -q 'not in the model' '$TMP/r2.out' && grep -q '^interests' '$TMP/r2.out' && grep -q 'long-term' '$TMP/r2.out'"

# ---- nothing new -----------------------------------------------------------------
"${RT[@]}" >/dev/null 2>"$TMP/rt2.err"
rc=$?
check "retrain, nothing new: exit 3 (kept), says so" \
  bash -c "test $rc = 3 && grep -q 'no new events' '$TMP/rt2.err' && grep -q 'nothing new since the last run' '$TMP/rt2.err'"
check "retrain, nothing new: CURRENT unchanged" test "$(cat "$TMP/root/CURRENT")" = "$V1"
check "retrain, nothing new: no second export file" test ! -e "$TMP/root/retrain/events-2.jsonl"

# ---- new events again: --keep 2 prunes ----------------------------------------------
sleep 1 # a new version name (second resolution)
for k in 1 2 3 4; do
  R XADD mixrec:events '*' user u_new item "i$((k * 17))" type click ts $t >/dev/null
  t=$((t + 10))
done
"${RT[@]}" >/dev/null 2>"$TMP/rt3.err"
rc=$?
check "retrain, 4 new events: exit 0 or 3 (exit $rc)" bash -c "test $rc = 0 || test $rc = 3"
check "retrain: the second export has 4 events" test "$(wc -l <"$TMP/root/retrain/events-2.jsonl")" = 4
n_versions=$(find "$TMP/root" -mindepth 2 -maxdepth 2 -name manifest.json | wc -l)
check "--keep 2: 2 versions left ($n_versions)" test "$n_versions" = 2
check "--keep 2: the first version was pruned, the log says so" \
  bash -c "test ! -e '$TMP/root/$V0' && grep -q 'pruned .*$V0' '$TMP/rt3.err'"
check "--keep 2: CURRENT is a kept version" test -e "$TMP/root/$(cat "$TMP/root/CURRENT")/manifest.json"

# ---- many exports are compacted into one archive ----------------------------------------
RD=$TMP/root/retrain
for k in $(seq 3 34); do
  echo "{\"user\":\"u_c$k\",\"item\":\"i$k\",\"type\":\"click\",\"ts\":$((t + k)),\"stream_id\":\"1-$k\"}" >"$RD/events-$k.jsonl"
done
jq '.seq = 34' "$RD/state.json" >"$RD/state.new" && mv "$RD/state.new" "$RD/state.json"
"${RT[@]}" >/dev/null 2>"$TMP/rt7.err"
rc=$?
check "retrain: 34 exports compacted into events-archive.jsonl (exit $rc)" \
  bash -c "(test $rc = 0 || test $rc = 3) && grep -q 'compacted 34 exports' '$TMP/rt7.err' &&
    test \$(wc -l <'$RD/events-archive.jsonl') = \$((68 + 4 + 32)) && ! ls '$RD'/events-[0-9]*.jsonl 2>/dev/null"
check "retrain: the archive is a source of the build" grep -q "source 2: .*events-archive.jsonl: JSON lines.*104 rows" "$TMP/rt7.err"
check "retrain: state judged the compacted exports" jqt '.seq == 34 and .judged_seq == 34' "$RD/state.json"

# ---- a worse candidate is kept ---------------------------------------------------------
# the synthetic log split in time: the serving model on the first 85%, the
# rest arrives through another stream; a candidate built with crippled
# settings (2 dimensions, 1 ALS iteration, 2 interests) must lose on it
N=$(($(wc -l <"$BASE") - 1))
head -1 "$BASE" >"$TMP/base85.csv"
tail -n +2 "$BASE" | sort -t, -k3,3n >"$TMP/sorted.csv"
head -n $((N * 85 / 100)) "$TMP/sorted.csv" >>"$TMP/base85.csv"
tail -n +$((N * 85 / 100 + 1)) "$TMP/sorted.csv" | awk -F, '{
  n = split("XADD mixrec:late * user " $1 " item " $2 " type click ts " $3, a, " ")
  printf "*%d\r\n", n; for (i = 1; i <= n; i++) printf "$%d\r\n%s\r\n", length(a[i]), a[i] }' |
  redis-cli -s "$TMP/redis.sock" --pipe >/dev/null
"$MIXREC" build --interactions "$TMP/base85.csv" "${SETS[@]}" --out "$TMP/late" >/dev/null 2>&1
VL=$(cat "$TMP/late/CURRENT")
"$MIXREC" retrain --model "$TMP/late" --base "$TMP/base85.csv" --redis "$URL" --key mixrec:late \
  "${SETS[@]}" --set embed.dim=2 --set embed.iters=1 --set interests.count=2 >/dev/null 2>"$TMP/rt8.err"
rc=$?
check "retrain, a worse candidate: exit 3 (kept), CURRENT unchanged" \
  bash -c "test $rc = 3 && test \"\$(cat '$TMP/late/CURRENT')\" = '$VL' && grep -q 'retrain: kept $VL' '$TMP/rt8.err'"
VK=$(ls "$TMP/late" | grep -vx -e retrain -e CURRENT -e "$VL" | head -1)
check "retrain, a worse candidate: saved ($VK), not served; its manifest says keep with both figures" \
  jqt '.retrain.decision == "keep" and .retrain.candidate["ndcg@10"] < .retrain.serving["ndcg@10"]
    and .retrain.judged_users > 10 and (.retrain.saved_model|test("judged candidate"))' "$TMP/late/$VK/manifest.json"
"$MIXREC" retrain --model "$TMP/late" --base "$TMP/base85.csv" --redis "$URL" --key mixrec:late \
  "${SETS[@]}" >/dev/null 2>"$TMP/rt9.err"
rc=$?
check "retrain after a kept run: nothing new (exit 3)" bash -c "test $rc = 3 && grep -q 'nothing new' '$TMP/rt9.err'"

# ---- a root with no model yet: the first version is promoted ----------------------------
"$MIXREC" retrain --model "$TMP/fresh" --base "$BASE" --redis "$URL" "${SETS[@]}" >/dev/null 2>"$TMP/rt5.err"
rc=$?
check "retrain on an empty root: promotes (exit $rc), reason: no serving version" \
  bash -c "test $rc = 0 && test -s '$TMP/fresh/CURRENT' && grep -q 'promoted .*no serving version' '$TMP/rt5.err'"
check "retrain on an empty root: the manifest says there was nothing to judge against" \
  jqt '.retrain.decision == "promote" and .retrain.serving == null' "$TMP/fresh/$(cat "$TMP/fresh/CURRENT")/manifest.json"

# ---- one run per root -----------------------------------------------------------------
exec 9>"$TMP/root/retrain/lock"
flock 9
"${RT[@]}" >/dev/null 2>"$TMP/rt6.err"
rc=$?
exec 9>&-
check "retrain: a second run on the same root fails clearly (exit $rc)" \
  bash -c "test $rc = 1 && grep -q 'another .mixrec retrain. runs' '$TMP/rt6.err'"

# ---- trimming past the last export is reported ------------------------------------------
LASTX=$(jq -r .last_id "$TMP/root/retrain/state.json")
for k in 1 2 3; do R XADD mixrec:events '*' user u1 item "i$k" type view ts $t >/dev/null; done
R XTRIM mixrec:events MAXLEN 1 >/dev/null
"$MIXREC" export --redis "$URL" --from "$LASTX" >"$TMP/e11.jsonl" 2>"$TMP/e11.err"
check "export: entries trimmed before the export are reported as a gap" \
  bash -c "test \$(wc -l <'$TMP/e11.jsonl') = 1 && grep -q 'trimmed past --from' '$TMP/e11.err'"

# ---- Redis down ------------------------------------------------------------------------
VB=$(cat "$TMP/root/CURRENT")
stop_redis
"${RT[@]}" >/dev/null 2>"$TMP/rt4.err"
rc=$?
check "retrain, Redis down: exit 1 with a clear message" \
  bash -c "test $rc = 1 && grep -q 'cannot connect to Redis at unix:' '$TMP/rt4.err'"
check "retrain, Redis down: CURRENT unchanged" test "$(cat "$TMP/root/CURRENT")" = "$VB"

# ---- the loop: a failed run is logged, SIGTERM stops it ---------------------------------
"${RT[@]}" --every 1s >/dev/null 2>"$TMP/loop.err" &
LOOP=$!
LIB_PIDS+=("$LOOP")
for _ in $(seq 50); do
  [ "$(grep -c 'retrain: failed' "$TMP/loop.err")" -ge 2 ] && break
  sleep 0.1
done
check "--every: failed runs are logged and the loop goes on" \
  test "$(grep -c 'retrain: failed' "$TMP/loop.err")" -ge 2
kill -TERM "$LOOP"
stopped=0
for _ in $(seq 50); do
  kill -0 "$LOOP" 2>/dev/null || { stopped=1; break; }
  sleep 0.1
done
wait "$LOOP" 2>/dev/null
rc=$?
check "--every: SIGTERM stops it cleanly (exit $rc)" bash -c "test $stopped = 1 && test $rc = 0 && grep -q 'stopped by a signal' '$TMP/loop.err'"
"$MIXREC" retrain --model "$TMP/root" --redis "$URL" >/dev/null 2>"$TMP/u.err"
check "retrain without --base: usage error" bash -c "test \$? = 2 || true; grep -q -- '--base LOG is required' '$TMP/u.err'"
[ -n "${SHOW_LOGS:-}" ] && grep "judged\|window" "$TMP"/rt*.err
finish
