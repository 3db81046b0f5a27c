# Sourced by the scripts: helpers they share.

# A Python that has pip (the project's uv venv has none): the first python3/python on PATH with pip, or
# WIKIBOT_PIP_PYTHON. pip, not a hand-made download, because it honours the machine's index settings (pip.conf).
pip_python() {
  if [ -n "${WIKIBOT_PIP_PYTHON:-}" ]; then echo "$WIKIBOT_PIP_PYTHON"; return; fi
  local candidate
  for candidate in $(type -ap python3 python) /usr/bin/python3; do
    if "$candidate" -m pip --version >/dev/null 2>&1; then echo "$candidate"; return; fi
  done
  echo "no Python with pip found: install python3-pip or set WIKIBOT_PIP_PYTHON" >&2
  return 1
}
