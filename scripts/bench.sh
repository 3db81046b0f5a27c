#!/usr/bin/env bash
# Every benchmark in bench/, one after another; each prints its own figures.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
shopt -s nullglob
ran=0
for bench in bench/bench_*.py; do
  echo "== $bench"
  python "$bench"
  ran=1
done
[ "$ran" = 1 ] || echo "no benchmarks yet"
