#!/bin/sh
# init-model.sh - the one-shot model job of docker-compose and Kubernetes:
# builds a model into the model root unless that root already holds one
# (CURRENT naming a version directory), so restarts and re-runs keep the
# model the replicas serve. In the image it is /usr/local/bin/mixrec-init-model.
#
# What it builds: the user's own data when the data directory holds an
# interactions.* file (any export `mixrec build` reads: JSON lines, CSV or
# TSV with a header, ';' or ',' or tab, MovieLens "::"; see `mixrec build
# --help`), with items.* next to it if present; else the bundled demo data.
#   MIXREC_MODEL       model root (default /models)
#   MODEL_DATA_DIR     the user's data (default /data): interactions.* and
#                      optionally items.*, e.g. /data/interactions.jsonl
#   MODEL_INTERACTIONS, MODEL_ITEMS
#                      explicit files instead (MODEL_ITEMS may stay empty)
#   MIXREC_BUILD_ARGS  more `mixrec build` options, split at spaces, e.g.
#                      "--columns user,item,rating,ts --set events.like=4"
#   MIXREC_REBUILD     1: build a new version even when one is served (then
#                      reload the replicas: docs/deploy.md)
#   MODEL_DATA         the demo: a directory with ratings.dat and movies.dat
#                      (default /usr/local/share/mixrec/data/movietweetings-100k)
#   MODEL_CONFIG       build configuration (default /etc/mixrec/mixrec.json)
#   MIXREC_BIN         the mixrec executable (default: mixrec on PATH)
set -eu
out=${MIXREC_MODEL:-/models}
dir=${MODEL_DATA_DIR:-/data}
demo=${MODEL_DATA:-/usr/local/share/mixrec/data/movietweetings-100k}
config=${MODEL_CONFIG:-/etc/mixrec/mixrec.json}
if [ "${MIXREC_REBUILD:-0}" != 1 ] && [ -s "$out/CURRENT" ] && [ -d "$out/$(cat "$out/CURRENT")" ]; then
  echo "init-model: $out already serves $(cat "$out/CURRENT"); nothing to build (MIXREC_REBUILD=1 builds anyway)"
  exit 0
fi

# The one file matching $dir/NAME.*, or nothing; two are ambiguous.
only() {
  found=
  for f in "$dir/$1".*; do
    [ -f "$f" ] || continue
    if [ -n "$found" ]; then
      echo "init-model: both $found and $f; keep one or set MODEL_$(echo "$1" | tr a-z A-Z)" >&2
      exit 2
    fi
    found=$f
  done
  echo "$found"
}
interactions=${MODEL_INTERACTIONS:-$(only interactions)}
items=${MODEL_ITEMS-}
if [ -n "$interactions" ]; then
  [ -n "$items" ] || [ -n "${MODEL_INTERACTIONS:-}" ] || items=$(only items)
  echo "init-model: building $interactions${items:+ and $items} into $out"
else
  interactions=$demo/ratings.dat
  items=$demo/movies.dat
  echo "init-model: no $dir/interactions.*: building the demo data $demo into $out"
fi
set -f # the options are words, never file patterns
# shellcheck disable=SC2086 # MIXREC_BUILD_ARGS is split into options on purpose
exec "${MIXREC_BIN:-mixrec}" build --interactions "$interactions" ${items:+--items "$items"} \
  --config "$config" ${MIXREC_BUILD_ARGS:-} --out "$out"
