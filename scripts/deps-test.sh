#!/usr/bin/env bash
# deps-test.sh - installs the Debian packages only the test suites need (not
# the service, not the container image): run by scripts/test after deps.sh.
# Idempotent: installs only what is missing. Needs root (apt-get).
set -euo pipefail

# One line per suite that needs something beyond scripts/deps.sh.
TEST_PACKAGES=(
  # deploy suite (issue 5):
  docker-compose nginx python3-yaml
  # hardening suites (issue 6): python3 (fault tests), clang + libFuzzer runtime and llvm (symbolizer) for scripts/fuzz
  python3 clang libclang-rt-14-dev llvm
  # inspector browser test (issue 7):
  chromium fonts-liberation python3
)
[ ${#TEST_PACKAGES[@]} -gt 0 ] || exit 0

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
missing=()
for p in "${TEST_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps-test: installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
