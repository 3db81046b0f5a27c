"""The refusals the middleware answers with itself, before any wiki is bound: no such wiki, no access, a dead
sign-in link. Browsers (``Accept: text/html``) get a small HTML page; other clients the service's JSON error."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from wikibot_shared.web import wants_html

from .edge import StartResponse, status_line

TEMPLATES = Path(__file__).parent / "templates"
_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True))


Headers = list[tuple[str, str]]


def render(
    heading: str,
    message: Sequence[str],
    *,
    title: str | None = None,
    who: str | None = None,
    links: Sequence[tuple[str, str]] = (),
) -> bytes:
    template = _env.get_template("wikibot/standalone.html")
    html = template.render(title=title or heading, heading=heading, message=message, who=who, links=links)
    return html.encode()


def respond(
    start_response: StartResponse,
    environ: dict[str, Any],
    status: int,
    *,
    code: str,
    heading: str,
    message: Sequence[str],
    who: str | None = None,
    links: Sequence[tuple[str, str]] = (),
    headers: Headers | None = None,
) -> Iterable[bytes]:
    extra = list(headers or [])
    if wants_html(environ.get("HTTP_ACCEPT")):
        body = render(heading, message, who=who, links=links)
        content_type = "text/html; charset=utf-8"
    else:
        body = json.dumps({"error": code, "message": " ".join(message)}).encode()
        content_type = "application/json"
    start_response(
        status_line(status),
        [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
            *extra,
        ],
    )
    return [body]


def redirect(start_response: StartResponse, location: str, headers: Headers | None = None) -> Iterable[bytes]:
    start_response(
        status_line(302),
        [("Location", location), ("Content-Length", "0"), ("Cache-Control", "no-store"), *(headers or [])],
    )
    return [b""]
