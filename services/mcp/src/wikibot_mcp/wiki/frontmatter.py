"""Setting and removing front-matter keys without rewriting the page: ``set_keys(text, changes)``.

Each key of ``changes`` is set to its value, or removed when the value is ``None``.

- The **body** (everything after the closing fence) is kept byte for byte, and so are both fences.
- **Order**: keys keep their place; new keys are appended in the order given. A page without front matter
  gets a block at the top, in the page's line endings (CRLF if its first line ends so).
- **Removing the last key** removes the block, unless comments remain in it (they are the author's), or the
  body would then itself read as front matter (it starts with a ``---`` block): then an empty block stays.
- **No-ops**: a key that already holds the value asked (of the same type) is not touched, and removing an
  absent key does nothing: an edit that changes nothing returns the text as it was (the core makes no commit).
- **Style**, one and stable: plain scalars where YAML reads them back as the same type, quoted otherwise
  (``'yes'``, ``'2024-01-01'``); lists of scalars in flow style (``tags: [a, 'yes']``), mappings and other
  lists in block style; multi-line strings as literal blocks (``|``); no line wrapping; Unicode as itself.

**Line editing.** When the block's root is a block mapping whose keys are plain strings, each at the start of
a line and each written once, the block is edited line by line. An entry runs from its key's line to the line
where its value ends, and on to the next key's line less the blank and comment lines before it (those stay,
with what follows). Setting a key replaces its entry (a one-line entry keeps its trailing ``# comment``),
removing one deletes it, new keys go at the end; every other line is kept byte for byte. Otherwise, and when
a line edit does not read back as asked (an alias left pointing at a replaced anchor), the whole block is
re-dumped from the parsed mapping, losing its comments and the untouched keys' styles: a flow root
(``{a: 1}``), an indented root, complex, non-string or merge (``<<``) keys, a key written twice.

Every result is read back with the shared parser: its body must be the old body and its meta the old meta
with the changes applied, else the edit is refused. So is front matter that does not parse as a YAML mapping:
it is left as it is, for a person or ``write_note`` to correct.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import JsonValue

from wikibot_shared.markdown import Document, parse

from .errors import InvalidEdit

FrontMatterChanges = dict[str, JsonValue]
MAX_KEY_LENGTH = 100  # PyYAML writes longer keys as complex keys ("? key"), which line editing cannot edit
MAX_DEPTH = 20
# The keys the shared model reads tags and categories from: each a string or a list of them.
LIST_KEYS = ("tags", "tag", "categories", "category")
_STR_TAG = "tag:yaml.org,2002:str"
_LINE = re.compile(r"[^\n]*\n|[^\n]+\Z")  # the lines of a text, each with its "\n" (a "\r" stays in it)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class _Dumper(yaml.SafeDumper):  # type: ignore[misc]  # PyYAML has no type stubs here
    """The one style values are written in (see the module docstring)."""


def _represent_dict(dumper: yaml.SafeDumper, data: dict[Any, Any]) -> Any:
    return dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=False)


def _represent_str(dumper: yaml.SafeDumper, data: str) -> Any:
    # The emitter falls back to quotes where a literal block cannot hold the text (trailing spaces on a line).
    return dumper.represent_scalar(_STR_TAG, data, style="|" if "\n" in data else None)


_Dumper.add_representer(dict, _represent_dict)
_Dumper.add_representer(str, _represent_str)


def dump(data: Mapping[str, Any]) -> str:
    """``data`` as YAML lines, each ending in ``\\n`` ("" for nothing)."""
    if not data:
        return ""
    text: str = yaml.dump(
        dict(data),
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=None,
        width=2**30,
    )
    return text


# -- checking what was asked ------------------------------------------------------------------------------


def check_changes(changes: Mapping[Any, Any]) -> None:
    for key, value in changes.items():
        if not isinstance(key, str):
            raise InvalidEdit(f"front-matter keys are strings; {key!r} is of type {type(key).__name__}")
        if not key.strip():
            raise InvalidEdit("a front-matter key must not be empty")
        if _CONTROL.search(key):
            raise InvalidEdit(f"the front-matter key {key!r} contains a line break or control character")
        if len(key) > MAX_KEY_LENGTH:
            raise InvalidEdit(
                f"front-matter keys are at most {MAX_KEY_LENGTH} characters; '{key[:40]}…' is longer"
            )
        if value is None:
            continue
        _check_value(key, value, 0)
        if key in LIST_KEYS and not (
            isinstance(value, str)
            or (isinstance(value, list) and all(isinstance(v, str | int | float) for v in value))
        ):
            sent = "an object" if isinstance(value, dict) else "a list of lists or objects"
            if not isinstance(value, dict | list):
                sent = "true/false" if isinstance(value, bool) else "a number"
            raise InvalidEdit(f"'{key}' is a list of strings or one comma-separated string, not {sent}")


def _check_value(key: str, value: Any, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise InvalidEdit(f"the value of '{key}' is nested deeper than {MAX_DEPTH} levels")
    if value is None or isinstance(value, bool | int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidEdit(
                f"the value of '{key}' holds {value}, which JSON cannot carry; write it as a string"
            )
        return
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidEdit(f"the value of '{key}' is not valid Unicode text (a lone surrogate)") from None
        return
    if isinstance(value, list):
        for item in value:
            _check_value(key, item, depth + 1)
        return
    if isinstance(value, dict):
        for inner_key, item in value.items():
            if not isinstance(inner_key, str):
                raise InvalidEdit(
                    f"the keys inside '{key}' are strings; {inner_key!r} is of type {type(inner_key).__name__}"
                )
            _check_value(key, item, depth + 1)
        return
    raise InvalidEdit(
        f"the value of '{key}' is of type {type(value).__name__}, which front matter cannot hold; "
        "use a string, a number, true/false, a list or an object"
    )


# -- reading the block ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Block:
    opening: str  # the opening fence line, with its line break
    yaml: str  # the YAML between the fences: "" or whole lines
    closing: str  # the closing fence line, with its line break if it has one
    newline: str


@dataclass(frozen=True)
class _Entry:
    key: str
    start: int  # offset in the YAML of the key's line
    end: int  # offset after the entry's last line (trailing blank and comment lines excluded)
    comment: str  # the trailing "  # comment" of a one-line entry, or ""


def _block(doc: Document) -> _Block:
    raw = doc.front_matter
    open_end = raw.index("\n") + 1
    close_start = raw.rstrip("\r\n").rfind("\n") + 1
    newline = "\r\n" if raw[:open_end].endswith("\r\n") else "\n"
    return _Block(raw[:open_end], raw[open_end:close_start], raw[close_start:], newline)


def _check_mapping(yaml_text: str) -> None:
    try:
        loaded = yaml.safe_load(yaml_text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 2} of the page" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InvalidEdit(
            f"the page's front matter does not parse as YAML ({problem}{where}); it was left as it is: "
            "correct it with write_note first"
        ) from None
    if loaded is not None and not isinstance(loaded, dict):
        kind = "a list" if isinstance(loaded, list) else f"a single {type(loaded).__name__} value"
        raise InvalidEdit(
            f"the page's front matter is {kind}, not a mapping of keys to values; it was left as it is: "
            "correct it with write_note first"
        )


def _layout(yaml_text: str) -> list[_Entry] | None:
    """The top-level entries, when the block can be edited line by line (see the module docstring)."""
    root = yaml.compose(yaml_text, Loader=yaml.SafeLoader)
    if root is None:
        return []
    if not isinstance(root, yaml.MappingNode) or root.flow_style:
        return None
    pairs = root.value
    if any(
        not isinstance(k, yaml.ScalarNode) or k.tag != _STR_TAG or k.start_mark.column != 0 for k, _v in pairs
    ):
        return None
    keys = [k.value for k, _v in pairs]
    if len(set(keys)) != len(keys):
        return None
    starts = [k.start_mark.index for k, _v in pairs] + [len(yaml_text)]
    entries = []
    for i, (key_node, value_node) in enumerate(pairs):
        start, limit = starts[i], starts[i + 1]
        lines = _LINE.findall(yaml_text[start:limit])
        keep = len(lines)
        while keep > 1 and (not lines[keep - 1].strip() or lines[keep - 1].lstrip().startswith("#")):
            keep -= 1
        end = start + sum(len(line) for line in lines[:keep])
        first_line_end = start + len(lines[0])
        comment = ""
        value_end = _content_end(value_node)
        if start < value_end <= limit:  # (an alias's node is where its anchor is)
            # A "comment" line may end a quoted scalar; a block scalar's end mark lies past blank lines.
            last_char = len(yaml_text[:value_end].rstrip())
            end = max(end, yaml_text.find("\n", last_char) + 1 or len(yaml_text))
            if value_end <= first_line_end:  # a one-line entry
                rest = yaml_text[value_end:first_line_end].rstrip("\r\n")
                comment = rest if rest.strip().startswith("#") else ""
        entries.append(_Entry(key_node.value, start, end, comment))
    return entries


def _content_end(node: Any) -> int:
    """The offset after a node's last character. A block collection ends with its last item (its own end
    mark lies past the blank and comment lines that follow it)."""
    while isinstance(node, yaml.SequenceNode | yaml.MappingNode) and not node.flow_style and node.value:
        last = node.value[-1]
        node = last[1] if isinstance(node, yaml.MappingNode) else last
    end: int = node.end_mark.index
    return end


# -- writing ----------------------------------------------------------------------------------------------


def _same(a: Any, b: Any) -> bool:
    """Equal, and of the same types all the way down (``True`` is not ``1``, ``1.0`` is not ``1``)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(_same, a, b))
    return type(a) is type(b) and bool(a == b)


