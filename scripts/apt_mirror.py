"""Print the Debian mirror this machine's apt uses for bookworm ``main`` (what debootstrap should fetch from).

Reads one-line sources (``sources.list``, ``sources.list.d/*.list``) first, then deb822 stanzas
(``sources.list.d/*.sources``), as apt lists them. Exits 1, printing nothing, when no source matches.
Usage: python3 scripts/apt_mirror.py [APT_DIR]   (default /etc/apt)
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

SUITE = "bookworm"


def _one_line(text: str) -> str | None:
    for line in text.splitlines():
        words = re.sub(r"\[[^]]*\]", " ", line.split("#", 1)[0]).split()
        if len(words) >= 4 and words[0] == "deb" and words[2] == SUITE and "main" in words[3:]:
            return words[1]
    return None


def _deb822(text: str) -> str | None:
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, list[str]] = {}
        key = ""
        for line in stanza.splitlines():
            if line.lstrip().startswith("#"):
                continue
            if line[:1].isspace() and key:  # a continuation line
                fields[key] += line.split()
            elif ":" in line:
                key, value = line.split(":", 1)
                key = key.strip().lower()
                fields[key] = value.split()
        if fields.get("enabled", ["yes"]) == ["no"]:
            continue
        if (
            "deb" in fields.get("types", [])
            and SUITE in fields.get("suites", [])
            and "main" in fields.get("components", [])
            and fields.get("uris")
        ):
            return fields["uris"][0]
    return None


def mirror(apt_dir: Path) -> str | None:
    one_line = [apt_dir / "sources.list", *sorted((apt_dir / "sources.list.d").glob("*.list"))]
    for path in one_line:
        if path.is_file() and (found := _one_line(path.read_text())):
            return found
    for path in sorted((apt_dir / "sources.list.d").glob("*.sources")):
        if found := _deb822(path.read_text()):
            return found
    return None


def main() -> int:
    found = mirror(Path(sys.argv[1] if len(sys.argv) > 1 else "/etc/apt"))
    if found is None:
        return 1
    print(found)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
