"""Setting and removing front-matter keys (``wiki.frontmatter``): the body byte for byte, the other lines
byte for byte where they can be, the values read back as asked, and the refusals."""

from __future__ import annotations

from typing import Any

import pytest

from wikibot_mcp.wiki.errors import InvalidEdit
from wikibot_mcp.wiki.frontmatter import dump, set_keys
from wikibot_shared import markdown

BODIES = [
    "",
    "# Title\n\ntext\n",
    "no final newline",
    "trailing spaces   \n\t\nand tabs\t\n",
    "# CRLF\r\n\r\nline\r\n",
    "---\nnot: front matter\n---\n\nafter a rule\n",
    "text\n\n---\n\nbelow a thematic break\n\n...\n",
    "```yaml\n---\ntags: [fake]\n---\n```\n",
    "~~~\n---\n~~~\n\n    --- indented\n",
    "\n\nleading blank lines\n",
]


def _check(text: str, changes: dict[str, Any]) -> str:
    """``set_keys``, asserting what every result must be: the same body, and the meta asked."""
    new = set_keys(text, changes)
    before, after = markdown.parse(text), markdown.parse(new)
    assert after.body == before.body
    expected = {k: v for k, v in before.meta.items() if not (k in changes and changes[k] is None)}
    expected.update({k: v for k, v in changes.items() if v is not None})
    assert after.meta == expected
    assert list(after.meta) == list(expected)
    return new


FRONT_MATTERS = ["", "---\ntitle: T\ntags: [a]\n---\n", "---\r\ntags: [a]\r\n---\r\n"]


@pytest.mark.parametrize(
    ("front_matter", "body"),
    # (a body that starts with a "---" block is front matter itself when nothing comes before it)
    [(fm, body) for fm in FRONT_MATTERS for body in BODIES if fm or not body.startswith("---\n")],
)
def test_the_body_stays_byte_for_byte(front_matter: str, body: str) -> None:
    text = front_matter + body
    for changes in [{"tags": ["a", "b"]}, {"category": "Guides", "tags": None}, {"custom": {"k": [1, 2.5]}}]:
        new = _check(text, changes)
        assert new.endswith(body)
        assert new[: len(new) - len(body)].startswith("---")


def test_untouched_lines_stay_byte_for_byte() -> None:
    text = (
        "---\n"
        "title:   'The Guide'   # shown in the header\n"
        "# tags are for the index\n"
        'tags: ["a", b]\n'
        "\n"
        "author:\n"
        "  name: Ann\n"
        "  site: https://example.org\n"
        "# the end\n"
        "---\n"
        "body\n"
    )
    assert _check(text, {"tags": ["a", "b", "c"]}) == text.replace('tags: ["a", b]', "tags: [a, b, c]")
    assert _check(text, {"title": "New"}) == text.replace("title:   'The Guide'", "title: New")
    assert _check(text, {"author": None}) == text.replace(
        "author:\n  name: Ann\n  site: https://example.org\n", ""
    )
    assert _check(text, {"author": "Bob"}) == text.replace(
        "author:\n  name: Ann\n  site: https://example.org\n", "author: Bob\n"
    )
    assert _check(text, {"title": None, "new": 1, "newer": True}) == (
        text.replace("title:   'The Guide'   # shown in the header\n", "").replace(
            "# the end\n", "# the end\nnew: 1\nnewer: true\n"
        )
    )


def test_order_is_kept_and_new_keys_are_appended_in_the_order_given() -> None:
    text = "---\nb: 1\na: 2\n---\n"
    assert _check(text, {"z": 0, "a": 3, "c": 4, "b": 5}) == "---\nb: 5\na: 3\nz: 0\nc: 4\n---\n"


def test_block_values_are_edited_in_place() -> None:
    text = "---\ntags:\n- a\n- b\nsummary: |\n  two\n  lines\n\nnext: 1\n---\nx\n"
    assert _check(text, {"tags": ["c"]}) == "---\ntags: [c]\nsummary: |\n  two\n  lines\n\nnext: 1\n---\nx\n"
    assert _check(text, {"summary": None}) == "---\ntags:\n- a\n- b\n\nnext: 1\n---\nx\n"
    assert _check(text, {"next": {"a": ["x", {"y": 1}]}}) == (
        "---\ntags:\n- a\n- b\nsummary: |\n  two\n  lines\n\nnext:\n  a:\n  - x\n  - y: 1\n---\nx\n"
    )


def test_a_page_without_front_matter_gets_a_block_in_its_line_endings() -> None:
    assert _check("# T\n", {"tags": ["a"]}) == "---\ntags: [a]\n---\n# T\n"
    assert _check("# T\r\nx\n", {"tags": "a, b"}) == "---\r\ntags: a, b\r\n---\r\n# T\r\nx\n"
    assert _check("", {"title": "Empty"}) == "---\ntitle: Empty\n---\n"
    assert _check("---\nan unclosed rule\n", {"k": "v"}) == "---\nk: v\n---\n---\nan unclosed rule\n"


