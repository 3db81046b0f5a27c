"""Which page an Otterwiki URL is about, for the path rules (``wikibot_shared.pathrules``).

Otterwiki's page routes are ``/<page>`` followed by an action (``/edit``, ``/save``, ``/rename``, ``/delete``,
``/attachments``, ``/a/<file>`` …; ``otterwiki/views.py``). The middleware asks for the page of a request so that
a visitor who may write only in some folders is not offered editing elsewhere; what is actually written is
checked again, file by file, in the storage guard (``storage.TenantStorage``), which also covers the routes that
name no page in their URL (``/-/create``, ``/-/revert/<rev>``).
"""

from __future__ import annotations

import re

_ACTION = re.compile(
    r"/(?:edit(?:/[^/]+)?|save|preview|draft(?:/discard)?|history|rename/?|delete/?|blame(?:/[^/]*)?"
    r"|view(?:/[^/]+)?|source(?:/[^/]+)?|attachments|inline_attachment|a/[^/]+(?:/[^/]+)?"
    r"|t/[^/]+(?:/\d+)?|attachment/[^/]+)$"
)


def page_file_of(path_info: str) -> str | None:
    """The repository file of the page a request path is about (``/Agents/Plan/edit`` → ``Agents/Plan.md``);
    ``None`` for the wiki's own routes (``/``, ``/-/…``, ``/.git…``, static files)."""
    path = path_info.strip("/")
    if not path or path.startswith(("-/", ".git", "static/")) or path in ("-", "robots.txt", "favicon.ico"):
        return None
    page = _ACTION.sub("", "/" + path).strip("/")
    return f"{page}.md" if page else None
