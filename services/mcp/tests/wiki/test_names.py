"""Page and attachment names: Otterwiki's mapping (checked against Otterwiki itself) and the validation."""

from pathlib import Path

import pytest

from services.mcp.tests.support.otterwiki_oracle import otterwiki
from wikibot_mcp.wiki.errors import InvalidPath
from wikibot_mcp.wiki.names import (
    attachment_name,
    get_attachment_directoryname,
    get_filename,
    get_pagename,
    page_file,
)

PAGES = ["Setup Guide", "Team/Onboarding", "team//Sub/", "Ünïcode Päge", "a.b", "CamelCase", "x/y/z"]
FILES = ["Setup Guide.md", "Team/Onboarding.md", "Ünïcode Päge.md", "a.b.md", "deep/er/Page.md"]


def test_mapping_is_otterwikis_own(tmp_path: Path) -> None:
    oracle = otterwiki(tmp_path, {"pages": PAGES, "files": FILES, "rewrites": []})
    assert [get_filename(p) for p in PAGES] == oracle["filenames"]
    assert [get_pagename(f) for f in FILES] == oracle["pagenames"]
    assert [get_attachment_directoryname(f) for f in FILES] == oracle["attachment_dirs"]


@pytest.mark.parametrize(
    ("given", "file"),
    [
        ("Setup Guide", "Setup Guide.md"),
        ("Setup Guide.md", "Setup Guide.md"),
        ("  Team/Onboarding ", "Team/Onboarding.md"),
        ("Team//Onboarding/", "Team/Onboarding.md"),
        ("v1.2 notes", "v1.2 notes.md"),
        ("日本語", "日本語.md"),
    ],
)
def test_valid_page_paths(given: str, file: str) -> None:
    assert page_file(given) == file


@pytest.mark.parametrize(
    ("given", "fragment"),
    [
        ("", "required"),
        ("   ", "required"),
        ("../etc/passwd", "'..'"),
        ("a/../b", "'..'"),
        ("/etc/passwd", "relative"),
        ("C:/Windows", "relative"),
        ("~root", "relative"),
        ("a\x00b", "control"),
        ("a\nb", "control"),
        ("a\u202eb", "control"),
        (".git/config", "dot"),
        ("a/.hidden", "dot"),
        ("what?", "'?'"),
        ("a#b", "'#'"),
        ("a\\b", "'\\\\'"),
        ("x" * 201, "longer"),
        ("a/ b", "spaces"),
        ("/".join(["é" * 130] * 1), "too long"),
    ],
)
def test_invalid_page_paths(given: str, fragment: str) -> None:
    with pytest.raises(InvalidPath) as err:
        page_file(given)
    assert fragment in err.value.message
    assert err.value.status == 400


def test_attachment_names() -> None:
    assert attachment_name("diagram.png") == "diagram.png"
    for bad, fragment in [
        ("", "required"),
        ("a/b.png", "slashes"),
        ("..", "usable"),
        (".env", "dot"),
        ("notes.md", "pages"),
        ("a\x00.png", "control"),
        ("x" * 250 + ".png", "too long"),
    ]:
        with pytest.raises(InvalidPath) as err:
            attachment_name(bad)
        assert fragment in err.value.message, bad
