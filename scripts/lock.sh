#!/usr/bin/env bash
# Pin what the images install: export each service's third-party requirements from uv.lock.
set -euo pipefail
cd "$(dirname "$0")/.."
uv lock ${1:-}
for svc in platform mcp otterwiki embedder; do
  uv export --quiet --frozen --no-dev --no-emit-workspace --package "wikibot-$svc" \
    --output-file "services/$svc/requirements.txt" >/dev/null
done
