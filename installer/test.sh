#!/bin/sh
# SPDX-License-Identifier: AGPL-3.0-or-later
# Installs dependencies (with the test peers), then builds and runs every test:
#   build/        RelWithDebInfo: unit + integration tests
#   build-asan/   AddressSanitizer + UBSan: unit + integration tests
#   build-fuzz/   clang + libFuzzer: each fuzz target for a short bounded run
# Exits non-zero when any build or test fails.
set -eu
cd "$(dirname "$0")/.."
sh installer/deps.sh --test
export CCACHE_DIR="${CCACHE_DIR:-$PWD/.cache/ccache}"
JOBS=$(nproc)
status=0

run_suite() { # name builddir "targets (empty = all)" cmake-args...
    name=$1; dir=$2; targets=$3; shift 3
    echo "=== $name: configure and build ($dir)"
    cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
    # shellcheck disable=SC2086 # targets is a word list
    cmake --build "$dir" -j "$JOBS" ${targets:+--target $targets}
    echo "=== $name: tests"
    ctest --test-dir "$dir" --output-on-failure -j "$JOBS" || status=1
}

run_suite plain build "" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVALV_WERROR=ON
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
run_suite sanitizers build-asan "" -DCMAKE_BUILD_TYPE=Debug -DVALV_SANITIZE=ON
export CC=clang CXX=clang++
run_suite fuzz build-fuzz "fuzz_imap fuzz_smtp fuzz_mime fuzz_pop3 fuzz_mtasts fuzz_smtpreply fuzz_dkimsig fuzz_srs fuzz_authres fuzz_dmarc fuzz_spf" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVALV_FUZZ=ON -DVALV_BUILD_TESTS=OFF
exit $status
