#!/usr/bin/env bash
# test_loop.sh - the loop of issue 14 against a real `mixrec serve` and a
# real redis-server: every stored event is in its session and in the
# events stream (docs/streams.md), a client event_id is stored once,
# attribution fields travel with the event, and with Redis killed under a
# flood no event is acknowledged that is not in both places afterwards.
#   tests/test_loop.sh BUILD/mixrec
set -uo pipefail
MIXREC=$1
source "$(dirname "$0")/lib.sh"
LOOP_CLIENT="$(dirname "$0")/loop_client.py"
RCLI=(redis-cli -s "$TMP/redis.sock")

make_test_model
# Redis with an fsync'd append-only file, so a killed Redis comes back with
# every write it acknowledged (the test checks our acknowledgements, not
# Redis's durability settings).
start_durable_redis() {
  redis-server --port 0 --unixsocket "$TMP/redis.sock" --save "" --appendonly yes \
    --appendfsync always --dir "$TMP" >>"$TMP/redis.log" 2>&1 &
  REDIS_PID=$!
  for _ in $(seq 100); do
    "${RCLI[@]}" ping 2>/dev/null | grep -q PONG && return 0
    sleep 0.1
  done
  echo "redis-server did not start:"; cat "$TMP/redis.log"; exit 1
}
start_durable_redis
serve_start A --set "redis.url=unix:$TMP/redis.sock" --set redis.command_timeout_ms=500 \
  --set server.model_poll_s=1
BASE=$BASE_A
req() { # METHOD PATH [curl args...]: body $TMP/body, status $CODE
  local method=$1 path=$2; shift 2
  CODE=$(curl -s -m 10 -o "$TMP/body" -w '%{http_code}' -X "$method" "$@" "$BASE$path")
}
post_events() { req POST /v1/events -H 'Content-Type: application/json' -d "$1"; }
# stream_field N FIELD: the FIELD of the N-th entry (1-based) of mixrec:events
stream_json() { # the events stream as JSON lines of field objects
  "${RCLI[@]}" --no-raw xrange mixrec:events - + >/dev/null # (warm)
  python3 - "$TMP/redis.sock" <<'PY'
import json, subprocess, sys
out = subprocess.run(["redis-cli", "-s", sys.argv[1], "--json", "xrange", "mixrec:events", "-", "+"],
                     capture_output=True, text=True).stdout
for entry in json.loads(out or "[]"):
    f = entry[1]
    print(json.dumps({"stream_id": entry[0], **dict(zip(f[::2], f[1::2]))}))
PY
}
user=$(sed -n 2p "$TMP/syn/interactions.csv" | cut -d, -f1)
item=$(sed -n 2p "$TMP/syn/interactions.csv" | cut -d, -f2)

