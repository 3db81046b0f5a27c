"""The reference PDS and PLC as a local test image, built from the host's ``.build/pds`` (ATPROTO-PDS.md).

Nothing is pulled: the image is ``python:3.11-slim`` (Debian bookworm, the glibc the Node 22 binary and the
compiled ``better-sqlite3`` need) plus the copy ``scripts/install-pds.sh`` installed. Its tag is a hash of what
goes into it, so it is built once per PDS version and Dockerfile and reused afterwards, like the stack's images
(the context is 560 MB: a rebuild takes minutes on a loaded machine, a reuse nothing).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

from tests.support.pds import NODE_SUPPORT, ensure_installed

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "tests" / "integration" / "pds" / "Dockerfile"
LAUNCHER = NODE_SUPPORT / "pds.mjs"
REPOSITORY = "wikibot/e2e-pds"


def pds_image_tag(base: Path) -> str:
    digest = hashlib.sha256()
    for part in (DOCKERFILE.read_bytes(), LAUNCHER.read_bytes()):
        digest.update(hashlib.sha256(part).digest())
    for stamp in sorted(p.name for p in base.glob(".installed-*")):
        digest.update(stamp.encode())
    return f"{REPOSITORY}:{digest.hexdigest()[:12]}"


def ensure_pds_image() -> str:
    """Install the PDS on the host if needed, build the image if this exact one does not exist; its tag."""
    base = ensure_installed()
    tag = pds_image_tag(base)
    present = subprocess.run(["docker", "image", "inspect", tag], capture_output=True, check=False)
    if present.returncode == 0:
        return tag
    shutil.copyfile(LAUNCHER, base / "app" / "wikibot-pds.mjs")
    built = subprocess.run(
        ["docker", "build", "-q", "-t", tag, "-f", str(DOCKERFILE), str(base)],
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    if built.returncode != 0:
        raise RuntimeError(f"building {tag} failed:\n{built.stderr[-3000:]}")
    return tag
