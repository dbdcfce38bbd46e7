#!/usr/bin/env bash
# test_tune.sh - issue 17 on small worlds, in seconds: the evaluation worlds
# (`mixrec synth --world`) and the directions the README's table shows on
# the large ones; `mixrec tune` (its table, its settings file, the same
# choice for the same seed, bad input) and `mixrec build --tune`.
#   tests/test_tune.sh BUILD/mixrec
set -uo pipefail
MIXREC=$1
source "$(dirname "$0")/lib.sh"
FAST=(--set rank_train.threads=2 --set embed.iters=8)

expect() { # CODE NAME CMD...: stdout in $TMP/out, stderr in $TMP/err
  local code=$1 name=$2; shift 2
  "$@" >"$TMP/out" 2>"$TMP/err"
  local got=$?
  if [ "$got" = "$code" ]; then ok "$name (exit $got)"; else
    fail "$name: exit $got, expected $code"; sed 's/^/    /' "$TMP/err" | tail -5; fi
}
# check NAME PYTHON-EXPRESSION over the eval JSON files loaded as dicts
check() {
  local name=$1 expr=$2
  if python3 - "$TMP" "$expr" <<'EOF'; then ok "$name"; else fail "$name"; fi
import json, sys, glob, os
d = {os.path.basename(p)[:-len(".ev.json")]: json.load(open(p))["methods"] for p in glob.glob(sys.argv[1] + "/*.ev.json")}
r = lambda w, m, k: d[w][m][k]
best = lambda w, k: max(d[w][s][k] for s in ("popular", "single", "mixture"))
ok = eval(sys.argv[2])
if not ok:
    for w in sorted(d):
        print("    %s: " % w + ", ".join("%s %.4f/%.4f" % (m, d[w][m]["ndcg@10"], d[w][m]["recall@100"]) for m in d[w]))
sys.exit(0 if ok else 1)
EOF
}

# ---- the worlds ---------------------------------------------------------------------
for w in interest trend sparse; do
  "$MIXREC" synth --world $w --items 3000 --users 1500 --interests 12 --seed 3 --out "$TMP/$w" \
    >/dev/null 2>&1 || fail "synth --world $w"
  "$MIXREC" eval --interactions "$TMP/$w/interactions.csv" --ks 10,100 --json "${FAST[@]}" \
    >"$TMP/$w.ev.json" 2>"$TMP/$w.err" || { fail "eval $w"; cat "$TMP/$w.err"; }
