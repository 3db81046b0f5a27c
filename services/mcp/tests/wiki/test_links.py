"""Links: what a page links to, and the rename rewrite (checked against Otterwiki's own)."""

from pathlib import Path

from services.mcp.tests.support.otterwiki_oracle import otterwiki
from wikibot_mcp.wiki.links import link_targets, rewrite_links

TEXT = """See [[Setup Guide]], [[the guide|Setup Guide#linux]], [[/Setup Guide]] and [[Other]].
Markdown: [guide](/Setup%20Guide), [anchor](/Setup%20Guide#mac?x=1), [sub](/Setup Guide/Sub).
Image: ![shot](/Setup%20Guide/a/shot.png) and [![i](/Setup%20Guide/a/i.png)](/Setup%20Guide).
Untouched: [[Setup Guides]], [x](https://example.org/Setup%20Guide), `[[code]]`.
"""


def test_link_targets() -> None:
    targets = link_targets(TEXT)
    assert {"Setup Guide.md", "Other.md", "Setup Guide/Sub.md", "Setup Guides.md"} <= targets
    assert not any(t.endswith("shot.png.md") or "example.org" in t for t in targets)


def test_rewrite_matches_otterwiki(tmp_path: Path) -> None:
    cases = [
        (TEXT, "Setup Guide", "Guides/Setup"),
        (TEXT, "Other", "Elsewhere/New Name"),
        ("[[a|Team/Page]] [t](/Team/Page/a/f.pdf)", "Team/Page", "Archive/Page"),
    ]
    oracle = otterwiki(tmp_path, {"pages": [], "files": [], "rewrites": cases})
    mine = [rewrite_links(c, old, new) for c, old, new in cases]
    assert mine == oracle["rewrites"]
    assert "[[Guides/Setup]]" in mine[0]
    assert "[[Setup Guides]]" in mine[0]
