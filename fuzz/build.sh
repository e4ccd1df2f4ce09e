#!/usr/bin/env bash
# Builds every fuzz target with libFuzzer's coverage instrumentation on stable Rust: the flags
# cargo-fuzz passes for `--sanitizer none`, plus debug assertions and overflow checks.
# Binaries land in fuzz/target/<triple>/release/<target>. Prints the path of that directory.
set -euo pipefail
cd "$(dirname "$0")"
triple=$(rustc -vV | sed -n 's/^host: //p')
flags=(
    --cfg fuzzing
    -Cpasses=sancov-module
    -Cllvm-args=-sanitizer-coverage-level=4
    -Cllvm-args=-sanitizer-coverage-inline-8bit-counters
    -Cllvm-args=-sanitizer-coverage-pc-table
    -Cllvm-args=-sanitizer-coverage-trace-compares
    -Cllvm-args=-sanitizer-coverage-stack-depth
    -Cllvm-args=-simplifycfg-branch-fold-threshold=0
    -Cdebug-assertions
    -Coverflow-checks
)
# --target keeps RUSTFLAGS off build scripts and proc macros (they must not be instrumented).
RUSTFLAGS="${flags[*]}" nice -n 19 cargo build --release --locked --target "$triple" --bins >&2
echo "$PWD/target/$triple/release"
