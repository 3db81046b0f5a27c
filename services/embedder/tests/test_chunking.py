"""Chunking: headings, front matter, code fences, long paragraphs, tiny sections, the token window."""

from __future__ import annotations

import re

import pytest

from wikibot_embedder.chunking import ChunkConfig, chunk_page, is_page, page_name
from wikibot_embedder.encoder import TokenCounter
from wikibot_shared import markdown


@pytest.fixture(scope="module")
def counter() -> TokenCounter:
    return TokenCounter()


def window_ok(counter: TokenCounter, page_chunks: list, limit: int = 256) -> bool:  # type: ignore[type-arg]
    return all(n + 2 <= limit for n in counter.count_tokens([c.embed_text for c in page_chunks]))


def test_section_paths_follow_headings(counter: TokenCounter) -> None:
    text = (
        "# Setup Guide\n\nWhat this guide covers, in enough words to stand alone as its own section here.\n\n"
        "## Install\n\n### Linux\n\nUse apt to install it and then enable the service unit with systemctl.\n\n"
        "### macOS\n\nUse Homebrew to install it and then start it with brew services start.\n\n"
        "## Configure\n\nEdit the configuration file and set the listen address and the data directory.\n"
    )
    page = chunk_page("Setup Guide.md", text, counter, ChunkConfig(min_tokens=0))
    assert [c.section for c in page.chunks] == [
        "Setup Guide",
        "Setup Guide > Install > Linux",
        "Setup Guide > Install > macOS",
        "Setup Guide > Configure",
    ]
    assert [c.position for c in page.chunks] == [0, 1, 2, 3]
    assert page.chunks[1].text.startswith("Use apt")
    # the H1 names the page: embedded once, as the title
    assert page.chunks[1].context == "Setup Guide > Install > Linux"


def test_the_first_h1_titles_a_page_without_front_matter(counter: TokenCounter) -> None:
    page = chunk_page("Notes.md", "# Meeting\n\nAgenda items.\n", counter, ChunkConfig(min_tokens=0))
    assert (page.title, page.chunks[0].section, page.chunks[0].context) == ("Meeting", "Meeting", "Meeting")


def test_without_an_h1_labels_are_the_page_headings_and_the_title_is_context(counter: TokenCounter) -> None:
    page = chunk_page(
        "Ops/Runbook.md", "Intro words.\n\n## Rollback\n\nRedeploy.\n", counter, ChunkConfig(min_tokens=0)
    )
    assert [(c.section, c.context) for c in page.chunks] == [
        ("", "Runbook"),
        ("Rollback", "Runbook > Rollback"),
    ]
    assert page.chunks[1].embed_text == "Runbook > Rollback\nRedeploy."


def test_heading_levels_pop_back(counter: TokenCounter) -> None:
    text = "## A\n\na text\n\n#### Deep\n\ndeep text\n\n### B\n\nb text\n\n## C\n\nc text\n"
    page = chunk_page("P.md", text, counter, ChunkConfig(min_tokens=0))
    assert [c.section for c in page.chunks] == ["A", "A > Deep", "A > B", "C"]
    assert [c.context for c in page.chunks] == ["P > A", "P > A > Deep", "P > A > B", "P > C"]


def test_setext_headings(counter: TokenCounter) -> None:
    text = "Overview\n========\n\nfirst part\n\nDetails\n-------\n\nsecond part\n"
    page = chunk_page("P.md", text, counter, ChunkConfig(min_tokens=0))
    assert [(c.section, c.text) for c in page.chunks] == [
        ("Overview", "first part"),
        ("Overview > Details", "second part"),
    ]
    assert page.title == "Overview"


