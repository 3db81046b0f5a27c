"""The official TypeScript MCP SDK's OAuth client (what Claude Code, MCP Inspector and most hosts are built on)
against the compose stack, given only a wiki's MCP URL: it registers, the person consents once, it lists
tools, writes and reads without a second consent, refreshes once its access token has expired, and its token
is refused on another wiki. Then the refusals the issue names: a rotated refresh token reused ends the whole
connection, and a refresh after the person lost access fails. The connected-apps page shows each step.

Its stack has a 60 s access-token lifetime (the platform's minimum), so the expiry is real, not simulated.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.integration.stack import ROOT, Stack, running_stack
from tests.integration.test_oauth_stack import allow, call
from tests.support import tssdk
from tests.support.tssdk import NODE, SDK_DIR

REDIRECT = "http://localhost:33418/callback"  # never listened on: the test reads the code from the redirect
SLUG, OTHER = "tsagent", "tsother"
DID, USER = "did:plc:tssdkaaaaaaaaaaaaaaaaaaaa", "tssdk"
ACCESS_TTL, LEEWAY = 60, 30  # the stack's token lifetime; the verifier's clock-skew allowance


class Agent:
    """The Node process: one JSON line per order and per event."""

    def __init__(self, stack: Stack, session: str, mcp_url: str) -> None:
        shutil.copy(ROOT / "tests" / "integration" / "node" / "agent.mjs", SDK_DIR / "agent.mjs")
        self.stack, self.session = stack, session
        self.consents: list[dict[str, str]] = []
        self.proc = subprocess.Popen(
            [str(NODE), str(SDK_DIR / "agent.mjs"), mcp_url, REDIRECT],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def order(self, step: str, **fields: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"step": step, **fields}) + "\n")
        self.proc.stdin.flush()
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise AssertionError(
                    f"the agent stopped: {self.proc.stderr.read() if self.proc.stderr else ''}"
                )
            event = json.loads(line)
            if event["event"] == "authorize":
                answer = consent(self.stack, self.session, event["url"])
                self.consents.append(answer)
                self.proc.stdin.write(json.dumps(answer) + "\n")
                self.proc.stdin.flush()
                continue
            if event["event"] == "error":
                raise AssertionError(event["message"])
            return event

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(AssertionError, BrokenPipeError, OSError):
                self.order("quit")
        self.proc.kill()
        self.proc.communicate(timeout=10)  # reads and closes the pipes


def consent(stack: Stack, session: str, url: str) -> dict[str, str]:
    """The person consents, after checking what the SDK asked for and what the page offers."""
    asked = parse_qs(urlsplit(url).query)
    assert asked["scope"] == ["wiki:read wiki:write"], asked  # the 401's challenge: reading and writing
    assert asked["resource"][0].rstrip("/") == f"http://{stack.host(SLUG)}/mcp"
    assert asked["code_challenge_method"] == ["S256"]
    page, answer = allow(stack, session, url, REDIRECT)
    offered = re.findall(r'name="scope" value="([^"]+)"', page)
    assert offered == ["wiki:read", "wiki:write", "offline_access"], offered  # stays connected, unasked
    return answer


@pytest.fixture(scope="module")
def short_lived() -> Iterator[Stack]:
    with running_stack({"PLATFORM_OAUTH_ACCESS_TTL": str(ACCESS_TTL)}) as stack:
        yield stack


@pytest.fixture(scope="module")
def session(short_lived: Stack) -> str:
    stack = short_lived
    stack.exec(
        "platform", "wikibot-admin", "create-user", "--did", DID, "--handle", "tssdk.test", "--username", USER
    )
    url = stack.exec("platform", "wikibot-admin", "login-link", USER).stdout.strip()
    parts = urlsplit(url)
    signed_in = call(stack, "GET", f"{parts.path}?{parts.query}")
    assert signed_in.status_code == 303, signed_in.text
    cookie = str(signed_in.cookies["wikibot_session"])
    for slug in (SLUG, OTHER):
        created = call(
            stack,
            "POST",
            "/api/wikis",
            json={"slug": slug, "display_name": slug.title()},
            headers={"Authorization": f"Bearer {cookie}"},
        )
        assert created.status_code == 201, created.text
    return cookie


def apps(stack: Stack, session: str, slug: str = SLUG) -> list[dict[str, Any]]:
    listed = call(stack, "GET", f"/api/wikis/{slug}/apps", headers={"Authorization": f"Bearer {session}"})
    assert listed.status_code == 200, listed.text
    return listed.json()  # type: ignore[no-any-return]


def steps(app: dict[str, Any]) -> dict[str, Any]:
    return {s["step"]: s for s in app["steps"]}


def test_one_consent_writes_and_stays_connected_across_an_expiry(short_lived: Stack, session: str) -> None:
    tssdk.require()
    stack = short_lived
    agent = Agent(stack, session, f"http://{stack.host(SLUG)}/mcp")
    try:
        connected = agent.order("connect")
        assert "write_note" in connected["tools"]
        assert connected["authorizations"] == 1
        wrote = agent.order(
            "call", tool="write_note", arguments={"path": "From TS", "content": "# TS\n\nhello\n"}
        )
        assert not wrote["isError"], wrote
        read = agent.order("call", tool="read_note", arguments={"path": "From TS"})
        assert json.loads(read["text"])["content"] == "# TS\n\nhello\n"
        assert len(agent.consents) == 1  # writing needed no second consent
        held = agent.order("tokens")
        first = held["tokens"]
        assert first["refresh_token"].startswith("wbr_")
        assert set(first["scope"].split()) == {"wiki:read", "wiki:write", "offline_access"}
        assert first["expires_in"] == ACCESS_TTL

        (app,) = apps(stack, session)
        assert app["status"] == "connected"
        assert app["client_name"] == "TypeScript SDK host"
        assert app["stays_connected"] is True
        seen = steps(app)
        for step in ("registered", "consented", "token_issued", "first_call", "last_call"):
            assert seen[step]["at"] is not None, step
        assert seen["last_refresh"]["at"] is None

        expired_at = time.monotonic() + ACCESS_TTL + LEEWAY + 2
        # While the token lives: each write searched at once with its commit, found on every try.
        for i in range(10):
            note = agent.order(
                "call",
                tool="write_note",
                arguments={"path": f"TS Loop {i}", "content": f"# TS Loop {i}\n\nThe codeword is tq{i}wx.\n"},
            )
            assert not note["isError"], note
            found = agent.order(
                "call",
                tool=("search_notes", "semantic_search")[i % 2],
                arguments={"query": f"TS Loop {i} tq{i}wx", "min_commit": note["structured"]["commit"]},
            )
            assert not found["isError"], found
            assert found["structured"]["fresh"] is True, (i, found["structured"]["message"])
            assert f"TS Loop {i}" in [hit["path"] for hit in found["structured"]["results"]], (i, found)
        # then the access token is refused: the SDK must refresh
        time.sleep(max(0.0, expired_at - time.monotonic()))
        again = agent.order("call", tool="read_note", arguments={"path": "From TS"})
        assert not again["isError"], again
        assert len(agent.consents) == 1  # refreshed, never a second consent
        refreshed = agent.order("tokens")["tokens"]
        assert refreshed["access_token"] != first["access_token"]
        assert refreshed["refresh_token"] != first["refresh_token"]  # rotated
        (app,) = apps(stack, session)
        assert steps(app)["last_refresh"]["at"] is not None
        assert steps(app)["last_refusal"]["detail"] == "token has expired"  # the 401 that made it refresh

        # its token is bound to its wiki: refused on another one the same person owns
        other = call(
            stack,
            "POST",
            "/mcp",
            slug=OTHER,
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            headers={"Authorization": f"Bearer {refreshed['access_token']}", "Accept": "application/json"},
        )
        assert other.status_code == 401
        assert other.json()["message"] == "token was issued for another resource"

        # a rotated refresh token reused: the whole family ends, the current tokens with it
        client_id = agent.order("tokens")["client"]["client_id"]
        reused = call(
            stack,
            "POST",
            "/auth/oauth/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": first["refresh_token"],
                "client_id": client_id,
            },
        )
        assert reused.status_code == 400
        assert reused.json()["error"] == "invalid_grant"
        current = call(
            stack,
            "POST",
            "/auth/oauth/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": refreshed["refresh_token"],
                "client_id": client_id,
            },
        )
        assert current.status_code == 400, current.text
        (ended,) = apps(stack, session)
        assert ended["status"] == "ended"
        assert (
            steps(ended)["last_refusal"]["detail"]
            == "a used refresh token came back: the connection was ended"
        )
    finally:
        agent.close()


def test_a_refresh_after_the_person_lost_access_fails(short_lived: Stack, session: str) -> None:
    """A collaborator connects an agent and is removed: the agent's next refresh is refused, and the page says
    why the connection ended."""
    stack = short_lived
    helper_did, helper = "did:plc:tshelperaaaaaaaaaaaaaaaa", "tshelper"
    stack.exec(
        "platform",
        "wikibot-admin",
        "create-user",
        "--did",
        helper_did,
        "--handle",
        "tshelper.test",
        "--username",
        helper,
    )
    added = call(
        stack,
        "POST",
        f"/api/wikis/{SLUG}/members",
        json={"did": helper_did, "role": "editor"},
        headers={"Authorization": f"Bearer {session}"},
    )
    assert added.status_code == 201, added.text
    url = stack.exec("platform", "wikibot-admin", "login-link", helper).stdout.strip()
    parts = urlsplit(url)
    helper_session = str(call(stack, "GET", f"{parts.path}?{parts.query}").cookies["wikibot_session"])
    agent = Agent(stack, helper_session, f"http://{stack.host(SLUG)}/mcp")
    try:
        assert agent.order("connect")["authorizations"] == 1
        held = agent.order("tokens")
    finally:
        agent.close()
    removed = call(
        stack,
        "DELETE",
        f"/api/wikis/{SLUG}/members/{helper_did}",
        headers={"Authorization": f"Bearer {session}"},
    )
    assert removed.status_code == 204, removed.text
    refused = call(
        stack,
        "POST",
        "/auth/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": held["tokens"]["refresh_token"],
            "client_id": held["client"]["client_id"],
        },
    )
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"
    ended = [a for a in apps(stack, session) if a["user_did"] == helper_did]
    assert [a["status"] for a in ended] == ["ended"]
    # removing a collaborator ends their connections at once (the refresh above was refused for that)
    assert steps(ended[0])["last_refusal"]["detail"] == "disconnected: its person was removed from the wiki"


def test_the_sdk_and_its_node_are_the_pinned_ones() -> None:
    version = subprocess.run([str(NODE), "--version"], capture_output=True, text=True, check=True).stdout
    assert version.startswith("v22."), version
    spec = json.loads((ROOT / "tests" / "integration" / "node" / "package.json").read_text())
    installed = json.loads(
        (SDK_DIR / "node_modules" / "@modelcontextprotocol" / "sdk" / "package.json").read_text()
    )["version"]
    assert installed == spec["dependencies"]["@modelcontextprotocol/sdk"]
