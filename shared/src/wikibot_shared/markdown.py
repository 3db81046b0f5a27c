"""The one Markdown model of a wiki page: front matter, headings and their paths, sections, title, links.

Every service reads pages through it (the MCP core and REST for ``read_note(section=…)`` and edits, the embedder
for its chunks), so a section label one of them shows is a label the others find.

- **Front matter** is a YAML block between ``---`` lines at the very top (closed by ``---`` or ``...``); it is kept
  byte for byte in ``Document.front_matter``.
- **Headings** are ATX (``#`` … ``######``) and setext (a one-line paragraph underlined with ``===`` or ``---``),
  never inside a fenced code block (CommonMark: a fence closes with the same character, at least as long).
- A **section** runs from its heading to the next heading of the same or a higher level. Its **path** is the
  headings that enclose it, then its own: ``("Setup Guide", "Linux")``; its **label** is the path joined by
  ``" > "``, made unique on the page: the second section with the very same path is ``"Notes [2]"``.
- A section is **found** by its label, or by its heading alone, or by any enclosing headings then its own
  (``"Setup > Linux"``), compared without regard to case or repeated spaces; a name that fits several sections
  is refused, listing them.
- The **title** is the front matter's ``title``, else the first H1, else the page's file name.
- **Links** are Otterwiki's: ``[[Page]]``, ``[[Title|Page]]`` and Markdown links to ``/Page`` (images aside).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import yaml

from .errors import InputError, NotFound

SEPARATOR = " > "
UNTITLED = "(untitled)"  # the name of a heading with no text

_FM_OPEN = re.compile(r"\A---[ \t]*\r?\n")
_FM_CLOSE = re.compile(r"^(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.M)
_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
# A line that cannot be the text of a setext heading (a list item, quote, table, heading or HTML block).
_NOT_PARAGRAPH = re.compile(r"^ {0,3}([-*+]\s|\d+[.)]\s|>|\||#|<)")
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

WIKILINK_RE = re.compile(r"\[\[([^\]]+)\]\]")
MARKDOWN_LINK_RE = re.compile(r"\[([^\]]+)\]\((/[^)]+)\)")


class SectionNotFound(NotFound):
    code = "section_not_found"


class AmbiguousMatch(InputError):
    code = "ambiguous"


class InvalidSection(InputError):
    code = "invalid_section"


# -- front matter -----------------------------------------------------------------------------------------


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


# -- headings and sections --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Heading:
    level: int
    text: str  # as written ("" for a bare "#")
    start: int  # offset of the heading (its text line, for setext) in the body
    body_start: int  # offset just after the heading (after the underline, for setext)
    end: int  # offset where the section ends
    path: tuple[str, ...]  # names of the enclosing headings, then this one's
    label: str  # the path joined by " > ", unique on the page

    @property
    def name(self) -> str:
        return self.path[-1]


def fence_ranges(lines: list[str]) -> list[tuple[int, int]]:
    """The fenced code blocks among ``lines``: (first line, line after the closing fence) of each; a block left
    open runs to the end."""
    ranges: list[tuple[int, int]] = []
    opened: tuple[int, str] | None = None
    for i, line in enumerate(lines):
        stripped = line.rstrip("\r\n")
        match = _FENCE.match(stripped)
        if opened is None:
            if match:
                opened = (i, match.group(1))
        elif _closes(match, opened[1], stripped):
            ranges.append((opened[0], i + 1))
            opened = None
    if opened is not None:
        ranges.append((opened[0], len(lines)))
    return ranges


def _closes(match: re.Match[str] | None, opener: str, line: str) -> bool:
    """CommonMark: a closing fence is the opener's character, at least as long, with no info string."""
    return (
        match is not None
        and match.group(1)[0] == opener[0]
        and len(match.group(1)) >= len(opener)
        and not line[match.end() :].strip()
    )


def _in_code(lines: list[str]) -> list[bool]:
    inside = [False] * len(lines)
    for start, end in fence_ranges(lines):
        inside[start:end] = [True] * (end - start)
    return inside


