#!/usr/bin/env bash
# The sentence-transformers + torch reference for the embedding agreement test
# (services/embedder/tests/test_agreement.py), in a venv of its own: never in the workspace or an image.
#
# pip, not uv: on these machines `pip install torch==2.13.0` takes the local CPU build; anything that lets
# a resolver choose torch from PyPI downloads a multi-GB CUDA build.
# Prints the reference interpreter's path (what WIKIBOT_REFERENCE_PYTHON may be set to).
set -euo pipefail
VENV=${WIKIBOT_REFERENCE_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/wikibot/reference-venv}
if ! "$VENV/bin/python" -c "import sentence_transformers, torch" >/dev/null 2>&1; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q torch==2.13.0 >&2
  "$VENV/bin/pip" install -q "sentence-transformers==6.2.0" >&2
fi
echo "$VENV/bin/python"
