"""Links between pages: which pages a page links to, and rewriting links when a page is renamed.

Otterwiki renders ``[[Page]]`` and ``[[Title|Page]]`` (its default ``WIKILINK_STYLE``) and Markdown links to
``/Page``. The rewrite below is ``otterwiki.backlinks._rewrite_content`` (2.26.1) with
``RETAIN_PAGE_NAME_CASE`` on; that module imports Otterwiki's Flask app, so its logic is carried here and
``tests/wiki/test_links.py`` checks both give the same text.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

from wikibot_shared import markdown
from wikibot_shared.markdown import MARKDOWN_LINK_RE, WIKILINK_RE

from .names import get_filename

IMAGE_LINK_WRAPPER_RE = re.compile(r"\[(!\[[^\]]*\]\([^)]+\))\]\((/[^)]+)\)")
IMAGE_LINK_RE = re.compile(r"!\[([^\]]*)\]\((/[^)]+)\)")


def link_targets(content: str) -> set[str]:
    """Files (``Page.md``) this text links to: wiki links and absolute Markdown links (not images)."""
    return {get_filename(page) for page in markdown.link_targets(content)}


# -- rename (otterwiki.backlinks, RETAIN_PAGE_NAME_CASE on, default WIKILINK_STYLE) --------------------------


def _strip_md(pagepath: str) -> str:
    return pagepath[:-3] if pagepath.endswith(".md") else pagepath


def _rewrite_inner(inner: str, old_key: str, new_pagepath: str) -> str | None:
    if "|" in inner:
        title_part, link_part = inner.split("|", 1)
    else:
        link_part, title_part = inner, None
    leading_slash = link_part.startswith("/")
    page, hsep, anchor = link_part.strip().lstrip("/").partition("#")
    page = unquote(page.strip())
    if not page or get_filename(page) != old_key:
        return None
    new_link = ("/" if leading_slash else "") + new_pagepath
    if hsep:
        new_link += "#" + anchor
    return new_link if title_part is None else title_part + "|" + new_link


def _rewrite_url(url: str, old_pagepath: str, new_pagepath: str) -> str:
    path, qsep, query = url.partition("?")
    path, hsep, anchor = path.partition("#")
    old_prefix = "/" + quote(_strip_md(old_pagepath).strip("/"), safe="/") + "/"
    new_page_dir = quote(_strip_md(new_pagepath).strip("/"), safe="/")
    if path.startswith(old_prefix):
        new_path = "/" + new_page_dir + path[len(old_prefix) - 1 :]
    else:
        leading_slash = path.startswith("/")
        page = unquote(path.lstrip("/"))
        if not page or get_filename(page) != get_filename(old_pagepath):
            return url
        new_path = ("/" if leading_slash else "") + quote(new_pagepath, safe="/")
    if hsep:
        new_path += "#" + anchor
    if qsep:
        new_path += "?" + query
    return new_path


def rewrite_links(content: str, old_pagepath: str, new_pagepath: str) -> str:
    """The text with every link to ``old_pagepath`` (and its attachments) pointing at ``new_pagepath``."""
    old_key = get_filename(old_pagepath)

    def wikilink(m: re.Match[str]) -> str:
        new_inner = _rewrite_inner(m.group(1), old_key, new_pagepath)
        return m.group(0) if new_inner is None else "[[" + new_inner + "]]"

    def wrapper(m: re.Match[str]) -> str:
        return f"[{m.group(1)}]({_rewrite_url(m.group(2), old_pagepath, new_pagepath)})"

    def image(m: re.Match[str]) -> str:
        return f"![{m.group(1)}]({_rewrite_url(m.group(2), old_pagepath, new_pagepath)})"

    def markdown(m: re.Match[str]) -> str:
        return f"[{m.group(1)}]({_rewrite_url(m.group(2), old_pagepath, new_pagepath)})"

    content = WIKILINK_RE.sub(wikilink, content)
    content = IMAGE_LINK_WRAPPER_RE.sub(wrapper, content)
    content = IMAGE_LINK_RE.sub(image, content)
    return MARKDOWN_LINK_RE.sub(markdown, content)
