#!/usr/bin/env bash
# test_cli.sh - the mixrec command line end to end: help, errors and exit
# codes, synth -> build -> model directory, eval --json, and the quality
# goals on the bundled MovieTweetings data.
#   tests/test_cli.sh BUILD/mixrec SOURCE_ROOT
set -uo pipefail
MIXREC=$1
ROOT=$2
source "$(dirname "$0")/lib.sh"
# expect_exit CODE NAME CMD...: runs CMD, output in $TMP/out
expect_exit() {
  local code=$1 name=$2; shift 2
  "$@" >"$TMP/out" 2>&1
  local got=$?
  if [ "$got" = "$code" ]; then ok "$name (exit $got)"; else fail "$name: exit $got, expected $code"; cat "$TMP/out"; fi
}
contains() { grep -q -- "$1" "$TMP/out" || { echo "  output lacks '$1':"; sed 's/^/    /' "$TMP/out" | head -20; return 1; }; }

# ---- help and usage errors -------------------------------------------------
expect_exit 0 "mixrec --help" "$MIXREC" --help
check "top help lists the commands" contains "synth"
for cmd in build eval synth; do
  expect_exit 0 "mixrec $cmd --help" "$MIXREC" $cmd --help
done
expect_exit 0 "build --help" "$MIXREC" build --help
for flag in --interactions --items --format --config --out --set --item-vectors embed.dim mixture.k0 mixture.knn mixture.top_m; do
  check "build --help documents $flag" contains "$flag"
done
expect_exit 0 "eval --help" "$MIXREC" eval --help
for flag in --json --validate --split --ks --max-users; do
  check "eval --help documents $flag" contains "$flag"
done
expect_exit 2 "unknown command" "$MIXREC" frobnicate
expect_exit 2 "unknown option" "$MIXREC" build --interactions x --out y --bogus
check "names the unknown option" contains "--bogus"
expect_exit 2 "missing --out" "$MIXREC" build --interactions x
expect_exit 2 "missing option value" "$MIXREC" build --interactions
expect_exit 2 "bad --set value" "$MIXREC" build --interactions x --out y --set embed.dim=abc
check "names the setting" contains "embed.dim"
expect_exit 2 "out-of-range --set" "$MIXREC" eval --interactions x --set mixture.top_m=1000
check "says out of range" contains "out of range"
expect_exit 2 "synth bad number" "$MIXREC" synth --items ten --out "$TMP/s"

# ---- configuration errors ----------------------------------------------------
echo '{"embed": {"dimm": 3}}' >"$TMP/bad.json"
expect_exit 2 "unknown config key" "$MIXREC" build --interactions x --out y --config "$TMP/bad.json"
check "names the unknown key" contains "embed.dimm"
echo '{"embed": {"dim": }' >"$TMP/broken.json"
expect_exit 2 "config syntax error" "$MIXREC" build --interactions x --out y --config "$TMP/broken.json"
check "points at the line" contains "broken.json:1"
expect_exit 0 "shipped config parses" "$MIXREC" eval --help --config "$ROOT/config/mixrec.json"

# ---- bad input files -------------------------------------------------------
printf 'user,item,timestamp\nu1,i1,100\nu1,i2,abc\n' >"$TMP/bad.csv"
expect_exit 1 "bad timestamp" "$MIXREC" build --interactions "$TMP/bad.csv" --out "$TMP/m"
check "error names file and line" contains "bad.csv:3"
: >"$TMP/empty.csv"
expect_exit 1 "empty file" "$MIXREC" build --interactions "$TMP/empty.csv" --out "$TMP/m"
expect_exit 1 "missing file" "$MIXREC" build --interactions "$TMP/nope.csv" --out "$TMP/m"
check "names the missing file" contains "nope.csv"

# ---- synth -> build -> model directory --------------------------------------
expect_exit 0 "synth" "$MIXREC" synth --items 3000 --users 600 --interests 8 --dim 16 --seed 7 --out "$TMP/syn"
for f in interactions.csv items.csv truth.csv item_vectors.fvecs item_vectors.ids; do
  check "synth wrote $f" test -s "$TMP/syn/$f"
done
check "synth header" test "$(head -1 "$TMP/syn/interactions.csv")" = "user,item,timestamp,weight"
expect_exit 0 "build from synth" "$MIXREC" build --interactions "$TMP/syn/interactions.csv" \
  --items "$TMP/syn/items.csv" --set embed.dim=16 --set interests.count=8 --out "$TMP/model"
