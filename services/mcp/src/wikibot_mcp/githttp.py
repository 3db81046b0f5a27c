"""Git smart HTTP at ``/repo.git`` (gitprotocol-http(5)), served by ``git http-backend`` as a CGI.

- clone/fetch (``git-upload-pack``): anyone who may read — a personal access token as the Basic password
  (any user name), or nobody at all on a public wiki. A 401 carries a ``Basic`` challenge so git asks for
  credentials (RFC 7617).
- push (``git-receive-pack``): writers, on plans that allow pushing, while the wiki is not lapsed. The pack
  is received whole, then ``receive-pack`` runs under the wiki's ``repo_lock`` (so it never interleaves with a
  UI or MCP commit), with ``receive.fsckObjects`` and our ``pre-receive`` check (``githooks``); the working tree
  follows via ``receive.denyCurrentBranch=updateInstead``. Every path changed between the old and the new head
  (any number of commits, force pushes too) goes to the embedder in one change notice.
Only the smart protocol is served; the dumb one (plain ``GET /repo.git/objects/…``) is 404.
"""

from __future__ import annotations

import asyncio
import json
import stat
import sys
import tempfile
from pathlib import Path
from urllib.parse import parse_qs

import anyio
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from wikibot_shared import acl, git, proposals
from wikibot_shared.errors import AuthError, LimitExceeded, NotFound, WikibotError
from wikibot_shared.locks import repo_lock
from wikibot_shared.tiers import check_push_allowed, tier_for
from wikibot_shared.verify import Access
from wikibot_shared.web import error_parts, read_body, scope_address

from .actors import Actors
from .config import McpSettings
from .wiki import WikiCore, gitrepo
from .wiki.context import Actor

SERVICES = ("git-upload-pack", "git-receive-pack")
MAX_UPLOAD_REQUEST = 16 * 1024 * 1024  # wants and haves; a pack comes only with receive-pack


