#!/usr/bin/env bash
# Build local stand-ins for the base images compose.yaml names (python:3.11-slim, redis:7, caddy:2)
# when no container registry is reachable. Images that already exist locally are left alone.
# Everything is built from Debian bookworm packages (see docs/offline.md).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build="$here/../.build/images"   # gitignored: holds the machine's CA certificates
mkdir -p "$build"
log() { printf '[offline-images] %s\n' "$*" >&2; }
have() { docker image inspect "$1" >/dev/null 2>&1; }

registry_reachable() {
  # A pull of a tiny image tells; on our machines it fails at DNS within a second.
  timeout 20 docker pull -q "$1" >/dev/null 2>&1
}

base_image() {
  have local/debian:bookworm && return
  log "debootstrap bookworm (about 30 s)"
  local root="$build/rootfs"
  rm -rf "$root"
  debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >"$build/debootstrap.log" 2>&1 \
    || { tail -20 "$build/debootstrap.log"; exit 1; }
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | docker import - local/debian:bookworm >/dev/null
  rm -rf "$root"
}

# Copy the host's extra CA certificates (TLS-intercepting proxy) into a build context; never committed.
ca_context() {
  local ctx=$1
  mkdir -p "$ctx/ca"
  rm -f "$ctx"/ca/*.crt
  cp /usr/local/share/ca-certificates/*.crt "$ctx/ca/" 2>/dev/null || true
}

python_image() {
  local ctx="$build/python"
  mkdir -p "$ctx"; ca_context "$ctx"
  cat >"$ctx/Dockerfile" <<'DOCKER'
FROM local/debian:bookworm
COPY ca/ /usr/local/share/ca-certificates/
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      python3 python3-venv python3-pip ca-certificates git curl \
    && update-ca-certificates && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv /usr/local/python && ln -sf /usr/local/python/bin/python /usr/local/bin/python
ENV PATH=/usr/local/python/bin:$PATH \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt \
    PIP_DISABLE_PIP_VERSION_CHECK=1
DOCKER
  docker build -q -t python:3.11-slim "$ctx" >/dev/null
}

redis_image() {
  local ctx="$build/redis"; mkdir -p "$ctx"
  cat >"$ctx/Dockerfile" <<'DOCKER'
FROM local/debian:bookworm
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server \
    && rm -rf /var/lib/apt/lists/* && mkdir -p /data && chown redis:redis /data
WORKDIR /data
EXPOSE 6379
CMD ["redis-server", "--bind", "0.0.0.0", "--protected-mode", "no"]
DOCKER
  docker build -q -t redis:7 "$ctx" >/dev/null
}

caddy_image() {
  local ctx="$build/caddy"; mkdir -p "$ctx"
  cat >"$ctx/Dockerfile" <<'DOCKER'
FROM local/debian:bookworm
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends caddy ca-certificates wget \
    && rm -rf /var/lib/apt/lists/* && mkdir -p /etc/caddy /data /config
ENV XDG_CONFIG_HOME=/config XDG_DATA_HOME=/data
EXPOSE 80 443
CMD ["caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"]
DOCKER
  docker build -q -t caddy:2 "$ctx" >/dev/null
}

postgres_image() {
  # Same interface as the official image: POSTGRES_USER/PASSWORD/DB, data in /var/lib/postgresql/data.
  local ctx="$build/postgres"; mkdir -p "$ctx"
  cat >"$ctx/entrypoint.sh" <<'SH'
#!/bin/bash
set -euo pipefail
export PGDATA=${PGDATA:-/var/lib/postgresql/data}
bin=$(ls -d /usr/lib/postgresql/*/bin | tail -1)
mkdir -p "$PGDATA" /run/postgresql && chown -R postgres:postgres "$PGDATA" /run/postgresql && chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pw=$(mktemp) && echo "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}" >"$pw" && chown postgres "$pw"
  runuser -u postgres -- "$bin/initdb" -D "$PGDATA" -U "${POSTGRES_USER:-postgres}" --pwfile="$pw" -A scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null
  rm -f "$pw"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  if [ "${POSTGRES_DB:-}" ] && [ "$POSTGRES_DB" != "postgres" ]; then
    runuser -u postgres -- "$bin/postgres" --single -D "$PGDATA" postgres <<<"CREATE DATABASE \"$POSTGRES_DB\" OWNER \"${POSTGRES_USER:-postgres}\";" >/dev/null
  fi
fi
exec runuser -u postgres -- "$bin/postgres" -D "$PGDATA" -c listen_addresses='*'
SH
  cat >"$ctx/Dockerfile" <<'DOCKER'
FROM local/debian:bookworm
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql \
    && rm -rf /var/lib/apt/lists/*
COPY entrypoint.sh /usr/local/bin/docker-entrypoint.sh
RUN chmod +x /usr/local/bin/docker-entrypoint.sh
ENV PATH=/usr/lib/postgresql/15/bin:$PATH
EXPOSE 5432
CMD ["/usr/local/bin/docker-entrypoint.sh"]
DOCKER
  docker build -q -t postgres:15 "$ctx" >/dev/null
}

ensure() {
  local image=$1 builder=$2
  if have "$image"; then return; fi
  if [ "${WIKIBOT_OFFLINE:-auto}" != "1" ] && registry_reachable "$image"; then
    log "pulled $image"; return
  fi
  base_image
  log "building stand-in $image"
  "$builder"
}

ensure python:3.11-slim python_image
ensure redis:7 redis_image
ensure caddy:2 caddy_image
if [ "${WIKIBOT_POSTGRES_IMAGE:-1}" = 1 ]; then ensure postgres:15 postgres_image; fi
log "base images ready"