def _found(body: str) -> list[tuple[int, str, int, int]]:
    """(level, text, start, body_start) of every heading, in order."""
    lines = body.splitlines(keepends=True)
    in_code = _in_code(lines)
    found: list[tuple[int, str, int, int]] = []
    offset = 0
    para_start: int | None = None  # offset of the current paragraph's first line, if it has exactly one line
    para_lines = 0
    for line, code in zip(lines, in_code, strict=True):
        stripped = line.rstrip("\r\n")
        nxt = offset + len(line)
        if code:
            para_lines, para_start = 0, None
        elif atx := _ATX.match(stripped):
            found.append((len(atx.group(1)), (atx.group(2) or "").strip(), offset, nxt))
            para_lines, para_start = 0, None
        elif (setext := _SETEXT.match(stripped)) and para_lines == 1 and para_start is not None:
            text = body[para_start:offset].strip()
            found.append((1 if setext.group(1)[0] == "=" else 2, text, para_start, nxt))
            para_lines, para_start = 0, None
        elif not stripped.strip():
            para_lines, para_start = 0, None
        else:
            if para_lines == 0:
                para_start = None if _NOT_PARAGRAPH.match(stripped) else offset
            para_lines += 1
        offset = nxt
    return found


def headings(body: str) -> list[Heading]:
    found = _found(body)
    result: list[Heading] = []
    stack: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    for i, (level, text, start, body_start) in enumerate(found):
        end = next((s for lvl, _t, s, _b in found[i + 1 :] if lvl <= level), len(body))
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, text or UNTITLED))
        path = tuple(name for _lvl, name in stack)
        label = SEPARATOR.join(path)
        key = _norm(label)
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            label = f"{label} [{seen[key]}]"
        result.append(Heading(level, text, start, body_start, end, path, label))
    return result


def _norm(value: str) -> str:
    return " ".join(value.split()).casefold()


def find_section(body: str, name: str) -> Heading:
    wanted = [_norm(part) for part in name.split(">") if part.strip()]
    if not wanted:
        raise InvalidSection("a section is named by its heading, e.g. 'Linux' or 'Setup Guide > Linux'")
    all_headings = headings(body)
    exact = [h for h in all_headings if _norm(h.label) == _norm(SEPARATOR.join(wanted))]
    if exact:
        return exact[0]  # labels are unique
    matches = []
    for h in all_headings:
        if _norm(h.name) != wanted[-1]:
            continue
        ancestors = iter(_norm(t) for t in h.path[:-1])
        if all(any(a == w for a in ancestors) for w in wanted[:-1]):
            matches.append(h)
    if len(matches) == 1:
        return matches[0]
    if not matches:
        available = ", ".join(f"'{h.label}'" for h in all_headings[:40]) or "none (the page has no headings)"
        raise SectionNotFound(f"no section '{name}' on this page; its sections are: {available}")
    raise AmbiguousMatch(
        f"'{name}' matches {len(matches)} sections: "
        + ", ".join(f"'{h.label}'" for h in matches)
        + "; name it by one of these labels"
    )


def section_text(body: str, name: str) -> str:
    h = find_section(body, name)
    return body[h.start : h.end]


def title_of(doc: Document, fallback: str) -> str:
    title = doc.meta.get("title")
    if isinstance(title, str) and title.strip():
        return title.strip()
    for h in headings(doc.body[:4096]):
        if h.level == 1 and h.text:
            return h.text
    return fallback


# -- links ------------------------------------------------------------------------------------------------


def _wikilink_target(inner: str) -> str | None:
    link = inner.split("|", 1)[1] if "|" in inner else inner  # [[Title|Link]]
    page = unquote(link.strip().lstrip("/").partition("#")[0].strip())
    return page or None


def link_targets(content: str) -> list[str]:
    """The page names this text links to, as written (wiki links, then Markdown links to ``/Page``)."""
    found: list[str] = []
    for m in WIKILINK_RE.finditer(content):
        page = _wikilink_target(m.group(1))
        if page:
            found.append(page)
    for m in MARKDOWN_LINK_RE.finditer(content):
        if m.start() > 0 and content[m.start() - 1] == "!":
            continue
        path = unquote(m.group(2).partition("?")[0].partition("#")[0].lstrip("/"))
        if path:
            found.append(path)
    return found
