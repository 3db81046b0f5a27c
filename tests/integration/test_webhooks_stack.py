"""Webhooks through the compose stack: a receiver on this machine, reached from the platform container over the
compose network's gateway (a private address, allowed by ``PLATFORM_WEBHOOKS_ALLOW_PRIVATE``), gets one signed
event for each change made through MCP (the official SDK), REST, the Otterwiki UI and a git push — in that order,
each verified with the Standard Webhooks reference library — and the Atom feed lists the same commits."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks import Webhook as Verifier

from services.mcp.tests.support.clients import payload, sdk
from tests.integration.stack import Stack, running_stack
from tests.integration.test_otterwiki_stack import HTML, _create_wiki, _session

SLUG = "hookstack"


@pytest.fixture(scope="module")
def hook_stack() -> Iterator[Stack]:
    with running_stack({"PLATFORM_WEBHOOKS_ALLOW_PRIVATE": "true"}) as stack:
        yield stack


class Receiver:
    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("0.0.0.0", 0), Handler)  # noqa: S104 - the containers must reach it
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count: int, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(self.received) >= count, [json.loads(b)["data"].get("page") for _h, b in self.received]


def _gateway(stack: Stack) -> str:
    """The compose network's gateway: this machine, as the containers see it."""
    network = f"{stack.project}_default"
    out = subprocess.run(
        ["docker", "network", "inspect", network, "-f", "{{(index .IPAM.Config 0).Gateway}}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def test_changes_from_every_front_door_arrive_signed_and_in_order(hook_stack: Stack, tmp_path: Path) -> None:
    stack = hook_stack
    _create_wiki(stack, SLUG, "hana", public=False, body="hooks")
    session = _session(stack, "hana")
    bearer = {"Authorization": f"Bearer {session}"}
    receiver = Receiver()
    try:
        made = stack.request(
            "POST",
            f"/api/wikis/{SLUG}/webhooks",
            json={"url": f"http://{_gateway(stack)}:{receiver.port}/hook", "events": ["page.created"]},
            headers=bearer,
        )
        assert made.status_code == 201, made.text
        secret = made.json()["secret"]
        token = stack.request(
            "POST",
            f"/api/wikis/{SLUG}/tokens",
            json={"name": "hooks", "scopes": ["wiki:write"]},
            headers=bearer,
        ).json()["token"]

        # 1. MCP, through Caddy, with the official SDK
        async def agent() -> dict[str, Any]:
            async with sdk(f"http://127.0.0.1:{stack.port}", token, host=stack.host(SLUG)) as client:
                return payload(await client.call_tool("write_note", {"path": "By MCP", "content": "# MCP\n"}))

        assert asyncio.run(agent())["created"] is True
        # 2. REST
        rest = stack.request(
            "PUT",
            "/api/v1/pages/By REST",
            slug=SLUG,
            json={"content": "# REST\n"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert rest.status_code == 201, rest.text
        # 3. the Otterwiki UI
        cookie = {"Cookie": f"wikibot_session={session}"}
        editor = stack.get("/Home?edit", slug=SLUG, headers={**HTML, **cookie})
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', editor.text)
        assert csrf is not None, editor.text[:300]
        ui_cookie = editor.headers["set-cookie"].split(";")[0]
        saved = stack.request(
            "POST",
            "/By UI/save",
            slug=SLUG,
            headers={**HTML, "Cookie": f"wikibot_session={session}; {ui_cookie}"},
            data={"content": "# UI\n", "commit": "from the UI", "csrf_token": csrf.group(1)},
        )
        assert saved.status_code == 302, saved.text[:300]
        # 4. git push
        env = {
            **os.environ,
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_AUTHOR_NAME": "x",
            "GIT_AUTHOR_EMAIL": "x@x",
            "GIT_COMMITTER_NAME": "x",
            "GIT_COMMITTER_EMAIL": "x@x",
        }
        resolve = ["-c", f"http.curloptResolve={SLUG}.localhost:{stack.port}:127.0.0.1"]
        clone = tmp_path / "c"
        url = f"http://x:{token}@{SLUG}.localhost:{stack.port}/repo.git"
        subprocess.run(["git", *resolve, "clone", "-q", url, str(clone)], env=env, check=True, timeout=120)
        (clone / "By Git.md").write_text("# Git\n")
        subprocess.run(["git", "-C", str(clone), "add", "-A"], env=env, check=True)
        subprocess.run(["git", "-C", str(clone), "commit", "-qm", "from git"], env=env, check=True)
        pushed = subprocess.run(
            ["git", *resolve, "-C", str(clone), "push", "-q", "origin", "HEAD:main"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert pushed.returncode == 0, pushed.stderr

        receiver.wait_for(4)
        verifier = Verifier(secret)
        events = []
        for headers, body in receiver.received:
            verifier.verify(body, headers)
            events.append(json.loads(body))
        assert [(e["data"]["page"], e["data"]["source"]) for e in events[:4]] == [
            ("By MCP", "mcp"),
            ("By REST", "rest"),
            ("By UI", "ui"),
            ("By Git", "git"),
        ]
        assert events[0]["data"]["author"]["did"] == "did:plc:hana"
        assert events[0]["data"]["url"] == f"http://{stack.host(SLUG)}/By%20MCP"
        listed = stack.request(
            "GET", f"/api/wikis/{SLUG}/webhooks/{made.json()['id']}/deliveries", headers=bearer
        )
        assert {d["status"] for d in listed.json()} == {"delivered"}

        # the Atom feed of the same wiki, with a read-only token in its URL
        reader = stack.request(
            "POST",
            f"/api/wikis/{SLUG}/tokens",
            json={"name": "feed", "scopes": ["wiki:read"]},
            headers=bearer,
        ).json()["token"]
        feed = stack.get(f"/api/v1/changes.atom?token={reader}", slug=SLUG)
        assert feed.status_code == 200, feed.text
        commits = {e["data"]["commit"] for e in events[:4]}
        assert all(f"/-/commit/{c}" in feed.text for c in commits)
        assert base64.b64decode(secret.removeprefix("whsec_"))  # a real secret, not a placeholder
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
