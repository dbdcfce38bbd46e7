#!/bin/sh
# init-model.sh - the one-shot model job of docker-compose and Kubernetes:
# builds the bundled demo data into the model root unless that root already
# holds a model (CURRENT naming a version directory), so restarts and
# re-runs keep the model the replicas serve. In the image it is
# /usr/local/bin/mixrec-init-model.
#   MIXREC_MODEL   model root (default /models)
#   MODEL_DATA     directory with ratings.dat and movies.dat
#                  (default /usr/local/share/mixrec/data/movietweetings-100k)
#   MODEL_CONFIG   build configuration (default /etc/mixrec/mixrec.json)
#   MIXREC_BIN     the mixrec executable (default: mixrec on PATH)
set -eu
out=${MIXREC_MODEL:-/models}
data=${MODEL_DATA:-/usr/local/share/mixrec/data/movietweetings-100k}
config=${MODEL_CONFIG:-/etc/mixrec/mixrec.json}
if [ -s "$out/CURRENT" ] && [ -d "$out/$(cat "$out/CURRENT")" ]; then
  echo "init-model: $out already serves $(cat "$out/CURRENT"); nothing to build"
  exit 0
fi
echo "init-model: building $data into $out"
exec "${MIXREC_BIN:-mixrec}" build --interactions "$data/ratings.dat" --items "$data/movies.dat" \
  --config "$config" --out "$out"