def test_duplicate_headings_get_labels_that_tell_them_apart(counter: TokenCounter) -> None:
    text = "## Notes\n\nfirst notes\n\n## Notes\n\nsecond notes\n\n## Other\n\n### Notes\n\nthird\n"
    page = chunk_page("P.md", text, counter, ChunkConfig(min_tokens=0))
    assert [c.section for c in page.chunks] == ["Notes", "Notes [2]", "Other > Notes"]
    assert [c.context for c in page.chunks] == ["P > Notes", "P > Notes", "P > Other > Notes"]


def test_front_matter_names_the_page_and_is_not_indexed(counter: TokenCounter) -> None:
    text = "---\ntitle: 'Release Checklist'\ntags: [ops, secret-tag]\n---\n\nBump the version.\n"
    page = chunk_page("release.md", text, counter)
    assert page.title == "Release Checklist"
    assert page.name == "release"
    assert [(c.section, c.context) for c in page.chunks] == [("", "Release Checklist")]
    assert all("secret-tag" not in c.text for c in page.chunks)


def test_heading_lines_inside_code_fences_are_code(counter: TokenCounter) -> None:
    text = "## Script\n\n```bash\n# install\napt-get install foo\n\n## not a heading\n```\n\n~~~\n# also code\n~~~\n"
    page = chunk_page("P.md", text, counter)
    assert [c.section for c in page.chunks] == ["Script"]
    assert "```bash\n# install\napt-get install foo\n\n## not a heading\n```" in page.chunks[0].text
    assert "~~~\n# also code\n~~~" in page.chunks[0].text


def test_unclosed_fence_runs_to_the_end(counter: TokenCounter) -> None:
    page = chunk_page("P.md", "text\n\n```\n# code\nmore", counter, ChunkConfig(min_tokens=0))
    assert [c.section for c in page.chunks] == [""]
    assert "# code" in page.chunks[0].text


def test_long_code_fence_splits_at_lines_each_piece_fenced(counter: TokenCounter) -> None:
    body = "\n".join(f"value_{i} = compute({i}, factor={i * 3})" for i in range(120))
    page = chunk_page("P.md", f"## Code\n\n```python\n{body}\n```\n", counter)
    assert len(page.chunks) > 2
    for chunk in page.chunks:
        assert chunk.text.startswith("```python\n")
        assert chunk.text.endswith("\n```")
    lines = [line for c in page.chunks for line in c.text.split("\n")[1:-1]]
    assert lines == body.split("\n")  # every line exactly once, in order: no overlap inside code
    assert window_ok(counter, page.chunks)


def test_long_section_splits_with_overlap_and_loses_nothing(counter: TokenCounter) -> None:
    sentences = [f"Sentence {i} explains step {i} of the migration procedure in detail." for i in range(90)]
    page = chunk_page("P.md", "## Migration\n\n" + " ".join(sentences), counter)
    assert len(page.chunks) >= 4
    assert all(c.section == "Migration" for c in page.chunks)
    assert window_ok(counter, page.chunks)
    joined = " ".join(c.text for c in page.chunks)
    assert all(s in joined for s in sentences)
    for before, after in zip(page.chunks, page.chunks[1:], strict=False):
        first_sentence = re.split(r"(?<=\.)\s", after.text)[0]
        assert first_sentence in before.text  # the next chunk starts with the end of this one


def test_paragraphs_stay_whole_when_they_fit(counter: TokenCounter) -> None:
    paragraphs = [f"Paragraph {i}. " + "Words about storage and backups. " * 12 for i in range(8)]
    page = chunk_page("P.md", "\n\n".join(paragraphs), counter)
    assert len(page.chunks) > 1
    whole = {p.strip() for p in paragraphs}
    for n, chunk in enumerate(page.chunks):
        first, *rest = chunk.text.split("\n\n")
        assert all(part.strip() in whole for part in rest), "a paragraph that fits was split"
        # the first part of a later chunk may be the overlap: the end of the previous chunk's last paragraph
        assert first.strip() in whole or (
            n > 0 and any(p.strip().endswith(first.strip()) for p in paragraphs)
        )