def test_crlf_front_matter_stays_crlf() -> None:
    text = "---\r\ntitle: T\r\ntags: [a]\r\n---\r\nbody\r\n"
    assert (
        _check(text, {"tags": ["b"], "n": "x\ny"})
        == "---\r\ntitle: T\r\ntags: [b]\r\nn: |-\r\n  x\r\n  y\r\n---\r\nbody\r\n"
    )
    assert _check(text, {"title": None, "tags": None}) == "body\r\n"


def test_removing_the_last_key() -> None:
    assert _check("---\ntags: [a]\n---\nbody\n", {"tags": None}) == "body\n"
    assert _check("---\ntags: [a]\n\n---\nbody\n", {"tags": None}) == "body\n"
    assert _check("---\ntags: [a]\n---", {"tags": None}) == ""
    # Comments are the author's: the block stays with them.
    assert _check("---\n# keep me\ntags: [a]\n---\nbody\n", {"tags": None}) == "---\n# keep me\n---\nbody\n"
    # A body that would itself read as front matter keeps an empty block in front of it.
    body = "---\nx: 1\n---\ntext\n"
    assert _check("---\ntags: [a]\n---\n" + body, {"tags": None}) == "---\n---\n" + body


def test_unchanged_values_leave_the_text_as_it_was() -> None:
    text = '---\ntags: ["a", "b"]\ncount: 1\nflag: true\n---\nbody'
    assert set_keys(text, {"tags": ["a", "b"]}) == text
    assert set_keys(text, {"missing": None}) == text
    assert set_keys(text, {"count": 1, "flag": True, "missing": None}) == text
    assert set_keys("body", {"missing": None}) == "body"
    # The same value in another type is a change: 1.0 is not 1, true is not 1.
    assert _check(text, {"count": 1.0}) == text.replace("count: 1\n", "count: 1.0\n")
    assert _check(text, {"flag": 1}) == text.replace("flag: true\n", "flag: 1\n")


@pytest.mark.parametrize(
    "value",
    [
        "yes",
        "null",
        "~",
        "2024-01-01",
        "1.5",
        "0x1F",
        "a: b",
        "#hash",
        "- dash",
        "",
        " leading space",
        "trailing space ",
        "---",
        "...",
        "line\n---\nbelow",
        "lines with trailing spaces  \nhere\n",
        "\nstarts with a newline",
        "tab\there",
        "quote ' and \" both",
        "é ü 日本語 🙂",
        "x" * 300,
        "nul \x00 and bell \x07",
        ["a", "b, c", "yes", 1, 2.5, None, True],
        [],
        {},
        {"nested": {"deep": [{"k": "v"}]}, "empty": []},
        -0.0,
        1e20,
        12345678901234567890,
    ],
)
def test_values_read_back_as_asked(value: Any) -> None:
    for text in ["body\n", "---\ntitle: T\nkey: old\nafter: 1\n---\nbody\n"]:
        new = _check(text, {"key": value})
        assert markdown.parse(new).meta["key"] == value


def test_the_style_values_are_written_in() -> None:
    assert dump({"tags": ["a", "b c"], "title": "The Guide"}) == "tags: [a, b c]\ntitle: The Guide\n"
    assert dump({"tags": ["yes", "a: b", 1]}) == "tags: ['yes', 'a: b', 1]\n"
    assert dump({"notes": ["one", "two\nlines"]}) == "notes:\n- one\n- |-\n  two\n  lines\n"
    assert dump({"author": {"name": "Ann", "tags": ["x"]}}) == "author:\n  name: Ann\n  tags: [x]\n"
    assert (
        dump({"date": "2024-01-01", "n": 3, "f": 1.5, "b": False})
        == "date: '2024-01-01'\nn: 3\nf: 1.5\nb: false\n"
    )
    assert dump({"text": "one\ntwo\n"}) == "text: |\n  one\n  two\n"
    assert dump({"title": "é " + "x" * 200}) == "title: é " + "x" * 200 + "\n"
    assert dump({"empty": [], "none": {}}) == "empty: []\nnone: {}\n"
    assert dump({}) == ""


@pytest.mark.parametrize(
    ("text", "result"),
    [
        ("---\n{tags: [a], title: T}\n---\nb\n", "---\ntags: [b]\ntitle: T\n---\nb\n"),
        ("---\n  tags: [a]\n  title: T\n---\nb\n", "---\ntags: [b]\ntitle: T\n---\nb\n"),
        ("---\ntags: [a]\ntitle: T\ntags: [c]\n---\nb\n", "---\ntags: [b]\ntitle: T\n---\nb\n"),
        ("---\n1: one\ntags: [a]\n---\nb\n", "---\n'1': one\ntags: [b]\n---\nb\n"),
        (
            "---\ndefaults: &d {title: T}\n<<: *d\ntags: [a]\n---\nb\n",
            "---\ntitle: T\ndefaults:\n  title: T\ntags: [b]\n---\nb\n",
        ),
        ("---\n? tags\n: [a]\n---\nb\n", "---\ntags: [b]\n---\nb\n"),
    ],
)
def test_blocks_that_cannot_be_edited_line_by_line_are_re_dumped(text: str, result: str) -> None:
    assert _check(text, {"tags": ["b"]}) == result


