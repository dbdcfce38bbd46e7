#!/usr/bin/env bash
# test_slates.sh - the ranker learns from logged slates, end to end: a tiny
# synth world, a model of its history, `mixrec synth --clicks` serving it
# to simulated users (impressions and events as JSON lines), then `mixrec
# build --impressions` training on the slates - or on the temporal split
# when there are too few - and saying which, in its output and manifest.
#   tests/test_slates.sh BUILD/mixrec
set -uo pipefail
MIXREC=$1
source "$(dirname "$0")/lib.sh"
W="$TMP/w"
WORLD=(--items 1500 --users 600 --interests 6 --seed 3)
SET=(--set rank_train.threads=1 --set embed.dim=16)

"$MIXREC" synth "${WORLD[@]}" --out "$W" >"$TMP/out" 2>&1 || { cat "$TMP/out"; exit 1; }
"$MIXREC" build --interactions "$W/interactions.csv" --items "$W/items.csv" "${SET[@]}" \
  --out "$TMP/m0" >"$TMP/b0.out" 2>"$TMP/b0.err" || { cat "$TMP/b0.err"; exit 1; }

# the simulated audience: both files, the export format, deterministic
"$MIXREC" synth "${WORLD[@]}" --out "$W" --clicks --model "$TMP/m0" --days 5 --click-seed 9 \
  >"$TMP/c.out" 2>"$TMP/c.err"
check "synth --clicks succeeds" test $? = 0
check "synth --clicks reports slates and expected clicks" grep -q "clicks per slate: .* expected" "$TMP/c.out"
check "impressions.jsonl written" test -s "$W/impressions.jsonl"
check "events.jsonl written" test -s "$W/events.jsonl"
check "an impression has the export format's fields" python3 -c '
import json, sys
o = json.loads(open(sys.argv[1]).readline())
assert o["route"] == "user_recommendations" and o["order"] in ("ranker", "retrieval")
assert isinstance(o["ts"], int) and o["user"].startswith("u") and len(o["recommendation_id"]) == 24
it = o["items"][0]
assert it["position"] == 0 and "score" in it and isinstance(it["sources"], list)' "$W/impressions.jsonl"
check "a click names its slate and position" python3 -c '
import json, sys
imp = {}
for l in open(sys.argv[1]):
    o = json.loads(l); imp[o["recommendation_id"]] = o
e = json.loads(open(sys.argv[2]).readline())
assert e["type"] == "click" and isinstance(e["ts"], int)
s = imp[e["recommendation_id"]]
assert s["items"][e["position"]]["item"] == e["item"] and s["user"] == e["user"]' \
  "$W/impressions.jsonl" "$W/events.jsonl"
cp "$W/impressions.jsonl" "$TMP/imp1"
"$MIXREC" synth "${WORLD[@]}" --out "$W" --clicks --model "$TMP/m0" --days 5 --click-seed 9 >/dev/null 2>&1
check "same seed, same slates" cmp -s "$W/impressions.jsonl" "$TMP/imp1"

# history + clicks, with the slates: trains on slates
(cat "$W/interactions.csv"; tail -n +2 "$W/clicks.csv") >"$W/all.csv"
"$MIXREC" build --interactions "$W/all.csv" --items "$W/items.csv" "${SET[@]}" \
  --set rank_train.min_slates=100 --set rank_train.slates_mix=0 --impressions "$W/impressions.jsonl" --out "$TMP/ms" \
  >"$TMP/bs.out" 2>"$TMP/bs.err"
check "build --impressions succeeds" test $? = 0 || cat "$TMP/bs.err"
check "build says it trained on slates" grep -q "ranker trained on: slates" "$TMP/bs.out"
check "the manifest says slates, with counts" python3 -c '
import json, sys, os
root = sys.argv[1]; v = open(os.path.join(root, "CURRENT")).read().strip()
r = json.load(open(os.path.join(root, v, "manifest.json")))["ranker"]
assert r["trained_on"] == "slates", r["trained_on"]
assert r["slates"]["used"] >= 100 and r["slates"]["read"] > r["slates"]["used"]' "$TMP/ms"

# slates_mix: both sets of examples
"$MIXREC" build --interactions "$W/all.csv" --items "$W/items.csv" "${SET[@]}" \
  --set rank_train.min_slates=100 \
  --impressions "$W/impressions.jsonl" --out "$TMP/mm" >"$TMP/bm.out" 2>"$TMP/bm.err"
check "by default (rank_train.slates_mix) build uses both" grep -q "trained on: slates + temporal split" "$TMP/bm.out"
check "... and so does the manifest" grep -q '"trained_on": *"slates+temporal"' "$TMP/mm/$(cat "$TMP/mm/CURRENT")/manifest.json"

# too few engaged slates for the setting: the temporal split, and why
"$MIXREC" build --interactions "$W/all.csv" --items "$W/items.csv" "${SET[@]}" \
  --set rank_train.min_slates=1000000 --impressions "$W/impressions.jsonl" --out "$TMP/mt" \
  >"$TMP/bt.out" 2>"$TMP/bt.err"
check "build with too few slates succeeds" test $? = 0
check "build says temporal and why" grep -q "trained on: temporal split (slates not used: .*min_slates" "$TMP/bt.out"
check "the manifest says temporal" grep -q '"trained_on": *"temporal"' "$TMP/mt/$(cat "$TMP/mt/CURRENT")/manifest.json"

# eval prints the ranker's training source
"$MIXREC" eval --interactions "$W/all.csv" --items "$W/items.csv" "${SET[@]}" --ks 10 \
  --impressions "$W/impressions.jsonl" >"$TMP/e.out" 2>"$TMP/e.err"
check "eval --impressions succeeds" test $? = 0
check "eval says what the ranker trained on" grep -q "ranker trained on: " "$TMP/e.out"
check "eval replays the held-out slates" grep -Eq "held-out slates .*: [1-9][0-9]* replayed" "$TMP/e.out"

# bad input: a clear message, no crash
"$MIXREC" build --interactions "$W/all.csv" --impressions "$TMP/missing.jsonl" --out "$TMP/x" \
  >"$TMP/x.out" 2>&1
check "a missing impressions file is exit 1" test $? = 1
check "... with a message naming it" grep -q "missing.jsonl" "$TMP/x.out"
"$MIXREC" synth "${WORLD[@]}" --out "$W" --clicks >"$TMP/x.out" 2>&1
check "--clicks without --model is a usage error" test $? = 2
finish
