#!/usr/bin/env bash
# test_eval_logged.sh - `mixrec eval-logged` end to end (issue 16): a small
# synth world and model; a hand-made log with propensities whose figures
# are computed by hand (IPS, SNIPS, ESS, coverage, the interval); the
# refusals (exit 3 with the reason); the session rebuilt from the events
# (an expired one is not read, a live one is); a log served in-process by
# `mixrec synth --clicks`, replayed exactly (every slot matched, IPS equal
# to the logged click-through); both formats of items giving the same
# result; and bad input.
#   tests/test_eval_logged.sh BUILD/mixrec
set -uo pipefail
MIXREC=$1
source "$(dirname "$0")/lib.sh"
W="$TMP/w"
M="$TMP/m"
WORLD=(--items 1500 --users 600 --interests 6 --seed 3)

"$MIXREC" synth "${WORLD[@]}" --out "$W" >"$TMP/out" 2>&1 || { cat "$TMP/out"; exit 1; }
"$MIXREC" build --interactions "$W/interactions.csv" --items "$W/items.csv" --set embed.dim=16 \
  --set rank_train.threads=1 --out "$M" >"$TMP/b.out" 2>"$TMP/b.err" || { cat "$TMP/b.err"; exit 1; }

# expect CODE NAME CMD...: runs CMD (stdout in $TMP/out, stderr in $TMP/err)
expect() {
  local code=$1 name=$2; shift 2
  "$@" >"$TMP/out" 2>"$TMP/err"
  local got=$?
  if [ "$got" = "$code" ]; then ok "$name (exit $got)"; else
    fail "$name: exit $got, expected $code"; sed 's/^/    /' "$TMP/err" | tail -5; fi
}
has() { grep -q -- "$2" "$1" || { echo "  $1 lacks '$2':"; sed 's/^/    /' "$1" | head -10; return 1; }; }
near() { python3 -c 'import sys; a, b, t = map(float, sys.argv[1:]); sys.exit(abs(a - b) > t)' "$@"; }
EVAL=("$MIXREC" eval-logged --model "$M")

# ---- a hand-made log --------------------------------------------------------------
# The target (the built-in settings, no session) answers each user as
# `mixrec recommend` does; the log shows those answers with a few changes.
for u in u1 u2 u3 u4; do
  "$MIXREC" recommend --model "$M" --user $u --k 8 --json | jq -c '[.items[].item]' >"$TMP/$u.json"
done
python3 - "$TMP" <<'EOF'
import json, sys
d = sys.argv[1]
top = {u: json.load(open(f"{d}/{u}.json")) for u in ("u1", "u2", "u3", "u4")}
T = 1700000000  # seconds
# (user, items shown, propensities, clicked positions); a change takes the user's 8th item
slates = [
    ("u1", top["u1"][:5], [1, 1, 0.5, 1, 0.25], [0, 4]),                    # S 5, W 9
    ("u2", top["u2"][:2] + [top["u2"][7]] + top["u2"][3:5], [1, 1, 0.5, 1, 0.5], [2, 4]),  # S 2, W 5
    ("u3", top["u3"][:5], [1, 1, 1, 1, 1], [1]),                            # S 1, W 5
    ("u4", top["u4"][:3] + [top["u4"][7], top["u4"][4]], [1, 1, 1, 1, 1], [3]),  # S 0, W 4; unsupported
]
with open(f"{d}/imp.jsonl", "w") as f, open(f"{d}/ev.jsonl", "w") as g:
    for n, (u, items, prop, clicks) in enumerate(slates):
        rid = f"hand-{n}"
        its = [{"item": it, "position": j, "score": 1 / (1 + j), "propensity": p}
               for j, (it, p) in enumerate(zip(items, prop))]
        if n == 2:  # an old log's line: no propensities (1)
            for it in its: del it["propensity"]
        f.write(json.dumps({"recommendation_id": rid, "ts": (T + n) * 1000, "user": u,
                            "route": "user_recommendations", "order": "ranker", "items": its}) + "\n")
        for j in clicks:
            for _ in range(2):  # a click twice counts once
                g.write(json.dumps({"user": u, "item": items[j], "type": "click", "ts": T + n + 5,
                                    "recommendation_id": rid, "position": j}) + "\n")
        # a view on the slate is not a click
        g.write(json.dumps({"user": u, "item": items[0], "type": "view", "ts": T + n + 3,
                            "recommendation_id": rid, "position": 0}) + "\n")
    # u3 viewed its second item 25 hours before: the session expired (session.ttl_s 1 day)
    g.write(json.dumps({"user": "u3", "item": top["u3"][1], "type": "view", "ts": T - 90000}) + "\n")
    g.write(json.dumps({"user": "u9", "item": "i1", "type": "click", "ts": T,
                        "recommendation_id": "elsewhere"}) + "\n")
    g.write("not json\n")
