"""Run Otterwiki's own helpers (which need its Flask app) in a subprocess, configured as Wikibot runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

SCRIPT = r"""
import json, sys
from otterwiki.server import app
from otterwiki import helper, backlinks
job = json.load(sys.stdin)
out = {}
with app.app_context():
    out["filenames"] = [helper.get_filename(p) for p in job["pages"]]
    out["pagenames"] = [helper.get_pagename(f, full=True) for f in job["files"]]
    out["attachment_dirs"] = [helper.get_attachment_directoryname(f) for f in job["files"]]
    out["rewrites"] = [
        backlinks._rewrite_content(c, helper.get_filename(old), new, False, helper.get_filename(old))
        for c, old, new in job["rewrites"]
    ]
json.dump(out, sys.stdout)
"""


def otterwiki(tmp: Path, job: dict[str, Any]) -> dict[str, Any]:
    repo = tmp / "oracle-repo"
    repo.mkdir(exist_ok=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    settings = tmp / "oracle.cfg"
    settings.write_text(
        f"REPOSITORY = {str(repo)!r}\nSECRET_KEY = 'x' * 32\nRETAIN_PAGE_NAME_CASE = True\n"
        f"SQLALCHEMY_DATABASE_URI = 'sqlite:///{tmp / 'oracle.db'}'\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env={**os.environ, "OTTERWIKI_SETTINGS": str(settings)},
        cwd=tmp,
    )
    return json.loads(proc.stdout)  # type: ignore[no-any-return]