def test_a_giant_spaceless_token_run_is_cut_within_the_window(counter: TokenCounter) -> None:
    blob = "-".join(["word"] * 1500)  # ~3000 tokens and not one space or sentence end
    page = chunk_page("P.md", blob, counter)
    assert len(page.chunks) > 10
    assert window_ok(counter, page.chunks)
    assert "".join(c.text for c in page.chunks) == blob


def test_tiny_sections_merge_keeping_their_headings(counter: TokenCounter) -> None:
    text = "## Install\n\n### Linux\n\napt.\n\n### macOS\n\nbrew.\n\n## Big\n\n" + "Long words here. " * 60
    page = chunk_page("P.md", text, counter)
    assert page.chunks[0].section == "Install"
    assert page.chunks[0].text == "### Linux\n\napt.\n\n### macOS\n\nbrew."
    assert page.chunks[1].section == "Big"


def test_the_window_holds_for_a_long_section_path(counter: TokenCounter) -> None:
    heading = "## " + " ".join(["verylongheadingword"] * 30)
    page = chunk_page("P.md", heading + "\n\n" + "Some content sentence here. " * 80, counter)
    assert window_ok(counter, page.chunks)


def test_empty_pages_have_no_chunks(counter: TokenCounter) -> None:
    assert chunk_page("P.md", "", counter).chunks == []
    assert chunk_page("P.md", "---\ntitle: X\n---\n\n   \n", counter).chunks == []
    assert chunk_page("P.md", "# P\n\n## Empty\n", counter).chunks == []


def test_page_names() -> None:
    assert page_name("Team/Onboarding.md") == "Team/Onboarding"
    assert is_page("Team/Onboarding.md")
    assert not is_page("Team/photo.png")
    assert not is_page(".hidden/x.md")
    page = chunk_page("Team/Onboarding.md", "First week.", TokenCounter())
    assert (page.name, page.title, page.chunks[0].section) == ("Team/Onboarding", "Onboarding", "")
    assert page.chunks[0].context == "Onboarding"


# Pages as people write them: no H1, an H1 that is not the title, setext headings, duplicates, front matter.
CORPUS = {
    "Deploy Runbook.md": "Intro to deploys, long enough to be its own chunk of text here.\n\n## Rollback\n\nRedeploy the previous tag.\n\n## Rollback\n\nOr restore the backup.\n",
    "Setext.md": "Overview\n========\n\nwhat this is\n\nDetails\n-------\n\nthe details\n\nMore\n----\n\nmore text\n",
    "Meta.md": "---\ntitle: Release Checklist\ntags: [ops]\n---\n\n# Not the title\n\nbody\n\n## Steps\n\n1. bump\n",
    "Deep.md": "# Deep\n\n## A\n\n### Notes\n\none\n\n## B\n\n### Notes\n\ntwo\n\n#### Notes\n\nthree\n",
    "Code.md": "## Script\n\n```\n## not a heading\n```\n\nText after.\n\n#\n\nuntitled section\n",
}


@pytest.mark.parametrize("config", [ChunkConfig(min_tokens=0), ChunkConfig()], ids=["unmerged", "merged"])
@pytest.mark.parametrize("path", sorted(CORPUS))
def test_every_chunk_label_is_a_section_the_page_model_finds(
    counter: TokenCounter, path: str, config: ChunkConfig
) -> None:
    """The labels search returns are the labels read_note resolves (both use wikibot_shared.markdown)."""
    text = CORPUS[path]
    body = markdown.parse(text).body
    page = chunk_page(path, text, counter, config)
    assert page.chunks
    for chunk in page.chunks:
        if chunk.section == "":  # the page as a whole: text before the first heading, or merged top levels
            section = body
        else:
            heading = markdown.find_section(body, chunk.section)
            assert heading.label == chunk.section
            section = body[heading.start : heading.end]
        for line in chunk.text.split("\n"):
            assert line in section, (chunk.section, line)
