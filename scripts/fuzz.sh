#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang, ASan and UBSan in
# build-fuzz, then runs each for SECONDS (default 600) from its seed corpus
# tests/fuzz/corpus/NAME (and dictionary tests/fuzz/NAME.dict when there is
# one). New inputs collect in build-fuzz/corpus/NAME; a crash is written to
# build-fuzz/findings/ and ends the run with a non-zero status.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]   (no TARGET: all of them)
#   targets: gguf server_request safetensors config tokenizer_json tokenize chat_template package
# Seeds: tests/fuzz/make_seeds.py (all but gguf and server_request).
# Needs clang and its libFuzzer runtime (Debian: clang-16 libclang-rt-16-dev).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-600}
shift || true
TARGETS=("$@")
ALL_TARGETS=(gguf server_request safetensors config tokenizer_json tokenize chat_template package)
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=("${ALL_TARGETS[@]}")
for t in "${TARGETS[@]}"; do
  [[ " ${ALL_TARGETS[*]} " == *" $t "* ]] || { echo "fuzz.sh: unknown target $t (targets: ${ALL_TARGETS[*]})" >&2; exit 2; }
done
BUILD_DIR=${KVLM_FUZZ_BUILD_DIR:-build-fuzz}
JOBS=${KVLM_FUZZ_JOBS:-2}

if [ -z "${CXX:-}" ]; then
  for c in clang++ clang++-19 clang++-18 clang++-17 clang++-16 clang++-15 clang++-14; do
    if command -v "$c" >/dev/null; then CXX=$c; break; fi
  done
fi
[ -n "${CXX:-}" ] || { echo "fuzz.sh: no clang++ found (Debian: apt-get install clang-16 libclang-rt-16-dev)" >&2; exit 1; }
# The libFuzzer and sanitizer runtimes come in a package of their own: a
# one-line program linked with them tells before the long build fails.
probe_dir=$(mktemp -d)
trap 'rm -rf "$probe_dir"' EXIT
printf '%s\n' '#include <cstddef>' '#include <cstdint>' \
  'extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t*, std::size_t) { return 0; }' > "$probe_dir/probe.cpp"
if ! "$CXX" -fsanitize=fuzzer,address,undefined "$probe_dir/probe.cpp" -o "$probe_dir/probe" 2>"$probe_dir/log"; then
  echo "fuzz.sh: $CXX cannot link a libFuzzer target (is the runtime installed? Debian: apt-get install" \
       "libclang-rt-16-dev for clang-16):" >&2
  head -3 "$probe_dir/log" >&2
  exit 1
fi

# Builds share the machine through one lock when flock is there.
LOCK=${KVLM_BUILD_LOCK:-/tmp/kvlm-build.lock}
locked() { if command -v flock >/dev/null; then flock "$LOCK" "$@"; else "$@"; fi; }
# KVLM_FUZZ_SKIP_BUILD=1: run the targets as last built (no configure, no build).
if [ -z "${KVLM_FUZZ_SKIP_BUILD:-}" ]; then
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER="$CXX" \
    -DKVLM_FUZZ=ON -DKVLM_BUILD_TESTS=OFF -DKVLM_BUILD_BENCH=OFF >/dev/null
  locked cmake --build "$BUILD_DIR" -j"$JOBS" --target "${TARGETS[@]/%/_fuzz}"
fi

status=0
for t in "${TARGETS[@]}"; do
  corpus="$BUILD_DIR/corpus/$t"
  findings="$BUILD_DIR/findings/$t"
  mkdir -p "$corpus" "$findings"
  args=(-max_total_time="$SECONDS_PER_TARGET" -timeout=20 -rss_limit_mb=4096 -max_len=65536
        -print_final_stats=1 -artifact_prefix="$findings/")
  [ -f "tests/fuzz/$t.dict" ] && args+=(-dict="tests/fuzz/$t.dict")
  echo "fuzz.sh: $t for $SECONDS_PER_TARGET s (corpus $corpus, seeds tests/fuzz/corpus/$t)"
  "$BUILD_DIR/${t}_fuzz" "${args[@]}" "$corpus" "tests/fuzz/corpus/$t" || status=$?
done
exit $status
