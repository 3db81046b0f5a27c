"""Which pages a question is about: a path prefix, a front-matter tag or category, a last change at or after a
time. ``list_notes`` and every search take the same filters, parsed and matched here against the page index
(``index.Snapshot``), so "pages tagged ops" means the same thing wherever it is asked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from wikibot_shared.errors import InputError

from .errors import InvalidPath
from .index import Snapshot
from .names import get_pagename, page_file

MAX_VALUE_CHARS = 200


def parse_since(value: str | int | float | None, name: str = "since") -> int | None:
    """An ISO 8601 time (``2025-01-31``, ``2025-01-31T12:00:00Z``) or unix seconds; ``name`` is the parameter's."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return int(value)
    text = value.strip()
    if text.isdigit():
        return int(text)
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(
            f"{name} '{value}' is not a time; use ISO 8601 such as 2025-01-31 or 2025-01-31T12:00:00Z",
            code="invalid_time",
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp())


def _prefix(value: str | None) -> str | None:
    """A path prefix, validated as page paths are; a trailing ``/`` stays (``Team/`` is what is in Team)."""
    text = (value or "").strip()
    if not text:
        return None
    body = text.rstrip("/")
    if not body:
        raise InvalidPath(f"prefix '{text}' names no page path; leave prefix out to cover every page")
    name = get_pagename(page_file(body))
    return (name + "/" if text.endswith("/") else name).casefold()


def _value(name: str, value: str | None) -> str | None:
    text = (value or "").strip()
    if not text:
        return None
    if len(text) > MAX_VALUE_CHARS or any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise InputError(
            f"{name} '{text[:40]}' is not a front-matter value (at most {MAX_VALUE_CHARS} characters, "
            "no control characters)",
            code="invalid_filter",
        )
    return text.casefold()


@dataclass(frozen=True)
class PageFilter:
    """Parsed filters; every field None means every page. Matching is case-insensitive."""

    prefix: str | None = None
    tag: str | None = None
    category: str | None = None
    since: int | None = None  # unix seconds

    @classmethod
    def parse(
        cls,
        *,
        prefix: str | None = None,
        tag: str | None = None,
        category: str | None = None,
        updated_since: str | int | None = None,
    ) -> PageFilter:
        return cls(
            prefix=_prefix(prefix),
            tag=_value("tag", tag),
            category=_value("category", category),
            since=parse_since(updated_since, "updated_since"),
        )

    @property
    def active(self) -> bool:
        return any(v is not None for v in (self.prefix, self.tag, self.category, self.since))

    def files(self, snap: Snapshot) -> list[str]:
        """The page files of ``snap`` that pass, sorted by page path."""
        matches = []
        for file, page in snap.pages.items():
            if self.prefix is not None and not page.name.casefold().startswith(self.prefix):
                continue
            if self.tag is not None and self.tag not in (t.casefold() for t in page.tags):
                continue
            if self.category is not None and self.category not in (c.casefold() for c in page.categories):
                continue
            if self.since is not None and snap.files[file].updated < self.since:
                continue
            matches.append(file)
        return sorted(matches, key=lambda f: snap.pages[f].name)
