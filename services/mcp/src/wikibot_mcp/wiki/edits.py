"""Edits: changing part of a page without resending it. One type, ``Edit``, for the core, REST and MCP.

Sections are found by the one Markdown model (``wikibot_shared.markdown``); the front matter is kept byte for
byte, and section operations only ever touch the body. ``set_front_matter`` is the other way round: it sets or
removes front-matter keys and leaves the body byte for byte (``frontmatter.set_keys``, whose docstring has the
rules).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from wikibot_shared.markdown import Document, find_section, parse

from . import frontmatter
from .errors import AmbiguousMatch, InvalidEdit

EditOp = Literal[
    "replace",
    "append",
    "prepend",
    "replace_section",
    "insert_before_section",
    "insert_after_section",
    "set_front_matter",
]
EDIT_OPS: tuple[str, ...] = EditOp.__args__  # type: ignore[attr-defined]
OPS_HELP = (
    "replace: swap 'old_text' (must occur exactly once) for 'content'. append/prepend: add 'content' at the "
    "end/start (after front matter). replace_section: new body under the heading 'section'. "
    "insert_before_section/insert_after_section: add 'content' around that section. "
    "set_front_matter: set the front-matter keys in 'front_matter' (null removes one), the body untouched."
)
FRONT_MATTER_HELP = (
    "For 'set_front_matter': the keys to set, "
    'e.g. {"tags": ["linux", "setup"], "category": "Guides"}; null removes a key. '
    "Other keys keep their place and their lines; new keys are appended."
)


class Edit(BaseModel):
    op: EditOp = Field(description=OPS_HELP)
    content: str = Field("", description="The new text (Markdown).")
    old_text: str | None = Field(
        None, description="For 'replace': the exact existing text, unique on the page."
    )
    section: str | None = Field(
        None, description="For section operations: heading text or path, e.g. 'Setup Guide > Linux'."
    )
    front_matter: frontmatter.FrontMatterChanges | None = Field(default=None, description=FRONT_MATTER_HELP)


def apply(text: str, edit: Edit) -> str:
    """The page's text with ``edit`` applied."""
    if edit.op == "set_front_matter":
        if not edit.front_matter:
            raise InvalidEdit(
                "'set_front_matter' needs 'front_matter', the keys to set: "
                '{"tags": ["a", "b"]} for instance (null removes a key)'
            )
        return frontmatter.set_keys(text, edit.front_matter)
    if edit.front_matter:
        raise InvalidEdit(f"'front_matter' goes with the operation 'set_front_matter', not '{edit.op}'")
    doc = parse(text)
    if edit.op == "replace":
        return replace_unique(text, edit.old_text or "", edit.content)
    if edit.op == "append":
        return append(doc, edit.content)
    if edit.op == "prepend":
        return prepend(doc, edit.content)
    if not edit.section:
        raise InvalidEdit(f"'{edit.op}' needs 'section': a heading, e.g. 'Linux' or 'Setup > Linux'")
    section_ops = {
        "replace_section": replace_section,
        "insert_before_section": insert_before_section,
        "insert_after_section": insert_after_section,
    }
    return section_ops[edit.op](doc, edit.section, edit.content)


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