def _lines(data: Mapping[str, Any], newline: str, comment: str = "") -> str:
    text = dump(data)
    if comment and text.count("\n") == 1:
        text = text[:-1] + comment + "\n"
    return text.replace("\n", newline)


def _line_edit(block: _Block, entries: list[_Entry], wanted: Mapping[str, Any]) -> str:
    out: list[str] = []
    pos = 0
    for entry in entries:
        if entry.key not in wanted:
            continue
        out.append(block.yaml[pos : entry.start])
        value = wanted[entry.key]
        if value is not None:
            out.append(_lines({entry.key: value}, block.newline, entry.comment))
        pos = entry.end
    out.append(block.yaml[pos:])
    present = {entry.key for entry in entries}
    added = {k: v for k, v in wanted.items() if k not in present and v is not None}
    out.append(_lines(added, block.newline))
    return "".join(out)


def _with_yaml(block: _Block, yaml_text: str) -> Iterator[str]:
    if yaml_text.strip():
        yield block.opening + yaml_text + block.closing
    else:
        yield ""  # the last key went: no block, unless the body would then read as front matter
        yield block.opening + block.closing


def _candidates(
    doc: Document, text: str, wanted: Mapping[str, Any], expected: dict[str, Any]
) -> Iterator[str]:
    """New front-matter blocks, the most faithful to the old one first."""
    if not doc.front_matter:
        first_break = re.search(r"\r?\n", text)
        newline = first_break.group() if first_break else "\n"
        yield "---" + newline + _lines(expected, newline) + "---" + newline
        return
    block = _block(doc)
    entries = _layout(block.yaml)
    if entries is not None:
        yield from _with_yaml(block, _line_edit(block, entries, wanted))
    yield from _with_yaml(block, _lines(expected, block.newline))


def set_keys(text: str, changes: Mapping[str, Any]) -> str:
    """``text`` with the front-matter keys in ``changes`` set (``None``: removed), its body untouched."""
    check_changes(changes)
    doc = parse(text)
    if doc.front_matter:
        _check_mapping(_block(doc).yaml)
    meta = doc.meta
    wanted = {
        key: value
        for key, value in changes.items()
        if (key in meta if value is None else not (key in meta and _same(meta[key], value)))
    }
    if not wanted:
        return text
    expected = {k: v for k, v in meta.items() if not (k in wanted and wanted[k] is None)}
    expected.update({k: v for k, v in wanted.items() if v is not None})
    for front_matter in _candidates(doc, text, wanted, expected):
        new_text = front_matter + doc.body
        reread = parse(new_text)
        if reread.body == doc.body and _same(reread.meta, expected):
            return new_text
    raise InvalidEdit(
        "the front matter could not be rewritten so that it reads back as asked; "
        "read the page and rewrite it whole with write_note"
    )