check "build reports interests" contains "interests:"
ver=$(cat "$TMP/model/CURRENT" 2>/dev/null)
check "CURRENT names a version" test -n "$ver" -a -f "$TMP/model/$ver/manifest.json"
for f in index.faiss item_vectors.f32 user_vectors.f32 mixture_ids.u32 mixture_weights.f32 popularity.f32 interests.json users.txt items.txt; do
  check "model has $f" test -s "$TMP/model/$ver/$f"
done
check "manifest format version" grep -q '"format_version": 2' "$TMP/model/$ver/manifest.json"
check "manifest records parameters" grep -q '"top_m"' "$TMP/model/$ver/manifest.json"
check "manifest counts 8 interests" grep -q '"interests": 8' "$TMP/model/$ver/manifest.json"
check "labels: distinct, each a category with the share it covers" jqt \
  'length == 8 and ([.[].label] | unique | length == 8) and all(.kind == "categories" and .coverage >= 0.5 and .coverage <= 1)' \
  "$TMP/model/$ver/interests.json"
check "build prints each label's coverage" grep -Eq '^ +[0-9]+  interest-[0-9]+.* [0-9]+%' "$TMP/out"
sleep 1
expect_exit 0 "second build" "$MIXREC" build --interactions "$TMP/syn/interactions.csv" \
  --set embed.dim=16 --set interests.count=8 --out "$TMP/model"
check "second build is a new version" test "$(cat "$TMP/model/CURRENT")" != "$ver"
check "old version kept" test -f "$TMP/model/$ver/manifest.json"

# ---- recommend / similar from a saved model -------------------------------------
expect_exit 0 "recommend --json" "$MIXREC" recommend --model "$TMP/model" --user u1 --k 7 --json
check "recommend returns 7 items" jqt '.items | length == 7' "$TMP/out"
check "items carry interest, reason and categories (the API's shape)" jqt '.items | all(has("interest") and has("reason") and has("categories") and has("score"))' "$TMP/out"
seen_u1=$(grep '^u1,' "$TMP/syn/interactions.csv" | cut -d, -f2 | jq -R . | jq -s .)
check "u1 has training items" jqt --argjson s "$seen_u1" '$s | length > 0' -n
check "recommend excludes what u1 engaged with" jqt --argjson s "$seen_u1" '([.items[].item] - $s) | length == 7' "$TMP/out"
expect_exit 0 "cold user gets popular items" "$MIXREC" recommend --model "$TMP/model" --user nobody --k 5 --json
check "cold start reasons are popular" jqt '[.items[].reason] | unique == ["popular"]' "$TMP/out"
item=$(tail -1 "$TMP/syn/interactions.csv" | cut -d, -f2)
expect_exit 0 "anonymous visitor with recent items" "$MIXREC" recommend --model "$TMP/model" --recent "$item" --k 10 --json
check "recent item itself is excluded" jqt --arg i "$item" '[.items[].item] | index($i) == null' "$TMP/out"
check "session drives some results" jqt '[.items[].reason] | index("session") != null' "$TMP/out"
expect_exit 0 "similar --json" "$MIXREC" similar --model "$TMP/model" --item "$item" --k 5 --json
check "similar returns 5 other items" jqt --arg i "$item" '(.items | length == 5) and ([.items[].item] | index($i) == null)' "$TMP/out"
expect_exit 1 "similar to an unknown item" "$MIXREC" similar --model "$TMP/model" --item nope
check "says the item is unknown" contains "not in the model"
expect_exit 1 "recommend from a missing model" "$MIXREC" recommend --model "$TMP/none" --user u1
expect_exit 2 "recommend needs a user or recent items" "$MIXREC" recommend --model "$TMP/model"
expect_exit 2 "recommend k out of range" "$MIXREC" recommend --model "$TMP/model" --user u1 --k 0

# brought item vectors
expect_exit 0 "build with --item-vectors" "$MIXREC" build --interactions "$TMP/syn/interactions.csv" \
  --item-vectors "$TMP/syn/item_vectors.fvecs" --item-vector-ids "$TMP/syn/item_vectors.ids" \
  --set interests.count=8 --out "$TMP/model-byo"
check "manifest says provided" grep -q '"embeddings": "provided:' "$TMP/model-byo/$(cat "$TMP/model-byo/CURRENT")/manifest.json"
expect_exit 1 "--item-vectors without ids" "$MIXREC" build --interactions "$TMP/syn/interactions.csv" \
  --item-vectors "$TMP/syn/item_vectors.fvecs" --out "$TMP/model-x"
check "asks for --item-vector-ids" contains "item-vector-ids"

