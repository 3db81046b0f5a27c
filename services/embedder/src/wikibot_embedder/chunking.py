"""Markdown page → chunks that follow its headings and fit the model's token window.

The page is read with the one Markdown model (``wikibot_shared.markdown``): front matter is not indexed (its
``title`` names the page), headings are ATX and setext, never inside a code fence, and each chunk's ``section`` is
the label of the section it comes from — the very label ``read_note(section=…)`` finds ("" for text before
the first heading). What is embedded is the chunk's text under its context, the page title then the headings
(an H1 that repeats the title is not said twice).

- Tiny sections merge with their neighbour (the merged chunk keeps the sub-headings in its text and takes the
  label of the sections' common ancestor); long sections split at paragraph, then sentence, then token
  boundaries, with overlap. A code fence stays whole when it fits; a longer one splits at line boundaries, each
  piece re-fenced.
- Every chunk's embedded text (context + text) fits ``max_tokens`` including [CLS] and [SEP].
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from wikibot_shared import markdown

PAGE_SUFFIX = ".md"
SEPARATOR = markdown.SEPARATOR
MAX_PAGE_CHARS = 1_000_000  # a larger page is indexed up to here
VERSION = "2"  # of the chunking: a change rebuilds every index (it is part of the index's model identity)

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_SENTENCE_END = re.compile(r"(?<=[.!?:;])\s+")


class Counter(Protocol):
    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...

    def cut(self, text: str, max_tokens: int) -> int: ...


@dataclass(frozen=True)
class ChunkConfig:
    max_tokens: int = 256  # the model's window, [CLS] and [SEP] included
    target: int = 200  # preferred chunk size in tokens, when a section must be split
    overlap: int = 40  # tokens repeated from the end of the previous piece of the same section
    min_tokens: int = 40  # a section smaller than this merges with its neighbour


@dataclass(frozen=True)
class Chunk:
    section: str  # the section's label on the page ("" before the first heading)
    text: str
    position: int
    context: str = ""  # page title and headings, embedded with the text

    @property
    def embed_text(self) -> str:
        return f"{self.context or self.section}\n{self.text}"


@dataclass(frozen=True)
class Page:
    path: str
    name: str
    title: str
    chunks: list[Chunk]


@dataclass(frozen=True)
class _Level:
    label: str  # the heading's unique label
    name: str  # its text
    line: str  # its Markdown, re-inserted into a merged chunk's text


@dataclass
class _Section:
    chain: tuple[_Level, ...]  # the enclosing headings, then its own (empty before the first heading)
    blocks: list[tuple[str, bool]] = field(default_factory=list)  # (text, is_code)


def is_page(path: str) -> bool:
    return path.endswith(PAGE_SUFFIX) and not any(part.startswith(".") for part in path.split("/"))


def page_name(path: str) -> str:
    return path[: -len(PAGE_SUFFIX)] if path.endswith(PAGE_SUFFIX) else path


def _blocks(lines: list[str]) -> list[tuple[str, bool]]:
    """Paragraph-level blocks; a fenced code block (blank lines and all) is one block."""
    blocks: list[tuple[str, bool]] = []
    para: list[str] = []

    def flush() -> None:
        if para and any(line.strip() for line in para):
            blocks.append(("\n".join(para).strip("\n"), False))
        para.clear()

    code = {start: end for start, end in markdown.fence_ranges(lines)}
    i = 0
    while i < len(lines):
        if i in code:
            flush()
            blocks.append(("\n".join(lines[i : code[i]]), True))
            i = code[i]
            continue
        if not lines[i].strip():
            flush()
        else:
            para.append(lines[i])
        i += 1
    flush()
    return blocks


def _sections(body: str) -> list[_Section]:
    heads = markdown.headings(body)
    sections = [_Section((), _blocks(body[: heads[0].start if heads else len(body)].splitlines()))]
    chain: list[tuple[int, _Level]] = []
    for i, h in enumerate(heads):
        while chain and chain[-1][0] >= h.level:
            chain.pop()
        chain.append((h.level, _Level(h.label, h.name, body[h.start : h.body_start].strip())))
        own_end = heads[i + 1].start if i + 1 < len(heads) else len(body)
        text = body[h.body_start : own_end]
        sections.append(_Section(tuple(level for _, level in chain), _blocks(text.splitlines())))
    return [s for s in sections if s.blocks]


def _context(title: str, chain: tuple[_Level, ...]) -> str:
    names = [level.name for level in chain]
    if names and names[0].casefold() == title.casefold():
        names = names[1:]  # "# Page title" at the top names the page itself
    return SEPARATOR.join([title, *names])


def chunk_page(path: str, text: str, counter: Counter, config: ChunkConfig | None = None) -> Page:
    config = config or ChunkConfig()
    name = page_name(path)
    doc = markdown.parse(text[:MAX_PAGE_CHARS].replace("\r\n", "\n"))
    title = markdown.title_of(doc, name.rsplit("/", 1)[-1])
    sections = _sections(doc.body)
    sizes = counter.count_tokens(["\n\n".join(b for b, _ in s.blocks) for s in sections])
    chunks: list[Chunk] = []
    for chain, pieces in _merge(sections, sizes, config):
        label = chain[-1].label if chain else ""
        context = _context(title, chain)
        budget = _budget(counter, context, config)
        for piece in _split(pieces, counter, budget, config):
            chunks.append(Chunk(section=label, text=piece, position=len(chunks), context=context))
    return Page(path=path, name=name, title=title, chunks=chunks)


def _budget(counter: Counter, section: str, config: ChunkConfig) -> int:
    """Tokens left for the text once [CLS], [SEP] and the section path are in the window."""
    (section_tokens,) = counter.count_tokens([section])
    return max(config.max_tokens - 2 - section_tokens, min(64, config.max_tokens - 2))


def _merge(
    sections: list[_Section], sizes: list[int], config: ChunkConfig
) -> list[tuple[tuple[_Level, ...], list[tuple[str, bool]]]]:
    """Merge tiny sections into a neighbour while the result stays within the target size."""
    groups: list[tuple[list[_Section], int]] = []
    for section, size in zip(sections, sizes, strict=True):
        if groups:
            members, total = groups[-1]
            tiny = total < config.min_tokens or size < config.min_tokens
            if tiny and total + size <= config.target:
                members.append(section)
                groups[-1] = (members, total + size)
                continue
        groups.append(([section], size))
    merged = []
    for members, _ in groups:
        common = _common_prefix([m.chain for m in members])
        blocks: list[tuple[str, bool]] = []
        shown = common  # headings already in the text (or in the section label)
        for member in members:
            same = len(common)
            while same < min(len(shown), len(member.chain)) and shown[same] == member.chain[same]:
                same += 1
            blocks.extend((level.line, False) for level in member.chain[same:])
            shown = member.chain
            blocks.extend(member.blocks)
        merged.append((common, blocks))
    return merged


def _common_prefix(chains: list[tuple[_Level, ...]]) -> tuple[_Level, ...]:
    prefix = chains[0]
    for chain in chains[1:]:
        n = 0
        while n < min(len(prefix), len(chain)) and prefix[n] == chain[n]:
            n += 1
        prefix = prefix[:n]
    return prefix


@dataclass(frozen=True)
class _Unit:
    text: str
    tokens: int
    code: bool = False
    glued: bool = False  # continues the previous unit's paragraph (joined by a space, not a blank line)


def _join(units: list[_Unit]) -> str:
    out = ""
    for i, unit in enumerate(units):
        out += ("" if i == 0 else " " if unit.glued else "\n\n") + unit.text
    return out


def _split(blocks: list[tuple[str, bool]], counter: Counter, budget: int, config: ChunkConfig) -> list[str]:
    """Pack blocks into chunks of at most ``budget`` tokens (aiming at ``target`` once splitting is needed)."""
    sizes = counter.count_tokens([b for b, _ in blocks])
    if sum(sizes) <= budget:
        return ["\n\n".join(b for b, _ in blocks)]
    target = min(config.target, budget)
    units: list[_Unit] = []
    for (text, is_code), size in zip(blocks, sizes, strict=True):
        if size <= target:
            units.append(_Unit(text, size, is_code))
        elif is_code:
            units.extend(_Unit(piece, n, True) for piece, n in _split_code(text, counter, target))
        else:
            pieces = _split_prose(text, counter, target)
            units.extend(_Unit(piece, n, False, i > 0) for i, (piece, n) in enumerate(pieces))
    chunks: list[str] = []
    current: list[_Unit] = []
    size = 0
    for unit in units:
        if current and size + unit.tokens > target:
            chunks.append(_join(current))
            current = _overlap(current, counter, min(config.overlap, target - unit.tokens))
            size = sum(u.tokens for u in current)
        current.append(unit)
        size += unit.tokens
    if current:
        chunks.append(_join(current))
    return chunks


def _overlap(previous: list[_Unit], counter: Counter, tokens: int) -> list[_Unit]:
    """The trailing prose of the previous chunk, up to ``tokens`` (never part of a code block)."""
    kept: list[_Unit] = []
    total = 0
    for unit in reversed(previous):
        if unit.code or tokens - total <= 0:
            break
        if total + unit.tokens <= tokens:
            kept.insert(0, unit)
            total += unit.tokens
            continue
        sentences = [s for s in _SENTENCE_END.split(unit.text) if s.strip()]
        tail: list[str] = []
        tail_tokens = 0
        for sentence, n in zip(reversed(sentences), reversed(counter.count_tokens(sentences)), strict=True):
            if total + tail_tokens + n > tokens:
                break
            tail.insert(0, sentence)
            tail_tokens += n
        if tail:
            kept.insert(0, _Unit(" ".join(tail), tail_tokens))
            total += tail_tokens
        break
    if kept:
        kept[0] = _Unit(kept[0].text, kept[0].tokens, False, False)
    return kept if total < sum(u.tokens for u in previous) else []


def _split_prose(text: str, counter: Counter, target: int) -> list[tuple[str, int]]:
    """Sentences; one longer than ``target`` is cut at token boundaries."""
    pieces: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        if sentence.strip():
            pieces.extend(_cut_tokens(sentence, counter, target))
    return list(zip(pieces, counter.count_tokens(pieces), strict=True))


def _split_code(text: str, counter: Counter, target: int) -> list[tuple[str, int]]:
    """Lines of a fenced block packed up to ``target``, each piece wrapped in the original fence."""
    lines = text.split("\n")
    opener = lines[0]
    fence = _FENCE.match(opener)
    marker = fence.group(1) if fence else "```"
    has_closer = len(lines) > 1 and lines[-1].strip().startswith(marker)
    inner = lines[1:-1] if has_closer else lines[1:]
    (fence_tokens,) = counter.count_tokens([f"{opener}\n{marker}"])
    room = max(target - fence_tokens, 8)
    pieces: list[str] = []
    for line in inner:
        pieces.extend(_cut_tokens(line, counter, room) if line else [line])
    packed = _pack(pieces, counter, room, "\n")
    return [(f"{opener}\n{body}\n{marker}", n + fence_tokens) for body, n in packed]


def _cut_tokens(text: str, counter: Counter, limit: int) -> list[str]:
    pieces = []
    while text:
        end = counter.cut(text, limit)
        if end < len(text):
            space = text.rfind(" ", 0, end)
            end = space if space > end // 2 else end
        pieces.append(text[:end])
        text = text[end:].lstrip(" ")
    return pieces


def _pack(pieces: list[str], counter: Counter, limit: int, joiner: str) -> list[tuple[str, int]]:
    sizes = counter.count_tokens(pieces)
    out: list[tuple[str, int]] = []
    current: list[str] = []
    size = 0
    for piece, n in zip(pieces, sizes, strict=True):
        if current and size + n > limit:
            out.append((joiner.join(current), size))
            current, size = [], 0
        current.append(piece)
        size += n
    if current:
        out.append((joiner.join(current), size))
    return out
