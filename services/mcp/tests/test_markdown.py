"""Front matter, sections and the edit operations on Markdown text."""

import pytest

from wikibot_mcp.wiki import markdown
from wikibot_mcp.wiki.errors import AmbiguousMatch, InvalidEdit, SectionNotFound

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


def test_tags_as_string_and_bad_yaml() -> None:
    assert markdown.tags(markdown.parse("---\ntags: a, b\n---\nx").meta) == ["a", "b"]
    broken = markdown.parse("---\ntags: [unclosed\n---\nbody\n")
    assert broken.meta == {}
    assert broken.body == "body\n"
    assert markdown.parse("no front matter").front_matter == ""


def test_headings_skip_code_and_nest() -> None:
    labels = [h.label for h in markdown.headings(markdown.parse(PAGE).body)]
    assert labels == [
        "Setup Guide",
        "Setup Guide > Linux",
        "Setup Guide > Linux > Debian",
        "Setup Guide > Mac",
        "Setup Guide > Windows > Legacy",
    ]


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


def test_edits_keep_front_matter() -> None:
    doc = markdown.parse(PAGE)
    replaced = markdown.replace_section(doc, "Mac", "port install x")
    assert "## Mac\n\nport install x\n\n## Windows" in replaced
    assert "not a heading" not in replaced
    assert replaced.startswith(doc.front_matter)
    before = markdown.insert_before_section(doc, "Mac", "## BSD\n\npkg")
    assert before.index("## BSD") < before.index("## Mac")
    assert before.index("## BSD") > before.index("apt-get")
    after = markdown.insert_after_section(doc, "Linux", "## Arch\n\npacman")
    assert after.index("apt-get") < after.index("## Arch") < after.index("## Mac")
    assert markdown.append(doc, "Bye.").endswith("old\n\nBye.\n")
    prepended = markdown.prepend(doc, "> note")
    assert prepended.startswith(doc.front_matter + "> note\n\n# Setup Guide")


def test_replace_unique() -> None:
    assert markdown.replace_unique("a b c", "b", "B") == "a B c"
    with pytest.raises(InvalidEdit, match="not found"):
        markdown.replace_unique("a b c", "z", "Z")
    with pytest.raises(AmbiguousMatch, match="2 times"):
        markdown.replace_unique("b b", "b", "B")
    with pytest.raises(InvalidEdit, match="empty"):
        markdown.replace_unique("b", "", "B")
