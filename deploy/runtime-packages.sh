#!/usr/bin/env bash
# runtime-packages.sh - prints the Debian packages that provide the shared
# libraries an executable links (its DT_NEEDED entries, resolved by ldd),
# one per line, sorted. deploy/Dockerfile runs it on the freshly built
# binary so the runtime stage installs exactly those (apt pulls in their own
# dependencies): a library added to meson.build (e.g. libxgboost) reaches
# the image without anyone editing a package list. tests/test_deploy.sh runs
# it on the test build.
#   deploy/runtime-packages.sh BINARY
set -euo pipefail
bin=${1:?usage: runtime-packages.sh BINARY}
needed=$(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
[ -n "$needed" ] || { echo "runtime-packages: $bin links no shared library" >&2; exit 1; }
for lib in $needed; do
  # "libx.so.1 => /path (addr)", or "/lib64/ld-linux-x86-64.so.2 (addr)"
  path=$(ldd "$bin" | awk -v l="$lib" '$1 == l && $3 ~ /^\// { print $3; exit }
    $1 ~ /^\// && $1 ~ ("/" l "$") { print $1; exit }')
  [ -n "$path" ] || { echo "runtime-packages: $lib is not found (ldd $bin)" >&2; exit 1; }
  pkg=
  # merged /usr: dpkg may know the file under /lib or /usr/lib, and a
  # library reached through an alternatives symlink under its real name
  for p in "$path" "$(readlink -f "$path")"; do
    for q in "$p" "${p#/usr}" "/usr$p"; do
      pkg=$(dpkg-query -S "$q" 2>/dev/null | grep -v '^diversion' | head -n1 | cut -d: -f1) || true
      [ -n "$pkg" ] && break 2
    done
  done
  [ -n "$pkg" ] || { echo "runtime-packages: no Debian package owns $path ($lib)" >&2; exit 1; }
  echo "$pkg"
done | sort -u
