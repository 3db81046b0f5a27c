"""The one Markdown model: front matter, headings (ATX and setext) and their labels, sections, title, links."""

import pytest

from wikibot_shared import markdown
from wikibot_shared.markdown import AmbiguousMatch, InvalidSection, SectionNotFound

PAGE = """---
title: The Guide
tags: [setup, linux]
category: ops
---
# Setup Guide

Intro.

## Linux

apt install x

### Debian

apt-get

## Mac

brew install x

```
# not a heading
```

## Windows > Legacy

old
"""


def test_front_matter_is_parsed_and_kept_verbatim() -> None:
    doc = markdown.parse(PAGE)
    assert doc.meta["title"] == "The Guide"
    assert markdown.tags(doc.meta) == ["setup", "linux"]
    assert markdown.categories(doc.meta) == ["ops"]
    assert doc.front_matter.startswith("---\ntitle")
    assert doc.front_matter.endswith("---\n")
    assert doc.text == PAGE
    assert markdown.title_of(doc, "x") == "The Guide"


@pytest.mark.parametrize(
    ("text", "meta", "body"),
    [
        ("---\ntitle: A\n---\nbody", {"title": "A"}, "body"),
        ("---\nauthor: x\n---\nbody", {"author": "x"}, "body"),
        ("---\n---\nbody", {}, "body"),
        ("---\ntitle: A\n...\nbody", {"title": "A"}, "body"),
        ("intro\n---\ntitle: no\n---\n", {}, "intro\n---\ntitle: no\n---\n"),
        ("---\ntitle: unterminated\nbody", {}, "---\ntitle: unterminated\nbody"),
        ("---\ntags: [unclosed\n---\nbody\n", {}, "body\n"),
    ],
)
def test_front_matter_shapes(text: str, meta: dict[str, str], body: str) -> None:
    doc = markdown.parse(text)
    assert (doc.meta, doc.body, doc.text) == (meta, body, text)


def test_tags_as_string() -> None:
    assert markdown.tags(markdown.parse("---\ntags: a, b\n---\nx").meta) == ["a", "b"]
    assert markdown.parse("no front matter").front_matter == ""


def test_title_is_front_matter_then_first_h1_then_the_file_name() -> None:
    assert markdown.title_of(markdown.parse("intro\n\n## Two\n\n# One\n"), "file") == "One"
    assert markdown.title_of(markdown.parse("Setext\n======\n"), "file") == "Setext"
    assert markdown.title_of(markdown.parse("## Only H2\n"), "file") == "file"


def test_headings_skip_code_and_nest() -> None:
    labels = [h.label for h in markdown.headings(markdown.parse(PAGE).body)]
    assert labels == [
        "Setup Guide",
        "Setup Guide > Linux",
        "Setup Guide > Linux > Debian",
        "Setup Guide > Mac",
        "Setup Guide > Windows > Legacy",
    ]


def test_setext_headings_are_headings() -> None:
    body = "Overview\n========\n\nfirst\n\nDetails\n-------\n\nsecond\n\n- item\n---\n\ntwo\nlines\n---\n"
    heads = markdown.headings(body)
    assert [(h.level, h.label) for h in heads] == [(1, "Overview"), (2, "Overview > Details")]
    assert (
        markdown.section_text(body, "Details")
        == "Details\n-------\n\nsecond\n\n- item\n---\n\ntwo\nlines\n---\n"
    )
    assert body[heads[0].body_start :].startswith("\nfirst")


def test_fences_hide_headings_until_a_matching_close() -> None:
    body = "````\n```\n# still code\n````\n# Real\n~~~ info\n# code\n~~~ not a close\n# code too\n~~~\n"
    assert [h.label for h in markdown.headings(body)] == ["Real"]
    assert markdown.fence_ranges(body.splitlines()) == [(0, 4), (5, 10)]


def test_duplicate_paths_get_unique_labels_that_find_their_own_section() -> None:
    body = "## Notes\none\n## Notes\ntwo\n## Other\n### Notes\nthree\n#\nbare\n"
    heads = markdown.headings(body)
    assert [h.label for h in heads] == ["Notes", "Notes [2]", "Other", "Other > Notes", "(untitled)"]
    assert markdown.section_text(body, "Notes") == "## Notes\none\n"
    assert markdown.section_text(body, "notes [2]") == "## Notes\ntwo\n"
    assert markdown.section_text(body, "(untitled)") == "#\nbare\n"
    for h in heads:
        assert markdown.find_section(body, h.label) == h


def test_find_section_by_name_and_path() -> None:
    body = markdown.parse(PAGE).body
    assert markdown.section_text(body, "linux").startswith("## Linux\n")
    assert "### Debian" in markdown.section_text(body, "Linux")
    assert "## Mac" not in markdown.section_text(body, "Linux")
    assert markdown.section_text(body, "Setup Guide > Debian").startswith("### Debian")
    with pytest.raises(SectionNotFound) as err:
        markdown.find_section(body, "BSD")
    assert "Setup Guide > Linux" in err.value.message
    dup = "# A\n## X\n1\n# B\n## X\n2\n"
    with pytest.raises(AmbiguousMatch) as amb:
        markdown.find_section(dup, "X")
    assert "'A > X'" in amb.value.message
    assert markdown.section_text(dup, "B > X") == "## X\n2\n"
    with pytest.raises(InvalidSection):
        markdown.find_section(body, " > ")


def test_link_targets_as_written() -> None:
    text = "[[Home]] [[Title|Team/Onboarding#week]] [a](/Setup%20Guide?x=1) ![img](/Pic/a/p.png) [ext](https://x)"
    assert markdown.link_targets(text) == ["Home", "Team/Onboarding", "Setup Guide"]
