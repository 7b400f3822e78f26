#!/usr/bin/env bash
# Builds llama.cpp, kvlm's speed and fidelity peer, BESIDE the project (never
# into it): CPU only, Release, just the tools the comparisons use:
#   llama-quantize    make F32/F16/Q8_0/Q4_0 GGUFs (scripts/llama_cpp_models.sh)
#   llama-tokenize    token ids of a text (--ids --log-disable [--no-bos])
#   llama-perplexity  perplexity and --kl-divergence(-base)
#   llama-simple      exactly-N greedy tokens for a raw prompt (stops early at EOG)
#   llama-completion  greedy generation with --temp 0 --ignore-eos -no-cnv
#   llama-bench       prefill / decode speed (bench/llama_cpp_compare.sh)
# The source is the llama.cpp release that the npm package node-llama-cpp ships
# as a git bundle (llama/gitRelease.bundle); it is fetched with `npm pack` (no
# install scripts, no prebuilt binaries, no dependencies).
# Idempotent: a second run only checks that the binaries are there.
# Prints the directory holding the binaries on stdout; progress on stderr.
# Locations: $KVLM_LLAMA_CPP_SRC (default ~/.cache/kvlm/node-llama-cpp),
#            $KVLM_LLAMA_CPP_BUILD (default ~/.cache/kvlm/llama.cpp-build).
set -euo pipefail

NLC_VERSION=3.22.1
NLC_TGZ_SHA256=a0d9dd80eacd2ab1cfe71aee57ac8a806487fd70b3d2a38fbec637752d9e5c5f
LLAMA_COMMIT=de3ff815ea7d559ee917f063901b8986f038abc6   # the bundle's HEAD (node-llama-cpp 3.22.1)
TARGETS=(llama-quantize llama-tokenize llama-perplexity llama-simple llama-completion llama-bench)

CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/kvlm
NLC_DIR=${KVLM_LLAMA_CPP_SRC:-$CACHE/node-llama-cpp}
BUILD=${KVLM_LLAMA_CPP_BUILD:-$CACHE/llama.cpp-build}
SRC=$NLC_DIR/llama.cpp
BIN=$BUILD/bin
STAMP=$BUILD/.kvlm-stamp
STAMP_TEXT="$LLAMA_COMMIT ${TARGETS[*]}"

log() { echo "llama_cpp: $*" >&2; }
die() { log "error: $*"; exit 1; }

built() {
  [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$STAMP_TEXT" ] || return 1
  local t
  for t in "${TARGETS[@]}"; do [ -x "$BIN/$t" ] || return 1; done
}

if built; then
  echo "$BIN"
  exit 0
fi

for tool in npm git cmake tar sha256sum; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found (scripts/setup.sh installs the build tools)"
done

# 1. The source: node-llama-cpp's tarball -> llama/gitRelease.bundle -> a checkout.
if [ ! -f "$SRC/.kvlm-source-ok" ] || [ "$(git -C "$SRC" rev-parse HEAD 2>/dev/null)" != "$LLAMA_COMMIT" ]; then
  mkdir -p "$NLC_DIR"
  TGZ=$NLC_DIR/node-llama-cpp-$NLC_VERSION.tgz
  if [ ! -f "$TGZ" ] || [ "$(sha256sum "$TGZ" | cut -d' ' -f1)" != "$NLC_TGZ_SHA256" ]; then
    log "fetching node-llama-cpp@$NLC_VERSION with npm pack"
    rm -f "$TGZ"
    (cd "$NLC_DIR" && npm pack --silent "node-llama-cpp@$NLC_VERSION" >/dev/null) || die "npm pack node-llama-cpp@$NLC_VERSION failed"
  fi
  got=$(sha256sum "$TGZ" | cut -d' ' -f1)
  [ "$got" = "$NLC_TGZ_SHA256" ] || die "sha256 of $TGZ is $got, expected $NLC_TGZ_SHA256"
  rm -rf "$NLC_DIR/package" "$SRC"
  tar -xzf "$TGZ" -C "$NLC_DIR" package/llama/gitRelease.bundle package/llama/llama.cpp.info.json
  log "cloning llama.cpp from the bundle ($(tr -d '\n ' <"$NLC_DIR/package/llama/llama.cpp.info.json"))"
  git -c advice.detachedHead=false clone -q "$NLC_DIR/package/llama/gitRelease.bundle" "$SRC" >&2
  head=$(git -C "$SRC" rev-parse HEAD)
  [ "$head" = "$LLAMA_COMMIT" ] || die "bundle HEAD is $head, expected $LLAMA_COMMIT"
  rm -rf "$NLC_DIR/package"
  touch "$SRC/.kvlm-source-ok"
fi

# 2. Configure and build only the targets kvlm uses.
log "configuring $BUILD (CPU only, Release)"
mkdir -p "$BUILD"
rm -f "$STAMP"
cmake -S "$SRC" -B "$BUILD" \
  -DCMAKE_BUILD_TYPE=Release \
  -DBUILD_SHARED_LIBS=OFF \
  -DGGML_NATIVE=ON -DGGML_BACKEND_DL=OFF -DGGML_CPU=ON \
  -DGGML_CUDA=OFF -DGGML_VULKAN=OFF -DGGML_METAL=OFF -DGGML_OPENCL=OFF -DGGML_HIP=OFF -DGGML_SYCL=OFF -DGGML_RPC=OFF \
  -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF \
  -DLLAMA_BUILD_COMMON=ON -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_EXAMPLES=ON \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_APP=OFF -DLLAMA_BUILD_UI=OFF \
  >"$BUILD/kvlm-configure.log" 2>&1 || { tail -40 "$BUILD/kvlm-configure.log" >&2; die "cmake configure failed (log: $BUILD/kvlm-configure.log)"; }
JOBS=${KVLM_JOBS:-$(nproc)}
log "building ${TARGETS[*]} with $JOBS jobs (about 17 minutes on 2 busy cores)"
start=$(date +%s)
cmake --build "$BUILD" --config Release -j"$JOBS" --target "${TARGETS[@]}" >&2 || die "build failed"
log "built in $(($(date +%s) - start)) s"
for t in "${TARGETS[@]}"; do [ -x "$BIN/$t" ] || die "$BIN/$t missing after the build"; done
echo "$STAMP_TEXT" >"$STAMP"
echo "$BIN"
