#!/usr/bin/env bash
# Fuzzes every parser of outside input with libFuzzer, on stable Rust (see build.sh).
#   fuzz/run.sh [SECONDS [TARGET...]]     SECONDS per target (default 60); all targets by default
# Each target starts from its committed seeds in fuzz/corpus/<target>/ (read-only: new inputs go to
# a temporary corpus that is thrown away). A crash is saved in fuzz/artifacts/<target>/ and makes
# the script fail after the other targets have run; replay it with `<binary> <crash file>`.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-60}
shift || true
if (($#)); then
    targets=("$@")
else
    mapfile -t targets < <(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -vx lango-fuzz)
fi

bin=$(./build.sh)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

failed=()
printf '%-12s %12s %10s  %s\n' target executions new_inputs result
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t" "$work/$t"
    log="$work/$t.log"
    status=0
    nice -n 19 "$bin/$t" "$work/$t" "corpus/$t" \
        -max_total_time="$seconds" -rss_limit_mb=1024 -timeout=10 \
        -print_final_stats=1 -artifact_prefix="artifacts/$t/" >"$log" 2>&1 || status=$?
    # "Done N runs" at a normal end; after a crash, the last "#N" progress line.
    runs=$(sed -n -e 's/^Done \([0-9]*\) runs.*/\1/p' -e 's/^#\([0-9]*\)\t.*/\1/p' "$log" | tail -1)
    units=$(find "$work/$t" -type f | wc -l)
    if ((status == 0)); then
        result=ok
    else
        result="CRASH (exit $status)"
        failed+=("$t")
        grep -E 'panicked at|^==[0-9]+==|SUMMARY|Test unit written' "$log" | sed 's/^/    /' >&2 || tail -20 "$log" >&2
    fi
    printf '%-12s %12s %10s  %s\n' "$t" "${runs:-?}" "$units" "$result"
done

if ((${#failed[@]})); then
    echo "fuzz: crashes in ${failed[*]}: inputs saved under fuzz/artifacts/; replay with $bin/TARGET FILE" >&2
    exit 1
fi
