"""Following a wiki's changes without polling the whole wiki (docs/webhooks.md).

- ``GET /api/v1/changes.atom``: an Atom feed (RFC 4287) of the newest commits. Public wikis need no credential;
  for a private wiki a feed reader, which cannot send headers, puts a **read-only** personal access token in the
  URL (``?token=wbp_…``): a token that can write is refused there (a URL ends up in logs and history), and
  revoking the token ends the feed. Our access log records paths only, never query strings.
- ``GET /api/v1/changes/stream``: Server-Sent Events, one ``change`` event per commit (``id`` = the commit, so a
  client that reconnects with ``Last-Event-ID``, or ``?after=``, resumes where it was), a comment every 15 s to
  keep proxies from closing it, and an end after ``STREAM_SECONDS`` (EventSource reconnects on its own). At most
  ``MAX_STREAMS`` per process; more get 429 with ``Retry-After``.
"""

from __future__ import annotations

import functools
import json
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import Response, StreamingResponse

from wikibot_shared import acl
from wikibot_shared.asgi import error_responses
from wikibot_shared.errors import InputError, RateLimited
from wikibot_shared.tokens import PAT_PREFIX

from .rest import Core, Reader, address_of, core_of
from .wiki import Actor

router = APIRouter(prefix="/api/v1", responses=error_responses())
ATOM = "http://www.w3.org/2005/Atom"
FEED_ENTRIES = 50
STREAM_SECONDS = 600
HEARTBEAT_SECONDS = 15
POLL_SECONDS = 1.0
MAX_STREAMS = 32
_streams = threading.BoundedSemaphore(MAX_STREAMS)


def feed_actor(
    request: Request,
    token: Annotated[
        str | None, Query(description="a read-only personal access token (feed readers)")
    ] = None,
) -> Actor:
    """The reader of a feed: its credential as usual, or a read-only token in the URL."""
    actors = request.app.state.actors
    host = request.headers.get("host")
    address = address_of(request)
    if token is None:
        access = actors.authorize(host, request.headers, request.cookies, acl.Action.READ, address=address)
    else:
        if request.headers.get("authorization"):
            raise InputError(
                "send the token in the URL or in Authorization, not both", code="invalid_request"
            )
        if not token.startswith(PAT_PREFIX):
            raise InputError("feed URLs take a personal access token (wbp_…)", code="invalid_token")
        bearer = {"authorization": f"Bearer {token}"}
        access = actors.authorize(host, bearer, {}, acl.Action.READ, address=address)
        if acl.SCOPE_WRITE in (access.principal.scopes or ()):
            raise InputError(
                "this token can write, and a URL is no place for it: make a read-only token for feeds",
                code="token_can_write",
            )
    return actors.actor(access, "rest", acl.Action.READ)  # type: ignore[no-any-return]


FeedReader = Annotated[Actor, Depends(feed_actor)]


def atom(actor: Actor, changes: list[dict[str, Any]], wiki_url: str, self_url: str) -> bytes:
    ET.register_namespace("", ATOM)

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        if text is not None:
            element.text = text
        return element

    feed = ET.Element(f"{{{ATOM}}}feed")
    sub(feed, "id", self_url)
    sub(feed, "title", f"{actor.access.display_name}: changes")
    sub(feed, "updated", changes[0]["date"] if changes else "1970-01-01T00:00:00Z")
    sub(feed, "link", rel="self", type="application/atom+xml", href=self_url)
    sub(feed, "link", rel="alternate", type="text/html", href=wiki_url)
    sub(sub(feed, "author"), "name", actor.access.display_name)
    sub(feed, "generator", "Wikibot")
    for change in changes:
        entry = sub(feed, "entry")
        sub(entry, "id", f"{wiki_url}/-/commit/{change['commit']}")
        sub(entry, "title", change["message"] or f"Commit {change['commit'][:7]}")
        sub(entry, "updated", change["date"])
        sub(sub(entry, "author"), "name", change["author"])
        sub(entry, "link", rel="alternate", type="text/html", href=f"{wiki_url}/-/commit/{change['commit']}")
        touched = [f"{p['path']} ({p['change']})" for p in change["pages"] + change["files"]]
        sub(entry, "summary", "; ".join(touched) or "no files changed")
    body: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return body


@router.get("/changes.atom", tags=["history"], response_class=Response)
def changes_atom(request: Request, actor: FeedReader, core: Core) -> Response:
    """The wiki's newest changes as an Atom feed (``?token=`` a read-only token for private wikis)."""
    wiki_url = request.app.state.settings.wiki_url(actor.slug)
    changes = core.changes(actor, limit=FEED_ENTRIES)["changes"]
    body = atom(actor, changes, wiki_url, f"{wiki_url}/api/v1/changes.atom")
    return Response(
        body,
        media_type="application/atom+xml; charset=utf-8",
        headers={"Cache-Control": "private, max-age=60"},
    )


@router.get("/changes/stream", tags=["history"], response_class=StreamingResponse)
async def changes_stream(
    request: Request,
    actor: Reader,
    after: Annotated[
        str | None, Query(description="resume after this commit (or send Last-Event-ID)")
    ] = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """Server-Sent Events: each new commit as a ``change`` event whose ``id`` is the commit."""
    core = core_of(request)
    cursor = after or last_event_id
    if cursor is None:
        cursor = await anyio.to_thread.run_sync(core.head, actor)
    else:  # a bad or rewritten cursor is refused now, as JSON, not in the middle of a stream
        await anyio.to_thread.run_sync(lambda: core.changes_after(actor, cursor, limit=1))
    if not _streams.acquire(blocking=False):
        raise RateLimited("too many change streams are open here; retry in a minute", retry_after=60)

    async def events() -> AsyncIterator[bytes]:
        nonlocal cursor
        try:
            yield b"retry: 2000\n\n"
            started = last_sent = time.monotonic()
            while time.monotonic() - started < STREAM_SECONDS:
                if await request.is_disconnected():
                    return
                if await anyio.to_thread.run_sync(core.head, actor) == cursor:  # a ref read, not a git log
                    page: dict[str, Any] = {"changes": [], "next": cursor}
                else:
                    page = await anyio.to_thread.run_sync(
                        functools.partial(core.changes_after, actor, cursor, limit=50)
                    )
                for change in page["changes"]:
                    data = json.dumps(change, separators=(",", ":"))
                    yield f"id: {change['commit']}\nevent: change\ndata: {data}\n\n".encode()
                    last_sent = time.monotonic()
                cursor = page["next"]
                if time.monotonic() - last_sent >= HEARTBEAT_SECONDS:
                    yield b": keep-alive\n\n"
                    last_sent = time.monotonic()
                if not page["changes"]:
                    await anyio.sleep(POLL_SECONDS)
        finally:
            _streams.release()

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