# ---- other input formats: TSV with named columns, ratings filter, .npy vectors ----
{
  printf 'when\tmovie\tscore\twho\n'
  for u in 1 2 3 4 5 6 7 8; do
    for i in 1 2 3 4 5 6; do printf '%d\tm%d\t%d\tu%d\n' $((1000 + u * 10 + i)) $(( (u + i) % 9 )) $(( (u * i) % 10 )) $u; done
  done
} >"$TMP/log.tsv"
expect_exit 0 "build from TSV with named columns" "$MIXREC" build --interactions "$TMP/log.tsv" \
  --format tsv --user-col who --item-col movie --time-col when --value-col score --min-value 3 \
  --set embed.dim=4 --set interests.count=2 --out "$TMP/model-tsv"
check "min-value drops low ratings" contains "below --min-value dropped"
expect_exit 1 "unknown column name" "$MIXREC" build --interactions "$TMP/log.tsv" --user-col nobody --out "$TMP/model-x"
check "names the missing column" contains "nobody"
# A .npy file written byte by byte: NumPy format 1.0, '<f4', shape (3, 2).
npy_header="{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }"
while [ $(( (10 + ${#npy_header} + 1) % 64 )) != 0 ]; do npy_header="$npy_header "; done
{
  printf '\223NUMPY\001\000'
  printf "\\$(printf '%03o' $(( (${#npy_header} + 1) % 256 )))\\$(printf '%03o' $(( (${#npy_header} + 1) / 256 )))"
  printf '%s\n' "$npy_header"
  # six float32 values: 1 0 / 0 1 / 1 1 (little-endian)
  printf '\000\000\200\077\000\000\000\000\000\000\000\000\000\000\200\077\000\000\200\077\000\000\200\077'
} >"$TMP/vec.npy"
printf 'm1\nm2\nm3\n' >"$TMP/vec.ids"
expect_exit 0 "build with .npy item vectors" "$MIXREC" build --interactions "$TMP/log.tsv" \
  --user-col who --item-col movie --time-col when --item-vectors "$TMP/vec.npy" \
  --item-vector-ids "$TMP/vec.ids" --set interests.count=2 --out "$TMP/model-npy"
check "npy model has dim 2" grep -q '"dim": 2' "$TMP/model-npy/$(cat "$TMP/model-npy/CURRENT")/manifest.json"
check "npy model indexes the 3 items with vectors" grep -q '"indexed_items": 3' "$TMP/model-npy/$(cat "$TMP/model-npy/CURRENT")/manifest.json"
printf 'm1\nm1\nm3\n' >"$TMP/dup.ids"
expect_exit 1 "duplicate vector id" "$MIXREC" build --interactions "$TMP/log.tsv" \
  --user-col who --item-col movie --time-col when --item-vectors "$TMP/vec.npy" \
  --item-vector-ids "$TMP/dup.ids" --out "$TMP/model-x"
check "names the duplicate id and line" contains "dup.ids:2"

# ---- the interest count follows the data; small data is said, not hidden -------
# (the planted item vectors: ALS vectors learned from 600 users form no such clear groups)
expect_exit 0 "build with the automatic interest count" "$MIXREC" build --interactions "$TMP/syn/interactions.csv" \
  --items "$TMP/syn/items.csv" --item-vectors "$TMP/syn/item_vectors.fvecs" \
  --item-vector-ids "$TMP/syn/item_vectors.ids" --set rank_train.enabled=0 --out "$TMP/model-auto"
man="$TMP/model-auto/$(cat "$TMP/model-auto/CURRENT")/manifest.json"
check "8 planted interests: about 8 interests, not the old 16" jqt '.counts.interests >= 7 and .counts.interests <= 9' "$man"
check "the build report says how the count was chosen" jqt '.build_report.interests | test("chosen from the data")' "$man"
check "the build log says it too" contains "interests: .*chosen from the data"
printf 'user,item,timestamp\nu1,a,100\nu1,b,200\n' >"$TMP/tiny.csv"
expect_exit 0 "build from 1 user and 2 items" "$MIXREC" build --interactions "$TMP/tiny.csv" --out "$TMP/model-tiny"
check "tiny: 1 interest instead of 16, said" contains "warning: 2 items with an embedding: 1 interest instead of 16"
check "tiny: no neighbours to smooth with, said" contains "warning: 1 user with events: no neighbours to smooth"
check "tiny: no ranker, retrieval order, said" contains "warning: ranker not trained: .*retrieval order"
tiny="$TMP/model-tiny/$(cat "$TMP/model-tiny/CURRENT")"
check "tiny: the manifest's build report keeps the warnings" jqt '.build_report.warnings | length == 3' "$tiny/manifest.json"
check "tiny: without titles the label names item ids" jqt '.[0] | .label == "like a, b" and .kind == "titles" and .coverage == 1' "$tiny/interests.json"

# ---- eval --json on synth ------------------------------------------------------
"$MIXREC" eval --interactions "$TMP/syn/interactions.csv" --items "$TMP/syn/items.csv" \
  --set embed.dim=16 --set interests.count=8 --json >"$TMP/eval.json" 2>"$TMP/eval.err"
check "eval --json exits 0" test $? = 0
if command -v jq >/dev/null; then
  for mth in popular single mixture_unsmoothed mixture blend ranked; do
    for key in recall@10 ndcg@10 clusters@100 genres@100 coverage@100 'recall@100[5-9]' 'recall@100[20+]'; do
      check "eval json has $mth.$key" jqt --arg m "$mth" --arg k "$key" '.methods[$m][$k] | type == "number"' "$TMP/eval.json"
    done
  done
  check "eval json has dataset and split" jqt '.dataset.users > 0 and .split.test_users > 0' "$TMP/eval.json"
  # planted multi-interest users: the mixture spreads over more interests than one vector
  check "synth: mixture clusters@50 > single" jqt '.methods.mixture["clusters@50"] > .methods.single["clusters@50"]' "$TMP/eval.json"
else
  fail "jq is not installed (scripts/deps.sh installs it)"
fi
expect_exit 0 "eval per-user split" "$MIXREC" eval --interactions "$TMP/syn/interactions.csv" \
  --set embed.dim=16 --set interests.count=8 --split per-user --ks 10,50 --max-users 200
check "per-user split reported" contains "per-user"

# ---- the goals on MovieTweetings (README table) --------------------------------
D=$ROOT/data/movietweetings-100k
if "$MIXREC" eval --interactions "$D/ratings.dat" --items "$D/movies.dat" --config "$ROOT/config/mixrec.json" --json >"$TMP/mt.json" 2>"$TMP/mt.err"; then
  ok "eval on MovieTweetings"
  r() { jq -r --arg m "$1" --arg k "$2" '.methods[$m][$k]' "$TMP/mt.json"; }
  echo "  recall@100: popular $(r popular recall@100) single $(r single recall@100) mixture_unsmoothed $(r mixture_unsmoothed recall@100) mixture $(r mixture recall@100) blend $(r blend recall@100)"
  check "mixture beats mixture_unsmoothed by 10% on recall@100" jqt '.methods.mixture["recall@100"] >= 1.10 * .methods.mixture_unsmoothed["recall@100"]' "$TMP/mt.json"
  check "mixture beats single on genres@100" jqt '.methods.mixture["genres@100"] > .methods.single["genres@100"]' "$TMP/mt.json"
  for src in popular single mixture mixture_unsmoothed; do
    check "the pool (every source's top 100) beats $src on recall@100" jqt --arg s "$src" '.methods.pool["recall@100"] > .methods[$s]["recall@100"] and .methods.pool["size@100"] <= 300' "$TMP/mt.json"
  done
  check "test users as documented" jqt '.split.test_users == 2367 and .dataset.users == 16554 and .dataset.items == 10506' "$TMP/mt.json"
  # the learned ranker: at least every other method's NDCG@10, and recall@10
  # close to the best. config/mixrec.json is mixrec tune's, whose 7-day
  # popularity half-life makes popular itself 15% stronger (NDCG@10 0.124,
  # 0.108 at 14 days); over rank_train.seed 42, 1, 2, 3 ranked NDCG@10 was
  # 0.126-0.129 (1.02-1.04x popular) and recall@10 0.156-0.160 (0.99-1.01x):
  # the margins checked are what holds for every seed.
  echo "  ndcg@10: popular $(r popular ndcg@10) blend $(r blend ndcg@10) ranked $(r ranked ndcg@10); recall@10 ranked $(r ranked recall@10)"
  check "eval reports the ranked method and the ranker" jqt '(.methods.ranked["ndcg@10"] | type == "number") and (.ranker.features | length) > 20 and .ranker.rounds >= 1' "$TMP/mt.json"
  check "ranked is at least every other method on ndcg@10" jqt '.methods.ranked["ndcg@10"] >= 1.0 * ([.methods | to_entries[] | select(.key != "ranked" and .key != "pool") | .value["ndcg@10"]] | max)' "$TMP/mt.json"
  check "ranked is within 5% of the best method on recall@10" jqt '.methods.ranked["recall@10"] >= 0.95 * ([.methods | to_entries[] | select(.key != "ranked" and .key != "pool") | .value["recall@10"]] | max)' "$TMP/mt.json"
else
  fail "eval on MovieTweetings"; cat "$TMP/mt.err"
fi

finish
