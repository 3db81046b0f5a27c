"""Markdown as the wiki core needs it: front matter, headings and sections, and the edit operations.

Front matter is a YAML block between ``---`` lines at the very top. It is kept byte for byte: section
operations only ever touch the body, and a replacement without front matter keeps the page's existing one.
Sections are ATX headings (``#`` … ``######``) outside fenced code; a section runs from its heading to the next
heading of the same or a higher level. A section is named by its heading text or by a path of headings,
``"Setup Guide > Linux"``, matched without regard to case or repeated spaces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from .errors import AmbiguousMatch, InvalidEdit, SectionNotFound

_FM_OPEN = re.compile(r"\A---[ \t]*\r?\n")
_FM_CLOSE = re.compile(r"^(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.M)
_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Document:
    front_matter: str  # the raw block including both fences, or ""
    meta: dict[str, Any]
    body: str

    @property
    def text(self) -> str:
        return self.front_matter + self.body


def parse(text: str) -> Document:
    opening = _FM_OPEN.match(text)
    if opening:
        closing = _FM_CLOSE.search(text, opening.end())
        if closing:
            raw = text[: closing.end()]
            try:
                loaded = yaml.load(text[opening.end() : closing.start()], Loader=_LOADER)  # noqa: S506 - safe loader
            except yaml.YAMLError:
                loaded = None
            meta = loaded if isinstance(loaded, dict) else {}
            return Document(raw, {str(k): v for k, v in meta.items()}, text[closing.end() :])
    return Document("", {}, text)


def _strings(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [s.strip() for s in re.split(r"[,\n]", value) if s.strip()]
    if isinstance(value, list | tuple | set):
        return [str(v).strip() for v in value if v is not None and str(v).strip()]
    return [str(value)]


def tags(meta: dict[str, Any]) -> list[str]:
    return _strings(meta.get("tags", meta.get("tag")))


def categories(meta: dict[str, Any]) -> list[str]:
    return _strings(meta.get("categories", meta.get("category")))


# -- headings and sections ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    start: int  # offset of the heading line in the body
    body_start: int  # offset just after the heading line
    end: int  # offset where the section ends
    path: tuple[str, ...]  # texts of the enclosing headings, then this one

    @property
    def label(self) -> str:
        return " > ".join(self.path)


def headings(body: str) -> list[Heading]:
    found: list[tuple[int, str, int, int]] = []
    fence: str | None = None
    offset = 0
    for line in body.splitlines(keepends=True):
        stripped = line.rstrip("\r\n")
        fence_match = _FENCE.match(stripped)
        if fence is not None:
            if (
                fence_match
                and fence_match.group(1)[0] == fence[0]
                and len(fence_match.group(1)) >= len(fence)
            ):
                fence = None
        elif fence_match:
            fence = fence_match.group(1)
        else:
            m = _ATX.match(stripped)
            if m:
                found.append((len(m.group(1)), (m.group(2) or "").strip(), offset, offset + len(line)))
        offset += len(line)
    result: list[Heading] = []
    stack: list[tuple[int, str]] = []
    for i, (level, text, start, body_start) in enumerate(found):
        end = len(body)
        for later_level, _t, later_start, _b in found[i + 1 :]:
            if later_level <= level:
                end = later_start
                break
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, text))
        result.append(Heading(level, text, start, body_start, end, tuple(t for _l, t in stack)))
    return result


def _norm(value: str) -> str:
    return " ".join(value.split()).casefold()


def find_section(body: str, name: str) -> Heading:
    wanted = [_norm(part) for part in name.split(">") if part.strip()]
    if not wanted:
        raise InvalidEdit("a section is named by its heading, e.g. 'Linux' or 'Setup Guide > Linux'")
    all_headings = headings(body)
    matches = []
    for h in all_headings:
        if _norm(h.text) != wanted[-1]:
            continue
        ancestors = [_norm(t) for t in h.path[:-1]]
        it = iter(ancestors)
        if all(any(a == w for a in it) for w in wanted[:-1]):
            matches.append(h)
    if len(matches) == 1:
        return matches[0]
    if not matches:
        available = ", ".join(f"'{h.label}'" for h in all_headings[:40]) or "none (the page has no headings)"
        raise SectionNotFound(f"no section '{name}' on this page; its sections are: {available}")
    raise AmbiguousMatch(
        f"'{name}' matches {len(matches)} sections: "
        + ", ".join(f"'{h.label}'" for h in matches)
        + "; name it by its path, e.g. 'Parent > Child'"
    )


def section_text(body: str, name: str) -> str:
    h = find_section(body, name)
    return body[h.start : h.end]


# -- edits ----------------------------------------------------------------------------------------------


def _block(content: str) -> str:
    return content if content.endswith("\n") else content + "\n"


def replace_unique(text: str, old: str, new: str) -> str:
    if not old:
        raise InvalidEdit("'old_text' must not be empty")
    count = text.count(old)
    if count == 0:
        raise InvalidEdit(
            "'old_text' was not found on the page; read the page again and copy the exact text to replace"
        )
    if count > 1:
        raise AmbiguousMatch(
            f"'old_text' appears {count} times on the page; include more surrounding text so it is unique"
        )
    return text.replace(old, new, 1)


def append(doc: Document, content: str) -> str:
    body = doc.body
    if body and not body.endswith("\n"):
        body += "\n"
    if body.strip():
        body += "\n"
    return doc.front_matter + body + _block(content)


def prepend(doc: Document, content: str) -> str:
    sep = "\n" if doc.body.strip() else ""
    return doc.front_matter + _block(content) + sep + doc.body


def replace_section(doc: Document, name: str, content: str) -> str:
    h = find_section(doc.body, name)
    body = doc.body
    new = "\n" + _block(content.strip("\n")) if content.strip() else ""
    trailing = "\n" if h.end < len(body) else ""
    return doc.front_matter + body[: h.body_start] + new + trailing + body[h.end :]


def insert_before_section(doc: Document, name: str, content: str) -> str:
    h = find_section(doc.body, name)
    body = doc.body
    return doc.front_matter + body[: h.start] + _block(content) + "\n" + body[h.start :]


def insert_after_section(doc: Document, name: str, content: str) -> str:
    h = find_section(doc.body, name)
    body = doc.body
    head = body[: h.end]
    if head and not head.endswith("\n"):
        head += "\n"
    if not head.endswith("\n\n"):
        head += "\n"
    tail = body[h.end :]
    return doc.front_matter + head + _block(content) + ("\n" if tail else "") + tail


def title_of(doc: Document, fallback: str) -> str:
    title = doc.meta.get("title")
    if isinstance(title, str) and title.strip():
        return title.strip()
    for h in headings(doc.body[:4096]):
        if h.level == 1 and h.text:
            return h.text
    return fallback
