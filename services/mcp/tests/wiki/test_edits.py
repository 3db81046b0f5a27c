"""The edit operations on Markdown text (one ``Edit`` type for the core, REST and MCP)."""

import pytest

from wikibot_mcp.wiki import edits
from wikibot_mcp.wiki.errors import AmbiguousMatch, InvalidEdit
from wikibot_shared import markdown

PAGE = (
    "---\ntitle: The Guide\n---\n# Setup Guide\n\nIntro.\n\n## Linux\n\napt install x\n\n### Debian\n\napt-get\n\n"
    "## Mac\n\nbrew install x\n\n```\n# not a heading\n```\n\n## Windows > Legacy\n\nold\n"
)


def test_edits_keep_front_matter() -> None:
    doc = markdown.parse(PAGE)
    replaced = edits.replace_section(doc, "Mac", "port install x")
    assert "## Mac\n\nport install x\n\n## Windows" in replaced
    assert "not a heading" not in replaced
    assert replaced.startswith(doc.front_matter)
    before = edits.insert_before_section(doc, "Mac", "## BSD\n\npkg")
    assert before.index("## BSD") < before.index("## Mac")
    assert before.index("## BSD") > before.index("apt-get")
    after = edits.insert_after_section(doc, "Linux", "## Arch\n\npacman")
    assert after.index("apt-get") < after.index("## Arch") < after.index("## Mac")
    assert edits.append(doc, "Bye.").endswith("old\n\nBye.\n")
    prepended = edits.prepend(doc, "> note")
    assert prepended.startswith(doc.front_matter + "> note\n\n# Setup Guide")


def test_section_edits_work_on_setext_sections() -> None:
    text = "Intro\n=====\n\nhello\n\nPart\n----\n\nold part\n"
    edited = edits.apply(text, edits.Edit(op="replace_section", section="Intro > Part", content="new part"))
    assert edited == "Intro\n=====\n\nhello\n\nPart\n----\n\nnew part\n"


def test_apply_dispatches_every_operation() -> None:
    text = "# T\n\n## A\n\na\n"
    assert edits.apply(text, edits.Edit(op="replace", old_text="a\n", content="b\n")) == "# T\n\n## A\n\nb\n"
    assert edits.apply(text, edits.Edit(op="append", content="z")) == text + "\nz\n"
    assert edits.apply(text, edits.Edit(op="prepend", content="z")) == "z\n\n" + text
    assert (
        edits.apply(text, edits.Edit(op="insert_before_section", section="A", content="x"))
        == "# T\n\nx\n\n## A\n\na\n"
    )
    assert (
        edits.apply(text, edits.Edit(op="insert_after_section", section="A", content="x")) == text + "\nx\n"
    )
    with pytest.raises(InvalidEdit, match="needs 'section'"):
        edits.apply(text, edits.Edit(op="replace_section", content="x"))


def test_replace_unique() -> None:
    assert edits.replace_unique("a b c", "b", "B") == "a B c"
    with pytest.raises(InvalidEdit, match="not found"):
        edits.replace_unique("a b c", "z", "Z")
    with pytest.raises(AmbiguousMatch, match="2 times"):
        edits.replace_unique("b b", "b", "B")
    with pytest.raises(InvalidEdit, match="empty"):
        edits.replace_unique("b", "", "B")


def test_set_front_matter_sets_keys_and_keeps_the_body() -> None:
    edit = edits.Edit(op="set_front_matter", front_matter={"tags": ["a", "b"], "title": None})
    assert edits.apply(PAGE, edit) == PAGE.replace("title: The Guide\n", "tags: [a, b]\n")
    from_json = edits.Edit.model_validate_json(
        '{"op": "set_front_matter", "front_matter": {"k": {"x": [1]}}}'
    )
    assert edits.apply("body", from_json) == "---\nk:\n  x: [1]\n---\nbody"
    with pytest.raises(InvalidEdit, match="needs 'front_matter'"):
        edits.apply(PAGE, edits.Edit(op="set_front_matter"))
    with pytest.raises(InvalidEdit, match="needs 'front_matter'"):
        edits.apply(PAGE, edits.Edit(op="set_front_matter", front_matter={}))
    with pytest.raises(InvalidEdit, match="goes with the operation 'set_front_matter', not 'append'"):
        edits.apply(PAGE, edits.Edit(op="append", content="x", front_matter={"tags": ["a"]}))
