#!/usr/bin/env bash
# Runs the test suite under sanitizers (docs/TESTING.md).
#   asan: the whole project and every test (unit, script, C API) built with
#         ASan + UBSan in build-asan; the script tests run the sanitized kvlm.
#   tsan: the concurrency tests (sessions on one shared model, batched decode,
#         the providers called from several threads with cancel(), the C API
#         with its cross-thread cancel) built with TSan in build-tsan.
# Any sanitizer report ends the process that made it with a non-zero status
# and is written to build-*/sanitizer-reports/, which must stay empty: a
# report from a kvlm that a script test expected to fail (or whose stderr it
# swallowed) fails the script too.
#   tsan-unit: tsan without the CLI and the C API (the gtest concurrency
#         tests only; what .ci/run adds to the test suite).
# Usage: scripts/sanitize.sh [asan|tsan|tsan-unit|all] [extra ctest arguments...]
#   KVLM_SANITIZE_BUILD=0 runs the tests of the existing build dirs unbuilt.
# Needs the test prerequisites (scripts/setup.sh) and gcc's libasan/libubsan/libtsan.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${1:-all}
shift || true
case "$MODE" in asan|tsan|tsan-unit|all) ;; *) echo "usage: scripts/sanitize.sh [asan|tsan|tsan-unit|all] [ctest args...]" >&2; exit 2 ;; esac
JOBS=${KVLM_SANITIZE_JOBS:-2}
CTEST_JOBS=${KVLM_SANITIZE_CTEST_JOBS:-$(nproc)}
BUILD=${KVLM_SANITIZE_BUILD:-1}
# Builds share the machine through one lock when flock is there.
LOCK=${KVLM_BUILD_LOCK:-/tmp/kvlm-build.lock}
locked() { if command -v flock >/dev/null; then flock "$LOCK" "$@"; else "$@"; fi; }

# test_install builds and installs an unsanitized kvlm of its own with a
# separate CMake run (about 5 minutes), so it checks nothing here.
ASAN_EXCLUDE=${KVLM_ASAN_EXCLUDE:-^test_install$}
# The tests that run threads against shared objects (the thread pool runs
# under every forward call of these too).
TSAN_TESTS=${KVLM_TSAN_TESTS:-'ConcurrentSessions\.|ForwardBatch|DecodeBatcher\.|ProviderConcurrency\.|ThreadPoolTest\.|ChatTemplateApi\.ConcurrentRendersAgree|TokenizerLlama3\.ThreadsAgree|^test_c_api$'}
# What tsan builds: test_c_api needs the CLI and the C driver too; the CI
# subset (docs/TESTING.md) builds kvlm_tests alone.
read -r -a TSAN_TARGETS <<<"${KVLM_TSAN_TARGETS:-kvlm_tests kvlm_cli kvlm_c_api_test}"
if [ "$MODE" = tsan-unit ]; then
  MODE=tsan
  TSAN_TARGETS=(kvlm_tests)
  TSAN_TESTS=${TSAN_TESTS%|^test_c_api$}
fi

# Configures and builds one sanitized tree (build-dir sanitizer targets...),
# saying how long the build took once it held the lock.
build() {
  local dir=$1 sanitizer=$2
  shift 2
  [ "$BUILD" = 0 ] && return 0
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKVLM_SANITIZE="$sanitizer" \
    -DKVLM_BUILD_BENCH=OFF -DKVLM_INSTALL=OFF >/dev/null
  locked bash -c 'start=$SECONDS; cmake --build "$@"; echo "sanitize.sh: built $1 in $((SECONDS - start)) s"' \
    build "$dir" -j"$JOBS" "$@"
}

# A fresh, empty report directory for one run (build-dir -> its path).
reports_dir() {
  rm -rf "$1/sanitizer-reports"
  mkdir -p "$1/sanitizer-reports"
  echo "$PWD/$1/sanitizer-reports"
}

# Fails the run when any process wrote a report (printed here in full).
check_reports() {
  if [ -n "$(find "$1" -type f -size +0)" ]; then
    echo "sanitize.sh: sanitizer reports in $1:" >&2
    find "$1" -type f -size +0 -print -exec cat {} \; >&2
    return 1
  fi
  echo "sanitize.sh: no sanitizer reports"
}

# Runs ctest in one build dir (build-dir label reports-dir ctest-args...),
# then fails the run on a failed test or on any report written.
status=0
run_tests() {
  local dir=$1 label=$2 reports=$3
  shift 3
  local start=$SECONDS
  ctest --test-dir "$dir" --output-on-failure -j"$CTEST_JOBS" "$@" || status=1
  echo "sanitize.sh: $label tests ran in $((SECONDS - start)) s"
  check_reports "$reports" || status=1
}

if [ "$MODE" = asan ] || [ "$MODE" = all ]; then
  build build-asan address
  reports=$(reports_dir build-asan)
  # halt_on_error / exitcode: the first report fails the process.
  export ASAN_OPTIONS=halt_on_error=1:exitcode=86:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:log_path=$reports/asan
  export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:exitcode=87:log_path=$reports/ubsan
  echo "sanitize.sh: ASan + UBSan, every test but: $ASAN_EXCLUDE"
  run_tests build-asan ASan "$reports" -E "$ASAN_EXCLUDE" "$@"
  unset ASAN_OPTIONS UBSAN_OPTIONS
fi
if [ "$MODE" = tsan ] || [ "$MODE" = all ]; then
  build build-tsan thread --target "${TSAN_TARGETS[@]}"
  reports=$(reports_dir build-tsan)
  export TSAN_OPTIONS=halt_on_error=1:exitcode=66:second_deadlock_stack=1:log_path=$reports/tsan
  echo "sanitize.sh: TSan, tests matching: $TSAN_TESTS"
  run_tests build-tsan TSan "$reports" -R "$TSAN_TESTS" "$@"
  unset TSAN_OPTIONS
fi
exit $status