EOF
LIMITS=(--min-matched 10 --min-ess 5 --min-clicks 3 --max-unsupported 0.1)
expect 0 "hand-made log: an estimate" "${EVAL[@]}" --impressions "$TMP/imp.jsonl" \
  --events "$TMP/ev.jsonl" "${LIMITS[@]}" --json
cp "$TMP/out" "$TMP/hand.json"
# by hand: S = 5, 2, 1, 0 over 4 slates of 5 slots; W = 9, 5, 5, 4; sum w^2 = 23 + 7 + 5 + 4
check "counts: 4 slates, 18 of 20 slots matched, 1 unsupported, 6 clicks" \
  jqt '.slates == 4 and .slots == 20 and .matched == 18 and .unsupported == 1 and .clicks == 6
       and .matched_clicks == 4 and .trusted == true and .reason == ""' "$TMP/hand.json"
check "IPS = 8 / 20" near "$(jq .ips "$TMP/hand.json")" 0.4 1e-9
check "SNIPS = 8 / 23" near "$(jq .snips "$TMP/hand.json")" "$(python3 -c 'print(8/23)')" 1e-9
check "ESS = 23^2 / 39" near "$(jq .ess "$TMP/hand.json")" "$(python3 -c 'print(529/39)')" 1e-9
check "coverage 0.9, logged click-through 0.3" jqt '.coverage == 0.9 and .logged_ctr == 0.3' "$TMP/hand.json"
# residuals S - 0.4 * 5 = 3, 0, -1, -2: se = sqrt(14 / 12) / 5; the lower end is clamped at 0
check "IPS interval [0, 0.4 + 1.96 se]" near "$(jq '.ips_ci[1]' "$TMP/hand.json")" \
  "$(python3 -c 'print(0.4 + 1.959963984540054 * (14 / 12) ** 0.5 / 5)')" 1e-9
check "IPS interval starts at 0" jqt '.ips_ci[0] == 0' "$TMP/hand.json"
check "SNIPS interval around SNIPS" jqt '.snips_ci[0] < .snips and .snips < .snips_ci[1]' "$TMP/hand.json"
check "no session read (u3's view expired)" jqt '.replay.with_session == 0' "$TMP/hand.json"
check "a click on another answer is not attributed" jqt '.replay.clicks_attributed == 6' "$TMP/hand.json"
# the same log with items as columns (format 2, what the server writes): the same result
imp_as_columns <"$TMP/imp.jsonl" >"$TMP/imp2.jsonl"
check "the hand-made log in format 2 has columns" jqt -s 'all(.[]; .format == 2 and (.items | type) == "object")' \
  "$TMP/imp2.jsonl"
expect 0 "the hand-made log as columns" "${EVAL[@]}" --impressions "$TMP/imp2.jsonl" \
  --events "$TMP/ev.jsonl" "${LIMITS[@]}" --json
check "... gives the same result as the array form" cmp -s "$TMP/out" "$TMP/hand.json"
expect 0 "the table" "${EVAL[@]}" --impressions "$TMP/imp.jsonl" --events "$TMP/ev.jsonl" "${LIMITS[@]}"
check "the table gives IPS and SNIPS" has "$TMP/out" "target, IPS       0.4000"
check "the table says deterministic" has "$TMP/out" "deterministic: exploration off"

