#!/usr/bin/env bash
# Pin what the images install: export each service's third-party requirements from uv.lock (the whole closure,
# extras included, with hashes), and the build backend the images build our own packages with.
# `scripts/lock.sh --check` only verifies that uv.lock matches the pyproject files.
set -euo pipefail
cd "$(dirname "$0")/.."
uv lock ${1:-}
for svc in platform mcp otterwiki embedder; do
  uv export --quiet --frozen --no-dev --no-emit-workspace --package "wikibot-$svc" \
    --output-file "services/$svc/requirements.txt" >/dev/null
done
uv export --quiet --frozen --only-group image-build --no-emit-workspace --no-emit-project \
  --output-file services/build-requirements.txt >/dev/null
