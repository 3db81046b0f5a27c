#!/usr/bin/env bash
# The whole test suite: lint and types, unit tests (SQLite and PostgreSQL), integration tests on the compose stack.
# `scripts/test.sh fast` skips the compose-stack tests.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
export PATH="$PWD/.venv/bin:$PATH"

echo "== lint and types"
ruff check .
ruff format --check .
mypy shared/src services/*/src
./scripts/lock.sh --check >/dev/null 2>&1 || { echo "uv.lock is stale: run make lock"; exit 1; }
git diff --exit-code -- services/*/requirements.txt >/dev/null || { echo "requirements.txt stale: run make lock"; exit 1; }

echo "== unit tests"
pytest shared/tests services tests/deploy --timeout 600 -p no:cacheprovider -q

if [ "${1:-all}" != "fast" ]; then
  echo "== integration tests (compose stack)"
  pytest tests/integration --timeout 2400 -p no:cacheprovider -q
fi