def test_aliases_and_block_scalars_are_edited_as_whole_entries() -> None:
    text = "---\nbase: &x [a] # hi\ntags: *x\n---\nb\n"
    assert _check(text, {"tags": ["b"]}) == "---\nbase: &x [a] # hi\ntags: [b]\n---\nb\n"
    text = "---\nkept: |+\n  x\n\n# about n\nn: 1\n---\nb\n"
    assert _check(text, {"n": 2}) == "---\nkept: |+\n  x\n\n# about n\nn: 2\n---\nb\n"
    assert _check(text, {"kept": "y"}) == "---\nkept: y\n\n# about n\nn: 1\n---\nb\n"


def test_line_edits_that_do_not_read_back_are_re_dumped() -> None:
    # Replacing an anchor leaves its alias dangling; the re-dump resolves it.
    text = "---\nbase: &b [x]\nother: *b\n---\nbody"
    assert _check(text, {"base": ["y"]}) == "---\nbase: [y]\nother: [x]\n---\nbody"
    assert _check(text, {"other": ["y"]}) == "---\nbase: &b [x]\nother: [y]\n---\nbody"
    # A quoted scalar whose last line looks like a comment: the line edit would leave that line behind.
    text = '---\ntitle: "a\n# b"\ntags: [a]\n---\nb\n'
    assert _check(text, {"tags": ["b"]}) == '---\ntitle: "a\n# b"\ntags: [b]\n---\nb\n'
    assert _check(text, {"title": "c"}) == "---\ntitle: c\ntags: [a]\n---\nb\n"


def test_tags_and_categories_as_a_list_or_a_string() -> None:
    new = _check("body\n", {"tags": ["linux", "setup"], "category": "Guides, How-to"})
    meta = markdown.parse(new).meta
    assert markdown.tags(meta) == ["linux", "setup"]
    assert markdown.categories(meta) == ["Guides", "How-to"]
    new = _check(new, {"tags": "one, two", "categories": ["A", 2]})
    meta = markdown.parse(new).meta
    assert markdown.tags(meta) == ["one", "two"]
    assert markdown.categories(meta) == ["A", "2"]  # the shared model reads 'categories' before 'category'
    for key in ["tags", "tag", "categories", "category"]:
        for value, sent in [
            ({"a": 1}, "an object"),
            ([["x"]], "a list of lists"),
            (True, "true/false"),
            (3, "a number"),
        ]:
            with pytest.raises(InvalidEdit, match=f"'{key}' is a list of strings or one .*, not {sent}"):
                set_keys("body", {key: value})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({1: "x"}, "keys are strings; 1 is of type int"),
        ({None: "x"}, "keys are strings; None is of type NoneType"),
        ({"": "x"}, "must not be empty"),
        ({"  ": "x"}, "must not be empty"),
        ({"a\nb": "x"}, "line break or control character"),
        ({"a\u2028b": "x"}, "line break or control character"),
        ({"k" * 101: "x"}, "at most 100 characters"),
        ({"k": float("nan")}, "JSON cannot carry"),
        ({"k": [float("inf")]}, "JSON cannot carry"),
        ({"k": "\ud800"}, "not valid Unicode"),
        ({"k": {1: "x"}}, "the keys inside 'k' are strings"),
        ({"k": {"a", "b"}}, "is of type set, which front matter cannot hold"),
        ({"k": (1, 2)}, "is of type tuple"),
        ({"k": b"bytes"}, "is of type bytes"),
        ({"k": object()}, "is of type object"),
    ],
)
def test_refusals_of_what_was_asked(changes: dict[Any, Any], message: str) -> None:
    text = "---\ntags: [a]\n---\nbody\n"
    with pytest.raises(InvalidEdit, match=message):
        set_keys(text, changes)


def test_deep_nesting_is_refused() -> None:
    value: Any = "leaf"
    for _ in range(25):
        value = [value]
    with pytest.raises(InvalidEdit, match="deeper than 20 levels"):
        set_keys("body", {"k": value})


@pytest.mark.parametrize(
    ("front_matter", "message"),
    [
        ("---\ntags: [a\n---\n", r"does not parse as YAML \(.*at line 3 of the page\)"),
        ("---\na: b: c\n---\n", "does not parse as YAML"),
        ("---\nkey: *nowhere\n---\n", "does not parse as YAML"),
        ("---\n? [a]\n: 1\n---\n", "does not parse as YAML"),
        ("---\n- a\n- b\n---\n", "is a list, not a mapping"),
        ("---\nSome intro\n---\n", "is a single str value, not a mapping"),
        ("---\n42\n---\n", "is a single int value, not a mapping"),
    ],
)
def test_front_matter_that_is_not_a_mapping_is_left_alone(front_matter: str, message: str) -> None:
    with pytest.raises(InvalidEdit, match=message) as err:
        set_keys(front_matter + "body\n", {"tags": ["x"]})
    assert "left as it is" in err.value.message