# a session of 100,000 s keeps u3's view: the target leaves that item out and differs
expect 0 "a live session is read" "${EVAL[@]}" --impressions "$TMP/imp.jsonl" --events "$TMP/ev.jsonl" \
  --min-matched 1 --min-ess 1 --min-clicks 1 --max-unsupported 1 --set session.ttl_s=100000 --json
check "u3's slate is answered with its session" jqt '.replay.with_session == 1 and .matched < 18' "$TMP/out"
# the session is what the server had stored (stream_id) before the slate, whatever the event's ts
python3 - "$TMP" <<'EOF'
import json, sys
d = sys.argv[1]
with open(f"{d}/ev.jsonl") as f, open(f"{d}/ev_stored.jsonl", "w") as g:
    for line in f:
        try: o = json.loads(line)
        except ValueError: continue
        if o["user"] == "u3" and o["type"] == "view" and "recommendation_id" not in o:
            o["stream_id"] = f"{(1700000000 + 2) * 1000 - 500}-0"  # stored 0.5 s before u3's slate
        g.write(json.dumps(o) + "\n")
EOF
expect 0 "an event stored just before the slate is in its session" "${EVAL[@]}" \
  --impressions "$TMP/imp.jsonl" --events "$TMP/ev_stored.jsonl" --min-matched 1 --min-ess 1 \
  --min-clicks 1 --max-unsupported 1 --json
check "...by its stream_id, not its old ts" jqt '.replay.with_session == 1 and .matched < 18' "$TMP/out"

# ---- refusals: exit 3, the reason, no number ------------------------------------------
expect 3 "default limits: too few matched slots" "${EVAL[@]}" --impressions "$TMP/imp.jsonl" \
  --events "$TMP/ev.jsonl" --json
check "--json: untrusted, no number" jqt '.trusted == false and .verdict == "few_matched"
  and .ips == null and .ips_ci == null and .snips == null and .snips_ci == null
  and .matched == 18 and .ess > 13' "$TMP/out"
check "the reason says what to do" jqt '.reason | test("explore.share")' "$TMP/out"
check "stderr says why" has "$TMP/err" "no estimate (few_matched)"
expect 3 "unsupported slots above the limit" "${EVAL[@]}" --impressions "$TMP/imp.jsonl" \
  --events "$TMP/ev.jsonl" "${LIMITS[@]}" --max-unsupported 0.01
check "the table gives no number" has "$TMP/out" "target, IPS       not given: unsupported"
check "stderr names the deterministic placements" has "$TMP/err" "propensity 1"
expect 3 "effective sample size below --min-ess" "${EVAL[@]}" --impressions "$TMP/imp.jsonl" \
  --events "$TMP/ev.jsonl" "${LIMITS[@]}" --min-ess 14
check "stderr gives the ESS" has "$TMP/err" "effective sample size is 13.6"
expect 3 "a different target on a log without exploration" "${EVAL[@]}" \
  --impressions "$TMP/imp.jsonl" --events "$TMP/ev.jsonl" "${LIMITS[@]}" --set ranking.enabled=false --json
check "...is unsupported" jqt '.verdict == "unsupported" and .unsupported > 1' "$TMP/out"

# ---- a log served in-process (synth --clicks), replayed exactly -------------------------
# synth serves with sessions of clicks weighted 1, a second slate 120 s after a click;
# with the same settings the target is the policy that ran: every slot matches
cp -r "$W" "$TMP/w1"
"$MIXREC" synth "${WORLD[@]}" --out "$TMP/w1" --clicks --model "$M" --days 1 --click-seed 9 \
  >"$TMP/c.out" 2>&1 || { cat "$TMP/c.out"; exit 1; }
expect 0 "the policy that ran, replayed" "${EVAL[@]}" --impressions "$TMP/w1/impressions.jsonl" \
  --events "$TMP/w1/events.jsonl" --set session.ttl_s=300 --set events.click=1 --min-clicks 1 --json
