#!/usr/bin/env bash
# test_import.sh - `mixrec build` from users' own exports (issue 13): a
# JSON-lines export, a semicolon CSV with text event types and ISO 8601
# times, a header-less TSV named with --columns, and a bad file whose
# message names file, line and column. Data is generated here, tiny, in the
# test's own temporary directory (removed on exit by lib.sh).
# Last, deploy/init-model.sh (the compose model job) builds the same way
# from a mounted data directory.
#   tests/test_import.sh BUILD/mixrec SOURCE_ROOT
set -uo pipefail
MIXREC=$1
ROOT=$2
source "$(dirname "$0")/lib.sh"
expect_exit() { # CODE NAME CMD...: output in $TMP/out
  local code=$1 name=$2; shift 2
  "$@" >"$TMP/out" 2>&1
  local got=$?
  if [ "$got" = "$code" ]; then ok "$name (exit $got)"; else fail "$name: exit $got, expected $code"; cat "$TMP/out"; fi
}
contains() { grep -qF -- "$1" "$TMP/out" || { echo "  output lacks '$1':"; sed 's/^/    /' "$TMP/out" | head -20; return 1; }; }
SMALL=(--set embed.dim=4 --set interests.count=2 --set rank_train.enabled=0)
model_users() { jq -r '.counts.users' "$1/$(cat "$1/CURRENT")/manifest.json"; }
model_events() { jq -r '.counts.events' "$1/$(cat "$1/CURRENT")/manifest.json"; }

# 12 users x 6 items each over 30 items, one event a minute from 2021-11-04.
gen() { # FORMAT: jsonl | semicolon | tsv
  local u i n=0 item ts types=(view click like purchase "Add to cart" view)
  for u in $(seq 1 12); do
    for i in $(seq 1 6); do
      item=$(( (u * 7 + i * 3) % 30 ))
      ts=$((1636020000 + n * 60)); n=$((n + 1))
      case $1 in
        jsonl) printf '{"user_id": "u%d", "item_id": "m%d", "rating": %d, "timestamp": %d000}\n' "$u" "$item" $(( (u + i) % 5 + 1 )) "$ts" ;;
        semicolon) printf 'u%d;"m%d; the %d";%s;%s\n' "$u" "$item" "$item" "${types[i - 1]}" "$(date -u -d "@$ts" +%Y-%m-%dT%H:%M:%S+00:00)" ;;
        tsv) printf '%d\tu%d\tx\tm%d\n' "$ts" "$u" "$item" ;;
      esac
    done
  done
}

# ---- JSON lines: fields by name, millisecond timestamps ------------------
{ gen jsonl; echo; } >"$TMP/events.jsonl"
for i in $(seq 0 29); do printf '{"id": "m%d", "title": "Movie %d", "genres": ["G%d", "All"]}\n' $i $i $((i % 3)); done >"$TMP/items.jsonl"
expect_exit 0 "build from a JSON-lines export" "$MIXREC" build --interactions "$TMP/events.jsonl" \
  --items "$TMP/items.jsonl" "${SMALL[@]}" --out "$TMP/m-jsonl"
check "says JSON lines and the fields it mapped" contains "JSON lines; user = field 'user_id', item = field 'item_id', rating = field 'rating', ts = field 'timestamp'"
check "says the timestamps are milliseconds" contains "timestamps: milliseconds; 72 rows, 72 events; skipped 1 blank lines"
check "reads the items' JSON lines" contains "item = field 'id', title = field 'title', categories = field 'genres'"
check "model has the 12 users" test "$(model_users "$TMP/m-jsonl")" = 12
check "model has 4 categories" grep -q '"categories": 4' "$TMP/m-jsonl/$(cat "$TMP/m-jsonl/CURRENT")/manifest.json"

# ---- semicolon CSV, text event types, ISO 8601, quoted separators -----------
{ echo 'user;item;event;time'; gen semicolon; echo 'u1;m1;dislike;2021-11-05'; echo 'u2;m2;impression;2021-11-05'; } >"$TMP/events.csv"
expect_exit 0 "build from a semicolon CSV with event types" "$MIXREC" build --interactions "$TMP/events.csv" \
  "${SMALL[@]}" --set events.like=4 --out "$TMP/m-csv"