# ---- every stored event: session and stream, in one write ----------------
rid=$(curl -s "$BASE/v1/users/$user/recommendations?k=5" | jq -r .recommendation_id)
post_events "[{\"user\":\"$user\",\"item\":\"$item\",\"type\":\"click\"},
  {\"user\":\"loop-u1\",\"item\":\"$item\",\"type\":\"like\",\"ts\":1700000000,\"event_id\":\"ev-1\",
   \"recommendation_id\":\"$rid\",\"position\":4}]"
check "two events stored" jqt '.accepted == 2 and .stored == 2 and .duplicates == []' "$TMP/body"
stream_json >"$TMP/stream.jsonl"
check "both are in the events stream" test "$(wc -l <"$TMP/stream.jsonl")" = 2
check "the stream entry carries the API's fields" jqt -s --arg u "$user" --arg i "$item" \
  '.[0].user == $u and .[0].item == $i and .[0].type == "click" and (.[0].ts | test("^[0-9]+$"))
   and (.[0] | has("event_id") | not)' "$TMP/stream.jsonl"
check "event_id, recommendation_id and position travel with the event" jqt -s \
  '.[1].user == "loop-u1" and .[1].ts == "1700000000" and .[1].event_id == "ev-1"
   and .[1].recommendation_id == $rid and .[1].position == "4"' --arg rid "$rid" "$TMP/stream.jsonl"
check "and both are in the sessions" test "$("${RCLI[@]}" llen "mixrec:session:$user")$("${RCLI[@]}" llen mixrec:session:loop-u1)" = 11

# ---- a retried batch is stored once -----------------------------------------
retry="[{\"user\":\"loop-u1\",\"item\":\"$item\",\"type\":\"like\",\"event_id\":\"ev-1\"},
  {\"user\":\"loop-u1\",\"item\":\"$item\",\"type\":\"view\",\"event_id\":\"ev-2\"},
  {\"user\":\"loop-u1\",\"item\":\"$item\",\"type\":\"view\",\"event_id\":\"ev-2\"},
  {\"user\":\"loop-u2\",\"item\":\"$item\",\"type\":\"view\",\"event_id\":\"ev-1\"}]"
post_events "$retry"
check "a retried event_id is a duplicate, one repeated in the batch too, ids are per user" \
  jqt '.accepted == 4 and .stored == 2 and .duplicates == [0, 2]' "$TMP/body"
post_events "$retry"
check "the same batch again: nothing new" jqt '.stored == 0 and .duplicates == [0, 1, 2, 3]' "$TMP/body"
check "the stream holds each event once" test "$("${RCLI[@]}" xlen mixrec:events)" = 4
check "so does the session" test "$("${RCLI[@]}" llen mixrec:session:loop-u1)" = 2
req GET /metrics
check "duplicates are counted" grep -q '^mixrec_events_total{outcome="duplicate"} 6$' "$TMP/body"
check "the stored count leaves them out" grep -q '^mixrec_events_total{outcome="stored"} 4$' "$TMP/body"
check "the attributed like is counted by the route and order of its answer" \
  grep -q '^mixrec_attributed_events_total{type="like",route="user_recommendations",order="[a-z]*"} 1$' "$TMP/body"
"$MIXREC" export --redis "unix:$TMP/redis.sock" --stream impressions --out "$TMP/imp.jsonl" 2>/dev/null
check "mixrec export writes the answer's impression with its recommendation_id" \
  jqt -s --arg r "$rid" 'map(select(.recommendation_id == $r)) | length == 1 and
    (.[0].route == "user_recommendations") and .[0].format == 2 and (.[0].items.item | length == 5)' "$TMP/imp.jsonl"
"$MIXREC" export --redis "unix:$TMP/redis.sock" --stream events --out "$TMP/ev.jsonl" 2>/dev/null
check "and the attributed event, with the API's field names" \
  jqt -s --arg r "$rid" 'map(select(.recommendation_id == $r)) | length == 1 and .[0].position == 4
    and .[0].user == "loop-u1" and .[0].ts == 1700000000' "$TMP/ev.jsonl"
check "the dedup key expires (log.event_id_window_s)" \
  test "$("${RCLI[@]}" ttl mixrec:event_id:loop-u1:ev-2)" -gt 86000

for bad in '"event_id":""' '"event_id":7' '"position":-1' '"position":"3"' '"position":200' \
  '"recommendation_id":"not a valid id"' '"campaign":"x"'; do
  post_events "[{\"user\":\"u\",\"item\":\"i\",\"type\":\"view\",$bad}]"
  check "refused with the reason: {$bad}" jqt '.error.code == "bad_events" and
    (.rejected[0].error | test("event_id|position|recommendation_id|unknown field"))' "$TMP/body"
done

# ---- a user who exists only in the events becomes known by retraining ------
# (no restart, no signal: the server watches CURRENT)
mapfile -t known_items < <(cut -d, -f2 "$TMP/syn/interactions.csv" | sed 1d | sort | uniq -c | sort -rn |
  awk 'NR > 20 && NR <= 32 {print $2}')
evs=$(printf '%s\n' "${known_items[@]}" | jq -R '{user: "loop-new", item: ., type: "like"}' | jq -s .)
post_events "$evs"
check "events of a new user stored" jqt '.stored == 12' "$TMP/body"
req GET /v1/users/loop-new/interests
check "before retraining the server does not know the user" jqt '.known_user == false' "$TMP/body"
v0=$(cat "$TMP/model/CURRENT")
"$MIXREC" retrain --model "$TMP/model" --base "$TMP/syn/interactions.csv" --items "$TMP/syn/items.csv" \
  --redis "unix:$TMP/redis.sock" --margin 1 --set embed.dim=16 --set interests.count=8 \
  >"$TMP/retrain.out" 2>&1
rc=$?
check "mixrec retrain promoted a new version (exit $rc)" test "$rc" = 0 -a "$(cat "$TMP/model/CURRENT")" != "$v0"
known=0
for _ in $(seq 150); do
  req GET /v1/users/loop-new/interests
  jqt '.known_user == true and (.long_term | length > 0)' "$TMP/body" && { known=1; break; }
  sleep 0.1
done
check "the server knows the user (long-term interests) without a restart" test "$known" = 1
check "and serves the new version" jqt --arg v "$(cat "$TMP/model/CURRENT")" '.model_version == $v' "$TMP/body"
bad=$TMP/model/broken-version
cp -r "$TMP/model/$(cat "$TMP/model/CURRENT")" "$bad"
printf '{' >"$bad/manifest.json"
good=$(cat "$TMP/model/CURRENT")
echo broken-version >"$TMP/model/CURRENT.tmp" && mv "$TMP/model/CURRENT.tmp" "$TMP/model/CURRENT"
refused=0
for _ in $(seq 100); do
  req GET /readyz
  jqt '.model_refused.version == "broken-version"' "$TMP/body" && { refused=1; break; }
  sleep 0.1
done
check "a broken version is refused and reported" test "$refused" = 1
check "the good one keeps answering" jqt --arg v "$good" '.model_version == $v' "$TMP/body"
req GET /v1/users/loop-new/recommendations?k=5
check "recommendations still 200 from it" test "$CODE" = 200
echo "$good" >"$TMP/model/CURRENT.tmp" && mv "$TMP/model/CURRENT.tmp" "$TMP/model/CURRENT"

# ---- Redis killed under a flood: nothing acknowledged is lost --------------
"${RCLI[@]}" del mixrec:events >/dev/null
cut -d, -f1 "$TMP/syn/interactions.csv" | sed 1d | sort -u | head -50 >"$TMP/users"
python3 "$LOOP_CLIENT" "$BASE" "$TMP/users" "$TMP" 8 &
flood=$!
sleep 2
{ kill -9 "$REDIS_PID"; wait "$REDIS_PID"; } 2>/dev/null
sleep 1.5
start_durable_redis
wait "$flood"
echo "  flood: $(cat "$TMP/summary.json"), acknowledged $(wc -l <"$TMP/acked"), refused $(wc -l <"$TMP/refused")"
check "the flood had acknowledged and refused events" \
  test "$(wc -l <"$TMP/acked")" -gt 100 -a "$(wc -l <"$TMP/refused")" -gt 0
check "recommendations kept coming (only 200s)" \
  jqt 'to_entries | map(select(.key | startswith("recs"))) | all(.key == "recs 200") and length == 1' "$TMP/summary.json"
stream_json | jq -r '.event_id' | sort >"$TMP/in_stream"
cut -f2 "$TMP/acked" | sort >"$TMP/acked_ids"
check "every acknowledged event is in the stream" \
  test "$(comm -23 "$TMP/acked_ids" "$TMP/in_stream" | wc -l)" = 0
missing_session=0
while IFS=$'\t' read -r u _ it; do
  "${RCLI[@]}" lrange "mixrec:session:$u" 0 -1 | grep -q "	$it\$" || missing_session=$((missing_session + 1))
done < <(shuf -n 300 --random-source=<(yes) "$TMP/acked")
check "and in its session (300 sampled, $missing_session missing)" test "$missing_session" = 0
check "nothing is in the stream that no session has" \
  test "$("${RCLI[@]}" --scan --pattern 'mixrec:session:flood-*' | wc -l)" -ge "$(wc -l <"$TMP/in_stream")"
# The client retries what was refused: what landed late is a duplicate now.
split -l 500 "$TMP/refused" "$TMP/retry."
retried_ok=1
for f in "$TMP"/retry.*; do
  jq -R -s 'split("\n") | map(select(length > 0) | split("\t") |
    {user: .[0], event_id: .[1], item: .[2], type: "click"})' "$f" >"$TMP/retry.json"
  CODE=$(curl -s -m 10 -o "$TMP/body" -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary @"$TMP/retry.json" "$BASE/v1/events")
  [ "$CODE" = 200 ] || retried_ok=0
done
check "the refused events retried: all acknowledged" test "$retried_ok" = 1
stream_json | jq -r '.event_id' | sort >"$TMP/in_stream"
check "now every event of the flood is in the stream exactly once ($(wc -l <"$TMP/in_stream"))" \
  test "$(wc -l <"$TMP/in_stream")" = "$(cat "$TMP/acked" "$TMP/refused" | wc -l)" -a \
  "$(uniq -d "$TMP/in_stream" | wc -l)" = 0
req GET /metrics
check "impressions lost while Redis was down are counted" \
  grep -q '^mixrec_impressions_dropped_total [1-9]' "$TMP/body"
check "the server is alive" curl -sf -o /dev/null "$BASE/healthz"

finish
