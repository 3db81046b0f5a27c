"""Page and attachment names, mapped to files exactly as Otterwiki maps them.

Otterwiki's own mapping lives in ``otterwiki.helper`` (``get_filename``, ``get_pagename``,
``get_attachment_directoryname``), a module that imports its Flask app; with ``RETAIN_PAGE_NAME_CASE`` on
(``wikibot_shared.storage.OTTERWIKI_PAGE_CONFIG``) those functions reduce to the three below, built from the
same ``otterwiki.util`` helpers. ``tests/wiki/test_names.py`` runs Otterwiki's own beside them to prove it.

On top, every name is validated: no ``..``, absolute paths, NUL or control characters, no hidden segments
(``.git``), nothing Otterwiki's URLs cannot address (``?``, ``#``, ``\\``), and a sensible length.
"""

from __future__ import annotations

import unicodedata

from otterwiki.util import clean_slashes, sanitize_filename, split_path

from wikibot_shared.pathrules import path_problem
from wikibot_shared.storage import OTTERWIKI_PAGE_CONFIG

from .errors import InvalidPath

MAX_PATH_CHARS = 200
MAX_SEGMENT_BYTES = 240  # file systems allow 255 bytes per name; leave room for ".md" and temp suffixes

assert OTTERWIKI_PAGE_CONFIG["RETAIN_PAGE_NAME_CASE"] is True  # the mapping below assumes it


def _has_control(value: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co") for ch in value)


def get_filename(pagepath: str) -> str:
    """``otterwiki.helper.get_filename`` with RETAIN_PAGE_NAME_CASE: the page's file, relative to the repo."""
    p = clean_slashes(pagepath)
    return p if p.endswith(".md") else f"{p}.md"


def get_pagename(filepath: str) -> str:
    """``otterwiki.helper.get_pagename(full=True)`` with RETAIN_PAGE_NAME_CASE."""
    filepath = filepath.rstrip("/")
    if filepath.endswith(".md"):
        filepath = filepath[:-3]
    return "/".join(split_path(filepath))


def get_attachment_directoryname(filename: str) -> str:
    """``otterwiki.helper.get_attachment_directoryname``: a page's attachments live beside it, in ``Page/``."""
    if not filename.endswith(".md"):
        raise ValueError(filename)
    return filename[:-3]


def page_file(path: str) -> str:
    """Validate a page path given by a caller and return its file (``Team/Setup Guide`` → ``Team/Setup Guide.md``)."""
    if not isinstance(path, str) or not path.strip():
        raise InvalidPath("a page path is required, e.g. 'Setup Guide' or 'Team/Onboarding'")
    p = path.strip()
    if p.endswith(".md"):
        p = p[:-3]
    problem = path_problem(p, "page path", "page paths")
    if problem:
        raise InvalidPath(problem)
    p = clean_slashes(p)
    if len(p) > MAX_PATH_CHARS:
        raise InvalidPath(f"page path is longer than {MAX_PATH_CHARS} characters")
    for segment in p.split("/"):
        if len(segment.encode()) > MAX_SEGMENT_BYTES:
            raise InvalidPath(f"page path segment '{segment[:30]}…' is too long")
    if not p:
        raise InvalidPath("a page path is required, e.g. 'Setup Guide' or 'Team/Onboarding'")
    return get_filename(p)


def attachment_name(filename: str) -> str:
    """Validate an attachment's file name (no directories, no page files, nothing hidden)."""
    if not isinstance(filename, str) or not filename.strip():
        raise InvalidPath("an attachment file name is required, e.g. 'diagram.png'")
    name = filename.strip()
    if "\x00" in name or _has_control(name):
        raise InvalidPath("attachment names cannot contain NUL or control characters")
    if "/" in name or "\\" in name:
        raise InvalidPath("attachment names cannot contain slashes; name the page and the file separately")
    clean = sanitize_filename(name)
    if clean != name or name in (".", ".."):
        raise InvalidPath(f"'{name}' is not a usable file name" + (f"; try '{clean}'" if clean else ""))
    if name.startswith("."):
        raise InvalidPath("attachment names cannot start with a dot")
    if name.lower().endswith(".md"):
        raise InvalidPath("'.md' files are pages: use write_note for them")
    if len(name.encode()) > MAX_SEGMENT_BYTES:
        raise InvalidPath("attachment name is too long")
    return name
