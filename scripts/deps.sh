#!/usr/bin/env bash
# deps.sh - installs the Debian packages mixrec needs and builds FAISS's C API.
# Shared by scripts/setup and deploy/Dockerfile, so both install the same way.
# Idempotent: installs only what is missing; rebuilds the C API only when the
# installed libfaiss-dev version changed. Needs root (apt-get).
set -euo pipefail

# Build and runtime packages. g++ compiles the FAISS C API (C++ sources);
# dpkg-dev, patch and xz-utils unpack Debian's faiss source package.
# time (/usr/bin/time) measures wall time and peak RSS in scripts/bench-build.
PACKAGES=(
  gcc g++ make pkg-config meson ninja-build
  dpkg-dev patch xz-utils ca-certificates
  libfaiss-dev libopenblas-dev liblapack-dev
  libxgboost-dev libmicrohttpd-dev libjansson-dev libhiredis-dev libuv1-dev
  redis-server wrk curl jq time
)
FAISS_C_PREFIX=${FAISS_C_PREFIX:-/usr/local}
# Debian builds FAISS for baseline x86-64 (scalar distance loops). With
# MIXREC_FAISS_SIMD=avx2 (the default where this CPU has AVX2 and FMA) the
# distance kernels (faiss/utils/distances_simd.cpp, same source version) are
# also compiled with AVX2 into libfaiss_simd.a, which meson links ahead of
# libfaiss.a. Set MIXREC_FAISS_SIMD=none for binaries that must run on any
# x86-64 (e.g. an image built here and run elsewhere).
if [ -z "${MIXREC_FAISS_SIMD:-}" ]; then
  if grep -qw avx2 /proc/cpuinfo 2>/dev/null && grep -qw fma /proc/cpuinfo 2>/dev/null; then
    MIXREC_FAISS_SIMD=avx2
  else
    MIXREC_FAISS_SIMD=none
  fi
fi
case "$MIXREC_FAISS_SIMD" in avx2|none) ;; *) echo "deps: MIXREC_FAISS_SIMD must be avx2 or none" >&2; exit 2;; esac

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# ---- FAISS C API ----------------------------------------------------------
# Debian's libfaiss-dev has the C API headers but not the compiled library.
# Compile the c_api/ sources of the very same source version against the
# installed libfaiss.a. Nothing downloaded is kept in the repository.
faiss_ver=$(dpkg-query -W -f='${source:Version}' libfaiss-dev)
stamp="$FAISS_C_PREFIX/lib/libfaiss_c.version"
want="$faiss_ver simd=$MIXREC_FAISS_SIMD"
if [ -f "$FAISS_C_PREFIX/lib/libfaiss_c.a" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi
echo "deps: building the FAISS C API for faiss $faiss_ver"

# apt-get source needs a deb-src entry; derive one from the deb entries.
if ! grep -rqs '^\(Types:.*deb-src\|deb-src \)' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources |
      as_root tee /etc/apt/sources.list.d/mixrec-deb-src.sources >/dev/null
  else
    grep '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' |
      as_root tee /etc/apt/sources.list.d/mixrec-deb-src.list >/dev/null
  fi
  as_root apt-get update -qq
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(
  cd "$work"
  apt-get source -qq --download-only "faiss=$faiss_ver" >/dev/null 2>&1 ||
    apt-get source -qq --download-only faiss >/dev/null
  dpkg-source -x ./*.dsc src >/dev/null
  cd src/c_api
  srcs=$(sed -n '/set(FAISS_C_SRC/,/)/p' CMakeLists.txt | grep '\.cpp' | tr -d ' ')
  mkdir -p obj
  jobs=$(nproc)
  for s in $srcs; do echo "$s"; done |
    xargs -P "$jobs" -I{} sh -c 'g++ -std=c++17 -O2 -fPIC -fopenmp -I. -c "{}" -o "obj/$(echo {} | tr / _).o"'
  ar rcs libfaiss_c.a obj/*.o
  as_root install -d "$FAISS_C_PREFIX/lib"
  as_root install -m 644 libfaiss_c.a "$FAISS_C_PREFIX/lib/libfaiss_c.a"
  as_root rm -f "$FAISS_C_PREFIX/lib/libfaiss_simd.a"
  if [ "$MIXREC_FAISS_SIMD" = avx2 ]; then
    cd ..
    g++ -std=c++17 -O3 -fPIC -fopenmp -mavx2 -mfma -mf16c -I. \
      -c faiss/utils/distances_simd.cpp -o distances_simd_avx2.o
    ar rcs libfaiss_simd.a distances_simd_avx2.o
    as_root install -m 644 libfaiss_simd.a "$FAISS_C_PREFIX/lib/libfaiss_simd.a"
  fi
)
echo "$want" | as_root tee "$stamp" >/dev/null
echo "deps: FAISS C API installed in $FAISS_C_PREFIX/lib/libfaiss_c.a"
