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
git diff --exit-code -- services/*requirements.txt services/*/requirements.txt >/dev/null \
  || { echo "requirements.txt stale: run make lock"; exit 1; }

echo "== unit tests"
pytest shared/tests services tests/deploy tests/tenancy tests/outage tests/schemas --timeout 600 -p no:cacheprovider -q

if [ "${1:-all}" != "fast" ]; then
  # What a new machine's `make up` does: base stand-ins from a new debootstrap and every image without Docker's
  # layer cache, so a build that only works from cached layers fails here. The integration stacks then reuse
  # these layers; the images are removed at the end (the next run builds from nothing again).
  echo "== images, built from nothing"
  export WIKIBOT_TAG=${WIKIBOT_TAG:-test-$(pwd -P | sha256sum | cut -c1-8)}
  trap 'docker image rm -f $(docker image ls -q --filter "reference=wikibot/*:$WIKIBOT_TAG") >/dev/null 2>&1; docker image prune -f >/dev/null 2>&1 || true' EXIT
  mkdir -p .build
  started=$(date +%s)
  ./scripts/offline-images.sh --rebuild
  docker compose build --no-cache --progress=plain >.build/image-build.log 2>&1 \
    || { tail -40 .build/image-build.log; echo "image build failed: full log in .build/image-build.log"; exit 1; }
  echo "base stand-ins and $(grep -c ' Built$' .build/image-build.log) images built uncached in $(( $(date +%s) - started )) s"

  echo "== integration tests (compose stack)"
  pytest tests/integration --timeout 2400 -p no:cacheprovider -q
fi
