#!/bin/sh
# The dependency rule of service/core/meson.build, checked on the built
# libraries: a library may use symbols of the libraries to its left only
# (base <- data <- model <- serve <- build <- tools), and the server
# library none of build or tools.
# Usage: check_layers.sh BUILD_DIR
set -eu
b=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
layers="base data model serve build tools"
for l in $layers; do
    nm -g --defined-only "$b/service/core/$l/libmix$l.a" | awk 'NF==3{print $3}' | sort -u >"$tmp/def_$l"
done
fail=0
check() { # name archive layers-it-must-not-use...
    name=$1 lib=$2
    shift 2
    nm -u "$lib" | awk 'NF==2{print $2}' | sort -u >"$tmp/u"
    for m in "$@"; do
        bad=$(comm -12 "$tmp/u" "$tmp/def_$m" | tr '\n' ' ')
        if [ -n "$bad" ]; then
            echo "not ok: $name uses $m: $bad"
            fail=1
        fi
    done
}
above=$layers
for l in $layers; do
    above=${above#"$l"}
    above=${above# }
    # shellcheck disable=SC2086
    check "$l" "$b/service/core/$l/libmix$l.a" $above
done
check server "$b/service/server/libmixserver.a" build tools
[ $fail = 0 ] && echo "ok: every library links only the layers to its left"
exit $fail
