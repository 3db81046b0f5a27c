#!/usr/bin/env bash
# Every benchmark in bench/, one after another; each prints its own figures.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
shopt -s nullglob
ran=0
for bench in bench/bench_*.py; do
  echo "== $bench"
  args=()
  # robot.wtf's sources may be missing here: bench_anchor.py then says which and is skipped, not failed
  if [ "$bench" = bench/bench_anchor.py ]; then args=(--skip-unavailable); fi
  python "$bench" "${args[@]}"
  ran=1
done
[ "$ran" = 1 ] || echo "no benchmarks yet"