check "every slot matched, IPS = SNIPS = the logged click-through" \
  jqt '.coverage == 1 and .unsupported == 0 and .ips == .logged_ctr and .snips == .logged_ctr
       and .ips_ci == .logged_ctr_ci and .ess == .slots and .replay.with_session > 0' "$TMP/out"
check "the clicks are synth's" jqt ".clicks == $(wc -l <"$TMP/w1/events.jsonl")" "$TMP/out"
cp "$TMP/out" "$TMP/w1.json"
imp_as_columns <"$TMP/w1/impressions.jsonl" >"$TMP/w1/imp2.jsonl"
expect 0 "synth's log as columns (format 2)" "${EVAL[@]}" --impressions "$TMP/w1/imp2.jsonl" \
  --events "$TMP/w1/events.jsonl" --set session.ttl_s=300 --set events.click=1 --min-clicks 1 --json
check "... gives the same result as the array form" cmp -s "$TMP/out" "$TMP/w1.json"

# ---- bad input ---------------------------------------------------------------------------
expect 0 "--help" "$MIXREC" eval-logged --help
for flag in --impressions --events --config --set --min-ess --min-matched --max-unsupported --json; do
  check "--help documents $flag" has "$TMP/out" "$flag"
done
check "--help says the target is deterministic" has "$TMP/out" "exploration off"
expect 2 "no --events" "${EVAL[@]}" --impressions "$TMP/imp.jsonl"
expect 2 "bad --min-ess" "${EVAL[@]}" --impressions "$TMP/imp.jsonl" --events "$TMP/ev.jsonl" --min-ess x
expect 1 "missing impressions file" "${EVAL[@]}" --impressions "$TMP/nope.jsonl" --events "$TMP/ev.jsonl"
check "names the file" has "$TMP/err" "nope.jsonl"
expect 1 "missing events file" "${EVAL[@]}" --impressions "$TMP/imp.jsonl" --events "$TMP/nope.jsonl"
check "names the file" has "$TMP/err" "nope.jsonl"
expect 1 "events given as impressions" "${EVAL[@]}" --impressions "$TMP/ev.jsonl" --events "$TMP/ev.jsonl"
check "says there is no slate" has "$TMP/err" "no slate"
echo '{"ranking": {"enabledd": false}}' >"$TMP/bad.json"
expect 2 "unknown setting in --config" "${EVAL[@]}" --impressions "$TMP/imp.jsonl" --events "$TMP/ev.jsonl" --config "$TMP/bad.json"
check "names the setting" has "$TMP/err" "enabledd"
echo '{"ranking": ' >"$TMP/broken.json"
expect 2 "broken --config" "${EVAL[@]}" --impressions "$TMP/imp.jsonl" --events "$TMP/ev.jsonl" --config "$TMP/broken.json"
expect 2 "bad --set" "${EVAL[@]}" --impressions "$TMP/imp.jsonl" --events "$TMP/ev.jsonl" --set ranking.mmr_lambda=7
check "names the setting" has "$TMP/err" "ranking.mmr_lambda"
expect 1 "missing model" "$MIXREC" eval-logged --model "$TMP/nomodel" --impressions "$TMP/imp.jsonl" --events "$TMP/ev.jsonl"
printf '{"ts":1,"user":"u1","items":[{"item":"zz1"},{"item":"zz2"}]}\n' >"$TMP/alien.jsonl"
expect 1 "a model that knows none of the logged items" "${EVAL[@]}" --impressions "$TMP/alien.jsonl" --events "$TMP/ev.jsonl"
check "says so" has "$TMP/err" "knows none of the 2 logged items"
printf '{"ts":1,"user":"u1","items":[{"item":"i1","propensity":0}]}\n' >"$TMP/zero.jsonl"
expect 1 "only slates with bad propensities" "${EVAL[@]}" --impressions "$TMP/zero.jsonl" --events "$TMP/ev.jsonl"
check "counts the bad propensity" has "$TMP/err" "1 with a bad propensity"
finish