done
python3 - "$TMP" <<'EOF' && ok "worlds: interest has 2-4 interests a user, trend a weekly top 30 with most events, sparse 3-8 events" || fail "world shapes"
import csv, sys, collections
t = sys.argv[1]
n = collections.Counter(r["user"] for r in csv.DictReader(open(t + "/interest/truth.csv")))
assert min(n.values()) >= 2 and max(n.values()) <= 4, n.most_common(1)
ev = collections.Counter(r["user"] for r in csv.DictReader(open(t + "/sparse/interactions.csv")))
assert min(ev.values()) >= 3 and max(ev.values()) <= 8
weeks = collections.defaultdict(collections.Counter)
rows = list(csv.DictReader(open(t + "/trend/interactions.csv")))
for r in rows:
    weeks[int(r["timestamp"]) // (7 * 86400)][r["item"]] += 1
top = sum(sum(c for _, c in w.most_common(30)) for w in weeks.values())
assert top > 0.5 * len(rows), top / len(rows)
EOF
check "the pool never loses its best source: recall@100 >= 0.95x the best of popular/single/mixture on every world" \
  'all(r(w, "pool", "recall@100") >= 0.95 * best(w, "recall@100") for w in d)'
check "where popularity is noise (interest) the fused top 100 loses to the single vector, the pool does not" \
  'r("interest", "blend", "recall@100") < 0.8 * r("interest", "single", "recall@100") <= r("interest", "pool", "recall@100")'
check "the ranked answer keeps what the pool finds: ranked recall@100 >= 0.9x the single vector's where popularity is noise" \
  'r("interest", "ranked", "recall@100") >= 0.9 * r("interest", "single", "recall@100")'
check "with the built-in defaults the answer's NDCG@10 is at least 0.9x the best single source's on every world" \
  'all(r(w, "ranked", "ndcg@10") >= 0.9 * best(w, "ndcg@10") for w in d)'

# ---- mixrec tune ------------------------------------------------------------------------
W="$TMP/sparse"
TUNE=("$MIXREC" tune --interactions "$W/interactions.csv" "${FAST[@]}" --trials 4 --seed 5)
expect 0 "tune: 4 trials on the sparse world" "${TUNE[@]}" --out "$TMP/t1.json"
cp "$TMP/out" "$TMP/t1.txt"
grep -q "changed from the best so far" "$TMP/t1.txt" && [ "$(grep -cE '^ +[0-9]+  ' "$TMP/t1.txt")" = 4 ] &&
  grep -q "cut by the budget" "$TMP/t1.txt" && grep -q "^chosen: embed.dim=" "$TMP/t1.txt" &&
  ok "tune: a table of 4 trials, says the cap cut it, prints the choice" ||
  { fail "tune table"; cat "$TMP/t1.txt"; }
python3 - "$TMP/t1.json" <<'EOF' && ok "tune: the file has every searched setting and _tuned (fingerprint, split, objective, score)" || fail "tune file"
import json, sys
f = json.load(open(sys.argv[1]))
t = f["_tuned"]
assert t["by"] == "mixrec tune" and len(t["data"]["interactions_fnv"]) == 16
assert t["split"]["valid_events"] > 0 and t["split"]["held_out_events"] > 0
assert t["split"]["valid_cutoff"] <= t["split"]["cutoff"]
assert "NDCG@10" in t["objective"] and "0.95x" in t["constraint"]
assert t["search"]["trials"] == 4 and t["search"]["complete"] is False and t["search"]["seed"] == 5
for k in ("ndcg@10", "recall@10", "pool_recall@100", "best_source_recall@100"):
    assert 0 <= t["best"][k] <= 1 and 0 <= t["start"][k] <= 1
for sec, key in (("embed", "dim"), ("embed", "alpha"), ("mixture", "k0"), ("popularity", "half_life_days"),
                 ("retrieval", "share_popular"), ("rank_train", "pool"), ("embed", "seed")):
    assert key in f[sec], (sec, key)
EOF
expect 0 "tune: the same seed again" "${TUNE[@]}" --out "$TMP/t2.json"
python3 - "$TMP/t1.json" "$TMP/t2.json" <<'EOF' && ok "tune: the same seed gives the same settings and figures" || fail "tune not reproducible"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
for x in (a, b):
    for k in ("date",):
        x["_tuned"].pop(k)
    x["_tuned"]["search"].pop("seconds")
assert a == b, (a["_tuned"]["best"], b["_tuned"]["best"])
EOF
expect 0 "build --config the tuned file" "$MIXREC" build --interactions "$W/interactions.csv" \
  --config "$TMP/t1.json" "${FAST[@]}" --out "$TMP/m1"
expect 0 "bench times the union pool (blend) of the tuned model" "$MIXREC" bench --model "$TMP/m1" \
  --methods blend,features,recommend --k 30 --queries 50 --warmup 5
expect 0 "build --tune --budget 20s" "$MIXREC" build --interactions "$W/interactions.csv" \
  "${FAST[@]}" --tune --budget 20s --out "$TMP/m2"
[ -s "$TMP/m2/tuned.json" ] && grep -q "changed from the best so far" "$TMP/err" &&
  grep -q "^model " "$TMP/out" && ok "build --tune: DIR/tuned.json, the table on stderr, the model built" ||
  fail "build --tune output"

# ---- bad input ----------------------------------------------------------------------------
expect 2 "tune without --out" "$MIXREC" tune --interactions "$W/interactions.csv"
expect 2 "tune --budget 5x" "$MIXREC" tune --interactions "$W/interactions.csv" --budget 5x --out "$TMP/x.json"
expect 2 "tune --trials 0" "$MIXREC" tune --interactions "$W/interactions.csv" --trials 0 --out "$TMP/x.json"
printf 'user,item,timestamp\nu1,i1,1000\nu1,i2,2000\n' >"$TMP/tiny.csv"
expect 1 "tune on two events says there is too little data" "$MIXREC" tune --interactions "$TMP/tiny.csv" --out "$TMP/x.json"
grep -q "too little data\|no user has" "$TMP/err" && ok "tune: the reason is given" || { fail "tune tiny: reason"; cat "$TMP/err"; }
[ ! -e "$TMP/x.json" ] && ok "tune writes no file when it fails" || fail "tune wrote a file on failure"
expect 2 "synth --world nowhere" "$MIXREC" synth --world nowhere --out "$TMP/x"
finish
