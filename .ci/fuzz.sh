#!/usr/bin/env bash
# CI: a short fuzz run of every parser of outside input (30 s per target); fails on any crash.
set -euo pipefail
cd "$(dirname "$0")/.."
exec fuzz/run.sh "${FUZZ_SECONDS:-30}"