check "says CSV with separator ';' and the columns" contains "CSV, separator ';', header line; user = column 1 'user', item = column 2 'item', type = column 3 'event', ts = column 4 'time'"
check "says the event weights (events.like from --set)" contains "event weights view 1, click 2, like 4, purchase 5, dislike -3"
check "says ISO 8601 and what it skipped" contains "timestamps: ISO 8601; 74 rows, 72 events; skipped 1 of an unknown event type (first \"impression\" at line 75); skipped 1 weighing <= 0 (dislike)"
check "quoted item ids keep their ';'" grep -qxF 'm1; the 1' "$TMP/m-csv/$(cat "$TMP/m-csv/CURRENT")/items.txt"
check "model has the 72 events" test "$(model_events "$TMP/m-csv")" = 72

# ---- header-less TSV named with --columns ------------------------------------
gen tsv >"$TMP/events.tsv"
expect_exit 0 "build from a header-less TSV with --columns" "$MIXREC" build --interactions "$TMP/events.tsv" \
  --columns ts,user,-,item "${SMALL[@]}" --out "$TMP/m-tsv"
check "says TSV without a header and the columns" contains "TSV, no header line; user = column 2 'user', item = column 4 'item', ts = column 1 'ts'; timestamps: unix seconds; 72 rows, 72 events"
check "model has the 12 users" test "$(model_users "$TMP/m-tsv")" = 12
expect_exit 1 "the same TSV without --columns" "$MIXREC" build --interactions "$TMP/events.tsv" "${SMALL[@]}" --out "$TMP/m-x"
check "asks for --columns" contains "a file without a header line needs its columns named in order (--columns)"
expect_exit 1 "a bad --columns list" "$MIXREC" build --interactions "$TMP/events.tsv" --columns ts,who,-,item --out "$TMP/m-x"
check "names the unknown column name" contains "unknown name 'who'"

# ---- a bad file: the message names file, line and column ---------------------
{ echo 'user,item,rating,ts'; echo 'u1,m1,5,2021-11-04T10:00:00Z'; echo 'u1,m2,4,yesterday'; } >"$TMP/ratings.csv"
expect_exit 1 "a bad timestamp" "$MIXREC" build --interactions "$TMP/ratings.csv" --out "$TMP/m-x"
check "names file, line, column and what was expected" \
  contains "ratings.csv:3: column 4 'ts': expected unix seconds, milliseconds or ISO 8601, got \"yesterday\""
{ echo '{"user": "u1", "item": "m1"}'; echo '{"user": "u1", "item": ["m2"]}'; } >"$TMP/bad.jsonl"
expect_exit 1 "a bad JSON-lines field" "$MIXREC" build --interactions "$TMP/bad.jsonl" --out "$TMP/m-x"
check "names file, line and field" contains "bad.jsonl:2: field 'item': expected a string or number, got an array"
check "no model was written" test ! -e "$TMP/m-x"

# ---- the deploy model job builds the user's mounted data ---------------------
mkdir -p "$TMP/data"
cp "$TMP/events.tsv" "$TMP/data/interactions.tsv"
cp "$TMP/items.jsonl" "$TMP/data/items.jsonl"
init_model() {
  MIXREC_BIN=$MIXREC MIXREC_MODEL=$TMP/m-job MODEL_DATA_DIR=$TMP/data MODEL_CONFIG=$ROOT/config/mixrec.json \
    MIXREC_BUILD_ARGS="--columns ts,user,-,item ${SMALL[*]}" "$@" "$ROOT/deploy/init-model.sh"
}
expect_exit 0 "model job builds /data/interactions.* with MIXREC_BUILD_ARGS" init_model
check "it read the mounted files with the options" contains "TSV, no header line; user = column 2 'user'"
check "and the items next to them" contains "items.jsonl: JSON lines"
expect_exit 0 "model job keeps a served model" init_model
check "says there is nothing to build" contains "nothing to build"
expect_exit 0 "MIXREC_REBUILD=1 builds a new version" init_model env MIXREC_REBUILD=1
check "two versions" test "$(ls -d "$TMP"/m-job/2* | wc -l)" = 2
cp "$TMP/events.jsonl" "$TMP/data/interactions.jsonl"
expect_exit 2 "two interactions.* files are refused" init_model env MIXREC_REBUILD=1
check "names both" contains "interactions.jsonl and"
finish