def _hooks_dir() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="wikibot-hooks-"))
    hook = folder / "pre-receive"
    hook.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m wikibot_mcp.githooks pre-receive\n')
    hook.chmod(stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    return folder


def _split_cgi(output: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    head, sep, body = output.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = output.partition(b"\n\n")
    status = 200
    headers: list[tuple[bytes, bytes]] = []
    for line in head.splitlines():
        name, _, value = line.partition(b":")
        name, value = name.strip().lower(), value.strip()
        if name == b"status":
            status = int(value.split()[0])
        elif name:
            headers.append((name, value))
    return status, headers, body


def _push_too_large(limit: int) -> LimitExceeded:
    return LimitExceeded(f"the push is larger than the {limit} bytes allowed", code="request_too_large")


class GitEndpoint:
    def __init__(self, settings: McpSettings, actors: Actors, core: WikiCore) -> None:
        self.settings = settings
        self.actors = actors
        self.core = core
        self.hooks = _hooks_dir()
        # git-http-backend(1) CONFIGURATION, and what receive-pack does with a push (git-config(1) receive.*).
        self.config = {
            "http.receivepack": "true",
            "http.uploadpack": "true",
            "core.hooksPath": str(self.hooks),
            "receive.fsckObjects": "true",
            "receive.denyCurrentBranch": "updateInstead",
            "receive.denyDeletes": "true",
            "uploadpack.allowFilter": "true",
            "transfer.hideRefs": proposals.REF_PREFIX.rstrip("/"),  # proposals are not the wiki's history
            **git.ANY_OWNER,
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self._serve(scope, receive, send)
        except WikibotError as exc:
            status, headers, body = error_parts(exc)
            if isinstance(exc, AuthError):
                slug = scope.get("wikibot.slug") or "wiki"
                headers["WWW-Authenticate"] = f'Basic realm="Wikibot {slug}", charset="UTF-8"'  # RFC 7617 §2
            await JSONResponse(body, status_code=status, headers=headers)(scope, receive, send)

    # -- routing and authorization -------------------------------------------------------------------------
    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        rest = scope["path"][len("/repo.git") :]
        query = parse_qs(scope.get("query_string", b"").decode())
        method = scope["method"]
        if rest == "/info/refs" and method == "GET":
            service = (query.get("service") or [""])[0]
        elif rest in ("/git-upload-pack", "/git-receive-pack") and method == "POST":
            service = rest[1:]
        else:
            raise NotFound(
                "only git's smart HTTP protocol is served here: git clone <wiki>/repo.git", code="not_found"
            )
        if service not in SERVICES:
            raise NotFound("git clients newer than 1.6.6 are required (smart HTTP)", code="not_found")
        push = service == "git-receive-pack"
        headers = Headers(scope=scope)
        address = scope_address(scope, headers)
        access: Access = await anyio.to_thread.run_sync(self._authorize, headers, push, address)
        scope["wikibot.slug"] = access.wiki.slug
        repo = self.core.repo(access.wiki.slug)
        if not (repo / ".git").is_dir():
            raise NotFound(f"the wiki '{access.wiki.slug}' has no repository yet", code="no_repository")
        env = self._cgi_env(scope, headers, access, rest)
        if push and method == "POST":
            limit = tier_for(self.core.tiers, access.wiki.tier).bytes_per_wiki + MAX_UPLOAD_REQUEST
            body = await read_body(receive, min(limit, self.settings.max_body_bytes), _push_too_large)
            actor = self.actors.actor(access, "git", acl.Action.WRITE)
            output = await anyio.to_thread.run_sync(self._receive_pack, actor, env, body)
            status, out_headers, out_body = _split_cgi(output)
            await send({"type": "http.response.start", "status": status, "headers": out_headers})
            await send({"type": "http.response.body", "body": out_body})
            return
        body = await read_body(receive, MAX_UPLOAD_REQUEST, _push_too_large) if method == "POST" else b""
        await self._stream(env, body, send)

    def _authorize(self, headers: Headers, push: bool, address: str) -> Access:
        action = acl.Action.WRITE if push else acl.Action.READ
        access = self.actors.authorize(headers.get("host"), headers, {}, action, address=address)
        if push:
            check_push_allowed(tier_for(self.core.tiers, access.wiki.tier))
        return access

    def _cgi_env(self, scope: Scope, headers: Headers, access: Access, rest: str) -> dict[str, str]:
        tier = tier_for(self.core.tiers, access.wiki.tier)
        env = {
            "GIT_PROJECT_ROOT": str(self.core.repo(access.wiki.slug).parent),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": "/repo" + rest,
            "REQUEST_METHOD": scope["method"],
            "QUERY_STRING": scope.get("query_string", b"").decode(),
            "CONTENT_TYPE": headers.get("content-type", ""),
            "REMOTE_USER": access.principal.did or "anonymous",
            "REMOTE_ADDR": "127.0.0.1",
            "WIKIBOT_MAX_PAGES": str(tier.pages_per_wiki),
            "WIKIBOT_MAX_BYTES": str(tier.bytes_per_wiki),
            "WIKIBOT_MAX_ATTACHMENT": str(tier.attachment_bytes),
        }
        if access.proposes:
            env["WIKIBOT_PROPOSE"] = "1"
        area = access.write_area
        if not area.everywhere:
            env["WIKIBOT_WRITE_PATHS"] = json.dumps(list(area.prefixes or ()))
            env["WIKIBOT_WRITE_HOLDER"] = area.holder
        if headers.get("content-encoding"):
            env["HTTP_CONTENT_ENCODING"] = headers["content-encoding"]
        if headers.get("git-protocol"):
            env["GIT_PROTOCOL"] = headers["git-protocol"]
        return env

    # -- running git ---------------------------------------------------------------------------------------
    async def _stream(self, env: dict[str, str], body: bytes, send: Send) -> None:
        env = {**env, "CONTENT_LENGTH": str(len(body))}
        proc = await git.spawn(None, "http-backend", env=env, config=self.config)
        assert proc.stdin is not None
        assert proc.stdout is not None

        async def feed() -> None:
            assert proc.stdin is not None
            try:
                if body:  # a GET has none; writing even b"" to a git that has already exited raises
                    proc.stdin.write(body)
                    await proc.stdin.drain()
            finally:
                proc.stdin.close()

        writer = asyncio.create_task(feed())
        try:
            head = b""
            while b"\r\n\r\n" not in head and b"\n\n" not in head:
                chunk = await proc.stdout.read(65536)
                if not chunk:
                    break
                head += chunk
            status, headers, first = _split_cgi(head)
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": first, "more_body": True})
            while chunk := await proc.stdout.read(65536):
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            await writer
            if proc.returncode is None:
                proc.kill()
            await proc.wait()

    def _receive_pack(self, actor: Actor, env: dict[str, str], body: bytes) -> bytes:
        repo = self.core.repo(actor.slug)
        env = {**env, "CONTENT_LENGTH": str(len(body))}
        with repo_lock(self.core.wikis_dir, actor.slug):
            before = gitrepo.read_head(repo)
            # The CGI's output carries its own status, whatever git's exit code.
            output = git.run(None, "http-backend", input=body, env=env, config=self.config, check=False)
            after = gitrepo.read_head(repo)
            if after and after != before:
                changed = self._changed(repo, before, after)
                snap = self.core.snapshots.get(repo)
                self.core._record_usage(actor.slug, snap.usage)
        if after and after != before:
            self.core._notify(actor, after, changed)
        return output

    @staticmethod
    def _changed(repo: Path, before: str | None, after: str) -> list[str]:
        if before is None:
            return [entry.path for entry in git.ls_tree(repo, after)]
        raw = git.run(repo, "diff", "--name-only", "-z", "--no-renames", before, after)
        return [p for p in raw.decode("utf-8", "surrogateescape").split("\0") if p]
