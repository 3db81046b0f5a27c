#!/usr/bin/env bash
# Make this machine able to run Wikibot's tests: Python tools, real Redis/PostgreSQL/git/Chromium, Docker.
# Installs only what is missing; on a machine without apt (or not root) it says what to install instead.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '[bootstrap] %s\n' "$*" >&2; }

need_apt=()
command -v redis-server >/dev/null || need_apt+=(redis-server)
command -v git >/dev/null || need_apt+=(git)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || need_apt+=(postgresql)
command -v chromium >/dev/null || need_apt+=(chromium)
command -v dockerd >/dev/null || need_apt+=(docker.io)
command -v debootstrap >/dev/null || need_apt+=(debootstrap)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing ${need_apt[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${need_apt[@]}" >/dev/null
  else
    log "please install: ${need_apt[*]}"; exit 1
  fi
fi

command -v uv >/dev/null || { log "installing uv"; python3 -m pip install -q uv; }
uv sync --frozen --quiet
./scripts/install-kubectl.sh
./scripts/install-pds.sh   # the reference ATProto PDS + PLC the sign-in tests run against
./scripts/install-ts-sdk.sh   # the official TypeScript MCP SDK, run with that Node, for the connector test
bash services/embedder/scripts/reference-venv.sh >/dev/null   # torch reference for the embedding agreement test
./scripts/install-docker.sh
./scripts/offline-images.sh
