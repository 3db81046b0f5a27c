"""Where a principal may write: path prefixes (ARCHITECTURE §4, docs/architecture.md "Path rules").

A write rule is a set of folder prefixes (``Agents/``, ``Journal/2026/``) or none (the whole wiki). Three
things can carry one: a collaborator's membership (an editor on those prefixes, a viewer elsewhere), a personal
access token and an OAuth grant. What a request may write is the intersection of its member's rule and its
credential's (``WriteArea.narrowed``); reading stays per wiki.

A prefix names a folder: it is validated like a page path, stored as given with one trailing ``/``, and matched
case-insensitively against repository file paths (``Agents/Plan.md``, ``Agents/Plan/diagram.png``): with
Otterwiki's ``RETAIN_PAGE_NAME_CASE`` a page keeps the case its author typed, and ``agents/`` and ``Agents/`` are
the same folder to the people who set the rule. The folder's own page (``Agents.md``) is not inside it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .errors import Forbidden, InputError

MAX_PREFIXES = 20
MAX_PREFIX_CHARS = 200
_UNADDRESSABLE = ("?", "#", "\\")


def _invalid(message: str) -> InputError:
    return InputError(message, code="invalid_path")


def path_problem(p: str, noun: str, nouns: str) -> str | None:
    """What makes ``p`` (stripped) unusable as a path inside a wiki, in words (``noun``/``nouns``: "page path",
    "page paths"), or ``None``. The one rule for page paths (``wikibot_mcp.wiki.names``) and prefixes."""
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co") for ch in p):
        return f"{nouns} cannot contain NUL or control characters"
    if p.startswith(("/", "~")) or (len(p) > 1 and p[1] == ":"):
        return f"{nouns} are relative to the wiki: use '{p.lstrip('/~')}' rather than an absolute path"
    for ch in _UNADDRESSABLE:
        if ch in p:
            return f"{nouns} cannot contain {ch!r} (the wiki's URLs could not address the page)"
    for segment in (s for s in p.split("/") if s):
        if segment in (".", ".."):
            return f"{nouns} cannot contain '.' or '..' segments"
        if segment.startswith("."):
            return f"{noun} segments cannot start with a dot ('{segment}')"
        if segment != segment.strip():
            return f"{noun} segment '{segment}' has leading or trailing spaces"
    return None


def normalize_prefix(raw: object) -> str:
    """``' agents//2026 '`` → ``'agents/2026/'``; refuses what could not be a folder of pages."""
    if not isinstance(raw, str) or not raw.strip().strip("/"):
        raise _invalid("a path prefix is a folder of the wiki, e.g. 'Agents/' or 'Journal/2026/'")
    p = raw.strip()
    problem = path_problem(p, "path prefix", "path prefixes")
    if problem:
        raise _invalid(problem)
    prefix = "/".join(s for s in p.split("/") if s) + "/"
    if len(prefix) > MAX_PREFIX_CHARS:
        raise _invalid(f"a path prefix is at most {MAX_PREFIX_CHARS} characters")
    return prefix


def parse_prefixes(raw: Iterable[object] | None) -> tuple[str, ...] | None:
    """A caller's ``paths``: ``None`` is the whole wiki; otherwise 1 to ``MAX_PREFIXES`` prefixes, normalised,
    without duplicates or prefixes inside another one given (``Agents/`` covers ``agents/Notes/``)."""
    if raw is None:
        return None
    if isinstance(raw, str):
        raise _invalid('paths is a list of folder prefixes, e.g. ["Agents/"]')
    given = [normalize_prefix(item) for item in raw]
    if not given:
        raise _invalid("paths needs at least one folder prefix; leave it out for the whole wiki")
    if len(given) > MAX_PREFIXES:
        raise _invalid(f"at most {MAX_PREFIXES} path prefixes")
    return _minimal(given)


def parse_text(text: str | None) -> tuple[str, ...] | None:
    """A form field: prefixes separated by commas or new lines; blank is the whole wiki."""
    items = [item.strip() for item in (text or "").replace("\n", ",").split(",")]
    given = [item for item in items if item]
    return parse_prefixes(given) if given else None


def shown(prefixes: Sequence[str] | None) -> str:
    """A rule as a form field holds it (``parse_text`` reads it back)."""
    return ", ".join(prefixes or ())


def _minimal(prefixes: Iterable[str]) -> tuple[str, ...]:
    """Sorted, each folder once, none inside another."""
    kept: list[str] = []
    for prefix in sorted(set(prefixes), key=lambda p: (len(p), p.casefold(), p)):
        if not any(prefix.casefold().startswith(k.casefold()) for k in kept):
            kept.append(prefix)
    return tuple(sorted(kept, key=lambda p: (p.casefold(), p)))


def stored(prefixes: Sequence[str] | None) -> list[str] | None:
    """The column value (JSON) for a rule."""
    return None if prefixes is None else list(prefixes)


def loaded(value: object) -> tuple[str, ...] | None:
    """A rule from its column value. A value that is not a list of strings (never written by us) allows nothing:
    a damaged rule must not widen to the whole wiki."""
    if value is None:
        return None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return ()


def page_label(file_path: str) -> str:
    """How a repository path is named in a refusal: a page by its name, an attachment by its file."""
    return file_path[:-3] if file_path.endswith(".md") else file_path


@dataclass(frozen=True)
class WriteArea:
    """Where writing is allowed: ``prefixes`` ``None`` = everywhere, ``()`` = nowhere. ``holder`` says whose rule
    it is, for refusals: "this token", "this app", "your membership"."""

    prefixes: tuple[str, ...] | None = None
    holder: str = "you"

    @property
    def everywhere(self) -> bool:
        return self.prefixes is None

    def contains(self, file_path: str) -> bool:
        if self.prefixes is None:
            return True
        folded = file_path.lstrip("/").casefold()
        return any(folded.startswith(p.casefold()) for p in self.prefixes)

    def outside(self, file_paths: Iterable[str]) -> list[str]:
        return sorted({p for p in file_paths if not self.contains(p)})

    def narrowed(self, prefixes: tuple[str, ...] | None, holder: str) -> WriteArea:
        """This area and another rule's together: the folders both allow. The holder named is the narrower
        rule's (the one a refusal should send the caller to)."""
        if prefixes is None:
            return self
        if self.prefixes is None:
            return WriteArea(_minimal(prefixes), holder)
        both: list[str] = []
        for a in self.prefixes:
            for b in prefixes:
                if a.casefold().startswith(b.casefold()):
                    both.append(a)
                elif b.casefold().startswith(a.casefold()):
                    both.append(b)
        narrowest = _minimal(both)
        return WriteArea(narrowest, self.holder if narrowest == _minimal(self.prefixes) else holder)

    def describe(self) -> str:
        if self.prefixes is None:
            return "anywhere in the wiki"
        if not self.prefixes:
            return "nowhere in this wiki"
        return "only under " + ", ".join(f"'{p}'" for p in self.prefixes)

    def check(self, file_paths: Iterable[str], *, hint: str = "") -> None:
        """Raise ``Forbidden`` (``outside_write_paths``) naming what is outside, or return. ``hint``: what to do
        instead, when the caller knows better than "write there, or ask the owner"."""
        outside = self.outside(file_paths)
        if not outside:
            return
        named = ", ".join(f"'{page_label(p)}'" for p in outside[:10])
        more = f" and {len(outside) - 10} more" if len(outside) > 10 else ""
        then = hint or ("Write there, or ask" if self.prefixes else "Ask") + " the wiki's owner for more."
        raise Forbidden(
            f"{self.holder} may write {self.describe()}; outside that: {named}{more}. {then}",
            code="outside_write_paths",
        )
